/*
 * The proxy of one session, deciding through the approval queue, plus the
 * environment that points commands at it (see proxy-session.h).
 *
 * The decider keeps one record per query it passed to the queue, so that
 * the proxy's cancel (on close) can withdraw the waiter with
 * approval_cancel(). A record lives from approval_request() to the queue's
 * free callback; when the queue decides at once, both callbacks run inside
 * approval_request() and the record is gone when it returns.
 */
#include "proxy-session.h"

#include "policy.h"
#include "proxy-vars.h"
#include "xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Builds the proxy environment for the given ports. */
char **proxy_env_build(int http_port, int socks_port)
{
	char **env = xcalloc(PROXY_ENV_COUNT + 1, sizeof *env);
	size_t i = 0;

	for (size_t k = 0; k < proxy_n_vars; k++) {
		if (proxy_vars[k].socks)
			env[i++] =
			    xasprintf("%s=socks5h://127.0.0.1:%d", proxy_vars[k].name, socks_port);
		else
			env[i++] =
			    xasprintf("%s=http://127.0.0.1:%d", proxy_vars[k].name, http_port);
	}
	env[i++] = xstrdup("NO_PROXY=localhost,127.0.0.1,::1");
	env[i++] = xstrdup("no_proxy=localhost,127.0.0.1,::1");
	env[i] = NULL;
	return env;
}

/* Frees a list from proxy_env_build. */
void proxy_env_free(char **env)
{
	if (env == NULL)
		return;
	for (char **e = env; *e != NULL; e++)
		free(*e);
	free(env);
}

/* Splits POLICY_JSON and serialises its file-system half. */
char *proxy_session_fs_policy(const char *policy_json, char **cause)
{
	struct policy_split split;
	char *json;

	if (policy_parse(policy_json, &split, cause) != 0)
		return NULL;
	json = policy_fs_to_json(&split.fs);
	policy_split_free(&split);
	return json;
}

/* One query handed to the approval queue. */
struct proxy_session__rec {
	struct proxy_session_decider *d;
	struct proxy_session__rec *next, *prev;
	struct proxy_query *query; /* NULL once answered */
	uint64_t waiter;
	bool waiting; /* counted in its decider's n_waiting */
};

struct proxy_session_decider {
	struct approval_queue *queue;
	struct proxy_session__rec *recs;
	FILE *refusals; /* where refusals are told, or NULL */
	char *origin;   /* whose traffic this is, for the prompt (or NULL) */
	char *cwd;      /* and its working directory (or NULL) */
	struct policy_permissions grants; /* hosts granted to its command (SPEC 12) */
	/* Told when its first query starts waiting for a human and its last stops (SPEC 12). */
	void (*waiting)(void *data, bool waiting);
	void *waiting_data;
	size_t n_waiting;
	/* Told one line per request withdrawn because its client went away (SPEC 11). */
	void (*note)(void *data, const char *line);
	void *note_data;
};

/* The queue's answer: release or refuse the proxy's waiters. */
static void proxy_session__answered(const struct approval_result *res, void *data)
{
	struct proxy_session__rec *rec = data;
	struct proxy_query *q = rec->query;

	rec->query = NULL;
	if (q == NULL)
		return;
	if (!res->allowed && rec->d->refusals != NULL) {
		const struct proxy_dest *dest = proxy_query_dest(q);

		/* A typed or the decider's reason says more than "denied". */
		fprintf(rec->d->refusals, "airlock: network access to %s:%u (%s) denied: %s\n",
		        dest->host, dest->port, proxy_proto_name(dest->proto),
		        res->typed_reason != NULL ? res->typed_reason
		        : res->reason != NULL     ? res->reason
		                                  : "not allowed");
		fflush(rec->d->refusals);
	}
	/* A reason the human typed is what the client is told. */
	proxy_query_answer(q, res->allowed,
	                   res->typed_reason != NULL ? res->typed_reason : res->reason);
}

/* The queue is done with a record. */
static void proxy_session__rec_free(void *data)
{
	struct proxy_session__rec *rec = data;
	struct proxy_session_decider *d = rec->d;

	if (rec->waiting && --d->n_waiting == 0 && d->waiting != NULL)
		d->waiting(d->waiting_data, false);
	if (rec->prev != NULL)
		rec->prev->next = rec->next;
	else
		d->recs = rec->next;
	if (rec->next != NULL)
		rec->next->prev = rec->prev;
	free(rec);
}

