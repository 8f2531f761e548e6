"""Hugging Face Hub: every model (or a configured subset), kept fresh at the cost of what changed.

Each run picks a mode from the state the catalog keeps for this source:

  full         pages of /api/models with every field we normalize (expand=...). The first run,
               `--full`, a changed scope (the filters) or changed normalization tables. Resumable:
               the next page's cursor is committed with each page, so a crash goes on from there.
  ids          the periodic sweep (every `full_sweep_days`): ids, sha and lastModified only.
               Unchanged rows are confirmed, new or changed models fetched one by one, and rows
               the Hub no longer lists are marked removed. Also resumable.
  incremental  the nightly run: pages sorted by lastModified, newest first, until the watermark
               (the newest lastModified of the previous run). A night with no changes costs one
               request per query. One commit: readers see the night's changes all at once; a
               crash loses nothing committed, and the next run redoes the night from the watermark.

Why not HfApi.list_models: its generator hides the cursor (nothing to resume from), and its
`limit` caps the total rather than sizing pages. So the pages are read here, on huggingface_hub's
own HTTP layer: its session, headers (HF_TOKEN, user agent), `http_backoff` (429 with Retry-After
or RateLimit headers, 5xx, timeouts: for every page, the first included) and error types, with the
same query parameters list_models sends. HF_ENDPOINT points it at a mirror or a local replay.

Renames: the Hub's `_id` survives a rename; the store turns the old id into an alias.
Tokens: read by huggingface_hub from HF_TOKEN (or its login); never written anywhere.
"""

from __future__ import annotations

import functools
import hashlib
import json
import importlib.util
import logging
import os
import threading
import time
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

from ..errors import SkipRecord, SourceError, SourceUnavailable
from ..normalize import (
    arxiv_ids,
    canonical_dataset,
    canonical_metric,
    normalize_license,
    normalize_task,
)
from ..normalize.dataset import names_no_dataset
from ..normalize.ids import hub_entity, id_problem, valid_id
from ..normalize.size import DTYPE_BYTES
from ..paths import schema_dir
from ..normalize.links import github_repo_ids, weights_file_url
from ..normalize.values import integer
from ..records import DatasetLink, Metric, ModelRecord, PaperLink, Relation, RepoLink, WeightsFile
from .base import Checkpoint, FetchContext, Seen, Source, days_since, preflight
from .http import read_ahead

log = logging.getLogger("modelcat")

FIELDS = ("author", "cardData", "createdAt", "disabled", "downloads", "evalResults", "gated", "lastModified",
          "library_name", "likes", "pipeline_tag", "private", "safetensors", "sha", "tags", "usedStorage")
ID_FIELDS = ("lastModified", "sha")
DEFAULT_ENDPOINT = "https://huggingface.co"
# what a Hub model costs on disk during a first import: 1.85 KB each in a finished 1M-model catalog
# (docs/benchmarks.md), with room for the WAL and the indexes built at the end
BYTES_PER_MODEL = 3_000
HUB_MODELS = 2_400_000  # huggingface.co, late 2026
# Identity from evidence (issue #33): a repository's weight files' LFS sha256 cost one request each
# (GET /api/models/{id}?blobs=true, huggingface_hub's model_info(files_metadata=True)). They are asked
# for a bounded number of repositories a night (the `hash_requests` setting; 0 by default: how many
# of a night's candidates are mirrors, and so what the requests buy, is not measured on the real
# Hub, and each first ask rewrites the row with its files), the candidates only: a
# repository whose parameter count, library and task are those of a live Hub row of another entity,
# where that count is shared by at most HASH_PEERS entities (a count every fine-tune of a base
# shares, BERT-base's, would spend the night on fine-tunes: their hashes differ anyway). A
# candidate's peers without hashes are asked too. Hashes already held are carried to the next
# record of the same commit without a request, and so is the fact that a commit's files were read
# (FILES_READ): a repository whose weights have no LFS hash (small files kept in git) is not asked
# again, night after night, while its commit stays the same.
#
# A second, narrower rule is on by default (`named_hash_requests`): a repository is a candidate where
# a row of another source that holds weight hashes (an NGC model's files, a signed Kaggle version's)
# has its name (the last part, case aside: NGC's nvidia/nemo/parakeet_ctc, the Hub's
# nvidia/parakeet_ctc; a Kaggle handle's <model>-<variation> too). The name only
# says where a request is worth spending; the link is made by the same bytes, never by the name
# (a fine-tune of the same name stays its own entity). The rows of names new since the last run
# are asked after the listing, whether or not they changed.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".pth.tar", ".ckpt", ".h5", ".msgpack", ".gguf", ".onnx",
                   ".nemo")
