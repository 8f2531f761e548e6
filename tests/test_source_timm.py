"""The timm source against the installed timm (its real registry, offline)."""

import json
import os
import re
import subprocess
import sys

import pytest

from indexer.errors import SkipRecord
from indexer.sources.timm import _count_worker, _read_cache, _import_timm, count_parameters, normalize_timm
from indexer.store import Catalog

timm = _import_timm()


@pytest.fixture(scope="module")
def rows(built_catalog):
    with Catalog.open(built_catalog, readonly=True, create=False) as cat:
        yield {r["id"]: dict(r) for r in cat.conn.execute("SELECT * FROM models WHERE source = 'timm'")}


@pytest.fixture(scope="module")
def cat(built_catalog):
    with Catalog.open(built_catalog, readonly=True, create=False) as c:
        yield c


def test_every_pretrained_tag_is_in_the_catalog(rows):
    assert set(rows) == {f"timm:{n}" for n in timm.list_pretrained()}
    assert all(r["num_params"] for r in rows.values()), "a tag without a parameter count"


@pytest.mark.parametrize("name", [
    "resnet18.a1_in1k",
    "deit_tiny_distilled_patch16_224.fb_in1k",  # two classifier heads
    "vit_tiny_patch16_224.augreg_in21k",  # same architecture, 21843-class head...
    "vit_tiny_patch16_224.augreg_in21k_ft_in1k",  # ...and a 1000-class head
    "vit_small_patch14_dinov2.lvd142m",  # no head, input size baked in (518)
    "convnext_atto.d2_in1k",
])
def test_parameter_counts_and_sizes_equal_a_real_build(rows, name):
    model = timm.create_model(name, pretrained=False)
    row = rows[f"timm:{name}"]
    assert row["num_params"] == sum(p.numel() for p in model.parameters())
    assert row["size_bytes"] == sum(t.numel() * t.element_size() for t in model.state_dict().values())
    assert row["size_is_estimate"] == 1
    assert row["num_classes"] == model.num_classes


@pytest.mark.parametrize("name", ["efficientnet_b0.ra_in1k", "swin_tiny_patch4_window7_224.ms_in1k",
                                  "maxvit_tiny_tf_224.in1k", "eva02_tiny_patch14_224.mim_in22k"])
def test_skipping_weight_init_on_meta_does_not_change_shapes(name):
    import torch

    with torch.device("meta"):
        plain = timm.create_model(name, pretrained=False)
    assert count_parameters(name) == (
        sum(p.numel() for p in plain.parameters()),
        sum(t.numel() * t.element_size() for t in plain.state_dict().values()),
    )


def test_a_model_that_fails_to_build_is_reported_not_fatal():
    name, n, b, err = _count_worker("no_such_architecture.x")
    assert (n, b) == (None, None) and "no_such_architecture" in err


def test_preprocessing_and_head_come_from_the_pretrained_cfg(rows):
    from timm.models import get_pretrained_cfg

    for name in ("resnet18.a1_in1k", "vit_small_patch14_dinov2.lvd142m", "deit_tiny_distilled_patch16_224.fb_in1k"):
        cfg = get_pretrained_cfg(name)
        row = rows[f"timm:{name}"]
        assert json.loads(row["input_size"]) == list(cfg.input_size)
        assert json.loads(row["mean"]) == list(cfg.mean) and json.loads(row["std"]) == list(cfg.std)
        assert row["crop_pct"] == cfg.crop_pct and row["interpolation"] == cfg.interpolation
        classifier = cfg.classifier if isinstance(cfg.classifier, str) else ",".join(cfg.classifier)
        assert row["classifier"] == classifier and row["first_conv"] == cfg.first_conv
        assert row["hf_hub_id"] == cfg.hf_hub_id and row["url"] == f"https://huggingface.co/{cfg.hf_hub_id}"
        assert row["architecture"] + "." + row["weights"] == name


