"""Is an id what its kind's rule allows (schema/ids.yml)? Pure; the rules are data.

    id_problem("hf_repo", "evil/b\\", x") -> "not a Hub repository id (the Hub's own form): 'evil/b\\", x'"
    id_problem("hf_repo", "timm/resnet18.a1_in1k") -> None
"""

from __future__ import annotations

import functools
import re

from ..textsafe import visible
from .tables import load_table


@functools.lru_cache(maxsize=1)
def _rules() -> dict[str, tuple[re.Pattern, int, tuple[str, ...], tuple[str, ...], str]]:
    data = load_table("ids")
    return {kind: (re.compile(rule["pattern"], re.ASCII), int(rule["max_length"]),
                   tuple(rule.get("forbidden") or ()), tuple(rule.get("forbidden_suffixes") or ()), rule["source"])
            for kind, rule in data.items()}


def id_problem(kind: str, value) -> str | None:
    """None when `value` is a valid id of `kind`; else why not, in one printable line."""
    pattern, max_length, forbidden, suffixes, whose = _rules()[kind]
    if not isinstance(value, str) or not value:
        return f"no {kind} id"
    shown = visible(value[:120]) + ("…" if len(value) > 120 else "")
    if len(value) > max_length:
        return f"a {kind} id longer than {max_length} characters ({len(value):,}): {shown!s}"
    if not pattern.fullmatch(value) or any(f in value for f in forbidden) or value.endswith(suffixes):
        return f"not a valid {kind} id ({whose}): {shown}"
    return None


def valid_id(kind: str, value) -> bool:
    return id_problem(kind, value) is None


def hub_entity(repo_id: str) -> str:
    """The entity of a Hub repository's weights: `timm/<arch>.<tag>` holds timm's <arch>.<tag>
    (that row's entity), any other repository is its own `hf:` row's."""
    return f"timm:{repo_id[5:]}" if repo_id.startswith("timm/") and "." in repo_id else f"hf:{repo_id}"


@functools.lru_cache(maxsize=1)
def _stated_copies() -> tuple[tuple[str, re.Pattern, re.Pattern | None, str, str], ...]:
    rules = load_table("entities").get("stated_copies") or []
    return tuple((r["source"], re.compile(r["pattern"]), re.compile(r["skip"]) if r.get("skip") else None,
                  r["copy"], " ".join(str(r["evidence"]).split())) for r in rules)


def stated_copy(source: str, ident: str) -> tuple[str, str] | None:
    """(the Hub repository, the evidence) where the publisher of this row (`ident` without its
    source's prefix) states it copies its files there (schema/entities.yml, stated_copies); a
    valid Hub repository id only, never from anything but the stated rule.

    >>> stated_copy("kaggle", "keras/bert/keras/bert_base_en")[0]
    'keras/bert_base_en'
    >>> stated_copy("kaggle", "keras/gemma/keras/gemma_2b_en") is None
    True
    """
    for src, pattern, skip, copy, evidence in _stated_copies():
        if src != source:
            continue
        m = pattern.fullmatch(ident)
        if m is None or (skip is not None and skip.search(ident)):
            continue
        repo = copy.format(**m.groupdict())
        if valid_id("hf_repo", repo):
            return repo, evidence
    return None
