#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: lint and types, then every test on the
# embedded SQLite database and again on PostgreSQL (started here if it is not running);
# the tests that reach no database (the key format, pure rules, presentation, CLI parsing,
# docs and architecture checks: marked db_independent by tests/conftest.py) run once, on
# SQLite. Each run uses both cores (pytest-xdist,
# one worker per core; the reliability scenarios stay on one worker, one at a time: see
# tests/conftest.py). LICENSESVC_FULL_TESTS=1 runs the full-size suite (README, Development).
# CI runs this script (see .ci/run). Extra arguments go to both pytest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
# bytecode is cached (in the ignored __pycache__ folders): with PYTHONDONTWRITEBYTECODE set, each
# pytest worker rewrites every test module's asserts afresh (collecting tests/ took 13.5 s of CPU
# instead of 9.7: `pytest -p no:xdist --co tests`), and each gunicorn or CLI process the tests
# start compiles our packages again
unset PYTHONDONTWRITEBYTECODE
bash scripts/bootstrap.sh
bash scripts/ensure-services.sh

echo "== lint and types"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# every package of ours and the tests, strictly (pyproject.toml: the overrides for
# flask-smorest and for the tests' unannotated fixtures)
.venv/bin/mypy --strict keys licensesvc cli tests

pg_url=${LICENSESVC_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}
# -n 2: one worker per core of this 2-core machine (what -n auto picks here); --dist loadgroup keeps
# each xdist_group on one worker
parallel=(-n "${LICENSESVC_TEST_WORKERS:-2}" --dist loadgroup)

echo "== tests on SQLite"
.venv/bin/python -m pytest -q -p no:cacheprovider "${parallel[@]}" "$@"
echo "== tests on PostgreSQL"
LICENSESVC_TEST_DATABASE_URL=$pg_url .venv/bin/python -m pytest -q -p no:cacheprovider "${parallel[@]}" -m "not db_independent" "$@"
