/*
 * The decider's process and its questions. The program is a libuv child
 * with two pipes (its stdin for questions, its stdout for answers); each
 * generation of it is a `struct decider__child` that lives until its three
 * handles have closed, so a killed program's late bytes or exit reach a
 * child record that no longer speaks for the decider (child->d == NULL).
 *
 * Questions are a list; each has a timer of its own (which is also what
 * keeps a loop running while an answer is awaited: the process and the
 * pipes are unreferenced, so an idle decider never holds `airlock exec`'s
 * loop open). Every failure is one path, decider__fail_all: the
 * outstanding questions get DECIDER_ASK with failed set, and the program
 * is killed and forgotten; the next question starts it again, unless it
 * was restarted less than DECIDER_RESTART_MS ago.
 */
#include "decider.h"

#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One generation of the program. */
struct decider__child {
	uv_process_t proc;
	uv_pipe_t in;  /* its stdin: we write */
	uv_pipe_t out; /* its stdout: we read */
	int open;      /* handles not yet closed */
	bool exited;
	struct decider *d; /* NULL once the decider let go of it */
};

/* One outstanding question. */
struct decider__ask {
	uint64_t id;
	decider_cb cb;
	void *data;
	uv_timer_t timer; /* freed in its close callback */
	struct decider *d;
	struct decider__ask *next;
};

struct decider {
	uv_loop_t *loop;
	char **argv;
	unsigned timeout_ms;
	bool quiet;
	struct decider__child *child; /* the live program, or NULL */
	struct decider__ask *asks;
	uint64_t next_id;
	unsigned starts;
	uint64_t last_restart_ms; /* 0: never restarted */
	char *line;               /* answer bytes not yet ended by a newline */
	size_t line_len;
};

/* Frees a write request and its buffer. */
static void decider__written(uv_write_t *w, int status)
{
	(void)status; /* a dead program is seen by its exit or EOF */
	free(w->data);
	free(w);
}

/* Frees CHILD once all its handles have closed. */
static void decider__child_closed(uv_handle_t *h)
{
	struct decider__child *c = h->data;

	if (--c->open == 0)
		free(c);
}

/* Closes CHILD's handles; the process handle waits for its exit (so it is reaped). */
static void decider__child_close(struct decider__child *c, bool now)
{
	if (!uv_is_closing((uv_handle_t *)&c->in))
		uv_close((uv_handle_t *)&c->in, decider__child_closed);
	if (!uv_is_closing((uv_handle_t *)&c->out))
		uv_close((uv_handle_t *)&c->out, decider__child_closed);
	if ((c->exited || now) && !uv_is_closing((uv_handle_t *)&c->proc))
		uv_close((uv_handle_t *)&c->proc, decider__child_closed);
}

/* Kills the live program and lets go of it. */
static void decider__kill(struct decider *d)
{
	struct decider__child *c = d->child;

	if (c == NULL)
		return;
	d->child = NULL;
	c->d = NULL;
	free(d->line);
	d->line = NULL;
	d->line_len = 0;
	if (!c->exited) {
		/* Its whole group (what it started too); held open until it is reaped. */
		if (c->proc.pid > 0)
			kill(-c->proc.pid, SIGKILL);
		uv_process_kill(&c->proc, SIGKILL);
		uv_ref((uv_handle_t *)&c->proc);
	}
	decider__child_close(c, false);
}

/* Frees a question once its timer has closed. */
static void decider__ask_closed(uv_handle_t *h)
{
	free(h->data);
}

