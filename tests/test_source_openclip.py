"""The openclip source against the installed open_clip (its real list of pretrained weights, read
offline): every (architecture, tag) pair is a row, with its training data from the tag, its Hub
repository's entity, its preprocessing and, built on the meta device, its parameter count."""

from __future__ import annotations

import json
import sqlite3

import pytest

from indexer.errors import SkipRecord
from indexer.records import ModelRecord
from indexer.sources.openclip import _import_open_clip, normalize_openclip
from indexer.store import Catalog

open_clip = _import_open_clip()


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, session_cache):
    from conftest import one_source_catalog

    return one_source_catalog(tmp_path_factory, session_cache, "openclip")


@pytest.fixture(scope="module")
def rows(catalog):
    conn = sqlite3.connect(catalog)
    conn.row_factory = sqlite3.Row
    return {r["id"]: dict(r) for r in conn.execute("SELECT * FROM models WHERE source = 'openclip'")}


def test_every_pretrained_pair_is_a_row_with_its_hub_repository(rows):
    from open_clip import pretrained

    pairs = open_clip.list_pretrained()
    assert len(pairs) >= 150 and set(rows) == {f"openclip:{a}.{t}" for a, t in pairs}
    for arch, tag in pairs:
        row, cfg = rows[f"openclip:{arch}.{tag}"], pretrained.get_pretrained_cfg(arch, tag)
        extra = json.loads(row["extra"])
        repo = "/".join(cfg["hf_hub"].strip("/").split("/")[:2])  # "org/name/" or "org/name/file"
        assert extra["hf_hub"] == repo and row["url"] == f"https://huggingface.co/{repo}"
        # the row is the weights its Hub repository holds: one entity with that repository's row
        # (timm/<arch>.<tag> holds timm's <arch>.<tag>: that row's entity; timm/ViT-B-16-SigLIP is open_clip's own)
        timm_tag = repo.startswith("timm/") and "." in repo
        assert row["entity_id"] == (f"timm:{repo[5:]}" if timm_tag else f"hf:{repo}")
        assert row["task"] == "zero-shot-image-classification" and row["library"] == "open_clip"
        assert row["mean"] is not None and json.loads(row["mean"]) == pytest.approx(list(cfg["mean"]))
        assert row["interpolation"] == cfg["interpolation"] and extra["resize_mode"] == cfg["resize_mode"]
        assert extra["load"] == f"open_clip.create_model_and_transforms({arch!r}, pretrained={tag!r})"
        # OpenCLIP's list names no license: unknown, never guessed
        assert row["license"] == "unknown" and row["license_raw"] is None
        # the image tower loads with a new head (indexer/loader/openclip_backend.py)
        assert row["loadable"] == 1 and row["load_backend"] == "openclip"


