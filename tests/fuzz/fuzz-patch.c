/*
 * libFuzzer target for apply_patch. Any text is either parsed or refused
 * with a message; a parsed patch must be well formed (files with paths,
 * updates with non-empty hunks), list its paths as absolute, and then be
 * planned (read-only: never committed) against a small fixed tree made
 * once, whose diff rendering must not crash. Nothing is ever written.
 */
#include "core/patch.h"
#include "core/xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The fixed tree the patches are planned against. */
static char *fuzz__tree;

/* Writes one file of the tree. */
static void fuzz__file(const char *name, const char *content)
{
	char *p = xasprintf("%s/%s", fuzz__tree, name);
	FILE *f = fopen(p, "w");

	if (f == NULL)
		abort();
	fputs(content, f);
	fclose(f);
	free(p);
}

/* Makes the tree once: a few small files, CRLF, no final newline, Unicode. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char tmpl[] = "/tmp/airlock-fuzz-patch-XXXXXX";

	(void)argc;
	(void)argv;
	if (mkdtemp(tmpl) == NULL)
		abort();
	fuzz__tree = xstrdup(tmpl);
	fuzz__file("a", "one\ntwo\nthree\n");
	fuzz__file("b", "x\r\ny\r\n");
	fuzz__file("c", "no newline");
	fuzz__file("d", "caf\xc3\xa9 \xe2\x80\x94 \xe2\x80\x9cq\xe2\x80\x9d\n\n\n");
	fuzz__file("e", "");
	return 0;
}

/* Checks one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct patch *p;
	struct patch_plan *plan;
	char *cause = NULL;
	size_t n;

	if (patch_parse((const char *)data, size, &p, &cause) != 0) {
		if (cause == NULL || cause[0] == '\0')
			abort();
		free(cause);
		return 0;
	}
	if (p->n_files == 0)
		abort();
	for (size_t i = 0; i < p->n_files; i++) {
		const struct patch_file *f = &p->files[i];

		if (f->path == NULL || f->path[0] == '\0')
			abort();
		if (f->kind == PATCH_UPDATE && f->n_hunks == 0)
			abort();
		for (size_t k = 0; k < f->n_hunks; k++)
			if (f->hunks[k].n_lines == 0)
				abort();
		if (f->kind == PATCH_ADD && strlen(f->content) != f->content_len)
			abort();
	}
	char **paths = patch_paths(p, "/ws", &n);
	for (size_t i = 0; i < n; i++)
		if (paths[i][0] != '/')
			abort();
	if (paths[n] != NULL)
		abort();
	patch_paths_free(paths);
	if (patch_plan_new(p, fuzz__tree, NULL, &plan, &cause) == 0) {
		char *diff = patch_plan_diff(plan);

		if (diff == NULL)
			abort();
		free(diff);
		patch_plan_free(plan);
	} else {
		if (cause == NULL)
			abort();
		free(cause);
	}
	patch_free(p);
	return 0;
}
