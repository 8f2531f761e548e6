"""Facets answered from the counts the store keeps (facet_counts, facet_dataset_counts: migration
0017) instead of counting a page's rows: on a Hub-size catalog a facet of `model_summary?source=hf`
counts a million rows (over the facet time limit), its counts read a few thousand combinations.

A page's facets can be read from the counts when every filter it has is an equality on a counted
column (`task=image-classification`, `source__exact=hf`), with at most one `?_dataset=` for the
column facets; anything else (search, other columns, other operators, `_where`) is counted from
the rows as Datasette does. The counts cover the whole filtered set: a page past the first
(`_next`) shows the same facets as the first, where Datasette's own would count only the rows
after the cursor.

The page's own count of its rows ("12,345 rows where source = hf and license = mit") is read from
the same counts where they can stand for it (CatalogDatabase): on 1M models Datasette's
`select count(*)` of a page filtered on two columns read a third of the catalog (0.3 s)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from urllib.parse import parse_qsl

from datasette.database import Database, QueryInterrupted, Results
from datasette.facets import ColumnFacet
from datasette.views.index import COUNT_DB_SIZE_LIMIT
from datasette.tracer import trace
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args, sqlite_timelimit

from ..store.entities import ENTITY_FACET_COLUMNS
from . import paging, tally
from ..store.facets import DEFERRED_NAME, FACET_COLUMNS, LINK_COUNTS


@dataclass(frozen=True)
class Counts:
    """Where a table's (or view's) counts are kept."""
    table: str                 # the counts: one row per combination of `columns`, with its n
    columns: tuple[str, ...]   # the columns counted
    live: bool                 # the page shows live rows only (live = 1)
    datasets: bool = False     # `?_dataset=` is counted too (facet_dataset_counts)
    ready: str = DEFERRED_NAME  # the line in deferred_indexes while a first load leaves them stale
    indexed_sort: str | None = None  # the sort each counted column's index ends with (walked already)


COUNTED_TABLES = {
    "model_summary": Counts("facet_counts", FACET_COLUMNS, live=True, datasets=True,  # the models still listed
                            indexed_sort="downloads"),
    "models": Counts("facet_counts", FACET_COLUMNS, live=False, indexed_sort="downloads"),  # every row
    "model_entities": Counts("entity_facet_counts", ENTITY_FACET_COLUMNS, live=False, ready="idx_models_entity",
                             indexed_sort="n_ids"),
    # the link tables' rows (migration 0026)
    **{table: Counts(counts, columns, live=False) for table, (counts, columns) in LINK_COUNTS.items()},
}

# model_summary's `?_dataset=` filter (datasette_plugin.filters_from_request): by rowid, as every
# models index ends with it, so SQLite can match the rows while it walks the index of another filter
DATASET_CLAUSE = ("model_rowid IN (SELECT m.rowid FROM model_datasets d JOIN models m ON m.id = d.model_id "
                  "WHERE d.dataset_id = :{p})")

# query arguments that do not narrow the rows a facet counts
_NEUTRAL = frozenset({
    "_sort", "_sort_desc", "_next", "_size", "_labels", "_nolabels", "_col", "_nocol", "_nocount", "_nofacet",
    "_trace", "_extra", "_shape", "_json", "_json_infinity", "_timelimit", "_ttl", "_stream", "_dl", "_nl",
    "_context", "_hide_sql", "_show_sql", "_wide",
})


# Walking a page's order passes about total/n rows per row shown where n rows match; reading the
# matches and sorting them costs n: walk when n * n > WALK_FACTOR * total (at 2.3M models, n over
# about 5,000). One rule for every walk the pages take (sorted pages, a common dataset, a search,
# a paper's most downloaded models).
WALK_FACTOR = 10


def worth_walking(n: int | None, total: int) -> bool:
    return n is not None and n * n > WALK_FACTOR * total


def unwalked(sql: str) -> str:
    """A page's SQL for counting its rows' facets: a `_dataset` filter that walks the page's order
    (`+model_rowid IN ...`, for its first rows) read as the dataset's models instead (counts are
    the same in any order; walking 2.3M rows for them passed the facet time limit)."""
    return sql.replace("+" + DATASET_CLAUSE.split(" IN ")[0] + " IN ", DATASET_CLAUSE.split(" IN ")[0] + " IN ")


def counted_filters(table: str | None, query_string: str, *, prefix: str = "") -> tuple[list[str], list, list[str]] | None:
    """(clauses on the table's counts, their parameters, the `_dataset` values) for a page whose
    rows the counts can stand for; None when they cannot."""
    counts = COUNTED_TABLES.get(table)
    if counts is None:
        return None
    clauses, params, datasets = ([f"{prefix}live = 1"] if counts.live else []), [], []
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        if key in _NEUTRAL or key.startswith("_facet"):
            continue
        if key == "_dataset" and counts.datasets:
            datasets.append(value)
            continue
        column = key[:-len("__exact")] if key.endswith("__exact") else key
        if column not in counts.columns:
            return None
        clauses.append(f"{prefix}[{column}] = ?")
        params.append(value)
    return clauses, params, datasets


async def counts_ready(datasette, database: str, table: str = "model_summary") -> bool:
    """The table's counts exist and are current (not a catalog from before them, nor a first load
    under way)."""
    return await _counts_current(datasette.get_database(database), COUNTED_TABLES[table])


async def live_models_naming(db, dataset: str) -> int | None:
    """How many live models name the dataset (facet_dataset_counts); None where it cannot say."""
    try:
        return (await db.execute(
            "SELECT coalesce(sum(d.n), 0) FROM facet_dataset_counts d JOIN facet_counts c ON c.key = d.key "
            "WHERE d.dataset_id = ? AND c.live = 1", [dataset])).first()[0]
    except Exception:  # an older catalog, or past the time limit
        return None


def column_counts_sql(column: str, clauses: list[str], datasets: list[str], limit: int,
                      counts: str = "facet_counts") -> str:
    col = escape_sqlite(column)
    where = " AND ".join([*clauses, f"c.{col} IS NOT NULL"])
    if datasets:  # the models that name the dataset, per combination
        return (f"SELECT c.{col} AS value, sum(d.n) AS count FROM facet_dataset_counts d "
                f"JOIN facet_counts c ON c.key = d.key WHERE d.dataset_id = ? AND {where} "
                f"GROUP BY c.{col} HAVING sum(d.n) > 0 ORDER BY count DESC, value LIMIT {limit}")
    return (f"SELECT c.{col} AS value, sum(c.n) AS count FROM {counts} c WHERE {where} "
            f"GROUP BY c.{col} HAVING sum(c.n) > 0 ORDER BY count DESC, value LIMIT {limit}")


def dataset_counts_sql(clauses: list[str], limit: int) -> str:
    where = " AND ".join(clauses) or "1"
    return (f"SELECT d.dataset_id AS value, sum(d.n) AS count FROM facet_dataset_counts d "
            f"JOIN facet_counts c ON c.key = d.key WHERE {where} "
            f"GROUP BY d.dataset_id HAVING sum(d.n) > 0 ORDER BY count DESC, value LIMIT {limit}")


def dataset_pairs_sql(clauses: list[str], limit: int) -> str:
    """The datasets named by the models of one picked dataset (its parameter comes first), itself
    included, among the combinations the clauses keep (facet_dataset_pairs, migration 0024)."""
    where = " AND ".join(["p.dataset_id = ?", *clauses])
    return (f"SELECT p.other_id AS value, sum(p.n) AS count FROM facet_dataset_pairs p "
            f"JOIN facet_counts c ON c.key = p.key WHERE {where} "
            f"GROUP BY p.other_id HAVING sum(p.n) > 0 ORDER BY count DESC, value LIMIT {limit}")


class CountedFacet(ColumnFacet):
    """A column facet (`{counted: task}` in the metadata, or `?_facet_counted=task`) read from
    facet_counts when the page's filters allow (see the module's docstring), else counted from the
    rows: every counted column of the page in one pass over them (a search's 29,000 matches were
    read once per facet, 80 ms each on 2.3M models). Shown and reported as a column facet."""

    type = "counted"

    async def suggest(self):
        return []

    async def facet_results(self):
        self.sql = unwalked(self.sql)
        found = counted_filters(self.table, self.request.query_string, prefix="c.")
        if found is None or len(found[2]) > 1 or not await counts_ready(self.ds, self.database, self.table):
            results, timed_out = await self._from_rows()
        else:
            results, timed_out = await self._from_counts(*found)
        for r in results:
            r["type"] = "column"
        return results, timed_out

    def _columns(self) -> list[tuple[str, dict]]:
        return [(found["config"].get("column") or found["config"]["simple"], found) for found in self.get_configs()]

    async def _from_counts(self, clauses, params, datasets):
        results, timed_out = [], []
        size = self.get_facet_size()
        counts = COUNTED_TABLES[self.table]
        for column, found in self._columns():
            if column not in counts.columns:  # not counted: from the rows
                continue
            sql = column_counts_sql(column, clauses, datasets, size + 1, counts.table)
            try:
                rows = await self.ds.execute(self.database, sql, [*datasets, *params], truncate=False,
                                             custom_time_limit=self.ds.setting("facet_time_limit_ms"))
            except QueryInterrupted:
                timed_out.append(column)
                continue
            results.append(await self._result(column, found, [(r["value"], r["count"]) for r in rows.rows], size))
        return results, timed_out

    async def _from_rows(self):
        """Every column's counts from one grouped pass over the page's rows (a searched page: the
        pass its count made, tally.py)."""
        columns = self._columns()
        if not columns:
            return [], []
        size = self.get_facet_size()
        searched = tally.tallied(self.sql)
        if searched is not None and tally.covers(self.table, [c for c, _ in columns]):
            try:
                groups = await tally.groups(self.ds.get_database(self.database), *searched, self.params,
                                            self.ds.setting("facet_time_limit_ms"))
            except QueryInterrupted:
                return [], [c for c, _ in columns]
            return [await self._result(column, found, tally.ordered(tally.column_counts(self.table, groups, column))
                                       [:size + 1], size) for column, found in columns], []
        cols = ", ".join(escape_sqlite(c) for c, _ in columns)
        sql = f"SELECT {cols}, count(*) AS n FROM ({self.sql}) GROUP BY {cols}"
        try:
            rows = await self.ds.execute(self.database, sql, self.params, truncate=False,
                                         custom_time_limit=self.ds.setting("facet_time_limit_ms"))
        except QueryInterrupted:
            return [], [c for c, _ in columns]
        results = []
        for i, (column, found) in enumerate(columns):
            counted: dict = {}
            for row in rows.rows:
                if row[i] is not None:
                    counted[row[i]] = counted.get(row[i], 0) + row[-1]
            results.append(await self._result(column, found, tally.ordered(counted)[:size + 1], size))
        return results, []

    async def _result(self, column: str, found: dict, counted: list[tuple], size: int) -> dict:
        """A facet as Datasette's column facet shows it, from (value, count) pairs (at most size + 1),
        labels from a foreign key's table (model_datasets' dataset_id: the dataset's name)."""
        pairs = self.get_querystring_pairs()
        shown = counted[:size]
        labels = (await self.ds.expand_foreign_keys(self.database, self.table, column, [v for v, _ in shown])
                  if self.table and shown else {})
        values = []
        for value, count in shown:
            selected = (column, str(value)) in pairs or (f"{column}__exact", str(value)) in pairs
            if selected:
                path = path_with_removed_args(self.request, {column: str(value), f"{column}__exact": str(value)})
            else:
                path = path_with_added_args(self.request, {column: value})
            values.append({"value": value, "label": labels.get((column, value), value), "count": count,
                           "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(path)),
                           "selected": selected})
        return {"name": column, "type": self.type, "hideable": found["source"] != "metadata",
                "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {"_facet_counted": column})),
                "results": values, "truncated": len(counted) > size}


