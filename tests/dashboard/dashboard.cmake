# The dashboard end to end: the real jobqd (with a token) and the page at /
# in Debian's headless chromium, driven by playwright-core from npm (installed
# under the build tree at test time, never in the source tree). Screenshots
# land in test-artifacts/ of the build tree. Label: dashboard. Skips (77) when
# chromium or playwright-core cannot be had and this may not install them.
add_test(NAME dashboard.e2e
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/dashboard/run.sh ${PROJECT_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(dashboard.e2e PROPERTIES TIMEOUT 240 LABELS dashboard SKIP_RETURN_CODE 77
  ENVIRONMENT "JOBQD=$<TARGET_FILE:jobqd>;JQ_TEST_TMP=${CMAKE_BINARY_DIR}/test-tmp")
