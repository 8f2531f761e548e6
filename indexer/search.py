"""Searching the catalog: the library behind `modelcat search`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .errors import ModelcatError
from .normalize import canonical_dataset, normalize_task
from .normalize.dataset import dataset_table
from .normalize.license import FAMILIES
from .normalize.task import task_ids
from .store import Catalog

SORTS = {
    "size": "m.size_bytes IS NULL, m.size_bytes, m.id",
    "params": "m.num_params IS NULL, m.num_params, m.id",
    "top1": "imagenet_top1 IS NULL, imagenet_top1 DESC, m.id",
    "name": "m.id",
    "speed": "samples_per_sec IS NULL, samples_per_sec DESC, m.id",  # on --device
    "downloads": "m.downloads DESC, m.id",  # no downloads (NULL) last
}
# The index a query may be told to walk (Query.walk): the order it gives, and the terms it needs
WALKS = {
    "top1": ("idx_models_top1", "m.imagenet_top1 IS NOT NULL"),  # rows with a known ImageNet top-1 only
    "downloads": ("idx_models_task_downloads", None),  # needs a task
}


@dataclass
class Query:
    text: str | None = None  # full-text search over name, description, tags
    task: str | None = None
    dataset: str | None = None
    open_only: bool = False
    max_mb: float | None = None  # strictly less than, MB = 10^6 bytes
    source: str | None = None
    library: str | None = None
    license_family: str | None = None
    license: str | None = None
    include_removed: bool = False
    loadable: bool = False  # only rows load_model can build
    include_test: bool = False  # also test models (schema/test_models.yml), left out by default
    device: str | None = None  # inference speed on this device (schema/devices.yml): samples_per_sec
    min_speed: float | None = None  # at least this many images/s on `device` (model_speed)
    sort: str = "size"
    limit: int | None = None
    group: bool = True  # one row per entity (timm:x and hf:timm/x are one model), with all its ids
    # walk this index in its order (WALKS), the filters checked on the rows it gives: for a short
    # answer among many matches (recommend's shortlist), where SQLite would read and sort them all
    walk: str | None = None


def _suggest(value: str, choices) -> str:
    close = difflib.get_close_matches(value.lower(), sorted(choices), n=3, cutoff=0.5)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def _resolve(value: str, normalizer, choices, what: str, hint: str) -> str:
    resolved = normalizer(value)
    if resolved is None:
        raise ModelcatError(f"unknown {what} {value!r}{_suggest(value, choices)}: {hint}")
    return resolved


def resolve_task(value: str) -> str:
    return _resolve(value, normalize_task, task_ids(), "task",
                    "use a Hugging Face pipeline tag such as image-classification (`modelcat tasks` lists them)")


def resolve_device(value: str) -> str:
    from .normalize.device import canonical_device, device_table

    names = [d.get("name") for d in device_table().values()]
    return _resolve(value, canonical_device, names, "device",
                    f"the devices timm measured are {', '.join(names)} (`modelcat devices`)")


def resolve_dataset(value: str) -> str:
    return _resolve(value, canonical_dataset, dataset_table(), "dataset",
                    "`modelcat datasets` lists the names the catalog knows")


def _checked(cat: Catalog, q: Query) -> Query:
    """--source, --license and --library as the user typed them: a source must be registered; a
    license spelling the license table knows becomes its id (apache2 -> apache-2.0); a value no
    row holds is an error with the nearest ones ("0 models" would hide the typo)."""
    import dataclasses

    from .normalize.license import normalize_license
    from .sources import source_names

    changes = {}
    if q.source:
        source = q.source.strip().lower()
        if source not in source_names():
            raise ModelcatError(f"unknown source {q.source!r}{_suggest(source, source_names())}: "
                                f"choose from {', '.join(source_names())}")
    if q.license:
        wanted = q.license.strip().lower()
        if not _held(cat, "license", wanted):
            known = normalize_license(q.license).id
            if known not in ("unknown", "other") and _held(cat, "license", known):
                changes["license"] = known
            else:
                raise ModelcatError(f"no model has the license {q.license!r}"
                                    f"{_suggest(wanted, _values(cat, 'license'))}")
    if q.library:
        wanted = q.library.strip().lower()
        if not _held(cat, "library", wanted):
            raise ModelcatError(f"no model has the library {q.library!r}{_suggest(wanted, _values(cat, 'library'))}")
    return dataclasses.replace(q, **changes) if changes else q


def _held(cat: Catalog, column: str, value: str) -> bool:
    return cat.conn.execute(f"SELECT 1 FROM models WHERE {column} = ? LIMIT 1", (value,)).fetchone() is not None


def _values(cat: Catalog, column: str) -> list[str]:
    return [v for (v,) in cat.conn.execute(f"SELECT DISTINCT {column} FROM models WHERE {column} IS NOT NULL")]


def fts_query(text: str) -> str:
    """User words -> an FTS5 query: every word must match, as a prefix ("resnet" finds resnet50)."""
    words = [w for w in text.replace('"', " ").split() if w]
    return " ".join(f'"{w}"*' for w in words)


def build_sql(q: Query) -> tuple[str, list]:
    where, params = [], []
    if not q.include_removed:
        where.append("m.removed_at IS NULL")
    if q.task:
        where.append("m.task = ?")
        params.append(resolve_task(q.task))
    if q.dataset:
        where.append("EXISTS (SELECT 1 FROM model_datasets d WHERE d.model_id = m.id AND d.dataset_id = ?)")
        params.append(resolve_dataset(q.dataset))
    if q.open_only:
        where.append("m.is_open = 1")
    if q.max_mb is not None:
        if q.max_mb <= 0:
            raise ModelcatError(f"--max-mb must be a positive number of megabytes, not {q.max_mb}")
        where.append("m.size_bytes < ?")
        params.append(int(q.max_mb * 1_000_000))
    for column, value in (("source", q.source), ("library", q.library), ("license", q.license)):
        if value:
            where.append(f"m.{column} = ?")
            params.append(value.strip().lower())
    if q.license_family:
        family = q.license_family.strip().lower()
        if family not in FAMILIES:
            raise ModelcatError(f"unknown license family {family!r}: choose from {', '.join(FAMILIES)}")
        where.append("m.license_family = ?")
        params.append(family)
    if q.loadable:
        where.append("m.loadable = 1")
    if not q.include_test:
        where.append("m.is_test = 0")
    if q.text and fts_query(q.text):
        where.append("m.rowid IN (SELECT rowid FROM models_fts WHERE models_fts MATCH ?)")
        params.append(fts_query(q.text))
    if q.sort not in SORTS:
        raise ModelcatError(f"unknown sort {q.sort!r}: choose from {', '.join(SORTS)}")
    speed, speed_params = "", []
    if q.device is not None or q.min_speed is not None or q.sort == "speed":
        if not q.device:
            raise ModelcatError("--min-speed and --sort speed are images/s on a device: add --device "
                                "(e.g. --device 'RTX 4090'; `modelcat devices` lists them)")
        device = resolve_device(q.device)
        # the fastest inference timm measured on the device (any precision, torch version, compile)
        speed = (", (SELECT max(s.samples_per_sec) FROM model_speed s WHERE s.model_id = m.id "
                 "AND s.kind = 'infer' AND s.device = ?) AS samples_per_sec")
        speed_params = [device]
        if q.min_speed is not None:
            if q.min_speed <= 0:
                raise ModelcatError(f"--min-speed must be a positive number of images per second, not {q.min_speed:g}")
            where.append("EXISTS (SELECT 1 FROM model_speed s WHERE s.model_id = m.id AND s.kind = 'infer' "
                         "AND s.device = ? AND s.samples_per_sec >= ?)")
            params += [device, float(q.min_speed)]
    indexed = ""
    if q.walk is not None:
        if q.walk not in WALKS or q.include_removed or (q.walk == "downloads" and not q.task):
            raise ModelcatError(f"cannot walk {q.walk!r} for this query")
        index, term = WALKS[q.walk]
        indexed = f" INDEXED BY {index}"
        if term:
            where.append(term)
    sql = (
        "SELECT m.id, m.name, m.source, m.task, m.library, m.license, m.license_family, m.is_open, "
        "m.num_params, m.size_bytes, m.size_is_estimate, m.url, m.downloads, m.entity_id, "
        f"m.imagenet_top1{speed} "
        f"FROM models m{indexed}"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {SORTS[q.sort]}"
    )
    params = speed_params + params
    if q.limit is not None and not q.group:
        sql += " LIMIT ?"
        params.append(int(q.limit))
    return sql, params


def search(cat: Catalog, q: Query) -> list[dict]:
    """Matching rows in the asked order. Grouped (the default): one row per entity, where its first
    match comes in that order (the entity's own row when it matches, else that first match), with
    `ids` = every live id of the entity (its other sources too)."""
    if q.loadable and "loadable" not in {r[1] for r in cat.conn.execute("PRAGMA table_info(models)")}:
        raise ModelcatError(f"{cat.path} predates loadability: run `modelcat refresh --db {cat.path}` once "
                            "to upgrade it, then search again")
    q = _checked(cat, q)
    sql, params = build_sql(q)
    rows = [dict(r) for r in cat.conn.execute(sql, params)]
    if not q.group:
        return rows
    # one row per entity, where its first match comes; the entity's own row (the weights' publisher:
    # torchvision's for a timm tag that downloads its file, timm's for its Hub copy) when it matches
    picked: dict[str, dict] = {}
    for r in rows:
        entity = r["entity_id"] or r["id"]
        if entity not in picked:
            if q.limit is None or len(picked) < q.limit:
                picked[entity] = r
        elif r["id"] == entity:
            picked[entity] = r
    ids: dict[str, list[str]] = {e: [] for e in picked}
    entities = list(picked)
    for i in range(0, len(entities), 900):
        chunk = entities[i:i + 900]
        for entity, model_id in cat.conn.execute(
                f"SELECT entity_id, id FROM models WHERE removed_at IS NULL "
                f"AND entity_id IN ({', '.join('?' * len(chunk))}) ORDER BY id", chunk):
            ids[entity].append(model_id)
    out = []
    for entity, r in picked.items():
        r["ids"] = [r["id"]] + [i for i in ids[entity] if i != r["id"]]
        out.append(r)
    return out
