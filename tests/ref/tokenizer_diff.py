#!/usr/bin/env python3
"""tokenizer_diff.py — dev script (not run by `make test`): a randomized differential test of
`mtok` against Hugging Face `tokenizers` on the real Qwen2 (DeepSeek-R1-Distill) tokenizer.json.

  pip install tokenizers
  make CUDA=0 B=build-cpu BIN=bin-cpu bin-cpu/mtok      # or any build of mtok
  MTOK=bin-cpu/mtok python3 tests/ref/tokenizer_diff.py [-n 100000] [--seed 1] [--batch 4000]
        [--minimize 40] [--show 5] [--no-bytes]

From the repo root; the tokenizer is ../shared/data/qwen2-tokenizer/tokenizer.json.zst
(--tokenizer FILE for another). Generates N seeded random strings from a grammar of fragments
(ASCII words, punctuation, digit runs, whitespace runs of Unicode spaces, contractions, CJK,
Hangul (precomposed and conjoining jamo), Thai, Devanagari, Arabic, Latin with combining marks
in decomposed and precomposed forms, emoji with ZWJ/skin tones/flags/keycaps, LaTeX, code,
the file's added tokens and near misses, long words, repeats, controls, random code points,
characters of every general category, long mixed white-space runs, added tokens touching each
other, cut short or followed by combining marks)
and checks, with `mtok` run once per --batch strings (JSON Lines in and out):

  encode   mtok encode ids == HF encode(text, add_special_tokens=False).ids  (mtok adds no BOS)
  count    mtok count == len(mtok encode ids)                                (every 4th batch)
  decode   mtok decode(ids) == HF decode(ids, skip_special_tokens=False), and
           mtok decode --skip-special == HF decode(ids) (whose default skips special tokens)
  ids      random id lists (byte tokens that cut UTF-8, added tokens, padding ids past the
           vocabulary) decoded by both, as above
  bytes    (unless --no-bytes) byte strings with ill-formed UTF-8: `mtok encode -r --skip-bad`
           must refuse exactly the lines that Python's strict UTF-8 decoder refuses and encode
           the rest as HF does (byte order marks opening a line are dropped by mrl's line
           reader, so they are dropped from the expected text too); in JSON records libjq replaces ill-formed bytes with U+FFFD
           before mtok sees them, so there mtok's ids are checked against HF on the text mtok
           echoes back, and the lines where jq's replacement differs from Unicode's
           "maximal subpart" one (Python's errors="replace", Rust's from_utf8_lossy) are counted

With --codepoints, instead: one probe string per code point of planes 0-3 and 14 (about
325k strings: the code point between letters, after a space and a digit, doubled, between
combining marks of low and high class, after an apostrophe), which finds every code point
whose Unicode tables differ between the two (normalizer, regex classes).

With --strip, the added tokens get lstrip and/or rstrip (each then swallows the White_Space
beside it, as RoBERTa's <mask>). With --reveal, the same checks run on a derived tokenizer.json: the same normalizer,
pre-tokenizer regex and added tokens over a vocabulary of the 256 bytes and no merges, with
ByteLevel's add_prefix_space on, so the ids show where the regex cut the text (the merges of
the real vocabulary hide most differences in the regex's Unicode classes).

Mismatching strings are reduced (greedy deletion of character runs, candidates batched
through mtok) to a minimal string that still differs, printed with both id lists.
Exit status 0 when everything matched, 1 otherwise.
"""
import argparse, collections, json, os, random, subprocess, sys, tempfile, unicodedata

from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_cases import bytes_to_unicode  # GPT-2's byte-to-symbol map, one copy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QWEN = os.path.join(ROOT, "..", "shared", "data", "qwen2-tokenizer", "tokenizer.json.zst")


# ---------------------------------------------------------------- grammar

def rng_chr(r, lo, hi):
    return chr(r.randint(lo, hi))


