/* test_rewards.c — every reward's formula on hand-computed cases (cosine past max_len
 * included), the --reward syntax, and judging against the gold. */
#include <stdlib.h>
#include <string.h>
#include "../test.h"
#include "rewards.h"

static rw_spec *spec(const char *arg)
{
    mrl_err e = {0};
    rw_spec *r = rw_parse(arg, &e);
    if (!r) printf("  rw_parse(%s): %s\n", arg, e.msg);
    return r;
}

/* Value of reward `arg` for one sample with the given text and correctness. */
static double one(const char *arg, const char *text, int correct)
{
    rw_spec *r = spec(arg);
    if (!r) return NAN;
    rw_sample s = {.completion = text, .gold = "1", .ntokens = -1, .correct = correct};
    double v = rw_eval(r, &s, 1, 0);
    rw_free(r);
    return v;
}

static char *repeat(const char *unit, int n)
{
    size_t k = strlen(unit);
    char *s = malloc(k * (size_t)n + 1);
    for (int i = 0; i < n; i++) memcpy(s + k * (size_t)i, unit, k);
    s[k * (size_t)n] = 0;
    return s;
}

TEST(parse_syntax)
{
    mrl_err e = {0};
    rw_spec *r = spec("cosine=2:max_len=3584");
    EXPECT(r && rw_weight(r) == 2.0 && !strcmp(rw_key(r), "cosine"));
    rw_free(r);
    r = spec("format:strict");
    EXPECT(r && rw_weight(r) == 1.0);
    rw_free(r);
    r = spec("regex=0.5:as=digits,pattern=^\\d{1,3}$");   /* the comma stays in the pattern */
    EXPECT(r && !strcmp(rw_key(r), "digits") && rw_weight(r) == 0.5);
    if (r) {
        rw_sample s = {.completion = "123", .ntokens = -1};
        EXPECT(rw_eval(r, &s, 1, 0) == 1.0);
        s.completion = "1234";
        EXPECT(rw_eval(r, &s, 1, 0) == 0.0);
    }
    rw_free(r);
    const char *bad[] = {"bogus", "accuracy=x", "cosine:foo=1", "cosine:max_len=abc", "regex",
                         "regex:pattern=(", "repetition:ngram=0", "overlong:cache=0",
                         "length:unit=words", "cosine:max_len=0", "format:pattern=x", "language:script=klingon"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.code = 0;
        r = rw_parse(bad[i], &e);
        EXPECTF(!r && e.code == 2, "%s accepted", bad[i]);
        rw_free(r);
    }
    r = spec("overlong");
    EXPECT(r && (rw_needs(r) & RW_NEEDS_TOKENS));
    rw_free(r);
    r = spec("cosine:unit=tokens");
    EXPECT(r && (rw_needs(r) & RW_NEEDS_TOKENS));
    rw_free(r);
    r = spec("length");
    EXPECT(r && (rw_needs(r) & RW_NEEDS_GROUP) && !(rw_needs(r) & RW_NEEDS_TOKENS));
    rw_free(r);
}

TEST(count_like_python)
{
    /* Python: "\n</think>\n</think>\n".count("\n</think>\n") == 1 (non-overlapping) */
    EXPECT(rw_count("\n</think>\n</think>\n", "\n</think>\n") == 1);
    EXPECT(rw_count("aaaa", "aa") == 2);
    EXPECT(rw_count("abc", "x") == 0);
    EXPECT(rw_chars("h\xc3\xa9llo \xe4\xb8\xad") == 7);   /* héllo 中: 7 code points, 10 bytes */
    EXPECT(rw_chars("") == 0);
}

