/* attention.c — CPU causal grouped-query attention: over packed sequences (training, with a
 * backward that recomputes probabilities from the saved logsumexp, flash-attention style)
 * and over the paged KV cache (prefill and batched decode). */
#include <math.h>
#include <string.h>
#include <omp.h>
#include <cblas.h>
#include "cpu.h"
#include "cpu_ops.h"

static inline float dot(const float *a, const float *b, int n) {
    float s = 0;
    #pragma omp simd reduction(+:s)
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
static inline void axpy(float *y, float a, const float *x, int n) {
    #pragma omp simd
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/* Packed attention runs as GEMMs on blocks of BQ query rows (OpenBLAS, one thread each): the
 * block's scores against its visible keys, a masked softmax, then P V; the backward
 * recomputes P from the saved logsumexp, as flash attention does. Causal blocks see keys
 * 0 .. last row, so at most half of a block's scores are masked work. */
#define BQ 64

size_t cpu_attention_work(const mrl_backend *be, int T, int maxlen, int H, int D) {
    (void)T; (void)H; (void)D;
    return (size_t)be->threads * 2 * BQ * (size_t)(maxlen > 0 ? maxlen : 1) * sizeof(float);
}

static int longest(const int32_t *cu, int nseq) {
    int m = 1;
    for (int s = 0; s < nseq; s++) if (cu[s + 1] - cu[s] > m) m = cu[s + 1] - cu[s];
    return m;
}

/* Rows i0..i0+m-1 of one sequence: S (m x nk, row stride nk) holds scaled scores; row r sees
 * keys 0..i0+r. Turns S into probabilities and writes each row's logsumexp. */
static void softmax_rows(float *S, int m, int nk, int i0, float *lse, int lse_stride) {
    for (int r = 0; r < m; r++) {
        float *sr = S + (size_t)r * nk, mx = -INFINITY, sum = 0;
        int n = i0 + r + 1;
        for (int j = 0; j < n; j++) if (sr[j] > mx) mx = sr[j];
        for (int j = 0; j < n; j++) { sr[j] = expf(sr[j] - mx); sum += sr[j]; }
        float inv = 1.0f / sum;
        for (int j = 0; j < n; j++) sr[j] *= inv;
        for (int j = n; j < nk; j++) sr[j] = 0;
        lse[(size_t)r * lse_stride] = mx + logf(sum);
    }
}

void cpu_attention_fwd(const mrl_backend *be, void *outv, float *lse, const void *qv, const void *kv,
                       const void *vv, int st, const int32_t *cu, int nseq, int T, int H, int Hkv,
                       int D, void *work) {
    float *out = outv; const float *q = qv, *k = kv, *v = vv;
    int grp = H / Hkv, maxlen = longest(cu, nseq), HD = H * D;
    float scale = 1.0f / sqrtf((float)D);
    int nblk = 0;   /* tasks: (sequence, head, query block) */
    for (int s = 0; s < nseq; s++) nblk += (cu[s + 1] - cu[s] + BQ - 1) / BQ;
    #pragma omp parallel num_threads(cpu_nt(be, (size_t)T * maxlen * H * D))
    {
        float *S = (float *)work + (size_t)omp_get_thread_num() * 2 * BQ * maxlen;
        #pragma omp for schedule(dynamic, 1) collapse(2)
        for (int b = 0; b < nblk; b++)
            for (int h = 0; h < H; h++) {
                int s = 0, bb = b;
                while (bb >= (cu[s + 1] - cu[s] + BQ - 1) / BQ) { bb -= (cu[s + 1] - cu[s] + BQ - 1) / BQ; s++; }
                int s0 = cu[s], n = cu[s + 1] - s0, i0 = bb * BQ, m = n - i0 < BQ ? n - i0 : BQ, nk = i0 + m;
                const float *Q = q + (size_t)(s0 + i0) * st + (size_t)h * D;
                const float *K = k + (size_t)s0 * st + (size_t)(h / grp) * D, *Vv = v + (size_t)s0 * st + (size_t)(h / grp) * D;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nk, D, scale, Q, st, K, st, 0.0f, S, nk);
                softmax_rows(S, m, nk, i0, lse + (size_t)(s0 + i0) * H + h, H);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, D, nk, 1.0f, S, nk, Vv, st, 0.0f,
                            out + (size_t)(s0 + i0) * HD + (size_t)h * D, HD);
            }
    }
}

