"""An in-memory Kaggle Models API for tests that run the kaggle source offline.

Routes, parameters and shapes are those of Kaggle's own client (kagglesdk's ModelApiService in the
`kaggle` package 1.7: ApiListModelsRequest/Response, ApiGetModelRequest, ApiModel,
ApiModelInstance): GET /api/v1/models/list with sortBy (update_time, ...), pageSize, pageToken,
search, owner -> {models, nextPageToken, totalResults}; GET /api/v1/models/{owner}/{model}/get ->
the model with its instances. Field names are the API's camelCase; enums travel as camelCase
names (framework `pyTorch`, `tensorFlow2`; modelInstanceType `baseModel`), as the client's
EnumSerializer reads them. List answers carry no instances and no update time: the order says it.
Credentials can be required (HTTP basic user:key, or a Bearer token); faults: 429 with
Retry-After, 5xx, cut bodies.

A variation version's files (kagglesdk's ApiListModelInstanceVersionFilesRequest and
ApiDownloadModelInstanceVersionRequest, as kagglehub calls them):
GET /api/v1/models/{owner}/{model}/{framework}/{variation}/{version}/files?pageSize&pageToken ->
{files: [{name, size, creationDate}], nextPageToken}; GET .../{version}/download/{path} -> 302 to
the file in storage (/storage/..., no credentials asked: a signed URL), as Kaggle redirects to GCS.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import threading
import zlib
from urllib.parse import parse_qs, unquote, urlsplit

from .server import JsonFaults, LocalServer, dumps_json

__all__ = ["KaggleReplay", "kaggle_instance", "kaggle_model", "signing_json"]


def kaggle_instance(slug: str, framework: str = "pyTorch", **fields) -> dict:
    """An ApiModelInstance; fields override."""
    i = {
        "slug": slug, "framework": framework,  # its id: from the model it is added to (kaggle_model)
        "fineTunable": True, "overview": f"The {slug} variation.", "usage": "Load it with kagglehub.",
        "downloadUrl": "", "versionId": 1, "versionNumber": 1, "trainingData": ["ImageNet"],
        "url": "", "licenseName": "Apache 2.0", "modelInstanceType": "baseModel",
        "baseModelInstanceInformation": None, "externalBaseModelUrl": "", "totalUncompressedBytes": 46_800_000,
    }
    i.update(fields)
    return i


def kaggle_model(ref: str, instances=(), **fields) -> dict:
    """An ApiModel with its instances (each instance's url filled in from the ref); fields override."""
    owner, slug = ref.split("/")
    m = {
        "id": zlib.crc32(ref.encode()) % 10_000_000 + 1, "ref": ref, "title": slug.replace("-", " ").title(),
        "subtitle": f"{slug} pretrained weights", "author": owner, "slug": slug, "isPrivate": False,
        "description": f"# {slug}\n\nA model.", "tags": [{"ref": "image-classification", "name": "Image Classification"}],
        "publishTime": "2024-05-01T00:00:00Z", "provenanceSources": "", "url": f"https://www.kaggle.com/models/{ref}",
        "instances": [],
    }
    m.update(fields)
    for inst in instances:
        inst = copy.deepcopy(inst)
        handle = f"{ref}/{inst['framework']}/{inst['slug']}"
        inst.setdefault("id", zlib.crc32(handle.encode()) % 10_000_000 + 1)
        if not inst.get("url"):
            inst["url"] = f"https://www.kaggle.com/models/{handle}"
        m["instances"].append(inst)
    return m


def signing_json(files: dict[str, bytes], method: str = "files") -> bytes:
    """A version's `.kaggle/signing.json` as kagglehub's model_upload(..., sigstore=True) writes it
    (model_signing's Sigstore signer: a Sigstore bundle, v0.3, whose DSSE envelope's payload is an
    in-toto statement with predicateType https://model_signing/signature/v1.0 and, per file, a
    resource {name, algorithm, digest}; model_signing/_signing/signing.py documents the shape).
    The signature and certificate are placeholders: modelcat reads the digests, it does not verify."""
    import base64
    import hashlib

    resources = [{"name": n, "algorithm": "sha256", "digest": hashlib.sha256(b).hexdigest()}
                 for n, b in sorted(files.items())]
    root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in resources)).hexdigest()
    statement = {"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "model", "digest": {"sha256": root}}],
                 "predicateType": "https://model_signing/signature/v1.0",
                 "predicate": {"serialization": {"method": method, "hash_type": "sha256", "allow_symlinks": False,
                                                 "ignore_paths": [".kaggle/signing.json"]},
                               "resources": resources}}
    bundle = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
              "verificationMaterial": {"certificate": {"rawBytes": "TUlJQy4uLg=="}, "tlogEntries": []},
              "dsseEnvelope": {"payload": base64.b64encode(json.dumps(statement).encode()).decode(),
                               "payloadType": "application/vnd.in-toto+json",
                               "signatures": [{"sig": "TUVZQ0lRLi4u", "keyid": ""}]}}
    return json.dumps(bundle).encode()


