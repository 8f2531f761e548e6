"""Tiny real models for the loader's tests, saved as the libraries save them and served the way
their users get them: Hub repositories (tests/replay/hubfiles.py) for timm and transformers,
the torch hub cache (TORCH_HOME) for torchvision checkpoints and PyTorch Hub repositories, and a
catalog whose rows point at them.

Every served weight is a seeded initialization, negated: values a new initialization does not
draw (and at a scale that keeps activations finite), so a loaded backbone equal to the served
one was really read from the served file.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from indexer.records import ModelRecord, PaperLink, PaperRecord, RepoLink, RepoRecord
from indexer.store import Catalog

TIMM_TAG = "test_resnet.r160_in1k"  # BatchNorm, 4 stages: the BN and stage tests use it
HF_TIMM_REPO = "acme/tiny-timm-vit"  # library timm, loaded through hf-hub:
VIT_REPO = "acme/tiny-vit"  # transformers image classifier, 5 labels
BERT_REPO = "acme/tiny-bert"  # transformers text classifier, 4 labels, a fast tokenizer
PICKLE_REPO = "acme/pickled-vit"  # transformers, weights only as a malicious pytorch_model.bin
PICKLE_TIMM_REPO = "acme/pickled-timm"  # timm, the same
REMOTE_CODE_REPO = "acme/remote-code"  # a config that needs trust_remote_code
GATED_REPO = "acme/gated-vit"
NO_WEIGHTS_REPO = "acme/no-weights"  # a config, no weights
TV_BUILDER, TV_WEIGHTS = "resnet18", "IMAGENET1K_V1"
TV_PICKLE_BUILDER = "squeezenet1_0"  # its cached checkpoint is a malicious pickle
HUB_REPO = "acme/tinyhub"  # a hubconf.py with one entrypoint, tinynet (7 classes)
HUB_VISION = "pytorch/vision"  # a hubconf.py re-exporting torchvision's resnet18
OPENCLIP_REPO = "acme/tiny-openclip"  # library open_clip: open_clip_config.json and open_clip_model.safetensors
TORCHAUDIO_BUNDLE = "TINY_WAV2VEC2_ASR_TEST"  # a wav2vec 2.0 ASR bundle (CTC layer, input normalization)
TORCHAUDIO_PICKLE_BUNDLE = "TINY_PICKLED_WAV2VEC2_TEST"  # its cached file is a malicious pickle
TORCHAUDIO_PIPELINE = "TACOTRON2_WAVERNN_CHAR_LJSPEECH"  # a real pipeline bundle: refused by tag
TORCHAUDIO_PARAMS = {
    "extractor_mode": "group_norm", "extractor_conv_layer_config": [(8, 10, 5), (8, 3, 2)], "extractor_conv_bias": False,
    "encoder_embed_dim": 16, "encoder_projection_dropout": 0.0, "encoder_pos_conv_kernel": 4,
    "encoder_pos_conv_groups": 4, "encoder_num_layers": 3, "encoder_num_heads": 2, "encoder_attention_dropout": 0.0,
    "encoder_ff_interm_features": 32, "encoder_ff_interm_dropout": 0.0, "encoder_dropout": 0.0,
    "encoder_layer_norm_first": True, "encoder_layer_drop": 0.0, "aux_num_out": 5}
PICKLE_OPENCLIP_REPO = "acme/pickled-openclip"  # open_clip, weights only as a malicious open_clip_pytorch_model.bin
OPENCLIP_ARCH, OPENCLIP_TAG = "TinyCLIP-test", "acme"  # an OpenCLIP pair whose weights are that repository
# a CLIP small enough to build in milliseconds: a 3-block ViT image tower, a 1-layer text tower
OPENCLIP_CFG = {"embed_dim": 16,
                "vision_cfg": {"image_size": 32, "layers": 3, "width": 32, "patch_size": 8, "head_width": 16},
                "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1}}
OPENCLIP_PRE = {"mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711],
                "interpolation": "bicubic", "resize_mode": "shortest"}


class Payload:
    """Unpickling it creates `marker`: a pickle that runs code."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _mark(model) -> None:
    import torch

    with torch.no_grad():
        for p in model.parameters():
            p.neg_()


