/* test_answer.c — answer extraction, normalisation and equivalence (libcore/answer.h),
 * pathological inputs, and agreement with Math-Verify on testdata/answers/. */
#include "answer.h"
#include "../test.h"
#include <jv.h>
#include <time.h>

static int eqv(const char *p, const char *g) { return (int)ans_equiv(p, g); }

static int read_is(const char *how, ans_opts o, const char *text, const char *want) {
    char *a = ans_extract(text, &o);
    int ok = want ? (a && strcmp(a, want) == 0) : a == NULL;
    if (!ok) printf("  %s(%s) = %s, want %s\n", how, text, a ? a : "(null)", want ? want : "(null)");
    free(a);
    return ok;
}

static int extract_is(const char *text, int part, int fb, const char *want) {
    return read_is("extract", (ans_opts){.answer_part = part, .fallback = fb}, text, want);
}

static int norm_is(const char *s, const char *want) {
    char *n = ans_normalize(s);
    int ok = n && strcmp(n, want) == 0;
    if (!ok) printf("  normalize(%s) = [%s], want [%s]\n", s, n ? n : "(null)", want);
    free(n);
    return ok;
}

TEST(extract_boxed) {
    EXPECT(extract_is("so \\boxed{5}.", 0, 0, "5"));
    EXPECT(extract_is("\\boxed{1} then \\boxed{\\frac{a}{b}}", 0, 0, "\\frac{a}{b}"));
    EXPECT(extract_is("\\fbox{x+1}", 0, 0, "x+1"));
    EXPECT(extract_is("\\boxed{1} or \\fbox{2}", 0, 0, "2") && extract_is("\\fbox{1} or \\boxed{2}", 0, 0, "2"));   /* the last of either */
    EXPECT(extract_is("the answer: \\boxed 7 done", 0, 0, "7"));
    EXPECT(extract_is("$\\boxed{ {a}^{2} }$", 0, 0, "{a}^{2}"));
    EXPECT(extract_is("\\boxed{2} and \\boxed{\\frac{1}{2}", 0, 0, "2"));   /* truncated last */
    EXPECT(extract_is("no box here", 0, 0, NULL));
    EXPECT(extract_is("\\boxedfoo{3}", 0, 0, NULL));
}

TEST(extract_answer_part) {
    EXPECT(extract_is("\\boxed{1}</think>\nso \\boxed{2}", 1, 0, "2"));
    EXPECT(extract_is("\\boxed{1}</think>\nno box", 1, 0, NULL));
    EXPECT(extract_is("\\boxed{1}</think>\nno box", 0, 0, "1"));
    EXPECT(extract_is("no think \\boxed{3}", 1, 0, "3"));
}

/* A completion longer than the extractor reads (1 MiB) is read from its end, where the
 * answer is: a box at the end of 3 MiB of text is found, one at its start is not. */
TEST(extract_long_text) {
    size_t n = 3u << 20;
    char *t = malloc(n + 64);
    memset(t, 'w', n);
    memcpy(t, "\\boxed{1} ", 10);
    strcpy(t + n, " so \\boxed{7}");
    EXPECT(extract_is(t, 0, 0, "7"));
    EXPECT(extract_is(t, 1, 0, "7"));
    t[n] = 0;
    EXPECT(extract_is(t, 0, 0, NULL));
    free(t);
}

TEST(extract_fallback) {
    EXPECT(extract_is("The answer is 42.", 0, 1, "42"));
    EXPECT(extract_is("The answer is 42.", 0, 0, NULL));
    EXPECT(extract_is("The answer is 41.\n**Answer:** $\\frac{3}{4}$", 0, 1, "\\frac{3}{4}"));
    EXPECT(extract_is("Final answer: 12 apples\nthanks", 0, 1, "12 apples"));
    EXPECT(extract_is("so we get $x=3$ and finally $\\frac{1}{2}$", 0, 1, "\\frac{1}{2}"));
    EXPECT(extract_is("thus \\[ 17 \\]", 0, 1, "17"));
}

/* open-rs's Math-Verify setting reads a LaTeX answer after "answer" when there is no box
 * (each expectation is Math-Verify 0.5.2's parse with open-rs's prediction config). */
static int anchored_is(const char *text, const char *want) {
    return read_is("anchored", (ans_opts){.anchored = 1}, text, want);
}

TEST(extract_anchored) {
    EXPECT(anchored_is("Therefore, the final answer is: $4$. I hope it is correct", "4"));
    EXPECT(anchored_is("**Final Answer**\n\\[ 4 \\]", "4"));
    EXPECT(anchored_is("The final answer, after all this work, is $7$", "7"));
    EXPECT(anchored_is("answer: $4$", "4"));
    EXPECT(anchored_is("Thus the answer is $4$ and not $5$.", "4"));
    EXPECT(anchored_is("the answer is $3$, answer: $4$", "4"));
    EXPECT(anchored_is("Answer: $\\frac{1}{2}$ and $3$", "\\frac{1}{2}, 3"));
    EXPECT(anchored_is("answer is \\frac{3}{4} maybe", "\\frac{3}{4}"));
    EXPECT(anchored_is("the answer is $50\\%$", "50\\%"));
    EXPECT(anchored_is("answer \\( x = 2 \\)", "x = 2"));
    EXPECT(anchored_is("answer is [ 5 ] here", "5"));
    EXPECT(anchored_is("answer is $$\n12\n$$ done", "12"));
    /* the priority of "answer:" over a later bare "answer" */
    EXPECT(anchored_is("Answer: $1$. Let me check the answer $2$", "1"));
    /* no anchor, an anchor too far (over 50 characters), a $ after a digit, plain text */
    EXPECT(anchored_is("We get $4$.", NULL));
    EXPECT(anchored_is("\\[4\\]", NULL));
    EXPECT(anchored_is("answerxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx$4$", NULL));
    EXPECT(anchored_is("answer 12$3$", NULL));
    EXPECT(anchored_is("The final answer is 4", NULL));
    /* a box comes first; without the option nothing is read */
    EXPECT(anchored_is("answer: $4$ so \\boxed{5}", "5"));
    EXPECT(extract_is("answer: $4$", 0, 0, NULL));
}

