# Unit tests of service/ pieces that need no running master: the
# callbacks' SSRF guard, built from its sources directly (curl's header
# only; nothing of libcurl is called).
add_executable(test_callback_addr unit/test_callback_addr.c
  ${PROJECT_SOURCE_DIR}/service/callback_addr.c ${PROJECT_SOURCE_DIR}/service/callback_guard.c)
target_include_directories(test_callback_addr PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/service)
target_link_libraries(test_callback_addr PRIVATE PkgConfig::CURL)
jq_add_cases(test_callback_addr unit 30
  classifier_table other_families_refused guard_refuses_private guard_allows_when_told)
