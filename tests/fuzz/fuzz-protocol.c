/*
 * libFuzzer target for the agent protocol's lines. Any line is a request,
 * or refused with a message; a parsed request, formatted again, must parse
 * to the same request. The same for events. The input is also cut into
 * lines by the splitter, in uneven pieces, under a small limit: no line it
 * hands over may be longer than the limit or hold a newline.
 */
#include "core/protocol.h"
#include "core/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The splitter's limit in this target: small, so the fuzzer reaches it. */
#define FUZZ_MAX_LINE 64

/* Aborts unless two string arrays are equal. */
static void fuzz__same_strv(char **a, char **b)
{
	if ((a == NULL) != (b == NULL))
		abort();
	for (; a != NULL && *a != NULL; a++, b++)
		if (*b == NULL || strcmp(*a, *b) != 0)
			abort();
	if (a != NULL && *b != NULL)
		abort();
}

/* Aborts unless two optional strings are equal. */
static void fuzz__same(const char *a, const char *b)
{
	if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0))
		abort();
}

/* Checks one line handed over by the splitter. */
static void fuzz__line(void *arg, const char *line, size_t len, bool too_long)
{
	(void)arg;
	if (too_long)
		return;
	if (len > FUZZ_MAX_LINE || memchr(line, '\n', len) != NULL)
		abort();
}

/* Checks one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct protocol_request r, again;
	struct protocol_event ev, ev2;
	struct protocol_splitter sp;
	char *cause = NULL;

	if (protocol_parse(s, size, &r, &cause) == 0) {
		char *line = protocol_request_format(&r);

		if (protocol_parse(line, strlen(line) - 1, &again, &cause) != 0)
			abort();
		if (again.op != r.op || again.permissions != r.permissions)
			abort();
		fuzz__same(r.id, again.id);
		fuzz__same(r.cwd, again.cwd);
		fuzz__same(r.justification, again.justification);
		fuzz__same(r.patch, again.patch);
		fuzz__same(r.target, again.target);
		fuzz__same_strv(r.command, again.command);
		fuzz__same_strv(r.prefix_rule, again.prefix_rule);
		protocol_request_free(&again);
		free(line);
	} else {
		if (cause == NULL)
			abort();
		free(cause);
		cause = NULL;
	}
	protocol_request_free(&r);

	if (protocol_event_parse(s, size, &ev, &cause) == 0) {
		char *line = NULL;

		switch (ev.kind) {
		case PROTOCOL_EVENT_QUEUED:
			line = protocol_event_queued(ev.id);
			break;
		case PROTOCOL_EVENT_DECISION:
			line = protocol_event_decision(ev.id, ev.decision);
			break;
		case PROTOCOL_EVENT_OUTPUT:
			line = protocol_event_output(ev.id, ev.stream, ev.data, ev.len);
			break;
		case PROTOCOL_EVENT_EXIT:
			line = protocol_event_exit(ev.id, ev.code, ev.sandboxed);
			break;
		case PROTOCOL_EVENT_ERROR:
			line = protocol_event_error(ev.id, ev.message);
			break;
		}
		if (protocol_event_parse(line, strlen(line), &ev2, &cause) != 0)
			abort();
		if (ev2.kind != ev.kind || ev2.len != ev.len || ev2.code != ev.code ||
		    (ev.len > 0 && memcmp(ev.data, ev2.data, ev.len) != 0))
			abort();
		fuzz__same(ev.id, ev2.id);
		protocol_event_free(&ev2);
		free(line);
	} else {
		free(cause);
	}
	protocol_event_free(&ev);

	/* Uneven pieces: 1, 2, 3, ... bytes. */
	protocol_splitter_init(&sp, FUZZ_MAX_LINE);
	for (size_t off = 0, piece = 1; off < size; off += piece, piece++) {
		size_t n = size - off < piece ? size - off : piece;

		protocol_splitter_feed(&sp, s + off, n, fuzz__line, NULL);
		if (sp.cap > FUZZ_MAX_LINE)
			abort();
	}
	protocol_splitter_finish(&sp, fuzz__line, NULL);
	protocol_splitter_free(&sp);
	return 0;
}