static int lighteval_is(const char *text, const char *want) {
    return read_is("lighteval", (ans_opts){.lighteval = 1}, text, want);
}

/* What Math-Verify 0.5.2 reads with the study's evaluation settings (each checked with it,
 * tests/ref/lighteval_extract.py's configuration), in mrl's spelling. */
TEST(extract_lighteval) {
    /* a final sentence after a box wins: it ends later, in the same priority group */
    EXPECT(lighteval_is("So $\\boxed{4}$.\n</think>\nTherefore, the final answer is: $5$. I hope it is correct", "5"));
    EXPECT(lighteval_is("so \\boxed{5}.", "5"));
    EXPECT(lighteval_is("$\\boxed{1}$ and $\\boxed{2}$", "1, 2"));
    EXPECT(lighteval_is("The answer is \\boxed 7 obviously", "7"));
    /* no box: an answer word, else the last number, expression or LaTeX of the text */
    EXPECT(lighteval_is("So the answer is 12.", "12"));
    EXPECT(lighteval_is("final answer is 12. I hope", "12"));
    EXPECT(lighteval_is("Answer: 3/4", "3/4"));
    EXPECT(lighteval_is("so we get 3 + 4 = 7 and then the next term is", "7"));
    EXPECT(lighteval_is("Hmm, 2^10 = 1024, and dividing by", "1024"));
    EXPECT(lighteval_is("so x = (3+4)*2", "(3+4)*2"));
    EXPECT(lighteval_is("Let me compute $\\sqrt{49} = 7$", "\\sqrt{49} = 7"));
    /* numbers as Math-Verify writes them: separators out, leading zeros off, a decimal
       comma, a percentage, a currency sign */
    EXPECT(lighteval_is("The total is 1,234 apples", "1234"));
    EXPECT(lighteval_is("it equals 3,5 exactly", "3.5"));
    EXPECT(lighteval_is("the code is 007", "7"));
    EXPECT(lighteval_is("That is 45% of them.", "45\\%"));
    EXPECT(lighteval_is("costs $15 in total", "15"));
    /* "2 × 3" is no Python: the number after it is read */
    EXPECT(lighteval_is("we get 2 \xc3\x97 3", "3"));
    EXPECT(lighteval_is("no numbers here", NULL));
    EXPECT(lighteval_is("", NULL));
    /* a number sympy's Number() cannot read ends Math-Verify's parse with nothing: leading
       zeros kept by the sign, a digit outside ASCII; a box read first is not touched */
    EXPECT(lighteval_is("Answer: -007", NULL));
    EXPECT(lighteval_is("3 and then -0,012", NULL));
    EXPECT(lighteval_is("So the final answer is \xd9\xa3.", NULL));
    EXPECT(lighteval_is("x = -007.5", "-007.5"));
    EXPECT(lighteval_is("it is -00", "-00"));
    EXPECT(lighteval_is("so $\\boxed{4}$ and -007", "4"));
    /* whitespace is Python's (str.isspace): U+001F is a space to the patterns, an expression
       may end in U+0085 (parse_expr strips it) but not hold U+2009, nor '\r' outside
       parentheses; a box's content is stripped of U+00A0 and may be joined across U+001F */
    EXPECT(lighteval_is("the value\x1f" "5", "5"));
    EXPECT(lighteval_is("-5*-5\xc2\x85\xc2\x85", "-5*-5\xc2\x85\xc2\x85"));
    EXPECT(lighteval_is("so 3 +\xe2\x80\x89" "4 ok", "4"));
    EXPECT(lighteval_is("so 1 +\r\n2", "2"));
    EXPECT(lighteval_is("So (1 +\r 2) it", "(1 +\r 2)"));
    EXPECT(lighteval_is("so \\boxed{\xc2\xa0" "5\xc2\xa0}", "5"));
    EXPECT(lighteval_is("so \\boxed{1}\x1f,\x1f\\boxed{2}", "1,2"));
    /* a percentage on a relation does not parse (sympy will not scale an equation), and the
       text kept when nothing parses has no percent sign */
    EXPECT(lighteval_is("so $x \\le 3$ %", "3"));
    EXPECT(lighteval_is("\\[\nk=n+1\n\\]\n%", "k=n+1"));
    EXPECT(lighteval_is("$a=b=5$ %", "a=b=5\\%"));
    EXPECT(lighteval_is("$x$ %", "x\\%"));
    /* every box of an environment is read, however many */
    {
        char t[2048] = "$", want[1024] = "";
        for (int i = 0; i < 70; i++) {
            sprintf(t + strlen(t), "%s\\boxed{%d}", i ? ", " : "", i);
            sprintf(want + strlen(want), "%s%d", i ? "," : "", i);
        }
        strcat(t, "$ ok");
        EXPECT(lighteval_is(t, want));
    }
}

TEST(extract_gold) {
    char *g = ans_extract_gold("We find ... so \\boxed{12}.");
    EXPECT(g && strcmp(g, "12") == 0);
    free(g);
    g = ans_extract_gold("  \\frac{1}{2} ");
    EXPECT(g && strcmp(g, "\\frac{1}{2}") == 0);
    free(g);
}

