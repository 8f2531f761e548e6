"""Datasette over the catalog, through Datasette's own client (no server), and one real server."""

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from indexer.serve import make_datasette


@pytest.fixture(scope="module")
def get(built_catalog):
    ds = make_datasette(built_catalog)

    def fetch(path):
        async def go():
            return await ds.client.get(path)
        r = asyncio.run(go())
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        return r

    return fetch


def test_default_facets_on_the_models_view(get):
    data = get("/catalog/model_summary.json?_size=0").json()
    facets = data["facet_results"]
    assert {"task", "license_family", "library", "source", "datasets"} <= set(facets)
    tasks = {f["value"]: f["count"] for f in facets["task"]["results"]}
    assert tasks["image-classification"] > 1500 and tasks["object-detection"] == 11
    families = {f["value"] for f in facets["license_family"]["results"]}
    assert {"permissive", "non-commercial", "restricted", "unknown"} <= families
    datasets = {f["value"]: f["count"] for f in facets["datasets"]["results"]}
    assert datasets["imagenet-1k"] > 1000  # an array facet: a model counts once per dataset


def test_no_facet_suggestions(get):
    """Suggestions try every column of every page (too slow at Hub scale); declared facets stay."""
    data = get("/catalog/models.json?_size=1&_facet=task").json()
    assert data["suggested_facets"] == [] and "task" in data["facet_results"]


def test_every_default_facet_is_counted_from_an_index(built_catalog):
    """At Hub scale a facet counted by scanning the table passes Datasette's facet time limit and
    drops off the page (migration 0009): each default column facet of a table or view that grows
    with the number of models is counted from a covering index, as Datasette asks for it. (Array
    facets are not column counts; papers, repos, datasets and runs stay small.)"""
    import sqlite3

    from indexer.serve import metadata_for

    tables = metadata_for(built_catalog)["databases"]["catalog"]["tables"]
    conn = sqlite3.connect(built_catalog)
    checked = []
    per_model = {"models", "model_summary", "model_datasets", "metrics", "model_papers", "model_relations",
                 "model_repos"}
    for table, meta in tables.items():
        for col in meta.get("facets", []) if table in per_model else []:
            if isinstance(col, dict) and "counted" in col:  # counted from the rows when the counts cannot answer
                col = col["counted"]
            if not isinstance(col, str):
                continue
            sql = (f"select {col} as value, count(*) as count from (select * from {table}) "  # Datasette's
                   f"where {col} is not null group by {col} order by count desc, value limit 31")
            plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "COVERING INDEX" in plan and "CORRELATED" not in plan, (table, col, plan)
            checked.append((table, col))
    assert ("model_summary", "license") in checked and ("models", "loadable") in checked
    assert len(checked) >= 20, checked


def test_every_sort_a_model_page_offers_walks_an_index(built_catalog, get):
    """The per-model tables and views (models, model_summary, model_entities: a row per model or
    entity, 2.3M at Hub scale) offer only sorts an index serves, both ways, as Datasette asks for
    them: an unindexed sort reads and orders every row (past the SQL time limit at 1M models). A
    sort they do not offer is a clear 400, not a slow page."""
    import sqlite3

    from indexer.serve import metadata_for

    tables = metadata_for(built_catalog)["databases"]["catalog"]["tables"]
    conn = sqlite3.connect(built_catalog)
    checked = []
    for table in ("models", "model_summary", "model_entities"):
        sortable = tables[table]["sortable_columns"]
        for col in sortable:
            for way in ("", " desc"):
                sql = f"select * from [{table}] order by [{col}]{way} limit 51"
                plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
                assert "TEMP B-TREE" not in plan and "USING" in plan, (table, col, way, plan)
                checked.append((table, col))
        default = tables[table].get("sort") or tables[table].get("sort_desc")
        assert default in sortable, table
        page = get(f"/catalog/{table}.json?_size=2&_sort_desc={sortable[-1]}").json()
        assert page["rows"], table
    assert len(checked) >= 26, checked
    import asyncio

    from indexer.serve import make_datasette

    r = asyncio.run(make_datasette(built_catalog).client.get("/catalog/model_summary?_sort=load_note"))
    assert r.status_code == 400 and "Cannot sort table by load_note" in r.text


