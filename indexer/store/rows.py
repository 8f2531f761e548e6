"""Records as rows: the catalog's column lists, how a record becomes the row and child rows SQLite
stores (pure: the Hub's normalize worker prepares them), each text cell within its cap
(schema/caps.yml), and the record digest that spares unchanged rows a rewrite.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import operator
import threading
from typing import Iterator

from ..normalize.values import integer, number
from ..records import DERIVED_FIELDS, VOLATILE_FIELDS, ModelRecord
from ..textsafe import display, visible


# models columns a record fills, in ModelRecord field order
MODEL_COLUMNS = (
    "id", "source", "name", "author", "task", "task_raw", "library",
    "license", "license_raw", "license_family", "is_open",
    "num_params", "size_bytes", "size_is_estimate", "url", "description", "tags",
    "created_at", "updated_at",
    "architecture", "weights", "hf_hub_id", "input_size", "mean", "std", "crop_pct",
    "interpolation", "num_classes", "classifier", "first_conv", "source_version", "extra",
    "entity_id", "source_uid", "license_name", "downloads", "likes", "gated", "private", "disabled",
    "sha", "repo_bytes", "loadable", "load_backend", "load_note", "is_test",
    "dataset_ids", "imagenet_top1",  # DERIVED_FIELDS: from the children, not digested
)  # fmt: skip


_JSON_COLUMNS = frozenset({"tags", "input_size", "mean", "std", "extra", "authors", "categories", "topics"})


PAPER_COLUMNS = (
    "id", "arxiv_id", "title", "authors", "abstract", "published", "updated", "categories",
    "primary_category", "doi", "pdf_url", "url", "version", "comment", "journal_ref", "missing",
)  # fmt: skip


REPO_COLUMNS = (
    "id", "full_name", "owner", "name", "description", "url", "homepage", "stars", "forks",
    "open_issues", "license", "license_raw", "license_family", "is_open", "topics", "language",
    "created_at", "pushed_at", "archived", "fork", "default_branch", "has_hubconf", "missing", "source",
)  # fmt: skip


# columns a source may not know (None) while another source does: a None keeps the stored value
_KEEP_KNOWN = {"repos": ("has_hubconf",)}


_BOOL_COLUMNS = frozenset({"is_open", "loadable", "size_is_estimate", "private", "disabled", "missing", "archived", "fork",
                           "has_hubconf", "is_test"})


_last_stamp = _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)


_stamp_lock = threading.Lock()


def utcnow() -> str:
    """Catalog timestamps: UTC, ISO 8601, milliseconds, strictly increasing within the process.

    Removal compares a row's last_seen with the start of the listing that missed it, so two
    writers in one millisecond must still get different, ordered stamps.
    """
    global _last_stamp
    with _stamp_lock:
        now = _dt.datetime.now(_dt.timezone.utc)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # whole milliseconds
        if now <= _last_stamp:
            now = _last_stamp + _dt.timedelta(milliseconds=1)
        _last_stamp = now
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


_VOLATILE_INDEXES = tuple(MODEL_COLUMNS.index(c) for c in VOLATILE_FIELDS)  # in VOLATILE_FIELDS order


_INT_COLUMNS = frozenset({"num_params", "size_bytes", "num_classes", "downloads", "likes", "repo_bytes", "stars",
                          "forks", "open_issues", "version"})


_REAL_COLUMNS = frozenset({"crop_pct", "imagenet_top1"})


_INT64 = 2**63


def _int_cell(v):
    v = integer(v)
    return v if v is not None and -_INT64 <= v < _INT64 else None


def _real_cell(v):
    return number(v)


def _text_cell(v):
    """Text SQLite can take: a str that encodes as UTF-8 (lone surrogates replaced), else NULL."""
    if not isinstance(v, str):
        return None
    if v.isascii():  # nearly every value: nothing to check
        return v
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        v = v.encode("utf-8", "replace").decode("utf-8")
    return v


_JSON, _BOOL, _INT, _REAL, _ENTITY, _TEXT = range(6)


# one encoder, built once: json.dumps(v, sort_keys=True, default=str) builds one per call
_encode_json = json.JSONEncoder(sort_keys=True, default=str).encode


_CHILD_LISTS = ("datasets", "metrics", "papers", "relations", "repos")


# ---------------------------------------------------------------------- cell caps (schema/caps.yml)
@functools.lru_cache(maxsize=1)
def _caps() -> tuple[dict[str, dict[str, int]], dict[str, frozenset]]:
    from ..normalize.tables import load_table

    table = load_table("caps")
    return ({t: {c: int(n) for c, n in cols.items()} for t, cols in table["caps"].items()},
            {t: frozenset(cols) for t, cols in table["display"].items()})


def cap_text(v, n: int):
    """A text cell within n characters: cut, ending with "…", when it was longer."""
    return v if v is None or type(v) is not str or len(v) <= n else v[: n - 1] + "…"


def _cap(table: str, column: str) -> int:
    return _caps()[0][table][column]


def _shrink_json(v, n: int) -> str:
    """JSON of a list or object that is over its cap: the items (keys) that fit, each string cut to
    a quarter of the cap, then how many were left out; always valid JSON within n characters."""
    part = max(8, n // 4)
    if isinstance(v, dict):
        out: dict = {}
        for i, (k, x) in enumerate(sorted(v.items(), key=lambda kv: str(kv[0]))):
            trial = {**out, str(k)[:part]: cap_text(x, part) if isinstance(x, str) else x,
                     "…": f"{len(v) - i - 1} more"}
            if len(_encode_json(trial)) > n:
                return _encode_json({**out, "…": f"{len(v) - i} more"})
            out[str(k)[:part]] = trial[str(k)[:part]]
        return _encode_json(out)
    items = list(v) if isinstance(v, (list, tuple)) else [str(v)]
    out_l: list = []
    for i, x in enumerate(items):
        x = cap_text(x, part) if isinstance(x, str) else x
        if len(_encode_json(out_l + [x, f"… {len(items) - i - 1} more"])) > n:
            return _encode_json(out_l + [f"… {len(items) - i} more"])
        out_l.append(x)
    return _encode_json(out_l)


_TABLE_OF = {MODEL_COLUMNS: "models", PAPER_COLUMNS: "papers", REPO_COLUMNS: "repos"}


@functools.lru_cache(maxsize=None)
def _plan(columns: tuple, volatile: tuple = ()) -> tuple:
    """How a record of these columns becomes its row, decided once per column list: a C-level
    getter for all the columns, the positions of the text columns (nearly always str or None:
    checked, not converted), the other columns with their kind, and a getter for the digested
    positions (all but the volatile ones)."""
    def kind(col):
        if col in _JSON_COLUMNS:
            return _JSON
        if col in _BOOL_COLUMNS:
            return _BOOL
        if col in _INT_COLUMNS:
            return _INT
        if col in _REAL_COLUMNS:
            return _REAL
        return _ENTITY if col == "entity_id" else _TEXT
    kinds = [kind(c) for c in columns]
    texts = tuple(i for i, k in enumerate(kinds) if k == _TEXT)
    others = tuple((i, k) for i, k in enumerate(kinds) if k != _TEXT)
    content = operator.itemgetter(*(i for i, c in enumerate(columns) if c not in volatile))
    table = _TABLE_OF.get(columns)
    caps = _caps()[0].get(table, {}) if table else {}
    shown = _caps()[1].get(table, frozenset()) if table else frozenset()
    text_caps = tuple((i, caps[c]) for i, c in enumerate(columns) if c in caps and kinds[i] in (_TEXT, _ENTITY))
    json_caps = {i: caps[c] for i, c in enumerate(columns) if c in caps and kinds[i] == _JSON}
    display_at = tuple(i for i, c in enumerate(columns) if c in shown)
    return operator.attrgetter(*columns), texts, others, content, text_caps, json_caps, display_at


def _values(rec, columns=MODEL_COLUMNS) -> list:
    """The row of a record, in `columns` order, as SQLite stores it: JSON columns as sorted JSON
    text (empty lists and dicts as NULL), booleans as 0/1, entity_id defaulting to the record's id.
    A source's wrong type (a list where a number belongs, a number too big for SQLite) is unknown:
    NULL, never a failed batch."""
    getter, texts, others, _, text_caps, json_caps, display_at = _plan(columns)
    values = list(getter(rec))
    for i in texts:
        v = values[i]
        if v is not None and not (type(v) is str and v.isascii()):
            values[i] = _text_cell(v)
    for i, kind in others:
        v = values[i]
        if v is None:
            if kind == _ENTITY:
                values[i] = _text_cell(rec.id)
        elif kind == _JSON:
            values[i] = _encode_json(v) if v not in ([], {}) else None
            n = json_caps.get(i)
            if n is not None and values[i] is not None and len(values[i]) > n:
                values[i] = _shrink_json(v, n)
        elif kind == _BOOL:
            values[i] = int(bool(v))
        elif kind == _INT:
            values[i] = v if type(v) is int and -_INT64 <= v < _INT64 else _int_cell(v)
        elif kind == _REAL:
            values[i] = _real_cell(v)
        else:
            values[i] = _text_cell(v)
    for i in display_at:  # prose from strangers: no control or invisible format characters
        v = values[i]
        if v is not None and not (v.isascii() and v.isprintable()):
            values[i] = display(v)
    for i, n in text_caps:
        v = values[i]
        if v is not None and len(v) > n:
            values[i] = cap_text(v, n)
    return values


def _texts(*values) -> tuple:
    """A child row's text values, as SQLite can take them."""
    for v in values:
        if isinstance(v, str) and not (type(v) is str and v.isascii()):
            return tuple(_text_cell(v) if isinstance(v, str) else v for v in values)
    return values


