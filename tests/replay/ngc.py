"""An in-memory NVIDIA NGC catalog search API (api.ngc.nvidia.com/v2/search/catalog/resources/MODEL)
for tests that run the ngc source offline.

The request and answer shapes are the public search API's as its clients use it: MONAI's
`monai/apps/mmars/mmars.py` (`_get_all_ngc_models`: GET with `q=` a JSON query holding query,
orderBy, queryFields, fields, page, pageSize, filters; the answer's `results` groups each with
`resources`, a resource's `attributes` holding `latestVersionIdStr`), and resource records as NGC
returns them (resourceId org/team/name, orgName, teamName, name, displayName, description,
dateModified, labels [{key, values}], attributes [{key, value}]: latestVersionIdStr,
latestVersionSizeInBytes, application, format). The answer groups the page under `_scored` and
`MODEL`, with resultTotal and resultPageTotal. Orders: dateModified DESC (what the source asks)
and name ASC. An API key (Bearer) can be required; faults: 429 with Retry-After, 5xx, cut bodies.

A model's own record and its version's files, the routes and shapes of NVIDIA's CLI (the `ngcsdk`
package 4.37 on PyPI: registry/api/models.py `get` and `list_files`, its data classes Model,
LicenseMetadata, Dataset, ModelFile, ModelVersionFileListResponse; ngcbase's paginated reader):

    GET /v2/org/<org>[/team/<team>]/models/<name>?resolve-labels=false
        -> {"model": {name, orgName, teamName, displayName, shortDescription, description,
            application, framework, modelFormat, precision, builtBy, publisher, createdDate,
            updatedDate, latestVersionIdStr, latestVersionSizeInBytes, isPublic, canGuestDownload,
            labels, licenseTerms: [{licenseId, licenseVersion, needsAcceptance, governingTerms}],
            publicDatasetUsed: {name, link, license}}, "requestStatus": {...}}
    GET /v2/org/<org>[/team/<team>]/models/<name>/versions/<version>/files?page-size=N[&page-number=P]
        -> {"modelFiles": [{path, sizeInBytes, sha256_base64, createdDate}],
            "paginationInfo": {index, size, totalPages, totalResults}, "requestStatus": {...}}

A third-party client of the same REST API (a shell helper found through the tool library's code
index: curl and python3, no ngcsdk) reads the files answer the same way (modelFiles' path,
sizeInBytes, sha256_base64 decoded to hex; paginationInfo.totalPages; page-number), says NGC does
not always report a sha256, downloads .../versions/<version>/files/<path> through a redirect to a
signed storage URL, and names 402 for an account without entitlement.

A model's detail and files come from `ngc_model(..., detail={...}, files=[...])` (kept out of the
search answer); without them the detail is made from the search record, with no license.

Downloads, at the public address NVIDIA's own code names (DeepLearningExamples' hub entrypoints):

    GET /v2/models/<org>/[<team>/]<name>/versions/<version>/files/<path>
        -> 302 to /storage/... (a signed URL: no key asked), the file's bytes (`ngc_file`'s content)
"""

from __future__ import annotations

import copy
import json
import re
import threading
from urllib.parse import parse_qs, unquote, urlsplit

from .server import JsonFaults, LocalServer, dumps_json

__all__ = ["NgcReplay", "ngc_file", "ngc_model"]

DOWNLOAD = re.compile(r"/v2/models/(.+)/versions/([^/]+)/files/(.+)")
DETAIL = re.compile(r"/v2/org/([^/]+)(?:/team/([^/]+))?/models/([^/]+)(?:/versions/([^/]+)/files)?")


def ngc_file(path: str, content: bytes = b"", size: int | None = None) -> dict:
    """A version's file as the files route lists it: sha256_base64 is the content's sha256, base64."""
    import base64
    import hashlib

    return {"path": path, "sizeInBytes": len(content) if size is None else size,
            "sha256_base64": base64.b64encode(hashlib.sha256(content).digest()).decode(),
            "createdDate": "2026-09-01T00:00:00.000Z", "_content": content}


