#!/usr/bin/env python3
"""Measure the training profile (indexer/loader/profile.py) of every pretrained tag of the installed
timm, for `modelcat recommend`'s first question: written to indexer/data/timm_profiles.json.gz, read
when the installed timm is the version it was measured with (else recommend measures on demand).

    scripts/timm_profiles.py [--workers N] [--out PATH] [--limit N]
    scripts/timm_profiles.py --only rdnet_tiny.nv_in1k,rdnet_base.nv_in1k   # measure these again, kept beside the rest

Tags that build the same module (architecture, classes, fixed input size, channels: the timm
source's build key) share one profile, measured at every input size their tags use. About 5.5 s
per build group on one core, most of it the training step emulated at two batch sizes for each
strategy (1,285 groups in timm 1.0.31: 61 min with --workers 2 on 2 cores).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _job(args):
    name, sizes = args
    import torch

    torch.set_num_threads(1)
    from indexer.loader.profile import build_profile

    try:
        return name, build_profile(name, [tuple(s) for s in sizes]), None
    except Exception as e:  # noqa: BLE001 - one architecture failing must not sink the others
        return name, None, f"{type(e).__name__}: {e}"[:300]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "indexer" / "data" / "timm_profiles.json.gz")
    ap.add_argument("--limit", type=int, default=None, help="only the first N build groups (a smoke run)")
    ap.add_argument("--only", default=None, help="comma-separated tags: measure their groups again and merge them "
                                                 "into the existing file (same timm version)")
    a = ap.parse_args()

    from indexer.loader.profile import PROFILE_VERSION
    from indexer.sources.timm import _build_key, _import_timm, timm_fingerprint

    timm = _import_timm()
    from timm.models import get_pretrained_cfg

    import torch

    groups: dict[tuple, list[tuple[str, tuple]]] = {}
    for name in timm.list_pretrained():
        cfg = get_pretrained_cfg(name)
        if cfg is None or not cfg.input_size:
            continue
        d = {"architecture": cfg.architecture or name.split(".", 1)[0], "num_classes": cfg.num_classes,
             "input_size": list(cfg.input_size), "fixed_input_size": cfg.fixed_input_size}
        groups.setdefault(_build_key(d), []).append((name, tuple(cfg.input_size)))
    jobs = [(tags[0][0], sorted({s for _, s in tags})) for tags in groups.values()][:a.limit]
    kept = None
    if a.only:
        wanted = {t.strip() for t in a.only.split(",") if t.strip()}
        jobs = [(tags[0][0], sorted({s for _, s in tags})) for tags in groups.values()
                if wanted & {t for t, _ in tags}]
        with gzip.open(a.out, "rt", encoding="utf-8") as f:
            kept = json.load(f)
        if kept.get("timm_version") != timm_fingerprint()[0] or kept.get("profile_version") != PROFILE_VERSION:
            raise SystemExit(f"{a.out} was measured with another timm or profile version: run it whole")
    started = time.perf_counter()
    profiles, errors = [], {}
    index: dict[str, int] = {}
    by_name = {tags[0][0]: tags for tags in groups.values()}
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(a.workers) as pool:
        for i, (name, profile, err) in enumerate(pool.imap_unordered(_job, jobs), 1):
            if profile is None:
                errors[name] = err
            else:
                profiles.append(profile)
                for tag, _ in by_name[name]:
                    index[tag] = len(profiles) - 1
            if i % 50 == 0 or i == len(jobs):
                print(f"{i}/{len(jobs)} groups, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    version, digest = timm_fingerprint()
    if kept is not None:  # merge: the groups measured now replace their old entries and errors
        names = {t for name, _ in jobs for t, _ in by_name[name]}
        old_profiles = kept["profiles"]
        merged_tags = {t: i for t, i in kept["tags"].items() if t not in names}
        for t, i in index.items():
            merged_tags[t] = len(old_profiles) + i
        errors = {**{k: v for k, v in kept.get("errors", {}).items() if k not in names}, **errors}
        profiles = old_profiles + profiles
        index = merged_tags
    out = {"timm_version": version, "timm_digest": digest, "torch_version": torch.__version__,
           "profile_version": PROFILE_VERSION,
           "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "seconds": round(time.perf_counter() - started, 1) + (kept.get("seconds", 0) if kept else 0),
           **({"measured_first_at": kept.get("measured_first_at") or kept.get("measured_at")} if kept else {}),
           "errors": errors,
           "profiles": profiles, "tags": dict(sorted(index.items()))}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(a.out, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"{len(index)} tags, {len(profiles)} profiles, {len(errors)} errors -> {a.out} "
          f"({a.out.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
