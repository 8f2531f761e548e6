"""A searched page's count and facets from one pass over its rows.

A search (`?_search=ravi`) matches rows no count the store keeps can stand for, so Datasette reads
them: once for the page's count of its rows, once for the counted facets (counted.CountedFacet, one
grouped pass for all of them) and once for the datasets facet (ListFacet). On 2.3M models `ravi`
matches 29,000 rows, and each of those passes looked up every one of them (85, 117 and 97 ms: the
crawl's slowest page). Here the first of them to run reads the rows once, grouped by every column
a facet of the table can ask for (the table's counted columns and its list columns), and the
request keeps the groups (a few hundred): the count is their sum, each facet their tally.

Per request only (a context variable the asgi wrapper sets, as paging.py does): nothing is kept
between requests, so a refresh is seen by the next page. Pages without a search, and the queries
of JSON or CSV answers that run one alone, are left as they were."""

from __future__ import annotations

import asyncio
import contextvars
import json
import re

from datasette.utils import escape_sqlite

from ..store.facets import FACET_COLUMNS

# the columns a table's tally groups by: its counted columns, then the columns that hold a JSON list
# (ListFacet: each value at most once per row)
TALLIED = {
    "model_summary": (FACET_COLUMNS, ("datasets",)),
    "models": (FACET_COLUMNS, ()),
}

# `from <table> where <clauses>` of a query Datasette writes for a table page: its count
# (`select count(*) from ...`) and its facets' rows (`select <columns> from ...`)
_FROM = re.compile(r"select (?:count\(\*\)|.+?) (from \[?(\w+)\]? where (.+))", re.S)
# Datasette's clause for a page's search box (`?_search=`)
_SEARCHED = re.compile(r"\b\w+ in \(select rowid from \w+_fts where \w+_fts match ")

_MEMO: contextvars.ContextVar[dict | None] = contextvars.ContextVar("modelcat_tally", default=None)


def begin() -> contextvars.Token:
    return _MEMO.set({})


def end(token: contextvars.Token) -> None:
    _MEMO.reset(token)


def tallied(sql: str) -> tuple[str, str] | None:
    """(the table, its `from ... where ...`) of a searched page's query whose rows a tally counts,
    within a request; None for any other query."""
    if _MEMO.get() is None or not isinstance(sql, str):
        return None
    found = _FROM.fullmatch(sql.strip())
    if found is None or found[2] not in TALLIED or not _SEARCHED.search(found[3]):
        return None
    return found[2], found[1].strip()


def params_key(params):
    """A query's parameters as a key: named ones in name order, others as written."""
    if isinstance(params, dict):
        return tuple(sorted((str(k), repr(v)) for k, v in params.items()))
    return repr(params)


async def groups(db, table: str, source: str, params, time_limit_ms: int | None) -> list[tuple]:
    """The page's rows grouped by every tallied column of its table: (values..., n), read once per
    request (the first caller's time limit; QueryInterrupted, for every caller, past it)."""
    memo = _MEMO.get()
    key = (db.name, source, params_key(params))
    if key not in memo:
        memo[key] = asyncio.ensure_future(_read(db, table, source, params, time_limit_ms))
    return await asyncio.shield(memo[key])


async def _read(db, table: str, source: str, params, time_limit_ms: int | None) -> list[tuple]:
    columns, lists = TALLIED[table]
    cols = ", ".join(escape_sqlite(c) for c in (*columns, *lists))
    sql = f"select {cols}, count(*) {source} group by {cols}"
    kw = {"custom_time_limit": time_limit_ms} if time_limit_ms else {}
    return [tuple(r) for r in (await db.execute(sql, params, truncate=False, **kw)).rows]


def total(rows: list[tuple]) -> int:
    return sum(r[-1] for r in rows)


def column_counts(table: str, rows: list[tuple], column: str) -> dict:
    """{value: rows} of one tallied column (None left out); a list column counts each item."""
    columns, lists = TALLIED[table]
    tally: dict = {}
    if column in columns:
        i = columns.index(column)
        for r in rows:
            if r[i] is not None:
                tally[r[i]] = tally.get(r[i], 0) + r[-1]
        return tally
    i = len(columns) + lists.index(column)
    for r in rows:
        try:
            items = json.loads(r[i]) if r[i] else []
        except (TypeError, ValueError):
            items = []
        for item in items if isinstance(items, list) else []:
            if item is not None:
                tally[item] = tally.get(item, 0) + r[-1]
    return tally


def ordered(tally: dict) -> list[tuple]:
    """(value, count) as SQLite orders a facet: count, then numbers before text, then value."""
    return sorted(tally.items(), key=lambda kv: (-kv[1], isinstance(kv[0], str), kv[0]))


def covers(table: str | None, columns) -> bool:
    found = TALLIED.get(table or "")
    return found is not None and all(c in found[0] or c in found[1] for c in columns)