def _digest(values: list, rec, columns=MODEL_COLUMNS, volatile=VOLATILE_FIELDS + DERIVED_FIELDS) -> str:
    """The record's content: its row without the volatile counters, and its child rows.
    Equal content, equal digest; stored as record_hash so unchanged rows are not rewritten."""
    content = _plan(columns, volatile)[3](values)
    children = [[tuple(x.__dict__.values()) for x in getattr(rec, f) or ()]
                for f in _CHILD_LISTS if hasattr(rec, f)]
    if getattr(rec, "speeds", None):  # only where there are: the digests of every other row stay as they were
        children.append([tuple(x.__dict__.values()) for x in rec.speeds])
    if getattr(rec, "files", None):  # likewise
        children.append([("file", *x.__dict__.values()) for x in rec.files])
    return hashlib.blake2b(repr((list(content), children)).encode(), digest_size=16).hexdigest()


class PreparedModel(tuple):
    """A model record as the writer stores it: its row, its digest and its child rows, built
    without SQL (prepare_model). The Hub's normalize worker (pipeline.py) builds these, so the
    writing process only runs statements; a tuple of plain values also unpickles faster than the
    record it came from (about 4 µs against 7 for a Hub model)."""

    __slots__ = ()
    id = property(operator.itemgetter(0))
    source = property(operator.itemgetter(1))
    source_uid = property(operator.itemgetter(2))
    values = property(operator.itemgetter(3))  # the models row, in MODEL_COLUMNS order
    digest = property(operator.itemgetter(4))
    datasets = property(operator.itemgetter(5))  # model_datasets rows
    metric_datasets = property(operator.itemgetter(6))  # (dataset_id, raw) of the metrics' datasets
    metrics = property(operator.itemgetter(7))  # metrics rows
    papers = property(operator.itemgetter(8))  # model_papers rows
    relations = property(operator.itemgetter(9))  # model_relations rows
    repos = property(operator.itemgetter(10))  # model_repos rows
    speeds = property(operator.itemgetter(11))  # model_speed rows
    files = property(operator.itemgetter(12))  # model_files rows


