# The managed policy's end-to-end tests (SPEC 11) need a file at the one
# path compiled into airlock (airlock --help names it), owned by root. The
# host's own is never touched: the test re-runs itself in a private mount
# namespace (unshare -m, as root) where an overlay over the nearest existing
# directory above that path takes the test's files; the namespace, and
# everything in it, goes when the test ends. Sourced by tests/e2e/managed-*.sh
# and tests/e2e/tui-managed.sh; sets AIRLOCK, managed (the path) and
# managed_dir (a private scratch directory, root's, 0700).
set -u

AIRLOCK=${AIRLOCK:-$(dirname "${AIRLOCK_SANDBOX_EXE:-/nonexistent/x}")/airlock}
if [ ! -x "$AIRLOCK" ]; then
	echo "SKIP: no airlock binary at $AIRLOCK (set AIRLOCK)" >&2
	exit 77
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: not root: a managed policy file must be root's, and only root can put one where airlock reads it" >&2
	exit 77
fi
managed=$("$AIRLOCK" --help | sed -n 's/^Managed policy: \(\/[^ ]*\) .*/\1/p')
if [ -z "$managed" ]; then
	echo "FAIL: airlock --help names no managed policy file" >&2
	exit 1
fi

if [ -z "${AIRLOCK_MANAGED_NS:-}" ]; then
	if ! unshare -m --propagation private true 2>/dev/null; then
		echo "SKIP: no private mount namespace here (unshare -m fails)" >&2
		exit 77
	fi
	AIRLOCK_MANAGED_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi

managed_dir=$(mktemp -d /tmp/airlock-managed-XXXXXX)
chmod 0700 "$managed_dir"
managed_cleanup() {
	umount -l "$managed_top" 2>/dev/null
	umount -l "$managed_dir/t" 2>/dev/null
	rm -rf "$managed_dir"
}
trap managed_cleanup EXIT

# The overlay's upper layer lives on a tmpfs of our own (overlayfs will not
# take an upper directory on another overlay, as a container's / often is).
mkdir "$managed_dir/t"
mount -t tmpfs -o mode=0755 tmpfs "$managed_dir/t" || {
	echo "SKIP: cannot mount a tmpfs in the private namespace" >&2
	exit 77
}
mkdir -m 0755 "$managed_dir/t/upper" "$managed_dir/t/work"
managed_top=$(dirname "$managed")
while [ ! -d "$managed_top" ]; do managed_top=$(dirname "$managed_top"); done
if ! mount -t overlay overlay \
	-o "lowerdir=$managed_top,upperdir=$managed_dir/t/upper,workdir=$managed_dir/t/work" \
	"$managed_top" 2>"$managed_dir/overlay.err"; then
	echo "SKIP: cannot lay an overlay over $managed_top: $(cat "$managed_dir/overlay.err")" >&2
	exit 77
fi
# The overlay's top takes the upper layer's owner and mode: root's, 0755.
mkdir -p -m 0755 "$(dirname "$managed")"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# put_managed TEXT: writes the managed file as an administrator would (root's, 0644).
put_managed() {
	rm -f "$managed"
	printf '%s\n' "$1" >"$managed"
	chown 0:0 "$managed"
	chmod 0644 "$managed"
}

# expect_refused WHAT WORD... -- ARGS: airlock ARGS exits 2 and says every WORD on stderr.
expect_refused() {
	local what=$1 out rc
	shift
	local words=()
	while [ "$1" != -- ]; do
		words+=("$1")
		shift
	done
	shift
	out=$("$AIRLOCK" "$@" </dev/null 2>&1 >/dev/null)
	rc=$?
	[ "$rc" = 2 ] || fail "$what: exit $rc, not 2 ($out)"
	for w in "${words[@]}"; do
		case $out in *"$w"*) ;; *) fail "$what: the message does not say \"$w\": $out" ;; esac
	done
}
