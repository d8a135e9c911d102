/* bf16dot.c — bf16-weight x W^T on AVX512_BF16 (vdpbf16ps): activations rounded to bf16, sums
 * in fp32. Off unless the backend asks for it (bf16 inference only; never the fp32 reference). */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <omp.h>
#include "cpu.h"


#if defined(__x86_64__) && (__GNUC__ >= 10 || defined(__clang__))
int cpu_bf16dot_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
}

#include <immintrin.h>
#include <cpuid.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/syscall.h>
#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define TGTA CPU_TGT_AMX

/* AMX (Intel's tile unit: TDPBF16PS, a 16 x 16 block of fp32 sums per instruction) where the
 * CPU has it and Linux grants the process its tile state (arch_prctl ARCH_REQ_XCOMP_PERM,
 * feature 18 = XTILEDATA; asked once, it holds for every thread). */
int cpu_amx_supported(void) {
    static atomic_int ok = -1;   /* -1: not asked yet */
    int r = atomic_load(&ok);
    if (r >= 0) return r;
    unsigned a, b, c, d;
    r = 0;
    if (CPU_AMX && cpu_bf16dot_supported() && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d >> 22 & 1) && (d >> 24 & 1))
        r = syscall(SYS_arch_prctl, 0x1023, 18) == 0;
    atomic_store(&ok, r);   /* a second caller meanwhile asks again and gets the same answer */
    return r;
}
/* Whether two fp32 FMAs run faster than one vdpbf16ps (the same multiply-adds) on this CPU:
 * register-only loops of 12 independent chains each, timed on the calling thread, best of 5
 * after a warm-up (under 1 ms in all; once a process). An Intel Xeon (Emerald Rapids) whose AMX its VM hides: vdpbf16ps at 86
 * GFLOP/s a core, FMA at 175, so 2 FMAs take half the time; AMD Zen 4 the other way round
 * (vdpbf16ps twice FMA's rate). The choice changes speed only: both give the same bits. */
#define CAL_ACC 12
/* the chains' values "used" and "changed" here: the loop cannot move out from between the clock
 * reads, nor go (outside the loop: inside, GCC kept the chains in memory) */
#define CAL_PIN(a) do { for (int j_ = 0; j_ < CAL_ACC; j_++) __asm__ volatile("" : "+v"((a)[j_])); } while (0)
/* NAME(n): seconds for n steps of the CAL_ACC chains a[j] = OP(a[j], x, y), x y of type XT */
#define CAL_LOOP(NAME, XT, X, Y, OP)                                                             \
TGT static double NAME(long n) {                                                                 \
    __m512 a[CAL_ACC];                                                                           \
    XT x = X, y = Y;                                                                             \
    for (int j = 0; j < CAL_ACC; j++) a[j] = _mm512_set1_ps((float)j);                           \
    double t = omp_get_wtime();                                                                  \
    CAL_PIN(a);                                                                                  \
    for (long i = 0; i < n; i++) {                                                               \
        _Pragma("GCC unroll 12") for (int j = 0; j < CAL_ACC; j++) a[j] = OP(a[j], x, y);        \
    }                                                                                            \
    CAL_PIN(a);                                                                                  \
    t = omp_get_wtime() - t;                                                                     \
    float r = 0;                                                                                 \
    for (int j = 0; j < CAL_ACC; j++) r += _mm512_reduce_add_ps(a[j]);                           \
    return r == 1.2345f ? t * 1.0000001 : t;                                                     \
}
CAL_LOOP(cal_dp, __m512bh, (__m512bh)_mm512_set1_epi16(0x3f80), (__m512bh)_mm512_set1_epi16(0x3c00), _mm512_dpbf16_ps)
CAL_LOOP(cal_fma, __m512, _mm512_set1_ps(1.0000001f), _mm512_set1_ps(0.9999999f), _mm512_fmadd_ps)
static volatile double cal_sink;   /* the warm-up's result, kept */
int cpu_bf16fma_faster(void) {
    static atomic_int known = -1;   /* timed once a process: every backend takes the same kernel */
    int r = atomic_load(&known);
    if (r >= 0) return r;
    if (!cpu_bf16dot_supported()) r = 0;
    else {
        double dp = 1e30, fm = 1e30;
        cal_sink = cal_fma(40000);   /* wake the vector units first (a core starts wide FP slower, for a while) */
        for (int k = 0; k < 5; k++) {
            double a = cal_dp(8000), b = cal_fma(16000);   /* the same multiply-adds */
            if (a < dp) dp = a;
            if (b < fm) fm = b;
        }
        r = fm < 0.75 * dp;
    }
    atomic_store(&known, r);   /* a second caller meanwhile times it too, and may decide otherwise: speed only */
    return r;
}

/* The product is a packed-panel GEMM on vdpbf16ps. W is read NP = 64 rows (outputs) at a time
 * and, KB column pairs at a time, transposed into a panel whose k-pair p holds the 32-bit pairs
 * (w[o][2p], w[o][2p+1]) of its 64 rows side by side: one 64-byte load gives 16 outputs' pairs,
 * and a broadcast of x's pair p feeds them (an outer product; no horizontal sums). A register
 * block is RT = 6 rows x 64 outputs (24 accumulators). Each output is summed over the pairs in
 * index order in one fp32 lane, whichever block, task or thread computes it, so the result does
 * not depend on the row count or the thread count (K-blocks store and reload the accumulators
 * exactly). */
#define NP CPU_BF16P_ROWS   /* outputs per panel (4 x 16 lanes) */
#define KB 256   /* k pairs per panel block (64 KB packed) */
#define RT 6     /* rows per register block */
#define TC 120   /* rows per task: the task's x block is TC x KB pairs (120 KB) */

static inline uint32_t pair_at(const uint16_t *w, int IN, int OUT, int o, int k) {   /* k = first element */
    if (o >= OUT || k >= IN) return 0;
    const uint16_t *r = w + (size_t)o * IN + k;
    return r[0] | (k + 1 < IN ? (uint32_t)r[1] << 16 : 0);
}

