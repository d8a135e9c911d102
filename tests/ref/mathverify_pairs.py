#!/usr/bin/env python3
"""mathverify_pairs.py — builds (gold, prediction) pairs from the benchmark gold answers
and scores them with Math-Verify as open-rs calls it; writes the fixture that
tests/unit/test_answer.c checks mrl's answer checker against.

Dev script (needs `pip install math-verify`); the fixture is committed, `make test` never
runs this. Usage:
    python3 tests/ref/mathverify_pairs.py [--bench ../shared/data/bench] \
        [-o testdata/answers/mathverify-pairs.jsonl] [--seed 11] [--per-bench 200]

Settings (OPEN-RS.md §4): gold parsed with LatexExtractionConfig() (first_match); the
completion "... $\\boxed{PRED}$." parsed with LatexExtractionConfig(normalization
nits=False, malformed_operators=False, basic_latex, equations, boxed="all", units,
boxed_match_priority=0, try_extract_without_anchor=False); verify(answer, gold,
float_rounding=6 (0.5.2's precision=6), strict=True, timeout_seconds=3) — answer first,
as open-rs calls it. The committed fixture was written by math-verify 0.9.0 (with
latex2sympy2_extended 1.11.0), which gives it back byte for byte; open-rs pinned 0.5.2,
which the other Math-Verify scripts here need: there 15 verdicts and 19 predictions (the
"equivalent" ones latex2sympy rewrites) come out otherwise. Keep 0.9.0 in a venv:
    python3 -m venv /tmp/mv09 && /tmp/mv09/bin/pip install math-verify==0.9.0

Each output record: gold, pred, class (same | reformatted | equivalent | near-miss |
wrong | crafted), mathverify (bool, open-rs order), mathverify_gold_first (bool),
gold_parsed (bool: Math-Verify found something in the gold; open-rs scores an unparsed
gold 1), pred_parsed (bool: Math-Verify turned the prediction into a math object, not
only a string — where it did not, its False is an extraction failure, not a verdict)."""
import argparse
import glob
import inspect
import json
import logging
import os
import random
import re
import sys

logging.disable(logging.WARNING)
import warnings  # noqa: E402

warnings.filterwarnings("ignore")

from math_verify import parse, verify  # noqa: E402
from math_verify.parser import LatexExtractionConfig, NormalizationConfig  # noqa: E402

GOLD_CFG = [LatexExtractionConfig()]
# 0.5.2 names verify's rounding precision, later versions float_rounding; the other name is a
# TypeError, which mv() below would take for a False verdict on every pair
ROUNDING = "float_rounding" if "float_rounding" in inspect.signature(verify).parameters else "precision"
PRED_CFG = [LatexExtractionConfig(
    normalization_config=NormalizationConfig(nits=False, malformed_operators=False, basic_latex=True,
                                             equations=True, boxed="all", units=True),
    boxed_match_priority=0, try_extract_without_anchor=False)]


def gold_text(g):
    return g if ("$" in g or "\\boxed" in g) else "$" + g + "$"


def completion(p):
    return "Let me think step by step.\n</think>\nTherefore, the final answer is: $\\boxed{" + p + "}$. I hope it is correct"


def mv(gold, pred):
    G = parse(gold_text(gold), extraction_mode="first_match", extraction_config=GOLD_CFG)
    P = parse(completion(pred), extraction_mode="first_match", extraction_config=PRED_CFG)
    try:
        a = bool(verify(P, G, **{ROUNDING: 6}, strict=True, timeout_seconds=3))
    except Exception:
        a = False
    try:
        b = bool(verify(G, P, **{ROUNDING: 6}, strict=True, timeout_seconds=3))
    except Exception:
        b = False
    return a, b, len(G) > 0, any(not isinstance(x, str) for x in P)


INT_RE = re.compile(r"^-?\d+$")
FRAC_RE = re.compile(r"^(-?)\\frac\{(\d+)\}\{(\d+)\}$")
DEC_RE = re.compile(r"^-?\d*\.\d+$")
SCI_RE = re.compile(r"^(-?\d+(?:\.\d+)?)e(-?\d+)$")


def strip_dollars(g):
    g = g.strip()
    if g.count("$") == 2 and g.startswith("$") and g.endswith("$"):
        return g[1:-1]
    return g


