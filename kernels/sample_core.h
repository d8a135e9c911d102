/* sample_core.h — the arithmetic of the sampler's untruncated draw, shared by the host sampler
 * (libcore/sampler.c), the CPU op_sample_rows and the CUDA one, so that all three round alike
 * and pick the same token for the same logits and uniform:
 *
 *   m   = max over the row (NaN ignored)
 *   e_i = sk_expf((l_i - m) * inv)               inv = 1.0f / T, in float, no fused multiply-add
 *   bs_b = the sum of e over block b of SK_BLK tokens: sixteen float lanes (token i of the
 *          block's first 16*floor(n/16) in lane i % 16, the rest in lane 0 after them),
 *          then the lanes added into a double in lane order
 *   Z   = the bs_b added in block order (double)
 *   token: with x = u Z, the first block whose running sum passes x, then the first token of
 *          it (or after it, if rounding says so) whose running sum passes x; tokens with e = 0
 *          are never taken.
 *
 * Greedy decoding's log-prob (smp_logprob at T = 1) sums exp((double)l_i - m) over the row's
 * numbers per block of SK_BLK tokens in index order, then the blocks in order (sk_block_sum_exp):
 * the same order on every side, so only the exp differs (the C library's or the GPU's, within
 * an ulp a term). A sequential sum instead differs from the blocked one by whole ulps of Z, and
 * for a confident token (Z = 1 + d, d tiny) its float log-prob -log Z ~ -d then differs
 * in most of its digits.
 *
 * The CUDA side gets explicit round-to-nearest operations (no contraction); the C side is
 * built with -ffp-contract=off. */
#ifndef MRL_SAMPLE_CORE_H
#define MRL_SAMPLE_CORE_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#define SK_BLK 256   /* tokens per block sum */

#if defined(__CUDACC__)
#define SK_FN static __host__ __device__ __forceinline__
#else
#define SK_FN static inline
#endif
#if defined(__CUDA_ARCH__)
#define SK_MUL(a, b) __fmul_rn((a), (b))
#define SK_ADD(a, b) __fadd_rn((a), (b))
#define SK_SUB(a, b) __fsub_rn((a), (b))
#define SK_DADD(a, b) __dadd_rn((a), (b))
#define SK_DSUB(a, b) __dsub_rn((a), (b))
#define SK_DDIV(a, b) __ddiv_rn((a), (b))
#else
#define SK_MUL(a, b) ((a) * (b))
#define SK_ADD(a, b) ((a) + (b))
#define SK_SUB(a, b) ((a) - (b))
#define SK_DADD(a, b) ((a) + (b))
#define SK_DSUB(a, b) ((a) - (b))
#define SK_DDIV(a, b) ((a) / (b))
#endif

/* e^x for x <= 0 without a branch or a library call (so a loop over a row vectorises):
 * x = n ln2 + r, Cephes' degree-7 polynomial for e^r (about 1 ulp, as the CPU backend's
 * AVX-512 exp), scaled by 2^n built in the exponent bits; 0 below -87.3 and for NaN. */
SK_FN float sk_expf(float x) {
    float xc = x > -87.3f ? x : -87.3f;
    float n = SK_SUB(SK_ADD(SK_MUL(xc, 1.44269504088896341f), 12582912.0f), 12582912.0f);   /* round to nearest */
    float r = SK_SUB(xc, SK_MUL(n, 0.693359375f));
    r = SK_SUB(r, SK_MUL(n, -2.12194440e-4f));
    float y = 1.9875691500e-4f;
    y = SK_ADD(SK_MUL(y, r), 1.3981999507e-3f);
    y = SK_ADD(SK_MUL(y, r), 8.3334519073e-3f);
    y = SK_ADD(SK_MUL(y, r), 4.1665795894e-2f);
    y = SK_ADD(SK_MUL(y, r), 1.6666665459e-1f);
    y = SK_ADD(SK_MUL(y, r), 5.0000001201e-1f);
    y = SK_ADD(SK_MUL(y, SK_MUL(r, r)), SK_ADD(r, 1.0f));
    int32_t b = ((int32_t)n + 127) * (1 << 23);
    float s;
    memcpy(&s, &b, sizeof s);
    return x >= -87.3f ? SK_MUL(y, s) : 0.0f;
}

/* e of one logit: sk_expf((l - m) * inv) */
SK_FN float sk_e(float l, float m, float inv) { return sk_expf(SK_MUL(SK_SUB(l, m), inv)); }

/* bs of the block l[0..n) (n <= SK_BLK), e computed on the way */
SK_FN double sk_block_sum(const float *l, int n, float m, float inv) {
    float part[16];
    for (int j = 0; j < 16; j++) part[j] = 0.0f;
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) part[j] = SK_ADD(part[j], sk_e(l[i + j], m, inv));
    for (; i < n; i++) part[0] = SK_ADD(part[0], sk_e(l[i], m, inv));
    double sum = 0;
    for (int j = 0; j < 16; j++) sum += part[j];
    return sum;
}

/* smp_logprob's block sum, in double: exp(((double)l[i] - m) / T) over l[0..n) in index
 * order, NaN terms left out (greedy decoding's Z at T = 1). */
SK_FN double sk_block_sum_exp(const float *l, int n, float m, double T) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        double x = SK_DDIV(SK_DSUB((double)l[i], (double)m), T);
        if (x == x) s = SK_DADD(s, exp(x));
    }
    return s;
}

/* The token of the draw x = u Z from the block sums bs[0..nb) of the row l[0..V); -1 if no
 * token has e > 0 (not for a row with a finite max, whose max has e = 1). */
SK_FN int32_t sk_walk(const double *bs, int nb, const float *l, int V, float m, float inv, double x) {
    double acc = 0;
    int b = 0;
    while (b < nb - 1 && acc + bs[b] <= x) acc += bs[b++];
    int32_t tok = -1;
    for (int i = b * SK_BLK; i < V; i++) {   /* past the block only if rounding says so */
        float e = sk_e(l[i], m, inv);
        if (e <= 0) continue;
        tok = i;
        acc += e;
        if (acc > x) break;
    }
    return tok;
}
#endif
