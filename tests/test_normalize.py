"""Task, dataset, arXiv id, metric and size normalizers, and the integrity of their tables."""

import pytest
import yaml

from indexer.normalize import (arxiv_ids, bytes_from_mib, canonical_dataset, canonical_metric,
                               datasets_from_tokens, estimate_bytes, normalize_task)
from indexer.normalize.dataset import dataset_kind, dataset_table, label_space_sizes
from indexer.normalize.tables import SchemaTableError, build_index, loose_key
from indexer.paths import schema_dir

# ---------------------------------------------------------------------- tasks
HF_PIPELINE_TAGS = """
text-classification token-classification table-question-answering question-answering
zero-shot-classification translation summarization feature-extraction text-generation
text2text-generation fill-mask sentence-similarity text-to-speech text-to-audio
automatic-speech-recognition audio-to-audio audio-classification voice-activity-detection
depth-estimation image-classification object-detection image-segmentation text-to-image
image-to-text image-to-image image-to-video unconditional-image-generation video-classification
reinforcement-learning robotics tabular-classification tabular-regression tabular-to-text
table-to-text multiple-choice text-retrieval time-series-forecasting text-to-video
image-text-to-text visual-question-answering document-question-answering
zero-shot-image-classification graph-ml mask-generation zero-shot-object-detection text-to-3d
image-to-3d image-feature-extraction video-text-to-text keypoint-detection
visual-document-retrieval any-to-any video-to-video other
""".split()


@pytest.mark.parametrize("tag", HF_PIPELINE_TAGS)
def test_every_hub_pipeline_tag_is_its_own_task(tag):
    assert normalize_task(tag) == tag
    assert normalize_task(tag.upper().replace("-", " ")) == tag
    assert normalize_task(tag.replace("-", "_")) == tag


@pytest.mark.parametrize("raw, task", [
    ("Image Classification", "image-classification"),
    ("img-cls", "image-classification"),
    ("sentiment-analysis", "text-classification"),
    ("NER", "token-classification"),
    ("ASR", "automatic-speech-recognition"),
    ("conversational", "text-generation"),
    ("semantic segmentation", "image-segmentation"),
    ("pose estimation", "keypoint-detection"),
    ("torchvision.models.resnet", "image-classification"),
    ("torchvision.models.quantization.mobilenetv3", "image-classification"),
    ("torchvision.models.detection.faster_rcnn", "object-detection"),
    ("torchvision.models.detection.keypoint_rcnn", "keypoint-detection"),
    ("torchvision.models.segmentation.deeplabv3", "image-segmentation"),
    ("torchvision.models.video.swin_transformer", "video-classification"),
    ("torchvision.models.optical_flow.raft", "other"),
])
def test_task_aliases(raw, task):
    assert normalize_task(raw) == task


@pytest.mark.parametrize("raw", [None, "", "   ", "quantum-teleportation", "models.resnet", 42, "a.b.c", "x" * 100_000])
def test_unknown_tasks_are_none(raw):
    assert normalize_task(raw) is None


# ---------------------------------------------------------------------- datasets
@pytest.mark.parametrize("raw, ident", [
    ("in1k", "imagenet-1k"), ("imagenet", "imagenet-1k"), ("ImageNet-1K", "imagenet-1k"),
    ("imagenet_1k", "imagenet-1k"), ("IMAGENET1K", "imagenet-1k"), ("ILSVRC/imagenet-1k", "imagenet-1k"),
    ("ILSVRC-2012", "imagenet-1k"),
    ("in21k", "imagenet-21k"), ("in22k", "imagenet-21k"), ("ImageNet-22K", "imagenet-21k"),
    ("imagenet-21k", "imagenet-21k"), ("in12k", "imagenet-12k"),
    ("laion2b", "laion-2b"), ("laion/laion2B-en", "laion-2b"), ("LAION-400M", "laion-400m"),
    ("openai/clip", "openai-wit"), ("jft300m", "jft-300m"), ("JFT", "jft-300m"), ("ig1b", "instagram-1b"),
    ("COCO-val2017", "coco"), ("mscoco", "coco"), ("Kinetics-400", "kinetics-400"),
    ("Sintel-Train-Cleanpass", "sintel"), ("Kitti-Train", "kitti-2015"),
    ("cifar10", "cifar-10"), ("uoft-cs/cifar10", "cifar-10"), ("food101", "food-101"),
    ("mozilla-foundation/common_voice_11_0", "common-voice"), ("squad", "squad"),
])
def test_dataset_aliases(raw, ident):
    assert canonical_dataset(raw) == ident


