# What a sandboxed command in the TUI may not see (SPEC 3 and 8): variables
# named like secrets (unless config.json keeps them), in a typed command's
# pane and in an agent's request alike; airlock's socket directories. The
# socket directory and socket are the user's, 0700 and 0600.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup
export GITHUB_TOKEN=ghp-e2e AWS_SECRET_ACCESS_KEY=aws-e2e my_api_key=key-e2e MY_KEEP_TOKEN=kept
export PLAIN_E2E=plain
printf '{"environment":{"keep":["MY_KEEP_TOKEN"],"set":{"FIXED_SECRET":"fixed"}}}\n' \
	>"$e2e_home/config.json"
start 100 30 -n off
wait_socket

[ "$(stat -c %a "$XDG_RUNTIME_DIR/airlock")" = 700 ] || fail "the socket directory is not 0700"
for s in "$XDG_RUNTIME_DIR"/airlock/*.sock; do
	[ "$(stat -c %a "$s")" = 600 ] || fail "$s is not 0600"
done

show='echo "vars:[$GITHUB_TOKEN][$AWS_SECRET_ACCESS_KEY][$my_api_key][$MY_KEEP_TOKEN][$PLAIN_E2E][$FIXED_SECRET]"'
want='vars:[][][][kept][plain][fixed]'

# An agent's request.
# (Whole lines: the helper may add notes of its own on the same terminal.)
out=$(submit -- sh -c "$show" | tr -d '\r')
printf '%s\n' "$out" | grep -qxF -- "$want" || fail "an agent's command saw: $out"
case $out in *ghp-e2e* | *aws-e2e* | *key-e2e*) fail "a secret got in: $out" ;; esac

# A command typed into the TUI.
t send-keys -t e2e "$show" Enter
wait_for "$want"

# Neither reaches a socket directory, the TUI's or the /tmp fallback.
uid=$(id -u)
out=$(submit -- sh -c "ls -A \"\$(dirname \"\$AIRLOCK_SOCKET\")\" 2>/dev/null; \
	mkdir /tmp/airlock-$uid 2>/dev/null && echo MADE; mkdir /tmp/airlock-$uid/x 2>/dev/null \
	&& echo MADE-X; echo checked" | tr -d '\r')
printf '%s\n' "$out" | grep -qxF checked || fail "the check did not run: $out"
case $out in *.sock* | *MADE*) fail "a sandboxed command reached a socket directory: $out" ;; esac

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
