"""The tables the store keeps for pages to read, the entities (one row per distinct model) and
source_counts (each source's live, open and loadable models), follow the models through every
way a refresh changes them: new rows, a changed entity or license, rows a source stops listing,
renames, rows that come back, and a first load that deferred the models indexes."""

from __future__ import annotations

import json
import sqlite3

from indexer.records import Metric, ModelRecord
from indexer.refresh import refresh
from indexer.store import Catalog
from indexer.store.facets import fresh_facet_counts, kept_facet_counts

class OpenSource:
    """conftest's ListSource, with a license per row (mit unless the row says)."""

    def __new__(cls, name, raws, **kw):
        from conftest import ListSource
        from indexer.normalize import normalize_license

        class _Licensed(ListSource):
            def normalize(self, raw):
                rec = super().normalize(raw)
                rec.set_license(normalize_license(raw.get("license", "mit")))
                return rec

        return _Licensed(name, raws, **kw)


FRESH = """
SELECT entity_id, count(*), (SELECT group_concat(s, ',') FROM (SELECT DISTINCT m2.source AS s FROM models m2
  WHERE m2.entity_id = m.entity_id AND m2.removed_at IS NULL ORDER BY 1)), max(imagenet_top1)
FROM models m WHERE removed_at IS NULL GROUP BY entity_id ORDER BY entity_id
"""


COUNTS = """
SELECT source, count(*), sum(is_open = 1), sum(loadable = 1) FROM models WHERE removed_at IS NULL
GROUP BY source ORDER BY source
"""


def entities(db) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        # source_counts, kept by deltas, equals a count of the live rows
        assert conn.execute("SELECT source, models, open, loadable FROM source_counts WHERE models > 0 "
                            "ORDER BY source").fetchall() == conn.execute(COUNTS).fetchall()
        # the facet counts, kept by triggers, equal a count of the rows
        assert kept_facet_counts(conn) == fresh_facet_counts(conn)
        kept = conn.execute("SELECT entity, n_ids, sources, imagenet_top1 FROM entities ORDER BY entity").fetchall()
        # the table equals what the live rows say, computed from scratch
        assert kept == conn.execute(FRESH).fetchall()
        for entity, ids in conn.execute("SELECT entity, ids FROM entities"):
            assert json.loads(ids) == sorted(json.loads(ids))
        return kept
    finally:
        conn.close()


def test_entities_follow_refreshes(tmp_path, list_source):
    db = tmp_path / "c.db"
    a = list_source("a", [{"name": "x", "entity_id": "a:x"}, {"name": "y", "entity_id": "a:x"}, {"name": "z"}],
                    cls=OpenSource)
    b = list_source("b", [{"name": "w", "entity_id": "a:x"}])
    refresh(db, ["a", "b"])
    assert entities(db) == [("a:x", 3, "a,b", None), ("a:z", 1, "a", None)]
    # a source stops listing a row; another row joins the entity
    a.raws = [{"name": "x", "entity_id": "a:x"}, {"name": "z", "entity_id": "a:x"}]
    refresh(db, ["a"])
    assert entities(db) == [("a:x", 3, "a,b", None)]
    # the other source's only row goes: the entity keeps its rows from the first
    b.raws = []
    refresh(db, ["b"])
    assert entities(db) == [("a:x", 2, "a", None)]
    # a row comes back, on its own; another changes its license
    a.raws.append({"name": "y"})
    a.raws[0]["license"] = "cc-by-nc-4.0"
    refresh(db, ["a"])
    assert entities(db) == [("a:x", 2, "a", None), ("a:y", 1, "a", None)]
    assert sqlite3.connect(db).execute("SELECT models, open FROM source_counts WHERE source = 'a'").fetchone() == (3, 2)


