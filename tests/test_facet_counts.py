"""The model pages' facets read facet_counts / facet_dataset_counts (migration 0017) when a page's
filters are equalities on the counted columns: the same answer as counting the rows, from a few
thousand combinations instead of a million rows. Anything the counts cannot answer (a search,
another column, another operator, two datasets) is counted from the rows as Datasette does."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from urllib.parse import urlencode

import pytest

from indexer.serve import make_datasette

COLUMNS = ("task", "license_family", "library", "source", "license", "loadable")


def _client(db):
    ds = make_datasette(db)

    def fetch(path):
        r = asyncio.run(ds.client.get(path))
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()

    return fetch


def _facets(data) -> dict:
    return {name: [(v["value"], v["count"]) for v in f["results"]] for name, f in data["facet_results"].items()}


def _expected(db, table: str, filters: list[tuple[str, str]], dataset: str | None = None) -> dict:
    conn = sqlite3.connect(db)
    where = ["1"] + [f"[{c.removesuffix('__exact')}] = ?" for c, _ in filters]
    params = [v for _, v in filters]
    if dataset is not None:
        where.append("id IN (SELECT model_id FROM model_datasets WHERE dataset_id = ?)")
        params.append(dataset)
    rows = f"(SELECT * FROM [{table}] WHERE {' AND '.join(where)})"
    out = {col: conn.execute(f"SELECT [{col}], count(*) AS n FROM {rows} WHERE [{col}] IS NOT NULL "
                             f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT 30", params).fetchall() for col in COLUMNS}
    if table == "model_summary":
        out["datasets"] = conn.execute(
            f"SELECT j.value, count(*) AS n FROM {rows} r, json_each(r.datasets) j GROUP BY 1 ORDER BY n DESC, 1 "
            f"LIMIT 30", params).fetchall()
    conn.close()
    return out


PAGES = [
    ("model_summary", []),
    ("model_summary", [("source", "timm")]),
    ("model_summary", [("source__exact", "torchvision")]),
    ("model_summary", [("task", "image-classification"), ("license_family", "permissive")]),
    ("model_summary", [("loadable", "1"), ("source", "timm")]),
    ("model_summary", [("license", "apache-2.0")]),
    ("model_summary", [("task", "no-such-task")]),
    ("model_summary", [("source", "timm"), ("source", "torchvision")]),  # both must hold: nothing
    ("models", []),
    ("models", [("source", "torchvision"), ("task", "image-classification")]),
]


@pytest.mark.parametrize("table,filters", PAGES, ids=[f"{t}?{urlencode(f)}" for t, f in PAGES])
def test_counted_facets_equal_a_count_of_the_rows(built_catalog, table, filters):
    data = _client(built_catalog)(f"/catalog/{table}.json?{urlencode([*filters, ('_size', '1')])}")
    got = _facets(data)
    want = _expected(built_catalog, table, filters)
    for name, values in want.items():
        assert got[name] == [tuple(v) for v in values], (name, got[name][:5], values[:5])
    assert data["filtered_table_rows_count"] == _row_count(built_catalog, table, filters)


def _row_count(db, table: str, filters: list[tuple[str, str]], dataset: str | None = None) -> int:
    where = ["1"] + [f"[{c.removesuffix('__exact')}] = ?" for c, _ in filters]
    params = [v for _, v in filters]
    if dataset is not None:
        where.append("id IN (SELECT model_id FROM model_datasets WHERE dataset_id = ?)")
        params.append(dataset)
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM [{table}] WHERE {' AND '.join(where)}", params).fetchone()[0]


def test_a_dataset_filter_is_counted_too(built_catalog):
    got = _facets(_client(built_catalog)("/catalog/model_summary.json?_dataset=imagenet-21k&source=timm&_size=1"))
    want = _expected(built_catalog, "model_summary", [("source", "timm")], dataset="imagenet-21k")
    for name in COLUMNS:
        assert got[name] == [tuple(v) for v in want[name]], name
    assert got["task"] and got["source"] == [("timm", sum(n for _, n in want["task"]))]
    data = _client(built_catalog)("/catalog/model_summary.json?_dataset=imagenet-21k&source=timm&_size=1")
    assert got["datasets"] == [tuple(v) for v in want["datasets"]]  # the datasets their models also name
    assert data["filtered_table_rows_count"] == _row_count(built_catalog, "model_summary", [("source", "timm")],
                                                           dataset="imagenet-21k") > 0


def test_a_later_page_shows_the_facets_of_the_whole_filtered_set(built_catalog):
    get = _client(built_catalog)
    first = get("/catalog/models.json?source=timm&_size=5")
    later = get(f"/catalog/models.json?source=timm&_size=5&_next={first['next']}")
    assert _facets(later) == _facets(first) and later["rows"] != first["rows"]


def _poisoned(db):
    """The timm image classifiers' largest combination counted 1,000 more than it has: a page that
    reads the counts shows it, one that counts the rows does not."""
    conn = sqlite3.connect(db)
    key, n = conn.execute("SELECT key, n FROM facet_counts WHERE source = 'timm' AND live = 1 "
                          "AND task = 'image-classification' ORDER BY n DESC LIMIT 1").fetchone()
    conn.execute("UPDATE facet_counts SET n = n + 1000 WHERE key = ?", (key,))
    conn.commit()
    conn.close()
    return json.loads(key)


def _tasks(data) -> dict:
    return dict(_facets(data)["task"])


def test_pages_read_the_counts_where_they_can_and_the_rows_where_not(catalog_copy):
    truth = sqlite3.connect(catalog_copy).execute(
        "SELECT count(*) FROM model_summary WHERE source = 'timm' AND task = 'image-classification'").fetchone()[0]
    _poisoned(catalog_copy)
    get = _client(catalog_copy)
    assert _tasks(get("/catalog/model_summary.json?source=timm&_size=1"))["image-classification"] == truth + 1000
    assert _tasks(get("/catalog/model_summary.json?_sort=id&_size=1"))["image-classification"] > truth + 1000
    # what the counts cannot answer is counted from the rows
    for query in ("source=timm&_search=resnet", "source=timm&name__contains=a", "source=timm&params_m__gt=0",
                  "source=timm&_dataset=imagenet-1k&_dataset=imagenet-21k"):
        data = get(f"/catalog/model_summary.json?{query}&_size=1")
        assert _tasks(data).get("image-classification", 0) <= truth, query
    # the page's count of its rows too
    assert get("/catalog/model_summary.json?source=timm&task=image-classification&_size=1")[
        "filtered_table_rows_count"] == truth + 1000
    assert get("/catalog/model_summary.json?source=timm&task=image-classification&_search=resnet&_size=1")[
        "filtered_table_rows_count"] < truth
    # while a first load has the triggers dropped the counts are stale: the rows are counted
    conn = sqlite3.connect(catalog_copy)
    conn.execute("INSERT INTO deferred_indexes (name, sql, source, deferred_at) VALUES ('facet_counts', '', 'hf', 'x')")
    conn.commit()
    conn.close()
    assert _tasks(_client(catalog_copy)("/catalog/model_summary.json?source=timm&_size=1"))["image-classification"] == truth
    assert _client(catalog_copy)("/catalog/model_summary.json?source=timm&task=image-classification&_size=1")[
        "filtered_table_rows_count"] == truth


@pytest.mark.parametrize("sql,params", [
    ('select count(*) from model_summary where "name" = :p0 ', {"p0": "x"}),           # not a counted column
    ('select count(*) from model_summary where "source" > :p0 ', {"p0": "x"}),          # not an equality
    ('select count(*) from model_summary where "source" = :p0 or 1 ', {"p0": "x"}),
    ('select count(*) from model_summary where "source" = :p1 ', {"p0": "x"}),          # no such parameter
    ("select count(*) from model_summary where rowid in (select rowid from models_fts where models_fts match :search) ",
     {"search": "x"}),
    ("select count(*) from repos ", {}),
    ("select count(*) from model_summary where model_rowid IN (SELECT m.rowid FROM model_datasets d JOIN models m "
     "ON m.id = d.model_id WHERE d.dataset_id = :a) and model_rowid IN (SELECT m.rowid FROM model_datasets d JOIN "
     "models m ON m.id = d.model_id WHERE d.dataset_id = :b) ", {"a": "x", "b": "y"}),  # two datasets
])
def test_a_count_the_counts_cannot_stand_for_is_left_to_the_rows(sql, params):
    from indexer.datasette_plugin.counted import counted_count

    assert counted_count(sql, params) is None


def test_a_count_of_equalities_reads_the_counts():
    from indexer.datasette_plugin.counted import counted_count

    sql, args, _ = counted_count('select count(*) from model_summary where "license" = :p0 and "source" = :p1 ',
                                 {"p0": "mit", "p1": "hf"})
    assert "facet_counts" in sql and "live = 1" in sql and args == ["mit", "hf"]
    sql, args, _ = counted_count("select count(*) from models ", {})
    assert "facet_counts" in sql and "live" not in sql and args == []


def test_the_facets_look_like_column_facets(built_catalog):
    """Shown as before: titled by the column (no "(counted)"), a click adds `column=value`, a
    selected value's click takes it away."""
    get = _client(built_catalog)
    data = get("/catalog/model_summary.json?source=timm&_size=1")
    task = data["facet_results"]["task"]
    assert task["type"] == "column"
    first = task["results"][0]
    assert first["toggle_url"].endswith(f"source=timm&_size=1&task={first['value']}")
    sel = [v for v in data["facet_results"]["source"]["results"] if v["selected"]]
    assert [v["value"] for v in sel] == ["timm"] and "source=" not in sel[0]["toggle_url"]
    page = asyncio.run(make_datasette(built_catalog).client.get("/catalog/model_summary?source=timm")).text
    assert "(counted)" not in page and "task" in page


