#!/usr/bin/env python3
"""model_ref.py — the independent reference for the Qwen2 model (dev script, not run by make).

Builds tiny random Qwen2 models with Hugging Face transformers' Qwen2ForCausalLM (GQA, random
nonzero biases and norm weights, one tied and one untied LM head, a vocabulary larger than
one 4096-entry chunk of the C vocab split, a packed batch longer than one 256-row block),
saves them (safetensors, fp32) to testdata/models/<name>/ and dumps, for a few packed
sequences, into testdata/models/<name>/ref.safetensors:
  tokens, targets, cu_seqlens (I32)    the packed batch; targets[t] = tokens[t+1] or -1
  lw (F32 [T])                         loss weights w_t (0 where no target)
  logp_t1, logp_t07 (F32 [T])          per-token log p(target) at temperature 1 and 0.7
  logits_pos (I32 [P]), logits (F32 [P, V])   full logits of some positions
  temperature (F32 [1]), loss (F32 [1])       loss = sum_t w_t * logp_t at that temperature
  grad.<param name> (F32)              d loss / d param, every parameter
Everything is computed in float64 from the saved float32 weights (so the reference carries no
float32 rounding of its own: PyTorch's float32 forward differs from it by up to ~3e-4 per
gradient element) and stored as float32.
Usage: python3 tests/ref/model_ref.py [OUTDIR]   (default testdata/models)
"""
import json, os, sys
import torch
from safetensors.torch import save_file
from transformers import Qwen2Config, Qwen2ForCausalLM

MODELS = {
    # name: config overrides, temperature for the gradient, sequence lengths
    "tiny-untied": (dict(hidden_size=16, num_attention_heads=4, num_key_value_heads=2,
                         intermediate_size=40, num_hidden_layers=2, vocab_size=4100,
                         tie_word_embeddings=False, rope_theta=10000.0), 1.0, [150, 90, 61]),
    "tiny-tied": (dict(hidden_size=16, num_attention_heads=2, num_key_value_heads=1,
                       intermediate_size=24, num_hidden_layers=3, vocab_size=4150,
                       tie_word_embeddings=True, rope_theta=1000000.0), 0.7, [40, 1, 23]),
}


def build(name, over, temp, lens, outdir):
    torch.manual_seed(sum(map(ord, name)))
    cfg = Qwen2Config(max_position_embeddings=512, rms_norm_eps=1e-6, bos_token_id=1,
                      eos_token_id=2, torch_dtype="float32", attn_implementation="eager",
                      use_sliding_window=False, **over)
    model = Qwen2ForCausalLM(cfg).float()
    with torch.no_grad():   # random, nonzero everything (HF zero-inits biases, ones for norms)
        for n, p in model.named_parameters():
            if n.endswith("norm.weight") or "layernorm" in n:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif n.endswith("bias"):
                p.copy_(0.3 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / (p.shape[-1] ** 0.5) * (3.0 if "embed" in n else 1.0))
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True)
    model = model.double()   # the reference values are computed in float64, stored as float32
    # transformers >= 5 writes rope_parameters/dtype; real checkpoints (and config_load) use the
    # top-level rope_theta/torch_dtype of transformers 4: write both.
    cp = os.path.join(d, "config.json")
    cj = json.load(open(cp))
    cj["rope_theta"] = cfg.rope_parameters["rope_theta"] if hasattr(cfg, "rope_parameters") else cfg.rope_theta
    cj["torch_dtype"] = "float32"
    json.dump(cj, open(cp, "w"), indent=2, sort_keys=True)
    model.eval()

    V = cfg.vocab_size
    g = torch.Generator().manual_seed(7)
    seqs = [torch.randint(0, V, (n,), generator=g) for n in lens]
    seqs[0][-1] = V - 1            # the last vocabulary entry is reachable
    tokens = torch.cat(seqs)
    T = tokens.numel()
    targets = torch.full((T,), -1, dtype=torch.int64)
    cu = [0]
    for s in seqs:
        o = cu[-1]
        targets[o:o + len(s) - 1] = s[1:]
        cu.append(o + len(s))
    targets[cu[1] - 5] = -1       # a hole inside a sequence (loss mask)
    lw = torch.where(targets >= 0, torch.rand(T, generator=g) + 0.5, torch.zeros(T)).float().double()

    def logp_of(logits, temp):
        lp = torch.log_softmax(logits / temp, dim=-1)
        out = torch.zeros(T, dtype=torch.float64)
        m = targets >= 0
        out[m] = lp[m, targets[m]]
        return out

    def packed_logits():
        # each sequence on its own (positions restart at 0), concatenated: the packed batch
        return torch.cat([model(input_ids=s[None], position_ids=torch.arange(len(s))[None]).logits[0]
                          for s in seqs])

    with torch.no_grad():
        logits = packed_logits()
    pos = torch.tensor([0, 1, cu[1] - 1, cu[1], T - 1], dtype=torch.int64)
    model.zero_grad()
    lg = packed_logits()
    logp_t = logp_of(lg, temp)
    loss = (lw * logp_t).sum()
    loss.backward()

    out = {
        "tokens": tokens.int(), "targets": targets.int(), "cu_seqlens": torch.tensor(cu).int(),
        "lw": lw.float(),
        "logp_t1": logp_of(logits, 1.0).float(), "logp_t07": logp_of(logits, 0.7).float(),
        "logits_pos": pos.int(), "logits": logits[pos].float().contiguous(),
        "temperature": torch.tensor([temp]), "loss": torch.tensor([loss.item()]),
    }
    for n, p in model.named_parameters():
        out["grad." + n] = p.grad.detach().float().contiguous()
    save_file(out, os.path.join(d, "ref.safetensors"))
    print(f"{name}: T={T} loss={loss.item():.6f} -> {d}")


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "testdata/models"
    for name, (over, temp, lens) in MODELS.items():
        build(name, over, temp, lens, outdir)


if __name__ == "__main__":
    main()
