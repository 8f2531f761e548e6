"""normalize() in a worker process (indexer/pipeline.py): the same outcomes, in fetch order, with
markers where they were; a worker that dies or cannot take an item costs speed, never records."""

from __future__ import annotations

import os

import pytest

from indexer import pipeline
from indexer.errors import SkipRecord
from indexer.records import ModelRecord
from indexer.sources.base import Checkpoint, Seen, Source
from indexer.store import MODEL_COLUMNS, Catalog, PreparedModel, prepare_model


class PidSource(Source):
    """Records say which process normalized them; odd cases skip, fail, or kill the worker."""

    name = "pid"
    parallel_normalize = True

    def __init__(self, kill_worker_at: int | None = None):
        self.parent = os.getpid()
        self.kill_worker_at = kill_worker_at

    def normalize(self, raw):
        i = raw["i"]
        if i == self.kill_worker_at and os.getpid() != self.parent:
            os._exit(3)  # the worker dies mid-chunk
        if i % 97 == 0:
            raise SkipRecord(f"skip {i}")
        if i % 89 == 0:
            raise ValueError(f"bad {i}")
        return ModelRecord(id=f"pid:{i}", source="pid", name=str(i), library="timm",
                           description=str(os.getpid()))


def stream(n: int, every: int = 700):
    for i in range(1, n + 1):
        yield {"i": i}
        if i % every == 0:
            yield Checkpoint({"at": i})
    yield Seen([f"pid:{n}"])


def summary(pairs):
    out = []
    for item, outcome in pairs:
        if outcome is None:
            out.append(("marker", repr(item)))
        elif outcome[0] == "ok":
            out.append(("ok", item["i"], [r.id for r in outcome[1]], outcome[1][0].loadable))
        else:
            out.append((outcome[0], item["i"], outcome[1]))
    return out


@pytest.fixture
def small_start(monkeypatch):
    monkeypatch.setattr(pipeline, "START_AFTER", 300)
    monkeypatch.setattr(pipeline, "CHUNK", 128)
    monkeypatch.delenv("MODELCAT_WORKERS", raising=False)
    monkeypatch.setattr(pipeline, "workers_wanted", lambda: 1)


def test_worker_gives_the_same_outcomes_in_the_same_order(small_start):
    src = PidSource()
    serial = list(pipeline.normalized(src, stream(3000), parallel=False))
    parallel = list(pipeline.normalized(src, stream(3000)))
    assert summary(parallel) == summary(serial)
    pids = {o[1][0].description for _, o in parallel if o and o[0] == "ok"}
    assert str(os.getpid()) in pids and len(pids) == 2  # the first 300 here, the rest in the worker
    assert all(o[1][0].loadable is not None for _, o in parallel if o and o[0] == "ok")  # completed there
    kinds = [o[0] for _, o in parallel if o]
    assert kinds.count("skip") == 3000 // 97 and kinds.count("error") == 3000 // 89 - 3000 // (89 * 97)
    errors = [o for _, o in parallel if o and o[0] == "error"]
    assert errors[0][1] == "ValueError: bad 89" and "Traceback" in errors[0][2]


def test_prepared_rows_come_back_from_the_worker(small_start, tmp_path):
    """With prepare=True the worker also builds the writer's rows: what comes back is what the
    writer would have built from the record here, and it writes the same catalog."""
    src = PidSource()
    pairs = list(pipeline.normalized(src, stream(1000), prepare=True))
    ok = [o[1][0] for _, o in pairs if o and o[0] == "ok"]
    assert ok and all(type(p) is PreparedModel for p in ok)
    description = MODEL_COLUMNS.index("description")
    assert {p.values[description] for p in ok} == {str(os.getpid()), str(ok[-1].values[description])}
    assert ok[-1].values[description] != str(os.getpid())  # the last ones came from the worker
    for p in ok[:3] + ok[-3:]:
        rec = src.normalize({"i": int(p.id.split(":")[1])})
        rec.description = p.values[description]
        assert prepare_model(rec) == p and p.values[MODEL_COLUMNS.index("loadable")] in (0, 1)
    with Catalog.open(tmp_path / "c.db") as cat, cat.transaction():
        writer = cat.writer("pid")
        writer.add_all(ok)
        assert writer.finish(removed_since=None).new == len(ok)
        with pytest.raises(ValueError, match="not 'other'"):
            cat.writer("other").add(ok[0])


