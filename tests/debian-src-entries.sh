#!/usr/bin/env bash
# vendor/debian-src-entries turns a machine's Debian apt entries into the
# deb-src entries of the private apt state the vendored sources are fetched
# with: one-line sources.list files (a fresh Debian 12 from debootstrap has
# `deb http://deb.debian.org/debian bookworm main`) as well as deb822
# .sources files, with options in brackets, and with a SUITE (libvterm
# comes from trixie) only the release's entries, their suite replaced. The
# one-line form once put the suite where the component goes
# (`deb-src URI bookworm trixie`), so apt found no deb-src entry at all.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
tool=$src/vendor/debian-src-entries
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

mkdir -p "$dir/etc/sources.list.d" "$dir/out" "$dir/out2" "$dir/empty/sources.list.d" "$dir/out3"
cat >"$dir/etc/sources.list" <<'END'
# a comment
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian bookworm main
deb http://security.debian.org/debian-security bookworm-security main
END
cat >"$dir/etc/sources.list.d/extra.list" <<'END'
deb [signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main contrib
deb [ arch=amd64 signed-by=/k.gpg ] http://mirror.example/debian bookworm main
END
cat >"$dir/etc/sources.list.d/debian.sources" <<'END'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
END

"$tool" "$dir/etc" trixie "$dir/out" || fail "no entries written with a suite"
[ "$(cat "$dir/out/sources.list")" = "deb-src http://deb.debian.org/debian trixie main" ] ||
	fail "sources.list with trixie: $(cat "$dir/out/sources.list")"
[ "$(cat "$dir/out/extra.list")" = "deb-src [signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian trixie main contrib
deb-src [ arch=amd64 signed-by=/k.gpg ] http://mirror.example/debian trixie main" ] ||
	fail "options in brackets: $(cat "$dir/out/extra.list")"
[ "$(cat "$dir/out/debian.sources")" = "Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" ] ||
	fail "deb822 with trixie: $(cat "$dir/out/debian.sources")"

"$tool" "$dir/etc" "" "$dir/out2" || fail "no entries written without a suite"
[ "$(cat "$dir/out2/sources.list")" = "deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
deb-src http://security.debian.org/debian-security bookworm-security main" ] ||
	fail "sources.list as it is: $(cat "$dir/out2/sources.list")"
grep -qx "Suites: bookworm-security" "$dir/out2/debian.sources" || fail "deb822 as it is lost a stanza"

if "$tool" "$dir/empty" trixie "$dir/out3"; then
	fail "no apt sources at all was not an error"
fi
exit 0