ENTITY_PAGES = [[], [("sources", "timm")], [("is_open", "1")], [("task", "image-classification"), ("is_open", "1")],
                [("sources", "no-such-source")]]


@pytest.mark.parametrize("filters", ENTITY_PAGES, ids=[urlencode(f) for f in ENTITY_PAGES])
def test_distinct_models_are_counted_from_their_counts_too(built_catalog, filters):
    data = _client(built_catalog)(f"/catalog/model_entities.json?{urlencode([*filters, ('_size', '1')])}")
    where = " AND ".join(["1"] + [f"[{c}] = ?" for c, _ in filters])
    params = [v for _, v in filters]
    with sqlite3.connect(built_catalog) as conn:
        for col in ("task", "sources", "is_open"):
            want = conn.execute(f"SELECT [{col}], count(*) AS n FROM model_entities WHERE {where} AND [{col}] IS NOT NULL "
                                "GROUP BY 1 ORDER BY n DESC, 1 LIMIT 30", params).fetchall()
            assert _facets(data)[col] == [tuple(v) for v in want], col
            assert data["facet_results"][col]["type"] == "column"
        assert data["filtered_table_rows_count"] == conn.execute(
            f"SELECT count(*) FROM model_entities WHERE {where}", params).fetchone()[0]


def test_distinct_models_pages_read_the_entity_counts(catalog_copy):
    conn = sqlite3.connect(catalog_copy)
    truth = conn.execute("SELECT count(*) FROM entities WHERE sources = 'timm' AND is_open = 1").fetchone()[0]
    conn.execute("UPDATE entity_facet_counts SET n = n + 100 WHERE sources = 'timm' AND is_open = 1 "
                 "AND key = (SELECT max(key) FROM entity_facet_counts WHERE sources = 'timm' AND is_open = 1)")
    conn.commit()
    get = _client(catalog_copy)
    assert get("/catalog/model_entities.json?sources=timm&is_open=1&_size=1")["filtered_table_rows_count"] == truth + 100
    assert get("/catalog/model_entities.json?sources=timm&is_open=1&n_ids__gt=0&_size=1")[
        "filtered_table_rows_count"] == truth  # another operator: the rows


