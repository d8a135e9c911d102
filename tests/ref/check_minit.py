#!/usr/bin/env python3
"""check_minit.py DIR... — dev check that a `minit` directory is a real Hugging Face model:
transformers loads it with no missing/unexpected/re-initialised weights and the weights equal
the file, AutoTokenizer and `tokenizers` encode alike (BOS added, R1 specials kept whole),
and the chat template renders the R1 prompt. Needs torch, transformers, tokenizers."""
import json, os, sys
import torch
from safetensors import safe_open
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoTokenizer

BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
TEXTS = ["Hello world", "  two  spaces\r\nand CRLF", "x^2 + 3x = 12, 123456", "日本語 🙂 émoji",
         "<｜User｜>What is 1+1?<｜Assistant｜><think>\nok</think> \\boxed{2}" + EOS]

def check(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    model, info = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32, output_loading_info=True)
    bad = {k: v for k, v in info.items() if v}
    assert not bad, f"loading info not clean: {bad}"
    assert type(model).__name__ == "Qwen2ForCausalLM"
    sd = model.state_dict()
    n = 0
    with safe_open(os.path.join(d, "model.safetensors"), "pt") as f:
        names = set(f.keys())
        for k in names:
            t = f.get_tensor(k).float()
            assert sd[k].shape == t.shape, (k, sd[k].shape, t.shape)
            assert torch.equal(sd[k], t), f"{k} differs after loading"
            n += t.numel()
    expect = {k for k in sd if not (cfg["tie_word_embeddings"] and k == "lm_head.weight")}
    assert names == expect, (names ^ expect)
    nparams = sum(p.numel() for p in model.parameters())
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, 4, cfg["vocab_size"]) and torch.isfinite(logits).all()

    tok = AutoTokenizer.from_pretrained(d)
    raw = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    bos_id = tok.convert_tokens_to_ids(BOS)
    assert bos_id == cfg["bos_token_id"] and tok.eos_token == EOS and tok.convert_tokens_to_ids(EOS) == cfg["eos_token_id"]
    assert len(tok) <= cfg["vocab_size"], (len(tok), cfg["vocab_size"])
    for s in TEXTS:
        a = tok(s)["input_ids"]
        b = raw.encode(s).ids
        assert a == b, (s, a, b)
        assert a[0] == bos_id, (s, a)
        assert tok.decode(a, skip_special_tokens=True) == s.replace(EOS, ""), (s, tok.decode(a, skip_special_tokens=True))
        for sp in ["<｜User｜>", "<｜Assistant｜>", "<think>", "</think>"]:
            if sp in s:
                assert tok.convert_tokens_to_ids(sp) in a, (sp, a)
    prompt = tok.apply_chat_template([{"role": "user", "content": "2+2?"}], tokenize=False, add_generation_prompt=True)
    assert prompt == BOS + "<｜User｜>2+2?<｜Assistant｜><think>\n", repr(prompt)
    print(f"ok {d}: Qwen2ForCausalLM, {nparams} parameters ({n} stored), vocab {cfg['vocab_size']}, "
          f"tokenizer {len(tok)} tokens, {len(TEXTS)} texts encode alike")

if __name__ == "__main__":
    for d in sys.argv[1:] or sys.exit(__doc__):
        check(d)
