#!/usr/bin/env bash
# bench-gpu: decode tokens/s (batch 1 .. 256) against the HBM roofline and training MFU, on a
# random model with the shapes of DeepSeek-R1-Distill-Qwen-1.5B (minit qwen2-1.5b).
# Env: MRL_BIN (tools, default BIN, else bin: `make bench-gpu BIN=DIR` passes BIN), B (build
# dir, default build), GPU_BENCH_ARGS (extra args).
set -eu
cd "$(dirname "$0")/.."
BIN=${MRL_BIN:-${BIN:-bin}}; B=${B:-build}
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
t0=$(date +%s)
"$BIN/minit" qwen2-1.5b -o "$d/m" --dtype bf16 -q
echo "(minit qwen2-1.5b: $(( $(date +%s) - t0 )) s)"
"$B/bench/gpu_bench" --model "$d/m" --device cuda --batch 1,16,64,256 --prompt 128 --steps 64 \
    --train-seqs 8 --train-len 512 ${GPU_BENCH_ARGS:-}
