/* backend.c — the CPU backend: host memory, its op table, and the optimizer-side ops
 * (cast, AdamW, sum of squares, scale) that touch every parameter once. */
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdio.h>
#include <omp.h>
#include "cpu.h"
#include "cpu_ops.h"

static void *c_alloc(const mrl_backend *be, size_t bytes) {
    (void)be; void *p = NULL;
    if (posix_memalign(&p, 256, bytes ? bytes : 1)) return NULL;
    return p;
}
static void c_free(const mrl_backend *be, void *p) { (void)be; free(p); }
static void c_copy(const mrl_backend *be, void *dst, const void *src, size_t n) { (void)be; if (n) memmove(dst, src, n); }
/* n bytes of backend memory at d: copied from s (no overlap), or zeroed where s is NULL; from
 * 1 MB on split over the threads in 4 KB-aligned pieces (one thread's memcpy or memset stalls
 * on the memory while the others wait for the next op). */
static void c_pieces(const mrl_backend *be, char *d, const char *s, size_t n) {
    int nt = n >= ((size_t)1 << 20) ? be->threads : 1;
    if (nt <= 1) { if (n) { if (s) memcpy(d, s, n); else memset(d, 0, n); } return; }
    size_t per = ((n + (size_t)nt - 1) / (size_t)nt + 4095) & ~(size_t)4095;   /* nt pieces cover all n */
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (int i = 0; i < nt; i++) {
        size_t a = (size_t)i * per, b = a + per < n ? a + per : n;
        if (a < b) { if (s) memcpy(d + a, s + a, b - a); else memset(d + a, 0, b - a); }
    }
}
/* Copies within the backend's memory (the residual stream's, 4 a layer in training) that do
 * not overlap, and zeroing (the gradients before each step: +3-7 % on a bf16 mgrpo step of
 * `small`), split; upload and download stay one memmove. */
static void c_dcopy(const mrl_backend *be, void *dst, const void *src, size_t n) {
    const char *s = src; char *d = dst;
    if (d < s + n && s < d + n) { c_copy(be, dst, src, n); return; }
    c_pieces(be, d, s, n);
}
static void c_memset0(const mrl_backend *be, void *p, size_t n) { c_pieces(be, p, NULL, n); }
static void c_sync(const mrl_backend *be) { (void)be; }
static void c_close(mrl_backend *be) {
    cpu_state *s = cpu_st(be);
    if (s) { free(s->scratch); free(s->scratch2); free(s->rope_cs); free(s->rope_pos); cpu_threads_free(s); free(s); }
    be->impl = NULL;
}

/* *buf grown to at least n floats (256-aligned; contents not kept); out of memory aborts. */
static float *grow(float **buf, size_t *cap, size_t n) {
    if (n > *cap) {
        free(*buf);
        *buf = NULL;
        if (posix_memalign((void **)buf, 256, n * sizeof(float))) {
            fprintf(stderr, "mrl: out of memory (%zu bytes of CPU scratch)\n", n * sizeof(float));
            abort();
        }
        *cap = n;
    }
    return *buf;
}
float *cpu_scratch(const mrl_backend *be, size_t n) { return grow(&cpu_st(be)->scratch, &cpu_st(be)->scratch_n, n); }
float *cpu_scratch2(const mrl_backend *be, size_t n) { return grow(&cpu_st(be)->scratch2, &cpu_st(be)->scratch2_n, n); }

/* The optimizer's passes over every parameter are memory-bound loops that the portable build
 * (-march=x86-64-v2) leaves at 128-bit SSE: CPU_CLONES (cpu.h) compiles them for AVX-512 and
 * AVX2 as well. */
#define SPAN ((size_t)1 << 15)   /* elements per task */

