#!/usr/bin/env python3
"""lighteval_diff.py — dev script: a differential of mreward --lighteval's extraction
(libcore/lighteval.c) against Math-Verify 0.5.2's, as lighteval calls it, on random hostile
completions (numbers, expressions, LaTeX environments, boxes and answer sentences mixed).
Needs `pip install math-verify==0.5.2` and the driver tests/ref/lighteval_drv.c built
against the library, e.g. from the repo root after `make CUDA=0`:

    cc -O1 -std=c11 -D_GNU_SOURCE -Ilibcore tests/ref/lighteval_drv.c build/libmrl.a \
       -fopenmp -lzstd -lpcre2-8 -ljq -lonig -lutf8proc -lopenblas -lm -lpthread -o /tmp/lv_drv
    LV_DRV=/tmp/lv_drv python3 tests/ref/lighteval_diff.py SEED N

Prints the counts per kind (agree, value_diff: both read a different value, c_unparsed: mrl's
string is nothing Math-Verify parses, c_only / mv_only: one side read nothing, fallback_diff)
and writes the differences to /tmp/lighteval-diff-SEED.jsonl."""
import json, logging, random, subprocess, sys, warnings, os
warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
from math_verify import parse, verify
from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig
from latex2sympy2_extended.latex2sympy2 import normalize_latex
import math_verify.parser as mp

PRED_CFG = [ExprExtractionConfig(), LatexExtractionConfig(boxed_match_priority=0)]
NCFG = LatexExtractionConfig().normalization_config

# record the match that MV extracted (span + pattern kind)
_last = {}
_orig = mp.extract_match
def _em(match, target_type, timeout_seconds):
    r = _orig(match, target_type, timeout_seconds)
    _last.setdefault("tried", []).append((match.span(), type(target_type).__name__[:4], r[0] is not None, match.re.pattern[:20]))
    return r
mp.extract_match = _em

def mv(text):
    _last.clear()
    P = parse(text, extraction_config=PRED_CFG, fallback_mode="first_match", extraction_mode="any_match")
    return P, list(_last.get("tried", []))

NUMS = ["5", "-3", "12", "007", "0", "1,234", "12,345,678", "1 234", "3.5", "3,5", ".5", "-0.25",
        "5%", "5 %", "5 percent", "5 percentage", "5pct", "$5", "€12", "£1,000", "¥3.5", "100m2",
        "1,23", "1,2345", "12.", "0.5", "00.5", "-007", "1e5", "2²", "٣", "１２", "½", "1,000,00"]
EXPRS = ["2+3", "(2+3)*4", "2^10", "2 × 3", "6 ÷ 2", "3/4", "-(2+3)", "2(3)", "1.2.3", "2**3",
         "1/2 + 1/3", "(1+2", "3)", "2^-1", "2 ^ 2 ^ 3", "10 - 4 - 1", "4/0", "07+1", "00+1",
         "(-5)", "-5*-5", "1+\n2", "3 -", "2//3", "1 2 + 3", ".5+.5", "5.+1"]
LATEX = ["x = 5", "\\frac{1}{2}", "\\sqrt{2}", "\\pi", "5\\%", "a, b", "1, 2", "\\text{abc}",
         "x^2 + 1", "\\frac{3}{4}", "-\\frac{1}{2}", "2\\sqrt{3}", "\\infty", "(1, 2)", "[0, 1]",
         "\\{1, 2\\}", "10^{\\circ}", "5 \\text{ cm}", "x", "", " ", "\\dfrac{5}{6}", "\\$5",
         "3.14", "1,000", "\\frac12", "\\alpha+", "\\left( 1 \\right)", "y = 2x + 1", "k=n+1",
         "\\boxed{7}", "2 \\times 3", "\\frac{\\sqrt{3}}{2}", "a=1, b=2", "12 \\text{ apples}"]

