"""Dataset names -> canonical ids, driven by schema/datasets.yml."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Iterable

from .tables import SchemaTableError, build_index, load_table, loose_key

ROLES = ("train", "pretrain", "finetune")


@dataclass(frozen=True)
class DatasetRef:
    id: str  # canonical dataset id
    role: str  # train (the only dataset), pretrain (an earlier stage), finetune (the last stage)
    raw: str  # the spelling the source used


@functools.lru_cache(maxsize=1)
def dataset_table() -> dict[str, dict]:
    return load_table("datasets")["datasets"]


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    return build_index(dataset_table(), "datasets")


@functools.lru_cache(maxsize=1)
def _hub_repos() -> dict[str, str]:
    """Hub dataset repositories (lower-cased "owner/name") that are a dataset in another packaging."""
    out: dict[str, str] = {}
    for ident, entry in dataset_table().items():
        for repo in (entry or {}).get("hub_repos") or []:
            key = str(repo).strip().lower()
            if key.count("/") != 1:
                raise SchemaTableError(f"schema/datasets.yml: {ident}.hub_repos: {repo!r} is not owner/name")
            if out.get(key, ident) != ident:
                raise SchemaTableError(f"schema/datasets.yml: hub repo {repo!r} names both {out[key]!r} and {ident!r}")
            out[key] = ident
    return out


@functools.lru_cache(maxsize=1)
def _no_dataset() -> frozenset[str]:
    table = load_table("datasets")
    return frozenset(str(x).strip().lower() for key in ("file_loaders", "placeholders") for x in table.get(key) or [])


def names_no_dataset(raw: Any) -> bool:
    """Whether a card's dataset names none: a file loader of the `datasets` library ("imagefolder",
    "csv": the model was trained on its author's own files) or a placeholder ("custom")."""
    return isinstance(raw, str) and raw.strip().lower().removeprefix("datasets/") in _no_dataset()


@functools.lru_cache(maxsize=None)
def _scoped(scope: str) -> dict[str, tuple[str, ...]]:
    table = (load_table("datasets").get("scoped") or {}).get(scope) or {}
    known = dataset_table()
    out = {}
    for token, ids in table.items():
        ids = tuple(ids or ()) if isinstance(ids, list) or ids is None else (ids,)
        for ident in ids:
            if ident not in known:
                raise SchemaTableError(f"schema/datasets.yml: scoped.{scope}.{token} names unknown {ident!r}")
        out[loose_key(str(token))] = ids
    return out


def canonical_dataset(raw: Any) -> str | None:
    """The canonical id for a dataset spelling ("in1k", "ImageNet-1K", "imagenet_1k"), or None."""
    if raw is None:
        return None
    return _canonical(str(raw).strip())


@functools.lru_cache(maxsize=65536)  # spellings repeat across the Hub's millions of cards
def _canonical(text: str) -> str | None:
    key = loose_key(text)
    if not key:
        return None
    repo = _hub_repos().get(text.lower().removeprefix("datasets/"))  # a known packaging of a dataset
    if repo is not None:
        return repo
    hit = _index().get(key)
    if hit is None and "/" in text:
        # Hub dataset repos: "ILSVRC/imagenet-1k" -> "imagenet-1k"
        hit = _index().get(loose_key(text.rsplit("/", 1)[1]))
    return hit


def dataset_kind(ident: str) -> str | None:
    entry = dataset_table().get(ident)
    return entry.get("kind") if entry else None


@functools.lru_cache(maxsize=1)
def label_space_sizes() -> frozenset[int]:
    """Head sizes that are known classification label spaces (ImageNet-1K's 1000, ...)."""
    return frozenset(n for e in dataset_table().values() for n in (e.get("num_classes") or []))


def datasets_from_tokens(tokens: Iterable[str], scope: str) -> list[tuple[str, str]]:
    """Datasets named in a token sequence, in order, as (canonical id, raw spelling).

    Used for names built from tokens: timm tags ("augreg_in21k_ft_in1k") and torchvision weight
    names ("IMAGENET1K_SWAG_E2E_V1"). The longest run of tokens that names a dataset wins, and
    the source's scoped aliases are tried before the global ones. Each id appears once, at its
    last position (so "in1k_ft_in22k_in1k" ends with imagenet-1k).
    """
    tokens = [t for t in tokens if t]
    scoped = _scoped(scope)
    index = _index()
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        for j in range(len(tokens), i, -1):
            raw = "_".join(tokens[i:j])
            key = loose_key(raw)
            if key in scoped:  # may be empty: tokens that name no dataset ("with_voc_labels")
                ids = scoped[key]
            elif key in index:
                ids = (index[key],)
            else:
                continue
            found.extend((ident, raw) for ident in ids)
            i = j
            break
        else:
            i += 1
    last = {ident: pos for pos, (ident, _) in enumerate(found)}
    return [pair for pos, pair in enumerate(found) if last[pair[0]] == pos]
