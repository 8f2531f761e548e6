"""An in-memory Hugging Face Hub API server, for tests and benchmarks that run the real
`huggingface_hub` client (or any HTTP client) without the network.

    with HubReplay(synthetic_models(1000), page_size=100) as hub:
        api = HfApi(endpoint=hub.url)            # or HF_ENDPOINT=hub.url
        for m in api.list_models(expand=["sha", "lastModified"]): ...

Endpoints (shapes as recorded from https://huggingface.co, see ../../../shared/fixtures-raw):

* ``GET /api/models`` - the list. ``author``, ``filter`` (repeatable, all must match),
  ``pipeline_tag``, ``search``, ``gated``, ``sort`` + ``direction``, ``limit``, ``expand``
  (repeatable), ``full``, ``cardData``, ``config``, ``cursor``. Key-based cursors: a page is "the
  items strictly after the last item of the previous page" in the same order, so models modified
  while a client pages are neither duplicated nor do they shift the others. ``Link: <absolute
  url>; rel="next"`` only while more items remain.
* ``GET /api/models/{repo_id}`` and ``.../revision/{rev}`` - one model (all fields, or the
  ``expand`` subset). Renamed: 307 with a relative ``Location``. Missing or private: 404 with
  ``X-Error-Code: RepoNotFound``. Unknown revision: 404 with ``X-Error-Code: RevisionNotFound``.

Records are stored as given (plus a few filled fields) and never mutated in place: every change
replaces the dict, so a response can be serialized without holding the lock.
"""

from __future__ import annotations

import base64
import bisect
import copy
import datetime
import gc
import hashlib
import json
import threading
from http import HTTPStatus
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlencode, urlsplit

from .server import JSON_TYPE as _JSON
from .server import DispatchHandler, TrackedServer
from .server import ReplayHTTPError as _HTTPError
from .server import dumps_json as _dumps

__all__ = ["HubReplay", "EXPAND_KEYS", "SORT_KEYS", "DEFAULT_LIST_FIELDS", "FULL_LIST_FIELDS"]

# Properties `expand=` accepts (the Hub's names; huggingface_hub 2.4.0's ExpandModelProperty_T plus
# the ones the Hub documents besides: xetEnabled).
EXPAND_KEYS = frozenset({
    "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled",
    "downloads", "downloadsAllTime", "evalResults", "gated", "gguf", "inference",
    "inferenceProviderMapping", "lastModified", "library_name", "likes", "mask_token", "model-index",
    "pipeline_tag", "private", "resourceGroup", "safetensors", "sha", "siblings", "spaces", "tags",
    "transformersInfo", "trendingScore", "usedStorage", "widgetData", "xetEnabled",
})
# sort value -> (record field, default when missing, is_date)
SORT_KEYS = {
    "lastModified": ("lastModified", "", True),
    "createdAt": ("createdAt", "", True),
    "downloads": ("downloads", 0, False),
    "likes": ("likes", 0, False),
    "trendingScore": ("trendingScore", 0, False),
}
# The list endpoint's fields without expand, and what full=true adds.
DEFAULT_LIST_FIELDS = ("_id", "id", "likes", "trendingScore", "private", "downloads", "tags",
                       "pipeline_tag", "library_name", "createdAt", "modelId")
FULL_LIST_FIELDS = ("lastModified", "sha", "siblings", "author", "gated", "disabled")

_TRUE = frozenset({"true", "1", "yes", "True", "TRUE"})
_OID_BASE = 0x63B0CD00 << 64  # 2023-01-01T00:00:00Z as an ObjectId timestamp


def _now_iso() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _parse_iso(s: str) -> datetime.datetime:
    dt = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=datetime.timezone.utc)


def _fmt_iso(dt: datetime.datetime) -> str:
    dt = dt.astimezone(datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _encode_cursor(obj: dict) -> str:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        obj = json.loads(raw)
    except Exception:
        raise _HTTPError(400, "Invalid cursor") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("i"), str):
        raise _HTTPError(400, "Invalid cursor")
    return obj


