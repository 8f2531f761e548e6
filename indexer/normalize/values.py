"""Typed reads of raw fields: a source's value of the wrong type is unknown (None), never an
exception (hostile input: tests/test_hostile_records.py). The normalizers read raw records through
these, except for a few helpers whose rules differ on purpose and stay private to their source:
hf's `_text` takes a number as its text and `_as_list` a scalar as a one-item list (the Hub's card
fields hold either), arxiv's `_text` folds whitespace (the feed wraps titles), github's `_int` and
`_bool` read the API's typed JSON. Changing those would change what existing rows normalize to."""

from __future__ import annotations

import math
from typing import Any


def text(v: Any, limit: int = 1000) -> str | None:
    """A non-empty string, stripped and cut to `limit`; anything else None."""
    if not isinstance(v, str):
        return None
    v = v.strip()[:limit]
    return v or None


def integer(v: Any) -> int | None:
    """An int (not a bool); a float that is a whole number; anything else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        return int(v)
    return v if isinstance(v, int) else None


def number(v: Any) -> float | None:
    """A finite int or float (not a bool) as a float; anything else None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def numbers(v: Any, length: int | None = None) -> list | None:
    """A list of finite numbers (of `length` items, when given), ints kept as ints; else None."""
    if not isinstance(v, (list, tuple)) or not v or (length is not None and len(v) != length):
        return None
    out = []
    for x in v:
        if integer(x) is not None and not isinstance(x, float):
            out.append(integer(x))
        elif number(x) is not None:
            out.append(number(x))
        else:
            return None
    return out


def texts(v: Any, limit: int = 1000, most: int = 100) -> list[str]:
    """The strings of a list (or a lone string), cut to `limit`, at most `most` of them."""
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, (list, tuple)):
        return []
    return [t for t in (text(x, limit) for x in v) if t][:most]


def as_list(v: Any) -> list:
    """A JSON list as it is; anything else (a string, a number, an object, null) as no items."""
    return v if isinstance(v, list) else []
