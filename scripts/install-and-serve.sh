#!/usr/bin/env bash
# Install Moorage into ./.venv and start it on the embedded default (SQLite + local disk).
# Extra arguments go to `moorage serve` (e.g. --port 5001 --data-dir /srv/moorage).
# The install runs only when the checkout changed since the last one (a stamp in .venv records a
# hash of the Python version, pyproject.toml and every file under src/), so a restart is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
STAMP=.venv/.moorage-installed
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
state=$(
    {
        .venv/bin/python -VV
        cat pyproject.toml
        find src -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -d' ' -f1
)
if [[ ! -x .venv/bin/moorage || "$(cat "$STAMP" 2>/dev/null || true)" != "$state" ]]; then
    echo "Installing Moorage into .venv ..." >&2
    .venv/bin/pip install -q --disable-pip-version-check .
    echo "$state" >"$STAMP"
fi
exec .venv/bin/moorage serve "$@"
