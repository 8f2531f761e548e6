"""The pwc source: Papers with Code's archive (pwc-archive/files on the Hub) through
huggingface_hub, against replay.hubfiles serving the archive's files (replay/pwc.py)."""

from __future__ import annotations

import gzip
import io
import json
import sqlite3

import pytest
from huggingface_hub import constants

from conftest import dump
from indexer.errors import SkipRecord
from indexer.parse.jsonstream import JSONStreamError, iter_json_array
from indexer.refresh import refresh
from indexer.sources.pwc import normalize_pwc, parse_value
from replay import pwc as archive


@pytest.fixture
def hub(monkeypatch):
    with archive.serving_archive(monkeypatch) as h:
        yield h


@pytest.fixture
def db(tmp_path, list_source):
    """A catalog with models that cite the archive's papers (as timm and torchvision do)."""
    path = tmp_path / "c.db"
    list_source("m", [
        {"name": "efficientnet_b0", "papers": ["1905.11946"]},
        {"name": "resnet50", "papers": ["1512.03385"]},
        {"name": "vit_huge_patch14_224", "papers": ["2010.11929"]},
    ])
    refresh(path, ["m"])
    return path


def run(db, tmp_path, **cfg):
    [res] = refresh(db, ["pwc"], cache=tmp_path / "cache", config={"pwc": cfg} if cfg else None)
    return res


