# "No, and always block HOST" (b, SPEC 11) on a network prompt: the client
# is refused, network_rule(host=HOST, decision="deny") is appended to
# default.rules, and the next request to HOST is refused with no prompt, in
# the same session and after a restart; another host still asks.
. "$(dirname "$0")/tui-lib.sh"

command -v curl >/dev/null 2>&1 || { echo "SKIP: curl is not installed" >&2; exit 77; }
start 100 30 -n ask
t send-keys -t e2e "curl -sS -o /dev/null -w 'code=%{http_code}\n' http://blocked-e2e.example/" Enter
wait_for "Allow network access?"
wait_for "No, and always block blocked-e2e.example (b)"
wait_armed
t send-keys -t e2e b
wait_for "code=403"
grep -qxF 'network_rule(host="blocked-e2e.example", decision="deny")' "$e2e_home/rules/default.rules" ||
	fail "no deny rule in default.rules: $(cat "$e2e_home/rules/default.rules" 2>&1)"

# Same session, another port: refused by the rule, never a prompt.
t send-keys -t e2e "curl -sS -o /dev/null -w 'again=%{http_code}\n' http://blocked-e2e.example:8080/" Enter
wait_for "again=403"
screen | grep -qF "Allow network access?" && fail "a prompt for a host blocked by a rule"
grep -qF '"subject":"blocked-e2e.example:8080","protocol":"http","decision":"deny","by":"rule"' \
	"$e2e_home/audit.jsonl" || fail "the second request was not refused by the rule"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"

# After a restart: still refused with no prompt; another host still asks.
t kill-server >/dev/null 2>&1
start 100 30 -n ask
t send-keys -t e2e "curl -sS -o /dev/null -w 'restart=%{http_code}\n' http://blocked-e2e.example/" Enter
wait_for "restart=403"
screen | grep -qF "Allow network access?" && fail "a prompt after the restart"
t send-keys -t e2e "curl -sS -o /dev/null -w 'other=%{http_code}\n' http://other-e2e.example/" Enter
wait_for "Allow network access?"
wait_for "other-e2e.example:80 (http)"
wait_armed
t send-keys -t e2e n
wait_for "other=403"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