TEST(format_and_tags)
{
    EXPECT(one("format", "step\n</think>\nThe answer is \\boxed{1}", 0) == 1.0);
    EXPECT(one("format", "step</think>\nThe answer", 0) == 0.0);
    EXPECT(one("format", "a\n</think>\nb\n</think>\nc", 0) == 0.0);
    EXPECT(one("format", "a\n</think>\n</think>\nc", 0) == 1.0);   /* Python's count says 1 */
    const char *ok = "<think>\nabc\n</think>\n<answer>\n42\n</answer>";
    EXPECT(one("format:strict", ok, 0) == 1.0);
    EXPECT(one("format:strict", "<think>\nabc\n</think>\n<answer>\n42\n</answer>\nmore", 0) == 1.0);
    EXPECT(one("format:strict", " <think>\nabc\n</think>\n<answer>\n42\n</answer>", 0) == 0.0);
    EXPECT(one("format:strict", "<think>\nabc\n</think>\n<answer>\n42\n</answer> x", 0) == 0.0);
    EXPECT(one("tags", "<think>\nx\n</think>\ny", 0) == 1.0);
    EXPECT(one("tags", "<think>\n<think>\nx\n</think>\ny", 0) == 0.5);
    EXPECT(one("tags", "x", 0) == 0.0);
    EXPECT(one("tags:upstream", ok, 0) == 1.0);
    EXPECT(one("tags:upstream", "<think>\nx\n</think>\ny", 0) == 0.5);
}

TEST(cosine_formula)
{
    /* defaults: min_wrong 0, max_wrong -0.5, min_correct 0.5, max_correct 1, max_len 1000 */
    EXPECT_NEAR(rw_cosine(0, 1, 0, -0.5, 0.5, 1, 1000, 0), 1.0, 1e-12);
    EXPECT_NEAR(rw_cosine(500, 1, 0, -0.5, 0.5, 1, 1000, 0), 0.75, 1e-12);
    EXPECT_NEAR(rw_cosine(1000, 1, 0, -0.5, 0.5, 1, 1000, 0), 0.5, 1e-12);
    EXPECT_NEAR(rw_cosine(0, 0, 0, -0.5, 0.5, 1, 1000, 0), 0.0, 1e-12);
    EXPECT_NEAR(rw_cosine(500, 0, 0, -0.5, 0.5, 1, 1000, 0), -0.25, 1e-12);
    EXPECT_NEAR(rw_cosine(1000, 0, 0, -0.5, 0.5, 1, 1000, 0), -0.5, 1e-12);
    /* past max_len the open-rs cosine wraps: period 2*max_len */
    EXPECT_NEAR(rw_cosine(1500, 1, 0, -0.5, 0.5, 1, 1000, 0), 0.75, 1e-12);
    EXPECT_NEAR(rw_cosine(2000, 1, 0, -0.5, 0.5, 1, 1000, 0), 1.0, 1e-12);
    EXPECT_NEAR(rw_cosine(2000, 0, 0, -0.5, 0.5, 1, 1000, 0), 0.0, 1e-12);
    /* clamp=1: the corrected form stays at the max_len value */
    EXPECT_NEAR(rw_cosine(2000, 1, 0, -0.5, 0.5, 1, 1000, 1), 0.5, 1e-12);
    EXPECT_NEAR(rw_cosine(2000, 0, 0, -0.5, 0.5, 1, 1000, 1), -0.5, 1e-12);
    /* the function defaults (-1, -0.5): the wrong pair is swapped, a short wrong answer gets min_wrong */
    EXPECT_NEAR(rw_cosine(0, 0, -1, -0.5, 0.5, 1, 1000, 0), -1.0, 1e-12);
    EXPECT_NEAR(rw_cosine(1000, 0, -1, -0.5, 0.5, 1, 1000, 0), -0.5, 1e-12);
}

TEST(cosine_reward_chars_tokens)
{
    char *e500 = repeat("\xc3\xa9", 500);       /* 500 characters, 1000 bytes */
    EXPECT_NEAR(one("cosine", e500, 1), 0.75, 1e-12);
    EXPECT_NEAR(one("cosine", e500, 0), -0.25, 1e-12);
    EXPECT_NEAR(one("cosine:max_len=250", e500, 1), 1.0, 1e-12);       /* L = 2 max_len: wrapped */
    EXPECT_NEAR(one("cosine:max_len=500", e500, 1), 0.5, 1e-12);       /* L = max_len */
    EXPECT_NEAR(one("cosine:max_len=250", e500, 0), 0.0, 1e-12);       /* wrapped to hi */
    EXPECT_NEAR(one("cosine:max_len=250,clamp=1", e500, 0), -0.5, 1e-12);
    EXPECT_NEAR(one("cosine:min_wrong=-1,max_wrong=-0.5,min_correct=0,max_correct=2", e500, 1), 1.0, 1e-12);
    free(e500);
    rw_spec *r = spec("cosine:unit=tokens");
    rw_sample s = {.completion = "short", .gold = "1", .ntokens = 250, .correct = 1};
    EXPECT_NEAR(rw_eval(r, &s, 1, 0), 0.9267766952966369, 1e-12);    /* 0.5 + 0.25 (1 + cos(pi/4)) */
    /* an unparsed gold that counts as correct scores 1.0 flat (open-rs) */
    s.ntokens = 1000; s.gold_unparsed = 1;
    EXPECT(rw_eval(r, &s, 1, 0) == 1.0);
    rw_free(r);
}

