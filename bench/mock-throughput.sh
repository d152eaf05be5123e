#!/usr/bin/env bash
# Throughput of `gauntlet mock` against a minimal hyper server, side by side in the same run.
#
# One mock serving mock-servers/echo.yaml and examples/bare_mcp (hyper 1: parse the JSON-RPC body,
# answer a fixed tools/call result) are both driven by wrk with bench/mcp-call.lua: tools/call of
# `echo` over Streamable HTTP with JSON responses, inside an initialized session (the bare server
# gets the same handshake and headers; it simply has no session to return). ROUNDS rounds of
# {16, 64, 256} connections x {bare, mock}; within a round each concurrency runs bare and mock
# back to back, and the order flips every round so neither server always goes first. Each run is
# a WARMUP-second wrk run (discarded) then a DURATION-second measured run on the same session.
# Reported: the median over rounds of calls/s, p50 and p99 for each server, and the median over
# rounds of the ratio mock/bare of calls/s (a round's bare and mock runs are measured back to back,
# so the ratio within a pair is less exposed to other load than the medians are). Then the idle
# RSS of one `gauntlet mock` process serving the six domain catalogues.
#
# CPU placement (2-core machine): wrk runs one thread pinned to CPU $WRK_CPU and both servers are
# pinned to CPU $SERVER_CPUS with taskset, so the load generator and the server under test never
# compete for a core (tokio sizes its worker pool from the affinity mask: one worker). Unpinned,
# they share both cores and how the scheduler splits them varies from run to run. Both servers
# get exactly the same setup, so the ratio is fair even though absolute numbers depend on whatever
# else runs on the machine. For each measured run the server's own CPU time per call is also
# recorded (from /proc/PID/stat); other load on the machine disturbs it much less than calls/s.
#
# Shared machine: each bare/mock pair starts only once the machine has been at most MAX_FOREIGN %
# busy for a second (waiting up to QUIET_WAIT s), and a pair is measured again (up to PAIR_TRIES times, keeping the
# least disturbed attempt) when, during either run, the busier of server and wrk fell more than
# MAX_LOST % short of a full core: undisturbed, one of them runs its core flat out.
#
# Exits non-zero if any round saw a non-200 response or a socket error, if the ratio at
# concurrency 64 is below MIN_RATIO, or if the idle RSS is not under MAX_RSS_BYTES.
#
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [10] (s)  WARMUP [2] (s)  CONCURRENCY ["16 64 256"]
#   WRK_CPU [1] (empty: unpinned)  WRK_THREADS [1]  SERVER_CPUS [0] (empty: unpinned)
#   MIN_RATIO [0.7]  MAX_RSS_BYTES [20000000]  NO_BUILD [] (1: use the existing binaries)
#   MAX_LOST [10] (%)  PAIR_TRIES [5]  MAX_FOREIGN [10] (%)  QUIET_WAIT [120] (s): above
#   OUT [target/bench/mock-throughput.md] (the Markdown report is also written there)
#
# Usage: bench/mock-throughput.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONCURRENCY=${CONCURRENCY:-"16 64 256"}
WRK_CPU=${WRK_CPU-1}
WRK_THREADS=${WRK_THREADS:-1}
SERVER_CPUS=${SERVER_CPUS-0}
MIN_RATIO=${MIN_RATIO:-0.7}
MAX_RSS_BYTES=${MAX_RSS_BYTES:-20000000}
MAX_FOREIGN=${MAX_FOREIGN:-10}
MAX_LOST=${MAX_LOST:-10}
PAIR_TRIES=${PAIR_TRIES:-5}
QUIET_WAIT=${QUIET_WAIT:-120}
OUT=${OUT:-target/bench/mock-throughput.md}
PROTO=2025-11-25
CATALOGUES=(translation freight fraud sales inventory billing)

GAUNTLET=target/release/gauntlet
BARE=target/release/examples/bare_mcp
LUA=bench/mcp-call.lua

NAME=mock-throughput
. bench/common.sh

# --- tools -----------------------------------------------------------------------------------

if ! command -v wrk >/dev/null; then
    log "installing wrk (Debian package)"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get install -y -qq wrk >/dev/null 2>&1 \
        || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null; } \
        || die "could not install wrk"
