# Narrowing a pane never destroys its content (SPEC 7, issue 14): a finished
# command's long line, clipped while three more panes share the screen, is
# whole again once they close (libvterm 0.1.4 would have cut it for good).
. "$(dirname "$0")/tui-lib.sh"

long="pane one: a line of output longer than half the screen, and it ends HERE"
start 100 30 -n off
t send-keys -t e2e "echo '$long'" Enter
wait_for "[1] exit 0"
wait_for_line "$long"
for i in 2 3 4; do
	t send-keys -t e2e "true" Enter
	wait_for "[$i] exit 0"
done
# Four tiles, two by two: the first is half as wide as its line.
screen | grep -qF "$long" && fail "the first pane was not narrowed"
wait_for "pane one: a line of output"
for _ in 4 3 2; do
	t send-keys -t e2e C-w
done
wait_for_line "$long"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
