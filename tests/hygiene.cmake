# Test-run hygiene: a fixture around the whole suite. hygiene.snapshot runs
# first and records /dev/shm and the test-tmp dir; hygiene.check runs last,
# alone, and fails on leftover processes of this build (jobqd, workers,
# spawner, test programs), zombies they parent, and new /dev/shm or test-tmp
# entries. Every test of this directory requires the fixture, so any
# selection (ctest -L integration, -R walkthrough) is wrapped by both.
add_executable(jq_hygiene hygiene/hygiene.c)
target_link_libraries(jq_hygiene PRIVATE jq_it_harness)

set(JQ_HYGIENE_SNAPSHOT ${CMAKE_BINARY_DIR}/test-tmp/hygiene-snapshot.txt)
add_test(NAME hygiene.snapshot COMMAND jq_hygiene snapshot ${JQ_HYGIENE_SNAPSHOT})
add_test(NAME hygiene.check COMMAND jq_hygiene check ${JQ_HYGIENE_SNAPSHOT} ${CMAKE_BINARY_DIR})
set_tests_properties(hygiene.snapshot PROPERTIES FIXTURES_SETUP jq_hygiene LABELS hygiene TIMEOUT 30)
set_tests_properties(hygiene.check PROPERTIES FIXTURES_CLEANUP jq_hygiene LABELS hygiene TIMEOUT 30 RUN_SERIAL TRUE)

get_property(jq_all_tests DIRECTORY PROPERTY TESTS)
foreach(t ${jq_all_tests})
  if(NOT t MATCHES "^hygiene\\.")
    set_property(TEST ${t} APPEND PROPERTY FIXTURES_REQUIRED jq_hygiene)
  endif()
endforeach()