def test_entities_follow_renames_and_metrics(tmp_path):
    db = tmp_path / "c.db"
    with Catalog.open(db) as cat:
        def write(*records):
            with cat.transaction():
                w = cat.writer("hf")
                for r in records:
                    w.add(r)
                w.finish(removed_since=None)

        rec = lambda ident, top1=None, entity=None: ModelRecord(  # noqa: E731
            id=ident, source="hf", name=ident[3:], source_uid="uid-1" if "old" in ident or "new" in ident else None,
            entity_id=entity, metrics=[Metric("ImageNet", "acc@1", top1, "imagenet-1k", "top1")] if top1 else [])
        write(rec("hf:o/old", 70.0), rec("hf:o/other", entity="hf:o/old"))
        assert entities(db) == [("hf:o/old", 2, "hf", 70.0)]
        write(rec("hf:o/new", 71.5))  # the same source_uid: a rename; the old id's row is removed
        assert entities(db) == [("hf:o/new", 1, "hf", 71.5), ("hf:o/old", 1, "hf", None)]


def test_a_deferred_first_load_rebuilds_the_entities_at_its_end(tmp_path):
    db = tmp_path / "c.db"
    with Catalog.open(db) as cat:
        with cat.transaction():
            dropped = cat.defer_indexes("hf")
            assert "idx_models_entity" in dropped
            w = cat.writer("hf")
            for i in range(50):
                w.add(ModelRecord(id=f"hf:o/m{i}", source="hf", name=f"o/m{i}", entity_id=f"hf:o/m{i % 7}"))
            w.finish(removed_since=None)
            # while the index is dropped the writer leaves them (a scan per batch would cost the load)
            assert cat.conn.execute("SELECT count(*) FROM entities").fetchone()[0] == 0
            # nor do the facet-count triggers run (one upsert per row): the counts are rebuilt at the end
            assert "facet_counts" in dropped and cat.conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'trg_models_facets%'").fetchone()[0] == 0
            cat.restore_indexes()
            assert cat.conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'trg_models_facets%'").fetchone()[0] == 3
            w = cat.writer("hf")  # and they keep the counts again
            w.add(ModelRecord(id="hf:o/late", source="hf", name="o/late", task="image-classification"))
            w.finish(removed_since=None)
    assert [n for _, n, _, _ in entities(db)] == [1, 8, 7, 7, 7, 7, 7, 7]  # hf:o/late, then the 50


def test_a_timm_tag_that_downloads_a_torchvision_file_is_that_model(built_catalog):
    """Issue #33: identity from evidence. Every timm tag whose weights file is a torchvision
    weight's file shares that weight's entity (the publisher's), each link recorded with the file;
    the seed question lists each pair once; a timm tag on its own file stays its own."""
    import sqlite3

    from indexer.search import Query, search
    from indexer.store import Catalog

    conn = sqlite3.connect(built_catalog)
    pairs = conn.execute(
        "SELECT t.id, v.id, f.url, t.entity_id, v.entity_id FROM model_files f JOIN models t ON t.id = f.model_id "
        "JOIN model_files g ON g.url = f.url JOIN models v ON v.id = g.model_id "
        "WHERE t.source = 'timm' AND v.source = 'torchvision'").fetchall()
    assert len(pairs) >= 30, len(pairs)  # 37 with timm 1.0.31 and torchvision 0.28
    assert all(te == ve == v for _, v, _, te, ve in pairs), [p for p in pairs if not p[3] == p[4] == p[1]][:3]
    merges = {r[0]: r[1:] for r in conn.execute("SELECT entity_id, merged_into, evidence, value FROM entity_merges")}
    for t, v, url, _, _ in pairs:
        assert merges[t] == (v, "same weights file", url)
    assert conn.execute("SELECT entity_id FROM models WHERE id = 'timm:resnet18.a1_in1k'").fetchone()[0] == \
        "timm:resnet18.a1_in1k"  # its own file: its own entity
    with Catalog.open(built_catalog, readonly=True, create=False) as cat:
        answer = search(cat, Query(task="image-classification", dataset="imagenet-1k", open_only=True, max_mb=100))
    ids = [r["id"] for r in answer]
    assert "torchvision:resnet18.IMAGENET1K_V1" in ids and "timm:resnet18.tv_in1k" not in ids
    by_id = {r["id"]: r for r in answer}
    assert "timm:resnet18.tv_in1k" in by_id["torchvision:resnet18.IMAGENET1K_V1"]["ids"]
    entities = [conn.execute("SELECT entity_id FROM models WHERE id = ?", (i,)).fetchone()[0] for i in ids]
    assert len(entities) == len(set(entities))


