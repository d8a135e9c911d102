/* model_bench.c — timings of the model core for bench/bench-model.sh: memory bandwidth
 * (STREAM triad), decode tokens/s at a batch size, prefill tokens/s, training fwd+bwd tokens/s;
 * each prints one line of key=value pairs including the peak RSS of the process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <stdint.h>
#include <omp.h>
#include "model.h"
#include "model_int.h"   /* kv_reserve: the CTX filler */
#include "ops.h"
#include "cpu/cpu.h"   /* the backend's SIMD level, for the bandwidth loop */

/* The benchmarks' tensors 256-byte aligned, as the CPU backend's be_alloc gives a model's
 * weights, activations and caches: glibc's malloc starts a large block 16 bytes into its page,
 * which splits every 64-byte load of a packed weight panel across two cache lines (the bf16
 * packed linear at 64 rows measured 15 % slower than a model runs it, fp32 10 %). */
static void *talloc(size_t n) { void *p = NULL; return posix_memalign(&p, 256, n ? n : 1) ? NULL : p; }
static void *tcalloc(size_t k, size_t n) { void *p = talloc(k * n); if (p) memset(p, 0, k * n); return p; }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static double cpu_s(void) {
    struct rusage r; getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec * 1e-6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec * 1e-6;
}
static double rss_mb(void) { struct rusage r; getrusage(RUSAGE_SELF, &r); return r.ru_maxrss / 1024.0; }
static void die(const char *what, const mrl_err *e) { fprintf(stderr, "model_bench: %s: %s\n", what, e->msg); exit(1); }

/* STREAM triad a = b + s c over arrays far larger than the caches; best of 5, in GB/s
 * (3 arrays x 4 bytes per element, as STREAM counts it; write-allocate traffic not counted). */
/* XOR of 1024 words (64 cache lines). */
#if defined(__x86_64__) && (__GNUC__ >= 10 || defined(__clang__))
#include <immintrin.h>
__attribute__((target("avx512f"))) static uint32_t xor_lines512(const uint32_t *p) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int j = 0; j < 1024; j += 64) {
        a0 = _mm512_xor_si512(a0, _mm512_loadu_si512(p + j));
        a1 = _mm512_xor_si512(a1, _mm512_loadu_si512(p + j + 16));
        a2 = _mm512_xor_si512(a2, _mm512_loadu_si512(p + j + 32));
        a3 = _mm512_xor_si512(a3, _mm512_loadu_si512(p + j + 48));
    }
    return (uint32_t)_mm512_reduce_or_epi32(_mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3)));
}
/* The same with AVX2 loads, as the decode kernels read on an AVX2 CPU: the portable loop below
 * is built for x86-64-v2 (SSE), and on an AMD Zen 2 the bf16 and fp32 decodes streamed their
 * weights faster than it read (the roofline of #4 O and P was low). */
__attribute__((target("avx2"))) static uint32_t xor_lines256(const uint32_t *p) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (int j = 0; j < 1024; j += 32) {
        a0 = _mm256_xor_si256(a0, _mm256_loadu_si256((const __m256i *)(p + j)));
        a1 = _mm256_xor_si256(a1, _mm256_loadu_si256((const __m256i *)(p + j + 8)));
        a2 = _mm256_xor_si256(a2, _mm256_loadu_si256((const __m256i *)(p + j + 16)));
        a3 = _mm256_xor_si256(a3, _mm256_loadu_si256((const __m256i *)(p + j + 24)));
    }
    __m256i x = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    uint32_t w[8], r = 0;
    _mm256_storeu_si256((__m256i *)w, x);
    for (int i = 0; i < 8; i++) r |= w[i];
    return r;
}
#endif
/* level: the CPU backend's CPU_SIMD_* (MRL_CPU_SIMD=avx2|none caps it, as it caps the kernels) */
static uint32_t xor_lines(const uint32_t *u, int level) {
#if defined(__x86_64__) && (__GNUC__ >= 10 || defined(__clang__))
    if (level == CPU_SIMD_AVX512) return xor_lines512(u);
    if (level == CPU_SIMD_AVX2) return xor_lines256(u);
#endif
    (void)level;
    uint64_t a8[8] = {0};
    const uint64_t *p = (const uint64_t *)u;
    _Pragma("GCC unroll 32") for (int j = 0; j < 512; j++) a8[j & 7] ^= p[j];
    return (uint32_t)(a8[0] ^ a8[1] ^ a8[2] ^ a8[3] ^ a8[4] ^ a8[5] ^ a8[6] ^ a8[7]);
}

