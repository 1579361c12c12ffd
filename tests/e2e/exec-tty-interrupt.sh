# airlock exec on the user's own terminal: that terminal stays the user
# shell's (the sandboxed command takes a terminal only when no session holds
# it, as a TUI pane's), so Ctrl-C typed there still reaches the command
# through the helper: a python3 KeyboardInterrupt, exit 130.
. "$(dirname "$0")/tui-lib.sh"

command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is not installed" >&2; exit 77; }

t new-session -d -s e2e -x 100 -y 20 -c "$e2e_dir/ws" \
	"env AIRLOCK_HOME=$e2e_home XDG_STATE_HOME=$e2e_dir/state \
	AIRLOCK_SANDBOX_EXE=${AIRLOCK_SANDBOX_EXE:-} $(printf '%q' "$AIRLOCK") exec -n off -- \
	python3 -c 'import os, time; print(\"ready\", os.getsid(0) == os.getpgrp(), flush=True); time.sleep(60)'; \
	echo EXEC-EXITED \$?; sleep 60" || fail "tmux new-session"
wait_for "ready"
t send-keys -t e2e C-c
wait_for "KeyboardInterrupt"
wait_for "EXEC-EXITED 130"
exit 0
