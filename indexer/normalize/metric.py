"""Metric names -> a small canonical vocabulary ("acc@1", "Top-1 Accuracy" -> "top1")."""

from __future__ import annotations

import functools
import re

from ..textsafe import display

_ALIASES = {
    "top1": ("acc1", "acc@1", "top1", "top-1", "top_1", "top1acc", "top1accuracy", "accuracy@1"),
    "top5": ("acc5", "acc@5", "top5", "top-5", "top_5", "top5acc", "top5accuracy", "accuracy@5"),
    "box_map": ("boxmap", "box_map", "bbox_map", "mapbox", "box ap"),
    "mask_map": ("maskmap", "mask_map", "segm_map", "mask ap"),
    "kp_map": ("kpmap", "kp_map", "keypoint_map"),
    "miou": ("miou", "mean_iou", "meaniou", "mean iou"),
    "pixel_acc": ("pixelacc", "pixel_acc", "pixel accuracy"),
    "epe": ("epe", "end-point error", "endpointerror"),
}
_KEY = re.compile(r"[^0-9a-z@]+")
_INDEX = {_KEY.sub("", alias.lower()): name for name, aliases in _ALIASES.items() for alias in aliases}


def canonical_metric(raw: str) -> str:
    """The canonical metric name; unknown names are kept, lower-cased, spaces as underscores."""
    return _canonical(str(raw).strip())


@functools.lru_cache(maxsize=65536)
def _canonical(text: str) -> str:
    hit = _INDEX.get(_KEY.sub("", text.lower()))
    # a facet value and a column users filter on: no control or invisible characters (the raw keeps them)
    return hit or re.sub(r"\s+", "_", display(text).lower().strip())
