/*
 * Tests of the audit log: every line is one JSON object with the fields of
 * SPEC section 9, appended (never rewritten), and the default path follows
 * AIRLOCK_HOME / XDG_STATE_HOME / HOME.
 */
#include "test.h"

#include "../core/audit.h"
#include "../core/utf8.h"
#include "../core/xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The Nth line (0-based) of TEXT parsed as JSON, or NULL. */
static cJSON *audit_test__line(const char *text, int n)
{
	const char *p = text;

	while (n-- > 0 && p != NULL) {
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (p == NULL || *p == '\0')
		return NULL;
	{
		const char *end = strchr(p, '\n');
		char *line = xstrndup(p, end != NULL ? (size_t)(end - p) : strlen(p));
		cJSON *o = cJSON_Parse(line);

		free(line);
		return o;
	}
}

/* The string field NAME of O, or NULL. */
static const char *audit_test__str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

TEST(audit_lines_have_the_spec_fields)
{
	char *path = xasprintf("%s/state/airlock/audit.jsonl", test_tmpdir());
	char *argv[] = {"git", "push", "origin", NULL};
	char *paths[] = {"/ws/a.c", "/ws/b.c", NULL};
	struct audit *a;
	char *text, *cause = NULL;
	cJSON *o;
	struct audit_decision exec = {.kind = AUDIT_EXEC,
	                              .words = argv,
	                              .n_words = 3,
	                              .allow = true,
	                              .by = AUDIT_BY_USER,
	                              .prompted = true,
	                              .scope = AUDIT_SCOPE_SESSION,
	                              .sandboxed = false,
	                              .requests = 3};
	struct audit_decision net = {.kind = AUDIT_NETWORK,
	                             .host = "example.com",
	                             .port = 443,
	                             .protocol = "https",
	                             .allow = false,
	                             .by = AUDIT_BY_RULE,
	                             .rule = "/h/rules/default.rules:4",
	                             .scope = AUDIT_SCOPE_RULE};
	struct audit_decision patch = {.kind = AUDIT_PATCH,
	                               .words = paths,
	                               .n_words = 2,
	                               .allow = true,
	                               .by = AUDIT_BY_SESSION,
	                               .scope = AUDIT_SCOPE_SESSION};

	a = audit_open(path, &cause);
	ASSERT(a != NULL);
	ASSERT_STR_EQ(audit_path(a), path);
	ASSERT_EQ(audit_decision(a, &exec), 0);
	ASSERT_EQ(audit_decision(a, &net), 0);
	ASSERT_EQ(audit_decision(a, &patch), 0);
	ASSERT_EQ(audit_exit(a, 3, argv, 1, 1234, true), 0);
	audit_close(a);
	/* Reopening appends. */
	a = audit_open(path, &cause);
	ASSERT(a != NULL);
	ASSERT_EQ(audit_exit(a, 1, argv, 0, 5, false), 0);
	audit_close(a);
	/* A log that could not be opened refuses: no decision without its line. */
	ASSERT_NE(audit_decision(NULL, &exec), 0);

	text = test_read_file(path, NULL);
	ASSERT(text != NULL);

	o = audit_test__line(text, 0);
	ASSERT(o != NULL);
	ASSERT_EQ(strlen(audit_test__str(o, "ts")), strlen("2026-01-01T00:00:00.000Z"));
	ASSERT(audit_test__str(o, "ts")[10] == 'T');
	ASSERT(audit_test__str(o, "ts")[23] == 'Z');
	ASSERT_STR_EQ(audit_test__str(o, "kind"), "exec");
	ASSERT(cJSON_IsArray(cJSON_GetObjectItem(o, "subject")));
	ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(o, "subject")), 3);
	ASSERT_STR_EQ(audit_test__str(o, "decision"), "allow");
	ASSERT_STR_EQ(audit_test__str(o, "by"), "user");
	ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(o, "prompted")));
	ASSERT_STR_EQ(audit_test__str(o, "scope"), "session");
	ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(o, "sandboxed")));
	ASSERT_EQ(cJSON_GetObjectItem(o, "requests")->valueint, 3);
	ASSERT(cJSON_GetObjectItem(o, "rule") == NULL);
	cJSON_Delete(o);

	o = audit_test__line(text, 1);
	ASSERT(o != NULL);
	ASSERT_STR_EQ(audit_test__str(o, "kind"), "network");
	ASSERT_STR_EQ(audit_test__str(o, "subject"), "example.com:443");
	ASSERT_STR_EQ(audit_test__str(o, "decision"), "deny");
	ASSERT_STR_EQ(audit_test__str(o, "rule"), "/h/rules/default.rules:4");
	ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(o, "prompted")));
	ASSERT(cJSON_GetObjectItem(o, "sandboxed") == NULL);
	ASSERT_EQ(cJSON_GetObjectItem(o, "requests")->valueint, 1);
	cJSON_Delete(o);

	o = audit_test__line(text, 2);
	ASSERT(o != NULL);
	ASSERT_STR_EQ(audit_test__str(o, "kind"), "patch");
	ASSERT_STR_EQ(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "subject"), 1)->valuestring,
	              "/ws/b.c");
	cJSON_Delete(o);

	o = audit_test__line(text, 3);
	ASSERT(o != NULL);
	ASSERT_STR_EQ(audit_test__str(o, "kind"), "exit");
	ASSERT_EQ(cJSON_GetObjectItem(o, "code")->valueint, 1);
	ASSERT_EQ(cJSON_GetObjectItem(o, "duration_ms")->valueint, 1234);
	ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(o, "sandboxed")));
	cJSON_Delete(o);

	o = audit_test__line(text, 4);
	ASSERT(o != NULL);
	cJSON_Delete(o);
	ASSERT(audit_test__line(text, 5) == NULL);
	free(text);
	free(path);
	return 0;
}

