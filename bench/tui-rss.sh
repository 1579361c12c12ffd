#!/usr/bin/env bash
# Memory after 1 GB of output into one pane (target: RSS < 64 MB): see
# tui-pty.py. Env: AIRLOCK, AIRLOCK_SANDBOX_EXE, BENCH_RSS_BYTES (default
# 1000000000). Use a build without sanitizers.
set -eu
command -v python3 >/dev/null || { echo "tui-rss: python3 is not installed"; exit 77; }
exec python3 "$(dirname "$0")/tui-pty.py" rss "${AIRLOCK:?set AIRLOCK}"
