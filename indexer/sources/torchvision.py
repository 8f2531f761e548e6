"""torchvision: every weights enum member of every registered builder, with its meta.

torchvision's `Weights.meta` carries the real numbers: num_params, `_file_size` (the checkpoint,
in MiB), `_metrics` (ImageNet-1K acc@1, COCO box mAP, ...), `_ops` (GFLOPs), `_docs`, recipe,
categories. Torchvision's own weights are BSD-3-Clause unless the meta says otherwise.
"""

from __future__ import annotations

import re
from typing import Iterator

from ..errors import SkipRecord, SourceUnavailable
from ..normalize import (
    arxiv_ids,
    bytes_from_mib,
    canonical_dataset,
    canonical_metric,
    datasets_from_tokens,
    normalize_license,
    normalize_task,
)
from ..normalize.dataset import dataset_kind
from ..normalize.links import github_repo_ids, weights_file_url
from ..normalize.values import integer, number, numbers, text
from ..normalize.ids import id_problem, valid_id
from ..records import DatasetLink, Metric, ModelRecord, PaperLink, RepoLink, Speed, WeightsFile
from .base import FetchContext, Source, family_words, jsonable

DEFAULT_LICENSE = "bsd-3-clause"  # torchvision's own license, for weights whose meta names none
_SUBPACKAGES = {"detection", "segmentation", "video", "optical_flow", "quantization"}
_TRANSFORM_ATTRS = ("crop_size", "resize_size", "mean", "std", "interpolation")


def _import_torchvision():
    from ..torchcompat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import torchvision.models

    return torchvision.models


def _transforms(weights) -> dict | None:
    try:
        preset = weights.transforms()
    except Exception:  # a preset that needs arguments or the missing ops: no preprocessing facts
        return None
    out = {a: jsonable(getattr(preset, a)) for a in _TRANSFORM_ATTRS if hasattr(preset, a)}
    out["preset"] = type(preset).__name__
    return out


def weights_raw(models, builder: str, w, version: str | None) -> dict:
    """The raw record of one weights entry of `builder` (what normalize_torchvision reads)."""
    fn = models.get_model_builder(builder)
    weights_enum = type(w)
    meta = dict(w.meta)
    categories = meta.pop("categories", None)
    return {
        "builder": builder,
        "module": fn.__module__,
        "doc": fn.__doc__ or "",
        "weights_class": weights_enum.__name__,
        "weights": w.name,
        "url": w.url,
        "is_default": w is getattr(weights_enum, "DEFAULT", None),
        "meta": jsonable(meta),
        "num_categories": len(categories) if categories else None,
        "transforms": _transforms(w),
        "torchvision_version": version,
    }


class _Resolved(Exception):
    def __init__(self, weights):
        self.weights = weights


def pretrained_weights(builders: list[str]) -> dict[str, dict]:
    """builder -> the raw record (weights_raw) of the weights `builder(pretrained=True)` loads
    (what `torch.hub.load("pytorch/vision", builder, pretrained=True)` gives), for the builders
    that have one; normalize_torchvision makes it the row the torchvision source writes. torchvision decides: its legacy interface maps `pretrained=True` to a weights entry
    per builder, not always the first one (raft_large: C_T_SKHT_V2; keypointrcnn: COCO_V1, not
    COCO_LEGACY; quantized_resnet18 without quantize=True: resnet18's float weights), and to none
    for some (vit_h_14). The builder is called with `pretrained=True` and stopped in
    `WeightsEnum.verify`, the first thing every builder does: nothing is built or downloaded.
    Names that are not builders of the installed torchvision are left out."""
    try:
        models = _import_torchvision()
        import warnings

        import torch
        from torchvision.models._api import WeightsEnum
    except Exception:  # noqa: BLE001 - no torchvision here: no links
        return {}
    owner = {}  # weights enum -> the builder whose rows carry it
    for b in models.list_models():
        owner.setdefault(models.get_model_weights(b), b)
    original = WeightsEnum.__dict__["verify"]

    def verify(cls, obj):
        raise _Resolved(original.__func__(cls, obj))

    resolved = {}
    WeightsEnum.verify = classmethod(verify)
    try:
        for name in builders:
            try:
                fn = models.get_model_builder(name)
            except ValueError:
                continue
            try:
                with warnings.catch_warnings(), torch.device("meta"):
                    warnings.simplefilter("ignore")
                    fn(pretrained=True)
            except _Resolved as r:
                w = r.weights
                if isinstance(w, WeightsEnum) and type(w) in owner:
                    resolved[name] = (owner[type(w)], w)
            except Exception:  # noqa: BLE001 - "No weights available", or not a legacy builder
                continue
    finally:
        WeightsEnum.verify = original
    version = TorchvisionSource().version()
    return {name: weights_raw(models, b, w, version) for name, (b, w) in resolved.items()}


