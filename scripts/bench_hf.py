#!/usr/bin/env python
"""Benchmark: the Hugging Face Hub source's ingest rate (issue #3; P1 of issue #8).

    .venv/bin/python scripts/bench_hf.py [--models 100000] [--runs 3] [--smoke]

normalize        normalize_hub() over synthetic records in the Hub's shapes (in memory)
normalize+write  the same, written into a new catalog through the store's batched writer, one
                 transaction: the stage the refresh runs for every page
end to end       `refresh --source hf` (full sweep) against a local replay Hub (tests/replay),
                 through huggingface_hub's HTTP layer, 1000 models per page
no-change night  the next refresh: wall time and number of requests

Figures are medians over --runs; peak RSS is the process's high-water mark after each stage (it
includes the synthetic records and the replay Hub held in memory); the write stage's own peak
allocations are also measured at N/5 and N models, to show they do not grow with the catalog.
Goal (issue #3): normalize+write >= 50k models/s on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from indexer.pipeline import normalized  # noqa: E402
from indexer.refresh import few_collections, refresh  # noqa: E402
from indexer.sources.hf import HubSource, normalize_hub  # noqa: E402
from indexer.store import Catalog  # noqa: E402
from replay.hub import HubReplay  # noqa: E402
from replay.synth import synthetic_models  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn) -> float:
    gc.collect()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def normalize_all(records):
    for r in records:
        normalize_hub(r)


def normalize_and_write(records, db: Path):
    """What a refresh does with the Hub's records on a first import (refresh.run_source): the
    indexes deferred, every record normalized (in a worker process past the first 2,000, where
    there are two cores) and written, the indexes built."""
    with Catalog.open(db) as cat, few_collections(), cat.transaction():
        cat.defer_indexes("hf")
        writer = cat.writer("hf")
        for _, outcome in normalized(HubSource(), records, prepare=True):
            if outcome[0] == "ok":
                writer.add_all(outcome[1])
        writer.finish(removed_since=None)
        cat.restore_indexes()


def write_peak_mb(records, db: Path) -> float:
    """The write stage's own peak allocations (records already in memory): flat if it streams."""
    tracemalloc.start()
    normalize_and_write(records, db)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="2000 models, one run: for CI")
    args = ap.parse_args()
    n, runs = (2000, 1) if args.smoke else (args.models, args.runs)

    records = synthetic_models(n, seed=1)
    rows = []
    t_norm = [timed(lambda: normalize_all(records)) for _ in range(runs)]
    rows.append(("normalize", n / statistics.median(t_norm), statistics.median(t_norm), peak_mb()))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t_write = []
        for i in range(runs):
            t_write.append(timed(lambda: normalize_and_write(records, tmp / f"w{i}.db")))
        rows.append(("normalize+write", n / statistics.median(t_write), statistics.median(t_write), peak_mb()))
        small = records[: n // 5]
        flat = (write_peak_mb(small, tmp / "m1.db"), write_peak_mb(records, tmp / "m2.db"))

        hub = HubReplay(records, page_size=1000).start()
        os.environ["HF_ENDPOINT"] = hub.url
        try:
            t_e2e, t_night, requests = [], [], []
            for i in range(runs):
                db = tmp / f"e{i}.db"
                t_e2e.append(timed(lambda: refresh(db, ["hf"])))
                hub.reset_log()
                t_night.append(timed(lambda: refresh(db, ["hf"])))
                requests.append(hub.count())
        finally:
            hub.stop()
        rows.append(("end to end (full sweep, replay Hub)", n / statistics.median(t_e2e),
                     statistics.median(t_e2e), peak_mb()))
        night = statistics.median(t_night)

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
          f"{n} synthetic models, median of {runs}")
    print()
    print("| stage | models/s | seconds | peak RSS MB |")
    print("|---|---|---|---|")
    for name, rate, secs, rss in rows:
        print(f"| {name} | {rate:,.0f} | {secs:.2f} | {rss:.0f} |")
    print(f"| no-change night (incremental) | - | {night:.2f} | {max(requests)} request(s) |")
    print(f"\nwrite stage's own peak allocations: {flat[0]:.1f} MB for {n // 5:,} models, "
          f"{flat[1]:.1f} MB for {n:,} (tracemalloc; streaming keeps it flat)")


if __name__ == "__main__":
    main()
