#!/usr/bin/env bash
# The main job: set up, serve the catalog (catalog.db, or $MODELCAT_DB) in Datasette on
# http://127.0.0.1:${PORT:-8001}/ at once, and refresh it from every source beside the server.
# Datasette serves the catalog's published copy (published/catalog.db beside it); the refresh
# publishes a new copy after each source that changed something, and the server moves to it, so
# the catalog fills source by source and readers never see half of one. Each run first refreshes
# torchvision (read offline, seconds) and publishes the catalog, so the server starts at once on a
# current copy. Ctrl-C stops both; a rerun
# resumes the refresh where it stopped. The server keeps running after the refresh, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
MC=.venv/bin/modelcat
DB="${MODELCAT_DB:-catalog.db}"
# torchvision first (offline, seconds): it creates the catalog, or brings one written by an older
# modelcat to this one's schema; then the copy the server starts with
if ! "$MC" refresh --db "$DB" --source torchvision; then
    echo "modelcat: torchvision failed (see above); serving what the catalog holds" >&2
fi
"$MC" publish --db "$DB"
"$MC" serve --db "$DB" --published --port "${PORT:-8001}" &
SERVER=$!
REFRESH=
# (a script's background jobs ignore Ctrl-C's SIGINT: they get a TERM; a refresh stopped so rolls
# back to its last checkpoint and the next run resumes from it, as after a crash)
stop() {
    trap - INT TERM
    [ -n "$REFRESH" ] && kill -TERM "$REFRESH" 2>/dev/null || true
    kill -TERM "$SERVER" 2>/dev/null || true
    wait 2>/dev/null || true
    exit 130
}
trap stop INT TERM
"$MC" refresh --db "$DB" --publish &
REFRESH=$!
if ! wait "$REFRESH"; then
    echo "modelcat: a source failed (see above); serving what the catalog holds" >&2
fi
REFRESH=
wait "$SERVER"
