/*
 * The approval queue and the session caches (SPEC section 5): the one place
 * where a request (a command, a network destination, a patch) is decided,
 * by rules, caches, config and policy without a prompt, or by a human in a
 * prompt. Used by the TUI (which draws approval_current() and calls
 * approval_answer()), the network proxy and the agent socket.
 *
 * Nothing here blocks. A requester passes a callback, a free callback and a
 * data pointer (as tmux's confirm prompts do); the callback runs once with
 * the result, then the free callback, either at once (inside
 * approval_request, when no prompt is needed) or later (when the prompt is
 * answered, denied all, or the queue is freed -> denied). Requests with the
 * same key share ONE pending prompt, and its answer reaches every waiter:
 *   exec:    (argv, cwd, sandbox mode)
 *   network: (lower-cased host, protocol, port)
 *   patch:   (the sorted set of absolute paths)
 * Prompts wait in a FIFO; the head is the one shown. The "changed" callback
 * fires whenever the queue changes (so the UI redraws; approval_pending()
 * gives the count for the status bar).
 *
 * Checks before prompting, each an audit line of its own with
 * prompted:false:
 *   exec:    session cache -> decide_command() (rules, safe/dangerous,
 *            policy); a `retry` (on-failure escalation after a denial)
 *            prompts unless an allow rule or the cache covers it;
 *   network: `refuse` (the proxy's own refusal) -> config denied_domains -> deny rule -> session block ->
 *            allow rule -> session allow -> config allowed_domains ->
 *            `prompt` rule or nothing: prompt (never: deny by policy);
 *   patch:   every path approved for the session -> allow; then policy:
 *            untrusted/on-failure prompt; on-request prompts only when
 *            `outside_roots`; never allows inside the roots, denies outside.
 * Exec prompts (SPEC 4 step 4, SPEC 5): one that is not about escalation
 * ("Run it in the sandbox?": untrusted, a `prompt` rule, a dangerous
 * command) runs what it approves in the sandbox; one about escalation or
 * the retry after a denial ("Run outside the sandbox?") runs it outside, and
 * its "No, keep it sandboxed" runs an escalated command in the sandbox
 * (allowed, sandboxed, answer deny) or leaves a retried one as it ran; when
 * the sandboxed run would need an approval of its own that option is a
 * plain "No" that runs nothing. The exec session cache remembers which of
 * the two was approved: outside covers every later run, inside only runs
 * that do not ask for escalation. A forbidden verdict beats any cache.
 * Answers: once; session (cache the key; for patches every path; for
 * network the (host, protocol, port)); rule (exec: append the `p` prefix
 * rule with decision allow; network: network_rule(host, protocol, allow);
 * both to HOME/rules/default.rules, and the in-memory rules at once); deny;
 * deny-and-block (network: deny and block the host (any port, any protocol)
 * for the session); deny-rule (network `b`: deny, and append
 * network_rule(host, decision="deny") to default.rules as `p` does). After a session/rule answer, the other pending prompts
 * that are now covered are resolved without a prompt.
 * One answered prompt = one audit line with `requests` = number of waiters.
 *
 * The decider (approval_config.decider) sits between the checks and the
 * prompt: a request that would prompt waits, unseen, for its answer
 * (joined by equal requests, as a prompt is), then is decided or becomes
 * the prompt. A prompt (or a question to the decider) whose last waiter is
 * withdrawn (approval_cancel: the requester went away) leaves at once, with
 * an audit line `decision: "deny", by: "withdrawn"`.
 *
 * Single-threaded: call everything from the loop thread.
 */
#ifndef AIRLOCK_APPROVAL_H
#define AIRLOCK_APPROVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "decide.h"
#include "policy-permissions.h"
#include "decider.h"
#include "rules.h"

enum approval_kind {
	APPROVAL_EXEC,
	APPROVAL_NETWORK,
	APPROVAL_PATCH,
	APPROVAL_PERMISSIONS, /* request_permissions: extra permissions for a connection (SPEC 12) */
};

