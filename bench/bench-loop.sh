#!/usr/bin/env bash
# bench-loop: the GRPO loop (pipelines/grpo-loop.sh) with one mgrpo per step (the default: each
# step loads the run's state and writes a whole checkpoint, optimizer state included) against
# PERSIST=1 (one mgrpo for the run, fed each batch by --batches-from; only the model files are
# written per step, as RUN/policy). Same problems, seeds and settings; the final weights are
# compared byte for byte. Reports the wall time of STEPS steps and of each step.
# Usage: bash bench/bench-loop.sh [MODEL_DIR | NAME | config.json]   (default: minit's small;
#        a NAME or config.json is made with minit --dtype bf16 in a temporary directory)
#        env: STEPS=4 PROMPTS=2 G=2 MAX_TOKENS=16 THREADS=nproc BIN=bin DTYPE=bf16
#        SAVE_EVERY=1000 MGRPO_ARGS=...
# BENCHMARKS.md's figures: a config.json of Qwen2-0.5B's shapes (see there).
set -eu
cd "$(dirname "$0")/.."
BIN=${BIN:-bin} STEPS=${STEPS:-4} PROMPTS=${PROMPTS:-2} G=${G:-2} MAX_TOKENS=${MAX_TOKENS:-16}
THREADS=${THREADS:-$(nproc)} SAVE_EVERY=${SAVE_EVERY:-1000}
BIN=$(cd "$BIN" && pwd)
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
MODEL=${1:-small}
if [ ! -d "$MODEL" ]; then "$BIN/minit" "$MODEL" -o "$dir/model" --dtype bf16 -q; MODEL=$dir/model; fi
for i in $(seq 1 $((STEPS * PROMPTS))); do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > "$dir/p.jsonl"
echo "model: $MODEL ($(du -sh "$MODEL" | cut -f1)); $STEPS steps of $PROMPTS x $G samples, $MAX_TOKENS tokens; threads $THREADS;"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg); run directory on $(df -P "$dir" | awk 'NR == 2 { print $1 }')"
echo
echo "| loop | total s | per step s (each) | data written to the run directory per step |"
echo "|---|---|---|---|"
for p in 0 1; do
  t0=$(date +%s.%N)
  RUN="$dir/run$p" MODEL="$MODEL" DATA="$dir/p.jsonl" STEPS=$STEPS PROMPTS=$PROMPTS G=$G TEMP=1 SYSTEM= \
    BIN="$BIN" THREADS=$THREADS MAX_TOKENS=$MAX_TOKENS SAVE_EVERY=$SAVE_EVERY PERSIST=$p \
    MGRPO_ARGS="--dtype ${DTYPE:-bf16} ${MGRPO_ARGS:-}" MSAMPLE_ARGS="--dtype ${DTYPE:-bf16}" \
    REWARD="$BIN/mreward -q" bash pipelines/grpo-loop.sh > "$dir/out$p" 2> "$dir/err$p" || { cat "$dir/err$p"; exit 1; }
  t1=$(date +%s.%N)
  each=$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), substr($NF, 1, length($NF) - 1) }' "$dir/out$p")
  # what one step writes: the checkpoint (PERSIST=0) or the policy snapshot (PERSIST=1)
  if [ $p = 0 ]; then sz=$(du -sb "$dir/run0/latest/" | cut -f1); what="checkpoint"
  else sz=$(du -sb "$dir/run1/policy/" | cut -f1); what="policy snapshot"; fi
  printf '| %s | %.1f | %s | %s %.2f GB |\n' "$([ $p = 0 ] && echo "one mgrpo per step (default)" || echo "PERSIST=1")" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$each" "$what" "$(awk -v s="$sz" 'BEGIN { print s / 1e9 }')"
done
cmp -s "$dir/run0/latest/model.safetensors" "$dir/run1/latest/model.safetensors" && \
  cmp -s "$dir/run0/latest/optimizer.safetensors" "$dir/run1/latest/optimizer.safetensors" &&
  echo && echo "final weights and optimizer state: identical" || { echo; echo "final weights DIFFER"; exit 1; }
