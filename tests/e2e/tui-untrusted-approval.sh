# SPEC 4 step 4 in the real TUI: approving a prompt that is not about
# escalation (policy untrusted) runs the command in the sandbox, `n` to it
# runs nothing, and an agent's escalation answered "No, keep it sandboxed"
# runs the command in the sandbox (its status, not 126).
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup
target=/etc/airlock-e2e-untrusted-$$
rm -f "$target"
start 100 30 -n off -a untrusted
wait_socket

t send-keys -t e2e "touch $target" Enter
wait_for "Run it in the sandbox?"
screen | grep -qF "keep it sandboxed" && fail "a sandboxed run's prompt offers to keep it sandboxed"
wait_armed
t send-keys -t e2e y
wait_for "you approved it once: runs in the sandbox"
wait_for "[1] exit 1 ·"
screen | grep -qF "[1] exit 1 · " || fail "no exit status"
screen | grep -F "[1] exit" | grep -qF " sandboxed ·" || fail "the approved command ran unsandboxed"
[ ! -e "$target" ] || fail "the approved command wrote $target outside the sandbox"

t send-keys -t e2e "touch $target.n" Enter
wait_for "Run it in the sandbox?"
wait_armed
t send-keys -t e2e n
wait_for "[2] denied ·"
[ ! -e "$target.n" ] || fail "the denied command ran"

# An escalation of a known-safe command that the human keeps in the sandbox
# runs there: the socket directory, hidden inside, shows no socket.
submit --escalate --justification "look at the sockets" -- ls -A "$XDG_RUNTIME_DIR/airlock" \
	>"$e2e_dir/esc.out" 2>&1 &
esc=$!
wait_for "look at the sockets"
wait_for "Run outside the sandbox?"
wait_for "No, keep it sandboxed"
wait_armed
t send-keys -t e2e n
wait "$esc"
rc=$?
[ "$rc" != 126 ] || fail "an escalation kept in the sandbox was refused (126), not run"
grep -qF ".sock" "$e2e_dir/esc.out" && fail "the kept command ran outside the sandbox: $(cat "$e2e_dir/esc.out")"
wait_for "you denied running it outside: runs in the sandbox"

rm -f "$target" "$target.n"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
