# Unit tests of worker/: the channel, the executor, the worker loop. They
# link jq_worker only (no storage, no HTTP) and run real processes; the
# spawner helper comes from JQ_SPAWNER.
add_executable(test_exec unit/test_exec.c)
target_link_libraries(test_exec PRIVATE jq_worker Threads::Threads)
target_include_directories(test_exec PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
add_dependencies(test_exec spawner)
jq_add_cases(test_exec unit 60
  exit_zero exit_code killed_by_signal cpu_time_and_duration
  stdout_stderr_separate output_truncated output_cap_zero huge_output_bounded binary_output
  stdin_cat stdin_empty_is_eof stdin_never_read
  timeout_shell_tree timeout_ignores_term timeout_zero_grace timeout_kills_tree exit_kills_tree
  closed_stdout_still_running
  only_stdio_fds env_exact signals_default_in_job
  command_not_found not_executable job_path_not_service_path cwd_honoured
  cancel_running cancel_stale_ignored cancel_before_start
  many_jobs_no_zombies reap_all_children orphans_reaped_while_running stop_fd_kills_tree
  stop_fd_before_start)

add_executable(test_chan unit/test_chan.c)
target_link_libraries(test_chan PRIVATE jq_worker)
target_include_directories(test_chan PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
jq_add_cases(test_chan unit 30
  create_params round_trip forked_worker exec_worker post_errors peek_needs_done
  error_and_output_bounded cancel_flag_and_eventfd slot_reset take_interrupted_by_stop
  killed_in_take killed_with_task_pending attach_rejects_bad_memfd nothing_in_dev_shm wake_collector)

add_executable(test_worker unit/test_worker.c)
target_link_libraries(test_worker PRIVATE jq_worker)
target_include_directories(test_worker PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
add_dependencies(test_worker spawner)
jq_add_cases(test_worker unit 30
  runs_jobs output_caps cancel_running cancel_before_start max_jobs stop_when_idle
  wrong_master_exits dies_with_master dies_with_master_idle stray_death_signal_ignored
  killed_worker_takes_leader)
