#!/usr/bin/env bash
# gpu-mgrpo: mgrpo on CUDA next to the CPU reference. (1) three GRPO steps (reference model,
# clipping, AdamW on the device) on the tiny fixture model: loss, kl and grad_norm per step on
# both devices and their relative difference (bf16 forward on CUDA: expect ~1e-2, not 1e-6).
# (2) one training step (sft loss, micro-batch 1, 512 tokens, grad checkpointing off/on) on
# minit qwen2-1.5b shapes: tokens/s and peak host RSS, on CUDA and on the CPU (all cores).
# Env: MRL_BIN (tools, default BIN, else bin: `make bench-gpu BIN=DIR` passes BIN); SPEED=0
# skips (2); DEVICES (default "cuda cpu": the devices of (2); (1) always runs both). No jq needed.
set -eu
cd "$(dirname "$0")/.."
BIN=${MRL_BIN:-${BIN:-bin}}
d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
field() { grep -o "\"$1\":[^,}]*" | cut -d: -f2; }
for k in 1 2 3; do sed "s/\"id\": \"p\([01]\)\"/\"id\": \"p\1-$k\"/" testdata/grpo/batch.jsonl; done > "$d/in.jsonl"
O="-Z -q --model testdata/grpo/model --ref testdata/grpo/ref --lr 1e-3 --groups 2 --micro-batch 2 --iterations 1 --no-checkpoint"
for dev in cpu cuda; do "$BIN/mgrpo" $O --device $dev --out "$d/r-$dev" "$d/in.jsonl" > "$d/$dev.m"; done
echo "| step | loss cpu | loss cuda | kl cpu | kl cuda | grad_norm cpu | grad_norm cuda | max rel diff |"
echo "|---|---|---|---|---|---|---|---|"
for s in 1 2 3; do
  c=$(sed -n "${s}p" "$d/cpu.m"); g=$(sed -n "${s}p" "$d/cuda.m")
  lc=$(echo "$c" | field loss); lg=$(echo "$g" | field loss); kc=$(echo "$c" | field kl); kg=$(echo "$g" | field kl)
  nc=$(echo "$c" | field grad_norm); ng=$(echo "$g" | field grad_norm)
  awk -v s=$s -v a="$lc" -v b="$lg" -v c="$kc" -v d="$kg" -v e="$nc" -v f="$ng" 'function r(x, y) { return (x == y) ? 0 : ((x - y) < 0 ? y - x : x - y) / ((x < 0 ? -x : x) + 1e-12) }
    BEGIN { m = r(a, b); if (c != "null" && r(c, d) > m) m = r(c, d); if (r(e, f) > m) m = r(e, f);
            printf "| %d | %.6g | %.6g | %.6g | %.6g | %.6g | %.6g | %.2g |\n", s, a, b, c, d, e, f, m }'
done
[ "${SPEED:-1}" = 0 ] && exit 0
echo
t0=$(date +%s)
"$BIN/minit" qwen2-1.5b -o "$d/m" --dtype bf16 -q
echo "(minit qwen2-1.5b: $(( $(date +%s) - t0 )) s)"
awk 'BEGIN { srand(7); for (r = 0; r < 2; r++) { printf "{\"id\":\"b%d\",\"prompt_ids\":[", r;
  for (i = 0; i < 256; i++) printf "%s%d", (i ? "," : ""), 3 + int(rand() * 150000);
  printf "],\"completion_ids\":["; for (i = 0; i < 256; i++) printf "%s%d", (i ? "," : ""), 3 + int(rand() * 150000);
  printf "]}\n" } }' > "$d/long.jsonl"
# peak RSS through GNU time where it is installed (the CUDA images often lack it)
timer=(); [ -x /usr/bin/time ] && timer=(/usr/bin/time -f %M -o "$d/rss")   # an array: $d may hold a space
echo "| device | grad ckpt | tokens/s (2nd step) | peak host RSS |"
echo "|---|---|---|---|"
# a run that fails gets its row and the script exits 1 (it exited 0: make bench-gpu counted it passed)
rc=0
for dev in ${DEVICES:-cuda cpu}; do
  for gc in off on; do
    flag=""; [ $gc = on ] && flag="--grad-checkpoint"
    if "${timer[@]}" "$BIN/mgrpo" -Z -q --device $dev --model "$d/m" --out "$d/run" --loss sft \
         --micro-batch 1 --groups 1 --steps 2 --no-checkpoint $flag "$d/long.jsonl" > "$d/m.jsonl" 2> "$d/err"; then
      printf '| %s | %s | %.0f | %s |\n' $dev $gc "$(tail -n 1 "$d/m.jsonl" | field tokens_per_s)" "$( [ -s "$d/rss" ] && awk '{printf "%.1f GiB", $1/1048576}' "$d/rss" || echo n/a)"
    else
      echo "| $dev | $gc | failed: $(head -c 200 "$d/err" | tr '\n' ' ') | |"; rc=1
    fi
  done
done
exit $rc