def q(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_results_and_code_join_papers_models_and_repositories(hub, db, tmp_path):
    res = run(db, tmp_path)
    assert res.status == "ok", res.error
    # EfficientNet, ResNet, ViT, CLIP, DETR, Faster R-CNN (no arXiv id), Attention (code only)
    assert res.counts.new == 7 and res.counts.skipped == 0
    rows = q(db, "SELECT model_name, task, dataset_raw, dataset_id, metric_raw, metric, value, value_raw, extra_data, "
                 "paper_date FROM paper_results WHERE paper_key = 'arxiv:1905.11946' ORDER BY model_name, metric")
    assert ("EfficientNet-B7", "Image Classification", "ImageNet", "imagenet-1k", "Top 1 Accuracy", "top1", 84.4,
            "84.4%", 0, "2019-05-28") in rows
    assert ("EfficientNet-B0", "Image Classification", "ImageNet", "imagenet-1k", "Number of params",
            "number_of_params", 5.3e6, "5.3M", 0, "2019-05-28") in rows
    assert len(rows) == 6
    # the tables name ViT by its archive page: the links give its arXiv id; a subdataset is its own set
    vit = q(db, "SELECT dataset_raw, dataset_id, value, extra_data FROM paper_results WHERE paper_id = 'arxiv:2010.11929' "
                "AND metric IN ('top1', 'accuracy') ORDER BY dataset_raw")
    assert vit == [("ImageNet", "imagenet-1k", 88.55, 1), ("ImageNet / ImageNet ReaL", "imagenet-real", 90.72, 1)]
    # CLIP has no code link: the papers' file gives its arXiv id; a subtask keeps its own name
    assert q(db, "SELECT task, model_name FROM paper_results WHERE paper_id = 'arxiv:2103.00020'") == [
        ("Zero-Shot Transfer Image Classification", "CLIP (ViT-L/14@336px)")]
    # no arXiv id anywhere: a paper result, keyed by its archive page
    assert q(db, "SELECT paper_key, paper_id, value FROM paper_results WHERE model_name LIKE 'Faster R-CNN%'") == [
        (archive.PWC + "faster-r-cnn-towards-real-time-object-1", None, 21.9)]
    # a value that is not a number keeps its text; a row without a paper stays out
    assert q(db, "SELECT value, value_raw FROM paper_results WHERE metric_raw = 'AP50'") == [(None, "-")]
    assert q(db, "SELECT count(*) FROM paper_results WHERE model_name = 'Baseline (ours)'") == [(0,)]
    # papers: stubs with the archive's title and page, for arXiv to fill in
    assert q(db, "SELECT title, pwc_url, fetched_at FROM papers WHERE id = 'arxiv:1905.11946'") == [
        (archive.EFFNET, archive.PWC + "efficientnet-rethinking-model-scaling-for", None)]
    # code: GitHub repositories, official or not, with their framework; GitLab is not a catalog repository
    code = q(db, "SELECT paper_id, repo_id, official, framework FROM paper_repos WHERE source = 'pwc' ORDER BY 1, 2")
    assert ("arxiv:1905.11946", "github:tensorflow/tpu", 1, "tf") in code
    assert ("arxiv:1905.11946", "github:rwightman/pytorch-image-models", 0, "pytorch") in code
    assert ("arxiv:1706.03762", "github:tensorflow/tensor2tensor", 1, "tf") in code
    assert not any("gitlab" in r[1] for r in code)
    assert q(db, "SELECT full_name FROM repos WHERE id = 'github:facebookresearch/detr'") == [("facebookresearch/detr",)]
    # through the papers they cite, models see the results; same_name marks their own architecture's
    mine = q(db, "SELECT model_name, same_name, value FROM model_paper_results WHERE model_id = 'm:efficientnet_b0' "
                 "AND metric = 'top1' ORDER BY model_name")
    assert mine == [("EfficientNet-B0", 1, 77.1), ("EfficientNet-B7", 0, 84.4)]
    assert q(db, "SELECT model_name FROM model_paper_results WHERE model_id = 'm:resnet50' AND same_name = 1 "
                 "AND metric = 'top1'") == [("ResNet-50",)]
    assert q(db, "SELECT n_results FROM paper_summary WHERE id = 'arxiv:1905.11946'") == [(6,)]
    details = json.loads(q(db, "SELECT details FROM runs WHERE source = 'pwc'")[0][0])
    assert details["results"] == 20 and details["results_without_paper"] == 1 and details["papers_without_arxiv_id"] == 1
    assert details["revision"].startswith("pwc-archive/files@")
    origin = q(db, "SELECT DISTINCT origin FROM paper_results")
    assert origin == [(f"Papers with Code archive ({details['revision']})",)]


def test_unchanged_files_are_not_read_again(hub, db, tmp_path):
    assert run(db, tmp_path).status == "ok"
    before = dump(db)
    hub.reset_log()
    res = run(db, tmp_path)
    assert res.status == "ok" and (res.counts.new, res.counts.updated, res.counts.removed) == (0, 0, 0)
    assert {m for m, _ in hub.requests} == {"HEAD"}  # each file asked once; nothing downloaded
    assert dump(db) == before
    # offline: the cache answers, the archive hears nothing
    hub.reset_log()
    constants.HF_HUB_OFFLINE = True  # the hub fixture's monkeypatch puts it back
    assert run(db, tmp_path).status == "ok"
    assert hub.requests == [] and dump(db) == before


def test_a_changed_archive_replaces_what_it_no_longer_says(hub, db, tmp_path):
    assert run(db, tmp_path).status == "ok"
    tasks = archive.tasks_copy()
    rows = tasks[0]["datasets"][0]["sota"]["rows"]
    rows[1]["metrics"]["Top 1 Accuracy"] = "84.3%"  # EfficientNet-B7 corrected
    del rows[3:5]  # ResNet's rows gone
    links = [x for x in archive.LINKS_ROWS if "tensor2tensor" not in x["repo_url"]]
    archive.put_archive(hub, tasks=tasks, links=links)
    res = run(db, tmp_path)
    assert res.status == "ok", res.error
    assert q(db, "SELECT value FROM paper_results WHERE model_name = 'EfficientNet-B7' AND metric = 'top1'") == [(84.3,)]
    # ResNet's paper still has its code (a link), no results; Attention's paper nothing from pwc
    assert q(db, "SELECT count(*) FROM paper_results WHERE paper_id = 'arxiv:1512.03385'") == [(0,)]
    assert q(db, "SELECT repo_id FROM paper_repos WHERE paper_id = 'arxiv:1512.03385'") == [
        ("github:kaiminghe/deep-residual-networks",)]
    assert q(db, "SELECT count(*) FROM paper_repos WHERE paper_id = 'arxiv:1706.03762'") == [(0,)]
    assert res.counts.removed == 1
    # what other sources said stays: the models still cite their papers
    assert q(db, "SELECT count(*) FROM model_papers") == [(3,)]


def test_full_reads_again_and_changes_nothing(hub, db, tmp_path):
    assert run(db, tmp_path).status == "ok"
    before = dump(db)
    res = run(db, tmp_path, full=True)
    assert res.status == "ok" and res.counts.new == 0 and res.counts.updated == 7
    assert dump(db) == before


def test_no_network_missing_files_and_damaged_downloads_fail_clearly(hub, db, tmp_path, monkeypatch):
    before = dump(db)
    monkeypatch.setenv("HF_ENDPOINT", "http://pwc-archive.invalid")
    res = run(db, tmp_path)
    assert res.status == "unavailable" and "HF_ENDPOINT" in res.error
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    res = run(db, tmp_path, links="no-such-file.json.gz")
    assert res.status == "failed" and "no file pwc-archive/files/no-such-file.json.gz" in res.error
    assert "modelcat.toml" in res.error
    res = run(db, tmp_path, repo="pwc-archive/nothing")
    assert res.status == "failed" and "no dataset repository pwc-archive/nothing" in res.error
    # the optional papers' file may be missing: the rest is read
    res = run(db, tmp_path, papers="gone.json.gz")
    assert res.status == "ok" and q(db, "SELECT paper_key FROM paper_results WHERE model_name LIKE 'CLIP%'") == [
        (archive.PWC + "learning-transferable-visual-models-from",)]
    # a file cut short: a clear error, and the catalog keeps what it had
    kept = dump(db)
    files = archive.archive_files()
    files[archive.TABLES] = files[archive.TABLES][: len(files[archive.TABLES]) // 2]
    hub.put_repo(archive.REPO, files, repo_type="dataset")
    res = run(db, tmp_path, full=True)
    assert res.status == "failed" and "evaluation tables" in res.error and "run again" in res.error
    assert dump(db) == kept
    assert before != kept


# ---------------------------------------------------------------------- the pure parts
@pytest.mark.parametrize("value, expected", [
    (84.4, 84.4), ("84.4", 84.4), ("84.4%", 84.4), (" 76.2 ", 76.2), ("1,024", 1024.0), ("25.6M", 25.6e6),
    ("632M", 632e6), ("3.5k", 3500.0), ("1.2B", 1.2e9), ("-", None), ("N/A", None), ("", None), (None, None),
    (True, None), (float("nan"), None), ("1e400", None), ("-3.5", -3.5), ("76.3 ± 0.2", 76.3), ([1], None),
])
def test_parse_value(value, expected):
    assert parse_value(value) == expected


def test_normalize_keys_a_paper_by_its_arxiv_id_else_its_page():
    rec = normalize_pwc({"paper_url": "https://arxiv.org/abs/1905.11946v5", "title": "E",
                         "results": [{"task": "T", "dataset": "ImageNet", "metric": "Top 1 Accuracy", "model": "B0",
                                      "value": "77.1%", "extra": "yes", "date": "2019-05-28T00:00"}], "code": []})
    assert (rec.id, rec.paper_id) == ("arxiv:1905.11946", "arxiv:1905.11946")
    [r] = rec.results
    assert (r.metric, r.dataset_id, r.value, r.extra_data, r.paper_date) == ("top1", "imagenet-1k", 77.1, None, None)
    rec = normalize_pwc({"paper_url": archive.PWC + "x", "arxiv_id": None, "results": [],
                         "code": [{"repo_url": "https://github.com/A/B", "official": True, "framework": "pytorch"},
                                  {"repo_url": "https://github.com/a/b/tree/main", "official": False}]})
    assert (rec.id, rec.paper_id) == (archive.PWC + "x", None)
    assert [(c.repo_id, c.official) for c in rec.code] == [("github:a/b", True)]  # one repository, once
    with pytest.raises(SkipRecord):
        normalize_pwc({"paper_url": archive.PWC + "y", "results": [], "code": [{"repo_url": "https://gitlab.com/a/b"}]})
    with pytest.raises(SkipRecord):
        normalize_pwc({"results": [{"task": "T"}]})


@pytest.mark.parametrize("chunk", [1, 2, 7, 4096])
def test_json_array_stream_across_chunk_boundaries(chunk):
    items = [{"a": i, "s": "é" * i, "n": [1.5, -2e-3, None, True]} for i in range(60)] + [12, 3.25, "x", []]
    data = json.dumps(items).encode()
    assert list(iter_json_array(io.BytesIO(data), chunk_size=chunk)) == items
    assert list(iter_json_array(gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(data))), chunk_size=chunk)) == items


