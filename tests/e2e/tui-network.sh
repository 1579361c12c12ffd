# -n ask: a sandboxed command's request goes through the session's proxy,
# which asks in the TUI's modal, naming the pane, its command and cwd; `n`
# refuses it (the client sees 403) and nothing leaves the machine; a reason
# given with tab reaches the client and the audit log.
. "$(dirname "$0")/tui-lib.sh"

command -v curl >/dev/null 2>&1 || { echo "SKIP: curl is not installed" >&2; exit 77; }
start 100 30 -n ask
t send-keys -t e2e "curl -sS -o /dev/null -w 'code=%{http_code}\n' http://airlock-e2e.example/" Enter
wait_for "Allow network access?"
wait_for "airlock-e2e.example:80 (http)"
# Whose traffic it is: the pane and its command, and where it runs.
wait_for "from: pane 1: curl -sS -o /dev/null"
wait_for "cwd:  $e2e_dir/ws"
wait_for "No, and block airlock-e2e.example for this session (d)"
wait_armed
t send-keys -t e2e n
wait_for "code=403"
# Denied with a reason: the client is told it, and so is the audit log.
t send-keys -t e2e "curl -sS http://airlock-e2e-two.example/" Enter
wait_for "airlock-e2e-two.example:80 (http)"
wait_for "from: pane 2: curl -sS http://airlock-e2e-two.example/"
wait_armed
t send-keys -t e2e Tab
wait_for "enter to deny with this reason"
t send-keys -t e2e -l "not from this pane"
t send-keys -t e2e Enter
wait_for "(http) denied: not from this pane"
grep -qF '"reason":"not from this pane"' "$e2e_home/audit.jsonl" ||
	fail "the reason is not in the audit log"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
