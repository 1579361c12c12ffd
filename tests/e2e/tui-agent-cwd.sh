# A request's cwd is only where its command starts (SPEC 8): the writable
# roots stay the TUI's own. A command submitted from / cannot write /etc, one
# from a directory outside the workspace cannot write there, and under
# on-request a patch whose cwd is outside the roots prompts (n: 126, nothing
# written). The pane title and the prompt name the outside cwd.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup
# Outside every writable root (not under /tmp, which workspace-write opens).
outside=$(mktemp -d /var/tmp/airlock-e2e-cwd-XXXXXX)
etc_file=/etc/airlock-e2e-cwd-$$
cleanup_cwd() {
	rm -rf "$outside" "$etc_file"
	e2e_cleanup
}
trap cleanup_cwd EXIT
submit_in() {
	local dir=$1
	shift
	(cd "$dir" && timeout 30 env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$AIRLOCK" submit "$@")
}

start 120 30 -n off -a on-request
wait_socket

submit_in / -- sh -c "echo x > $etc_file" >"$e2e_dir/etc.out" 2>&1
rc=$?
[ "$rc" != 0 ] || fail "a command from / wrote under /etc (exit 0)"
[ ! -e "$etc_file" ] || fail "a command from / wrote $etc_file"

submit_in "$outside" -- sh -c 'pwd; echo x > here' >"$e2e_dir/out.out" 2>&1
rc=$?
[ "$rc" != 0 ] || fail "a command from $outside wrote there (exit 0)"
[ ! -e "$outside/here" ] || fail "a command from $outside wrote there"
tr -d '\r' <"$e2e_dir/out.out" | grep -qxF "$outside" || fail "the command did not start in its cwd: $(cat "$e2e_dir/out.out")"
wait_for "(in $outside)"

# Inside the workspace the same command still writes.
submit_in "$e2e_dir/ws" -- sh -c 'echo x > here' || fail "a command in the workspace could not write"
[ -e "$e2e_dir/ws/here" ] || fail "the workspace was not written"

# A patch from outside the roots prompts under on-request; n refuses it.
printf '*** Begin Patch\n*** Add File: planted\n+x\n*** End Patch\n' >"$e2e_dir/p.patch"
submit_in "$outside" --patch "$e2e_dir/p.patch" >"$e2e_dir/p.out" 2>&1 &
pat=$!
wait_for "Apply file changes?"
wait_for "$outside"
wait_armed
t send-keys -t e2e n
wait "$pat"
rc=$?
[ "$rc" = 126 ] || fail "a refused patch from outside exited $rc, not 126: $(cat "$e2e_dir/p.out")"
[ ! -e "$outside/planted" ] || fail "the patch from outside was applied"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