WORDS = ("the of and to in is that for it as with was on be by this are or from at an which "
         "have not but all can we they one has more if their its also there been when will "
         "Hello World Python function return value integer triangle probability Suppose Find "
         "Let Compute answer solution therefore hence thus GPU token model").split()
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
UNI_PUNCT = list("¡¿«»‹›„“”‘’‚—–‒―…·•†‡‰′″‴※‼⁇⁈⁉、。，！？：；（）【】《》「」『』〈〉～・")
WS = [" ", " ", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\r", "\x0b", "\x0c", "\x85", "\u00a0",
      "\u1680", "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005", "\u2006", "\u2007",
      "\u2008", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
NOT_WS = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\x1c", "\x1d", "\x1e", "\x1f"]
CONTRACTIONS = ["s", "t", "re", "ve", "m", "ll", "d"]
DIGITS_OTHER = (list("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९０１２３４５６７８９๐๑๒๓") +
                list("²³¹⁰⁴⁵₀₁₂½⅓¼¾⅔①②③④⑩⑳ⅠⅡⅢⅣⅫⅰⅱ〇𝟎𝟏𝟐𝟙𝟡"))
COMBINING = [chr(c) for c in range(0x300, 0x370)] + ["\u0323", "\u0327", "\u0328", "\u031b", "\u0345",
                                                     "\u0483", "\u05b0", "\u0651", "\u064b", "\u093c",
                                                     "\u20d7", "\u1ab0", "\u1dc0", "\u302a", "\u3099"]
LATIN_BASE = list("aeiouyAEIOUYcnszgkhwxCNSZGKHWX")
PRECOMPOSED = ([chr(c) for c in range(0xc0, 0x250) if unicodedata.category(chr(c)).startswith("L")] +
               [chr(c) for c in range(0x1e00, 0x1f00)] + list("ΆΈΉΊΌΎΏάέήίόύώΐΰϊϋ") + list("ǅǈǋǲ"))
# singleton / excluded / ordering cases of NFC
NFC_ODD = ["\u212b", "\u2126", "\u212a", "\u0958", "\u0915\u093c", "\u0344", "\u0340", "\u0341",
           "\u0343", "\u0374", "\u037e", "\u0387", "\u1f71", "\u1fbb", "\u2000", "\u2001",
           "\u2329", "\u232a", "\uf900", "\uf9ff", "\ufa10", "\ufb1d", "\ufb2a", "\ufb4e",
           "\U0002f800", "\U0002fa1d", "e\u0301\u0323", "e\u0323\u0301", "a\u0308\u0301",
           "\u1100\u1161", "\u1100\u1161\u11a8", "\uac00\u11a8", "\u1112\u1175\u11ab",
           "\u0627\u0653", "\u0627\u0654", "\u0648\u0654", "\u09c7\u09be", "\u0b47\u0b3e",
           "\u0bc6\u0bbe", "\u0dd9\u0dcf", "\u1025\u102e", "\u00c5", "A\u030a", "\u1e9b\u0323",
           "\u0041\u0300\u0316", "\u0061\u0315\u0300\u05ae\u0300\u0062", "\u05d0\u05b4\u05b7"]
EMOJI = ([chr(c) for c in range(0x1f600, 0x1f650)] + [chr(c) for c in range(0x1f300, 0x1f3fb, 7)] +
         list("❤☺✅✨⭐☀⚡") + ["❤️", "☺️", "✌️"])
ZWJ = ["👩\u200d👩\u200d👧\u200d👦", "👨\u200d💻", "🏳️\u200d🌈", "👩🏽\u200d🔬", "🧑\u200d🤝\u200d🧑",
       "👁️\u200d🗨️", "🐻\u200d❄️", "❤️\u200d🔥"]
SKIN = [chr(c) for c in range(0x1f3fb, 0x1f400)]
LATEX = [r"\frac{1}{2}", r"\frac{a+b}{c}", r"\dfrac{\pi}{4}", r"\boxed{42}", r"\boxed{}", r"\boxed{\frac{3}{5}}",
         r"\sqrt{2}", r"\sqrt[3]{x}", r"x^{2}", r"a_{n+1}", r"\sum_{k=1}^{n}", r"\int_0^\infty", r"\left(", r"\right)",
         r"\cdot", r"\times", r"\le", r"\geq", r"\neq", r"\pi", r"\alpha", r"\mathbb{R}", r"\text{ cm}", r"\\",
         r"&=", r"\begin{align*}", r"\end{align*}", r"\{", r"\}", r"\,", r"\;", r"\!", "$", "$$", r"\(", r"\)",
         r"\[", r"\]", "^\\circ", r"\%", "\\binom{n}{k}", "\\overline{AB}", "\\angle ABC", "\\triangle"]
MATH_UNI = list("∑∫√∞≤≥≠≈±×÷∂∇∈∉⊂⊆∪∩∀∃¬∧∨⇒⇔→←↦∘⋅°′ℝℕℤℚℂπθλμσφωΔΣΩ") + ["𝐀", "𝑥", "𝔸", "ℏ"]
CODE = ["def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n",
        "if x != None and y >= 3:\n        print(f'{x!r}')", "#include <stdio.h>\n", "x = [1, 2, 3]  # list",
        "const char *s = \"\\n\";", "a->b; c::d; e => f; g |> h", "SELECT * FROM t WHERE id = 'x';",
        "<div class=\"a\">&amp;</div>", "    ", "\t\t", "}\n\n", "    }\n  }\n}", "i++;", "x+=1", "a&&b||!c",
        "0x1F", "1e-10", "3.14", "// comment", "/* c */", "```python\n", "```\n", "std::vector<int>", "#!/bin/sh\n"]
ADDED_NEAR = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think", "think>", "</think >", "< think>",
              "<｜User", "User｜>", "<|EOT|", "<|fim_prefix", "<｜", "｜>", "<|", "|>", "</", "<tool_call",
              "<｜begin▁of▁sentence", "▁", "｜", "<THINK>", "<<think>>", "<think><think>"]
