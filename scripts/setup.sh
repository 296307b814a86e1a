#!/usr/bin/env bash
# Set up a fresh machine for LiteLLM Bridge.
#   scripts/setup.sh          runtime only (.venv with the agent and the sidecar)
#   scripts/setup.sh --dev    plus test tools, desktop test services and the real coding CLIs
# System packages are installed with apt-get when running as root (or with sudo) on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1

RUN_PKGS=(python3-venv ca-certificates)
DEV_PKGS=(xvfb xauth xdotool x11-utils imagemagick trayer dbus dbus-x11 libnotify-bin dunst
    gnome-keyring libsecret-tools xdg-utils gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1
    libgirepository1.0-dev libcairo2-dev libdbus-1-dev libglib2.0-dev pkg-config
    python3-tk nodejs npm dpkg-dev fakeroot binutils nsis iproute2 curl util-linux)

apt_install() {
    local sudo=""
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else
            echo "setup: not root and no sudo: skipping system packages ($*)" >&2; return 0; fi
    fi
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    # node/npm may come from elsewhere on the machine
    if command -v node >/dev/null && command -v npm >/dev/null; then
        missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
    fi
    local want=()
    for p in "${missing[@]}"; do [[ -n "$p" ]] && want+=("$p"); done
    ((${#want[@]})) || return 0
    echo "setup: installing system packages: ${want[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
}

if command -v apt-get >/dev/null; then
    if ((DEV)); then apt_install "${DEV_PKGS[@]}"; else
        python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install "${RUN_PKGS[@]}"; fi
fi

PY="${PYTHON:-python3}"
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check 'uv==0.13.9'
LOCK=requirements/run.lock
((DEV)) && LOCK=requirements/dev.lock
.venv/bin/uv pip install -q --python .venv/bin/python --require-hashes -r "$LOCK"
.venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
if ((DEV)) && [[ -x tests/e2e/install_clis.sh ]]; then
    tests/e2e/install_clis.sh
fi
echo "setup: ready (.venv)"
