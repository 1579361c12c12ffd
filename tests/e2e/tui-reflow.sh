# Reflow (SPEC 7, issue 14): narrowing a pane never destroys its content. A
# command prints twenty lines of about ninety columns; two more panes put
# the first in a tile half as wide and half as high, where each line wraps
# onto two rows and most go up to its scrollback. Closing them, or
# maximising the first, shows every line whole again, the ones that had
# gone up included (libvterm 0.1.4 cut each row to the narrow width for
# good, and airlock kept a finished pane's width instead).
. "$(dirname "$0")/tui-lib.sh"

cat >"$e2e_dir/ws/lines.sh" <<'SH'
i=10
while [ $i -lt 30 ]; do
	echo "line $i: the quick brown fox jumps over the lazy dog and then keeps on running: END$i"
	i=$((i + 1))
done
SH
chmod 644 "$e2e_dir/ws/lines.sh"
line() {
	echo "line $1: the quick brown fox jumps over the lazy dog and then keeps on running: END$1"
}
every_line_whole() {
	local i
	for i in $(seq 10 29); do
		wait_for_line "$(line "$i")" 10
	done
}

start 100 30 -n off
t send-keys -t e2e "sh lines.sh" Enter
wait_for "[1] exit 0"
every_line_whole

# Two more panes: the first is in a tile of 49 columns and 12 rows now.
for i in 2 3; do
	t send-keys -t e2e "true" Enter
	wait_for "[$i] exit 0"
done
screen | grep -qF "$(line 29)" && fail "the first pane was not narrowed"
# Its last line, wrapped: the first 49 columns on a row, the rest below.
wait_for "line 29: the quick brown fox jumps over the lazy │"
wait_for "dog and then keeps on running: END29"
screen | grep -qF "line 10:" && fail "the first lines should be in the scrollback"
# Closed again (Ctrl-W on each finished pane): every line is whole, the first ones back too.
for _ in 3 2; do
	t send-keys -t e2e C-w
done
every_line_whole

# Narrowed again, then maximised (F2 on the first pane): whole again.
for i in 4 5; do
	t send-keys -t e2e "true" Enter
	wait_for "[$i] exit 0"
done
wait_for "dog and then keeps on running: END29"
t send-keys -t e2e C-] p
t send-keys -t e2e C-] p
t send-keys -t e2e F2
every_line_whole
# Tiled again: wrapped again, nothing lost.
t send-keys -t e2e F2
wait_for "dog and then keeps on running: END29"
screen | grep -qF "$(line 29)" && fail "the first pane was not narrowed again"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