TEST(audit_default_path_follows_the_environment)
{
	char *p;

	setenv("AIRLOCK_HOME", "/h", 1);
	setenv("XDG_STATE_HOME", "/s", 1);
	p = audit_default_path();
	ASSERT_STR_EQ(p, "/h/audit.jsonl");
	free(p);
	unsetenv("AIRLOCK_HOME");
	p = audit_default_path();
	ASSERT_STR_EQ(p, "/s/airlock/audit.jsonl");
	free(p);
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/u", 1);
	p = audit_default_path();
	ASSERT_STR_EQ(p, "/home/u/.local/state/airlock/audit.jsonl");
	free(p);
	ASSERT(audit_open("/proc/airlock-no/audit.jsonl", NULL) == NULL);
	return 0;
}

TEST(audit_two_processes_never_interleave)
{
	char *path = xasprintf("%s/audit.jsonl", test_tmpdir());
	char *text;
	int lines = 0;
	pid_t pids[2];

	for (int c = 0; c < 2; c++) {
		pids[c] = fork();
		ASSERT(pids[c] >= 0);
		if (pids[c] == 0) {
			struct audit *a = audit_open(path, NULL);
			char word[600];

			/* Long subjects, so a torn write would show. */
			memset(word, 'a' + c, sizeof word - 1);
			word[sizeof word - 1] = '\0';
			for (int i = 0; i < 300; i++) {
				char *argv[] = {word, word, NULL};

				if (a == NULL || audit_exit(a, 2, argv, i, 1, true) != 0)
					_exit(1);
			}
			audit_close(a);
			_exit(0);
		}
	}
	for (int c = 0; c < 2; c++) {
		int st;

		ASSERT_EQ(waitpid(pids[c], &st, 0), pids[c]);
		ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	text = test_read_file(path, NULL);
	ASSERT(text != NULL);
	for (int i = 0;; i++) {
		cJSON *o = audit_test__line(text, i);

		if (o == NULL)
			break;
		ASSERT_STR_EQ(audit_test__str(o, "kind"), "exit");
		lines++;
		cJSON_Delete(o);
	}
	ASSERT_EQ(lines, 600);
	free(text);
	free(path);
	return 0;
}

/* Whether every line of TEXT (LEN bytes) is whole (ends in a newline), valid UTF-8 and a JSON object. */
static int audit_test__all_valid(const char *text, size_t len)
{
	size_t start = 0;
	int lines = 0;

	if (len > 0 && text[len - 1] != '\n')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (text[i] != '\n')
			continue;
		char *line = xstrndup(text + start, i - start);
		cJSON *o = utf8_valid(line) && strlen(line) == i - start ? cJSON_Parse(line)
		                                                              : NULL;
		bool ok = cJSON_IsObject(o);

		cJSON_Delete(o);
		free(line);
		if (!ok)
			return -1;
		lines++;
		start = i + 1;
	}
	return lines;
}