def test_a_facet_click_walks_an_index_in_the_order_the_page_shows(built_catalog):
    """model_summary filtered on one faceted column: sorted by downloads (its default) SQLite walks
    the column's downloads-ordered index and stops at the page's end; sorted otherwise it reads the
    matches through the (column, removed_at) index, in rowid order, not through the downloads one
    (which reads the table at random, 3x slower on 300k models)."""
    import sqlite3

    conn = sqlite3.connect(built_catalog)
    for col in ("source", "task", "library", "license", "license_family", "loadable"):
        plan = lambda order: " | ".join(r[3] for r in conn.execute(  # noqa: E731
            f"EXPLAIN QUERY PLAN select * from model_summary where [{col}] = ? order by {order} limit 51", ["x"]))
        by_downloads = plan("downloads desc")
        assert f"idx_models_{col}_downloads" in by_downloads and "TEMP B-TREE" not in by_downloads, (col, by_downloads)
        for order in ("size_mb", "imagenet_top1 desc", "params_m"):
            other = plan(order)
            assert "_downloads" not in other and "removed_at=?" in other, (col, order, other)


# from the column with the fewest values to the one with the most (migration 0019)
NARROWING = ("loadable", "license_family", "source", "task", "license", "library")


def _pair_plans(db) -> list[tuple]:
    """(the two columns, the index the default sort walks, the index another sort reads) for every
    pair of faceted columns a page filters on."""
    import itertools
    import sqlite3

    conn = sqlite3.connect(db)
    out = []
    for a, b in itertools.combinations(NARROWING, 2):
        plan = lambda order: " | ".join(r[3] for r in conn.execute(  # noqa: E731
            f"EXPLAIN QUERY PLAN select * from model_summary where [{a}] = ? and [{b}] = ? order by {order} limit 51",
            ["x", "y"]))
        out.append(((a, b), plan("downloads desc"), plan("size_mb")))
    conn.close()
    return out


def _check_pairs(db):
    for (a, b), by_downloads, other in _pair_plans(db):
        # the column that narrows most is walked: `source=torchvision&loadable=1` reads 166 rows, not half the Hub
        walked = "source" if "source" in (a, b) else b  # a small source read whole, the Hub's walked in order
        assert f"idx_models_{walked}_downloads" in by_downloads and "TEMP B-TREE" not in by_downloads, (a, b, by_downloads)
        # sorted otherwise: read through a (column, removed_at) index of one of them, in rowid order
        # (which one is SQLite's call; never a downloads-ordered one, which reads the table at random)
        exact = f"{a}=? AND {b}=? AND removed_at=?" in other or f"{b}=? AND {a}=? AND removed_at=?" in other
        assert (exact or any(f"({c}=? AND removed_at=?" in other for c in (a, b))) and "_downloads" not in other, \
            (a, b, other)


def test_a_page_filtered_on_two_columns_walks_the_narrower(built_catalog):
    _check_pairs(built_catalog)


def test_the_plans_survive_a_first_load_that_deferred_the_indexes(catalog_copy):
    """A first Hub import drops the indexes and builds them at its end, in the order they were made."""
    from indexer.store import Catalog

    with Catalog.open(catalog_copy) as cat:
        with cat.transaction():
            assert "idx_models_source_downloads" in cat.defer_indexes("hf")
        with cat.transaction():
            cat.restore_indexes()
    _check_pairs(catalog_copy)


def test_the_models_page_walks_an_index_in_its_default_order(built_catalog, get):
    """model_summary's default sort (downloads) is read from an index, stopping at the page's rows;
    a computed column (imagenet_top1) would be computed and sorted for every model."""
    import sqlite3

    from indexer.serve import metadata_for

    meta = metadata_for(built_catalog)["databases"]["catalog"]["tables"]["model_summary"]
    assert meta["sort_desc"] == "downloads"
    plan = " | ".join(r[3] for r in sqlite3.connect(built_catalog).execute(
        "EXPLAIN QUERY PLAN select * from model_summary order by downloads desc limit 51"))
    assert "idx_models_downloads" in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan
    rows = get("/catalog/model_summary.json?_shape=array&_size=20").json()
    downloads = [r["downloads"] if r["downloads"] is not None else -1 for r in rows]
    assert len(rows) == 20 and downloads == sorted(downloads, reverse=True)


