/* cpu.h — the CPU backend's private pieces shared by the files in kernels/cpu/: its state (SIMD level
 * found at start, a scratch buffer for bf16 weight tiles) and the dense matmul helpers. */
#ifndef MRL_CPU_H
#define MRL_CPU_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <assert.h>
#include "ops.h"
#include <cblas.h>

/* OpenBLAS's sgemm, opened by cpu_blas_open when the backend starts (blas.c: no thread pool) */
extern __typeof__(&cblas_sgemm) cpu_sgemm;
int cpu_blas_open(int threads, mrl_err *e);   /* and its buffers for `threads` (under ulimit -v) */

enum { CPU_SIMD_NONE = 0, CPU_SIMD_AVX2 = 1, CPU_SIMD_AVX512 = 2 };

/* The thread governor's state (threads.c). */
typedef struct cpu_gov {
    int mode;              /* 1 adapt (default), 0 keep every thread (MRL_THREADS_ADAPT=0), 2 jitter (tests) */
    int ncpu;              /* CPUs this process may run on (its affinity mask, *set) */
    int cap;               /* the most threads: be->threads_max, the CPUs, a cgroup CPU quota */
    void *set;             /* that mask (a cpu_set_t) */
    long hz;               /* /proc/stat's clock ticks per second */
    int up;                /* windows in a row that asked for more threads */
    int looked;            /* the first (shorter) window is over */
    int log;               /* MRL_THREADS_ADAPT=log: each window's figures to stderr */
    long long busy0;       /* at the window's start: busy ticks of those CPUs, */
    double t0, own0;       /* the time, and this process's CPU seconds */
    unsigned long long rng;
} cpu_gov;

typedef struct cpu_state {
    int simd;              /* best of CPU_SIMD_* this machine runs */
    int bf16dot;           /* bf16 weights, any row count: x rounded to bf16, vdpbf16ps (bf16dot.c):
                              1 forced on (MRL_CPU_BF16_DOT=1), 0 when be->bf16_act asks for it
                              and the CPU has it, -1 off (no AVX512_BF16, or MRL_CPU_BF16_DOT=0) */
    int bf16fma;           /* 1: without AMX, the bf16 GEMM above runs on fp32 FMAs, the same bits
                              (where they are faster: cpu_bf16fma_faster; MRL_CPU_BF16_FMA=1/0
                              forces it on/off) */
    int amx;               /* 1: the bf16 GEMM above runs on AMX tiles (the CPU has AMX-BF16 and
                              Linux granted the tile state; MRL_CPU_AMX=0 turns it off) */
    int attn_amx;          /* 1: with amx, a bf16 model's packed attention on the tiles too
                              (attention_amx.c; MRL_CPU_ATTN_AMX=0 turns it off), read once so
                              that the work size asked for and the path taken agree */
    int nt_stores;         /* 1: the bf16 GEMM streams outputs of 4 MB and more past the caches
                              (bf16dot.c NT_MIN; MRL_CPU_NT_STORES=0 turns it off) */
    int wide_all;          /* 1: with bf16fma, raw W read by many row chunks is widened once
                              for the whole product (bf16dot.c WALL_MAX; MRL_CPU_BF16_WIDE_ALL=0
                              turns it off) */
    int small_t;           /* up to this many rows a linear streams W itself instead of sgemm */
    int small_t_bf16;      /* the same for bf16 weights */
    float *scratch;        /* fp32 tiles converted from bf16 weights (grown on demand) */
    size_t scratch_n;
    float *scratch2;       /* transposed operands of the bf16 backward products */
    size_t scratch2_n;
    cpu_gov gov;           /* how many of be->threads_max run now (be->threads) */
    /* the last rotary table (layers.c cpu_rope): cos | sin of each row's angles for positions
       rope_pos[0..rope_T), head size rope_D, base rope_theta; a training step's layers, forward,
       recompute and backward, rotate the same positions */
    float *rope_cs; int32_t *rope_pos;
    int rope_T, rope_D; float rope_theta;
    size_t rope_cap;
} cpu_state;

