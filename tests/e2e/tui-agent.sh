# The agent socket end to end: `airlock submit` against the running TUI.
# A plain command streams back with its status; an escalation waits for the
# human (n keeps it sandboxed: it runs there and fails); a patch shows its
# diff in the modal and y applies it.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup
start 100 30 -n off
wait_socket

out=$(submit -- sh -c 'echo hello from the agent; exit 3')
rc=$?
[ "$rc" = 3 ] || fail "submit exited $rc, not 3"
case $out in *"hello from the agent"*) ;; *) fail "submit printed: $out" ;; esac
wait_for "exit 3"

# Inside the sandbox the socket's directory is hidden: no way back to airlock.
out=$(submit -- sh -c 'echo "entries: $(ls -A "$(dirname "$AIRLOCK_SOCKET")" 2>/dev/null | wc -l)"')
case $out in *"entries: 0"*) ;; *) fail "the socket's directory is visible inside: $out" ;; esac

submit --escalate --justification "needs /etc" -- touch /etc/airlock-e2e-agent-$$ \
	>"$e2e_dir/esc.out" 2>&1 &
esc=$!
wait_for "needs /etc"
wait_for "Run outside the sandbox?"
wait_armed
t send-keys -t e2e n
wait "$esc"
rc=$?
# "No, keep it sandboxed": it ran in the sandbox, where /etc is read-only.
[ "$rc" = 1 ] || fail "an escalation kept in the sandbox exited $rc, not touch's 1"
[ ! -e /etc/airlock-e2e-agent-$$ ] || fail "the kept command wrote /etc"
wait_for "you denied running it outside: runs in the sandbox"
# The human said no to running it outside: no retry prompt follows the failure.
sleep 1
screen | grep -qF "Run outside the sandbox?" && fail "a retry prompt followed the human's No"

printf '*** Begin Patch\n*** Add File: hello.txt\n+hi there\n*** End Patch\n' >"$e2e_dir/p.patch"
submit --patch "$e2e_dir/p.patch" >"$e2e_dir/patch.out" 2>&1 &
pat=$!
wait_for "Apply file changes?"
wait_for "+hi there"
wait_armed
t send-keys -t e2e y
wait "$pat"
rc=$?
[ "$rc" = 0 ] || fail "an approved patch exited $rc"
[ "$(cat "$e2e_dir/ws/hello.txt")" = "hi there" ] || fail "the patch was not applied"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
