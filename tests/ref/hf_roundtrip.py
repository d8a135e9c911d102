#!/usr/bin/env python3
"""hf_roundtrip.py — dev check that mrl's model directories are Hugging Face model directories
both ways, as a transformers user sees them. Needs torch, transformers (5.x), tokenizers,
safetensors and the built tools; about a minute and a half on one CPU core.

Run from the repo root:   MRL_BIN=bin python3 tests/ref/hf_roundtrip.py [WORKDIR]
(WORKDIR is kept when given, else a temporary directory is made and removed.)

mrl -> transformers: minit directories (tiny/small, fp32/bf16, tied/untied, the byte-level
tokenizer, the real Qwen2 tokenizer from ../shared with its tokenizer_config.json and alone,
a tokenizer transformers saved), then mgrpo steps (grpo, then sft resumed, --policy-every 1): step-XXXXXX, latest, policy. Each
loads with AutoConfig/AutoModelForCausalLM/AutoTokenizer with no missing, unexpected or
mismatched weights and no warnings; the model's dtype is config.json's; generation_config and
the tokenizer agree on bos/eos/pad ids that lie inside the embedding; the chat template is
there (the R1 one where the R1 tokens are) and apply_chat_template gives msample's r1 prompt
ids; save_pretrained round-trips (weights, encodings, template; msample greedy unchanged);
greedy generate equals msample --temperature 0 token for token (fp32 forward on both sides),
also where an SFT-trained model stops at EOS; a step directory's *.safetensors files, chosen
the way vLLM chooses them (all of them unless an index names some), hold the model's tensors
only; latest and policy resolve.
transformers -> mrl: Qwen2ForCausalLM.save_pretrained (fp32/bf16/fp16, tied/untied, sharded
with max_shard_size, an extra lm_head.weight in a tied file) with a tokenizer beside: msample
--score log-probs equal transformers' within 1e-4 (fp32), and mgrpo trains from them into
step directories that pass the checks above."""
import glob, json, logging, os, shutil, subprocess, sys, tempfile, warnings
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
import transformers
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

BIN = os.path.abspath(os.environ.get("MRL_BIN", "bin"))
SHARED_TOK = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../../shared/data/qwen2-tokenizer"))
BOS, EOS, USER, ASSIST = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"
torch.set_num_threads(1)
transformers.logging.set_verbosity_warning()
transformers.utils.logging.disable_progress_bar()
fails = []

def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok: fails.append(what)

def tool(*args, stdin=None):
    r = subprocess.run([os.path.join(BIN, args[0]), *args[1:]], input=stdin, capture_output=True, text=True)
    if r.returncode: raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r.stdout

class Cap(logging.Handler):
    def __init__(self): super().__init__(); self.msgs = []
    def emit(self, r): self.msgs.append(f"{r.levelname}: {r.getMessage()}")

def quiet(fn):
    """fn() and the warnings transformers logged or raised meanwhile."""
    h = Cap(); lg = logging.getLogger("transformers"); lg.addHandler(h)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = fn()
    lg.removeHandler(h)
    return out, h.msgs + [str(x.message) for x in w]

def weight_files(d):
    p = os.path.join(d, "model.safetensors")
    if os.path.exists(p): return [p]
    return sorted({os.path.join(d, f) for f in json.load(open(p + ".index.json"))["weight_map"].values()})

def vllm_files(d):
    """The files vLLM's default loader reads from a local directory: every *.safetensors, filtered
    by model.safetensors.index.json when there is one."""
    files = glob.glob(os.path.join(d, "*.safetensors"))
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.isfile(idx):
        named = {os.path.join(d, f) for f in json.load(open(idx))["weight_map"].values()}
        files = [f for f in files if f in named]
    return sorted(files)

def greedy(d, n=24, template="plain", problem="What is 2+3? Think.", extra=()):
    return json.loads(tool("msample", "-Z", "-q", "--model", d, "--temperature", "0", "--template", template,
                           "--max-tokens", str(n), "--threads", "1", "--system", "", *extra, stdin=json.dumps({"problem": problem}) + "\n"))

def hf_greedy(model, prompt_ids, n):
    ids = torch.tensor([prompt_ids])
    out, msgs = quiet(lambda: model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=n))
    return out[0, len(prompt_ids):].tolist(), msgs

