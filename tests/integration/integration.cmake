# Integration tests: the real jobqd on an ephemeral loopback port, driven over
# HTTP with libcurl. The programs link only core (for the caps), libcurl and
# cJSON -- never the server's libraries -- and find jobqd and the spawner
# through $JOBQD and $JQ_SPAWNER (set by jq_add_cases). Label: integration.
add_library(jq_it_harness STATIC integration/harness.c integration/http.c integration/proc.c)
target_include_directories(jq_it_harness PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/integration ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(jq_it_harness PUBLIC jq_core PkgConfig::CURL PkgConfig::CJSON)

# it_<name> from integration/test_<name>.c.
function(jq_add_integration name)
  add_executable(it_${name} integration/test_${name}.c)
  target_link_libraries(it_${name} PRIVATE jq_it_harness)
  # Not linked, but run: building a test builds what it starts.
  add_dependencies(it_${name} spawner jobqd)
endfunction()

jq_add_integration(jobs)
jq_add_cases(it_jobs integration 60
  walkthrough exit_zero_succeeds exit_code_fails killed_by_signal command_not_found
  timeout_kills_tree timeout_kills_daemon timeout_shell_background output_truncated binary_output
  stdin_reaches_job env_scrubbed wait_returns_early wait_deadline_running)

jq_add_integration(cancel)
jq_add_cases(it_cancel integration 60
  cancel_queued cancel_running cancel_finished_conflict cancel_unknown)

jq_add_integration(dispatch)
jq_add_cases(it_dispatch integration 60 claimed_ahead_cancel claimed_ahead_requeued_at_stop big_result_then_next)

jq_add_integration(list)
jq_add_cases(it_list integration 60
  batch_order batch_all_or_nothing pagination state_filter)

jq_add_integration(errors)
jq_add_cases(it_errors integration 60
  malformed_json field_errors bad_parameter not_found method_not_allowed
  payload_too_large unsupported_media_type out_of_range)

jq_add_integration(service)
jq_add_cases(it_service integration 60
  health cli sigint_stops restart_keeps_jobs worker_replaced_after_max_jobs
  worker_killed_mid_job nothing_in_dev_shm)

jq_add_integration(retry)
jq_add_cases(it_retry integration 60
  exit_code_retried timeout_retried backoff_visible worker_killed_retry worker_killed_fail
  master_killed graceful_stop)

jq_add_integration(stream)
jq_add_cases(it_stream integration 60
  live_first_line queued_then_live resume_offsets finished_job binary_output truncated_output
  worker_killed many_clients stalled_reader bad_requests)

# Every curl example of docs/api.md, run in order against a fresh jobqd.
add_test(NAME doc_examples.api_md
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/doc_examples.sh ${PROJECT_SOURCE_DIR}/docs/api.md)
set_tests_properties(doc_examples.api_md PROPERTIES TIMEOUT 60 LABELS integration
  ENVIRONMENT "JOBQD=$<TARGET_FILE:jobqd>;JQ_TEST_TMP=${CMAKE_BINARY_DIR}/test-tmp")

jq_add_integration(queues)
jq_add_cases(it_queues integration 60
  priority_then_fifo delayed_job_runs_at_its_time delayed_job_survives_restart start_by_expires
  pause_resume_survives_restart concurrency_limit_holds list_by_queue bad_inputs)

jq_add_integration(idempotency)
target_link_libraries(it_idempotency PRIVATE Threads::Threads)
jq_add_cases(it_idempotency integration 60
  same_body_replays other_body_refused batch_replays_and_survives_restart concurrent_duplicates_make_one_job
  bad_keys_refused)

jq_add_integration(retention)
jq_add_cases(it_retention integration 60
  purge_via_delete retention_purges_finished database_stops_growing retention_flag)

jq_add_integration(schedules)
# SQLite directly too: to move a schedule's next tick while jobqd is stopped.
target_link_libraries(it_schedules PRIVATE PkgConfig::SQLITE)
jq_add_cases(it_schedules integration 60
  crud bad_inputs catch_up_once_across_restarts tick_fires_on_time)

jq_add_integration(callbacks)
target_link_libraries(it_callbacks PRIVATE Threads::Threads)
jq_add_cases(it_callbacks integration 60
  delivered_after_failures failed_after_last_attempt pending_survives_restart bad_urls_refused
  private_refused_by_default redirect_not_followed)
