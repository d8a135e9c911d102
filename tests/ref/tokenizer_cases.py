#!/usr/bin/env python3
"""tokenizer_cases.py — dev script (not run by `make test`): produces the tokenizer fixtures
in testdata/tokenizer/ with Hugging Face `tokenizers` / `transformers` as the reference.

  pip install tokenizers transformers
  python3 tests/ref/tokenizer_cases.py            # from the repo root; needs ../shared/data

Writes:
  cases-hf.jsonl          {"text", "ids", "roundtrip"} on the real Qwen2 (R1-distill) tokenizer.json
  template-r1.jsonl       {"system", "problem", "text", "ids"}: apply_chat_template(add_generation_prompt)
                          with the model's chat_template.jinja, then encode(add_special_tokens=False)
  bytelevel.json          a hand-made byte-level tokenizer in minit's format (256 bytes, a few
                          merges in the ["a","b"] form, the R1 added tokens)
  cases-bytelevel.jsonl   its ids from HF tokenizers
  bytelevel-gpt2.json, cases-bytelevel-gpt2.jsonl   NFKC, two regex steps, lstrip/rstrip, and
                          added tokens spelled in byte-level symbols; its ids from HF
  decode-hf.jsonl         {"tokenizer", "ids", "skip", "text"}: HF decode of random id lists on
                          the Qwen2 tokenizer and on bytelevel-gpt2.json
  bad-wordpiece.json, bad-unigram.json   other model types (must be refused)
  bad-truncated.json      bytelevel.json cut in half

  python3 tests/ref/tokenizer_cases.py --verify FILE...   # MTOK=bin-x/mtok to pick the binary
compares mtok with HF on every problem/answer/solution of record files (no fixture written).
"""
import json, os, random, subprocess, sys, tempfile, unicodedata

from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(ROOT, "..", "shared", "data")
QDIR = os.path.join(SHARED, "qwen2-tokenizer")
OUT = os.path.join(ROOT, "testdata", "tokenizer")

BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
USER, ASSISTANT = "<｜User｜>", "<｜Assistant｜>"
R1_SYSTEM = ("A conversation between User and Assistant. The user asks a question, and the Assistant "
             "solves it. The assistant first thinks about the reasoning process in the mind and then "
             "provides the user with the answer, and put your final answer within \\boxed{{}} . The "
             "reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
             "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
             "</answer>. Note that respond by English, NOT use other languages.")

