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
# The dashboard's browser test (tests/it/dashboard.rs) drives headless Chromium, Debian's chromium
# package, through Playwright's playwright-core (no browser download), installed under
# target/browser. Without them that test fails, saying what is missing.
if [ -z "${GW_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing chromium (apt-get) for the dashboard's browser test" >&2
        if ! { apt-get update -qq >/dev/null &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
            echo "test.sh: could not install chromium: the dashboard's browser test will fail" >&2
        fi
    else
        echo "test.sh: chromium is missing: the dashboard's browser test needs it;" \
            "install Debian's chromium package (apt-get install chromium) or set GW_CHROMIUM" >&2
    fi
fi
# The shared-counters test (tests/it/nodes.rs) starts a real redis-server of its own on a loopback
# port (Debian's redis-server package; the distribution's service is not used).
if [ -z "${GW_REDIS_SERVER:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing redis-server (apt-get) for the shared-counters test" >&2
        if ! { apt-get update -qq >/dev/null &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }; then
            echo "test.sh: could not install redis-server: the shared-counters test will fail" >&2
        fi
    else
        echo "test.sh: redis-server is missing: the shared-counters test needs it;" \
            "install Debian's redis-server package (apt-get install redis-server) or set GW_REDIS_SERVER" >&2
    fi
fi
# The PostgreSQL store's tests (tests/it/postgres.rs) start a real PostgreSQL of their own: a
# fresh cluster in a temporary folder on a loopback port (Debian's postgresql package; the
# distribution's service is not used; run as the postgres user when the tests run as root).
if [ -z "${GW_PG_BIN:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "test.sh: installing postgresql (apt-get) for the PostgreSQL store's tests" >&2
        if ! { apt-get update -qq >/dev/null &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }; then
            echo "test.sh: could not install postgresql: the PostgreSQL store's tests will fail" >&2
        fi
    else
        echo "test.sh: PostgreSQL is missing: the PostgreSQL store's tests need it;" \
            "install Debian's postgresql package (apt-get install postgresql) or set GW_PG_BIN" >&2
    fi
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