class _Index:
    """Records in one list order: by (sort value in `direction`, then _id ascending) - the Hub's
    cursors are `{"$or": [{key: v, "_id": {"$gt": id}}, {key: {"$lt": v}}]}` - or by _id."""

    __slots__ = ("sort", "desc", "field", "default", "is_date", "items")

    def __init__(self, sort: str | None, desc: bool, records):
        self.sort, self.desc = sort, desc
        if sort is None:
            self.field, self.default, self.is_date = "_id", "", True
            self.items = sorted(records, key=_oid)
        else:
            self.field, self.default, self.is_date = SORT_KEYS[sort]
            items = sorted(records, key=_oid)
            items.sort(key=self.value, reverse=desc)  # stable: ties stay in _id order
            self.items = items

    def value(self, rec: dict):
        v = rec.get(self.field)
        if self.is_date:
            return v if isinstance(v, str) else self.default
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return self.default
        return v

    def key(self, rec: dict) -> tuple:
        return self.value(rec), rec["_id"]

    def after(self, v, oid: str) -> int:
        """Index of the first record strictly after (v, oid) in this order."""
        items = self.items
        if self.sort is None:
            return bisect.bisect_right(items, oid, key=_oid)
        lo, hi = 0, len(items)
        value, desc = self.value, self.desc
        while lo < hi:
            mid = (lo + hi) // 2
            r = items[mid]
            rv = value(r)
            if rv == v:
                before = r["_id"] <= oid
            else:
                before = rv > v if desc else rv < v
            if before:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _locate(self, rec: dict) -> int:
        """Position of this very record object, or -1."""
        key = self.key(rec)
        items, keyf = self.items, self.key
        p = self.after(*key) - 1
        while p >= 0 and keyf(items[p]) == key:  # equal keys only if someone reused an _id
            if items[p] is rec:
                return p
            p -= 1
        return -1

    def remove(self, rec: dict) -> bool:
        p = self._locate(rec)
        if p < 0:
            return False
        del self.items[p]
        return True

    def insert(self, rec: dict) -> None:
        self.items.insert(self.after(*self.key(rec)), rec)

    def replace(self, old: dict, new: dict) -> bool:
        p = self._locate(old)
        if p < 0:
            return False
        self.items[p] = new
        return True


def _oid(rec: dict) -> str:
    return rec["_id"]


class _Handler(DispatchHandler):
    server_version = "HubReplay/1.0"


def _plain_siblings(rec: dict) -> dict:
    """A record's siblings as the Hub lists them without ?blobs=true: file names only (a record
    given with each file's size, blobId and lfs {sha256, size, pointerSize} serves those with
    blobs=true, as huggingface_hub's model_info(files_metadata=True) asks)."""
    sibs = rec.get("siblings")
    if not isinstance(sibs, list) or not any(isinstance(x, dict) and len(x) > 1 for x in sibs):
        return rec
    return {**rec, "siblings": [{"rfilename": x.get("rfilename")} if isinstance(x, dict) else x for x in sibs]}


def _with_lfs(rec: dict) -> dict:
    """With ?blobs=true, a record given without its files' metadata but with safetensors weights
    gets the file the Hub would list: model.safetensors in LFS, its sha256 from the repository and
    commit (each repository's weights its own; two records hold the same bytes only when given
    the same lfs sha256 explicitly). A record given with its files' metadata (a blobId: a small
    file kept in git, without LFS) is listed as given."""
    sibs = rec.get("siblings") if isinstance(rec.get("siblings"), list) else []
    if any(isinstance(x, dict) and (x.get("lfs") or x.get("blobId")) for x in sibs) \
            or not isinstance(rec.get("safetensors"), dict):
        return rec
    digest = hashlib.sha256(f"{rec.get('id')}@{rec.get('sha')}".encode()).hexdigest()
    size = 4 * (rec["safetensors"].get("total") or 0) or 1
    lfs = {"rfilename": "model.safetensors", "size": size, "blobId": digest[:40],
           "lfs": {"sha256": digest, "size": size, "pointerSize": 135}}
    return {**rec, "siblings": [x for x in sibs if not (isinstance(x, dict) and x.get("rfilename") == "model.safetensors")]
            + [lfs]}


