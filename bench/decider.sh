#!/usr/bin/env bash
# The decider's round trip (issue 19): a network request allowed by the
# example decider (man/examples/decider.py) against the same request
# allowed by a rule, 2000 of each; the decider must add under 1 ms at the
# median. The program is built next to airlock (bench/decider-rtt).
set -u
build=$(dirname "${AIRLOCK:-./airlock}")
src=$(cd "$(dirname "$0")/.." && pwd)
exe=$build/bench/decider-rtt
if [ ! -x "$exe" ]; then
	echo "decider-rtt: $exe is not built (run make bench from the build tree)"
	exit 1
fi
if [ ! -x /usr/bin/python3 ]; then
	echo "decider-rtt: /usr/bin/python3 is not installed (the example decider is Python)"
	exit 77
fi
echo "command: $exe 2000 /usr/bin/python3 $src/man/examples/decider.py --host decided.example"
exec "$exe" 2000 /usr/bin/python3 "$src/man/examples/decider.py" --host decided.example
