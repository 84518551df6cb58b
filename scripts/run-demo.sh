#!/usr/bin/env bash
# Sets everything up and starts licensesvc on the embedded SQLite database with demo data.
# The first run creates var/licensesvc.db, a signing key and two demo customers and prints
# their API tokens; later runs reuse them. PORT picks the port (default: 8000, or a free one).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export LICENSESVC_ANALYST=${LICENSESVC_ANALYST:-demo-setup}
.venv/bin/licensesvc db upgrade
if [ ! -f var/demo-tokens.json ]; then
  .venv/bin/licensesvc demo --json > var/demo-tokens.json.tmp
  mv var/demo-tokens.json.tmp var/demo-tokens.json
  chmod 600 var/demo-tokens.json
fi
port=${PORT:-}
if [ -z "$port" ]; then
  port=$(.venv/bin/python -c 'import socket
s = socket.socket()
try:
    s.bind(("127.0.0.1", 8000))
    print(8000)
except OSError:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
finally:
    s.close()')
fi
PORT="$port" .venv/bin/python - <<'PY'
import json, os
data = json.load(open("var/demo-tokens.json"))
print("Demo data (tokens are also in var/demo-tokens.json):")
for c in data["customers"]:
    print(f"  {c['name']} ({c['plan']}): customer {c['id']}, license {c['license_id']}")
    print(f"    API token:  {c['token']}")
    print(f"    portal:     {c['portal_email']} / {c['portal_password']}")
print(f"  analyst API token: {data['analyst_token']}")
print(f"Customer portal: http://127.0.0.1:{os.environ['PORT']}/  (sign in with a portal login above)")
PY
exec .venv/bin/licensesvc serve --host 127.0.0.1 --port "$port"
