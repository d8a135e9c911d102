#!/usr/bin/env python3
"""msample_hf.py — the peer for bench-msample.sh: PyTorch + transformers `generate` on the same
model directory and problems, sampling (T=1) exactly NEW tokens per sequence, num_return_sequences=G,
`batch` sequences per generate call (batch/G problems, left-padded). Prints one JSON line:
{"batch", "sequences", "tokens", "seconds", "tokens_per_s"}.
Usage: msample_hf.py MODEL_DIR PROBLEMS.jsonl G NEW BATCH THREADS DEVICE(cpu|cuda) [SYSTEM]
HF_DTYPE=fp32 runs the model in float32 (default bf16, as the weights are): PyTorch's fast
dtype on a CPU without AVX512_BF16."""
import os
import json, sys, time
import torch
from transformers import AutoTokenizer, Qwen2ForCausalLM

d, probs, G, NEW, B, TH, dev = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
system = sys.argv[8] if len(sys.argv) > 8 else "You are terse."
torch.set_num_threads(TH)
torch.manual_seed(0)
tok = AutoTokenizer.from_pretrained(d)
tok.padding_side = "left"
if tok.pad_token is None:
    tok.pad_token = tok.eos_token
dtype = torch.float32 if os.environ.get("HF_DTYPE", "bf16") == "fp32" else torch.bfloat16
model = Qwen2ForCausalLM.from_pretrained(d, torch_dtype=dtype).to(dev).eval()
texts = [f"<｜begin▁of▁sentence｜>{system}<｜User｜>{json.loads(l)['problem']}<｜Assistant｜><think>\n"
         for l in open(probs) if l.strip()]
per_call = max(1, B // G)          # problems per generate call
ret = G if B >= G else 1           # batch < G: one sequence per call, G calls per problem
tokens = seqs = 0
t0 = time.time()
for i in range(0, len(texts), per_call):
    chunk = texts[i:i + per_call]
    reps = 1 if ret == G else G
    for _ in range(reps):
        enc = tok(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(dev)
        with torch.no_grad():
            out = model.generate(**enc, do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
                                 max_new_tokens=NEW, min_new_tokens=NEW, num_return_sequences=ret,
                                 pad_token_id=tok.pad_token_id)
        n = out.shape[0]
        seqs += n
        tokens += n * (out.shape[1] - enc["input_ids"].shape[1])
if dev == "cuda":
    torch.cuda.synchronize()
dt = time.time() - t0
print(json.dumps({"batch": B, "sequences": seqs, "tokens": tokens, "seconds": round(dt, 2),
                  "tokens_per_s": round(tokens / dt, 1)}))
