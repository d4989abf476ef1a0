#!/usr/bin/env bash
# Sets up a fresh machine and serves the page on http://127.0.0.1:8501, reading the models from
# STYLIZE_MODEL_STORE (default: the ../shared folder beside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh runtime
export STYLIZE_MODEL_STORE="${STYLIZE_MODEL_STORE:-../shared}"
export STYLIZE_ICE_SERVERS="${STYLIZE_ICE_SERVERS-}"
.venv/bin/python -m stylize fetch
export MALLOC_ARENA_MAX=2  # as the container (Dockerfile): fewer heaps that keep freed paintings
exec .venv/bin/python -m streamlit run serve.py --server.address 127.0.0.1 --server.port "${PORT:-8501}"