/* Each thread owns one (sequence, kv head) pair, so dk/dv of the group never race. */
void cpu_attention_bwd(const mrl_backend *be, void *dqv, void *dkv, void *dvv, int dst,
                       const void *doutv, const void *qv, const void *kv, const void *vv, int st,
                       const void *outv, const float *lse, const int32_t *cu, int nseq, int T,
                       int H, int Hkv, int D, void *work) {
    float *dq = dqv, *dk = dkv, *dv = dvv;
    const float *dout = doutv, *q = qv, *k = kv, *v = vv, *out = outv;
    int grp = H / Hkv, maxlen = longest(cu, nseq), HD = H * D;
    float scale = 1.0f / sqrtf((float)D);
    #pragma omp parallel num_threads(cpu_nt(be, (size_t)T * maxlen * H * D))
    {
        float *P = (float *)work + (size_t)omp_get_thread_num() * 2 * BQ * maxlen, *dP = P + (size_t)BQ * maxlen;
        #pragma omp for schedule(dynamic, 1) collapse(2)
        for (int s = 0; s < nseq; s++)
            for (int g = 0; g < Hkv; g++) {
                int s0 = cu[s], n = cu[s + 1] - cu[s];
                float *dK = dk + (size_t)s0 * dst + (size_t)g * D, *dV = dv + (size_t)s0 * dst + (size_t)g * D;
                const float *K = k + (size_t)s0 * st + (size_t)g * D, *Vv = v + (size_t)s0 * st + (size_t)g * D;
                for (int j = 0; j < n; j++) {
                    memset(dK + (size_t)j * dst, 0, (size_t)D * sizeof(float));
                    memset(dV + (size_t)j * dst, 0, (size_t)D * sizeof(float));
                }
                for (int h = g * grp; h < (g + 1) * grp; h++)
                    for (int i0 = 0; i0 < n; i0 += BQ) {
                        int m = n - i0 < BQ ? n - i0 : BQ, nk = i0 + m;
                        size_t r0 = (size_t)(s0 + i0);
                        const float *Q = q + r0 * st + (size_t)h * D, *dO = dout + r0 * HD + (size_t)h * D;
                        const float *O = out + r0 * HD + (size_t)h * D;
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nk, D, scale, Q, st, K, st, 0.0f, P, nk);
                        for (int r = 0; r < m; r++) {   /* P from the saved logsumexp, masked */
                            float *pr = P + (size_t)r * nk, l = lse[(r0 + r) * H + h];
                            int nv = i0 + r + 1;
                            for (int j = 0; j < nv; j++) pr[j] = expf(pr[j] - l);
                            for (int j = nv; j < nk; j++) pr[j] = 0;
                        }
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nk, D, 1.0f, dO, HD, Vv, st, 0.0f, dP, nk);
                        for (int r = 0; r < m; r++) {   /* dS = P (dP - rowsum(dO o O)) scale */
                            float di = dot(dO + (size_t)r * HD, O + (size_t)r * HD, D);
                            float *pr = P + (size_t)r * nk, *dr = dP + (size_t)r * nk;
                            for (int j = 0; j < nk; j++) dr[j] = pr[j] * (dr[j] - di) * scale;
                        }
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, D, nk, 1.0f, dP, nk, K, st, 0.0f,
                                    dq + r0 * dst + (size_t)h * D, dst);
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, m, 1.0f, dP, nk, Q, st, 1.0f, dK, dst);
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, m, 1.0f, P, nk, dO, HD, 1.0f, dV, dst);
                    }
            }
    }
}

void cpu_kv_write(const mrl_backend *be, void *kpool, void *vpool, const void *k, const void *v,
                  int stride, const int32_t *slots, int n, int Hkv, int D) {
    (void)be;
    size_t row = (size_t)Hkv * D;
    for (int i = 0; i < n; i++) {
        memcpy((float *)kpool + (size_t)slots[i] * row, (const float *)k + (size_t)i * stride, row * sizeof(float));
        memcpy((float *)vpool + (size_t)slots[i] * row, (const float *)v + (size_t)i * stride, row * sizeof(float));
    }
}

size_t cpu_attention_paged_work(const mrl_backend *be, int R, int maxctx, int H, int D) {
    (void)R; (void)D;   /* per thread: the scores of up to 8 heads (a GQA group slice), and slots */
    return (size_t)be->threads * (size_t)((H < 8 ? H : 8) + 1) * (size_t)(maxctx > 0 ? maxctx : 1) * sizeof(float);
}

/* The query heads h0 .. h0+nh-1 of one row, which share KV head g, against its n cached keys:
 * scores into p[nh][n], softmax per head, then P V into o (head h at o + h D). The AVX-512
 * version reads each cached key and value row once for all nh heads (the GQA group): keys four
 * at a time (independent FMA chains), then P V one 16-wide slice of D at a time over all keys,
 * nh accumulators fed by one load of v. A head's sums run in the same order whatever nh is,
 * and each row's result depends only on that row, so batching never changes it. */
