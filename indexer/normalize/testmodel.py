"""Is a model a test model (tiny, random, a library's test fixture)? Driven by schema/test_models.yml."""

from __future__ import annotations

import functools
import re

from .tables import load_table


@functools.lru_cache(maxsize=1)
def _rules() -> tuple[tuple[str, str | None, re.Pattern], ...]:
    rules = load_table("test_models").get("rules") or []
    return tuple((r["field"], r.get("source"), re.compile(r["pattern"], re.I)) for r in rules)


def is_test_model(source: str | None, **fields) -> bool:
    """True when a rule of schema/test_models.yml matches one of the given fields (name, author,
    architecture, ...); a field that is not a string never matches."""
    for field, only, pattern in _rules():
        if only is not None and only != source:
            continue
        value = fields.get(field)
        if isinstance(value, str) and pattern.search(value):
            return True
    return False
