#!/usr/bin/env python3
"""The hubconf.py conformance set (tests/conformance/hubconf_set.yml): fetch its repositories, check it.

  scripts/hubconf_set.py fetch --into DIR   # one commit of each repository (git, needs GitHub)
  scripts/hubconf_set.py check [--repos DIR] # what the parser lists against what was read by hand

Then `MODELCAT_HUBCONF_REPOS=DIR scripts/test.sh tests/conformance/test_hubconf_set.py`.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "tests" / "conformance" / "hubconf_set.yml"


def entries() -> list[dict]:
    return yaml.safe_load(SET.read_text())["repositories"]


def fetch(into: Path) -> int:
    failed = 0
    for e in entries():
        d = into / e["repo"].replace("/", "+", 1) / "repo"
        if not d.exists():
            subprocess.run(["git", "init", "-q", "--bare", str(d)], check=True)
        r = subprocess.run(["git", f"--git-dir={d}", "fetch", "-q", "--depth", "1",
                            f"https://github.com/{e['repo']}", e["commit"]], capture_output=True, text=True)
        if r.returncode:
            failed += 1
            print(f"{e['repo']}: {r.stderr.strip() or 'git fetch failed'}", file=sys.stderr)
    return 1 if failed else 0


def check(repos: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from indexer.parse.hubconf import parse_hubconf
    right = wrong = missing = 0
    for e in entries():
        d = repos / e["repo"].replace("/", "+", 1) / "repo"
        d = d / ".git" if (d / ".git").is_dir() else d

        def read(path, d=d, commit=e["commit"]):
            r = subprocess.run(["git", f"--git-dir={d}", "show", f"{commit}:{path}"], capture_output=True)
            return r.stdout if r.returncode == 0 else None
        source = read("hubconf.py") if d.is_dir() else None
        if source is None:
            missing += 1
            print(f"missing  {e['repo']}")
            continue
        h = parse_hubconf(source, read=read)
        got = sorted(x["name"] for x in h["entrypoints"])
        warned = any("cannot be listed without running" in w for w in h["warnings"])
        ok = got == sorted(e["lists"]) and warned == e["unseen"]
        right += ok
        wrong += not ok
        if not ok:
            extra = sorted(set(got) - set(e["lists"]))
            lost = sorted(set(e["lists"]) - set(got))
            print(f"wrong    {e['repo']}: listed too {extra}, not listed {lost}, warned {warned}")
    print(f"{right} right, {wrong} wrong, {missing} missing of {right + wrong + missing}")
    return 1 if wrong else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch")
    f.add_argument("--into", type=Path, required=True)
    c = sub.add_parser("check")
    c.add_argument("--repos", type=Path, default=Path(os.environ.get("MODELCAT_HUBCONF_REPOS", "/work/.mirror")))
    a = ap.parse_args()
    return fetch(a.into) if a.cmd == "fetch" else check(a.repos)


if __name__ == "__main__":
    sys.exit(main())
