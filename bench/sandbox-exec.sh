#!/usr/bin/env bash
# Sandbox start-up and throughput (targets: start-up <= 1.3x raw bwrap,
# pipe throughput <= 1.02x bare).
#
# 1. `airlock-sandbox ... -- true` against raw `bwrap` with the very same
#    mounts (the helper's own plan, printed by --print-bwrap-args, with the
#    inner stage replaced by `true`), and `$AIRLOCK exec -- true` when it
#    works (with `$AIRLOCK check -- true`, its start-up and decision alone);
#    paired and interleaved in one run (N rounds, default 200) so
#    that drift hits all sides alike; prints medians and the median of the
#    per-round ratios.
# 2. `head -c SIZE /dev/zero | cat` inside the sandbox against bare
#    (SIZE default 4G), interleaved, BENCH_PIPE_ROUNDS (5) rounds each,
#    median ratios of wall time and of the pipeline's CPU time.
#
# Env: AIRLOCK_SANDBOX_EXE (required), AIRLOCK (optional), BWRAP (default:
# bwrap in PATH), BENCH_N, BENCH_PIPE_SIZE. Use a build without sanitizers
# for meaningful numbers (./configure without --enable-asan).
set -euo pipefail

helper=${AIRLOCK_SANDBOX_EXE:?set AIRLOCK_SANDBOX_EXE}
bwrap=${BWRAP:-$(command -v bwrap || true)}
n=${BENCH_N:-200}
size=${BENCH_PIPE_SIZE:-4G}
if [ -z "$bwrap" ]; then
	echo "sandbox-exec: no bwrap in PATH to compare with (apt-get install bubblewrap)"
	exit 77
fi
ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
policy='{"type":"workspace-write"}'
helper_cmd=("$helper" --sandbox-policy-cwd "$ws" --sandbox-policy "$policy" --)
if ! "${helper_cmd[@]}" true; then
	echo "sandbox-exec: the helper cannot run here"
	exit 77
fi
mapfile -t plan < <("$helper" --sandbox-policy-cwd "$ws" --sandbox-policy "$policy" --print-bwrap-args -- true)
raw=("$bwrap")
for arg in "${plan[@]}"; do
	[ "$arg" = "--" ] && break
	raw+=("$arg")
done
raw+=(-- true)
# Raw bwrap leaves the mount points it creates for covered paths on the host
# (the helper removes its own): note which are missing now, remove them after.
covers=()
for ((i = 0; i + 1 < ${#raw[@]}; i++)); do
	case ${raw[i]} in
	--tmpfs | --remount-ro) dest=${raw[i + 1]} ;;
	--ro-bind)
		if [ "${raw[i + 1]}" = /dev/null ]; then
			dest=${raw[i + 2]}
		elif [ "${raw[i + 1]}" = "${raw[i + 2]}" ] && [ ! -e "${raw[i + 1]}" ]; then
			# a file cover the helper makes before bubblewrap (bound onto itself)
			dest=${raw[i + 2]}
			case $dest in */commondir) echo . >"$dest" ;; *) : >"$dest" ;; esac
			covers+=("$dest")
			continue
		else
			continue
		fi ;;
	*) continue ;;
	esac
	[ "$dest" != / ] && [ ! -e "$dest" ] && covers+=("$dest")
