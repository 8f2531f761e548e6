"""load_model for Kaggle Models rows: the variation's files through Kaggle's routes (the replay in
tests/replay/kaggle.py: kagglesdk's list-files and download requests, the download redirected to
storage as Kaggle does), into kagglehub's cache, then built by the layout they have: a timm folder,
a transformers folder; a plain checkpoint is refused, naming its files."""

from __future__ import annotations

import pytest
import safetensors.torch

from finetune_checks import check_strategy
from indexer.errors import NotLoadable, WeightsUnavailable
from indexer.loader import load_model
from indexer.records import ModelRecord
from replay import models as M
from replay.kaggle import KaggleReplay

TIMM = "acme/tiny-models/pyTorch/timm-vit"
VIT = "acme/tiny-models/transformers/vit"
PLAIN = "acme/tiny-models/pyTorch/plain-checkpoint"


def _folder(path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def kaggle(loader_env, monkeypatch, tmp_path):
    """Kaggle serving three variations (version 2 each), a catalog of their rows, an empty
    kagglehub cache; credentials asked for."""
    from replay.models import write_catalog

    with KaggleReplay(key=("ada", "secret"), anonymous=False) as replay:
        replay.add_files(TIMM, 2, _folder(loader_env.art.dirs[M.HF_TIMM_REPO]))
        replay.add_files(VIT, 2, _folder(loader_env.art.dirs[M.VIT_REPO]))
        replay.add_files(PLAIN, 2, {"model.pt": loader_env.art.tinynet_weights.read_bytes(),
                                    "notes/README.md": b"# build it with our code"})
        vision = dict(task="image-classification", license="apache-2.0", license_family="permissive", is_open=True)
        recs = [ModelRecord(id=f"kaggle:{h}", source="kaggle", name=h, library=lib, extra={"version": 2}, **vision)
                for h, lib in ((TIMM, "pytorch"), (VIT, "transformers"), (PLAIN, "pytorch"))]
        db = write_catalog(tmp_path / "kaggle-catalog.db", recs)
        monkeypatch.setenv("MODELCAT_DB", str(db))
        monkeypatch.setenv("KAGGLE_API_URL", replay.url)
        monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))
        monkeypatch.setenv("KAGGLE_USERNAME", "ada")
        monkeypatch.setenv("KAGGLE_KEY", "secret")
        monkeypatch.delenv("KAGGLE_API_TOKEN", raising=False)
        monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle-json"))
        yield replay


@pytest.mark.parametrize("strategy", ["feature-extraction", "partial", "full"])
@pytest.mark.parametrize("handle, backend", [(TIMM, "timm"), (VIT, "transformers")])
def test_a_kaggle_variation_loads_under_every_strategy(kaggle, loader_env, tmp_path, handle, backend, strategy):
    ft = load_model(f"kaggle:{handle}", num_classes=3, strategy=strategy)
    assert ft.backend == "kaggle" and ft.catalog_id == f"kaggle:{handle}"
    folder = tmp_path / "kagglehub" / "models" / handle / "2"
    assert (folder / "config.json").exists() and (folder.parent / "2.complete").exists()
    # the backbone is the served weights
    if backend == "timm":
        served = safetensors.torch.load_file(folder / "model.safetensors")
    else:
        served = type(ft.model).from_pretrained(loader_env.art.dirs[M.VIT_REPO]).state_dict()
    check_strategy(ft, served, strategy)


def test_the_files_come_through_kaggles_routes_once_then_from_kagglehubs_cache(kaggle, monkeypatch):
    load_model(f"kaggle:{TIMM}", num_classes=3)
    api = [p for p in kaggle.requests if p.startswith("/api/")]
    assert api[0].startswith(f"/api/v1/models/{TIMM}/2/files?pageSize=")
    downloads = sorted(p for p in api if "/download/" in p)
    assert downloads == [f"/api/v1/models/{TIMM}/2/download/{n}" for n in ("config.json", "model.safetensors")]
    assert sorted(p for p in kaggle.requests if p.startswith("/storage/")) == [
        f"/storage/{TIMM}/2/{n}" for n in ("config.json", "model.safetensors")]
    # again, with Kaggle unreachable: kagglehub's cache answers, no request
    kaggle.requests.clear()
    monkeypatch.setenv("KAGGLE_API_URL", "http://127.0.0.1:9")
    assert load_model(f"kaggle:{TIMM}", num_classes=3).backend == "kaggle" and kaggle.requests == []


