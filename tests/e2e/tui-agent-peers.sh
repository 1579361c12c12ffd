# Clients that go away never take the TUI with them (SPEC 8, 9): while one
# client streams a long output, others are killed -9 mid-stream, shut their
# reading side, or stop reading through a pipe (`submit -- yes | head`);
# the TUI lives on and the streaming client gets every line and its exit.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup 60
alive() {
	local pid
	pid=$(airlock_pid)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || fail "airlock died: $*"
	! screen | grep -qF AIRLOCK-EXITED || fail "airlock exited: $*"
}

start 100 30 -n off -a never
wait_socket
sock=$(ls "$XDG_RUNTIME_DIR"/airlock/*.sock)

# The one that must complete, streaming all along.
submit -- sh -c 'i=0; while [ $i -lt 40 ]; do seq 1 2000; sleep 0.1; i=$((i+1)); done; echo streamed-all' \
	>"$e2e_dir/stream.out" 2>&1 &
stream=$!

# 1. Killed -9 mid-stream.
(cd "$e2e_dir/ws" && exec "$AIRLOCK" submit -- yes >/dev/null 2>&1) &
victim=$!
sleep 0.5
kill -9 "$victim"
wait "$victim" 2>/dev/null
sleep 0.3
alive "after a client was killed -9 mid-stream"

# 2. A client that shuts down its reading side and stays.
python3 - "$sock" <<'EOF' || fail "the SHUT_RD client failed"
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall((json.dumps({"id": "1", "op": "exec", "command": ["yes"], "cwd": "/tmp"}) + "\n").encode())
time.sleep(0.3)
s.shutdown(socket.SHUT_RD)
time.sleep(1.5)
s.close()
EOF
sleep 0.3
alive "after a client shut its reading side"

# 3. A reader that stops: submit ends as a pipeline's command would.
set -o pipefail
n=$(submit -- yes | head -c 100 | wc -c)
rc=$?
set +o pipefail
[ "$n" = 100 ] || fail "yes | head -c 100 gave $n bytes"
[ "$rc" = 141 ] || fail "submit whose reader went away exited $rc, not 141"
alive "after a reader of submit went away"

wait "$stream"
rc=$?
[ "$rc" = 0 ] || fail "the streaming client exited $rc: $(tail -3 "$e2e_dir/stream.out")"
tr -d '\r' <"$e2e_dir/stream.out" | grep -qx streamed-all || fail "the streaming client lost its end"
lines=$(tr -d '\r' <"$e2e_dir/stream.out" | grep -c '^[0-9]*$')
[ "$lines" = 80000 ] || fail "the streaming client got $lines lines, not 80000"

# A client that reads slower than its command writes loses nothing (the
# command is paused, the client never dropped).
n=$(submit -- head -c 33554432 /dev/zero | wc -c)
[ "$n" = 33554432 ] || fail "32 MiB through submit gave $n bytes"

out=$(submit -- echo still-here) || fail "a last request failed"
case $out in *still-here*) ;; *) fail "a last request printed: $out" ;; esac
alive "at the end"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
