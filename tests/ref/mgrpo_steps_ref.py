#!/usr/bin/env python3
"""mgrpo_steps_ref.py — whole-run differential for mgrpo (dev script; writes a committed fixture).

N optimizer steps of mgrpo against the same steps done with PyTorch: the loss written from TRL's
GRPOTrainer (OPEN-RS.md §5: the pinned 69ad852 and the later loss types), micro-batches
accumulated as TRL/the HF Trainer accumulate them (each micro-batch's loss divided by the number
of gradient-accumulation steps, dapo by the step's token count), torch.nn.utils.clip_grad_norm_,
torch.optim.AdamW with the HF Trainer's parameter groups (no weight decay for biases and norm
weights: Trainer.get_decay_parameter_names) and transformers' get_scheduler stepped after every
optimizer step (step k uses lambda(k - 1)), warmup ratios made steps by
TrainingArguments.get_warmup_steps. Nothing here reads mrl's code; the model runs one sequence
at a time (no padding), in float64.

Writes into OUT (default testdata/grpo-steps/):
  model/, ref/                 a small random Qwen2 (transformers' Qwen2ForCausalLM, biases and
                               norm weights away from their init) and a perturbed copy, the KL's
                               reference; made when missing (--model/--ref name others: the
                               minit tiny model, say)
  batch.jsonl                  the rollouts (a few steps of groups; truncated completions, a
                               group whose rewards are all equal, sampler logprobs)
  cases.json                   per case: mgrpo's options, and per step loss, kl, clip_frac,
                               grad_norm, lr, reward_mean, reward_std
  final_<case>.safetensors     the weights after the last step (float32)
Usage: python3 tests/ref/mgrpo_steps_ref.py [--model DIR] [--ref DIR] [--out DIR]
       [--check RUNDIR_PREFIX]   (compare mgrpo runs RUNDIR_PREFIX<case> made with the options)
"""
import argparse, json, math, os, sys
from types import SimpleNamespace
import torch
from safetensors.torch import save_file, load_file
from transformers import AutoModelForCausalLM, Qwen2Config, Qwen2ForCausalLM, Trainer, TrainingArguments, get_scheduler

torch.set_default_dtype(torch.float64)

# mgrpo options of each case; the reference reads the same dictionary
CASES = {
    # the study's update (Open-RS: bnpo, a micro-batch per group, beta 0.04, clip 1.0,
    # cosine_with_min_lr with a warmup ratio: ceil(0.15 * 10) = 2 steps), with a larger lr so the
    # weights move
    "study": dict(loss="bnpo", micro_batch=4, groups=2, beta=0.04, epsilon=0.2, epsilon_high=0.2,
                  iterations=1, lr=2e-3, weight_decay=0.0, schedule="cosine_with_min_lr",
                  warmup=0.15, total_steps=10, min_lr_rate=0.1, max_grad_norm=1.0,
                  temperature=1.0, mask_truncated=False, scale_rewards="group"),
    # grpo (per-sequence mean), two updates per batch against the sampler's logprobs with
    # asymmetric clipping, truncated completions masked, weight decay, linear schedule, a
    # max_grad_norm that clips every step, sampling temperature
    "iter": dict(loss="grpo", micro_batch=2, groups=2, beta=0.04, epsilon=0.2, epsilon_high=0.28,
                 iterations=2, lr=1e-3, weight_decay=0.1, schedule="linear", warmup=1,
                 total_steps=8, min_lr_rate=0.1, max_grad_norm=0.3, temperature=0.7,
                 mask_truncated=True, scale_rewards="group"),
    # Dr. GRPO: constant normaliser, no std scaling, no KL, no clipping of the gradient norm
    "drgrpo": dict(loss="dr_grpo", micro_batch=8, groups=2, beta=0.0, epsilon=0.2, epsilon_high=0.2,
                   iterations=1, lr=2e-3, weight_decay=0.05, schedule="constant_with_warmup",
                   warmup=2, total_steps=0, min_lr_rate=0.1, max_grad_norm=0.0, temperature=1.0,
                   mask_truncated=False, scale_rewards="none", max_completion_length=10,
                   adam_beta2=0.99),
    # dapo (token mean over the step), GSPO sequence ratios, reward std over the batch, cosine; a max_grad_norm that clips some steps only
    "dapo": dict(loss="dapo", micro_batch=1, groups=2, beta=0.02, epsilon=0.2, epsilon_high=0.2,
                 iterations=2, lr=1e-3, weight_decay=0.0, schedule="cosine", warmup=0,
                 total_steps=6, min_lr_rate=0.1, max_grad_norm=4.5, temperature=1.0,
                 mask_truncated=False, scale_rewards="batch", importance="sequence"),
}


