"""What a loader backend returns, the options it gets, and helpers the backends share."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import pickle
import socket
import threading
import time
from urllib.error import URLError
from urllib.parse import urlsplit
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..errors import LoadError, NotLoadable, UnsafeWeights, WeightsUnavailable
from ..normalize.tables import load_table
from .tuning import Stage

log = logging.getLogger("modelcat.loader")


@dataclass
class LoadOptions:
    num_classes: int | None = None
    pretrained: bool = True
    trust_repo: bool = False  # torch.hub: run the repository's hubconf.py
    trust_remote_code: bool = False  # transformers: run the repository's modeling code
    revision: str | None = None  # a Hub branch, tag or commit (default: the repository's main)
    head: list[str] | None = None  # module names of the head, when the user names them


@dataclass
class Built:
    """A backend's result: the model with its head set for num_classes, before freezing."""

    model: nn.Module
    head: list[str]  # module names of the classification head (replaced when num_classes was given)
    stages: list[Stage] | None = None  # the library's own stage grouping; None: tuning.find_stages
    preprocess: dict = field(default_factory=dict)  # what the library says (input_size, mean, std, ...)
    transform: Any = None  # eval-time transform, when the library offers one
    train_transform: Any = None
    processor: Any = None  # transformers: the image processor / tokenizer / feature extractor
    head_reset: bool = False  # the head was replaced and re-initialized for num_classes
    notes: list[str] = field(default_factory=list)


def trusted_repos() -> set[str]:
    """`owner/repo` names the user allows torch.hub to run code from: MODELCAT_TRUSTED_REPOS
    (comma- or space-separated), lower case."""
    raw = os.environ.get("MODELCAT_TRUSTED_REPOS", "")
    return {x.strip().lower() for x in raw.replace(",", " ").split() if x.strip()}


@functools.lru_cache(maxsize=1)
def torchvision_heads() -> dict[str, list[str]]:
    return {k: list(v) for k, v in load_table("heads")["torchvision"].items()}


def torchvision_head(builder: str) -> list[str] | None:
    """Head layer paths of a torchvision builder ('name?' = present in some configurations)."""
    table = torchvision_heads()
    key = max((k for k in table if builder.startswith(k)), key=len, default=None)
    return table[key] if key else None


def get_submodule(model: nn.Module, path: str) -> nn.Module | None:
    try:
        return model.get_submodule(path)
    except AttributeError:
        return None


def _set_submodule(model: nn.Module, path: str, new: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    owner = model.get_submodule(parent) if parent else model
    if isinstance(owner, (nn.Sequential, nn.ModuleList)) and name.isdigit():
        owner[int(name)] = new
    else:
        setattr(owner, name, new)


def outputs(layer: nn.Module) -> int | None:
    if isinstance(layer, nn.Linear):
        return layer.out_features
    if isinstance(layer, nn.modules.conv._ConvNd):
        return layer.out_channels
    return None


def replace_layer(model: nn.Module, path: str, num_classes: int, expect: int | None, what: str) -> None:
    """Swap the Linear/Conv layer at `path` for a freshly initialized one with num_classes
    outputs. `expect`: the outputs the old layer must have (the weights' class count), so a
    wrong path fails instead of silently replacing another layer."""
    old = get_submodule(model, path)
    if old is None:
        raise LoadError(f"{what}: there is no layer {path!r} to replace (pass head=[...] with the "
                        "classifier's module names)")
    have = outputs(old)
    if have is None:
        raise LoadError(f"{what}: {path!r} is a {type(old).__name__}, not a Linear or Conv layer; "
                        "pass head=[...] with the classifier's module names")
    if expect is not None and have != expect:
        raise LoadError(f"{what}: {path!r} has {have} outputs, not the {expect} classes of the weights; "
                        "pass head=[...] with the classifier's module names")
    bias = old.bias is not None
    ref = old.weight
    if isinstance(old, nn.Linear):
        new = nn.Linear(old.in_features, num_classes, bias=bias, device=ref.device, dtype=ref.dtype)
    else:
        new = type(old)(old.in_channels, num_classes, kernel_size=old.kernel_size, stride=old.stride,
                        padding=old.padding, dilation=old.dilation, groups=1, bias=bias,
                        device=ref.device, dtype=ref.dtype)
    _set_submodule(model, path, new)


def last_classifier(model: nn.Module, num_classes: int | None, what: str) -> list[str]:
    """The head of a model nobody described: its last Linear/Conv layer, accepted only when it is
    the model's last layer with parameters and (when the catalog knows the class count) has
    exactly that many outputs. Anything else is an error asking for head=[...]."""
    layers = [(n, m) for n, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))]
    if not layers:
        raise LoadError(f"{what}: the model has no parameters")
    name, layer = layers[-1]
    out = outputs(layer)
    if out is None or (num_classes is not None and out != num_classes):
        want = f" with {num_classes} outputs" if num_classes is not None else ""
        raise LoadError(f"{what}: cannot tell which layer is the classifier (the last layer, {name!r}, is "
                        f"a {type(layer).__name__}{' with ' + str(out) + ' outputs' if out else ''}, not a "
                        f"Linear/Conv layer{want}); pass head=[...] with the classifier's module names")
    return [name]