@pytest.mark.parametrize("data, message", [
    (b'{"a": 1}', "not a JSON array"), (b"[1, 2", "ends inside"), (b"[1 2]", "expected ','"),
    (b"[1] x", "text after"), (b"", "ends inside"), (b'[{"a": 1,}]', "not valid JSON"),
])
def test_json_array_stream_errors(data, message):
    with pytest.raises(JSONStreamError, match=message):
        list(iter_json_array(io.BytesIO(data), chunk_size=3, what="the file"))


def test_show_lists_what_the_papers_report(hub, db, tmp_path):
    from click.testing import CliRunner

    from indexer.cli import cli

    assert run(db, tmp_path).status == "ok"
    out = CliRunner().invoke(cli, ["show", "m:efficientnet_b0", "--db", str(db)])
    assert out.exit_code == 0, out.output
    assert ("paper result      ImageNet Top 1 Accuracy = 77.1% for 'EfficientNet-B0' in arxiv:1905.11946  "
            "[pwc: Image Classification]") in out.output
    assert "EfficientNet-B7" not in out.output  # another model of the paper: counted, listed in --json
    assert "3 more for other models of its papers" in out.output
    shown = json.loads(CliRunner().invoke(cli, ["show", "m:efficientnet_b0", "--db", str(db), "--json"]).output)
    assert {(r["model_name"], r["same_name"]) for r in shown["paper_results"]} == {
        ("EfficientNet-B0", 1), ("EfficientNet-B7", 0)}
    out = CliRunner().invoke(cli, ["show", "arxiv:2010.11929", "--db", str(db)])
    assert "code              https://github.com/google-research/vision_transformer [official, jax]" in out.output
    assert ("paper result      ImageNet / ImageNet ReaL Accuracy = 90.72% for 'ViT-H/14'  "
            "[pwc: Image Classification, extra training data]") in out.output


