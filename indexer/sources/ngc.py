"""ngc: NVIDIA NGC's model catalog, through its public search API.

    GET {NGC_API_URL}/v2/search/catalog/resources/MODEL?q=<a JSON query>

the endpoint NGC's catalog pages and its clients use (MONAI's mmars.py lists models this way):
the query holds the words (empty: everything), the order, the fields, the page and its size; the
answer groups each page's resources (under `_scored` and `MODEL`: the same models twice, kept
once here), with resultTotal and resultPageTotal. A resource: resourceId (org/team/name),
orgName, teamName, name, displayName, description, dateModified, labels ({key, values}: general,
framework, precision) and attributes ({key, value}: latestVersionIdStr, latestVersionSizeInBytes,
application, format).

Each model a run yields (new or changed since the last run, or every model on a full sweep) is then
read on its own, through the routes NVIDIA's CLI uses (the `ngcsdk` package: registry/api/models.py):

    GET {NGC_API_URL}/v2/org/<org>[/team/<team>]/models/<name>?resolve-labels=false
        -> {"model": {..., licenseTerms: [{licenseId, licenseVersion, governingTerms, ...}],
            publicDatasetUsed: {name, link, license}, builtBy, publisher, modelFormat, ...}}
    GET .../models/<name>/versions/<latest version>/files?page-size=1000[&page-number=P]
        -> {"modelFiles": [{path, sizeInBytes, sha256_base64}], "paginationInfo": {totalPages}}

for what the search answer lacks: the license, the training data, and the weight files' sha256
(evidence that an NGC model and a mirror of it on the Hub are the same weights: store/evidence.py).
Two requests a model (`details = false` turns them off), for the models whose row was not written
from their current dateModified: the others are confirmed from the catalog (a full sweep costs a
request a page), until a modelcat reads more of a detail (DETAIL_VERSION), which reads every
model's again once. A model whose detail fails (a 404, a 403
for a model guests may not read, 5xx past the retries) keeps its search record and says why, and its
detail is asked again the next run; after `detail_failures` in a row the run asks no more.

Guests may search the public catalog; `NGC_API_KEY` from the environment is sent as a Bearer token
where set (never stored). Without the network (or NGC_API_URL pointing at a replay) the source is
`unavailable` in one line. Runs: a full sweep (the first, every `full_sweep_days`, or `--full`)
reads every page by dateModified, newest first, and marks models it no longer lists removed; the
runs between read only the pages down to the newest model the last run saw. Most NGC models are
NeMo, TAO, TensorRT or Riva artifacts: schema/loaders.yml says what loads them.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
from typing import Iterator
from urllib.parse import quote

from ..errors import SkipRecord
from ..normalize import normalize_license, normalize_task
from ..normalize.dataset import canonical_dataset
from ..normalize.ids import id_problem, valid_id
from ..normalize.links import weights_file_url
from ..normalize.values import as_list, integer, text
from ..records import DatasetLink, ModelRecord, WeightsFile
from .base import Checkpoint, FetchContext, Seen, Source, days_since, preflight, sweep_settings

log = logging.getLogger(__name__)

DEFAULT_URL = "https://api.ngc.nvidia.com"
PATH = "/v2/search/catalog/resources/MODEL"
FIELDS = ["resourceId", "name", "displayName", "orgName", "teamName", "description", "dateModified", "labels",
          "attributes", "isPublic", "guestAccess"]
TRANSIENT = (429, 500, 502, 503, 504)
# the public address a version's file downloads from (the form NVIDIA's own code names, as in
# DeepLearningExamples): the file's URL in the catalog, whatever NGC_API_URL says
FILE_URL = "https://api.ngc.nvidia.com/v2/models/{path}/versions/{version}/files/{file}"
# the files whose sha256 is evidence of the same weights (a README or a config is shared by many)
WEIGHT_SUFFIXES = (".nemo", ".pt", ".pth", ".pth.tar", ".ckpt", ".bin", ".safetensors", ".h5", ".hdf5", ".onnx",
                   ".tlt", ".etlt", ".riva", ".rmir", ".engine", ".plan", ".gguf", ".npz", ".msgpack")
FILE_PAGES = 20  # pages of a version's file list read at most (1000 files each)
RETRY_KEPT = 500  # models whose detail failed, kept for the next run (more: it reads every model's again)
DETAIL_VERSION = 1  # what is read from a model's detail and files: a change reads every model's again
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
        "details": (bool, True, "read each new or changed model's own record (license, training data) and its "
                                "latest version's files (sha256: the same weights elsewhere): two requests a model"),
        "detail_failures": (int, 20, "details that fail in a row before a run stops asking (NGC struggling)"),
        **sweep_settings("NGC"),
    }

    def fetch(self, ctx: FetchContext) -> Iterator[dict]:
        from .http import RetryingSession, json_problem

        cfg = self.resolved_settings(ctx)
        base = _api_url()
        preflight(base, "NGC's catalog API", "NGC_API_URL")
        state = ctx.state
        newest_known = state.get("newest")
        # every model's detail is read again when the details this modelcat reads changed (or were off)
        reread = bool(cfg["details"]) and state.get("detail_version") != DETAIL_VERSION
        full = bool(cfg["full"]) or not newest_known or state.get("query") != cfg["query"] or reread or \
            days_since(state.get("last_sweep_at")) >= float(cfg["full_sweep_days"]) or bool(state.get("sweep"))
        sweep = state.get("sweep") or {"page": 0, "started": ctx.run_started, "newest": None}
        if not full:
            sweep = {"page": 0, "started": ctx.run_started, "newest": None}
        session = RetryingSession(timeout=float(cfg["timeout"]), retries=int(cfg["retries"]), statuses=TRANSIENT,
                                  body_problem=json_problem, name="ngc")
        size = max(1, min(int(cfg["page_size"]), 1000))
        seen = 0
        details = _Details(session, base, bool(cfg["details"]), int(cfg["detail_failures"]),
                           dict(state.get("detail_retry") or {}))
        listed: set[str] = set()
        while True:
            query = {"query": cfg["query"], "orderBy": [{"field": "dateModified", "value": "DESC"}],
                     "queryFields": ["all", "description", "displayName", "name", "resourceId"],
                     "fields": FIELDS, "page": sweep["page"], "pageSize": size}
            body = self._get(session, base, query)
            resources = _resources(body)
            total = integer(body.get("resultTotal"))
            pages = integer(body.get("resultPageTotal"))
            older = 0
            # a model whose row holds what its detail said at this modification time is confirmed
            # (no detail requests, no rewrite): a full sweep costs one request a page
            same = self._unchanged(ctx, resources, details) if details.on and not reread else set()
            if same:
                yield Seen(sorted(f"ngc:{rid}" for rid in same))
            for r in resources:
                modified = r.get("dateModified") if isinstance(r.get("dateModified"), str) else None
                if modified and (sweep["newest"] is None or modified > sweep["newest"]):
                    sweep["newest"] = modified
                if not full and modified is not None and modified < newest_known:
                    older += 1  # seen by an earlier run, unchanged since
                    continue
                listed.add(r["resourceId"])
                if r["resourceId"] in same:
                    continue
                seen += 1
                yield from self._emit(ctx, details, r)
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
        # the models whose detail failed in an earlier run and that this run did not list again
        for rid, resource in sorted(details.retry.items()):
            if rid not in listed:
                yield from self._emit(ctx, details, resource)
        if full:
            state.pop("sweep", None)
            state["last_sweep_at"] = sweep["started"]
            ctx.listed_all_since = sweep["started"]
        if details.on and len(details.failed) <= RETRY_KEPT:
            state["detail_version"] = DETAIL_VERSION
            state["detail_retry"] = dict(sorted(details.failed.items()))
        else:  # off, or more owed than kept: the next run reads every model's detail again
            state.pop("detail_version", None)
            state.pop("detail_retry", None)
        newest = max(x for x in (sweep["newest"], newest_known) if x) if (sweep["newest"] or newest_known) else None
        state.update({"newest": newest, "query": cfg["query"]})
        ctx.details.update({"mode": "full" if full else "incremental", "models": seen,
                            "details_read": details.read, "details_failed": len(details.failed),
                            "retried": session.retried})

    @staticmethod
    def _emit(ctx: FetchContext, details: "_Details", resource: dict) -> Iterator:
        """The model with its detail; where the detail could not be read (or is owed) and the
        catalog already holds the model, its row is kept as it is (Seen), not rewritten without
        the license and files it holds: the detail is asked again the next run."""
        out = details.add(resource)
        if details.on and "_detail" not in out:
            cid = f"ngc:{resource.get('resourceId')}"
            known = ctx.lookup([cid]).get(cid)
            if known and not known["removed_at"]:
                yield Seen([cid])
                return
        yield out

    @staticmethod
    def _unchanged(ctx: FetchContext, resources: list[dict], details: "_Details") -> set[str]:
        """The listed models whose live row was written from the same dateModified, details read."""
        ids = {f"ngc:{r['resourceId']}": r for r in resources if valid_id("ngc", r["resourceId"])}
        known = ctx.lookup(list(ids)) if ids else {}
        return {r["resourceId"] for cid, r in ids.items()
                if cid in known and not known[cid]["removed_at"] and r["resourceId"] not in details.retry
                and isinstance(r.get("dateModified"), str) and known[cid]["updated_at"] == r["dateModified"]}

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


class _Details:
    """Each listed model's own record and its latest version's files, added to the search record
    under `_detail` and `_files` (or `_detail_problem`: why not). Never fails the run: a model keeps
    what the search said, and is asked again the next run (`failed`)."""

    def __init__(self, session, base: str, on: bool, max_failures: int, retry: dict):
        self.session, self.base, self.on, self.asking = session, base, on, on
        self.max_failures = max(1, max_failures)
        self.retry = {k: v for k, v in retry.items() if isinstance(v, dict)}
        self.failed: dict[str, dict] = {}
        self.read = 0
        self._in_a_row = 0

    def add(self, resource: dict) -> dict:
        rid = resource.get("resourceId")
        if not isinstance(rid, str) or not valid_id("ngc", rid):
            return resource
        if not self.asking:
            if self.on:  # stopped asking after too many failures: owed to the next run
                self.failed[rid] = {k: v for k, v in resource.items() if not k.startswith("_")}
            return resource
        out = dict(resource)
        path = _org_team_path(rid)
        detail, problem = self._get(f"{self.base}/v2/{path}", {"resolve-labels": "false"}, "model")
        if detail is not None:
            model = detail.get("model") if isinstance(detail.get("model"), dict) else {}
            out["_detail"] = model
            version = model.get("latestVersionIdStr") or _attributes(resource).get("latestVersionIdStr")
            if isinstance(version, str) and _SAFE_PART.fullmatch(version):
                files, problem = self._files(f"{self.base}/v2/{path}/versions/{quote(version, safe='')}/files")
                out["_files"] = files
                out["_files_version"] = version
        if problem:
            out["_detail_problem"] = problem
            self.failed[rid] = {k: v for k, v in resource.items() if not k.startswith("_")}
            self._in_a_row += 1
            if self._in_a_row >= self.max_failures:
                self.asking = False
                log.warning("ngc: %d model details failed in a row; this run asks no more (they are asked "
                            "again the next run)", self._in_a_row)
        else:
            self.read += 1
            self._in_a_row = 0
        return out

    def _files(self, url: str) -> tuple[list, str | None]:
        files: list = []
        for page in range(FILE_PAGES):
            body, problem = self._get(url, {"page-size": 1000, **({"page-number": page} if page else {})}, "files")
            if body is None:
                return files, problem
            files.extend(f for f in as_list(body.get("modelFiles")) if isinstance(f, dict))
            info = body.get("paginationInfo") if isinstance(body.get("paginationInfo"), dict) else {}
            if page + 1 >= (integer(info.get("totalPages")) or 1):
                break
        return files, None

    def _get(self, url: str, params: dict, what: str) -> tuple[dict | None, str | None]:
        import requests

        try:
            r = self.session.get(url, params=params, headers=_headers())
        except requests.RequestException as e:
            return None, f"NGC's {what} request failed ({type(e).__name__})"
        if r.status_code != 200:
            why = {404: "not found", 401: "refused (an API key may read it: NGC_API_KEY)",
                   402: "no entitlement (request access on the model's page)",
                   403: "refused (an API key may read it: NGC_API_KEY)"}.get(r.status_code, "failed")
            return None, f"NGC's {what} request answered HTTP {r.status_code}: {why}"
        try:
            body = r.json()
        except ValueError:
            return None, f"NGC's {what} answer is not JSON"
        return (body, None) if isinstance(body, dict) else (None, f"NGC's {what} answer is not an object")


_SAFE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")


def _org_team_path(rid: str) -> str:
    """org/<org>[/team/<team>]/models/<name>, each part quoted."""
    parts = [quote(p, safe="") for p in rid.split("/")]
    return f"org/{parts[0]}/" + (f"team/{parts[1]}/" if len(parts) == 3 else "") + f"models/{parts[-1]}"


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


def _license_terms(detail: dict) -> tuple[list[str], list[str]]:
    """(licenseIds, the URLs their governingTerms name) of a model's own record."""
    ids, urls = [], []
    for term in as_list(detail.get("licenseTerms")):
        if not isinstance(term, dict):
            continue
        ident = text(term.get("licenseId"), 200)
        if ident:
            ids.append(ident)
        terms = term.get("governingTerms") if isinstance(term.get("governingTerms"), str) else ""
        urls.extend(u.rstrip(".,;)") for u in re.findall(r"https?://[^\s<>\"'\]]+", terms[:5000]))
    return ids, urls