class TorchvisionSource(Source):
    name = "torchvision"
    package = "torchvision"

    def fetch(self, ctx: FetchContext) -> Iterator[dict]:
        try:
            models = _import_torchvision()
        except ImportError as e:
            raise SourceUnavailable(f"torchvision cannot be imported ({e}): run the README's set-up") from e
        version = self.version()
        builders = models.list_models()
        for i, builder in enumerate(builders, 1):
            for w in models.get_model_weights(builder):
                yield weights_raw(models, builder, w, version)
            ctx.progress(i, len(builders), "reading weights")

    def normalize(self, raw: dict) -> ModelRecord:
        return normalize_torchvision(raw)


# --------------------------------------------------------------------- normalization
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^>]+>`_*")
_RST_ROLE = re.compile(r":\w+:`~?(?:[\w.]+\.)?([^`]+)`")


def _clean_rst(text: str) -> str:
    text = _RST_LINK.sub(r"\1", text)
    text = _RST_ROLE.sub(r"\1", text)
    return re.sub(r"\s+", " ", text.replace("``", "")).strip()


def _doc_page(builder: str, module: str) -> str:
    parts = module.split(".")
    namespace = ".".join(parts[:3]) if len(parts) > 3 and parts[2] in _SUBPACKAGES else "torchvision.models"
    name = builder.removeprefix("quantized_")
    return f"https://pytorch.org/vision/stable/models/generated/{namespace}.{name}.html"


def _datasets(weights: str) -> list[DatasetLink]:
    tokens = [t for t in weights.lower().split("_") if not re.fullmatch(r"v\d+", t)]
    found = datasets_from_tokens(tokens, scope="torchvision")
    if not found:
        return []
    if dataset_kind(found[0][0]) == "optical-flow":
        # C_T_SKHT_K: FlyingChairs, then FlyingThings3D, then the mix, then KITTI: in training order
        ordered = found
    else:
        # IMAGENET1K_SWAG_E2E, KINETICS400_IMAGENET22K: the target first, then what it started from
        ordered = found[1:] + found[:1]
    last = len(ordered) - 1
    return [
        DatasetLink(ident, "train" if last == 0 else ("finetune" if i == last else "pretrain"), raw)
        for i, (ident, raw) in enumerate(ordered)
    ]


def _input(transforms: dict | None) -> tuple[list[int] | None, float | None]:
    if not isinstance(transforms, dict):
        return None, None
    crop = transforms.get("crop_size")
    crop = numbers(crop if isinstance(crop, list) else [crop])
    if not crop or not all(isinstance(x, int) and x > 0 for x in crop):
        return None, None
    h, w = crop[0], crop[-1]
    resize = transforms.get("resize_size")
    resize = numbers(resize if isinstance(resize, list) else [resize])
    crop_pct = round(min(h, w) / min(resize), 4) if resize and min(resize) > 0 else None
    return [3, h, w], crop_pct


def normalize_torchvision(raw: dict) -> ModelRecord:
    builder, weights, meta = raw.get("builder"), raw.get("weights"), raw.get("meta")
    if not isinstance(builder, str) or not isinstance(weights, str) or not isinstance(meta, dict):
        raise SkipRecord("not a torchvision weights entry")
    if not valid_id("torchvision", f"{builder}.{weights}"):
        raise SkipRecord("not a valid torchvision weights name", id_problem("torchvision", f"{builder}.{weights}"))
    module = text(raw.get("module"), 300) or "torchvision.models"
    transforms = raw.get("transforms") if isinstance(raw.get("transforms"), dict) else {}
    input_size, crop_pct = _input(transforms)
    datasets = _datasets(weights)
    version = text(raw.get("torchvision_version"), 40)
    origin = (f"torchvision {version or ''} {text(raw.get('weights_class'), 200) or 'weights'}.{weights}"
              ".meta['_metrics']").replace("  ", " ")
    metrics = [
        Metric(dataset_raw=ds, metric_raw=m, value=number(v), dataset_id=canonical_dataset(ds),
               metric=canonical_metric(m), origin=origin)
        for ds, values in (meta.get("_metrics") if isinstance(meta.get("_metrics"), dict) else {}).items()
        if isinstance(values, dict) and text(ds, 200)
        for m, v in values.items() if number(v) is not None and text(m, 100)
    ]
    doc = (text(raw.get("doc"), 50_000) or "").split("\n\n", 1)[0]
    docs = text(meta.get("_docs"), 20_000) or ""
    num_categories = integer(raw.get("num_categories"))
    num_categories = num_categories if num_categories is not None and num_categories >= 0 else None
    file_size = number(meta.get("_file_size"))
    file_size = file_size if file_size is not None and file_size >= 0 else None
    description = " ".join(p for p in (_clean_rst(doc), _clean_rst(docs)) if p) or None
    papers = [PaperLink(f"arxiv:{i}", f"arxiv:{i}") for i in arxiv_ids([doc, docs], bare=False)]
    quantized = builder.startswith("quantized_")
    task = normalize_task(module)
    if task == "image-classification" and not num_categories:
        # vgg16.IMAGENET1K_FEATURES: only the features are valid, the classifier is NaN
        task = "image-feature-extraction"
    rec = ModelRecord(
        id=f"torchvision:{builder}.{weights}",
        source="torchvision",
        name=f"{builder}.{weights}",
        author="pytorch",
        task=task,
        task_raw=module,
        library="torchvision",
        num_params=integer(meta.get("num_params")),
        size_bytes=bytes_from_mib(file_size),
        size_is_estimate=False if file_size is not None else None,
        url=_doc_page(builder, module),
        description=description,
        tags=family_words(builder.removeprefix("quantized_")) + [d.dataset_id for d in datasets] + (["quantized"] if quantized else []),
        architecture=builder,
        weights=weights,
        input_size=input_size,
        mean=numbers(transforms.get("mean"), 3),
        std=numbers(transforms.get("std"), 3),
        crop_pct=crop_pct,
        interpolation=text(transforms.get("interpolation"), 40),
        num_classes=num_categories,
        source_version=text(raw.get("torchvision_version"), 40),
        extra={
            k: v for k, v in {
                "weights_class": text(raw.get("weights_class"), 200),
                "weights_url": text(raw.get("url"), 2000),
                "default": raw.get("is_default") is True,
                "gflops": number(meta.get("_ops")),
                "recipe": text(meta.get("recipe"), 2000),
                "min_size": numbers(meta.get("min_size")),
                "min_temporal_size": integer(meta.get("min_temporal_size")),
                "backend": text(meta.get("backend"), 100),
                "unquantized": text(meta.get("unquantized"), 200),
                "resize_size": numbers(transforms.get("resize_size")),
                "preset": text(transforms.get("preset"), 200),
            }.items() if v not in (None, False)
        },
        datasets=datasets,
        metrics=metrics,
        papers=papers,
        # the training recipe's code: github.com/pytorch/vision/tree/main/references/...
        repos=[RepoLink(ident, recipe) for recipe in [text(meta.get("recipe"), 2000)] if recipe
               for ident, _ in github_repo_ids(recipe)][:1],
    )
    rec.files = [WeightsFile(u) for u in [weights_file_url(raw.get("url"))] if u]
    lic = meta.get("license") if isinstance(meta.get("license"), (str, list)) else None
    if lic:
        rec.set_license(normalize_license(lic))
    else:
        rec.set_license(normalize_license(DEFAULT_LICENSE))
        rec.license_raw = None  # the source stated nothing: the id is torchvision's default
        rec.extra["license_note"] = "no license in the weights' meta: torchvision's BSD-3-Clause"
    gflops = number(meta.get("_ops"))
    if gflops is not None and gflops > 0:  # the cost per image, at the size its transforms crop to
        rec.speeds = [Speed(kind="ops", raw="torchvision _ops", img_size=input_size[-1] if input_size else None,
                            gflops=gflops)]
    return rec
