"""The main job (scripts/run.sh, issue #24 part 5 and #32): it serves at once, refreshes beside the
server, publishes source by source (the server moves to each copy), and Ctrl-C stops both."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sources(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/catalog/model_summary.json?_size=0", timeout=5) as r:
        data = json.load(r)
    return {v["value"]: v["count"] for v in data["facet_results"]["source"]["results"]}


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "modelcat").exists(), reason="needs the set-up .venv")
def test_run_sh_serves_at_once_and_fills_source_by_source(tmp_path):
    port = _free_port()
    dead = "http://modelcat-offline.invalid"  # never resolves: the network sources are reported and skipped
    env = {**os.environ, "MODELCAT_DB": str(tmp_path / "catalog.db"), "PORT": str(port),
           "MODELCAT_CACHE_DIR": str(tmp_path / "cache"), "HF_ENDPOINT": dead, "GITHUB_API_URL": dead,
           "ARXIV_API_URL": dead, "HF_HUB_OFFLINE": "0"}
    env.pop("MODELCAT_CONFIG", None)
    proc = subprocess.Popen(["bash", "scripts/run.sh"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first, t0 = None, time.monotonic()
        while time.monotonic() - t0 < 120 and first is None:
            assert proc.poll() is None, proc.stdout.read()
            try:
                first = _sources(port)
            except OSError:
                time.sleep(0.5)
        assert first and first.get("torchvision", 0) > 100, first  # served before timm is read
        assert "timm" not in first
        filled = first
        while time.monotonic() - t0 < 400 and "timm" not in filled:
            time.sleep(2)
            filled = _sources(port)
        assert filled.get("timm", 0) > 1000, filled  # published after timm; the server moved to it
        assert proc.poll() is None  # still serving
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal: the whole group
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            pytest.fail(f"run.sh did not stop on Ctrl-C:\n{out[-3000:]}")
    assert proc.returncode in (130, -signal.SIGINT), out[-3000:]
    with pytest.raises(OSError):  # the server stopped too
        _sources(port)
