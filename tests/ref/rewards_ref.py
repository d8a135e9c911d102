#!/usr/bin/env python3
"""rewards_ref.py — dev script: writes testdata/rewards/rollouts.jsonl and the values
the open-rs / open-r1 Python reward functions give for it (expected.jsonl).

The functions below are the open-rs (knoveleng/open-rs src/open_r1/rewards.py) and
open-r1 definitions as OPEN-RS.md §4 gives them, with Math-Verify for correctness.
Run from the repo root:  python3 tests/ref/rewards_ref.py
Each expected row: [accuracy, format, format_strict, tags, tags_upstream, cosine,
cosine_clamped, repetition, length, overlong] for the mreward call in tests/cli/mreward.t.
Golds carry \\boxed{} as open-rs's `solution` does: Math-Verify's LaTeX-only gold parse
finds nothing in a bare "42" and open-rs then scores every sample 1.0.
  --reward accuracy --reward format --reward format:strict,as=strict --reward tags
  --reward tags:upstream,as=tags_up --reward cosine:max_len=50 --reward cosine:max_len=50,clamp=1,as=cos_clamp
  --reward repetition --reward length --reward overlong:max_len=40,cache=10
"""
import json, math, re, os
from math_verify import parse, verify, LatexExtractionConfig
from math_verify.parser import NormalizationConfig

OUT = "testdata/rewards"

def gold_parse(sol):
    return parse(sol, extraction_mode="first_match", extraction_config=[LatexExtractionConfig()])

def answer_parse(content, boxed="all"):
    return parse(content, extraction_mode="first_match", extraction_config=[LatexExtractionConfig(
        normalization_config=NormalizationConfig(nits=False, malformed_operators=False, basic_latex=True,
                                                 equations=True, boxed=boxed, units=True),
        boxed_match_priority=0, try_extract_without_anchor=False)])

def accuracy(content, sol):              # open-rs accuracy_reward
    g = gold_parse(sol)
    if len(g) == 0:
        return 1.0
    try:
        return float(verify(answer_parse(content), g))
    except Exception:
        return 0.0

def fmt(content):                        # open-rs format_reward
    return 1.0 if content.count("\n</think>\n") == 1 else 0.0

def fmt_strict(content):                 # upstream open-r1 format_reward
    return 1.0 if re.match(r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$", content, re.DOTALL | re.MULTILINE) else 0.0

def tags(text):                          # open-rs tag_count_reward
    c = 0.0
    if text.count("<think>\n") == 1: c += 0.5
    if text.count("\n</think>\n") == 1: c += 0.5
    return c

def tags_up(text):                       # upstream tag_count_reward
    c = 0.0
    if text.count("<think>\n") == 1: c += 0.25
    if text.count("\n</think>\n") == 1: c += 0.25
    if text.count("\n<answer>\n") == 1: c += 0.25
    if text.count("\n</answer>") == 1: c += 0.25
    return c

def cosine(content, sol, min_wrong=0.0, max_wrong=-0.5, min_correct=0.5, max_correct=1.0, max_len=1000, clamp=False):
    g = gold_parse(sol)
    if len(g) == 0:
        return 1.0
    is_correct = verify(answer_parse(content, boxed=True), g)
    gen_len = len(content)
    if clamp: gen_len = min(gen_len, max_len)
    progress = gen_len / max_len
    c = math.cos(progress * math.pi)
    if is_correct:
        lo, hi = min_correct, max_correct
    else:
        lo, hi = max_wrong, min_wrong
    return float(lo + 0.5 * (hi - lo) * (1.0 + c))

def repetition(completion, ngram_size=3, max_penalty=-1.0):
    def zipngram(text, n):
        words = text.lower().split()
        return zip(*[words[i:] for i in range(n)])
    if completion == "": return 0.0
    if len(completion.split()) < ngram_size: return 0.0
    ngrams, total = set(), 0
    for ng in zipngram(completion, ngram_size):
        ngrams.add(ng); total += 1
    return (1 - len(ngrams) / total) * max_penalty

def len_reward(contents, sols):          # open-r1 len_reward (Kimi 1.5) over one group
    correctness = []
    for content, sol in zip(contents, sols):
        g = gold_parse(sol)
        if len(g) == 0:
            correctness.append(True); continue
        correctness.append(verify(answer_parse(content, boxed=True), g))
    lengths = [len(c) for c in contents]
    lo, hi = min(lengths), max(lengths)
    if hi == lo: return [0.0] * len(contents)
    out = []
    for L, ok in zip(lengths, correctness):
        lam = 0.5 - (L - lo) / (hi - lo)
        out.append(float(lam if ok else min(0, lam)))
    return out

def overlong(n, max_len=40, cache=10):   # open-r1 soft_overlong_punishment
    if n <= max_len - cache: return 0.0
    if n <= max_len: return (max_len - cache - n) / cache
    return -1.0

GROUPS = [
    ("g1", "So it is $\\boxed{42}$.", [
        ("Let me think.\n</think>\nThe answer is \\boxed{42}.", 5),
        ("<think>\nhmm hmm hmm hmm hmm hmm\n</think>\n\\boxed{41}", 35),
        ("We add the numbers one by one and keep the running total carefully so nothing is lost; "
         "after all of that the total is \\boxed{42}", 38),
    ]),
    ("g2", "\\boxed{\\frac{1}{2}}", [
        ("<think>\nx\n</think>\n<answer>\n\\boxed{\\frac{1}{2}}\n</answer>", 20),
        ("\u00e9" * 30 + "\n</think>\n\\boxed{0.5}", 45),
        ("the the the the the the so \\boxed{2}", 31),
    ]),
    ("g3", "}{", [
        ("\\boxed{3}\n</think>\n", 12),
        ("no idea", 40),
        ("<think>\nshort\n</think>\nmaybe \\boxed{7}", 41),
    ]),
]

def main():
    os.makedirs(OUT, exist_ok=True)
    with open(f"{OUT}/rollouts.jsonl", "w") as fr, open(f"{OUT}/expected.jsonl", "w") as fe:
        for gid, gold, samples in GROUPS:
            texts = [t for t, _ in samples]
            lens = len_reward(texts, [gold] * len(texts))
            for i, (t, ntok) in enumerate(samples):
                fr.write(json.dumps({"id": gid, "sample": i, "answer": gold, "completion": t,
                                     "completion_ids": list(range(100, 100 + ntok))}, ensure_ascii=False) + "\n")
                row = [accuracy(t, gold), fmt(t), fmt_strict(t), tags(t), tags_up(t),
                       cosine(t, gold, max_len=50), cosine(t, gold, max_len=50, clamp=True),
                       repetition(t), lens[i], overlong(ntok)]
                fe.write(json.dumps(row) + "\n")

if __name__ == "__main__":
    main()
