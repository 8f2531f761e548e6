"""OpenCLIP rows (openclip:<arch>.<tag>) and Hugging Face repositories of library open_clip
(hf:<repo>): the image tower of the CLIP model, with a new classification head on its embedding.

open_clip builds the model and its transforms (`create_model_and_transforms(arch,
pretrained=tag)`, or `'hf-hub:<repo>'`, which reads the repository's open_clip_config.json); it
downloads safetensors first and reads any other checkpoint with torch.load(weights_only=True).
The text tower is dropped: fine-tuning a classifier uses the images only. The stages are the
tower's blocks (a ViT's residual blocks, a ResNet's layers, a timm trunk's stages), found by
tuning.find_stages."""

from __future__ import annotations

from torch import nn

from ..errors import NotLoadable
from .base import Built, LoadOptions, translate


class ImageTowerClassifier(nn.Module):
    """A CLIP image tower and a linear head on its embedding (an identity without num_classes:
    the embedding itself, for feature extraction)."""

    def __init__(self, visual: nn.Module, dim: int, num_classes: int | None):
        super().__init__()
        self.visual = visual
        self.head = nn.Linear(dim, num_classes) if num_classes is not None else nn.Identity()

    def forward(self, x):
        features = self.visual(x)
        if isinstance(features, (tuple, list)):  # CoCa's tower: (pooled embedding, tokens)
            features = features[0]
        return self.head(features)


def model_name(row: dict) -> tuple[str, str | None, str | None]:
    """(the name open_clip takes, the pretrained tag, the Hub repository the weights come from)."""
    extra = row.get("extra") if isinstance(row.get("extra"), dict) else {}  # decoded by the catalog's reads
    if row["source"] == "openclip":
        arch, _, tag = row["id"].split(":", 1)[1].partition(".")
        return arch, tag, extra.get("hf_hub")
    repo = row.get("hf_hub_id") or row["name"]
    return f"hf-hub:{repo}", None, repo


def _embedding_dim(model, visual: nn.Module) -> int:
    dim = getattr(visual, "output_dim", None)
    if isinstance(dim, int) and dim > 0:
        return dim
    proj = getattr(model, "text_projection", None)  # the joint embedding's width
    if proj is not None and getattr(proj, "shape", None):
        return int(proj.shape[-1])
    raise NotLoadable("the CLIP model's image embedding width cannot be told (no output_dim, no text projection)")


def build(row: dict, opts: LoadOptions) -> Built:
    from ..sources.openclip import _import_open_clip

    open_clip = _import_open_clip()
    name, tag, repo = model_name(row)
    notes = ["the image tower of a CLIP model with a new head: its text tower is dropped"]
    if opts.revision:
        notes.append(f"revision {opts.revision!r} ignored: open_clip loads the repository's default branch")
    try:
        model, train_transform, transform = open_clip.create_model_and_transforms(
            name, pretrained=tag if opts.pretrained else None, load_weights=opts.pretrained, weights_only=True)
    except Exception as e:  # noqa: BLE001 - translated where we know the cause, else re-raised
        err = translate(e, row["id"], repo)
        if err is e and isinstance(e, RuntimeError) and "not found" in str(e).lower():
            raise NotLoadable(f"{row['id']}: open_clip {getattr(open_clip, '__version__', '')} does not know "
                              f"{name!r}{f' with weights {tag!r}' if tag else ''} (upgrade open-clip-torch, or run "
                              "`modelcat refresh --source openclip`)") from e
        raise err from e
    visual = model.visual
    classifier = ImageTowerClassifier(visual, _embedding_dim(model, visual), opts.num_classes)
    del model  # the text tower goes
    head = list(opts.head) if opts.head else (["head"] if opts.num_classes is not None else [])
    return Built(
        model=classifier,
        head=head,
        stages=None,  # tuning.find_stages: the tower's repeated blocks
        preprocess=_preprocess(visual),
        transform=transform,
        train_transform=train_transform,
        head_reset=opts.num_classes is not None,
        notes=notes,
    )


def _preprocess(visual) -> dict:
    from open_clip.model import get_model_preprocess_cfg

    cfg = get_model_preprocess_cfg(visual)
    out: dict = {}
    size = cfg.get("size")
    if isinstance(size, int):
        out["input_size"] = [3, size, size]
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        out["input_size"] = [3, int(size[0]), int(size[1])]
    for key in ("mean", "std", "interpolation"):
        if cfg.get(key) is not None:
            out[key] = list(cfg[key]) if isinstance(cfg[key], tuple) else cfg[key]
    if cfg.get("resize_mode") in ("shortest", "squash"):
        out["crop_pct"] = 1.0
    return out
