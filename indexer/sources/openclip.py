"""openclip: OpenCLIP's pretrained weights, read offline from the installed `open_clip`.

`open_clip.list_pretrained()` lists (architecture, tag) pairs (196 in open-clip-torch 3.3.0);
`open_clip.pretrained.get_pretrained_cfg(arch, tag)` gives each its Hub repository (`hf_hub`,
from which `create_model_and_transforms` downloads the weights), a download URL for the older
ones (OpenAI's, the first LAION runs), and the preprocessing (mean, std, interpolation, resize
mode); `open_clip.get_model_config(arch)` the towers' shapes. Parameter counts come from building
each architecture on the meta device (no memory, no download), cached per open_clip version:
17 s for the 115 architectures, once. The seven whose text tower is a Hub transformers model
(roberta, xlm-roberta, nllb) need its config from the Hub: they are not built, their size stays
unknown.

The tag names the training data (`laion2b_s34b_b79k`: LAION-2B, 34B samples seen, batch 79k),
read through schema/datasets.yml's `openclip` scope. The row is the same weights as its Hub
repository: it joins that row's entity (`timm/<arch>.<tag>` repositories: the timm row's).
OpenCLIP's list names no license: the weights' license is their Hub repository's, which the `hf`
row of the same entity carries.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Iterator

from ..errors import SkipRecord, SourceUnavailable
from ..normalize import datasets_from_tokens, normalize_license
from ..normalize.ids import hub_entity, id_problem, valid_id
from ..normalize.links import weights_file_url
from ..normalize.values import integer, numbers, text
from ..records import DatasetLink, ModelRecord, PaperLink, RepoLink, WeightsFile
from .base import FetchContext, Source, jsonable

PACKAGE = "open-clip-torch"
TASK = "zero-shot-image-classification"
CACHE_FORMAT = 1
_CLIP_PAPER = "2103.00020"  # Radford et al., Learning Transferable Visual Models From Natural Language Supervision
_OPENCLIP_PAPER = "2212.07143"  # Cherti et al., Reproducible scaling laws for contrastive language-image learning
_REPO = ("github:mlfoundations/open_clip", "https://github.com/mlfoundations/open_clip")
# tag tokens that say how, not on what: "s34b" (samples seen), "b79k" (batch), "e31" (epoch)
_RUN_TOKEN = re.compile(r"[sbe]\d+[kmb]?")


def _import_open_clip():
    from ..torchcompat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import open_clip

    return open_clip


def _hub_text_tower(model_cfg: dict | None) -> str | None:
    text_cfg = (model_cfg or {}).get("text_cfg") or {}
    return text_cfg.get("hf_model_name") if isinstance(text_cfg, dict) else None


def _count_parameters(open_clip, arch: str, model_cfg: dict | None) -> dict:
    """{"total", "visual"} parameters of `arch`, built on the meta device; {"note"} when it cannot be."""
    hub_text = _hub_text_tower(model_cfg)
    if hub_text:
        return {"note": f"its text tower ({hub_text}) is built from a Hub config: not counted offline"}
    import torch

    try:
        with warnings.catch_warnings(), torch.device("meta"):
            warnings.simplefilter("ignore")
            model = open_clip.create_model(arch, pretrained=None, device="meta")
    except Exception as e:  # noqa: BLE001 - one architecture that does not build: its size stays unknown
        return {"note": f"not built on the meta device: {type(e).__name__}: {str(e)[:200]}"}
    visual = getattr(model, "visual", None)
    return {"total": sum(p.numel() for p in model.parameters()),
            "visual": sum(p.numel() for p in visual.parameters()) if visual is not None else None}


def _parameters(open_clip, archs: list[str], cache: Path, ctx: FetchContext) -> dict[str, dict]:
    """Every architecture's parameter counts, from the cache of this open_clip version when there."""
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    missing = [a for a in archs if a not in known]
    if missing:
        # open_clip warns "No pretrained weights loaded ... initialized randomly" for each, on the root logger
        was = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            for i, arch in enumerate(missing, 1):
                known[arch] = _count_parameters(open_clip, arch, open_clip.get_model_config(arch))
                ctx.progress(i, len(missing), "counting parameters")
        finally:
            logging.disable(was)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_text(json.dumps(known, sort_keys=True))
            os.replace(tmp, cache)
        except OSError as e:  # a read-only cache: counted again next time
            ctx.log.info("openclip: parameter counts not cached (%s)", e)
    return known


class OpenClipSource(Source):
    name = "openclip"
    package = PACKAGE

    def fetch(self, ctx: FetchContext) -> Iterator[dict]:
        try:
            open_clip = _import_open_clip()
        except ImportError as e:
            raise SourceUnavailable(f"open_clip cannot be imported ({e}): run the README's set-up "
                                    f"(it installs {PACKAGE})") from e
        from open_clip import pretrained

        version = self.version()
        pairs = open_clip.list_pretrained()
        archs = sorted({a for a, _ in pairs})
        params = _parameters(open_clip, archs, Path(ctx.cache_dir) / f"openclip-{version}-params-v{CACHE_FORMAT}.json", ctx)
        for arch, tag in pairs:
            yield {
                "architecture": arch,
                "tag": tag,
                "pretrained_cfg": jsonable(pretrained.get_pretrained_cfg(arch, tag)),
                "model_cfg": jsonable(open_clip.get_model_config(arch)),
                "parameters": params.get(arch) or {},
                "open_clip_version": version,
            }

    def normalize(self, raw: dict) -> ModelRecord:
        return normalize_openclip(raw)