def _chain(e: BaseException | None):
    """An exception and the ones it was raised from (libraries wrap each other's errors)."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def unsafe_pickle(e: BaseException) -> bool:
    """torch.load(weights_only=True) refusing a pickle (it raises UnpicklingError)."""
    return any(isinstance(x, pickle.UnpicklingError) or "Weights only load failed" in str(x) for x in _chain(e))


def hub_error(e: BaseException, what: str, repo: str) -> LoadError | None:
    """huggingface_hub's download errors as ours, with what to do; None: not one of them."""
    from huggingface_hub import constants
    from huggingface_hub import errors as hf

    if isinstance(e, hf.GatedRepoError):
        return WeightsUnavailable(f"{what}: {repo} is gated: request access at "
                                  f"{constants.ENDPOINT}/{repo}, then set HF_TOKEN (or run `hf auth login`)")
    if isinstance(e, hf.RepositoryNotFoundError):
        return WeightsUnavailable(f"{what}: the Hub has no repository {repo} (it may be private or removed: "
                                  "set HF_TOKEN for a private one, or run `modelcat refresh`)")
    if isinstance(e, hf.RevisionNotFoundError):
        return WeightsUnavailable(f"{what}: {repo} has no such revision (pass another revision=)")
    if isinstance(e, hf.LocalEntryNotFoundError):
        import os

        if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
            fix = "unset HF_HUB_OFFLINE, or load it once online"
        else:
            fix = (f"check the network (HF_ENDPOINT is {constants.ENDPOINT}), or load it once where the Hub "
                   "can be reached, so the cache (HF_HOME) holds it")
        return WeightsUnavailable(f"{what}: the weights of {repo} are not in the local cache and the Hub "
                                  f"cannot be reached ({fix})")
    if isinstance(e, hf.EntryNotFoundError):
        return WeightsUnavailable(f"{what}: {repo} lacks a file the library needs ({str(e).splitlines()[0]}); "
                                  "the repository may not hold weights this library can read")
    if isinstance(e, hf.HfHubHTTPError):
        return WeightsUnavailable(f"{what}: the Hub answered an error for {repo}: {str(e).splitlines()[0]}")
    return None


def translate(e: BaseException, what: str, repo: str | None = None) -> BaseException:
    """A library's failure as one of our errors where we know what it means."""
    if isinstance(e, LoadError):
        return e
    if unsafe_pickle(e):
        return UnsafeWeights(f"{what}: the weights are a pickle that could run code, and a weights-only load "
                             "refused it. Nothing was executed. Pick a repository with safetensors weights")
    if repo:
        for x in _chain(e):
            err = hub_error(x, what, repo)
            if err is not None:
                return err
    if any(isinstance(x, (URLError, ConnectionError, TimeoutError)) for x in _chain(e)):
        return WeightsUnavailable(f"{what}: the weights could not be downloaded ({str(e).splitlines()[0]}); "
                                  "check the network, or put them in the library's cache (TORCH_HOME / HF_HOME)")
    return e


def not_loadable(row: dict, note: str | None) -> NotLoadable:
    return NotLoadable(f"{row['id']} cannot become a torch model: {note or 'no loader backend for it'}")


@contextlib.contextmanager
def hub_offline_if_unreachable():
    """When the Hub's host does not even resolve (no network), read the local cache only, at once,
    instead of huggingface_hub retrying every file for ~20 s before falling back to the cache.
    Nothing changes when HF_HUB_OFFLINE is set or the Hub resolves."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE or _resolves(constants.ENDPOINT):
        yield False
        return
    log.info("%s does not resolve: using the local cache only (as HF_HUB_OFFLINE=1)", constants.ENDPOINT)
    with _offline_lock:
        saved = constants.HF_HUB_OFFLINE
        constants.HF_HUB_OFFLINE = True
        try:
            yield True
        finally:
            constants.HF_HUB_OFFLINE = saved


_offline_lock = threading.Lock()


_RESOLVED: dict[str, tuple[float, bool]] = {}  # url -> (when, resolves): a lookup per minute at most


def _resolves(url: str) -> bool:
    now = time.monotonic()
    cached = _RESOLVED.get(url)
    if cached and now - cached[0] < 60:
        return cached[1]
    parts = urlsplit(url)
    ok = bool(parts.hostname)
    if ok:
        try:
            socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        except (socket.gaierror, UnicodeError, OSError):
            ok = False
    _RESOLVED[url] = (now, ok)
    return ok
