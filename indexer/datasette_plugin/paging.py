"""A stored query's HTML page renders only the answers it shows.

Datasette renders every row a stored query returns (up to max_returned_rows, 1,000) into the page's
cells, through every plugin's render_cell, while our query.html shows 100 of them a page
(`?_page=2`): on 1M models the seed question's page took 86 ms, 70 of them rendering rows nobody
sees. For the HTML page of a stored query, the asgi wrapper notes which page is asked for
(`begin`); the catalog's Database (counted.CatalogDatabase) runs the query as Datasette asks, keeps
the number of answers and hands Datasette only the page's rows (`keep_page`); the template reads
the number and the page from `shown()`. JSON, CSV and SQL typed by hand are left alone.
"""

from __future__ import annotations

import contextvars
from urllib.parse import parse_qsl, unquote

PAGE_SIZE = 100

# the stored query page this request asks for: {"sql", "page"}; then, once run, "total" and "first"
_SHOWN: contextvars.ContextVar[dict | None] = contextvars.ContextVar("modelcat_stored_query_page", default=None)


def stored_query_page(datasette, scope, catalogs: set[str]) -> dict | None:
    """{"sql", "page"} when the request is for the HTML page of a stored query of one of these
    catalogs (database names)."""
    if scope.get("type") != "http" or scope.get("method", "GET") not in ("GET", "HEAD"):
        return None
    parts = unquote(scope.get("path") or "").strip("/").split("/")
    if len(parts) != 2 or parts[0] not in catalogs or "." in parts[1]:
        return None  # not /<catalog>/<name>: a .json / .csv answer carries every row
    query = (datasette.metadata("queries", database=parts[0]) or {}).get(parts[1])
    if not isinstance(query, dict) or not query.get("sql") or query.get("write"):
        return None
    args = parse_qsl((scope.get("query_string") or b"").decode("utf-8", "replace"), keep_blank_values=True)
    if any(k in ("_format", "_shape", "_json", "_stream") for k, _ in args):
        return None
    try:
        page = int(dict(args).get("_page") or 1)
    except ValueError:
        page = 1
    return {"sql": query["sql"], "page": page}


def begin(state: dict | None) -> contextvars.Token:
    return _SHOWN.set(state)


def end(token: contextvars.Token) -> None:
    _SHOWN.reset(token)


def shown() -> dict | None:
    """This request's stored query page, once its query has run: total, page, first."""
    state = _SHOWN.get()
    return state if state is not None and "total" in state else None


def wants_page(sql: str, kw: dict) -> bool:
    """Is this the stored query's own run (Datasette's, with truncate) on the page being shown?"""
    state = _SHOWN.get()
    return state is not None and "total" not in state and bool(kw.get("truncate")) and sql == state["sql"]


def keep_page(results):
    """The answers of the page asked for (a page past the end: the last); the rest are counted."""
    state = _SHOWN.get()
    total = len(results.rows)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(state["page"], 1), pages)
    first = (page - 1) * PAGE_SIZE
    state.update(total=total, page=page, first=first, truncated=bool(results.truncated))
    results.rows = results.rows[first:first + PAGE_SIZE]
    return results
