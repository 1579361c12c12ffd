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

/* policy model (core/policy*) */
UNIT(policy_fixtures_valid_load, 5)
UNIT(policy_fixtures_invalid_refused, 5)
UNIT(policy_invalid_shapes_name_the_problem, 5)
UNIT(policy_net_parse_words, 5)
UNIT(policy_legacy_converts_to_split, 5)
UNIT(policy_split_json_round_trips, 5)
UNIT(policy_paths_normalize, 5)
UNIT(policy_resolve_workspace_write, 5)
UNIT(policy_precedence_most_specific_then_none_write_read, 5)

/* apply_patch, agent protocol, submit, agent server (issue 6) */
UNIT(patch_parse_builds_the_model, 5)
UNIT(patch_parse_error_messages, 5)
UNIT(patch_parse_refuses_huge_text, 10)
UNIT(patch_paths_are_absolute_sorted_unique, 5)
UNIT(patch_check_path_refuses_protected_and_escapes, 5)
UNIT(patch_check_path_follows_links, 5)
UNIT(patch_plan_changes_nothing, 5)
UNIT(patch_commit_keeps_the_mode, 5)
UNIT(patch_commit_is_all_or_nothing, 20)
UNIT(patch_corpus, 60)
UNIT(protocol_parse_exec_with_every_field, 5)
UNIT(protocol_parse_patch_and_cancel, 5)
UNIT(protocol_parse_error_messages, 5)
UNIT(protocol_parse_refuses_long_lines_and_bad_utf8, 5)
UNIT(protocol_events_are_exact, 5)
UNIT(protocol_events_read_back, 5)
UNIT(protocol_request_format_round_trips, 5)
UNIT(protocol_base64_vectors, 5)
UNIT(protocol_splitter_cuts_lines, 5)
UNIT(protocol_splitter_holds_at_most_the_limit, 10)
UNIT(submit_streams_output_and_exit_status, 20)
UNIT(submit_exit_statuses, 30)
UNIT(submit_patch_sends_the_file, 20)
UNIT(submit_ctrl_c_sends_cancel, 20)
UNIT(submit_usage_errors_exit_2, 30)
UNIT(submit_finds_the_newest_live_socket, 30)

/* network proxy (core/proxy*, issue 5) */
UNIT(proxy_domain_patterns, 5)
UNIT(proxy_http_request_parsing, 5)
UNIT(proxy_chunked_framer, 5)
UNIT(proxy_http_allow_once_keepalive, 20)
UNIT(proxy_http_request_bodies, 20)
UNIT(proxy_deny_gets_403_and_nothing_slips, 20)
UNIT(proxy_connect_tunnel_echo, 60)
UNIT(proxy_socks5_curl_and_codes, 30)
UNIT(proxy_concurrent_requests_share_one_query, 30)
UNIT(proxy_malformed_input_gets_errors_and_proxy_keeps_serving, 30)
UNIT(proxy_close_cancels_pending_queries, 20)

/* jobs on pseudo-terminals (core/job, issue 4) */
UNIT(job_reports_output_and_exit_status, 10)
UNIT(job_runs_on_a_terminal_of_the_given_size, 10)
UNIT(job_resize_reaches_the_command, 10)
UNIT(job_interrupt_sends_sigint_to_the_group, 10)
UNIT(job_kill_reports_128_plus_signal, 10)
UNIT(job_missing_program_exits_127, 10)
UNIT(job_delivers_all_output_before_exit, 10)

/* the TUI's model: panes, layout, input (tui/, issue 4) */
UNIT(pane_renders_like_a_terminal, 5)
UNIT(pane_keeps_10000_lines_of_scrollback, 10)
UNIT(pane_resize_keeps_the_text, 5)
UNIT(pane_title_format, 5)
UNIT(layout_tiles_and_maximises, 5)
UNIT(layout_never_leaves_the_screen, 10)
UNIT(layout_modal_fits_every_size, 30)
UNIT(layout_fit_cuts_with_an_ellipsis, 5)
UNIT(input_history_is_kept_and_persisted, 5)
