/*
 * The agent protocol (SPEC section 8): one JSON object per line, over the
 * TUI's Unix socket. This module only turns lines into structs and structs
 * into lines; it does no I/O. The server (agent-server.c) and the client
 * (`airlock submit`) share it.
 *
 * Requests (client -> server):
 *   {"id":"1","op":"exec","command":["git","push"],"cwd":"/ws",
 *    "sandbox_permissions":"use_default"|"require_escalated",
 *    "justification":"...","prefix_rule":["git","push"]}
 *   {"id":"2","op":"apply_patch","cwd":"/ws","patch":"*** Begin Patch\n..."}
 *   {"id":"3","op":"cancel","target":"1"}
 *   {"id":"4","op":"stdin","target":"1","data":"<base64>"}  (empty data: end of input)
 *   {"id":"5","op":"exec",...,"sandbox_permissions":"with_additional_permissions",
 *    "permissions":{"write":["/abs"],"read":["/abs"],"network":["host:port"]}}
 *   {"id":"6","op":"request_permissions","permissions":{...},"justification":"..."}
 * (SPEC 12: extra permissions, still sandboxed. "permissions" needs at least
 * one entry and goes with with_additional_permissions or request_permissions
 * only; request_permissions ends with its `decision` event.)
 * "id", "op" are required; exec needs "command" and "cwd", apply_patch "cwd"
 * and "patch", cancel "target"; the rest is optional. Unknown and duplicate
 * fields are errors (a typo in "justification" must not pass unseen).
 *
 * Events (server -> client), each with the request's id:
 *   {"id":"1","event":"queued"}
 *   {"id":"1","event":"decision","decision":"approved|approved_for_session|approved_rule|denied"}
 *   {"id":"1","event":"output","stream":"stdout|stderr","data":"<base64>"}
 *   {"id":"1","event":"exit","code":0,"sandboxed":true}
 *   {"id":"1","event":"error","message":"..."}
 * `exit`'s code is the command's exit status, 128+N when signal N killed it.
 * A request ends with exactly one `exit` or `error` event, or with a
 * `decision` of `denied`. An applied patch ends with `exit` code 0 and
 * sandboxed false; a patch that fails ends with `error`. An error about a
 * line whose id could not be read has "id":null.
 */
#ifndef AIRLOCK_PROTOCOL_H
#define AIRLOCK_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest line, newline excluded; a longer one is refused, not buffered. */
#define PROTOCOL_MAX_LINE (1024 * 1024)
/* The longest timeout_ms an exec request may carry: a week. */
#define PROTOCOL_TIMEOUT_MAX_MS 604800000.0

enum protocol_op {
	PROTOCOL_EXEC,
	PROTOCOL_APPLY_PATCH,
	PROTOCOL_CANCEL,
	PROTOCOL_STDIN,
	PROTOCOL_REQUEST_PERMISSIONS,
};

enum protocol_permissions {
	PROTOCOL_USE_DEFAULT,
	PROTOCOL_REQUIRE_ESCALATED,
	PROTOCOL_WITH_ADDITIONAL_PERMISSIONS,
};

/* "permissions": what a request adds, as given (the TUI resolves and checks them). */
struct protocol_additions {
	char **write; /* NULL-terminated absolute paths, or NULL */
	size_t n_write;
	char **read;
	size_t n_read;
	char **network; /* "host:port" */
	size_t n_network;
};

