#!/usr/bin/env python
"""A full disk during the nightly job, as a user on a small machine meets it (issue #31).

A catalog holding timm and torchvision is copied onto a small tmpfs (one per size), then
`modelcat refresh --source hf` runs against a local replay of N synthetic Hub models until the
disk fills; the filesystem is then made big again (as a user frees space) and the same command
runs again. Each size reports: the first run's exit code and its error line(s), whether a
traceback was printed, the run rows' statuses, and whether the recovered catalog equals a clean
refresh row for row (tests/dbrows.py). Needs root (it mounts tmpfs); prints a markdown table.

    sudo .venv/bin/python scripts/fulldisk.py --models 20000 --sizes 8,9,10,11,12,13,14,15,16,17,18,19,20
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from dbrows import catalog_dump  # noqa: E402
from replay.hub import HubReplay  # noqa: E402
from replay.synth import synthetic_models  # noqa: E402


def modelcat(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "indexer", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=1800)


def error_lines(stderr: str) -> list[str]:
    lines = [x.strip() for x in stderr.replace("\r", "\n").splitlines()]
    return [x for x in lines if x and not x.startswith("hf: full sweep")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=20000)
    ap.add_argument("--sizes", default="8,10,15,20", help="tmpfs sizes in MB, comma-separated")
    ap.add_argument("--over-base", action="store_true",
                    help="sizes are MB of room over the timm + torchvision catalog's own size (the issue's 8 to "
                         "20 MB were measured with a 4 MB one: 4 to 16 MB over it)")
    ap.add_argument("--work", default=None, help="a scratch folder (default: a temporary one)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("scripts/fulldisk.py mounts tmpfs filesystems: run it as root")
    work = Path(args.work or tempfile.mkdtemp(prefix="modelcat-fulldisk-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MODELCAT_CACHE_DIR=str(work / "cache"), PYTHONPATH=str(ROOT))
    env.pop("HF_TOKEN", None)
    base = work / "base.db"
    if not base.exists():  # timm + torchvision: the catalog a user has before the Hub
        done = modelcat(env, "refresh", "--db", str(base), "--source", "timm", "--source", "torchvision")
        if done.returncode != 0:
            sys.exit(f"building the timm + torchvision catalog failed:\n{done.stderr[-3000:]}")
        sqlite3.connect(base).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    base_models = sqlite3.connect(base).execute("SELECT count(*) FROM models").fetchone()[0]
    base_mb = base.stat().st_size / 2 ** 20
    rows = []
    with HubReplay(synthetic_models(args.models, seed=31), page_size=1000) as hub:
        env["HF_ENDPOINT"] = hub.url
        clean = work / "clean.db"
        shutil.copy(base, clean)
        t0 = time.perf_counter()
        done = modelcat(env, "refresh", "--db", str(clean), "--source", "hf")
        if done.returncode != 0:
            sys.exit(f"the clean refresh failed:\n{done.stderr[-3000:]}")
        clean_seconds = time.perf_counter() - t0
        want = catalog_dump(clean)
        want_models = len(want["models"])
        mnt = work / "mnt"
        mnt.mkdir(exist_ok=True)
        for mb in [float(s) + (base_mb if args.over_base else 0) for s in args.sizes.split(",") if s.strip()]:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={int(mb * 1024)}k", "tmpfs", str(mnt)], check=True)
            try:
                db = mnt / "catalog.db"
                shutil.copy(base, db)
                first = modelcat(env, "refresh", "--db", str(db), "--source", "hf")
                lines = error_lines(first.stderr)
                subprocess.run(["mount", "-o", "remount,size=2g", str(mnt)], check=True)
                second = modelcat(env, "refresh", "--db", str(db), "--source", "hf")
                got = catalog_dump(db)
                same = got == want
                con = sqlite3.connect(db)
                statuses = [s for (s,) in con.execute("SELECT status FROM runs WHERE source = 'hf' ORDER BY id")]
                con.close()
                rows.append((mb, first.returncode, lines, "Traceback" in first.stderr, statuses, second.returncode,
                             len(got["models"]), same))
            finally:
                subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
    print(f"{base_models:,} timm + torchvision models ({base_mb:.1f} MB), then {args.models:,} Hub models "
          f"(a clean refresh: {want_models:,} models in all, {clean_seconds:.1f} s)\n")
    print("| tmpfs | 1st run: exit, error | traceback | run rows (hf) | 2nd run exit | models after | same as clean |")
    print("|---|---|---|---|---|---|---|")
    for mb, rc, lines, tb, statuses, rc2, n, same in rows:
        err = " / ".join(lines)[:300].replace("|", "\\|") if rc else "(fitted)"
        print(f"| {mb:.1f} MB ({mb - base_mb:+.1f}) | {rc}: {err} | {'yes' if tb else 'no'} | {', '.join(statuses)} | {rc2} | {n:,} | "
              f"{'yes' if same else 'NO'} |")
    if any(not r[-1] or r[3] or r[5] != 0 or "running" in r[4] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
