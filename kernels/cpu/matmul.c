/* matmul.c — the CPU backend's dense products: OpenBLAS sgemm for many rows, and for few
 * rows (decode) a weight-streaming kernel (AVX-512 / AVX2 / portable) that reads W once. */
#include <cblas.h>
#include <string.h>
#include <stdint.h>
#include "cpu.h"

/* Few rows: W is streamed once and each row of W meets every x row while it is in L1, so
 * decode runs at memory bandwidth. Below this many rows sgemm's packing is not worth it. */
#define SMALL_T 8
#define BF16_TILE 128   /* rows of a bf16 weight converted to fp32 per sgemm call */

static inline float bf(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }

/* res[t] = dot(w, x + t*ldx) for t < T, n elements; portable (OpenMP SIMD). */
#define DOTS_BODY(WLOAD)                                                       \
    for (int t = 0; t < T; t++) {                                              \
        const float *xt = x + (size_t)t * ldx; float s = 0;                    \
        _Pragma("omp simd reduction(+:s)")                                     \
        for (int i = 0; i < n; i++) s += WLOAD * xt[i];                        \
        res[t] = s;                                                            \
    }
static void dots_f32(const float *w, const float *x, int ldx, int T, int n, float *res) { DOTS_BODY(w[i]) }
static void dots_bf16(const uint16_t *w, const float *x, int ldx, int T, int n, float *res) { DOTS_BODY(bf(w[i])) }
__attribute__((target("avx2,fma")))
static void dots_f32_avx2(const float *w, const float *x, int ldx, int T, int n, float *res) { DOTS_BODY(w[i]) }
__attribute__((target("avx2,fma")))
static void dots_bf16_avx2(const uint16_t *w, const float *x, int ldx, int T, int n, float *res) { DOTS_BODY(bf(w[i])) }

#include <immintrin.h>
/* AVX-512: four x rows per pass over the weight row (which stays in L1). */
__attribute__((target("avx512f")))
static void dots_avx512(const void *wv, int isbf, const float *x, int ldx, int T, int n, float *res) {
    int n16 = n & ~15;
    for (int t0 = 0; t0 < T; t0 += 4) {
        int nt = T - t0 < 4 ? T - t0 : 4;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const float *x0 = x + (size_t)t0 * ldx, *x1 = x0 + (nt > 1 ? ldx : 0),
                    *x2 = x0 + (nt > 2 ? 2 * (size_t)ldx : 0), *x3 = x0 + (nt > 3 ? 3 * (size_t)ldx : 0);
        for (int i = 0; i < n16; i += 16) {
            __m512 wv16;
            if (isbf) {
                __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)wv + i));
                wv16 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
            } else wv16 = _mm512_loadu_ps((const float *)wv + i);
            a0 = _mm512_fmadd_ps(wv16, _mm512_loadu_ps(x0 + i), a0);
            a1 = _mm512_fmadd_ps(wv16, _mm512_loadu_ps(x1 + i), a1);
            a2 = _mm512_fmadd_ps(wv16, _mm512_loadu_ps(x2 + i), a2);
            a3 = _mm512_fmadd_ps(wv16, _mm512_loadu_ps(x3 + i), a3);
        }
        float r[4] = {_mm512_reduce_add_ps(a0), _mm512_reduce_add_ps(a1), _mm512_reduce_add_ps(a2), _mm512_reduce_add_ps(a3)};
        const float *xs[4] = {x0, x1, x2, x3};
        for (int k = 0; k < nt; k++) {
            float s = r[k];
            for (int i = n16; i < n; i++) s += (isbf ? bf(((const uint16_t *)wv)[i]) : ((const float *)wv)[i]) * xs[k][i];
            res[t0 + k] = s;
        }
    }
}

static void small_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                      int T, int IN, const void *w, mrl_dtype wdt, int OUT) {
    int simd = cpu_st(be)->simd, isbf = wdt == MRL_BF16;
    size_t es = mrl_dtype_size(wdt);
    #pragma omp parallel for schedule(static) num_threads(be->threads)
    for (int o = 0; o < OUT; o++) {
        float res[SMALL_T];
        const void *wr = (const char *)w + (size_t)o * IN * es;
        if (simd >= CPU_SIMD_AVX512) dots_avx512(wr, isbf, x, ldx, T, IN, res);
        else if (simd >= CPU_SIMD_AVX2) { if (isbf) dots_bf16_avx2(wr, x, ldx, T, IN, res); else dots_f32_avx2(wr, x, ldx, T, IN, res); }
        else { if (isbf) dots_bf16(wr, x, ldx, T, IN, res); else dots_f32(wr, x, ldx, T, IN, res); }
        for (int t = 0; t < T; t++) {
            float *y = out + (size_t)t * ldo + o;
            *y = beta == 0 ? res[t] : beta * *y + res[t];
        }
    }
}

/* bf16 rows [o0, o0+n) of W as fp32 into dst. */
static void tile_f32(const mrl_backend *be, float *dst, const uint16_t *w, size_t o0, int n, int IN) {
    const uint16_t *src = w + o0 * IN;
    size_t N = (size_t)n * IN;
    #pragma omp parallel for schedule(static) num_threads(be->threads)
    for (size_t i = 0; i < N; i++) dst[i] = bf(src[i]);
}

void cpu_mm_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                int T, int IN, const void *w, mrl_dtype wdt, int OUT) {
    if (T <= 0 || OUT <= 0) return;
    if (T <= SMALL_T) { small_xwT(be, out, ldo, beta, x, ldx, T, IN, w, wdt, OUT); return; }
    if (wdt == MRL_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, OUT, IN, 1.0f, x, ldx,
                    (const float *)w, IN, beta, out, ldo);
        return;
    }
    float *tile = cpu_scratch(be, (size_t)BF16_TILE * IN);
    for (int o0 = 0; o0 < OUT; o0 += BF16_TILE) {
        int n = OUT - o0 < BF16_TILE ? OUT - o0 : BF16_TILE;
        tile_f32(be, tile, w, o0, n, IN);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n, IN, 1.0f, x, ldx, tile, IN,
                    beta, out + o0, ldo);
    }
}

void cpu_mm_gW(const mrl_backend *be, float *out, float beta, const float *g, int ldg, int T,
               int OUT, const void *w, mrl_dtype wdt, int IN) {
    if (T <= 0) return;
    if (wdt == MRL_F32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, IN, OUT, 1.0f, g, ldg,
                    (const float *)w, IN, beta, out, IN);
        return;
    }
    float *tile = cpu_scratch(be, (size_t)BF16_TILE * IN);
    for (int o0 = 0; o0 < OUT; o0 += BF16_TILE) {
        int n = OUT - o0 < BF16_TILE ? OUT - o0 : BF16_TILE;
        tile_f32(be, tile, w, o0, n, IN);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, IN, n, 1.0f, g + o0, ldg, tile, IN,
                    o0 == 0 ? beta : 1.0f, out, IN);
    }
}

void cpu_mm_gTx(float *dw, const float *g, int ldg, const float *x, int T, int OUT, int IN) {
    if (T <= 0) return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, T, 1.0f, g, ldg, x, IN, 1.0f, dw, IN);
}
