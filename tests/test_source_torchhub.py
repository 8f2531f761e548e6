"""The PyTorch Hub source against a local GitHub replay, through the real PyGithub client."""

import json

import pytest

from dbrows import rows
from indexer.refresh import refresh
from indexer.sources.torchhub import normalize_torchhub
from replay.github import GitHubReplay
from replay.world import build_github


@pytest.fixture
def gh(monkeypatch, tmp_path):
    with GitHubReplay() as replay:
        build_github(replay, marker=str(tmp_path / "hubconf-ran"))
        monkeypatch.setenv("GITHUB_API_URL", replay.url)
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        yield replay


CFG = {"torchhub": {"max_rate_limit_wait": 5, "seconds_between_requests": 0}}


def run(db, **kw):
    [res] = refresh(db, ["torchhub"], config=CFG, **kw)
    return res


def test_entrypoints_become_rows_with_page_metadata(gh, tmp_path):
    db = tmp_path / "c.db"
    res = run(db)
    assert res.status == "ok", res.error
    models = {r["id"]: r for r in rows(db, "SELECT * FROM models WHERE source = 'torchhub'")}
    assert set(models) == {
        "torchhub:pytorch/vision:get_weight", "torchhub:pytorch/vision:mobilenet_v3_large",
        "torchhub:pytorch/vision:mobilenet_v3_small", "torchhub:pytorch/vision:resnet18",
        "torchhub:pytorch/vision:resnet50", "torchhub:pytorch/vision:fasterrcnn_resnet50_fpn",
        "torchhub:pytorch/vision:raft_large", "torchhub:pytorch/vision:vit_h_14",
        "torchhub:acme/tinynets:tinynet_a", "torchhub:acme/tinynets:tinynet_b", "torchhub:acme/tinynets:tinynet_teacher",
        "torchhub:acme/tinynets:tinynet_documented_only",
        "torchhub:snakers4/silero-models:silero_stt", "torchhub:snakers4/silero-models:silero_tts",
        "torchhub:oops/badconf:net",  # its hubconf does not parse; the page documents it
    }
    r18 = models["torchhub:pytorch/vision:resnet18"]
    assert (r18["task"], r18["library"], r18["license"], r18["is_open"]) == (
        "image-classification", "torch.hub", "bsd-3-clause", 1)
    # the same weights as torchvision's row: one entity
    assert r18["entity_id"] == "torchvision:resnet18.IMAGENET1K_V1"
    assert models["torchhub:pytorch/vision:mobilenet_v3_small"]["entity_id"] == \
        "torchvision:mobilenet_v3_small.IMAGENET1K_V1"
    # and what it loads is known: torchvision's facts of those weights
    from torchvision.models import ResNet18_Weights

    meta = ResNet18_Weights.IMAGENET1K_V1.meta
    assert (r18["num_params"], r18["size_bytes"], r18["size_is_estimate"]) == (
        meta["num_params"], round(meta["_file_size"] * 2**20), 0)
    assert (json.loads(r18["input_size"]), r18["num_classes"], r18["weights"]) == ([3, 224, 224], 1000, "IMAGENET1K_V1")
    assert rows(db, "SELECT dataset_id FROM model_datasets WHERE model_id = ?", r18["id"]) == [
        {"dataset_id": "imagenet-1k"}]
    assert rows(db, "SELECT value FROM metrics WHERE model_id = ? AND metric = 'top1'", r18["id"]) == [
        {"value": 69.758}]
    # a torchvision builder another repository re-exports under its own name: the same weights
    teacher = models["torchhub:acme/tinynets:tinynet_teacher"]
    assert (teacher["entity_id"], teacher["task"], teacher["num_params"]) == (
        "torchvision:resnet50.IMAGENET1K_V1", "image-classification", 25557032)
    # pretrained=True loads what torchvision maps it to, not the builder's first weights (C_T_V1);
    # vit_h_14 has no pretrained=True weights, so it is an entity of its own
    assert models["torchhub:pytorch/vision:raft_large"]["entity_id"] == "torchvision:raft_large.C_T_SKHT_V2"
    assert models["torchhub:pytorch/vision:vit_h_14"]["entity_id"] == "torchhub:pytorch/vision:vit_h_14"
    assert r18["url"] == "https://pytorch.org/hub/pytorch_vision_resnet/"
    extra = json.loads(r18["extra"])
    assert extra["dependencies"] == ["torch"] and extra["kind"] == "import" and extra["ref"] == "main"
    assert extra["module"] == "torchvision.models.resnet" and extra["page_title"] == "ResNet"
    assert json.loads(r18["tags"]) == ["vision", "scriptable", "researchers"]
    assert models["torchhub:pytorch/vision:fasterrcnn_resnet50_fpn"]["task"] == "object-detection"
    # a helper the hubconf exports is listed (torch.hub.list shows it) but is not a model for any task
    helper = models["torchhub:pytorch/vision:get_weight"]
    assert helper["task"] is None and json.loads(helper["extra"])["helper"] is True
    # a third-party function: docstring as description, page title for the task, repo license
    tiny = models["torchhub:acme/tinynets:tinynet_a"]
    assert tiny["description"] == "TinyNet-A image classification model (ImageNet-1k, 5.1M parameters)."
    assert (tiny["task"], tiny["license"], tiny["author"]) == ("image-classification", "mit", "acme")
    assert json.loads(tiny["extra"])["params"] == ["pretrained", "**kwargs"]
    assert models["torchhub:acme/tinynets:tinynet_documented_only"]["description"].startswith("Tiny image")
    assert json.loads(models["torchhub:acme/tinynets:tinynet_documented_only"]["extra"])["kind"] == "documented"
    # NOASSERTION: GitHub found a license it could not identify
    stt = models["torchhub:snakers4/silero-models:silero_stt"]
    assert (stt["task"], stt["license"], stt["license_raw"]) == ("automatic-speech-recognition", "unknown",
                                                                "NOASSERTION")
    assert models["torchhub:snakers4/silero-models:silero_tts"]["task"] == "text-to-speech"
    # links: the code repository, the page's papers
    assert rows(db, "SELECT repo_id FROM model_repos WHERE model_id = ?", "torchhub:acme/tinynets:tinynet_a") == [
        {"repo_id": "github:acme/tinynets"}]
    assert {r["paper_id"] for r in rows(db, "SELECT paper_id FROM model_papers WHERE model_id = ?",
                                         "torchhub:acme/tinynets:tinynet_a")} == {"arxiv:2010.14819",
                                                                                  "arxiv:2010.11929"}
    assert rows(db, "SELECT paper_id FROM model_papers WHERE model_id = ?", r18["id"]) == [
        {"paper_id": "arxiv:1512.03385"}]  # the page's, which is also torchvision's for resnet18
    repos = {r["id"]: r for r in rows(db, "SELECT * FROM repos")}
    assert repos["github:pytorch/vision"]["has_hubconf"] == 1 and repos["github:pytorch/vision"]["stars"] == 16000
    assert repos["github:acme/tinynets"]["source"] == "torchhub" and repos["github:acme/tinynets"]["license"] == "mit"


