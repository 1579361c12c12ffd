/*
 * Every test, once. UNIT(name, timeout_s) is a C function test_NAME in some
 * tests/test-*.c; SCRIPT(name, path, timeout_s) is a shell script under tests/
 * run with bash (exit 0 pass, 77 skip, anything else fail). Keep each area's
 * lines together, in the order they should run.
 */

/* runner self-checks */
UNIT(runner_assertions_report_failure, 5)
UNIT(runner_run_captures_output, 5)
UNIT(runner_snapshot_compares_bytes, 5)