TEST(audit_words_that_are_not_utf8_stay_valid_json)
{
	char *path = xasprintf("%s/audit.jsonl", test_tmpdir());
	char *argv[] = {"printf", "bad\xff", "caf\xc3\xa9", "\xed\xa0\x80", NULL};
	char *reason = "why\xfe";
	struct audit_decision d = {.kind = AUDIT_EXEC,
	                           .words = argv,
	                           .n_words = 4,
	                           .allow = true,
	                           .by = AUDIT_BY_POLICY,
	                           .scope = AUDIT_SCOPE_ONCE,
	                           .reason = reason,
	                           .cwd = "/ws/\x80" "dir",
	                           .from = "input"};
	struct audit *a = audit_open(path, NULL);
	size_t len;
	char *text;
	cJSON *o, *b64;

	ASSERT(a != NULL);
	ASSERT_EQ(audit_decision(a, &d), 0);
	ASSERT_EQ(audit_exit(a, 4, argv, 0, 1, true), 0);
	audit_close(a);
	text = test_read_file(path, &len);
	ASSERT(text != NULL);
	ASSERT_EQ(audit_test__all_valid(text, len), 2);
	ASSERT(memchr(text, 0xff, len) == NULL);
	for (int n = 0; n < 2; n++) {
		o = audit_test__line(text, n);
		ASSERT(o != NULL);
		const cJSON *subject = cJSON_GetObjectItem(o, "subject");
		ASSERT_STR_EQ(cJSON_GetArrayItem(subject, 1)->valuestring, "bad\xef\xbf\xbd");
		ASSERT_STR_EQ(cJSON_GetArrayItem(subject, 2)->valuestring, "caf\xc3\xa9");
		/* A surrogate encoded in UTF-8 is not UTF-8 either. */
		ASSERT_STR_EQ(cJSON_GetArrayItem(subject, 3)->valuestring,
		              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
		b64 = cJSON_GetObjectItem(o, "subject_b64");
		ASSERT_EQ(cJSON_GetArraySize(b64), 4);
		ASSERT_STR_EQ(cJSON_GetArrayItem(b64, 0)->valuestring, "cHJpbnRm");
		ASSERT_STR_EQ(cJSON_GetArrayItem(b64, 1)->valuestring, "YmFk/w==");
		ASSERT_STR_EQ(cJSON_GetArrayItem(b64, 3)->valuestring, "7aCA");
		if (n == 0) {
			ASSERT_STR_EQ(audit_test__str(o, "cwd"), "/ws/\xef\xbf\xbd" "dir");
			ASSERT_STR_EQ(audit_test__str(o, "from"), "input");
			ASSERT_STR_EQ(audit_test__str(o, "reason"), "why\xef\xbf\xbd");
		}
		cJSON_Delete(o);
	}
	free(text);
	free(path);
	return 0;
}

/*
 * The line of audit_exit(ARGV) as cJSON prints it from a tree of strings
 * (the way the log wrote every subject before it wrote them by hand), with
 * TS as its time. Caller frees.
 */
static char *audit_test__exit_by_cjson(const char *ts, size_t n, char *const argv[])
{
	cJSON *o = cJSON_CreateObject(), *subject = cJSON_CreateArray(), *b64 = NULL;
	char *text, *line;

	cJSON_AddStringToObject(o, "ts", ts);
	cJSON_AddStringToObject(o, "kind", "exit");
	for (size_t i = 0; i < n; i++) {
		char *fixed = utf8_fix(argv[i]);

		cJSON_AddItemToArray(subject, cJSON_CreateString(fixed));
		if (!utf8_valid(argv[i]) && b64 == NULL)
			b64 = cJSON_CreateArray();
		free(fixed);
	}
	cJSON_AddItemToObject(o, "subject", subject);
	if (b64 != NULL) {
		static const char digits[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

		for (size_t i = 0; i < n; i++) {
			const unsigned char *s = (const unsigned char *)argv[i];
			size_t len = strlen(argv[i]), k = 0;
			char *enc = xmalloc(len / 3 * 4 + 5);

			for (size_t j = 0; j < len; j += 3) {
				unsigned v = (unsigned)s[j] << 16 | (j + 1 < len ? s[j + 1] << 8 : 0) |
				             (j + 2 < len ? s[j + 2] : 0);

				enc[k++] = digits[v >> 18 & 63];
				enc[k++] = digits[v >> 12 & 63];
				enc[k++] = j + 1 < len ? digits[v >> 6 & 63] : '=';
				enc[k++] = j + 2 < len ? digits[v & 63] : '=';
			}
			enc[k] = '\0';
			cJSON_AddItemToArray(b64, cJSON_CreateString(enc));
			free(enc);
		}
		cJSON_AddItemToObject(o, "subject_b64", b64);
	}
	cJSON_AddNumberToObject(o, "code", 3);
	cJSON_AddNumberToObject(o, "duration_ms", 7);
	cJSON_AddBoolToObject(o, "sandboxed", true);
	text = cJSON_PrintUnformatted(o);
	line = xasprintf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(o);
	return line;
}

/*
 * The subject array is written by hand (no cJSON node per word: a
 * 200k-word argv, issue 11), byte for byte as cJSON printed it: every byte
 * value alone, escapes, DEL, UTF-8 of every length, bytes that are not
 * UTF-8, an empty word, no words at all.
 */
TEST(audit_subject_is_written_as_cjson_prints_it)
{
	char *path = xasprintf("%s/audit.jsonl", test_tmpdir());
	char *bytes[256], *mixed[] = {"printf", "", "a\"b\\c/d", "\x7f\x01\x1f\t\n\r\b\f",
	                              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "bad\xff\xc3",
	                              "\xed\xa0\x80", "tab\there"};
	char *const *cases[] = {bytes + 1, mixed, mixed, mixed};
	size_t sizes[] = {255, 8, 5, 0};

	for (int b = 1; b < 256; b++)
		bytes[b] = xasprintf("%c", b);
	for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++) {
		struct audit *a;
		size_t len;
		char *text, *want;
		cJSON *o;

		unlink(path);
		a = audit_open(path, NULL);
		ASSERT(a != NULL);
		ASSERT_EQ(audit_exit(a, sizes[c], cases[c], 3, 7, true), 0);
		audit_close(a);
		text = test_read_file(path, &len);
		ASSERT(text != NULL);
		o = audit_test__line(text, 0);
		ASSERT(o != NULL);
		want = audit_test__exit_by_cjson(audit_test__str(o, "ts"), sizes[c], cases[c]);
		ASSERT_STR_EQ(text, want);
		cJSON_Delete(o);
		free(want);
		free(text);
	}
	for (int b = 1; b < 256; b++)
		free(bytes[b]);
	free(path);
	return 0;
}

TEST(audit_git_report_becomes_a_line)
{
	char *path = xasprintf("%s/audit.jsonl", test_tmpdir());
	struct audit *a = audit_open(path, NULL);
	char *text;
	cJSON *o;

	ASSERT(a != NULL);
	ASSERT_EQ(audit_git(a,
	                    "{\"ts\":\"2026-01-01T00:00:00.000Z\",\"kind\":\"git\",\"path\":\"/ws/"
	                    "sub/.git\",\"reason\":\"a repository appeared\",\"moved\":[\"/ws/sub/"
	                    ".git/config\"]}",
	                    "/ws", "agent"),
	          0);
	ASSERT_EQ(audit_git(a, "{\"kind\":\"exec\"}", "/ws", "agent"), -EINVAL);
	ASSERT_EQ(audit_git(a, "not json", "/ws", "agent"), -EINVAL);
	audit_close(a);
	text = test_read_file(path, NULL);
	o = audit_test__line(text, 0);
	ASSERT(o != NULL);
	ASSERT_STR_EQ(audit_test__str(o, "kind"), "git");
	ASSERT_STR_EQ(audit_test__str(o, "ts"), "2026-01-01T00:00:00.000Z");
	ASSERT_STR_EQ(audit_test__str(o, "path"), "/ws/sub/.git");
	ASSERT_STR_EQ(audit_test__str(o, "reason"), "a repository appeared");
	ASSERT_STR_EQ(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "moved"), 0)->valuestring,
	              "/ws/sub/.git/config");
	ASSERT_STR_EQ(audit_test__str(o, "cwd"), "/ws");
	ASSERT_STR_EQ(audit_test__str(o, "from"), "agent");
	cJSON_Delete(o);
	ASSERT(audit_test__line(text, 1) == NULL);
	free(text);
	free(path);
	return 0;
}

