/* bf16dot.c — bf16-weight x W^T on AVX512_BF16 (vdpbf16ps): activations rounded to bf16, sums
 * in fp32. Off unless the backend asks for it (bf16 inference only; never the fp32 reference). */
#include <string.h>
#include <stdint.h>
#include <omp.h>
#include "cpu.h"

#define OTILE 64   /* weight rows per task (fixed: results do not depend on the thread count) */

#if defined(__x86_64__) && (__GNUC__ >= 10 || defined(__clang__))
int cpu_bf16dot_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
}

#include <immintrin.h>
#define TGT __attribute__((target("avx512f,avx512bw,avx512bf16")))

/* One output = the same instruction sequence whichever block it is computed in (dpbf16 over
 * 32-element steps, a masked last step, one horizontal add), so a row's result depends neither
 * on the other rows nor on how rows and outputs are grouped. */
#define DOTBLK(NO, NT)                                                                           \
TGT static void blk_##NO##x##NT(const uint16_t *w, const uint16_t *x, int IN, float *res, int ldr) { \
    __m512 acc[NO][NT];                                                                          \
    _Pragma("GCC unroll 4") for (int j = 0; j < NO; j++) _Pragma("GCC unroll 4") for (int k = 0; k < NT; k++)     \
        acc[j][k] = _mm512_setzero_ps();                                                         \
    int i = 0;                                                                                   \
    for (; i < IN; i += 32) {                                                                    \
        __mmask32 m = IN - i >= 32 ? 0xffffffffu : (1u << (IN - i)) - 1;                         \
        __m512i wv[NO], xv[NT];                                                                  \
        _Pragma("GCC unroll 4") for (int j = 0; j < NO; j++) wv[j] = _mm512_maskz_loadu_epi16(m, w + (size_t)j * IN + i); \
        _Pragma("GCC unroll 4") for (int k = 0; k < NT; k++) xv[k] = _mm512_maskz_loadu_epi16(m, x + (size_t)k * IN + i); \
        _Pragma("GCC unroll 4") for (int j = 0; j < NO; j++) _Pragma("GCC unroll 4") for (int k = 0; k < NT; k++) \
            acc[j][k] = _mm512_dpbf16_ps(acc[j][k], (__m512bh)xv[k], (__m512bh)wv[j]);           \
    }                                                                                            \
    _Pragma("GCC unroll 4") for (int j = 0; j < NO; j++) _Pragma("GCC unroll 4") for (int k = 0; k < NT; k++)     \
        res[(size_t)k * ldr + j] = _mm512_reduce_add_ps(acc[j][k]);                              \
}
DOTBLK(4, 4)
DOTBLK(1, 4)
DOTBLK(4, 1)
DOTBLK(1, 1)

/* fp32 -> bf16, round to nearest even (NaN kept quiet), as cpu_cast rounds weights. */
static void round_rows(uint16_t *dst, const float *x, int ldx, int T, int IN) {
    for (int t = 0; t < T; t++)
        for (int i = 0; i < IN; i++) {
            uint32_t u; memcpy(&u, &x[(size_t)t * ldx + i], 4);
            if ((u & 0x7fffffffu) > 0x7f800000u) dst[(size_t)t * IN + i] = (uint16_t)((u >> 16) | 0x40);
            else dst[(size_t)t * IN + i] = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
        }
}

void cpu_bf16dot_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                     int T, int IN, const uint16_t *w, int OUT) {
    uint16_t *xb = (uint16_t *)cpu_scratch(be, ((size_t)T * IN + 1) / 2 + 16);
    round_rows(xb, x, ldx, T, IN);
    int ntiles = (OUT + OTILE - 1) / OTILE, nt = be->threads < ntiles ? be->threads : ntiles;
    #pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int b = 0; b < ntiles; b++) {
        int o0 = b * OTILE, o1 = o0 + OTILE < OUT ? o0 + OTILE : OUT;
        float res[4 * 4];
        for (int o = o0; o < o1; o += 4) {
            for (int t = 0; t < T; t += 4) {
                int ntt = T - t < 4 ? T - t : 4;
                const uint16_t *wr = w + (size_t)o * IN, *xr = xb + (size_t)t * IN;
                int nob = o1 - o < 4 ? o1 - o : 4;
                if (nob == 4 && ntt == 4) blk_4x4(wr, xr, IN, res, 4);
                else if (nob == 4) for (int k = 0; k < ntt; k++) blk_4x1(wr, xr + (size_t)k * IN, IN, res + k * 4, 4);
                else if (ntt == 4) for (int j = 0; j < nob; j++) blk_1x4(wr + (size_t)j * IN, xr, IN, res + j, 4);
                else for (int j = 0; j < nob; j++) for (int k = 0; k < ntt; k++)
                    blk_1x1(wr + (size_t)j * IN, xr + (size_t)k * IN, IN, res + k * 4 + j, 4);
                for (int k = 0; k < ntt; k++)
                    for (int j = 0; j < nob; j++) {
                        float *y = out + (size_t)(t + k) * ldo + o + j;
                        *y = beta == 0 ? res[k * 4 + j] : beta * *y + res[k * 4 + j];
                    }
            }
        }
    }
}
#else
int cpu_bf16dot_supported(void) { return 0; }
void cpu_bf16dot_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                     int T, int IN, const uint16_t *w, int OUT) {
    (void)be; (void)out; (void)ldo; (void)beta; (void)x; (void)ldx; (void)T; (void)IN; (void)w; (void)OUT;
}
#endif
