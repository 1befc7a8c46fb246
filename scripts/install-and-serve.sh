#!/usr/bin/env bash
# Install Moorage into ./.venv and start it on the embedded default (SQLite + local disk).
# Extra arguments go to `moorage serve` (e.g. --port 5001 --data-dir /srv/moorage).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check .
exec .venv/bin/moorage serve "$@"
