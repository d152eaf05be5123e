#!/usr/bin/env bash
# What a fault timeline costs a mock while none of its windows is open.
#
# Two `gauntlet mock mock-servers/echo.yaml --control …` processes side by side: A with an empty
# timeline, B with 10 windows (every kind that acts on requests or connections: latency, stall,
# errors, malformed, outage, flapping, slow start, list change, data change, session loss) added
# through the control API to open an hour from now. Both are driven by wrk with bench/mcp-call.lua
# (tools/call of `echo`, JSON answers, one initialized session each), ROUNDS rounds of A then B
# (the order flips every round), each a WARMUP-second run (discarded) then a DURATION-second
# measured run. Reported: the median calls/s of each and the median of the per-round ratios B/A.
# Exits non-zero when the ratio is below MIN_RATIO, or on any bad response or socket error.
#
# Both servers are pinned to SERVER_CPUS and wrk to WRK_CPU (taskset), as in mock-throughput.sh.
#
# Environment (defaults in brackets): ROUNDS [5]  DURATION [10] (s)  WARMUP [2] (s)  CONNS [64]
#   WRK_CPU [1]  SERVER_CPUS [0]  MIN_RATIO [0.95]  GAUNTLET [target/release/gauntlet]
#   NO_BUILD [] (1: use the existing binary)
#
# Usage: bench/fault-overhead.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-64}
WRK_CPU=${WRK_CPU-1}
SERVER_CPUS=${SERVER_CPUS-0}
MIN_RATIO=${MIN_RATIO:-0.95}
GAUNTLET=${GAUNTLET:-target/release/gauntlet}
PROTO=2025-11-25
LUA=bench/mcp-call.lua

log() { printf '%s\n' "$*" >&2; }
die() { log "fault-overhead: $*"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fault-overhead.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT

command -v wrk >/dev/null || die "wrk is required (apt-get install wrk)"
command -v curl >/dev/null || die "curl is required"
PIN_WRK=()
PIN_SERVER=()
if command -v taskset >/dev/null; then
    [ -n "$WRK_CPU" ] && PIN_WRK=(taskset -c "$WRK_CPU")
    [ -n "$SERVER_CPUS" ] && PIN_SERVER=(taskset -c "$SERVER_CPUS")
fi
if [ -z "${NO_BUILD:-}" ]; then
    log "building (release)"
    cargo build --release --bin gauntlet >&2
fi
[ -x "$GAUNTLET" ] || die "$GAUNTLET missing"

# start NAME: a mock with a control API; sets URL and API.
start() {
    local name=$1 i
    "${PIN_SERVER[@]}" "$GAUNTLET" mock mock-servers/echo.yaml --control 127.0.0.1:0 \
        >"$WORK/$name.log" 2>&1 &
    PIDS+=("$!")
    for i in $(seq 1 200); do
        URL=$(sed -n 's#^serving [^ ]* at \(http://[^ ]*\)$#\1#p' "$WORK/$name.log" | head -n1)
        API=$(sed -n 's#^control at \(http://[^ ]*\)$#\1#p' "$WORK/$name.log" | head -n1)
        [ -n "$URL" ] && [ -n "$API" ] && return 0
        sleep 0.05
    done
    cat "$WORK/$name.log" >&2
    die "$name did not start"
}

# handshake URL: initialize + notifications/initialized; prints the session id.
handshake() {
    local url=$1 sid
    sid=$(curl -sS -D - -o /dev/null -X POST "$url" -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' \
        --data '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"'"$PROTO"'","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}' \
        | tr -d '\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: *//p')
    [ -n "$sid" ] || die "no session from $url"
    curl -sS -o /dev/null -X POST "$url" -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' -H "Mcp-Session-Id: $sid" \
        -H "MCP-Protocol-Version: $PROTO" --data '{"jsonrpc":"2.0","method":"notifications/initialized"}'
    printf '%s\n' "$sid"
}

# rps URL SID SECONDS: calls/s of one wrk run.
rps() {
    local line f
    "${PIN_WRK[@]}" wrk -t1 -c"$CONNS" -d"$3s" --timeout 10s -s "$LUA" "$1" -- "$2" >"$WORK/wrk.out" 2>&1 \
        || die "wrk failed: $(cat "$WORK/wrk.out")"
    line=$(grep '^WRK_RESULT' "$WORK/wrk.out") || die "no wrk result: $(cat "$WORK/wrk.out")"
    for f in bad non200 err_connect err_read err_write err_timeout err_status; do
        grep -q " $f=0\b" <<<"$line" || die "bad round: $line"
    done
    sed -n 's/.* rps=\([^ ]*\).*/\1/p' <<<"$line"
}

start empty; URL_A=$URL
start windows; URL_B=$URL; API_B=$API
for f in \
    '"latency": {"fixed": "300ms"}' '"latency": "stall"' '"errors": {"rate": "50%", "rpc": -32603}' \
    '"malformed": "invalid_json"' '"outage": "refuse"' '"flapping": {"period": "2s", "duty": "50%"}' \
    '"slow_start": "1s"' '"list_change": {"add": ["fresh"]}' '"data_change": {}' '"session_loss": true'; do
    code=$(curl -sS -o "$WORK/add.out" -w '%{http_code}' "$API_B/faults" \
        -d '{"server": "echo", "at": "1h", "for": "1m", '"$f"'}')
    [ "$code" = 201 ] || die "adding $f: $code $(cat "$WORK/add.out")"
done
SID_A=$(handshake "$URL_A")
SID_B=$(handshake "$URL_B")

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
: >"$WORK/results"
for r in $(seq 1 "$ROUNDS"); do
    order="A B"; [ $((r % 2)) = 0 ] && order="B A"
    for s in $order; do
        if [ "$s" = A ]; then url=$URL_A sid=$SID_A; else url=$URL_B sid=$SID_B; fi
        rps "$url" "$sid" "$WARMUP" >/dev/null
        eval "R_$s=\$(rps \"$url\" \"$sid\" \"$DURATION\")"
    done
    printf '%s\t%s\n' "$R_A" "$R_B" >>"$WORK/results"
    log "round $r: empty $R_A calls/s, 10 windows $R_B calls/s"
done
a=$(cut -f1 "$WORK/results" | median)
b=$(cut -f2 "$WORK/results" | median)
ratio=$(awk -F'\t' '{print $2 / $1}' "$WORK/results" | median)
printf '| timeline | calls/s (median of %s) |\n|---|---|\n| empty | %.0f |\n| 10 windows, none open | %.0f |\n\nratio %.3f (median of per-round ratios; %s connections, %s s runs)\n' \
    "$ROUNDS" "$a" "$b" "$ratio" "$CONNS" "$DURATION"
awk -v r="$ratio" -v min="$MIN_RATIO" 'BEGIN {exit !(r < min)}' && die "ratio $ratio below $MIN_RATIO"
exit 0
