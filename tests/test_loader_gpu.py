"""The loader on a GPU: load, move to CUDA, a few fine-tuning steps with automatic mixed precision.
Skipped where CUDA is not available; run it on a GPU machine with
`scripts/test.sh tests/test_loader_gpu.py -s` (it prints the load and step times)."""

from __future__ import annotations

import time

import pytest
import torch

from indexer.loader import load_model
from replay import models as M

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("cid, kwargs", [
    (f"timm:{M.TIMM_TAG}", {}),
    (f"hf:{M.VIT_REPO}", {}),
    (f"torchvision:{M.TV_BUILDER}.{M.TV_WEIGHTS}", {}),
    (f"torchhub:{M.HUB_REPO}:tinynet", {"trust_repo": True}),
])
def test_fine_tuning_steps_on_the_gpu_with_amp(loader_env, cid, kwargs):
    started = time.perf_counter()
    ft = load_model(cid, num_classes=4, strategy="partial", device="auto", **kwargs)
    torch.cuda.synchronize()
    load_s = time.perf_counter() - started
    assert ft.device.type == "cuda"
    assert all(p.is_cuda for p in ft.model.parameters())
    c, h, w = ft.preprocess["input_size"]
    torch.manual_seed(0)
    x = torch.randn(32, c, h, w, device="cuda")
    y = (x.mean(dim=(1, 2, 3)) > 0).long() + 2 * (x[:, 0].mean(dim=(1, 2)) > 0).long()
    opt = torch.optim.AdamW(ft.param_groups())
    scaler = torch.amp.GradScaler("cuda")
    losses, times = [], []
    for _ in range(30):
        t = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.float16):
            out = ft.model(x)
            logits = out.logits if hasattr(out, "logits") else out
            loss = torch.nn.functional.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-5:]) < sum(losses[:5]), losses
    step_ms = sorted(times[5:])[len(times[5:]) // 2] * 1000
    print(f"\n{cid}: load {load_s:.2f} s on {torch.cuda.get_device_name()}, "
          f"median AMP step {step_ms:.1f} ms (batch 32), loss {losses[0]:.3f} -> {losses[-1]:.3f}")
