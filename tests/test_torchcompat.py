"""The torchvision shim: needed on CPU torch with the CUDA torchvision wheel, a no-op elsewhere."""

import json
import subprocess
import sys

import pytest


def python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


OPS = python("from indexer.torchcompat import torchvision_ops_available as f; print(f())").stdout.strip() == "True"


def test_with_the_shim_torchvision_and_timm_import_and_build_models():
    out = python(
        "from indexer.torchcompat import ensure_torchvision_importable\n"
        "used = ensure_torchvision_importable()\n"
        "import torch, torchvision, timm\n"
        "m = torchvision.models.resnet18()\n"
        "y = m(torch.zeros(1, 3, 64, 64))\n"
        "t = timm.create_model('resnet18', pretrained=False, num_classes=3)\n"
        "import json; print(json.dumps([used, list(y.shape), t(torch.zeros(1, 3, 64, 64)).shape[-1]]))\n"
    )
    assert out.returncode == 0, out.stderr
    used, shape, classes = json.loads(out.stdout)
    assert used is (not OPS)  # the shim is used exactly when the compiled ops cannot load
    assert shape == [1, 1000] and classes == 3


def test_the_shim_is_idempotent_and_a_no_op_after_torchvision_imported():
    out = python(
        "from indexer.torchcompat import ensure_torchvision_importable as e\n"
        "a = e(); b = e()\n"
        "import torchvision\n"
        "print(a, b)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(not OPS), str(not OPS)]


@pytest.mark.skipif(OPS, reason="torchvision's compiled ops load here: there is nothing to shim")
def test_without_the_shim_torchvision_cannot_import_here():
    out = python("import torchvision")
    assert out.returncode != 0 and "torchvision::nms does not exist" in out.stderr
