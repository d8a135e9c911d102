#!/usr/bin/env python3
"""msample_llamacpp.py — the second peer for bench-msample.sh: llama.cpp (through llama-cpp-python's
C API bindings, pip install llama-cpp-python) on the same weights converted to a bf16 GGUF, the same
problems and prompt token ids (tokenised by transformers from the mrl model directory, as
msample_hf.py does), sampling (temperature 1, the whole vocabulary) exactly NEW tokens per sequence.
`batch` sequences in flight: batch/G problems per round, each prompt prefilled once and its KV
cells copied to its G sequences (llama_memory_seq_cp, as llama.cpp's own parallel example does);
with batch < G one sequence at a time. Prints one JSON line:
{"batch", "sequences", "tokens", "seconds", "tokens_per_s", "decode_s", "sample_s"} (model loading
excluded, prefill included; decode_s: the time in llama_decode, sample_s: in the sampler chain).
Usage: msample_llamacpp.py MODEL.gguf MODEL_DIR PROBLEMS.jsonl G NEW BATCH THREADS [SYSTEM]
Make MODEL.gguf with llama.cpp's convert_hf_to_gguf.py --outtype bf16 (bench-msample.sh LLAMA=1
does it; see BENCHMARKS.md #5)."""
import json, sys, time
import llama_cpp as L
from transformers import AutoTokenizer

gguf, d, probs = sys.argv[1], sys.argv[2], sys.argv[3]
G, NEW, B, TH = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
system = sys.argv[8] if len(sys.argv) > 8 else "You are terse."
tok = AutoTokenizer.from_pretrained(d)
texts = [f"<｜begin▁of▁sentence｜>{system}<｜User｜>{json.loads(l)['problem']}<｜Assistant｜><think>\n"
         for l in open(probs) if l.strip()]
prompts = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]

L.llama_backend_init()
mp = L.llama_model_default_params()
model = L.llama_model_load_from_file(gguf.encode(), mp)
if not model:
    sys.exit(f"{gguf}: llama.cpp could not load it")
per_call = max(1, B // G)          # problems per round
ret = G if B >= G else 1           # sequences per prompt in one round
nseq = per_call * ret
cp = L.llama_context_default_params()
longest = max(len(p) for p in prompts)
cp.n_ctx = (nseq * (longest + NEW) + 255) // 256 * 256
cp.n_batch = max(512, per_call * longest, nseq)
cp.n_ubatch = cp.n_batch
cp.n_seq_max = nseq
cp.n_threads = TH
cp.n_threads_batch = TH
cp.kv_unified = True
cp.no_perf = True
ctx = L.llama_init_from_model(model, cp)
if not ctx:
    sys.exit("llama.cpp: no context")
mem = L.llama_get_memory(ctx)
sp = L.llama_sampler_chain_default_params()
smpl = L.llama_sampler_chain_init(sp)
L.llama_sampler_chain_add(smpl, L.llama_sampler_init_temp(1.0))
L.llama_sampler_chain_add(smpl, L.llama_sampler_init_dist(1234))
batch = L.llama_batch_init(cp.n_batch, 0, nseq)


def put(i, token, pos, seq, logits):
    batch.token[i] = token
    batch.pos[i] = pos
    batch.n_seq_id[i] = 1
    batch.seq_id[i][0] = seq
    batch.logits[i] = logits


tokens = seqs = 0
t_dec = t_smp = 0.0
t0 = time.time()
rounds = [(i, rep) for i in range(0, len(prompts), per_call) for rep in range(1 if ret == G else G)]
for i, _ in rounds:
    chunk = prompts[i:i + per_call]
    L.llama_memory_clear(mem, True)
    n = 0
    last = []                        # batch index of each prompt's last token
    for k, p in enumerate(chunk):    # prompt k prefilled as sequence k * ret
        for j, t in enumerate(p):
            put(n, t, j, k * ret, j == len(p) - 1)
            n += 1
        last.append(n - 1)
    batch.n_tokens = n
    td = time.time()
    if L.llama_decode(ctx, batch) != 0:
        sys.exit("llama_decode failed (prefill)")
    t_dec += time.time() - td
    for k, p in enumerate(chunk):    # its KV cells shared by the prompt's other sequences
        for r in range(1, ret):
            L.llama_memory_seq_cp(mem, k * ret, k * ret + r, -1, -1)
    # first tokens: every sequence of prompt k samples from that prompt's last logits
    ts = time.time()
    nxt = [L.llama_sampler_sample(smpl, ctx, last[s // ret]) for s in range(len(chunk) * ret)]
    t_smp += time.time() - ts
    pos = [len(chunk[s // ret]) for s in range(len(chunk) * ret)]
    for step in range(1, NEW):
        for s, t in enumerate(nxt):
            put(s, t, pos[s], s, True)
            pos[s] += 1
        batch.n_tokens = len(nxt)
        td = time.time()
        if L.llama_decode(ctx, batch) != 0:
            sys.exit("llama_decode failed (decode)")
        ts = time.time()
        t_dec += ts - td
        nxt = [L.llama_sampler_sample(smpl, ctx, s) for s in range(len(nxt))]
        t_smp += time.time() - ts
    seqs += len(nxt)
    tokens += len(nxt) * NEW
dt = time.time() - t0
L.llama_batch_free(batch)
L.llama_sampler_free(smpl)
L.llama_free(ctx)
L.llama_model_free(model)
print(json.dumps({"batch": B, "sequences": seqs, "tokens": tokens, "seconds": round(dt, 2),
                  "tokens_per_s": round(tokens / dt, 1), "decode_s": round(t_dec, 2), "sample_s": round(t_smp, 2)}))
