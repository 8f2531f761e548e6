"""`modelcat recommend`: from "my data, my GPU" to a model, a fine-tuning strategy and a memory
budget (issue #23).

1. The strategy, from the decision matrix in schema/strategies.yml (how many labelled samples, how
   close their domain is to the pretraining data).
2. Candidates: live, loadable rows of the task that pass the license, size and dataset filters
   (search.build_sql's), one per entity, ranked by a stated score (score_terms): accuracy where
   known, size as the data size favours it, popularity as a prior.
3. For the best of them, the model load_model would build, on the meta device (no weights, no
   memory): its exact trainable parameters under the strategy with K classes, and the bytes one
   sample's forward pass saves for backward (torch.autograd.graph.saved_tensors_hooks, which sees
   only what the trainable part keeps: frozen layers save nothing). Kept in the cache folder
   (recommend/measures.json) by the row's record hash, strategy and head: a question asked again
   builds nothing (and imports no torch).
4. Training memory (memory_estimate): the peak of a training step (weights, AdamW's state,
   activations, gradients), emulated on the meta device at two batch sizes (timm's from the shipped
   profiles), at the batch size, in fp32 and with AMP; a candidate whose estimate passes
   --gpu-memory is left out, and says so in `dropped`.
5. With --data (the user's own images, one sub-folder per class): each candidate's features of a
   sample of them, through the loader (weights from its caches when offline), scored with LogME
   (transfer.py), and the candidates re-ranked by that score.

The estimate is stated in memory_estimate's docstring; it leaves out CUDA's context, cuDNN's and
cuBLAS's workspaces and the allocator's rounding and fragmentation (a few hundred MB), which is why
`fits` keeps a margin.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import Callable

from .errors import ModelcatError
from .search import Query, build_sql, resolve_task

DOMAINS = ("similar", "different")
GB = 1e9
MARGIN_GB = 0.5  # CUDA context and allocator slack the formula leaves out
DATA_IMAGES = 500  # --data: the user's images scored (spread over the classes)


@functools.lru_cache(maxsize=1)
def table() -> dict:
    from .normalize.tables import load_table

    return load_table("strategies")


@dataclasses.dataclass(frozen=True)
class Strategy:
    strategy: str  # load_model's: feature-extraction, partial, full
    trainable_stages: int
    why: str
    gradual_unfreezing: bool


def choose_strategy(samples: int, domain: str = "similar") -> Strategy:
    """The decision matrix's row for this many labelled samples of a similar or different domain."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ModelcatError(f"--samples must be a positive number of labelled samples, not {samples!r}")
    if domain not in DOMAINS:
        raise ModelcatError(f"--domain must be similar or different, not {domain!r}")
    t = table()
    for rule in t["rules"]:
        if rule.get("domain") not in (None, domain):
            continue
        if rule.get("below") is None or samples < rule["below"]:
            strategy = rule["strategy"]
            gradual = strategy != "feature-extraction" and samples < t["gradual_unfreezing_below"]
            return Strategy(strategy, int(rule.get("trainable_stages") or 1), " ".join(rule["why"].split()), gradual)
    raise ModelcatError("schema/strategies.yml: no rule matched; its last rule must have below: null")


def learning_rates(row: dict) -> tuple[float, float]:
    """(head, backbone) learning rates: a BERT-like language model's backbone learns faster."""
    lr = table()["learning_rates"]
    language = row.get("library") == "transformers" and row.get("task") in lr["language_tasks"]
    return float(lr["head"]), float(lr["backbone_language"] if language else lr["backbone"])


def score_terms(row: dict, samples: int) -> dict:
    """The ranking, term by term: accuracy (the ImageNet top-1 as a fraction; a stated default
    where unknown) - size weight x log10(MB) (small data favours small models) + popularity weight
    x log10(1 + downloads)."""
    s = table()["score"]
    top1 = row.get("imagenet_top1")
    accuracy = s["accuracy_weight"] * (top1 / 100 if isinstance(top1, (int, float)) else s["unknown_accuracy"])
    weight = s["size_weight_small_data"] if samples < s["small_data_below"] else s["size_weight_large_data"]
    mb = (row.get("size_bytes") or 0) / 1e6
    size = -weight * math.log10(max(mb, 1.0))
    popularity = s["popularity_weight"] * math.log10(1 + max(row.get("downloads") or 0, 0))
    return {"accuracy": round(accuracy, 4), "size": round(size, 4), "popularity": round(popularity, 4),
            "score": round(accuracy + size + popularity, 4)}


