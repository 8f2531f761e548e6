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

Runs: Kaggle sorts by update time but does not say when a model changed, so a run reads the
models newest-updated first and stops at the first page that holds a model the last run saw at the
top of the list, unchanged (anything updated since the last run sorts above it). A full sweep
(the first run, every `full_sweep_days`, or `--full`) reads every page and marks the variations
no longer listed removed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Iterator
from urllib.parse import quote, urlsplit

from ..errors import SkipRecord
from ..normalize import normalize_license, normalize_task
from ..normalize.dataset import canonical_dataset
from ..normalize.ids import hub_entity, id_problem, stated_copy, valid_id
from ..normalize.values import as_list, integer, text
from ..records import DatasetLink, ModelRecord, Relation
from .base import Checkpoint, FetchContext, Source, days_since, preflight, sweep_settings

DEFAULT_URL = "https://www.kaggle.com"
LIST_PATH = "/api/v1/models/list"
TRANSIENT = (429, 500, 502, 503, 504)
TOP_KEPT = 50  # digests of the newest models a run saw, for the next run's stopping point

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
                for instance in as_list(model.get("instances")):
                    if isinstance(instance, dict):
                        variations += 1
                        yield {"model": {k: v for k, v in model.items() if k != "instances"}, "instance": instance}
            pages += 1
            ctx.progress(min(seen, total or seen), total if full else None, "models")
            token = body.get("nextPageToken") if isinstance(body.get("nextPageToken"), str) else ""
            if not models or not token or (not full and reached_known):
                break
            sweep["token"] = token
            if full:
                state["sweep"] = dict(sweep)
                yield Checkpoint(state)
        if full:
            state.pop("sweep", None)
            state["last_sweep_at"] = sweep["started"]
            ctx.listed_all_since = sweep["started"]
        state.update({"top": top or known_top, "scope": scope})
        ctx.details.update({"mode": "full" if full else "incremental", "models": seen, "variations": variations,
                            "pages": pages, "credentials": credentials or "none (anonymous)",
                            "retried": session.retried})

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
    rec.set_license(normalize_license(license_raw))  # Kaggle's license names: "Apache 2.0", "Gemma", "CC BY 4.0"
    return rec
