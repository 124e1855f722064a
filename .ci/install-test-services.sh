#!/usr/bin/env bash
# Make sure what the tests talk to is there: PostgreSQL on 127.0.0.1:5432 (started by the
# machine; restarted here if it is down), Label Studio in its own cached venv, Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi

# Label Studio server in its own cached venv (the labelstudio-marked tests start it).
bash .ci/install-label-studio.sh >/dev/null

# Debian's Chromium for the real-browser UI test (Playwright drives it; no browser download).
bash .ci/install-chromium.sh >/dev/null