def test_markers_wait_for_the_items_before_them(small_start):
    pairs = list(pipeline.normalized(PidSource(), stream(2000, every=333)))
    position = 0
    for item, outcome in pairs:
        if isinstance(item, Checkpoint):
            assert item.state["at"] == position  # every item before it came out before it
        elif outcome is not None:
            position = item["i"]
    assert isinstance(pairs[-1][0], Seen)


def test_a_dead_worker_costs_speed_not_records(small_start, caplog):
    src = PidSource(kill_worker_at=1000)
    serial = list(pipeline.normalized(PidSource(), stream(3000), parallel=False))
    pairs = list(pipeline.normalized(src, stream(3000)))
    assert summary(pairs) == summary(serial)
    assert "the normalize worker failed" in caplog.text
    pids = [o[1][0].description for _, o in pairs if o and o[0] == "ok"]
    assert pids[-1] == str(os.getpid())  # after the failure, this process normalized the rest


def test_an_item_that_cannot_be_sent_is_normalized_here(small_start, caplog):
    items = [{"i": i} for i in range(1, 1001)]
    items[600]["lock"] = __import__("threading").Lock()  # not picklable
    pairs = list(pipeline.normalized(PidSource(), iter(items)))
    assert [item["i"] for item, _ in pairs] == list(range(1, 1001))
    assert "the normalize worker failed" in caplog.text


def test_small_runs_and_one_core_stay_in_this_process(monkeypatch):
    monkeypatch.setattr(pipeline, "START_AFTER", 300)
    monkeypatch.setenv("MODELCAT_WORKERS", "0")
    pids = {o[1][0].description for _, o in pipeline.normalized(PidSource(), stream(1000)) if o and o[0] == "ok"}
    assert pids == {str(os.getpid())}
    monkeypatch.setenv("MODELCAT_WORKERS", "1")
    pids = {o[1][0].description for _, o in pipeline.normalized(PidSource(), stream(200)) if o and o[0] == "ok"}
    assert pids == {str(os.getpid())}  # under START_AFTER


def test_the_worker_exits_with_its_parent():
    import subprocess
    import sys
    import time

    code = (
        "import os, sys, time\n"
        "from indexer import pipeline\n"
        "pool = pipeline._start(None)\n"
        "print(pool.submit(os.getpid).result(), flush=True)\n"
        "time.sleep(60)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    worker = int(p.stdout.readline())
    os.kill(worker, 0)  # alive
    p.kill()
    p.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"worker {worker} outlived its parent")


def test_a_hub_import_with_the_worker_equals_one_without(tmp_path, monkeypatch):
    """The real path: refresh --source hf against a replay Hub, normalized in the worker past the
    first 300 models, gives the catalog a run without the worker gives, row for row."""
    from dbrows import assert_same_catalog, catalog_dump
    from replay.hub import HubReplay
    from replay.synth import synthetic_models

    from indexer.refresh import refresh

    monkeypatch.setattr(pipeline, "START_AFTER", 300)
    dumps = {}
    with HubReplay(synthetic_models(1500, seed=5), page_size=200) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        for workers in ("0", "1"):
            monkeypatch.setenv("MODELCAT_WORKERS", workers)
            db = tmp_path / f"w{workers}.db"
            [r] = refresh(db, ["hf"])
            assert r.status == "ok" and r.counts.new > 1400, r.error
            dumps[workers] = catalog_dump(db)
    assert_same_catalog(dumps["1"], dumps["0"], "with the worker")