def test_hubconf_is_parsed_never_run(gh, tmp_path):
    db = tmp_path / "c.db"
    assert run(db).status == "ok"
    assert not (tmp_path / "hubconf-ran").exists()


def test_bad_pages_and_repositories_are_reported_and_skipped(gh, tmp_path):
    db = tmp_path / "c.db"
    res = run(db)
    assert res.status == "ok"
    problems = "\n".join(res.details["problems"])
    assert "not_a_page.md: no front matter" in problems  # reported, the other pages go on
    assert "README.md" not in problems and "CONTRIBUTING.md" not in problems  # not model pages
    assert "someone/deleted-repo: GitHub has no such repository" in problems
    assert "oops/badconf/hubconf.py: syntax error at line 1" in problems
    repos = {r["id"]: r for r in rows(db, "SELECT * FROM repos")}
    assert repos["github:someone/deleted-repo"]["missing"] == 1
    # a hubconf that does not parse: the repository has one, but no entrypoint can be listed
    assert repos["github:oops/badconf"]["has_hubconf"] == 1
    assert rows(db, "SELECT id FROM models WHERE id LIKE 'torchhub:oops/%'") == [
        {"id": "torchhub:oops/badconf:net"}]  # the page documents it
    assert res.details["pages"] == 5


TINY_PUSHED = (
    "def tinynet_a(pretrained=False):\n    'Image classifier A.'\n\n\n"
    "def tinynet_c(pretrained=False):\n    'Image classifier C.'\n"
)


