"""`modelcat recommend` (issue #23) on a fresh offline catalog (timm and torchvision): the strategy
from the decision matrix, candidates that respect every filter and the memory budget, trainable
parameters equal to those of the model load_model builds, and the JSON users script against."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import sqlite3
import sys

import pytest
from click.testing import CliRunner

from indexer import recommend
from indexer.cli import cli
from indexer.errors import ModelcatError
from indexer.recommend import choose_strategy, measure, memory_estimate


@pytest.mark.parametrize("samples, domain, strategy, stages", [
    (50, "similar", "feature-extraction", 1),
    (50, "different", "partial", 1),
    (3000, "similar", "partial", 1),
    (3000, "different", "partial", 2),
    (50000, "similar", "full", 1),
    (50000, "different", "full", 1),
    (99, "similar", "feature-extraction", 1),
    (100, "similar", "partial", 1),
    (10000, "similar", "full", 1),
])
def test_the_decision_matrix(samples, domain, strategy, stages):
    got = choose_strategy(samples, domain)
    assert (got.strategy, got.trainable_stages) == (strategy, stages) and got.why


@pytest.fixture(scope="module")
def measures(tmp_path_factory):
    """A cache folder of the module's own (the measurements it keeps)."""
    folder = tmp_path_factory.mktemp("recommend-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELCAT_CACHE_DIR", str(folder))
        # these tests build the models (recommend.measure); the shipped profiles have their own tests
        # (tests/test_trainprofile.py), which check they give the same answers
        mp.setattr("indexer.trainprofile.SNAPSHOT", folder / "no-profiles.json.gz")
        yield folder


@pytest.fixture(scope="module")
def answer(built_catalog, measures):
    return recommend("image-classification", 50, domain="similar", open_only=True, max_mb=100, num_classes=7,
                     limit=4, db=built_catalog)


def test_a_question_asked_again_reads_the_kept_measurements(answer, built_catalog, measures, monkeypatch):
    monkeypatch.setenv("MODELCAT_CACHE_DIR", str(measures))
    assert (measures / "recommend" / "measures.json").exists()

    def never(*a, **kw):
        raise AssertionError("built again")

    monkeypatch.setattr(sys.modules["indexer.recommend"], "measure", never)  # (indexer.recommend: the function)
    again = recommend("image-classification", 50, domain="similar", open_only=True, max_mb=100, num_classes=7,
                      limit=4, db=built_catalog)
    assert again["candidates"] == answer["candidates"]
    # another head is another measurement
    other = recommend("image-classification", 50, open_only=True, max_mb=100, num_classes=3, limit=1, db=built_catalog)
    assert other["candidates"] == [] and other["dropped"] and "built again" in other["dropped"][0]["why"]


def test_candidates_respect_the_filters_and_say_why(answer, built_catalog):
    import sqlite3

    assert answer["strategy"]["strategy"] == "feature-extraction" and answer["strategy"]["domain_defaulted"]
    cands = answer["candidates"]
    assert len(cands) == 4
    conn = sqlite3.connect(built_catalog)
    for c in cands:
        task, family, size, loadable, removed, test = conn.execute(
            "SELECT task, license_family, size_bytes, loadable, removed_at, is_test FROM models WHERE id = ?",
            [c["id"]]).fetchone()
        assert task == "image-classification" and family in ("permissive", "copyleft") and size < 100e6
        assert loadable == 1 and removed is None and test == 0
        for key in ("id", "strategy", "trainable_params", "memory_gb", "fits", "size_mb", "imagenet_top1",
                    "head_lr", "backbone_lr", "load", "why"):
            assert key in c, key
        assert c["strategy"] == "feature-extraction" and (c["head_lr"], c["backbone_lr"]) == (1e-3, 1e-5)
        assert c["score"] == pytest.approx(sum(v for k, v in c["score_terms"].items() if k != "score"), abs=1e-3)
    assert [c["score"] for c in cands] == sorted((c["score"] for c in cands), reverse=True)
    assert len({c["id"] for c in cands}) == len(cands)


def test_trainable_parameters_are_those_of_the_model_load_model_builds(answer, built_catalog):
    from indexer.loader import load_model

    for c in answer["candidates"][:2]:
        ft = load_model(c["id"], num_classes=7, strategy="feature-extraction", pretrained=False, device="cpu",
                        db=built_catalog)
        assert c["trainable_params"] == ft.trainable_params and c["total_params"] == ft.total_params
        # feature extraction: the new head only, 7 outputs
        assert c["trainable_params"] < 0.1 * c["total_params"]


def test_the_load_line_is_the_call_that_builds_it(answer):
    for c in answer["candidates"]:
        call = ast.parse(c["load"], mode="eval").body
        assert isinstance(call, ast.Call) and call.func.id == "load_model"
        assert ast.literal_eval(call.args[0]) == c["id"]
        kw = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        assert kw == {"num_classes": 7, "strategy": "feature-extraction", "head_lr": 1e-3, "backbone_lr": 1e-5}