def check_dir(d, name, r1_template=None, tokenizer=True):
    """The mrl -> transformers checks on model directory d."""
    cfg, m1 = quiet(lambda: AutoConfig.from_pretrained(d))
    (model, info), m2 = quiet(lambda: AutoModelForCausalLM.from_pretrained(d, output_loading_info=True))
    bad = {k: v for k, v in info.items() if v}
    check(not bad and not m1 + m2, f"{name}: loads clean {bad or ''} {m1 + m2 or ''}")
    dts = set()
    for f in weight_files(d):
        with safe_open(f, "pt") as g: dts |= {g.get_slice(k).get_dtype() for k in g.keys()}
    want = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}[cfg.dtype]
    check(model.dtype == cfg.dtype and dts == {want}, f"{name}: dtype {model.dtype}, config {cfg.dtype}, file {dts}")
    # the state dict equals the file
    sd = model.state_dict()
    same = all(torch.equal(sd[k], t) for f in weight_files(d) for k, t in load_file(f).items() if k in sd)
    check(same, f"{name}: weights as stored")
    vf = vllm_files(d)
    names = set()
    for f in vf:
        with safe_open(f, "pt") as g: names |= set(g.keys())
    expect = {k for k in sd if not (cfg.tie_word_embeddings and k == "lm_head.weight")}
    check(names <= set(sd) and expect <= names, f"{name}: the *.safetensors vLLM reads ({[os.path.basename(f) for f in vf]}) hold the model's tensors only")
    gc = model.generation_config
    V = cfg.vocab_size
    check(gc.eos_token_id is not None and all(0 <= i < V for i in ([gc.eos_token_id] if isinstance(gc.eos_token_id, int) else gc.eos_token_id))
          and (gc.bos_token_id is None or 0 <= gc.bos_token_id < V), f"{name}: generation_config bos {gc.bos_token_id} eos {gc.eos_token_id} in the vocabulary")
    if not tokenizer: return model
    tok, m3 = quiet(lambda: AutoTokenizer.from_pretrained(d))
    check(not m3, f"{name}: tokenizer loads clean {m3 or ''}")
    eos = gc.eos_token_id if isinstance(gc.eos_token_id, int) else gc.eos_token_id[0]
    check(tok.eos_token_id == eos and tok.pad_token_id is not None and tok.pad_token_id < V and len(tok) <= V
          and (gc.bos_token_id is None or tok.bos_token_id == gc.bos_token_id),
          f"{name}: tokenizer bos {tok.bos_token_id} eos {tok.eos_token_id} pad {tok.pad_token_id} size {len(tok)} agree with config (vocab {V})")
    raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    texts = ["Hello world", "日本語 🙂 x^2", USER + "hi" + ASSIST + "<think>\nok</think>" + EOS]
    check(all(tok(s)["input_ids"] == raw.encode(s).ids for s in texts), f"{name}: AutoTokenizer encodes as tokenizer.json")
    if r1_template is not None:
        check(tok.chat_template == r1_template, f"{name}: the R1 chat template")
        for system in ["You are helpful.", ""] if tok.chat_template else []:
            msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": "What is 2+3?\nThink."}]
            hf = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
            hf = hf["input_ids"] if hasattr(hf, "keys") else hf
            ms = json.loads(tool("msample", "-Z", "-q", "--model", d, "--max-tokens", "1", "--threads", "1", "--system", system,
                                 stdin=json.dumps({"problem": "What is 2+3?\nThink."}) + "\n"))["prompt_ids"]
            check(hf == ms, f"{name}: apply_chat_template = msample r1 prompt (system {system!r})")
    # greedy decoding: transformers (fp32) = msample --temperature 0 (fp32)
    m32 = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32)
    r = greedy(d, 24, extra=["--dtype", "fp32"])
    hf, msgs = hf_greedy(m32, r["prompt_ids"], 24)
    check(hf == r["completion_ids"] and not msgs, f"{name}: greedy generate = msample --temperature 0 ({r['finish']}) {'' if hf == r['completion_ids'] else (hf, r['completion_ids'])}{msgs or ''}")
    # save_pretrained round trip
    out = d.rstrip("/") + ".resaved"
    shutil.rmtree(out, ignore_errors=True)
    _, m4 = quiet(lambda: (model.save_pretrained(out), tok.save_pretrained(out)))
    (model2, info2), m5 = quiet(lambda: AutoModelForCausalLM.from_pretrained(out, output_loading_info=True))
    tok2 = AutoTokenizer.from_pretrained(out)
    sd2 = model2.state_dict()
    check(sd.keys() == sd2.keys() and all(torch.equal(sd[k], sd2[k]) for k in sd) and model2.dtype == model.dtype
          and all(tok(s)["input_ids"] == tok2(s)["input_ids"] for s in texts) and tok2.chat_template == tok.chat_template
          and not m4 + m5, f"{name}: save_pretrained round trip {m4 + m5 or ''}")
    r2 = greedy(out, 24)
    check(r2["prompt_ids"] == greedy(d, 24)["prompt_ids"] and r2["completion_ids"] == greedy(d, 24)["completion_ids"], f"{name}: msample greedy on the re-saved directory unchanged")
    shutil.rmtree(out)
    return model