HASH_PEERS = 20
# the key a record carries when its weight files were read at its commit (not a Hub field): its
# row's extra says "files_read": that commit, and the next record of the same commit is not asked
FILES_READ = "modelcat_files_read"
NORMALIZE_VERSION = 3  # bump when normalize_hub changes what it makes of the same record
_TABLES = ("licenses.yml", "tasks.yml", "datasets.yml")


def normalization_version() -> str:
    """Changes when the normalizer or its tables change: the next run is then a full sweep."""
    h = hashlib.sha256(str(NORMALIZE_VERSION).encode())
    for name in _TABLES:
        h.update((schema_dir() / name).read_bytes())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------- the Hub, page by page
class HubClient:
    def __init__(self, endpoint: str, *, timeout: float = 60, max_retries: int = 8, base_wait: float = 1.0):
        from huggingface_hub.utils import build_hf_headers

        from ..version import __version__

        self.endpoint = endpoint.rstrip("/")
        self.origin = _origin(self.endpoint)
        self.headers = build_hf_headers(library_name="modelcat", library_version=__version__)
        self.timeout = timeout
        self.max_retries = max_retries
        self.base_wait = base_wait
        self.requests = 0
        self.retried = 0  # pages asked again because their JSON did not parse
        self._counting = threading.Lock()  # a sweep's next page is read in another thread

    def preflight(self) -> None:
        """Fail at once, clearly, when the Hub's host does not resolve (no network)."""
        preflight(self.endpoint, "the Hugging Face Hub", "HF_ENDPOINT")

    def _get(self, url: str, params=None):
        from huggingface_hub.utils import hf_raise_for_status, http_backoff

        r = http_backoff("GET", url, params=params, headers=self.headers, timeout=self.timeout,
                         max_retries=self.max_retries, base_wait_time=self.base_wait)
        with self._counting:
            self.requests += 1
        if _repo_not_found(r) and "/api/models/" in url:
            return r
        hf_raise_for_status(r)
        return r

    def _json(self, url: str, params=None):
        """(response, parsed JSON). http_backoff retries statuses and transport errors; a body that
        still does not parse (a 200 cut short) is asked again here, with the same bound, then
        SourceError."""
        from .http import backoff

        attempt = 0
        while True:
            attempt += 1
            r = self._get(url, params)
            if _repo_not_found(r):
                return r, None
            try:
                return r, r.json()
            except ValueError:
                if attempt > self.max_retries:
                    raise SourceError(f"the Hub answered {url[:200]} with invalid JSON "
                                      f"{attempt} times") from None
            with self._counting:
                self.retried += 1
            wait = backoff(attempt, self.base_wait, 8.0)
            log.info("hf: invalid JSON from %s; retry %d/%d in %.1f s", url[:160], attempt, self.max_retries, wait)
            time.sleep(wait)

    def pages(self, params: list[tuple[str, Any]] | None, url: str | None = None) -> Iterator[tuple[list, str | None]]:
        """(items, next page URL) for each page, starting at `url` (a saved cursor) or at the start."""
        url = url or f"{self.endpoint}/api/models"
        while url:
            if _origin(url) != self.origin:  # never send the token to another host
                raise SourceError(f"the Hub's next page points outside {self.origin}: {url[:200]}")
            r, items = self._json(url, params)
            if not isinstance(items, list):
                raise SourceError(f"the Hub answered {url[:200]} with {type(items).__name__}, not a list")
            nxt = r.links.get("next", {}).get("url")
            yield items, nxt
            url, params = nxt, None

    def model_info(self, repo_id: str, expand=FIELDS) -> dict | None:
        """One model's fields, or None when the Hub has no such repository."""
        _, info = self._json(f"{self.endpoint}/api/models/{repo_id}", [("expand", f) for f in expand])
        return info if isinstance(info, dict) else None

    def files_info(self, repo_id: str, sha: str | None) -> dict | None:
        """A model at one commit with its files' metadata (siblings with size, blobId and, for LFS
        files, lfs.sha256): `?blobs=true`, which the Hub refuses beside `expand`."""
        path = f"{self.endpoint}/api/models/{repo_id}" + (f"/revision/{quote(sha, safe='')}" if sha else "")
        _, info = self._json(path, [("blobs", "true")])
        return info if isinstance(info, dict) else None


def _repo_not_found(r) -> bool:
    """The Hub answers a missing (or private) repo with 404, or 401 to an anonymous request;
    both carry X-Error-Code: RepoNotFound."""
    return r.status_code == 404 or (r.status_code == 401 and r.headers.get("X-Error-Code") == "RepoNotFound")


def _origin(url: str) -> tuple[str, str, int | None]:
    p = urlsplit(url)
    return p.scheme, (p.hostname or "").lower(), p.port


