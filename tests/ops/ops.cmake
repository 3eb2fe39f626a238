# Operability tests: /metrics (strict exposition-format parser) and
# /v1/stats against a real jobqd. Label: ops.
add_executable(it_metrics ops/test_metrics.c)
target_link_libraries(it_metrics PRIVATE jq_it_harness m)
add_dependencies(it_metrics spawner jobqd)
jq_add_cases(it_metrics ops 60 metrics_strict_and_true stats_json)

add_executable(it_logs ops/test_logs.c)
target_link_libraries(it_logs PRIVATE jq_it_harness)
add_dependencies(it_logs spawner jobqd)
jq_add_cases(it_logs ops 60 json_lines)
