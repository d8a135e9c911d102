/* matmul.c — the CPU backend's dense products: OpenBLAS sgemm for many rows, and for few
 * rows (decode) a weight-streaming kernel (AVX-512 / AVX2 / portable) that reads W once. */
#include <cblas.h>
#include <string.h>
#include <stdint.h>
#include <omp.h>
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

/* One thread pool: OpenBLAS runs single-threaded (set at backend start) inside our OpenMP
 * threads, each on its own slice, so two pools never spin against each other. */
static void split(int n, int parts, int align, int k, int *a, int *b) {
    int per = (n + parts - 1) / parts;
    per = (per + align - 1) / align * align;
    *a = k * per < n ? k * per : n;
    *b = *a + per < n ? *a + per : n;
}

/* bf16 block W[o0:o0+no, i0:i0+ni] (row length IN) as fp32 into dst (row length ni). */
static void tile_f32(float *dst, const uint16_t *w, size_t o0, int no, int IN, int i0, int ni) {
    for (int o = 0; o < no; o++) {
        const uint16_t *src = w + (o0 + o) * IN + i0;
        float *d = dst + (size_t)o * ni;
        for (int i = 0; i < ni; i++) d[i] = bf(src[i]);
    }
}

void cpu_mm_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                int T, int IN, const void *w, mrl_dtype wdt, int OUT) {
    if (T <= 0 || OUT <= 0) return;
    if (T <= SMALL_T) { small_xwT(be, out, ldo, beta, x, ldx, T, IN, w, wdt, OUT); return; }
    int nt = be->threads;
    float *scratch = wdt == MRL_BF16 ? cpu_scratch(be, (size_t)nt * BF16_TILE * IN) : NULL;
    #pragma omp parallel num_threads(nt)
    {
        int k = omp_get_thread_num(), o0, o1;
        split(OUT, omp_get_num_threads(), 16, k, &o0, &o1);
        if (wdt == MRL_F32) {
            if (o1 > o0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, o1 - o0, IN, 1.0f, x, ldx,
                            (const float *)w + (size_t)o0 * IN, IN, beta, out + o0, ldo);
        } else {
            float *tile = scratch + (size_t)k * BF16_TILE * IN;
            for (int a = o0; a < o1; a += BF16_TILE) {
                int n = o1 - a < BF16_TILE ? o1 - a : BF16_TILE;
                tile_f32(tile, w, a, n, IN, 0, IN);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n, IN, 1.0f, x, ldx, tile, IN,
                            beta, out + a, ldo);
            }
        }
    }
}

void cpu_mm_gW(const mrl_backend *be, float *out, float beta, const float *g, int ldg, int T,
               int OUT, const void *w, mrl_dtype wdt, int IN) {
    if (T <= 0) return;
    int nt = be->threads;
    float *scratch = wdt == MRL_BF16 ? cpu_scratch(be, (size_t)nt * BF16_TILE * IN) : NULL;
    #pragma omp parallel num_threads(nt)
    {
        int k = omp_get_thread_num(), i0, i1;
        split(IN, omp_get_num_threads(), 16, k, &i0, &i1);
        if (i1 > i0) {
            if (wdt == MRL_F32)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, i1 - i0, OUT, 1.0f, g, ldg,
                            (const float *)w + i0, IN, beta, out + i0, IN);
            else {
                float *tile = scratch + (size_t)k * BF16_TILE * IN;
                for (int a = 0; a < OUT; a += BF16_TILE) {
                    int n = OUT - a < BF16_TILE ? OUT - a : BF16_TILE;
                    tile_f32(tile, w, a, n, IN, i0, i1 - i0);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, i1 - i0, n, 1.0f, g + a, ldg,
                                tile, i1 - i0, a == 0 ? beta : 1.0f, out + i0, IN);
                }
            }
        }
    }
}

void cpu_mm_gTx(const mrl_backend *be, float *dw, const float *g, int ldg, const float *x, int T, int OUT, int IN) {
    if (T <= 0) return;
    #pragma omp parallel num_threads(be->threads)
    {
        int o0, o1;
        split(OUT, omp_get_num_threads(), 16, omp_get_thread_num(), &o0, &o1);
        if (o1 > o0)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o1 - o0, IN, T, 1.0f, g + o0, ldg, x, IN, 1.0f,
                        dw + (size_t)o0 * IN, IN);
    }
}