def memory_estimate(total_params: int, trainable_params: int, activation_bytes_per_sample: int | None,
                    batch_size: int, peak: list[int] | None = None) -> dict:
    """Peak training memory, in GB (10^9 bytes), of an AdamW step in a training run (its second
    step on: AdamW's moments exist):

        fp32: a + b x batch, where a and b come from the step emulated on the meta device at two
              batch sizes (every tensor the step makes counted from its making to its storage's
              freeing, as the GPU's allocator counts it: weights, AdamW's state, activations saved
              for backward, the forward's passing tensors, gradients; loader/profile.py);
        AMP:  the same with the batch's part (b x batch) at half (autocast computes in 16 bits) and
              autocast's 16-bit copies of the trainable weights (2 x trainable) added.

    Where a model has no emulation (its step cannot run on the meta device), a formula: 4 x all
    parameters (weights) + 12 x trainable (gradients, AdamW's two moments) + batch x the bytes one
    sample's forward saves for backward, the activations at half with AMP; activations unknown:
    None, and `fits` is judged on the rest."""
    fixed = 4 * total_params + 12 * trainable_params
    if peak is not None:
        a, b = peak
        fp32, batch_part = a + b * batch_size, b * batch_size
        amp = fp32 - batch_part / 2 + 2 * trainable_params
        return {"weights_gb": round(4 * total_params / GB, 3), "optimizer_gb": round(12 * trainable_params / GB, 3),
                "activations_gb": round(batch_part / GB, 3), "fp32_gb": round(fp32 / GB, 3),
                "amp_gb": round(amp / GB, 3), "method": "emulated step"}
    acts = batch_size * activation_bytes_per_sample if activation_bytes_per_sample is not None else None
    fp32 = (fixed + (acts or 0)) / GB
    amp = (fixed + (acts or 0) / 2) / GB
    return {"weights_gb": round(4 * total_params / GB, 3), "optimizer_gb": round(12 * trainable_params / GB, 3),
            "activations_gb": None if acts is None else round(acts / GB, 3),
            "fp32_gb": round(fp32, 3), "amp_gb": round(amp, 3), "method": "formula"}


def _input_shape(row: dict, ft) -> tuple[int, ...] | None:
    size = ft.preprocess.get("input_size") or row.get("input_size")
    if isinstance(size, str):
        import json

        try:
            size = json.loads(size)
        except ValueError:
            size = None
    if isinstance(size, (list, tuple)) and len(size) == 3 and all(isinstance(x, int) and x > 0 for x in size):
        return tuple(size)
    return (3, 224, 224) if row.get("task") in ("image-classification", "image-feature-extraction") else None


def measure(row: dict, strategy: Strategy, num_classes: int | None, db) -> dict:
    """The model load_model builds for this row, on the meta device: (total, trainable) parameters
    and the bytes one sample's forward saves for backward. db None: built from the row as given
    (no catalog read; scripts/gpu_memory.py). Raises what load_model raises."""
    import torch

    from .loader import load_model
    from .loader.profile import saved_activation

    with torch.device("meta"):
        ft = load_model(row["id"], num_classes=num_classes, strategy=strategy.strategy, device="meta",
                        pretrained=False, trainable_stages=strategy.trainable_stages, db=db,
                        row=row if db is None else None)
    total = sum(p.numel() for p in ft.model.parameters())
    trainable = sum(p.numel() for p in ft.model.parameters() if p.requires_grad)
    saved = peak = None
    shape = _input_shape(row, ft)
    if shape is not None:
        counted = [0]

        def pack(t):
            if saved_activation(t):  # not a parameter, nor a view of one (a Linear's transposed weight)
                counted[0] += t.numel() * t.element_size()
            return t

        try:
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                ft.model.train()
                ft.model(torch.empty((1, *shape), device="meta"))
            saved = counted[0]
        except Exception:  # noqa: BLE001 - a model whose forward the meta device cannot run: unknown
            saved = None
        if saved is not None:
            from .loader.profile import peak_line

            try:
                peak = peak_line(ft, shape)
            except Exception:  # noqa: BLE001 - a step the meta device cannot run (a loss of its own): the formula
                peak = None
    return {"total_params": total, "trainable_params": trainable, "activation_bytes_per_sample": saved,
            "input_size": list(shape) if shape else None, **({"peak_fp32": peak} if peak else {})}