CPU_CLONES static void cast_span(void *dst, mrl_dtype dt, const void *src, mrl_dtype st, size_t a, size_t b) {
    if (st == MRL_F32 && dt == MRL_BF16) {
        const float *s = src; uint16_t *d = dst;
        for (size_t i = a; i < b; i++) d[i] = cpu_bf16_rne(s[i]);
    } else if (st == MRL_F32 && dt == MRL_F32) {
        memcpy((float *)dst + a, (const float *)src + a, (b - a) * sizeof(float));
    } else {
        for (size_t i = a; i < b; i++) {
            float f = cpu_ld(src, st, i);
            if (dt == MRL_F32) ((float *)dst)[i] = f;
            else ((uint16_t *)dst)[i] = cpu_bf16_rne(f);
        }
    }
}

void cpu_cast(const mrl_backend *be, void *dst, mrl_dtype dt, const void *src, mrl_dtype st, size_t n) {
    size_t ns = (n + SPAN - 1) / SPAN;
    #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, n))
    for (size_t c = 0; c < ns; c++) cast_span(dst, dt, src, st, c * SPAN, (c + 1) * SPAN < n ? (c + 1) * SPAN : n);
}

/* AdamW's loop needs fmaf as one instruction: the AVX-512 clone has FMA, and "fma" (AVX + FMA)
 * stands in for the AVX2 clone, whose target lacks it (there fmaf would be a libm call per
 * element); the default clone calls libm's fmaf, exact on any CPU. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && !defined(CPU_NO_CLONES)
#define CPU_CLONES_FMA __attribute__((target_clones("avx512f", "fma", "default")))
#else
#define CPU_CLONES_FMA
#endif

CPU_CLONES_FMA static void adamw_span(float *w, const float *g, float *m, float *v, size_t a, size_t b,
                                      const mrl_adamw_step *s) {
    float w1 = s->one_m_beta1, b2 = s->beta2, w2 = s->one_m_beta2, eps = s->eps;
    float decay = s->decay, step = -s->step_size, bc2_sqrt = s->bc2_sqrt, gs = s->grad_scale;
    for (size_t i = a; i < b; i++) {
        float gi = g[i] * gs;
        /* torch's lerp with its one rounding (ATen's CPU lerp_vec is an fmadd; on CUDA nvcc
           contracts the same expression): m + w (g - m) for a weight below 1/2, g + (w - 1)(g - m)
           above. Rounding the product apart left a fifth of m an ulp off torch's. */
        float mi = w1 < 0.5f ? fmaf(w1, gi - m[i], m[i]) : fmaf(w1 - 1.0f, gi - m[i], gi);
        float vi = fmaf(w2 * gi, gi, v[i] * b2);                 /* addcmul: (value t1) t2 + self, fused as torch's */
        m[i] = mi; v[i] = vi;
        float wi = w[i] * decay;
        w[i] = wi + step * mi / (sqrtf(vi) / bc2_sqrt + eps);     /* addcdiv: (value t1) / t2 */
    }
}

#ifdef CPU_HAVE_EXP512
/* adamw_span N lanes at a time, each lane the scalar loop's operations in its order (IEEE
 * sqrt, divide and fma round the same in a vector): the same bits. The compiler left the loop
 * scalar (sqrtf's errno), two divides an element: over a fifth of a bf16 mgrpo step on `small`.
 * PS: _mm512 or _mm256; LANES(n): the mask k of the low n lanes; LD(p), ST(p, x): masked by k.
 * (MRL_CPU_SIMD=avx2 | none picks the AVX2 one or the portable loop.) */
