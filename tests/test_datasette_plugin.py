"""modelcat's Datasette plugin through Datasette's own client: the home page, the cells (load
snippet, badges, sizes, paper titles, links), the stored queries with their parameters, the
chart, the facets, read-only serving; and plain `datasette catalog.db` getting all of it."""

from __future__ import annotations

import asyncio
import html
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.serve import make_datasette


def client(db: Path):
    ds = make_datasette(db)
    asyncio.run(ds.invoke_startup())

    def get(path, status=200):
        r = asyncio.run(ds.client.get(path))
        assert r.status_code == status, (path, r.status_code, r.text[:300])
        return r

    return get


@pytest.fixture(scope="module")
def built(built_catalog):
    return client(built_catalog)


@pytest.fixture(scope="module")
def small(loader_catalog):
    return client(loader_catalog)


def text(html_page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(html_page)))


# ---------------------------------------------------------------------- home page
def test_home_page_explains_the_catalog_with_sources_counts_and_freshness(built, built_catalog):
    page = built("/").text
    assert "A catalog of pretrained models" in page
    intro = text(re.search(r"<p>A catalog of pretrained models(.*?)</p>", page, re.S).group(1))
    for source in ("timm", "torchvision", "OpenCLIP", "torchaudio", "Hugging Face Hub", "PyTorch Hub", "NGC", "Kaggle"):
        assert source in intro, source  # every source that writes models
    con = sqlite3.connect(built_catalog)
    for source, count in con.execute(
            "SELECT source, count(*) FROM models WHERE removed_at IS NULL GROUP BY source"):
        finished = con.execute("SELECT max(finished_at) FROM runs WHERE source = ? AND status = 'ok'",
                               (source,)).fetchone()[0]
        row = re.search(rf'<tr>\s*<td><a href="/catalog/model_summary\?source={source}">{source}</a></td>(.*?)</tr>',
                        page, re.S)
        assert row, source
        cells = text(row.group(1)).split()
        assert cells[0] == f"{count:,}" and "ok" in cells
        assert f"{finished[:10]} {finished[11:16]} UTC" in text(row.group(1))
    entities = con.execute("SELECT count(*) FROM entities").fetchone()[0]  # read from the entity counts
    assert f"({entities:,} distinct models," in text(page)
    for query in ("open_classifiers", "best_top1_under_size", "torchhub_small_classifiers",
                  "github_pretrained_classifiers", "papers_behind_imagenet_models", "last_refresh_changes",
                  "search_everything"):
        assert f'href="/catalog/{query}"' in page
    assert 'href="/-/modelcat/chart?db=catalog"' in page


def test_a_source_that_never_ran_or_failed_says_so(small):
    page = small("/").text
    assert "never run" in page  # the loader catalog was written without a refresh


# ---------------------------------------------------------------------- cells
def test_model_ids_carry_the_load_snippet_and_link_to_their_row(small):
    page = small("/catalog/model_summary?_size=max").text
    cell = re.search(r'<td class="col-id[^"]*">(<a class="mc-id" href="/catalog/models/timm~3Atest_resnet[^<]*</a>.*?)</td>',
                     page, re.S).group(1)
    assert 'load_model(&quot;timm:test_resnet.r160_in1k&quot;)' in cell
    assert 'data-copy="load_model(&quot;timm:test_resnet.r160_in1k&quot;)"' in cell
    gguf = re.search(r'<td class="col-id[^"]*">(<a class="mc-id" href="[^"]*acme~2Ftiny-gguf.*?)</td>', page, re.S).group(1)
    assert "load_model(" not in gguf and "not loadable" in gguf and "llama.cpp" in gguf


def test_badges_sizes_parameters_and_links(built):
    page = built("/catalog/model_summary?source=torchvision&_sort=id&_size=5&_wide=1").text
    assert '<span class="mc-badge mc-permissive">permissive</span>' in page
    assert re.search(r'<td class="col-size_mb[^"]*">\d[\d,]*\.\d&nbsp;MB</td>', page)
    assert re.search(r'<td class="col-params_m[^"]*">\d[\d,]*\.\d\d&nbsp;M</td>', page)
    assert re.search(r'<a href="https://pytorch.org/vision/[^"]*" rel="noopener">pytorch.org&nbsp;↗</a>', page)
    models = built("/catalog/models?source=torchvision&_size=2").text
    assert re.search(r'<span title="[\d,]+ bytes">\d[\d,]*\.\d&nbsp;MB</span>', models)


def test_paper_ids_show_their_titles(small):
    page = small("/catalog.json?sql=select+'arxiv:1512.03385'+as+papers&_shape=array")
    assert page.json() == [{"papers": "arxiv:1512.03385"}]
    rendered = small("/catalog?sql=select+'arxiv:1512.03385+arxiv:9999.99999'+as+papers").text
    assert '>Deep Residual Learning for Image Recognition</a>' in rendered
    assert 'href="/catalog/papers/arxiv~3A1512~2E03385"' in rendered
    assert '>arxiv:9999.99999</a>' in rendered  # unknown: its id


def test_foreign_keys_to_papers_and_models(small, built):
    page = small("/catalog/model_papers").text
    assert '>Deep Residual Learning for Image Recognition</a>' in page and ">None<" not in page
    assert 'load_model(&quot;timm:test_resnet.r160_in1k&quot;)' in page
    unread = built("/catalog/model_papers?_size=3").text  # papers the arxiv source has not read: their ids
    assert ">None<" not in unread and re.search(r'>arxiv:\d{4}\.\d{4,5}</a>', unread)