def test_activations_are_what_the_trainable_part_saves(built_catalog):
    """Frozen layers save nothing for backward: training more saves more; the estimate adds the
    optimizer's state for the trainable parameters only."""
    row = {"id": "timm:resnet18.a1_in1k", "task": "image-classification"}
    few, many = (measure(row, choose_strategy(n), 10, built_catalog) for n in (50, 50000))
    assert few["trainable_params"] == 512 * 10 + 10 and many["trainable_params"] == many["total_params"]
    assert 0 < few["activation_bytes_per_sample"] < many["activation_bytes_per_sample"]
    mem = memory_estimate(many["total_params"], many["trainable_params"], many["activation_bytes_per_sample"], 32)
    assert mem["fp32_gb"] == pytest.approx((16 * many["total_params"] + 32 * many["activation_bytes_per_sample"]) / 1e9,
                                           abs=2e-3)
    assert mem["amp_gb"] < mem["fp32_gb"]


def test_the_memory_estimate_is_the_emulated_steps_peak_at_the_batch_size(built_catalog, measures):
    """measure() emulates the step on the meta device at two batch sizes (a + b x batch): the estimate
    at another batch size is what a step of that size emulates (within 2%), for every strategy; the
    formula it replaces missed a frozen backbone's passing activations (a feature extractor's
    estimate was its weights) and counted a tensor saved twice twice."""
    import torch

    from indexer.loader import load_model
    from indexer.loader.profile import steady_peak

    row = {"id": "timm:resnet18.a1_in1k", "task": "image-classification"}
    for samples in (50, 3000, 50000):
        strategy = choose_strategy(samples)
        m = measure(row, strategy, 10, built_catalog)
        a, b = m["peak_fp32"]
        with torch.device("meta"):
            ft = load_model(row["id"], num_classes=10, strategy=strategy.strategy, pretrained=False, device="meta",
                            trainable_stages=strategy.trainable_stages, db=built_catalog)
        emulated = steady_peak(ft, (3, 224, 224), 24)
        mem = memory_estimate(m["total_params"], m["trainable_params"], m["activation_bytes_per_sample"], 24,
                              m["peak_fp32"])
        assert mem["method"] == "emulated step"
        assert mem["fp32_gb"] * 1e9 == pytest.approx(emulated, rel=0.02, abs=2e6)
        assert mem["amp_gb"] == pytest.approx((a + 24 * b / 2 + 2 * m["trainable_params"]) / 1e9, abs=2e-3)
        weights = 4 * m["total_params"]
        assert emulated > weights + 8 * m["trainable_params"]  # more than weights and AdamW's moments
        if strategy.strategy == "feature-extraction":  # the frozen forward's passing tensors count
            assert mem["fp32_gb"] * 1e9 > 2 * weights


