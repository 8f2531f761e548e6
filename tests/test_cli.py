"""The command line: help for every command, and clear one-line errors on bad input."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.cli import cli

MODELCAT = [sys.executable, "-m", "indexer"]


def run(*args, user=None, env=None, cwd=None):
    """The real command in a subprocess: exit code and output as a user sees them."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([*MODELCAT, *args], capture_output=True, text=True, timeout=300, user=user,
                          env=full_env, cwd=cwd or Path(__file__).parent.parent)


def assert_clean_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 or (lines and lines[-1].startswith(("Error", "Usage"))), result.stderr
    for f in fragments:
        assert f in result.stderr, result.stderr


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_every_command_has_help():
    runner = CliRunner()
    for name, command in cli.commands.items():
        assert command.help and command.help.strip(), f"{name} has no help text"
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_help_does_not_import_torch():
    code = "import sys; from indexer.cli import cli; assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_unknown_source(tmp_path):
    result = run("refresh", "--db", str(tmp_path / "c.db"), "--source", "nosuch")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'nosuch' is not one of" in result.stderr and "timm" in result.stderr
    assert not (tmp_path / "c.db").exists()


def test_db_in_a_missing_directory(tmp_path):
    result = run("refresh", "--db", str(tmp_path / "missing" / "c.db"), "--source", "torchvision")
    assert_clean_error(result, "does not exist", "mkdir -p")
    assert not (tmp_path / "missing").exists()


def test_corrupt_catalog_is_left_untouched(tmp_path):
    db = tmp_path / "catalog.db"
    db.write_bytes(b"<html>not a database</html>" * 50)
    before = sha(db)
    for args in (["refresh", "--source", "torchvision"], ["search", "--task", "image-classification"],
                 ["show", "timm:resnet18.a1_in1k"], ["serve", "--port", "0"]):
        result = run(*args, "--db", str(db))
        assert_clean_error(result, "not a SQLite database", "move it aside")
        assert sha(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.db"]  # no -wal, no lock file


def test_modelcat_db_environment_variable(tmp_path):
    db = tmp_path / "env.db"
    result = run("refresh", "--source", "torchvision", env={"MODELCAT_DB": str(db)})
    assert result.returncode == 0, result.stderr
    assert db.exists() and f"catalog {db}:" in result.stdout


def _can_remount_read_only() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind / /mnt && mount -o remount,ro,bind /mnt"],
                           capture_output=True)
    return probe.returncode == 0


def run_in_read_only_dir(directory: Path, *args):
    """The command with `directory` read-only: chmod 555 for a normal user; for root (who ignores
    permissions) a read-only bind mount in a private mount namespace."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            return run(*args)
        finally:
            directory.chmod(0o755)
    d = str(directory)
    script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && shift && exec "$@"'
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", d, *MODELCAT, *args],
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent)


needs_read_only = pytest.mark.skipif(os.geteuid() == 0 and not _can_remount_read_only(),
                                     reason="root without mount namespaces: cannot make a read-only directory")


@needs_read_only
def test_db_in_a_read_only_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    result = run_in_read_only_dir(ro, "refresh", "--db", str(ro / "c.db"), "--source", "torchvision")
    assert_clean_error(result, "not writable", "--db")
    assert list(ro.iterdir()) == []


@needs_read_only
def test_existing_catalog_in_a_read_only_directory(tmp_path, built_catalog):
    ro = tmp_path / "ro"
    ro.mkdir()
    db = ro / "catalog.db"
    shutil.copy(built_catalog, db)
    before = sha(db)
    result = run_in_read_only_dir(ro, "refresh", "--db", str(db), "--source", "torchvision")
    assert_clean_error(result, str(db), "writable")
    assert sha(db) == before and sorted(p.name for p in ro.iterdir()) == ["catalog.db"]
    # reading still works: search opens read-only
    result = run_in_read_only_dir(ro, "search", "--db", str(db), "--task", "image-classification",
                                  "--limit", "2", "--format", "ids")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == 2


def test_search_without_a_catalog_says_to_refresh(tmp_path):
    result = run("search", "--db", str(tmp_path / "none.db"))
    assert_clean_error(result, "run `modelcat refresh` first")
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("args, message", [
    (["--task", "image-clasification"], "did you mean image-classification"),
    (["--dataset", "imagenet-2k"], "unknown dataset 'imagenet-2k'"),
    (["--max-mb", "-5"], "--max-mb must be a positive number"),
    (["--license-family", "free"], "unknown license family 'free'"),
])
def test_bad_search_arguments(built_catalog, args, message):
    result = run("search", "--db", str(built_catalog), *args)
    assert_clean_error(result, message)


def test_show_unknown_id_suggests_similar(built_catalog):
    result = run("show", "timm:resnet18.nope", "--db", str(built_catalog))
    assert_clean_error(result, "no model 'timm:resnet18.nope'")
    result = run("show", "resnet18.a1_in1k", "--db", str(built_catalog))
    assert_clean_error(result, "timm:resnet18.a1_in1k")  # the id without its scheme: a hint


def test_show_prints_the_row(built_catalog):
    result = CliRunner().invoke(cli, ["show", "torchvision:resnet18.IMAGENET1K_V1", "--db", str(built_catalog)])
    assert result.exit_code == 0
    assert "license           bsd-3-clause" in result.output
    assert "metric            ImageNet-1K acc@1 = 69.758" in result.output
    assert "dataset           imagenet-1k (train" in result.output


def test_refresh_prints_a_summary_and_fails_when_a_source_fails(tmp_path, list_source, monkeypatch):
    db = tmp_path / "c.db"
    list_source("okay", [{"name": "a"}])
    list_source("broken", [{"name": "a"}], fail_after=0)
    result = CliRunner().invoke(cli, ["refresh", "--db", str(db), "--source", "okay", "--source", "broken"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].split() == ["source", "status", "seen", "new", "updated", "unchanged", "removed", "skipped", "seconds"]
    assert lines[2].split()[:4] == ["okay", "ok", "1", "1"]
    assert lines[3].split()[:2] == ["broken", "failed"]
    assert "broken: failed: ConnectionError: connection reset by peer (injected)" in result.output
    assert f"catalog {db}: 1 models" in result.output


def test_sources_lists_latest_runs(built_catalog):
    result = CliRunner().invoke(cli, ["sources", "--db", str(built_catalog)])
    assert result.exit_code == 0
    rows = {ln.split()[0]: ln.split() for ln in result.output.splitlines()[2:]}
    assert rows["timm"][2] == "ok" and rows["torchvision"][2] == "ok"


def test_tasks_and_datasets_list_the_tables():
    runner = CliRunner()
    assert "image-classification" in runner.invoke(cli, ["tasks"]).output
    out = runner.invoke(cli, ["datasets"]).output
    assert "imagenet-1k" in out and "in1k" in out


def test_ctrl_c_during_refresh_is_one_line_and_exit_130(tmp_path, list_source):
    def fetch(ctx):
        raise KeyboardInterrupt
        yield

    list_source("slow", []).fetch = fetch
    result = CliRunner().invoke(cli, ["refresh", "--db", str(tmp_path / "c.db"), "--source", "slow"])
    assert result.exit_code == 130 and "interrupted: the source being written was rolled back" in result.output
