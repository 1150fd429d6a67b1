#!/usr/bin/env bash
# Build gw's example and test WebAssembly functions (the separate workspace in functions/).
#   wasm32-wasip2: every function  -> target/wasm32-wasip2/release/NAME.wasm (components)
#   wasm32-wasip1: hello only      -> target/wasm32-wasip1/release/hello.wasm (a core module)
# Idempotent; when nothing changed cargo has nothing to do and this takes about a second.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

installed="$(rustup target list --installed)"
for t in wasm32-wasip2 wasm32-wasip1; do
    if ! grep -qx "$t" <<<"$installed"; then
        rustup target add "$t"
    fi
done

cargo build --release --target wasm32-wasip2 --manifest-path functions/Cargo.toml --target-dir target "$@"
cargo build --release --target wasm32-wasip1 --manifest-path functions/Cargo.toml --target-dir target -p hello "$@"

ls -1 target/wasm32-wasip2/release/*.wasm target/wasm32-wasip1/release/hello.wasm
