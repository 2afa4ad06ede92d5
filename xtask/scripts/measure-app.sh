#!/usr/bin/env bash
# Measures the installed field app: cold start to a usable grid, and its memory when idle.
# Run inside the desktop session, after `cargo xtask bundle` and `apt install` of the
# package, with the debug binaries built (the org server and the CLI):
#   xvfb-run -a dbus-run-session -- bash xtask/scripts/desktop-session.sh \
#     bash xtask/scripts/measure-app.sh /usr/bin/outpost-app
# It signs the demo field user in with the CLI (same store and keychain as the app), then
# starts the app three times through tauri-driver and times, from asking WebDriver for a
# session (which starts the app process) to the accounts grid showing its total: the home
# screen and a tap on the sales module the first time, the module reopened after. Then it
# leaves the app idle for 20 s and reads the resident memory of the app and of WebKit's
# web content and network processes.
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
for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$port/status" >/dev/null && break; sleep 0.1; done
python3 - "$app" "$port" <<'PY'
import json, subprocess, sys, time, urllib.request, urllib.error
app, port = sys.argv[1], sys.argv[2]
wd = f"http://127.0.0.1:{port}"
def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(wd + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)["value"]
    except urllib.error.HTTPError as e:
        return json.load(e)["value"]
def find(session, css):
    found = call("POST", f"/session/{session}/element", {"using": "css selector", "value": css})
    return None if "error" in found else next(iter(found.values()))
def text(session, el):
    return call("GET", f"/session/{session}/element/{el}/text")
for run in (1, 2, 3):
    # tauri-driver takes a moment between sessions to be ready again.
    for _ in range(40):
        try:
            t0 = time.monotonic()
            session = call("POST", "/session", {"capabilities": {"alwaysMatch": {"tauri:options": {"application": app}}}})["sessionId"]
            break
        except (OSError, KeyError):
            time.sleep(0.5)
    else:
        sys.exit("no WebDriver session")
    deadline = t0 + 60
    while time.monotonic() < deadline:
        total = find(session, '[data-testid="grid-total"]')
        if total and text(session, total):
            break
        tile = find(session, '[data-testid="module-field-sales"]')
        if tile:
            call("POST", f"/session/{session}/element/{tile}/click", {})
        time.sleep(0.02)
    else:
        sys.exit("the grid never showed")
    ms = (time.monotonic() - t0) * 1000
    print(f"run {run}: usable grid in {ms:.0f} ms ({text(session, total)})")
    if run == 3:
        time.sleep(20)
        for name in ("outpost-app", "WebKitWebProcess", "WebKitNetworkProcess"):
            pid = subprocess.run(["pgrep", "-n", "-f", name], capture_output=True, text=True).stdout.strip()
            if pid:
                rss = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")][0].split()[1]
                print(f"idle RSS {name}: {int(rss) / 1024:.0f} MiB")
    call("DELETE", f"/session/{session}")
    time.sleep(1)
PY
