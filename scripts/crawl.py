#!/usr/bin/env python
"""The page crawl: every page a user reaches in the served catalog, fetched over HTTP from
`modelcat serve`, timed, and checked whole (issue #29; `scripts/bench.py crawl` runs it).

    .venv/bin/python scripts/bench.py crawl --models 300000       # build (or reuse) a catalog, crawl it
    .venv/bin/python scripts/bench.py crawl --db catalog.db       # crawl a catalog you have
    .venv/bin/python scripts/bench.py crawl --url http://127.0.0.1:8001   # a server already running
    .venv/bin/python scripts/bench.py crawl --models 3000 --smoke # CI: one timed request a page

The catalog (--models N): N synthetic Hub models (tests/replay/synth.py) served by the project's
Hub replay, plus timm and torchvision, written by the real `modelcat refresh` in its own process.
Built catalogs are cached outside the repository (--cache-dir, default ~/.cache/modelcat-bench),
keyed by N and the schema version (the migrations and views), so a second crawl starts at once.

The pages, as a user reaches them:
- the home page (level 0), every same-host `<a href>` on it (level 1), every same-host link on
  those (level 2);
- what Datasette's JavaScript and forms make, which a link crawl misses, on every table and view
  page without a query string (its own page, wherever it was found): the column menu's "Sort
  ascending" and "Sort descending" (datasette/static/table.js, on every column whose header is a
  link, i.e. every column Datasette lets you sort by), the next page (`_next`), a click on the first
  value of every facet, a full-text search where the page has a search box, and one row page per
  table;
- every table, view and stored query the database page lists (the stored queries with their
  default parameters), and the plugin's pages (home, chart), wherever the links did not reach them.
Left out: static assets, other hosts, fragments, and the JSON/CSV export links (the JSON of every
table and view page is fetched anyway, for the facet check).

Each page: 1 warm-up request, then --reps timed requests (1 for a page that is already broken, or
slower than --slow-s, on its warm-up: its p50 is over every goal either way); the JSON of table and
view pages is fetched once, for the facet check (not for a page already broken). A page is broken when
any request answers HTTP 400 or more, says a SQL time limit was hit, says "These facets timed
out", is HTML over 2 MB, or when its JSON (table and view pages) lacks a default facet the served
metadata declares: Datasette 0.65's JSON silently leaves out a facet that timed out.

Output: a markdown table (broken pages first, then the slowest), a JSON file (--json), progress on
stderr (pages done of pages found, elapsed). --budget-s stops the crawl at that many seconds and
lists the pages it did not reach. Exits 1 while any page is broken, 2 when the budget cut it short.
Nothing in the crawl itself imports modelcat (only Datasette's tilde encoding of row keys): it reads
what the server serves (/-/metadata.json, /-/databases.json, /<db>.json and the pages).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit

from datasette.utils import tilde_decode, tilde_encode  # the encoding Datasette's own links use

ROOT = Path(__file__).resolve().parent.parent

PAGE_GOAL_MS = 200
HOME_GOAL_MS = 100
SEED_GOAL_MS = 20
SEED_QUERY = "open_classifiers"  # the seed question: "an open-license ImageNet classifier under 100 MB"
MAX_HTML_BYTES = 2_000_000  # 2 MB (10^6 bytes, as the catalog counts MB)
LEVELS = 2
# Row pages of one table run the same queries (the row, its links from other tables); the pages of
# a Hub-size catalog link tens of thousands of them. The crawl takes the first ROW_PAGES of each
# table it finds (--row-pages; 0 = all) and counts the rest in the report.
ROW_PAGES = 20
PLUGIN_PAGES = ("/-/modelcat/chart",)  # the plugin's own pages, with their default parameters

STATIC_PREFIXES = ("/-/static/", "/-/static-plugins/")
STATIC_SUFFIXES = (".css", ".js", ".mjs", ".map", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp",
                   ".woff", ".woff2", ".ttf")
# Datasette's export links: its renderers (.json, plus any a plugin adds), CSV, the database file.
# Datasette tilde-encodes a '.' in a table name or a key (~2E), so a dot suffix is always a format.
EXPORT_SUFFIXES = (".json", ".csv", ".tsv", ".db", ".sqlite", ".sqlite3")
EXPORT_ARGS = ("_format", "_dl", "_stream")

TIME_LIMIT_PHRASES = ("SQL query took too long", "SQL Interrupted", "query was interrupted",
                      "Query interrupted", "took longer than the time limit")  # the last: modelcat's pages
_FACETS_TIMED_OUT = re.compile(rb'<p class="facets-timed-out">\s*These facets timed out:\s*([^<]*)</p>')
# the words that say a query was interrupted, outside the catalog's own data (cells, the SQL shown)
_INTERRUPTED = re.compile(r"\binterrupted\b|took too long", re.I)
_DATA = re.compile(r"<(td|textarea|script|pre|code)\b.*?</\1>", re.I | re.S)


# ----------------------------------------------------------------------------- URLs
def normalize(href: str, page_url: str, base: str) -> str | None:
    """The same-host page a link points to, as path?query (no fragment), or None (another host,
    another scheme, an empty or fragment-only link)."""
    href = (href or "").strip()
    if not href or href.startswith("#"):
        return None
    absolute = urljoin(urljoin(base, page_url), href)
    parts, home = urlsplit(absolute), urlsplit(base)
    if parts.scheme not in ("http", "https") or (parts.scheme, parts.netloc.lower()) != (home.scheme, home.netloc.lower()):
        return None
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def url_key(url: str) -> tuple:
    """One key per page: the path (percent-decoded) and the query's parameters in any order."""
    parts = urlsplit(url)
    return unquote(parts.path or "/"), tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


