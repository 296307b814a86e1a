#!/usr/bin/env bash
# Set up a fresh machine for LiteLLM Bridge.
#   scripts/setup.sh          runtime only (.venv with the agent and the sidecar)
#   scripts/setup.sh --dev    plus test tools, desktop test services and the real coding CLIs
# System packages are installed with apt-get when running as root (or with sudo) on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1

RUN_PKGS=(python3 python3-venv ca-certificates)
DEV_PKGS=(xvfb xauth xdotool x11-utils imagemagick trayer dbus dbus-x11 libnotify-bin dunst
    gnome-keyring libsecret-tools xdg-utils gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1
    libgirepository1.0-dev libcairo2-dev libdbus-1-dev libglib2.0-dev pkg-config
    python3-dev python3-venv python3-tk nodejs npm dpkg-dev fakeroot binutils nsis iproute2 curl util-linux
    wixl msitools gnupg apt lintian)

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
        /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install "${RUN_PKGS[@]}"; fi
fi

# The distribution's Python 3.11 when there is one: built with PGO and LTO, it runs LiteLLM
# (and the whole test suite) about 1.6x faster than a plain source build such as pyenv's.
pick_python() {
    [[ -n "${PYTHON:-}" ]] && { echo "$PYTHON"; return; }
    for p in /usr/bin/python3.11 /usr/bin/python3; do
        if [[ -x "$p" ]] && "$p" -c 'import sys, venv, ensurepip; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
            echo "$p"; return
        fi
    done
    echo python3
}
PY=$(pick_python)
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
want=$("$PY" -c 'import os, sys; print(os.path.realpath(sys.executable))')
have=$(.venv/bin/python -c 'import os, sys; print(os.path.realpath(sys._base_executable))' 2>/dev/null || true)
if [[ "$have" != "$want" ]]; then
    [[ -e .venv ]] && echo "setup: recreating .venv for $want (was ${have:-broken})"
    rm -rf .venv
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check 'uv==0.13.9'
LOCK=requirements/run.lock
((DEV)) && LOCK=requirements/dev.lock
.venv/bin/uv pip install -q --python .venv/bin/python --require-hashes -r "$LOCK"
.venv/bin/uv pip install -q --python .venv/bin/python --no-deps -e .
if ((DEV)) && [[ -x tests/e2e/install_clis.sh ]]; then
    tests/e2e/install_clis.sh
fi
# The peer bench/overhead.py compares against (its ccr row is skipped if this fails).
if ((DEV)) && [[ -x bench/install_ccr.sh ]]; then
    bench/install_ccr.sh >/dev/null || echo "setup: claude-code-router not installed (bench/overhead.py skips its row)" >&2
fi
echo "setup: ready (.venv)"
