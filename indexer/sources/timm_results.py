"""timm's published evaluation results (its repository's `results/` folder), read from the snapshot
this package ships (indexer/data/timm_results, with its origin and license).

timm keeps them outside its wheel: `results-imagenet.csv` (ImageNet-1K validation) and the same
models on ImageNet-ReaL, ImageNetV2 (matched frequency), ImageNet-Sketch, ImageNet-A and ImageNet-R,
one row per model and test image size (resnet18.a1_in1k at 224 and at 288 px).

    read_results(folder) -> {"resnet18.a1_in1k": [{"file", "dataset_id", "dataset", "img_size",
                                                   "top1", "top5", "crop_pct", "interpolation"}, ...]}
"""

from __future__ import annotations

import csv
import functools
import json
from pathlib import Path

import math

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
