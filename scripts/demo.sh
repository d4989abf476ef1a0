#!/usr/bin/env bash
# Sets up a fresh machine and serves the page on http://127.0.0.1:8501, reading the models from
# STYLIZE_MODEL_STORE (default: the ../shared folder beside the checkout when it is there, else each
# asset's public download address — which only some assets have: the page then offers what they give).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh runtime
if [ -z "${STYLIZE_MODEL_STORE:-}" ]; then
  if [ -d ../shared/models ]; then
    STYLIZE_MODEL_STORE=../shared
    echo "demo: reading the models from ../shared"
  else
    STYLIZE_MODEL_STORE=public
    echo "demo: ../shared is not here; reading the models from their public download addresses (only some have one: the rest are listed as unavailable)"
  fi
fi
export STYLIZE_MODEL_STORE
export STYLIZE_ICE_SERVERS="${STYLIZE_ICE_SERVERS-}"
.venv/bin/python -m stylize fetch
export MALLOC_ARENA_MAX=2  # as the container (Dockerfile): fewer heaps that keep freed paintings
exec .venv/bin/python -m streamlit run serve.py --server.address 127.0.0.1 --server.port "${PORT:-8501}"