def test_the_writer_keeps_the_entity_counts(catalog_copy):
    """Entities that change (a row removed, a task changed) move between combinations."""
    from indexer.store.entities import fresh_entity_facet_counts, kept_entity_facet_counts, refresh_entities

    conn = sqlite3.connect(catalog_copy)
    assert kept_entity_facet_counts(conn) == fresh_entity_facet_counts(conn)
    gone = [r[0] for r in conn.execute("SELECT entity_id FROM models WHERE source = 'timm' ORDER BY id LIMIT 7")]
    conn.execute(f"UPDATE models SET removed_at = '2030-01-01T00:00:00Z' WHERE entity_id IN ({', '.join('?' * 7)})", gone)
    moved = [r[0] for r in conn.execute("SELECT entity_id FROM models WHERE source = 'torchvision' LIMIT 5")]
    conn.execute(f"UPDATE models SET task = 'image-feature-extraction' WHERE entity_id IN ({', '.join('?' * 5)})", moved)
    before = kept_entity_facet_counts(conn)
    refresh_entities(conn, [*gone, *moved])
    assert kept_entity_facet_counts(conn) == fresh_entity_facet_counts(conn) != before


def test_a_picked_dataset_counts_the_others_from_the_pairs_the_store_keeps(catalog_copy):
    """With one `?_dataset=` picked (and equalities on counted columns), the Trained-on facet reads
    facet_dataset_pairs (migration 0024): a pair counted 1,000 more than its rows shows there; a
    page the counts cannot answer (a search) counts its rows' lists."""
    conn = sqlite3.connect(catalog_copy)
    key, other, n = conn.execute(
        "SELECT p.key, p.other_id, p.n FROM facet_dataset_pairs p JOIN facet_counts c ON c.key = p.key "
        "WHERE p.dataset_id = 'imagenet-1k' AND p.other_id != p.dataset_id AND c.live = 1 AND c.source = 'timm' "
        "ORDER BY p.n DESC LIMIT 1").fetchone()
    truth = dict(_facets(_client(catalog_copy)("/catalog/model_summary.json?_dataset=imagenet-1k&_size=1"))["datasets"])
    conn.execute("UPDATE facet_dataset_pairs SET n = n + 1000 WHERE key = ? AND dataset_id = 'imagenet-1k' "
                 "AND other_id = ?", (key, other))
    conn.commit()
    conn.close()
    get = _client(catalog_copy)
    for query in ("_dataset=imagenet-1k", "source=timm&_dataset=imagenet-1k"):
        got = dict(_facets(get(f"/catalog/model_summary.json?{query}&_size=1"))["datasets"])
        assert got[other] >= 1000 + n and got["imagenet-1k"] > 0, query
    assert dict(_facets(get("/catalog/model_summary.json?_dataset=imagenet-1k&_size=1"))["datasets"])[other] == \
        truth[other] + 1000
    got = dict(_facets(get("/catalog/model_summary.json?_dataset=imagenet-1k&_search=resnet&_size=1"))["datasets"])
    assert got.get(other, 0) <= truth[other]


