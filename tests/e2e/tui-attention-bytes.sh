# Attention in the bytes the TUI writes (SPEC 11). tmux turns a BEL into a
# window flag (tui-attention.sh) but shows nothing of an OSC 9 notification,
# so here the raw output of the pane is captured (tmux pipe-pane) and counted:
# with `attention: osc9` each new prompt writes ESC ] 9 ; ... ST once and no
# BEL; with `bell` (also the default, config.json without the key) one BEL
# each and no OSC 9; with `none` neither.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup
# agent WORD: `airlock submit -- touch WORD` in the background; its pid in $agent_pid.
agent() {
	(cd "$e2e_dir/ws" && exec env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" "$AIRLOCK" submit -- \
		touch "$1" >"$e2e_dir/$1.out" 2>&1) &
	agent_pid=$!
}
# count_osc9 FILE / count_bel FILE: how many OSC 9 sequences, how many BEL bytes.
count_osc9() { LC_ALL=C grep -aoF $'\033]9;airlock: a prompt waits for your answer\033\\' "$1" | wc -l; }
count_bel() { LC_ALL=C tr -cd '\007' <"$1" | wc -c; }

# two_prompts MODE: airlock with attention MODE ("" for no key), two prompts
# coming one after the other, then gone; the raw output in $e2e_dir/raw-MODE.
two_prompts() {
	local mode=$1 raw="$e2e_dir/raw-${1:-default}" a b
	t kill-server >/dev/null 2>&1
	if [ -n "$mode" ]; then
		printf '{"attention": "%s"}\n' "$mode" >"$e2e_home/config.json"
	else
		printf '{}\n' >"$e2e_home/config.json"
	fi
	start 100 30 -a untrusted -n off
	wait_socket
	: >"$raw"
	t pipe-pane -t e2e "cat >>'$raw'" || fail "tmux pipe-pane"
	sleep 0.5
	agent "first-${mode:-default}"
	a=$agent_pid
	wait_for "touch first-${mode:-default}"
	wait_for "prompts 0"
	sleep 0.5
	agent "second-${mode:-default}"
	b=$agent_pid
	wait_for "prompts 1"
	sleep 0.5
	kill -9 "$b" "$a"
	wait "$a" "$b" 2>/dev/null
	until ! screen | grep -qF "touch first-${mode:-default} (requested"; do sleep 0.1; done
	sleep 0.5
	t pipe-pane -t e2e
	t send-keys -t e2e C-q
	wait_for "AIRLOCK-EXITED 0"
	echo "attention ${mode:-(default)}: $(count_osc9 "$raw") OSC 9, $(count_bel "$raw") BEL" >&2
}

two_prompts osc9
[ "$(count_osc9 "$e2e_dir/raw-osc9")" = 2 ] || fail "osc9: not one OSC 9 per prompt"
[ "$(count_bel "$e2e_dir/raw-osc9")" = 0 ] || fail "osc9: a BEL rang too"

two_prompts bell
[ "$(count_bel "$e2e_dir/raw-bell")" = 2 ] || fail "bell: not one BEL per prompt"
[ "$(count_osc9 "$e2e_dir/raw-bell")" = 0 ] || fail "bell: an OSC 9 too"

two_prompts ""
[ "$(count_bel "$e2e_dir/raw-default")" = 2 ] || fail "default: not one BEL per prompt"
[ "$(count_osc9 "$e2e_dir/raw-default")" = 0 ] || fail "default: an OSC 9 too"

two_prompts none
[ "$(count_bel "$e2e_dir/raw-none")" = 0 ] || fail "none: a BEL rang"
[ "$(count_osc9 "$e2e_dir/raw-none")" = 0 ] || fail "none: an OSC 9 was sent"
exit 0