fi
command -v curl >/dev/null || die "curl is required"

PIN_WRK=()
PIN_SERVER=()
if command -v taskset >/dev/null; then
    [ -n "$WRK_CPU" ] && PIN_WRK=(taskset -c "$WRK_CPU")
    [ -n "$SERVER_CPUS" ] && PIN_SERVER=(taskset -c "$SERVER_CPUS")
else
    log "taskset not found: nothing is pinned"
fi

if [ -z "${NO_BUILD:-}" ]; then
    log "building (release)"
    cargo build --release --example bare_mcp --bin gauntlet >&2
fi
[ -x "$GAUNTLET" ] || die "$GAUNTLET missing"
[ -x "$BARE" ] || die "$BARE missing"

# --- servers ---------------------------------------------------------------------------------

# start NAME PATTERN CMD...: runs CMD in the background with stdout+stderr in $WORK/NAME.log,
# waits for a line matching PATTERN (sed -n regex with one group: the URL) and sets START_URL
# and START_PID.
start() {
    local name=$1 pattern=$2
    shift 2
    "$@" >"$WORK/$name.log" 2>&1 &
    START_PID=$!
    PIDS+=("$START_PID")
    local i
    for i in $(seq 1 200); do
        START_URL=$(sed -n "s#$pattern#\1#p" "$WORK/$name.log" | head -n1)
        [ -n "$START_URL" ] && return 0
        kill -0 "$START_PID" 2>/dev/null || break
        sleep 0.05
    done
    log "--- $name output:"
    cat "$WORK/$name.log" >&2
    die "$name did not start"
}

