"""kill -9 at any point of a refresh loses nothing and duplicates nothing, and the next run goes on.

`modelcat refresh` of the network sources (hf: 2000 models in 20 pages, github, arxiv, ngc: 300
models in 6 pages, kaggle: 120 models (150 variations) in 6 pages; all against the replays) runs as a subprocess and is SIGKILLed at a seeded random moment of
its run; right after, the catalog is checked (`Catalog.check`: integrity, foreign keys, full-text,
invariants), and refreshes run to their end, two nights as the clean catalog had. The catalog
must equal the clean one: every row, every value, nothing duplicated. Where the kill came after the Hub's first committed page,
the second run must resume the sweep from its saved cursor rather than start over.

MODELCAT_KILL_RUNS sets the number of kills (default 20); two run at a time.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dbrows import assert_same_catalog, catalog_dump
from indexer.errors import CatalogError
from indexer.store import Catalog
from replay.arxiv import ArxivReplay
from replay.github import GitHubReplay
from replay.hub import HubReplay
from replay.kaggle import KaggleReplay, kaggle_instance, kaggle_model
from replay.ngc import NgcReplay, ngc_model
from replay.synth import synthetic_models
from replay.world import build_arxiv, build_github

RUNS = int(os.environ.get("MODELCAT_KILL_RUNS", "20"))
# torchhub is left out: it imports torchvision (3 s), which would make each run 3x longer; its
# run is github's (the same client, the same checkpoint per page) over other files
SOURCES = ("hf", "github", "arxiv", "ngc", "kaggle")
MODELS, PAGE = 2000, 100
CONFIG = (f"[hf]\npage_size = {PAGE}\n[arxiv]\ndelay_seconds = 0\n[ngc]\npage_size = 50\n[kaggle]\npage_size = 20\n"
          "[github]\nseconds_between_requests = 0\n[torchhub]\nseconds_between_requests = 0\n")


@pytest.fixture(scope="module")
def world():
    ngc_models = [ngc_model(f"nvidia/{('tao', 'nemo')[i % 2]}/model_{i:03d}",
                            dateModified=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:{i % 60:02d}.000Z")
                  for i in range(300)]
    kaggle_models = [kaggle_model(f"{('google', 'keras', 'nvidia')[i % 3]}/model-{i:03d}",
                                  [kaggle_instance("base", ("pyTorch", "keras")[i % 2])]
                                  + ([kaggle_instance("large", "transformers")] if i % 4 == 0 else []))
                     for i in range(120)]
    with HubReplay(synthetic_models(MODELS), page_size=PAGE) as hub, GitHubReplay() as gh, ArxivReplay() as ax, \
            NgcReplay(ngc_models) as ngc, KaggleReplay(kaggle_models) as kaggle:
        build_github(gh)
        build_arxiv(ax)
        yield {"HF_ENDPOINT": hub.url, "GITHUB_API_URL": gh.url, "ARXIV_API_URL": ax.url, "NGC_API_URL": ngc.url,
               "KAGGLE_API_URL": kaggle.url}


def start(folder: Path, urls: dict) -> subprocess.Popen:
    folder.mkdir(exist_ok=True)
    (folder / "m.toml").write_text(CONFIG)
    env = {**os.environ, **urls, "GITHUB_TOKEN": "ghp_kill_test_token", "MODELCAT_CACHE_DIR": str(folder / "cache"),
           "HF_HOME": str(folder / "hf-home"), "KAGGLE_CONFIG_DIR": str(folder / "no-kaggle-config")}
    env.pop("HF_TOKEN", None)
    for var in ("NGC_API_KEY", "KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY"):
        env.pop(var, None)
    args = [sys.executable, "-m", "indexer", "refresh", "--db", str(folder / "catalog.db"),
            "--config", str(folder / "m.toml")]
    for s in SOURCES:
        args += ["--source", s]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p: subprocess.Popen) -> None:
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, (out + err)[-3000:]


def hf_run(db: Path) -> dict:
    """The Hub's last run: its status and details (mode, resumed, requests)."""
    conn = sqlite3.connect(db)
    try:
        status, details = conn.execute(
            "SELECT status, details FROM runs WHERE source = 'hf' ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    return {"status": status, **json.loads(details or "{}")}


def saved_cursor(db: Path) -> bool:
    """Whether the killed run committed at least one Hub page with its cursor."""
    if not db.exists():
        return False
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT state FROM source_state WHERE source = 'hf'").fetchone()
    except sqlite3.OperationalError:  # killed before the tables existed
        return False
    finally:
        conn.close()
    sweep = json.loads(row[0]).get("sweep") if row else None
    return bool(sweep and any(q.get("next") for q in sweep["queries"]))


@pytest.fixture(scope="module")
def clean(world, tmp_path_factory):
    """The catalog the nightly runs settle on, how long a first run takes, and its Hub requests.
    One run is not the end: repositories a paper names (arxiv runs last) are read by github the
    next night. Two runs are: a third changes nothing."""
    folder = tmp_path_factory.mktemp("clean")
    t0 = time.perf_counter()
    finish(start(folder, world))
    seconds = time.perf_counter() - t0
    run = hf_run(folder / "catalog.db")
    assert run["status"] == "ok" and not run["resumed"]
    finish(start(folder, world))
    settled = catalog_dump(folder / "catalog.db")
    finish(start(folder, world))
    assert_same_catalog(catalog_dump(folder / "catalog.db"), settled, "a third clean run")
    return settled, seconds, run["requests"]


def test_kill_9_at_random_points_loses_and_duplicates_nothing(world, clean, tmp_path, commit_each_page):
    want, seconds, full_requests = clean
    rng = random.Random(20261122)
    moments = [rng.uniform(0.05, seconds) for _ in range(RUNS)]

    def trial(i: int) -> dict:
        folder = tmp_path / f"kill{i}"
        p = start(folder, world)
        time.sleep(moments[i])
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=60)
        db = folder / "catalog.db"
        killed_mid_run = p.returncode == -signal.SIGKILL
        resumable = saved_cursor(db)
        if db.exists():  # what a kill leaves is a sound catalog, before anything repairs it
            try:
                with Catalog.open(db, readonly=True) as cat:
                    problems = [c for c in cat.check() if not c.ok]
                # a first Hub import killed after its first page (or after its last, before its
                # end) leaves its deferred indexes noted (store.defer_indexes), and check says
                # the next refresh builds them; below, the refreshes that follow do
                pending = [c for c in problems if c.name == "indexes"]
                assert all("next `modelcat refresh` builds it" in c.examples[0] for c in pending), pending
                # killed while the catalog was being created: its later migrations wait for the
                # next refresh (each is one transaction), and check says so
                waiting = [c for c in problems if c.name == "migrations"]
                assert all("next `modelcat refresh` applies it" in c.examples[0] for c in waiting), waiting
                problems = [c for c in problems if c.name not in ("indexes", "migrations")]
                assert not problems, (i, [(c.name, c.examples) for c in problems])
            except CatalogError as e:  # killed before the first table was made
                assert "is empty" in str(e), e
        finish(start(folder, world))
        run = hf_run(db)
        finish(start(folder, world))  # the second night: where the clean runs settle
        assert_same_catalog(catalog_dump(db), want, f"kill {i} at {moments[i]:.2f} s")
        with Catalog.open(db, readonly=True) as cat:  # every index is back
            assert all(c.ok for c in cat.check()), (i, [(c.name, c.examples) for c in cat.check() if not c.ok])
        return {"killed": killed_mid_run, "resumable": resumable, "resumed": run["resumed"],
                "requests": run["requests"], "mode": run["mode"]}

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(trial, range(RUNS)))

    killed = [r for r in results if r["killed"]]
    resumable = [r for r in results if r["resumable"]]
    # every rerun after a kill that left a cursor went on from it, and asked the Hub for less
    assert all(r["resumed"] and r["requests"] < full_requests for r in resumable), (resumable, full_requests)
    print(f"\nkill -9: {RUNS} runs killed at random moments (0.05-{seconds:.1f} s; {len(killed)} mid-run); "
          f"after each, the catalog equals the clean one: {RUNS}/{RUNS}, 0 rows lost, 0 duplicated; "
          f"{len(resumable)} resumed the Hub sweep from its cursor, asking "
          f"{sum(r['requests'] for r in resumable) / max(1, len(resumable)):.1f} pages instead of {full_requests}")
    assert len(killed) >= RUNS // 2  # most kills really landed in the middle of a run
    if RUNS >= 10:
        assert resumable  # and some after the Hub's first page
