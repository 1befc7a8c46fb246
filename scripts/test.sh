#!/usr/bin/env bash
# Install everything the test suite needs, make sure the services it uses are up, run every check.
# This is the README's test command and exactly what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(skopeo podman buildah docker.io umoci runc uidmap postgresql jq curl openssl chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing system packages: ${missing[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "==> apt-get install ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

STARTED_PG=""
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if [[ -z "${MOORAGE_TEST_PG_URL:-}" ]] && ! pg_up; then
  echo "==> starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  STARTED_PG=1
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
cleanup() {
  if [[ -n "$STARTED_PG" ]]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main stop || true
  fi
}
trap cleanup EXIT
if [[ -z "${MOORAGE_TEST_PG_URL:-}" ]]; then
  # a login role with a password works whatever pg_hba.conf says for TCP (trust or scram)
  if [[ $(id -u) -eq 0 ]] && id postgres >/dev/null 2>&1; then
    runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'moorage_test') THEN
        CREATE ROLE moorage_test LOGIN SUPERUSER PASSWORD 'moorage_test';
      ELSE ALTER ROLE moorage_test LOGIN SUPERUSER PASSWORD 'moorage_test'; END IF; END \$\$;" \
      && export MOORAGE_TEST_PG_URL=postgresql://moorage_test:moorage_test@127.0.0.1:5432/postgres
  fi
fi
export MOORAGE_TEST_PG_URL=${MOORAGE_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
echo "==> pip install -e .[test]"
.venv/bin/pip install -q --disable-pip-version-check -e ".[test]"
export PATH="$ROOT/.venv/bin:$PATH"

echo "==> ruff"
ruff check src tests
echo "==> mypy --strict"
mypy
MYPYPATH=src:. mypy --strict --explicit-package-bases tests
echo "==> import-linter"
lint-imports
echo "==> pytest"
pytest -p no:cacheprovider "$@"
