#!/usr/bin/env bash
# Set-up for a fresh clone: a .venv with modelcat installed (editable) and the tested build of
# torch/torchvision/timm pinned by constraints.txt. Cheap to re-run: it reinstalls only when
# pyproject.toml or constraints.txt changed. PYTHON picks the interpreter (3.10+).
# --browser also installs Debian's chromium for the browser test (scripts/test.sh asks for it).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "modelcat needs Python 3.10 or newer: set PYTHON=/path/to/python3.x" >&2
    exit 1
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"

stamp="$VENV/.modelcat-installed"
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "setting up $VENV (torch, torchvision, timm, datasette; about a minute the first time)..." >&2
    # (this machine's pip.conf lists index folders that may be absent: drop that one warning)
    "$VENV/bin/pip" install --disable-pip-version-check -q -c constraints.txt -e '.[test]' \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    echo "$want" > "$stamp"
fi

# The browser test drives Debian's chromium through Playwright (never `playwright install`, which
# downloads a browser from a CDN). Installed from the Debian archive when missing and possible.
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "no chromium and no apt-get: the browser test will be skipped (install chromium, or set MODELCAT_CHROMIUM)" >&2
    else
        if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo="-"; fi
        if [ "$sudo" = "-" ]; then
            echo "no chromium, and apt-get needs root: the browser test will be skipped (sudo apt-get install chromium)" >&2
        else
            echo "installing Debian's chromium for the browser test (about a minute)..." >&2
            if ! { $sudo apt-get update -qq >/dev/null && \
                   DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; }; then
                echo "could not install chromium: the browser test will be skipped" >&2
            fi
        fi
    fi
fi
