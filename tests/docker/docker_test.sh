#!/usr/bin/env bash
# docker_test.sh: builds docker/Dockerfile and runs docker/compose.yaml with a
# real Docker engine, then checks what docs/docker.md promises: the image
# size, healthy via `jobqd healthcheck`, token required, jobs run and report
# exit codes, everything runs as uid 10001 without capabilities, a read-only
# root with /tmp as scratch, a clean and quick `docker stop` (exit 0), jobs
# kept across `down` + `up` on the named volume, and a stop during a running
# job that ends inside the grace. Cleans up everything it made.
#
# Engine: uses one that answers; otherwise installs Debian's engine if missing and
# starts its own dockerd (no bridge, no iptables, a private socket) whose
# data-root under $JQ_DOCKER_STATE keeps the base images between runs, and
# stops it at the end. Base images that cannot be pulled are made with
# debootstrap + docker import, so the Dockerfile stays as users run it.
# Containers use the host's network through a test-only override and listen
# on 127.0.0.1 only.
#
# Exit 0 pass, 1 fail, 77 skip (not root, not Debian, or a sanitizer tree).
# usage: docker_test.sh REPO_DIR [BUILD_KIND]   (BUILD_KIND "sanitize" skips)
# shellcheck disable=SC2015  # "[ a ] && [ b ] || fail" is meant: fail unless both hold
set -euo pipefail

repo=$(cd "${1:?usage: docker_test.sh REPO_DIR [BUILD_KIND]}" && pwd)
kind=${2:-plain}
state=${JQ_DOCKER_STATE:-/tmp/jobq-docker-engine}
project=jobqdtest
image=jobq:dtest
uid=10001
# jobs: uid = gid = 20000 + the worker slot (JOBQ_RUN_AS_RANGE in the image)
service_caps=00000000000000eb   # CHOWN DAC_OVERRIDE FOWNER KILL SETGID SETUID
t_start=$SECONDS

log() { printf '[docker-test %(%H:%M:%S)T +%3ds] %s\n' -1 $((SECONDS - t_start)) "$*"; }
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*" >&2; exit 1; }

[ "$kind" != sanitize ] || skip "sanitizer tree: the image makes its own Release build; the plain tree runs this test"
[ "$(id -u)" -eq 0 ] || skip "needs root to install and start a Docker engine"
[ -f /etc/debian_version ] && command -v apt-get >/dev/null || skip "not Debian: install Docker and run as root on Debian"

mkdir -p "$state"
exec 9>"$state/lock"
flock -w 900 9 || fail "another docker test holds $state/lock"
work=$(mktemp -d /tmp/jobq-dtest-XXXXXX)
own_engine=0
dockerd_pid=
compose=()
files=()
container=

# ---- engine, compose, base images ----------------------------------------

apt_install() {
  log "apt-get install $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

debian_mirror() {
  local m=""
  [ -f /etc/apt/sources.list.d/debian.sources ] &&
    m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  [ -n "$m" ] || [ ! -f /etc/apt/sources.list ] ||
    m=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list)
  [ -n "$m" ] || fail "no Debian mirror in the apt sources"
  echo "$m"
}

start_engine() {
  if timeout 10 docker info >/dev/null 2>&1; then
    log "using the Docker engine that answers"
    return 0
  fi
  export DOCKER_HOST="unix://$state/docker.sock"
  own_engine=1
  if [ -f "$state/dockerd.pid" ] && kill -0 "$(cat "$state/dockerd.pid")" 2>/dev/null &&
     timeout 10 docker info >/dev/null 2>&1; then
    dockerd_pid=$(cat "$state/dockerd.pid")
    log "adopting the test's dockerd left by an earlier run (pid $dockerd_pid)"
    return 0
  fi
  command -v dockerd >/dev/null || apt_install docker.io # the Debian package of the engine
  command -v docker >/dev/null || fail "the engine package installed no docker command"
  log "starting dockerd (data-root $state/data, no bridge, no iptables)"
  setsid dockerd --data-root "$state/data" --exec-root "$state/exec" --pidfile "$state/dockerd.pid" \
    -H "$DOCKER_HOST" --bridge=none --iptables=false --ip-masq=false \
    >"$state/dockerd.log" 2>&1 </dev/null &
  dockerd_pid=$!
  for _ in $(seq 1 60); do
    timeout 5 docker info >/dev/null 2>&1 && return 0
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.5
  done
  tail -20 "$state/dockerd.log" >&2
  fail "dockerd did not come up"
}

pick_compose() {
  if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
  else
    command -v docker-compose >/dev/null || apt_install docker-compose
    compose=(docker-compose)
  fi
  log "compose: $("${compose[@]}" version 2>/dev/null | head -1)"
}

