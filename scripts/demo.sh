#!/usr/bin/env bash
# Set up, then run the product on its built-in offline demo profile (no network needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cfg="$(.venv/bin/litellm-bridge paths --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["config"])')"
if [[ ! -f "$cfg" ]]; then
    .venv/bin/litellm-bridge init --template demo --non-interactive
fi
exec .venv/bin/litellm-bridge run "$@"
