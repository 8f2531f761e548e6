"""Can a catalog row become a torch model, and through which loader backend? Pure, driven by
schema/loaders.yml; run at refresh time so the catalog can be filtered and faceted on it."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .tables import SchemaTableError, load_table


@dataclass(frozen=True)
class Loadability:
    loadable: bool
    backend: str | None  # timm | transformers | torchvision | torchhub | openclip | torchaudio | kaggle | ngc
    note: str | None  # not loadable: why, and what to do instead; loadable: a condition, if any


@functools.lru_cache(maxsize=1)
def _table() -> dict:
    t = load_table("loaders")
    for key in ("sources", "libraries", "torch_formats", "not_loadable", "foreign_formats"):
        if key not in t:
            raise SchemaTableError(f"schema/loaders.yml: '{key}' is missing")
    return t


def _blocked(library: str | None, tags: list[str]) -> str | None:
    """The not_loadable entry naming this library or one of these tags, as 'reason: fix'."""
    table = _table()["not_loadable"]
    for key in ([library] if library else []) + [t.lower() for t in tags]:
        entry = table.get(key)
        if entry:
            return f"{entry['reason']}: {entry['fix']}"
    return None


def loadability(source: str | None, library: str | None, tags: list[str] | None = None,
                gated: str | None = None) -> Loadability:
    """Whether `load_model` can build this row, and with which backend.

    >>> loadability("hf", "transformers", ["pytorch", "vit"]).backend
    'transformers'
    >>> loadability("hf", "gguf", ["gguf"]).loadable
    False
    """
    t = _table()
    tags = [x for x in (tags or []) if isinstance(x, str)]
    lowered = {x.lower() for x in tags}
    library = library.lower() if isinstance(library, str) and library else None
    if source in t["sources"]:
        for tag in tags:
            entry = (t.get("pipeline_tags") or {}).get(tag.lower())
            if entry:  # a pipeline of a source whose other rows load
                return Loadability(False, None, f"{entry['reason']}: {entry['fix']}")
        backend = t["sources"][source]
        note = "runs the repository's hubconf.py: pass trust_repo=True or allow-list the repository" \
            if backend == "torchhub" else None
        return Loadability(True, backend, note)
    if source != "hf":
        entry = (t.get("source_libraries") or {}).get(f"{source}-{library}") if library else None
        if entry:  # a Kaggle PyTorch variation: its files, once downloaded
            return Loadability(True, entry["backend"], entry.get("note"))
        # a Kaggle TensorFlow variation, an NGC NeMo or TensorRT model: what loads it
        blocked = _blocked(f"{source}-{library}", []) if library else None
        blocked = blocked or _blocked(library, tags)
        return Loadability(False, None, blocked or f"rows of source {source!r} have no loader backend")
    backend = t["libraries"].get(library) if library else None
    if backend is None and "transformers" in lowered:
        backend = "transformers"  # e.g. a sentence-transformers repo that has transformers weights
    if backend is None:
        blocked = _blocked(library, tags)
        if blocked:
            return Loadability(False, None, blocked)
        what = f"library {library!r}" if library else "no library tag"
        return Loadability(False, None, f"{what}: modelcat loads timm, transformers and open_clip repositories only")
    if backend == "transformers" and not lowered & set(t["torch_formats"]):
        foreign = sorted({name for tag, name in t["foreign_formats"].items() if tag in lowered})
        if foreign:
            return Loadability(False, None, f"{' and '.join(foreign)} weights only: pick a repository "
                                            "with PyTorch (safetensors) weights")
        blocked = _blocked(None, tags)
        if blocked:
            return Loadability(False, None, blocked)
    note = "gated: request access on the Hub, then set HF_TOKEN" if gated else None
    return Loadability(True, backend, note)
