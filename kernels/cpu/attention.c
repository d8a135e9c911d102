/* attention.c — CPU causal grouped-query attention: over packed sequences (training, with a
 * backward that recomputes probabilities from the saved logsumexp, flash-attention style)
 * and over the paged KV cache (prefill and batched decode). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "cpu.h"
#include "cpu_ops.h"
#if defined(__x86_64__) && (__GNUC__ >= 10 || defined(__clang__))
#include <immintrin.h>
#endif

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

/* The row stride for n keys of K or V transposed: whole cache lines, an odd number of them, so
 * that the D rows spread over every L1 set (1024 keys a row apart, 4 KB: all D rows in the
 * same few sets, and each tile fetched its B from L2 again). */
static int key_ld(int n) { int l = (n + 15) / 16; return (l | 1) * 16; }

/* Rows 0..n of x (row stride st, D wide) as 64-column panels: panel p at dst + 64 p n, its row
 * j at + 64 j (a panel's rows contiguous: the tiles stream them), as the linear layers' B. */
static void to_panels(float *dst, const float *x, size_t st, int n, int D) {
    for (int c0 = 0; c0 < D; c0 += 64) cpu_tiles_pack_panel(dst + (size_t)c0 * n, x, 0, 0, st, n, c0, D - c0 < 64 ? D - c0 : 64);
}
/* cpu_sgemm_small with B given as to_panels' panels of `rows` rows: column tile by column tile,
 * as cpu_sgemm_small itself goes over B, so the same bits. */
static void small_panels(int M, int N, int K, float alpha, const float *A, size_t sar, size_t sak, const float *Bp, int rows,
                         float *C, size_t ldc, int causal, int diag) {
    for (int c0 = 0; c0 < N; c0 += 64)
        cpu_sgemm_small(M, N - c0 < 64 ? N - c0 : 64, K, alpha, A, sar, sak, Bp + (size_t)c0 * rows, 64, 0, C + c0, ldc, causal, diag, NULL);
}

/* A thread's share of the work buffer: two blocks of scores (BQ x key_ld(maxlen): P and dP; the
 * forward's S in P), for the AVX-512 path K and V of one sequence transposed (D x key_ld(maxlen)
 * each), K or V of one sequence in 64-column panels (to_panels: maxlen x D rounded up to 64; in
 * place they are a qkv row apart, 8 KB in the 1.5B model) and the tiles' copy of a product's B
 * where it is read once (cpu_sgemm_small's pk: 64 columns x BQ). */
typedef struct { float *P, *dP, *Kt, *Vt, *Kp, *pk; } thread_work;
static size_t thread_floats(int maxlen, int D) {
    size_t n = (size_t)(maxlen > 0 ? maxlen : 1);
    return (2 * BQ + 2 * (size_t)D) * (size_t)key_ld((int)n) + (size_t)(D + 63) / 64 * 64 * n + 64 * BQ;
}
static thread_work thread_share(void *work, int maxlen, int D) {
    size_t n = (size_t)(maxlen > 0 ? maxlen : 1), L = (size_t)key_ld((int)n);
    thread_work t;
    t.P = (float *)work + (size_t)omp_get_thread_num() * thread_floats(maxlen, D);
    t.dP = t.P + BQ * L; t.Kt = t.dP + BQ * L; t.Vt = t.Kt + (size_t)D * L; t.Kp = t.Vt + (size_t)D * L;
    t.pk = t.Kp + (size_t)(D + 63) / 64 * 64 * n;
    return t;
}
size_t cpu_attention_work(const mrl_backend *be, int T, int maxlen, int H, int D) {
    (void)T; (void)H;
    size_t per = thread_floats(maxlen, D) * sizeof(float);
    if (cpu_attn_amx(be, D) && cpu_attn_amx_work(maxlen, D) > per) per = cpu_attn_amx_work(maxlen, D);
    return (size_t)be->threads_max * per;
}

static int longest(const int32_t *cu, int nseq) {
    int m = 1;
    for (int s = 0; s < nseq; s++) if (cu[s + 1] - cu[s] > m) m = cu[s + 1] - cu[s];
    return m;
}

/* Rows i0..i0+m-1 of one sequence: S (m x nk, row stride nk) holds scaled scores; row r sees
 * keys 0..i0+r. Turns S into probabilities and writes each row's logsumexp. The AVX-512
 * versions (cpu_exp512, 16 at a time) and the portable ones (expf) agree to float rounding. */
#if defined(__x86_64__) && (__GNUC__ >= 10 || defined(__clang__))
#define SOFTMAX_AVX512 1
/* p[0..n) -> exp(p - max p), 16 at a time; returns their sum and the max in *mx (the packed
 * softmax below and the paged attention's share it). */
__attribute__((target("avx512f")))
static float exp_shift512(float *p, int n, float *mx) {
    __m512 m = _mm512_set1_ps(-INFINITY), sm = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 16) {
        __mmask16 k = cpu_lanes16(n - j);
        m = _mm512_mask_max_ps(m, k, m, _mm512_maskz_loadu_ps(k, p + j));
    }
    *mx = _mm512_reduce_max_ps(m);
    __m512 mv = _mm512_set1_ps(*mx);
    for (int j = 0; j < n; j += 16) {
        __mmask16 k = cpu_lanes16(n - j);
        __m512 e = cpu_exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, p + j), mv));
        _mm512_mask_storeu_ps(p + j, k, e);
        sm = _mm512_mask_add_ps(sm, k, sm, e);
    }
    return _mm512_reduce_add_ps(sm);
}
__attribute__((target("avx512f")))
static void softmax_rows512(float *S, int m, int nk, int i0, float *lse, int lse_stride) {
    for (int r = 0; r < m; r++) {
        float *sr = S + (size_t)r * nk, mxs;
        int n = i0 + r + 1;
        float sum = exp_shift512(sr, n, &mxs);
        __m512 inv = _mm512_set1_ps(1.0f / sum);
        for (int j = 0; j < nk; j += 16) {   /* masked keys (j >= n) become 0 */
            __mmask16 k = cpu_lanes16(nk - j);
            __mmask16 live = cpu_lanes16(n - j);   /* n <= nk: within k */
            _mm512_mask_storeu_ps(sr + j, k, _mm512_maskz_mul_ps(live, _mm512_maskz_loadu_ps(live, sr + j), inv));
        }
        lse[(size_t)r * lse_stride] = mxs + logf(sum);
    }
}
/* P (m x nk) of scores -> exp(s - lse) for the visible keys, 0 for the masked ones. */
__attribute__((target("avx512f")))
static void exp_rows512(float *P, int ld, int m, int nk, int i0, const float *lse, int lse_stride) {
    for (int r = 0; r < m; r++) {
        float *pr = P + (size_t)r * ld;
        int n = i0 + r + 1;
        __m512 l = _mm512_set1_ps(lse[(size_t)r * lse_stride]);
        for (int j = 0; j < nk; j += 16) {
            __mmask16 k = cpu_lanes16(nk - j);
            __mmask16 live = cpu_lanes16(n - j);   /* n <= nk: within k */
            __m512 e = cpu_exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, pr + j), l));
            _mm512_mask_storeu_ps(pr + j, k, _mm512_maskz_mov_ps(live, e));
        }
    }
}
/* dS = P o (dP - d_r) scale for the visible keys, 0 for the masked ones (whose dP may never have
 * been written), 16 at a time (d_r = rowsum(dO o O), given per row). */
