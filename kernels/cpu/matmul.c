/* matmul.c — the CPU backend's dense products: for many rows the AVX-512 register tiles of
 * smallgemm.c (OpenBLAS sgemm on CPUs without AVX-512), and for few rows (decode) a
 * weight-streaming kernel (AVX-512 / AVX2 / portable) that reads W once. bf16 models on
 * AVX512_BF16 CPUs take the bf16 GEMMs of bf16dot.c instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <omp.h>
#include "cpu.h"

/* Few rows: W is streamed once and each row of W meets every x row while it is in L1, so
 * decode runs at memory bandwidth. Up to this many rows (small_t, at most this) sgemm's
 * packing is not worth it. */
#define SMALL_T_MAX 64
#define BF16_TILE 128   /* rows of a bf16 weight converted to fp32 per sgemm call */

static inline float bf(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }

/* res[t * ldr] = dot(w, x + t*ldx) for t < T, n elements; portable (OpenMP SIMD). */
#define DOTS_BODY(WLOAD)                                                       \
    for (int t = 0; t < T; t++) {                                              \
        const float *xt = x + (size_t)t * ldx; float s = 0;                    \
        _Pragma("omp simd reduction(+:s)")                                     \
        for (int i = 0; i < n; i++) s += WLOAD * xt[i];                        \
        res[(size_t)t * ldr] = s;                                              \
    }
static void dots_f32(const float *w, const float *x, int ldx, int T, int n, float *res, int ldr) { DOTS_BODY(w[i]) }
static void dots_bf16(const uint16_t *w, const float *x, int ldx, int T, int n, float *res, int ldr) { DOTS_BODY(bf(w[i])) }

#define DOT_RO 3   /* the register tiles below: weight rows x x rows */
#define DOT_NT 4
#ifdef CPU_HAVE_EXP512   /* x86's intrinsics (cpu.h); other CPUs stream with DOTS_BODY */
/* AVX-512: RO rows of W (o) against NT rows of x (t) at once, two accumulators per (o, t) so
 * the FMA latency is hidden: 3 x 4 x 2 = 24 accumulators, each x vector loaded once for the 3
 * weight rows (one row at a time read x from L2 once per weight row: 8 rows of 1536 floats
 * fill L1). Every (o, t) sum is the same chain whatever RO, NT, T or the thread count: lanes
 * of a0 take the elements i % 32 < 16 (and a last 16), a1 the rest, then one reduction and the
 * scalar tail; bf16 is widened by a shift (bf16 = high half of fp32). */
/* res[k * ldr + r] = dot(W row r, x row k), r < RO, k < NT; W rows ldw elements apart */
__attribute__((target("avx512f"), always_inline))
static inline void dots_blk(const int RO, const int NT, const void *wv, size_t ldw, int isbf, const float *x, int ldx,
                            int n, float *res, int ldr) {
    __m512 a0[DOT_RO][DOT_NT], a1[DOT_RO][DOT_NT];
    size_t es = isbf ? 2 : 4;
    const char *wr[DOT_RO];
#pragma GCC unroll 3
    for (int r = 0; r < RO; r++) {
        wr[r] = (const char *)wv + (size_t)r * ldw * es;
#pragma GCC unroll 4
        for (int k = 0; k < NT; k++) { a0[r][k] = _mm512_setzero_ps(); a1[r][k] = _mm512_setzero_ps(); }
    }
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 w[DOT_RO];
#pragma GCC unroll 3
        for (int r = 0; r < RO; r++) w[r] = cpu_ld16(wr[r], isbf, i);
#pragma GCC unroll 4
        for (int k = 0; k < NT; k++) {
            __m512 xv = _mm512_loadu_ps(x + (size_t)k * ldx + i);
#pragma GCC unroll 3
            for (int r = 0; r < RO; r++) a0[r][k] = _mm512_fmadd_ps(w[r], xv, a0[r][k]);
        }
#pragma GCC unroll 3
        for (int r = 0; r < RO; r++) w[r] = cpu_ld16(wr[r], isbf, i + 16);
#pragma GCC unroll 4
        for (int k = 0; k < NT; k++) {
            __m512 xv = _mm512_loadu_ps(x + (size_t)k * ldx + i + 16);
#pragma GCC unroll 3
            for (int r = 0; r < RO; r++) a1[r][k] = _mm512_fmadd_ps(w[r], xv, a1[r][k]);
        }
    }
    for (; i + 16 <= n; i += 16)
