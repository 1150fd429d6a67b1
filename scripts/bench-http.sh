#!/usr/bin/env bash
# Loopback HTTP benchmark: gw against nginx as a reverse proxy, same backend, same run.
# Targets: the backend directly; nginx proxying with keep-alive to the backend (1 and 2 workers),
# and balancing over three listeners of it (an `upstream` block, 2 workers: `nginx-upstream3-2w`,
# which gw's VPC link over the same three targets, `gw-vpc-link`, is compared with);
# and one `gw serve` (release build) answering five routes: HTTP_PROXY to the same backend, a MOCK,
# the `hello` WebAssembly function (Lambda-style contract) built as a wasm32-wasip1 module and as a
# wasm32-wasip2 component, the `http-hello` wasi:http component, and the hello handler of the
# handler world (warm environments) in Rust, Python and JavaScript. Rounds are interleaved (every
# target once per round, in rotating order) and the table shows medians, with each target's ratio
# to nginx with 2 workers.
#
#   scripts/bench-http.sh                 # 3 rounds of 10 s per target, 64 connections
#   ROUNDS=5 DURATION=15s CONNECTIONS=128 THREADS=2 scripts/bench-http.sh
#   TARGETS="nginx-2w gw-http-proxy" scripts/bench-http.sh   # only these (nginx-2w is always kept)
#   GW_BASELINE=/tmp/gw-old TARGETS="gw-http-proxy gw-http-proxy-baseline" scripts/bench-http.sh
#       # a second build of gw serving the same HTTP_PROXY route, in the same interleaved rounds
#   TARGETS="gw-http-proxy gw-http-proxy-no-metrics" scripts/bench-http.sh
#       # the same build with `gw serve --no-metrics`: what counting costs
#   TARGETS="gw-http-proxy gw-http-proxy-pg gw-throttled-local gw-throttled-redis" scripts/bench-http.sh
#       # a second server on a PostgreSQL store (a cluster started here) with --counters in a
#       # redis-server started here: HTTP_PROXY with no limit (the store is not on the request
#       # path), and a stage throttle counted locally vs in Redis (one round trip per request)
#
# Needs wrk and nginx (apt-get install -y wrk nginx) and `cargo build --release`.
# The backend is nginx itself answering a static 200 (1 worker), identical for every target.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
BACKEND_WORKERS="${BACKEND_WORKERS:-1}"
GW="${GW:-$root/target/release/gw}"

for tool in wrk nginx python3; do
    command -v "$tool" >/dev/null || { echo "bench-http: $tool is missing (apt-get install -y wrk nginx)" >&2; exit 1; }
done
[ -x "$GW" ] || { echo "bench-http: $GW is missing: run cargo build --release" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
declare -A nginx_pid
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "bench-http: nothing listens on port $1" >&2; exit 1
}

# nginx_conf NAME WORKERS PORT SERVER_BLOCK: write a self-contained config and start nginx.
start_nginx() {
    local name="$1" workers="$2" body="$3"
    local dir="$work/$name"
    mkdir -p "$dir/logs" "$dir/tmp"
    cat >"$dir/nginx.conf" <<EOF
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; multi_accept on; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 1000000;
    $body
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" &
    pids+=($!)
    nginx_pid[$name]=$!
}

backend_port="$(free_port)"
# Three listeners of the same backend: the three targets of a VPC link / an nginx upstream.
backend2_port="$(free_port)"
backend3_port="$(free_port)"
start_nginx backend "$BACKEND_WORKERS" "server { listen 127.0.0.1:$backend_port; listen 127.0.0.1:$backend2_port; listen 127.0.0.1:$backend3_port; location / { return 200 'ok\n'; } }"
wait_port "$backend_port"

