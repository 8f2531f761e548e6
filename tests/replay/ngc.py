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
"""

from __future__ import annotations

import copy
import json
import threading
from urllib.parse import parse_qs, urlsplit

from .server import JsonFaults, LocalServer, dumps_json

__all__ = ["NgcReplay", "ngc_model"]


def ngc_model(resource_id: str, **fields) -> dict:
    """A resource as the search API returns it; fields override (labels and attributes as lists)."""
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
    return r


class NgcReplay(JsonFaults, LocalServer):
    def __init__(self, models=(), *, api_key: str | None = None):
        self.api_key = api_key  # when set, a request without "Authorization: Bearer <key>" is 401
        self._models: dict[str, dict] = {}
        self._fail: list[tuple[int, dict, bytes | None]] = []
        self._lock = threading.Lock()
        self.requests: list[dict] = []  # each request's JSON query
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
        if parts.path != "/v2/search/catalog/resources/MODEL":
            return self._send(h, 404, dumps_json({"requestStatus": {"statusCode": "NOT_FOUND"}}))
        if self._fault(h, dumps_json({"requestStatus": {"statusCode": "ERROR"}})):
            return
        if self.api_key is not None and h.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._send(h, 401, dumps_json({"requestStatus": {"statusCode": "UNAUTHORIZED",
                                                                     "statusDescription": "Unauthorized"}}))
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
        if fields:
            chunk = [{k: v for k, v in m.items() if k in fields or k == "resourceId"} for m in chunk]
        body = {
            "searchParams": {"page": page, "pageSize": size},
            "resultTotal": total, "resultPageTotal": -(-total // size),
            "results": [{"groupValue": "_scored", "totalCount": len(chunk), "resources": chunk},
                        {"groupValue": "MODEL", "totalCount": total, "resources": chunk}],
        }
        self._send(h, 200, dumps_json(body))
