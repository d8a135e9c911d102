#!/usr/bin/env bash
# run-packed-gpu.sh — on a GPU machine without build dependencies: `make test-gpu` and `make
# bench-gpu` from the binaries bench/pack-gpu.sh packed into DIR (default .dev). Installs them
# as bin/ and build/ of this tree, puts DIR/lib first on LD_LIBRARY_PATH and a no-op `make` on
# PATH (the bench scripts call make to build what is already there), points SHARED at DIR/shared
# (the files of the shared folder the GPU cases require), then runs the GPU tests
# (MRL_REQUIRE_GPU=1; each test binary and case file under MRL_TEST_TIMEOUT seconds, default
# 240: one that hangs is stopped and counted failed, and the rest still run in the device
# time) and the GPU benchmarks (bench/run-gpu.sh; each script under MRL_BENCH_TIMEOUT, default
# 240). A log goes to $OUT/log.txt where OUT is set (the device tool's output folder).
# Most important first, for a session of a few minutes: the case files (tests/gpu/pipeline.t
# opens with MRL_DEVICE_SAMPLING's parity case), then the test binaries (the op and model parity
# cases), then the benchmarks (gpu-msample.sh first). gpu-mgrpo.sh's training-speed rows run on
# CUDA only (DEVICES=cuda unless set): its CPU rows train the 1.5B shapes on the host's cores,
# minutes of device time for a figure bench-mgrpo.sh gives without a GPU.
# Usage: bash bench/run-packed-gpu.sh [DIR] [test] [bench]     (default: both)
set -u
cd "$(dirname "$0")/.."
D=${1:-.dev}; shift || true
phases=${*:-test bench}
[ -d "$D/bin" ] && [ -d "$D/tests" ] || { echo "run-packed-gpu.sh: $D/bin or $D/tests missing (run bench/pack-gpu.sh first)" >&2; exit 2; }
D=$(cd "$D" && pwd)   # absolute: the paths below go into the environment
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT"; exec > >(tee -a "$OUT/log.txt") 2>&1; tee_pid=$!; fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
export LD_LIBRARY_PATH="$D/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" PATH="$D/fake:$PATH"
# tests/clitest.sh looks for ../shared beside the tree, which the device machine's copy lacks
[ -d "$D/shared" ] && export SHARED="$D/shared"
# cuBLAS and the CUDA runtime: the binaries look in /usr/local/cuda/lib64 (their rpath); elsewhere
# the first copies found (a Python wheel's, say) go on the path
for l in libcublas.so.13 libcudart.so.13; do
  [ -e "/usr/local/cuda/lib64/$l" ] && continue
  f=$(find / -name "$l" -not -path '/proc/*' 2>/dev/null | head -n 1)
  [ -n "$f" ] && LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(dirname "$f")"
done
rm -rf bin build/tests build/bench; mkdir -p build
cp -r "$D/bin" bin; cp -r "$D/tests" build/tests; cp -r "$D/bench" build/bench
export MRL_BIN="$PWD/bin"
rc=0
for p in $phases; do case $p in
test)
  MRL_REQUIRE_GPU=1 MRL_TEST_TIMEOUT=${MRL_TEST_TIMEOUT:-240} tests/run.sh -- tests/gpu/*.t || rc=1
  MRL_REQUIRE_GPU=1 MRL_TEST_TIMEOUT=${MRL_TEST_TIMEOUT:-240} tests/run.sh build/tests/test_* -- || rc=1 ;;
bench)
  DEVICES=${DEVICES:-cuda} MRL_BENCH_TIMEOUT=${MRL_BENCH_TIMEOUT:-240} bash bench/run-gpu.sh || rc=1 ;;
esac; done
# the log's tee ends at end of input: close ours and wait for it (10 s at most, in case a stray
# process still holds the pipe), so that log.txt is whole when this returns (the device tool
# takes OUT then, and ends what is still running)
if [ -n "${tee_pid:-}" ]; then
  exec >&- 2>&-
  for _ in $(seq 100); do kill -0 "$tee_pid" 2>/dev/null || break; sleep 0.1; done
fi
exit $rc
