"""Training profiles (issue #23: recommend's first question): measured once per model, then any
strategy's exact parameters and activation bytes follow without building it. Checked against a
forward measured under each strategy (what recommend.measure does), on timm's own test models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from indexer.loader import load_model
from indexer.loader.profile import build_profile, saved_activation
from indexer.loader.tuning import first_trainable as loader_first_trainable
from indexer.recommend import Strategy, measure
from indexer.trainprofile import SNAPSHOT, _snapshot, first_trainable, from_profile, timm_profile

TAGS = ["test_resnet.r160_in1k", "test_vit.r160_in1k", "test_efficientnet.r160_in1k", "test_convnext.r160_in1k",
        "test_nfnet.r160_in1k"]
STRATEGIES = [("feature-extraction", 1), ("partial", 1), ("partial", 2), ("full", 1)]


@pytest.mark.parametrize("tag", TAGS)
def test_a_profile_gives_what_a_forward_under_each_strategy_measures(tag, built_catalog):
    """The same numbers as recommend.measure, which builds the model under the strategy."""
    size = (3, 160, 160)
    profile = build_profile(tag, [size])
    json.dumps(profile)  # kept as JSON
    row = {"id": f"timm:{tag}", "task": "image-classification", "input_size": list(size)}
    for strategy, stages in STRATEGIES:
        for k in (7, None):
            got = from_profile(profile, strategy, stages, k, 1000, list(size))
            built = measure(row, Strategy(strategy, stages, "", False), k, built_catalog)
            # the step's peak line: emulated with a head of 2 classes, moved to k's head by its
            # parameters (trainprofile.with_head, 16 bytes each): the step emulated with k's head, or
            # over it by at most its gradient's 4 bytes a parameter (alive at some peaks only), +-1%
            line, exact = got.pop("peak_fp32", None), built.pop("peak_fp32")
            assert got == {**built, "measured": "profile"}, (strategy, stages, k)
            more = got["total_params"] - profile["head_formula"][1] - 2 * profile["head_formula"][0] \
                - sum(profile["stages"]) - (profile.get("other") or 0)
            assert (line is None) == ("peaks" not in profile)
            for batch in (1, 32) if line else ():
                want, have = exact[0] + batch * exact[1], line[0] + batch * line[1]
                assert 0.99 * want <= have <= 1.01 * want + 4 * more, (strategy, stages, k, batch)
    # a size it was not measured at is not guessed
    assert from_profile(profile, "full", 1, 7, 1000, [3, 224, 224]) is None


def test_saved_weights_are_not_activations():
    """A Linear saves its weight transposed for the input's gradient: the parameter's own memory."""
    lin = torch.nn.Linear(8, 4)
    seen = []

    def pack(t):
        seen.append(saved_activation(t))
        return t

    x = torch.randn(2, 8, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        lin(x)
    assert seen.count(True) == 1 and False in seen  # the input counts, the weight's view does not


def test_first_trainable_is_the_loaders():
    for strategy in ("feature-extraction", "partial", "full"):
        for n in (1, 4, 13):
            for t in (1, 2, 20):
                assert first_trainable(strategy, n, t) == loader_first_trainable(strategy, n, t)


def test_the_shipped_profiles_are_what_a_fresh_measurement_gives():
    from indexer.torchcompat import ensure_torchvision_importable

    ensure_torchvision_importable()  # run alone, timm's import of torchvision needs it first
    import timm

    from indexer.sources.timm import timm_fingerprint

    version = timm_fingerprint()[0]
    data_version = _snapshot(str(SNAPSHOT)).get("timm_version")
    if data_version != version:
        pytest.skip(f"the shipped profiles are of timm {data_version}, this is {version}: recommend measures instead")
    for tag in ("test_resnet.r160_in1k", "test_vit.r160_in1k"):
        shipped = timm_profile(tag, version)
        size = tuple(timm.models.get_pretrained_cfg(tag).input_size)
        assert shipped == build_profile(tag, [size])
    # every pretrained tag has one (or the generator said why not)
    assert timm_profile("test_resnet.r160_in1k", "0.0.0") is None
    missing = [t for t in timm.list_pretrained() if timm_profile(t, version) is None]
    assert len(missing) <= 0.02 * len(timm.list_pretrained()), missing[:20]


def test_recommend_answers_from_profiles_without_importing_torch(built_catalog, tmp_path):
    """The first question on timm rows builds nothing: the profiles answer it, the same as building."""
    code = (
        "import json, sys\n"
        "from indexer.recommend import recommend\n"
        f"out = recommend('image-classification', 500, num_classes=7, open_only=True, max_mb=100, limit=4, "
        f"db={str(built_catalog)!r})\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'candidates': out['candidates']}))\n"
    )
    env = {"MODELCAT_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["torch"] is False
    timm_rows = [c for c in got["candidates"] if c["id"].startswith("timm:")]
    assert timm_rows and all(c["measured"] == "profile" for c in timm_rows)
    # what building each model gives (recommend.measure)
    from indexer.recommend import choose_strategy

    for c in timm_rows[:2]:
        m = measure({"id": c["id"], "task": "image-classification", "input_size": c["input_size"]},
                    choose_strategy(500), 7, built_catalog)
        assert (c["total_params"], c["trainable_params"]) == (m["total_params"], m["trainable_params"])
        # the memory: the step's peak the profile ships, as the step emulated on the built model gives it
        assert c["memory"]["method"] == "emulated step"
        a, b = m["peak_fp32"]
        assert c["memory"]["fp32_gb"] == pytest.approx((a + 32 * b) / 1e9, rel=0.01, abs=2e-3)
        assert c["memory"]["activations_gb"] == pytest.approx(32 * b / 1e9, rel=0.01, abs=2e-3)


def test_a_timm_model_without_coarse_grouping_still_gets_stages():
    """timm's RDNet asserts in group_matcher(coarse=True): the loader finds the stages itself, so
    every strategy builds (and recommend can measure it)."""
    row = {"id": "timm:rdnet_tiny.nv_in1k", "source": "timm", "name": "rdnet_tiny.nv_in1k", "hf_hub_id": None,
           "loadable": 1, "load_backend": "timm", "task": "image-classification"}
    with torch.device("meta"):
        ft = load_model(row["id"], num_classes=3, strategy="partial", device="meta", pretrained=False, row=row)
    assert len(ft.stages) >= 3 and ft.head and 0 < ft.trainable_params < ft.total_params


def test_a_timm_encoder_without_a_classifier_says_how_to_load_it():
    """timm's vision towers of VLMs (qwen3_vit_*_enc ...) have no reset_classifier: num_classes is
    refused with what to do instead, and num_classes=None gives the encoder."""
    from indexer.errors import NotLoadable

    tag = "qwen3_vit_88m_enc.qwen3_5_0_8b"
    row = {"id": f"timm:{tag}", "source": "timm", "name": tag, "hf_hub_id": None, "loadable": 1,
           "load_backend": "timm", "task": "image-feature-extraction"}
    with torch.device("meta"):
        with pytest.raises(NotLoadable, match="encoder with no classifier to replace: load it with num_classes=None"):
            load_model(row["id"], num_classes=3, device="meta", pretrained=False, row=row)
        ft = load_model(row["id"], num_classes=None, strategy="full", device="meta", pretrained=False, row=row)
    assert ft.trainable_params == ft.total_params > 0