#pragma GCC unroll 3
        for (int r = 0; r < RO; r++) {
            __m512 w0 = cpu_ld16(wr[r], isbf, i);
#pragma GCC unroll 4
            for (int k = 0; k < NT; k++) a0[r][k] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + (size_t)k * ldx + i), a0[r][k]);
        }
    for (int r = 0; r < RO; r++) {
        const uint16_t *wb = (const uint16_t *)wr[r]; const float *wf = (const float *)wr[r];
        for (int k = 0; k < NT; k++) {
            float s = _mm512_reduce_add_ps(_mm512_add_ps(a0[r][k], a1[r][k]));
            for (int j = i; j < n; j++) s += (isbf ? bf(wb[j]) : wf[j]) * x[(size_t)k * ldx + j];
            res[(size_t)k * ldr + r] = s;
        }
    }
}
#define DOTS_BLK(RO, NT)                                                                         \
__attribute__((target("avx512f")))                                                              \
static void dots_blk_##RO##_##NT(const void *wv, size_t ldw, int isbf, const float *x, int ldx, int n, float *res, int ldr) { \
    dots_blk(RO, NT, wv, ldw, isbf, x, ldx, n, res, ldr);                                             \
}
DOTS_BLK(1, 1) DOTS_BLK(1, 2) DOTS_BLK(1, 3) DOTS_BLK(1, 4)
DOTS_BLK(2, 1) DOTS_BLK(2, 2) DOTS_BLK(2, 3) DOTS_BLK(2, 4)
DOTS_BLK(3, 1) DOTS_BLK(3, 2) DOTS_BLK(3, 3) DOTS_BLK(3, 4)
typedef void dots_blk_fn(const void *, size_t, int, const float *, int, int, float *, int);
static dots_blk_fn *const dots_blks[DOT_RO][DOT_NT] = {
    {dots_blk_1_1, dots_blk_1_2, dots_blk_1_3, dots_blk_1_4},
    {dots_blk_2_1, dots_blk_2_2, dots_blk_2_3, dots_blk_2_4},
    {dots_blk_3_1, dots_blk_3_2, dots_blk_3_3, dots_blk_3_4},
};

/* The same register tile for AVX2 + FMA (16 ymm registers): 3 weight rows x 4 x rows = 12
 * accumulators of 8 lanes, one per (o, t); lane l sums the elements i % 8 == l, then a fixed
 * reduction and the scalar tail, for every RO, NT, T and thread count. The one-row loop before
 * (DOTS_BODY) read each x vector once per weight row and reduced each dot alone. */
__attribute__((target("avx2,fma"), always_inline))
static inline void dots_blk8(const int RO, const int NT, const void *wv, size_t ldw, const int isbf, const float *x, int ldx,
                             int n, float *res, int ldr) {
    __m256 a[DOT_RO][DOT_NT];
    size_t es = isbf ? 2 : 4;
    const char *wr[DOT_RO];
#pragma GCC unroll 3
    for (int r = 0; r < RO; r++) {
        wr[r] = (const char *)wv + (size_t)r * ldw * es;
#pragma GCC unroll 4
        for (int k = 0; k < NT; k++) a[r][k] = _mm256_setzero_ps();
    }
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 w[DOT_RO];
#pragma GCC unroll 3
        for (int r = 0; r < RO; r++) w[r] = cpu_ld8(wr[r], isbf, i);
#pragma GCC unroll 4
        for (int k = 0; k < NT; k++) {
            __m256 xv = _mm256_loadu_ps(x + (size_t)k * ldx + i);
#pragma GCC unroll 3
            for (int r = 0; r < RO; r++) a[r][k] = _mm256_fmadd_ps(w[r], xv, a[r][k]);
        }
    }
    for (int r = 0; r < RO; r++) {
        const uint16_t *wb = (const uint16_t *)wr[r]; const float *wf = (const float *)wr[r];
        for (int k = 0; k < NT; k++) {
            float s = cpu_hsum8(a[r][k]);
            for (int j = i; j < n; j++) s += (isbf ? bf(wb[j]) : wf[j]) * x[(size_t)k * ldx + j];
            res[(size_t)k * ldr + r] = s;
        }
    }
}
#define DOTS_BLK8(RO, NT)                                                                        \
__attribute__((target("avx2,fma")))                                                              \
static void dots_blk8_##RO##_##NT(const void *wv, size_t ldw, int isbf, const float *x, int ldx, int n, float *res, int ldr) { \
    if (isbf) dots_blk8(RO, NT, wv, ldw, 1, x, ldx, n, res, ldr);                                      \
    else dots_blk8(RO, NT, wv, ldw, 0, x, ldx, n, res, ldr);                                           \
}
DOTS_BLK8(1, 1) DOTS_BLK8(1, 2) DOTS_BLK8(1, 3) DOTS_BLK8(1, 4)
DOTS_BLK8(2, 1) DOTS_BLK8(2, 2) DOTS_BLK8(2, 3) DOTS_BLK8(2, 4)
DOTS_BLK8(3, 1) DOTS_BLK8(3, 2) DOTS_BLK8(3, 3) DOTS_BLK8(3, 4)
static dots_blk_fn *const dots_blks8[DOT_RO][DOT_NT] = {
    {dots_blk8_1_1, dots_blk8_1_2, dots_blk8_1_3, dots_blk8_1_4},
    {dots_blk8_2_1, dots_blk8_2_2, dots_blk8_2_3, dots_blk8_2_4},
    {dots_blk8_3_1, dots_blk8_3_2, dots_blk8_3_3, dots_blk8_3_4},
};