REPEAT_UNITS = ["a", "A", "ab", "x", " ", "\n", "\t", "=", "-", "*", ".", "!", "0", "1", "9", "中", "😀", "é",
                "e\u0301", "\u0301", "'s", "ha", "\u00a0", "\u3000", "_", "#", "\\", "$", "ﬁ", "ー"]


def frag_word(r):
    if r.random() < 0.5:
        w = r.choice(WORDS)
    else:
        w = "".join(rng_chr(r, 97, 122) for _ in range(r.randint(1, 12)))
    k = r.random()
    return w.upper() if k < 0.1 else w.capitalize() if k < 0.3 else w


def frag_punct(r):
    if r.random() < 0.7:
        return "".join(r.choice(PUNCT) for _ in range(r.randint(1, 4)))
    return "".join(r.choice(UNI_PUNCT) for _ in range(r.randint(1, 3)))


def frag_digits(r):
    k = r.random()
    if k < 0.6:
        n = r.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 20, 31, 32, 33, 50, 64, 100, 257])
        return "".join(rng_chr(r, 48, 57) for _ in range(n))
    if k < 0.8:
        sep = r.choice([",", ".", "_", " ", "/", ":", "-", "e"])
        return sep.join("".join(rng_chr(r, 48, 57) for _ in range(r.randint(1, 4))) for _ in range(r.randint(2, 4)))
    return "".join(r.choice(DIGITS_OTHER + list("0123456789")) for _ in range(r.randint(1, 8)))


def frag_ws(r):
    return "".join(r.choice(WS + (NOT_WS if r.random() < 0.2 else [])) for _ in range(r.randint(1, 6)))


def frag_contraction(r):
    c = r.choice(CONTRACTIONS)
    c = "".join(ch.upper() if r.random() < 0.5 else ch for ch in c)
    ap = "'" if r.random() < 0.85 else r.choice(["’", "`", "ʼ"])
    k = r.random()
    if k < 0.05:
        c = r.choice(["ſ", "K", "ǆ", "ß", "İ", "ı", "ﬅ"]) + c[1:]   # case-fold look-alikes
    pre = r.choice(["", "", "I", "you", "it", "we", "O", "don", "x", "1", " ", "''", "'"])
    post = r.choice(["", "", "", " ", "s", "t", "x", "'", "\n", "."])
    return pre + ap + c + post


def frag_cjk(r):
    k = r.random()
    if k < 0.6:
        return "".join(rng_chr(r, 0x4e00, 0x9fa5) for _ in range(r.randint(1, 10)))
    if k < 0.8:
        return "".join(rng_chr(r, 0x3041, 0x30fa) for _ in range(r.randint(1, 8)))
    if k < 0.9:
        return "".join(rng_chr(r, 0xff01, 0xff5e) for _ in range(r.randint(1, 6)))   # fullwidth
    return "".join(rng_chr(r, 0x20000, 0x2a6d6) for _ in range(r.randint(1, 3)))     # ext B


def frag_hangul(r):
    if r.random() < 0.7:
        return "".join(rng_chr(r, 0xac00, 0xd7a3) for _ in range(r.randint(1, 8)))
    out = ""   # conjoining jamo: NFC composes L V (T) into a syllable
    for _ in range(r.randint(1, 4)):
        out += rng_chr(r, 0x1100, 0x1112) + rng_chr(r, 0x1161, 0x1175)
        if r.random() < 0.5:
            out += rng_chr(r, 0x11a8, 0x11c2)
    return out


