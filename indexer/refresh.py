"""Running sources into the catalog: one `runs` row per source, and its writes in one transaction,
except where the source commits as it goes: a long run (the Hub's sweeps, arXiv's id batches,
GitHub's searches) yields Checkpoints, and each commits the rows before it with the source's
cursor, so an interrupted run resumes there.

A source that fails (an exception, no network) is rolled back to its last commit: rows it had not
committed stay as they were; the error goes on its run row and in the summary, and the other
sources go on. A local fault (a full disk, an I/O error) stops the whole refresh.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .errors import LocalFault, RefreshLocked, SourceUnavailable, UnknownSource
from .localfault import Reserve, check_space, local_fault
from .paths import cache_dir
from .pipeline import normalized
from .sources import FetchContext, get_source, source_names
from .sources.base import Checkpoint, Seen
from .store import Catalog, WriteCounts, check_location

log = logging.getLogger("modelcat")

MAX_SKIP_REASONS = 20


@dataclass
class SourceResult:
    source: str
    status: str  # ok | failed | unavailable
    counts: WriteCounts
    seconds: float
    version: str | None = None
    error: str | None = None
    details: dict | None = None


ProgressFactory = Callable[[str], Callable[[int, "int | None", str], None]]


def refresh(
    db_path: str | os.PathLike,
    sources: Iterable[str] | None = None,
    *,
    progress: ProgressFactory | None = None,
    cache: Path | None = None,
    config: dict[str, dict] | None = None,
    space_check: bool = True,
    publish: bool | str | Path = False,
) -> list[SourceResult]:
    """Refresh the catalog at `db_path` from `sources` (default: every registered source).

    `config` maps a source name to its settings (see indexer.config). Raises CatalogError /
    RefreshLocked / UnknownSource before anything is written; a source's own failure is reported
    in its SourceResult instead. A local fault (a full disk, an I/O error, a file that cannot be
    written, no memory) stops the refresh: the run row says `failed` with the reason, and
    LocalFault says it in one line. With `space_check`, a source about to start a big import
    (the whole Hub) first checks the disk has room for it. With `publish` (True: the default
    place, indexer.publish.published_path; or a path), the catalog is copied there after each
    source that changed it (and once if no copy exists yet), for `modelcat serve --published`:
    readers see each source whole, as it lands; a copy that fails is logged and the refresh goes on.
    """
    names = list(dict.fromkeys(sources or source_names()))
    unknown = [n for n in names if n not in source_names()]
    if unknown:
        raise UnknownSource(f"unknown source {unknown[0]!r}: choose from {', '.join(source_names())}")
    db_path = Path(db_path)
    check_location(db_path, create=True)  # clear errors before the lock file is made beside it
    with refresh_lock(db_path), Reserve(db_path) as reserve:
        try:
            with Catalog.open(db_path) as cat, few_collections():
                stale = cat.mark_interrupted_runs()
                if stale:
                    log.warning("marked %d run(s) left 'running' by an earlier refresh as interrupted", stale)
                # No planner statistics (ANALYZE, PRAGMA optimize) afterwards: measured on the 300k
                # crawl, they made SQLite read model_summary's task facet through (task, size_bytes)
                # and every row instead of the covering (task, removed_at): 17 ms became 449 ms.
                results = []
                for name in names:
                    results.append(run_source(cat, name, progress=progress(name) if progress else None, cache=cache,
                                              config=(config or {}).get(name), reserve=reserve,
                                              space_check=space_check))
                    if publish:
                        _publish(db_path, publish, results[-1])
                return results
        except Exception as e:
            fault = local_fault(db_path, e)
            if fault is None or fault is e:
                raise
            raise fault from e


def _publish(db_path: Path, publish: bool | str | Path, result: SourceResult) -> None:
    from .publish import changed_anything, published_path
    from .publish import publish as publish_copy

    target = published_path(db_path) if publish is True else Path(publish)
    if not changed_anything(result) and target.exists():
        return
    try:
        done = publish_copy(db_path, target)
    except Exception as e:  # the catalog is whole; the served copy stays the previous one
        log.error("the catalog was not published to %s after %s: %s", target, result.source, e)
        return
    log.info("published %s after %s (%.1f MB, %.1f s)", done.path, result.source, done.bytes / 1e6, done.seconds)


@contextlib.contextmanager
def few_collections():
    """A refresh makes millions of short-lived objects (raw dicts, records, rows) and keeps few:
    Python's cycle collector ran every 700 allocations and rescanned every long-lived object
    (modules, client libraries) each time. Those are frozen out of its scans, and it runs less
    often, for the refresh only (about 10% of a Hub import, scripts/bench.py P1)."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


