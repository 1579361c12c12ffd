/*
 * The audit log. A line is built as a cJSON object, printed unformatted,
 * and written with a single write(2) to a descriptor opened with O_APPEND,
 * so concurrent writers (two airlock processes) never interleave inside a
 * line. A decision line is then fdatasync'd, durable before the caller acts
 * on it; an exit line records what already happened and nothing waits on
 * it, so it is written but not synced. Field order is fixed: ts, kind,
 * subject, then the rest.
 */
#include "audit.h"

#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct audit {
	char *path;
	int fd;
};

static const char *const audit__kinds[] = {
    [AUDIT_EXEC] = "exec", [AUDIT_NETWORK] = "network", [AUDIT_PATCH] = "patch"};
static const char *const audit__bys[] = {
    [AUDIT_BY_RULE] = "rule",     [AUDIT_BY_SESSION] = "session", [AUDIT_BY_USER] = "user",
    [AUDIT_BY_POLICY] = "policy", [AUDIT_BY_CONFIG] = "config",
};
static const char *const audit__scopes[] = {
    [AUDIT_SCOPE_ONCE] = "once", [AUDIT_SCOPE_SESSION] = "session", [AUDIT_SCOPE_RULE] = "rule"};

/* The name of kind K. */
const char *audit_kind_name(enum audit_kind k)
{
	return (size_t)k < sizeof audit__kinds / sizeof *audit__kinds ? audit__kinds[k] : "?";
}

/* The name of who decided. */
const char *audit_by_name(enum audit_by b)
{
	return (size_t)b < sizeof audit__bys / sizeof *audit__bys ? audit__bys[b] : "?";
}

/* The name of a scope. */
const char *audit_scope_name(enum audit_scope s)
{
	return (size_t)s < sizeof audit__scopes / sizeof *audit__scopes ? audit__scopes[s] : "?";
}

/* The default path of the log per SPEC 9. */
char *audit_default_path(void)
{
	const char *home = getenv("AIRLOCK_HOME");
	const char *state = getenv("XDG_STATE_HOME");
	const char *user = getenv("HOME");

	if (home != NULL && home[0] != '\0')
		return xasprintf("%s/audit.jsonl", home);
	if (state != NULL && state[0] == '/')
		return xasprintf("%s/airlock/audit.jsonl", state);
	if (user != NULL && user[0] != '\0')
		return xasprintf("%s/.local/state/airlock/audit.jsonl", user);
	return NULL;
}

/* Makes the directories above PATH (0700). */
static void audit__mkdirs(const char *path)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	free(p);
}

/* Opens the log. */
struct audit *audit_open(const char *path, char **cause)
{
	struct audit *a;
	int fd;

	audit__mkdirs(path);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (cause != NULL)
			*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	a = xcalloc(1, sizeof *a);
	a->path = xstrdup(path);
	a->fd = fd;
	return a;
}

/* Closes the log. */
void audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	close(a->fd);
	free(a->path);
	free(a);
}

/* The log's path. */
const char *audit_path(const struct audit *a)
{
	return a->path;
}

/* A new object with ts and kind set. */
static cJSON *audit__start(const char *kind)
{
	cJSON *o = cJSON_CreateObject();
	struct timespec ts;
	struct tm tm;
	char buf[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	cJSON_AddStringToObject(o, "ts", buf);
	cJSON_AddStringToObject(o, "kind", kind);
	return o;
}

/* An array of the strings WORDS. */
static cJSON *audit__words(size_t n, char *const words[])
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(words[i]));
	return arr;
}

/* Writes O as one line, frees it; SYNC: fdatasync it. Returns 0 or -errno. */
static int audit__write(struct audit *a, cJSON *o, bool sync)
{
	char *text = cJSON_PrintUnformatted(o);
	char *line;
	size_t len;
	ssize_t k;
	int rc = 0;

	cJSON_Delete(o);
	if (text == NULL)
		return -ENOMEM;
	line = xasprintf("%s\n", text);
	cJSON_free(text);
	len = strlen(line);
	do
		k = write(a->fd, line, len);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		rc = -errno;
	else if ((size_t)k != len)
		rc = -EIO;
	else if (sync && fdatasync(a->fd) != 0 && errno != EINVAL)
		rc = -errno;
	free(line);
	return rc;
}

/* Appends a decision line. */
int audit_decision(struct audit *a, const struct audit_decision *d)
{
	cJSON *o;

	if (a == NULL)
		return 0;
	o = audit__start(audit_kind_name(d->kind));
	if (d->kind == AUDIT_NETWORK) {
		char *subject = xasprintf("%s:%u", d->host != NULL ? d->host : "", d->port);

		cJSON_AddStringToObject(o, "subject", subject);
		free(subject);
		if (d->protocol != NULL)
			cJSON_AddStringToObject(o, "protocol", d->protocol);
	} else {
		cJSON_AddItemToObject(o, "subject", audit__words(d->n_words, d->words));
	}
	cJSON_AddStringToObject(o, "decision", d->allow ? "allow" : "deny");
	cJSON_AddStringToObject(o, "by", audit_by_name(d->by));
	cJSON_AddBoolToObject(o, "prompted", d->prompted);
	if (d->rule != NULL)
		cJSON_AddStringToObject(o, "rule", d->rule);
	cJSON_AddStringToObject(o, "scope", audit_scope_name(d->scope));
	if (d->kind == AUDIT_EXEC)
		cJSON_AddBoolToObject(o, "sandboxed", d->sandboxed);
	cJSON_AddNumberToObject(o, "requests", (double)(d->requests > 0 ? d->requests : 1));
	if (d->reason != NULL)
		cJSON_AddStringToObject(o, "reason", d->reason);
	return audit__write(a, o, true);
}

/* Appends an exit line. */
int audit_exit(struct audit *a, size_t argc, char *const argv[], int code, uint64_t duration_ms,
               bool sandboxed)
{
	cJSON *o;

	if (a == NULL)
		return 0;
	o = audit__start("exit");
	cJSON_AddItemToObject(o, "subject", audit__words(argc, argv));
	cJSON_AddNumberToObject(o, "code", code);
	cJSON_AddNumberToObject(o, "duration_ms", (double)duration_ms);
	cJSON_AddBoolToObject(o, "sandboxed", sandboxed);
	return audit__write(a, o, false);
}