def test_the_writer_keeps_the_pairs_as_models_come_change_and_go(catalog_copy):
    """The triggers keep facet_dataset_pairs equal to a count of the rows' lists."""
    from indexer.store.facets import fresh_facet_counts, kept_facet_counts

    conn = sqlite3.connect(catalog_copy)
    assert kept_facet_counts(conn)[2] == fresh_facet_counts(conn)[2] != []
    conn.execute("UPDATE models SET dataset_ids = json_array('imagenet-1k', 'coco', 'coco-2') "
                 "WHERE rowid IN (SELECT rowid FROM models WHERE source = 'timm' LIMIT 5)")
    conn.execute("UPDATE models SET removed_at = '2026-01-01' WHERE rowid IN (SELECT rowid FROM models "
                 "WHERE source = 'torchvision' LIMIT 3)")
    conn.execute("UPDATE models SET license = 'mit', dataset_ids = '[]' WHERE rowid IN "
                 "(SELECT rowid FROM models WHERE source = 'timm' LIMIT 2)")
    conn.execute("DELETE FROM models WHERE rowid IN (SELECT rowid FROM models WHERE source = 'timm' LIMIT 1 OFFSET 3)")
    assert kept_facet_counts(conn)[2] == fresh_facet_counts(conn)[2]
    assert conn.execute("SELECT count(*) FROM facet_dataset_pairs WHERE dataset_id = 'coco' AND other_id = 'coco-2'"
                        ).fetchone()[0] > 0
    conn.close()


def test_the_papers_live_models_are_counted_as_models_and_their_papers_change(catalog_copy):
    """paper_counts (migration 0025) follows every way a model or its paper rows come, change and
    go, including the writer's INSERT OR REPLACE of a row it already has; paper_summary reads it."""
    from indexer.store.facets import fresh_facet_counts, kept_facet_counts

    conn = sqlite3.connect(catalog_copy)
    conn.execute("PRAGMA foreign_keys = ON")
    paper, n = conn.execute("SELECT paper_id, n_models FROM paper_counts ORDER BY n_models DESC LIMIT 1").fetchone()
    assert n > 1 and kept_facet_counts(conn)[3] == fresh_facet_counts(conn)[3]
    models = [r[0] for r in conn.execute("SELECT model_id FROM model_papers WHERE paper_id = ? LIMIT 4", (paper,))]
    conn.execute("INSERT OR REPLACE INTO model_papers (model_id, paper_id, raw, source) "
                 "SELECT model_id, paper_id, 'again', source FROM model_papers WHERE model_id = ?", (models[0],))
    conn.execute("UPDATE models SET removed_at = '2026-01-01' WHERE id = ?", (models[1],))
    conn.execute("DELETE FROM model_papers WHERE model_id = ?", (models[2],))
    conn.execute("DELETE FROM models WHERE id = ?", (models[3],))
    conn.execute("INSERT INTO papers (id, title) VALUES ('arxiv:0000.00001', 'x')")
    conn.execute("INSERT OR REPLACE INTO model_papers (model_id, paper_id, raw, source) "
                 "SELECT ?, 'arxiv:0000.00001', 'x', source FROM models WHERE id = ?", (models[0], models[0]))
    conn.execute("UPDATE models SET removed_at = NULL WHERE id = ?", (models[1],))
    conn.execute("UPDATE models SET removed_at = '2026-01-02' WHERE id = ?", (models[0],))
    assert kept_facet_counts(conn)[3] == fresh_facet_counts(conn)[3]
    assert dict(kept_facet_counts(conn)[3])[paper] == n - 3
    conn.commit()
    conn.close()
    got = _client(catalog_copy)(f"/catalog/paper_summary.json?id={paper}&_shape=objects")["rows"]
    assert [r["n_models"] for r in got] == [n - 3]


# ---------------------------------------------------------------- a sorted page of many matches
_PAGE_SQL = 'select id, size_mb from model_summary where "source" = :p0 order by size_mb limit 51'


@pytest.mark.parametrize("sql,params", [
    ('select id from model_summary where "source" = :p0 order by downloads desc limit 51', {"p0": "hf"}),  # its own index
    ('select id from model_summary where "name" = :p0 order by size_mb limit 51', {"p0": "x"}),  # not counted
    ('select id from model_summary where "source" = :p0 and rowid in (select rowid from models_fts where '
     'models_fts match :search) order by size_mb limit 51', {"p0": "hf", "search": "x"}),             # a search
    ('select id from model_summary where "source" > :p0 order by size_mb limit 51', {"p0": "hf"}),
    ('select id from repos where "owner" = :p0 order by id limit 51', {"p0": "x"}),                  # not counted
    ('select id from model_summary where (size_mb > :p0) order by size_mb limit 51', {"p0": 1}),     # no equality
])
def test_a_page_the_counts_cannot_judge_is_left_as_datasette_wrote_it(sql, params):
    from indexer.datasette_plugin.counted import walked_page

    assert walked_page(sql, params) is None


def test_a_sorted_page_names_its_equalities_for_the_walk():
    from indexer.datasette_plugin.counted import DATASET_CLAUSE, walked_page

    sql, count, _ = walked_page(_PAGE_SQL + " offset 50", {"p0": "hf"})
    assert sql == 'select id, size_mb from model_summary where +"source" = :p0 order by size_mb limit 51 offset 50'
    assert count == 'select count(*) from model_summary where "source" = :p0'
    dataset = "+" + DATASET_CLAUSE.format(p="d0")
    sql, count, _ = walked_page(f'select id from model_summary where "task" = :p0 and "license" = :p1 and {dataset} '
                                "and (id > :p2) order by id limit 51", {"p0": "a", "p1": "b", "p2": "c", "d0": "x"})
    assert sql.startswith('select id from model_summary where +"task" = :p0 and +"license" = :p1 and +model_rowid IN')
    assert sql.endswith("and (id > :p2) order by id limit 51")
    assert count == f'select count(*) from model_summary where "task" = :p0 and "license" = :p1 and {dataset[1:]}'