# --------------------------------------------------------------------- what to ask for
def queries(settings: dict) -> list[list[tuple[str, Any]]]:
    """The list_models parameter sets the scope needs: the Hub's author/filter/pipeline_tag take
    one value (filters AND together), so several authors, libraries or tasks mean several queries."""
    out = []
    for author in settings.get("authors") or [None]:
        for library in settings.get("libraries") or [None]:
            for task in settings.get("pipeline_tags") or [None]:
                params: list[tuple[str, Any]] = []
                if library:
                    params.append(("filter", library))
                if author:
                    params.append(("author", author))
                if task:
                    params.append(("pipeline_tag", task))
                out.append(params)
    return out


def _scope(settings: dict) -> str:
    keys = ("authors", "libraries", "pipeline_tags", "include_private")
    return hashlib.sha256(repr([sorted(settings.get(k) or []) if isinstance(settings.get(k), list)
                                else settings.get(k) for k in keys]).encode()).hexdigest()[:16]


def _with(params, sort: str | None, limit: int, fields) -> list[tuple[str, Any]]:
    out = list(params)
    if sort:
        out.append(("sort", sort))
    out.append(("limit", limit))
    out.extend(("expand", f) for f in fields)
    return out


class HubSource(Source):
    name = "hf"
    needs_network = True
    full_listing = False  # the nightly run lists only what changed; sweeps say when they listed all
    bulk_first_load = True  # 2M models: indexes built once at the end of the first import
    parallel_normalize = True  # normalize_hub is pure: a full sweep normalizes in a worker process
    package = "huggingface_hub"
    settings = {
        "authors": (list, [], "only models of these owners (default: everyone)"),
        "libraries": (list, [], "only models with one of these library tags (timm, transformers, ...)"),
        "pipeline_tags": (list, [], "only models with one of these pipeline tags"),
        "min_downloads": (int, 0, "skip models with fewer downloads"),
        "full_sweep_days": (float, 7.0, "how often the id sweep that finds deleted and renamed models runs"),
        "page_size": (int, 1000, "models per page (the Hub allows up to 1000)"),
        "include_private": (bool, False, "also catalog private models your token can see"),
        "expected_models": (int, 0, "about how many models the whole Hub holds (0: 2,400,000 at huggingface.co, "
                                    "unknown elsewhere): a first import of it checks the disk has room first"),
        "endpoint": (str, "", "the Hub's address (default: $HF_ENDPOINT, else https://huggingface.co)"),
        "full": (bool, False, "this run: a full sweep, even when an incremental one would do"),
        "timeout": (float, 60.0, "seconds to wait for the Hub's answer before retrying"),
        "retries": (int, 8, "retries of a request that failed in a way worth retrying (429, 5xx, timeouts, ...)"),
        "hash_requests": (int, 0, "repositories a run may ask for their weight files' sha256 (evidence that two "
                                  "repositories hold the same weights; candidates only; 0, the default: none)"),
        "named_hash_requests": (int, 200, "repositories a run may ask for their weight files' sha256 because a row of "
                                          "another source with weight hashes has their name (NGC, signed Kaggle versions); 0: none"),
    }

    # ----------------------------------------------------------------- fetch
    def fetch(self, ctx: FetchContext) -> Iterator[Any]:
        if importlib.util.find_spec("huggingface_hub") is None:
            raise SourceUnavailable("huggingface_hub is not installed: run the README's set-up")
        cfg = self.resolved_settings(ctx)
        self.endpoint = _endpoint(cfg)
        self._named_read: set[str] = set()  # asked this run for a name (not yet in the catalog)
        client = HubClient(self.endpoint, timeout=float(cfg["timeout"]), max_retries=max(0, int(cfg["retries"])))
        client.preflight()
        page_size = max(1, min(int(cfg["page_size"]), 1000))
        state = ctx.state
        scope, norm = _scope(cfg), normalization_version()
        ctx.details.update(endpoint=self.endpoint, requests=0)
        sweep = state.get("sweep")
        if sweep and (sweep.get("scope") != scope or sweep.get("norm") != norm):
            ctx.log.warning("hf: the scope or normalization changed since the unfinished sweep; starting over")
            sweep = None
        if sweep is None:
            due = days_since(state.get("last_sweep_at")) >= float(cfg["full_sweep_days"])
            if cfg["full"] or not state.get("watermark") or state.get("scope") != scope or state.get("norm") != norm:
                kind = "full"
            elif due:
                kind = "ids"
            else:
                kind = "incremental"
        else:
            kind = sweep["kind"]
        ctx.details["mode"] = kind
        ctx.details["resumed"] = sweep is not None
        try:
            if kind == "incremental":
                yield from self._incremental(ctx, client, cfg, page_size)
            else:
                if sweep is None:
                    if kind == "full" and not state.get("watermark") and not any(
                            cfg[k] for k in ("authors", "libraries", "pipeline_tags")):
                        n = int(cfg["expected_models"]) or (HUB_MODELS if self.endpoint == DEFAULT_ENDPOINT else 0)
                        if n > 0:
                            ctx.need_space(n * BYTES_PER_MODEL, f"a first import of the whole Hub (about {n:,} models)")
                    sweep = self._start_sweep(ctx, client, cfg, kind, scope, norm)
                yield from self._sweep(ctx, client, cfg, sweep, page_size)
            yield from self._named_peers(ctx, client, cfg)
        finally:
            ctx.details["requests"] = client.requests
            if client.retried:
                ctx.details["invalid_json_retried"] = client.retried

    def _keep(self, item: Any, ctx: FetchContext, cfg: dict) -> bool:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            ctx.details["malformed"] = ctx.details.get("malformed", 0) + 1
            return False
        if item.get("private") and not cfg["include_private"]:
            ctx.details["private_skipped"] = ctx.details.get("private_skipped", 0) + 1
            return False
        if cfg["min_downloads"] and isinstance(item.get("downloads"), int) and item["downloads"] < cfg["min_downloads"]:
            ctx.details["below_min_downloads"] = ctx.details.get("below_min_downloads", 0) + 1
            return False
        return True

    def _head(self, client: HubClient, params) -> str | None:
        """The newest lastModified in a query's scope (one request)."""
        for items, _ in client.pages(_with(params, "lastModified", 1, ("lastModified",))):
            return max((i.get("lastModified") for i in items if isinstance(i, dict) and i.get("lastModified")),
                       default=None)
        return None

    def _start_sweep(self, ctx, client, cfg, kind, scope, norm) -> dict:
        qs = queries(cfg)
        heads = [self._head(client, q) for q in qs]
        return {
            "kind": kind, "scope": scope, "norm": norm, "started": ctx.run_started,
            "head": max((h for h in heads if h), default=None),
            "queries": [{"params": q, "next": None, "done": False} for q in qs], "seen": 0,
        }

    def _sweep(self, ctx: FetchContext, client: HubClient, cfg: dict, sweep: dict, page_size: int):
        fields = FIELDS if sweep["kind"] == "full" else ID_FIELDS
        for q in sweep["queries"]:
            if q["done"]:
                continue
            params = None if q["next"] else _with(q["params"], None, page_size, fields)
            # a sweep reads every page: the next is fetched while this one is written
            for items, nxt in read_ahead(client.pages(params, q["next"])):
                kept = [i for i in items if self._keep(i, ctx, cfg)]
                if sweep["kind"] == "full":
                    yield from self._with_hashes(ctx, client, cfg, kept)
                else:
                    yield from self._confirm_or_fetch(ctx, client, cfg, kept)
                sweep["seen"] += len(items)
                sweep["kept"] = sweep.get("kept", 0) + len(kept)  # what should be rows: `modelcat check` counts
                q["next"], q["done"] = nxt, nxt is None
                ctx.progress(sweep["seen"], None, f"{sweep['kind']} sweep")
                yield Checkpoint({**ctx.state, "sweep": sweep})
        # every query listed to its end: rows not seen since the sweep began are gone
        ctx.listed_all_since = sweep["started"]
        ctx.state.pop("sweep", None)
        # what `modelcat check` compares with the rows: every model kept since `started` is a row
        ctx.state["last_sweep"] = {"kind": sweep["kind"], "started": sweep["started"], "kept": sweep.get("kept")}
        ctx.state.update(scope=sweep["scope"], norm=sweep["norm"], last_sweep_at=ctx.run_started,
                         watermark=max(filter(None, [sweep["head"], ctx.state.get("watermark")]), default=None))

    def _confirm_or_fetch(self, ctx: FetchContext, client: HubClient, cfg: dict, items: list[dict]):
        """Id sweep: rows whose sha is unchanged are confirmed; the others are fetched in full."""
        ids = {f"hf:{i['id']}": i for i in items}
        known = ctx.lookup(list(ids))
        same = [cid for cid, i in ids.items()
                if cid in known and known[cid]["sha"] and known[cid]["sha"] == i.get("sha")
                and not known[cid]["removed_at"]]
        if same:
            yield Seen(same)
        fetched = []
        for cid, item in ids.items():
            if cid in same:
                continue
            info = client.model_info(item["id"])
            if info is not None and self._keep(info, ctx, cfg):
                ctx.details["fetched_one_by_one"] = ctx.details.get("fetched_one_by_one", 0) + 1
                fetched.append(info)
        yield from self._with_hashes(ctx, client, cfg, fetched)

    def _incremental(self, ctx: FetchContext, client: HubClient, cfg: dict, page_size: int):
        watermark = ctx.state["watermark"]
        newest = watermark
        for params in queries(cfg):
            for items, _ in client.pages(_with(params, "lastModified", page_size, FIELDS)):
                older, kept = False, []
                for item in items:
                    modified = item.get("lastModified") if isinstance(item, dict) else None
                    if isinstance(modified, str) and modified < watermark:
                        older = True  # sorted newest first: the rest is older still
                        break
                    if isinstance(modified, str) and modified > newest:
                        newest = modified
                    if self._keep(item, ctx, cfg):
                        kept.append(item)
                yield from self._with_hashes(ctx, client, cfg, kept)
                # no Checkpoint: a night's changes become visible together, in one commit (a
                # crash redoes them from the unmoved watermark); the sweeps, long, commit per page
                if older:
                    break
        ctx.state["watermark"] = newest

    def _with_hashes(self, ctx: FetchContext, client: HubClient, cfg: dict, items: list[dict]) -> Iterator[dict]:
        """These items, each with its weight files' sha256 where the catalog holds them for the
        same commit (no request), or where it is a candidate (WEIGHT_SUFFIXES' comment) and the
        night's `hash_requests` are not spent; then the candidates' peers that had none, asked
        the same way (their full records: they are written again, with their files)."""
        if not items or ctx.catalog is None:
            yield from items
            return
        budget = max(0, int(cfg["hash_requests"]))
        named_budget = max(0, int(cfg["named_hash_requests"]))
        named = ctx.catalog.hashed_names_elsewhere() if named_budget else {}
        ids = {f"hf:{i['id']}": i for i in items}
        held = ctx.catalog.weight_hashes(list(ids), read_before=bool(ctx.state.get("files_read")))
        counts = {cid: _weights(i.get("safetensors"))[0] for cid, i in ids.items()}
        peers = ctx.catalog.same_size_peers([n for n in counts.values() if n]) \
            if budget > ctx.details.get("hash_requests", 0) else {}
        wanted: list[str] = []  # peers to ask for after the page, by id
        for cid, item in ids.items():
            known = held.get(cid)
            if known and known["sha"] == item.get("sha") and (known["siblings"] or known["read"]):
                # what the catalog holds for this commit: its hashes, or that its files had none
                item = {**item, "siblings": known["siblings"] or item.get("siblings"), FILES_READ: known["sha"]}
            else:
                mine = [p for p in peers.get(counts[cid], ()) if p["id"] != cid and p["entity"] != (known or {}).get("entity")
                        and p["library"] == _lower(item.get("library_name")) and p["task_raw"] == item.get("pipeline_tag")]
                if size_rule(len({p["entity"] for p in mine})):
                    item = self._hashed(ctx, client, budget, item)
                    if "siblings" in item:
                        wanted += [p["id"] for p in mine if not p["hashed"]]
                elif FILES_READ not in item and named_rule(item["id"], (known or {}).get("entity"), named):
                    before = ctx.details.get("named_hash_requests", 0)
                    item = self._hashed(ctx, client, named_budget, item, "named_hash_requests")
                    if ctx.details.get("named_hash_requests", 0) > before:
                        self._named_read.add(cid)
            yield item
        for cid in dict.fromkeys(w for w in wanted if w not in ids):
            if ctx.details.get("hash_requests", 0) >= budget:
                break
            info = client.model_info(cid[3:])  # the peer's full record, as a night would read it
            if info is not None and self._keep(info, ctx, cfg):
                yield self._hashed(ctx, client, budget, info)

    def _named_peers(self, ctx: FetchContext, client: HubClient, cfg: dict) -> Iterator[dict]:
        """After the listing: the repositories named like a row of another source that holds weight
        hashes, for the names new since the last run, whose files were not read at their commit
        (they may not have changed for years): each asked once, within `named_hash_requests`."""
        budget = max(0, int(cfg["named_hash_requests"]))
        if not budget or ctx.catalog is None:
            return
        named = ctx.catalog.hashed_names_elsewhere()
        done = set(ctx.state.get("named_asked") or ())
        fresh = sorted(set(named) - done)
        for row in ctx.catalog.rows_named(fresh) if fresh else []:
            name = _repo_name(row["id"][3:])
            if row["hashed"] or not named_rule(row["id"], row["entity"], named) or row["id"] in self._named_read:
                continue
            if ctx.details.get("named_hash_requests", 0) >= budget:
                fresh = [n for n in fresh if n != name]  # not all its rows asked: again next run
                continue
            info = client.model_info(row["id"][3:])
            if info is not None and self._keep(info, ctx, cfg):
                yield self._hashed(ctx, client, budget, info, "named_hash_requests")
        ctx.state["named_asked"] = sorted((done & set(named)) | set(fresh))

    def _hashed(self, ctx: FetchContext, client: HubClient, budget: int, item: dict,
                counter: str = "hash_requests") -> dict:
        if ctx.details.get(counter, 0) >= budget:
            ctx.details["hashes_left_for_later"] = ctx.details.get("hashes_left_for_later", 0) + 1
            return item
        ctx.details[counter] = ctx.details.get(counter, 0) + 1
        info = client.files_info(item["id"], item.get("sha"))
        if info is None or not isinstance(info.get("siblings"), list):
            return item
        ctx.state["files_read"] = True  # the catalog now has commits read: look them up from now on
        return {**item, "siblings": info["siblings"], **({FILES_READ: item["sha"]} if isinstance(item.get("sha"), str) else {})}

    def normalize(self, raw: dict) -> ModelRecord:
        """A record read from huggingface.co; a run normalizes with normalizer(ctx), which binds
        the endpoint its settings name."""
        return normalize_hub(raw)

    def normalizer(self, ctx: FetchContext):
        return functools.partial(normalize_hub, endpoint=_endpoint(self.resolved_settings(ctx)))