def test_lists_of_ids_become_links(built):
    page = built("/catalog/open_classifiers?max_mb=5&_wide=1").text
    assert re.search(r'<td class="col-ids[^"]*"><a href="/catalog/models/timm~3A', page)


def test_long_lists_in_a_cell_show_the_first_few_and_link_to_the_whole_list(tmp_path, list_source):
    """A paper named by thousands of models made paper_summary a 10 MB page: a cell shows the first
    LIST_CAP ids, then "... and N more" linking to the page that lists them all."""
    from indexer.datasette_plugin import LIST_CAP
    from indexer.refresh import refresh

    n = LIST_CAP + 15
    list_source("toy", [{"name": f"m{i:02d}", "papers": ["2101.00001"], "entity_id": "toy:family"} for i in range(n)]
                + [{"name": "alone", "papers": ["2101.00002"]}])
    db = tmp_path / "catalog.db"
    refresh(db, ["toy"])
    get = client(db)
    page = get("/catalog/paper_summary?id=arxiv:2101.00001&_wide=1").text
    cell = re.search(r'<td class="col-models[^"]*">(.*?)</td>', page, re.S).group(1)
    assert cell.count('<a href="/catalog/models/toy~3A') == LIST_CAP
    more = re.search(r'<a class="mc-more" href="([^"]+)">… and 15 more</a>', cell)
    assert more, cell
    whole = get(html.unescape(more.group(1)) + "&_size=max").text
    assert whole.count('href="/catalog/models/toy~3Am') == n  # every one of them, on the linked page
    short = get("/catalog/paper_summary?id=arxiv:2101.00002&_wide=1").text
    assert "mc-more" not in short and 'href="/catalog/models/toy~3Aalone"' in short
    entity = get("/catalog/model_entities?entity=toy:family&_wide=1").text
    more = re.search(r'<a class="mc-more" href="([^"]+)">… and 15 more</a>', entity)
    assert more and len(set(re.findall(r"toy:m\d\d", get(html.unescape(more.group(1))).text))) == n


