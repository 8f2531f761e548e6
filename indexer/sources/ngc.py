"""ngc: NVIDIA NGC's model catalog, through its public search API.

    GET {NGC_API_URL}/v2/search/catalog/resources/MODEL?q=<a JSON query>

the endpoint NGC's catalog pages and its clients use (MONAI's mmars.py lists models this way):
the query holds the words (empty: everything), the order, the fields, the page and its size; the
answer groups each page's resources (under `_scored` and `MODEL`: the same models twice, kept
once here), with resultTotal and resultPageTotal. A resource: resourceId (org/team/name),
orgName, teamName, name, displayName, description, dateModified, labels ({key, values}: general,
framework, precision) and attributes ({key, value}: latestVersionIdStr, latestVersionSizeInBytes,
application, format).

Guests may search the public catalog; `NGC_API_KEY` from the environment is sent as a Bearer token
where set (never stored). Without the network (or NGC_API_URL pointing at a replay) the source is
`unavailable` in one line. Runs: a full sweep (the first, every `full_sweep_days`, or `--full`)
reads every page by dateModified, newest first, and marks models it no longer lists removed; the
runs between read only the pages down to the newest model the last run saw. Most NGC models are
NeMo, TAO, TensorRT or Riva artifacts: schema/loaders.yml says what loads them.
"""

from __future__ import annotations

import json
import os
import re
from typing import Iterator

from ..errors import SkipRecord
from ..normalize import normalize_license, normalize_task
from ..normalize.ids import id_problem, valid_id
from ..normalize.values import as_list, integer, text
from ..records import ModelRecord
from .base import Checkpoint, FetchContext, Source, days_since, preflight, sweep_settings

DEFAULT_URL = "https://api.ngc.nvidia.com"
PATH = "/v2/search/catalog/resources/MODEL"
FIELDS = ["resourceId", "name", "displayName", "orgName", "teamName", "description", "dateModified", "labels",
          "attributes", "isPublic", "guestAccess"]
TRANSIENT = (429, 500, 502, 503, 504)
# NGC frameworks and formats -> the library column (loaders.yml refuses those no backend loads)
LIBRARIES = {"pytorch": "pytorch", "nemo": "nemo", "tao": "tao", "tao toolkit": "tao", "tensorrt": "tensorrt",
             "tensorflow": "tensorflow", "onnx": "onnx", "riva": "riva", "triton": "triton", "jax": "jax",
             "transformers": "transformers", "caffe": "caffe", "mxnet": "mxnet", "paddlepaddle": "paddlepaddle"}


def _api_url() -> str:
    return (os.environ.get("NGC_API_URL") or DEFAULT_URL).rstrip("/")


def _headers() -> dict:
    key = os.environ.get("NGC_API_KEY")
    return {"Accept": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}


class NgcSource(Source):
    name = "ngc"
    needs_network = True
    full_listing = False  # only a full sweep lists everything: it says so (ctx.listed_all_since)
    settings = {
        "page_size": (int, 100, "models per request (the API allows up to 1000)"),
        "query": (str, "", "search words (empty: the whole public catalog)"),
        **sweep_settings("NGC"),
    }

    def fetch(self, ctx: FetchContext) -> Iterator[dict]:
        from .http import RetryingSession, json_problem

        cfg = self.resolved_settings(ctx)
        base = _api_url()
        preflight(base, "NGC's catalog API", "NGC_API_URL")
        state = ctx.state
        newest_known = state.get("newest")
        full = bool(cfg["full"]) or not newest_known or state.get("query") != cfg["query"] or \
            days_since(state.get("last_sweep_at")) >= float(cfg["full_sweep_days"]) or bool(state.get("sweep"))
        sweep = state.get("sweep") or {"page": 0, "started": ctx.run_started, "newest": None}
        if not full:
            sweep = {"page": 0, "started": ctx.run_started, "newest": None}
        session = RetryingSession(timeout=float(cfg["timeout"]), retries=int(cfg["retries"]), statuses=TRANSIENT,
                                  body_problem=json_problem, name="ngc")
        size = max(1, min(int(cfg["page_size"]), 1000))
        seen = 0
        while True:
            query = {"query": cfg["query"], "orderBy": [{"field": "dateModified", "value": "DESC"}],
                     "queryFields": ["all", "description", "displayName", "name", "resourceId"],
                     "fields": FIELDS, "page": sweep["page"], "pageSize": size}
            body = self._get(session, base, query)
            resources = _resources(body)
            total = integer(body.get("resultTotal"))
            pages = integer(body.get("resultPageTotal"))
            older = 0
            for r in resources:
                modified = r.get("dateModified") if isinstance(r.get("dateModified"), str) else None
                if modified and (sweep["newest"] is None or modified > sweep["newest"]):
                    sweep["newest"] = modified
                if not full and modified is not None and modified < newest_known:
                    older += 1  # seen by an earlier run, unchanged since
                    continue
                seen += 1
                yield r
            ctx.progress(min(seen, total or seen), total, "models")
            sweep["page"] += 1
            last = not resources or (pages is not None and sweep["page"] >= pages) or len(resources) < size
            if not full and (older or last):
                break  # down to what the last run saw
            if last:
                break
            if full:
                state["sweep"] = dict(sweep)
                yield Checkpoint(state)
        if full:
            state.pop("sweep", None)
            state["last_sweep_at"] = sweep["started"]
            ctx.listed_all_since = sweep["started"]
        newest = max(x for x in (sweep["newest"], newest_known) if x) if (sweep["newest"] or newest_known) else None
        state.update({"newest": newest, "query": cfg["query"]})
        ctx.details.update({"mode": "full" if full else "incremental", "models": seen,
                            "retried": session.retried})

    def _get(self, session, base: str, query: dict) -> dict:
        # a request that still fails after its retries (reset, timeout, cut answer) fails the run:
        # the host answered the preflight, so this is a bad night, not an offline machine
        from .http import json_object

        r = session.get(base + PATH, params={"q": json.dumps(query, separators=(",", ":"))}, headers=_headers())
        refused = "NGC_API_KEY was refused: check it" if os.environ.get("NGC_API_KEY") else \
            "it asks for an API key: set NGC_API_KEY (an NGC personal key)"
        return json_object(r, "NGC's catalog API", f"page {query['page']}", session.retries, refused)

    def normalize(self, raw: dict) -> ModelRecord:
        return normalize_ngc(raw)


