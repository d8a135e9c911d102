/* stats.h — evaluation statistics for meval: unbiased pass@k, majority vote over
 * equivalent answers, and seeded percentile-bootstrap intervals over problems. */
#ifndef MRL_STATS_H
#define MRL_STATS_H
#include <stdint.h>

/* Chen et al. 2021: 1 - C(n-c, k) / C(n, k), the chance that k of n samples (c correct)
 * drawn without replacement hold a correct one. Requires 0 <= c <= n, 1 <= k <= n. */
double st_pass_at_k(int n, int c, int k);

/* Majority vote over n answers (NULL = no answer, never votes): answers are grouped
 * by ans_normalize and merged when ans_equiv says equal; the largest class wins, ties
 * to the class seen first. Returns correct[] of the winner's first member; when no sample
 * has an answer, 1 if every sample is correct (an unparsed gold scored correct), else 0.
 * *winner (may be NULL) gets that member's index or -1. */
int st_majority(const char *const *preds, const int *correct, int n, int *winner);

double st_mean(const double *x, int n);
/* The q-quantile (0..1) of sorted x[0..n-1], linear interpolation (R type 7). */
double st_quantile_sorted(const double *x, int n, double q);

/* 95% percentile-bootstrap interval of the mean of x[0..n-1] with B resamples drawn from
 * the rng stream (seed, stream). Fewer than 2 values give [NaN, NaN] (a single problem resamples
 * to itself, which would be a zero-width interval that says nothing); returns 0, or -1 out of memory. */
int st_boot_mean(const double *x, int n, int B, uint64_t seed, uint64_t stream, double ci[2]);
/* Interval of mean(b) - mean(a). paired: a[i] and b[i] belong to one problem
 * (na == nb, the same resampled index for both); else each is resampled on its own. */
int st_boot_diff(const double *a, int na, const double *b, int nb, int paired,
                 int B, uint64_t seed, uint64_t stream, double ci[2]);
/* b - a, where both are means of accuracies: a difference below 1e-12 is rounding (the same
 * accuracy summed in another order or over another count, 0.1 * 10 / 10 != 0.1) and is 0. */
double st_diff(double b, double a);
#endif
