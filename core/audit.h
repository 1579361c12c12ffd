/*
 * The audit log (SPEC section 9): one JSON object per line, appended to
 * `$AIRLOCK_HOME/audit.jsonl` when AIRLOCK_HOME is set, else
 * `$XDG_STATE_HOME/airlock/audit.jsonl` (XDG_STATE_HOME defaulting to
 * ~/.local/state). Each line is built with cJSON and written with ONE
 * write(2) on an O_APPEND descriptor (so lines from several processes never
 * interleave); a decision line is fdatasync'd too, and the write returns
 * before the decision it records takes effect (exit lines are not synced:
 * nothing waits on them). A failed write is reported (-errno) and callers
 * fail closed (deny). A write is whole or absent (a failed one is cut
 * back), and every line is valid JSON whatever the bytes it records.
 */
#ifndef AIRLOCK_AUDIT_H
#define AIRLOCK_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum audit_kind {
	AUDIT_EXEC,
	AUDIT_NETWORK,
	AUDIT_PATCH,
	AUDIT_GIT, /* the helper's post-run report on a planted repository (SPEC 3) */
};

enum audit_by {
	AUDIT_BY_RULE,
	AUDIT_BY_SESSION,
	AUDIT_BY_USER,
	AUDIT_BY_POLICY,
	AUDIT_BY_CONFIG,
	AUDIT_BY_DECIDER,   /* the decider program answered (SPEC 11) */
	AUDIT_BY_WITHDRAWN, /* the requester went away while its prompt waited (SPEC 11) */
};

enum audit_scope {
	AUDIT_SCOPE_ONCE,
	AUDIT_SCOPE_SESSION,
	AUDIT_SCOPE_RULE,
};

/* One decision line. Everything is borrowed for the call. */
struct audit_decision {
	enum audit_kind kind;
	/* subject: exec -> argv array; network -> "host:port" string; patch -> paths array */
	char *const *words; /* exec argv / patch paths */
	size_t n_words;
	const char *host; /* network */
	unsigned port;
	const char *protocol; /* network, optional: added as "protocol" */
	bool allow;
	enum audit_by by;
	bool prompted;
	const char *rule; /* "FILE:LINE" or NULL */
	enum audit_scope scope;
	bool sandboxed;  /* exec only */
	size_t requests; /* how many requests this line answers (>= 1) */
	const char *reason; /* the reason a human typed, or why policy refused a network request */
	const char *cwd;  /* exec, patch: the request's working directory */
	const char *from; /* exec, patch: "input", "agent" or "cli" (NULL: "cli") */
	const char *permissions; /* exec: the extra permissions it runs with (SPEC 12), or NULL */
};

struct audit;
struct cJSON;

/* When a decision line reaches the disk (config audit.sync, core/audit-sync.c). */
enum audit_sync {
	AUDIT_SYNC_BATCH,  /* written before the effect; fdatasync'd within a second, and at close */
	AUDIT_SYNC_ALWAYS, /* fdatasync'd before the caller acts */
};

/*
 * The default log path per SPEC 9 from the environment (AIRLOCK_HOME,
 * XDG_STATE_HOME, HOME). Caller frees; NULL if no HOME either.
 */
char *audit_default_path(void);
/* Opens (creating it and its directory, 0700/0600) the log at PATH. Returns NULL with *cause. */
struct audit *audit_open(const char *path, char **cause);
void audit_close(struct audit *a);
/* Sets when decision lines are synced (a new log: AUDIT_SYNC_BATCH). */
void audit_set_sync(struct audit *a, enum audit_sync mode);
/* "batch" or "always" into *OUT; -EINVAL for anything else. */
int audit_sync_parse(const char *name, enum audit_sync *out);
/* The path it writes to. */
const char *audit_path(const struct audit *a);

/*
 * Appends a decision line. Returns 0 or -errno. A NULL A (a log that could
 * not be opened) returns -EBADF: the decision must not take effect.
 */
int audit_decision(struct audit *a, const struct audit_decision *d);
/* Appends an exit line: subject (argv), code, duration_ms, sandboxed. */
int audit_exit(struct audit *a, size_t argc, char *const argv[], int code, uint64_t duration_ms,
               bool sandboxed);

/*
 * Appends a "git" line from REPORT, one JSON line of the sandbox helper's
 * --report-fd ({"ts","kind":"git","path","reason","moved":[...]}), with
 * CWD and FROM added. Returns 0, -EINVAL (not such a line) or -errno.
 */
int audit_git(struct audit *a, const char *report, const char *cwd, const char *from);

/* Makes every string and name in the JSON tree at ITEM (and its siblings) valid UTF-8. */
void audit_json_fix_utf8(struct cJSON *item);

const char *audit_kind_name(enum audit_kind k);
const char *audit_by_name(enum audit_by b);
const char *audit_scope_name(enum audit_scope s);

#endif
