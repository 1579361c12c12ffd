# The TUI under a managed policy with allow_unsandboxed: false (SPEC 11), the
# file root's at the compiled-in path in a private mount namespace
# (managed-lib.sh): the status bar says it; a command the sandbox denies
# under on-failure gets no prompt to retry outside; an agent's escalation is
# refused with no prompt; and the prompt untrusted raises never offers to
# run outside, and what it approves runs in the sandbox.
. "$(dirname "$0")/managed-lib.sh"
. "$(dirname "$0")/tui-lib.sh"
# Both libraries clean up on exit: the managed namespace's files, then the TUI's.
trap 'rc=$?; managed_cleanup; (exit $rc); e2e_cleanup' EXIT

put_managed '{"allow_unsandboxed": false}'
target=/etc/airlock-managed-e2e-$$
rm -f "$target"

e2e_agent_setup
mkdir -p "$e2e_home/rules"
start 170 30 -n off -a on-failure
wait_for "managed, sandbox only"
wait_socket

# The sandbox denies it; on-failure would offer to run it outside: not here.
t send-keys -t e2e "touch $target" Enter
wait_for "Read-only file system"
wait_for "[1] exit 1"
sleep 1
screen | grep -qF "outside" && fail "a prompt offers to run outside the sandbox"
[ ! -e "$target" ] || fail "$target was created"

# An agent's escalation: refused at once, no prompt.
out=$(submit --escalate -- touch "$target" 2>&1)
rc=$?
[ "$rc" = 126 ] || fail "an escalation under allow_unsandboxed false: exit $rc, not 126 ($out)"
wait_for "managed policy runs nothing outside it"
screen | grep -qF "outside the sandbox?" && fail "an escalation prompt is on screen"
[ ! -e "$target" ] || fail "$target was created by the escalation"

# An agent's command that needs approval (a prompt rule) prompts; nothing in it runs outside.
printf 'prefix_rule(pattern=["touch"], decision="prompt", justification="touch asks")\n' \
	>"$e2e_home/rules/default.rules"
submit -- touch "$target" >/dev/null 2>&1 &
wait_for "touch asks"
wait_armed
# The modal alone (the pane beside it tells of the refused escalation).
modal=$(screen | sed -n '/Run it in the sandbox?/,/enter to confirm/p')
[ -n "$modal" ] || fail "the prompt is not the in-sandbox one"
case $modal in *[Oo]utside*) fail "the prompt offers to run outside the sandbox: $modal" ;; esac
t send-keys -t e2e y
wait
[ ! -e "$target" ] || fail "$target was created: the approved command ran outside the sandbox"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
