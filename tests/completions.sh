#!/usr/bin/env bash
# The bash and zsh completions know every subcommand of SPEC 1 and every
# long option that `airlock --help` and each subcommand's --help print; the
# bash one, loaded into bash, completes subcommands, option values and
# options; the zsh one parses (when zsh is installed).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
AIRLOCK=${AIRLOCK:-$(dirname "${AIRLOCK_SANDBOX_EXE:-/nonexistent/x}")/airlock}
bash_file=$src/completions/airlock
zsh_file=$src/completions/_airlock
fail=0

if [ ! -x "$AIRLOCK" ]; then
	echo "SKIP: no airlock binary at $AIRLOCK (set AIRLOCK)" >&2
	exit 77
fi
for f in "$bash_file" "$zsh_file"; do
	if [ ! -f "$f" ]; then
		echo "missing: $f" >&2
		exit 1
	fi
done

# Each option as a whole word (not a prefix of a longer option).
has_word() {
	grep -qE -- "(^|[^a-z-])$2([^a-z-]|\$)" "$1"
}

for sub in exec check submit rules trust doctor; do
	for f in "$bash_file" "$zsh_file"; do
		if ! has_word "$f" "$sub"; then
			echo "$(basename "$f"): no subcommand $sub" >&2
			fail=1
		fi
	done
done

opts=$( { "$AIRLOCK" --help; for sub in exec check submit rules trust doctor; do
	"$AIRLOCK" "$sub" --help 2>/dev/null; done; } | grep -oE -- '--[a-z][a-z-]+' | sort -u)
[ -n "$opts" ] || { echo "airlock --help printed no options" >&2; exit 1; }
for o in $opts; do
	for f in "$bash_file" "$zsh_file"; do
		if ! has_word "$f" "$o"; then
			echo "$(basename "$f"): no option $o (printed by airlock's --help)" >&2
			fail=1
		fi
	done
done

# The bash completion at work, as bash-completion would call it.
out=$(bash --norc --noprofile -c '
	source "$1" || exit 1
	t() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _airlock; echo "${COMPREPLY[*]}"; }
	t airlock ""
	t airlock exec -n ""
	t airlock -s w
	t airlock exec --no
	t airlock doctor --
	t airlock rules ""
	complete -p airlock
' bash "$bash_file" 2>&1)
want='exec check submit rules trust doctor
off ask on
workspace-write
--no-color
--use-legacy-landlock --help
list remove
complete -o filenames -F _airlock airlock'
if [ "$out" != "$want" ]; then
	echo "bash completion: got:" >&2
	printf '%s\n' "$out" >&2
	echo "want:" >&2
	printf '%s\n' "$want" >&2
	fail=1
fi

if command -v zsh >/dev/null 2>&1 && ! zsh -n "$zsh_file"; then
	echo "zsh -n $zsh_file failed" >&2
	fail=1
fi
exit "$fail"