static inline cpu_state *cpu_st(const mrl_backend *be) { return (cpu_state *)be->impl; }
/* The thread governor (threads.c): cpu_tick sets be->threads for the ops that follow. */
void cpu_threads_init(mrl_backend *be);
void cpu_threads_free(cpu_state *s);
void cpu_tick(mrl_backend *be);
/* The next window's thread count, from cur threads now, max given, ncpu CPUs, and the cores
 * other processes kept busy in the last window; *up counts windows in a row that asked for
 * more (a rise takes two). */
int cpu_threads_next(int cur, int max, int ncpu, double others, int *up);
/* Busy clock ticks (all but idle and iowait; steal counts as busy: the CPU was not ours) of
 * the CPUs in *cpus (a cpu_set_t) in a /proc/stat file, summed; -1 if it has none of them. */
long long cpu_busy_ticks(const char *path, const void *cpus);
/* The CPUs a cgroup CPU quota allows (rounded up; the smallest along the cgroup's ancestors;
 * cgroup v2 cpu.max or v1 cpu.cfs_quota_us), from a /proc/self/cgroup file and the directory
 * the hierarchies are mounted under (/sys/fs/cgroup); 0: no quota. */
int cpu_cgroup_cpus(const char *root, const char *self);
/* Threads for a loop over `work` elements: one below ~32 K, where waking the team costs
 * more than it saves (decode runs hundreds of such small ops per token). */
static inline int cpu_nt(const mrl_backend *be, size_t work) { return work < (1u << 15) ? 1 : be->threads; }
/* Scratch of at least n floats owned by the backend (ops on one backend run one at a time). */
float *cpu_scratch(const mrl_backend *be, size_t n);
float *cpu_scratch2(const mrl_backend *be, size_t n);   /* a second one, for callers of code that uses the first */

/* out[T,OUT] = beta*out + x[T,IN] W[OUT,IN]^T (W fp32 or bf16; row strides ldx, ldo). */
void cpu_mm_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                int T, int IN, const void *w, mrl_dtype wdt, int OUT);
/* out[T,IN] = beta*out + g[T,OUT] W[OUT,IN] (ldg = row stride of g). */
void cpu_mm_gW(const mrl_backend *be, float *out, float beta, const float *g, int ldg, int T,
               int OUT, const void *w, mrl_dtype wdt, int IN);
/* dw[OUT,IN] += g[T,OUT]^T x[T,IN] (wdt: the weight's dtype; bf16 with be->bf16_act computes in bf16). */
void cpu_mm_gTx(const mrl_backend *be, float *dw, const float *g, int ldg, const float *x, int T, int OUT, int IN,
                mrl_dtype wdt);

/* MRL_BF16P on the CPU: panels of CPU_BF16P_ROWS rows, each [ceil(IN/2)][CPU_BF16P_ROWS] 32-bit
 * words holding (w[o][2p], w[o][2p+1]) — what the vdpbf16ps GEMM would otherwise build per call. */
#define CPU_BF16P_ROWS 64
static inline size_t cpu_bf16p_bytes(int OUT, int IN) {
    return (size_t)((OUT + CPU_BF16P_ROWS - 1) / CPU_BF16P_ROWS) * ((IN + 1) / 2) * CPU_BF16P_ROWS * 4;
}
/* MRL_F32P on the CPU (AVX-512): panels of CPU_F32P_ROWS rows of W, each W's rows as the
 * columns of an [IN][CPU_F32P_ROWS] fp32 block — what the register tiles would pack per call. */
