#!/usr/bin/env bash
# Install the pinned coding CLIs used by tests/e2e/test_clis.py into a project-local prefix
# (default: <repo>/.cache/npm-clis). Idempotent: does nothing when the pinned versions are
# already there. Prints the bin directory on the last line.
#
#   tests/e2e/install_clis.sh [PREFIX]
set -euo pipefail

CLAUDE_CODE_VERSION="2.1.332"
GEMINI_CLI_VERSION="0.61.0"
CODEX_VERSION="0.171.0"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
prefix="${1:-${LITELLM_BRIDGE_CLI_PREFIX:-$repo/.cache/npm-clis}}"
mkdir -p "$prefix"

want="claude-code@$CLAUDE_CODE_VERSION gemini-cli@$GEMINI_CLI_VERSION codex@$CODEX_VERSION"
stamp="$prefix/.installed"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$prefix/node_modules/.bin/codex" ]]; then
    echo "$prefix/node_modules/.bin"
    exit 0
fi

# A private npm cache and no npm telemetry/update nagging; the user's ~/.npmrc still applies
# (company registries and proxies live there).
export npm_config_cache="$prefix/.npm-cache"
export npm_config_update_notifier=false
export npm_config_fund=false
export npm_config_audit=false

npm install --prefix "$prefix" --no-save --loglevel=error \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" \
    "@google/gemini-cli@$GEMINI_CLI_VERSION" \
    "@openai/codex@$CODEX_VERSION" >&2

echo "$want" >"$stamp"
echo "$prefix/node_modules/.bin"