def frag_script(r):
    lo, hi = r.choice([(0x0e01, 0x0e5b), (0x0900, 0x097f), (0x0600, 0x06ff), (0x0590, 0x05ea),
                       (0x0400, 0x04ff), (0x0370, 0x03ff), (0x0980, 0x09fe), (0x0b80, 0x0bfa),
                       (0x10a0, 0x10ff), (0x0e80, 0x0edf), (0x1780, 0x17f9)])
    return "".join(rng_chr(r, lo, hi) for _ in range(r.randint(1, 10)))


def frag_accent(r):
    k = r.random()
    if k < 0.35:
        return "".join(r.choice(PRECOMPOSED) for _ in range(r.randint(1, 6)))
    if k < 0.7:
        out = ""
        for _ in range(r.randint(1, 4)):
            out += r.choice(LATIN_BASE + PRECOMPOSED[:20]) + "".join(r.choice(COMBINING) for _ in range(r.randint(0, 4)))
        return out
    if k < 0.85:
        s = "".join(r.choice(PRECOMPOSED) for _ in range(r.randint(1, 5)))
        return unicodedata.normalize("NFD", s)
    return r.choice(NFC_ODD)


def frag_emoji(r):
    k = r.random()
    if k < 0.3:
        return "".join(r.choice(EMOJI) for _ in range(r.randint(1, 4)))
    if k < 0.5:
        return r.choice(ZWJ)
    if k < 0.65:
        return r.choice(["👍", "👋", "🙏", "💪", "🧑", "👩"]) + r.choice(SKIN)
    if k < 0.85:   # flags: regional indicator pairs (sometimes an odd one out)
        return "".join(chr(0x1f1e6 + r.randint(0, 25)) for _ in range(r.choice([1, 2, 2, 4, 3])))
    return r.choice("0123456789#*") + r.choice(["\ufe0f\u20e3", "\u20e3", "\ufe0f"])


def frag_latex(r):
    if r.random() < 0.3:
        return "$" + "".join(r.choice(LATEX + MATH_UNI + ["x", "y", "+", "=", "1", "2", " "]) for _ in range(r.randint(1, 6))) + "$"
    return "".join(r.choice(LATEX + MATH_UNI) for _ in range(r.randint(1, 4)))


def frag_code(r):
    return r.choice(CODE)


def frag_added(r):
    tok = r.choice(ADDED) if r.random() < 0.75 else r.choice(ADDED_NEAR)
    pad = ["", "", " ", "  ", "\n", "\t", "\u00a0", "x", "'s", "1"]
    return r.choice(pad) + tok + r.choice(pad)


def frag_long(r):
    k = r.random()
    if k < 0.4:
        return r.choice(REPEAT_UNITS) * r.randint(10, 400)
    if k < 0.7:
        return "".join(rng_chr(r, 97, 122) for _ in range(r.randint(30, 300)))
    if k < 0.85:
        return "".join(r.choice("abcdefghijklmnopqrstuvwxyzéèçñäöü") for _ in range(r.randint(40, 200)))
    return "".join(rng_chr(r, 0x4e00, 0x9fa5) for _ in range(r.randint(30, 150)))


def frag_control(r):
    return "".join(chr(r.choice(list(range(0, 9)) + [0x0e, 0x1b, 0x7f, 0x80, 0x9f, 0xad, 0x34f, 0x61c, 0x2061, 0xfffc, 0xfffd]))
                   for _ in range(r.randint(1, 3)))


def frag_anychar(r):
    """Any scalar value except surrogates: text outside the tables of both libraries, too."""
    out = ""
    for _ in range(r.randint(1, 4)):
        c = r.choice([r.randint(0x80, 0xffff), r.randint(0x80, 0x2ffff), r.randint(0xe0000, 0x10ffff)])
        if 0xd800 <= c <= 0xdfff:
            c = 0xfffd
        out += chr(c)
    return out


def frag_assigned(r):
    """A code point assigned in Unicode 14 (Python's tables) that both regex engines know."""
    while True:
        c = chr(r.randint(0x80, 0x2ffff))
        if unicodedata.category(c) not in ("Cn", "Cs", "Co"):
            return c


CATEGORIES = "Lu Ll Lt Lm Lo Mn Mc Me Nd Nl No Pc Pd Ps Pe Pi Pf Po Sm Sc Sk So Zs Zl Zp Cc Cf Co".split()
_BY_CATEGORY = {}