__attribute__((target("avx512f")))
static void ds_rows512(float *dP, const float *P, int ld, int m, int nk, int i0, const float *di, float scale) {
    __m512 sc = _mm512_set1_ps(scale);
    for (int r = 0; r < m; r++) {
        float *dr = dP + (size_t)r * ld;
        const float *pr = P + (size_t)r * ld;
        __m512 d = _mm512_set1_ps(di[r]);
        int n = i0 + r + 1;
        for (int j = 0; j < nk; j += 16) {
            __mmask16 k = cpu_lanes16(nk - j);
            __mmask16 live = cpu_lanes16(n - j);   /* n <= nk: within k */
            __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(live, pr + j), _mm512_sub_ps(_mm512_maskz_loadu_ps(live, dr + j), d)), sc);
            _mm512_mask_storeu_ps(dr + j, k, _mm512_maskz_mov_ps(live, v));
        }
    }
}
#endif

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
                       const void *vv, int st, const int32_t *cu, const int32_t *cu_host, int nseq, int T,
                       int H, int Hkv, int D, void *work) {
    (void)cu_host;   /* cu is in host memory already */
    float *out = outv; const float *q = qv, *k = kv, *v = vv;
    int grp = H / Hkv, maxlen = longest(cu, nseq), HD = H * D;
    float scale = 1.0f / sqrtf((float)D);
    int nblk = 0, v512 = cpu_st(be)->simd >= CPU_SIMD_AVX512;   /* tasks: (sequence, head, query block) */
    (void)v512;
    if (cpu_attn_amx(be, D)) {   /* a bf16 model on AMX: bf16 block products (attention_amx.c) */
        cpu_attn_amx_fwd(be, cpu_nt(be, (size_t)T * maxlen * H * D), out, lse, q, k, v, st, cu, nseq, H, Hkv, D, maxlen, work);
        return;
    }
#ifdef SOFTMAX_AVX512
    if (v512 && D % 16 == 0) {
        /* tasks: (sequence, head, run of query blocks; cpu_attn_runs), K transposed and V put
           in panels once per task */
        int nt = cpu_nt(be, (size_t)T * maxlen * H * D), runs = cpu_attn_runs(nt, nseq, H, maxlen, BQ);
        #pragma omp parallel num_threads(nt)
        {
            thread_work tw = thread_share(work, maxlen, D);
            float *S = tw.P, *Kt = tw.Kt, *Vd = tw.Kp;
            #pragma omp for schedule(dynamic, 1) collapse(3)
            for (int s = 0; s < nseq; s++)
                for (int h = 0; h < H; h++)
                    for (int r = 0; r < runs; r++) {
                        int s0 = cu[s], n = cu[s + 1] - s0, b0, b1;
                        cpu_attn_run(r, runs, n, BQ, &b0, &b1);
                        if (b0 >= b1) continue;
                        int kmax = b1 * BQ < n ? b1 * BQ : n;   /* keys the run's last block sees */
                        const float *K = k + (size_t)s0 * st + (size_t)(h / grp) * D, *Vv = v + (size_t)s0 * st + (size_t)(h / grp) * D;
                        int ldk = key_ld(kmax);
                        cpu_transpose(Kt, (size_t)ldk, K, (size_t)st, kmax, D);   /* Kt[d][j], j < kmax */
                        to_panels(Vd, Vv, (size_t)st, kmax, D);
                        for (int i0 = b0 * BQ; i0 < b1 * BQ && i0 < n; i0 += BQ) {
                            int m = n - i0 < BQ ? n - i0 : BQ, nk = i0 + m;
                            const float *Q = q + (size_t)(s0 + i0) * st + (size_t)h * D;
                            cpu_sgemm_small(m, nk, D, scale, Q, (size_t)st, 1, Kt, (size_t)ldk, 0, S, (size_t)nk, CPU_CAUSAL_NEND, i0, NULL);
                            softmax_rows512(S, m, nk, i0, lse + (size_t)(s0 + i0) * H + h, H);
                            small_panels(m, D, nk, 1.0f, S, (size_t)nk, 1, Vd, kmax, out + (size_t)(s0 + i0) * HD + (size_t)h * D, (size_t)HD,
                                         CPU_CAUSAL_KEND, i0);
                        }
                    }
        }
        return;
    }
#endif
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
                cpu_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nk, D, scale, Q, st, K, st, 0.0f, S, nk);
#ifdef SOFTMAX_AVX512
                if (v512) softmax_rows512(S, m, nk, i0, lse + (size_t)(s0 + i0) * H + h, H);
                else
#endif
                softmax_rows(S, m, nk, i0, lse + (size_t)(s0 + i0) * H + h, H);
                cpu_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, D, nk, 1.0f, S, nk, Vv, st, 0.0f,
                          out + (size_t)(s0 + i0) * HD + (size_t)h * D, HD);
            }
    }
}

#ifdef SOFTMAX_AVX512
#define BK 96   /* keys per task of the split backward: a multiple of the tiles' 6 rows */

/* The backward below, cut finer for when there are fewer (sequence, KV head) pairs than
 * threads (mgrpo's micro-batch of one long sequence of a model with 2 KV heads ran on 2 of 16
 * threads): pass 1, a task per (sequence, KV head, block of BK keys), sums those keys' dK and
 * dV over the group's heads and the query blocks that see them; pass 2, a task per (sequence,
 * head, query block), its dQ. Pass 2 recomputes P and dP (flash attention 2's split). Every
 * element goes through the same product calls as in the one-pass loop (key blocks start on
 * its 6-row tiles; a tile's sum is a chain over its k range in order, whatever the tile's
 * columns), with the partial sums added in the same order (heads, then query blocks), so the
 * result is the same bits: the choice may follow the thread count. */
/* One block of the split backward: query rows Q/dO/O (m of them, strides st/HD) against w keys
 * given transposed (Kt, Vt: D x w, row stride ldk), the first key d0 rows before the first
 * query: P (m x w, row stride ldp) from the saved logsumexp and dS (in dP) = P o (dP -
 * rowsum(dO o O)) scale. ldp = key_ld(w): dK and dV read P and dS down their columns. */
static void p_ds_block(float *P, float *dP, int ldp, const float *Q, const float *dO, const float *O, int st, int HD, const float *Kt,
                       const float *Vt, int ldk, int m, int w, int d0, int D, const float *lse, int H, float scale) {
    cpu_sgemm_small(m, w, D, scale, Q, (size_t)st, 1, Kt, (size_t)ldk, 0, P, (size_t)ldp, CPU_CAUSAL_NEND, d0, NULL);
    cpu_sgemm_small(m, w, D, 1.0f, dO, (size_t)HD, 1, Vt, (size_t)ldk, 0, dP, (size_t)ldp, CPU_CAUSAL_NEND, d0, NULL);
    float di[BQ];
    for (int r = 0; r < m; r++) di[r] = dot(dO + (size_t)r * HD, O + (size_t)r * HD, D);
    exp_rows512(P, ldp, m, w, d0, lse, H);
    ds_rows512(dP, P, ldp, m, w, d0, di, scale);
}