#define CPU_F32P_ROWS 64
static inline size_t cpu_f32p_bytes(int OUT, int IN) {
    return (size_t)((OUT + CPU_F32P_ROWS - 1) / CPU_F32P_ROWS) * (size_t)IN * CPU_F32P_ROWS * 4;
}
static inline float cpu_f32p_at(const void *wp, int IN, size_t r, int k) {
    return ((const float *)wp)[(r / CPU_F32P_ROWS * (size_t)IN + (size_t)k) * CPU_F32P_ROWS + r % CPU_F32P_ROWS];
}
/* Rows r0.. of a weight of dtype wdt and row length IN (r0 a multiple of 64 when packed). */
static inline const void *cpu_wrows(const void *w, mrl_dtype wdt, size_t r0, int IN) {
    if (wdt == MRL_F32P) {
        assert(r0 % CPU_F32P_ROWS == 0);
        return (const float *)w + r0 * (size_t)IN;
    }
    if (wdt == MRL_BF16P) {
        assert(r0 % CPU_BF16P_ROWS == 0);
        return (const char *)w + r0 / CPU_BF16P_ROWS * (size_t)((IN + 1) / 2) * CPU_BF16P_ROWS * 4;
    }
    return (const char *)w + r0 * IN * mrl_dtype_size(wdt);
}

/* Element (r, k) of a packed [., IN] matrix, as fp32 (a tied head doubles as the embedding). */
static inline float cpu_bf16p_at(const void *wp, int IN, size_t r, int k) {
    uint32_t w = ((const uint32_t *)wp)[(r / CPU_BF16P_ROWS * (size_t)((IN + 1) / 2) + (size_t)(k / 2)) * CPU_BF16P_ROWS
                                        + r % CPU_BF16P_ROWS];
    uint32_t u = (k % 2 ? w >> 16 : w & 0xffffu) << 16;
    float f; memcpy(&f, &u, 4); return f;
}

/* AVX512_BF16 present (and compiled in). */
int cpu_bf16dot_supported(void);
int cpu_amx_supported(void);      /* AMX-BF16 usable by this process */
int cpu_bf16fma_faster(void);     /* two fp32 FMAs outrun one vdpbf16ps here (timed, bf16dot.c) */
/* AMX intrinsics and their target: GCC 11, clang 11 on (x86-64). cpu_amx_begin loads the one
 * tile configuration mrl uses (tiles 0-7 all 16 rows x 64 bytes) in the calling thread,
 * cpu_amx_end releases the tile state; only where cpu_amx_supported(). */
#if defined(__x86_64__) && ((defined(__clang__) && __clang_major__ >= 11) || (!defined(__clang__) && __GNUC__ >= 11))
#define CPU_AMX 1
#define CPU_TGT_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))
#else
#define CPU_AMX 0
#endif
void cpu_amx_begin(void);
void cpu_amx_end(void);
/* Rows t0 .. t0 + 15 (fewer at T) of x given K-major (xt [IN][T], row stride ldx) as bf16
 * pairs (xt[2p][t], xt[2p+1][t]), written to row t of xp (ldp pairs a row; zero pairs past IN):
 * the transpose the bf16 GEMM makes of g for g^T x, and attention_amx.c of Q and dO
 * (bf16dot.c; AVX512_BF16 only, operands rounded as cpu_bf16_pairs). */
void cpu_bf16_rows_k(uint32_t *xp, int ldp, const float *xt, int ldx, int T, int IN, int t0);
/* cpu_mm_xwT for bf16 W with x rounded to bf16 (fp32 sums); any T, each row independent. */
void cpu_bf16dot_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                     int T, int IN, const uint16_t *w, int OUT);
/* out[T,N] = beta*out + x[T,K] W[K,N] (W bf16, or fp32 rounded to bf16 as it is packed; row
 * stride ldw; x_kmajor: x given as its transpose [K,T], row stride ldx): the products of the
 * bf16 backward, bit-identical to cpu_bf16dot_xwT on W^T (and on x copied out of x^T). */
void cpu_bf16dot_xw(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx, int x_kmajor,
                    int T, int K, const void *w, int w_f32, int ldw, int N);
/* The same product from a packed W (MRL_BF16P); bit-identical to cpu_bf16dot_xwT. */
void cpu_bf16p_xwT(const mrl_backend *be, float *out, int ldo, float beta, const float *x, int ldx,
                   int T, int IN, const void *wp, int OUT);
