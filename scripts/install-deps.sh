#!/usr/bin/env bash
# install-deps.sh: install the Debian packages jobq needs to build, run and
# test, but only those that are missing (so a second run is instant).
set -euo pipefail

packages=(gcc make cmake pkg-config clang
          libmicrohttpd-dev libcjson-dev libsqlite3-dev libcurl4-openssl-dev
          curl procps openssl chromium)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
