#!/usr/bin/env python3
"""sampler_ref.py — the distributions Hugging Face transformers samples from, for
tests/unit/test_sampler.c (`hf_warpers`): for random rows of logits and settings of
temperature, top-k, top-p and min-p, the probabilities after transformers' own logits
warpers, chained in the order generate() builds them (temperature, top-k, top-p, min-p),
then softmax.

    python3 tests/ref/sampler_ref.py > testdata/msample/sampler-hf.jsonl

Each line: {"logits": [...], "temperature", "top_k", "top_p", "min_p", "probs": [...]}.
Rows are float32 (as the model's logits). Rows where the answer is not well defined are
left out: a top-p cut through tied probabilities (torch.sort orders ties arbitrarily) or
within 1e-5 of the cumulative mass 1 - top_p, or a probability within 1e-5 (relative) of
min-p's threshold (float32 and double sums may fall either side). Ties at top-k are made on purpose (half the top-k rows have one across the k-th place):
every token tied with the k-th stays.
Needs torch and transformers (dev only)."""
import json
import random

import numpy as np
import torch
from transformers.generation.logits_process import (MinPLogitsWarper, TemperatureLogitsWarper,
                                                    TopKLogitsWarper, TopPLogitsWarper)


def hf_probs(logits, t, k, p, mp):
    scores = torch.tensor([logits], dtype=torch.float32)
    ids = torch.zeros((1, 1), dtype=torch.long)
    warpers = []
    if t != 1.0:
        warpers.append(TemperatureLogitsWarper(t))
    if k:
        warpers.append(TopKLogitsWarper(k))
    if p < 1.0:
        warpers.append(TopPLogitsWarper(p))
    if mp > 0:
        warpers.append(MinPLogitsWarper(mp))
    for w in warpers:
        scores = w(ids, scores)
    return torch.softmax(scores, dim=-1)[0].double().tolist()


def ambiguous(logits, t, k, p, mp):
    """A top-p or min-p cut that float32 rounding or tie order could move."""
    x = torch.tensor(logits, dtype=torch.float64) / t
    pr = torch.softmax(x, dim=0)
    if mp > 0:
        thr = mp * pr.max().item()
        if any(abs(q - thr) <= 1e-5 * thr for q in pr.tolist()):
            return True
    if p >= 1.0:
        return False
    order = sorted(range(len(logits)), key=lambda i: -pr[i].item())
    kept = order
    if k:
        kth = pr[order[k - 1]].item()
        kept = [i for i in order if pr[i].item() >= kth]
    z = sum(pr[i].item() for i in kept)
    cum = 0.0
    for r, i in enumerate(kept):
        cum += pr[i].item() / z
        if abs(cum - p) < 1e-5:
            return True
        if cum >= p:   # the cut falls after rank r: ambiguous if the next is tied with this one
            return r + 1 < len(kept) and pr[kept[r + 1]].item() == pr[i].item()
    return False


def main():
    rng = random.Random(13)
    settings = [(1.0, 0, 1.0, 0.0), (0.6, 0, 1.0, 0.0), (1.0, 5, 1.0, 0.0), (1.0, 1, 1.0, 0.0),
                (1.0, 0, 0.9, 0.0), (0.7, 0, 0.95, 0.0), (1.0, 0, 0.3, 0.0), (1.0, 0, 1.0, 0.1),
                (1.3, 0, 1.0, 0.05), (0.6, 20, 0.95, 0.0), (1.0, 8, 0.8, 0.05), (0.8, 3, 0.5, 0.2),
                (1.0, 0, 0.001, 0.0), (1.0, 0, 1.0, 0.9), (2.0, 40, 0.99, 0.01)]
    rows = 0
    while rows < 200:
        V = rng.choice([7, 16, 50, 97])
        scale = rng.choice([0.5, 2.0, 6.0])
        logits = [float(torch.tensor(rng.gauss(0, scale), dtype=torch.float32)) for _ in range(V)]
        if rng.random() < 0.3:   # ties: a few tokens share a logit (identical lm_head rows)
            v = rng.choice(logits)
            for i in rng.sample(range(V), min(V, rng.randint(2, 5))):
                logits[i] = v
        t, k, p, mp = rng.choice(settings)
        if k >= V:
            k = V - 1
        if k and rng.random() < 0.5:   # a tie across the k-th place: all of it stays
            v = sorted(logits, reverse=True)[k - 1]
            below = [i for i in range(V) if logits[i] < v]
            for i in rng.sample(below, min(len(below), rng.randint(1, 4))):
                logits[i] = v
        if ambiguous(logits, t, k, p, mp):
            continue
        probs = hf_probs(logits, t, k, p, mp)
        # logits in float32's shortest form (the values the C side parses back exactly),
        # probabilities to 12 digits (the test compares to 1e-6)
        print(json.dumps({"logits": [float(str(np.float32(v))) for v in logits], "temperature": t, "top_k": k,
                          "top_p": p, "min_p": mp, "probs": [float("%.12g" % q) for q in probs]}))
        rows += 1


if __name__ == "__main__":
    main()