TEST(repetition)
{
    /* trigrams of "a b a b a b": aba bab aba bab: 2 unique of 4 */
    EXPECT_NEAR(one("repetition", "a b a b a b", 0), -0.5, 1e-12);
    EXPECT_NEAR(one("repetition", "A b\ta\n B  a b", 0), -0.5, 1e-12);  /* lower(), split() */
    EXPECT_NEAR(one("repetition:max_penalty=-2", "a b a b a b", 0), -1.0, 1e-12);
    EXPECT_NEAR(one("repetition", "a b c d e f", 0), 0.0, 1e-12);
    EXPECT_NEAR(one("repetition", "x y", 0), 0.0, 1e-12);
    EXPECT_NEAR(one("repetition", "", 0), 0.0, 1e-12);
    /* bigrams of "x x x x x": 4 of "x x", 1 unique: (1 - 1/4) * -1 */
    EXPECT_NEAR(one("repetition:ngram=2", "x x x x x", 0), -0.75, 1e-12);
    /* U+3000 ideographic space splits words in Python; \xc3\x89 (É) lowers to é */
    EXPECT_NEAR(one("repetition:ngram=1", "\xc3\xa9\xe3\x80\x80\xc3\x89 z", 0), -1.0 / 3.0, 1e-12);
    /* str.lower() is more than the simple mapping: a capital sigma that ends a word (after a
       cased letter, case-ignorable ones skipped) becomes final sigma, so "ΟΔΟΣ" is "οδος" and
       not "οδοσ"; "Σ" alone, "ΣΑ", "Α'Σ'" keep σ / ς as Python has them; U+0130 becomes
       "i\u0307", not "i". Python: [rep("ΟΔΟΣ οδος", 1), rep("Σ σ", 1), rep("ΣΑ σα", 1),
       rep("Α'Σ' α'ς'", 1), rep("\u0130 i", 1), rep("\u0130 i\u0307", 1)] = [-1/2, -1/2, -1/2, -1/2, 0, -1/2] */
    EXPECT_NEAR(one("repetition:ngram=1", "\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xce\xbf\xce\xb4\xce\xbf\xcf\x82", 0),
                -0.5, 1e-12);
    EXPECT_NEAR(one("repetition:ngram=1", "\xce\xa3 \xcf\x83", 0), -0.5, 1e-12);
    EXPECT_NEAR(one("repetition:ngram=1", "\xce\xa3\xce\x91 \xcf\x83\xce\xb1", 0), -0.5, 1e-12);
    EXPECT_NEAR(one("repetition:ngram=1", "\xce\x91'\xce\xa3' \xce\xb1'\xcf\x82'", 0), -0.5, 1e-12);
    EXPECT_NEAR(one("repetition:ngram=1", "\xc4\xb0 i", 0), 0.0, 1e-12);
    EXPECT_NEAR(one("repetition:ngram=1", "\xc4\xb0 i\xcc\x87", 0), -0.5, 1e-12);
}

