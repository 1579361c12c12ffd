#!/usr/bin/env bash
# Every man page under man/ renders with `man -l` with all of groff's
# warnings on (--warnings=w, groff's -ww) and says nothing on stderr, at the
# 80 columns of a terminal; the file-format pages of SPEC 10 are there.
# Skipped when man-db or groff is not installed.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)

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
