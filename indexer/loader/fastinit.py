"""Building a model whose weights are about to be loaded without first initializing them.

A library builds a model (random initialization), then overwrites every weight with the
checkpoint's. The initialization is wasted work: for a ResNet-50 on a CPU it is about half of the
load time. transformers already skips it; for timm and torchvision, load_model builds inside
`skipped_init()` and then checks that the checkpoint covered every parameter: whatever it did
not cover is initialized after all (or, where that cannot be done exactly, the model is built
again the ordinary way).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from torch import nn

# torch.nn.init's in-place initializers (what nn.Linear, nn.Conv*, nn.BatchNorm* and most model
# code call from reset_parameters / init_weights)
_INITS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
          "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
          "sparse_")
_lock = threading.Lock()


_owner: int | None = None  # the thread building inside skipped_init(); others initialize as usual


def _skipping(original):
    def init(tensor, *args, **kwargs):
        if threading.get_ident() == _owner:
            return tensor
        return original(tensor, *args, **kwargs)

    init.__name__ = f"skipped_{original.__name__}"
    return init


class LoadRecord:
    """The load_state_dict calls made while building: module -> its missing keys."""

    def __init__(self):
        self.calls: list[tuple[nn.Module, list[str]]] = []

    def missing_for(self, model: nn.Module) -> list[str] | None:
        """The keys the last load into `model` left missing; None: nothing was loaded into it."""
        found = [missing for m, missing in self.calls if m is model]
        return found[-1] if found else None


@contextlib.contextmanager
def skipped_init() -> Iterator[LoadRecord]:
    """Within, in this thread only: torch.nn.init's initializers leave tensors as they are, and
    every Module.load_state_dict call is recorded with its missing keys. Other threads building
    models meanwhile initialize them as usual."""
    record = LoadRecord()
    original_load = nn.Module.load_state_dict

    def recording_load(self, state_dict, strict=True, assign=False):
        result = original_load(self, state_dict, strict=strict, assign=assign)
        if threading.get_ident() == _owner:
            record.calls.append((self, list(result.missing_keys)))
        return result

    global _owner
    with _lock:
        saved = {name: getattr(nn.init, name) for name in _INITS if hasattr(nn.init, name)}
        _owner = threading.get_ident()
        try:
            for name, fn in saved.items():
                setattr(nn.init, name, _skipping(fn))
            nn.Module.load_state_dict = recording_load
            yield record
        finally:
            for name, fn in saved.items():
                setattr(nn.init, name, fn)
            nn.Module.load_state_dict = original_load
            _owner = None


def complete(model: nn.Module, record: LoadRecord) -> bool:
    """After a build in skipped_init(): initialize what the checkpoint did not cover. False when
    that cannot be done exactly (no load into the model seen, or a module only partly loaded
    without its own reset_parameters): the caller then builds the model the ordinary way."""
    missing = record.missing_for(model)
    if missing is None:
        return False
    if not missing:
        return True
    owners: dict[str, list[str]] = {}
    for key in missing:
        module_name, _, _ = key.rpartition(".")
        owners.setdefault(module_name, []).append(key)
    modules = dict(model.named_modules())
    for name, keys in owners.items():
        module = modules.get(name)
        if module is None or not hasattr(module, "reset_parameters"):
            return False
        own = [f"{name}.{k}" if name else k
               for k, _ in [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]]
        if set(own) - set(keys) - {f"{name}.num_batches_tracked" if name else "num_batches_tracked"}:
            return False  # partly loaded: a reset would overwrite loaded values
        module.reset_parameters()
    return True


def build_fast(build: Callable[[], nn.Module]) -> nn.Module:
    """`build()` (which must load pretrained weights) without the wasted initialization, falling
    back to an ordinary build when the result could not be completed exactly."""
    with skipped_init() as record:
        model = build()
    if complete(model, record):
        return model
    return build()


def meta_no_init():
    """A torch function mode: tensors are created on the meta device, in-place ops on meta
    tensors (every weight init) are skipped. Shapes, and so parameter counts, are unchanged."""
    import torch
    from torch.utils._device import DeviceContext, _device_constructors

    constructors = _device_constructors()
    tensor_types = (torch.Tensor, torch.nn.Parameter)

    class MetaNoInit(DeviceContext):
        def __init__(self):
            super().__init__("meta")

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            name = getattr(func, "__name__", "")
            if (name[-1:] == "_" and name[-2:] != "__" and args
                    and type(args[0]) in tensor_types and args[0].is_meta):
                return args[0]
            if func in constructors and kwargs.get("device") is None:
                kwargs["device"] = self.device
            return func(*args, **kwargs)

    return MetaNoInit()
