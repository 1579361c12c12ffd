# Rejection by kind (SPEC 12), with real clients on the agent socket:
# under `-a reject:rules` a `prompt` rule's command is refused with no
# prompt, its decision event and audit line naming the kind, while an
# escalation still prompts; under `-a reject:sandbox` the other way round.
. "$(dirname "$0")/tui-lib.sh"

command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is not installed" >&2; exit 77; }
export XDG_RUNTIME_DIR="$e2e_dir/run"
mkdir -m 700 "$XDG_RUNTIME_DIR"
mkdir -p "$e2e_home/rules"
printf 'prefix_rule(pattern=["deploy"], decision="prompt")\n' >"$e2e_home/rules/default.rules"

# sock_of: the newest agent socket, once there.
sock_of() {
	local i=0 s
	while :; do
		s=$(ls -t "$XDG_RUNTIME_DIR"/airlock/*.sock 2>/dev/null | head -1)
		[ -n "$s" ] && [ -S "$s" ] && { echo "$s"; return 0; }
		[ $i -lt 200 ] || fail "no agent socket under $XDG_RUNTIME_DIR/airlock"
		sleep 0.1
		i=$((i + 1))
	done
}

# agent ID ESCALATE CMD...: one exec request; every event to e2e_dir/ID.events.
agent() {
	local id=$1 esc=$2
	shift 2
	python3 - "$sock" "$e2e_dir/ws" "$id" "$esc" "$@" >"$e2e_dir/$id.events" <<'EOF'
import json, socket, sys
sock, cwd, rid, esc = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
s.settimeout(20) # a prompt nobody answers ends it with an error
req = {"id": rid, "op": "exec", "command": sys.argv[5:], "cwd": cwd,
       "sandbox_permissions": "require_escalated" if esc == "1" else "use_default"}
s.sendall((json.dumps(req) + "\n").encode())
buf = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    buf += b
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        ev = json.loads(line)
        print(json.dumps(ev), flush=True)
        if ev.get("event") in ("exit", "error") or (
                ev.get("event") == "decision" and ev.get("decision") == "denied"):
            sys.exit(0)
EOF
}

# refused_unasked ID KIND: request ID was denied at once, its event naming KIND.
refused_unasked() {
	local ev
	ev=$(grep '"event": "decision"' "$e2e_dir/$1.events")
	case $ev in *'"decision": "denied"'*'"rejected": "'"$2"'"'*) ;;
	*) fail "$1: not rejected as $2: $(cat "$e2e_dir/$1.events")" ;; esac
	case $ev in *'"reason": "rejected by policy (reject:'"$2"')'*) ;;
	*) fail "$1: the reason does not name $2: $ev" ;; esac
	grep -q '"event": "queued"' "$e2e_dir/$1.events" && fail "$1 was queued for a prompt"
	return 0
}

# --- reject:rules -------------------------------------------------------------
start 120 30 -n off -a reject:rules
sock=$(sock_of)
agent rules1 0 deploy now || fail "the prompt rule's command was not answered (a prompt?)"
refused_unasked rules1 rules
grep '"subject":\["deploy","now"\]' "$e2e_home/audit.jsonl" | grep -q \
	'"decision":"deny","by":"policy","prompted":false.*"reason":"rejected by policy (reject:rules)' ||
	fail "no audit line naming the kind: $(cat "$e2e_home/audit.jsonl")"
# An escalation still asks.
agent esc1 1 true &
esc=$!
wait_for "Run outside the sandbox?"
wait_armed
t send-keys -t e2e y
wait "$esc" || fail "the escalation client failed"
grep -q '"decision": "approved"' "$e2e_dir/esc1.events" || fail "escalation: $(cat "$e2e_dir/esc1.events")"
grep -q '"event": "exit"' "$e2e_dir/esc1.events" || fail "escalation did not run"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
t kill-server >/dev/null 2>&1

# --- reject:sandbox -----------------------------------------------------------
start 120 30 -n off -a reject:sandbox
sock=$(sock_of)
agent esc2 1 true || fail "the escalation was not answered (a prompt?)"
refused_unasked esc2 sandbox
grep '"subject":\["true"\]' "$e2e_home/audit.jsonl" | grep -q \
	'"reason":"rejected by policy (reject:sandbox)' ||
	fail "no audit line naming the sandbox kind"
# The prompt rule still asks.
agent rules2 0 deploy now &
r2=$!
wait_for "deploy now"
wait_armed
t send-keys -t e2e n
wait "$r2" || fail "the rules client failed"
grep -q '"decision": "denied"' "$e2e_dir/rules2.events" || fail "rules2: $(cat "$e2e_dir/rules2.events")"
grep -q '"rejected"' "$e2e_dir/rules2.events" && fail "a human's No was reported as a rejection"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
