"""`modelcat check`: SQLite's integrity and foreign-key checks, the full-text indexes, and the
catalog's own invariants, each naming what is wrong.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from .entities import entities_deferred, fresh_entity_facet_counts, kept_entity_facet_counts, rebuild_entities
from .facets import facet_counts_deferred, fresh_facet_counts, kept_facet_counts, rebuild_facet_counts
from .rows import _caps


@dataclass
class CheckResult:
    name: str
    what: str  # what holds when it passes
    problems: int
    examples: list[str]

    @property
    def ok(self) -> bool:
        return self.problems == 0


# The catalog's own invariants: each query lists (up to 100) offenders.
_INVARIANTS = [
    ("children have a model", "every dataset link, metric, paper link, code link and relation belongs to a model",
     "SELECT 'model_datasets: ' || model_id FROM model_datasets WHERE model_id NOT IN (SELECT id FROM models) "
     "UNION ALL SELECT 'metrics: ' || model_id FROM metrics WHERE model_id NOT IN (SELECT id FROM models) "
     "UNION ALL SELECT 'model_papers: ' || model_id FROM model_papers WHERE model_id NOT IN (SELECT id FROM models) "
     "UNION ALL SELECT 'model_repos: ' || model_id FROM model_repos WHERE model_id NOT IN (SELECT id FROM models) "
     "UNION ALL SELECT 'model_relations: ' || model_id FROM model_relations "
     "WHERE model_id NOT IN (SELECT id FROM models) "
     "UNION ALL SELECT 'model_speed: ' || model_id FROM model_speed WHERE model_id NOT IN (SELECT id FROM models) "
     "UNION ALL SELECT 'model_files: ' || model_id FROM model_files WHERE model_id NOT IN (SELECT id FROM models) "
     "LIMIT 100"),
    ("links have their target", "every dataset, paper and repository a link names exists",
     "SELECT 'model_datasets -> ' || dataset_id FROM model_datasets WHERE dataset_id NOT IN (SELECT id FROM datasets) "
     "UNION ALL SELECT 'metrics -> ' || dataset_id FROM metrics "
     "WHERE dataset_id IS NOT NULL AND dataset_id NOT IN (SELECT id FROM datasets) "
     "UNION ALL SELECT 'model_papers -> ' || paper_id FROM model_papers WHERE paper_id NOT IN (SELECT id FROM papers) "
     "UNION ALL SELECT 'model_repos -> ' || repo_id FROM model_repos WHERE repo_id NOT IN (SELECT id FROM repos) "
     "UNION ALL SELECT 'paper_repos -> ' || paper_id FROM paper_repos WHERE paper_id NOT IN (SELECT id FROM papers) "
     "UNION ALL SELECT 'paper_repos -> ' || repo_id FROM paper_repos WHERE repo_id NOT IN (SELECT id FROM repos) "
     "UNION ALL SELECT 'model_aliases -> ' || model_id FROM model_aliases WHERE model_id NOT IN (SELECT id FROM models) "
     "LIMIT 100"),
    ("ids name their source", "a model's id starts with its source's scheme (timm:, hf:, ...)",
     "SELECT id FROM models WHERE substr(id, 1, length(source) + 1) != source || ':' LIMIT 100"),
    ("open follows the license family", "is_open = 1 exactly when the license family is permissive or copyleft",
     "SELECT id FROM models WHERE is_open != (license_family IN ('permissive', 'copyleft')) "
     "UNION ALL SELECT id FROM repos WHERE is_open != (license_family IN ('permissive', 'copyleft')) LIMIT 100"),
    ("loadable rows have a backend", "loadable = 1 names its loader backend; loadable = 0 says why",
     "SELECT id FROM models WHERE (loadable = 1 AND load_backend IS NULL) "
     "OR (loadable = 0 AND (load_note IS NULL OR load_note = '')) LIMIT 100"),
    ("timestamps in order", "first seen <= last seen and changed; a removal after the first sighting",
     "SELECT id FROM models WHERE first_seen > last_seen OR first_seen > changed_at "
     "OR (removed_at IS NOT NULL AND removed_at < first_seen) LIMIT 100"),
    ("sizes and counts are sane", "no negative size, parameter count or class count",
     "SELECT id FROM models WHERE size_bytes < 0 OR num_params < 0 OR num_classes < 0 OR downloads < 0 LIMIT 100"),
    ("entities follow the models", "one entities row per entity with a live row, counting its live rows "
     "(not while a first load has deferred the models indexes: it rebuilds them at its end)",
     "SELECT 'entity ' || x.e || ': ' || x.n || ' live rows, entities says ' || coalesce(y.n_ids, 'nothing') "
     "FROM (SELECT entity_id AS e, count(*) AS n FROM models WHERE removed_at IS NULL GROUP BY entity_id) x "
     "LEFT JOIN entities y ON y.entity = x.e WHERE y.n_ids IS NOT x.n "
     "AND NOT EXISTS (SELECT 1 FROM deferred_indexes WHERE name = 'idx_models_entity') "
     "UNION ALL SELECT 'entity ' || entity || ' has no live row' FROM entities WHERE entity NOT IN "
     "(SELECT entity_id FROM models WHERE removed_at IS NULL) "
     "AND NOT EXISTS (SELECT 1 FROM deferred_indexes WHERE name = 'idx_models_entity') LIMIT 100"),
    ("source counts follow the models", "source_counts holds each source's live, open and loadable models",
     "WITH x AS (SELECT source, count(*) AS n, sum(is_open = 1) AS o, sum(loadable = 1) AS l FROM models "
     "WHERE removed_at IS NULL GROUP BY source), k AS (SELECT source FROM x UNION SELECT source FROM source_counts) "
     "SELECT 'source ' || k.source || ': ' || coalesce(x.n, 0) || ' live rows (' || "
     "coalesce(x.o, 0) || ' open, ' || coalesce(x.l, 0) || ' loadable), source_counts says ' || "
     "coalesce(y.models, 0) || ' (' || coalesce(y.open, 0) || ', ' || coalesce(y.loadable, 0) || ')' "
     "FROM k LEFT JOIN x ON x.source = k.source LEFT JOIN source_counts y ON y.source = k.source "
     "WHERE coalesce(x.n, 0) != coalesce(y.models, 0) OR coalesce(x.o, 0) != coalesce(y.open, 0) "
     "OR coalesce(x.l, 0) != coalesce(y.loadable, 0) LIMIT 100"),
    ("one open run per source", "at most one refresh per source is marked running",
     "SELECT source FROM runs WHERE status = 'running' GROUP BY source HAVING count(*) > 1 LIMIT 100"),
]


class ChecksMixin:
    """`modelcat check`: SQLite's own checks and the catalog's invariants."""

    def check(self, *, quick: bool = False) -> list["CheckResult"]:
        """`modelcat check`: SQLite's integrity and foreign-key checks, the full-text indexes, and the
        catalog's own invariants. Read-only; each result names what is wrong, with examples.
        quick: SQLite's quick_check (no index-content comparison: minutes faster on a large catalog)."""
        results = []

        def add(name: str, what: str, find) -> None:
            try:
                bad = list(find())
            except sqlite3.DatabaseError as e:  # damage bad enough to stop the query: a problem too
                bad = [f"the check could not run: {e}"]
            results.append(CheckResult(name, what, len(bad), [str(b) for b in bad[:5]]))

        def rows(sql: str) -> list:
            return [r[0] for r in self.conn.execute(sql)]

        pragma = "quick_check" if quick else "integrity_check"
        add("integrity", f"SQLite's {pragma}: pages, indexes and constraints",
            lambda: [r for r in rows(f"PRAGMA {pragma}") if r != "ok"])
        add("foreign keys", "every reference points at an existing row (PRAGMA foreign_key_check)",
            lambda: [f"{t} row {rowid} -> {parent}" for t, rowid, parent, _ in
                     self.conn.execute("PRAGMA foreign_key_check")])
        tables = set(rows("SELECT name FROM sqlite_master WHERE type = 'table'"))
        for fts, content in (("models_fts", "models"), ("papers_fts", "papers"), ("repos_fts", "repos")):
            if f"{fts}_docsize" not in tables:
                continue
            add(f"full-text {content}", f"{fts} indexes exactly the rows of {content}", lambda fts=fts, content=content: (
                [f"{content} rowid {r} not indexed" for r in rows(
                    f"SELECT rowid FROM [{content}] EXCEPT SELECT id FROM [{fts}_docsize] LIMIT 100")]
                + [f"{fts} indexes rowid {r}, which {content} lacks" for r in rows(
                    f"SELECT id FROM [{fts}_docsize] EXCEPT SELECT rowid FROM [{content}] LIMIT 100")]))
        if "deferred_indexes" in tables:
            add("indexes", "no index left dropped by a first load that did not finish", lambda: [
                f"{name} (dropped by the first load of {source}: the next `modelcat refresh` builds it)"
                for name, source in self.deferred_indexes().items()])
        pending = self.pending_migrations()
        if pending:  # the invariants are written for the current schema: they wait for it
            add("migrations", "the catalog has every migration of this modelcat (the invariants need them)",
                lambda: [f"{name} not applied yet (a refresh stopped while creating or upgrading the catalog, "
                         "or modelcat was upgraded since): the next `modelcat refresh` applies it"
                         for name in pending])
            return results
        for name, what, sql in _INVARIANTS:
            add(name, what, lambda sql=sql: rows(sql))
        add("cell sizes", "no text cell is over its cap (schema/caps.yml)", self._cells_over_caps)
        add("facet counts follow the models", "facet_counts, facet_dataset_counts, facet_dataset_pairs, paper_counts, the link tables' counts "
            "and paper_dataset_counts (the papers not marked stale) "
            "hold what the rows count, "
            "entity_facet_counts what the entities count (the model pages' facets read them)", self._facet_counts_off)
        add("saved positions", "a source's saved position is not ahead of the rows it stands for "
            "(the models a sweep kept since it began are rows)", self._positions_ahead)
        return results

    def _cells_over_caps(self) -> list[str]:
        """Cells longer than schema/caps.yml allows (written by an older modelcat, or by hand):
        one full scan of each capped table."""
        out = []
        for table, cols in _caps()[0].items():
            keys = "rowid" if table != "datasets" else "id"
            over = " OR ".join(f"length([{c}]) > {n}" for c, n in cols.items())
            sel = ", ".join(f"length([{c}]) > {n}" for c, n in cols.items())
            for row in self.conn.execute(f"SELECT {keys}, {sel} FROM [{table}] WHERE {over} LIMIT 20"):
                names = [c for c, hit in zip(cols, row[1:]) if hit]
                out.append(f"{table} {keys} {row[0]}: {', '.join(names)} over the cap "
                           f"({', '.join(str(cols[c]) for c in names)}); the next refresh that reads it cuts it")
        return out

    def repair_counts(self) -> list[str]:
        """Rebuild what the store keeps beside the models (the entities and the counts the pages
        read) from the rows, in one transaction; what was rebuilt. Nothing while a first load is
        under way: its end rebuilds them."""
        done = []
        with self.transaction():
            if not facet_counts_deferred(self.conn):
                rebuild_facet_counts(self.conn)
                done.append("facet counts")
            if not entities_deferred(self.conn):
                rebuild_entities(self.conn)
                done.append("entities and their counts")
            self.conn.execute("DELETE FROM source_counts")
            self.conn.execute("INSERT INTO source_counts (source, models, open, loadable) "
                              "SELECT source, count(*), sum(is_open = 1), sum(loadable = 1) FROM models "
                              "WHERE removed_at IS NULL GROUP BY source")
            done.append("source counts")
        return done

    def _facet_counts_off(self) -> list[str]:
        """The combinations (and their datasets) whose kept count differs from a count of the rows;
        none while a first load has the triggers dropped (its end rebuilds them)."""
        if facet_counts_deferred(self.conn):
            return []
        fresh, kept = fresh_facet_counts(self.conn), kept_facet_counts(self.conn)
        out = []
        pairs = [("models", fresh[0], kept[0]), ("models per dataset", fresh[1], kept[1]),
                 ("models per pair of datasets", fresh[2], kept[2]), ("live models per paper", fresh[3], kept[3]),
                 ("link table rows", fresh[4], kept[4]), ("models per dataset and paper", fresh[5], kept[5])]
        if not entities_deferred(self.conn):
            pairs.append(("distinct models", fresh_entity_facet_counts(self.conn), kept_entity_facet_counts(self.conn)))
        for what, f, k in pairs:
            want, have = {r[:-1]: r[-1] for r in f}, {r[:-1]: r[-1] for r in k}
            for key in sorted(set(want) | set(have), key=repr):
                if want.get(key, 0) != have.get(key, 0):
                    out.append(f"{what} {' '.join(key)}: {want.get(key, 0)} rows, the counts say {have.get(key, 0)} "
                               "(`modelcat refresh` does not repair it: run `modelcat check --repair`)")
                    if len(out) >= 100:
                        return out
        return out

    def _positions_ahead(self) -> list[str]:
        """Sources whose sweep state (under way: `sweep`, or the last one: `last_sweep`) counts more
        models kept since it began than the catalog holds rows of that source seen since then. A
        few may be skipped records; a page or more means rows that were never committed."""
        out = []
        for source, raw in self.conn.execute("SELECT source, state FROM source_state ORDER BY source"):
            try:
                state = json.loads(raw)
            except (TypeError, ValueError):
                continue
            for key in ("sweep", "last_sweep"):
                sweep = state.get(key) if isinstance(state, dict) else None
                if not isinstance(sweep, dict) or not isinstance(sweep.get("kept"), int) or not sweep.get("started"):
                    continue
                rows = self.conn.execute("SELECT count(*) FROM models WHERE source = ? AND last_seen >= ?",
                                         (source, sweep["started"])).fetchone()[0]
                missing = sweep["kept"] - rows
                if missing > max(20, sweep["kept"] // 50):
                    out.append(f"{source}: its {'unfinished ' if key == 'sweep' else ''}{sweep.get('kind', '')} sweep "
                               f"since {sweep['started']} kept {sweep['kept']:,} models, the catalog holds "
                               f"{rows:,} of them: run `modelcat refresh --source {source} --full` to read them again")
        return out
