#!/usr/bin/env python
"""modelcat's benchmarks at Hub scale (issue #8): one command, every figure beside its baseline.

    .venv/bin/python scripts/bench.py                    # the issue's sizes; writes docs/benchmarks.md
    .venv/bin/python scripts/bench.py --models 200000    # a smaller catalog for P2, P3, P6 and size
    .venv/bin/python scripts/bench.py --smoke            # tiny sizes, one run: CI runs this
    .venv/bin/python scripts/bench.py crawl --models 300000   # the page crawl (scripts/crawl.py)

P1 ingest       synthetic Hub records in the real shapes (tests/replay/synth.py): normalize+write
                into a new catalog (the stage alone), and a full sweep through huggingface_hub
                against a local replay Hub (end to end). Baseline: a naive writer, one sqlite-utils
                `table.upsert(...)` per row, as a first version would do.
P2 no change    a nightly (incremental) refresh of a catalog of --models models (1M) after 0, 1k,
                10k and 100k models changed on the Hub: wall time and requests.
P3 queries      on a catalog of --query-models models (2M): the seed question (stored query)
                through Datasette's JSON API, in process and over HTTP: p50, p95. Baseline: the same
                query on a copy of the catalog without modelcat's indexes. Every other page is
                measured by the page crawl: `scripts/bench.py crawl --models N` (scripts/crawl.py).
P4 timm         scripts/bench_timm.py --baseline (cold and warm refresh of every tag; baseline:
                every model built on the meta device in one process, about 5 minutes).
P5 loader       scripts/bench_loader.py (load_model against the direct library call).
P6 memory       peak RSS of the refresh process (end-to-end ingest, a first import) at --models and
                at --query-models, and of the Datasette server after the P3 queries.
Size            bytes per model in the --query-models catalog, with and without the full-text
                indexes, and the projection for the whole Hub (2.3M models).

Timings are medians over --runs; nothing here fails on a time (benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import os
import resource
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from crawl import Server, machine, percentile  # noqa: E402 - this folder's page crawl: the same helpers

HUB_MODELS = 2_300_000
DOC = ROOT / "docs" / "benchmarks.md"


# ----------------------------------------------------------------------------- helpers
def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def child_env(**extra) -> dict:
    env = {**os.environ, **extra}
    env.pop("HF_TOKEN", None)
    return env


# ----------------------------------------------------------------------------- P1 ingest
def naive_write(records, db: Path) -> None:
    """The baseline: what a first version writes, one sqlite-utils upsert (and commit) per row and
    child row, with the same cells (the store's own row building)."""
    import sqlite_utils

    from indexer.sources.hf import normalize_hub
    from indexer.store import MODEL_COLUMNS, Catalog, record_digest as _digest, row_values as _values, utcnow

    Catalog.open(db).close()  # the same schema, triggers and indexes
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys = ON")
    sdb = sqlite_utils.Database(conn)
    models, links, datasets = sdb["models"], sdb["model_datasets"], sdb["datasets"]
    now = utcnow()
    for raw in records:
        rec = normalize_hub(raw)
        rec.set_loadability()
        rec.set_is_test()
        values = _values(rec)
        row = dict(zip(MODEL_COLUMNS, values), record_hash=_digest(values, rec), first_seen=now, last_seen=now,
                   changed_at=now)
        models.upsert(row, pk="id")
        for d in rec.datasets:
            datasets.upsert({"id": d.dataset_id, "name": d.raw, "aliases": "[]", "curated": 0}, pk="id")
            links.upsert({"model_id": rec.id, "dataset_id": d.dataset_id, "role": d.role, "raw": d.raw,
                          "source": "hf"}, pk=("model_id", "dataset_id"))
    conn.close()


def p1_ingest(n: int, runs: int, tmp: Path) -> list[str]:
    from bench_hf import normalize_and_write  # this folder's Hub benchmark: the same stage
    from replay.hub import HubReplay
    from replay.synth import synthetic_models

    records = synthetic_models(n, seed=1)
    stage = median_time(lambda: normalize_and_write(records, _fresh(tmp / "p1-stage.db")), runs)
    naive_n = max(200, n // 20)  # per-row commits: a sample is enough for a rate
    naive = median_time(lambda: naive_write(records[:naive_n], _fresh(tmp / "p1-naive.db")), runs)
    e2e, serial = [], []
    with HubReplay(records, page_size=1000) as hub:  # in this process: the refresh runs in its own
        for _ in range(runs):
            e2e.append(run_refresh_child(_fresh(tmp / "p1-e2e.db"), hub.url, tmp)["seconds"])
            serial.append(run_refresh_child(_fresh(tmp / "p1-e2e.db"), hub.url, tmp, workers="0")["seconds"])
    stage_rate, naive_rate = n / stage, naive_n / naive
    e2e_rate, serial_rate = n / statistics.median(e2e), n / statistics.median(serial)
    return [
        f"{n:,} synthetic Hub records, median of {runs}. End to end: `refresh --source hf` (a first import) "
        "in its own process against a local replay Hub in this one (1000 models a page), through "
        "huggingface_hub's HTTP layer; the replay's own work shares the machine's cores.",
        "",
        "| P1 ingest | records/s | vs naive | goal |",
        "|---|---|---|---|",
        f"| normalize + write (the stage alone) | {stage_rate:,.0f} | {stage_rate / naive_rate:.1f}x | ≥ 50,000/s; ≥ 10x naive |",
        f"| end to end: first import through huggingface_hub, local replay | {e2e_rate:,.0f} | "
        f"{e2e_rate / naive_rate:.1f}x | |",
        f"| end to end, normalizing in the refresh process (`MODELCAT_WORKERS=0`) | {serial_rate:,.0f} | "
        f"{serial_rate / naive_rate:.1f}x | |",
        f"| baseline: naive per-row sqlite-utils `upsert` ({naive_n:,} records) | {naive_rate:,.0f} | 1.0x | |",
    ]


def _fresh(db: Path) -> Path:
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db


# ----------------------------------------------------------------------------- P2 + P6 ingest
def run_refresh_child(db: Path, endpoint: str, tmp: Path, *extra, workers: str = "") -> dict:
    """`refresh --source hf` in its own process; returns its wall time and peak RSS."""
    env = child_env(HF_ENDPOINT=endpoint, MODELCAT_CACHE_DIR=str(tmp / "cache"))
    if workers:
        env["MODELCAT_WORKERS"] = workers
    out = subprocess.run([sys.executable, __file__, "--child-refresh", str(db), *extra], capture_output=True,
                         text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"refresh failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_refresh(db: str, extra: list[str]) -> None:
    from indexer.refresh import refresh

    config = {"hf": {"full": True}} if "--full" in extra else None
    t = time.perf_counter()
    [res] = refresh(Path(db), ["hf"], config=config)
    seconds = time.perf_counter() - t
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"seconds": seconds, "status": res.status, "error": res.error, "details": res.details,
                      "rss_mb": peak_rss_mb(), "cpu_s": me.ru_utime + me.ru_stime,
                      "worker_cpu_s": kids.ru_utime + kids.ru_stime, "worker_rss_mb": kids.ru_maxrss / 1024}))


