#!/usr/bin/env python
"""Benchmark P4: refreshing the timm source, cold and warm.

    .venv/bin/python scripts/bench_timm.py [--runs 3] [--baseline] [--smoke]

cold  `modelcat refresh --source timm` into a new catalog with an empty cache: every tag's
      parameters counted (meta device, init skipped, identical builds shared, worker processes)
warm  the same command again: the cache matches the installed timm, rows are unchanged
baseline (--baseline, ~5 min)  what counting costs without those tricks: every pretrained tag
      built on the meta device in one process, as timm.create_model does it

Each figure is the median wall time of whole `modelcat` processes (interpreter start included),
as a user or a cron job sees it. Goals (issue #8, P4): cold < 60 s, warm < 2 s.
--smoke runs one warm refresh with the existing cache ($MODELCAT_CACHE_DIR), so CI can check the
script still works without a cold build.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASELINE = """
import sys, time
from indexer.torchcompat import ensure_torchvision_importable
ensure_torchvision_importable()
import torch, timm
t = time.perf_counter()
for name in timm.list_pretrained():
    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False)
    sum(p.numel() for p in model.parameters())
print(time.perf_counter() - t)
"""


def refresh(db: Path, cache: Path) -> float:
    env = dict(os.environ, MODELCAT_CACHE_DIR=str(cache))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "indexer", "refresh", "--source", "timm", "--db", str(db)],
                   check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement (median reported)")
    ap.add_argument("--baseline", action="store_true", help="also time the one-process meta build (~5 min)")
    ap.add_argument("--smoke", action="store_true", help="one warm run with the existing cache: for CI")
    args = ap.parse_args()

    from importlib.metadata import version

    cold, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.smoke:
            from indexer.paths import cache_dir

            refresh(tmp / "smoke.db", cache_dir())  # fills the cache if it was empty
            warm.append(refresh(tmp / "smoke.db", cache_dir()))
            print(f"| timm refresh, warm (smoke) | {warm[0]:.2f} | 1 | < 2 |")
            return
        for i in range(args.runs):
            cache = tmp / f"cache{i}"
            db = tmp / f"c{i}.db"
            cold.append(refresh(db, cache))
            warm.extend(refresh(db, cache) for _ in range(1 if args.smoke else args.runs))
        base = None
        if args.baseline:
            out = subprocess.run([sys.executable, "-c", BASELINE], check=True, capture_output=True, text=True,
                                 cwd=ROOT)
            base = float(out.stdout.strip().splitlines()[-1])

    med_cold, med_warm = statistics.median(cold), statistics.median(warm)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"timm {version('timm')}, torch {version('torch')}")
    print()
    print("| measurement | median (s) | runs | goal |")
    print("|---|---|---|---|")
    print(f"| timm refresh, cold (empty cache) | {med_cold:.1f} | {len(cold)} | < 60 |")
    print(f"| timm refresh, warm (cache hit, rows unchanged) | {med_warm:.2f} | {len(warm)} | < 2 |")
    if base is not None:
        print(f"| baseline: every tag built on meta in one process (counting only) | {base:.0f} | 1 | - |")
        print(f"\ncold refresh is {base / med_cold:.1f}x faster than the baseline's counting alone")


if __name__ == "__main__":
    main()