# Hub dataset repositories that real model cards and training code name (issue #21, part 3): a
# dataset in another packaging maps to it (schema/datasets.yml's hub_repos); a subset never does
@pytest.mark.parametrize("raw, ident", [
    ("timm/imagenet-1k-wds", "imagenet-1k"), ("TIMM/ImageNet-1k-WDS", "imagenet-1k"),
    ("datasets/timm/imagenet-1k-wds", "imagenet-1k"),
    ("evanarlian/imagenet_1k_resized_256", "imagenet-1k"), ("benjamin-paine/imagenet-1k-256x256", "imagenet-1k"),
    ("benjamin-paine/imagenet-1k", "imagenet-1k"), ("timm/imagenet-12k-wds", "imagenet-12k"),
    ("timm/imagenet-22k-wds", "imagenet-21k"), ("timm/imagenet-w21-wds", "imagenet-21k"),
    ("ILSVRC/imagenet-1k", "imagenet-1k"), ("ylecun/mnist", "mnist"), ("zalando-datasets/fashion_mnist", "fashion-mnist"),
    ("ethz/food101", "food-101"), ("uoft-cs/cifar100", "cifar-100"), ("timm/oxford-iiit-pet", "oxford-iiit-pet"),
    ("detection-datasets/coco", "coco"), ("1aurent/ADE20K", "ade20k"),
    # datasets real image-classifier cards name, legacy names and repositories alike
    ("beans", "beans"), ("AI-Lab-Makerere/beans", "beans"), ("cats_vs_dogs", "cats-vs-dogs"),
    ("microsoft/cats_vs_dogs", "cats-vs-dogs"), ("ufldl-stanford/svhn", "svhn"), ("blanchon/EuroSAT_RGB", "eurosat"),
    ("tanganke/sun397", "sun397"), ("tanganke/dtd", "dtd"), ("tanganke/stl10", "stl-10"),
    # subsets and look-alikes are other datasets: their own, never ImageNet-1K or MNIST
    ("zh-plus/tiny-imagenet", "tiny-imagenet"), ("Maysee/tiny-imagenet", "tiny-imagenet"),
    ("frgfm/imagenette", "imagenette"), ("timm/mini-imagenet", None),
    ("clane9/imagenet-100", None), ("karanravindra/qmnist", "qmnist"), ("someone/imagenet-1k-wds-subset", None),
])
def test_hub_dataset_repositories_map_to_their_dataset(raw, ident):
    assert canonical_dataset(raw) == ident


@pytest.mark.parametrize("raw, loader", [
    ("imagefolder", True), ("ImageFolder", True), ("datasets/imagefolder", True), ("audiofolder", True),
    ("csv", True), ("parquet", True), ("custom", True), ("Custom", True), ("beans", False),
    ("someone/imagefolder", False), ("someone/custom", False), (None, False), (3, False),
])
def test_a_file_loader_of_the_datasets_library_or_a_placeholder_is_no_dataset(raw, loader):
    from indexer.normalize.dataset import names_no_dataset

    assert names_no_dataset(raw) is loader