def _first(q: dict, name: str) -> str | None:
    vals = q.get(name)
    return vals[-1] if vals else None


class HubReplay(TrackedServer):
    """The in-memory Hub. Thread-safe; data changes apply to the next request."""

    def __init__(self, models=(), *, page_size: int = 1000, max_page_size: int = 1000,
                 tokens=None, anonymous_not_found_status: int = 404):
        self.page_size = int(page_size)
        self.max_page_size = int(max_page_size)
        # Bearer tokens that may see private models (None: nobody, private answers 404).
        self.tokens = set(tokens) if tokens is not None else None
        # The real Hub answers 401 (X-Error-Code RepoNotFound) to anonymous requests for missing or
        # private repos and 404 to authenticated ones; 404 for everyone is the default here.
        self.anonymous_not_found_status = int(anonymous_not_found_status)
        self.requests: list[tuple[str, str, dict]] = []
        self._lock = threading.RLock()
        self._models: dict[str, dict] = {}
        self._redirects: dict[str, str] = {}
        self._old_shas: dict[str, set] = {}  # earlier commits (touch, put over a model) stay valid revisions
        self._indexes: dict[tuple, _Index] = {}
        self._faults: list[list] = []
        self._max_oid = f"{_OID_BASE - 1:024x}"
        self._max_lm = ""
        self._counter = 0
        self._conns: set = set()
        if models:
            self.put_many(models)

    # ----------------------------------------------------------------- life cycle
    def handler(self):
        return _Handler

    # ----------------------------------------------------------------- data
    def _prepare(self, info, old: dict | None) -> dict:
        if not isinstance(info, dict):
            raise TypeError(f"a model is a dict, not {type(info).__name__}")
        rec = dict(info)
        repo_id = rec.get("id")
        if not isinstance(repo_id, str) or not repo_id or repo_id.startswith("/") or repo_id.count("/") > 1:
            raise ValueError(f"a model needs an 'id' like 'owner/name' or 'name', got {repo_id!r}")
        oid = rec.get("_id")
        if oid is None:
            oid = old["_id"] if old is not None else None
            if oid is None:
                oid = self._new_oid()
            rec["_id"] = oid
        elif not isinstance(oid, str):
            rec["_id"] = oid = str(oid)
        if len(oid) == 24 and oid > self._max_oid:  # same-length lowercase hex: string order is numeric order
            try:
                if int(oid, 16) >= 0 and oid == oid.lower():
                    self._max_oid = oid
            except ValueError:
                pass
        if "modelId" not in rec:
            rec["modelId"] = repo_id
        if "author" not in rec and "/" in repo_id:
            rec["author"] = repo_id.split("/", 1)[0]
        if "private" not in rec:
            rec["private"] = False
        lm = rec.get("lastModified")
        if lm is None:
            lm = rec.get("createdAt") or _now_iso()
            rec["lastModified"] = lm
        if rec.get("createdAt") is None:
            rec["createdAt"] = lm
        if isinstance(lm, str) and lm > self._max_lm:
            self._max_lm = lm
        if rec.get("sha") is None:
            self._counter += 1
            rec["sha"] = hashlib.sha1(f"{repo_id}\0{lm}\0{self._counter}".encode()).hexdigest()
        return rec

    def _new_oid(self) -> str:
        try:
            n = int(self._max_oid, 16) + 1
        except ValueError:
            n = _OID_BASE
        self._max_oid = oid = f"{max(n, _OID_BASE):024x}"
        return oid

    def _retire(self, old: dict) -> None:
        """Keep a replaced record's sha: it stays a valid revision."""
        sha = old.get("sha")
        if isinstance(sha, str):
            self._old_shas.setdefault(old["id"], set()).add(sha)

    def put(self, info: dict) -> None:
        """Add or replace a model (model_info shape; needs "id")."""
        with self._lock:
            old = self._models.get(info.get("id") if isinstance(info, dict) else None)
            rec = self._prepare(info, old)
            repo_id = rec["id"]
            self._redirects.pop(repo_id, None)  # a new repo took a renamed repo's old name
            if old is not None:
                self._index_remove(old)
                self._retire(old)
            self._models[repo_id] = rec
            self._index_insert(rec)

    def put_many(self, infos) -> None:
        """Bulk load (the list indexes are rebuilt on the next list request)."""
        gc_was_enabled = gc.isenabled()
        gc.disable()  # a million small dicts: the cyclic GC would rescan them over and over
        try:
            self._put_many(infos)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _put_many(self, infos) -> None:
        with self._lock:
            models, redirects, prepare = self._models, self._redirects, self._prepare
            for info in infos:
                old = models.get(info.get("id")) if isinstance(info, dict) else None
                rec = prepare(info, old)
                repo_id = rec["id"]
                if redirects:
                    redirects.pop(repo_id, None)
                if old is not None:
                    self._retire(old)
                models[repo_id] = rec
            self._indexes.clear()

    def get(self, repo_id: str) -> dict:
        """A deep copy of the model (a renamed id resolves to its new id). KeyError if missing."""
        with self._lock:
            rec = self._models[self._resolve(repo_id)]
            return copy.deepcopy(rec)

    def touch(self, repo_id: str, when: str | None = None) -> None:
        """A new commit: new lastModified (default now, strictly later than any existing) and sha."""
        with self._lock:
            repo_id = self._resolve(repo_id)
            old = self._models[repo_id]
            if when is None:
                when = _now_iso()
                if self._max_lm and when <= self._max_lm:
                    try:
                        when = _fmt_iso(_parse_iso(self._max_lm) + datetime.timedelta(milliseconds=1))
                    except ValueError:
                        when = self._max_lm + "~"
            if when > self._max_lm:
                self._max_lm = when
            self._counter += 1
            rec = dict(old, lastModified=when,
                       sha=hashlib.sha1(f"{repo_id}\0{when}\0{self._counter}".encode()).hexdigest())
            self._index_remove(old)
            self._retire(old)
            self._models[repo_id] = rec
            self._index_insert(rec)

    def delete(self, repo_id: str) -> None:
        with self._lock:
            repo_id = self._resolve(repo_id)
            old = self._models.pop(repo_id)
            self._old_shas.pop(repo_id, None)
            self._index_remove(old)
            for k in [k for k, v in self._redirects.items() if v == repo_id]:
                del self._redirects[k]

    def rename(self, old_id: str, new_id: str) -> None:
        """The model now lives at new_id (same _id); old_id answers 307 to it."""
        with self._lock:
            if old_id not in self._models:
                raise KeyError(old_id)
            if new_id in self._models:
                raise ValueError(f"{new_id} already exists")
            if not new_id or new_id.startswith("/") or new_id.count("/") > 1:
                raise ValueError(f"bad repo id {new_id!r}")
            old = self._models.pop(old_id)
            rec = dict(old, id=new_id, modelId=new_id)
            if "/" in new_id:
                rec["author"] = new_id.split("/", 1)[0]
            self._models[new_id] = rec
            if old_id in self._old_shas:
                self._old_shas[new_id] = self._old_shas.pop(old_id)
            for k, v in list(self._redirects.items()):
                if v == old_id:
                    self._redirects[k] = new_id
            self._redirects.pop(new_id, None)
            self._redirects[old_id] = new_id
            for key, idx in list(self._indexes.items()):
                if not idx.replace(old, rec):
                    del self._indexes[key]

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def redirects(self) -> dict[str, str]:
        """old id -> current id, for every renamed model."""
        with self._lock:
            return dict(self._redirects)

    def cursor_for(self, repo_id: str, sort: str | None = None, direction: int = -1) -> str:
        """The opaque cursor of the page that starts right after `repo_id` in that order (what a
        next link would carry): lets a benchmark jump to a middle page."""
        with self._lock:
            rec = self._models[self._resolve(repo_id)]
            if sort is None:
                return _encode_cursor({"i": rec["_id"]})
            idx = self._index(sort, int(direction) != 1)
            return _encode_cursor({"v": idx.value(rec), "i": rec["_id"]})

    def _resolve(self, repo_id: str) -> str:
        if repo_id in self._models:
            return repo_id
        return self._redirects.get(repo_id, repo_id)

    # ----------------------------------------------------------------- indexes
    def _index(self, sort: str | None, desc: bool) -> _Index:
        key = (sort, desc if sort else False)
        idx = self._indexes.get(key)
        if idx is None:
            idx = self._indexes[key] = _Index(sort, key[1], self._models.values())
        return idx

    def _index_remove(self, rec: dict) -> None:
        for key, idx in list(self._indexes.items()):
            if not idx.remove(rec):
                del self._indexes[key]  # out of step: rebuild on the next request

    def _index_insert(self, rec: dict) -> None:
        for idx in self._indexes.values():
            idx.insert(rec)

    # ----------------------------------------------------------------- faults
    def fail_next(self, n: int, status: int = 429, headers: dict | None = None,
                  path_prefix: str = "/api/models", after: int = 0) -> None:
        """The next n requests whose path starts with path_prefix answer `status` (a JSON error),
        once `after` more such requests have been answered as usual (a client that reads a page
        ahead has asked for the next before it reports this one). 429 without headers sends
        "Retry-After: 0"."""
        if headers is None:
            headers = {"Retry-After": "0"} if status == 429 else {}
        with self._lock:
            if n > 0:
                self._faults.append([int(n), int(status), dict(headers), path_prefix, max(0, int(after))])

    # ----------------------------------------------------------------- observation
    def count(self, path_prefix: str = "/api/models") -> int:
        with self._lock:
            return sum(1 for _, p, _ in self.requests if p.startswith(path_prefix))

    def reset_log(self) -> None:
        with self._lock:
            del self.requests[:]

    # ----------------------------------------------------------------- HTTP
    def _handle(self, method: str, raw: str, headers, body: bytes = b"") -> tuple[int, dict, bytes]:
        parts = urlsplit(raw)
        path, qs = parts.path or "/", parts.query
        try:
            query = parse_qs(qs, keep_blank_values=True)
        except Exception:
            query = {}
        with self._lock:
            self.requests.append((method, path, query))
            fault = None
            for f in self._faults:
                if path.startswith(f[3]):
                    if f[4] > 0:  # answered as usual first
                        f[4] -= 1
                        continue
                    f[0] -= 1
                    fault = f
                    if f[0] <= 0:
                        self._faults.remove(f)
                    break
        if fault is not None:
            status = fault[1]
            try:
                phrase = HTTPStatus(status).phrase
            except ValueError:
                phrase = "Error"
            return status, {"Content-Type": _JSON, **fault[2]}, _dumps({"error": phrase})
        if method not in ("GET", "HEAD"):
            if path.startswith("/api/models"):
                raise _HTTPError(405, f"Method {method} not allowed")
            raise _HTTPError(404, "Not Found")
        auth = headers.get("Authorization") or ""
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        authorized = token is not None and self.tokens is not None and token in self.tokens
        if path in ("/api/models", "/api/models/"):
            return self._list(query, qs, headers.get("Host"), authorized)
        if path.startswith("/api/models/"):
            return self._info(path, qs, query, authorized, bool(auth))
        raise _HTTPError(404, "Not Found")

    @staticmethod
    def _flag(query: dict, name: str) -> bool:
        v = _first(query, name)
        return v is not None and v in _TRUE

    @staticmethod
    def _expand(query: dict) -> list[str]:
        expand: list[str] = []
        for v in query.get("expand", []) + query.get("expand[]", []):
            for e in v.split(",") if "," in v else (v,):
                if e not in EXPAND_KEYS:
                    raise _HTTPError(400, f'"expand" must be one of {sorted(EXPAND_KEYS)}, got "{e}"')
                if e not in expand:
                    expand.append(e)
        return expand

    def _list(self, query: dict, qs: str, host: str | None, authorized: bool) -> tuple[int, dict, bytes]:
        expand = self._expand(query)
        full, card, config = self._flag(query, "full"), self._flag(query, "cardData"), self._flag(query, "config")
        if expand and (full or card or config):
            raise _HTTPError(400, "expand cannot be used with full, cardData or config")
        sort = _first(query, "sort") or None
        if sort is not None:
            sort = {"last_modified": "lastModified", "created_at": "createdAt",
                    "trending_score": "trendingScore"}.get(sort, sort)
            if sort not in SORT_KEYS:
                raise _HTTPError(400, f'"sort" must be one of {sorted(SORT_KEYS)}, got "{sort}"')
        direction = _first(query, "direction")
        try:
            desc = direction is None or direction == "" or int(direction) == -1
            if direction not in (None, "") and int(direction) not in (-1, 1):
                raise ValueError
        except ValueError:
            raise _HTTPError(400, '"direction" must be 1 or -1') from None
        limit_s = _first(query, "limit")
        if limit_s in (None, ""):
            limit = self.page_size
        else:
            try:
                limit = int(limit_s)
            except ValueError:
                raise _HTTPError(400, '"limit" must be a positive integer') from None
            if limit < 1:
                raise _HTTPError(400, '"limit" must be a positive integer')
        limit = max(1, min(limit, self.max_page_size))
        cursor_s = _first(query, "cursor")
        cursor = _decode_cursor(cursor_s) if cursor_s else None
        if cursor is not None and sort is not None:
            is_date = SORT_KEYS[sort][2]
            v = cursor.get("v")
            ok = isinstance(v, str) if is_date else (isinstance(v, (int, float)) and not isinstance(v, bool))
            if not ok:
                raise _HTTPError(400, "Invalid cursor")

        preds = []
        author = _first(query, "author")
        if author:
            preds.append(lambda r: r.get("author", r["id"].split("/", 1)[0] if "/" in r["id"] else None) == author)
        for f in query.get("filter", []):
            if f == "":
                continue
            preds.append(lambda r, f=f: f in (r.get("tags") or ()) or r.get("library_name") == f
                         or r.get("pipeline_tag") == f)
        pipeline_tag = _first(query, "pipeline_tag")
        if pipeline_tag:
            preds.append(lambda r: r.get("pipeline_tag") == pipeline_tag)
        search = _first(query, "search")
        if search:
            s = search.lower()
            preds.append(lambda r: s in r["id"].lower())
        gated = _first(query, "gated")
        if gated in ("true", "false"):
            want = gated == "true"
            preds.append(lambda r: bool(r.get("gated")) == want)

        def match(r):
            if r.get("private") is True and not authorized:
                return False
            for p in preds:
                if not p(r):
                    return False
            return True

        with self._lock:
            idx = self._index(sort, desc)
            items = idx.items
            n = len(items)
            i = 0 if cursor is None else idx.after(cursor.get("v") if sort else cursor["i"], cursor["i"])
            page = []
            while i < n and len(page) < limit:
                r = items[i]
                i += 1
                if match(r):
                    page.append(r)
            more = False
            if len(page) == limit:
                while i < n:
                    if match(items[i]):
                        more = True
                        break
                    i += 1
            next_cursor = None
            if more:
                last = page[-1]
                next_cursor = _encode_cursor({"v": idx.value(last), "i": last["_id"]} if sort else {"i": last["_id"]})
        if expand:
            out = [{"_id": r["_id"], "id": r["id"], **{k: r[k] for k in expand if k in r}} for r in page]
            if "siblings" in expand:
                out = [_plain_siblings(r) for r in out]
        else:
            fields = DEFAULT_LIST_FIELDS
            if full:
                fields += FULL_LIST_FIELDS
            if card:
                fields += ("cardData",)
            if config:
                fields += ("config",)
            out = [{k: r[k] for k in fields if k in r} for r in page]
            if full:
                out = [_plain_siblings(r) for r in out]
        headers = {"Content-Type": _JSON}
        if next_cursor is not None:
            base = f"http://{host}" if host else self.url
            pairs = [(k, v) for k, v in parse_qsl(qs, keep_blank_values=True) if k != "cursor"]
            pairs.append(("cursor", next_cursor))
            headers["Link"] = f'<{base}/api/models?{urlencode(pairs)}>; rel="next"'
        return 200, headers, _dumps(out)

    def _not_found(self, has_auth: bool) -> _HTTPError:
        status = 404 if has_auth else self.anonymous_not_found_status
        return _HTTPError(status, "Repository not found", {"X-Error-Code": "RepoNotFound",
                                                           "X-Error-Message": "Repository not found"})

    def _info(self, path: str, qs: str, query: dict, authorized: bool, has_auth: bool):
        rest = path[len("/api/models/"):]
        segs = rest.split("/")
        if len(segs) >= 4 and segs[2] == "revision":
            n_repo = 2
        elif len(segs) >= 3 and segs[1] == "revision":
            n_repo = 1
        elif len(segs) in (1, 2) and all(segs):
            n_repo = len(segs)
        else:
            raise _HTTPError(404, "Not Found")
        repo_id = "/".join(unquote(s) for s in segs[:n_repo])
        revision = unquote("/".join(segs[n_repo + 1:])) if len(segs) > n_repo else None
        if revision == "":
            raise _HTTPError(404, "Not Found")
        expand = self._expand(query)
        if expand and (self._flag(query, "securityStatus") or self._flag(query, "blobs")):
            raise _HTTPError(400, "expand cannot be used with securityStatus or blobs")
        with self._lock:
            rec = self._models.get(repo_id)
            if rec is None:
                new_id = self._redirects.get(repo_id)
                if new_id is not None and not (self._models[new_id].get("private") is True and not authorized):
                    tail = "/" + "/".join(segs[n_repo:]) if len(segs) > n_repo else ""
                    location = "/api/models/" + quote(new_id, safe="/") + tail + (f"?{qs}" if qs else "")
                    return 307, {"Content-Type": "text/plain; charset=utf-8", "Location": location}, \
                        f"Temporary Redirect. Redirecting to {location}".encode()
                raise self._not_found(has_auth)
            if rec.get("private") is True and not authorized:
                raise self._not_found(has_auth)
            if revision is not None and revision not in ("main", rec.get("sha")) \
                    and revision not in self._old_shas.get(repo_id, ()):
                raise _HTTPError(404, f"Invalid rev id: {revision}", {"X-Error-Code": "RevisionNotFound",
                                                                     "X-Error-Message": f"Invalid rev id: {revision}"})
        if expand:
            out = {"_id": rec["_id"], "id": rec["id"], **{k: rec[k] for k in expand if k in rec}}
        else:
            out = rec
        if not self._flag(query, "blobs"):
            out = _plain_siblings(out)
        else:
            out = _with_lfs(out)
        return 200, {"Content-Type": _JSON}, _dumps(out)