/*
 * The kinds of prompt `-a reject:KINDS` and config approval.reject refuse
 * without asking (SPEC 12), as bits of approval_config.reject.
 */
enum approval_reject {
	APPROVAL_REJECT_SANDBOX = 1 << 0, /* escalations, retries outside, extra permissions */
	APPROVAL_REJECT_RULES = 1 << 1,   /* `prompt` rules and dangerous commands */
	APPROVAL_REJECT_PATCHES = 1 << 2, /* patches that would prompt */
	APPROVAL_REJECT_NETWORK = 1 << 3, /* network prompts */
};

/*
 * Parses one kind ("sandbox", "rules", "patches", "network") into *KIND, or
 * a comma-separated list of them into their union. Returns 0 or -EINVAL.
 */
int approval_reject_parse(const char *s, unsigned *kind);
/* The name of one APPROVAL_REJECT_* bit ("rules"). Static. */
const char *approval_reject_name(unsigned kind);

/* What a human can answer (not every kind offers every answer). */
enum approval_answer {
	APPROVAL_ONCE,       /* y */
	APPROVAL_SESSION,    /* a */
	APPROVAL_RULE,       /* p: exec prefix rule / network "always allow HOST" */
	APPROVAL_DENY_BLOCK, /* d: network only, deny and block HOST for the session */
	APPROVAL_DENY,       /* n / esc */
	APPROVAL_WRITE_DIR,  /* w: a retry, sandboxed, with write access to the denied directory */
	APPROVAL_DENY_RULE,  /* b: network only, deny and append a deny network_rule (SPEC 11) */
};

/* A request, as the requester describes it. Everything is copied. */
struct approval_request {
	enum approval_kind kind;
	/* exec */
	size_t argc;
	char *const *argv;
	const char *cwd;
	enum decide_sandbox sandbox;
	bool escalate;             /* asked to run outside the sandbox (require_escalated) */
	bool retry;                /* on-failure: the sandboxed run looked denied; retry outside? */
	const char *justification; /* shown in the prompt; may be NULL */
	char *const *prefix_rule;  /* agent's proposed `p` prefix (NULL-terminated) or NULL */
	/*
	 * exec: extra permissions to run with, still sandboxed (SPEC 12; NULL or
	 * empty: none). A request with any always asks a human (the prompt names
	 * them; its cache key holds them), unless an allow rule runs it outside.
	 * permissions: what request_permissions asks for.
	 */
	const struct policy_permissions *permissions;
	/* exec: extra permissions the requester holds already (request_permissions),
	 * which its sandboxed run gets with no prompt: named in its audit line */
	const struct policy_permissions *held;
	/* exec retry: the directory the denial names, offered as `w` (or NULL) */
	const char *write_dir;
	/* network: destinations granted to the command as extra permissions (or NULL) */
	const struct policy_permissions *grants;
	/* network */
	const char *host;
	const char *protocol; /* "http", "https", ... */
	unsigned port;
	/*
	 * Set by the proxy when it refused the destination itself (an address
	 * of loopback or a private network, SPEC 11), or by a patch's requester
	 * when policy refuses it (a protected path): the reason. Recorded as
	 * deny by policy before any other check; never prompts.
	 */
	const char *refuse;
	/* patch */
	size_t n_paths;
	char *const *paths; /* absolute */
	bool outside_roots; /* some path is outside the writable roots */
	const char *diff;   /* what the prompt shows */
	/*
	 * Set by the queue itself, never by a requester: a managed rule's
	 * `prompt` asks this (SPEC 11), so the prompt offers no session or rule
	 * answer and no session approval passes it.
	 */
	bool managed_bound;
	/* any kind: who asks, as the prompt names it ("typed at the input, pane 3"), or NULL */
	const char *origin;
	/* exec, patch: where it came from, for the audit log: "input", "agent", "cli" (NULL) */
	const char *from;
};

