#!/usr/bin/env bash
# The reference gateway against the same mock without it, in the same run.
#
#   bench/refgate-throughput.sh              # 3 rounds of 10 s per measurement
#   ROUNDS=1 DURATION=5 bench/refgate-throughput.sh
#
# `gauntlet run` drives tools/call of `echo` (mock-servers/echo.yaml: no service time, no
# errors, JSON answers) in the closed model. The mock is the run's own in-process echo server on
# a fixed port; each round measures, back to back (the order flips every round):
#   - direct:  `gateway: none` — the driver talks to the mock;
#   - gateway: `gateway: { url: … }` — the driver talks to `gauntlet gateway` (a fresh process
#              for each measurement), which routes to the same mock on the same port;
# once with SESSIONS sessions (throughput) and once with one session (the per-call overhead,
# without queueing). Medians over the rounds: calls/s, p50 and p99 (steady phase).
# Also: the VmRSS of a gateway configured with 20 stdio servers, none used (nothing spawned).
# Targets: gateway/direct calls/s ≥ 0.5; p50 overhead (one session) < 0.3 ms; RSS < 30 MB.
# Numbers go to docs/benchmarks.md by hand, with the date.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
SESSIONS="${SESSIONS:-32}"
MIN_RATIO="${MIN_RATIO:-0.5}"
MAX_OVERHEAD_MS="${MAX_OVERHEAD_MS:-0.3}"
MAX_RSS_KB="${MAX_RSS_KB:-30000}"
# Extra flags for `gauntlet gateway`, e.g. GATEWAY_FLAGS="--threads 1".
GATEWAY_FLAGS="${GATEWAY_FLAGS:-}"
NAME=refgate-throughput
. bench/common.sh

cargo build --release --quiet --bin gauntlet
BIN="$ROOT/target/release/gauntlet"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

# The echo tool as the gateway advertises it (so that it starts the server on the first call:
# the mock exists only while a run goes).
ECHO_TOOL='{"name":"echo","description":"Return the given text unchanged.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}}'
cat >"$WORK/gateway.json" <<EOF
{"mcpServers": {"echo": {"url": "http://127.0.0.1:$PORT/mcp", "transport": "http"}},
 "gauntlet": {"servers": {"echo": {"tools": [$ECHO_TOOL]}}}}
EOF

start_gateway() { # CONFIG → sets GW_PID and GW_URL
    rm -f "$WORK/gw.out"
    # shellcheck disable=SC2086 # GATEWAY_FLAGS is a list of words
    "$BIN" gateway "$1" --listen 127.0.0.1:0 $GATEWAY_FLAGS >"$WORK/gw.out" 2>"$WORK/gw.err" &
    GW_PID=$!
    for _ in $(seq 200); do grep -qs serving "$WORK/gw.out" && break; sleep 0.05; done
    GW_URL="$(awk '/serving gateway at/ {print $4; exit}' "$WORK/gw.out")"
    [ -n "$GW_URL" ] || die "the gateway did not start: $(cat "$WORK/gw.err")"
}

stop_gateway() {
    kill "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
    GW_PID=""
}

scenario() { # GATEWAY-YAML SESSIONS → path
    local f="$WORK/scenario-$RANDOM.yaml"
    cat >"$f" <<EOF
name: refgate-throughput
duration: ${DURATION}s
warmup: 2s
servers:
  echo: { catalog: $ROOT/mock-servers/echo.yaml, port: $PORT }
gateway: $1
load:
  model: closed
  sessions: $2
  timeout: 5s
  mix: [ { call: echo.echo, args: { text: hello } } ]
EOF
    echo "$f"
}

