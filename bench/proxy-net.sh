#!/usr/bin/env bash
# The network proxy's benchmarks (issue 5), all paired and interleaved so
# that machine drift hits both sides alike:
#
# 1. throughput of a CONNECT tunnel through the proxy vs a direct loopback
#    connection (BENCH_PROXY_MIB MiB per round, default 256; 15 rounds);
#    target >= 0.8x; a bare relay (accept, connect, splice: one more
#    loopback hop and no proxy at all) is measured alongside as the ceiling
#    that any proxy on this machine can reach;
# 2. the same with the client inside the sandbox (network proxy), so the
#    bytes also cross both bridges of proxy routing;
# 3. added latency of a new connection to an already approved destination
#    (connect + CONNECT + one echoed byte, vs direct connect + echo; 2000
#    rounds, median of the per-round differences); target < 1 ms;
# 4. `airlock exec -s read-only -n ask -- true` vs raw bwrap with the same
#    namespaces and mounts (the helper's own read-only plan);
#    BENCH_N rounds (default 100); target <= 2x.
#
# Env: AIRLOCK (required: the build tree is found next to it),
# AIRLOCK_SANDBOX_EXE (required), BWRAP, BENCH_N, BENCH_PROXY_MIB. Use a
# build without sanitizers for meaningful numbers.
set -euo pipefail

airlock=${AIRLOCK:?set AIRLOCK}
helper=${AIRLOCK_SANDBOX_EXE:?set AIRLOCK_SANDBOX_EXE}
builddir=$(cd "$(dirname "$airlock")" && pwd)
tool=$builddir/bench/proxy-bench
n=${BENCH_N:-100}
mib=${BENCH_PROXY_MIB:-256}
bwrap=${BWRAP:-$(command -v bwrap || true)}

make -s -C "$builddir" bench/proxy-bench >/dev/null
echo "-- 1. CONNECT tunnel throughput vs direct ($tool throughput $mib 15)"
"$tool" throughput "$mib" 15 | sed 's/^/  /'

ws=$(mktemp -d)
trap 'rm -rf "$ws"' EXIT
if ! "$helper" --sandbox-policy-cwd "$ws" --sandbox-policy '{"type":"read-only"}' -- true; then
	echo "proxy-net: the sandbox helper cannot run here: skipping 2 and 4"
	echo "-- 3. added latency of a new approved connection ($tool latency 2000)"
	"$tool" latency 2000 | sed 's/^/  /'
	exit 0
fi
echo "-- 2. through the sandbox's bridges and the proxy vs direct ($tool bridge-throughput $mib 15 HELPER)"
"$tool" bridge-throughput "$mib" 15 "$helper" | sed 's/^/  /'

echo "-- 3. added latency of a new approved connection ($tool latency 2000)"
"$tool" latency 2000 | sed 's/^/  /'

if [ -z "$bwrap" ]; then
	echo "proxy-net: no bwrap in PATH to compare exec with (apt-get install bubblewrap)"
	exit 0
fi
mapfile -t plan < <("$helper" --sandbox-policy-cwd "$ws" --sandbox-policy '{"type":"read-only"}' \
	--print-bwrap-args -- true 2>/dev/null || true)
raw=("$bwrap")
if [ ${#plan[@]} -gt 0 ]; then
	for arg in "${plan[@]}"; do
		[ "$arg" = "--" ] && break
		raw+=("$arg")
	done
else
	raw+=(--new-session --die-with-parent --ro-bind / / --dev /dev --unshare-user --unshare-pid
		--unshare-ipc --unshare-net --proc /proc --cap-drop ALL)
fi
raw+=(-- true)
# read-only, as the baseline's plan: the same mounts on both sides.
ask=("$airlock" exec -s read-only -n ask -- true)
label="airlock exec -s read-only -n ask"
echo "-- 4. $label -- true vs raw bwrap ($n rounds, interleaved)"
python3 - "$n" "$ws" "$label" "${#raw[@]}" "${raw[@]}" "${#ask[@]}" "${ask[@]}" <<'PY'
import os, sys, time, statistics
n = int(sys.argv[1]); ws = sys.argv[2]; label = sys.argv[3]; rest = sys.argv[4:]
def take(rest):
    k = int(rest[0]); return rest[1:1 + k], rest[1 + k:]
raw, rest = take(rest)
ask, rest = take(rest)
devnull = os.open(os.devnull, os.O_RDWR)
def run(argv):
    t = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[
        (os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status = os.waitpid(pid, 0)
    dt = time.perf_counter() - t
    if status != 0:
        sys.exit("proxy-net: %s exited %d" % (" ".join(argv), status))
    return dt
os.chdir(ws)
a, b = [], []
for i in range(n):
    if i % 2 == 0:
        b.append(run(raw)); a.append(run(ask))
    else:
        a.append(run(ask)); b.append(run(raw))
r = statistics.median([x / y for x, y in zip(a, b)])
print("  raw bwrap      median %.2f ms" % (statistics.median(b) * 1e3))
print("  %-14s median %.2f ms" % (label, statistics.median(a) * 1e3))
print("  ratio (median of pairs) %.2f (target <= 2) %s" % (r, "OK" if r <= 2 else "OVER"))
PY
