"""Hostile input: every source's record parsing, fed mutations of real-shaped records (fields
missing, null, of the wrong type, huge, odd unicode, nested where a scalar belongs), never
crashes: a record is normalized (unknown where it cannot tell) and written, or skipped with a
reason (SkipRecord). Hypothesis: 17,000 examples in all, every run (MODELCAT_HYPOTHESIS_SCALE
multiplies them)."""

from __future__ import annotations

import copy
import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.errors import SkipRecord
from indexer.records import ModelRecord, PaperRecord, PaperResultsRecord, RepoRecord
from indexer.store import Catalog

# examples per source: more where an example is cheap; 5 x 2500 + 5 x 900 = 17,000 every run
SCALE = float(os.environ.get("MODELCAT_HYPOTHESIS_SCALE", "1"))
CHEAP, DEEP = int(2500 * SCALE), int(900 * SCALE)
MISSING = object()

_odd_text = st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Co", "Mn", "So", "Zl", "Zp",
                                                                           "Lo"]), max_size=40)
_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30), _odd_text,
    st.sampled_from(["", " ", "\x00", "NaN", "null", "[]", "{}", "a/b/c", "../../etc/passwd"]),
    st.builds(lambda n: "🤗" * n, st.integers(100, 2000)),
    # huge: 2 MB, one draw in 100 of this branch (built, so that reports do not print it)
    st.integers(0, 99).map(lambda i: "x" * 2_000_000 if i == 0 else "x" * (i * 300)),
)
hostile = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                       max_leaves=6)


def mutated(seed):
    """A strategy of records like `seed`: each field kept, mutated in depth, replaced by a hostile
    value or dropped; sometimes junk fields added."""
    if isinstance(seed, dict):
        fields = {k: st.one_of(mutated(v), mutated(v), hostile, st.just(MISSING)) for k, v in seed.items()}
        return st.builds(lambda d, junk: {**{k: v for k, v in d.items() if v is not MISSING}, **junk},
                         st.fixed_dictionaries(fields), st.dictionaries(st.text(max_size=6), hostile, max_size=2))
    if isinstance(seed, list):
        return st.lists(mutated(seed[0]), max_size=4) if seed else st.lists(hostile, max_size=3)
    return st.one_of(st.just(seed), hostile)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    cat = Catalog.open(tmp_path_factory.mktemp("hostile") / "catalog.db")
    yield cat
    cat.close()


def check(normalize, raw, catalog, source):
    before = copy.deepcopy(raw) if len(repr(raw)) < 100_000 else None
    try:
        out = normalize(raw)
    except SkipRecord as e:
        assert str(e)  # a reason to count
        return
    if before is not None:
        assert raw == before or raw != raw  # normalize does not change its input (NaN is never equal)
    records = out if isinstance(out, list) else [out]
    assert records and all(isinstance(r, (ModelRecord, PaperRecord, RepoRecord, PaperResultsRecord)) for r in records)
    with catalog.transaction():  # and the store takes it
        w = catalog.writer(source)
        for r in records:
            w.add(r)
        w.finish(removed_since=None)


