"""Backbone stages, freezing strategies, BatchNorm handling and parameter groups: the parts of
transfer learning that do not depend on the library a model came from."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

STRATEGIES = ("feature-extraction", "partial", "full")
# a stage holding less than this share of the backbone is merged into its neighbour
_SMALL = 0.01


@dataclass
class Stage:
    name: str  # a module path ("layer4"), or names joined by '+' ("conv1+bn1")
    params: list[str]  # parameter names, in model order


def _under(name: str, prefix: str) -> bool:
    return not prefix or name == prefix or name.startswith(prefix + ".")


def head_param_names(model: nn.Module, head: list[str]) -> set[str]:
    return {n for n, _ in model.named_parameters() if any(_under(n, h) for h in head)}


def stages_from_groups(groups: list[tuple[str, list[str]]], model: nn.Module, head: list[str]) -> list[Stage]:
    """Stages from named groups of parameter names (timm's group_matcher): head parameters
    dropped, empty groups dropped, every backbone parameter in exactly one stage."""
    head_params = head_param_names(model, head)
    seen: set[str] = set()
    stages = []
    for name, params in groups:
        kept = [p for p in params if p not in head_params and p not in seen]
        seen.update(kept)
        if kept:
            stages.append(Stage(name, kept))
    rest = [n for n, _ in model.named_parameters() if n not in head_params and n not in seen]
    if rest:  # parameters no group claimed join the first stage
        if stages:
            stages[0].params[:0] = rest
        else:
            stages.append(Stage("backbone", rest))
    return _merge_small(stages, model)


def find_stages(model: nn.Module, head: list[str]) -> list[Stage]:
    """The backbone's stages, for any model: the children of the shallowest container that
    repeats one kind of block at least three times and holds a quarter of the backbone or more
    (a ResNet's layer1..layer4, a ViT's encoder blocks, a BERT's layers, a ConvNeXt's
    `features`). Parameters before the blocks form a leading "stem" stage; those after them
    (a final norm, a pooler) join the last stage. Without such a container: the model's
    children."""
    head_params = head_param_names(model, head)
    sizes = {n: p.numel() for n, p in model.named_parameters() if n not in head_params}
    order = list(sizes)
    total = sum(sizes.values()) or 1

    totals: dict[str, int] = {"": total}  # every module prefix -> the backbone parameters under it
    for n, v in sizes.items():
        parts = n.split(".")
        for i in range(1, len(parts)):
            key = ".".join(parts[:i])
            totals[key] = totals.get(key, 0) + v
        totals[n] = totals.get(n, 0) + v

    def owned(prefix: str) -> int:
        return totals.get(prefix, 0)

    root_kids, best, best_score = [], None, None
    for name, module in model.named_modules():
        kids, kinds = [], {}
        for k, child in module.named_children():
            path = f"{name}.{k}" if name else k
            if owned(path):
                kids.append(path)
                kinds[type(child)] = kinds.get(type(child), 0) + 1
        if not name:
            root_kids = kids
        repeats = max(kinds.values(), default=0)
        if repeats < 3 or owned(name) / total < 0.25:
            continue
        score = (-(name.count(".") + bool(name)), repeats)
        if best_score is None or score > best_score:
            best, best_score = kids, score
    if best is None:
        best = root_kids
    if not best:
        return [Stage("backbone", order)] if order else []
    stages = [Stage(k, [n for n in order if _under(n, k)]) for k in best]
    inside = {n for s in stages for n in s.params}
    first = order.index(stages[0].params[0])
    before = [n for n in order[:first] if n not in inside]
    after = [n for n in order[first:] if n not in inside]
    if before:
        stages.insert(0, Stage("stem", before))
    if after:
        stages[-1].params.extend(after)
    return _merge_small(_attach_norms(stages, model), model)


_NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def _attach_norms(stages: list[Stage], model: nn.Module) -> list[Stage]:
    """A stage that is only a normalization layer (a flat conv, norm, conv, norm ... model) joins
    the stage before it: a conv and its norm train together."""
    norms = {name for name, m in model.named_modules() if isinstance(m, _NORMS)}
    out: list[Stage] = []
    for s in stages:
        if out and all(p.rpartition(".")[0] in norms for p in s.params):
            out[-1] = Stage(f"{out[-1].name}+{s.name}", out[-1].params + s.params)
        else:
            out.append(s)
    return out


def _merge_small(stages: list[Stage], model: nn.Module) -> list[Stage]:
    """Leading tiny stages become one stem; a tiny last stage (a final norm) joins the one before."""
    if len(stages) < 2:
        return stages
    sizes = dict((n, p.numel()) for n, p in model.named_parameters())
    total = sum(sizes[n] for s in stages for n in s.params) or 1

    def small(s: Stage) -> bool:
        return sum(sizes[n] for n in s.params) / total < _SMALL

    while len(stages) > 2 and small(stages[0]) and small(stages[1]):
        a, b = stages[0], stages[1]
        stages[0:2] = [Stage(f"{a.name}+{b.name}", a.params + b.params)]
    if len(stages) > 1 and small(stages[-1]):
        last = stages.pop()
        stages[-1] = Stage(f"{stages[-1].name}+{last.name}", stages[-1].params + last.params)
    return stages


# ---------------------------------------------------------------------- BatchNorm of frozen parts
def _stay_in_eval(module: nn.Module, args) -> None:
    """Forward pre-hook on a frozen BatchNorm: normalize with the pretrained running statistics
    and never update them, even after model.train(). (A module-level function: picklable.)"""
    module.training = False


class FreezeState:
    """Which stages are trainable; keeps frozen BatchNorm layers in eval mode."""

    def __init__(self, model: nn.Module, head: list[str], stages: list[Stage], first_trainable: int,
                 freeze_bn: bool = True):
        self.model = model
        self.head = head
        self.stages = stages
        self.first_trainable = first_trainable
        self.freeze_bn = freeze_bn
        self._hooks: dict[str, torch.utils.hooks.RemovableHandle] = {}
        self._apply()

    def trainable_stage(self, i: int) -> bool:
        return i >= self.first_trainable

    def _apply(self) -> None:
        params = dict(self.model.named_parameters())
        head_params = head_param_names(self.model, self.head)
        for n in head_params:
            params[n].requires_grad_(True)
        for i, stage in enumerate(self.stages):
            for n in stage.params:
                params[n].requires_grad_(self.trainable_stage(i))
        self._lock_batchnorm()

    def _lock_batchnorm(self) -> None:
        for name, module in self.model.named_modules():
            if not isinstance(module, nn.modules.batchnorm._BatchNorm):
                continue
            own = list(module.parameters(recurse=False))
            frozen = all(not p.requires_grad for p in own) if own else self.first_trainable >= len(self.stages)
            if frozen and self.freeze_bn and name not in self._hooks:
                self._hooks[name] = module.register_forward_pre_hook(_stay_in_eval)
                module.eval()
            elif not frozen and name in self._hooks:
                self._hooks.pop(name).remove()

    def unfreeze_next(self) -> Stage | None:
        if self.first_trainable <= 0:
            return None
        self.first_trainable -= 1
        self._apply()
        return self.stages[self.first_trainable]

    @property
    def frozen_batchnorm(self) -> list[str]:
        return sorted(self._hooks)


def first_trainable(strategy: str, n_stages: int, trainable_stages: int) -> int:
    if strategy == "feature-extraction":
        return n_stages
    if strategy == "full":
        return 0
    if strategy == "partial":
        if trainable_stages < 1:
            raise ValueError("trainable_stages must be at least 1 for strategy 'partial' "
                             "(use strategy='feature-extraction' to train the head only)")
        return max(0, n_stages - trainable_stages)
    raise ValueError(f"unknown strategy {strategy!r}: choose from {', '.join(STRATEGIES)}")


# ---------------------------------------------------------------------- parameter groups
def _no_decay(name: str, p: torch.Tensor, skip: set[str]) -> bool:
    return p.ndim <= 1 or name.endswith(".bias") or name in skip or name.split(".")[-1] in skip


def param_groups(model: nn.Module, head: list[str], stages: list[Stage], first: int, *, head_lr: float,
                 backbone_lr: float, lr_decay: float = 1.0, weight_decay: float | None = None) -> list[dict]:
    """Optimizer groups, ready for torch.optim.AdamW(groups): the head at head_lr, each trainable
    stage at backbone_lr (times lr_decay for every stage further from the head), frozen
    parameters in none. With weight_decay, biases and norm weights get none."""
    params = dict(model.named_parameters())
    skip = set()
    if weight_decay is not None and hasattr(model, "no_weight_decay"):
        try:
            skip = set(model.no_weight_decay())
        except Exception:  # noqa: BLE001 - a model's own helper; without it every matrix decays
            skip = set()
    named = [("head", sorted(head_param_names(model, head), key=list(params).index), head_lr)]
    last = len(stages) - 1
    for i in range(last, first - 1, -1):
        named.append((stages[i].name, stages[i].params, backbone_lr * lr_decay ** (last - i)))
    groups = []
    for name, names, lr in named:
        names = [n for n in names if params[n].requires_grad]
        if not names:
            continue
        if weight_decay is None:
            groups.append({"name": name, "params": [params[n] for n in names], "lr": lr})
            continue
        decay = [params[n] for n in names if not _no_decay(n, params[n], skip)]
        plain = [params[n] for n in names if _no_decay(n, params[n], skip)]
        if decay:
            groups.append({"name": name, "params": decay, "lr": lr, "weight_decay": weight_decay})
        if plain:
            groups.append({"name": f"{name} (no decay)", "params": plain, "lr": lr, "weight_decay": 0.0})
    return groups