proxy_block() {
    cat <<EOF
upstream backend { server 127.0.0.1:$backend_port; keepalive 256; }
server {
    listen 127.0.0.1:$1;
    location /prod/ {
        proxy_pass http://backend/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}
EOF
}
# nginx balancing over the three (round robin, keep-alive), 2 workers: what a VPC link is
# compared with.
upstream3_block() {
    cat <<EOF
upstream backend3 { server 127.0.0.1:$backend_port; server 127.0.0.1:$backend2_port; server 127.0.0.1:$backend3_port; keepalive 256; }
server {
    listen 127.0.0.1:$1;
    location /prod/linked/ {
        proxy_pass http://backend3/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}
EOF
}
nginx3_port="$(free_port)"
start_nginx nginx-upstream3-2w 2 "$(upstream3_block "$nginx3_port")"
nginx1_port="$(free_port)"
start_nginx nginx-1w 1 "$(proxy_block "$nginx1_port")"
nginx2_port="$(free_port)"
start_nginx nginx-2w 2 "$(proxy_block "$nginx2_port")"
wait_port "$nginx1_port"
wait_port "$nginx2_port"
wait_port "$nginx3_port"

# gw: a greedy HTTP_PROXY route to the same backend, a MOCK (alone, and behind a Lambda TOKEN
# authorizer whose answer is cached or not), and the WebAssembly functions.
export GW_STATE="$work/gw-state" GW_LOG=warn
scripts/build-functions.sh >/dev/null
wasm="$root/target/wasm32-wasip2/release"
arn="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function"
cat >"$work/bench.yaml" <<EOF
openapi: 3.0.1
info: {title: bench, version: "1"}
components:
  securitySchemes:
    cached:
      {type: apiKey, name: Authorization, in: header,
       x-amazon-apigateway-authorizer: {type: token, authorizerUri: "$arn:authorizer/invocations", authorizerResultTtlInSeconds: 300}}
    uncached:
      {type: apiKey, name: Authorization, in: header,
       x-amazon-apigateway-authorizer: {type: token, authorizerUri: "$arn:authorizer/invocations", authorizerResultTtlInSeconds: 0}}
x-mock: &mock
  type: mock
  requestTemplates: {application/json: '{"statusCode": 200}'}
  responses: {default: {statusCode: "200", responseTemplates: {application/json: "ok"}}}
paths:
  /mock:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: *mock
  /authorized-cached:
    get:
      security: [{cached: []}]
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: *mock
  /authorized:
    get:
      security: [{uncached: []}]
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: *mock
  /hello:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: "$arn:hello/invocations"}
  /hello-p2:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: "$arn:hello-p2/invocations"}
  /web:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: "$arn:http-hello/invocations"}
  /handler:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: "$arn:hello-handler/invocations"}
  /python:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: "$arn:hello-python/invocations"}
  /javascript:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri: "$arn:hello-javascript/invocations"}
  /linked/{proxy+}:
    x-amazon-apigateway-any-method:
      parameters:
        - {name: proxy, in: path, required: true, schema: {type: string}}
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: ANY
        uri: "http://backend.internal/{proxy}"
        connectionType: VPC_LINK
        connectionId: bench3
        requestParameters:
          integration.request.path.proxy: method.request.path.proxy
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
"$GW" function put hello "$root/target/wasm32-wasip1/release/hello.wasm" >/dev/null
"$GW" function put hello-p2 "$wasm/hello.wasm" >/dev/null
"$GW" function put http-hello "$wasm/http_hello.wasm" >/dev/null
"$GW" function put authorizer "$wasm/authorizer.wasm" >/dev/null
# The hello handler in the handler world (warm environments): Rust, and Python and JavaScript
# built by gw from source (the first build installs the tools and takes a minute; later cached).
"$GW" function put hello-handler "$wasm/lambda_hello.wasm" >/dev/null
"$GW" function put hello-python --runtime python3.12 --handler app.handler --code "$root/functions/python/hello" >/dev/null
"$GW" function put hello-javascript --runtime nodejs20.x --handler index.handler --code "$root/functions/javascript/hello" >/dev/null
"$GW" vpc-link create bench3 --target "127.0.0.1:$backend_port" --target "127.0.0.1:$backend2_port" --target "127.0.0.1:$backend3_port" >/dev/null
"$GW" import "$work/bench.yaml" >/dev/null
"$GW" deploy --stage prod >/dev/null
# The same API on a stage with a throttle far above what a run reaches: every request is checked.
"$GW" deploy --stage throttled >/dev/null
"$GW" stage throttle throttled --rate 100000000 --burst 100000000 >/dev/null
gw_port="$(free_port)"
"$GW" serve --listen "127.0.0.1:$gw_port" 2>"$work/gw.log" &
gw_pid=$!
pids+=("$gw_pid")
wait_port "$gw_port"