def ngc_model(resource_id: str, *, detail: dict | None = None, files: list | None = None, **fields) -> dict:
    """A resource as the search API returns it; fields override (labels and attributes as lists).
    `detail` adds to (or overrides) the model's own record, `files` lists its latest version's files."""
    parts = resource_id.split("/")
    org, name = parts[0], parts[-1]
    team = parts[1] if len(parts) == 3 else ""
    r = {
        "resourceId": resource_id, "orgName": org, "teamName": team, "name": name,
        "displayName": name.replace("_", " ").title(), "description": f"{name} model.",
        "dateModified": "2026-09-20T04:00:00.000Z", "isPublic": True, "guestAccess": True,
        "labels": [{"key": "general", "values": ["NeMo", "Speech To Text"]},
                   {"key": "framework", "values": ["NeMo"]}, {"key": "precision", "values": ["FP32"]}],
        "attributes": [{"key": "latestVersionIdStr", "value": "1.0.0"}, {"key": "application", "value": "Speech To Text"},
                       {"key": "format", "value": ".nemo"}, {"key": "latestVersionSizeInBytes", "value": 123_456_789}],
    }
    r.update(fields)
    if detail is not None:
        r["_detail"] = detail
    if files is not None:
        r["_files"] = files
    return r


def _versions(m: dict) -> set[str]:
    """The versions a model has: its latest (latestVersionIdStr) and any in `_versions`."""
    latest = {a.get("value") for a in m.get("attributes", []) if isinstance(a, dict)
              and a.get("key") == "latestVersionIdStr"}
    return {v for v in latest if isinstance(v, str)} | set(m.get("_versions") or ())


def _detail(m: dict) -> dict:
    """The model's own record: what the search record says, in the detail's field names, plus `_detail`."""
    attrs = {a["key"]: a.get("value") for a in m.get("attributes", []) if isinstance(a, dict) and "key" in a}
    labels = {lb["key"]: lb.get("values") for lb in m.get("labels", []) if isinstance(lb, dict) and "key" in lb}
    out = {"name": m.get("name"), "orgName": m.get("orgName"), "teamName": m.get("teamName") or None,
           "displayName": m.get("displayName"), "description": m.get("description"),
           "shortDescription": (m.get("description") or "")[:100] if isinstance(m.get("description"), str) else None,
           "application": attrs.get("application"), "framework": (labels.get("framework") or [None])[0],
           "modelFormat": attrs.get("format"), "precision": (labels.get("precision") or [None])[0],
           "latestVersionIdStr": attrs.get("latestVersionIdStr"),
           "latestVersionSizeInBytes": attrs.get("latestVersionSizeInBytes"),
           "createdDate": "2026-01-01T00:00:00.000Z", "updatedDate": m.get("dateModified"),
           "isPublic": m.get("isPublic"), "canGuestDownload": m.get("guestAccess"),
           "labels": ["ngc/" + v for v in labels.get("general") or []]}
    out.update(m.get("_detail") or {})
    return {k: v for k, v in out.items() if v is not None}