/* pk[p][j] = pair p0 + p of row o0 + j, p < kb (zero past OUT rows and past IN). */
TGT static void pack(uint32_t *pk, const uint16_t *w, int IN, int OUT, int o0, int p0, int kb) {
    int fast = IN % 2 == 0 && o0 + NP <= OUT;
    for (int jg = 0; jg < NP; jg += 16)
        for (int p = 0; p < kb; p += 16) {
            int np = kb - p < 16 ? kb - p : 16;
            if (!fast) {
                for (int q = 0; q < np; q++)
                    for (int j = 0; j < 16; j++) pk[(size_t)(p + q) * NP + jg + j] = pair_at(w, IN, OUT, o0 + jg + j, 2 * (p0 + p + q));
                continue;
            }
            __m512i r[16];
            __mmask16 m = cpu_lanes16(np);
            for (int j = 0; j < 16; j++) r[j] = _mm512_maskz_loadu_epi32(m, w + (size_t)(o0 + jg + j) * IN + 2 * (p0 + p));
            cpu_tr16(r);
            for (int q = 0; q < np; q++) _mm512_storeu_si512(pk + (size_t)(p + q) * NP + jg, r[q]);
        }
}


/* Where a raw W comes from: [OUT][IN] bf16 (kmajor 0, rows of length IN), or given as its
 * transpose [IN][OUT] with row stride ld, bf16 or fp32 (kmajor 1: the backward's g W and
 * g^T x, packed straight from W and x with no transposed copy). */
typedef struct { const void *p; int kmajor, f32; size_t ld; } wsrc;

/* Row k of a K-major source at columns o.. (mask m), as bf16 in the low half of each lane. */
TGT static inline __m512i krow16(const wsrc *s, int k, int o, __mmask16 m) {   /* a bf16 source's row */
    return _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)s->p + (size_t)k * s->ld + o));
}
/* pk[p][j] = pair p0 + p of output o0 + j from a K-major source: elements (2p, o) and (2p+1, o)
 * side by side, zero past OUT and past IN; the same words pack() makes from the transpose. */
TGT static void pack_k(uint32_t *pk, const wsrc *s, int IN, int OUT, int o0, int p0, int kb) {
    for (int q = 0; q < kb; q++) {
        int k0 = 2 * (p0 + q);
        for (int jg = 0; jg < NP; jg += 16) {
            int n = OUT - o0 - jg;
            if (s->f32 && n > 0) {   /* fp32 (an activation): rounded as cpu_bf16_pairs does */
                const float *r = (const float *)s->p + (size_t)k0 * s->ld + o0 + jg;
                _mm512_storeu_si512(pk + (size_t)q * NP + jg, cpu_bf16_pairs(r, n, r + s->ld, k0 + 1 < IN ? n : 0));
                continue;
            }
            __m512i lo = _mm512_setzero_si512(), hi = lo;
            if (n > 0) {
                __mmask16 m = cpu_lanes16(n);
                lo = krow16(s, k0, o0 + jg, m);
                if (k0 + 1 < IN) hi = krow16(s, k0 + 1, o0 + jg, m);
            }
            _mm512_storeu_si512(pk + (size_t)q * NP + jg, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
        }
    }
}
static void pack_src(uint32_t *pk, const wsrc *s, int IN, int OUT, int o0, int p0, int kb) {
    if (s->kmajor) pack_k(pk, s, IN, OUT, o0, p0, kb);
    else pack(pk, s->p, IN, OUT, o0, p0, kb);
}
static void pack_all(const mrl_backend *be, uint32_t *dst, const wsrc *s, int OUT, int IN) {
    int np2 = (IN + 1) / 2, npan = (OUT + NP - 1) / NP;
    #pragma omp parallel for schedule(static) num_threads(be->threads)
    for (int b = 0; b < npan; b++)
        for (int p0 = 0; p0 < np2; p0 += KB)
            pack_src(dst + (size_t)b * np2 * NP + (size_t)p0 * NP, s, IN, OUT, b * NP, p0, np2 - p0 < KB ? np2 - p0 : KB);
}

/* Lines prefetched into L2 while a panel block computes, a few each step: the W lines the next
 * block will pack (the pack would otherwise wait on memory with the cores idle), or the packed
 * stream ahead (AMX). Entry i is line i % 16 of row i / 16, rows `stride` bytes apart. */
typedef struct { const char *base; size_t stride; int next, end, per_iter; } pfq;
/* Issues the queue's entries pn .. (at most n of them, not past its end) into L2; returns the
 * next entry. */
static inline int pf_issue(const pfq *pf, int pn, int n) {
    for (int q = 0; q < n && pn < pf->end; q++, pn++)
        _mm_prefetch(pf->base + (size_t)(pn >> 4) * pf->stride + (pn & 15) * 64, _MM_HINT_T1);
    return pn;
}

/* acc[R][NP] (+)= x pairs of R rows (row stride ldp words) times the panel block, kb pairs. */
#define MICRO(R)                                                                                 \
TGT static void micro##R(float *acc, const uint32_t *xp, int ldp, const uint32_t *pk, int kb, int first, pfq *pf) { \
    int pn = pf->next;                                                                           \
    __m512 c[R][4];                                                                              \
    _Pragma("GCC unroll 6") for (int r = 0; r < R; r++) _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) \
        c[r][i] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(acc + r * NP + 16 * i);          \
    for (int p = 0; p < kb; p++) {                                                               \
        const uint32_t *b = pk + (size_t)p * NP;                                                 \
        pn = pf_issue(pf, pn, pf->per_iter);                                                     \
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16); \
        __m512bh b2 = (__m512bh)_mm512_loadu_si512(b + 32), b3 = (__m512bh)_mm512_loadu_si512(b + 48); \
        _Pragma("GCC unroll 6") for (int r = 0; r < R; r++) {                                    \
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)xp[(size_t)r * ldp + p]);              \
            c[r][0] = _mm512_dpbf16_ps(c[r][0], a, b0);                                          \
            c[r][1] = _mm512_dpbf16_ps(c[r][1], a, b1);                                          \
            c[r][2] = _mm512_dpbf16_ps(c[r][2], a, b2);                                          \
            c[r][3] = _mm512_dpbf16_ps(c[r][3], a, b3);                                          \
        }                                                                                        \
    }                                                                                            \
    _Pragma("GCC unroll 6") for (int r = 0; r < R; r++) _Pragma("GCC unroll 4") for (int i = 0; i < 4; i++) \
        _mm512_storeu_ps(acc + r * NP + 16 * i, c[r][i]);                                        \
    pf->next = pn;                                                                               \
}
MICRO(1) MICRO(2) MICRO(3) MICRO(4) MICRO(5) MICRO(6)
typedef void micro_fn(float *, const uint32_t *, int, const uint32_t *, int, int, pfq *);
static micro_fn *const micros[RT + 1] = {NULL, micro1, micro2, micro3, micro4, micro5, micro6};

