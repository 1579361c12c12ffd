# A flood of output ends with its last line on screen, and the UI stays
# responsive meanwhile (typing during the flood reaches the input line).
. "$(dirname "$0")/tui-lib.sh"

start 100 30 -n off
t send-keys -t e2e "seq 1 100000" Enter
t send-keys -t e2e "echo typed-while-flooding"
wait_for "typed-while-flooding" 20
wait_for "] exit 0 ·" 60
wait_for_line "100000" 10
screen | grep -qxF "99999" || fail "99999 is not the line above 100000"
t send-keys -t e2e C-u C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