def box(c, rng):
    k = rng.randrange(12)
    if k == 0: return "\\boxed{" + c + "}"
    if k == 1: return "\\boxed{\\boxed{" + c + "}}"
    if k == 2: return "\\boxed{" + c  # unclosed
    if k == 3: return "\\fbox{" + c + "}"
    if k == 4: return "\\boxed " + c
    if k == 5: return "\\boxed {" + c + "}"
    if k == 6: return "\\boxed{" + c + "} and \\boxed{" + rng.choice(NUMS) + "}"
    if k == 7: return "\\boxed{" + c + "}, \\boxed{" + rng.choice(LATEX) + "}"
    if k == 8: return "\\boxed{" + c + "} is \\boxed{" + rng.choice(NUMS) + "}"
    if k == 9: return "\\boxed{{" + c + "}}"
    if k == 10: return "\\boxed{" + c + "}}"
    return "\\boxed{" + c + "}" if os.environ.get("CLEAN") else "\\boxed{\\text{" + c + "}}"

def env(c, rng):
    k = rng.randrange(9)
    return [lambda: "$" + c + "$", lambda: "$$" + c + "$$", lambda: "\\[" + c + "\\]",
            lambda: "\\(" + c + "\\)", lambda: " [" + c + "] ", lambda: "$ " + c + " $",
            lambda: "\\[\n" + c + "\n\\]", lambda: "$" + c + "$ and $" + rng.choice(LATEX) + "$",
            lambda: "$" + c + "$, $" + rng.choice(NUMS) + "$ or $" + rng.choice(LATEX) + "$"][k]()

WORDS = ["So", "the", "answer", "is", "The final answer is", "final answer is", "Answer:", "answer:",
         "I hope it is correct", "I hope", "=", "x =", "Therefore", "**Final Answer**", "ANSWER",
         "the final answer to this question is", "answer is", "we get", "</think>", "thus", ".",
         ",", ":", "**", "(", ")", "and", "or", "Hmm", "wait", "percent", "%", "=", "==", "≥"]

def atom(rng):
    k = rng.randrange(10)
    if k < 2: return rng.choice(NUMS)
    if k < 4: return rng.choice(EXPRS)
    if k < 5: return rng.choice(WORDS)
    if k < 7: return env(rng.choice(LATEX + NUMS + EXPRS), rng)
    if k < 8: return box(rng.choice(LATEX + NUMS + EXPRS), rng)
    if k < 9: return env(box(rng.choice(LATEX + NUMS), rng), rng)
    return rng.choice(WORDS)

SEPS = [" ", " ", " ", "", "\n", "\n\n", ". ", ", ", " = ", "**", " is "]

TEMPL = ["So the final answer is {a}. I hope it is correct.", "Therefore, the final answer is: {a}. I hope it is correct",
         "The answer is {a}.", "Answer: {a}", "answer: x = {a}", "**Final Answer**\n{a}", "{a}", "We get {a} and then",
         "The final answer for the question is {a}", "final answer: {a} = {b}", "answer {b} = {a}"]

