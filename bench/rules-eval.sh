#!/usr/bin/env bash
# Rules evaluation speed (issue 3): 10,000 prefix rules, 10,000 commands;
# the median time to decide one command must stay under 5 microseconds.
# The program is built next to airlock (bench/rules-eval in the build tree).
set -u
build=$(dirname "${AIRLOCK:-./airlock}")
exe=$build/bench/rules-eval
if [ ! -x "$exe" ]; then
	echo "rules-eval: $exe is not built (run make bench from the build tree)"
	exit 1
fi
echo "command: $exe 10000 10000 20"
exec "$exe" 10000 10000 20
