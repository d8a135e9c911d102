#!/usr/bin/env python3
"""Training attention with PyTorch on the CPU, as `model_bench attn_train T NSEQ H HKV D [bf16]`
times mrl's: NSEQ causal sequences of T / NSEQ tokens, H query heads sharing HKV key/value
heads of D (scaled_dot_product_attention with enable_gqa, as transformers 5's sdpa path calls
it without a mask: 5 % faster forward and 10-15 % faster backward than K/V repeated first, which
this script did before 2026-12-07; torch before 2.5 has no enable_gqa and repeats), forward and
backward best of 5, ms and GFLOP/s counted as model_bench counts them.
bf16: q, k, v and the gradient in bf16 (what autocast hands sdpa); else fp32.
Dev-time peer figure (BENCHMARKS.md); THREADS=n sets the thread count.
Usage: attn_torch.py T NSEQ H HKV D [bf16]"""
import os, sys, time
import torch
import torch.nn.functional as F

T, nseq, H, Hkv, D = (int(a) for a in sys.argv[1:6])
torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
n = T // nseq
dt = torch.bfloat16 if len(sys.argv) > 6 and sys.argv[6] == "bf16" else torch.float32
q = torch.randn(nseq, H, n, D, dtype=dt, requires_grad=True)
k = torch.randn(nseq, Hkv, n, D, dtype=dt, requires_grad=True)
v = torch.randn(nseq, Hkv, n, D, dtype=dt, requires_grad=True)
g = torch.randn(nseq, H, n, D, dtype=dt)
try:
    F.scaled_dot_product_attention(q[:1, :, :2], k[:1, :, :2], v[:1, :, :2], is_causal=True, enable_gqa=True)
    gqa = True
except TypeError:
    gqa = False


def attn(q, k, v):
    if gqa:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    return F.scaled_dot_product_attention(q, k.repeat_interleave(H // Hkv, 1), v.repeat_interleave(H // Hkv, 1), is_causal=True)


bf = bb = 1e9
for _ in range(6):
    t = time.perf_counter()
    o = attn(q, k, v)
    t1 = time.perf_counter()
    o.backward(g)
    t2 = time.perf_counter()
    bf, bb = min(bf, t1 - t), min(bb, t2 - t1)
    q.grad = k.grad = v.grad = None
f = nseq * 4.0 * n * (n + 1) / 2 * H * D
print(f"torch_attn_train threads={torch.get_num_threads()} T={T} nseq={nseq} H={H} Hkv={Hkv} D={D} dtype={str(dt)[6:]} fwd_ms={bf*1e3:.2f} "
      f"fwd_GFLOPs={f/bf/1e9:.1f} bwd_ms={bb*1e3:.2f} bwd_GFLOPs={2.5*f/bb/1e9:.1f}")
