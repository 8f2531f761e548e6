"""Shared fixtures.

The timm parameter counts are computed cold once per test session (in a session cache dir) and
the full catalog (timm + torchvision) is built once; tests that change a catalog copy it first.
"""

from __future__ import annotations

import importlib

import os
import sqlite3
from pathlib import Path

import pytest

from indexer.normalize.links import github_repo_ids
from indexer.records import DatasetLink, ModelRecord, PaperLink, RepoLink
from indexer.sources import register_source, unregister_source
from indexer.sources.base import Source

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = Path(os.environ.get("MODELCAT_SHARED_FIXTURES", ROOT.parent / "shared" / "fixtures-raw"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, session_cache):
    """No test reads the user's catalog or writes the user's cache."""
    monkeypatch.delenv("MODELCAT_DB", raising=False)
    monkeypatch.setenv("MODELCAT_CACHE_DIR", str(session_cache))


@pytest.fixture
def commit_each_page(monkeypatch):
    """Every Checkpoint commits (a run commits at most every refresh.COMMIT_EVERY_S otherwise):
    for the tests of what a run stopped after page k keeps, whose catalogs take well under that
    long. The gate itself: test_refresh.py."""
    monkeypatch.setattr(importlib.import_module("indexer.refresh"), "COMMIT_EVERY_S", 0.0)
    monkeypatch.setenv("MODELCAT_COMMIT_EVERY_S", "0")  # and in the refreshes a test starts as processes


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("modelcat-cache")


def one_source_catalog(tmp_path_factory, cache, name: str) -> Path:
    """A catalog refreshed from one offline source (its run must end ok)."""
    from indexer.refresh import refresh

    db = tmp_path_factory.mktemp(name) / "catalog.db"
    [result] = refresh(db, [name], cache=cache)
    assert result.status == "ok", result.error
    return db


@pytest.fixture(scope="session")
def built_catalog(tmp_path_factory, session_cache) -> Path:
    """A catalog refreshed from timm and torchvision (the first refresh counts timm cold)."""
    from indexer.refresh import refresh

    path = tmp_path_factory.mktemp("catalog") / "catalog.db"
    results = refresh(path, ["timm", "torchvision"], cache=session_cache)
    assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
    return path


@pytest.fixture
def catalog_copy(built_catalog, tmp_path) -> Path:
    """A private copy of the built catalog, for tests that write."""
    dst = tmp_path / "catalog.db"
    src = sqlite3.connect(built_catalog)
    out = sqlite3.connect(dst)
    src.backup(out)
    src.close()
    out.close()
    return dst


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """../shared/fixtures-raw: skipped where absent, except under CI=true where it must exist."""
    if not SHARED_FIXTURES.is_dir():
        if IN_CI:
            pytest.fail(f"CI=true but the shared fixtures are missing at {SHARED_FIXTURES}")
        pytest.skip(f"shared fixtures not found at {SHARED_FIXTURES} (the conformance tier needs them)")
    return SHARED_FIXTURES


# ---------------------------------------------------------------------- a source for tests
class ListSource(Source):
    """A source over a list of raw dicts; `fail_after` raises after yielding that many."""

    def __init__(self, name: str, raws: list[dict], *, fail_after: int | None = None,
                 unavailable: str | None = None, full_listing: bool = True):
        self.name = name  # instance attribute shadows the ClassVar, one class serves many names
        self.raws = raws
        self.fail_after = fail_after
        self.unavailable = unavailable
        self.full_listing = full_listing
        self.fetches = 0

    def fetch(self, ctx):
        from indexer.errors import SourceUnavailable

        self.fetches += 1
        if self.unavailable:
            raise SourceUnavailable(self.unavailable)
        for i, raw in enumerate(self.raws):
            if self.fail_after is not None and i == self.fail_after:
                raise ConnectionError("connection reset by peer (injected)")
            yield raw

    def normalize(self, raw):
        from indexer.errors import SkipRecord

        if raw.get("skip"):
            raise SkipRecord(raw["skip"])
        return ModelRecord(
            id=f"{self.name}:{raw['name']}", source=self.name, name=raw["name"],
            task=raw.get("task"), num_params=raw.get("num_params"),
            size_bytes=raw.get("size_bytes"), description=raw.get("description"),
            tags=raw.get("tags", []),
            papers=[PaperLink(f"arxiv:{i}", i) for i in raw.get("papers", [])],
            repos=[RepoLink(ident, url) for url in raw.get("repos", []) for ident, _ in github_repo_ids(url)],
            datasets=[DatasetLink(d, "train", d) for d in raw.get("datasets", [])],
            entity_id=raw.get("entity_id"),
        )


@pytest.fixture
def list_source():
    """register(name, raws, cls=ListSource, **kw) -> the source, registered for the test's duration."""
    names = []

    def register(name, raws, *, cls=None, **kw):
        src = (cls or ListSource)(name, raws, **kw)
        register_source(name, lambda: src)
        names.append(name)
        return src

    yield register
    for n in names:
        unregister_source(n)


def dump(db: Path, *, ignore=("last_seen", "fetched_at")) -> dict[str, list[tuple]]:
    """Every row of every catalog table (minus bookkeeping columns), for before/after compares."""
    conn = sqlite3.connect(db)
    out = {}
    for table in ("models", "model_datasets", "metrics", "papers", "model_papers", "datasets", "repos",
                  "model_repos", "paper_repos", "model_relations", "model_aliases"):
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info([{table}])") if r[1] not in ignore]
        out[table] = sorted(conn.execute(f"SELECT {', '.join(cols)} FROM [{table}]").fetchall(), key=repr)
    conn.close()
    return out



# ---------------------------------------------------------------------- the loader's world
@pytest.fixture(scope="session")
def loader_artifacts(tmp_path_factory):
    """Tiny real models saved as their libraries save them (tests/replay/models.py), built once."""
    from replay.models import build_artifacts

    return build_artifacts(tmp_path_factory.mktemp("loader-artifacts"))


@pytest.fixture(scope="session")
def loader_catalog(tmp_path_factory) -> Path:
    """A catalog whose rows are the served tiny models (and some that cannot be loaded)."""
    from replay.models import write_catalog

    return write_catalog(tmp_path_factory.mktemp("loader-catalog") / "catalog.db")


@pytest.fixture
def loader_env(loader_artifacts, loader_catalog, monkeypatch, tmp_path):
    """The Hub (a local HubFiles) serving the tiny models, huggingface_hub / timm / transformers
    pointed at it with an empty cache, TORCH_HOME holding the torchvision checkpoints and the
    PyTorch Hub repositories, MODELCAT_DB = the loader catalog."""
    from types import SimpleNamespace

    from replay.hubfiles import HubFiles, point_clients_at
    from replay.models import register_openclip_pair, register_torchaudio_bundle, seed_torch_home, serve

    with HubFiles() as hub:
        serve(hub, loader_artifacts)
        register_openclip_pair(monkeypatch)
        register_torchaudio_bundle(monkeypatch)
        point_clients_at(monkeypatch, hub.url, tmp_path / "hf")
        torch_home = seed_torch_home(tmp_path / "torch", loader_artifacts)
        monkeypatch.setenv("TORCH_HOME", str(torch_home))
        monkeypatch.setenv("TINYHUB_WEIGHTS_URL",
                           f"{hub.url}/acme/tinyhub-weights/resolve/main/{loader_artifacts.tinynet_weights.name}")
        monkeypatch.setenv("TINYHUB_MARKER", str(tmp_path / "hubconf-ran"))
        monkeypatch.setenv("MODELCAT_DB", str(loader_catalog))
        monkeypatch.delenv("MODELCAT_TRUSTED_REPOS", raising=False)
        yield SimpleNamespace(hub=hub, art=loader_artifacts, db=loader_catalog, tmp=tmp_path,
                              torch_home=torch_home, hubconf_marker=tmp_path / "hubconf-ran",
                              pickle_marker=loader_artifacts.root / "PWNED")


@pytest.fixture(scope="module")
def world():
    """The network sources' replays, filled: a Hub of 240 synthetic models (pages of 40), the
    GitHub and arXiv worlds their links lead to (replay/world.py), an NGC catalog of 30 models, a
    Kaggle one of 30 (38 variations)."""
    from replay.arxiv import ArxivReplay
    from replay.github import GitHubReplay
    from replay.hub import HubReplay
    from replay.kaggle import KaggleReplay, kaggle_instance, kaggle_model
    from replay.ngc import NgcReplay, ngc_model
    from replay.synth import synthetic_models
    from replay.world import build_arxiv, build_github

    ngc_models = [ngc_model(f"nvidia/{('tao', 'nemo', 'riva')[i % 3]}/model_{i:02d}",
                            dateModified=f"2026-09-{1 + i % 28:02d}T04:00:{i:02d}.000Z") for i in range(30)]
    kaggle_models = [kaggle_model(f"{('google', 'keras')[i % 2]}/model-{i:02d}",
                                  [kaggle_instance("base", ("pyTorch", "keras", "tfLite")[i % 3])]
                                  + ([kaggle_instance("large", "transformers")] if i % 4 == 0 else []))
                     for i in range(30)]
    with HubReplay(synthetic_models(240), page_size=40) as hub, GitHubReplay() as gh, ArxivReplay() as ax, \
            NgcReplay(ngc_models) as ngc, KaggleReplay(kaggle_models) as kaggle:
        build_github(gh)
        build_arxiv(ax)
        yield {"hf": hub, "github": gh, "arxiv": ax, "ngc": ngc, "kaggle": kaggle}