static void attention_bwd_split(int nt, float *dq, float *dk, float *dv, int dst, const float *dout, const float *q,
                                const float *k, const float *v, int st, const float *out, const float *lse,
                                const int32_t *cu, int nseq, int H, int Hkv, int D, int maxlen, float *work) {
    int grp = H / Hkv, HD = H * D, nkb = (maxlen + BK - 1) / BK, nqb = (maxlen + BQ - 1) / BQ;
    float scale = 1.0f / sqrtf((float)D);
    #pragma omp parallel num_threads(nt)
    {
        thread_work tw = thread_share(work, maxlen, D);
        float *P = tw.P, *dP = tw.dP, *Kt = tw.Kt, *Vt = tw.Vt, *Kd = tw.Kp, *pk = tw.pk;
        /* pass 1: dK, dV of one block of keys */
        #pragma omp for schedule(dynamic, 1) collapse(3)
        for (int s = 0; s < nseq; s++)
            for (int g = 0; g < Hkv; g++)
                for (int kb = 0; kb < nkb; kb++) {
                    int s0 = cu[s], n = cu[s + 1] - cu[s], kb0 = kb * BK;
                    if (kb0 >= n) continue;
                    int nb = n - kb0 < BK ? n - kb0 : BK;
                    float *dK = dk + (size_t)(s0 + kb0) * dst + (size_t)g * D, *dV = dv + (size_t)(s0 + kb0) * dst + (size_t)g * D;
                    for (int j = 0; j < nb; j++) {
                        memset(dK + (size_t)j * dst, 0, (size_t)D * sizeof(float));
                        memset(dV + (size_t)j * dst, 0, (size_t)D * sizeof(float));
                    }
                    int ldk = key_ld(nb);
                    cpu_transpose(Kt, (size_t)ldk, k + (size_t)(s0 + kb0) * st + (size_t)g * D, (size_t)st, nb, D);
                    cpu_transpose(Vt, (size_t)ldk, v + (size_t)(s0 + kb0) * st + (size_t)g * D, (size_t)st, nb, D);
                    for (int h = g * grp; h < (g + 1) * grp; h++)
                        for (int i0 = kb0 / BQ * BQ; i0 < n; i0 += BQ) {
                            int m = n - i0 < BQ ? n - i0 : BQ, w = i0 + m - kb0 < nb ? i0 + m - kb0 : nb, d0 = i0 - kb0;
                            size_t r0 = (size_t)(s0 + i0);
                            const float *Q = q + r0 * st + (size_t)h * D, *dO = dout + r0 * HD + (size_t)h * D;
                            const float *O = out + r0 * HD + (size_t)h * D;
                            int ldp = key_ld(w);
                            p_ds_block(P, dP, ldp, Q, dO, O, st, HD, Kt, Vt, ldk, m, w, d0, D, lse + r0 * H + h, H, scale);
                            cpu_sgemm_small(w, D, m, 1.0f, dP, 1, (size_t)ldp, Q, (size_t)st, 1, dK, (size_t)dst, CPU_CAUSAL_KSTART, d0, pk);
                            cpu_sgemm_small(w, D, m, 1.0f, P, 1, (size_t)ldp, dO, (size_t)HD, 1, dV, (size_t)dst, CPU_CAUSAL_KSTART, d0, pk);
                        }
                }
        /* pass 2: dQ of one query block of one head */
        #pragma omp for schedule(dynamic, 1) collapse(3)
        for (int s = 0; s < nseq; s++)
            for (int h = 0; h < H; h++)
                for (int qb = 0; qb < nqb; qb++) {
                    int s0 = cu[s], n = cu[s + 1] - cu[s], i0 = qb * BQ, g = h / grp;
                    if (i0 >= n) continue;
                    int m = n - i0 < BQ ? n - i0 : BQ, nk = i0 + m;
                    const float *K = k + (size_t)s0 * st + (size_t)g * D;
                    int ldk = key_ld(nk);
                    cpu_transpose(Kt, (size_t)ldk, K, (size_t)st, nk, D);
                    cpu_transpose(Vt, (size_t)ldk, v + (size_t)s0 * st + (size_t)g * D, (size_t)st, nk, D);
                    to_panels(Kd, K, (size_t)st, nk, D);
                    size_t r0 = (size_t)(s0 + i0);
                    const float *Q = q + r0 * st + (size_t)h * D, *dO = dout + r0 * HD + (size_t)h * D;
                    const float *O = out + r0 * HD + (size_t)h * D;
                    p_ds_block(P, dP, ldk, Q, dO, O, st, HD, Kt, Vt, ldk, m, nk, i0, D, lse + r0 * H + h, H, scale);
                    small_panels(m, D, nk, 1.0f, dP, (size_t)ldk, 1, Kd, nk, dq + r0 * dst + (size_t)h * D, (size_t)dst, CPU_CAUSAL_KEND, i0);
                }
    }
}
#endif

/* Each thread owns one (sequence, kv head) pair, so dk/dv of the group never race (with
 * fewer pairs than threads, attention_bwd_split: the same bits, more tasks). */