def test_links_from_evidence_survive_a_rewrite(catalog_copy):
    """A timm row its source rewrites comes back with its own id as entity; the writer puts it back
    where the evidence put it, and the entities table follows."""
    import sqlite3

    from indexer.store.entities import refresh_entities
    from indexer.store.evidence import link_by_evidence

    conn = sqlite3.connect(catalog_copy)
    conn.execute("UPDATE models SET entity_id = id WHERE id = 'timm:resnet18.tv_in1k'")  # as a rewrite writes it
    refresh_entities(conn, ["timm:resnet18.tv_in1k", "torchvision:resnet18.IMAGENET1K_V1"])
    touched = link_by_evidence(conn, ["timm:resnet18.tv_in1k"], "2030-01-01T00:00:00Z")
    refresh_entities(conn, touched)
    assert conn.execute("SELECT entity_id FROM models WHERE id = 'timm:resnet18.tv_in1k'").fetchone()[0] == \
        "torchvision:resnet18.IMAGENET1K_V1"
    ids = conn.execute("SELECT ids FROM entities WHERE entity = 'torchvision:resnet18.IMAGENET1K_V1'").fetchone()[0]
    assert "timm:resnet18.tv_in1k" in ids
    assert conn.execute("SELECT count(*) FROM entities WHERE entity = 'timm:resnet18.tv_in1k'").fetchone()[0] == 0


def test_the_model_page_shows_both_ids_and_both_licenses(catalog_copy):
    """Each id of the same weights with what its source says (license, top-1) and the evidence; a
    license the sources disagree on is marked (timm 1.0.31 and torchvision 0.28 agree on these
    pairs: the disagreement is made here)."""
    import asyncio
    import sqlite3

    from datasette.utils import tilde_encode

    from indexer.serve import make_datasette

    def card():
        ds = make_datasette(catalog_copy)
        page = asyncio.run(ds.client.get(f"/catalog/models/{tilde_encode('torchvision:resnet18.IMAGENET1K_V1')}")).text
        return page[page.index('<article class="mc-card">'):page.index("</article>")]

    shown = card()
    assert "timm:resnet18.tv_in1k" in shown and "(timm: " in shown and "bsd-3-clause" in shown
    assert "same weights file (https://download.pytorch.org/models/resnet18-f37072fd.pth)" in shown
    assert "disagree on the license" not in shown
    conn = sqlite3.connect(catalog_copy)
    conn.execute("UPDATE models SET license = 'apache-2.0' WHERE id = 'timm:resnet18.tv_in1k'")
    conn.commit()
    conn.close()
    shown = card()
    assert "The sources disagree on the license" in shown and "apache-2.0, bsd-3-clause" in shown


