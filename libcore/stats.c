/* stats.c — meval's statistics: unbiased pass@k, majority voting over equivalent
 * answers, percentile-bootstrap intervals (plain and paired) from a seeded rng stream. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "answer.h"
#include "rng.h"
#include "stats.h"

double st_pass_at_k(int n, int c, int k)
{
    if (n - c < k) return 1.0;
    if (k == 1) return (double)c / n;   /* the same double as pass@1's c/n, not 1 - (1 - c/n) */
    /* 1 - C(n-c,k)/C(n,k) as a product, which stays exact-ish for any n (Chen et al.'s
     * numerically stable form) */
    double p = 1.0;
    for (int i = n - c + 1; i <= n; i++) p *= 1.0 - (double)k / i;
    return 1.0 - p;
}

int st_majority(const char *const *preds, const int *correct, int n, int *winner)
{
    int *cls = malloc(sizeof *cls * (size_t)(n ? n : 1));     /* class of sample i: a sample index */
    char **norm = calloc((size_t)(n ? n : 1), sizeof *norm);
    int best = -1, bestc = 0;
    if (!cls || !norm) goto out;
    for (int i = 0; i < n; i++) {
        cls[i] = -1;
        if (!preds[i]) continue;
        norm[i] = ans_normalize(preds[i]);
        for (int j = 0; j < i && cls[i] < 0; j++) {
            if (cls[j] != j) continue;          /* compare with class representatives */
            if ((norm[i] && norm[j] && !strcmp(norm[i], norm[j])) ||
                ans_equiv(preds[i], preds[j]) == ANS_EQUIV)
                cls[i] = j;
        }
        if (cls[i] < 0) cls[i] = i;
    }
    for (int i = 0; i < n; i++) {
        if (cls[i] != i) continue;
        int c = 0;
        for (int j = i; j < n; j++) c += cls[j] == i;
        if (c > bestc) { bestc = c; best = i; }
    }
out:
    if (norm) for (int i = 0; i < n; i++) free(norm[i]);
    free(norm);
    free(cls);
    if (winner) *winner = best;
    if (best >= 0) return correct[best] != 0;
    /* no answer to vote on: solved only if every sample counts correct anyway (a gold that
       does not parse, scored correct by mreward's --unparsed-gold correct: pass@1 says 1) */
    int all = n > 0;
    for (int i = 0; i < n; i++) all = all && correct[i];
    return all;
}

double st_mean(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return n ? s / n : NAN;
}

double st_quantile_sorted(const double *x, int n, double q)
{
    if (n <= 0) return NAN;
    double h = (n - 1) * q;
    int lo = (int)floor(h);
    if (lo >= n - 1) return x[n - 1];
    return x[lo] + (h - lo) * (x[lo + 1] - x[lo]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int interval(double *stat, int B, double ci[2])
{
    qsort(stat, (size_t)B, sizeof *stat, cmp_double);
    ci[0] = st_quantile_sorted(stat, B, 0.025);
    ci[1] = st_quantile_sorted(stat, B, 0.975);
    free(stat);
    return 0;
}

int st_boot_mean(const double *x, int n, int B, uint64_t seed, uint64_t stream, double ci[2])
{
    ci[0] = ci[1] = NAN;
    if (n < 2 || B <= 0) return 0;   /* one problem resamples to itself: no interval */
    double *stat = malloc(sizeof *stat * (size_t)B);
    if (!stat) return -1;
    mrl_rng r;
    rng_init(&r, seed, stream, 0);
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += x[rng_below(&r, (uint64_t)n)];
        stat[b] = s / n;
    }
    return interval(stat, B, ci);
}

double st_diff(double b, double a)
{
    double d = b - a;
    return fabs(d) < 1e-12 ? 0 : d;   /* else 1e-17 is a change, and an interval of it "excludes 0" */
}

int st_boot_diff(const double *a, int na, const double *b, int nb, int paired,
                 int B, uint64_t seed, uint64_t stream, double ci[2])
{
    ci[0] = ci[1] = NAN;
    if (na < 2 || nb < 2 || B <= 0 || (paired && na != nb)) return 0;
    double *stat = malloc(sizeof *stat * (size_t)B);
    if (!stat) return -1;
    mrl_rng r;
    rng_init(&r, seed, stream, 1);
    for (int k = 0; k < B; k++) {
        double sa = 0, sb = 0;
        if (paired) {
            for (int i = 0; i < na; i++) {
                uint64_t j = rng_below(&r, (uint64_t)na);
                sa += a[j];
                sb += b[j];
            }
        } else {
            for (int i = 0; i < na; i++) sa += a[rng_below(&r, (uint64_t)na)];
            for (int i = 0; i < nb; i++) sb += b[rng_below(&r, (uint64_t)nb)];
        }
        stat[k] = st_diff(sb / nb, sa / na);
    }
    return interval(stat, B, ci);
}
