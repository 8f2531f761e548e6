"""load_model for NGC rows: a model version's files through NGC's routes (the replay in
tests/replay/ngc.py: ngcsdk's file list, the public download address NVIDIA's own code names,
redirected to storage), each checked against its listed size and sha256, into modelcat's cache,
then built by the layout they have: a timm folder, a transformers folder. A plain checkpoint (the
`.pth.tar` state dicts of NVIDIA's DeepLearningExamples) is refused before any download."""

from __future__ import annotations

import pytest
import safetensors.torch

from finetune_checks import check_strategy
from indexer.errors import NotLoadable, WeightsUnavailable
from indexer.loader import load_model
from indexer.records import ModelRecord
from replay import models as M
from replay.ngc import NgcReplay, ngc_file, ngc_model

TIMM = "nvidia/tiny/timm_vit"
VIT = "nvidia/tiny/hf_vit"
PLAIN = "nvidia/resnet50_pyt_amp"


def _files(path) -> list[dict]:
    return [ngc_file(str(p.relative_to(path)), p.read_bytes()) for p in sorted(path.rglob("*")) if p.is_file()]


@pytest.fixture
def ngc(loader_env, monkeypatch, tmp_path):
    """NGC serving three models (version 1.0.0 each; an API key asked), a catalog of their rows, an
    empty cache."""
    from replay.models import write_catalog

    models = [ngc_model(TIMM, files=_files(loader_env.art.dirs[M.HF_TIMM_REPO])),
              ngc_model(VIT, files=_files(loader_env.art.dirs[M.VIT_REPO])),
              ngc_model(PLAIN, files=[ngc_file("nvidia_resnet50_200821.pth.tar",
                                               loader_env.art.tinynet_weights.read_bytes()),
                                      ngc_file("README.md", b"# build it with DeepLearningExamples")])]
    with NgcReplay(models, api_key="nvapi-test") as replay:
        vision = dict(task="image-classification", license="apache-2.0", license_family="permissive", is_open=True)
        recs = [ModelRecord(id=f"ngc:{rid}", source="ngc", name=rid, library=lib, extra={"latest_version": "1.0.0"},
                            **vision)
                for rid, lib in ((TIMM, "pytorch"), (VIT, "transformers"), (PLAIN, "pytorch"))]
        db = write_catalog(tmp_path / "ngc-catalog.db", recs)
        monkeypatch.setenv("MODELCAT_DB", str(db))
        monkeypatch.setenv("NGC_API_URL", replay.url)
        monkeypatch.setenv("NGC_API_KEY", "nvapi-test")
        monkeypatch.setenv("MODELCAT_CACHE_DIR", str(tmp_path / "cache"))
        yield replay


@pytest.mark.parametrize("strategy", ["feature-extraction", "partial", "full"])
@pytest.mark.parametrize("rid, backend", [(TIMM, "timm"), (VIT, "transformers")])
def test_an_ngc_model_that_is_a_timm_or_transformers_folder_loads_under_every_strategy(
        ngc, loader_env, tmp_path, rid, backend, strategy):
    ft = load_model(f"ngc:{rid}", num_classes=3, strategy=strategy)
    assert ft.backend == "ngc" and ft.catalog_id == f"ngc:{rid}"
    folder = tmp_path / "cache" / "ngc" / rid / "1.0.0"
    assert (folder / "config.json").exists() and (folder.parent / "1.0.0.complete").exists()
    if backend == "timm":
        served = safetensors.torch.load_file(folder / "model.safetensors")
    else:
        served = type(ft.model).from_pretrained(loader_env.art.dirs[M.VIT_REPO]).state_dict()
    check_strategy(ft, served, strategy)


def test_the_files_come_through_ngcs_routes_once_then_from_the_cache(ngc, monkeypatch):
    load_model(f"ngc:{TIMM}", num_classes=3)
    assert "/v2/org/nvidia/team/tiny/models/timm_vit/versions/1.0.0/files?page-size=1000" in ngc.detail_requests
    assert sorted(ngc.downloads) == [f"/v2/models/{TIMM}/versions/1.0.0/files/{n}"
                                     for n in ("config.json", "model.safetensors")]
    # again, with NGC unreachable: the cache answers, no request
    ngc.detail_requests.clear()
    ngc.downloads.clear()
    monkeypatch.setenv("NGC_API_URL", "http://127.0.0.1:9")
    assert load_model(f"ngc:{TIMM}", num_classes=3).backend == "ngc"
    assert ngc.detail_requests == [] and ngc.downloads == []


def test_a_plain_checkpoint_is_refused_before_anything_is_downloaded(ngc, tmp_path):
    with pytest.raises(NotLoadable, match=r"version 1.0.0's files \(README.md, nvidia_resnet50_200821.pth.tar\) are a "
                                          r"checkpoint.*no config.json.*ngc registry model download-version "
                                          r"\"nvidia/resnet50_pyt_amp:1.0.0\""):
        load_model(f"ngc:{PLAIN}", num_classes=3)
    # nothing but the download lock beside where the folder would be
    assert ngc.downloads == [] and [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()] == ["1.0.0.lock"]


