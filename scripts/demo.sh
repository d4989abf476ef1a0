#!/usr/bin/env bash
# Sets up a fresh machine and paints a sample photo with the CLI, reading the models from
# STYLIZE_MODEL_STORE (default: the ../shared folder beside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh runtime
export STYLIZE_MODEL_STORE="${STYLIZE_MODEL_STORE:-../shared}"
.venv/bin/python -m stylize fetch
.venv/bin/python -m stylize run "${1:-../shared/photos/boy.jpg}" --style "Starry Night" --mask background -o result.png
echo "wrote result.png"