/* Packs bf16 w [OUT, IN] into dst (cpu_bf16p_bytes of it). */
void cpu_bf16p_pack(const mrl_backend *be, void *dst, const uint16_t *w, int OUT, int IN);

/* fp32 -> bf16, round to nearest even, a NaN kept (quiet): how every bf16 is made here. */
static inline uint16_t cpu_bf16_rne(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* Element i of a plain vector of dtype t (a bias that comes with an MRL_BF16P weight is bf16). */
static inline float cpu_ld(const void *p, mrl_dtype t, size_t i) {
    if (t == MRL_BF16 || t == MRL_BF16P) { uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16; float f; memcpy(&f, &u, 4); return f; }
    return ((const float *)p)[i];
}
#include "clones.h"   /* CPU_CLONES */

/* The packed attention forward's tasks (attention.c, attention_amx.c): (sequence, head, run of
 * query blocks of bq rows), K and V made ready once per task up to the keys its last block
 * sees. One run per (sequence, head) where that makes 4 tasks a thread (the copies then cost
 * least); else shorter runs, down to one block a task, so that few long sequences still keep
 * every thread busy. cpu_attn_runs: runs per (sequence, head) for nt threads; cpu_attn_run: run
 * r's blocks b0 .. b1 of a sequence of n rows (none where b0 >= b1). */
static inline int cpu_attn_runs(int nt, int nseq, int H, int maxlen, int bq) {
    int pairs = nseq * H, runs = pairs > 0 ? (4 * nt + pairs - 1) / pairs : 1, nbmax = (maxlen + bq - 1) / bq;
    return runs < nbmax ? runs : nbmax;
}
static inline void cpu_attn_run(int r, int runs, int n, int bq, int *b0, int *b1) {
    int nb = (n + bq - 1) / bq;
    *b0 = (int)((long)r * nb / runs); *b1 = (int)((long)(r + 1) * nb / runs);
}
/* The packed attention of a bf16 model on AMX (attention_amx.c): 1 where cpu_attention_fwd/bwd
 * take it (be->bf16_act, cpu_state.amx, D a multiple of 32, MRL_CPU_ATTN_AMX not 0); its work
 * bytes per thread; the forward and the backward (split: key-block and query-block tasks,
 * the same bits as one task per (sequence, KV head)) on nt threads. */
int cpu_attn_amx(const mrl_backend *be, int D);
size_t cpu_attn_amx_work(int maxlen, int D);
void cpu_attn_amx_fwd(const mrl_backend *be, int nt, float *out, float *lse, const float *q, const float *k, const float *v, int st,
                      const int32_t *cu, int nseq, int H, int Hkv, int D, int maxlen, void *work);
void cpu_attn_amx_bwd(const mrl_backend *be, int nt, int split, float *dq, float *dk, float *dv, int dst, const float *dout,
                      const float *q, const float *k, const float *v, int st, const float *out, const float *lse,
                      const int32_t *cu, int nseq, int H, int Hkv, int D, int maxlen, void *work);

/* Small fp32 products for attention's blocks (smallgemm.c; AVX-512 only: callers check
 * cpu_state.simd): C[M x N] = alpha A B (+ C when acc), a(i,k) = A[i sar + k sak] (A or A^T),
 * B[k ldb + c], C[i ldc + c]; each output summed in k order. causal skips the zero blocks of a
 * causal block at query offset diag: CPU_CAUSAL_NEND computes row i's columns below diag + i + 1
 * (rounded up to whole tiles; the others are left unwritten), CPU_CAUSAL_KEND sums k below
 * diag + i + 1 (A's row i is zero past it), CPU_CAUSAL_KSTART sums k from i - diag on (A^T's
 * row i, a key, is zero for earlier queries). pk: room for K x 64 floats to copy B into, column
 * tile by column tile (B read in place where NULL; the same bits either way). */
enum { CPU_CAUSAL_NONE = 0, CPU_CAUSAL_NEND = 1, CPU_CAUSAL_KEND = 2, CPU_CAUSAL_KSTART = 3 };
void cpu_sgemm_small(int M, int N, int K, float alpha, const float *A, size_t sar, size_t sak, const float *B,
                     size_t ldb, int acc, float *C, size_t ldc, int causal, int diag, float *pk);
/* The linear layers' fp32 products on the same tiles (AVX-512 only): C[M x N] = A B + beta C,
 * a(i,k) as above, B(k,c) = B[k ldb + c], or B[c ldb + k] when bt; B fp32, or bf16 when bf. */
void cpu_sgemm_tiles(int M, int N, int K, const float *A, size_t sar, size_t sak, const void *B, int bf, int bt,
                     size_t ldb, float beta, float *C, size_t ldc);
/* The same product from W packed ahead as MRL_F32P (P: the panel of B's column 0), bit for bit
 * cpu_sgemm_tiles's on the unpacked W (bt); ap as for cpu_sgemm_tiles_at (or NULL). */
void cpu_sgemm_tiles_p(int M, int N, int K, const float *A, size_t sar, size_t sak, const float *P, float beta,
                       float *C, size_t ldc, float *ap);
/* B's columns c0 .. c0 + nc (nc <= 64; B as cpu_sgemm_tiles reads it) packed as one such panel
 * of K rows: 64 K floats at dst. */
void cpu_tiles_pack_panel(float *dst, const void *B, int bf, int bt, size_t ldb, int K, int c0, int nc);
/* C += A^T B with a(i,k) = A[k sak + i] (dW = g^T x), A^T packed into ap (room for
 * cpu_sgemm_tiles_apack(M) floats) chunk by chunk: cpu_sgemm_tiles's bits. */
void cpu_sgemm_tiles_at(int M, int N, int K, const float *A, size_t sak, const float *B, size_t ldb, float *C, size_t ldc, float *ap);
size_t cpu_sgemm_tiles_apack(int M);
/* W [OUT, IN] packed into dst as MRL_F32P (cpu_f32p_bytes). */
void cpu_f32p_pack(const mrl_backend *be, float *dst, const float *w, int OUT, int IN);
/* dst[c ldd + r] = src[r lds + c] (AVX-512 16 x 16 blocks where compiled in). */
void cpu_transpose(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols);

/* The body of a function returning sum_{k < N} EXPR (EXPR in terms of size_t k) in eight
 * interleaved doubles added in a fixed order: vectorisable without reordering, the same bits
 * for any thread count or vector width. */
#define CPU_SUM8(N, EXPR)                                                                        \
    double s8[8] = {0};                                                                          \
    size_t i = 0, n8 = (size_t)(N);                                                              \
    for (; i + 8 <= n8; i += 8)                                                                  \
        for (int j = 0; j < 8; j++) { size_t k = i + j; s8[j] += (EXPR); }                       \
    for (; i < n8; i++) { size_t k = i; s8[0] += (EXPR); }                                       \
    return ((s8[0] + s8[1]) + (s8[2] + s8[3])) + ((s8[4] + s8[5]) + (s8[6] + s8[7]));
/* Sum of x[i]^2 that way: the gradient norm's chunks and RMSNorm's rows. */
double cpu_sumsq8(const float *x, size_t n);

#if defined(__x86_64__) && (__GNUC__ >= 10 || defined(__clang__))
#include <immintrin.h>
/* The low min(n, 16) lanes, none for n <= 0: the mask of a row's last, partial vector. */
static inline __mmask16 cpu_lanes16(int n) {
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}
/* 16 bf16 values (the 16-bit halves of h) as fp32 lanes: exact, a bf16 is an fp32's high half. */
__attribute__((target("avx512f")))
static inline __m512 cpu_bf16_widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
/* 16 elements from element i of p as fp32: bf16 (bf = 1) widened, or fp32 as they are. */
__attribute__((target("avx512f")))
static inline __m512 cpu_ld16(const void *p, int bf, size_t i) {
    if (bf) return cpu_bf16_widen(_mm256_loadu_si256((const __m256i *)((const uint16_t *)p + i)));
    return _mm512_loadu_ps((const float *)p + i);
}
/* fp32 to bf16 with VCVTNE(2)PS2BF16 (one instruction for 32 floats), as cpu_bf16_rne rounds
 * but for the fp32 denormals: the instruction makes them 0, where rounding to nearest even
 * takes those from 2^-126 - 2^-134 up (bits 0x007f8000) to the smallest normal; those are set
 * to it (with their sign) first. The smaller ones round to bf16 denormals, which TDPBF16PS and
 * VDPBF16PS read as 0: for those products the operands made here are cpu_bf16_rne's, bit for
 * bit. Use them for nothing else, or only where a value read back should be what such a
 * product sees (attention_amx.c's rowsum(dO o O) reads the dO that dP = dO V^T reads). */
__attribute__((target("avx512f")))
static inline __m512 cpu_bf16_prep(__m512 x) {
    __m512i u = _mm512_castps_si512(x), a = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
    __mmask16 up = _mm512_cmplt_epu32_mask(_mm512_sub_epi32(a, _mm512_set1_epi32(0x007f8000)), _mm512_set1_epi32(0x8000));
    return _mm512_castsi512_ps(_mm512_mask_or_epi32(u, up, _mm512_and_si512(u, _mm512_set1_epi32((int)0x80000000)),
                                                    _mm512_set1_epi32(0x00800000)));
}
/* 16 floats as 16 bf16 words. */
__attribute__((target("avx512f,avx512bf16")))
static inline __m256i cpu_bf16_cvt(__m512 a) { return (__m256i)_mm512_cvtneps_pbh(cpu_bf16_prep(a)); }
/* a's 16 then b's 16 as 32 bf16 words (for a row of 32 in a and b: its pairs in place). */
__attribute__((target("avx512f,avx512bf16")))
static inline __m512i cpu_bf16_cvt2(__m512 a, __m512 b) { return (__m512i)_mm512_cvtne2ps_pbh(cpu_bf16_prep(b), cpu_bf16_prep(a)); }
/* a and b as 16 pairs (a[i], b[i]), a[i] in the low half. */
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static inline __m512i cpu_bf16_pairs_v(__m512 a, __m512 b) {
    const __m512i ilv = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20,
                                         4, 19, 3, 18, 2, 17, 1, 16, 0);   /* words i, 16 + i side by side */
    return _mm512_permutexvar_epi16(ilv, cpu_bf16_cvt2(a, b));
}
/* The same from the first na floats of a and nb of b (0 past them). */
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static inline __m512i cpu_bf16_pairs(const float *a, int na, const float *b, int nb) {
    return cpu_bf16_pairs_v(_mm512_maskz_loadu_ps(cpu_lanes16(na), a), _mm512_maskz_loadu_ps(cpu_lanes16(nb), b));
}
/* 16 x 16 transpose of 32-bit words: r[i] = row i in, r[c] = column c out. */
__attribute__((target("avx512f")))
static inline void cpu_tr16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {   /* u[i + m], m = 0..3: column 4L + m of rows i..i+3, per lane L */
        u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int m = 0; m < 4; m++) {
        __m512i xl = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x44), xh = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xee);
        __m512i yl = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x44), yh = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xee);
        r[m] = _mm512_shuffle_i32x4(xl, yl, 0x88);
        r[4 + m] = _mm512_shuffle_i32x4(xl, yl, 0xdd);
        r[8 + m] = _mm512_shuffle_i32x4(xh, yh, 0x88);
        r[12 + m] = _mm512_shuffle_i32x4(xh, yh, 0xdd);
    }
}

