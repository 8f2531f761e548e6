"""The benchmark scripts run (smoke mode), so they cannot rot. Timings are not asserted."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def run(script, *args):
    out = subprocess.run([sys.executable, str(SCRIPTS / script), *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_bench_hf_smoke():
    out = run("bench_hf.py", "--smoke")
    for stage in ("normalize", "normalize+write", "end to end", "no-change night"):
        assert f"| {stage}" in out
    assert "1 request(s)" in out


def test_bench_timm_smoke(built_catalog):  # built_catalog: the session's timm cache is warm
    assert "timm refresh, warm (smoke)" in run("bench_timm.py", "--smoke")


def test_bench_loader_smoke():
    out = run("bench_loader.py", "--smoke")
    for label in ("timm resnet18.a1_in1k", "torchvision resnet18.IMAGENET1K_V1", "transformers tiny ViT"):
        assert f"| {label}" in out
    assert out.count("x | <= 1.05x |") == 4


def test_bench_smoke():
    """scripts/bench.py (issue #8's one command) end to end at tiny sizes: every section and
    every row it promises is there, with numbers."""
    out = run("bench.py", "--smoke")
    for section in ("P1: ingest", "P2: the nightly refresh", "P3: queries", "P6: memory", "Size"):
        assert f"## {section}" in out, section
    assert "| normalize + write (the stage alone) |" in out and "naive per-row sqlite-utils" in out
    assert "| end to end: first import through huggingface_hub" in out and "`MODELCAT_WORKERS=0`" in out
    assert "| 0 | " in out and "| 100 | " in out  # the no-change night and the change curve
    assert out.count(" ms |") >= 5  # the seed question: five latencies
    assert "| seed question (stored query open_classifiers)" in out
    assert "partial" not in out and "facets missing" not in out  # at this size every facet answers
    assert "bytes per model" in out and "GB |" in out
    # P2 on --models, P3 and Size on --query-models; P6 has the first import of each
    assert "A catalog of 4,000 Hub models" in out and "A catalog of 8,000 models" in out
    assert "first import (full sweep) of 4,000 models" in out and "first import (full sweep) of 8,000 models" in out
    assert "| catalog.db (8,000 models) |" in out


@pytest.mark.parametrize("mode", [[], ["--published"]], ids=["catalog", "published"])
def test_bench_beside_smoke(catalog_copy, mode):
    """scripts/bench.py beside (issue #32) end to end at a tiny size: an import alone and beside
    `modelcat serve` with its readers (serving the catalog, or its published copy); the table has
    every row. The goals are not asserted (at this size a run is too short to say anything)."""
    out = subprocess.run([sys.executable, str(SCRIPTS / "bench.py"), "beside", "--models", "2000", "--smoke",
                          "--base", str(catalog_copy), *mode], capture_output=True, text=True, timeout=300)
    assert out.returncode in (0, 1), out.stderr[-2000:]
    for row in ("largest WAL during the import", "import time", "seed question during the import",
                "home page during the import", "Goals: "):
        assert row in out.stdout, (row, out.stdout[-2000:])


def test_bench_recommend_smoke(built_catalog):
    """scripts/bench.py recommend (issue #23) end to end on the offline catalog: a first question
    with an empty cache folder, then the same again; the table has both rows. Timings not asserted."""
    out = subprocess.run([sys.executable, str(SCRIPTS / "bench.py"), "recommend", "--db", str(built_catalog),
                          "--smoke"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| first question (empty cache folder" in out.stdout and "| the same question again" in out.stdout
    assert " candidates (measured: " in out.stdout and " s |" in out.stdout