/* The same products on fp32 FMA, for CPUs where vdpbf16ps is the slower way (bf16fma in
 * cpu_state: an Intel Xeon whose AMX a VM hides runs vdpbf16ps at half the rate of two FMAs).
 * vdpbf16ps adds a pair to its fp32 lane as two FMAs, the odd element's product first, with
 * denormal inputs read as zero and denormal results flushed to zero (Intel's pseudo-code; 32 M
 * random lanes on such a Xeon, denormals included, gave the same bits); so do these, under
 * MXCSR's DAZ and FTZ (set around the calls, FMA_CSR, with round-to-nearest and every
 * exception masked whatever the caller set: the instruction consults neither). x comes widened
 * (xf: row r's pair p as the floats x[2p+1], x[2p] at xf[r ldf + 2p], rounded to bf16 exactly
 * as the pairs are); the panel's words are split into their odd halves (the high 16 bits,
 * masked) and even halves (shifted up). The same bits as micro##R (but for the sign and payload
 * of a NaN result, where several NaNs meet), so the two mix freely and results still depend on
 * neither rows nor threads. */
/* A vector of 16 pair words' odd elements (the high halves) and even ones (the low halves, shifted
 * up), each as the fp32 value of that bf16. */
TGT static inline __m512i pair_odd(__m512i w) { return _mm512_and_si512(w, _mm512_set1_epi32((int)0xffff0000u)); }
TGT static inline __m512i pair_even(__m512i w) { return _mm512_slli_epi32(w, 16); }
/* MICROF_GEN: the kernel on R rows x NV 16-wide vectors of outputs over a panel block whose pair p
 * is BSTEP elements of type BT at pk + p BSTEP, BODD(b, j) / BEVEN(b, j) giving outputs j .. j +
 * 15's odd / even halves as floats. */
#define MICROF_GEN(NAME, R, NV, BT, BSTEP, BODD, BEVEN)                                          \
TGT static void NAME(float *acc, const float *xf, int ldf, const BT *pk, int kb, int first, pfq *pf) { \
    int pn = pf->next;                                                                           \
    size_t sl = (size_t)ldf;   /* rows 0-2 off x0, the rest off x3: few general registers (smallgemm.c) */ \
    __m512 c[R][NV], bv[NV];                                                                     \
    _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) _Pragma("GCC unroll 4") for (int i = 0; i < NV; i++) \
        c[r][i] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(acc + r * NP + 16 * i);          \
    for (int p = 0; p < kb; p++) {                                                               \
        const BT *b = pk + (size_t)p * (BSTEP);                                                  \
        const float *x0 = xf + 2 * p, *x3 = x0 + 3 * sl;                                          \
        pn = pf_issue(pf, pn, pf->per_iter);                                                     \
        _Pragma("GCC unroll 4") for (int i = 0; i < NV; i++) bv[i] = BODD(b, 16 * i);            \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) {                                   \
            __m512 a = _mm512_set1_ps(r < 3 ? x0[(size_t)r * sl] : x3[(size_t)(r - 3) * sl]);    \
            _Pragma("GCC unroll 4") for (int i = 0; i < NV; i++) c[r][i] = _mm512_fmadd_ps(a, bv[i], c[r][i]); \
        }                                                                                        \
        _Pragma("GCC unroll 4") for (int i = 0; i < NV; i++) bv[i] = BEVEN(b, 16 * i);           \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) {                                   \
            __m512 a = _mm512_set1_ps(r < 3 ? x0[(size_t)r * sl + 1] : x3[(size_t)(r - 3) * sl + 1]); \
            _Pragma("GCC unroll 4") for (int i = 0; i < NV; i++) c[r][i] = _mm512_fmadd_ps(a, bv[i], c[r][i]); \
        }                                                                                        \
    }                                                                                            \
    _Pragma("GCC unroll 12") for (int r = 0; r < R; r++) _Pragma("GCC unroll 4") for (int i = 0; i < NV; i++) \
        _mm512_storeu_ps(acc + r * NP + 16 * i, c[r][i]);                                        \
    pf->next = pn;                                                                               \
}
#define PK_ODD(b, j) _mm512_castsi512_ps(pair_odd(_mm512_loadu_si512((b) + (j))))
#define PK_EVEN(b, j) _mm512_castsi512_ps(pair_even(_mm512_loadu_si512((b) + (j))))
#define MICROF(R) MICROF_GEN(microf##R, R, 4, uint32_t, NP, PK_ODD, PK_EVEN)
MICROF(1) MICROF(2) MICROF(3) MICROF(4) MICROF(5) MICROF(6)
typedef void microf_fn(float *, const float *, int, const uint32_t *, int, int, pfq *);
static microf_fn *const microsf[RT + 1] = {NULL, microf1, microf2, microf3, microf4, microf5, microf6};
/* The same on 12 rows x half a panel (32 outputs; pk and acc offset by 32 for the other half),
 * for blocks split in the kernel (W packed at load, as a decode batch's; raw W in tasks of
 * fewer than WIDE_ROWS rows): two words' halves feed 48 FMAs, where microf6's four feed as many
 * (its widening is 8 of every 56 vector instructions, here 4 of 52); one core on a block in L2,
 * Xeon whose VM hides AMX: 157 GFLOP/s against microf6's 145 (its peak 170). Each output's sum
 * runs in the same order: the same bits. */
#define RH 12   /* rows per microh block */
MICROF_GEN(microh12, RH, 2, uint32_t, NP, PK_ODD, PK_EVEN)
/* The same on blocks widened ahead (widen_panel): pair p's 64 odd halves, then its 64 even
 * ones, as floats. Raw W in tasks of many rows is widened ahead instead of once per 6 rows (the
 * widening is 8 of every 56 vector instructions in microf6): all of it once for the product
 * where many row chunks read it (pack_all_wide, WALL_CHUNKS), else each block as its task packs
 * it. */
#define PW_ODD(b, j) _mm512_loadu_ps((b) + (j))
#define PW_EVEN(b, j) _mm512_loadu_ps((b) + NP + (j))
#define MICROW(R) MICROF_GEN(microw##R, R, 4, float, 2 * NP, PW_ODD, PW_EVEN)
MICROW(1) MICROW(2) MICROW(3) MICROW(4) MICROW(5) MICROW(6)
typedef void microw_fn(float *, const float *, int, const float *, int, int, pfq *);
static microw_fn *const microsw[RT + 1] = {NULL, microw1, microw2, microw3, microw4, microw5, microw6};
#define WIDE_ROWS (4 * RT)   /* tasks of this many rows and more widen their blocks ahead (and
                                the product's last tasks are shared out, DYN_TAIL) */