/* e^x: x = n ln2 + r, |r| <= ln2/2, Cephes' degree-7 polynomial for e^r (about 1 ulp), then
 * scaled by 2^n; x clamped to [-87.3, 88.8] (below, the result flushes towards 0; above, it
 * overflows to inf), a NaN kept (min/max return their second operand for one). PS is the
 * intrinsics' prefix (_mm512, _mm256), ROUND their round-to-integer; sets n, r and y = e^r. */
#define CPU_EXP_BODY(PS, ROUND, x, n, r, y) do {                                                 \
    x = PS##_max_ps(PS##_set1_ps(-87.3f), PS##_min_ps(PS##_set1_ps(88.8f), x));                  \
    n = ROUND(PS##_mul_ps(x, PS##_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); \
    r = PS##_fnmadd_ps(n, PS##_set1_ps(0.693359375f), x);                                        \
    r = PS##_fnmadd_ps(n, PS##_set1_ps(-2.12194440e-4f), r);                                     \
    y = PS##_set1_ps(1.9875691500e-4f);                                                          \
    y = PS##_fmadd_ps(y, r, PS##_set1_ps(1.3981999507e-3f));                                     \
    y = PS##_fmadd_ps(y, r, PS##_set1_ps(8.3334519073e-3f));                                     \
    y = PS##_fmadd_ps(y, r, PS##_set1_ps(4.1665795894e-2f));                                     \
    y = PS##_fmadd_ps(y, r, PS##_set1_ps(1.6666665459e-1f));                                     \
    y = PS##_fmadd_ps(y, r, PS##_set1_ps(5.0000001201e-1f));                                     \
    y = PS##_fmadd_ps(y, PS##_mul_ps(r, r), PS##_add_ps(r, PS##_set1_ps(1.0f)));                 \
} while (0)
/* e^x, 16 lanes (CPU_EXP_BODY). */
__attribute__((target("avx512f")))
static inline __m512 cpu_exp512(__m512 x) {
    __m512 n, r, y;
    CPU_EXP_BODY(_mm512, _mm512_roundscale_ps, x, n, r, y);
    return _mm512_scalef_ps(y, n);
}
#define CPU_HAVE_EXP512 1

