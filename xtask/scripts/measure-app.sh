#!/usr/bin/env bash
# Measures the installed field app: cold start to a usable grid, and its memory when idle.
# Run inside the desktop session, after `cargo xtask bundle` and `apt install` of the
# package, with the debug binaries built (the org server and the CLI):
#   xvfb-run -a dbus-run-session -- bash xtask/scripts/desktop-session.sh \
#     bash xtask/scripts/measure-app.sh /usr/bin/outpost-app
# It signs the demo field user in with the CLI (same store and keychain as the app), then
# starts the app three times through tauri-driver and times, from the WebDriver session's
# start (the app process starting) to the accounts grid showing its total: the home
# screen, a tap on the sales module, the grid. Then it leaves the app idle for 20 s and
# reads the resident memory of the app and of its web content process.
set -euo pipefail
app=${1:-/usr/bin/outpost-app}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$root/target/debug
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export OUTPOST_PASSWORD=outpost-measure-password
"$bin/outpost-server" --data-dir "$work/server" --listen 127.0.0.1:0 --demo-password "$OUTPOST_PASSWORD" \
  >"$work/server.log" 2>&1 &
for _ in $(seq 1 100); do grep -q "listening on" "$work/server.log" && break; sleep 0.2; done
url=$(grep -o "http://127.0.0.1:[0-9]*" "$work/server.log" | head -1)
"$bin/outpost" --data-dir "$work/client" login --server "$url" --user fiona >/dev/null
"$bin/outpost" --data-dir "$work/client" sync >/dev/null
port=4446
OUTPOST_DATA_DIR=$work/client OUTPOST_MULTI_INSTANCE=1 NO_AT_BRIDGE=1 \
  "$root/.tools/bin/tauri-driver" --port $port --native-port 4447 >/dev/null 2>&1 &
sleep 1
wd=http://127.0.0.1:$port
now_ms() { date +%s%3N; }
find_text() { # session, css → the element's text, or nothing
  local el
  el=$(curl -s -X POST "$wd/session/$1/element" -H 'content-type: application/json' \
    -d "{\"using\":\"css selector\",\"value\":\"$2\"}" | grep -o '"element-6066-11e4-a52e-4f735466cecf":"[^"]*"' | cut -d'"' -f4 || true)
  [ -n "$el" ] && curl -s "$wd/session/$1/element/$el/text" | sed 's/.*"value":"\([^"]*\)".*/\1/'
}
click() {
  local el
  el=$(curl -s -X POST "$wd/session/$1/element" -H 'content-type: application/json' \
    -d "{\"using\":\"css selector\",\"value\":\"$2\"}" | grep -o '"element-6066-11e4-a52e-4f735466cecf":"[^"]*"' | cut -d'"' -f4)
  curl -s -X POST "$wd/session/$1/element/$el/click" -H 'content-type: application/json' -d '{}' >/dev/null
}
wait_for() { # session, css
  for _ in $(seq 1 600); do [ -n "$(find_text "$1" "$2")" ] && return 0; sleep 0.05; done
  echo "never showed $2" >&2; return 1
}
for run in 1 2 3; do
  t0=$(now_ms)
  session=$(curl -s -X POST "$wd/session" -H 'content-type: application/json' \
    -d "{\"capabilities\":{\"alwaysMatch\":{\"tauri:options\":{\"application\":\"$app\"}}}}" |
    grep -o '"sessionId":"[^"]*"' | cut -d'"' -f4)
  # The first start shows the modules; later ones reopen the module last used.
  for _ in $(seq 1 600); do
    [ -n "$(find_text "$session" '[data-testid="grid-total"]')" ] && break
    if [ -n "$(find_text "$session" '[data-testid="module-field-sales"]')" ]; then
      click "$session" '[data-testid="module-field-sales"]'
    fi
    sleep 0.05
  done
  wait_for "$session" '[data-testid="grid-total"]'
  t2=$(now_ms)
  echo "run $run: usable grid in $((t2 - t0)) ms ($(find_text "$session" '[data-testid="grid-total"]'))"
  if [ "$run" = 3 ]; then
    sleep 20
    for name in outpost-app WebKitWebProcess WebKitNetworkProcess; do
      pid=$(pgrep -n -f "$name" || true)
      [ -n "$pid" ] && echo "idle RSS $name: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
    done
  fi
  curl -s -X DELETE "$wd/session/$session" >/dev/null
  sleep 1
done
