#!/usr/bin/env bash
# `make demo`: bring the stack up, serve the bundled sample images locally, upload
# examples/products.csv with curl, wait for the request to finish and print the output CSV.
# Needs no internet: the images come from examples/images/ on 127.0.0.1:8090.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.local/venv/bin/python
DEMO_PORT=8090
GATEWAY="http://127.0.0.1:${IMGPIPE_PORT:-8000}"

"$PY" -m http.server "$DEMO_PORT" --bind 127.0.0.1 --directory examples >/dev/null 2>&1 &
image_server=$!
trap 'kill $image_server 2>/dev/null || true' EXIT

# Fetching refuses loopback addresses unless allowlisted: allow exactly the demo image server.
export IMGPIPE_FETCH_ALLOWLIST="${IMGPIPE_FETCH_ALLOWLIST:+$IMGPIPE_FETCH_ALLOWLIST,}127.0.0.1:$DEMO_PORT"
"$PY" -m devstack up --processors "${PROCESSORS:-2}"

echo "uploading examples/products.csv"
response=$(curl -sS -F "file=@examples/products.csv" "$GATEWAY/upload")
echo "$response"
request_id=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["request_id"])' <<<"$response")

for _ in $(seq 1 120); do
  status=$(curl -sS "$GATEWAY/status/$request_id")
  state=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"])' <<<"$status")
  case "$state" in
    completed|completed_with_errors|failed) break ;;
  esac
  sleep 0.5
done
echo "$status"
echo
echo "output CSV ($GATEWAY/download/$request_id):"
curl -sS "$GATEWAY/download/$request_id"
