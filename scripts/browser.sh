#!/usr/bin/env bash
# Debian's Chromium for the report tests that open the HTML reports in a real browser.
# Installs it when missing (as root, like scripts/rt-server.sh install) and prints the
# browser's path on stdout; everything else goes to stderr.
set -euo pipefail

find_browser() {
  for candidate in chromium chromium-browser; do
    if command -v "$candidate" >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if browser="$(find_browser)"; then
  echo "$browser"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "error: Chromium is not installed and installing it needs root: apt-get install chromium" >&2
  exit 1
fi
{
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends chromium
} >&2
find_browser || { echo "error: chromium was installed but is not on PATH" >&2; exit 1; }