FIXED = [
    # CJK, Japanese, Korean, mixed scripts
    "你好，世界！今天天气很好。", "数学题：求 $x^2+1=0$ 的解。", "日本語のテキストとカタカナ、ひらがな。",
    "한국어 문장입니다. 123개", "Ελληνικά κείμενα και русский текст, עברית, العربية ١٢٣",
    "हिन्दी में लिखा गया वाक्य", "ไทยภาษา", "Ünïcödé façade naïve café", "ǅungla Ǉ ǈ",
    # emoji (ZWJ sequences, skin tones, flags, keycaps)
    "I ❤️ emoji 😀😃😄 👩‍👩‍👧‍👦 👍🏽 🇫🇷🇯🇵 1️⃣ #️⃣", "🤖🧠📈 — done ✅",
    # LaTeX and math
    "\\frac{1}{2} + \\sqrt{3}", "$\\boxed{\\dfrac{\\pi}{4}}$", "\\begin{align*} x &= 1 \\\\ y &= 2 \\end{align*}",
    "$$\\sum_{k=1}^{n} k^2 = \\frac{n(n+1)(2n+1)}{6}$$", "\\left( 3, \\frac{\\pi}{2} \\right)", "x^{2^{3}}_{i,j}",
    "∀ε>0 ∃δ>0: |x−a|<δ ⇒ |f(x)−f(a)|<ε", "½ ¾ ⅓ ² ³ ⁴ ₀ ₁", "π≈3.14159, e≈2.71828, φ=(1+√5)/2",
    # code
    "def f(x):\n    return x**2  # square\n", "int main(void) {\n\treturn 0;\n}\n",
    "for (int i = 0; i < n; ++i) { a[i] += b[i] * c; }", "if x != None and y >= 3: print(f'{x!r}')",
    "<div class=\"a\">&amp; &lt;tag&gt;</div>", "SELECT * FROM t WHERE id='x' -- comment", "a->b; c::d; e=>f; g|>h",
    # whitespace runs, \r\n, tabs, trailing space
    "a  b   c    d", "   leading", "trailing   ", "\n", "\n\n\n", " \n \n ", "line1\r\nline2\r\n", "\r\n\r\n",
    "\r", "tab\tsep\t\tarated", " \t \t", "x\n\n\ny", "   \n   ", "\u00a0non-breaking\u00a0space", "a\u3000b",
    "a\u2028b\u2029c", "a\u0085b", "a\u200bb", "a\u180eb", "a\u2009thin\u202fnarrow",
    # contractions (the regex's case-insensitive group)
    "I'm sure you're right, it's what they've said, we'll see, he'd know, can't.",
    "I'M SURE YOU'RE RIGHT, IT'S WHAT THEY'VE SAID, WE'LL SEE, HE'D KNOW.", "'s 's' ''s 'S 'lL 'Ll x'd",
    "rock 'n' roll", "don’t (curly apostrophe)", "O'Neil's", "'tis", "'",
    # digits
    "1234567890", "3.14159265358979323846264338327950288419716939937510", "1,000,000 and 2_000_000",
    "٠١٢٣٤٥٦٧٨٩ ０１２３ ①②③ Ⅻ", "x1y22z333", "-42", "1e-10", "0x1F",
    # added tokens inline, partial and adjacent
    BOS + "Hello" + EOS, USER + "2+2?" + ASSISTANT + "<think>\nfour\n</think>\n\n4" + EOS,
    "<think></think><think>", "a<think>b</think>c", " <think> ", "<|EOT|>x", "<｜User", "<think", "</think >",
    "<tool_call>{}</tool_call>", "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>", BOS + BOS, "x" + EOS + "\n",
    "<|im_start|>user\nhi<|im_end|>", "<|endoftext|>",
    # punctuation and symbols
    "Hello, world!", "...?!", "!!!!!!!!!!", "—–-‒", "«quoted» „quoted“ ‘single’", "@user #tag $5 %20 ^_^ ~~~",
    "http://example.com/path?a=1&b=2#frag", "a.b.c", "(((())))", "[[[]]]", "{{{}}}", "***bold***", "___",
    # long and odd words
    "a" * 300, "ab" * 200, " " * 100, "\n" * 50, "x" + " " * 37 + "y", "supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis" * 3, "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏ" * 4,
    "一二三四五六七八九十" * 20, "😀" * 30,
    # normalization (NFD input: HF normalizes to NFC before splitting)
    "cafe\u0301", "e\u0301\u0300", "\u212b", "\u1e9b\u0323", "Å vs A\u030a",
    # controls and rare characters
    "a\x00b", "\x01\x02\x03", "\x7f", "\ufeffBOM", "\U0010fffd", "\ue000private", "\U0001d400\U0001d401",
    # the R1 system prompt alone
    R1_SYSTEM,
]

TRICKY = (list(" \t\n\r\u00a0\u0085\u2028\u3000\u200b\u2009") + list("aZé漢ßあ한Ωж") +
          list("0123٣５") + list("'\"`,.;:!?-_()[]{}<>/\\|@#$%^&*+=~") +
          ["'s", "'LL", "'re", "\r\n", "😀", "👩‍👧", "\u0301", "<think>", "<｜User｜>", "<｜", "\\frac"])


def random_cases(n, seed=1):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(1, 24)
        out.append("".join(rng.choice(TRICKY) for _ in range(k)))
    return out


# Unicode's White_Space characters (what \\s means to HF's Oniguruma) and look-alikes that are
# not White_Space (U+180E, a space until Unicode 6.3, is one to PCRE2; the rest are format or
# separator controls), in the places where the regex splits on \\s / \\S.
WHITE_SPACE = [chr(c) for c in [0x9, 0xa, 0xb, 0xc, 0xd, 0x20, 0x85, 0xa0, 0x1680, *range(0x2000, 0x200b),
                                0x2028, 0x2029, 0x202f, 0x205f, 0x3000]]
NOT_WHITE_SPACE = [chr(c) for c in [0x180e, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff, 0x1c, 0x1d, 0x1e, 0x1f]]


