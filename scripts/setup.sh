#!/usr/bin/env bash
# Creates .venv and installs the project into it. Usage: scripts/setup.sh [runtime|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-runtime}"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "$kind" = dev ]; then
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt
  # The end-to-end tests drive Debian's Chromium (Playwright's own browser download is not used)
  # and put two page processes behind Debian's HAProxy, configured like the service's ALB.
  if ! command -v chromium >/dev/null 2>&1 || ! { command -v haproxy || test -x /usr/sbin/haproxy; } >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-dejavu-core haproxy >/dev/null
  fi
else
  .venv/bin/python -m pip install --quiet -r requirements.txt
fi
