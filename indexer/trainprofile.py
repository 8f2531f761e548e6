"""Training profiles (indexer/loader/profile.py measures them) turned into what `modelcat recommend`
shows, without torch: the exact parameters and the activation bytes of any strategy and class count.

timm's profiles are measured once per timm version by scripts/timm_profiles.py and shipped in
indexer/data/timm_profiles.json.gz; a row whose library version they were not measured with, or that
they lack, is measured on demand (recommend.measure).
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

PROFILE_VERSION = 1
SNAPSHOT = Path(__file__).resolve().parent / "data" / "timm_profiles.json.gz"


def first_trainable(strategy: str, n_stages: int, trainable_stages: int) -> int:
    """The loader's first trainable stage (loader.tuning.first_trainable, without importing torch)."""
    if strategy == "feature-extraction":
        return n_stages
    if strategy == "full":
        return 0
    return max(0, n_stages - max(1, trainable_stages))


def activation_bytes(acts: list[int] | None, n_stages: int, first: int) -> int | None:
    """Bytes one sample saves for backward with stages first.. trainable (first == n_stages: the
    head only), from a profile's list [stage 0..n-1, head, outside before any stage, outside after
    stage 0, ..., outside after stage n-1, outside after the head]."""
    if acts is None or len(acts) != 2 * n_stages + 3:
        return None
    stages, head, outside = acts[:n_stages], acts[n_stages], acts[n_stages + 1:]
    total = head + sum(stages[first:])
    # an op outside the stages after stage k (outside[k + 1]; k == n_stages: the head) saves when
    # something at or before it trains: a stage from `first` on, or the head
    total += sum(outside[k + 1] for k in range(first, n_stages + 1))
    return total


def from_profile(profile: dict, strategy: str, trainable_stages: int, num_classes: int | None,
                 pretrained_classes: int | None, input_size: list[int] | None) -> dict | None:
    """recommend.measure's answer, from a profile; None where the profile cannot give it."""
    if not isinstance(profile, dict) or profile.get("version") != PROFILE_VERSION:
        return None
    stages, head, other = profile.get("stages"), profile.get("head_formula"), profile.get("other") or 0
    if not isinstance(stages, list) or not isinstance(head, list) or len(head) != 2:
        return None
    k = num_classes if num_classes is not None else pretrained_classes
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        return None
    head_params = head[0] * k + head[1]
    n = len(stages)
    first = first_trainable(strategy, n, trainable_stages)
    total = sum(stages) + head_params + other
    trainable = total if strategy == "full" else head_params + sum(stages[first:])
    key = "x".join(str(x) for x in input_size) if input_size else None
    acts = (profile.get("acts") or {})
    if key not in acts:
        return None
    saved = activation_bytes(acts[key], n, first)
    measured_alone = ((profile.get("exact") or {}).get(key) or {}).get(f"partial-{trainable_stages}") \
        if strategy == "partial" else None
    if isinstance(measured_alone, int):
        saved = measured_alone  # measured by a forward of its own (indexer/loader/profile.py)
    out = {"total_params": total, "trainable_params": trainable, "activation_bytes_per_sample": saved,
           "input_size": list(input_size), "measured": "profile"}
    line = ((profile.get("peaks") or {}).get(key) or {}).get(
        f"partial-{trainable_stages}" if strategy == "partial" else strategy)
    if isinstance(line, list) and len(line) == 2 and all(isinstance(x, int) for x in line):
        out["peak_fp32"] = with_head(line, head_params - (head[0] * PEAK_CLASSES + head[1]))
    return out


PEAK_CLASSES = 2  # the head the profiles' step peaks were emulated with (loader/profile.py step_peaks)


def with_head(line: list[int], more_params: int) -> list[int]:
    """A step-peak line [a, b] (bytes a + b x batch) emulated with one head, for a head with
    `more_params` more parameters: 16 bytes each (its fp32 weight, AdamW's two moments and its
    gradient: the gradient is alive at the peak of a full fine-tuning step, which comes during
    backward, not at a frozen backbone's, which comes in the forward: there the line is 4 bytes a
    parameter over; the tests check it against steps emulated with the other head)."""
    return [line[0] + 16 * more_params, line[1]]


@functools.lru_cache(maxsize=4)
def _snapshot(path: str) -> dict:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError, EOFError):
        return {}
    return data if isinstance(data, dict) and data.get("profile_version") == PROFILE_VERSION else {}


def timm_profile(tag: str, timm_version: str | None, path: Path | None = None) -> dict | None:
    """The shipped profile of timm tag `tag`, when it was measured with this timm version."""
    data = _snapshot(str(path or SNAPSHOT))
    if not data or not timm_version or data.get("timm_version") != timm_version:
        return None
    i = (data.get("tags") or {}).get(tag)
    profiles = data.get("profiles") or []
    return profiles[i] if isinstance(i, int) and 0 <= i < len(profiles) else None
