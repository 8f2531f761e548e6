"""Test and toy models (issue #18, part 6): timm's test_* architectures and the Hub's tiny random
test repositories are flagged by a rule that is data (schema/test_models.yml) and left out of
answers by default: `modelcat search`, the stored queries; --include-test / include_test=1 bring
them back."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from click.testing import CliRunner

from indexer.cli import cli
from indexer.normalize.testmodel import is_test_model
from indexer.records import ModelRecord
from indexer.store import MODEL_COLUMNS, Catalog, prepare_model


@pytest.mark.parametrize("source, fields, expected", [
    ("timm", {"architecture": "test_vit", "name": "test_vit.r160_in1k"}, True),
    ("timm", {"architecture": "resnet18", "name": "resnet18.a1_in1k"}, False),
    ("timm", {"architecture": "vit_base_patch16_224", "name": "vit_base_patch16_224.augreg_in1k"}, False),
    ("hf", {"architecture": "test_vit", "name": "someone/test_vit"}, False),  # the timm rule is timm's
    ("hf", {"author": "hf-internal-testing", "name": "hf-internal-testing/some-model"}, True),
    ("hf", {"author": "trl-internal-testing", "name": "trl-internal-testing/zephyr"}, True),
    ("hf", {"author": "hf-tiny-model-private", "name": "hf-tiny-model-private/tiny-BertModel"}, True),
    ("hf", {"author": "someone", "name": "someone/tiny-random-LlamaForCausalLM"}, True),
    ("hf", {"author": "someone", "name": "someone/tiny_random_bert"}, True),
    ("hf", {"author": "someone", "name": "someone/random-tiny-gpt2"}, True),
    ("hf", {"author": "TinyLlama", "name": "TinyLlama/TinyLlama-1.1B-Chat-v1.0"}, False),
    ("hf", {"author": "google", "name": "google/vit-base-patch16-224"}, False),
    ("hf", {"author": "someone", "name": "someone/randomized-tinybert-distilled"}, False),
    ("hf", {"author": None, "name": None}, False),
])
def test_the_rule(source, fields, expected):
    assert is_test_model(source, **fields) is expected


def test_a_written_record_carries_the_flag():
    rec = ModelRecord(id="hf:hf-internal-testing/tiny-random-bert", source="hf",
                      name="hf-internal-testing/tiny-random-bert", author="hf-internal-testing")
    row = dict(zip(MODEL_COLUMNS, prepare_model(rec)[3]))
    assert row["is_test"] == 1
    plain = ModelRecord(id="hf:google/vit-base-patch16-224", source="hf", name="google/vit-base-patch16-224",
                        author="google")
    assert dict(zip(MODEL_COLUMNS, prepare_model(plain)[3]))["is_test"] == 0


def test_the_flag_is_not_part_of_the_digest():
    """A change of the rules re-flags rows without making them 'changed'."""
    a = ModelRecord(id="hf:x/y", source="hf", name="x/y", is_test=False)
    b = ModelRecord(id="hf:x/y", source="hf", name="x/y", is_test=True)
    assert prepare_model(a).digest == prepare_model(b).digest


def test_timms_test_architectures_are_flagged_and_left_out_of_answers(built_catalog):
    con = sqlite3.connect(built_catalog)
    flagged = {r[0] for r in con.execute("SELECT id FROM models WHERE is_test = 1")}
    tests = {r[0] for r in con.execute("SELECT id FROM models WHERE source = 'timm' AND architecture LIKE 'test\\_%' ESCAPE '\\'")}
    con.close()
    assert flagged == tests and len(tests) >= 10
    args = ["search", "--db", str(built_catalog), "--task", "image-classification", "--dataset", "imagenet-1k",
            "--open", "--max-mb", "100", "--limit", "20", "--format", "json"]
    first20 = json.loads(CliRunner().invoke(cli, args).output)
    assert len(first20) == 20 and not any(r["id"] in flagged for r in first20)  # the default order: smallest first
    with_tests = json.loads(CliRunner().invoke(cli, args + ["--include-test"]).output)
    assert any(r["id"] in flagged for r in with_tests)


def test_the_stored_queries_leave_test_models_out_unless_asked(built_catalog):
    from indexer.serve import make_datasette

    ds = make_datasette(built_catalog)
    asyncio.run(ds.invoke_startup())

    def ids(path):
        r = asyncio.run(ds.client.get(path))
        assert r.status_code == 200, r.text[-500:]
        return {row["id"] for row in r.json()}

    for query in ("open_classifiers", "best_top1_under_size"):
        default = ids(f"/catalog/{query}.json?_shape=array&max_mb=5")
        every = ids(f"/catalog/{query}.json?_shape=array&max_mb=5&include_test=1")
        assert not any(":test_" in i for i in default), query
        assert any(":test_" in i for i in every) and default < every, query


def test_a_catalog_from_before_the_flag_is_backfilled_when_upgraded(catalog_copy):
    con = sqlite3.connect(catalog_copy)
    con.execute("ALTER TABLE models DROP COLUMN is_test")
    con.execute("DELETE FROM _migrations WHERE name = '0010_test_models'")
    con.commit()
    con.close()
    result = CliRunner().invoke(cli, ["search", "--db", str(catalog_copy), "--task", "image-classification"])
    assert result.exit_code == 1
    assert "older modelcat" in result.output and "0010_test_models" in result.output and "modelcat refresh" in result.output
    with Catalog.open(catalog_copy) as cat:  # a writable open upgrades it: the flag for the rows it holds
        flagged = cat.conn.execute("SELECT count(*) FROM models WHERE is_test = 1").fetchone()[0]
    assert flagged >= 10
