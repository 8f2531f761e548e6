"""timm's published evaluation results (its repository's `results/` folder): read through GitHub for
the installed timm's tag, cached per version, else from the snapshot this package ships
(indexer/data/timm_results, with its origin and license), so a machine that never reached GitHub
answers too.

timm keeps them outside its wheel: `results-imagenet.csv` (ImageNet-1K validation) and the same
models on ImageNet-ReaL, ImageNetV2 (matched frequency), ImageNet-Sketch, ImageNet-A and ImageNet-R,
one row per model and test image size (resnet18.a1_in1k at 224 and at 288 px).

    read_results(folder) -> {"resnet18.a1_in1k": [{"file", "dataset_id", "dataset", "img_size",
                                                   "top1", "top5", "crop_pct", "interpolation"}, ...]}
"""

from __future__ import annotations

import csv
import re
import functools
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..normalize.device import device_table, loose_device as _loose
from ..normalize.values import text

SNAPSHOT = Path(__file__).resolve().parent.parent / "data" / "timm_results"

# file -> (canonical dataset, the evaluation set as timm's results README names it)
RESULT_FILES = {
    "results-imagenet.csv": ("imagenet-1k", "ImageNet-1K validation"),
    "results-imagenet-real.csv": ("imagenet-real", "ImageNet-ReaL"),
    "results-imagenetv2-matched-frequency.csv": ("imagenet-v2", "ImageNetV2 matched frequency"),
    "results-sketch.csv": ("imagenet-sketch", "ImageNet-Sketch"),
    "results-imagenet-a.csv": ("imagenet-a", "ImageNet-A"),
    "results-imagenet-r.csv": ("imagenet-r", "ImageNet-R"),
}


REPOSITORY = "huggingface/pytorch-image-models"
FILES = (*RESULT_FILES, "model_metadata-in1k.csv")


