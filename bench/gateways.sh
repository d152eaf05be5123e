#!/usr/bin/env bash
# Each gateway under test at saturation: the reference gateway and the three real ones of
# scenarios/gateways/ (FastMCP's proxy, mcp-proxy, supergateway), in the same run.
#
#   bench/gateways.sh                       # 8 and 32 sessions, 20 s each
#   SESSIONS="8" DURATION=10s bench/gateways.sh
#   GATEWAYS="builtin mcp-proxy" bench/gateways.sh
#
# For each gateway and session count: the gateway's own scenario (its servers and `gateway:`
# section, as in scenarios/gateways/*.yaml; the reference gateway with the same three servers)
# with the servers' service time fixed at 5 ms and no errors, a `baseline: 10s` straight to the
# mocks first, then the closed model (SESSIONS sessions, no think time) calling
# translation.translate with unique arguments (no cache can answer) for DURATION after a 2 s
# warmup. Printed per run: ok calls/s (steady), p50/p99 (steady, from summary.md), the
# gateway's peak RSS (itself and its children), the overhead (derived.overhead: exact when the
# gateway passes the mock's service time back, else the baseline's percentiles subtracted), and
# gauntlet's own CPU (driver + in-process mocks, % of one core, mean over the steady seconds)
# beside the gateway's.
# Needs the peers (GAUNTLET_PEERS_ONLY=1 scripts/test). Numbers go to docs/benchmarks.md by
# hand, with the date.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SESSIONS="${SESSIONS:-8 32}"
DURATION="${DURATION:-20s}"
GATEWAYS="${GATEWAYS:-builtin fastmcp mcp-proxy supergateway}"
WORK="$(mktemp -d)"
export GAUNTLET_PEERS="${GAUNTLET_PEERS:-$ROOT/.peers}"

cargo build --release --locked --quiet

# scenario GATEWAY SESSIONS > file: the benchmark scenario, from the gateway's own file.
scenario() {
    python3 - "$1" "$2" "$DURATION" "$ROOT" <<'PY'
import re, sys
gw, sessions, duration, root = sys.argv[1:5]
if gw == "builtin":
    servers = [
        "servers:\n",
        f"  translation: {{ catalog: {root}/mock-servers/translation.yaml, errors: [] }}\n",
        f"  freight: {{ catalog: {root}/mock-servers/freight.yaml, errors: [] }}\n",
        f"  fraud: {{ catalog: {root}/mock-servers/fraud.yaml, transport: stdio, errors: [] }}\n",
    ]
    gateway = ["gateway:\n", "  builtin: { lazy: true }\n"]
else:
    text = open(f"{root}/scenarios/gateways/{gw}.yaml").read()
    blocks, cur = {}, None
    for line in text.splitlines(keepends=True):
        m = re.match(r"^([a-z_]+):", line)
        if m:
            cur = m.group(1)
            blocks[cur] = []
        if cur:
            blocks[cur].append(line)
    servers = [l.replace("../../", f"{root}/") for l in blocks["servers"]]
    gateway = blocks["gateway"]
    while gateway and not gateway[-1].strip():
        gateway.pop()
servers = [l.replace("errors: [] }", "errors: [], latency: { fixed: 5ms } }") for l in servers]
print(f"name: bench-{gw}-{sessions}\nseed: 1\nduration: {duration}\nwarmup: 2s\nprotocol: 2025-11-25\n")
print("".join(servers))
print("".join(gateway) + "  baseline: 10s\n")
print(f"""load:
  model: closed
  sessions: {sessions}
  timeout: 10s
  mix:
    - call: translation.translate
      args: {{ text: "line {{{{seq}}}}", to: pt }}""")
PY
}

# figures RESULTS_DIR: one line of the table.
figures() {
    python3 - "$1" <<'PY'
import json, re, statistics, sys
d = sys.argv[1]
r = json.load(open(f"{d}/results.json"))
md = open(f"{d}/summary.md").read()
steady_s = sum(p["end_s"] - p["start_s"] for p in r["phases"] if p["phase"] == "steady")
ok = sum(c["ok"] for c in r["calls"] if c["phase"] == "steady")
m = re.search(r"\| (\d+) \| (\d+) \| [^|]+ \| ([^|]+) \| ([^|]+) \|\s*$", md, re.M)
p50, p99 = (m.group(3).strip(), m.group(4).strip()) if m else ("-", "-")
rss = max((p["gateway"]["rss_mb"] for p in r["process"] if p.get("gateway")), default=None)
spans = [(p["start_s"], p["end_s"]) for p in r["phases"] if p["phase"] == "steady"]
steady = [p for p in r["process"] if any(a <= p["second"] and p["second"] + 1 <= b for a, b in spans)]
mean = lambda xs: statistics.mean(xs) if xs else float("nan")
own = mean([(p["driver_cpu_pct"] or 0) + (p["mocks_cpu_pct"] or 0) for p in steady])
gw_cpu = mean([p["gateway"]["cpu_pct"] for p in steady if p.get("gateway")])
o = next((o for o in r["derived"]["overhead"] if o["tool"] == "translate"), None)
over = "-" if not o or o["p50_ms"] is None else f'{o["p50_ms"]:.2f}/{o["p99_ms"]:.2f} ms ({o["quality"]})'
errors = sum(c["count"] - c["ok"] for c in r["calls"] if c["phase"] == "steady")
print(f"{ok / steady_s:8.1f}  {p50:>8} {p99:>8}  {('%.1f' % rss) if rss else '-':>7}  {over:<28} "
      f"{own:6.0f}% {gw_cpu:6.0f}%  {errors}")
PY
}

printf '%-13s %4s  %8s  %8s %8s  %7s  %-28s %7s %7s  %s\n' gateway sess "ok/s" p50 p99 "RSS MB" \
    "overhead p50/p99" gauntlet gateway errors
for gw in $GATEWAYS; do
    for n in $SESSIONS; do
        file="$WORK/$gw-$n.yaml"
        scenario "$gw" "$n" > "$file"
        out="$WORK/$gw-$n"
        if ! target/release/gauntlet run "$file" --out "$out" --quiet > "$out.log" 2>&1; then
            printf '%-13s %4s  run failed: see %s\n' "$gw" "$n" "$out.log"
            continue
        fi
        printf '%-13s %4s  %s\n' "$gw" "$n" "$(figures "$out")"
    done
done
echo "(runs kept in $WORK)"
