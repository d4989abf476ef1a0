#!/usr/bin/env bash
# Sets up a fresh machine and runs every test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest "$@"