static int bw(int mb, int threads) {
    size_t n = (size_t)mb * (1 << 20) / 4;
    float *a = talloc(n * 4), *b = talloc(n * 4), *c = talloc(n * 4);
    if (!a || !b || !c) { fprintf(stderr, "model_bench: out of memory\n"); return 1; }
    #pragma omp parallel for num_threads(threads)
    for (size_t i = 0; i < n; i++) { a[i] = 0; b[i] = 1; c[i] = 2; }
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = now();
        #pragma omp parallel for schedule(static) num_threads(threads)
        for (size_t i = 0; i < n; i++) a[i] = b[i] + 3.0f * c[i];
        t = now() - t;
        if (t < best) best = t;
    }
    /* read-only bandwidth, the access pattern of a decode step (weights are only read): an
     * integer sum over the same array (vectorises without -ffast-math; AVX-512 loads where the
     * CPU has them, AVX2 loads on AVX2 CPUs, as the decode kernels use: on a Xeon the SSE loop
     * read 20-28 GB/s where the GEMM streamed 31), best of 5 */
    const uint32_t *u = (const uint32_t *)b;
    double rbest = 1e9; uint32_t chk = 0;
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", threads, &e);
    if (!be) die("cpu backend", &e);
    int lvl = cpu_st(be)->simd;
    be_close(be);
    for (int r = 0; r < 5; r++) {
        uint32_t s = 0;
        double t = now();
        #pragma omp parallel for schedule(static) reduction(+:s) num_threads(threads)
        for (size_t i = 0; i < n / 1024; i++) s += xor_lines(u + i * 1024, lvl);   /* 64 cache lines per call */
        t = now() - t;
        if (t < rbest) rbest = t;
        chk += s;
    }
    printf("bw threads=%d GBps=%.2f read_GBps=%.2f check=%.0f/%u\n", threads, 3.0 * n * 4 / best / 1e9,
           (double)n * 4 / rbest / 1e9, a[n / 2], chk & 1);
    free(a); free(b); free(c);
    return 0;
}

/* The compute ceilings a batched step can reach on this CPU: fp32 FMA and bf16 dot-product
 * (vdpbf16ps, and AMX TDPBF16PS where the CPU has it) instruction throughput from register-only loops on every thread (no loads, so
 * no kernel can beat them), then what the backend's linear op itself reaches on the model's
 * MLP shapes (1536 -> 8960 and back), fp32 weights and bf16 weights with bf16 activations. */
#if defined(__x86_64__) && (__GNUC__ >= 10 || defined(__clang__))
#include <immintrin.h>
#define NACC 12
__attribute__((target("avx512f"))) static double fma_loop(long iters) {
    __m512 a[NACC], x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    _Pragma("GCC unroll 16") for (int j = 0; j < NACC; j++) a[j] = _mm512_set1_ps((float)j);
    for (long i = 0; i < iters; i++) {
        _Pragma("GCC unroll 16") for (int j = 0; j < NACC; j++) a[j] = _mm512_fmadd_ps(a[j], x, y);
    }
    float s = 0;
    _Pragma("GCC unroll 16") for (int j = 0; j < NACC; j++) s += _mm512_reduce_add_ps(a[j]);
    return s;
}
/* The same on 8-wide AVX2 registers, for CPUs without AVX-512 (most laptops, AMD before Zen 4). */
__attribute__((target("avx2,fma"))) static double fma_loop256(long iters) {
    __m256 a[NACC], x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(0.9999999f);
    _Pragma("GCC unroll 16") for (int j = 0; j < NACC; j++) a[j] = _mm256_set1_ps((float)j);
    for (long i = 0; i < iters; i++) {
        _Pragma("GCC unroll 16") for (int j = 0; j < NACC; j++) a[j] = _mm256_fmadd_ps(a[j], x, y);
    }
    float s = 0, t[8];
    for (int j = 0; j < NACC; j++) { _mm256_storeu_ps(t, a[j]); for (int k = 0; k < 8; k++) s += t[k]; }
    return s;
}
__attribute__((target("avx512f,avx512bw,avx512bf16"))) static double dpbf16_loop(long iters) {
    __m512 a[NACC];
    __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3c00);
    _Pragma("GCC unroll 16") for (int j = 0; j < NACC; j++) a[j] = _mm512_set1_ps((float)j);   /* distinct: no CSE */
    for (long i = 0; i < iters; i++) {
        _Pragma("GCC unroll 16") for (int j = 0; j < NACC; j++) a[j] = _mm512_dpbf16_ps(a[j], x, y);
    }
    float s = 0;
    _Pragma("GCC unroll 16") for (int j = 0; j < NACC; j++) s += _mm512_reduce_add_ps(a[j]);
    return s;
}
#if (defined(__clang__) && __clang_major__ >= 11) || (!defined(__clang__) && __GNUC__ >= 11)   /* AMX intrinsics */
/* AMX: TDPBF16PS on tiles already loaded (4 products of 16 x 16 x 32 per iteration). */
typedef struct { uint8_t palette, start; uint8_t reserved[14]; uint16_t colsb[16]; uint8_t rows[16]; } tilecfg;
static const tilecfg amx_cfg __attribute__((aligned(64))) = {
    .palette = 1, .colsb = {64, 64, 64, 64, 64, 64, 64, 64}, .rows = {16, 16, 16, 16, 16, 16, 16, 16}};
