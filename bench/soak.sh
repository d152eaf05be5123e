#!/usr/bin/env bash
# The soak: scenarios/soak.yaml (100 calls/s for 10 minutes through the reference gateway), then
# whether memory stayed flat.
#
#   bench/soak.sh                 # the full 10 minutes
#   DURATION=3m bench/soak.sh     # shorter (the comparison needs at least 3 minutes)
#
# Flat means: the gateway's RSS (itself and its children, results.json process[].gateway) and
# gauntlet's own RSS over the last minute are within MAX_GROWTH (default 1.2) of their median over
# the second minute (the first minute fills caches, pools and the allocator's arenas). Also
# printed: calls, errors, p99 per minute, and the budgets' verdicts. Exit 1 when memory grew.
# Numbers go to docs/benchmarks.md by hand, with the date.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DURATION="${DURATION:-10m}"
MAX_GROWTH="${MAX_GROWTH:-1.2}"
OUT="${OUT:-$(mktemp -d)/soak}"

cargo build --release --locked --quiet
set +e
target/release/gauntlet run scenarios/soak.yaml --duration "$DURATION" --out "$OUT" --quiet
status=$?
set -e
if [[ $status -ne 0 && $status -ne 1 ]]; then
    echo "soak: the run failed (exit $status)" >&2
    exit "$status"
fi

python3 - "$OUT/results.json" "$MAX_GROWTH" <<'PY'
import json, statistics, sys
results, max_growth = json.load(open(sys.argv[1])), float(sys.argv[2])
proc = results["process"]
def window(key, lo, hi):
    vals = []
    for p in proc:
        if lo <= p["second"] < hi:
            v = key(p)
            if v is not None:
                vals.append(v)
    return vals
end = max((p["second"] for p in proc), default=0)
if end < 180:
    sys.exit("soak: the run is too short to compare minutes (at least 3 minutes)")
ok = True
for name, key in [("gateway RSS MB", lambda p: (p.get("gateway") or {}).get("rss_mb")),
                  ("gauntlet RSS MB", lambda p: p["rss_mb"])]:
    early, late = window(key, 60, 120), window(key, end - 60, end + 1)
    if not early or not late:
        print(f"{name}: not measured")
        continue
    a, b = statistics.median(early), statistics.median(late)
    growth = b / a if a else float("inf")
    flat = growth <= max_growth
    ok &= flat
    print(f"{name}: minute 2 median {a:.1f}, last minute median {b:.1f}, growth {growth:.3f} "
          f"({'flat' if flat else 'GREW'})")
per_min = {}
for r in results["timeseries"]:
    m = r["second"] // 60
    c = per_min.setdefault(m, [0, 0, []])
    c[0] += r["offered"]; c[1] += r["offered"] - r["ok"]
    if r["p99_ms"] is not None:
        c[2].append(r["p99_ms"])
for m, (calls, errors, p99s) in sorted(per_min.items()):
    worst = max(p99s) if p99s else float("nan")
    print(f"minute {m}: {calls} calls, {errors} errors, worst per-second p99 {worst:.1f} ms")
for v in results["verdicts"]:
    print(("PASS " if v["passed"] else "FAIL ") + v["budget"] + f"  ({v['measured_text']})")
sys.exit(0 if ok else 1)
PY