def skip_reason(url: str) -> str | None:
    """Why a same-host link is not a page to crawl (None: it is one)."""
    parts = urlsplit(url)
    path = parts.path.lower()
    if path.startswith(STATIC_PREFIXES) or path.endswith(STATIC_SUFFIXES) or "favicon" in path:
        return "static asset"
    if path.endswith(EXPORT_SUFFIXES) or any(k in EXPORT_ARGS for k, _ in parse_qsl(parts.query)):
        return "export"
    return None


def with_params(url: str, set_: dict[str, str] | None = None, delete: tuple[str, ...] = ()) -> str:
    """URLSearchParams' set() and delete() on the URL's query, as table.js does them: set replaces
    the first value in place (dropping the others) or appends; an empty query leaves the path."""
    parts = urlsplit(url)
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in delete]
    for key, value in (set_ or {}).items():
        at = next((i for i, (k, _) in enumerate(params) if k == key), None)
        params = [(k, v) for i, (k, v) in enumerate(params) if k != key or i == at]
        if at is None:
            params.append((key, value))
        else:
            params[at] = (key, value)
    query = urlencode(params)
    return parts.path + (f"?{query}" if query else "")


def first_param(url: str, key: str) -> str | None:
    return next((v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k == key), None)


def json_url(url: str) -> str:
    """A table page's JSON (Datasette 0.65: /db/table.json with the same query string)."""
    parts = urlsplit(url)
    return parts.path.rstrip("/") + ".json" + (f"?{parts.query}" if parts.query else "")


def sort_menu_urls(page_url: str, columns: list[str]) -> list[str]:
    """The "Sort ascending" / "Sort descending" links of Datasette 0.65's column menu
    (static/table.js sortAscUrl, sortDescUrl): each hidden where the page already sorts so."""
    out = []
    for column in columns:
        if first_param(page_url, "_sort") != column:
            out.append(with_params(page_url, {"_sort": column}, delete=("_sort_desc", "_next")))
        if first_param(page_url, "_sort_desc") != column:
            out.append(with_params(page_url, {"_sort_desc": column}, delete=("_sort", "_next")))
    return out