def test_a_sorted_page_of_many_matches_walks_its_sort_and_of_few_reads_its_filter(built_catalog):
    """Where the counts say the filter keeps many rows (n * n > 10 * all), the page walks the sort's
    index; where few, the filter's index; the rows are the same either way."""
    from indexer.datasette_plugin.counted import CatalogDatabase

    ds = make_datasette(built_catalog)
    db = ds.get_database("catalog")
    assert isinstance(db, CatalogDatabase)
    conn = sqlite3.connect(built_catalog)
    total = conn.execute("SELECT count(*) FROM model_summary").fetchone()[0]
    (many, n_many), = conn.execute("SELECT source, count(*) FROM model_summary GROUP BY 1 ORDER BY 2 DESC LIMIT 1")
    few, n_few = conn.execute("SELECT license, count(*) FROM model_summary WHERE license IS NOT NULL "
                              "GROUP BY 1 ORDER BY 2 LIMIT 1").fetchone()
    assert n_many * n_many > 10 * total and n_few * n_few <= 10 * total
    for column, value, walks in (("source", many, True), ("license", few, False)):
        for order in ("size_mb", "id", "imagenet_top1 desc", "params_m"):
            sql = (f'select id from model_summary where "{column}" = :p0 order by {order}, model_rowid '
                   f"limit 51")
            ran, fallback = asyncio.run(db.page_sql(sql, {"p0": value}))
            assert (ran != sql) is walks and fallback == sql, (column, order, ran)
            plan = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + ran, {"p0": value}))
            assert ("TEMP B-TREE FOR ORDER BY" in plan) is not walks or order.startswith("imagenet"), plan
            rows = [r[0] for r in asyncio.run(db.execute(sql, {"p0": value})).rows]
            assert rows == [r[0] for r in conn.execute(sql, {"p0": value})]
    # sorted by downloads the filter's (column, downloads) index is the walk already
    sql = 'select id from model_summary where "source" = :p0 order by downloads desc limit 51'
    assert asyncio.run(db.page_sql(sql, {"p0": many})) == (sql, sql)
    # model_entities' filter indexes end with n_ids, its page's order
    sql = 'select entity from model_entities where "is_open" = :p0 order by n_ids desc limit 51'
    assert asyncio.run(db.page_sql(sql, {"p0": 1})) == (sql, sql)
    # with a common dataset, a walk that gives way reads the dataset's rows and sorts them
    from indexer.datasette_plugin.counted import DATASET_CLAUSE

    sql = (f'select id from model_summary where "source" = :p0 and +{DATASET_CLAUSE.format(p="d0")} '
           "order by size_mb limit 51")
    ran, fallback = asyncio.run(db.page_sql(sql, {"p0": many, "d0": "imagenet-1k"}))
    assert ran.startswith('select id from model_summary where +"source" = :p0 and EXISTS (')
    assert fallback == sql.replace('"source"', '+"source"').replace("+model_rowid", "model_rowid")


def test_a_common_dataset_is_matched_on_the_rows_walked_and_a_slow_walk_gives_way(built_catalog, monkeypatch):
    """A `_dataset` the page walks (`+model_rowid IN`, many models name it) runs as one look-up per
    row walked (EXISTS); a walk that passes WALK_MS gives way to the fallback, with the same rows."""
    from indexer.datasette_plugin import counted
    from indexer.datasette_plugin.counted import DATASET_CLAUSE

    db = make_datasette(built_catalog).get_database("catalog")
    walk = "+" + DATASET_CLAUSE.format(p="d0")
    sql = f"select id from model_summary where {walk} order by downloads desc, model_rowid limit 51"
    ran, fallback = asyncio.run(db.page_sql(sql, {"d0": "imagenet-1k"}))
    assert "EXISTS (SELECT 1 FROM model_datasets d WHERE d.model_id = model_summary.id" in ran and fallback == sql
    conn = sqlite3.connect(built_catalog)
    want = [r[0] for r in conn.execute(sql, {"d0": "imagenet-1k"})]
    assert want and [r[0] for r in conn.execute(ran, {"d0": "imagenet-1k"})] == want
    assert [r[0] for r in asyncio.run(db.execute(sql, {"d0": "imagenet-1k"})).rows] == want

    async def slow(self, sql, params):  # a walk that never ends in time
        return "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c", sql

    monkeypatch.setattr(counted.CatalogDatabase, "page_sql", slow)
    assert [r[0] for r in asyncio.run(db.execute(sql, {"d0": "imagenet-1k"})).rows] == want


