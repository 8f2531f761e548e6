"""What every backend's "loads under every strategy" test checks of a FineTuneModel built from
served files: the backbone holds the served weights, one AdamW step trains exactly what the
strategy says (the head always; frozen parameters unchanged)."""

from __future__ import annotations

import torch


def train_step(ft, x) -> set[str]:
    """One AdamW step on 4 samples of 3 classes; the names of the parameters it trained."""
    y = torch.tensor([0, 1, 2, 0])
    out = ft.model(x)
    logits = out.logits if hasattr(out, "logits") else out
    assert logits.shape == (4, 3)
    trainable = {n for n, p in ft.model.named_parameters() if p.requires_grad}
    before = {n: p.detach().clone() for n, p in ft.model.named_parameters()}
    opt = torch.optim.AdamW(ft.param_groups())
    torch.nn.functional.cross_entropy(logits, y).backward()
    opt.step()
    for n, p in ft.model.named_parameters():
        if n not in trainable:
            assert torch.equal(p.detach(), before[n]), n
    return trainable


def check_strategy(ft, served: dict, strategy: str) -> None:
    state = ft.model.state_dict()
    body = [k for k in served if k in state and not any(k == h or k.startswith(h + ".") for h in ft.head)]
    assert body and all(torch.equal(state[k], served[k]) for k in body)  # the backbone is the served weights
    c, h, w = ft.preprocess["input_size"]
    trainable = train_step(ft, torch.randn(4, c, min(h, 64), min(w, 64)))
    head = {n for n, _ in ft.model.named_parameters() if any(n == x or n.startswith(x + ".") for x in ft.head)}
    assert head and head <= trainable
    if strategy == "feature-extraction":
        assert trainable == head
    elif strategy == "full":
        assert trainable == {n for n, _ in ft.model.named_parameters()}
    else:
        assert head < trainable < {n for n, _ in ft.model.named_parameters()}
