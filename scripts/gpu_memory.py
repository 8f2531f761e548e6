#!/usr/bin/env python
"""Issue #23's GPU check: `modelcat recommend`'s training-memory estimate against what a training
step really allocates (torch.cuda.max_memory_allocated), for three models under each strategy.

For each model and strategy: the estimate recommend shows (indexer.recommend.memory_estimate, with
what recommend measures: the emulated step's peak line, from the shipped timm profile where it
matches the installed timm, else a build on the meta device) and the formula it replaced; the same
fp32 step emulated on the meta device at the batch size (indexer.loader.profile.emulate_step); then the
model as load_model builds it (pretrained=False: the memory does not depend on the weights' values,
and the GPU machine has no network), AdamW on its param_groups(), a batch of random images and
labels, two training steps in fp32 and two with AMP (bf16 autocast): the peak of the first (AdamW's
states created) and of the second (the steady state a training run lives in). The errors quoted
are (estimate - steady peak) / steady peak, the emulation's and the formula's too.

    python3 scripts/gpu_memory.py --out $OUT/gpu_memory.json          # on a GPU machine
    .venv/bin/python scripts/gpu_memory.py --estimate-only               # here: against the emulation only
    .venv/bin/python scripts/gpu_memory.py --estimate-only --sample 40  # 40 timm architectures drawn at random

Without CUDA (and without --estimate-only) it says so and exits 2. Rows are built from their ids
(timm:<architecture>.<tag>), no catalog needed; --db reads them from a catalog instead.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODELS = ("timm:resnet50.a1_in1k", "timm:vit_small_patch16_224.augreg_in21k_ft_in1k", "timm:convnext_tiny.fb_in1k")
STRATEGIES = ("feature-extraction", "partial", "full")


def timm_row(catalog_id: str) -> dict:
    """A timm row as the catalog holds it, for what load_model and recommend read of it."""
    from indexer.torchcompat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import timm

    if not catalog_id.startswith("timm:"):
        raise SystemExit(f"{catalog_id}: without --db only timm ids (timm:<architecture>.<tag>) are built")
    tag = catalog_id.split(":", 1)[1]
    if not timm.is_model(tag.split(".", 1)[0]):
        raise SystemExit(f"{catalog_id}: timm {timm.__version__} has no architecture {tag.split('.', 1)[0]!r}")
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(tag) if "." in tag else None
    size = list(getattr(cfg, "input_size", None) or (3, 224, 224))
    return {"id": catalog_id, "source": "timm", "name": tag, "library": "timm", "task": "image-classification",
            "source_version": timm.__version__, "input_size": size, "num_classes": getattr(cfg, "num_classes", None),
            "loadable": 1, "load_backend": "timm", "tags": []}


def estimate(row: dict, strategy: str, num_classes: int, batch_size: int, db: str | None) -> dict:
    """What `modelcat recommend` shows for this row and strategy (one trainable stage for partial)."""
    from indexer.recommend import Strategy, _from_profile, measure, memory_estimate

    plan = Strategy(strategy=strategy, trainable_stages=1, why="", gradual_unfreezing=False)
    m = _from_profile(row, plan, num_classes) or measure(row, plan, num_classes, db)
    mem = memory_estimate(m["total_params"], m["trainable_params"], m["activation_bytes_per_sample"], batch_size,
                          m.get("peak_fp32"))
    formula = memory_estimate(m["total_params"], m["trainable_params"], m["activation_bytes_per_sample"], batch_size)
    return {"total_params": m["total_params"], "trainable_params": m["trainable_params"],
            "activation_bytes_per_sample": m["activation_bytes_per_sample"],
            "measured": m.get("measured", "built"), **mem,
            "formula_fp32_gb": formula["fp32_gb"], "formula_amp_gb": formula["amp_gb"]}


def build(row: dict, strategy: str, num_classes: int, device: str, db: str | None):
    from indexer.loader import load_model

    return load_model(row["id"], num_classes=num_classes, strategy=strategy, device=device, pretrained=False,
                      trainable_stages=1, db=db, row=None if db else row)


def measure_peaks(row: dict, strategy: str, num_classes: int, batch_size: int, amp: bool, db: str | None) -> dict:
    """Bytes allocated at the peak of a first and a second training step, over what was allocated
    before the model was built."""
    import torch

    from indexer.loader.profile import train_step

    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    ft = build(row, strategy, num_classes, "cuda", db)
    optimizer = torch.optim.AdamW(ft.param_groups())
    shape = tuple(ft.preprocess.get("input_size") or row["input_size"])
    images = torch.randn((batch_size, *shape), device="cuda")
    labels = torch.randint(0, num_classes, (batch_size,), device="cuda")
    started = time.perf_counter()
    train_step(ft.model, optimizer, images, labels, amp)
    torch.cuda.synchronize()
    first = torch.cuda.max_memory_allocated() - base
    torch.cuda.reset_peak_memory_stats()
    train_step(ft.model, optimizer, images, labels, amp)
    torch.cuda.synchronize()
    steady = torch.cuda.max_memory_allocated() - base
    seconds = time.perf_counter() - started
    inputs = images.numel() * images.element_size() + labels.numel() * labels.element_size()
    trainable = sum(p.numel() for p in ft.model.parameters() if p.requires_grad)
    del ft, optimizer, images, labels
    gc.collect()
    torch.cuda.empty_cache()
    return {"first_step_bytes": first, "steady_bytes": steady, "input_bytes": inputs, "trainable_params": trainable,
            "seconds": round(seconds, 3)}


def emulate_peaks(row: dict, strategy: str, num_classes: int, batch_size: int, db: str | None) -> dict:
    """measure_peaks' fp32 figures, emulated on the meta device (indexer.loader.profile.emulate_step):
    no GPU needed."""
    import torch

    from indexer.loader.profile import emulate_step

    with torch.device("meta"):
        ft = build(row, strategy, num_classes, "meta", db)
    shape = tuple(ft.preprocess.get("input_size") or row["input_size"])
    return emulate_step(ft, shape, batch_size)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), help="catalog ids (default: %(default)s)")
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--num-classes", type=int, default=10)
    ap.add_argument("--db", help="read the rows from this catalog instead of building them from their ids")
    ap.add_argument("--estimate-only", action="store_true", help="the estimates alone (no GPU needed)")
    ap.add_argument("--sample", type=int, metavar="N",
                    help="instead of --models: N timm architectures drawn at random (a pretrained tag of each)")
    ap.add_argument("--seed", type=int, default=0, help="the draw of --sample")
    ap.add_argument("--out", type=Path, help="also write the results here as JSON")
    args = ap.parse_args(argv)
    if args.sample:
        args.models = sample_models(args.sample, args.seed)

    import torch

    if not args.estimate_only and not torch.cuda.is_available():
        print("no CUDA device here: run this on a GPU machine, or pass --estimate-only for the estimates alone",
              file=sys.stderr)
        return 2
    if args.db:
        from indexer.loader import catalog_row

        rows = [catalog_row(m, args.db) for m in args.models]
    else:
        rows = [timm_row(m) for m in args.models]
    results, failed = [], []
    for row in rows:
        for strategy in args.strategies:
            try:
                est = estimate(row, strategy, args.num_classes, args.batch_size, args.db)
                emulated = emulate_peaks(row, strategy, args.num_classes, args.batch_size, args.db)
            except Exception as e:  # noqa: BLE001 - one model the meta device cannot run: said, the others go on
                failed.append({"id": row["id"], "strategy": strategy, "error": f"{type(e).__name__}: {e}"[:200]})
                continue
            entry = {"id": row["id"], "strategy": strategy, "batch_size": args.batch_size,
                     "num_classes": args.num_classes, "estimate": est}
            emulated["error"] = round((est["fp32_gb"] * 1e9 - emulated["steady_bytes"]) / emulated["steady_bytes"], 4)
            emulated["formula_error"] = round(
                (est["formula_fp32_gb"] * 1e9 - emulated["steady_bytes"]) / emulated["steady_bytes"], 4)
            entry["emulated_fp32"] = emulated
            if not args.estimate_only:
                for label, amp in (("fp32", False), ("amp", True)):
                    peak = measure_peaks(row, strategy, args.num_classes, args.batch_size, amp, args.db)
                    if peak["trainable_params"] != est["trainable_params"]:
                        print(f"{row['id']} {strategy}: the estimate counts {est['trainable_params']:,} trainable "
                              f"parameters, the built model has {peak['trainable_params']:,}", file=sys.stderr)
                    guess = est[f"{label}_gb"] * 1e9
                    peak["error"] = round((guess - peak["steady_bytes"]) / peak["steady_bytes"], 4)
                    peak["formula_error"] = round(
                        (est[f"formula_{label}_gb"] * 1e9 - peak["steady_bytes"]) / peak["steady_bytes"], 4)
                    if label == "fp32":  # the emulation against the allocator
                        peak["emulation_error"] = round(
                            (emulated["steady_bytes"] - peak["steady_bytes"]) / peak["steady_bytes"], 4)
                    entry[label] = peak
            results.append(entry)
            print(json.dumps(entry), file=sys.stderr, flush=True)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (estimates only)"
    report = {"device": device, "torch": torch.__version__, "results": results, "failed": failed,
              "summary": summary(results)}
    import timm

    report["timm"] = timm.__version__
    print(table(report))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


def sample_models(n: int, seed: int) -> list[str]:
    """n timm architectures drawn at random (seeded), each as its first pretrained tag."""
    import random

    from indexer.torchcompat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import timm

    first: dict[str, str] = {}
    for tag in sorted(timm.list_pretrained()):
        first.setdefault(tag.split(".", 1)[0], tag)
    return [f"timm:{first[a]}" for a in random.Random(seed).sample(sorted(first), min(n, len(first)))]


def summary(results: list[dict]) -> dict:
    """Per strategy (and measurement): how many, and the estimate's error's median, 10th and 90th
    percentiles and its largest in size."""
    import statistics

    out: dict[str, dict] = {}
    for strategy in dict.fromkeys(r["strategy"] for r in results):
        for key in ("emulated_fp32", "fp32", "amp"):
            for kind, field in (("estimate", "error"), ("formula", "formula_error")):
                errors = sorted(r[key][field] for r in results if r["strategy"] == strategy and key in r)
                if not errors:
                    continue
                deciles = statistics.quantiles(errors, n=10) if len(errors) > 1 else [errors[0]] * 9
                out[f"{strategy}: {kind} vs {key}"] = {"n": len(errors), "median": statistics.median(errors),
                                                      "p10": deciles[0], "p90": deciles[-1],
                                                      "worst": max(errors, key=abs)}
    return out


def table(report: dict) -> str:
    """A markdown table: each model and strategy's estimate and, where measured, the peaks and errors."""
    gb = 1e9
    head = ["model", "strategy", "trainable M", "acts MB/sample", "est fp32 GB", "est AMP GB",
            "emulated fp32 GB (1st / steady)", "est error vs emulated"]
    measured = any("fp32" in r for r in report["results"])
    if measured:
        head += ["fp32 peak GB (1st / steady)", "fp32 error", "emulation error", "AMP peak GB (1st / steady)",
                 "AMP error"]
    lines = [f"device: {report['device']}, torch {report['torch']}, timm {report.get('timm')}", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in report["results"]:
        e = r["estimate"]
        acts = e["activation_bytes_per_sample"]
        cells = [r["id"], r["strategy"], f"{e['trainable_params'] / 1e6:.2f}",
                 "?" if acts is None else f"{acts / 1e6:.1f}", f"{e['fp32_gb']:.3f}", f"{e['amp_gb']:.3f}"]
        m = r["emulated_fp32"]
        cells += [f"{m['first_step_bytes'] / gb:.3f} / {m['steady_bytes'] / gb:.3f}", f"{100 * m['error']:+.1f}%"]
        if measured:
            for label in ("fp32", "amp"):
                p = r[label]
                cells += [f"{p['first_step_bytes'] / gb:.3f} / {p['steady_bytes'] / gb:.3f}", f"{100 * p['error']:+.1f}%"]
                if label == "fp32":
                    cells.append(f"{100 * p['emulation_error']:+.1f}%")
        lines.append("| " + " | ".join(cells) + " |")
    if report.get("summary"):
        lines += ["", "| error | n | median | p10 | p90 | worst |", "|---|---|---|---|---|---|"]
        for what, s in report["summary"].items():
            lines.append(f"| {what} | {s['n']} | {100 * s['median']:+.1f}% | {100 * s['p10']:+.1f}% | "
                         f"{100 * s['p90']:+.1f}% | {100 * s['worst']:+.1f}% |")
    for f in report.get("failed") or []:
        lines.append(f"not measured: {f['id']} {f['strategy']}: {f['error']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
