# Patch paths as agents write them (SPEC 5, 8): an absolute path inside the
# workspace and a "../x" that lands inside it apply without a prompt under
# on-request; an absolute path outside the writable roots prompts (n: 126,
# nothing written). `airlock submit --patch` names the files as written.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup
outside=$(mktemp -d /var/tmp/airlock-e2e-patch-XXXXXX)
cleanup_paths() {
	rm -rf "$outside"
	e2e_cleanup
}
trap cleanup_paths EXIT
ws=$e2e_dir/ws
mkdir -p "$ws/sub"
submit_in() {
	local dir=$1
	shift
	(cd "$dir" && timeout 30 env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$AIRLOCK" submit "$@")
}

start 100 30 -n off -a on-request
wait_socket

printf '*** Begin Patch\n*** Add File: %s/abs.txt\n+abs\n*** End Patch\n' "$ws" >"$e2e_dir/abs.patch"
submit_in "$ws/sub" --patch "$e2e_dir/abs.patch" >"$e2e_dir/abs.out" 2>&1 ||
	fail "an absolute path inside the workspace: exit $?: $(cat "$e2e_dir/abs.out")"
[ "$(cat "$ws/abs.txt")" = abs ] || fail "abs.txt not written"
grep -qxF "A $ws/abs.txt" "$e2e_dir/abs.out" || fail "the file line: $(cat "$e2e_dir/abs.out")"

printf '*** Begin Patch\n*** Add File: ../up.txt\n+up\n*** End Patch\n' >"$e2e_dir/up.patch"
submit_in "$ws/sub" --patch "$e2e_dir/up.patch" >"$e2e_dir/up.out" 2>&1 ||
	fail "../x inside the workspace: exit $?: $(cat "$e2e_dir/up.out")"
[ "$(cat "$ws/up.txt")" = up ] || fail "up.txt not written"

printf '*** Begin Patch\n*** Add File: %s/planted\n+x\n*** End Patch\n' "$outside" >"$e2e_dir/out.patch"
submit_in "$ws" --patch "$e2e_dir/out.patch" >"$e2e_dir/out.out" 2>&1 &
pat=$!
wait_for "Apply file changes?"
wait_armed
t send-keys -t e2e n
wait "$pat"
rc=$?
[ "$rc" = 126 ] || fail "a refused patch outside the roots exited $rc: $(cat "$e2e_dir/out.out")"
[ ! -e "$outside/planted" ] || fail "the patch outside the roots was applied"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
