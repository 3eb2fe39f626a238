#!/usr/bin/env bash
# run.sh: the dashboard's end-to-end browser test. Starts the real jobqd (with
# a token) on an ephemeral loopback port, then drives the page served at /
# in Debian's headless chromium through playwright-core (e2e.mjs). Saves
# screenshots under BUILD_DIR/test-artifacts/ and prints their paths.
#
# usage: run.sh SOURCE_DIR BUILD_DIR     (env: JOBQD, JQ_TEST_TMP)
# Exit 77 (skip) when chromium or playwright-core cannot be had on a machine
# where this script may not install them (not root, or not Debian).
set -euo pipefail

src=${1:?usage: run.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: run.sh SOURCE_DIR BUILD_DIR}
: "${JOBQD:?JOBQD must name the jobqd binary}"
PW_VERSION=1.65.1
SKIP=77

can_install=0
[ "$(id -u)" -eq 0 ] && [ -f /etc/debian_version ] && can_install=1

# Missing prerequisite: fail where we could have installed it, else skip.
unavailable() {
  if [ "$can_install" -eq 1 ]; then
    echo "dashboard: FAIL: $*" >&2
    exit 1
  fi
  echo "dashboard: SKIP: $* (not root on Debian: cannot install it here)"
  exit "$SKIP"
}

chromium_bin=${JQ_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium_bin" ] && [ "$can_install" -eq 1 ]; then
  bash "$src/scripts/install-deps.sh" >&2 || true
fi
[ -x "$chromium_bin" ] || unavailable "no chromium at $chromium_bin"
command -v node >/dev/null || unavailable "no node"

node_dir="$build/dashboard-node"
installed_version() {
  node -e 'try { process.stdout.write(require(process.argv[1]).version) } catch (e) {}' \
    "$node_dir/node_modules/playwright-core/package.json" 2>/dev/null || true
}
if [ "$(installed_version)" != "$PW_VERSION" ]; then
  command -v npm >/dev/null || unavailable "no npm to install playwright-core"
  mkdir -p "$node_dir"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$node_dir" --no-audit --no-fund \
    --no-save "playwright-core@$PW_VERSION" >&2 || true
  [ "$(installed_version)" = "$PW_VERSION" ] || unavailable "cannot install playwright-core@$PW_VERSION"
fi

base=${JQ_TEST_TMP:-/tmp}
mkdir -p "$base"
dir=$(mktemp -d "$base/dash-XXXXXX")
artifacts="$build/test-artifacts"
mkdir -p "$artifacts"
jobqd_pid=
node_pid=

# Whether pid runs (exists and is not a zombie).
alive() {
  local st
  st=$(sed -n 's/^[0-9]* (.*) \(.\) .*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
  [ -n "$st" ] && [ "$st" != Z ]
}

# Stops a process (its whole group when $2 = group) with SIGTERM, then
# SIGKILL after 5 s, and reaps it.
stop() {
  local pid=$1 target=$1 i
  [ "${2:-}" = group ] && target="-$1"
  kill -TERM -- "$target" 2>/dev/null || true
  for i in $(seq 1 50); do
    alive "$pid" || break
    sleep 0.1
  done
  kill -KILL -- "$target" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -n "$node_pid" ] && stop "$node_pid" group
  [ -n "$jobqd_pid" ] && stop "$jobqd_pid"
  if [ "$status" -ne 0 ] && [ -f "$dir/jobqd.log" ]; then
    echo "---- tail of jobqd.log ----" >&2
    tail -c 4000 "$dir/jobqd.log" >&2 || true
  fi
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
JOBQ_TOKEN=$token "$JOBQD" --listen 127.0.0.1:0 --port-file "$dir/port" --db "$dir/jobq.db" \
  --workers 2 --shutdown-grace-ms 1000 </dev/null >"$dir/jobqd.log" 2>&1 &
jobqd_pid=$!
port=
for _ in $(seq 1 500); do
  if { read -r port <"$dir/port"; } 2>/dev/null; then break; fi
  kill -0 "$jobqd_pid" 2>/dev/null || { echo "dashboard: jobqd exited during start-up" >&2; exit 1; }
  sleep 0.02
done
[ -n "$port" ] || { echo "dashboard: jobqd wrote no port file within 10 s" >&2; exit 1; }

# The browser runs in its own process group, so that cleanup reaches every
# process it started even if node dies first.
JQ_BASE_URL="http://127.0.0.1:$port" JQ_TOKEN="$token" JQ_CHROMIUM="$chromium_bin" \
  JQ_PW_DIR="$node_dir" JQ_ARTIFACTS="$artifacts" JQ_TMP="$dir" \
  setsid node "$src/tests/dashboard/e2e.mjs" </dev/null &
node_pid=$!
set +e
wait "$node_pid"
rc=$?
set -e
node_pid_done=$node_pid
node_pid=
stop "$node_pid_done" group
[ "$rc" -eq 0 ] || { echo "dashboard: e2e.mjs failed (exit $rc)" >&2; exit 1; }

pid=$jobqd_pid
jobqd_pid=
stop "$pid"
echo "dashboard: ok"
