# Docker deployment tests. Label docker: docker_test.sh builds
# docker/Dockerfile and runs docker/compose.yaml with a real engine (slow:
# about 2 minutes warm, longer on a first run that installs the engine and
# makes the base images; it skips with a reason when not root on Debian, and
# in sanitizer trees, whose build the image does not use). Label
# integration: `jobqd healthcheck` (the image's HEALTHCHECK) against a real
# jobqd and against servers that refuse, stay silent or answer wrongly.
if(JQ_SANITIZE OR JQ_FUZZ)
  set(jq_docker_kind sanitize)
else()
  set(jq_docker_kind plain)
endif()
add_test(NAME docker.compose
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/docker/docker_test.sh ${PROJECT_SOURCE_DIR} ${jq_docker_kind})
set_tests_properties(docker.compose PROPERTIES TIMEOUT 1500 LABELS docker SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)

add_executable(it_healthcheck docker/test_healthcheck.c)
target_link_libraries(it_healthcheck PRIVATE jq_it_harness)
add_dependencies(it_healthcheck spawner jobqd)
jq_add_cases(it_healthcheck integration 60
  healthy_by_flag healthy_by_env_wildcard healthy_by_port_file refused
  silent_server_times_out non_200_is_unhealthy not_http_is_unhealthy bad_arguments)