def test_licenses_are_normalized_with_the_raw_value_kept(rows):
    from timm.models import get_pretrained_cfg

    for model_id, row in rows.items():
        raw = get_pretrained_cfg(model_id[5:]).license
        assert row["license_raw"] == raw
    nc = [r for r in rows.values() if r["license_raw"] == "cc-by-nc-4.0"]
    assert nc and all((r["license"], r["license_family"], r["is_open"]) == ("cc-by-nc-4.0", "non-commercial", 0) for r in nc)
    assert (rows["timm:resnet18.a1_in1k"]["license_family"], rows["timm:resnet18.a1_in1k"]["is_open"]) == ("permissive", 1)
    assert rows["timm:fastvit_t8.apple_in1k"]["license"] == "apple-ascl"  # timm's 'fastvit-license'


@pytest.mark.parametrize("model_id, expected", [
    ("timm:resnet18.a1_in1k", [("imagenet-1k", "train", "in1k")]),
    ("timm:vit_tiny_patch16_224.augreg_in21k_ft_in1k",
     [("imagenet-1k", "finetune", "in1k"), ("imagenet-21k", "pretrain", "in21k")]),
    ("timm:vit_base_patch16_clip_224.laion2b_ft_in12k_in1k",
     [("imagenet-12k", "pretrain", "in12k"), ("imagenet-1k", "finetune", "in1k"), ("laion-2b", "pretrain", "laion2b")]),
    ("timm:vit_base_patch16_clip_224.openai", [("openai-wit", "train", "openai")]),
    ("timm:resnet50.fb_swsl_ig1b_ft_in1k", [("imagenet-1k", "finetune", "in1k"), ("instagram-1b", "pretrain", "ig1b")]),
    ("timm:vit_small_patch14_dinov2.lvd142m", [("lvd-142m", "train", "lvd142m")]),
    ("timm:tresnet_m.miil_in21k", [("imagenet-21k-p", "train", "miil_in21k")]),
    ("timm:vit_base_patch16_224.mae", [("imagenet-1k", "train", "mae")]),
])
def test_datasets_and_roles_come_from_the_tag(cat, model_id, expected):
    got = [tuple(r) for r in cat.conn.execute(
        "SELECT dataset_id, role, raw FROM model_datasets WHERE model_id = ? ORDER BY dataset_id", (model_id,))]
    assert got == expected


@pytest.mark.parametrize("model_id, task", [
    ("timm:resnet18.a1_in1k", "image-classification"),
    ("timm:vit_tiny_patch16_224.augreg_in21k", "image-classification"),  # 21843 ImageNet-21K classes
    ("timm:vit_small_patch14_dinov2.lvd142m", "image-feature-extraction"),  # no head
    ("timm:vit_base_patch16_clip_224.openai", "image-feature-extraction"),  # 512-d CLIP projection
    ("timm:vit_base_patch16_clip_224.laion2b_ft_in1k", "image-classification"),
    ("timm:fastvit_mci0.apple_mclip", "image-feature-extraction"),  # 512-d, no labels anywhere
    ("timm:resmlp_12_224.fb_dino", "image-classification"),  # DINO backbone + ImageNet-1K head
])
def test_task(rows, model_id, task):
    assert rows[model_id]["task"] == task


def test_papers_come_from_paper_ids(cat):
    got = [tuple(r) for r in cat.conn.execute(
        "SELECT paper_id, raw FROM model_papers WHERE model_id = 'timm:resnet18.a1_in1k'")]
    assert got == [("arxiv:2110.00476", "arXiv:2110.00476")]
    # versioned ids are stored without the version
    assert cat.conn.execute("SELECT count(*) FROM papers WHERE id LIKE '%v_'").fetchone()[0] == 0


def test_warm_refresh_reads_the_cache_without_importing_timm_or_torch(built_catalog, session_cache):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from indexer.sources.timm import TimmSource\n"
        "from indexer.sources.base import FetchContext\n"
        "ctx = FetchContext(cache_dir=Path(sys.argv[1]))\n"
        "src = TimmSource()\n"
        "records = [src.normalize(r) for r in src.fetch(ctx)]\n"
        "assert ctx.details['cache'] == 'hit', ctx.details\n"
        "assert not {'timm', 'torch', 'torchvision'} & set(sys.modules), 'imported a heavy library'\n"
        "print(len(records))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(session_cache)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(timm.list_pretrained())


