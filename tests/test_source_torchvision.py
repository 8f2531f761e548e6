"""The torchvision source against the installed torchvision (its real weights registry)."""

import json

import pytest

from indexer.errors import SkipRecord
from indexer.sources.torchvision import _import_torchvision, normalize_torchvision
from indexer.store import Catalog

models = _import_torchvision()


@pytest.fixture(scope="module")
def cat(built_catalog):
    with Catalog.open(built_catalog, readonly=True, create=False) as c:
        yield c


@pytest.fixture(scope="module")
def rows(cat):
    return {r["id"]: dict(r) for r in cat.conn.execute("SELECT * FROM models WHERE source = 'torchvision'")}


def all_weights():
    for builder in models.list_models():
        for w in models.get_model_weights(builder):
            yield builder, w


def test_every_weights_entry_is_in_the_catalog_with_its_meta(rows):
    expected = {f"torchvision:{b}.{w.name}": w for b, w in all_weights()}
    assert set(rows) == set(expected)
    for model_id, w in expected.items():
        row = rows[model_id]
        assert row["num_params"] == w.meta["num_params"]
        assert row["size_bytes"] == round(w.meta["_file_size"] * 2**20) and row["size_is_estimate"] == 0
        assert row["num_classes"] == (len(w.meta["categories"]) if w.meta.get("categories") else None)
        assert json.loads(row["extra"])["weights_url"] == w.url


def test_metrics_say_where_they_came_from(cat):
    import torchvision
    origins = {o for (o,) in cat.conn.execute(
        "SELECT DISTINCT origin FROM metrics WHERE model_id = 'torchvision:resnet50.IMAGENET1K_V2'")}
    assert origins == {f"torchvision {torchvision.__version__.split('+')[0]} ResNet50_Weights.IMAGENET1K_V2.meta['_metrics']"}
    assert cat.conn.execute("SELECT count(*) FROM metrics WHERE source = 'torchvision' AND origin IS NULL"
                            ).fetchone()[0] == 0


def test_metrics_are_the_reported_ones(cat):
    got = {(r["dataset_id"], r["metric"], r["metric_raw"]): r["value"] for r in cat.conn.execute(
        "SELECT * FROM metrics WHERE model_id = 'torchvision:resnet18.IMAGENET1K_V1'")}
    assert got == {("imagenet-1k", "top1", "acc@1"): 69.758, ("imagenet-1k", "top5", "acc@5"): 89.078}
    flow = {(r["dataset_id"], r["dataset_raw"], r["metric"]) for r in cat.conn.execute(
        "SELECT * FROM metrics WHERE model_id = 'torchvision:raft_small.C_T_V2'")}
    assert ("sintel", "Sintel-Train-Cleanpass", "epe") in flow and ("kitti-2015", "Kitti-Train", "fl_all") in flow
    total = sum(len(v) for _, w in all_weights() for v in w.meta["_metrics"].values()
                if all(x == x for x in v.values()))  # NaN != NaN: vgg16's features-only weights
    assert cat.conn.execute("SELECT count(*) FROM metrics WHERE source = 'torchvision'").fetchone()[0] == total


def test_license_defaults_to_bsd_and_swag_weights_are_non_commercial(rows):
    r = rows["torchvision:resnet18.IMAGENET1K_V1"]
    assert (r["license"], r["license_family"], r["is_open"], r["license_raw"]) == ("bsd-3-clause", "permissive", 1, None)
    swag = [r for r in rows.values() if "SWAG" in r["weights"]]
    assert len(swag) == 12
    assert {(r["license"], r["license_family"], r["is_open"]) for r in swag} == {("cc-by-nc-4.0", "non-commercial", 0)}
    assert {r["license_raw"] for r in swag} == {"https://github.com/facebookresearch/SWAG/blob/main/LICENSE"}


@pytest.mark.parametrize("model_id, task", [
    ("torchvision:resnet18.IMAGENET1K_V1", "image-classification"),
    ("torchvision:quantized_resnet18.IMAGENET1K_FBGEMM_V1", "image-classification"),
    ("torchvision:fasterrcnn_resnet50_fpn.COCO_V1", "object-detection"),
    ("torchvision:keypointrcnn_resnet50_fpn.COCO_V1", "keypoint-detection"),
    ("torchvision:deeplabv3_resnet50.COCO_WITH_VOC_LABELS_V1", "image-segmentation"),
    ("torchvision:r3d_18.KINETICS400_V1", "video-classification"),
    ("torchvision:raft_large.C_T_SKHT_K_V2", "other"),
    ("torchvision:vgg16.IMAGENET1K_FEATURES", "image-feature-extraction"),  # its classifier is NaN
])
def test_task_comes_from_the_builder_module(rows, model_id, task):
    assert rows[model_id]["task"] == task


