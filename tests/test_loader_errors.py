"""load_model's refusals: unsafe pickles, untrusted code, rows that are not torch models, missing
weights, gated repositories, offline use; each a clear error naming the fix, nothing executed."""

from __future__ import annotations

import time

import pytest
import torch
from huggingface_hub import constants

from indexer.errors import CatalogError, NotFound, NotLoadable, UnsafeWeights, UntrustedCode, WeightsUnavailable
from indexer.loader import load_model
from replay import models as M


@pytest.mark.parametrize("cid", [f"hf:{M.PICKLE_REPO}", f"hf:{M.PICKLE_TIMM_REPO}", f"hf:{M.PICKLE_OPENCLIP_REPO}",
                                 f"torchvision:{M.TV_PICKLE_BUILDER}.IMAGENET1K_V1",
                                 f"torchaudio:{M.TORCHAUDIO_PICKLE_BUNDLE}"])
def test_a_malicious_pickle_is_refused_and_never_runs(loader_env, cid):
    marker = loader_env.pickle_marker
    assert not marker.exists()
    with pytest.raises(UnsafeWeights, match="pickle that could run code.*Nothing was executed"):
        load_model(cid, num_classes=3)
    assert not marker.exists()


def test_the_payload_is_real(loader_env, tmp_path):
    """The same file does run code when loaded unsafely: the refusal above is what protects."""
    evil = loader_env.art.checkpoints[next(n for n in loader_env.art.checkpoints if n.startswith("squeezenet"))]
    try:
        torch.load(evil, weights_only=False)
        assert loader_env.pickle_marker.exists()
    finally:
        loader_env.pickle_marker.unlink(missing_ok=True)


def test_a_torchaudio_pipeline_is_refused_with_what_loads_it(loader_env):
    """A text-to-speech bundle is two models and a text processor, not an encoder with a head."""
    with pytest.raises(NotLoadable, match=r"text-to-speech pipeline.*get_tacotron2\(\)"):
        load_model(f"torchaudio:{M.TORCHAUDIO_PIPELINE}", num_classes=3)


def test_remote_code_needs_consent(loader_env):
    with pytest.raises(UntrustedCode, match="trust_remote_code=True"):
        load_model(f"hf:{M.REMOTE_CODE_REPO}", strategy="full")
    assert not loader_env.pickle_marker.exists()  # its configuration_acme.py would have made it


def test_torch_hub_runs_a_repository_only_when_trusted(loader_env, monkeypatch):
    cid = f"torchhub:{M.HUB_REPO}:tinynet"
    with pytest.raises(UntrustedCode) as e:
        load_model(cid, num_classes=3)
    assert "trust_repo=True" in str(e.value) and "MODELCAT_TRUSTED_REPOS" in str(e.value)
    assert "https://github.com/acme/tinyhub" in str(e.value)
    assert not loader_env.hubconf_marker.exists()
    # allow-listed (any case): it loads, and its hubconf ran
    monkeypatch.setenv("MODELCAT_TRUSTED_REPOS", "someone/else, ACME/TinyHub")
    ft = load_model(cid, num_classes=3)
    assert loader_env.hubconf_marker.exists() and ft.model[-1].out_features == 3


@pytest.mark.parametrize("cid, reason", [
    ("hf:acme/tiny-gguf", "GGUF weights.*llama.cpp"),
    ("hf:acme/tf-only", "TensorFlow weights only.*PyTorch"),
    ("hf:acme/onnx-export", "ONNX weights.*onnxruntime"),
])
def test_rows_that_are_not_torch_models(loader_env, cid, reason):
    with pytest.raises(NotLoadable, match=f"{cid} cannot become a torch model: {reason}"):
        load_model(cid)


def test_ids_that_are_not_models(loader_env):
    with pytest.raises(NotLoadable, match=r"arxiv:1512.03385 is a paper, not a model; its models: timm:test_resnet"):
        load_model("arxiv:1512.03385")
    with pytest.raises(NotLoadable, match="code repository; load one of its PyTorch Hub entrypoints: "
                                          "torchhub:acme/tinyhub:tinynet"):
        load_model("github:acme/tinyhub")
    with pytest.raises(NotLoadable, match="no hubconf.py.*timm:test_resnet.r160_in1k"):
        load_model("github:acme/nohub")
    with pytest.raises(NotFound, match=r"no model 'timm:test_resnet' in the catalog \(similar: timm:test_resnet"):
        load_model("timm:test_resnet")
    with pytest.raises(NotFound, match="no paper"):
        load_model("arxiv:2401.00001")


