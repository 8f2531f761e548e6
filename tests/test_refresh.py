import sqlite3

import pytest

from conftest import dump
from indexer.errors import RefreshLocked, UnknownSource
from indexer.refresh import refresh
from indexer.refresh import refresh_lock
from indexer.store import Catalog

RAWS = [{"name": f"m{i}", "num_params": i * 1000, "description": f"model number {i}"} for i in range(1200)]


def runs(db):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    out = [dict(r) for r in conn.execute("SELECT * FROM runs ORDER BY id")]
    conn.close()
    return out


def test_refresh_writes_and_rerun_changes_nothing(tmp_path, list_source):
    db = tmp_path / "c.db"
    list_source("fake", RAWS)
    [r1] = refresh(db, ["fake"])
    assert (r1.status, r1.counts.seen, r1.counts.new) == ("ok", 1200, 1200)
    before = dump(db)
    [r2] = refresh(db, ["fake"])
    assert (r2.counts.new, r2.counts.updated, r2.counts.unchanged, r2.counts.removed) == (0, 0, 1200, 0)
    assert dump(db) == before
    assert [(r["source"], r["status"], r["new"], r["unchanged"]) for r in runs(db)] == [
        ("fake", "ok", 1200, 0), ("fake", "ok", 0, 1200)]


def test_a_source_failing_midway_keeps_its_previous_rows(tmp_path, list_source):
    db = tmp_path / "c.db"
    list_source("fake", RAWS)
    refresh(db, ["fake"])
    before = dump(db)
    changed = [dict(r, num_params=1) for r in RAWS]  # would update every row...
    list_source("fake", changed, fail_after=700)  # ...but the connection dies after 700
    [r] = refresh(db, ["fake"])
    assert r.status == "failed" and "connection reset" in r.error
    assert dump(db) == before  # not one of the 700 changes is visible
    last = runs(db)[-1]
    assert (last["status"], last["seen"]) == ("failed", 700) and "ConnectionError" in last["error"]


def test_one_failing_source_does_not_stop_the_others(tmp_path, list_source):
    db = tmp_path / "c.db"
    list_source("broken", RAWS, fail_after=3)
    list_source("offline", [], unavailable="api.example.org is not reachable (no network)")
    list_source("fine", RAWS[:10])
    results = refresh(db, ["broken", "offline", "fine"])
    assert [(r.source, r.status) for r in results] == [
        ("broken", "failed"), ("offline", "unavailable"), ("fine", "ok")]
    assert results[1].error == "api.example.org is not reachable (no network)"
    with Catalog.open(db, readonly=True, create=False) as cat:
        assert [tuple(r) for r in cat.conn.execute("SELECT source, count(*) FROM models GROUP BY source")] == [("fine", 10)]
    assert [r["status"] for r in runs(db)] == ["failed", "unavailable", "ok"]


def test_skipped_records_are_counted_with_their_reasons(tmp_path, list_source):
    db = tmp_path / "c.db"
    raws = RAWS[:5] + [{"name": "x", "skip": "a dataset, not a model"}] * 2 + [{"no-name": True}]
    list_source("fake", raws)
    [r] = refresh(db, ["fake"])
    assert (r.status, r.counts.seen, r.counts.new, r.counts.skipped) == ("ok", 8, 5, 3)
    assert r.details["skip_reasons"]["a dataset, not a model"] == 2
    assert any("KeyError" in reason for reason in r.details["skip_reasons"])  # a normalizer bug
    assert '"a dataset, not a model": 2' in runs(db)[-1]["details"]


def test_models_a_source_stops_listing_are_marked_removed_not_deleted(tmp_path, list_source):
    db = tmp_path / "c.db"
    list_source("fake", RAWS[:10])
    refresh(db, ["fake"])
    list_source("fake", RAWS[:7])
    [r] = refresh(db, ["fake"])
    assert r.counts.removed == 3
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM models").fetchone()[0] == 10
    assert conn.execute("SELECT count(*) FROM model_summary").fetchone()[0] == 7


def test_unknown_source_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(UnknownSource, match="choose from .*timm"):
        refresh(tmp_path / "c.db", ["timm", "nosuch"])
    assert not (tmp_path / "c.db").exists()


def test_a_second_refresh_is_refused_while_one_runs(tmp_path, list_source):
    db = tmp_path / "c.db"
    list_source("fake", RAWS[:3])
    with refresh_lock(db):
        with pytest.raises(RefreshLocked):
            refresh(db, ["fake"])


def test_runs_left_running_by_a_dead_refresh_are_marked_interrupted(tmp_path, list_source):
    db = tmp_path / "c.db"

    class Boom(BaseException):
        pass

    src = list_source("fake", RAWS[:3])
    src.fetch = lambda ctx: (_ for _ in ()).throw(Boom())  # dies like a killed process would
    with pytest.raises(Boom):
        refresh(db, ["fake"])
    assert runs(db)[-1]["status"] == "running"
    list_source("fake", RAWS[:3])
    refresh(db, ["fake"])
    assert [r["status"] for r in runs(db)] == ["interrupted", "ok"]


def test_ctrl_c_rolls_back_the_source_and_marks_its_run_interrupted(tmp_path, list_source):
    db = tmp_path / "c.db"
    list_source("fake", RAWS[:10])
    refresh(db, ["fake"])
    before = dump(db)

    def fetch(ctx):
        yield from ({**r, "num_params": 1} for r in RAWS[:5])
        raise KeyboardInterrupt

    list_source("fake", RAWS[:10]).fetch = fetch
    with pytest.raises(KeyboardInterrupt):
        refresh(db, ["fake"])
    assert dump(db) == before
    last = runs(db)[-1]
    assert (last["status"], last["seen"]) == ("interrupted", 5) and "rolled back" in last["error"]


def test_seen_counts_what_the_other_columns_count(tmp_path, list_source):
    """An item may hold several records (a PyTorch Hub repository's entrypoints): `seen` counts the
    records and the skipped items, so seen = new + updated + unchanged + skipped."""
    from conftest import ListSource

    class Several(ListSource):
        def normalize(self, raw):
            one = super().normalize  # (no argument-free super() inside a comprehension)
            if raw.get("skip"):
                return one(raw)
            return [one({**raw, "name": f"{raw['name']}-{k}"}) for k in range(3)]

    db = tmp_path / "c.db"
    src = list_source("multi", [{"name": "a"}, {"name": "b"}, {"name": "c", "skip": "no weights"}], cls=Several)
    [r] = refresh(db, ["multi"])
    assert (r.counts.seen, r.counts.new, r.counts.skipped) == (7, 6, 1)
    src.raws[0]["description"] = "changed"
    [r] = refresh(db, ["multi"])
    c = r.counts
    assert (c.seen, c.updated, c.unchanged, c.skipped) == (7, 3, 3, 1)
    assert c.seen == c.new + c.updated + c.unchanged + c.skipped


def test_a_refresh_leaves_no_planner_statistics(tmp_path, list_source):
    """ANALYZE's statistics made the 300k crawl's model_summary task facet read (task, size_bytes)
    and every row instead of the covering (task, removed_at): 17 ms became 449 ms. The indexes are
    chosen for the pages; a refresh must not leave statistics that overrule them."""
    db = tmp_path / "c.db"
    list_source("m", [{"name": f"n{i}", "task": "image-classification"} for i in range(50)])
    refresh(db, ["m"])
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 'sqlite_stat%'").fetchone()[0] == 0
