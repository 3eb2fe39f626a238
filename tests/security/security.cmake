# Security tests: hostile clients and the service's exposure, against a real
# jobqd through the integration harness. Label: security.
add_executable(it_auth security/test_auth.c)
target_link_libraries(it_auth PRIVATE jq_it_harness)
add_dependencies(it_auth spawner jobqd)
jq_add_cases(it_auth security 60
  token_required failures_throttled_per_address token_not_inherited public_address_needs_token
  bad_token_settings tls_serves_https)

add_executable(it_slow_clients security/test_slow_clients.c)
target_link_libraries(it_slow_clients PRIVATE jq_it_harness)
add_dependencies(it_slow_clients spawner jobqd)
jq_add_cases(it_slow_clients security 60
  slowloris_does_not_starve slow_body_cut_at_deadline smuggling_shapes_refused)

add_executable(it_guards security/test_guards.c)
target_link_libraries(it_guards PRIVATE jq_it_harness)
add_dependencies(it_guards spawner jobqd)
jq_add_cases(it_guards security 60
  env_denied queue_full_429 allowlist_enforced allowlist_checked_at_start
  ctl_in_target_400 header_deadline_cuts_trickle)
