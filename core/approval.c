/*
 * The approval queue. A request is first judged without a human (session
 * caches, rules, config, policy: the order is in approval.h); only what is
 * left becomes a pending prompt, keyed so that identical requests share it.
 * Pending prompts form a FIFO; each holds a list of waiters (callback, free
 * callback, data). Answering a prompt detaches it from the FIFO first, then
 * records the answer (caches, rules file, audit line), then resumes every
 * waiter, so a callback may safely submit or answer again.
 *
 * Session caches are small sets of strings (keys), searched linearly: a
 * session holds at most a few hundred answers. Keys are built so that no
 * two different requests share one (every variable part is length-prefixed).
 */
#include "approval.h"

#include "safe-commands.h"
#include "shell-split.h"
#include "proxy.h"
#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* One requester waiting on a prompt. */
struct approval__waiter {
	uint64_t id;
	approval_cb cb;
	approval_free_cb freecb;
	void *data;
	struct approval__waiter *next;
};

/*
 * What an exec prompt runs (SPEC 4 step 4, SPEC 5): a prompt that is not
 * about escalation approves a run in the sandbox; one about escalation (or
 * the retry after a denial) approves a run outside, and its "No" keeps the
 * command sandboxed when a sandboxed run needs no approval of its own.
 */
enum approval__flavor {
	APPROVAL__INSIDE,  /* yes: runs in the sandbox; no: not run */
	APPROVAL__OUTSIDE, /* yes: runs outside; no: not run (sandboxed it would prompt too) */
	APPROVAL__KEEP,    /* yes: runs outside; no: runs (retry: stays) in the sandbox */
};

/* A pending prompt and its waiters. */
struct approval__pending {
	struct approval_prompt prompt;
	char *key;
	struct approval__waiter *waiters; /* in arrival order */
	bool retry;
	bool escalate;
	enum approval__flavor flavor; /* exec */
	bool inside_sandboxed;        /* exec: a run "in the sandbox" is one (not danger-full-access) */
	bool outside_roots;
	bool managed_bound; /* a managed prompt rule asks: no session or rule answer (SPEC 11) */
	struct approval__pending *next;
	/* The decider (SPEC 11): its question while it is asked (q->asking), and the queue. */
	uint64_t ask_id;
	struct approval_queue *q;
};

/* A set of strings. */
struct approval__set {
	char **v;
	size_t n;
};

struct approval_queue {
	struct approval_config cfg;
	char *home;
	char **allowed; /* lower-cased copies of the config domains */
	char **denied;
	struct approval__pending *head;
	struct approval__pending *tail;
	size_t n_pending;
	uint64_t next_id;
	struct approval__set exec_ok;  /* exec keys approved for the session */
	struct approval__set extra_ok; /* exec keys with extra permissions approved (SPEC 12) */
	struct approval__set paths_ok; /* absolute paths approved for the session */
	struct approval__set net_ok;   /* network keys approved for the session */
	struct approval__set blocked;  /* hosts blocked for the session */
	struct approval__grant *grants; /* those answers as the rules view lists them */
	size_t n_grants;
	void (*rule_hit)(const char *where, void *data); /* a rule decided (the rules view's counts) */
	void *rule_hit_data;
	void (*changed)(void *data);
	void *changed_data;
	struct approval__pending *asking; /* waiting for the decider, unseen (SPEC 11) */
	bool by_decider; /* approval_answer_reason answers for the decider, not a human */
};

/* How an option of a prompt is offered. */
struct approval__option_def {
	char key;
	enum approval_answer answer;
	const char *label; /* may hold one %s: the prefix or the host */
	bool needs_prefix; /* offered only when there is a `p` prefix */
};

static const struct approval__option_def approval__exec_options[] = {
    {.key = 'y', .answer = APPROVAL_ONCE, .label = "Yes, run it once"},
    {.key = 'a',
     .answer = APPROVAL_SESSION,
     .label = "Yes, and don't ask again for this command this session"},
    {.key = 'p',
     .answer = APPROVAL_RULE,
     .label = "Yes, and don't ask again for commands that start with `%s`",
     .needs_prefix = true},
    {.key = 'n', .answer = APPROVAL_DENY, .label = "No, keep it sandboxed"},
};

/* An exec prompt whose approval runs the command in the sandbox, or one whose No runs nothing. */
static const struct approval__option_def approval__exec_plain_options[] = {
    {.key = 'y', .answer = APPROVAL_ONCE, .label = "Yes, run it once"},
    {.key = 'a',
     .answer = APPROVAL_SESSION,
     .label = "Yes, and don't ask again for this command this session"},
    {.key = 'p',
     .answer = APPROVAL_RULE,
     .label = "Yes, and don't ask again for commands that start with `%s`",
     .needs_prefix = true},
    {.key = 'n', .answer = APPROVAL_DENY, .label = "No"},
};

/* A command with extra permissions that stays sandboxed (SPEC 12). */
static const struct approval__option_def approval__extra_options[] = {
    {.key = 'y', .answer = APPROVAL_ONCE, .label = "Yes, with these permissions, once"},
    {.key = 'a',
     .answer = APPROVAL_SESSION,
     .label = "Yes, and for this command with these permissions this session"},
    {.key = 'n', .answer = APPROVAL_DENY, .label = "No"},
};

/* request_permissions: additions for the rest of a client's connection. */
static const struct approval__option_def approval__grant_options[] = {
    {.key = 'y',
     .answer = APPROVAL_ONCE,
     .label = "Yes, for this client's later commands, still sandboxed"},
    {.key = 'n', .answer = APPROVAL_DENY, .label = "No"},
};

/* The retry's `w` (offered before its last option when the denial names a directory). */
static const struct approval__option_def approval__write_dir_option = {
    .key = 'w',
    .answer = APPROVAL_WRITE_DIR,
    .label = "Retry with write access to %s, still sandboxed"};

static const struct approval__option_def approval__network_options[] = {
    {.key = 'y', .answer = APPROVAL_ONCE, .label = "Yes, just this once"},
    {.key = 'a', .answer = APPROVAL_SESSION, .label = "Yes, allow %s for this session"},
    {.key = 'p', .answer = APPROVAL_RULE, .label = "Yes, always allow %s"},
    {.key = 'd', .answer = APPROVAL_DENY_BLOCK, .label = "No, and block %s for this session"},
    {.key = 'b', .answer = APPROVAL_DENY_RULE, .label = "No, and always block %s"},
    {.key = 'n', .answer = APPROVAL_DENY, .label = "No"},
};

static const struct approval__option_def approval__patch_options[] = {
    {.key = 'y', .answer = APPROVAL_ONCE, .label = "Yes, apply them"},
    {.key = 'a',
     .answer = APPROVAL_SESSION,
     .label = "Yes, and don't ask again for these files this session"},
    {.key = 'n', .answer = APPROVAL_DENY, .label = "No"},
};

/* Per kind: its title, options and audit kind. */
static const struct {
	const char *title;
	const struct approval__option_def *options;
	size_t n_options;
	enum audit_kind audit;
} approval__kinds[] = {
    [APPROVAL_EXEC] = {.title = "Run outside the sandbox?",
                       .options = approval__exec_options,
                       .n_options = sizeof approval__exec_options / sizeof *approval__exec_options,
                       .audit = AUDIT_EXEC},
    [APPROVAL_NETWORK] = {.title = "Allow network access?",
                          .options = approval__network_options,
                          .n_options =
                              sizeof approval__network_options / sizeof *approval__network_options,
                          .audit = AUDIT_NETWORK},
    [APPROVAL_PATCH] = {.title = "Apply file changes?",
                        .options = approval__patch_options,
                        .n_options =
                            sizeof approval__patch_options / sizeof *approval__patch_options,
                        .audit = AUDIT_PATCH},
    [APPROVAL_PERMISSIONS] = {.title = "Grant extra permissions, still sandboxed?",
                              .options = approval__grant_options,
                              .n_options = sizeof approval__grant_options /
                                           sizeof *approval__grant_options,
                              .audit = AUDIT_EXEC},
};

static const char *const approval__answer_names[] = {
    [APPROVAL_ONCE] = "once", [APPROVAL_SESSION] = "session",
    [APPROVAL_RULE] = "rule", [APPROVAL_DENY_BLOCK] = "deny-block",
    [APPROVAL_DENY] = "deny", [APPROVAL_DENY_RULE] = "deny-rule", [APPROVAL_WRITE_DIR] = "write-dir",
};

/* The name of answer A. */
const char *approval_answer_name(enum approval_answer a)
{
	return (size_t)a < sizeof approval__answer_names / sizeof *approval__answer_names
	           ? approval__answer_names[a]
	           : "?";
}

/* ---- small helpers --------------------------------------------------------- */

/* True when S holds KEY. */
static bool approval__set_has(const struct approval__set *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], key) == 0)
			return true;
	return false;
}

/* Adds KEY to S (once). */
static void approval__set_add(struct approval__set *s, const char *key)
{
	if (approval__set_has(s, key))
		return;
	s->v = xreallocarray(s->v, s->n + 1, sizeof *s->v);
	s->v[s->n++] = xstrdup(key);
}