# A source's Checkpoints commit what came before them, with its cursor, at most this often: the
# Hub's sweeps yield one per page of 1,000 models, and each commit rewrote the pages of every
# index the page touched (a first import of 300,000 models: 90-100 s committing each page, 74 s
# committing every 2 s). Its state is saved at every Checkpoint, in the same transaction as the
# rows: a run stopped midway resumes after the last commit, losing at most this long a stretch.
# MODELCAT_COMMIT_EVERY_S sets it (0: every Checkpoint commits, as the fault tests want).
def _commit_every_s() -> float:
    raw = os.environ.get("MODELCAT_COMMIT_EVERY_S") or "2"
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        log.warning("MODELCAT_COMMIT_EVERY_S=%r is not a number of seconds (0 or more): using 2", raw)
        return 2.0
    return value


COMMIT_EVERY_S = _commit_every_s()


def run_source(cat: Catalog, name: str, *, progress=None, cache: Path | None = None,
               config: dict | None = None, reserve: Reserve | None = None,
               space_check: bool = True) -> SourceResult:
    t0 = time.perf_counter()
    run_id = cat.start_run(name)
    try:
        return _run_source(cat, run_id, name, t0, progress=progress, cache=cache, config=config,
                           space_check=space_check)
    except Exception as e:
        fault = local_fault(cat.path, e)
        if fault is None:
            raise
        # the write stopped at the fault, rolled back to the last checkpoint; the run row says
        # why (the reserve beside the catalog makes room for that on a full disk), then the
        # refresh stops: every other source would meet the same fault
        if reserve is not None and getattr(fault, "kind", None) == "full":
            reserve.release()
        if cat.conn.in_transaction:
            with contextlib.suppress(Exception):
                cat.conn.execute("ROLLBACK")
        try:
            _finish(cat, run_id, name, "failed", WriteCounts(), t0, None, str(fault), None)
        except Exception as again:  # noqa: BLE001 - the next refresh marks the run interrupted
            log.warning("%s: the failure could not be recorded on its run row either: %s", name, again)
        if fault is e:
            raise
        raise fault from e


