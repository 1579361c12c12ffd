# A stray keystroke never answers a prompt (SPEC 5). Keys typed while an
# agent's escalation appears, and for as long as the typing goes on, land
# in the input line and run as the line they are; none of their y, a, p
# or n answers the prompt. It arms only after 500 ms without a key, and
# then a stray enter denies (the highlight starts on "No, keep it
# sandboxed": the escalation is refused, the command runs in the sandbox,
# SPEC 4 step 4). Tab on the denying option takes a reason, which the agent
# gets in its decision event and the audit log records. A quit question that waited on a
# command goes ahead when the command ends.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup 60
start 100 30 -n off
wait_socket

# In airlock's socket directory: hidden in the sandbox, so only a run
# outside it can leave the marker there.
marker="$XDG_RUNTIME_DIR/airlock/escalated-ran"
line='echo y$((6*7))p-any-yap-any-typeahead'
# A key every 80 ms; the escalation is asked for after the first few.
(
	i=0
	while [ $i -lt ${#line} ]; do
		t send-keys -t e2e -l "${line:$i:1}"
		sleep 0.08
		i=$((i + 1))
	done
	t send-keys -t e2e Enter
) &
typer=$!
sleep 0.3
submit --escalate --justification "typeahead check" -- sh -c "touch $marker" \
	>"$e2e_dir/esc.out" 2>&1 &
esc=$!
wait "$typer"
wait_for "typeahead check"
[ ! -e "$marker" ] || fail "a key typed as the prompt appeared approved the escalation"
kill -0 "$esc" 2>/dev/null || fail "typeahead answered the prompt: $(cat "$e2e_dir/esc.out")"
# The typed line ran as a command of its own (6*7 was worked out by its shell).
wait_for "y42p-any"
# The input history lives in $XDG_STATE_HOME/airlock (SPEC 9; tui-lib sets it).
grep -qxF "$line" "$e2e_dir/state/airlock/history" || fail "the typed line did not reach the input line"
wait_armed
[ ! -e "$marker" ] || fail "the escalation ran"
# Armed: a stray enter refuses the escalation (it runs in the sandbox).
t send-keys -t e2e Enter
wait "$esc"
wait_for "you denied running it outside: runs in the sandbox"
[ ! -e "$marker" ] || fail "the escalation ran outside after a stray enter"

# Deny with a reason: the agent's decision event carries it.
sock=$(ls "$XDG_RUNTIME_DIR"/airlock/*.sock | head -1)
python3 - "$sock" "$e2e_dir/ws" >"$e2e_dir/events" 2>&1 <<'PY' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
req = {"id": "r1", "op": "exec", "command": ["true"], "cwd": sys.argv[2],
       "sandbox_permissions": "require_escalated", "justification": "reason check"}
s.sendall((json.dumps(req) + "\n").encode())
data = b""
while b'"decision"' not in data:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode("utf-8", "replace"))
PY
client=$!
wait_for "reason check"
wait_for "from: agent client"
wait_armed
t send-keys -t e2e Tab
wait_for "enter to deny with this reason"
t send-keys -t e2e -l "no, run it sandboxed"
t send-keys -t e2e Enter
wait "$client" || fail "the client: $(cat "$e2e_dir/events")"
# Kept in the sandbox: it runs there ("approved"), with the reason.
grep -qF '"decision":"approved"' "$e2e_dir/events" || fail "no decision: $(cat "$e2e_dir/events")"
grep -qF '"reason":"no, run it sandboxed"' "$e2e_dir/events" ||
	fail "the reason did not reach the agent: $(cat "$e2e_dir/events")"
grep -qF '"reason":"no, run it sandboxed"' "$e2e_home/audit.jsonl" ||
	fail "the reason is not in the audit log"

# Typed into a focused pane (cat, a stand-in for a REPL) as another
# escalation appears: the keys stay with the pane, none answers.
t send-keys -t e2e 'echo cat-$((1+1))-ready; cat; echo cat-$((2+2))-done' Enter
wait_for "cat-2-ready"
t send-keys -t e2e BTab # from the input line back to the newest pane: cat's
pane_line='yap-in-the-pane'
(
	i=0
	while [ $i -lt ${#pane_line} ]; do
		t send-keys -t e2e -l "${pane_line:$i:1}"
		sleep 0.08
		i=$((i + 1))
	done
	t send-keys -t e2e Enter
) &
typer=$!
sleep 0.3
submit --escalate --justification "pane check" -- sh -c "touch $marker" \
	>"$e2e_dir/esc2.out" 2>&1 &
esc=$!
wait "$typer"
wait_for "pane check"
wait_for "arming"
[ ! -e "$marker" ] || fail "a key typed into the pane approved the escalation"
kill -0 "$esc" 2>/dev/null || fail "keys typed into the pane answered the prompt"
wait_armed
t send-keys -t e2e Escape
wait "$esc"
[ ! -e "$marker" ] || fail "esc let the escalation run outside"
# With the modal gone, cat's pane shows the line twice: echoed, then copied.
wait_for "$pane_line"
[ "$(screen | grep -cF "$pane_line")" -ge 2 ] ||
	fail "the keys did not reach cat in the focused pane"
t send-keys -t e2e C-d
wait_for "cat-4-done"
# Back to the input line: once pane 4's command is over (while it runs, Tab
# is its program's), Tab moves on from pane 4 to pane 5, then to it.
wait_for "[4] exit 0 ·"
t send-keys -t e2e Tab Tab

# Ctrl-Q while a command still runs asks; once the command ends there is
# nothing left to ask about, and airlock quits without another key.
t send-keys -t e2e "echo about-to-end; sleep 3" Enter
wait_for "about-to-end"
t send-keys -t e2e C-q
wait_for "Quit airlock?"
wait_for "AIRLOCK-EXITED 0" 10
exit 0
