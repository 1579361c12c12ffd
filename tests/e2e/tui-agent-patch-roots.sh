# Under on-request a patch prompts only when it touches a path the sandbox
# could not write (SPEC 5): inside the workspace it applies at once with
# workspace-write, and is asked about with read-only, where nothing is
# writable.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup
printf '*** Begin Patch\n*** Add File: one.txt\n+one\n*** End Patch\n' >"$e2e_dir/one.patch"
printf '*** Begin Patch\n*** Add File: two.txt\n+two\n*** End Patch\n' >"$e2e_dir/two.patch"

start 100 30 -n off -a on-request -s workspace-write
wait_socket
# Nobody answers: a prompt would make this time out.
submit --patch "$e2e_dir/one.patch" >"$e2e_dir/one.out" 2>&1 || fail "inside the roots: $(cat "$e2e_dir/one.out")"
[ "$(cat "$e2e_dir/ws/one.txt")" = one ] || fail "the patch inside the roots was not applied"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
t kill-server >/dev/null 2>&1
rm -rf "$XDG_RUNTIME_DIR" && mkdir -m 700 "$XDG_RUNTIME_DIR"

start 100 30 -n off -a on-request -s read-only
wait_socket
submit --patch "$e2e_dir/two.patch" >"$e2e_dir/two.out" 2>&1 &
two=$!
wait_for "Apply file changes?"
wait_armed
t send-keys -t e2e n
wait "$two"
rc=$?
[ "$rc" = 126 ] || fail "a refused patch exited $rc, not 126: $(cat "$e2e_dir/two.out")"
[ ! -e "$e2e_dir/ws/two.txt" ] || fail "the refused patch was applied"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
