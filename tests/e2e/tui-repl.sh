# Keys typed in a focused running pane reach its command: a python3 REPL
# answers, and Ctrl-C in the pane interrupts what it runs (KeyboardInterrupt,
# the REPL lives on). Once in the sandbox (the helper passes the interrupt
# into bubblewrap's session) and once outside it.
. "$(dirname "$0")/tui-lib.sh"

command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is not installed" >&2; exit 77; }

# repl MODE: the whole exchange, then quit.
repl() {
	start 100 30 -n off -s "$1" -- python3 -q
	wait_for "[1] running ·"
	wait_for "· python3 -q"
	case $1 in
	danger-full-access) wait_for "· unsandboxed" ;;
	*) wait_for "· sandboxed" ;;
	esac
	t send-keys -t e2e Tab
	t send-keys -t e2e "6*7" Enter
	wait_for_line "42"
	t send-keys -t e2e "import time; time.sleep(60)" Enter
	sleep 0.5
	t send-keys -t e2e C-c
	wait_for "KeyboardInterrupt"
	t send-keys -t e2e "print('still', 'here')" Enter
	wait_for_line "still here"
	t send-keys -t e2e C-d
	wait_for "[1] exit 0 ·"
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

repl workspace-write
repl danger-full-access
exit 0
