# Tests of jobq, the command-line client, against a real jobqd through the
# integration harness. The client is found through $JOBQ_CLI. Label: cli.
add_executable(it_cli cli/test_cli.c)
target_link_libraries(it_cli PRIVATE jq_it_harness)
add_dependencies(it_cli spawner jobqd jobq)
foreach(case run_exit_codes run_signal run_timeout run_binary_stdout run_streams_live run_stdin run_env
        submit_wait_get_logs wait_timeout ls_table_json_all cancel_running sigint_cancels
        server_down token_required usage_errors server_errors progress_on_terminal
        https_cacert throttled_429 submit_queue_delay_key)
  add_test(NAME it_cli.${case} COMMAND it_cli ${case})
  set_tests_properties(it_cli.${case} PROPERTIES TIMEOUT 60 LABELS cli
    ENVIRONMENT "JOBQD=$<TARGET_FILE:jobqd>;JQ_SPAWNER=$<TARGET_FILE:spawner>;JQ_TEST_TMP=${CMAKE_BINARY_DIR}/test-tmp;JOBQ_CLI=$<TARGET_FILE:jobq>")
endforeach()
