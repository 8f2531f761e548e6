"""A bad night, reproducibly: every network source (hf, github, torchhub, arxiv, ngc, kaggle) refreshed through
a fault-injecting proxy (replay/faults.py) that answers a seeded 20% of requests with 429
(Retry-After), 500, 503, a stall past the timeout, a connection reset, a body cut short, or a
200 whose JSON/XML is cut in half. The catalog after each faulty run must equal the catalog after
a clean run: same rows, same values, no duplicates.

MODELCAT_FAULT_SEEDS sets how many seeds (default 4); the README's figure is from 20.
The clients' waits are recorded instead of slept (the retries and Retry-After are still checked:
every 429 led to a wait of exactly what it asked); the stalls and timeouts are real.
"""

from __future__ import annotations

import collections
import os
import sqlite3
import time
from contextlib import ExitStack

import pytest

from dbrows import assert_same_catalog, catalog_dump
from indexer.refresh import refresh
from replay.faults import KINDS, FaultProxy

NETWORK = ("hf", "github", "torchhub", "arxiv", "ngc", "kaggle")
SEEDS = int(os.environ.get("MODELCAT_FAULT_SEEDS", "4"))
TIMEOUT = 0.5  # the clients' timeout; a stall lasts 1 s
RETRY_AFTER = 13  # distinct from every backoff step, so its waits can be counted
def config() -> dict:
    gh = {"seconds_between_requests": 0, "max_rate_limit_wait": 5, "timeout": TIMEOUT, "retries": 5}
    return {"hf": {"timeout": TIMEOUT, "retries": 6, "page_size": 40}, "github": dict(gh), "torchhub": dict(gh),
            "arxiv": {"delay_seconds": 0, "retries": 4, "timeout": TIMEOUT},
            "ngc": {"timeout": TIMEOUT, "retries": 6, "page_size": 10},
            "kaggle": {"timeout": TIMEOUT, "retries": 6, "page_size": 10}}


def statuses(results) -> dict[str, str]:
    return {r.source: r.status for r in results}