class KaggleReplay(JsonFaults, LocalServer):
    def __init__(self, models=(), *, key: tuple[str, str] | None = None, token: str | None = None,
                 anonymous: bool = True):
        self.key, self.token, self.anonymous = key, token, anonymous
        self._models: dict[str, dict] = {}
        self._updated: dict[str, int] = {}
        self._clock = itertools.count(1)
        self._fail: list[tuple[int, dict, bytes | None]] = []
        self._lock = threading.Lock()
        self.requests: list[str] = []  # each request's path and query
        self._files: dict[str, dict[str, bytes]] = {}  # "owner/model/framework/variation/version" -> files
        self.cut_files: set[str] = set()  # storage paths served cut short
        self.listed_extra: list[dict] = []  # more entries in every file list (hostile names)
        for m in models:
            self.add(m)

    def handler(self):
        return self.get_only_handler()

    def add(self, m: dict) -> None:
        with self._lock:
            self._models[m["ref"]] = copy.deepcopy(m)
            self._updated[m["ref"]] = next(self._clock)

    def update(self, ref: str, **fields) -> None:
        """Change a model (it moves to the top of the update-time order)."""
        with self._lock:
            self._models[ref].update(copy.deepcopy(fields))
            self._updated[ref] = next(self._clock)

    def add_files(self, handle: str, version: int, files: dict[str, bytes]) -> None:
        """A variation version's files (handle: owner/model/framework/variation)."""
        with self._lock:
            self._files[f"{handle}/{version}"] = dict(files)

    def remove(self, ref: str) -> None:
        with self._lock:
            del self._models[ref]
            del self._updated[ref]

    def _authorized(self, header: str | None) -> bool:
        if self.token is not None and header == f"Bearer {self.token}":
            return True
        if self.key is not None and header == "Basic " + base64.b64encode(":".join(self.key).encode()).decode():
            return True
        return header is None and self.anonymous

    def _serve(self, h) -> None:
        parts = urlsplit(h.path)
        self.requests.append(h.path)
        if self._fault(h, dumps_json({"code": 500, "message": "Server Error"})):
            return
        path = [unquote(p) for p in parts.path.split("/") if p]
        if path[:1] == ["storage"]:  # a signed storage URL: no credentials
            key, name = "/".join(path[1:6]), "/".join(path[6:])
            with self._lock:
                body = self._files.get(key, {}).get(name)
            if body is None:
                return self._send(h, 404, b"not found")
            h.send_response(200)
            h.send_header("Content-Type", "application/octet-stream")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if parts.path in self.cut_files:  # half the body, then the connection drops
                h.wfile.write(body[:len(body) // 2])
                h.close_connection = True
                return
            h.wfile.write(body)
            return
        if not self._authorized(h.headers.get("Authorization")):
            return self._send(h, 401, dumps_json({"code": 401, "message": "Unauthenticated"}))
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/api/v1/models/list":
            return self._list(h, q)
        if len(path) >= 9 and path[:3] == ["api", "v1", "models"] and path[8] in ("files", "download"):
            key = "/".join(path[3:8])
            with self._lock:
                files = dict(self._files.get(key) or {})
            if not files:
                return self._send(h, 404, dumps_json({"code": 404, "message": "Not found"}))
            if path[8] == "files" and len(path) == 9:
                size = max(1, min(int(q.get("pageSize") or 25), 100))
                start = int(q.get("pageToken") or 0)
                listed = [{"name": n, "size": len(b), "creationDate": "2024-05-01T00:00:00Z"}
                          for n, b in sorted(files.items())] + copy.deepcopy(self.listed_extra)
                more = start + size < len(listed)
                return self._send(h, 200, dumps_json({"files": listed[start:start + size],
                                                      "nextPageToken": str(start + size) if more else ""}))
            name = "/".join(path[9:])
            if path[8] == "download" and name in files:
                return self._send(h, 302, b"", {"Location": f"{self.url}/storage/{key}/{name}"})
            return self._send(h, 404, dumps_json({"code": 404, "message": "Not found"}))
        if len(path) == 6 and path[:3] == ["api", "v1", "models"] and path[5] == "get":
            with self._lock:
                m = copy.deepcopy(self._models.get(f"{path[3]}/{path[4]}"))
            if m is None:
                return self._send(h, 404, dumps_json({"code": 404, "message": "Not found"}))
            return self._send(h, 200, dumps_json(m))
        return self._send(h, 404, dumps_json({"code": 404, "message": "Not found"}))

    def _list(self, h, q: dict) -> None:
        size = max(1, min(int(q.get("pageSize") or 20), 100))
        start = int(q.get("pageToken") or 0)
        with self._lock:
            refs = sorted(self._models, key=lambda r: -self._updated[r]) if q.get("sortBy") == "update_time" \
                else sorted(self._models)
            models = [self._models[r] for r in refs]
        if q.get("owner"):
            models = [m for m in models if m["ref"].split("/")[0] == q["owner"]]
        if q.get("search"):
            models = [m for m in models if q["search"].lower() in (m["title"] + " " + m["ref"]).lower()]
        chunk = [{k: copy.deepcopy(v) for k, v in m.items() if k != "instances"} | {"instances": []}
                 for m in models[start:start + size]]
        more = start + size < len(models)
        self._send(h, 200, dumps_json({"models": chunk, "nextPageToken": str(start + size) if more else "",
                                       "totalResults": len(models)}))
