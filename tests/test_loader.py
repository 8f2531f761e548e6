"""load_model against tiny real models served the way users get them (tests/replay/models.py):
every backend x every strategy, the head, frozen and trainable parameters across a real
optimizer step, BatchNorm of frozen parts, parameter groups, gradual unfreezing, preprocessing."""

from __future__ import annotations

import pytest
import safetensors.torch
import torch

from indexer.loader import load_model
from replay import models as M

# one row per backend path: timm by tag, timm through hf-hub:, transformers (image, text),
# torchvision, torch.hub (a repository's own model; a re-exported torchvision builder)
ROWS = {
    f"timm:{M.TIMM_TAG}": "timm",
    f"hf:{M.HF_TIMM_REPO}": "timm",
    f"hf:{M.VIT_REPO}": "transformers",
    f"hf:{M.BERT_REPO}": "transformers",
    f"torchvision:{M.TV_BUILDER}.{M.TV_WEIGHTS}": "torchvision",
    f"torchhub:{M.HUB_REPO}:tinynet": "torchhub",
    f"torchhub:{M.HUB_VISION}:{M.TV_BUILDER}": "torchhub",
    f"openclip:{M.OPENCLIP_ARCH}.{M.OPENCLIP_TAG}": "openclip",  # open_clip's (arch, tag): its Hub weights
    f"hf:{M.OPENCLIP_REPO}": "openclip",  # a Hub repository of library open_clip, through hf-hub:
    f"torchaudio:{M.TORCHAUDIO_BUNDLE}": "torchaudio",  # a wav2vec 2.0 bundle: its encoder, a new head
}


def served_state(cid: str, art, model=None) -> dict[str, torch.Tensor]:
    """The weights the test served for a row, as a state dict (transformers: as the library
    names them in memory, read from the served folder without the Hub)."""
    if cid in (f"hf:{M.OPENCLIP_REPO}", f"openclip:{M.OPENCLIP_ARCH}.{M.OPENCLIP_TAG}"):
        # the image tower's weights: the CLIP's text tower is not part of the classifier
        state = safetensors.torch.load(art.files[M.OPENCLIP_REPO]["open_clip_model.safetensors"])
        return {k: v for k, v in state.items() if k.startswith("visual.")}
    if cid.startswith("torchaudio:"):  # the encoder's weights, under the classifier's name for it
        state = torch.load(art.checkpoints["tiny_wav2vec2_asr_test.pth"], weights_only=True)
        return {f"encoder.{k}": v for k, v in state.items() if not k.startswith("aux.")}
    if cid in (f"hf:{M.VIT_REPO}", f"hf:{M.BERT_REPO}"):
        return type(model).from_pretrained(art.dirs[cid[3:]]).state_dict()
    if cid.startswith("timm:"):
        return safetensors.torch.load_file(art.dirs[f"timm/{M.TIMM_TAG}"] / "model.safetensors")
    if cid.startswith("hf:"):
        return safetensors.torch.load_file(art.dirs[cid[3:]] / "model.safetensors")
    if cid.endswith(":tinynet"):
        return torch.load(art.tinynet_weights, weights_only=True)
    name = next(n for n in art.checkpoints if n.startswith(M.TV_BUILDER))
    return torch.load(art.checkpoints[name], weights_only=True)