TEST(normalize) {
    EXPECT(norm_is("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"));
    EXPECT(norm_is("\\dfrac{1}{2}", "\\frac{1}{2}"));
    EXPECT(norm_is("10\\text{ cm}^2", "10"));
    EXPECT(norm_is("x = 5.", "5"));
    EXPECT(norm_is("\\text{(B)}", "B"));
    EXPECT(norm_is("1,000,000", "1000000"));
    EXPECT(norm_is("90^\\circ", "90"));
    EXPECT(norm_is("\\$1{,}234.50", "1234.50"));
    EXPECT(norm_is("x \\in [1, 2)", "[1,2)"));
    EXPECT(norm_is("50\\%", "50"));
    EXPECT(norm_is("\\!3\\,000", "3000"));
    EXPECT(norm_is("\\text{Devon}", "Devon"));
    EXPECT(norm_is("12 inches", "12"));
    EXPECT(norm_is("1,2", "1,2"));
    EXPECT(norm_is("34\\text{ sq. units}", "34"));
    EXPECT(norm_is("11^{\\text{th}}", "11"));
    EXPECT(norm_is("\\( \\frac{2}{3} \\)", "\\frac{2}{3}"));
    EXPECT(norm_is("2, 3, \\text{ and } 4", "2,3,4"));
    EXPECT(norm_is("\\approx 8.24 \\text{ mph}", "8.24"));
}

TEST(equiv_basic) {
    EXPECT(eqv("5", "5") == 1);
    EXPECT(eqv("5.0", "5") == 1);
    EXPECT(eqv("\\frac{1}{2}", "0.5") == 1);
    EXPECT(eqv("1/2", "\\dfrac{1}{2}") == 1);
    EXPECT(eqv("6", "5") == 0);
    EXPECT(eqv("x=5", "5") == 1);
    /* a gold equation against a value: its right side whatever the left, as Math-Verify 0.5.2
       judges these (an OlympiadBench gold reads "\\angle A = ..."; only a plain name on the
       left was read, so "30" for it was wrong); a predicted one only as a plain assignment */
    EXPECT(eqv("30", "\\angle A = 30^\\circ") == 1 && eqv("45", "m\\angle ABC = 45^\\circ") == 1);
    EXPECT(eqv("30^\\circ", "\\angle A = 30^\\circ") == 1 && eqv("31", "\\angle A = 30^\\circ") == 0);
    EXPECT(eqv("7", "AB + BC = 7") == 1 && eqv("4", "2x = 4") == 1 && eqv("5", "|x| = 5") == 1);
    EXPECT(eqv("y = 30", "x = 30") == 0 && eqv("2x = 5", "5") == 0 && eqv("x = 5", "5") == 1);
    EXPECT(eqv(NULL, "5") == 0);
    EXPECT(eqv("5", "") == 2);
    EXPECT(eqv("(B)", "B") == 1);
    EXPECT(eqv("\\frac{1}{3}", "1:3") == 1);
    EXPECT(eqv("\\pm8", "\\pm 8") == 1);
    EXPECT(eqv("8", "\\pm 8") == 0);
    EXPECT(ans_gold_parses("1:3") && ans_gold_parses("\\pm 8") && ans_gold_parses("\\text{even}"));
    EXPECT(!ans_gold_parses("") && !ans_gold_parses("np.arcsin(10/13)"));
    /* a gold parses only when the checker reads it whole: "\cos = 0" (its right side parses,
       the equation does not) passed, though ans_equiv calls it unparsed for every answer */
    EXPECT(ans_equiv("0", "\\cos = 0") == ANS_UNPARSED_GOLD && !ans_gold_parses("\\cos = 0"));
    EXPECT(ans_gold_parses("x = 0") && ans_gold_parses("f(x) = 2x+1") && ans_gold_parses("x \\in [1,2]"));
    /* the Unicode operators (× ÷ · ⋅ −) are LaTeX's, "percent" is a percent sign */
    EXPECT(eqv("2 \xc3\x97 3", "6") == 1 && eqv("2 \xc3\x97 3", "5") == 0);
    EXPECT(eqv("6 \xc3\xb7 2", "3") == 1 && eqv("2\xc2\xb7" "3", "6") == 1 && eqv("2\xe2\x8b\x85" "x", "2x") == 1);
    EXPECT(eqv("\xe2\x88\x92" "5", "-5") == 1);
    EXPECT(eqv("5 percent", "5") == 1 && eqv("50 percent", "0.5") == 1 && eqv("50 percent", "0.4") == 0);
    EXPECT(eqv("50 percentile", "0.5") == 0);
    /* a percent sign on both sides: the numbers compare as they are (the one-sided reading,
       50% as 0.5, made 1% equal 100% and 0.05% equal 5%) */
    EXPECT(eqv("1\\%", "100\\%") == 0 && eqv("100\\%", "1\\%") == 0);
    EXPECT(eqv("0.05\\%", "5\\%") == 0 && eqv("5000 percent", "50\\%") == 0);
    EXPECT(eqv("50\\%", "50 percent") == 1 && eqv("\\frac{1}{2}\\%", "0.5\\%") == 1);
    EXPECT(eqv("5000\\%", "50") == 1 && eqv("0.5", "50\\%") == 1 && eqv("50", "50\\%") == 1);
    /* without a decimal literal, values at the sample points compare closer than 1e-6 (the
       tolerance of a decimal's rounding): 1000001x is not 1000000x, y = 10001x is not
       y = 10000x (a scaled equation's ratio is constant to 1e-9, not 1e-6) */
    EXPECT(eqv("1000001x", "1000000x") == 0 && eqv("y=10001x", "y=10000x") == 0);
    EXPECT(eqv("2y=2000000x", "y=1000000x") == 1 && eqv("1000000x", "10^6x") == 1);
    EXPECT(eqv("1000000.1x", "1000000x") == 1);
}

/* Normalisation never cuts what it writes: "×" (2 bytes) becomes "\times " (7), and the
 * buffer had room for twice the input, so 1·1·...·1·3 and 1·1·...·1·2 were both cut before
 * their last factor and compared equal. An answer longer than any (4 KiB) is kept whole:
 * cut to its start, two that differ only after it were one class in the majority vote. */
