#!/usr/bin/env python3
"""tok_hf.py TOKENIZER.json[.zst] TEXTFILE — Hugging Face `tokenizers` on the same documents as
tok_bench (one per line, no special tokens added): one core (encode in a loop) and encode_batch.
Prints JSON lines in tok_bench's shape. Dev/bench only."""
import json, subprocess, sys, time

from tokenizers import Tokenizer

raw = open(sys.argv[1], "rb").read()
if raw[:4] == b"\x28\xb5\x2f\xfd":   # zstd frame
    raw = subprocess.run(["zstd", "-dc", sys.argv[1]], check=True, capture_output=True).stdout
t0 = time.perf_counter()
tok = Tokenizer.from_str(raw.decode("utf-8"))
load = time.perf_counter() - t0
docs = open(sys.argv[2], encoding="utf-8", newline="").read().split("\n")
if docs and docs[-1] == "":
    docs.pop()
nbytes = sum(len(d.encode()) for d in docs)
budget = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0


def run(name, fn):
    tokens = passes = 0
    t0 = time.perf_counter()
    while True:
        tokens += fn()
        passes += 1
        el = time.perf_counter() - t0
        if el >= budget:
            break
    print(json.dumps({"impl": name, "docs": len(docs), "passes": passes, "bytes": nbytes * passes,
                      "tokens": tokens, "seconds": round(el, 3), "tokens_per_s": round(tokens / el),
                      "mb_per_s": round(nbytes * passes / el / 1e6, 2), "load_s": round(load, 3)}))


run("hf-encode", lambda: sum(len(tok.encode(d, add_special_tokens=False).ids) for d in docs))
run("hf-encode_batch", lambda: sum(len(e.ids) for e in tok.encode_batch(docs, add_special_tokens=False)))
