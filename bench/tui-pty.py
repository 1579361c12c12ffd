#!/usr/bin/env python3
"""Drives the real airlock TUI on a pseudo-terminal for the benches.

  tui-pty.py latency AIRLOCK   keystroke-to-screen latency while a pane floods
  tui-pty.py rss AIRLOCK       RSS after 1 GB of output into one pane

The TUI runs on a pty of a fixed size (100x30, TERM=xterm-256color) with a
private AIRLOCK_HOME; its output is read all the time (as a terminal would).
Latency: with `yes` flooding a pane, a capital letter is typed into the
input line and the time until it comes back in the TUI's output is one
sample (the flood prints only 'y', and no other capital but F shows); then
it is erased again. The letters take turns, so that a key typed while the
previous erasure is not drawn yet still changes the screen. RSS: VmRSS and VmHWM of airlock once the 1 GB command ended.
"""
import os, select, signal, struct, fcntl, termios, subprocess, sys, tempfile, time

COLS, ROWS = 100, 30


def start(airlock, args, home):
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    env = dict(os.environ, TERM="xterm-256color", AIRLOCK_HOME=home, LANG="C.UTF-8",
               LC_ALL="C.UTF-8", XDG_STATE_HOME=home)
    proc = subprocess.Popen([airlock] + args, stdin=slave, stdout=slave, stderr=slave,
                            env=env, cwd=home, start_new_session=True)
    os.close(slave)
    return proc, master


def drain(fd, timeout):
    """Reads what comes within TIMEOUT seconds (returns as soon as it pauses)."""
    out = b""
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return out
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return out
        try:
            chunk = os.read(fd, 1 << 20)
        except OSError:
            return out
        if not chunk:
            return out
        out += chunk
        if len(out) > (1 << 22):
            out = out[-(1 << 20):]


def wait_for(fd, needle, timeout):
    seen = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        seen += drain(fd, 0.05)
        if needle in seen:
            return True
        seen = seen[-4096:]
    return False


def quit(proc, fd):
    os.write(fd, b"\x11")
    drain(fd, 0.3)
    os.write(fd, b"y")
    end = time.monotonic() + 10
    while proc.poll() is None and time.monotonic() < end:
        drain(fd, 0.1)
    if proc.poll() is None:
        proc.kill()


def latency(airlock, home):
    proc, fd = start(airlock, ["-n", "off"], home)
    if not wait_for(fd, b"approval", 10):
        sys.exit("the TUI did not start")
    debug("started")
    flood = os.environ.get("BENCH_FLOOD", "yes")
    if flood:
        os.write(fd, flood.encode() + b"\r")
        # The pane's title says it runs; what the flood prints need not
        # show in the frames that follow (a screen of 'y' scrolled by one
        # line looks the same), so the title is what is waited for.
        if not wait_for(fd, b"running", 10):
            sys.exit("the flood did not start")
    debug("flooding")
    drain(fd, 1.0)
    samples = []
    lost = 0
    for _ in range(int(os.environ.get("BENCH_KEYS", "200"))):
        drain(fd, 0.005)
        key = b"QXZJKVWUG"[len(samples) % 9:len(samples) % 9 + 1]
        t0 = time.monotonic()
        os.write(fd, key)
        seen = b""
        while key not in seen and time.monotonic() - t0 < 2.0:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                seen = os.read(fd, 1 << 20)
        if key not in seen:
            lost += 1
            debug("lost")
        else:
            samples.append((time.monotonic() - t0) * 1000)
            debug("sample", len(samples), samples[-1])
        os.write(fd, b"\x7f")
        drain(fd, 0.02)
    quit(proc, fd)
    if not samples:
        sys.exit(f"tui-latency: no keystroke came back ({lost} lost)")
    samples.sort()
    p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    what = f"while `{flood}` floods a pane" if flood else "with nothing running"
    print(f"tui-latency: {len(samples)} keystrokes {what}: "
          f"p50 {p(0.50):.1f} ms, p90 {p(0.90):.1f} ms, p99 {p(0.99):.1f} ms, max {samples[-1]:.1f} ms, "
          f"{lost} not seen within 2 s (target p99 < 16 ms)")


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return f.read().split()
    except OSError:
        return []


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def rss(airlock, home):
    size = int(os.environ.get("BENCH_RSS_BYTES", str(10**9)))
    line = "0123456789" * 8
    cmd = f"yes {line} | head -c {size}"
    proc, fd = start(airlock, ["-n", "off", "--", "sh", "-c", cmd], home)
    t0 = time.monotonic()
    if not wait_for(fd, b"approval", 10):
        sys.exit("the TUI did not start")
    # Wait for the command (the TUI's child) to end, reading all the while.
    seen_child = False
    while time.monotonic() - t0 < 600:
        drain(fd, 0.05)
        kids = children(proc.pid)
        if kids:
            seen_child = True
        elif seen_child:
            break
    secs = time.monotonic() - t0
    drain(fd, 0.5)
    rss_kb, hwm_kb = status(proc.pid, "VmRSS"), status(proc.pid, "VmHWM")
    quit(proc, fd)
    print(f"tui-rss: {size / 1e9:.1f} GB of 80-column lines into one pane in {secs:.1f} s: "
          f"RSS {rss_kb / 1024:.1f} MB, peak {hwm_kb / 1024:.1f} MB (target < 64 MB)")


def debug(*args):
    if os.environ.get("BENCH_DEBUG"):
        print(*args, file=sys.stderr, flush=True)


if __name__ == "__main__":
    mode, airlock = sys.argv[1], sys.argv[2]
    signal.alarm(int(os.environ.get("BENCH_TIMEOUT", "900")))
    with tempfile.TemporaryDirectory() as home:
        {"latency": latency, "rss": rss}[mode](airlock, home)
