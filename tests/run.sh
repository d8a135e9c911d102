#!/usr/bin/env bash
# The test runner: runs unit-test binaries (which print PASS/FAIL/SKIP lines)
# and CLI cases (tests/cli/*.t, read by tests/clitest.sh); ends with the
# line "N passed, N failed, N skipped" and exits 1 on any failure.
# Usage: tests/run.sh [BINARY...] -- [CASEFILE...]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0 skip=0
count() {  # reads a test's output on stdin, echoes it, counts verdict lines
  local line
  while IFS= read -r line; do
    printf '%s\n' "$line"
    case "$line" in
      PASS\ *) pass=$((pass+1)) ;;
      FAIL\ *) fail=$((fail+1)); failed_any=1 ;;
      SKIP\ *) skip=$((skip+1)) ;;
    esac
  done
}
bins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do bins+=("$1"); shift; done
[ $# -gt 0 ] && shift
for b in "${bins[@]+"${bins[@]}"}"; do
  failed_any=0
  out=$(mktemp); (cd "$root" && "$b") >"$out" 2>&1; rc=$?
  count <"$out"; rm -f "$out"
  if [ $rc -ne 0 ] && [ $failed_any -eq 0 ]; then
    echo "FAIL $(basename "$b"): exited with status $rc"; fail=$((fail+1))
  fi
done
for f in "$@"; do
  [ -f "$f" ] || continue
  failed_any=0
  out=$(mktemp); "$root/tests/clitest.sh" "$f" >"$out" 2>&1
  count <"$out"; rm -f "$out"
done
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