def test_the_paper_pages_never_walk_every_model(built_catalog):
    """The pages about papers reach the models through the papers that name them: without planner
    statistics SQLite chose to walk every model (3.7 s and 3.5 s on 1M models)."""
    import sqlite3

    from indexer.serve import metadata_for

    queries = metadata_for(built_catalog)["databases"]["catalog"]["queries"]
    conn = sqlite3.connect(built_catalog)
    for sql, params in [
        (queries["papers_behind_imagenet_models"]["sql"], {"dataset": ""}),
        ("select count(*) from model_paper_results", {}),
        ("select * from model_paper_results limit 51", {}),
        ("select * from model_paper_results where model_id = :id", {"id": "timm:resnet18.a1_in1k"}),
        ("select * from paper_summary order by title limit 51", {}),
    ]:
        plan = " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "SCAN m " not in plan + " " and "SCAN models" not in plan, (sql[:80], plan)
        assert "SEARCH m USING INDEX idx_metrics" not in plan and "x USING INDEX idx_metrics_dataset" not in plan, plan
    plan = " | ".join(r[3] for r in conn.execute(
        "EXPLAIN QUERY PLAN select * from model_paper_results where model_id = 'x'"))
    assert plan.startswith("SEARCH mp USING COVERING INDEX sqlite_autoindex_model_papers_1 (model_id=?)"), plan
    plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN select * from paper_summary"))
    assert "SEARCH pc USING PRIMARY KEY (paper_id=?)" in plan and " m " not in plan, plan  # paper_counts


def test_what_changed_walks_each_sources_newest_rows(built_catalog):
    """last_refresh_changes reads each source's newest changes from an index and stops at the
    page's end: after a first Hub import it sorted a million rows."""
    import sqlite3

    from indexer.serve import metadata_for

    sql = metadata_for(built_catalog)["databases"]["catalog"]["queries"]["last_refresh_changes"]["sql"]
    plan = " | ".join(r[3] for r in sqlite3.connect(built_catalog).execute(f"EXPLAIN QUERY PLAN {sql}", {"source": ""}))
    assert "m2 USING COVERING INDEX idx_models_source_changed (source=? AND changed_at>?)" in plan, plan
    assert "SCAN m" not in plan and "RIGHT PART" not in plan, plan


def test_a_dataset_filter_walks_the_page_order_when_many_models_name_it(built_catalog):
    """`?_dataset=` reads a common dataset's models while walking the page's order (stopping at the
    page's rows), a rare one's by reading them all: on 2.3M models the common one's page read
    130,000 rows and sorted them (0.8 s). Either way the same rows."""
    import asyncio
    import sqlite3

    from datasette.utils.asgi import Request

    from indexer.datasette_plugin import filters_from_request

    ds = make_datasette(built_catalog)
    asyncio.run(ds.invoke_startup())
    conn = sqlite3.connect(built_catalog)
    live = conn.execute("SELECT count(*) FROM models WHERE removed_at IS NULL").fetchone()[0]
    counts = dict(conn.execute("SELECT d.dataset_id, count(*) FROM model_datasets d JOIN models m ON m.id = d.model_id "
                               "WHERE m.removed_at IS NULL GROUP BY 1"))
    common = max(counts, key=counts.get)
    rare = min(counts, key=counts.get)
    assert counts[common] ** 2 > 10 * live >= counts[rare] ** 2, (common, counts[common], rare, counts[rare], live)
    for dataset, walks in ((common, True), (rare, False)):
        request = Request.fake(f"/catalog/model_summary?_dataset={dataset}")
        found = asyncio.run(filters_from_request(request, "catalog", "model_summary", ds)())
        [clause] = found.where_clauses
        assert clause.startswith("+") == walks, (dataset, clause)
        plan = " | ".join(r[3] for r in conn.execute(  # as Datasette asks a view's page
            f"EXPLAIN QUERY PLAN select * from model_summary where {clause} order by downloads desc limit 51", found.params))
        sql = f"select id from model_summary where {clause} order by downloads desc, id limit 51"
        assert ("TEMP B-TREE FOR ORDER BY" not in plan) == walks, (dataset, plan)
        plain = clause.lstrip("+")
        assert conn.execute(sql, found.params).fetchall() == conn.execute(
            f"select id from model_summary where {plain} order by downloads desc, id limit 51", found.params).fetchall()


