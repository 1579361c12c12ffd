# More of the agent socket end to end, with real `airlock submit` clients:
# an approved escalation runs outside the sandbox; `a` on a patch approves
# its files for the session, so a second patch to them applies with no
# prompt; a client sending garbage gets an error event while another
# client's output keeps streaming, complete.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup
start 100 30 -n off
wait_socket

# An approved escalation (root can write /etc outside the sandbox).
if [ "$(id -u)" = 0 ]; then
	target=/etc/airlock-e2e-approved-$$
	submit --escalate --justification "writes /etc" -- sh -c "touch $target && echo made" \
		>"$e2e_dir/esc.out" 2>&1 &
	esc=$!
	wait_for "writes /etc"
	wait_armed
	t send-keys -t e2e y
	wait "$esc"
	rc=$?
	made=no
	[ -e "$target" ] && made=yes
	rm -f "$target"
	[ "$rc" = 0 ] || fail "an approved escalation exited $rc: $(cat "$e2e_dir/esc.out")"
	[ "$made" = yes ] || fail "the approved escalation did not run outside the sandbox"
	grep -q made "$e2e_dir/esc.out" || fail "its output did not come back"
fi

# `a` on a patch: later patches to the same file need no prompt.
printf 'one\n' >"$e2e_dir/ws/notes.txt"
printf '*** Begin Patch\n*** Update File: notes.txt\n@@\n-one\n+two\n*** End Patch\n' \
	>"$e2e_dir/p1.patch"
submit --patch "$e2e_dir/p1.patch" >"$e2e_dir/p1.out" 2>&1 &
p1=$!
wait_for "Apply file changes?"
wait_armed
t send-keys -t e2e a
wait "$p1" || fail "the first patch failed: $(cat "$e2e_dir/p1.out")"
[ "$(cat "$e2e_dir/ws/notes.txt")" = two ] || fail "the first patch was not applied"
printf '*** Begin Patch\n*** Update File: notes.txt\n@@\n-two\n+three\n*** End Patch\n' \
	>"$e2e_dir/p2.patch"
# Nobody answers now: a prompt would make this time out.
submit --patch "$e2e_dir/p2.patch" >"$e2e_dir/p2.out" 2>&1 || fail "the second patch: $(cat "$e2e_dir/p2.out")"
[ "$(cat "$e2e_dir/ws/notes.txt")" = three ] || fail "the second patch was not applied"

# Garbage from one client while another streams.
submit -- sh -c 'for i in $(seq 1 40); do echo "line $i"; sleep 0.05; done' \
	>"$e2e_dir/stream.out" 2>&1 &
streamer=$!
sock=$(ls "$XDG_RUNTIME_DIR"/airlock/*.sock | head -1)
reply=$(python3 - "$sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b"this is not json\n{\"id\":\"7\",\"op\":\"launch\"}\n" + b"\xff\xfe\n")
data = b""
while data.count(b"\n") < 3:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode("utf-8", "replace"))
PY
)
[ "$(printf '%s\n' "$reply" | grep -c '"event":"error"')" = 3 ] || fail "garbage got: $reply"
wait "$streamer" || fail "the streaming client failed: $(cat "$e2e_dir/stream.out")"
[ "$(grep -c '^line ' "$e2e_dir/stream.out")" = 40 ] || fail "lost output: $(cat "$e2e_dir/stream.out")"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
