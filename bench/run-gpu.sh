#!/usr/bin/env bash
# make bench-gpu: runs every bench/gpu-*.sh; each prints markdown rows for BENCHMARKS.md.
# Order: gpu-msample.sh first (on-device sampling against the host sampler, BENCHMARKS #8, the
# path no GPU has run yet), then gpu-model.sh, then gpu-mgrpo.sh and any other gpu-*.sh, so a
# GPU session that runs out of time loses the least. Env: MRL_BENCH_TIMEOUT=S stops a script
# still running after S seconds (timeout(1)) and counts it failed; the rest still run.
set -u
cd "$(dirname "$0")/.."
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
limit=(); [ -n "${MRL_BENCH_TIMEOUT:-}" ] && command -v timeout >/dev/null && limit=(timeout -k 10 "$MRL_BENCH_TIMEOUT")
rc=0
for s in bench/gpu-msample.sh bench/gpu-model.sh $(ls bench/gpu-*.sh | grep -v -x -e bench/gpu-msample.sh -e bench/gpu-model.sh); do
  [ -f "$s" ] || continue
  echo; echo "## $(basename "$s" .sh)  (bash $s)"
  ${limit[@]+"${limit[@]}"} bash "$s"; r=$?
  if [ ${#limit[@]} -gt 0 ] && { [ $r -eq 124 ] || [ $r -eq 137 ]; }; then echo "bench $s timed out after $MRL_BENCH_TIMEOUT s"; rc=1
  elif [ $r -ne 0 ]; then echo "bench $s failed"; rc=1; fi
done
exit $rc