# ---------------------------------------------------------------- the link tables' counts
@pytest.mark.parametrize("table,filters", [
    ("model_datasets", []), ("model_datasets", [("source", "timm")]), ("model_datasets", [("dataset_id", "imagenet-1k")]),
    ("metrics", []), ("metrics", [("metric", "top1"), ("source", "torchvision")]),
    ("model_relations", []), ("model_papers", []), ("model_papers", [("source", "timm")]),
])
def test_link_table_pages_read_their_counts_and_agree_with_the_rows(built_catalog, table, filters):
    from indexer.store.facets import LINK_COUNTS

    conn = sqlite3.connect(built_catalog)
    where = " AND ".join(["1"] + [f"[{c}] = ?" for c, _ in filters])
    args = [v for _, v in filters]
    data = _client(built_catalog)(f"/catalog/{table}.json?{urlencode(filters)}&_size=1")
    assert data["filtered_table_rows_count"] == conn.execute(
        f"SELECT count(*) FROM {table} WHERE {where}", args).fetchone()[0]
    got = _facets(data)
    for column in LINK_COUNTS[table][1]:
        want = conn.execute(f"SELECT [{column}], count(*) AS n FROM {table} WHERE {where} AND [{column}] IS NOT NULL "
                            f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT 30", args).fetchall()
        assert got[column] == [tuple(r) for r in want], column


def test_the_link_counts_follow_the_writer_and_the_pages_read_them(catalog_copy):
    """Rows replaced (INSERT OR REPLACE), changed, deleted and cascaded with their model keep the
    counts equal to the rows; a count poisoned by 1,000 shows on the page (read, not counted)."""
    from indexer.store.facets import fresh_facet_counts, kept_facet_counts

    conn = sqlite3.connect(catalog_copy)
    conn.execute("PRAGMA foreign_keys = ON")
    assert kept_facet_counts(conn)[4] == fresh_facet_counts(conn)[4] != []
    conn.execute("INSERT OR REPLACE INTO model_datasets (model_id, dataset_id, role, raw, source) "
                 "SELECT model_id, dataset_id, 'pretrain', raw, source FROM model_datasets LIMIT 3")
    conn.execute("INSERT OR REPLACE INTO metrics SELECT model_id, dataset_id, dataset_raw, 'top5', metric_raw, value, "
                 "source, origin FROM metrics LIMIT 4")
    conn.execute("UPDATE model_datasets SET role = 'finetune' WHERE rowid IN (SELECT rowid FROM model_datasets LIMIT 2 OFFSET 5)")
    conn.execute("DELETE FROM metrics WHERE rowid IN (SELECT rowid FROM metrics LIMIT 2 OFFSET 9)")
    conn.execute("DELETE FROM models WHERE id IN (SELECT model_id FROM model_papers LIMIT 2)")
    assert kept_facet_counts(conn)[4] == fresh_facet_counts(conn)[4]
    truth = conn.execute("SELECT count(*) FROM model_datasets WHERE role = 'pretrain'").fetchone()[0]
    conn.execute("UPDATE model_datasets_counts SET n = n + 1000 WHERE key = "
                 "(SELECT key FROM model_datasets_counts WHERE role = 'pretrain' AND n > 0 LIMIT 1)")
    conn.commit()
    conn.close()
    data = _client(catalog_copy)("/catalog/model_datasets.json?role=pretrain&_size=1")
    assert data["filtered_table_rows_count"] == truth + 1000 and dict(_facets(data)["role"])["pretrain"] == truth + 1000
    assert _client(catalog_copy)("/catalog/model_datasets.json?role=pretrain&raw__contains=a&_size=1")[
        "filtered_table_rows_count"] <= truth


def test_the_database_page_counts_tables_from_the_counts_and_skips_the_search_indexes(catalog_copy, monkeypatch):
    conn = sqlite3.connect(catalog_copy)
    truth = {t: conn.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0] for t in ("models", "model_datasets", "metrics")}
    conn.execute("UPDATE facet_counts SET n = n + 1000 WHERE key = (SELECT key FROM facet_counts LIMIT 1)")
    conn.commit()
    conn.close()
    tables = {t["name"]: t["count"] for t in _client(catalog_copy)("/catalog.json?_show_hidden=1")["tables"]}
    assert tables["models"] == truth["models"] + 1000  # read from the counts
    assert tables["model_datasets"] == truth["model_datasets"] and tables["metrics"] == truth["metrics"]
    # a small catalog: the search indexes' own tables are counted too (asked with a long time limit:
    # the page's 5 ms per table is a matter of the machine's load)
    counted = asyncio.run(make_datasette(catalog_copy).get_database("catalog").table_counts(limit=10_000))
    assert counted["models_fts"] is not None and counted["models_fts_data"] is not None
    from indexer.datasette_plugin import counted

    monkeypatch.setattr(counted, "COUNT_DB_SIZE_LIMIT", 0)  # as a catalog over 100 MB
    tables = {t["name"]: t["count"] for t in _client(catalog_copy)("/catalog.json?_show_hidden=1")["tables"]}
    assert tables["models_fts_data"] is None and tables["models"] == truth["models"] + 1000


