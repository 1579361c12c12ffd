# The TUI's modes on a real terminal (issue 14, SPEC 7), with the keys as a
# terminal sends them: scroll mode (prefix [) with Home, End and / search,
# the match highlighted; the rules view (F3), which counts a rule's hits and
# where d then y revokes a rule and the next command runs without it; the
# mode switch (F4) whose approval policy and network mode the next commands
# get; and the status bar at 80 columns, which shortens the cwd rather than
# cutting it off.
. "$(dirname "$0")/tui-lib.sh"

mkdir -p "$e2e_home/rules"
printf '%s\n' 'prefix_rule(pattern=["true"], decision="forbidden")' \
	'prefix_rule(pattern=["echo", "ask"], decision="prompt", justification="asks first")' \
	>"$e2e_home/rules/default.rules"
start 100 30 -n off -a on-request

# Scroll mode: Home shows the oldest line, End the newest, / finds a line
# above the view, brings it in and highlights it; n goes round and says so.
t send-keys -t e2e "seq -f 'row %g' 400" Enter
wait_for "[1] exit 0"
wait_for_line "row 400"
t send-keys -t e2e C-] '['
wait_for "scroll mode: / search back"
t send-keys -t e2e Home
wait_for_line "row 2"
t send-keys -t e2e End
wait_for_line "row 400"
t send-keys -t e2e -l "/row 123"
wait_for_line "/row 123"
t send-keys -t e2e Enter
wait_for_line "row 123"
t capture-pane -p -e -t e2e | grep -aqP '^\e\[[0-9;]*7[0-9;]*m(\e\[[0-9;]*m)*row 123' ||
	fail "the match is not highlighted"
t send-keys -t e2e n
wait_for "search went round"
t send-keys -t e2e q
wait_for "type a command and press enter"
wait_for_line "row 400"
t send-keys -t e2e C-w

# The rules view: the forbidden rule refuses `true` until it is revoked in place.
t send-keys -t e2e "true" Enter
wait_for "[2] denied"
t send-keys -t e2e F3
wait_for 'forbidden ["true"]  · default.rules:1  · 1 hit'
t send-keys -t e2e d
wait_for "revoke this rule from default.rules? y revokes it"
t send-keys -t e2e y
wait_for "revoked prefix_rule(pattern=[\"true\"]"
grep -qF '["true"]' "$e2e_home/rules/default.rules" && fail "the rule is still in its file"
grep -qF '["echo", "ask"]' "$e2e_home/rules/default.rules" || fail "the other rule went too"
t send-keys -t e2e q
wait_for "type a command and press enter"
t send-keys -t e2e "true" Enter
wait_for "[3] exit 0"

# The mode switch: never refuses what would prompt; on-request asks again.
t send-keys -t e2e F4
wait_for "Approval policy (-a)"
t send-keys -t e2e j Enter
wait_for "approval never from now on"
t send-keys -t e2e q
wait_for "approval never"
t send-keys -t e2e "echo ask never" Enter
wait_for "[4] denied"
t send-keys -t e2e C-] m
wait_for "Approval policy (-a)"
t send-keys -t e2e k Enter q
wait_for "approval on-request"
t send-keys -t e2e "echo ask again" Enter
wait_armed
t send-keys -t e2e Escape
wait_for "[5] denied"

# The network mode: off keeps the sandbox to loopback; on gives it the host's interfaces.
host_ifs=$(grep -c ':' /proc/net/dev)
t send-keys -t e2e F2 # one pane at a time: its lines are whole screen lines
t send-keys -t e2e "grep -c : /proc/net/dev" Enter
wait_for "[6] exit 0"
wait_for_line "1"
if [ "$host_ifs" -gt 1 ]; then
	t send-keys -t e2e F4
	wait_for "Network (-n)"
	t send-keys -t e2e End Enter q
	wait_for "net on"
	t send-keys -t e2e "grep -c : /proc/net/dev" Enter
	wait_for "[7] exit 0"
	wait_for_line "$host_ifs"
fi

# 80 columns: the status bar ends with the cwd, shortened, not cut off.
t resize-window -t e2e -x 80 -y 24
i=0
while :; do
	row=$(screen | head -n 1 | sed 's/ *$//')
	case $row in *"cwd "*ws) break ;; esac
	[ $i -ge 100 ] && fail "the status bar at 80 columns does not end with the cwd: $row"
	sleep 0.1
	i=$((i + 1))
done
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
