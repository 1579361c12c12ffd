# Extra permissions that keep the sandbox (SPEC 12), end to end with real
# agent clients: `airlock submit --add-write DIR` prompts naming the
# addition; approved, the command writes DIR while a write elsewhere outside
# still fails and DIR's .git/config stays read-only; `a` covers the same
# request again and not one with other permissions; request_permissions on
# one connection, then two requests of that connection that use it with no
# prompt, while another connection has no such grant. Attacks: `/`, a link
# to /etc (the prompt names /etc), a wildcard host, a relative `..` path.
# Then a typed command's read-only denial offers `w`, which reruns it in the
# sandbox with that directory writable; and with -n ask a granted host passes
# the proxy unasked while another host of the same command is asked about.
. "$(dirname "$0")/tui-lib.sh"

export XDG_RUNTIME_DIR="$e2e_dir/run"
mkdir -m 700 "$XDG_RUNTIME_DIR"
submit() {
	(cd "$e2e_dir/ws" && timeout 30 env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$AIRLOCK" submit "$@")
}

# The repository lives outside /tmp: a sandbox of another test whose writable
# roots include /tmp would take a repository appearing there during its run for
# a planted one and move its config aside (SPEC 3's check after the run).
perm_dir=$(mktemp -d /var/tmp/airlock-e2e-perm-XXXXXX) || fail "mktemp in /var/tmp"
trap 'rc=$?; rm -rf "$perm_dir"; (exit $rc); e2e_cleanup' EXIT
out=$perm_dir/out
other=$e2e_dir/other
grant=$e2e_dir/grant
mkdir -p "$out" "$other" "$grant"
# A repository inside the added folder: its config stays read-only.
mkdir -p "$out/.git/objects" "$out/.git/refs" "$out/.git/hooks"
printf 'ref: refs/heads/main\n' >"$out/.git/HEAD"
printf '[core]\n\trepositoryformatversion = 0\n' >"$out/.git/config"
cp "$out/.git/config" "$e2e_dir/config.orig"
ln -s /etc "$e2e_dir/etc-link"

# /tmp (where e2e_dir lives) is not writable inside: only the workspace is.
policy='{"type":"workspace-write","exclude_slash_tmp":true,"exclude_tmpdir_env_var":true}'
start 160 45 -n off -a on-request --sandbox-policy "$policy"
wait_socket

job="echo made >$out/made && echo wrote-out; \
echo x >$other/no 2>/dev/null || echo other-denied; \
echo '[alias] x = !sh' >>$out/.git/config 2>/dev/null || echo gitconfig-denied"

# 1. A write outside the workspace: the prompt names the addition and says it stays sandboxed.
submit --add-write "$out" --justification "writes the build output" -- sh -c "$job" \
	>"$e2e_dir/one.out" 2>&1 &
one=$!
wait_for "Run with extra permissions, still sandboxed?"
wait_for "Adds write $out. The command stays sandboxed."
wait_for "Yes, and for this command with these permissions this session"
wait_armed
t send-keys -t e2e a
wait "$one" || fail "the approved request exited $?: $(cat "$e2e_dir/one.out")"
grep -q wrote-out "$e2e_dir/one.out" || fail "it did not write $out: $(cat "$e2e_dir/one.out")"
[ "$(cat "$out/made")" = made ] || fail "$out/made is missing"
grep -q other-denied "$e2e_dir/one.out" || fail "a write elsewhere outside passed: $(cat "$e2e_dir/one.out")"
[ ! -e "$other/no" ] || fail "$other/no was written"
grep -q gitconfig-denied "$e2e_dir/one.out" || fail ".git/config inside the added folder was writable"
cmp -s "$out/.git/config" "$e2e_dir/config.orig" || fail ".git/config changed: $(cat "$out/.git/config")"
wait_for "adding write $out"
grep -q '"permissions":"write '"$out"'"' "$e2e_home/audit.jsonl" ||
	fail "the audit line has no permissions: $(tail -3 "$e2e_home/audit.jsonl")"

# 2. `a` covers the same request: nobody answers, so a prompt would time out.
rm -f "$out/made"
submit --add-write "$out" --justification "writes the build output" -- sh -c "$job" \
	>"$e2e_dir/two.out" 2>&1 || fail "the same request again: $(cat "$e2e_dir/two.out")"
[ -e "$out/made" ] || fail "the covered request did not write $out"

# ... and not the same command with other permissions.
submit --add-write "$other" -- sh -c "$job" >"$e2e_dir/three.out" 2>&1 &
three=$!
wait_for "Adds write $other. The command stays sandboxed."
wait_armed
t send-keys -t e2e n
wait "$three"
rc=$?
[ "$rc" = 126 ] || fail "a denied request exited $rc: $(cat "$e2e_dir/three.out")"

# 3. request_permissions, then two requests on that connection that use it.
sock=$(ls "$XDG_RUNTIME_DIR"/airlock/*.sock | head -1)
python3 - "$sock" "$grant" >"$e2e_dir/grant.out" 2>&1 <<'PY' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(25)
s.connect(sys.argv[1])
grant = sys.argv[2]
f = s.makefile("rwb")
def send(o):
    f.write((json.dumps(o) + "\n").encode())
    f.flush()
def until(rid, kinds):
    while True:
        line = f.readline()
        if not line:
            sys.exit("connection closed")
        ev = json.loads(line)
        print(json.dumps(ev))
        if ev.get("id") == rid and ev.get("event") in kinds:
            return ev
send({"id": "g", "op": "request_permissions", "permissions": {"write": [grant]},
      "justification": "a cache for the build"})
ev = until("g", ("decision", "error"))
if ev.get("decision") != "approved":
    sys.exit("request_permissions: %s" % ev)
for n in ("1", "2"):
    send({"id": n, "op": "exec", "cwd": "/", "command": ["sh", "-c", "echo %s > %s/f%s" % (n, grant, n)]})
    ev = until(n, ("exit", "error"))
    if ev.get("event") != "exit" or ev.get("code") != 0 or ev.get("sandboxed") is not True:
        sys.exit("request %s: %s" % (n, ev))
print("GRANT-OK")
PY
client=$!
wait_for "Grant extra permissions, still sandboxed?"
wait_for "Adds write $grant to this client's later commands"
wait_armed
t send-keys -t e2e y
wait "$client" || fail "the request_permissions client failed: $(cat "$e2e_dir/grant.out")"
grep -q GRANT-OK "$e2e_dir/grant.out" || fail "no GRANT-OK: $(cat "$e2e_dir/grant.out")"
[ "$(cat "$grant/f1")" = 1 ] && [ "$(cat "$grant/f2")" = 2 ] || fail "the granted writes are missing"
# Another connection holds no such grant: its write stays denied.
submit -- sh -c "echo 3 >$grant/f3" >"$e2e_dir/f3.out" 2>&1 && fail "another connection wrote $grant"
[ ! -e "$grant/f3" ] || fail "$grant/f3 was written without a grant"

# 4. Attacks: never the whole file system, links shown as what they are, no wildcard hosts.
submit --add-write / -- true >"$e2e_dir/root.out" 2>&1 && fail "--add-write / was taken"
grep -q "whole file system" "$e2e_dir/root.out" || fail "--add-write /: $(cat "$e2e_dir/root.out")"
submit --add-write "$e2e_dir/ws/../etc-link/.." -- true >"$e2e_dir/root2.out" 2>&1 &&
	fail "a path to / through a link and .. was taken"
submit --add-host '*.example.com:443' -- true >"$e2e_dir/wild.out" 2>&1 && fail "a wildcard host was taken"
grep -q "no wildcard" "$e2e_dir/wild.out" || fail "wildcard: $(cat "$e2e_dir/wild.out")"
submit --add-host 'example.com:443' -- true >"$e2e_dir/off.out" 2>&1 && fail "a host was granted with -n off"
grep -q "network is off" "$e2e_dir/off.out" || fail "host with -n off: $(cat "$e2e_dir/off.out")"
submit --add-write "$e2e_dir/etc-link" -- touch /etc/airlock-e2e-perm-$$ >"$e2e_dir/etc.out" 2>&1 &
etc=$!
wait_for "Adds write /etc. The command stays sandboxed."
wait_armed
t send-keys -t e2e n
wait "$etc"
[ ! -e /etc/airlock-e2e-perm-$$ ] || { rm -f /etc/airlock-e2e-perm-$$; fail "/etc was written"; }
# An added folder that holds airlock's home or its socket directory: they stay
# read-only and hidden (a sandboxed command must not write rules or reach the TUI).
submit --add-write "$e2e_dir" -- sh -c "echo x >>$e2e_home/audit.jsonl 2>/dev/null || echo home-denied; \
	mkdir -p $e2e_home/rules 2>/dev/null; echo 'prefix_rule(pattern=[\"rm\"], decision=\"allow\")' \
	>$e2e_home/rules/evil.rules 2>/dev/null || echo rules-denied; \
	ls $XDG_RUNTIME_DIR/airlock/ >/dev/null 2>&1 && echo socket-seen || echo socket-hidden" \
	>"$e2e_dir/home.out" 2>&1 &
home=$!
wait_for "Adds write $e2e_dir. The command stays sandboxed."
wait_armed
t send-keys -t e2e y
wait "$home" || fail "the request with the home folder failed: $(cat "$e2e_dir/home.out")"
grep -q home-denied "$e2e_dir/home.out" || fail "the audit log was writable: $(cat "$e2e_dir/home.out")"
grep -q rules-denied "$e2e_dir/home.out" || fail "a rules file could be written: $(cat "$e2e_dir/home.out")"
[ ! -e "$e2e_home/rules/evil.rules" ] || fail "a rules file was planted in airlock's home"
grep -q socket-hidden "$e2e_dir/home.out" || fail "the socket directory was visible: $(cat "$e2e_dir/home.out")"
submit --escalate --add-write "$out" -- true >"$e2e_dir/both.out" 2>&1
[ $? = 2 ] || fail "--escalate with --add-write is not a usage error: $(cat "$e2e_dir/both.out")"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
t kill-server >/dev/null 2>&1

# 5. A typed command's read-only denial: `w` retries it, sandboxed, with the folder writable.
typed=$e2e_dir/typed
mkdir -p "$typed"
start 160 45 -n off -a on-failure --sandbox-policy "$policy"
t send-keys -t e2e "touch $typed/new && touch $other/still-no" Enter
wait_for "Run outside the sandbox?"
wait_for "Retry with write access to $typed, still sandboxed"
wait_armed
t send-keys -t e2e w
wait_for "runs in the sandbox, adding write $typed"
wait_for "[1] exit 1 ·"
[ -e "$typed/new" ] || fail "w did not make $typed writable"
[ ! -e "$other/still-no" ] || fail "w opened more than the named folder"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
t kill-server >/dev/null 2>&1

# 6. A granted host passes the pane's proxy with no prompt; another host still asks.
if command -v curl >/dev/null 2>&1; then
	start 160 45 -n ask -a on-request --sandbox-policy "$policy"
	wait_socket
	submit --add-host airlock-e2e-grant.example:80 -- sh -c \
		"curl -sS -o /dev/null -w 'granted=%{http_code}\n' http://airlock-e2e-grant.example/; \
		curl -sS -o /dev/null -w 'other=%{http_code}\n' http://airlock-e2e-other.example/" \
		>"$e2e_dir/host.out" 2>&1 &
	host=$!
	wait_for "Adds network airlock-e2e-grant.example:80. The command stays sandboxed."
	wait_armed
	t send-keys -t e2e y
	# The granted one is not asked about; the other one is.
	wait_for "airlock-e2e-other.example:80 (http)"
	screen | grep -qF "airlock-e2e-grant.example:80 (http)" && fail "the granted host prompted"
	wait_armed
	t send-keys -t e2e n
	wait "$host"
	grep -q 'other=403' "$e2e_dir/host.out" || fail "the other host was not refused: $(cat "$e2e_dir/host.out")"
	grep '"subject":"airlock-e2e-grant.example:80"' "$e2e_home/audit.jsonl" |
		grep -q '"decision":"allow","by":"user","prompted":false' ||
		fail "no allow line for the granted host: $(grep grant.example "$e2e_home/audit.jsonl")"
	t send-keys -t e2e C-q
	wait_for "AIRLOCK-EXITED 0"
else
	echo "curl is not installed: the host grant part is skipped" >&2
fi
t kill-server >/dev/null 2>&1

# 7. A folder the policy closes (none) is refused before anyone is asked.
mkdir -p "$perm_dir/secret"
echo hidden >"$perm_dir/secret/x"
closed='{"kind":"restricted","entries":[
 {"path":{"type":"special","value":{"kind":"root"}},"access":"read"},
 {"path":{"type":"special","value":{"kind":"current_working_directory"}},"access":"write"},
 {"path":{"type":"path","path":"'"$perm_dir/secret"'"},"access":"none"}]}'
start 160 45 -n off -a on-request --sandbox-policy "$closed"
wait_socket
submit --add-read "$perm_dir/secret" -- true >"$e2e_dir/closed.out" 2>&1 && fail "a none folder was opened"
grep -q "closed by the sandbox policy" "$e2e_dir/closed.out" || fail "none folder: $(cat "$e2e_dir/closed.out")"
submit --add-write "$perm_dir" -- cat "$perm_dir/secret/x" >"$e2e_dir/closed2.out" 2>&1 &
closed2=$!
wait_for "Adds write $perm_dir. The command stays sandboxed."
wait_armed
t send-keys -t e2e y
wait "$closed2" && fail "the none folder was readable under an added parent"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