def test_another_version_and_one_ngc_does_not_have(ngc, tmp_path):
    with pytest.raises(WeightsUnavailable, match="no version 9.9 of this model"):
        load_model(f"ngc:{TIMM}", num_classes=3, revision="9.9")
    ngc._models[TIMM]["_versions"] = ["2.0"]  # an older version, with the same files
    assert load_model(f"ngc:{TIMM}", num_classes=3, revision="2.0").backend == "ngc"
    assert (tmp_path / "cache" / "ngc" / TIMM / "2.0.complete").exists()
    with pytest.raises(Exception, match="not an NGC version"):
        load_model(f"ngc:{TIMM}", num_classes=3, revision="../../x")


def test_a_model_the_account_is_not_entitled_to_says_where_to_ask(ngc):
    real = ngc._serve_detail
    ngc._serve_detail = lambda h, m, q: ngc._send(h, 402, b'{"requestStatus": {"statusCode": "PAYMENT_REQUIRED"}}')
    with pytest.raises(WeightsUnavailable, match="402.*no entitlement.*request access"):
        load_model(f"ngc:{TIMM}", num_classes=3)
    ngc._serve_detail = real


def test_the_api_key_refused_or_missing_is_named(ngc, monkeypatch):
    monkeypatch.setenv("NGC_API_KEY", "nvapi-wrong")
    with pytest.raises(WeightsUnavailable, match="NGC_API_KEY was refused: check it"):
        load_model(f"ngc:{TIMM}", num_classes=3)
    monkeypatch.delenv("NGC_API_KEY")
    with pytest.raises(WeightsUnavailable, match="set NGC_API_KEY"):
        load_model(f"ngc:{TIMM}", num_classes=3)


def test_offline_and_not_cached_says_how_to_get_the_files(ngc, monkeypatch):
    monkeypatch.setenv("NGC_API_URL", "http://127.0.0.1:9")
    with pytest.raises(WeightsUnavailable, match=r'cannot be reached.*ngc registry model download-version '
                                                 r'"nvidia/tiny/timm_vit:1.0.0"'):
        load_model(f"ngc:{TIMM}", num_classes=3)


def test_a_file_name_that_leaves_the_folder_is_refused_and_nothing_is_written(ngc, tmp_path):
    ngc._models[TIMM]["_files"].append(ngc_file("../../../escaped.py", b"x"))
    with pytest.raises(WeightsUnavailable, match="outside the model's folder: refused"):
        load_model(f"ngc:{TIMM}", num_classes=3)
    assert not list(tmp_path.rglob("escaped.py")) and not (tmp_path / "cache" / "ngc" / TIMM / "1.0.0").exists()


@pytest.mark.parametrize("fault, why", [("cut_files", "model.safetensors arrived cut"),
                                        ("corrupt_files", "model.safetensors does not match the sha256 its source lists")])
def test_a_file_cut_or_not_the_bytes_listed_is_not_kept_and_the_next_try_completes(ngc, tmp_path, fault, why):
    getattr(ngc, fault).add("model.safetensors")
    with pytest.raises(WeightsUnavailable, match=why):
        load_model(f"ngc:{TIMM}", num_classes=3)
    base = tmp_path / "cache" / "ngc" / TIMM
    assert not (base.parent / "1.0.0.complete").exists() and not (base / "1.0.0" / "model.safetensors").exists()
    getattr(ngc, fault).clear()
    assert load_model(f"ngc:{TIMM}", num_classes=3).backend == "ngc"
    assert (base.parent / "timm_vit" / "1.0.0").is_dir()


def test_a_file_listed_without_a_usable_sha256_is_checked_by_its_size_only(ngc, tmp_path):
    """NGC does not always give a sha256 (a third-party client of its API says so): such a file is
    kept when its size is right; a hash that is not base64, or not a string, counts as none."""
    files = ngc._models[TIMM]["_files"]
    files[0]["sha256_base64"], files[1]["sha256_base64"] = 12345, "not base64!"
    assert load_model(f"ngc:{TIMM}", num_classes=3).backend == "ngc"
    assert (tmp_path / "cache" / "ngc" / TIMM / "1.0.0.complete").exists()


def test_ngc_rows_say_when_they_load():
    from indexer.normalize.loadable import loadability

    pt = loadability("ngc", "pytorch", [])
    assert pt.loadable and pt.backend == "ngc" and "timm or transformers folder" in pt.note
    assert loadability("ngc", "transformers", []).backend == "ngc"
    for lib, what in (("nemo", "NeMo"), ("tao", "TAO"), ("tensorrt", "TensorRT"), ("riva", "Riva")):
        found = loadability("ngc", lib, [])
        assert not found.loadable and what in found.note


def test_processes_loading_the_same_model_at_once_download_it_once(ngc, tmp_path):
    """The processes of one torchrun job each call load_model: one downloads, the others wait for
    its lock and read the complete folder (without it, each would download, and one would delete
    the folder another is writing)."""
    import threading
    import time

    from indexer.loader import ngc_backend
    from indexer.loader.api import catalog_row

    slow = ngc._serve_storage

    def serve(h, key):
        time.sleep(0.3)
        return slow(h, key)

    ngc._serve_storage = serve
    row = catalog_row(f"ngc:{TIMM}")
    folders, errors = [], []

    def one():
        try:
            folders.append(ngc_backend.download(row, "1.0.0"))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(folders)) == 1 and len(folders) == 4
    assert sorted(ngc.downloads) == [f"/v2/models/{TIMM}/versions/1.0.0/files/{n}"
                                     for n in ("config.json", "model.safetensors")]
    assert (folders[0] / "model.safetensors").exists()
