"""A model's files downloaded into a folder (a Kaggle variation, an NGC model version), built by
the backend their layout names: a timm config (config.json naming an `architecture`) through
timm's `local-dir:`, a transformers config (`model_type`) through from_pretrained of the folder.
Any other files are a checkpoint whose architecture is in the model's own code: not loadable, and
the error names the files and where they are."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from ..errors import NotLoadable, WeightsUnavailable
from .base import Built, LoadOptions

CHUNK = 1 << 20


@contextlib.contextmanager
def download_lock(path: Path):
    """An exclusive lock on `path` (a file beside the model's folder) while one process downloads:
    the others (the processes of one torchrun job, each calling load_model) wait, then find the
    folder complete. POSIX file locks; where there are none (Windows), no lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def safe_name(name) -> str | None:
    """A listed file name as a relative path inside the folder, or None for one that would leave it."""
    if not isinstance(name, str) or not name or "\\" in name or not name.isprintable():
        return None
    parts = name.split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    return name


def fetch_file(get, url: str, folder: Path, name: str, size: int | None, sha256: bytes | None, ident: str) -> None:
    """One listed file into folder/name (get(url, what, stream=True) answers or raises), through a
    .part file kept only when whole: its listed size and, where the listing gives one, its sha256."""
    import hashlib
    import os

    import requests

    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    got, digest = 0, hashlib.sha256()
    try:
        with get(url, name, stream=True) as r, open(partial, "wb") as out:
            for chunk in r.iter_content(CHUNK):
                got += len(chunk)
                digest.update(chunk)
                out.write(chunk)
    except requests.RequestException as e:  # the connection dropped mid-file
        partial.unlink(missing_ok=True)
        raise WeightsUnavailable(f"{ident}: {name} arrived cut ({got} bytes, then {type(e).__name__}); "
                                 "try again") from None
    if size is not None and got != size:
        partial.unlink(missing_ok=True)
        raise WeightsUnavailable(f"{ident}: {name} arrived cut ({got} of {size} bytes); try again")
    if sha256 is not None and digest.digest() != sha256:
        partial.unlink(missing_ok=True)
        raise WeightsUnavailable(f"{ident}: {name} does not match the sha256 its source lists for it: not kept; "
                                 "try again")
    os.replace(partial, target)


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