TEST(length_kimi)
{
    rw_spec *r = spec("length");
    rw_sample g[3] = {{.completion = "aaaaaaaaaa", .correct = 1},
                      {.completion = "aaaaaaaaaaaaaaaaaaaa", .correct = 0},
                      {.completion = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", .correct = 1}};
    /* lengths 10, 20, 30: lambda 0.5, 0, -0.5; the wrong one gets min(0, lambda) */
    EXPECT_NEAR(rw_eval(r, g, 3, 0), 0.5, 1e-12);
    EXPECT_NEAR(rw_eval(r, g, 3, 1), 0.0, 1e-12);
    EXPECT_NEAR(rw_eval(r, g, 3, 2), -0.5, 1e-12);
    g[0].correct = 0;   /* wrong and short: min(0, 0.5) = 0 */
    EXPECT_NEAR(rw_eval(r, g, 3, 0), 0.0, 1e-12);
    g[2].correct = 0;   /* wrong and long keeps the penalty */
    EXPECT_NEAR(rw_eval(r, g, 3, 2), -0.5, 1e-12);
    rw_sample same[2] = {{.completion = "ab", .correct = 1}, {.completion = "cd", .correct = 0}};
    EXPECT(rw_eval(r, same, 2, 0) == 0.0 && rw_eval(r, same, 2, 1) == 0.0);
    rw_free(r);
    r = spec("length:unit=tokens");
    rw_sample t[2] = {{.completion = "x", .ntokens = 100, .correct = 1},
                      {.completion = "xxxxxxx", .ntokens = 300, .correct = 1}};
    EXPECT_NEAR(rw_eval(r, t, 2, 0), 0.5, 1e-12);
    EXPECT_NEAR(rw_eval(r, t, 2, 1), -0.5, 1e-12);
    rw_free(r);
    /* rw_eval_group (what mreward calls: each length measured once) gives rw_eval's values */
    const char *const names[] = {"length", "length:unit=tokens", "accuracy", "cosine:max_len=25"};
    for (int k = 0; k < 4; k++) {
        r = spec(names[k]);
        rw_sample u[4] = {{.completion = "a\xc3\xa9" "bc", .ntokens = 7, .correct = 1},
                          {.completion = "", .ntokens = 0, .correct = 0},
                          {.completion = "aaaaaaaaaaaaaaaaaaaa", .ntokens = 3, .correct = 1},
                          {.completion = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", .ntokens = 9, .correct = 0}};
        double v[4];
        for (int n = 1; n <= 4; n++) {
            rw_eval_group(r, u, n, v);
            for (int i = 0; i < n; i++) EXPECT(v[i] == rw_eval(r, u, n, i));
        }
        rw_free(r);
    }
}

TEST(overlong)
{
    EXPECT(rw_overlong(80, 100, 20) == 0.0);
    EXPECT_NEAR(rw_overlong(90, 100, 20), -0.5, 1e-12);
    EXPECT_NEAR(rw_overlong(100, 100, 20), -1.0, 1e-12);
    EXPECT(rw_overlong(101, 100, 20) == -1.0);
    rw_spec *r = spec("overlong:max_len=4096,cache=512");
    rw_sample s = {.completion = "", .ntokens = 3712};   /* 128 into the 512-token cache */
    EXPECT_NEAR(rw_eval(r, &s, 1, 0), -0.25, 1e-12);
    rw_free(r);
    r = spec("overlong");    /* open-r1 defaults 16384 / 4096 */
    s.ntokens = 14336;
    EXPECT_NEAR(rw_eval(r, &s, 1, 0), -0.5, 1e-12);
    rw_free(r);
}

TEST(language)
{
    rw_spec *r = spec("language");
    rw_sample s = {.completion = "abc \xe6\xb5\x8b\xe8\xaf\x95 1+2=3", .prompt = "Solve x + 1 = 2."};
    EXPECT_NEAR(rw_eval(r, &s, 1, 0), -0.4, 1e-12);      /* 2 of 5 letters are Han */
    s.prompt = "\xe6\xb1\x82\xe8\xa7\xa3";               /* a Chinese prompt */
    EXPECT_NEAR(rw_eval(r, &s, 1, 0), -0.6, 1e-12);
    s.completion = "12345 + = $$";                       /* no letters */
    EXPECT(rw_eval(r, &s, 1, 0) == 0.0);
    rw_free(r);
    r = spec("language:script=cyrillic");
    s.completion = "\xd0\xbf\xd1\x80\xd0\xb8 x";          /* при x: 1 of 4 foreign */
    EXPECT_NEAR(rw_eval(r, &s, 1, 0), -0.25, 1e-12);
    rw_free(r);
    EXPECT(rw_script_of(0x3042) == RW_SCRIPT_CJK && rw_script_of('Q') == RW_SCRIPT_LATIN &&
           rw_script_of(0x3b1) == RW_SCRIPT_GREEK && rw_script_of(0xAC00) == RW_SCRIPT_HANGUL);
    /* Latin modifier, superscript and subscript letters are Script=Latin (Scripts.txt): an
       English answer's x\u2090 or a\u02b0 was foreign */
    EXPECT(rw_script_of(0x2B0) == RW_SCRIPT_LATIN && rw_script_of(0x2E3) == RW_SCRIPT_LATIN &&
           rw_script_of(0x2071) == RW_SCRIPT_LATIN && rw_script_of(0x207F) == RW_SCRIPT_LATIN &&
           rw_script_of(0x2090) == RW_SCRIPT_LATIN && rw_script_of(0x209C) == RW_SCRIPT_LATIN);
    EXPECT(rw_script_of(0x2B9) == RW_SCRIPT_OTHER && rw_script_of(0x2080) == RW_SCRIPT_OTHER);   /* \u02b9 and \u2080 are Common */
    EXPECT(rw_dominant_script(NULL) == RW_SCRIPT_LATIN);
}

TEST(judge_accuracy)
{
    ans_opts o = {.answer_part = 1};
    rw_spec *r = spec("accuracy");
    rw_sample s = {.completion = "so \\boxed{7}\n</think>\nThe answer is \\boxed{42}.", .gold = "42"};
    rw_judge(&s, &o, RW_UNPARSED_CORRECT);
    EXPECT(s.pred && !strcmp(s.pred, "42") && s.correct && !s.gold_unparsed);
    EXPECT(rw_eval(r, &s, 1, 0) == 1.0);
    s.gold = "7";
    rw_judge(&s, &o, RW_UNPARSED_CORRECT);
    EXPECT(s.pred && !s.correct && rw_eval(r, &s, 1, 0) == 0.0);
    s.completion = "no box at all";
    rw_judge(&s, &o, RW_UNPARSED_CORRECT);
    EXPECT(!s.pred && !s.correct);
    s.gold = NULL;   /* no gold: unparsed, scored by the policy, pred null */
    rw_judge(&s, &o, RW_UNPARSED_CORRECT);
    EXPECT(!s.pred && s.correct && s.gold_unparsed);
    rw_judge(&s, &o, RW_UNPARSED_WRONG);
    EXPECT(!s.correct && s.gold_unparsed);
    rw_sample_clear(&s);
    rw_free(r);
}

/* A gold that ans_gold_parses takes (its right side "0" parses) but the checker cannot read
 * whole ("\cos = 0": cos of nothing): every sample of the problem gets the unparsed-gold
 * verdict, with an answer or without one, an empty box or a box too long to be an answer.
 * A completion without a box scored 0 while its group's boxed ones scored 1 (open-rs scores
 * them all 1.0); found by feeding mreward random completions and golds. */
TEST(judge_unparsed_gold_per_problem)
{
    static char huge[4200 + 16];
    strcpy(huge, "\\boxed{");
    memset(huge + 7, '1', 4200);
    strcpy(huge + 7 + 4200, "}");
    const char *comps[] = {"\\boxed{1}", "no box at all", "\\boxed{0}", "\\boxed{ }", huge};
    ans_opts o = {0};
    for (int pol = 0; pol < 2; pol++)
        for (size_t i = 0; i < sizeof comps / sizeof *comps; i++) {
            rw_sample s = {.completion = comps[i], .gold = "\\cos = 0", .ntokens = -1};
            rw_judge(&s, &o, pol ? RW_UNPARSED_WRONG : RW_UNPARSED_CORRECT);
            EXPECTF(s.gold_unparsed && !s.pred && s.correct == !pol, "completion %zu, policy %d: unparsed %d correct %d",
                    i, pol, s.gold_unparsed, s.correct);
            rw_sample_clear(&s);
        }
    /* a gold the checker reads: no answer is wrong, as before */
    rw_sample s = {.completion = "no box at all", .gold = "x = 0", .ntokens = -1};
    rw_judge(&s, &o, RW_UNPARSED_CORRECT);
    EXPECT(!s.gold_unparsed && !s.pred && !s.correct);
    rw_sample_clear(&s);
}

int main(void)
{
    RUN(parse_syntax);
    RUN(count_like_python);
    RUN(format_and_tags);
    RUN(cosine_formula);
    RUN(cosine_reward_chars_tokens);
    RUN(repetition);
    RUN(length_kimi);
    RUN(overlong);
    RUN(language);
    RUN(judge_accuracy);
    RUN(judge_unparsed_gold_per_problem);
    return tst_done();
}
