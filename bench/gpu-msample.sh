#!/usr/bin/env bash
# bench-gpu: msample end to end on CUDA (model load, prefill and output included) on a random
# model with the 1.5B shapes, its tokens drawn two ways: by the host sampler, which downloads
# every decode step's B x 151 936 fp32 logits, and on the GPU (MRL_DEVICE_SAMPLING=1, mrl(7)),
# which downloads a pick per sequence. The two outputs must be identical; prints markdown rows.
# Env: MRL_BIN (tools, default BIN, else bin: `make bench-gpu BIN=DIR` passes BIN), NPROB (32),
# G (8), NEW (256), BATCHES ("64 256").
set -u
cd "$(dirname "$0")/.."
BIN=${MRL_BIN:-${BIN:-bin}}; NPROB=${NPROB:-32}; G=${G:-8}; NEW=${NEW:-256}; BATCHES=${BATCHES:-"64 256"}
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
"$BIN/minit" qwen2-1.5b -o "$d/m" --dtype bf16 --seed 1 -q || exit 1
for i in $(seq 1 "$NPROB"); do
  echo "{\"id\":\"b$i\",\"problem\":\"Problem $i: find the sum of all positive integers n below $((i * 100)) such that n^2 + $i is divisible by 7.\"}"
done > "$d/p.jsonl"
tokens() { grep -o '"completion_ids":\[[^]]*\]' "$1" | awk -F, '{ n += ($0 ~ /\[\]/) ? 0 : NF } END { print n + 0 }'; }
echo "| --batch | sampler | tokens | seconds | tokens/s | output |"
echo "|---|---|---|---|---|---|"
rc=0
for b in $BATCHES; do
  for s in host device; do
    t0=$(date +%s.%N)
    MRL_DEVICE_SAMPLING=$([ $s = device ] && echo 1 || echo 0) "$BIN/msample" --model "$d/m" -n "$G" \
      --max-tokens "$NEW" --batch "$b" --device cuda --seed 3 --temperature 0.6 -Z "$d/p.jsonl" > "$d/$s.jsonl" || { rc=1; continue; }
    t1=$(date +%s.%N)
    n=$(tokens "$d/$s.jsonl")
    same=-; [ $s = device ] && { cmp -s "$d/host.jsonl" "$d/device.jsonl" && same="identical to host" || { same="DIFFERS from host"; rc=1; }; }
    awk -v b="$b" -v s="$s" -v n="$n" -v t0="$t0" -v t1="$t1" -v o="$same" \
      'BEGIN { printf "| %s | %s | %d | %.1f | %.0f | %s |\n", b, s, n, t1 - t0, n / (t1 - t0), o }'
  done
done
exit $rc
