#!/usr/bin/env bash
# bench/run.sh: build, start jobqd on a free loopback port with a temporary
# database, print the end-to-end numbers and the baselines measured in the
# same run, stop jobqd. Usage: bench/run.sh [WORKERS] [JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${1:-2}
jobs=${2:-2000}
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 --target jobqd jobq_bench >/dev/null
tmp=$(mktemp -d)
"$BUILD/service/jobqd" --listen 127.0.0.1:0 --port-file "$tmp/port" --db "$tmp/jobq.db" \
  --workers "$workers" --log-level warn 2>"$tmp/jobqd.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q . "$tmp/port" 2>/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$tmp/port")"
echo "jobqd: $workers workers, $(nproc) CPUs"
"$BUILD/bench/jobq_bench" spawn "$jobs" "$workers"
"$BUILD/bench/jobq_bench" throughput "$url" "$jobs"
"$BUILD/bench/jobq_bench" latency "$url" 200
