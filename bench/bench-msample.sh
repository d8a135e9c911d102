#!/usr/bin/env bash
# bench-msample.sh — msample's sampling throughput (generated tokens/s) on a `minit qwen2-1.5b`
# bf16 model: NPROB problems x G samples x NEW tokens at --batch 1, 8, 64; next to PyTorch +
# transformers `generate` (same weights, num_return_sequences=G, same threads, bench/msample_hf.py)
# and next to the memory roofline (every decode step reads all weights once: tokens/s <=
# batch * bandwidth / weight bytes, KV reads left out). Prints markdown rows for
# BENCHMARKS.md. On CPU the 1.5B model makes this long (batch 1 is NPROB*G*NEW
# sequential steps): NPROB, G, NEW, BATCHES, THREADS, DEVICE, HF=0, KVDT (msample --kv-dtype,
# default auto: bf16 for these bf16 weights) override; HF_DTYPE=fp32 runs the transformers peer
# in float32 (PyTorch's fast dtype on a CPU without AVX512_BF16).
# LLAMA=1 adds llama.cpp as a second peer (bench/msample_llamacpp.py; pip install llama-cpp-python
# gguf sentencepiece) on the same weights as a bf16 GGUF: LLAMA_GGUF (default MODEL.gguf) or,
# where that file is missing, made with LLAMA_CONVERT=path/to/llama.cpp/convert_hf_to_gguf.py
# (the llama-cpp-python sdist has it under vendor/llama.cpp); the converter only knows real
# tokenizers, so the GGUF gets the Qwen2 one from SHARED/data/qwen2-tokenizer (the prompts are
# still token ids of MODEL's own tokenizer: the vocabulary is the same size).
# Usage: bash bench/bench-msample.sh        (B=build BIN=bin: where make puts things)
set -u
cd "$(dirname "$0")/.."
B=${B:-build}; BIN=${BIN:-bin}
NPROB=${NPROB:-8}; G=${G:-8}; NEW=${NEW:-256}; BATCHES=${BATCHES:-"1 8 64"}
THREADS=${THREADS:-$(nproc)}; DEVICE=${DEVICE:-cpu}; HF=${HF:-1}; KVDT=${KVDT:-auto}
MODEL=${MODEL:-${TMPDIR:-/tmp}/mrl-bench-qwen2-1.5b-bf16}
LLAMA=${LLAMA:-0}; LLAMA_GGUF=${LLAMA_GGUF:-$MODEL.gguf}; SHARED=${SHARED:-../shared}
make -s B="$B" BIN="$BIN" "$BIN/msample" "$BIN/minit" >/dev/null || exit 1
if [ ! -f "$MODEL/model.safetensors" ]; then
  rm -rf "$MODEL"
  "$BIN/minit" qwen2-1.5b -o "$MODEL" --dtype bf16 --seed 1 -q || exit 1
fi
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
if [ "$LLAMA" = 1 ] && [ ! -f "$LLAMA_GGUF" ]; then
  [ -f "${LLAMA_CONVERT:-}" ] || { echo "LLAMA=1: no $LLAMA_GGUF and no LLAMA_CONVERT=convert_hf_to_gguf.py to make it"; exit 1; }
  mkdir "$dir/hf" && ln -s "$(realpath "$MODEL")"/{config.json,model.safetensors} "$dir/hf/" || exit 1
  tk="$SHARED/data/qwen2-tokenizer"
  for f in tokenizer.json vocab.json merges.txt; do zstd -dqf "$tk/$f.zst" -o "$dir/hf/$f" || exit 1; done
  cp "$tk/tokenizer_config.json" "$dir/hf/" &&
  python3 "$LLAMA_CONVERT" "$dir/hf" --outtype bf16 --outfile "$LLAMA_GGUF" > "$dir/convert.log" 2>&1 ||
    { tail -5 "$dir/convert.log"; exit 1; }
fi
for i in $(seq 1 "$NPROB"); do
  echo "{\"id\":\"b$i\",\"problem\":\"Problem $i: find the sum of all positive integers n below $((i * 100)) such that n^2 + $i is divisible by 7.\"}"
