#!/usr/bin/env python3
"""grpo_ref.py — independent PyTorch reference for mgrpo (dev script; writes committed fixtures).

Writes into testdata/grpo/:
  model/, ref/          a tiny random Qwen2 (transformers Qwen2ForCausalLM) and a perturbed copy
  batch.jsonl           a rewarded rollout batch (2 groups x 3) with sampler logprobs
  model_cases.json      per case: options, loss, kl, clip_frac (autograd through the model)
  grads_<case>.safetensors  d loss / d parameter for every parameter (fp32, HF names)
  loss_cases.json       token-level cases (random logp/old/ref) for every loss variant,
                        importance level, delta, advantage estimator and reward scaling
  optim.json            AdamW steps vs torch.optim.AdamW, schedules vs transformers' schedulers
The loss follows TRL's GRPOTrainer (trl/trainer/grpo_trainer.py, compute_loss) on padded
tensors; see OPEN-RS.md §5. Usage: python3 tests/ref/grpo_ref.py  (from the repo root)
"""
import json, math, os, shutil
import torch
from safetensors.torch import save_file
from transformers import Qwen2Config, Qwen2ForCausalLM
import transformers.optimization as hfo

OUT = "testdata/grpo"
torch.manual_seed(1234)
torch.set_default_dtype(torch.float32)


# ---------- TRL's advantage and loss, written out on padded tensors ----------
def advantages(r, groups, adv="grpo", scale="group"):
    """r: float64 [n]; groups: list of (start, end)."""
    a = torch.zeros_like(r)
    for s, e in groups:
        g = r[s:e]
        d = g - g.mean()
        if adv == "rloo":
            d = d * (e - s) / (e - s - 1)
        if adv != "reinforce++" and scale == "group":
            d = d / (g.std() + 1e-4)
        a[s:e] = d
    if adv == "reinforce++":
        a = (a - a.mean()) / (a.std() + 1e-4)
    elif scale == "batch":
        a = a / (r.std() + 1e-4)
    return a


def trl_terms(logp, old, ref, adv, mask, o):
    """Per-token loss [B, T] and clip indicator, as TRL HEAD computes them."""
    if o["loss"] == "sft":
        return -logp, torch.zeros_like(logp)
    old = logp.detach() if old is None else old
    log_ratio = logp - old
    if o.get("importance", "token") == "sequence":
        lw = ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(-1)
    else:
        lw = log_ratio
    coef_1 = torch.exp(lw)
    coef_2 = torch.clamp(coef_1, 1 - o["epsilon"], 1 + o["epsilon_high"])
    if o.get("delta", 0) > 0:
        coef_1 = torch.clamp(coef_1, max=o["delta"])
    A = adv.unsqueeze(1)
    l1, l2 = coef_1 * A, coef_2 * A
    ptl = -torch.min(l1, l2)
    clipped = (((coef_1 < 1 - o["epsilon"]) & (A < 0)) | ((coef_1 > 1 + o["epsilon_high"]) & (A > 0))).float()
    clipped = clipped.expand_as(logp)
    if o["beta"] != 0:
        d = ref - logp
        ptl = ptl + o["beta"] * (torch.exp(d) - d - 1)
    return ptl.expand_as(logp), clipped


