#!/usr/bin/env python3
"""rewards_ref.py — dev script: writes testdata/rewards/rollouts.jsonl and the values
the open-rs / open-r1 Python reward functions give for it (expected.jsonl), and the same
for the edge cases (edge-rollouts.jsonl, edge-expected.jsonl: empty, at and past max_len,
CRLF and trailing text for the strict regex, two think blocks, tags in code, a completion
cut off, astral characters and combining marks, Unicode white space).

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

# Edge cases, written to edge-rollouts.jsonl / edge-expected.jsonl (same rewards, same row
# layout) so that the cases above, which other tests count on, stay as they are.
EDGE_GROUPS = [
    # Lengths against cosine max_len=50: an empty completion (L = 0), exactly
    # max_len characters (50), twice max_len (100: the unclamped cosine wraps back to hi).
    ("g4", "$\\boxed{3}$", [
        ("", 0),
        ("x" * 41 + "\\boxed{3}", 50),
        ("y" * 91 + "\\boxed{3}", 100),
    ]),
    # The strict regex (re.match, DOTALL|MULTILINE, `$` before any "\n" only): CRLF line ends,
    # a trailing newline after </answer>, a trailing space after it.
    ("g5", "\\boxed{3}", [
        ("<think>\r\na\r\n</think>\r\n<answer>\r\n\\boxed{3}\r\n</answer>", 20),
        ("<think>\na\n</think>\n<answer>\n\\boxed{3}\n</answer>\n", 20),
        ("<think>\na\n</think>\n<answer>\n\\boxed{3}\n</answer> ", 20),
    ]),
    # Two think blocks (strict matches across them, the counts say twice), tags inside a code
    # fence, a record cut off by the length limit (finish "length": no closing tag, no box).
    ("g6", "\\boxed{3}", [
        ("<think>\na\n</think>\n<think>\nb\n</think>\n<answer>\n\\boxed{3}\n</answer>", 30),
        ("```\n<think>\n</think>\n```\n\\boxed{3}", 30),
        ("<think>\nLet me compute 1 + 2 step by step, so the answer is", 40),
    ]),
    # Unicode: astral code points (one character each, two UTF-16 units, four bytes),
    # combining marks, non-ASCII white space that str.split() splits on, upper case.
    ("g7", "\\boxed{3}", [
        ("\U0001F600" * 20 + "\n</think>\n\\boxed{3}", 25),
        ("e\u0301" * 15 + "\n</think>\n\\boxed{4}", 25),
        ("Ab\u3000ab\u00a0AB\u2003ab ab\u2029AB ab \\boxed{3}", 25),
    ]),
]

def write(groups, rollouts, expected):
    with open(f"{OUT}/{rollouts}", "w") as fr, open(f"{OUT}/{expected}", "w") as fe:
        for gid, gold, samples in groups:
            texts = [t for t, _ in samples]
            lens = len_reward(texts, [gold] * len(texts))
            for i, (t, ntok) in enumerate(samples):
                fr.write(json.dumps({"id": gid, "sample": i, "answer": gold, "completion": t,
                                     "completion_ids": list(range(100, 100 + ntok))}, ensure_ascii=False) + "\n")
                row = [accuracy(t, gold), fmt(t), fmt_strict(t), tags(t), tags_up(t),
                       cosine(t, gold, max_len=50), cosine(t, gold, max_len=50, clamp=True),
                       repetition(t), lens[i], overlong(ntok)]
                fe.write(json.dumps(row) + "\n")

def main():
    os.makedirs(OUT, exist_ok=True)
    write(GROUPS, "rollouts.jsonl", "expected.jsonl")
    write(EDGE_GROUPS, "edge-rollouts.jsonl", "edge-expected.jsonl")

if __name__ == "__main__":
    main()
