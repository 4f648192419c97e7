#!/usr/bin/env bash
# Runs a client example against a fresh xctld on loopback and checks what it
# printed. Usage: run_example.sh XCTLD EXPECTED_TEXT COMMAND... (the
# command gets the server address appended as --server=ADDR, or as its
# first argument when it contains "{addr}").
set -euo pipefail
XCTLD="$1"; EXPECT="$2"; shift 2
DIR=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DIR"' EXIT
"$XCTLD" --listen=127.0.0.1:0 --port-file="$DIR/port" --db="sqlite:$DIR/x.db" \
  --price-interval-ms=100 2>"$DIR/xctld.log" &
PID=$!
for _ in $(seq 300); do [[ -s "$DIR/port" ]] && break; sleep 0.1; done
ADDR="127.0.0.1:$(cat "$DIR/port")"
ARGS=()
for a in "$@"; do ARGS+=("${a//\{addr\}/$ADDR}"); done
OUT=$(timeout 120 "${ARGS[@]}")
echo "$OUT"
grep -q -- "$EXPECT" <<<"$OUT" || { echo "expected \"$EXPECT\" in the output" >&2; exit 1; }
