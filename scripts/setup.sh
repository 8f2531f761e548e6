#!/usr/bin/env bash
# Set-up for a fresh clone: a .venv with modelcat installed (editable) and the tested build of
# torch/torchvision/timm pinned by constraints.txt. Cheap to re-run: it reinstalls only when
# pyproject.toml or constraints.txt changed. PYTHON picks the interpreter (3.10+).
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
