#!/usr/bin/env bash
# doc_examples.sh: runs every `curl` example of the REST contract (the lines
# starting with "curl " inside its ``` code blocks), in document order,
# against a fresh jobqd on an ephemeral port, and fails on any curl error or
# unexpected status. The expected status follows from the document: POST
# submits (201), GET reads (200), DELETE cancels (409 when the job has
# already finished, else 200 or 202); POST to /v1/queues/... or
# /v1/schedules/... and PATCH change settings (200). Examples refer to ids 1, 2, ...: a
# fresh database numbers jobs in the order the document submits them.
#
# usage: doc_examples.sh API_MD     (env: JOBQD, JQ_TEST_TMP)
set -euo pipefail

doc=${1:?usage: doc_examples.sh API_MD}
: "${JOBQD:?JOBQD must name the jobqd binary}"
base=${JQ_TEST_TMP:-/tmp}
mkdir -p "$base"
dir=$(mktemp -d "$base/doc-XXXXXX")
pid=

fail() {
  echo "doc_examples: $*" >&2
  exit 1
}

cleanup() {
  local status=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$dir/jobqd.log" ]; then
    echo "---- tail of jobqd.log ----" >&2
    tail -c 6000 "$dir/jobqd.log" >&2 || true
  fi
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT

start_server() {
  "$JOBQD" --listen 127.0.0.1:0 --port-file "$dir/port" --db "$dir/jobq.db" \
    --log-level debug --shutdown-grace-ms 1000 </dev/null >"$dir/jobqd.log" 2>&1 &
  pid=$!
  local i
  for i in $(seq 1 500); do
    # read succeeds only once the file holds a whole line.
    if { read -r port <"$dir/port"; } 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || fail "jobqd exited during start-up"
    sleep 0.02
  done
  fail "jobqd wrote no port file within 10 s"
}

# The state letter of process $1 ("" once reaped).
proc_state() {
  sed -n 's/^[0-9]* (.*) \(.\) .*/\1/p' "/proc/$1/stat" 2>/dev/null || true
}

# Stop with SIGTERM; it must exit 0 within 15 s.
stop_server() {
  local i state status=0
  kill -TERM "$pid"
  for i in $(seq 1 1500); do
    state=$(proc_state "$pid")
    [ -z "$state" ] || [ "$state" = Z ] && break
    sleep 0.01
  done
  [ -z "$state" ] || [ "$state" = Z ] || kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" || status=$?
  pid=
  [ -z "$state" ] || [ "$state" = Z ] || fail "jobqd did not stop within 15 s of SIGTERM"
  [ "$status" -eq 0 ] || fail "jobqd exited with status $status after SIGTERM"
}

# The status a DELETE of this URL should get: 409 once the job finished.
delete_expectation() {
  local url=$1 state
  state=$(curl -s --noproxy '*' --max-time 10 "$url" | grep -o '"state":"[a-z_]*"' | head -n 1 || true)
  case "$state" in
    *succeeded* | *failed* | *timed_out* | *cancelled* | *lost* | *expired*) echo "409" ;;
    *) echo "200 202" ;;
  esac
}

# The status a purge of this URL should get: 200 once the job finished.
purge_expectation() {
  case $(delete_expectation "${1%%\?*}") in
    409) echo "200" ;;
    *) echo "409" ;;
  esac
}

mapfile -t examples < <(awk '/^```/ { inblock = !inblock; next } inblock && /^curl / { print }' "$doc")
[ "${#examples[@]}" -gt 0 ] || fail "no curl examples found in $doc"

start_server
n=0
for line in "${examples[@]}"; do
  n=$((n + 1))
  case "$line" in
    *localhost:8080*) ;;
    *) fail "example $n does not target localhost:8080: $line" ;;
  esac
  cmd=${line//localhost:8080/127.0.0.1:$port}
  url=$(grep -o "127\.0\.0\.1:$port[^' ]*" <<<"$cmd" | head -n 1)
  case "$cmd" in
    *-XPOST*/v1/queues/* | *"-X POST"*/v1/queues/*) want="200" ;;
    *-XPOST*/v1/schedules/* | *"-X POST"*/v1/schedules/*) want="200" ;;
    *-XPOST*Idempotency-Key*) want="200 201" ;; # 200 when the key was used before
    *-XPOST* | *"-X POST"*) want="201" ;;
    *-XDELETE*purge=true* | *"-X DELETE"*purge=true*) want=$(purge_expectation "$url") ;;
    *-XDELETE* | *"-X DELETE"*) want=$(delete_expectation "$url") ;;
    *) want="200" ;;
  esac
  # The example as written, plus: fail on transport errors, no proxy, a
  # time bound, the body to a file and the status on stdout.
  if ! code=$(eval "$cmd -S --noproxy '*' --max-time 30 -o \"\$dir/body\" -w '%{http_code}'"); then
    fail "example $n: curl failed: $line"
  fi
  printf 'example %d: %s -> %s\n' "$n" "$line" "$code"
  case " $want " in
    *" $code "*) ;;
    *)
      head -c 2000 "$dir/body" >&2 || true
      fail "example $n: status $code, expected $want: $line"
      ;;
  esac
done
stop_server
echo "doc_examples: $n examples passed"
