# The managed rules are checked again whenever they are read again (SPEC 11),
# here in the running TUI: the administrator's rules directory holds a
# forbidden rule; its file swapped for a user's (allowing everything) is not
# read: the status bar says the rules are broken, the forbidden rule still
# refuses, and nothing of the swapped file allows anything; put right by
# root, it is read again and the mark goes. The managed file is root's at the
# compiled-in path in a private mount namespace (managed-lib.sh).
. "$(dirname "$0")/managed-lib.sh"
. "$(dirname "$0")/tui-lib.sh"
# Both libraries clean up on exit: the managed namespace's files, then the TUI's.
trap 'rc=$?; managed_cleanup; (exit $rc); e2e_cleanup' EXIT

mrules=$managed_dir/rules
mkdir -m 0755 "$mrules"
good='prefix_rule(pattern=["echo", "nope"], decision="forbidden", justification="not on this team")'
# root_file FILE TEXT / user_file FILE TEXT: writes TEXT to FILE as root's, or as a user's (0644).
root_file() { printf '%s\n' "$2" >"$1" && chown 0:0 "$1" && chmod 0644 "$1"; }
user_file() { printf '%s\n' "$2" >"$1" && chown 65534:65534 "$1" && chmod 0644 "$1"; }
root_file "$mrules/team.rules" "$good"
put_managed "{\"rules\": \"$mrules\"}"

start 150 30 -n off -a on-failure
wait_for "managed"
t send-keys -t e2e "echo nope one" Enter
wait_for "not on this team"
[ "$(screen | grep -cF 'not on this team')" -ge 1 ] || fail "the managed rule did not refuse"
screen | grep -qF "rules broken" && fail "the status bar says broken before anything broke"

# Swapped (renamed over it) for a user's file that would allow it.
user_file "$mrules/.swap" 'prefix_rule(pattern=["echo"], decision="allow")'
mv "$mrules/.swap" "$mrules/team.rules"
wait_for "rules broken" 5
t send-keys -t e2e "echo nope two" Enter
wait_for "[2] "
sleep 1
screen | grep -F "[2] denied" | grep -qF "echo nope two" ||
	fail "the last good managed rule no longer refused after the swap"
[ "$(screen | grep -cF 'not on this team')" -ge 2 ] ||
	fail "the last good managed rule no longer refused after the swap"
screen | grep -qx "nope two" && fail "the swapped file allowed echo nope two"

# Put right by root: read again, the mark goes.
root_file "$mrules/.swap" "$good"
mv "$mrules/.swap" "$mrules/team.rules"
i=0
while screen | grep -qF "rules broken"; do
	i=$((i + 1))
	[ $i -lt 50 ] || fail "the mark stayed after the file was put right"
	sleep 0.1
done
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
