#!/usr/bin/env bash
# build.sh: the two commands of the README, on a fresh Debian/Ubuntu machine.
#   ./build.sh run    install what is missing, build, start jobqd on its
#                     defaults (127.0.0.1:8080, database ./data/jobq.db)
#   ./build.sh test   install what is missing, build, run every test, then
#                     run them all again under ASan + UBSan (clang)
# Extra arguments after `run` go to jobqd.
set -euo pipefail
cd "$(dirname "$0")"

BUILD=${BUILD:-build}
BUILD_ASAN=${BUILD_ASAN:-build-asan}
JOBS=${JOBS:-2}

build() { # dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$JOBS"
}

run_tests() { # dir
  (cd "$1" && ctest --output-on-failure -j2)
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  run)
    scripts/install-deps.sh
    build "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    exec "$BUILD/service/jobqd" "$@"
    ;;
  test)
    scripts/install-deps.sh
    build "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJQ_FAULT_POINTS=ON
    run_tests "$BUILD"
    CC=clang build "$BUILD_ASAN" -DCMAKE_BUILD_TYPE=Debug -DJQ_SANITIZE=ON -DJQ_FAULT_POINTS=ON -DJQ_FUZZ=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      run_tests "$BUILD_ASAN"
    ;;
  *)
    echo "usage: ./build.sh run [jobqd options] | ./build.sh test" >&2
    exit 2
    ;;
esac