#define WALL_MAX ((size_t)256 << 20)   /* bytes of W widened whole at most (gemm) */
#define WALL_CHUNKS 8   /* and only for products of this many row chunks and more */
#define DYN_TAIL 4   /* gemm: tasks of many rows, the last 1 / DYN_TAIL of them shared out as threads free up */
/* Pair p's words are all read before its halves are written, so pk may be the back half of dst
 * itself (pk = dst + kb NP): p's halves end at or before pair p + 1's words (2p + 2 <= kb + p + 1
 * blocks of NP words, as p < kb). */
TGT static void widen_panel(float *dst, const uint32_t *pk, int kb) {
    for (int p = 0; p < kb; p++) {
        __m512i v[NP / 16];
        for (int j = 0; j < NP / 16; j++) v[j] = _mm512_loadu_si512(pk + (size_t)p * NP + 16 * j);
        for (int j = 0; j < NP / 16; j++) {
            _mm512_storeu_si512(dst + (size_t)p * 2 * NP + 16 * j, pair_odd(v[j]));
            _mm512_storeu_si512(dst + (size_t)p * 2 * NP + NP + 16 * j, pair_even(v[j]));
        }
    }
}
/* All of W packed and widened (the widen_panel layout, K-blocks of KB pairs; twice the words of
 * pack_all): each block packed into its own back half, then widened in place. */
static void pack_all_wide(const mrl_backend *be, float *dst, const wsrc *s, int OUT, int IN) {
    int np2 = (IN + 1) / 2, npan = (OUT + NP - 1) / NP;
    #pragma omp parallel for schedule(static) num_threads(be->threads)
    for (int b = 0; b < npan; b++)
        for (int p0 = 0; p0 < np2; p0 += KB) {
            int kb = np2 - p0 < KB ? np2 - p0 : KB;
            float *d = dst + (size_t)b * np2 * 2 * NP + (size_t)p0 * 2 * NP;
            pack_src((uint32_t *)d + (size_t)kb * NP, s, IN, OUT, b * NP, p0, kb);
            widen_panel(d, (const uint32_t *)d + (size_t)kb * NP, kb);
        }
}
#define FMA_CSR 0x9fc0u   /* MXCSR: DAZ, FTZ, every exception masked (rounding bits 0: to nearest) */

/* The same product on AMX: a block of RA = 16 rows x the panel's 64 outputs is four 16 x 16 fp32
 * tiles (0-3); x's 16 rows x 16 pairs are tile 4, and the panel's 16 pairs x 16 outputs, one
 * quarter at a time, tiles 5-7 (a 16 x 64-byte tile read with the panel's 256-byte row stride is
 * exactly the pair-interleaved layout TDPBF16PS wants for its second operand). Each output is
 * again summed over the pairs in index order in one fp32 element, so rows, tasks and threads do
 * not change it; x's rows are padded with zero rows and zero pairs to whole tiles, and a last
 * group of fewer than 16 pairs of the panel comes from `tail` (zero-padded). Software prefetch
 * only for tasks of M2_ROWS rows and more (see gemm()): with fewer, the hardware's streams do
 * better alone (one row: 27 GB/s of weights against 23 with the next block prefetched as for
 * vdpbf16ps; 32 rows: a quarter slower with the 64-row scheme). */
#define RA 16    /* rows per AMX block */
#define TCA 128  /* rows per task on AMX */
#define KBA 64   /* pairs per K-block on AMX */
#define M2_ROWS 64   /* tasks of this many rows run 32 rows at a time (amx_micro2) and prefetch */
#define PF_AHEAD 2   /* packed blocks between the one computed and the one prefetched (AMX) */
#if CPU_AMX
typedef struct { uint8_t palette, start; uint8_t reserved[14]; uint16_t colsb[16]; uint8_t rows[16]; } tilecfg;

/* Tiles 0-7 all 16 rows x 64 bytes. A constant in memory: GCC 12 drops the stores into a local
 * configuration, as if LDTILECFG did not read it. */
static const tilecfg amx_cfg __attribute__((aligned(64))) = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 16, 16},
};
TGTA void cpu_amx_begin(void) { _tile_loadconfig(&amx_cfg); }
TGTA void cpu_amx_end(void) { _tile_release(); }

#define AMX_STEP(B, LD)                                                                          \
    do {                                                                                         \
        _tile_loadd(5, (B), (LD)); _tile_dpbf16ps(0, 4, 5);                                      \
        _tile_loadd(6, (B) + 16, (LD)); _tile_dpbf16ps(1, 4, 6);                                 \
        _tile_loadd(7, (B) + 32, (LD)); _tile_dpbf16ps(2, 4, 7);                                 \
        _tile_loadd(5, (B) + 48, (LD)); _tile_dpbf16ps(3, 4, 5);                                 \
    } while (0)

/* acc[RA][NP] (+)= RA rows of x pairs (row stride ldp words, zero-padded to whole groups of 16
 * pairs) times the panel block pk of kb pairs (its last kb % 16 pairs also in tail). */
TGTA static void amx_micro(float *acc, const uint32_t *xp, int ldp, const uint32_t *pk, int kb, int first,
                           const uint32_t *tail) {
    if (first) { _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3); }
    else {
        _tile_loadd(0, acc, NP * 4); _tile_loadd(1, acc + 16, NP * 4);
        _tile_loadd(2, acc + 32, NP * 4); _tile_loadd(3, acc + 48, NP * 4);
    }
    int p = 0;
    for (; p + 16 <= kb; p += 16) {
        _tile_loadd(4, xp + p, (size_t)ldp * 4);
        AMX_STEP(pk + (size_t)p * NP, NP * 4);
    }
    if (p < kb) {
        _tile_loadd(4, xp + p, (size_t)ldp * 4);
        AMX_STEP(tail, NP * 4);
    }
    _tile_stored(0, acc, NP * 4); _tile_stored(1, acc + 16, NP * 4);
    _tile_stored(2, acc + 32, NP * 4); _tile_stored(3, acc + 48, NP * 4);
}

/* 32 rows at once: two 16-row x tiles (4, 5) times two quarters of the panel (6, 7) into four
 * accumulator tiles, the panel's two halves one after the other: per product one tile load
 * instead of 1.25, and the panel block read once per 32 rows instead of once per 16 (for tasks of
 * 64 rows or more: +10 % at 128 and 256 rows, -10 % at 32 where the panel streams from memory;
 * a Xeon with AMX, 2 threads). Every
 * output goes through the same TDPBF16PS sequence as in amx_micro, so the two mix freely. */
