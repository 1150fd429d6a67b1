#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what the tests need (the wasm32 targets for
# the example functions, a Python venv with the AWS CLI and boto3; python3 and python3-venv must be
# installed, or are installed with apt-get when run as root; Debian's chromium and, from npm,
# playwright-core for the dashboard's browser test; Debian's redis-server and postgresql for the
# several-nodes tests; gw installs componentize-py and componentize-js
# itself when the tests first build a Python or JavaScript handler), builds the guest functions,
# then runs every test against the real binary, server, store and WebAssembly runtime.
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
# need_package PACKAGE ENV_OVERRIDE WHAT: Debian's PACKAGE, for WHAT, installed with apt-get when
# this runs as root; otherwise said (ENV_OVERRIDE names another binary). The callers check first.
need_package() {
    local package="$1" override="$2" what="$3"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing $package (apt-get) for $what" >&2
        if ! { apt-get update -qq >/dev/null &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null; }; then
            echo "test.sh: could not install $package: $what will fail" >&2
        fi
    else
        echo "test.sh: $package is missing: $what needs it;" \
            "install Debian's $package package (apt-get install $package) or set $override" >&2
    fi
}
# The dashboard's browser test (tests/it/dashboard.rs) drives headless Chromium, Debian's chromium
# package, through Playwright's playwright-core (no browser download), installed under
# target/browser. Without them that test fails, saying what is missing.
if [ -z "${GW_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
    need_package chromium GW_CHROMIUM "the dashboard's browser test"
fi
# The several-nodes tests (tests/it/nodes.rs, tests/it/postgres.rs) start a real redis-server and
# a real PostgreSQL of their own on loopback ports (a fresh cluster in a temporary folder, run as
# the postgres user when the tests run as root); the distributions' services are not used.
if [ -z "${GW_REDIS_SERVER:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
    need_package redis-server GW_REDIS_SERVER "the several-nodes tests"
fi
if [ -z "${GW_PG_BIN:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need_package postgresql GW_PG_BIN "the PostgreSQL store's tests"
fi
playwright_version=1.65.2
playwright=target/browser/node_modules/playwright-core
if ! grep -qs "\"version\": \"$playwright_version\"" "$playwright/package.json"; then
    if command -v npm >/dev/null 2>&1; then
        mkdir -p target/browser
        npm install --prefix target/browser --no-save --no-package-lock --no-audit --no-fund \
            --loglevel=error "playwright-core@$playwright_version" >&2 ||
            echo "test.sh: could not install playwright-core: the dashboard's browser test will fail" >&2
    else
        echo "test.sh: npm is missing: the dashboard's browser test needs Node.js 20+ and npm" \
            "to install playwright-core" >&2
    fi
fi
# Python and JavaScript handlers are built by gw itself (`gw function put --runtime ...`, tested in
# tests/it/handlers/languages.rs): on first use it installs componentize-py (PyPI) and
# componentize-js with esbuild (npm) into its toolchain directory, here one under target/.
export GW_TOOLCHAINS="${GW_TOOLCHAINS:-$root/target/toolchains}"
cargo test --locked "$@"
