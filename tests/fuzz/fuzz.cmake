# Fuzzing (clang only, configured with -DJQ_FUZZ=ON, which the sanitizer
# pass of ./build.sh test does): libFuzzer targets over the request ->
# job-spec path and the router. CTest replays the committed seed corpus
# (tests/fuzz/corpus/) and then fuzzes each target for a bounded time; new
# inputs go to the build tree, never into the source tree. Label: fuzz.
if(JQ_FUZZ)
  set(JQ_FUZZ_SECONDS 25 CACHE STRING "seconds each fuzz target runs in the test pass")
  foreach(target submission route)
    add_executable(fuzz_${target} fuzz/fuzz_${target}.c)
    target_link_libraries(fuzz_${target} PRIVATE jq_api PkgConfig::CJSON)
    target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
    set(seeds ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${target})
    set(found ${CMAKE_BINARY_DIR}/fuzz-corpus/${target})
    file(MAKE_DIRECTORY ${found})
    add_test(NAME fuzz_${target}.replay COMMAND fuzz_${target} -runs=0 ${seeds})
    add_test(NAME fuzz_${target}.fuzz
      COMMAND fuzz_${target} -max_total_time=${JQ_FUZZ_SECONDS} -max_len=65536 -rss_limit_mb=2048
              -timeout=10 ${found} ${seeds})
    set_tests_properties(fuzz_${target}.replay fuzz_${target}.fuzz PROPERTIES LABELS fuzz TIMEOUT 300)
  endforeach()
endif()
