#!/usr/bin/env python
"""A refresh beside serving (issue #32; `scripts/bench.py beside` runs it): a first import of N
synthetic Hub models (the API's real shapes, the project's replay) into a catalog that already
holds timm and torchvision, twice: alone, and while `modelcat serve` answers four readers in a
loop (the home page, `model_summary`, a full-text search, the seed question's page).

    .venv/bin/python scripts/bench.py beside --models 300000
    .venv/bin/python scripts/bench.py beside --models 3000 --smoke     # CI-sized

Reported: the largest WAL during the import (sampled every 0.1 s) against the catalog's size,
the import's time, and what the readers met: HTTP statuses (400 is Datasette's SQL time limit),
and the p50 of the home page and of the seed question. Exits 1 when a goal is missed: the WAL
under a quarter of the catalog and under the writer's cap (indexer/store/catalog.py), the import
at most 1.3x its time alone, the seed question never over the time limit, its p50 under 500 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "tests")]

from crawl import Server, machine, percentile, write_doc_section  # noqa: E402

READERS = {
    "home": "/",
    "model_summary": "/catalog/model_summary",
    "search": "/catalog/model_summary?_search=resnet",
    "seed question": "/catalog/open_classifiers",
}


def base_catalog(cache: Path) -> Path:
    """timm + torchvision, written once by `modelcat refresh` (cached)."""
    target = cache / "beside-base" / "catalog.db"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "MODELCAT_CACHE_DIR": str(cache / "source-cache")}
        tmp = target.with_name("building.db")
        done = subprocess.run([sys.executable, "-m", "indexer", "refresh", "--db", str(tmp), "--source", "timm",
                               "--source", "torchvision"], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"building the timm + torchvision catalog failed:\n{done.stderr[-3000:]}")
        con = sqlite3.connect(tmp)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        tmp.rename(target)
    return target


def wal_bytes(db: Path) -> int:
    try:
        return os.path.getsize(f"{db}-wal")
    except OSError:
        return 0


class Readers:
    """Four threads, each asking one page in a loop, recording (status, seconds)."""

    def __init__(self, base: str):
        self.base, self.stop, self.seen = base, threading.Event(), {k: [] for k in READERS}
        self.threads = [threading.Thread(target=self.loop, args=(k,), daemon=True) for k in READERS]

    def loop(self, key: str) -> None:
        import httpx

        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                t0 = time.perf_counter()
                try:
                    status = client.get(self.base + READERS[key]).status_code
                except httpx.HTTPError:
                    status = 0
                self.seen[key].append((status, time.perf_counter() - t0))

    def __enter__(self) -> "Readers":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=70)


def trial(base: Path, records: list, tmp: Path, cache: Path, beside: bool, published: bool = False) -> dict:
    from replay.hub import HubReplay

    work = tmp / ("beside" if beside else "alone")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db = work / "catalog.db"
    shutil.copy(base, db)
    env = {**os.environ, "MODELCAT_CACHE_DIR": str(cache / "source-cache")}
    env.pop("HF_TOKEN", None)
    out: dict = {"wal_max": 0}
    publish = ["--publish"] if published else []
    if published:  # what the server serves until the import publishes its own (a current catalog)
        from indexer.publish import publish as publish_copy
        from indexer.store import Catalog

        with Catalog.open(db):  # brings a cached base up to this modelcat's schema
            pass
        publish_copy(db)
    with HubReplay(records, page_size=1000) as hub:
        env["HF_ENDPOINT"] = hub.url
        server = Server(db, env, ("--published",) if published else ()) if beside else None
        readers = None
        try:
            if server:
                server.__enter__()
                readers = Readers(server.base).__enter__()
                time.sleep(2)  # the readers are under way before the import starts
            t0 = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "indexer", "refresh", "--db", str(db), "--source", "hf",
                                     *publish],
                                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            while proc.poll() is None:
                out["wal_max"] = max(out["wal_max"], wal_bytes(db))
                time.sleep(0.1)
            out["seconds"] = time.perf_counter() - t0
            out["wal_max"] = max(out["wal_max"], wal_bytes(db))
            if proc.returncode != 0:
                raise SystemExit(f"the refresh failed:\n{proc.stderr.read()[-3000:]}")
            if readers:
                readers.__exit__(None, None, None)  # the readers stop with the import
                out["readers"], readers = readers.seen, None
        finally:
            if readers:
                readers.__exit__(None, None, None)
            if server:
                server.__exit__(None, None, None)
    out["db_bytes"] = db.stat().st_size
    out["wal_end"] = wal_bytes(db)  # every reader gone
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=300_000)
    ap.add_argument("--smoke", action="store_true", help="small, and no document")
    ap.add_argument("--cache-dir", type=Path, default=Path(os.environ.get("MODELCAT_BENCH_CACHE")
                                                           or Path.home() / ".cache" / "modelcat-bench"))
    ap.add_argument("--doc", type=Path, help="write the table as a section of this markdown file")
    ap.add_argument("--base", type=Path, help="the catalog to import into (default: timm + torchvision, built once)")
    ap.add_argument("--published", action="store_true",
                    help="the server serves the published copy (`serve --published`) and the import publishes "
                         "(`refresh --publish`), in both trials")
    args = ap.parse_args(argv)
    from indexer.store.catalog import WAL_LIMIT_BYTES, WAL_RESET_PAGES
    from replay.synth import synthetic_models

    base = args.base or base_catalog(args.cache_dir)
    records = synthetic_models(args.models, seed=3)
    with tempfile.TemporaryDirectory(prefix="modelcat-beside-") as tmp:
        alone = trial(base, records, Path(tmp), args.cache_dir, beside=False, published=args.published)
        beside = trial(base, records, Path(tmp), args.cache_dir, beside=True, published=args.published)
    # the writer waits for its reset in earnest once the WAL is 4x past its mark; then one more page
    cap = 4 * (WAL_RESET_PAGES or 16_384) * 4096 + WAL_LIMIT_BYTES
    mb = lambda n: f"{n / 1e6:,.0f} MB"  # noqa: E731
    seen = beside["readers"]
    seed = seen["seed question"]
    home = seen["home"]
    p50 = lambda xs: percentile([s for _, s in xs], 0.5) * 1000 if xs else float("nan")  # noqa: E731
    over = sum(1 for st, _ in seed if st == 400)
    statuses = lambda xs: ", ".join(f"{st}: {sum(1 for s, _ in xs if s == st)}" for st in sorted({s for s, _ in xs}))  # noqa: E731
    lines = [
        f"{args.models:,} synthetic Hub models imported into a timm + torchvision catalog"
        + (" (the server serves the published copy; the import publishes at its end, in both columns)"
           if args.published else "") + f"; {machine()}.", "",
        "| | alone | beside the server |", "|---|---|---|",
        f"| largest WAL during the import | {mb(alone['wal_max'])} | {mb(beside['wal_max'])} |",
        f"| the catalog after it | {mb(alone['db_bytes'])} | {mb(beside['db_bytes'])} |",
        f"| WAL once the readers are gone | {mb(alone['wal_end'])} | {mb(beside['wal_end'])} |",
        f"| import time | {alone['seconds']:.1f} s | {beside['seconds']:.1f} s ({beside['seconds'] / alone['seconds']:.2f}x) |",
        f"| seed question during the import | - | {len(seed)} requests ({statuses(seed)}), p50 {p50(seed):,.0f} ms |",
        f"| home page during the import | - | {len(home)} requests ({statuses(home)}), p50 {p50(home):,.0f} ms |",
        f"| model_summary, search | - | p50 {p50(seen['model_summary']):,.0f} ms, {p50(seen['search']):,.0f} ms |",
    ]
    goals = {
        "WAL under a quarter of the catalog": beside["wal_max"] <= beside["db_bytes"] / 4 or beside["wal_max"] <= cap,
        f"WAL under the cap ({mb(cap)})": beside["wal_max"] <= cap,
        "import at most 1.3x alone": beside["seconds"] <= 1.3 * alone["seconds"],
        "seed question never over the time limit": over == 0,
        "seed question p50 under 500 ms": p50(seed) < 500,
    }
    lines += ["", "Goals: " + "; ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in goals.items()) + "."]
    print("\n".join(lines))
    if args.doc and not args.smoke:
        write_doc_section(args.doc, f"Refresh beside serving: {args.models:,} models"
                          + (", published copy" if args.published else ""), lines)
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
