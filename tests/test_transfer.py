"""`modelcat recommend --data` (issue #23): LogME (indexer/transfer.py) checked against the
evidence computed the slow way, and the candidates re-ranked on a small image set the test makes,
where a model whose features follow the images must outrank one whose features carry nothing of
them, whatever the catalog's own score says."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from indexer.cli import cli
from indexer.errors import ModelcatError
from indexer.transfer import _maximized, evidence, image_folder, logme


def _direct_log_evidence(f: np.ndarray, y: np.ndarray, alpha: float, beta: float) -> float:
    """log N(y; 0, F F' / alpha + I / beta): the marginal likelihood of the Bayesian linear model,
    with no SVD and no algebra of ours."""
    n = f.shape[0]
    cov = f @ f.T / alpha + np.eye(n) / beta
    sign, logdet = np.linalg.slogdet(cov)
    assert sign > 0
    return float(-0.5 * (y @ np.linalg.solve(cov, y) + logdet + n * math.log(2 * math.pi)))


@pytest.mark.parametrize("n, d", [(40, 6), (25, 60)])  # more samples than features, and fewer
def test_the_evidence_is_the_marginal_likelihood(n, d):
    rng = np.random.default_rng(n * d)
    f = rng.normal(size=(n, d))
    y = (rng.random(n) < 0.4).astype(float)
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    for alpha, beta in ((1.0, 1.0), (0.3, 4.0), (12.0, 0.7)):
        fast, _ = evidence(u, s * s, d, y, alpha, beta)
        assert fast == pytest.approx(_direct_log_evidence(f, y, alpha, beta), rel=1e-9, abs=1e-7)


def test_the_fixed_point_maximizes_the_evidence():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(60, 8))
    y = ((f[:, 0] + 0.5 * rng.normal(size=60)) > 0).astype(float)
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    best, alpha, beta = _maximized(u, s * s, 8, y)
    for a, b in ((alpha * 1.5, beta), (alpha / 1.5, beta), (alpha, beta * 1.5), (alpha, beta / 1.5)):
        assert _direct_log_evidence(f, y, a, b) < best + 1e-6


def test_logme_prefers_features_that_follow_the_labels():
    rng = np.random.default_rng(7)
    labels = np.repeat(np.arange(4), 30)
    noise = rng.normal(size=(120, 16))
    informative = noise.copy()
    informative[:, :4] += 3 * np.eye(4)[labels]
    constant = np.ones((120, 16))
    scores = [logme(x, labels) for x in (informative, noise, constant)]
    assert scores[0] > scores[1] and scores[0] > scores[2] and all(math.isfinite(s) for s in scores)
    with pytest.raises(ValueError, match="two classes"):
        logme(noise, np.zeros(120))
    with pytest.raises(ValueError, match="n x d"):
        logme(noise[:, 0], labels)


def _images(root, per_class: int, size: int = 40):
    """Two classes told apart by colour (reddish, bluish), each image with its own noise."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, name in enumerate(("blue", "red")):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            base = np.array([40, 60, 200] if k == 0 else [200, 50, 40], dtype=float)
            pixels = np.clip(base + rng.normal(0, 40, size=(size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:03d}.png")
    (root / "notes.txt").write_text("not a class")
    (root / "empty").mkdir()
    return root


def test_an_image_folder_is_sampled_evenly_and_a_wrong_one_is_a_clear_error(tmp_path):
    root = _images(tmp_path / "data", per_class=5, size=8)
    picked, classes = image_folder(root, 7)
    assert classes == ["blue", "red"]  # the empty folder is no class
    assert [label for _, label in picked] == [0, 1, 0, 1, 0, 1, 0]
    assert picked == image_folder(root, 7)[0]  # the same folder, the same sample
    with pytest.raises(ModelcatError, match="not a folder"):
        image_folder(tmp_path / "nowhere", 10)
    (tmp_path / "one" / "cats").mkdir(parents=True)
    (tmp_path / "one" / "cats" / "a.png").write_bytes((root / "red" / "000.png").read_bytes())
    with pytest.raises(ModelcatError, match="at least two"):
        image_folder(tmp_path / "one", 10)


@pytest.fixture
def two_candidates(loader_env, tmp_path):
    """Two tiny timm classifiers on the local Hub: acme/blank-net (every weight zero, each
    normalization's bias 0.1: the same features for every image; the catalog gives it the better
    ImageNet top-1, so it ranks first without --data) and acme/seeing-net (randomly initialized:
    features that follow the images' colours)."""
    import timm
    import torch
    from timm.models._hub import save_for_hf

    from indexer.records import Metric, ModelRecord
    from replay.models import write_catalog

    torch.manual_seed(0)
    recs = []
    for repo, blank, top1 in (("acme/blank-net", True, 90.0), ("acme/seeing-net", False, 60.0)):
        model = timm.create_model("test_resnet.r160_in1k")
        if blank:
            with torch.no_grad():
                for name, p in model.named_parameters():
                    p.fill_(0.1 if name.endswith("bias") and "bn" in name else 0.0)
        out = tmp_path / repo.replace("/", "--")
        save_for_hf(model, out, safe_serialization=True)
        loader_env.hub.put_dir(repo, out)
        recs.append(ModelRecord(
            id=f"hf:{repo}", source="hf", name=repo, library="timm", hf_hub_id=repo,
            tags=["timm", "safetensors", "image-classification"], task="image-classification",
            license="apache-2.0", license_family="permissive", is_open=True,
            metrics=[Metric("ImageNet-1K", "acc@1", top1, "imagenet-1k", "top1")],
            num_params=sum(p.numel() for p in model.parameters()), size_bytes=4 * sum(p.numel() for p in model.parameters()),
            input_size=[3, 64, 64], mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], crop_pct=1.0))
    db = write_catalog(tmp_path / "two.db", recs)
    return db


def test_data_reranks_the_candidates_by_how_their_features_fit_the_images(two_candidates, tmp_path, monkeypatch):
    from indexer import recommend

    monkeypatch.setenv("MODELCAT_CACHE_DIR", str(tmp_path / "cache"))
    data = _images(tmp_path / "mine", per_class=12)
    plain = recommend("image-classification", 200, num_classes=2, limit=2, db=two_candidates)
    assert [c["id"] for c in plain["candidates"]] == ["hf:acme/blank-net", "hf:acme/seeing-net"]
    assert "data" not in plain and "transfer_score" not in plain["candidates"][0]

    ticks = []
    scored = recommend("image-classification", 200, num_classes=2, limit=2, db=two_candidates, data=data,
                       progress=lambda n, total: ticks.append((n, total)))
    got = {c["id"]: c for c in scored["candidates"]}
    assert [c["id"] for c in scored["candidates"]] == ["hf:acme/seeing-net", "hf:acme/blank-net"]
    assert got["hf:acme/seeing-net"]["transfer_score"] > got["hf:acme/blank-net"]["transfer_score"]
    assert "LogME" in got["hf:acme/seeing-net"]["why"] and scored["data"]["images"] == 24
    assert scored["data"]["classes"] == ["blue", "red"]
    assert sum(n for n, _ in ticks) == 48 and {t for _, t in ticks} == {48}

    # asked again: the features are read from the cache, nothing is loaded
    import indexer.loader

    monkeypatch.setattr(indexer.loader, "load_model", lambda *a, **kw: (_ for _ in ()).throw(AssertionError("loaded")))
    again = recommend("image-classification", 200, num_classes=2, limit=2, db=two_candidates, data=data)
    assert [(c["id"], c["transfer_score"]) for c in again["candidates"]] == \
        [(c["id"], c["transfer_score"]) for c in scored["candidates"]]


def test_the_command_shows_the_score_and_a_candidate_it_could_not_score(two_candidates, loader_env, tmp_path,
                                                                         monkeypatch):
    import shutil

    monkeypatch.setenv("MODELCAT_CACHE_DIR", str(tmp_path / "cache"))
    data = _images(tmp_path / "mine", per_class=6)
    args = ["recommend", "--db", str(two_candidates), "--task", "image-classification", "--samples", "200",
            "--num-classes", "2", "--limit", "2", "--data", str(data)]
    r = CliRunner().invoke(cli, args + ["--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [c["id"] for c in out["candidates"]] == ["hf:acme/seeing-net", "hf:acme/blank-net"]
    assert all(isinstance(c["transfer_score"], float) for c in out["candidates"])
    table = CliRunner().invoke(cli, args)
    assert table.exit_code == 0 and "LogME" in table.stdout and "ranked by LogME on 12 of your images" in table.stdout
    fewer = json.loads(CliRunner().invoke(cli, args + ["--data-images", "4", "--format", "json"]).stdout)
    assert fewer["data"]["images"] == 4 and all(c["transfer_score"] is not None for c in fewer["candidates"])
    assert CliRunner().invoke(cli, args + ["--data-images", "1"]).exit_code == 2  # at least 2: a usage error

    # the seeing model's repository is gone from the Hub (its measurements are kept): it is said,
    # and comes last, after the one that could be scored
    shutil.rmtree(tmp_path / "cache" / "recommend" / "features")
    shutil.rmtree(tmp_path / "hf")  # (huggingface_hub's cache: its files would still load)
    loader_env.hub.remove_repo("acme/seeing-net")
    r = CliRunner().invoke(cli, args + ["--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [c["id"] for c in out["candidates"]] == ["hf:acme/blank-net", "hf:acme/seeing-net"]
    gone = out["candidates"][1]
    assert gone["transfer_score"] is None and gone["transfer_error"] and "not scored on your images" in gone["why"]
    assert "not scored on your images: hf:acme/seeing-net" in CliRunner().invoke(cli, args).stderr


def test_a_wrong_data_folder_is_a_clear_error_before_anything_is_built(two_candidates, tmp_path):
    r = CliRunner().invoke(cli, ["recommend", "--db", str(two_candidates), "--task", "image-classification",
                                 "--samples", "200", "--data", str(tmp_path / "nowhere")])
    assert r.exit_code != 0 and "not a folder" in r.output and "ImageFolder" in r.output
    r = CliRunner().invoke(cli, ["recommend", "--db", str(two_candidates), "--task", "text-classification",
                                 "--samples", "200", "--data", str(tmp_path)])
    assert r.exit_code != 0 and "--data scores images" in r.output


def test_features_are_made_also_where_the_cache_cannot_be_written(tmp_path):
    """transfer.cached_features: the cache is a convenience; a folder that cannot be written (a
    read-only home, a full disk) still gives the features, and no half-written file."""
    import numpy as np

    from indexer.transfer import cached_features

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    made = np.arange(6, dtype=np.float32).reshape(2, 3)
    f, kept = cached_features(blocked / "features", {"id": "x"}, lambda: made)
    assert (f == made).all() and kept is False
    f, kept = cached_features(tmp_path / "ok", {"id": "x"}, lambda: made)
    again, kept = cached_features(tmp_path / "ok", {"id": "x"}, lambda: None)
    assert kept is True and (again == made).all() and not list((tmp_path / "ok").glob("*.tmp"))