# handshake URL: initialize + notifications/initialized; prints the Mcp-Session-Id ("-" if the
# server returned none).
handshake() {
    local url=$1 hdrs="$WORK/init.headers" code sid
    code=$(curl -sS -o "$WORK/init.body" -D "$hdrs" -w '%{http_code}' -X POST "$url" \
        -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' \
        --data '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"'"$PROTO"'","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}') \
        || die "initialize at $url failed"
    [ "$code" = 200 ] || die "initialize at $url answered HTTP $code: $(cat "$WORK/init.body")"
    sid=$(tr -d '\r' <"$hdrs" | sed -n 's/^[Mm][Cc][Pp]-[Ss][Ee][Ss][Ss][Ii][Oo][Nn]-[Ii][Dd]: *//p' | head -n1)
    local extra=()
    [ -n "$sid" ] && extra=(-H "Mcp-Session-Id: $sid")
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$url" \
        -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' \
        -H "MCP-Protocol-Version: $PROTO" "${extra[@]}" \
        --data '{"jsonrpc":"2.0","method":"notifications/initialized"}') \
        || die "notifications/initialized at $url failed"
    [ "$code" = 202 ] || die "notifications/initialized at $url answered HTTP $code (want 202)"
    printf '%s\n' "${sid:--}"
}

# wrk_run URL CONNS SECONDS SESSION: runs wrk, leaving its WRK_RESULT line in WRK_LINE and its
# own CPU time (user+system, µs) in WRK_USED_US; dies on a bad response or a socket error.
wrk_run() {
    local url=$1 conns=$2 secs=$3 sid=$4 field TIMEFORMAT='%3U %3S'
    { time "${PIN_WRK[@]}" wrk -t"$WRK_THREADS" -c"$conns" -d"${secs}s" --timeout 10s \
        -s "$LUA" "$url" -- "$sid" >"$WORK/wrk.out" 2>"$WORK/wrk.err"; } 2>"$WORK/wrk.time" \
        || die "wrk against $url failed: $(cat "$WORK/wrk.err")"
    WRK_LINE=$(grep '^WRK_RESULT' "$WORK/wrk.out") \
        || die "wrk against $url printed no result: $(cat "$WORK/wrk.out" "$WORK/wrk.err")"
    WRK_USED_US=$(awk 'END {printf "%d", ($1 + $2) * 1e6}' "$WORK/wrk.time")
    for field in bad non200 err_connect err_read err_write err_timeout err_status; do
        if ! grep -q " $field=0\b" <<<"$WRK_LINE"; then
            die "round failed (c=$conns, $url): $WRK_LINE"
        fi
    done
}

get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# cpu_ticks PID: user+system CPU time of the process (all threads), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# machine_ticks: "BUSY TOTAL" clock ticks summed over all CPUs since boot. Busy is user, nice,
# system and steal; interrupt time is left out, as it is mostly the benchmark's own traffic.
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
NCPU=$(getconf _NPROCESSORS_ONLN)

# quiet_wait: waits, at most QUIET_WAIT seconds, for a second in which the machine is at most
# MAX_FOREIGN % busy (nothing of ours runs between measurements, so all of that is other load).
quiet_wait() {
    local waited=0 b0 n0 b1 n1
    while :; do
        read -r b0 n0 < <(machine_ticks)
        sleep 1
        read -r b1 n1 < <(machine_ticks)
        [ $(((b1 - b0) * 100)) -le $(((n1 - n0) * MAX_FOREIGN)) ] && return 0
        waited=$((waited + 1))
        if [ "$waited" -ge "$QUIET_WAIT" ]; then
            log "  the machine is still busy after ${QUIET_WAIT}s; measuring anyway"
            return 0
        fi
    done
}

# measure SERVER CONNS: a fresh session, a warm-up run, then the measured run. Sets M_ROW
# (rps p50_us p99_us cpu_us_per_call lost_pct, tab-separated), M_LOST and M_LOG.
#
# Undisturbed, the busier of the two (server or wrk, each alone on its core) runs its core
# flat out; M_LOST is how far it fell short of that (100 - its % of a core): time taken by other
# processes on its core, or by the host (stalls that the guest sees as idle time).
measure() {
    local server=$1 c=$2 url pid sid b0 n0 b1 n1 t0 t1 cpu
    if [ "$server" = bare ]; then url=$BARE_URL pid=$BARE_PID; else url=$MOCK_URL pid=$MOCK_PID; fi
    sid=$(handshake "$url")
    if [ "$server" = mock ] && [ "$sid" = - ]; then
        die "the mock returned no Mcp-Session-Id"
    fi
    if [ "$WARMUP" -gt 0 ]; then wrk_run "$url" "$c" "$WARMUP" "$sid"; fi
    read -r b0 n0 < <(machine_ticks)
    t0=$(cpu_ticks "$pid")
    wrk_run "$url" "$c" "$DURATION" "$sid"
    t1=$(cpu_ticks "$pid")
    read -r b1 n1 < <(machine_ticks)
    cpu=$(awk -v t=$((t1 - t0)) -v us="$TICK_US" -v n="$(get requests "$WRK_LINE")" \
        'BEGIN {printf "%.1f", t * us / n}')
    M_FOREIGN=$(awk -v b=$((b1 - b0)) -v n=$((n1 - n0)) -v s=$((t1 - t0)) -v w="$WRK_USED_US" \
        -v us="$TICK_US" 'BEGIN {f = (b - s - w / us) * 100 / n; printf "%d", (f < 0 ? 0 : f + 0.5)}')
    local srv_pct=$(((t1 - t0) * 100 * NCPU / (n1 - n0)))
    local wrk_pct=$((WRK_USED_US * 100 * NCPU / (TICK_US * (n1 - n0))))
    M_LOST=$((100 - (srv_pct > wrk_pct ? srv_pct : wrk_pct)))
    [ "$M_LOST" -lt 0 ] && M_LOST=0
    M_ROW=$(printf '%s\t%s\t%s\t%s\t%s' "$(get rps "$WRK_LINE")" "$(get p50_us "$WRK_LINE")" \
        "$(get p99_us "$WRK_LINE")" "$cpu" "$M_LOST")
    M_LOG="$(get rps "$WRK_LINE") calls/s  p50 $(get p50_us "$WRK_LINE") us  p99 $(get p99_us "$WRK_LINE") us  server CPU $cpu us/call"
    M_LOG+="  [server ${srv_pct}% and wrk ${wrk_pct}% of a core, lost ${M_LOST}%; other processes ${M_FOREIGN}% of the machine]"
}

start bare '^listening on \(http://127\.0\.0\.1:[0-9]*/mcp\)$' \
    "${PIN_SERVER[@]}" "$BARE" 0
BARE_URL=$START_URL
BARE_PID=$START_PID
start mock '^serving echo at \(http://127\.0\.0\.1:[0-9]*/[^ ]*\)$' \
    "${PIN_SERVER[@]}" "$GAUNTLET" mock mock-servers/echo.yaml --listen 127.0.0.1:0
MOCK_URL=$START_URL
MOCK_PID=$START_PID
log "bare: $BARE_URL   mock: $MOCK_URL"

# --- rounds ----------------------------------------------------------------------------------

# Each pair (bare and mock at one concurrency) starts when the machine is quiet (quiet_wait), and
# is run again, up to PAIR_TRIES times in all, when either run lost more than MAX_LOST % (see
# measure); the least disturbed attempt is kept.
RESULTS="$WORK/results.tsv" # round server conc rps p50_us p99_us cpu_us_per_call lost_pct
: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="bare mock"; else order="mock bare"; fi
    for c in $CONCURRENCY; do
        best=""
        for attempt in $(seq 1 "$PAIR_TRIES"); do
            quiet_wait
            : >"$WORK/pair.tsv"
            worst=0
            for server in $order; do
                measure "$server" "$c"
                printf '%s\t%s\t%s\t%s\n' "$round" "$server" "$c" "$M_ROW" >>"$WORK/pair.tsv"
                log "round $round  c=$c  $server: $M_LOG"
                [ "$M_LOST" -gt "$worst" ] && worst=$M_LOST
            done
            if [ -z "$best" ] || [ "$worst" -lt "$best" ]; then
                best=$worst
                cp "$WORK/pair.tsv" "$WORK/best.tsv"
            fi
            [ "$worst" -le "$MAX_LOST" ] && break
            [ "$attempt" -lt "$PAIR_TRIES" ] && log "  this pair lost up to ${worst}%: again"
        done
        cat "$WORK/best.tsv" >>"$RESULTS"
    done
done

# --- idle RSS --------------------------------------------------------------------------------

files=()
missing=()
for cat in "${CATALOGUES[@]}"; do
    if [ -f "mock-servers/$cat.yaml" ]; then files+=("mock-servers/$cat.yaml"); else missing+=("$cat"); fi
done
[ "${#files[@]}" -gt 0 ] || die "none of the six catalogues exists"
"$GAUNTLET" mock "${files[@]}" --listen 127.0.0.1:0 >"$WORK/six.log" 2>&1 &
SIX_PID=$!
PIDS+=("$SIX_PID")
for i in $(seq 1 200); do
    [ "$(grep -c '^serving ' "$WORK/six.log" || true)" -ge "${#files[@]}" ] && break
    kill -0 "$SIX_PID" 2>/dev/null || { cat "$WORK/six.log" >&2; die "gauntlet mock (6 catalogues) exited"; }
    sleep 0.05
done
[ "$(grep -c '^serving ' "$WORK/six.log" || true)" -ge "${#files[@]}" ] \
    || { cat "$WORK/six.log" >&2; die "gauntlet mock did not announce ${#files[@]} servers"; }
sleep 2
RSS_KB=$(awk '/^VmRSS:/ {print $2}' "/proc/$SIX_PID/status")
HWM_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$SIX_PID/status")
THREADS=$(awk '/^Threads:/ {print $2}' "/proc/$SIX_PID/status")
[ -n "$RSS_KB" ] || die "could not read VmRSS of gauntlet mock (pid $SIX_PID)"
kill -0 "$MOCK_PID" 2>/dev/null || die "the echo mock exited during the run"

# --- report ----------------------------------------------------------------------------------

col() { awk -F'\t' -v s="$1" -v c="$2" -v k="$3" '$2==s && $3==c {print $k}' "$RESULTS"; }
ms() { awk -v us="$1" 'BEGIN {printf "%.2f", us/1000}'; }

status=0
mkdir -p "$(dirname "$OUT")"
{
    echo "| concurrency | bare calls/s | mock calls/s | mock/bare | bare p50 / p99 (ms) | mock p50 / p99 (ms) | server CPU µs/call bare / mock |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
    for c in $CONCURRENCY; do
        b=$(col bare "$c" 4 | median); m=$(col mock "$c" 4 | median)
        ratio=$(awk -F'\t' -v c="$c" '$3==c {v[$1 "/" $2]=$4; r[$1]=1}
                END {for (k in r) print v[k "/mock"] / v[k "/bare"]}' "$RESULTS" | median)
        ratio=$(awk -v r="$ratio" 'BEGIN {printf "%.2f", r}')
        printf '| %s | %.0f | %.0f | %s | %s / %s | %s / %s | %.1f / %.1f |\n' "$c" "$b" "$m" "$ratio" \
            "$(ms "$(col bare "$c" 5 | median)")" "$(ms "$(col bare "$c" 6 | median)")" \
            "$(ms "$(col mock "$c" 5 | median)")" "$(ms "$(col mock "$c" 6 | median)")" \
            "$(col bare "$c" 7 | median)" "$(col mock "$c" 7 | median)"
        if [ "$c" = 64 ] && awk -v r="$ratio" -v min="$MIN_RATIO" 'BEGIN {exit !(r < min)}'; then
            echo "RATIO_FAIL $ratio" >"$WORK/ratio-fail"
        fi
    done
    echo
    printf 'Medians of %s rounds of %s s (after %s s warm-up) per server and concurrency; mock/bare is\nthe median of the per-round ratios. wrk: %s thread(s), %s; servers: %s.\n' \
        "$ROUNDS" "$DURATION" "$WARMUP" "$WRK_THREADS" \
        "$([ ${#PIN_WRK[@]} -gt 0 ] && echo "pinned to CPU $WRK_CPU" || echo unpinned)" \
        "$([ ${#PIN_SERVER[@]} -gt 0 ] && echo "pinned to CPU $SERVER_CPUS" || echo unpinned)"
    echo
    echo 'Server CPU µs/call: user+system CPU time of the server process during the measured run divided by'
    echo 'the calls it answered (less sensitive to other load on the machine than calls/s).'
    echo
    printf 'Idle RSS of one `gauntlet mock` serving %s catalogue(s) (%s): VmRSS %s kB (%.1f MB), VmHWM %s kB, %s threads.\n' \
        "${#files[@]}" "$(basename -a "${files[@]}" | tr '\n' ' ' | sed 's/ $//')" \
        "$RSS_KB" "$(awk -v k="$RSS_KB" 'BEGIN {print k*1024/1e6}')" "$HWM_KB" "$THREADS"
    [ "${#missing[@]}" -eq 0 ] || printf 'Missing catalogues (not loaded): %s.\n' "${missing[*]}"
    echo
    echo "Per round (calls/s, server CPU per call, share of its core the bottleneck process lost; mock/bare):"
    echo
    echo '```'
    for round in $(seq 1 "$ROUNDS"); do
        for c in $CONCURRENCY; do
            awk -F'\t' -v r="$round" -v c="$c" '
                $1==r && $3==c {v[$2]=$4; u[$2]=$7; f[$2]=$8}
                END {printf "round %s  c=%-4s bare %7.0f (%5.1f µs/call, lost %2d%%)  mock %7.0f (%5.1f µs/call, lost %2d%%)  %.2f\n",
                    r, c, v["bare"], u["bare"], f["bare"], v["mock"], u["mock"], f["mock"], v["mock"]/v["bare"]}' "$RESULTS"
        done
    done
    echo '```'
} | tee "$OUT"

if [ -f "$WORK/ratio-fail" ]; then
    log "FAIL: mock/bare at concurrency 64 is $(cut -d' ' -f2 "$WORK/ratio-fail"), below $MIN_RATIO"
    status=1
fi
if [ $((RSS_KB * 1024)) -ge "$MAX_RSS_BYTES" ]; then
    log "FAIL: idle RSS $((RSS_KB * 1024)) bytes is not under $MAX_RSS_BYTES"
    status=1
fi
[ "$status" = 0 ] && log "PASS (report in $OUT)"
exit "$status"