# ----------------------------------------------------------------------------- HTML
class PageParser(HTMLParser):
    """What the crawl reads off a page: its links, the columns whose header cell in Datasette's
    rows table holds a link (table.js adds the column menu's sorts to exactly those; Datasette
    links a header only when the column is sortable, sortable_columns metadata included), and
    whether it has a full-text search box."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.sortable: list[str] = []
        self.search_box = False
        self._rows_table = 0  # depth inside <table class="rows-and-columns">
        self._th: str | None = None
        self._th_link = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a":
            if a.get("href"):
                self.links.append(a["href"])
            if self._th is not None:
                self._th_link = True
        elif tag == "table":
            if self._rows_table:
                self._rows_table += 1
            elif "rows-and-columns" in (a.get("class") or "").split():
                self._rows_table = 1
        elif tag == "th" and self._rows_table and a.get("data-column"):
            self._th, self._th_link = a["data-column"], False
        elif tag == "input" and a.get("name") == "_search":
            self.search_box = True

    def handle_endtag(self, tag):
        if tag == "th" and self._th is not None:
            if self._th_link and self._th not in self.sortable:
                self.sortable.append(self._th)
            self._th = None
        elif tag == "table" and self._rows_table:
            self._rows_table -= 1


def parse_page(html: str) -> PageParser:
    p = PageParser()
    p.feed(html)
    p.close()
    return p


def body_problems(status: int, body: bytes, content_type: str) -> list[str]:
    """What makes one answer broken, read off the answer itself."""
    problems = []
    if status == 0:
        problems.append(body.decode("utf-8", "replace")[:200] or "no answer")
    elif status >= 400:
        problems.append(f"HTTP {status}")
    html = "html" in (content_type or "")
    if any(p.encode() in body for p in TIME_LIMIT_PHRASES):
        problems.append("SQL time limit")
    elif html and _INTERRUPTED.search(_DATA.sub("", body.decode("utf-8", "replace"))):
        problems.append("SQL time limit")
    m = _FACETS_TIMED_OUT.search(body)
    if m:
        problems.append(f"facets timed out: {m.group(1).decode('utf-8', 'replace').strip()}")
    if html and len(body) > MAX_HTML_BYTES:
        problems.append(f"HTML {len(body) / 1e6:.1f} MB (> {MAX_HTML_BYTES / 1e6:.0f} MB)")
    return problems


# ----------------------------------------------------------------------------- facets
def facet_name(facet) -> str:
    """A facet as metadata declares it: a column name, or {type: column} ({"array": "datasets"});
    Datasette names its result after the column."""
    if isinstance(facet, str):
        return facet
    if isinstance(facet, dict) and facet:
        return str(next(iter(facet.values())))
    return str(facet)


def table_config(metadata: dict, database: str | None, table: str | None) -> dict:
    return ((((metadata.get("databases") or {}).get(database or "") or {}).get("tables") or {}).get(table or "")
            or {})


def default_facets(metadata: dict, database: str, table: str) -> list[str]:
    return [facet_name(f) for f in table_config(metadata, database, table).get("facets") or []]


def expected_facets(metadata: dict, database: str, table: str, url: str) -> list[str]:
    """The facets a table page must answer: the metadata's defaults and any the URL asks for
    (?_facet=, ?_facet_array=, ?_facet_date=...), unless it asks for none (?_nofacet=1)."""
    if first_param(url, "_nofacet"):
        return []
    wanted = default_facets(metadata, database, table)
    for k, v in parse_qsl(urlsplit(url).query):
        if k in FACET_ARGS and v not in wanted:
            wanted.append(v)
    return wanted


# the query arguments that ask for a facet (Datasette 0.65's column, array and date facets, and
# modelcat's list facet; _facet_size is not one)
FACET_ARGS = ("_facet", "_facet_array", "_facet_date", "_facet_list")


def missing_facets(data: dict, wanted: list[str]) -> list[str]:
    got = set(data.get("facet_results") or {})
    return [f for f in wanted if f not in got]


def facet_clicks(data: dict) -> list[str]:
    """A click on the first value of every facet the JSON answered (its toggle_url), as a user
    narrows a page."""
    out = []
    for result in (data.get("facet_results") or {}).values():
        for value in result.get("results") or []:
            if value.get("toggle_url") and not value.get("selected"):
                out.append(value["toggle_url"])
                break
    return out


# ----------------------------------------------------------------------------- the site
@dataclass
class Site:
    """What the server says it serves: databases and, in each, tables, views and stored queries."""
    metadata: dict
    databases: dict[str, dict] = field(default_factory=dict)  # route -> {name, tables, views, queries, hidden}

    def classify(self, url: str) -> tuple[str, str | None, str | None]:
        """(kind, database, table or query) for a page: home, database, sql, table, view, query,
        row, or page (a plugin's or Datasette's own)."""
        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        if not segments:
            return "home", None, None
        db = self.databases.get(unquote(segments[0]))
        if db is None:
            return "page", None, None
        if len(segments) == 1:
            return ("sql" if first_param(url, "sql") is not None else "database"), db["name"], None
        name = tilde_decode(unquote(segments[1]))
        if name in db["tables"] or name in db["views"]:
            kind = "table" if name in db["tables"] else "view"
            return (kind if len(segments) == 2 else "row"), db["name"], name
        if name in db["queries"]:
            return "query", db["name"], name
        return "page", db["name"], None


def goal_ms(url: str, kind: str, name: str | None) -> int:
    if kind == "home":
        return HOME_GOAL_MS
    if kind == "query" and name == SEED_QUERY and not urlsplit(url).query:
        return SEED_GOAL_MS
    return PAGE_GOAL_MS


@dataclass
class Page:
    url: str
    level: int
    found_by: str  # "start", "link", "sort menu", "next page", "facet click", "search box", "row page", "listed"
    kind: str = ""
    status: int = 0
    bytes: int = 0
    times: list[float] = field(default_factory=list)  # seconds, the timed requests
    warmup: float = 0.0
    problems: list[str] = field(default_factory=list)
    goal_ms: int = PAGE_GOAL_MS
    final_url: str = ""
    visited: bool = False

    @property
    def p50_ms(self) -> float:
        return percentile(self.times, 0.5) * 1000 if self.times else float("nan")

    @property
    def p95_ms(self) -> float:
        return percentile(self.times, 0.95) * 1000 if self.times else float("nan")

    @property
    def broken(self) -> bool:
        return bool(self.problems)

    @property
    def over_goal(self) -> bool:
        return not self.times or self.p50_ms >= self.goal_ms


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


@dataclass
class Report:
    base: str
    pages: list[Page]  # visited
    not_reached: list[Page]  # found, not visited (the budget ran out)
    skipped: dict[str, int]
    seconds: float
    reps: int
    slow_s: float
    budget_s: float | None = None
    catalog: str = ""
    models: int = 0

    @property
    def broken(self) -> list[Page]:
        return [p for p in self.pages if p.broken]

    @property
    def slow(self) -> list[Page]:
        return [p for p in self.pages if p.over_goal]

    def ordered(self) -> list[Page]:
        """Broken pages first, then the slowest (p50) first."""
        return sorted(self.pages, key=lambda p: (not p.broken, -(p.p50_ms if p.times else float("inf"))))


# ----------------------------------------------------------------------------- the crawl
def search_words(row: dict) -> list[str]:
    """Words to search for, from a page's first row: its name or title first, then its other text."""
    keys = sorted(row, key=lambda k: (k not in ("name", "title", "full_name"), list(row).index(k)))
    words: list[str] = []
    for k in keys:
        if isinstance(row[k], str) and not row[k].startswith(("http://", "https://")):
            for w in re.findall(r"[A-Za-z][A-Za-z0-9]{2,}", row[k]):
                if w.lower() not in (x.lower() for x in words):
                    words.append(w)
    return words


