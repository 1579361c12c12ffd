#!/usr/bin/env bash
# Keystroke-to-screen latency of the input line while another pane floods
# (target: p99 < 16 ms): see tui-pty.py. Env: AIRLOCK, AIRLOCK_SANDBOX_EXE,
# BENCH_KEYS (default 200). Use a build without sanitizers.
set -eu
command -v python3 >/dev/null || { echo "tui-latency: python3 is not installed"; exit 77; }
exec python3 "$(dirname "$0")/tui-pty.py" latency "${AIRLOCK:?set AIRLOCK}"
