# A network prompt whose client goes away while it waits (SPEC 11: "the
# proxy client hung up") leaves the queue at once: curl inside the sandbox,
# killed by timeout(1) while its CONNECT's prompt is on screen (its command
# goes on), takes the prompt with it; the queue count and the title drop,
# its pane says so, the audit log has the withdrawn line, and the request
# queued behind it (another host, from an agent) comes up and is answered;
# all before the command ends (it waits for the test's go-on file: before
# this change the prompt left only with the command).
. "$(dirname "$0")/tui-lib.sh"

command -v curl >/dev/null 2>&1 || { echo "SKIP: curl is not installed" >&2; exit 77; }
e2e_agent_setup
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

start 120 36 -n ask
wait_socket
t send-keys -t e2e "sh -c 'timeout 10 curl -sS https://airlock-e2e-gone.example/; echo curl-ended=\$?; while [ ! -e go-on ]; do sleep 0.2; done'" Enter
wait_for "airlock-e2e-gone.example:443 (https)"
wait_for "prompts 0"
# A second request waits behind it.
submit -- curl -sS -o /dev/null -w 'stay=%{http_code}\n' http://airlock-e2e-stay.example/ \
	>"$e2e_dir/stay.out" 2>&1 &
stay=$!
wait_for "prompts 1"
until_true 5 "the title to count two" test "$(title)" = "airlock: 2 prompts waiting"
grep -F '"kind":"network"' "$e2e_home/audit.jsonl" 2>/dev/null | grep -qF withdrawn &&
	fail "withdrawn before its client went away"
# timeout(1) kills curl: its prompt goes at once, the next one comes up.
wait_for "prompts 0" 20
wait_for "airlock-e2e-stay.example:80 (http)"
until_true 5 "the title to count one" test "$(title)" = "airlock: 1 prompt waiting"
grep -F '"subject":"airlock-e2e-gone.example:443"' "$e2e_home/audit.jsonl" |
	grep -F '"decision":"deny","by":"withdrawn"' >/dev/null ||
	fail "no withdrawn line for the prompt of the killed client"
wait_armed
t send-keys -t e2e n
wait "$stay"
grep -qF 'stay=403' "$e2e_dir/stay.out" || fail "the request behind it: $(cat "$e2e_dir/stay.out")"
until_true 5 "the title to say no prompt waits" test "$(title)" = "airlock"
# Its pane says so, and the command went on after curl ended (124: timed out).
wait_for "(https) withdrawn: its client went away"
wait_for "curl-ended=124"
grep -F '"kind":"network"' "$e2e_home/audit.jsonl" | grep -F 'airlock-e2e-gone.example' |
	grep -F '"decision":"allow"' && fail "the withdrawn request was allowed"
# All of that while its command still ran; now it may end.
touch "$e2e_dir/ws/go-on"
wait_for "[1] exit 0"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