def peak_rss_mb(pid: str = "self") -> float:
    """The process's peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries that across
    exec, so a child started by a big parent would report the parent's size."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_row(n: int, build: dict) -> str:
    return (f"| refresh process, first import (full sweep) of {n:,} models, {build['seconds']:.0f} s | "
            f"{build['rss_mb']:,.0f} MB (its normalize worker: {build['worker_rss_mb']:,.0f} MB) | < 400 MB, flat |")


def p2_nightly(n: int, changes: list[int], tmp: Path) -> tuple[list[str], list[str], Path]:
    from replay.hub import HubReplay
    from replay.synth import synthetic_models

    records = synthetic_models(n, seed=2)
    rows, memory = [], []
    (tmp / "p2").mkdir(exist_ok=True)
    db = _fresh(tmp / "p2" / "catalog.db")
    with HubReplay(records, page_size=1000) as hub:  # P6: the ingest's memory at n
        build = run_refresh_child(db, hub.url, tmp)
        memory.append(_memory_row(n, build))
        ids = [r["id"] for r in records]
        done = 0
        for c in changes:
            for repo_id in ids[done:done + c]:
                hub.touch(repo_id)
            done += c
            hub.reset_log()
            night = run_refresh_child(db, hub.url, tmp)
            assert night["status"] == "ok" and night["details"]["mode"] == "incremental", night
            requests = hub.count()
            rows.append(f"| {c:,} | {night['seconds']:.2f} s | {requests} | "
                        f"{'< 3 s' if c == 0 else 'grows with the changes'} |")
    head = [f"A catalog of {n:,} Hub models (built by a full sweep: {build['seconds']:.0f} s); each night is "
            "`refresh --source hf` in its own process, timed from the refresh call to its end (the process's "
            "start-up, about 1 s of imports, is not counted), after that many models changed.",
            "", "| P2 models changed since last night | wall time | requests | goal |", "|---|---|---|---|"]
    return head + rows, memory, db


def query_catalog(n: int, tmp: Path) -> tuple[list[str], Path]:
    """The catalog of P3 and Size, built as users build theirs: a first import in its own process
    (P6: the ingest's memory at n)."""
    from replay.hub import HubReplay
    from replay.synth import synthetic_models

    db = _fresh(tmp / "catalog.db")
    with HubReplay(synthetic_models(n, seed=3), page_size=1000) as hub:
        build = run_refresh_child(db, hub.url, tmp)
    return [_memory_row(n, build)], db


# ----------------------------------------------------------------------------- P3 + P6 queries
# Only the seed question is timed here, beside its baseline; every page a user reaches (the models
# pages with their facets, sorts, searches, row pages) is measured by the page crawl, `scripts/bench.py
# crawl` (scripts/crawl.py), which checks each answer whole.
QUERIES = {
    "seed question (stored query open_classifiers)": "/catalog/open_classifiers.json",
}


def default_facets(table: str | None) -> set[str]:
    """The facets schema/metadata.yml gives a table or view (column and array facets)."""
    from indexer.serve import metadata_for

    config = metadata_for(Path("catalog.db"))["databases"]["catalog"]["tables"].get(table or "", {})
    return {f if isinstance(f, str) else next(iter(f.values())) for f in config.get("facets", [])}


def check_answer(path: str, data: dict) -> str:
    """What the answer holds, for the table: its rows (and whether Datasette cut it at
    max_returned_rows: more rows match), and anything that makes it partial (a facet that timed
    out), which a fast time must not hide."""
    rows = len(data.get("rows") or [])
    what = f"{rows:,}" + (" (cut at Datasette's max_returned_rows)" if data.get("truncated") else "")
    problems = []
    if not rows:
        problems.append("no rows")
    wanted = set(re.findall(r"_facet(?:_array)?=(\w+)", path)) | default_facets(data.get("table"))
    missing = wanted - set(data.get("facet_results") or {})  # a facet past its time limit is left out
    if missing:
        problems.append(f"facets missing: {', '.join(sorted(missing))}")
    if problems:
        print(f"warning: {path}: {'; '.join(problems)}", file=sys.stderr)
        what += f"; partial: {'; '.join(problems)}"
    return what


def _our_indexes(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND name LIKE 'idx_%'")]
    finally:
        conn.close()


def in_process_latencies(db: Path, reps: int, baseline: bool = False) -> tuple[dict, dict[str, str]]:
    """Latencies per query, and what each answer held (check_answer); for the baseline, None
    where the query ran past Datasette's SQL time limit (it then answers an error, after it)."""
    from indexer.serve import make_datasette

    async def go():
        ds = make_datasette(db)
        await ds.invoke_startup()
        out, answers = {}, {}
        for label, path in QUERIES.items():
            r = await ds.client.get(path)
            if baseline and r.status_code != 200:
                out[label] = None  # over the limit: more than SETTINGS["sql_time_limit_ms"]
                continue
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            answers[label] = check_answer(path, r.json())
            times = []
            for _ in range(reps):
                t = time.perf_counter()
                await ds.client.get(path)
                times.append(time.perf_counter() - t)
            out[label] = times
        return out, answers

    return asyncio.run(go())


def http_latencies(db: Path, reps: int) -> tuple[dict[str, list[float]], float]:
    """Over HTTP against `modelcat serve`; returns the latencies and the server's peak RSS."""
    with Server(db, env=child_env()) as server:
        out = {}
        for label, path in QUERIES.items():
            urllib.request.urlopen(server.base + path, timeout=60).read()
            times = []
            for _ in range(reps):
                t = time.perf_counter()
                urllib.request.urlopen(server.base + path, timeout=60).read()
                times.append(time.perf_counter() - t)
            out[label] = times
        return out, peak_rss_mb(str(server.pid))


def _ms(times) -> str:
    from indexer.serve import SETTINGS

    if times is None:
        return f"> {SETTINGS['sql_time_limit_ms']:,} ms (Datasette's limit)"
    return f"{percentile(times, .5) * 1000:.1f} ms"


def p3_queries(db: Path, reps: int, tmp: Path) -> tuple[list[str], list[str]]:
    models = sqlite3.connect(db).execute("SELECT count(*) FROM models").fetchone()[0]
    ours, answers = in_process_latencies(db, reps)
    over_http, rss = http_latencies(db, reps)
    (tmp / "no-indexes").mkdir(exist_ok=True)
    bare = _fresh(tmp / "no-indexes" / "catalog.db")  # Datasette names a database by its file
    src, dst = sqlite3.connect(db), sqlite3.connect(bare)
    src.backup(dst)
    src.close()
    for name in _our_indexes(bare):
        dst.execute(f"DROP INDEX [{name}]")
    dst.commit()
    dst.close()
    baseline, baseline_answers = in_process_latencies(bare, max(5, reps // 4), baseline=True)
    rows = [f"A catalog of {models:,} models; {reps} requests per query after one warm-up, in process "
            "(`Datasette.client`) and over HTTP (`modelcat serve`). Baseline: in process, on a copy "
            "without modelcat's indexes (the `idx_*` ones; primary keys and full-text tables kept).",
            "", "| P3 query | rows answered | p50 in process | p95 in process | p50 HTTP | p95 HTTP | baseline p50 | goal |",
            "|---|---|---|---|---|---|---|---|"]
    for label in QUERIES:
        a, h, b = ours[label], over_http[label], baseline[label]
        goal = "p50 < 20 ms" if label.startswith("seed") else ""
        partial = baseline_answers.get(label, "").partition("; partial: ")[2]
        rows.append(f"| {label} | {answers[label]} | {percentile(a, .5) * 1000:.1f} ms | "
                    f"{percentile(a, .95) * 1000:.1f} ms | {percentile(h, .5) * 1000:.1f} ms | "
                    f"{percentile(h, .95) * 1000:.1f} ms | {_ms(b)}{f' (partial: {partial})' if partial else ''} | {goal} |")
    memory = [f"| Datasette server (`modelcat serve`) after the P3 queries on {models:,} models | {rss:,.0f} MB | "
              "< 400 MB, flat |"]
    return rows, memory


# ----------------------------------------------------------------------------- size
def size_rows(db: Path, tmp: Path) -> list[str]:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    models = conn.execute("SELECT count(*) FROM models").fetchone()[0]
    conn.close()
    full = db.stat().st_size
    copy = _fresh(tmp / "no-fts.db")
    src, dst = sqlite3.connect(db), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    for (name,) in dst.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%\\_a_' ESCAPE '\\'").fetchall():
        dst.execute(f"DROP TRIGGER [{name}]")
    for table in ("models_fts", "papers_fts", "repos_fts"):
        dst.execute(f"DROP TABLE IF EXISTS [{table}]")
    dst.commit()
    dst.execute("VACUUM")
    dst.close()
    bare = copy.stat().st_size
    per, per_bare = full / models, bare / models
    return ["| size | bytes per model | whole Hub (2.3M models) |", "|---|---|---|",
            f"| catalog.db ({models:,} models) | {per:,.0f} | {per * HUB_MODELS / 1e9:.1f} GB |",
            f"| without the full-text indexes | {per_bare:,.0f} | {per_bare * HUB_MODELS / 1e9:.1f} GB |"]


# ----------------------------------------------------------------------------- P4, P5
def script_table(script: str, *args: str) -> list[str]:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args], capture_output=True, text=True,
                         env=child_env())
    if out.returncode != 0:
        return [f"`{script}` failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}"]
    return [line for line in out.stdout.splitlines() if line.startswith("|") or line.startswith("machine")]


# ----------------------------------------------------------------------------- main
def main() -> None:
    if sys.argv[1:2] == ["crawl"]:  # the page crawl of the served catalog (issue #29)
        from crawl import main as crawl_main

        sys.exit(crawl_main(sys.argv[2:]))
    if sys.argv[1:2] == ["beside"]:  # a refresh beside serving (issue #32)
        from beside import main as beside_main

        sys.exit(beside_main(sys.argv[2:]))
    if sys.argv[1:2] == ["recommend"]:  # modelcat recommend on a catalog (issue #23)
        from bench_recommend import main as recommend_main

        sys.exit(recommend_main(sys.argv[2:]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=int, default=1_000_000, help="the catalog of P2 (and P6's first import)")
    ap.add_argument("--query-models", type=int, default=2_000_000,
                    help="the catalog of P3 and Size (and P6's second import)")
    ap.add_argument("--ingest-models", type=int, default=100_000, help="records of P1")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--reps", type=int, default=40, help="requests per query (P3)")
    ap.add_argument("--skip", default="", help="comma-separated: p1,p2,p3,p4,p5,size")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one run, no document: for CI")
    ap.add_argument("--out", type=Path, default=DOC, help="where the results go (markdown)")
    ap.add_argument("--keep", type=Path, help="keep the P2/P3 catalog at this path")
    ap.add_argument("--child-refresh", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_refresh:
        return child_refresh(args.child_refresh[0], args.child_refresh[1:])
    skip = set(filter(None, args.skip.split(",")))
    if args.smoke:
        args.models, args.query_models, args.ingest_models, args.runs, args.reps = 4000, 8000, 2000, 1, 5
        changes = [0, 10, 100]
        skip |= {"p4", "p5"}  # their own smoke modes run in tests/test_benchmarks.py
    else:
        changes = [c for c in (0, 1_000, 10_000, 100_000) if c <= args.models]

    started = time.perf_counter()
    sections: list[tuple[str, list[str]]] = []
    memory: list[str] = []
    with tempfile.TemporaryDirectory(prefix="modelcat-bench-") as tmp:
        tmp = Path(tmp)
        if "p1" not in skip:
            sections.append(("P1: ingest", p1_ingest(args.ingest_models, args.runs, tmp)))
            print("\n".join(sections[-1][1]), flush=True)
        db = None
        if "p2" not in skip:
            rows, mem, nightly_db = p2_nightly(args.models, changes, tmp)
            memory += mem
            sections.append(("P2: the nightly refresh when little changed", rows))
            print("\n".join(rows), flush=True)
            shutil.rmtree(nightly_db.parent)  # the disk the next catalog needs
        if not skip >= {"p3", "size"}:
            mem, db = query_catalog(args.query_models, tmp)
            memory += mem
        if db is not None and "p3" not in skip:
            rows, mem = p3_queries(db, args.reps, tmp)
            memory += mem
            sections.append(("P3: queries", rows))
            print("\n".join(rows), flush=True)
        if "p4" not in skip:
            sections.append(("P4: the timm source", script_table("bench_timm.py", "--runs", str(args.runs), "--baseline")))
        if "p5" not in skip:
            sections.append(("P5: loader overhead", script_table("bench_loader.py")))
        if memory:
            sections.append(("P6: memory (peak RSS)", ["| process | peak RSS | goal |", "|---|---|---|", *memory]))
            print("\n".join(sections[-1][1]), flush=True)
        if db is not None and "size" not in skip:
            sections.append(("Size", size_rows(db, tmp)))
            print("\n".join(sections[-1][1]), flush=True)
        if db is not None and args.keep:
            src, dst = sqlite3.connect(db), sqlite3.connect(_fresh(args.keep))
            src.backup(dst)
            src.close()
            dst.close()
        shutil.rmtree(tmp / "cache", ignore_errors=True)

    command = " ".join(["scripts/bench.py", *sys.argv[1:]])
    doc = ["# Benchmarks", "",
           f"Generated by `.venv/bin/python {command}` on {datetime.date.today().isoformat()} "
           f"in {time.perf_counter() - started:.0f} s. Machine: {machine()}.", "",
           "Every figure is measured in the same run as its baseline; times are medians. Re-run the "
           "command to regenerate this file (`--help` lists the sizes).", ""]
    for title, rows in sections:
        doc += [f"## {title}", "", *rows, ""]
    text = "\n".join(doc)
    if not args.smoke and args.out.exists():  # the page crawl's sections (scripts/bench.py crawl --doc) stay
        kept = [s for s in re.split(r"(?m)^(?=## )", args.out.read_text())
                if s.startswith(("## Page crawl", "## Refresh beside serving", "## A full disk"))]
        text = text.rstrip("\n") + "\n\n" + "".join(kept)
    if args.smoke:
        print(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