/*
 * A real full disk: a 64 KiB tmpfs of its own (a private mount namespace,
 * as root), the log filled to the last bytes. Every write that does not fit
 * fails with ENOSPC and leaves the file as it was: each line whole.
 */
TEST(audit_full_disk_leaves_whole_lines_and_says_enospc)
{
	char *dir = xasprintf("%s/small", test_tmpdir());
	char *path = xasprintf("%s/audit.jsonl", dir);
	char *argv[] = {"make", "check", NULL};
	struct audit_decision d = {.kind = AUDIT_EXEC,
	                           .words = argv,
	                           .n_words = 2,
	                           .allow = true,
	                           .by = AUDIT_BY_POLICY,
	                           .scope = AUDIT_SCOPE_ONCE,
	                           .cwd = "/ws",
	                           .from = "cli"};
	struct audit *a;
	int rc = 0, ok = 0, full = 0;
	size_t len;
	char *text;

	if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0)
		SKIP("a tmpfs of its own needs root (unshare: %s)", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		SKIP("%s needs its mounts private, and this root is no mount point (a "
		     "chroot?): %s", "the full disk", strerror(errno));
	ASSERT_EQ(mkdir(dir, 0700), 0);
	ASSERT_EQ(mount("tmpfs", dir, "tmpfs", 0, "size=64k,nr_inodes=16"), 0);
	a = audit_open(path, NULL);
	ASSERT(a != NULL);
	/* Fill: lines of every length, until the disk takes no more. */
	for (int i = 0; i < 4000 && full < 40; i++) {
		char pad[300];

		memset(pad, 'a' + i % 26, sizeof pad - 1);
		pad[(size_t)(i * 37) % (sizeof pad - 1)] = '\0';
		pad[sizeof pad - 1] = '\0';
		char *words[] = {"echo", pad, NULL};
		d.words = words;
		rc = i % 2 == 0 ? audit_decision(a, &d) : audit_exit(a, 2, words, 0, 1, true);
		if (rc == 0) {
			ok++;
		} else {
			ASSERT_EQ(rc, -ENOSPC);
			full++;
		}
	}
	/* The last bytes: a file that fills the disk to the byte takes no line either. */
	d.words = argv;
	ASSERT(full > 0);
	ASSERT_EQ(audit_decision(a, &d), -ENOSPC);
	audit_close(a);
	text = test_read_file(path, &len);
	ASSERT(text != NULL);
	ASSERT(len > 32 * 1024);
	ASSERT_EQ(audit_test__all_valid(text, len), ok);
	free(text);
	umount2(dir, MNT_DETACH);
	free(path);
	free(dir);
	return 0;
}