def test_a_search_that_matches_many_walks_the_pages_order_and_a_rare_one_reads_its_matches(built_catalog):
    from indexer.datasette_plugin.counted import CatalogDatabase

    db = make_datasette(built_catalog).get_database("catalog")
    assert isinstance(db, CatalogDatabase)
    conn = sqlite3.connect(built_catalog)
    sql = ("select id from model_summary where model_rowid in (select rowid from models_fts where models_fts "
           "match escape_fts(:search)) order by downloads desc, model_rowid limit 51")
    for word, walks in (("resnet", True), ("resnet18", False)):
        ran, fallback = asyncio.run(db.page_sql(sql, {"search": word}))
        assert (ran == sql.replace(" model_rowid in (select", " +model_rowid in (select")) is walks, (word, ran)
        assert fallback == sql
        want = [r[0] for r in asyncio.run(db.execute(sql, {"search": word})).rows]
        assert want and len(want) == len(set(want)) and want == [
            r[0] for r in conn.execute(sql.replace("escape_fts(:search)", ":q"), {"q": f'"{word}"'})]


def test_facets_the_counts_cannot_answer_are_counted_in_one_pass_and_agree_with_the_rows(built_catalog):
    got = _facets(_client(built_catalog)("/catalog/model_summary.json?_search=resnet&_size=1"))
    conn = sqlite3.connect(built_catalog)
    rows = ("(SELECT * FROM model_summary WHERE model_rowid IN (SELECT rowid FROM models_fts "
            "WHERE models_fts MATCH '\"resnet\"'))")
    for col in COLUMNS:
        want = conn.execute(f"SELECT [{col}], count(*) AS n FROM {rows} WHERE [{col}] IS NOT NULL "
                            f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT 30").fetchall()
        assert got[col] == [tuple(r) for r in want] != [], col


def test_a_page_of_two_filters_reads_the_index_of_the_one_that_keeps_fewest(built_catalog):
    db = make_datasette(built_catalog).get_database("catalog")
    conn = sqlite3.connect(built_catalog)
    n_timm = conn.execute("SELECT count(*) FROM model_summary WHERE source = 'timm'").fetchone()[0]
    rare, n_rare = conn.execute("SELECT license, count(*) FROM model_summary WHERE license IS NOT NULL "
                                "GROUP BY 1 ORDER BY 2 LIMIT 1").fetchone()
    assert n_rare < n_timm
    sql = 'select id from model_summary where "source" = :p0 and "license" = :p1 order by downloads desc limit 51'
    params = {"p0": "timm", "p1": rare}
    ran, _ = asyncio.run(db.page_sql(sql, params))
    assert ran == sql.replace('"source"', '+"source"'), ran
    plan = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + ran, params))
    assert "idx_models_license_downloads" in plan, plan
    params = {"p0": "timm", "p1": "apache-2.0"}
    n_apache = conn.execute("SELECT count(*) FROM model_summary WHERE license = 'apache-2.0'").fetchone()[0]
    ran, _ = asyncio.run(db.page_sql(sql, params))
    assert ran == (sql.replace('"license"', '+"license"') if n_apache > n_timm else sql.replace('"source"', '+"source"'))
    assert [r[0] for r in asyncio.run(db.execute(sql, params)).rows] == [r[0] for r in conn.execute(sql, params)]


def test_the_papers_counts_per_dataset_follow_changes_made_by_hand(catalog_copy):
    """paper_dataset_counts (migration 0027) on the built catalog: changes made outside the writer
    (a model removed, an entity merged, a dataset row dropped, a better top-1) mark their entities;
    the check leaves the pairs they touch aside until settle_paper_datasets counts them again; a
    count that drifts is reported with the repair to run."""
    from indexer.store import Catalog
    from indexer.store.facets import fresh_facet_counts, kept_facet_counts, settle_paper_datasets

    conn = sqlite3.connect(catalog_copy)
    conn.execute("PRAGMA foreign_keys = ON")
    vit = "arxiv:2010.11929"
    before = dict(((d, p), n) for d, p, n in conn.execute(
        "SELECT dataset_id, paper_id, n_models FROM paper_dataset_counts WHERE paper_id = ?", (vit,)))
    assert before[("imagenet-1k", vit)] >= 5 and kept_facet_counts(conn)[5] == fresh_facet_counts(conn)[5] != []
    ids = [r[0] for r in conn.execute(
        "SELECT mp.model_id FROM model_papers mp JOIN model_datasets d ON d.model_id = mp.model_id "
        "AND d.dataset_id = 'imagenet-1k' JOIN models m ON m.id = mp.model_id "
        "WHERE mp.paper_id = ? AND m.removed_at IS NULL ORDER BY 1 LIMIT 4", (vit,))]
    conn.execute("UPDATE models SET removed_at = '2026-01-01' WHERE id = ?", (ids[0],))
    conn.execute("UPDATE models SET entity_id = (SELECT entity_id FROM models WHERE id = ?) WHERE id = ?", (ids[1], ids[2]))
    conn.execute("DELETE FROM model_datasets WHERE model_id = ? AND dataset_id = 'imagenet-1k'", (ids[3],))
    conn.execute("INSERT OR REPLACE INTO metrics (model_id, dataset_id, dataset_raw, metric, metric_raw, value, source) "
                 "SELECT ?, 'imagenet-1k', 'hand', 'top1', 'hand', 99.5, source FROM models WHERE id = ?", (ids[1], ids[1]))
    assert conn.execute("SELECT count(*) FROM paper_dataset_stale").fetchone()[0] >= 3
    assert kept_facet_counts(conn)[5] == fresh_facet_counts(conn)[5]  # the touched pairs left aside
    assert settle_paper_datasets(conn) >= 3
    assert conn.execute("SELECT count(*) FROM paper_dataset_stale").fetchone()[0] == 0
    assert kept_facet_counts(conn)[5] == fresh_facet_counts(conn)[5]
    n, top1 = conn.execute("SELECT n_models, best_top1 FROM paper_dataset_counts WHERE dataset_id = 'imagenet-1k' "
                           "AND paper_id = ?", (vit,)).fetchone()
    assert (n, top1) == (before[("imagenet-1k", vit)] - 3, 99.5)
    conn.execute("UPDATE paper_dataset_counts SET n_models = n_models + 1 WHERE paper_id = ? AND dataset_id = 'imagenet-1k'",
                 (vit,))
    conn.commit()
    conn.close()
    with Catalog.open(catalog_copy) as cat:
        [off] = [r for r in cat.check() if r.name == "facet counts follow the models"]
        assert any(f"models per dataset and paper imagenet-1k {vit}: {n} models" in p and "check --repair" in p
                   for p in off.examples), off
        cat.repair_counts()
        assert [r.problems for r in cat.check() if r.name == "facet counts follow the models"] == [0]