void cpu_attention_bwd(const mrl_backend *be, void *dqv, void *dkv, void *dvv, int dst,
                       const void *doutv, const void *qv, const void *kv, const void *vv, int st,
                       const void *outv, const float *lse, const int32_t *cu, const int32_t *cu_host,
                       int nseq, int T, int H, int Hkv, int D, void *work) {
    (void)cu_host;
    float *dq = dqv, *dk = dkv, *dv = dvv;
    const float *dout = doutv, *q = qv, *k = kv, *v = vv, *out = outv;
    int grp = H / Hkv, maxlen = longest(cu, nseq), HD = H * D, v512 = cpu_st(be)->simd >= CPU_SIMD_AVX512;
    float scale = 1.0f / sqrtf((float)D);
    int tiles = 0;   /* the block products on AVX-512 tiles (K and V transposed once per task), else OpenBLAS */
#ifdef SOFTMAX_AVX512
    tiles = v512 && D % 16 == 0;
#endif
    (void)v512;
    int nt = cpu_nt(be, (size_t)T * maxlen * H * D);
    /* MRL_CPU_ATTN_SPLIT=1/0 forces the split on/off (tests: it must give the same bits) */
    const char *sp = getenv("MRL_CPU_ATTN_SPLIT");
    if (cpu_attn_amx(be, D)) {   /* a bf16 model on AMX (attention_amx.c), split on the same rule */
        cpu_attn_amx_bwd(be, nt, sp ? atoi(sp) == 1 : nseq * Hkv < nt, dq, dk, dv, dst, dout, q, k, v, st, out, lse, cu, nseq, H,
                         Hkv, D, maxlen, work);
        return;
    }
#ifdef SOFTMAX_AVX512
    if (tiles && (sp ? atoi(sp) == 1 : nseq * Hkv < nt)) {
        attention_bwd_split(nt, dq, dk, dv, dst, dout, q, k, v, st, out, lse, cu, nseq, H, Hkv, D, maxlen, work);
        return;
    }
#endif
    #pragma omp parallel num_threads(nt)
    {
        thread_work tw = thread_share(work, maxlen, D);
        float *P = tw.P, *dP = tw.dP, *Kt = tw.Kt, *Vt = tw.Vt, *Kd = tw.Kp, *pk = tw.pk;
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
                int ldk = key_ld(n);
                if (tiles && n > 0) {
                    cpu_transpose(Kt, (size_t)ldk, K, (size_t)st, n, D);
                    cpu_transpose(Vt, (size_t)ldk, Vv, (size_t)st, n, D);
                    to_panels(Kd, K, (size_t)st, n, D);
                }
                for (int h = g * grp; h < (g + 1) * grp; h++)
                    for (int i0 = 0; i0 < n; i0 += BQ) {
                        int m = n - i0 < BQ ? n - i0 : BQ, nk = i0 + m;
                        size_t r0 = (size_t)(s0 + i0);
                        const float *Q = q + r0 * st + (size_t)h * D, *dO = dout + r0 * HD + (size_t)h * D;
                        const float *O = out + r0 * HD + (size_t)h * D;
                        float *dQ = dq + r0 * dst + (size_t)h * D;
                        /* P = softmax(Q K^T scale) from the saved logsumexp, dP = dO V^T, then dS
                           in dP: on the tiles the split backward's very calls (p_ds_block) */
                        int ldp = tiles ? key_ld(nk) : nk;   /* P's and dP's row stride */
#ifdef SOFTMAX_AVX512
                        if (tiles) p_ds_block(P, dP, ldp, Q, dO, O, st, HD, Kt, Vt, ldk, m, nk, i0, D, lse + r0 * H + h, H, scale);
                        else
#endif
                        {
                            cpu_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nk, D, scale, Q, st, K, st, 0.0f, P, nk);
                            cpu_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nk, D, 1.0f, dO, HD, Vv, st, 0.0f, dP, nk);
                            float di[BQ];   /* rowsum(dO o O) */
                            for (int r = 0; r < m; r++) di[r] = dot(dO + (size_t)r * HD, O + (size_t)r * HD, D);
#ifdef SOFTMAX_AVX512
                            if (v512) {
                                exp_rows512(P, nk, m, nk, i0, lse + r0 * H + h, H);
                                ds_rows512(dP, P, nk, m, nk, i0, di, scale);
                            } else
#endif
                            {
                                for (int r = 0; r < m; r++) {   /* P from the saved logsumexp, masked */
                                    float *pr = P + (size_t)r * nk, l = lse[(r0 + r) * H + h];
                                    int nv = i0 + r + 1;
                                    for (int j = 0; j < nv; j++) pr[j] = expf(pr[j] - l);
                                    for (int j = nv; j < nk; j++) pr[j] = 0;
                                }
                                for (int r = 0; r < m; r++) {   /* dS = P (dP - rowsum(dO o O)) scale */
                                    float *pr = P + (size_t)r * nk, *dr = dP + (size_t)r * nk;
                                    for (int j = 0; j < nk; j++) dr[j] = pr[j] * (dr[j] - di[r]) * scale;
                                }
                            }
                        }
                        /* dQ = dS K; dK += dS^T Q; dV += P^T dO */
                        if (tiles) {
                            small_panels(m, D, nk, 1.0f, dP, (size_t)ldp, 1, Kd, n, dQ, (size_t)dst, CPU_CAUSAL_KEND, i0);
                            cpu_sgemm_small(nk, D, m, 1.0f, dP, 1, (size_t)ldp, Q, (size_t)st, 1, dK, (size_t)dst, CPU_CAUSAL_KSTART, i0, pk);
                            cpu_sgemm_small(nk, D, m, 1.0f, P, 1, (size_t)ldp, dO, (size_t)HD, 1, dV, (size_t)dst, CPU_CAUSAL_KSTART, i0, pk);
                        } else {
                            cpu_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, D, nk, 1.0f, dP, nk, K, st, 0.0f, dQ, dst);
                            cpu_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, m, 1.0f, dP, nk, Q, st, 1.0f, dK, dst);
                            cpu_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, m, 1.0f, P, nk, dO, HD, 1.0f, dV, dst);
                        }
                    }
            }
    }
}

/* K and V rows into the pool: copied (F32) or rounded to nearest even (BF16, cpu_bf16_rne). */
void cpu_kv_write(const mrl_backend *be, void *kpool, void *vpool, mrl_dtype kvdt, const void *k,
                  const void *v, int stride, const int32_t *slots, int n, int Hkv, int D) {
    (void)be;
    size_t row = (size_t)Hkv * D;
    for (int i = 0; i < n; i++) {
        const float *ks = (const float *)k + (size_t)i * stride, *vs = (const float *)v + (size_t)i * stride;
        if (kvdt == MRL_BF16) {
            uint16_t *kd = (uint16_t *)kpool + (size_t)slots[i] * row, *vd = (uint16_t *)vpool + (size_t)slots[i] * row;
            for (size_t j = 0; j < row; j++) { kd[j] = cpu_bf16_rne(ks[j]); vd[j] = cpu_bf16_rne(vs[j]); }
        } else {
            memcpy((float *)kpool + (size_t)slots[i] * row, ks, row * sizeof(float));
            memcpy((float *)vpool + (size_t)slots[i] * row, vs, row * sizeof(float));
        }
    }
}

#define GMAX 8   /* heads per task: a GQA group, or a slice of one (a group is usually 2-8) */
#define ROWMAX 16   /* query heads of a row-wide task (all its KV heads; the AVX2 kernel) */

/* The pool slots of a sequence's first n tokens from its block table (bs tokens a block),
 * block by block, without a division per token (3-5 % of the AVX2 kernel's time). */
static inline void paged_slots(int32_t *slot, const int32_t *tab, int bs, int n) {
    for (int j0 = 0, b = 0; j0 < n; j0 += bs, b++)
        for (int j = j0, s = tab[b] * bs; j < n && j < j0 + bs; j++) slot[j] = s + (j - j0);
}

/* Heads whose scores a task holds at once: all H of a row where a row can be one task (the AVX2
 * kernel, H <= ROWMAX), else a GQA group or a slice of one (up to GMAX). */
static int task_heads(int H) { return H <= ROWMAX ? H : GMAX; }
/* Floats of work per thread: the scores of task_heads(H) heads, then maxctx + D floats for the
 * SIMD kernels' slots or the portable one's widened K or V row. */
static size_t paged_stride(int H, int maxctx, int D) {
    if (maxctx < 1) maxctx = 1;
    return (size_t)(task_heads(H) + 1) * (size_t)maxctx + (size_t)D;
}
size_t cpu_attention_paged_work(const mrl_backend *be, int R, int maxctx, int H, int D) {
    (void)R;
    return (size_t)be->threads_max * paged_stride(H, maxctx, D) * sizeof(float);
}

/* The query heads h0 .. h0+nh-1 of one row, which share KV head g, against its n cached keys:
 * scores into p[nh][n], softmax per head, then P V into o (head h at o + h D). The AVX-512
 * version reads each cached key and value row once for all nh heads (the GQA group): keys four
 * at a time (independent FMA chains), then P V one 16-wide slice of D at a time over all keys,
 * nh accumulators fed by one load of v. A head's sums run in the same order whatever nh is,
 * and each row's result depends only on that row, so batching never changes it. A bf16 pool
 * is widened exactly to fp32 as it is loaded: the same arithmetic on half the bytes. */
#if defined(__x86_64__) && (__GNUC__ >= 10 || defined(__clang__))
#include <immintrin.h>
#define PAGED_SIMD 1