__attribute__((target("amx-tile,amx-bf16"))) static double amx_loop(long iters) {
    static const uint16_t one[16 * 32] __attribute__((aligned(64))) = {0};
    float out[256];
    _tile_loadconfig(&amx_cfg);
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    _tile_loadd(4, one, 64); _tile_loadd(5, one, 64); _tile_loadd(6, one, 64); _tile_loadd(7, one, 64);
    for (long i = 0; i < iters; i++) {
        _tile_dpbf16ps(0, 4, 6); _tile_dpbf16ps(1, 4, 7); _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, out, 64);
    _tile_release();
    return out[0];
}
static double amx_gflops(int threads) {
    long iters = 1000000;
    double best = 0, sink = 0;
    for (int r = 0; r < 3; r++) {
        double t = now();
        #pragma omp parallel num_threads(threads) reduction(+:sink)
        sink += amx_loop(iters);
        t = now() - t;
        double g = (double)threads * iters * 4 * 16 * 16 * 32 * 2 / t / 1e9;
        if (g > best) best = g;
    }
    if (sink == 1.2345) printf("#");
    return best;
}
#else
static double amx_gflops(int threads) { (void)threads; return 0; }
#endif

static double loop_gflops(int bf16, int threads) {   /* bf16: 0 fp32 AVX-512, 1 vdpbf16ps, 2 fp32 AVX2 */
    long iters = 20000000;
    double best = 0, sink = 0;
    for (int r = 0; r < 3; r++) {
        double t = now();
        #pragma omp parallel num_threads(threads) reduction(+:sink)
        sink += bf16 == 1 ? dpbf16_loop(iters) : bf16 == 2 ? fma_loop256(iters) : fma_loop(iters);
        t = now() - t;
        double g = (double)threads * iters * NACC * (bf16 == 2 ? 8 : 16) * 2 * (bf16 == 1 ? 2 : 1) / t / 1e9;
        if (g > best) best = g;
    }
    if (sink == 1.2345) printf("#");
    return best;
}
#endif

/* The weight layouts the linear op is measured on, by name (linear, peak). */
static const char *const lin_names[] = {"fp32", "bf16", "bf16packed", "fp32packed"};
static const mrl_dtype lin_dt[] = {MRL_F32, MRL_BF16, MRL_BF16P, MRL_F32P};

/* x W^T on the backend's linear op, W in NW copies that together exceed the caches (each call
 * reads its W from memory, as a model's layers do); a packed wdt packs the copies first. */
static double linear_gflops(mrl_backend *be, int T, int IN, int OUT, mrl_dtype wdt) {
    size_t es = mrl_dtype_size(wdt), wn = (size_t)OUT * IN;
    int NW = (int)(512e6 / (wn * es)) + 1;
    float *x = talloc((size_t)T * IN * 4), *y = talloc((size_t)T * OUT * 4);
    char *w = talloc(wn * es * NW), *wp = NULL;
    size_t pb = 0;
    for (size_t i = 0; i < (size_t)T * IN; i++) x[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    for (size_t i = 0; i < wn * NW; i++) {
        float f = (float)((i * 104729) % 1000) * 1e-4f - 0.05f;
        if (es == 2) { uint32_t v; memcpy(&v, &f, 4); ((uint16_t *)w)[i] = (uint16_t)(v >> 16); }
        else ((float *)w)[i] = f;
    }
    if (wdt == MRL_BF16P || wdt == MRL_F32P) {
        mrl_dtype src = es == 2 ? MRL_BF16 : MRL_F32;
        if (!(pb = op_pack_weight(be, NULL, NULL, src, OUT, IN))) { free(x); free(y); free(w); return 0; }
        wp = talloc(pb * NW);
        for (int k = 0; k < NW; k++) op_pack_weight(be, wp + k * pb, w + k * wn * es, src, OUT, IN);
    }
    double best = 1e9;
    for (int r = 0; r < 2 * NW + 2; r++) {
        const void *wr = wp ? (const void *)(wp + (r % NW) * pb) : (const void *)(w + (r % NW) * wn * es);
        double t = now();
        op_linear_fwd(be, y, 0, x, wr, wdt, NULL, T, IN, OUT);
        t = now() - t;
        if (r && t < best) best = t;
    }
    free(x); free(y); free(w); free(wp);
    return 2.0 * T * IN * OUT / best / 1e9;
}

static int peak(int threads) {
#if defined(__x86_64__) && (__GNUC__ >= 10 || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) printf("peak threads=%d fp32_fma_GFLOPs=%.1f", threads, loop_gflops(0, threads));
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))   /* AVX2 (8 lanes) */
        printf("peak threads=%d fp32_fma_GFLOPs=%.1f", threads, loop_gflops(2, threads));
    else printf("peak threads=%d fp32_fma_GFLOPs=-", threads);
    if (__builtin_cpu_supports("avx512bf16")) printf(" bf16_dot_GFLOPs=%.1f", loop_gflops(1, threads));
    else printf(" bf16_dot_GFLOPs=-");
    double amx = cpu_amx_supported() ? amx_gflops(threads) : 0;
    if (amx > 0) printf(" amx_bf16_GFLOPs=%.1f\n", amx);
    else printf(" amx_bf16_GFLOPs=-\n");
#else
    printf("peak threads=%d fp32_fma_GFLOPs=- bf16_dot_GFLOPs=- amx_bf16_GFLOPs=-\n", threads);
