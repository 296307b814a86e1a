#!/usr/bin/env bash
# Install the pinned claude-code-router that bench/overhead.py compares against into a
# project-local prefix (default: <repo>/.cache/npm-bench; scripts/setup.sh --dev runs it). Idempotent: does nothing when the
# pinned version is already there. Prints the path of its entry script on the last line.
#
#   bench/install_ccr.sh [PREFIX]
set -euo pipefail

CCR_VERSION="1.0.73"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${1:-${LITELLM_BRIDGE_BENCH_PREFIX:-$repo/.cache/npm-bench}}"
mkdir -p "$prefix"

want="claude-code-router@$CCR_VERSION"
stamp="$prefix/.installed"
bin="$prefix/node_modules/.bin/ccr"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$bin" ]]; then
    echo "$bin"
    exit 0
fi

# A private npm cache and no telemetry/update nagging; the user's ~/.npmrc still applies.
export npm_config_cache="$prefix/.npm-cache"
export npm_config_update_notifier=false
export npm_config_fund=false
export npm_config_audit=false

npm install --prefix "$prefix" --no-save --loglevel=error \
    "@musistudio/claude-code-router@$CCR_VERSION" >&2

echo "$want" >"$stamp"
echo "$bin"
