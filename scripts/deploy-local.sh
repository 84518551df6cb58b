#!/usr/bin/env bash
# Follows docs/deployment.md on one machine: one PostgreSQL database (fresh), one Redis, two
# licensesvc app servers (gunicorn) and nginx in front, all on 127.0.0.1 and free ports. Then,
# through nginx, it requests a key, verifies it and meets a rate limit; it checks the /metrics
# of both app servers; and it stops and removes everything it started.
#
#   bash scripts/deploy-local.sh          # exit 0 when every check passed
#
# Needs: .venv (scripts/bootstrap.sh), PostgreSQL on 127.0.0.1:5432 (trust auth for postgres),
# nginx and redis-server (scripts/ensure-services.sh installs them). KEEP=1 leaves the run
# folder (logs) in place.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=$ROOT/.venv/bin/python
LSVC=$ROOT/.venv/bin/licensesvc
PG_ADMIN=${LICENSESVC_DEPLOY_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}

say() { echo "deploy-local: $*"; }
fail() { echo "deploy-local: FAILED: $*" >&2; exit 1; }

for tool in nginx redis-server curl openssl; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (bash scripts/ensure-services.sh installs it)"
done
[ -x "$PY" ] || fail ".venv is missing (bash scripts/bootstrap.sh)"

RUN=$(mktemp -d /tmp/lsvc-deploy.XXXXXX)
DB_NAME="lsvc_deploy_$(date +%s)_$$"
PIDS=()
DB_CREATED=0

cleanup() {
  local status=$?
  # the last started first: nginx, then the app servers, then redis
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
    pid=${PIDS[i]}
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$DB_CREATED" = 1 ]; then
    "$PY" - "$PG_ADMIN" "$DB_NAME" <<'EOF' || true
import sys
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (sys.argv[2],))
    conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}"')
