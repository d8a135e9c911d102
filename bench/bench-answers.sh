#!/usr/bin/env bash
# bench-answers.sh — mrl's answer checker (extract + check) vs Math-Verify (parse + verify,
# open-rs settings) on the same (gold, prediction) pairs, one core each; prints markdown rows.
# Math-Verify needs `pip install math-verify`; without it only mrl's row is printed.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
PAIRS=testdata/answers/mathverify-pairs.jsonl
make -s B="$B" "$B/bench/answers_bench" >/dev/null || exit 1
mrl=$(taskset -c 0 "$B/bench/answers_bench" "$PAIRS" "${SECONDS_MRL:-3}" 2>/dev/null || "$B/bench/answers_bench" "$PAIRS" "${SECONDS_MRL:-3}")
mrl_rate=$(echo "$mrl" | sed 's/.*"records_per_s": \([0-9.]*\).*/\1/')
echo "| checker | pairs/s (one core) | µs/pair |"
echo "|---|---|---|"
echo "| mrl ans_extract+ans_equiv | $mrl_rate | $(echo "$mrl" | sed 's/.*"us_per_record": \([0-9.]*\).*/\1/') |"
if python3 -c 'import math_verify' 2>/dev/null; then
  mv=$(taskset -c 0 python3 bench/mathverify_speed.py "$PAIRS" "${SECONDS_MV:-20}" 2>/dev/null)
  mv_rate=$(echo "$mv" | sed 's/.*"records_per_s": \([0-9.]*\).*/\1/')
  echo "| Math-Verify $(python3 -c 'import importlib.metadata as m; print(m.version("math-verify"))') parse+verify | $mv_rate | $(echo "$mv" | sed 's/.*"us_per_record": \([0-9.]*\).*/\1/') |"
  echo
  echo "speed-up: $(python3 -c "print(f'{$mrl_rate/$mv_rate:.0f}x')")"
fi
echo
echo "agreement (tests/unit/test_answer.c on the same fixture):"
make -s B="$B" "$B/tests/test_answer" >/dev/null && "$B/tests/test_answer" | grep 'agreement with'