def row_path(page_url: str, data: dict) -> str | None:
    """The row page of a table page's first row (Datasette: /db/table/pk1,pk2, tilde-encoded)."""
    rows, columns, pks = data.get("rows") or [], data.get("columns") or [], data.get("primary_keys") or []
    if not rows:
        return None
    row = dict(zip(columns, rows[0])) if isinstance(rows[0], list) else rows[0]
    if pks:
        if any(row.get(k) is None for k in pks):
            return None
        key = ",".join(tilde_encode(str(row[k])) for k in pks)
    elif row.get("rowid") is not None:
        key = str(row["rowid"])
    else:
        return None
    return urlsplit(page_url).path.rstrip("/") + "/" + key


class Crawler:
    def __init__(self, base: str, reps: int = 3, slow_s: float = 1.0, budget_s: float | None = None,
                 progress=None, timeout_s: float = 120, row_pages: int | None = ROW_PAGES):
        import httpx

        self.base = base.rstrip("/")
        self.reps, self.slow_s, self.budget_s, self.row_pages = reps, slow_s, budget_s, row_pages
        self.client = httpx.Client(base_url=self.base, follow_redirects=True, timeout=timeout_s)
        self.progress = progress or (lambda msg: None)
        self.site = self._site()

    def _site(self) -> Site:
        site = Site(metadata=self.client.get("/-/metadata.json").json())
        for db in self.client.get("/-/databases.json").json():
            route = db.get("route") or db["name"]
            info = self.client.get(f"/{quote(route)}.json").json()
            tables = info.get("tables") or []
            site.databases[route] = {
                "name": db["name"], "route": route,
                "tables": {t["name"] for t in tables},
                "hidden": {t["name"] for t in tables if t.get("hidden")},
                "views": {v["name"] if isinstance(v, dict) else v for v in info.get("views") or []},
                "queries": {q["name"] for q in info.get("queries") or []},
            }
        return site

    def get(self, url: str):
        """(the answer, seconds). No answer at all (a timeout, a reset, the server gone) is an
        answer too: status 0 with the error as its body, so the page is broken, not the crawl."""
        import httpx

        t = time.perf_counter()
        try:
            r = self.client.get(url)
        except httpx.HTTPError as e:
            r = httpx.Response(0, text=f"no answer: {type(e).__name__}: {e}", request=httpx.Request("GET", url))
        return r, time.perf_counter() - t

    def visit(self, page: Page) -> tuple[PageParser | None, dict | None]:
        """Fetch, check and time one page; returns its parsed HTML and (table and view pages)
        its JSON."""
        page.visited = True
        page.kind, db, name = self.site.classify(page.url)
        page.goal_ms = goal_ms(page.url, page.kind, name)
        problems: dict[str, int] = {}

        def check(r) -> None:
            for p in body_problems(r.status_code, r.content, r.headers.get("content-type", "")):
                problems[p] = problems.get(p, 0) + 1

        r, page.warmup = self.get(page.url)
        check(r)
        page.status, page.bytes, page.final_url = r.status_code, len(r.content), str(r.url)
        parsed = parse_page(r.text) if "html" in r.headers.get("content-type", "") else None
        n = self.reps
        if problems or page.warmup > self.slow_s:
            n = min(n, 1)
        for _ in range(n):
            r, seconds = self.get(page.url)
            page.times.append(seconds)
            check(r)
            if r.status_code != 200:
                page.status = r.status_code
        data = None
        json_problems = []
        base = not urlsplit(page.url).query  # a table's own page: its JSON also says what to click
        if page.kind in ("table", "view") and (base or not problems):  # (a broken page is broken)
            j, _ = self.get(json_url(page.url))
            if j.status_code != 200:
                json_problems.append(f"JSON: HTTP {j.status_code}")
            else:
                data = j.json()
                missing = missing_facets(data, expected_facets(self.site.metadata, db, name, page.url))
                if missing:
                    json_problems.append(f"facets missing from the JSON: {', '.join(missing)}")
        total = 1 + n
        page.problems = [p if k == total else f"{p} ({k} of {total} requests)" for p, k in problems.items()]
        page.problems += json_problems
        return parsed, data

    def search_url(self, page: Page, data: dict) -> str | None:
        """One full-text search on a page with a search box, for a word of its first row that
        finds rows (the first word when none does)."""
        rows, columns = data.get("rows") or [], data.get("columns") or []
        first = (dict(zip(columns, rows[0])) if isinstance(rows[0], list) else rows[0]) if rows else {}
        words = search_words(first) or ["resnet"]
        for w in words[:5]:
            url = with_params(page.url, {"_search": w}, delete=("_next",))
            probe = with_params(json_url(url), {"_size": "1", "_nofacet": "1", "_nocount": "1"})
            r, _ = self.get(probe)
            if r.status_code == 200 and r.json().get("rows"):
                return url
        return with_params(page.url, {"_search": words[0]}, delete=("_next",))

    def listed_pages(self) -> list[str]:
        """Every table (not hidden), view and stored query of every database, and the plugin's
        pages: what a user reaches from the database page or the menu."""
        out = []
        for route, db in self.site.databases.items():
            out.append(f"/{quote(route)}")
            for name in sorted((db["tables"] - db["hidden"]) | db["views"] | db["queries"]):
                out.append(f"/{quote(route)}/{tilde_encode(name)}")
        return out + list(PLUGIN_PAGES)

    def crawl(self) -> Report:
        started = time.perf_counter()
        seen: dict[tuple, Page] = {}
        order: list[Page] = []
        skipped: dict[str, int] = {}
        rows_taken: dict[tuple, int] = {}  # row pages taken per table
        sampled_out: set[tuple] = set()  # row pages past the sample

        def add(url: str | None, level: int, found_by: str) -> None:
            if url is None:
                return
            why = skip_reason(url)
            if why:
                skipped[why] = skipped.get(why, 0) + 1
                return
            key = url_key(url)
            if key in seen or key in sampled_out:
                return
            kind, db, name = self.site.classify(url)
            if kind == "row" and self.row_pages is not None:
                if rows_taken.get((db, name), 0) >= self.row_pages:
                    sampled_out.add(key)
                    return
                rows_taken[(db, name)] = rows_taken.get((db, name), 0) + 1
            seen[key] = Page(url, level, found_by)
            order.append(seen[key])

        add("/", 0, "start")
        listed = False
        i = 0
        while i < len(order) or not listed:
            if i == len(order):  # the links are exhausted: what the database page and menu list
                listed = True
                for url in self.listed_pages():
                    add(url, LEVELS, "listed")
                continue
            page = order[i]
            i += 1
            elapsed = time.perf_counter() - started
            if self.budget_s is not None and elapsed > self.budget_s:
                break
            parsed, data = self.visit(page)
            self.progress(f"[{i}/{len(order)} pages, {elapsed:,.0f} s] L{page.level} {page.url[:110]} "
                          f"{page.status} {page.p50_ms:,.0f} ms{' BROKEN: ' + '; '.join(page.problems) if page.problems else ''}")
            if parsed is None:
                continue
            here = page.final_url or page.url
            if page.level < LEVELS and page.found_by in ("start", "link"):
                for href in parsed.links:
                    if href.startswith(("#", "mailto:", "javascript:")):
                        continue
                    url = normalize(href, here, self.base + "/")
                    if url is None:
                        skipped["other host"] = skipped.get("other host", 0) + 1
                    add(url, page.level + 1, "link")
            if page.kind in ("table", "view") and not urlsplit(page.url).query and data is not None:
                below = page.level + 1
                _, db, name = self.site.classify(page.url)
                for url in sort_menu_urls(page.url, self._sortable(db, name, parsed.sortable)):
                    add(url, below, "sort menu")
                if data.get("next_url"):
                    add(normalize(data["next_url"], here, self.base + "/"), below, "next page")
                for url in facet_clicks(data):
                    add(normalize(url, here, self.base + "/"), below, "facet click")
                if parsed.search_box:
                    add(self.search_url(page, data), below, "search box")
                if page.kind == "table":
                    add(row_path(page.url, data), below, "row page")
        if sampled_out:
            skipped[f"row pages past the first {self.row_pages} of their table"] = len(sampled_out)
        visited = [p for p in order if p.visited]
        return Report(self.base, visited, [p for p in order if not p.visited], skipped,
                      time.perf_counter() - started, self.reps, self.slow_s, self.budget_s)

    def _sortable(self, db: str | None, name: str | None, columns: list[str]) -> list[str]:
        """The HTML's sortable columns, within the metadata's sortable_columns where it declares them."""
        allowed = table_config(self.site.metadata, db, name).get("sortable_columns")
        return [c for c in columns if allowed is None or c in allowed]


