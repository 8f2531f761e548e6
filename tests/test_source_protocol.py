"""Every registered source follows the one protocol: fetch raw dicts, normalize each, write,
and a second run changes nothing."""

import contextlib
import json

import pytest

from conftest import dump
from indexer.records import ModelRecord
from indexer.refresh import refresh
from indexer.sources import BUILTIN, get_source
from indexer.sources.base import Checkpoint, FetchContext, Seen
from replay.hub import HubReplay
from replay.synth import synthetic_models


@contextlib.contextmanager
def replay_hub(monkeypatch):
    with HubReplay(synthetic_models(300, seed=3), page_size=100) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        yield


# what a network source needs to run here: a local replay of its service
LOCAL_SERVICE = {"hf": replay_hub}


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_source_protocol(name, tmp_path, session_cache, monkeypatch):
    source = get_source(name)
    assert source.name == name
    assert not source.needs_network or name in LOCAL_SERVICE, f"{name} needs a replay in LOCAL_SERVICE"
    with LOCAL_SERVICE.get(name, contextlib.nullcontext)(monkeypatch) if name in LOCAL_SERVICE \
            else contextlib.nullcontext():
        check_protocol(name, source, tmp_path, session_cache)


def check_protocol(name, source, tmp_path, session_cache):
    ctx = FetchContext(cache_dir=session_cache)
    ids = set()
    for raw in source.fetch(ctx):
        if isinstance(raw, (Checkpoint, Seen)):
            json.dumps(getattr(raw, "state", None))  # state is stored as JSON
            continue
        json.dumps(raw)  # raw records are plain JSON data (they are cached and logged)
        rec = source.normalize(raw)
        assert isinstance(rec, ModelRecord)
        assert rec.source == name and rec.id.startswith(f"{name}:") and rec.id not in ids
        ids.add(rec.id)
    assert ids

    db = tmp_path / "c.db"
    [first] = refresh(db, [name], cache=session_cache)
    assert (first.status, first.counts.new, first.counts.skipped) == ("ok", len(ids), 0), first.error
    before = dump(db)
    [second] = refresh(db, [name], cache=session_cache)
    assert (second.counts.new, second.counts.updated) == (0, 0)
    # a full-listing source reads everything again; an incremental one only what may have changed
    assert second.counts.unchanged == len(ids) if source.full_listing else second.counts.unchanged <= len(ids)
    assert dump(db) == before
