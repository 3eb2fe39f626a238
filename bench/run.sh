#!/usr/bin/env bash
# bench/run.sh: build, then measure jobq against baselines taken in the same
# run, and print every measure's raw lines followed by one table of ratios.
# Usage: bench/run.sh [WORKERS] [JOBS]     (defaults: 2 workers, 2000 jobs)
# Environment: BUILD (build dir, default ./build-bench: RelWithDebInfo, no
# crash points), SUBMITS (POSTs of the durable-submission measure, default
# 50000), DEPTH (deep queue, default 1000000). Never part of the tests'
# pass/fail.
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${1:-2}
jobs=${2:-2000}
submits=${SUBMITS:-50000}
depth=${DEPTH:-1000000}
BUILD=${BUILD:-build-bench}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJQ_FAULT_POINTS=OFF >/dev/null
cmake --build "$BUILD" -j2 --target jobqd jobq_bench trivial_httpd >/dev/null
bench="$BUILD/bench/jobq_bench"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# wait_port FILE: until the server wrote its port.
wait_port() {
  for _ in $(seq 100); do grep -q . "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "no port in $1" >&2; return 1
}

# start_jobqd NAME ARGS...: a jobqd on a free loopback port with its own
# database; sets pid and url.
start_jobqd() {
  local name=$1; shift
  mkdir -p "$tmp/$name"
  "$BUILD/service/jobqd" --listen 127.0.0.1:0 --port-file "$tmp/$name/port" --db "$tmp/$name/jobq.db" \
    --log-level warn "$@" 2>"$tmp/$name/jobqd.log" &
  pid=$!
  pids+=("$pid")
  wait_port "$tmp/$name/port"
  url="http://127.0.0.1:$(cat "$tmp/$name/port")"
}

stop() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }

out="$tmp/out.txt"
{
  echo "jobqd: $workers workers, $(nproc) CPUs, $jobs jobs"
  # 1. and 3. baselines: bare spawn and the raw spawn pool.
  "$bench" spawn "$jobs" "$workers"
  # 1., 3. and 5.: end to end, latency and memory on one jobqd.
  start_jobqd e2e --workers "$workers"
  "$bench" memory "$url" "$pid" "$jobs"
  "$bench" latency "$url" 200
  stop "$pid"
  # 2. durable submissions against the trivial handler, same client. The
  # jobqd's one worker is kept busy by a long job, so nothing else runs and
  # only the POST path (parse, group commit, 201) is measured.
  mkdir -p "$tmp/trivial"
  "$BUILD/bench/trivial_httpd" "$tmp/trivial/port" &
  tpid=$!
  pids+=("$tpid")
  wait_port "$tmp/trivial/port"
  echo "baseline http:"
  "$bench" submit "http://127.0.0.1:$(cat "$tmp/trivial/port")" "$submits" 32
  stop "$tpid"
  start_jobqd submit --workers 1
  curl -sS --noproxy '*' -o /dev/null -d '{"command":["sleep","3600"]}' "$url/v1/jobs"
  echo "jobqd:"
  "$bench" submit "$url" "$submits" 32
  curl -sS --noproxy '*' "$url/metrics" | grep -E '^jobq_(submit_commits|jobs_submitted)_total'
  stop "$pid"
  # 4. queue depth, through the storage library.
  mkdir -p "$tmp/depth"
  "$bench" depth "$tmp/depth" "$depth" 1000 2000
} | tee "$out"

# The table.
awk -v W="$workers" '
  /^bare spawn/            { for (i = 1; i <= NF; i++) if ($i ~ /^p50=/) { sub("p50=", "", $i); bare50 = $i }
                                                         else if ($i ~ /^p99=/) { sub("p99=", "", $i); bare99 = $i } }
  /^raw spawn pool/        { raw = $(NF - 1) }
  /^throughput/            { e2e[++ne] = $(NF - 5) }
  /^latency/               { for (i = 1; i <= NF; i++) if ($i ~ /^p[0-9]+=/) { split($i, kv, "="); lat[kv[1]] = kv[2] } }
  /^baseline http/         { which = "base" }
  /^jobqd:$/               { which = "jobq" }
  /^submit:/               { rate[which] = $(NF - 1) }
  /^jobq_submit_commits/   { commits = $2 }
  /^jobq_jobs_submitted/   { submitted = $2 }
  /^depth: claim rate/     { shallow = $6; deep = $10; dratio = $NF }
  /^memory: master idle/   { idle = $(NF - 1) }
  /^memory: run/           { peak[++nm] = $7; after[nm] = $(NF - 1) }
  /^memory: worker/        { wrss = wrss (wrss ? ", " : "") $6 "/" $(NF - 1) }
  END {
    best = 0; for (i = 1; i <= ne; i++) if (e2e[i] > best) best = e2e[i]
    printf "\n| measure | jobq | baseline | ratio | target |\n|---|---|---|---|---|\n"
    printf "| end-to-end, %d workers (best of %d runs) | %d jobs/s | raw spawn pool %d/s | %.2f | >= 0.90 |\n", W, ne, best, raw, best / raw
    printf "| durable submissions, 32 connections | %d req/s | trivial handler %d req/s | %.2f | >= 0.25 |\n", rate["jobq"], rate["base"], rate["jobq"] / rate["base"]
    printf "| (submissions per group commit) | %.1f | | | |\n", commits ? (submitted - 1) / commits : 0
    printf "| latency p50 | %.2f ms | bare spawn %.2f ms | +%.2f ms | <= +0.30 ms |\n", lat["p50"], bare50, lat["p50"] - bare50
    printf "| latency p99 | %.2f ms | 2 x p50 = %.2f ms | %.2f x p50 | <= 2 x p50 |\n", lat["p99"], 2 * lat["p50"], lat["p99"] / lat["p50"]
    printf "| claim rate, 1M vs 1k queued | %d claims/s | %d claims/s | %.2f | >= 0.90 |\n", deep, shallow, dratio
    printf "| master RSS idle | %.1f MB | | | <= 8 MB |\n", idle / 1024
    for (i = 1; i <= nm; i++)
      printf "| master RSS run %d: peak / after | %.1f / %.1f MB | | | flat |\n", i, peak[i] / 1024, after[i] / 1024
    printf "| worker RSS / peak (kB) | %s | | | |\n", wrss
  }' "$out"