# debian:bookworm from debootstrap, then slimmed like the official
# bookworm-slim (no docs, man pages, locales) for debian:bookworm-slim.
make_base_images() {
  local r="$work/rootfs"
  command -v debootstrap >/dev/null || apt_install debootstrap
  log "debootstrap --variant=minbase bookworm (no registry to pull from)"
  debootstrap --variant=minbase bookworm "$r" "$(debian_mirror)" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$r/etc/apt/sources.list.d/"
    rm -f "$r/etc/apt/sources.list"
  fi
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb
  tar --numeric-owner -C "$r" -c . | docker import --change 'CMD ["bash"]' - debian:bookworm >/dev/null
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
    'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/lintian/*' >"$r/etc/dpkg/dpkg.cfg.d/docker"
  echo 'APT::Install-Recommends "false";' >"$r/etc/apt/apt.conf.d/docker-no-recommends"
  find "$r/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$r"/usr/share/man/* "$r"/usr/share/info/* "$r"/usr/share/locale/* "$r"/var/log/*.log "$r"/tmp/*
  tar --numeric-owner -C "$r" -c . | docker import --change 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  rm -rf "$r"
}

base_images() {
  local missing=0 tag
  for tag in debian:bookworm debian:bookworm-slim; do
    docker image inspect "$tag" >/dev/null 2>&1 && continue
    timeout 120 docker pull -q "$tag" >/dev/null 2>&1 || missing=1
  done
  [ "$missing" = 0 ] || make_base_images
  log "base images: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' debian | tr '\n' ' ')"
}

# ---- compose files --------------------------------------------------------

# Below the kernel's ephemeral range: the port is chosen long before the
# container binds it, and meanwhile other tests' client sockets take
# ephemeral ports, any of which would make the bind fail.
free_port() {
  local p low
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range
  [ "$low" -gt 12000 ] || fail "ephemeral ports start at $low: no room below them"
  for _ in $(seq 1 50); do
    p=$((10000 + RANDOM % (low - 10000)))
    [ -z "$(ss -Htan "sport = :$p")" ] && { echo "$p"; return 0; }
  done
  fail "no free port"
}

# The project's compose file with its `ports:` mapping left out (host
# networking publishes nothing, and compose v1 has no `!reset`), plus an
# override: host network for build and run, 127.0.0.1 only, quick health
# probes. Paths in the file stay relative to docker/ (--project-directory).
write_compose_files() {
  awk '/^    ports:/ {skip = 1; next} skip && /^      - / {next} {skip = 0; print}' \
    "$repo/docker/compose.yaml" >"$work/compose.yaml"
  cat >"$work/override.yaml" <<EOF
services:
  jobq:
    network_mode: host
    build:
      network: host
    environment:
      JOBQ_LISTEN: 127.0.0.1:$port
    healthcheck:
      interval: 1s
      start_period: 30s
EOF
  files=(-p "$project" --project-directory "$repo/docker" -f "$work/compose.yaml" -f "$work/override.yaml")
}

dc() { "${compose[@]}" "${files[@]}" "$@"; }

# ---- checks ---------------------------------------------------------------

api() { # METHOD PATH [BODY] -> body on stdout, status in $work/status
  : >"$work/body"
  local args=(-s -m 20 -o "$work/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $token")
  [ $# -lt 3 ] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl "${args[@]}" "http://127.0.0.1:$port$2" >"$work/status" || true
  cat "$work/body"
}

expect_status() { [ "$(cat "$work/status")" = "$1" ] || fail "$2: HTTP $(cat "$work/status"), expected $1: $(cat "$work/body")"; }
field() { grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2- | tr -d '"'; }

wait_healthy() {
  container=$(dc ps -q jobq)
  [ -n "$container" ] || fail "compose started no container"
  local s
  for _ in $(seq 1 120); do
    s=$(docker inspect -f '{{.State.Health.Status}}' "$container")
    case "$s" in
      healthy) return 0 ;;
      unhealthy) break ;;
    esac
    [ "$(docker inspect -f '{{.State.Running}}' "$container")" = true ] || break
    sleep 0.5
  done
  docker logs --tail 30 "$container" >&2 || true
  docker inspect -f '{{json .State}}' "$container" >&2 || true
  fail "container not healthy (health: $s)"
}

submit() { # JSON -> job id
  api POST /v1/jobs "$1" >/dev/null
  expect_status 201 "submit $1"
  field id <"$work/body"
}

check_job() { # ID STATE EXIT_CODE STDOUT
  local body
  body=$(api GET "/v1/jobs/$1?wait=10")
  expect_status 200 "job $1"
  [ "$(field state <<<"$body")" = "$2" ] || fail "job $1: state $(field state <<<"$body"), expected $2: $body"
  [ "$(field exit_code <<<"$body")" = "$3" ] || fail "job $1: exit_code $(field exit_code <<<"$body"), expected $3"
  grep -qF "\"stdout\":\"$4\"" <<<"$body" || fail "job $1: stdout is not \"$4\": $body"
}

check_image() {
  local size
  size=$(docker image inspect -f '{{.Size}}' "$image")
  log "image $image: $size bytes"
  [ "$size" -le 80000000 ] || fail "image is $size bytes, over 80 MB"
  # Started as root only for setpriv, which becomes 10001 and execs tini.
  [[ "$(docker image inspect -f '{{json .Config.Entrypoint}} {{.Config.StopSignal}} {{json .Config.Healthcheck.Test}}' "$image")" \
    == '["/usr/bin/setpriv","--reuid='$uid'","--regid='$uid'","--clear-groups",'*'"--","/usr/bin/tini","--","/usr/local/bin/jobqd"] SIGTERM ["CMD","/usr/bin/setpriv","--reuid='$uid'"'*'"/usr/local/bin/jobqd","healthcheck"]' ]] ||
    fail "entrypoint, stop signal or healthcheck differ from docs/docker.md"
  docker run --rm --network none --entrypoint /bin/sh "$image" -c \
    '! command -v curl && ! command -v wget && ! command -v gcc && [ "$(stat -c "%u %a" /data)" = "'$uid' 700" ]' ||
    fail "the image holds curl, wget or gcc, or /data is not $uid mode 0700"
  # Listening on 0.0.0.0 without the secret: jobqd must refuse to start.
  local rc=0
  docker run --rm --network none "$image" >"$work/notoken.log" 2>&1 || rc=$?
  [ "$rc" = 2 ] && grep -q "token file" "$work/notoken.log" ||
    fail "without a token the container exited $rc: $(cat "$work/notoken.log")"
}

check_container() {
  local pid caps
  [ "$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}} {{.Config.StopTimeout}}' "$container")" \
    = "true [ALL] 512 unless-stopped 15" ] || fail "container settings differ: $(docker inspect -f '{{json .HostConfig}}' "$container")"
  [[ "$(docker inspect -f '{{.HostConfig.SecurityOpt}}' "$container")" == *no-new-privileges* ]] ||
    fail "no-new-privileges is not set"
  # Every process in the container runs as uid 10001, with only the
  # capabilities running jobs as other users needs (jobs keep none: check_jobs).
  docker top "$container" -eo uid,pid,comm | tail -n +2 >"$work/top"
  [ -s "$work/top" ] && ! awk -v u="$uid" '$1 != u {bad = 1} END {exit !bad}' "$work/top" ||
    fail "a process in the container is not uid $uid: $(cat "$work/top")"
  local pids
  mapfile -t pids < <(awk '{print $2}' "$work/top")
  for pid in "${pids[@]}"; do
    caps=$(awk '/^CapPrm|^CapEff|^CapBnd|^NoNewPrivs/ {printf "%s ", $2}' "/proc/$pid/status")
    [ "$caps" = "$service_caps $service_caps $service_caps 1 " ] || fail "pid $pid: CapPrm/CapEff/CapBnd/NoNewPrivs = $caps"
  done
  [ "$(docker exec "$container" cat /proc/1/comm)" = tini ] || fail "PID 1 is not tini"
  [[ "$(docker exec "$container" /usr/local/bin/jobqd healthcheck)" == healthy:* ]] ||
    fail "jobqd healthcheck in the container"
}

check_jobs() { # -> ids in $job_fail $job_ok
  curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/jobs" >"$work/status" || true
  expect_status 401 "a request without the token"
  # The image is built without completion callbacks (no libcurl): refused.
  api POST /v1/jobs '{"command":["true"],"callback_url":"http://127.0.0.1:9/x"}' | grep -q callbacks_unavailable ||
    fail "callback_url in the image: $(cat "$work/body")"
  expect_status 422 "callback_url in the image"
  job_fail=$(submit '{"command":["sh","-c","echo out; echo err >&2; exit 3"],"timeout_ms":10000}')
  job_ok=$(submit '{"command":["sh","-c","'"$job_ok_script"'"],"timeout_ms":10000}')
  check_job "$job_fail" failed 3 'out\n'
  check_job "$job_ok" succeeded 0 "$job_ok_stdout"
  # What a job must not reach: the database, the token, jobqd's environment.
  local secrets
  secrets=$(submit '{"command":["sh","-c","for f in /data/jobq.db /run/secrets/jobq_token /proc/1/environ; do cat $f > /dev/null 2>&1 && echo read $f; done; ls /data > /dev/null 2>&1 && echo listed /data; echo none"],"timeout_ms":10000}')
  check_job "$secrets" succeeded 0 'none\n'
}

# The job runs as its worker's user (uid = gid = 20000 + slot, no other
# group), with no capability, in a private directory under /tmp that it may
# write.
job_ok_script='u=$(id -u); [ $u -ge 20000 ] && [ $u -le 20255 ] && [ \"$(id -G)\" = $u ] && echo own-user; grep -E \"^Cap(Prm|Eff|Amb)\" /proc/self/status | cut -f2; pwd | cut -d/ -f1-3; echo x > scratch && cat scratch'
job_ok_stdout="own-user\\n0000000000000000\\n0000000000000000\\n0000000000000000\\n/tmp/jobq-work-$uid\\nx\\n"

timed_stop() { # MIN_S MAX_S -> fails unless exit 0 within the bounds
  local t0 t1 rc
  t0=$(date +%s%N)
  docker stop "$container" >/dev/null
  t1=$(date +%s%N)
  stop_ms=$(((t1 - t0) / 1000000))
  rc=$(docker inspect -f '{{.State.ExitCode}}' "$container")
  log "docker stop: ${stop_ms} ms, exit $rc"
  [ "$rc" = 0 ] || fail "docker stop: exit $rc (137 = killed after the grace)"
  [ "$stop_ms" -ge $(($1 * 1000)) ] && [ "$stop_ms" -le $(($2 * 1000)) ] ||
    fail "docker stop took $stop_ms ms, expected $1-$2 s"
}

# ---- cleanup --------------------------------------------------------------

cleanup() {
  local status=$?
  set +e
  if [ "$status" -ne 0 ] && [ -n "$container" ]; then
    echo "---- container log ----" >&2
    docker logs --tail 40 "$container" >&2 2>&1
  fi
  if [ ${#files[@]} -gt 0 ]; then
    timeout 120 "${compose[@]}" "${files[@]}" down -v --remove-orphans >/dev/null 2>&1
  fi
  if [ ${#compose[@]} -gt 0 ] && docker info >/dev/null 2>&1; then
    docker volume rm "${project}_jobq-data" >/dev/null 2>&1
    docker rmi -f "$image" >/dev/null 2>&1
    if [ "$own_engine" = 1 ]; then # our own engine: drop build leftovers, keep the base images
      docker image prune -f >/dev/null 2>&1
      docker builder prune -f >/dev/null 2>&1
    fi
  fi
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$dockerd_pid" 2>/dev/null
    wait "$dockerd_pid" 2>/dev/null
    # dockerd leaves its default network namespace mounted under exec-root.
    awk -v d="$state/exec/" 'index($2, d) == 1 {print $2}' /proc/mounts | xargs -r -n1 umount 2>/dev/null
  fi
  rm -rf "$work"
  log "done, status $status"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- the test -------------------------------------------------------------

start_engine
pick_compose
base_images
command -v curl >/dev/null || apt_install curl

port=$(free_port)
token=$(head -c 32 /dev/urandom | base64 | tr -d '=+/')
printf '%s\n' "$token" >"$work/jobq.token"
chown "$uid:$uid" "$work/jobq.token"
chmod 0400 "$work/jobq.token"
export JOBQ_TOKEN_SECRET_FILE="$work/jobq.token" JOBQ_IMAGE="$image"
write_compose_files

log "lint: compose config -q"
"${compose[@]}" -f "$repo/docker/compose.yaml" config -q
[[ "$("${compose[@]}" -f "$repo/docker/compose.yaml" config)" == *127.0.0.1:8080:8080* ]] ||
  fail "compose.yaml does not publish 127.0.0.1:8080 by default"

t=$SECONDS
dc build >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; fail "image build"; }
log "build: $((SECONDS - t)) s"
check_image

t=$SECONDS
dc up -d
wait_healthy
log "up until healthy: $((SECONDS - t)) s"
check_container
check_jobs

timed_stop 0 5
dc down
docker volume inspect "${project}_jobq-data" >/dev/null || fail "down removed the named volume"
dc up -d
wait_healthy
log "up again: jobs $job_fail and $job_ok must still be there"
check_job "$job_fail" failed 3 'out\n'
check_job "$job_ok" succeeded 0 "$job_ok_stdout"

# A running job: jobqd waits JOBQ_SHUTDOWN_GRACE_MS (8 s) for it, then ends
# it and exits 0, before compose's 15 s stop_grace_period would SIGKILL.
job_long=$(submit '{"command":["sleep","60"],"timeout_ms":120000}')
for _ in $(seq 1 40); do
  [ "$(api GET "/v1/jobs/$job_long" | field state)" = running ] && break
  sleep 0.25
done
[ "$(api GET "/v1/jobs/$job_long" | field state)" = running ] || fail "job $job_long never ran"
timed_stop 7 14

dc down -v
log "PASS (build, up, stop timings above)"