TEST(normalize_no_cut) {
    char g[1024], p[1024], *q = g, *r = p;
    for (int i = 0; i < 100; i++) q += sprintf(q, "%s", i ? "\xc2\xb7" "1" : "1"), r += sprintf(r, "%s", i ? "\xc2\xb7" "1" : "1");
    strcpy(q, "\xc2\xb7" "2"), strcpy(r, "\xc2\xb7" "3");
    EXPECT(eqv(p, g) == 0 && eqv(g, g) == 1);
    q = g, r = p;
    for (int i = 0; i < 100; i++) q += sprintf(q, "%s", i ? "\xc3\x97" "2" : "2"), r += sprintf(r, "%s", i ? "\xc3\x97" "2" : "2");
    strcpy(q, "\xc3\x97" "3"), strcpy(r, "\xc3\x97" "5");
    EXPECT(eqv(p, g) == 0);
    char *n = ans_normalize(g);
    EXPECT(n && strlen(n) > 700 && strcmp(n + strlen(n) - 2, " 3") == 0);
    free(n);
    size_t len = 6000;
    char *a = malloc(len + 2), *b = malloc(len + 2);
    memset(a, '7', len), memset(b, '7', len);
    a[len] = '1', b[len] = '2', a[len + 1] = b[len + 1] = 0;
    char *na = ans_normalize(a), *nb = ans_normalize(b);
    EXPECT(na && nb && strcmp(na, nb) != 0);
    free(na), free(nb), free(a), free(b);
}

