#!/usr/bin/env bash
# The main job on the bundled demo: build the example WebAssembly functions, then import
# specs/demo.yaml, deploy stage prod with a 10 % canary, and serve it on http://localhost:4566.
# Extra arguments go to `gw demo` (e.g. --listen 127.0.0.1:8080).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

echo "demo: building the example functions and gw (cargo shows its progress below)." >&2
echo "demo: the first build takes a long time: several minutes to ~20 minutes on a small machine" >&2
echo "demo: (it compiles wasmtime); later runs start in seconds." >&2
scripts/build-functions.sh >/dev/null
cargo build --locked
echo "demo: built; starting gw demo" >&2
exec cargo run --quiet --locked -- demo --functions target/wasm32-wasip2/release "$@"