def test_a_damaged_cache_is_ignored(tmp_path):
    path = tmp_path / "timm-x.json"
    for content in ("", "{not json", "[1, 2]", '{"name": "a"}', '[{"name": "a"}]'):
        path.write_text(content)
        assert _read_cache(path) is None
    assert _read_cache(tmp_path / "missing.json") is None
    path.write_text('[{"name": "a.b", "cfg": {}}]')
    assert _read_cache(path) == [{"name": "a.b", "cfg": {}}]


def test_the_cache_key_follows_the_installed_timm(session_cache):
    from indexer.sources.timm import CACHE_FORMAT, timm_fingerprint

    version, digest = timm_fingerprint()
    assert version == timm.__version__
    assert (session_cache / f"timm-{version}-{digest}-v{CACHE_FORMAT}.json").is_file()


@pytest.mark.parametrize("raw", [{}, {"name": "nodot", "cfg": {}}, {"name": "a.b", "cfg": "x"}, {"name": 3}])
def test_records_that_are_not_tags_are_skipped(raw):
    with pytest.raises(SkipRecord):
        normalize_timm(raw)


def test_a_record_with_missing_fields_still_normalizes():
    rec = normalize_timm({"name": "somearch.in1k", "cfg": {"architecture": "somearch"}})
    assert (rec.id, rec.license, rec.num_params, rec.size_bytes) == ("timm:somearch.in1k", "unknown", None, None)
    assert rec.task == "image-feature-extraction"  # no head known


def test_worker_count_is_configurable(monkeypatch):
    from indexer.sources.timm import _workers

    monkeypatch.setenv("MODELCAT_WORKERS", "1")
    assert _workers() == 1
    monkeypatch.delenv("MODELCAT_WORKERS")
    assert 1 <= _workers() <= max(1, os.cpu_count() or 1)


# ---------------------------------------------------------------------- timm's published results
def test_published_results_become_metrics_with_the_default_input_size_ranking(cat):
    """resnet18.a1_in1k: timm tested it at 224 px (its default input size) and at 288 px; both are
    listed, and the 224 px result is the one that ranks (`top1`)."""
    got = {(m["dataset_raw"], m["metric"]): m["value"] for m in cat.get_model("timm:resnet18.a1_in1k")["metrics"]}
    assert got[("ImageNet-1K validation, 224 px (timm results-imagenet.csv)", "top1")] == 71.504
    assert got[("ImageNet-1K validation, 288 px (timm results-imagenet.csv)", "top1@288px")] == 73.164
    assert got[("ImageNet-ReaL, 224 px (timm results-imagenet-real.csv)", "top1")] == 79.45
    ranked = [v for (d, m), v in got.items() if m == "top1" and "ImageNet-1K" in d]
    assert ranked == [71.504]
    metrics = cat.get_model("timm:resnet18.a1_in1k")["metrics"]
    assert {m["source"] for m in metrics} == {"timm"}
    assert {m["dataset_id"] for m in metrics} == {"imagenet-1k", "imagenet-real", "imagenet-v2", "imagenet-sketch",
                                                  "imagenet-a", "imagenet-r"}