def test_a_rebuild_in_slices_commits_between_them_and_equals_a_whole_one(catalog_copy, monkeypatch):
    """After a first load the entities are rebuilt a slice of entity ids at a time, committed
    between slices (so no transaction holds them all, issue #32); the result equals a rebuild in
    one go, entity_facet_counts included, and no entity is split across slices."""
    from indexer.store import entities as store_entities
    from indexer.store.entities import fresh_entity_facet_counts, kept_entity_facet_counts, rebuild_entities

    conn = sqlite3.connect(catalog_copy)
    whole = conn.execute("SELECT * FROM entities ORDER BY entity").fetchall()
    n_rows = conn.execute("SELECT count(*) FROM models").fetchone()[0]
    monkeypatch.setattr(store_entities, "REBUILD_SLICE", 97)
    commits = []
    rebuild_entities(conn, between=lambda: (conn.commit(), commits.append(
        conn.execute("SELECT count(*) FROM entities").fetchone()[0])))
    assert len(commits) == -(-n_rows // 97) or len(commits) == n_rows // 97 + 1
    assert commits == sorted(commits) and commits[0] < commits[-1] == len(whole)
    assert conn.execute("SELECT * FROM entities ORDER BY entity").fetchall() == whole
    assert kept_entity_facet_counts(conn) == fresh_entity_facet_counts(conn)
    conn.close()


def test_a_first_load_keeps_the_entities_deferred_until_their_last_slice(catalog_copy, monkeypatch):
    """restore_indexes(commit_each=True) commits each slice with the entities still marked deferred
    (pages count rows meanwhile; a load killed between slices rebuilds them whole next time)."""
    from indexer.store import entities as store_entities

    monkeypatch.setattr(store_entities, "REBUILD_SLICE", 500)
    with Catalog.open(catalog_copy) as cat:
        with cat.transaction():
            cat.defer_indexes("hf")
        seen = []
        real = cat.checkpoint

        def checkpoint():
            seen.append(cat.conn.execute("SELECT count(*) FROM deferred_indexes WHERE name = 'idx_models_entity'"
                                         ).fetchone()[0])
            real()

        cat.checkpoint = checkpoint
        with cat.transaction():
            cat.restore_indexes(commit_each=True)
    assert seen.count(1) >= 4 and seen[-1] == 0
    entities(catalog_copy)


def test_the_papers_counts_per_dataset_follow_the_writer(tmp_path):
    """paper_dataset_counts (migration 0027), which papers_behind_imagenet_models reads: per dataset
    and paper, the distinct live models naming both and their best top-1. The triggers mark the
    papers a change touches; the writer's finish counts them again, whatever changed: a new model,
    a model joining another's entity, a better top-1, a dataset dropped, a model the source stopped
    listing."""
    from indexer.records import DatasetLink, PaperLink

    db = tmp_path / "catalog.db"

    def rec(name, *, entity=None, top1=None, datasets=("imagenet-1k",), papers=("arxiv:2010.11929",)):
        return ModelRecord(
            id=f"hf:o/{name}", source="hf", name=f"o/{name}", entity_id=entity,
            datasets=[DatasetLink(d, "train", d) for d in datasets],
            papers=[PaperLink(p, p) for p in papers],
            metrics=[Metric("ImageNet", "acc@1", top1, "imagenet-1k", "top1")] if top1 else [])

    def counts():
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("SELECT count(*) FROM paper_dataset_stale").fetchone()[0] == 0  # settled
            assert kept_facet_counts(conn)[5] == fresh_facet_counts(conn)[5]
            return {(d, p): (n, t) for d, p, n, t in conn.execute("SELECT * FROM paper_dataset_counts WHERE n_models > 0")}
        finally:
            conn.close()

    with Catalog.open(db) as cat:
        def write(*records, listed_all=False):
            with cat.transaction():
                w = cat.writer("hf")
                for r in records:
                    w.add(r)
                w.finish(removed_since=w.now if listed_all else None)

        vit = "arxiv:2010.11929"
        write(rec("a", top1=80.0), rec("b", top1=81.5), rec("c", datasets=("imagenet-1k", "coco")),
              rec("d", papers=(vit, "arxiv:1512.03385")))
        assert counts() == {("imagenet-1k", vit): (4, 81.5), ("coco", vit): (1, None),
                            ("imagenet-1k", "arxiv:1512.03385"): (1, None)}
        # b joins a's entity (two rows, one model); c drops coco and gains a better top-1
        write(rec("b", top1=81.5, entity="hf:o/a"), rec("c", top1=82.25))
        assert counts() == {("imagenet-1k", vit): (3, 82.25), ("imagenet-1k", "arxiv:1512.03385"): (1, None)}
        # the source lists only a, b and c: d is removed, and with it its second paper's row
        write(rec("a", top1=80.0), rec("b", top1=81.5, entity="hf:o/a"), rec("c", top1=82.25), listed_all=True)
        assert counts() == {("imagenet-1k", vit): (2, 82.25)}
    # the stored query reads the table
    from indexer.serve import metadata_for

    sql = metadata_for(db)["databases"]["catalog"]["queries"]["papers_behind_imagenet_models"]["sql"]
    conn = sqlite3.connect(db)
    conn.execute("UPDATE papers SET title = 'An Image is Worth 16x16 Words' WHERE id = ?", (vit,))
    rows = conn.execute(sql, {"dataset": ""}).fetchall()
    assert [(r[0], r[1], r[4], r[5]) for r in rows] == [(vit, "An Image is Worth 16x16 Words", 2, 82.25)]
    assert conn.execute(sql, {"dataset": "coco"}).fetchall() == []
