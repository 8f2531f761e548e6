"""An in-memory Hugging Face Hub *file* server, for tests that run the real downloaders
(`huggingface_hub.hf_hub_download`, `timm.create_model(..., pretrained=True)`,
`transformers.Auto*.from_pretrained`) without the network.

    with HubFiles() as hub:
        hub.put_dir("timm/test_vit.r160_in1k", saved_dir)     # or put_repo(repo_id, {name: bytes})
        point_clients_at(monkeypatch, hub.url, tmp_path / "hf")
        timm.create_model("test_vit.r160_in1k", pretrained=True)

Repos are git-like: every put_repo / remove_file is a new commit (a 40-hex sha) on a branch, and
earlier commits stay downloadable by their sha. Shapes follow huggingface.co as huggingface_hub
2.4.0 reads them (file_download.py, utils/_http.py, hf_api.py).

Endpoints:

* ``HEAD`` / ``GET /{repo_id}/resolve/{revision}/{filename}`` - revision is a branch or a commit
  sha (URL-quoted; the client quotes "/" as %2F); filename may contain "/". 200 with
  ``X-Repo-Commit`` (the sha), ``ETag`` (quoted: the sha256 of the content for LFS-like files -
  weights, archives, files >= 10 MiB - else the git blob sha1), ``Content-Length``,
  ``Accept-Ranges: bytes``; never ``X-Xet-Hash`` (so no Xet download) and never a redirect.
  ``GET`` honours one ``Range: bytes=a-b`` / ``a-`` / ``-n`` (206 + ``Content-Range``; 416 with
  ``Content-Range: bytes */size`` when unsatisfiable). Errors: 404 ``X-Error-Code: RepoNotFound``;
  gated repo without an allowed bearer token: 401 (no token) or 403 (other token)
  ``X-Error-Code: GatedRepo``; 404 ``RevisionNotFound``; 404 ``EntryNotFound`` (with
  ``X-Repo-Commit``, which the client uses to cache the file's absence under ``.no_exist``).
* ``GET /api/models/{repo_id}`` and ``.../revision/{rev}`` - model info: ``_id``, ``id``,
  ``modelId``, ``author``, ``sha``, ``lastModified``, ``createdAt``, ``private``, ``disabled``,
  ``gated`` (false, "auto" or "manual"), ``downloads``, ``likes``, ``tags``, ``library_name``,
  ``pipeline_tag`` (when known), ``config`` (architectures / model_type from config.json),
  ``siblings`` ([{"rfilename"}]; with ``blobs=true`` also ``size``, ``blobId``, ``lfs``),
  ``spaces``, ``usedStorage``, ``securityRepoStatus`` (with ``securityStatus=true``), plus what
  put_repo's ``info=`` adds. ``expand=`` answers ``_id``, ``id`` and the asked fields. Gated repos'
  info is public, as on the Hub.
* ``GET /api/models/{repo_id}/tree/{rev}[/{path}]?recursive=&expand=&cursor=`` - the listing
  (``HfApi.list_repo_tree`` / ``list_repo_files``): ``{"type": "file", "oid", "size", "path",
  "lfs": {"oid", "size", "pointerSize"}}`` and ``{"type": "directory", "oid", "size": 0,
  "path"}``; ``expand=true`` adds ``lastCommit`` and ``securityFileStatus``. 1000 entries a page
  (50 with expand), the next page in ``Link: <absolute url>; rel="next"``. A path that is not a
  folder: 404 ``EntryNotFound``.
* ``POST /api/models/{repo_id}/paths-info/{rev}`` (form ``paths=...&expand=``) - the same entries
  for the paths that exist (``HfApi.get_paths_info``).
* ``HEAD`` / ``GET /datasets/{repo_id}/resolve/{revision}/{filename}`` - the same, for dataset repos
  (``put_repo(..., repo_type="dataset")``; ``hf_hub_download(..., repo_type="dataset")``).
* Anything else (``/api/agent-harnesses``, ``/api/telemetry/...``, spaces, ...) - 404
  JSON ``{"error": "Not Found"}``; other methods on the API - 405.

Every request is logged in ``requests`` as (method, raw path with its query string), so a test
can assert on what the clients asked (or that offline mode asked nothing).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlencode, urlsplit

from .hub import EXPAND_KEYS
from .server import JSON_TYPE as _JSON
from .server import DispatchHandler, TrackedServer
from .server import ReplayHTTPError as _HTTPError
from .server import dumps_json as _dumps

__all__ = ["HubFiles", "point_clients_at", "LFS_SUFFIXES"]

# Suffixes the Hub's default .gitattributes stores in LFS (and so serves with a sha256 ETag).
LFS_SUFFIXES = (
    ".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".ftz", ".gguf", ".gz", ".h5", ".joblib", ".mlmodel",
    ".model", ".msgpack", ".npy", ".npz", ".onnx", ".ot", ".parquet", ".pb", ".pickle", ".pkl", ".pt",
    ".pth", ".rar", ".safetensors", ".tar", ".tflite", ".tgz", ".wasm", ".xz", ".zip", ".zst",
)
LFS_MIN_SIZE = 10 * 1024 * 1024
TREE_PAGE = 1000
TREE_PAGE_EXPANDED = 50

_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_OID_BASE = 0x63B0CD00 << 64  # 2023-01-01T00:00:00Z as an ObjectId timestamp
_TRUE = frozenset({"true", "1", "yes", "True", "TRUE"})
_SECURITY_FILE_STATUS = {"status": "safe", "avScan": {"virusFound": False, "virusNames": None},
                         "pickleImportScan": None}


def _now_iso() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _flag(query: dict, name: str) -> bool:
    vals = query.get(name)
    return bool(vals) and vals[-1] in _TRUE


@dataclass(frozen=True)
class _Blob:
    data: bytes
    git_oid: str        # sha1 of "blob {size}\0" + data (of the pointer file when LFS), as git stores it
    sha256: str
    lfs: bool
    pointer_size: int

    @classmethod
    def of(cls, path: str, data: bytes) -> "_Blob":
        sha256 = hashlib.sha256(data).hexdigest()
        lfs = path.lower().endswith(LFS_SUFFIXES) or len(data) >= LFS_MIN_SIZE
        stored = (f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {len(data)}\n"
                  .encode() if lfs else data)
        git_oid = hashlib.sha1(b"blob %d\0" % len(stored) + stored).hexdigest()
        return cls(data, git_oid, sha256, lfs, len(stored) if lfs else 0)

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_oid

    def entry(self, path: str) -> dict:
        e = {"type": "file", "oid": self.git_oid, "size": len(self.data), "path": path}
        if self.lfs:
            e["lfs"] = {"oid": self.sha256, "size": len(self.data), "pointerSize": self.pointer_size}
        return e

    def sibling(self, path: str) -> dict:
        s = {"rfilename": path, "blobId": self.git_oid, "size": len(self.data)}
        if self.lfs:
            s["lfs"] = {"sha256": self.sha256, "size": len(self.data), "pointerSize": self.pointer_size}
        return s


@dataclass(frozen=True)
class _Commit:
    sha: str
    files: dict  # path -> _Blob; never mutated after the commit is made
    parent: "_Commit | None"
    title: str
    date: str

    def folders(self) -> set[str]:
        out = set()
        for p in self.files:
            parts = p.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                out.add("/".join(parts[:i]))
        return out

    def last_commit(self, path: str) -> dict:
        """The newest commit in this history that changed `path` (a file, or anything under a folder)."""
        def view(c):
            if path in c.files:
                return c.files[path].git_oid
            prefix = path + "/"
            return tuple(sorted((p, b.git_oid) for p, b in c.files.items() if p.startswith(prefix)))
        c, mine = self, view(self)
        while c.parent is not None and view(c.parent) == mine:
            c = c.parent
        return {"id": c.sha, "title": c.title, "date": c.date}


@dataclass
class _Repo:
    repo_id: str
    oid: str
    created: str
    gated: bool | str = False
    info: dict = field(default_factory=dict)
    refs: dict = field(default_factory=dict)      # branch -> _Commit
    commits: dict = field(default_factory=dict)   # sha -> _Commit


def _check_path(filename: str) -> str:
    if not isinstance(filename, str) or not filename or filename.startswith("/") or "\\" in filename \
            or any(part in ("", ".", "..") for part in filename.split("/")):
        raise ValueError(f"a repo file is a relative posix path like 'a/b.json', got {filename!r}")
    return filename


def _check_repo_id(repo_id: str) -> str:
    if not isinstance(repo_id, str) or not repo_id or repo_id.count("/") > 1 \
            or any(not part or part in (".", "..") for part in repo_id.split("/")):
        raise ValueError(f"a repo id is 'owner/name' or 'name', got {repo_id!r}")
    return repo_id


class _Handler(DispatchHandler):
    server_version = "HubFiles/1.0"


class HubFiles(TrackedServer):
    """The in-memory file Hub. Thread-safe; changes apply to the next request."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        # Bearer tokens that may download gated repos (None: nobody).
        self.tokens: set[str] | None = None
        self._lock = threading.RLock()
        self._repos: dict[str, _Repo] = {}
        self._counter = 0
        self._conns: set = set()

    # ----------------------------------------------------------------- life cycle
    def handler(self):
        return _Handler

    # ----------------------------------------------------------------- data
    def put_repo(self, repo_id: str, files: dict, *, gated: bool | str = False, revision: str = "main",
                 info: dict | None = None, message: str | None = None, repo_type: str = "model") -> str:
        """Commit `files` ({path: bytes}) as the whole content of branch `revision` of model repo
        `repo_id` (created if new); returns the new commit's 40-hex sha. Earlier commits stay
        downloadable by sha. `gated` (True = "auto", or "auto"/"manual") applies to the whole repo.
        `info` adds or overrides model-info fields (tags, pipeline_tag, library_name, cardData, ...).
        repo_type "dataset": a dataset repo, served under /datasets/{repo_id}/resolve/... only."""
        _check_repo_id(repo_id)
        if repo_type not in ("model", "dataset"):
            raise ValueError(f"repo_type is 'model' or 'dataset', got {repo_type!r}")
        if repo_type == "dataset":
            repo_id = f"datasets/{repo_id}"
        if not isinstance(revision, str) or not revision or _SHA_RE.match(revision):
            raise ValueError(f"revision is a branch name, got {revision!r}")
        blobs = {}
        for path, data in files.items():
            _check_path(path)
            if isinstance(data, str):
                data = data.encode("utf-8")
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"{path}: file content is bytes, not {type(data).__name__}")
            blobs[path] = _Blob.of(path, bytes(data))
        for p in blobs:  # a path can't be both a file and a folder
            if any(q.startswith(p + "/") for q in blobs):
                raise ValueError(f"{p!r} is both a file and a folder")
        if gated is True:
            gated = "auto"
        if gated not in (False, "auto", "manual"):
            raise ValueError(f"gated is False, True, 'auto' or 'manual', got {gated!r}")
        with self._lock:
            repo = self._repos.get(repo_id)
            if repo is None:
                self._counter += 1
                repo = _Repo(repo_id, f"{_OID_BASE + self._counter:024x}", _now_iso())
                self._repos[repo_id] = repo
            repo.gated = gated
            if info is not None:
                repo.info = dict(info)
            return self._commit(repo, revision, blobs, message or ("initial commit" if not repo.commits
                                                                   else "Upload folder"))

    def put_dir(self, repo_id: str, directory, **kw) -> str:
        """put_repo with every file under `directory` (e.g. what save_pretrained wrote); `.git`
        folders are skipped."""
        directory = Path(directory)
        if not directory.is_dir():
            raise NotADirectoryError(directory)
        files = {}
        for root, dirs, names in os.walk(directory):
            dirs[:] = sorted(d for d in dirs if d != ".git")
            for name in sorted(names):
                full = Path(root, name)
                files[full.relative_to(directory).as_posix()] = full.read_bytes()
        return self.put_repo(repo_id, files, **kw)

    def remove_file(self, repo_id: str, filename: str, *, revision: str = "main") -> str:
        """Commit the removal of one file from branch `revision`; returns the new sha.
        KeyError when the repo, branch or file is missing."""
        with self._lock:
            repo = self._repos[repo_id]
            head = repo.refs[revision]
            if filename not in head.files:
                raise KeyError(f"{repo_id}@{revision}: no file {filename!r}")
            files = {p: b for p, b in head.files.items() if p != filename}
            return self._commit(repo, revision, files, f"Delete {filename}")

    def remove_repo(self, repo_id: str) -> None:
        with self._lock:
            del self._repos[repo_id]

    def sha(self, repo_id: str, revision: str = "main") -> str:
        """The commit sha branch `revision` points at."""
        with self._lock:
            return self._repos[repo_id].refs[revision].sha

    def repo_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._repos)

    def _commit(self, repo: _Repo, branch: str, blobs: dict, title: str) -> str:
        self._counter += 1
        parent = repo.refs.get(branch)
        h = hashlib.sha1()
        for part in (repo.repo_id, branch, parent.sha if parent else "", str(self._counter), title):
            h.update(part.encode() + b"\0")
        for p in sorted(blobs):
            h.update(p.encode() + b"\0" + blobs[p].git_oid.encode() + b"\0")
        commit = _Commit(h.hexdigest(), dict(sorted(blobs.items())), parent, title, _now_iso())
        repo.commits[commit.sha] = commit
        repo.refs[branch] = commit
        return commit.sha

    # ----------------------------------------------------------------- observation
    def count(self, prefix: str = "") -> int:
        """Requests whose path starts with prefix."""
        with self._lock:
            return sum(1 for _, p in self.requests if p.startswith(prefix))

    def reset_log(self) -> None:
        with self._lock:
            del self.requests[:]

    # ----------------------------------------------------------------- HTTP
    def _handle(self, method: str, raw: str, headers, body: bytes) -> tuple[int, dict, bytes]:
        with self._lock:
            self.requests.append((method, raw))
        parts = urlsplit(raw)
        path, qs = parts.path or "/", parts.query
        query = parse_qs(qs, keep_blank_values=True)
        auth = headers.get("Authorization") or ""
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        segs = path.lstrip("/").split("/")
        if segs[0] == "api":
            if len(segs) >= 3 and segs[1] == "models" and segs[2]:
                return self._api_model(method, segs[2:], query, qs, body, headers.get("Host"))
            if method not in ("GET", "HEAD"):
                raise _HTTPError(405, f"Method {method} not allowed")
            raise _HTTPError(404, "Not Found")
        # /{repo}/resolve/{rev}/{file...}: repo ids are "owner/name" or a legacy "name"
        for n in (2, 1):
            if len(segs) >= n + 3 and segs[n] == "resolve" and all(segs[:n]):
                if method not in ("GET", "HEAD"):
                    raise _HTTPError(405, f"Method {method} not allowed")
                repo_id = "/".join(unquote(s) for s in segs[:n])
                if n == 2 and segs[0] in ("datasets", "spaces", "kernels"):
                    break  # model repos here; dataset repos below
                return self._resolve(method, repo_id, unquote(segs[n + 1]),
                                     unquote("/".join(segs[n + 2:])), headers, token)
        if segs[0] == "datasets" and len(segs) >= 6 and segs[3] == "resolve" and all(segs[1:3]):
            if method not in ("GET", "HEAD"):
                raise _HTTPError(405, f"Method {method} not allowed")
            return self._resolve(method, "datasets/" + "/".join(unquote(s) for s in segs[1:3]), unquote(segs[4]),
                                 unquote("/".join(segs[5:])), headers, token)
        if segs[0] in ("datasets", "spaces", "kernels") and "resolve" in segs:
            raise self._repo_not_found()
        raise _HTTPError(404, "Not Found")

    # --- lookups (call with the lock held)
    @staticmethod
    def _repo_not_found() -> _HTTPError:
        return _HTTPError(404, "Repository not found", {"X-Error-Code": "RepoNotFound",
                                                       "X-Error-Message": "Repository not found"})

    def _get_repo(self, repo_id: str) -> _Repo:
        repo = self._repos.get(repo_id)
        if repo is None:
            raise self._repo_not_found()
        return repo

    @staticmethod
    def _get_commit(repo: _Repo, revision: str) -> _Commit:
        commit = repo.refs.get(revision) or repo.commits.get(revision)
        if commit is None:
            msg = f"Invalid rev id: {revision}"
            raise _HTTPError(404, msg, {"X-Error-Code": "RevisionNotFound", "X-Error-Message": msg})
        return commit

    def _check_gate(self, repo: _Repo, token: str | None) -> None:
        if not repo.gated:
            return
        if token is not None and self.tokens is not None and token in self.tokens:
            return
        if token is None:
            status, msg = 401, (f"Access to model {repo.repo_id} is restricted. You must have access to it "
                                "and be authenticated to access it. Please log in.")
        else:
            status, msg = 403, (f"Access to model {repo.repo_id} is restricted and you are not in the "
                                f"authorized list. Visit https://huggingface.co/{repo.repo_id} to ask for access.")
        raise _HTTPError(status, msg, {"X-Error-Code": "GatedRepo", "X-Error-Message": msg})

    # --- /resolve
    def _resolve(self, method: str, repo_id: str, revision: str, filename: str, headers, token):
        with self._lock:
            repo = self._get_repo(repo_id)
            self._check_gate(repo, token)
            commit = self._get_commit(repo, revision)
            blob = commit.files.get(filename)
        if blob is None:
            raise _HTTPError(404, "Entry not found", {"X-Error-Code": "EntryNotFound",
                                                     "X-Error-Message": "Entry not found",
                                                     "X-Repo-Commit": commit.sha})
        lower = filename.lower()
        ctype = (_JSON if lower.endswith(".json") else "text/plain; charset=utf-8"
                 if lower.endswith((".txt", ".md", ".jinja", ".py", ".yaml", ".yml")) else "application/octet-stream")
        size = len(blob.data)
        out = {"Content-Type": ctype, "X-Repo-Commit": commit.sha, "ETag": f'"{blob.etag}"',
               "Accept-Ranges": "bytes"}
        rng = headers.get("Range") if method == "GET" else None
        if rng is None:
            return 200, out, blob.data
        span = self._range(rng, size)
        if span is None:
            raise _HTTPError(416, "Requested Range Not Satisfiable", {**out, "Content-Range": f"bytes */{size}"})
        start, end = span
        out["Content-Range"] = f"bytes {start}-{end}/{size}"
        return 206, out, blob.data[start:end + 1]

    @staticmethod
    def _range(header: str, size: int) -> tuple[int, int] | None:
        m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
        if m is None or (not m.group(1) and not m.group(2)):
            return None
        if not m.group(1):  # suffix: the last n bytes
            n = int(m.group(2))
            return (max(size - n, 0), size - 1) if n > 0 and size > 0 else None
        start = int(m.group(1))
        end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
        return (start, end) if start < size and start <= end else None

    # --- /api/models/...
    def _api_model(self, method: str, segs: list[str], query: dict, qs: str, body: bytes, host: str | None):
        verbs = ("revision", "tree", "paths-info")
        with self._lock:
            known = self._repos
            if len(segs) >= 2 and "/".join(unquote(s) for s in segs[:2]) in known:
                n = 2
            elif unquote(segs[0]) in known:
                n = 1
            else:
                n = 1 if len(segs) == 1 or segs[1] in verbs else 2
        repo_id = "/".join(unquote(s) for s in segs[:n])
        rest = segs[n:]
        verb = rest[0] if rest else None
        allowed = ("POST",) if verb == "paths-info" else ("GET", "HEAD")
        if verb not in (None,) + verbs or any(not s for s in segs[:n]):
            raise _HTTPError(404, "Not Found")
        if method not in allowed:
            raise _HTTPError(405, f"Method {method} not allowed")
        if verb is not None and (len(rest) < 2 or not rest[1]):
            raise _HTTPError(404, "Not Found")
        revision = unquote(rest[1]) if verb is not None else "main"
        with self._lock:
            repo = self._get_repo(repo_id)
            if verb == "revision":
                revision = unquote("/".join(rest[1:]))
            commit = self._get_commit(repo, revision)
            gated, info, oid, created = repo.gated, dict(repo.info), repo.oid, repo.created
        if verb in (None, "revision"):
            return 200, {"Content-Type": _JSON}, _dumps(self._info(repo_id, oid, created, gated, info, commit, query))
        if verb == "tree":
            return self._tree(repo_id, commit, unquote("/".join(rest[2:])).strip("/"), query, qs, host)
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        expand = _flag(form, "expand")
        folders = commit.folders()
        out = []
        for p in dict.fromkeys(form.get("paths", [])):
            p = p.strip("/")
            if p in commit.files:
                out.append(self._entry(commit, p, expand))
            elif p in folders:
                out.append(self._entry(commit, p, expand, folder=True))
        return 200, {"Content-Type": _JSON}, _dumps(out)

    @staticmethod
    def _info(repo_id, oid, created, gated, extra, commit: _Commit, query: dict) -> dict:
        files = commit.files
        config = None
        if "config.json" in files:
            try:
                config = json.loads(files["config.json"].data)
            except ValueError:
                config = None
        if not isinstance(config, dict):
            config = None
        library = None
        if config is not None:
            if "architecture" in config and ("pretrained_cfg" in config or "num_features" in config):
                library = "timm"
            elif "model_type" in config:
                library = "transformers"
        tags = []
        if library:
            tags.append(library)
        if any(p.endswith(".safetensors") for p in files):
            tags.append("safetensors")
        if any(p.endswith((".bin", ".pth", ".pt")) for p in files):
            tags.append("pytorch")
        if config is not None and library == "transformers" and isinstance(config.get("model_type"), str):
            tags.append(config["model_type"])
        rec = {
            "_id": oid, "id": repo_id, "modelId": repo_id,
            "author": repo_id.split("/")[0] if "/" in repo_id else None,
            "sha": commit.sha, "lastModified": commit.date, "createdAt": created,
            "private": False, "disabled": False, "gated": gated,
            "downloads": 0, "likes": 0, "tags": tags,
        }
        if library:
            rec["library_name"] = library
        if config is not None and library == "transformers":
            rec["config"] = {k: config[k] for k in ("architectures", "model_type") if k in config}
        elif config is not None and library == "timm":
            rec["config"] = {k: config[k] for k in ("architecture", "num_classes", "num_features") if k in config}
        rec["siblings"] = ([b.sibling(p) for p, b in files.items()] if _flag(query, "blobs")
                           else [{"rfilename": p} for p in files])
        rec["spaces"] = []
        rec["usedStorage"] = sum(len(b.data) for b in files.values())
        rec.update(extra)
        if rec.get("author") is None:
            rec.pop("author")
        if _flag(query, "securityStatus"):
            rec["securityRepoStatus"] = {"scansDone": True, "filesWithIssues": []}
        expand = []
        for v in query.get("expand", []) + query.get("expand[]", []):
            for e in v.split(","):
                if e not in EXPAND_KEYS:
                    raise _HTTPError(400, f'"expand" must be one of {sorted(EXPAND_KEYS)}, got "{e}"')
                expand.append(e)
        if expand:
            if _flag(query, "blobs") or _flag(query, "securityStatus"):
                raise _HTTPError(400, "expand cannot be used with securityStatus or blobs")
            return {"_id": rec["_id"], "id": rec["id"], **{k: rec[k] for k in expand if k in rec}}
        return rec

    @staticmethod
    def _entry(commit: _Commit, path: str, expand: bool, folder: bool = False) -> dict:
        if folder:
            prefix = path + "/"
            h = hashlib.sha1(b"tree\0")
            for p, b in commit.files.items():
                if p.startswith(prefix):
                    h.update(p.encode() + b"\0" + b.git_oid.encode() + b"\0")
            e = {"type": "directory", "oid": h.hexdigest(), "size": 0, "path": path}
        else:
            e = commit.files[path].entry(path)
        if expand:
            e["lastCommit"] = commit.last_commit(path)
            if not folder:
                e["securityFileStatus"] = dict(_SECURITY_FILE_STATUS)
        return e

    def _tree(self, repo_id: str, commit: _Commit, path: str, query: dict, qs: str, host: str | None):
        folders = commit.folders()
        if path and path not in folders:
            raise _HTTPError(404, "Entry not found", {"X-Error-Code": "EntryNotFound",
                                                     "X-Error-Message": "Entry not found",
                                                     "X-Repo-Commit": commit.sha})
        recursive, expand = _flag(query, "recursive"), _flag(query, "expand")
        prefix = path + "/" if path else ""
        depth = prefix.count("/")

        def inside(p):
            return p.startswith(prefix) and (recursive or p.count("/") == depth)

        paths = sorted([(p, True) for p in folders if inside(p)] + [(p, False) for p in commit.files if inside(p)])
        cursor = (query.get("cursor") or ["0"])[-1]
        try:
            start = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()) if cursor != "0" else 0
        except ValueError:
            raise _HTTPError(400, "Invalid cursor") from None
        size = TREE_PAGE_EXPANDED if expand else TREE_PAGE
        page = paths[start:start + size]
        out = [self._entry(commit, p, expand, folder=is_dir) for p, is_dir in page]
        headers = {"Content-Type": _JSON}
        if start + size < len(paths):
            nxt = base64.urlsafe_b64encode(str(start + size).encode()).decode().rstrip("=")
            pairs = [(k, v) for k, v in parse_qsl(qs, keep_blank_values=True) if k != "cursor"] + [("cursor", nxt)]
            base = f"http://{host}" if host else self.url
            url = (f"{base}/api/models/{quote(repo_id, safe='/')}/tree/{quote(commit.sha, safe='')}"
                   + (f"/{quote(path, safe='')}" if path else ""))
            headers["Link"] = f'<{url}?{urlencode(pairs)}>; rel="next"'
        return 200, headers, _dumps(out)


