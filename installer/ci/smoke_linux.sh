#!/bin/sh
# Smoke test of an installed .deb: offline demo completion, then a tampered and an unsigned
# sidecar must be refused. Needs root (it modifies /opt/litellm-bridge) and curl.
set -eu
APP=/opt/litellm-bridge
PORT=4747
export LITELLM_BRIDGE_HOME="$(mktemp -d)"
trap 'litellm-bridge stop --agent >/dev/null 2>&1 || true' EXIT

test -x /usr/bin/litellm-bridge
test -f /usr/share/applications/litellm-bridge.desktop
test ! -e /etc/xdg/autostart/litellm-bridge.desktop
litellm-bridge --version
litellm-bridge init --template demo --non-interactive --port "$PORT"

litellm-bridge start
KEY="$(litellm-bridge key)"
curl -fsS "http://127.0.0.1:$PORT/v1/chat/completions" \
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"model": "demo", "messages": [{"role": "user", "content": "hi"}]}' | tee /tmp/answer.json
grep -q 'LiteLLM Bridge demo model' /tmp/answer.json
litellm-bridge stop --agent
sleep 2

refused() {
    if litellm-bridge start >/tmp/start.log 2>&1; then
        echo "smoke: a $1 sidecar was started" >&2; exit 1
    fi
    grep -q "$2" /tmp/start.log || { cat /tmp/start.log >&2; exit 1; }
    litellm-bridge status || true
    litellm-bridge stop --agent >/dev/null 2>&1 || true
    sleep 2
}

cp "$APP/sidecar/litellm-bridge-sidecar" /tmp/sidecar.orig
printf 'x' >>"$APP/sidecar/litellm-bridge-sidecar"
refused modified "modified after signing"
cp /tmp/sidecar.orig "$APP/sidecar/litellm-bridge-sidecar"

mv "$APP/manifest.json.sig" /tmp/manifest.sig
refused unsigned "not signed"
mv /tmp/manifest.sig "$APP/manifest.json.sig"
echo "smoke: ok"
