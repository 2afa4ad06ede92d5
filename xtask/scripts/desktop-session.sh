#!/usr/bin/env bash
# Runs "$@" inside the desktop session the desktop tests need. Call it through
#   xvfb-run -a dbus-run-session -- bash xtask/scripts/desktop-session.sh CMD...
# It gives the session a throwaway keyring folder, starts gnome-keyring unlocked (Secret
# Service) and dunst (notifications), waits until both own their bus names, then runs CMD.
# `cargo xtask run` on a machine with no desktop session uses it too, with
# OUTPOST_KEYRING_HOME set to a folder that keeps the keyring between runs and
# OUTPOST_SESSION_NOTIFICATIONS=0 (no display for dunst).
set -euo pipefail
if [ -n "${OUTPOST_KEYRING_HOME:-}" ]; then
  mkdir -p "$OUTPOST_KEYRING_HOME"
  export XDG_DATA_HOME="$OUTPOST_KEYRING_HOME"
  throwaway=""
else
  export XDG_DATA_HOME="$(mktemp -d)"
  throwaway="$XDG_DATA_HOME"
fi
export NO_AT_BRIDGE=1
cleanup() { [ -n "${dunst_pid:-}" ] && kill "$dunst_pid" 2>/dev/null; [ -n "$throwaway" ] && rm -rf "$throwaway"; }
trap cleanup EXIT
eval "$(printf %s outpost-ci | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null
export GNOME_KEYRING_CONTROL
names="org.freedesktop.secrets"
if [ "${OUTPOST_SESSION_NOTIFICATIONS:-1}" != 0 ]; then
  dunst >/dev/null 2>&1 & dunst_pid=$!
  names="$names org.freedesktop.Notifications"
fi
has_owner() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q 'boolean true'
}
for name in $names; do
  for _ in $(seq 1 100); do has_owner "$name" && break; sleep 0.1; done
  has_owner "$name" || { echo "desktop-session: $name did not appear on the session bus" >&2; exit 1; }
done
"$@"
