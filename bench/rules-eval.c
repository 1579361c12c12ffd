/*
 * Rules evaluation benchmark: builds a rules file of N prefix rules (10,000
 * by default) spread over a vocabulary of programs, loads it, then times
 * each of M commands (a mix that matches and that does not), both the bare
 * index lookup (rules_match_command) and the whole decision
 * (decide_command: split, rules, safe/dangerous tables, policy). Each
 * command is timed over R repetitions and its mean taken; the report gives
 * the median, 90th and 99th percentile over commands. A second scenario
 * puts every rule under one first word (the index's worst case) and is
 * reported without a limit. A quarter of the commands name their program
 * by a path and a quarter run behind wrappers (nice, env X=1, timeout), so
 * path resolution and the wrapper walk are timed too. A third scenario
 * decides `bash -lc SCRIPT` for opaque scripts of 4 KB (the conservative
 * scan of every command in them). Exit status 1 when the median decision
 * time is over the limit (5 microseconds), or an opaque script's over 50.
 *
 * usage: rules-eval [N_RULES [N_COMMANDS [REPEAT]]]
 */
#include "core/decide.h"
#include "core/rules.h"
#include "core/xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_LIMIT_NS        5000.0
#define BENCH_OPAQUE_LIMIT_NS 50000.0

/* A small deterministic generator (xorshift), so runs are comparable. */
static uint64_t bench__state = 0x9e3779b97f4a7c15ull;

/* The next pseudo-random number. */
static uint64_t bench__rand(void)
{
	bench__state ^= bench__state << 13;
	bench__state ^= bench__state >> 7;
	bench__state ^= bench__state << 17;
	return bench__state;
}

/*
 * Nanoseconds of this thread's CPU time: on a shared machine, time spent
 * preempted by other processes is not the decision's (wall time is what
 * AIRLOCK_BENCH_WALL=1 asks for).
 */
