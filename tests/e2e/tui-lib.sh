# Helpers for the TUI's end-to-end tests: the real airlock binary in a
# private tmux server (its own socket, a fixed size), driven with send-keys
# and read back with capture-pane. Every wait polls with a deadline; the
# server is killed on every way out. Sourced by tests/e2e/tui-*.sh.
set -u

AIRLOCK=${AIRLOCK:-$(dirname "${AIRLOCK_SANDBOX_EXE:-/nonexistent/x}")/airlock}
if ! command -v tmux >/dev/null 2>&1; then
	echo "SKIP: tmux is not installed (apt-get install tmux)" >&2
	exit 77
fi
if [ ! -x "$AIRLOCK" ]; then
	echo "SKIP: no airlock binary at $AIRLOCK (set AIRLOCK)" >&2
	exit 77
fi

# Every e2e test runs commands in airlock's sandbox: where the host cannot set
# one up (a chroot, a container without user namespaces), the helper exits
# 125 and says why, and the test is skipped with its words.
e2e_helper=${AIRLOCK_SANDBOX_EXE:-$(dirname "$AIRLOCK")/airlock-sandbox}
e2e_why=$("$e2e_helper" --sandbox-policy-cwd / --sandbox-policy '{"type":"read-only"}' \
	-- true 2>&1 >/dev/null </dev/null)
if [ $? = 125 ]; then
	echo "SKIP: the sandbox cannot run on this host (the helper exits 125: ${e2e_why%%$'\n'*})" >&2
	exit 77
fi

e2e_dir=$(mktemp -d /tmp/airlock-e2e-XXXXXX)
e2e_sock="$e2e_dir/tmux.sock"
e2e_home="$e2e_dir/home"
mkdir -p "$e2e_home" "$e2e_dir/ws"

# The user airlock runs as: the runner's own, or (after e2e_as_test_user) the
# unprivileged test uid the runner names in AIRLOCK_TEST_UID. The script
# itself stays the runner's user: it reads /proc and kills what is left.
e2e_user=

# as_user COMMAND...: runs COMMAND as the user airlock runs as (the test
# user's environment as tests/test-util.c gives it: no home, no groups).
as_user() {
	if [ -n "$e2e_user" ]; then
		setpriv --reuid="$e2e_user" --regid="$e2e_user" --clear-groups \
			env HOME=/nonexistent USER=airlock-test LOGNAME=airlock-test "$@"
	else
		"$@"
	fi
}

# e2e_as_test_user: from now on tmux, airlock and as_user run as the
# unprivileged test user, who owns e2e_dir. False (with the reason on
# stderr) when the runner has no such user (not root, no free uid).
e2e_as_test_user() {
	if [ -z "${AIRLOCK_TEST_UID:-}" ]; then
		echo "not run as the test user: ${AIRLOCK_TEST_UID_SKIP:-AIRLOCK_TEST_UID is not set}" >&2
		return 1
	fi
	if ! command -v setpriv >/dev/null 2>&1; then
		echo "not run as the test user: setpriv is not installed (util-linux)" >&2
		return 1
	fi
	t kill-server >/dev/null 2>&1
	chown -R "$AIRLOCK_TEST_UID:$AIRLOCK_TEST_UID" "$e2e_dir" || fail "chown $e2e_dir"
	e2e_user=$AIRLOCK_TEST_UID
}

# tmux on our private socket, never the user's config. The socket lives in
# e2e_dir (not in /tmp/tmux-UID), so nothing of it outlives the test.
t() {
	as_user tmux -S "$e2e_sock" -f /dev/null "$@"
}

# Process checks scan all of /proc, not a parent's children: what a sandbox
# leaves running is a grandchild at best, and an orphan of init (or of a
# subreaper) once airlock is gone, so `pgrep -P` would never see it. A
# process is named "PID:STARTTIME", so a recycled pid is not taken for it.

