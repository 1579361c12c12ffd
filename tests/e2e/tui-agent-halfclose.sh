# The agent socket's connection life (SPEC 8, 9): a client that shuts its
# writing side after its request (as `nc -U` does) still gets every event;
# an idle client is closed (config agent.idle_timeout_ms makes it short here), one
# whose command runs is not; 70 requests in a row with no human all run (the
# finished agent panes make room); a TUI full of waiting panes answers with
# an error event, never a denial.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup
mkdir -p "$e2e_home"
echo '{"agent": {"idle_timeout_ms": 800}}' >"$e2e_home/config.json"

start 100 30 -n off -a never
wait_socket
sock=$(ls "$XDG_RUNTIME_DIR"/airlock/*.sock)

# Half-close, and a command that outlives the idle time.
python3 - "$sock" "$e2e_dir/ws" <<'EOF' || fail "half-closed client"
import base64, json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(20)
req = {"id": "h1", "op": "exec", "command": ["sh", "-c", "sleep 1.5; echo out-after-close"],
       "cwd": sys.argv[2]}
s.sendall((json.dumps(req) + "\n").encode())
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
events = [json.loads(l) for l in data.decode().splitlines() if l]
kinds = [e["event"] for e in events]
out = b"".join(base64.b64decode(e["data"]) for e in events if e["event"] == "output")
if "exit" not in kinds or events[-1].get("code") != 0 or b"out-after-close" not in out:
    sys.exit("events: %r" % events)
EOF

# An idle client is told and closed.
python3 - "$sock" <<'EOF' || fail "idle client"
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(10)
t0 = time.time()
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
took = time.time() - t0
ev = [json.loads(l) for l in data.decode().splitlines() if l]
if not ev or ev[0]["event"] != "error" or "idle" not in ev[0]["message"] or took > 5:
    sys.exit("idle: %r after %.1fs" % (ev, took))
EOF

# 70 in a row, nobody at the keyboard.
i=0
while [ $i -lt 70 ]; do
	out=$(submit -- echo "run-$i") || fail "request $i exited $?: $out"
	case $out in *"run-$i"*) ;; *) fail "request $i printed: $out" ;; esac
	i=$((i + 1))
done
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
t kill-server >/dev/null 2>&1
rm -rf "$XDG_RUNTIME_DIR" && mkdir -m 700 "$XDG_RUNTIME_DIR"

# Full of waiting prompts: the 65th request gets an error event that says so.
start 100 30 -n off -a untrusted
wait_socket
sock=$(ls "$XDG_RUNTIME_DIR"/airlock/*.sock)
python3 - "$sock" "$e2e_dir/ws" <<'EOF' || fail "full TUI"
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(20)
for i in range(65):
    req = {"id": "f%d" % i, "op": "exec", "command": ["touch", "f%d" % i], "cwd": sys.argv[2]}
    s.sendall((json.dumps(req) + "\n").encode())
data = b""
while b'"f64"' not in data:
    data += s.recv(65536)
time.sleep(0.3)
s.setblocking(False)
try:
    data += s.recv(65536)
except BlockingIOError:
    pass
ev = [json.loads(l) for l in data.decode().splitlines() if l]
last = [e for e in ev if e["id"] == "f64"]
if len(last) != 1 or last[0]["event"] != "error" or "full" not in last[0]["message"]:
    sys.exit("65th: %r" % last)
if any(e["event"] == "decision" for e in ev):
    sys.exit("a decision came: %r" % ev)
EOF
t send-keys -t e2e C-q
sleep 0.5
t send-keys -t e2e y
wait_for "AIRLOCK-EXITED"
exit 0