def point_clients_at(monkeypatch, url: str, cache_dir) -> Path:
    """Make huggingface_hub, timm and transformers download from `url` into `cache_dir` (the
    HF_HOME; the hub cache is `cache_dir/hub`, returned), for the length of one test.

    huggingface_hub reads its environment once, at import, into `huggingface_hub.constants`, and
    the downloaders read those attributes at call time - except the resolve-URL template, built
    from ENDPOINT at import, and the HfApi instances made earlier (the module's `api`, behind
    `huggingface_hub.model_info` / `list_repo_files`, and transformers' lazy shared `_hf_api`),
    which keep the endpoint they were made with. So: patch the constants (ENDPOINT, the URL
    template, every path derived from HF_HOME, offline off, telemetry off), the module `api`'s
    endpoint, drop transformers' shared HfApi (rebuilt on demand with the patched ENDPOINT), and
    unset token variables so no real token is sent. timm calls hf_hub_download without an
    endpoint, so the constants are enough for it. Setting HF_ENDPOINT in os.environ is useless
    after import.
    """
    import huggingface_hub
    from huggingface_hub import constants

    url = url.rstrip("/")
    home = Path(cache_dir)
    hub_cache = home / "hub"
    hub_cache.mkdir(parents=True, exist_ok=True)
    setattr_ = monkeypatch.setattr
    setattr_(constants, "ENDPOINT", url)
    setattr_(constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
    setattr_(constants, "HF_HOME", str(home))
    setattr_(constants, "HF_HUB_CACHE", str(hub_cache))
    setattr_(constants, "HUGGINGFACE_HUB_CACHE", str(hub_cache), raising=False)
    setattr_(constants, "HF_ASSETS_CACHE", str(home / "assets"))
    setattr_(constants, "HF_XET_CACHE", str(home / "xet"))
    setattr_(constants, "HF_TOKEN_PATH", str(home / "token"))
    setattr_(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    for name in ("AGENT_HARNESSES_PATH", "CHECK_FOR_UPDATE_DONE_PATH", "CHECK_FOR_SKILL_UPDATE_DONE_PATH"):
        if hasattr(constants, name):
            setattr_(constants, name, str(home / os.path.basename(getattr(constants, name))))
    setattr_(constants, "HF_HUB_OFFLINE", False)
    setattr_(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(home))  # for subprocesses and code that reads the variable itself
    monkeypatch.setenv("HF_ENDPOINT", url)
    setattr_(huggingface_hub.hf_api.api, "endpoint", url)
    try:  # imported now (0.5 s, no torch) so that an HfApi made during the test is dropped after it
        import transformers.utils.hub as hub_mod
    except ImportError:
        hub_mod = None
    if hub_mod is not None and hasattr(hub_mod, "_hf_api"):
        setattr_(hub_mod, "_hf_api", None)
    return hub_cache