/* [sum(a0), sum(a1), sum(a2), sum(a3)]: four horizontal sums sharing their shuffles. */
__attribute__((target("avx512f")))
static inline __m128 hsum4(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    __m512 t0 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
    __m512 t1 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
    __m512 u = _mm512_add_ps(_mm512_shuffle_ps(t0, t1, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 2, 3, 2)));
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(u), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(u), 1)));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* P V for the heads of the group over the 16 x NC columns from d: each cached value row is read
 * once (one pass per column slice), the heads' accumulators stay in registers. `vp` is the
 * value pool in bytes, `row` the elements of a slot, ES the element size (2: bf16). */
#define PV_PASS(NC, ES)                                                                          \
__attribute__((target("avx512f")))                                                               \
static void pv_pass##NC##_##ES(float *o, const float *p, const float *inv, const char *vp, size_t row, \
                        const int32_t *slot, int g, int nh, int D, int d, int n, int j0, int j1, int ahead) { \
    __m512 acc[GMAX][NC];                                                                        \
    _Pragma("GCC unroll 8") for (int h = 0; h < GMAX; h++)                                       \
        _Pragma("GCC unroll 2") for (int c = 0; c < NC; c++)                                     \
            acc[h][c] = j0 == 0 || h >= nh ? _mm512_setzero_ps() : _mm512_loadu_ps(o + (size_t)h * D + d + 16 * c); \
    for (int j = j0; j < j1; j++) {                                                              \
        const char *v = vp + ((size_t)slot[j] * row + (size_t)g * D + d) * ES;                   \
        if (j + ahead < n) {   /* rows are scattered over blocks: fetched ahead */               \
            const char *f = vp + ((size_t)slot[j + ahead] * row + (size_t)g * D + d) * ES;       \
            _Pragma("GCC unroll 2") for (int c = 0; c < (NC * ES + 3) / 4; c++) _mm_prefetch(f + 64 * c, _MM_HINT_T0); \
        }                                                                                        \
        __m512 vv[NC];                                                                           \
        _Pragma("GCC unroll 2") for (int c = 0; c < NC; c++) vv[c] = cpu_ld16(v + 16 * ES * c, ES == 2, 0); \
        _Pragma("GCC unroll 8") for (int h = 0; h < GMAX; h++)                                   \
            if (h < nh) {                                                                        \
                __m512 pj = _mm512_set1_ps(p[(size_t)h * n + j]);                                \
                _Pragma("GCC unroll 2") for (int c = 0; c < NC; c++) acc[h][c] = _mm512_fmadd_ps(pj, vv[c], acc[h][c]); \
            }                                                                                    \
    }                                                                                            \
    for (int h = 0; h < nh; h++)                                                                 \
        for (int c = 0; c < NC; c++)                                                             \
            _mm512_storeu_ps(o + (size_t)h * D + d + 16 * c, j1 < n ? acc[h][c] : _mm512_mul_ps(acc[h][c], _mm512_set1_ps(inv[h]))); \
}
PV_PASS(1, 4)
PV_PASS(2, 4)
PV_PASS(1, 2)
PV_PASS(2, 2)

/* The scores of four keys k[0..3] (nk of them real) for hn <= SH heads at once: each 16-wide
 * slice of a key is loaded (and widened) once for all the heads, and the 4 hn sums are
 * independent FMA chains (one head at a time left the FMA unit waiting on 4 chains). A score
 * is summed in the same order as one head at a time would: the slices in order, then hsum4. */
#define SH 6   /* heads per pass: 24 accumulators */
#define SCORES(ES)                                                                               \
__attribute__((target("avx512f")))                                                               \
static void scores4_##ES(float *p, int n, const float *q, int hn, const char *const k[4], int D, int nk, float scale) { \
    __m512 a[SH][4];                                                                             \
    _Pragma("GCC unroll 8") for (int h = 0; h < SH; h++)                                         \
        _Pragma("GCC unroll 4") for (int u = 0; u < 4; u++) a[h][u] = _mm512_setzero_ps();       \
    for (int d = 0; d < D; d += 16) {                                                            \
        __m512 k0 = cpu_ld16(k[0] + d * ES, ES == 2, 0), k1 = cpu_ld16(k[1] + d * ES, ES == 2, 0); \
        __m512 k2 = cpu_ld16(k[2] + d * ES, ES == 2, 0), k3 = cpu_ld16(k[3] + d * ES, ES == 2, 0); \
        _Pragma("GCC unroll 8") for (int h = 0; h < SH; h++)                                     \
            if (h < hn) {                                                                        \
                __m512 qv = _mm512_loadu_ps(q + (size_t)h * D + d);                              \
                a[h][0] = _mm512_fmadd_ps(qv, k0, a[h][0]);                                      \
                a[h][1] = _mm512_fmadd_ps(qv, k1, a[h][1]);                                      \
                a[h][2] = _mm512_fmadd_ps(qv, k2, a[h][2]);                                      \
                a[h][3] = _mm512_fmadd_ps(qv, k3, a[h][3]);                                      \
            }                                                                                    \
    }                                                                                            \
    _Pragma("GCC unroll 8") for (int h = 0; h < SH; h++)                                         \
        if (h < hn) {                                                                            \
            float sc[4];                                                                         \
            _mm_storeu_ps(sc, _mm_mul_ps(hsum4(a[h][0], a[h][1], a[h][2], a[h][3]), _mm_set1_ps(scale))); \
            memcpy(p + (size_t)h * n, sc, (size_t)nk * sizeof(float));                           \
        }                                                                                        \
}
SCORES(4)
SCORES(2)

/* One row's KV groups g0 .. g0+ng-1, hpg query heads of each (head g hpg + h of o, q and p is
 * head h of group g0 + g), over a pool of element size ES (4: fp32, 2: bf16): the scores four
 * keys at a time, group after group on the same keys, the keys' part of each cached row for
 * these groups fetched kahead keys ahead (into L2 only where kl2: a row's task, +5.5 % on 64
 * rows of 2,048 or 4,096 cached bf16 tokens, medians of 8 alternated pairs on a Xeon whose VM
 * hides AMX; the per-group tasks of 1-3 rows lost 7 % with it); the softmax; P V over blocks of jb cached rows (the
 * sums kept exactly in o between blocks), every group's column slices over a block, rows
 * fetched vahead ahead. Two callers:
 * - a task per (row, group or slice of one), the heads above: ng 1, kahead 8 (into L1), jb n
 *   (one block), vahead 16;
 * - a task per row (where rows are enough for every thread), all its groups: ng Hkv, kahead 32
 *   (into L2) and jb = vahead = 32 (ROW_*). A cached row holds every group's key (or value), Hkv x D
 *   elements. The per-group tasks each read their part of it (half of it for two KV heads), the
 *   values in passes of one line of every row, fetched only a few rows ahead: from memory that
 *   ran at a third of the read bandwidth (one thread, 64 rows of 2048 cached tokens: 5 GB/s).
 *   A row's task reads each cached row whole, the keys while they are in L1 for every group,
 *   the values block by block.
 * A head's sums are the same and in the same order either way (the blocks reload them
 * exactly), so the two give the same bits. */
