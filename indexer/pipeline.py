"""Normalizing in a second process while this one fetches and writes (refresh.run_source).

normalize() is pure CPU work (about 30-55 µs a Hub record), and so is turning a record into the
rows the writer stores (store.prepare_model, about 20 µs); fetching waits on the network and writing
on SQLite, both in this process. For a source that allows it (`parallel_normalize`), on a machine
with two cores or more, a run past `START_AFTER` items hands the rest, in chunks, to one worker
process, which normalizes them and (with `prepare`) builds their rows, and gets them back in fetch
order. Markers (Checkpoint, Seen) wait for the chunks before them, so a checkpoint still commits
exactly what was fetched before it.

Small runs, one core, no `fork`, or MODELCAT_WORKERS=0: everything in this process, item by item.
A worker that dies is reported and its chunks are normalized here; the run goes on. The worker
ignores Ctrl-C (this process handles it) and exits when this process is gone (even after kill -9).
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import multiprocessing
import os
import signal
import threading
import time
import traceback
from typing import Any, Callable, Iterable, Iterator

from .errors import SkipRecord
from .records import ModelRecord
from .sources.base import Checkpoint, Seen
from .store import prepare_model

log = logging.getLogger("modelcat")

CHUNK = 500  # items per task: big enough that pickling is batched, small enough to keep order cheap
AHEAD = 4  # chunks in flight before this process waits for the oldest
START_AFTER = 2_000  # items: a smaller run is not worth a process

Outcome = tuple  # ("ok", [records]) | ("skip", reason, detail) | ("error", reason, traceback text)


def normalize_one(normalize: Callable[[Any], Any], item: Any, prepare: bool = False) -> Outcome:
    """One raw item's records, or why it was skipped. Model records come completed with their
    loadability, or with `prepare` as the rows the writer stores (store.prepare_model): work the
    writing process would otherwise do. A normalizer bug on one record must not sink the source."""
    try:
        records = normalize(item)
        records = records if isinstance(records, list) else [records]
        if prepare:
            records = [prepare_model(r) if isinstance(r, ModelRecord) else r for r in records]
        else:
            for r in records:
                if isinstance(r, ModelRecord) and r.loadable is None:
                    r.set_loadability()
    except SkipRecord as e:
        return ("skip", str(e), e.detail)
    except Exception as e:  # noqa: BLE001
        return ("error", f"{type(e).__name__}: {e}"[:200], traceback.format_exc())
    return ("ok", records)


def workers_wanted() -> int:
    setting = os.environ.get("MODELCAT_WORKERS", "").strip()
    if setting:
        try:
            return max(0, min(1, int(setting)))
        except ValueError:
            log.warning("MODELCAT_WORKERS=%r is not a number: normalizing in this process", setting)
            return 0
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return 1 if cpus >= 2 else 0


# ---------------------------------------------------------------------- the worker's side
_normalize = None  # the worker's normalizer, handed over when it starts


def _worker_init(parent: int, normalize: Callable[[Any], Any]) -> None:
    global _normalize
    _normalize = normalize
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle

    def watch() -> None:  # the parent killed (-9): its worker must not live on
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _work(items: list, prepare: bool) -> list[Outcome]:
    return [normalize_one(_normalize, item, prepare) for item in items]


def _start(normalize: Callable[[Any], Any]) -> concurrent.futures.ProcessPoolExecutor | None:
    if "fork" not in multiprocessing.get_all_start_methods():
        return None  # a forked worker starts at once, with this process's imports
    return concurrent.futures.ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("fork"), initializer=_worker_init,
        initargs=(os.getpid(), normalize))


# ---------------------------------------------------------------------- this process's side
def normalized(normalize, items: Iterable[Any], *, parallel: bool = True,
               prepare: bool = False) -> Iterator[tuple[Any, Outcome | None]]:
    """(item, outcome) for every item `items` yields, in its order; markers as (marker, None).
    `normalize`: what turns a raw item into records, all it depends on bound in (a source's
    `normalizer(ctx)`; a source itself stands for its `normalize`). With `prepare`, model records
    come as the writer's rows (normalize_one)."""
    fn = getattr(normalize, "normalize", normalize)
    pool = None
    want = workers_wanted() if parallel else 0
    pending: collections.deque = collections.deque()  # ("chunk", future, items) | ("marker", marker, None)
    chunk: list = []
    seen = 0

    def drain(entry) -> Iterator[tuple[Any, Outcome | None]]:
        nonlocal pool
        kind, payload, raws = entry
        if kind == "marker":
            yield payload, None
            return
        try:
            outcomes = payload.result()
        except Exception as e:  # noqa: BLE001 - the worker died, or an item would not pickle
            if pool is not None:
                log.warning("the normalize worker failed (%s: %s); normalizing in this process from here on",
                            type(e).__name__, str(e)[:200])
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
            outcomes = [normalize_one(fn, item, prepare) for item in raws]
        yield from zip(raws, outcomes)

    def send() -> None:  # the chunk so far, to the worker
        nonlocal chunk
        try:
            future = pool.submit(_work, chunk, prepare)
        except Exception as e:  # noqa: BLE001 - the pool broke since the last chunk: drain() copes
            future = concurrent.futures.Future()
            future.set_exception(e)
        pending.append(("chunk", future, chunk))
        chunk = []

    def flush() -> Iterator[tuple[Any, Outcome | None]]:
        nonlocal chunk
        while pending:
            yield from drain(pending.popleft())
        rest, chunk = chunk, []
        for item in rest:
            yield item, normalize_one(fn, item, prepare)

    try:
        for item in items:
            is_marker = isinstance(item, (Checkpoint, Seen))
            if want and not is_marker:
                seen += 1
                if seen > START_AFTER:
                    want = 0  # one try: after a failure the run stays in this process
                    pool = _start(fn)
            if pool is None:
                yield from flush()  # what a failed worker left, normalized here, in order
                yield (item, None) if is_marker else (item, normalize_one(fn, item, prepare))
                continue
            if is_marker:
                if chunk:
                    send()
                pending.append(("marker", item, None))
            else:
                chunk.append(item)
                if len(chunk) >= CHUNK:
                    send()
            while pending and (pending[0][0] == "marker" or pending[0][1].done() or len(pending) > AHEAD):
                yield from drain(pending.popleft())
        if pool is not None and chunk:
            send()
        yield from flush()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
