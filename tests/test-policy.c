/*
 * Tests of the policy model (core/policy.h): every interop fixture loads or is
 * refused with a message naming the problem, legacy policies convert to the
 * split shape as SPEC section 2 says, resolution and precedence pick the most
 * specific path, and serialisation round-trips.
 */
#include "test.h"

#include "core/policy.h"
#include "core/xmalloc.h"

#include <errno.h>

#include <dirent.h>
#include <stdlib.h>

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
