# The decider in the TUI (SPEC 11): a script that denies with a reason (the
# agent's decision event carries it: `airlock submit` prints it), allows
# (the command runs, in the sandbox), says ask (the prompt appears with its
# word), prints garbage, sleeps past its timeout or crashes (the prompt
# appears: a human can answer; it is restarted at most once a minute).
# What rules, known-safe commands and session answers decide never
# reaches it: its input lines are counted.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup
cat >"$e2e_dir/decider.sh" <<'SH'
echo started >>"$E2E_DIR/starts"
while read -r line; do
	printf '%s\n' "$line" >>"$E2E_DIR/asked"
	id=${line#*\"id\":\"}
	id=${id%%\"*}
	case $line in
	*'"subject":["touch","deny-me"]'*) reply=deny reason="no touching here" ;;
	*'"subject":["mkdir","ask-me"]'*) reply=ask reason="a human should see this" ;;
	*'"subject":["touch","garbage"]'*) echo "this is not an answer"; continue ;;
	*'"subject":["touch","sleepy"]'*) sleep 30; continue ;;
	*'"subject":["touch","crashy"]'*) exit 3 ;;
	*) reply=allow reason="fine by the script" ;;
	esac
	printf '{"id":"%s","decision":"%s","reason":"%s"}\n' "$id" "$reply" "$reason"
done
SH
printf '{"decider": {"command": ["/usr/bin/env", "E2E_DIR=%s", "/bin/sh", "%s/decider.sh"], "timeout_ms": 700}}\n' \
	"$e2e_dir" "$e2e_dir" >"$e2e_home/config.json"
printf 'prefix_rule(pattern=["echo"], decision="allow")\n' >"$e2e_dir/team.rules"
mkdir -p "$e2e_home/rules" && cp "$e2e_dir/team.rules" "$e2e_home/rules/"
asked() { if [ -f "$e2e_dir/asked" ]; then wc -l <"$e2e_dir/asked"; else echo 0; fi; }
starts() { if [ -f "$e2e_dir/starts" ]; then wc -l <"$e2e_dir/starts"; else echo 0; fi; }
# no_prompt: the prompt on screen is gone.
no_prompt() { ! screen | grep -qF "enter to confirm"; }
# deny_prompt TEXT: the prompt shows TEXT; n answers it.
deny_prompt() {
	wait_for "$1"
	wait_armed
	t send-keys -t e2e n
	local i=0
	while ! no_prompt && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}

start 110 34 -a untrusted -n off
wait_socket

# Rules and known-safe commands decide without it: it is not even started.
out=$(submit -- echo by-a-rule) || fail "an allow-ruled command failed: $out"
out=$(submit -- cat /dev/null) || fail "a known-safe command failed: $out"
[ "$(asked)" = 0 ] && [ "$(starts)" = 0 ] || fail "the decider was asked about a ruled command"

# deny, with its reason, to the agent and the audit log.
submit -- touch deny-me >"$e2e_dir/deny.out" 2>&1
rc=$?
[ "$rc" = 126 ] || fail "a command the decider denied exited $rc"
grep -qxF "airlock: denied: no touching here" "$e2e_dir/deny.out" ||
	fail "the agent did not get the decider's reason: $(cat "$e2e_dir/deny.out")"
grep -qF '"subject":["touch","deny-me"],"decision":"deny","by":"decider"' "$e2e_home/audit.jsonl" ||
	fail "no audit line by the decider"
grep -qF '"reason":"no touching here"' "$e2e_home/audit.jsonl" || fail "the reason is not logged"
[ ! -e "$e2e_dir/ws/deny-me" ] || fail "a denied command ran"

# allow: it runs, with no prompt, and the pane says who allowed it.
submit -- touch allow-me >"$e2e_dir/allow.out" 2>&1 || fail "an allowed command failed: $(cat "$e2e_dir/allow.out")"
[ -e "$e2e_dir/ws/allow-me" ] || fail "the allowed command did not run"
wait_for "allowed by the decider: runs in the sandbox"
[ "$(asked)" = 2 ] || fail "asked $(asked) times, not 2"

# ask: the prompt appears, with the decider's word; n denies.
submit -- mkdir ask-me >"$e2e_dir/ask.out" 2>&1 &
ask=$!
deny_prompt "decider: a human should"
wait "$ask"
[ $? = 126 ] || fail "the human's No did not deny"

# A session answer caches: the decider is not asked again for that command.
submit -- touch cached >"$e2e_dir/c1.out" 2>&1 || fail "touch cached failed"
[ "$(asked)" = 4 ] || fail "asked $(asked) times, not 4"

# Garbage: the prompt appears (a human can answer); the decider is killed.
submit -- touch garbage >"$e2e_dir/garbage.out" 2>&1 &
g=$!
deny_prompt "out of form"
wait "$g"

# Slow: restarted (the first restart), then the prompt at the timeout.
submit -- touch sleepy >"$e2e_dir/sleepy.out" 2>&1 &
s=$!
deny_prompt "did not answer within 700 ms"
wait "$s"
[ "$(starts)" = 2 ] || fail "started $(starts) times, not 2"
[ "$(asked)" = 6 ] || fail "asked $(asked) times, not 6"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"

# A decider that crashes: restarted once, then not again within the minute.
t kill-server >/dev/null 2>&1
rm -f "$e2e_dir/starts" "$e2e_dir/asked"
start 110 34 -a untrusted -n off
wait_socket
for n in 1 2; do
	submit -- touch crashy >"$e2e_dir/crash$n.out" 2>&1 &
	c=$!
	deny_prompt "decider: the decider"
	wait "$c"
done
[ "$(starts)" = 2 ] || fail "a crashing decider started $(starts) times, not 2"
submit -- touch crashy >"$e2e_dir/crash3.out" 2>&1 &
c=$!
deny_prompt "at most once a"
wait "$c"
[ "$(starts)" = 2 ] || fail "restarted again within the minute"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