# ------------------------------------------------------------------ the page's count of its rows
# Datasette's table view counts a page's rows with `select count(*) from <table> where <clauses>`,
# one clause per filter: `"column" = :p0` for `?column=value` and `?column__exact=value`, and the
# clauses of filters_from_request hooks (DATASET_CLAUSE for `?_dataset=`).
_COUNT = re.compile(r"select count\(\*\) from \[?(\w+)\]?(?: where (.+))?", re.S)  # [table]: the database page
_EQUALS = re.compile(r'"(\w+)" = :(p\d+)')
# (with a leading + where the page walks its own order instead: datasette_plugin._named_by_many)
_DATASET = re.compile(r"\+?" + re.escape(DATASET_CLAUSE.split(":{p}")[0]) + r":(\w+)"
                      + re.escape(DATASET_CLAUSE.split(":{p}")[1]))


def counted_count(sql: str, params: dict | None) -> tuple[str, list, Counts] | None:
    """The query on the counts that answers Datasette's count `sql` of a counted table's rows, with
    its parameters; None when the counts cannot stand for it (any clause other than an equality on
    a counted column and, on model_summary, one `_dataset`)."""
    found = _COUNT.fullmatch(sql.strip())
    if not found or found[1] not in COUNTED_TABLES or not isinstance(params or {}, dict):
        return None
    params, counts = params or {}, COUNTED_TABLES[found[1]]
    clauses, args, datasets = (["c.live = 1"] if counts.live else []), [], []
    for clause in (found[2].split(" and ") if found[2] else []):
        equals, dataset = _EQUALS.fullmatch(clause.strip()), _DATASET.fullmatch(clause.strip())
        if equals and equals[1] in counts.columns and equals[2] in params:
            clauses.append(f"c.[{equals[1]}] = ?")
            args.append(params[equals[2]])
        elif dataset and counts.datasets and dataset[1] in params and not datasets:
            datasets.append(params[dataset[1]])
        else:
            return None
    where = " AND ".join(clauses) or "1"
    if datasets:
        return (f"SELECT coalesce(sum(d.n), 0) FROM facet_dataset_counts d JOIN facet_counts c ON c.key = d.key "
                f"WHERE d.dataset_id = ? AND {where}", [*datasets, *args], counts)
    return f"SELECT coalesce(sum(c.n), 0) FROM {counts.table} c WHERE {where}", args, counts


