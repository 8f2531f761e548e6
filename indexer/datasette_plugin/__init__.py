"""modelcat's Datasette plugin (entry point `datasette`): a home page that explains the catalog,
cells that carry the line loading a model, license badges, sizes in MB, paper titles, and a chart
of ImageNet accuracy against size.

Active only for databases that are modelcat catalogs; `datasette catalog.db` with modelcat
installed gets the same metadata (facets, stored queries) as `modelcat serve`.
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
import sqlite3
from urllib.parse import urlencode, urlsplit

import datasette.plugins  # noqa: F401 - first: loading it whole before the import below (see _register_whole)
import datasette.handle_exception as _datasette_errors
import markupsafe
from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.facets import ArrayFacet
from datasette.utils import tilde_encode
from datasette.utils.asgi import Response

from . import paging, tally
from .counted import (DATASET_CLAUSE, CountedFacet, counted_filters, counts_ready, dataset_counts_sql,
                      dataset_pairs_sql, live_models_naming, unwalked, worth_walking)
from ..ids import id_table, is_model_id
from ..store.reads import ReadsMixin
from .metadata import labels, metadata_for_database, shown_columns
from ..textsafe import load_line, visible

# Datasette's default error handler prints every error (a 404 included) with `rich` and all local
# variables when rich is importable (transformers brings it): request internals in the logs, and
# a crash (a 500) for errors raised outside an except block. Its plain handling is enough.
_datasette_errors.rich = None

ID_COLUMNS = frozenset({"id", "model_id", "entity", "related_id", "same_weights_as"})
PAPER_COLUMNS = frozenset({"paper_id", "papers"})
FAMILIES = frozenset({"permissive", "copyleft", "restricted", "non-commercial", "unknown"})
_ARXIV = re.compile(r"arxiv:[0-9a-z./-]+", re.I)

CSS = """
.mc-id { overflow-wrap: anywhere; }
.mc-load { display: block; margin-top: 0.2em; font-size: 0.85em; }
.mc-load code { user-select: all; background: #f3f5f9; padding: 0.1em 0.3em; border-radius: 3px;
                overflow-wrap: anywhere; }
