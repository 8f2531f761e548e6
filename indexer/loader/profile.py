"""A model's training profile: what `modelcat recommend` needs of it, measured once, at refresh time.

For the model load_model builds (the same backend, head and stages), on the meta device:
  * the parameters of each backbone stage (input side first) and of the new head as a function of
    the number of classes K (head(K) = a*K + b: a linear head, however many layers it has);
  * the bytes one sample's forward saves for backward, per stage, at each input size asked for;
  * the peak bytes of an fp32 training step (AdamW) under each strategy, as a + b x batch, emulated
    on the meta device (LiveBytes: every tensor counted from its making to its storage's freeing).

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
    profile["peaks"] = step_peaks(name, input_sizes)  # with a head of 2 classes, as head_formula's p2
    return profile


# ---------------------------------------------------------------------- a training step, emulated


class LiveBytes:
    """Counts the bytes of the tensors alive while a training step runs on the meta device, as a
    GPU's caching allocator counts what is allocated (torch.cuda.memory_allocated): every tensor an
    operation returns (views and in-place results share their storage: counted once) until the last
    tensor of its storage is freed (PyTorch keeps a tensor's Python object while autograd's graph
    holds it, so a saved activation stays counted until backward frees it). `peak` is the most alive
    at once. An emulation: no allocator rounding, no cuBLAS or cuDNN workspace, no autocast."""

    def __init__(self):
        from torch.utils._python_dispatch import TorchDispatchMode

        outer = self

        class _Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                from torch.utils._pytree import tree_flatten

                out = func(*args, **(kwargs or {}))
                for t in tree_flatten(out)[0]:
                    outer.add(t)
                return out

        self.mode = _Mode()
        self.storages: dict[int, list] = {}  # the storage's C pointer -> [bytes, ids of the tensors alive on it]
        self.live = 0
        self.peak = 0

    def add(self, t) -> None:
        import weakref

        import torch

        if not isinstance(t, torch.Tensor):
            return
        storage = t.untyped_storage()
        key = storage._cdata
        entry = self.storages.get(key)
        if entry is None:
            entry = self.storages[key] = [storage.nbytes(), set()]
            self.live += entry[0]
            self.peak = max(self.peak, self.live)
        if id(t) not in entry[1]:
            entry[1].add(id(t))
            weakref.finalize(t, self._drop, key, id(t))

    def _drop(self, key: int, tid: int) -> None:
        entry = self.storages.get(key)
        if entry is not None:
            entry[1].discard(tid)
            if not entry[1]:
                self.live -= entry[0]
                del self.storages[key]


def train_step(model, optimizer, images, labels, amp: bool = False):
    """One step as a fine-tuning loop runs it: forward (bf16 autocast with AMP), cross-entropy,
    backward, AdamW, gradients set to None. The loss, detached."""
    import torch

    if amp:
        with torch.autocast(device_type=images.device.type, dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(model(images), labels)
    else:  # no autocast context at all (the meta device has none)
        loss = torch.nn.functional.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def _counting(ft):
    """(LiveBytes counting the model's weights and buffers from the start, as
    torch.cuda.max_memory_allocated counts from before the build; AdamW on its param_groups())."""
    import torch

    live = LiveBytes()
    for t in [*ft.model.parameters(), *ft.model.buffers()]:
        live.add(t)
    return live, torch.optim.AdamW(ft.param_groups(), foreach=False)


def _meta_batch(input_shape: tuple[int, ...], batch_size: int):
    """A batch of images and labels on the meta device (made inside LiveBytes' mode: counted)."""
    import torch

    return (torch.empty((batch_size, *input_shape), device="meta"),
            torch.zeros((batch_size,), dtype=torch.long, device="meta"))


def emulate_step(ft, input_shape: tuple[int, ...], batch_size: int) -> dict[str, int]:
    """Bytes alive at the peak of a first and of a second fp32 training step (AdamW on the model's
    param_groups(), the batch and its labels counted) of a FineTuneModel built on the meta device,
    counted by LiveBytes from its weights and buffers on; and what is alive after them."""
    live, optimizer = _counting(ft)
    with live.mode:
        images, labels = _meta_batch(input_shape, batch_size)
        train_step(ft.model, optimizer, images, labels)
        first, live.peak = live.peak, live.live
        train_step(ft.model, optimizer, images, labels)
        steady, after = live.peak, live.live
    return {"first_step_bytes": first, "steady_bytes": steady, "after_step_bytes": after,
            "input_bytes": images.numel() * images.element_size() + labels.numel() * labels.element_size(),
            "trainable_params": sum(p.numel() for p in ft.model.parameters() if p.requires_grad)}


def steady_peak(ft, input_shape: tuple[int, ...], batch_size: int) -> int:
    """emulate_step's steady_bytes with one step instead of two: AdamW's state (its moments and step
    counts) made first by a step on zero gradients, then one training step, counted."""
    import torch

    live, optimizer = _counting(ft)
    with live.mode:
        for p in ft.model.parameters():
            if p.requires_grad:
                p.grad = torch.zeros_like(p)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        live.peak = live.live
        train_step(ft.model, optimizer, *_meta_batch(input_shape, batch_size))
    return live.peak


STEP_BATCHES = (8, 16)  # the fp32 step's peak is a + b x batch: measured at two batch sizes
STEP_STRATEGIES = (("feature-extraction", 1), ("partial", 1), ("partial", 2), ("full", 1))


def peak_line(ft, input_shape: tuple[int, ...]) -> list[int]:
    """[a, b]: the emulated fp32 training step's peak bytes at batch B are a + b x B (from the steady
    peaks at STEP_BATCHES; b is what one more sample costs at the peak, a what does not grow with
    the batch: the weights, AdamW's state, gradients where they are alive at the peak)."""
    lo, hi = STEP_BATCHES
    p_lo, p_hi = steady_peak(ft, input_shape, lo), steady_peak(ft, input_shape, hi)
    b = max(0, round((p_hi - p_lo) / (hi - lo)))
    return [p_hi - b * hi, b]


def step_peaks(name: str, input_sizes: list[tuple[int, ...]], num_classes: int = 2) -> dict[str, dict]:
    """{input size "3x224x224": {"feature-extraction" | "partial-1" | "partial-2" | "full": [a, b] or
    None}}: peak_line of timm model `name` built as load_model builds it for each strategy (a new head
    of num_classes), on the meta device."""
    import torch

    from .api import load_model

    row = {"id": f"timm:{name}", "source": "timm", "name": name, "hf_hub_id": None, "library": "timm",
           "loadable": 1, "load_backend": "timm", "tags": []}
    out: dict[str, dict] = {"x".join(str(x) for x in size): {} for size in input_sizes}
    for strategy, stages in STEP_STRATEGIES:
        key = f"partial-{stages}" if strategy == "partial" else strategy
        # not meta_no_init: it would skip load_model's requires_grad_(False) of the frozen stages
        with torch.device("meta"):
            ft = load_model(row["id"], row=row, num_classes=num_classes, strategy=strategy,
                            trainable_stages=stages, device="meta", pretrained=False)
        for size in input_sizes:
            skey = "x".join(str(x) for x in size)
            try:
                out[skey][key] = peak_line(ft, tuple(size))
            except Exception:  # noqa: BLE001 - a forward the meta device cannot run: unknown, as for acts
                out[skey][key] = None
    return out
