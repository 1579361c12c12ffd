/*
 * libFuzzer target for the rules parser. Any input must either load or be
 * refused with a FILE:LINE:COL message; a loaded rule set is then queried
 * with words taken from its own patterns, and every prefix rule, written
 * back in canonical one-line form, must load again (the `p` amendment
 * relies on that round trip).
 */
#include "core/rules.h"
#include "core/xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks one input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rules *r = rules_new();
	char *cause = NULL;

	if (rules_load_buffer(r, "fuzz.rules", (const char *)data, size, &cause) != 0) {
		if (cause == NULL || strncmp(cause, "fuzz.rules:", 11) != 0)
			abort();
		free(cause);
		rules_free(r);
		return 0;
	}
	for (size_t i = 0; i < rules_count(r); i++) {
		const struct rules_rule *rule = rules_get(r, i);
		struct rules_matches m = {0};
		char **words;
		char *line;
		struct rules *again;

		if (rule->kind != RULES_KIND_PREFIX) {
			(void)rules_match_network(r, rule->host, rule->protocol);
			continue;
		}
		words = xcalloc(rule->pattern_len + 1, sizeof *words);
		for (size_t j = 0; j < rule->pattern_len; j++)
			words[j] = rule->pattern[j].alts[rule->pattern[j].n_alts - 1];
		rules_match_command(r, rule->pattern_len, words, &m);
		if (m.n == 0)
			abort(); /* a rule matches its own pattern */
		rules_matches_free(&m);
		line = rules_format_prefix(rule->pattern_len, words, rule->decision);
		again = rules_new();
		if (rules_load_buffer(again, "again", line, strlen(line), &cause) != 0) {
			fprintf(stderr, "round trip failed: %s: %s\n", line, cause);
			abort();
		}
		rules_free(again);
		free(line);
		free(words);
	}
	rules_free(r);
	return 0;
}