/*
 * audit.sync: every decision line is in the file as soon as audit_decision
 * returns, in both modes (what the caller acts on next is already written),
 * and closing a batch log ends its sync thread with nothing lost.
 */
TEST(audit_lines_are_written_before_the_caller_acts_in_both_sync_modes)
{
	static const char *const modes[] = {"batch", "always"};
	enum audit_sync mode;

	ASSERT_EQ(audit_sync_parse("sometimes", &mode), -EINVAL);
	for (size_t m = 0; m < 2; m++) {
		char *path = xasprintf("%s/audit-%s.jsonl", test_tmpdir(), modes[m]);
		struct audit *a = audit_open(path, NULL);

		ASSERT(a != NULL);
		ASSERT_EQ(audit_sync_parse(modes[m], &mode), 0);
		audit_set_sync(a, mode);
		for (int i = 0; i < 50; i++) {
			char n[16], *words[] = {"echo", n, NULL}, *text;
			struct audit_decision d = {.kind = AUDIT_EXEC,
			                           .words = words,
			                           .n_words = 2,
			                           .allow = true,
			                           .by = AUDIT_BY_POLICY,
			                           .scope = AUDIT_SCOPE_ONCE,
			                           .cwd = "/ws",
			                           .from = "cli"};
			char *want = xasprintf("[\"echo\",\"%d\"]", i);

			snprintf(n, sizeof n, "%d", i);
			ASSERT_EQ(audit_decision(a, &d), 0);
			text = test_read_file(path, NULL);
			ASSERT(text != NULL);
			ASSERT_CONTAINS(text, want);
			free(text);
			free(want);
		}
		audit_close(a);
		size_t len = 0;
		char *text = test_read_file(path, &len);
		size_t lines = 0;
		for (size_t i = 0; i < len; i++)
			lines += text[i] == '\n';
		ASSERT_EQ(lines, 50);
		free(text);
		free(path);
	}
	return 0;
}

