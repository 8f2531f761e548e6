"""Task strings -> Hugging Face pipeline tags, driven by schema/tasks.yml."""

from __future__ import annotations

import functools
from typing import Any

from .tables import build_index, load_table, loose_key


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    return build_index(load_table("tasks")["tasks"], "tasks")


@functools.lru_cache(maxsize=1)
def task_ids() -> frozenset[str]:
    return frozenset(load_table("tasks")["tasks"])


def normalize_task(raw: Any) -> str | None:
    """The pipeline tag for a raw task, or None when unknown.

    Dotted module paths match by their longest listed prefix:
    "torchvision.models.detection.faster_rcnn" -> object-detection.
    """
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    index = _index()
    key = loose_key(text)
    if key in index:
        return index[key]
    if "." in text and " " not in text:
        parts = text.split(".")
        for end in range(len(parts) - 1, 0, -1):
            hit = index.get(loose_key(".".join(parts[:end])))
            if hit:
                return hit
    return None
