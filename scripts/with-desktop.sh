#!/usr/bin/env bash
# Run a command inside a private desktop session: Xvfb (unless DISPLAY is set), a private
# D-Bus session bus, an unlocked gnome-keyring (real Secret Service), a notification server
# (dunst) and a tray host (trayer). Everything started here stops when the command ends.
set -euo pipefail

if [[ -z "${DBUS_SESSION_BUS_ADDRESS_PRIVATE:-}" ]]; then
    export DBUS_SESSION_BUS_ADDRESS_PRIVATE=1
    # The private bus starts *this* session's keyring, unlocked, whenever the Secret Service
    # name is free (the system's service file would start a locked one that can only prompt,
    # which fails every keyring test after it). So it also comes back, with its data, if the
    # daemon ever exits during a run; the log says so.
    bus_dir=$(mktemp -d)
    mkdir "$bus_dir/services"
    {
        echo '#!/bin/sh'
        echo 'echo "with-desktop: starting the session keyring daemon (unlocked)" >&2'
        echo "printf 'test-keyring-password' | exec gnome-keyring-daemon --unlock --foreground --components=secrets"
    } >"$bus_dir/keyring"
    chmod 700 "$bus_dir/keyring"
    for name in org.freedesktop.secrets org.gnome.keyring; do
        printf '[D-BUS Service]\nName=%s\nExec=%s\n' "$name" "$bus_dir/keyring" \
            >"$bus_dir/services/$name.service"
    done
    {
        echo '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"'
        echo ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">'
        echo "<busconfig><servicedir>$bus_dir/services</servicedir>"
        echo '<include>/usr/share/dbus-1/session.conf</include></busconfig>'
    } >"$bus_dir/session.conf"
    exec dbus-run-session --config-file="$bus_dir/session.conf" -- "$0" "$@"
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
# A keyring daemon the bus starts later (see above) must use the same data and runtime dirs.
dbus-update-activation-environment XDG_DATA_HOME XDG_RUNTIME_DIR
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
