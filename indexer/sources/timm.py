"""timm: every pretrained tag in the installed timm, with its PretrainedCfg and parameter count.

timm's registry has no parameter counts, and building 1826 models to count them takes minutes.
So:
  * models are built on the meta device with weight init turned off (init is ~80% of the build
    time on meta, and does not change shapes);
  * tags that build the same module (same architecture, num_classes, in_chans and, where the
    input size is baked in, img_size) are built once;
  * the builds run in worker processes;
  * the raw records are cached, keyed by the installed timm's file hashes: an unchanged timm
    costs a JSON read, and timm is not even imported.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import multiprocessing
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Iterator

from ..errors import SkipRecord, SourceUnavailable
from ..normalize import arxiv_ids, datasets_from_tokens, estimate_bytes, normalize_license
from ..normalize.dataset import canonical_dataset, dataset_kind, label_space_sizes
from ..normalize.links import github_repo_ids, weights_file_url
from ..normalize.values import integer, number, numbers, text, texts
from ..normalize.ids import id_problem, valid_id
from ..records import DatasetLink, Metric, ModelRecord, PaperLink, RepoLink, Speed, WeightsFile
from .base import FetchContext, Source, family_words, jsonable
from . import ghclient
from .timm_results import (
    origin_label, pretraining_by_tag, read_benchmarks, read_pretraining, read_results, results_folder,
)

CACHE_FORMAT = 1  # bump when the raw record shape or the counting method changes
_CFG_KEYS = (
    "architecture", "tag", "hf_hub_id", "url", "license", "input_size", "test_input_size",
    "fixed_input_size", "interpolation", "crop_pct", "test_crop_pct", "crop_mode", "mean", "std",
    "num_classes", "label_offset", "pool_size", "first_conv", "classifier", "origin_url",
    "paper_name", "paper_ids", "notes", "description",
)  # fmt: skip


def timm_fingerprint() -> tuple[str, str]:
    """(version, digest of the installed files) without importing timm."""
    try:
        dist = importlib.metadata.distribution("timm")
    except importlib.metadata.PackageNotFoundError:
        raise SourceUnavailable("timm is not installed: run the README's set-up") from None
    record = dist.read_text("RECORD")
    if record is None:  # an install without a RECORD: fall back to the package folder's mtime
        record = f"{dist.locate_file('timm')}:{os.stat(dist.locate_file('timm')).st_mtime_ns}"
    return dist.version, hashlib.sha256(record.encode()).hexdigest()[:16]


def _import_timm():
    from ..torchcompat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import timm

    return timm


# --------------------------------------------------------------------- parameter counting
def _meta_no_init_mode():
    """Tensors on the meta device, weight init skipped (loader.fastinit.meta_no_init)."""
    from ..loader.fastinit import meta_no_init

    return meta_no_init()


def count_parameters(name: str) -> tuple[int, int]:
    """(parameters, bytes of the state dict in float32) of a timm model, built on meta."""
    timm = _import_timm()
    with _meta_no_init_mode():
        model = timm.create_model(name, pretrained=False)
    num_params = sum(p.numel() for p in model.parameters())
    state_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    return num_params, state_bytes


def _count_worker(name: str) -> tuple[str, int | None, int | None, str | None]:
    try:
        n, b = count_parameters(name)
        return name, n, b, None
    except Exception as e:  # one architecture failing to build must not sink the others
        return name, None, None, f"{type(e).__name__}: {e}"[:300]


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def _build_key(cfg: dict) -> tuple:
    size = tuple(cfg["input_size"][-2:]) if cfg.get("fixed_input_size") and cfg.get("input_size") else None
    chans = cfg["input_size"][0] if cfg.get("input_size") else None
    return cfg["architecture"], cfg.get("num_classes"), size, chans


def _workers() -> int:
    explicit = os.environ.get("MODELCAT_WORKERS")
    if explicit:
        return max(1, int(explicit))
    return max(1, min(os.cpu_count() or 1, 8))


def _count_all(names: list[str], progress) -> dict[str, tuple[int | None, int | None, str | None]]:
    """Counts for one representative tag per build key, run in worker processes."""
    workers = _workers()
    results = {}
    total = len(names)
    if workers == 1 or total < 8:
        for i, name in enumerate(names, 1):
            _, n, b, err = _count_worker(name)
            results[name] = (n, b, err)
            progress(i, total, "counting parameters")
        return results
    # fork: the workers inherit the imported timm (spawn would re-import it per worker)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(workers, initializer=_worker_init) as pool:
        for i, (name, n, b, err) in enumerate(pool.imap_unordered(_count_worker, names, chunksize=4), 1):
            results[name] = (n, b, err)
            progress(i, total, "counting parameters")
    return results


def read_registry(progress) -> list[dict]:
    """Raw records for every pretrained tag of the installed timm (the slow, uncached path)."""
    timm = _import_timm()
    from timm.models import get_pretrained_cfg
    from timm.models._registry import _model_entrypoints

    records = []
    for name in timm.list_pretrained():
        cfg = get_pretrained_cfg(name)
        if cfg is None:
            continue
        arch = cfg.architecture or name.split(".", 1)[0]
        entry = _model_entrypoints.get(arch)
        records.append({
            "name": name,
            "cfg": {k: jsonable(getattr(cfg, k, None)) for k in _CFG_KEYS},
            "doc": (entry.__doc__ or "").strip() if entry else "",
            "module": getattr(entry, "__module__", None),
        })
    groups: dict[tuple, list[dict]] = {}
    for rec in records:
        groups.setdefault(_build_key(rec["cfg"]), []).append(rec)
    counts = _count_all([g[0]["name"] for g in groups.values()], progress)
    for group in groups.values():
        n, b, err = counts[group[0]["name"]]
        for rec in group:
            rec.update(num_params=n, state_bytes=b, count_error=err)
    return records


class TimmSource(Source):
    name = "timm"
    settings = {
        "results": (str, "github", "where timm's published results come from: \"github\" (its repository at the "
                                   "installed version's tag, read once per version; the snapshot shipped with "
                                   "modelcat when GitHub cannot be reached) or \"snapshot\" (never ask GitHub)"),
        **ghclient.SETTINGS,
    }

    def version(self) -> str | None:
        return timm_fingerprint()[0]

    def fetch(self, ctx: FetchContext) -> Iterator[dict]:
        version, digest = timm_fingerprint()
        cache = Path(ctx.cache_dir) / f"timm-{version}-{digest}-v{CACHE_FORMAT}.json"
        records = _read_cache(cache)
        ctx.details["cache"] = "hit" if records is not None else "miss"
        if records is None:
            t0 = time.perf_counter()
            records = read_registry(ctx.progress)
            ctx.details["count_seconds"] = round(time.perf_counter() - t0, 1)
            ctx.details["count_errors"] = sum(1 for r in records if r.get("count_error"))
            _write_cache(cache, records, ctx)
        ctx.details["timm_version"] = version
        folder, where = results_folder(ctx, version, self.resolved_settings(ctx))
        results = read_results(folder)  # timm's published results (GitHub for this version, or the snapshot)
        benchmarks = read_benchmarks(folder)  # its speed measurements, by architecture
        ctx.details["results"] = where
        label = origin_label(folder)
        deprecated = _deprecated_names(Path(ctx.cache_dir) / f"timm-{version}-deprecated.json", ctx)
        pretrain = pretraining_by_tag(read_pretraining(folder), [r["name"] for r in records], deprecated)
        ctx.details["pretraining_rows"] = len(pretrain)
        for rec in records:
            rec["timm_version"] = version
            rec["results_origin"] = label
            rec["results"] = results.get(rec["name"], [])
            if rec["name"] in pretrain:
                rec["pretrain"] = pretrain[rec["name"]]
            rec["benchmarks"] = benchmarks.get((rec.get("cfg") or {}).get("architecture") or rec["name"].split(".")[0], [])
            yield rec

    def normalize(self, raw: dict) -> ModelRecord:
        return normalize_timm(raw)


def _deprecated_names(cache: Path, ctx: FetchContext) -> dict[str, str]:
    """timm's table of old model names and the tag each became ({} where this timm has none),
    cached per timm version beside the parameter cache: a warm refresh does not import timm."""
    try:
        with open(cache, encoding="utf-8") as f:
            table = json.load(f)
        if isinstance(table, dict):
            return table
    except (OSError, ValueError):
        pass
    try:
        _import_timm()
        from timm.models import _registry
    except ImportError:
        return {}
    table = getattr(_registry, "_deprecated_models", {})
    table = {k: v for k, v in table.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(table, dict) else {}
    _write_cache(cache, table, ctx)
    return table


def _read_cache(path: Path) -> list[dict] | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None  # missing or damaged: rebuild
    if not isinstance(data, list) or not all(isinstance(r, dict) and "name" in r and "cfg" in r for r in data):
        return None
    return data


def _write_cache(path: Path, records: list[dict] | dict, ctx: FetchContext) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".timm-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(records, f)
        os.replace(tmp, path)
    except OSError as e:  # a cache we cannot write only costs time next run
        ctx.log.warning("timm: cannot write the parameter cache %s (%s); next refresh will rebuild it", path, e)


# --------------------------------------------------------------------- normalization
def _task(num_classes: int | None, datasets: list[tuple[str, str]]) -> str:
    """A classifier when it has a head and its last training set has labels; otherwise a
    feature extractor (num_classes 0, or a CLIP-style projection trained on image-text pairs).
    With no dataset in the tag, a head is a classifier only if its size is a known label space
    (1000 classes: ImageNet-1K); a 512- or 1024-wide head is an embedding."""
    if not num_classes:
        return "image-feature-extraction"
    if datasets:
        labelled = dataset_kind(datasets[-1][0]) == "classification"
    else:
        labelled = num_classes in label_space_sizes()
    return "image-classification" if labelled else "image-feature-extraction"


def _description(raw: dict) -> str | None:
    parts = []
    doc = (text(raw.get("doc"), 20_000) or "").split("\n\n", 1)[0].strip()
    if doc:
        parts.append(re.sub(r"\s+", " ", doc)[:2000])
    cfg = raw["cfg"]
    for key in ("description", "paper_name"):
        if text(cfg.get(key)):
            parts.append(text(cfg.get(key)))
    parts.extend(texts(cfg.get("notes"), most=20))
    return " ".join(parts) or None


def _plain(v) -> bool:
    """A small JSON-able value for `extra` (a number, a short string, a short list of them)."""
    if isinstance(v, (bool, int)) or (isinstance(v, float) and number(v) is not None):
        return True
    if isinstance(v, str):
        return len(v) <= 2000
    return isinstance(v, list) and len(v) <= 10 and all(_plain(x) and not isinstance(x, list) for x in v)


def normalize_timm(raw: dict) -> ModelRecord:
    name = raw.get("name")
    cfg = raw.get("cfg")
    if not isinstance(name, str) or "." not in name or not isinstance(cfg, dict):
        raise SkipRecord("not a timm pretrained tag")
    if not valid_id("timm", name):
        raise SkipRecord("not a valid timm model name", id_problem("timm", name))
    arch, tag = name.split(".", 1)
    found = datasets_from_tokens(tag.split("_"), scope="timm")
    links = [
        DatasetLink(ident, "train" if len(found) == 1 else ("finetune" if i == len(found) - 1 else "pretrain"), rawtok)
        for i, (ident, rawtok) in enumerate(found)
    ]
    num_classes = integer(cfg.get("num_classes"))
    num_classes = num_classes if num_classes is not None and num_classes >= 0 else None
    classifier, first_conv = (",".join(texts(v, 200)) or None for v in (cfg.get("classifier"), cfg.get("first_conv")))
    hf_hub_id = text(cfg.get("hf_hub_id"), 300)
    num_params = integer(raw.get("num_params"))
    num_params = num_params if num_params is not None and num_params >= 0 else None
    state_bytes = integer(raw.get("state_bytes"))
    paper_ids = text(cfg.get("paper_ids"), 2000) or ", ".join(texts(cfg.get("paper_ids"), 100)) or None
    papers = [PaperLink(f"arxiv:{i}", paper_ids) for i in arxiv_ids(paper_ids)] if paper_ids else []
    origin_url, url = text(cfg.get("origin_url"), 2000), text(cfg.get("url"), 2000)
    rec = ModelRecord(
        id=f"timm:{name}",
        source="timm",
        name=name,
        author="timm",
        task=_task(num_classes, found),
        library="timm",
        num_params=num_params,
        # timm's checkpoints are float32 state dicts: parameters and buffers x 4 bytes
        size_bytes=state_bytes if state_bytes is not None and state_bytes > 0 else estimate_bytes(num_params),
        size_is_estimate=True if num_params is not None else None,
        url=f"https://huggingface.co/{hf_hub_id}" if hf_hub_id else (origin_url or url),
        description=_description(raw),
        tags=family_words(arch) + [d.dataset_id for d in links],
        architecture=arch,
        weights=tag,
        hf_hub_id=hf_hub_id,
        input_size=numbers(cfg.get("input_size"), 3),
        mean=numbers(cfg.get("mean")),
        std=numbers(cfg.get("std")),
        crop_pct=number(cfg.get("crop_pct")),
        interpolation=text(cfg.get("interpolation"), 40),
        num_classes=num_classes,
        classifier=classifier,
        first_conv=first_conv,
        source_version=text(raw.get("timm_version"), 40),
        extra={k: cfg[k] for k in ("test_input_size", "fixed_input_size", "crop_mode", "test_crop_pct",
                                   "label_offset", "origin_url", "url", "paper_name")
               if cfg.get(k) not in (None, False, "") and _plain(cfg[k])},
        datasets=links,
        papers=papers,
        repos=[RepoLink(ident, u) for u in (origin_url, url) if u for ident, _ in github_repo_ids(u)],
    )
    # the file it downloads from (not a Hub one): the same file as a torchvision weight is the same weights
    rec.files = [WeightsFile(u) for u in [weights_file_url(url)] if u]
    rec.metrics = result_metrics(raw.get("results"), rec.input_size, text(raw.get("results_origin"), 200))
    rec.speeds = benchmark_speeds(raw.get("benchmarks"), rec.input_size)
    pretrain = text(raw.get("pretrain"), 100)
    if pretrain:
        # timm's model_metadata-in1k.csv: what the model was pretrained on, and how ("in21k-selfsl",
        # "in1k-dist"); its data joins the datasets when the tag named no pretraining data itself
        rec.extra["pretrain"] = pretrain
        data = canonical_dataset(pretrain.split("-", 1)[0])
        if data and len(links) <= 1 and data not in {d.dataset_id for d in links}:
            for d in links:
                d.role = "finetune"
            rec.datasets.insert(0, DatasetLink(data, "pretrain", f"{pretrain} (timm model_metadata-in1k.csv)"))
            rec.tags.append(data)
    if text(raw.get("module")):
        rec.extra["module"] = text(raw.get("module"), 200)
    if text(raw.get("count_error")):
        rec.extra["count_error"] = text(raw.get("count_error"), 2000)
    rec.set_license(normalize_license(cfg.get("license")))
    return rec


def result_metrics(results, input_size: list | None, where: str | None = None) -> list[Metric]:
    """timm's published results as metrics: top-1 and top-5 on each evaluation set, at each image
    size timm tested. One size ranks (canonical metric `top1`, `top5`): the model's default input
    size, else the smallest size tested; the others keep the size in the metric (`top1@288px`), so
    a ranking never mixes a model's test-time resolution with another's default one."""
    if not isinstance(results, list):
        return []
    rows = [r for r in results if isinstance(r, dict) and integer(r.get("img_size")) and number(r.get("top1")) is not None
            and text(r.get("file"), 200)]
    default = input_size[-1] if input_size else None
    metrics = []
    for file in dict.fromkeys(r["file"] for r in rows):
        here = [r for r in rows if r["file"] == file]
        sizes = {r["img_size"] for r in here}
        ranked = default if default in sizes else min(sizes)
        for r in here:
            size = r["img_size"]
            name = text(r.get("dataset"), 200) or file
            dataset_raw = f"{name}, {size} px (timm {file})"
            for key in ("top1", "top5"):
                value = number(r.get(key))
                if value is None:
                    continue
                metrics.append(Metric(dataset_raw=dataset_raw, metric_raw=key, value=value,
                                      dataset_id=text(r.get("dataset_id"), 100),
                                      metric=key if size == ranked else f"{key}@{size}px",
                                      origin=f"{where or 'timm'} results/{file}"))
    return metrics


def benchmark_speeds(benchmarks, input_size: list | None) -> list[Speed]:
    """timm's benchmark rows for the model's architecture, at the model's default input size (the
    size it runs at; timm measures some architectures at several)."""
    if not isinstance(benchmarks, list) or not input_size:
        return []
    size = input_size[-1]
    out = []
    for b in benchmarks:
        if not isinstance(b, dict) or b.get("img_size") != size or number(b.get("samples_per_sec")) is None:
            continue
        out.append(Speed(kind=text(b.get("kind"), 20) or "infer", raw=f"timm {text(b.get('file'), 200)}", img_size=size,
                         device=text(b.get("device"), 100), precision=text(b.get("precision"), 20),
                         layout=text(b.get("layout"), 10), torch=text(b.get("torch"), 20),
                         compiled=bool(b.get("compiled")), batch_size=integer(b.get("batch_size")),
                         samples_per_sec=number(b.get("samples_per_sec")), step_time_ms=number(b.get("step_time_ms")),
                         gmacs=number(b.get("gmacs")), macts_m=number(b.get("macts_m"))))
    return out