def test_the_plugin_registers_whole_whatever_is_imported_first():
    """`from indexer.datasette_plugin import ...` before Datasette had loaded its plugins registered
    this plugin half-defined (no render_cell) and Datasette's own exception handler not at all."""
    code = ("import indexer.datasette_plugin\n"
            "from datasette.plugins import pm\n"
            "print(sorted({i.plugin_name for i in pm.hook.render_cell.get_hookimpls()}),"
            " sorted({i.plugin_name for i in pm.hook.handle_exception.get_hookimpls()}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "['modelcat'] ['datasette.handle_exception', 'modelcat']"


# ---------------------------------------------------------------------- stored queries
def rows(get, query: str, **params) -> list[dict]:
    qs = "&".join(f"{k}={v}" for k, v in params.items())
    return get(f"/catalog/{query}.json?_shape=array&{qs}").json()


def test_the_seed_question_with_its_parameters(built):
    default = rows(built, "open_classifiers")
    assert default and all(r["size_mb"] < 100 and r["license_family"] in ("permissive", "copyleft") for r in default)
    every = rows(built, "open_classifiers", open=0)
    assert {r["id"] for r in default} < {r["id"] for r in every}
    assert any(r["license_family"] == "non-commercial" for r in every)
    small = rows(built, "open_classifiers", max_mb=10)
    assert small and {r["id"] for r in small} < {r["id"] for r in default}
    assert all(r["loadable"] == 1 for r in default)


def test_best_top1_under_a_size(built, built_catalog):
    best = rows(built, "best_top1_under_size", max_mb=50)
    tops = [r["imagenet_top1"] for r in best]
    fits = sqlite3.connect(built_catalog).execute(
        "SELECT count(DISTINCT m.entity_id) FROM models m JOIN metrics x ON x.model_id = m.id "
        "WHERE m.removed_at IS NULL AND x.dataset_id = 'imagenet-1k' AND x.metric = 'top1' "
        "AND m.size_bytes < 50000000").fetchone()[0]
    assert len(best) == min(50, fits) > 10 and tops == sorted(tops, reverse=True)
    assert all(r["size_mb"] < 50 for r in best)
    assert len({r["id"] for r in best}) == len(best)
    opened = rows(built, "best_top1_under_size", max_mb=50, open=1)
    assert all(r["license_family"] in ("permissive", "copyleft") for r in opened)
    assert rows(built, "best_top1_under_size", max_mb=50, limit=3) == best[:3]


def test_what_changed_in_the_last_refresh(tmp_path, list_source):
    from indexer.refresh import refresh

    toy = list_source("toy", [{"name": "a"}, {"name": "b", "num_params": 1}, {"name": "c"}])
    db = tmp_path / "catalog.db"
    refresh(db, ["toy"])
    toy.raws = [{"name": "b", "num_params": 2}, {"name": "c"}, {"name": "d"}]
    refresh(db, ["toy"])
    changes = {r["id"]: r["change"] for r in rows(client(db), "last_refresh_changes")}
    assert changes == {"toy:a": "removed", "toy:b": "changed", "toy:d": "new"}
    assert rows(client(db), "last_refresh_changes", source="timm") == []


def test_search_everything(small):
    found = rows(small, "search_everything", q="residual")
    assert [(r["kind"], r["id"]) for r in found] == [("paper", "arxiv:1512.03385")]
    kinds = {r["kind"] for r in rows(small, "search_everything", q="acme")}
    assert {"model", "repository"} <= kinds
    assert rows(small, "search_everything", q='tiny "vit') and rows(small, "search_everything", q="tiny-vit")


def test_every_stored_query_runs_with_its_defaults(built):
    queries = built("/catalog.json").json()["queries"]
    assert {q["name"] for q in queries} >= {
        "open_classifiers", "best_top1_under_size", "torchhub_small_classifiers", "github_pretrained_classifiers",
        "papers_behind_imagenet_models", "last_refresh_changes", "search_everything"}
    for q in queries:
        built(f"/catalog/{q['name']}.json?_shape=array")


# ---------------------------------------------------------------------- chart
def test_chart_of_accuracy_against_size(built, built_catalog):
    page = built("/-/modelcat/chart?max_mb=100&open=1").text
    dots = re.findall(r'<circle class="mc-dot"[^>]*><title>([^<]*)</title>', page)
    con = sqlite3.connect(built_catalog)
    expected = con.execute(
        "SELECT count(DISTINCT m.entity_id) FROM models m JOIN metrics x ON x.model_id = m.id "
        "WHERE m.removed_at IS NULL AND x.dataset_id = 'imagenet-1k' AND x.metric = 'top1' "
        "AND m.size_bytes > 0 AND m.size_bytes < 100000000 AND m.is_open = 1 AND m.is_test = 0").fetchone()[0]
    assert len(dots) == expected > 400  # timm's published results fill it (torchvision alone: 58)
    assert any(d.startswith("timm:") for d in dots) and not any(d.startswith("timm:test_") for d in dots)
    assert all("% top-1" in d and " MB" in d for d in dots)
    every = built("/-/modelcat/chart?max_mb=5000&open=0").text  # SWAG weights: cc-by-nc, over 100 MB
    assert len(re.findall(r'class="mc-dot"', every)) > len(re.findall(
        r'class="mc-dot"', built("/-/modelcat/chart?max_mb=5000&open=1").text)) > len(dots)
    assert "non-commercial" in every
    # its defaults are the table's it links to (best_top1_under_size: 100 MB, every license)
    default = built("/-/modelcat/chart").text
    assert default.count('class="mc-dot"') == built("/-/modelcat/chart?max_mb=100&open=0").text.count('class="mc-dot"')
    assert "best_top1_under_size?max_mb=100&amp;open=0" in default
    # the legend is above the plot: no dot under it
    legend_y = max(float(v) for v in re.findall(r'class="mc-legend" cx="[^"]+" cy="([^"]+)"', default))
    assert legend_y + 5 < min(float(v) for v in re.findall(r'class="mc-dot" cx="[^"]+" cy="([^"]+)"', default)) - 4
    built("/-/modelcat/chart?max_mb=lots", status=400)
    assert "No model matches" in built("/-/modelcat/chart?max_mb=0.001").text


# ---------------------------------------------------------------------- facets, safety
def test_default_facets_include_license_and_loadable(small):
    facets = small("/catalog/model_summary.json?_size=0").json()["facet_results"]
    assert {"task", "license_family", "library", "source", "license", "loadable", "datasets"} <= set(facets)


def test_the_datasets_list_facet_counts_models_per_dataset_and_narrows_on_a_click(built, built_catalog):
    con = sqlite3.connect(built_catalog)
    expected = dict(con.execute(
        "SELECT d.dataset_id, count(*) FROM model_datasets d JOIN models m ON m.id = d.model_id "
        "WHERE m.removed_at IS NULL AND m.source = 'timm' GROUP BY d.dataset_id"))
    data = built("/catalog/model_summary.json?source=timm&_size=0&_facet_size=max").json()
    facet = data["facet_results"]["datasets"]
    assert facet["type"] == "list"
    assert {r["value"]: r["count"] for r in facet["results"]} == expected
    counts = [r["count"] for r in facet["results"]]
    assert counts == sorted(counts, reverse=True)
    top = facet["results"][0]
    assert f"_dataset={top['value']}" in top["toggle_url"]  # through model_datasets' index
    narrowed = built(top["toggle_url"].replace("http://localhost", "")).json()  # a JSON page links JSON
    assert narrowed["filtered_table_rows_count"] == top["count"]
    # the same rows as Datasette's own filter on the list, which reads every row's list
    small = facet["results"][-1]["value"]
    slow = built(f"/catalog/model_summary.json?source=timm&_shape=objects&datasets__arraycontains={small}").json()
    fast = built(f"/catalog/model_summary.json?source=timm&_shape=objects&_dataset={small}").json()
    assert sorted(r["id"] for r in fast["rows"]) == sorted(r["id"] for r in slow["rows"]) and fast["rows"]
    both = built(f"/catalog/model_summary.json?_size=0&_dataset={top['value']}&_dataset=no-such-set").json()
    assert both["filtered_table_rows_count"] == 0  # every one must hold
    page = built(f"/catalog/model_summary?_dataset={top['value']}").text
    assert f'datasets has &#34;{top["value"]}&#34;' in page or f'datasets has "{top["value"]}"' in page
    again = {r["value"]: r for r in narrowed["facet_results"]["datasets"]["results"]}
    assert again[top["value"]]["selected"] and again[top["value"]]["count"] == top["count"]
    # asked for by URL on a page whose metadata does not name it
    asked = built("/catalog/models.json?_size=0&_facet_list=tags&source=torchvision").json()["facet_results"]
    assert asked["tags"]["type"] == "list" and asked["tags"]["results"]


def test_read_only(built_catalog):
    ds = make_datasette(built_catalog)
    r = asyncio.run(ds.client.get("/catalog.json?sql=delete+from+models"))
    assert r.status_code == 400 and r.json()["error"] == "Statement must be a SELECT"
    for path in ("/catalog/models/-/insert", "/catalog/-/create", "/catalog/models/-/drop"):
        r = asyncio.run(ds.client.post(path, json={"row": {"id": "x"}}))
        assert r.status_code in (403, 404, 405), path
    assert sqlite3.connect(built_catalog).execute("SELECT count(*) FROM models WHERE id = 'x'").fetchone()[0] == 0


def test_css_is_served(small):
    r = small("/-/modelcat/modelcat.css")
    assert ".mc-badge" in r.text and r.headers["content-type"].startswith("text/css")


def test_plain_datasette_with_the_plugin_installed(built_catalog):
    """`datasette catalog.db` (the plugin comes through the entry point): the stored queries,
    the home page and the cells, without modelcat serve."""
    datasette = Path(sys.executable).with_name("datasette")
    out = subprocess.run([str(datasette), str(built_catalog), "--get", "/catalog/best_top1_under_size.json?_shape=array&limit=2"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(json.loads(out.stdout)) == 2
    home = subprocess.run([str(datasette), str(built_catalog), "--get", "/"], capture_output=True, text=True,
                          timeout=120)
    assert "A catalog of pretrained models" in home.stdout


def test_other_databases_are_left_alone(tmp_path):
    """With modelcat installed, a Datasette serving someone else's database sees no change."""
    from datasette.app import Datasette

    from indexer.serve import ensure_plugin

    ensure_plugin()
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE things (id TEXT, license_family TEXT, size_mb REAL)")
    con.execute("INSERT INTO things VALUES ('timm:x', 'permissive', 1.5)")
    con.commit()
    con.close()
    ds = Datasette([str(other)])
    asyncio.run(ds.invoke_startup())
    home = asyncio.run(ds.client.get("/")).text
    assert "A catalog of pretrained models" not in home and 'href="/other"' in home
    page = asyncio.run(ds.client.get("/other/things")).text
    assert "load_model(" not in page and "mc-badge" not in page and "Size (MB)" not in page
    assert "modelcat.css" not in page and "mc-copy" not in page
    assert asyncio.run(ds.get_database("other").execute("PRAGMA cache_size")).first()[0] == -2000  # SQLite's default


def test_catalog_connections_keep_pages_between_requests(built_catalog):
    """The plugin gives a catalog's read connections a bigger page cache (P3's seed question),
    and, where Datasette was given the metadata (modelcat serve), no per-call copy of it."""
    from datasette.plugins import pm

    from indexer.datasette_plugin import READ_CACHE_KB

    ds = make_datasette(built_catalog)
    asyncio.run(ds.invoke_startup())
    assert asyncio.run(ds.get_database("catalog").execute("PRAGMA cache_size")).first()[0] == -READ_CACHE_KB
    assert pm.hook.get_metadata(datasette=ds, key=None, database="catalog", table=None) == []
    assert "open_classifiers" in ds.metadata(database="catalog")["queries"]  # still there, once


def test_the_leaderboard_ranks_a_dataset_and_metric_with_who_reported_it(built):
    assert 'href="/catalog/leaderboard"' in built("/").text  # the home page asks it
    board = rows(built, "leaderboard")
    values = [r["value"] for r in board]
    assert len(board) == 100 and values == sorted(values, reverse=True) and values[0] > 88
    assert {r["reported_by"] for r in board} <= {"timm", "torchvision"}
    assert all("timm results-imagenet.csv" in r["measured_on"] for r in board if r["reported_by"] == "timm")
    small = rows(built, "leaderboard", max_mb=100, open=1, limit=5)
    assert len(small) == 5 and all(r["size_mb"] < 100 and r["license_family"] in ("permissive", "copyleft")
                                   for r in small) and small[0]["value"] > 86
    real = rows(built, "leaderboard", dataset="imagenet-real", limit=3)
    assert len(real) == 3 and all(r["reported_by"] == "timm" for r in real)
    assert not any(":test_" in r["id"] for r in rows(built, "leaderboard", limit=2000))


# ---------------------------------------------------------------------- a model's page
def test_a_model_page_lists_its_metrics_with_their_origin(built):
    page = built("/catalog/models/timm~3Aresnet18~2Ea1_in1k").text
    section = text(page.split('<section class="mc-metrics">', 1)[1].split("</section>", 1)[0])
    assert "ImageNet-1K validation, 224 px (timm results-imagenet.csv) (imagenet-1k) top1 71.504 this id timm" in section
    assert "ImageNet-1K validation, 288 px (timm results-imagenet.csv) (imagenet-1k) top1 (top1@288px) 73.164" in section
    assert "huggingface/pytorch-image-models @aa4b5850c154 results/results-imagenet.csv" in section
    assert "disagree" not in section


def test_ids_of_the_same_weights_that_disagree_are_both_shown_and_the_page_says_which(catalog_copy):
    """timm's resnet50.tv2_in1k downloads torchvision's IMAGENET1K_V2 file: once they are one entity,
    the page lists both sources' ImageNet top-1 (timm's at 176 px, torchvision's at 224), marks the
    conflict, and says which value each place shows. Strangers' text in a metric stays text."""
    con = sqlite3.connect(catalog_copy)
    # one entity from the evidence (the same file, store/evidence.py), not set by hand
    assert con.execute("SELECT entity_id FROM models WHERE id = 'timm:resnet50.tv2_in1k'").fetchone()[0] == \
        "torchvision:resnet50.IMAGENET1K_V2"
    con.execute("INSERT INTO metrics (model_id, dataset_raw, metric, metric_raw, value, source, origin) VALUES "
                "('timm:resnet50.tv2_in1k', '<b>odd</b>', 'x', 'x', 1, 'hf', '<script>alert(1)</script>')")
    con.commit()
    con.close()
    get = client(catalog_copy)
    page = get("/catalog/models/timm~3Aresnet50~2Etv2_in1k").text
    section = page.split('<section class="mc-metrics">', 1)[1].split("</section>", 1)[0]
    assert "<script>alert" not in section and "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert "<b>odd</b>" not in section
    plain = text(section)
    assert "The sources disagree on 2 results for these weights" in plain  # top-1 and top-5
    assert ("imagenet-1k top1: 79.434 from timm:resnet50.tv2_in1k [timm]; 80.858 from "
            "torchvision:resnet50.IMAGENET1K_V2 [torchvision] (shown here: 79.434); ranked by 80.858.") in plain
    assert 'href="/catalog/models/torchvision~3Aresnet50~2EIMAGENET1K_V2"' in section
    assert section.count('class="mc-conflict"') == 4
    other = text(get("/catalog/models/torchvision~3Aresnet50~2EIMAGENET1K_V2").text)
    assert "(shown here: 80.858); ranked by 80.858." in other


@pytest.mark.parametrize("text", ["", " ", '"', '""', '"""', "'", "*", "(", ")", "NEAR(", "-x", "a:b", "^", "AND", "OR NOT",
                                  'resnet "50', "🤗", "\\", "%", "a\tb", '" OR "'])
def test_whatever_is_typed_in_a_search_box_is_searched_never_an_error(small, text):
    from urllib.parse import quote

    for path in ("/catalog/model_summary", "/catalog/models", "/catalog/papers", "/catalog/repos"):
        page = small(f"{path}?_search={quote(text)}")  # asserts HTTP 200
        assert "Invalid SQL" not in page.text and "syntax error" not in page.text
    data = small(f"/catalog/model_summary.json?_search={quote(text)}&_shape=objects").json()
    assert isinstance(data["rows"], list)


def test_a_search_with_words_still_narrows(small):
    every = small("/catalog/model_summary.json?_size=0").json()["filtered_table_rows_count"]
    found = small('/catalog/model_summary.json?_search=%22resnet&_shape=objects').json()
    assert 0 < len(found["rows"]) < every and all("resnet" in r["id"] for r in found["rows"])


def test_a_stored_query_opens_with_its_answer_titled_in_words_and_its_defaults_shown(built):
    from indexer.datasette_plugin.metadata import metadata_for_database

    queries = metadata_for_database("catalog")["databases"]["catalog"]["queries"]
    page = built("/catalog/open_classifiers").text
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1).strip()
    assert title == html.escape(queries["open_classifiers"]["title"]) and "select" not in title.lower()
    assert "<pre id=\"sql-query\">" not in page and "<textarea id=\"sql-editor\"" not in page and "/catalog/open_classifiers?_show_sql=1" in page  # the SQL one click away
    boxes = dict(re.findall(r'<input type="text" id="qp\d+" name="(\w+)" value="([^"]*)"', page))
    assert boxes == {"task": "image-classification", "dataset": "imagenet-1k", "open": "1", "max_mb": "100",
                     "include_test": "0"}
    asked = dict(re.findall(r'<input type="text" id="qp\d+" name="(\w+)" value="([^"]*)"',
                            built("/catalog/open_classifiers?max_mb=25").text))
    assert asked["max_mb"] == "25" and asked["task"] == "image-classification"
    shown = built("/catalog/open_classifiers?_show_sql=1").text
    assert "<pre id=\"sql-query\">" in shown and "coalesce(nullif(:max_mb" in shown



def test_a_model_page_reads_like_a_model_card(catalog_copy):
    """Issue #19: the page opens with what the model is, its license (family, id, raw), size, task,
    training data, top-1, papers by title, code and its load line; the raw row (every column and
    the tables linking to it) one click away, inside <details>."""
    import sqlite3

    from datasette.utils import tilde_encode

    conn = sqlite3.connect(catalog_copy)
    conn.execute("UPDATE papers SET title = 'ResNet strikes back: An improved training procedure in timm' "
                 "WHERE id = 'arxiv:2110.00476'")
    conn.commit()
    conn.close()
    get = client(catalog_copy)
    page = get(f"/catalog/models/{tilde_encode('timm:resnet18.a1_in1k')}").text
    card = page[page.index('<article class="mc-card">'):page.index("</article>")]
    shown = text(card)
    for want in ("image-classification", "permissive", "apache-2.0", "11.7 M parameters", "46.8 MB",
                 "ImageNet-1K top-1 71.5", "imagenet-1k", "ResNet strikes back", "(arxiv:2110.00476)",
                 "huggingface/pytorch-image-models", 'load_model("timm:resnet18.a1_in1k")'):
        assert want in shown, (want, shown[:800])
    assert f'href="/catalog/papers/{tilde_encode("arxiv:2110.00476")}"' in card
    raw = page[page.index('<details class="mc-raw">'):]
    assert "record_hash" in raw and "</details>" in raw  # the raw row, one click away
    # a paper whose title the arxiv source has not read yet says so, by its id
    conn = sqlite3.connect(catalog_copy)
    conn.execute("UPDATE papers SET title = NULL WHERE id = 'arxiv:2110.00476'")
    conn.commit()
    conn.close()
    shown = text(client(catalog_copy)(f"/catalog/models/{tilde_encode('timm:resnet18.a1_in1k')}").text)
    assert "arxiv:2110.00476 (its title comes with the arxiv source's next refresh)" in shown


def test_paper_and_repository_pages_read_like_cards(catalog_copy):
    """Issue #19: a paper's page opens with its title, authors, date, abstract, the models that name
    it (the first few, then a link to all) and its code; a repository's with its name,
    description, license, topics, the models and papers linked to it. Strangers' text stays text;
    a link a stranger wrote is a link only when it is a web address. The raw row is one click away."""
    import sqlite3

    from datasette.utils import tilde_encode

    conn = sqlite3.connect(catalog_copy)
    conn.execute("UPDATE papers SET title = 'ResNet <script>alert(1)</script> strikes back', "
                 "authors = json_array('Ross Wightman', 'Hugo Touvron', 'Hervé Jégou'), published = '2021-10-01T00:00:00Z', "
                 "abstract = 'We revisit the training.', fetched_at = '2026-01-01' WHERE id = 'arxiv:2110.00476'")
    conn.execute("INSERT OR IGNORE INTO paper_repos (paper_id, repo_id, source, official) "
                 "VALUES ('arxiv:2110.00476', 'github:huggingface/pytorch-image-models', 'test', 1)")
    conn.execute("UPDATE repos SET description = 'PyTorch image models', topics = json_array('pytorch', 'imagenet'), "
                 "homepage = 'javascript:alert(1)' WHERE id = 'github:huggingface/pytorch-image-models'")
    conn.commit()
    n = conn.execute("SELECT count(*) FROM model_papers mp JOIN models m ON m.id = mp.model_id "
                     "WHERE mp.paper_id = 'arxiv:2110.00476' AND m.removed_at IS NULL").fetchone()[0]
    conn.close()
    get = client(catalog_copy)
    page = get(f"/catalog/papers/{tilde_encode('arxiv:2110.00476')}").text
    card = page[page.index('<article class="mc-card">'):page.index("</article>")]
    shown = text(card)
    assert "<script>alert(1)</script>" not in page and "ResNet &lt;script&gt;alert(1)&lt;/script&gt; strikes back" in card
    for want in ("Ross Wightman, Hugo Touvron, Hervé Jégou",
                 "2021-10-01", "We revisit the training.", "huggingface/pytorch-image-models (official)"):
        assert want in shown, (want, shown[:600])
    assert n > 20 and card.count('href="/catalog/models/timm~3A') == 20
    assert f"all {n:,}" in shown and 'href="/catalog/model_papers?paper_id=arxiv%3A2110.00476"' in card
    assert "record_hash" in page[page.index('<details class="mc-raw">'):]
    repo = get(f"/catalog/repos/{tilde_encode('github:huggingface/pytorch-image-models')}").text
    card = repo[repo.index('<article class="mc-card">'):repo.index("</article>")]
    shown = text(card)
    for want in ("PyTorch image models", "pytorch, imagenet"):
        assert want in shown, (want, shown[:600])
    assert "ResNet &lt;script&gt;alert(1)&lt;/script&gt; strikes back" in card
    assert "javascript:" not in card and "homepage" not in shown
    assert 'href="/catalog/models/timm~3A' in card


def test_facets_are_titled_and_valued_in_words(built):
    """Issue #19 item 4: facet titles and coded values come from one place (metadata.yml's
    modelcat_labels): "License family", not license_family; "Trained on", not "datasets (array)";
    loadable yes/no, not 1/0."""
    page = built("/catalog/model_summary?source=timm").text
    titles = [t.strip() for t in re.findall(r'<p class="facet-info-name">\s*<strong>([^<]*)', page)]
    assert {"Task", "License family", "Library", "Source", "License", "Loadable", "Trained on"} <= set(titles), titles
    assert not any("_" in t or "(" in t for t in titles), titles
    loadable = page[page.index('data-column="loadable"'):]
    loadable = loadable[:loadable.index("</ul>")]
    assert re.search(r">yes</a>", loadable) or "yes &middot;" in loadable
    assert not re.search(r">[01]</a>", loadable)


def test_a_stored_query_says_how_many_answers_and_pages_them(built):
    """Issue #19 item 1: "593 answers, 1 to 100 below", not "Custom SQL query returning 593 rows";
    100 to a page with next/previous links; JSON and CSV still carry every answer."""
    page = built("/catalog/open_classifiers").text
    total = len(built("/catalog/open_classifiers.json?_shape=array").json())
    assert total > 100
    heading = text(re.search(r"<h3>(.*?)</h3>", page, re.S).group(1))
    assert heading.startswith(f"{total:,} answers, 1 to 100 below") and "Custom SQL" not in page
    assert page.count("<tr>") - 1 == 100
    nxt = re.search(r'<p class="mc-pages">.*?<a href="([^"]+)">next 100</a>', page, re.S).group(1)
    assert "_page=2" in nxt
    second = built(html.unescape(nxt)).text
    rows = lambda p: re.findall(r'<td class="col-id">(.*?)</td>', p, re.S)  # noqa: E731
    assert rows(second) and not set(rows(second)) & set(rows(page))
    assert "previous 100" in second
    # a page past the end shows the last; SQL typed by hand keeps Datasette's own heading
    last = built("/catalog/open_classifiers?_page=999").text
    assert f"to {total:,} below" in text(last)
    assert "Custom SQL query returning 1 row" in text(built("/catalog?sql=select+1").text)


def test_parameter_boxes_and_headings_are_in_words(built):
    """Issue #19: a stored query's boxes say what they take (the name stays the query string's and
    the box's tooltip); the model pages' headings do not end in "(view)"."""
    page = built("/catalog/open_classifiers").text
    labels = dict((name, label) for name, label in re.findall(
        r'<label for="qp\d+" title="(\w+)">([^<]*)</label>', page))
    assert labels["open"] == "Open licenses only (1 = yes, 0 = every license)"
    assert labels["max_mb"] == "Smaller than (MB)" and labels["include_test"].startswith("Include test models")
    assert all(label != name for name, label in labels.items()), labels
    assert re.search(r'<input type="text" id="qp\d+" name="max_mb" value="100">', page)
    for table in ("model_summary", "model_entities", "paper_summary"):
        heading = re.search(r"<h1>(.*?)</h1>", built(f"/catalog/{table}").text, re.S).group(1)
        assert "(view)" not in heading and heading.strip(), (table, heading)


def test_a_model_page_says_what_each_source_says_of_the_same_weights(catalog_copy):
    """timm's resnet50.tv2_in1k downloads torchvision's IMAGENET1K_V2 file: the page of either
    lists both ids, field by field (license as written, id and family; task; size; datasets;
    top-1), marks the fields they disagree on, and keeps a stranger's text as text."""
    con = sqlite3.connect(catalog_copy)
    timm_id = "timm:resnet50.tv2_in1k"
    tv_id = con.execute("SELECT entity_id FROM models WHERE id = ?", (timm_id,)).fetchone()[0]
    assert tv_id == "torchvision:resnet50.IMAGENET1K_V2"
    con.execute("UPDATE models SET license_raw = '<b>Apache</b> 2.0' WHERE id = ?", (timm_id,))
    con.commit()
    want = {r[0]: r[1:] for r in con.execute(
        "SELECT id, license, license_family, imagenet_top1 FROM models WHERE id IN (?, ?)", (timm_id, tv_id))}
    con.close()
    page = client(catalog_copy)(f"/catalog/models/{timm_id.replace(':', '~3A').replace('.', '~2E')}").text
    table = page.split('<table class="mc-sources-say">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    assert len(rows) == 2 and timm_id in rows[0] and "<strong>" in rows[0]  # its own row first
    assert f'href="/catalog/models/{tv_id.replace(":", "~3A").replace(".", "~2E")}"' in rows[1]
    for row, ident in zip(rows, (timm_id, tv_id)):
        license, family, top1 = want[ident]
        assert license in row and family in row and (top1 is None or str(top1) in row)
    assert "<b>Apache</b>" not in table and "&lt;b&gt;Apache&lt;/b&gt; 2.0" in table
    differs = text(page.split('<table class="mc-sources-say">', 1)[1].split("</dd>", 1)[0])
    if want[timm_id][0] != want[tv_id][0]:  # timm says apache-2.0, torchvision bsd-3-clause
        assert "They disagree on: license" in differs and 'class="mc-differs"' in table
    # a model only one source lists has no such table
    solo = client(catalog_copy)("/catalog/models/timm~3Aresnet18~2Ea1_in1k").text
    assert "mc-sources-say" not in solo


def test_a_paper_page_lists_its_most_downloaded_models_whether_many_or_few_name_it(catalog_copy, monkeypatch):
    """A paper many models name walks the downloads index (its count from paper_counts); one few
    name reads its own rows: either way the page lists the same models as a sort of all of them.
    (The small catalog's papers are few: the rule's factor is lowered so its largest walks.)"""
    import sqlite3

    from datasette.utils import tilde_encode

    from indexer.datasette_plugin import counted

    monkeypatch.setattr(counted, "WALK_FACTOR", 0.5)
    conn = sqlite3.connect(catalog_copy)
    live = conn.execute("SELECT count(*) FROM models WHERE removed_at IS NULL").fetchone()[0]
    papers = conn.execute("SELECT paper_id, n_models FROM paper_counts WHERE n_models > 0 ORDER BY n_models DESC").fetchall()
    many, few = papers[0], papers[-1]
    assert many[1] ** 2 > 0.5 * live >= few[1] ** 2 and many[1] > 20
    get = client(catalog_copy)
    for paper, n in (many, few):
        want = [r[0] for r in conn.execute(
            "SELECT m.id FROM model_papers l JOIN models m ON m.id = l.model_id WHERE l.paper_id = ? "
            "AND m.removed_at IS NULL ORDER BY m.downloads DESC, m.id LIMIT 20", (paper,))]
        page = get(f"/catalog/papers/{tilde_encode(paper)}").text
        card = page[page.index('<article class="mc-card">'):page.index("</article>")]
        shown = re.findall(r'href="/catalog/models/([^"]+)"', card.split("Models that name it", 1)[1].split("</dd>", 1)[0])
        from datasette.utils import tilde_decode

        assert [tilde_decode(s) for s in shown] == want and len(want) == min(n, 20), paper
        if n > 20:
            assert f"all {n:,}" in text(card)
    conn.close()


def test_coded_values_read_as_words_in_every_table_and_stored_query_page(built):
    """loadable and is_open cells say yes or no (the code in the cell's tooltip), on table pages
    and stored query pages alike; the JSON keeps the codes."""
    for path in ("/catalog/open_classifiers", "/catalog/model_summary?source=timm&_wide=1", "/catalog/models?source=timm"):
        page = built(path).text
        table = page[page.index("<table"):]
        cells = re.findall(r'<td class="col-loadable[^"]*"[^>]*>(.*?)</td>', table, re.S)
        assert cells and all(c.strip() in ('<span title="1">yes</span>', '<span title="0">no</span>') for c in cells), \
            (path, cells[:3])
    data = built("/catalog/model_summary.json?source=timm&_shape=objects&_size=3").json()
    assert {r["loadable"] for r in data["rows"]} <= {0, 1}


def test_search_everything_ranks_each_kind_in_the_index_and_skips_removed_models(tmp_path, list_source):
    """search_everything takes each kind's best 200 from the full-text index's own ranking and
    reads rows for those only: the answer is the first 200 of every live match in rank order, the
    removed models (whose text stays in the index) skipped, however many rank first."""
    from indexer.refresh import refresh

    raws = [{"name": f"glimmer-{i}", "description": "glimmer " * (i % 7) + "word " * (i % 11)} for i in range(260)]
    toy = list_source("toy", raws)
    db = tmp_path / "catalog.db"
    refresh(db, ["toy"])
    con = sqlite3.connect(db)
    best = [r[0] for r in con.execute("SELECT m.id FROM models_fts JOIN models m ON m.rowid = models_fts.rowid "
                                      "WHERE models_fts MATCH '\"glimmer\"*' ORDER BY bm25(models_fts) LIMIT 40")]
    toy.raws = [r for r in raws if f"toy:{r['name']}" not in best]
    refresh(db, ["toy"])
    want = con.execute("SELECT m.id, bm25(models_fts) FROM models_fts JOIN models m ON m.rowid = models_fts.rowid "
                       "WHERE models_fts MATCH '\"glimmer\"*' AND m.removed_at IS NULL ORDER BY 2").fetchall()
    assert len(want) == 220
    found = rows(client(db), "search_everything", q="glimmer")
    assert len(found) == 200 and not {r["id"] for r in found} & set(best)
    assert [r["rank"] for r in found] == pytest.approx([w[1] for w in want[:200]])
    assert {r["id"] for r in found} >= {i for i, rank in want if rank < want[199][1]}


def test_a_stored_querys_answers_are_kept_until_the_catalog_changes(catalog_copy):
    """CatalogDatabase._answers: the seed question's page reads its answers once, and again as soon
    as anything writes the catalog (SQLite's data_version), never an answer from before a write."""
    ds = make_datasette(catalog_copy)
    ran = []
    db = ds.get_database("catalog")
    connect = db.connect

    def traced(*a, **kw):  # every statement any read connection runs: whichever thread serves a page
        conn = connect(*a, **kw)
        conn.set_trace_callback(lambda sql: ran.append(sql))
        return conn

    db.connect = traced
    asyncio.run(ds.invoke_startup())

    def get(path):
        r = asyncio.run(ds.client.get(path))
        assert r.status_code == 200, (path, r.text[:300])
        return r.text

    ids = lambda page: re.findall(r'<td class="col-id">.*?class="mc-id" href="[^"]+">([^<]+)</a>', page, re.S)  # noqa: E731
    first = ids(get("/catalog/open_classifiers"))
    assert len(first) == 100
    runs = lambda: sum("what people choose by first" in s for s in ran)  # noqa: E731
    for _ in range(4):  # each read connection keeps its own, for every page: once per connection at most
        assert ids(get("/catalog/open_classifiers")) == first
        assert ids(get("/catalog/open_classifiers?_page=2"))
    before = runs()
    assert before <= ds.setting("num_sql_threads")
    gone = html.unescape(first[0])
    with sqlite3.connect(catalog_copy) as conn:  # a write by another connection: a refresh, a repair
        conn.execute("UPDATE models SET removed_at = '2026-12-05T00:00:00Z' WHERE id = ?", [gone])
    after = ids(get("/catalog/open_classifiers"))
    assert gone not in map(html.unescape, after) and after[0] == first[1] and runs() > before
    # another parameter is another answer
    assert ids(get("/catalog/open_classifiers?max_mb=10")) != after


def test_table_permissions_are_worked_out_once_for_the_same_metadata(built_catalog, monkeypatch):
    """serve._catalog_datasette: the home page checks every table; Datasette deep-copied the whole
    metadata for each check (half the home page on 2.3M models). The same metadata is worked out
    once; new metadata (an `allow` block) is obeyed at once."""
    import copy

    import datasette.app

    ds = make_datasette(built_catalog)
    get = lambda path: asyncio.run(ds.client.get(path))  # noqa: E731
    assert get("/").status_code == 200 and get("/catalog/models").status_code == 200
    copies = []
    deepcopy = copy.deepcopy
    monkeypatch.setattr(datasette.app.copy, "deepcopy", lambda x, *a: copies.append(1) or deepcopy(x, *a))
    assert get("/").status_code == 200 and get("/catalog").status_code == 200
    assert copies == []
    meta = copy.deepcopy(ds._metadata_local)
    meta["databases"]["catalog"]["tables"]["models"]["allow"] = {"id": "root"}
    ds._metadata_local = meta
    assert get("/catalog/models").status_code == 403
    assert get("/catalog/papers").status_code == 200
