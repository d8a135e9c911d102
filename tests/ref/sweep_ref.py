#!/usr/bin/env python3
"""sweep_ref.py — a randomized sweep of the CPU backend against transformers' Qwen2 (dev script,
not run by make; needs torch, transformers, safetensors and the built tools).

Each round writes a model with `minit CONFIG.json` (--dtype fp32 or bf16, random q/k/v biases;
norm weights then randomized in the file). The first rounds take the shapes in TARGETED, the
rest are drawn: hidden sizes that are no multiple of 16 (odd ones too; some past 1000), head_dim
2..128 (also head_dim * heads != hidden), every GQA ratio (groups up to 12 heads), intermediate
sizes 3..300 and past 4096, vocabularies that are no multiple of 16 (some past the head's
4096-entry chunk), tied and untied heads, 1-3 layers, rope theta 1e4..1e6. Against
Qwen2ForCausalLM in float64 on the same weights it checks:

  score   msample --score, temperature 1 and 0.7: the log-prob of every position of random token
          sequences of lengths 2..4, 15-17, 31-33, 63-65, 95-97, 127-129, 191-193, 255-257, 300,
          513; on bf16 files also with --dtype fp32, on fp32 files also with --dtype bf16
  sample  msample -n G --batch B (B 1..9, 16, 17, 33, 64, 65; prompts of 1..300 tokens, across
          16-token KV blocks and the 128-row prefill chunk, shared by G samples): the log-probs
          it reports for its sampled tokens against a teacher-forced pass; KV cache fp32 and bf16
  greedy  msample --temperature 0 against transformers' generate (greedy, same eos): the ids,
          allowed to part only at a step whose top-2 logit margin is below 1e-3 (bf16: 3e-2),
          and the log-probs they carry
  grad    one mgrpo step, --loss sft --optimizer sgd --max-grad-norm 0 --lr 1000 (the update is
          -lr x gradient; the fp32 masters read back from the checkpoint), --micro-batch 1, 3
          or all (packed sequences, up to 520 tokens each), --grad-checkpoint on some,
          --temperature 1 or 0.7: every parameter's gradient against autograd, and the loss
  threads --threads 1 against 2 (MRL_THREADS_ADAPT=0, and =jitter: a new count every step):
          the same bytes from --score, from sampling, and in the updated weights
  env     MRL_CPU_AMX=0, MRL_CPU_BF16_DOT=0/1, MRL_CPU_SIMD=avx2/none, MRL_CPU_SMALL_T=0/64,
          MRL_CPU_ATTN_SPLIT=0/1, SIMD and BF16_DOT off with SMALL_T=64 (mrl(7)): each re-runs
          score and sample (and greedy, grad where the variable reaches them)

Tolerances: err = |mrl - ref| / max(1, |ref|) per log-prob (and for the loss); a gradient
tensor's largest error over its largest reference element.
  fp32 compute (also bf16 weights widened: --dtype fp32, MRL_CPU_BF16_DOT=0): 1e-4. Seen: up
    to 2.6e-5 (long sequences, 3 layers); weights 4x hotter than the sweep's reach ~1.5e-4.
  bf16 compute (AVX512_BF16/AMX products, activations rounded to bf16): against a reference that
    rounds the same operands to bf16 (every linear layer's input; K after RoPE and V for a bf16
    KV cache; in the backward dx = r(g) W, dW = r(g)^T r(x)), largest 3e-2, median over a
    record 5e-3; gradients 3e-2. Most log-probs agree to 1e-7 (the counts are printed), but
    float32-vs-float64 differences flip a bf16 rounding now and then (an input moves by 2^-8
    of itself) and attention carries that to later positions: seen up to 2.1e-2 (median 2.3e-3,
    gradients 1.9e-2), against 0.03-0.1 from the plain float64 reference (printed, unchecked).
Usage: python3 tests/ref/sweep_ref.py [--rounds N] [--seed S] [--bin DIR] [--work DIR] [--quick]
                                       [--random-only]
  from the repository root after `make` (bin-cpu/ if there, else bin/); a round takes 20-60 s on
  2 cores (--quick: a sample of each list). Prints the largest error per path and precision;
  exit status 1 when a check fails, each failure named with its shape, options and environment.
"""
import argparse, json, math, os, random, shutil, subprocess, sys, tempfile
import torch
from safetensors.torch import load_file, save_file
from transformers import Qwen2ForCausalLM
from transformers.models.qwen2 import modeling_qwen2 as mq

