"""facet_counts and facet_dataset_counts (migration 0017): how many models have each combination
of the values the model pages facet on, and of those, how many name each training dataset; and
facet_dataset_pairs (migration 0024): of those, how many name each pair of datasets. Kept
by triggers on `models`; a first load that defers the models indexes drops the triggers too and
the counts are rebuilt whole at its end (as the entities are)."""

from __future__ import annotations

import sqlite3

from .rows import _chunks

# the columns the counts are kept for, in the order of their key (a JSON array, after `live`)
FACET_COLUMNS = ("source", "task", "library", "license", "license_family", "loadable")
TRIGGERS = ("trg_models_facets_insert", "trg_models_facets_update", "trg_models_facets_delete",
            # paper_counts (migration 0025): how many live models name each paper
            "trg_model_papers_counts_replace", "trg_model_papers_counts_insert", "trg_model_papers_counts_delete",
            "trg_model_papers_counts_update", "trg_models_paper_counts_insert", "trg_models_paper_counts_update",
            "trg_models_paper_counts_delete",
            # the link tables' counts (migration 0026)
            *(f"trg_{t}_rows_{w}" for t in ("model_datasets", "metrics", "model_relations", "model_papers")
              for w in ("replace", "insert", "delete", "update")),
            # paper_dataset_stale (migration 0027): the papers whose paper_dataset_counts are recounted
            *(f"trg_{t}_stale_{w}" for t in ("model_papers", "model_datasets", "metrics")
              for w in ("insert", "delete", "update")),
            "trg_models_stale_update")
# the link tables whose rows are counted per combination of the columns their pages facet on
# (migration 0026): table -> (its counts table, the columns)
LINK_COUNTS = {
    "model_datasets": ("model_datasets_counts", ("dataset_id", "role", "source")),
    "metrics": ("metrics_counts", ("dataset_id", "metric", "source")),
    "model_relations": ("model_relations_counts", ("relation",)),
    "model_papers": ("model_papers_counts", ("source",)),
}
DEFERRED_NAME = "facet_counts"  # its line in deferred_indexes while the triggers are dropped

_COLS = ", ".join(FACET_COLUMNS)
_KEY = "json_array(removed_at IS NULL, " + _COLS + ")"
_LIST = "json_each(CASE WHEN json_valid(dataset_ids) THEN dataset_ids END)"
_PAPERS = ("SELECT mp.paper_id, count(*) FROM model_papers mp JOIN models m ON m.id = mp.model_id "
           "WHERE m.removed_at IS NULL GROUP BY mp.paper_id")
# per dataset, paper and entity (a distinct model) with a live row naming both, its best top-1 on
# the dataset (migration 0027): each model by its key, its top-1 by the metrics' key (the
# dataset's metrics index, which SQLite takes otherwise, made a rebuild 180 s instead of 4 s)
_PAPER_DATASET_ENTITIES = (
    "SELECT d.dataset_id, mp.paper_id, m.entity_id, "
    "max((SELECT max(x.value) FROM metrics x WHERE x.model_id = d.model_id AND +x.dataset_id = d.dataset_id "
    "AND +x.metric = 'top1')) AS top1 "
    "FROM {rows} CROSS JOIN model_datasets d ON d.model_id = mp.model_id "
    "WHERE m.removed_at IS NULL AND m.entity_id IS NOT NULL {where} GROUP BY d.dataset_id, mp.paper_id, m.entity_id")
_ALL_ROWS = "model_papers mp CROSS JOIN models m ON m.id = mp.model_id"
_ENTITY_ROWS = "models m CROSS JOIN model_papers mp ON mp.model_id = m.id"  # from the entity's rows (idx_models_entity)
_PAPER_DATASETS = ("SELECT dataset_id, paper_id, count(*), max(best_top1) FROM paper_dataset_entities "
                   "GROUP BY dataset_id, paper_id")
_PAIRS = (f"SELECT {_KEY}, a.value, b.value, count(*) FROM models, {_LIST} a, {_LIST} b "
          "WHERE a.type = 'text' AND b.type = 'text' GROUP BY 1, 2, 3")


def facet_counts_deferred(conn: sqlite3.Connection) -> bool:
    """True while a first load has dropped the triggers: the counts are stale until it ends."""
    return conn.execute("SELECT 1 FROM deferred_indexes WHERE name = ?", (DEFERRED_NAME,)).fetchone() is not None


def _link_counts(table: str, cols: tuple[str, ...]) -> str:
    c = ", ".join(cols)
    return f"SELECT json_array({c}) AS key, {c}, count(*) AS n FROM {table} GROUP BY {c}"


