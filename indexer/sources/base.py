"""The one protocol every source follows.

    fetch(ctx)      -> iterator of raw dicts (JSON-able, as close to the source as possible)
    normalize(raw)  -> ModelRecord, or raise SkipRecord(reason)

Sources know their client library and nothing about SQL; refresh.py does the writing.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

from ..records import ModelRecord

Progress = Callable[[int, "int | None", str], None]


def _no_progress(done: int, total: int | None, message: str) -> None:
    pass


@dataclass
class FetchContext:
    cache_dir: Path  # a folder the source may keep caches in (keyed by what they depend on)
    progress: Progress = _no_progress  # progress(done, total or None, what)
    config: dict[str, Any] = field(default_factory=dict)  # the source's settings
    state: dict[str, Any] = field(default_factory=dict)  # checkpoint from earlier runs
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("modelcat"))
    details: dict[str, Any] = field(default_factory=dict)  # what the source reports for the run row


class Source:
    name: ClassVar[str]
    needs_network: ClassVar[bool] = False
    # True: every fetch lists everything the source has, so rows it no longer lists are removed.
    full_listing: ClassVar[bool] = True

    def version(self) -> str | None:
        """Version of what is read (a library version); stored on runs and rows."""
        return None

    def fetch(self, ctx: FetchContext) -> Iterator[dict]:
        raise NotImplementedError

    def normalize(self, raw: dict) -> ModelRecord:
        raise NotImplementedError


# ---------------------------------------------------------------------- helpers for sources
def jsonable(value: Any) -> Any:
    """Library objects -> plain JSON data for raw records (tuples become lists; enums their value
    when it is plain, else Class.MEMBER; anything else its str)."""
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        if isinstance(value.value, (str, int, float)):
            return value.value
        return f"{type(value).__name__}.{value.name}"
    return str(value)


_WORD = re.compile(r"[a-z]+")


def family_words(name: str) -> list[str]:
    """Search words for an architecture name: the leading letters of each '_' token, 3+ long
    ("resnet50d" -> "resnet", "vit_base_patch16_224" -> "vit", "base", "patch")."""
    words = []
    for token in name.lower().split("_"):
        m = _WORD.match(token)
        if m and len(m.group(0)) > 2 and m.group(0) not in words:
            words.append(m.group(0))
    return words