torch.set_grad_enabled(False)
TOL_F32, TOL_BF16, TOL_BF16_MED, TOL_GRAD_BF16 = 1e-4, 3e-2, 5e-3, 3e-2
SCORE_LENS = [1, 2, 3, 4, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 96, 97, 127, 128, 129, 191, 192, 193,
              255, 256, 257, 300, 513]
BATCHES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 33, 64, 65]
ENVS = [{"MRL_CPU_AMX": "0"}, {"MRL_CPU_BF16_DOT": "0"}, {"MRL_CPU_BF16_DOT": "1"}, {"MRL_CPU_SIMD": "avx2"},
        {"MRL_CPU_SIMD": "none"}, {"MRL_CPU_SMALL_T": "0"}, {"MRL_CPU_SMALL_T": "64"},
        {"MRL_CPU_ATTN_SPLIT": "0"}, {"MRL_CPU_ATTN_SPLIT": "1"},
        {"MRL_CPU_SIMD": "avx2", "MRL_CPU_SMALL_T": "64"}, {"MRL_CPU_SIMD": "none", "MRL_CPU_SMALL_T": "64"},
        {"MRL_CPU_BF16_DOT": "0", "MRL_CPU_SMALL_T": "64"}]
# Shapes a random draw rarely gives: rounds 0..len-1 take these (then random ones). GQA groups
# of 9 and 12 heads (paged attention's 8-head passes, the 6-head score passes), hidden sizes
# past the bf16 kernels' K-blocks and the dW column tiles, F past smallgemm's long-K switch.
TARGETED = [
    (dict(hidden_size=190, num_attention_heads=12, num_key_value_heads=1, head_dim=16, intermediate_size=77,
          vocab_size=301, num_hidden_layers=2, tie_word_embeddings=False), "fp32"),
    (dict(hidden_size=150, num_attention_heads=9, num_key_value_heads=1, head_dim=32, intermediate_size=131,
          vocab_size=517, num_hidden_layers=2, tie_word_embeddings=True), "bf16"),
    (dict(hidden_size=1031, num_attention_heads=4, num_key_value_heads=2, head_dim=64, intermediate_size=97,
          vocab_size=263, num_hidden_layers=1, tie_word_embeddings=True), "bf16"),
    (dict(hidden_size=66, num_attention_heads=2, num_key_value_heads=1, head_dim=48, intermediate_size=4133,
          vocab_size=4101, num_hidden_layers=1, tie_word_embeddings=False), "fp32"),
    (dict(hidden_size=300, num_attention_heads=3, num_key_value_heads=1, head_dim=128, intermediate_size=301,
          vocab_size=1037, num_hidden_layers=2, tie_word_embeddings=False), "bf16"),
]

FAIL = []
STATS = {}   # (path, precision) -> max err
GREEDY = {}  # precision -> [completions equal to generate's, diverging at a near tie, diverging otherwise]
FRAC = {}    # (path, precision) -> [bf16 log-probs within 1e-5 of the emulating reference, all]


def note(path, prec, err, tol, what):
    k = (path, prec)
    STATS[k] = max(STATS.get(k, 0.0), err)
    if tol is not None and not err <= tol:
        FAIL.append(f"{path} [{prec}] err {err:.3g} > {tol:g}: {what}")
        print(f"  FAIL {path} [{prec}] err {err:.3g} > {tol:g}: {what}", flush=True)


def run(args, env=None, inp=None):
    e = dict(os.environ)
    e.update(env or {})
    e.setdefault("OMP_WAIT_POLICY", "passive")
    p = subprocess.run(["nice", "-n", "10"] + args, input=inp, capture_output=True, env=e)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} (env {env}): exit {p.returncode}: {p.stderr.decode()[-2000:]}")
    return p.stdout