#define AMX_STEP2(X, LDX, B, LD)                                                                 \
    do {                                                                                         \
        _tile_loadd(4, (X), (LDX)); _tile_loadd(6, (B), (LD));                                   \
        _tile_dpbf16ps(0, 4, 6);                                                                 \
        _tile_loadd(7, (B) + 16, (LD)); _tile_dpbf16ps(1, 4, 7);                                 \
        _tile_loadd(5, (X) + (size_t)16 * ((LDX) / 4), (LDX)); _tile_dpbf16ps(2, 5, 6);          \
        _tile_dpbf16ps(3, 5, 7);                                                                 \
    } while (0)
TGTA static void amx_micro2(float *acc, const uint32_t *xp, int ldp, const uint32_t *pk, int kb, int first,
                            const uint32_t *tail, pfq *pf) {
    size_t lx = (size_t)ldp * 4;
    int pn = pf->next;
    for (int h = 0; h < 2; h++) {   /* outputs 32 h .. 32 h + 31 */
        float *a0 = acc + 32 * h, *a1 = a0 + 16 * NP;
        if (first) { _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3); }
        else {
            _tile_loadd(0, a0, NP * 4); _tile_loadd(1, a0 + 16, NP * 4);
            _tile_loadd(2, a1, NP * 4); _tile_loadd(3, a1 + 16, NP * 4);
        }
        int p = 0;
        for (; p + 16 <= kb; p += 16) {
            pn = pf_issue(pf, pn, 8 * pf->per_iter);   /* per_iter counts eighths of a 16-pair step */
            AMX_STEP2(xp + p, lx, pk + (size_t)p * NP + 32 * h, NP * 4);
        }
        if (p < kb) AMX_STEP2(xp + p, lx, tail + 32 * h, NP * 4);
        _tile_stored(0, a0, NP * 4); _tile_stored(1, a0 + 16, NP * 4);
        _tile_stored(2, a1, NP * 4); _tile_stored(3, a1 + 16, NP * 4);
    }
    pf->next = pn;
}
#else   /* no AMX in this compiler: never called (cpu_amx_supported() is 0) */
void cpu_amx_begin(void) { abort(); }
void cpu_amx_end(void) { abort(); }
static void amx_micro(float *acc, const uint32_t *xp, int ldp, const uint32_t *pk, int kb, int first, const uint32_t *tail) {
    (void)acc; (void)xp; (void)ldp; (void)pk; (void)kb; (void)first; (void)tail;
    abort();
}
static void amx_micro2(float *acc, const uint32_t *xp, int ldp, const uint32_t *pk, int kb, int first, const uint32_t *tail,
                       pfq *pf) {
    (void)acc; (void)xp; (void)ldp; (void)pk; (void)kb; (void)first; (void)tail; (void)pf;
    abort();
}
#endif

/* x rounded to bf16 exactly as cpu_bf16_rne does (16 at a time), rows padded with zeros to ld
 * elements; rows split over the threads. */
TGT static void round_row(uint16_t *d, const float *x, int n) {
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = cpu_lanes16(n - i);
        _mm256_mask_storeu_epi16(d + i, m, cpu_bf16_cvt(_mm512_maskz_loadu_ps(m, x + i)));
    }
}
/* The same row as xf's floats for the FMA products (ld of them, zeros past n): each element
 * rounded as round_row does, each pair's two swapped (the odd element first; microf). */
TGT static void round_row_wide(float *xf, const float *x, int n, int ld) {
    for (int i = 0; i < ld; i += 16) {
        __m512 w = cpu_bf16_widen(cpu_bf16_cvt(_mm512_maskz_loadu_ps(cpu_lanes16(n - i), x + i)));
        _mm512_mask_storeu_ps(xf + i, cpu_lanes16(ld - i), _mm512_permute_ps(w, 0xb1));
    }
}
static void round_rows(const mrl_backend *be, uint16_t *dst, int ld, const float *x, int ldx, int T, int IN) {
    #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, (size_t)T * IN))
    for (int t = 0; t < T; t++) {
        round_row(dst + (size_t)t * ld, x + (size_t)t * ldx, IN);
        for (int i = IN; i < ld; i++) dst[(size_t)t * ld + i] = 0;
    }
}

/* The same rows from x given K-major (xt [IN][T], row stride ldx: the backward's g^T x takes
 * g's columns as its rows): pairs (xt[2p][t], xt[2p+1][t]) built 16 t x 16 pairs at a time and
 * turned into rows with one 16 x 16 transpose; zero pairs past IN up to ld / 2 pairs. */
/* One 16 x 16-pair tile of that: rows t0 .. t0 + 15 (nr of them), pairs p0 .. p0 + 15. */
TGT static inline void rows_k_tile(uint32_t *xp, int ldp, const float *xt, int ldx, int IN, int t0, int nr, int p0) {
    __m512i v[16];
    for (int q = 0; q < 16; q++) {
        int k0 = 2 * (p0 + q);
        v[q] = cpu_bf16_pairs(xt + (size_t)k0 * ldx + t0, k0 < IN ? nr : 0, xt + (size_t)(k0 + 1) * ldx + t0, k0 + 1 < IN ? nr : 0);
    }
    cpu_tr16(v);   /* v[j]: the 16 pairs of row t0 + j */
    __mmask16 pm = cpu_lanes16(ldp - p0);
    for (int j = 0; j < nr; j++) _mm512_mask_storeu_epi32(xp + (size_t)(t0 + j) * ldp + p0, pm, v[j]);
}
TGT void cpu_bf16_rows_k(uint32_t *xp, int ldp, const float *xt, int ldx, int T, int IN, int t0) {
    int nr = T - t0 < 16 ? T - t0 : 16;
    for (int p0 = 0; p0 < ldp; p0 += 16) rows_k_tile(xp, ldp, xt, ldx, IN, t0, nr, p0);
}
/* Rows t0 .. t1 (up to RKW of them) at once, pair group after pair group: each source row is
 * read RKW x 4 bytes at a time instead of 64 (16 rows walked down all of K read one line per
 * source row, a cache miss each; the dW product gained 5-15 % in model_bench gemm). The same
 * words. */
#define RKW 128
TGT static void rows_k_wide(uint32_t *xp, int ldp, const float *xt, int ldx, int T, int IN, int t0, int t1) {
    for (int p0 = 0; p0 < ldp; p0 += 16)
        for (int t = t0; t < t1; t += 16) rows_k_tile(xp, ldp, xt, ldx, IN, t, T - t < 16 ? T - t : 16, p0);
}
/* Rows t0 .. t1 of the same as xf's floats for the FMA products (ldf floats a row, row t0
 * first): tiles of 16 rows x 16 elements, element e of a row stored at e ^ 1 (the odd element of
 * each pair first), rounded as cpu_bf16_pairs rounds. */
