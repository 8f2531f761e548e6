"""facet_counts and facet_dataset_counts (migration 0017): how many models have each combination
of the values the model pages facet on, and of those, how many name each training dataset; and
facet_dataset_pairs (migration 0024): of those, how many name each pair of datasets. Kept
by triggers on `models`; a first load that defers the models indexes drops the triggers too and
the counts are rebuilt whole at its end (as the entities are)."""

from __future__ import annotations

import sqlite3

# the columns the counts are kept for, in the order of their key (a JSON array, after `live`)
FACET_COLUMNS = ("source", "task", "library", "license", "license_family", "loadable")
TRIGGERS = ("trg_models_facets_insert", "trg_models_facets_update", "trg_models_facets_delete",
            # paper_counts (migration 0025): how many live models name each paper
            "trg_model_papers_counts_replace", "trg_model_papers_counts_insert", "trg_model_papers_counts_delete",
            "trg_model_papers_counts_update", "trg_models_paper_counts_insert", "trg_models_paper_counts_update",
            "trg_models_paper_counts_delete",
            # the link tables' counts (migration 0026)
            *(f"trg_{t}_rows_{w}" for t in ("model_datasets", "metrics", "model_relations", "model_papers")
              for w in ("replace", "insert", "delete", "update")))
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
_PAIRS = (f"SELECT {_KEY}, a.value, b.value, count(*) FROM models, {_LIST} a, {_LIST} b "
          "WHERE a.type = 'text' AND b.type = 'text' GROUP BY 1, 2, 3")


def facet_counts_deferred(conn: sqlite3.Connection) -> bool:
    """True while a first load has dropped the triggers: the counts are stale until it ends."""
    return conn.execute("SELECT 1 FROM deferred_indexes WHERE name = ?", (DEFERRED_NAME,)).fetchone() is not None


def _link_counts(table: str, cols: tuple[str, ...]) -> str:
    c = ", ".join(cols)
    return f"SELECT json_array({c}) AS key, {c}, count(*) AS n FROM {table} GROUP BY {c}"


def rebuild_facet_counts(conn: sqlite3.Connection) -> None:
    """The three tables, paper_counts and the link tables' counts from scratch, from every row of models (one scan each)."""
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


def fresh_facet_counts(conn: sqlite3.Connection) -> tuple[list, list, list, list, list]:
    """What the three tables, paper_counts and the link tables' counts should hold, counted from the rows (sorted), for checks and tests."""
    combos = conn.execute(f"SELECT {_KEY}, count(*) FROM models GROUP BY 1 ORDER BY 1").fetchall()
    datasets = conn.execute(
        f"SELECT {_KEY}, j.value, count(*) FROM models, "
        "json_each(CASE WHEN json_valid(dataset_ids) THEN dataset_ids END) j WHERE j.type = 'text' "
        "GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    return (combos, datasets, conn.execute(_PAIRS + " ORDER BY 1, 2, 3").fetchall(),
            conn.execute(_PAPERS + " ORDER BY 1").fetchall(),
            [(t, *r) for t, (_, cols) in LINK_COUNTS.items()
             for r in conn.execute(f"SELECT key, n FROM ({_link_counts(t, cols)}) ORDER BY key")])


def kept_facet_counts(conn: sqlite3.Connection) -> tuple[list, list, list, list, list]:
    return (conn.execute("SELECT key, n FROM facet_counts WHERE n != 0 ORDER BY key").fetchall(),
            conn.execute("SELECT key, dataset_id, n FROM facet_dataset_counts WHERE n != 0 ORDER BY key, dataset_id").fetchall(),
            conn.execute("SELECT key, dataset_id, other_id, n FROM facet_dataset_pairs WHERE n != 0 "
                         "ORDER BY key, dataset_id, other_id").fetchall(),
            conn.execute("SELECT paper_id, n_models FROM paper_counts WHERE n_models != 0 ORDER BY paper_id").fetchall(),
            [(t, *r) for t, (counts, _) in LINK_COUNTS.items()
             for r in conn.execute(f"SELECT key, n FROM {counts} WHERE n != 0 ORDER BY key")])