def _bert_tokenizer(directory: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "movie", "great", "awful", "plot"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                            sep_token="[SEP]").save_pretrained(directory)


HUBCONF_TINY = textwrap.dedent('''
    """A tiny PyTorch Hub repository for modelcat's loader tests."""
    import os

    import torch
    from torch import nn

    dependencies = ["torch"]

    if os.environ.get("TINYHUB_MARKER"):  # proves whether this file was ever imported
        open(os.environ["TINYHUB_MARKER"], "w").close()


    def tinynet(pretrained=False, num_classes=7):
        """A tiny convnet: three conv blocks, a 7-class linear head."""
        model = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))
        if pretrained:
            url = os.environ["TINYHUB_WEIGHTS_URL"]
            model.load_state_dict(torch.hub.load_state_dict_from_url(url, progress=False, weights_only=True))
        return model
''')
HUBCONF_VISION = 'dependencies = ["torch"]\nfrom torchvision.models.resnet import resnet18\n'


@dataclass
class Artifacts:
    """Everything built once per test session (a few seconds)."""

    root: Path
    dirs: dict[str, Path] = field(default_factory=dict)  # Hub repo -> the folder it serves
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)  # Hub repo -> {name: bytes}
    checkpoints: dict[str, Path] = field(default_factory=dict)  # TORCH_HOME/hub/checkpoints name -> file
    tinynet_weights: Path | None = None


def build_artifacts(root: Path) -> Artifacts:
    from indexer.torchcompat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import timm
    import torch
    from timm.models._hub import save_for_hf
    from torchvision.models import get_model, get_model_weights
    from transformers import (BertConfig, BertForSequenceClassification, ViTConfig, ViTForImageClassification,
                              ViTImageProcessor)

    torch.manual_seed(0)
    art = Artifacts(root)
    # timm, by pretrained tag (timm/<tag> on the Hub) and through hf-hub:
    for repo, arch in ((f"timm/{TIMM_TAG}", TIMM_TAG), (HF_TIMM_REPO, "test_vit.r160_in1k")):
        model = timm.create_model(arch)
        _mark(model)
        out = root / repo.replace("/", "--")
        save_for_hf(model, out, safe_serialization=True)
        art.dirs[repo] = out
    # transformers: an image classifier with its image processor, a text classifier with its tokenizer
    vit = ViTForImageClassification(ViTConfig(
        hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64, image_size=32,
        patch_size=8, num_labels=5, id2label={i: f"class{i}" for i in range(5)},
        label2id={f"class{i}": i for i in range(5)}))
    _mark(vit)
    out = root / "tiny-vit"
    vit.save_pretrained(out)
    ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.5, 0.4, 0.3],
                      image_std=[0.2, 0.2, 0.2]).save_pretrained(out)
    art.dirs[VIT_REPO] = art.dirs[GATED_REPO] = out
    bert = BertForSequenceClassification(BertConfig(
        vocab_size=10, hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=32, num_labels=4))
    _mark(bert)
    out = root / "tiny-bert"
    bert.save_pretrained(out)
    _bert_tokenizer(out)
    art.dirs[BERT_REPO] = out
    # OpenCLIP: the repository as open_clip's push_to_hf_hub writes it (config with preprocessing, safetensors)
    import open_clip

    clip = open_clip.CLIP(**OPENCLIP_CFG)
    _mark(clip)
    safetensors_file = root / "tiny-openclip.safetensors"
    import safetensors.torch

    safetensors.torch.save_file(clip.state_dict(), safetensors_file)
    art.files[OPENCLIP_REPO] = {
        "open_clip_config.json": json.dumps({"model_cfg": OPENCLIP_CFG, "preprocess_cfg": OPENCLIP_PRE}).encode(),
        "open_clip_model.safetensors": safetensors_file.read_bytes(),
    }
    # torchaudio: a tiny wav2vec 2.0 ASR model's weights, as torch.hub caches the bundle's file
    from torchaudio.models import wav2vec2_model

    w2v = wav2vec2_model(**TORCHAUDIO_PARAMS)
    _mark(w2v)
    path = root / "tiny_wav2vec2_asr_test.pth"
    torch.save(w2v.state_dict(), path)
    art.checkpoints[path.name] = path
    # malicious pickles in place of weights
    marker = str(root / "PWNED")
    evil = root / "evil.bin"
    torch.save({"weight": Payload(marker)}, evil)
    vit_config = (art.dirs[VIT_REPO] / "config.json").read_bytes()
    art.files[PICKLE_REPO] = {"config.json": vit_config, "pytorch_model.bin": evil.read_bytes()}
    timm_config = (art.dirs[HF_TIMM_REPO] / "config.json").read_bytes()
    art.files[PICKLE_TIMM_REPO] = {"config.json": timm_config, "pytorch_model.bin": evil.read_bytes()}
    art.files[NO_WEIGHTS_REPO] = {"config.json": vit_config}
    art.files[PICKLE_OPENCLIP_REPO] = {"open_clip_config.json": art.files[OPENCLIP_REPO]["open_clip_config.json"],
                                       "open_clip_pytorch_model.bin": evil.read_bytes()}
    art.files[REMOTE_CODE_REPO] = {
        "config.json": json.dumps({"model_type": "acme-custom", "architectures": ["AcmeModel"],
                                   "auto_map": {"AutoConfig": "configuration_acme.AcmeConfig",
                                                "AutoModel": "modeling_acme.AcmeModel"}}).encode(),
        "configuration_acme.py": f"open({marker!r}, 'w').close()\n".encode(),
        "modeling_acme.py": f"open({marker!r}, 'w').close()\n".encode(),
    }
    # torchvision: checkpoints as the hub cache keeps them (file name = the weights URL's)
    weights = get_model_weights(TV_BUILDER)[TV_WEIGHTS]
    model = get_model(TV_BUILDER)
    _mark(model)
    path = root / weights.url.rsplit("/", 1)[1]
    torch.save(model.state_dict(), path)
    art.checkpoints[path.name] = path
    evil_tv = get_model_weights(TV_PICKLE_BUILDER)["DEFAULT"].url.rsplit("/", 1)[1]
    art.checkpoints[evil_tv] = evil
    art.checkpoints["tiny_pickled_wav2vec2_test.pth"] = evil
    # PyTorch Hub: the tinynet weights, served over HTTP
    from torch import nn

    torch.manual_seed(1)
    tiny = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 7))
    _mark(tiny)
    art.tinynet_weights = root / "tinynet-0123abcd.pth"
    torch.save(tiny.state_dict(), art.tinynet_weights)
    return art


