# Unit tests of core/.
add_executable(test_core unit/test_core.c)
target_link_libraries(test_core PRIVATE jq_core)
target_include_directories(test_core PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
jq_add_cases(test_core unit 30 state_names spec_roundtrip spec_decode_rejects_garbage err_names
  spec_decode_rejects_bad_policy spec_decodes_version_1 retry_decision_table retry_backoff_bounds
  retry_policy_defaults sha256_vectors hmac_sha256_rfc4231 queue_names
  cron_parse_fields cron_next_times)
