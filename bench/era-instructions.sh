#!/usr/bin/env bash
# The mock's user-space instructions per tools/call in each protocol era, counted by callgrind:
# a measure that other load on the machine does not disturb (wall-clock throughput is
# bench/era-throughput.sh).
#
#   bench/era-instructions.sh            # 2 rounds of 5 s per era
#   ROUNDS=1 DURATION=3 bench/era-instructions.sh
#
# One `gauntlet mock mock-servers/echo.yaml` runs under `valgrind --tool=callgrind`. For each
# era (the requests of bench/mcp-call.lua: session, stateless, and the `sized` control) the
# counters are zeroed, wrk sends tools/call of `echo` on 8 connections for DURATION seconds,
# and the counters are dumped: instructions / answered calls. Kernel work is not counted.
# Reported: the medians per era and the ratio session / stateless (above 1: a stateless call
# costs the mock fewer instructions). Numbers go to docs/benchmarks.md by hand.
#
# Environment: ROUNDS [2]  DURATION [5] (s)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROUNDS="${ROUNDS:-2}"
DURATION="${DURATION:-5}"
NAME=era-instructions
. bench/common.sh

for tool in wrk valgrind; do
    command -v "$tool" >/dev/null || { log "installing $tool"; apt-get install -y -qq "$tool" >/dev/null; }
done
cargo build --release --quiet --bin gauntlet
BIN="$ROOT/target/release/gauntlet"

start_mock 60 valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" "$BIN"
SID="$(session)"
[ -n "$SID" ] || die "no session from initialize"

# count ERA: prints instructions per call.
count() {
    local sid="$SID" dump
    [ "$1" = stateless ] && sid="-"
    wrk -t1 -c8 -d1s -s bench/mcp-call.lua "$URL" -- "$sid" "$1" >/dev/null
    callgrind_control -z "$MOCK_PID" >/dev/null 2>&1
    wrk -t1 -c8 -d"${DURATION}s" --timeout 30s -s bench/mcp-call.lua "$URL" -- "$sid" "$1" >"$WORK/wrk.out" 2>&1 \
        || die "wrk ($1) failed: $(cat "$WORK/wrk.out")"
    callgrind_control -d "$1" "$MOCK_PID" >/dev/null 2>&1
    grep -q ' bad=0 non200=0 err_connect=0 err_read=0 err_write=0 err_timeout=0' "$WORK/wrk.out" \
        || die "wrk ($1) saw bad answers: $(grep WRK_RESULT "$WORK/wrk.out")"
    dump="$(ls -t "$WORK"/cg."$MOCK_PID".* | head -1)"
    awk -v f="$dump" '/WRK_RESULT/ {for (i=1;i<=NF;i++) {split($i,kv,"="); if (kv[1]=="requests") n=kv[2]}}
        END {while ((getline l < f) > 0) if (l ~ /^summary:/) {split(l, s, " "); printf "%.0f\n", s[2] / n}}' \
        "$WORK/wrk.out"
}

ERAS=(session stateless sized)
for r in $(seq "$ROUNDS"); do
    for era in "${ERAS[@]}"; do
        n="$(count "$era")"
        log "round $r  $era: $n instructions per call"
        echo "$n" >>"$WORK/$era.txt"
    done
done

echo "| era | mock instructions per call (user space) |"
echo "|---|---:|"
for era in "${ERAS[@]}"; do printf '| %s | %.0f |\n' "$era" "$(median <"$WORK/$era.txt")"; done
s=$(median <"$WORK/session.txt"); t=$(median <"$WORK/stateless.txt"); z=$(median <"$WORK/sized.txt")
awk -v s="$s" -v t="$t" -v z="$z" 'BEGIN {printf "\nsession / stateless: %.3f; sized / stateless: %.3f\n", s / t, z / t}'
echo "(medians of $ROUNDS rounds of ${DURATION} s under callgrind, 8 connections)"