struct protocol_request {
	enum protocol_op op;
	char *id;       /* never NULL after a successful parse */
	char **command; /* exec: NULL-terminated argv */
	size_t n_command;
	char *cwd;                             /* exec, apply_patch: absolute */
	enum protocol_permissions permissions; /* exec */
	char *justification;                   /* exec, or NULL */
	char **prefix_rule;                    /* exec: NULL-terminated, or NULL */
	size_t n_prefix_rule;
	char *patch;  /* apply_patch */
	char *target; /* cancel, stdin: the request it is about */
	bool tty;     /* exec: run on a terminal, not on pipes */
	uint64_t timeout_ms; /* exec: the command's bound (SPEC 12), 0: none */
	unsigned char *data; /* stdin: the bytes (decoded; empty: end of input) */
	size_t data_len;
	struct protocol_additions additions; /* exec (with_additional_permissions),
	                                        request_permissions */
	/*
	 * exec: the streams ("stdout", "stderr": PROTOCOL_STDOUT, PROTOCOL_STDERR)
	 * whose pipes came with the line as descriptors (SCM_RIGHTS), in their
	 * order; the command's output on them goes there, not into events.
	 */
	int stdio_fds[2];
	size_t n_stdio_fds;
	/* Not parsed: those descriptors, by stream, as the server received them (-1: none). */
	int stdio_fd[2];
};

/*
 * Parses one LINE (LEN bytes, without its newline) into *REQ (free with
 * protocol_request_free, also after an error). Returns 0, or -EINVAL with
 * *CAUSE (caller frees), exactly one of:
 *   line too long (over 1048576 bytes)
 *   invalid UTF-8 at byte N
 *   not JSON: syntax error at byte N
 *   not a JSON object
 *   a string holds a NUL character (\u0000)
 *   duplicate field "F" at byte N  (F a path such as "command[0].k"; N where
 *                                    the key is given again)
 *   missing field "F"
 *   field "id" must be a non-empty string
 *   field "op" must be a string
 *   unknown op "X" (expected exec, apply_patch, cancel, stdin or request_permissions)
 *   unknown field "F" for op "X"
 *   field "command" must be a non-empty array of strings
 *   field "cwd" must be an absolute path
 *   field "sandbox_permissions" must be "use_default", "require_escalated" or
 *     "with_additional_permissions"
 *   field "justification" must be a string
 *   field "prefix_rule" must be a non-empty array of strings
 *   field "patch" must be a string
 *   field "target" must be a non-empty string
 *   field "tty" must be true or false
 *   field "timeout_ms" must be a whole number of milliseconds from 1 to 604800000
 *   field "data" must be a base64 string
 *   field "stdio_fds" must be an array of "stdout" and "stderr", each at most once
 *   field "permissions" must be an object of "write", "read" and "network"
 *     arrays of strings, with at least one entry
 *   field "permissions.write" must hold absolute paths (also .read)
 *   field "permissions" needs "sandbox_permissions":"with_additional_permissions"
 * After an error, REQ->id holds the line's id when it could be read (for the
 * error event), else NULL.
 */
int protocol_parse(const char *line, size_t len, struct protocol_request *req, char **cause);
void protocol_request_free(struct protocol_request *req);

/* The request as one JSON line, newline included. Caller frees. */
char *protocol_request_format(const struct protocol_request *req);

enum protocol_decision {
	PROTOCOL_APPROVED,
	PROTOCOL_APPROVED_FOR_SESSION,
	PROTOCOL_APPROVED_RULE,
	PROTOCOL_DENIED,
};

enum protocol_stream {
	PROTOCOL_STDOUT,
	PROTOCOL_STDERR,
};

enum protocol_event_kind {
	PROTOCOL_EVENT_QUEUED,
	PROTOCOL_EVENT_DECISION,
	PROTOCOL_EVENT_OUTPUT,
	PROTOCOL_EVENT_EXIT,
	PROTOCOL_EVENT_ERROR,
	PROTOCOL_EVENT_PATCH,
};

/* Event lines, newline included; ID may be NULL ("id":null). Caller frees. */
char *protocol_event_queued(const char *id);
char *protocol_event_decision(const char *id, enum protocol_decision decision);
/* A decision with the REASON a human typed or a policy gave (NULL: none, as above). */
char *protocol_event_decision_reason(const char *id, enum protocol_decision decision,
                                     const char *reason);