static double bench__now(void)
{
	static int wall = -1;
	struct timespec ts;

	if (wall < 0)
		wall = getenv("AIRLOCK_BENCH_WALL") != NULL;
	clock_gettime(wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Orders doubles, for qsort. */
static int bench__cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* A rules text of N rules over PROGRAMS first words. Caller frees. */
static char *bench__rules(size_t n, size_t programs)
{
	static const char *const decisions[] = {"allow", "prompt", "forbidden"};
	size_t cap = n * 120 + 1, len = 0;
	char *text = xmalloc(cap);

	for (size_t i = 0; i < n; i++) {
		size_t prog = bench__rand() % programs;
		unsigned words = 1 + (unsigned)(bench__rand() % 3);

		len += (size_t)snprintf(text + len, cap - len, "prefix_rule(pattern=[\"prog%zu\"",
		                        prog);
		for (unsigned w = 0; w < words; w++) {
			if (bench__rand() % 4 == 0)
				len += (size_t)snprintf(
				    text + len, cap - len, ", [\"sub%u\", \"alt%u\"]",
				    (unsigned)(bench__rand() % 20), (unsigned)(bench__rand() % 20));
			else
				len += (size_t)snprintf(text + len, cap - len, ", \"sub%u\"",
				                        (unsigned)(bench__rand() % 20));
		}
		len += (size_t)snprintf(text + len, cap - len, "], decision=\"%s\")\n",
		                        decisions[bench__rand() % 3]);
	}
	return text;
}

/* One command: 1 to 6 words, a known program about half of the time, by path or wrapped. */
static char **bench__command(size_t programs, size_t *argc)
{
	static const char *const wrap[] = {"nice", "env", "X=1", "timeout", "5"};
	size_t n = 1 + bench__rand() % 6, w = 0, k = 0;
	unsigned shape = (unsigned)(bench__rand() % 4);
	char **argv;

	if (shape == 1)
		w = 1 + bench__rand() % 3; /* nice | nice env X=1 | ... timeout 5 */
	argv = xcalloc(n + (w ? 5 : 0) + 1, sizeof *argv);
	if (w >= 1)
		argv[k++] = xstrdup(wrap[0]);
	if (w >= 2) {
		argv[k++] = xstrdup(wrap[1]);
		argv[k++] = xstrdup(wrap[2]);
	}
	if (w >= 3) {
		argv[k++] = xstrdup(wrap[3]);
		argv[k++] = xstrdup(wrap[4]);
	}
	if (bench__rand() % 2 == 0)
		argv[k] = xasprintf("%sprog%zu", shape == 2 ? "/usr/bin/" : "",
		                    (size_t)(bench__rand() % programs));
	else
		argv[k] = xasprintf("%sother%u", shape == 2 ? "./bin/" : "",
		                    (unsigned)(bench__rand() % 1000));
	k++;
	for (size_t i = 1; i < n; i++)
		argv[k++] = xasprintf("sub%u", (unsigned)(bench__rand() % 20));
	*argc = k;
	return argv;
}

/* An opaque script of about SIZE bytes: commands joined by operators, substitutions, redirections.
 */
static char *bench__script(size_t programs, size_t size)
{
	static const char *const ops[] = {" && ", " || ", " | ", "; ", "\n", " & "};
	char *s = xmalloc(size + 256);
	size_t len = 0;

	while (len < size) {
		size_t argc;
		char **argv = bench__command(programs, &argc);
		unsigned deco = (unsigned)(bench__rand() % 4);

		if (deco == 1)
			len += (size_t)snprintf(s + len, size + 256 - len, "x=\"$(");
		for (size_t i = 0; i < argc; i++) {
			len += (size_t)snprintf(s + len, size + 256 - len, "%s%s", i ? " " : "",
			                        argv[i]);
			free(argv[i]);
		}
		free(argv);
		if (deco == 1)
			len += (size_t)snprintf(s + len, size + 256 - len, ")\"");
		else if (deco == 2)
			len += (size_t)snprintf(s + len, size + 256 - len, " > \"$OUT\" 2>&1");
		len += (size_t)snprintf(s + len, size + 256 - len, "%s",
		                        ops[bench__rand() % (sizeof ops / sizeof *ops)]);
	}
	return s;
}

/* Times decide_command on N opaque scripts of SIZE bytes against R; returns the median in ns. */
static double bench__opaque(struct rules *r, size_t programs, size_t n, size_t size, int repeat)
{
	double *t = xcalloc(n, sizeof *t), t0, median;

	for (size_t c = 0; c < n; c++) {
		char *script = bench__script(programs, size);
		char *argv[] = {"bash", "-lc", script, NULL};
		struct decide_input in = {.argc = 3,
		                          .argv = argv,
		                          .cwd = "/ws",
		                          .approval = DECIDE_APPROVAL_ON_REQUEST,
		                          .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE,
		                          .rules = r};

		t0 = bench__now();
		for (int k = 0; k < repeat; k++) {
			struct decide_result res;

			decide_command(&in, &res);
			decide_result_free(&res);
		}
		t[c] = (bench__now() - t0) / repeat;
		free(script);
	}
	qsort(t, n, sizeof *t, bench__cmp);
	printf("  opaque %zu-byte scripts (bash -lc), %zu scripts: decide_command median %7.0f ns  "
	       "p90 %7.0f ns\n",
	       size, n, t[n / 2], t[n * 9 / 10]);
	median = t[n / 2];
	free(t);
	return median;
}

/* Runs one scenario; returns the median decision time in ns. */
static double bench__scenario(const char *name, size_t n_rules, size_t programs, size_t n_cmds,
                              int repeat, double *opaque)
{
	char *text = bench__rules(n_rules, programs), *cause = NULL;
	struct rules *r = rules_new();
	double t0, load_ms, *match = xcalloc(n_cmds, sizeof *match),
	                    *dec = xcalloc(n_cmds, sizeof *dec);
	size_t matched = 0;

	t0 = bench__now();
	if (rules_load_buffer(r, "bench.rules", text, strlen(text), &cause) != 0) {
		fprintf(stderr, "rules-eval: %s\n", cause);
		exit(2);
	}
	load_ms = (bench__now() - t0) / 1e6;
	for (size_t c = 0; c < n_cmds; c++) {
		size_t argc;
		char **argv = bench__command(programs, &argc);
		struct decide_input in = {.argc = argc,
		                          .argv = argv,
		                          .cwd = "/ws",
		                          .approval = DECIDE_APPROVAL_ON_REQUEST,
		                          .sandbox = DECIDE_SANDBOX_WORKSPACE_WRITE,
		                          .rules = r};

		t0 = bench__now();
		for (int k = 0; k < repeat; k++) {
			struct rules_matches m = {0};

			rules_match_command(r, argc, argv, &m);
			matched += m.n > 0 && k == 0;
			rules_matches_free(&m);
		}
		match[c] = (bench__now() - t0) / repeat;
		t0 = bench__now();
		for (int k = 0; k < repeat; k++) {
			struct decide_result res;

			decide_command(&in, &res);
			decide_result_free(&res);
		}
		dec[c] = (bench__now() - t0) / repeat;
		for (size_t i = 0; i < argc; i++)
			free(argv[i]);
		free(argv);
	}
	qsort(match, n_cmds, sizeof *match, bench__cmp);
	qsort(dec, n_cmds, sizeof *dec, bench__cmp);
	printf("%s: %zu rules over %zu first words, loaded in %.1f ms; %zu commands "
	       "(%zu matched a rule), %d runs each\n",
	       name, rules_count(r), programs, load_ms, n_cmds, matched, repeat);
	printf("  rules_match_command  median %7.0f ns  p90 %7.0f ns  p99 %7.0f ns\n",
	       match[n_cmds / 2], match[n_cmds * 9 / 10], match[n_cmds * 99 / 100]);
	printf("  decide_command       median %7.0f ns  p90 %7.0f ns  p99 %7.0f ns\n",
	       dec[n_cmds / 2], dec[n_cmds * 9 / 10], dec[n_cmds * 99 / 100]);
	if (opaque != NULL)
		*opaque = bench__opaque(r, programs, n_cmds / 50 + 1, 4096, repeat);
	t0 = dec[n_cmds / 2];
	free(match);
	free(dec);
	free(text);
	rules_free(r);
	return t0;
}

/* Runs both scenarios; fails when the median decision time is over the limit. */
int main(int argc, char **argv)
{
	size_t n_rules = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	size_t n_cmds = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
	int repeat = argc > 3 ? atoi(argv[3]) : 20;
	double median, opaque = 0;

	if (n_rules == 0 || n_cmds == 0 || repeat <= 0) {
		fprintf(stderr, "usage: rules-eval [N_RULES [N_COMMANDS [REPEAT]]]\n");
		return 2;
	}
	median = bench__scenario("spread", n_rules, 1000, n_cmds, repeat, &opaque);
	bench__scenario("one first word (worst case, no limit)", n_rules, 1, n_cmds / 10,
	                repeat > 2 ? repeat / 4 : 1, NULL);
	printf("median decision time %.2f us (limit %.2f us): %s\n", median / 1000.0,
	       BENCH_LIMIT_NS / 1000.0, median <= BENCH_LIMIT_NS ? "ok" : "TOO SLOW");
	printf("median opaque 4 KB script decision time %.2f us (limit %.2f us): %s\n",
	       opaque / 1000.0, BENCH_OPAQUE_LIMIT_NS / 1000.0,
	       opaque <= BENCH_OPAQUE_LIMIT_NS ? "ok" : "TOO SLOW");
	return median <= BENCH_LIMIT_NS && opaque <= BENCH_OPAQUE_LIMIT_NS ? 0 : 1;
}