def frag_category(r):
    """Characters drawn by Unicode general category (Python's tables), so that rare ones (Lt, Me,
    Nl, Pi/Pf, Zl, Cf, ...) come up as often as letters."""
    out = ""
    for _ in range(r.randint(1, 6)):
        cat = r.choice(CATEGORIES)
        if cat not in _BY_CATEGORY:
            _BY_CATEGORY[cat] = [chr(c) for c in range(0x80, 0x30000)
                                 if not 0xd800 <= c <= 0xdfff and unicodedata.category(chr(c)) == cat]
        out += r.choice(_BY_CATEGORY[cat])
    return out


def frag_wsrun(r):
    """Long runs of mixed white space (\r\n, tabs, Unicode spaces, look-alikes), with the odd
    letter, digit or combining mark inside: the regex's \s*[\r\n]+ / \s+(?!\S) / \s+ choices."""
    alpha = WS + ["\r\n", "\r\n", "\t\t"] + NOT_WS[:3] + ["a", "1", "\u0301", ".", "'s"]
    run = "".join(r.choice(WS + ["\r\n"]) for _ in range(r.choice([20, 100, 1000])))
    return run if r.random() < 0.5 else "".join(r.choice(alpha) for _ in range(r.choice([10, 50, 300])))


def frag_added_mix(r):
    """Added tokens touching each other, cut short, or followed by combining marks that NFC
    would compose with their last character ('>' + U+0338 is U+226F)."""
    k = r.random()
    if k < 0.3:
        return "".join(r.choice(ADDED) for _ in range(r.randint(2, 4)))
    if k < 0.6:
        a = r.choice(ADDED)
        i = r.randint(1, len(a) - 1)
        return a[:i] if r.random() < 0.5 else a[i:]
    if k < 0.85:
        return r.choice(ADDED) + "".join(r.choice(["\u0338", "\u0301", "\u0323", "\u20d2"]) for _ in range(r.randint(1, 2)))
    return r.choice(ADDED) + r.choice(WS) + r.choice(ADDED)


KINDS = [("word", frag_word, 10), ("punct", frag_punct, 5), ("digits", frag_digits, 5), ("ws", frag_ws, 8),
         ("contraction", frag_contraction, 4), ("cjk", frag_cjk, 3), ("hangul", frag_hangul, 2),
         ("script", frag_script, 3), ("accent", frag_accent, 4), ("emoji", frag_emoji, 3),
         ("latex", frag_latex, 4), ("code", frag_code, 3), ("added", frag_added, 4), ("long", frag_long, 1),
         ("control", frag_control, 1), ("assigned", frag_assigned, 1), ("anychar", frag_anychar, 0.5),
         ("category", frag_category, 2), ("wsrun", frag_wsrun, 1), ("addedmix", frag_added_mix, 2)]
ADDED = []   # filled from the tokenizer.json


def gen_string(r):
    kinds = set()
    parts = []
    for _ in range(r.choice([1, 1, 2, 3, 4, 5, 6, 8, 12])):
        name, f, _w = r.choices(KINDS, weights=[w for _, _, w in KINDS])[0]
        kinds.add(name)
        parts.append(f(r))
        if r.random() < 0.4:
            parts.append(r.choice([" ", " ", "\n", "", "\t", "  "]))
    return "".join(parts), kinds


# ---------------------------------------------------------------- running mtok

def run_mtok(args, cmd, records, extra=()):
    """records: dicts; returns the output records (one per input)."""
    inp = "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records).encode()
    p = subprocess.run([args.mtok, cmd, "--tokenizer", args.tokenizer, "-Z", "-q", *extra],
                       input=inp, capture_output=True)
    if p.returncode != 0:
        sys.exit(f"mtok {cmd} failed ({p.returncode}): {p.stderr.decode(errors='replace')[:500]}")
    out = [json.loads(line) for line in p.stdout.decode().split("\n") if line]
    if len(out) != len(records):
        sys.exit(f"mtok {cmd}: {len(out)} records out for {len(records)} in")
    return out


def mtok_ids(args, texts):
    return [o["ids"] for o in run_mtok(args, "encode", [{"text": t} for t in texts])]


# ---------------------------------------------------------------- minimizing

