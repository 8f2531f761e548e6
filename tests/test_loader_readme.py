"""The fine-tuning example of docs/loader.md, run as written against a served timm resnet18 (random
weights, the real architecture, served as timm/resnet18.a1_in1k): the loss goes down."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from indexer.records import ModelRecord

README = Path(__file__).resolve().parent.parent / "docs" / "loader.md"
MARKER = "<!-- readme-example: fine-tune"


def example_code() -> str:
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, "docs/loader.md lost its fine-tuning example"
    m = re.search(r"```python\n(.*?)```", text[text.index(MARKER):], re.S)
    return m.group(1)


@pytest.fixture
def resnet18_served(monkeypatch, tmp_path):
    from indexer.torchcompat import ensure_torchvision_importable

    ensure_torchvision_importable()
    import timm
    import torch
    from timm.models._hub import save_for_hf

    from replay.hubfiles import HubFiles, point_clients_at
    from replay.models import write_catalog

    torch.manual_seed(0)
    save_for_hf(timm.create_model("resnet18.a1_in1k"), tmp_path / "resnet18", safe_serialization=True)
    db = write_catalog(tmp_path / "catalog.db", [ModelRecord(
        id="timm:resnet18.a1_in1k", source="timm", name="resnet18.a1_in1k", library="timm",
        task="image-classification", architecture="resnet18", weights="a1_in1k", hf_hub_id="timm/resnet18.a1_in1k",
        num_classes=1000, input_size=[3, 224, 224], mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
        interpolation="bicubic", crop_pct=0.95, license="apache-2.0", license_family="permissive", is_open=True)])
    with HubFiles() as hub:
        hub.put_dir("timm/resnet18.a1_in1k", tmp_path / "resnet18")
        point_clients_at(monkeypatch, hub.url, tmp_path / "hf")
        monkeypatch.setenv("MODELCAT_DB", str(db))
        yield db


def test_the_readme_example_reduces_the_loss(resnet18_served):
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example_code(), "README.md", "exec"), namespace)
    losses = namespace["losses"]
    assert len(losses) == 10 and losses[-1] < 0.5 * losses[0], losses
    printed = out.getvalue().splitlines()
    assert printed[0].startswith("timm:resnet18.a1_in1k [timm] on ")
    assert printed[1] == "unfreezing layer3"
    assert printed[-1] == f"loss {losses[0]:.3f} -> {losses[-1]:.3f}"


def test_the_readme_load_command_output_is_real(resnet18_served):
    """The console block under `modelcat load ID` (docs/commands.md) matches what the command prints (device aside)."""
    from click.testing import CliRunner

    from indexer.cli import cli

    text = (README.parent / "commands.md").read_text(encoding="utf-8")
    block = re.search(r"\$ modelcat load timm:resnet18.a1_in1k --num-classes 10 --strategy partial\n(.*?)```",
                      text, re.S).group(1)
    shown = [line for line in block.splitlines() if line != "..."]
    r = CliRunner().invoke(cli, ["load", "timm:resnet18.a1_in1k", "--num-classes", "10", "--strategy", "partial"])
    assert r.exit_code == 0, r.output
    printed = r.stdout.splitlines()
    assert printed[:len(shown)] == shown