SEARCHED = [
    ("model_summary", "resnet", []),
    ("model_summary", "resnet", [("source", "timm")]),
    ("model_summary", "vit", [("task", "image-classification"), ("loadable", "1")]),
    ("models", "resnet", []),
]


@pytest.mark.parametrize("table,word,filters", SEARCHED, ids=[f"{t}?{w}&{urlencode(f)}" for t, w, f in SEARCHED])
def test_a_searched_pages_count_and_facets_read_its_rows_once_and_agree_with_them(built_catalog, monkeypatch,
                                                                                table, word, filters):
    """The count, the counted facets and the datasets facet of a search are one grouped pass over
    its matches (tally.py): 2.3M models' `ravi` read its 29,000 rows three times (300 ms)."""
    from datasette.database import Database

    ran = []
    execute = Database.execute

    async def logged(self, sql, *args, **kw):
        ran.append(" ".join(str(sql).split()))
        return await execute(self, sql, *args, **kw)

    monkeypatch.setattr(Database, "execute", logged)
    data = _client(built_catalog)(f"/catalog/{table}.json?{urlencode([('_search', word), *filters, ('_size', '1')])}")
    conn = sqlite3.connect(built_catalog)
    where = ["model_rowid" if table == "model_summary" else "rowid"]
    where = [f"{where[0]} IN (SELECT rowid FROM models_fts WHERE models_fts MATCH ?)",
             *(f"[{c}] = ?" for c, _ in filters)]
    params = [f'"{word}"', *(v for _, v in filters)]
    rows = f"(SELECT * FROM [{table}] WHERE {' AND '.join(where)})"
    assert data["filtered_table_rows_count"] == conn.execute(f"SELECT count(*) FROM {rows}", params).fetchone()[0] > 0
    got = _facets(data)
    for col in COLUMNS:
        want = conn.execute(f"SELECT [{col}], count(*) AS n FROM {rows} WHERE [{col}] IS NOT NULL "
                            f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT 30", params).fetchall()
        assert got[col] == [tuple(r) for r in want] != [], col
    if table == "model_summary":
        want = conn.execute(f"SELECT j.value, count(*) AS n FROM {rows} r, json_each(r.datasets) j "
                            f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT 30", params).fetchall()
        assert got["datasets"] == [tuple(r) for r in want] != []
    over_rows = [sql for sql in ran if f" from {table} where " in sql and "models_fts match" in sql
                 and " limit " not in sql]
    assert len(over_rows) == 1 and " group by " in over_rows[0], over_rows


def test_a_search_and_a_common_dataset_share_one_pass_too(built_catalog):
    """The page's count reads the dataset's models walked (`+model_rowid IN`), its facets listed:
    one pass all the same, and the facets shown (a second pass under the facets' time limit
    dropped them on 2.3M models)."""
    from indexer.datasette_plugin import tally
    from indexer.datasette_plugin.counted import DATASET_CLAUSE, unwalked

    search = "model_rowid in (select rowid from models_fts where models_fts match escape_fts(:search))"
    dataset = DATASET_CLAUSE.format(p="mc_dataset_0")
    token = tally.begin()
    try:
        walked = tally.tallied(unwalked(f"select count(*) from model_summary where {search} and +{dataset}"))
        listed = tally.tallied(f"select id, name from model_summary where {search} and {dataset}")
    finally:
        tally.end(token)
    assert walked == listed == ("model_summary", f"from model_summary where {search} and {dataset}")
    assert tally.tallied(f"select count(*) from model_summary where {search}") is None  # outside a request
    got = _facets(_client(built_catalog)("/catalog/model_summary.json?_search=resnet&_dataset=imagenet-1k&_size=1"))
    assert dict(got["datasets"])["imagenet-1k"] == dict(got["task"])["image-classification"] > 0
