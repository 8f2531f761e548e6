"""Catalog ids have one home (issue #24 part 2): their kind comes from indexer.ids, the catalog's
API finds any id, names similar ones and the latest runs; the CLI holds no SQL of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.errors import NotFound
from indexer.ids import id_kind, id_table, is_model_id
from indexer.refresh import refresh
from indexer.store import Catalog

ROOT = Path(__file__).resolve().parents[1]


def test_the_kind_of_an_id_comes_from_its_prefix():
    assert [id_kind(i) for i in ("timm:resnet18.a1_in1k", "hf:o/n", "arxiv:2010.11929", "GitHub:pytorch/vision",
                                 "torchhub:pytorch/vision:resnet18", "no-prefix")] == \
        ["model", "model", "paper", "repository", "model", "model"]
    assert id_table("arxiv:1") == "papers" and id_table("github:a/b") == "repos" and id_table("hf:a/b") == "models"
    assert is_model_id("hf:a/b") and not is_model_id("arxiv:1")


def test_find_require_and_similar_ids(tmp_path, list_source):
    db = tmp_path / "c.db"
    list_source("a", [{"name": "res_net18"}, {"name": "resxnet18"}, {"name": "vit"}])
    refresh(db, ["a"])
    with Catalog.open(db, readonly=True, create=False) as cat:
        assert cat.find("a:vit")[0] == "model" and cat.find("a:vit")[1]["id"] == "a:vit"
        assert cat.find("arxiv:1234.5678") == ("paper", None)
        # `_` is matched as itself, not as any character
        assert cat.similar_ids("a:_net") == ["a:res_net18"]
        assert cat.similar_ids("a:net18") == ["a:res_net18", "a:resxnet18"]
        assert cat.similar_ids("a:vi") == []  # under 3 characters: no guess
        with pytest.raises(NotFound, match=r"no model 'a:net' in the catalog \(similar: a:res_net18, a:resxnet18\)"):
            cat.require("a:net")
        with pytest.raises(NotFound, match=r"no model 'a:zz' in the catalog \(`modelcat search` finds ids\)"):
            cat.require("a:zz")
        with pytest.raises(NotFound, match=r"^no repository 'github:x/y' in the catalog$"):
            cat.require("github:x/y")
        runs = cat.latest_runs()
        assert set(runs) == {"a"} and runs["a"]["status"] == "ok"


def test_the_cli_holds_no_sql():
    text = (ROOT / "indexer" / "cli.py").read_text()
    assert not re.search(r"\.execute\(|\.conn\b|\bSELECT\b|\bINSERT\b|\bUPDATE\b|\bDELETE\b", text)
