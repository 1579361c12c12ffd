/*
 * Tests of the policy model (core/policy.h): every interop fixture loads or is
 * refused with a message naming the problem, legacy policies convert to the
 * split shape as SPEC section 2 says, resolution and precedence pick the most
 * specific path, and serialisation round-trips. A key given twice, at any
 * depth, or a "\u0000" in a string is refused by the parser and by the real
 * helper, which runs nothing.
 */
#include "test.h"

#include "core/json-error.h"
#include "core/policy.h"
#include "core/xmalloc.h"

#include <cjson/cJSON.h>
#include <errno.h>

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Parses FIXTURE (a name under fixtures/policies) into OUT; returns policy_load_file's rc. */
static int load_fixture(const char *name, struct policy_split *out, char **cause)
{
	char *rel = xasprintf("fixtures/policies/%s", name);
	char *path = test_datapath(rel);
	int rc = policy_load_file(path, out, cause);

	free(rel);
	free(path);
	return rc;
}

TEST(policy_fixtures_valid_load)
{
	char *dir = test_datapath("fixtures/policies");
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ASSERT(d != NULL);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "valid-", 6) != 0)
			continue;
		struct policy_split s;
		char *cause = NULL;
		int rc = load_fixture(de->d_name, &s, &cause);
		if (rc != 0)
			fprintf(stderr, "%s: %s\n", de->d_name, cause);
		ASSERT_EQ(rc, 0);
		ASSERT(cause == NULL);
		policy_split_free(&s);
		n++;
	}
	closedir(d);
	free(dir);
	ASSERT(n >= 6);
	return 0;
}

TEST(policy_fixtures_invalid_refused)
{
	static const struct {
		const char *file;
		const char *wanted;
	} cases[] = {
	    {"invalid-relative-root.json",
	     "writable_roots[0]: \"build/out\" is not an absolute path"},
	    {"invalid-truncated.json", "invalid JSON at line 2, column 1"},
	    {"invalid-unknown-field.json", "unknown field \"writable_root\""},
	    {"invalid-unknown-type.json", "unknown policy type \"workspace-read\""},
	};
	char *dir = test_datapath("fixtures/policies");
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ASSERT(d != NULL);
	/* Every invalid fixture (also ones added later) is refused with a cause. */
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "invalid-", 8) != 0)
			continue;
		struct policy_split s;
		char *cause = NULL;
		ASSERT_EQ(load_fixture(de->d_name, &s, &cause), -EINVAL);
		ASSERT(cause != NULL);
		ASSERT_CONTAINS(cause, de->d_name);
		free(cause);
		n++;
	}
	closedir(d);
	free(dir);
	ASSERT(n >= 4);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct policy_split s;
		char *cause = NULL;
		ASSERT_EQ(load_fixture(cases[i].file, &s, &cause), -EINVAL);
		ASSERT_CONTAINS(cause, cases[i].wanted);
		free(cause);
	}
	return 0;
}

