/*
 * config.json: defaults load, every key is checked, unknown keys and bad
 * values are errors naming the file and the key, a key given twice is an
 * error with its line and column, and a missing file is no error at all.
 */
#include "test.h"

#include "core/config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

TEST(config_full_file_loads)
{
	struct config c;
	char *cause = NULL;
	const char *text =
	    "{\"sandbox\":\"read-only\",\"ask_for_approval\":\"untrusted\","
	    "\"writable_roots\":[\"/srv/a\"],\"protected_paths\":[\"secrets\"],"
	    "\"git_protection\":\"full\",\"network\":{\"mode\":\"off\","
	    "\"allowed_domains\":[\"*.example.com\"],\"denied_domains\":[\"ads.test\"],"
	    "\"host_loopback_ports\":[3000,8080]}}";

	ASSERT_EQ(config_parse(&c, text, "config.json", &cause), 0);
	ASSERT_STR_EQ(c.sandbox, "read-only");
	ASSERT_STR_EQ(c.approval, "untrusted");
	ASSERT_STR_EQ(c.network, "off");
	ASSERT_EQ(c.n_writable_roots, 1);
	ASSERT_STR_EQ(c.writable_roots[0], "/srv/a");
	ASSERT_EQ(c.n_protected_paths, 1);
	ASSERT(c.git_protection_full);
	ASSERT_EQ(c.n_allowed_domains, 1);
	ASSERT_STR_EQ(c.denied_domains[0], "ads.test");
	ASSERT_EQ(c.n_host_loopback_ports, 2);
	ASSERT_EQ(c.host_loopback_ports[1], 8080);
	config_free(&c);
	return 0;
}

/* The limits and modes of this round: agent.idle_timeout_ms and audit.sync. */
TEST(config_agent_idle_timeout_and_audit_sync)
{
	struct config c;
	char *cause = NULL;

	ASSERT_EQ(config_parse(&c, "{\"agent\":{\"idle_timeout_ms\":1500},"
	                           "\"audit\":{\"sync\":\"always\"}}",
	                       "config.json", &cause),
	          0);
	ASSERT_EQ(c.agent_idle_ms, 1500);
	ASSERT_STR_EQ(c.audit_sync, "always");
	config_free(&c);
	ASSERT_EQ(config_parse(&c, "{}", "config.json", &cause), 0);
	ASSERT_EQ(c.agent_idle_ms, 0);
	ASSERT(c.audit_sync == NULL);
	config_free(&c);
	return 0;
}

/* One bad config and the exact message it must produce. */
struct config_bad_case {
	const char *text;
	const char *cause;
};

static const struct config_bad_case config_bad_cases[] = {
    {"{\"sandbox\":\"workspace\"}",
     "c.json:1:2: \"sandbox\": \"workspace\" is not one of read-only, workspace-write, "
     "danger-full-access"},
    {"{\"sandboxx\":\"read-only\"}", "c.json:1:2: unknown key \"sandboxx\""},
    {"{\"network\":{\"mod\":\"off\"}}", "c.json:1:13: unknown key \"network.mod\""},
    {"{\"network\":{\"mode\":\"maybe\"}}",
     "c.json:1:13: \"network.mode\": \"maybe\" is not one of off, ask, on"},
    {"{\"network\":[]}", "c.json:1:2: \"network\" must be an object"},
    {"{\"agent\": {\"idle_timeout_ms\": 0}}",
     "c.json:1:12: \"agent.idle_timeout_ms\": must be a whole number of milliseconds from 1 "
     "to 86400000"},
    {"{\"audit\": {\"sync\": \"never\"}}",
     "c.json:1:12: \"audit.sync\": \"never\" is not one of batch, always"},
    {"{\"writable_roots\":[\"rel/dir\"]}",
     "c.json:1:2: \"writable_roots\": [0]: \"rel/dir\" is not an absolute path"},
    {"{\"writable_roots\":\"/x\"}", "c.json:1:2: \"writable_roots\": must be an array of strings"},
    {"{\"network\":{\"host_loopback_ports\":[0]}}",
     "c.json:1:13: \"network.host_loopback_ports\": [0] must be a port number from 1 to 65535"},
    {"{\"network\":{\"host_loopback_ports\":[80.5]}}",
     "c.json:1:13: \"network.host_loopback_ports\": [0] must be a port number from 1 to 65535"},
    {"[]", "c.json:1:1: the top level must be an object"},
    /* A semantic error names the line and column of its key. */
    {"{\n  \"sandbox\": \"read-only\",\n  \"network\": {\n    \"mode\": \"maybe\"\n  }\n}",
     "c.json:4:5: \"network.mode\": \"maybe\" is not one of off, ask, on"},
    {"{\"network\":{\"head_timeout_ms\":0}}",
     "c.json:1:13: \"network.head_timeout_ms\": must be a whole number of milliseconds from 1 "
     "to 3600000"},
    {"{\n  \"sandbox\": \"read-only\",\n  oops\n}", "c.json:3:3: malformed JSON"},
    {"{\"sandbox\":\"read-only\"} trailing", "c.json:1:25: malformed JSON"},
};

TEST(config_bad_values_are_errors)
{
	for (size_t i = 0; i < sizeof config_bad_cases / sizeof config_bad_cases[0]; i++) {
		struct config c;
		char *cause = NULL;
		ASSERT_EQ(config_parse(&c, config_bad_cases[i].text, "c.json", &cause), -22);
		ASSERT_STR_EQ(cause, config_bad_cases[i].cause);
		free(cause);
	}
	return 0;
}

