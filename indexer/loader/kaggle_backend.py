"""kaggle rows (kaggle:<owner>/<model>/<framework>/<variation>): the variation's files, downloaded
as kagglehub downloads them, then built by the backend their layout names.

Files come through the routes of Kaggle's own clients (kagglesdk's ModelApiService, as kagglehub
calls it):

    GET {KAGGLE_API_URL}/api/v1/models/{owner}/{model}/{framework}/{variation}/{version}/files
        ?pageSize=N&pageToken=T -> {files: [{name, size, creationDate}], nextPageToken}
    GET .../{version}/download/{path} -> the file (Kaggle answers with a redirect to its storage)

into kagglehub's own cache ($KAGGLEHUB_CACHE, default ~/.cache/kagglehub:
models/<owner>/<model>/<framework>/<variation>/<version>/, complete when <version>.complete is
there), so what `kagglehub.model_download(handle)` fetched loads offline, and the other way round.
The version is the catalog row's (the one the last refresh saw); `revision=` names another.
Credentials as Kaggle's tools read them, from the environment, never stored.

The folder is built by the backend its layout names (loader/folder.py): a timm or transformers
folder; any other files are a checkpoint the model's own code builds, refused naming them.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from ..errors import LoadError, NotLoadable, WeightsUnavailable
from .base import Built, LoadOptions
from .folder import build_folder, download_lock, fetch_file, safe_name

PAGE_SIZE = 100
TIMEOUT_S = 60
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def cache_root() -> Path:
    return Path(os.environ.get("KAGGLEHUB_CACHE") or Path.home() / ".cache" / "kagglehub")


def handle_parts(row: dict) -> tuple[str, str, str, str]:
    parts = row["id"].split(":", 1)[1].split("/")
    if len(parts) != 4 or not all(_SLUG.fullmatch(p) for p in parts):
        raise NotLoadable(f"{row['id']}: not a Kaggle variation handle (owner/model/framework/variation)")
    return parts[0], parts[1], parts[2], parts[3]


def _version(row: dict, opts: LoadOptions) -> int:
    raw = opts.revision if opts.revision is not None else (row.get("extra") or {}).get("version")
    try:
        version = int(str(raw))
    except (TypeError, ValueError):
        if opts.revision is not None:
            raise LoadError(f"{row['id']}: Kaggle versions are numbers; revision={raw!r} is not one") from None
        raise WeightsUnavailable(f"{row['id']}: the catalog has no version of this variation: pass revision=N "
                                 "(its version number on Kaggle), or run `modelcat refresh --source kaggle`") from None
    if version < 1:
        raise LoadError(f"{row['id']}: Kaggle versions start at 1, not {version}")
    return version


def download(row: dict, version: int) -> Path:
    """The variation's folder in kagglehub's cache, downloaded unless it is complete there (one
    process at a time: the others wait for it, then read the folder)."""
    owner, model, framework, variation = handle_parts(row)
    base = cache_root() / "models" / owner / model / framework / variation
    if (base / f"{version}.complete").exists() and (base / str(version)).is_dir():
        return base / str(version)
    with download_lock(base / f"{version}.lock"):
        return _download(row, version)


def _download(row: dict, version: int) -> Path:
    owner, model, framework, variation = handle_parts(row)
    base = cache_root() / "models" / owner / model / framework / variation
    folder, marker = base / str(version), base / f"{version}.complete"
    if marker.exists() and folder.is_dir():
        return folder  # another process finished it while this one waited
    import requests

    from ..sources.kaggle import _api_url, _auth_header

    headers, credentials = _auth_header()
    url = f"{_api_url()}/api/v1/models/{owner}/{model}/{framework}/{variation}/{version}"
    session = requests.Session()

    def get(u: str, what: str, **kw):
        try:
            r = session.get(u, headers=headers, timeout=TIMEOUT_S, **kw)
        except requests.RequestException as e:
            raise WeightsUnavailable(f"{row['id']}: Kaggle cannot be reached for {what} ({type(e).__name__}) and "
                                     f"version {version} is not in kagglehub's cache ({folder}): connect, or download "
                                     f"it there with kagglehub.model_download(\"{owner}/{model}/{framework}/"
                                     f"{variation}/{version}\")") from None
        if r.status_code in (401, 403):
            why = f"the credentials from {credentials} were refused" if credentials else \
                "Kaggle asks for credentials: set KAGGLE_API_TOKEN, or KAGGLE_USERNAME and KAGGLE_KEY"
            raise WeightsUnavailable(f"{row['id']}: {what}: {why} (some models also ask you to accept their "
                                     "license on kaggle.com first)")
        if r.status_code == 404:
            raise WeightsUnavailable(f"{row['id']}: Kaggle has no version {version} of this variation ({what}): "
                                     "pass revision=N for another, or refresh the catalog")
        if r.status_code != 200:
            raise WeightsUnavailable(f"{row['id']}: Kaggle answered HTTP {r.status_code} for {what}; try again later")
        return r

    files: dict[str, int | None] = {}
    token = ""
    for _ in range(1000):
        r = get(f"{url}/files", "its file list", params={"pageSize": PAGE_SIZE, **({"pageToken": token} if token else {})})
        try:
            body = r.json()
        except ValueError:
            raise WeightsUnavailable(f"{row['id']}: Kaggle's file list was not JSON; try again later") from None
        for f in body.get("files") or [] if isinstance(body, dict) else []:
            name = safe_name(f.get("name")) if isinstance(f, dict) else None
            if name is None:
                raise WeightsUnavailable(f"{row['id']}: Kaggle lists a file named {str(f)[:80]!r}, which would be "
                                         "written outside the model's folder: refused")
            size = f.get("size")
            files[name] = size if isinstance(size, int) and size >= 0 else None
        token = body.get("nextPageToken") if isinstance(body, dict) and isinstance(body.get("nextPageToken"), str) else ""
        if not token:
            break
    if not files:
        raise WeightsUnavailable(f"{row['id']}: Kaggle lists no files in version {version} of this variation")
    if folder.exists():
        shutil.rmtree(folder)  # an incomplete earlier download
    for name, size in sorted(files.items()):
        fetch_file(get, f"{url}/download/{name}", folder, name, size, None, row["id"])
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    return folder


def build(row: dict, opts: LoadOptions) -> Built:
    version = _version(row, opts)
    return build_folder(row, download(row, version), opts)
