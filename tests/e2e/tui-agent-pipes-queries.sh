# A command on pipes (an agent's, SPEC 8) gets its stdin from the agent
# alone: what its output asks of a terminal (ESC [ c, ESC [ 6 n, ESC [ > c,
# ESC [ 5 n) is shown in its pane, but the emulator's answers (7 bytes for
# ESC [ c) never reach the command. They went to its stdin, so cat echoed
# them back and an agent's bytes came back changed (tui-agent-pipes' 1 MiB
# of random bytes holds such a query in about one run in five).
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup 30

start 100 30 -n off -a never
wait_socket

printf 'one\033[ctwo\033[6nthree\033[>cfour\033[5nfive\n' >"$e2e_dir/in.bin"
# Its stdin stays open a while after the queries (as the 1 MiB's does while it flows).
{ cat "$e2e_dir/in.bin"; sleep 1; } | submit -- cat >"$e2e_dir/out.bin" ||
	fail "cat through submit exited $?"
cmp -s "$e2e_dir/in.bin" "$e2e_dir/out.bin" ||
	fail "the queries came back with answers: $(od -c "$e2e_dir/out.bin" | head -5)"
wait_for "onetwothreefourfive"
# A command on a terminal (--tty) still gets the answers, as from any terminal.
printf '%s\n' 'printf "\033[6n"; IFS= read -r -d R reply; printf "got %s\n" "${reply#*[}"' >"$e2e_dir/ws/dsr.sh"
chmod 644 "$e2e_dir/ws/dsr.sh"
submit --tty -- bash dsr.sh </dev/null >"$e2e_dir/tty.out" || fail "the tty command exited $?"
grep -q "got [0-9]*;[0-9]*" "$e2e_dir/tty.out" || fail "no cursor report on a terminal: $(cat "$e2e_dir/tty.out")"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