#define ADAMW_BODY(PS, VT, N, LANES, LD, ST)                                                     \
    const VT w1 = PS##_set1_ps(s->one_m_beta1), w1m = PS##_set1_ps(s->one_m_beta1 - 1.0f);      \
    const VT b2 = PS##_set1_ps(s->beta2), w2 = PS##_set1_ps(s->one_m_beta2), eps = PS##_set1_ps(s->eps); \
    const VT decay = PS##_set1_ps(s->decay), step = PS##_set1_ps(-s->step_size);                \
    const VT bc2 = PS##_set1_ps(s->bc2_sqrt), gs = PS##_set1_ps(s->grad_scale);                \
    int low = s->one_m_beta1 < 0.5f;                                                            \
    for (size_t i = a; i < b; i += N) {                                                         \
        LANES(b - i < N ? (int)(b - i) : N);                                                    \
        VT gi = PS##_mul_ps(LD(g + i), gs), mo = LD(m + i);                                     \
        VT d = PS##_sub_ps(gi, mo);                                                             \
        VT mi = low ? PS##_fmadd_ps(w1, d, mo) : PS##_fmadd_ps(w1m, d, gi);                      \
        VT vi = PS##_fmadd_ps(PS##_mul_ps(w2, gi), gi, PS##_mul_ps(LD(v + i), b2));             \
        ST(m + i, mi);                                                                          \
        ST(v + i, vi);                                                                          \
        VT wi = PS##_mul_ps(LD(w + i), decay);                                                  \
        VT den = PS##_add_ps(PS##_div_ps(PS##_sqrt_ps(vi), bc2), eps);                          \
        ST(w + i, PS##_add_ps(wi, PS##_div_ps(PS##_mul_ps(step, mi), den)));                    \
    }
#define A512_LANES(n) __mmask16 k = cpu_lanes16(n)
#define A512_LD(p) _mm512_maskz_loadu_ps(k, (p))
#define A512_ST(p, x) _mm512_mask_storeu_ps((p), k, (x))
__attribute__((target("avx512f")))
static void adamw_span512(float *w, const float *g, float *m, float *v, size_t a, size_t b, const mrl_adamw_step *s) {
    ADAMW_BODY(_mm512, __m512, 16, A512_LANES, A512_LD, A512_ST)
}
#define A256_LANES(n) __m256i k = cpu_lanes8(n)
#define A256_LD(p) _mm256_maskload_ps((p), k)
#define A256_ST(p, x) _mm256_maskstore_ps((p), k, (x))
__attribute__((target("avx2,fma")))
static void adamw_span256(float *w, const float *g, float *m, float *v, size_t a, size_t b, const mrl_adamw_step *s) {
    ADAMW_BODY(_mm256, __m256, 8, A256_LANES, A256_LD, A256_ST)
}
#endif

void cpu_adamw(const mrl_backend *be, float *w, const float *g, float *m, float *v, void *wcopy,
               mrl_dtype cdt, size_t n, const mrl_adamw_step *st) {
    size_t ns = (n + SPAN - 1) / SPAN;
#ifdef CPU_HAVE_EXP512
    int simd = cpu_st(be)->simd;
#endif
    #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, n))
    for (size_t c = 0; c < ns; c++) {   /* the copy from the span just written, still in cache */
        size_t a = c * SPAN, b = (c + 1) * SPAN < n ? (c + 1) * SPAN : n;
#ifdef CPU_HAVE_EXP512
        if (simd >= CPU_SIMD_AVX512) adamw_span512(w, g, m, v, a, b, st);
        else if (simd >= CPU_SIMD_AVX2) adamw_span256(w, g, m, v, a, b, st);
        else
#endif
        adamw_span(w, g, m, v, a, b, st);
        if (wcopy) cast_span(wcopy, cdt, w, MRL_F32, a, b);
    }
}

CPU_CLONES static double sumsq8(const float *x, size_t n) { CPU_SUM8(n, (double)x[k] * x[k]) }
/* (a plain function around the clones: clang 14 gives a multiversioned function no symbol
 * that other files can link to) */
double cpu_sumsq8(const float *x, size_t n) { return sumsq8(x, n); }

/* Partial sums over fixed chunks (their size depends on n only), added in chunk order: an
 * OpenMP reduction would add per-thread sums and change the last bits with the thread count. */
double cpu_sumsq(const mrl_backend *be, const float *x, size_t n) {
    enum { MAXCHUNKS = 1024 };
    double part[MAXCHUNKS];
    size_t chunk = (size_t)1 << 15;
    if ((n + chunk - 1) / chunk > MAXCHUNKS) chunk = (n + MAXCHUNKS - 1) / MAXCHUNKS;
    int nc = (int)((n + chunk - 1) / chunk);
    #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, n))
    for (int c = 0; c < nc; c++) {
        size_t a = (size_t)c * chunk, b = a + chunk < n ? a + chunk : n;
        part[c] = sumsq8(x + a, b - a);
    }
    double s = 0;
    for (int c = 0; c < nc; c++) s += part[c];
    return s;
}

void cpu_scale(const mrl_backend *be, float *x, size_t n, float s) {
    #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, n))
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

/* MRL_BF16P where the vdpbf16ps GEMM runs (AVX512_BF16, not turned off by MRL_CPU_BF16_DOT=0);
 * MRL_F32P where the fp32 register tiles run (AVX-512, not turned off by MRL_CPU_SIMD). */
static size_t cpu_pack_weight(const mrl_backend *be, void *dst, const void *w, mrl_dtype wdt, int OUT, int IN) {
    if (OUT <= 0 || IN <= 0) return 0;
    if (wdt == MRL_F32) {
        if (!cpu_f32p_supported(be)) return 0;
        if (dst) cpu_f32p_pack(be, dst, w, OUT, IN);
        return cpu_f32p_bytes(OUT, IN);
    }
    if (wdt != MRL_BF16 || cpu_st(be)->bf16dot < 0) return 0;
    if (dst) cpu_bf16p_pack(be, dst, w, OUT, IN);
    return cpu_bf16p_bytes(OUT, IN);
}

static const mrl_ops cpu_table = {
    .alloc = c_alloc, .free = c_free, .upload = c_copy, .download = c_copy, .copy = c_dcopy,
    .memset0 = c_memset0, .sync = c_sync, .close = c_close, .tick = cpu_tick,
    .cast = cpu_cast,
    .embedding_fwd = cpu_embedding_fwd, .embedding_bwd = cpu_embedding_bwd,
    .rmsnorm_fwd = cpu_rmsnorm_fwd, .rmsnorm_bwd = cpu_rmsnorm_bwd,
    .linear_fwd = cpu_linear_fwd, .linear_bwd = cpu_linear_bwd,
    .rope = cpu_rope,
    .attention_work = cpu_attention_work, .attention_fwd = cpu_attention_fwd, .attention_bwd = cpu_attention_bwd,
    .kv_write = cpu_kv_write, .attention_paged_work = cpu_attention_paged_work, .attention_paged = cpu_attention_paged,
    .swiglu_fwd = cpu_swiglu_fwd, .swiglu_bwd = cpu_swiglu_bwd, .add = cpu_add,
    .logprob_work = cpu_logprob_work, .logprob_fwd = cpu_logprob_fwd, .logprob_bwd = cpu_logprob_bwd,
    .logits = cpu_logits, .pack_weight = cpu_pack_weight,
    .sample_rows_work = cpu_sample_rows_work, .sample_rows = cpu_sample_rows,
    .adamw = cpu_adamw, .sumsq = cpu_sumsq, .scale = cpu_scale,
};

int cpu_backend_init(mrl_backend *be, int threads, mrl_err *e) {
    if (threads <= 0) threads = omp_get_max_threads();
    /* OpenBLAS runs inside our OpenMP threads, one slice each (matmul.c): opened without a
     * thread pool of its own (blas.c) */
    if (cpu_blas_open(threads, e)) return -1;
    cpu_state *s = calloc(1, sizeof *s);
    if (!s) return err_set(e, 3, "out of memory");
#if defined(__x86_64__)   /* GCC's CPU builtins are x86's (aarch64: none before GCC 14); elsewhere the portable kernels */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) s->simd = CPU_SIMD_AVX512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) s->simd = CPU_SIMD_AVX2;
#endif
    const char *force = getenv("MRL_CPU_SIMD");   /* "none" | "avx2": test the fallbacks */
    if (force && !strcmp(force, "none")) s->simd = CPU_SIMD_NONE;
    else if (force && !strcmp(force, "avx2") && s->simd > CPU_SIMD_AVX2) s->simd = CPU_SIMD_AVX2;
    /* bf16 activations in the weight GEMMs: for bf16 models (be->bf16_act, set by model_load;
     * inference and training) where the CPU has AVX512_BF16; MRL_CPU_BF16_DOT=1/0 forces it
     * on/off (measurements, tests) */
    const char *bd = getenv("MRL_CPU_BF16_DOT");
    s->bf16dot = !cpu_bf16dot_supported() || (bd && !strcmp(bd, "0")) ? -1 : bd && !strcmp(bd, "1") ? 1 : 0;
    const char *ax = getenv("MRL_CPU_AMX");   /* 0: the vdpbf16ps kernel even where AMX is */
    s->amx = s->bf16dot >= 0 && !(ax && !strcmp(ax, "0")) && cpu_amx_supported();
    /* without AMX, vdpbf16ps or the same sums on fp32 FMAs, whichever is faster here */
    const char *bf = getenv("MRL_CPU_BF16_FMA");
    s->bf16fma = s->bf16dot < 0 || s->amx ? 0 : bf && !strcmp(bf, "0") ? 0 : bf && !strcmp(bf, "1") ? 1 : cpu_bf16fma_faster();
    const char *aa = getenv("MRL_CPU_ATTN_AMX");   /* 0: a bf16 model's packed attention in fp32 even with AMX */
    s->attn_amx = s->amx && !(aa && !strcmp(aa, "0"));
    /* rows up to which the streaming kernel beats sgemm (bf16, 1536 x 8960): 12 on AVX-512
     * (against its tiles); on AVX2 the 3 x 4 register tile is at 150-160 GFLOP/s from 32 rows
     * to 64, its limit, where sgemm on widened bf16 reaches 78-108 and fp32 ties (AMD Zen 2) */
    s->small_t = s->simd == CPU_SIMD_AVX2 ? 64 : 12;
    /* bf16 weights on AVX2: streamed up to 256 rows, in blocks of 64 (1.5B shapes: 153-164
     * GFLOP/s at 96 to 256 rows against sgemm on the widened weights' 114-136; at 1024 rows
     * sgemm is even there and ahead by 10-15 % on the 512-wide `small`) */
    s->small_t_bf16 = s->simd == CPU_SIMD_AVX2 ? 256 : s->small_t;
    const char *ns = getenv("MRL_CPU_NT_STORES");   /* 0: plain stores only (measurements) */
    s->nt_stores = !(ns && !strcmp(ns, "0"));
    const char *wa = getenv("MRL_CPU_BF16_WIDE_ALL");   /* 0: each task widens its blocks (measurements, tests) */
    s->wide_all = !(wa && !strcmp(wa, "0"));
    const char *st = getenv("MRL_CPU_SMALL_T");   /* for measuring the crossover */
    if (st && atoi(st) >= 0) s->small_t = s->small_t_bf16 = atoi(st);
    const char *sb = getenv("MRL_CPU_SMALL_T_BF16");
    if (sb && atoi(sb) >= 0) s->small_t_bf16 = atoi(sb);
    memset(be, 0, sizeof *be);
    be->kind = MRL_DEV_CPU;
    be->act = MRL_F32;
    be->threads = be->threads_max = threads;
    be->impl = s;
    cpu_threads_init(be);   /* reads be->threads_max, sets be->threads */
    snprintf(be->name, sizeof be->name, "cpu");
    be->ops = &cpu_table;
    return 0;
}
