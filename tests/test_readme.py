"""The README is what a newcomer reads first (issue #24 part 4): every command it shows runs, and
shows what the README says. (`scripts/run.sh`: tests/test_run_sh.py; `scripts/test.sh`: CI.)"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from indexer.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _console():
    block = re.search(r"```console\n\$ (.*?)\n(.*?)```", README, re.S)
    return block.group(1), block.group(2)


def test_the_seed_question_answers_as_the_readme_shows(built_catalog):
    command, shown = _console()
    args = shlex.split(command)
    assert args[0] == "modelcat"
    r = CliRunner().invoke(cli, [*args[1:], "--db", str(built_catalog)])
    assert r.exit_code == 0, r.output
    assert r.output.split() == shown.split()  # every id and figure, as printed


def test_the_python_way_answers_the_same(built_catalog, monkeypatch):
    code = re.search(r"## The question, three ways.*?```python\n(.*?)```", README, re.S).group(1)
    monkeypatch.chdir(built_catalog.parent)  # the example opens catalog.db where it runs
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    _, shown = _console()
    ids = [line.split()[0] for line in shown.splitlines()[2:] if line.split() and ":" in line.split()[0]]
    assert out.getvalue().strip() == repr(ids)


def test_show_and_load_lines_run(built_catalog):
    _, shown = _console()
    first = shown.splitlines()[2].split()[0]
    r = CliRunner().invoke(cli, ["show", first, "--db", str(built_catalog)])
    assert r.exit_code == 0 and first in r.output, r.output
    assert "`modelcat load <id> --num-classes 10`" in README
    r = CliRunner().invoke(cli, ["load", "--help"])
    assert r.exit_code == 0 and "--num-classes" in r.output


def test_the_readme_fits_a_few_screens_and_its_links_resolve():
    assert len(README.splitlines()) <= 120
    for target in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]+)?\)", README):
        assert (ROOT / target).exists(), target
    for doc in (ROOT / "docs").glob("*.md"):
        for target, anchor in re.findall(r"\]\(([\w./-]+\.md)#?([\w-]*)\)", doc.read_text(encoding="utf-8")):
            path = (doc.parent / target).resolve()
            assert path.exists(), (doc.name, target)
            if anchor:
                headings = {re.sub(r"[^\w -]", "", h).strip().lower().replace(" ", "-")
                            for h in re.findall(r"(?m)^#+ (.*)$", path.read_text(encoding="utf-8"))}
                assert anchor in headings, (doc.name, target, anchor)
