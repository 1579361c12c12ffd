# Attention (SPEC 11): a prompt that appears rings the terminal bell once
# (tmux's bell flag for the window goes up) and the terminal title counts
# the prompts that wait; with `attention: none` no bell rings. A prompt
# whose agent goes away while it waits, queued or on screen, leaves at once:
# the count drops, its pane says so, and the audit log says withdrawn.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup
bell() { t display-message -p -t e2e '#{window_bell_flag}'; }
title() { t display-message -p -t e2e '#{pane_title}'; }
# until_true SECONDS WHAT COMMAND...: polls COMMAND until it succeeds.
until_true() {
	local limit=$1 what=$2 i=0
	shift 2
	while [ $i -lt $((limit * 10)) ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "waited ${limit}s for $what"
}
# agent WORD: `airlock submit -- touch WORD` in the background; its pid in $agent_pid.
agent() {
	(cd "$e2e_dir/ws" && exec env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$AIRLOCK" submit -- \
		touch "$1" >"$e2e_dir/$1.out" 2>&1) &
	agent_pid=$!
}

start 100 30 -a untrusted -n off
wait_socket
[ "$(bell)" = 0 ] || fail "the bell rang before any prompt"
agent first-file
first=$agent_pid
wait_for "touch first-file"
wait_for "prompts 0" # the one on screen: none behind it
until_true 5 "the bell flag" test "$(bell)" = 1
until_true 5 "the title to count one prompt" test "$(title)" = "airlock: 1 prompt waiting"

# A second agent's prompt queues behind the first.
agent second-file
second=$agent_pid
wait_for "prompts 1"
until_true 5 "the title to count two" test "$(title)" = "airlock: 2 prompts waiting"
# Its agent goes away while it is queued: it leaves the queue at once.
kill -9 "$second"
wait "$second" 2>/dev/null
wait_for "prompts 0"
until_true 5 "the title to count one again" test "$(title)" = "airlock: 1 prompt waiting"
grep -F '"subject":["touch","second-file"],"decision":"deny","by":"withdrawn"' \
	"$e2e_home/audit.jsonl" >/dev/null || fail "no withdrawn line for the queued prompt"
# The one on screen too: the modal goes, the pane says why.
kill -9 "$first"
wait "$first" 2>/dev/null
until_true 5 "the prompt to go" sh -c "! tmux -S '$e2e_sock' capture-pane -p -t e2e | grep -qF 'touch first-file (requested'"
wait_for "withdrawn: the requester cancelled it or went away"
until_true 5 "the title to say no prompt waits" test "$(title)" = "airlock"
grep -F '"subject":["touch","first-file"],"decision":"deny","by":"withdrawn"' \
	"$e2e_home/audit.jsonl" >/dev/null || fail "no withdrawn line for the prompt on screen"
[ ! -e "$e2e_dir/ws/first-file" ] && [ ! -e "$e2e_dir/ws/second-file" ] ||
	fail "a withdrawn request ran"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"

# attention: none: the same prompt rings nothing.
t kill-server >/dev/null 2>&1
printf '{"attention": "none"}\n' >"$e2e_home/config.json"
start 100 30 -a untrusted -n off
wait_socket
agent quiet-file
quiet=$agent_pid
wait_for "touch quiet-file"
until_true 5 "the title to count the prompt" test "$(title)" = "airlock: 1 prompt waiting"
sleep 1
[ "$(bell)" = 0 ] || fail "attention none rang the bell"
kill -9 "$quiet"
wait "$quiet" 2>/dev/null
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
