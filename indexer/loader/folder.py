"""A model's files downloaded into a folder (a Kaggle variation, an NGC model version), built by
the backend their layout names: a timm config (config.json naming an `architecture`) through
timm's `local-dir:`, a transformers config (`model_type`) through from_pretrained of the folder.
Any other files are a checkpoint whose architecture is in the model's own code: not loadable, and
the error names the files and where they are."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import NotLoadable
from .base import Built, LoadOptions


def layout(folder: Path) -> str | None:
    """"timm", "transformers" or None, from the folder's config.json."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    if isinstance(config.get("architecture"), str):
        return "timm"
    if isinstance(config.get("model_type"), str):
        return "transformers"
    return None


def build_folder(row: dict, folder: Path, opts: LoadOptions) -> Built:
    """The model the folder's layout builds, under the options' strategy and head."""
    found = layout(folder)
    inner = LoadOptions(num_classes=opts.num_classes, pretrained=opts.pretrained, trust_repo=opts.trust_repo,
                        trust_remote_code=opts.trust_remote_code, revision=None, head=opts.head)
    if found == "timm":
        from . import timm_backend

        return timm_backend.build({**row, "local_dir": str(folder)}, inner)
    if found == "transformers":
        from . import transformers_backend

        return transformers_backend.build({**row, "hf_hub_id": str(folder)}, inner)
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    raise NotLoadable(f"{row['id']}: its files ({shown}) are not a timm or transformers folder (no config.json "
                      f"naming an architecture): the model's own code builds it; they are in {folder}")
