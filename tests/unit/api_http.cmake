# test_api: the HTTP API over a real SQLite store, driven with libcurl (the
# test plays the master). Links jq_api, jq_storage and libcurl.
add_executable(test_api unit/test_api.c)
target_link_libraries(test_api PRIVATE jq_api jq_storage PkgConfig::CURL PkgConfig::CJSON Threads::Threads)
target_include_directories(test_api PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
jq_add_cases(test_api unit 60
  submit_and_get wait_returns_when_done wait_deadline many_waiters_two_threads stop_answers_waiters
  routing_errors submit_errors body_over_cap cancel_states list_pages)

# test_route: the router against docs/openapi.yaml (embedded in jq_api).
add_executable(test_route unit/test_route.c)
target_link_libraries(test_route PRIVATE jq_api)
target_include_directories(test_route PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/api)
jq_add_cases(test_route unit 30 doc_paths_are_routes routes_are_documented ids)
