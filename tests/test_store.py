import hashlib
import shutil
import sqlite3

import pytest

from indexer.errors import CatalogError, RefreshLocked
from indexer.paths import schema_dir
from indexer.records import DatasetLink, Metric, ModelRecord, PaperLink
from indexer.refresh import refresh_lock
from indexer.store import Catalog


def rec(name, **kw):
    kw.setdefault("source", "t")
    return ModelRecord(id=f"t:{name}", name=name, **kw)


def write(cat, records, source="t", full_listing=True, now=None):
    with cat.transaction():
        w = cat.writer(source, now=now)
        w.add_all(records)
        return w.finish(removed_since=w.now if full_listing else None)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------- migrations
def test_new_catalog_has_every_migration_and_view(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        names = cat.applied_migrations()
        assert names == sorted(p.stem for p in (schema_dir() / "migrations").glob("*.sql"))
        objects = {r[0] for r in cat.conn.execute("SELECT name FROM sqlite_master")}
        assert {"models", "datasets", "model_datasets", "metrics", "papers", "model_papers", "runs",
                "models_fts", "model_summary", "latest_runs"} <= objects
        assert cat.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrating_twice_changes_nothing(tmp_path):
    path = tmp_path / "c.db"
    with Catalog.open(path) as cat:
        write(cat, [rec("a")])
        schema_before = sorted(map(tuple, cat.conn.execute("SELECT type, name, sql FROM sqlite_master")))
        assert cat.migrate() == []
    with Catalog.open(path) as cat:  # a second open runs migrate + ensure_shape again
        assert sorted(map(tuple, cat.conn.execute("SELECT type, name, sql FROM sqlite_master"))) == schema_before
        assert cat.conn.execute("SELECT count(*) FROM models").fetchone()[0] == 1


def test_upgrading_an_older_catalog_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    # A catalog at the first migration only, the way an older modelcat left it.
    old = Catalog(sqlite3.connect(path, isolation_level=None), path, readonly=False)
    assert old.migrate(upto="0001_initial") == ["0001_initial"]
    old.conn.execute(
        "INSERT INTO models (id, source, name, description, record_hash, first_seen, last_seen, changed_at) "
        "VALUES ('t:old', 't', 'old', 'a model from before full-text search', 'h', 'x', 'x', 'x')")
    old.close()
    with Catalog.open(path) as cat:
        assert cat.applied_migrations()[-1] > "0001"
        assert [tuple(r) for r in cat.conn.execute("SELECT name FROM models")] == [("old",)]
        # the FTS migration indexed the row that was already there
        hits = cat.conn.execute("SELECT rowid FROM models_fts WHERE models_fts MATCH 'search'").fetchall()
        assert len(hits) == 1


def test_a_later_migration_adding_a_column_keeps_data(tmp_path):
    migrations = tmp_path / "migrations"
    shutil.copytree(schema_dir() / "migrations", migrations)
    path = tmp_path / "c.db"
    with Catalog.open(path, migrations_dir=migrations) as cat:
        write(cat, [rec("a", num_params=5)])
    (migrations / "9999_emissions.sql").write_text(
        "ALTER TABLE models ADD COLUMN co2_grams INTEGER NOT NULL DEFAULT 0;\n")
    with Catalog.open(path, migrations_dir=migrations) as cat:
        row = cat.conn.execute("SELECT id, num_params, co2_grams FROM models").fetchone()
        assert tuple(row) == ("t:a", 5, 0)
    # ... and the modelcat that does not know 9999 refuses the catalog instead of misreading it
    with pytest.raises(CatalogError, match="newer modelcat"):
        Catalog.open(path)


# ---------------------------------------------------------------------- refusing bad files
def test_corrupt_file_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "catalog.db"
    path.write_bytes(b"this is not a database\x00" * 100)
    before = sha(path)
    with pytest.raises(CatalogError, match="not a SQLite database"):
        Catalog.open(path)
    assert sha(path) == before


def test_damaged_sqlite_file_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "catalog.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    before = sha(path)
    with pytest.raises(CatalogError, match="left untouched"):
        Catalog.open(path)
    assert sha(path) == before


def test_someone_elses_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(CatalogError, match="not a modelcat catalog"):
        Catalog.open(path)
    assert [r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")] == ["invoices"]


def test_missing_directory_and_missing_catalog(tmp_path):
    with pytest.raises(CatalogError, match="does not exist"):
        Catalog.open(tmp_path / "nope" / "c.db")
    assert not (tmp_path / "nope").exists()
    with pytest.raises(CatalogError, match="run `modelcat refresh` first"):
        Catalog.open(tmp_path / "c.db", readonly=True, create=False)
    assert not (tmp_path / "c.db").exists()
    with pytest.raises(CatalogError, match="is a directory"):
        Catalog.open(tmp_path)


def test_readonly_open_writes_nothing(tmp_path):
    path = tmp_path / "c.db"
    Catalog.open(path).close()
    before = sha(path)
    with Catalog.open(path, readonly=True, create=False) as cat:
        with pytest.raises(sqlite3.OperationalError):
            cat.conn.execute("DELETE FROM models")
    assert sha(path) == before


# ---------------------------------------------------------------------- the writer
def test_writer_counts_new_updated_unchanged_and_removed(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        c1 = write(cat, [rec("a", num_params=1), rec("b", num_params=2), rec("c", num_params=3)], now="T1")
        assert (c1.new, c1.updated, c1.unchanged, c1.removed) == (3, 0, 0, 0)
        c2 = write(cat, [rec("a", num_params=1), rec("b", num_params=20)], now="T2")
        assert (c2.new, c2.updated, c2.unchanged, c2.removed) == (0, 1, 1, 1)
        rows = {r["id"]: dict(r) for r in cat.conn.execute("SELECT * FROM models")}
        assert rows["t:a"]["changed_at"] == "T1" and rows["t:a"]["last_seen"] == "T2"
        assert rows["t:b"]["changed_at"] == "T2" and rows["t:b"]["num_params"] == 20
        assert rows["t:b"]["first_seen"] == "T1"
        assert rows["t:c"]["removed_at"] == "T2" and rows["t:c"]["num_params"] == 3  # kept, marked
        # it comes back: restored, not duplicated
        c3 = write(cat, [rec("a", num_params=1), rec("b", num_params=20), rec("c", num_params=3)], now="T3")
        assert (c3.new, c3.updated, c3.unchanged, c3.removed) == (0, 1, 2, 0)
        assert cat.conn.execute("SELECT removed_at FROM models WHERE id = 't:c'").fetchone()[0] is None
        assert cat.conn.execute("SELECT count(*) FROM models").fetchone()[0] == 3


def test_partial_listing_never_marks_removed(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        write(cat, [rec("a"), rec("b")])
        counts = write(cat, [rec("a")], full_listing=False)
        assert counts.removed == 0
        assert cat.conn.execute("SELECT count(*) FROM models WHERE removed_at IS NULL").fetchone()[0] == 2


def test_removal_is_per_source(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        write(cat, [rec("a")], source="t")
        write(cat, [ModelRecord(id="u:x", source="u", name="x")], source="u")
        write(cat, [], source="t")
        rows = dict(cat.conn.execute("SELECT id, removed_at IS NOT NULL FROM models").fetchall())
        assert rows == {"t:a": 1, "u:x": 0}


def test_children_are_replaced_when_a_record_changes(tmp_path):
    r = rec("a", datasets=[DatasetLink("imagenet-1k", "train", "in1k")],
            metrics=[Metric("ImageNet-1K", "acc@1", 70.0, "imagenet-1k", "top1")],
            papers=[PaperLink("arxiv:2010.11929", "arXiv:2010.11929")])
    with Catalog.open(tmp_path / "c.db") as cat:
        write(cat, [r])
        r2 = rec("a", datasets=[DatasetLink("imagenet-21k", "train", "in22k")],
                 metrics=[Metric("ImageNet-1K", "acc@1", 71.5, "imagenet-1k", "top1")])
        write(cat, [r2])
        def q(sql):
            return [tuple(r) for r in cat.conn.execute(sql)]

        assert q("SELECT dataset_id, role, raw FROM model_datasets") == [("imagenet-21k", "train", "in22k")]
        assert q("SELECT value FROM metrics") == [(71.5,)]
        assert q("SELECT count(*) FROM model_papers") == [(0,)]
        # the paper row itself stays: papers are shared between models and sources
        assert q("SELECT id, arxiv_id, url FROM papers") == [
            ("arxiv:2010.11929", "2010.11929", "https://arxiv.org/abs/2010.11929")]


def test_a_dataset_the_alias_table_does_not_know_gets_a_row_of_its_own(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        write(cat, [rec("a", datasets=[DatasetLink("someorg/private-set", "train", "someorg/private-set"),
                                       DatasetLink("imagenet-1k", "train", "in1k")])])
        rows = dict(tuple(r) for r in cat.conn.execute(
            "SELECT id, curated FROM datasets WHERE id IN ('someorg/private-set', 'imagenet-1k')"))
        assert rows == {"someorg/private-set": 0, "imagenet-1k": 1}
        assert cat.conn.execute("SELECT count(*) FROM model_datasets").fetchone()[0] == 2
    with Catalog.open(tmp_path / "c.db") as cat:  # re-syncing the alias table leaves it alone
        assert cat.conn.execute("SELECT curated FROM datasets WHERE id = 'someorg/private-set'").fetchone()[0] == 0


def test_writer_rejects_a_record_of_another_source(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        with pytest.raises(ValueError, match="not 't'"):
            write(cat, [ModelRecord(id="u:x", source="u", name="x")])


def test_full_text_index_follows_inserts_updates_and_removals(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        def search(word):
            return [r[0] for r in cat.conn.execute(
                "SELECT m.id FROM models m WHERE m.rowid IN "
                "(SELECT rowid FROM models_fts WHERE models_fts MATCH ?)", (word,))]

        write(cat, [rec("a", description="a residual network", tags=["imagenet-1k"])])
        assert search("residual") == ["t:a"]
        write(cat, [rec("a", description="a vision transformer", tags=["imagenet-1k"])])
        assert search("residual") == [] and search("transformer") == ["t:a"]
        cat.conn.execute("DELETE FROM models")
        assert search("transformer") == []
        assert cat.conn.execute("INSERT INTO models_fts(models_fts) VALUES ('integrity-check')")


def test_unchanged_rows_do_not_touch_the_full_text_index(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        def fts_pages():
            return cat.conn.execute("SELECT * FROM models_fts_data ORDER BY id").fetchall()

        write(cat, [rec("a", description="residual")])
        before = fts_pages()
        write(cat, [rec("a", description="residual")], now="later")
        assert fts_pages() == before
        assert cat.conn.execute("SELECT last_seen FROM models").fetchone()[0] == "later"


def test_a_changed_view_definition_is_recreated(tmp_path):
    path = tmp_path / "c.db"
    Catalog.open(path).close()
    conn = sqlite3.connect(path)
    conn.executescript("DROP VIEW model_summary; CREATE VIEW model_summary AS SELECT 1 AS stale;")
    conn.close()
    with Catalog.open(path) as cat:
        cols = [r[1] for r in cat.conn.execute("PRAGMA table_info(model_summary)")]
        assert "size_mb" in cols and "stale" not in cols


def test_datasets_table_matches_the_alias_table(tmp_path):
    from indexer.normalize.dataset import dataset_table

    with Catalog.open(tmp_path / "c.db") as cat:
        ids = {r[0] for r in cat.conn.execute("SELECT id FROM datasets")}
    assert ids == set(dataset_table())


# ---------------------------------------------------------------------- runs and locking
def test_runs_record_start_finish_and_interruptions(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        run = cat.start_run("t", "1.0")
        assert cat.mark_interrupted_runs() == 1
        row = cat.conn.execute("SELECT status, error, finished_at FROM runs WHERE id = ?", (run,)).fetchone()
        assert row["status"] == "interrupted" and row["finished_at"] and "ended" in row["error"]


def test_refresh_lock_is_exclusive_and_released(tmp_path):
    path = tmp_path / "c.db"
    with refresh_lock(path):
        with pytest.raises(RefreshLocked, match="another refresh"):
            with refresh_lock(path):
                pass
    with refresh_lock(path):  # released: can be taken again
        pass


# ---------------------------------------------------------------------- Hub-era behaviour
def test_a_new_id_with_a_known_source_uid_is_a_rename(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        write(cat, [rec("old", source_uid="u1", num_params=5)], full_listing=False, now="T1")
        counts = write(cat, [rec("new", source_uid="u1", num_params=5)], full_listing=False, now="T2")
        assert (counts.new, counts.renamed) == (1, 1)
        rows = dict(tuple(r) for r in cat.conn.execute("SELECT id, removed_at FROM models"))
        assert rows == {"t:old": "T2", "t:new": None}
        assert [tuple(r) for r in cat.conn.execute("SELECT alias, model_id FROM model_aliases")] == [("t:old", "t:new")]
        # the old id still finds the model
        assert cat.resolve_id("t:old") == "t:new"
        row = cat.get_model("t:old")
        assert (row["id"], row["requested_id"], row["aliases"]) == ("t:new", "t:old", ["t:old"])
        # renamed again: the alias chain follows
        write(cat, [rec("newer", source_uid="u1")], full_listing=False, now="T3")
        assert dict(tuple(r) for r in cat.conn.execute("SELECT alias, model_id FROM model_aliases")) == {
            "t:old": "t:newer", "t:new": "t:newer"}


def test_volatile_counters_are_written_but_are_not_a_change(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        write(cat, [rec("a", downloads=10, likes=1)], now="T1")
        counts = write(cat, [rec("a", downloads=99, likes=2)], now="T2")
        assert (counts.updated, counts.unchanged) == (0, 1)
        row = cat.conn.execute("SELECT downloads, likes, changed_at, last_seen FROM models").fetchone()
        assert tuple(row) == (99, 2, "T1", "T2")


def test_touch_confirms_rows_without_rewriting_them(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        write(cat, [rec("a"), rec("b")], now="T1")
        with cat.transaction():
            w = cat.writer("t", now="T2")
            assert w.touch(["t:a", "t:zzz"]) == 1  # an unknown id touches nothing
            counts = w.finish(removed_since="T2")
        assert (counts.unchanged, counts.removed) == (1, 1)
        rows = {r[0]: tuple(r[1:]) for r in cat.conn.execute("SELECT id, last_seen, removed_at FROM models")}
        assert rows == {"t:a": ("T2", None), "t:b": ("T1", "T2")}


def test_relations_are_children_of_the_model(tmp_path):
    from indexer.records import Relation

    with Catalog.open(tmp_path / "c.db") as cat:
        write(cat, [rec("a", relations=[Relation("finetune", "hf:meta/base", "base_model:finetune:meta/base")])])
        assert cat.get_model("t:a")["relations"] == [{"relation": "finetune", "related_id": "hf:meta/base"}]
        write(cat, [rec("a")])
        assert cat.get_model("t:a")["relations"] == []


def test_entity_defaults_to_the_row_and_groups_sources(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        write(cat, [rec("a")])
        write(cat, [ModelRecord(id="u:a", source="u", name="a", entity_id="t:a")], source="u")
        assert cat.get_model("t:a")["same_entity"] == ["u:a"]
        assert cat.get_model("u:a")["entity_id"] == "t:a"


def test_source_state_and_checkpoints(tmp_path):
    path = tmp_path / "c.db"
    with Catalog.open(path) as cat:
        assert cat.load_state("t") == {}
        with pytest.raises(RuntimeError):
            with cat.transaction():
                w = cat.writer("t")
                w.add(rec("a"))
                w.flush()
                cat.save_state("t", {"cursor": "page2"})
                cat.checkpoint()  # durable from here
                w.add(rec("b"))
                w.flush()
                cat.save_state("t", {"cursor": "page3"})
                raise RuntimeError("the network went away")
    with Catalog.open(path) as cat:
        assert [r[0] for r in cat.conn.execute("SELECT id FROM models")] == ["t:a"]
        assert cat.load_state("t") == {"cursor": "page2"}


def test_catalog_timestamps_strictly_increase():
    from indexer.store import utcnow

    stamps = [utcnow() for _ in range(2000)]  # far more than one per millisecond
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert all(len(s) == 24 and s.endswith("Z") for s in stamps)


def test_two_sources_say_where_a_papers_code_is_each_with_its_own_rows(tmp_path):
    """The arxiv source (a URL in the abstract) and the github source (an arXiv link in the
    README) each keep their own paper_repos rows: one taking its link back leaves the other's."""
    from indexer.records import PaperRecord, RepoLink, RepoRecord

    def write(source, rec):
        with Catalog.open(tmp_path / "c.db") as cat, cat.transaction():
            w = cat.writer(source)
            w.add(rec)
            w.finish(removed_since=None)

    paper = PaperRecord(id="arxiv:2010.11929", source="arxiv", arxiv_id="2010.11929", title="ViT",
                        repos=[RepoLink("github:google-research/vision_transformer", "https://github.com/...")])
    repo = RepoRecord(id="github:google-research/vision_transformer", source="github",
                      full_name="google-research/vision_transformer",
                      papers=[PaperLink("arxiv:2010.11929", "README")])
    write("arxiv", paper)
    write("github", repo)
    conn = sqlite3.connect(tmp_path / "c.db")
    links = lambda: conn.execute("SELECT source, raw FROM paper_repos ORDER BY source").fetchall()  # noqa: E731
    assert links() == [("arxiv", "https://github.com/..."), ("github", "README")]
    # the paper page shows the repository once
    assert conn.execute("SELECT code FROM paper_summary").fetchone()[0] == '["github:google-research/vision_transformer"]'
    repo.papers = []  # the README no longer names it
    write("github", repo)
    assert links() == [("arxiv", "https://github.com/...")]
    repo.papers = [PaperLink("arxiv:2010.11929", "README")]
    write("github", repo)
    # a run that did not read the README (papers None) leaves the links as they are
    repo.papers, repo.description = None, "changed, README not read this run"
    write("github", repo)
    assert links() == [("arxiv", "https://github.com/..."), ("github", "README")]
    conn.close()


def test_a_night_of_changes_costs_the_same_on_a_bigger_catalog(tmp_path):
    """The writer's statements (what the catalog holds for ids, renames by source_uid, child rows
    replaced, rows touched) find their rows through an index: their cost follows the changes, not
    the catalog. An index that lures SQLite's planner into scanning every row of a source (migration
    0009's facet indexes once did, with no statistics to say better) shows as work that grows with
    the catalog. Counted in SQLite VM steps, not seconds."""
    from indexer.records import Relation, RepoLink

    def record(i, note="a"):
        return ModelRecord(id=f"hf:o/m{i}", source="hf", name=f"o/m{i}", source_uid=f"uid{i}", description=note,
                           task="image-classification", library="timm", license="mit",
                           datasets=[DatasetLink("imagenet-1k", "train", "in1k")],
                           metrics=[Metric("ImageNet", "acc@1", 80.0, "imagenet-1k", "top1")],
                           papers=[PaperLink("arxiv:2010.11929", "arxiv:2010.11929")],
                           relations=[Relation("finetune", "hf:o/base", "base_model:finetune:o/base")],
                           repos=[RepoLink("github:o/r", "https://github.com/o/r")])

    def night_steps(n):
        db = tmp_path / f"c{n}.db"
        with Catalog.open(db) as cat:
            with cat.transaction():
                writer = cat.writer("hf", now="2026-01-01T00:00:00Z")
                for i in range(n):
                    writer.add(record(i))
                writer.finish(removed_since=None)
            steps = [0]

            def count():
                steps[0] += 1
            cat.conn.set_progress_handler(count, 100)
            with cat.transaction():
                writer = cat.writer("hf", now="2026-01-02T00:00:00Z")
                assert len(cat.lookup("hf", [f"hf:o/m{i}" for i in range(0, 60, 3)])) == 20
                for i in range(0, 40, 2):
                    writer.add(record(i, note="changed"))  # child rows replaced
                for i in range(20):
                    writer.add(record(n + i))  # new rows: looked up as renames by source_uid
                writer.touch([f"hf:o/m{i}" for i in range(1, 41, 2)])
                counts = writer.finish(removed_since=None)
            cat.conn.set_progress_handler(None, 0)
            assert (counts.new, counts.updated) == (20, 20)
            return steps[0]

    small, big = night_steps(1000), night_steps(8000)
    assert big < 1.5 * small, (small, big)


def test_a_changed_record_rewrites_only_the_child_rows_that_changed(tmp_path):
    """A new commit changes a model's row but seldom its datasets, metrics or papers: those child
    rows are left alone (every one deleted and written again moved the counts the store keeps,
    through their triggers, twice for nothing), the ones it lost are deleted, the ones it gained or
    changed written; and the kept counts still equal a fresh count (`check`)."""
    from indexer.records import Relation, RepoLink

    def record(note, datasets=("imagenet-1k", "imagenet-21k"), top1=80.0):
        return rec("a", description=note, task="image-classification", library="timm", license="mit",
                   datasets=[DatasetLink(d, "train", d) for d in datasets],
                   metrics=[Metric("ImageNet", "acc@1", top1, "imagenet-1k", "top1")],
                   papers=[PaperLink("arxiv:2010.11929", "arxiv:2010.11929")],
                   relations=[Relation("finetune", "t:base", "base_model:finetune:t/base")],
                   repos=[RepoLink("github:o/r", "https://github.com/o/r")])

    with Catalog.open(tmp_path / "c.db") as cat:
        write(cat, [record("first")])
        written: list[str] = []
        cat.conn.set_trace_callback(written.append)
        assert write(cat, [record("second")]).updated == 1
        cat.conn.set_trace_callback(None)
        children = ("model_datasets", "metrics", "model_papers", "model_relations", "model_repos", "model_files",
                    "model_speed")
        touched = [s for s in written if s.startswith(tuple(f"{verb} {t} " for t in children
                                                             for verb in ("DELETE FROM", "INSERT OR REPLACE INTO")))]
        assert touched == [], touched
        # one dataset lost, the metric's value changed: those rows only
        written.clear()
        cat.conn.set_trace_callback(written.append)
        assert write(cat, [record("third", datasets=("imagenet-1k",), top1=81.0)]).updated == 1
        cat.conn.set_trace_callback(None)

        def q(sql):
            return [tuple(r) for r in cat.conn.execute(sql)]

        assert q("SELECT dataset_id FROM model_datasets") == [("imagenet-1k",)]
        assert q("SELECT value FROM metrics") == [(81.0,)]
        assert q("SELECT paper_id FROM model_papers") == [("arxiv:2010.11929",)]
        assert [s for s in written if s.startswith(("DELETE FROM model_papers", "INSERT OR REPLACE INTO model_papers"))] == []
        assert any(s.startswith("DELETE FROM model_datasets") and "'imagenet-21k'" in s for s in written), written
        assert q("SELECT dataset_id, n FROM facet_dataset_counts WHERE n > 0") == [("imagenet-1k", 1)]
        bad = [r for r in cat.check() if not r.ok]
        assert bad == [], bad


def test_a_changed_model_with_the_same_text_leaves_its_full_text_entry_alone(tmp_path):
    """Migration 0028: the full-text index follows name, description and tags only when they
    change (a new Hub commit rewrites the row with the same text: its description was indexed
    again each time). Text that changes is still indexed, and the search finds it."""
    with Catalog.open(tmp_path / "c.db") as cat:
        write(cat, [rec("a", description="a residual network", downloads=1)])
        fired: list[str] = []

        def night(record):
            fired.clear()
            cat.conn.set_trace_callback(fired.append)
            try:
                assert write(cat, [record]).updated == 1
            finally:
                cat.conn.set_trace_callback(None)
            return any("'models_fts_docsize'" in s for s in fired)  # FTS5's own writes, as SQLite traces them

        assert night(rec("a", description="a residual network", sha="new-commit")) is False
        assert night(rec("a", description="a vision transformer", sha="newer")) is True
        found = lambda word: [r[0] for r in cat.conn.execute(  # noqa: E731
            "SELECT m.id FROM models_fts f JOIN models m ON m.rowid = f.rowid WHERE models_fts MATCH ?", [word])]
        assert found("transformer") == ["t:a"] and found("residual") == []
        # the control: the trigger as it was (no WHEN) fires for the same text
        cat.conn.executescript(
            "DROP TRIGGER models_au; CREATE TRIGGER models_au AFTER UPDATE OF name, description, tags ON models "
            "BEGIN INSERT INTO models_fts (models_fts, rowid, name, description, tags) VALUES "
            "('delete', old.rowid, old.name, old.description, old.tags); INSERT INTO models_fts "
            "(rowid, name, description, tags) VALUES (new.rowid, new.name, new.description, new.tags); END;")
        assert night(rec("a", description="a vision transformer", sha="newest")) is True