# ----------------------------------------------------------------------------- the catalog
def schema_version() -> str:
    """The catalog's schema, as the cache keys it: the newest migration and a digest of every
    migration and the views."""
    schema = ROOT / "schema"
    files = sorted((schema / "migrations").glob("*.sql")) + [schema / "views.sql"]
    digest = hashlib.sha256(b"".join(f.name.encode() + f.read_bytes() for f in files)).hexdigest()[:12]
    return f"{files[-2].stem.split('_')[0]}-{digest}"


def default_cache_dir() -> Path:
    env = os.environ.get("MODELCAT_BENCH_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modelcat-bench"


def build_catalog(n: int, cache_dir: Path, log=print) -> Path:
    """A catalog of n synthetic Hub models plus timm and torchvision, written by `modelcat refresh`
    in its own process against the Hub replay; cached by (n, schema version)."""
    target = cache_dir / f"crawl-{n}-{schema_version()}" / "catalog.db"
    if target.exists():
        log(f"catalog: {target} (cached; {n:,} Hub models)")
        return target
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from replay.hub import HubReplay
    from replay.synth import synthetic_models

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="building-", dir=target.parent))
    try:
        started = time.perf_counter()
        log(f"catalog: building {n:,} synthetic Hub models plus timm and torchvision into {target.parent} ...")
        records = synthetic_models(n, seed=3)
        env = {**os.environ, "MODELCAT_CACHE_DIR": str(cache_dir / "source-cache")}
        env.pop("HF_TOKEN", None)
        env.pop("MODELCAT_DB", None)
        with HubReplay(records, page_size=1000) as hub:
            del records
            env["HF_ENDPOINT"] = hub.url
            out = subprocess.run([sys.executable, "-m", "indexer", "refresh", "--db", str(work / "catalog.db"),
                                  "--source", "hf", "--source", "timm", "--source", "torchvision"],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if out.returncode != 0:
            raise SystemExit(f"modelcat refresh failed while building the catalog:\n{out.stdout[-3000:]}")
        (work / "catalog.db").rename(target)  # whole catalogs only: a killed build is not cached
        log(f"catalog: built in {time.perf_counter() - started:,.0f} s")
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ----------------------------------------------------------------------------- the server
class Server:
    """`modelcat serve` on a catalog, in its own process, on a free port."""

    def __init__(self, db: Path, env: dict | None = None, extra: tuple[str, ...] = ()):
        self.db, self.env, self.extra = Path(db), env, tuple(extra)

    def __enter__(self) -> "Server":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "indexer", "serve", "--db", str(self.db), "--port", str(port),
                                      *self.extra],
                                     cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env if self.env is not None else os.environ.copy())
        self.pid, self.base = self.proc.pid, f"http://127.0.0.1:{port}"
        import httpx

        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(self.base + "/-/versions.json", timeout=5).raise_for_status()
                return self
            except (httpx.HTTPError, OSError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.__exit__(None, None, None)
                    raise SystemExit(f"modelcat serve did not start:\n{self.output()[-3000:]}")
                time.sleep(0.2)

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ----------------------------------------------------------------------------- the report
def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _ms(v: float) -> str:
    return "-" if v != v else f"{v:,.0f}"


def page_row(p: Page) -> str:
    return (f"| `{_cell(p.url)}` | {p.found_by} | {p.status} | {_ms(p.p50_ms)} | {_ms(p.p95_ms)} | "
            f"{p.bytes / 1000:,.0f} | {_cell('; '.join(p.problems)) or 'ok'} |")


def markdown(report: Report, smoke: bool = False) -> list[str]:
    pages = report.pages
    levels = {}
    for p in pages:
        levels[p.level] = levels.get(p.level, 0) + 1
    skipped = ", ".join(f"{n:,} {why}" for why, n in sorted(report.skipped.items())) or "none"
    lines = [
        f"{report.catalog}The crawl: {len(pages):,} pages ("
        + ", ".join(f"level {lv}: {n:,}" for lv, n in sorted(levels.items()))
        + f") in {report.seconds:,.0f} s; links not crawled: {skipped}. Each page: 1 warm-up request, then "
        f"{report.reps} timed (1 for a page broken or slower than {report.slow_s:g} s on its warm-up), one at a "
        "time, over HTTP from `modelcat serve`. Times in ms; KB of the answer as served.",
        "",
        f"**{len(pages):,} pages, {len(report.broken):,} broken, {len(report.slow):,} with a p50 over their goal "
        f"({HOME_GOAL_MS} ms home, {SEED_GOAL_MS} ms seed question, {PAGE_GOAL_MS} ms the others).**"
        + (" Smoke mode: one timed request a page; its times are not figures." if smoke else ""),
        "",
    ]
    if report.not_reached:
        lines += [f"**The budget ({report.budget_s:g} s) ran out: {len(report.not_reached):,} pages found were "
                  "not reached:**", ""] + [f"- `{_cell(p.url)}` ({p.found_by})" for p in report.not_reached] + [""]
    lines += ["| page | found by | status | p50 ms | p95 ms | KB | broken |", "|---|---|---|---|---|---|---|"]
    lines += [page_row(p) for p in report.ordered()]
    return lines


def to_json(report: Report) -> dict:
    return {"base": report.base, "seconds": report.seconds, "reps": report.reps,
            "broken": len(report.broken), "skipped": report.skipped,
            "pages": [{"url": p.url, "level": p.level, "found_by": p.found_by, "kind": p.kind, "status": p.status,
                       "bytes": p.bytes, "warmup_s": p.warmup, "times_s": p.times,
                       "p50_ms": p.p50_ms if p.times else None, "p95_ms": p.p95_ms if p.times else None,
                       "goal_ms": p.goal_ms, "broken": p.broken, "problems": p.problems}
                      for p in report.ordered()],
            "not_reached": [{"url": p.url, "level": p.level, "found_by": p.found_by} for p in report.not_reached]}


def run_crawl(base: str, reps: int = 3, slow_s: float = 1.0, budget_s: float | None = None,
              quiet: bool = False, row_pages: int | None = ROW_PAGES) -> Report:
    progress = None if quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    return Crawler(base, reps=reps, slow_s=slow_s, budget_s=budget_s, progress=progress,
                   row_pages=row_pages).crawl()


def catalog_line(db: Path) -> tuple[str, int]:
    import sqlite3

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT source, count(*) FROM models WHERE removed_at IS NULL GROUP BY source "
                            "ORDER BY count(*) DESC").fetchall()
    finally:
        conn.close()
    total = sum(n for _, n in rows)
    return f"A catalog of {total:,} models ({', '.join(f'{s}: {n:,}' for s, n in rows)}). ", total