/* Unlinks question A from D and closes its timer; returns A (freed later). */
static struct decider__ask *decider__unlink(struct decider *d, struct decider__ask *a)
{
	for (struct decider__ask **pp = &d->asks; *pp != NULL; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	a->next = NULL;
	uv_timer_stop(&a->timer);
	uv_close((uv_handle_t *)&a->timer, decider__ask_closed);
	return a;
}

/* Answers A with VERDICT and REASON, then lets it go. */
static void decider__answer(struct decider *d, struct decider__ask *a, enum decider_verdict v,
                            const char *reason, bool failed)
{
	decider_cb cb = a->cb;
	void *data = a->data;

	decider__unlink(d, a);
	if (cb != NULL)
		cb(v, reason, failed, data);
}

/* Every outstanding question fails with WHY; the program is killed. */
static void decider__fail_all(struct decider *d, const char *why)
{
	char *reason = xstrdup(why);

	decider__kill(d);
	while (d->asks != NULL)
		decider__answer(d, d->asks, DECIDER_ASK, reason, true);
	free(reason);
}

/*
 * A copy of S (LEN bytes) as valid UTF-8: bytes that are not UTF-8 become
 * U+FFFD and, with LINE, control characters become spaces (one printable
 * line); at most MAX bytes are kept (never cutting a character).
 */
static char *decider__clean(const char *s, size_t len, size_t max, bool line)
{
	char *out = xmalloc(len * 3 + 1), *w = out;
	size_t i = 0;

	while (i < len && (size_t)(w - out) + 4 <= max) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
		                      : (c & 0xf8) == 0xf0     ? 4
		                                               : 0;
		bool ok = n > 0 && i + n <= len && !(n == 2 && c < 0xc2) && !(c > 0xf4);

		for (size_t k = 1; ok && k < n; k++)
			ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
		if (ok && n == 3) {
			unsigned c1 = (unsigned char)s[i + 1];
			ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
		}
		if (ok && n == 4) {
			unsigned c1 = (unsigned char)s[i + 1];
			ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
		}
		if (!ok) {
			memcpy(w, "\xef\xbf\xbd", 3);
			w += 3;
			i++;
		} else if (n == 1) {
			*w++ = line && (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
			i++;
		} else if (line && n == 2 && c == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {
			*w++ = ' '; /* a C1 control */
			i += 2;
		} else {
			memcpy(w, s + i, n);
			w += n;
			i += n;
		}
	}
	*w = '\0';
	return out;
}

/*
 * A copy of the C string S for the question, or "" when NULL: valid UTF-8,
 * every other byte kept (the JSON writer escapes control characters, so
 * the decider sees the words as they are, newlines and tabs included).
 */
static char *decider__str(const char *s)
{
	return s != NULL ? decider__clean(s, strlen(s), strlen(s) * 3 + 4, false) : xstrdup("");
}

/* Takes one answer LINE (LEN bytes, no newline). Returns false when it is out of form. */
static bool decider__take(struct decider *d, const char *line, size_t len)
{
	cJSON *o = cJSON_ParseWithLength(line, len);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
	const cJSON *dec = cJSON_GetObjectItemCaseSensitive(o, "decision");
	const cJSON *why = cJSON_GetObjectItemCaseSensitive(o, "reason");
	enum decider_verdict v;
	char *end = NULL, *reason;
	unsigned long long n;

	if (!cJSON_IsObject(o) || !cJSON_IsString(id) || !cJSON_IsString(dec) ||
	    (why != NULL && !cJSON_IsString(why))) {
		cJSON_Delete(o);
		return false;
	}
	if (strcmp(dec->valuestring, "allow") == 0)
		v = DECIDER_ALLOW;
	else if (strcmp(dec->valuestring, "deny") == 0)
		v = DECIDER_DENY;
	else if (strcmp(dec->valuestring, "ask") == 0)
		v = DECIDER_ASK;
	else {
		cJSON_Delete(o);
		return false;
	}
	errno = 0;
	n = strtoull(id->valuestring, &end, 10);
	if (errno != 0 || end == id->valuestring || *end != '\0') {
		cJSON_Delete(o);
		return false;
	}
	reason = why != NULL ? decider__clean(why->valuestring, strlen(why->valuestring),
	                                      DECIDER_REASON_MAX, true)
	                     : xstrdup("");
	if (reason[0] == '\0') {
		free(reason);
		reason = xstrdup(v == DECIDER_ALLOW  ? "allowed by the decider"
		                 : v == DECIDER_DENY ? "denied by the decider"
		                                     : "the decider asks a human");
	}
	cJSON_Delete(o);
	/* An answer to a question no longer outstanding (withdrawn) is dropped. */
	for (struct decider__ask *a = d->asks; a != NULL; a = a->next)
		if (a->id == n) {
			decider__answer(d, a, v, reason, false);
			break;
		}
	free(reason);
	return true;
}

/* Buffers for the program's stdout. */
static void decider__alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	buf->base = xmalloc(4096);
	buf->len = 4096;
}

/* Bytes from the program: complete lines are answers. */
static void decider__read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct decider__child *c = s->data;
	struct decider *d = c->d;