def size_rule(other_entities: int) -> bool:
    """Whether a repository is a hash candidate by its size (WEIGHT_SUFFIXES' comment), given how many
    other entities have a live Hub row with its parameter count, library and task: some, but not
    more than HASH_PEERS."""
    return 0 < other_entities <= HASH_PEERS


def named_rule(repo_id: str, entity: str | None, named: dict[str, set[str]]) -> bool:
    """Whether a repository is a hash candidate by its name: a row of another source that holds
    weight hashes, of another entity, has its name (`hashed_names_elsewhere`)."""
    return _repo_name(repo_id) in named and entity not in named[_repo_name(repo_id)]


def _repo_name(repo_id: str) -> str:
    """A repository's name without its owner, lower-case: what hashed_names_elsewhere is keyed by."""
    return repo_id.rsplit("/", 1)[-1].lower()


def _endpoint(cfg: dict) -> str:
    """The Hub a run reads: [hf] endpoint, else $HF_ENDPOINT, else huggingface.co."""
    return (cfg["endpoint"] or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


# --------------------------------------------------------------------- normalization
_LIBRARIES = ("transformers", "timm", "diffusers", "sentence-transformers", "peft", "gguf", "onnx",
              "keras", "tf-keras", "open_clip", "setfit", "spacy", "flair", "fastai", "adapter-transformers",
              "stable-baselines3", "ml-agents", "mlx", "paddlenlp", "espnet", "speechbrain", "nemo",
              "pyannote-audio", "transformers.js", "sklearn", "coreml", "tensorflowtts", "allennlp")
_RELATIONS = ("finetune", "adapter", "quantized", "merge")
_TAG_PREFIXES = ("license:", "dataset:", "arxiv:", "base_model:", "region:", "doi:", "endpoints_", "deploy:")


def _text(value: Any, limit: int = 500) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text[:limit] if text else None


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) and value else None


