"""Importing torchvision (and timm, which imports it) on a CPU-only torch.

The PyPI torchvision wheel is a CUDA build; on the CPU torch its compiled ops (`_C`) cannot load,
and `import torchvision` then dies registering fake kernels for ops that do not exist
(`RuntimeError: operator torchvision::nms does not exist`). When, and only when, the compiled
library fails to load, define the two op schemas torchvision's meta registrations expect, so the
import succeeds. Classification models and transforms work; torchvision.ops (nms, roi_align),
detection models and torchvision.io do not. Where the ops load (a matching torch build, e.g. on
a GPU machine), this does nothing.
"""

from __future__ import annotations

import glob
import importlib.util
import os

_shim_library = None  # must stay referenced: dropping it unregisters the schemas


def torchvision_ops_available() -> bool:
    """True when torchvision's compiled ops load in this torch (no shim needed)."""
    import torch

    if hasattr(torch.ops.torchvision, "nms"):
        return True
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.origin:
        return False
    for lib in glob.glob(os.path.join(os.path.dirname(spec.origin), "_C*")):
        try:
            torch.ops.load_library(lib)
            return hasattr(torch.ops.torchvision, "nms")
        except (OSError, RuntimeError):
            return False
    return False


def ensure_torchvision_importable() -> bool:
    """Install the shim if needed. Returns True when the shim is in use."""
    global _shim_library
    if _shim_library is not None:
        return True
    import sys

    if "torchvision" in sys.modules or torchvision_ops_available():
        return False
    import torch

    lib = torch.library.Library("torchvision", "FRAGMENT")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor")
    _shim_library = lib
    return True
