#!/usr/bin/env bash
# Generates the gateway's Go code from proto/xctl/v1 (into gen/, not
# committed) and the OpenAPI spec (openapi/xctl.swagger.json, committed):
# routes from xctl_http.yaml, input rules (patterns, ranges, required fields)
# from xctl_openapi.yaml, then finished by openapi/main.go (decimals as
# strings, short enum names, the streams as Server-Sent Events, and the
# health routes of openapi/gateway_paths.json).
# Needs protoc (Debian) and the four Go plugins on PATH (gateway/build.sh
# installs them from the Go module proxy at pinned versions).
# --check: fail if the committed OpenAPI spec is not what the protos give.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=..
rm -rf gen
mkdir -p gen openapi
PROTOS=("$ROOT"/proto/xctl/v1/*.proto)
protoc -I "$ROOT/proto" -I /usr/include \
  --go_out=gen --go_opt=module=xctl/gateway/gen \
  --go-grpc_out=gen --go-grpc_opt=module=xctl/gateway/gen \
  --grpc-gateway_out=gen --grpc-gateway_opt=module=xctl/gateway/gen \
  --grpc-gateway_opt=grpc_api_configuration=xctl_http.yaml \
  "${PROTOS[@]}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
protoc -I "$ROOT/proto" -I /usr/include \
  --openapiv2_out="$TMP" \
  --openapiv2_opt=grpc_api_configuration=xctl_http.yaml,openapi_configuration=xctl_openapi.yaml \
  --openapiv2_opt=allow_merge=true,merge_file_name=xctl,json_names_for_fields=false \
  "${PROTOS[@]}"
go run ./openapi "$TMP/xctl.swagger.json" openapi/gateway_paths.json "$TMP/spec.json"
if [[ "${1:-}" == "--check" ]]; then
  if ! cmp -s "$TMP/spec.json" openapi/xctl.swagger.json; then
    echo "gateway/openapi/xctl.swagger.json is stale: run gateway/generate.sh and commit it" >&2
    exit 1
  fi
else
  cp "$TMP/spec.json" openapi/xctl.swagger.json
fi
