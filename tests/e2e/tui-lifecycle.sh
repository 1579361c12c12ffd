# The sandbox helper's post-run git report reaches the pane and the audit
# log. Whatever ends the TUI (Ctrl-Q, SIGTERM, SIGHUP, SIGKILL) while three
# sandboxed commands run in a workspace: afterwards no sandboxed process
# runs, nothing new is in the workspace or in /tmp, and (for the ends that
# let airlock act) each killed command has its exit line in the audit log.
# After a SIGKILL the helpers die with airlock (PR_SET_PDEATHSIG): they get
# SIGTERM and clean up themselves.
. "$(dirname "$0")/tui-lib.sh"

ws=$e2e_dir/ws
audit=$e2e_home/audit.jsonl
# What airlock could leave in /tmp (route directories), as it is now; other
# programs' files (compilers, other tests) come and go there.
tmp_now() {
	ls -A /tmp | grep -e '^airlock-route' -e '^\.airlock' | sort
}

# run_and_end HOW: three sleepers, then end airlock HOW; checks what is left.
run_and_end() {
	local how=$1 tag=$$$RANDOM before_ws before_tmp pid n
	before_ws=$(ls -A "$ws")
	before_tmp=$(tmp_now)
	start 120 40 -n off
	for n in 1 2 3; do
		t send-keys -t e2e "sleep 1000.$n$tag" Enter
		wait_for "[$n] running ·"
	done
	pid=$(airlock_pid)
	[ -n "$pid" ] || fail "no airlock process"
	case $how in
	quit)
		t send-keys -t e2e C-q
		wait_armed
		t send-keys -t e2e y
		;;
	*) kill -"$how" "$pid" ;;
	esac
	for n in 1 2 3; do
		expect_gone_with "1000.$n$tag" 3
	done
	# airlock itself ends too (SIGKILL at once; the others after stopping the helpers).
	local i=0
	while [ -d "/proc/$pid" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -d "/proc/$pid" ] && fail "$how: airlock still runs"
	# Nothing new in the workspace (covers) or in /tmp (route directories).
	[ "$(ls -A "$ws")" = "$before_ws" ] || fail "$how: the workspace changed: $(ls -A "$ws" | tr '\n' ' ')"
	local after_tmp
	after_tmp=$(tmp_now)
	if [ "$after_tmp" != "$before_tmp" ]; then
		fail "$how: new in /tmp: $(comm -13 <(echo "$before_tmp") <(echo "$after_tmp") | tr '\n' ' ')"
	fi
	if [ "$how" != KILL ]; then
		for n in 1 2 3; do
			grep -F "\"kind\":\"exit\"" "$audit" | grep -qF "sleep 1000.$n$tag" ||
				fail "$how: no exit line for sleep 1000.$n$tag"
		done
	fi
	t kill-server >/dev/null 2>&1
	# airlock and `git init` still work in the workspace.
	(cd "$ws" && git init -q probe-$tag && rm -rf probe-$tag) || fail "$how: git init fails in the workspace"
}

# The helper's git report after a run: a line in the pane and in the audit log.
git_report() {
	start 120 40 -n off
	t send-keys -t e2e "git init -q planted" Enter
	wait_for "planted/.git (new, replaced or written to): in the audit log"
	grep -F '"kind":"git"' "$audit" | grep -qF "/ws/planted/.git" ||
		fail "no git line in the audit log"
	t send-keys -t e2e C-q
	wait_for "AIRLOCK-EXITED 0"
	t kill-server >/dev/null 2>&1
	rm -rf "$ws/planted"
}

git_report
run_and_end quit
run_and_end TERM
run_and_end HUP
run_and_end KILL
exit 0
