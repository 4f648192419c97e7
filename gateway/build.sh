#!/usr/bin/env bash
# Builds xctl-gateway into OUT (default ../build/gateway): installs the pinned
# protoc plugins from the Go module proxy into OUT/tools (once), generates the
# Go code and checks the committed OpenAPI spec, builds the dashboard
# (web/build.sh: lightweight-charts from npm), and compiles the binary.
# Called by the CMake target xctl-gateway; nothing prebuilt is downloaded.
set -euo pipefail
cd "$(dirname "$0")"
OUT="$(mkdir -p "${1:-../build/gateway}" && cd "${1:-../build/gateway}" && pwd)"
# Go: /usr/local/go/bin first, then PATH (the rule of scripts/install-go).
export PATH="$OUT/tools:/usr/local/go/bin:$PATH"
export GOFLAGS="${GOFLAGS:--mod=mod}"

PLUGINS=(
  google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
  google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@v2.33.0
  github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@v2.33.0
)
STAMP="$OUT/tools/.versions"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "${PLUGINS[*]}" ]]; then
  mkdir -p "$OUT/tools"
  for plugin in "${PLUGINS[@]}"; do GOBIN="$OUT/tools" go install "$plugin"; done
  echo "${PLUGINS[*]}" > "$STAMP"
fi

./generate.sh --check
web/build.sh
# --version: the CMake project's version (XCTL_VERSION, set by the CMake
# target) and the git commit, as xctld and xctl print them.
commit="$(git describe --always --dirty --abbrev=10 2>/dev/null || echo unknown)"
go build -ldflags "-X main.version=${XCTL_VERSION:-unknown} -X main.commit=$commit" \
  -o "$OUT/xctl-gateway" .
