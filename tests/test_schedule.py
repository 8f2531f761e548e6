"""The nightly schedule: the systemd units, the cron line and the CI workflow in scripts/schedule
are well formed and run what the README says; `--log-file` keeps a timestamped, rotated log with
each source's outcome; a failed source makes the refresh exit 1 with a summary fit for a mail."""

from __future__ import annotations

import configparser
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from indexer.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SCHEDULE = ROOT / "scripts" / "schedule"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((SCHEDULE / name).read_text())
    return parser


def test_systemd_units():
    service = unit("modelcat-refresh.service")
    assert service["Service"]["Type"] == "oneshot"
    # the refresh publishes the copy the server serves (issue #32): readers never hold its WAL
    assert service["Service"]["ExecStart"].endswith("/.venv/bin/modelcat refresh --publish")
    assert service["Service"]["ExecStartPost"].endswith("/.venv/bin/modelcat check --quick")
    assert service["Service"]["EnvironmentFile"] == "-/etc/modelcat/env"  # tokens: never in the unit
    assert "TOKEN" not in (SCHEDULE / "modelcat-refresh.service").read_text().split("[Unit]")[1]
    timer = unit("modelcat-refresh.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 03:15:00" and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    serve = unit("modelcat-serve.service")
    assert "modelcat serve --published" in serve["Service"]["ExecStart"] and serve["Service"]["Restart"] == "on-failure"


def test_systemd_accepts_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for f in [*SCHEDULE.glob("*.service"), *SCHEDULE.glob("*.timer")]:  # the checkout stands in for /opt/modelcat
        (tmp_path / f.name).write_text(f.read_text().replace("/opt/modelcat", str(ROOT)))
    out = subprocess.run([analyze, "verify", "--man=no", *sorted(p.name for p in tmp_path.iterdir())],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr


def cron_command() -> tuple[str, str]:
    lines = [x for x in (SCHEDULE / "modelcat.cron").read_text().splitlines()
             if x.strip() and not x.startswith("#") and "=" not in x.split()[0]]
    assert len(lines) == 1
    fields = lines[0].split(None, 6)
    assert re.fullmatch(r"\d+ \d+ \* \* \*", " ".join(fields[:5])) and fields[5] == "modelcat"
    return " ".join(fields[:5]), fields[6]


def test_the_cron_line_runs_a_refresh_and_a_check(tmp_path, built_catalog):
    _, command = cron_command()
    # the same command, with the machine's paths pointed at this checkout and a temporary state
    (tmp_path / "env").write_text("HF_TOKEN=hf_cronTOKEN\n")
    (tmp_path / "log").mkdir()
    command = (command.replace("/opt/modelcat", str(ROOT)).replace("/etc/modelcat/env", str(tmp_path / "env"))
               .replace("/var/lib/modelcat", str(tmp_path)).replace("/var/log/modelcat", str(tmp_path / "log")))
    out = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "HF_ENDPOINT": "https://hub.invalid",
                              "GITHUB_API_URL": "https://github.invalid", "ARXIV_API_URL": "https://arxiv.invalid"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert re.search(r"^timm\s+ok\s", out.stdout, re.M) and re.search(r"^hf\s+unavailable\s", out.stdout, re.M)
    log = (tmp_path / "log" / "refresh.log").read_text()
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO modelcat: refresh timm: ok, 1826 seen", log, re.M)
    assert "refresh hf: unavailable" in log and "hf_cronTOKEN" not in log
    assert (tmp_path / "catalog.db").is_file()


def test_the_ci_workflow():
    wf = yaml.safe_load((SCHEDULE / "github-nightly-refresh.yml").read_text())
    on = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads `on:` as true
    assert re.fullmatch(r"\d+ \d+ \* \* \*", on["schedule"][0]["cron"])
    steps = wf["jobs"]["refresh"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert "scripts/setup.sh" in runs
    refresh = next(s for s in steps if "modelcat" in s.get("run", "") and " refresh" in s["run"])
    assert refresh["env"]["HF_TOKEN"] == "${{ secrets.HF_TOKEN }}"
    assert any("modelcat check" in r for r in runs)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert "catalog.db" in upload["with"]["path"] and upload["if"] == "always()"


def test_a_failed_source_exits_1_with_a_summary_and_a_log_line(tmp_path, list_source):
    list_source("okay", [{"name": "a"}])
    list_source("broken", [{"name": "b"}, {"name": "c"}], fail_after=1)
    log = tmp_path / "refresh.log"
    r = CliRunner().invoke(cli, ["--log-file", str(log), "refresh", "--db", str(tmp_path / "c.db"),
                                 "--source", "okay", "--source", "broken"])
    try:
        assert r.exit_code == 1
        assert re.search(r"^okay\s+ok\s", r.stdout, re.M) and re.search(r"^broken\s+failed\s", r.stdout, re.M)
        assert "broken: failed: " in r.stderr and "connection reset" in r.stderr
        text = log.read_text()
        assert re.search(r"WARNING modelcat: refresh broken: failed, .*connection reset", text)
        assert re.search(r"INFO modelcat: refresh okay: ok, 1 seen, 1 new", text)
    finally:
        root = logging.getLogger()
        for h in [h for h in root.handlers if isinstance(h, logging.FileHandler)]:
            root.removeHandler(h)
            h.close()
        root.setLevel(logging.WARNING)


def test_log_file_errors_are_clear(tmp_path):
    r = CliRunner().invoke(cli, ["--log-file", str(tmp_path / "no" / "such" / "dir" / "x.log"), "sources"])
    assert r.exit_code != 0 and "cannot write the log file" in r.output and "--log-file" in r.output
