#!/usr/bin/env bash
# The main job on the bundled demo: build the example WebAssembly functions, then import
# specs/demo.yaml, deploy stage prod with a 10 % canary, and serve it on http://localhost:4566.
# Extra arguments go to `gw demo` (e.g. --listen 127.0.0.1:8080).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/build-functions.sh >/dev/null
exec cargo run --quiet --locked -- demo --functions target/wasm32-wasip2/release "$@"