_C_DS_ID, _C_DS_RAW, _C_NAME = _cap("model_datasets", "dataset_id"), _cap("model_datasets", "raw"), _cap("datasets", "name")


_C_M_DS_RAW, _C_METRIC, _C_METRIC_RAW = _cap("metrics", "dataset_raw"), _cap("metrics", "metric"), _cap("metrics", "metric_raw")


_C_ORIGIN, _C_PAPER_RAW = _cap("metrics", "origin"), _cap("model_papers", "raw")


_C_REL_ID, _C_REL_RAW, _C_REPO_RAW = _cap("model_relations", "related_id"), _cap("model_relations", "raw"), _cap("model_repos", "raw")
_C_FILE_URL = _cap("model_files", "url")


_C_PR_RAW = _cap("paper_repos", "raw")


def prepare_model(rec: ModelRecord) -> PreparedModel:
    """The rows a model record becomes (pure: no catalog needed). Its loadability is completed
    if the source left it unset."""
    if rec.loadable is None:
        rec.set_loadability()
    if rec.is_test is None:
        rec.set_is_test()
    values = _values(rec)
    rid, src = rec.id, rec.source
    metrics = [(m, _real_cell(m.value)) for m in rec.metrics]
    c = cap_text
    return PreparedModel((
        rid, src, rec.source_uid, tuple(values), _digest(values, rec),
        tuple(_texts(rid, c(d.dataset_id, _C_DS_ID), d.role, c(d.raw, _C_DS_RAW), src) for d in rec.datasets),
        tuple(_texts(c(m.dataset_id, _C_DS_ID), c(m.dataset_raw, _C_NAME)) for m, _ in metrics if m.dataset_id),
        # a value that is not a finite number is no measurement
        # dataset_raw and metric_raw are part of the key Datasette shows as each row's label: their
        # hidden characters are kept as visible escapes (\u202e), never as themselves
        tuple(_texts(rid, c(m.dataset_id, _C_DS_ID), c(visible(m.dataset_raw), _C_M_DS_RAW), c(m.metric, _C_METRIC),
                     c(visible(m.metric_raw), _C_METRIC_RAW), v, src, c(m.origin and visible(m.origin), _C_ORIGIN))
              for m, v in metrics if v is not None),
        tuple(_texts(rid, p.paper_id, c(p.raw, _C_PAPER_RAW), src) for p in rec.papers),
        tuple(_texts(rid, x.relation, c(x.related_id, _C_REL_ID), c(x.raw, _C_REL_RAW), src) for x in rec.relations),
        tuple(_texts(rid, x.repo_id, c(x.raw, _C_REPO_RAW), src) for x in rec.repos),
        tuple((rid, src, *(_speed_cell(getattr(x, c)) for c in SPEED_COLUMNS)) for x in rec.speeds),
        tuple(_texts(rid, c(x.url, _C_FILE_URL), x.sha256, src) for x in getattr(rec, "files", None) or ()
              if isinstance(x.url, str) and x.url),
    ))


# model_speed's columns after (model_id, source), as records.Speed names them
SPEED_COLUMNS = ("kind", "raw", "img_size", "device", "precision", "layout", "torch", "compiled", "batch_size",
                 "samples_per_sec", "step_time_ms", "gmacs", "gflops", "macts_m")


def _speed_cell(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        return _real_cell(v)
    return v


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# public names for what other modules use (the benchmark, tests)
row_values = _values
record_digest = _digest
cell_caps = _caps
