#!/usr/bin/env bash
# Key echo while a 200k-word argv goes through the agent socket (issue 11,
# target 100 ms): tests/e2e/tui-agent-big-argv.sh with the issue's limit,
# BENCH_RUNS times (default 3). Env: AIRLOCK, AIRLOCK_SANDBOX_EXE. Use a
# build without sanitizers; needs tmux and python3.
set -u
command -v tmux >/dev/null || { echo "tui-big-argv: tmux is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "tui-big-argv: python3 is not installed"; exit 77; }
: "${AIRLOCK:?set AIRLOCK}"
export AIRLOCK AIRLOCK_SANDBOX_EXE=${AIRLOCK_SANDBOX_EXE:-$(dirname "$AIRLOCK")/airlock-sandbox}
script=$(dirname "$0")/../tests/e2e/tui-agent-big-argv.sh
echo "command: ECHO_LIMIT_MS=100 bash tests/e2e/tui-agent-big-argv.sh, ${BENCH_RUNS:-3} runs"
rc=0
for r in $(seq 1 "${BENCH_RUNS:-3}"); do
	out=$(ECHO_LIMIT_MS=100 bash "$script" 2>&1)
	echo "run $r: $(echo "$out" | grep -E '^worst key echo' || echo "$out" | tail -1)"
	echo "$out" | grep -q "FAIL" && rc=1
done
exit $rc
