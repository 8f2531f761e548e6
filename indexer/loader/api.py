"""load_model: a catalog id in, a model ready to fine-tune out."""

from __future__ import annotations

import copy
import importlib
import itertools
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CatalogError, NotLoadable
from ..normalize.loadable import loadability
from ..paths import default_db_path
from .base import Built, LoadOptions, not_loadable
from .tuning import STRATEGIES, FreezeState, Stage, find_stages, first_trainable, param_groups

log = logging.getLogger("modelcat.loader")

BACKENDS = {
    "timm": "timm_backend",
    "transformers": "transformers_backend",
    "torchvision": "torchvision_backend",
    "torchhub": "torchhub_backend",
    "openclip": "openclip_backend",
    "torchaudio": "torchaudio_backend",
    "kaggle": "kaggle_backend",
    "ngc": "ngc_backend",
}
_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
           "half": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
PREPROCESS_KEYS = ("input_size", "mean", "std", "interpolation", "crop_pct")


@dataclass
class FineTuneModel:
    """What load_model returns: the model and everything needed to start fine-tuning it."""

    model: nn.Module
    catalog_id: str
    row: dict  # the catalog row it came from (license, size, task, ...)
    backend: str
    device: torch.device
    dtype: torch.dtype
    strategy: str
    num_classes: int | None  # None: the pretrained head was kept
    head: list[str]  # module names of the head
    stages: list[Stage]  # backbone stages, input side first
    preprocess: dict  # input_size, mean, std, interpolation, crop_pct (catalog first, then the library)
    transform: Any = None  # eval-time transform (timm, torchvision), when the library offers one
    train_transform: Any = None
    processor: Any = None  # transformers: image processor / tokenizer
    head_lr: float = 1e-3
    backbone_lr: float = 1e-5
    lr_decay: float = 1.0
    weight_decay: float | None = None
    load_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    _freeze: FreezeState | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ parameters
    @property
    def total_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @property
    def trainable_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    @property
    def trainable_stages(self) -> list[str]:
        return [s.name for i, s in enumerate(self.stages) if self._freeze.trainable_stage(i)]

    @property
    def frozen_batchnorm(self) -> list[str]:
        """BatchNorm layers kept in eval mode (pretrained statistics, never updated)."""
        return self._freeze.frozen_batchnorm

    def param_groups(self) -> list[dict]:
        """Parameter groups for torch.optim.AdamW(groups): the head at head_lr, trainable stages
        at backbone_lr (decayed by lr_decay per stage away from the head), frozen ones absent."""
        return param_groups(self.model, self.head, self.stages, self._freeze.first_trainable,
                            head_lr=self.head_lr, backbone_lr=self.backbone_lr, lr_decay=self.lr_decay,
                            weight_decay=self.weight_decay)

    def unfreeze_next(self, optimizer: torch.optim.Optimizer | None = None) -> str | None:
        """Gradual unfreezing: make the next frozen stage (nearest the head) trainable, and add its
        parameters to `optimizer` as a new group at its learning rate. Returns the stage's name,
        or None when everything is trainable already."""
        stage = self._freeze.unfreeze_next()
        if stage is None:
            return None
        if optimizer is not None:
            i = self._freeze.first_trainable
            lr = self.backbone_lr * self.lr_decay ** (len(self.stages) - 1 - i)
            names = set(stage.params)
            params = [p for n, p in self.model.named_parameters() if n in names and p.requires_grad]
            group = {"name": stage.name, "params": params, "lr": lr}
            if self.weight_decay is not None:
                group["weight_decay"] = self.weight_decay
            optimizer.add_param_group(group)
        return stage.name

    def summary(self) -> str:
        total, trainable = self.total_params, self.trainable_params
        pct = 100.0 * trainable / total if total else 0.0
        head = f"new {self.num_classes}-class head" if self.num_classes is not None else "pretrained head"
        return (f"{self.catalog_id} [{self.backend}] on {self.device} ({str(self.dtype).replace('torch.', '')}): "
                f"{trainable:,} of {total:,} parameters trainable ({pct:.1f}%), strategy {self.strategy}, "
                f"{head} ({', '.join(self.head) or 'none'})")

    def __str__(self) -> str:
        return self.summary()


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device {device!r} is not a torch device: use 'auto', 'cpu', 'cuda' or 'cuda:N'") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: CUDA is not available here (use device='auto' or 'cpu')")
    return dev


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return _DTYPES[str(dtype).lower().replace("torch.", "")]
    except KeyError:
        raise ValueError(f"dtype {dtype!r}: choose from float32, float16, bfloat16") from None


