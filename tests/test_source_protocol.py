"""Every registered source follows the one protocol: fetch raw dicts, normalize each, write,
and a second run changes nothing."""

import contextlib
import json

import pytest

from conftest import dump
from indexer.records import ModelRecord, PaperRecord, PaperResultsRecord, RepoRecord
from indexer.refresh import refresh
from indexer.sources import BUILTIN, get_source
from indexer.sources.base import Checkpoint, FetchContext, Seen
from replay.arxiv import ArxivReplay
from replay.github import GitHubReplay
from replay.hub import HubReplay
from replay.synth import synthetic_models
from replay.world import build_arxiv, build_github


@contextlib.contextmanager
def replay_hub(monkeypatch):
    with HubReplay(synthetic_models(300, seed=3), page_size=100) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        yield {}


@contextlib.contextmanager
def replay_github(monkeypatch):
    with GitHubReplay() as gh:
        build_github(gh)
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        yield {"max_rate_limit_wait": 5, "seconds_between_requests": 0}


@contextlib.contextmanager
def replay_arxiv(monkeypatch):
    with ArxivReplay() as ax:
        build_arxiv(ax)
        monkeypatch.setenv("ARXIV_API_URL", ax.url)
        # with no catalog to name papers, a search finds them
        yield {"searches": ["cat:cs.CV OR cat:cs.LG"], "search_since_days": 20000, "delay_seconds": 0}


@contextlib.contextmanager
def replay_ngc(monkeypatch):
    from replay.ngc import NgcReplay, ngc_model

    models = [ngc_model(f"nvidia/tao/model_{i:02d}", dateModified=f"2026-09-{1 + i:02d}T00:00:00.000Z") for i in range(25)]
    with NgcReplay(models) as ngc:
        monkeypatch.setenv("NGC_API_URL", ngc.url)
        monkeypatch.delenv("NGC_API_KEY", raising=False)
        yield {"page_size": 10}


@contextlib.contextmanager
def replay_kaggle(monkeypatch):
    from replay.kaggle import KaggleReplay, kaggle_instance, kaggle_model

    models = [kaggle_model(f"google/model-{i:02d}", [kaggle_instance("base", ("pyTorch", "keras", "jax")[i % 3])])
              for i in range(25)]
    with KaggleReplay(models) as kaggle:
        monkeypatch.setenv("KAGGLE_API_URL", kaggle.url)
        for var in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("KAGGLE_CONFIG_DIR", "/nonexistent/kaggle-config")
        yield {"page_size": 10}


@contextlib.contextmanager
def replay_pwc(monkeypatch):
    from replay.pwc import serving_archive

    with serving_archive(monkeypatch):
        yield {}


# what a network source needs to run here: a local replay of its service, and its settings there
LOCAL_SERVICE = {"hf": replay_hub, "github": replay_github, "torchhub": replay_github, "arxiv": replay_arxiv,
                 "pwc": replay_pwc, "ngc": replay_ngc, "kaggle": replay_kaggle}
# a paper's results are keyed by its arXiv id, else by its page in the archive
PREFIX = {ModelRecord: ("{name}:",), RepoRecord: ("github:",), PaperRecord: ("arxiv:",),
          PaperResultsRecord: ("arxiv:", "https://paperswithcode.com/paper/")}


@pytest.mark.parametrize("name", list(BUILTIN))
def test_source_protocol(name, tmp_path, session_cache, monkeypatch):
    source = get_source(name)
    assert source.name == name
    assert not source.needs_network or name in LOCAL_SERVICE, f"{name} needs a replay in LOCAL_SERVICE"
    with LOCAL_SERVICE[name](monkeypatch) if name in LOCAL_SERVICE else contextlib.nullcontext({}) as config:
        check_protocol(name, source, tmp_path, session_cache, config)


def check_protocol(name, source, tmp_path, session_cache, config):
    ctx = FetchContext(cache_dir=session_cache, config=dict(config))
    ids = set()
    for raw in source.fetch(ctx):
        if isinstance(raw, (Checkpoint, Seen)):
            json.dumps(getattr(raw, "state", None))  # state is stored as JSON
            continue
        json.dumps(raw)  # raw records are plain JSON data (they are cached and logged)
        out = source.normalize(raw)
        for rec in out if isinstance(out, list) else [out]:
            assert isinstance(rec, (ModelRecord, PaperRecord, RepoRecord, PaperResultsRecord))
            assert rec.source == name and rec.id.startswith(tuple(p.format(name=name) for p in PREFIX[type(rec)])), rec.id
            assert rec.id not in ids
            ids.add(rec.id)
    assert ids
    json.dumps(ctx.state)

    db = tmp_path / "c.db"
    [first] = refresh(db, [name], cache=session_cache, config={name: config})
    assert (first.status, first.counts.new, first.counts.skipped) == ("ok", len(ids), 0), first.error
    before = dump(db)
    [second] = refresh(db, [name], cache=session_cache, config={name: config})
    assert (second.counts.new, second.counts.updated) == (0, 0)
    # a full-listing source reads everything again; an incremental one only what may have changed
    assert second.counts.unchanged == len(ids) if source.full_listing else second.counts.unchanged <= len(ids)
    assert dump(db) == before