def records() -> list[ModelRecord]:
    """The catalog rows of the served models (and of some that cannot be loaded)."""
    vision = dict(task="image-classification", license="apache-2.0", license_family="permissive", is_open=True)
    timm_pre = dict(input_size=[3, 160, 160], mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
                    interpolation="bicubic", crop_pct=0.95)
    hf = lambda repo, library, tags, **kw: ModelRecord(  # noqa: E731
        id=f"hf:{repo}", source="hf", name=repo, library=library, tags=tags, hf_hub_id=repo, **kw)
    return [
        ModelRecord(id=f"timm:{TIMM_TAG}", source="timm", name=TIMM_TAG, library="timm", architecture="test_resnet",
                    weights="r160_in1k", hf_hub_id=f"timm/{TIMM_TAG}", num_classes=1000, **vision, **timm_pre,
                    papers=[PaperLink("arxiv:1512.03385", "1512.03385")],
                    repos=[RepoLink("github:acme/nohub", "https://github.com/acme/nohub")]),
        hf(HF_TIMM_REPO, "timm", ["timm", "pytorch", "safetensors", "image-classification"], **vision),
        hf(VIT_REPO, "transformers", ["transformers", "safetensors", "vit", "image-classification"], **vision),
        hf(BERT_REPO, "transformers", ["transformers", "safetensors", "bert", "text-classification"],
           task="text-classification"),
        hf(PICKLE_REPO, "transformers", ["transformers", "pytorch", "vit"], **vision),
        hf(PICKLE_TIMM_REPO, "timm", ["timm", "pytorch"], **vision),
        hf(REMOTE_CODE_REPO, "transformers", ["transformers", "safetensors", "custom_code"],
           task="feature-extraction"),
        hf(GATED_REPO, "transformers", ["transformers", "safetensors", "vit"], gated="auto", **vision),
        hf(NO_WEIGHTS_REPO, "transformers", ["transformers", "safetensors", "vit"], **vision),
        hf("acme/missing-repo", "transformers", ["transformers", "safetensors"], **vision),
        hf("acme/tiny-gguf", "gguf", ["gguf", "llama"], task="text-generation"),
        hf("acme/tf-only", "transformers", ["transformers", "tf", "bert"], task="fill-mask"),
        hf("acme/onnx-export", "onnx", ["onnx"], **vision),
        hf(OPENCLIP_REPO, "open_clip", ["open_clip", "safetensors", "clip"], task="zero-shot-image-classification",
           license="mit", license_family="permissive", is_open=True),
        hf(PICKLE_OPENCLIP_REPO, "open_clip", ["open_clip", "pytorch", "clip"], task="zero-shot-image-classification"),
        ModelRecord(id=f"openclip:{OPENCLIP_ARCH}.{OPENCLIP_TAG}", source="openclip",
                    name=f"{OPENCLIP_ARCH}.{OPENCLIP_TAG}", library="open_clip", architecture=OPENCLIP_ARCH,
                    weights=OPENCLIP_TAG, task="zero-shot-image-classification", entity_id=f"hf:{OPENCLIP_REPO}",
                    input_size=[3, 32, 32], mean=OPENCLIP_PRE["mean"], std=OPENCLIP_PRE["std"],
                    interpolation="bicubic", crop_pct=1.0, extra={"hf_hub": OPENCLIP_REPO}),
        ModelRecord(id=f"torchaudio:{TORCHAUDIO_BUNDLE}", source="torchaudio", name=TORCHAUDIO_BUNDLE,
                    library="torchaudio", task="automatic-speech-recognition", tags=["audio", "speech"],
                    license="mit", license_family="permissive", is_open=True, extra={"sample_rate": 16000}),
        ModelRecord(id=f"torchaudio:{TORCHAUDIO_PICKLE_BUNDLE}", source="torchaudio", name=TORCHAUDIO_PICKLE_BUNDLE,
                    library="torchaudio", task="automatic-speech-recognition", tags=["audio", "speech"]),
        ModelRecord(id=f"torchaudio:{TORCHAUDIO_PIPELINE}", source="torchaudio", name=TORCHAUDIO_PIPELINE,
                    library="torchaudio", task="text-to-speech", tags=["audio", "speech", "torchaudio-tts"]),
        ModelRecord(id=f"torchvision:{TV_BUILDER}.{TV_WEIGHTS}", source="torchvision",
                    name=f"{TV_BUILDER}.{TV_WEIGHTS}", library="torchvision", architecture=TV_BUILDER,
                    weights=TV_WEIGHTS, num_classes=1000, input_size=[3, 224, 224], mean=[0.485, 0.456, 0.406],
                    std=[0.229, 0.224, 0.225], interpolation="bilinear", crop_pct=0.875,
                    **{**vision, "license": "bsd-3-clause"}),
        ModelRecord(id=f"torchvision:{TV_PICKLE_BUILDER}.IMAGENET1K_V1", source="torchvision",
                    name=f"{TV_PICKLE_BUILDER}.IMAGENET1K_V1", library="torchvision", architecture=TV_PICKLE_BUILDER,
                    weights="IMAGENET1K_V1", num_classes=1000, **vision),
        ModelRecord(id=f"torchhub:{HUB_REPO}:tinynet", source="torchhub", name=f"{HUB_REPO}:tinynet",
                    library="torch.hub", architecture="tinynet", num_classes=7, input_size=[3, 32, 32],
                    mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25], **vision,
                    extra={"kind": "function", "params": ["pretrained", "num_classes"], "ref": "main"}),
        ModelRecord(id=f"torchhub:{HUB_VISION}:{TV_BUILDER}", source="torchhub", name=f"{HUB_VISION}:{TV_BUILDER}",
                    library="torch.hub", architecture=TV_BUILDER, num_classes=1000, input_size=[3, 224, 224],
                    mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], **vision,
                    extra={"kind": "import", "module": "torchvision.models.resnet", "ref": "main",
                           "torchvision_weights": f"torchvision:{TV_BUILDER}.{TV_WEIGHTS}"}),
    ]


