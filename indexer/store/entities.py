"""The entities table: one row per distinct model with a live row (the same weights seen in
several sources are one entity), kept in step with `models` by the writer for the entities it
touched, rebuilt whole after a first load that deferred the models indexes. With them,
entity_facet_counts (migration 0021): how many entities have each combination of ENTITY_FACET_COLUMNS,
which model_entities' facets and counts read."""

from __future__ import annotations

import sqlite3
from typing import Callable, Iterable

from .rows import _chunks

# the aggregate of one entity's live rows, as the entities table stores it
_SELECT = (
    "SELECT entity_id, count(*), json_group_array(id), "
    "(SELECT group_concat(s, ',') FROM (SELECT DISTINCT m2.source AS s FROM models m2 "
    "  WHERE m2.entity_id = m.entity_id AND m2.removed_at IS NULL ORDER BY 1)), "
    "max(task), max(num_params), max(size_bytes), max(is_open), max(imagenet_top1) "
    "FROM (SELECT entity_id, id, task, num_params, size_bytes, is_open, imagenet_top1 FROM models "
    "WHERE removed_at IS NULL {where} ORDER BY entity_id, id) m GROUP BY entity_id"
)
# the columns entity_facet_counts is kept for, in the order of its key
ENTITY_FACET_COLUMNS = ("task", "sources", "is_open")
_ECOLS = ", ".join(ENTITY_FACET_COLUMNS)
_EKEY = f"json_array({_ECOLS})"

_INSERT = ("INSERT INTO entities (entity, n_ids, ids, sources, task, num_params, size_bytes, is_open, imagenet_top1) ")


def entities_deferred(conn: sqlite3.Connection) -> bool:
    """True while a first load has dropped the models index entities are read through: the
    entities are then rebuilt whole when it is restored."""
    return conn.execute("SELECT 1 FROM deferred_indexes WHERE name = 'idx_models_entity'").fetchone() is not None


def refresh_entities(conn: sqlite3.Connection, entity_ids: Iterable[str | None]) -> int:
    """Recompute these entities from their live rows (an entity left with none goes away)."""
    ids = sorted({e for e in entity_ids if e is not None})
    if not ids or entities_deferred(conn):
        return 0
    for chunk in _chunks(ids, 500):
        marks = ", ".join("?" * len(chunk))
        _count(conn, "-", f"entity IN ({marks})", chunk)
        conn.execute(f"DELETE FROM entities WHERE entity IN ({marks})", chunk)
        conn.execute(_INSERT + _SELECT.format(where=f"AND entity_id IN ({marks})"), chunk)
        _count(conn, "+", f"entity IN ({marks})", chunk)
    return len(ids)


def _count(conn: sqlite3.Connection, sign: str, where: str, params) -> None:
    """Add (+) or take away (-) these entities from entity_facet_counts."""
    conn.execute(f"INSERT INTO entity_facet_counts (key, {_ECOLS}, n) "
                 f"SELECT {_EKEY}, {_ECOLS}, {sign}count(*) FROM entities WHERE {where} GROUP BY {_ECOLS} "
                 "ON CONFLICT (key) DO UPDATE SET n = n + excluded.n", params)


def fresh_entity_facet_counts(conn: sqlite3.Connection) -> list:
    """What entity_facet_counts should hold, counted from the entities (sorted)."""
    return conn.execute(f"SELECT {_EKEY}, count(*) FROM entities GROUP BY 1 ORDER BY 1").fetchall()


def kept_entity_facet_counts(conn: sqlite3.Connection) -> list:
    return conn.execute("SELECT key, n FROM entity_facet_counts WHERE n != 0 ORDER BY key").fetchall()


REBUILD_SLICE = 100_000  # live rows per slice of a rebuild that commits between slices


def rebuild_entities(conn: sqlite3.Connection, between: Callable[[], None] | None = None) -> None:
    """Every entity from scratch (after a first load, or a catalog from before the table). With
    `between` (the catalog's checkpoint: commit, reset the WAL, go on), in slices of about
    REBUILD_SLICE live rows by entity id (an entity's rows are in one slice), `between` called
    after each, so no transaction holds every entity at once."""
    counted = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'entity_facet_counts'").fetchone()  # 0021 on
    conn.execute("DELETE FROM entities")
    if counted:
        conn.execute("DELETE FROM entity_facet_counts")
    bounds: list[str | None] = [None]
    while between is not None:
        after = ("WHERE entity_id > ? " if bounds[-1] is not None else "WHERE entity_id IS NOT NULL ")
        row = conn.execute(f"SELECT entity_id FROM models {after}ORDER BY entity_id LIMIT 1 OFFSET {REBUILD_SLICE - 1}",
                           [b for b in bounds[-1:] if b is not None]).fetchone()
        if row is None:
            break
        bounds.append(row[0])
    bounds.append(None)
    for lo, hi in zip(bounds, bounds[1:]):
        where = ([] if lo is None else ["{col} > ?"]) + ([] if hi is None else ["{col} <= ?"])
        args = [b for b in (lo, hi) if b is not None]
        on_rows = "".join(" AND " + w.format(col="entity_id") for w in where)
        conn.execute(_INSERT + _SELECT.format(where=on_rows), args)
        if counted:
            _count(conn, "+", " AND ".join(w.format(col="entity") for w in where) or "1", args)
        if between is not None:
            between()