def test_a_listing_in_pages_and_another_version(kaggle, monkeypatch, tmp_path):
    from indexer.loader import kaggle_backend

    monkeypatch.setattr(kaggle_backend, "PAGE_SIZE", 1)
    kaggle.add_files(TIMM, 3, dict(kaggle._files[f"{TIMM}/2"]))
    load_model(f"kaggle:{TIMM}", num_classes=3, revision="3")
    lists = [p for p in kaggle.requests if p.startswith(f"/api/v1/models/{TIMM}/3/files")]
    assert len(lists) == 2 and "pageToken=1" in lists[1]
    assert (tmp_path / "kagglehub" / "models" / TIMM / "3.complete").exists()
    with pytest.raises(WeightsUnavailable, match="no version 9 of this variation.*revision=N"):
        load_model(f"kaggle:{TIMM}", num_classes=3, revision="9")


def test_a_plain_checkpoint_is_refused_naming_its_files(kaggle, tmp_path):
    with pytest.raises(NotLoadable, match=r"its files \(model.pt, notes/README.md\) are not a timm or transformers "
                                          r"folder.*model's own code builds it; they are in .*plain-checkpoint/2"):
        load_model(f"kaggle:{PLAIN}", num_classes=3)


def test_credentials_kaggle_refuses_or_asks_for_are_named(kaggle, monkeypatch):
    monkeypatch.setenv("KAGGLE_KEY", "wrong")
    with pytest.raises(WeightsUnavailable, match="credentials from KAGGLE_USERNAME/KAGGLE_KEY were refused"):
        load_model(f"kaggle:{TIMM}", num_classes=3)
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    with pytest.raises(WeightsUnavailable, match="set KAGGLE_API_TOKEN, or KAGGLE_USERNAME and KAGGLE_KEY"):
        load_model(f"kaggle:{TIMM}", num_classes=3)


def test_offline_and_not_cached_says_how_to_get_the_files(kaggle, monkeypatch):
    monkeypatch.setenv("KAGGLE_API_URL", "http://127.0.0.1:9")
    with pytest.raises(WeightsUnavailable, match=r'cannot be reached.*kagglehub.model_download\("acme/tiny-models/'
                                                 r'pyTorch/timm-vit/2"\)'):
        load_model(f"kaggle:{TIMM}", num_classes=3)


def test_a_file_name_that_leaves_the_folder_is_refused_and_nothing_is_written(kaggle, tmp_path):
    kaggle.listed_extra = [{"name": "../../../escaped.py", "size": 3}]
    with pytest.raises(WeightsUnavailable, match="outside the model's folder: refused"):
        load_model(f"kaggle:{TIMM}", num_classes=3)
    assert not list(tmp_path.rglob("escaped.py")) and not (tmp_path / "kagglehub" / "models" / TIMM / "2").exists()


def test_a_file_that_arrives_cut_is_not_kept_and_the_next_try_completes(kaggle, tmp_path):
    kaggle.cut_files.add(f"/storage/{TIMM}/2/model.safetensors")
    with pytest.raises(WeightsUnavailable, match="model.safetensors arrived cut"):
        load_model(f"kaggle:{TIMM}", num_classes=3)
    base = tmp_path / "kagglehub" / "models" / TIMM
    assert not (base / "2.complete").exists() and not (base / "2" / "model.safetensors").exists()
    kaggle.cut_files.clear()
    assert load_model(f"kaggle:{TIMM}", num_classes=3).backend == "kaggle"
    assert (base / "2.complete").exists()


def test_kaggle_rows_say_when_they_load(kaggle):
    from indexer.normalize.loadable import loadability

    pt = loadability("kaggle", "pytorch", [])
    assert pt.loadable and pt.backend == "kaggle" and "timm or transformers folder" in pt.note
    assert loadability("kaggle", "transformers", []).backend == "kaggle"
    tf = loadability("kaggle", "tensorflow", [])
    assert not tf.loadable and tf.backend is None