#define ROW_KAHEAD 32   /* a row's task: keys fetched ahead of the scores (whole cached rows) */
#define ROW_JB 32       /* a row's task: cached rows per P V block, and its fetch distance */
#define GROUPS(ES)                                                                               \
__attribute__((target("avx512f")))                                                               \
static void groups_##ES(float *o, float *p, int32_t *slot, const float *q, const char *kp, const char *vp, \
                        size_t row, int g0, int ng, int hpg, int D, const int32_t *tab, int bs, int n, float scale, \
                        int kahead, int kl2, int jb, int vahead) {                               \
    if (n <= 0) { memset(o, 0, (size_t)ng * hpg * D * sizeof(float)); return; }   /* as the portable loop */ \
    paged_slots(slot, tab, bs, n);                                                               \
    size_t kb = (size_t)ng * D * ES;   /* bytes of these groups' keys in a cached row */          \
    for (int j = 0; j < n; j += 4) {                                                             \
        int nk = n - j < 4 ? n - j : 4;                                                          \
        const char *k[4];                                                                        \
        for (int u = 0; u < 4; u++) k[u] = kp + ((size_t)slot[j + (u < nk ? u : 0)] * row + (size_t)g0 * D) * ES; \
        if (j + kahead + 4 <= n)                                                                 \
            for (int u = kahead; u < kahead + 4; u++) {                                          \
                const char *f = kp + ((size_t)slot[j + u] * row + (size_t)g0 * D) * ES;          \
                if (kl2) for (size_t c = 0; c < kb; c += 64) _mm_prefetch(f + c, _MM_HINT_T1);   \
                else for (size_t c = 0; c < kb; c += 64) _mm_prefetch(f + c, _MM_HINT_T0);      \
            }                                                                                    \
        for (int g = 0; g < ng; g++) {                                                           \
            const char *kg[4];                                                                   \
            for (int u = 0; u < 4; u++) kg[u] = k[u] + (size_t)g * D * ES;                       \
            for (int h0 = 0; h0 < hpg; h0 += SH)                                                 \
                scores4_##ES(p + (size_t)(g * hpg + h0) * n + j, n, q + (size_t)(g * hpg + h0) * D, \
                             hpg - h0 < SH ? hpg - h0 : SH, kg, D, nk, scale);                  \
        }                                                                                        \
    }                                                                                            \
    float inv[ROWMAX], mx;                                                                       \
    for (int h = 0; h < ng * hpg; h++) inv[h] = 1.0f / exp_shift512(p + (size_t)h * n, n, &mx);   /* softmax */ \
    for (int j0 = 0; j0 < n; j0 += jb) {                                                         \
        int j1 = n - j0 < jb ? n : j0 + jb;                                                      \
        for (int g = 0; g < ng; g++) {                                                           \
            float *og = o + (size_t)g * hpg * D;                                                 \
            const float *pg = p + (size_t)g * hpg * n, *ig = inv + g * hpg;                      \
            int d = 0;                                                                           \
            for (; d + 32 <= D; d += 32) pv_pass2_##ES(og, pg, ig, vp, row, slot, g0 + g, hpg, D, d, n, j0, j1, vahead); \
            if (d < D) pv_pass1_##ES(og, pg, ig, vp, row, slot, g0 + g, hpg, D, d, n, j0, j1, vahead); \
        }                                                                                        \
    }                                                                                            \
}
GROUPS(4)
GROUPS(2)

/* The same design for AVX2 + FMA (16 ymm registers, 8 lanes; a head dim that is a multiple of
 * 8): scores two keys at a time for up to 6 heads (12 accumulators), P V 16 columns at a time
 * for up to 6 heads, over chunks of cached rows. The loop without AVX-512 before this one
 * (group_portable, one SIMD dot per head and key, a scalar expf) reached 25 GFLOP/s on an AMD
 * EPYC Zen 2; this one 50-80 (bf16 cache, 2 threads). */
/* [sum(a0), sum(a1), sum(a2), sum(a3)] */
__attribute__((target("avx2,fma")))
static inline __m128 hsum4_8(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}
/* p[0..n) -> exp(p - max p), 8 at a time; returns their sum, the max in *mx. */
__attribute__((target("avx2,fma")))
static float exp_shift256(float *p, int n, float *mx) {
    __m256 m = _mm256_set1_ps(-INFINITY), sm = _mm256_setzero_ps();
    for (int j = 0; j < n; j += 8) {
        __m256i k = cpu_lanes8(n - j);
        m = _mm256_blendv_ps(m, _mm256_max_ps(m, _mm256_maskload_ps(p + j, k)), _mm256_castsi256_ps(k));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    *mx = _mm_cvtss_f32(m4);
    __m256 mv = _mm256_set1_ps(*mx);
    for (int j = 0; j < n; j += 8) {
        __m256i k = cpu_lanes8(n - j);
        __m256 e = _mm256_and_ps(cpu_exp256(_mm256_sub_ps(_mm256_maskload_ps(p + j, k), mv)), _mm256_castsi256_ps(k));
        _mm256_maskstore_ps(p + j, k, e);
        sm = _mm256_add_ps(sm, e);
    }
    return cpu_hsum8(sm);
}
#define SH2 6   /* heads per pass of the AVX2 kernels */
#define JC 32   /* cached rows per P V chunk */
/* The kernels below are inlined with the head count HN, the column vectors NC and the element
 * size ES as constants (a switch picks the instance), so that their accumulators stay in
 * registers: with a run-time head count GCC kept them on the stack. */
#define AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) static inline

/* The scores of keys k0, k1 (nk of them real) for HN heads. */
AVX2_INLINE void scores2_body(float *p, int n, const float *q, const char *k0p, const char *k1p, int D, int nk,
                              float scale, const int HN, const int ES) {
    __m256 a[SH2][2];
    _Pragma("GCC unroll 6") for (int h = 0; h < SH2; h++) a[h][0] = a[h][1] = _mm256_setzero_ps();
    for (int d = 0; d < D; d += 8) {
        __m256 k0 = cpu_ld8(k0p + d * ES, ES == 2, 0), k1 = cpu_ld8(k1p + d * ES, ES == 2, 0);
        _Pragma("GCC unroll 6") for (int h = 0; h < HN; h++) {
            __m256 qv = _mm256_loadu_ps(q + (size_t)h * D + d);
            a[h][0] = _mm256_fmadd_ps(qv, k0, a[h][0]);
            a[h][1] = _mm256_fmadd_ps(qv, k1, a[h][1]);
        }
    }
    float sc[SH2 * 2];
    __m128 s = _mm_set1_ps(scale);
    _mm_storeu_ps(sc, _mm_mul_ps(hsum4_8(a[0][0], a[0][1], a[1][0], a[1][1]), s));
    if (HN > 2) _mm_storeu_ps(sc + 4, _mm_mul_ps(hsum4_8(a[2][0], a[2][1], a[3][0], a[3][1]), s));
    if (HN > 4) _mm_storeu_ps(sc + 8, _mm_mul_ps(hsum4_8(a[4][0], a[4][1], a[5][0], a[5][1]), s));
    for (int h = 0; h < HN; h++) { p[(size_t)h * n] = sc[2 * h]; if (nk > 1) p[(size_t)h * n + 1] = sc[2 * h + 1]; }
}
/* P V of HN heads over the 8 x NC columns from d, for the cached rows j0 .. j1-1: the sums so
 * far are in o (j0 > 0) and go back there. */
AVX2_INLINE void pv2_body(float *o, const float *p, const char *vp, size_t row, const int32_t *slot, int g,
                          int D, int d, int n, int j0, int j1, const int HN, const int NC, const int ES) {
    __m256 acc[SH2][2];
    _Pragma("GCC unroll 6") for (int h = 0; h < HN; h++)
        _Pragma("GCC unroll 2") for (int c = 0; c < NC; c++)
            acc[h][c] = j0 ? _mm256_loadu_ps(o + (size_t)h * D + d + 8 * c) : _mm256_setzero_ps();
    for (int j = j0; j < j1; j++) {
        const char *v = vp + ((size_t)slot[j] * row + (size_t)g * D + d) * ES;
        __m256 vv[2];
        _Pragma("GCC unroll 2") for (int c = 0; c < NC; c++) vv[c] = cpu_ld8(v + 8 * ES * c, ES == 2, 0);
        _Pragma("GCC unroll 6") for (int h = 0; h < HN; h++) {
            __m256 pj = _mm256_broadcast_ss(p + (size_t)h * n + j);
            _Pragma("GCC unroll 2") for (int c = 0; c < NC; c++) acc[h][c] = _mm256_fmadd_ps(pj, vv[c], acc[h][c]);
        }
    }
    _Pragma("GCC unroll 6") for (int h = 0; h < HN; h++)
        _Pragma("GCC unroll 2") for (int c = 0; c < NC; c++) _mm256_storeu_ps(o + (size_t)h * D + d + 8 * c, acc[h][c]);
}
#define HN_SWITCH(hn, CALL) switch (hn) { case 1: CALL(1); break; case 2: CALL(2); break; case 3: CALL(3); break; \
                                          case 4: CALL(4); break; case 5: CALL(5); break; default: CALL(6); }
