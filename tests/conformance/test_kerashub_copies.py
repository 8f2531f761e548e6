"""Conformance: the stated-copy rule for KerasHub presets (schema/entities.yml, stated_copies) on the
Keras team's own record of what its mirroring tool uploaded (keras-team/keras-hub, Apache-2.0):
tools/admin/hf_uploaded_presets.json lists every Kaggle handle tools/admin/mirror_weights_on_hf.py
processed; the tool uploads each to hf://keras/<variation>, except the handles naming gemma, and the
presets' own definitions (keras_hub/src/models/*/*_presets.py) name those handles. For every handle
of both, the rule must give the Hub repository the tool writes, or none where it skips.

Read from a git directory of the repository at a fixed commit: $MODELCAT_KERASHUB_REPO (default
/work/.mirror/keras-team+keras-hub/repo; `git clone --bare https://github.com/keras-team/keras-hub
DIR` makes one). Skipped where it is not there.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from indexer.normalize.ids import stated_copy

COMMIT = "71453d08f59edc90d276e999319fc51e61cbf82c"
REPO = Path(os.environ.get("MODELCAT_KERASHUB_REPO", "/work/.mirror/keras-team+keras-hub/repo"))


def git(*args) -> str | None:
    gd = REPO / ".git" if (REPO / ".git").is_dir() else REPO
    r = subprocess.run(["git", f"--git-dir={gd}", *args], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def the_tools_copy(handle: str) -> str | None:
    """What mirror_weights_on_hf.py does with a handle: hf://keras/<its 4th part>, Gemma's skipped."""
    path = handle.removeprefix("kaggle://")
    return None if "gemma" in path else f"keras/{path.split('/')[3]}"


def test_every_handle_the_keras_team_mirrors_maps_to_the_repository_its_tool_writes():
    if not REPO.is_dir() or git("cat-file", "-e", COMMIT) is None:
        pytest.skip(f"keras-team/keras-hub at {COMMIT[:10]} is not at {REPO}: set MODELCAT_KERASHUB_REPO")
    listed = json.loads(git("show", f"{COMMIT}:tools/admin/hf_uploaded_presets.json"))
    defined = sorted(set(re.findall(r"kaggle://[A-Za-z0-9_.\-/]+", git(
        "grep", "-h", "kaggle://", COMMIT, "--", "keras_hub/src/models") or "")))
    defined = [h for h in defined if not h.startswith("kaggle://user/")]  # a docstring's example
    handles = sorted(set(listed) | set(defined))
    assert len(listed) > 400 and len(defined) > 400
    wrong = []
    for h in handles:
        got = stated_copy("kaggle", "/".join(h.removeprefix("kaggle://").split("/")[:4]))
        if (got[0] if got else None) != the_tools_copy(h):
            wrong.append((h, got and got[0], the_tools_copy(h)))
    assert wrong == []
    copies = [h for h in handles if the_tools_copy(h)]
    assert len(copies) > 300  # the rule joins them; the Gemma handles it leaves alone
