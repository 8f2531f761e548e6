"""`pip install modelcat` works: the wheel built from this checkout, installed into a fresh virtual
environment away from the source tree, refreshes an offline source, searches, shows a row and
serves the home page. The environment borrows this one's dependencies (torch and the rest: no
network, no GBs) through a .pth line; modelcat itself comes only from the wheel."""

from __future__ import annotations

import os
import site
import socket
import subprocess
import sys
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(args, cwd, env, timeout=600):
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, (args, out.stdout[-2000:], out.stderr[-3000:])
    return out.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MODELCAT_DB", "VIRTUAL_ENV")}
    try:  # the test extras bring a setuptools that builds pyproject.toml as it is; else pip fetches one
        import setuptools

        here = int(setuptools.__version__.split(".")[0]) >= 77
    except (ImportError, ValueError):
        here = False
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", *(["--no-build-isolation"] if here else []),
          "--disable-pip-version-check", "-q", "-w", str(tmp / "dist"), str(ROOT)], tmp, env)
    [wheel] = (tmp / "dist").glob("modelcat-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    venv.EnvBuilder(with_pip=True).create(tmp / "venv")
    py = tmp / "venv" / "bin" / "python"
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp, env).strip()
    # this environment's dependencies, not its modelcat (an editable install is not a .pth path entry here)
    (Path(purelib) / "borrowed-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check", "-q", str(wheel)],
         tmp, env)
    work = tmp / "elsewhere"
    work.mkdir()
    env = {**env, "PATH": f"{py.parent}{os.pathsep}{env.get('PATH', '')}", "MODELCAT_CACHE_DIR": str(tmp / "cache")}
    return {"names": names, "py": py, "bin": py.parent, "cwd": work, "env": env, "prefix": tmp / "venv"}


def test_the_wheel_carries_what_the_package_reads(installed):
    names = installed["names"]
    data = [n for n in names if ".data/data/share/modelcat/schema/" in n]
    for need in ("metadata.yml", "views.sql", "licenses.yml", "datasets.yml", "caps.yml", "ids.yml",
                 "migrations/0001_initial.sql"):
        assert any(n.endswith("/schema/" + need) for n in data), need
    migrations = sorted(p.name for p in (ROOT / "schema" / "migrations").glob("*.sql"))
    assert sorted(n.rsplit("/", 1)[1] for n in data if "/migrations/" in n) == migrations
    assert any(n.endswith("indexer/datasette_plugin/templates/row.html") for n in names)
    assert any(n.endswith("indexer/data/timm_results/ORIGIN.json") for n in names)
    assert any(n.endswith("indexer/data/timm_profiles.json.gz") for n in names)


def test_the_installed_modelcat_refreshes_searches_shows_and_serves(installed):
    py, cwd, env = installed["py"], installed["cwd"], installed["env"]
    where = _run([str(py), "-c", "import indexer, indexer.paths as p; print(indexer.__file__); print(p.schema_dir())"],
                 cwd, env).split()
    assert all(Path(w).resolve().is_relative_to(installed["prefix"].resolve()) for w in where), where
    modelcat = str(installed["bin"] / "modelcat")
    out = _run([modelcat, "refresh", "--db", "c.db", "--source", "torchvision"], cwd, env)
    assert "torchvision  ok" in out
    out = _run([modelcat, "search", "--db", "c.db", "--task", "image-classification", "--max-mb", "50",
                "--format", "ids", "--limit", "3"], cwd, env)
    assert out.split() and all(line.startswith("torchvision:") for line in out.split())
    out = _run([modelcat, "show", "--db", "c.db", "torchvision:resnet18.IMAGENET1K_V1"], cwd, env)
    assert "69.758" in out
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([modelcat, "serve", "--db", "c.db", "--port", str(port)], cwd=cwd, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the server did not answer in 60 s"
                time.sleep(0.5)
        assert "A catalog of pretrained models" in page and "torchvision" in page
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_missing_schema_is_one_line_naming_the_fix(installed, tmp_path):
    import shutil

    py, cwd, env = installed["py"], installed["cwd"], installed["env"]
    schema = Path(_run([str(py), "-c", "import indexer.paths as p; print(p.schema_dir())"], cwd, env).strip())
    moved = tmp_path / "schema-moved"
    shutil.move(str(schema), moved)
    try:
        out = subprocess.run([str(installed["bin"] / "modelcat"), "refresh", "--db", "d.db", "--source", "torchvision"],
                             cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode != 0
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "schema folder is missing" in lines[0] and "reinstall modelcat" in lines[0], out.stderr
        assert "Traceback" not in out.stderr
    finally:
        shutil.move(str(moved), schema)