def _files(siblings: Any, endpoint: str, repo_id: str, sha: str | None) -> list[WeightsFile]:
    """The weight files whose LFS sha256 the Hub gave (siblings read with ?blobs=true): evidence
    that two repositories hold the same weights (store/evidence.py). The URL names the commit."""
    out: list[WeightsFile] = []
    for sib in _as_list(siblings)[:2000]:
        if not isinstance(sib, dict) or not isinstance(sib.get("rfilename"), str):
            continue
        name, lfs = sib["rfilename"], sib.get("lfs")
        digest = lfs.get("sha256") if isinstance(lfs, dict) else None
        if not name.lower().endswith(WEIGHT_SUFFIXES) or not isinstance(digest, str) \
                or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
            continue
        url = weights_file_url(f"{endpoint.rstrip('/')}/{repo_id}/resolve/{sha or 'main'}/{quote(name)}")
        if url:
            out.append(WeightsFile(url, digest.lower()))
    return out


def _weights(safetensors: Any) -> tuple[int | None, int | None, bool | None]:
    """(parameters, bytes, is_estimate) from the Hub's safetensors summary."""
    if not isinstance(safetensors, dict):
        return None, None, None
    per_dtype = safetensors.get("parameters")
    total = integer(safetensors.get("total"))
    if not isinstance(per_dtype, dict):
        return total, None, None
    size, guessed = 0, False
    for dtype, count in per_dtype.items():
        count = integer(count)
        if count is None:
            continue
        width = DTYPE_BYTES.get(str(dtype))
        if width is None:  # an unknown dtype: count it at 2 bytes and say the size is an estimate
            width, guessed = 2, True
        size += count * width
    if total is None:
        total = sum(c for c in (integer(v) for v in per_dtype.values()) if c is not None) or None
    return total, size or None, guessed


