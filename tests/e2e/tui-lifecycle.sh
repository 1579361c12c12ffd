# The sandbox helper's post-run git report reaches the pane and the audit
# log. Whatever ends the TUI (Ctrl-Q, SIGTERM, SIGHUP, SIGKILL) while three
# sandboxed commands run in a workspace: afterwards no sandboxed process
# runs, nothing new is in the workspace or in /tmp, and (for the ends that
# let airlock act) each killed command has its exit line in the audit log.
# After a SIGKILL the helpers die with airlock (PR_SET_PDEATHSIG): they get
# SIGTERM and clean up themselves. No agent socket is left (after a SIGKILL
# the next run removes it), and no covers journal. All of it twice: as the
# runner's user and as the unprivileged test user, who cannot remove what
# root's sandbox would leave (a `.git` cover, `.airlock/rules`).

# Where it can, the test has a /tmp of its own (a fresh tmpfs in a private
# mount namespace): then whatever appears there is airlock's, not that of a
# test running beside this one. Not for a build tree under /tmp, which the
# fresh one would hide.
e2e_exes="$(realpath -m "${AIRLOCK_SANDBOX_EXE:-/nonexistent}") $(realpath -m "${AIRLOCK:-/nonexistent}")"
if [ -z "${E2E_PRIVATE_TMP:-}" ] && [ "$(id -u)" = 0 ] && [[ " $e2e_exes" != *" /tmp/"* ]] &&
	unshare --mount --propagation private true 2>/dev/null; then
	E2E_PRIVATE_TMP=1 exec unshare --mount --propagation private \
		sh -c 'mount -t tmpfs -o mode=1777 e2e-tmp /tmp || E2E_PRIVATE_TMP=; export E2E_PRIVATE_TMP; exec bash "$0"' "$0"
fi
. "$(dirname "$0")/tui-lib.sh"

ws=$e2e_dir/ws
audit=$e2e_home/audit.jsonl
run=$e2e_dir/run
# What airlock left in /tmp, as it is now: everything but the test's own
# directory in a private /tmp; else what airlock could make there (route
# directories, covers of a /tmp workspace), as other programs' files
# (compilers, other tests) come and go in a shared one.
tmp_now() {
	if [ -n "${E2E_PRIVATE_TMP:-}" ]; then
		ls -A /tmp | grep -v -e "^${e2e_dir#/tmp/}\$" | sort
	else
		ls -A /tmp | grep -e '^airlock-route' -e '^\.airlock' | sort
	fi
}

# descendants PID: PID and every process under it, as PID:STARTTIME lines.
descendants() {
	local d _pid line grew=1
	local -A parent=() mine=([$1]=1)
	for d in /proc/[0-9]*; do
		_pid=${d#/proc/}
		read -r line 2>/dev/null <"$d/stat" || continue
		line=${line##*) }
		# shellcheck disable=SC2086
		set -- $line
		parent[$_pid]=$2
	done
	while [ $grew = 1 ]; do
		grew=0
		for _pid in "${!parent[@]}"; do
			if [ -z "${mine[$_pid]:-}" ] && [ -n "${mine[${parent[$_pid]}]:-}" ]; then
				mine[$_pid]=1
				grew=1
			fi
		done
	done
	for _pid in "${!mine[@]}"; do
		proc_id "$_pid"
	done
}

# sockets_left: the agent sockets and covers journals in the test's runtime directory.
sockets_left() {
	find "$run" -mindepth 2 \( -type s -o -path "$run/airlock-journal/*" \) 2>/dev/null | sort
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
	# airlock and all it started: helpers, bubblewrap, the commands.
	local procs
	procs=$(descendants "$pid")
	[ -n "$(sockets_left)" ] || fail "$how: no agent socket in $run"
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
	# No helper (nor anything else airlock started) outlives it.
	local left
	# shellcheck disable=SC2086
	left=$(survivors 3 $procs)
	if [ -n "$left" ]; then
		# shellcheck disable=SC2086
		kill_procs $procs
		fail "$how: still running after airlock ended: $left"
	fi
	# Its socket goes with it, unless a SIGKILL left no chance: then the next run removes it.
	local socks
	socks=$(sockets_left)
	if [ "$how" = KILL ]; then
		[ "$socks" = "$run/airlock/$pid.sock" ] || fail "$how: in the runtime directory: $socks"
		t kill-server >/dev/null 2>&1
		start 120 40 -n off
		t send-keys -t e2e C-q
		wait_for "AIRLOCK-EXITED 0"
		socks=$(sockets_left)
	fi
	[ -z "$socks" ] || fail "$how: left in the runtime directory: $socks"
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
	(cd "$ws" && as_user git init -q probe-$tag && rm -rf probe-$tag) ||
		fail "$how: git init fails in the workspace"
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

# Every end, as the runner's user and then as the test user.
every_end() {
	git_report
	run_and_end quit
	run_and_end TERM
	run_and_end HUP
	run_and_end KILL
}

every_end
if e2e_as_test_user; then
	every_end
fi
exit 0
