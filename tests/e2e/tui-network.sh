# -n ask: a sandboxed command's request goes through the session's proxy,
# which asks in the TUI's modal; `n` refuses it (the client sees 403) and
# nothing leaves the machine.
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
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