TEST(equiv_classes) {
    /* words are words: letters in order, not a product of letters; a word the parser cannot
       read ("Stan": s times tan) is compared as a word, never "unparsed" (which would reward
       any boxed answer under --unparsed-gold correct) */
    EXPECT(eqv("May", "\\text{Amy}") == 0);
    EXPECT(eqv("\\text{seat}", "\\text{east}") == 0);
    EXPECT(eqv("devon", "\\text{Devon}") == 1);
    EXPECT(eqv("new york", "\\text{New York}") == 1);
    EXPECT(eqv("Bob", "\\text{Stan}") == 0);
    EXPECT(eqv("stan", "\\text{Stan}") == 1);
    EXPECT(eqv("Bob", "Lincoln") == 0);
    EXPECT(eqv("yx", "xy") == 1);                       /* no \\text: a product, as Math-Verify */
    /* a gold tuple is matched by a bare list in any order, not by a set (Math-Verify: False) */
    EXPECT(eqv("5,3", "(3,5)") == 1);
    EXPECT(eqv("\\{5,3\\}", "(3,5)") == 0);
    /* numbers */
    EXPECT(eqv("0.333333", "\\frac{1}{3}") == 1);
    EXPECT(eqv("0.33", "\\frac{1}{3}") == 0);
    EXPECT(eqv("2.5", "2\\frac{1}{2}") == 1);
    EXPECT(eqv("44000000", "4.4\\times 10^{7}") == 1);
    EXPECT(eqv("4.4\\times10^7", "4.4e7") == 1);
    EXPECT(eqv("1.33e-27", "1.325e-27") == 0);
    EXPECT(eqv("0.5", "50\\%") == 1);
    EXPECT(eqv("2^{101}", "2^{100}") == 0);
    EXPECT(eqv("1267650600228229401496703205376", "2^{100}") == 1);
    EXPECT(eqv("1000000008", "1000000007") == 0);       /* integers compare exactly */
    EXPECT(eqv("1234567.4", "1234567") == 0);           /* 6 decimal places, not 1e-6 relative */
    EXPECT(eqv("2.0000001", "2") == 1);
    EXPECT(eqv("2.000001", "2") == 0);
    EXPECT(eqv("4.40000001\\times10^{10}", "4.4e10") == 1);
    EXPECT(eqv("\\frac{355}{113}", "\\pi") == 0);
    EXPECT(eqv("3628800", "10!") == 1);
    EXPECT(eqv("6402373705728000", "18!") == 1);
    EXPECT(eqv("\\frac{10!}{8!\\,2!}", "\\binom{10}{2}") == 1);
    EXPECT(eqv("2^{10001}", "2^{10000}") == 0);
    /* expressions */
    EXPECT(eqv("(x+1)^2", "x^2+2x+1") == 1);
    EXPECT(eqv("(x-1)^2", "x^2-1") == 0);
    EXPECT(eqv("2\\sin x\\cos x", "\\sin 2x") == 1);
    /* each function against its definition, and against a neighbour it must not equal (\sec was
       never evaluated by a test: 1/sin passed them all) */
    static const char *const fdef[][3] = {
        {"\\tan x", "\\frac{\\sin x}{\\cos x}", "\\cot x"}, {"\\cot x", "\\frac{\\cos x}{\\sin x}", "\\tan x"},
        {"\\sec x", "\\frac{1}{\\cos x}", "\\csc x"}, {"\\csc x", "\\frac{1}{\\sin x}", "\\sec x"},
        {"\\sinh x", "\\frac{e^x-e^{-x}}{2}", "\\cosh x"}, {"\\cosh x", "\\frac{e^x+e^{-x}}{2}", "\\sinh x"},
        {"\\tanh x", "\\frac{\\sinh x}{\\cosh x}", "\\sinh x"}, {"\\exp(x)", "e^{x}", "e^{2x}"},
        {"\\sec(0)", "1", "0"},
    };
    for (size_t i = 0; i < sizeof fdef / sizeof *fdef; i++)
        EXPECTF(eqv(fdef[i][0], fdef[i][1]) == 1 && eqv(fdef[i][0], fdef[i][2]) == 0, "%s: = %s %d, = %s %d",
                fdef[i][0], fdef[i][1], eqv(fdef[i][0], fdef[i][1]), fdef[i][2], eqv(fdef[i][0], fdef[i][2]));
    EXPECT(eqv("\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}") == 1);
    EXPECT(eqv("3\\ln 2", "\\ln 8") == 1);
    EXPECT(eqv("2", "\\log 100") == 1);                 /* \log is base 10, as Math-Verify */
    EXPECT(eqv("3\\ln 2", "\\log 8") == 0);
    EXPECT(eqv("x", "\\sqrt{x^2}") == 0);
    EXPECT(eqv("C_1e^t+\\frac{1}{15}e^{-2t}", "\\frac{e^{-2 t}}{15}+C_{1} e^{t}") == 1);
    /* tuples, sets, intervals */
    EXPECT(eqv("(1,2)", "(1,2)") == 1);
    EXPECT(eqv("(2,1)", "(1,2)") == 0);
    EXPECT(eqv("\\{3,2,1\\}", "\\{1,2,3\\}") == 1);
    EXPECT(eqv("15, 5", "5,15") == 1);
    EXPECT(eqv("(5,15)", "5,15") == 1);
    EXPECT(eqv("(15,5)", "5,15") == 0);
    EXPECT(eqv("2,1", "(1,2)") == 1);
    EXPECT(eqv("x>0", "(0,\\infty)") == 1);
    EXPECT(eqv("x\\ge 0", "(0,\\infty)") == 0);
    EXPECT(eqv("x\\le 3", "(-\\infty,3]") == 1);
    EXPECT(eqv("(1,2)", "x=1,y=2") == 1);
    EXPECT(eqv("1,2", "1,2,3") == 0);
    EXPECT(eqv("[1,2)", "[1,2)") == 1);
    EXPECT(eqv("(1,2]", "[1,2]") == 0);
    EXPECT(eqv("(1,\\infty)\\cup(-\\infty,0)", "(-\\infty,0)\\cup(1,\\infty)") == 1);
    /* infinity is no expression with a variable, either way round (|x - inf| <= 1e-6 |inf|
     * held for every x: \boxed{\infty} scored on every symbolic gold) */
    static const char *const sym[] = {"x", "n", "abc", "2x", "x+1", "\\sqrt{x}", "a+b", "y=2x+3", "\\text{none}", "10^{400}"};
    for (size_t i = 0; i < sizeof sym / sizeof *sym; i++) {
        EXPECTF(eqv(sym[i], "\\infty") == 0, "%s vs \\infty", sym[i]);
        EXPECTF(eqv("\\infty", sym[i]) == 0, "\\infty vs %s", sym[i]);
    }
    EXPECT(eqv("(x,3)", "(-\\infty,3)") == 0);
    EXPECT(eqv("x", "10^{400}") == 0);
    EXPECT(eqv("x+\\infty", "y+\\infty") == 0);
    EXPECT(eqv("\\infty", "\\infty") == 1);
    /* exact rationals, as Math-Verify's sympy: past 2^53 and near 0 doubles cannot tell */
    EXPECT(eqv("2^{100}", "2^{100}-2") == 0);
    EXPECT(eqv("2^{100}+2", "2^{100}-2") == 0);
    EXPECT(eqv("1267650600228229401496703205374", "2^{100}-2") == 1);
    EXPECT(eqv("2^{1009}-1", "2^{1009}") == 0);
    EXPECT(eqv("\\frac{100!}{2^{50}}-1", "\\frac{100!}{2^{50}}") == 0);
    EXPECT(eqv("\\frac{100!}{2^{49}}", "2\\cdot\\frac{100!}{2^{50}}") == 1);
    EXPECT(eqv("12345678901234560", "12345678901234567") == 0);
    EXPECT(eqv("12345678901234567", "12345678901234567") == 1);
    EXPECT(eqv("0", "\\frac{1}{2^{98}}") == 0);
    EXPECT(eqv("10^{-15}", "0") == 0);
    EXPECT(eqv("x-x", "1.325e-27") == 0);
    EXPECT(eqv("\\frac{1}{8}", "2^{-3}") == 1);
    EXPECT(eqv("\\sin(\\pi)", "0") == 1);       /* not exact: doubles, with their slack */
    /* a multiple of one prime is not 0 under the other; overflowed doubles do not decide */
    EXPECT(eqv("2305843009213693952", "1") == 0);
    EXPECT(eqv("(2^{61}-1)\\cdot 2", "0") == 0);
    EXPECT(eqv("(2^{61}-1)^{-1}", "0") == 0);
    EXPECT(eqv("10^{400}+12345678901234568", "10^{400}+12345678901234567") == 0);
    EXPECT(eqv("4^{1000}", "2^{2000}") == 1);
    EXPECT(eqv("1+10^{400}", "10^{400}+1") == 1);
    EXPECT(eqv("2^{100}+1-2^{100}", "1") == 1);
    EXPECT(eqv("\\frac{2}{\\sqrt{2}}", "\\sqrt{2}") == 1);
    EXPECT(eqv("x+\\infty", "x+\\infty") == 1);
    /* \dot / \ddot name a quantity (latex2sympy: the symbol dot{x}_0), subscript and all;
       Minerva's gold minerva-72, with the stray "$ $" its solution's box holds */
    EXPECT(eqv("x_0 \\cos(\\omega t) + \\frac{\\dot{x}_0}{\\omega} \\sin(\\omega t)",
               "x_{0} \\cos (\\omega t)+$ $\\dot{x}_{0} \\sin (\\omega t) / \\omega") == 1);
    EXPECT(eqv("x_0 \\cos(\\omega t) + \\frac{\\dot{x}_1}{\\omega} \\sin(\\omega t)",
               "x_{0} \\cos (\\omega t)+ \\dot{x}_{0} \\sin (\\omega t) / \\omega") == 0);
    EXPECT(eqv("\\ddot{x}", "\\dot{x}") == 0 && eqv("2\\ddot{y}", "\\ddot{y}+\\ddot{y}") == 1);
    /* relations, matrices, words */
    EXPECT(eqv("1<x", "x>1") == 1);
    EXPECT(eqv("x\\ge1", "x>1") == 0);
    EXPECT(eqv("y=3+2x", "y=2x+3") == 1);
    EXPECT(eqv("\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}") == 1);
    EXPECT(eqv("\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}") == 0);
    EXPECT(eqv("\\text{Even}", "\\text{even}") == 1);
    EXPECT(eqv("odd", "\\text{even}") == 0);
    EXPECT(eqv("-1\\le x\\le 1", "[-1,1]") == 1);
    EXPECT(eqv("-1< x\\le 1", "[-1,1]") == 0);
    EXPECT(eqv("3 r^{2}", "3R^2") == 1);              /* names fold case, as Math-Verify */
    EXPECT(eqv("\\delta", "\\Delta") == 1);
    EXPECT(eqv("4210", "4210_{5}") == 1);              /* digits of a base-5 numeral */
    EXPECT(eqv("4210_7", "4210_{5}") == 0);
    EXPECT(eqv("58, 500", "58,500") == 0);              /* a spaced comma is a list */
    EXPECT(eqv("-0.3333333", "-1./3") == 1);
    EXPECT(eqv("\\lceil n/7\\rceil+1", "\\lceil n/2\\rceil+1") == 0);
    EXPECT(eqv("2^{1/3}", "\\sqrt[3]{2}") == 1);
    EXPECT(eqv("1-\\sqrt{2}", "1\\pm\\sqrt{2}") == 0);
    EXPECT(eqv("1\\pm\\sqrt2", "1\\pm\\sqrt{2}") == 1);
    EXPECT(eqv("1+\\sqrt{2}, 1-\\sqrt{2}", "1\\pm\\sqrt{2}") == 1);   /* \pm: both branches */
    EXPECT(eqv("1\\mp\\sqrt{2}", "1+\\sqrt{2}, 1-\\sqrt{2}") == 1);
    EXPECT(eqv("2,-2", "\\pm 2") == 1);
    EXPECT(eqv("2,2", "\\pm 2") == 0);
    EXPECT(eqv("x=2, x=-2", "x=\\pm 2") == 1);
    EXPECT(eqv("\\{1+\\sqrt{5},1-\\sqrt{5},-2\\}", "\\{1\\pm\\sqrt{5},-2\\}") == 1);
    EXPECT(eqv("\\{1+\\sqrt{5},-2\\}", "\\{1\\pm\\sqrt{5},-2\\}") == 0);
    EXPECT(eqv("y-2x=3", "y=2x+3") == 1);
    EXPECT(eqv("2y=4x+6", "y=2x+3") == 1);            /* Math-Verify solves: same line */
    EXPECT(eqv("2y=4x+7", "y=2x+3") == 0);
    EXPECT(eqv("2x>2", "x>1") == 1);
    EXPECT(eqv("-2x>-2", "x>1") == 0);
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Hostile inputs finish and never crash. Each call's time is printed, not asserted (a speed
 * is a benchmark's to measure: bench/bench-answers.sh times degenerate completions); a hang is
 * the runner's per-file limit's (make test: MRL_TEST_TIMEOUT). */
TEST(pathological) {
    size_t n = 100000;
    char *s = malloc(n + 64);
    double worst = 0;
    const char *pat[] = {"{", "(", "\\frac{", "^{", "\\sqrt{", "2^", "x", "-", "\\left(", "|", "\\boxed{", "1+", "\\{", "[", "e", "!"};
    for (size_t k = 0; k < sizeof pat / sizeof pat[0]; k++) {
        size_t l = strlen(pat[k]), i = 0;
        while (i + l < n) { memcpy(s + i, pat[k], l); i += l; }
        s[i] = 0;
        double t0 = now_s();
        ans_opts o = {.answer_part = 1, .fallback = 1, .anchored = 1};
        char *a = ans_extract(s, &o);
        ans_verdict v1 = ans_equiv(s, s + 1), v2 = ans_equiv(s, "5"), v3 = ans_equiv("5", s);
        char *z = ans_normalize(s);
        (void)ans_gold_parses(s);
        double dt = now_s() - t0;
        if (dt > worst) worst = dt;
        EXPECT(v1 <= 2 && v2 <= 2 && v3 <= 2);
        free(a);
        free(z);
    }
    const char *evil[] = {"10^{10^{10^{10}}}", "9!!!!!!!!!!", "(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))",
        "2^{99999999999}", "\\binom{100000000}{50000000}", "0^0", "\\frac{1}{0}", "\\sqrt{-1}", "\\log_1 1", "170!", "1e999999",
        "\\begin{pmatrix}", "\\begin{pmatrix}1&2\\\\3\\end{pmatrix}", "\\left(\\right.", "\\boxed", "x^", "\\frac{}{}", ""};
    for (size_t k = 0; k < sizeof evil / sizeof evil[0]; k++) {
        double t0 = now_s();
        ans_verdict v = ans_equiv(evil[k], evil[k]);
        v = ans_equiv("1", evil[k]);
        v = ans_equiv(evil[k], "1");
        double dt = now_s() - t0;
        if (dt > worst) worst = dt;
        EXPECT(v <= 2);
    }
    /* the heaviest valid shape within the size limits: 64-item sets of expressions */
    char *a = malloc(8192), *b = malloc(8192), *q = a;
    q += sprintf(q, "\\{");
    for (int i = 0; i < 64; i++) q += sprintf(q, "%s\\frac{%d+\\sqrt{x+%d}}{y^%d}", i ? "," : "", i, i, i % 5 + 1);
    sprintf(q, "\\}");
    q = b;
    q += sprintf(q, "\\{");
    for (int i = 63; i >= 0; i--) q += sprintf(q, "%s\\frac{%d+\\sqrt{x+%d}}{y^%d}", i < 63 ? "," : "", i, i, i % 5 + 1);
    sprintf(q, "\\}");
    double t0 = now_s();
    EXPECT(ans_equiv(b, a) == ANS_EQUIV);
    double dt = now_s() - t0;
    if (dt > worst) worst = dt;
    free(a);
    free(b);
    /* a set of 64 exact values with factorials, the prediction in reverse order and one item
       wrong: each value's residues were computed again for every pairing (1.5 s; 0.04 once
       per value) */
    for (int wrong = 1; wrong >= 0; wrong--) {
        a = malloc(8192), b = malloc(8192);
        char *qa = a, *qb = b;
        qa += sprintf(qa, "\\{"), qb += sprintf(qb, "\\{");
        for (int i = 0; i < 64; i++) {
            qa += sprintf(qa, "%s9999!+9999!+9999!+%d", i ? "," : "", i);
            qb += sprintf(qb, "%s9999!+9999!+9999!+%d", i ? "," : "", i == 0 && wrong ? 999 : 63 - i);
        }
        sprintf(qa, "\\}"), sprintf(qb, "\\}");
        t0 = now_s();
        EXPECT(ans_equiv(b, a) == (wrong ? ANS_WRONG : ANS_EQUIV));
        dt = now_s() - t0;
        EXPECTF(dt < 1.0, "factorial set: %.2f s", dt);   /* a hang guard: 0.04 s now, 1.5 before */
        if (dt > worst) worst = dt;
        free(a);
        free(b);
    }
    printf("  slowest hostile case: %.1f ms\n", worst * 1e3);
    free(s);
}

/* Hostile texts for the anchored patterns (open delimiters after many anchors): they finish
 * (times printed, as above). */
TEST(anchored_hostile) {
    size_t n = 1u << 20;
    char *s = malloc(n + 64);
    double worst = 0;
    const char *pat[] = {"answer $$", "answer \\[", "answer $", "answer \\(", "answer: ", "final answer ", "answer and $1$ or ", "answer [ "};
    for (size_t k = 0; k < sizeof pat / sizeof pat[0]; k++) {
        size_t l = strlen(pat[k]), i = 0;
        while (i + l < n) { memcpy(s + i, pat[k], l); i += l; }
        s[i] = 0;
        double t0 = now_s();
        ans_opts o = {.anchored = 1};
        char *a = ans_extract(s, &o);
        double dt = now_s() - t0;
        if (dt > worst) worst = dt;
        free(a);
    }
    printf("  slowest hostile anchored case: %.1f ms\n", worst * 1e3);
    free(s);
}

static const char *jstr(jv o, const char *k, jv *hold) {
    *hold = jv_object_get(jv_copy(o), jv_string(k));
    return jv_get_kind(*hold) == JV_KIND_STRING ? jv_string_value(*hold) : NULL;
}

/* Hostile texts for lighteval's patterns: they finish, like the anchored ones. */
TEST(lighteval_hostile) {
    size_t n = 1u << 20;
    char *s = malloc(n + 64);
    double worst = 0;
    const char *pat[] = {"answer $$", "answer \\[", "$", "\\boxed{", "answer: 1 ", "final answer ",
                         "1,", "1 + ", "$\\boxed{1}$ and ", "answer = ", " [ 1", "$)$ ", "$\\frac{$ ",
                         "\\boxed{)} "};
    for (size_t k = 0; k < sizeof pat / sizeof pat[0]; k++) {
        size_t l = strlen(pat[k]), i = 0;
        while (i + l < n) { memcpy(s + i, pat[k], l); i += l; }
        s[i] = 0;
        double t0 = now_s();
        ans_opts o = {.lighteval = 1};
        char *a = ans_extract(s, &o);
        double dt = now_s() - t0;
        if (dt > worst) worst = dt;
        free(a);
    }
    /* a number and then a long blank run, as a completion that ends in newlines until the
       limit: the percent's nested \s* tried every split of the run (64 KiB took 13 s) */
    size_t m = 1u << 16;
    memcpy(s, "so 5", 4);
    memset(s + 4, '\n', m - 4);
    s[m] = 0;
    double t0 = now_s();
    EXPECT(lighteval_is(s, "5"));
    if (now_s() - t0 > worst) worst = now_s() - t0;
    /* one environment full of boxes ("$\boxed{1}\boxed{1}...$", 630 KB): each box searched
       the text back to its start for a \fbox: 20 s where it takes 0.15. Bounded against the
       same machine's time for an environment as long without boxes (0.2-0.3 s), not against
       a clock: an emulated arm64 run took 11 s for both kinds (qemu), a loaded CI machine is
       slower too. The quadratic search was ~60x that reference; the bound is 10x, and a run
       over it is repeated (the best of two) so one preemption does not decide it. */
    {
        double tb = 1e30, tr = 1e30;
        for (int rep = 0; rep < 2 && (rep == 0 || !(tb < 10 * tr)); rep++)   /* a second only where the first is over */
            for (int box = 0; box < 2; box++) {
                const char *unit = box ? "\\boxed{1}" : "x+1=2 and ";
                size_t k = 0, ul = strlen(unit);
                s[k++] = '$';
                while (k + ul + 1 < 630000) memcpy(s + k, unit, ul), k += ul;
                s[k++] = '$', s[k] = 0;
                t0 = now_s();
                ans_opts o = {.lighteval = 1};
                char *a = ans_extract(s, &o);
                double dt = now_s() - t0;
                if (dt > worst) worst = dt;
                if (box) tb = dt < tb ? dt : tb;
                else tr = dt < tr ? dt : tr;
                free(a);
            }
        EXPECTF(tr < 1e30 && tb < 10 * tr, "%.3f s for the boxes, %.3f s for as long an environment without", tb, tr);
    }
    printf("  slowest hostile lighteval case: %.1f ms\n", worst * 1e3);
    /* invalid UTF-8 is read as Python reads bytes decoded with errors="replace" (and as
       mreward's JSON reader hands it over): a bad byte does not hide the answer, nor does a
       long text cut inside a character (ans_extract keeps its last MiB) */
    EXPECT(lighteval_is("\xff\xc3 so \xe2\x82 \\boxed{5} \xf0\x9f", "5"));
    for (size_t i = 0; i < n; i += 2) memcpy(s + i, "\xc3\xa9", 2);
    strcpy(s + n, " so \\boxed{7}");   /* 13 bytes: the last MiB starts inside an "é" */
    EXPECT(lighteval_is(s, "7"));
    free(s);
}

/* Agreement with Math-Verify (tests/ref/mathverify_pairs.py) on the committed fixture:
 * every disagreement is listed; the test fails below 98 %. */
TEST(mathverify_agreement) {
    FILE *f = fopen("testdata/answers/mathverify-pairs.jsonl", "r");
    if (!f) SKIP("testdata/answers/mathverify-pairs.jsonl missing (run from the repo root)");
    char *line = NULL;
    size_t cap = 0;
    int n = 0, agree = 0, np = 0, ap = 0;
    while (getline(&line, &cap, f) > 0) {
        jv o = jv_parse(line), hg, hp, hm;
        if (!jv_is_valid(o)) { jv_free(o); continue; }
        const char *gold = jstr(o, "gold", &hg), *pred = jstr(o, "pred", &hp);
        hm = jv_object_get(jv_copy(o), jv_string("mathverify"));
        jv hgp = jv_object_get(jv_copy(o), jv_string("gold_parsed"));
        /* compared as open-rs's accuracy reward: a gold Math-Verify cannot parse scores 1,
         * as ANS_UNPARSED_GOLD does under mreward's default --unparsed-gold correct */
        int mv = jv_get_kind(hm) == JV_KIND_TRUE || jv_get_kind(hgp) == JV_KIND_FALSE;
        jv hpp = jv_object_get(jv_copy(o), jv_string("pred_parsed"));
        int pparsed = jv_get_kind(hpp) != JV_KIND_FALSE;
        jv_free(hgp);
        jv_free(hpp);
        char *comp = malloc(strlen(pred) + 128);
        sprintf(comp, "Let me think step by step.\n</think>\nTherefore, the final answer is: $\\boxed{%s}$. I hope it is correct", pred);
        ans_opts opt = {.answer_part = 1};
        char *p = ans_extract(comp, &opt), *g = ans_extract_gold(gold);
        ans_verdict v = ans_equiv(p, g);
        int mine = v == ANS_EQUIV || v == ANS_UNPARSED_GOLD;
        n++;
        np += pparsed;
        if (mine == mv) agree++, ap += pparsed;
        else printf("  disagree: gold=%s pred=%s mathverify=%d mrl=%d%s\n", gold, pred, mv, mine,
                    pparsed ? "" : " (Math-Verify did not parse the prediction)");
        free(comp); free(p); free(g);
        jv_free(hg); jv_free(hp); jv_free(hm); jv_free(o);
    }
    free(line);
    fclose(f);
    printf("  agreement with Math-Verify: all pairs %d/%d = %.2f%%; pairs whose prediction "
           "Math-Verify parses %d/%d = %.2f%%\n", agree, n, 100.0 * agree / (n ? n : 1), ap, np,
           100.0 * ap / (np ? np : 1));
    EXPECT(n >= 500);
    /* Where Math-Verify cannot even parse the prediction ("\boxed{7.}", "\frac43",
     * "4.4e7") its "wrong" is not a judgement; the 98 % goal is on the pairs it judged,
     * and all pairs must stay above 90 % (BENCHMARKS.md lists every case). */
    EXPECT(ap >= 0.98 * np);
    EXPECT(agree >= 0.90 * n);
}

/* Whole completions scored as the study's evaluation scored them (lighteval: Math-Verify's
 * extraction with ExprExtractionConfig and LatexExtractionConfig(boxed_match_priority=0);
 * tests/ref/lighteval_extract.py): mreward --lighteval must agree on 98 %; make eval's
 * earlier extraction (the last box, else --fallback) is measured beside it. */
TEST(lighteval_agreement) {
    FILE *f = fopen("testdata/answers/lighteval-completions.jsonl", "r");
    if (!f) SKIP("testdata/answers/lighteval-completions.jsonl missing (run from the repo root)");
    char *line = NULL;
    size_t cap = 0;
    int n = 0, agree = 0, agree_fb = 0;
    while (getline(&line, &cap, f) > 0) {
        jv o = jv_parse(line), hg, hc, hm, hp;
        if (!jv_is_valid(o)) { jv_free(o); continue; }
        const char *gold = jstr(o, "gold", &hg), *comp = jstr(o, "completion", &hc);
        const char *mvp = jstr(o, "mv_pred", &hp);
        hm = jv_object_get(jv_copy(o), jv_string("mv_correct"));
        int mv = jv_get_kind(hm) == JV_KIND_TRUE;
        ans_opts lo = {.lighteval = 1}, fo = {.fallback = 1};
        char *p = ans_extract(comp, &lo), *q = ans_extract(comp, &fo), *g = ans_extract_gold(gold);
        ans_verdict v = ans_equiv(p, g), w = ans_equiv(q, g);
        int mine = v == ANS_EQUIV || v == ANS_UNPARSED_GOLD, fb = w == ANS_EQUIV || w == ANS_UNPARSED_GOLD;
        n++;
        agree_fb += fb == mv;
        if (mine == mv) agree++;
        else printf("  disagree: gold=%s mathverify=%d (read %s) mrl=%d (read %s)\n", gold, mv,
                    mvp, mine, p ? p : "nothing");
        free(p); free(q); free(g);
        jv_free(hg); jv_free(hc); jv_free(hm); jv_free(hp); jv_free(o);
    }
    free(line);
    fclose(f);
    printf("  agreement with lighteval's verdicts: --lighteval %d/%d = %.2f%%, the last box "
           "else --fallback %d/%d = %.2f%%\n",
           agree, n, 100.0 * agree / (n ? n : 1), agree_fb, n, 100.0 * agree_fb / (n ? n : 1));
    EXPECT(n >= 1000);
    EXPECT(agree >= 0.98 * n);
}

int main(void) {
    RUN(extract_boxed);
    RUN(extract_answer_part);
    RUN(extract_long_text);
    RUN(extract_fallback);
    RUN(extract_anchored);
    RUN(anchored_hostile);
    RUN(extract_lighteval);
    RUN(lighteval_hostile);
    RUN(extract_gold);
    RUN(normalize);
    RUN(equiv_basic);
    RUN(normalize_no_cut);
    RUN(equiv_classes);
    RUN(pathological);
    RUN(mathverify_agreement);
    RUN(lighteval_agreement);
    return tst_done();
}