done > "$dir/problems.jsonl"
wbytes=$(stat -c %s "$MODEL/model.safetensors")
# a decode step streams every weight but the embedding table (one row of it): the roofline's bytes
ebytes=$(python3 -c "
import json; c = json.load(open('$MODEL/config.json'))
print(c['vocab_size'] * c['hidden_size'] * (2 if c.get('torch_dtype', c.get('dtype')) == 'bfloat16' else 4))")
sbytes=$((wbytes - ebytes))
# memory bandwidth: the read bandwidth of bench/model_bench.c on THREADS threads (what the decode
# kernels run on); a single-threaded numpy copy only where that binary is not built
bw=0
if [ -x "$B/bench/model_bench" ]; then
  bw=$(THREADS=$THREADS "$B/bench/model_bench" bw 1024 | sed -n 's/.*read_GBps=\([^ ]*\).*/\1/p' | awk '{printf "%.0f", $1 * 1e9}')
fi
[ "${bw:-0}" -gt 0 ] 2>/dev/null || bw=$(python3 -c "
import numpy as np, time
a = np.ones(1 << 28, dtype=np.float32); b = np.empty_like(a); best = 0
for _ in range(3):
    t = time.perf_counter(); np.copyto(b, a); dt = time.perf_counter() - t; best = max(best, 2 * a.nbytes / dt)
print(int(best))" 2>/dev/null || echo 0)
[ "$DEVICE" = cpu ] || bw=${GPU_BW:-3.35e12}
# the model as MODEL is (the default is made by minit qwen2-1.5b --dtype bf16; a MODEL= of other
# shapes was labelled "minit qwen2-1.5b bf16" all the same)
mdesc=$(python3 -c "
import json; c = json.load(open('$MODEL/config.json'))
print(f\"{c['num_hidden_layers']} layers, hidden {c['hidden_size']}, vocab {c['vocab_size']}, {c.get('torch_dtype', c.get('dtype'))}\")" 2>/dev/null)
echo "model: $MODEL ($mdesc; $((wbytes / 1000000)) MB of weights), $NPROB problems x G=$G x $NEW tokens, $THREADS threads, device $DEVICE"
echo "memory bandwidth (read, from model_bench bw; a copy without it): $(python3 -c "print(f'{$bw/1e9:.1f}')") GB/s"
echo
lh=""; ls=""
[ "$LLAMA" = 1 ] && lh=" llama.cpp tokens/s | msample / llama.cpp |" && ls="---|---|"
echo "| --batch | msample tokens/s | transformers tokens/s | msample / transformers |$lh roofline tokens/s | msample / roofline |"
echo "|---|---|---|---|$ls---|---|"
for b in $BATCHES; do
  # the rate of msample's last progress line: generated tokens over the time since the
  # model was loaded (prefill included, loading not: like the generate() timing of the peer)
  OMP_NUM_THREADS=$THREADS "$BIN/msample" --model "$MODEL" --device "$DEVICE" -n "$G" --max-tokens "$NEW" \
      --temperature 1 --batch "$b" --kv-dtype "$KVDT" --system "You are terse." -Z --progress "$dir/problems.jsonl" \
      > "$dir/out.jsonl" 2> "$dir/err" || { cat "$dir/err"; exit 1; }
  ms=$(tr '\r' '\n' < "$dir/err" | grep -o '[0-9.]* tokens/s' | tail -1 | cut -d' ' -f1)
  hf="-"; ratio="-"
  if [ "$HF" = 1 ]; then
    hf=$(python3 bench/msample_hf.py "$MODEL" "$dir/problems.jsonl" "$G" "$NEW" "$b" "$THREADS" "$DEVICE" 2>/dev/null |
         python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_per_s"])' 2>/dev/null || echo "-")
    [ "$hf" != "-" ] && ratio=$(python3 -c "print(f'{$ms / $hf:.2f}x')")
  fi
  lc=""
  if [ "$LLAMA" = 1 ]; then
    lt=$(python3 bench/msample_llamacpp.py "$LLAMA_GGUF" "$MODEL" "$dir/problems.jsonl" "$G" "$NEW" "$b" "$THREADS" 2>/dev/null |
         python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_per_s"])' 2>/dev/null || echo "-")
    lr="-"; [ "$lt" != "-" ] && lr=$(python3 -c "print(f'{$ms / $lt:.2f}x')")
    lc=" $lt | $lr |"
  fi
  roof=$(python3 -c "print(f'{$b * $bw / $sbytes:.1f}')")
  echo "| $b | $ms | $hf | $ratio |$lc $roof | $(python3 -c "print(f'{100 * $ms / $roof:.0f}%')") |"
done
echo
echo "Both timings exclude model loading and include prefill."