def other_records() -> list:
    """A paper and two code repositories: catalog ids that are not models."""
    return [
        PaperRecord(id="arxiv:1512.03385", source="arxiv", arxiv_id="1512.03385",
                    title="Deep Residual Learning for Image Recognition"),
        RepoRecord(id="github:acme/tinyhub", source="github", full_name="acme/tinyhub", has_hubconf=True),
        RepoRecord(id="github:acme/nohub", source="github", full_name="acme/nohub", has_hubconf=False),
    ]


def write_catalog(path: Path, recs: list[ModelRecord] | None = None) -> Path:
    by_source: dict[str, list] = {}
    for r in (recs or records()) + other_records():
        by_source.setdefault(r.source, []).append(r)
    with Catalog.open(path) as cat:
        for source, rows in by_source.items():
            with cat.transaction():
                w = cat.writer(source)
                w.add_all(rows)
                w.finish(removed_since=None)
    return path


def torchaudio_bundle():
    """The test's bundle, as torchaudio defines its own (a Wav2Vec2ASRBundle whose file is on torch.hub's cache)."""
    from torchaudio.pipelines import Wav2Vec2ASRBundle

    return Wav2Vec2ASRBundle(_path="tiny_wav2vec2_asr_test.pth", _params=TORCHAUDIO_PARAMS, _sample_rate=16000,
                             _normalize_waveform=True, _model_type="Wav2Vec2", _labels=tuple("abcde"),
                             _remove_aux_axis=())  # its file holds exactly the CTC layer it builds