/* a page of models fits a laptop screen: long ids and two-word headers may wrap */
table.rows-and-columns th { white-space: normal; }
table.rows-and-columns td.col-id, table.rows-and-columns td.col-entity, table.rows-and-columns td.col-model_id { min-width: 18em; }
.mc-columns { margin: 0.3em 0; font-size: 0.9em; color: #555; }
.mc-copy { font-size: 0.8em; margin-left: 0.4em; padding: 0 0.4em; cursor: pointer; }
.mc-badge { display: inline-block; padding: 0.05em 0.5em; border-radius: 0.8em; font-size: 0.85em;
            color: #fff; white-space: nowrap; }
.mc-permissive { background: #2e7d32; } .mc-copyleft { background: #1565c0; }
.mc-restricted { background: #ef6c00; } .mc-non-commercial { background: #c62828; }
.mc-unknown { background: #757575; }
.mc-home table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
.mc-home td, .mc-home th { padding: 0.25em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
.mc-home td.num { text-align: right; font-variant-numeric: tabular-nums; }
.mc-status-ok { color: #2e7d32; } .mc-status-failed, .mc-status-unavailable { color: #c62828; }
/* bookkeeping columns: in the JSON and CSV, not in the way on the page */
table.rows-and-columns .col-record_hash, table.rows-and-columns .col-source_uid,
table.rows-and-columns .col-model_rowid, table.rows-and-columns .col-paper_rowid { display: none; }
.mc-chart svg { max-width: 100%; height: auto; font: 11px sans-serif; }
.mc-chart circle { fill-opacity: 0.65; }
.mc-chart circle:hover { fill-opacity: 1; stroke: #000; }
.mc-metrics-table td { vertical-align: top; } .mc-metrics-table small { color: #666; }
.mc-card dl.mc-facts { display: grid; grid-template-columns: 11em 1fr; gap: 0.3em 1em; max-width: 1100px; }
.mc-card dt { font-weight: bold; color: #444; } .mc-card dd { margin: 0; overflow-wrap: anywhere; }
.mc-card .mc-description { max-width: 60em; color: #333; }
details.mc-raw { margin-top: 2em; } details.mc-raw > summary { cursor: pointer; font-weight: bold; }
.mc-conflicts { border-left: 4px solid #ef6c00; padding: 0.2em 0.8em; background: #fff8e1; }
tr.mc-conflict td { background: #fff8e1; }
table.mc-sources-say td.mc-differs { background: #fff8e1; }
table.mc-sources-say td, table.mc-sources-say th { padding: 0.2em 0.5em; overflow-wrap: normal; }
.mc-recommend form label { display: inline-block; width: auto; margin: 0 1.2em 0.6em 0; }
.mc-recommend form input[type=text] { width: 14em; } .mc-recommend form input[type=number] { width: 7em; }
.mc-recommend-table td.mc-id { min-width: 22em; } .mc-recommend-table td { vertical-align: top; }
.mc-recommend-table td:last-child { min-width: 14em; }
"""

# Column headers as people read them (the JSON API keeps the column names; a header's tooltip
# shows the name, for SQL)
LABELS = labels()["columns"]  # schema/metadata.yml modelcat_labels: the one place for them

LABELS_JS = """
(function () {
  var labels = %s;
  document.querySelectorAll('table.rows-and-columns th').forEach(function (th) {
    var name = th.getAttribute('data-column') || th.textContent.trim();
    var label = labels[name];
    if (!label) return;
    var target = th.querySelector('a') || th;
    target.childNodes.forEach(function (n) {
      if (n.nodeType === 3 && n.textContent.trim().indexOf(name) === 0) {
        n.textContent = n.textContent.replace(name, label);
      }
    });
    th.setAttribute('title', name);
  });
})();
""" % json.dumps(LABELS)

COPY_JS = """
document.addEventListener('click', function (ev) {
  var b = ev.target.closest('.mc-copy');
  if (!b) return;
  var text = b.getAttribute('data-copy');
  var done = function () { b.textContent = 'copied'; setTimeout(function () { b.textContent = 'copy'; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    var t = document.createElement('textarea'); t.value = text; document.body.appendChild(t);
    t.select(); document.execCommand('copy'); document.body.removeChild(t); done();
  }
});
"""


# ---------------------------------------------------------------------- connections
# SQLite's own page cache for each of Datasette's read connections (its default is 2 MB). The
# seed question reads about a thousand models' rows scattered over a Hub-size catalog; with the
# pages it keeps between requests it answers in about 16 ms instead of 20 (scripts/bench.py, P3).
# At most a few connections: well inside P6's memory budget. Catalogs only (asked of the
# connection itself: they are made before startup() has found the catalogs).
READ_CACHE_KB = 16384


@hookimpl
def prepare_connection(conn, database, datasette):
    if database.startswith("_"):
        return
    try:
        ours = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                            "AND name IN ('_migrations', 'models', 'runs')").fetchone()[0] == 3
    except sqlite3.DatabaseError:  # not a database we can read: not ours
        return
    if ours:
        conn.execute(f"PRAGMA cache_size = -{READ_CACHE_KB}")


# ---------------------------------------------------------------------- facets
class ListFacet(ArrayFacet):
    """A facet over a column that holds a JSON list of ids, each at most once per row (model_summary's
    datasets): how many rows name each id. Datasette's array facet counts the same, but first
    removes duplicate (item, row) pairs by comparing every column of every row, which took 1.5 s
    on 300,000 models; this one reads only the column (180 ms there). Picked in the metadata as
    `{list: column}` or with `?_facet_list=column`. A click narrows the page: where a child table
    indexes the list (LIST_FILTERS: model_summary's datasets are model_datasets rows) through that
    index (`?_dataset=imagenet-1k`), else as the array facet does (`column__arraycontains=value`,
    which reads every row's list). On model_summary, a page whose filters the store's counts cover
    (counted.py) reads the facet from facet_dataset_counts instead of the rows."""

    type = "list"

    async def suggest(self):
        return []

    async def _filters_keep_fewer(self, on_rows) -> bool:
        """Do the page's equality filters keep fewer live models than name its dataset (the counts)?"""
        clauses = [c.replace("m.", "c.", 1) for c in on_rows[0]]
        if len(clauses) <= 1 or not await counts_ready(self.ds, self.database):
            return False  # live only: the dataset's models are the fewer
        try:
            kept = (await self.ds.execute(self.database, f"SELECT coalesce(sum(c.n), 0) FROM facet_counts c "
                                          f"WHERE {' AND '.join(clauses)}", on_rows[1])).first()[0]
        except QueryInterrupted:
            return False
        return kept < (await live_models_naming(self.ds.get_database(self.database), on_rows[2][0]) or 0)

    async def facet_results(self):
        from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

        results, timed_out = [], []
        self.sql = unwalked(self.sql)
        size = self.get_facet_size()
        pairs = self.get_querystring_pairs()
        counted = counted_filters(self.table, self.request.query_string, prefix="c.")
        on_rows = counted_filters(self.table, self.request.query_string, prefix="m.")  # the same, on models
        if counted is not None and not await counts_ready(self.ds, self.database):
            counted = None
        pairs_kept = counted is not None and len(counted[2]) == 1 and await _pairs_kept(self.ds, self.database)
        for found in self.get_configs():
            config = found["config"]
            column = config.get("column") or config["simple"]
            col = escape_sqlite(column)
            params = self.params
            if counted is not None and not counted[2] and (self.table, column) == ("model_summary", "datasets"):
                sql, params = dataset_counts_sql(counted[0], size + 1), counted[1]  # the store's counts
            elif pairs_kept and (self.table, column) == ("model_summary", "datasets"):
                # one dataset picked: the datasets its models name too, from the pairs the store counts
                sql, params = dataset_pairs_sql(counted[0], size + 1), [*counted[2], *counted[1]]
            elif ((self.table, column) == ("model_summary", "datasets") and on_rows and len(on_rows[2]) == 1
                  and (len(on_rows[0]) <= 1 or await self._filters_keep_fewer(on_rows))):
                # one dataset picked (and equalities): the datasets its models name, from model_datasets'
                # index, not every row's list (0.5 s for imagenet-1k's 130,000 models of 2.3M)
                where = " AND ".join(["d1.dataset_id = ?"] + [
                    "m.removed_at IS NULL" if c == "m.live = 1" else c for c in on_rows[0]])
                # from the fewer: the dataset's models (no other filter), or the rows the other filters
                # keep (source=timm). A filter that keeps more (source=hf) would look up every one of the
                # dataset's models' rows: the rows' lists are read instead, as below (past the facet
                # time limit otherwise on 2.3M models)
                first = ("models m CROSS JOIN model_datasets d1 ON d1.model_id = m.id" if len(on_rows[0]) > 1 else
                         "model_datasets d1 CROSS JOIN models m ON m.id = d1.model_id")
                sql = (f"SELECT d2.dataset_id AS value, count(*) AS count FROM {first} "
                       f"CROSS JOIN model_datasets d2 ON d2.model_id = m.id "
                       f"WHERE {where} GROUP BY d2.dataset_id ORDER BY count DESC, value LIMIT {size + 1}")
                params = [*on_rows[2], *on_rows[1]]
            elif tally.tallied(self.sql) is not None and tally.covers(self.table, [column]):
                sql = None  # a searched page: the groups its count read (tally.py)
            else:
                sql = (f"SELECT j.value AS value, count(*) AS count FROM (SELECT {col} AS items FROM ({self.sql}) "
                       f"WHERE {col} IS NOT NULL AND {col} != '[]') AS r, json_each(r.items) AS j "
                       f"GROUP BY j.value ORDER BY count DESC, value LIMIT {size + 1}")
            limit = self.ds.setting("facet_time_limit_ms")
            if on_rows and on_rows[2] and "json_each" in sql:
                # a picked dataset's models, read with another filter that keeps most rows (source=hf and
                # imagenet-1k: 130,000 rows of 2.3M, 0.49 s): no index counts them, so the one facet that
                # must read them gets twice the facet limit rather than go missing from the page
                limit *= 2
            try:
                if sql is None:
                    groups = await tally.groups(self.ds.get_database(self.database), *tally.tallied(self.sql),
                                                self.params, limit)
                    rows = [{"value": v, "count": n} for v, n in
                            tally.ordered(tally.column_counts(self.table, groups, column))[:size + 1]]
                else:
                    rows = (await self.ds.execute(self.database, sql, params, truncate=False,
                                                  custom_time_limit=limit)).rows
            except QueryInterrupted:
                timed_out.append(column)
                continue
            values = []
            key = LIST_FILTERS.get((self.table, column), (f"{column}__arraycontains",))[0]
            for row in rows[:size]:
                value = str(row["value"])
                arg = {key: value}
                selected = (key, value) in pairs
                path = path_with_removed_args(self.request, arg) if selected else path_with_added_args(self.request, arg)
                values.append({"value": value, "label": value, "count": row["count"],
                               "toggle_url": self.ds.absolute_url(self.request, path), "selected": selected})
            results.append({"name": column, "type": self.type, "results": values,
                            "hideable": found["source"] != "metadata",
                            "toggle_url": self.ds.urls.path(path_with_removed_args(self.request, {"_facet_list": column})),
                            "truncated": len(rows) > size})
        return results, timed_out


async def _pairs_kept(datasette, database: str) -> bool:
    """The catalog counts pairs of datasets (migration 0024)."""
    try:
        rows = await datasette.get_database(database).execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'facet_dataset_pairs'")
    except Exception:  # noqa: BLE001 - past the time limit: count the rows
        return False
    return bool(rows.first()[0])


@hookimpl
def register_facet_classes():
    return [ListFacet, CountedFacet]


# ---------------------------------------------------------------------- search boxes
def _searchable(query_string: bytes) -> bytes:
    """The query string with every search box's text made searchable: a text Datasette's escaping
    turns into nothing (an empty box, a lone `"`, only quotes) would reach SQLite as `MATCH ''`, an
    fts5 syntax error answered as HTTP 400; it is dropped, an empty search (every row). Raw mode
    (`_searchmode=raw`) is the user's own FTS syntax and is left alone."""
    from urllib.parse import parse_qsl, urlencode

    from datasette.utils import escape_fts

    try:
        pairs = parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True)
    except ValueError:
        return query_string
    if any(k == "_searchmode" and v == "raw" for k, v in pairs):
        return query_string
    out = [(k, v) for k, v in pairs if not ((k == "_search" or k.startswith("_search_")) and not escape_fts(v).strip())]
    return urlencode(out).encode() if len(out) != len(pairs) else query_string


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def searchable(scope, receive, send):
            if scope.get("type") == "http" and b"_search" in (scope.get("query_string") or b""):
                scope = {**scope, "query_string": _searchable(scope["query_string"])}
            token = paging.begin(paging.stored_query_page(datasette, scope, catalogs(datasette)))  # its page's rows only
            counting = tally.begin()  # a searched page's count and facets: one pass over its rows
            try:
                await app(scope, receive, send)
            finally:
                tally.end(counting)
                paging.end(token)

        return searchable

    return wrap


# list columns that a child table indexes: (table or view, column) -> (query argument, the rows whose
# list holds the value, found through the child table's index)
LIST_FILTERS = {
    # by rowid: every models index ends with it, so SQLite can match the rows while it walks the
    # index of another filter (source=hf): 15 ms where `id IN (...)` took 463 ms on 300k models
    ("model_summary", "datasets"): ("_dataset", DATASET_CLAUSE),
}


@hookimpl
def filters_from_request(request, database, table, datasette):
    """`?_dataset=imagenet-1k` on model_summary: the models trained on it, through model_datasets'
    index (Datasette's `datasets__arraycontains=` reads the list of every row: 3 s on 300,000
    models). Repeated, every one must hold.

    How SQLite reads them depends on how many there are (facet_dataset_counts): a dataset that
    many models name (imagenet-1k: 130,000 of 2.3M) is matched while the page's own order is
    walked (`+model_rowid IN (...)`: the page's rows come after a few thousand; reading them all
    and sorting them took 0.8 s), a rare one is read whole and sorted (walking the order would pass
    every model)."""
    from datasette.filters import FilterArguments

    if not is_catalog(datasette, database):
        return None
    wanted = [(column, arg, sql, value) for (name, column), (arg, sql) in LIST_FILTERS.items() if name == table
              for value in request.args.getlist(arg)]
    if not wanted:
        return None

    async def inner():
        clauses, params, human = [], {}, []
        for i, (column, arg, sql, value) in enumerate(wanted):
            p = f"mc_{arg.strip('_')}_{i}"
            walk = sql == DATASET_CLAUSE and await _named_by_many(datasette, database, value)
            clauses.append(("+" if walk else "") + sql.format(p=p))
            params[p] = value
            human.append(f'{column} has "{value}"')
        return FilterArguments(clauses, params, human)

    return inner


async def _named_by_many(datasette, database: str, dataset: str) -> bool:
    """Do enough live models name the dataset that a page finds its rows sooner by walking its own
    order than by reading them all? Walking passes about live/n rows per row shown; reading costs
    n rows (counted.worth_walking)."""
    db = datasette.get_database(database)
    n = await live_models_naming(db, dataset)
    try:
        live = (await db.execute("SELECT coalesce(sum(models), 0) FROM source_counts")).first()[0]
    except Exception:  # an older catalog, or past the time limit: read them all, as before
        return False
    return worth_walking(n, live)


# ---------------------------------------------------------------------- which databases
@hookimpl
def startup(datasette):
    async def inner():
        for name, db in datasette.databases.items():
            if name.startswith("_"):
                continue
            try:
                tables = set(await db.table_names())
                if {"_migrations", "models", "runs"} <= tables:
                    row = (await db.execute("SELECT count(*) FROM _migrations WHERE name = '0001_initial'")).first()
                    if row and row[0]:
                        catalogs(datasette).add(name)
            except Exception:  # noqa: BLE001 - not a database we can read: not ours
                continue

    return inner


def catalogs(datasette) -> set[str]:
    """Names of this Datasette's databases that are modelcat catalogs (found at startup)."""
    found = getattr(datasette, "_modelcat_catalogs", None)
    if found is None:
        found = datasette._modelcat_catalogs = set()
    return found


def is_catalog(datasette, database: str | None) -> bool:
    return database in catalogs(datasette)


@hookimpl
def get_metadata(datasette, key, database, table):
    """The catalog's titles, column descriptions, facets and stored queries, for every catalog
    database (what `modelcat serve` passes itself, so plain `datasette catalog.db` gets it too)."""
    # Datasette asks a dozen times per request; a catalog whose metadata Datasette was given
    # (`modelcat serve`, make_datasette) needs no fresh copy each time (6 ms of a 20 ms answer)
    given = (getattr(datasette, "_metadata_local", None) or {}).get("databases") or {}
    names = [name for name in catalogs(datasette) if name not in given]
    if not names:
        return None
    merged: dict = {"databases": {}}
    for name in names:
        meta = metadata_for_database(name)
        merged["databases"][name] = meta["databases"][name]
    return merged


# ---------------------------------------------------------------------- cells
def _load_snippet(model_id: str) -> str:
    call = load_line(model_id)  # a Python literal: a quote or a control character in an id stays in the string
    return (f'<span class="mc-load"><code>{html.escape(call)}</code>'
            f'<button type="button" class="mc-copy" data-copy="{html.escape(call, quote=True)}" '
            f'title="Copy the line that loads this model">copy</button></span>')


def _row_value(row, key):
    try:
        return row[key]
    except (KeyError, IndexError, TypeError):
        return None


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if not is_catalog(datasette, database) or value is None:
        return None
    if isinstance(value, dict) and "value" in value:  # a foreign key Datasette expanded: {value, label}
        value = value["value"]
    if column in ID_COLUMNS and isinstance(value, str) and is_model_id(value):
        out = f'<a class="mc-id" href="{html.escape(_row_url(datasette, database, value))}">{html.escape(value)}</a>'
        if _row_value(row, "loadable") != 0:
            out += _load_snippet(value)
        else:
            note = _row_value(row, "load_note")
            out += f'<span class="mc-load" title="{html.escape(note or "", quote=True)}">not loadable</span>'
        return markupsafe.Markup(out)
    coded = _value_labels().get(column)
    if coded and str(value) in coded:  # a coded value in words (loadable 1: yes), the code in its tooltip
        return markupsafe.Markup(f'<span title="{html.escape(str(value), quote=True)}">{html.escape(coded[str(value)])}</span>')
    if column == "license_family" and value in FAMILIES:
        return markupsafe.Markup(f'<span class="mc-badge mc-{value}">{value}</span>')
    if column == "size_mb" and isinstance(value, (int, float)):
        approx = "~" if _row_value(row, "size_is_estimate") == 1 else ""
        return markupsafe.Markup(f"{approx}{value:,.1f}&nbsp;MB")
    if column == "size_bytes" and isinstance(value, int):
        return markupsafe.Markup(f'<span title="{value:,} bytes">{value / 1e6:,.1f}&nbsp;MB</span>')
    if column == "params_m" and isinstance(value, (int, float)):
        return markupsafe.Markup(f"{value:,.2f}&nbsp;M")
    if column == "num_params" and isinstance(value, int):
        return markupsafe.Markup(f'<span title="{value:,} parameters">{value / 1e6:,.2f}&nbsp;M</span>')
    if column == "url" and isinstance(value, str) and value.startswith(("http://", "https://")):
        host = urlsplit(value).hostname or value
        return markupsafe.Markup(f'<a href="{html.escape(value, quote=True)}" rel="noopener">{html.escape(host)}&nbsp;↗</a>')
    if column in PAPER_COLUMNS and isinstance(value, str) and _ARXIV.search(value):
        return _paper_titles(datasette, database, value)
    if column in ID_COLUMNS and isinstance(value, str) and value.startswith(("arxiv:", "github:")):
        return markupsafe.Markup(f'<a href="{html.escape(_row_url(datasette, database, value))}">{html.escape(value)}</a>')
    if column in LIST_COLUMNS and isinstance(value, str):
        ids = _id_list(value)
        if ids:
            links = ", ".join(f'<a href="{html.escape(_row_url(datasette, database, i))}">{html.escape(i)}</a>'
                              for i in ids[:LIST_CAP])
            if len(ids) > LIST_CAP:
                links += _whole_list_link(datasette, database, table, column, row, len(ids) - LIST_CAP)
            return markupsafe.Markup(links)
    if isinstance(value, str) and not (value.isascii() and value.isprintable()):
        shown = visible(value)  # raw text from a source: bidi and control characters as escapes,
        if shown != value:      # isolated so nothing around the cell is reordered
            return markupsafe.Markup(f"<bdi>{html.escape(shown)}</bdi>")
    return None


@functools.lru_cache(maxsize=1)
def _value_labels() -> dict[str, dict[str, str]]:
    """{column: {coded value: its words}} (metadata.yml's modelcat_labels.values), read once."""
    return labels()["values"]


# columns holding several catalog ids: a JSON array or space-separated
LIST_COLUMNS = frozenset({"ids", "models", "code", "sources_ids"})
# A cell shows this many of them, then a link to the page that lists them all: a paper named by
# 7,000 models made paper_summary a 10 MB page.
LIST_CAP = 10
# where the whole list of a (table, column) is: (the table that lists it, its filter column, the
# row's column that holds the filter value)
WHOLE_LISTS = {
    ("paper_summary", "models"): ("model_papers", "paper_id", "id"),
    ("paper_summary", "code"): ("paper_repos", "paper_id", "id"),
    ("model_entities", "ids"): ("model_summary", "entity_id", "entity"),
}


def _whole_list_link(datasette, database: str, table: str, column: str, row, more: int) -> str:
    text = f"… and {more:,} more"
    target = WHOLE_LISTS.get((table, column))
    key = _row_value(row, target[2]) if target else None
    if not isinstance(key, str):
        return f' <span class="mc-more">{text}</span>'
    href = f"{datasette.urls.table(database, target[0])}?{urlencode({target[1]: key})}"
    return f' <a class="mc-more" href="{html.escape(href, quote=True)}">{text}</a>'




def _id_list(value: str) -> list[str]:
    try:
        items = json.loads(value) if value.startswith("[") else value.split()
    except ValueError:
        return []
    if not isinstance(items, list) or not all(isinstance(i, str) and ":" in i for i in items):
        return []
    return items


def _row_url(datasette, database: str, ident: str) -> str:
    """The row page of a catalog id: a model, a paper (arxiv:) or a repository (github:)."""
    table = id_table(ident)
    return f"{datasette.urls.table(database, table)}/{tilde_encode(ident)}"


def _paper_titles(datasette, database, value):
    ids = list(dict.fromkeys(m.group(0).lower() for m in _ARXIV.finditer(value)))

    async def inner():
        db = datasette.get_database(database)
        try:
            found = {r["id"]: r["title"] for r in (await db.execute(
                f"SELECT id, title FROM papers WHERE id IN ({', '.join('?' * len(ids))})", ids)).rows}
        except QueryInterrupted:  # past the time limit: the ids still link to the papers' pages
            found = {}
        parts = []
        for ident in ids:
            title = found.get(ident)
            href = _row_url(datasette, database, ident)
            label = html.escape(title) if title else html.escape(ident)
            parts.append(f'<a href="{html.escape(href)}" title="{html.escape(ident)}">{label}</a>')
        return markupsafe.Markup("<br>".join(parts))

    return inner


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.path("/-/modelcat/modelcat.css")] if catalogs(datasette) else []


@hookimpl
def extra_body_script(database, datasette):
    if not catalogs(datasette):
        return ""
    return COPY_JS + (LABELS_JS if is_catalog(datasette, database) else "")


# ---------------------------------------------------------------------- home page
@hookimpl
def extra_template_vars(template, database, table, datasette, request):
    if template == "row.html" and table == "models" and is_catalog(datasette, database):
        return _model_metrics_vars(datasette, database, request)
    if template == "row.html" and table in ("papers", "repos") and is_catalog(datasette, database) and request:
        return _paper_or_repo_card_vars(datasette, database, table, request)
    if template == "query.html" and is_catalog(datasette, database) and request is not None:
        return _stored_query_vars(datasette, database, request)
    if template == "table.html" and is_catalog(datasette, database):
        # is_view: only Datasette's heading reads it, as "Models (view)": a word for SQL people, not users
        return {"modelcat_labels": labels(), "modelcat_shown_columns": shown_columns(), "is_view": False}
    if template != "index.html" or not catalogs(datasette):
        return {}

    async def inner():
        return {"modelcat_catalogs": [await catalog_summary(datasette, name) for name in sorted(catalogs(datasette))]}

    return inner


# a stored query's parameter defaults, as its SQL states them: coalesce(nullif(:max_mb, ''), 100)
_PARAM_DEFAULT = re.compile(r"coalesce\(\s*nullif\(\s*:(\w+)\s*,\s*''\s*\)\s*,\s*('(?:[^']|'')*'|-?[0-9.]+)\s*\)", re.I)


def query_defaults(sql: str) -> dict[str, str]:
    """{parameter: default} for the parameters whose default the SQL states (the first it states)."""
    out: dict[str, str] = {}
    for name, value in _PARAM_DEFAULT.findall(sql or ""):
        out.setdefault(name, value[1:-1].replace("''", "'") if value.startswith("'") else value)
    return out


def _stored_query_vars(datasette, database: str, request):
    """A stored query's page shows its parameters filled with the values it answers with: what the
    request gives, else the default its SQL states (an empty box meant "the default", unseen)."""
    name = (request.url_vars or {}).get("table")
    if not name:
        return {}

    async def inner():
        query = await datasette.get_canned_query(database, name, request.actor)
        if not query:
            return {}
        from datasette.utils import derive_named_parameters

        params = await derive_named_parameters(datasette.get_database(database), query["sql"])
        defaults = query_defaults(query["sql"])
        from datasette.utils import path_with_removed_args, path_with_replaced_args

        return {"named_parameter_values": {p: request.args.get(p) or defaults.get(p, "") for p in params},
                # a stored query's answers, a page at a time (templates/query.html): how many, and
                # which are shown (paging.py: only they were handed to Datasette to render)
                "mc_page_url": lambda page: path_with_replaced_args(request, {"_page": str(page)}),
                "mc_shown": paging.shown(), "mc_page_size": paging.PAGE_SIZE,
                # the columns it shows first (modelcat_shown_columns), the others one click away
                "modelcat_shown_columns": shown_columns(),
                "mc_param_labels": labels()["parameters"],
                "mc_wide_url": path_with_replaced_args(request, {"_wide": "1", "_page": None}),
                "mc_narrow_url": path_with_removed_args(request, {"_wide", "_page"})}

    return inner


METRICS_SHOWN = 300  # a model page lists at most this many of its entity's metrics


def _model_metrics_vars(datasette, database: str, request):
    """A model page's metrics, inline: every result the model's entity carries (this id's and those
    of the other ids of the same weights), each with its source and origin. Where ids of the same
    weights report different values for the same evaluation set and metric, the page marks the
    conflict and says which value is shown where (this page: this id's own; rankings: the highest)."""
    from datasette.utils import tilde_decode

    pks = (request.url_vars or {}).get("pks") if request is not None else None
    if not pks:
        return {}
    model_id = tilde_decode(pks)

    async def inner():
        db = datasette.get_database(database)
        card = await _model_card(db, datasette, database, model_id)
        return {**card, **await metrics()}

    async def metrics():
        db = datasette.get_database(database)
        try:
            rows = [dict(r) for r in (await db.execute(
                "SELECT x.model_id, x.dataset_id, x.dataset_raw, x.metric, x.metric_raw, x.value, x.source, x.origin "
                "FROM metrics x WHERE x.model_id IN (SELECT e.id FROM models e WHERE e.entity_id = "
                "(SELECT m.entity_id FROM models m WHERE m.id = :id) AND (e.removed_at IS NULL OR e.id = :id)) "
                "ORDER BY x.model_id != :id, x.dataset_id IS NULL, x.dataset_id, x.metric, x.dataset_raw, x.model_id "
                f"LIMIT {METRICS_SHOWN + 1}", {"id": model_id})).rows]
        except QueryInterrupted:
            return {"modelcat_metrics": {"too_slow": True}, **await _paper_results_vars(db, datasette, database, model_id)}
        if not rows:
            return await _paper_results_vars(db, datasette, database, model_id)
        more = len(rows) > METRICS_SHOWN
        rows = rows[:METRICS_SHOWN]
        groups: dict[tuple, list[dict]] = {}
        for r in rows:
            groups.setdefault((r["dataset_id"] or r["dataset_raw"], r["metric"]), []).append(r)
        conflicts = []
        for (dataset, metric), members in groups.items():
            values = {round(r["value"], 2) for r in members}
            if len({r["model_id"] for r in members}) > 1 and len(values) > 1:
                own = [r for r in members if r["model_id"] == model_id]
                conflicts.append({"dataset": dataset, "metric": metric, "shown": own[0] if own else None,
                                  "best": max(members, key=lambda r: r["value"]), "members": members})
        for r in rows:
            r["href"] = _row_url(datasette, database, r["model_id"]) if r["model_id"] != model_id else None
            r["conflict"] = any(r in c["members"] for c in conflicts)
        return {"modelcat_metrics": {"model_id": model_id, "rows": rows, "more": more, "conflicts": conflicts,
                                     "all_href": datasette.urls.table(database, "metrics") + "?" + urlencode(
                                         {"model_id": model_id})},
                **await _paper_results_vars(db, datasette, database, model_id)}

    return inner


class _Reader(ReadsMixin):
    """The catalog's reads (store.reads) on one of Datasette's connections."""

    def __init__(self, conn):
        self.conn = conn


async def _model_card(db, datasette, database: str, model_id: str) -> dict:
    """What a model page opens with, read like a model card (issue #19): what it is, its license
    (raw, id, family), size, task, training data, headline accuracy, papers by title, code, lineage
    both ways, every id of the same weights and the line that loads it. Read through the catalog's
    own API (store.reads.get_model) on Datasette's connection; every value is escaped by the
    template."""
    def read(conn):
        saved = conn.row_factory
        conn.row_factory = sqlite3.Row
        try:
            row = _Reader(conn).get_model(model_id)
            if row is None:
                return None
            row["fine_tunes"] = [dict(r) for r in conn.execute(
                "SELECT r.model_id, r.relation FROM model_relations r JOIN models m ON m.id = r.model_id "
                "WHERE r.related_id = ? AND m.removed_at IS NULL ORDER BY r.relation, r.model_id LIMIT 21",
                (row["id"],))]
            return row
        finally:
            conn.row_factory = saved

    try:
        row = await db.execute_fn(read)
    except (sqlite3.Error, QueryInterrupted):
        return {}
    if row is None:
        return {}
    link = lambda ident: _row_url(datasette, database, ident)  # noqa: E731
    for key in ("papers", "repos"):
        for item in row.get(key) or []:
            item["href"] = link(item["id"])
    for rel in row.get("relations") or []:
        rel["href"] = link(rel["related_id"])
    for ft in row["fine_tunes"]:
        ft["href"] = link(ft["model_id"])
    mb = row.get("size_bytes")
    params = row.get("num_params")
    licenses = {x["license"] for x in row.get("same_weights") or []} | {row.get("license")}
    # every string a source wrote with its hidden characters as escapes (a Kaggle license name
    # carrying a bidi override reordered the card around it)
    return {"modelcat_card": _shown({
        "sources_say": _sources_say(row, link),
        "row": row,
        "load_line": load_line(row["id"]) if row.get("loadable") else None,
        "params_m": f"{params / 1e6:,.1f}" if params else None,
        "size_mb": f"{mb / 1e6:,.1f}" if mb else None,
        "same_weights": [{**x, "href": link(x["id"])} for x in row.get("same_weights") or []],
        # the sources disagree on the license of one file: a finding the page shows
        "license_conflict": sorted(licenses) if len(licenses) > 1 else None,
        "evidence": row.get("entity_evidence") or [],
        "fine_tunes_more": len(row["fine_tunes"]) > 20,
        "fine_tunes_href": datasette.urls.table(database, "model_relations") + "?" + urlencode({"related_id": row["id"]}),
        "raw_href": datasette.urls.table(database, "models") + "?" + urlencode({"id": row["id"]}),
    })}


# what each source says of the same weights, field by field (the model page's table)
SAID_FIELDS = {"license": "license", "task": "task", "params_m": "parameters", "size_mb": "size",
               "datasets": "training data", "imagenet_top1": "ImageNet-1K top-1"}


def _sources_say(row: dict, link) -> dict | None:
    """The model page's "what each source says" (issue #19): one row per catalog id of the same
    weights (this one first), each field as its source gives it (the license as written, its id
    and family), and which fields the sources disagree on. None for weights only one source lists."""
    others = row.get("same_weights") or []
    if not others:
        return None
    own = {**row, "dataset_ids": json.dumps([d["dataset_id"] for d in row.get("datasets") or []])}
    rows = []
    for x in [own, *others]:
        params, size = x.get("num_params"), x.get("size_bytes")
        rows.append({
            "id": x["id"], "source": x.get("source"), "href": None if x is own else link(x["id"]),
            "license": x.get("license"), "license_raw": x.get("license_raw"), "license_family": x.get("license_family"),
            "task": x.get("task"), "params_m": f"{params / 1e6:,.1f}" if params else None,
            "size_mb": f"{size / 1e6:,.1f}" if size else None, "size_is_estimate": x.get("size_is_estimate"),
            "datasets": sorted(_json_list(x.get("dataset_ids"))), "imagenet_top1": x.get("imagenet_top1"),
        })
    # a field the sources disagree on: two ids that both say something, and say different things
    differs = [f for f in SAID_FIELDS
               if len({json.dumps(r[f]) for r in rows if r[f] not in (None, [], "")}) > 1]
    return {"rows": rows, "differs": differs, "differs_said": [SAID_FIELDS[f] for f in differs]}


CARD_LINKS_SHOWN = 20  # a paper's or repository's page lists this many of its models, then links to all


def _json_list(value) -> list:
    try:
        items = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return []
    return [str(i) for i in items] if isinstance(items, list) else []


def _shown(value):
    """A card's values as the page shows them: every string from a source with its hidden
    characters (bidi overrides, controls) as escapes, so none reorders or hides the text around it."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return visible(value)
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return value


def _web_href(value) -> str | None:
    """A link a stranger wrote, only when it is a web address (never javascript: or data:)."""
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None


def _live_models_linked(conn, table: str, link_table: str, key: str, ident: str) -> int:
    """How many live models name this paper (paper_counts, kept by the store) or repository."""
    if table == "papers":
        try:
            row = conn.execute("SELECT n_models FROM paper_counts WHERE paper_id = ?", (ident,)).fetchone()
            return row[0] if row else 0
        except sqlite3.OperationalError:  # a catalog from before migration 0025
            pass
    return conn.execute(f"SELECT count(*) FROM {link_table} l CROSS JOIN models m ON m.id = l.model_id "
                        f"WHERE l.{key} = ? AND m.removed_at IS NULL", (ident,)).fetchone()[0]


def _live_models(conn) -> int:
    try:
        return conn.execute("SELECT coalesce(sum(models), 0) FROM source_counts").fetchone()[0]
    except sqlite3.OperationalError:  # an older catalog: count them
        return conn.execute("SELECT count(*) FROM models WHERE removed_at IS NULL").fetchone()[0]


def _paper_or_repo_card_vars(datasette, database: str, table: str, request):
    """A paper's or a repository's page, read like a card (issue #19): what it is, the models that
    name it (the first few, then a link to all), the code or the papers it is linked to; the raw
    row one click away. Every value is escaped by the template."""
    from datasette.utils import tilde_decode

    pks = (request.url_vars or {}).get("pks")
    if not pks:
        return {}
    ident = tilde_decode(pks)
    link_table, key = ("model_papers", "paper_id") if table == "papers" else ("model_repos", "repo_id")

    def read(conn):
        saved = conn.row_factory
        conn.row_factory = sqlite3.Row
        try:
            row = conn.execute(f"SELECT * FROM [{table}] WHERE id = ?", (ident,)).fetchone()
            if row is None:
                return None
            out = {"row": dict(row)}
            out["n_models"] = _live_models_linked(conn, table, link_table, key, ident)
            # the most downloaded first: a paper most models name (Sentence-BERT: 55,000 of 2.3M) walks
            # the downloads index and stops at the page's last (9 ms; sorting them all took 0.2 s); one
            # that few name reads its own
            many = worth_walking(out["n_models"], _live_models(conn))
            out["models"] = [dict(r) for r in conn.execute(
                (f"SELECT m.id, m.task, m.license_family, m.downloads FROM models m WHERE m.removed_at IS NULL "
                 f"AND EXISTS (SELECT 1 FROM {link_table} l WHERE l.model_id = m.id AND l.{key} = ?) "
                 if many else
                 f"SELECT m.id, m.task, m.license_family, m.downloads FROM {link_table} l CROSS JOIN models m "
                 f"ON m.id = l.model_id WHERE l.{key} = ? AND m.removed_at IS NULL ")
                + f"ORDER BY m.downloads DESC, m.id LIMIT {CARD_LINKS_SHOWN}", (ident,))]
            if table == "papers":
                out["code"] = [dict(r) for r in conn.execute(
                    "SELECT pr.repo_id, r.full_name, r.stars, max(pr.official) AS official FROM paper_repos pr "
                    "LEFT JOIN repos r ON r.id = pr.repo_id WHERE pr.paper_id = ? GROUP BY pr.repo_id "
                    "ORDER BY official DESC, r.stars DESC, pr.repo_id LIMIT 50", (ident,))]
                try:
                    out["n_results"] = conn.execute("SELECT count(*) FROM paper_results WHERE paper_id = ?",
                                                    (ident,)).fetchone()[0]
                except sqlite3.OperationalError:  # a catalog from before the pwc source
                    out["n_results"] = 0
            else:
                out["papers"] = [dict(r) for r in conn.execute(
                    "SELECT pr.paper_id, p.title FROM paper_repos pr LEFT JOIN papers p ON p.id = pr.paper_id "
                    "WHERE pr.repo_id = ? GROUP BY pr.paper_id ORDER BY pr.paper_id LIMIT 50", (ident,))]
            return out
        finally:
            conn.row_factory = saved

    async def inner():
        try:
            card = await datasette.get_database(database).execute_fn(read)
        except (sqlite3.Error, QueryInterrupted):
            return {}
        if card is None:
            return {}
        row = card["row"]
        link = lambda i: _row_url(datasette, database, i)  # noqa: E731
        for m in card["models"]:
            m["href"] = link(m["id"])
        card["models_href"] = datasette.urls.table(database, link_table) + "?" + urlencode({key: ident})
        card["url_href"] = _web_href(row.get("url"))
        if table == "papers":
            card["authors"] = _json_list(row.get("authors"))
            card["categories"] = _json_list(row.get("categories"))
            card["pdf_href"] = _web_href(row.get("pdf_url"))
            for c in card["code"]:
                c["href"] = link(c["repo_id"])
            card["results_href"] = (datasette.urls.table(database, "model_paper_results") + "?"
                                    + urlencode({"paper_id": ident}))
            return {"modelcat_paper": _shown(card)}
        card["topics"] = _json_list(row.get("topics"))
        card["homepage_href"] = _web_href(row.get("homepage"))
        for p in card["papers"]:
            p["href"] = link(p["paper_id"])
        return {"modelcat_repo": _shown(card)}

    return inner


async def _paper_results_vars(db, datasette, database: str, model_id: str) -> dict:
    """What the papers a model cites report for its architecture (the pwc source's leaderboards),
    and how many results they report for other models, with a link to all of them."""
    try:
        rows = [dict(r) for r in (await db.execute(
            "SELECT paper_id, model_name, task, dataset_id, dataset_raw, metric, metric_raw, value, value_raw, "
            "extra_data, paper_date, source FROM model_paper_results WHERE model_id = :id AND same_name = 1 "
            f"ORDER BY paper_id, task, dataset_raw, model_name, metric_raw LIMIT {METRICS_SHOWN + 1}",
            {"id": model_id})).rows]
        others = (await db.execute("SELECT count(*) FROM model_paper_results WHERE model_id = :id AND same_name = 0",
                                   {"id": model_id})).first()[0]
    except QueryInterrupted:
        return {"modelcat_paper_results": {"too_slow": True}}
    except sqlite3.OperationalError:  # a catalog from before the pwc source (no such view)
        return {}
    if not rows and not others:
        return {}
    for r in rows:
        r["paper_href"] = _row_url(datasette, database, r["paper_id"])
    return {"modelcat_paper_results": {
        "rows": rows[:METRICS_SHOWN], "more": len(rows) > METRICS_SHOWN, "others": others,
        "all_href": datasette.urls.table(database, "model_paper_results") + "?" + urlencode({"model_id": model_id})}}


async def catalog_summary(datasette, name: str) -> dict:
    """What the home page says about one catalog: sources with row counts and freshness."""
    db = datasette.get_database(name)
    q = lambda sql, params=None: db.execute(sql, params or [])  # noqa: E731
    too_slow = []  # what passed the time limit: the page says so (and how to narrow it), not a 500

    async def rows(what: str, sql: str, params=None) -> list:
        try:
            return (await q(sql, params)).rows
        except QueryInterrupted:
            too_slow.append(what)
            return []

    # counts the store keeps (source_counts, entities): the home page reads them, it counts nothing
    by_source = {r["source"]: dict(r) for r in await rows("the models of each source", (
        "SELECT source, models, loadable, open FROM source_counts WHERE models > 0"))}
    runs = {r["source"]: dict(r) for r in await rows("the latest refresh of each source", (
        "SELECT r.source, r.status, r.finished_at, r.error, "
        "(SELECT max(r2.finished_at) FROM runs r2 WHERE r2.source = r.source AND r2.status = 'ok') AS last_ok "
        "FROM runs r WHERE r.id = (SELECT max(r3.id) FROM runs r3 WHERE r3.source = r.source)"))}
    # distinct models: the entity counts (0021) sum to them, where current (a first load defers them);
    # counting the entities table's 2.3M rows took 22 ms of the page
    entities = ("(SELECT coalesce(sum(n), 0) FROM entity_facet_counts)"
                if await counts_ready(datasette, name, "model_entities") else "(SELECT count(*) FROM entities)")
    counts = next(iter(await rows("the totals of the catalog", (
        "SELECT (SELECT coalesce(sum(models), 0) FROM source_counts) AS models, "
        f"{entities} AS entities, "
        "(SELECT count(*) FROM papers) AS papers, (SELECT count(*) FROM repos) AS repos, "
        "(SELECT coalesce(sum(loadable), 0) FROM source_counts) AS loadable"))), None)
    unknown = {"models": None, "loadable": None, "open": None} if "the models of each source" in too_slow else \
        {"models": 0, "loadable": 0, "open": 0}
    sources = []
    for source in sorted(set(by_source) | set(runs)):
        row = {"source": source, **by_source.get(source, unknown)}
        if not row["models"] and row["models"] is not None:  # a source of papers, code or results
            row["holds"] = await _what_it_holds(datasette, name, source, rows)
        run = runs.get(source) or {}
        row.update(status=run.get("status"), finished_at=run.get("finished_at"), last_ok=run.get("last_ok"),
                   error=run.get("error"))
        sources.append(row)
    return {"name": name, "sources": sources, "counts": dict(counts) if counts else {},
            "queries": (datasette.metadata("queries", database=name) or {}), "too_slow": too_slow,
            "time_limit_ms": datasette.setting("sql_time_limit_ms")}


# what a source without models holds, for the home page: (what, count query, the table it is in)
# what a source without models holds, for the home page: (what, count query, its table; the
# table has a source column: the link filters on it), tried in turn; papers are arXiv's alone
HOLDINGS = (
    ("papers", "SELECT count(*) FROM papers WHERE fetched_at IS NOT NULL AND coalesce(missing, 0) = 0 "
               "AND :source = 'arxiv'", "papers", False),
    ("repositories", "SELECT count(*) FROM repos WHERE source = :source", "repos", True),
    ("leaderboard results", "SELECT count(*) FROM paper_results WHERE source = :source", "paper_results", True),
    ("paper-code links", "SELECT count(*) FROM paper_repos WHERE source = :source", "paper_repos", True),
)


async def _what_it_holds(datasette, database: str, source: str, rows) -> list[dict]:
    """What a source that lists no models wrote: arXiv's papers, GitHub's repositories, Papers with
    Code's results and links; each with its count and a link to its table."""
    out = []
    for what, sql, table, by_source in HOLDINGS:
        found = await rows(f"what {source} holds", sql, {"source": source})
        if found and found[0][0]:
            href = datasette.urls.table(database, table) + ("?" + urlencode({"source": source}) if by_source else "")
            out.append({"what": what, "count": found[0][0], "href": href})
    return out


# ---------------------------------------------------------------------- routes: css, chart
async def css_view(datasette, request):
    return Response(CSS, content_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=3600"})


async def chart_view(datasette, request):
    """ImageNet-1K top-1 against size (MB, log scale) for the classifiers under max_mb, one dot
    per model; open = 1 keeps open licenses only. The defaults are the table's it draws
    (best_top1_under_size: 100 MB, every license). Server-rendered SVG: no JavaScript, no network."""
    name = request.args.get("db") or next(iter(sorted(catalogs(datasette))), None)
    if not is_catalog(datasette, name):
        return Response.html("<p>No modelcat catalog is served here.</p>", status=404)
    try:
        max_mb = float(request.args.get("max_mb") or 100)  # the defaults of best_top1_under_size, which it draws
    except ValueError:
        max_mb = math.nan
    if not (math.isfinite(max_mb) and 0 < max_mb <= MAX_CHART_MB):
        return await error_page(datasette, request, 400, "Not a size",
                                f"max_mb must be a number of megabytes above 0 and at most {MAX_CHART_MB:,}, "
                                "for example ?max_mb=100.")
    open_arg = (request.args.get("open") or "0").lower()
    if open_arg not in TRUTHY | FALSY:
        return await error_page(datasette, request, 400, "Not a choice",
                                "open must be 1 (open licenses only) or 0 (every license, the default).")
    open_only = open_arg in TRUTHY
    db = datasette.get_database(name)
    try:
        rows = [dict(r) for r in (await db.execute(
            "SELECT m.id, m.entity_id, m.license_family, m.size_bytes, max(x.value) AS top1 "
            "FROM models m JOIN metrics x ON x.model_id = m.id "
            "WHERE m.removed_at IS NULL AND m.is_test = 0 AND x.dataset_id = 'imagenet-1k' AND x.metric = 'top1' "
            "AND m.size_bytes > 0 AND m.size_bytes < ? AND (m.is_open = 1 OR ?) "
            "GROUP BY m.id ORDER BY m.id", [int(max_mb * 1e6), 0 if open_only else 1])).rows]
    except QueryInterrupted:
        return await too_slow_page(
            datasette, request, "the chart's models (every classifier with an ImageNet top-1 under the size)",
            f"ask for fewer models: a smaller size (max_mb={max_mb / 10:g})"
            + (", or open licenses only (open=1)" if not open_only else "")
            + f", or ask the table <a href=\"{html.escape(datasette.urls.database(name))}/best_top1_under_size\">"
              "best top-1 under a size</a>, which stops at its first page")
    points, seen = [], set()
    for r in rows:  # one dot per entity (timm:x and hf:timm/x are the same weights)
        if r["entity_id"] in seen:
            continue
        seen.add(r["entity_id"])
        points.append(r)
    svg = scatter_svg(points, lambda ident: _row_url(datasette, name, ident))
    query = urlencode({"max_mb": request.args.get("max_mb") or "", "open": "1" if open_only else "0"})
    return Response.html(await datasette.render_template("modelcat_chart.html", {
        "svg": markupsafe.Markup(svg), "n": len(points), "max_mb": max_mb, "open_only": open_only,
        "database": name, "query": query,
    }, request=request))


RECOMMEND_LIMIT = 20
LICENSE_FAMILIES = ("permissive", "copyleft", "restricted", "non-commercial", "unknown")


def _recommend_args(args) -> dict:
    """`modelcat recommend`'s inputs from the form's query string; ValueError names the field."""
    def number(name, kind, low, default=None):
        raw = (args.get(name) or "").strip()
        if not raw:
            return default
        try:
            value = kind(raw)
        except ValueError:
            raise ValueError(f"{name} must be {'a whole number' if kind is int else 'a number'}, not {raw[:40]!r}")
        if not (math.isfinite(value) and value >= low):
            raise ValueError(f"{name} must be at least {low:g}, not {raw[:40]!r}")
        return value

    domain = (args.get("domain") or "similar").strip()
    if domain not in ("similar", "different"):
        raise ValueError("domain must be similar or different")
    open_arg = (args.get("open") or "0").strip().lower()
    if open_arg not in TRUTHY | FALSY:
        raise ValueError("open must be 1 (open licenses only) or 0 (every license)")
    family = (args.get("license_family") or "").strip() or None
    if family is not None and family not in LICENSE_FAMILIES:
        raise ValueError(f"license_family must be one of {', '.join(LICENSE_FAMILIES)}")
    if family and open_arg in TRUTHY:
        raise ValueError("open and license_family both filter licenses: give one")
    limit = number("limit", int, 1, 5)
    if limit > RECOMMEND_LIMIT:
        raise ValueError(f"limit must be at most {RECOMMEND_LIMIT}")
    samples = number("samples", int, 1)
    if samples is None:
        raise ValueError("samples (how many labelled training samples you have) is needed")
    return {"task": (args.get("task") or "image-classification").strip()[:100], "samples": samples, "domain": domain,
            "num_classes": number("num_classes", int, 1), "gpu_memory": number("gpu_memory", float, 0.01),
            "batch_size": number("batch_size", int, 1, 32), "max_mb": number("max_mb", float, 0.001),
            "open_only": open_arg in TRUTHY, "license_family": family,
            "dataset": (args.get("dataset") or "").strip()[:100] or None, "limit": limit}


async def recommend_view(datasette, request):
    """`modelcat recommend` as a form: the same inputs (but --data: no upload), the same answer
    (indexer.recommend, run in a thread: its first question builds models on the meta device)."""
    import asyncio

    from ..errors import ModelcatError
    from ..recommend import recommend

    name = request.args.get("db") or next(iter(sorted(catalogs(datasette))), None)
    if not is_catalog(datasette, name):
        return Response.html("<p>No modelcat catalog is served here.</p>", status=404)
    form = {k: (request.args.get(k) or "")[:100] for k in (
        "task", "samples", "domain", "num_classes", "gpu_memory", "batch_size", "max_mb", "open",
        "license_family", "dataset", "limit")}
    answer = None
    if request.args.get("samples") is not None:
        try:
            kw = _recommend_args(request.args)
            path = datasette.get_database(name).path
            answer = await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(recommend, db=path, **kw))
        except (ValueError, ModelcatError) as e:
            return await error_page(datasette, request, 400, "Not a question recommend can answer", str(e))
        for c in answer["candidates"]:  # (catalog text: escaped by the template, hidden characters made visible)
            c["url"] = _row_url(datasette, name, c["id"])
            c["id"], c["why"], c["load"] = visible(c["id"]), visible(c["why"]), visible(c["load"])
        for d in answer["dropped"]:
            d["id"], d["why"] = visible(d["id"]), visible(d["why"])
    return Response.html(await datasette.render_template("modelcat_recommend.html", {
        "form": form, "answer": answer, "database": name, "families": LICENSE_FAMILIES,
    }, request=request))


@hookimpl(tryfirst=True)
def handle_exception(datasette, request, exception):
    """A query past the SQL time limit that Datasette did not turn into its own 400 (a table
    page's definition or counts, a plugin hook's query): a 400 that says so and how to narrow it,
    never a 500. Other errors stay Datasette's."""
    # (imported here: datasette.views imports datasette.plugins, which loads this module's entry
    # point; imported at the top, a first import of this module registered half of its hooks)
    from datasette.views.base import DatasetteError

    if not catalogs(datasette):
        return None
    if isinstance(exception, QueryInterrupted):
        limit = datasette.setting("sql_time_limit_ms")
        title = "Too slow to answer"
        message = (f"This page's query took longer than the time limit ({limit:,} ms). To narrow it: "
                   "pick a facet value or add a filter, sort by a column with fewer rows to read, or ask "
                   "for fewer rows (?_size=10).")
    elif isinstance(exception, DatasetteError) and exception.status == 500 and isinstance(exception.message, str) \
            and _BAD_SORT.match(exception.message):
        # Datasette 0.65 answers a bad ?_sort= with a 500
        title = "Not a sort"
        message = (f"{exception.message}: sort by one column whose header is a link on the page "
                   "(?_sort=column or ?_sort_desc=column, not both).")
    elif isinstance(exception, DatasetteError) and exception.status == 500 and request.args.get("sql") is not None:
        # SQLite's OperationalError on the user's own SQL (no such column, a syntax error): a 500 there
        title = "Invalid SQL"
        message = f"{exception.message}. Check the SQL's table and column names against the database page."
    elif isinstance(exception, ValueError) and request.args.get("_next") is not None:
        # Datasette 0.65 reads a view's ?_next= as an offset: a 500 for anything else
        title = "Not a next page"
        message = ("_next must be the token of a page's \"Next page\" link (on this page, a number of rows to "
                   "skip); drop it to start at the first page.")
    else:
        return None

    async def inner():
        if request.path.endswith(".json"):
            return Response.json({"ok": False, "error": message, "status": 400, "title": title}, status=400)
        return await error_page(datasette, request, 400, title, message)

    return inner


_BAD_SORT = re.compile(r"Cannot sort table by |Cannot use _sort and _sort_desc")


MAX_CHART_MB = 1_000_000  # 1 TB: a size no model reaches; above it, the number is a typo
TRUTHY = frozenset({"1", "yes", "true", "on"})
FALSY = frozenset({"0", "no", "false", "off"})


async def error_page(datasette, request, status: int, title: str, message: str) -> Response:
    """Datasette's own error page (its look, its status), with a sentence that names the fix.
    `message` is text; it is escaped here."""
    return Response.html(await datasette.render_template("error.html", {
        "ok": False, "status": status, "title": title, "error": markupsafe.Markup(f"<p>{html.escape(message)}</p>"),
    }, request=request), status=status)


async def too_slow_page(datasette, request, what: str, narrow_html: str) -> Response:
    """A query of the plugin's own pages passed the SQL time limit: a 400 page, as Datasette gives
    for its own interrupted queries, that says what was too slow and how to narrow it.
    `what` is text; `narrow_html` is markup built here (no catalog text in it)."""
    limit = datasette.setting("sql_time_limit_ms")
    return Response.html(await datasette.render_template("error.html", {
        "ok": False, "status": 400, "title": "Too slow to answer",
        "error": markupsafe.Markup(f"<p>Reading {html.escape(what)} took longer than the time limit "
                                   f"({limit:,} ms).</p><p>To narrow it: {narrow_html}.</p>"),
    }, request=request), status=400)


def scatter_svg(points: list[dict], href, width: int = 900, height: int = 520) -> str:
    """An SVG scatter plot: x = size in MB (log scale), y = top-1 (%), colour = license family."""
    colours = {"permissive": "#2e7d32", "copyleft": "#1565c0", "restricted": "#ef6c00",
               "non-commercial": "#c62828", "unknown": "#757575"}
    left, right, top, bottom = 60, 20, 40, 50  # the legend sits above the plot, never on a dot
    if not points:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img">'
                f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">No model matches.</text></svg>')
    sizes = [p["size_bytes"] / 1e6 for p in points]
    accs = [p["top1"] for p in points]
    lo, hi = math.log10(min(sizes)), math.log10(max(sizes))
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    alo, ahi = math.floor(min(accs) / 5) * 5, math.ceil(max(accs) / 5) * 5
    if ahi == alo:
        ahi = alo + 5

    def x(mb):
        return left + (math.log10(mb) - lo) / (hi - lo) * (width - left - right)

    def y(acc):
        return top + (ahi - acc) / (ahi - alo) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="ImageNet top-1 against size">']
    for tick in range(math.floor(lo), math.ceil(hi) + 1):
        for mult in (1, 2, 5):
            mb = mult * 10 ** tick
            if 10 ** lo <= mb <= 10 ** hi:
                parts.append(f'<line x1="{x(mb):.1f}" x2="{x(mb):.1f}" y1="{top}" y2="{height - bottom}" stroke="#eee"/>'
                             f'<text x="{x(mb):.1f}" y="{height - bottom + 15}" text-anchor="middle">{mb:g}</text>')
    for acc in range(int(alo), int(ahi) + 1, 5):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(acc):.1f}" y2="{y(acc):.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{y(acc) + 4:.1f}" text-anchor="end">{acc}</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle">size (MB, log scale)</text>'
                 f'<text transform="translate(14 {(top + height - bottom) / 2}) rotate(-90)" text-anchor="middle">'
                 f'ImageNet-1K top-1 (%)</text>')
    for p in points:
        mb = p["size_bytes"] / 1e6
        colour = colours.get(p["license_family"], colours["unknown"])
        label = html.escape(f'{p["id"]}: {p["top1"]:.2f}% top-1, {mb:.1f} MB, {p["license_family"]}')
        parts.append(f'<a href="{html.escape(href(p["id"]), quote=True)}"><circle class="mc-dot" cx="{x(mb):.1f}" '
                     f'cy="{y(p["top1"]):.1f}" r="4" fill="{colour}"><title>{label}</title></circle></a>')
    legend_x = left + 10
    for i, (family, colour) in enumerate(colours.items()):
        parts.append(f'<circle class="mc-legend" cx="{legend_x + i * 120}" cy="{top - 22}" r="5" fill="{colour}"/>'
                     f'<text x="{legend_x + i * 120 + 9}" y="{top - 18}">{family}</text>')
    parts.append("</svg>")
    return "".join(parts)


@hookimpl
def register_routes():
    return [
        (r"^/-/modelcat/modelcat\.css$", css_view),
        (r"^/-/modelcat/chart$", chart_view),
        (r"^/-/modelcat/recommend$", recommend_view),
    ]


@hookimpl
def menu_links(datasette):
    if catalogs(datasette):
        return [{"href": datasette.urls.path("/-/modelcat/chart"), "label": "Chart: accuracy against size"},
                {"href": datasette.urls.path("/-/modelcat/recommend"), "label": "Recommend: a model for your data"}]
    return []


def _register_whole() -> None:
    """Imported before Datasette has loaded its plugins (`from indexer.datasette_plugin import
    ...` first), this module's own import of datasette.handle_exception loads them, entry points
    included: this module is then registered while half-defined, with only the hooks above that
    line. Registered again here, whole; otherwise nothing to do."""
    import sys

    from datasette.plugins import pm

    me = sys.modules[__name__]
    if pm.is_registered(me) and not any(i.plugin is me for i in pm.hook.render_cell.get_hookimpls()):
        name = pm.get_name(me)
        pm.unregister(me)
        pm.register(me, name=name)


_register_whole()