/* What happened to one request. Valid during the callback only. */
struct approval_result {
	bool allowed;
	bool sandboxed;              /* exec: run inside the sandbox */
	bool prompted;               /* a human answered */
	enum approval_answer answer; /* when prompted */
	enum audit_by by;
	enum audit_scope scope;
	const char *rule;   /* "FILE:LINE" of the deciding rule, or NULL */
	const char *reason; /* one sentence */
	const char *typed_reason; /* what the human typed when denying, or NULL */
	const char *write_dir;    /* answer `w`: the directory to add for writing */
	const char *permissions;  /* the extra permissions it runs with, described, or NULL */
	const char *rejected;     /* the kind a reject policy refused it as ("rules"), or NULL */
};

/* The reason of every denial because the audit log cannot be written (compare pointers). */
extern const char approval_audit_failed[];

typedef void (*approval_cb)(const struct approval_result *res, void *data);
typedef void (*approval_free_cb)(void *data);

#define APPROVAL_MAX_OPTIONS 6

/* One numbered option of a prompt (1-based number = index + 1). */
struct approval_option {
	char key; /* 'y', 'a', 'p', 'd', 'b', 'n' */
	enum approval_answer answer;
	char *label; /* formatted, e.g. "Yes, and don't ask again for commands that start with `git
	                push`" */
};

/* A pending prompt, for the UI to draw. Owned by the queue. */
struct approval_prompt {
	uint64_t id;
	enum approval_kind kind;
	char
	    *title; /* "Run outside the sandbox?", "Allow network access?", "Apply file changes?" */
	char *reason;  /* why / the justification ("" if none) */
	char *subject; /* the command line, "HOST:PORT (protocol)", or the file list */
	char *diff;    /* patch: the diff, or NULL */
	char *origin;  /* who asks (the first requester), "" if unknown */
	char *from;    /* "input", "agent" or "cli" (the first requester's) */
	struct approval_option options[APPROVAL_MAX_OPTIONS];
	size_t n_options; /* the last option always denies (esc) */
	size_t n_waiters;
	/* the request (copies) */
	char **argv; /* exec, NULL-terminated */
	size_t argc;
	char *cwd; /* the request's working directory ("" if none was given) */
	enum decide_sandbox sandbox;
	char **prefix; /* exec: the `p` prefix, NULL-terminated, or NULL (no `p` option) */
	size_t prefix_len;
	char *host; /* network */
	char *protocol;
	unsigned port;
	char **paths; /* patch, NULL-terminated */
	size_t n_paths;
	struct policy_permissions permissions; /* exec, permissions: what is added (SPEC 12) */
	char *write_dir;                       /* exec retry: the `w` directory, or NULL */
};

struct approval_config {
	enum decide_approval approval;
	unsigned reject;     /* APPROVAL_REJECT_* kinds refused without a prompt */
	struct rules *rules; /* borrowed; `p` answers amend it; may be NULL */
	const char *home;    /* AIRLOCK_HOME (copied): default.rules lives in HOME/rules */
	struct audit *audit; /* borrowed; NULL: a log that could not be opened (all denied) */
	/* config.json network.allowed_domains / denied_domains ("*.x.org" allowed) */
	const char *const *allowed_domains;
	size_t n_allowed_domains;
	const char *const *denied_domains;
	size_t n_denied_domains;
	/*
	 * The decider (SPEC 11), borrowed, or NULL: asked about every request
	 * that would prompt (or, under never, be refused for want of a prompt)
	 * before a prompt is shown. Its allow/deny decides as a human's "once"
	 * would (by AUDIT_BY_DECIDER, its reason in approval_result.typed_reason);
	 * its ask or a failure shows the prompt, or under never denies.
	 * It must outlive the queue.
	 */
	struct decider *decider;
};

struct approval_queue;

