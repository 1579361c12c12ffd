# The session's working directory: a line that is only `cd DIR` moves it
# (the status bar shows it) and the next lines run there, in the sandbox.
. "$(dirname "$0")/tui-lib.sh"

mkdir -p "$e2e_dir/ws/sub"
real_ws=$(cd "$e2e_dir/ws" && pwd -P)
# wait_for_status TEXT: until the status bar (the first row) ends with TEXT.
wait_for_status() {
	local i=0 row
	while [ $i -lt 200 ]; do
		row=$(screen | head -n 1 | sed 's/ *$//')
		case $row in *"$1") return 0 ;; esac
		sleep 0.1
		i=$((i + 1))
	done
	fail "waited for the status bar to end with: $1"
}

start 220 30 -n off
wait_for_status "cwd $real_ws"
t send-keys -t e2e "cd sub" Enter
wait_for_status "cwd $real_ws/sub"
t send-keys -t e2e "pwd" Enter
wait_for "[1] exit 0 ·"
wait_for_line "$real_ws/sub"
t send-keys -t e2e "cd .." Enter
wait_for_status "cwd $real_ws"
t send-keys -t e2e "pwd" Enter
wait_for "[2] exit 0 ·"
wait_for_line "$real_ws"
t send-keys -t e2e C-q
wait_for "AIRLOCK-EXITED 0"
exit 0
