"""No page answers 5xx (issue #29, part 4): a query past the SQL time limit, on Datasette's pages or
the plugin's own (home, model page, chart), gives a page that says what was too slow and how to
narrow it, with a 4xx status; bad parameters get a 400 and a sentence that names the fix."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from urllib.parse import quote

import pytest
from datasette.database import Database, QueryInterrupted
from datasette.utils import tilde_encode

from indexer.serve import make_datasette


def serve(db, **settings):
    ds = make_datasette(db, settings)
    asyncio.run(ds.invoke_startup())
    return lambda path: asyncio.run(ds.client.get(path))


def every_page_type(db) -> list[str]:
    """One page of every kind a user opens: home, database, SQL, every table (not the full-text
    shadow tables), view and stored query, their JSON, a row page of a model, a paper and a
    repository, a full-text search, a sort, a facet click, the next page, the chart."""
    con = sqlite3.connect(db)
    names = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE '%fts%' "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    rows = {t: con.execute(f"SELECT id FROM {t} ORDER BY id LIMIT 1").fetchone() for t in ("models", "papers", "repos")}
    con.close()
    from indexer.serve import metadata_for

    queries = metadata_for(db)["databases"]["catalog"]["queries"]
    pages = ["/", "/catalog", "/catalog?sql=select+count(*)+from+models", "/-/modelcat/chart",
             "/-/modelcat/chart?max_mb=50&open=0", "/catalog/models?_search=resnet",
             "/catalog/model_summary?_sort_desc=imagenet_top1", "/catalog/model_summary?source=timm",
             "/catalog/model_summary?datasets__arraycontains=imagenet-1k", "/catalog/models?_next=50"]
    pages += [f"/catalog/{tilde_encode(n)}" for n in names] + [f"/catalog/{tilde_encode(n)}.json" for n in names]
    pages += [f"/catalog/{q}" for q in queries]
    pages += [f"/catalog/{t}/{tilde_encode(r[0])}" for t, r in rows.items() if r]
    return pages


def test_every_page_type_answers_below_500_with_a_1ms_time_limit(built_catalog):
    get = serve(built_catalog, sql_time_limit_ms=1, facet_time_limit_ms=1)
    pages = every_page_type(built_catalog)
    assert len(pages) > 40
    interrupted = 0
    for path in pages:
        r = get(path)
        assert r.status_code < 500, (path, r.status_code, r.text[-1500:])
        if r.status_code == 400:  # too slow: the page says so
            assert re.search(r"took too long|took longer than the time limit", r.text), (path, r.text[-800:])
            interrupted += 1
    assert interrupted, "a 1 ms limit interrupted nothing: the test does not test"


@pytest.fixture
def interrupt(monkeypatch):
    """interrupt(pattern): every catalog query whose SQL matches the pattern passes the time limit."""
    patterns: list[str] = []
    real = Database.execute

    async def execute(self, sql, *args, **kwargs):
        if any(re.search(p, sql, re.I | re.S) for p in patterns):
            raise QueryInterrupted(sqlite3.OperationalError("interrupted"), sql, args[0] if args else None)
        return await real(self, sql, *args, **kwargs)

    monkeypatch.setattr(Database, "execute", execute)
    return patterns.append


def test_the_home_page_says_which_counts_were_too_slow_and_keeps_its_links(built_catalog, interrupt):
    interrupt(r"FROM papers\) AS papers")  # the totals
    interrupt(r"FROM source_counts WHERE")  # the models of each source
    r = serve(built_catalog)("/")
    assert r.status_code == 200
    note = re.search(r'<p class="mc-too-slow">(.*?)</p>', r.text, re.S)
    assert note, r.text[-2000:]
    text = re.sub(r"\s+", " ", note.group(1))
    assert "the totals of the catalog" in text and "the models of each source" in text
    assert "took longer than the time limit (3,000 ms)" in text and "To narrow it" in text
    assert "/catalog/open_classifiers" in r.text  # the questions still link
    assert "model rows (" not in r.text  # no count shown as 0 when it is unknown
    assert re.search(r'model_summary\?source=timm">timm</a></td>\s*<td class="num">\?</td>', r.text)


def test_datasettes_reads_of_the_schema_are_not_held_to_a_pages_time_limit(built_catalog, monkeypatch):
    """Before it serves a page, Datasette reads the schema (sqlite_master, a few pragmas): a cost
    that follows the schema's few hundred entries, never the catalog's rows. Held to the page's
    limit, a 1 ms limit on a slow machine made the home page a 500 (CI). They run under their own
    limit, outside the page's queries (which stay interrupted here); a user's SQL that reads more
    than sqlite_master is never taken for one."""
    from indexer.datasette_plugin.counted import SCHEMA_READ, CatalogDatabase

    real = Database.execute

    async def execute(self, sql, *args, **kwargs):  # the catalog's schema reads, held to the page's limit
        if isinstance(self, CatalogDatabase) and re.search(r"sqlite_master|^\s*pragma", sql, re.I):
            raise QueryInterrupted(sqlite3.OperationalError("interrupted"), sql, args[0] if args else None)
        return await real(self, sql, *args, **kwargs)

    monkeypatch.setattr(Database, "execute", execute)
    get = serve(built_catalog)
    for path in ("/", "/catalog", "/catalog/models", "/catalog/model_summary?source=timm"):
        r = get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[-800:])
    for sql in ("select * from sqlite_master, models", "select * from sqlite_master where 1 union select 1 from models",
                "select name from sqlite_master where name in (select id from models)",
                "select name from sqlite_master where randomblob(1000000)", "PRAGMA integrity_check",
                "select * from sqlite_master; select count(*) from models", "select * from sqlite_master -- x"):
        assert not SCHEMA_READ.fullmatch(sql), sql
    r = get("/catalog.json?sql=" + quote("select name from sqlite_master where 1 union select id from models"))
    assert r.status_code == 400 and "SQL query took too long" in r.text  # the page's limit held


def test_the_chart_past_the_time_limit_is_a_400_that_says_how_to_narrow_it(built_catalog, interrupt):
    interrupt(r"FROM models m JOIN metrics x")
    r = serve(built_catalog)("/-/modelcat/chart?max_mb=500&open=0")
    assert r.status_code == 400
    assert "Too slow to answer" in r.text and "took longer than the time limit (3,000 ms)" in r.text
    assert "max_mb=50" in r.text and "open=1" in r.text and "best_top1_under_size" in r.text


def test_a_query_interrupted_outside_datasettes_handling_is_a_400_not_a_500(built_catalog):
    """Datasette reads a table's definition for the HTML page outside its time-limit handling (a
    1 ms limit made /catalog/repos a 500 that way): the plugin's exception hook answers 400, in
    HTML and in JSON; other errors stay Datasette's."""
    from datasette.utils.asgi import Request

    from indexer import datasette_plugin

    ds = make_datasette(built_catalog)
    asyncio.run(ds.invoke_startup())
    exc = QueryInterrupted(sqlite3.OperationalError("interrupted"), "select sql from sqlite_master", {})
    for path, kind in (("/catalog/repos", "text/html"), ("/catalog/repos.json", "application/json")):
        request = Request.fake(path)
        request.scope["csrftoken"] = lambda: ""  # as Datasette's middleware sets it
        response = asyncio.run(datasette_plugin.handle_exception(ds, request, exc)())
        assert response.status == 400 and kind in response.content_type
        assert "took longer than the time limit (3,000 ms)" in response.body and "?_size=10" in response.body
    assert datasette_plugin.handle_exception(ds, Request.fake("/x"), ValueError("a bug")) is None


