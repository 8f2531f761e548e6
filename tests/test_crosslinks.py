"""Done-when of the PyTorch Hub / GitHub / arXiv issue: `modelcat refresh` with the three sources
against local replays, on top of the timm + torchvision catalog, fills repos, papers and torchhub
rows, links them, and each of the seed's three questions has a stored query that answers it."""

import asyncio
import json
import sqlite3

import pytest
from click.testing import CliRunner

from indexer.cli import cli
from indexer.serve import make_datasette
from replay.arxiv import ArxivReplay, paper
from replay.github import GitHubReplay
from replay.world import build_arxiv, build_github


@pytest.fixture(scope="module")
def linked_catalog(built_catalog, tmp_path_factory):
    """built_catalog + github + torchhub + arxiv, through the CLI, against replays."""
    db = tmp_path_factory.mktemp("linked") / "catalog.db"
    src, out = sqlite3.connect(built_catalog), sqlite3.connect(db)
    src.backup(out)
    src.close()
    out.close()
    mp = pytest.MonkeyPatch()
    with GitHubReplay() as gh, ArxivReplay() as ax:
        build_github(gh)
        build_arxiv(ax)
        # every paper timm and torchvision name, so the arXiv source finds them
        conn = sqlite3.connect(db)
        for (arxiv_id,) in conn.execute("SELECT arxiv_id FROM papers WHERE arxiv_id IS NOT NULL"):
            try:
                ax.get(arxiv_id)
            except KeyError:
                ax.add(paper(arxiv_id, title=f"Paper {arxiv_id}", categories=["cs.CV"], primary_category="cs.CV"))
        conn.close()
        cfg = db.parent / "modelcat.toml"
        cfg.write_text('[arxiv]\ndelay_seconds = 0\n\n[github]\nmax_rate_limit_wait = 5\nseconds_between_requests = 0\n'
                       'queries = ["topic:pretrained-models", "pretrained image classification"]\n\n'
                       '[torchhub]\nmax_rate_limit_wait = 5\nseconds_between_requests = 0\n')
        mp.setenv("GITHUB_API_URL", gh.url)
        mp.setenv("ARXIV_API_URL", ax.url)
        mp.delenv("GITHUB_TOKEN", raising=False)
        try:
            result = CliRunner().invoke(cli, ["refresh", "--db", str(db), "--config", str(cfg), "--source", "github",
                                              "--source", "torchhub", "--source", "arxiv"])
            # linked repositories the torchhub and arxiv runs named are read by the next github run
            again = CliRunner().invoke(cli, ["refresh", "--db", str(db), "--config", str(cfg), "--source", "github"])
        finally:
            mp.undo()
    assert result.exit_code == 0, result.output
    assert again.exit_code == 0, again.output
    return db, result.output


@pytest.fixture(scope="module")
def query(linked_catalog):
    ds = make_datasette(linked_catalog[0])

    def fetch(path):
        async def go():
            return await ds.client.get(path)
        r = asyncio.run(go())
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        return r.json()

    return fetch


def test_refresh_summary_names_the_three_sources(linked_catalog):
    _, output = linked_catalog
    for name in ("github", "torchhub", "arxiv"):
        assert name in output


def test_tables_are_filled_and_linked(linked_catalog):
    db, _ = linked_catalog
    conn = sqlite3.connect(db)
    n = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    assert n("SELECT count(*) FROM models WHERE source = 'torchhub'") == 15
    assert n("SELECT count(*) FROM repos WHERE fetched_at IS NOT NULL") >= 8
    assert n("SELECT count(*) FROM papers WHERE title IS NOT NULL") == n("SELECT count(*) FROM papers")
    # timm's origin_url and torchvision's recipe link to code
    assert n("SELECT count(*) FROM model_repos WHERE source = 'timm'") > 100
    assert n("SELECT count(*) FROM model_repos WHERE source = 'torchvision' AND repo_id = 'github:pytorch/vision'") > 100
    # a repository only a link named is read by the github source's next run
    assert n("SELECT count(*) FROM repos WHERE id = 'github:facebookresearch/deit' AND stars = 4000") == 1
    conn.close()


def test_one_entity_across_sources(query):
    rows = query("/catalog/model_entities.json?_shape=array&entity=torchvision:resnet18.IMAGENET1K_V1")
    [row] = rows
    # torchhub's entrypoint loads these weights; timm's resnet18.tv_in1k downloads the same file (issue #33)
    assert set(json.loads(row["ids"])) == {"torchvision:resnet18.IMAGENET1K_V1", "torchhub:pytorch/vision:resnet18",
                                           "timm:resnet18.tv_in1k"}
    assert row["sources"] and set(row["sources"].split(",")) == {"torchvision", "torchhub", "timm"}
    assert row["imagenet_top1"] == pytest.approx(69.758)


def test_small_torchhub_classifier(query):
    rows = query("/catalog/torchhub_small_classifiers.json?_shape=array")
    ids = [r["id"] for r in rows]
    # sizes come from the same weights in torchvision; smallest first; all under 25 MB
    assert ids[:2] == ["torchhub:pytorch/vision:mobilenet_v3_small", "torchhub:pytorch/vision:mobilenet_v3_large"]
    assert "torchhub:pytorch/vision:resnet50" not in ids  # 102.5 MB
    assert all(r["size_mb"] <= 25 for r in rows)
    first = rows[0]
    assert first["load"] == "torch.hub.load('pytorch/vision', 'mobilenet_v3_small', pretrained=True)"
    assert first["same_weights_as"] == "torchvision:mobilenet_v3_small.IMAGENET1K_V1" and first["imagenet_top1"] > 67
    bigger = query("/catalog/torchhub_small_classifiers.json?_shape=array&max_mb=200")
    assert "torchhub:pytorch/vision:resnet50" in [r["id"] for r in bigger]