def test_missing_weights_and_repositories(loader_env):
    with pytest.raises(WeightsUnavailable, match="the Hub has no repository acme/missing-repo"):
        load_model("hf:acme/missing-repo", num_classes=3)
    with pytest.raises(WeightsUnavailable, match="acme/no-weights"):
        load_model(f"hf:{M.NO_WEIGHTS_REPO}", num_classes=3)


def test_gated_repository_explains_the_token(loader_env, monkeypatch):
    with pytest.raises(WeightsUnavailable, match="is gated: request access at .*then set HF_TOKEN"):
        load_model(f"hf:{M.GATED_REPO}", num_classes=3)
    # with an accepted token in the environment it loads (the token is read from HF_TOKEN, never stored)
    loader_env.hub.tokens = {"hf_granted"}
    monkeypatch.setenv("HF_TOKEN", "hf_granted")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(loader_env.tmp / "no-token-file"))
    ft = load_model(f"hf:{M.GATED_REPO}", num_classes=3)
    assert ft.model.classifier.out_features == 3
    assert "hf_granted" not in repr(ft.row) and "hf_granted" not in ft.summary()


def test_offline_from_the_cache(loader_env, monkeypatch):
    for cid in (f"timm:{M.TIMM_TAG}", f"hf:{M.VIT_REPO}", f"hf:{M.HF_TIMM_REPO}"):
        load_model(cid, num_classes=3)
    loader_env.hub.reset_log()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    for cid in (f"timm:{M.TIMM_TAG}", f"hf:{M.VIT_REPO}", f"hf:{M.HF_TIMM_REPO}"):
        assert load_model(cid, num_classes=3).model is not None
    assert loader_env.hub.requests == []
    with pytest.raises(WeightsUnavailable, match="not in the local cache"):
        load_model(f"hf:{M.BERT_REPO}", num_classes=3)


def test_no_network_uses_the_cache_at_once(loader_env, monkeypatch):
    """A Hub that does not resolve (no network): the cache, without ~20 s of retries per file."""
    load_model(f"timm:{M.TIMM_TAG}", num_classes=3)
    url = "http://hub.invalid"
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
    started = time.monotonic()
    assert load_model(f"timm:{M.TIMM_TAG}", num_classes=3).model is not None
    with pytest.raises(WeightsUnavailable, match="not in the local cache and the Hub cannot be reached"):
        load_model(f"hf:{M.VIT_REPO}", num_classes=3)
    assert time.monotonic() - started < 10
    assert constants.HF_HUB_OFFLINE is False  # restored


def test_torchvision_weights_not_cached_and_no_network(loader_env, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    monkeypatch.setattr("urllib.request.urlopen", _no_network)
    with pytest.raises(WeightsUnavailable, match="could not be downloaded.*TORCH_HOME"):
        load_model(f"torchvision:{M.TV_BUILDER}.{M.TV_WEIGHTS}", num_classes=3)


def _no_network(*a, **k):
    from urllib.error import URLError

    raise URLError("[Errno -2] Name or service not known")


def test_bad_arguments(loader_env):
    cid = f"timm:{M.TIMM_TAG}"
    with pytest.raises(ValueError, match="unknown strategy 'frozen': choose from feature-extraction, partial, full"):
        load_model(cid, strategy="frozen")
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="num_classes must be a positive integer"):
            load_model(cid, num_classes=bad)
    with pytest.raises(ValueError, match="trainable_stages must be at least 1"):
        load_model(cid, trainable_stages=0)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            load_model(cid, device="cuda")
    with pytest.raises(ValueError, match="not a torch device"):
        load_model(cid, device="gpu please")
    with pytest.raises(ValueError, match="dtype 'int8'"):
        load_model(cid, dtype="int8")
    with pytest.raises(Exception, match="num_classes needs a classification model"):
        load_model(f"hf:{M.REMOTE_CODE_REPO}", num_classes=3)


def test_no_catalog(tmp_path):
    with pytest.raises(CatalogError, match="no catalog at .*run `modelcat refresh` first"):
        load_model("timm:resnet18.a1_in1k", db=tmp_path / "nope.db")
