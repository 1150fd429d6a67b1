#!/usr/bin/env bash
# Create the repo-local Python virtualenv (.venv, gitignored) with the real AWS CLI and boto3,
# which tests/it/management.rs drives against gw's management API, and prometheus_client, whose
# parser reads gw's /_gw/metrics in tests/it/metrics.rs. Idempotent: when both are
# already importable it returns at once without touching the network.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

if [ -x "$venv/bin/python" ] && [ -x "$venv/bin/aws" ] \
    && "$venv/bin/python" -c 'import boto3, awscli, prometheus_client' >/dev/null 2>&1; then
    exit 0
fi

# Creating the venv needs python3 and its venv module with ensurepip (Debian and Ubuntu ship
# that as the separate package python3-venv). As root with apt-get, install what is missing;
# otherwise stop and say what to install.
if [ ! -x "$venv/bin/python" ]; then
    missing=()
    if ! command -v "$python" >/dev/null 2>&1; then
        missing=(python3 python3-venv)
    elif ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        missing=(python3-venv)
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
        if [ "$(id -u)" = 0 ] && [ "$python" = python3 ] && command -v apt-get >/dev/null 2>&1; then
            echo "setup-python: installing ${missing[*]} with apt-get" >&2
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        else
            echo "setup-python: the tests need a Python venv for the AWS CLI and boto3, and" \
                "'$python' is missing or has no venv module: install ${missing[*]}" \
                "(e.g. sudo apt-get install ${missing[*]}) and rerun" >&2
            exit 1
        fi
    fi
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check awscli boto3 prometheus_client
"$venv/bin/aws" --version
"$venv/bin/python" -c 'import boto3; print("boto3", boto3.__version__)'