/* e^x, 8 lanes for AVX2 + FMA (CPU_EXP_BODY). 2^n is applied as 2^h 2^(n-h), h = n >> 1, each
 * factor built in the exponent field: n is in [-126, 128] after the clamp and 2^128 has no
 * float, while e^x for x up to ln(FLT_MAX) = 88.72 does (n = 128 with y < 1). y 2^h is exact,
 * so the result is rounded once, as cpu_exp512's _mm512_scalef_ps rounds it, and for n <= 127
 * it is the y 2^n of one factor bit for bit (softmax's e^(x - max) never reaches n = 128). */
__attribute__((target("avx2,fma")))
static inline __m256 cpu_exp256(__m256 x) {
    __m256 n, r, y;
    CPU_EXP_BODY(_mm256, _mm256_round_ps, x, n, r, y);
    __m256i ni = _mm256_cvtps_epi32(n), h = _mm256_srai_epi32(ni, 1), bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, h), bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
}
/* 8 bf16 values as fp32 lanes, exactly (cpu_bf16_widen on 8). */
__attribute__((target("avx2")))
static inline __m256 cpu_bf16_widen8(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }
/* 8 elements from element i of p as fp32 (cpu_ld16 on 8). */
__attribute__((target("avx2")))
static inline __m256 cpu_ld8(const void *p, int bf, size_t i) {
    if (bf) return cpu_bf16_widen8(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)));
    return _mm256_loadu_ps((const float *)p + i);
}
/* The sum of a's 8 lanes: (l0+l4 + l2+l6) + (l1+l5 + l3+l7), one fixed order. */
__attribute__((target("avx2")))
static inline float cpu_hsum8(__m256 a) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}
/* The low min(n, 8) lanes as an AVX2 mask (all bits set in a lane that is in), none for n <= 0. */
__attribute__((target("avx2")))
static inline __m256i cpu_lanes8(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n < 0 ? 0 : n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#endif

/* The fp32 register tiles of smallgemm.c run here (compiled in, AVX-512, not turned off by
 * MRL_CPU_SIMD): the linear layers' fp32 products, and MRL_F32P. */
static inline int cpu_f32p_supported(const mrl_backend *be) {
#ifdef CPU_HAVE_EXP512
    return cpu_st(be)->simd >= CPU_SIMD_AVX512;
#else
    (void)be; return 0;
#endif
}
#endif