def test_show_lists_both_resolutions_with_their_source(built_catalog):
    out = subprocess.run([sys.executable, "-m", "indexer", "show", "--db", str(built_catalog), "timm:resnet18.a1_in1k"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # where each figure came from: timm's repository at the snapshot's commit (offline), and the file
    where = "timm: huggingface/pytorch-image-models @aa4b5850c154 results/results-imagenet.csv"
    assert f"ImageNet-1K validation, 224 px (timm results-imagenet.csv) top1 = 71.504  [{where}]" in out.stdout
    assert f"ImageNet-1K validation, 288 px (timm results-imagenet.csv) top1@288px = 73.164  [{where}]" in out.stdout


def test_the_seed_question_answers_carry_an_imagenet_top1_and_the_best_is_timms(cat, built_catalog):
    """Issue #18: on an offline catalog (timm + torchvision) at least 90% of the seed answers carry an
    ImageNet top-1, and the best open ImageNet classifier under 100 MB is above 86%."""
    answers, with_top1 = cat.conn.execute(
        "SELECT count(*), sum(EXISTS (SELECT 1 FROM metrics x WHERE x.model_id = m.id AND x.dataset_id = 'imagenet-1k' "
        "AND x.metric = 'top1')) FROM models m WHERE m.removed_at IS NULL AND m.task = 'image-classification' "
        "AND m.is_open = 1 AND m.size_bytes < 100000000 AND EXISTS (SELECT 1 FROM model_datasets d "
        "WHERE d.model_id = m.id AND d.dataset_id = 'imagenet-1k')").fetchone()
    assert answers > 500 and with_top1 / answers >= 0.9, (with_top1, answers)
    out = subprocess.run([sys.executable, "-m", "indexer", "search", "--db", str(built_catalog), "--task",
                          "image-classification", "--dataset", "imagenet-1k", "--open", "--max-mb", "100", "--sort",
                          "top1", "--limit", "1", "--format", "json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    [best] = json.loads(out.stdout)
    assert best["id"].startswith("timm:") and best["imagenet_top1"] > 86, best


def test_result_metrics_rank_one_size_per_file():
    from indexer.sources.timm import result_metrics

    rows = [{"file": "results-imagenet.csv", "dataset": "ImageNet-1K validation", "dataset_id": "imagenet-1k",
             "img_size": s, "top1": t, "top5": None} for s, t in ((288, 80.0), (224, 78.0))]
    by = {(m.metric, m.value) for m in result_metrics(rows, [3, 224, 224])}
    assert by == {("top1", 78.0), ("top1@288px", 80.0)}  # the default size ranks, not the best
    by = {(m.metric, m.value) for m in result_metrics(rows, [3, 256, 256])}
    assert by == {("top1", 78.0), ("top1@288px", 80.0)}  # no result at 256: the smallest size ranks
    assert result_metrics(None, None) == [] and result_metrics([{"file": "x"}, "junk", {"img_size": "a"}], None) == []


def test_reading_results_files_as_timm_writes_them(tmp_path):
    from indexer.sources.timm_results import read_results

    (tmp_path / "results-imagenet.csv").write_text(
        "model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation\n"
        'big.tag,448,88.5,11.5,98.6,1.4,"1,014.45",1.000,bicubic\n'
        "bad.tag,,80,20,95,5,1,1,bicubic\n"
        "worse.tag,224,not-a-number,0,0,0,1,1,bicubic\n"
        ",224,80,20,95,5,1,1,bicubic\n")
    got = read_results(tmp_path)
    assert list(got) == ["big.tag"]
    [row] = got["big.tag"]
    assert row["img_size"] == 448 and row["top1"] == 88.5 and row["top5"] == 98.6 and row["dataset_id"] == "imagenet-1k"


def test_the_shipped_snapshot_says_where_it_came_from_and_covers_most_tags():
    from indexer.sources.timm_results import SNAPSHOT, origin, read_results

    o = origin()
    assert o["repository"] == "huggingface/pytorch-image-models" and len(o["commit"]) == 40
    assert "Apache License" in (SNAPSHOT / "LICENSE").read_text()
    assert all((SNAPSHOT / f).is_file() for f in o["files"])
    results = read_results()
    tags = set(timm.list_pretrained())
    assert len(tags & set(results)) / len(tags) > 0.6


@pytest.mark.conformance
def test_the_reader_reads_the_real_recorded_results(shared_fixtures):
    """../shared/fixtures-raw/timm: timm's real results files (quoted thousands separators)."""
    from indexer.sources.timm_results import read_results

    folder = shared_fixtures / "timm"
    got = read_results(folder)
    lines = (folder / "results-imagenet.csv").read_text().strip().splitlines()
    imagenet = sum(1 for rows in got.values() for r in rows if r["file"] == "results-imagenet.csv")
    assert imagenet == len(lines) - 1  # every row read
    assert any(r["file"] == "results-imagenet-real.csv" for rows in got.values() for r in rows)


# ---------------------------------------------------------------------- results read from GitHub
@pytest.fixture
def results_repo():
    """A GitHub replay holding timm's results/ folder as the snapshot has it."""
    from replay.github import GitHubReplay

    from indexer.sources.timm_results import FILES, SNAPSHOT

    with GitHubReplay() as gh:
        gh.add_repo("huggingface/pytorch-image-models",
                    files={f"results/{name}": (SNAPSHOT / name).read_bytes() for name in FILES}, license="apache-2.0")
        yield gh


def _results(tmp_path, gh, version="1.0.31", **cfg):
    from indexer.sources.base import FetchContext
    from indexer.sources.timm import TimmSource
    from indexer.sources.timm_results import results_folder

    ctx = FetchContext(cache_dir=tmp_path / "cache")
    ctx.config = {"endpoint": gh.url if gh else "http://github.invalid", "seconds_between_requests": 0.0,
                  "retries": 0, **cfg}
    folder, where = results_folder(ctx, version, TimmSource().resolved_settings(ctx))
    return folder, where, ctx


def test_results_are_read_from_github_once_per_version_downloading_only_what_changed(tmp_path, results_repo):
    from indexer.sources.timm_results import SNAPSHOT, read_results

    changed = (SNAPSHOT / "results-imagenet.csv").read_text().replace(
        "resnet18.a1_in1k,224,71.504,", "resnet18.a1_in1k,224,99.5,")
    results_repo.set_file("huggingface/pytorch-image-models", "results/results-imagenet.csv", changed)
    folder, where, ctx = _results(tmp_path, results_repo)
    assert folder != SNAPSHOT and where.startswith("github v1.0.31") and "1 of 7 files downloaded" in where
    assert ctx.details["results_downloaded"] == 1  # the other six are the snapshot's, byte for byte
    assert results_repo.count("/repos/huggingface/pytorch-image-models/contents/results/") == 1
    row = next(r for r in read_results(folder)["resnet18.a1_in1k"] if r["file"] == "results-imagenet.csv"
               and r["img_size"] == 224)
    assert row["top1"] == 99.5
    assert json.loads((folder / "ORIGIN.json").read_text())["ref"] == "v1.0.31"
    results_repo.reset_log()
    again, where, _ = _results(tmp_path, results_repo)
    assert again == folder and "cached" in where and results_repo.count() == 0  # a tag's files do not change


def test_github_unreachable_or_failing_falls_back_to_what_was_read_else_the_snapshot(tmp_path, results_repo):
    from indexer.sources.timm_results import SNAPSHOT

    folder, where, _ = _results(tmp_path, None)  # DNS fails at once
    assert folder == SNAPSHOT and where.startswith("snapshot (cannot reach the GitHub API")
    results_repo.fail_next(50, status=500)
    folder, where, _ = _results(tmp_path, results_repo)
    assert folder == SNAPSHOT and where.startswith("snapshot (GitHub") and "500" in where
    folder, where, _ = _results(tmp_path, results_repo, results="snapshot")
    assert folder == SNAPSHOT and where == 'snapshot (results = "snapshot")'
    results_repo.clear_failures()
    read, _, _ = _results(tmp_path, results_repo)  # v1.0.31 read once
    results_repo.fail_next(50, status=500)
    folder, where, _ = _results(tmp_path, results_repo, version="1.0.32")  # a new timm while GitHub fails
    assert folder == read and where.startswith("github v1.0.31 (an earlier version's copy")


def test_an_online_refresh_replaces_the_snapshot_and_the_next_reads_nothing(tmp_path, results_repo, monkeypatch,
                                                                           session_cache):
    """Against the replay: `modelcat refresh --source timm` writes GitHub's figures, not the
    snapshot's; the next refresh asks GitHub nothing."""
    import shutil

    from indexer.refresh import refresh
    from indexer.sources.timm_results import SNAPSHOT

    cache = tmp_path / "cache"
    shutil.copytree(session_cache, cache, ignore=shutil.ignore_patterns("timm-results"))  # the warm timm counts
    changed = (SNAPSHOT / "results-imagenet.csv").read_text().replace(
        "resnet18.a1_in1k,224,71.504,", "resnet18.a1_in1k,224,77.7,")
    results_repo.set_file("huggingface/pytorch-image-models", "results/results-imagenet.csv", changed)
    monkeypatch.setenv("GITHUB_API_URL", results_repo.url)
    db = tmp_path / "catalog.db"
    config = {"timm": {"seconds_between_requests": 0.0}}
    [r] = refresh(db, ["timm"], cache=cache, config=config)
    assert r.status == "ok" and r.details["results"].startswith("github v"), r.details
    with Catalog.open(db, readonly=True, create=False) as cat:
        top1 = {m["metric"]: m["value"] for m in cat.get_model("timm:resnet18.a1_in1k")["metrics"]
                if m["dataset_id"] == "imagenet-1k"}
    assert top1["top1"] == 77.7
    results_repo.reset_log()
    [r] = refresh(db, ["timm"], cache=cache, config=config)
    assert r.status == "ok" and "cached" in r.details["results"] and results_repo.count() == 0


# ---------------------------------------------------------------------- speed and cost
def test_every_shipped_benchmark_file_name_says_its_setup():
    from indexer.sources.timm_results import SNAPSHOT, benchmark_setup

    names = sorted(p.name for p in SNAPSHOT.glob("benchmark-*.csv"))
    assert len(names) >= 20
    setups = {n: benchmark_setup(n) for n in names}
    assert all(setups.values()), [n for n, s in setups.items() if not s]
    assert setups["benchmark-infer-amp-nchw-pt291-cu128-4090-dynamo.csv"] == {
        "kind": "infer", "precision": "amp", "layout": "nchw", "torch": "2.9.1", "cuda": "12.8", "device": "RTX 4090",
        "compiled": True}
    assert setups["benchmark-train-amp-nhwc-pt112-cu113-rtx3090.csv"]["torch"] == "1.12"
    assert setups["benchmark-infer-fp32-nchw-pt240-cpu-i7_12700h-dynamo.csv"]["device"] == "Intel Core i7-12700H"


def test_speeds_are_in_one_table_at_the_models_input_size(cat):
    rows = cat.conn.execute("SELECT * FROM model_speed WHERE model_id = 'timm:resnet50.a1_in1k'").fetchall()
    assert rows and {r["img_size"] for r in rows} == {224} and {r["source"] for r in rows} == {"timm"}
    devices = {r["device"] for r in rows}
    assert {"RTX 3090", "RTX 4090", "RTX 5090"} <= devices
    fast = [r for r in rows if r["device"] == "RTX 4090" and r["kind"] == "infer"]
    assert all(r["samples_per_sec"] > 1000 and r["gmacs"] == 4.11 for r in fast)
    ops = cat.get_model("torchvision:resnet50.IMAGENET1K_V2")["speeds"]
    assert [(s["kind"], s["gflops"], s["img_size"]) for s in ops] == [("ops", 4.089, 224)]


def test_search_filters_and_sorts_on_speed_on_a_named_device(built_catalog):
    from click.testing import CliRunner

    from indexer.cli import cli

    args = ["search", "--db", str(built_catalog), "--task", "image-classification", "--dataset", "imagenet-1k",
            "--device", "4090", "--min-speed", "1000", "--sort", "speed", "--limit", "30", "--format", "json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    speeds = [r["samples_per_sec"] for r in rows]
    assert len(rows) == 30 and all(s >= 1000 for s in speeds) and speeds == sorted(speeds, reverse=True)
    table = CliRunner().invoke(cli, args[:-2] + ["--sort", "top1", "--limit", "3"])
    assert "img/s" in table.output.splitlines()[0]
    bad = CliRunner().invoke(cli, ["search", "--db", str(built_catalog), "--device", "h100"])
    assert bad.exit_code == 1 and "unknown device 'h100'" in bad.output and "RTX 4090" in bad.output
    bare = CliRunner().invoke(cli, ["search", "--db", str(built_catalog), "--min-speed", "10"])
    assert bare.exit_code == 1 and "add --device" in bare.output
    shown = CliRunner().invoke(cli, ["show", "--db", str(built_catalog), "timm:resnet50.a1_in1k"])
    assert re.search(r"speed \(infer\) +[\d,]+ img/s on RTX 4090 at 224 px \(amp, nchw, torch 2\.9\.1", shown.output)


def test_pretraining_rows_apply_to_the_tags_they_describe():
    from indexer.sources.timm_results import pretraining_by_tag

    tags = ["deit_base_distilled_patch16_224.fb_in1k", "beit_base_patch16_224.in22k_ft_in22k",
            "beit_base_patch16_224.in22k_ft_in22k_in1k", "resnet50.a1_in1k", "resnet50.tv_in1k",
            "inception_v3.tf_adv_in1k", "inception_v3.tv_in1k", "resnext101_32x8d.fb_wsl_ig1b_ft_in1k",
            "cait_s24_224.fb_dist_in1k", "cait_s24_224.other_in1k"]
    table = {"deit_base_distilled_patch16_224": "in1k-dist", "beit_base_patch16_224": "in21k-selfsl",
             "resnet50": "in1k", "adv_inception_v3": "in1k-adv", "ig_resnext101_32x16d": "ig1b-wsl",
             "cait_s24_224": "in1k-dist"}
    deprecated = {"adv_inception_v3": "inception_v3.tf_adv_in1k",
                  # timm's table sends the 32x16d name to the 32x8d tag: another architecture, not taken
                  "ig_resnext101_32x16d": "resnext101_32x8d.fb_wsl_ig1b_ft_in1k"}
    assert pretraining_by_tag(table, tags, deprecated) == {
        "deit_base_distilled_patch16_224.fb_in1k": "in1k-dist",  # the architecture's only tag
        "beit_base_patch16_224.in22k_ft_in22k_in1k": "in21k-selfsl",  # the ImageNet-1K tag that names in22k
        "inception_v3.tf_adv_in1k": "in1k-adv",  # the old name is the architecture with the tag's prefix
    }  # "in1k" adds nothing; a method alone on an architecture of several tags cannot say which


def test_pretraining_is_kept_and_joins_the_datasets_only_when_the_tag_named_none():
    raw = {"name": "deit_base_distilled_patch16_224.fb_in1k", "pretrain": "in1k-dist",
           "cfg": {"architecture": "deit_base_distilled_patch16_224", "num_classes": 1000}}
    rec = normalize_timm(raw)
    assert rec.extra["pretrain"] == "in1k-dist"
    assert [(d.dataset_id, d.role) for d in rec.datasets] == [("imagenet-1k", "train")]
    rec = normalize_timm({**raw, "name": "somenet.fb", "pretrain": "in21k-selfsl"})
    assert [(d.dataset_id, d.role) for d in rec.datasets] == [("imagenet-21k", "pretrain")]
    rec = normalize_timm({**raw, "name": "somenet.fb_in1k", "pretrain": "in21k-selfsl"})
    assert [(d.dataset_id, d.role) for d in rec.datasets] == [("imagenet-21k", "pretrain"), ("imagenet-1k", "finetune")]


def test_the_catalog_says_how_timm_models_were_pretrained(cat):
    [(extra,)] = cat.conn.execute("SELECT extra FROM models WHERE id = 'timm:deit_base_distilled_patch16_224.fb_in1k'")
    assert json.loads(extra)["pretrain"] == "in1k-dist"
    n = cat.conn.execute("SELECT count(*) FROM models WHERE source = 'timm' AND json_extract(extra, '$.pretrain') IS NOT NULL")
    assert n.fetchone()[0] >= 100