def batch(ft, n: int = 4):
    """An input batch and integer targets for the model (images at most 64 px, except ViT's 32)."""
    torch.manual_seed(0)
    y = torch.randint(0, ft.num_classes or 3, (n,))
    if ft.catalog_id == f"hf:{M.BERT_REPO}":
        return {"input_ids": torch.randint(0, 10, (n, 6))}, y
    if ft.backend == "torchaudio":  # waveforms: a tenth of a second at the bundle's sample rate
        return torch.randn(n, ft.preprocess["sample_rate"] // 10), y
    c, h, w = ft.preprocess["input_size"]
    return torch.randn(n, c, min(h, 64), min(w, 64)), y


def logits(ft, x):
    out = ft.model(**x) if isinstance(x, dict) else ft.model(x)
    return out.logits if hasattr(out, "logits") else out


def head_key(ft, key: str) -> bool:
    return any(key == h or key.startswith(h + ".") for h in ft.head)


@pytest.mark.parametrize("strategy", ["feature-extraction", "partial", "full"])
@pytest.mark.parametrize("cid", list(ROWS))
def test_backend_strategy_head_and_one_training_step(loader_env, cid, strategy):
    ft = load_model(cid, num_classes=3, strategy=strategy, trust_repo=True)
    assert ft.backend == ROWS[cid] and ft.device == torch.device("cpu") and ft.catalog_id == cid

    # the backbone is the served weights; the head is new, with 3 outputs
    served, state = served_state(cid, loader_env.art, ft.model), ft.model.state_dict()
    backbone = [k for k in served if k in state and not head_key(ft, k)]
    assert len(backbone) >= 0.9 * len([k for k in served if not head_key(ft, k)]) > 0
    assert all(torch.equal(state[k], served[k]) for k in backbone)
    x, y = batch(ft)
    assert logits(ft, x).shape == (4, 3)

    # what trains is what the strategy says
    names = {n for n, _ in ft.model.named_parameters()}
    head = {n for n in names if head_key(ft, n)}
    trainable = {n for n, p in ft.model.named_parameters() if p.requires_grad}
    assert head and head <= trainable
    if strategy == "feature-extraction":
        assert trainable == head and ft.trainable_stages == []
    elif strategy == "partial":
        assert trainable == head | set(ft.stages[-1].params) and ft.trainable_stages == [ft.stages[-1].name]
    else:
        assert trainable == names
    assert ft.trainable_params == sum(p.numel() for n, p in ft.model.named_parameters() if n in trainable)

    # the groups hold exactly the trainable parameters: the head at 1e-3, the backbone at 1e-5
    groups = ft.param_groups()
    grouped = [id(p) for g in groups for p in g["params"]]
    assert len(grouped) == len(set(grouped))
    assert set(grouped) == {id(p) for p in ft.model.parameters() if p.requires_grad}
    assert groups[0]["name"] == "head" and groups[0]["lr"] == 1e-3
    assert all(g["lr"] == 1e-5 for g in groups[1:])

    # one AdamW step: frozen parameters stay, trainable ones move
    before = {n: p.detach().clone() for n, p in ft.model.named_parameters()}
    opt = torch.optim.AdamW(groups)
    loss = torch.nn.functional.cross_entropy(logits(ft, x), y)
    loss.backward()
    opt.step()
    for n, p in ft.model.named_parameters():
        if n in trainable and p.grad is not None and p.grad.abs().sum() > 0:
            assert not torch.equal(p.detach(), before[n]), n
        elif n not in trainable:
            assert p.grad is None and torch.equal(p.detach(), before[n]), n
    assert all(not torch.equal(p.detach(), before[n]) for n, p in ft.model.named_parameters() if n in head)


def test_num_classes_none_keeps_the_pretrained_head(loader_env):
    ft = load_model(f"torchvision:{M.TV_BUILDER}.{M.TV_WEIGHTS}", strategy="feature-extraction")
    served = served_state(ft.catalog_id, loader_env.art)
    assert ft.num_classes is None and ft.model.fc.out_features == 1000
    assert torch.equal(ft.model.fc.weight.detach(), served["fc.weight"])
    assert "pretrained head" in ft.summary()


def test_same_class_count_still_gets_a_new_head(loader_env):
    """num_classes equal to the pretrained count: still a fresh head, as asked."""
    ft = load_model(f"hf:{M.VIT_REPO}", num_classes=5)
    served = served_state(ft.catalog_id, loader_env.art, ft.model)
    assert ft.model.classifier.out_features == 5
    assert not torch.equal(ft.model.classifier.weight.detach(), served["classifier.weight"])


def test_frozen_batchnorm_keeps_pretrained_statistics(loader_env):
    cid = f"timm:{M.TIMM_TAG}"
    ft = load_model(cid, num_classes=3, strategy="feature-extraction")
    bns = [m for m in ft.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(ft.frozen_batchnorm) == len(bns) > 0
    stats = [m.running_mean.clone() for m in bns]
    ft.model.train()
    x, _ = batch(ft, 8)
    ft.model(x * 3 + 1)
    assert all(torch.equal(m.running_mean, s) for m, s in zip(bns, stats))

    full = load_model(cid, num_classes=3, strategy="full")
    assert full.frozen_batchnorm == []
    bns = [m for m in full.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    stats = [m.running_mean.clone() for m in bns]
    full.model(x * 3 + 1)
    assert all(not torch.equal(m.running_mean, s) for m, s in zip(bns, stats))

    # partial: the last stage's BatchNorm layers learn, the others keep their statistics
    part = load_model(cid, num_classes=3, strategy="partial")
    last = part.stages[-1].name
    assert part.frozen_batchnorm and all(not n.startswith(last) for n in part.frozen_batchnorm)
    with_bn = {n for n, m in part.model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert set(part.frozen_batchnorm) == {n for n in with_bn if not n.startswith(last)}


def test_frozen_batchnorm_survives_a_pickle_round_trip(loader_env, tmp_path):
    ft = load_model(f"torchhub:{M.HUB_REPO}:tinynet", num_classes=3, trust_repo=True)
    torch.save(ft.model, tmp_path / "m.pt")
    again = torch.load(tmp_path / "m.pt", weights_only=False)
    again.train()
    bn = again[1]
    before = bn.running_mean.clone()
    again(torch.randn(4, 3, 16, 16) + 2)
    assert torch.equal(bn.running_mean, before)


def test_gradual_unfreezing(loader_env):
    ft = load_model(f"torchvision:{M.TV_BUILDER}.{M.TV_WEIGHTS}", num_classes=3, strategy="feature-extraction")
    assert [s.name for s in ft.stages] == ["conv1+bn1", "layer1", "layer2", "layer3", "layer4"]
    opt = torch.optim.AdamW(ft.param_groups())
    assert len(opt.param_groups) == 1 and ft.trainable_params == 3 * 512 + 3
    order = []
    while (name := ft.unfreeze_next(opt)) is not None:
        order.append(name)
        assert ft.trainable_stages[0] == name
        assert opt.param_groups[-1]["name"] == name and opt.param_groups[-1]["lr"] == 1e-5
        assert not any(n.startswith(name) for n in ft.frozen_batchnorm if name != "conv1+bn1")
    assert order == ["layer4", "layer3", "layer2", "layer1", "conv1+bn1"]
    assert ft.trainable_params == ft.total_params and ft.frozen_batchnorm == []
    assert ft.unfreeze_next(opt) is None
    # the optimizer now steps every parameter once
    seen = [id(p) for g in opt.param_groups for p in g["params"]]
    assert sorted(seen) == sorted(id(p) for p in ft.model.parameters())


def test_discriminative_rates_decay_and_weight_decay(loader_env):
    ft = load_model(f"timm:{M.TIMM_TAG}", num_classes=3, strategy="partial", trainable_stages=3,
                    head_lr=1e-2, backbone_lr=1e-4, lr_decay=0.5, weight_decay=0.05)
    groups = ft.param_groups()
    by_name = {}
    for g in groups:
        by_name.setdefault(g["name"].replace(" (no decay)", ""), set()).add(g["lr"])
    assert by_name["head"] == {1e-2}
    last3 = [s.name for s in ft.stages[-3:]]
    assert [by_name[n] for n in reversed(last3)] == [{1e-4}, {5e-5}, {2.5e-5}]
    for g in groups:
        if g["name"].endswith("(no decay)"):
            assert g["weight_decay"] == 0.0 and all(p.ndim <= 1 for p in g["params"])
        else:
            assert g["weight_decay"] == 0.05 and all(p.ndim > 1 for p in g["params"])


def test_preprocessing_from_the_catalog_and_the_library(loader_env):
    from PIL import Image

    img = Image.new("RGB", (300, 200), (120, 30, 200))
    timm_ft = load_model(f"timm:{M.TIMM_TAG}", num_classes=3)
    # the catalog's values win; the library fills what the catalog lacks
    assert timm_ft.preprocess["mean"] == [0.485, 0.456, 0.406] and timm_ft.preprocess["crop_mode"] == "center"
    assert timm_ft.transform(img).shape == (3, 160, 160)
    assert timm_ft.train_transform(img).shape == (3, 160, 160)
    tv = load_model(f"torchvision:{M.TV_BUILDER}.{M.TV_WEIGHTS}", num_classes=3)
    assert tv.transform(img).shape == (3, 224, 224)
    vit = load_model(f"hf:{M.VIT_REPO}", num_classes=3)
    assert vit.preprocess == {"input_size": [3, 32, 32], "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.2, 0.2],
                              "interpolation": "bilinear"} | {k: vit.preprocess[k] for k in vit.preprocess
                                                              if k not in ("input_size", "mean", "std",
                                                                           "interpolation")}
    pixels = vit.processor(images=img, return_tensors="pt")["pixel_values"]
    assert pixels.shape == (1, 3, 32, 32) and vit.model(pixel_values=pixels).logits.shape == (1, 3)
    bert = load_model(f"hf:{M.BERT_REPO}", num_classes=3)
    assert bert.processor("good movie", return_tensors="pt")["input_ids"].shape[0] == 1
    hub = load_model(f"torchhub:{M.HUB_REPO}:tinynet", num_classes=3, trust_repo=True)
    assert hub.transform(img).shape == (3, 32, 32)


def test_the_row_and_summary(loader_env):
    ft = load_model(f"torchvision:{M.TV_BUILDER}.{M.TV_WEIGHTS}", num_classes=10)
    assert ft.row["license"] == "bsd-3-clause" and ft.row["task"] == "image-classification"
    s = ft.summary()
    assert s.startswith(f"torchvision:{M.TV_BUILDER}.{M.TV_WEIGHTS} [torchvision] on cpu (float32): ")
    assert f"{ft.trainable_params:,} of {ft.total_params:,} parameters trainable" in s
    assert "new 10-class head (fc)" in s


def test_dtype_option(loader_env):
    ft = load_model(f"timm:{M.TIMM_TAG}", num_classes=3, dtype="bfloat16")
    assert {p.dtype for p in ft.model.parameters()} == {torch.bfloat16} and ft.dtype == torch.bfloat16


def test_the_catalog_reader_follows_the_file(loader_env, tmp_path):
    """Each load sees the catalog as it is now: a refresh's new and changed rows, a catalog file
    replaced under it (a connection kept between loads would keep the old file's -wal alive,
    and a new connection would read stale pages from it: rows are kept instead, while the
    catalog's content is unchanged)."""
    from indexer.errors import NotFound
    from indexer.loader.api import catalog_row
    from indexer.records import ModelRecord
    from indexer.store import Catalog

    db = M.write_catalog(tmp_path / "c.db")
    assert catalog_row(f"timm:{M.TIMM_TAG}", db)["license"] == "apache-2.0"
    with pytest.raises(NotFound):
        catalog_row("hf:acme/new-one", db)
    with Catalog.open(db) as cat, cat.transaction():  # a refresh adds a row
        w = cat.writer("hf")
        w.add(ModelRecord(id="hf:acme/new-one", source="hf", name="acme/new-one", library="timm"))
        w.finish(removed_since=None)
    assert catalog_row("hf:acme/new-one", db)["load_backend"] == "timm"
    # rows are kept between loads while the catalog is unchanged: copies, never shared
    first = catalog_row("hf:acme/new-one", db)
    first["license"] = "mutated"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Catalog, "open", None)  # kept: the catalog is not opened again
        assert catalog_row("hf:acme/new-one", db)["license"] == "unknown"
    with Catalog.open(db) as cat:  # a refresh changes the row while another connection stays open
        with Catalog.open(db, readonly=True, create=False) as reader:
            with cat.transaction():
                w = cat.writer("hf")
                w.add(ModelRecord(id="hf:acme/new-one", source="hf", name="acme/new-one", library="timm",
                                  license="mit"))
                w.finish(removed_since=None)
            assert reader.get_model("hf:acme/new-one")["license"] == "mit"
            assert catalog_row("hf:acme/new-one", db)["license"] == "mit"  # seen through the -wal
    assert catalog_row("hf:acme/new-one", db)["license"] == "mit"  # and after the checkpoint
    other = M.write_catalog(tmp_path / "other.db", [ModelRecord(
        id="hf:acme/only-here", source="hf", name="acme/only-here", library="transformers")])
    other.replace(db)  # the file is replaced
    assert catalog_row("hf:acme/only-here", db)["load_backend"] == "transformers"
    with pytest.raises(NotFound):
        catalog_row(f"timm:{M.TIMM_TAG}", db)


def test_transformers_falls_back_to_the_base_model_without_a_task_class(loader_env, tmp_path):
    """A row whose task has an Auto class that does not know the architecture (a BERT tagged
    visual-question-answering) loads as the base model, and says so."""
    from indexer.records import ModelRecord

    db = M.write_catalog(tmp_path / "c.db", [ModelRecord(
        id=f"hf:{M.BERT_REPO}", source="hf", name=M.BERT_REPO, library="transformers", hf_hub_id=M.BERT_REPO,
        tags=["transformers", "safetensors"], task="visual-question-answering")])
    ft = load_model(f"hf:{M.BERT_REPO}", strategy="full", db=db)
    assert type(ft.model).__name__ == "BertModel" and ft.head == []
    assert ft.notes and "loaded as the base model, without a task head" in ft.notes[0]
    with pytest.raises(Exception, match="num_classes needs a classification model"):
        load_model(f"hf:{M.BERT_REPO}", num_classes=3, db=db)