/* res[t * ldr + r] = dot(W row r, x row t), r < ro, t < T: the AVX-512 tiles, or
 * (tab = dots_blks8) the AVX2 ones */
static void dots_tiled(dots_blk_fn *const tab[DOT_RO][DOT_NT], const void *wv, size_t ldw, int ro, int isbf, const float *x,
                       int ldx, int T, int n, float *res, int ldr) {
    for (int t = 0; t < T; t += DOT_NT) {
        int nt = T - t < DOT_NT ? T - t : DOT_NT;
        tab[ro - 1][nt - 1](wv, ldw, isbf, x + (size_t)t * ldx, ldx, n, res + (size_t)t * ldr, ldr);
    }
}
#endif

/* out[t, o] = beta * out[t, o] + dot(W row o, x row t) for t < T <= SMALL_T_MAX: tasks of up to
 * SMALL_G blocks of DOT_RO weight rows; a task's sums go to res laid out as its outputs are
 * (row t's nr outputs side by side), so they are added to out a row at a time, contiguously
 * (with one column per row of res, that copy was ~4 % of a batch-64 decode step). */
#define SMALL_G 8   /* weight-row blocks per task, at most: a task writes up to 24 adjacent outputs of a row */
static void small_blk(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                      int T, int IN, const void *w, mrl_dtype wdt, int OUT) {
    int simd = cpu_st(be)->simd, isbf = wdt == MRL_BF16;
    size_t es = mrl_dtype_size(wdt);
    int ro = simd >= CPU_SIMD_AVX2 ? DOT_RO : 1, nblk = (OUT + ro - 1) / ro;   /* weight rows per block */
    /* blocks per task: fewer where there would be under 4 tasks a thread (an output's sum is
     * one kernel call whatever the grouping, so this never changes a bit) */
    int g = nblk / (4 * be->threads);
    g = g < 1 ? 1 : g > SMALL_G ? SMALL_G : g;
    int rows = g * ro, ntask = (OUT + rows - 1) / rows;
    #pragma omp parallel for schedule(static) num_threads(be->threads)
    for (int b = 0; b < ntask; b++) {
        float res[SMALL_G * DOT_RO * SMALL_T_MAX];
        int o0 = b * rows, nr = OUT - o0 < rows ? OUT - o0 : rows;
        for (int q = 0; q * ro < nr; q++) {
            int n = nr - q * ro < ro ? nr - q * ro : ro;
            const void *wr = (const char *)w + (size_t)(o0 + q * ro) * IN * es;
            float *rq = res + q * ro;
            (void)n;   /* the tiles' rows; the portable dots take one (ro = 1) */
#ifdef CPU_HAVE_EXP512
            if (simd >= CPU_SIMD_AVX512) dots_tiled(dots_blks, wr, (size_t)IN, n, isbf, x, ldx, T, IN, rq, nr);
            else if (simd >= CPU_SIMD_AVX2) dots_tiled(dots_blks8, wr, (size_t)IN, n, isbf, x, ldx, T, IN, rq, nr);
            else
#endif
            { if (isbf) dots_bf16(wr, x, ldx, T, IN, rq, nr); else dots_f32(wr, x, ldx, T, IN, rq, nr); }
        }
        for (int t = 0; t < T; t++) {   /* row t's outputs o0 .. o0+nr-1 */
            float *y = out + (size_t)t * ldo + o0;
            const float *rt = res + (size_t)t * nr;
            if (beta == 0) memcpy(y, rt, (size_t)nr * sizeof *y);
            else
                #pragma omp simd
                for (int r = 0; r < nr; r++) y[r] = beta * y[r] + rt[r];
        }
    }
}

