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
    """Install the shim if needed. Returns True when the shim is in use. Installs torchaudio's too
    (ensure_torchaudio_importable): whatever imports torch libraries here may import torchaudio
    (transformers' audio processors do when it is installed)."""
    global _shim_library
    ensure_torchaudio_importable()
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


# ---------------------------------------------------------------------------- torchaudio
# The PyPI torchaudio wheels are built against one torch release each; on another (torchaudio 2.11
# with torch 2.13.0+cpu, measured) `import torchaudio` dies loading its compiled library
# (`OSError: Could not load this library: .../_torchaudio.abi3.so`, in torchaudio/_extension).
# torchaudio itself treats a library it cannot find as absent (`_load_lib` returns False: the
# pure-Python models, pipelines and transforms work; forced alignment, the RNN-T loss and the CTC
# decoder do not). The shim makes a library that is there but does not load count as absent too,
# and only then: where it loads, nothing changes.
_torchaudio_shimmed = False


class _TorchaudioLibFinder:
    """A meta-path finder for torchaudio._extension.utils: the real module, its _load_lib wrapped."""

    name = "torchaudio._extension.utils"

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        real_exec = spec.loader.exec_module

        def exec_module(module):
            real_exec(module)
            load = module._load_lib

            def _load_lib(lib: str) -> bool:
                try:
                    return load(lib)
                except OSError as e:  # there, built for another torch: treated as absent
                    module._LG.info("torchaudio's %s does not load with this torch (%s): the compiled ops "
                                    "are unavailable, the pure-Python models work", lib, e)
                    return False

            module._load_lib = _load_lib

        spec.loader.exec_module = exec_module
        return spec


def ensure_torchaudio_importable() -> bool:
    """Install the shim before torchaudio is first imported. True when it is in place (it acts
    only if the compiled library fails to load)."""
    global _torchaudio_shimmed
    import sys

    if _torchaudio_shimmed:
        return True
    if "torchaudio" in sys.modules:
        return False
    sys.meta_path.insert(0, _TorchaudioLibFinder())
    _torchaudio_shimmed = True
    return True


def torchaudio_ops_available() -> bool:
    """True when torchaudio's compiled extension loaded (import torchaudio first)."""
    import sys

    ext = sys.modules.get("torchaudio._extension")
    return bool(getattr(ext, "_IS_TORCHAUDIO_EXT_AVAILABLE", False))
