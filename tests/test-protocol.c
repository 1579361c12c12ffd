/*
 * Tests of the agent protocol's lines (core/protocol.h): requests parsed
 * with every field, every malformed-line message exactly (a key given twice
 * at any depth among them, in requests and events), events built and
 * read back byte for byte, base64 against RFC 4648's vectors, and the line
 * splitter fed byte by byte and with lines over the limit.
 */
#include "test.h"

#include "../core/protocol.h"
#include "../core/xmalloc.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <stdlib.h>

TEST(protocol_parse_exec_with_every_field)
{
	const char *line =
	    "{\"id\":\"1\",\"op\":\"exec\",\"command\":[\"git\",\"push\",\"h\\u00e9\"],"
	    "\"cwd\":\"/ws\",\"sandbox_permissions\":\"require_escalated\","
	    "\"justification\":\"push the fix?\",\"prefix_rule\":[\"git\",\"push\"]}";
	struct protocol_request r;
	char *cause = NULL;

	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT_EQ(r.op, PROTOCOL_EXEC);
	ASSERT_STR_EQ(r.id, "1");
	ASSERT_EQ(r.n_command, 3);
	ASSERT_STR_EQ(r.command[0], "git");
	ASSERT_STR_EQ(r.command[2], "h\xc3\xa9");
	ASSERT(r.command[3] == NULL);
	ASSERT_STR_EQ(r.cwd, "/ws");
	ASSERT_EQ(r.permissions, PROTOCOL_REQUIRE_ESCALATED);
	ASSERT_STR_EQ(r.justification, "push the fix?");
	ASSERT_EQ(r.n_prefix_rule, 2);
	ASSERT_STR_EQ(r.prefix_rule[1], "push");
	ASSERT(r.prefix_rule[2] == NULL);
	protocol_request_free(&r);

	line = "  {\"op\":\"exec\",\"id\":\"x\",\"cwd\":\"/\",\"command\":[\"ls\"]}  \r";
	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT_EQ(r.permissions, PROTOCOL_USE_DEFAULT);
	ASSERT(r.justification == NULL);
	ASSERT(r.prefix_rule == NULL);
	protocol_request_free(&r);
	return 0;
}

TEST(protocol_parse_patch_and_cancel)
{
	const char *line = "{\"id\":\"2\",\"op\":\"apply_patch\",\"cwd\":\"/ws\","
	                   "\"patch\":\"*** Begin Patch\\n*** End Patch\\n\"}";
	struct protocol_request r;
	char *cause = NULL;

	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT_EQ(r.op, PROTOCOL_APPLY_PATCH);
	ASSERT_STR_EQ(r.patch, "*** Begin Patch\n*** End Patch\n");
	ASSERT_STR_EQ(r.cwd, "/ws");
	protocol_request_free(&r);
	line = "{\"id\":\"3\",\"op\":\"cancel\",\"target\":\"1\"}";
	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT_EQ(r.op, PROTOCOL_CANCEL);
	ASSERT_STR_EQ(r.target, "1");
	ASSERT_STR_EQ(r.id, "3");
	protocol_request_free(&r);
	return 0;
}