def reformat(g, rng):
    """Same answer, other spelling."""
    s = strip_dollars(g)
    opts = []
    opts.append(" " + s.replace(",", ", ") + " ")
    if "\\frac" in s:
        opts.append(s.replace("\\frac", "\\dfrac"))
    if "(" in s and "\\left" not in s:
        opts.append(s.replace("(", "\\left(").replace(")", "\\right)"))
    if "\\left" in s:
        opts.append(s.replace("\\left", "").replace("\\right", ""))
    if not re.search(r"[=<>,]|\\[lg]e|\\in|\\cup", s):
        opts.append("x = " + s)
    opts.append(s + ".")
    if INT_RE.match(s):
        n = int(s)
        opts.append(f"{n:,}" if abs(n) >= 1000 else s + "\\text{ units}")
        opts.append("\\text{" + s + "}")
        opts.append(s + "^\\circ")
        opts.append("\\$" + s)
    m = FRAC_RE.match(s)
    if m:
        opts.append(f"{m.group(1)}{m.group(2)}/{m.group(3)}")
        opts.append(f"{m.group(1)}\\tfrac{{{m.group(2)}}}{{{m.group(3)}}}")
    if "\\sqrt{" in s:
        opts.append(re.sub(r"\\sqrt\{(\d)\}", r"\\sqrt\1", s))
    if "^{\\circ}" in s or "^\\circ" in s:
        opts.append(s.replace("^{\\circ}", "").replace("^\\circ", ""))
    return rng.choice(opts)


def equivalent(g, rng):
    """Another form of the same value (arithmetic, order, sympy)."""
    s = strip_dollars(g)
    m = SCI_RE.match(s)
    if m:
        return f"{m.group(1)} \\times 10^{{{m.group(2)}}}"
    if INT_RE.match(s):
        n = int(s)
        c = rng.choice(["dec", "frac", "sum", "pow"])
        if c == "dec":
            return f"{n}.0"
        if c == "frac":
            return f"\\frac{{{2 * n}}}{{2}}"
        if c == "sum":
            return f"{n - 1} + 1"
        return f"{n}^{{1}}"
    m = FRAC_RE.match(s)
    if m:
        a, b = int(m.group(2)), int(m.group(3))
        sign = m.group(1)
        v = a / b
        c = rng.choice(["dec", "scale", "neg"])
        if c == "dec" and b and len(repr(v)) < 12:
            return sign + repr(v)
        if c == "dec":
            return sign + f"{v:.6f}"
        if c == "scale":
            return f"{sign}\\frac{{{3 * a}}}{{{3 * b}}}"
        return f"\\frac{{{'' if sign else '-'}{a}}}{{{'-' if not sign else ''}{b}}}" if sign == "" else f"-\\frac{{{a}}}{{{b}}}"
    if DEC_RE.match(s):
        from fractions import Fraction
        f = Fraction(s)
        return f"\\frac{{{f.numerator}}}{{{f.denominator}}}"
    # lists: reorder
    if "," in s and s.count("(") == 0 and "\\{" not in s:
        parts = [p.strip() for p in s.split(",")]
        rng.shuffle(parts)
        return ", ".join(parts)
    try:
        from latex2sympy2_extended import latex2sympy
        import sympy
        e = latex2sympy(s)
        if isinstance(e, sympy.Expr):
            c = rng.choice(["expand", "factor", "simplify", "nsimplify"])
            if c == "expand":
                t = sympy.expand(e)
            elif c == "factor":
                t = sympy.factor(e)
            elif c == "simplify":
                t = sympy.simplify(e)
            else:
                t = e if e.free_symbols else sympy.N(e, 12)
            return sympy.latex(t)
    except Exception:
        pass
    return reformat(g, rng)


