# An agent's pipes (stdio_fds, SPEC 8) against the TUI's relay, the ways a
# client can get them wrong or stop reading them:
#  - the client's pipe stays blocking: a shell's next command writing to
#    the same pipe after `airlock submit` must not get EAGAIN (polling a dup
#    of the client's descriptor made the pipe non-blocking for all its
#    writers);
#  - a FIFO open for reading and writing is refused (a reader of its own:
#    kept by the TUI it would hide the real reader's going away), and
#    `airlock submit` does not send one (its output comes as events);
#  - a reader that never reads holds the command back as in a shell, but
#    its timeout, a cancel, or its client going away still end it: the exit
#    event comes (124, 130) and the TUI lets go of every descriptor (they
#    used to wait for the reader for ever, the pane running, its client's
#    pipes held);
#  - the TUI answers other clients meanwhile;
#  - stdout and stderr into one pipe (2>&1) keep the order the command
#    wrote them in, as in a shell (two relays reordered them).
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup 60

start 100 30 -n off -a never
wait_socket
tui=$(airlock_pid)
[ -n "$tui" ] || fail "no airlock process"

# After submit wrote into the shell's pipe, the next writer of that pipe
# still blocks when it is full (the reader sleeps first) instead of failing.
out=$( { submit -- echo first </dev/null && head -c 3000000 /dev/zero; } | { sleep 1; wc -c; })
[ "$out" = 3000006 ] || fail "the pipe's next writer lost bytes after submit: $out of 3000006"

python3 - "$(ls "$XDG_RUNTIME_DIR"/airlock/*.sock)" "$e2e_dir" "$tui" <<'EOF' ||
import json, os, socket, sys, time
sock, e2e_dir, tui = sys.argv[1], sys.argv[2], int(sys.argv[3])
ws = os.path.join(e2e_dir, "ws")

def fds():
    return len(os.listdir("/proc/%d/fd" % tui))

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    return s

def send(s, line, fds=()):
    data = (json.dumps(line) + "\n").encode()
    socket.send_fds(s, [data], list(fds)) if fds else s.sendall(data)

bufs = {}
def until(s, kinds, limit):
    """Events of S up to one of KINDS (that one last), or None after LIMIT seconds."""
    end, evs, buf = time.time() + limit, [], bufs.get(id(s), b"")
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            ev = json.loads(line)
            evs.append(ev)
            if ev.get("event") in kinds:
                bufs[id(s)] = buf
                return ev
        if time.time() >= end:
            bufs[id(s)] = buf
            return None
        s.settimeout(max(end - time.time(), 0.01))
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        if not d:
            return None
        buf += d

def exec_line(id, argv, **kw):
    return dict({"id": id, "op": "exec", "command": argv, "cwd": ws}, **kw)

def settle(base, limit):
    end = time.time() + limit
    while fds() > base and time.time() < end:
        time.sleep(0.1)
    return fds()

base = fds()

# A FIFO open for reading and writing: refused.
fifo = os.path.join(e2e_dir, "fifo")
os.mkfifo(fifo)
rw = os.open(fifo, os.O_RDWR)
s = conn()
send(s, exec_line("1", ["echo", "x"], stdio_fds=["stdout"]), [rw])
ev = until(s, ("exit", "error"), 10)
assert ev is not None and ev["event"] == "error" and "stdout" in ev["message"], ev
s.close()
os.close(rw)

# A reader that never reads, and a timeout: the exit comes, timed out.
r, w = os.pipe()
s = conn()
t0 = time.time()
send(s, exec_line("1", ["yes"], stdio_fds=["stdout"], timeout_ms=1000), [w])
os.close(w)
other = conn()
send(other, exec_line("2", ["echo", "other"]))
ev = until(other, ("exit", "error"), 10)
assert ev == {"id": "2", "event": "exit", "code": 0, "sandboxed": True}, ("other client", ev)
other.close()
ev = until(s, ("exit", "error"), 15)
assert ev is not None, "no exit event 15 s after a 1 s timeout with a reader that never reads"
assert ev.get("code") == 124 and ev.get("timed_out") is True, ev
s.close()
os.close(r)
assert settle(base, 10) <= base, "descriptors left after the timeout: %d, was %d" % (fds(), base)

# A cancel, the reader never reading: the exit comes (interrupted).
r, w = os.pipe()
s = conn()
send(s, exec_line("1", ["yes"], stdio_fds=["stdout"]), [w])
os.close(w)
until(s, ("decision",), 10)
time.sleep(0.5)
send(s, {"id": "c", "op": "cancel", "target": "1"})
ev = until(s, ("exit", "error"), 15)
assert ev is not None, "no exit event after a cancel with a reader that never reads"
assert ev.get("code") == 130, ev
s.close()
os.close(r)
assert settle(base, 10) <= base, "descriptors left after the cancel: %d, was %d" % (fds(), base)

# The client goes away, its pipe's reader stays and never reads: the TUI
# lets go of the pipe (the reader sees its end) and of every descriptor.
r, w = os.pipe()
s = conn()
send(s, exec_line("1", ["yes"], stdio_fds=["stdout"]), [w])
os.close(w)
until(s, ("decision",), 10)
time.sleep(0.5)
s.close()
assert settle(base, 15) <= base, "descriptors left after the client went: %d, was %d" % (fds(), base)
os.set_blocking(r, False)
try:
    while os.read(r, 1 << 20):
        pass
    ended = True
except BlockingIOError:
    ended = False
assert ended, "the pipe of a client gone is still held open"
os.close(r)
EOF
	fail "stalled pipes"

# A reader that only starts after the command ended still gets every byte:
# a command that ends on its own waits for its reader, however slow.
sum=$(submit -- sh -c 'head -c 2000000 /dev/urandom | tee /dev/stderr; exit 0' 2>"$e2e_dir/err" </dev/null |
	{ sleep 2; sha256sum; })
[ "$sum" = "$(sha256sum <"$e2e_dir/err")" ] || fail "a slow reader did not get every byte"

# A stdout that is a FIFO open for reading and writing (1<>fifo) is not
# sent (the TUI refuses it): its output comes as output events instead.
mkfifo "$e2e_dir/rwfifo"
exec 8<>"$e2e_dir/rwfifo"
submit -- echo through-events </dev/null 1<>"$e2e_dir/rwfifo" || fail "submit 1<>fifo exited $?"
read -r -t 10 line <&8
exec 8>&-
[ "$line" = through-events ] || fail "submit 1<>fifo: $line"

# 2>&1 into a pipe: one stream, in the command's order.
script='for i in $(seq 2000); do echo out$i; echo err$i >&2; done'
submit -- sh -c "$script" 2>&1 </dev/null | cat >"$e2e_dir/mixed"
sh -c "$script" >"$e2e_dir/want" 2>&1
cmp -s "$e2e_dir/mixed" "$e2e_dir/want" ||
	fail "2>&1 into a pipe came out of order: $(diff "$e2e_dir/mixed" "$e2e_dir/want" 2>/dev/null | head -3)"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