def test_second_run_reads_no_unchanged_page_and_changes_nothing(gh, tmp_path):
    db = tmp_path / "c.db"
    run(db)
    gh.reset_log()
    res = run(db)
    assert (res.counts.new, res.counts.updated) == (0, 0)
    page_reads = [r for r in gh.requests if r["path"].startswith("/repos/pytorch/hub/contents/") and
                  r["path"].endswith(".md")]
    assert page_reads == []  # cached by blob sha
    # nor an unchanged repository's hubconf.py: nothing was pushed since (pushed_at)
    assert gh.count("/repos/") == 2 + res.details["repos"] and res.details["hubconf_unchanged"] == 4
    assert not [r for r in gh.requests if r["path"].endswith("/hubconf.py")]
    # the problems the cached reads had are still reported (a syntax error, a deleted repository)
    assert any("oops/badconf/hubconf.py: syntax error" in p for p in res.details["problems"])
    # a push to a repository: its hubconf.py is read again, and its new entrypoint listed
    gh.set_file("acme/tinynets", "hubconf.py", TINY_PUSHED)
    gh.reset_log()
    res = run(db)
    assert [r["path"] for r in gh.requests if r["path"].endswith("/hubconf.py")] == [
        "/repos/acme/tinynets/contents/hubconf.py"]
    assert "torchhub:acme/tinynets:tinynet_c" in {r["id"] for r in rows(db, "SELECT id FROM models")}


def test_changed_page_and_removed_model(gh, tmp_path):
    db = tmp_path / "c.db"
    run(db)
    gh.set_file("pytorch/hub", "acme_tinynets.md", None)  # the page is gone
    gh.set_file("acme/tinynets", "hubconf.py", "def tinynet_a(pretrained=False):\n    '''Image classifier A.'''\n")
    res = run(db)
    assert res.status == "ok"
    live = {r["id"]: r for r in rows(db, "SELECT * FROM models WHERE removed_at IS NULL AND id LIKE 'torchhub:acme/%'")}
    gone = {r["id"] for r in rows(db, "SELECT id FROM models WHERE removed_at IS NOT NULL")}
    # the repository still has a hubconf.py, so what it exports is still loadable: kept, without the page
    assert set(live) == {"torchhub:acme/tinynets:tinynet_a"}
    a = live["torchhub:acme/tinynets:tinynet_a"]
    assert a["description"] == "Image classifier A." and a["task"] == "image-classification"
    assert a["url"] == "https://github.com/acme/tinynets/blob/main/hubconf.py"
    # gone from the file, or only ever documented by the page that is gone: removed
    assert gone == {"torchhub:acme/tinynets:tinynet_b", "torchhub:acme/tinynets:tinynet_documented_only",
                    "torchhub:acme/tinynets:tinynet_teacher"}
    assert res.counts.removed == 3


def test_a_failing_repository_removes_nothing(gh, tmp_path):
    db = tmp_path / "c.db"
    run(db)
    gh.set_file("pytorch/vision", "README.md", "# torchvision, pushed since")  # so hubconf.py is read again
    gh.fail_next(5, status=403, path_prefix="/repos/pytorch/vision/contents",
                 body={"message": "Repository access blocked"})
    res = run(db)
    assert res.status == "ok"
    assert "pytorch/vision" in "\n".join(res.details["problems"])
    assert rows(db, "SELECT count(*) AS n FROM models WHERE removed_at IS NOT NULL") == [{"n": 0}]


