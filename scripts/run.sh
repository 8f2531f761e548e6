#!/usr/bin/env bash
# The main job: set up, refresh the catalog (catalog.db, or $MODELCAT_DB) from every source,
# then serve it in Datasette on http://127.0.0.1:${PORT:-8001}/ until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if ! .venv/bin/modelcat refresh; then
    echo "modelcat: a source failed (see above); serving what the catalog holds" >&2
fi
exec .venv/bin/modelcat serve --port "${PORT:-8001}"