/* As above, with the kind a reject policy refused it as (SPEC 12: "rejected":"rules"), or NULL. */
char *protocol_event_decision_rejected(const char *id, enum protocol_decision decision,
                                       const char *reason, const char *rejected);
char *protocol_event_output(const char *id, enum protocol_stream stream, const void *data,
                            size_t len);
char *protocol_event_exit(const char *id, int code, bool sandboxed);
/* An exit that says whether the command ran past its timeout (SPEC 12: "timed_out":true). */
char *protocol_event_exit_timed(const char *id, int code, bool sandboxed, bool timed_out);
char *protocol_event_error(const char *id, const char *message);
/* An error with the exit CODE `airlock submit` should end with (0: none given, 1). */
char *protocol_event_error_code(const char *id, const char *message, int code);

/* One file of an applied patch, for the `patch` event. */
struct protocol_patch_file {
	const char *path;
	int op; /* 0 add, 1 update, 2 delete (enum patch_kind's order) */
	const char *move_to; /* update with a move, or NULL */
};
/* {"event":"patch","files":[{"path","op"[,"move_to"]}]}: what an applied patch changed. */
char *protocol_event_patch(const char *id, const struct protocol_patch_file *files, size_t n);

/* A parsed event (what `airlock submit` reads). */
struct protocol_event {
	enum protocol_event_kind kind;
	char *id; /* or NULL for "id":null */
	enum protocol_decision decision;
	enum protocol_stream stream;
	unsigned char *data; /* output: decoded bytes */
	size_t len;
	int code;
	bool sandboxed;
	bool timed_out; /* exit: it ran past its timeout (SPEC 12) */
	char *message; /* error: its message; patch: "A path\n", "M path\n", "D path\n",
	                  "R from -> to\n" lines */
	char *reason; /* decision: its "reason", or NULL */
};

/*
 * Parses one event LINE into *EV (free with protocol_event_free). Returns 0,
 * or -EINVAL with *CAUSE ("not JSON...", "not a JSON object", "duplicate
 * field...", "unknown event \"X\"", "event \"K\": bad or missing field \"F\"").
 */
int protocol_event_parse(const char *line, size_t len, struct protocol_event *ev, char **cause);
void protocol_event_free(struct protocol_event *ev);

/* The decision's protocol word ("approved", ...). */
const char *protocol_decision_name(enum protocol_decision decision);

/*
 * Base64 (RFC 4648, with padding). Encode: caller frees. Decode: returns the
 * bytes (caller frees, NUL-terminated for convenience) and their length in
 * *OUTLEN, or NULL if TEXT is not base64.
 */
char *protocol_base64_encode(const void *data, size_t len);
unsigned char *protocol_base64_decode(const char *text, size_t len, size_t *outlen);

/*
 * Where a byte stream is cut into lines. Bytes are fed as they arrive; each
 * complete line goes to the callback without its "\n" (and without a "\r"
 * before it). A line longer than MAX is not kept: the callback gets it once
 * with TOO_LONG set (and no bytes), and the rest up to the next "\n" is
 * skipped, so the buffer never holds more than MAX bytes.
 */
struct protocol_splitter {
	char *buf;
	size_t len, cap, max;
	bool skipping; /* inside a line that was too long */
};

typedef void protocol_line_cb(void *arg, const char *line, size_t len, bool too_long);

void protocol_splitter_init(struct protocol_splitter *s, size_t max);
void protocol_splitter_feed(struct protocol_splitter *s, const char *data, size_t len,
                            protocol_line_cb *cb, void *arg);
/* At the end of the stream: delivers a last line that had no "\n". */
void protocol_splitter_finish(struct protocol_splitter *s, protocol_line_cb *cb, void *arg);
void protocol_splitter_free(struct protocol_splitter *s);

/* Whether BUF (LEN bytes) is valid UTF-8; if not, *BAD is the first bad byte. */
bool protocol_utf8_valid(const char *buf, size_t len, size_t *bad);

#endif
