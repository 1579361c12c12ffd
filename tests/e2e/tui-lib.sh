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

e2e_dir=$(mktemp -d /tmp/airlock-e2e-XXXXXX)
e2e_sock="$e2e_dir/tmux.sock"
e2e_home="$e2e_dir/home"
mkdir -p "$e2e_home" "$e2e_dir/ws"

# tmux on our private socket, never the user's config. The socket lives in
# e2e_dir (not in /tmp/tmux-UID), so nothing of it outlives the test.
t() {
	tmux -S "$e2e_sock" -f /dev/null "$@"
}

e2e_cleanup() {
	t kill-server >/dev/null 2>&1
	rm -rf "$e2e_dir"
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
	mkdir -p -m 700 "$run"
	for a in "$@"; do
		args="$args $(printf '%q' "$a")"
	done
	t new-session -d -s e2e -x "$cols" -y "$rows" -c "$e2e_dir/ws" \
		"env AIRLOCK_HOME=$e2e_home AIRLOCK_SANDBOX_EXE=${AIRLOCK_SANDBOX_EXE:-} \
		XDG_STATE_HOME=$e2e_dir/state XDG_RUNTIME_DIR=$run $(printf '%q' "$AIRLOCK")$args; \
		echo AIRLOCK-EXITED \$?; sleep 60" || fail "tmux new-session"
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
	pgrep -P "$shell" -x airlock | head -1
}