def minimize(args, tok, s):
    """Greedy: delete runs of characters (long runs first) while HF and mtok still differ."""
    def differs(cands):
        got = mtok_ids(args, cands)
        return [c for c, g in zip(cands, got) if tok.encode(c, add_special_tokens=False).ids != g]

    cur = s
    k = max(1, len(cur) // 2)
    while k >= 1:
        changed = True
        while changed and len(cur) > 1:
            changed = False
            cands = [cur[:i] + cur[i + k:] for i in range(0, len(cur), max(1, k // 2 if k > 4 else 1))
                     if cur[:i] + cur[i + k:]]
            cands = list(dict.fromkeys(cands))
            bad = differs(cands) if cands else []
            if bad:
                cur = min(bad, key=len)
                changed = True
                k = min(k, max(1, len(cur) // 2))
        k //= 2
    # then simplify characters: replace each with 'a', ' ' or '1' if it still differs
    for i in range(len(cur)):
        cands = [cur[:i] + c + cur[i + 1:] for c in "a 1" if cur[i] != c]
        bad = differs(cands)
        if bad:
            cur = bad[0]
    return cur


# ---------------------------------------------------------------- checks

def cps(s):
    return " ".join(f"U+{ord(c):04X}" for c in s)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("-n", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4000)
    ap.add_argument("--minimize", type=int, default=40, help="how many mismatches to reduce")
    ap.add_argument("--show", type=int, default=5)
    ap.add_argument("--no-bytes", action="store_true")
    ap.add_argument("--codepoints", action="store_true",
                    help="instead: one probe string per code point of planes 0-3 and 14")
    ap.add_argument("--reveal", action="store_true",
                    help="use a derived tokenizer whose ids show the pre-tokenizer's pieces")
    ap.add_argument("--strip", action="store_true",
                    help="set lstrip/rstrip on some added tokens (as RoBERTa's <mask>): each swallows "
                         "the White_Space beside it")
    ap.add_argument("--tokenizer", default=QWEN)
    ap.add_argument("--mtok", default=os.environ.get("MTOK", os.path.join(ROOT, "bin", "mtok")))
    args = ap.parse_args()

    raw = subprocess.run(["zstd", "-dcf", args.tokenizer], check=True, capture_output=True).stdout.decode()
    j = json.loads(raw)
    if args.strip:
        for i, a in enumerate(j["added_tokens"]):
            a["lstrip"], a["rstrip"] = i % 3 != 1, i % 3 != 0
        raw = json.dumps(j, ensure_ascii=False)
    if args.reveal:
        raw = reveal_json(j)
        j = json.loads(raw)
    if args.reveal or args.strip:
        fd, args.tokenizer = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write(raw)
    tok = Tokenizer.from_str(raw)

    try:
        if args.codepoints:
            return check_codepoints(args, tok)
        return check_random(args, tok, j)
    finally:
        if args.reveal or args.strip:
            os.unlink(args.tokenizer)


def reveal_json(j):
    """The same normalizer, pre-tokenizer regex and added tokens over a vocabulary of the 256
    bytes and no merges, with ByteLevel's add_prefix_space: every piece the regex cuts that
    does not open with a space gets one, so the ids show where the pieces begin, which the
    merges of the real vocabulary mostly hide (a letter of a script the vocabulary never saw
    has the same bytes whether the regex joins it to its neighbours or not)."""
    j = json.loads(json.dumps(j))
    b2u = bytes_to_unicode()
    j["model"]["vocab"] = {b2u[b]: b for b in range(256)}
    j["model"]["merges"] = []
    for i, a in enumerate(j["added_tokens"]):
        a["id"] = 256 + i
    j["post_processor"] = None
    pre = j["pre_tokenizer"]
    steps = pre["pretokenizers"] if pre["type"] == "Sequence" else [pre]
    for st in steps:
        if st["type"] == "ByteLevel":
            st["add_prefix_space"] = True
    return json.dumps(j, ensure_ascii=False)


def check_random(args, tok, j):

    ADDED.extend(a["content"] for a in j["added_tokens"])
    r = random.Random(args.seed)
    stats = collections.Counter()
    kind_n = collections.Counter()
    kind_bad = collections.Counter()
    enc_bad, dec_bad, cnt_bad = [], [], []
    for b0 in range(0, args.n, args.batch):
        batch = [gen_string(r) for _ in range(min(args.batch, args.n - b0))]
        texts = [t for t, _ in batch]
        hf = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
        got = mtok_ids(args, texts)
        for (t, kinds), h, g in zip(batch, hf, got):
            stats["strings"] += 1
            stats["chars"] += len(t)
            for k in kinds:
                kind_n[k] += 1
            if h != g:
                enc_bad.append(t)
                for k in kinds:
                    kind_bad[k] += 1
        # decode: HF ids through both decoders, with and without the special tokens
        for skip in (False, True):
            want = tok.decode_batch(hf, skip_special_tokens=skip)
            outs = run_mtok(args, "decode", [{"ids": h} for h in hf], ["--skip-special"] if skip else [])
            for t, h, w, o in zip(texts, hf, want, outs):
                stats["decodes"] += 1
                if o["text"] != w:
                    dec_bad.append((t, h, skip, w, o["text"]))
        if (b0 // args.batch) % 4 == 0:
            outs = run_mtok(args, "count", [{"text": t} for t in texts])
            for t, g, o in zip(texts, got, outs):
                stats["counts"] += 1
                if o["tokens"] != len(g):
                    cnt_bad.append(t)
        print(f"\r{b0 + len(batch)} strings, {len(enc_bad)} encode / {len(dec_bad)} decode mismatches",
              end="", file=sys.stderr)
    print(file=sys.stderr)

    # random id lists: byte tokens (cut UTF-8), ordinary tokens, added tokens, padding ids
    byte_ids = [tok.token_to_id(t) for t in tok.get_vocab() if len(t) == 1]
    nmodel = len(j["model"]["vocab"])
    added_ids = [a["id"] for a in j["added_tokens"]]
    top = max(added_ids + [nmodel - 1])   # ids past it have no token (padding rows)
    id_lists = []
    for _ in range(max(1000, args.n // 10)):
        ids = []
        for _ in range(r.randint(1, 12)):
            k = r.random()
            ids.append(r.choice(byte_ids) if k < 0.5 else r.randint(0, nmodel - 1) if k < 0.8 else
                       r.choice(added_ids) if k < 0.95 else r.randint(top + 1, top + 272))
        id_lists.append(ids)
    for skip in (False, True):
        want = [tok.decode(ids, skip_special_tokens=skip) for ids in id_lists]
        outs = run_mtok(args, "decode", [{"ids": i} for i in id_lists], ["--skip-special"] if skip else [])
        for ids, w, o in zip(id_lists, want, outs):
            stats["id-list decodes"] += 1
            if o["text"] != w:
                dec_bad.append(("(random ids)", ids, skip, w, o["text"]))

    bytes_report = check_bytes(args, tok, r, stats) if not args.no_bytes else []

    print(f"\n{stats['strings']} strings ({stats['chars']} characters), {stats['decodes']} decodes, "
          f"{stats['counts']} counts, {stats['id-list decodes']} random-id decodes")
    print("strings per fragment kind (with mismatches):")
    for k, _f, _w in KINDS:
        print(f"  {k:12s} {kind_n[k]:7d}  {kind_bad[k]:5d}")
    rate = len(enc_bad) / max(1, stats["strings"])
    print(f"encode mismatches: {len(enc_bad)} ({100 * rate:.4f}%)")
    print(f"count mismatches: {len(cnt_bad)}")
    print(f"decode mismatches: {len(dec_bad)}")
    for t, ids, skip, w, o in dec_bad[:args.show]:
        print(f"  ids {ids[:20]} skip={skip}: HF {w[:60]!r} mtok {o[:60]!r}")
    for line in bytes_report:
        print(line)

    mins = collections.Counter()
    for t in enc_bad[:args.minimize]:
        m = minimize(args, tok, t)
        mins[m] += 1
    if mins:
        print("minimal encode mismatches (string, how many of the reduced ones, code points, HF ids, mtok ids):")
        for m, c in mins.most_common():
            print(f"  {m!r} x{c}  [{cps(m)}]  HF {tok.encode(m, add_special_tokens=False).ids}  "
                  f"mtok {mtok_ids(args, [m])[0]}")
    bad = enc_bad or dec_bad or cnt_bad or (bytes_report and bytes_report[-1].startswith("FAIL"))
    return 1 if bad else 0


def check_codepoints(args, tok):
    """Every code point c (no surrogates) of planes 0-3 and 14 in a few contexts: next to
    letters, digits, spaces, apostrophes, combining marks of low and high class, doubled."""
    cps_all = [c for c in list(range(0x80, 0x40000)) + list(range(0xe0000, 0xf0000)) if not 0xd800 <= c <= 0xdfff]
    bad = []
    step = 20000
    for b0 in range(0, len(cps_all), step):
        texts = []
        for c in cps_all[b0:b0 + step]:
            c = chr(c)
            texts.append(f"a{c}b {c}1 1{c} {c}{c}\u0301 \u0345{c}\u0334 x\u0301{c}\u0316 '{c} 's{c} \u00a0{c}\n{c}")
        hf = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
        got = mtok_ids(args, texts)
        bad += [t for t, h, g in zip(texts, hf, got) if h != g]
        print(f"\r{b0 + step} code points, {len(bad)} differ", end="", file=sys.stderr)
    print(file=sys.stderr)
    print(f"{len(cps_all)} code points, {len(bad)} probe strings differ")
    by_cp = [t[1] for t in bad]
    for c in by_cp[:args.show * 20]:
        print(f"  U+{ord(c):04X} {unicodedata.category(c)} ccc={unicodedata.combining(c)} {unicodedata.name(c, '?')}")
    mins = collections.Counter(minimize(args, tok, t) for t in bad[:args.minimize])
    for m, n in mins.most_common():
        print(f"  {m!r} x{n}  [{cps(m)}]  HF {tok.encode(m, add_special_tokens=False).ids}  mtok {mtok_ids(args, [m])[0]}")
    return 1 if bad else 0


def check_bytes(args, tok, r, stats):
    """Ill-formed UTF-8: raw lines (-r) must be refused exactly where Python refuses them."""
    bad_bits = [b"\xff", b"\xfe", b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf",
                b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf0\x80\x80\x80", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80",
                b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3", b"\xe2", b"\xf0"]
    lines = []
    for _ in range(max(2000, args.n // 20)):
        s, _k = gen_string(r)
        b = s.replace("\n", " ").replace("\r", " ").replace("\x85", " ").replace("\u2028", " ").replace("\u2029", " ").encode()
        if r.random() < 0.6:
            for _ in range(r.randint(1, 3)):
                i = r.randint(0, len(b))
                b = b[:i] + r.choice(bad_bits) + b[i:]
        lines.append(b)
    p = subprocess.run([args.mtok, "encode", "-r", "--skip-bad", "--tokenizer", args.tokenizer, "-Z", "-q"],
                       input=b"\n".join(lines) + b"\n", capture_output=True)
    out = [json.loads(x) for x in p.stdout.decode().split("\n") if x]
    good = []
    for b in lines:
        try:   # the line reader drops byte order marks that open a line (stream.c)
            good.append(b.decode("utf-8").lstrip("\ufeff"))
        except UnicodeDecodeError:
            pass
    rep = []
    stats["byte lines"] = len(lines)
    fail = len(out) != len(good) or any(o["text"] != g for o, g in zip(out, good))
    if fail:
        rep.append(f"  -r: mtok kept {len(out)} lines, Python decodes {len(good)}")
    ids_bad = sum(o["ids"] != tok.encode(o["text"], add_special_tokens=False).ids for o in out)
    # JSON records with the same bytes: libjq's replacement, then the tokenizer
    def json_bytes(b):   # a JSON string of raw bytes: only \\, " and controls escaped
        out = b.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
        for c in range(0x20):
            out = out.replace(bytes([c]), b"\\u%04x" % c)
        return b'{"text":"' + out + b'"}\n'
    p = subprocess.run([args.mtok, "encode", "--tokenizer", args.tokenizer, "-Z", "-q"],
                       input=b"".join(json_bytes(b) for b in lines), capture_output=True)
    # unchanged fields pass through as they were read (stream.c), so "text" keeps its ill-formed
    # bytes: read them as Python replaces them
    # bytes; the text mtok encoded (libjq's U+FFFD replacement) is what its ids decode to
    jout = [json.loads(x) for x in p.stdout.decode("utf-8", "replace").split("\n") if x]
    d = subprocess.run([args.mtok, "decode", "--tokenizer", args.tokenizer, "-Z", "-q"],
                       input="".join(json.dumps({"ids": o["ids"]}) + "\n" for o in jout).encode(), capture_output=True)
    jtext = [json.loads(x)["text"] for x in d.stdout.decode().split("\n") if x]
    jsrc = lines
    jq_repl = sum(t != b.decode("utf-8", "replace") for t, b in zip(jtext, jsrc))
    ids_bad += len(jtext) != len(jout)
    ids_bad += sum(o["ids"] != tok.encode(t, add_special_tokens=False).ids for o, t in zip(jout, jtext))
    rep.insert(0, f"ill-formed UTF-8: {len(lines)} byte lines, {len(lines) - len(good)} ill-formed; "
               f"-r refused {len(lines) - len(out)}; {len(jout)} as JSON records: libjq's U+FFFD replacement "
               f"differs from Python's errors='replace' on {jq_repl}; ids differing from HF on the text mtok "
               f"encoded: {ids_bad}")
    if fail or ids_bad or p.returncode != 0:
        rep.append("FAIL")
    return rep


if __name__ == "__main__":
    sys.exit(main())