/* More rows than SMALL_T_MAX (bf16 weights on AVX2: up to 256) in blocks of it: W is
 * streamed once per block, and a block's x rows stay in L2 while it is. */
static void small_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                      int T, int IN, const void *w, mrl_dtype wdt, int OUT) {
    for (int t0 = 0; t0 < T; t0 += SMALL_T_MAX)
        small_blk(be, out + (size_t)t0 * ldo, ldo, beta, x + (size_t)t0 * ldx, ldx, T - t0 < SMALL_T_MAX ? T - t0 : SMALL_T_MAX,
                  IN, w, wdt, OUT);
}

/* One thread pool: the register tiles, or OpenBLAS single-threaded (set at backend start),
 * run inside our OpenMP threads. The work is cut into tasks whose size never depends on the
 * thread count and each task is one fixed product call (same shape, same pointers, same
 * summation order whichever thread runs it), so a result is the same bit for bit with 1, 2 or
 * 16 threads (SPEC). */
#define TILE_N 256   /* output columns per sgemm call (fp32 weights) */
#define TILE_M 128   /* rows of dW per sgemm call in cpu_mm_gTx */
#define TILE_T 128   /* rows of x (tokens) per sgemm call: with only column tiles, a 512-wide
                        projection was 2 tasks, and 16 threads had 2 of them working */

/* Row blocks of at most TILE_T, of equal size: fixed by T alone (never by the thread count). */
static inline int row_blocks(int T, int *tm) {
    int nb = (T + TILE_T - 1) / TILE_T;
    *tm = (T + nb - 1) / nb;
    return nb;
}

/* bf16 block W[o0:o0+no, i0:i0+ni] (row length IN) as fp32 into dst (row length ni); compiled
 * for AVX2 and AVX-512 too (CPU_CLONES): on an AVX2 CPU the bf16 linear op at 32 rows went
 * 81 -> 92 GFLOP/s, batch-32 bf16 decode of the 1.5B shapes 24.4 -> 26.8 tokens/s (exact
 * widening: the same bits). */
CPU_CLONES static void tile_f32(float *dst, const uint16_t *w, size_t o0, int no, int IN, int i0, int ni) {
    for (int o = 0; o < no; o++) {
        const uint16_t *src = w + (o0 + o) * IN + i0;
        float *d = dst + (size_t)o * ni;
        for (int i = 0; i < ni; i++) d[i] = bf(src[i]);
    }
}

/* fp32 products on the AVX-512 register tiles (smallgemm.c) instead of OpenBLAS, where the
 * CPU has AVX-512: the same speed as OpenBLAS's own AVX-512 kernel, without depending on
 * which kernel OpenBLAS picks for the CPU (MRL_CPU_SIMD=avx2 or none: OpenBLAS). */
static int use_tiles(const mrl_backend *be) { return cpu_f32p_supported(be); }

/* C [M x N] = A B + beta C on the AVX-512 tiles (a(i,k) = A[i sar + k sak], B as
 * cpu_sgemm_tiles reads it), in tasks of tm rows x tn columns fixed by the shape, so the sums
 * do not depend on the thread count; pa: A is A^T (sar 1), packed by each task. Where several
 * row blocks read the same columns (M > tm), B's columns are packed into panels once, at most
 * PANEL_MAX floats at a time, and shared by the row blocks: each task packed its own copy
 * before, the training forward's W 8 times over at 1024 tokens and dW's x once per 128 rows of
 * W. Same bits either way (the P path of the same tiles and K-blocks). */
#define PANEL_MAX ((size_t)4 << 20)   /* 16 MB, or one task's columns where K x tn is more: dW's 1024
                                         columns over T tokens, 2/3 of one T x 1536 activation of the
                                         1.5B model (narrower tasks there: dW at 16 k tokens 15 % slower) */