def _metrics(model_index: Any) -> list[Metric]:
    """model-index (the model card's eval results) -> metrics; anything malformed is skipped."""
    out, seen = [], set()
    for entry in _as_list(model_index)[:20]:
        if not isinstance(entry, dict):
            continue
        for result in _as_list(entry.get("results"))[:50]:
            if not isinstance(result, dict):
                continue
            ds = result.get("dataset") if isinstance(result.get("dataset"), dict) else {}
            ds_raw = _text(ds.get("name")) or _text(ds.get("type"))
            if not ds_raw:
                continue
            split = _text(ds.get("split"), 50)
            dataset_raw = f"{ds_raw} ({split})" if split else ds_raw
            dataset_id = canonical_dataset(ds.get("type")) or canonical_dataset(ds_raw)
            origin = _credited("model card model-index", result.get("source"))
            for m in _as_list(result.get("metrics"))[:50]:
                if not isinstance(m, dict):
                    continue
                name = _text(m.get("type"), 100) or _text(m.get("name"), 100)
                value = _score(m.get("value"))
                if not name or value is None:
                    continue
                key = (dataset_raw, name)
                if key in seen:
                    continue
                seen.add(key)
                out.append(Metric(dataset_raw=dataset_raw, metric_raw=name, value=value,
                                  dataset_id=dataset_id, metric=canonical_metric(name), origin=origin))
    return out