WS = [" ", "\t", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2009", "\u3000", "\u2028", ""]
ANS = ["answer", "Answer", "ANSWER", "AnSwEr", "final answer", "Final Answer", "FINAL ANSWER is", "final answer is", "answers", "ſ", "\u212a"]
def gen_re(rng):
    parts = []
    for _ in range(rng.randint(1, 7)):
        k = rng.randrange(6)
        if k == 0: parts.append(rng.choice(ANS) + rng.choice([":", "", " is", ": is", " =", "**:"]))
        elif k == 1: parts.append(rng.choice(WS) * rng.randint(1, 3))
        elif k == 2: parts.append("x" * rng.choice([0, 1, 30, 45, 49, 50, 51, 60, 95, 99, 100, 101, 120]))
        elif k == 3: parts.append(atom(rng))
        elif k == 4: parts.append(rng.choice(["=", " = ", "I hope", ". I hope", ".I hope", "  I hope", "\nI hope", "**", "$", "\\$", ",", "."]))
        else: parts.append(rng.choice(NUMS + EXPRS))
    return "".join(parts)

def gen(rng):
    if os.environ.get("RE") and rng.random() < 0.7: return gen_re(rng)
    k = rng.randrange(3)
    if k == 0:
        return rng.choice(SEPS).join(atom(rng) for _ in range(rng.randint(1, 8)))
    a = atom(rng); b = atom(rng)
    t = rng.choice(TEMPL).format(a=a, b=b)
    if k == 2:
        t = " ".join(atom(rng) for _ in range(rng.randint(0, 4))) + rng.choice(SEPS) + t
    return t

def c_extract(texts, drv=os.environ.get("LV_DRV", "/tmp/lv_drv")):
    data = b"".join(t.encode() + b"\0" for t in texts)
    out = subprocess.run([drv], input=data, capture_output=True, check=True).stdout
    res = []
    for r in out.split(b"\0")[:-1]:
        res.append(r[1:].decode() if r[:1] == b"1" else None)
    return res

def cvalues(c):
    """The C string's values as Math-Verify reads it (LaTeX, else expression)."""
    vals = []
    for cfg, t in (([LatexExtractionConfig()], "$$" + c + "$$"), ([ExprExtractionConfig()], c),
                   ([LatexExtractionConfig()], "$$" + c.replace("\n", " ") + "$$")):
        try:
            P = parse(t, extraction_config=cfg, fallback_mode="no_fallback")
        except Exception:
            P = []
        if P: vals.append(P[0])
    return vals

def same(m, v):
    try:
        if str(v) == str(m): return True
        return bool(verify(m, v, precision=5)) and bool(verify(v, m, precision=5))
    except Exception:
        return False

def compare(text, P, c):
    if not P:
        return "agree" if c is None else "c_only"
    if c is None:
        return "mv_only"
    m = P[0]
    if isinstance(m, str):
        if c == m: return "agree"
        try:
            if normalize_latex(c, NCFG) == m: return "agree"
        except Exception: pass
        return "fallback_diff"
    if str(m) == c: return "agree"
    vs = cvalues(c)
    if any(same(m, v) for v in vs): return "agree"
    # several environments: MV's FiniteSet against the C's ", "-joined parts
    from latex2sympy2_extended.sets import FiniteSet
    if isinstance(m, FiniteSet) and ", " in c:
        parts = [cvalues(p) for p in c.split(", ")]
        if all(parts):
            got = set()
            for p in parts:
                v = p[0]
                got |= set(map(str, v.args)) if isinstance(v, FiniteSet) else {str(v)}
            if got == set(map(str, m.args)): return "agree"
    if not vs: return "c_unparsed"
    return "value_diff"

BAD = {"12.", "2 ^ 2 ^ 3", "2 × 3", "2^-1", "5 percent", "5 percentage", "6 ÷ 2"}
if os.environ.get("CLEAN"):
    NUMS[:] = [x for x in NUMS if x not in BAD]
    EXPRS[:] = [x for x in EXPRS if x not in BAD]
    LATEX[:] = [x for x in LATEX if x not in BAD]

def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    rng = random.Random(seed)
    texts = [gen(rng) for _ in range(n)]
    extra = os.environ.get("EXTRA")
    if extra: texts += [json.loads(l) for l in open(extra)]
    cs = c_extract(texts)
    counts = {}
    out = open(f"/tmp/lighteval-diff-{seed}.jsonl", "w")
    for t, c in zip(texts, cs):
        P, tried = mv(t)
        v = compare(t, P, c)
        counts[v] = counts.get(v, 0) + 1
        if v != "agree":
            out.write(json.dumps({"kind": v, "text": t, "mv": [str(x) for x in P], "c": c,
                                  "mvparsed": bool(P) and not isinstance(P[0], str),
                                  "tried": tried[:4]}, ensure_ascii=False) + "\n")
    print(json.dumps(counts), "of", len(texts))

if __name__ == "__main__":
    main()