# Another build of gw (GW_BASELINE), serving the same spec from its own state directory.
base_pid=""
if [ -n "${GW_BASELINE:-}" ]; then
    [ -x "$GW_BASELINE" ] || { echo "bench-http: GW_BASELINE=$GW_BASELINE is not an executable" >&2; exit 1; }
    base_port="$(free_port)"
    GW_STATE="$work/gw-base-state" "$GW_BASELINE" import "$work/bench.yaml" >/dev/null
    GW_STATE="$work/gw-base-state" "$GW_BASELINE" deploy --stage prod >/dev/null
    GW_STATE="$work/gw-base-state" "$GW_BASELINE" serve --listen "127.0.0.1:$base_port" 2>"$work/gw-base.log" &
    base_pid=$!
    pids+=("$base_pid")
    wait_port "$base_port"
fi

# The same build without metrics (only when asked for: TARGETS names gw-http-proxy-no-metrics).
nometrics_pid=""
case " ${TARGETS:-} " in
    *" gw-http-proxy-no-metrics "*)
        nometrics_port="$(free_port)"
        "$GW" serve --no-metrics --listen "127.0.0.1:$nometrics_port" 2>"$work/gw-nometrics.log" &
        nometrics_pid=$!
        pids+=("$nometrics_pid")
        wait_port "$nometrics_port"
        ;;
esac

# A second server on PostgreSQL with Redis counters (only when asked for: TARGETS names
# gw-http-proxy-pg or gw-throttled-redis). PostgreSQL runs as its own user when this runs as root.
pg_pid=""
case " ${TARGETS:-} " in
    *" gw-http-proxy-pg "* | *" gw-throttled-redis "*)
        pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
        [ -x "$pg_bin/initdb" ] || { echo "bench-http: PostgreSQL is missing (apt-get install -y postgresql)" >&2; exit 1; }
        command -v redis-server >/dev/null || { echo "bench-http: redis-server is missing (apt-get install -y redis-server)" >&2; exit 1; }
        as_pg=()
        if [ "$(id -u)" = 0 ]; then as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --reset-env); fi
        mkdir -p "$work/pg"
        [ "$(id -u)" = 0 ] && chown postgres:postgres "$work/pg" && chmod 755 "$work"
        "${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg/cluster" -A trust -U gw -E UTF8 --no-sync >/dev/null
        pg_port="$(free_port)"
        "${as_pg[@]}" "$pg_bin/postgres" -D "$work/pg/cluster" -p "$pg_port" -k "$work/pg" \
            -c listen_addresses=127.0.0.1 >"$work/pg.log" 2>&1 &
        pids+=($!)
        wait_port "$pg_port"
        sleep 1
        redis_port="$(free_port)"
        redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
        pids+=($!)
        wait_port "$redis_port"
        pg_url="postgres://gw@127.0.0.1:$pg_port/postgres"
        "$GW" store copy --from "$GW_STATE" --to "$pg_url" >/dev/null
        pg_gw_port="$(free_port)"
        GW_STATE="$work/gw-pg-state" "$GW" serve --store "$pg_url" --counters "redis://127.0.0.1:$redis_port" \
            --listen "127.0.0.1:$pg_gw_port" 2>"$work/gw-pg.log" &
        pg_pid=$!
        pids+=("$pg_pid")
        wait_port "$pg_gw_port"
        ;;
esac