def _run_source(cat: Catalog, run_id: int, name: str, t0: float, *, progress, cache, config,
                space_check: bool) -> SourceResult:
    counts = WriteCounts()
    view = cat.view(name)
    ctx = FetchContext(cache_dir=cache or cache_dir(), log=log, config=dict(config or {}),
                       state=cat.load_state(name), lookup=view.lookup, catalog=view)
    if space_check:
        ctx.need_space = lambda needed, what: check_space(cat.path, needed, what)
    if progress:
        ctx.progress = progress
    version = None
    try:
        source = get_source(name)
        version = source.version()
        deferred = set(cat.deferred_indexes().values())
        if deferred - {name}:  # another source's first load was killed midway
            with cat.transaction():
                rebuilt = cat.restore_indexes()
            log.warning("rebuilt %d index(es) left dropped by an unfinished first load of %s",
                        len(rebuilt), ", ".join(sorted(deferred)))
            deferred = set()
        with cat.transaction():
            # the first load of a big source: indexes built once at its end (store.defer_indexes);
            # a load killed midway goes on as one when the source runs again
            bulk = source.bulk_first_load and (name in deferred or not cat.has_rows(name))
            if bulk and not deferred:
                cat.defer_indexes(name)
            writer = cat.writer(name)
            counts = writer.counts
            ctx.run_started = writer.now
            # normalize() may run in a worker process (pipeline.py); outcomes come in fetch order
            committed = time.perf_counter()
            for item, outcome in normalized(source.normalizer(ctx), source.fetch(ctx), parallel=source.parallel_normalize,
                                             prepare=True):
                if isinstance(item, Checkpoint):
                    writer.flush()
                    cat.save_state(name, item.state)  # refuses when SQLite rolled the transaction back
                    if time.perf_counter() - committed >= COMMIT_EVERY_S:
                        cat.checkpoint()
                        committed = time.perf_counter()
                    continue
                if isinstance(item, Seen):
                    counts.seen += writer.touch(item.ids)  # counted as unchanged too
                    continue
                # seen counts what the other columns count: records (an item may hold several:
                # a PyTorch Hub repository's entrypoints) and the items skipped
                counts.seen += len(outcome[1]) if outcome[0] == "ok" else 1
                if outcome[0] == "skip":
                    counts.skip(outcome[1])
                    if len(outcome) > 2 and outcome[2]:
                        log.info("%s: record skipped: %s: %s", name, outcome[1], outcome[2])
                elif outcome[0] == "error":  # a normalizer bug on one record must not sink the source
                    counts.skip(outcome[1])
                    log.warning("%s: record skipped: %s", name, outcome[1])
                    log.debug("%s", outcome[2])
                else:
                    for record in outcome[1]:
                        writer.add(record)
            if ctx.listed_all_since is None and source.full_listing:
                ctx.listed_all_since = writer.now
            writer.finish(removed_since=ctx.listed_all_since)
            if ctx.state:
                cat.save_state(name, ctx.state)
            if bulk:
                cat.restore_indexes(commit_each=True)  # the rows are committed above: each index on its own
    except KeyboardInterrupt:
        # rolled back to the last checkpoint; say so on the run row at once, then let it through
        with contextlib.suppress(Exception):
            _finish(cat, run_id, name, "interrupted", WriteCounts(seen=counts.seen), t0, version,
                    "interrupted (Ctrl-C); changes since the last checkpoint were rolled back", ctx.details)
        raise
    except SourceUnavailable as e:
        _restore_indexes(cat)
        return _finish(cat, run_id, name, "unavailable", WriteCounts(), t0, version, str(e), ctx.details)
    except Exception as e:
        # SystemExit and other BaseExceptions propagate: the next refresh marks the run interrupted
        log.debug("%s failed:\n%s", name, traceback.format_exc())
        if isinstance(e, LocalFault) or local_fault(cat.path, e) is not None:
            raise  # run_source records it and stops the refresh
        _restore_indexes(cat)
        return _finish(cat, run_id, name, "failed", WriteCounts(seen=counts.seen), t0, version,
                       f"{type(e).__name__}: {e}", ctx.details)
    return _finish(cat, run_id, name, "ok", counts, t0, version, None, ctx.details)


def _restore_indexes(cat: Catalog) -> None:
    """A failed first load keeps the pages it committed; the catalog gets its indexes back now
    rather than at the next refresh (only a killed or interrupted process leaves them dropped)."""
    with contextlib.suppress(Exception):
        if cat.deferred_indexes():
            with cat.transaction():
                cat.restore_indexes()


def _finish(cat, run_id, name, status, counts, t0, version, error, details) -> SourceResult:
    seconds = round(time.perf_counter() - t0, 3)
    details = dict(details or {})
    if counts.skip_reasons:
        top = sorted(counts.skip_reasons.items(), key=lambda kv: -kv[1])[:MAX_SKIP_REASONS]
        details["skip_reasons"] = dict(top)
    cat.finish_run(run_id, status, counts, error=error, seconds=seconds, source_version=version,
                   details=details or None)
    return SourceResult(name, status, counts, seconds, version, error, details or None)


@contextlib.contextmanager
def refresh_lock(db_path: Path) -> Iterator[None]:
    """One refresh per catalog at a time. An OS file lock: a crashed holder releases it."""
    lock_path = Path(f"{db_path}.lock")
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, SQLite's own locking still serializes writes
        yield
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise RefreshLocked(
                f"another refresh (pid {holder}) is writing {db_path}: wait for it to finish, "
                "or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
