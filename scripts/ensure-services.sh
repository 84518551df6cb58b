#!/usr/bin/env bash
# Makes sure what the tests need outside Python is here: a running PostgreSQL (started with
# pg_ctlcluster when it is installed but stopped), Node.js for the JavaScript verifier, a
# running Redis on 127.0.0.1:6379 (shared rate limits), nginx (scripts/deploy-local.sh), wrk
# (bench/server_bench.py), and Chromium plus axe-core for the portal's browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ls /etc/postgresql >/dev/null 2>&1; then
    echo "ensure-services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  else
    echo "ensure-services: installing PostgreSQL"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
if ! command -v node >/dev/null 2>&1; then
  echo "ensure-services: installing Node.js"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
fi

# Debian packages installed without starting their services (no daemon on 0.0.0.0:80)
install_quietly() {
  local policy=/usr/sbin/policy-rc.d created=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  if [ "$created" = 1 ]; then rm -f "$policy"; fi
}
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure-services: installing ${missing[*]}"
  install_quietly "${missing[@]}"
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "ensure-services: starting Redis on 127.0.0.1:6379"
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi

# The portal's browser tests (tests/browser): Debian's Chromium, driven by Playwright for
# Python with executable_path=/usr/bin/chromium (never a browser a tool downloads), and
# axe-core from npm (tests/browser/package-lock.json) for the accessibility checks.
if [ ! -x /usr/bin/chromium ]; then
  echo "ensure-services: installing Chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "ensure-services: installing npm"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
fi
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ] \
  || [ tests/browser/package-lock.json -nt tests/browser/node_modules/axe-core/axe.min.js ]; then
  echo "ensure-services: installing axe-core for the browser tests"
  (cd tests/browser && npm ci --no-audit --no-fund --silent)
fi
