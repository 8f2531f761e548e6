"""A model's training profile: what `modelcat recommend` needs of it, measured once, at refresh time.

For the model load_model builds (the same backend, head and stages), on the meta device:
  * the parameters of each backbone stage (input side first) and of the new head as a function of
    the number of classes K (head(K) = a*K + b: a linear head, however many layers it has);
  * the bytes one sample's forward saves for backward, per stage, at each input size asked for.

One forward with every parameter trainable, the saved tensors (torch.autograd.graph.
saved_tensors_hooks, parameters left out) attributed to the stage whose module was running, and
ops outside any stage to the last stage that ran before them. With stages f.. trainable (the
strategies' first trainable stage f), an op saves for backward only if something upstream of it
requires grad: a stage's ops from stage f on, the head always, an op outside the stages when a
stage at or before it is trainable. So the bytes for any strategy are a sum over that profile:
`indexer.trainprofile.activation_bytes`, equal to a forward measured under that strategy (the tests
check it against recommend.measure) up to ops whose saved tensors depend on which input requires
grad.
"""

from __future__ import annotations

from typing import Any

from ..trainprofile import PROFILE_VERSION  # noqa: E402 - the one version both sides check

EXACT_PARTIALS = (1, 2)  # schema/strategies.yml's trainable_stages for "partial"


def saved_activation(t) -> bool:
    """Whether a tensor saved for backward is memory of its own: not a parameter, nor a view of one
    (a Linear saves its weight transposed: the parameter's own storage)."""
    import torch

    if not isinstance(t, torch.Tensor) or isinstance(t, torch.nn.Parameter):
        return False
    return not isinstance(getattr(t, "_base", None), torch.nn.Parameter)


def _stage_of_modules(model, stages, head: list[str]) -> dict[str, int]:
    """Module name -> the index of the stage that owns all its parameters (head: len(stages))."""
    owner: dict[str, int] = {}
    for i, stage in enumerate(stages):
        for p in stage.params:
            owner[p] = i
    from .tuning import head_param_names

    for p in head_param_names(model, head):
        owner[p] = len(stages)
    found: dict[str, int] = {}
    for name, module in model.named_modules():
        params = [f"{name}.{n}" if name else n for n, _ in module.named_parameters()]
        where = {owner.get(p, -1) for p in params}
        if len(where) == 1 and -1 not in where:
            found[name] = where.pop()
    return found


def _saved_bytes(model, size, batch: int) -> int:
    """Bytes a forward of `batch` samples saves for backward, as the model's parameters are set."""
    import torch

    counted = [0]

    def pack(t):
        if saved_activation(t):
            counted[0] += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(torch.empty((batch, *size), device="meta"))
    return counted[0] // batch


def measure_profile(model, head: list[str], stages, input_sizes: list[tuple[int, ...]],
                    exact_partials: tuple[int, ...] = EXACT_PARTIALS) -> dict[str, Any]:
    """The profile of a built model (on meta; left trainable and in train mode). `exact_partials`:
    the trainable stage counts of 'partial' measured by a forward of their own (the strategies'
    table asks 1 and 2): a parameter-free op at the start of the first trainable stage (a ResNet-D
    shortcut's average pool) saves its input only when something before it trains, which the
    per-stage sum cannot tell."""
    import torch

    from .tuning import head_param_names

    head_params = head_param_names(model, head)
    named = dict(model.named_parameters())
    stage_params = [sum(named[p].numel() for p in s.params if p in named) for s in stages]
    head_count = sum(named[p].numel() for p in head_params)
    other = sum(p.numel() for n, p in named.items()) - sum(stage_params) - head_count
    owners = _stage_of_modules(model, stages, head)
    n = len(stages)
    acts: dict[str, list[int] | None] = {}
    exact: dict[str, dict[str, int | None]] = {}
    batch = 1
    for p in model.parameters():
        p.requires_grad_(True)
    model.train()
    for size in input_sizes:
        stack: list[int | None] = []
        last_stage = [-1]
        per = [0] * (n + 1)  # per stage, then the head
        outside = [0] * (n + 2)  # ops outside any stage, by the last stage (n: the head) that ran before them, +1

        def pre(module, _args, name):
            idx = owners.get(name)
            stack.append(idx if idx is not None else (stack[-1] if stack else None))
            if idx is not None:
                last_stage[0] = max(last_stage[0], idx)

        def post(module, _args, _out):
            stack.pop()

        hooks = []
        for name, module in model.named_modules():
            hooks.append(module.register_forward_pre_hook(lambda m, a, name=name: pre(m, a, name)))
            hooks.append(module.register_forward_hook(post))

        def pack(t):
            if saved_activation(t):
                size_bytes = t.numel() * t.element_size()
                where = stack[-1] if stack else None
                if where is not None:
                    per[where] += size_bytes
                else:
                    outside[last_stage[0] + 1] += size_bytes
            return t

        key = "x".join(str(x) for x in size)
        acts[key] = None  # a forward the meta device cannot run: unknown, as recommend says
        try:
            # a batch of one, as recommend measures; a model whose training-mode BatchNorm needs more
            # than one value per channel (a BatchNorm1d on pooled features) at two, halved
            for batch in (1, 2):
                per[:] = [0] * (n + 1)
                outside[:] = [0] * (n + 2)
                stack.clear()
                last_stage[0] = -1
                try:
                    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                        model(torch.empty((batch, *size), device="meta"))
                except ValueError as e:
                    if batch == 1 and "more than 1 value per channel" in str(e):
                        continue
                    raise
                acts[key] = [x // batch for x in per[:n] + [per[n]] + outside]
                break
        except Exception:  # noqa: BLE001
            acts[key] = None
        finally:
            for h in hooks:
                h.remove()
        if acts[key] is None:
            continue
        exact[key] = {}
        for t in exact_partials:
            first = max(0, n - t)
            trainable = head_params | {p for s in stages[first:] for p in s.params}
            for name, param in named.items():
                param.requires_grad_(name in trainable)
            try:
                exact[key][f"partial-{t}"] = _saved_bytes(model, size, batch)
            except Exception:  # noqa: BLE001
                exact[key][f"partial-{t}"] = None
            finally:
                for param in named.values():
                    param.requires_grad_(True)
    return {"version": PROFILE_VERSION, "stages": stage_params, "head": head_count, "other": other, "acts": acts,
            "exact": exact}


def build_profile(name: str, input_sizes: list[tuple[int, ...]]) -> dict[str, Any]:
    """The profile of timm model `name` as load_model builds it (timm backend, a new head), on meta
    with weight init skipped (shapes are all that counts)."""
    from . import timm_backend
    from .base import LoadOptions
    from .fastinit import meta_no_init
    from .tuning import find_stages, head_param_names

    row = {"id": f"timm:{name}", "source": "timm", "name": name, "hf_hub_id": None}
    with meta_no_init():  # building only: the forward runs as usual (its in-place ops too)
        built = timm_backend.build(row, LoadOptions(num_classes=2, pretrained=False))
    model = built.model
    stages = built.stages if built.stages is not None else find_stages(model, built.head)
    profile = measure_profile(model, built.head, stages, input_sizes)
    p2 = sum(p.numel() for n, p in model.named_parameters() if n in head_param_names(model, built.head))
    with meta_no_init():
        model.reset_classifier(3)
    p3 = sum(p.numel() for n, p in model.named_parameters() if n in head_param_names(model, built.head))
    a = p3 - p2  # head(K) = a*K + b
    profile["head_formula"] = [a, p2 - 2 * a]
    return profile
