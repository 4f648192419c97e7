#!/usr/bin/env bash
# The dashboard's browser test as CTest runs it: starts xctld (the demo
# config, fresh SQLite, fast simulated prices) and xctl-gateway on free
# loopback ports, then drives Debian's Chromium with dashboard.test.mjs.
# Usage: run.sh XCTLD GATEWAY SCREENSHOT_PATH
set -euo pipefail
XCTLD="$1"; GATEWAY="$2"; SHOT="$3"
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DIR=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

wait_port() {  # file
  for _ in $(seq 300); do [[ -s "$1" ]] && return 0; sleep 0.1; done
  echo "browser test: a server did not start" >&2
  cat "$DIR"/*.log >&2
  return 1
}

"$XCTLD" --config="$ROOT/server/config/demo.yaml" --db="sqlite:$DIR/x.db" \
  --listen=127.0.0.1:0 --port-file="$DIR/xctld.port" --price-interval-ms=250 \
  2>"$DIR/xctld.log" &
PIDS+=($!)
wait_port "$DIR/xctld.port"
"$GATEWAY" --listen=127.0.0.1:0 --metrics-listen=127.0.0.1:0 --port-file="$DIR/gateway.port" \
  --grpc="127.0.0.1:$(cat "$DIR/xctld.port")" 2>"$DIR/gateway.log" &
PIDS+=($!)
wait_port "$DIR/gateway.port"

mkdir -p "$(dirname "$SHOT")"
XCTL_GATEWAY_URL="http://127.0.0.1:$(cat "$DIR/gateway.port")" \
XCTL_TEST_STRATEGY=tv-demo XCTL_SCREENSHOT="$SHOT" \
  node "$HERE/dashboard.test.mjs"