def test_a_hub_repo_claimed_twice_or_not_a_repo_is_a_table_error(monkeypatch):
    from indexer.normalize import dataset as mod

    for table, match in (({"a": {"hub_repos": ["o/x"]}, "b": {"hub_repos": ["O/X"]}}, "names both"),
                         ({"a": {"hub_repos": ["just-a-name"]}}, "not owner/name")):
        mod._hub_repos.cache_clear()
        monkeypatch.setattr(mod, "dataset_table", lambda table=table: table)
        with pytest.raises(SchemaTableError, match=match):
            mod._hub_repos()
    mod._hub_repos.cache_clear()


@pytest.mark.parametrize("raw", [None, "", "-", "my-private-dataset", "openai", "imagenet-2k", 7])
def test_unknown_datasets_are_none(raw):
    # "openai" is a dataset only inside a timm tag, never in free text
    assert canonical_dataset(raw) is None


@pytest.mark.parametrize("tag, expected", [
    ("a1_in1k", [("imagenet-1k", "in1k")]),
    ("augreg_in21k_ft_in1k", [("imagenet-21k", "in21k"), ("imagenet-1k", "in1k")]),
    ("clip_laion2b_ft_in12k_in1k", [("laion-2b", "laion2b"), ("imagenet-12k", "in12k"), ("imagenet-1k", "in1k")]),
    ("in1k_ft_in22k_in1k", [("imagenet-21k", "in22k"), ("imagenet-1k", "in1k")]),  # each once, last place
    ("miil_in21k_ft_in1k", [("imagenet-21k-p", "miil_in21k"), ("imagenet-1k", "in1k")]),  # longest match
    ("metaclip_2pt5b", [("metaclip-2.5b", "metaclip_2pt5b")]),
    ("openai_ft_in12k", [("openai-wit", "openai"), ("imagenet-12k", "in12k")]),
    ("mim_m38m_ft_in22k_in1k", [("merged-38m", "m38m"), ("imagenet-21k", "in22k"), ("imagenet-1k", "in1k")]),
    ("r160_in1k", [("imagenet-1k", "in1k")]),
    ("apple_pt_dist", []),
])
def test_timm_tags(tag, expected):
    assert datasets_from_tokens(tag.split("_"), scope="timm") == expected


@pytest.mark.parametrize("weights, expected", [
    ("imagenet1k_swag_e2e", [("imagenet-1k", "imagenet1k"), ("instagram-3.6b", "swag")]),
    ("kinetics400_imagenet22k", [("kinetics-400", "kinetics400"), ("imagenet-21k", "imagenet22k")]),
    ("coco_with_voc_labels", [("coco", "coco")]),
    ("c_t_skht_k", [("flyingchairs", "c"), ("sintel", "skht"), ("hd1k", "skht"),
                    ("flyingthings3d", "skht"), ("kitti-2015", "k")]),
])
def test_torchvision_weight_names(weights, expected):
    assert datasets_from_tokens(weights.split("_"), scope="torchvision") == expected


def test_scoped_tokens_do_not_leak_into_other_scopes():
    assert datasets_from_tokens(["c", "t"], scope="timm") == []
    assert datasets_from_tokens(["openai"], scope="torchvision") == []


def test_label_spaces():
    assert {1000, 21843, 11821} <= label_space_sizes()
    assert not {0, 512, 768, 1024} & label_space_sizes()