DOC_SECTION = "## Page crawl"


def write_doc_section(doc: Path, title: str, lines: list[str]) -> None:
    """Put `## {title}` with these lines in the benchmarks document, replacing a section of the same
    title (scripts/bench.py keeps the crawl's sections when it rewrites the rest)."""
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    sections = re.split(r"(?m)^(?=## )", text)
    block = f"## {title}\n\n" + "\n".join(lines).rstrip() + "\n\n"
    for i, section in enumerate(sections):
        if section.startswith(f"## {title}\n"):
            sections[i] = block
            break
    else:
        sections.append(block if sections[-1].endswith("\n\n") else "\n" + block)
    doc.write_text("".join(sections))


def machine() -> str:
    import platform
    import sqlite3

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU") if Path("/proc/cpuinfo").exists() else "unknown CPU"
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"


def doc_lines(args, lines: list[str], day) -> list[str]:
    source = f"--db {args.db}" if args.db else f"--url {args.url}" if args.url else f"--models {args.models}"
    extra = "".join(f" {flag} {value:g}" for flag, value in (("--budget-s", args.budget_s),) if value) + \
        (" --smoke" if args.smoke else "")
    return [f"`.venv/bin/python scripts/bench.py crawl {source}{extra} --doc docs/benchmarks.md` on {day.isoformat()}. "
            f"Machine: {machine()}.", "", *lines]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/bench.py crawl", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--models", type=int, default=300_000,
                     help="build (or reuse from the cache) a catalog of this many synthetic Hub models plus "
                          "timm and torchvision, and crawl it (default 300,000)")
    src.add_argument("--db", type=Path, help="crawl this catalog (served read-only by `modelcat serve`)")
    src.add_argument("--url", help="crawl a server already running at this address")
    ap.add_argument("--cache-dir", type=Path, default=None,
                    help="where built catalogs are kept (default $MODELCAT_BENCH_CACHE or ~/.cache/modelcat-bench)")
    ap.add_argument("--reps", type=int, default=3, help="timed requests a page, after one warm-up (default 3)")
    ap.add_argument("--slow-s", type=float, default=1.0,
                    help="a page whose warm-up takes longer is timed once: its p50 is 5x its goal or more "
                         "(default 1 s)")
    ap.add_argument("--row-pages", type=int, default=ROW_PAGES,
                    help=f"row pages crawled per table, the first found (default {ROW_PAGES}; 0: every one)")
    ap.add_argument("--budget-s", type=float, help="stop after this many seconds and list the pages not reached")
    ap.add_argument("--smoke", action="store_true", help="1 timed request a page (CI)")
    ap.add_argument("--out", type=Path, help="write the markdown table here (default: print it)")
    ap.add_argument("--json", type=Path, help="write every page's figures here as JSON")
    ap.add_argument("--doc", type=Path, help="also put the table in this markdown document (docs/benchmarks.md), "
                    "as the section 'Page crawl: N models', replacing an older one")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    if args.smoke:
        args.reps = 1
    say = (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    if args.url:
        db = None
        report = run_crawl(args.url, args.reps, args.slow_s, args.budget_s, args.quiet, args.row_pages or None)
    else:
        db = args.db or build_catalog(args.models, args.cache_dir or default_cache_dir(), log=say)
        if not db.exists():
            ap.error(f"no catalog at {db}: build one with `modelcat refresh --db {db}` or pass --models N")
        with Server(db) as server:
            report = run_crawl(server.base, args.reps, args.slow_s, args.budget_s, args.quiet, args.row_pages or None)
        report.catalog, report.models = catalog_line(db)
    lines = markdown(report, smoke=args.smoke)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
        say(f"written to {args.out}")
    else:
        print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(to_json(report), indent=1))
    if args.doc:
        import datetime

        n = f"{report.models:,} models" if report.models else report.base
        write_doc_section(args.doc, f"{DOC_SECTION[3:]}: {n}", doc_lines(args, lines, datetime.date.today()))
        say(f"written to {args.doc}")
    for p in report.broken:
        say(f"BROKEN {p.url}: {'; '.join(p.problems)}")
    say(f"{len(report.pages):,} pages, {len(report.broken):,} broken, {len(report.not_reached):,} not reached, "
        f"{report.seconds:,.0f} s")
    if report.broken:
        return 1
    return 2 if report.not_reached else 0


if __name__ == "__main__":
    sys.exit(main())
