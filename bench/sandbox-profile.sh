#!/usr/bin/env bash
# Permission profiles cost nothing at start-up (SPEC 12): `airlock exec --
# true` under -s workspace-write, under -p :workspace (the same policy as a
# profile) and under a profile of its own (:minimal read, the workspace
# write, a `none` folder), paired and interleaved in one run (N rounds,
# default 100, the order alternating) so that drift hits all sides alike;
# prints the medians and the medians of the per-round ratios against -s.
#
# Env: AIRLOCK (required), AIRLOCK_SANDBOX_EXE, BENCH_N. Use a build without
# sanitizers for meaningful numbers.
set -euo pipefail

airlock=${AIRLOCK:-}
n=${BENCH_N:-100}
if [ -z "$airlock" ] || [ ! -x "$airlock" ]; then
	echo "sandbox-profile: set AIRLOCK to the airlock binary"
	exit 77
fi
home=$(mktemp -d)
ws=$(mktemp -d)
trap 'rm -rf "$home" "$ws"' EXIT
mkdir "$ws/private"
printf '{"permissions": {"own": {"filesystem": {":minimal": "read", ":workspace": "write", "%s/private": "none"}}}}\n' \
	"$ws" >"$home/config.json"
if ! AIRLOCK_HOME=$home "$airlock" exec -C "$ws" -p own -- true; then
	echo "sandbox-profile: airlock exec cannot run here"
	exit 77
fi

# run ARGS...: microseconds `airlock exec ARGS -- true` took.
run() {
	local t0 t1
	t0=$(date +%s%N)
	AIRLOCK_HOME=$home "$airlock" exec -C "$ws" "$@" -- true
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
legacy=() builtin=() own=()
for ((i = 0; i < n; i++)); do
	if ((i % 2)); then
		legacy+=("$(run -s workspace-write)")
		builtin+=("$(run -p :workspace)")
		own+=("$(run -p own)")
	else
		own+=("$(run -p own)")
		builtin+=("$(run -p :workspace)")
		legacy+=("$(run -s workspace-write)")
	fi
done
median() {
	printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
# ratios A B: the per-round ratios of array A to array B.
ratios() {
	local -n x=$1 y=$2
	for ((i = 0; i < n; i++)); do
		awk -v p="${x[i]}" -v q="${y[i]}" 'BEGIN {printf "%.4f\n", p / q}'
	done
}
echo "airlock exec -- true, $n rounds interleaved:"
printf '  %-22s median %8s us\n' "-s workspace-write" "$(median "${legacy[@]}")"
# shellcheck disable=SC2046
printf '  %-22s median %8s us  ratio to -s %s\n' "-p :workspace" "$(median "${builtin[@]}")" \
	"$(median $(ratios builtin legacy))"
# shellcheck disable=SC2046
printf '  %-22s median %8s us  ratio to -s %s\n' "-p own (:minimal ...)" "$(median "${own[@]}")" \
	"$(median $(ratios own legacy))"