def test_pages_show_the_papers_results_and_the_leaderboard(hub, tmp_path, list_source):
    import asyncio

    from datasette.utils import tilde_encode

    from indexer.serve import make_datasette

    db = tmp_path / "catalog.db"
    list_source("m", [{"name": "efficientnet_b0", "papers": ["1905.11946"]}, {"name": "resnet50", "papers": []}])
    refresh(db, ["m"])
    assert run(db, tmp_path).status == "ok"
    ds = make_datasette(db)
    asyncio.run(ds.invoke_startup())
    get = lambda path: asyncio.run(ds.client.get(path))  # noqa: E731

    page = get(f"/catalog/models/{tilde_encode('m:efficientnet_b0')}")
    assert page.status_code == 200
    section = page.text.split("What its papers report", 1)[1]
    assert "77.1%" in section and "EfficientNet-B0" in section and "/catalog/papers/arxiv~3A1905~2E11946" in section
    assert "EfficientNet-B7" not in section and "(3 for other models)" in section
    assert "What its papers report" not in get(f"/catalog/models/{tilde_encode('m:resnet50')}").text

    # the home page says what the source holds, not "0 models"
    home = get("/").text
    row = home[home.index('<a href="/catalog/paper_results?source=pwc">pwc</a>'):]
    row = row[:row.index("</tr>")]
    assert "19 leaderboard results" in row and "6 paper-code links" in row and "never" not in row

    board = get("/catalog/paper_leaderboard.json?_shape=array").json()
    assert [(r["model_name"], r["value"]) for r in board] == [
        ("ViT-H/14", 88.55), ("EfficientNet-B7", 84.4), ("ResNet-152", 78.57), ("EfficientNet-B0", 77.1),
        ("ResNet-50", 75.3)]
    assert board[1]["official_code"] == "github:tensorflow/tpu" and board[1]["catalog_models"] == 1
    assert board[1]["paper_id"] == "arxiv:1905.11946"  # the page shows it with its title
    no_extra = get("/catalog/paper_leaderboard.json?_shape=array&extra_data=0").json()
    assert no_extra[0]["model_name"] == "EfficientNet-B7"
    coco = get("/catalog/paper_leaderboard.json?_shape=array&dataset=coco-val2017&metric=box_map").json()
    assert coco == [] or all(r["value"] is not None for r in coco)
