# A flood relayed into an agent's pipe (stdio_fds, SPEC 8) is only sampled
# by its pane (launch_relayed, PANE_RELAYED_PENDING): the emulator takes a
# frame's share, so most of 256 MiB is left out of the pane's copy and said
# so, while the agent gets every byte. Before, the pane took nearly all of
# it (97% in a release build) and held the relay to the emulator's pace.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup 60

start 100 30 -n off -a never
wait_socket

# stderr into a file: only stdout is relayed, as when an agent keeps stderr apart.
n=$(submit -- head -c 268435456 /dev/zero </dev/null 2>"$e2e_dir/err" | wc -c)
[ "$n" = 268435456 ] || fail "256 MiB into a pipe gave $n bytes"
wait_for "were not shown here"
unshown=$(t capture-pane -p -J -t e2e |
	sed -n 's/.*airlock: \([0-9]*\) bytes of output were not shown here.*/\1/p' | tail -n 1)
[ -n "$unshown" ] && [ "$unshown" -gt 67108864 ] ||
	fail "the pane of a relayed flood left out only ${unshown:-no} bytes of 256 MiB (a sample leaves out most)"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
