#!/usr/bin/env python3
"""lighteval_extract.py — dev script: whole completions (not bare answers) scored the way the
Open-RS study's evaluation scored them, for tests/unit/test_answer.c to check
`mreward --lighteval` against.

The study ran lighteval (OPEN-RS.md §2.1): predictions parsed by Math-Verify with
(ExprExtractionConfig(), LatexExtractionConfig(boxed_match_priority=0)),
fallback_mode="first_match", extraction_mode="any_match"; the gold with
ExprExtractionConfig() for AIME24 and AMC23, LatexExtractionConfig() for the others;
verify(gold, pred, precision=5). Installed math-verify must be 0.5.2,
the study's pin: `pip install math-verify==0.5.2`.

The completions are synthetic: reasoning with numbers and LaTeX in it, then one of many
endings (a box, two boxes, a final sentence after a box, "the answer is 12", a bare final
number, text cut off mid-sentence, percentages, thousands separators, ...), built from the
benchmarks' gold answers, right or wrong. Each output record: gold, gold_kind (expr |
latex), completion, ending (the ending's name), mv_pred (str of Math-Verify's first
extraction, "" when none), mv_correct (bool).

Usage: python3 tests/ref/lighteval_extract.py [--bench ../shared/data/bench]
           [-o testdata/answers/lighteval-completions.jsonl] [--seed 5] [--per-bench 120]
(three completions, with three different endings, per problem)
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mathverify_pairs import ROUNDING, near_miss, strip_dollars  # noqa: E402  (also silences warnings)
from math_verify import parse, verify  # noqa: E402
from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig  # noqa: E402

PRED_CFG = [ExprExtractionConfig(), LatexExtractionConfig(boxed_match_priority=0)]
EXPR_BENCHES = ("aime24", "amc23")

REASONING = [
    "Okay, so I need to figure this out. Let me start with the numbers: 12 and 7 give 84 when multiplied.",
    "First, $2 + 3 = 5$, and then $5 \\times 4 = 20$. Hmm, wait, that is not what was asked.",
    "Let me denote the unknown by $x$. Then $3x + 2 = 17$, so $x = 5$. But maybe I misread.",
    "I recall that $\\frac{1}{2} + \\frac{1}{3} = \\frac{5}{6}$. Let me double-check: 3/6 + 2/6 = 5/6.",
    "So the area is \\[ \\pi r^2 = 16\\pi \\] and the perimeter is 8 pi.",
    "Trying small cases: n = 1 gives 3, n = 2 gives 7, n = 3 gives 13.",
    "That means 40% of them, which is 0.4 of 250, is 100.",
    "The sum is 1,234 plus 66, which is 1,300.",
    "Alternatively, the answer: maybe 9? No, let me recompute.",
]
CUT = ["so we get 3 + 4 = 7 and then the next term is", "Therefore the value of $y$ is",
       "which gives us 2^10 = 1024, and dividing by", "Hmm, so the total must be 45",
       "Let me compute $\\sqrt{49} = 7$"]


def ending(kind, g, w, rng):
    """The last part of a completion: g is the gold's LaTeX, w a wrong answer."""
    s = strip_dollars(g)
    if kind == "boxed":
        return f"</think>\nTherefore, the final answer is: $\\boxed{{{s}}}$. I hope it is correct"
    if kind == "boxed_wrong":
        return f"</think>\nTherefore, the final answer is: $\\boxed{{{w}}}$. I hope it is correct"
    if kind == "boxed_plain":
        return f"</think>\n\nThe answer is \\boxed{{{s}}}."
    if kind == "two_boxes":
        return f"Maybe $\\boxed{{{w}}}$? No.\n</think>\nSo the answer is $\\boxed{{{s}}}$."
    if kind == "two_boxes_rev":
        return f"First guess: $\\boxed{{{s}}}$.\n</think>\nActually it is $\\boxed{{{w}}}$."
    if kind == "box_then_final":
        return f"So $\\boxed{{{w}}}$.\n</think>\nTherefore, the final answer is: ${s}$. I hope it is correct"
    if kind == "boxed_and":
        return f"</think>\nThe solutions are $\\boxed{{{s}}}$ and $\\boxed{{{w}}}$."
    if kind == "answer_is_dollar":
        return f"</think>\nSo the answer is ${s}$."
    if kind == "answer_is_plain":
        return f"</think>\nSo the answer is {s}."
    if kind == "final_answer_bold":
        return f"</think>\n\n**Final Answer**\n\\[ {s} \\]"
    if kind == "final_is":
        return f"My final answer for this question is {s}"
    if kind == "answer_colon":
        return f"Answer: {s}"
    if kind == "equals_end":
        return f"Putting it together, x = {s}"
    if kind == "bare_end":
        return f"and that leaves {s}"
    if kind == "display_end":
        return f"Hence\n\\[\n{s}\n\\]"
    if kind == "inline_end":
        return f"The result is ${s}$"
    if kind == "cut":
        return rng.choice(CUT)
    if kind == "percent":
        return f"So the answer is {rng.randint(1, 99)}%."
    if kind == "thousands":
        return f"So the answer is {rng.randint(1, 9)},{rng.randint(100, 999)}."
    if kind == "boxed_text":
        return f"</think>\nSo $\\boxed{{{s}}}$ is it, or in words \\boxed{{\\text{{see above}}}}"
    if kind == "fraction_end":
        return f"which simplifies to \\frac{{{rng.randint(1, 9)}}}{{{rng.randint(2, 9)}}}"
    raise ValueError(kind)


KINDS = ["boxed", "boxed_wrong", "boxed_plain", "two_boxes", "two_boxes_rev", "box_then_final",
         "boxed_and", "answer_is_dollar", "answer_is_plain", "final_answer_bold", "final_is",
         "answer_colon", "equals_end", "bare_end", "display_end", "inline_end", "cut", "percent",
         "thousands", "boxed_text", "fraction_end"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="../shared/data/bench")
    ap.add_argument("-o", default="testdata/answers/lighteval-completions.jsonl")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--per-bench", type=int, default=120)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    rows = []
    for bench in ("aime24", "amc23", "math500", "minerva_math", "olympiadbench"):
        recs = [json.loads(l) for l in open(os.path.join(a.bench, bench + ".jsonl"))]
        recs = [r for r in recs if r.get("answer")]
        rng.shuffle(recs)
        for r, kind in ((r, k) for r in recs[: a.per_bench] for k in rng.sample(KINDS, 3)):
            g = r["answer"]
            w = strip_dollars(near_miss(g, rng))
            text = " ".join(rng.sample(REASONING, rng.randint(1, 4))) + "\n" + ending(kind, g, w, rng)
            gk = "expr" if bench in EXPR_BENCHES else "latex"
            gcfg = [ExprExtractionConfig()] if gk == "expr" else [LatexExtractionConfig()]
            gtext = g if gk == "expr" else "$" + strip_dollars(g) + "$"
            G = parse(gtext, extraction_config=gcfg, fallback_mode="first_match", extraction_mode="any_match")
            P = parse(text, extraction_config=PRED_CFG, fallback_mode="first_match", extraction_mode="any_match")
            try:
                ok = bool(verify(G, P, **{ROUNDING: 5}))
            except Exception:
                ok = False
            rows.append({"gold": g, "gold_kind": gk, "completion": text, "ending": kind,
                         "mv_pred": str(P[0]) if P else "", "mv_correct": ok})
    with open(a.o, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    n = len(rows)
    print(f"{n} completions, {sum(r['mv_correct'] for r in rows)} correct by Math-Verify", file=sys.stderr)


if __name__ == "__main__":
    main()
