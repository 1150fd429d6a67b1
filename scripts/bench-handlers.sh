#!/usr/bin/env bash
# Handler-world functions (warm execution environments): for the hello handler in Rust, Python and
# JavaScript, through `gw serve` (release build):
#   - cold start: the first request's time (curl) and the Init Duration gw's REPORT line gives it
#     (a new environment from the cached build: instantiate + init);
#   - memory: gw's resident set before and after 16 environments of the function are warm (16
#     concurrent requests that each wait 300 ms, with --concurrency 16), and per environment.
# Throughput and latency of the same handlers are in scripts/bench-http.sh (gw-wasm-handler,
# gw-wasm-python, gw-wasm-javascript).
#
#   scripts/bench-handlers.sh
#   GW=/path/to/gw scripts/bench-handlers.sh     # another build (default: cargo build --release)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/build-functions.sh >/dev/null
if [ -z "${GW:-}" ]; then
    cargo build --release --locked --bin gw >/dev/null
fi
gw="${GW:-$root/target/release/gw}"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export GW_STATE="$work/state" GW_LOG=warn

arn="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function"
cat >"$work/spec.yaml" <<YAML
openapi: 3.0.1
info: {title: handlers, version: "1"}
paths:
  /rust:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: "$arn:rust/invocations"}
  /python:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: "$arn:python/invocations"}
  /javascript:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: "$arn:javascript/invocations"}
YAML
"$gw" import "$work/spec.yaml" >/dev/null
"$gw" function put rust target/wasm32-wasip2/release/lambda_hello.wasm --concurrency 16 >/dev/null
"$gw" function put python --runtime python3.12 --handler app.handler --code functions/python/hello --concurrency 16 >/dev/null
"$gw" function put javascript --runtime nodejs20.x --handler index.handler --code functions/javascript/hello --concurrency 16 >/dev/null
"$gw" deploy --stage prod >/dev/null
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$gw" serve --listen "127.0.0.1:$port" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 1 200); do curl -fs -o /dev/null "http://127.0.0.1:$port/_gw/health" && break; sleep 0.05; done

rss_mib() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$server_pid/status"; }

printf '%-11s %12s %14s %10s %13s %12s\n' function "first req" "Init Duration" "RSS 1 env" "RSS 16 envs" "per env"
for f in rust python javascript; do
    url="http://127.0.0.1:$port/prod/$f"
    first="$(curl -fsS -o /dev/null -w '%{time_total}' "$url")"
    init="$("$gw" logs "$f" | sed -n 's/.*Init Duration: \([0-9.]* ms\).*/\1/p' | head -1)"
    one="$(rss_mib)"
    for _ in $(seq 1 16); do curl -fsS -o /dev/null "$url?waitMs=300" & done
    wait $(jobs -p | grep -v "^$server_pid$") 2>/dev/null || true
    sixteen="$(rss_mib)"
    per="$(awk -v a="$one" -v b="$sixteen" 'BEGIN {printf "%.1f", (b - a) / 15}')"
    printf '%-11s %9.1f ms %14s %7s MiB %9s MiB %8s MiB\n' "$f" "$(awk -v t="$first" 'BEGIN {print t * 1000}')" "$init" "$one" "$sixteen" "$per"
done
echo "environments started per function (REPORT lines with Init Duration):"
for f in rust python javascript; do
    printf '  %-11s %s\n' "$f" "$("$gw" logs "$f" | grep -c 'Init Duration' || true)"
done
