# An agent's command runs on pipes (SPEC 8): `airlock submit` gives back
# stdout and stderr apart and byte for byte (1 MiB of random bytes through
# cat, sha256 equal; "\n" stays "\n"), forwards its own stdin, and --tty
# asks for a terminal instead. Both ways: into files (output events) and
# into pipes (submit passes its pipes, stdio_fds, and the TUI relays the
# command's output straight into them). A raw client that announces
# descriptors it did not send, or sends one that is not a pipe, gets an
# error event, and the TUI carries on.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup 60

start 100 30 -n off -a never
wait_socket

head -c 1048576 /dev/urandom >"$e2e_dir/in.bin"
submit -- cat <"$e2e_dir/in.bin" >"$e2e_dir/out.bin" || fail "cat through submit exited $?"
[ "$(sha256sum <"$e2e_dir/in.bin")" = "$(sha256sum <"$e2e_dir/out.bin")" ] ||
	fail "1 MiB through cat came back changed ($(wc -c <"$e2e_dir/out.bin") bytes)"

# Into pipes: the relay.
sum=$(submit -- cat <"$e2e_dir/in.bin" | sha256sum) || fail "cat into a pipe exited $?"
[ "$sum" = "$(sha256sum <"$e2e_dir/in.bin")" ] || fail "1 MiB through cat into a pipe came back changed"
submit -- sh -c 'echo out; echo err >&2; exit 5' 2> >(od -c >"$e2e_dir/pe") </dev/null | od -c >"$e2e_dir/po"
rc=${PIPESTATUS[0]}
sleep 0.2
[ "$rc" = 5 ] || fail "into pipes: exit status $rc, not 5"
[ "$(cat "$e2e_dir/po")" = "$(printf 'out\n' | od -c)" ] || fail "stdout into a pipe: $(cat "$e2e_dir/po")"
[ "$(cat "$e2e_dir/pe")" = "$(printf 'err\n' | od -c)" ] || fail "stderr into a pipe: $(cat "$e2e_dir/pe")"

python3 - "$(ls "$XDG_RUNTIME_DIR"/airlock/*.sock)" "$e2e_dir" <<'EOF' || fail "a raw client's stdio_fds were not refused"
import json, os, socket, sys
def ask(line, fds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    data = (json.dumps(line) + "\n").encode()
    if fds:
        socket.send_fds(s, [data], fds)
    else:
        s.sendall(data)
    ev = json.loads(s.makefile().readline())
    s.close()
    return ev
base = {"id": "1", "op": "exec", "command": ["echo", "x"], "cwd": "/tmp"}
ev = ask(dict(base, stdio_fds=["stdout"]), [])
assert ev.get("event") == "error" and "descriptors" in ev["message"], ev
f = open(os.path.join(sys.argv[2], "not-a-pipe"), "w")
ev = ask(dict(base, stdio_fds=["stdout"]), [f.fileno()])
assert ev == {"id": "1", "event": "error", "message": "stdio_fds: the descriptor for stdout is not a pipe"}, ev
ev = ask(dict(base, stdio_fds=["stdout", "stdout"]), [])
assert ev.get("event") == "error" and "stdio_fds" in ev["message"], ev
r, w = os.pipe()
ev = ask(dict(base, stdio_fds=["stdout"], tty=True), [w])
assert ev.get("event") == "error" and "tty" in ev["message"], ev
EOF

submit -- sh -c 'echo out; echo err >&2; exit 3' >"$e2e_dir/o" 2>"$e2e_dir/e" </dev/null
rc=$?
[ "$rc" = 3 ] || fail "exit status $rc, not 3"
[ "$(od -c <"$e2e_dir/o")" = "$(printf 'out\n' | od -c)" ] || fail "stdout: $(od -c <"$e2e_dir/o")"
[ "$(od -c <"$e2e_dir/e")" = "$(printf 'err\n' | od -c)" ] || fail "stderr: $(od -c <"$e2e_dir/e")"

out=$(echo piped-in | submit -- sh -c 'read v; echo "got $v"') || fail "read from stdin exited $?"
[ "$out" = "got piped-in" ] || fail "stdin: $out"

out=$(submit -- sh -c 'test -t 0 || test -t 1 || echo no-terminal' </dev/null)
[ "$out" = "no-terminal" ] || fail "a piped command saw a terminal: $out"
out=$(submit --tty -- sh -c 'test -t 1 && echo on-a-terminal' </dev/null | tr -d '\r')
[ "$out" = "on-a-terminal" ] || fail "--tty: $out"

# A stdin that never ends before the command does: submit still ends with its status.
sleep 2 | submit -- sh -c 'exit 7'
rc=$?
[ "$rc" = 7 ] || fail "with an open stdin, submit exited $rc, not 7"

# The pane still shows both streams.
submit -- sh -c 'echo shown-out; echo shown-err >&2' >/dev/null 2>&1 </dev/null
wait_for "shown-out"
wait_for "shown-err"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