static void tiles_gemm(const mrl_backend *be, int M, int N, int K, const float *A, size_t sar, size_t sak, const void *B,
                       int bf, int bt, size_t ldb, float beta, float *C, size_t ldc, int tm, int tn, int pa) {
    int nrb = (M + tm - 1) / tm, nt = be->threads;
    size_t per = pa ? cpu_sgemm_tiles_apack(tm) : 0;   /* each thread's packed A^T */
    if (nrb == 1 || K == 0) {   /* nothing to share: each task packs its blocks as it goes */
        int ntiles = (N + tn - 1) / tn * nrb;
        if (nt > ntiles) nt = ntiles;
        float *ap = per ? cpu_scratch(be, (size_t)nt * per) : NULL;
        #pragma omp parallel num_threads(nt)
        {
            float *apt = ap ? ap + (size_t)omp_get_thread_num() * per : NULL;
            #pragma omp for schedule(dynamic, 1)
            for (int b = 0; b < ntiles; b++) {
                int t0 = b % nrb * tm, nr = M - t0 < tm ? M - t0 : tm, a = b / nrb * tn, n = N - a < tn ? N - a : tn;
                const void *bb = (const char *)B + (bt ? (size_t)a * ldb : (size_t)a) * (bf ? 2 : 4);
                if (pa) cpu_sgemm_tiles_at(nr, n, K, A + (size_t)t0, sak, (const float *)bb, ldb, C + (size_t)t0 * ldc + a, ldc, apt);
                else cpu_sgemm_tiles(nr, n, K, A + (size_t)t0 * sar, sar, sak, bb, bf, bt, ldb, beta, C + (size_t)t0 * ldc + a, ldc);
            }
        }
        return;
    }
    int ch = (int)(PANEL_MAX / ((size_t)K * tn)) * tn;   /* columns a chunk */
    if (ch < tn) ch = tn;
    if (ch > N) ch = (N + tn - 1) / tn * tn;
    int tasks = (ch + tn - 1) / tn * nrb;
    if (nt > tasks) nt = tasks;
    size_t pf = (size_t)((ch < N ? ch : N) + 63) / 64 * 64 * K;   /* a chunk's panels, no wider than B */
    float *panels = cpu_scratch(be, pf + (size_t)nt * per), *ap = panels + pf;
    #pragma omp parallel num_threads(nt)
    {
        float *apt = per ? ap + (size_t)omp_get_thread_num() * per : NULL;
        for (int c0 = 0; c0 < N; c0 += ch) {
            int nc = N - c0 < ch ? N - c0 : ch, np = (nc + 63) / 64, ntiles = (nc + tn - 1) / tn * nrb;
            #pragma omp for schedule(dynamic, 1)
            for (int p = 0; p < np; p++)
                cpu_tiles_pack_panel(panels + (size_t)p * 64 * K, B, bf, bt, ldb, K, c0 + 64 * p, nc - 64 * p < 64 ? nc - 64 * p : 64);
            #pragma omp for schedule(dynamic, 1)
            for (int b = 0; b < ntiles; b++) {
                int t0 = b % nrb * tm, nr = M - t0 < tm ? M - t0 : tm, a = b / nrb * tn, n = nc - a < tn ? nc - a : tn;
                cpu_sgemm_tiles_p(nr, n, K, A + (size_t)t0 * sar, sar, sak, panels + (size_t)a * K, beta,
                                  C + (size_t)t0 * ldc + c0 + a, ldc, apt);
            }
        }
    }
}

/* The vdpbf16ps kernel for this weight: bf16 weights of a bf16 model (be->bf16_act) on a CPU
 * with AVX512_BF16, or forced by MRL_CPU_BF16_DOT=1. */
static int use_bf16dot(const mrl_backend *be, mrl_dtype wdt) {
    int bd = cpu_st(be)->bf16dot;
    return wdt == MRL_BF16 && (bd > 0 || (bd == 0 && be->bf16_act));
}

