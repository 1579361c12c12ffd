#!/usr/bin/env bash
# Pane ingest (target: airlock <= 0.7x plain tmux): `seq 1 N` (N default
# 2000000) inside airlock in a tmux pane against the same command straight
# in a tmux pane of the same size, paired and interleaved in one run
# (BENCH_ROUNDS rounds, default 3, the order alternating). The time is from
# starting the pane until its screen shows the line N (capture-pane polled
# every 10 ms). airlock runs it in the sandbox as it would by default.
# Prints each pair, the medians and the median of the per-round ratios.
#
# Env: AIRLOCK, AIRLOCK_SANDBOX_EXE (from `make bench`), BENCH_SEQ_N,
# BENCH_ROUNDS, BENCH_AIRLOCK_ARGS (e.g. `-s danger-full-access` to leave the
# sandbox's start-up out). Use a build without sanitizers for meaningful numbers.
set -u
airlock=${AIRLOCK:?set AIRLOCK}
n=${BENCH_SEQ_N:-2000000}
rounds=${BENCH_ROUNDS:-3}
cols=120
rows=40
command -v tmux >/dev/null || { echo "tui-ingest: tmux is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "tui-ingest: python3 is not installed"; exit 77; }
sock="airlock-bench-$$"
dir=$(mktemp -d)
trap 'tmux -L "$sock" kill-server >/dev/null 2>&1; rm -rf "$dir"' EXIT
mkdir -p "$dir/home" "$dir/ws"
tmux -L "$sock" -f /dev/null new-session -d -s bench -x $cols -y $rows "sleep 3600"

# run_one NAME COMMAND: prints the milliseconds until the line N shows.
run_one() {
	local name=$1 cmd=$2
	python3 - "$sock" "$name" "$cmd" "$n" "$cols" "$rows" <<'PY'
import subprocess, sys, time
sock, name, cmd, n, cols, rows = sys.argv[1:7]
t = ["tmux", "-L", sock]
t0 = time.monotonic()
subprocess.run(t + ["new-window", "-d", "-t", "bench", "-n", name, cmd], check=True)
subprocess.run(t + ["resize-window", "-t", "bench:" + name, "-x", cols, "-y", rows], check=True)
deadline = t0 + 300
while time.monotonic() < deadline:
    out = subprocess.run(t + ["capture-pane", "-p", "-t", "bench:" + name],
                         capture_output=True, text=True).stdout
    if any(line.strip() == n for line in out.splitlines()):
        break
    time.sleep(0.01)
else:
    print("timeout", file=sys.stderr)
    sys.exit(1)
print(int((time.monotonic() - t0) * 1000))
subprocess.run(t + ["kill-window", "-t", "bench:" + name])
PY
}

plain_cmd="seq 1 $n; sleep 3600"
airlock_cmd="cd $dir/ws && env AIRLOCK_HOME=$dir/home AIRLOCK_SANDBOX_EXE=${AIRLOCK_SANDBOX_EXE:-} \
$airlock -n off ${BENCH_AIRLOCK_ARGS:-} -- seq 1 $n"
plain=()
air=()
ratios=()
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then
		p=$(run_one "plain$r" "$plain_cmd") || exit 1
		a=$(run_one "airlock$r" "$airlock_cmd") || exit 1
	else
		a=$(run_one "airlock$r" "$airlock_cmd") || exit 1
		p=$(run_one "plain$r" "$plain_cmd") || exit 1
	fi
	plain+=("$p")
	air+=("$a")
	ratio=$(python3 -c "print(f'{$a / $p:.3f}')")
	ratios+=("$ratio")
	echo "round $r: tmux ${p} ms, airlock ${a} ms, ratio $ratio"
done
median() {
	printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'
}
echo "tui-ingest: seq 1 $n in a ${cols}x${rows} pane: tmux median $(median "${plain[@]}") ms," \
	"airlock median $(median "${air[@]}") ms, ratio median $(median "${ratios[@]}") (target <= 0.7)"
