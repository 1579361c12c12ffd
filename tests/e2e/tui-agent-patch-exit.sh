# `airlock submit --patch` against the real TUI (SPEC 1, 8): 0 when applied,
# printing one line per file (A, M, D, R); 1 when it does not apply (the
# message names the file and the hunk); 126 when policy refuses it (a
# protected path); 2 when it is malformed. Every patch decision is an audit
# line and a pane (SPEC 5): the applied one lists its files there, the
# refused one says why, the one that does not apply says so.
. "$(dirname "$0")/tui-lib.sh"

e2e_agent_setup
ws=$e2e_dir/ws
printf 'one\ntwo\nthree\n' >"$ws/m.txt"
printf 'gone\n' >"$ws/d.txt"
printf 'moving\n' >"$ws/r.txt"

start 100 30 -n off -a never
wait_socket

cat >"$e2e_dir/ok.patch" <<'EOF'
*** Begin Patch
*** Add File: a.txt
+added
*** Update File: m.txt
@@
 one
-two
+TWO
*** Delete File: d.txt
*** Update File: r.txt
*** Move to: r2.txt
@@
-moving
+moved
*** End Patch
EOF
submit --patch "$e2e_dir/ok.patch" >"$e2e_dir/ok.out" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "an applying patch exited $rc: $(cat "$e2e_dir/ok.out")"
printf 'A a.txt\nM m.txt\nD d.txt\nR r.txt -> r2.txt\n' | sort >"$e2e_dir/want"
sort "$e2e_dir/ok.out" | diff "$e2e_dir/want" - || fail "the file lines: $(cat "$e2e_dir/ok.out")"
[ "$(cat "$ws/m.txt")" = "$(printf 'one\nTWO\nthree')" ] || fail "m.txt: $(cat "$ws/m.txt")"
[ ! -e "$ws/d.txt" ] && [ ! -e "$ws/r.txt" ] && [ "$(cat "$ws/r2.txt")" = moved ] || fail "tree"
wait_for "[1] exit 0 ·"
wait_for "· apply_patch a"
wait_for "R r.txt -> r2.txt"

printf '*** Begin Patch\n*** Update File: m.txt\n@@\n-nowhere\n+x\n*** End Patch\n' >"$e2e_dir/no.patch"
submit --patch "$e2e_dir/no.patch" >"$e2e_dir/no.out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "a patch that does not apply exited $rc: $(cat "$e2e_dir/no.out")"
grep -q "m.txt: hunk 1" "$e2e_dir/no.out" || fail "no file and hunk named: $(cat "$e2e_dir/no.out")"
wait_for "[2] exit 1 ·"
wait_for "the patch does not apply: "

printf '*** Begin Patch\n*** Add File: .envrc\n+export X=1\n*** End Patch\n' >"$e2e_dir/prot.patch"
submit --patch "$e2e_dir/prot.patch" >"$e2e_dir/prot.out" 2>&1
rc=$?
[ "$rc" = 126 ] || fail "a patch to a protected path exited $rc: $(cat "$e2e_dir/prot.out")"
[ ! -e "$ws/.envrc" ] || fail "the protected path was written"
grep -q "envrc" "$e2e_dir/prot.out" || fail "the refusal does not say why: $(cat "$e2e_dir/prot.out")"
# A refusal is a decision: its audit line (by policy, with why) and its pane.
grep '"kind":"patch"' "$e2e_home/audit.jsonl" | grep -F '.envrc' | grep -F '"decision":"deny"' |
	grep -F '"by":"policy"' | grep -q '"reason":"' ||
	fail "no audit line for the refused patch: $(cat "$e2e_home/audit.jsonl")"
wait_for "[3] denied ·"
wait_for "denied by policy: "

printf 'not a patch\n' >"$e2e_dir/bad.patch"
submit --patch "$e2e_dir/bad.patch" >"$e2e_dir/bad.out" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "a malformed patch exited $rc: $(cat "$e2e_dir/bad.out")"

t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
