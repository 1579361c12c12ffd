/*
 * The decider (SPEC section 11): one long-lived program, named by
 * `decider.command` (managed.json, else config.json), that airlock asks
 * about the requests that would otherwise prompt. It speaks JSON lines on
 * its stdin and stdout:
 *
 *   airlock -> {"id":"7","kind":"exec","subject":["git","push"],"cwd":"/w",
 *               "from":"agent","reason":"...","outside":false}
 *   decider -> {"id":"7","decision":"allow|deny|ask","reason":"..."}
 *
 * Answers may come in any order; each names the request it answers. The
 * program is started at the first question and kept. A question not
 * answered within the timeout, a program that exits or closes its stdout,
 * or a line that is not such an answer fails every question outstanding
 * (the caller then treats it as `ask`, or `deny` where no human can
 * answer), and the program is killed (its process group, so what it
 * started goes too); it is started again at the next
 * question, at most once a minute (the first start is not a restart).
 *
 * Nothing blocks: the questions live on a libuv loop. `airlock exec` runs
 * its own loop until the answer comes. Single-threaded: call everything
 * from the loop's thread.
 */
#ifndef AIRLOCK_DECIDER_H
#define AIRLOCK_DECIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* How long an answer may take when the config names no timeout (SPEC 11). */
#define DECIDER_TIMEOUT_MS 2000
/* The shortest gap between two restarts of a program that died. */
#define DECIDER_RESTART_MS 60000
/* The longest answer line taken; a longer one is out of form. */
#define DECIDER_LINE_MAX 65536
/* The longest reason kept from an answer (longer ones are cut). */
#define DECIDER_REASON_MAX 1024

enum decider_verdict {
	DECIDER_ALLOW,
	DECIDER_DENY,
	DECIDER_ASK, /* also every failure: slow, dead or out of form */
};

/* Which program, and how. Everything is copied by decider_new. */
struct decider_spec {
	char *const *argv;   /* ARGC words; argv[0] an absolute path */
	size_t argc;
	unsigned timeout_ms; /* 0: DECIDER_TIMEOUT_MS */
	bool quiet;          /* its stderr goes to /dev/null (the TUI owns the terminal) */
};

/* One question. Everything is borrowed for the call. */
struct decider_query {
	const char *kind; /* "exec", "network", "patch" */
	/* the subject: WORDS (an argv or a file list) as an array, else HOST:PORT */
	char *const *words;
	size_t n_words;
	const char *host;
	unsigned port;
	const char *protocol; /* network: "http", "https", ... (may be NULL) */
	const char *cwd;      /* may be NULL */
	const char *from;     /* "input", "agent", "cli", or NULL */
	const char *reason;   /* why it would prompt; may be NULL */
	int outside;          /* exec: 1 when an allow runs it outside the sandbox, 0 inside; -1: not said */
};

/*
 * The answer: VERDICT, its REASON (the decider's, cleaned to one line of
 * printable UTF-8, or why it failed; never NULL), and FAILED when no answer
 * in form came. Valid during the call only.
 */
typedef void (*decider_cb)(enum decider_verdict verdict, const char *reason, bool failed,
                           void *data);

struct decider;

/* A decider on LOOP for SPEC (copied). Starts nothing yet. */
struct decider *decider_new(uv_loop_t *loop, const struct decider_spec *spec);
/*
 * Kills the program, closes its handles and frees D. Questions still
 * outstanding are dropped without their callbacks (withdraw them first).
 * The loop must run once more for the handles to close.
 */
void decider_free(struct decider *d);

/*
 * Asks Q. CB(DATA) runs once with the answer: later, or before this
 * returns when the question fails at once (the program cannot be started,
 * or died less than a minute after its last restart); then 0 is returned.
 * Otherwise returns the question's id (> 0) for decider_withdraw.
 */
uint64_t decider_ask(struct decider *d, const struct decider_query *q, decider_cb cb, void *data);
/* Forgets question ID: its callback never runs. Returns 0 or -ENOENT. */
int decider_withdraw(struct decider *d, uint64_t id);

/* How many times the program was started (restarts included). */
unsigned decider_starts(const struct decider *d);
/* How many questions are outstanding. */
size_t decider_outstanding(const struct decider *d);

#endif
