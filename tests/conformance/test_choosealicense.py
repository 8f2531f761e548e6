"""Conformance: the license normalizer on choosealicense.com's licenses (github/choosealicense.com,
MIT), data nobody here wrote: each `_licenses/*.txt` has front matter with its SPDX id, its title and
the conditions it sets. Every id and every title must normalize to that license, in the family its
conditions say: copyleft where it requires the same license or disclosed source, else permissive.

Read from a git directory of the repository at a fixed commit: $MODELCAT_CHOOSEALICENSE_REPO
(default /work/.mirror/github+choosealicense.com/repo; `git clone --bare
https://github.com/github/choosealicense.com DIR` makes one). Skipped where it is not there.
"""

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from indexer.normalize.license import normalize_license

COMMIT = "aed28f9933c9e8435c0f1d07aa563c0a830859bc"
REPO = Path(os.environ.get("MODELCAT_CHOOSEALICENSE_REPO", "/work/.mirror/github+choosealicense.com/repo"))
COPYLEFT = {"same-license", "same-license--file", "same-license--library", "disclose-source"}
# The Hub's own unversioned ids, kept where the Hub has no id of the version (schema/licenses.yml)
HUB_IDS = {"0BSD": "bsd", "BSD-4-Clause": "bsd", "GFDL-1.3": "gfdl", "ODbL-1.0": "odbl"}


def git(*args) -> str | None:
    gd = REPO / ".git" if (REPO / ".git").is_dir() else REPO
    r = subprocess.run(["git", f"--git-dir={gd}", *args], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def licenses() -> list[dict]:
    names = (git("ls-tree", "--name-only", COMMIT, "_licenses/") or "").split()
    out = []
    for name in names:
        front = yaml.safe_load(git("show", f"{COMMIT}:{name}").split("---")[1])
        out.append(front)
    return out


def test_every_choosealicense_license_normalizes_by_id_and_title():
    if not REPO.is_dir() or git("cat-file", "-e", COMMIT) is None:
        pytest.skip(f"github/choosealicense.com at {COMMIT[:10]} is not at {REPO}: set MODELCAT_CHOOSEALICENSE_REPO")
    found = licenses()
    assert len(found) >= 45
    wrong = []
    for lic in found:
        spdx, title = lic["spdx-id"], lic["title"]
        family = "copyleft" if COPYLEFT & set(lic.get("conditions") or []) else "permissive"
        ident = HUB_IDS.get(spdx, spdx.lower())
        for raw in (spdx, title):
            got = normalize_license(raw)
            if (got.id, got.family) != (ident, family):
                wrong.append((raw, got.id, got.family, ident, family))
    assert wrong == []
