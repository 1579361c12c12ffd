# The focus model (SPEC 7): a focused pane's program gets every key but the
# prefix (Ctrl-]): Tab completes in a python3 REPL, Ctrl-W deletes a word in
# its line editor; the prefix then i goes back to the input line, where a
# typed line runs as a command of its own.
. "$(dirname "$0")/tui-lib.sh"

command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is not installed" >&2; exit 77; }
python3 -c 'import readline' 2>/dev/null || { echo "SKIP: python3 has no readline" >&2; exit 77; }

start 100 30 -n off -- python3 -q
wait_for "[1] running ·"
wait_for ">>>"
t send-keys -t e2e Tab
wait_for "keys go to pane 1"
t send-keys -t e2e "import os" Enter
t send-keys -t e2e -l "os.getcw"
t send-keys -t e2e Tab
# getcwd and getcwdb: the common part is completed.
wait_for ">>> os.getcwd"
t send-keys -t e2e -l "()"
t send-keys -t e2e Enter
wait_for_line "'$(cd "$e2e_dir/ws" && pwd -P)'"
# Ctrl-W is the line editor's: the last word goes, the pane stays.
t send-keys -t e2e -l "print('kept') + undefined_word"
t send-keys -t e2e C-w
t send-keys -t e2e BSpace BSpace BSpace Enter
wait_for_line "kept"
screen | grep -qF "NameError" && fail "Ctrl-W did not reach the REPL's line editor"
# The prefix, then i: the input line has the keys again.
t send-keys -t e2e C-]
t send-keys -t e2e i
wait_for "type a command and press enter"
t send-keys -t e2e "echo from-the-input-line" Enter
wait_for "[2] exit 0 ·"
wait_for_line "from-the-input-line"
# Back into the REPL with the prefix: n goes to the next pane, p back to it.
t send-keys -t e2e Tab
t send-keys -t e2e C-] n
t send-keys -t e2e C-] p
wait_for "keys go to pane 1"
t send-keys -t e2e C-d
wait_for "[1] exit 0 ·"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