#if defined(__x86_64__) && (__GNUC__ >= 10 || defined(__clang__))
#include <immintrin.h>
#define PAGED_AVX512 1
#define GMAX 8   /* heads per pass (a GQA group is usually 2-8) */

/* [sum(a0), sum(a1), sum(a2), sum(a3)]: four horizontal sums sharing their shuffles. */
__attribute__((target("avx512f")))
static inline __m128 hsum4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    __m512 t0 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
    __m512 t1 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
    __m512 u = _mm512_add_ps(_mm512_shuffle_ps(t0, t1, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 2, 3, 2)));
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(u), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(u), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

__attribute__((target("avx512f")))
/* P V for the heads of the group over the 16 x NC columns from d: each cached value row is read
 * once (one pass per column slice), the heads' accumulators stay in registers. */
#define PV_PASS(NC)                                                                              \
__attribute__((target("avx512f")))                                                               \
static void pv_pass##NC(float *o, const float *p, const float *inv, const float *vp, size_t row, \
                        const int32_t *slot, int g, int nh, int D, int d, int n) {               \
    __m512 acc[GMAX][NC];                                                                        \
    _Pragma("GCC unroll 8") for (int h = 0; h < GMAX; h++)                                       \
        _Pragma("GCC unroll 2") for (int c = 0; c < NC; c++) acc[h][c] = _mm512_setzero_ps();     \
    for (int j = 0; j < n; j++) {                                                                \
        const float *v = vp + (size_t)slot[j] * row + (size_t)g * D + d;                         \
        if (j + 16 < n) {   /* rows are scattered over blocks: fetch 16 ahead */                 \
            const char *f = (const char *)(vp + (size_t)slot[j + 16] * row + (size_t)g * D + d); \
            _Pragma("GCC unroll 2") for (int c = 0; c < NC; c++) _mm_prefetch(f + 64 * c, _MM_HINT_T0); \
        }                                                                                        \
        __m512 vv[NC];                                                                           \
        _Pragma("GCC unroll 2") for (int c = 0; c < NC; c++) vv[c] = _mm512_loadu_ps(v + 16 * c); \
        _Pragma("GCC unroll 8") for (int h = 0; h < GMAX; h++)                                   \
            if (h < nh) {                                                                        \
                __m512 pj = _mm512_set1_ps(p[(size_t)h * n + j]);                                \
                _Pragma("GCC unroll 2") for (int c = 0; c < NC; c++) acc[h][c] = _mm512_fmadd_ps(pj, vv[c], acc[h][c]); \
            }                                                                                    \
    }                                                                                            \
    for (int h = 0; h < nh; h++)                                                                 \
        for (int c = 0; c < NC; c++)                                                             \
            _mm512_storeu_ps(o + (size_t)h * D + d + 16 * c, _mm512_mul_ps(acc[h][c], _mm512_set1_ps(inv[h]))); \
}
PV_PASS(1)
PV_PASS(2)

__attribute__((target("avx512f")))
static void group_avx512(float *o, float *p, int32_t *slot, const float *q, const float *kp, const float *vp,
                         size_t row, int g, int nh, int D, const int32_t *tab, int bs, int n, float scale) {
    if (n <= 0) { memset(o, 0, (size_t)nh * D * sizeof(float)); return; }   /* as the portable loop */
    for (int j = 0; j < n; j++) slot[j] = tab[j / bs] * bs + j % bs;
    for (int j = 0; j < n; j += 4) {
        int nk = n - j < 4 ? n - j : 4;
        const float *k[4];
        for (int u = 0; u < 4; u++) k[u] = kp + (size_t)slot[j + (u < nk ? u : 0)] * row + (size_t)g * D;
        if (j + 12 <= n)   /* the keys two steps ahead */
            for (int u = 8; u < 12; u++) {
                const char *f = (const char *)(kp + (size_t)slot[j + u] * row + (size_t)g * D);
                for (int c = 0; c < D * 4; c += 64) _mm_prefetch(f + c, _MM_HINT_T0);
            }
        for (int h = 0; h < nh; h++) {
            const float *qi = q + (size_t)h * D;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int d = 0; d < D; d += 16) {
                __m512 qv = _mm512_loadu_ps(qi + d);
                a0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k[0] + d), a0);
                a1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k[1] + d), a1);
                a2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k[2] + d), a2);
                a3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k[3] + d), a3);
            }
            float sc[4];
            _mm_storeu_ps(sc, _mm_mul_ps(hsum4(a0, a1, a2, a3), _mm_set1_ps(scale)));
            memcpy(p + (size_t)h * n + j, sc, (size_t)nk * sizeof(float));
        }
    }
    float inv[GMAX];
    for (int h = 0; h < nh; h++) {   /* softmax, 16 scores at a time */
        float *ph = p + (size_t)h * n;
        __m512 mx = _mm512_set1_ps(-INFINITY), sm = _mm512_setzero_ps();
        for (int j = 0; j < n; j += 16) {
            __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
            mx = _mm512_mask_max_ps(mx, k, mx, _mm512_maskz_loadu_ps(k, ph + j));
        }
        __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
        for (int j = 0; j < n; j += 16) {
            __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
            __m512 e = cpu_exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, ph + j), m));
            _mm512_mask_storeu_ps(ph + j, k, e);
            sm = _mm512_mask_add_ps(sm, k, sm, e);
        }
        inv[h] = 1.0f / _mm512_reduce_add_ps(sm);
    }
    int d = 0;
    for (; d + 32 <= D; d += 32) pv_pass2(o, p, inv, vp, row, slot, g, nh, D, d, n);
    if (d < D) pv_pass1(o, p, inv, vp, row, slot, g, nh, D, d, n);
}
#endif

