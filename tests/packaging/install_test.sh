#!/usr/bin/env bash
# install_test.sh BUILD_DIR: `cmake --install` into a temporary prefix, then
# check what landed: jobqd runs, its man page documents every option that
# `jobqd --help` lists, and the systemd unit starts the installed binary
# with its hardening in place.
set -euo pipefail
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null

fail() { echo "install_test: $*" >&2; exit 1; }
[ -x "$prefix/bin/jobqd" ] || fail "bin/jobqd missing"
"$prefix/bin/jobqd" --version | grep -q '^jobqd ' || fail "installed jobqd does not run"
man8="$prefix/share/man/man8/jobqd.8"
[ -f "$man8" ] || fail "jobqd.8 missing"
for flag in $("$prefix/bin/jobqd" --help | grep -o -- '^  --[a-z-]*'); do
  grep -qF -- "$(printf '%s' "$flag" | sed 's/-/\\-/g')" "$man8" || fail "jobqd.8 does not document $flag"
done
[ -x "$prefix/bin/jobq" ] || fail "bin/jobq missing"
"$prefix/bin/jobq" --version >/dev/null || fail "installed jobq does not run"
[ -f "$prefix/share/man/man1/jobq.1" ] || fail "jobq.1 missing"
for cmd in run submit get wait ls cancel logs; do
  grep -q "^\.B.*$cmd" "$prefix/share/man/man1/jobq.1" || fail "jobq.1 does not mention $cmd"
done
unit="$prefix/lib/systemd/system/jobqd.service"
[ -f "$unit" ] || fail "jobqd.service missing"
grep -q '^ExecStart=/.*/bin/jobqd$' "$unit" || fail "unit ExecStart is not the installed jobqd"
for key in NoNewPrivileges=yes DynamicUser=yes ProtectSystem=strict PrivateTmp=yes KillMode=mixed; do
  grep -q "^$key" "$unit" || fail "unit lacks $key"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify "$unit" 2>&1 | grep -v "Unit is bound\|not found\|Failed to \|ExecStart" | grep . \
    && fail "systemd-analyze complains" || true
fi
echo "install_test: ok ($(find "$prefix" -type f | wc -l) files)"