def _resources(body: dict) -> list[dict]:
    """The page's models, each once (the answer lists them under `_scored` and again under `MODEL`)."""
    out, ids = [], set()
    for group in as_list(body.get("results")):
        if not isinstance(group, dict):
            continue
        for r in as_list(group.get("resources")):
            if isinstance(r, dict) and isinstance(r.get("resourceId"), str) and r["resourceId"] not in ids:
                ids.add(r["resourceId"])
                out.append(r)
    return out


# --------------------------------------------------------------------- normalization
def _labels(raw: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for label in as_list(raw.get("labels")):
        if isinstance(label, dict) and isinstance(label.get("key"), str):
            values = [text(v, 100) for v in as_list(label.get("values")) if text(v, 100)]
            out.setdefault(label["key"].lower(), []).extend(values)
    return out


def _attributes(raw: dict) -> dict:
    out = {}
    for a in as_list(raw.get("attributes")):
        if isinstance(a, dict) and isinstance(a.get("key"), str):
            out[a["key"]] = a.get("value")
    return out


def _library(frameworks: list[str], fmt: str | None) -> str | None:
    for name in frameworks + ([fmt.lstrip(".")] if fmt else []):
        lib = LIBRARIES.get(name.lower().strip())
        if lib:
            return lib
    return frameworks[0].lower() if frameworks else None


def normalize_ngc(raw: dict) -> ModelRecord:
    rid = raw.get("resourceId")
    if not isinstance(rid, str) or not rid:
        raise SkipRecord("not an NGC model")
    if not valid_id("ngc", rid):
        raise SkipRecord("not a valid NGC model id", id_problem("ngc", rid))
    parts = rid.split("/")
    org, name = parts[0], parts[-1]
    team = parts[1] if len(parts) == 3 else None
    labels, attrs = _labels(raw), _attributes(raw)
    frameworks = labels.get("framework", [])
    application = text(attrs.get("application"), 200) or next(
        (v for v in labels.get("general", []) if normalize_task(v)), None)
    fmt = text(attrs.get("format"), 100)
    size = integer(attrs.get("latestVersionSizeInBytes"))
    size = size if size is not None and size >= 0 else None
    version = text(attrs.get("latestVersionIdStr"), 100)
    license_raw = text(attrs.get("license"), 200) or next(iter(labels.get("license", [])), None)
    page = f"https://catalog.ngc.nvidia.com/orgs/{org}/" + (f"teams/{team}/" if team else "") + f"models/{name}"
    rec = ModelRecord(
        id=f"ngc:{rid}",
        source="ngc",
        name=rid,
        author=org,
        task=normalize_task(application) if application else None,
        task_raw=application,
        library=_library(frameworks, fmt),
        size_bytes=size,
        size_is_estimate=False if size is not None else None,
        url=page,
        description=text(raw.get("description"), 20_000) or text(raw.get("displayName"), 300),
        tags=sorted({v.lower() for k in ("general", "framework", "precision") for v in labels.get(k, [])})[:40],
        updated_at=text(raw.get("dateModified"), 40),
        extra={k: v for k, v in {
            "display_name": text(raw.get("displayName"), 300),
            "team": team,
            "latest_version": version,
            "application": application,
            "frameworks": frameworks or None,
            "precision": labels.get("precision") or None,
            "format": fmt,
            "public": raw.get("isPublic") if isinstance(raw.get("isPublic"), bool) else None,
            "guest_access": raw.get("guestAccess") if isinstance(raw.get("guestAccess"), bool) else None,
            "download": (f"ngc registry model download-version \"{rid}:{version}\""
                         if version and re.fullmatch(r"[A-Za-z0-9_.-]+", version) else None),
        }.items() if v is not None},
    )
    rec.set_license(normalize_license(license_raw))
    if license_raw is None:
        rec.extra["license_note"] = "NGC's search answer names no license: see the model's page"
    return rec
