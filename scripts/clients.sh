#!/usr/bin/env bash
# Installs the vendors' own client libraries the tests drive against the emulators, in a
# virtual environment of the project (.clients/), pinned. Prints the Python to use.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.clients/python
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import helpscout_mailbox" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "helpscout-mailbox==1.2.0" "requests==2.32.3" >&2
fi
echo "$PWD/$venv/bin/python"