@pytest.mark.parametrize("model_id, expected", [
    ("torchvision:resnet18.IMAGENET1K_V1", [("imagenet-1k", "train")]),
    ("torchvision:vit_b_16.IMAGENET1K_SWAG_E2E_V1", [("imagenet-1k", "finetune"), ("instagram-3.6b", "pretrain")]),
    ("torchvision:swin3d_b.KINETICS400_IMAGENET22K_V1", [("imagenet-21k", "pretrain"), ("kinetics-400", "finetune")]),
    ("torchvision:deeplabv3_resnet50.COCO_WITH_VOC_LABELS_V1", [("coco", "train")]),  # VOC labels, not VOC data
    ("torchvision:raft_large.C_T_V2", [("flyingchairs", "pretrain"), ("flyingthings3d", "finetune")]),
    ("torchvision:raft_large.C_T_SKHT_K_V2", [("flyingchairs", "pretrain"), ("flyingthings3d", "pretrain"),
                                              ("hd1k", "pretrain"), ("kitti-2015", "finetune"), ("sintel", "pretrain")]),
])
def test_training_datasets_come_from_the_weights_name(cat, model_id, expected):
    got = [tuple(r) for r in cat.conn.execute(
        "SELECT dataset_id, role FROM model_datasets WHERE model_id = ? ORDER BY dataset_id", (model_id,))]
    assert got == expected


def test_preprocessing_comes_from_the_weights_transforms(rows):
    r = rows["torchvision:resnet18.IMAGENET1K_V1"]
    assert json.loads(r["input_size"]) == [3, 224, 224] and r["crop_pct"] == 0.875
    assert r["interpolation"] == "bilinear" and json.loads(r["mean"]) == [0.485, 0.456, 0.406]
    r = rows["torchvision:vit_h_14.IMAGENET1K_SWAG_E2E_V1"]
    assert json.loads(r["input_size"]) == [3, 518, 518] and r["interpolation"] == "bicubic"


def test_papers_come_from_the_builder_docs(cat):
    papers = {r[0] for r in cat.conn.execute(
        "SELECT paper_id FROM model_papers WHERE model_id = 'torchvision:resnet18.IMAGENET1K_V1'")}
    assert papers == {"arxiv:1512.03385"}


def test_quantized_and_default_weights_are_marked(rows):
    q = rows["torchvision:quantized_resnet18.IMAGENET1K_FBGEMM_V1"]
    assert "quantized" in json.loads(q["tags"])
    assert json.loads(q["extra"])["backend"] == "fbgemm"
    assert json.loads(rows["torchvision:resnet50.IMAGENET1K_V2"]["extra"])["default"] is True
    assert "default" not in json.loads(rows["torchvision:resnet50.IMAGENET1K_V1"]["extra"])


@pytest.mark.parametrize("raw", [{}, {"builder": "x", "weights": "Y"}, {"builder": 1, "weights": "Y", "meta": {}}])
def test_entries_without_builder_weights_and_meta_are_skipped(raw):
    with pytest.raises(SkipRecord):
        normalize_torchvision(raw)


def test_odd_meta_values_do_not_break_normalization():
    rec = normalize_torchvision({
        "builder": "mymodel", "weights": "IMAGENET1K_V1", "module": "torchvision.models.mymodel",
        "meta": {"_metrics": {"ImageNet-1K": {"acc@1": float("nan"), "acc@5": "n/a"}, "Weird": 3},
                 "license": "MIT License", "_file_size": None},
        "transforms": {"crop_size": 224, "resize_size": 256},
    })
    assert rec.metrics == [] and rec.size_bytes is None and rec.license == "mit"
    assert rec.input_size == [3, 224, 224] and rec.crop_pct == 0.875


def test_pretrained_true_weights_are_torchvisions_own_mapping(cat):
    """torch.hub.load("pytorch/vision", name, pretrained=True) loads what torchvision's legacy
    interface maps pretrained=True to: not always the builder's first weights."""
    from indexer.sources.torchvision import pretrained_weights
    from torchvision.models._api import WeightsEnum

    verify = WeightsEnum.__dict__["verify"]
    raws = pretrained_weights(["resnet18", "raft_large", "raft_small", "keypointrcnn_resnet50_fpn",
                               "quantized_resnet18", "vit_h_14", "regnet_y_128gf", "get_weight", "no_such"])
    got = {name: normalize_torchvision(raw).id for name, raw in raws.items()}
    assert got == {
        "resnet18": "torchvision:resnet18.IMAGENET1K_V1",
        "raft_large": "torchvision:raft_large.C_T_SKHT_V2",  # its first weights are C_T_V1
        "raft_small": "torchvision:raft_small.C_T_V2",
        "keypointrcnn_resnet50_fpn": "torchvision:keypointrcnn_resnet50_fpn.COCO_V1",  # first: COCO_LEGACY
        "quantized_resnet18": "torchvision:resnet18.IMAGENET1K_V1",  # float weights unless quantize=True
    }  # vit_h_14 and regnet_y_128gf: "No weights available" for pretrained=True
    # each is the raw record the torchvision source reads: it normalizes to the row it wrote
    for name, raw in raws.items():
        row, rec = cat.get_model(got[name]), normalize_torchvision(raw)
        assert (rec.num_params, rec.size_bytes, rec.input_size, rec.license) == (
            row["num_params"], row["size_bytes"], row["input_size"], row["license"]), name
    # torchvision is left as it was: the builders work and load nothing on their own
    assert WeightsEnum.__dict__["verify"] is verify
    models = _import_torchvision()
    assert models.get_model_weights("resnet18").verify("IMAGENET1K_V1").name == "IMAGENET1K_V1"