names=(backend nginx-1w nginx-2w nginx-upstream3-2w gw-http-proxy gw-vpc-link gw-mock gw-wasm-lambda gw-wasm-lambda-p2 gw-wasm-http gw-auth-cached gw-auth-uncached gw-wasm-handler gw-wasm-python gw-wasm-javascript)
urls=(
    "http://127.0.0.1:$backend_port/bench"
    "http://127.0.0.1:$nginx1_port/prod/bench"
    "http://127.0.0.1:$nginx2_port/prod/bench"
    "http://127.0.0.1:$nginx3_port/prod/linked/bench"
    "http://127.0.0.1:$gw_port/prod/bench"
    "http://127.0.0.1:$gw_port/prod/linked/bench"
    "http://127.0.0.1:$gw_port/prod/mock"
    "http://127.0.0.1:$gw_port/prod/hello"
    "http://127.0.0.1:$gw_port/prod/hello-p2"
    "http://127.0.0.1:$gw_port/prod/web"
    "http://127.0.0.1:$gw_port/prod/authorized-cached"
    "http://127.0.0.1:$gw_port/prod/authorized"
    "http://127.0.0.1:$gw_port/prod/handler"
    "http://127.0.0.1:$gw_port/prod/python"
    "http://127.0.0.1:$gw_port/prod/javascript"
)
names+=(gw-throttled-local)
urls+=("http://127.0.0.1:$gw_port/throttled/bench")
if [ -n "$pg_pid" ]; then
    names+=(gw-http-proxy-pg gw-throttled-redis)
    urls+=("http://127.0.0.1:$pg_gw_port/prod/bench" "http://127.0.0.1:$pg_gw_port/throttled/bench")
fi
if [ -n "$nometrics_pid" ]; then
    names+=(gw-http-proxy-no-metrics)
    urls+=("http://127.0.0.1:$nometrics_port/prod/bench")
fi
if [ -n "$base_pid" ]; then
    names+=(gw-http-proxy-baseline)
    urls+=("http://127.0.0.1:$base_port/prod/bench")
fi
# Request headers some targets need (the authorizer's token).
declare -A header=(
    [gw-auth-cached]="Authorization: Bearer bench"
    [gw-auth-uncached]="Authorization: Bearer bench"
)
# wrk / curl options for target $1's header.
header_args() {
    if [ -n "${header[$1]:-}" ]; then printf '%s\n' -H "${header[$1]}"; fi
}
if [ -n "${TARGETS:-}" ]; then
    keep_names=() keep_urls=()
    for i in "${!names[@]}"; do
        case " $TARGETS nginx-2w " in
            *" ${names[$i]} "*) keep_names+=("${names[$i]}") keep_urls+=("${urls[$i]}") ;;
        esac
    done
    names=("${keep_names[@]}") urls=("${keep_urls[@]}")
fi
for i in "${!urls[@]}"; do
    u="${urls[$i]}"
    mapfile -t h < <(header_args "${names[$i]}")
    body="$(curl -fsS "${h[@]}" "$u")" || { echo "bench-http: $u does not answer" >&2; exit 1; }
    case "${names[$i]}" in
        gw-wasm-*) ;;
        *) [ "$body" = "ok" ] || { echo "bench-http: $u answered $body" >&2; exit 1; } ;;
    esac
done

