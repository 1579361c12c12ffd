# The retry outside by hand (SPEC 5/7): under on-request nothing asks after a
# sandboxed command fails; the prefix then `o` on its focused pane opens the
# retry prompt ("Run outside the sandbox?"), `y` reruns it outside (as root,
# who may write /etc, the file appears), `n` leaves the pane as it ended; a
# pane whose command succeeded has nothing to retry.
. "$(dirname "$0")/tui-lib.sh"

target=/etc/airlock-e2e-retry-$$
rm -f "$target"
start 100 30 -n off -a on-request

t send-keys -t e2e "touch $target" Enter
wait_for "[1] exit 1 ·"
wait_for "Read-only file system"
sleep 0.5
screen | grep -qF "Run outside the sandbox?" && fail "on-request asked to retry by itself"

# Focus the failed pane, then the prefix and o: the retry prompt; n keeps it as it was.
t send-keys -t e2e Tab
t send-keys -t e2e C-] o
wait_for "Run outside the sandbox?"
wait_for "No, keep it sandboxed"
wait_armed
t send-keys -t e2e n
wait_for "you denied it: it stays sandboxed"
wait_for "[1] exit 1 ·"
[ ! -e "$target" ] || fail "$target exists after n"

if [ "$(id -u)" = 0 ]; then
	t send-keys -t e2e Tab
	t send-keys -t e2e C-] o
	wait_for "Run outside the sandbox?"
	wait_armed
	t send-keys -t e2e y
	wait_for "you approved it once: runs outside the sandbox"
	wait_for "[1] exit 0 ·"
	screen | grep -F "[1] exit 0" | grep -qF "unsandboxed" || fail "the retry did not run outside"
	[ -e "$target" ] || fail "$target missing after y"
	rm -f "$target"
else
	echo "not root: the y half is skipped (only root may write /etc)" >&2
fi

# A command that succeeded has nothing to retry: a notice, no prompt.
t send-keys -t e2e C-] i
t send-keys -t e2e "true" Enter
wait_for "[2] exit 0 ·"
t send-keys -t e2e Tab
t send-keys -t e2e C-] n
t send-keys -t e2e C-] o
wait_for "whose sandboxed command failed"
screen | grep -qF "Run outside the sandbox?" && fail "a successful command was offered a retry"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
