#!/usr/bin/env bash
# bench-answers.sh — mrl's answer checker (extract + check) vs Math-Verify (parse + verify) on
# the same inputs, one core each; prints markdown rows. Two fixtures: (gold, prediction) pairs
# in a box with open-rs's settings (mathverify-pairs.jsonl), and whole completions read as the
# study's evaluation read them (lighteval-completions.jsonl: mreward --lighteval against
# Math-Verify with lighteval's settings). Math-Verify needs `pip install math-verify` (0.5.2
# for the second, the study's pin) in PYTHON (default python3); without it only mrl's rows.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
PY=${PYTHON:-python3}
make -s B="$B" "$B/bench/answers_bench" >/dev/null || exit 1
# a run that fails says so on stderr and the script exits 1 at the end (its cells were blank
# and the script exited 0)
rc=0
failed() { echo "bench-answers: $*" >&2; rc=1; }
have_mv=0
"$PY" -c 'import math_verify' 2>/dev/null && have_mv=1
for PAIRS in testdata/answers/mathverify-pairs.jsonl testdata/answers/lighteval-completions.jsonl; do
  echo "$PAIRS:"
  echo
  mrl=$(taskset -c 0 "$B/bench/answers_bench" "$PAIRS" "${SECONDS_MRL:-3}" 2>/dev/null || "$B/bench/answers_bench" "$PAIRS" "${SECONDS_MRL:-3}") ||
    failed "answers_bench $PAIRS failed"
  mrl_rate=$(echo "$mrl" | sed 's/.*"records_per_s": \([0-9.]*\).*/\1/')
  echo "| checker | records/s (one core) | µs/record |"
  echo "|---|---|---|"
  echo "| mrl ans_extract+ans_equiv | $mrl_rate | $(echo "$mrl" | sed 's/.*"us_per_record": \([0-9.]*\).*/\1/') |"
  if [ $have_mv = 1 ]; then
    mv=$(taskset -c 0 "$PY" bench/mathverify_speed.py "$PAIRS" "${SECONDS_MV:-20}" 2>/dev/null ||
         "$PY" bench/mathverify_speed.py "$PAIRS" "${SECONDS_MV:-20}") || { failed "mathverify_speed.py $PAIRS failed"; mv=; }
    mv_rate=$(echo "$mv" | sed 's/.*"records_per_s": \([0-9.]*\).*/\1/')
    echo "| Math-Verify $("$PY" -c 'import importlib.metadata as m; print(m.version("math-verify"))') parse+verify | $mv_rate | $(echo "$mv" | sed 's/.*"us_per_record": \([0-9.]*\).*/\1/') |"
    echo
    [ -n "$mv" ] && [ -n "$mrl" ] && echo "speed-up: $("$PY" -c "print(f'{$mrl_rate/$mv_rate:.0f}x')")"
  fi
  echo
done
# Worst cases: degenerate completions of 14,000 characters (a rollout that repeats one piece up
# to the length limit), mrl only. Each of these long unclosed environments cost seconds while
# the regex engine's JIT ran out of stack and its interpreter took over.
hostile=$(mktemp); trap 'rm -f "$hostile"' EXIT
awk 'function rep(s, n,   o) { o = ""; while (length(o) < n) o = o s; return substr(o, 1, n) }
     BEGIN { split("\\(|\\[|$|1 |\\boxed{|1\\(-|x = 1, ", a, "|")
             for (i = 1; i in a; i++) printf "{\"gold\": \"3\", \"completion\": \"%s\"}\n", rep(a[i], 14000) }' > "$hostile"
echo "degenerate completions (one piece repeated to 14,000 characters; mreward --lighteval):"
echo
echo "| checker | records/s (one core) | µs/record |"
echo "|---|---|---|"
h=$("$B/bench/answers_bench" "$hostile" "${SECONDS_MRL:-3}") || failed "answers_bench on the degenerate completions failed"
echo "| mrl --lighteval | $(echo "$h" | sed 's/.*"records_per_s": \([0-9.]*\).*/\1/') | $(echo "$h" | sed 's/.*"us_per_record": \([0-9.]*\).*/\1/') |"
echo
echo "agreement (tests/unit/test_answer.c on the same fixtures):"
{ make -s B="$B" "$B/tests/test_answer" >/dev/null && "$B/tests/test_answer" | grep 'agreement with'; } || failed "tests/test_answer failed"
exit $rc
