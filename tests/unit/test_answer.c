/* test_answer.c — answer extraction, normalisation and equivalence (libcore/answer.h),
 * pathological inputs, and agreement with Math-Verify on testdata/answers/. */
#include "answer.h"
#include "../test.h"

static int eqv(const char *p, const char *g) { return (int)ans_equiv(p, g); }

static int extract_is(const char *text, int part, int fb, const char *want) {
    ans_opts o = {part, fb};
    char *a = ans_extract(text, &o);
    int ok = want ? (a && strcmp(a, want) == 0) : a == NULL;
    if (!ok) printf("  extract(%s) = %s, want %s\n", text, a ? a : "(null)", want ? want : "(null)");
    free(a);
    return ok;
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

TEST(extract_fallback) {
    EXPECT(extract_is("The answer is 42.", 0, 1, "42"));
    EXPECT(extract_is("The answer is 42.", 0, 0, NULL));
    EXPECT(extract_is("so we get $x=3$ and finally $\\frac{1}{2}$", 0, 1, "\\frac{1}{2}"));
    EXPECT(extract_is("thus \\[ 17 \\]", 0, 1, "17"));
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
}

TEST(equiv_basic) {
    EXPECT(eqv("5", "5") == 1);
    EXPECT(eqv("5.0", "5") == 1);
    EXPECT(eqv("\\frac{1}{2}", "0.5") == 1);
    EXPECT(eqv("1/2", "\\dfrac{1}{2}") == 1);
    EXPECT(eqv("6", "5") == 0);
    EXPECT(eqv("x=5", "5") == 1);
    EXPECT(eqv(NULL, "5") == 0);
    EXPECT(eqv("5", "") == 2);
    EXPECT(eqv("(B)", "B") == 1);
}

int main(void) {
    RUN(extract_boxed);
    RUN(extract_answer_part);
    RUN(extract_fallback);
    RUN(extract_gold);
    RUN(normalize);
    RUN(equiv_basic);
    return tst_done();
}
