#!/usr/bin/env python3
"""mgrpo_torch.py — the PyTorch side of bench-mgrpo.sh: one SFT-loss training step (forward,
backward, AdamW) of a Hugging Face Qwen2 model on one sequence, fp32 on the CPU, as
mgrpo --loss sft --micro-batch 1 does it; STEPS steps (default 2), the best after the first reported. Prints a JSON line: seconds, tokens_per_s,
peak_rss_mb. Usage: mgrpo_torch.py MODEL_DIR PROMPT_LEN COMPLETION_LEN [--grad-checkpoint] [--autocast-bf16]
(--autocast-bf16: fp32 weights and optimizer, the forward under torch.autocast("cpu", bfloat16),
the peer of mgrpo --dtype bf16)"""
import contextlib, json, resource, sys, time
import torch
from transformers import Qwen2ForCausalLM

model_dir, P, L = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
torch.set_num_threads(int(__import__("os").environ.get("THREADS", torch.get_num_threads())))
model = Qwen2ForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
if "--grad-checkpoint" in sys.argv:
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
model.train()
# the fused AdamW (one kernel over all parameters; transformers' Trainer picks it by default
# from torch 2.8): the per-tensor loop, used here before 2026-12-07, made a step of `small`
# 40-65 ms slower, 12-20 % of PyTorch's step
try:
    opt, fused = torch.optim.AdamW(model.parameters(), lr=1e-6, fused=True), True
except (RuntimeError, TypeError):   # torch without a fused CPU AdamW
    opt, fused = torch.optim.AdamW(model.parameters(), lr=1e-6), False
V = model.config.vocab_size
best = float("inf")
for step in range(max(2, int(__import__("os").environ.get("STEPS", "2")))):   # the best after the first (steady state)
    ids = torch.randint(3, min(V, 1000), (1, P + L))
    t0 = time.perf_counter()
    # logits only where needed (the completion span), as TRL's logits_to_keep
    ac = torch.autocast("cpu", dtype=torch.bfloat16) if "--autocast-bf16" in sys.argv else contextlib.nullcontext()
    with ac:
        hidden = model.model(input_ids=ids).last_hidden_state[:, P - 1:P + L - 1]
        logits = model.lm_head(hidden)
    logp = torch.log_softmax(logits.float(), -1).gather(-1, ids[:, P:].unsqueeze(-1))
    loss = -logp.mean()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad()
    if step:
        best = min(best, time.perf_counter() - t0)
dt = best
print(json.dumps({"seconds": dt, "tokens_per_s": (P + L) / dt, "fused_adamw": fused,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
