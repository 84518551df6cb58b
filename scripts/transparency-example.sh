#!/usr/bin/env bash
# The worked example of docs/transparency.md: a fresh SQLite database in a temporary directory,
# the demo data, one integration, the log key, a license file with its proof, the offline
# check with --require-logged, a monitor run, and `log verify`. Prints each command and its
# output; run it from the repository root: bash scripts/transparency-example.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LICENSESVC_DATA_DIR="$work" LICENSESVC_LOG_INTEGRATE_EVERY=0
cli=(.venv/bin/licensesvc)
show() { echo "\$ licensesvc ${*}"; "${cli[@]}" "$@"; }
"${cli[@]}" db upgrade >/dev/null
"${cli[@]}" demo >/dev/null
show log integrate
show log key
vkey=$("${cli[@]}" log key)
serial=$("${cli[@]}" --json key list | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[-1]["serial"])')
"${cli[@]}" key export "$serial" --format file --out "$work/key.lic" >/dev/null
"${cli[@]}" signing-key export-public --out "$work/vendor.pem" >/dev/null
echo "\$ licensesvc key export $serial --format file --out key.lic"
echo "\$ sed -n '/BEGIN LICENSESVC LOG PROOF/,/END/p' key.lic | sed '1d;\$d' | base64 -d | python3 -m json.tool"
sed -n '/BEGIN LICENSESVC LOG PROOF/,/END/p' "$work/key.lic" | sed '1d;$d' | base64 -d | .venv/bin/python -m json.tool
echo "\$ licensesvc verify key.lic --public-key vendor.pem --log-key \"\$VKEY\" --require-logged | head -2"
"${cli[@]}" verify "$work/key.lic" --public-key "$work/vendor.pem" --log-key "$vkey" --require-logged | head -2
show log monitor --state "$work/monitor.json" --customer 1 | sed "s#$work/##"
show log verify
echo "\$ cat monitor.json"
cat "$work/monitor.json"; echo