EOF
  fi
  if [ $status -ne 0 ]; then
    for log in "$RUN"/*.log; do
      [ -f "$log" ] && { echo "--- $log (last lines)" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  if [ "${KEEP:-0}" = 1 ]; then say "run folder kept: $RUN"; else rm -rf "$RUN"; fi
  exit $status
}
trap cleanup EXIT INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json_get() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }
wait_http() {  # URL SECONDS
  for _ in $(seq 1 $(( $2 * 5 ))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  fail "$1 did not answer within $2 s"
}

# 1. PostgreSQL: a fresh database
"$PY" - "$PG_ADMIN" "$DB_NAME" <<'EOF'
import sys
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute(f'CREATE DATABASE "{sys.argv[2]}"')
EOF
DB_CREATED=1
say "database $DB_NAME created"

# 2. Redis for the shared rate-limit counters
REDIS_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
  --dir "$RUN" >"$RUN/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || fail "redis did not start"
say "redis on 127.0.0.1:$REDIS_PORT"

# 3. The environment every app server and the CLI share (docs/deployment.md, section 2)
export LICENSESVC_ENV=production
export LICENSESVC_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/$DB_NAME"
LICENSESVC_SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')
LICENSESVC_SIGNING_KEY_PASSPHRASE=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')
export LICENSESVC_SECRET_KEY LICENSESVC_SIGNING_KEY_PASSPHRASE
export LICENSESVC_DATA_DIR="$RUN/data"
export LICENSESVC_RATELIMIT_STORAGE_URL="redis://127.0.0.1:$REDIS_PORT/0"
export LICENSESVC_TRUSTED_PROXIES=1
export LICENSESVC_ANALYST=deploy-local

# 4. Migrate on deploy, the first signing key, and a customer to serve
"$LSVC" db upgrade >/dev/null
"$LSVC" signing-key generate >/dev/null
today=$(date -u +%F)
start=$(date -u -d "-30 days" +%F)
end=$(date -u -d "+335 days" +%F)
customer=$("$LSVC" customer create --name "Deploy Check Ltd" --json | json_get '["id"]')
"$LSVC" contract create --customer "$customer" --plan premium --start "$start" --end "$end" \
  --paid-through "$end" --json >/dev/null
license=$("$LSVC" license create --customer "$customer" --product "JAMS Scheduler" --agents 5 \
  --jobs 100 --host sched.deploy.example --json | json_get '["id"]')
"$LSVC" key issue --license "$license" --kind standard --json >/dev/null
token=$("$LSVC" token create --customer "$customer" --json | json_get '["token"]')
say "schema migrated, signing key, customer $customer with license $license ($today)"

# 5. Two app servers; each has its own metrics folder (PROMETHEUS_MULTIPROC_DIR)
APP_PORTS=()
CONFIG=()
# the repository's gunicorn configuration, when it has one (docs/deployment.md, section 4)
if [ -f licensesvc/gunicorn_conf.py ]; then CONFIG=(--config python:licensesvc.gunicorn_conf); fi
for n in 1 2; do
  port=$(free_port)
  mkdir -p "$RUN/metrics-$n"
  PROMETHEUS_MULTIPROC_DIR="$RUN/metrics-$n" "$ROOT/.venv/bin/gunicorn" "${CONFIG[@]}" \
    --bind "127.0.0.1:$port" --workers 2 --timeout 30 --graceful-timeout 5 wsgi:app >"$RUN/app$n.log" 2>&1 &
  PIDS+=($!)
  APP_PORTS+=("$port")
done
for port in "${APP_PORTS[@]}"; do wait_http "http://127.0.0.1:$port/readyz" 60; done
say "app servers on 127.0.0.1:${APP_PORTS[0]} and 127.0.0.1:${APP_PORTS[1]}"

# 6. nginx in front
NGINX_PORT=$(free_port)
TLS_PORT=$(free_port)
mkdir -p "$RUN/nginx"
# a throwaway self-signed certificate for the TLS server (production: your own)
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -keyout "$RUN/nginx/tls.key" -out "$RUN/nginx/tls.crt" >"$RUN/openssl.log" 2>&1 \
  || fail "openssl could not make a certificate: $(cat "$RUN/openssl.log")"
sed -e "s|@RUN_DIR@|$RUN/nginx|g" -e "s|@LISTEN_PORT@|$NGINX_PORT|g" \
  -e "s|@TLS_PORT@|$TLS_PORT|g" -e "s|@TLS_CERT@|$RUN/nginx/tls.crt|g" \
  -e "s|@TLS_KEY@|$RUN/nginx/tls.key|g" \
  -e "s|@APP1_PORT@|${APP_PORTS[0]}|g" -e "s|@APP2_PORT@|${APP_PORTS[1]}|g" \
  deploy/nginx.conf >"$RUN/nginx/nginx.conf"
nginx -t -q -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" 2>"$RUN/nginx-check.log" \
  || fail "nginx rejected its configuration: $(cat "$RUN/nginx-check.log")"
nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" -g 'daemon off;' >"$RUN/nginx.log" 2>&1 &
PIDS+=($!)
BASE="http://127.0.0.1:$NGINX_PORT"
wait_http "$BASE/readyz" 20
say "nginx on $BASE"
hsts=$(curl -sSk -D - -o /dev/null "https://127.0.0.1:$TLS_PORT/healthz" | tr -d '\r' \
  | grep -i '^strict-transport-security:' || true)
case "$hsts" in
  *"max-age=63072000; includeSubDomains"*) ;;
  *) fail "no HSTS on the HTTPS answer: '$hsts'" ;;
esac
say "HSTS at the TLS terminator (Strict-Transport-Security: max-age=63072000; includeSubDomains)"

# 7. Through nginx: a key request, a verify, a rate-limit hit
body=$(curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $token" -H 'X-Request-ID: deploy-check-1' \
  -H 'Content-Type: application/json' -d "{\"license_id\": $license, \"kind\": \"replacement\"}" \
  "$BASE/v1/key-requests")
status=${body##*$'\n'}
[ "$status" = 201 ] || fail "key request answered $status: ${body%$'\n'*}"
key=$(echo "${body%$'\n'*}" | json_get '["key"]["key"]')
say "key request granted through nginx"

verify=$("$PY" -c 'import json,sys; print(json.dumps({"key": sys.argv[1]}))' "$key" \
  | curl -sS -H 'Content-Type: application/json' -d @- "$BASE/v1/keys/verify")
[ "$(echo "$verify" | json_get '["valid"]')" = True ] || fail "verify said: $verify"
say "the new key verifies through nginx"

# the default failed-authentication limit (30 a minute per address) is shared by both servers
# through Redis, so the 31st bad token is refused whichever server nginx picks
codes=()
for _ in $(seq 1 31); do
  codes+=("$(curl -sS -o "$RUN/last.json" -D "$RUN/last.headers" -w '%{http_code}' \
    -H 'Authorization: Bearer lsc_cust_notavalidtoken' "$BASE/v1/entitlements")")
done
[ "${codes[29]}" = 401 ] || fail "the 30th bad token answered ${codes[29]}, not 401"
[ "${codes[30]}" = 429 ] || fail "the 31st bad token answered ${codes[30]}, not 429"
grep -qi '^retry-after: [0-9]' "$RUN/last.headers" || fail "429 without Retry-After"
[ "$(json_get '["code"]' <"$RUN/last.json")" = rate_limited ] || fail "429 body: $(cat "$RUN/last.json")"
grep -qi '^x-request-id: ' "$RUN/last.headers" || fail "no X-Request-ID on the answer"
say "the 31st bad token met the shared rate limit (429 rate_limited, Retry-After)"

# 8. The metrics of both app servers (scraped directly; nginx does not serve /metrics)
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/metrics")" = 404 ] || fail "nginx serves /metrics"
total_requests=0
total_keys=0
total_hits=0
for port in "${APP_PORTS[@]}"; do
  curl -fsS "http://127.0.0.1:$port/metrics" >"$RUN/metrics-$port.txt" || fail "no /metrics on $port"
  read -r requests keys hits < <("$PY" - "$RUN/metrics-$port.txt" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def total(name, **labels):
    n = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{"):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                n += float(line.rsplit(" ", 1)[1])
    return int(n)
print(total("licensesvc_http_requests_total"),
      total("licensesvc_keys_issued_total", kind="replacement"),
      total("licensesvc_rate_limit_hits_total", limit="failed_auth"))
EOF
  )
  [ "$requests" -gt 0 ] || fail "app server $port counted no request"
  total_requests=$((total_requests + requests))
  total_keys=$((total_keys + keys))
  total_hits=$((total_hits + hits))
done
[ "$total_keys" = 1 ] || fail "the servers counted $total_keys replacement keys, not 1"
[ "$total_hits" -ge 1 ] || fail "no rate-limit hit counted"
say "metrics: $total_requests requests over both servers, 1 replacement key, $total_hits rate-limit hit(s)"

# 9. Logs are JSON lines with request ids, and no token reached them
grep -q '"request_id": "deploy-check-1"' "$RUN"/app*.log || fail "request id missing from the logs"
if grep -q -- "$token" "$RUN"/app*.log "$RUN"/nginx/*.log; then fail "a token reached a log"; fi
say "all checks passed"
