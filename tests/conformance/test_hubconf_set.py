"""Conformance: hubconf.py of real public repositories, each read by hand (tests/conformance/hubconf_set.yml).

The files are not in the project: they are read from git directories of the repositories, at the
commit each entry names, under $MODELCAT_HUBCONF_REPOS (default /work/.mirror; layout
OWNER+NAME/repo, bare or with .git). `scripts/hubconf_set.py fetch --into DIR` makes them where
GitHub can be reached. Entries whose repository is not there are skipped, with that reason.
"""

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from indexer.parse.hubconf import MAX_READS, parse_hubconf

SET = Path(__file__).with_name("hubconf_set.yml")
ENTRIES = yaml.safe_load(SET.read_text())["repositories"]
REPOS = Path(os.environ.get("MODELCAT_HUBCONF_REPOS", "/work/.mirror"))


def git_dir(repo: str) -> Path:
    d = REPOS / repo.replace("/", "+", 1) / "repo"
    return d / ".git" if (d / ".git").is_dir() else d


def reader(repo: str, commit: str):
    gd = git_dir(repo)

    def read(path: str) -> bytes | None:
        r = subprocess.run(["git", f"--git-dir={gd}", "show", f"{commit}:{path}"], capture_output=True)
        return r.stdout if r.returncode == 0 else None
    return read


def test_the_set_is_at_least_30_distinct_repositories_at_fixed_commits():
    repos = [e["repo"].lower() for e in ENTRIES]
    assert len(repos) >= 30 and len(set(repos)) == len(repos)
    assert all(len(e["commit"]) == 40 and isinstance(e["lists"], list) for e in ENTRIES)
    assert sum(1 for e in ENTRIES if e.get("pytorch_hub")) >= 20


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["repo"] for e in ENTRIES])
def test_hubconf_lists_what_torch_hub_would(entry):
    read = reader(entry["repo"], entry["commit"])
    source = read("hubconf.py") if git_dir(entry["repo"]).is_dir() else None
    if source is None:
        pytest.skip(f"{entry['repo']} at {entry['commit'][:10]} is not under {REPOS}: run "
                    "scripts/hubconf_set.py fetch --into DIR and set MODELCAT_HUBCONF_REPOS=DIR")
    reads = []
    h = parse_hubconf(source, f"{entry['repo']}/hubconf.py", read=lambda p: reads.append(p) or read(p))
    assert sorted(e["name"] for e in h["entrypoints"]) == sorted(entry["lists"]), entry.get("read_by_hand")
    unseen = [w for w in h["warnings"] if "cannot be listed without running" in w]
    assert bool(unseen) == entry["unseen"], h["warnings"]
    assert len(reads) <= MAX_READS and not any("followed through" in w for w in h["warnings"])
