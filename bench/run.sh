#!/usr/bin/env bash
# make bench: runs every bench/bench-*.sh (CPU benchmarks) in turn; each prints
# markdown rows for BENCHMARKS.md. BENCH_ONLY=name runs one (e.g. BENCH_ONLY=mfilter).
set -u
cd "$(dirname "$0")/.."
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%F)"
rc=0
# an unknown BENCH_ONLY ran nothing and exited 0
if [ -n "${BENCH_ONLY:-}" ] && [ ! -f "bench/bench-$BENCH_ONLY.sh" ]; then
  echo "bench: BENCH_ONLY=$BENCH_ONLY: no bench/bench-$BENCH_ONLY.sh (one of: $(cd bench && ls bench-*.sh | sed 's/^bench-//; s/\.sh$//' | paste -sd ' '))" >&2
  exit 2
fi
for s in bench/bench-*.sh; do
  [ -f "$s" ] || continue
  n=$(basename "$s" .sh); n=${n#bench-}
  [ -n "${BENCH_ONLY:-}" ] && [ "$BENCH_ONLY" != "$n" ] && continue
  echo; echo "## $n  (bash $s)"
  bash "$s" || { echo "bench $n failed"; rc=1; }
done
exit $rc