def mgrpo_args(o):
    a = ["--loss", o["loss"], "--micro-batch", str(o["micro_batch"]), "--groups", str(o["groups"]),
         "--beta", repr(o["beta"]), "--epsilon", repr(o["epsilon"]), "--epsilon-high", repr(o["epsilon_high"]),
         "--iterations", str(o["iterations"]), "--lr", repr(o["lr"]), "--weight-decay", repr(o["weight_decay"]),
         "--schedule", o["schedule"], "--warmup", repr(o["warmup"]), "--min-lr-rate", repr(o["min_lr_rate"]),
         "--max-grad-norm", repr(o["max_grad_norm"]), "--temperature", repr(o["temperature"]),
         "--scale-rewards", o["scale_rewards"]]
    if o["total_steps"]:
        a += ["--total-steps", str(o["total_steps"])]
    if o["mask_truncated"]:
        a += ["--mask-truncated"]
    if o.get("max_completion_length"):
        a += ["--max-completion-length", str(o["max_completion_length"])]
    if o.get("adam_beta2"):
        a += ["--adam-beta2", repr(o["adam_beta2"])]
    if o.get("importance"):
        a += ["--importance", o["importance"]]
    return a


def make_models(out):
    """A small Qwen2 (GQA, untied head) and a perturbed copy, saved with the classic config keys."""
    torch.manual_seed(77)
    cfg = Qwen2Config(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                      rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=False,
                      bos_token_id=1, eos_token_id=2, initializer_range=0.3)
    model = Qwen2ForCausalLM(cfg).float()
    with torch.no_grad():   # biases and norms away from 0 and 1, so that decaying them would show
        for n, p in model.named_parameters():
            if n.endswith("bias") or "norm" in n:
                p.add_(0.2 * torch.randn_like(p))
    ref = Qwen2ForCausalLM(cfg).float()
    ref.load_state_dict(model.state_dict())
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.1 * torch.randn_like(p))
    for m, d in ((model, f"{out}/model"), (ref, f"{out}/ref")):
        m.save_pretrained(d, safe_serialization=True)
        cj = json.load(open(f"{d}/config.json"))
        cj["torch_dtype"] = "float32"   # transformers 5 writes "dtype" and rope_parameters; keep
        cj["rope_theta"] = 10000.0      # the classic keys too (config_load reads those)
        json.dump(cj, open(f"{d}/config.json", "w"), indent=2, sort_keys=True)


def load(d):
    m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float64, attn_implementation="eager")
    m.train()   # no dropout in Qwen2 (attention_dropout 0): train and eval agree
    return m


def comp_logp(model, prompt, comp, T):
    ids = torch.tensor([prompt + comp])
    logits = model(input_ids=ids).logits[0, len(prompt) - 1:len(prompt) + len(comp) - 1] / T
    return torch.log_softmax(logits, -1).gather(-1, torch.tensor(comp).unsqueeze(-1)).squeeze(-1)


# ---------- the rollouts ----------
def make_batch(model, steps=3, groups=2, G=4, seed=2024):
    V, eos = model.config.vocab_size, model.config.eos_token_id
    g = torch.Generator().manual_seed(seed)
    recs = []
    for s in range(steps):
        for k in range(groups):
            gid = f"s{s}g{k}"
            prompt = [int(x) for x in torch.randint(3, V, (int(torch.randint(2, 7, (1,), generator=g)),), generator=g)]
            equal = (s, k) == (1, 0)   # a group whose rewards are all equal: advantage 0
            for i in range(G):
                L = int(torch.randint(1, 9, (1,), generator=g))
                comp = [int(x) for x in torch.randint(3, V, (L,), generator=g)]
                trunc = (i == 1 and k == 1) or (s == 2 and i == 3)
                if not trunc:
                    comp[-1] = eos
                with torch.no_grad():
                    lp = comp_logp(model, prompt, comp, 1.0)
                old = [float(torch.tensor(float(x) + 0.25 * float(torch.randn(1, generator=g)), dtype=torch.float32))
                       for x in lp]
                acc = 1.0 if equal else float(torch.randint(0, 2, (1,), generator=g))
                fmt = 1.0 if equal else float(torch.randint(0, 3, (1,), generator=g)) / 2
                recs.append(dict(id=gid, prompt_ids=prompt, completion_ids=comp, logprobs=old,
                                 finish="length" if trunc else "stop",
                                 rewards={"accuracy": acc, "format": fmt}, reward=2 * acc + fmt))
    return recs


