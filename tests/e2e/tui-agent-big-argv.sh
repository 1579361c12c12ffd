# A request's path is linear in its size (issue 11): a 200k-word argv is
# answered while keys typed into the TUI still echo. The test asserts each
# echo within ECHO_LIMIT_MS (3000: no timing tightness on a loaded machine);
# the issue's 100 ms is measured by bench/tui-big-argv.sh, on a pty, with
# keys typed all the while.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup

start 100 30 -n off -a never
wait_socket
sock=$(ls "$XDG_RUNTIME_DIR"/airlock/*.sock)
# Straight on the socket: 200k words are past what exec(2) takes, so the
# command itself may fail; what counts is that the request is answered.
python3 - "$sock" "$e2e_dir/ws" >"$e2e_dir/big.out" 2>&1 <<'EOF' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(60)
words = ["true"] + ["w%d" % (i % 10) for i in range(200000)]
s.sendall((json.dumps({"id": "big", "op": "exec", "command": words, "cwd": sys.argv[2]}, separators=(",", ":")) + "\n").encode())
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
    ev = [json.loads(l) for l in data.decode(errors="replace").split("\n")[:-1] if l]
    if any(e["event"] in ("exit", "error") for e in ev):
        print("answered:", [e["event"] for e in ev])
        sys.exit(0)
sys.exit("no answer: %r" % data[-300:])
EOF
big=$!

# Keys into the input line while the request goes through: each must show
# within ECHO_LIMIT_MS.
limit=${ECHO_LIMIT_MS:-3000}
worst=0
k=0
while [ $k -lt 15 ]; do
	t send-keys -t e2e -l "k"
	t0=$(date +%s%N)
	want=$(printf 'k%.0s' $(seq 0 $k))
	while ! screen | grep -qF "> $want"; do
		now=$(date +%s%N)
		[ $(((now - t0) / 1000000)) -lt 3000 ] || fail "key $k never echoed"
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$ms" -gt "$worst" ] && worst=$ms
	k=$((k + 1))
	sleep 0.05
done
wait "$big"
rc=$?
[ "$rc" = 0 ] || fail "the big request: $(tail -3 "$e2e_dir/big.out")"
echo "worst key echo while a 200k-word request went through: ${worst} ms"
[ "$worst" -le "$limit" ] || fail "a key took ${worst} ms to echo (limit ${limit} ms)"
t send-keys -t e2e C-u C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
