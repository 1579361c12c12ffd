# Rules files are read again when they change (SPEC 6): in a running TUI, a
# forbidden rule removed with `airlock rules remove` stops refusing from the
# next command on, and a forbidden rule appended to a rules file is obeyed
# by the next command (the refusal names the rule). A workspace's own allow
# rules are ignored until trusted, and the TUI says so once at start.
. "$(dirname "$0")/tui-lib.sh"

mkdir -p "$e2e_home/rules"
printf '%s\n' 'prefix_rule(pattern=["true"], decision="forbidden")' >"$e2e_home/rules/team.rules"
mkdir -p "$e2e_dir/ws/.airlock/rules"
printf '%s\n' 'prefix_rule(pattern=["make"], decision="allow")' >"$e2e_dir/ws/.airlock/rules/repo.rules"
start 120 30 -n off -a on-request
wait_for "this workspace's own rules: 1 allow rule ignored until \`airlock trust\`"

t send-keys -t e2e "true" Enter
wait_for "denied by rule"
wait_for "[1] denied"

# Removed from outside the TUI: the next `true` runs.
AIRLOCK_HOME=$e2e_home "$AIRLOCK" rules remove 1 >/dev/null || fail "rules remove 1"
t send-keys -t e2e "true" Enter
wait_for "[2] exit 0"

# A forbidden rule appended while the TUI runs: the next command obeys it.
printf '%s\n' 'prefix_rule(pattern=["echo", "reload-e2e"], decision="forbidden")' \
	>>"$e2e_home/rules/team.rules"
t send-keys -t e2e "echo reload-e2e" Enter
wait_for '"reload-e2e"]'
wait_for "[3] denied"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