	if (d == NULL || d->child != c) {
		free(buf->base);
		return;
	}
	if (nread < 0) {
		free(buf->base);
		decider__fail_all(d, nread == UV_EOF ? "the decider closed its output"
		                                     : "the decider's output cannot be read");
		return;
	}
	d->line = xrealloc(d->line, d->line_len + (size_t)nread + 1);
	memcpy(d->line + d->line_len, buf->base, (size_t)nread);
	d->line_len += (size_t)nread;
	free(buf->base);
	for (;;) {
		char *nl = memchr(d->line, '\n', d->line_len);
		size_t n;

		if (nl == NULL) {
			if (d->line_len > DECIDER_LINE_MAX)
				decider__fail_all(d, "the decider wrote a line too long to be an "
				                     "answer");
			return;
		}
		n = (size_t)(nl - d->line);
		if (n > DECIDER_LINE_MAX || !decider__take(d, d->line, n)) {
			decider__fail_all(d, "the decider answered out of form");
			return;
		}
		/* An answer's callback may have killed or freed nothing of D but its child. */
		if (d->child != c)
			return;
		memmove(d->line, nl + 1, d->line_len - n - 1);
		d->line_len -= n + 1;
	}
}

/* The program exited. */
static void decider__exited(uv_process_t *p, int64_t status, int sig)
{
	struct decider__child *c = p->data;
	struct decider *d = c->d;

	c->exited = true;
	if (d != NULL && d->child == c) {
		char why[96];

		if (sig != 0)
			snprintf(why, sizeof why, "the decider was killed by signal %d", sig);
		else
			snprintf(why, sizeof why, "the decider exited with status %lld",
			         (long long)status);
		decider__fail_all(d, why);
	}
	decider__child_close(c, true);
}

/* Starts the program. Returns 0 or a libuv error. */
static int decider__start(struct decider *d)
{
	struct decider__child *c = xcalloc(1, sizeof *c);
	uv_stdio_container_t stdio[3];
	uv_process_options_t o = {0};
	int rc;

	uv_pipe_init(d->loop, &c->in, 0);
	uv_pipe_init(d->loop, &c->out, 0);
	c->in.data = c->out.data = c->proc.data = c;
	c->open = 2;
	stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
	stdio[0].data.stream = (uv_stream_t *)&c->in;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&c->out;
	stdio[2].flags = d->quiet ? UV_IGNORE : UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	o.file = d->argv[0];
	o.args = d->argv;
	o.exit_cb = decider__exited;
	/* A process group of its own: killing it kills what it started (a `sleep`, a helper). */
	o.flags = UV_PROCESS_DETACHED;
	o.stdio = stdio;
	o.stdio_count = 3;
	d->starts++;
	rc = uv_spawn(d->loop, &c->proc, &o);
	if (rc != 0) {
		/* A failed spawn leaves the process handle to be closed too. */
		c->open++;
		c->exited = true;
		decider__child_close(c, true);
		return rc;
	}
	c->open++;
	c->d = d;
	d->child = c;
	uv_unref((uv_handle_t *)&c->proc);
	uv_unref((uv_handle_t *)&c->in);
	uv_unref((uv_handle_t *)&c->out);
	uv_read_start((uv_stream_t *)&c->out, decider__alloc, decider__read);
	return 0;
}

/* Makes a decider. */
struct decider *decider_new(uv_loop_t *loop, const struct decider_spec *spec)
{
	struct decider *d = xcalloc(1, sizeof *d);
	size_t n = spec->argc;

	d->loop = loop;
	d->argv = xcalloc(n + 1, sizeof *d->argv);
	for (size_t i = 0; i < n; i++)
		d->argv[i] = xstrdup(spec->argv[i]);
	d->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : DECIDER_TIMEOUT_MS;
	d->quiet = spec->quiet;
	d->next_id = 1;
	return d;
}

/* Kills the program and frees D. */
void decider_free(struct decider *d)
{
	if (d == NULL)
		return;
	while (d->asks != NULL)
		decider__unlink(d, d->asks);
	decider__kill(d); /* its exit closes the last handle: the loop must run once more */
	for (char **a = d->argv; *a != NULL; a++)
		free(*a);
	free(d->argv);
	free(d->line);
	free(d);
}

/* The question timed out: the program is too slow to keep. */
static void decider__timeout(uv_timer_t *t)
{
	struct decider__ask *a = t->data;
	struct decider *d = a->d;
	char why[96];

	snprintf(why, sizeof why, "the decider did not answer within %u ms", d->timeout_ms);
	decider__fail_all(d, why);
}

