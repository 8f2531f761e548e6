"""Catalog ids (`timm:resnet18.a1_in1k`, `hf:owner/name`, `arxiv:2010.11929`, `github:owner/name`):
what kind of row an id names, decided from its prefix here and nowhere else. The catalog's API
(indexer.store: find, require, similar_ids) and the pages build on it."""

from __future__ import annotations

# prefix -> (kind, table); any other prefix names a model (one per model source)
_OTHER_KINDS = {"arxiv": ("paper", "papers"), "github": ("repository", "repos")}
MODEL_PREFIXES = ("timm:", "torchvision:", "hf:", "torchhub:", "openclip:", "torchaudio:", "ngc:", "kaggle:")  # the sources that write models


def _prefix(catalog_id: str) -> str:
    return catalog_id.split(":", 1)[0].lower() if ":" in catalog_id else ""


def id_kind(catalog_id: str) -> str:
    """"model", "paper" or "repository"."""
    return _OTHER_KINDS.get(_prefix(catalog_id), ("model", "models"))[0]


def id_table(catalog_id: str) -> str:
    """The table that holds the row: models, papers or repos."""
    return _OTHER_KINDS.get(_prefix(catalog_id), ("model", "models"))[1]


def is_model_id(value: str) -> bool:
    return value.startswith(MODEL_PREFIXES)
