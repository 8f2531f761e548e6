"""kaggle: Kaggle Models (with TensorFlow Hub's catalogue and the KerasHub presets it hosts since
2023), one row per framework variation of each public model.

The routes are the ones Kaggle's own client calls (kagglesdk's ModelApiService, as shipped in the
`kaggle` package 1.7):

    GET {KAGGLE_API_URL}/api/v1/models/list?sortBy=update_time&pageSize=N&pageToken=T
        -> {models: [ApiModel], nextPageToken, totalResults}
    GET {KAGGLE_API_URL}/api/v1/models/{owner}/{model}/get
        -> ApiModel with its instances (the framework variations)

An ApiModel: id, ref (owner/model), title, subtitle, author, slug, isPrivate, description,
instances, tags ({ref, name, ...}), publishTime, provenanceSources, url. An instance: id, slug,
framework (an enum, `pyTorch`/`PY_TORCH`/`MODEL_FRAMEWORK_PY_TORCH` as clients spell it),
fineTunable, overview, usage, versionId, versionNumber, trainingData (names or URLs), url,
licenseName, modelInstanceType, baseModelInstanceInformation ({owner: {slug}, modelSlug,
instanceSlug, framework}), externalBaseModelUrl, totalUncompressedBytes. The client itself is not
used: it fixes its host (www.kaggle.com, or http://localhost without a port), so no replay can
stand in for Kaggle, and it pulls protobuf in; its routes, parameters and credentials are kept.

Credentials as Kaggle's tools read them, from the environment only and never stored:
KAGGLE_API_TOKEN (a Bearer token), else KAGGLE_USERNAME and KAGGLE_KEY, else kaggle.json in
KAGGLE_CONFIG_DIR or ~/.kaggle (HTTP basic). Without any the requests go anonymous, as the client's
do; an answer of 401/403 makes the source `unavailable` in one line naming the variables.

The same weights elsewhere: Kaggle's file list gives names and sizes, no hashes; but a publisher
who signs a version (kagglehub's model_upload(..., sigstore=True), the OpenSSF model_signing
format) uploads `.kaggle/signing.json` with it: a Sigstore bundle whose DSSE payload, an in-toto
statement (predicateType https://model_signing/signature/v1.0), lists each file's sha256
(`predicate.resources`: name, algorithm, digest). For at most `signature_requests` variations a run
(their version not read before: the row remembers it, `files_read`; what the listing leaves of
them goes to the rows the catalog holds unread, oldest first, their model read again for a whole
record), the version's file list is read, and the manifest where there is one: its weight files' sha256 are evidence that a Kaggle
variation and its copy on the Hub are the same bytes (store/evidence.py). The signature itself is
not verified here (that needs Sigstore's trust root): the digests are the publisher's statement.

Runs: Kaggle sorts by update time but does not say when a model changed, so a run reads the
models newest-updated first and stops at the first page that holds a model the last run saw at the
top of the list, unchanged (anything updated since the last run sorts above it). A full sweep
(the first run, every `full_sweep_days`, or `--full`) reads every page and marks the variations
no longer listed removed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Iterator
from urllib.parse import quote, urlsplit

from ..errors import SkipRecord, SourceError, SourceUnavailable
from ..normalize import normalize_license, normalize_task
from ..normalize.dataset import canonical_dataset
from ..normalize.ids import hub_entity, id_problem, stated_copy, valid_id
from ..normalize.values import as_list, integer, text
from ..normalize.links import weights_file_url
from ..records import DatasetLink, ModelRecord, Relation, WeightsFile
from .base import Checkpoint, FetchContext, Source, days_since, preflight, sweep_settings

DEFAULT_URL = "https://www.kaggle.com"
LIST_PATH = "/api/v1/models/list"
TRANSIENT = (429, 500, 502, 503, 504)
TOP_KEPT = 50  # digests of the newest models a run saw, for the next run's stopping point
# a version's signed manifest (kagglehub's sign_with_sigstore writes it into the uploaded folder)
SIGNING_FILE = ".kaggle/signing.json"
SIGNING_PREDICATE = "https://model_signing/signature/v1.0"
SIGNED = "modelcat_signed_files"  # the key a record carries its read manifest under (not a Kaggle field)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".pth.tar", ".ckpt", ".h5", ".keras", ".msgpack",
                   ".gguf", ".onnx", ".tflite", ".npz", ".pb", ".nemo")

# Kaggle's framework enum (kagglesdk ModelFramework), by its name folded to letters and digits ->
# (the framework's slug in Kaggle's URLs and handles, the catalog's library column)
FRAMEWORKS = {
    "tensorflow1": ("tensorFlow1", "tensorflow"), "tensorflow2": ("tensorFlow2", "tensorflow"),
    "tflite": ("tfLite", "tflite"), "tfjs": ("tfJs", "tfjs"), "pytorch": ("pyTorch", "pytorch"),
    "jax": ("jax", "jax"), "flax": ("flax", "flax"), "pax": ("pax", "pax"), "maxtext": ("maxText", "maxtext"),
    "gemmacpp": ("gemmaCpp", "gemma-cpp"), "ggml": ("ggml", "ggml"), "gguf": ("gguf", "gguf"),
    "coral": ("coral", "coral"), "scikitlearn": ("scikitLearn", "scikit-learn"), "mxnet": ("mxnet", "mxnet"),
    "onnx": ("onnx", "onnx"), "keras": ("keras", "keras"), "transformers": ("transformers", "transformers"),
    "api": ("api", "api"), "other": ("other", None), "tensorrtllm": ("tensorRtLlm", "tensorrt"),
    "triton": ("triton", "triton"),
}
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def _api_url() -> str:
    return (os.environ.get("KAGGLE_API_URL") or DEFAULT_URL).rstrip("/")


def _auth_header() -> tuple[dict, str | None]:
    """(the Authorization header Kaggle's client would send, where the credentials came from)."""
    token = os.environ.get("KAGGLE_API_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}, "KAGGLE_API_TOKEN"
    user, key = os.environ.get("KAGGLE_USERNAME"), os.environ.get("KAGGLE_KEY")
    where = "KAGGLE_USERNAME/KAGGLE_KEY"
    if not (user and key):
        path = Path(os.environ.get("KAGGLE_CONFIG_DIR") or Path.home() / ".kaggle") / "kaggle.json"
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            found = None
        if isinstance(found, dict) and isinstance(found.get("username"), str) and isinstance(found.get("key"), str):
            user, key, where = found["username"], found["key"], str(path)
    if user and key:
        pair = base64.b64encode(f"{user}:{key}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}, where
    return {}, None


def framework(value) -> tuple[str, str | None] | None:
    """(URL slug, library) of Kaggle's framework enum however it is spelled; None when unknown."""
    if not isinstance(value, str):
        return None
    folded = re.sub(r"[^a-z0-9]", "", value.lower())
    folded = folded.removeprefix("modelframework")
    return FRAMEWORKS.get(folded)


def _digest(model: dict) -> str:
    """What a run compares to know a model did not change (its content as Kaggle gives it)."""
    return hashlib.sha256(json.dumps(model, sort_keys=True, default=str).encode()).hexdigest()[:16]


class KaggleSource(Source):
    name = "kaggle"
    needs_network = True
    full_listing = False  # only a full sweep lists everything: it says so (ctx.listed_all_since)
    settings = {
        "page_size": (int, 50, "models per list request (Kaggle's client asks 20; the API allows up to 100)"),
        "search": (str, "", "search words (empty: every public model)"),
        "owner": (str, "", "one user or organisation only (empty: everyone)"),
        "signature_requests": (int, 500, "variations a run may ask for their version's file list and signed "
                                         "manifest (.kaggle/signing.json: each file's sha256); 0: none"),
        **sweep_settings("Kaggle"),
    }

    def fetch(self, ctx: FetchContext) -> Iterator[dict]:
        from .http import RetryingSession, json_problem

        cfg = self.resolved_settings(ctx)
        base = _api_url()
        preflight(base, "Kaggle's API", "KAGGLE_API_URL")
        headers, credentials = _auth_header()
        state = ctx.state
        scope = {"search": cfg["search"], "owner": cfg["owner"]}
        known_top: dict = state.get("top") or {}
        full = bool(cfg["full"]) or not known_top or state.get("scope") != scope or bool(state.get("sweep")) or \
            days_since(state.get("last_sweep_at")) >= float(cfg["full_sweep_days"])
        sweep = state.get("sweep") if full and state.get("sweep") else {"token": None, "started": ctx.run_started}
        session = RetryingSession(timeout=float(cfg["timeout"]), retries=int(cfg["retries"]), statuses=TRANSIENT,
                                  body_problem=json_problem, name="kaggle")
        size = max(1, min(int(cfg["page_size"]), 100))
        top: dict = {}
        seen = variations = pages = 0
        done_refs: set[str] = set()
        while True:
            params = {"sortBy": "update_time", "pageSize": size, **({"pageToken": sweep["token"]} if sweep["token"] else {}),
                      **{k: v for k, v in scope.items() if v}}
            body = self._get(session, base + LIST_PATH, params, headers, credentials, f"page {pages + 1}")
            models = [m for m in as_list(body.get("models")) if isinstance(m, dict)]
            total = integer(body.get("totalResults"))
            reached_known = False
            for listed in models:
                ref = listed.get("ref")
                if not isinstance(ref, str) or ref.count("/") != 1:
                    continue
                model = self._get(session, f"{base}/api/v1/models/{quote(ref, safe='/')}/get", {}, headers,
                                  credentials, ref)
                digest = _digest(model)
                if len(top) < TOP_KEPT:
                    top[ref] = digest
                if known_top.get(ref) == digest:
                    reached_known = True  # unchanged since the last run saw it among the newest
                    if not full:
                        continue
                seen += 1
                done_refs.add(ref)
                batch = _variations(model)
                variations += len(batch)
                yield from self._with_signatures(ctx, session, base, headers, credentials, cfg, batch)
            pages += 1
            ctx.progress(min(seen, total or seen), total if full else None, "models")
            token = body.get("nextPageToken") if isinstance(body.get("nextPageToken"), str) else ""
            if not models or not token or (not full and reached_known):
                break
            sweep["token"] = token
            if full:
                state["sweep"] = dict(sweep)
                yield Checkpoint(state)
        # what the night's signature requests left: the variations the catalog holds whose version was
        # not read yet (a first catalog's are many), their model read again for a whole record
        yield from self._backfill(ctx, session, base, headers, credentials, cfg, done_refs)
        if full:
            state.pop("sweep", None)
            state["last_sweep_at"] = sweep["started"]
            ctx.listed_all_since = sweep["started"]
        state.update({"top": top or known_top, "scope": scope})
        ctx.details.update({"mode": "full" if full else "incremental", "models": seen, "variations": variations,
                            "pages": pages, "credentials": credentials or "none (anonymous)",
                            "retried": session.retried})

    def _with_signatures(self, ctx: FetchContext, session, base: str, headers: dict, credentials: str | None,
                         cfg: dict, batch: list[dict]) -> Iterator[dict]:
        """These variations, each with the sha256 of its version's files where its publisher signed
        them: carried from the catalog for a version read before (no request), else read within the
        run's `signature_requests` (the file list, then the manifest where one is listed)."""
        budget = max(0, int(cfg["signature_requests"]))
        handles = {}
        for raw in batch:
            owner, slug, fw, variation = _handle_parts(raw["model"], raw["instance"])
            version = integer(raw["instance"].get("versionNumber"))
            handle = f"{owner}/{slug}/{fw}/{variation}"
            if version and version > 0 and valid_id("kaggle", handle) and raw["model"].get("isPrivate") is not True:
                handles[f"kaggle:{handle}"] = (raw, handle, version)
        held = ctx.catalog.weight_hashes(list(handles), read_before=bool(ctx.state.get("files_read"))) \
            if handles and ctx.catalog is not None else {}
        for cid, (raw, handle, version) in handles.items():
            known = held.get(cid)
            if known and known["sha"] == str(version) and (known["siblings"] or known["read"]):
                raw[SIGNED] = {"version": version, "files": [
                    {"url": s["rfilename"], "sha256": s["lfs"]["sha256"]} for s in known["siblings"]]}
            elif budget and ctx.details.get("signature_requests", 0) < budget:
                ctx.details["signature_requests"] = ctx.details.get("signature_requests", 0) + 1
                signed = self._signed_files(session, base, headers, handle, version)
                if signed is not None:
                    raw[SIGNED] = {"version": version, "files": signed}
                    ctx.state["files_read"] = True
                    if signed:
                        ctx.details["signed_versions"] = ctx.details.get("signed_versions", 0) + 1
        yield from batch

    def _backfill(self, ctx: FetchContext, session, base: str, headers: dict, credentials: str | None, cfg: dict,
                  done_refs: set[str]) -> Iterator[dict]:
        budget = max(0, int(cfg["signature_requests"]))
        left = budget - ctx.details.get("signature_requests", 0)
        if left <= 0 or ctx.catalog is None:
            return
        refs = dict.fromkeys(i[len("kaggle:"):].rsplit("/", 2)[0] for i in ctx.catalog.files_unread(left))
        for ref in refs:
            if ref in done_refs or ref.count("/") != 1:
                continue
            if ctx.details.get("signature_requests", 0) >= budget:
                break
            try:
                model = self._get(session, f"{base}/api/v1/models/{quote(ref, safe='/')}/get", {}, headers,
                                  credentials, ref)
            except SourceUnavailable:
                raise
            except SourceError:
                continue  # gone since (a full sweep marks it removed) or a bad answer: not this night's work
            ctx.details["backfilled_models"] = ctx.details.get("backfilled_models", 0) + 1
            yield from self._with_signatures(ctx, session, base, headers, credentials, cfg, _variations(model))

    def _signed_files(self, session, base: str, headers: dict, handle: str, version: int) -> list[dict] | None:
        """[{name, sha256}] of a version's signed manifest ([] unsigned), None when it could not be
        read (asked again the next run): never fails the run."""
        import requests

        url = f"{base}/api/v1/models/{quote(handle, safe='/')}/{version}"
        names, token = [], ""
        try:
            for _ in range(20):
                r = session.get(f"{url}/files", params={"pageSize": 100, **({"pageToken": token} if token else {})},
                                headers={"Accept": "application/json", **headers})
                if r.status_code in (401, 403, 404):
                    return []  # no such version, or files the public may not list (a gated model): none read
                body = r.json() if r.status_code == 200 else None
                if not isinstance(body, dict):
                    return None
                names += [f.get("name") for f in as_list(body.get("files")) if isinstance(f, dict)]
                token = body.get("nextPageToken") if isinstance(body.get("nextPageToken"), str) else ""
                if not token:
                    break
            if SIGNING_FILE not in names:
                return []
            r = session.get(f"{url}/download/{SIGNING_FILE}", headers=headers)
            if r.status_code != 200 or len(r.content) > 16 << 20:
                return None
            return signed_manifest(r.content)
        except (requests.RequestException, ValueError):
            return None

    def _get(self, session, url: str, params: dict, headers: dict, credentials: str | None, what: str) -> dict:
        from .http import json_object

        r = session.get(url, params=params, headers={"Accept": "application/json", **headers})
        refused = (f"the credentials from {credentials} were refused: check them" if credentials else
                   "it asks for credentials: set KAGGLE_API_TOKEN, or KAGGLE_USERNAME and KAGGLE_KEY, "
                   "or put kaggle.json in ~/.kaggle")
        return json_object(r, "Kaggle's API", what, session.retries, refused)

    def normalize(self, raw: dict) -> ModelRecord:
        return normalize_kaggle(raw)


# --------------------------------------------------------------------- normalization
def _variations(model: dict) -> list[dict]:
    """A model's framework variations as the records this source yields."""
    return [{"model": {k: v for k, v in model.items() if k != "instances"}, "instance": instance}
            for instance in as_list(model.get("instances")) if isinstance(instance, dict)]


def signed_manifest(content: bytes) -> list[dict]:
    """[{name, sha256}] of a model_signing manifest (.kaggle/signing.json: a Sigstore bundle whose
    DSSE payload is an in-toto statement, predicate.resources per file, serialized by "files");
    [] for anything else (another serialization, such as shards, names no whole file)."""
    try:
        bundle = json.loads(content)
        envelope = bundle.get("dsseEnvelope") if isinstance(bundle, dict) else None
        statement = json.loads(base64.b64decode(envelope["payload"], validate=True))
    except (ValueError, TypeError, KeyError, binascii.Error):
        return []
    if not isinstance(statement, dict) or statement.get("predicateType") != SIGNING_PREDICATE:
        return []
    predicate = statement.get("predicate") if isinstance(statement.get("predicate"), dict) else {}
    serialization = predicate.get("serialization") if isinstance(predicate.get("serialization"), dict) else {}
    if serialization.get("method") != "files":
        return []
    out = []
    for res in as_list(predicate.get("resources"))[:5000]:
        if not isinstance(res, dict) or res.get("algorithm") != "sha256":
            continue
        name, digest = res.get("name"), res.get("digest")
        if isinstance(name, str) and isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest):
            out.append({"name": name, "sha256": digest})
    return out


def _weight_files(handle: str, signed) -> list[WeightsFile]:
    """The signed weight files of the version, under their download address on Kaggle."""
    if not isinstance(signed, dict) or not isinstance(signed.get("version"), int):
        return []
    out = []
    for f in as_list(signed.get("files"))[:5000]:
        if not isinstance(f, dict) or not isinstance(f.get("sha256"), str) or \
                not re.fullmatch(r"[0-9a-f]{64}", f["sha256"]):
            continue
        url = f.get("url") if isinstance(f.get("url"), str) else None
        name = f.get("name") if isinstance(f.get("name"), str) else None
        if url is None and name is not None:
            url = f"{DEFAULT_URL}/api/v1/models/{quote(handle, safe='/')}/{signed['version']}/download/{quote(name)}"
        if url and url.lower().split("?")[0].endswith(WEIGHT_SUFFIXES) and weights_file_url(url):
            out.append(WeightsFile(weights_file_url(url), f["sha256"]))
    return out


def _handle_parts(model: dict, instance: dict) -> tuple[str, str, str, str]:
    """(owner, model, framework slug, variation) of an instance, from its URL where it names them
    (https://www.kaggle.com/models/OWNER/MODEL/FRAMEWORK/VARIATION), else from the fields."""
    ref = model.get("ref") if isinstance(model.get("ref"), str) else ""
    owner, _, slug = ref.partition("/")
    found = framework(instance.get("framework"))
    fw = found[0] if found else None
    url = instance.get("url") if isinstance(instance.get("url"), str) else ""
    path = [p for p in urlsplit(url).path.split("/") if p] if url else []
    if len(path) >= 5 and path[0] == "models" and path[1].lower() == owner.lower() and path[2].lower() == slug.lower():
        fw = fw or path[3]
    variation = instance.get("slug") if isinstance(instance.get("slug"), str) else ""
    return owner, slug, fw or "", variation


def _datasets(raws: list) -> list[DatasetLink]:
    out, ids = [], set()
    for raw in raws:
        if not isinstance(raw, str) or not raw.strip():
            continue
        raw = raw.strip()[:300]
        name = raw
        m = re.match(r"https?://(?:www\.)?kaggle\.com/datasets/([^/?#]+/[^/?#]+)", raw)
        if m:
            name = m[1]
        else:
            m = re.match(r"https?://huggingface\.co/datasets/([^?#]+)", raw)
            name = m[1].strip("/") if m else raw
        ident = canonical_dataset(name) or canonical_dataset(raw)
        if ident and ident not in ids:
            ids.add(ident)
            out.append(DatasetLink(ident, "train", raw))
    return out


def _base_model(info) -> str | None:
    """The catalog id of the variation this one was made from (baseModelInstanceInformation)."""
    if not isinstance(info, dict):
        return None
    owner = info.get("owner")
    owner = owner.get("slug") if isinstance(owner, dict) else owner
    found = framework(info.get("framework"))
    parts = [owner, info.get("modelSlug"), found[0] if found else None, info.get("instanceSlug")]
    if not all(isinstance(p, str) and _SLUG.fullmatch(p) for p in parts):
        return None
    handle = "/".join(parts)
    return f"kaggle:{handle}" if valid_id("kaggle", handle) else None


def normalize_kaggle(raw: dict) -> ModelRecord:
    model, instance = raw.get("model"), raw.get("instance")
    if not isinstance(model, dict) or not isinstance(instance, dict):
        raise SkipRecord("not a Kaggle model variation")
    if model.get("isPrivate") is True:
        raise SkipRecord("a private Kaggle model")
    owner, slug, fw, variation = _handle_parts(model, instance)
    if not (owner and slug and fw and variation):
        raise SkipRecord("a Kaggle variation without owner, model, framework and slug")
    handle = f"{owner}/{slug}/{fw}/{variation}"
    if not valid_id("kaggle", handle):
        raise SkipRecord("not a valid Kaggle model handle", id_problem("kaggle", handle))
    found = framework(instance.get("framework"))
    library = found[1] if found else None
    tags = [t.get("name") or t.get("ref") for t in as_list(model.get("tags")) if isinstance(t, dict)]
    tags = [text(t, 100) for t in tags if text(t, 100)]
    task_raw = next((t for t in tags if normalize_task(t)), None)
    size = integer(instance.get("totalUncompressedBytes"))
    size = size if size is not None and size > 0 else None
    license_raw = text(instance.get("licenseName"), 200)
    training = [t for t in as_list(instance.get("trainingData")) if isinstance(t, str)]
    version = integer(instance.get("versionNumber"))
    base = _base_model(instance.get("baseModelInstanceInformation"))
    external = text(instance.get("externalBaseModelUrl"), 500)
    kind = instance.get("modelInstanceType") if isinstance(instance.get("modelInstanceType"), str) else None
    title, subtitle = text(model.get("title"), 300), text(model.get("subtitle"), 500)
    url = instance.get("url") if isinstance(instance.get("url"), str) and instance["url"].startswith("https://") \
        else f"https://www.kaggle.com/models/{handle}"
    # a copy its publisher states it makes elsewhere (KerasHub's presets on the Hub): one entity
    copy = stated_copy("kaggle", handle)
    rec = ModelRecord(
        id=f"kaggle:{handle}",
        source="kaggle",
        name=handle,
        author=owner,
        task=normalize_task(task_raw) if task_raw else None,
        task_raw=task_raw,
        library=library,
        size_bytes=size,
        size_is_estimate=False if size is not None else None,
        url=url,
        description=" - ".join(x for x in (title, subtitle) if x) + (
            "\n\n" + text(model.get("description"), 20_000) if text(model.get("description"), 20_000) else "") or None,
        tags=sorted({t.lower() for t in tags} | ({library} if library else set()))[:40],
        created_at=text(model.get("publishTime"), 40),
        source_uid=str(instance["id"]) if isinstance(instance.get("id"), int) and instance["id"] > 0 else None,
        sha=str(version) if version and version > 0 else None,  # the revision: the version number
        datasets=_datasets(training),
        relations=[Relation("base_model", base, base[len("kaggle:"):])] if base and base != f"kaggle:{handle}" else [],
        entity_id=hub_entity(copy[0]) if copy else None,
        extra={k: v for k, v in {
            "title": title,
            "framework": fw,
            "variation": variation,
            "version": version,
            "fine_tunable": instance.get("fineTunable") if isinstance(instance.get("fineTunable"), bool) else None,
            "instance_type": kind,
            "training_data": [text(t, 300) for t in training][:20] or None,
            "external_base_model_url": external,
            "provenance": text(model.get("provenanceSources"), 500),
            "download": f'kagglehub.model_download("{handle}")',
            "same_weights_as": f"hf:{copy[0]}" if copy else None,
            "same_weights_evidence": copy[1] if copy else None,
        }.items() if v is not None},
    )
    signed = raw.get(SIGNED) if isinstance(raw.get(SIGNED), dict) else None
    if signed is not None and signed.get("version") == version:
        rec.files = _weight_files(handle, signed)
        rec.extra["files_read"] = str(version)  # the version whose files were read (none may be signed)
    rec.set_license(normalize_license(license_raw))  # Kaggle's license names: "Apache 2.0", "Gemma", "CC BY 4.0"
    return rec
