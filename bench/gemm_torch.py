#!/usr/bin/env python3
"""The three products of a linear layer in training with PyTorch's CPU matmul, as `model_bench
gemm T IN OUT [bf16]` times them in mrl: y = x W^T, dx = g W, dW = g^T x; GFLOP/s of each,
best of 5 after a warm-up; fp32, or bf16 operands (what autocast hands matmul). Dev-time peer
figure (BENCHMARKS.md); THREADS=n sets the thread count. Usage: gemm_torch.py T IN OUT [bf16]"""
import os, sys, time
import torch

T, IN, OUT = (int(a) for a in sys.argv[1:4])
torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
dt = torch.bfloat16 if len(sys.argv) > 4 and sys.argv[4] == "bf16" else torch.float32
x, w, g = torch.randn(T, IN, dtype=dt), torch.randn(OUT, IN, dtype=dt), torch.randn(T, OUT, dtype=dt)
res = []
for f in (lambda: x @ w.t(), lambda: g @ w, lambda: g.t() @ x):
    f()
    best = 1e9
    for _ in range(5):
        t = time.perf_counter(); f(); best = min(best, time.perf_counter() - t)
    res.append(2.0 * T * IN * OUT / best / 1e9)
print(f"torch_gemm threads={torch.get_num_threads()} T={T} IN={IN} OUT={OUT} dtype={str(dt)[6:]} fwd_GFLOPs={res[0]:.1f} dx_GFLOPs={res[1]:.1f} dW_GFLOPs={res[2]:.1f}")