def white_space_cases(n=200, seed=3):
    out = []
    for c in WHITE_SPACE + NOT_WHITE_SPACE:
        out += [f"x{c}'s", f"{c}{c}x", f"a {c} b", f"{c}{c}", f"1{c}2!", f"\u00a0\u00a0{c}"]
    rng = random.Random(seed)
    alpha = WHITE_SPACE + NOT_WHITE_SPACE + ["a", "1", "'s", "'ll", ".", "中", "😀", "\r\n"]
    for _ in range(n):
        out.append("".join(rng.choice(alpha) for _ in range(rng.randint(1, 12))))
    return out


# Code points assigned after Unicode 9.0, the tables of tokenizers' normalizer (Unicode 9.0:
# unicode-normalization-alignments), which utf8proc reorders, decomposes or composes: to
# tokenizers they are unassigned, so left where and as they are (found by tokenizer_diff.py).
UNICODE9_CASES = [
    "\u0ec8\u0eba",                 # LAO SIGN PALI VIRAMA (class 9 since 12.0) after a class-122 mark
    "\u0ecb\u0eba ok \u0eb9\u0eba",
    "\u09fe\u09bc",                 # BENGALI SANDHI MARK (10.0, class 230) before NUKTA (class 7)
    "\u0301\U00010efd",             # ARABIC SMALL LOW WORD SAKTA (15.0, class 220)
    "\u07fd\u0301\u0316",          # NKO DANTAYALAN (11.0, class 220)
    "a\u0eba\u0301\u0316x",
    "\U00011935\U00011930",          # DIVES AKURU E + AA: utf8proc composes them (13.0) into U+11938
    "\U00011938",                    # which utf8proc decomposes
    "e\u0301\U00011930\u0301 caf\u0065\u0301",
    "\u0f40\u0f71\u0f72 \U00016ff0\U00016ff1",
]


# Letters and numbers of Unicode 15.0-16.0 that tokenizers' Oniguruma (Unicode 16.0) has in
# \p{L} / \p{N} and PCRE2 10.42 (Unicode 14.0) does not (found by tokenizer_diff.py --reveal;
# the prefix spaces of the GPT-2 style fixture show the regex's pieces).
REGEX16_CASES = [
    " \U0001d2c0\U0001d2c1 12",          # KAKTOVIK NUMERAL ZERO, ONE (15.0, \p{N})
    "a\U00013d3c",                        # an EGYPTIAN HIEROGLYPH of Extension A (16.0)
    "\U0002ed10\ue4b3 \U0002ebf0x",      # CJK UNIFIED IDEOGRAPH of Extension I (15.1)
    "x\u1c89\u1c8a y",                    # CYRILLIC CAPITAL/SMALL LETTER TJE (16.0)
    "\U00011f04\U00011f05 \U00011f50\U00011f51.",   # KAWI letters and digits (15.0)
    "\U0001e4d0\U0001e4d1\n\U0001e4f0 \U000116d0a",
    "a\U0001e5f0\U0001e5f1 \U0001e5f6>",
]


def corpus_cases():
    """Real problems and answers: the text the pipeline will encode."""
    out = []
    for name, k in [("math500", 150), ("aime24", 30), ("amc23", 40), ("olympiadbench", 60), ("minerva_math", 40)]:
        with open(os.path.join(SHARED, "bench", name + ".jsonl")) as f:
            for i, line in enumerate(f):
                if i >= k:
                    break
                r = json.loads(line)
                out.append(r["problem"])
                out.append(str(r.get("answer", "")))
    return [s for s in out if s]


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("wrote", path, len(rows), file=sys.stderr)


def qwen_tokenizer_json():
    raw = subprocess.run(["zstd", "-dc", os.path.join(QDIR, "tokenizer.json.zst")],
                         check=True, capture_output=True).stdout
    return raw.decode("utf-8")


def qwen_cases(tok):
    rows = []
    for s in FIXED + corpus_cases() + random_cases(400) + white_space_cases() + UNICODE9_CASES + REGEX16_CASES:
        ids = tok.encode(s, add_special_tokens=False).ids
        rows.append({"text": s, "ids": ids, "roundtrip": tok.normalizer.normalize_str(s) == s})
    return rows


