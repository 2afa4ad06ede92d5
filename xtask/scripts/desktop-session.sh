#!/usr/bin/env bash
# Runs "$@" inside the desktop session the desktop tests need. Call it through
#   xvfb-run -a dbus-run-session -- bash xtask/scripts/desktop-session.sh CMD...
# It gives the session a throwaway keyring folder, starts gnome-keyring unlocked (Secret
# Service) and dunst (notifications), waits until both own their bus names, then runs CMD.
set -euo pipefail
export XDG_DATA_HOME="$(mktemp -d)"
export NO_AT_BRIDGE=1
cleanup() { [ -n "${dunst_pid:-}" ] && kill "$dunst_pid" 2>/dev/null; rm -rf "$XDG_DATA_HOME"; }
trap cleanup EXIT
eval "$(printf %s outpost-ci | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null
export GNOME_KEYRING_CONTROL
dunst >/dev/null 2>&1 & dunst_pid=$!
has_owner() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q 'boolean true'
}
for name in org.freedesktop.secrets org.freedesktop.Notifications; do
  for _ in $(seq 1 100); do has_owner "$name" && break; sleep 0.1; done
  has_owner "$name" || { echo "desktop-session: $name did not appear on the session bus" >&2; exit 1; }
done
"$@"
