#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (test tools cannot download their own browser here).
# Installs it with apt-get when missing and we are root; otherwise says what to do.
set -euo pipefail
chromium_path="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$chromium_path" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian chromium (needed by the browser tests)…" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "Chromium not found at $chromium_path. Install it (Debian: sudo apt-get install chromium) or set CHROMIUM_PATH." >&2
exit 1
