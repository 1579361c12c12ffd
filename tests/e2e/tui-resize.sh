# Resizing (down to 1x1 and back, with a modal open) keeps airlock alive and
# the modal whole; SIGTERM restores the terminal and kills what runs.
. "$(dirname "$0")/tui-lib.sh"

start 100 30 -n off
t send-keys -t e2e "touch /etc/airlock-e2e-resize-$$" Enter
wait_for "Run outside the sandbox?"
for size in 40x12 20x6 1x1 3x2 10x3 120x40 60x15 40x12; do
	t resize-window -t e2e -x "${size%x*}" -y "${size#*x}" || fail "resize to $size"
	sleep 0.2
	screen | grep -qF "AIRLOCK-EXITED" && fail "airlock died at $size"
done
wait_for "enter to confirm · esc to deny"
wait_for "Run outside the sandbox?"
t send-keys -t e2e Escape
wait_for "you denied it"

# A long command runs; SIGTERM ends airlock, its command and restores the screen.
t send-keys -t e2e "sleep 300.$$" Enter
wait_for "[2] running ·"
pid=$(airlock_pid)
[ -n "$pid" ] || fail "no airlock process"
kill -TERM "$pid"
wait_for "AIRLOCK-EXITED" 10
screen | grep -qF "sandbox workspace-write" && fail "the TUI's screen was left behind"
# Anywhere on the host, not only among airlock's children: the sandboxed
# sleep is airlock's grandchild at best, and an orphan once airlock is gone.
expect_gone_with "sleep 300.$$" 5
exit 0