/* stdin ops and "tty" (issue 11): decoded bytes, an empty one ends the input, both round-trip. */
TEST(protocol_stdin_op_and_tty)
{
	const char *line = "{\"id\":\"4\",\"op\":\"stdin\",\"target\":\"1\",\"data\":\"aGkK\"}";
	struct protocol_request r, back;
	char *cause = NULL, *again;

	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT_EQ(r.op, PROTOCOL_STDIN);
	ASSERT_STR_EQ(r.target, "1");
	ASSERT_EQ(r.data_len, 3u);
	ASSERT(memcmp(r.data, "hi\n", 3) == 0);
	again = protocol_request_format(&r);
	ASSERT_EQ(protocol_parse(again, strlen(again) - 1, &back, &cause), 0);
	ASSERT_EQ(back.data_len, 3u);
	protocol_request_free(&back);
	free(again);
	protocol_request_free(&r);
	line = "{\"id\":\"5\",\"op\":\"stdin\",\"target\":\"1\",\"data\":\"\"}";
	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT_EQ(r.data_len, 0u);
	protocol_request_free(&r);
	line = "{\"id\":\"6\",\"op\":\"stdin\",\"target\":\"1\",\"data\":\"*\"}";
	ASSERT(protocol_parse(line, strlen(line), &r, &cause) != 0);
	ASSERT_STR_EQ(cause, "field \"data\" must be a base64 string");
	free(cause);
	cause = NULL;
	protocol_request_free(&r);
	line = "{\"id\":\"7\",\"op\":\"exec\",\"command\":[\"ls\"],\"cwd\":\"/\",\"tty\":true}";
	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT(r.tty);
	again = protocol_request_format(&r);
	ASSERT_CONTAINS(again, "\"tty\":true");
	free(again);
	protocol_request_free(&r);
	line = "{\"id\":\"8\",\"op\":\"exec\",\"command\":[\"ls\"],\"cwd\":\"/\",\"tty\":1}";
	ASSERT(protocol_parse(line, strlen(line), &r, &cause) != 0);
	ASSERT_STR_EQ(cause, "field \"tty\" must be true or false");
	free(cause);
	protocol_request_free(&r);
	return 0;
}

/* stdio_fds: the streams whose pipes come with the line, in order, each once. */
TEST(protocol_stdio_fds_names_streams_in_order)
{
	const char *line = "{\"id\":\"1\",\"op\":\"exec\",\"command\":[\"ls\"],\"cwd\":\"/\","
	                   "\"stdio_fds\":[\"stderr\",\"stdout\"]}";
	const char *bad[] = {"[\"stdout\",\"stdout\"]", "[\"stdin\"]", "\"stdout\"", "[1]",
	                     "[\"stdout\",\"stderr\",\"stdout\"]"};
	struct protocol_request r;
	char *cause = NULL, *again;

	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), 0);
	ASSERT_EQ(r.n_stdio_fds, 2);
	ASSERT_EQ(r.stdio_fds[0], PROTOCOL_STDERR);
	ASSERT_EQ(r.stdio_fds[1], PROTOCOL_STDOUT);
	ASSERT_EQ(r.stdio_fd[0], -1); /* no descriptor until the server gives one */
	ASSERT_EQ(r.stdio_fd[1], -1);
	again = protocol_request_format(&r);
	ASSERT_CONTAINS(again, "\"stdio_fds\":[\"stderr\",\"stdout\"]");
	free(again);
	protocol_request_free(&r);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *l = xasprintf("{\"id\":\"1\",\"op\":\"exec\",\"command\":[\"ls\"],"
		                    "\"cwd\":\"/\",\"stdio_fds\":%s}",
		                    bad[i]);

		ASSERT(protocol_parse(l, strlen(l), &r, &cause) != 0);
		ASSERT_STR_EQ(cause, "field \"stdio_fds\" must be an array of \"stdout\" and "
		                     "\"stderr\", each at most once");
		free(cause);
		cause = NULL;
		protocol_request_free(&r);
		free(l);
	}
	line = "{\"id\":\"1\",\"op\":\"cancel\",\"target\":\"2\",\"stdio_fds\":[\"stdout\"]}";
	ASSERT(protocol_parse(line, strlen(line), &r, &cause) != 0);
	ASSERT_STR_EQ(cause, "unknown field \"stdio_fds\" for op \"cancel\"");
	free(cause);
	protocol_request_free(&r);
	return 0;
}