measure() { # direct|gateway SESSIONS → "calls/s p50 p99"
    local gw="none"
    if [ "$1" = gateway ]; then
        start_gateway "$WORK/gateway.json"
        gw="{ url: \"$GW_URL\" }"
    fi
    rm -rf "$WORK/out"
    "$BIN" run "$(scenario "$gw" "$2")" --quiet --out "$WORK/out" >/dev/null \
        || die "gauntlet run ($1, $2 sessions) failed"
    [ "$1" = gateway ] && stop_gateway
    python3 - "$WORK/out/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = [x for x in r["calls"] if x["phase"] == "steady"][0]
if c["count"] != c["ok"]:
    sys.exit(f"{c['count'] - c['ok']} calls were not ok: {c['outcomes']}")
steady = r["duration_s"] - 2  # the warm-up is not steady
print(f'{c["ok"] / steady:.0f} {c["latency_ms"]["p50"]:.3f} {c["latency_ms"]["p99"]:.3f}')
PY
}


load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
    log "round $r/$ROUNDS"
    if [ $((r % 2)) -eq 1 ]; then order="direct gateway"; else order="gateway direct"; fi
    for kind in $order; do
        measure "$kind" "$SESSIONS" >>"$WORK/$kind-tput.txt"
        measure "$kind" 1 >>"$WORK/$kind-one.txt"
    done
done

col() { awk -v c="$2" '{print $c}' "$WORK/$1.txt" | median; }
dt=$(col direct-tput 1); gt=$(col gateway-tput 1)
ratio=$(awk -v g="$gt" -v d="$dt" 'BEGIN {printf "%.2f", g / d}')
overhead=$(awk -v g="$(col gateway-one 2)" -v d="$(col direct-one 2)" 'BEGIN {printf "%.3f", g - d}')

# 20 servers configured, none used.
python3 - "$WORK/twenty.json" "$BIN" "$ROOT/mock-servers/echo.yaml" "$ECHO_TOOL" <<'PY'
import json, sys
path, binary, catalog, tool = sys.argv[1:]
servers = {f"s{i:02}": {"command": binary, "args": ["mock", "--stdio", catalog]} for i in range(20)}
blocks = {name: {"tools": [json.loads(tool)]} for name in servers}
json.dump({"mcpServers": servers, "gauntlet": {"servers": blocks}}, open(path, "w"))
PY
start_gateway "$WORK/twenty.json"
sleep 2
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$GW_PID/status")
children=$(pgrep -P "$GW_PID" | wc -l || true)
stop_gateway

echo "| measurement | direct | through gauntlet gateway |"
echo "|---|---:|---:|"
echo "| calls/s, closed model, $SESSIONS sessions | $dt | $gt |"
echo "| p50 / p99 ms, $SESSIONS sessions | $(col direct-tput 2) / $(col direct-tput 3) | $(col gateway-tput 2) / $(col gateway-tput 3) |"
echo "| calls/s, one session | $(col direct-one 1) | $(col gateway-one 1) |"
echo "| p50 / p99 ms, one session | $(col direct-one 2) / $(col direct-one 3) | $(col gateway-one 2) / $(col gateway-one 3) |"
echo
echo "gateway/direct calls/s: $ratio (target ≥ $MIN_RATIO); p50 overhead, one session: $overhead ms (target < $MAX_OVERHEAD_MS ms)"
echo "load average before / after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine)"
echo "RSS with 20 servers configured, none used: $rss_kb kB, $children processes spawned (target < $MAX_RSS_KB kB, 0)"
fail=0
awk -v r="$ratio" -v m="$MIN_RATIO" 'BEGIN {exit !(r >= m)}' || { log "throughput ratio below $MIN_RATIO"; fail=1; }
awk -v o="$overhead" -v m="$MAX_OVERHEAD_MS" 'BEGIN {exit !(o < m)}' || { log "p50 overhead not below $MAX_OVERHEAD_MS ms"; fail=1; }
[ "$rss_kb" -lt "$MAX_RSS_KB" ] && [ "$children" -eq 0 ] || { log "RSS or spawned processes over target"; fail=1; }
exit "$fail"