def rollouts(model, n=4, tokens=12, template="plain"):
    probs = "".join(json.dumps({"id": f"q{i}", "problem": f"What is {i}+{i}?"}) + "\n" for i in (1, 2))
    out = tool("msample", "-Z", "-q", "--model", model, "-n", str(n), "--max-tokens", str(tokens), "--threads", "1",
               "--seed", "7", "--template", template, "--system", "", stdin=probs)
    recs = [json.loads(l) for l in out.splitlines()]
    for r in recs: r["reward"] = float(sum(r["completion_ids"]) % 3)
    return "".join(json.dumps(r) + "\n" for r in recs)

def train_and_check(model, run, r1_template=None, tokenizer=True):
    data = rollouts(model)
    tool("mgrpo", "-Z", "-q", "--threads", "1", "--model", model, "--out", run, "--steps", "1", "--lr", "1e-3", "--policy-every", "1", stdin=data)
    tool("mgrpo", "-Z", "-q", "--threads", "1", "--out", run, "--steps", "1", "--lr", "1e-3", "--loss", "sft", "--keep", "1", "--policy-every", "1", stdin=data)
    for link, target in [("latest", "step-000002"), ("policy", "policy-000002")]:
        p = os.path.join(run, link)
        check(os.path.islink(p) and os.readlink(p) == target and os.path.isdir(p), f"{run}/{link} -> {target} resolves")
    st = json.load(open(os.path.join(run, "latest", "trainer_state.json")))
    check(st["step"] == 2, f"{run}: trainer_state.json step 2")
    check_dir(os.path.join(run, "latest"), run + "/latest", r1_template, tokenizer)
    check_dir(os.path.join(run, "policy"), run + "/policy", r1_template, tokenizer)

def mrl_to_hf(w):
    models = [("byte-f32", ["tiny", "--seed", "1"]), ("byte-bf16-tied", ["tiny", "--dtype", "bf16", "--tie", "yes", "--seed", "2"]),
              ("small-bf16", ["small", "--dtype", "bf16", "--seed", "5", "--bias-std", "0.02"])]
    have_qwen = os.path.exists(os.path.join(SHARED_TOK, "tokenizer.json.zst"))
    if have_qwen:
        lone = os.path.join(w, "lone"); os.makedirs(lone, exist_ok=True)
        shutil.copy(os.path.join(SHARED_TOK, "tokenizer.json.zst"), lone)
        models += [("qwen-f32-tied", ["tiny", "--tokenizer", os.path.join(SHARED_TOK, "tokenizer.json.zst"), "--tie", "yes", "--seed", "3"]),
                   ("qwen-bf16-tied-lone", ["tiny", "--dtype", "bf16", "--tokenizer", os.path.join(lone, "tokenizer.json.zst"), "--tie", "yes", "--seed", "4"])]
    else:
        print(f"skip the real Qwen2 tokenizer: {SHARED_TOK} missing")
    r1 = json.load(open(os.path.join(SHARED_TOK, "tokenizer_config.json")))["chat_template"] if have_qwen else None
    for name, args in models:
        d = os.path.join(w, name)
        tool("minit", *args, "-q", "-o", d)
        if r1 is None: r1 = json.load(open(os.path.join(d, "tokenizer_config.json")))["chat_template"]
        check_dir(d, name, r1)
        train_and_check(d, os.path.join(w, "run-" + name), r1)
    # a model trained (sft) to end with EOS: both sides stop there
    d = os.path.join(w, "byte-f32")
    r = json.loads(rollouts(d, 1).splitlines()[0])
    r["completion_ids"] = [72, 105, 33, 256]; r.pop("logprobs", None)
    sft = "".join(json.dumps(dict(r, id=f"g{i}", sample=s)) + "\n" for i in range(30) for s in (0, 1))
    run = os.path.join(w, "run-eos")
    tool("mgrpo", "-Z", "-q", "--threads", "1", "--model", d, "--out", run, "--loss", "sft", "--lr", "1e-2", "--groups", "1", stdin=sft)
    g = greedy(os.path.join(run, "latest"), 10, problem="What is 1+1?")
    m = AutoModelForCausalLM.from_pretrained(os.path.join(run, "latest"))
    hf, msgs = hf_greedy(m, g["prompt_ids"], 10)
    check(g["finish"] == "stop" and g["completion_ids"][-1] == 256 and hf == g["completion_ids"],
          f"EOS: msample stops ({g['finish']}, {g['completion_ids']}) where generate does ({hf})")

