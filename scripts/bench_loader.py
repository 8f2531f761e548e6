#!/usr/bin/env python
"""Benchmark: load_model's overhead over the direct library call (issue #5; P5 of issue #8).

    .venv/bin/python scripts/bench_loader.py [--runs 15] [--smoke]

For the same served model, each pair times the library call a user would write by hand and
`load_model(catalog_id, num_classes=10)` (which also reads the catalog row, freezes per strategy,
builds the parameter groups and the preprocessing transform). Weights come from the libraries'
warm caches, as on every load after the first: timm and transformers from a local Hub
(tests/replay/hubfiles.py, one HEAD per file, as against huggingface.co), torchvision from
TORCH_HOME. Runs alternate between the two calls; figures are medians. Goal: ratio <= 1.05.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import pytest  # noqa: E402  (its MonkeyPatch points the clients at the local Hub, as the tests do)
import torch  # noqa: E402

from indexer.torchcompat import ensure_torchvision_importable  # noqa: E402

ensure_torchvision_importable()
import timm  # noqa: E402
from timm.models._hub import save_for_hf  # noqa: E402

from indexer.loader import load_model  # noqa: E402
from indexer.records import ModelRecord  # noqa: E402
from replay import models as M  # noqa: E402
from replay.hubfiles import HubFiles, point_clients_at  # noqa: E402

CLASSES = 10


def setup(work: Path, hub: HubFiles, mp) -> None:
    """Serve resnet18.a1_in1k (real size, random weights) and the tests' tiny models; a catalog."""
    art = M.build_artifacts(work / "art")
    M.serve(hub, art)
    torch.manual_seed(0)
    save_for_hf(timm.create_model("resnet18.a1_in1k"), work / "resnet18", safe_serialization=True)
    hub.put_dir("timm/resnet18.a1_in1k", work / "resnet18")
    point_clients_at(mp, hub.url, work / "hf")
    mp.setenv("TORCH_HOME", str(M.seed_torch_home(work / "torch", art)))
    resnet = ModelRecord(
        id="timm:resnet18.a1_in1k", source="timm", name="resnet18.a1_in1k", library="timm",
        task="image-classification", architecture="resnet18", weights="a1_in1k", hf_hub_id="timm/resnet18.a1_in1k",
        num_classes=1000, input_size=[3, 224, 224], mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    mp.setenv("MODELCAT_DB", str(M.write_catalog(work / "catalog.db", M.records() + [resnet])))


def pairs():
    from torchvision.models import get_model
    from transformers import AutoModelForImageClassification, AutoProcessor

    yield ("timm resnet18.a1_in1k (11.2M params)",
           lambda: timm.create_model("resnet18.a1_in1k", pretrained=True, num_classes=CLASSES),
           lambda: load_model("timm:resnet18.a1_in1k", num_classes=CLASSES, device="cpu"))
    yield (f"timm {M.TIMM_TAG} (0.4M params)",
           lambda: timm.create_model(M.TIMM_TAG, pretrained=True, num_classes=CLASSES),
           lambda: load_model(f"timm:{M.TIMM_TAG}", num_classes=CLASSES, device="cpu"))
    yield ("torchvision resnet18.IMAGENET1K_V1 (11.2M params)",
           lambda: _tv_direct(get_model),
           lambda: load_model(f"torchvision:{M.TV_BUILDER}.{M.TV_WEIGHTS}", num_classes=CLASSES, device="cpu"))
    yield ("transformers tiny ViT (30k params), model + processor",
           lambda: (AutoModelForImageClassification.from_pretrained(M.VIT_REPO, num_labels=CLASSES,
                                                                    ignore_mismatched_sizes=True),
                    AutoProcessor.from_pretrained(M.VIT_REPO)),
           lambda: load_model(f"hf:{M.VIT_REPO}", num_classes=CLASSES, device="cpu"))


def _tv_direct(get_model):
    model = get_model(M.TV_BUILDER, weights=M.TV_WEIGHTS)
    model.fc = torch.nn.Linear(model.fc.in_features, CLASSES)
    return model


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--smoke", action="store_true", help="2 runs: for CI")
    args = ap.parse_args()
    runs = 2 if args.smoke else args.runs
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp, HubFiles() as hub, pytest.MonkeyPatch.context() as mp:
        setup(Path(tmp), hub, mp)
        rows = []
        for label, direct, ours in pairs():
            direct(), ours()  # first loads fill the caches; imports happen here
            a, b = [], []
            for _ in range(runs):
                a.append(timed(direct))
                b.append(timed(ours))
            da, db = statistics.median(a), statistics.median(b)
            rows.append((label, da, db, db / da))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"torch {torch.__version__}, timm {timm.__version__}; median of {runs} alternating runs, warm caches")
    print()
    print("| model | direct library call | load_model | ratio | goal |")
    print("|---|---|---|---|---|")
    for label, da, db, ratio in rows:
        print(f"| {label} | {da * 1000:.1f} ms | {db * 1000:.1f} ms | {ratio:.3f}x | <= 1.05x |")


if __name__ == "__main__":
    main()