class NgcReplay(JsonFaults, LocalServer):
    def __init__(self, models=(), *, api_key: str | None = None):
        self.api_key = api_key  # when set, a request without "Authorization: Bearer <key>" is 401
        self._models: dict[str, dict] = {}
        self._fail: list[tuple[int, dict, bytes | None]] = []
        self._lock = threading.Lock()
        self.requests: list[dict] = []  # each search request's JSON query
        self.detail_requests: list[str] = []  # each detail or files request's path and query
        self.file_page_size = 1000  # the most files one page of the files route lists
        self.downloads: list[str] = []  # each download request's path (before the redirect)
        self.cut_files: set[str] = set()  # file paths served cut short (half, then the connection drops)
        self.corrupt_files: set[str] = set()  # file paths served whole but with other bytes
        for m in models:
            self.add(m)

    def handler(self):
        return self.get_only_handler()

    def add(self, m: dict) -> None:
        with self._lock:
            self._models[m["resourceId"]] = copy.deepcopy(m)

    def update(self, resource_id: str, **fields) -> None:
        with self._lock:
            self._models[resource_id].update(fields)

    def remove(self, resource_id: str) -> None:
        with self._lock:
            del self._models[resource_id]

    def _serve(self, h) -> None:
        parts = urlsplit(h.path)
        if parts.path.startswith("/storage/"):
            return self._serve_storage(h, unquote(parts.path[len("/storage/"):]))
        detail = DETAIL.fullmatch(parts.path)
        download = DOWNLOAD.fullmatch(parts.path)
        if download and not self._fault(h, b"{}"):
            if self.api_key is not None and h.headers.get("Authorization") != f"Bearer {self.api_key}":
                return self._send(h, 401, dumps_json({"requestStatus": {"statusCode": "UNAUTHORIZED"}}))
            self.downloads.append(h.path)
            return self._send(h, 302, b"", {"Location": f"{self.url}/storage/{parts.path[len('/v2/models/'):]}"})
        if download:
            return
        if parts.path != "/v2/search/catalog/resources/MODEL" and not detail:
            return self._send(h, 404, dumps_json({"requestStatus": {"statusCode": "NOT_FOUND"}}))
        if self._fault(h, dumps_json({"requestStatus": {"statusCode": "ERROR"}})):
            return
        if self.api_key is not None and h.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._send(h, 401, dumps_json({"requestStatus": {"statusCode": "UNAUTHORIZED",
                                                                     "statusDescription": "Unauthorized"}}))
        if detail:
            return self._serve_detail(h, detail, parse_qs(parts.query))
        try:
            q = json.loads(parse_qs(parts.query).get("q", ["{}"])[0])
        except ValueError:
            return self._send(h, 400, dumps_json({"requestStatus": {"statusCode": "INVALID_REQUEST"}}))
        self.requests.append(q)
        page, size = int(q.get("page", 0)), max(1, min(int(q.get("pageSize", 25)), 1000))
        with self._lock:
            models = list(self._models.values())
        order = (q.get("orderBy") or [{"field": "score", "value": "DESC"}])[0]
        if order.get("field") == "dateModified":
            models.sort(key=lambda m: (m["dateModified"], m["resourceId"]), reverse=order.get("value") == "DESC")
        else:
            models.sort(key=lambda m: (m["name"], m["resourceId"]))
        total = len(models)
        chunk = [copy.deepcopy(m) for m in models[page * size:(page + 1) * size]]
        fields = q.get("fields")
        chunk = [{k: v for k, v in m.items() if not k.startswith("_") and (not fields or k in fields or k == "resourceId")}
                 for m in chunk]
        body = {
            "searchParams": {"page": page, "pageSize": size},
            "resultTotal": total, "resultPageTotal": -(-total // size),
            "results": [{"groupValue": "_scored", "totalCount": len(chunk), "resources": chunk},
                        {"groupValue": "MODEL", "totalCount": total, "resources": chunk}],
        }
        self._send(h, 200, dumps_json(body))

    def _serve_detail(self, h, match, query: dict) -> None:
        org, team, name, version = (unquote(x) if x else x for x in match.groups())
        self.detail_requests.append(h.path)
        with self._lock:
            m = copy.deepcopy(self._models.get(f"{org}/{team}/{name}" if team else f"{org}/{name}"))
        missing = dumps_json({"requestStatus": {"statusCode": "NOT_FOUND", "statusDescription": "Model not found"}})
        if m is None:
            return self._send(h, 404, missing)
        status = {"statusCode": "SUCCESS", "requestId": "replay"}
        if version is None:
            return self._send(h, 200, dumps_json({"model": _detail(m), "requestStatus": status}))
        if version not in _versions(m):
            return self._send(h, 404, dumps_json({"requestStatus": {"statusCode": "NOT_FOUND",
                                                                     "statusDescription": "Version not found"}}))
        files = m.get("_files") or []
        size = max(1, min(int(query.get("page-size", ["100"])[0]), self.file_page_size))
        page = int(query.get("page-number", ["0"])[0])
        pages = max(1, -(-len(files) // size))
        self._send(h, 200, dumps_json({
            "modelFiles": [{k: v for k, v in f.items() if not k.startswith("_")} for f in files[page * size:(page + 1) * size]],
            "paginationInfo": {"index": page, "size": size, "totalPages": pages, "totalResults": len(files)},
            "requestStatus": status}))

    def _serve_storage(self, h, key: str) -> None:
        match = re.fullmatch(r"(.+)/versions/([^/]+)/files/(.+)", key)
        with self._lock:
            m = self._models.get(match.group(1)) if match else None
        if m is not None and match.group(2) not in _versions(m):
            m = None
        found = next((f for f in (m or {}).get("_files") or [] if f.get("path") == match.group(3)), None) if m else None
        body = found.get("_content") if found else None
        if not isinstance(body, bytes):
            return self._send(h, 404, b"not found")
        name = match.group(3)
        if name in self.corrupt_files:
            body = bytes(b ^ 0xFF for b in body)
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if name in self.cut_files:
            h.wfile.write(body[:len(body) // 2])
            h.close_connection = True
            return
        h.wfile.write(body)
