#!/usr/bin/env bash
# Key echo while 200k-word argvs go through the agent socket (issue 11,
# target: p99 under 100 ms), against key echo with nothing under way in the
# same run: see tui-pty.py (bigargv). Keys are typed one after another, with
# no pause, all the while each request goes (BENCH_REQUESTS, default 5), so
# every stall of the loop is met by a key. Env: AIRLOCK, AIRLOCK_SANDBOX_EXE,
# BENCH_REQUESTS, BENCH_WORDS (default 200000), BENCH_KEYS (idle keys, 100).
# Use a build without sanitizers. tests/e2e/tui-agent-big-argv.sh checks
# the same through tmux with a loose bound (a test, not a measure).
set -eu
command -v python3 >/dev/null || { echo "tui-big-argv: python3 is not installed"; exit 77; }
exec python3 "$(dirname "$0")/tui-pty.py" bigargv "${AIRLOCK:?set AIRLOCK}"