@pytest.fixture
def waits(monkeypatch):
    """The clients' sleeps (huggingface_hub, urllib3, arxiv, ours), recorded and not slept."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", lambda s: slept.append(float(s)))
    return slept


def point_at(monkeypatch, tmp_path, services: dict):
    """Every network source at its replay (or at a faulty proxy in front of it): {name: .url}."""
    monkeypatch.setenv("NGC_API_URL", services["ngc"].url)
    monkeypatch.delenv("NGC_API_KEY", raising=False)
    monkeypatch.setenv("KAGGLE_API_URL", services["kaggle"].url)
    for var in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle-config"))
    monkeypatch.setenv("HF_ENDPOINT", services["hf"].url)
    monkeypatch.setenv("GITHUB_API_URL", services["github"].url)
    monkeypatch.setenv("ARXIV_API_URL", services["arxiv"].url)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_fault_test_token")  # the token-only paths too (code search)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


def run(db, cache, **arxiv):
    cfg = config()
    cfg["arxiv"].update(arxiv)
    return refresh(db, NETWORK, config=cfg, cache=cache)


@pytest.fixture(scope="module")
def clean(world, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as mp:
        point_at(mp, tmp, world)
        results = run(tmp / "catalog.db", tmp / "cache")
    assert statuses(results) == dict.fromkeys(NETWORK, "ok"), [(r.source, r.error) for r in results]
    catalog = catalog_dump(tmp / "catalog.db")
    assert len(catalog["models"]) > 240 and catalog["papers"] and catalog["repos"]
    return tmp / "catalog.db", catalog


def test_the_comparison_sees_every_difference_but_when(clean, tmp_path):
    """The control: catalog_dump() is not blind. A changed value, an extra child row, a lost
    paper or a removal make a catalog differ from the clean one; when rows were seen does not."""
    path, want = clean
    changes = {
        "a changed value": "UPDATE models SET downloads = downloads + 1 WHERE id = (SELECT min(id) FROM models)",
        # (a duplicate cannot even be written: every catalog table has a primary key)
        "an extra child row": "INSERT INTO model_datasets (model_id, dataset_id, role, raw, source) "
                              "SELECT model_id, 'extra', role, raw, source FROM model_datasets LIMIT 1",
        "a lost paper": "DELETE FROM papers WHERE id = (SELECT max(id) FROM papers)",
        "a removal": "UPDATE models SET removed_at = last_seen WHERE id = (SELECT max(id) FROM models)",
        None: "UPDATE models SET last_seen = '2030-01-01T00:00:00Z', record_hash = 'x'",
    }
    for what, sql in changes.items():
        copy = tmp_path / "copy.db"
        with sqlite3.connect(path) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)  # the -wal's pages too
        with sqlite3.connect(copy) as conn:
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute(sql)
        assert (catalog_dump(copy) == want) is (what is None), what
        copy.unlink()


def test_a_faulty_night_gives_the_clean_catalog(world, clean, tmp_path, monkeypatch, waits):
    injected: collections.Counter = collections.Counter()
    requests = 0
    for seed in range(SEEDS):
        waits.clear()
        with ExitStack() as stack:
            proxies = {name: stack.enter_context(FaultProxy(replay, seed=seed, rate=0.2, stall=2 * TIMEOUT,
                                                            retry_after=RETRY_AFTER))
                       for name, replay in world.items()}
            point_at(monkeypatch, tmp_path, proxies)
            results = run(tmp_path / f"seed{seed}.db", tmp_path / f"cache{seed}")
        faults = sum((p.faults() for p in proxies.values()), collections.Counter())
        assert statuses(results) == dict.fromkeys(NETWORK, "ok"), (seed, [(r.source, r.error) for r in results])
        assert_same_catalog(catalog_dump(tmp_path / f"seed{seed}.db"), clean[1], f"seed {seed}")
        # every 429 was waited out for exactly the Retry-After it sent (huggingface_hub adds 1 s)
        assert sum(1 for w in waits if w in (RETRY_AFTER, RETRY_AFTER + 1)) == faults["429"], (seed, faults, waits)
        injected += faults
        requests += sum(p.requests() for p in proxies.values())
    print(f"\nfaults: {SEEDS} seeds, {requests} requests, {sum(injected.values())} faults injected "
          f"({', '.join(f'{k} {injected[k]}' for k in KINDS)}); catalogs equal to the clean run: {SEEDS}/{SEEDS}")
    assert sum(injected.values()) >= 0.12 * requests  # the proxy really was that bad
    if SEEDS >= 3:
        assert all(injected[k] for k in KINDS), injected  # and every kind of fault happened


def test_a_source_that_keeps_failing_is_reported_and_keeps_its_rows(world, tmp_path, monkeypatch, waits):
    """A night when every request fails, however often it is retried: each source is marked
    failed with its error, the run exits non-zero, and the catalog is exactly as it was."""
    db = tmp_path / "catalog.db"
    point_at(monkeypatch, tmp_path, world)
    assert statuses(run(db, tmp_path / "cache")) == dict.fromkeys(NETWORK, "ok")
    before = catalog_dump(db)
    with ExitStack() as stack:
        proxies = {name: stack.enter_context(FaultProxy(replay, seed=0, rate=1.0, max_consecutive=10**6,
                                                        kinds=("500", "503", "reset", "garbage")))
                   for name, replay in world.items()}
        point_at(monkeypatch, tmp_path, proxies)
        results = run(db, tmp_path / "cache", stale_days=-1)  # every paper is due again
    assert statuses(results) == dict.fromkeys(NETWORK, "failed"), [(r.source, r.error) for r in results]
    assert all(r.error for r in results)
    assert catalog_dump(db) == before
    runs = sqlite3.connect(db).execute(
        "SELECT source, status, error FROM runs WHERE id IN (SELECT max(id) FROM runs GROUP BY source)").fetchall()
    assert {s: st for s, st, _ in runs} == dict.fromkeys(NETWORK, "failed") and all(e for *_, e in runs)
