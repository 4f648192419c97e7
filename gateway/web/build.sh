#!/usr/bin/env bash
# Builds the dashboard's one vendor file: installs the pinned npm packages (package-lock.json)
# when node_modules is missing or was installed from a different lock, then copies
# lightweight-charts' standalone build into vendor/. Idempotent; needs node and npm.
set -euo pipefail

cd "$(dirname "$0")"

lock_hash() { sha256sum package-lock.json | cut -d' ' -f1; }
stamp=node_modules/.xctl-lock-sha256
src=node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js
dst=vendor/lightweight-charts.standalone.production.js

if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$(lock_hash)" || ! -f "$src" ]]; then
  echo "gateway/web: npm ci"
  npm ci --no-audit --no-fund
  lock_hash > "$stamp"
fi

mkdir -p vendor
if ! cmp -s "$src" "$dst"; then
  cp "$src" "$dst.tmp"
  mv "$dst.tmp" "$dst"
  echo "gateway/web: copied $dst"
fi