TGT static void rows_k_wide_f(float *xf, int ldf, const float *xt, int ldx, int IN, int t0, int t1) {
    for (int e0 = 0; e0 < ldf; e0 += 16)
        for (int t = t0; t < t1; t += 16) {
            int nr = t1 - t < 16 ? t1 - t : 16;
            __m512i v[16];
            for (int q = 0; q < 16; q++) {
                int k = e0 + (q ^ 1);
                v[q] = k < IN ? _mm512_castps_si512(cpu_bf16_widen(cpu_bf16_cvt(_mm512_maskz_loadu_ps(cpu_lanes16(nr), xt + (size_t)k * ldx + t))))
                              : _mm512_setzero_si512();
            }
            cpu_tr16(v);   /* v[j]: row t + j's 16 floats */
            for (int j = 0; j < nr; j++) _mm512_mask_storeu_epi32(xf + (size_t)(t - t0 + j) * ldf + e0, cpu_lanes16(ldf - e0), v[j]);
        }
}
/* Rows t0 .. t1 of x (K-major where xk) as the FMA products read them: xf's floats, ldf a row,
 * row t0 first. */
TGT static void round_chunk(float *xf, int ldf, const float *x, int ldx, int xk, int IN, int t0, int t1) {
    if (xk) rows_k_wide_f(xf, ldf, x, ldx, IN, t0, t1);
    else for (int t = t0; t < t1; t++) round_row_wide(xf + (size_t)(t - t0) * ldf, x + (size_t)t * ldx, IN, ldf);
}
/* (the OpenMP body outside the target-attributed function: clang does not carry the target
 * into the outlined body) */
static void round_rows_k(const mrl_backend *be, uint32_t *xp, int ldp, const float *xt, int ldx, int T, int IN) {
    int nb = (T + RKW - 1) / RKW;
    #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, (size_t)T * IN))
    for (int b = 0; b < nb; b++) rows_k_wide(xp, ldp, xt, ldx, T, IN, RKW * b, RKW * b + RKW < T ? RKW * b + RKW : T);
}

/* y[0..n) = beta y + a (y = a when beta is 0, whatever y held). nt: y is a whole panel's 64
 * outputs, 64-byte aligned, beta 0, written with non-temporal stores (see NT_MIN). */
TGT static void store_row(float *y, const float *a, int n, float beta, int nt) {
    if (nt && n == NP) {
        for (int j = 0; j < NP; j += 16) _mm512_stream_ps(y + j, _mm512_loadu_ps(a + j));
        return;
    }
    __m512 b = _mm512_set1_ps(beta);
    for (int j = 0; j < n; j += 16) {
        __mmask16 k = cpu_lanes16(n - j);
        __m512 v = _mm512_maskz_loadu_ps(k, a + j);
        if (beta != 0) v = _mm512_fmadd_ps(b, _mm512_maskz_loadu_ps(k, y + j), v);
        _mm512_mask_storeu_ps(y + j, k, v);
    }
}

/* An output of this many bytes and more (beta 0) bypasses the caches on its way to memory: it
 * does not fit them anyway (a training step's T x 2F gate/up product is 12 MB at 1024 tokens of
 * `small`, 4.6 MB at 64 decode rows of the 1.5B model), and a plain store first reads each line
 * it writes. The bf16 training step on `small` +5-10 %, batch-64 decode +3-5 % (BENCHMARKS #4 Z,
 * measured on a 2-core VM only: where a large L3 would hold such an output for the op that reads
 * it next, streaming it may cost instead; MRL_CPU_NT_STORES=0 measures without). The same
 * values either way. */
#define NT_MIN ((size_t)4 << 20)

/* The GEMM: W raw (ws, packed here a block at a time) or packed once (wp, MRL_BF16P); on the
 * AMX tiles where the backend has them (cpu_state.amx), else on vdpbf16ps or the same sums on
 * fp32 FMAs (cpu_state.bf16fma). out must not overlap x: the FMA path reads x's rows while it
 * writes out. */