TEST(protocol_parse_error_messages)
{
	static const struct {
		const char *line, *error, *id;
	} cases[] = {
	    {"", "not JSON: syntax error at byte 0", NULL},
	    {"{\"id\":", "not JSON: syntax error at byte 6", NULL},
	    {"{\"id\":\"1\"} x", "not JSON: syntax error at byte 11", NULL},
	    {"[1,2]", "not a JSON object", NULL},
	    {"\"op\"", "not a JSON object", NULL},
	    {"{\"id\":\"1\",\"op\":\"exec\",\"id\":\"2\"}", "duplicate field \"id\" at byte 22",
	     NULL},
	    {"{\"op\":\"exec\"}", "missing field \"id\"", NULL},
	    {"{\"id\":1,\"op\":\"exec\"}", "field \"id\" must be a non-empty string", NULL},
	    {"{\"id\":\"\",\"op\":\"exec\"}", "field \"id\" must be a non-empty string", NULL},
	    {"{\"id\":\"7\"}", "missing field \"op\"", "7"},
	    {"{\"id\":\"7\",\"op\":3}", "field \"op\" must be a string", "7"},
	    {"{\"id\":\"7\",\"op\":\"run\"}",
	     "unknown op \"run\" (expected exec, apply_patch, cancel, stdin or "
	     "request_permissions)",
	     "7"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\"],\"justfication\":"
	     "\"x\"}",
	     "unknown field \"justfication\" for op \"exec\"", "7"},
	    {"{\"id\":\"7\",\"op\":\"cancel\",\"target\":\"1\",\"cwd\":\"/\"}",
	     "unknown field \"cwd\" for op \"cancel\"", "7"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\"}", "missing field \"command\"", "7"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"command\":[\"ls\"]}", "missing field \"cwd\"", "7"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[]}",
	     "field \"command\" must be a non-empty array of strings", "7"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":\"ls\"}",
	     "field \"command\" must be a non-empty array of strings", "7"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\",1]}",
	     "field \"command\" must be a non-empty array of strings", "7"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"ws\",\"command\":[\"ls\"]}",
	     "field \"cwd\" must be an absolute path", "7"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\"],"
	     "\"sandbox_permissions\":\"escalate\"}",
	     "field \"sandbox_permissions\" must be \"use_default\", \"require_escalated\" or "
	     "\"with_additional_permissions\"",
	     "7"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\"],"
	     "\"justification\":null}",
	     "field \"justification\" must be a string", "7"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"ls\"],\"prefix_rule\":[]}",
	     "field \"prefix_rule\" must be a non-empty array of strings", "7"},
	    {"{\"id\":\"7\",\"op\":\"apply_patch\",\"cwd\":\"/\",\"patch\":{}}",
	     "field \"patch\" must be a string", "7"},
	    {"{\"id\":\"7\",\"op\":\"apply_patch\",\"cwd\":\"/\"}", "missing field \"patch\"", "7"},
	    {"{\"id\":\"7\",\"op\":\"cancel\"}", "missing field \"target\"", "7"},
	    {"{\"id\":\"7\",\"op\":\"cancel\",\"target\":\"\"}",
	     "field \"target\" must be a non-empty string", "7"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"l\\u0000s\"]}",
	     "a string holds a NUL character (\\u0000)", NULL},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[\"l\\\\u0000s\"]}", NULL,
	     "7"},
	    {"{\"id\":\"7\",\"op\":"
	     "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	     "xxxxxxxxxxxx\"}",
	     "unknown op \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" "
	     "(expected exec, apply_patch, cancel, stdin or request_permissions)",
	     "7"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct protocol_request r;
		char *cause = NULL;
		int rc = protocol_parse(cases[i].line, strlen(cases[i].line), &r, &cause);

		if (cases[i].error == NULL) {
			ASSERT_EQ(rc, 0);
		} else {
			if (rc == 0)
				fprintf(stderr, "case %zu parsed: %s\n", i, cases[i].line);
			ASSERT_EQ(rc, -EINVAL);
			ASSERT_STR_EQ(cause, cases[i].error);
			if (cases[i].id == NULL)
				ASSERT(r.id == NULL);
			else
				ASSERT_STR_EQ(r.id, cases[i].id);
		}
		free(cause);
		protocol_request_free(&r);
	}
	return 0;
}

