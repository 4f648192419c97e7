#!/usr/bin/env bash
# Creates or updates the Python virtual environment of the repository and
# installs the xctl Python client (non-editable, stubs generated from
# proto/xctl/v1 at build time) plus the Python test tools: pytest for
# tests/python, schemathesis for tests/schemathesis (the gateway's spec) and
# websockets for the fake BloFin's WebSocket (tests/fake_blofin/fake_ws.py).
#
#   client/python/setup.sh              # venv at <repo>/.venv
#   XCTL_VENV=/tmp/venv client/python/setup.sh
#
# Idempotent and quiet. When the venv already holds the client built from the
# current protos and sources (a SHA-256 stamp in the venv) it only checks the
# imports and returns. Needs Debian's python3 with python3-venv (XCTL_PYTHON
# overrides the interpreter, default /usr/bin/python3) and PyPI access on the
# first run. Exits non-zero, saying why, on failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${XCTL_VENV:-$repo/.venv}"
python="${XCTL_PYTHON:-/usr/bin/python3}"
stamp="$venv/.xctl-client.stamp"

fail() { echo "client/python/setup.sh: $*" >&2; exit 1; }

[[ -x "$python" ]] || python="$(command -v python3 || true)"
[[ -n "$python" && -x "$python" ]] || fail "no python3 found (install Debian's python3 and python3-venv)"

# Everything the installed package is built from, hashed with its path; plus
# this script (it picks the extra packages) and the interpreter version.
fingerprint() {
  (
    cd "$repo"
    {
      find proto/xctl/v1 -maxdepth 1 -name '*.proto' -type f
      find client/python -maxdepth 1 -type f \
        \( -name pyproject.toml -o -name setup.py -o -name gen_protos.py -o -name MANIFEST.in \
           -o -name README.md -o -name setup.sh \)
      find client/python/xctl_client -path client/python/xctl_client/_gen -prune -o -type f \
        \( -name '*.py' -o -name py.typed \) -print
    } | LC_ALL=C sort | while IFS= read -r f; do sha256sum "$f"; done
    "$venv/bin/python" -c 'import sys; print(sys.version)'
  ) | sha256sum | cut -d' ' -f1
}

imports_ok() {
  "$venv/bin/python" -c 'import xctl_client, xctl_client.pb, pytest, websockets' >/dev/null 2>&1 &&
    [[ -x "$venv/bin/schemathesis" ]]
}

# The Python test tools, pinned where a new release could change what a test
# finds (schemathesis generates the gateway's test cases).
test_tools=(pytest schemathesis==4.32.5 websockets==15.0.1)

# 1. The venv (recreated when its interpreter is gone, e.g. after a Python upgrade).
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  "$python" -m venv --clear "$venv" >/dev/null 2>&1 ||
    fail "'$python -m venv $venv' failed; on Debian install python3-venv (apt-get install -y python3-venv)"
fi

# 2. Up to date already?
want="$(fingerprint)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && imports_ok; then
  exit 0
fi

# 3. (Re)install: build the wheel from client/python (grpcio-tools generates the
#    stubs in an isolated build environment), replacing any older build.
rm -f "$stamp"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$venv/bin/python" -m pip uninstall -q -y xctl-client >/dev/null 2>&1 || true
rm -rf "$here/build" "$here"/*.egg-info
status=0
"$venv/bin/python" -m pip install -q "$here" "${test_tools[@]}" || status=$?
rm -rf "$here/build" "$here"/*.egg-info
[[ $status -eq 0 ]] || fail "pip install of client/python failed (exit $status); see the messages above"
imports_ok || fail "installed, but 'import xctl_client, pytest, websockets' or the schemathesis command fails in $venv"
echo "$want" >"$stamp"
