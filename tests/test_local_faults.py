"""Local faults get the care network faults get (issue #31): a full disk at many points of a
first import and of a nightly refresh, for every source with checkpoints (hf, github, torchhub, arxiv),
each followed by a recovery run once there is room again. Every time:

- the recovered catalog equals a clean one, row for row (no page lost to a cursor saved without
  its rows: the cause of the lost page was a Checkpoint that kept a reference to the Hub source's
  sweep state, which fetch() had moved on by the time the writer saved it);
- the error is one line that names the fault, the catalog and the fix (exit 1 from the CLI);
- no run stays `running`: the failed one says `failed` and why.

SQLite's `PRAGMA max_page_count` makes the catalog full anywhere without root (the fault comes
from a statement); where this process may mount a tmpfs, a small real filesystem fills too (the
fault comes from a COMMIT or the WAL): see test_a_small_real_filesystem_fills_and_recovers.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from dbrows import assert_same_catalog, catalog_dump
from indexer.errors import LocalFault
from indexer.localfault import Reserve, check_space, local_fault
from indexer.refresh import refresh
from indexer.sources.base import Checkpoint
from indexer.store import Catalog
from replay.hub import HubReplay
from replay.synth import synthetic_models

HF_MODELS, HF_PAGE = 3000, 150  # past pipeline.START_AFTER: a normalize worker, and fetch() running ahead
SCALE = float(os.environ.get("MODELCAT_LOCAL_FAULT_SCALE", "1"))
POINTS = max(3, round(8 * SCALE))  # places the disk fills, spread over the run


def hf_config(page=HF_PAGE):
    return {"hf": {"page_size": page}}


@pytest.fixture(scope="module")
def hub():
    with HubReplay(synthetic_models(HF_MODELS, seed=31), page_size=HF_PAGE) as server:
        yield server


@pytest.fixture
def hub_env(hub, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return hub


_CONFIGURE = Catalog._configure


def limit_pages(monkeypatch, pages: int | None):
    """Every catalog connection this process opens from now on is full at `pages` pages."""

    def configure(self):
        _CONFIGURE(self)
        if pages is not None and not self.readonly:
            self.conn.execute(f"PRAGMA max_page_count = {int(pages)}")

    monkeypatch.setattr(Catalog, "_configure", configure)


def page_count(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA page_count").fetchone()[0]
    finally:
        conn.close()


def run_rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT source, status, error FROM runs ORDER BY id").fetchall()
    finally:
        conn.close()


def fill_points(empty: int, full: int) -> list[int]:
    return sorted({empty + (full - empty) * k // (POINTS + 1) for k in range(1, POINTS + 1)})


def check_fault(fault: LocalFault, db: Path) -> None:
    msg = str(fault)
    assert "\n" not in msg and str(db) in msg and "modelcat refresh" in msg, msg
    assert "could not grow" in msg or "is full" in msg, msg


def check_runs(db: Path) -> None:
    rows = run_rows(db)
    assert not [r for r in rows if r[1] == "running"], rows
    for source, status, error in rows:
        if status == "failed":
            assert "\n" not in error and ("could not grow" in error or "is full" in error), error


# ---------------------------------------------------------------------- the cause, alone
def test_a_checkpoint_keeps_the_state_it_was_made_with():
    sweep = {"seen": 1000, "queries": [{"next": "cursor-2"}]}
    cp = Checkpoint({"sweep": sweep})
    sweep["seen"] += 1000  # fetch() runs ahead while the writer still holds the checkpoint
    sweep["queries"][0]["next"] = "cursor-3"
    assert cp.state == {"sweep": {"seen": 1000, "queries": [{"next": "cursor-2"}]}}


# ---------------------------------------------------------------------- the Hub
@pytest.fixture(scope="module")
def hf_clean(hub, tmp_path_factory):
    """A clean first import, a clean nightly refresh after 60 changes, and their page counts."""
    folder = tmp_path_factory.mktemp("clean")
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_ENDPOINT", hub.url)
    try:
        empty = folder / "empty.db"
        Catalog.open(empty).close()
        db = folder / "c.db"
        [r] = refresh(db, ["hf"], config=hf_config())
        assert r.status == "ok"
        first = catalog_dump(db)
        shutil.copy(db, folder / "first.db")
        return {"first": first, "first_db": folder / "first.db", "empty_pages": page_count(empty),
                "full_pages": page_count(db)}
    finally:
        mp.undo()


def test_a_full_disk_anywhere_in_a_first_hub_import_loses_nothing(hub_env, hf_clean, tmp_path, monkeypatch, commit_each_page):
    points = fill_points(hf_clean["empty_pages"], hf_clean["full_pages"])
    failed_at = []
    for i, pages in enumerate(points):
        db = tmp_path / f"c{i}.db"
        limit_pages(monkeypatch, pages)
        with pytest.raises(LocalFault) as e:
            refresh(db, ["hf"], config=hf_config())
        check_fault(e.value, db)
        conn = sqlite3.connect(db)
        failed_at.append(conn.execute("SELECT count(*) FROM models").fetchone()[0])
        conn.close()
        limit_pages(monkeypatch, None)
        [r] = refresh(db, ["hf"], config=hf_config())  # room again: the same command
        assert r.status == "ok", r.error
        assert_same_catalog(catalog_dump(db), hf_clean["first"], f"full at {pages} pages, then recovered")
        check_runs(db)
        assert [s for _, s, _ in run_rows(db)] == ["failed", "ok"]
        with Catalog.open(db, readonly=True, create=False) as cat:
            assert [(r.name, r.examples) for r in cat.check(quick=True) if not r.ok] == []
    assert len(set(failed_at)) >= min(3, len(points)), failed_at  # the faults fell at different pages


def test_a_full_disk_in_a_nightly_refresh_loses_nothing(hub, hub_env, hf_clean, tmp_path, monkeypatch):
    """The nightly run commits once, at its end: a fault anywhere in it leaves last night's
    catalog, and the next run redoes the night from the watermark."""
    db = tmp_path / "c.db"
    clean = tmp_path / "clean.db"
    for repo in hub.ids()[200:260]:  # (the module's Hub stays changed: later tests import it whole)
        hub.touch(repo)
    shutil.copy(hf_clean["first_db"], clean)
    [r] = refresh(clean, ["hf"], config=hf_config())
    assert r.status == "ok" and r.details["mode"] == "incremental" and r.counts.updated >= 50
    want = catalog_dump(clean)
    probe = tmp_path / "probe.db"
    shutil.copy(hf_clean["first_db"], probe)
    counter = full_after(monkeypatch, None)
    refresh(probe, ["hf"], config=hf_config())
    writes = counter[0]
    for budget in sorted({1, 2, writes - 1, *(writes * k // (POINTS + 1) for k in range(1, POINTS + 1))}):
        shutil.copy(hf_clean["first_db"], db)
        full_after(monkeypatch, budget)
        with pytest.raises(LocalFault) as e:
            refresh(db, ["hf"], config=hf_config())
        check_fault(e.value, db)
        monkeypatch.setattr(Catalog, "_configure", _CONFIGURE)
        [r] = refresh(db, ["hf"], config=hf_config())
        assert r.status == "ok", r.error
        assert_same_catalog(catalog_dump(db), want, f"nightly, full after {budget} of {writes} writes, then recovered")
        check_runs(db)


def test_check_finds_a_saved_position_ahead_of_its_rows(hub_env, hf_clean, tmp_path):
    """What the lost page looked like: the sweep's count of kept models against the rows."""
    db = tmp_path / "c.db"
    shutil.copy(hf_clean["first_db"], db)
    with Catalog.open(db, readonly=True, create=False) as cat:
        assert [r for r in cat.check(quick=True) if not r.ok] == []
    conn = sqlite3.connect(db)
    ids = [r[0] for r in conn.execute("SELECT id FROM models WHERE source = 'hf' ORDER BY rowid LIMIT ? OFFSET 600",
                                      (HF_PAGE,))]
    conn.execute("PRAGMA foreign_keys = ON")
    conn.executemany("DELETE FROM models WHERE id = ?", [(i,) for i in ids])
    conn.commit()
    conn.close()
    out = subprocess.run([sys.executable, "-m", "indexer", "check", "--db", str(db), "--quick"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1
    assert ("hf: its full sweep since" in out.stdout and f"the catalog holds {HF_MODELS - HF_PAGE:,} of them: "
            "run `modelcat refresh --source hf --full` to read them again" in out.stdout), out.stdout


# ---------------------------------------------------------------------- GitHub and arXiv
def world_env(monkeypatch, world):
    monkeypatch.setenv("HF_ENDPOINT", world["hf"].url)
    monkeypatch.setenv("GITHUB_API_URL", world["github"].url)
    monkeypatch.setenv("ARXIV_API_URL", world["arxiv"].url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)


NETWORK = ("hf", "github", "torchhub", "arxiv")
WORLD_CONFIG = {"hf": {"page_size": 40}, "github": {"seconds_between_requests": 0},
                "torchhub": {"seconds_between_requests": 0}, "arxiv": {"delay_seconds": 0}}


def settle(db: Path) -> None:
    """Two runs: github reads the repositories arxiv's papers name the night after."""
    for _ in range(2):
        for r in refresh(db, NETWORK, config=WORLD_CONFIG):
            assert r.status == "ok", (r.source, r.error)


class _FullAfter:
    """A catalog connection whose write statements (and COMMITs) fail as a full disk's do once
    `budget` of them have run: a fault anywhere in a source that writes a few rows (GitHub's and
    arXiv's rows fit in pages the catalog already has, so a page limit would never bite)."""

    WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "COMMIT")

    def __init__(self, conn, counter: list):
        self._conn, self._counter = conn, counter

    def _check(self, sql: str) -> None:
        if sql.lstrip().upper().startswith(self.WRITES):
            self._counter[0] += 1
            if self._counter[1] is not None and self._counter[0] > self._counter[1]:
                raise sqlite3.OperationalError("database or disk is full")

    def execute(self, sql, *args):
        self._check(sql)
        return self._conn.execute(sql, *args)

    def executemany(self, sql, *args):
        self._check(sql)
        return self._conn.executemany(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def full_after(monkeypatch, budget: int | None) -> list:
    counter = [0, budget]

    def configure(self):
        _CONFIGURE(self)
        if not self.readonly:
            self.conn = _FullAfter(self.conn, counter)

    monkeypatch.setattr(Catalog, "_configure", configure)
    return counter


def test_a_full_disk_while_github_torchhub_and_arxiv_write_loses_nothing(world, tmp_path, monkeypatch):
    world_env(monkeypatch, world)
    clean = tmp_path / "clean.db"
    settle(clean)
    want = catalog_dump(clean)
    after_hf = tmp_path / "hf.db"
    [r] = refresh(after_hf, ["hf"], config=WORLD_CONFIG)
    assert r.status == "ok"
    probe = tmp_path / "probe.db"
    shutil.copy(after_hf, probe)
    counter = full_after(monkeypatch, None)
    for r in refresh(probe, NETWORK[1:], config=WORLD_CONFIG):
        assert r.status == "ok"
    writes = counter[0]
    assert writes > 20
    budgets = sorted({1, 3, writes - 1, *(writes * k // (POINTS + 1) for k in range(1, POINTS + 1))})
    for budget in budgets:
        db = tmp_path / f"c{budget}.db"
        shutil.copy(after_hf, db)
        full_after(monkeypatch, budget)
        with pytest.raises(LocalFault) as e:
            refresh(db, NETWORK[1:], config=WORLD_CONFIG)
        check_fault(e.value, db)
        monkeypatch.setattr(Catalog, "_configure", _CONFIGURE)
        settle(db)
        assert_same_catalog(catalog_dump(db), want, f"github/torchhub/arxiv, full after {budget} of {writes} writes, then recovered")
        check_runs(db)


# ---------------------------------------------------------------------- the pieces
def test_faults_are_named_in_one_line(tmp_path):
    db = tmp_path / "catalog.db"
    full = local_fault(db, sqlite3.OperationalError("database or disk is full"))
    assert isinstance(full, LocalFault) and "\n" not in str(full)
    io = local_fault(db, RuntimeError("wrapped"))
    assert io is None
    try:
        try:
            raise sqlite3.OperationalError("disk I/O error")
        except sqlite3.OperationalError as e:
            raise RuntimeError("during a page") from e
    except RuntimeError as e:
        io = local_fault(db, e)
    assert "an I/O error writing" in str(io) and str(db) in str(io)
    assert "out of memory" in str(local_fault(db, MemoryError()))
    assert "cannot write" in str(local_fault(db, PermissionError(13, "Permission denied")))
    assert "is full" in str(local_fault(db, OSError(28, "No space left on device"))) or \
        "could not grow" in str(local_fault(db, OSError(28, "No space left on device")))


def test_a_big_import_is_refused_at_once_when_the_disk_is_too_small(tmp_path):
    with pytest.raises(LocalFault, match=r"not enough free space for a first import .*B free; free space, "
                                         r"narrow the import .* --no-space-check"):
        check_space(tmp_path / "catalog.db", 1 << 60, "a first import of the whole Hub (about 2,400,000 models)")
    check_space(tmp_path / "catalog.db", 1, "a tiny import")


def test_the_hub_source_checks_the_space_a_whole_hub_import_needs(hub_env, tmp_path):
    db = tmp_path / "c.db"
    with pytest.raises(LocalFault, match="not enough free space for a first import of the whole Hub"):
        refresh(db, ["hf"], config={"hf": {"page_size": HF_PAGE, "expected_models": 10 ** 15}})
    assert [s for _, s, _ in run_rows(db)] == ["failed"]
    [r] = refresh(db, ["hf"], config={"hf": {"page_size": HF_PAGE, "expected_models": 10 ** 15}},
                  space_check=False)
    assert r.status == "ok"
    # a filtered import has no known size: nothing to check
    [r] = refresh(tmp_path / "d.db", ["hf"], config={"hf": {"page_size": HF_PAGE, "expected_models": 10 ** 15,
                                                           "authors": ["timm"]}})
    assert r.status == "ok"


def test_the_reserve_is_real_space_and_is_given_back(tmp_path):
    db = tmp_path / "catalog.db"
    with Reserve(db) as reserve:
        assert reserve.path.stat().st_size > 0 and reserve.path.stat().st_blocks > 0
        reserve.release()
        assert not reserve.path.exists()
    assert not reserve.path.exists()


def test_the_cli_says_it_in_one_line_and_exits_1(hub_env, tmp_path):
    db = tmp_path / "c.db"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    out = subprocess.run([sys.executable, "-m", "indexer", "refresh", "--db", str(db), "--source", "hf"],
                         capture_output=True, text=True, timeout=300, env={**env, "MODELCAT_CONFIG": str(
                             _toml(tmp_path, {"page_size": HF_PAGE, "expected_models": 10 ** 15}))})
    assert out.returncode == 1
    lines = [x for x in out.stderr.replace("\r", "\n").splitlines() if x.startswith("Error")]
    assert len(lines) == 1 and "not enough free space" in lines[0], out.stderr[-2000:]
    assert "Traceback" not in out.stderr


def _toml(folder: Path, hf: dict) -> Path:
    path = folder / "m.toml"
    path.write_text("[hf]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in hf.items()))
    return path


# ---------------------------------------------------------------------- a real small filesystem
def _can_mount() -> bool:
    if sys.platform != "linux" or shutil.which("mount") is None or os.geteuid() != 0:
        return False
    return True


@pytest.mark.skipif(not _can_mount(), reason="needs root to mount a small tmpfs (the max_page_count tier ran)")
def test_a_small_real_filesystem_fills_and_recovers(hub, tmp_path):
    """The issue's scenario, smaller: a first Hub import into a tmpfs too small for it (the fault
    comes from the WAL or a COMMIT, not a statement), then the same command with room again."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    env = dict(os.environ, HF_ENDPOINT=hub.url, PYTHONPATH=str(Path(__file__).resolve().parent.parent),
               MODELCAT_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("HF_TOKEN", None)
    config = _toml(tmp_path, {"page_size": HF_PAGE})
    clean = tmp_path / "clean.db"
    done = subprocess.run([sys.executable, "-m", "indexer", "refresh", "--db", str(clean), "--source", "hf",
                           "--config", str(config)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    want = catalog_dump(clean)
    sizes = [1.5, 2.5, 3.5] if SCALE < 1 else [1.5, 2, 2.5, 3, 3.5, 4.5]
    for mb in sizes:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={int(mb * 1024)}k", "tmpfs", str(mnt)],
                          capture_output=True).returncode != 0:
            pytest.skip("this machine will not mount a tmpfs here")
        try:
            db = mnt / "catalog.db"
            cmd = [sys.executable, "-m", "indexer", "refresh", "--db", str(db), "--source", "hf", "--config", str(config)]
            first = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
            if first.returncode == 0:
                continue  # it fitted: nothing to recover
            lines = [x for x in first.stderr.replace("\r", "\n").splitlines() if x.startswith("Error")]
            assert len(lines) == 1 and "is full" in lines[0] and str(db) in lines[0], first.stderr[-2000:]
            assert "Traceback" not in first.stderr
            subprocess.run(["mount", "-o", "remount,size=200m", str(mnt)], check=True)
            again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
            assert again.returncode == 0, again.stderr[-2000:]
            assert_same_catalog(catalog_dump(db), want, f"a {mb} MB tmpfs, then room again")
            check_runs(db)
        finally:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