# ---------------------------------------------------------------------- arXiv ids
@pytest.mark.parametrize("text, ids", [
    ("arXiv:2010.11929", ["2010.11929"]),
    ("ARXIV:2010.11929", ["2010.11929"]),
    ("ArXiv 2010.11929", ["2010.11929"]),
    ("https://HuggingFace.co/papers/2304.07193", ["2304.07193"]),
    ("2010.11929, unmarked", []),
    ("arXiv:2010.11929v2", ["2010.11929"]),
    ("arxiv 2104.10972v4", ["2104.10972"]),
    ("https://arxiv.org/abs/2010.11929", ["2010.11929"]),
    ("see https://arxiv.org/pdf/2201.08371v2.pdf for details", ["2201.08371"]),
    ("http://export.arxiv.org/abs/cs/0112017v1", ["cs/0112017"]),
    ("arXiv:math.GT/0309136", ["math.GT/0309136"]),
    ("hep-th/9901001 (arXiv)", []),  # an old id with no arXiv marker next to it
    ("https://huggingface.co/papers/2304.07193", ["2304.07193"]),
    ("`Deep Residual Learning <https://arxiv.org/abs/1512.03385>`__ and arXiv:1512.03385", ["1512.03385"]),
    ("arXiv:2301.00808,arXiv:2212.07784", ["2301.00808", "2212.07784"]),
    (["arXiv:2301.00808", None, "https://arxiv.org/abs/1512.03385"], ["2301.00808", "1512.03385"]),
    ("version 1.2010.11929 of the file", []),
    ("", []), (None, []),
])
def test_arxiv_ids(text, ids):
    assert arxiv_ids(text, bare=False) == ids


@pytest.mark.parametrize("text, ids", [
    ("Dosovitskiy et al. 2010.11929.", ["2010.11929"]),
    ("2010.119290", []),  # too many digits
    ("v1.2010.11929", []),
    ("1312.6114 and 2010.11929v3", ["1312.6114", "2010.11929"]),
    ("dated 2013.1234", []),  # month 34 is not a month
])
def test_bare_arxiv_ids(text, ids):
    assert arxiv_ids(text) == ids


def test_arxiv_ids_on_huge_text_is_bounded():
    assert arxiv_ids("x " * 1_000_000 + "arXiv:2010.11929") == []  # beyond the first 100k characters


# ---------------------------------------------------------------------- metrics and sizes
@pytest.mark.parametrize("raw, name", [
    ("acc@1", "top1"), ("Top-1 Accuracy", "top1"), ("top1", "top1"), ("acc@5", "top5"),
    ("box_map", "box_map"), ("mask_map", "mask_map"), ("miou", "miou"), ("EPE", "epe"),
    ("per_image_epe", "per_image_epe"), ("F1 Score", "f1_score"),
])
def test_metric_names(raw, name):
    assert canonical_metric(raw) == name


def test_sizes():
    assert estimate_bytes(1000) == 4000 and estimate_bytes(1000, "bfloat16") == 2000
    assert estimate_bytes(None) is None
    assert bytes_from_mib(44.661) == round(44.661 * 1048576) and bytes_from_mib(None) is None


# ---------------------------------------------------------------------- the tables themselves
def test_dataset_table_entries_are_well_formed():
    kinds = {"classification", "image-text", "self-supervised", "detection", "segmentation",
             "optical-flow", "text", "audio"}
    for ident, entry in dataset_table().items():
        assert ident == ident.lower() and " " not in ident, ident
        assert entry.get("name"), ident
        assert dataset_kind(ident) in kinds, ident
    raw = yaml.safe_load((schema_dir() / "datasets.yml").read_text())
    for scope, table in raw["scoped"].items():
        for token, ids in table.items():
            assert all(i in dataset_table() for i in (ids or [])), (scope, token)


def test_task_table_has_every_hub_tag_and_nothing_else_misspelled():
    tasks = yaml.safe_load((schema_dir() / "tasks.yml").read_text())["tasks"]
    assert set(HF_PIPELINE_TAGS) <= set(tasks)


def test_an_alias_naming_two_entries_is_a_table_error():
    with pytest.raises(SchemaTableError, match="names both"):
        build_index({"a": {"aliases": ["Foo Bar"]}, "b": {"aliases": ["foo-bar"]}}, "test")


def test_loose_key():
    assert loose_key("Apache License, Version 2.0") == "apachelicenseversion20"
    assert loose_key("openrail++") == "openrail++" != loose_key("openrail")
