#!/usr/bin/env bash
# Throughput of a WebAssembly function through the whole gateway: wrk against `gw serve` (release
# build) on GET /prod/hello (specs/functions.yaml; the `hello` guest, wasm32-wasip2), once with the
# default log level (the guest's one stderr line per call is logged) and once with GW_LOG=warn.
# Prints requests/s and p50/p99 latency for each run.
#
#   scripts/bench-wasm.sh                     # 10 s per run, 2 wrk threads, 32 connections
#   DURATION=30s CONNECTIONS=64 scripts/bench-wasm.sh
#
# Needs wrk (apt-get install -y wrk). Target on the 2-core dev box: >= 30,000 req/s.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

DURATION="${DURATION:-10s}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
PORT="${PORT:-45991}"
LOG_LEVELS="${LOG_LEVELS:-gw=info warn}"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

scripts/build-functions.sh >/dev/null
cargo build --release --bin gw
gw="$root/target/release/gw"

state="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$state"
}
trap cleanup EXIT

export GW_STATE="$state"
"$gw" import specs/functions.yaml >/dev/null
"$gw" function put hello target/wasm32-wasip2/release/hello.wasm --env GREETING=bench >/dev/null
"$gw" deploy --stage prod --var helloVersion=1 >/dev/null 2>&1

url="http://127.0.0.1:$PORT/prod/hello?name=bench"
echo "gw $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty'), $(nproc) CPUs, wrk -t$THREADS -c$CONNECTIONS -d$DURATION $url"
printf '%-10s %12s %10s %10s\n' "GW_LOG" "req/s" "p50" "p99"
for level in $LOG_LEVELS; do
    GW_LOG="$level" "$gw" serve --listen "127.0.0.1:$PORT" 2>"$state/serve.log" &
    server_pid=$!
    for _ in $(seq 100); do
        grep -q 'listening on' "$state/serve.log" 2>/dev/null && break
        sleep 0.05
    done
    body="$(curl -sf "$url")" || { echo "gw serve did not answer:" >&2; cat "$state/serve.log" >&2; exit 1; }
    grep -q '"hello, bench"' <<<"$body" || { echo "unexpected answer: $body" >&2; exit 1; }
    wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$url" >/dev/null # warm-up
    out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url")"
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    errors="$(grep -E 'Non-2xx|Socket errors' <<<"$out" || true)"
    printf '%-10s %12s %10s %10s\n' "$level" "$rps" "$p50" "$p99"
    [[ -z "$errors" ]] || echo "  $errors"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    server_pid=""
done
