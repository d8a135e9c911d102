#!/usr/bin/env bash
# Runs the CLI cases of one tests/cli/*.t file; prints PASS/FAIL/SKIP per case.
# A case (jq's tests as data, zstd's golden files):
#   ## name                  starts a case
#   % requires PATH          skip the case unless PATH exists ($ROOT, $SHARED expand); under
#                            MRL_REQUIRE_GPU=1 (make test-gpu) a missing PATH fails the case
#   % requires root          skip the case unless run as root (it switches users to nobody)
#                            in a tree that nobody can reach
#   % requires unsanitized   skip the case when the tools are built with a sanitizer (make
#                            test-asan: ASan's shadow memory leaves no room under a ulimit -v)
#   $ command                run by bash in a fresh temp dir ($ROOT, $TESTDATA, $SHARED set;
#                            bin/ first on PATH); several $ lines are joined by newlines
# SHARED is the environment's where set (bench/run-packed-gpu.sh), else ROOT/../shared.
#   < line                   a line of stdin
#   > line                   an expected stdout line (all of stdout must match exactly)
#   >~ regex                 stdout must contain a line matching this extended regex
#   2> line                  an expected stderr line (if any, stderr must match exactly);
#                            a bare "2>" expects stderr to be empty
#   2~ regex                 stderr must contain a line matching this extended regex
#   ? N                      expected exit status (default 0)
# "<", ">" and "2>" take the rest of the line after one space; a bare "<" or ">" is an empty line.
# A case with no "$" line, and a case line before the first "## " title, fail (they check nothing);
# a title goes on over "## " lines only until the case's first other line.
set -u
file=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT TESTDATA="$ROOT/testdata" SHARED="${SHARED:-$ROOT/../shared}"
export MRL_BIN="${MRL_BIN:-$ROOT/bin}"
# The temp dirs below go in MRL_CASE_TMPDIR where tests/run.sh sets it, else in TMPDIR. run.sh
# removes that directory when this file ends: one its timeout stops leaves its case's dir, and an
# EXIT or TERM trap here that removed it made bash print "Terminated" for the stopped case.
casetmp=${MRL_CASE_TMPDIR:-}
unset MRL_CASE_TMPDIR
# The cases hand $MRL_BIN to make as BIN= and into command strings (REWARD=): make cannot take a
# path with a space (in a tree under one, make test's MRL_BIN: "Makefile:80: *** mixed implicit
# and normal rules"), so there the cases get a link to it without one. (The tools under a path
# with a space are pipelines.t's and build.t's cases.) The link's directory is open to all: some
# cases run the tools as nobody.
case "$MRL_BIN" in *[[:space:]]*)
  binlink=$(mktemp -d ${casetmp:+"$casetmp/bin.XXXXXX"}) && chmod 755 "$binlink" && ln -s "$MRL_BIN" "$binlink/bin" && MRL_BIN=$binlink/bin ;;
esac
export PATH="$MRL_BIN:$PATH"
# A case that runs make runs it as a user would, not as a sub-make of the make running the
# tests (whose flags and variables, e.g. make test-asan's B=, would leak in and add -w output).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
base=$(basename "$file" .t)

