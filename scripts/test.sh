#!/usr/bin/env bash
# Set up everything (system packages, .venv, real CLIs) and run lint, types and all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
scripts/setup.sh --dev
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (linux, win32)"
.venv/bin/mypy
.venv/bin/mypy --platform win32
echo "== pytest"
mkdir -p test-artifacts
scripts/with-desktop.sh .venv/bin/python -m pytest -p no:xvfb -n "${TEST_WORKERS:-3}" --dist loadgroup --reruns "${TEST_RERUNS:-2}" --reruns-delay 5 "$@"
echo "== done in $(( $(date +%s) - start )) s"
