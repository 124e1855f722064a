#!/usr/bin/env bash
# Install Debian's chromium for the real-browser UI test (tests/ui/test_browser.py).
# Playwright drives it through executable_path=/usr/bin/chromium; it never downloads a browser.
# A second run that finds /usr/bin/chromium does nothing.
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$CHROMIUM" ]]; then
    echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")" >&2
    echo "$CHROMIUM"
    exit 0
fi

SUDO=""
if [[ "$(id -u)" != "0" ]]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
echo "$CHROMIUM"
