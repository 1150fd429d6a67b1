#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what the tests need (the wasm32 targets for
# the example functions, a Python venv with the AWS CLI and boto3; python3 and python3-venv must be
# installed, or are installed with apt-get when run as root), builds the guest functions, then runs
# every test against the real binary, server, store and WebAssembly runtime.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/build-functions.sh >/dev/null
if [ -x scripts/setup-python.sh ]; then
    scripts/setup-python.sh
fi
# The tests that read the spec corpus beside the project skip themselves when it is absent, each
# with a SKIPPED line in the output below; say so up front too.
if [ ! -d ../shared/corpus/specs ]; then
    echo "test.sh: ../shared/corpus/specs not found (the corpus lives beside the project):" \
        "the corpus tests are skipped, each printing a SKIPPED line" >&2
fi
cargo test --locked "$@"