#endif
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", threads, &e);
    if (!be) die("cpu backend", &e);
    static const int shapes[][3] = {{1, 1536, 8960}, {8, 1536, 8960}, {32, 1536, 8960}, {32, 8960, 1536},
                                    {256, 1536, 8960}, {256, 8960, 1536}, {64, 1536, 8960}, {64, 1536, 1536}, {128, 1536, 8960}};
    for (int k = 0; k < 4; k++) {
        be->bf16_act = lin_dt[k] == MRL_BF16 || lin_dt[k] == MRL_BF16P;   /* bf16: as bf16 inference calls it (per-call packing on AVX512_BF16) */
        for (int s = 0; s < (int)(sizeof shapes / sizeof *shapes); s++) {
            double g = linear_gflops(be, shapes[s][0], shapes[s][1], shapes[s][2], lin_dt[k]);
            if (g > 0) printf("linear threads=%d w=%s T=%d IN=%d OUT=%d GFLOPs=%.1f\n", threads, lin_names[k], shapes[s][0],
                              shapes[s][1], shapes[s][2], g);
        }
    }
    be_close(be);
    return 0;
}

/* The KV cache dtype from the environment: KV=fp32 or KV=bf16; anything else: kv_create's auto. */
static int kv_env(void) {
    const char *k = getenv("KV");
    return k && !strcmp(k, "fp32") ? MRL_F32 : k && !strcmp(k, "bf16") ? MRL_BF16 : KV_AUTO;
}

static int env_int(const char *name, int def) {
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : def;
}

/* Decode attention over the paged KV cache: R rows, each with its own ctx cached tokens in
 * 16-token blocks, the 1.5B model's heads (12 query, 2 KV, 128 dims; AH=, AK= set others);
 * one layer, best of 20 (ITERS=). The pool in fp32, or in bf16 with KV=bf16. */
static int attn(int R, int ctx, int threads) {
    int H = env_int("AH", 12), K = env_int("AK", 2), D = 128, BS = 16, nb = (ctx + BS - 1) / BS, qs = (H + 2 * K) * D;
    if (H % K) { fprintf(stderr, "model_bench: AH=%d is not a multiple of AK=%d\n", H, K); return 1; }
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", threads, &e);
    if (!be) die("cpu backend", &e);
    size_t pool = (size_t)R * nb * BS * K * D;
    float *q = talloc(sizeof(float) * R * qs), *out = talloc(sizeof(float) * R * H * D);
    float *kp = talloc(pool * 4), *vp = talloc(pool * 4);
    int32_t *bt = talloc(sizeof(int32_t) * R * nb), *rs = talloc(4 * (size_t)R), *rc = talloc(4 * (size_t)R);
    void *w = talloc(op_attention_paged_work(be, R, ctx, H, D));
    if (!q || !out || !kp || !vp || !bt || !rs || !rc || !w) { fprintf(stderr, "model_bench: out of memory\n"); return 1; }
    mrl_dtype kdt = kv_env() == MRL_BF16 ? MRL_BF16 : MRL_F32;
    for (size_t i = 0; i < pool; i++) {
        float a = (float)(i % 97) * 0.01f - 0.5f, b = (float)(i % 89) * 0.01f - 0.4f;
        if (kdt == MRL_BF16) {   /* the top halves: a truncated bf16, good enough for timing */
            uint32_t ua, ub; memcpy(&ua, &a, 4); memcpy(&ub, &b, 4);
            ((uint16_t *)kp)[i] = (uint16_t)(ua >> 16); ((uint16_t *)vp)[i] = (uint16_t)(ub >> 16);
        } else { kp[i] = a; vp[i] = b; }
    }
    for (int i = 0; i < R * qs; i++) q[i] = (float)(i % 13) * 0.05f - 0.3f;
    for (int r = 0; r < R; r++) { rs[r] = r; rc[r] = ctx; for (int b = 0; b < nb; b++) bt[r * nb + b] = r * nb + b; }
    double best = 1e9;
    for (int it = 0, iters = env_int("ITERS", 20); it < iters; it++) {
        double t = now();
        op_attention_paged(be, out, q, qs, kp, vp, kdt, bt, nb, BS, rs, rc, R, H, K, D, w);
        t = now() - t;
        if (t < best) best = t;
    }
    printf("attn R=%d ctx=%d kv=%s threads=%d ms=%.2f GFLOPs=%.1f KV_GBps=%.1f\n", R, ctx, kdt == MRL_BF16 ? "bf16" : "fp32",
           threads, best * 1e3, 4.0 * R * H * ctx * D / best / 1e9, 2.0 * R * ctx * K * D * mrl_dtype_size(kdt) / best / 1e9);
    free(q); free(out); free(kp); free(vp); free(bt); free(rs); free(rc); free(w); be_close(be);
    return 0;
}

/* Training attention (op_attention_fwd / _bwd over packed causal sequences): NSEQ sequences
 * of T / NSEQ tokens, H query and HKV key/value heads of D; best of 5, ms and GFLOP/s of each
 * (the causal products: QK^T and PV forward, 2.5 times that backward with P recomputed).
 * bf16: as for a bf16 model (be->bf16_act: bf16 block products on AMX where the CPU has it). */