TEST(protocol_repeated_keys_at_any_depth)
{
	static const struct {
		const char *line, *error;
	} cases[] = {
	    {"{\"id\":\"7\",\"op\":\"cancel\",\"target\":\"1\",\"target\":\"2\"}",
	     "duplicate field \"target\" at byte 37"},
	    {"{\"id\":\"7\",\"op\":\"cancel\",\"target\":\"1\",\"t\\u0061rget\":\"2\"}",
	     "duplicate field \"target\" at byte 37"},
	    /* Told before the unknown field it also is. */
	    {"{\"id\":\"7\",\"op\":\"cancel\",\"target\":\"1\",\"zz\":1,\"zz\":2}",
	     "duplicate field \"zz\" at byte 44"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/"
	     "\",\"command\":[\"ls\"],\"x\":{\"a\":1,\"a\":2}}",
	     "duplicate field \"x.a\" at byte 60"},
	    {"{\"id\":\"7\",\"op\":\"exec\",\"cwd\":\"/\",\"command\":[{\"k\":1,\"k\":2}]}",
	     "duplicate field \"command[0].k\" at byte 50"},
	};
	struct protocol_request r;
	struct protocol_event ev;
	char *cause = NULL;
	const char *line;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ASSERT_EQ(protocol_parse(cases[i].line, strlen(cases[i].line), &r, &cause),
		          -EINVAL);
		ASSERT_STR_EQ(cause, cases[i].error);
		ASSERT(r.id == NULL);
		free(cause);
		protocol_request_free(&r);
	}
	/* Names differ by case: not a repeat, an unknown field. */
	line = "{\"id\":\"7\",\"op\":\"cancel\",\"target\":\"1\",\"Target\":\"2\"}";
	ASSERT_EQ(protocol_parse(line, strlen(line), &r, &cause), -EINVAL);
	ASSERT_STR_EQ(cause, "unknown field \"Target\" for op \"cancel\"");
	free(cause);
	protocol_request_free(&r);

	/* Events too: `airlock submit` must not read an exit code the server did not mean. */
	line = "{\"id\":\"1\",\"event\":\"exit\",\"code\":0,\"code\":1,\"sandboxed\":true}";
	ASSERT_EQ(protocol_event_parse(line, strlen(line), &ev, &cause), -EINVAL);
	ASSERT_STR_EQ(cause, "duplicate field \"code\" at byte 34");
	free(cause);
	protocol_event_free(&ev);
	line = "{\"id\":\"1\",\"id\":\"2\",\"event\":\"queued\"}";
	ASSERT_EQ(protocol_event_parse(line, strlen(line), &ev, &cause), -EINVAL);
	ASSERT_STR_EQ(cause, "duplicate field \"id\" at byte 10");
	free(cause);
	protocol_event_free(&ev);

	/* The position is within the line even when the line is not NUL-terminated. */
	char buf[64];
	line = "{\"id\":\"x\",\"op\":\"cancel\",\"target\":\"1\",\"target\":\"1\"}";
	memcpy(buf, line, strlen(line));
	memset(buf + strlen(line), '}', sizeof buf - strlen(line));
	ASSERT_EQ(protocol_parse(buf, strlen(line), &r, &cause), -EINVAL);
	ASSERT_STR_EQ(cause, "duplicate field \"target\" at byte 37");
	free(cause);
	protocol_request_free(&r);
	return 0;
}