/* The question line for Q with id ID, newline-ended. Caller frees. */
static char *decider__line(uint64_t id, const struct decider_query *q)
{
	cJSON *o = cJSON_CreateObject();
	char idbuf[24], *s, *line;

	snprintf(idbuf, sizeof idbuf, "%llu", (unsigned long long)id);
	cJSON_AddStringToObject(o, "id", idbuf);
	s = decider__str(q->kind);
	cJSON_AddStringToObject(o, "kind", s);
	free(s);
	if (q->words != NULL) {
		cJSON *arr = cJSON_AddArrayToObject(o, "subject");

		for (size_t i = 0; i < q->n_words; i++) {
			s = decider__str(q->words[i]);
			cJSON_AddItemToArray(arr, cJSON_CreateString(s));
			free(s);
		}
	} else {
		char *hp = xasprintf("%s:%u", q->host != NULL ? q->host : "", q->port);

		s = decider__str(hp);
		cJSON_AddStringToObject(o, "subject", s);
		free(s);
		free(hp);
		if (q->protocol != NULL) {
			s = decider__str(q->protocol);
			cJSON_AddStringToObject(o, "protocol", s);
			free(s);
		}
	}
	s = decider__str(q->cwd);
	cJSON_AddStringToObject(o, "cwd", s);
	free(s);
	s = decider__str(q->from != NULL ? q->from : "cli");
	cJSON_AddStringToObject(o, "from", s);
	free(s);
	s = decider__str(q->reason);
	cJSON_AddStringToObject(o, "reason", s);
	free(s);
	/* exec: where an allow runs it, so that a decider can be stricter about outside. */
	if (q->outside >= 0)
		cJSON_AddBoolToObject(o, "outside", q->outside != 0);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	line = xasprintf("%s\n", s);
	cJSON_free(s);
	return line;
}

/* Asks Q. */
uint64_t decider_ask(struct decider *d, const struct decider_query *q, decider_cb cb, void *data)
{
	struct decider__ask *a;
	uv_write_t *w;
	uv_buf_t buf;
	char *line;
	int rc;

	if (d->child == NULL) {
		uint64_t now = uv_now(d->loop);
		char why[160];

		if (d->starts > 0 && d->last_restart_ms != 0 &&
		    now - d->last_restart_ms < DECIDER_RESTART_MS) {
			if (cb != NULL)
				cb(DECIDER_ASK,
				   "the decider died and is restarted at most once a minute", true,
				   data);
			return 0;
		}
		if (d->starts > 0)
			d->last_restart_ms = now > 0 ? now : 1;
		rc = decider__start(d);
		if (rc != 0) {
			snprintf(why, sizeof why, "cannot start the decider %s: %s", d->argv[0],
			         uv_strerror(rc));
			if (cb != NULL)
				cb(DECIDER_ASK, why, true, data);
			return 0;
		}
	}
	a = xcalloc(1, sizeof *a);
	a->id = d->next_id++;
	a->cb = cb;
	a->data = data;
	a->d = d;
	uv_timer_init(d->loop, &a->timer);
	a->timer.data = a;
	uv_timer_start(&a->timer, decider__timeout, d->timeout_ms, 0);
	a->next = d->asks;
	d->asks = a;
	line = decider__line(a->id, q);
	w = xmalloc(sizeof *w);
	w->data = line;
	buf = uv_buf_init(line, (unsigned)strlen(line));
	rc = uv_write(w, (uv_stream_t *)&d->child->in, &buf, 1, decider__written);
	if (rc != 0) {
		free(line);
		free(w);
		decider__answer(d, a, DECIDER_ASK, "the decider cannot be written to", true);
		decider__kill(d);
		return 0;
	}
	return a->id;
}

/* Forgets question ID. */
int decider_withdraw(struct decider *d, uint64_t id)
{
	for (struct decider__ask *a = d->asks; a != NULL; a = a->next)
		if (a->id == id) {
			decider__unlink(d, a);
			return 0;
		}
	return -ENOENT;
}

/* How many starts. */
unsigned decider_starts(const struct decider *d)
{
	return d->starts;
}

/* How many questions wait. */
size_t decider_outstanding(const struct decider *d)
{
	size_t n = 0;

	for (const struct decider__ask *a = d->asks; a != NULL; a = a->next)
		n++;
	return n;
}
