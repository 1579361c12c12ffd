/*
 * The audit log. A line is built as a cJSON object, printed unformatted,
 * and written with a single write(2) to a descriptor opened with O_APPEND,
 * so concurrent writers (two airlock processes) never interleave inside a
 * line. Every line is written before its effect; a decision line is then
 * made durable as config audit.sync says: fdatasync'd before the caller
 * acts ("always"), or by the log's sync thread within a second and at
 * close ("batch", the default: core/audit-sync.c says why). An exit line
 * records what already happened and nothing waits on it, so it is written
 * but not synced. Field order is fixed: ts, kind, subject, then the rest.
 *
 * Whole or absent: the write happens under an exclusive flock(2) on the
 * log (every airlock process takes it), after noting the file's size; if
 * the write fails or stops short (a full disk), or the sync fails, the file
 * is cut back to that size, so no fragment is ever followed by the next
 * line, and the caller gets the true errno (ENOSPC, EROFS, ...).
 *
 * Valid JSON for any bytes: every string is checked as UTF-8 before it is
 * printed; a byte sequence that is not UTF-8 becomes U+FFFD, and for an
 * argv or path list with such a word the raw bytes of every word go, in
 * base64, into `subject_b64` (an array parallel to `subject`).
 *
 * A NULL log (one that could not be opened) refuses every decision: no
 * decision takes effect unless its line is on disk.
 */
#include "audit.h"

#include "audit-sync.h"
#include "utf8.h"
#include "xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct audit {
	char *path;
	int fd;
	enum audit_sync sync;
	struct audit_syncer *syncer; /* batch: the thread that syncs */
};

static const char *const audit__kinds[] = {[AUDIT_EXEC] = "exec",
                                           [AUDIT_NETWORK] = "network",
                                           [AUDIT_PATCH] = "patch",
                                           [AUDIT_GIT] = "git"};
static const char *const audit__bys[] = {
    [AUDIT_BY_RULE] = "rule",     [AUDIT_BY_SESSION] = "session", [AUDIT_BY_USER] = "user",
    [AUDIT_BY_POLICY] = "policy", [AUDIT_BY_CONFIG] = "config",
    [AUDIT_BY_DECIDER] = "decider", [AUDIT_BY_WITHDRAWN] = "withdrawn",
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
	a->sync = AUDIT_SYNC_BATCH;
	a->syncer = audit_syncer_new(fd);
	return a;
}

/* Sets the sync mode. */
void audit_set_sync(struct audit *a, enum audit_sync mode)
{
	if (a != NULL)
		a->sync = mode;
}

/* Parses an audit.sync value. */
int audit_sync_parse(const char *name, enum audit_sync *out)
{
	if (strcmp(name, "batch") == 0)
		*out = AUDIT_SYNC_BATCH;
	else if (strcmp(name, "always") == 0)
		*out = AUDIT_SYNC_ALWAYS;
	else
		return -EINVAL;
	return 0;
}

/* Closes the log, after the last sync of a batch. */
void audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	(void)audit_syncer_free(a->syncer);
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

/* Makes every string (values and names) in the tree at ITEM valid UTF-8. */
void audit_json_fix_utf8(cJSON *item)
{
	for (; item != NULL; item = item->next) {
		if (item->string != NULL && !utf8_valid(item->string)) {
			char *fixed = utf8_fix(item->string);

			if (!(item->type & cJSON_StringIsConst))
				cJSON_free(item->string);
			item->type &= ~cJSON_StringIsConst;
			item->string = cJSON_malloc(strlen(fixed) + 1);
			if (item->string == NULL)
				abort();
			strcpy(item->string, fixed);
			free(fixed);
		}
		if (cJSON_IsString(item) && item->valuestring != NULL &&
		    !utf8_valid(item->valuestring)) {
			char *fixed = utf8_fix(item->valuestring);

			cJSON_SetValuestring(item, fixed);
			free(fixed);
		}
		audit_json_fix_utf8(item->child);
	}
}

/* S (LEN bytes) in base64. Caller frees. */
static char *audit__base64(const unsigned char *s, size_t len)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc((len + 2) / 3 * 4 + 1), *w = out;

	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)s[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		*w++ = digits[v >> 18 & 63];
		*w++ = digits[v >> 12 & 63];
		*w++ = i + 1 < len ? digits[v >> 6 & 63] : '=';
		*w++ = i + 2 < len ? digits[v & 63] : '=';
	}
	*w = '\0';
	return out;
}

/*
 * Writes S as a JSON string at W, escaped as cJSON prints it (its two-letter
 * escapes, \u00XX for the other control bytes, everything else as is);
 * returns the end. W has room for 6 bytes per byte of S, and 2 more.
 */
static char *audit__json_string(char *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	*w++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p >= 32 && *p != '"' && *p != '\\') {
			*w++ = (char)*p;
			continue;
		}
		*w++ = '\\';
		switch (*p) {
		case '"':
		case '\\':
			*w++ = (char)*p;
			break;
		case '\b':
			*w++ = 'b';
			break;
		case '\f':
			*w++ = 'f';
			break;
		case '\n':
			*w++ = 'n';
			break;
		case '\r':
			*w++ = 'r';
			break;
		case '\t':
			*w++ = 't';
			break;
		default:
			w = stpcpy(w, "u00");
			*w++ = hex[*p >> 4];
			*w++ = hex[*p & 15];
		}
	}
	*w++ = '"';
	return w;
}

/*
 * Adds WORDS as "subject" to O (an array); when a word is not UTF-8, also
 * "subject_b64": every word's raw bytes, in base64. The array is written
 * as JSON text here, in one buffer, and added raw: the same bytes cJSON
 * would print, without a node per word (a 200k-word argv, issue 11).
 */