def near_miss(g, rng):
    """A small change that makes it wrong (usually)."""
    s = strip_dollars(g)
    c = rng.random()
    if INT_RE.match(s):
        n = int(s)
        return str(rng.choice([n + 1, n - 1, -n if n else 1, n * 10, n + 2]))
    m = FRAC_RE.match(s)
    if m:
        a, b = int(m.group(2)), int(m.group(3))
        return rng.choice([f"\\frac{{{b}}}{{{a}}}", f"\\frac{{{a + 1}}}{{{b}}}", f"{m.group(1) and '' or '-'}\\frac{{{a}}}{{{b}}}", f"{a / b:.3f}"])
    if "[" in s or "]" in s or ("(" in s and ")" in s and c < 0.3):
        t = s.replace("[", "(", 1) if "[" in s else s.replace("(", "[", 1)
        if t != s:
            return t
    if "\\sqrt" in s and c < 0.5:
        return s.replace("\\sqrt", "", 1)
    if "\\pi" in s and c < 0.6:
        return s.replace("\\pi", "", 1) or "1"
    digits = [i for i, ch in enumerate(s) if ch.isdigit()]
    if digits:
        i = rng.choice(digits)
        d = str((int(s[i]) + rng.randint(1, 8)) % 10)
        return s[:i] + d + s[i + 1:]
    if "+" in s:
        return s.replace("+", "-", 1)
    if "-" in s:
        return s.replace("-", "+", 1)
    letters = [i for i, ch in enumerate(s) if ch.isalpha() and (i == 0 or s[i - 1] != "\\")]
    if letters:
        i = rng.choice(letters)
        return s[:i] + ("y" if s[i] != "y" else "z") + s[i + 1:]
    return s + "+1"