done
cleanup() {
	for ((i = ${#covers[@]} - 1; i >= 0; i--)); do
		p=${covers[i]}
		if [ -d "$p" ]; then rmdir "$p" 2>/dev/null || true; elif [ -f "$p" ] && { [ ! -s "$p" ] || [ "$(cat "$p")" = . ]; }; then rm -f "$p"; fi
	done
	rm -rf "$ws"
}
trap cleanup EXIT
airlock_cmd=()
if [ -n "${AIRLOCK:-}" ] && [ -x "$AIRLOCK" ] && (cd "$ws" && "$AIRLOCK" exec -- true) >/dev/null 2>&1; then
	airlock_cmd=("$AIRLOCK" exec --)
fi

# The floor: namespaces, /proc and the workspace, nothing the policy adds.
minimal=("$bwrap" --ro-bind / / --dev /dev --bind "$ws" "$ws" --unshare-all --proc /proc -- true)

python3 - "$n" "$ws" "${#raw[@]}" "${raw[@]}" "${#helper_cmd[@]}" "${helper_cmd[@]}" \
	"${#airlock_cmd[@]}" "${airlock_cmd[@]}" "${#minimal[@]}" "${minimal[@]}" <<'PY'
import os, sys, time, statistics
n = int(sys.argv[1]); ws = sys.argv[2]; rest = sys.argv[3:]
def take(rest):
    k = int(rest[0]); return rest[1:1 + k], rest[1 + k:]
raw, rest = take(rest)
helper, rest = take(rest)
airlock, rest = take(rest)
minimal, rest = take(rest)
helper = helper + ["true"]
if airlock:
    airlock = airlock + ["true"]
devnull = os.open(os.devnull, os.O_RDWR)
def run(argv):
    t = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[
        (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status = os.waitpid(pid, 0)
    dt = time.perf_counter() - t
    if status != 0:
        sys.exit("sandbox-exec: %s exited %d" % (argv[0], status))
    return dt
os.chdir(ws)
sides = {"bwrap minimal": minimal, "bwrap": raw, "helper": helper}
if airlock:
    sides["airlock exec"] = airlock
    # start-up and decision alone, no sandbox: what exec adds before the helper
    sides["airlock check"] = [airlock[0], "check", "--", "true"]
times = {k: [] for k in sides}
for i in range(n):
    order = list(sides) if i % 2 == 0 else list(reversed(list(sides)))
    for k in order:
        times[k].append(run(sides[k]))
for k in sides:
    print("  %-13s median %.2f ms  (p10 %.2f, p90 %.2f, N=%d)" % (
        k, statistics.median(times[k]) * 1e3,
        statistics.quantiles(times[k], n=10)[0] * 1e3,
        statistics.quantiles(times[k], n=10)[-1] * 1e3, n))
for k in sides:
    if k.startswith("bwrap") or k == "airlock check":
        continue
    ratios = [a / b for a, b in zip(times[k], times["bwrap"])]
    r = statistics.median(ratios)
    print("  start-up ratio %s / raw bwrap, same mounts: %.3f (target <= 1.3) %s" % (
        k, r, "OK" if r <= 1.3 else "OVER"))
    ratios = [a / b for a, b in zip(times[k], times["bwrap minimal"])]
    print("  start-up ratio %s / minimal raw bwrap: %.3f" % (k, statistics.median(ratios)))
print("  mounts of the plan over the minimal bwrap: %+.2f ms (median of differences)" % (
    statistics.median([a - b for a, b in zip(times["bwrap"], times["bwrap minimal"])]) * 1e3))
if not airlock:
    print("  (airlock exec not measured: $AIRLOCK unset or `airlock exec -- true` does not run)")
PY

# Wall time is at the mercy of whatever else runs on the host; the CPU time
# the pipeline's two processes use (bash's `times`, children's line) is
# steadier, so both are reported. Rounds alternate sides.
pipe="head -c $size /dev/zero | cat >/dev/null; times"
rounds=${BENCH_PIPE_ROUNDS:-5}
results=()
for ((i = 0; i < rounds; i++)); do
	for side in bare inside; do
		t0=$(date +%s%N)
		if [ $side = bare ]; then
			out=$(bash -c "$pipe")
		else
			out=$("${helper_cmd[@]}" bash -c "$pipe")
		fi
		t1=$(date +%s%N)
		results+=("$side $((t1 - t0)) $(echo "$out" | sed -n 2p)")
	done
done
python3 - "$size" "${results[@]}" <<'PY'
import re, sys, statistics
size = sys.argv[1]
wall = {"bare": [], "inside": []}
cpu = {"bare": [], "inside": []}
for line in sys.argv[2:]:
    side, ns, rest = line.split(" ", 2)
    wall[side].append(int(ns) / 1e9)
    secs = [int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", rest)]
    cpu[side].append(sum(secs))
def ratio(d):
    return statistics.median([i / b for i, b in zip(d["inside"], d["bare"]) if b > 0])
print("  pipe %s (%d rounds): wall bare %.3f s, inside %.3f s, ratio %.3f; "
      "cpu bare %.3f s, inside %.3f s, ratio %.3f (target <= 1.02)" % (
          size, len(wall["bare"]), statistics.median(wall["bare"]),
          statistics.median(wall["inside"]), ratio(wall), statistics.median(cpu["bare"]),
          statistics.median(cpu["inside"]), ratio(cpu)))
PY