# ---------- models ----------
def draw_config(rng):
    D = rng.choice([2, 8, 10, 16, 24, 32, 40, 48, 64, 80, 128])
    H = rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 12]) if D <= 48 else rng.choice([1, 2, 3, 4])
    K = rng.choice([d for d in range(1, H + 1) if H % d == 0])
    C = H * D if rng.random() < 0.4 else rng.randrange(max(4, D // 2), 200) // 2 * 2 + rng.choice([0, 1])
    F = rng.randrange(3, 300)
    L = rng.choice([1, 2, 2, 3])
    big = rng.random()
    if big < 0.1:     # long K in the down projection (smallgemm's CB_LONG_K), K-blocks of every kernel
        F, L = rng.randrange(4090, 4200), 1
    elif big < 0.2:   # more than one 4 x 256-column tile of dW, more than one bf16 K-block
        C, L = rng.randrange(1000, 1100), 1
    V = rng.choice([263, 264, 301, 517, 1000, 1037, 4099, 4100 + rng.randrange(1, 90)])
    return {"model_type": "qwen2", "vocab_size": V, "hidden_size": max(C, 2), "intermediate_size": F,
            "num_hidden_layers": L, "num_attention_heads": H, "num_key_value_heads": K,
            "head_dim": D, "max_position_embeddings": 1024, "rope_theta": rng.choice([10000.0, 1e6, 5e5]),
            "rms_norm_eps": rng.choice([1e-6, 1e-5]), "tie_word_embeddings": rng.random() < 0.5,
            "torch_dtype": "float32"}


def make_model(b, cfg, dtype, seed, d):
    with open(d + ".json", "w") as f:
        json.dump(cfg, f)
    std = 1.6 / math.sqrt(cfg["hidden_size"])
    run([b + "/minit", d + ".json", "-o", d, "--seed", str(seed), "--dtype", dtype, "--std", f"{std:.6g}",
         "--bias-std", "0.3", "-q"])
    st = os.path.join(d, "model.safetensors")
    w = load_file(st)
    g = torch.Generator().manual_seed(seed)
    for n in w:
        if n.endswith("norm.weight"):
            w[n] = (1.0 + 0.3 * torch.randn(w[n].shape, generator=g, dtype=torch.float32)).to(w[n].dtype)
    save_file(w, st, metadata={"format": "pt"})
    return d


def r16(x):
    return x.to(torch.bfloat16).to(x.dtype)


class Lin16(torch.autograd.Function):
    """A linear layer as mrl computes one in bf16: y = r(x) W^T + b, dx = r(g) W,
    dW = r(g)^T r(x), db = sum g (r: round to bf16; W bf16 already)."""
    @staticmethod
    def forward(ctx, x, w, b):
        xr = r16(x)
        ctx.save_for_backward(xr, w)
        ctx.has_b = b is not None
        y = xr @ w.T
        return y + b if b is not None else y

    @staticmethod
    def backward(ctx, g):
        xr, w = ctx.saved_tensors
        gr = r16(g)
        dw = gr.reshape(-1, gr.shape[-1]).T @ xr.reshape(-1, xr.shape[-1])
        db = g.reshape(-1, g.shape[-1]).sum(0) if ctx.has_b else None
        return gr @ w, dw, db


class Ref:
    """Qwen2ForCausalLM in float64 from the model's file. act16: inputs of every linear rounded
    to bf16 (mrl's bf16 products); kv16: K (after RoPE) and V rounded to bf16 (a bf16 KV cache);
    w16: weights rounded to bf16 first (an fp32 file run with --dtype bf16)."""
    def __init__(self, d, act16=False, kv16=False, w16=False):
        self.m = Qwen2ForCausalLM.from_pretrained(d, dtype=torch.float64, attn_implementation="eager").eval()
        if w16:
            for p in self.m.parameters():
                p.copy_(r16(p))
        self.act16, self.kv16 = act16, kv16
        self.hooks = []
        self.cache = {}

    def _on(self, grad=False):
        if self.act16 and grad:
            for mod in self.m.modules():
                if isinstance(mod, torch.nn.Linear):
                    mod.forward = (lambda mm: lambda x: Lin16.apply(x, mm.weight, mm.bias))(mod)
                    self.hooks.append(mod)
        elif self.act16:
            for mod in self.m.modules():
                if isinstance(mod, torch.nn.Linear):
                    self.hooks.append(mod.register_forward_pre_hook(lambda _m, a: (r16(a[0]),) + tuple(a[1:])))
        if self.kv16:
            for lay in self.m.model.layers:
                self.hooks.append(lay.self_attn.v_proj.register_forward_hook(lambda _m, a, o: r16(o)))
            self._rope = mq.apply_rotary_pos_emb
            orig = self._rope
            mq.apply_rotary_pos_emb = lambda q, k, c, s, *a, **kw: (lambda qk: (qk[0], r16(qk[1])))(orig(q, k, c, s, *a, **kw))

    def _off(self):
        for h in self.hooks:
            if isinstance(h, torch.nn.Module):
                del h.forward   # back to the class's
            else:
                h.remove()
        self.hooks = []
        if self.kv16:
            mq.apply_rotary_pos_emb = self._rope

    def logits(self, ids):
        k = tuple(ids)
        if k not in self.cache:
            self._on()
            try:
                self.cache[k] = self.m(input_ids=torch.tensor([ids])).logits[0]
            finally:
                self._off()
        return self.cache[k]

    def logp(self, ids, temp):
        """log p(ids[t+1] | ids[..t]) at temperature temp, t < len - 1"""
        lg = self.logits(ids)[:-1] / temp
        lp = torch.log_softmax(lg, -1)
        return lp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]

    def generate(self, prompt, n, eos):
        self._on()
        try:
            out = self.m.generate(torch.tensor([prompt]), max_new_tokens=n, do_sample=False, eos_token_id=eos,
                                  pad_token_id=eos[0], return_dict_in_generate=True, output_logits=True,
                                  temperature=None, top_p=None, top_k=None)
        finally:
            self._off()
        ids = out.sequences[0, len(prompt):].tolist()
        margins = []
        for lg in out.logits:
            t2 = torch.topk(lg[0], 2).values
            margins.append(float(t2[0] - t2[1]))
        return ids, margins


def note_lp(path, prec, e, what):
    """log-prob errors e of one record: fp32 by the largest; bf16 by the largest and the median"""
    if not len(e):
        return
    if prec == "fp32":
        return note(path, prec, float(e.max()), TOL_F32, what + f" pos={int(e.argmax())}")
    note(path, prec, float(e.max()), TOL_BF16, what + f" pos={int(e.argmax())}")
    if len(e) >= 8:
        note(path + "-median", prec, float(e.median()), TOL_BF16_MED, what)
    FRAC.setdefault((path, prec), [0, 0])
    FRAC[(path, prec)][0] += int((e <= 1e-5).sum())
    FRAC[(path, prec)][1] += len(e)


def errs(a, r):
    a = torch.as_tensor(a, dtype=torch.float64)
    return ((a - r).abs() / r.abs().clamp(min=1.0))


# ---------- paths ----------
def jsonl(b):
    out = []
    for l in b.decode("utf-8", "surrogateescape").split("\n"):   # not splitlines(): U+2028 is text
        if l.strip():
            try:
                out.append(json.loads(l))
            except ValueError as ex:
                FAIL.append(f"output is not JSON ({ex}): {l[:2000]!r}")
                print(f"  FAIL output is not JSON ({ex}): {l[:2000]!r}", flush=True)
    return out


def check_score(b, mdir, refs, rng, prec, flags, env=None, tag="score", lens=None, threads=2):
    V = refs["cfg"]["vocab_size"]
    recs = []
    for i, L in enumerate(lens or SCORE_LENS):
        L = max(L, 2)
        ids = [rng.randrange(V) for _ in range(L)]
        ids[rng.randrange(L)] = V - 1
        npr = rng.choice([1, 1, 2, 3, max(1, L // 2)])
        recs.append({"id": f"s{i}", "prompt_ids": ids[:npr], "completion_ids": ids[npr:]})
    inp = "".join(json.dumps(r) + "\n" for r in recs).encode()
    ref = refs[prec]
    outs = {}
    for temp in (1.0, 0.7):
        out = run([b + "/msample", "--score", "--model", mdir, "-Z", "--threads", str(threads), "--temperature", str(temp)] + flags,
                  env, inp)
        outs[temp] = out
        for r in jsonl(out):
            ids = r["prompt_ids"] + r["completion_ids"]
            want = ref.logp(ids, temp)[len(r["prompt_ids"]) - 1:]
            note_lp(tag, prec, errs(r["logprobs"], want), f"T={len(ids)} temp={temp} flags={flags} env={env}")
            if prec != "fp32" and "plain" in refs:
                note(tag + "-vs-f64", prec, float(errs(r["logprobs"], refs["plain"].logp(ids, temp)[len(r["prompt_ids"]) - 1:]).max()) if len(r["logprobs"]) else 0.0, None, "")
    return outs


def problems(rng, lens):
    out = []
    for i, L in enumerate(lens):
        txt = "".join(chr(rng.randrange(32, 127)) for _ in range(max(0, L - 1)))
        out.append({"id": f"p{i}", "problem": txt})
    return "".join(json.dumps(p) + "\n" for p in out).encode()


def check_sample(b, mdir, refs, rng, prec, kv, flags, batch, env=None, tag="sample", threads=2, temp=None):
    lens = rng.sample([1, 2, 5, 14, 15, 16, 17, 18, 31, 32, 33, 47, 63, 64, 65, 100, 127, 128, 129, 130, 200, 257, 300], 6)
    G = max(1, -(-batch // len(lens)))
    temp = temp or rng.choice([1.0, 1.0, 0.8])
    mt = rng.choice([5, 17, 33, 40])
    inp = problems(rng, lens)
    out = run([b + "/msample", "--model", mdir, "-Z", "--template", "plain", "--system", "", "-n", str(G), "--batch", str(batch),
               "--max-tokens", str(mt), "--temperature", str(temp), "--seed", str(rng.randrange(1000)), "--kv-dtype", kv,
               "--threads", str(threads)] + flags, env, inp)
    key = prec if kv == "fp32" else prec + "+kv16"
    ref = refs[key]
    for r in jsonl(out):
        ids = r["prompt_ids"] + r["completion_ids"]
        want = ref.logp(ids, temp)[len(r["prompt_ids"]) - 1:]
        note_lp(tag, key, errs(r["logprobs"], want),
                f"batch={batch} G={G} prompt={len(r['prompt_ids'])} n={len(r['completion_ids'])} temp={temp} kv={kv} flags={flags} env={env}")
    return out


def check_greedy(b, mdir, refs, rng, prec, flags, env=None, batch=4):
    lens = rng.sample([1, 3, 15, 16, 17, 33, 64, 65, 127, 129, 200], 4)
    inp = problems(rng, lens)
    mt = rng.choice([12, 24, 40])
    out = run([b + "/msample", "--model", mdir, "-Z", "--template", "plain", "--system", "", "--temperature", "0",
               "--max-tokens", str(mt), "--batch", str(batch), "--kv-dtype", "fp32", "--threads", "2"] + flags, env, inp)
    ref = refs[prec]
    gen = json.load(open(os.path.join(mdir, "generation_config.json")))
    eos = gen["eos_token_id"] if isinstance(gen["eos_token_id"], list) else [gen["eos_token_id"]]
    mtol = 1e-3 if prec == "fp32" else 3e-2
    for r in jsonl(out):
        want, margins = ref.generate(r["prompt_ids"], mt, eos)
        got = r["completion_ids"]
        n = 0
        while n < min(len(got), len(want)) and got[n] == want[n]:
            n += 1
        ok = got == want or (n < min(len(got), len(want)) and margins[n] < mtol)
        GREEDY.setdefault(prec, [0, 0, 0])
        GREEDY[prec][0 if got == want else 1 if ok else 2] += 1
        note("greedy-ids", prec, 0.0 if ok else 1.0, 0.5,
             f"prompt={len(r['prompt_ids'])} agree {n} of {len(got)}/{len(want)} tokens; margin there {margins[n] if n < len(margins) else None} env={env} flags={flags}")
        ids = r["prompt_ids"] + got
        note_lp("greedy-logp", prec, errs(r["logprobs"], ref.logp(ids, 1.0)[len(r["prompt_ids"]) - 1:]), f"prompt={len(r['prompt_ids'])} env={env}")


def grads_ref(ref, recs, temp=1.0):
    """d(token-mean NLL of the completion tokens at temperature temp) / d param, float64"""
    m = ref.m
    m.zero_grad()
    with torch.enable_grad():
        ntok = sum(len(r["completion_ids"]) for r in recs)
        tot = 0
        for r in recs:
            ids = r["prompt_ids"] + r["completion_ids"]
            ref._on(grad=True)
            try:
                lg = m(input_ids=torch.tensor([ids])).logits[0]
            finally:
                ref._off()
            lp = torch.log_softmax(lg[:-1] / temp, -1)[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]
            tot = tot - lp[len(r["prompt_ids"]) - 1:].sum()
        loss = tot / ntok
        loss.backward()
    return {n: p.grad.detach().clone() for n, p in m.named_parameters()}, float(loss)


def read_update(rundir, orig):
    st = os.path.join(rundir, "latest")
    opt = os.path.join(st, "optimizer.safetensors")
    o = load_file(opt) if os.path.exists(opt) else {}
    w = load_file(os.path.join(st, "model.safetensors"))
    return {n: (o["master." + n] if "master." + n in o else w[n]).double() for n in orig}


def check_grad(b, mdir, refs, rng, prec, work, env=None, tag="grad", mb=None, ckpt=None, threads=2, refkey=None):
    V = refs["cfg"]["vocab_size"]
    recs = []
    for i in range(rng.choice([2, 3, 4])):
        L = rng.choice([2, 5, 16, 17, 33, 64, 65, 100, 129, 200, 257, 520])
        npr = rng.randrange(1, L)
        ids = [rng.randrange(V) for _ in range(L)]
        recs.append({"id": f"g{i}", "prompt_ids": ids[:npr], "completion_ids": ids[npr:], "reward": 0})
    inp = "".join(json.dumps(r) + "\n" for r in recs).encode()
    mb = mb or rng.choice([1, 3, len(recs)])
    ckpt = rng.random() < 0.3 if ckpt is None else ckpt
    temp = rng.choice([1.0, 1.0, 0.7])
    lr = 1000.0   # mgrpo's largest
    rd = tempfile.mkdtemp(dir=work)
    args = [b + "/mgrpo", "-Z", "-q", "--threads", str(threads), "--model", mdir, "--out", rd, "--loss", "sft",
            "--optimizer", "sgd", "--lr", str(lr), "--max-grad-norm", "0", "--steps", "1", "--allow-partial",
            "--micro-batch", str(mb), "--temperature", str(temp), "--dtype", "bf16" if prec != "fp32" else "fp32"] + (["--grad-checkpoint"] if ckpt else [])
    metrics = jsonl(run(args, env, inp))
    ref = refs[refkey or prec]
    orig = {n: p.detach().double() for n, p in ref.m.named_parameters()}
    new = read_update(rd, orig)
    g, loss = grads_ref(ref, recs, temp)
    el = abs(metrics[0]["loss"] - loss) / max(1.0, abs(loss))
    note(tag + "-loss", prec + ("-widened" if refkey == "plain" else ""), el,
         TOL_F32 if (refkey or prec) in ("fp32", "plain") else TOL_BF16, f"mgrpo loss {metrics[0]['loss']} want {loss} env={env}")
    tol = TOL_F32 if (refkey or prec) in ("fp32", "plain") else TOL_GRAD_BF16
    worst, wn = 0.0, ""
    for n in orig:
        gm = (orig[n] - new[n]) / lr   # the masters start from the file's values
        scale = g[n].abs().max().item()
        if scale == 0:
            continue
        e = (gm - g[n]).abs().max().item() / scale
        if e > worst:
            worst, wn = e, n
    note(tag, prec + ("-widened" if refkey == "plain" else ""), worst, tol, f"worst {wn} micro-batch={mb} ckpt={ckpt} temp={temp} lens={[len(r['prompt_ids']) + len(r['completion_ids']) for r in recs]} env={env}")
    with open(os.path.join(rd, "latest", "model.safetensors"), "rb") as f:
        blob = f.read()
    opt = os.path.join(rd, "latest", "optimizer.safetensors")
    if os.path.exists(opt):
        blob += open(opt, "rb").read()
    shutil.rmtree(rd)
    return blob, (inp, mb, ckpt)


# ---------- a round ----------
def one_round(b, work, rng, k, quick, targeted):
    cfg = draw_config(rng)
    dtype = rng.choice(["fp32", "bf16"])
    if targeted:
        cfg.update(targeted[0])
        dtype = targeted[1]
    d = make_model(b, cfg, dtype, rng.randrange(10**6), os.path.join(work, f"m{k}"))
    print(f"round {k}: {dtype} V={cfg['vocab_size']} C={cfg['hidden_size']} F={cfg['intermediate_size']} "
          f"L={cfg['num_hidden_layers']} H={cfg['num_attention_heads']} K={cfg['num_key_value_heads']} D={cfg['head_dim']} "
          f"tie={cfg['tie_word_embeddings']}", flush=True)
    refs = {"cfg": cfg}
    plain = Ref(d)
    refs["fp32"] = plain
    refs["plain"] = plain
    if dtype == "bf16":
        refs["bf16"] = Ref(d, act16=True)
        refs["bf16+kv16"] = Ref(d, act16=True, kv16=True)
        native, nflags, fflags = "bf16", [], ["--dtype", "fp32"]
    else:
        refs["bf16w"] = Ref(d, act16=True, w16=True)
        native, nflags, fflags = "fp32", [], None
    refs["fp32+kv16"] = Ref(d, kv16=True)
    slens = SCORE_LENS if not quick else rng.sample(SCORE_LENS, 8)
    # score: the file's precision, and the other one
    s2 = check_score(b, d, refs, rng, native, nflags, lens=slens)
    if fflags:
        check_score(b, d, refs, random.Random(k), "fp32", fflags, lens=slens)
    else:
        r2 = dict(refs, bf16=refs["bf16w"])
        check_score(b, d, r2, rng, "bf16", ["--dtype", "bf16"], lens=rng.sample(SCORE_LENS, 6), tag="score-asbf16")
    # sample: every batch size over the rounds, fp32 and bf16 caches
    for batch in (BATCHES if not quick else rng.sample(BATCHES, 3)):
        check_sample(b, d, refs, rng, native, "fp32", nflags, batch)
    for batch in rng.sample(BATCHES, 2):
        check_sample(b, d, refs, rng, native, "bf16", nflags, batch)
    if fflags:
        check_sample(b, d, refs, rng, "fp32", "fp32", fflags, rng.choice(BATCHES))
    check_greedy(b, d, refs, rng, native, nflags, batch=rng.choice([1, 3, 8]))
    # grad
    check_grad(b, d, refs, rng, native, work)
    if dtype == "bf16":
        check_grad(b, d, refs, rng, "fp32", work)
    # threads: bytes, 1 thread against 2 kept (MRL_THREADS_ADAPT=0) and against a count that
    # changes every step (jitter)
    seed = rng.randrange(10**6)
    batch = rng.choice([3, 9, 17])
    t1 = [check_score(b, d, refs, random.Random(seed), native, nflags, lens=[17, 65, 130], threads=1, tag="score-t1"),
          check_sample(b, d, refs, random.Random(seed), native, "fp32", nflags, batch, threads=1, tag="sample-t1"),
          check_grad(b, d, refs, random.Random(seed), native, work, threads=1, tag="grad-t1")[0]]
    for mode in ("0", "jitter"):
        env = {"MRL_THREADS_ADAPT": mode}
        t2 = [check_score(b, d, refs, random.Random(seed), native, nflags, lens=[17, 65, 130], env=env, tag="score-t2"),
              check_sample(b, d, refs, random.Random(seed), native, "fp32", nflags, batch, env=env, tag="sample-t2"),
              check_grad(b, d, refs, random.Random(seed), native, work, env=env, tag="grad-t2")[0]]
        for what, x, y in zip(("msample --score", f"msample --batch {batch}", "mgrpo"), t1, t2):
            note("threads-bitwise", native, 0.0 if x == y else 1.0, 0.5, f"{what}, 1 thread vs 2 ({env})")
    # kernel choices forced
    for env in (ENVS if not quick else rng.sample(ENVS, 3)):
        key = next(iter(env))
        nodot = env.get("MRL_CPU_BF16_DOT") == "0"
        if key in ("MRL_CPU_AMX", "MRL_CPU_BF16_DOT") and native == "fp32":
            fl = ["--dtype", "bf16"]
            if nodot:   # bf16 weights widened, nothing rounded: fp32 numerics on the rounded weights
                prec, r2 = "fp32", dict(refs, fp32=Ref(d, w16=True))
            else:
                prec, r2 = "bf16", dict(refs, bf16=refs["bf16w"])
        elif nodot:     # a bf16 file's weights widened: the plain reference, fp32 tolerance
            prec, fl, r2 = "fp32", nflags, refs
        else:
            prec, fl, r2 = native, nflags, refs
        lens = rng.sample(SCORE_LENS, 7)
        check_score(b, d, r2, rng, prec, fl, env=env, lens=lens, tag="score-env")
        if prec == "fp32" or key != "MRL_CPU_BF16_DOT" or env[key] == "0":
            check_sample(b, d, r2, rng, prec, "fp32", fl, rng.choice(BATCHES), env=env, tag="sample-env")
        if key in ("MRL_CPU_SIMD", "MRL_CPU_AMX", "MRL_CPU_BF16_DOT") and (prec == "fp32" or not nodot):
            check_greedy(b, d, r2, rng, prec, fl, env=env, batch=rng.choice([1, 2, 5, 13]))
        if env.get("MRL_CPU_BF16_DOT") == "0" and native == "bf16":
            # bf16 weights widened to fp32, nothing rounded: the float64 reference at fp32 tolerance
            check_grad(b, d, refs, rng, native, work, env=env, tag="grad-env", refkey="plain")
        elif key in ("MRL_CPU_ATTN_SPLIT", "MRL_CPU_SMALL_T", "MRL_CPU_SIMD") or (key == "MRL_CPU_AMX" and native == "bf16"):
            check_grad(b, d, refs, rng, native, work, env=env, tag="grad-env")
    shutil.rmtree(d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bin", default="bin-cpu" if os.path.isdir("bin-cpu") else "bin")
    ap.add_argument("--work", default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--random-only", action="store_true", help="no targeted shapes first")
    a = ap.parse_args()
    b = os.path.abspath(a.bin)
    work = tempfile.mkdtemp(prefix="mrl-sweep.", dir=a.work)
    torch.set_num_threads(1)
    for k in range(a.rounds):
        rng = random.Random(a.seed * 1000 + k)
        try:
            one_round(b, work, rng, k, a.quick, TARGETED[k] if k < len(TARGETED) and not a.random_only else None)
        except RuntimeError as ex:
            FAIL.append(f"round {k}: {ex}")
            print(f"  FAIL round {k}: {ex}", flush=True)
    print("\nmax err per path [precision]:")
    for (p, prec), v in sorted(STATS.items()):
        print(f"  {p:18s} {prec:10s} {v:.3g}")
    for prec, (eq, tie, bad) in sorted(GREEDY.items()):
        print(f"  greedy [{prec}]: {eq} completions equal to transformers' generate, {tie} diverging at a near tie, {bad} otherwise")
    for (p, prec), (n, t) in sorted(FRAC.items()):
        print(f"  {p:18s} {prec:10s} {n} of {t} bf16 log-probs within 1e-5 of the emulating reference")
    shutil.rmtree(work, ignore_errors=True)
    if FAIL:
        print(f"\n{len(FAIL)} failures:")
        for f in FAIL:
            print("  " + f)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