void cpu_attention_paged(const mrl_backend *be, void *outv, const void *qv, int qs, const void *kpool,
                         const void *vpool, const int32_t *bt, int max_blocks, int bs,
                         const int32_t *row_seq, const int32_t *row_ctx, int R, int H, int Hkv,
                         int D, void *work) {
    float *out = outv; const float *q = qv, *kp = kpool, *vp = vpool;
    int grp = H / Hkv, maxctx = 1;
    for (int r = 0; r < R; r++) if (row_ctx[r] > maxctx) maxctx = row_ctx[r];
    float scale = 1.0f / sqrtf((float)D);
    size_t row = (size_t)Hkv * D;
#ifdef PAGED_AVX512
    if (cpu_st(be)->simd >= CPU_SIMD_AVX512 && D % 16 == 0) {   /* one task per (row, KV group slice) */
        int per = grp < GMAX ? grp : GMAX, nsl = (grp + per - 1) / per;
        #pragma omp parallel num_threads(cpu_nt(be, (size_t)R * maxctx * H * D))
        {
            int hw = H < 8 ? H : 8;   /* as cpu_attention_paged_work sized it; per <= hw */
            float *p = (float *)work + (size_t)omp_get_thread_num() * (hw + 1) * maxctx;
            int32_t *slot = (int32_t *)(p + (size_t)hw * maxctx);
            #pragma omp for schedule(dynamic, 1) collapse(2)
            for (int r = 0; r < R; r++)
                for (int gs = 0; gs < Hkv * nsl; gs++) {
                    int g = gs / nsl, h0 = g * grp + gs % nsl * per, nh = g * grp + grp - h0 < per ? g * grp + grp - h0 : per;
                    group_avx512(out + (size_t)r * H * D + (size_t)h0 * D, p, slot, q + (size_t)r * qs + (size_t)h0 * D, kp, vp, row,
                                 g, nh, D, bt + (size_t)row_seq[r] * max_blocks, bs, row_ctx[r], scale);
                }
        }
        return;
    }
#endif
    #pragma omp parallel num_threads(cpu_nt(be, (size_t)R * maxctx * H * D))
    {
        float *p = (float *)work + (size_t)omp_get_thread_num() * maxctx;
        #pragma omp for schedule(dynamic, 1) collapse(2)
        for (int r = 0; r < R; r++)
            for (int h = 0; h < H; h++) {
                const int32_t *tab = bt + (size_t)row_seq[r] * max_blocks;
                const float *qi = q + (size_t)r * qs + (size_t)h * D;
                int g = h / grp, n = row_ctx[r];
                float *o = out + (size_t)r * H * D + (size_t)h * D;
                float m = -INFINITY;
                for (int j = 0; j < n; j++) {
                    size_t slot = (size_t)tab[j / bs] * bs + j % bs;
                    p[j] = dot(qi, kp + slot * row + (size_t)g * D, D) * scale;
                    if (p[j] > m) m = p[j];
                }
                float sum = 0;
                for (int j = 0; j < n; j++) { p[j] = expf(p[j] - m); sum += p[j]; }
                float inv = 1.0f / sum;
                memset(o, 0, (size_t)D * sizeof(float));
                for (int j = 0; j < n; j++) {
                    size_t slot = (size_t)tab[j / bs] * bs + j % bs;
                    axpy(o, p[j] * inv, vp + slot * row + (size_t)g * D, D);
                }
            }
    }
}
