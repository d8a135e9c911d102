/* test_stats.c — unbiased pass@k against brute-force enumeration of k-subsets,
 * majority voting, and the seeded bootstrap intervals. */
#include "../test.h"
#include "stats.h"

/* Fraction of the k-subsets of n samples (the first c correct) that hold a correct one. */
static double brute_pass(int n, int c, int k)
{
    long hit = 0, all = 0;
    for (unsigned m = 0; m < (1u << n); m++) {
        if (__builtin_popcount(m) != k) continue;
        all++;
        hit += (m & ((1u << c) - 1)) != 0;
    }
    return (double)hit / (double)all;
}

TEST(pass_at_k_brute_force)
{
    int cases = 0;
    for (int n = 1; n <= 12; n++)
        for (int c = 0; c <= n; c++)
            for (int k = 1; k <= n; k++) {
                EXPECTF(fabs(st_pass_at_k(n, c, k) - brute_pass(n, c, k)) < 1e-12,
                        "n=%d c=%d k=%d: %.15g vs %.15g", n, c, k, st_pass_at_k(n, c, k), brute_pass(n, c, k));
                cases++;
            }
    EXPECT(cases == 728);
    EXPECT(st_pass_at_k(16, 0, 16) == 0.0);
    EXPECT(st_pass_at_k(16, 1, 1) == 1.0 / 16);
    EXPECT_NEAR(st_pass_at_k(200, 3, 100), 1.0 - (100.0 * 99 * 98) / (200.0 * 199 * 198), 1e-12);
}

TEST(majority_plain)
{
    const char *p[] = {"7", "x", "x", NULL, NULL, NULL, "x"};
    int ok[] = {1, 0, 0, 0, 0, 0, 0}, w;
    EXPECT(st_majority(p, ok, 7, &w) == 0 && w == 1);   /* nulls never vote */
    const char *q[] = {"7", "x", "x", "7"};
    int ok2[] = {1, 0, 0, 1};
    EXPECT(st_majority(q, ok2, 4, &w) == 1 && w == 0);  /* tie: the class seen first */
    const char *none[] = {NULL, NULL};
    int ok3[] = {1, 1}, ok4[] = {1, 0};
    /* no answers, every sample correct (a gold that does not parse, scored correct): solved,
       as pass@1 says (it was 0: maj@k 0 beside pass@1 1) */
    EXPECT(st_majority(none, ok3, 2, &w) == 1 && w == -1);
    EXPECT(st_majority(none, ok4, 2, &w) == 0 && w == -1);
}

TEST(majority_equivalent_forms)
{
    /* as strings "3" ties "0.5" 2:2 and wins (seen first); as numbers 1/2 wins 3:2 */
    const char *p[] = {"3", "\\frac{1}{2}", "0.5", "3", "0.5"};
    int ok[] = {0, 1, 1, 0, 1}, w;
    EXPECT(st_majority(p, ok, 5, &w) == 1 && w == 1);
}

TEST(mean_quantile)
{
    double x[] = {1, 2, 3, 4};
    EXPECT(st_mean(x, 4) == 2.5);
    EXPECT(isnan(st_mean(x, 0)));
    EXPECT_NEAR(st_quantile_sorted(x, 4, 0.5), 2.5, 1e-12);
    EXPECT_NEAR(st_quantile_sorted(x, 4, 0.25), 1.75, 1e-12);
    EXPECT(st_quantile_sorted(x, 4, 1.0) == 4 && st_quantile_sorted(x, 4, 0.0) == 1);
}

TEST(bootstrap)
{
    double x[100], ci[2], ci2[2];
    for (int i = 0; i < 100; i++) x[i] = i % 2;   /* mean 0.5, standard error 0.05 */
    EXPECT(st_boot_mean(x, 100, 2000, 0, 7, ci) == 0);
    EXPECT(ci[0] < 0.5 && ci[1] > 0.5);
    /* normal approx. 0.5 -+ 1.96 * 0.05; the means lie on a 0.01 grid: the 95% ends are 0.39-0.41
       and 0.59-0.61 (a 90% interval, [0.42, 0.59] here, passed the 0.02 this allowed before) */
    EXPECTF(fabs(ci[0] - 0.402) < 0.0125 && fabs(ci[1] - 0.598) < 0.0125, "[%g, %g]", ci[0], ci[1]);
    st_boot_mean(x, 100, 2000, 0, 7, ci2);
    EXPECT(ci[0] == ci2[0] && ci[1] == ci2[1]);    /* seeded: the same interval again */
    double y[50];
    for (int i = 0; i < 50; i++) y[i] = sin(i);    /* continuous values: seeds show */
    st_boot_mean(y, 50, 500, 0, 7, ci);
    st_boot_mean(y, 50, 500, 1, 7, ci2);
    EXPECT(ci[0] != ci2[0] && ci[1] != ci2[1]);
    double c[5] = {0.25, 0.25, 0.25, 0.25, 0.25};
    st_boot_mean(c, 5, 100, 0, 0, ci);
    EXPECT(ci[0] == 0.25 && ci[1] == 0.25);
    st_boot_mean(c, 0, 100, 0, 0, ci);
    EXPECT(isnan(ci[0]) && isnan(ci[1]));
    ci[0] = ci[1] = 0;
    st_boot_mean(c, 1, 100, 0, 0, ci);                /* one value: no interval (stats.h), not [x, x] */
    EXPECT(isnan(ci[0]) && isnan(ci[1]));
}

TEST(bootstrap_diff)
{
    double a[60], b[60], ci[2];
    for (int i = 0; i < 60; i++) { a[i] = i % 3 == 0; b[i] = a[i]; }
    st_boot_diff(a, 60, b, 60, 1, 1000, 0, 1, ci);
    EXPECT(ci[0] == 0 && ci[1] == 0);             /* paired, identical: no spread */
    st_boot_diff(a, 60, b, 60, 0, 1000, 0, 1, ci);
    EXPECT(ci[0] < 0 && ci[1] > 0);               /* unpaired: sampling noise */
    for (int i = 0; i < 60; i += 3) b[i + 1] = 1; /* b solves 20 more problems */
    st_boot_diff(a, 60, b, 60, 1, 1000, 0, 1, ci);
    EXPECT(ci[0] > 0 && ci[0] <= 1.0 / 3 && ci[1] >= 1.0 / 3);
    /* ... and its width is a 95% interval's: 1/3 -+ 1.96 * sqrt(1/3 * 2/3 / 60) = [0.214, 0.453],
       the differences on a 1/60 grid (a 90% interval, [0.233, 0.433], passed the check above) */
    EXPECTF(fabs(ci[0] - 0.214) < 0.015 && fabs(ci[1] - 0.453) < 0.015, "[%g, %g]", ci[0], ci[1]);
    /* the same accuracy over 10 problems and over 2: the means differ by rounding only
       (1.4e-17), which is no change, not one whose interval excludes 0 */
    for (int i = 0; i < 10; i++) a[i] = b[i] = 0.1;
    st_boot_diff(a, 10, b, 2, 0, 1000, 0, 1, ci);
    EXPECT(ci[0] == 0 && ci[1] == 0);
    EXPECT(st_diff(st_mean(b, 2), st_mean(a, 10)) == 0 && st_diff(0.5, 0.25) == 0.25);
}

int main(void)
{
    RUN(pass_at_k_brute_force);
    RUN(majority_plain);
    RUN(majority_equivalent_forms);
    RUN(mean_quantile);
    RUN(bootstrap);
    RUN(bootstrap_diff);
    return tst_done();
}