/* Makes a queue; CFG is copied (the rules and audit stay borrowed). */
struct approval_queue *approval_queue_new(const struct approval_config *cfg);
/* Denies every pending request (callbacks run, no audit lines), then frees. */
void approval_queue_free(struct approval_queue *q);
/* CB(DATA) runs after every change of the queue (new prompt, answer, cancel). */
void approval_queue_set_changed(struct approval_queue *q, void (*cb)(void *data), void *data);
/*
 * The answers the session keeps (a, and d for a host), in the order given:
 * approval_session_what() says what answer I covers ("run make (in /ws, in
 * the sandbox)", "reach example.com:443 (https)", "change /ws/x", "block
 * evil.example"), NULL past the end; approval_session_revoke() forgets it
 * (its request asks again, or rules decide it), 0 or -ENOENT.
 */
size_t approval_session_count(const struct approval_queue *q);
const char *approval_session_what(const struct approval_queue *q, size_t i);
int approval_session_revoke(struct approval_queue *q, size_t i);
/*
 * CB(WHERE, DATA) runs for every decision a rule made (WHERE: its
 * "FILE:LINE", as the audit line's rule), before the audit line is written:
 * the TUI's rules view counts hits with it.
 */
void approval_queue_set_rule_hit(struct approval_queue *q,
                                 void (*cb)(const char *where, void *data), void *data);
/* The approval policy for the requests from now on (the TUI's mode switch); prompts shown stay. */
void approval_set_policy(struct approval_queue *q, enum decide_approval approval);

/*
 * Submits REQ. When no prompt is needed, runs CB then FREECB before it
 * returns and returns 0 (DATA must not be used afterwards by the caller
 * unless FREECB keeps it). Otherwise queues (joining a pending prompt with
 * the same key) and returns a waiter id (> 0) for approval_cancel.
 * CB and FREECB may be NULL.
 */
uint64_t approval_request(struct approval_queue *q, const struct approval_request *req,
                          approval_cb cb, approval_free_cb freecb, void *data);
/*
 * Withdraws one waiter: its FREECB runs, its CB does not. A prompt left
 * without waiters goes away, with an audit line (deny, by withdrawn).
 * Returns 0 or -ENOENT.
 */
int approval_cancel(struct approval_queue *q, uint64_t waiter);

/*
 * Whether a network request for HOST over PROTOCOL to PORT would be refused
 * without a prompt by its name alone (network.denied_domains, a deny rule,
 * a session block, or policy never with nothing that allows it). Writes
 * nothing and changes nothing: the proxy asks it so as not to look up a
 * name that is refused anyway (a lookup is itself traffic).
 */
bool approval_network_refused_by_name(const struct approval_queue *q, const char *host,
                                      const char *protocol, unsigned port);

/* The prompt to show (the FIFO's head), or NULL. */
const struct approval_prompt *approval_current(const struct approval_queue *q);
/* How many prompts wait (including the current one). */
size_t approval_pending(const struct approval_queue *q);
/* The Nth pending prompt (0 = current), or NULL. */
const struct approval_prompt *approval_nth(const struct approval_queue *q, size_t n);

/*
 * Answers prompt ID: writes one audit line, updates caches / rules, runs
 * every waiter's callback. Returns 0, -ENOENT (no such prompt) or -EINVAL
 * (ANSWER not offered by that prompt). If amending the rules file fails, the
 * request is still allowed once and -errno is returned after the callbacks.
 */
int approval_answer(struct approval_queue *q, uint64_t id, enum approval_answer answer);
/*
 * As approval_answer(), with the REASON the human typed (may be NULL): it
 * goes to the audit line and to every waiter (approval_result.typed_reason).
 */
int approval_answer_reason(struct approval_queue *q, uint64_t id, enum approval_answer answer,
                           const char *reason);
/* Ctrl-C: denies every pending prompt (one audit line each). */
void approval_deny_all(struct approval_queue *q);

/* Session cache queries (no audit, no prompt). */
bool approval_session_exec_allowed(const struct approval_queue *q, size_t argc, char *const argv[],
                                   const char *cwd, enum decide_sandbox sandbox);
bool approval_session_path_allowed(const struct approval_queue *q, const char *path);

const char *approval_answer_name(enum approval_answer a);

#endif