def _license(license_raw: str | None, detail: dict):
    """The license: the model's own licenseTerms (their ids; where an id is not one the normalizer
    knows, the license its governing terms link to), else what the search record says."""
    ids, urls = _license_terms(detail)
    if not ids:
        return normalize_license(license_raw)
    lic = normalize_license(ids if len(ids) > 1 else ids[0])
    if lic.id in ("other", "unknown"):
        for url in urls[:10]:
            found = normalize_license(url)
            if found.id not in ("other", "unknown"):
                return type(lic)(found.id, found.family, lic.raw, None)
    return lic


def _training_data(detail: dict) -> tuple[list[DatasetLink], dict | None]:
    """publicDatasetUsed ({name, link, license}): the canonical dataset, and the raw value kept."""
    used = detail.get("publicDatasetUsed")
    if not isinstance(used, dict):
        return [], None
    raw = {k: text(used.get(k), 500) for k in ("name", "link", "license") if text(used.get(k), 500)}
    ident = next((canonical_dataset(v) for v in (raw.get("name"), raw.get("link")) if v and canonical_dataset(v)), None)
    return ([DatasetLink(ident, "train", raw.get("name") or raw.get("link"))] if ident else []), raw or None


def _weight_files(rid: str, version: str | None, files: list) -> list[WeightsFile]:
    """The version's weight files with a sha256 (sha256_base64 decoded to hex)."""
    if not version or not _SAFE_PART.fullmatch(version):
        return []
    path = "/".join(quote(p, safe="") for p in rid.split("/"))
    out = []
    for f in files[:5000]:
        name, digest = f.get("path"), f.get("sha256_base64")
        if not isinstance(name, str) or not name.lower().endswith(WEIGHT_SUFFIXES) or not isinstance(digest, str):
            continue
        try:
            raw = base64.b64decode(digest, validate=True)
        except (binascii.Error, ValueError):
            continue
        url = weights_file_url(FILE_URL.format(path=path, version=quote(version, safe=""), file=quote(name)))
        if len(raw) == 32 and url:
            out.append(WeightsFile(url, raw.hex()))
    return out


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
    detail = raw.get("_detail") if isinstance(raw.get("_detail"), dict) else {}
    frameworks = labels.get("framework", []) or [x for x in [text(detail.get("framework"), 100)] if x]
    application = text(attrs.get("application"), 200) or text(detail.get("application"), 200) or next(
        (v for v in labels.get("general", []) if normalize_task(v)), None)
    fmt = text(attrs.get("format"), 100) or text(detail.get("modelFormat"), 100)
    size = integer(attrs.get("latestVersionSizeInBytes"))
    if size is None:
        size = integer(detail.get("latestVersionSizeInBytes"))
    size = size if size is not None and size >= 0 else None
    version = text(attrs.get("latestVersionIdStr"), 100) or text(detail.get("latestVersionIdStr"), 100)
    license_raw = text(attrs.get("license"), 200) or next(iter(labels.get("license", [])), None)
    datasets, training = _training_data(detail)
    files_version = raw.get("_files_version") if isinstance(raw.get("_files_version"), str) else None
    files = [f for f in as_list(raw.get("_files")) if isinstance(f, dict)]
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
        description=text(raw.get("description"), 20_000) or text(detail.get("description"), 20_000)
        or text(detail.get("shortDescription"), 2_000) or text(raw.get("displayName"), 300),
        tags=sorted({v.lower() for k in ("general", "framework", "precision") for v in labels.get(k, [])})[:40],
        created_at=text(detail.get("createdDate"), 40),
        updated_at=text(raw.get("dateModified"), 40),
        datasets=datasets,
        extra={k: v for k, v in {
            "display_name": text(raw.get("displayName"), 300),
            "team": team,
            "latest_version": version,
            "application": application,
            "frameworks": frameworks or None,
            "precision": labels.get("precision") or [x for x in [text(detail.get("precision"), 100)] if x] or None,
            "format": fmt,
            "built_by": text(detail.get("builtBy"), 200),
            "publisher": text(detail.get("publisher"), 200),
            "training_data": training,
            "license_terms": [{k: v for k, v in {
                "id": text(t.get("licenseId"), 200), "version": text(t.get("licenseVersion"), 50),
                "needs_acceptance": t.get("needsAcceptance") if isinstance(t.get("needsAcceptance"), bool) else None,
            }.items() if v is not None} for t in as_list(detail.get("licenseTerms")) if isinstance(t, dict)][:10] or None,
            "files": len(files) if files_version else None,
            "public": raw.get("isPublic") if isinstance(raw.get("isPublic"), bool) else None,
            "guest_access": raw.get("guestAccess") if isinstance(raw.get("guestAccess"), bool) else None,
            "download": (f"ngc registry model download-version \"{rid}:{version}\""
                         if version and re.fullmatch(r"[A-Za-z0-9_.-]+", version) else None),
            "detail_note": text(raw.get("_detail_problem"), 300),
        }.items() if v is not None},
    )
    rec.files = _weight_files(rid, files_version, files)
    rec.set_license(_license(license_raw, detail))
    if rec.license_raw is None:
        rec.extra["license_note"] = ("NGC's answers name no license: see the model's page" if detail else
                                     "NGC's search answer names no license, and the model's own record was not read: "
                                     "see the model's page")
    return rec