# CPU time (clock ticks) used so far by processes $@ and all their threads.
cpu_ticks() {
    local t=0 f
    for p in "$@"; do
        for f in /proc/"$p"/task/*/stat; do
            t=$((t + $(awk '{print $14 + $15}' "$f" 2>/dev/null || echo 0)))
        done
    done
    echo "$t"
}
# The processes doing a target's work: an nginx instance's workers, or gw.
target_pids() {
    case "$1" in
        gw-http-proxy-baseline) echo "$base_pid" ;;
        gw-http-proxy-no-metrics) echo "$nometrics_pid" ;;
        # The Redis server's CPU is counted with the node's: it is the counters' cost.
        gw-http-proxy-pg) echo "$pg_pid" ;;
        gw-throttled-redis) echo "$pg_pid $(pgrep -x redis-server | tr '\n' ' ')" ;;
        gw*) echo "$gw_pid" ;;
        *) pgrep -P "${nginx_pid[$1]}" | tr '\n' ' ' ;;
    esac
}

# One wrk run: prints "REQS_PER_S P50_MS P99_MS NON2XX SOCKET_ERRORS CPU_US_PER_REQUEST".
run_wrk() {
    local pids c0 c1 out
    pids="$(target_pids "$2")"
    # shellcheck disable=SC2086
    c0="$(cpu_ticks $pids)"
    local h
    mapfile -t h < <(header_args "$2")
    out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${h[@]}" "$1")"
    # shellcheck disable=SC2086
    c1="$(cpu_ticks $pids)"
    echo "$out" | CPU_TICKS=$((c1 - c0)) HZ="$(getconf CLK_TCK)" python3 -c '
import os, re, sys
t = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
def pct(p):
    v, unit = re.search(r"^\s+" + p + r"%\s+([\d.]+)(us|ms|s)\s*$", t, re.M).groups()
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
p50, p99 = pct("50"), pct("99")
m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
e = re.search(r"Socket errors: (.*)", t)
n = int(re.search(r"^\s+(\d+) requests in", t, re.M).group(1))
cpu_us = int(os.environ["CPU_TICKS"]) * 1e6 / int(os.environ["HZ"]) / max(n, 1)
print(rps, p50, p99, int(m.group(1)) if m else 0, (e.group(1).replace(" ", "") if e else "-"), round(cpu_us, 2))
'
}

echo "bench-http: $ROUNDS round(s) x ${#names[@]} targets, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) CPUs" >&2
# Warm every target (connection pools, page cache) before measuring.
for i in "${!urls[@]}"; do
    mapfile -t h < <(header_args "${names[$i]}")
    wrk -t1 -c8 -d1s "${h[@]}" "${urls[$i]}" >/dev/null
done
echo "  columns: req/s, p50 ms, p99 ms, non-2xx, socket errors, CPU µs per request of the target's own processes" >&2

results="$work/results"
: >"$results"
for round in $(seq 1 "$ROUNDS"); do
    for k in $(seq 0 $((${#names[@]} - 1))); do
        i=$(((k + round - 1) % ${#names[@]}))
        line="$(run_wrk "${urls[$i]}" "${names[$i]}")"
        echo "${names[$i]} $line" >>"$results"
        echo "  round $round ${names[$i]}: $line" >&2
    done
done

python3 - "$results" "${names[@]}" <<'EOF'
import statistics, sys
path, names = sys.argv[1], sys.argv[2:]
rows = {}
for line in open(path):
    n, rps, p50, p99, non2xx, errors, cpu = line.split()
    rows.setdefault(n, []).append((float(rps), float(p50), float(p99), int(non2xx), errors, float(cpu)))
med = {n: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v),
           statistics.median(r[2] for r in v), sum(r[3] for r in v),
           ",".join(sorted({r[4] for r in v})), statistics.median(r[5] for r in v))
       for n, v in rows.items()}
ref_rps, ref_p99 = med["nginx-2w"][0], med["nginx-2w"][2]
print(f"| {'target':<14} | {'req/s':>8} | {'p50 ms':>6} | {'p99 ms':>6} | {'req/s vs nginx-2w':>17} | {'p99 vs nginx-2w':>15} | {'CPU µs/req':>10} | {'non-2xx':>7} | socket errors |")
print("|---|---|---|---|---|---|---|---|---|")
for n in names:
    rps, p50, p99, bad, errs, cpu = med[n]
    print(f"| {n:<14} | {rps:>8.0f} | {p50:>6.2f} | {p99:>6.2f} | {rps / ref_rps:>17.2f} | {p99 / ref_p99:>15.2f} | {cpu:>10.2f} | {bad:>7} | {errs} |")
EOF