async def _counts_current(db, counts: Counts) -> bool:
    try:
        rows = await db.execute("SELECT (SELECT count(*) FROM sqlite_master WHERE name = ?), "
                                "(SELECT count(*) FROM deferred_indexes WHERE name = ?)", [counts.table, counts.ready])
    except Exception:  # an older catalog without deferred_indexes: count the rows
        return False
    found, deferred = rows.first()
    return bool(found) and not deferred


# ------------------------------------------------------------------ a sorted page of many matches
# Datasette's table view reads a page's rows with `select <columns> from <table> where <clauses>
# order by <sort> limit 51` (then `offset N` on a view's later pages, or a cursor clause on a
# table's). Without planner statistics SQLite answers an equality with its column's index, then
# sorts every match: `model_summary?source=hf&_sort=size_mb` sorted 2.3M rows (1.3 s, past the
# time limit with a cold cache). When the counts say the filters keep many rows, walking the sort's
# own index (migration 0018) finds the page's rows after about live/n rows each: the equalities are
# then written `+"column" = :p0`, which SQLite matches on the rows it walks instead of by index.
# Sorted by downloads every filter column has its (column, downloads) index (model_entities: n_ids):
# left as it is. A walk that passes its time gives way to the page as Datasette wrote it.
_PAGE = re.compile(r"(select .+? from (\w+) where )(.+?)( order by (.+?) limit \d+(?: offset \d+)?)", re.S)