def test_rate_limit_stops_early_and_keeps_what_it_read(gh, tmp_path):
    import time

    db = tmp_path / "c.db"
    reset = int(time.time()) + 3600
    gh.fail_next(100, status=403, path_prefix="/repos/snakers4",
                 headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
                 body={"message": "API rate limit exceeded for 127.0.0.1.",
                       "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"})
    res = run(db)
    assert res.status == "ok"
    assert "rate limit" in res.details["stopped_early"] and "GITHUB_TOKEN" in res.details["stopped_early"]
    ids = {r["id"] for r in rows(db, "SELECT id FROM models")}
    assert "torchhub:acme/tinynets:tinynet_a" in ids  # read before the limit
    assert rows(db, "SELECT count(*) AS n FROM models WHERE removed_at IS NOT NULL") == [{"n": 0}]


def test_repositories_found_by_the_github_source_are_listed_too(gh, tmp_path):
    from indexer.records import RepoRecord
    from indexer.store import Catalog

    db = tmp_path / "c.db"
    refresh(db, ["torchhub"], config=CFG)
    # the github source marks a repository with a hubconf.py (as its code search does)
    with Catalog.open(db) as cat, cat.transaction():
        w = cat.writer("github")
        w.add(RepoRecord(id="github:lukemelas/efficientnet-pytorch", source="github",
                         full_name="lukemelas/EfficientNet-PyTorch", has_hubconf=True))
        w.finish(removed_since=None)
    res = run(db)
    assert res.status == "ok"
    [row] = rows(db, "SELECT * FROM models WHERE id = 'torchhub:lukemelas/EfficientNet-PyTorch:efficientnet_b0'")
    assert row["task"] == "image-classification" and row["license"] == "apache-2.0"
    assert row["description"] == "EfficientNet B0 image classifier."


def test_normalize_missing_and_empty():
    [repo] = normalize_torchhub({"missing": "a/b", "pages": []})
    assert repo.missing and repo.id == "github:a/b"
    with pytest.raises(Exception, match="no hubconf.py and no Hub page"):
        normalize_torchhub({"repo": {"full_name": "a/b"}, "pages": [], "hubconf": None})


def test_imports_are_followed_into_the_repository_at_the_hubconfs_ref(gh, tmp_path):
    """hustvl/YOLOP's shape: an imported name that is a config instance, one that is a module of
    the repository, and torchvision's builders, which are not in the repository (no read for them)."""
    gh.set_file("acme/tinynets", "hubconf.py",
                "from lib.config import cfg\nfrom lib import models\nfrom lib.models import get_net\n"
                "from torchvision.models.resnet import resnet18\n"
                "def tinynet_a(pretrained=False):\n    '''Image classifier A.'''\n")
    gh.set_file("acme/tinynets", "lib/__init__.py", "")
    gh.set_file("acme/tinynets", "lib/config.py", "from yacs.config import CfgNode as CN\ncfg = CN()\n")
    gh.set_file("acme/tinynets", "lib/models/__init__.py", "from .net import get_net\n")
    gh.set_file("acme/tinynets", "lib/models/net.py", "def get_net(cfg):\n    pass\n")
    gh.reset_log()
    res = run(tmp_path / "c.db")
    assert res.status == "ok", res.error
    ids = {r["id"] for r in rows(tmp_path / "c.db", "SELECT id FROM models WHERE id LIKE 'torchhub:acme/%'")}
    assert {"torchhub:acme/tinynets:get_net", "torchhub:acme/tinynets:resnet18",
            "torchhub:acme/tinynets:tinynet_a"} <= ids
    assert not ids & {"torchhub:acme/tinynets:cfg", "torchhub:acme/tinynets:models"}
    reads = [r["path"].removeprefix("/repos/acme/tinynets/contents") for r in gh.requests
             if r["path"].startswith("/repos/acme/tinynets/contents")]
    # the root listed once; lib.py and anything of torchvision's not asked for (not in the root)
    assert reads == ["/hubconf.py", "/", "/lib/config.py", "/lib/__init__.py", "/lib/models.py",
                     "/lib/models/__init__.py", "/lib/models/net.py"]
    assert all("torchvision" not in r["path"] for r in gh.requests if "/contents" in r["path"])
