#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: lint and types, then every test on the
# embedded SQLite database and again on PostgreSQL (started here if it is not running);
# the key-format tests touch no database and run once.
# CI runs this script (see .ci/run). Extra arguments go to both pytest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/ensure-services.sh

echo "== lint and types"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# every package of ours, strictly (pyproject.toml: the one override, for flask-smorest)
.venv/bin/mypy --strict keys licensesvc cli

pg_url=${LICENSESVC_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}

echo "== tests on SQLite"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
echo "== tests on PostgreSQL"
LICENSESVC_TEST_DATABASE_URL=$pg_url .venv/bin/python -m pytest -q -p no:cacheprovider --ignore=tests/keys "$@"