def test_facet_filters_narrow_the_rows(get):
    rows = get("/catalog/model_summary.json?_shape=array&_size=max&source=torchvision"
               "&task=object-detection").json()
    assert len(rows) == 11 and all(r["source"] == "torchvision" for r in rows)


def test_full_text_search_on_models(get):
    rows = get("/catalog/model_summary.json?_shape=array&_search=residual&source=torchvision").json()
    ids = {r["id"] for r in rows}
    assert "torchvision:resnet18.IMAGENET1K_V1" in ids
    rows = get("/catalog/models.json?_shape=array&_search=dinov2&_size=max").json()
    assert rows and all("dinov2" in (r["id"] + (r["description"] or "")).lower() for r in rows)
    assert "timm:vit_small_patch14_dinov2.lvd142m" in {r["id"] for r in rows}


def test_metadata_titles_descriptions_and_units(get):
    meta = get("/-/metadata.json").json()
    table = meta["databases"]["catalog"]["tables"]["models"]
    assert table["columns"]["license_family"].startswith("permissive")
    assert meta["databases"]["catalog"]["tables"]["model_summary"]["units"]["size_mb"] == "megabyte"
    html = get("/catalog/model_summary").text
    assert "Models" in html and "MB (10^6 bytes)" in html


def test_stored_query_is_listed_with_its_parameters(get):
    data = get("/catalog.json").json()
    queries = {q["name"]: q for q in data["queries"]}
    assert queries["open_classifiers"]["title"].startswith("Open-license models")
    page = get("/catalog/open_classifiers").text
    for param in ("task", "dataset", "max_mb"):
        assert f'name="{param}"' in page


def test_internal_tables_are_hidden(get):
    data = get("/catalog.json").json()
    hidden = {t["name"] for t in data["tables"] if t["hidden"]}
    assert {"models_fts", "_migrations"} <= hidden


def test_runs_history_is_browsable(get):
    rows = get("/catalog/latest_runs.json?_shape=array").json()
    assert {r["source"]: r["status"] for r in rows} == {"timm": "ok", "torchvision": "ok"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_modelcat_serve_answers_over_http(built_catalog):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "indexer", "serve", "--db", str(built_catalog),
                             "--port", str(port)], stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/catalog/open_classifiers.json?_shape=array&max_mb=5"
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    rows = json.load(r)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert rows and all(r["size_mb"] <= 5.0 and r["task"] == "image-classification" for r in rows)  # rounded to 0.1
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_on_a_busy_port_says_so(built_catalog):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "indexer", "serve", "--db", str(built_catalog),
                            "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr and "--port" in r.stderr


def test_loadable_is_a_facet(loader_catalog):
    ds = make_datasette(loader_catalog)

    async def go(path):
        return (await ds.client.get(path)).json()

    data = asyncio.run(go("/catalog/model_summary.json?_size=0"))
    counts = {f["value"]: f["count"] for f in data["facet_results"]["loadable"]["results"]}
    assert counts == {1: 19, 0: 4}
    rows = asyncio.run(go("/catalog/models.json?_shape=array&loadable=0&_col=load_note"))
    assert {r["id"] for r in rows} == {"hf:acme/tiny-gguf", "hf:acme/tf-only", "hf:acme/onnx-export",
                                       "torchaudio:TACOTRON2_WAVERNN_CHAR_LJSPEECH"}
    assert all(r["load_note"] for r in rows)
