#!/usr/bin/env bash
# Mock tools/call throughput in each protocol era, side by side in the same run, on one mock.
#
#   bench/era-throughput.sh              # 4 rounds of 10 s per measurement
#   ROUNDS=2 DURATION=5 bench/era-throughput.sh
#
# One `gauntlet mock mock-servers/echo.yaml` process (pinned to CPU $SERVER_CPU) serves tools/call
# of `echo` with JSON answers. Each round measures, in an order that flips every round (what is
# measured second in a pair tends to come out a few per cent slower, so an even number of rounds
# balances the order; odd ROUNDS are refused):
#   - wrk -c64 (pinned to CPU $WRK_CPU) with bench/mcp-call.lua, the foundation benchmark's
#     method: the session era (2025-11-25, one session) and the stateless era (2026-07-28: per
#     request `_meta`, Mcp-Method / Mcp-Name headers); and, as a control, the session era with
#     requests as large as stateless ones (`sized`: the same `_meta` bytes under keys the
#     revision does not reserve, an Mcp-Method header), which tells the cost of the revision's
#     bytes from the cost of serving without a session;
#   - gauntlet's driver (closed model, 64 sessions, 10 s) in 2024-11-05 (HTTP+SSE: wrk cannot
#     speak it), 2025-11-25 and 2026-07-28, so the legacy transport is compared with the others
#     by the same client.
# Reported: medians of calls/s and p99 per era (and, for wrk, the mock's own CPU time per call,
# which other load on the machine disturbs far less), and the ratios stateless/session (wrk and
# driver) and legacy/session (driver). The stateless era should not be slower than the session era
# (exit 1 if the wrk ratio is below MIN_RATIO). Numbers go to docs/benchmarks.md by hand.
#
# Environment: ROUNDS [4]  DURATION [10] (s)  WARMUP [2] (s)  SERVER_CPU [0]  WRK_CPU [1]
#              MIN_RATIO [0.95]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROUNDS="${ROUNDS:-4}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
SERVER_CPU="${SERVER_CPU-0}"
WRK_CPU="${WRK_CPU-1}"
MIN_RATIO="${MIN_RATIO:-0.95}"
CONNS=64
if [ $((ROUNDS % 2)) != 0 ] || [ "$ROUNDS" -lt 2 ]; then
    echo "era-throughput: ROUNDS must be even (the order flips every round)" >&2
    exit 2
fi
NAME=era-throughput
. bench/common.sh

command -v wrk >/dev/null || { log "installing wrk"; apt-get install -y -qq wrk >/dev/null; }
PIN_SERVER=(); PIN_WRK=()
if command -v taskset >/dev/null; then
    [ -n "$SERVER_CPU" ] && PIN_SERVER=(taskset -c "$SERVER_CPU")
    [ -n "$WRK_CPU" ] && PIN_WRK=(taskset -c "$WRK_CPU")
fi
cargo build --release --quiet --bin gauntlet
BIN="$ROOT/target/release/gauntlet"

start_mock 5 "${PIN_SERVER[@]}" "$BIN"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$MOCK_PID/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# wrk_era session|sized|stateless: prints "calls/s p99_ms mock_cpu_us_per_call".
wrk_era() {
    local sid="-" secs t0 t1
    [ "$1" != stateless ] && sid="$(session)"
    for secs in "$WARMUP" "$DURATION"; do
        t0=$(cpu_ticks)
        "${PIN_WRK[@]}" wrk -t1 -c"$CONNS" -d"${secs}s" --timeout 10s -s bench/mcp-call.lua "$URL" \
            -- "$sid" "$1" >"$WORK/wrk.out" 2>&1 || die "wrk ($1) failed: $(cat "$WORK/wrk.out")"
        t1=$(cpu_ticks)
    done
    grep -q ' bad=0 non200=0 err_connect=0 err_read=0 err_write=0 err_timeout=0' "$WORK/wrk.out" \
        || die "wrk ($1) saw bad answers: $(grep WRK_RESULT "$WORK/wrk.out")"
    awk -v t=$((t1 - t0)) -v us="$TICK_US" '/WRK_RESULT/ {for (i=1;i<=NF;i++) {split($i,kv,"="); v[kv[1]]=kv[2]}
        printf "%.0f %.3f %.2f\n", v["rps"], v["p99_us"]/1000, t * us / v["requests"]}' "$WORK/wrk.out"
}

