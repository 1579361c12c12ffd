# A rules file broken by an edit while the TUI runs (SPEC 6/7): the status
# bar says so within a couple of seconds, with no command run; the last good
# rules still decide (the allow rule of the broken file no longer runs
# anything outside); fixing the file takes the mark away.
. "$(dirname "$0")/tui-lib.sh"

mkdir -p "$e2e_home/rules"
rules=$e2e_home/rules/team.rules
printf 'prefix_rule(pattern=["echo", "ruled"], decision="allow")\n' >"$rules"
start 120 30 -n off -a on-request
sleep 1.2
screen | grep -qF "rules broken" && fail "the status bar says broken before anything broke"

printf 'prefix_rule(pattern=["echo", "ruled"], decision="allow"\n' >"$rules"
wait_for "rules broken" 5

# What only the broken file allowed is not allowed outside any more.
t send-keys -t e2e "echo ruled" Enter
wait_for "[1] exit 0 ·"
screen | grep -F "[1] exit 0" | grep -qF " sandboxed ·" || fail "the broken file's allow rule still ran it outside"

printf 'prefix_rule(pattern=["echo", "ruled"], decision="allow")\n' >"$rules"
i=0
while screen | grep -qF "rules broken"; do
	i=$((i + 1))
	[ $i -lt 50 ] || fail "the mark stayed after the file was fixed"
	sleep 0.1
done

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