def template_cases(tokjson):
    from transformers import PreTrainedTokenizerFast
    with open(os.path.join(QDIR, "chat_template.jinja")) as f:
        tmpl = f.read()
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "tokenizer.json"), "w") as f:
            f.write(tokjson)
        tk = PreTrainedTokenizerFast(tokenizer_file=os.path.join(d, "tokenizer.json"),
                                     bos_token=BOS, eos_token=EOS, pad_token=EOS)
    tk.chat_template = tmpl
    problems = ["What is $1+1$?", "Let $f(x) = x^2$.\nFind $f(3)$.\n\n",
                "求 $\\frac{1}{2}+\\frac{1}{3}$ 的值。", "  leading and trailing spaces  ", "<think>inline</think> tags"]
    rows = []
    for system in [R1_SYSTEM, "", "Please reason step by step, and put your final answer within \\boxed{}."]:
        for p in problems:
            msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": p}]
            text = tk.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
            ids = tk(text, add_special_tokens=False)["input_ids"]
            rows.append({"system": system, "problem": p, "text": text, "ids": ids})
    return rows


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def bytelevel_json(qwen):
    """minit's shape: byte symbols in byte order, merges, then the R1 specials as added tokens."""
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    merges = []
    for a, b in [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("r", "e"), ("o", "n"),
                 ("Ġ", "Ġ"), ("ĠĠ", "ĠĠ"), ("Ċ", "Ċ"), ("in", "g"), ("e", "r"), ("Ġ", "s"), ("a", "n"),
                 ("Ġa", "n"), ("Ġan", "d"), ("1", "2"), ("Ã", "©"), ("Ġ", "\\"), ("Ġ\\", "f")]:
        vocab.setdefault(a + b, len(vocab))
        merges.append([a, b])
    specials = [(BOS, True), (EOS, True), (USER, False), (ASSISTANT, False), ("<think>", False), ("</think>", False)]
    added = []
    for s, sp in specials:
        added.append({"id": len(vocab) + len(added), "content": s, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": sp})
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": qwen["normalizer"], "pre_tokenizer": qwen["pre_tokenizer"],
            "post_processor": None, "decoder": qwen["decoder"],
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": False, "vocab": vocab, "merges": merges}}


def decode_cases(tok, n, seed):
    """{"tokenizer": "qwen"|"gpt2", "ids", "skip", "text"}: HF decode of random id lists (byte tokens
    that cut a character, ordinary and added tokens, ids past the vocabulary) with and without
    skip_special_tokens."""
    rng = random.Random(seed)
    nv = tok.get_vocab_size(with_added_tokens=False)
    nall = tok.get_vocab_size(with_added_tokens=True)
    added = list(range(nv, nall))
    which = "qwen" if nv > 1000 else "gpt2"
    rows = []
    for i in range(n):
        ids = []
        for _ in range(rng.randint(0, 10)):
            k = rng.random()
            ids.append(rng.randrange(256) if k < 0.4 else rng.randrange(nv) if k < 0.7 else
                       rng.choice(added) if k < 0.95 else nall + rng.randrange(50))
        skip = i % 2 == 1
        rows.append({"tokenizer": which, "ids": ids, "skip": skip,
                     "text": tok.decode([x for x in ids if x < nall], skip_special_tokens=skip)})
    return rows


def other_models():
    from tokenizers import models, pre_tokenizers
    wp = Tokenizer(models.WordPiece({"[UNK]": 0, "a": 1, "##b": 2}, unk_token="[UNK]"))
    wp.pre_tokenizer = pre_tokenizers.Whitespace()
    ug = Tokenizer(models.Unigram([("<unk>", 0.0), ("a", -1.0), ("b", -2.0)], 0))
    return wp.to_str(), ug.to_str()


def main():
    os.makedirs(OUT, exist_ok=True)
    tokjson = qwen_tokenizer_json()
    qwen = json.loads(tokjson)
    tok = Tokenizer.from_str(tokjson)
    write_jsonl(os.path.join(OUT, "cases-hf.jsonl"), qwen_cases(tok))
    write_jsonl(os.path.join(OUT, "template-r1.jsonl"), template_cases(tokjson))

    bl = bytelevel_json(qwen)
    bls = json.dumps(bl, ensure_ascii=False, indent=1)
    with open(os.path.join(OUT, "bytelevel.json"), "w") as f:
        f.write(bls + "\n")
    with open(os.path.join(OUT, "bad-truncated.json"), "w") as f:
        f.write(bls[: len(bls) // 2])
    btok = Tokenizer.from_str(bls)
    texts = [s for s in FIXED if len(s) < 400][:80] + random_cases(60, seed=2)
    rows = [{"text": s, "ids": btok.encode(s, add_special_tokens=False).ids,
             "roundtrip": unicodedata.normalize("NFC", s) == s} for s in texts]
    write_jsonl(os.path.join(OUT, "cases-bytelevel.jsonl"), rows)

    # Two regex steps (Qwen's Split, then ByteLevel's own GPT-2 regex with a prefix space),
    # NFKC, and added tokens that swallow whitespace (lstrip/rstrip): the loader's other paths.
    g = json.loads(bls)
    g["normalizer"] = {"type": "NFKC"}
    g["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        qwen["pre_tokenizer"]["pretokenizers"][0],
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}]}
    g["model"]["merges"] = [" ".join(m) for m in g["model"]["merges"]]   # the "a b" form
    g["added_tokens"][4]["lstrip"] = True    # <think>
    g["added_tokens"][5]["rstrip"] = True    # </think>
    # added tokens spelled in byte-level symbols: HF's ByteLevel decoder turns them into bytes
    # ("ĠĠx" decodes to "  x", "Ã©Ã©" to "éé", "üx" to the lone byte 0xFC and x, so U+FFFD x)
    for s in ["ĠĠx", "Ã©Ã©", "üx", "ĊĊĊ"]:   # none of them in the vocab: HF would take its id
        g["added_tokens"].append({"id": len(g["model"]["vocab"]) + len(g["added_tokens"]), "content": s,
                                  "single_word": False, "lstrip": False, "rstrip": False,
                                  "normalized": False, "special": False})
    gs = json.dumps(g, ensure_ascii=False, indent=1)
    with open(os.path.join(OUT, "bytelevel-gpt2.json"), "w") as f:
        f.write(gs + "\n")
    gtok = Tokenizer.from_str(gs)
    extra = ["a  <think>  b  </think>  c", "x\t<think>\n</think>\n\ny", "ﬁne ①② ＡＢＣ ｶﾀｶﾅ", "Hello world"]
    # lstrip/rstrip take every White_Space character (Rust's char::is_whitespace), not ASCII's only
    extra += [f"a{w}<think>{w}b{w}</think>{w}c" for w in WHITE_SPACE + NOT_WHITE_SPACE]
    extra += ["x\u00a0 \u3000<think>\u2028\u0085</think>\u2003\u202f\u205fy", "\u1680<think></think>\u2029"]
    rows = [{"text": s, "ids": gtok.encode(s, add_special_tokens=False).ids, "roundtrip": False}
            for s in texts + extra + white_space_cases(100, seed=4) + UNICODE9_CASES + REGEX16_CASES]
    write_jsonl(os.path.join(OUT, "cases-bytelevel-gpt2.jsonl"), rows)
    write_jsonl(os.path.join(OUT, "decode-hf.jsonl"), decode_cases(tok, 300, seed=5) + decode_cases(gtok, 200, seed=6))

    wp, ug = other_models()
    for name, s in [("bad-wordpiece.json", wp), ("bad-unigram.json", ug)]:
        with open(os.path.join(OUT, name), "w") as f:
            f.write(s + "\n")




def verify_corpus(paths, mtok="bin/mtok"):
    """--verify FILE...: encode every .problem/.answer/.solution of the record files with HF and
    with `mtok encode` and report the records that differ (not a fixture; a wide check)."""
    tok = Tokenizer.from_str(qwen_tokenizer_json())
    total = bad = 0
    for path in paths:
        raw = subprocess.run(["zstd", "-dcf", path], check=True, capture_output=True).stdout
        texts = []
        for line in raw.decode("utf-8").splitlines():
            r = json.loads(line)
            texts += [str(r[k]) for k in ("problem", "answer", "solution") if r.get(k)]
        inp = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
        out = subprocess.run([mtok, "encode", "--tokenizer", os.path.join(QDIR, "tokenizer.json.zst"), "-Z"],
                             input=inp.encode(), check=True, capture_output=True).stdout.decode().split("\n")
        for t, o in zip(texts, out):
            total += 1
            if tok.encode(t, add_special_tokens=False).ids != json.loads(o)["ids"]:
                bad += 1
                print("DIFF", json.dumps(t[:80], ensure_ascii=False), file=sys.stderr)
        print(path, len(texts), "texts", file=sys.stderr)
    print(f"{total} texts, {bad} differ", file=sys.stderr)
    return bad == 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--verify":
        sys.exit(0 if verify_corpus(sys.argv[2:], os.environ.get("MTOK", "bin/mtok")) else 1)
    main()
