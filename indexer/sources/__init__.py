"""The registry of sources. Adding a source: a module here, plus one line in BUILTIN."""

from __future__ import annotations

import importlib
from typing import Callable

from ..errors import SourceUnavailable, UnknownSource
from .base import FetchContext, Source

__all__ = ["FetchContext", "Source", "get_source", "register_source", "source_names"]

# name -> "module:Class". Imported lazily: `modelcat search` must not import torch.
BUILTIN: dict[str, str] = {
    "timm": "indexer.sources.timm:TimmSource",
    "torchvision": "indexer.sources.torchvision:TorchvisionSource",
    "openclip": "indexer.sources.openclip:OpenClipSource",
    "torchaudio": "indexer.sources.torchaudio:TorchaudioSource",
    "ngc": "indexer.sources.ngc:NgcSource",  # before hf: its files' sha256 make the Hub's copies candidates
    "hf": "indexer.sources.hf:HubSource",
    "github": "indexer.sources.github:GitHubSource",  # before torchhub: it finds hubconf.py repositories
    "torchhub": "indexer.sources.torchhub:TorchHubSource",
    "kaggle": "indexer.sources.kaggle:KaggleSource",
    "pwc": "indexer.sources.pwc:PwcSource",  # before arxiv: the papers its leaderboards name get read
    "arxiv": "indexer.sources.arxiv:ArxivSource",  # last: it reads the papers the others name
}

_registered: dict[str, Callable[[], Source]] = {}


def register_source(name: str, factory: Callable[[], Source]) -> None:
    """Add a source (plugins, tests). A registered name shadows a built-in one."""
    _registered[name] = factory


def unregister_source(name: str) -> None:
    _registered.pop(name, None)


def source_names() -> list[str]:
    """Every source, in the order a refresh runs them: the built-in ones (each may read what the
    ones before it wrote), then registered ones."""
    return list(BUILTIN) + sorted(set(_registered) - set(BUILTIN))


def get_source(name: str) -> Source:
    if name in _registered:
        return _registered[name]()
    target = BUILTIN.get(name)
    if target is None:
        raise UnknownSource(f"unknown source {name!r}: choose from {', '.join(source_names())}")
    module_name, cls_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise SourceUnavailable(
            f"source {name!r} needs {e.name or 'a package'} which is not installed: "
            "run the README's set-up (pip install -c constraints.txt -e .)"
        ) from e
    return getattr(module, cls_name)()
