"""`modelcat load` and `modelcat search --loadable`: the loader at the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from indexer.cli import cli
from replay import models as M


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("cid, backend, extra", [
    (f"timm:{M.TIMM_TAG}", "timm", []),
    (f"hf:{M.VIT_REPO}", "transformers", []),
    (f"torchvision:{M.TV_BUILDER}.{M.TV_WEIGHTS}", "torchvision", []),
    (f"torchhub:{M.HUB_VISION}:{M.TV_BUILDER}", "torchhub", ["--trust-repo"]),
])
def test_load_prints_what_was_built(loader_env, cid, backend, extra):
    """The issue's 'done when': a timm, a transformers, a torchvision and a torch.hub row."""
    r = invoke("load", cid, "--num-classes", "10", "--strategy", "partial", *extra)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"{cid} [{backend}] on cpu (float32): ") and "new 10-class head" in lines[0]
    trainable = next(x for x in lines if x.startswith("trainable"))
    left, total = trainable.split()[1], trainable.split()[3]
    assert 0 < int(left.replace(",", "")) < int(total.replace(",", ""))
    assert any(x.startswith("device") and "cpu (float32)" in x for x in lines)
    assert any(x.startswith("param group") and "head" in x and "lr 0.001" in x for x in lines)
    assert any(x.startswith("preprocess") and "mean" in x for x in lines)


def test_load_json(loader_env):
    r = invoke("load", f"timm:{M.TIMM_TAG}", "--num-classes", "4", "--strategy", "full", "--json")
    info = json.loads(r.stdout)
    assert info["backend"] == "timm" and info["num_classes"] == 4 and info["head"] == ["fc"]
    assert info["trainable_params"] == info["total_params"] > 0
    assert info["stages"][-1] == info["trainable_stages"][-1] and len(info["trainable_stages"]) == len(info["stages"])
    assert sum(g["params"] for g in info["param_groups"]) == info["total_params"]
    assert info["license"] == "apache-2.0" and info["device"] == "cpu"


@pytest.mark.parametrize("args, message", [
    ([f"torchhub:{M.HUB_REPO}:tinynet"], "runs code from https://github.com/acme/tinyhub"),
    (["hf:acme/tiny-gguf"], "cannot become a torch model: GGUF"),
    (["arxiv:1512.03385"], "is a paper, not a model"),
    (["timm:nope"], "no model 'timm:nope' in the catalog"),
    ([f"timm:{M.TIMM_TAG}", "--device", "tpu9"], "not a torch device"),
])
def test_load_errors_are_one_line(loader_env, args, message):
    r = CliRunner().invoke(cli, ["load", *args])
    assert r.exit_code != 0 and message in r.output and "Traceback" not in r.output


def test_search_loadable(loader_catalog):
    every = invoke("search", "--db", str(loader_catalog), "--format", "ids", "--every-source").stdout.split()
    loadable = invoke("search", "--db", str(loader_catalog), "--format", "ids", "--every-source",
                      "--loadable").stdout.split()
    assert set(loadable) < set(every)
    assert set(every) - set(loadable) == {"hf:acme/tiny-gguf", "hf:acme/tf-only", "hf:acme/onnx-export",
                                          "torchaudio:TACOTRON2_WAVERNN_CHAR_LJSPEECH"}
    both = invoke("search", "--db", str(loader_catalog), "--format", "ids", "--loadable", "--task",
                  "text-classification").stdout.split()
    assert both == [f"hf:{M.BERT_REPO}"]
