/*
 * `airlock rules list` and `airlock rules remove N` (SPEC sections 1, 6).
 * Only the rules in HOME/rules/ *.rules are listed and removable: those are
 * the user's own (every `p` answer lands in HOME/rules/default.rules). A
 * workspace's .airlock/rules belong to its repository and are edited there.
 * The list numbers rules from 1 in load order (file name order, then line):
 *   N<TAB>FILE:LINE<TAB>RULE TEXT
 * `remove N` rewrites that rule's file atomically with every other byte
 * kept, after checking the result still loads; N is the number `list`
 * printed. Options: --home DIR (else AIRLOCK_HOME, else
 * $XDG_CONFIG_HOME/airlock, else ~/.config/airlock). Exit: 0, 1 when the
 * rule cannot be removed, 2 on a usage error or a malformed rules file.
 */
#include "tui/cli.h"

#include "core/config.h"
#include "core/rules.h"
#include "core/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the usage of `airlock rules` to F. */
static void cmd_rules__usage(FILE *f)
{
	fputs("usage: airlock rules [--home DIR] list\n"
	      "       airlock rules [--home DIR] remove N\n"
	      "Lists or removes the persistent rules in HOME/rules/*.rules.\n",
	      f);
}

/* Loads HOME/rules into a new set, or prints why not (NULL). */
static struct rules *cmd_rules__load(const char *home)
{
	struct rules *r = rules_new();
	char *dir = xasprintf("%s/rules", home);
	char *cause = NULL;

	if (rules_load_dir(r, dir, &cause) != 0) {
		fprintf(stderr, "airlock: %s\n", cause != NULL ? cause : "cannot load the rules");
		free(cause);
		rules_free(r);
		r = NULL;
	}
	free(dir);
	return r;
}

/* `rules list`. */
static int cmd_rules__list(const char *home)
{
	struct rules *r = cmd_rules__load(home);

	if (r == NULL)
		return 2;
	for (size_t i = 0; i < rules_count(r); i++) {
		const struct rules_rule *rule = rules_get(r, i);

		printf("%zu\t%s:%u\t%s\n", i + 1, rule->file, rule->line, rule->text);
	}
	rules_free(r);
	return 0;
}

/* `rules remove N`. */
static int cmd_rules__remove(const char *home, const char *arg)
{
	struct rules *r;
	char *end, *cause = NULL;
	unsigned long n;
	int rc;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno != 0 || *end != '\0' || end == arg || n == 0 || arg[0] == '-') {
		fprintf(stderr,
		        "airlock: rules remove: '%s' is not a rule number (see airlock "
		        "rules list)\n",
		        arg);
		return 2;
	}
	r = cmd_rules__load(home);
	if (r == NULL)
		return 2;
	if (n > rules_count(r)) {
		fprintf(stderr, "airlock: rules remove: there is no rule %lu (%zu rules)\n", n,
		        rules_count(r));
		rules_free(r);
		return 1;
	}
	rc = rules_remove(rules_get(r, n - 1), &cause);
	if (rc != 0) {
		fprintf(stderr, "airlock: rules remove: %s\n",
		        cause != NULL ? cause : strerror(-rc));
		free(cause);
		rules_free(r);
		return 1;
	}
	printf("removed %lu\t%s:%u\t%s\n", n, rules_get(r, n - 1)->file, rules_get(r, n - 1)->line,
	       rules_get(r, n - 1)->text);
	rules_free(r);
	return 0;
}

/* Runs `airlock rules`. */
int cmd_rules(int argc, char **argv)
{
	const char *flag = NULL;
	char *words[2] = {NULL, NULL};
	int n_words = 0, rc;
	char *home;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			cmd_rules__usage(stdout);
			return 0;
		}
		if (strcmp(a, "--home") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "airlock: rules: --home needs a directory\n");
				return 2;
			}
			flag = argv[++i];
			continue;
		}
		if (strncmp(a, "--home=", 7) == 0) {
			flag = a + 7;
			continue;
		}
		if (a[0] == '-' && !(n_words == 1 && strcmp(words[0], "remove") == 0)) {
			fprintf(stderr, "airlock: rules: unknown option '%s'\n", a);
			cmd_rules__usage(stderr);
			return 2;
		}
		if (n_words == 2) {
			fprintf(stderr, "airlock: rules: unexpected argument '%s'\n", a);
			return 2;
		}
		words[n_words++] = argv[i];
	}
	if (n_words == 0) {
		cmd_rules__usage(stderr);
		return 2;
	}
	if (strcmp(words[0], "list") == 0 && n_words == 1) {
		home = config_home(flag);
		rc = cmd_rules__list(home);
	} else if (strcmp(words[0], "remove") == 0 && n_words == 2) {
		home = config_home(flag);
		rc = cmd_rules__remove(home, words[1]);
	} else {
		fprintf(stderr, "airlock: rules: expected `list` or `remove N`\n");
		cmd_rules__usage(stderr);
		return 2;
	}
	free(home);
	return rc;
}