# proc_id PID: prints PID:STARTTIME, or nothing when PID is gone or a zombie.
proc_id() {
	local id=$1 line
	read -r line 2>/dev/null <"/proc/$id/stat" || return 0
	line=${line##*) }
	# shellcheck disable=SC2086
	set -- $line
	if [ $# -ge 20 ] && [ "$1" != Z ] && [ "$1" != X ]; then
		echo "$id:${20}"
	fi
}

# proc_alive PID:STARTTIME: true while that very process runs.
proc_alive() {
	local _pid=${1%%:*}
	[ "$(proc_id "$_pid")" = "$1" ]
}

# procs_with TEXT: every process (but this shell's own) whose command line
# contains TEXT (a fixed string), as PID:STARTTIME lines.
procs_with() {
	local d _pid args arg
	for d in /proc/[0-9]*; do
		_pid=${d#/proc/}
		[ "$_pid" = "$$" ] || [ "$_pid" = "$BASHPID" ] && continue
		args=()
		mapfile -d '' args 2>/dev/null <"$d/cmdline" || continue
		for arg in "${args[@]}"; do
			case $arg in *"$1"*) proc_id "$_pid"; break ;; esac
		done
	done
}

# procs_of_e2e [ROOT_PID]: the processes that belong to the test: ROOT_PID
# and all its descendants, and every process whose working directory is
# e2e_dir or its ws (a sandboxed command's, seen from here), as
# PID:STARTTIME lines. This shell and its own subshells are left out.
procs_of_e2e() {
	local root=${1:-} d _pid line
	local -A parent=() mine=()
	for d in /proc/[0-9]*; do
		_pid=${d#/proc/}
		read -r line 2>/dev/null <"$d/stat" || continue
		line=${line##*) }
		# shellcheck disable=SC2086
		set -- $line
		parent[$_pid]=$2
		if [ "$d/cwd" -ef "$e2e_dir/ws" ] || [ "$d/cwd" -ef "$e2e_dir" ]; then
			mine[$_pid]=1
		fi
	done
	if [ -n "$root" ]; then
		local grew=1
		mine[$root]=1
		while [ $grew = 1 ]; do
			grew=0
			for _pid in "${!parent[@]}"; do
				if [ -z "${mine[$_pid]:-}" ] && [ -n "${mine[${parent[$_pid]}]:-}" ]; then
					mine[$_pid]=1
					grew=1
				fi
			done
		done
	fi
	for _pid in "${!mine[@]}"; do
		[ "$_pid" = "$$" ] || [ "$_pid" = "$BASHPID" ] && continue
		[ "${parent[$_pid]:-}" = "$$" ] && continue
		proc_id "$_pid"
	done
}

# survivors SECONDS PID:STARTTIME...: waits up to SECONDS for them all to
# end, then prints the ones still running, one "PID: COMMAND LINE" a line.
survivors() {
	local limit=$1 i=0 p left=() args
	shift
	while :; do
		left=()
		for p in "$@"; do
			proc_alive "$p" && left+=("$p")
		done
		[ ${#left[@]} -eq 0 ] && return 0
		[ $i -ge $((limit * 10)) ] && break
		sleep 0.1
		i=$((i + 1))
	done
	for p in "${left[@]}"; do
		args=()
		mapfile -d '' args 2>/dev/null <"/proc/${p%%:*}/cmdline"
		echo "${p%%:*}: ${args[*]}"
	done
}

# kill_procs PID:STARTTIME...: SIGKILL for those still running.
kill_procs() {
	local p
	for p in "$@"; do
		proc_alive "$p" && kill -KILL "${p%%:*}" 2>/dev/null
	done
	return 0
}

# expect_gone_with TEXT [SECONDS]: fails the test (and kills them) when any
# process whose command line contains TEXT is still running after SECONDS.
expect_gone_with() {
	local left
	# shellcheck disable=SC2046
	left=$(survivors "${2:-5}" $(procs_with "$1"))
	if [ -n "$left" ]; then
		# shellcheck disable=SC2046
		kill_procs $(procs_with "$1")
		fail "still running: $left"
	fi
}

# On every way out: the tmux server goes, and with it everything the test
# started; a process of the test that outlives it (airlock's, a sandbox's,
# one of their orphans) fails a test that would have passed, and is killed.
e2e_cleanup() {
	local rc=$? server procs left
	# The script's own background jobs are its business: they go first.
	# shellcheck disable=SC2046
	kill -KILL $(jobs -p) 2>/dev/null
	server=$(t display-message -p '#{pid}' 2>/dev/null)
	procs=$(procs_of_e2e "$server")
	t kill-server >/dev/null 2>&1
	# shellcheck disable=SC2086
	left=$(survivors 5 $procs)
	if [ -n "$left" ]; then
		echo "FAIL: still running after the test (and its tmux server) ended:" >&2
		echo "$left" | sed 's/^/  /' >&2
		# shellcheck disable=SC2086
		kill_procs $procs $(procs_of_e2e)
		[ $rc = 0 ] && rc=1
	fi
	rm -rf "$e2e_dir"
	exit $rc
}
trap e2e_cleanup EXIT

# The screen as text.
screen() {
	t capture-pane -p -t e2e 2>/dev/null
}

fail() {
	echo "FAIL: $*" >&2
	echo "--- screen:" >&2
	screen >&2
	exit 1
}

# wait_for TEXT [SECONDS]: until the screen shows TEXT (a fixed string).
wait_for() {
	local text=$1 limit=${2:-20} i=0
	while [ $i -lt $((limit * 10)) ]; do
		if screen | grep -qF -- "$text"; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	fail "waited ${limit}s for: $text"
}

# wait_for_line LINE [SECONDS]: until some screen line is exactly LINE.
wait_for_line() {
	local text=$1 limit=${2:-20} i=0
	while [ $i -lt $((limit * 10)) ]; do
		if screen | grep -qxF -- "$text"; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	fail "waited ${limit}s for the line: $text"
}

# wait_armed [SECONDS]: until the prompt on screen takes answers (SPEC 5:
# keys typed while it arms go to the input line, not to it).
wait_armed() {
	wait_for "enter to confirm · esc to deny" "${1:-20}"
}

# start COLS ROWS [ARGS...]: airlock in a fresh tmux server, in e2e_dir/ws.
start() {
	local cols=$1 rows=$2
	shift 2
	local args="" a
	# The agent socket's directory: the test's own (a script may have set it),
	# never /tmp/airlock-UID, which would outlive the test.
	local run=${XDG_RUNTIME_DIR:-}
	case $run in "$e2e_dir"/*) ;; *) run=$e2e_dir/run ;; esac
	as_user mkdir -p -m 700 "$run"
	for a in "$@"; do
		args="$args $(printf '%q' "$a")"
	done
	# A server killed just before (kill-server returns before it is gone) may
	# still hold the socket: its end fails the first try, the next one starts afresh.
	local try=0 err
	until err=$(t new-session -d -s e2e -x "$cols" -y "$rows" -c "$e2e_dir/ws" \
		"env AIRLOCK_HOME=$e2e_home AIRLOCK_SANDBOX_EXE=${AIRLOCK_SANDBOX_EXE:-} \
		XDG_STATE_HOME=$e2e_dir/state XDG_RUNTIME_DIR=$run $(printf '%q' "$AIRLOCK")$args; \
		echo AIRLOCK-EXITED \$?; sleep 60" 2>&1); do
		try=$((try + 1))
		[ $try -lt 5 ] || fail "tmux new-session: $err"
		t kill-server >/dev/null 2>&1
		sleep 0.3
	done
	t set-option -t e2e remain-on-exit on >/dev/null
	local i=0
	while [ $i -lt 200 ]; do
		if screen | grep -qF "approval "; then
			return 0
		fi
		if screen | grep -qF "AIRLOCK-EXITED"; then
			fail "airlock exited instead of starting its TUI"
		fi
		sleep 0.1
		i=$((i + 1))
	done
	fail "the TUI did not come up"
}

# The pid of airlock itself (the child of the pane's shell).
airlock_pid() {
	local shell
	shell=$(t display-message -p -t e2e '#{pane_pid}')
	local d _pid line
	for d in /proc/[0-9]*; do
		_pid=${d#/proc/}
		read -r line 2>/dev/null <"$d/stat" || continue
		case $line in "$_pid (airlock) "*) ;; *) continue ;; esac
		line=${line##*) }
		# shellcheck disable=SC2086
		set -- $line
		[ "$2" = "$shell" ] && echo "$_pid" && return 0
	done
	return 0
}

# e2e_agent_setup [SECONDS]: for the tests that talk to the agent socket: a
# private runtime directory (XDG_RUNTIME_DIR, exported) where the TUI makes
# its socket, and `submit` below giving up after SECONDS (default 30).
e2e_agent_setup() {
	e2e_submit_timeout=${1:-30}
	export XDG_RUNTIME_DIR="$e2e_dir/run"
	mkdir -m 700 "$XDG_RUNTIME_DIR"
}

# wait_socket: until the TUI's agent socket is there (the status bar may be
# too narrow to show it).
wait_socket() {
	local i=0
	while [ $i -lt 200 ]; do
		ls "$XDG_RUNTIME_DIR"/airlock/*.sock >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "no agent socket under $XDG_RUNTIME_DIR/airlock"
}

# submit ARGS...: `airlock submit ARGS...` from the workspace, to the TUI's socket.
submit() {
	(cd "$e2e_dir/ws" && timeout "${e2e_submit_timeout:-30}" \
		env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$AIRLOCK" submit "$@")
}