name="" body=0 cmd="" stdin="" has_stdin=0 out="" has_out=0 err="" has_err=0 rc_want=0 reqs=() outre=() errre=()
run_case() {
  [ -n "$name" ] || return 0
  [ -n "$cmd" ] || { echo "FAIL $base: $name: no \$ command (the case runs nothing)"; return 0; }
  local r
  for r in "${reqs[@]+"${reqs[@]}"}"; do
    if [ "$r" = root ]; then   # a case that must switch users (setpriv) runs as root only
      [ "$(id -u)" = 0 ] || { echo "SKIP $base: $name: needs root"; return 0; }
      # ... and where the user it switches to (nobody) can run the tools and the tests: a tree
      # under /root (mode 700) gave "env: 'mfilter': Permission denied"
      if [ -z "${nobody_ok:-}" ]; then
        nobody_ok="user nobody cannot reach $MRL_BIN or $ROOT"
        command -v setpriv >/dev/null || nobody_ok="no setpriv (util-linux) to switch users with"
        command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups \
          sh -c 'test -x "$1/mfilter" && test -r "$2/tests/run.sh"' sh "$MRL_BIN" "$ROOT" 2>/dev/null && nobody_ok=yes
      fi
      [ "$nobody_ok" = yes ] || { echo "SKIP $base: $name: $nobody_ok"; return 0; }
      continue
    fi
    if [ "$r" = unsanitized ]; then
      if ldd "$MRL_BIN/mfilter" 2>/dev/null | grep -q 'lib[a-z]*san'; then echo "SKIP $base: $name: the tools are built with a sanitizer"; return 0; fi
      continue
    fi
    r=$(eval echo "$r")
    if [ ! -e "$r" ]; then
      # make test-gpu must not pass by skipping what it is there to run (as gpu.h's NEED_GPU)
      if [ -n "${MRL_REQUIRE_GPU:-}" ]; then echo "FAIL $base: $name: needs $r (MRL_REQUIRE_GPU is set)"
      else echo "SKIP $base: $name: needs $r"; fi
      return 0
    fi
  done
  local dir; dir=$(mktemp -d ${casetmp:+"$casetmp/case.XXXXXX"})
  if [ $has_stdin -eq 1 ]; then printf '%s' "$stdin" >"$dir/.stdin"; else : >"$dir/.stdin"; fi
  (cd "$dir" && bash -c "$cmd" <"$dir/.stdin" >"$dir/.stdout" 2>"$dir/.stderr"); local rc=$?
  local why=""
  [ "$rc" -eq "$rc_want" ] || why="exit status $rc, expected $rc_want"
  if [ -z "$why" ] && [ $has_out -eq 1 ] && [ "$(cat "$dir/.stdout")" != "$(printf '%s' "$out")" ]; then
    why="stdout differs:"$'\n'"$(diff <(printf '%s' "$out") "$dir/.stdout" | head -20)"
  fi
  if [ -z "$why" ] && [ $has_err -eq 1 ] && [ "$(cat "$dir/.stderr")" != "$(printf '%s' "$err")" ]; then
    why="stderr differs:"$'\n'"$(diff <(printf '%s' "$err") "$dir/.stderr" | head -20)"
  fi
  for r in "${outre[@]+"${outre[@]}"}"; do
    [ -z "$why" ] && ! grep -Eq -- "$r" "$dir/.stdout" && why="no stdout line matches /$r/"
  done
  for r in "${errre[@]+"${errre[@]}"}"; do
    [ -z "$why" ] && ! grep -Eq -- "$r" "$dir/.stderr" && why="no stderr line matches /$r/"
  done
  if [ -z "$why" ]; then echo "PASS $base: $name"
  else
    echo "FAIL $base: $name: $why"
    echo "  command: $cmd"; echo "  stderr: $(head -c 600 "$dir/.stderr")"
  fi
  rm -rf "$dir"
}
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    "#"*|"") ;;
    *) if [ -z "$name" ]; then echo "FAIL $base: a case line before the first '## ' title: $line"; continue; fi
       body=1 ;;
  esac
  case "$line" in
    "## "*)   # a title goes on over consecutive lines; a title line after a case's body starts the next case
      if [ -n "$name" ] && [ $body -eq 0 ]; then name+=" ${line#\#\# }"; continue; fi
      run_case; name=${line#\#\# }; body=0 cmd="" stdin="" has_stdin=0 out="" has_out=0 err="" has_err=0 rc_want=0 reqs=() outre=() errre=() ;;
    "% requires "*) reqs+=("${line#% requires }") ;;
    "\$ "*) if [ -n "$cmd" ]; then cmd+=$'\n'; fi; cmd+="${line#\$ }" ;;
    "<") stdin+=$'\n'; has_stdin=1 ;;
    "< "*) stdin+="${line#< }"$'\n'; has_stdin=1 ;;
    ">") out+=$'\n'; has_out=1 ;;
    ">~ "*) outre+=("${line#>~ }") ;;
    "> "*) out+="${line#> }"$'\n'; has_out=1 ;;
    "2>") has_err=1 ;;
    "2> "*) err+="${line#2> }"$'\n'; has_err=1 ;;
    "2~ "*) errre+=("${line#2~ }") ;;
    "? "*) rc_want=${line#? } ;;
    "#"*|"") ;;
    *) echo "FAIL $base: $name: cannot read case line: $line" ;;
  esac
done <"$file"
run_case
[ -z "${binlink:-}" ] || rm -rf "$binlink"