TEST(protocol_parse_refuses_long_lines_and_bad_utf8)
{
	static const struct {
		const char *bytes, *error;
	} bad[] = {
	    {"{\"id\":\"\xc0\x80\"}", "invalid UTF-8 at byte 7"},         /* overlong NUL */
	    {"{\"id\":\"\xed\xa0\x80\"}", "invalid UTF-8 at byte 7"},     /* surrogate */
	    {"{\"id\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8 at byte 7"}, /* > U+10FFFF */
	    {"{\"id\":\"\xe2\x82\"}", "invalid UTF-8 at byte 7"},         /* cut short */
	    {"{\"id\":\"a\xff\"}", "invalid UTF-8 at byte 8"},
	    {"\xe2\x82", "invalid UTF-8 at byte 0"},
	};
	struct protocol_request r;
	char *cause = NULL, *line;
	size_t len = PROTOCOL_MAX_LINE + 1;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ASSERT_EQ(protocol_parse(bad[i].bytes, strlen(bad[i].bytes), &r, &cause), -EINVAL);
		ASSERT_STR_EQ(cause, bad[i].error);
		free(cause);
		protocol_request_free(&r);
	}
	/* Valid multi-byte text passes: 2, 3 and 4 bytes. */
	const char *ok = "{\"id\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"op\":\"cancel\","
	                 "\"target\":\"1\"}";
	ASSERT_EQ(protocol_parse(ok, strlen(ok), &r, &cause), 0);
	ASSERT_STR_EQ(r.id, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	protocol_request_free(&r);

	line = xmalloc(len);
	memset(line, ' ', len);
	ASSERT_EQ(protocol_parse(line, len, &r, &cause), -EINVAL);
	ASSERT_STR_EQ(cause, "line too long (over 1048576 bytes)");
	free(cause);
	protocol_request_free(&r);
	/* Exactly the limit is fine. */
	const char *obj = "{\"id\":\"1\",\"op\":\"cancel\",\"target\":\"1\"}";
	memcpy(line, obj, strlen(obj));
	ASSERT_EQ(protocol_parse(line, PROTOCOL_MAX_LINE, &r, &cause), 0);
	protocol_request_free(&r);
	free(line);
	return 0;
}

TEST(protocol_events_are_exact)
{
	char *s;

	s = protocol_event_queued("1");
	ASSERT_STR_EQ(s, "{\"id\":\"1\",\"event\":\"queued\"}\n");
	free(s);
	s = protocol_event_decision("1", PROTOCOL_APPROVED);
	ASSERT_STR_EQ(s, "{\"id\":\"1\",\"event\":\"decision\",\"decision\":\"approved\"}\n");
	free(s);
	s = protocol_event_decision("1", PROTOCOL_APPROVED_FOR_SESSION);
	ASSERT_STR_EQ(s, "{\"id\":\"1\",\"event\":\"decision\",\"decision\":\"approved_for_"
	                 "session\"}\n");
	free(s);
	s = protocol_event_decision("1", PROTOCOL_APPROVED_RULE);
	ASSERT_CONTAINS(s, "\"decision\":\"approved_rule\"}\n");
	free(s);
	s = protocol_event_decision("1", PROTOCOL_DENIED);
	ASSERT_CONTAINS(s, "\"decision\":\"denied\"}\n");
	free(s);
	s = protocol_event_output("1", PROTOCOL_STDERR, "hi\n", 3);
	ASSERT_STR_EQ(s, "{\"id\":\"1\",\"event\":\"output\",\"stream\":\"stderr\","
	                 "\"data\":\"aGkK\"}\n");
	free(s);
	s = protocol_event_exit("1", 130, true);
	ASSERT_STR_EQ(s, "{\"id\":\"1\",\"event\":\"exit\",\"code\":130,\"sandboxed\":true}\n");
	free(s);
	s = protocol_event_error(NULL, "not a JSON object");
	ASSERT_STR_EQ(s, "{\"id\":null,\"event\":\"error\",\"message\":\"not a JSON object\"}\n");
	free(s);
	s = protocol_event_error("a\"b", "bad \xff byte\nline");
	ASSERT_STR_EQ(s, "{\"id\":\"a\\\"b\",\"event\":\"error\",\"message\":\"bad ? "
	                 "byte\\nline\"}\n");
	free(s);
	return 0;
}