def _from_profile(row: dict, strategy: Strategy, num_classes: int | None) -> dict | None:
    """measure's answer from the row's shipped training profile (timm rows, measured with the
    installed timm version by scripts/timm_profiles.py): no model built, no torch imported."""
    import json

    from .trainprofile import from_profile, timm_profile

    if row.get("source") != "timm":
        return None
    profile = timm_profile(row["id"].split(":", 1)[1], row.get("source_version"))
    if profile is None:
        return None
    size = row.get("input_size")
    if isinstance(size, str):
        try:
            size = json.loads(size)
        except ValueError:
            return None
    if not (isinstance(size, list) and len(size) == 3):
        size = [3, 224, 224]
    return from_profile(profile, strategy.strategy, strategy.trainable_stages, num_classes, row.get("num_classes"),
                        size)


MEASURES_KEPT = 5000  # measurements kept in the cache file (the newest)
MEASURE_VERSION = 2  # bump when measure() measures more: measurements kept before are taken again


def _measures_file() -> Path:
    from .paths import cache_dir

    return cache_dir() / "recommend" / "measures.json"


def _read_measures() -> dict:
    import json

    try:
        kept = json.loads(_measures_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return kept if isinstance(kept, dict) else {}


def _write_measures(kept: dict) -> None:
    """Kept beside the other caches (MODELCAT_CACHE_DIR); a cache that cannot be written is no error."""
    import json
    import os

    path = _measures_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        items = list(kept.items())[-MEASURES_KEPT:]
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dict(items)), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def _measure_key(row: dict, strategy: Strategy, num_classes: int | None) -> str:
    """A measurement holds for the row's content (its record hash: what the loader builds from), the
    strategy and the head."""
    return "|".join(str(x) for x in (row["id"], row.get("record_hash"), strategy.strategy, strategy.trainable_stages,
                                     num_classes, MEASURE_VERSION))


def _load_line(model_id: str, num_classes: int | None, strategy: Strategy, head_lr: float, backbone_lr: float) -> str:
    from .textsafe import py_literal

    args = [py_literal(model_id)]
    if num_classes is not None:
        args.append(f"num_classes={num_classes}")
    args.append(f'strategy="{strategy.strategy}"')
    if strategy.strategy == "partial" and strategy.trainable_stages != 1:
        args.append(f"trainable_stages={strategy.trainable_stages}")
    args += [f"head_lr={head_lr:g}", f"backbone_lr={backbone_lr:g}"]
    return f"load_model({', '.join(args)})"


def _rows(cat, q: Query) -> list[dict]:
    """The query's rows, walking its index; without the walk where the catalog lacks the index."""
    import sqlite3

    sql, params = build_sql(q)
    try:
        return [dict(r) for r in cat.conn.execute(sql, params)]
    except sqlite3.OperationalError as e:
        if "no such index" not in str(e):
            raise
    rows = [dict(r) for r in cat.conn.execute(*build_sql(dataclasses.replace(q, walk=None, limit=None)))]
    if q.walk == "top1":  # the same rows as the walk: those with a known accuracy
        rows = [r for r in rows if r["imagenet_top1"] is not None]
    return rows[:q.limit]


