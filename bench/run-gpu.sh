#!/usr/bin/env bash
# make bench-gpu: runs every bench/gpu-*.sh; each prints markdown rows for BENCHMARKS.md.
set -u
cd "$(dirname "$0")/.."
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
rc=0
for s in bench/gpu-*.sh; do
  [ -f "$s" ] || continue
  echo; echo "## $(basename "$s" .sh)  (bash $s)"
  bash "$s" || { echo "bench $s failed"; rc=1; }
done
exit $rc