def register_torchaudio_bundle(monkeypatch) -> None:
    from indexer.sources.torchaudio import _import_pipelines

    _, pipelines = _import_pipelines()
    monkeypatch.setattr(pipelines, TORCHAUDIO_BUNDLE, torchaudio_bundle(), raising=False)
    import dataclasses

    evil = dataclasses.replace(torchaudio_bundle(), _path="tiny_pickled_wav2vec2_test.pth")
    monkeypatch.setattr(pipelines, TORCHAUDIO_PICKLE_BUNDLE, evil, raising=False)


def register_openclip_pair(monkeypatch) -> None:
    """Make open_clip know the test's pair as it knows its own: the architecture's config, and the tag's
    pretrained config naming the Hub repository its weights are in."""
    from open_clip import factory, pretrained

    monkeypatch.setitem(factory._MODEL_CONFIGS, OPENCLIP_ARCH, OPENCLIP_CFG)
    monkeypatch.setitem(pretrained._PRETRAINED, OPENCLIP_ARCH,
                        {OPENCLIP_TAG: pretrained._pcfg(hf_hub=f"{OPENCLIP_REPO}/", **OPENCLIP_PRE)})


def seed_torch_home(torch_home: Path, art: Artifacts) -> Path:
    """TORCH_HOME as torch.hub leaves it after downloading: checkpoints/ and <owner>_<repo>_<ref>/."""
    checkpoints = torch_home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    for name, src in art.checkpoints.items():
        (checkpoints / name).symlink_to(src)
    for repo, conf in ((HUB_REPO, HUBCONF_TINY), (HUB_VISION, HUBCONF_VISION)):
        d = torch_home / "hub" / f"{repo.replace('/', '_')}_main"
        d.mkdir(parents=True, exist_ok=True)
        (d / "hubconf.py").write_text(conf)
    return torch_home


def serve(hub, art: Artifacts) -> None:
    """Put every artifact repository on a running HubFiles."""
    for repo, d in art.dirs.items():
        hub.put_dir(repo, d, gated=repo == GATED_REPO)
    for repo, files in art.files.items():
        hub.put_repo(repo, files)
    hub.put_repo("acme/tinyhub-weights", {art.tinynet_weights.name: art.tinynet_weights.read_bytes()})


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