CRAFTED = [
    # (gold, pred) covering the answer classes mrl claims; verdicts come from Math-Verify
    ("\\frac{1}{2}", "0.5"), ("\\frac{1}{3}", "0.333333"), ("\\frac{1}{3}", "0.33"),
    ("50\\%", "0.5"), ("50", "50\\%"), ("25\\%", "\\frac{1}{4}"), ("12\\%", "12"),
    ("1,000,000", "1000000"), ("1000000", "10^6"), ("3.5\\times 10^{4}", "35000"),
    ("2\\frac{1}{2}", "\\frac{5}{2}"), ("2\\frac{1}{2}", "2.5"),
    ("x^2+2x+1", "(x+1)^2"), ("x^2-1", "(x-1)(x+1)"), ("x^2-1", "(x-1)^2"),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}"), ("\\sqrt{12}", "2\\sqrt{3}"),
    ("\\sqrt{12}", "3\\sqrt{2}"), ("2\\pi", "\\pi \\cdot 2"), ("\\pi r^2", "r^2\\pi"),
    ("e^{2}", "e\\cdot e"), ("\\ln 8", "3\\ln 2"), ("\\log_2 8", "3"), ("\\sin^2 x+\\cos^2 x", "1"),
    ("\\sin 2x", "2\\sin x\\cos x"), ("\\tan x", "\\frac{\\sin x}{\\cos x}"), ("\\cos 2x", "1-2\\sin^2 x"),
    ("\\frac{2}{x}", "2x^{-1}"), ("ab", "ba"), ("2xy", "2yx"), ("a+b", "a-b"),
    ("(1,2)", "(1,2)"), ("(1,2)", "(2,1)"), ("(1,2,3)", "(1, 2, 3)"), ("(1,2,3)", "(3,2,1)"),
    ("\\{1,2,3\\}", "\\{3,2,1\\}"), ("\\{1,2,3\\}", "\\{1,2\\}"), ("1,2,3", "3,2,1"), ("1,2,3", "1,2"),
    ("[1,2]", "[1,2]"), ("[1,2]", "(1,2)"), ("[1,2)", "[1, 2)"), ("(0,\\infty)", "(0, \\infty)"),
    ("(-\\infty,0)\\cup(1,\\infty)", "(1,\\infty)\\cup(-\\infty,0)"), ("(-\\infty,0]\\cup[1,\\infty)", "(-\\infty,0)\\cup(1,\\infty)"),
    ("[-1,1]", "-1\\le x\\le 1"), ("x>1", "1<x"), ("x\\ge 1", "x>1"), ("x \\leq 3", "x\\le3"),
    ("y=2x+3", "y=3+2x"), ("y=2x+3", "2x+3"), ("y=2x+3", "y-2x=3"), ("x=5", "5"), ("5", "x=5"),
    ("x^2+y^2=1", "y^2+x^2=1"), ("x^2+y^2=1", "x^2+y^2=2"),
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}"),
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}"),
    ("\\begin{pmatrix}1/2\\\\0\\end{pmatrix}", "\\begin{pmatrix}0.5\\\\0\\end{pmatrix}"),
    ("\\text{(B)}", "B"), ("\\text{(B)}", "(B)"), ("\\text{(B)}", "C"), ("B", "\\textbf{(B)}"),
    ("10\\text{ cm}", "10"), ("10", "10\\text{ cm}^2"), ("5\\text{ inches}", "5 inches"),
    ("90^\\circ", "90"), ("90", "90^{\\circ}"), ("\\$18.90", "18.90"), ("18.90", "18.9"),
    ("\\text{even}", "\\text{even}"), ("\\text{even}", "\\text{odd}"), ("\\text{Devon}", "Devon"),
    ("3+2i", "2i+3"), ("3+2i", "3-2i"), ("\\frac{1+i}{2}", "\\frac12+\\frac{i}{2}"),
    ("-\\frac{1}{2}", "\\frac{-1}{2}"), ("-\\frac{1}{2}", "-0.5"), ("\\frac{-1}{2}", "\\frac{1}{-2}"),
    ("\\infty", "\\infty"), ("-\\infty", "\\infty"), ("0", "-0"), ("1.5", "\\frac{3}{2}"),
    ("\\dfrac{9}{4}", "2.25"), ("2.25", "2.250"), ("0.1", "0.10000001"), ("0.1", "0.1001"),
    ("\\binom{5}{2}", "10"), ("5!", "120"), ("\\sqrt[3]{8}", "2"), ("\\sqrt[3]{2}", "2^{1/3}"),
    ("|x|", "\\sqrt{x^2}"), ("\\frac{a}{b}", "a/b"), ("\\frac{a}{b}", "b/a"),
    ("2^{10}", "1024"), ("2^{100}", "1267650600228229401496703205376"), ("2^{100}", "2^{101}"),
    ("\\pm 2", "\\pm2"), ("1\\pm\\sqrt{2}", "1\\pm\\sqrt2"), ("x=1,y=2", "x=1, y=2"),
    ("(3,-1)", "\\left(3,-1\\right)"), ("\\left(3, \\frac{\\pi}{2}\\right)", "(3,\\pi/2)"),
    ("\\frac{\\pi}{3}", "60^\\circ"), ("\\frac{\\pi}{3}", "1.0472"), ("\\frac{\\pi}{3}", "1.047198"),
    ("\\sqrt{2}/2", "\\frac{1}{\\sqrt{2}}"), ("\\frac{1}{\\sqrt{2}}", "0.707107"),
    ("4.4e7", "4.4\\times10^7"), ("4.4e7", "44000000"), ("1.325e-27", "1.33e-27"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="../shared/data/bench")
    ap.add_argument("-o", default="testdata/answers/mathverify-pairs.jsonl")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--per-bench", type=int, default=200)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    golds = []
    for f in sorted(glob.glob(os.path.join(a.bench, "*.jsonl"))):
        rows = [json.loads(l) for l in open(f)]
        rng.shuffle(rows)
        golds += [r["answer"] for r in rows[: a.per_bench] if r.get("answer")]
    allg = list(golds)
    pairs = []
    for g in golds:
        pairs.append((g, strip_dollars(g), "same"))
        pairs.append((g, reformat(g, rng), "reformatted"))
        pairs.append((g, equivalent(g, rng), "equivalent"))
        pairs.append((g, near_miss(g, rng), "near-miss"))
        if rng.random() < 0.5:
            pairs.append((g, strip_dollars(rng.choice(allg)), "wrong"))
    pairs += [(g, p, "crafted") for g, p in CRAFTED]
    os.makedirs(os.path.dirname(a.o) or ".", exist_ok=True)
    n = 0
    with open(a.o, "w") as out:
        for g, p, c in pairs:
            r1, r2, gp, pp = mv(g, p)
            out.write(json.dumps({"gold": g, "pred": p, "class": c, "mathverify": r1,
                                  "mathverify_gold_first": r2, "gold_parsed": gp,
                                  "pred_parsed": pp}) + "\n")
            n += 1
    print(f"{n} pairs -> {a.o}", file=sys.stderr)


if __name__ == "__main__":
    main()