__attribute__((target("avx2,fma")))
static void scores2(float *p, int n, const float *q, int hn, const char *k0, const char *k1, int D, int nk, float scale, int es) {
#define SC(HN) if (es == 2) scores2_body(p, n, q, k0, k1, D, nk, scale, HN, 2); else scores2_body(p, n, q, k0, k1, D, nk, scale, HN, 4)
    HN_SWITCH(hn, SC)
#undef SC
}
__attribute__((target("avx2,fma")))
static void pv2(float *o, const float *p, const char *vp, size_t row, const int32_t *slot, int g, int hn, int D,
                int d, int n, int j0, int j1, int nc, int es) {
#define PV(HN) if (es == 2) { if (nc == 2) pv2_body(o, p, vp, row, slot, g, D, d, n, j0, j1, HN, 2, 2); \
                              else pv2_body(o, p, vp, row, slot, g, D, d, n, j0, j1, HN, 1, 2); }         \
               else { if (nc == 2) pv2_body(o, p, vp, row, slot, g, D, d, n, j0, j1, HN, 2, 4);          \
                      else pv2_body(o, p, vp, row, slot, g, D, d, n, j0, j1, HN, 1, 4); }
    HN_SWITCH(hn, PV)
#undef PV
}

/* One row's heads against its n cached keys, as groups_ES above, for ng adjacent KV heads
 * g0 .. g0+ng-1 and nh query heads each (head i of KV head g0+gi at q, o + (gi nh + i) D; p
 * holds ng nh x n scores); es is the pool's element size. A task of one group (ng = 1) read
 * half of each cached row's 512 bytes (2 KV heads of 128 bf16) and left the other half to a
 * second pass; with every group of the row in one task (ng = Hkv), the keys and values are
 * read as they lie. Either way a head's sums are the same operations in the same order. */
__attribute__((target("avx2,fma")))
static void group_avx2(float *o, float *p, int32_t *slot, const float *q, const char *kp, const char *vp, int es,
                       size_t row, int g0, int ng, int nh, int D, const int32_t *tab, int bs, int n, float scale) {
    int nq = ng * nh;
    if (n <= 0) { memset(o, 0, (size_t)nq * D * sizeof(float)); return; }
    paged_slots(slot, tab, bs, n);
    size_t off = (size_t)g0 * D;   /* the first KV head's columns in a cached row */
    int span = ng * D * es;        /* bytes of a cached row this task reads */
    for (int j = 0; j < n; j += 2) {
        int nk = n - j < 2 ? n - j : 2;
        if (j + 18 <= n)   /* the keys eight steps ahead */
            for (int u = 16; u < 18; u++) {
                const char *f = kp + ((size_t)slot[j + u] * row + off) * es;
                for (int c = 0; c < span; c += 64) _mm_prefetch(f + c, _MM_HINT_T0);
            }
        for (int gi = 0; gi < ng; gi++) {
            size_t kg = (size_t)(g0 + gi) * D;
            const char *k0 = kp + ((size_t)slot[j] * row + kg) * es;
            const char *k1 = nk > 1 ? kp + ((size_t)slot[j + 1] * row + kg) * es : k0;
            float *pg = p + (size_t)gi * nh * n;
            const float *qg = q + (size_t)gi * nh * D;
            for (int h0 = 0; h0 < nh; h0 += SH2)
                scores2(pg + (size_t)h0 * n + j, n, qg + (size_t)h0 * D, nh - h0 < SH2 ? nh - h0 : SH2, k0, k1, D, nk, scale, es);
        }
    }
    float inv[ROWMAX], mx;
    for (int h = 0; h < nq; h++) inv[h] = 1.0f / exp_shift256(p + (size_t)h * n, n, &mx);   /* softmax */
    /* P V in chunks of JC cached rows: a chunk's value rows come from L2 for the first column
     * slice and from L1 for the others. The next chunk's rows are prefetched a few before each
     * pv2 call: issued all at once (256 lines), most were lost and pv2 waited on its loads
     * (bf16 cache, 32 rows x 2000 tokens, one Zen 2 core: 14.6 -> 10.5 ms). */
    int calls = ng * ((nh + SH2 - 1) / SH2) * ((D + 15) / 16);   /* pv2 calls per chunk */
    for (int j0 = 0; j0 < n; j0 += JC) {
        int j1 = n - j0 < JC ? n : j0 + JC;
        int pf = j1, pe = j1 + JC < n ? j1 + JC : n, per = (pe - pf + calls - 1) / calls;
        for (int gi = 0; gi < ng; gi++) {
            float *og = o + (size_t)gi * nh * D;
            const float *pg = p + (size_t)gi * nh * n;
            for (int h0 = 0; h0 < nh; h0 += SH2) {
                int hn = nh - h0 < SH2 ? nh - h0 : SH2;
                for (int d = 0; d < D; d += 16) {
                    for (int u = 0; u < per && pf < pe; u++, pf++) {   /* the next chunk, a few rows a call */
                        const char *f = vp + ((size_t)slot[pf] * row + off) * es;
                        for (int c = 0; c < span; c += 64) _mm_prefetch(f + c, _MM_HINT_T1);
                    }
                    pv2(og + (size_t)h0 * D, pg + (size_t)h0 * n, vp, row, slot, g0 + gi, hn, D, d, n, j0, j1, D - d >= 16 ? 2 : 1, es);
                }
            }
        }
    }
    for (int h = 0; h < nq; h++)
        for (int i = 0; i < D; i++) o[(size_t)h * D + i] *= inv[h];
}
#endif