def test_paper_titles_past_the_time_limit_still_link_the_papers(built_catalog, interrupt):
    interrupt(r"SELECT id, title FROM papers WHERE id IN")
    con = sqlite3.connect(built_catalog)
    model = con.execute("SELECT model_id FROM model_papers ORDER BY model_id LIMIT 1").fetchone()
    con.close()
    if model is None:
        pytest.skip("no model with a paper in this catalog")
    r = serve(built_catalog)("/catalog/model_papers?model_id=" + model[0])
    assert r.status_code == 200
    assert '<a href="/catalog/papers/arxiv~3A' in r.text  # the paper cells link, without their titles


@pytest.mark.parametrize("query, sentence", [
    ("max_mb=abc", "max_mb must be a number of megabytes"),
    ("max_mb=nan", "max_mb must be a number of megabytes"),
    ("max_mb=inf", "max_mb must be a number of megabytes"),
    ("max_mb=-5", "max_mb must be a number of megabytes"),
    ("max_mb=0", "max_mb must be a number of megabytes"),
    ("max_mb=1e300", "max_mb must be a number of megabytes"),
    ("open=maybe", "open must be 1"),
    ("max_mb=%3Cb%3Ex%3C/b%3E", "max_mb must be a number of megabytes"),
    ("open=%3Cb%3Ex%3C/b%3E", "open must be 1"),
])
def test_the_chart_answers_bad_parameters_with_a_400_and_the_fix(built_catalog, query, sentence):
    r = serve(built_catalog)(f"/-/modelcat/chart?{query}")
    assert r.status_code == 400, r.text[-500:]
    assert sentence in r.text
    assert "<b>x" not in r.text  # a parameter is never echoed as markup


@pytest.mark.parametrize("path", [
    "/catalog/models?_size=abc", "/catalog/models?_sort=no_such_column", "/catalog/model_summary?_next=zzz",
    "/catalog/models?_facet=no_such_column", "/catalog/open_classifiers?max_mb=abc",
    "/catalog/models?_sort=id&_sort_desc=id", "/catalog?sql=select+nope+from+models", "/catalog?sql=selec+1",
    "/catalog/models.json?_sort=no_such_column", "/catalog/models?_size=-1",
])
def test_bad_parameters_on_datasette_pages_are_never_a_500(built_catalog, path):
    r = serve(built_catalog)(path)
    assert r.status_code < 500, (path, r.status_code, r.text[-800:])


@pytest.mark.parametrize("path, sentence", [
    ("/catalog/models?_sort=no_such_column", "Cannot sort table by no_such_column: sort by one column"),
    ("/catalog/models?_sort=id&_sort_desc=id", "not both"),
    ("/catalog?sql=select+nope+from+models", "no such column: nope"),
    ("/catalog/model_summary?_next=zzz", "_next must be the token"),
])
def test_a_bad_sort_or_bad_sql_is_a_400_that_names_the_fix(built_catalog, path, sentence):
    r = serve(built_catalog)(path)
    assert r.status_code == 400 and sentence in r.text, (r.status_code, r.text[-800:])
