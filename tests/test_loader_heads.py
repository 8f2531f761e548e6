"""schema/heads.yml against every torchvision builder: the named head exists, is a Linear/Conv
layer, and has as many outputs as the builder's weights have categories. Built on the meta
device (no memory, no weights); a builder that cannot be built there is built on the CPU when
it is small."""

from __future__ import annotations

import warnings

import pytest
import torch

from indexer.loader.base import outputs, replace_layer, torchvision_head, torchvision_heads
from indexer.torchcompat import ensure_torchvision_importable

ensure_torchvision_importable()
from torchvision import models as tvm  # noqa: E402
from torchvision.models import get_model, get_model_weights, list_models  # noqa: E402

CLASSIFIERS = (list_models(module=tvm) + list_models(module=tvm.video)
               + list_models(module=tvm.segmentation))
NO_SINGLE_HEAD = list_models(module=tvm.detection) + list_models(module=tvm.optical_flow)


def build(builder: str):
    weights = get_model_weights(builder).DEFAULT
    kwargs = {"weights_backbone": None} if builder in list_models(module=tvm.segmentation) else {}
    # what the weights' builder gets: their class count, and an aux head where the weights have one
    kwargs["num_classes"] = len(weights.meta["categories"])
    if builder in ("inception_v3", "googlenet"):
        kwargs["aux_logits"] = True
        kwargs["init_weights"] = False
    if builder.startswith(("fcn_", "deeplabv3_")):
        kwargs["aux_loss"] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.device("meta"):
                return get_model(builder, **kwargs), weights
        except (NotImplementedError, RuntimeError):
            if weights.meta["num_params"] > 30_000_000:
                pytest.skip(f"{builder} cannot be built on the meta device and is large")
            return get_model(builder, **kwargs), weights


@pytest.mark.parametrize("builder", CLASSIFIERS)
def test_every_classifier_has_its_head_in_the_table(builder):
    paths = torchvision_head(builder)
    assert paths, f"schema/heads.yml has no head for {builder}"
    model, weights = build(builder)
    categories = len(weights.meta["categories"])
    found = 0
    for p in paths:
        try:
            layer = model.get_submodule(p.rstrip("?"))
        except AttributeError:
            assert p.endswith("?"), f"{builder}: no layer {p}"
            continue
        assert outputs(layer) == categories, f"{builder}: {p} has {outputs(layer)} outputs, not {categories}"
        found += 1
    assert found >= 1


def test_every_table_entry_names_some_builder():
    for prefix in torchvision_heads():
        assert any(b.startswith(prefix) for b in CLASSIFIERS), prefix


@pytest.mark.parametrize("builder", NO_SINGLE_HEAD)
def test_detection_and_optical_flow_have_no_single_head(builder):
    assert torchvision_head(builder) is None


def test_replacing_checks_the_layer_it_replaces():
    from torch import nn

    from indexer.errors import LoadError

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4, 10))
    replace_layer(model, "2", 3, expect=10, what="t")
    assert model[2].out_features == 3 and model[2].in_features == 4
    with pytest.raises(LoadError, match="has 3 outputs, not the 10 classes"):
        replace_layer(model, "2", 5, expect=10, what="t")
    with pytest.raises(LoadError, match="is a Flatten, not a Linear or Conv layer"):
        replace_layer(model, "1", 5, expect=None, what="t")
    with pytest.raises(LoadError, match="no layer 'head.fc'"):
        replace_layer(model, "head.fc", 5, expect=None, what="t")
    replace_layer(model, "0", 6, expect=4, what="t")  # a conv head keeps its kernel
    assert model[0].out_channels == 6 and model[0].kernel_size == (3, 3)
