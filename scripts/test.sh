#!/usr/bin/env bash
# The one command that runs every Switchover test on a fresh clone (Debian, as root, or
# a user with sudo). It installs what the tests need — Request Tracker 5 for the RT
# adapter's tests against a real server, the vendors' Python client libraries for the
# emulator checks, Chromium for the reports' browser test — then runs the whole
# workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is not installed; install Rust from https://rustup.rs and run this again" >&2
  exit 1
fi

# Request Tracker 5 with its SQLite database (about half a minute the first time).
scripts/rt-server.sh install

# With RT installed by this script, its tests must run: a missing RT fails them instead of skipping.
export SWITCHOVER_REQUIRE_RT=1

# The vendors' own client libraries (PyPI, pinned), driven against the emulators.
SWITCHOVER_CLIENTS_PYTHON="$(scripts/clients.sh)"
export SWITCHOVER_CLIENTS_PYTHON
export SWITCHOVER_REQUIRE_CLIENTS=1

# Debian's Chromium, for the tests that open the HTML reports in a real browser.
SWITCHOVER_CHROMIUM="$(scripts/browser.sh)"
export SWITCHOVER_CHROMIUM
export SWITCHOVER_REQUIRE_BROWSER=1

cargo test --workspace --locked "$@"