static void audit__add_words(cJSON *o, size_t n, char *const words[])
{
	size_t cap = 3;
	char *text, *w;
	cJSON *arr;
	bool raw = false;

	for (size_t i = 0; i < n; i++)
		cap += strlen(words[i]) * 6 + 3;
	text = xmalloc(cap);
	w = text;
	*w++ = '[';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*w++ = ',';
		if (utf8_valid(words[i])) {
			w = audit__json_string(w, words[i]);
		} else {
			/* Its fixed form is longer (U+FFFD is 3 bytes): room for that too. */
			char *fixed = utf8_fix(words[i]);
			size_t at = (size_t)(w - text);

			cap += strlen(fixed) * 6;
			text = xrealloc(text, cap);
			w = audit__json_string(text + at, fixed);
			free(fixed);
			raw = true;
		}
	}
	*w++ = ']';
	*w = '\0';
	cJSON_AddRawToObject(o, "subject", text);
	free(text);
	if (!raw)
		return;
	arr = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		char *b64 = audit__base64((const unsigned char *)words[i], strlen(words[i]));

		cJSON_AddItemToArray(arr, cJSON_CreateString(b64));
		free(b64);
	}
	cJSON_AddItemToObject(o, "subject_b64", arr);
}

/* Adds "cwd" and "from" (when given) to O. */
static void audit__add_origin(cJSON *o, const char *cwd, const char *from)
{
	cJSON_AddStringToObject(o, "cwd", cwd != NULL ? cwd : "");
	cJSON_AddStringToObject(o, "from", from != NULL ? from : "cli");
}

/* Writes LEN bytes of LINE whole at the end of A's file, else cuts the file back. */
static int audit__append(struct audit *a, const char *line, size_t len, bool sync)
{
	struct stat st;
	size_t done = 0;
	int rc = 0;

	/* A batch sync that failed in the background refuses every decision after it. */
	if (sync && a->sync == AUDIT_SYNC_BATCH && (rc = audit_syncer_error(a->syncer)) != 0)
		return rc;
	while (flock(a->fd, LOCK_EX) != 0)
		if (errno != EINTR)
			return -errno;
	if (fstat(a->fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	while (done < len) {
		ssize_t k = write(a->fd, line + done, len - done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = -errno;
			break;
		}
		if (k == 0) {
			rc = -ENOSPC;
			break;
		}
		done += (size_t)k;
	}
	if (rc == 0 && sync && a->sync == AUDIT_SYNC_ALWAYS && fdatasync(a->fd) != 0 &&
	    errno != EINVAL)
		rc = -errno;
	else if (rc == 0 && sync && a->sync == AUDIT_SYNC_BATCH)
		rc = audit_syncer_kick(a->syncer);
	/* Whole or absent: a fragment (or an unsynced decision) is cut away. */
	if (rc != 0 && ftruncate(a->fd, st.st_size) != 0)
		rc = rc != 0 ? rc : -errno;
out:
	flock(a->fd, LOCK_UN);
	return rc;
}

/* Writes O as one line, frees it; SYNC: fdatasync it. Returns 0 or -errno. */
static int audit__write(struct audit *a, cJSON *o, bool sync)
{
	char *text, *line;
	int rc;

	size_t len;

	audit_json_fix_utf8(o);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL)
		return -ENOMEM;
	len = strlen(text);
	line = xmalloc(len + 2);
	memcpy(line, text, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	cJSON_free(text);
	rc = audit__append(a, line, len + 1, sync);
	free(line);
	return rc;
}

/* Appends a decision line. */
int audit_decision(struct audit *a, const struct audit_decision *d)
{
	cJSON *o;

	if (a == NULL)
		return -EBADF;
	o = audit__start(audit_kind_name(d->kind));
	if (d->kind == AUDIT_NETWORK) {
		char *subject = xasprintf("%s:%u", d->host != NULL ? d->host : "", d->port);

		cJSON_AddStringToObject(o, "subject", subject);
		free(subject);
		if (d->protocol != NULL)
			cJSON_AddStringToObject(o, "protocol", d->protocol);
	} else {
		audit__add_words(o, d->n_words, d->words);
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
	if (d->permissions != NULL)
		cJSON_AddStringToObject(o, "permissions", d->permissions);
	if (d->kind != AUDIT_NETWORK)
		audit__add_origin(o, d->cwd, d->from);
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
	audit__add_words(o, argc, argv);
	cJSON_AddNumberToObject(o, "code", code);
	cJSON_AddNumberToObject(o, "duration_ms", (double)duration_ms);
	cJSON_AddBoolToObject(o, "sandboxed", sandboxed);
	return audit__write(a, o, false);
}

/* Appends the helper's report on one planted repository (see audit.h). */
int audit_git(struct audit *a, const char *report, const char *cwd, const char *from)
{
	cJSON *in = cJSON_Parse(report), *o;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(in, "kind");
	const cJSON *ts = cJSON_GetObjectItemCaseSensitive(in, "ts");
	static const char *const fields[] = {"path", "reason", "moved"};

	if (!cJSON_IsObject(in) || !cJSON_IsString(kind) || strcmp(kind->valuestring, "git") != 0) {
		cJSON_Delete(in);
		return -EINVAL;
	}
	if (a == NULL) {
		cJSON_Delete(in);
		return -EBADF;
	}
	o = audit__start("git");
	if (cJSON_IsString(ts))
		cJSON_ReplaceItemInObjectCaseSensitive(o, "ts", cJSON_CreateString(ts->valuestring));
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(in, fields[i]);

		if (v != NULL)
			cJSON_AddItemToObject(o, fields[i], v);
	}
	cJSON_Delete(in);
	audit__add_origin(o, cwd, from);
	return audit__write(a, o, true);
}