void cpu_mm_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                int T, int IN, const void *w, mrl_dtype wdt, int OUT) {
    if (T <= 0 || OUT <= 0) return;
    if (wdt == MRL_BF16P) { cpu_bf16p_xwT(be, out, ldo, beta, x, ldx, T, IN, w, OUT); return; }   /* every row count */
    /* W packed ahead (MRL_F32P): the tiles below for every row count, without their per-call
     * packing — the same tasks and sums, so the same bits as the unpacked W on the tiles */
    int packed = wdt == MRL_F32P;
    /* bf16 inference on AVX512_BF16: the vdpbf16ps GEMM for every row count (as for packed
     * weights, with which it agrees bit for bit), so no row depends on the batch size */
    if (use_bf16dot(be, wdt)) { cpu_bf16dot_xwT(be, out, ldo, beta, x, ldx, T, IN, w, OUT); return; }
    /* Each row's result is independent of the other rows on either side of this switch for
     * the streaming kernel and the AVX-512 tiles, by construction, but the two sum in
     * different orders: a decode row's last bits depend on whether the step has <= small_t
     * rows or more, i.e. on msample --batch past 12, or 64 on AVX2 (fp32 weights without
     * AVX-512, or bf16 on AVX-512 without AVX512_BF16; bf16 weights on AVX2 stream up to 256
     * rows, faster than sgemm on them widened). OpenBLAS's sgemm (no AVX-512) keeps a row's bits only within its
     * register tile: rows past a multiple of 12 on its Zen kernel, and small products on
     * SkylakeX, sum in another order (test_ops; padding to whole tiles cost msample 17 % at
     * --batch 16 and was dropped). */
    if (!packed && T <= (wdt == MRL_BF16 ? cpu_st(be)->small_t_bf16 : cpu_st(be)->small_t)) {
        small_xwT(be, out, ldo, beta, x, ldx, T, IN, w, wdt, OUT);
        return;
    }
    int tm, nrb = row_blocks(T, &tm), tiles = packed || use_tiles(be);
    int nt = be->threads, tile = wdt == MRL_BF16 && !tiles ? BF16_TILE : TILE_N, ncol = (OUT + tile - 1) / tile, ntiles = ncol * nrb;
    if (nt > ntiles) nt = ntiles;
    if (tiles && !packed) {   /* bf16 W widened as it is packed */
        tiles_gemm(be, T, OUT, IN, x, (size_t)ldx, 1, w, wdt == MRL_BF16, 1, (size_t)IN, beta, out, (size_t)ldo, tm, TILE_N, 0);
        return;
    }
    if (tiles) {
        #pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
        for (int b = 0; b < ntiles; b++) {
            int cb = b / nrb, t0 = b % nrb * tm, nr = T - t0 < tm ? T - t0 : tm;
            int a = cb * tile, n = OUT - a < tile ? OUT - a : tile;
            const float *wa = (const float *)w + (size_t)a * IN;   /* panel a / 64 */
            cpu_sgemm_tiles_p(nr, n, IN, x + (size_t)t0 * ldx, (size_t)ldx, 1, wa, beta, out + (size_t)t0 * ldo + a, (size_t)ldo, NULL);
        }
        return;
    }
    float *scratch = wdt == MRL_BF16 ? cpu_scratch(be, (size_t)nt * BF16_TILE * IN) : NULL;
    #pragma omp parallel num_threads(nt)
    {
        float *buf = scratch ? scratch + (size_t)omp_get_thread_num() * BF16_TILE * IN : NULL;
        int conv = -1;   /* the column tile buf holds */
        #pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < ntiles; b++) {   /* column-major over tiles: a thread's next tile often reuses buf */
            int cb = b / nrb, t0 = b % nrb * tm, nr = T - t0 < tm ? T - t0 : tm;
            int a = cb * tile, n = OUT - a < tile ? OUT - a : tile;
            const float *wt = (const float *)w + (size_t)a * IN;
            if (buf) { if (conv != cb) { tile_f32(buf, w, a, n, IN, 0, IN); conv = cb; } wt = buf; }
            cpu_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, n, IN, 1.0f, x + (size_t)t0 * ldx, ldx, wt, IN, beta,
                      out + (size_t)t0 * ldo + a, ldo);
        }
    }
}

/* Tiles over IN (columns of out); a bf16 W is converted BF16_TILE rows x TILE_N columns at a
 * time and the rows are summed tile after tile, in the same order whatever the thread count. */