def test_github_pretrained_pytorch_classifiers(query):
    rows = query("/catalog/github_pretrained_classifiers.json?_shape=array")
    names = [r["full_name"] for r in rows]
    assert names[0] == "lukemelas/EfficientNet-PyTorch"  # most stars first
    assert "acme/tinynets" in names and "someone/pretrained-classifiers-archive" in names
    assert "tf/keras-zoo" not in names  # not PyTorch
    assert "snakers4/silero-models" not in names  # not image classification
    assert [r["stars"] for r in rows] == sorted((r["stars"] for r in rows), reverse=True)
    assert len(query("/catalog/github_pretrained_classifiers.json?_shape=array&min_stars=100")) < len(rows)


def test_papers_behind_imagenet_models(query):
    rows = query("/catalog/papers_behind_imagenet_models.json?_shape=array")
    by = {r["id"]: r for r in rows}
    vit = by["arxiv:2010.11929"]
    assert vit["title"].startswith("An Image is Worth 16x16 Words") and vit["n_models"] >= 5
    assert json.loads(vit["code"]) == ["github:google-research/vision_transformer"]
    assert vit["best_top1"] > 80 and vit["first_author"] == "Alexey Dosovitskiy"
    assert by["arxiv:1512.03385"]["n_models"] > 5
    assert [r["n_models"] for r in rows] == sorted((r["n_models"] for r in rows), reverse=True)


def test_paper_page_lists_models_and_code(query):
    [row] = query("/catalog/paper_summary.json?_shape=array&id=arxiv:2010.11929")
    models = json.loads(row["models"])
    assert "torchhub:acme/tinynets:tinynet_a" in models and any(m.startswith("torchvision:vit_") for m in models)
    assert json.loads(row["code"]) == ["github:google-research/vision_transformer"]
    # Datasette's row page shows the tables that point at the paper
    related = query("/catalog/papers/arxiv:2010.11929.json?_extras=foreign_key_tables")
    tables = {t["other_table"]: t["count"] for t in related["foreign_key_tables"]}
    assert tables["model_papers"] == len(models) and tables["paper_repos"] == 1


def test_show_a_paper_and_a_repository_with_their_links(linked_catalog):
    db, _ = linked_catalog
    run = lambda *args: CliRunner().invoke(cli, ["show", "--db", str(db), *args])  # noqa: E731
    # a versioned id names the paper; its models and its code are listed
    out = run("arxiv:2010.11929v2")
    assert out.exit_code == 0, out.output
    assert "title             An Image is Worth 16x16 Words" in out.output
    assert "model             torchvision:vit_b_16.IMAGENET1K_V1 (image-classification)" in out.output
    assert "code              https://github.com/google-research/vision_transformer" in out.output
    paper = json.loads(run("arxiv:2010.11929", "--json").output)
    assert paper["authors"][0] == "Alexey Dosovitskiy" and paper["code"][0]["id"] == "github:google-research/vision_transformer"
    assert {m["id"] for m in paper["models"]} >= {"torchhub:acme/tinynets:tinynet_a", "torchvision:vit_b_16.IMAGENET1K_V1"}
    # GitHub names ignore case; a repository lists the models that link to it
    repo = json.loads(run("github:PyTorch/Vision", "--json").output)
    assert repo["id"] == "github:pytorch/vision" and repo["has_hubconf"] == 1 and repo["topics"]
    assert "torchhub:pytorch/vision:resnet18" in {m["id"] for m in repo["models"]}
    code = json.loads(run("github:google-research/vision_transformer", "--json").output)
    assert [p["id"] for p in code["papers"]] == ["arxiv:2010.11929"]
    # not there: one line, the kind of row named, exit code 1
    missing = run("arxiv:9999.99999")
    assert missing.exit_code == 1 and "no paper 'arxiv:9999.99999' in the catalog" in missing.output
    missing = run("github:acme/tinynet")
    assert missing.exit_code == 1 and "no repository 'github:acme/tinynet'" in missing.output
    assert "similar: github:acme/tinynets" in missing.output


def test_model_page_lists_its_paper_and_code(query):
    from urllib.parse import quote

    from datasette.utils import tilde_encode

    model = "torchhub:pytorch/vision:resnet18"
    page = query(f"/catalog/models/{tilde_encode(model)}.json?_extras=foreign_key_tables")
    tables = {t["other_table"]: t["count"] for t in page["foreign_key_tables"]}
    assert tables["model_papers"] == 1 and tables["model_repos"] == 1
    [paper] = query(f"/catalog/model_papers.json?_shape=array&model_id={quote(model)}")
    [repo] = query(f"/catalog/model_repos.json?_shape=array&model_id={quote(model)}")
    assert (paper["paper_id"], repo["repo_id"]) == ("arxiv:1512.03385", "github:pytorch/vision")


def test_the_cli_finds_a_small_classifier_in_pytorch_hub(linked_catalog):
    """The seed's question from the command line: PyTorch Hub rows carry the size, training data
    and accuracy of the weights they load."""
    db, _ = linked_catalog
    out = CliRunner().invoke(cli, ["search", "--db", str(db), "--source", "torchhub", "--task", "image-classification",
                                   "--dataset", "imagenet-1k", "--open", "--max-mb", "25", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["id"] for r in rows] == ["torchhub:pytorch/vision:mobilenet_v3_small",
                                       "torchhub:pytorch/vision:mobilenet_v3_large"]
    small = rows[0]
    assert small["size_bytes"] < 25e6 and small["imagenet_top1"] > 67
    assert small["ids"] == ["torchhub:pytorch/vision:mobilenet_v3_small", "torchvision:mobilenet_v3_small.IMAGENET1K_V1"]