def recommend(task: str, samples: int, *, domain: str = "similar", num_classes: int | None = None,
              gpu_memory: float | None = None, batch_size: int = 32, max_mb: float | None = None,
              open_only: bool = False, license_family: str | None = None, dataset: str | None = None,
              limit: int = 5, shortlist: int = 40, db: str | Path | None = None,
              data: str | Path | None = None, data_images: int = DATA_IMAGES,
              progress: Callable[[int, int], None] | None = None) -> dict:
    """What `modelcat recommend` answers: {"strategy": ..., "candidates": [...], "dropped": [...]}.
    Candidates are ranked by score (score_terms), each with its exact trainable parameters, its
    memory estimate and whether it fits `gpu_memory` GB, its learning rates, the load line and why.
    With `data` (a folder of the user's images, one sub-folder per class), each candidate's
    features of at most `data_images` of them are scored with LogME (transfer.py) and the
    candidates re-ranked by that `transfer_score`; `progress(images done now, images in all)`."""
    from .paths import default_db_path
    from .store import Catalog

    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1):
        raise ModelcatError(f"--num-classes must be a positive integer, not {num_classes!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ModelcatError(f"--batch-size must be a positive integer, not {batch_size!r}")
    if gpu_memory is not None and not gpu_memory > 0:
        raise ModelcatError(f"--gpu-memory must be a positive number of GB, not {gpu_memory!r}")
    if limit < 1:
        raise ModelcatError(f"--limit must be at least 1, not {limit}")
    if isinstance(data_images, bool) or not isinstance(data_images, int) or data_images < 2:
        raise ModelcatError(f"--data-images must be an integer of at least 2, not {data_images!r}")
    strategy = choose_strategy(samples, domain)
    task = resolve_task(task)
    sample = None
    if data is not None:  # read the folder first: a wrong path is said before anything is built
        from .transfer import image_folder

        if "image" not in task.split("-"):
            raise ModelcatError(f"--data scores images, and the task {task} does not take them: give an image "
                                "task (image-classification, image-feature-extraction) or leave --data out")
        sample = image_folder(data, data_images)
    path = Path(db) if db else default_db_path()
    wanted = max(shortlist * 5, 200)
    q = Query(task=task, dataset=dataset, open_only=open_only, max_mb=max_mb, license_family=license_family,
              loadable=True, sort="top1", limit=wanted, group=False, walk="top1")
    with Catalog.open(path, readonly=True, create=False) as cat:
        cat.require_current()
        # the rows with a known accuracy, best first (walking the top-1 index: a few thousand rows in
        # a catalog of millions), then, where they are too few, the most downloaded others (walking
        # the task's downloads index): neither reads every row the filters pass
        found = _rows(cat, q)
        if len(found) < wanted:
            seen = {r["id"] for r in found}
            for r in _rows(cat, dataclasses.replace(q, sort="downloads", walk="downloads")):
                if r["id"] not in seen and len(found) < wanted:
                    found.append(r)
                    seen.add(r["id"])
        more = {row[0]: row[1:] for row in cat.conn.execute(
            f"SELECT id, record_hash, source_version, input_size, num_classes FROM models WHERE id IN "
            f"({', '.join('?' * len(found))})", [r["id"] for r in found])} if found else {}
    for r in found:
        r["record_hash"], r["source_version"], r["input_size"], r["num_classes"] = more.get(r["id"], (None,) * 4)
    one_per_entity: dict[str, dict] = {}
    for r in found:
        entity = r["entity_id"] or r["id"]
        if entity not in one_per_entity or r["id"] == entity:  # the entity's own row where it matches
            one_per_entity[entity] = r
    ranked = sorted(one_per_entity.values(), key=lambda r: (-score_terms(r, samples)["score"], r["id"]))
    candidates, dropped = [], []
    kept, measured = _read_measures(), 0
    for r in ranked[:shortlist]:
        if len(candidates) >= limit:
            break
        key = _measure_key(r, strategy, num_classes)
        m = _from_profile(r, strategy, num_classes) or kept.get(key)
        if not isinstance(m, dict) or "trainable_params" not in m:
            try:
                m = measure(r, strategy, num_classes, path)
            except Exception as e:  # noqa: BLE001 - a row the loader cannot build here: said, skipped, tried again next time
                dropped.append({"id": r["id"], "why": "cannot be built to measure: "
                                + (str(e).splitlines()[0][:200] if str(e) else type(e).__name__)})
                continue
            kept[key] = m
            measured += 1
        mem = memory_estimate(m["total_params"], m["trainable_params"], m["activation_bytes_per_sample"], batch_size,
                              m.get("peak_fp32"))
        fits = None if gpu_memory is None else mem["amp_gb"] + MARGIN_GB <= gpu_memory
        if fits is False:
            dropped.append({"id": r["id"], "why": f"needs about {mem['amp_gb']:.1f} GB with AMP at batch "
                                                  f"{batch_size} (+{MARGIN_GB} GB margin): over {gpu_memory:g} GB"})
            continue
        head_lr, backbone_lr = learning_rates(r)
        terms = score_terms(r, samples)
        top1 = r.get("imagenet_top1")
        why = [f"{r['task']}", f"{r['license']} ({r['license_family']})",
               f"{(r['size_bytes'] or 0) / 1e6:,.1f} MB" + (" (estimated)" if r.get("size_is_estimate") else ""),
               f"ImageNet top-1 {top1:.2f}" if isinstance(top1, (int, float)) else "no known accuracy (counted as "
               f"{table()['score']['unknown_accuracy']:.0%})"]
        if mem["activations_gb"] is None:
            why.append("activations not measured (the meta device cannot run its forward): memory is a lower bound")
        candidates.append({
            "id": r["id"], "strategy": strategy.strategy,
            "trainable_stages": strategy.trainable_stages if strategy.strategy == "partial" else None,
            "total_params": m["total_params"], "trainable_params": m["trainable_params"],
            "memory_gb": mem["amp_gb"], "memory": mem, "fits": fits, "batch_size": batch_size,
            "input_size": m["input_size"], "measured": m.get("measured") or "built",
            "size_mb": round((r["size_bytes"] or 0) / 1e6, 1),
            "imagenet_top1": top1, "license": r["license"], "license_family": r["license_family"],
            "downloads": r.get("downloads"), "score": terms["score"], "score_terms": terms,
            "head_lr": head_lr, "backbone_lr": backbone_lr,
            "load": _load_line(r["id"], num_classes, strategy, head_lr, backbone_lr),
            "why": "; ".join(why),
        })
    if measured:
        _write_measures(kept)
    pareto_front(candidates)
    scored = None
    if sample is not None:
        hashes = {r["id"]: r.get("record_hash") for r in found}
        scored = _score_on_data(candidates, sample, hashes, path, progress)
    return {
        "strategy": {**dataclasses.asdict(strategy), "samples": samples, "domain": domain,
                     "domain_defaulted": domain == "similar"},
        "filters": {"task": task, "max_mb": max_mb, "open": open_only, "license_family": license_family,
                    "dataset": dataset, "gpu_memory_gb": gpu_memory, "batch_size": batch_size,
                    "num_classes": num_classes},
        "score": "accuracy (ImageNet top-1 / 100, else a stated default) - size weight x log10(MB) "
                 "+ popularity weight x log10(1 + downloads) (schema/strategies.yml)",
        "memory": memory_estimate.__doc__.split("\n\n", 1)[1].strip(),
        "candidates": candidates,
        "dropped": dropped,
        **({"data": scored} if scored is not None else {}),
    }


def pareto_front(candidates: list[dict]) -> None:
    """Marks each candidate `pareto` (no other candidate is at least as accurate, as small and as
    light on memory, and better in one) or names the first that dominates it (`dominated_by`), and
    says so in `why`. An unknown accuracy counts as the lowest."""
    def key(c):
        top1 = c.get("imagenet_top1")
        return (top1 if isinstance(top1, (int, float)) else float("-inf")), c["size_mb"], c["memory_gb"]

    for c in candidates:
        acc, size, mem = key(c)
        dom = next((o for o in candidates if o is not c and key(o) != key(c) and key(o)[0] >= acc
                    and key(o)[1] <= size and key(o)[2] <= mem), None)
        c["pareto"] = dom is None
        c["dominated_by"] = dom["id"] if dom else None
        c["why"] += ("; on the front of accuracy, size and memory among these candidates" if dom is None else
                     f"; {dom['id']} is as accurate or more, as small and as light or more")


def _score_on_data(candidates: list[dict], sample, hashes: dict, db: Path,
                   progress: Callable[[int, int], None] | None) -> dict:
    """Each candidate's LogME on the user's images (its `transfer_score`, None where its weights
    cannot be loaded here, with the reason in `why`), the candidates re-ranked by it; features kept
    in the cache folder by the row's record hash and the images' paths, sizes and times."""
    import numpy as np

    from .loader import load_model
    from .paths import cache_dir
    from .transfer import cached_features, features, folder_key, logme

    images, classes = sample
    labels = np.array([label for _, label in images])
    fkey, total = folder_key(images), len(images) * len(candidates)
    cache = cache_dir() / "recommend" / "features"
    tick = (lambda n: progress(n, total)) if progress else None
    for c in candidates:
        key = {"id": c["id"], "record_hash": hashes.get(c["id"]), "images": fkey, "n": len(images), "v": 1}

        def make(c=c):
            ft = load_model(c["id"], num_classes=None, strategy="feature-extraction", db=db)
            return features(ft, images, progress=tick)

        try:
            f, was_kept = cached_features(cache, key, make)
            if was_kept and tick:
                tick(len(images))
            c["transfer_score"] = round(logme(f, labels), 4)
            c["why"] += f"; LogME {c['transfer_score']:.3f} on {len(images)} of your images ({f.shape[1]} features)"
        except Exception as e:  # noqa: BLE001 - one candidate that cannot be scored here: said, the others go on
            c["transfer_score"] = None
            c["transfer_error"] = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            c["why"] += "; not scored on your images: " + c["transfer_error"]
    candidates.sort(key=lambda c: (c["transfer_score"] is None, -(c["transfer_score"] or 0.0)))
    return {"images": len(images), "classes": classes,
            "score": "LogME (You et al., ICML 2021): the maximized log evidence per image of a Bayesian linear "
                     "model from the features (the classification head's input) to each class, averaged over "
                     "the classes; higher transfers better. Candidates are ranked by it; those it could not "
                     "score come last, in their order."}