TEST(protocol_events_read_back)
{
	unsigned char bytes[256];
	struct protocol_event ev;
	char *cause = NULL, *s;

	for (int i = 0; i < 256; i++)
		bytes[i] = (unsigned char)i;
	s = protocol_event_output("9", PROTOCOL_STDOUT, bytes, sizeof bytes);
	ASSERT_EQ(protocol_event_parse(s, strlen(s) - 1, &ev, &cause), 0);
	ASSERT_EQ(ev.kind, PROTOCOL_EVENT_OUTPUT);
	ASSERT_EQ(ev.stream, PROTOCOL_STDOUT);
	ASSERT_STR_EQ(ev.id, "9");
	ASSERT_EQ(ev.len, 256);
	ASSERT(memcmp(ev.data, bytes, 256) == 0);
	protocol_event_free(&ev);
	free(s);
	s = protocol_event_exit("9", -1, false);
	ASSERT_EQ(protocol_event_parse(s, strlen(s), &ev, &cause), 0);
	ASSERT_EQ(ev.kind, PROTOCOL_EVENT_EXIT);
	ASSERT_EQ(ev.code, -1);
	ASSERT(!ev.sandboxed);
	protocol_event_free(&ev);
	free(s);
	s = protocol_event_decision("9", PROTOCOL_DENIED);
	ASSERT_EQ(protocol_event_parse(s, strlen(s), &ev, &cause), 0);
	ASSERT_EQ(ev.kind, PROTOCOL_EVENT_DECISION);
	ASSERT_EQ(ev.decision, PROTOCOL_DENIED);
	protocol_event_free(&ev);
	free(s);
	s = protocol_event_error(NULL, "boom");
	ASSERT_EQ(protocol_event_parse(s, strlen(s), &ev, &cause), 0);
	ASSERT_EQ(ev.kind, PROTOCOL_EVENT_ERROR);
	ASSERT(ev.id == NULL);
	ASSERT_STR_EQ(ev.message, "boom");
	protocol_event_free(&ev);
	free(s);

	const char *bad = "{\"id\":\"1\",\"event\":\"exit\",\"code\":1.5,\"sandboxed\":true}";
	ASSERT_EQ(protocol_event_parse(bad, strlen(bad), &ev, &cause), -EINVAL);
	ASSERT_STR_EQ(cause, "event \"exit\": bad or missing field \"code\"");
	free(cause);
	protocol_event_free(&ev);
	bad = "{\"id\":\"1\",\"event\":\"output\",\"stream\":\"stdout\",\"data\":\"a\"}";
	ASSERT_EQ(protocol_event_parse(bad, strlen(bad), &ev, &cause), -EINVAL);
	ASSERT_STR_EQ(cause, "event \"output\": bad or missing field \"data\"");
	free(cause);
	protocol_event_free(&ev);
	bad = "{\"id\":\"1\",\"event\":\"party\"}";
	ASSERT_EQ(protocol_event_parse(bad, strlen(bad), &ev, &cause), -EINVAL);
	ASSERT_STR_EQ(cause, "unknown event \"party\"");
	free(cause);
	protocol_event_free(&ev);
	return 0;
}

TEST(protocol_request_format_round_trips)
{
	char *cmd[] = {"sh", "-c", "echo \"hi\"", NULL}, *prefix[] = {"sh", NULL};
	struct protocol_request in = {.op = PROTOCOL_EXEC,
	                              .id = "1",
	                              .command = cmd,
	                              .n_command = 3,
	                              .cwd = "/w s",
	                              .permissions = PROTOCOL_REQUIRE_ESCALATED,
	                              .justification = "why",
	                              .prefix_rule = prefix,
	                              .n_prefix_rule = 1};
	struct protocol_request out;
	char *cause = NULL, *line = protocol_request_format(&in);

	ASSERT_STR_EQ(line, "{\"id\":\"1\",\"op\":\"exec\",\"command\":[\"sh\",\"-c\",\"echo "
	                    "\\\"hi\\\"\"],\"cwd\":\"/w s\",\"sandbox_permissions\":\"require_"
	                    "escalated\",\"justification\":\"why\",\"prefix_rule\":[\"sh\"]}\n");
	ASSERT_EQ(protocol_parse(line, strlen(line) - 1, &out, &cause), 0);
	ASSERT_STR_EQ(out.command[2], "echo \"hi\"");
	ASSERT_EQ(out.permissions, PROTOCOL_REQUIRE_ESCALATED);
	ASSERT_STR_EQ(out.prefix_rule[0], "sh");
	protocol_request_free(&out);
	free(line);

	struct protocol_request c = {.op = PROTOCOL_CANCEL, .id = "2", .target = "1"};
	line = protocol_request_format(&c);
	ASSERT_STR_EQ(line, "{\"id\":\"2\",\"op\":\"cancel\",\"target\":\"1\"}\n");
	free(line);
	return 0;
}