# ---------- TRL's objective ----------
def advantages(r, G, scale):
    """TRL: (r - group mean) / (std + 1e-4), torch.std unbiased; 'batch': the std of every reward."""
    grouped = r.view(-1, G)
    mean = grouped.mean(1).repeat_interleave(G)
    a = r - mean
    if scale == "group":
        a = a / (grouped.std(1).repeat_interleave(G) + 1e-4)
    elif scale == "batch":
        a = a / (r.std() + 1e-4)
    return a


def micro_loss(logps, olds, refs, adv, masks, o, ga, step_tokens):
    """One micro-batch on padded [B, T] tensors, as TRL's compute_loss; returns (loss, kl_sum, clipped)."""
    B, T = len(logps), max(len(x) for x in logps)
    lp = torch.zeros(B, T); old = torch.zeros(B, T); ref = torch.zeros(B, T); mask = torch.zeros(B, T)
    for i in range(B):
        n = len(logps[i])
        lp = lp.index_put((torch.full((n,), i), torch.arange(n)), logps[i])
        old[i, :n] = olds[i] if olds is not None else logps[i].detach()
        if refs is not None:
            ref[i, :n] = refs[i]
        mask[i, :n] = masks[i]
    log_ratio = lp - old
    if o.get("importance", "token") == "sequence":
        log_w = ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(-1)
    else:
        log_w = log_ratio
    coef_1 = torch.exp(log_w)
    coef_2 = torch.clamp(coef_1, 1 - o["epsilon"], 1 + o["epsilon_high"])
    A = adv.unsqueeze(1)
    ptl = -torch.min(coef_1 * A, coef_2 * A)
    kl = torch.zeros(B, T)
    if o["beta"] != 0:
        kl = torch.exp(ref - lp) - (ref - lp) - 1
        ptl = ptl + o["beta"] * kl
    ptl = ptl.expand(B, T)
    if o["loss"] == "grpo":
        loss = ((ptl * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean() / ga
    elif o["loss"] == "bnpo":
        loss = (ptl * mask).sum() / mask.sum().clamp(min=1.0) / ga
    elif o["loss"] == "dr_grpo":
        loss = (ptl * mask).sum() / (B * o["max_completion_length"]) / ga
    elif o["loss"] == "dapo":
        loss = (ptl * mask).sum() / step_tokens
    clipped = (((coef_1 < 1 - o["epsilon"]) & (A < 0)) | ((coef_1 > 1 + o["epsilon_high"]) & (A > 0))).expand(B, T)
    return loss, float((kl.detach() * mask).sum()), float((clipped.double() * mask).sum())


def run_case(name, o, model_dir, ref_dir, recs):
    policy, ref = load(model_dir), (load(ref_dir) if o["beta"] != 0 else None)
    if ref is not None:
        for p in ref.parameters():
            p.requires_grad_(False)
    decay = set(Trainer.get_decay_parameter_names(None, policy))
    params = dict(policy.named_parameters())
    groups = [{"params": [p for n, p in params.items() if n in decay], "weight_decay": o["weight_decay"]},
              {"params": [p for n, p in params.items() if n not in decay], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=o["lr"], betas=(0.9, o.get("adam_beta2", 0.999)), eps=1e-8)
    total = o["total_steps"]
    # TrainingArguments.get_warmup_steps (the dataclass itself needs accelerate to build)
    warm = TrainingArguments.get_warmup_steps(SimpleNamespace(warmup_steps=o["warmup"]), total)
    kw = {"min_lr_rate": o["min_lr_rate"]} if o["schedule"] == "cosine_with_min_lr" else None
    sched = get_scheduler(o["schedule"], opt, num_warmup_steps=warm, num_training_steps=total or None,
                          scheduler_specific_kwargs=kw)
    G = sum(1 for r in recs if r["id"] == recs[0]["id"])
    per_step = o["groups"] * G
    mb = o["micro_batch"]
    assert per_step % mb == 0, "TRL has no short micro-batch"
    steps = []
    for b0 in range(0, len(recs), per_step):
        batch = recs[b0:b0 + per_step]
        r = torch.tensor([x["reward"] for x in batch])
        adv = advantages(r, G, o["scale_rewards"])
        masks = [0.0 if (o["mask_truncated"] and x["finish"] == "length") else 1.0 for x in batch]
        step_tokens = sum(len(x["completion_ids"]) * m for x, m in zip(batch, masks))
        T = o["temperature"]
        refs = None
        if ref is not None:
            with torch.no_grad():
                refs = [comp_logp(ref, x["prompt_ids"], x["completion_ids"], T) for x in batch]
        for it in range(o["iterations"]):
            opt.zero_grad()
            lr = opt.param_groups[0]["lr"]   # what this optimizer step uses
            loss_sum = kl_sum = clip_sum = 0.0
            ga = per_step // mb
            for a in range(0, per_step, mb):
                part = batch[a:a + mb]
                logps = [comp_logp(policy, x["prompt_ids"], x["completion_ids"], T) for x in part]
                olds = [torch.tensor(x["logprobs"]) for x in part] if o["iterations"] > 1 else None
                l, k, c = micro_loss(logps, olds, refs[a:a + mb] if refs else None, adv[a:a + mb],
                                     [m * torch.ones(len(x["completion_ids"])) for x, m in zip(part, masks[a:a + mb])],
                                     o, ga, step_tokens)
                l.backward()
                loss_sum += l.item(); kl_sum += k; clip_sum += c
            ps = [p for p in policy.parameters()]
            if o["max_grad_norm"] > 0:
                gn = float(torch.nn.utils.clip_grad_norm_(ps, o["max_grad_norm"]))
            else:
                gn = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in ps])))
            opt.step()
            sched.step()
            grouped = r.view(-1, G)
            steps.append(dict(loss=loss_sum, kl=(kl_sum / step_tokens) if o["beta"] != 0 and step_tokens else None,
                              clip_frac=clip_sum / step_tokens if step_tokens else 0.0, grad_norm=gn, lr=lr,
                              reward_mean=float(r.mean()), reward_std=float(grouped.std(1).mean())))
    final = {n: p.detach().float().contiguous() for n, p in policy.named_parameters()}
    return steps, final, sorted(n for n in params if n not in decay)