def hf_to_mrl(w):
    tok = AutoTokenizer.from_pretrained(os.path.join(w, "byte-f32"))
    g = torch.Generator().manual_seed(0)
    cases = [("hf-f32", torch.float32, False, None), ("hf-f32-tied", torch.float32, True, None),
             ("hf-bf16-shard", torch.bfloat16, False, "20KB"), ("hf-bf16-tied-shard", torch.bfloat16, True, "20KB"),
             ("hf-f16", torch.float16, False, None), ("hf-f32-shard", torch.float32, True, "100KB")]
    for name, dtype, tie, shard in cases:
        d = os.path.join(w, name)
        cfg = Qwen2Config(vocab_size=263, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                          num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=tie,
                          bos_token_id=259, eos_token_id=256, initializer_range=0.2)
        m = Qwen2ForCausalLM(cfg)
        with torch.no_grad():   # non-trivial norms and biases, so that both are exercised
            for n, p in m.named_parameters():
                if n.endswith("bias") or "norm" in n: p.copy_(torch.randn(p.shape, generator=g) * 0.1 + (1.0 if "norm" in n else 0.0))
        m = m.to(dtype)
        m.save_pretrained(d, **({"max_shard_size": shard} if shard else {}))
        tok.save_pretrained(d)
        score(d, name)
        train_and_check(d, os.path.join(w, "run-" + name), tok.chat_template)
    # minit --tokenizer from a directory transformers saved (the template in chat_template.jinja)
    tool("minit", "tiny", "-q", "--tokenizer", os.path.join(w, "hf-f32", "tokenizer.json"), "-o", os.path.join(w, "minit-hftok"))
    check_dir(os.path.join(w, "minit-hftok"), "minit --tokenizer hf-f32/tokenizer.json", tok.chat_template)
    # a tied checkpoint that stores lm_head.weight anyway (some do): transformers ignores it
    d = os.path.join(w, "hf-tied-extra")
    shutil.copytree(os.path.join(w, "hf-f32-tied"), d)
    t = load_file(os.path.join(d, "model.safetensors")); t["lm_head.weight"] = t["model.embed_tokens.weight"].clone()
    save_file(t, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    score(d, "hf-tied-extra")

def score(d, name):
    recs = rollouts(d, 3, 20)
    sc = [json.loads(l) for l in tool("msample", "-Z", "-q", "--model", d, "--score", "--threads", "1", "--dtype", "fp32", stdin=recs).splitlines()]
    m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32)
    worst = 0.0
    for r in sc:
        ids = torch.tensor([r["prompt_ids"] + r["completion_ids"]])
        with torch.no_grad(): lp = m(ids).logits[0].log_softmax(-1)
        P = len(r["prompt_ids"])
        worst = max(worst, max(abs(lp[P - 1 + i, t].item() - x) for i, (t, x) in enumerate(zip(r["completion_ids"], r["logprobs"]))))
    check(worst < 1e-4, f"{name}: msample --score = transformers log-probs (max |diff| {worst:.2e}, {len(sc)} records)")

if __name__ == "__main__":
    keep = len(sys.argv) > 1
    w = os.path.abspath(sys.argv[1]) if keep else tempfile.mkdtemp(prefix="hf-roundtrip-")
    os.makedirs(w, exist_ok=True)
    try:
        mrl_to_hf(w)
        hf_to_mrl(w)
    finally:
        if not keep: shutil.rmtree(w, ignore_errors=True)
    print(f"{len(fails)} failed" if fails else "all ok")
    sys.exit(1 if fails else 0)
