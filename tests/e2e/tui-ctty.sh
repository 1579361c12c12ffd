# The pane's pseudo-terminal is its command's controlling terminal, in the
# sandbox and outside it: tcgetpgrp and /dev/tty work, every size change of
# the pane reaches the command as SIGWINCH (`tput cols` follows three
# resizes of the window), and an interactive shell has job control.
. "$(dirname "$0")/tui-lib.sh"

command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is not installed" >&2; exit 77; }
command -v tput >/dev/null 2>&1 || { echo "SKIP: tput is not installed" >&2; exit 77; }

# Opens /dev/tty, checks that the terminal's foreground group is its own,
# then becomes a shell loop that prints the width on every SIGWINCH.
probe='import os; os.close(os.open("/dev/tty", os.O_RDWR)); '\
'print("ctty-" + ("ok" if os.tcgetpgrp(0) == os.getpgrp() else "bad"), flush=True); '\
'os.execvp("bash", ["bash", "-c", "trap \"echo cols=\\$(tput cols)\" WINCH; '\
'echo ready; while :; do sleep 0.1; done"])'

# ctty MODE: the checks with the sandbox mode MODE.
ctty() {
	start 100 30 -n off -s "$1" -- python3 -c "$probe"
	wait_for_line "ctty-ok"
	wait_for_line "ready"
	for cols in 90 61 120; do
		t resize-window -t e2e -x "$cols" -y 30 || fail "resize to $cols"
		wait_for_line "cols=$cols" 10
	done
	# Ctrl-C ends the loop; again if a trap's `tput` still ran when it came
	# (bash goes on when its foreground child ends by itself on SIGINT).
	local k=0
	until t capture-pane -p -t e2e | grep -q '^ *\[1\] exit'; do
		[ $k -lt 50 ] || fail "Ctrl-C did not end the command"
		[ $((k % 10)) = 0 ] && t send-keys -t e2e C-c
		sleep 0.1
		k=$((k + 1))
	done
	t send-keys -t e2e C-q
	wait_for "AIRLOCK-EXITED 0"
	t kill-server >/dev/null 2>&1
	# The next start needs the server gone, its socket too.
	local i=0
	while [ -e "$e2e_sock" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# jobctl MODE: job control in an interactive shell in a pane: Ctrl-Z stops
# the foreground job, fg brings it back, Ctrl-C interrupts it.
jobctl() {
	start 100 30 -n off -s "$1" -- bash --norc --noprofile -i
	wait_for "[1] running ·"
	t send-keys -t e2e Tab
	t send-keys -t e2e "sleep 30" Enter
	sleep 0.5
	t send-keys -t e2e C-z
	wait_for "Stopped                 sleep 30"
	t send-keys -t e2e "fg" Enter
	sleep 0.5
	t send-keys -t e2e C-c
	t send-keys -t e2e 'echo back-$((1+1))' Enter
	wait_for_line "back-2"
	t send-keys -t e2e "exit" Enter
	wait_for "[1] exit "
	t send-keys -t e2e C-q
	wait_for "AIRLOCK-EXITED 0"
	t kill-server >/dev/null 2>&1
	local i=0
	while [ -e "$e2e_sock" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

ctty workspace-write
ctty danger-full-access
jobctl workspace-write
jobctl danger-full-access
exit 0