TEST(protocol_base64_vectors)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
	                                    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	static const char *const invalid[] = {"Zg=", "Z===", "Zg==Zg==", "Zm9v!A==", "=Zg="};
	size_t n;

	for (size_t i = 0; i < 7; i++) {
		char *e = protocol_base64_encode(plain[i], strlen(plain[i]));
		unsigned char *d = protocol_base64_decode(coded[i], strlen(coded[i]), &n);

		ASSERT_STR_EQ(e, coded[i]);
		ASSERT(d != NULL);
		ASSERT_EQ(n, strlen(plain[i]));
		ASSERT_STR_EQ((char *)d, plain[i]);
		free(e);
		free(d);
	}
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		unsigned char *d = protocol_base64_decode(invalid[i], strlen(invalid[i]), &n);

		if (d != NULL)
			fprintf(stderr, "decoded %s\n", invalid[i]);
		ASSERT(d == NULL);
	}
	return 0;
}

/* What the splitter handed over, joined as "line|" or "TOO_LONG|". */
struct test_protocol_lines {
	char *seen;
};

/* Records one line from the splitter. */
static void test_protocol_line(void *arg, const char *line, size_t len, bool too_long)
{
	struct test_protocol_lines *t = arg;
	char *next = too_long ? xasprintf("%sTOO_LONG|", t->seen)
	                      : xasprintf("%s%.*s|", t->seen, (int)len, line);

	free(t->seen);
	t->seen = next;
}

TEST(protocol_splitter_cuts_lines)
{
	const char *stream = "one\ntwo\r\n\nthree-is-longer-than-ten\nfour\nfive-long-too\nsix";
	struct protocol_splitter s;
	struct test_protocol_lines t = {.seen = xstrdup("")};

	/* Byte by byte, with a limit of 10. */
	protocol_splitter_init(&s, 10);
	for (size_t i = 0; i < strlen(stream); i++) {
		protocol_splitter_feed(&s, stream + i, 1, test_protocol_line, &t);
		ASSERT(s.cap <= 10);
	}
	protocol_splitter_finish(&s, test_protocol_line, &t);
	ASSERT_STR_EQ(t.seen, "one|two||TOO_LONG|four|TOO_LONG|six|");
	protocol_splitter_free(&s);
	free(t.seen);

	/* All at once gives the same. */
	t.seen = xstrdup("");
	protocol_splitter_init(&s, 10);
	protocol_splitter_feed(&s, stream, strlen(stream), test_protocol_line, &t);
	protocol_splitter_finish(&s, test_protocol_line, &t);
	ASSERT_STR_EQ(t.seen, "one|two||TOO_LONG|four|TOO_LONG|six|");
	protocol_splitter_free(&s);
	free(t.seen);

	/* A too-long line with no end is reported once, then nothing at finish. */
	t.seen = xstrdup("");
	protocol_splitter_init(&s, 4);
	protocol_splitter_feed(&s, "abcdefgh", 8, test_protocol_line, &t);
	protocol_splitter_feed(&s, "ijkl", 4, test_protocol_line, &t);
	protocol_splitter_finish(&s, test_protocol_line, &t);
	ASSERT_STR_EQ(t.seen, "TOO_LONG|");
	protocol_splitter_free(&s);
	free(t.seen);
	return 0;
}

TEST(protocol_splitter_holds_at_most_the_limit)
{
	struct protocol_splitter s;
	struct test_protocol_lines t = {.seen = xstrdup("")};
	char *chunk = xmalloc(65536);

	memset(chunk, 'x', 65536);
	protocol_splitter_init(&s, PROTOCOL_MAX_LINE);
	/* 4 MB without a newline: one report, and the buffer stays within 1 MB. */
	for (int i = 0; i < 64; i++) {
		protocol_splitter_feed(&s, chunk, 65536, test_protocol_line, &t);
		ASSERT(s.cap <= PROTOCOL_MAX_LINE);
	}
	protocol_splitter_feed(&s, "\nok\n", 4, test_protocol_line, &t);
	ASSERT_STR_EQ(t.seen, "TOO_LONG|ok|");
	protocol_splitter_free(&s);
	free(t.seen);
	free(chunk);
	return 0;
}

