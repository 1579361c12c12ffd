/*
 * The decider's round trip (SPEC 11, issue 19): the same kind of request
 * (network access to a host, port 443) decided N times by an allow rule
 * (no decider involved: the decision is synchronous) and N times by a
 * decider that allows it (a question written on its stdin, an answer read
 * from its stdout, on a libuv loop), each in an approval queue with an
 * audit log, as the TUI has them. Both pay for the audit line; the
 * difference of the medians is what the decider adds. Wall-clock time:
 * the decider is another process. Reports the medians and the 90th
 * percentiles; exit status 1 when the decider adds 1 ms or more at the
 * median.
 *
 * usage: decider-rtt N DECIDER-ARGV...
 */
#include "core/approval.h"
#include "core/decider.h"
#include "core/rules.h"
#include "core/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define BENCH_LIMIT_NS 1000000.0

/* Orders doubles, for qsort. */
static int bench__cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The Pth percentile of V (N values, sorted here). */
static double bench__pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof *v, bench__cmp);
	return v[(size_t)(p / 100.0 * (double)(n - 1))];
}

/* Counts answers. */
static void bench__answered(const struct approval_result *res, void *data)
{
	int *n = data;

	*n += res->allowed ? 1 : 1000000;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 0;
	char dir[] = "/tmp/airlock-bench-decider-XXXXXX", *rules_dir, *rules_file, *log, *cause;
	struct rules *rules = rules_new();
	struct audit *audit;
	uv_loop_t loop;
	double *by_rule, *by_decider;
	int answered = 0;

	if (n == 0 || argc < 3) {
		fprintf(stderr, "usage: decider-rtt N DECIDER-ARGV...\n");
		return 2;
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rules_dir = xasprintf("%s/rules", dir);
	rules_file = xasprintf("%s/bench.rules", rules_dir);
	log = xasprintf("%s/audit.jsonl", dir);
	mkdir(rules_dir, 0700);
	FILE *f = fopen(rules_file, "w");
	if (f == NULL) {
		perror(rules_file);
		return 1;
	}
	fputs("network_rule(host=\"ruled.example\", decision=\"allow\")\n", f);
	fclose(f);
	cause = NULL;
	if (rules_load_all(rules, dir, NULL, &cause) != 0 ||
	    (audit = audit_open(log, &cause)) == NULL) {
		fprintf(stderr, "decider-rtt: %s\n", cause != NULL ? cause : "setup failed");
		return 1;
	}
	uv_loop_init(&loop);
	struct decider_spec spec = {
	    .argv = argv + 2, .argc = (size_t)argc - 2, .timeout_ms = 10000, .quiet = true};
	struct decider *d = decider_new(&loop, &spec);
	struct approval_config cfg = {.approval = DECIDE_APPROVAL_ON_REQUEST,
	                              .rules = rules,
	                              .home = dir,
	                              .audit = audit,
	                              .decider = d};
	struct approval_queue *q = approval_queue_new(&cfg);
	struct approval_request req = {
	    .kind = APPROVAL_NETWORK, .protocol = "https", .port = 443, .origin = "bench"};

	by_rule = xcalloc(n, sizeof *by_rule);
	by_decider = xcalloc(n, sizeof *by_decider);
	/* The decider's start is not a round trip: one question first. */
	req.host = "decided.example";
	approval_request(q, &req, bench__answered, NULL, &answered);
	while (answered == 0)
		uv_run(&loop, UV_RUN_ONCE);
	for (size_t i = 0; i < n; i++) {
		uint64_t t0;
		int before = answered;

		req.host = "ruled.example";
		t0 = uv_hrtime();
		approval_request(q, &req, bench__answered, NULL, &answered);
		by_rule[i] = (double)(uv_hrtime() - t0);
		req.host = "decided.example";
		before = answered;
		t0 = uv_hrtime();
		approval_request(q, &req, bench__answered, NULL, &answered);
		while (answered == before)
			uv_run(&loop, UV_RUN_ONCE);
		by_decider[i] = (double)(uv_hrtime() - t0);
	}
	if (answered != (int)(2 * n + 1)) {
		fprintf(stderr, "decider-rtt: a request was denied (%d)\n", answered);
		return 1;
	}
	double rule_med = bench__pct(by_rule, n, 50), rule_p90 = bench__pct(by_rule, n, 90);
	double dec_med = bench__pct(by_decider, n, 50), dec_p90 = bench__pct(by_decider, n, 90);
	printf("requests: %zu each (network, allowed, with an audit line)\n", n);
	printf("by a rule:     median %8.1f us   p90 %8.1f us\n", rule_med / 1000, rule_p90 / 1000);
	printf("by the decider: median %8.1f us   p90 %8.1f us\n", dec_med / 1000, dec_p90 / 1000);
	printf("the decider adds %.1f us at the median (limit %.0f us)\n",
	       (dec_med - rule_med) / 1000, BENCH_LIMIT_NS / 1000);
	approval_queue_free(q);
	decider_free(d);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	audit_close(audit);
	rules_free(rules);
	unlink(log);
	unlink(rules_file);
	rmdir(rules_dir);
	rmdir(dir);
	free(log);
	free(rules_file);
	free(rules_dir);
	free(by_rule);
	free(by_decider);
	return dec_med - rule_med < BENCH_LIMIT_NS ? 0 : 1;
}
