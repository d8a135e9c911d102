/* cpu.h — the CPU backend's private pieces shared by the files in kernels/cpu/: its state (SIMD level
 * found at start, a scratch buffer for bf16 weight tiles) and the dense matmul helpers. */
#ifndef MRL_CPU_H
#define MRL_CPU_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "ops.h"

enum { CPU_SIMD_NONE = 0, CPU_SIMD_AVX2 = 1, CPU_SIMD_AVX512 = 2 };

typedef struct cpu_state {
    int simd;              /* best of CPU_SIMD_* this machine runs */
    int bf16dot;           /* bf16 weights, > small_t rows: x rounded to bf16, vdpbf16ps (bf16dot.c):
                              1 forced on (MRL_CPU_BF16_DOT=1), 0 when be->bf16_act asks for it
                              and the CPU has it, -1 off (no AVX512_BF16, or MRL_CPU_BF16_DOT=0) */
    int small_t;           /* up to this many rows a linear streams W itself instead of sgemm */
    float *scratch;        /* fp32 tiles converted from bf16 weights (grown on demand) */
    size_t scratch_n;
} cpu_state;

static inline cpu_state *cpu_st(const mrl_backend *be) { return (cpu_state *)be->impl; }
/* Threads for a loop over `work` elements: one below ~32 K, where waking the team costs
 * more than it saves (decode runs hundreds of such small ops per token). */
static inline int cpu_nt(const mrl_backend *be, size_t work) { return work < (1u << 15) ? 1 : be->threads; }
/* Scratch of at least n floats owned by the backend (ops on one backend run one at a time). */
float *cpu_scratch(const mrl_backend *be, size_t n);

/* out[T,OUT] = beta*out + x[T,IN] W[OUT,IN]^T (W fp32 or bf16; row strides ldx, ldo). */
void cpu_mm_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                int T, int IN, const void *w, mrl_dtype wdt, int OUT);
/* out[T,IN] = beta*out + g[T,OUT] W[OUT,IN] (ldg = row stride of g). */
void cpu_mm_gW(const mrl_backend *be, float *out, float beta, const float *g, int ldg, int T,
               int OUT, const void *w, mrl_dtype wdt, int IN);
/* dw[OUT,IN] += g[T,OUT]^T x[T,IN]. */
void cpu_mm_gTx(const mrl_backend *be, float *dw, const float *g, int ldg, const float *x, int T, int OUT, int IN);

/* AVX512_BF16 present (and compiled in). */
int cpu_bf16dot_supported(void);
/* cpu_mm_xwT for bf16 W with x rounded to bf16 (fp32 sums); any T, each row independent. */
void cpu_bf16dot_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                     int T, int IN, const uint16_t *w, int OUT);

static inline float cpu_ld(const void *p, mrl_dtype t, size_t i) {
    if (t == MRL_BF16) { uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16; float f; memcpy(&f, &u, 4); return f; }
    return ((const float *)p)[i];
}
#endif
