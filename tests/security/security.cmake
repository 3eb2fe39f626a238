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

# Job isolation: need root (jobs switch to nobody); without it each case
# prints why and exits 77, which CTest reports as skipped.
add_library(jq_iso_util STATIC security/iso_util.c)
target_link_libraries(jq_iso_util PUBLIC jq_it_harness)
target_include_directories(jq_iso_util PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/security)
add_executable(it_isolation security/test_isolation.c)
target_link_libraries(it_isolation PRIVATE jq_iso_util)
add_dependencies(it_isolation spawner jobqd)
set(JQ_ISOLATION_CASES capabilities_dropped privilege_drop secrets_unreadable root_jobs_refused only_std_fds no_network
  user_per_worker bad_user_ranges_refused)
jq_add_cases(it_isolation security 60 ${JQ_ISOLATION_CASES})
foreach(case ${JQ_ISOLATION_CASES})
  set_tests_properties(it_isolation.${case} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()

add_executable(it_limits security/test_limits.c)
target_link_libraries(it_limits PRIVATE jq_iso_util)
add_dependencies(it_limits spawner jobqd)
set(JQ_LIMITS_CASES cpu_and_fsize memory_hog fork_bomb limits_validated)
jq_add_cases(it_limits security 60 ${JQ_LIMITS_CASES})
foreach(case ${JQ_LIMITS_CASES})
  set_tests_properties(it_limits.${case} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()

add_executable(it_workdir security/test_workdir.c)
target_link_libraries(it_workdir PRIVATE jq_iso_util)
add_dependencies(it_workdir spawner jobqd)
set(JQ_WORKDIR_CASES links_planted next_job_sees_nothing named_cwd_kept)
jq_add_cases(it_workdir security 60 ${JQ_WORKDIR_CASES})
foreach(case ${JQ_WORKDIR_CASES})
  set_tests_properties(it_workdir.${case} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()

add_executable(it_cgroups security/test_cgroups.c)
target_link_libraries(it_cgroups PRIVATE jq_iso_util)
add_dependencies(it_cgroups spawner jobqd)
set(JQ_CGROUPS_CASES memory_limit procs_per_job daemon_killed_with_cgroup nothing_left_at_exit
  limit_not_carried_over
  leftovers_removed_at_start forced_backend_missing)
jq_add_cases(it_cgroups security 60 ${JQ_CGROUPS_CASES})
foreach(case ${JQ_CGROUPS_CASES})
  set_tests_properties(it_cgroups.${case} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
# Any jobqd that starts removes the job cgroups of dead masters: run alone
# the case that kills a master and looks for its leftovers before the next
# start.
set_tests_properties(it_cgroups.leftovers_removed_at_start PROPERTIES RUN_SERIAL TRUE)
