# An agent's pipe (stdio_fds, SPEC 8) that is a FIFO on a FUSE file system
# (mounted with default_permissions) whose server stops answering: the TUI
# checks the descriptor without asking the server (its type from the
# cache) and never opens it anew, so it goes on serving other clients at
# once, and the command's output reaches the FIFO. An fstat there, or an
# open of /proc/self/fd/N (its permission check asks the server), waited
# on the server with the whole loop: every client, every key, stalled for
# as long as the server liked. The file system is a small one of the test's
# own speaking the raw FUSE protocol on /dev/fuse (root only: it mounts).
. "$(dirname "$0")/tui-lib.sh"

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	echo "SKIP: mounting a FUSE file system needs root and /dev/fuse" >&2
	exit 77
fi

e2e_agent_setup 60
mnt=$e2e_dir/mnt
mkdir "$mnt"
# Unmounted before the common cleanup, which removes e2e_dir.
fuse_pid=
trap 'rc=$?; umount -l "$mnt" 2>/dev/null; [ -z "$fuse_pid" ] || { kill -KILL $fuse_pid; wait $fuse_pid; } 2>/dev/null; (exit $rc); e2e_cleanup' EXIT

# The file system: its root holds one FIFO, "fifo", whose attributes are
# never cached; while the file HANG exists, its GETATTR is not answered.
python3 - "$mnt" "$e2e_dir/HANG" >"$e2e_dir/fuse.log" 2>&1 <<'EOF' &
import ctypes, os, struct, sys, threading, time
mnt, hang = sys.argv[1], sys.argv[2]
fd = os.open("/dev/fuse", os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)
opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions" % fd
if libc.mount(b"airlock-e2e", mnt.encode(), b"fuse", 6, opts.encode()) != 0:  # nosuid, nodev
    print("mount: errno %d" % ctypes.get_errno(), flush=True)
    sys.exit(1)
print("mounted", flush=True)

def attr(ino, mode):
    return struct.pack("<QQQQQQIIIIIIIIII", ino, 0, 0, 0, 0, 0, 0, 0, 0, mode, 1, 0, 0, 0, 4096, 0)

def reply(unique, err, body=b""):
    os.write(fd, struct.pack("<IiQ", 16 + len(body), err, unique) + body)

def serve(buf):
    length, op, unique, node = struct.unpack_from("<IIQQ", buf)
    body = buf[40:length]
    if op == 26:  # INIT: protocol 7.31, nothing cached
        reply(unique, 0, struct.pack("<IIIIHHIIHHI", 7, 31, 0, 0, 16, 12, 65536, 1, 0, 0, 0) +
              bytes(28))
    elif op == 1:  # LOOKUP
        if node == 1 and body.split(b"\0")[0] == b"fifo":
            reply(unique, 0, struct.pack("<QQQQII", 2, 0, 0, 0, 0, 0) + attr(2, 0o10666))
        else:
            reply(unique, -2)
    elif op == 3:  # GETATTR
        while node == 2 and os.path.exists(hang):
            time.sleep(0.05)
        reply(unique, 0, struct.pack("<QII", 0, 0, 0) +
              (attr(1, 0o40755) if node == 1 else attr(2, 0o10666)))
    elif op in (2, 42):  # FORGET, BATCH_FORGET: no answer
        pass
    elif op in (18, 29, 34):  # RELEASE, RELEASEDIR, ACCESS
        reply(unique, 0)
    else:
        reply(unique, -38)

while True:
    try:
        buf = os.read(fd, (1 << 20) + 4096)
    except OSError as e:
        if e.errno == 4:
            continue
        break  # unmounted
    threading.Thread(target=serve, args=(buf,), daemon=True).start()
EOF
fuse_pid=$!
i=0
until grep -q mounted "$e2e_dir/fuse.log" 2>/dev/null; do
	if [ $i -ge 50 ] || grep -q mount: "$e2e_dir/fuse.log" 2>/dev/null; then
		echo "SKIP: no FUSE mount here: $(cat "$e2e_dir/fuse.log")" >&2
		exit 77
	fi
	sleep 0.1
	i=$((i + 1))
done
[ -p "$mnt/fifo" ] || fail "the test's file system has no FIFO"

start 100 30 -n off -a never
wait_socket

python3 - "$(ls "$XDG_RUNTIME_DIR"/airlock/*.sock)" "$e2e_dir" <<'EOF' || fail "a FIFO on a stalled FUSE file system stalled the TUI"
import json, os, socket, sys, threading, time
sock, e2e_dir = sys.argv[1], sys.argv[2]
hang = os.path.join(e2e_dir, "HANG")

def ask(line, fds=()):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    data = (json.dumps(line) + "\n").encode()
    socket.send_fds(s, [data], list(fds)) if fds else s.sendall(data)
    return s

def last_event(s, limit):
    """The exit or error event of S, or None after LIMIT seconds."""
    s.settimeout(limit)
    f = s.makefile("rb")
    try:
        for line in f:
            ev = json.loads(line)
            if ev.get("event") in ("exit", "error"):
                return ev
    except socket.timeout:
        return None
    return None

base = {"op": "exec", "cwd": os.path.join(e2e_dir, "ws")}
r = os.open(os.path.join(e2e_dir, "mnt", "fifo"), os.O_RDONLY | os.O_NONBLOCK)
w = os.open(os.path.join(e2e_dir, "mnt", "fifo"), os.O_WRONLY)
open(hang, "w").close()
def answer_again(after):
    time.sleep(after)
    try:
        os.unlink(hang)
    except FileNotFoundError:
        pass
# The server answers again after 8 s whatever happens, so a stalled TUI ends.
threading.Thread(target=answer_again, args=(8,), daemon=True).start()
t0 = time.time()
fuse = ask(dict(base, id="1", command=["echo", "into-fuse"], stdio_fds=["stdout"]), [w])
os.close(w)
time.sleep(0.3)
other = last_event(ask(dict(base, id="2", command=["echo", "other"])), 15)
took = time.time() - t0
assert other == {"id": "2", "event": "exit", "code": 0, "sandboxed": True}, other
assert took < 6, "another client waited %.1f s for the TUI" % took
ev = last_event(fuse, 15)
assert ev == {"id": "1", "event": "exit", "code": 0, "sandboxed": True}, ev
os.set_blocking(r, True)
got = os.read(r, 100)
answer_again(0)
assert got == b"into-fuse\n", got
EOF

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