/* The proxy asks: submit a network request to the queue. */
static void proxy_session__decide(void *data, struct proxy_query *query)
{
	struct proxy_session_decider *d = data;
	const struct proxy_dest *dest = proxy_query_dest(query);
	struct proxy_session__rec *rec = xcalloc(1, sizeof *rec);
	struct approval_request req = {
	    .kind = APPROVAL_NETWORK,
	    .host = dest->host,
	    .protocol = proxy_proto_name(dest->proto),
	    .port = dest->port,
	    .origin = d->origin,
	    .cwd = d->cwd,
	    .grants = &d->grants,
	};
	uint64_t id;

	rec->d = d;
	rec->query = query;
	rec->next = d->recs;
	if (d->recs != NULL)
		d->recs->prev = rec;
	d->recs = rec;
	id =
	    approval_request(d->queue, &req, proxy_session__answered, proxy_session__rec_free, rec);
	if (id != 0) {
		rec->waiter = id; /* still pending: REC is alive */
		rec->waiting = true;
		if (d->n_waiting++ == 0 && d->waiting != NULL)
			d->waiting(d->waiting_data, true);
	}
}

/*
 * The proxy refused DEST before asking (an address of loopback or a private
 * network): the queue writes the audit line (deny, by policy), no prompt.
 */
static void proxy_session__refused(void *data, const struct proxy_dest *dest, const char *reason)
{
	struct proxy_session_decider *d = data;
	struct approval_request req = {
	    .kind = APPROVAL_NETWORK,
	    .host = dest->host,
	    .protocol = proxy_proto_name(dest->proto),
	    .port = dest->port,
	    .refuse = reason,
	};

	approval_request(d->queue, &req, NULL, NULL, NULL);
	if (d->refusals != NULL) {
		fprintf(d->refusals, "airlock: network access to %s:%u (%s) denied: %s\n",
		        dest->host, dest->port, proxy_proto_name(dest->proto), reason);
		fflush(d->refusals);
	}
}

/* Whether the queue would refuse DEST by its name alone (the proxy then skips the lookup). */
static bool proxy_session__refused_by_name(void *data, const struct proxy_dest *dest)
{
	struct proxy_session_decider *d = data;

	return approval_network_refused_by_name(d->queue, dest->host, proxy_proto_name(dest->proto),
	                                        dest->port);
}

/*
 * QUERY's requests went away (their clients left, or the proxy closes):
 * withdraw its waiter, so that its prompt leaves the queue (with the queue's
 * audit line, by withdrawn) unless other requests still wait on it, and say
 * so in the pane whose traffic it was.
 */
static void proxy_session__cancel(void *data, struct proxy_query *query)
{
	struct proxy_session_decider *d = data;

	for (struct proxy_session__rec *rec = d->recs; rec != NULL; rec = rec->next) {
		if (rec->query == query) {
			const struct proxy_dest *dest = proxy_query_dest(query);

			rec->query = NULL;
			if (d->note != NULL) {
				char *line = xasprintf("airlock: network access to %s:%u (%s) "
				                       "withdrawn: its client went away",
				                       dest->host, dest->port,
				                       proxy_proto_name(dest->proto));

				d->note(d->note_data, line);
				free(line);
			}
			if (rec->waiter != 0)
				approval_cancel(d->queue, rec->waiter);
			return;
		}
	}
}

/* Makes a decider over QUEUE and fills OUT with its table. */
struct proxy_session_decider *proxy_session_decider_new(struct approval_queue *queue,
                                                        struct proxy_decider *out)
{
	struct proxy_session_decider *d = xcalloc(1, sizeof *d);

	d->queue = queue;
	out->decide = proxy_session__decide;
	out->cancel = proxy_session__cancel;
	out->refused = proxy_session__refused;
	out->refused_by_name = proxy_session__refused_by_name;
	out->data = d;
	out->per_request = true; /* the queue merges them into one prompt */
	return d;
}

/* Frees a decider; records still queued are detached from it. */
void proxy_session_decider_free(struct proxy_session_decider *d)
{
	if (d == NULL)
		return;
	while (d->recs != NULL) {
		struct proxy_session__rec *rec = d->recs;

		rec->query = NULL;
		if (rec->waiter != 0 && approval_cancel(d->queue, rec->waiter) == 0)
			continue; /* its free callback unlinked it */
		d->recs = rec->next;
		if (d->recs != NULL)
			d->recs->prev = NULL;
		free(rec);
	}
	free(d->origin);
	free(d->cwd);
	policy_permissions_free(&d->grants);
	free(d);
}