/*
 * A process forked from one whose batch log has its sync thread running
 * (the TUI forks its helpers) can still write and close its copy of the
 * log: it syncs by itself and never joins a thread it does not have.
 */
TEST(audit_batch_log_works_in_a_forked_child)
{
	char *path = xasprintf("%s/audit-fork.jsonl", test_tmpdir());
	char *words[] = {"echo", "parent", NULL}, *child_words[] = {"echo", "child", NULL};
	struct audit_decision d = {.kind = AUDIT_EXEC,
	                           .words = words,
	                           .n_words = 2,
	                           .allow = true,
	                           .by = AUDIT_BY_POLICY,
	                           .scope = AUDIT_SCOPE_ONCE,
	                           .cwd = "/ws",
	                           .from = "cli"};
	struct audit *a = audit_open(path, NULL);
	int st = 0;
	pid_t pid;

	ASSERT(a != NULL);
	audit_set_sync(a, AUDIT_SYNC_BATCH);
	ASSERT_EQ(audit_decision(a, &d), 0); /* starts the thread */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		d.words = child_words;
		int rc = audit_decision(a, &d);
		audit_close(a);
		_exit(rc == 0 ? 0 : 1);
	}
	ASSERT(pid > 0);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	audit_close(a);
	char *text = test_read_file(path, NULL);
	ASSERT_CONTAINS(text, "[\"echo\",\"parent\"]");
	ASSERT_CONTAINS(text, "[\"echo\",\"child\"]");
	free(text);
	free(path);
	return 0;
}
