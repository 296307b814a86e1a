#!/usr/bin/env bash
# Run a command inside a private desktop session: Xvfb (unless DISPLAY is set), a private
# D-Bus session bus, an unlocked gnome-keyring (real Secret Service), a notification server
# (dunst) and a tray host (trayer). Everything started here stops when the command ends.
set -euo pipefail

if [[ -z "${DBUS_SESSION_BUS_ADDRESS_PRIVATE:-}" ]]; then
    export DBUS_SESSION_BUS_ADDRESS_PRIVATE=1
    exec dbus-run-session -- "$0" "$@"
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

if [[ -z "${DISPLAY:-}" ]]; then
    for n in $(seq 90 130); do
        if [[ ! -e /tmp/.X11-unix/X$n && ! -e /tmp/.X$n-lock ]]; then break; fi
    done
    Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp -noreset >/dev/null 2>&1 &
    pids+=($!)
    export DISPLAY=":$n"
    for _ in $(seq 1 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
fi

# A private keyring directory so tests never touch a real user's keyring.
export XDG_DATA_HOME="${XDG_DATA_HOME_PRIVATE:-$(mktemp -d)}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"
eval "$(printf 'test-keyring-password' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK 2>/dev/null || true

if command -v dunst >/dev/null; then
    dunst >/dev/null 2>&1 &
    pids+=($!)
fi
if command -v trayer >/dev/null; then
    trayer --edge top --align right --widthtype pixel --width 200 --height 32 \
        --transparent false --tint 0x303030 --SetDockType true >/dev/null 2>&1 &
    pids+=($!)
fi
sleep 0.3
"$@"
