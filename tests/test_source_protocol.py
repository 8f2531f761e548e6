"""Every registered source follows the one protocol: fetch raw dicts, normalize each, write,
and a second run changes nothing."""

import json

import pytest

from conftest import dump
from indexer.records import ModelRecord
from indexer.refresh import refresh
from indexer.sources import BUILTIN, get_source
from indexer.sources.base import FetchContext


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_source_protocol(name, tmp_path, session_cache):
    source = get_source(name)
    assert source.name == name
    ctx = FetchContext(cache_dir=session_cache)
    ids = set()
    for raw in source.fetch(ctx):
        json.dumps(raw)  # raw records are plain JSON data (they are cached and logged)
        rec = source.normalize(raw)
        assert isinstance(rec, ModelRecord)
        assert rec.source == name and rec.id.startswith(f"{name}:") and rec.id not in ids
        ids.add(rec.id)
    assert ids

    db = tmp_path / "c.db"
    [first] = refresh(db, [name], cache=session_cache)
    assert (first.status, first.counts.new, first.counts.skipped) == ("ok", len(ids), 0)
    before = dump(db)
    [second] = refresh(db, [name], cache=session_cache)
    assert (second.counts.new, second.counts.updated, second.counts.unchanged) == (0, 0, len(ids))
    assert dump(db) == before
