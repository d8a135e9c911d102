#!/usr/bin/env python3
"""adamw_bits_ref.py — torch.optim.AdamW's single step, bit for bit (dev script; writes the
committed fixture testdata/adamw/steps.json for test_ops adamw_matches_torch_bits).

Each case: float32 w, g, m, v before one step at step t (lr, betas, eps, weight decay, and a
gradient scale as clip_grad_norm_ applies it: g * scale in float32 before the step), and the
m, v, w torch leaves. torch computes exp_avg.lerp_(grad, 1 - beta1) and
exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2) with one rounding for the last
multiply-add (its CPU kernels' Vectorized fmadd, nvcc's contraction on CUDA); m and v are
compared bit for bit. w goes through torch's sqrt, which on the CPU is not always correctly
rounded, so w is compared within an ulp. Values are written as the exact doubles of the
float32s (Python repr), so strtod then (float) gives the same bits back.
Usage: python3 tests/ref/adamw_bits_ref.py  (from the repo root)
"""
import json
import torch

torch.manual_seed(7)
N = 128
cases = []
for lr, b1, b2, eps, wd, t, scale in [(1e-3, 0.9, 0.999, 1e-8, 0.0, 1, 1.0), (3e-4, 0.9, 0.999, 1e-8, 0.1, 7, 0.37),
                                      (1e-2, 0.3, 0.99, 1e-6, 0.01, 3, 1.0), (1e-6, 0.6, 0.95, 1e-8, 0.1, 1000, 2.0)]:
    w = torch.randn(N)
    g = torch.randn(N) * torch.exp(torch.randn(N) * 2)
    m = torch.randn(N) * 0.1
    v = torch.rand(N) * 0.01
    m[:4] = 0; v[:4] = 0; g[5] = 0
    gs = g * torch.tensor(scale, dtype=torch.float32) if scale != 1.0 else g.clone()
    p = torch.nn.Parameter(w.clone())
    opt = torch.optim.AdamW([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, foreach=False)
    p.grad = gs
    opt.state[p] = {"step": torch.tensor(float(t - 1)), "exp_avg": m.clone(), "exp_avg_sq": v.clone()}
    opt.step()
    st = opt.state[p]
    cases.append(dict(lr=lr, beta1=b1, beta2=b2, eps=eps, weight_decay=wd, step=t, grad_scale=scale,
                      w=w.tolist(), g=g.tolist(), m=m.tolist(), v=v.tolist(),
                      m_after=st["exp_avg"].tolist(), v_after=st["exp_avg_sq"].tolist(), w_after=p.detach().tolist()))
json.dump(dict(torch=torch.__version__, cases=cases), open("testdata/adamw/steps.json", "w"))
print("wrote testdata/adamw/steps.json:", len(cases), "cases of", N)