def SETTINGS(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


# ---------------------------------------------------------------------- seeds: real shapes
TIMM_SEED = {
    "name": "resnet18.a1_in1k",
    "cfg": {"architecture": "resnet18", "tag": "a1_in1k", "hf_hub_id": "timm/resnet18.a1_in1k", "url": "",
            "license": "apache-2.0", "input_size": [3, 224, 224], "test_input_size": [3, 288, 288],
            "fixed_input_size": False, "interpolation": "bicubic", "crop_pct": 0.95, "crop_mode": "center",
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "num_classes": 1000, "label_offset": None,
            "pool_size": [7, 7], "first_conv": "conv1", "classifier": "fc", "origin_url": "https://x",
            "paper_name": "ResNet strikes back", "paper_ids": "arXiv:2110.00476", "notes": ["a note"],
            "description": None},
    "doc": "ResNet-18", "module": "timm.models.resnet", "num_params": 11689512, "state_bytes": 46830571,
    "count_error": None,
}
ARXIV_SEED = {"arxiv_id": "2010.11929", "version": 2, "title": "An Image is Worth 16x16 Words",
              "authors": ["Alexey Dosovitskiy", "Lucas Beyer"], "abstract": "Code: https://github.com/google/vit",
              "published": "2020-10-22T17:55:59Z", "updated": "2021-06-03T13:08:56Z",
              "categories": ["cs.CV", "cs.AI"], "primary_category": "cs.CV", "doi": None,
              "pdf_url": "https://arxiv.org/pdf/2010.11929v2", "comment": "ICLR 2021", "journal_ref": None}
GITHUB_SEED = {"repo": {"full_name": "pytorch/vision", "owner": "pytorch", "name": "vision",
                        "description": "Datasets, transforms and models", "html_url": "https://github.com/pytorch/vision",
                        "homepage": "https://pytorch.org/vision", "stargazers_count": 16000, "forks_count": 7000,
                        "open_issues_count": 1000, "license": {"spdx_id": "BSD-3-Clause", "name": "BSD"},
                        "topics": ["computer-vision", "pytorch"], "language": "Python",
                        "created_at": "2016-11-09T23:11:43Z", "pushed_at": "2024-01-01T00:00:00Z",
                        "archived": False, "fork": False, "default_branch": "main", "has_hubconf": True},
               "readme_papers": ["1512.03385"], "requested": "pytorch/vision"}


# one paper's record as the pwc source's fetch() builds it from the archive's files
PWC_SEED = {"paper_url": "https://paperswithcode.com/paper/efficientnet-rethinking-model-scaling-for",
            "title": "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
            "arxiv_id": "1905.11946", "origin": "Papers with Code archive (pwc-archive/files@0123456789ab)",
            "results": [{"task": "Image Classification", "dataset": "ImageNet", "metric": "Top 1 Accuracy",
                         "model": "EfficientNet-B7", "value": "84.4%", "extra": False, "date": "2019-05-28"}],
            "code": [{"repo_url": "https://github.com/tensorflow/tpu", "official": True, "framework": "tf"}]}


def torchhub_seed():
    from indexer.parse.hubconf import parse_hubconf

    return {"repo": GITHUB_SEED["repo"], "ref": "main",
            "hubconf": parse_hubconf('dependencies = ["torch"]\ndef tinynet(pretrained=False, **kw):\n'
                                     '    """A tiny net."""\n'),
            "pages": [{"url": "https://pytorch.org/hub/pytorch_vision_resnet/", "path": "pytorch_vision_resnet.md",
                       "meta": {"title": "ResNet", "category": "researchers", "github-link": "https://github.com/pytorch/vision"},
                       "loads": [{"name": "tinynet", "repo": "pytorch/vision"}], "arxiv": ["1512.03385"],
                       "text": "Deep residual networks pre-trained on ImageNet"}],
            "torchvision": {}}


def torchvision_seed():
    from indexer.sources.torchvision import weights_raw
    from indexer.torchcompat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import torchvision
    from torchvision import models

    return weights_raw(models, "resnet18", models.ResNet18_Weights.IMAGENET1K_V1, torchvision.__version__)


def openclip_seed():
    """A real record as the openclip source yields it (its parameters as the meta-device build counts them)."""
    from indexer.sources.base import jsonable
    from indexer.sources.openclip import _import_open_clip

    open_clip = _import_open_clip()
    from open_clip import pretrained

    return {"architecture": "ViT-B-32", "tag": "laion2b_s34b_b79k",
            "pretrained_cfg": jsonable(pretrained.get_pretrained_cfg("ViT-B-32", "laion2b_s34b_b79k")),
            "model_cfg": jsonable(open_clip.get_model_config("ViT-B-32")),
            "parameters": {"total": 151277313, "visual": 87849216}, "open_clip_version": "3.3.0"}


def torchaudio_seed():
    """A real record as the torchaudio source yields it (the installed torchaudio's WAV2VEC2_ASR_BASE_10M)."""
    from indexer.sources.torchaudio import _import_pipelines, bundle_raw

    torchaudio, pipelines = _import_pipelines()
    return bundle_raw(torchaudio, "WAV2VEC2_ASR_BASE_10M", pipelines.WAV2VEC2_ASR_BASE_10M)


# a resource as NGC's catalog search API answers it (tests/replay/ngc.py says where the shape comes from)
NGC_SEED = {
    "resourceId": "nvidia/tao/actionrecognitionnet", "orgName": "nvidia", "teamName": "tao",
    "name": "actionrecognitionnet", "displayName": "ActionRecognitionNet", "description": "TAO model.",
    "dateModified": "2026-09-20T04:00:00.000Z", "isPublic": True, "guestAccess": True,
    "labels": [{"key": "general", "values": ["video", "action-recognition"]}, {"key": "framework", "values": ["TAO Toolkit"]}],
    "attributes": [{"key": "latestVersionIdStr", "value": "1.0.0"}, {"key": "application", "value": "TAO Toolkit"},
                   {"key": "format", "value": "TAO"}, {"key": "latestVersionSizeInBytes", "value": 3145728}],
    # the model's own record and its version's files, as the source adds them (ngcsdk's Model, ModelFile)
    "_detail": {"licenseTerms": [{"licenseId": "nv-terms", "licenseVersion": "1", "needsAcceptance": True,
                                  "governingTerms": "https://www.nvidia.com/en-us/agreements/enterprise-software/"
                                                    "nvidia-open-model-license/"}],
                "publicDatasetUsed": {"name": "Kinetics", "link": "https://deepmind.com/kinetics", "license": "CC-BY-4.0"},
                "builtBy": "NVIDIA", "publisher": "NVIDIA", "createdDate": "2024-01-01T00:00:00.000Z"},
    "_files": [{"path": "model.tlt", "sizeInBytes": 3145728, "sha256_base64": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}],
    "_files_version": "1.0.0",
}


# a variation as Kaggle's Models API answers it (tests/replay/kaggle.py says where the shape comes from)
KAGGLE_SEED = {
    "model": {"id": 3301, "ref": "keras/efficientnetv2", "title": "EfficientNetV2", "subtitle": "ImageNet classifiers",
              "author": "keras", "slug": "efficientnetv2", "isPrivate": False, "description": "# EfficientNetV2",
              "tags": [{"ref": "image-classification", "name": "Image Classification"}],
              "publishTime": "2023-11-02T17:00:00Z", "provenanceSources": "", "url": "https://www.kaggle.com/models/keras/efficientnetv2"},
    "instance": {"id": 5012, "slug": "efficientnetv2_b0_imagenet", "framework": "keras", "fineTunable": True,
                 "overview": "B0", "usage": "keras_hub", "versionId": 9, "versionNumber": 2,
                 "trainingData": ["ImageNet"], "url": "https://www.kaggle.com/models/keras/efficientnetv2/keras/efficientnetv2_b0_imagenet",
                 "licenseName": "Apache 2.0", "modelInstanceType": "baseModel",
                 "baseModelInstanceInformation": {"id": 1, "owner": {"slug": "keras"}, "modelSlug": "efficientnetv2",
                                                  "instanceSlug": "efficientnetv2_b0", "framework": "keras"},
                 "externalBaseModelUrl": "", "totalUncompressedBytes": 29_000_000},
    # the version's signed manifest as the source adds it (indexer/sources/kaggle.py, SIGNED)
    "modelcat_signed_files": {"version": 2, "files": [
        {"name": "model.weights.h5", "sha256": "9" * 64}, {"name": "config.json", "sha256": "8" * 64}]},
}


def hf_seed():
    from replay.synth import synthetic_models

    return next(r for r in synthetic_models(50) if r.get("cardData") and r.get("safetensors"))


# ---------------------------------------------------------------------- the properties
@SETTINGS(CHEAP)
@given(raw=mutated(TIMM_SEED))
def test_timm_records(raw, catalog):
    from indexer.sources.timm import normalize_timm

    check(normalize_timm, raw, catalog, "timm")


@SETTINGS(CHEAP)
@given(raw=mutated(ARXIV_SEED))
def test_arxiv_records(raw, catalog):
    from indexer.sources.arxiv import normalize_arxiv

    check(normalize_arxiv, raw, catalog, "arxiv")


@SETTINGS(CHEAP)
@given(raw=mutated(GITHUB_SEED))
def test_github_records(raw, catalog):
    from indexer.sources.github import normalize_repo

    check(normalize_repo, raw, catalog, "github")


@SETTINGS(DEEP)
@given(data=st.data())
def test_torchhub_records(data, catalog):
    from indexer.sources.torchhub import normalize_torchhub

    check(normalize_torchhub, data.draw(mutated(_seeds("torchhub"))), catalog, "torchhub")


@SETTINGS(DEEP)
@given(data=st.data())
def test_torchvision_records(data, catalog):
    from indexer.sources.torchvision import normalize_torchvision

    check(normalize_torchvision, data.draw(mutated(_seeds("torchvision"))), catalog, "torchvision")


@SETTINGS(DEEP)
@given(data=st.data())
def test_openclip_records(data, catalog):
    from indexer.sources.openclip import normalize_openclip

    check(normalize_openclip, data.draw(mutated(_seeds("openclip"))), catalog, "openclip")


@SETTINGS(DEEP)
@given(data=st.data())
def test_torchaudio_records(data, catalog):
    from indexer.sources.torchaudio import normalize_torchaudio

    check(normalize_torchaudio, data.draw(mutated(_seeds("torchaudio"))), catalog, "torchaudio")


@SETTINGS(DEEP)
@given(data=st.data())
def test_hf_records(data, catalog):
    from indexer.sources.hf import normalize_hub

    check(normalize_hub, data.draw(mutated(_seeds("hf"))), catalog, "hf")


@SETTINGS(CHEAP)
@given(raw=mutated(NGC_SEED))
def test_ngc_records(raw, catalog):
    from indexer.sources.ngc import normalize_ngc

    check(normalize_ngc, raw, catalog, "ngc")


@SETTINGS(CHEAP)
@given(raw=mutated(KAGGLE_SEED))
def test_kaggle_records(raw, catalog):
    from indexer.sources.kaggle import normalize_kaggle

    check(normalize_kaggle, raw, catalog, "kaggle")


@SETTINGS(CHEAP)
@given(raw=mutated(PWC_SEED))
def test_pwc_records(raw, catalog):
    from indexer.sources.pwc import normalize_pwc

    check(normalize_pwc, raw, catalog, "pwc")


_SEED_CACHE: dict = {}


def _seeds(name: str):
    if name not in _SEED_CACHE:
        _SEED_CACHE[name] = {"torchhub": torchhub_seed, "torchvision": torchvision_seed, "hf": hf_seed,
                             "openclip": openclip_seed, "torchaudio": torchaudio_seed}[name]()
    return _SEED_CACHE[name]


def test_the_seeds_normalize_cleanly(catalog):
    """The unmutated seeds are real records: they normalize to rows (not skips)."""
    from indexer.sources.arxiv import normalize_arxiv
    from indexer.sources.github import normalize_repo
    from indexer.sources.hf import normalize_hub
    from indexer.sources.kaggle import normalize_kaggle
    from indexer.sources.ngc import normalize_ngc
    from indexer.sources.openclip import normalize_openclip
    from indexer.sources.pwc import normalize_pwc
    from indexer.sources.timm import normalize_timm
    from indexer.sources.torchaudio import normalize_torchaudio
    from indexer.sources.torchhub import normalize_torchhub
    from indexer.sources.torchvision import normalize_torchvision

    for fn, seed in ((normalize_timm, TIMM_SEED), (normalize_arxiv, ARXIV_SEED), (normalize_repo, GITHUB_SEED),
                     (normalize_torchhub, _seeds("torchhub")), (normalize_torchvision, _seeds("torchvision")),
                     (normalize_hub, _seeds("hf")), (normalize_pwc, PWC_SEED),
                     (normalize_openclip, _seeds("openclip")), (normalize_torchaudio, _seeds("torchaudio")),
                     (normalize_ngc, NGC_SEED), (normalize_kaggle, KAGGLE_SEED)):
        out = fn(copy.deepcopy(seed))
        assert list(itertools.chain(out if isinstance(out, list) else [out]))


def test_an_unchanged_record_with_an_impossible_counter(catalog):
    """Found by the property test: a record whose content is unchanged but whose download count
    is too big for SQLite took the 'touch' path, which wrote the raw counter and failed the batch."""
    rec = lambda downloads: ModelRecord(id="hf:a/counter", source="hf", name="a/counter",  # noqa: E731
                                        downloads=downloads)
    for downloads in (5, 2**70, -(2**70), 7):
        with catalog.transaction():
            w = catalog.writer("hf")
            w.add(rec(downloads))
            w.finish(removed_since=None)
    assert catalog.conn.execute("SELECT downloads FROM models WHERE id = 'hf:a/counter'").fetchone()[0] == 7
