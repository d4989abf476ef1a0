#!/usr/bin/env bash
# The whole S3 path without an AWS account: a local moto S3 endpoint, the bucket created from
# infra/bucket.yaml, FOLDER (default ../shared) published into it, and the page reading from it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
exec .venv/bin/python infra/local_stack.py --from "${1:-../shared}"
