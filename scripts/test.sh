#!/usr/bin/env bash
# Set up, then run the whole test suite (arguments go to pytest). The conformance tier reads
# ../shared/fixtures-raw: skipped where it is absent, required when CI=true. The browser test
# needs chromium, which the set-up installs from Debian where it can (required when CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser
exec .venv/bin/python -m pytest "$@"