def check(prefix, out):
    """Compares mgrpo runs PREFIX<case>/ (metrics.jsonl, latest/model.safetensors) with the fixture."""
    cases = json.load(open(f"{out}/cases.json"))
    worst = 0
    for name, c in cases.items():
        got = [json.loads(l) for l in open(f"{prefix}{name}/metrics.jsonl")]
        assert len(got) == len(c["steps"]), (name, len(got), len(c["steps"]))
        for k, (g, w) in enumerate(zip(got, c["steps"])):
            for key, v in w.items():
                if v is None:
                    assert g[key] is None, (name, k, key, g[key])
                    continue
                d = abs(g[key] - v) / max(abs(v), 1e-12)
                worst = max(worst, d if abs(v) > 1e-9 else 0)
                print(f"{name} step {k + 1} {key}: mgrpo {g[key]:.9g} torch {v:.9g} rel {d:.2e}")
        mine = load_file(f"{prefix}{name}/latest/model.safetensors")
        want = load_file(f"{out}/final_{name}.safetensors")
        w0 = load_file(f"{c['model']}/model.safetensors")
        for n, t in want.items():
            d = float((mine[n].double() - t.double()).norm() / t.double().norm())
            moved = float((t.double() - w0[n].double()).norm() / t.double().norm())
            print(f"{name} {n}: weights rel {d:.2e} (moved {moved:.2e})")
            worst = max(worst, d)
    print("worst", worst)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--ref")
    ap.add_argument("--out", default="testdata/grpo-steps")
    ap.add_argument("--check")
    a = ap.parse_args()
    if a.check:
        return check(a.check, a.out)
    os.makedirs(a.out, exist_ok=True)
    if not a.model:
        a.model, a.ref = f"{a.out}/model", f"{a.out}/ref"
        if not os.path.exists(f"{a.model}/model.safetensors"):
            make_models(a.out)
    recs = make_batch(load(a.model))
    with open(f"{a.out}/batch.jsonl", "w") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    cases = {}
    for name, o in CASES.items():
        steps, final, nodecay = run_case(name, o, a.model, a.ref, recs)
        save_file(final, f"{a.out}/final_{name}.safetensors")
        cases[name] = dict(opts=o, args=mgrpo_args(o), model=a.model, ref=a.ref, steps=steps, no_decay=nodecay)
        print(name, " ".join(mgrpo_args(o)))
        for s in steps:
            print("  ", s)
    json.dump(cases, open(f"{a.out}/cases.json", "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())
