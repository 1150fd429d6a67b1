#!/usr/bin/env bash
# Instructions per proxied request, gw against nginx, counted by valgrind's callgrind: a figure
# that does not move with the machine's speed or load, unlike req/s (see README, Benchmarks).
#
#   scripts/bench-instructions.sh            # 10 s of wrk -t1 -c4 load on each
#   GW=path/to/gw GW_SERVE_ARGS=--no-metrics scripts/bench-instructions.sh   # another build, other flags
#
# Both proxies run under callgrind (nginx with one worker; gw with its usual worker threads, which
# valgrind runs one at a time) in front of the same nginx backend (a static 200, not counted);
# instrumentation is switched on after a warm-up, for DURATION of load. For gw the count leaves out
# its reload watcher (a timer, not per-request work). Needs valgrind, wrk
# and nginx (apt-get install -y valgrind wrk nginx) and `cargo build --release`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

DURATION="${DURATION:-10s}"
GW="${GW:-$root/target/release/gw}"
for tool in valgrind callgrind_control callgrind_annotate wrk nginx python3 curl; do
    command -v "$tool" >/dev/null || { echo "bench-instructions: $tool is missing (apt-get install -y valgrind wrk nginx)" >&2; exit 1; }
done
[ -x "$GW" ] || { echo "bench-instructions: $GW is missing: run cargo build --release" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_url() {
    for _ in $(seq 1 300); do
        curl -fsS "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "bench-instructions: $1 does not answer" >&2; exit 1
}

# nginx_conf NAME WORKER_LINE SERVER_BLOCK: a self-contained config.
nginx_conf() {
    local dir="$work/$1"
    mkdir -p "$dir/logs" "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
$2
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 1000000;
    $3
}
EOF
    echo "$dir"
}

backend_port="$(free_port)"
dir="$(nginx_conf backend "worker_processes 1;" "server { listen 127.0.0.1:$backend_port; location / { return 200 'ok\n'; } }")"
nginx -p "$dir" -c "$dir/nginx.conf" &
pids+=($!)
wait_url "http://127.0.0.1:$backend_port/"

# count NAME URL PID: callgrind's instructions per request for the process PID serving URL.
count() {
    local name="$1" url="$2" pid="$3"
    wait_url "$url"
    wrk -t1 -c4 -d3s "$url" >/dev/null
    callgrind_control -i on "$pid" >/dev/null 2>&1
    local requests
    requests="$(wrk -t1 -c4 -d"$DURATION" "$url" | awk '/requests in/{print $1}')"
    callgrind_control -i off "$pid" >/dev/null 2>&1
    callgrind_control -d "$pid" >/dev/null 2>&1
    local out total watcher
    out="$(ls -S "$work/cg.$name".* | head -1)"
    callgrind_annotate --inclusive=yes "$out" >"$work/$name.txt" 2>/dev/null
    total="$(awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}' "$work/$name.txt")"
    watcher="$(awk '/gw::snapshot::Reloader::sync \[/{gsub(",","",$1); print $1; exit}' "$work/$name.txt")"
    printf '%-24s %9d requests  %7d instructions per request\n' "$name" "$requests" $(((total - ${watcher:-0}) / requests))
}

proxy_port="$(free_port)"
dir="$(nginx_conf nginx "worker_processes 1; master_process off;" "
upstream backend { server 127.0.0.1:$backend_port; keepalive 256; }
server {
    listen 127.0.0.1:$proxy_port;
    location /prod/ {
        proxy_pass http://backend/;
        proxy_http_version 1.1;
        proxy_set_header Connection \"\";
    }
}")"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.nginx-proxy.%p" \
    nginx -p "$dir" -c "$dir/nginx.conf" 2>"$work/nginx-valgrind.log" &
nginx_vg=$!
pids+=("$nginx_vg")
count nginx-proxy "http://127.0.0.1:$proxy_port/prod/bench" "$nginx_vg"
kill "$nginx_vg" 2>/dev/null || true

export GW_STATE="$work/gw-state" GW_LOG=warn
cat >"$work/spec.yaml" <<EOF
openapi: 3.0.1
info: {title: bench, version: "1"}
paths:
  /{proxy+}:
    x-amazon-apigateway-any-method:
      parameters:
        - {name: proxy, in: path, required: true, schema: {type: string}}
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: ANY
        uri: "http://127.0.0.1:$backend_port/{proxy}"
        requestParameters:
          integration.request.path.proxy: method.request.path.proxy
EOF
"$GW" import "$work/spec.yaml" >/dev/null
"$GW" deploy --stage prod >/dev/null
gw_port="$(free_port)"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.gw-http-proxy.%p" \
    "$GW" serve ${GW_SERVE_ARGS:-} --listen "127.0.0.1:$gw_port" 2>"$work/gw-valgrind.log" &
gw_vg=$!
pids+=("$gw_vg")
count gw-http-proxy "http://127.0.0.1:$gw_port/prod/bench" "$gw_vg"