def test_a_memory_budget_leaves_out_what_does_not_fit_and_says_so(built_catalog):
    big = recommend("image-classification", 50000, num_classes=5, max_mb=100, limit=6, db=built_catalog,
                    gpu_memory=1000)
    small_budget = sorted(c["memory_gb"] for c in big["candidates"])[len(big["candidates"]) // 2] + 0.5
    out = recommend("image-classification", 50000, num_classes=5, max_mb=100, limit=6, db=built_catalog,
                    gpu_memory=small_budget)
    assert out["candidates"] and all(c["fits"] and c["memory_gb"] + 0.5 <= small_budget for c in out["candidates"])
    assert out["dropped"] and all("over" in d["why"] for d in out["dropped"] if "GB" in d["why"])


def test_the_command_prints_a_table_and_json(built_catalog):
    r = CliRunner().invoke(cli, ["recommend", "--db", str(built_catalog), "--task", "image-classification",
                                 "--samples", "3000", "--domain", "different", "--num-classes", "3",
                                 "--max-mb", "50", "--open", "--limit", "2"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("strategy: partial (the top 2 stages), with gradual unfreezing")
    assert "load_model(" in r.output and "trainable_M" in r.output
    r = CliRunner().invoke(cli, ["recommend", "--db", str(built_catalog), "--task", "image-classification",
                                 "--samples", "50000", "--limit", "1", "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["strategy"]["strategy"] == "full" and len(out["candidates"]) == 1


@pytest.mark.parametrize("args, says", [
    (["--samples", "0"], "--samples must be a positive number"),
    (["--samples", "10", "--task", "image-clasification"], "did you mean image-classification"),
    (["--samples", "10", "--gpu-memory", "-1"], "--gpu-memory must be a positive number"),
    (["--samples", "10", "--open", "--license-family", "permissive"], "give one"),
])
def test_bad_input_is_a_clear_error(built_catalog, args, says):
    base = ["recommend", "--db", str(built_catalog)]
    if "--task" not in args:
        base += ["--task", "image-classification"]
    r = CliRunner().invoke(cli, base + args)
    assert r.exit_code != 0 and says in r.output, r.output
    assert "Traceback" not in r.output


def test_the_library_call_raises_typed_errors(built_catalog):
    with pytest.raises(ModelcatError, match="--domain must be similar or different"):
        recommend("image-classification", 10, domain="far", db=built_catalog)


def test_the_datasette_page_asks_the_same_question_and_gives_the_same_answer(answer, built_catalog, measures,
                                                                              monkeypatch):
    """/-/modelcat/recommend: a form with recommend's inputs (the menu links it); submitted, the
    same candidates in the same order, each linked to its row, with its load line; bad input is a
    400 that names the field."""
    import asyncio
    import html

    from indexer.serve import make_datasette

    monkeypatch.setenv("MODELCAT_CACHE_DIR", str(measures))
    ds = make_datasette(built_catalog)
    get = lambda path: asyncio.run(ds.client.get(path))  # noqa: E731
    home = get("/")
    assert "/-/modelcat/recommend" in home.text
    form = get("/-/modelcat/recommend")
    assert form.status_code == 200 and 'name="samples"' in form.text and "<table" not in form.text
    page = get("/-/modelcat/recommend?task=image-classification&samples=50&domain=similar&open=1&max_mb=100"
               "&num_classes=7&limit=4")
    assert page.status_code == 200, page.text[:500]
    text = html.unescape(page.text)
    assert "Strategy: feature-extraction" in text
    ids = [c["id"] for c in answer["candidates"]]
    assert ids and [i for i in re.findall(r'<td class="mc-id"><a href="[^"]+">([^<]+)</a>', page.text)] == \
        [html.escape(i) for i in ids]
    assert all(c["load"] in text for c in answer["candidates"])
    for bad, says in (("samples=lots", "samples must be a whole number"), ("samples=0", "samples must be at least 1"),
                      ("samples=50&domain=space", "domain must be similar or different"),
                      ("samples=50&open=1&license_family=copyleft", "give one"),
                      ("samples=50&limit=500", "limit must be at most"),
                      ("samples=50&task=not-a-task", "task")):
        r = get(f"/-/modelcat/recommend?{bad}")
        assert r.status_code == 400 and says in html.unescape(r.text), (bad, r.text[:300])


def test_the_pareto_front_of_accuracy_size_and_memory():
    from indexer.recommend import pareto_front

    def cand(i, top1, size, mem):
        return {"id": i, "imagenet_top1": top1, "size_mb": size, "memory_gb": mem, "why": "w"}

    cs = [cand("big-best", 85.0, 300.0, 9.0), cand("small-good", 80.0, 20.0, 2.0), cand("worse", 79.0, 25.0, 2.5),
          cand("unknown", None, 10.0, 1.0), cand("twin", 80.0, 20.0, 2.0)]
    pareto_front(cs)
    got = {c["id"]: (c["pareto"], c["dominated_by"]) for c in cs}
    assert got == {"big-best": (True, None), "small-good": (True, None), "worse": (False, "small-good"),
                   "unknown": (True, None), "twin": (True, None)}  # equal in all three: neither dominates
    assert "is as accurate or more" in cs[2]["why"] and "on the front" in cs[0]["why"]


def test_every_candidate_says_whether_it_is_on_the_front(answer):
    ids = {c["id"]: c for c in answer["candidates"]}
    assert any(c["pareto"] for c in ids.values())
    for c in ids.values():
        if c["dominated_by"]:
            o = ids[c["dominated_by"]]
            assert o["size_mb"] <= c["size_mb"] and o["memory_gb"] <= c["memory_gb"]


def test_the_shortlist_walks_the_indexes_and_gives_what_a_full_read_gives(built_catalog, tmp_path):
    """recommend reads its shortlist by walking the top-1 index (then the task's downloads index),
    not every row the filters pass: the same rows as reading them all, and a catalog without those
    indexes still answers."""
    import shutil

    from indexer.recommend import _rows
    from indexer.search import Query, build_sql
    from indexer.store import Catalog

    q = Query(task="image-classification", open_only=True, max_mb=100, loadable=True, sort="top1", limit=50,
              group=False, walk="top1")
    sql, _ = build_sql(q)
    assert "INDEXED BY idx_models_top1" in sql
    with Catalog.open(built_catalog, readonly=True, create=False) as cat:
        walked = _rows(cat, q)
        everything = [dict(r) for r in cat.conn.execute(*build_sql(dataclasses.replace(q, walk=None, limit=None)))]
    known = [r for r in everything if r["imagenet_top1"] is not None][:50]
    assert walked and [r["id"] for r in walked] == [r["id"] for r in known]
    with pytest.raises(ModelcatError, match="cannot walk"):
        build_sql(dataclasses.replace(q, walk="downloads", task=None))
    # without the indexes (a catalog mid-way through its first import): the same answer
    copy = tmp_path / "no-index.db"
    shutil.copy(built_catalog, copy)
    conn = sqlite3.connect(copy)
    conn.execute("DROP INDEX idx_models_top1")
    conn.execute("DROP INDEX idx_models_task_downloads")
    conn.commit()
    conn.close()
    with Catalog.open(copy, readonly=True, create=False) as cat:
        assert [r["id"] for r in _rows(cat, q)] == [r["id"] for r in walked]
