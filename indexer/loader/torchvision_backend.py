"""torchvision rows (torchvision:<builder>.<WEIGHTS>): torchvision.models.get_model with those
weights, loaded weights-only, and the head replaced per architecture family (schema/heads.yml)."""

from __future__ import annotations

import contextlib
import functools
import threading

from ..errors import LoadError, NotLoadable
from ..torchcompat import ensure_torchvision_importable
from .base import Built, LoadOptions, get_submodule, outputs, replace_layer, torchvision_head, translate
from .fastinit import build_fast

_patch_lock = threading.Lock()


@contextlib.contextmanager
def weights_only_downloads():
    """torchvision's WeightsEnum.get_state_dict calls torch.hub.load_state_dict_from_url, whose
    weights_only defaults to False: a pickle could run code. Within this block it is True."""
    import torch.hub
    import torchvision.models._api as api

    with _patch_lock:
        original = api.load_state_dict_from_url
        api.load_state_dict_from_url = functools.partial(torch.hub.load_state_dict_from_url, weights_only=True)
        try:
            yield
        finally:
            api.load_state_dict_from_url = original


def weights_of(row: dict):
    from torchvision.models import get_model_weights

    builder = row.get("architecture") or row["id"].split(":", 1)[1].split(".", 1)[0]
    member = row.get("weights") or row["id"].rsplit(".", 1)[-1]
    try:
        enum = get_model_weights(builder)
    except (ValueError, KeyError) as e:
        raise NotLoadable(f"{row['id']}: this torchvision has no builder {builder!r} "
                          "(upgrade torchvision, or run `modelcat refresh --source torchvision`)") from e
    try:
        return builder, enum[member]
    except KeyError as e:
        raise NotLoadable(f"{row['id']}: this torchvision's {enum.__name__} has no {member!r} "
                          "(upgrade torchvision, or run `modelcat refresh --source torchvision`)") from e


def build(row: dict, opts: LoadOptions) -> Built:
    ensure_torchvision_importable()
    from torchvision.models import get_model

    builder, weights = weights_of(row)
    if builder.startswith("quantized_") and opts.num_classes is not None:
        raise NotLoadable(f"{row['id']}: quantized (int8) weights are for inference and cannot be "
                          f"fine-tuned; load torchvision:{builder[len('quantized_'):]}.* instead")
    try:
        with weights_only_downloads():
            if opts.pretrained:  # the checkpoint overwrites the initialization: skip it
                model = build_fast(lambda: get_model(builder, weights=weights))
            else:
                model = get_model(builder)
    except Exception as e:  # noqa: BLE001
        raise translate(e, row["id"]) from e
    categories = len(weights.meta.get("categories") or []) or None
    head = head_layers(model, builder, opts.head)
    reset = False
    if opts.num_classes is not None:
        for path in head:
            replace_layer(model, path, opts.num_classes, categories, row["id"])
        reset = True
    transform = weights.transforms()
    pre = {}
    for attr, key in (("mean", "mean"), ("std", "std")):
        if hasattr(transform, attr):
            pre[key] = list(getattr(transform, attr))
    if hasattr(transform, "crop_size"):
        size = list(transform.crop_size)
        pre["input_size"] = [3, size[0], size[-1]]
    if hasattr(transform, "resize_size") and hasattr(transform, "crop_size"):
        pre["crop_pct"] = round(transform.crop_size[0] / transform.resize_size[0], 4)
    if hasattr(transform, "interpolation"):
        pre["interpolation"] = transform.interpolation.value
    return Built(model=model, head=head, preprocess=pre, transform=transform, head_reset=reset)


def head_layers(model, builder: str, explicit: list[str] | None) -> list[str]:
    """The head's layer paths this model has: the user's, else the family's (heads.yml)."""
    if explicit:
        return list(explicit)
    paths = torchvision_head(builder)
    if paths is None:
        raise LoadError(f"torchvision:{builder}: modelcat does not know this architecture's classification "
                        "head (detection and optical-flow models have no single one); load it with "
                        "num_classes=None, or pass head=[...] with the layers to replace")
    found = []
    for p in paths:
        optional = p.endswith("?")
        p = p.rstrip("?")
        layer = get_submodule(model, p)
        if layer is None or outputs(layer) is None:
            if optional:
                continue
            raise LoadError(f"torchvision:{builder}: expected a classifier layer {p!r}; pass head=[...]")
        found.append(p)
    return found