def _paper_datasets_kept(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'paper_dataset_counts'").fetchone() is not None


def _move_counts(conn: sqlite3.Connection, sign: str, marks: str, chunk: list) -> None:
    """Add (+) or take away (-) these entities' rows of paper_dataset_entities from the counts."""
    conn.execute("INSERT INTO paper_dataset_counts (dataset_id, paper_id, n_models) "
                 f"SELECT dataset_id, paper_id, {sign}count(*) FROM paper_dataset_entities "
                 f"WHERE entity_id IN ({marks}) GROUP BY dataset_id, paper_id "
                 "ON CONFLICT (dataset_id, paper_id) DO UPDATE SET n_models = n_models + excluded.n_models", chunk)


def settle_paper_datasets(conn: sqlite3.Connection) -> int:
    """Count again the entities the triggers marked stale (their rows, papers, datasets or top-1
    changed) and move paper_dataset_counts by what each gained and lost; a pair's best top-1 from
    its entities' index. The writer's finish, once per source and night: the cost follows the
    entities that changed, not how many models name their papers. The entities counted."""
    if not _paper_datasets_kept(conn) or facet_counts_deferred(conn):
        return 0  # before migration 0027, or a first load under way: its end rebuilds the tables
    stale = [r[0] for r in conn.execute("SELECT entity_id FROM paper_dataset_stale")]
    for chunk in _chunks(stale, 500):
        marks = ", ".join("?" * len(chunk))
        pairs = {tuple(r) for r in conn.execute(f"SELECT DISTINCT dataset_id, paper_id FROM paper_dataset_entities "
                                                f"WHERE entity_id IN ({marks})", chunk)}
        _move_counts(conn, "-", marks, chunk)
        conn.execute(f"DELETE FROM paper_dataset_entities WHERE entity_id IN ({marks})", chunk)
        conn.execute("INSERT INTO paper_dataset_entities (dataset_id, paper_id, entity_id, best_top1) "
                     + _PAPER_DATASET_ENTITIES.format(rows=_ENTITY_ROWS, where=f"AND m.entity_id IN ({marks})"), chunk)
        _move_counts(conn, "+", marks, chunk)
        pairs.update(tuple(r) for r in conn.execute(f"SELECT DISTINCT dataset_id, paper_id FROM paper_dataset_entities "
                                                    f"WHERE entity_id IN ({marks})", chunk))
        conn.executemany("UPDATE paper_dataset_counts SET best_top1 = (SELECT max(e.best_top1) FROM paper_dataset_entities e "
                         "WHERE e.dataset_id = ?1 AND e.paper_id = ?2) WHERE dataset_id = ?1 AND paper_id = ?2", sorted(pairs))
    conn.execute("DELETE FROM paper_dataset_counts WHERE n_models = 0")
    conn.execute("DELETE FROM paper_dataset_stale")
    return len(stale)


def rebuild_paper_datasets(conn: sqlite3.Connection) -> None:
    """paper_dataset_entities and paper_dataset_counts from every paper's rows (seconds at 2.3M models)."""
    conn.execute("DELETE FROM paper_dataset_entities")
    conn.execute("INSERT INTO paper_dataset_entities (dataset_id, paper_id, entity_id, best_top1) "
                 + _PAPER_DATASET_ENTITIES.format(rows=_ALL_ROWS, where=""))
    conn.execute("DELETE FROM paper_dataset_counts")
    conn.execute(f"INSERT INTO paper_dataset_counts (dataset_id, paper_id, n_models, best_top1) {_PAPER_DATASETS}")
    conn.execute("DELETE FROM paper_dataset_stale")


def rebuild_facet_counts(conn: sqlite3.Connection) -> None:
    """The three tables, paper_counts, the link tables' counts and the papers' counts per dataset
    from scratch, from every row of models (one scan each)."""
    if _paper_datasets_kept(conn):
        rebuild_paper_datasets(conn)
    for table, (counts, cols) in LINK_COUNTS.items():
        conn.execute(f"DELETE FROM {counts}")
        conn.execute(f"INSERT INTO {counts} (key, {', '.join(cols)}, n) {_link_counts(table, cols)}")
    conn.execute("DELETE FROM paper_counts")
    conn.execute(f"INSERT INTO paper_counts (paper_id, n_models) {_PAPERS}")
    conn.execute("DELETE FROM facet_counts")
    conn.execute("DELETE FROM facet_dataset_counts")
    conn.execute("DELETE FROM facet_dataset_pairs")
    conn.execute(f"INSERT INTO facet_counts (key, live, {_COLS}, n) SELECT {_KEY}, removed_at IS NULL, {_COLS}, count(*) "
                 f"FROM models GROUP BY removed_at IS NULL, {_COLS}")
    conn.execute(f"INSERT INTO facet_dataset_counts (key, dataset_id, n) SELECT {_KEY}, j.value, count(*) "
                 "FROM models, json_each(CASE WHEN json_valid(dataset_ids) THEN dataset_ids END) j "
                 "WHERE j.type = 'text' GROUP BY 1, 2")
    conn.execute(f"INSERT INTO facet_dataset_pairs (key, dataset_id, other_id, n) {_PAIRS}")


def fresh_facet_counts(conn: sqlite3.Connection) -> tuple[list, list, list, list, list, list]:
    """What the three tables, paper_counts and the link tables' counts should hold, counted from the rows (sorted), for checks and tests."""
    combos = conn.execute(f"SELECT {_KEY}, count(*) FROM models GROUP BY 1 ORDER BY 1").fetchall()
    datasets = conn.execute(
        f"SELECT {_KEY}, j.value, count(*) FROM models, "
        "json_each(CASE WHEN json_valid(dataset_ids) THEN dataset_ids END) j WHERE j.type = 'text' "
        "GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    return (combos, datasets, conn.execute(_PAIRS + " ORDER BY 1, 2, 3").fetchall(),
            conn.execute(_PAPERS + " ORDER BY 1").fetchall(),
            [(t, *r) for t, (_, cols) in LINK_COUNTS.items()
             for r in conn.execute(f"SELECT key, n FROM ({_link_counts(t, cols)}) ORDER BY key")],
            _paper_datasets_fresh(conn))


def kept_facet_counts(conn: sqlite3.Connection) -> tuple[list, list, list, list, list, list]:
    return (conn.execute("SELECT key, n FROM facet_counts WHERE n != 0 ORDER BY key").fetchall(),
            conn.execute("SELECT key, dataset_id, n FROM facet_dataset_counts WHERE n != 0 ORDER BY key, dataset_id").fetchall(),
            conn.execute("SELECT key, dataset_id, other_id, n FROM facet_dataset_pairs WHERE n != 0 "
                         "ORDER BY key, dataset_id, other_id").fetchall(),
            conn.execute("SELECT paper_id, n_models FROM paper_counts WHERE n_models != 0 ORDER BY paper_id").fetchall(),
            [(t, *r) for t, (counts, _) in LINK_COUNTS.items()
             for r in conn.execute(f"SELECT key, n FROM {counts} WHERE n != 0 ORDER BY key")],
            _paper_datasets_held(conn))


def _described(rows) -> list:
    return [(d, p, f"{n} models" + (f", best top-1 {t!r}" if t is not None else "")) for d, p, n, t in rows]


_STALE_PAIRS = (
    "SELECT dataset_id, paper_id FROM paper_dataset_entities WHERE entity_id IN (SELECT entity_id FROM paper_dataset_stale) "
    "UNION SELECT dataset_id, paper_id FROM (" + _PAPER_DATASET_ENTITIES.format(
        rows=_ENTITY_ROWS, where="AND m.entity_id IN (SELECT entity_id FROM paper_dataset_stale)") + ")")


def _paper_datasets_fresh(conn: sqlite3.Connection) -> list:
    """What paper_dataset_counts should hold, counted from the rows, for the pairs no stale entity
    (one the writer's finish has not counted again yet) touches."""
    if not _paper_datasets_kept(conn):
        return []
    fresh = ("SELECT dataset_id, paper_id, count(*), max(top1) FROM ("
             + _PAPER_DATASET_ENTITIES.format(rows=_ALL_ROWS, where="") + ") GROUP BY 1, 2")
    return _described(conn.execute(
        f"SELECT * FROM ({fresh}) WHERE (dataset_id, paper_id) NOT IN ({_STALE_PAIRS}) ORDER BY 1, 2"))


def _paper_datasets_held(conn: sqlite3.Connection) -> list:
    if not _paper_datasets_kept(conn):
        return []
    return _described(conn.execute(
        "SELECT dataset_id, paper_id, n_models, best_top1 FROM paper_dataset_counts "
        f"WHERE n_models != 0 AND (dataset_id, paper_id) NOT IN ({_STALE_PAIRS}) ORDER BY 1, 2"))