# --------------------------------------------------------------------- normalization
def _datasets(tag: str) -> list[DatasetLink]:
    """The tag's datasets: 'mscoco_finetuned_laion2b_...' is fine-tuned on COCO from LAION-2B."""
    tokens = [t for t in tag.lower().split("_") if not _RUN_TOKEN.fullmatch(t)]
    if "finetuned" in tokens:
        at = tokens.index("finetuned")
        tuned = datasets_from_tokens(tokens[:at], scope="openclip")
        base = datasets_from_tokens(tokens[at + 1:], scope="openclip")
        return ([DatasetLink(i, "pretrain", r) for i, r in base if i not in {t for t, _ in tuned}]
                + [DatasetLink(i, "finetune", r) for i, r in tuned])
    return [DatasetLink(i, "train", r) for i, r in datasets_from_tokens(tokens, scope="openclip")]


def _image_size(vision: dict) -> int | None:
    size = vision.get("image_size")
    if isinstance(size, list):
        size = size[0] if len(size) == 2 and size[0] == size[1] else None
    size = integer(size)
    return size if size is not None and 0 < size <= 10_000 else None


def normalize_openclip(raw: dict) -> ModelRecord:
    arch, tag = raw.get("architecture"), raw.get("tag")
    if not isinstance(arch, str) or not isinstance(tag, str) or not arch or not tag:
        raise SkipRecord("not an OpenCLIP (architecture, tag) pair")
    name = f"{arch}.{tag}"
    if not valid_id("openclip", name):
        raise SkipRecord("not a valid OpenCLIP name", id_problem("openclip", name))
    if "." in arch:  # the id's first dot ends the architecture: one with a dot would read as another pair
        raise SkipRecord("not a valid OpenCLIP name", f"an architecture name with a dot: {arch[:100]!r}")
    cfg = raw.get("pretrained_cfg") if isinstance(raw.get("pretrained_cfg"), dict) else {}
    model_cfg = raw.get("model_cfg") if isinstance(raw.get("model_cfg"), dict) else {}
    vision = model_cfg.get("vision_cfg") if isinstance(model_cfg.get("vision_cfg"), dict) else {}
    params = raw.get("parameters") if isinstance(raw.get("parameters"), dict) else {}
    total, visual = integer(params.get("total")), integer(params.get("visual"))
    total = total if total is not None and total > 0 else None
    visual = visual if visual is not None and visual > 0 else None
    hub = text(cfg.get("hf_hub"), 300)
    # "org/name/" or "org/name/file" (jienengchen/ViTamin-S/pytorch_model.bin): the repository, then its file
    parts = hub.strip("/").split("/") if hub else []
    repo = "/".join(parts[:2]) if len(parts) >= 2 else None
    repo = repo if repo and valid_id("hf_repo", repo) else None  # one that breaks the Hub's rule: no link
    hub_file = "/".join(parts[2:]) or None
    entity = hub_entity(repo) if repo else None
    url = text(cfg.get("url"), 2000)
    size = _image_size(vision)
    resize_mode = text(cfg.get("resize_mode"), 40)
    datasets = _datasets(tag)
    version = text(raw.get("open_clip_version"), 40)
    load = f"open_clip.create_model_and_transforms({arch!r}, pretrained={tag!r})"
    papers = [_CLIP_PAPER] if tag == "openai" else [_OPENCLIP_PAPER] if tag.startswith(("laion", "frozen_laion")) else []
    rec = ModelRecord(
        id=f"openclip:{name}",
        source="openclip",
        name=name,
        author=repo.split("/")[0] if repo and "/" in repo else "mlfoundations",
        task=TASK,
        task_raw="open_clip " + ("CoCa" if arch.lower().startswith("coca") else "CLIP"),
        library="open_clip",
        num_params=total,
        # the checkpoints are float32 (open_clip_pytorch_model.bin): 4 bytes a parameter
        size_bytes=total * 4 if total else None,
        size_is_estimate=True if total else None,
        url=f"https://huggingface.co/{repo}" if repo else "https://github.com/mlfoundations/open_clip",
        description=(f"OpenCLIP {arch} trained on {', '.join(d.raw for d in datasets) or tag}"
                     f" (pretrained tag {tag}). Load: {load}"),
        tags=["clip", "open_clip", *(d.dataset_id for d in datasets)],
        architecture=arch,
        weights=tag,
        input_size=[3, size, size] if size else None,
        mean=numbers(cfg.get("mean"), 3),
        std=numbers(cfg.get("std"), 3),
        # open_clip resizes the shorter side to the input size, then center-crops it (shortest),
        # or resizes straight to it (squash): either way the crop is the whole resized image
        crop_pct=1.0 if size and resize_mode in ("shortest", "squash") else None,
        interpolation=text(cfg.get("interpolation"), 40),
        entity_id=entity,
        source_version=version,
        extra={k: v for k, v in {
            "hf_hub": repo,
            "hf_file": text(hub_file, 300) if repo else None,
            "weights_url": weights_file_url(url),
            "resize_mode": resize_mode,
            "quick_gelu": cfg.get("quick_gelu") is True or None,
            "image_tower_params": visual,
            "embed_dim": integer(model_cfg.get("embed_dim")),
            "image_tower": text(vision.get("timm_model_name"), 200),
            "text_tower": text(_hub_text_tower(model_cfg), 200),
            "params_note": text(params.get("note"), 400),
            "load": load,
        }.items() if v is not None},
        datasets=datasets,
        papers=[PaperLink(f"arxiv:{p}", f"arxiv:{p}") for p in papers],
        repos=[RepoLink(*_REPO)],
    )
    rec.files = [WeightsFile(u) for u in [weights_file_url(url)] if u]
    rec.set_license(normalize_license(None))
    rec.extra["license_note"] = "OpenCLIP's list names no license: see the weights' Hub repository"
    return rec