def _score(value: Any) -> float | None:
    """A metric value as a card or a results file writes it: a number, or a string holding one
    ("81.2", "81.2%"); anything else (a list, a bool, "n/a", NaN) is no value."""
    if isinstance(value, str):
        try:
            value = float(value.strip().rstrip("%").strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in (
            float("inf"), float("-inf")):
        return None
    return float(value)


def _credited(where: str, source: Any) -> str:
    """A metric's origin: the part of the repository it was read from, and whom it credits (the
    entry's `source`: a name and a URL), as plain text."""
    if not isinstance(source, dict):
        return where
    name, url = _text(source.get("name"), 200), _text(source.get("url"), 500)
    credit = " ".join(x for x in (name, f"<{url}>" if url else None) if x)
    return f"{where}; source: {credit}" if credit else where


def _unique(metrics: list[Metric]) -> list[Metric]:
    """One metric per (evaluation set, metric) as the source names them (the table's key): the first."""
    return list({(m.dataset_raw, m.metric_raw): m for m in reversed(metrics)}.values())[::-1]


def _eval_results(entries: Any) -> list[Metric]:
    """The Hub's newer evaluation results (the `.eval_results/*.yaml` files of a model repository,
    which the API returns as `evalResults` when asked): one score per benchmark dataset and task,
    with whom it credits. The API gives each entry as `{"filename", "data": {...}}`, an entry that
    failed the Hub's validation as `{"filename", "error"}` (skipped), or the entry itself; a
    benchmark scored several ways (with and without tools) tells them apart by `notes`."""
    out, seen = [], set()
    for item in _as_list(entries)[:100]:
        if not isinstance(item, dict) or "error" in item:
            continue
        entry = item.get("data") if isinstance(item.get("data"), dict) else item
        ds = entry.get("dataset") if isinstance(entry.get("dataset"), dict) else {}
        ds_id = _text(ds.get("id"), 200)
        value = _score(entry.get("value"))
        if not ds_id or value is None or not valid_id("hf_repo", ds_id):  # a benchmark is a Hub dataset
            continue
        task = _text(ds.get("task_id"), 100) or "default"
        notes = _text(entry.get("notes"), 100)
        dataset_raw = f"{ds_id} ({notes})" if notes else ds_id
        metric_raw = task
        if (dataset_raw, metric_raw) in seen:
            continue
        seen.add((dataset_raw, metric_raw))
        filename = _text(item.get("filename"), 200)
        where = f"Hub evaluation results {filename}" if filename else "Hub evaluation results (.eval_results)"
        if _text(entry.get("verifyToken"), 10_000):
            where += " (carries a verifyToken)"
        out.append(Metric(dataset_raw=dataset_raw, metric_raw=metric_raw, value=value,
                          dataset_id=canonical_dataset(ds_id) or ds_id,  # a Hub benchmark dataset
                          metric="score" if task == "default" else canonical_metric(task),
                          origin=_credited(where, entry.get("source"))))
    return out


def _datasets(tags: list[str], card: dict) -> list[DatasetLink]:
    raws = [t[8:] for t in tags if t.startswith("dataset:")]
    raws += [str(d) for d in _as_list(card.get("datasets")) if isinstance(d, (str, int))]
    out, ids = [], set()
    for raw in raws:
        raw = raw.strip()[:200]
        if not raw or names_no_dataset(raw):  # "imagefolder": the author's own files, no dataset
            continue
        ident = canonical_dataset(raw) or raw
        if ident == raw and not valid_id("hf_repo", raw):  # neither a dataset we know nor a Hub dataset id
            continue
        if ident not in ids:
            ids.add(ident)
            out.append(DatasetLink(ident, "train", raw))
    return out


def _relations(tags: list[str], card: dict) -> list[Relation]:
    typed, plain = {}, []
    for t in tags:
        if not t.startswith("base_model:"):
            continue
        rest = t[len("base_model:"):]
        kind, _, target = rest.partition(":")
        if kind in _RELATIONS and target:
            if valid_id("hf_repo", target):  # a base model the Hub would not allow is no link
                typed.setdefault(target, Relation(kind, f"hf:{target}", t))
        elif rest:
            plain.append((rest, t))
    for base in _as_list(card.get("base_model"))[:50]:
        if isinstance(base, str) and base.strip():
            plain.append((base.strip(), f"cardData.base_model:{base.strip()}"))
    out = list(typed.values())
    for target, raw in plain:
        if not valid_id("hf_repo", target):
            continue
        if target not in typed and all(r.related_id != f"hf:{target}" for r in out):
            out.append(Relation("base_model", f"hf:{target}", raw))
    return out[:50]


# card fields whose GitHub URLs are not the model's code (example images, eval results)
_NOT_CODE = ("widget", "model-index", "inference", "thumbnail")
_encode_json = json.JSONEncoder(default=str).encode  # built once, not per call as json.dumps does


def _repos(card: dict) -> list[RepoLink]:
    """GitHub repositories the model card's metadata points at (repo:, github:, license_link, ...)."""
    texts = []
    for k, v in card.items():
        if k in _NOT_CODE or v is None or isinstance(v, (bool, int, float)):
            continue
        text = v if isinstance(v, str) else _encode_json(v)[:20_000]
        if "github" in text:
            texts.append(text)
    return [RepoLink(ident, f"https://github.com/{written}") for ident, written in github_repo_ids(texts)][:20]


def normalize_hub(raw: dict, endpoint: str = DEFAULT_ENDPOINT) -> ModelRecord:
    repo_id = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(repo_id, str) or not repo_id.strip():
        raise SkipRecord("no model id")
    problem = id_problem("hf_repo", repo_id)
    if problem:  # whatever answers at HF_ENDPOINT: an id the Hub would not allow is never stored
        raise SkipRecord("not a valid Hub repository id", problem)
    tags = [t for t in _as_list(raw.get("tags")) if isinstance(t, str)][:500]
    card = raw.get("cardData") if isinstance(raw.get("cardData"), dict) else {}
    pipeline_tag = _text(raw.get("pipeline_tag"), 100)
    task = normalize_task(pipeline_tag)
    if task is None:  # no (known) pipeline tag: the first tag that is a task
        task = next((t for t in (normalize_task(x) for x in tags if "-" in x and ":" not in x) if t), None)
    library = _text(raw.get("library_name"), 100) or next((t for t in tags if t in _LIBRARIES), None)
    num_params, size, guessed = _weights(raw.get("safetensors"))
    gated = raw.get("gated")
    author = _text(raw.get("author"), 200) or (repo_id.split("/", 1)[0] if "/" in repo_id else None)
    rec = ModelRecord(
        id=f"hf:{repo_id}",
        source="hf",
        name=repo_id,
        author=author,
        task=task,
        task_raw=pipeline_tag,
        library=library.lower() if library else None,
        num_params=num_params,
        size_bytes=size,
        size_is_estimate=guessed if size is not None else None,
        url=f"{endpoint.rstrip('/')}/{repo_id}",
        tags=[t for t in tags if not t.startswith(_TAG_PREFIXES)][:40],
        created_at=_text(raw.get("createdAt"), 40),
        updated_at=_text(raw.get("lastModified"), 40),
        hf_hub_id=repo_id,
        # timm/<arch>.<tag> on the Hub holds the weights of timm's <arch>.<tag>: one entity
        entity_id=hub_entity(repo_id) if repo_id.startswith("timm/") and "." in repo_id else None,
        source_uid=_text(raw.get("_id"), 64),
        downloads=integer(raw.get("downloads")),
        likes=integer(raw.get("likes")),
        gated=gated if gated in ("auto", "manual") else ("manual" if gated is True else None),
        private=bool(raw.get("private")) if raw.get("private") is not None else None,
        disabled=bool(raw.get("disabled")) if raw.get("disabled") is not None else None,
        sha=_text(raw.get("sha"), 64),
        repo_bytes=integer(raw.get("usedStorage")),
        datasets=_datasets(tags, card),
        metrics=_unique(_metrics(card.get("model-index") if "model-index" in card else raw.get("model-index"))
                        + _eval_results(raw.get("evalResults"))),
        papers=[PaperLink(f"arxiv:{i}", f"arxiv:{i}") for i in arxiv_ids([t for t in tags if t.startswith("arxiv:")],
                                                                          bare=False)],
        relations=_relations(tags, card),
        repos=_repos(card),
        files=_files(raw.get("siblings"), endpoint, repo_id, _text(raw.get("sha"), 64)),
    )
    if rec.sha and raw.get(FILES_READ) == rec.sha:  # its weight files were read at this commit
        rec.extra["files_read"] = rec.sha
    license_raw = card.get("license") if card.get("license") not in (None, "", []) else None
    if license_raw is None:
        license_raw = [t[8:] for t in tags if t.startswith("license:")] or None
        if isinstance(license_raw, list) and len(license_raw) == 1:
            license_raw = license_raw[0]
    rec.set_license(normalize_license(license_raw, card.get("license_name")))
    return rec
