#!/usr/bin/env bash
# Create the repo-local Python virtualenv (.venv, gitignored) with the real AWS CLI and boto3,
# which tests/management.rs drives against gw's management API. Idempotent: when both are
# already importable it returns at once without touching the network.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

if [ -x "$venv/bin/python" ] && [ -x "$venv/bin/aws" ] \
    && "$venv/bin/python" -c 'import boto3, awscli' >/dev/null 2>&1; then
    exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check awscli boto3
"$venv/bin/aws" --version
"$venv/bin/python" -c 'import boto3; print("boto3", boto3.__version__)'