def test_known_weights_carry_their_data_size_and_preprocessing(rows, catalog):
    vit = rows["openclip:ViT-B-32.laion2b_s34b_b79k"]
    # ViT-B/32 CLIP: 151,277,313 parameters (87,849,216 in the image tower), float32 checkpoints
    assert vit["num_params"] == 151_277_313 and vit["size_bytes"] == 4 * 151_277_313 and vit["size_is_estimate"] == 1
    assert json.loads(vit["extra"])["image_tower_params"] == 87_849_216
    assert json.loads(vit["input_size"]) == [3, 224, 224] and vit["crop_pct"] == 1.0
    conn = sqlite3.connect(catalog)
    datasets = lambda mid: conn.execute(  # noqa: E731
        "SELECT dataset_id, role FROM model_datasets WHERE model_id = ? ORDER BY role, dataset_id", (mid,)).fetchall()
    assert datasets(vit["id"]) == [("laion-2b", "train")]
    assert datasets("openclip:ViT-B-32.openai") == [("openai-wit", "train")]
    assert datasets("openclip:ViT-L-14.datacomp_xl_s13b_b90k") == [("datacomp-xl", "train")]
    assert datasets("openclip:ViT-H-14-quickgelu.dfn5b") == [("dfn-5b", "train")]
    assert datasets("openclip:ViT-B-32.metaclip_400m") == [("metaclip-400m", "train")]
    # fine-tuned on COCO from LAION-2B
    assert datasets("openclip:coca_ViT-L-14.mscoco_finetuned_laion2b_s13b_b90k") == [("coco", "finetune"),
                                                                                  ("laion-2b", "pretrain")]
    # OpenAI's weights: CLIP's paper, the file OpenAI serves, and timm's mirror on the Hub as the entity
    openai = rows["openclip:ViT-B-32.openai"]
    assert openai["entity_id"] == "timm:vit_base_patch32_clip_224.openai"
    assert conn.execute("SELECT paper_id FROM model_papers WHERE model_id = ?", (openai["id"],)).fetchall() == \
        [("arxiv:2103.00020",)]
    assert conn.execute("SELECT url FROM model_files WHERE model_id = ?", (openai["id"],)).fetchone()[0].startswith(
        "https://openaipublic.azureedge.net/clip/models/")
    # a text tower built from a Hub config cannot be counted offline: unknown, and the row says why
    xlm = rows["openclip:xlm-roberta-base-ViT-B-32.laion5b_s13b_b90k"]
    assert xlm["num_params"] is None and xlm["size_bytes"] is None
    assert "xlm-roberta-base" in json.loads(xlm["extra"])["params_note"]


def test_the_hub_row_of_the_same_weights_is_one_entity(catalog, tmp_path):
    """The Hub's laion/CLIP-ViT-B-32-laion2B-s34B-b79K and OpenCLIP's ViT-B-32.laion2b_s34b_b79k are one
    model: the entities table lists both ids under one entity."""
    db = tmp_path / "catalog.db"
    src, out = sqlite3.connect(catalog), sqlite3.connect(db)
    src.backup(out)
    src.close()
    out.close()
    with Catalog.open(db) as cat:
        with cat.transaction():
            w = cat.writer("hf")
            w.add(ModelRecord(id="hf:laion/CLIP-ViT-B-32-laion2B-s34B-b79K", source="hf",
                              name="laion/CLIP-ViT-B-32-laion2B-s34B-b79K", library="open_clip", license="mit"))
            w.finish(removed_since=None)
        row = cat.conn.execute("SELECT n_ids, ids, sources FROM entities WHERE entity = ?",
                               ("hf:laion/CLIP-ViT-B-32-laion2B-s34B-b79K",)).fetchone()
    assert tuple(row) == (2, json.dumps(["hf:laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
                                         "openclip:ViT-B-32.laion2b_s34b_b79k"]).replace(" ", ""), "hf,openclip")


@pytest.mark.parametrize("raw, why", [
    ({}, "not an OpenCLIP"),
    ({"architecture": "ViT-B-32", "tag": None}, "not an OpenCLIP"),
    ({"architecture": "ViT.B", "tag": "x"}, "not a valid OpenCLIP name"),
    ({"architecture": "ViT-B-32", "tag": "a\x1b[31m"}, "not a valid OpenCLIP name"),
])
def test_records_that_are_not_a_pair_are_skipped(raw, why):
    with pytest.raises(SkipRecord, match=why):
        normalize_openclip(raw)


def test_hostile_config_values_are_dropped_not_stored():
    rec = normalize_openclip({
        "architecture": "ViT-B-32", "tag": "laion2b_s34b_b79k",
        "pretrained_cfg": {"hf_hub": "evil/<script>/x", "mean": "nan", "url": "javascript:alert(1)", "resize_mode": 5},
        "model_cfg": {"vision_cfg": {"image_size": -3}}, "parameters": {"total": -1, "visual": "many"},
    })
    assert rec.entity_id is None and rec.url == "https://github.com/mlfoundations/open_clip"
    assert rec.num_params is None and rec.size_bytes is None and rec.input_size is None and rec.mean is None
    assert rec.files == [] and "weights_url" not in rec.extra