def step_loss(logp, old, ref, adv, mask, o):
    """The step's loss under mgrpo's definitions (grpo.h): bnpo per micro-batch as TRL 0.16."""
    ptl, clipped = trl_terms(logp, old, ref, adv, mask, o)
    B = logp.shape[0]
    L = o["loss"]
    if L == "grpo":
        loss = ((ptl * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    elif L == "bnpo":
        mb = o["micro_batch"]
        chunks = [(s, min(s + mb, B)) for s in range(0, B, mb)]
        loss = sum((ptl[s:e] * mask[s:e]).sum() / mask[s:e].sum().clamp(min=1.0) for s, e in chunks) / len(chunks)
    elif L == "dr_grpo":
        loss = (ptl * mask).sum() / (B * o["max_completion_length"])
    else:  # dapo, sft: token mean over the step
        loss = (ptl * mask).sum() / mask.sum().clamp(min=1.0)
    n = mask.sum().clamp(min=1.0)
    stats = {"clip_frac": float((clipped * mask).sum() / n)}
    if o["beta"] != 0 and L != "sft":
        d = ref - logp
        stats["kl"] = float(((torch.exp(d) - d - 1) * mask).sum() / n)
    return loss, stats


def pad(seqs, T):
    x = torch.zeros(len(seqs), T, dtype=torch.float64)
    m = torch.zeros(len(seqs), T, dtype=torch.float64)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = torch.as_tensor(s, dtype=torch.float64)
        m[i, :len(s)] = 1
    return x, m


# ---------- token-level cases ----------
def loss_cases():
    g = torch.Generator().manual_seed(7)
    cases = []
    variants = [
        dict(loss="grpo"), dict(loss="bnpo", micro_batch=3), dict(loss="bnpo", micro_batch=4),
        dict(loss="dr_grpo", max_completion_length=12), dict(loss="dapo"), dict(loss="sft"),
        dict(loss="grpo", importance="sequence"), dict(loss="dapo", delta=1.3),
        dict(loss="grpo", no_old=True), dict(loss="bnpo", micro_batch=2, mask_truncated=True),
        dict(loss="grpo", beta=0.0), dict(loss="grpo", adv="rloo"), dict(loss="grpo", adv="reinforce++"),
        dict(loss="grpo", scale="batch"), dict(loss="dr_grpo", scale="none", max_completion_length=9),
        dict(loss="grpo", importance="sequence", delta=1.1, no_old=False),
    ]
    for k, v in enumerate(variants):
        G, ng = 3 + k % 2, 2
        n = G * ng
        groups = [(i * G, (i + 1) * G) for i in range(ng)]
        lens = [int(x) for x in torch.randint(1, 9, (n,), generator=g)]
        trunc = [bool(x) for x in (torch.rand(n, generator=g) < 0.3)]
        r = torch.randint(0, 4, (n,), generator=g).double() * 0.5
        lp = [(-torch.rand(L, generator=g, dtype=torch.float64) * 3).tolist() for L in lens]
        old = [[x + 0.4 * float(torch.randn(1, generator=g)) for x in s] for s in lp]
        ref = [[x + 0.3 * float(torch.randn(1, generator=g)) for x in s] for s in lp]
        o = dict(loss="grpo", beta=0.04, epsilon=0.2, epsilon_high=0.28, delta=0.0, importance="token",
                 adv="grpo", scale="group", micro_batch=n, max_completion_length=8, mask_truncated=False)
        o.update(v)
        if o["loss"] in ("sft",):
            o["beta"] = 0.0
        no_old = o.pop("no_old", False)
        T = max(lens)
        LP, mask = pad(lp, T)
        OLD, _ = pad(old, T)
        REF, _ = pad(ref, T)
        if o["mask_truncated"]:
            for i in range(n):
                if trunc[i]:
                    mask[i] = 0
        adv = advantages(r, groups, o["adv"], o["scale"])
        LP.requires_grad_(True)
        loss, stats = step_loss(LP, None if no_old else OLD, REF, adv, mask, o)
        loss.backward()
        grad = [[float(x) for x in LP.grad[i, :lens[i]]] for i in range(n)]
        # the float32 values the C code will see
        cases.append(dict(opts=o, no_old=no_old, groups=[s for s, _ in groups] + [n], lens=lens,
                          truncated=trunc, rewards=r.tolist(),
                          logp=[[float(torch.tensor(x, dtype=torch.float32)) for x in s] for s in lp],
                          old=old, ref=ref, advantages=adv.tolist(), loss=float(loss), dlogp=grad, **stats))
    # recompute with the float32-rounded inputs so C (which reads floats) sees the same problem
    for c in cases:
        for key in ("old", "ref"):
            c[key] = [[float(torch.tensor(x, dtype=torch.float32)) for x in s] for s in c[key]]
    return cases


def recompute(c):
    o = c["opts"]
    LP, mask = pad(c["logp"], max(c["lens"]))
    OLD, _ = pad(c["old"], max(c["lens"]))
    REF, _ = pad(c["ref"], max(c["lens"]))
    if o["mask_truncated"]:
        for i, t in enumerate(c["truncated"]):
            if t:
                mask[i] = 0
    groups = list(zip(c["groups"][:-1], c["groups"][1:]))
    adv = advantages(torch.tensor(c["rewards"], dtype=torch.float64), groups, o["adv"], o["scale"])
    LP.requires_grad_(True)
    loss, stats = step_loss(LP, None if c["no_old"] else OLD, REF, adv, mask, o)
    loss.backward()
    c.update(advantages=adv.tolist(), loss=float(loss), **stats,
             dlogp=[[float(x) for x in LP.grad[i, :L]] for i, L in enumerate(c["lens"])])


# ---------- the tiny model ----------
def tiny_config():
    return Qwen2Config(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                       rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=False,
                       bos_token_id=1, eos_token_id=2, initializer_range=0.2)


def save_model(model, d):
    if os.path.isdir(d):
        shutil.rmtree(d)
    model.save_pretrained(d, safe_serialization=True)
    cfg = json.load(open(f"{d}/config.json"))
    cfg["torch_dtype"] = "float32"   # transformers 5 writes "dtype" and rope_parameters;
    cfg["rope_theta"] = 10000.0      # keep the classic keys too (older readers, config_load)
    json.dump(cfg, open(f"{d}/config.json", "w"), indent=2)


def seq_logp(model, prompt, comp, temperature):
    ids = torch.tensor([prompt + comp])
    logits = model(input_ids=ids).logits[0, len(prompt) - 1:len(prompt) + len(comp) - 1] / temperature
    return torch.log_softmax(logits.double(), -1).gather(-1, torch.tensor(comp).unsqueeze(-1)).squeeze(-1)


def model_cases():
    cfg = tiny_config()
    model = Qwen2ForCausalLM(cfg).float()
    with torch.no_grad():   # biases and norms away from their init values, so their grads matter
        for n, p in model.named_parameters():
            if n.endswith("bias") or "norm" in n:
                p.add_(0.1 * torch.randn_like(p))
    ref = Qwen2ForCausalLM(cfg).float()
    ref.load_state_dict(model.state_dict())
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.05 * torch.randn_like(p))
    save_model(model, f"{OUT}/model")
    save_model(ref, f"{OUT}/ref")

    g = torch.Generator().manual_seed(99)
    recs, temperature = [], 0.7
    for gi in range(2):
        prompt = [int(x) for x in torch.randint(3, 300, (3 + 2 * gi,), generator=g)]
        for s in range(3):
            L = int(torch.randint(2, 9, (1,), generator=g))
            comp = [int(x) for x in torch.randint(3, 300, (L,), generator=g)]
            finish = "length" if (gi, s) == (1, 2) else "stop"
            if finish == "stop":
                comp[-1] = 2
            with torch.no_grad():
                lp = seq_logp(model, prompt, comp, temperature)
            old = [float(torch.tensor(float(x) + 0.3 * float(torch.randn(1, generator=g)), dtype=torch.float32)) for x in lp]
            rw = {"accuracy": float(torch.randint(0, 2, (1,), generator=g)), "format": float(torch.randint(0, 2, (1,), generator=g))}
            recs.append(dict(id=f"p{gi}", problem=f"problem {gi}", sample=s, prompt_ids=prompt,
                             completion_ids=comp, logprobs=old, finish=finish, rewards=rw,
                             reward=2 * rw["accuracy"] + rw["format"]))
    with open(f"{OUT}/batch.jsonl", "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")

    cases = {
        "grpo": dict(loss="grpo", beta=0.04, epsilon=0.2, epsilon_high=0.28, iterations=2, micro_batch=2,
                     temperature=temperature, mask_truncated=False),
        "bnpo": dict(loss="bnpo", beta=0.04, epsilon=0.2, epsilon_high=0.2, iterations=1, micro_batch=4,
                     temperature=temperature, mask_truncated=True),
        "sft": dict(loss="sft", beta=0.0, epsilon=0.2, epsilon_high=0.2, iterations=1, micro_batch=6,
                    temperature=1.0, mask_truncated=False),
    }
    out = {}
    groups = [(0, 3), (3, 6)]
    r = torch.tensor([x["reward"] for x in recs], dtype=torch.float64)
    adv = advantages(r, groups)
    for name, o in cases.items():
        model.zero_grad()
        T = max(len(x["completion_ids"]) for x in recs)
        lps = [seq_logp(model, x["prompt_ids"], x["completion_ids"], o["temperature"]) for x in recs]
        LP = torch.zeros(len(recs), T, dtype=torch.float64)
        mask = torch.zeros(len(recs), T, dtype=torch.float64)
        for i, l in enumerate(lps):
            LP = LP.index_put((torch.tensor([i]).expand(len(l)), torch.arange(len(l))), l)
            if not (o["mask_truncated"] and recs[i]["finish"] == "length"):
                mask[i, :len(l)] = 1
        OLD, _ = pad([x["logprobs"] for x in recs], T)
        with torch.no_grad():
            refl = [seq_logp(ref, x["prompt_ids"], x["completion_ids"], o["temperature"]) for x in recs]
        REF, _ = pad([x.tolist() for x in refl], T)
        oo = dict(o, delta=0.0, importance="token")
        loss, stats = step_loss(LP, OLD if o["iterations"] > 1 else None, REF, adv, mask, oo)
        loss.backward()
        save_file({n: p.grad.detach().float().contiguous() for n, p in model.named_parameters()},
                  f"{OUT}/grads_{name}.safetensors")
        out[name] = dict(opts=o, loss=float(loss), **stats,
                         logp=[[float(v) for v in l] for l in lps])
        print(name, out[name]["loss"], stats)
    json.dump(out, open(f"{OUT}/model_cases.json", "w"), indent=1)


# ---------- optimizer and schedules ----------
def optim_cases():
    g = torch.Generator().manual_seed(5)
    w0 = torch.randn(50, generator=g)
    grads = [torch.randn(50, generator=g) * (0.1 * (k + 1)) for k in range(3)]
    res = {"w0": w0.tolist(), "grads": [x.tolist() for x in grads], "adamw": []}
    for lr, wd, b1, b2, eps in [(1e-3, 0.0, 0.9, 0.999, 1e-8), (0.05, 0.1, 0.8, 0.99, 1e-6)]:
        p = torch.nn.Parameter(w0.clone())
        opt = torch.optim.AdamW([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
        ws = []
        for gr in grads:
            p.grad = gr.clone()
            opt.step()
            ws.append(p.detach().clone().tolist())
        res["adamw"].append(dict(lr=lr, weight_decay=wd, beta1=b1, beta2=b2, eps=eps, w=ws))
    # clip_grad_norm_ over two tensors
    a, b = torch.nn.Parameter(torch.zeros(7)), torch.nn.Parameter(torch.zeros(5))
    a.grad, b.grad = torch.randn(7, generator=g), torch.randn(5, generator=g)
    ga, gb = a.grad.clone(), b.grad.clone()
    norm = torch.nn.utils.clip_grad_norm_([a, b], 0.5)
    res["clip"] = dict(a=ga.tolist(), b=gb.tolist(), max_norm=0.5, norm=float(norm),
                       a_clipped=a.grad.tolist(), b_clipped=b.grad.tolist())
    # schedules: lr used by optimizer step k (1-based) = base * lambda(k-1), read off the scheduler
    sched = []
    # (by name through transformers' get_scheduler, as the HF Trainer picks them: "constant"
    # ignores the warmup, "constant_with_warmup" does not)
    for name, total, warm, minr in [("constant", 20, 0, 0), ("constant_with_warmup", 20, 5, 0), ("constant", 20, 5, 0),
                                    ("linear", 20, 4, 0), ("cosine", 30, 3, 0), ("cosine_with_min_lr", 500, 50, 0.1),
                                    ("cosine_with_min_lr", 17, 0, 0.2), ("linear", 10, 0, 0)]:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.AdamW([p], lr=1e-3)
        kw = dict(min_lr_rate=minr) if name == "cosine_with_min_lr" else None
        s = hfo.get_scheduler(name, opt, num_warmup_steps=warm, num_training_steps=total, scheduler_specific_kwargs=kw)
        lrs = []
        for _ in range(total + 2):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            s.step()
        sched.append(dict(schedule=name, total=total, warmup=warm, min_lr_rate=minr, lr=1e-3, lrs=lrs))
    res["schedules"] = sched
    res["warmup_ratio"] = [dict(ratio=0.1, total=500, steps=math.ceil(500 * 0.1)),
                           dict(ratio=0.03, total=77, steps=math.ceil(77 * 0.03))]
    json.dump(res, open(f"{OUT}/optim.json", "w"), indent=1)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    cs = loss_cases()
    for c in cs:
        recompute(c)
    json.dump(cs, open(f"{OUT}/loss_cases.json", "w"))
    optim_cases()
    model_cases()
