#!/usr/bin/env python3
"""An example decider for airlock (airlock(1), DECIDER).

airlock starts a decider once and keeps it. For every request that would
otherwise prompt (or, under `never`, be refused for want of a prompt) it
writes one JSON object on a line to the decider's stdin:

    {"id": "7", "kind": "exec", "subject": ["git", "log"], "cwd": "/w",
     "from": "agent", "reason": "...", "outside": false}

(`subject` is the argv for exec, "HOST:PORT" for network, the file list
for patch; `outside`, for exec, says whether an allow would run the command
outside the sandbox), and reads one line back, in any order, naming the
same id:

    {"id": "7", "decision": "allow" | "deny" | "ask", "reason": "..."}

This one:
  * allows git commands that only read (status, log, diff, show, ...),
    with no global options before the subcommand (`git -c` can run
    programs) and no option that writes a file or runs an external diff,
    when they run in the sandbox (outside it, a human decides);
  * allows network access to the hosts named with --host (an exact name,
    or *.example.org for its subdomains) and denies every other host;
  * asks a human about everything else.

Use it from config.json (or managed.json):

    "decider": {"command": ["/usr/share/doc/airlock/examples/decider.py",
                            "--host", "github.com", "--host", "*.pypi.org"],
                "timeout_ms": 2000}

--log FILE appends every request it receives to FILE, one line each.
"""

import json
import sys

READ_ONLY_GIT = {
    "status", "log", "diff", "show", "rev-parse", "ls-files", "blame",
    "describe", "shortlog", "grep", "cat-file", "ls-tree", "rev-list",
}
# `git branch` only lists with none but these.
BRANCH_LISTING = {"-a", "-r", "-v", "-vv", "--list", "--all", "--remotes",
                  "--show-current", "--no-color", "--color"}
# Options that write files or run programs, whatever the subcommand.
WRITING_OPTIONS = ("--output", "--ext-diff", "--textconv", "--open-files-in-pager",
                   "-O")


def git_reads_only(argv):
    """Whether ARGV is a git command that only reads the repository."""
    if len(argv) < 2 or argv[0].rsplit("/", 1)[-1] != "git":
        return False
    sub, args = argv[1], argv[2:]
    if any(a.startswith(WRITING_OPTIONS) for a in args):
        return False
    if sub == "branch":
        return all(a in BRANCH_LISTING for a in args)
    return sub in READ_ONLY_GIT


def host_listed(host, patterns):
    """Whether HOST is one of PATTERNS (exact, or *.suffix for subdomains)."""
    host = host.lower().rstrip(".")
    for p in patterns:
        p = p.lower()
        if p.startswith("*.") and host.endswith(p[1:]) and host != p[2:]:
            return True
        if host == p:
            return True
    return False


def judge(request, hosts):
    """The (decision, reason) for one REQUEST."""
    kind = request.get("kind")
    subject = request.get("subject")
    if kind == "exec" and isinstance(subject, list):
        if request.get("outside", False):
            return "ask", "it would run outside the sandbox"
        if git_reads_only(subject):
            return "allow", "a git command that only reads"
        return "ask", "not a read-only git command"
    if kind == "network" and isinstance(subject, str):
        host = subject.rsplit(":", 1)[0].strip("[]")
        if host_listed(host, hosts):
            return "allow", f"{host} is on the decider's list"
        return "deny", f"{host} is not on the decider's list of hosts"
    return "ask", "the decider leaves this to a human"


def main():
    hosts, log = [], None
    args = sys.argv[1:]
    while args:
        opt = args.pop(0)
        if opt == "--host" and args:
            hosts.append(args.pop(0))
        elif opt == "--log" and args:
            log = open(args.pop(0), "a", encoding="utf-8")
        else:
            sys.exit(f"decider.py: unknown option {opt}")
    for line in sys.stdin:
        if log is not None:
            log.write(line if line.endswith("\n") else line + "\n")
            log.flush()
        try:
            request = json.loads(line)
            decision, reason = judge(request, hosts)
            answer = {"id": request["id"], "decision": decision, "reason": reason}
        except (ValueError, KeyError, TypeError):
            continue  # not a request: nothing to answer
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