/*
 * Output events are written and read by hand (no JSON tree): for ids that
 * need escaping or not, every length of random data, both streams, what
 * protocol_event_output writes reads back the same through
 * protocol_event_parse and through cJSON; lines that differ from that
 * exact shape (an '=' inside the data, a field more, another stream word)
 * are read by the general parser, as before.
 */
TEST(protocol_output_events_by_hand_agree_with_json)
{
	static const char *const ids[] = {"1", "req-42", "quote\"d", "back\\slash", "tab\there",
	                                  "caf\xc3\xa9", "", NULL};
	unsigned seed = 7;

	for (size_t k = 0; k < sizeof ids / sizeof *ids; k++) {
		for (size_t len = 0; len < 300; len += len < 10 ? 1 : 37) {
			unsigned char buf[300];
			struct protocol_event ev;
			char *cause = NULL, *line;
			cJSON *o;

			for (size_t i = 0; i < len; i++)
				buf[i] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 16);
			line = protocol_event_output(ids[k], len % 2 ? PROTOCOL_STDERR : PROTOCOL_STDOUT,
			                             buf, len);
			ASSERT(line[strlen(line) - 1] == '\n');
			o = cJSON_Parse(line);
			ASSERT(o != NULL);
			ASSERT_STR_EQ(cJSON_GetObjectItem(o, "event")->valuestring, "output");
			ASSERT_STR_EQ(cJSON_GetObjectItem(o, "stream")->valuestring,
			              len % 2 ? "stderr" : "stdout");
			if (ids[k] != NULL)
				ASSERT_STR_EQ(cJSON_GetObjectItem(o, "id")->valuestring, ids[k]);
			else
				ASSERT(cJSON_IsNull(cJSON_GetObjectItem(o, "id")));
			cJSON_Delete(o);
			ASSERT_EQ(protocol_event_parse(line, strlen(line) - 1, &ev, &cause), 0);
			ASSERT_EQ(ev.kind, PROTOCOL_EVENT_OUTPUT);
			ASSERT_EQ(ev.stream, len % 2 ? PROTOCOL_STDERR : PROTOCOL_STDOUT);
			ASSERT(ids[k] != NULL ? ev.id != NULL && strcmp(ev.id, ids[k]) == 0 : ev.id == NULL);
			ASSERT_EQ(ev.len, len);
			ASSERT(len == 0 || memcmp(ev.data, buf, len) == 0);
			protocol_event_free(&ev);
			free(line);
		}
	}
	/* Not the exact shape: the general parser decides, as it always did. */
	{
		static const char *const bad[] = {
		    "{\"id\":\"1\",\"event\":\"output\",\"stream\":\"stdout\",\"data\":\"QU=B\"}",
		    "{\"id\":\"1\",\"event\":\"output\",\"stream\":\"stdin\",\"data\":\"QUJD\"}",
		    "{\"id\":\"1\",\"event\":\"output\",\"stream\":\"stdout\",\"data\":\"QUJ\"}",
		};
		static const char extra[] =
		    "{\"id\":\"1\",\"event\":\"output\",\"stream\":\"stdout\",\"data\":\"QUJD\",\"x\":1}";
		struct protocol_event ev;
		char *cause = NULL;

		for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
			ASSERT_EQ(protocol_event_parse(bad[i], strlen(bad[i]), &ev, &cause), -EINVAL);
			ASSERT(cause != NULL);
			protocol_event_free(&ev);
			free(cause);
			cause = NULL;
		}
		ASSERT_EQ(protocol_event_parse(extra, strlen(extra), &ev, &cause), 0);
		ASSERT(ev.len == 3 && memcmp(ev.data, "ABC", 3) == 0);
		protocol_event_free(&ev);
	}
	return 0;
}
