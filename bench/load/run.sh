#!/usr/bin/env bash
# Builds and runs the load benchmarks against a real xctld, then prints
# one summary table of every RESULT line (figure, baseline measured in the
# same run, ratio, target, verdict). Figures, not pass/fail: the exit code is
# 0 unless a build or a benchmark itself failed.
#
#   bench/load/run.sh [--quick] [--build-dir=DIR] [--out=DIR] [flags for every bench...]
#
# A full run adds 10,000 strategies over 100 pairs (load_strategies_bench
# --per-pair=100) to the 1,000 of the strategies run.
#   --quick        short runs: 10 s windows (streams, strategies); 10 ticks,
#                  3 list rounds and no 100 ms-tick xctld (positions);
#                  5 s windows and 2 subscriber steps (cluster)
# load_cluster_bench needs PostgreSQL (XCTL_TEST_PG_URL, e.g. from
# scripts/start-postgres, or --pg=URL) and nats-server; without them it prints
# SKIP and exits 0.
#   --build-dir    default: build-load at the repository root (configured
#                  RelWithDebInfo, gateway off, when missing)
#   --out          where the full outputs go (default: a new temp folder)
# Other flags go to every benchmark (each ignores the ones it does not know),
# e.g. --duration=30 or --subscribers=500.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-load
out=""
quick=()
args=()
for a in "$@"; do
  case $a in
    --quick) quick=(--quick) ;;
    --build-dir=*) build=${a#*=} ;;
    --out=*) out=${a#*=} ;;
    *) args+=("$a") ;;
  esac
done
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DXCTL_BUILD_GATEWAY=OFF || exit 1
fi
ninja -C "$build" xctld load_streams_bench load_strategies_bench load_positions_bench \
  load_cluster_bench || exit 1
[ -n "$out" ] || out=$(mktemp -d "${TMPDIR:-/tmp}/xctl-load-results-XXXXXX")
mkdir -p "$out"
export XCTL_XCTLD=$build/server/xctld
rc=0
start=$(date +%s)
# run NAME BENCH FLAGS...: one benchmark, its output in $out/NAME.txt.
run() {
  local name=$1 bench=$2
  shift 2
  echo "=== load_${bench}_bench $* ${quick[*]:-} ${args[*]:-}"
  local t0
  t0=$(date +%s)
  "$build/bench/load/load_${bench}_bench" "$@" "${quick[@]}" "${args[@]}" 2>&1 | tee "$out/$name.txt"
  local status=${PIPESTATUS[0]}
  echo "=== load_${bench}_bench: exit $status after $(( $(date +%s) - t0 )) s"
  [ "$status" -eq 0 ] || rc=1
}
run streams streams
run strategies strategies
# 10,000 strategies over 100 pairs (issue #15: tick -> OnTick p99 < 5 ms, tick
# -> order stored p99 < 100 ms); full runs only, against the 1,000 above.
[ ${#quick[@]} -gt 0 ] || run strategies-10k strategies --per-pair=100 --no-baseline
run positions positions
run cluster cluster
echo
echo "=== summary: $(date -u +%FT%TZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
     "$(( $(date +%s) - start )) s; full outputs in $out"
{
  echo "bench|scenario|figure|value|baseline|ratio|target|verdict"
  grep -h '^RESULT|' "$out"/streams.txt "$out"/strategies.txt "$out"/strategies-10k.txt \
    "$out"/positions.txt "$out"/cluster.txt 2>/dev/null |
    cut -d'|' -f2-
} | column -t -s'|'
exit $rc