static int attn_train(int T, int nseq, int H, int Hkv, int D, int bf16, int threads) {
    if (T <= 0 || nseq <= 0 || nseq > T || H <= 0 || Hkv <= 0 || H % Hkv || D <= 0) {
        fprintf(stderr, "model_bench: attn_train: T >= NSEQ > 0, H a multiple of HKV, D > 0\n");
        return 1;
    }
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", threads, &e);
    if (!be) die("cpu backend", &e);
    be->bf16_act = bf16;
    int st = (H + 2 * Hkv) * D, maxlen = (T + nseq - 1) / nseq;
    float *qkv = talloc(sizeof(float) * T * st), *out = talloc(sizeof(float) * T * H * D), *lse = talloc(sizeof(float) * T * H);
    float *dout = talloc(sizeof(float) * T * H * D), *dqkv = talloc(sizeof(float) * T * st);
    int32_t *cu = talloc(sizeof(int32_t) * (nseq + 1));
    void *w = talloc(op_attention_work(be, T, maxlen, H, D));
    if (!qkv || !out || !lse || !dout || !dqkv || !cu || !w) { fprintf(stderr, "model_bench: out of memory\n"); return 1; }
    for (size_t i = 0; i < (size_t)T * st; i++) qkv[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    for (size_t i = 0; i < (size_t)T * H * D; i++) dout[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
    for (int s = 0; s <= nseq; s++) cu[s] = (int)((long)T * s / nseq);
    double bf = 1e9, bb = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = now();
        op_attention_fwd(be, out, lse, qkv, qkv + H * D, qkv + (H + Hkv) * D, st, cu, cu, nseq, T, H, Hkv, D, w);
        t = now() - t; if (t < bf) bf = t;
        t = now();
        op_attention_bwd(be, dqkv, dqkv + H * D, dqkv + (H + Hkv) * D, st, dout, qkv, qkv + H * D, qkv + (H + Hkv) * D, st,
                         out, lse, cu, cu, nseq, T, H, Hkv, D, w);
        t = now() - t; if (t < bb) bb = t;
    }
    double f = 0;   /* QK^T and PV over the causal triangle (i + 1 keys for query i) */
    for (int s = 0; s < nseq; s++) { double n = cu[s + 1] - cu[s]; f += 4.0 * n * (n + 1) / 2 * H * D; }
    printf("attn_train threads=%d T=%d nseq=%d H=%d Hkv=%d D=%d dtype=%s fwd_ms=%.2f fwd_GFLOPs=%.1f bwd_ms=%.2f bwd_GFLOPs=%.1f\n",
           threads, T, nseq, H, Hkv, D, bf16 ? "bf16" : "fp32", bf * 1e3, f / bf / 1e9, bb * 1e3, 2.5 * f / bb / 1e9);
    free(qkv); free(out); free(lse); free(dout); free(dqkv); free(cu); free(w); be_close(be);
    return 0;
}

/* RMSNorm forward and backward over NB separate T x C buffers (a step of `small` has 13 norms, each
 * on its own activations: the buffers are not all in cache, as in a step), ms per norm. */
static int norm(int T, int C, int bf16, int threads) {
    enum { NB = 13 };
    if (T <= 0 || C <= 0) { fprintf(stderr, "model_bench: norm: T, C > 0\n"); return 1; }
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", threads, &e);
    if (!be) die("cpu backend", &e);
    size_t n = (size_t)T * C;
    float *x = talloc(sizeof(float) * n * NB), *y = talloc(sizeof(float) * n * NB), *dy = talloc(sizeof(float) * n * NB);
    float *dx = talloc(sizeof(float) * n * NB), *rstd = talloc(sizeof(float) * T * NB), *dw = tcalloc((size_t)C, sizeof(float));
    float *w = talloc(sizeof(float) * C);
    uint16_t *wb = talloc(sizeof(uint16_t) * C);
    if (!x || !y || !dy || !dx || !rstd || !dw || !w || !wb) { fprintf(stderr, "model_bench: out of memory\n"); return 1; }
    for (size_t i = 0; i < n * NB; i++) x[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f, dy[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
    for (int i = 0; i < C; i++) {
        w[i] = 1.0f + (float)(i % 17) * 0.01f;
        uint32_t u; memcpy(&u, &w[i], 4); wb[i] = (uint16_t)(u >> 16);
    }
    const void *wp = bf16 ? (const void *)wb : (const void *)w;
    mrl_dtype wdt = bf16 ? MRL_BF16 : MRL_F32;
    double bf = 1e9, bb = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = now();
        for (int b = 0; b < NB; b++) op_rmsnorm_fwd(be, y + n * b, rstd + (size_t)T * b, x + n * b, wp, wdt, T, C, 1e-6f);
        t = now() - t; if (t < bf) bf = t;
        t = now();
        for (int b = 0; b < NB; b++) op_rmsnorm_bwd(be, dx + n * b, 0, dw, dy + n * b, x + n * b, wp, wdt, rstd + (size_t)T * b, T, C);
        t = now() - t; if (t < bb) bb = t;
    }
    printf("norm threads=%d T=%d C=%d w=%s fwd_ms=%.3f bwd_ms=%.3f (per norm, %d buffers)\n", threads, T, C, bf16 ? "bf16" : "fp32",
           bf * 1e3 / NB, bb * 1e3 / NB, NB);
    free(x); free(y); free(dy); free(dx); free(rstd); free(dw); free(w); free(wb); be_close(be);
    return 0;
}

static mrl_model *load(const char *dir, int bf16, int trainable, int ckpt, int threads) {
    model_opts o = {.device = "cpu", .bf16 = bf16, .trainable = trainable, .grad_checkpoint = ckpt, .threads = threads};
    mrl_err e = {0};
    double t = now();
    mrl_model *m = model_load(dir, &o, &e);
    if (!m) die(dir, &e);
    fprintf(stderr, "model_bench: loaded %s in %.1f s\n", dir, now() - t);
    return m;
}

/* CTX=N: n more cached tokens in each sequence, as if N tokens had been decoded (values of a
 * fixed pattern written into every layer's K and V rows, so the pages are real memory), to time
 * the steps of long completions without decoding up to them. */
static void fill_ctx(kv_cache *kv, const int *seqs, int B, int n) {
    mrl_err e = {0};
    int32_t *slots = talloc(sizeof(int32_t) * (size_t)n);
    const mrl_config *c = model_config(kv->m);
    size_t row = (size_t)c->num_kv_heads * c->head_dim;
    for (int b = 0; b < B; b++) {
        if (!slots || kv_reserve(kv, seqs[b], n, slots, &e) < 0) die("CTX", &e);
        for (int l = 0; l < kv->L; l++)
            for (int i = 0; i < n; i++)
                for (size_t j = 0; j < row; j++) {
                    float a = (float)((i * 31 + (int)j * 7 + b) % 97) * 0.01f - 0.5f, v = (float)((i * 17 + (int)j * 5 + l) % 89) * 0.01f - 0.4f;
                    size_t at = (size_t)slots[i] * row + j;
                    if (kv->dt == MRL_BF16) {
                        uint32_t ua, uv; memcpy(&ua, &a, 4); memcpy(&uv, &v, 4);
                        ((uint16_t *)kv_kpool(kv, l))[at] = (uint16_t)(ua >> 16); ((uint16_t *)kv_vpool(kv, l))[at] = (uint16_t)(uv >> 16);
                    } else { ((float *)kv_kpool(kv, l))[at] = a; ((float *)kv_vpool(kv, l))[at] = v; }
                }
        kv_commit(kv, seqs[b], n);
    }
    free(slots);
}

/* B sequences with prompts of 16 + b tokens (different lengths), then `steps` batched steps. */
static int decode(const char *dir, int B, int steps, int bf16, int threads) {
    mrl_model *m = load(dir, bf16, 0, 0, threads);
    const mrl_config *c = model_config(m);
    mrl_err e = {0};
    int P = 16, V = c->vocab_size, ctx = env_int("CTX", 0);
    /* K and V of every token the B sequences will hold, at the cache's element size (bf16 for a
       bf16 model unless KV=fp32), a quarter more for partly filled blocks */
    size_t es = kv_env() == MRL_F32 || (kv_env() == KV_AUTO && !bf16) ? 4 : 2;
    size_t kvb = (size_t)B * (P + B + ctx + steps + 16) * c->num_layers * 2 * c->num_kv_heads * c->head_dim * es * 5 / 4;
    kv_cache *kv = kv_create(m, kvb, 16, kv_env(), &e);
    if (!kv) die("kv_create", &e);
    float *z = talloc((size_t)V * B * sizeof(float));
    int *seqs = talloc(B * sizeof(int));
    int32_t *tok = talloc((P + B) * sizeof(int32_t)), *next = talloc(B * sizeof(int32_t));
    for (int i = 0; i < P + B; i++) tok[i] = (i * 7919 + 13) % V;
    double tp = now();
    for (int b = 0; b < B; b++) {
        seqs[b] = kv_seq_new(kv);
        if (model_prefill(m, kv, seqs[b], tok, P + b % 8, z, &e) < 0) die("prefill", &e);
    }
    tp = now() - tp;
    if (ctx > 0) fill_ctx(kv, seqs, B, ctx);
    for (int b = 0; b < B; b++) next[b] = (b * 31 + 1) % V;
    if (model_decode(m, kv, seqs, next, B, z, &e) < 0) die("decode", &e);   /* warm-up */
    double t = now(), c0 = cpu_s();
    for (int s = 0; s < steps; s++) {
        for (int b = 0; b < B; b++) next[b] = (int32_t)((next[b] * 1103515245u + 12345u) % (unsigned)V);
        if (model_decode(m, kv, seqs, next, B, z, &e) < 0) die("decode", &e);
    }
    t = now() - t; c0 = cpu_s() - c0;
    size_t np = config_nparams(c), emb = (size_t)c->vocab_size * c->hidden_size;
    /* bytes a decode step must stream: every weight but the embedding table (one row read);
     * with a tied head the table is read once, as the head */
    size_t wbytes = (c->tie_word_embeddings ? np : np - emb) * (bf16 ? 2 : 4);
    printf("decode B=%d ctx=%d dtype=%s kv=%s threads=%d tok_per_s=%.3f ms_per_step=%.1f cpu_s_per_step=%.2f weight_GB=%.3f prefill_s=%.2f rss_MB=%.0f\n",
           B, ctx + P, bf16 ? "bf16" : "fp32", kv_dtype(kv) == MRL_BF16 ? "bf16" : "fp32", threads, (double)B * steps / t, t / steps * 1e3, c0 / steps, wbytes / 1e9, tp, rss_mb());
    free(z); free(seqs); free(tok); free(next);
    kv_free(kv); model_free(m);
    return 0;
}

static int prefill(const char *dir, int n, int bf16, int threads) {
    mrl_model *m = load(dir, bf16, 0, 0, threads);
    const mrl_config *c = model_config(m);
    mrl_err e = {0};
    size_t kvb = (size_t)(n + 32) * c->num_layers * 2 * c->num_kv_heads * c->head_dim * 4;
    kv_cache *kv = kv_create(m, kvb, 16, kv_env(), &e);
    if (!kv) die("kv_create", &e);
    int32_t *tok = talloc(n * sizeof(int32_t));
    for (int i = 0; i < n; i++) tok[i] = (i * 7919 + 13) % c->vocab_size;
    float *z = talloc(c->vocab_size * sizeof(float));
    int s = kv_seq_new(kv);
    double t = now(), c0 = cpu_s();
    if (model_prefill(m, kv, s, tok, n, z, &e) < 0) die("prefill", &e);
    t = now() - t; c0 = cpu_s() - c0;
    printf("prefill n=%d dtype=%s threads=%d tok_per_s=%.1f s=%.2f cpu_s=%.2f rss_MB=%.0f\n", n, bf16 ? "bf16" : "fp32", threads, n / t, t, c0, rss_mb());
    free(tok); free(z); kv_free(kv); model_free(m);
    return 0;
}

/* nseq sequences of T/nseq tokens, every position a target; fwd + bwd, best of `reps`. */
static int train(const char *dir, int T, int nseq, int ckpt, int reps, int threads) {
    const char *tb = getenv("TRAIN_BF16");   /* 1: a bf16 model (bf16 products, fp32 master) */
    int bf16 = tb && strcmp(tb, "0");
    mrl_model *m = load(dir, bf16, 1, ckpt, threads);
    const mrl_config *c = model_config(m);
    mrl_err e = {0};
    int32_t *tok = talloc(T * 4), *tg = talloc(T * 4), *cu = talloc((nseq + 1) * 4);
    float *lp = talloc(T * 4), *dl = talloc(T * 4);
    for (int i = 0; i < T; i++) { tok[i] = (i * 7919 + 13) % c->vocab_size; tg[i] = (i * 104729 + 7) % c->vocab_size; dl[i] = 1.0f / T; }
    for (int s = 0; s <= nseq; s++) cu[s] = (int)((long)T * s / nseq);
    mrl_batch b = {T, nseq, tok, tg, cu, 1.0f};
    double best = 1e9, bcpu = 0;
    for (int r = 0; r < reps + 1; r++) {   /* the first run sizes the buffers */
        double t = now(), c0 = cpu_s();
        if (model_forward(m, &b, lp, &e) < 0) die("forward", &e);
        if (model_backward(m, dl, &e) < 0) die("backward", &e);
        t = now() - t;
        if (r && t < best) { best = t; bcpu = cpu_s() - c0; }
    }
    printf("train T=%d nseq=%d ckpt=%d threads=%d tok_per_s=%.1f s_per_step=%.3f cpu_s_per_step=%.2f rss_MB=%.0f\n", T, nseq,
           ckpt, threads, T / best, best, bcpu, rss_mb());
    free(tok); free(tg); free(cu); free(lp); free(dl); model_free(m);
    return 0;
}

/* One linear op of the given shape (best of its runs), as peak's table rows. */
static int linear(int T, int IN, int OUT, const char *dt, int threads) {
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", threads, &e);
    if (!be) die("cpu backend", &e);
    int k = 0;   /* an unknown name: fp32, as before */
    for (int i = 0; i < 4; i++) if (!strcmp(dt, lin_names[i])) k = i;
    be->bf16_act = lin_dt[k] == MRL_BF16 || lin_dt[k] == MRL_BF16P;
    double g = T > 0 && IN > 0 && OUT > 0 ? linear_gflops(be, T, IN, OUT, lin_dt[k]) : 0;
    if (g > 0) printf("linear threads=%d w=%s T=%d IN=%d OUT=%d GFLOPs=%.1f\n", threads, dt, T, IN, OUT, g);
    else fprintf(stderr, "model_bench: linear %s %d x %d -> %d not measured here\n", dt, T, IN, OUT);
    be_close(be);
    return g > 0 ? 0 : 1;
}

/* The three products of a linear layer in training (x W^T, dx = g W, dW += g^T x), on T
 * tokens: GFLOP/s of each, best of 5 (the operands stay in the caches between runs: the
 * kernels' own speed, as PyTorch's matmul is timed in bench/gemm_torch.py). fp32, or bf16: W
 * in bf16 and the products as a bf16 model's (be->bf16_act: bf16 operands, fp32 sums). */
static int gemm(int T, int IN, int OUT, int bf16, int threads) {
    if (T <= 0 || IN <= 0 || OUT <= 0) { fprintf(stderr, "model_bench: gemm: T, IN and OUT must be positive\n"); return 1; }
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", threads, &e);
    if (!be) die("cpu backend", &e);
    be->bf16_act = bf16;
    float *x = talloc(sizeof(float) * T * IN), *w = talloc(sizeof(float) * IN * OUT), *g = talloc(sizeof(float) * T * OUT);
    float *y = talloc(sizeof(float) * T * OUT), *dx = talloc(sizeof(float) * T * IN), *dw = tcalloc((size_t)IN * OUT, sizeof(float));
    for (size_t i = 0; i < (size_t)T * IN; i++) x[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    for (size_t i = 0; i < (size_t)IN * OUT; i++) w[i] = (float)((i * 104729) % 1000) * 1e-4f - 0.05f;
    for (size_t i = 0; i < (size_t)T * OUT; i++) g[i] = (float)((i * 15485863) % 1000) * 1e-3f - 0.5f;
    mrl_dtype wdt = bf16 ? MRL_BF16 : MRL_F32;
    void *wm = w;   /* W as the product reads it: fp32, or rounded to bf16 */
    if (bf16 && !(wm = talloc((size_t)IN * OUT * 2))) { fprintf(stderr, "model_bench: out of memory\n"); return 1; }
    if (bf16) op_cast(be, wm, MRL_BF16, w, MRL_F32, (size_t)IN * OUT);
    double best[3] = {1e9, 1e9, 1e9};
    for (int r = 0; r < 6; r++) {
        double t[3];
        t[0] = now(); op_linear_fwd(be, y, 0, x, wm, wdt, NULL, T, IN, OUT); t[0] = now() - t[0];
        t[1] = now(); op_linear_bwd(be, dx, 0, NULL, NULL, g, x, wm, wdt, T, IN, OUT); t[1] = now() - t[1];
        t[2] = now(); op_linear_bwd(be, NULL, 0, dw, NULL, g, x, wm, wdt, T, IN, OUT); t[2] = now() - t[2];
        for (int k = 0; k < 3 && r > 0; k++) if (t[k] < best[k]) best[k] = t[k];
    }
    double f = 2.0 * T * IN * OUT / 1e9;
    printf("gemm threads=%d T=%d IN=%d OUT=%d dtype=%s fwd_GFLOPs=%.1f dx_GFLOPs=%.1f dW_GFLOPs=%.1f\n", threads, T, IN, OUT,
           bf16 ? "bf16" : "fp32", f / best[0], f / best[1], f / best[2]);
    if (wm != w) free(wm);
    free(x); free(w); free(g); free(y); free(dx); free(dw);
    be_close(be);
    return 0;
}

int main(int argc, char **argv) {
    const char *th = getenv("THREADS");
    int threads = th ? atoi(th) : omp_get_max_threads();
    if (argc >= 2 && !strcmp(argv[1], "bw")) return bw(argc > 2 ? atoi(argv[2]) : 512, threads);
    if (argc >= 2 && !strcmp(argv[1], "peak")) return peak(threads);
    if (argc >= 5 && !strcmp(argv[1], "linear")) return linear(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argc > 5 ? argv[5] : "fp32", threads);
    if (argc >= 5 && !strcmp(argv[1], "gemm"))
        return gemm(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argc > 5 && !strcmp(argv[5], "bf16"), threads);
    if (argc >= 7 && !strcmp(argv[1], "attn_train"))
        return attn_train(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]),
                          argc > 7 && !strcmp(argv[7], "bf16"), threads);
    if (argc >= 4 && !strcmp(argv[1], "norm")) return norm(atoi(argv[2]), atoi(argv[3]), argc > 4 && !strcmp(argv[4], "bf16"), threads);
    if (argc >= 4 && !strcmp(argv[1], "attn")) return attn(atoi(argv[2]), atoi(argv[3]), threads);
    if (argc >= 5 && !strcmp(argv[1], "decode"))
        return decode(argv[2], atoi(argv[3]), atoi(argv[4]), argc > 5 && !strcmp(argv[5], "bf16"), threads);
    if (argc >= 4 && !strcmp(argv[1], "prefill")) return prefill(argv[2], atoi(argv[3]), argc > 4 && !strcmp(argv[4], "bf16"), threads);
    if (argc >= 5 && !strcmp(argv[1], "train"))
        return train(argv[2], atoi(argv[3]), atoi(argv[4]), argc > 5 && atoi(argv[5]), argc > 6 ? atoi(argv[6]) : 2, threads);
    fprintf(stderr, "usage: model_bench bw [MB] | peak | linear T IN OUT [fp32|fp32packed|bf16|bf16packed] | gemm T IN OUT [fp32|bf16] | attn R CTX | attn_train T NSEQ H HKV D [fp32|bf16] | norm T C [fp32|bf16] | decode DIR B STEPS [bf16|fp32] | prefill DIR N [bf16|fp32] |\n"
                    "       train DIR T NSEQ [CKPT [REPS]]     (THREADS=n in the environment)\n");
    return 2;
}