/* A GQA group's heads h0 .. h0+nh-1 of one row without AVX-512 or AVX2 (or with a head dim
 * that is not a multiple of 8), as groups_ES above: each cached key and value row is read (and
 * a bf16 one widened into buf, D floats) once for all nh heads; the loops are SIMD reductions
 * (CPU_CLONES). (The scalar loop before
 * read a bf16 pool at 0.6 GB/s on an AVX2 CPU, AMD EPYC Zen 2, 7x slower than an fp32 one.) A
 * head's sums depend only on its row, so batching never changes them. p holds nh x n scores. */
static inline const float *kv_row(float *restrict buf, const char *restrict src, int bf, int D) {
    if (!bf) return (const float *)src;
    #pragma omp simd
    for (int i = 0; i < D; i++) buf[i] = cpu_ld(src, MRL_BF16, (size_t)i);
    return buf;
}
CPU_CLONES static void group_portable(float *o, float *p, float *restrict buf, const float *q, const char *kp, const char *vp, int bf,
                                      size_t row, int g, int nh, int D, const int32_t *tab, int bs, int n, float scale) {
    float inv[GMAX];
    size_t es = bf ? 2 : 4;
    for (int j = 0; j < n; j++) {
        size_t slot = (size_t)tab[j / bs] * bs + j % bs;
        const float *k = kv_row(buf, kp + (slot * row + (size_t)g * D) * es, bf, D);
        for (int h = 0; h < nh; h++) p[(size_t)h * n + j] = dot(q + (size_t)h * D, k, D) * scale;
    }
    for (int h = 0; h < nh; h++) {
        float *ph = p + (size_t)h * n, m = -INFINITY, sum = 0;
        for (int j = 0; j < n; j++) if (ph[j] > m) m = ph[j];
        for (int j = 0; j < n; j++) { ph[j] = expf(ph[j] - m); sum += ph[j]; }
        inv[h] = 1.0f / sum;
    }
    memset(o, 0, (size_t)nh * D * sizeof(float));
    for (int j = 0; j < n; j++) {
        size_t slot = (size_t)tab[j / bs] * bs + j % bs;
        const float *v = kv_row(buf, vp + (slot * row + (size_t)g * D) * es, bf, D);
        for (int h = 0; h < nh; h++) axpy(o + (size_t)h * D, p[(size_t)h * n + j] * inv[h], v, D);
    }
}

void cpu_attention_paged(const mrl_backend *be, void *outv, const void *qv, int qs, const void *kpool,
                         const void *vpool, mrl_dtype kvdt, const int32_t *bt, int max_blocks, int bs,
                         const int32_t *row_seq, const int32_t *row_ctx, int R, int H, int Hkv,
                         int D, void *work) {
    float *out = outv; const float *q = qv;
    const char *kp = kpool, *vp = vpool;
    int grp = H / Hkv, maxctx = 1, bf = kvdt == MRL_BF16;
    for (int r = 0; r < R; r++) if (row_ctx[r] > maxctx) maxctx = row_ctx[r];
    float scale = 1.0f / sqrtf((float)D);
    size_t row = (size_t)Hkv * D;
    int avx512 = 0, avx2 = 0;
    (void)avx512;   /* read only where the SIMD kernels are compiled (PAGED_SIMD) */
#ifdef PAGED_SIMD
    avx512 = cpu_st(be)->simd >= CPU_SIMD_AVX512 && D % 16 == 0;
    avx2 = !avx512 && cpu_st(be)->simd >= CPU_SIMD_AVX2 && D % 8 == 0;
#endif
    /* one task per (row, KV group slice of up to GMAX heads) */
    int hw = task_heads(H), per = grp < GMAX ? grp : GMAX, nsl = (grp + per - 1) / per;   /* per <= hw */
    size_t stride = paged_stride(H, maxctx, D);
    int nt = cpu_nt(be, (size_t)R * maxctx * H * D);
    /* With rows enough for every thread, a thread takes all the groups of a row in turn: a
     * group's K and V are half of each cached row's bytes or less, and the memory next to them
     * is then read by the same core (bf16 cache 32 rows x 2000 tokens, AMD Zen 2: 9.6 -> 7.7 ms);
     * the AVX-512 and AVX2 kernels take them in one task (row_wide), reading each cached row
     * whole (AVX-512, 64 rows x 2048 tokens of the 1.5B shapes, 2 threads: bf16 cache 12.2 ->
     * 8.7 ms, fp32 19.6 -> 14.8) */
    int chunk = R >= 2 * nt ? Hkv * nsl : 1;
    int row_wide = (avx2 || avx512) && chunk > 1 && nsl == 1 && H <= ROWMAX;
    (void)row_wide;   /* read only where the SIMD kernels are compiled (PAGED_SIMD) */
    #pragma omp parallel num_threads(nt)
    {
        float *p = (float *)work + (size_t)omp_get_thread_num() * stride;
        float *extra = p + (size_t)hw * maxctx;   /* the SIMD kernels' slots, or the portable one's row */
#ifdef PAGED_SIMD
        if (row_wide) {
            #pragma omp for schedule(dynamic, 1)
            for (int r = 0; r < R; r++) {
                const int32_t *tab = bt + (size_t)row_seq[r] * max_blocks;
                if (avx512 && bf) groups_2(out + (size_t)r * H * D, p, (int32_t *)extra, q + (size_t)r * qs, kp, vp, row, 0, Hkv, grp, D,
                                           tab, bs, row_ctx[r], scale, ROW_KAHEAD, 1, ROW_JB, ROW_JB);
                else if (avx512) groups_4(out + (size_t)r * H * D, p, (int32_t *)extra, q + (size_t)r * qs, kp, vp, row, 0, Hkv, grp, D,
                                          tab, bs, row_ctx[r], scale, ROW_KAHEAD, 1, ROW_JB, ROW_JB);
                else group_avx2(out + (size_t)r * H * D, p, (int32_t *)extra, q + (size_t)r * qs, kp, vp, bf ? 2 : 4, row, 0, Hkv, grp, D,
                                tab, bs, row_ctx[r], scale);
            }
        } else
#endif
        #pragma omp for schedule(dynamic, chunk) collapse(2)
        for (int r = 0; r < R; r++)
            for (int gs = 0; gs < Hkv * nsl; gs++) {
                int g = gs / nsl, h0 = g * grp + gs % nsl * per, nh = g * grp + grp - h0 < per ? g * grp + grp - h0 : per;
                float *o = out + (size_t)r * H * D + (size_t)h0 * D;
                const float *qr = q + (size_t)r * qs + (size_t)h0 * D;
                const int32_t *tab = bt + (size_t)row_seq[r] * max_blocks;
#ifdef PAGED_SIMD
                if (avx512) {
                    int n = row_ctx[r];   /* one block: P V over all the rows, one column slice after another */
                    if (bf) groups_2(o, p, (int32_t *)extra, qr, kp, vp, row, g, 1, nh, D, tab, bs, n, scale, 8, 0, n, 16);
                    else groups_4(o, p, (int32_t *)extra, qr, kp, vp, row, g, 1, nh, D, tab, bs, n, scale, 8, 0, n, 16);
                    continue;
                }
                if (avx2) {
                    group_avx2(o, p, (int32_t *)extra, qr, kp, vp, bf ? 2 : 4, row, g, 1, nh, D, tab, bs, row_ctx[r], scale);
                    continue;
                }
#endif
                group_portable(o, p, extra, qr, kp, vp, bf, row, g, nh, D, tab, bs, row_ctx[r], scale);
            }
    }
}