def _top_level(where: str) -> list[str]:
    """The clauses of a WHERE joined by ` and ` outside parentheses."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(where):
        ch = where[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and where.startswith(" and ", i):
            parts.append(where[start:i])
            start = i = i + 5
            continue
        i += 1
    parts.append(where[start:])
    return [p.strip() for p in parts]


# a walk of the page's order lasts this long at most; past it the page is read as Datasette wrote it
# (a walk passes live/n rows per row shown where the filter and the order are unrelated, but every
# row before the first match where they are: image-classification's models are not the smallest)
WALK_MS = 50
_WALKED_DATASET = re.compile(r"\+" + re.escape(DATASET_CLAUSE.split(":{p}")[0]) + r":(\w+)"
                             + re.escape(DATASET_CLAUSE.split(":{p}")[1]))


# Datasette's clause for a page's search box (`?_search=`): the rows the full-text index matches
_SEARCH = re.compile(r"\b(\w+) in \(select rowid from (\w+_fts) where \2 match (escape_fts\(:\w+\)|:\w+)\)")


def _page_filters(sql: str, params):
    """(the page's parts, its counted clauses, its equalities, its table's counts) for a page of a
    counted table whose every clause is an equality on a counted column, a `_dataset` or the
    cursor of a later page; None for any other query."""
    found = _PAGE.fullmatch(sql.strip()) if isinstance(sql, str) else None
    if not found or found[2] not in COUNTED_TABLES or not isinstance(params or {}, dict):
        return None
    counts, kept = COUNTED_TABLES[found[2]], []
    for clause in _top_level(found[3]):
        equals, dataset = _EQUALS.fullmatch(clause), _DATASET.fullmatch(clause)
        if equals and equals[1] in counts.columns:
            kept.append(clause)
        elif dataset and counts.datasets:
            kept.append(clause.lstrip("+"))
        elif not (clause.startswith("(") and clause.endswith(")")) or not kept:  # the cursor comes last
            return None
    equalities = [c for c in kept if _EQUALS.fullmatch(c)]
    return (found, kept, equalities, counts) if equalities else None


def walked_page(sql: str, params) -> tuple[str, str, Counts] | None:
    """(the page's query with its counted equalities matched on the walk, the count query of the
    rows they keep, where those are counted) for a page of _page_filters' kind sorted other than
    by the sort its column indexes end with (downloads; model_entities' n_ids); None for any other."""
    parts = _page_filters(sql, params)
    if parts is None or parts[0][5].split()[0].strip('"[],') == parts[3].indexed_sort:
        return None
    found, kept, _, _ = parts
    walked = _EQUALS.sub(lambda m: "+" + m[0], found[3])
    return found[1] + walked + found[4], f"select count(*) from {found[2]} where {' and '.join(kept)}", parts[3]


# stored queries' answers each read connection keeps (CatalogDatabase._answers): a page of the seed
# question and its neighbours in the form
ANSWERS_KEPT = 8
# a name a statement gives a parameter (:name, @name, $name), wherever it stands: one in a string
# or a comment only makes the key longer
_PARAMETER = re.compile(r"[:@$](\w+)")

# Datasette's own reads of the schema (its tables, columns and indexes, before it serves a page): a
# statement that reads sqlite_master alone (no call, sub-query, union or join: _SCHEMA_WHERE), or
# one of the pragmas that list the schema. Their cost follows the schema's few hundred entries,
# never the catalog's rows, and a page cannot be served without them: they run under SCHEMA_READ_MS,
# not the page's time limit (with a 1 ms limit on a slow machine, the home page answered 500 when
# its first read of sqlite_master was interrupted).
_QUOTED = r"'[^']*'|\"[^\"]*\""
# a where clause over sqlite_master's columns: literals, names, comparisons, `in (...)` lists and
# grouping; no call (a name before "("), no sub-query, union or join (their keywords)
_SCHEMA_WHERE = (
    rf"(?:{_QUOTED}|(?:and|or|not|in)\s*\(|[()]"
    r"|(?!(?:select|union|intersect|except|join|from|with|values)\b)\w+(?!\w|\s*\()|[\s=<>!%?:,.])*")
SCHEMA_READ = re.compile(
    rf"\s*(?:select\s[\w\s,*]+\sfrom\s+sqlite_master(?:\s+where\s{_SCHEMA_WHERE})?"
    r"|pragma\s+(?:schema_version|database_list|data_version"
    r"|(?:table_xinfo|table_info|index_list|index_xinfo|foreign_key_list)\s*\(\s*\[?[^()\];]*\]?\s*\))"
    r")\s*;?\s*", re.I)
SCHEMA_READ_MS = 2000


class CatalogDatabase(Database):
    """The catalog as Datasette serves it: a page's count of its rows is read from facet_counts
    when the counts can stand for it (counted_count) and are current; a sorted page of many
    matches walks its sort's index (walked_page); a stored query's HTML page gets the rows it shows
    (paging.py), from answers kept until the catalog changes (_answers); every other query as
    Datasette runs it."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._kept_answers: dict[int, tuple] = {}  # id(connection) -> (the connection, its answers)

    async def execute(self, sql, params=None, *args, **kw):
        if isinstance(sql, str) and SCHEMA_READ.fullmatch(sql) and not args and not kw.get("truncate"):
            return await self._schema_read(sql, params)
        if paging.wants_page(sql, kw):  # a stored query's HTML page: Datasette renders the shown rows only
            return paging.keep_page(await self._answers(sql, params, *args, **kw))
        if isinstance(sql, str) and sql.startswith("select count(*) from "):
            counted = counted_count(sql, params)
            if counted is not None and await _counts_current(self, counted[2]):
                return await super().execute(counted[0], counted[1], *args, **kw)
            # (as the facets read it: a common dataset's rows listed, not walked)
            searched = tally.tallied(unwalked(sql)) if counted is None and not args else None
            if searched is not None:  # a search: its groups, which the page's facets read too
                try:
                    groups = await tally.groups(self, *searched, params, kw.get("custom_time_limit"))
                    return Results([(tally.total(groups),)], False, [("count(*)",) + (None,) * 6])
                except QueryInterrupted:  # grouped, the rows passed the time limit: counted alone
                    pass
        elif isinstance(sql, str) and sql.startswith("select ") and " order by " in sql:
            walked, fallback = await self.page_sql(sql, params)
            if walked != sql:  # a walk is quick unless the order puts the matches last: then the fallback
                limit = min(kw.get("custom_time_limit") or WALK_MS, WALK_MS)
                try:
                    return await super().execute(walked, params, *args, **{**kw, "custom_time_limit": limit})
                except QueryInterrupted:
                    sql = fallback
        return await super().execute(sql, params, *args, **kw)

    async def _schema_read(self, sql, params):
        """One of Datasette's reads of the schema (SCHEMA_READ), under SCHEMA_READ_MS or the page's
        limit if that is longer."""
        limit_ms = max(self.ds.sql_time_limit_ms, SCHEMA_READ_MS)

        def run(conn):
            with sqlite_timelimit(conn, limit_ms):
                try:
                    cursor = conn.execute(sql, params if params is not None else {})
                    return Results(cursor.fetchall(), False, cursor.description)
                except sqlite3.OperationalError as e:
                    if e.args == ("interrupted",):
                        raise QueryInterrupted(e, sql, params) from e
                    raise

        with trace("sql", database=self.name, sql=sql.strip(), params=params):
            return await self.execute_fn(run)

    async def _answers(self, sql, params, *args, **kw):
        """A stored query's answers as Datasette reads them for its page (at most max_returned_rows,
        truncated), kept by each read connection until the catalog changes: SQLite's data_version,
        which a connection sees move when any other commits. The seed question's first 1,001
        answers on 2.3M models took 13 ms of its 27 ms page, for 100 rows shown; each of its pages,
        and every visit after the first, reads them again only after a refresh (or any write)."""
        if args or kw.get("page_size") or set(kw) - {"truncate", "custom_time_limit", "page_size", "log_sql_errors"}:
            return await super().execute(sql, params, *args, **kw)
        limit_ms = self.ds.sql_time_limit_ms
        if kw.get("custom_time_limit") and kw["custom_time_limit"] < limit_ms:
            limit_ms = kw["custom_time_limit"]
        # the parameters the statement names: `?_page=2` reaches it as one more, and the seed
        # question's second page is the same answers as its first (each page read them anew)
        if isinstance(params, dict):
            named = set(_PARAMETER.findall(sql))
            key = (sql, tally.params_key({k: v for k, v in params.items() if k in named}))
        else:
            key = (sql, tally.params_key(params))
        most = self.ds.max_returned_rows

        def run(conn):
            # SQLite's data_version moves when any other connection, of any process, commits
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            held = self._kept_answers.get(id(conn))
            if held is None or held[0] is not conn:  # (held: its id names no other connection)
                held = self._kept_answers[id(conn)] = (conn, {})
            kept = held[1]
            found = kept.get(key)
            if found is None or found[0] != version:
                with sqlite_timelimit(conn, limit_ms):
                    try:
                        cursor = conn.execute(sql, params if params is not None else {})
                        rows = cursor.fetchmany(most + 1)
                    except (sqlite3.OperationalError, sqlite3.DatabaseError) as e:
                        if e.args == ("interrupted",):
                            raise QueryInterrupted(e, sql, params)
                        raise
                found = (version, rows[:most], len(rows) > most, cursor.description)
                kept.pop(key, None)
                kept[key] = found
                while len(kept) > ANSWERS_KEPT:
                    kept.pop(next(iter(kept)))
            return Results(list(found[1]), found[2], found[3])

        with trace("sql", database=self.name, sql=sql.strip(), params=params):
            return await self.execute_fn(run)

    async def table_counts(self, limit=10):
        """Datasette's count of every table (the database page, the home page), less the full-text
        indexes' own tables in a catalog over 100 MB (where Datasette's home page counts nothing
        either): their rows are index pages no one browses, SQLite's count of a table is one step
        no time limit stops, and models_fts_data's took 74 ms of the page's 230 on 2.3M models.
        The counted tables read their counts (counted_count)."""
        names = await self.table_names()
        internal = {n for n in names for fts in names if fts.endswith("_fts") and n.startswith(fts + "_")}
        counts = {}
        for table in names:
            if table in internal and self.size > COUNT_DB_SIZE_LIMIT:
                counts[table] = None
                continue
            try:
                counts[table] = (await self.execute(f"select count(*) from [{table}]", custom_time_limit=limit)).rows[0][0]
            except (QueryInterrupted, sqlite3.OperationalError, sqlite3.DatabaseError):
                counts[table] = None
        return counts

    async def page_sql(self, sql: str, params) -> tuple[str, str]:
        """(the query that reads a table page's rows by walking its order, the one to read them by
        when the walk passes its time): walked_page's where the counts say many, and a common
        dataset (`+model_rowid IN`, datasette_plugin._named_by_many) matched on each row walked
        (EXISTS: one look-up in model_datasets' key) rather than first listing every model that
        names it (130,000 for ImageNet on 2.3M models: 125 -> 16 ms). The fallback: the rows of
        the dataset, sorted, where the other filters keep many (2.3M: 0.8 -> 0.35 s); else as
        Datasette wrote it (the narrow filter's index)."""
        walk, fallback = walked_page(sql, params), sql
        if walk is not None and await self._many(walk[1], params, walk[2]):
            sql = walk[0]
            if unwalked(sql) != sql:  # and a common dataset: its rows, sorted
                fallback = unwalked(sql)
        else:
            sql = await self._narrowest(sql, params)
        search = _SEARCH.search(sql) if " from models_fts where " in sql else None
        if search is not None and await self._search_finds_many(search, sql, params):
            sql = sql[:search.start()] + "+" + sql[search.start():]
        if " from model_summary where " in sql:
            sql = _WALKED_DATASET.sub(
                r"EXISTS (SELECT 1 FROM model_datasets d WHERE d.model_id = model_summary.id AND d.dataset_id = :\1)", sql)
        return sql, fallback

    async def _narrowest(self, sql: str, params) -> str:
        """A page filtered on two or more counted columns read through the index of the one that
        keeps the fewest rows (the counts say which), the others matched on its rows. Without
        planner statistics SQLite takes the index created last (source's, migration 0019):
        `source=hf&license=apple-ascl` walked the Hub's 2.3M rows by downloads for 150 rare ones."""
        parts = _page_filters(sql, params)
        if parts is None or len(parts[2]) < 2 or not await _counts_current(self, parts[3]):
            return sql
        found, _, equalities, _ = parts
        sizes = []
        for clause in equalities:
            counted = counted_count(f"select count(*) from {found[2]} where {clause}", params)
            try:
                sizes.append(((await super().execute(counted[0], counted[1])).first()[0], clause))
            except Exception:  # past the time limit: as Datasette wrote it
                return sql
        narrowest = min(sizes)[1]
        where = found[3]
        for _, clause in sizes:
            if clause != narrowest:
                where = re.sub(r"(?<![+\w])" + re.escape(clause), lambda m: "+" + m[0], where)
        return found[1] + where + found[4]

    async def _search_finds_many(self, search: re.Match, sql: str, params) -> bool:
        """Does the page's search match enough rows that walking the page's order finds them sooner
        than sorting them all (worth_walking; the full-text index counts them)?
        `ravi` matches 29,000 of 2.3M models: sorted, 84 to 220 ms; walked, a few."""
        table = re.match(r"select .+? from (\w+) where ", sql, re.S)
        if table is None or table[1] not in COUNTED_TABLES or not await _counts_current(self, COUNTED_TABLES[table[1]]):
            return False
        total = counted_count(f"select count(*) from {table[1]}", {})
        try:
            n = (await super().execute(f"SELECT count(*) FROM {search[2]} WHERE {search[2]} MATCH {search[3]}",
                                       params, custom_time_limit=WALK_MS)).first()[0]
            everything = (await super().execute(total[0], total[1])).first()[0]
        except Exception:  # past its time, or an older catalog: read as Datasette wrote it
            return False
        return worth_walking(n, everything)

    async def _many(self, count_sql: str, params, counts: Counts) -> bool:
        """Do the counts say the page's filters keep enough rows that walking its order finds its
        rows sooner than sorting them all? Walking passes about total/n rows per row shown, sorting
        reads n (worth_walking)."""
        counted = counted_count(count_sql, params)
        if counted is None or not await _counts_current(self, counts):
            return False
        total = counted_count(f"select count(*) from {count_sql.split()[3]}", {})
        try:
            n = (await super().execute(counted[0], counted[1])).first()[0]
            everything = (await super().execute(total[0], total[1])).first()[0]
        except Exception:  # past the time limit, or an older catalog: as Datasette runs it
            return False
        return worth_walking(n, everything)
