"""Task strings -> Hugging Face pipeline tags, driven by schema/tasks.yml."""

from __future__ import annotations

import functools
import re
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
    return _task(text) if text else None


@functools.lru_cache(maxsize=65536)  # a handful of tags, seen millions of times
def _task(text: str) -> str | None:
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


@functools.lru_cache(maxsize=1)
def _keywords() -> list[tuple[re.Pattern, str]]:
    out = []
    for phrase, task in load_table("tasks").get("keywords") or []:
        if task not in task_ids():
            raise ValueError(f"schema/tasks.yml: keyword {phrase!r} names unknown task {task!r}")
        words = r"[\s-]+".join(re.escape(w) for w in re.split(r"[\s-]+", phrase.strip()))
        out.append((re.compile(rf"(?<![\w-]){words}(?![\w-])", re.I), task))
    return out


def task_from_text(*texts: Any, earliest: bool = False) -> tuple[str, str] | None:
    """(task, the phrase that named it) from free text, or None. Each text is tried in turn.

    In a short text (a title and summary) the most specific phrase of schema/tasks.yml wins; with
    `earliest=True` (running text, such as a page's body, which also mentions what a model is not
    for: "backbones for object detection") the phrase that occurs first wins.
    """
    for text in texts:
        if not text:
            continue
        text = str(text)[:20_000]
        hits = []
        for rank, (pattern, task) in enumerate(_keywords()):
            m = pattern.search(text)
            if m:
                if not earliest:
                    return task, m.group(0)
                hits.append((m.start(), rank, task, m.group(0)))
        if hits:
            _, _, task, phrase = min(hits)
            return task, phrase
    return None
