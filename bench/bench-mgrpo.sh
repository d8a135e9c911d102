#!/usr/bin/env bash
# bench-mgrpo: training tokens/s and peak RSS of one optimizer step (forward, backward, clip,
# AdamW; the sft loss so no reference model) on one 512-token sequence (256 prompt + 256
# completion), micro-batch 1, gradient checkpointing off and on, for minit's small and
# qwen2-1.5b shapes, next to PyTorch doing the same step (bench/mgrpo_torch.py, fp32 CPU).
# Each side takes STEPS steps (default 4) and the best after the first is reported (one timed
# step, as before 2026-12-07, moved by a third between runs on a 2-core VM).
# Usage: bash bench/bench-mgrpo.sh [small] [qwen2-1.5b]   (default: small, plus qwen2-1.5b
# when MemAvailable allows ~16 bytes/parameter + activations). THREADS=N (default nproc).
# DTYPE=bf16: mgrpo --dtype bf16 (bf16 products, fp32 sums and master weights), next to
# PyTorch fp32 eager and PyTorch under bf16 autocast (two speed-up columns).
# The tools: BIN/mgrpo and BIN/minit (BIN default bin, as `make bench BIN=DIR` passes it), or
# MGRPO=path and MINIT=path.
set -eu
cd "$(dirname "$0")/.."
MGRPO=${MGRPO:-${BIN:-bin}/mgrpo}; MINIT=${MINIT:-${BIN:-bin}/minit}
THREADS=${THREADS:-$(nproc)}; export THREADS
[ -x "$MGRPO" ] && [ -x "$MINIT" ] || { echo "$MGRPO or $MINIT not built (make)"; exit 1; }
field() { grep -o "\"$1\": *[^,}]*" | head -n 1 | sed 's/.*: *//'; }   # no jq needed
have_torch=1; python3 -c 'import torch, transformers' 2>/dev/null || have_torch=0
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  models=(small)
  avail=$(awk '/MemAvailable/ {print int($2/1048576)}' /proc/meminfo)
  if [ "$avail" -ge 34 ]; then models+=(qwen2-1.5b); else echo "qwen2-1.5b skipped: ${avail} GiB available, a step needs ~32 GiB (16 x 1.78e9 bytes + activations)"; fi
fi
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
P=256 L=256 STEPS=${STEPS:-4}; export STEPS
[ "$STEPS" -ge 2 ] 2>/dev/null || { echo "bench-mgrpo: STEPS=$STEPS: give 2 or more (the first step is not timed)"; exit 2; }
echo "threads: $THREADS; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| model | params | grad ckpt | mgrpo tokens/s | mgrpo peak RSS | PyTorch tokens/s | PyTorch peak RSS | speed-up |"
echo "|---|---|---|---|---|---|---|---|"
for m in "${models[@]}"; do
  "$MINIT" "$m" -o "$dir/$m" --dtype fp32 -q
  V=$(field vocab_size < "$dir/$m/config.json")
  np=$(python3 - "$dir/$m/config.json" <<'PY' 2>/dev/null || echo "?"
import json, sys
c = json.load(open(sys.argv[1])); C, F, L, V = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], c["vocab_size"]
H, K = c["num_attention_heads"], c["num_key_value_heads"]; D = C // H
n = L * (2 * C + C * (H + 2 * K) * D + (H + 2 * K) * D + H * D * C + 3 * C * F) + V * C * (1 if c.get("tie_word_embeddings") else 2) + C
print(f"{n / 1e6:.1f} M")
PY
)
  awk -v V="$V" -v P=$P -v L=$L -v S="$STEPS" 'BEGIN { srand(7); for (r = 0; r < S; r++) {
      printf "{\"id\":\"b%d\",\"prompt_ids\":[", r; for (i = 0; i < P; i++) printf "%s%d", (i ? "," : ""), 3 + int(rand() * (V - 3));
      printf "],\"completion_ids\":["; for (i = 0; i < L; i++) printf "%s%d", (i ? "," : ""), 3 + int(rand() * (V - 3));
      printf "]}\n" } }' > "$dir/in.jsonl"
  for gc in off on; do
    flag=""; [ $gc = on ] && flag="--grad-checkpoint"
    rm -rf "$dir/run"
    # peak RSS from GNU time (package time; not on a minimal Debian: the column is then "-")
    timer=(); [ -x /usr/bin/time ] && timer=(/usr/bin/time -f '%M' -o "$dir/rss")
    ${timer[@]+"${timer[@]}"} "$MGRPO" -Z -q --threads "$THREADS" --device cpu --model "$dir/$m" --out "$dir/run" \
      --loss sft --micro-batch 1 --groups 1 --steps "$STEPS" --no-checkpoint --dtype "${DTYPE:-fp32}" $flag "$dir/in.jsonl" > "$dir/m.jsonl"
    mt=$(tail -n +2 "$dir/m.jsonl" | grep -o '"tokens_per_s": *[^,}]*' | sed 's/.*: *//' | LC_ALL=C sort -g | tail -n 1)
    [ -n "$mt" ] || { echo "bench-mgrpo: $m, checkpointing $gc: mgrpo printed no timed step (stdout: $(head -c 300 "$dir/m.jsonl"))" >&2; exit 1; }; mr=-; [ -s "$dir/rss" ] && mr=$(awk '{printf "%.0f MiB", $1/1024}' "$dir/rss"); rm -f "$dir/rss"
    tt="-" tr="-" sp="-"
    if [ $have_torch = 1 ]; then
      python3 bench/mgrpo_torch.py "$dir/$m" $P $L $flag > "$dir/t.json" 2>/dev/null || echo '{}' > "$dir/t.json"
      tt=$(field tokens_per_s < "$dir/t.json"); tr=$(field peak_rss_mb < "$dir/t.json" | awk '{ printf "%.0f MiB", $1 }')
      [ -n "$tt" ] && sp=$(awk -v a="$mt" -v b="$tt" 'BEGIN { printf "%.2fx", a / b }') || tt="-"
      if [ "${DTYPE:-fp32}" = bf16 ]; then   # the autocast peer, appended to the speed-up cell
        python3 bench/mgrpo_torch.py "$dir/$m" $P $L $flag --autocast-bf16 > "$dir/t2.json" 2>/dev/null || echo '{}' > "$dir/t2.json"
        t2=$(field tokens_per_s < "$dir/t2.json")
        [ -n "$t2" ] && sp="$sp (vs autocast bf16 $(printf '%.0f' "$t2") tok/s: $(awk -v a="$mt" -v b="$t2" 'BEGIN { printf "%.2fx", a / b }'))"
      fi
    fi
    printf '| %s | %s | %s | %.0f | %s | %s | %s | %s |\n' "$m" "$np" "$gc" "$mt" "$mr" \
      "$( [ "$tt" = - ] && echo - || printf '%.0f' "$tt")" "$tr" "$sp"
  done
  rm -rf "${dir:?}/$m"
done