/* One answer kept for the session (SET's entry KEY), and WHAT it covers as a person reads it. */
struct approval__grant {
	struct approval__set *set;
	char *key;
	char *what;
};

/* Adds KEY to S (once), as an answer the session keeps: WHAT says what it covers. */
static void approval__grant_add(struct approval_queue *q, struct approval__set *s,
                                const char *key, char *what)
{
	if (approval__set_has(s, key)) {
		free(what);
		return;
	}
	approval__set_add(s, key);
	q->grants = xreallocarray(q->grants, q->n_grants + 1, sizeof *q->grants);
	q->grants[q->n_grants++] = (struct approval__grant){.set = s, .key = xstrdup(key),
	                                                    .what = what};
}

/* Frees S's strings. */
static void approval__set_free(struct approval__set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* Appends "LEN:S" to *KEY. */
static void approval__key_add(char **key, const char *s)
{
	char *n = xasprintf("%s%zu:%s", *key, strlen(s), s);

	free(*key);
	*key = n;
}

/* Writes "LEN:S" at W; returns the end (LEN by hand: a printf costs more than most words). */
static char *approval__key_put(char *w, const char *s)
{
	size_t len = strlen(s), n = len, k = 0;
	char digits[24];

	do {
		digits[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	while (k > 0)
		*w++ = digits[--k];
	*w++ = ':';
	memcpy(w, s, len);
	return w + len;
}

/*
 * The exec key of (ARGV, CWD, SANDBOX): "exec|SANDBOX|ARGC|" then "LEN:WORD"
 * for the cwd and each word. Built in one pass, linear in the request's size
 * (a 200k-word argv must not stall the loop).
 */
static char *approval__exec_key(size_t argc, char *const argv[], const char *cwd,
                                enum decide_sandbox sandbox)
{
	const char *dir = cwd != NULL ? cwd : "";
	size_t cap = 64 + strlen(dir) + 24;
	char *key, *w;

	for (size_t i = 0; i < argc; i++)
		cap += strlen(argv[i]) + 24;
	key = xmalloc(cap);
	w = key + sprintf(key, "exec|%d|%zu|", (int)sandbox, argc);
	w = approval__key_put(w, dir);
	for (size_t i = 0; i < argc; i++)
		w = approval__key_put(w, argv[i]);
	*w = '\0';
	return key;
}

/*
 * KEY with "|" and SUFFIX after it, by copying (a key may be megabytes: a
 * printf over it would cost more than the key itself). Caller frees.
 */
static char *approval__key_with(const char *key, const char *suffix)
{
	size_t kl = strlen(key), sl = strlen(suffix);
	char *k = xmalloc(kl + sl + 2);

	memcpy(k, key, kl);
	k[kl] = '|';
	memcpy(k + kl + 1, suffix, sl + 1);
	return k;
}

/* The session cache's entry for an approval of exec KEY to run OUTSIDE the sandbox or in it. */
static char *approval__session_key(const char *key, bool outside)
{
	return approval__key_with(key, outside ? "outside" : "inside");
}

/*
 * Whether the session cache approves exec KEY: an approval to run outside
 * covers any run (*SANDBOXED false), one to run in the sandbox only a run
 * that does not need OUTSIDE (*SANDBOXED true).
 */
static bool approval__exec_cached(const struct approval_queue *q, const char *key, bool outside,
                                  bool *sandboxed)
{
	char *k;
	bool hit;

	*sandboxed = false;
	if (q->exec_ok.n == 0)
		return false;
	k = approval__session_key(key, true);
	hit = approval__set_has(&q->exec_ok, k);
	free(k);
	if (hit || outside)
		return hit;
	k = approval__session_key(key, false);
	hit = approval__set_has(&q->exec_ok, k);
	free(k);
	*sandboxed = hit;
	return hit;
}

/*
 * A lower-cased copy of S (a host, protocol or domain), without one
 * trailing dot: `Host.Example.` is the host `host.example`, so a block or a
 * rule for it is not sidestepped by the spelling.
 */
static char *approval__lower(const char *s)
{
	char *l = xstrdup(s != NULL ? s : "");
	size_t len = strlen(l);

	for (char *p = l; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (len > 1 && l[len - 1] == '.')
		l[len - 1] = '\0';
	return l;
}

/* The network key of (HOST, PROTOCOL, PORT); HOST is lower-cased already. */
static char *approval__net_key(const char *host, const char *protocol, unsigned port)
{
	char *proto = approval__lower(protocol);
	char *key = xasprintf("net|%u|", port);

	approval__key_add(&key, host);
	approval__key_add(&key, proto);
	free(proto);
	return key;
}

/* Orders strings, for qsort. */
static int approval__cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The patch key: its sorted paths. */
static char *approval__patch_key(size_t n, char *const paths[])
{
	char **sorted = xcalloc(n + 1, sizeof *sorted);
	char *key = xasprintf("patch|%zu|", n);

	memcpy(sorted, paths, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, approval__cmp);
	for (size_t i = 0; i < n; i++)
		approval__key_add(&key, sorted[i]);
	free(sorted);
	return key;
}

/* A NULL-terminated copy of N words. */
static char **approval__copy(size_t n, char *const words[])
{
	char **v = xcalloc(n + 1, sizeof *v);

	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(words[i]);
	return v;
}

/* True when one of DOMAINS covers HOST (the forms of proxy_domain_match). */
static bool approval__domains_match(char **domains, const char *host)
{
	for (; domains != NULL && *domains != NULL; domains++)
		if (proxy_domain_match(*domains, host))
			return true;
	return false;
}

/* ---- the queue ------------------------------------------------------------- */

/* Lower-cased NULL-terminated copies of a config domain list. */
static char **approval__domains(const char *const *list, size_t n)
{
	char **v = xcalloc(n + 1, sizeof *v);

	for (size_t i = 0; i < n; i++)
		v[i] = approval__lower(list[i]);
	return v;
}

/* Makes a queue. */
struct approval_queue *approval_queue_new(const struct approval_config *cfg)
{
	struct approval_queue *q = xcalloc(1, sizeof *q);

	q->cfg = *cfg;
	q->home = cfg->home != NULL ? xstrdup(cfg->home) : NULL;
	q->cfg.home = q->home;
	q->allowed = approval__domains(cfg->allowed_domains, cfg->n_allowed_domains);
	q->denied = approval__domains(cfg->denied_domains, cfg->n_denied_domains);
	q->cfg.allowed_domains = NULL;
	q->cfg.denied_domains = NULL;
	q->next_id = 1;
	return q;
}

/* Sets the change callback. */
void approval_queue_set_changed(struct approval_queue *q, void (*cb)(void *data), void *data)
{
	q->changed = cb;
	q->changed_data = data;
}

/* How many answers the session keeps. */
size_t approval_session_count(const struct approval_queue *q)
{
	return q->n_grants;
}

/* What answer I covers, or NULL. */
const char *approval_session_what(const struct approval_queue *q, size_t i)
{
	return i < q->n_grants ? q->grants[i].what : NULL;
}

/* Forgets answer I: its request asks (or is decided by rules) again. */
int approval_session_revoke(struct approval_queue *q, size_t i)
{
	struct approval__grant *g;
	struct approval__set *s;

	if (i >= q->n_grants)
		return -ENOENT;
	g = &q->grants[i];
	s = g->set;
	for (size_t k = 0; k < s->n; k++) {
		if (strcmp(s->v[k], g->key) == 0) {
			free(s->v[k]);
			memmove(&s->v[k], &s->v[k + 1], (s->n - k - 1) * sizeof s->v[0]);
			s->n--;
			break;
		}
	}
	free(g->key);
	free(g->what);
	memmove(g, g + 1, (q->n_grants - i - 1) * sizeof *g);
	q->n_grants--;
	return 0;
}

/* CB(WHERE, DATA) runs for every decision a rule made. */
void approval_queue_set_rule_hit(struct approval_queue *q,
                                 void (*cb)(const char *where, void *data), void *data)
{
	q->rule_hit = cb;
	q->rule_hit_data = data;
}

/* Sets the policy later requests are judged by. */
void approval_set_policy(struct approval_queue *q, enum decide_approval approval)
{
	q->cfg.approval = approval;
}

/* Tells the UI the queue changed. */
static void approval__changed(struct approval_queue *q)
{
	if (q->changed != NULL)
		q->changed(q->changed_data);
}

/* Frees a pending prompt (its waiters must be gone). */
static void approval__pending_free(struct approval__pending *p)
{
	struct approval_prompt *pr = &p->prompt;

	free(pr->title);
	free(pr->reason);
	free(pr->subject);
	free(pr->diff);
	free(pr->origin);
	free(pr->from);
	for (size_t i = 0; i < pr->n_options; i++)
		free(pr->options[i].label);
	shell_split_words_free(pr->argv);
	free(pr->cwd);
	shell_split_words_free(pr->prefix);
	free(pr->host);
	free(pr->protocol);
	shell_split_words_free(pr->paths);
	policy_permissions_free(&pr->permissions);
	free(pr->write_dir);
	free(p->key);
	free(p);
}

/* Detaches P from the FIFO. */
static void approval__unlink(struct approval_queue *q, struct approval__pending *p)
{
	struct approval__pending **pp = &q->head, *prev = NULL;

	for (; *pp != NULL; prev = *pp, pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			if (q->tail == p)
				q->tail = prev;
			q->n_pending--;
			p->next = NULL;
			return;
		}
}

/* Runs every waiter of P with RES and frees them. */
static void approval__resume(struct approval__pending *p, const struct approval_result *res)
{
	struct approval__waiter *w = p->waiters;

	p->waiters = NULL;
	while (w != NULL) {
		struct approval__waiter *next = w->next;

		if (w->cb != NULL)
			w->cb(res, w->data);
		if (w->freecb != NULL)
			w->freecb(w->data);
		free(w);
		w = next;
	}
}

/* Denies everything still pending (no audit), then frees the queue. */
void approval_queue_free(struct approval_queue *q)
{
	struct approval_result res = {
	    .allowed = false,
	    .by = AUDIT_BY_POLICY,
	    .scope = AUDIT_SCOPE_ONCE,
	    .reason = "airlock is shutting down",
	    .answer = APPROVAL_DENY,
	};

	if (q == NULL)
		return;
	q->changed = NULL;
	/* Questions to the decider are withdrawn; their requests are denied like the rest. */
	while (q->asking != NULL) {
		struct approval__pending *p = q->asking;

		q->asking = p->next;
		p->next = NULL;
		if (p->ask_id != 0 && q->cfg.decider != NULL)
			decider_withdraw(q->cfg.decider, p->ask_id);
		approval__resume(p, &res);
		approval__pending_free(p);
	}
	while (q->head != NULL) {
		struct approval__pending *p = q->head;

		approval__unlink(q, p);
		approval__resume(p, &res);
		approval__pending_free(p);
	}
	approval__set_free(&q->exec_ok);
	approval__set_free(&q->extra_ok);
	approval__set_free(&q->paths_ok);
	approval__set_free(&q->net_ok);
	approval__set_free(&q->blocked);
	for (size_t i = 0; i < q->n_grants; i++) {
		free(q->grants[i].key);
		free(q->grants[i].what);
	}
	free(q->grants);
	shell_split_words_free(q->allowed);
	shell_split_words_free(q->denied);
	free(q->home);
	free(q);
}

/* Why a request is denied when its audit line cannot be written (SPEC 9: fail closed). */
const char approval_audit_failed[] =
    "the audit log cannot be written, so nothing that needs a decision runs "
    "(free space or fix its permissions)";

/* The audit line for a decision on REQ-like data. Returns 0 or -errno. */
static int approval__audit(struct approval_queue *q, enum approval_kind kind, size_t n_words,
                           char *const words[], const char *host, const char *protocol,
                           unsigned port, const struct approval_result *res, size_t requests,
                           const char *cwd, const char *from)
{
	struct audit_decision d = {
	    .kind = approval__kinds[kind].audit,
	    .words = words,
	    .n_words = n_words,
	    .host = host,
	    .port = port,
	    .protocol = protocol,
	    .allow = res->allowed,
	    .by = res->by,
	    .prompted = res->prompted,
	    .rule = res->rule,
	    .scope = res->scope,
	    .sandboxed = res->sandboxed,
	    .requests = requests,
	    .permissions = res->permissions,
	    /* What a human typed; else why policy refused a destination (SPEC 11). */
	    .reason = res->typed_reason != NULL ? res->typed_reason
	              : res->rejected != NULL ? res->reason /* which kind was rejected */
	              : (kind == APPROVAL_NETWORK || kind == APPROVAL_PATCH) &&
	                      res->by == AUDIT_BY_POLICY && !res->allowed
	                  ? res->reason
	                  : NULL,
	    .cwd = cwd,
	    .from = from,
	};

	if (res->rule != NULL && q->rule_hit != NULL)
		q->rule_hit(res->rule, q->rule_hit_data);
	return audit_decision(q->cfg.audit, &d);
}

/* Decides REQ without a prompt: audit line, then CB and FREECB. */
static uint64_t approval__finish(struct approval_queue *q, const struct approval_request *req,
                                 struct approval_result *res, approval_cb cb,
                                 approval_free_cb freecb, void *data)
{
	char *host = approval__lower(req->host);
	size_t n = req->kind == APPROVAL_PATCH ? req->n_paths : req->argc;
	char *const *words = req->kind == APPROVAL_PATCH ? req->paths : req->argv;
	/* A sandboxed run with what its requester holds: the audit line names it (SPEC 12). */
	char *held = res->permissions == NULL && res->allowed && res->sandboxed &&
	                     !policy_permissions_empty(req->held)
	                 ? policy_permissions_describe(req->held)
	                 : NULL;

	if (held != NULL)
		res->permissions = held;
	if (approval__audit(q, req->kind, n, words, host, req->protocol, req->port, res, 1, req->cwd,
	                    req->from) != 0 &&
	    res->allowed) {
		res->allowed = false;
		res->reason = approval_audit_failed;
	}
	free(host);
	if (cb != NULL)
		cb(res, data);
	if (freecb != NULL)
		freecb(data);
	if (held != NULL)
		res->permissions = NULL;
	free(held);
	return 0;
}

/* True when PREFIX (N words) may be offered for ARGV. */
static bool approval__prefix_ok(size_t n, char *const prefix[], size_t argc, char *const argv[])
{
	if (n == 0 || n > argc || safe_commands_is_wrapper(prefix[0]) ||
	    (n == 1 && safe_commands_is_interpreter(prefix[0])))
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(prefix[i], argv[i]) != 0 || strchr(prefix[i], '\n') != NULL)
			return false;
	return true;
}

/* LABEL with its "%s" (if any) replaced by ARG. Caller frees. */
static char *approval__subst(const char *label, const char *arg)
{
	const char *at = strstr(label, "%s");

	if (at == NULL)
		return xstrdup(label);
	return xasprintf("%.*s%s%s", (int)(at - label), label, arg != NULL ? arg : "", at + 2);
}

/* Formats option labels of P from its kind's table. */
static void approval__options(struct approval__pending *p, const char *arg)
{
	struct approval_prompt *pr = &p->prompt;
	const struct approval__option_def *defs = approval__kinds[pr->kind].options;
	size_t n = approval__kinds[pr->kind].n_options;

	if (pr->kind == APPROVAL_EXEC && p->flavor != APPROVAL__KEEP) {
		defs = approval__exec_plain_options;
		n = sizeof approval__exec_plain_options / sizeof *approval__exec_plain_options;
	}
	if (pr->kind == APPROVAL_EXEC && !policy_permissions_empty(&pr->permissions)) {
		defs = approval__extra_options;
		n = sizeof approval__extra_options / sizeof *approval__extra_options;
	}
	for (size_t i = 0; i < n; i++) {
		struct approval_option *o;

		if (defs[i].needs_prefix && pr->prefix == NULL)
			continue;
		/* What a managed prompt rule asks is asked every time (SPEC 11). */
		if (p->managed_bound &&
		    (defs[i].answer == APPROVAL_SESSION || defs[i].answer == APPROVAL_RULE))
			continue;
		if (i == n - 1 && pr->write_dir != NULL && pr->n_options < APPROVAL_MAX_OPTIONS - 1) {
			o = &pr->options[pr->n_options++];
			o->key = approval__write_dir_option.key;
			o->answer = approval__write_dir_option.answer;
			o->label = approval__subst(approval__write_dir_option.label, pr->write_dir);
		}
		o = &pr->options[pr->n_options++];
		o->key = defs[i].key;
		o->answer = defs[i].answer;
		o->label = approval__subst(defs[i].label, arg);
	}
}

/* Adds a waiter to P. Returns its id. */
static uint64_t approval__wait(struct approval_queue *q, struct approval__pending *p,
                               approval_cb cb, approval_free_cb freecb, void *data)
{
	struct approval__waiter *w = xcalloc(1, sizeof *w), **pp = &p->waiters;

	w->id = q->next_id++;
	w->cb = cb;
	w->freecb = freecb;
	w->data = data;
	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = w;
	p->prompt.n_waiters++;
	return w->id;
}

/* ---- the decider (SPEC 11) ------------------------------------------------- */

static int approval__audit_prompt(struct approval_queue *q, struct approval__pending *p,
                                  const struct approval_result *res);

/* The decider's name for a kind of request, or NULL for a kind it is not asked about. */
static const char *approval__decider_kind(enum approval_kind k)
{
	switch (k) {
	case APPROVAL_EXEC:
		return "exec";
	case APPROVAL_NETWORK:
		return "network";
	case APPROVAL_PATCH:
		return "patch";
	default:
		return NULL;
	}
}

/* Whether new prompt P goes to the decider before a human. */
static bool approval__decider_asks(const struct approval_queue *q,
                                   const struct approval__pending *p)
{
	return q->cfg.decider != NULL && approval__decider_kind(p->prompt.kind) != NULL;
}

/*
 * Whether a command DR found forbidden goes to the decider all the same:
 * under never, what is refused only for want of a prompt (not by a
 * forbidden rule) is the decider's to judge.
 */
static bool approval__decider_takes(const struct approval_queue *q, const struct decide_result *dr)
{
	return q->cfg.decider != NULL && q->cfg.approval == DECIDE_APPROVAL_NEVER &&
	       !(dr->rule != NULL && dr->rule->decision == RULES_FORBIDDEN);
}

/* Takes P off the decider's list; returns whether it was there. */
static bool approval__asking_unlink(struct approval_queue *q, struct approval__pending *p)
{
	for (struct approval__pending **pp = &q->asking; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			p->next = NULL;
			return true;
		}
	return false;
}

/* Puts P at the FIFO's tail: a prompt from now on. */
static void approval__show(struct approval_queue *q, struct approval__pending *p)
{
	if (q->tail != NULL)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->n_pending++;
}

/*
 * The decider's answer about P: allow or deny decides as a human's "once"
 * or "no" would (by decider); ask or a failure shows the prompt, or under
 * never (no human to ask) refuses.
 */
static void approval__decided(enum decider_verdict v, const char *reason, bool failed, void *data)
{
	struct approval__pending *p = data;
	struct approval_queue *q = p->q;
	struct approval_prompt *pr = &p->prompt;

	approval__asking_unlink(q, p);
	p->ask_id = 0;
	if (!failed && v != DECIDER_ASK) {
		approval__show(q, p);
		q->by_decider = true;
		approval_answer_reason(q, pr->id, v == DECIDER_ALLOW ? APPROVAL_ONCE : APPROVAL_DENY,
		                       reason);
		q->by_decider = false;
		return;
	}
	if (q->cfg.approval == DECIDE_APPROVAL_NEVER) {
		char *why = xasprintf("policy never refuses what would prompt (the decider %s: %s)",
		                      failed ? "failed" : "asks", reason);
		struct approval_result res = {.allowed = false,
		                              .by = AUDIT_BY_POLICY,
		                              .scope = AUDIT_SCOPE_ONCE,
		                              .answer = APPROVAL_DENY,
		                              .reason = why,
		                              .typed_reason = why};

		approval__audit_prompt(q, p, &res);
		approval__resume(p, &res);
		approval__pending_free(p);
		free(why);
		approval__changed(q);
		return;
	}
	/* A human decides; the prompt says what the decider said. */
	char *r = pr->reason[0] != '\0' ? xasprintf("%s; decider: %s", pr->reason, reason)
	                                : xasprintf("decider: %s", reason);
	free(pr->reason);
	pr->reason = r;
	approval__show(q, p);
	approval__changed(q);
}

/*
 * Puts new prompt P (not yet in the FIFO) to the decider with its first
 * waiter; it waits unseen for the answer. Returns the waiter's id, or 0
 * when the answer came at once and the waiter is done.
 */
static uint64_t approval__ask(struct approval_queue *q, struct approval__pending *p,
                              approval_cb cb, approval_free_cb freecb, void *data)
{
	struct approval_prompt *pr = &p->prompt;
	uint64_t id = approval__wait(q, p, cb, freecb, data), pid = pr->id, ask;
	struct decider_query dq = {
	    .kind = approval__decider_kind(pr->kind),
	    .words = pr->kind == APPROVAL_PATCH  ? pr->paths
	             : pr->kind == APPROVAL_EXEC ? pr->argv
	                                         : NULL,
	    .n_words = pr->kind == APPROVAL_PATCH ? pr->n_paths : pr->argc,
	    .host = pr->host,
	    .port = pr->port,
	    .protocol = pr->protocol,
	    .cwd = pr->cwd,
	    .from = pr->from,
	    .reason = pr->reason,
	    /* exec: whether its allow would run the command outside the sandbox */
	    .outside = pr->kind != APPROVAL_EXEC ? -1 : p->flavor != APPROVAL__INSIDE,
	};

	p->q = q;
	p->next = q->asking;
	q->asking = p;
	ask = decider_ask(q->cfg.decider, &dq, approval__decided, p);
	if (ask != 0) {
		p->ask_id = ask;
		return id;
	}
	/* Answered at once: the waiter lives on only if P became a prompt. */
	for (struct approval__pending *f = q->head; f != NULL; f = f->next)
		if (f->prompt.id == pid)
			return id;
	return 0;
}

/* The reject kinds, in the order their bits go (SPEC 12). */
static const char *const approval__reject_names[] = {"sandbox", "rules", "patches", "network"};

int approval_reject_parse(const char *s, unsigned *kind)
{
	const char *p = s;

	*kind = 0;
	for (;;) {
		size_t len = strcspn(p, ","), i;

		for (i = 0; i < sizeof approval__reject_names / sizeof *approval__reject_names; i++)
			if (strlen(approval__reject_names[i]) == len &&
			    strncmp(p, approval__reject_names[i], len) == 0)
				break;
		if (i == sizeof approval__reject_names / sizeof *approval__reject_names)
			return -EINVAL;
		*kind |= 1u << i;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

const char *approval_reject_name(unsigned kind)
{
	for (size_t i = 0; i < sizeof approval__reject_names / sizeof *approval__reject_names; i++)
		if (kind & (1u << i))
			return approval__reject_names[i];
	return "";
}

/*
 * The reject kind (one APPROVAL_REJECT_* bit) that refuses REQ's prompt
 * unasked, or 0. An exec prompt is of kind `rules` when a prompt rule or a
 * dangerous command asks (decided again here, with no escalation), and of
 * kind `sandbox` when it would run the command outside the sandbox; either
 * kind, when rejected, refuses it.
 */
static unsigned approval__rejected(const struct approval_queue *q,
                                   const struct approval_request *req)
{
	unsigned kinds = 0;

	if (q->cfg.reject == 0)
		return 0;
	switch (req->kind) {
	case APPROVAL_EXEC: {
		struct decide_input in = {
		    .argc = req->argc,
		    .argv = req->argv,
		    .cwd = req->cwd,
		    .approval = DECIDE_APPROVAL_ON_REQUEST,
		    .sandbox = req->sandbox,
		    .rules = q->cfg.rules,
		};
		struct decide_result dr;

		if (req->escalate || req->retry || !policy_permissions_empty(req->permissions))
			kinds |= APPROVAL_REJECT_SANDBOX;
		if ((q->cfg.reject & APPROVAL_REJECT_RULES) != 0) {
			decide_command(&in, &dr);
			if (decide_prompts_by_rule(&dr))
				kinds |= APPROVAL_REJECT_RULES;
			decide_result_free(&dr);
		}
		break;
	}
	case APPROVAL_NETWORK:
		kinds = APPROVAL_REJECT_NETWORK;
		break;
	case APPROVAL_PATCH:
		kinds = APPROVAL_REJECT_PATCHES;
		break;
	case APPROVAL_PERMISSIONS:
		kinds = APPROVAL_REJECT_SANDBOX;
		break;
	}
	kinds &= q->cfg.reject;
	return kinds & -kinds; /* the first of them */
}

/*
 * Queues REQ behind KEY (joining an equal pending prompt); an exec prompt
 * runs what it approves as FLAVOR says. Consumes KEY and REASON.
 */
static uint64_t approval__enqueue(struct approval_queue *q, const struct approval_request *req,
                                  char *key, char *reason, char **prefix, size_t prefix_len,
                                  enum approval__flavor flavor, approval_cb cb,
                                  approval_free_cb freecb, void *data)
{
	struct approval__pending *p;
	struct approval_prompt *pr;
	uint64_t id;

	/* No log, no decision: refused at once, never a prompt whose answer could not count. */
	if (q->cfg.audit == NULL) {
		struct approval_result res = {.allowed = false,
		                              .by = AUDIT_BY_POLICY,
		                              .scope = AUDIT_SCOPE_ONCE,
		                              .reason = approval_audit_failed};

		free(key);
		free(reason);
		shell_split_words_free(prefix);
		if (cb != NULL)
			cb(&res, data);
		if (freecb != NULL)
			freecb(data);
		return 0;
	}
	/* A kind of prompt that policy rejects is refused unasked (SPEC 12). */
	unsigned rejected = approval__rejected(q, req);
	if (rejected != 0) {
		struct approval_result res = {.allowed = false,
		                              .by = AUDIT_BY_POLICY,
		                              .scope = AUDIT_SCOPE_ONCE,
		                              .rejected = approval_reject_name(rejected)};
		char *why = xasprintf("rejected by policy (reject:%s): %s", res.rejected, reason);

		res.reason = why;
		free(key);
		free(reason);
		shell_split_words_free(prefix);
		id = approval__finish(q, req, &res, cb, freecb, data);
		free(why);
		return id;
	}
	for (p = q->head; p != NULL; p = p->next)
		if (strcmp(p->key, key) == 0) {
			free(key);
			free(reason);
			shell_split_words_free(prefix);
			id = approval__wait(q, p, cb, freecb, data);
			approval__changed(q);
			return id;
		}
	/* An equal request already put to the decider: wait on its answer too. */
	for (p = q->asking; p != NULL; p = p->next)
		if (strcmp(p->key, key) == 0) {
			free(key);
			free(reason);
			shell_split_words_free(prefix);
			return approval__wait(q, p, cb, freecb, data);
		}
	p = xcalloc(1, sizeof *p);
	pr = &p->prompt;
	p->key = key;
	p->retry = req->retry;
	p->escalate = req->escalate;
	p->outside_roots = req->outside_roots;
	p->managed_bound = req->managed_bound;
	p->flavor = flavor;
	p->inside_sandboxed = req->sandbox != DECIDE_SANDBOX_DANGER_FULL_ACCESS;
	pr->id = q->next_id++;
	pr->kind = req->kind;
	if (req->kind == APPROVAL_EXEC && flavor == APPROVAL__INSIDE)
		pr->title = xstrdup(p->inside_sandboxed ? "Run it in the sandbox?"
		                                         : "Run this command?");
	else
		pr->title = xstrdup(approval__kinds[req->kind].title);
	policy_permissions_copy(&pr->permissions, req->permissions);
	pr->write_dir = req->write_dir != NULL ? xstrdup(req->write_dir) : NULL;
	if (req->kind == APPROVAL_EXEC && !policy_permissions_empty(req->permissions)) {
		free(pr->title);
		pr->title = xstrdup("Run with extra permissions, still sandboxed?");
	}
	pr->reason = reason != NULL ? reason : xstrdup("");
	pr->origin = xstrdup(req->origin != NULL ? req->origin : "");
	pr->cwd = xstrdup(req->cwd != NULL ? req->cwd : "");
	pr->from = xstrdup(req->from != NULL ? req->from : "cli");
	switch (req->kind) {
	case APPROVAL_EXEC: {
		char *joined;

		pr->argv = approval__copy(req->argc, req->argv);
		pr->argc = req->argc;
		pr->sandbox = req->sandbox;
		pr->prefix = prefix;
		pr->prefix_len = prefix_len;
		pr->subject = shell_split_join(req->argc, req->argv);
		joined = prefix != NULL ? shell_split_join(prefix_len, prefix) : NULL;
		approval__options(p, joined);
		free(joined);
		break;
	}
	case APPROVAL_NETWORK:
		pr->host = approval__lower(req->host);
		pr->protocol = approval__lower(req->protocol);
		pr->port = req->port;
		pr->subject = xasprintf("%s:%u (%s)", pr->host, pr->port, pr->protocol);
		approval__options(p, pr->host);
		break;
	case APPROVAL_PATCH: {
		size_t len = 1;

		pr->paths = approval__copy(req->n_paths, req->paths);
		pr->n_paths = req->n_paths;
		for (size_t i = 0; i < req->n_paths; i++)
			len += strlen(req->paths[i]) + 1;
		pr->subject = xcalloc(1, len);
		for (size_t i = 0; i < req->n_paths; i++) {
			if (i > 0)
				strcat(pr->subject, "\n");
			strcat(pr->subject, req->paths[i]);
		}
		pr->diff = req->diff != NULL ? xstrdup(req->diff) : NULL;
		approval__options(p, NULL);
		break;
	}
	case APPROVAL_PERMISSIONS:
		pr->subject = policy_permissions_describe(req->permissions);
		approval__options(p, NULL);
		break;
	}
	/* Before a human, the decider (SPEC 11) is asked, when there is one. */
	if (approval__decider_asks(q, p))
		return approval__ask(q, p, cb, freecb, data);
	if (q->tail != NULL)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->n_pending++;
	id = approval__wait(q, p, cb, freecb, data);
	approval__changed(q);
	return id;
}

/* "FILE:LINE" of RULE into BUF. */
static const char *approval__where(const struct rules_rule *rule, char *buf, size_t size)
{
	if (rule == NULL)
		return NULL;
	snprintf(buf, size, "%s:%u", rule->file, rule->line);
	return buf;
}

/* The key of an exec request with extra permissions: the exec key and the permissions'. */
static char *approval__extra_key(size_t argc, char *const argv[], const char *cwd,
                                 enum decide_sandbox sandbox,
                                 const struct policy_permissions *perms)
{
	char *exec = approval__exec_key(argc, argv, cwd, sandbox);
	char *extra = policy_permissions_key(perms);
	char *key = xasprintf("extra|%s|%s", exec, extra);

	free(exec);
	free(extra);
	return key;
}

/*
 * Judges an exec request with extra permissions (SPEC 12): a forbidden
 * verdict refuses it and an allow rule that runs it outside the sandbox
 * lets it run so; otherwise a human decides (policy never refuses) unless
 * the same command with the same permissions is approved for the session.
 * Approved, it runs in the sandbox with the permissions added.
 */
static uint64_t approval__exec_extra(struct approval_queue *q, const struct approval_request *req,
                                     approval_cb cb, approval_free_cb freecb, void *data)
{
	struct decide_input in = {
	    .argc = req->argc,
	    .argv = req->argv,
	    .cwd = req->cwd,
	    .approval = q->cfg.approval,
	    .sandbox = req->sandbox,
	    .rules = q->cfg.rules,
	};
	struct approval_result res = {.scope = AUDIT_SCOPE_ONCE, .by = AUDIT_BY_POLICY};
	char *described = policy_permissions_describe(req->permissions);
	char where[4096], *key, *reason;
	struct decide_result dr;
	uint64_t id;

	decide_command(&in, &dr);
	key = approval__extra_key(req->argc, req->argv, req->cwd, req->sandbox, req->permissions);
	res.permissions = described;
	if (dr.decision == DECIDE_FORBIDDEN ||
	    (dr.decision == DECIDE_ALLOW && !dr.sandboxed && dr.rule != NULL)) {
		res.allowed = dr.decision == DECIDE_ALLOW;
		res.by = AUDIT_BY_RULE;
		res.scope = AUDIT_SCOPE_RULE;
		res.rule = approval__where(dr.rule, where, sizeof where);
		res.reason = dr.reason;
		res.permissions = NULL; /* outside the sandbox, or not at all */
	} else if (approval__set_has(&q->extra_ok, key)) {
		res.allowed = true;
		res.sandboxed = true;
		res.by = AUDIT_BY_SESSION;
		res.scope = AUDIT_SCOPE_SESSION;
		res.reason = "approved with these permissions for this session";
	} else if (q->cfg.approval == DECIDE_APPROVAL_NEVER) {
		res.reason = "policy never refuses what would prompt (extra permissions)";
	} else {
		/* What else asks about it (a prompt rule, a dangerous command) is said too. */
		const char *why = dr.decision == DECIDE_ALLOW ? NULL : dr.reason;
		const char *just = req->justification != NULL ? req->justification : "";

		reason = xasprintf("Adds %s. The command stays sandboxed.%s%s%s%s%s", described,
		                   just[0] != '\0' ? " " : "", just, why != NULL ? " (" : "",
		                   why != NULL ? why : "", why != NULL ? ")" : "");
		decide_result_free(&dr);
		free(described);
		return approval__enqueue(q, req, key, reason, NULL, 0, APPROVAL__INSIDE, cb, freecb,
		                         data);
	}
	free(key);
	id = approval__finish(q, req, &res, cb, freecb, data);
	decide_result_free(&dr);
	free(described);
	return id;
}

/* Judges request_permissions: a human decides (policy never refuses). */
static uint64_t approval__grant(struct approval_queue *q, const struct approval_request *req,
                                approval_cb cb, approval_free_cb freecb, void *data)
{
	struct approval_result res = {.scope = AUDIT_SCOPE_ONCE, .by = AUDIT_BY_POLICY};
	char *described = policy_permissions_describe(req->permissions), *key, *reason;
	uint64_t id;

	if (q->cfg.approval != DECIDE_APPROVAL_NEVER) {
		char *perm = policy_permissions_key(req->permissions);

		key = xasprintf("grant|%s", perm);
		free(perm);
		reason = req->justification != NULL && req->justification[0] != '\0'
		             ? xasprintf("Adds %s to this client's later commands; they stay "
		                         "sandboxed. %s",
		                         described, req->justification)
		             : xasprintf("Adds %s to this client's later commands; they stay "
		                         "sandboxed.",
		                         described);
		free(described);
		return approval__enqueue(q, req, key, reason, NULL, 0, APPROVAL__INSIDE, cb, freecb,
		                         data);
	}
	res.reason = "policy never refuses what would prompt (extra permissions)";
	res.permissions = described;
	id = approval__finish(q, req, &res, cb, freecb, data);
	free(described);
	return id;
}

/*
 * Whether a managed rule (SPEC 11) forbids or prompts for part of what DR
 * judged: then no session approval and no rule of the user's answers for it.
 */
static bool approval__managed_binds(const struct decide_result *dr)
{
	for (size_t i = 0; i < dr->matches.n; i++)
		if (dr->matches.v[i]->managed && dr->matches.v[i]->decision != RULES_ALLOW)
			return true;
	return false;
}

/* Judges an exec request; queues it when it needs a human. */
static uint64_t approval__exec(struct approval_queue *q, const struct approval_request *req,
                               approval_cb cb, approval_free_cb freecb, void *data)
{
	struct decide_input in = {
	    .argc = req->argc,
	    .argv = req->argv,
	    .cwd = req->cwd,
	    .approval = q->cfg.approval,
	    .sandbox = req->sandbox,
	    .escalate = req->escalate,
	    .rules = q->cfg.rules,
	};
	struct approval_result res = {.scope = AUDIT_SCOPE_ONCE, .by = AUDIT_BY_POLICY};
	struct decide_result dr;
	char where[4096], *key, *pending_key, *reason, **prefix = NULL;
	enum approval__flavor flavor = APPROVAL__INSIDE;
	size_t prefix_len = 0;
	uint64_t id;

	decide_command(&in, &dr);
	res.rule = approval__where(dr.rule, where, sizeof where);
	res.reason = dr.reason;
	key = approval__exec_key(req->argc, req->argv, req->cwd, req->sandbox);
	/*
	 * A forbidden verdict wins over every cache; an approval for the session
	 * to run outside covers every later run of the command, one to run in
	 * the sandbox only a later run that asks for no more.
	 */
	if (dr.decision != DECIDE_FORBIDDEN && (dr.decision != DECIDE_ALLOW || dr.sandboxed) &&
	    !approval__managed_binds(&dr) &&
	    approval__exec_cached(q, key, req->escalate || req->retry, &res.sandboxed)) {
		res.sandboxed = res.sandboxed && req->sandbox != DECIDE_SANDBOX_DANGER_FULL_ACCESS;
		if (!res.sandboxed || req->retry || dr.decision != DECIDE_ALLOW) {
			free(key);
			res.allowed = true;
			res.by = AUDIT_BY_SESSION;
			res.scope = AUDIT_SCOPE_SESSION;
			res.rule = NULL;
			res.reason = "approved for this session";
			id = approval__finish(q, req, &res, cb, freecb, data);
			decide_result_free(&dr);
			return id;
		}
	}
	if ((dr.decision == DECIDE_FORBIDDEN && !approval__decider_takes(q, &dr)) ||
	    (dr.decision == DECIDE_ALLOW && (!dr.sandboxed || !req->retry))) {
		res.allowed = dr.decision == DECIDE_ALLOW;
		res.sandboxed = dr.sandboxed;
		/* By a rule only when the rule itself decided (not policy never on a prompt rule).
		 */
		if (dr.rule != NULL &&
		    dr.rule->decision ==
		        (dr.decision == DECIDE_FORBIDDEN ? RULES_FORBIDDEN : RULES_ALLOW) &&
		    (dr.decision == DECIDE_FORBIDDEN || !dr.sandboxed)) {
			res.by = AUDIT_BY_RULE;
			res.scope = AUDIT_SCOPE_RULE;
		} else {
			res.rule = NULL;
		}
		free(key);
		id = approval__finish(q, req, &res, cb, freecb, data);
		decide_result_free(&dr);
		return id;
	}
	/* A prompt: a retry after a denial, or what decide says needs a human. */
	if (q->cfg.approval == DECIDE_APPROVAL_NEVER && q->cfg.decider == NULL) {
		res.allowed = false;
		res.rule = NULL;
		res.reason = "policy never refuses what would prompt";
		free(key);
		id = approval__finish(q, req, &res, cb, freecb, data);
		decide_result_free(&dr);
		return id;
	}
	if (dr.split.n == 1 && !dr.split.opaque && dr.matches.n == 0) {
		size_t n = 0;

		if (req->prefix_rule != NULL)
			while (req->prefix_rule[n] != NULL)
				n++;
		if (n > 0 && approval__prefix_ok(n, req->prefix_rule, dr.split.cmds[0].argc,
		                                 dr.split.cmds[0].argv)) {
			prefix = approval__copy(n, req->prefix_rule);
			prefix_len = n;
		} else if (dr.prefix != NULL) {
			prefix = dr.prefix;
			prefix_len = dr.prefix_len;
			dr.prefix = NULL;
		}
	}
	if (req->retry)
		reason =
		    xstrdup("the sandboxed run looks denied by the sandbox; retry outside it?");
	else if (req->justification != NULL && req->justification[0] != '\0')
		reason = xasprintf("%s (%s)", req->justification, dr.reason);
	else
		reason = xstrdup(dr.reason);
	/* The prompt a managed rule asks for offers no session or rule answer (SPEC 11). */
	struct approval_request bound = *req;

	bound.managed_bound = approval__managed_binds(&dr);
	decide_result_free(&dr);
	if (req->retry) {
		flavor = APPROVAL__KEEP;
	} else if (req->escalate) {
		/* Its "No" can keep it sandboxed only when a sandboxed run needs no approval. */
		in.escalate = false;
		decide_command(&in, &dr);
		flavor = dr.decision == DECIDE_ALLOW ? APPROVAL__KEEP : APPROVAL__OUTSIDE;
		decide_result_free(&dr);
	}
	/* Prompts that run differently never share an answer. */
	pending_key = approval__key_with(key, flavor == APPROVAL__INSIDE    ? "0"
	                                      : flavor == APPROVAL__OUTSIDE ? "1"
	                                                                    : "2");
	free(key);
	return approval__enqueue(q, &bound, pending_key, reason, prefix, prefix_len, flavor, cb,
	                         freecb, data);
}

/* Whether a network request would be refused by its name alone, with no prompt. */
bool approval_network_refused_by_name(const struct approval_queue *q, const char *host,
                                      const char *protocol, unsigned port)
{
	char *h = approval__lower(host), *key = approval__net_key(h, protocol, port);
	const struct rules_rule *rule;
	bool refused;

	rules_refresh(q->cfg.rules, NULL, NULL);
	rule = rules_match_network_port(q->cfg.rules, h, protocol, port);

	if (approval__domains_match(q->denied, h) ||
	    (rule != NULL && rule->decision == RULES_FORBIDDEN) || approval__set_has(&q->blocked, h))
		refused = true;
	else if ((rule != NULL && rule->decision == RULES_ALLOW) ||
	         approval__set_has(&q->net_ok, key) || approval__domains_match(q->allowed, h))
		refused = false;
	else
		refused = q->cfg.approval == DECIDE_APPROVAL_NEVER ||
		          (q->cfg.reject & APPROVAL_REJECT_NETWORK) != 0;
	/* Under never, a name nothing refuses is the decider's to judge (SPEC 11). */
	if (refused && q->cfg.decider != NULL && q->cfg.approval == DECIDE_APPROVAL_NEVER &&
	    !approval__domains_match(q->denied, h) &&
	    !(rule != NULL && rule->decision == RULES_FORBIDDEN) && !approval__set_has(&q->blocked, h))
		refused = false;
	free(key);
	free(h);
	return refused;
}

/* Judges a network request; queues it when it needs a human. */
static uint64_t approval__network(struct approval_queue *q, const struct approval_request *req,
                                  approval_cb cb, approval_free_cb freecb, void *data)
{
	struct approval_result res = {.scope = AUDIT_SCOPE_ONCE};
	char *host = approval__lower(req->host);
	const struct rules_rule *rule =
	    rules_match_network_port(q->cfg.rules, host, req->protocol, req->port);
	char where[4096], *key = approval__net_key(host, req->protocol, req->port);
	/* A managed prompt rule asks every time: no grant, session or config list passes it. */
	bool bound = rule != NULL && rule->managed && rule->decision == RULES_PROMPT;
	uint64_t id;

	res.rule = approval__where(rule, where, sizeof where);
	if (req->refuse != NULL) {
		res.by = AUDIT_BY_POLICY;
		res.rule = NULL;
		res.reason = req->refuse;
	} else if (approval__domains_match(q->denied, host)) {
		res.by = AUDIT_BY_CONFIG;
		res.rule = NULL;
		res.reason = "the host is in network.denied_domains";
	} else if (rule != NULL && rule->decision == RULES_FORBIDDEN) {
		res.by = AUDIT_BY_RULE;
		res.scope = AUDIT_SCOPE_RULE;
		res.reason = "denied by a network rule";
	} else if (approval__set_has(&q->blocked, host)) {
		res.by = AUDIT_BY_SESSION;
		res.scope = AUDIT_SCOPE_SESSION;
		res.rule = NULL;
		res.reason = "the host is blocked for this session";
	} else if (!bound && policy_permissions_has_host(req->grants, host, req->port)) {
		/* A human granted it to this command as an extra permission (SPEC 12). */
		res.allowed = true;
		res.by = AUDIT_BY_USER;
		res.rule = NULL;
		res.reason = "granted to the command as an extra permission";
	} else if (rule != NULL && rule->decision == RULES_ALLOW) {
		res.allowed = true;
		res.by = AUDIT_BY_RULE;
		res.scope = AUDIT_SCOPE_RULE;
		res.reason = "allowed by a network rule";
	} else if (!bound && approval__set_has(&q->net_ok, key)) {
		res.allowed = true;
		res.by = AUDIT_BY_SESSION;
		res.scope = AUDIT_SCOPE_SESSION;
		res.rule = NULL;
		res.reason = "approved for this session";
	} else if (!bound && approval__domains_match(q->allowed, host)) {
		res.allowed = true;
		res.by = AUDIT_BY_CONFIG;
		res.rule = NULL;
		res.reason = "the host is in network.allowed_domains";
	} else if (q->cfg.approval == DECIDE_APPROVAL_NEVER && q->cfg.decider == NULL) {
		res.by = AUDIT_BY_POLICY;
		res.rule = NULL;
		res.reason = "policy never refuses what would prompt";
	} else {
		char *reason =
		    rule != NULL ? xasprintf("network rule %s asks", where)
		                 : xasprintf("%s wants to reach %s:%u",
		                             req->protocol != NULL ? req->protocol : "a connection",
		                             host, req->port);

		struct approval_request managed_req = *req;

		managed_req.managed_bound = bound;
		free(host);
		return approval__enqueue(q, &managed_req, key, reason, NULL, 0, APPROVAL__INSIDE, cb,
		                         freecb, data);
	}
	free(key);
	free(host);
	id = approval__finish(q, req, &res, cb, freecb, data);
	return id;
}

/* True when every path of a patch is approved for the session. */
static bool approval__paths_ok(const struct approval_queue *q, size_t n, char *const paths[])
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!approval__set_has(&q->paths_ok, paths[i]))
			return false;
	return true;
}

/* Judges a patch request; queues it when it needs a human. */
static uint64_t approval__patch(struct approval_queue *q, const struct approval_request *req,
                                approval_cb cb, approval_free_cb freecb, void *data)
{
	struct approval_result res = {.scope = AUDIT_SCOPE_ONCE, .by = AUDIT_BY_POLICY};
	enum decide_approval a = q->cfg.approval;

	/* Refused by policy before anything else (a protected path): a decision all the same. */
	if (req->refuse != NULL) {
		res.allowed = false;
		res.reason = req->refuse;
		return approval__finish(q, req, &res, cb, freecb, data);
	}
	/* A managed sandbox-only policy (SPEC 11): nothing is written outside the sandbox's
	 * writable roots, whoever would answer. */
	if (req->outside_roots && q->cfg.rules != NULL && rules_sandbox_only(q->cfg.rules)) {
		res.allowed = false;
		res.reason = "the patch writes outside the writable roots, and the managed policy "
		             "runs nothing outside the sandbox";
		return approval__finish(q, req, &res, cb, freecb, data);
	}
	if (approval__paths_ok(q, req->n_paths, req->paths)) {
		res.allowed = true;
		res.by = AUDIT_BY_SESSION;
		res.scope = AUDIT_SCOPE_SESSION;
		res.reason = "every file is approved for this session";
	} else if (a == DECIDE_APPROVAL_NEVER && (!req->outside_roots || q->cfg.decider == NULL)) {
		res.allowed = !req->outside_roots;
		res.reason = req->outside_roots ? "outside the writable roots; policy never refuses"
		                                : "inside the writable roots (policy never)";
	} else if (a == DECIDE_APPROVAL_ON_REQUEST && !req->outside_roots) {
		res.allowed = true;
		res.reason = "inside the writable roots (policy on-request)";
	} else {
		return approval__enqueue(q, req, approval__patch_key(req->n_paths, req->paths),
		                         xstrdup(req->outside_roots
		                                     ? "the patch writes outside the writable roots"
		                                     : "the patch changes files"),
		                         NULL, 0, APPROVAL__INSIDE, cb, freecb, data);
	}
	return approval__finish(q, req, &res, cb, freecb, data);
}

/* Submits a request. */
uint64_t approval_request(struct approval_queue *q, const struct approval_request *req,
                          approval_cb cb, approval_free_cb freecb, void *data)
{
	/* Rules files are read again when they changed (SPEC 6): this decision obeys them. */
	rules_refresh(q->cfg.rules, NULL, NULL);
	switch (req->kind) {
	case APPROVAL_EXEC:
		if (!policy_permissions_empty(req->permissions) && !req->retry)
			return approval__exec_extra(q, req, cb, freecb, data);
		return approval__exec(q, req, cb, freecb, data);
	case APPROVAL_PERMISSIONS:
		return approval__grant(q, req, cb, freecb, data);
	case APPROVAL_NETWORK:
		return approval__network(q, req, cb, freecb, data);
	case APPROVAL_PATCH:
		return approval__patch(q, req, cb, freecb, data);
	}
	return 0;
}

/*
 * P's last requester went away: P leaves the FIFO (or the decider's list,
 * its question withdrawn) at once, with an audit line (SPEC 11).
 */
static void approval__withdraw(struct approval_queue *q, struct approval__pending *p)
{
	static const char why[] = "withdrawn: the requester is gone";
	struct approval_result res = {.allowed = false,
	                              .by = AUDIT_BY_WITHDRAWN,
	                              .scope = AUDIT_SCOPE_ONCE,
	                              .answer = APPROVAL_DENY,
	                              .reason = why,
	                              .typed_reason = why};

	if (approval__asking_unlink(q, p)) {
		if (p->ask_id != 0)
			decider_withdraw(q->cfg.decider, p->ask_id);
	} else {
		approval__unlink(q, p);
	}
	p->prompt.n_waiters = 1; /* the line stands for the one request withdrawn */
	approval__audit_prompt(q, p, &res);
	approval__pending_free(p);
}

/* Withdraws one waiter. */
int approval_cancel(struct approval_queue *q, uint64_t waiter)
{
	for (int list = 0; list < 2; list++) {
		for (struct approval__pending *p = list == 0 ? q->head : q->asking; p != NULL;
		     p = p->next) {
			for (struct approval__waiter **pp = &p->waiters; *pp != NULL;
			     pp = &(*pp)->next) {
				struct approval__waiter *w = *pp;

				if (w->id != waiter)
					continue;
				*pp = w->next;
				p->prompt.n_waiters--;
				if (w->freecb != NULL)
					w->freecb(w->data);
				free(w);
				if (p->waiters == NULL)
					approval__withdraw(q, p);
				approval__changed(q);
				return 0;
			}
		}
	}
	return -ENOENT;
}

/* The head of the FIFO. */
const struct approval_prompt *approval_current(const struct approval_queue *q)
{
	return q->head != NULL ? &q->head->prompt : NULL;
}

/* How many prompts wait. */
size_t approval_pending(const struct approval_queue *q)
{
	return q->n_pending;
}

/* The Nth pending prompt. */
const struct approval_prompt *approval_nth(const struct approval_queue *q, size_t n)
{
	struct approval__pending *p = q->head;

	while (p != NULL && n-- > 0)
		p = p->next;
	return p != NULL ? &p->prompt : NULL;
}

/* The audit line of answered prompt P (one for all its waiters). */
static int approval__audit_prompt(struct approval_queue *q, struct approval__pending *p,
                                  const struct approval_result *res)
{
	const struct approval_prompt *pr = &p->prompt;

	if (pr->kind == APPROVAL_PATCH)
		return approval__audit(q, pr->kind, pr->n_paths, pr->paths, NULL, NULL, 0, res,
		                       pr->n_waiters, pr->cwd, pr->from);
	return approval__audit(q, pr->kind, pr->argc, pr->argv, pr->host, pr->protocol, pr->port,
	                       res, pr->n_waiters, pr->cwd, pr->from);
}

/*
 * After a session or rule answer: resolves, without a prompt, the pending
 * prompts that caches or rules now cover (one audit line per request).
 */
static void approval__recheck(struct approval_queue *q)
{
	struct approval__pending *p = q->head;

	while (p != NULL) {
		struct approval__pending *next = p->next;
		struct approval_prompt *pr = &p->prompt;
		struct approval_result res = {
		    .allowed = true, .scope = AUDIT_SCOPE_SESSION, .by = AUDIT_BY_SESSION};
		char where[4096];
		bool covered = false;

		if (pr->kind == APPROVAL_EXEC && !policy_permissions_empty(&pr->permissions)) {
			char *key = approval__extra_key(pr->argc, pr->argv, pr->cwd, pr->sandbox,
			                                &pr->permissions);

			covered = approval__set_has(&q->extra_ok, key);
			res.sandboxed = true;
			res.reason = "approved with these permissions for this session";
			free(key);
		} else if (pr->kind == APPROVAL_EXEC) {
			char *key = approval__exec_key(pr->argc, pr->argv, pr->cwd, pr->sandbox);
			struct decide_input in = {.argc = pr->argc,
			                          .argv = pr->argv,
			                          .cwd = pr->cwd,
			                          .approval = q->cfg.approval,
			                          .sandbox = pr->sandbox,
			                          .escalate = p->escalate,
			                          .rules = q->cfg.rules};
			struct decide_result dr;

			covered = approval__exec_cached(q, key, p->flavor != APPROVAL__INSIDE,
			                                &res.sandboxed);
			res.sandboxed = res.sandboxed && p->inside_sandboxed;
			res.reason = "approved for this session";
			free(key);
			if (!covered) {
				decide_command(&in, &dr);
				if (dr.decision == DECIDE_ALLOW && !dr.sandboxed &&
				    dr.rule != NULL) {
					covered = true;
					res.by = AUDIT_BY_RULE;
					res.scope = AUDIT_SCOPE_RULE;
					res.rule = approval__where(dr.rule, where, sizeof where);
					res.reason = "allowed by a rule";
				}
				decide_result_free(&dr);
			}
		} else if (pr->kind == APPROVAL_NETWORK) {
			char *key = approval__net_key(pr->host, pr->protocol, pr->port);
			const struct rules_rule *rule =
			    rules_match_network(q->cfg.rules, pr->host, pr->protocol);

			if (approval__set_has(&q->blocked, pr->host)) {
				covered = true;
				res.allowed = false;
				res.reason = "the host is blocked for this session";
			} else if (approval__set_has(&q->net_ok, key)) {
				covered = true;
				res.reason = "approved for this session";
			} else if (rule != NULL && rule->decision != RULES_PROMPT) {
				covered = true;
				res.allowed = rule->decision == RULES_ALLOW;
				res.by = AUDIT_BY_RULE;
				res.scope = AUDIT_SCOPE_RULE;
				res.rule = approval__where(rule, where, sizeof where);
				res.reason = "decided by a network rule";
			}
			free(key);
		} else if (pr->kind == APPROVAL_PATCH) {
			covered = approval__paths_ok(q, pr->n_paths, pr->paths);
			res.reason = "every file is approved for this session";
		}
		if (covered) {
			approval__unlink(q, p);
			/* One line per request passed by the cache or rule. */
			for (size_t i = 0; i < pr->n_waiters; i++)
				if (approval__audit_prompt(q, p, &res) != 0 && res.allowed) {
					res.allowed = false;
					res.reason = approval_audit_failed;
				}
			approval__resume(p, &res);
			approval__pending_free(p);
			next = q->head; /* callbacks may have changed the FIFO */
		}
		p = next;
	}
}

/* Answers prompt ID. */
int approval_answer(struct approval_queue *q, uint64_t id, enum approval_answer answer)
{
	return approval_answer_reason(q, id, answer, NULL);
}

/* Answers prompt ID with the reason the human typed (or NULL). */
int approval_answer_reason(struct approval_queue *q, uint64_t id, enum approval_answer answer,
                           const char *reason)
{
	struct approval__pending *p;
	struct approval_prompt *pr;
	struct approval_result res = {.prompted = !q->by_decider,
	                              .by = q->by_decider ? AUDIT_BY_DECIDER : AUDIT_BY_USER,
	                              .answer = answer,
	                              .typed_reason = reason != NULL && reason[0] != '\0' ? reason
	                                                                                  : NULL};
	bool offered = false, recheck = false;
	char *cause = NULL;
	int rc = 0;

	for (p = q->head; p != NULL; p = p->next)
		if (p->prompt.id == id)
			break;
	if (p == NULL)
		return -ENOENT;
	pr = &p->prompt;
	for (size_t i = 0; i < pr->n_options; i++)
		offered |= pr->options[i].answer == answer;
	if (!offered)
		return -EINVAL;
	approval__unlink(q, p);
	res.allowed = answer == APPROVAL_ONCE || answer == APPROVAL_SESSION ||
	              answer == APPROVAL_RULE || answer == APPROVAL_WRITE_DIR;
	res.sandboxed = pr->kind == APPROVAL_EXEC && p->flavor == APPROVAL__INSIDE && res.allowed &&
	                p->inside_sandboxed;
	/* "No, keep it sandboxed" to an escalation: it runs, in the sandbox. */
	if (pr->kind == APPROVAL_EXEC && p->flavor == APPROVAL__KEEP && !p->retry &&
	    answer == APPROVAL_DENY) {
		res.allowed = true;
		res.sandboxed = p->inside_sandboxed;
	}
	res.scope = answer == APPROVAL_SESSION || answer == APPROVAL_DENY_BLOCK
	                ? AUDIT_SCOPE_SESSION
	            : answer == APPROVAL_RULE || answer == APPROVAL_DENY_RULE ? AUDIT_SCOPE_RULE
	                                      : AUDIT_SCOPE_ONCE;
	res.reason = answer == APPROVAL_DENY && res.allowed ? "escalation denied; it runs in the sandbox"
	             : res.allowed                          ? "approved"
	                                                    : "denied";
	/* Extra permissions (SPEC 12): whatever it was asked as, it runs in the sandbox. */
	char *described = NULL;
	if (res.allowed && !policy_permissions_empty(&pr->permissions)) {
		described = policy_permissions_describe(&pr->permissions);
		res.permissions = described;
		res.sandboxed = pr->kind == APPROVAL_EXEC;
	}
	if (answer == APPROVAL_WRITE_DIR) {
		described = xasprintf("write %s", pr->write_dir);
		res.permissions = described;
		res.write_dir = pr->write_dir;
		res.sandboxed = true;
		res.reason = "approved: a retry in the sandbox with write access to the directory";
	}
	if (answer == APPROVAL_SESSION && !policy_permissions_empty(&pr->permissions)) {
		char *key = approval__extra_key(pr->argc, pr->argv, pr->cwd, pr->sandbox,
		                                &pr->permissions);

		recheck = true;
		char *perms = policy_permissions_describe(&pr->permissions);

		approval__grant_add(q, &q->extra_ok, key,
		                    xasprintf("run %s, adding %s", pr->subject, perms));
		free(perms);
		free(key);
	} else if (answer == APPROVAL_SESSION) {
		recheck = true;
		if (pr->kind == APPROVAL_EXEC) {
			char *key = approval__exec_key(pr->argc, pr->argv, pr->cwd, pr->sandbox);
			char *entry = approval__session_key(key, p->flavor != APPROVAL__INSIDE);

			approval__grant_add(q, &q->exec_ok, entry,
			                    xasprintf("run %s (in %s, %s)", pr->subject,
			                              pr->cwd[0] != '\0' ? pr->cwd : "any directory",
			                              p->flavor != APPROVAL__INSIDE ? "outside the sandbox"
			                                                            : "in the sandbox"));
			free(entry);
			free(key);
		} else if (pr->kind == APPROVAL_NETWORK) {
			char *key = approval__net_key(pr->host, pr->protocol, pr->port);

			approval__grant_add(q, &q->net_ok, key, xasprintf("reach %s", pr->subject));
			free(key);
		} else {
			for (size_t i = 0; i < pr->n_paths; i++)
				approval__grant_add(q, &q->paths_ok, pr->paths[i],
				                    xasprintf("change %s", pr->paths[i]));
		}
	} else if (answer == APPROVAL_RULE) {
		recheck = true;
		if (q->home == NULL)
			rc = -ENOENT;
		else if (pr->kind == APPROVAL_EXEC)
			rc = rules_amend_prefix(q->cfg.rules, q->home, pr->prefix_len, pr->prefix,
			                        RULES_ALLOW, &cause);
		else
			rc = rules_amend_network(q->cfg.rules, q->home, pr->host,
			                         pr->protocol[0] != '\0' ? pr->protocol : NULL,
			                         RULES_ALLOW, &cause);
		if (rc != 0) {
			res.scope = AUDIT_SCOPE_ONCE;
			res.reason = "approved once (the rule could not be saved)";
		}
		free(cause);
	} else if (answer == APPROVAL_DENY_BLOCK) {
		recheck = true;
		approval__grant_add(q, &q->blocked, pr->host, xasprintf("block %s", pr->host));
	} else if (answer == APPROVAL_DENY_RULE) {
		/* `b`: network_rule(host=HOST, decision="deny"), every protocol (SPEC 11). */
		recheck = true;
		rc = q->home == NULL ? -ENOENT
		                     : rules_amend_network(q->cfg.rules, q->home, pr->host, NULL,
		                                           RULES_FORBIDDEN, &cause);
		if (rc != 0) {
			/* Refused all the same; blocked for the session at least. */
			res.scope = AUDIT_SCOPE_SESSION;
			approval__grant_add(q, &q->blocked, pr->host, xasprintf("block %s", pr->host));
		}
		free(cause);
	}
	if (approval__audit_prompt(q, p, &res) != 0 && res.allowed) {
		res.allowed = false;
		res.reason = approval_audit_failed;
	}
	approval__resume(p, &res);
	approval__pending_free(p);
	free(described);
	if (recheck)
		approval__recheck(q);
	approval__changed(q);
	return rc;
}

/* Denies every pending prompt. */
void approval_deny_all(struct approval_queue *q)
{
	while (q->head != NULL)
		approval_answer(q, q->head->prompt.id, APPROVAL_DENY);
}

/* True when (ARGV, CWD, SANDBOX) is approved for the session. */
bool approval_session_exec_allowed(const struct approval_queue *q, size_t argc, char *const argv[],
                                   const char *cwd, enum decide_sandbox sandbox)
{
	char *key = approval__exec_key(argc, argv, cwd, sandbox);
	bool sandboxed, ok = approval__exec_cached(q, key, false, &sandboxed);

	free(key);
	return ok;
}

/* True when PATH is approved for the session. */
bool approval_session_path_allowed(const struct approval_queue *q, const char *path)
{
	return approval__set_has(&q->paths_ok, path);
}