static void gemm(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx, int xk,
                 int T, int IN, const wsrc *ws, const uint32_t *wp, int OUT) {
    if (T <= 0 || OUT <= 0) return;
    if (IN <= 0) {   /* an empty sum: beta y, or 0 when beta is 0 whatever y held (as store_row) */
        for (int t = 0; t < T; t++) for (int j = 0; j < OUT; j++) out[(size_t)t * ldo + j] = beta == 0 ? 0 : beta * out[(size_t)t * ldo + j];
        return;
    }
    int amx = cpu_st(be)->amx > 0, fma = !amx && cpu_st(be)->bf16fma > 0;
    int rt = amx ? RA : RT, tcmax = amx ? TCA : TC;
    int np2 = (IN + 1) / 2;   /* pairs per row */
    int ldp = amx ? (np2 + 15) / 16 * 16 : np2;   /* x's row stride in pairs */
    /* row chunks of equal size (a multiple of the block's rows), so that tasks cost the same */
    int nchunk = (T + tcmax - 1) / tcmax, tc = ((T + nchunk - 1) / nchunk + rt - 1) / rt * rt;
    nchunk = (T + tc - 1) / tc;
    int npan = (OUT + NP - 1) / NP, ntask = npan * nchunk;
    int nt = be->threads < ntask ? be->threads : ntask;
    int Tp = amx ? (T + RA - 1) / RA * RA : T;   /* AMX reads whole 16-row blocks of x */
    /* x's rows as pairs (xp), rounded up front; for the FMA products instead each thread rounds
       and widens the rows of its task's chunk as it starts on the chunk (xf, ldf floats a row,
       in its own buffer): the rows stay in its cache for the products that read them next, and
       a training step's x no longer crosses memory twice more (the three changes of BENCHMARKS
       #4 AC together: a bf16 training step +5 %, `model_bench gemm` forward +10 %) */
    size_t xall = fma ? 0 : (size_t)Tp * ldp;
    int ldf = 2 * ldp;
    /* raw W (training, per-call products) in tasks of many rows: each K-block widened once as it
       is packed (microw; kb <= KB off AMX): a training step +0-9 %. Not W packed at load:
       widening each block of the weight stream gave batch-64 decode no clear gain (BENCHMARKS
       #4 AB) */
    int wide = fma && !wp && tc >= WIDE_ROWS;
    /* raw W read by more than one row chunk: packed once for all of them, not once per chunk */
    size_t pwords = !wp && nchunk > 1 ? cpu_bf16p_bytes(OUT, IN) / 4 : 0;
    /* and where those blocks are widened by many chunks, widened once too (twice the words; up
       to WALL_MAX): each task widened its own copy of every block before (`model_bench gemm
       1024 512 3072` forward +4 %, `gemm 4096 512 1536` dx +14 %, medians of alternated pairs,
       #4 AC). With few chunks the fp32 W read from memory by each costs more than the widening
       it saves (T x 1536 x 8960: 2 chunks -10 %, 3-4 chunks -3 %, 5-6 level) */
    int wall = cpu_st(be)->wide_all && wide && nchunk >= WALL_CHUNKS && pwords * 8 <= WALL_MAX;
    if (wall) pwords *= 2;
    /* each thread's region: the block it packs (raw W not packed whole), its accumulators, AMX's
       zero-padded tail, the block it widens (wide, W not widened whole), its chunk of x widened
       (FMA) */
    int packs = !wp && !pwords;
    size_t per = (packs ? (size_t)KB * NP : 0) + (size_t)tcmax * NP + (amx ? 16 * NP : 0) +
                 (wide && !wall ? (size_t)KB * 2 * NP : 0) + (fma ? (size_t)tcmax * ldf : 0);
    /* pairs per K-block: on AMX with W packed 64 (a 16 KB panel block stays in L1 while every
       row block of the task uses it: +10-25 % from 128 rows), and all of K for tasks of one
       16-row block (the sums stay in the tiles: +4-5 % on the linear op, +9 % batch-1 decode);
       else KB. Blocks store and reload the sums exactly, so results do not depend on it. */
    int kbs = amx && (wp || pwords) ? (tc <= RA ? np2 : KBA) : KB;
    int nts = cpu_st(be)->nt_stores && beta == 0 && (size_t)T * OUT * 4 >= NT_MIN && ldo % 16 == 0 && !((uintptr_t)out % 64);
    float *scr = cpu_scratch(be, xall + pwords + (size_t)nt * per + 16);
    uint32_t *xp = (uint32_t *)scr;
    const float *ww = NULL;   /* W packed and widened (wall) */
    if (wall) {
        pack_all_wide(be, scr + xall, ws, OUT, IN);
        ww = scr + xall;
        scr += pwords;
    } else if (pwords) {
        pack_all(be, (uint32_t *)(scr + xall), ws, OUT, IN);
        wp = (const uint32_t *)(scr + xall);
        scr += pwords;
    }
    if (!fma) {   /* (the FMA products round x per chunk, in the tasks) */
        if (xk) round_rows_k(be, xp, ldp, x, ldx, T, IN);   /* x given K-major */
        else round_rows(be, (uint16_t *)xp, 2 * ldp, x, ldx, T, IN);
    }
    if (Tp > T) memset(xp + (size_t)T * ldp, 0, (size_t)(Tp - T) * ldp * 4);
    int nstat = tc >= WIDE_ROWS ? ntask - ntask / DYN_TAIL : ntask;
    atomic_int dyn = nstat;   /* the next task of the tail */
    #pragma omp parallel num_threads(nt)
    {
        uint32_t *buf = (uint32_t *)(scr + xall + (size_t)omp_get_thread_num() * per);
        float *acc = (float *)(buf + (packs ? (size_t)KB * NP : 0));
        uint32_t *tail = (uint32_t *)(acc + (size_t)tcmax * NP);
        float *wbuf = (float *)tail + (amx ? 16 * NP : 0);   /* (wide) */
        float *xf = wbuf + (wide && !wall ? (size_t)KB * 2 * NP : 0);   /* (fma) */
        int xchunk = -1;   /* the chunk whose rows xf holds */
        if (amx) cpu_amx_begin();
        /* contiguous task ranges: a thread knows its next block, so it can prefetch it; in
           tasks of many rows the last quarter of the tasks goes to whichever thread is free
           (DYN_TAIL), where the next task is not known (not prefetched) */
        int th = omp_get_thread_num(), nth = omp_get_num_threads();
        for (int task = (int)((long)nstat * th / nth), tend = (int)((long)nstat * (th + 1) / nth);; task++) {
            if (task >= tend) {
                if ((task = atomic_fetch_add(&dyn, 1)) >= ntask) break;
                tend = task + 1;
            }
            int o0 = task % npan * NP, t0 = task / npan * tc, t1 = t0 + tc < T ? t0 + tc : T;
            /* FMA products on blocks split in the kernel (not widened ahead): 12-row blocks on
               microh12, the last rows on microf */
            int w = fma && (ww || (wide && t1 - t0 >= WIDE_ROWS)), tall = fma && !w ? (t1 - t0) / RH * RH : 0;
            int ncalls = tall / RH * 2 + (t1 - t0 - tall + rt - 1) / rt;
            if (fma && task / npan != xchunk) {
                round_chunk(xf, ldf, x, ldx, xk, IN, t0, t1);
                xchunk = task / npan;
            }
            for (int p0 = 0; p0 < np2; p0 += kbs) {
                int kb = np2 - p0 < kbs ? np2 - p0 : kbs;
                /* the block after this one: the next K-block, or the next task's first */
                int no0 = o0, np0 = p0 + kbs, nt1 = task + 1 < tend ? task + 1 : ntask;
                if (np0 >= np2) { no0 = nt1 % npan * NP; np0 = 0; }
                int kbn = np2 - np0 < kbs ? np2 - np0 : kbs;
                pfq pf = {0};
                /* AMX on packed W, where amx_micro2 runs (tasks of M2_ROWS rows and more): the packed
                   stream PF_AHEAD blocks ahead, every line of a block into L2 over the block's
                   steps (a thread's tasks are consecutive panels, so the stream runs on into the
                   next panel; in the tail it may be another thread's). The hardware alone fetched ~16 GB/s of W through the tile loads,
                   against ~27 for a plain read loop; the next block alone (or half of it, as
                   before) was too close. With fewer rows the hardware's streams do better alone.
                   vdpbf16ps and raw W: the next block (the next pack's rows). */
                if (amx && wp && t1 - t0 >= M2_ROWS) {
                    pf.base = (const char *)(wp + (size_t)(o0 / NP) * np2 * NP + (size_t)(p0 + PF_AHEAD * kbs) * NP);
                    pf.stride = 1024; pf.end = kb * 4;
                    int steps = (t1 - t0) / (2 * RA) * 2 * (kb / 16);   /* amx_micro2's 16-pair steps over the block */
                    int lines = steps ? (pf.end + steps - 1) / steps : pf.end;
                    pf.per_iter = (lines + 7) / 8;   /* amx_micro2 issues 8 per_iter a step */
                } else if ((!amx || (!wp && t1 - t0 >= M2_ROWS)) && (np0 > 0 || nt1 < ntask) && (ww || wp || !ws->kmajor)) {
                    if (ww) {   /* widened: the next block is kbn x 512 contiguous bytes */
                        pf.base = (const char *)(ww + (size_t)(no0 / NP) * np2 * 2 * NP + (size_t)np0 * 2 * NP);
                        pf.stride = 1024; pf.end = kbn * 8;
                    } else if (wp) {   /* packed: the next block is kbn x 256 contiguous bytes */
                        pf.base = (const char *)(wp + (size_t)(no0 / NP) * np2 * NP + (size_t)np0 * NP);
                        pf.stride = 1024; pf.end = kbn * 4;
                    } else {    /* raw: the block's lines of each of the panel's rows (line i of
                                   row r is queue entry 16 r + i, i < 16) */
                        pf.base = (const char *)((const uint16_t *)ws->p + (size_t)no0 * IN + 2 * (size_t)np0);
                        pf.stride = (size_t)IN * 2;
                        int lines = (kbn * 4 + 63) / 64, rows = OUT - no0 < NP ? OUT - no0 : NP;
                        pf.end = (rows - 1) * 16 + lines;   /* the last row's lines only; earlier rows all 16 */
                    }
                    pf.per_iter = (pf.end + ncalls * kb - 1) / (ncalls * kb);
                }
                const uint32_t *pk = buf;
                if (wp) pk = wp + (size_t)(o0 / NP) * np2 * NP + (size_t)p0 * NP;
                else if (!ww) pack_src(buf, ws, IN, OUT, o0, p0, kb);
                if (amx) {
                    int full = kb / 16 * 16;
                    if (full < kb) {   /* the last pairs, padded with zero pairs to 16 */
                        memcpy(tail, pk + (size_t)full * NP, (size_t)(kb - full) * NP * 4);
                        memset(tail + (size_t)(kb - full) * NP, 0, (size_t)(16 - (kb - full)) * NP * 4);
                    }
                    int t = t0;
                    if (t1 - t0 >= M2_ROWS) for (; t + 2 * RA <= t1; t += 2 * RA)
                        amx_micro2(acc + (size_t)(t - t0) * NP, xp + (size_t)t * ldp + p0, ldp, pk, kb, p0 == 0, tail, &pf);
                    for (; t < t1; t += RA)
                        amx_micro(acc + (size_t)(t - t0) * NP, xp + (size_t)t * ldp + p0, ldp, pk, kb, p0 == 0, tail);
                    continue;
                }
                if (fma) {
                    const float *wb = ww ? ww + (size_t)(o0 / NP) * np2 * 2 * NP + (size_t)p0 * 2 * NP : wbuf;
                    if (w && !ww) widen_panel(wbuf, pk, kb);
                    unsigned csr = _mm_getcsr();
                    _mm_setcsr((csr & ~0x6000u) | FMA_CSR);   /* round to nearest, DAZ, FTZ, masked */
                    for (int t = t0; t < t0 + tall; t += RH)
                        for (int h = 0; h < NP; h += NP / 2)
                            microh12(acc + (size_t)(t - t0) * NP + h, xf + (size_t)(t - t0) * ldf + 2 * p0, ldf, pk + h, kb, p0 == 0, &pf);
                    for (int t = t0 + tall; t < t1; t += RT) {
                        int R = t1 - t < RT ? t1 - t : RT;
                        if (w) microsw[R](acc + (size_t)(t - t0) * NP, xf + (size_t)(t - t0) * ldf + 2 * p0, ldf, wb, kb, p0 == 0, &pf);
                        else microsf[R](acc + (size_t)(t - t0) * NP, xf + (size_t)(t - t0) * ldf + 2 * p0, ldf, pk, kb, p0 == 0, &pf);
                    }
                    _mm_setcsr(csr);
                    continue;
                }
                for (int t = t0; t < t1; t += RT) {
                    int R = t1 - t < RT ? t1 - t : RT;
                    micros[R](acc + (size_t)(t - t0) * NP, xp + (size_t)t * np2 + p0, np2, pk, kb, p0 == 0, &pf);
                }
            }
            int no = OUT - o0 < NP ? OUT - o0 : NP;
            for (int t = t0; t < t1; t++) store_row(out + (size_t)t * ldo + o0, acc + (size_t)(t - t0) * NP, no, beta, nts);
        }
        if (nts) _mm_sfence();   /* the streamed lines visible to whoever reads out after the barrier */
        if (amx) cpu_amx_end();
    }
}

