# Timeouts of agent requests (SPEC 12), with real clients on the agent
# socket: a request with "timeout_ms":2000 whose network prompt is left on
# screen 5 s and then allowed completes, and its exit is not reported as
# timed out (the clock stood still while the human decided); one that just
# runs too long gets SIGTERM and an exit event with "timed_out":true and
# code 124; `airlock submit --timeout` exits 124 the same way.
. "$(dirname "$0")/tui-lib.sh"

command -v curl >/dev/null 2>&1 || { echo "SKIP: curl is not installed" >&2; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is not installed" >&2; exit 77; }
export XDG_RUNTIME_DIR="$e2e_dir/run"
mkdir -m 700 "$XDG_RUNTIME_DIR"
start 120 30 -n ask
i=0
while ! ls "$XDG_RUNTIME_DIR"/airlock/*.sock >/dev/null 2>&1; do
	[ $i -lt 200 ] || fail "no agent socket under $XDG_RUNTIME_DIR/airlock"
	sleep 0.1
	i=$((i + 1))
done
sock=$(ls "$XDG_RUNTIME_DIR"/airlock/*.sock | head -1)

# agent ID TIMEOUT_MS SCRIPT: sends one exec request of `sh -c SCRIPT` and
# writes every event it gets, one JSON line each, to e2e_dir/ID.events.
agent() {
	python3 - "$sock" "$e2e_dir/ws" "$1" "$2" "$3" >"$e2e_dir/$1.events" <<'EOF'
import json, socket, sys
sock, cwd, rid, ms, script = sys.argv[1:6]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
s.settimeout(60)
req = {"id": rid, "op": "exec", "command": ["sh", "-c", script], "cwd": cwd,
       "timeout_ms": int(ms)}
s.sendall((json.dumps(req) + "\n").encode())
buf = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    buf += b
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        ev = json.loads(line)
        print(json.dumps(ev), flush=True)
        if ev.get("event") in ("exit", "error") or (
                ev.get("event") == "decision" and ev.get("decision") == "denied"):
            sys.exit(0)
EOF
}

# exit_of ID: the exit event of request ID, or nothing.
exit_of() {
	grep '"event": "exit"' "$e2e_dir/$1.events"
}

# 1. The network prompt stays on screen 5 s, well past the 2 s the request may
#    run: the clock stands still meanwhile, so once allowed the command ends
#    normally. (The host does not exist: after the answer curl gets the
#    proxy's error at once, and the script goes on to its end.)
agent held 2000 'curl -s -o /dev/null -w "code=%{http_code}\n" http://airlock-e2e-held.example/; echo finished-in-time' &
held=$!
wait_for "Allow network access?"
wait_for "airlock-e2e-held.example:80 (http)"
sleep 5
wait_armed
t send-keys -t e2e y
wait "$held" || fail "the held client failed: $(cat "$e2e_dir/held.events")"
ex=$(exit_of held)
[ -n "$ex" ] || fail "no exit event: $(cat "$e2e_dir/held.events")"
case $ex in *'"timed_out"'*) fail "reported as timed out: $ex" ;; esac
case $ex in *'"code": 0'*) ;; *) fail "did not complete: $ex" ;; esac
python3 - "$e2e_dir/held.events" <<'EOF' || fail "its output did not come back: $(cat "$e2e_dir/held.events")"
import base64, json, sys
out = b"".join(base64.b64decode(e["data"]) for e in map(json.loads, open(sys.argv[1]))
               if e["event"] == "output")
sys.exit(0 if b"finished-in-time" in out else 1)
EOF

# 2. Nothing waits for a human: 1 s of `sleep 30` and it is ended, code 124.
start_s=$(date +%s)
agent slow 1000 'sleep 30; echo never' || fail "the slow client failed"
took=$(($(date +%s) - start_s))
ex=$(exit_of slow)
case $ex in *'"timed_out": true'*) ;; *) fail "not reported as timed out: $ex" ;; esac
case $ex in *'"code": 124'*) ;; *) fail "not status 124: $ex" ;; esac
[ "$took" -lt 15 ] || fail "the timed-out command took ${took}s"
wait_for "timed out"

# 3. submit --timeout: 124, and says so.
(cd "$e2e_dir/ws" && timeout 30 env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$AIRLOCK" submit \
	--timeout 1 -- sleep 30) >"$e2e_dir/submit.out" 2>&1
rc=$?
[ "$rc" = 124 ] || fail "submit --timeout exited $rc: $(cat "$e2e_dir/submit.out")"
grep -q "timed out" "$e2e_dir/submit.out" || fail "submit did not say it timed out"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
