"""fastinit: building without the initialization a checkpoint overwrites, and completing
exactly what the checkpoint did not cover."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from indexer.loader.fastinit import build_fast, complete, skipped_init


def make() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 5))


def poison(model: nn.Module) -> None:
    """What skipped initialization may leave: garbage (NaN here, so a test can see it)."""
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            if t.is_floating_point():
                t.fill_(float("nan"))


def finite(model: nn.Module) -> bool:
    return all(torch.isfinite(t).all() for t in [*model.parameters(), *model.buffers()] if t.is_floating_point())


@pytest.fixture
def checkpoint():
    torch.manual_seed(0)
    return make().state_dict()


def test_initializers_are_skipped_inside_and_restored_after():
    with skipped_init():
        layer = nn.Linear(2, 2)
        with torch.no_grad():
            layer.weight.fill_(7.0)
            nn.init.kaiming_uniform_(layer.weight)
        assert torch.all(layer.weight == 7.0)
    nn.init.kaiming_uniform_(layer.weight)
    assert not torch.all(layer.weight == 7.0)
    assert nn.Module.load_state_dict.__name__ == "load_state_dict"


def test_a_full_checkpoint_needs_nothing_more(checkpoint):
    calls = []

    def build():
        calls.append(1)
        m = make()
        poison(m)
        m.load_state_dict(checkpoint)
        return m

    model = build_fast(build)
    assert len(calls) == 1 and finite(model)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in checkpoint.items())


def test_what_the_checkpoint_lacks_is_initialized(checkpoint):
    partial = {k: v for k, v in checkpoint.items() if not k.startswith("3.")}  # a new head

    def build():
        m = make()
        poison(m)
        m.load_state_dict(partial, strict=False)
        return m

    model = build_fast(build)
    assert finite(model)
    assert torch.equal(model[0].weight, checkpoint["0.weight"])
    assert model[3].weight.abs().sum() > 0


def test_no_load_seen_or_a_partly_loaded_module_means_an_ordinary_build(checkpoint):
    calls = []

    def loads_nothing():
        calls.append(torch.nn.init.kaiming_uniform_.__name__)
        return make()

    model = build_fast(loads_nothing)
    assert calls == ["skipped_kaiming_uniform_", "kaiming_uniform_"] and finite(model)  # built again

    half = {k: v for k, v in checkpoint.items() if k != "3.bias"}  # a module only partly loaded

    def build():
        m = make()
        poison(m)
        m.load_state_dict(half, strict=False)
        return m

    with skipped_init() as record:
        m = build()
    assert complete(m, record) is False
    calls.clear()  # ... so build_fast builds it again the ordinary way (initialized, then loaded)
    rebuilt = build_fast(lambda: (calls.append(1), _load(make(), half))[1])
    assert len(calls) == 2 and finite(rebuilt)


def test_other_threads_still_initialize():
    import threading

    seen = {}

    def other():
        layer = nn.Linear(3, 3)
        with torch.no_grad():
            layer.weight.fill_(7.0)
        nn.init.kaiming_uniform_(layer.weight)
        seen["initialized"] = not torch.all(layer.weight == 7.0)

    with skipped_init():
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert seen == {"initialized": True}


def _load(m, sd):
    m.load_state_dict(sd, strict=False)
    return m
