# Unit tests of storage/: a real SQLite database in a temp dir per case.
add_executable(test_store unit/test_store.c)
# SQLite directly too: to build a database as an older schema left it.
target_link_libraries(test_store PRIVATE jq_storage PkgConfig::SQLITE Threads::Threads)
target_include_directories(test_store PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
jq_add_cases(test_store unit 30
  open_creates_schema wal_synchronous_full reopen_keeps_data newer_version_refused
  garbage_file_refused db_file_mode claim_plan_uses_index
  enqueue_batch_ids enqueue_all_or_nothing enqueue_full_disk
  enqueue_group_isolates_failures enqueue_group_full_disk
  claim_priority_then_fifo claim_full_spec claim_more_than_available complete_claim_together
  enqueue_group_claim
  complete_stores_results get_with_and_without_output get_unknown_id
  list_filter_and_pages list_with_output
  cancel_queued mark_cancel_requested recover_running_to_lost counts
  concurrent_enqueue retry_until_attempts_run_out retry_wait_and_promote recover_by_policy
  lost_shutdown_cancel_requeue migrate_v1_to_v2
  queue_plans_use_indexes claim_skips_paused_and_limited scheduled_and_expired
  migrate_v2_to_v3 purge_and_space)
# The 100k-job queue: a few seconds, longer under the sanitizers.
jq_add_cases(test_store unit 120 deep_queue_claim)
