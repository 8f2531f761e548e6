"""scripts/gpu_memory.py, issue #23's GPU check of the memory estimates, as far as a CPU can run it:
the estimates it compares are recommend's, for the model load_model builds, and the training step it
measures is a real fine-tuning step (frozen layers stay, trainable ones move, in fp32 and with AMP)."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "gpu_memory.py"
MODEL = "timm:resnet18.a1_in1k"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("gpu_memory", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_estimates_are_recommends_for_the_model_load_model_builds(script, tmp_path):
    out = tmp_path / "m.json"
    assert script.main(["--estimate-only", "--models", MODEL, "--batch-size", "8", "--num-classes", "5",
                        "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    by = {r["strategy"]: r["estimate"] for r in report["results"]}
    assert list(by) == ["feature-extraction", "partial", "full"]
    row = script.timm_row(MODEL)
    for strategy, est in by.items():
        ft = script.build(row, strategy, 5, "cpu", None)
        assert est["trainable_params"] == sum(p.numel() for p in ft.model.parameters() if p.requires_grad)
        assert est["total_params"] == sum(p.numel() for p in ft.model.parameters())
        assert est["fp32_gb"] >= est["amp_gb"] > 0
    assert by["feature-extraction"]["fp32_gb"] < by["partial"]["fp32_gb"] < by["full"]["fp32_gb"]
    assert "| timm:resnet18.a1_in1k | full |" in script.table(report)


def test_without_cuda_it_says_so_and_measures_nothing(script, monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert script.main(["--models", MODEL]) == 2
    assert "--estimate-only" in capsys.readouterr().err


@pytest.mark.parametrize("amp", [False, True])
def test_the_measured_step_is_a_fine_tuning_step(script, amp):
    import torch

    torch.manual_seed(0)
    ft = script.build(script.timm_row(MODEL), "partial", 5, "cpu", None)
    frozen = {n: p.detach().clone() for n, p in ft.model.named_parameters() if not p.requires_grad}
    trained = {n: p.detach().clone() for n, p in ft.model.named_parameters() if p.requires_grad}
    assert frozen and trained
    opt = torch.optim.AdamW(ft.param_groups())
    from indexer.loader.profile import train_step

    loss = float(train_step(ft.model, opt, torch.randn(4, 3, 64, 64), torch.randint(0, 5, (4,)), amp))
    assert loss == loss and loss > 0  # finite, not NaN
    params = dict(ft.model.named_parameters())
    assert all(torch.equal(params[n], v) for n, v in frozen.items())
    assert any(not torch.equal(params[n], v) for n, v in trained.items())
    assert all(p.grad is None for p in ft.model.parameters())  # set to None, as the peak assumes


@pytest.mark.parametrize("strategy", ["feature-extraction", "partial", "full"])
def test_the_emulated_step_counts_every_byte_left_alive_and_its_peak_grows_with_the_batch(script, strategy):
    """The meta-device emulation of what a step allocates (LiveBytes): after two AdamW steps exactly
    the weights, buffers, AdamW's two moments and step counters and the batch are alive (every
    activation, gradient and temporary freed, each counted once); its peak grows with the batch, and
    even a frozen backbone's forward passes through more than the weights and the batch."""
    import torch

    row = script.timm_row(MODEL)
    small = script.emulate_peaks(row, strategy, 5, 4, None)
    large = script.emulate_peaks(row, strategy, 5, 8, None)
    with torch.device("meta"):
        ft = script.build(row, strategy, 5, "meta", None)
    weights = sum(p.numel() * p.element_size() for p in ft.model.parameters())
    buffers = sum(b.numel() * b.element_size() for b in ft.model.buffers())
    trainable = [p for p in ft.model.parameters() if p.requires_grad]
    moments = sum(2 * p.numel() * p.element_size() for p in trainable) + 4 * len(trainable)  # + each step's count
    assert small["after_step_bytes"] == weights + buffers + moments + small["input_bytes"]
    assert small["trainable_params"] == sum(p.numel() for p in trainable)
    assert large["steady_bytes"] > small["steady_bytes"] > small["after_step_bytes"]
    assert small["first_step_bytes"] > weights + buffers + small["input_bytes"]


def test_a_steady_step_emulated_in_one_step_and_the_peak_line_agree_with_two_steps(script):
    """steady_peak (AdamW's state made on zero gradients, then one step) counts what the second of
    two real steps counts; peak_line's a + b x batch gives it at another batch size."""
    import torch

    from indexer.loader.profile import emulate_step, peak_line, steady_peak

    row = script.timm_row(MODEL)
    for strategy in ("feature-extraction", "partial", "full"):
        with torch.device("meta"):
            ft = script.build(row, strategy, 5, "meta", None)
        assert steady_peak(ft, (3, 96, 96), 4) == emulate_step(ft, (3, 96, 96), 4)["steady_bytes"]
        a, b = peak_line(ft, (3, 96, 96))
        at_32 = steady_peak(ft, (3, 96, 96), 32)
        assert abs(a + 32 * b - at_32) <= 0.02 * at_32
