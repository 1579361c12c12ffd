# The managed policy from the command line (SPEC 11), with a root-owned file
# at the compiled-in path inside a private mount namespace (managed-lib.sh):
# what it does not allow is refused with exit 2 naming the managed key, from
# a flag or from config.json; its forbidden rule beats the user's allow rule
# (the line a `p` answer writes); allow_unsandboxed: false keeps an allowed
# command in the sandbox; a file that is not root's alone, a symbolic link
# or a malformed file stops airlock; check and doctor say it is in force.
. "$(dirname "$0")/managed-lib.sh"

home=$managed_dir/home
ws=$managed_dir/ws
mrules=$managed_dir/mrules
mkdir -p "$home/rules" "$ws" "$mrules"
cd "$ws" || fail "cd $ws"

# No managed file: check says so, and nothing is refused.
out=$("$AIRLOCK" check --home "$home" -a never -n on -s danger-full-access -- true) ||
	fail "check without a managed file: exit $?"
case $out in *'"managed":null'*) ;; *) fail "check without a managed file: $out" ;; esac

put_managed '{"allowed_approval_policies": ["on-request", "untrusted"],
 "allowed_network_modes": ["off", "ask"],
 "allow_unsandboxed": false,
 "rules": "'"$mrules"'"}'

# Flags outside the lists: exit 2, naming the flag, the value and the managed key.
expect_refused "-a never" '--ask-for-approval "never"' allowed_approval_policies "$managed" -- \
	exec --home "$home" -a never -- true
expect_refused "check -a never" allowed_approval_policies -- check --home "$home" -a never -- true
expect_refused "the TUI with -a never" allowed_approval_policies -- --home "$home" -a never
expect_refused "-n on" '--network "on"' allowed_network_modes -- exec --home "$home" -n on -- true
expect_refused "--sandbox danger-full-access" '--sandbox "danger-full-access"' allow_unsandboxed -- \
	check --home "$home" --sandbox danger-full-access -- true
expect_refused "--sandbox-policy danger-full-access" --sandbox-policy "not allowed by the managed policy" -- \
	check --home "$home" --sandbox-policy '{"type":"danger-full-access"}' -- true
# config.json values alike.
printf '{"ask_for_approval": "never"}\n' >"$home/config.json"
expect_refused "config never" 'config.json ask_for_approval "never"' allowed_approval_policies -- \
	check --home "$home" -- true
printf '{"network": {"mode": "on"}}\n' >"$home/config.json"
expect_refused "config network on" 'config.json network.mode "on"' allowed_network_modes -- \
	check --home "$home" -- true
rm -f "$home/config.json"
# --help and --version never read it.
"$AIRLOCK" --help >/dev/null || fail "--help under a managed file"

# exec's own default (never) is not the user's choice: it yields to the first allowed policy.
out=$("$AIRLOCK" check --home "$home" -- true) || fail "check under the managed file: exit $?"
case $out in *'"managed":{"file":"'"$managed"'","allow_unsandboxed":false'*) ;;
*) fail "check does not show the managed policy: $out" ;; esac

# A managed forbidden rule beats the user's allow rule, written as a `p` answer writes it.
printf 'prefix_rule(pattern=["git", "push"], decision="forbidden", justification="the team pushes through CI")\n' \
	>"$mrules/team.rules"
chmod 0644 "$mrules/team.rules"
printf 'prefix_rule(pattern=["git", "push"], decision="allow")\n' >"$home/rules/default.rules"
out=$("$AIRLOCK" check --home "$home" -a on-request -- git push origin main) || fail "check git push: exit $?"
case $out in *'"decision":"forbidden"'*'"managed":true'*) ;;
*) fail "the managed forbidden rule did not win over the user's allow rule: $out" ;; esac
"$AIRLOCK" exec --home "$home" -a on-request -- git push origin main >/dev/null 2>&1
rc=$?
[ "$rc" = 126 ] || fail "exec git push under a managed forbidden rule: exit $rc, not 126"

# allow_unsandboxed: false: the user's allow rule no longer runs a command outside.
printf 'prefix_rule(pattern=["ls"], decision="allow")\n' >"$home/rules/default.rules"
out=$("$AIRLOCK" check --home "$home" -a on-request -- ls) || fail "check ls: exit $?"
case $out in *'"decision":"allow","sandboxed":true'*) ;;
*) fail "an allow rule ran outside the sandbox under allow_unsandboxed false: $out" ;; esac

# Its protected paths add to the user's: the sandbox never writes them.
put_managed '{"protected_paths": ["secret.txt"], "rules": "'"$mrules"'"}'
echo kept >"$ws/secret.txt"
"$AIRLOCK" exec --home "$home" -- sh -c 'echo changed >secret.txt' >/dev/null 2>&1
rc=$?
if [ "$rc" = 125 ]; then
	echo "the sandbox cannot run here (exec 125): the protected-path half is skipped" >&2
else
	[ "$(cat "$ws/secret.txt")" = kept ] || fail "a managed protected path was written (exec exit $rc)"
	"$AIRLOCK" exec --home "$home" -- sh -c 'echo changed >other.txt' >/dev/null 2>&1 ||
		fail "exec could not write an unprotected file beside it"
fi

# doctor names it.
"$AIRLOCK" doctor 2>&1 | grep -F "managed policy $managed" >/dev/null ||
	fail "doctor does not name the managed policy"

# Not root's alone: stops, whatever it says.
chmod 0664 "$managed"
expect_refused "a group-writable managed file" "$managed" "writable by its group" -- check --home "$home" -- true
chmod 0644 "$managed"
chown 65534:65534 "$managed"
expect_refused "a user's managed file" "$managed" "owned by uid 65534, not root" -- check --home "$home" -- true
chown 0:0 "$managed"
chmod 0777 "$(dirname "$managed")"
expect_refused "a managed file in a directory others may write" "writable by others" -- check --home "$home" -- true
chmod 0755 "$(dirname "$managed")"
# A symbolic link, even to a root-owned file: stops.
mv "$managed" "$managed_dir/real.json"
ln -s "$managed_dir/real.json" "$managed"
expect_refused "a symlinked managed file" "symbolic link" -- check --home "$home" -- true
rm -f "$managed"
# A managed rules file that is not root's: stops.
put_managed '{"rules": "'"$mrules"'"}'
chown 65534 "$mrules/team.rules"
expect_refused "a user's managed rules file" "team.rules is owned by uid 65534" -- check --home "$home" -- true
chown 0 "$mrules/team.rules"
# Malformed: stops, with the place.
put_managed '{"allowed_network_modes": ["off"], "allow_unsandboxd": false}'
expect_refused "an unknown managed key" "$managed:1:36: unknown key \"allow_unsandboxd\"" -- check --home "$home" -- true
exit 0
