#!/usr/bin/env bash
# The file-format pages of SPEC 10 are there and complete: airlock-config(5)
# names every key core/config.c accepts, airlock-audit(5) every field
# core/audit.c writes. Then every man page under man/ renders with `man -l`
# with all of groff's warnings on (--warnings=w, groff's -ww) and says
# nothing on stderr, at the 80 columns of a terminal (skipped when man-db or
# groff is not installed).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)

# WORDS... each appear in PAGE as a bold term of their own (.B WORD).
documents() {
	local page=$1 word missing=0
	shift
	for word in "$@"; do
		if ! grep -qE "^\.B ${word}( |\$)" "$src/man/$page"; then
			echo "man/$page does not document $word" >&2
			missing=1
		fi
	done
	return "$missing"
}
keys=$(sed -nE 's/.*\{\.name = "([a-z_]+)".*/\1/p' "$src/core/config.c")
fields=$(sed -nE 's/.*cJSON_Add[A-Za-z]*ToObject\([a-z]+, "([a-z_0-9]+)".*/\1/p;
	s/.*fields\[\] = \{(.*)\};.*/\1/p' "$src/core/audit.c" | tr -d '",' | tr ' ' '\n')
if [ "$(printf '%s\n' $keys | wc -l)" -lt 10 ] || [ "$(printf '%s\n' $fields | wc -l)" -lt 10 ]; then
	echo "found too few config keys or audit fields: the scan of core/ is out of date" >&2
	exit 1
fi
# shellcheck disable=SC2086
documents airlock-config.5 $keys || exit 1
# shellcheck disable=SC2086
documents airlock-audit.5 $fields || exit 1

if ! command -v man >/dev/null 2>&1 || ! command -v groff >/dev/null 2>&1; then
	echo "SKIP: man or groff is not installed (apt-get install man-db groff-base)" >&2
	exit 77
fi

fail=0
for need in airlock.1 airlock-config.5 airlock-audit.5 airlock-rules.5; do
	if [ ! -f "$src/man/$need" ]; then
		echo "man/$need is missing" >&2
		fail=1
	fi
done
for page in "$src"/man/*.[1-8]; do
	name=$(basename "$page")
	err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -l "$page" 2>&1 >"$AIRLOCK_TEST_TMP/out")
	rc=$?
	if [ "$rc" != 0 ] || [ -n "$err" ]; then
		echo "man -l $name (exit $rc):" >&2
		printf '%s\n' "$err" >&2
		fail=1
	fi
	# It rendered something: the NAME section names the page.
	if ! grep -q "^NAME" "$AIRLOCK_TEST_TMP/out" ||
		! grep -q "^ *${name%.*} " "$AIRLOCK_TEST_TMP/out"; then
		echo "man -l $name: no NAME section naming ${name%.*}" >&2
		fail=1
	fi
done
exit "$fail"
