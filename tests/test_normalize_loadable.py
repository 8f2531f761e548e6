"""Loadability (normalize/loadable.py, schema/loaders.yml): which rows load_model can build,
decided at refresh time and stored, so search and Datasette can filter and facet on it."""

from __future__ import annotations

import json
import sqlite3

import pytest

from indexer.normalize.loadable import loadability
from indexer.normalize.tables import load_table
from indexer.records import ModelRecord
from indexer.store import Catalog


@pytest.mark.parametrize("source, library, tags, backend", [
    ("timm", "timm", [], "timm"),
    ("torchvision", "torchvision", [], "torchvision"),
    ("torchhub", "torch.hub", [], "torchhub"),
    ("hf", "timm", ["timm", "pytorch", "safetensors"], "timm"),
    ("hf", "TIMM", [], "timm"),
    ("hf", "transformers", ["transformers", "pytorch", "bert"], "transformers"),
    ("hf", "transformers", ["safetensors"], "transformers"),
    ("hf", "transformers", ["PyTorch", "TF"], "transformers"),  # tags in any case; torch weights win
    ("hf", "transformers", [], "transformers"),  # formats not listed: not refused on no evidence
    ("hf", "sentence-transformers", ["transformers", "safetensors"], "transformers"),
    ("hf", None, ["transformers", "pytorch"], "transformers"),
])
def test_loadable_rows_and_their_backend(source, library, tags, backend):
    found = loadability(source, library, tags)
    assert (found.loadable, found.backend) == (True, backend)


@pytest.mark.parametrize("library, tags, why", [
    ("gguf", ["gguf"], "GGUF weights (llama.cpp format): run it with llama.cpp"),
    ("onnx", ["onnx"], "ONNX weights: run it with onnxruntime"),
    ("mlx", [], "MLX weights"),
    ("diffusers", ["diffusers"], "diffusers pipeline"),
    ("peft", ["peft"], "PEFT adapter"),
    ("sentence-transformers", ["sentence-transformers"], "load it with sentence_transformers"),
    ("keras", [], "Keras weights"),
    ("transformers", ["tf"], "TensorFlow weights only"),
    ("transformers", ["jax", "flax"], "JAX/Flax weights only"),
    ("transformers", ["gguf"], "GGUF weights"),
    ("transformers", ["onnx"], "ONNX weights"),
    ("espnet", [], "library 'espnet': modelcat loads timm, transformers and open_clip repositories only"),
    (None, [], "no library tag"),
    (None, ["gguf", "text-generation"], "GGUF"),
])
def test_rows_that_are_not_loadable_say_why_and_what_to_do(library, tags, why):
    found = loadability("hf", library, tags)
    assert found.loadable is False and found.backend is None
    assert why in found.note


def test_every_refusal_in_the_table_names_a_fix():
    table = load_table("loaders")
    for key, entry in table["not_loadable"].items():
        assert entry.get("reason") and entry.get("fix"), key
        found = loadability("hf", key, [key])
        assert found.loadable is False and entry["fix"] in found.note
    # every backend the table names is one the loader has, and each of the loader's is named
    from indexer.loader.api import BACKENDS

    named = set(table["sources"].values()) | set(table["libraries"].values()) | \
        {e["backend"] for e in table["source_libraries"].values()}
    assert named == set(BACKENDS) == {"timm", "transformers", "torchvision", "torchhub", "openclip", "torchaudio",
                                      "kaggle", "ngc"}
    assert loadability("hf", "open_clip", ["open_clip"]).backend == loadability("openclip", "open_clip").backend == "openclip"
    # a source's pipelines are refused by tag, each with what to use; its encoders load
    for tag, entry in table["pipeline_tags"].items():
        found = loadability("torchaudio", "torchaudio", ["audio", tag])
        assert found.loadable is False and entry["reason"] in found.note and entry["fix"] in found.note
    assert loadability("torchaudio", "torchaudio", ["audio", "speech"]).backend == "torchaudio"


def test_conditions_are_noted_on_loadable_rows():
    assert "HF_TOKEN" in loadability("hf", "transformers", ["pytorch"], gated="manual").note
    assert "trust_repo=True" in loadability("torchhub", "torch.hub").note
    assert loadability("hf", "timm", []).note is None


def test_hostile_values_do_not_crash():
    assert loadability("hf", "transformers", [None, 3, "pytorch"]).loadable is True
    assert loadability("hf", "", None).loadable is False
    assert loadability(None, None, None).loadable is False
    assert "no loader backend" in loadability("arxiv", None).note


def test_the_writer_stores_loadability(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        with cat.transaction():
            w = cat.writer("hf")
            w.add(ModelRecord(id="hf:a/gguf", source="hf", name="a/gguf", library="gguf", tags=["gguf"]))
            w.add(ModelRecord(id="hf:a/vit", source="hf", name="a/vit", library="transformers", tags=["pytorch"]))
            w.finish(removed_since=None)
        rows = {r[0]: tuple(r[1:]) for r in cat.conn.execute(
            "SELECT id, loadable, load_backend, load_note FROM models")}
        summary = {r[0]: r[1] for r in cat.conn.execute("SELECT id, loadable FROM model_summary")}
    assert rows["hf:a/vit"] == (1, "transformers", None)
    assert rows["hf:a/gguf"][:2] == (0, None) and "llama.cpp" in rows["hf:a/gguf"][2]
    assert summary == {"hf:a/vit": 1, "hf:a/gguf": 0}


def test_upgrading_a_catalog_fills_loadability_of_the_rows_it_has(tmp_path):
    path = tmp_path / "old.db"
    old = Catalog(sqlite3.connect(path, isolation_level=None), path, readonly=False)
    old.migrate(upto="0004_repos_papers")
    for ident, source, library, tags in (("timm:x.y", "timm", "timm", None), ("hf:a/b", "hf", "gguf", ["gguf"]),
                                         ("hf:a/c", "hf", "transformers", "not json")):
        old.conn.execute(
            "INSERT INTO models (id, source, name, library, tags, record_hash, first_seen, last_seen, changed_at) "
            "VALUES (?, ?, ?, ?, ?, 'h', 'x', 'x', 'x')",
            (ident, source, ident, library, json.dumps(tags) if isinstance(tags, list) else tags))
    old.close()
    with Catalog.open(path) as cat:
        rows = {r[0]: (r[1], r[2]) for r in cat.conn.execute("SELECT id, loadable, load_backend FROM models")}
    assert rows == {"timm:x.y": (1, "timm"), "hf:a/b": (0, None), "hf:a/c": (1, "transformers")}
