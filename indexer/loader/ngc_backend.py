"""ngc rows (ngc:<org>[/<team>]/<name>): a model version's files from NVIDIA NGC, then built by the
backend their layout names (loader/folder.py): a timm or a transformers folder. Most NGC models are
NeMo, TAO, TensorRT or Riva artifacts, refused at refresh time (schema/loaders.yml); the PyTorch and
transformers ones load where their files are such a folder. A plain checkpoint (NVIDIA's
DeepLearningExamples publish `.pth.tar` state dicts whose architecture is their own code) is refused
before anything is downloaded: the version's file list already says there is no config.json.

The routes are NVIDIA's CLI's (the `ngcsdk` package: registry/api/models.py `list_files`) and the
public download address NVIDIA's own code names:

    GET {NGC_API_URL}/v2/org/<org>[/team/<team>]/models/<name>/versions/<version>/files?page-size=1000
        -> {"modelFiles": [{path, sizeInBytes, sha256_base64}], "paginationInfo": {totalPages}}
    GET {NGC_API_URL}/v2/models/<org>/[<team>/]<name>/versions/<version>/files/<path>
        -> the file (NGC answers with a redirect to its storage)

Each file is checked against the listed size and sha256 before it is kept. The folder is
modelcat's cache (MODELCAT_CACHE_DIR, else ~/.cache/modelcat): ngc/<org>/[<team>/]<name>/<version>/,
complete when <version>.complete is there; a complete folder loads offline. The version is the
catalog row's latest (the last refresh's); `revision=` names another. NGC_API_KEY is sent where set
(never stored).
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path
from urllib.parse import quote

from ..errors import LoadError, NotLoadable, WeightsUnavailable
from .base import Built, LoadOptions
from .folder import build_folder, download_lock, fetch_file, safe_name

TIMEOUT_S = 60
FILE_PAGES = 20
LAYOUT_FILE = "config.json"  # what a timm or transformers folder has at its top (loader/folder.py)


def _parts(row: dict) -> list[str]:
    from ..normalize.ids import valid_id

    rid = row["id"].split(":", 1)[1]
    if not valid_id("ngc", rid):
        raise NotLoadable(f"{row['id']}: not an NGC model id (org/[team/]name)")
    return rid.split("/")


def _version(row: dict, opts: LoadOptions) -> str:
    from ..sources.ngc import _SAFE_PART

    raw = opts.revision if opts.revision is not None else (row.get("extra") or {}).get("latest_version")
    if raw is None:
        raise WeightsUnavailable(f"{row['id']}: the catalog has no version of this model: pass revision=\"...\" "
                                 "(its version on NGC), or run `modelcat refresh --source ngc`")
    if not isinstance(raw, str) or not _SAFE_PART.fullmatch(raw):
        raise LoadError(f"{row['id']}: {str(raw)[:60]!r} is not an NGC version (letters, digits, '.', '_', '-')")
    return raw


def folder_for(row: dict, version: str) -> Path:
    from ..paths import cache_dir

    return cache_dir().joinpath("ngc", *_parts(row), version)


def download(row: dict, version: str) -> Path:
    """The version's folder in modelcat's cache, downloaded unless complete there (one process at a
    time: the others wait for it, then read the folder); refused before any download when its
    files are not a folder a backend builds."""
    folder = folder_for(row, version)
    if folder.with_name(f"{version}.complete").exists() and folder.is_dir():
        return folder
    with download_lock(folder.with_name(f"{version}.lock")):
        return _download(row, version)


def _download(row: dict, version: str) -> Path:
    import requests

    from ..sources.ngc import _api_url, _headers, _org_team_path

    parts = _parts(row)
    folder = folder_for(row, version)
    marker = folder.with_name(f"{version}.complete")
    if marker.exists() and folder.is_dir():
        return folder  # another process finished it while this one waited
    rid = "/".join(parts)
    base = _api_url()
    session = requests.Session()
    keyed = "NGC_API_KEY" in os.environ

    def get(url: str, what: str, **kw):
        try:
            r = session.get(url, headers=_headers(), timeout=TIMEOUT_S, **kw)
        except requests.RequestException as e:
            raise WeightsUnavailable(f"{row['id']}: NGC cannot be reached for {what} ({type(e).__name__}) and version "
                                     f"{version} is not in the cache ({folder}): connect, or download it there with "
                                     f"`ngc registry model download-version \"{rid}:{version}\"`") from None
        if r.status_code in (401, 403):
            why = "NGC_API_KEY was refused: check it" if keyed else \
                "NGC asks for an API key for this model: set NGC_API_KEY (an NGC personal key)"
            raise WeightsUnavailable(f"{row['id']}: {what}: {why}")
        if r.status_code == 402:
            raise WeightsUnavailable(f"{row['id']}: {what}: NGC answered 402 (this account has no entitlement for the "
                                     f"model): request access on its page, {row.get('url') or 'catalog.ngc.nvidia.com'}")
        if r.status_code == 404:
            raise WeightsUnavailable(f"{row['id']}: NGC has no version {version} of this model ({what}): pass "
                                     "revision=\"...\" for another, or refresh the catalog")
        if r.status_code != 200:
            raise WeightsUnavailable(f"{row['id']}: NGC answered HTTP {r.status_code} for {what}; try again later")
        return r

    listing = f"{base}/v2/{_org_team_path(rid)}/versions/{quote(version, safe='')}/files"
    files: dict[str, tuple[int | None, bytes | None]] = {}
    for page in range(FILE_PAGES):
        r = get(listing, "its file list", params={"page-size": 1000, **({"page-number": page} if page else {})})
        try:
            body = r.json()
        except ValueError:
            raise WeightsUnavailable(f"{row['id']}: NGC's file list was not JSON; try again later") from None
        body = body if isinstance(body, dict) else {}
        for f in body.get("modelFiles") or []:
            name = safe_name(f.get("path")) if isinstance(f, dict) else None
            if name is None:
                raise WeightsUnavailable(f"{row['id']}: NGC lists a file named {str(f)[:80]!r}, which would be "
                                         "written outside the model's folder: refused")
            size = f.get("sizeInBytes")
            listed = f.get("sha256_base64")
            try:
                digest = base64.b64decode(listed, validate=True) if isinstance(listed, str) and listed else None
            except ValueError:  # binascii.Error is one
                digest = None
            files[name] = (size if isinstance(size, int) and size >= 0 else None,
                           digest if digest and len(digest) == 32 else None)
        info = body.get("paginationInfo") if isinstance(body.get("paginationInfo"), dict) else {}
        pages = info.get("totalPages") if isinstance(info.get("totalPages"), int) else 1
        if page + 1 >= pages:
            break
    if not files:
        raise WeightsUnavailable(f"{row['id']}: NGC lists no files in version {version} of this model")
    if LAYOUT_FILE not in files:
        names = sorted(files)
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        raise NotLoadable(f"{row['id']}: version {version}'s files ({shown}) are a checkpoint, not a timm or "
                          "transformers folder (no config.json): the model's own code builds it (NVIDIA's, for "
                          f"their examples); download it with `ngc registry model download-version \"{rid}:{version}\"`")
    if folder.exists():
        shutil.rmtree(folder)  # an incomplete earlier download
    public = f"{base}/v2/models/{'/'.join(quote(p, safe='') for p in parts)}/versions/{quote(version, safe='')}/files"
    for name, (size, digest) in sorted(files.items()):
        fetch_file(get, f"{public}/{quote(name)}", folder, name, size, digest, row["id"])
    marker.touch()
    return folder


def build(row: dict, opts: LoadOptions) -> Built:
    return build_folder(row, download(row, _version(row, opts)), opts)