void cpu_bf16dot_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                     int T, int IN, const uint16_t *w, int OUT) {
    wsrc s = {w, 0, 0, (size_t)IN};
    gemm(be, out, ldo, beta, x, ldx, 0, T, IN, &s, NULL, OUT);
}

void cpu_bf16dot_xw(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx, int x_kmajor,
                    int T, int K, const void *w, int w_f32, int ldw, int N) {
    wsrc s = {w, 1, w_f32, (size_t)ldw};
    gemm(be, out, ldo, beta, x, ldx, x_kmajor, T, K, &s, NULL, N);
}

void cpu_bf16p_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                   int T, int IN, const void *wp, int OUT) {
    gemm(be, out, ldo, beta, x, ldx, 0, T, IN, NULL, wp, OUT);
}

void cpu_bf16p_pack(const mrl_backend *be, void *dst, const uint16_t *w, int OUT, int IN) {
    wsrc s = {w, 0, 0, (size_t)IN};
    pack_all(be, dst, &s, OUT, IN);
}
#else
int cpu_bf16dot_supported(void) { return 0; }
int cpu_amx_supported(void) { return 0; }
int cpu_bf16fma_faster(void) { return 0; }
void cpu_bf16p_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                   int T, int IN, const void *wp, int OUT) {
    (void)be; (void)out; (void)ldo; (void)beta; (void)x; (void)ldx; (void)T; (void)IN; (void)wp; (void)OUT;
    abort();   /* unreachable: nothing is packed where AVX512_BF16 is not compiled in */
}
void cpu_bf16p_pack(const mrl_backend *be, void *dst, const uint16_t *w, int OUT, int IN) {
    (void)be; (void)dst; (void)w; (void)OUT; (void)IN;
    abort();
}
void cpu_bf16dot_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                     int T, int IN, const uint16_t *w, int OUT) {
    (void)be; (void)out; (void)ldo; (void)beta; (void)x; (void)ldx; (void)T; (void)IN; (void)w; (void)OUT;
}
void cpu_bf16dot_xw(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx, int x_kmajor,
                    int T, int K, const void *w, int w_f32, int ldw, int N) {
    (void)be; (void)out; (void)ldo; (void)beta; (void)x; (void)ldx; (void)x_kmajor; (void)T; (void)K; (void)w; (void)w_f32;
    (void)ldw; (void)N;
}
#endif
