# A command the sandbox denies raises the retry modal: `n` leaves the file
# absent; `y` (as root, who may write /etc) runs it outside and creates it.
. "$(dirname "$0")/tui-lib.sh"

target=/etc/airlock-e2e-$$
rm -f "$target"
start 100 30 -n off -a on-failure

t send-keys -t e2e "touch $target" Enter
wait_for "Run outside the sandbox?"
wait_for "enter to confirm · esc to deny"
wait_for "Read-only file system"
t send-keys -t e2e n
wait_for "you denied it"
wait_for "[1] denied ·"
[ ! -e "$target" ] || fail "$target exists after n"

if [ "$(id -u)" = 0 ]; then
	t send-keys -t e2e "touch $target" Enter
	wait_for "Run outside the sandbox?"
	wait_armed
	t send-keys -t e2e y
	wait_for "you approved it once"
	wait_for "[2] exit 0 ·"
	[ -e "$target" ] || fail "$target missing after y"
	rm -f "$target"
else
	echo "not root: the y half is skipped (only root may write /etc)" >&2
fi

# Nothing runs: Ctrl-Q quits at once and the terminal comes back.
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