TEST(policy_invalid_shapes_name_the_problem)
{
	static const struct {
		const char *json;
		const char *wanted;
	} cases[] = {
	    {"[1]", "must be a JSON object"},
	    {"{}", "missing field \"type\""},
	    {"{\"type\":\"read-only\",\"writable_roots\":[]}", "unknown field \"writable_roots\""},
	    {"{\"type\":\"read-only\",\"network_access\":\"yes\"}",
	     "network_access: expected true or false"},
	    {"{\"type\":\"external-sandbox\",\"network_access\":true}",
	     "network_access: expected \"restricted\""},
	    {"{\"type\":\"read-only\",\"access\":{\"type\":\"restricted\",\"readable_roots\":[\"/"
	     "a\",\"b\"]}}",
	     "access.readable_roots[1]: \"b\" is not an absolute path"},
	    {"{\"type\":\"read-only\",\"access\":{\"type\":\"partial\"}}",
	     "unknown access type \"partial\""},
	    {"{\"type\":\"read-only\",\"read_only_access\":{\"type\":\"full-access\"}}",
	     "unknown field \"read_only_access\""},
	    {"{\"type\":\"workspace-write\",\"access\":{\"type\":\"full-access\"}}",
	     "unknown field \"access\""},
	    {"{\"type\":\"read-only\",\"access\":{\"type\":\"full-access\",\"readable_roots\":[]}}",
	     "access: unknown field \"readable_roots\""},
	    {"{\"type\":\"workspace-write\",\"writable_roots\":\"/tmp\"}",
	     "writable_roots: expected an array"},
	    {"{\"type\":\n\"read-only\",\"access\":\n  [1,,]}", "invalid JSON at line 3, column 6"},
	    {"{\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"path\",\"path\":\"rel\"},"
	     "\"access\":\"read\"}]}",
	     "entries[0].path.path: \"rel\" is not an absolute path"},
	    {"{\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"special\",\"value\":{"
	     "\"kind\":\"home\"}},\"access\":\"read\"}]}",
	     "entries[0].path.value.kind: unknown special path \"home\""},
	    {"{\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"path\",\"path\":\"/"
	     "a\"},\"access\":\"exec\"}]}",
	     "entries[0].access: expected \"read\", \"write\" or \"none\""},
	    {"{\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"path\",\"path\":\"/"
	     "a\"},\"access\":\"read\",\"x\":1}]}",
	     "entries[0]: unknown field \"x\""},
	    {"{\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"glob\"},\"access\":"
	     "\"read\"}]}",
	     "unknown path type \"glob\""},
	    {"{\"kind\":\"unrestricted\",\"entries\":[]}", "unknown field \"entries\""},
	    {"{\"kind\":\"locked\"}", "unknown file-system policy kind \"locked\""},
	    {"{\"kind\":\"restricted\"}", "entries: expected an array"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct policy_split s;
		char *cause = NULL;
		ASSERT_EQ(policy_parse(cases[i].json, &s, &cause), -EINVAL);
		ASSERT_CONTAINS(cause, cases[i].wanted);
		free(cause);
	}
	return 0;
}

TEST(policy_net_parse_words)
{
	enum policy_net n;
	char *cause = NULL;

	ASSERT_EQ(policy_net_parse("\"restricted\"", &n, NULL), 0);
	ASSERT_EQ(n, POLICY_NET_RESTRICTED);
	ASSERT_EQ(policy_net_parse("\"enabled\"", &n, NULL), 0);
	ASSERT_EQ(n, POLICY_NET_ENABLED);
	ASSERT_EQ(policy_net_parse("proxy", &n, NULL), 0);
	ASSERT_EQ(n, POLICY_NET_PROXY);
	ASSERT_EQ(policy_net_parse("\"open\"", &n, &cause), -EINVAL);
	ASSERT_CONTAINS(cause, "unknown network policy \"open\"");
	free(cause);
	cause = NULL;
	ASSERT_EQ(policy_net_parse("\"enabled", &n, &cause), -EINVAL);
	ASSERT_CONTAINS(cause, "invalid JSON");
	free(cause);
	return 0;
}

/* Renders a split policy as "net|kind|special-or-path:access,..." for comparisons. */
static char *describe(const struct policy_split *s)
{
	char *fs = policy_fs_to_json(&s->fs);
	char *out = xasprintf("%s %s", policy_net_name(s->net), fs);

	free(fs);
	return out;
}

TEST(policy_legacy_converts_to_split)
{
	static const struct {
		const char *json;
		const char *wanted;
	} cases[] = {
	    {"{\"type\":\"danger-full-access\"}", "enabled {\"kind\":\"unrestricted\"}"},
	    {"{\"type\":\"external-sandbox\",\"network_access\":\"enabled\"}",
	     "enabled {\"kind\":\"external-sandbox\"}"},
	    {"{\"type\":\"external-sandbox\"}", "restricted {\"kind\":\"external-sandbox\"}"},
	    {"{\"type\":\"read-only\"}",
	     "restricted {\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"special\","
	     "\"value\":{\"kind\":\"root\"}},\"access\":\"read\"}]}"},
	    {"{\"type\":\"read-only\",\"network_access\":true,\"access\":{\"type\":\"restricted\","
	     "\"include_platform_defaults\":true,\"readable_roots\":[\"/opt//x/\"]}}",
	     "enabled {\"kind\":\"restricted\",\"entries\":["
	     "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"minimal\"}},\"access\":"
	     "\"read\"},"
	     "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"current_working_directory\"}},"
	     "\"access\":\"read\"},"
	     "{\"path\":{\"type\":\"path\",\"path\":\"/opt/x\"},\"access\":\"read\"}]}"},
	    {"{\"type\":\"read-only\",\"access\":{\"type\":\"restricted\",\"include_platform_"
	     "defaults\":false}}",
	     "restricted {\"kind\":\"restricted\",\"entries\":["
	     "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"current_working_directory\"}},"
	     "\"access\":\"read\"}]}"},
	    {"{\"type\":\"workspace-write\",\"writable_roots\":[\"/w\"]}",
	     "restricted {\"kind\":\"restricted\",\"entries\":["
	     "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"root\"}},\"access\":\"read\"},"
	     "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"current_working_directory\"}},"
	     "\"access\":\"write\"},"
	     "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"slash_tmp\"}},\"access\":"
	     "\"write\"},"
	     "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"tmpdir\"}},\"access\":"
	     "\"write\"},"
	     "{\"path\":{\"type\":\"path\",\"path\":\"/w\"},\"access\":\"write\"}]}"},
	    {"{\"type\":\"workspace-write\",\"network_access\":true,\"exclude_slash_tmp\":true,"
	     "\"exclude_tmpdir_env_var\":true}",
	     "enabled {\"kind\":\"restricted\",\"entries\":["
	     "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"root\"}},\"access\":\"read\"},"
	     "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"current_working_directory\"}},"
	     "\"access\":\"write\"}]}"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct policy_split s;
		char *cause = NULL;
		int rc = policy_parse(cases[i].json, &s, &cause);
		if (rc != 0)
			fprintf(stderr, "case %zu: %s\n", i, cause);
		ASSERT_EQ(rc, 0);
		char *d = describe(&s);
		ASSERT_STR_EQ(d, cases[i].wanted);
		free(d);
		policy_split_free(&s);
	}
	return 0;
}

TEST(policy_split_json_round_trips)
{
	char *path = test_datapath("fixtures/policies/valid-split-fs.json");
	char *text = test_read_file(path, NULL);
	struct policy_fs fs, again;
	struct policy_split a = {0}, b = {0};

	ASSERT(text != NULL);
	ASSERT_EQ(policy_fs_parse(text, &fs, NULL), 0);
	ASSERT_EQ(fs.kind, POLICY_FS_RESTRICTED);
	ASSERT_EQ(fs.n_entries, 4);
	ASSERT_EQ(fs.entries[3].special, POLICY_SPECIAL_NONE);
	ASSERT_STR_EQ(fs.entries[3].path, "/root/.ssh");
	ASSERT_EQ(fs.entries[3].access, POLICY_ACCESS_NONE);
	char *json = policy_fs_to_json(&fs);
	ASSERT_EQ(policy_fs_parse(json, &again, NULL), 0);
	a.fs = fs;
	b.fs = again;
	ASSERT(policy_split_equal(&a, &b));
	b.net = POLICY_NET_PROXY;
	ASSERT(!policy_split_equal(&a, &b));
	b.net = a.net;
	again.entries[1].access = POLICY_ACCESS_READ;
	b.fs = again;
	ASSERT(!policy_split_equal(&a, &b));
	char *net = policy_net_to_json(POLICY_NET_PROXY);
	ASSERT_STR_EQ(net, "\"proxy\"");
	free(net);
	free(json);
	free(text);
	free(path);
	policy_fs_free(&fs);
	policy_fs_free(&again);
	return 0;
}

TEST(policy_paths_normalize)
{
	static const char *const cases[][2] = {
	    {"/", "/"},
	    {"//", "/"},
	    {"/a/", "/a"},
	    {"/a//b/./c", "/a/b/c"},
	    {"/a/b/../c", "/a/c"},
	    {"/../..", "/"},
	    {"/a/..", "/"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *n = policy_path_normalize(cases[i][0]);
		ASSERT_STR_EQ(n, cases[i][1]);
		free(n);
	}
	ASSERT(policy_path_normalize("a/b") == NULL);
	ASSERT(policy_path_normalize("") == NULL);
	return 0;
}

TEST(policy_resolve_workspace_write)
{
	struct policy_split s;
	struct policy_resolved r;
	char *cause = NULL;

	ASSERT_EQ(policy_parse("{\"type\":\"workspace-write\",\"writable_roots\":[\"/ws/extra\"]}",
	                       &s, NULL),
	          0);
	ASSERT_EQ(policy_resolve(&s, "/ws/", "/var/tmp/me", &r, NULL), 0);
	ASSERT_EQ(r.n_entries, 5);
	ASSERT_STR_EQ(r.entries[0].path, "/");
	ASSERT_EQ(r.entries[0].access, POLICY_ACCESS_READ);
	ASSERT_STR_EQ(r.entries[1].path, "/tmp");
	ASSERT_STR_EQ(r.entries[2].path, "/var/tmp/me");
	ASSERT_STR_EQ(r.entries[3].path, "/ws");
	ASSERT_STR_EQ(r.entries[4].path, "/ws/extra");
	for (size_t i = 1; i < 5; i++)
		ASSERT_EQ(r.entries[i].access, POLICY_ACCESS_WRITE);
	policy_resolved_free(&r);

	/* TMPDIR unset or relative: no entry for it. */
	ASSERT_EQ(policy_resolve(&s, "/ws", "relative/tmp", &r, NULL), 0);
	ASSERT_EQ(r.n_entries, 4);
	policy_resolved_free(&r);
	ASSERT_EQ(policy_resolve(&s, "/ws", NULL, &r, NULL), 0);
	ASSERT_EQ(r.n_entries, 4);
	policy_resolved_free(&r);

	ASSERT_EQ(policy_resolve(&s, "ws", NULL, &r, &cause), -EINVAL);
	ASSERT_CONTAINS(cause, "\"ws\" is not an absolute path");
	free(cause);
	policy_split_free(&s);
	return 0;
}

TEST(policy_precedence_most_specific_then_none_write_read)
{
	static const char *json =
	    "{\"kind\":\"restricted\",\"entries\":["
	    "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"root\"}},\"access\":\"read\"},"
	    "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"current_working_directory\"}},"
	    "\"access\":\"write\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/ws/secret\"},\"access\":\"none\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/ws/secret/pub\"},\"access\":\"read\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/ws/tie\"},\"access\":\"read\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/ws/tie\"},\"access\":\"write\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/ws/tie2\"},\"access\":\"none\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/ws/tie2/\"},\"access\":\"write\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/ws/tie3\"},\"access\":\"read\"},"
	    "{\"path\":{\"type\":\"path\",\"path\":\"/ws/tie3\"},\"access\":\"none\"}]}";
	struct policy_split s;
	struct policy_resolved r;
	char *cause = NULL;
	int rc = policy_parse(json, &s, &cause);

	if (rc != 0)
		fprintf(stderr, "%s\n", cause);
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(policy_resolve(&s, "/ws", NULL, &r, NULL), 0);
	ASSERT_EQ(policy_resolved_access(&r, "/etc/passwd"), POLICY_ACCESS_READ);
	ASSERT_EQ(policy_resolved_access(&r, "/"), POLICY_ACCESS_READ);
	ASSERT_EQ(policy_resolved_access(&r, "/ws"), POLICY_ACCESS_WRITE);
	ASSERT_EQ(policy_resolved_access(&r, "/ws/src/a.c"), POLICY_ACCESS_WRITE);
	ASSERT_EQ(policy_resolved_access(&r, "/wsx"), POLICY_ACCESS_READ);
	ASSERT_EQ(policy_resolved_access(&r, "/ws/secret"), POLICY_ACCESS_NONE);
	ASSERT_EQ(policy_resolved_access(&r, "/ws/secret/key"), POLICY_ACCESS_NONE);
	ASSERT_EQ(policy_resolved_access(&r, "/ws/secret/pub/k"), POLICY_ACCESS_READ);
	ASSERT_EQ(policy_resolved_access(&r, "/ws/tie/x"), POLICY_ACCESS_WRITE);
	ASSERT_EQ(policy_resolved_access(&r, "/ws/tie2"), POLICY_ACCESS_NONE);
	ASSERT_EQ(policy_resolved_access(&r, "/ws/tie3"), POLICY_ACCESS_NONE);
	/* Merged: one entry per path. */
	ASSERT_EQ(r.n_entries, 7);
	policy_resolved_free(&r);
	policy_split_free(&s);

	/* Without root, a path under no entry is unreadable. */
	ASSERT_EQ(
	    policy_parse("{\"type\":\"read-only\",\"access\":{\"type\":\"restricted\"}}", &s, NULL),
	    0);
	ASSERT_EQ(policy_resolve(&s, "/ws", NULL, &r, NULL), 0);
	ASSERT_EQ(policy_resolved_access(&r, "/home/u/.ssh/id"), POLICY_ACCESS_NONE);
	ASSERT_EQ(policy_resolved_access(&r, "/usr/bin/cc"), POLICY_ACCESS_READ);
	ASSERT_EQ(policy_resolved_access(&r, "/ws/a"), POLICY_ACCESS_READ);
	policy_resolved_free(&r);
	policy_split_free(&s);

	ASSERT_EQ(policy_parse("{\"type\":\"danger-full-access\"}", &s, NULL), 0);
	ASSERT_EQ(policy_resolve(&s, "/ws", NULL, &r, NULL), 0);
	ASSERT_EQ(policy_resolved_access(&r, "/etc"), POLICY_ACCESS_WRITE);
	policy_resolved_free(&r);
	policy_split_free(&s);
	return 0;
}

TEST(policy_repeated_keys_are_errors)
{
	static const struct {
		const char *json;
		const char *cause;
	} cases[] = {
	    /* cJSON's lookups take the first: this one used to run unsandboxed. */
	    {"{\"type\":\"danger-full-access\",\"type\":\"read-only\"}",
	     "duplicate key \"type\" at line 1, column 30"},
	    {"{\"type\":\"read-only\",\n \"network_access\":false,\n \"network_access\":true}",
	     "duplicate key \"network_access\" at line 3, column 2"},
	    /* Names compare after their escapes: "t\u0079pe" is "type". */
	    {"{\"type\":\"read-only\",\"t\\u0079pe\":\"danger-full-access\"}",
	     "duplicate key \"type\" at line 1, column 21"},
	    /* Fields no shape allows, given twice, are told as repeats (found first). */
	    {"{\"type\":\"read-only\",\"x\":1,\"x\":1}",
	     "duplicate key \"x\" at line 1, column 27"},
	    {"{\"type\":\"read-only\",\"access\":{\"type\":\"restricted\",\"readable_roots\":[],"
	     "\"readable_roots\":[\"/x\"]}}",
	     "duplicate key \"access.readable_roots\" at line 1, column 71"},
	    /* Inside an array of objects. */
	    {"{\"kind\":\"restricted\",\"entries\":[\n"
	     "  "
	     "{\"path\":{\"type\":\"special\",\"value\":{\"kind\":\"root\"}},\"access\":\"read\"},"
	     "\n"
	     "  "
	     "{\"path\":{\"type\":\"path\",\"path\":\"/a\",\"path\":\"/\"},\"access\":\"write\"}]}",
	     "duplicate key \"entries[1].path.path\" at line 3, column 38"},
	    {"{\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"special\",\"value\":{"
	     "\"kind\":\"root\",\"kind\":\"minimal\"}},\"access\":\"read\"}]}",
	     "duplicate key \"entries[0].path.value.kind\" at line 1, column 82"},
	    {"{\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"path\",\"path\":\"/s\"},"
	     "\"access\":\"none\",\"access\":\"write\"}]}",
	     "duplicate key \"entries[0].access\" at line 1, column 85"},
	    {"{\"kind\":\"unrestricted\",\"kind\":\"restricted\",\"entries\":[]}",
	     "duplicate key \"kind\" at line 1, column 24"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct policy_split s;
		char *cause = NULL;
		ASSERT_EQ(policy_parse(cases[i].json, &s, &cause), -EINVAL);
		ASSERT_STR_EQ(cause, cases[i].cause);
		free(cause);
	}

	/* Each entry point refuses them, not only policy_parse. */
	struct policy_legacy l;
	struct policy_fs fs;
	char *cause = NULL;
	ASSERT_EQ(policy_legacy_parse(cases[0].json, &l, &cause), -EINVAL);
	ASSERT_STR_EQ(cause, cases[0].cause);
	free(cause);
	ASSERT_EQ(policy_fs_parse(cases[5].json, &fs, &cause), -EINVAL);
	ASSERT_STR_EQ(cause, cases[5].cause);
	free(cause);
	char *file = xasprintf("%s/p.json", test_tmpdir());
	struct policy_split s;
	ASSERT_EQ(test_write_file(file, cases[0].json), 0);
	ASSERT_EQ(policy_load_file(file, &s, &cause), -EINVAL);
	char *want = xasprintf("%s: %s", file, cases[0].cause);
	ASSERT_STR_EQ(cause, want);
	free(want);
	free(cause);
	free(file);

	/* Names are compared byte for byte: case and Unicode forms differ. */
	ASSERT_EQ(policy_parse("{\"type\":\"read-only\",\"Type\":\"x\"}", &s, &cause), -EINVAL);
	ASSERT_CONTAINS(cause, "unknown field \"Type\"");
	free(cause);
	return 0;
}

TEST(policy_nul_escapes_are_errors)
{
	static const struct {
		const char *json;
		const char *cause;
	} cases[] = {
	    /* cJSON cuts the name at the NUL: airlock read "type", any other reader not. */
	    {"{\"type\\u0000x\":\"danger-full-access\"}",
	     "a string holds a NUL character (\\u0000) at line 1, column 7"},
	    {"{\"type\":\"workspace-write\",\n\"writable_roots\":[\"/tmp\\u0000/../etc\"]}",
	     "a string holds a NUL character (\\u0000) at line 2, column 24"},
	    /* Found before the repeat the cut names would make. */
	    {"{\"type\":\"read-only\",\"a\\u0000\":1,\"a\\u0000\":2}",
	     "a string holds a NUL character (\\u0000) at line 1, column 23"},
	};
	struct policy_split s;
	char *cause = NULL;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ASSERT_EQ(policy_parse(cases[i].json, &s, &cause), -EINVAL);
		ASSERT_STR_EQ(cause, cases[i].cause);
		free(cause);
	}
	/* An escaped backslash followed by "u0000" is no NUL. */
	ASSERT_EQ(
	    policy_parse("{\"type\":\"workspace-write\",\"writable_roots\":[\"/a\\\\u0000\"]}", &s,
	                 &cause),
	    0);
	ASSERT_STR_EQ(s.fs.entries[s.fs.n_entries - 1].path, "/a\\u0000");
	policy_split_free(&s);
	ASSERT(json_nul_escape("\"\\\\\\\\u0000\"") == NULL);
	return 0;
}

/* Parses TEXT and returns json_duplicate_key's path, its offset in *AT (-1: none). */
static char *dup_of(const char *text, long *at)
{
	cJSON *root = cJSON_Parse(text);
	const char *where = NULL;
	char *key;

	*at = -2;
	if (root == NULL)
		return NULL;
	key = json_duplicate_key(root, text, &where);
	*at = where != NULL ? (long)(where - text) : -1;
	cJSON_Delete(root);
	return key;
}

TEST(json_duplicate_key_any_depth_first_in_text)
{
	static const struct {
		const char *text;
		const char *key; /* NULL: none */
		long at;
	} cases[] = {
	    {"{}", NULL, -1},
	    {"[]", NULL, -1},
	    {"\"a\"", NULL, -1},
	    {"{\"a\":1,\"b\":{\"a\":2},\"c\":[{\"a\":3},{\"b\":4}]}", NULL, -1},
	    {"{\"a\":1,\"A\":2}", NULL, -1},
	    /* é precomposed and decomposed: different bytes, different keys. */
	    {"{\"\xc3\xa9\":1,\"e\xcc\x81\":2}", NULL, -1},
	    {"{\"a\":1,\"a\":2}", "a", 7},
	    {"{\"\":1,\"\":2}", "", 6},
	    {"[{\"x\":[]},{\"y\":{\"z\":1,\"z\":2}}]", "[1].y.z", 22},
	    {"{\"l\":[[{\"k\":0}],[{\"k\":1,\"k\":2}]]}", "l[1][0].k", 24},
	    /* The repeat that comes first in the text: inside "b" before the outer "a". */
	    {"{\"a\":1,\"b\":{\"c\":1,\"c\":2},\"a\":3}", "b.c", 18},
	    {"{\"a\":1,\"a\":{\"c\":1,\"c\":2}}", "a", 7},
	    {"{\"a\":{\"c\":1,\"c\":2},\"a\":3}", "a.c", 12},
	    /* Escapes decoded before comparing; strings with quotes and brackets skipped. */
	    {"{\"s\":\"}]\\\"{[\",\"\\u0073\":1}", "s", 14},
	    {"\xef\xbb\xbf {\"a\" : \"x\" ,\n\t\"a\":1}", "a", 18},
	    /* Control bytes in a name are written \xNN. */
	    {"{\"\\n\":1,\"\\n\":2}", "\\x0a", 8},
	    {"{\"a.b\":{\"\\u0000x\":1,\"\\u0000y\":2}}", "a.b.", 20},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long at;
		char *key = dup_of(cases[i].text, &at);
		if (cases[i].key == NULL) {
			ASSERT(key == NULL);
			ASSERT_EQ(at, -1);
		} else {
			ASSERT_STR_EQ(key, cases[i].key);
			ASSERT_EQ(at, cases[i].at);
		}
		free(key);
	}

	/* A long name is cut in the path, on a character boundary. */
	char name[201];
	memset(name, 'n', 200);
	name[200] = '\0';
	memcpy(name + 63, "\xc3\xa9", 2); /* across the 64-byte cut */
	char *text = xasprintf("{\"%s\":1,\"%s\":2}", name, name);
	long at;
	char *key = dup_of(text, &at);
	ASSERT_EQ(strlen(key), 63 + 3);
	ASSERT_EQ(strncmp(key, name, 63), 0);
	ASSERT_STR_EQ(key + 63, "...");
	ASSERT_EQ(at, 206);
	free(key);
	free(text);

	/* Without the text there is no position, but still the key. */
	cJSON *root = cJSON_Parse("{\"q\":[1,{\"r\":1,\"r\":1}]}");
	const char *where = "unset";
	key = json_duplicate_key(root, NULL, &where);
	ASSERT_STR_EQ(key, "q[1].r");
	ASSERT(where == NULL);
	free(key);
	cJSON_Delete(root);
	return 0;
}

/* Milliseconds json_duplicate_key takes on TEXT; its path in *KEY. */
static long dup_timed(const char *text, char **key, const char **where)
{
	cJSON *root = cJSON_Parse(text);
	struct timespec t0, t1;

	*key = NULL;
	if (root == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	*key = json_duplicate_key(root, text, where);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cJSON_Delete(root);
	return (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
}

TEST(json_duplicate_key_large_objects_stay_fast)
{
	/* 200,000 members: compared pairwise that is 2e10 comparisons, far past the timeout. */
	enum { N = 200000 };
	size_t cap = (size_t)N * 24 + 64, len = 0, last;
	char *text = xmalloc(cap), *key;
	const char *where;

	text[len++] = '{';
	for (int i = 0; i < N; i++) /* k0..k199999 in a scrambled order (7919 is prime) */
		len += (size_t)snprintf(text + len, cap - len, "%s\"k%ld\":%d", i ? "," : "",
		                        (long)i * 7919 % N, i);
	last = len;
	strcpy(text + len, "}");
	long ms = dup_timed(text, &key, &where);
	fprintf(stderr, "  no repeat: %ld ms\n", ms);
	ASSERT(ms >= 0 && ms < 5000);
	ASSERT(key == NULL);

	snprintf(text + last, cap - last, ",\"k%ld\":0}", 5L * 7919 % N);
	ms = dup_timed(text, &key, &where);
	fprintf(stderr, "  one repeat: %ld ms\n", ms);
	ASSERT(ms >= 0 && ms < 5000);
	char *want = xasprintf("k%ld", 5L * 7919 % N);
	ASSERT_STR_EQ(key, want);
	ASSERT_EQ(where - text, (long)last + 1);
	free(want);
	free(key);
	free(text);
	return 0;
}

/* Runs the real helper as UID in WS with FLAGS (NULL-terminated) and `touch WS/ran`. */
static int helper_run(struct test_run *r, uid_t uid, const char *ws, const char *const *flags)
{
	const char *e = getenv("AIRLOCK_SANDBOX_EXE");
	char *exe = e != NULL ? xstrdup(e) : test_buildpath("airlock-sandbox");
	char *ran = xasprintf("%s/ran", ws);
	char *argv[16];
	size_t n = 0;
	int rc;

	argv[n++] = exe;
	argv[n++] = "--sandbox-policy-cwd";
	argv[n++] = (char *)ws;
	for (size_t i = 0; flags[i] != NULL && n < 12; i++)
		argv[n++] = (char *)flags[i];
	argv[n++] = "--";
	argv[n++] = "touch";
	argv[n++] = ran;
	argv[n] = NULL;
	rc = test_run(r, argv, NULL, ws, NULL, uid, 30);
	free(ran);
	free(exe);
	return rc;
}

/* The helper refuses each policy flag with a repeated key (or a NUL), as UID: exit 2, nothing run.
 */
static int helper_refuses_as(uid_t uid)
{
	static const struct {
		const char *flags[8];
		const char *err;
	} cases[] = {
	    {{"--sandbox-policy", "{\"type\":\"danger-full-access\",\"type\":\"read-only\"}", NULL},
	     "airlock: --sandbox-policy: duplicate key \"type\" at line 1, column 30\n"},
	    {{"--sandbox-policy", "{\"type\":\"read-only\",\"type\":\"danger-full-access\"}", NULL},
	     "airlock: --sandbox-policy: duplicate key \"type\" at line 1, column 21\n"},
	    {{"--sandbox-policy={\"type\":\"workspace-write\",\"writable_roots\":[],"
	      "\"writable_roots\":[\"/\"]}",
	      NULL},
	     "airlock: --sandbox-policy: duplicate key \"writable_roots\" at line 1, column 47\n"},
	    {{"--file-system-sandbox-policy",
	      "{\"kind\":\"restricted\",\"entries\":[{\"path\":{\"type\":\"special\",\"value\":{"
	      "\"kind\":\"root\"}},\"access\":\"read\",\"access\":\"write\"}]}",
	      "--network-sandbox-policy", "\"restricted\"", NULL},
	     "airlock: --file-system-sandbox-policy: duplicate key \"entries[0].access\" at line "
	     "1, column 100\n"},
	    {{"--sandbox-policy", "{\"type\":\"read-only\"}", "--proxy-route-spec",
	      "{\"routes\":[{\"port\":1,\"port\":2}]}", NULL},
	     "airlock: --proxy-route-spec: duplicate key \"routes[0].port\" at line 1, column "
	     "22\n"},
	    {{"--sandbox-policy", "{\"type\\u0000\":\"danger-full-access\"}", NULL},
	     "airlock: --sandbox-policy: a string holds a NUL character (\\u0000) at line 1, "
	     "column 7\n"},
	    {{"--sandbox-policy", "{\"type\":\"read-only\"}", "--proxy-route-spec", "{", NULL},
	     "airlock: --proxy-route-spec: invalid JSON at line 1, column 2 (unexpected end of "
	     "input)\n"},
	};
	char *ws = xasprintf("%s/ws-%ld", test_tmpdir(), (long)uid);
	char *ran = xasprintf("%s/ran", ws);
	struct stat st;

	ASSERT_EQ(mkdir(ws, 0755), 0);
	if (uid != (uid_t)-1)
		ASSERT_EQ(chown(ws, uid, uid), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct test_run r;
		ASSERT_EQ(helper_run(&r, uid, ws, cases[i].flags), 0);
		ASSERT_STR_EQ(r.err, cases[i].err);
		ASSERT_EQ(r.status, 2);
		ASSERT_EQ(stat(ran, &st), -1);
		test_run_free(&r);
	}
	free(ran);
	free(ws);
	return 0;
}

TEST(policy_helper_refuses_repeated_keys)
{
	long u = test_unprivileged_uid();

	if (helper_refuses_as((uid_t)-1) != 0)
		return 1;
	if (u < 0)
		SKIP("%s: checked as this user only", test_unprivileged_skip_reason());
	return helper_refuses_as((uid_t)u);
}
