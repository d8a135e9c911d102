#!/usr/bin/env python3
"""meval_ref.py — dev script: writes testdata/rewards/evalset.jsonl (rewarded rollouts of
two benchmarks, 4 samples per problem) and meval_expected.jsonl, the per-bench numbers
computed here independently of meval: pass@1 (mean per-problem accuracy), maj@k (votes by
exact pred string, ties to the answer seen first; the preds are canonical so this equals
equivalence voting), unbiased pass@k (Chen et al. with math.comb), mean length in tokens,
truncated fraction, format rate. Run from the repo root: python3 tests/ref/meval_ref.py
"""
import json, random
from math import comb
from collections import Counter

OUT = "testdata/rewards"

def pass_at_k(n, c, k):
    return 1.0 if n - c < k else 1.0 - comb(n - c, k) / comb(n, k)

def main():
    rng = random.Random(7)
    rows = []
    for bench, nprob in (("aime24", 9), ("amc23", 12)):
        for p in range(nprob):
            gold = str(rng.randint(1, 99))
            skill = rng.random()
            for s in range(4):
                r = rng.random()
                if r < skill: pred = gold
                elif r < skill + 0.15: pred = None
                else: pred = str(rng.choice([int(gold) + 1, int(gold) + 2]))
                rows.append({"id": f"{bench}-{p}", "bench": bench, "sample": s, "answer": gold,
                             "completion_ids": list(range(rng.randint(5, 60))),
                             "finish": "length" if pred is None else "stop",
                             "pred": pred, "correct": pred == gold,
                             "rewards": {"accuracy": float(pred == gold), "format": float(rng.random() < 0.8)}})
    rng.shuffle(rows)   # meval groups by id itself; problems need not be contiguous
    with open(f"{OUT}/evalset.jsonl", "w") as f:
        for r in rows: f.write(json.dumps(r) + "\n")
    with open(f"{OUT}/meval_expected.jsonl", "w") as f:
        for bench in ("aime24", "amc23"):
            rs = [r for r in rows if r["bench"] == bench]
            probs = {}
            for r in sorted(rs, key=lambda r: r["sample"]): probs.setdefault(r["id"], []).append(r)
            P = len(probs)
            acc = [sum(x["correct"] for x in v) / len(v) for v in probs.values()]
            maj = 0
            for v in probs.values():
                votes = Counter(x["pred"] for x in v if x["pred"] is not None)
                if votes:
                    best = max(votes.values())
                    first = next(x for x in v if x["pred"] is not None and votes[x["pred"]] == best)
                    maj += first["correct"]
                else:   # no answer to vote on: solved only if every sample counts correct
                    maj += all(x["correct"] for x in v)
            pk = {str(k): sum(pass_at_k(4, sum(x["correct"] for x in v), k) for v in probs.values()) / P
                  for k in (1, 2, 4)}
            f.write(json.dumps({"bench": bench, "problems": P, "k": 4, "pass@1": sum(acc) / P,
                                "maj@k": maj / P, "pass@k": pk,
                                "len_mean": sum(len(r["completion_ids"]) for r in rs) / len(rs),
                                "truncated_frac": sum(r["finish"] == "length" for r in rs) / len(rs),
                                "format_rate": sum(r["rewards"]["format"] > 0 for r in rs) / len(rs)}) + "\n")

if __name__ == "__main__":
    main()
