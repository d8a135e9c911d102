#!/usr/bin/env bash
# The test runner: runs unit-test binaries (which print PASS/FAIL/SKIP lines)
# and CLI cases (tests/cli/*.t, read by tests/clitest.sh); ends with the
# line "N passed, N failed, N skipped" and exits 1 on any failure.
# Usage: tests/run.sh [BINARY...] -- [CASEFILE...]
# MRL_TEST_TIMEOUT=S: a binary or case file still running after S seconds is stopped and
# counted failed, and the rest go on (timeout(1); bench/run-packed-gpu.sh sets it).
# A binary or case file that exits non-zero without a FAIL line, or prints no PASS/FAIL/SKIP
# line at all, is counted failed (a test that ran nothing has checked nothing); so is a case
# file that is not there (a pattern that matched no file, such as tests/gpu/*.t, is none).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
pass=0 fail=0 skip=0
count() {  # reads a test's output on stdin, echoes it, counts verdict lines (a last line without
  local line  # a newline too: a verdict printed just before a crash or an exit is still counted)
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\n' "$line"
    case "$line" in
      PASS\ *) pass=$((pass+1)); verdicts=$((verdicts+1)) ;;
      FAIL\ *) fail=$((fail+1)); failed_any=1; verdicts=$((verdicts+1)) ;;
      SKIP\ *) skip=$((skip+1)); verdicts=$((verdicts+1)) ;;
    esac
  done
}
limit=${MRL_TEST_TIMEOUT:-}
tlimit=()   # the command prefix that applies it
if [ -n "$limit" ] && command -v timeout >/dev/null; then tlimit=(timeout -k 10 "$limit"); fi
timed_out() {  # the verdict line for a run that ended with status $2
  # 124: timeout's TERM ended it; 137: it outlived the TERM and the KILL after -k ended it
  if [ ${#tlimit[@]} -gt 0 ] && { [ "$2" -eq 124 ] || [ "$2" -eq 137 ]; }; then
    echo "FAIL $1: timed out after $limit s"; fail=$((fail+1)); return 0
  fi
  return 1
}
bins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do bins+=("$1"); shift; done
[ $# -gt 0 ] && shift
for b in "${bins[@]+"${bins[@]}"}"; do
  failed_any=0 verdicts=0
  out=$(mktemp); (cd "$root" && exec ${tlimit[@]+"${tlimit[@]}"} "$b") >"$out" 2>&1; rc=$?
  count <"$out"; rm -f "$out"
  if timed_out "$(basename "$b")" $rc; then :
  elif [ $rc -ne 0 ] && [ $failed_any -eq 0 ]; then
    echo "FAIL $(basename "$b"): exited with status $rc"; fail=$((fail+1))
  elif [ $verdicts -eq 0 ]; then
    echo "FAIL $(basename "$b"): printed no PASS, FAIL or SKIP line"; fail=$((fail+1))
  fi
done
for f in "$@"; do
  if [ ! -f "$f" ]; then
    case "$f" in *[*?[]*) continue ;; esac   # a glob that matched nothing
    echo "FAIL $(basename "$f"): no such case file"; fail=$((fail+1)); continue
  fi
  failed_any=0 verdicts=0
  # clitest.sh's temp dirs, in one removed here: a case file the timeout stopped left its case's
  # (open to all: some cases run the tools as nobody)
  cases=$(mktemp -d) && chmod 755 "$cases"
  out=$(mktemp); MRL_CASE_TMPDIR=$cases ${tlimit[@]+"${tlimit[@]}"} "$root/tests/clitest.sh" "$f" >"$out" 2>&1; rc=$?
  count <"$out"; rm -f "$out"; rm -rf "$cases"
  if timed_out "$(basename "$f")" $rc; then :
  elif [ $rc -ne 0 ] && [ $failed_any -eq 0 ]; then   # a case file that died without a verdict line
    echo "FAIL $(basename "$f"): exited with status $rc"; fail=$((fail+1))
  elif [ $verdicts -eq 0 ]; then
    echo "FAIL $(basename "$f"): no case ran"; fail=$((fail+1))
  fi
done
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
