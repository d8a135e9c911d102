#!/usr/bin/env python3
"""model_bench_torch.py — the PyTorch side of bench/bench-model.sh: the same measurements as
bench/model_bench.c with Hugging Face transformers on the CPU, same weights, same threads.
  decode DIR B STEPS [bf16|fp32]   greedy generate; tokens/s of the decode steps alone
  prefill DIR N [bf16|fp32]        one forward over N tokens
  train DIR T NSEQ [bf16]          forward + backward of sum(log p(target)), eager, fp32
                                   (bf16: under torch.autocast("cpu", bfloat16), fp32 weights);
                                   best of REPS (default 2, as bench-model.sh gives model_bench;
                                   give both sides the same), the gradients zeroed in place
                                   outside the timed region (model_bench's step zeroes none)
Prints one key=value line like model_bench. THREADS=n sets torch.set_num_threads."""
import os, resource, sys, time
import torch
from transformers import Qwen2ForCausalLM


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load(d, dt):
    t = time.time()
    m = Qwen2ForCausalLM.from_pretrained(d, dtype=torch.bfloat16 if dt == "bf16" else torch.float32,
                                         attn_implementation="sdpa")
    m.eval()
    print(f"model_bench_torch: loaded {d} in {time.time() - t:.1f} s", file=sys.stderr)
    return m


def decode(d, B, steps, dt):
    m = load(d, dt)
    V = m.config.vocab_size
    ids = torch.tensor([[(i * 7919 + 13) % V for i in range(16)]] * B)
    kw = dict(do_sample=False, pad_token_id=0, eos_token_id=None)
    with torch.no_grad():
        m.generate(ids, max_new_tokens=2, min_new_tokens=2, **kw)          # warm-up
        t = time.time(); m.generate(ids, max_new_tokens=1, min_new_tokens=1, **kw); t1 = time.time() - t
        t = time.time(); m.generate(ids, max_new_tokens=steps + 1, min_new_tokens=steps + 1, **kw); tn = time.time() - t
    # the decode steps' time is a difference of two runs: where the prefill's noise is larger
    # than the steps (few steps, a loaded machine) it is <= 0, and max(.., 1e-9) made that
    # B * steps * 1e9 tokens/s; no figure then (bench-model.sh prints "-")
    dtime = tn - t1
    if dtime <= 0:
        print(f"model_bench_torch: decode B={B}: generating {steps + 1} tokens took {tn:.3f} s, 1 token {t1:.3f} s: "
              f"the {steps} decode steps are below the noise (give more steps)", file=sys.stderr)
        sys.exit(1)
    print(f"torch_decode B={B} dtype={dt} threads={torch.get_num_threads()} tok_per_s={B * steps / dtime:.3f} "
          f"ms_per_step={dtime / steps * 1e3:.1f} rss_MB={rss_mb():.0f}")


def prefill(d, n, dt):
    m = load(d, dt)
    V = m.config.vocab_size
    ids = torch.tensor([[(i * 7919 + 13) % V for i in range(n)]])
    with torch.no_grad():
        t = time.time(); m(input_ids=ids, logits_to_keep=1); t = time.time() - t
    print(f"torch_prefill n={n} dtype={dt} threads={torch.get_num_threads()} tok_per_s={n / t:.1f} s={t:.2f} rss_MB={rss_mb():.0f}")


def train(d, T, nseq, autocast=False, reps=2):
    m = load(d, "fp32")
    m.train()
    V = m.config.vocab_size
    L = T // nseq
    ids = torch.tensor([(i * 7919 + 13) % V for i in range(nseq * L)]).view(nseq, L)
    tg = torch.tensor([(i * 104729 + 7) % V for i in range(nseq * L)]).view(nseq, L)
    best = 1e9
    for r in range(reps + 1):
        m.zero_grad(set_to_none=False)   # in place: the buffers stay, as model_bench's do
        t = time.time()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            logits = m(input_ids=ids).logits
        lp = torch.log_softmax(logits.float(), -1).gather(-1, tg[..., None]).sum() / T
        lp.backward()
        t = time.time() - t
        if r and t < best:
            best = t
    print(f"torch_train T={nseq * L} nseq={nseq} threads={torch.get_num_threads()} tok_per_s={nseq * L / best:.1f} "
          f"s_per_step={best:.3f} rss_MB={rss_mb():.0f}")


def main():
    if os.environ.get("THREADS"):
        torch.set_num_threads(int(os.environ["THREADS"]))
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "decode":
        decode(a[1], int(a[2]), int(a[3]), a[4] if len(a) > 4 else "fp32")
    elif len(a) >= 3 and a[0] == "prefill":
        prefill(a[1], int(a[2]), a[3] if len(a) > 3 else "fp32")
    elif len(a) >= 4 and a[0] == "train":
        train(a[1], int(a[2]), int(a[3]), len(a) > 4 and a[4] == "bf16", int(os.environ.get("REPS", "2")))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
