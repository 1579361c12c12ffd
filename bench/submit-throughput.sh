#!/usr/bin/env bash
# Agent output throughput (issue 11): `airlock submit -- head -c N /dev/zero | wc -c`
# against a running TUI, paired with the same command run bare; the ratio
# bare/submit is the figure (target 0.8). submit's stdout is a pipe, so it
# goes with the request (stdio_fds) and the TUI splices the output into it. Env: AIRLOCK, AIRLOCK_SANDBOX_EXE,
# BENCH_MB (default 1024, the 1 GiB of issue 11), BENCH_RUNS (default 5). Use a build without
# sanitizers; tmux runs the TUI.
set -u
command -v tmux >/dev/null || { echo "submit-throughput: tmux is not installed"; exit 77; }
airlock=${AIRLOCK:?set AIRLOCK}
helper=${AIRLOCK_SANDBOX_EXE:-$(dirname "$airlock")/airlock-sandbox}
mb=${BENCH_MB:-1024}
runs=${BENCH_RUNS:-5}
dir=$(mktemp -d /tmp/airlock-bench-XXXXXX)
trap 'tmux -S "$dir/tmux.sock" kill-server 2>/dev/null; rm -rf "$dir"' EXIT
mkdir -p "$dir/ws" "$dir/home" "$dir/run"
chmod 700 "$dir/run"
tmux -S "$dir/tmux.sock" -f /dev/null new-session -d -s b -x 100 -y 30 -c "$dir/ws" \
	"env AIRLOCK_HOME=$dir/home AIRLOCK_SANDBOX_EXE=$helper XDG_RUNTIME_DIR=$dir/run $airlock -n off -a never; sleep 60"
i=0
while ! ls "$dir/run/airlock/"*.sock >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "submit-throughput: the TUI did not start"; exit 1; }
	sleep 0.1
done
echo "command: head -c ${mb}M /dev/zero | wc -c, bare and through airlock submit, $runs pairs"
ratios=""
for r in $(seq 1 "$runs"); do
	t0=$(date +%s%N)
	head -c "${mb}M" /dev/zero | wc -c >/dev/null
	t1=$(date +%s%N)
	n=$(cd "$dir/ws" && XDG_RUNTIME_DIR=$dir/run "$airlock" submit -- head -c "${mb}M" /dev/zero | wc -c)
	t2=$(date +%s%N)
	[ "$n" = $((mb * 1048576)) ] || { echo "submit-throughput: got $n bytes"; exit 1; }
	bare=$(((t1 - t0) / 1000000))
	sub=$(((t2 - t1) / 1000000))
	ratio=$(awk -v b="$bare" -v s="$sub" 'BEGIN { printf "%.3f", b / s }')
	echo "pair $r: bare ${bare} ms, submit ${sub} ms ($(awk -v s="$sub" -v m="$mb" 'BEGIN { printf "%.0f", m * 1000 / s }') MB/s), ratio $ratio"
	ratios="$ratios $ratio"
done
echo "median ratio: $(echo $ratios | tr ' ' '\n' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }') (target 0.8)"
