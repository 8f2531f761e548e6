"""Serving a published copy while refreshes write the catalog (issue #32): `modelcat publish`,
`modelcat refresh --publish` (after each source that changed something), and `modelcat serve
--published`, which moves to each new copy and never shows half of one or half a source."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.cli import cli
from indexer.errors import CatalogError
from indexer.publish import publish, published_path
from indexer.refresh import refresh
from indexer.serve import PublishedWatcher, make_datasette, swap_database


def _models(db) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM models WHERE removed_at IS NULL ORDER BY id")]
    finally:
        conn.close()


def test_publish_copies_one_consistent_snapshot_and_replaces_the_last(tmp_path, list_source):
    db = tmp_path / "catalog.db"
    a = list_source("a", [{"name": f"m{i}"} for i in range(30)])
    refresh(db, ["a"])
    done = publish(db)
    target = published_path(db)
    assert done.path == target == tmp_path / "published" / "catalog.db"
    assert _models(target) == _models(db) and len(_models(target)) == 30
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file, servable immutable
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    inode = target.stat().st_ino
    a.raws = a.raws[:10]
    refresh(db, ["a"])
    publish(db)
    assert target.stat().st_ino != inode and len(_models(target)) == 10  # renamed over, not rewritten
    assert sorted(p.name for p in target.parent.iterdir()) == ["catalog.db"]  # no temporary left


def test_publish_names_the_fix_for_bad_input(tmp_path, list_source):
    with pytest.raises(CatalogError, match="no catalog|does not exist|not found"):
        publish(tmp_path / "missing.db")
    db = tmp_path / "catalog.db"
    list_source("a", [{"name": "x"}])
    refresh(db, ["a"])
    with pytest.raises(CatalogError, match="onto itself: pass --to"):
        publish(db, db)
    r = CliRunner().invoke(cli, ["serve", "--db", str(db), "--published"])
    assert r.exit_code != 0 and "run `modelcat publish`" in r.output and "Traceback" not in r.output


def test_refresh_publishes_after_each_source_that_changed_the_catalog(tmp_path, list_source):
    db = tmp_path / "catalog.db"
    target = published_path(db)
    list_source("a", [{"name": "x"}])
    b = list_source("b", [{"name": "y"}, {"name": "z"}])
    refresh(db, ["a", "b"], publish=True)
    assert _models(target) == ["a:x", "b:y", "b:z"]
    stamp = target.stat().st_mtime_ns
    refresh(db, ["a", "b"], publish=True)  # nothing changed: nothing copied
    assert target.stat().st_mtime_ns == stamp
    # a source that fails midway keeps its committed rows in the catalog; readers do not get half of it
    b.raws = [{"name": "y"}, {"name": "w"}]
    b.fail_after = 1
    [res] = refresh(db, ["b"], publish=True)
    assert res.status == "failed" and target.stat().st_mtime_ns == stamp
    r = CliRunner().invoke(cli, ["refresh", "--db", str(db), "--source", "a", "--publish"])
    assert r.exit_code == 0, r.output


def test_the_server_moves_to_each_new_copy(tmp_path, list_source):
    db = tmp_path / "catalog.db"
    a = list_source("a", [{"name": f"m{i}"} for i in range(5)])
    refresh(db, ["a"], publish=True)
    target = published_path(db)
    ds = make_datasette(target, immutable=True)
    swap_database(ds, target).close()  # as `serve --published` starts: through a pin of its own
    watcher = PublishedWatcher(ds, target)

    def count():
        r = asyncio.run(ds.client.get("/catalog/model_summary.json?_size=0"))
        assert r.status_code == 200, r.text[:300]
        return r.json()["filtered_table_rows_count"]

    assert count() == 5 and not ds.databases["catalog"].is_mutable
    assert watcher.check() is False  # nothing new
    old = ds.databases["catalog"]
    a.raws += [{"name": "new1"}, {"name": "new2"}]
    refresh(db, ["a"], publish=True)
    assert watcher.check() is True
    assert count() == 7 and ds.databases["catalog"] is not old
    # a copy that is not a catalog is not served: the last good one stays, also for the
    # connections the server opens after it landed (they read the pinned copy, not the path)
    target.with_name("junk.db").write_bytes(b"not sqlite" * 100)
    target.with_name("junk.db").replace(target)
    assert watcher.check() is False and count() == 7
    fresh = ds.databases["catalog"].connect()
    assert fresh.execute("SELECT count(*) FROM models WHERE removed_at IS NULL").fetchone()[0] == 7
    fresh.close()
    pins = {p.name for p in target.parent.iterdir() if p.name.startswith(".serving-")}
    assert Path(ds.databases["catalog"].path).name in pins  # the copy served, pinned
    assert not any(n.endswith(f"-{target.stat().st_ino}.db") for n in pins)  # the junk's pin is gone


def test_readers_of_the_published_copy_leave_the_catalogs_wal_alone(tmp_path, list_source):
    """Readers in a loop on the served copy while a refresh writes many pages: the catalog's WAL
    stays small (its checkpoints have no reader to wait for) and every answer is whole."""
    db = tmp_path / "catalog.db"
    a = list_source("a", [{"name": f"m{i}", "num_params": i} for i in range(200)])
    refresh(db, ["a"], publish=True)
    target = published_path(db)
    stop, seen, biggest = threading.Event(), [], [0]

    def reader():
        while not stop.is_set():
            conn = sqlite3.connect(f"file:{target}?immutable=1", uri=True)
            seen.append(conn.execute("SELECT count(*) FROM models WHERE removed_at IS NULL").fetchone()[0])
            conn.close()

    def wal():
        while not stop.is_set():
            p = db.with_name(db.name + "-wal")
            biggest[0] = max(biggest[0], p.stat().st_size if p.exists() else 0)
            time.sleep(0.01)

    threads = [threading.Thread(target=reader), threading.Thread(target=wal)]
    for t in threads:
        t.start()
    try:
        a.raws = [{"name": f"n{i}", "num_params": i, "description": "x" * 2000} for i in range(3000)]
        refresh(db, ["a"], publish=True)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert set(seen) <= {200, 3000} and seen  # a whole source or the last, never part
    assert biggest[0] < 64 * 2**20