def blob_sha(data: bytes) -> str:
    """Git's blob id of a file's bytes: what GitHub's contents API lists as its `sha`."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def results_folder(ctx, version: str, cfg: dict) -> tuple[Path, str]:
    """(the folder to read, where it came from) for timm `version`. With `results = "github"`
    (the default): the copy read from GitHub at the tag v<version>, once per version (a tag's
    files do not change: a later run reads nothing); a file the snapshot or an earlier version
    already holds (same git blob id) is copied, not downloaded. GitHub unreachable or failing:
    the newest copy read before, else the snapshot; the run's details say which."""
    if cfg.get("results") == "snapshot":
        return SNAPSHOT, "snapshot (results = \"snapshot\")"
    root = Path(ctx.cache_dir) / "timm-results"
    here = root / f"v{version}"
    if _complete(here):
        return here, f"github v{version} (read {origin(here).get('read_at', '?')}, cached)"
    from . import ghclient
    from ..errors import SourceError, SourceUnavailable

    try:
        gh = ghclient.connect(ctx, cfg)
        repo = gh.get_repo(REPOSITORY)
        ref = f"v{version}"
        listing = repo.get_contents("results", ref=ref)
        shas = {c.name: c.sha for c in (listing if isinstance(listing, list) else [listing]) if c.name in FILES}
        if "results-imagenet.csv" not in shas:
            raise SourceError(f"GitHub's {REPOSITORY} has no results/results-imagenet.csv at {ref}")
        known = _local_blobs(root)
        tmp = Path(tempfile.mkdtemp(prefix=".v", dir=_mkdir(root)))
        downloaded = 0
        try:
            for name, sha in sorted(shas.items()):
                data = known[sha].read_bytes() if sha in known else None
                if data is None:
                    data = repo.get_contents(f"results/{name}", ref=ref).decoded_content
                    downloaded += 1
                if blob_sha(data) != sha:
                    raise SourceError(f"GitHub's results/{name} at {ref} does not match its listed id {sha}")
                (tmp / name).write_bytes(data)
            (tmp / "ORIGIN.json").write_text(json.dumps({
                "repository": REPOSITORY, "ref": ref, "path": "results/", "files": shas,
                "read_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "license": "Apache-2.0 (the repository's LICENSE)"}, indent=1))
            shutil.rmtree(here, ignore_errors=True)
            os.replace(tmp, here)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        ctx.details["results_downloaded"] = downloaded
        return here, f"github {ref} (read now: {downloaded} of {len(shas)} files downloaded)"
    except Exception as e:  # noqa: BLE001 - results are the source's extra: never its failure
        why = e if isinstance(e, (SourceError, SourceUnavailable)) else ghclient.translate(e, f"{REPOSITORY}/results")
        fallback = max((d for d in root.glob("v*") if _complete(d)), key=lambda d: d.stat().st_mtime, default=None) \
            if root.is_dir() else None
        ctx.log.warning("timm: results not read from GitHub (%s); using %s", why, fallback or "the snapshot")
        if fallback is not None:
            return fallback, f"github {fallback.name} (an earlier version's copy: {why})"
        return SNAPSHOT, f"snapshot ({why})"


def _complete(folder: Path) -> bool:
    files = origin(folder).get("files")
    return isinstance(files, dict) and bool(files) and all((folder / f).is_file() for f in files)


def _local_blobs(root: Path) -> dict[str, Path]:
    """The results files already on this machine (the snapshot, earlier versions), by blob id."""
    out = {}
    for folder in [SNAPSHOT, *sorted(root.glob("v*"))]:
        for name in FILES:
            path = folder / name
            if path.is_file():
                out.setdefault(blob_sha(path.read_bytes()), path)
    return out


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def origin_label(folder: Path = SNAPSHOT) -> str:
    """The repository and version a results folder holds, as a metric's origin names it:
    "huggingface/pytorch-image-models v1.0.20" (a tag read from GitHub) or "... @aa4b5850c154"
    (the snapshot's commit)."""
    o = origin(folder)
    where = o.get("ref") or (f"@{o['commit'][:12]}" if isinstance(o.get("commit"), str) else None)
    return f"{o.get('repository') or REPOSITORY} {where}" if where else (o.get("repository") or REPOSITORY)


def origin(folder: Path = SNAPSHOT) -> dict:
    """Where the files came from (repository, commit), as ORIGIN.json says."""
    try:
        return json.loads((folder / "ORIGIN.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@functools.lru_cache(maxsize=4)
def read_results(folder: Path = SNAPSHOT) -> dict[str, list[dict]]:
    """Every result row of every results file in the folder, by timm model name (`arch.tag`).
    A file that is missing is skipped; a row without a model name, an image size or a top-1 is
    skipped; numbers are read as timm writes them (a quoted thousands separator included)."""
    out: dict[str, list[dict]] = {}
    for name, (dataset_id, dataset) in RESULT_FILES.items():
        path = Path(folder) / name
        if not path.is_file():
            continue
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                model = text(row.get("model"), 300)
                size = _integer(row.get("img_size"))
                top1 = _number(row.get("top1"))
                if not model or size is None or size <= 0 or top1 is None:
                    continue
                out.setdefault(model, []).append({
                    "file": name, "dataset_id": dataset_id, "dataset": dataset, "img_size": size,
                    "top1": top1, "top5": _number(row.get("top5")), "crop_pct": _number(row.get("crop_pct")),
                    "interpolation": text(row.get("interpolation"), 40),
                })
    return out


@functools.lru_cache(maxsize=4)
def read_pretraining(folder: Path = SNAPSHOT) -> dict[str, str]:
    """model_metadata-in1k.csv: the data each ImageNet-1K model was pretrained on, as timm writes it."""
    path = Path(folder) / "model_metadata-in1k.csv"
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8", newline="") as f:
        return {m: p for row in csv.DictReader(f)
                if (m := text(row.get("model"), 300)) and (p := text(row.get("pretrain"), 100))}


def pretraining_by_tag(pretraining: dict[str, str], tags: list[str], deprecated: dict[str, str]) -> dict[str, str]:
    """model_metadata-in1k.csv's rows, by the pretrained tags they describe. The file names models
    as timm did before tags ("beit_base_patch16_224", "adv_inception_v3"); a row applies to:
    - the tags of the architecture of that name: its only tag, or, when it has several, the
      ImageNet-1K ones whose tag names the row's pretraining data ("in21k-selfsl" -> the
      in22k..._in1k tags; a method alone such as "in1k-dist" cannot say which, and applies to none);
    - the tag timm's deprecation table moves an old name to, when the old name is that
      architecture with a prefix or suffix the tag carries ("adv_inception_v3" ->
      inception_v3.tf_adv_in1k); a move to another architecture (that table sends
      ig_resnext101_32x16d to resnext101_32x8d.fb_wsl_ig1b_ft_in1k) is not taken.
    Rows that say only "in1k" add nothing to a tag and are left out."""
    from ..normalize.dataset import canonical_dataset

    by_arch: dict[str, list[str]] = {}
    for t in tags:
        by_arch.setdefault(t.split(".", 1)[0], []).append(t)
    out: dict[str, str] = {}
    for model, value in pretraining.items():
        if value == "in1k":
            continue
        data = canonical_dataset(value.split("-", 1)[0])
        candidates = by_arch.get(model, [])
        if len(candidates) > 1:
            candidates = [t for t in candidates if data and data != "imagenet-1k" and "in1k" in t.split(".", 1)[1].split("_")
                          and any(canonical_dataset(tok) == data for tok in t.split(".", 1)[1].split("_"))]
        target = deprecated.get(model)
        if not candidates and target in tags:
            arch, tag = target.split(".", 1)
            extra = model[len(arch) + 1:] if model.startswith(arch + "_") else (
                model[: -len(arch) - 1] if model.endswith("_" + arch) else None)
            if extra and all(tok in tag.split("_") for tok in extra.split("_")):
                candidates = [target]
        for t in candidates:
            out[t] = value
    return out


def _number(value) -> float | None:
    """A percentage as a CSV cell holds it ("73.164", "1,014.45" with its separator), or None."""
    try:
        n = float(str(value).replace(",", "").strip())
    except ValueError:
        return None
    return n if math.isfinite(n) and 0 <= n <= 100 else None


def _integer(value) -> int | None:
    value = str(value).strip()
    return int(value) if value.isdigit() and len(value) < 6 else None


# ---------------------------------------------------------------------------------- benchmarks
_BENCH_FILE = re.compile(r"benchmark-(?P<kind>infer|train)-(?P<precision>[a-z0-9_]+)-(?P<layout>nchw|nhwc)-"
                         r"pt(?P<torch>\d+)-(?P<accel>cu\d+|cpu)-(?P<device>[a-z0-9_]+?)(?P<dynamo>-dynamo)?\.csv")


def benchmark_setup(file: str) -> dict | None:
    """What a benchmark file's name says: kind, precision, memory layout, torch and CUDA versions,
    the device (schema/devices.yml's name), whether torch.compile ran; None for another name."""
    m = _BENCH_FILE.fullmatch(file)
    if not m:
        return None
    torch = m["torch"]
    devices = device_table()
    key = m["device"] if m["device"] in devices else next(
        (k for k, d in devices.items() if m["device"] in [_loose(a) for a in d.get("aliases") or []]), m["device"])
    accel = m["accel"]
    return {"kind": m["kind"], "precision": m["precision"], "layout": m["layout"],
            "torch": f"1.{torch[1:]}" if torch.startswith("1") else ".".join(torch),
            "cuda": f"{accel[2:-1]}.{accel[-1]}" if accel != "cpu" else None,
            "device": (devices.get(key) or {}).get("name") or m["device"], "compiled": bool(m["dynamo"])}


@functools.lru_cache(maxsize=4)
def read_benchmarks(folder: Path = SNAPSHOT) -> dict[str, list[dict]]:
    """Every row of every benchmark-*.csv in the folder, by the architecture it measures (timm names
    the architecture: its speed is the same for every pretrained tag of it)."""
    out: dict[str, list[dict]] = {}
    for path in sorted(Path(folder).glob("benchmark-*.csv")):
        setup = benchmark_setup(path.name)
        if setup is None:
            continue
        kind = setup["kind"]
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                arch = text(row.get("model"), 300)
                size = _integer(row.get(f"{kind}_img_size"))
                speed = _positive(row.get(f"{kind}_samples_per_sec"))
                if not arch or size is None or speed is None:
                    continue
                out.setdefault(arch.split(".", 1)[0], []).append({
                    **setup, "file": path.name, "img_size": size, "samples_per_sec": speed,
                    "step_time_ms": _positive(row.get(f"{kind}_step_time")),
                    "batch_size": _integer(row.get(f"{kind}_batch_size")),
                    "gmacs": _positive(row.get(f"{kind}_gmacs")),
                    "macts_m": _positive(row.get(f"{kind}_macts")),
                })
    return out


def _positive(value) -> float | None:
    try:
        n = float(str(value).replace(",", "").strip())
    except ValueError:
        return None
    return n if math.isfinite(n) and n > 0 else None
