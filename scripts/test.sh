#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what the tests need (the wasm32 targets for
# the example functions, a Python venv with the AWS CLI and boto3), builds the guest functions,
# then runs every test against the real binary, server, store and WebAssembly runtime.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/build-functions.sh >/dev/null
if [ -x scripts/setup-python.sh ]; then
    scripts/setup-python.sh
fi
cargo test --locked "$@"