void cpu_mm_gW(const mrl_backend *be, float *out, float beta, const float *g, int ldg, int T,
               int OUT, const void *w, mrl_dtype wdt, int IN) {
    if (T <= 0 || IN <= 0) return;
    if (wdt == MRL_BF16P || wdt == MRL_F32P) { fprintf(stderr, "mrl: internal error: backward through a packed (inference-only) weight\n"); abort(); }
    if (OUT <= 0) {   /* an empty sum: beta out, or 0 whatever out held, on every path (the bf16
                         tiles below would run no product at all and leave out as it was) */
        for (int t = 0; t < T; t++)
            for (int i = 0; i < IN; i++) out[(size_t)t * IN + i] = beta == 0 ? 0 : beta * out[(size_t)t * IN + i];
        return;
    }
    if (use_bf16dot(be, wdt)) {   /* bf16 compute: out = g W, W packed straight from its rows */
        cpu_bf16dot_xw(be, out, IN, beta, g, ldg, 0, T, OUT, w, 0, IN, IN);
        return;
    }
    int tm, nrb = row_blocks(T, &tm);
    int nt = be->threads, ncol = (IN + TILE_N - 1) / TILE_N, ntiles = ncol * nrb;
    if (nt > ntiles) nt = ntiles;
    if (use_tiles(be)) {
        tiles_gemm(be, T, IN, OUT, g, (size_t)ldg, 1, w, wdt == MRL_BF16, 0, (size_t)IN, beta, out, (size_t)IN, tm, TILE_N, 0);
        return;
    }
    float *scratch = wdt == MRL_BF16 ? cpu_scratch(be, (size_t)nt * BF16_TILE * TILE_N) : NULL;
    #pragma omp parallel num_threads(nt)
    {
        float *buf = scratch ? scratch + (size_t)omp_get_thread_num() * BF16_TILE * TILE_N : NULL;
        #pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < ntiles; b++) {
            int i0 = b / nrb * TILE_N, ni = IN - i0 < TILE_N ? IN - i0 : TILE_N;
            int t0 = b % nrb * tm, nr = T - t0 < tm ? T - t0 : tm;
            const float *gr = g + (size_t)t0 * ldg;
            float *o = out + (size_t)t0 * IN + i0;
            if (wdt == MRL_F32)
                cpu_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, ni, OUT, 1.0f, gr, ldg,
                          (const float *)w + i0, IN, beta, o, IN);
            else
                for (int a = 0; a < OUT; a += BF16_TILE) {
                    int n = OUT - a < BF16_TILE ? OUT - a : BF16_TILE;
                    tile_f32(buf, w, a, n, IN, i0, ni);
                    cpu_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, ni, n, 1.0f, gr + a, ldg,
                              buf, ni, a == 0 ? beta : 1.0f, o, IN);
                }
        }
    }
}

void cpu_mm_gTx(const mrl_backend *be, float *dw, const float *g, int ldg, const float *x, int T, int OUT, int IN,
                mrl_dtype wdt) {
    if (T <= 0 || OUT <= 0) return;
    if (use_bf16dot(be, wdt)) {   /* bf16 compute: dw += g^T x, g's columns and x rounded to bf16 as packed */
        cpu_bf16dot_xw(be, dw, IN, 1.0f, g, ldg, 1, OUT, T, x, 1, IN, IN);
        return;
    }
    /* 2-D tiles of dW (TILE_M rows x 4 TILE_N columns); each sums over all T, so the sum
     * order of an element does not depend on the tiling's task count */
    int tiles = use_tiles(be), nr = (OUT + TILE_M - 1) / TILE_M, cw = 4 * TILE_N;
    if (tiles) {   /* k and v's 128 rows: narrower columns, a task for each thread (the tiles' sums do not depend on the width) */
        while (cw > TILE_N / 4 && nr * ((IN + cw - 1) / cw) < be->threads) cw /= 2;
        tiles_gemm(be, OUT, IN, T, g, 1, (size_t)ldg, x, 0, 0, (size_t)IN, 1.0f, dw, (size_t)IN, TILE_M, cw, 1);
        return;
    }
    int nc = (IN + cw - 1) / cw, ntiles = nr * nc, nt = be->threads < ntiles ? be->threads : ntiles;
    #pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int b = 0; b < ntiles; b++) {
        int o0 = b / nc * TILE_M, n = OUT - o0 < TILE_M ? OUT - o0 : TILE_M;
        int i0 = b % nc * cw, ni = IN - i0 < cw ? IN - i0 : cw;
        cpu_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, ni, T, 1.0f, g + o0, ldg, x + i0, IN, 1.0f,
                  dw + (size_t)o0 * IN + i0, IN);
    }
}