TEST(config_repeated_key_is_an_error)
{
	static const struct config_bad_case cases[] = {
	    /* The last one used to win: a second "sandbox" quietly replaced the first. */
	    {"{\"sandbox\": \"read-only\",\n \"sandbox\": \"danger-full-access\"}\n",
	     "c.json:2:2: duplicate key \"sandbox\""},
	    {"{\"network\": {\"mode\": \"off\",\n   \"allowed_domains\": [],\n   \"mode\": "
	     "\"on\"}}",
	     "c.json:3:4: duplicate key \"network.mode\""},
	    {"{\"network\": {\"mode\": \"off\"}, \"network\": {\"mode\": \"on\"}}",
	     "c.json:1:30: duplicate key \"network\""},
	    /* Spelt differently, the same name once its escapes are read. */
	    {"{\"writable_roots\": [],\n\t\"writable_\\u0072oots\": [\"/\"]}",
	     "c.json:2:2: duplicate key \"writable_roots\""},
	    /* Repeated where no key is known is still told as a repeat, with its place. */
	    {"{\"x\": [{\"a\": 1}, {\"b\": 1, \"b\": 2}]}",
	     "c.json:1:27: duplicate key \"x[1].b\""},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct config c;
		char *cause = NULL;
		ASSERT_EQ(config_parse(&c, cases[i].text, "c.json", &cause), -22);
		ASSERT_STR_EQ(cause, cases[i].cause);
		free(cause);
	}
	/* A NUL would cut a path short: refused where it stands. */
	struct config c;
	char *cause = NULL;
	ASSERT_EQ(config_parse(&c, "{\"writable_roots\": [\"/srv\\u0000x\"]}", "c.json", &cause),
	          -22);
	ASSERT_STR_EQ(cause, "c.json:1:26: a string holds a NUL character (\\u0000)");
	free(cause);
	/* Case matters: these are two keys, and "Sandbox" is an unknown one. */
	ASSERT_EQ(config_parse(&c, "{\"sandbox\":\"read-only\",\"Sandbox\":\"read-only\"}",
	                       "c.json", &cause),
	          -22);
	ASSERT_STR_EQ(cause, "c.json:1:24: unknown key \"Sandbox\"");
	free(cause);
	return 0;
}

TEST(config_missing_file_is_defaults)
{
	struct config c;
	char *cause = NULL;

	ASSERT_EQ(config_load(&c, test_tmpdir(), &cause), 0);
	ASSERT(c.sandbox == NULL);
	ASSERT_EQ(c.n_writable_roots, 0);
	config_free(&c);
	return 0;
}

TEST(config_home_resolution)
{
	char *h;

	setenv("AIRLOCK_HOME", "/from/env", 1);
	h = config_home("/from/flag");
	ASSERT_STR_EQ(h, "/from/flag");
	free(h);
	h = config_home(NULL);
	ASSERT_STR_EQ(h, "/from/env");
	free(h);
	unsetenv("AIRLOCK_HOME");
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	h = config_home(NULL);
	ASSERT_STR_EQ(h, "/xdg/airlock");
	free(h);
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/u", 1);
	h = config_home(NULL);
	ASSERT_STR_EQ(h, "/home/u/.config/airlock");
	free(h);
	return 0;
}

TEST(config_environment_keep_and_set)
{
	struct config c;
	char *cause = NULL;

	ASSERT_EQ(config_parse(&c,
	                       "{\"environment\":{\"keep\":[\"GITHUB_TOKEN\",\"my_key\"],"
	                       "\"set\":{\"CI\":\"1\",\"EMPTY\":\"\",\"A_TOKEN\":\"x=y\"}}}",
	                       "c.json", &cause),
	          0);
	ASSERT_EQ(c.n_environment_keep, 2);
	ASSERT_STR_EQ(c.environment_keep[1], "my_key");
	ASSERT_EQ(c.n_environment_set, 3);
	ASSERT_STR_EQ(c.environment_set[0], "CI=1");
	ASSERT_STR_EQ(c.environment_set[1], "EMPTY=");
	ASSERT_STR_EQ(c.environment_set[2], "A_TOKEN=x=y");
	config_free(&c);

	static const struct config_bad_case bad[] = {
	    {"{\"environment\":{\"kept\":[]}}", "c.json:1:17: unknown key \"environment.kept\""},
	    {"{\"environment\":[]}", "c.json:1:2: \"environment\" must be an object"},
	    {"{\"environment\":{\"keep\":\"GITHUB_TOKEN\"}}",
	     "c.json:1:17: \"environment.keep\": must be an array of strings"},
	    {"{\"environment\":{\"keep\":[\"A=B\"]}}",
	     "c.json:1:17: \"environment.keep\": [0]: \"A=B\" is not a variable name"},
	    {"{\"environment\":{\"keep\":[\"\"]}}",
	     "c.json:1:17: \"environment.keep\": [0] must be a non-empty string"},
	    {"{\"environment\":{\"set\":[\"CI=1\"]}}",
	     "c.json:1:17: \"environment.set\": must be an object of variable names to strings"},
	    {"{\"environment\":{\"set\":{\"CI\":1}}}",
	     "c.json:1:17: \"environment.set\": \"CI\" must be a string"},
	    {"{\"environment\":{\"set\":{\"A=B\":\"1\"}}}",
	     "c.json:1:17: \"environment.set\": \"A=B\" is not a variable name"},
	    {"{\"environment\":{\"set\":{\"\":\"1\"}}}",
	     "c.json:1:17: \"environment.set\": \"\" is not a variable name"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ASSERT_EQ(config_parse(&c, bad[i].text, "c.json", &cause), -EINVAL);
		ASSERT_STR_EQ(cause, bad[i].cause);
		free(cause);
	}
	return 0;
}
