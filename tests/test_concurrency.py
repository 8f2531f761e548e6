"""Readers during a refresh, and a second refresh.

A refresh (`modelcat refresh`, a subprocess) writes the Hub's changes over a slow network while a
reader polls the catalog as fast as it can, through Datasette's JSON API and through SQLite
directly, each poll one statement (one snapshot):

* the nightly (incremental) run: a night's 800 changed models appear all at once. No poll sees
  some of them changed and others not, nor a model row changed without its child rows;
* the weekly full sweep, which commits page by page so that a crash resumes it: each model is
  whole in every poll (row and child rows of the same version), and the 100 models the Hub
  deleted are marked removed all at once, at the end.

Meanwhile a second `modelcat refresh` of the same catalog exits with status 1 at once, naming the
running one, while the first goes on.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

import pytest

from indexer.refresh import refresh
from indexer.serve import make_datasette
from replay.faults import FaultProxy
from replay.hub import HubReplay
from replay.synth import synthetic_models

MODELS, PAGE, CHANGED, DELETED = 1500, 100, 800, 100
V2, V3 = 10**9, 2 * 10**9  # downloads that mark a model's version, with a dataset tag to match
PROBE = f"""SELECT
  (SELECT count(*) FROM models WHERE source = 'hf' AND downloads >= {V2} AND downloads < {V3}) AS v2_rows,
  (SELECT count(DISTINCT model_id) FROM model_datasets WHERE raw = 'probe-v2') AS v2_children,
  (SELECT count(*) FROM models WHERE source = 'hf' AND downloads >= {V3}) AS v3_rows,
  (SELECT count(*) FROM models m WHERE m.source = 'hf' AND
      (m.downloads >= {V2} AND m.downloads < {V3}) != EXISTS (SELECT 1 FROM model_datasets d
          WHERE d.model_id = m.id AND d.raw = 'probe-v2')) AS v2_torn,
  (SELECT count(*) FROM models m WHERE m.source = 'hf' AND
      (m.downloads >= {V3}) != EXISTS (SELECT 1 FROM model_datasets d
          WHERE d.model_id = m.id AND d.raw = 'probe-v3')) AS v3_torn,
  (SELECT count(*) FROM models WHERE source = 'hf' AND removed_at IS NOT NULL) AS removed"""
FIELDS = ("v2_rows", "v2_children", "v3_rows", "v2_torn", "v3_torn", "removed")


class Reader(threading.Thread):
    """Polls PROBE until stopped, alternating Datasette's JSON API and a plain SQLite connection."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.db, self.seen, self.stop, self.error = db, [], threading.Event(), None

    def run(self):
        try:
            asyncio.run(self._poll())
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e

    async def _poll(self):
        import sqlite3

        ds = make_datasette(self.db)
        await ds.invoke_startup()
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        url = "/catalog.json?" + urlencode({"sql": PROBE, "_shape": "array"})
        while not self.stop.is_set():
            r = await ds.client.get(url)
            assert r.status_code == 200, r.text[:500]
            self.seen.append(("datasette", tuple(r.json()[0][f] for f in FIELDS)))
            self.seen.append(("sqlite", tuple(conn.execute(PROBE).fetchone())))
        conn.close()

    def finish(self) -> list[dict]:
        self.stop.set()
        self.join(30)
        assert self.error is None, self.error
        return [dict(zip(FIELDS, values), via=via) for via, values in self.seen]


@pytest.fixture
def hub():
    with HubReplay(synthetic_models(MODELS), page_size=PAGE) as replay:
        yield replay


def change(hub, ids, downloads: int, dataset: str) -> None:
    for i, repo_id in enumerate(ids):
        info = hub.get(repo_id)
        hub.put({**info, "downloads": downloads + i, "tags": [*info.get("tags", []), f"dataset:{dataset}"]})
        hub.touch(repo_id)


def cli_refresh(db, *extra) -> list[str]:
    config = db.parent / "m.toml"
    config.write_text(f"[hf]\npage_size = {PAGE}\n")
    return [sys.executable, "-m", "indexer", "refresh", "--db", str(db), "--config", str(config), "--source", "hf",
            *extra]


def refresh_while_reading(db, hub, tmp_path, *extra) -> tuple[list[dict], subprocess.CompletedProcess]:
    """Run `modelcat refresh` through a slow proxy while a Reader polls; start a second refresh
    once the first holds the lock. Returns the polls and the second refresh's result."""
    env = {**os.environ, "MODELCAT_CACHE_DIR": str(tmp_path / "cache"), "HF_HOME": str(tmp_path / "hf-home")}
    lock = tmp_path / "catalog.db.lock"
    with FaultProxy(hub, seed=0, rate=0.0, latency=0.25) as slow:
        env["HF_ENDPOINT"] = slow.url
        reader = Reader(db)
        reader.start()
        first = subprocess.Popen(cli_refresh(db, *extra), env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            assert first.poll() is None and time.monotonic() < deadline, "the refresh never took the lock"
            time.sleep(0.02)
        second = subprocess.run(cli_refresh(db), env=env, capture_output=True, text=True, timeout=120)
        second_overlapped = first.poll() is None
        out, err = first.communicate(timeout=300)
        polls = reader.finish()
    assert first.returncode == 0, (out + err)[-3000:]
    assert second_overlapped, "the first refresh ended before the second one was refused"
    return polls, second


def test_readers_see_a_night_all_at_once_and_a_second_refresh_is_refused(hub, tmp_path):
    db = tmp_path / "catalog.db"
    os.environ.get("HF_TOKEN") and pytest.skip("a real token would change what the replay lists")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_ENDPOINT", hub.url)
        mp.setenv("HF_HOME", str(tmp_path / "hf-home"))
        [first] = refresh(db, ["hf"], config={"hf": {"page_size": PAGE}}, cache=tmp_path / "cache")
    assert first.status == "ok" and first.details["mode"] == "full"

    # the nightly run: 800 models changed since
    change(hub, hub.ids()[:CHANGED], V2, "probe-v2")
    polls, second = refresh_while_reading(db, hub, tmp_path)
    assert second.returncode == 1 and "another refresh (pid" in second.stderr, second.stderr
    assert {p["v2_rows"] for p in polls} == {0, CHANGED}, "the reader saw no moment before, or none after"
    half = [p for p in polls if p["v2_rows"] not in (0, CHANGED) or p["v2_children"] != p["v2_rows"] or p["v2_torn"]]
    assert not half, half[:3]
    assert {p["via"] for p in polls} == {"datasette", "sqlite"}
    nightly = len(polls)

    # the weekly full sweep: 500 more changed, 100 deleted; pages commit one by one
    ids = hub.ids()
    for repo_id in ids[-DELETED:]:
        hub.delete(repo_id)
    change(hub, ids[CHANGED:CHANGED + 500], V3, "probe-v3")
    polls, second = refresh_while_reading(db, hub, tmp_path, "--full")
    assert second.returncode == 1 and "another refresh" in second.stderr
    assert not [p for p in polls if p["v3_torn"] or p["v2_torn"]], "a model seen with another version's children"
    assert {p["removed"] for p in polls} == {0, DELETED}, "removals must appear together, at the end"
    v3_states = sorted({p["v3_rows"] for p in polls})
    assert v3_states[0] == 0 and v3_states[-1] == 500
    print(f"\nconcurrency: {nightly} polls during a nightly run (800 changes): 0 saw part of it; "
          f"{len(polls)} polls during a full sweep: 0 torn models, removals seen as {{0, {DELETED}}} only, "
          f"{len(v3_states)} page states of its changes; the second refresh was refused (exit 1) both times")
