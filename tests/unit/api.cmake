# test_job_json: unit tests of the JSON side of the API (strict parsing of
# submissions, rendering of jobs). Built from the JSON sources directly, so
# it needs neither libmicrohttpd nor storage (api.h only needs store.h).
add_executable(test_job_json unit/test_job_json.c
  ${PROJECT_SOURCE_DIR}/api/job_json.c ${PROJECT_SOURCE_DIR}/api/env_policy.c ${PROJECT_SOURCE_DIR}/api/job_json_render.c
  ${PROJECT_SOURCE_DIR}/api/json_strict.c ${PROJECT_SOURCE_DIR}/api/utf8.c ${PROJECT_SOURCE_DIR}/api/base64.c
  ${PROJECT_SOURCE_DIR}/api/rfc3339.c)
target_include_directories(test_job_json PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}
  ${PROJECT_SOURCE_DIR}/api ${PROJECT_SOURCE_DIR}/storage)
target_link_libraries(test_job_json PRIVATE jq_core PkgConfig::CJSON)
jq_add_cases(test_job_json unit 30
  parse_minimal parse_full parse_defaults_follow_policy parse_integer_forms parse_batch_order
  parse_at_caps parse_surrogate_pair
  reject_malformed reject_encoding reject_deep_nesting reject_command reject_integers reject_fields
  reject_env reject_dangerous_env reject_cwd_stdin reject_batch reject_too_many_values small_message_buffer
  body_not_nul_terminated
  base64_vectors utf8_rules format_time
  render_finished render_utf8_and_spec render_binary_output render_queued render_signal
  render_sanitizes_text parse_render_roundtrip
  parse_retry_fields reject_retry_fields render_retry_wait_and_attempts)
