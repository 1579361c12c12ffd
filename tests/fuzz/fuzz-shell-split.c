/*
 * libFuzzer target for the shell splitter. Any script is either split or
 * refused; a split command's words, joined back with quoting, must split
 * into the very same words, and so must the words of any input that
 * shell_split_words accepts. The conservative scan of the script emits
 * only non-empty, NULL-terminated commands, and for a script that splits it
 * finds exactly the split commands. The same script, as `bash -lc SCRIPT`,
 * then goes through the whole decision under every approval policy.
 */
#include "core/decide.h"
#include "core/shell-split.h"
#include "core/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Aborts unless WORDS (N) survive a join and a re-split unchanged. */
static void fuzz__round_trip(char **words, size_t n)
{
	char *line = shell_split_join(n, words);
	char **again;
	size_t m;

	if (shell_split_words(line, &again, &m) != 0 || m != n)
		abort();
	for (size_t i = 0; i < n; i++)
		if (strcmp(words[i], again[i]) != 0)
			abort();
	shell_split_words_free(again);
	free(line);
}

/* What the scan found, as one string of NUL-separated words and \x01 between commands. */
struct fuzz__scan {
	char *buf;
	size_t len;
};

/* Appends N bytes of P to B. */
static void fuzz__put(struct fuzz__scan *b, const char *p, size_t n)
{
	b->buf = xrealloc(b->buf, b->len + n + 1);
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

/* The scan's callback: checks the command's shape and records it. */
static void fuzz__scanned(size_t argc, char *const argv[], void *ctx)
{
	if (argc == 0 || argv[argc] != NULL)
		abort();
	for (size_t i = 0; i < argc; i++)
		fuzz__put(ctx, argv[i], strlen(argv[i]) + 1);
	fuzz__put(ctx, "\x01", 1);
}

/* Checks one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	struct shell_split_command *cmds;
	struct shell_split split;
	char **words;
	size_t n;
	char *argv[] = {"bash", "-lc", s, NULL};

	struct fuzz__scan scanned = {0}, expect = {0};

	shell_split_scan(s, fuzz__scanned, &scanned);
	if (shell_split_script(s, &cmds, &n) == 0) {
		if (n == 0)
			abort();
		for (size_t i = 0; i < n; i++)
			fuzz__scanned(cmds[i].argc, cmds[i].argv, &expect);
		if (expect.len != scanned.len || memcmp(expect.buf, scanned.buf, expect.len) != 0)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (cmds[i].argc == 0 || cmds[i].argv[cmds[i].argc] != NULL)
				abort();
			fuzz__round_trip(cmds[i].argv, cmds[i].argc);
		}
		shell_split_commands_free(cmds, n);
	}
	if (shell_split_words(s, &words, &n) == 0) {
		fuzz__round_trip(words, n);
		shell_split_words_free(words);
	}
	shell_split_argv(3, argv, &split);
	if (split.n == 0 || !split.wrapper)
		abort();
	shell_split_free(&split);
	for (int a = DECIDE_APPROVAL_UNTRUSTED; a <= DECIDE_APPROVAL_NEVER; a++) {
		struct decide_input in = {.argc = 3,
		                          .argv = argv,
		                          .cwd = "/ws",
		                          .approval = (enum decide_approval)a,
		                          .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE};
		struct decide_result res;

		decide_command(&in, &res);
		if (res.reason == NULL || res.split.n == 0 ||
		    (a == DECIDE_APPROVAL_NEVER && res.decision == DECIDE_PROMPT))
			abort();
		decide_result_free(&res);
	}
	free(scanned.buf);
	free(expect.buf);
	free(s);
	return 0;
}
