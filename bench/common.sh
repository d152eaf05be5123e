# Sourced by the bench scripts that drive one echo mock or the reference gateway
# (bench/driver-throughput.sh, bench/era-throughput.sh, bench/era-instructions.sh,
# bench/mock-throughput.sh, bench/refgate-throughput.sh; set NAME first, and be in the
# repository's root): a work folder removed on exit with every process started stopped,
# messages, the echo mock started on port 0, a session-era session id, and the median of a
# column of numbers.

WORK="$(mktemp -d)"
MOCK_PID=""
GW_PID=""
PIDS=() # any other process the script starts
# Stops the mock, the gateway (bench/refgate-throughput.sh) and PIDS, whichever run.
cleanup() {
    local pid
    for pid in $MOCK_PID $GW_PID "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $MOCK_PID $GW_PID "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf '%s: %s\n' "$NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# start_mock WAIT_S COMMAND...: runs `COMMAND... mock mock-servers/echo.yaml` on 127.0.0.1:0 in
# the background and waits up to WAIT_S seconds for it to serve; sets MOCK_PID and URL.
start_mock() {
    local tries=$(($1 * 20))
    shift
    "$@" mock mock-servers/echo.yaml --listen 127.0.0.1:0 >"$WORK/mock.out" 2>"$WORK/mock.err" &
    MOCK_PID=$!
    for _ in $(seq "$tries"); do grep -q serving "$WORK/mock.out" && break; sleep 0.05; done
    URL="$(awk '/serving/ {print $4; exit}' "$WORK/mock.out")"
    [ -n "$URL" ] || die "the mock did not start: $(tail -5 "$WORK/mock.err")"
}

# session: the Mcp-Session-Id of a new 2025-11-25 session on the mock.
session() {
    curl -si -X POST "$URL" -H 'content-type: application/json' \
        -H 'accept: application/json, text/event-stream' \
        -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}' \
        | awk 'tolower($1)=="mcp-session-id:" {print $2}' | tr -d '\r'
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
