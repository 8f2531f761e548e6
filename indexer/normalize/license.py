"""License strings -> (SPDX-style id, family, is_open), driven by schema/licenses.yml."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from .tables import SchemaTableError, build_index, load_table, loose_key

FAMILIES = ("permissive", "copyleft", "restricted", "non-commercial", "unknown")
OPEN_FAMILIES = frozenset({"permissive", "copyleft"})
# For a list of licenses: the most restrictive family wins (everything listed must allow the use).
_STRICTNESS = {"permissive": 0, "copyleft": 1, "restricted": 2, "non-commercial": 3, "unknown": 4}

_CC_URL = re.compile(r"creativecommons\.org/(?:licenses|publicdomain)/([a-z-]+)/(\d\.\d)", re.I)


@dataclass(frozen=True)
class License:
    id: str  # lower-case SPDX-style id, "other" or "unknown"
    family: str  # one of FAMILIES
    raw: str | None  # the value as the source gave it (lists joined with ", ")
    name: str | None = None  # for "other": the license's own name when the source gives one

    @property
    def is_open(self) -> bool:
        return self.family in OPEN_FAMILIES


@functools.lru_cache(maxsize=1)
def _table() -> tuple[dict[str, dict], dict[str, str]]:
    entries = load_table("licenses")["licenses"]
    for ident, entry in entries.items():
        if entry.get("family") not in FAMILIES:
            raise SchemaTableError(f"schema/licenses.yml: {ident}: family must be one of {FAMILIES}")
    return entries, build_index(entries, "licenses")


def _family(ident: str) -> str:
    return _table()[0][ident]["family"]


@functools.lru_cache(maxsize=8192)
def _lookup(text: str) -> str | None:
    """The id for one spelling, or None when the table does not know it."""
    entries, index = _table()
    stripped = text.strip().strip("\"'`").strip()
    key = loose_key(stripped)
    if not key:
        return "unknown"
    if key in index:
        return index[key]
    return _lookup_in_prose(stripped)


@functools.lru_cache(maxsize=1)
def _prose_patterns() -> list[tuple[re.Pattern, str]]:
    """Whole-phrase patterns for finding a license named inside a sentence.

    Only spellings of 4+ characters that are not "unknown"/"other" take part, so "MIT" or "BSD"
    alone in prose is not matched loosely ("Submitted" must not become MIT).
    """
    entries, _ = _table()
    patterns = []
    for ident, entry in entries.items():
        if ident in ("other", "unknown"):
            continue
        for spelling in [ident, entry.get("name") or "", *(entry.get("aliases") or [])]:
            spelling = str(spelling)
            if len(spelling) < 4 or spelling.startswith("http"):
                continue
            words = re.split(r"[\s\-_]+", spelling.strip())
            body = r"[\s\-_,]*".join(re.escape(w) for w in words if w)
            patterns.append((re.compile(rf"(?<![\w.]){body}(?![\w+])", re.I), ident))
    return patterns


def _lookup_in_prose(text: str) -> str | None:
    text = text[:10_000]
    entries, _ = _table()
    hits = []
    for pattern, ident in _prose_patterns():
        hits.extend((m.start(), m.end(), ident) for m in pattern.finditer(text))
    for m in _CC_URL.finditer(text):  # creativecommons.org/licenses/by-nc/4.0 -> cc-by-nc-4.0
        kind, version = m.group(1).lower(), m.group(2)
        ident = "cc0-1.0" if kind == "zero" else f"cc-{kind}-{version}"
        if ident in entries:
            hits.append((m.start(), m.end(), ident))
    # A hit inside a longer hit is part of it ("LGPL" in "LGPL-3.0"); what is left must name a
    # single license: "CC-BY-NC-4.0 (derived from CC-BY-4.0 data)" names two, and is not guessed.
    hits.sort(key=lambda h: (h[0], -h[1]))  # by start, longest first: a container precedes its parts
    found, cover = set(), (-1, -1)  # the span reaching furthest right so far
    for start, end, ident in hits:
        if end <= cover[1] and (start, end) != cover:
            continue
        found.add(ident)
        if end > cover[1]:
            cover = (start, end)
    return found.pop() if len(found) == 1 else None


def _one(value: Any) -> tuple[str, str | None]:
    """(id, name-for-other) for one raw value that is not a list."""
    if value is None:
        return "unknown", None
    text = str(value)
    ident = _lookup(text)
    if ident is None:
        return "other", text.strip()[:200]
    return ident, None


def normalize_license(raw: Any, name: Any = None) -> License:
    """Normalize a license as a source gives it (see _normalize_license). Text values repeat
    across the Hub's millions of models: their answers (immutable License values) are cached."""
    if (raw is None or type(raw) is str) and (name is None or type(name) is str):
        return _normalize_text(raw, name)
    return _normalize_license(raw, name)


@functools.lru_cache(maxsize=65536)
def _normalize_text(raw: str | None, name: str | None) -> License:
    return _normalize_license(raw, name)


def _normalize_license(raw: Any, name: Any = None) -> License:
    """Normalize a license as a source gives it.

    `raw` may be None, a string (an id, free text, a URL) or a list of those (each must allow
    the use, so the most restrictive family wins; the id is the first known one). `name` is the
    Hub's `license_name` that comes with `license: other`: a known name resolves to its id.
    """
    if isinstance(raw, (list, tuple)):
        items = [x for x in raw if x is not None and str(x).strip()]
        raw_text = ", ".join(str(x) for x in items) or None
        if not items:
            return License("unknown", "unknown", raw_text)
        parts = [_one(x) for x in items]
        known = [p for p in parts if p[0] not in ("unknown", "other")]
        ident, other_name = (known or parts)[0]
        family = max((_family(p[0]) for p in parts), key=_STRICTNESS.__getitem__)
        return License(ident, family, raw_text, other_name)

    raw_text = None if raw is None else str(raw)
    ident, other_name = _one(raw)
    if ident in ("other", "unknown") and name is not None and str(name).strip():
        named, _ = _one(name)
        if named not in ("other", "unknown"):
            return License(named, _family(named), raw_text, str(name).strip())
        return License("other", "unknown", raw_text, str(name).strip()[:200])
    return License(ident, _family(ident), raw_text, other_name)