def _content_key(path: Path) -> tuple | None:
    """What identifies the catalog's committed content without opening it: the file's identity,
    size and modification time, and its write-ahead log's size and header (a commit appends to
    the log; a log restarted from the top gets new salts in its header). None: unreadable."""
    try:
        st = os.stat(path)
        key = (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        try:
            with open(f"{path}-wal", "rb") as f:
                wal = (os.fstat(f.fileno()).st_size, f.read(32))
        except FileNotFoundError:
            wal = None
    except OSError:
        return None
    return key + (wal,)


# catalog id -> (content key, row): loading the same model again (a notebook cell run twice, a
# sweep) does not open the catalog again while its content is unchanged
_rows: dict[str, tuple[tuple, dict]] = {}
_ROWS_KEPT = 64


def catalog_row(catalog_id: str, db: str | os.PathLike | None = None) -> dict:
    """The row load_model builds from: a live model row, with a clear error for anything else."""
    path = Path(db) if db else default_db_path()
    if not path.exists():
        raise CatalogError(f"no catalog at {path}: run `modelcat refresh` first (or pass db= / --db)")
    key = _content_key(path)
    cached = _rows.get(catalog_id)
    if key is not None and cached is not None and cached[0] == key:
        return copy.deepcopy(cached[1])
    row = _read_row(catalog_id, path)
    if key is not None and key == _content_key(path):  # unchanged while it was read
        if len(_rows) >= _ROWS_KEPT:
            _rows.pop(next(iter(_rows)))
        _rows[catalog_id] = (key, copy.deepcopy(row))
    return row


def _read_row(catalog_id: str, path: Path) -> dict:
    from ..store import Catalog

    # a connection per call: a lingering read-only one would keep the catalog's -wal file alive
    with Catalog.open(path, readonly=True, create=False) as cat:
        kind, row = cat.require(catalog_id)  # NotFound names similar ids
        if kind == "paper":
            models = [m["id"] for m in row["models"]]
            raise NotLoadable(f"{catalog_id} is a paper, not a model; "
                              + (f"its models: {', '.join(models[:10])}" if models else
                                 "the catalog links no model to it"))
        if kind == "repository":
            repo = row
            hub = cat.hub_entrypoints(repo["full_name"])
            if hub:
                raise NotLoadable(f"{catalog_id} is a code repository; load one of its PyTorch Hub entrypoints: "
                                  + ", ".join(hub[:10]))
            why = "it has no hubconf.py (no PyTorch Hub entrypoints)" if repo.get("has_hubconf") == 0 else \
                "the catalog knows no PyTorch Hub entrypoints of it"
            raise NotLoadable(f"{catalog_id} is a code repository and {why}; its models, if any: "
                              + (", ".join(m["id"] for m in repo["models"][:10]) or "none in the catalog"))
    if row.get("removed_at"):
        log.warning("%s was removed from its source on %s; loading it may fail", row["id"], row["removed_at"])
    return row


def row_backend(row: dict) -> str:
    """The backend the catalog chose at refresh time; computed now for rows written before."""
    if row.get("loadable") is not None:
        ok, backend, note = bool(row["loadable"]), row.get("load_backend"), row.get("load_note")
    else:
        found = loadability(row.get("source"), row.get("library"), row.get("tags") or [], row.get("gated"))
        ok, backend, note = found.loadable, found.backend, found.note
    if not ok or backend not in BACKENDS:
        raise not_loadable(row, note)
    return backend


def load_model(
    catalog_id: str,
    num_classes: int | None = None,
    strategy: str = "partial",
    device: str | torch.device = "auto",
    dtype: str | torch.dtype | None = None,
    *,
    trainable_stages: int = 1,
    head_lr: float = 1e-3,
    backbone_lr: float = 1e-5,
    lr_decay: float = 1.0,
    weight_decay: float | None = None,
    freeze_bn: bool = True,
    pretrained: bool = True,
    trust_repo: bool = False,
    trust_remote_code: bool = False,
    revision: str | None = None,
    head: list[str] | str | None = None,
    db: str | os.PathLike | None = None,
    row: dict | None = None,
) -> FineTuneModel:
    """Build the catalog row `catalog_id` as a torch model ready to fine-tune.

    num_classes: a new, freshly initialized classification head with this many outputs (None keeps
    the pretrained head). strategy: "feature-extraction" (head only), "partial" (the last
    `trainable_stages` backbone stages and the head) or "full". Frozen BatchNorm layers keep their
    pretrained statistics (freeze_bn). The result's param_groups() is ready for
    torch.optim.AdamW; unfreeze_next() unfreezes one more stage (gradual unfreezing).

    Safe by default: weights are read as safetensors or with torch.load(weights_only=True);
    a torch.hub row runs its repository's code only with trust_repo=True (or the repository in
    MODELCAT_TRUSTED_REPOS), a transformers row its modeling code only with trust_remote_code=True.
    Tokens come from the environment (HF_TOKEN); caches are the libraries' own (HF_HOME, TORCH_HOME).
    """
    started = time.perf_counter()
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: choose from {', '.join(STRATEGIES)}")
    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int)
                                    or num_classes < 1):
        raise ValueError(f"num_classes must be a positive integer or None, not {num_classes!r}")
    if trainable_stages < 1:
        raise ValueError("trainable_stages must be at least 1 (strategy='feature-extraction' trains the head only)")
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    if row is None:
        row = catalog_row(catalog_id, db)
    backend = row_backend(row)
    opts = LoadOptions(num_classes=num_classes, pretrained=pretrained, trust_repo=trust_repo,
                       trust_remote_code=trust_remote_code, revision=revision,
                       head=[head] if isinstance(head, str) else head)
    module = importlib.import_module(f".{BACKENDS[backend]}", __package__)
    if backend in ("timm", "transformers", "openclip"):
        from .base import hub_offline_if_unreachable

        with hub_offline_if_unreachable():
            built: Built = module.build(row, opts)
    else:
        built = module.build(row, opts)
    model = built.model
    stages = built.stages if built.stages is not None else find_stages(model, built.head)
    if strategy != "full" and not built.head:
        raise ValueError(f"{row['id']}: strategy {strategy!r} trains the head, and this model has none that "
                         "modelcat can tell; pass num_classes, head=[...], or strategy='full'")
    freeze = FreezeState(model, built.head, stages, first_trainable(strategy, len(stages), trainable_stages),
                         freeze_bn=freeze_bn)
    if any(t.device != dev or (t.is_floating_point() and t.dtype != dt)
           for t in itertools.chain(model.parameters(), model.buffers())):  # .to() walks every module
        model.to(device=dev, dtype=dt)
    model.train()
    pre = {k: row.get(k) for k in PREPROCESS_KEYS if row.get(k) is not None}
    for k, v in built.preprocess.items():
        pre.setdefault(k, v)
    ft = FineTuneModel(
        model=model, catalog_id=row["id"], row=row, backend=backend, device=dev, dtype=dt, strategy=strategy,
        num_classes=num_classes, head=built.head, stages=stages, preprocess=pre, transform=built.transform,
        train_transform=built.train_transform, processor=built.processor, head_lr=head_lr,
        backbone_lr=backbone_lr, lr_decay=lr_decay, weight_decay=weight_decay, notes=built.notes,
        _freeze=freeze,
    )
    ft.load_seconds = time.perf_counter() - started
    if log.isEnabledFor(logging.INFO):
        log.info("%s", ft.summary())
    return ft