struct proxy_session {
	struct proxy *proxy;
	struct proxy_session_decider *decider;
	void (*close_cb)(void *);
	void *close_arg;
};

/* Starts a proxy on LOOP deciding through QUEUE. */
int proxy_session_start(uv_loop_t *loop, struct approval_queue *queue, struct proxy_session **out)
{
	struct proxy_session *s = xcalloc(1, sizeof *s);
	struct proxy_decider table;
	int rc;

	s->decider = proxy_session_decider_new(queue, &table);
	s->proxy = proxy_new(loop, &table);
	rc = proxy_start(s->proxy);
	if (rc < 0) {
		/* proxy_close frees at once or after its handles close; S goes with it. */
		proxy_session_close(s, NULL, NULL);
		return rc;
	}
	*out = s;
	return 0;
}

/* Sets where refused destinations are told, one line each (NULL: nowhere). */
void proxy_session_set_refusals(struct proxy_session *s, FILE *refusals)
{
	s->decider->refusals = refusals;
}

/* Sets config network.allow_private on the session's proxy. */
int proxy_session_set_allow_private(struct proxy_session *s, const char *const *entries, size_t n,
                                    char **cause)
{
	const char *bad = NULL, *why = NULL;

	if (proxy_set_allow_private(s->proxy, entries, n, &bad, &why) == 0)
		return 0;
	*cause = xasprintf("network.allow_private: \"%s\": %s", bad, why);
	return -EINVAL;
}

/* Sets the proxy's request-head limit (config network.head_timeout_ms; 0: the default). */
void proxy_session_set_head_timeout(struct proxy_session *s, unsigned ms)
{
	proxy_set_head_timeout(s->proxy, ms);
}

/* Names whose traffic the session carries, for its prompts. */
void proxy_session_set_grants(struct proxy_session *s, const struct policy_permissions *grants)
{
	policy_permissions_free(&s->decider->grants);
	policy_permissions_copy(&s->decider->grants, grants);
}

void proxy_session_set_origin(struct proxy_session *s, const char *origin, const char *cwd)
{
	free(s->decider->origin);
	free(s->decider->cwd);
	s->decider->origin = origin != NULL ? xstrdup(origin) : NULL;
	s->decider->cwd = cwd != NULL ? xstrdup(cwd) : NULL;
}

/* Who is told when the session's queries wait for a human. */
void proxy_session_set_waiting(struct proxy_session *s, void (*waiting)(void *data, bool waiting),
                               void *data)
{
	s->decider->waiting = waiting;
	s->decider->waiting_data = data;
}

/* Who is told, one line each, of requests withdrawn because their client went away. */
void proxy_session_set_notes(struct proxy_session *s, void (*note)(void *data, const char *line),
                             void *data)
{
	s->decider->note = note;
	s->decider->note_data = data;
}

/* Returns the HTTP port. */
int proxy_session_http_port(const struct proxy_session *s)
{
	return proxy_http_port(s->proxy);
}

/* Returns the SOCKS port. */
int proxy_session_socks_port(const struct proxy_session *s)
{
	return proxy_socks_port(s->proxy);
}

/* Returns the proxy. */
struct proxy *proxy_session_proxy(const struct proxy_session *s)
{
	return s->proxy;
}

/* Returns the environment for this session's ports. */
char **proxy_session_env(const struct proxy_session *s)
{
	return proxy_env_build(proxy_http_port(s->proxy), proxy_socks_port(s->proxy));
}

/* Called once the proxy is freed: frees the decider and the session. */
static void proxy_session__closed(void *arg)
{
	struct proxy_session *s = arg;
	void (*cb)(void *) = s->close_cb;
	void *cb_arg = s->close_arg;

	proxy_session_decider_free(s->decider);
	free(s);
	if (cb != NULL)
		cb(cb_arg);
}

/* Closes the session. */
void proxy_session_close(struct proxy_session *s, void (*cb)(void *arg), void *arg)
{
	s->decider->waiting = NULL; /* whoever was told goes its own way now */
	s->close_cb = cb;
	s->close_arg = arg;
	proxy_close(s->proxy, proxy_session__closed, s);
}
