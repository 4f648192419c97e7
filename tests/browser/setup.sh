#!/usr/bin/env bash
# Installs the browser test's npm packages (playwright-core, pinned in package-lock.json) when
# node_modules is missing or was installed from a different lock. Idempotent. Downloads no
# browser: the test drives Debian's Chromium (/usr/bin/chromium, `apt-get install chromium`,
# done by the project's setup).
set -euo pipefail

cd "$(dirname "$0")"

lock_hash() { sha256sum package-lock.json | cut -d' ' -f1; }
stamp=node_modules/.xctl-lock-sha256

if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$(lock_hash)" || ! -d node_modules/playwright-core ]]; then
  echo "tests/browser: npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
  lock_hash > "$stamp"
fi

if [[ ! -x "${XCTL_CHROMIUM:-/usr/bin/chromium}" ]]; then
  echo "tests/browser: warning: ${XCTL_CHROMIUM:-/usr/bin/chromium} is missing (apt-get install -y chromium)" >&2
fi
