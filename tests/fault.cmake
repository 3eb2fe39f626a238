# Fault tests (label: fault): the real jobqd under crashes — SIGKILLed
# masters and workers, crash points (core/fault.h; the cases that need them
# skip unless the build has -DJQ_FAULT_POINTS=ON), shutdown under load, a
# full disk, bursts of exiting processes, hostile process trees and
# descriptors. They drive jobqd through the integration harness and link
# SQLite only to run PRAGMA integrity_check on the database file.
add_library(jq_fault_util STATIC fault/fault_util.c)
target_include_directories(jq_fault_util PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/fault)
target_link_libraries(jq_fault_util PUBLIC jq_it_harness PkgConfig::SQLITE)

# ft_<name> from fault/test_<name>.c.
function(jq_add_fault name)
  add_executable(ft_${name} fault/test_${name}.c)
  target_link_libraries(ft_${name} PRIVATE jq_fault_util Threads::Threads)
  add_dependencies(ft_${name} spawner jobqd)
endfunction()

jq_add_fault(master_death)
jq_add_cases(ft_master_death fault 150 master_kill_seeds)
jq_add_cases(ft_master_death fault 60 master_death_tree)

jq_add_fault(crash_points)
jq_add_cases(ft_crash_points fault 60
  enqueue_before_commit submit_after_commit dispatch_after_claim recover_before_commit complete_before_commit
  worker_after_take finish_half_written finish_before_post)

jq_add_fault(worker_death)
jq_add_cases(ft_worker_death fault 60 worker_kill9 stopped_worker_killed)

jq_add_fault(shutdown)
jq_add_cases(ft_shutdown fault 60 shutdown_under_load)

jq_add_fault(group_commit)
target_link_libraries(ft_group_commit PRIVATE PkgConfig::CURL)
jq_add_cases(ft_group_commit fault 60 concurrent_posts_share_commits shutdown_commits_queued)

jq_add_fault(disk_full)
jq_add_cases(ft_disk_full fault 60 disk_full result_kept_until_space)

jq_add_fault(zombies)
jq_add_cases(ft_zombies fault 120 exit_bursts)

jq_add_fault(proc_trees)
jq_add_cases(ft_proc_trees fault 90 daemon_holds_output gib_output_flat_rss inherited_fds stdin_eof_not_socket)

get_property(jq_fault_tests DIRECTORY PROPERTY TESTS)
foreach(t ${jq_fault_tests})
  if(t MATCHES "^ft_")
    set_tests_properties(${t} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endforeach()