# driver_era REVISION: prints "calls/s p99_ms" of a closed-model run.
driver_era() {
    cat >"$WORK/scenario.yaml" <<EOF
name: era-throughput
duration: ${DURATION}s
protocol: $1
servers:
  echo: { catalog: $ROOT/mock-servers/echo.yaml }
gateway: { url: "$URL" }
load:
  model: closed
  sessions: $CONNS
  timeout: 5s
  mix: [ { call: echo.echo, args: { text: hello } } ]
EOF
    rm -rf "$WORK/g"
    "${PIN_WRK[@]}" "$BIN" run "$WORK/scenario.yaml" --quiet --out "$WORK/g" >/dev/null \
        || die "gauntlet run ($1) failed"
    python3 - "$WORK/g/results.json" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = [x for x in r["calls"] if x["phase"] == "steady"][0]
assert c["ok"] == c["count"], f'{sys.argv[2]}: {c["outcomes"]}'
assert r["protocols"][0]["revision"] == sys.argv[2], r["protocols"]
print(f'{c["ok"] / r["duration_s"]:.0f} {c["latency_ms"]["p99"]:.3f}')
PY
}

MEASURES=(wrk:session wrk:stateless wrk:sized driver:2024-11-05 driver:2025-11-25 driver:2026-07-28)
for r in $(seq "$ROUNDS"); do
    order=("${MEASURES[@]}")
    if [ $((r % 2)) = 0 ]; then
        order=(); for ((i=${#MEASURES[@]}-1; i>=0; i--)); do order+=("${MEASURES[i]}"); done
    fi
    for m in "${order[@]}"; do
        tool=${m%%:*} era=${m#*:}
        if [ "$tool" = wrk ]; then line=$(wrk_era "$era"); else line=$(driver_era "$era"); fi
        log "round $r  $tool $era: $line"
        echo "$r $line" >>"$WORK/$tool-$era.txt"
    done
done

col() { awk -v c="$2" '{print $c}' "$WORK/$1.txt" | median; }
# ratio A B: the median over rounds of A/B (calls/s measured in the same round).
ratio() { join "$WORK/$1.txt" "$WORK/$2.txt" | awk '{h = (NF - 1) / 2; print $2 / $(2 + h)}' | median | xargs printf '%.2f'; }

echo "| client | era | calls/s | p99 ms | mock CPU µs/call |"
echo "|---|---|---:|---:|---:|"
for m in "${MEASURES[@]}"; do
    tool=${m%%:*} era=${m#*:}
    cpu="-"
    [ "$tool" = wrk ] && cpu=$(col "$tool-$era" 4)
    printf '| %s | %s | %.0f | %s | %s |\n' "$tool" "$era" "$(col "$tool-$era" 2)" "$(col "$tool-$era" 3)" "$cpu"
done
echo
w=$(ratio wrk-stateless wrk-session)
# The mock's CPU per call, session over stateless (above 1: a stateless call costs the mock less).
cpu=$(join "$WORK/wrk-session.txt" "$WORK/wrk-stateless.txt" | awk '{print $4 / $7}' | median | xargs printf '%.3f')
echo "stateless / session: wrk $w, driver $(ratio driver-2026-07-28 driver-2025-11-25); legacy SSE / session (driver): $(ratio driver-2024-11-05 driver-2025-11-25)"
sized=$(join "$WORK/wrk-sized.txt" "$WORK/wrk-stateless.txt" | awk '{print $4 / $7}' | median | xargs printf '%.3f')
echo "mock CPU per call, session / stateless: $cpu; session with the stateless request's size / stateless: $sized"
echo "(medians of $ROUNDS rounds of ${DURATION} s; mock pinned to CPU ${SERVER_CPU:-none}, clients to CPU ${WRK_CPU:-none})"
awk -v r="$w" -v m="$MIN_RATIO" 'BEGIN {exit !(r >= m)}' || die "stateless/session $w is below $MIN_RATIO"
