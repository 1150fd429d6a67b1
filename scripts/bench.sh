#!/usr/bin/env bash
# The whole benchmark suite in one run, printing one report:
#   1. load on loopback with wrk: backend, nginx (1 and 2 workers), gw HTTP_PROXY, MOCK and both
#      WebAssembly contracts (scripts/bench-http.sh; interleaved rounds, medians);
#   2. criterion micro-benchmarks: route matching at 10 / 1,000 / 10,000 routes, the canary choice,
#      writing a Lambda event (benches/gateway.rs), importing the largest corpus spec
#      (benches/import.rs), instantiate + call of the hello function (benches/wasm.rs);
#   3. hot reload: `gw promote` returning → first request served by the new deployment, with
#      continuous traffic, and failed requests (examples/probe.rs reload);
#   4. footprint: time to ready and idle RSS of `gw serve` with 1 and 100 APIs (probe footprint).
#
#   scripts/bench.sh                 # about 10 minutes after the release build
#   ROUNDS=5 DURATION=15s scripts/bench.sh
#
# Needs wrk and nginx: apt-get update && apt-get install -y wrk nginx
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/build-functions.sh >/dev/null
cargo build --release --locked --bin gw --example probe 2>&1 | tail -1 >&2
gw="$root/target/release/gw"

echo "# gw benchmark report — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo
echo "## Load (wrk, loopback)"
scripts/bench-http.sh
echo
echo "## Micro-benchmarks (criterion, median of the estimate)"
cargo bench --locked --bench gateway --bench import --bench wasm 2>/dev/null | python3 -c '
import re, sys
name = None
for line in sys.stdin:
    line = line.rstrip()
    if "time:" in line:
        before, after = line.split("time:", 1)
        if before.strip():
            name = before.strip()
        vals = after.replace("[", "").replace("]", "").split()
        if name and len(vals) >= 4:
            print(f"- {name}: {vals[2]} {vals[3]}")
    elif line and not line.startswith((" ", "Benchmarking", "Found", "Gnuplot", "Warning", "Running", "Analyzing")) and not re.match(r"^\s", line):
        name = line.strip()
'
echo
echo "## Hot reload and footprint"
target/release/examples/probe reload "$gw"
target/release/examples/probe footprint "$gw"
