#!/usr/bin/env bash
# gauntlet's driver against wrk and oha, side by side in the same run, on the same mock.
#
#   bench/driver-throughput.sh            # 3 rounds of 10 s each
#   ROUNDS=1 DURATION=5 bench/driver-throughput.sh
#
# One `gauntlet mock mock-servers/echo.yaml` process serves tools/call of `echo` over Streamable
# HTTP (JSON answers). Each round drives it, one after the other, with:
#   - gauntlet run (closed model, 64 sessions, every response parsed and recorded in HDR),
#   - wrk -c64 with bench/mcp-call.lua (one session, responses checked in Lua),
#   - oha -c64 (one session, a fixed body; `cargo install oha --locked` when missing).
# Medians over the rounds: calls/s, p50, p99, and gauntlet's calls/s as a ratio of the faster
# of wrk and oha (target: ≥ 0.8). Numbers go to docs/benchmarks.md by hand, with the date.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
CONNS=64
NAME=driver-throughput
. bench/common.sh

command -v wrk >/dev/null || { log "installing wrk"; apt-get install -y -qq wrk >/dev/null; }
command -v oha >/dev/null || { log "installing oha"; cargo install oha --locked --quiet; }
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --quiet --bin gauntlet
BIN="$ROOT/target/release/gauntlet"

start_mock 5 "$BIN"

cat >"$WORK/scenario.yaml" <<EOF
name: driver-throughput
duration: ${DURATION}s
servers:
  echo: { catalog: $ROOT/mock-servers/echo.yaml }
gateway: { url: "$URL" }
load:
  model: closed
  sessions: $CONNS
  timeout: 5s
  mix: [ { call: echo.echo, args: { text: hello } } ]
EOF

run_gauntlet() {
    "$BIN" run "$WORK/scenario.yaml" --quiet --out "$WORK/g" >/dev/null
    python3 - "$WORK/g/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = [x for x in r["calls"] if x["phase"] == "steady"][0]
print(f'{c["ok"] / r["duration_s"]:.0f} {c["latency_ms"]["p50"]:.3f} {c["latency_ms"]["p99"]:.3f} {str(r["generator_saturated"]).lower()}')
PY
}

run_wrk() {
    local sid; sid="$(session)"
    wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 10s -s bench/mcp-call.lua "$URL" -- "$sid" \
        | awk '/WRK_RESULT/ {for (i=1;i<=NF;i++) {split($i,kv,"="); v[kv[1]]=kv[2]} printf "%.0f %.3f %.3f\n", v["rps"], v["p50_us"]/1000, v["p99_us"]/1000}'
}

run_oha() {
    local sid; sid="$(session)"
    oha -z "${DURATION}s" -c "$CONNS" --no-tui --output-format json -m POST \
        -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
        -H "mcp-session-id: $sid" -H 'mcp-protocol-version: 2025-11-25' \
        -d '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}' \
        "$URL" \
        | python3 -c '
import json, sys
r = json.load(sys.stdin)
s, p = r["summary"], r["latencyPercentiles"]
print("%.0f %.3f %.3f" % (s["requestsPerSec"] * s["successRate"], p["p50"] * 1000, p["p99"] * 1000))'
}


for r in $(seq "$ROUNDS"); do
    log "round $r/$ROUNDS"
    run_gauntlet >>"$WORK/gauntlet.txt"
    run_wrk >>"$WORK/wrk.txt"
    run_oha >>"$WORK/oha.txt"
done

col() { awk -v c="$2" '{print $c}' "$WORK/$1.txt" | median; }
g=$(col gauntlet 1); w=$(col wrk 1); o=$(col oha 1)
best=$(( w > o ? w : o ))
ratio=$(awk -v g="$g" -v b="$best" 'BEGIN {printf "%.2f", g / b}')
echo "| tool | calls/s | p50 ms | p99 ms |"
echo "|---|---|---|---|"
echo "| gauntlet (closed, $CONNS sessions) | $g | $(col gauntlet 2) | $(col gauntlet 3) |"
echo "| wrk -c$CONNS | $w | $(col wrk 2) | $(col wrk 3) |"
echo "| oha -c$CONNS | $o | $(col oha 2) | $(col oha 3) |"
echo
echo "gauntlet / faster of wrk and oha: $ratio (target ≥ 0.8); generator_saturated: $(awk '{print $4}' "$WORK/gauntlet.txt" | tr '\n' ' ')"
awk -v r="$ratio" 'BEGIN {exit !(r >= 0.8)}' || die "gauntlet is below 0.8 × the faster peer"
