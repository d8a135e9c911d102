/* test_gemm.c — the CPU backend's dense products (kernels/cpu/matmul.c and the kernels under
 * it) at edge shapes against a float64 product: rows 1..70 and past the streaming kernel's
 * limits and OpenBLAS's row blocks, widths that leave every vector tail, output counts that
 * are not whole register tiles or column tiles; fp32 and bf16 weights, acc with and without
 * bias, pointers that are not 32-byte aligned (weights inside an mmap'd file); on the CPU's own
 * kernels and with MRL_CPU_SIMD=avx2 and none; each result the same bits at 1 and 2 threads. */
#include "../test.h"
#include <stdint.h>
#include "ops.h"
#include "cpu/cpu.h"

static mrl_backend *cpu_open(const char *simd, int threads) {
    if (simd) setenv("MRL_CPU_SIMD", simd, 1); else unsetenv("MRL_CPU_SIMD");
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", threads, &e);
    unsetenv("MRL_CPU_SIMD");
    if (!be) fprintf(stdout, "  be_open: %s\n", e.msg);
    return be;
}

static float urand(uint64_t *s) {   /* uniform in [-1, 1) */
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) * (1.0 / (1ull << 23)) - 1.0);
}
static float bf16_val(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }
static uint16_t bf16_of(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* out = acc ? out + x W^T + b : x W^T + b over every path: T rows from 1 to past the
 * streaming limits (64; bf16 on AVX2: 256) and OpenBLAS's 128-row blocks, IN with every tail
 * of 8/16/32, OUT past whole 3-row blocks and 128/256-column tiles; x, W and bias offset by
 * one element from an aligned start. Bound: |got - ref| <= (IN + 3) 2^-23 sum |terms|. */
TEST(linear_fwd_matches_float64) {
    static const int Ts[] = {1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 16, 23, 24, 25, 31, 33, 47, 48, 49, 63, 64, 65, 70,
                             127, 128, 129, 255, 256, 257, 300};
    static const int INs[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 129};
    static const int OUTs[] = {1, 2, 3, 4, 5, 23, 25, 65, 127, 129, 257};
    static const char *simds[] = {NULL, "avx2", "none"};
    enum { TM = 300, INM = 129, OUTM = 257 };
    float *xs = malloc(sizeof(float) * (TM * INM + 8)), *ws = malloc(sizeof(float) * (OUTM * INM + 8));
    uint16_t *wbs = malloc(sizeof(uint16_t) * (OUTM * INM + 8));
    float *bs = malloc(sizeof(float) * (OUTM + 8));
    uint16_t *bbs = malloc(sizeof(uint16_t) * (OUTM + 8));
    double *ref = malloc(sizeof(double) * TM * OUTM), *mag = malloc(sizeof(double) * TM * OUTM);
    float *o1 = malloc(sizeof(float) * (TM * OUTM + 8)), *o2 = malloc(sizeof(float) * (TM * OUTM + 8)), *init = malloc(sizeof(float) * TM * OUTM);
    float *x = xs + 1, *w = ws + 1, *b = bs + 1;   /* 4 bytes past a 16-byte boundary */
    uint16_t *wb = wbs + 1, *bb = bbs + 1;         /* 2 bytes past */
    uint64_t s = 11;
    for (int i = 0; i < TM * INM; i++) x[i] = urand(&s);
    for (int i = 0; i < TM * OUTM; i++) init[i] = urand(&s);
    for (int i = 0; i < OUTM; i++) { bb[i] = bf16_of(urand(&s)); b[i] = bf16_val(bb[i]); }
    int bad = 0, bits = 0;
    for (int sp = 0; sp < 3; sp++) {
        mrl_backend *be1 = cpu_open(simds[sp], 1), *be2 = cpu_open(simds[sp], 2);
        if (!be1 || !be2) { bad++; continue; }
        for (int bf = 0; bf < 2; bf++)
            for (size_t a = 0; a < sizeof INs / sizeof *INs; a++) {
                int IN = INs[a];
                /* W [OUTM, IN]; bf16 weights hold the same values as fp32 ones, rounded */
                for (int i = 0; i < OUTM * IN; i++) { wb[i] = bf16_of(urand(&s)); w[i] = bf16_val(wb[i]); }
                for (int t = 0; t < TM; t++)
                    for (int o = 0; o < OUTM; o++) {
                        double r = 0, m = 0;
                        for (int i = 0; i < IN; i++) { double p = (double)x[t * IN + i] * w[o * IN + i]; r += p; m += fabs(p); }
                        ref[t * OUTM + o] = r; mag[t * OUTM + o] = m;
                    }
                mrl_dtype wd = bf ? MRL_BF16 : MRL_F32;
                const void *wp = bf ? (const void *)wb : (const void *)w, *bp = bf ? (const void *)bb : (const void *)b;
                for (size_t c = 0; c < sizeof OUTs / sizeof *OUTs; c++)
                    for (size_t k = 0; k < sizeof Ts / sizeof *Ts; k++)
                        for (int v = 0; v < 3; v++) {   /* 0: plain, 1: acc, 2: acc + bias */
                            int OUT = OUTs[c], T = Ts[k], acc = v > 0, bias = v == 2;
                            if (T > 70 && (IN % 16 == 1 || OUT < 65) && IN != 129) continue;   /* the big row counts on fewer shapes */
                            for (int i = 0; i < T * OUT; i++) o1[i] = o2[i] = acc ? init[i] : NAN;
                            op_linear_fwd(be1, o1, acc, x, wp, wd, bias ? bp : NULL, T, IN, OUT);
                            op_linear_fwd(be2, o2, acc, x, wp, wd, bias ? bp : NULL, T, IN, OUT);
                            if (memcmp(o1, o2, sizeof(float) * T * OUT) && bits++ < 5)
                                printf("  %s %s T %d IN %d OUT %d v %d: 1 and 2 threads differ\n", simds[sp] ? simds[sp] : "default",
                                       bf ? "bf16" : "fp32", T, IN, OUT, v);
                            for (int t = 0; t < T; t++)
                                for (int o = 0; o < OUT; o++) {
                                    double want = ref[t * OUTM + o], m = mag[t * OUTM + o];
                                    if (acc) { want += init[t * OUT + o]; m += fabs(init[t * OUT + o]); }
                                    if (bias) { want += b[o]; m += fabs(b[o]); }
                                    double got = o1[t * OUT + o];
                                    if (!(fabs(got - want) <= (IN + 3) * 0x1p-23 * m + 1e-30) && bad++ < 5)
                                        printf("  %s %s T %d IN %d OUT %d v %d: out[%d][%d] = %.9g, float64 %.9g\n",
                                               simds[sp] ? simds[sp] : "default", bf ? "bf16" : "fp32", T, IN, OUT, v, t, o, got, want);
                                }
                        }
            }
        be_close(be1); be_close(be2);
    }
    EXPECTF(!bad, "%d outputs off the float64 product", bad);
    EXPECTF(!bits, "%d products differ between 1 and 2 threads", bits);
    free(xs); free(ws); free(wbs); free(bs); free(bbs); free(ref); free(mag); free(o1); free(o2); free(init);
}


/* The backward products (dinp = dout W, acc or not; dW += dout^T x; db += sum dout) against
 * float64 at edge shapes on every path, the same bits at 1 and 2 threads. */
TEST(linear_bwd_matches_float64) {
    static const int Ts[] = {1, 2, 5, 12, 13, 64, 65, 127, 129, 257};
    static const int INs[] = {1, 7, 17, 33, 255, 257, 1025};
    static const int OUTs[] = {1, 3, 25, 127, 129, 130};
    static const char *simds[] = {NULL, "avx2", "none"};
    enum { TM = 257, INM = 1025, OUTM = 130 };
    float *x = malloc(sizeof(float) * TM * INM), *w = malloc(sizeof(float) * OUTM * INM), *g = malloc(sizeof(float) * TM * OUTM);
    uint16_t *wb = malloc(sizeof(uint16_t) * OUTM * INM);
    float *d1 = malloc(sizeof(float) * TM * INM), *d2 = malloc(sizeof(float) * TM * INM), *init = malloc(sizeof(float) * TM * INM);
    float *dw1 = malloc(sizeof(float) * OUTM * INM), *dw2 = malloc(sizeof(float) * OUTM * INM), *dwi = malloc(sizeof(float) * OUTM * INM);
    float db1[OUTM], db2[OUTM];
    uint64_t s = 5;
    for (int i = 0; i < TM * INM; i++) { x[i] = urand(&s); init[i] = urand(&s); }
    for (int i = 0; i < TM * OUTM; i++) g[i] = urand(&s);
    for (int i = 0; i < OUTM * INM; i++) { wb[i] = bf16_of(urand(&s)); w[i] = bf16_val(wb[i]); dwi[i] = urand(&s); }
    int bad = 0, bits = 0;
    for (int sp = 0; sp < 3; sp++) {
        mrl_backend *be1 = cpu_open(simds[sp], 1), *be2 = cpu_open(simds[sp], 2);
        if (!be1 || !be2) { bad++; continue; }
        for (int bf = 0; bf < 2; bf++)
            for (size_t a = 0; a < sizeof INs / sizeof *INs; a++)
                for (size_t c = 0; c < sizeof OUTs / sizeof *OUTs; c++)
                    for (size_t k = 0; k < sizeof Ts / sizeof *Ts; k++)
                        for (int acc = 0; acc < 2; acc++) {
                            int IN = INs[a], OUT = OUTs[c], T = Ts[k];
                            if ((IN > 300 || T > 100) && (OUT != 129 || acc)) continue;
                            mrl_dtype wd = bf ? MRL_BF16 : MRL_F32;
                            const void *wp = bf ? (const void *)wb : (const void *)w;
                            /* W [OUT, IN]: w's first OUT * IN values, rows of IN */
                            for (int i = 0; i < T * IN; i++) d1[i] = d2[i] = acc ? init[i] : NAN;
                            memcpy(dw1, dwi, sizeof(float) * OUT * IN); memcpy(dw2, dwi, sizeof(float) * OUT * IN);
                            for (int o = 0; o < OUT; o++) db1[o] = db2[o] = 0.5f;
                            op_linear_bwd(be1, d1, acc, dw1, db1, g, x, wp, wd, T, IN, OUT);
                            op_linear_bwd(be2, d2, acc, dw2, db2, g, x, wp, wd, T, IN, OUT);
                            if ((memcmp(d1, d2, sizeof(float) * T * IN) || memcmp(dw1, dw2, sizeof(float) * OUT * IN) ||
                                 memcmp(db1, db2, sizeof(float) * OUT)) && bits++ < 5)
                                printf("  %s %s T %d IN %d OUT %d acc %d: 1 and 2 threads differ\n", simds[sp] ? simds[sp] : "default",
                                       bf ? "bf16" : "fp32", T, IN, OUT, acc);
                            for (int t = 0; t < T; t++)
                                for (int i = 0; i < IN; i++) {
                                    double r = acc ? init[t * IN + i] : 0, m = fabs(r);
                                    for (int o = 0; o < OUT; o++) { double p = (double)g[t * OUT + o] * w[o * IN + i]; r += p; m += fabs(p); }
                                    if (!(fabs(d1[t * IN + i] - r) <= (OUT + 3) * 0x1p-23 * m + 1e-30) && bad++ < 5)
                                        printf("  %s %s T %d IN %d OUT %d acc %d: dinp[%d][%d] = %.9g, float64 %.9g\n", simds[sp] ? simds[sp] : "default",
                                               bf ? "bf16" : "fp32", T, IN, OUT, acc, t, i, d1[t * IN + i], r);
                                }
                            for (int o = 0; o < OUT; o++) {
                                double rb = 0.5, mb = 0.5;
                                for (int t = 0; t < T; t++) { rb += g[t * OUT + o]; mb += fabs(g[t * OUT + o]); }
                                if (!(fabs(db1[o] - rb) <= 4 * 0x1p-23 * mb) && bad++ < 5)
                                    printf("  T %d OUT %d: db[%d] = %.9g, float64 %.9g\n", T, OUT, o, db1[o], rb);
                                for (int i = 0; i < IN; i++) {
                                    double r = dwi[o * IN + i], m = fabs(r);
                                    for (int t = 0; t < T; t++) { double p = (double)g[t * OUT + o] * x[t * IN + i]; r += p; m += fabs(p); }
                                    if (!(fabs(dw1[o * IN + i] - r) <= (T + 3) * 0x1p-23 * m + 1e-30) && bad++ < 5)
                                        printf("  %s %s T %d IN %d OUT %d: dw[%d][%d] = %.9g, float64 %.9g\n", simds[sp] ? simds[sp] : "default",
                                               bf ? "bf16" : "fp32", T, IN, OUT, o, i, dw1[o * IN + i], r);
                                }
                            }
                        }
        be_close(be1); be_close(be2);
    }
    EXPECTF(!bad, "%d gradients off the float64 products", bad);
    EXPECTF(!bits, "%d backward products differ between 1 and 2 threads", bits);
    free(x); free(w); free(g); free(wb); free(d1); free(d2); free(init); free(dw1); free(dw2); free(dwi);
}

/* A row's result the same bits whatever the other rows of the call, for every row count the
 * streaming kernel takes (small_t: 64 on AVX2 for fp32, 256 for bf16; 12 elsewhere; none: 12)
 * -- msample's --batch invariance -- on shapes with every tail (IN 1..40, OUT past 3-row blocks
 * and 24-output tasks). */
TEST(streaming_rows_independent_of_row_count) {
    static const int INs[] = {1, 5, 8, 13, 16, 24, 31, 32, 39, 40};
    static const int OUTs[] = {1, 2, 4, 23, 25, 49, 97};
    static const char *simds[] = {NULL, "avx2", "none"};
    enum { TM = 256, INM = 40, OUTM = 97 };
    float *x = malloc(sizeof(float) * TM * INM), *w = malloc(sizeof(float) * OUTM * INM);
    uint16_t *wb = malloc(sizeof(uint16_t) * OUTM * INM);
    float *all = malloc(sizeof(float) * TM * OUTM), *one = malloc(sizeof(float) * TM * OUTM);
    uint64_t s = 9;
    for (int i = 0; i < TM * INM; i++) x[i] = urand(&s);
    for (int i = 0; i < OUTM * INM; i++) { wb[i] = bf16_of(urand(&s)); w[i] = bf16_val(wb[i]); }
    int bad = 0;
    for (int sp = 0; sp < 3; sp++) {
        mrl_backend *be = cpu_open(simds[sp], 2);
        if (!be) { bad++; continue; }
        for (int bf = 0; bf < 2; bf++) {
            int st = bf ? cpu_st(be)->small_t_bf16 : cpu_st(be)->small_t;
            if (st > TM) st = TM;
            mrl_dtype wd = bf ? MRL_BF16 : MRL_F32;
            const void *wp = bf ? (const void *)wb : (const void *)w;
            for (size_t a = 0; a < sizeof INs / sizeof *INs; a++)
                for (size_t c = 0; c < sizeof OUTs / sizeof *OUTs; c++) {
                    int IN = INs[a], OUT = OUTs[c];
                    for (int t = 0; t < st; t++) op_linear_fwd(be, one + (size_t)t * OUT, 0, x + (size_t)t * IN, wp, wd, NULL, 1, IN, OUT);
                    for (int T = 2; T <= st; T += T < 70 ? 1 : 37) {
                        op_linear_fwd(be, all, 0, x, wp, wd, NULL, T, IN, OUT);
                        if (memcmp(all, one, sizeof(float) * T * OUT) && bad++ < 5)
                            printf("  %s %s IN %d OUT %d: %d rows differ from the rows computed alone\n", simds[sp] ? simds[sp] : "default",
                                   bf ? "bf16" : "fp32", IN, OUT, T);
                    }
                }
        }
        be_close(be);
    }
    EXPECTF(!bad, "%d row counts changed a row's bits", bad);
    free(x); free(w); free(wb); free(all); free(one);
}

/* NaN and inf: an output is NaN where the float64 product is (a NaN input, or inf times 0,
 * or inf - inf), +-inf where it is; NaN in out is overwritten without acc. */
TEST(nonfinite_inputs_propagate) {
    static const int Ts[] = {1, 3, 13, 65, 129, 300};
    static const char *simds[] = {NULL, "avx2", "none"};
    enum { TM = 300, IN = 37, OUT = 70 };
    float *x = malloc(sizeof(float) * TM * IN), *w = malloc(sizeof(float) * OUT * IN), *o = malloc(sizeof(float) * TM * OUT);
    uint16_t *wb = malloc(sizeof(uint16_t) * OUT * IN);
    uint64_t s = 3;
    for (int i = 0; i < TM * IN; i++) x[i] = urand(&s);
    for (int i = 0; i < OUT * IN; i++) { wb[i] = bf16_of(urand(&s)); w[i] = bf16_val(wb[i]); }
    for (int t = 0; t < TM; t += 3) x[t * IN + (t * 7) % IN] = t % 2 ? NAN : (t % 4 ? -INFINITY : INFINITY);
    for (int o = 5; o < OUT; o += 11) { w[o * IN + 36] = 0; wb[o * IN + 36] = 0; }   /* inf x 0 at column 36 */
    for (int o = 7; o < OUT; o += 13) { w[o * IN + 3] = INFINITY; wb[o * IN + 3] = 0x7f80; }
    int bad = 0;
    for (int sp = 0; sp < 3; sp++) {
        mrl_backend *be = cpu_open(simds[sp], 2);
        if (!be) { bad++; continue; }
        for (int bf = 0; bf < 2; bf++)
            for (size_t k = 0; k < sizeof Ts / sizeof *Ts; k++) {
                int T = Ts[k];
                for (int i = 0; i < T * OUT; i++) o[i] = NAN;
                op_linear_fwd(be, o, 0, x, bf ? (const void *)wb : (const void *)w, bf ? MRL_BF16 : MRL_F32, NULL, T, IN, OUT);
                for (int t = 0; t < T; t++)
                    for (int j = 0; j < OUT; j++) {
                        double r = 0;
                        for (int i = 0; i < IN; i++) r += (double)x[t * IN + i] * w[j * IN + i];
                        float got = o[t * OUT + j];
                        int ok = isnan(r) ? isnan(got) : isinf(r) ? got == r : isfinite(got) && fabs(got - r) <= 1e-5 * (1 + fabs(r));
                        if (!ok && bad++ < 5)
                            printf("  %s %s T %d: out[%d][%d] = %g, float64 %g\n", simds[sp] ? simds[sp] : "default", bf ? "bf16" : "fp32",
                                   T, t, j, got, r);
                    }
            }
        be_close(be);
    }
    EXPECTF(!bad, "%d outputs wrong with NaN / inf inputs", bad);
    free(x); free(w); free(o); free(wb);
}

/* op_logits and op_logprob_fwd (the head, chunked by 4096 vocabulary entries and 256 rows)
 * against float64 at row counts and vocabulary sizes around those chunks, fp32 and bf16. */
TEST(head_matches_float64) {
    static const int Ts[] = {1, 2, 13, 64, 65, 257};
    static const int Vs[] = {1, 7, 4095, 4097, 8193};
    static const char *simds[] = {NULL, "avx2", "none"};
    enum { TM = 257, C = 33, VM = 8193 };
    float *x = malloc(sizeof(float) * TM * C), *w = malloc(sizeof(float) * VM * C), *lg = malloc(sizeof(float) * TM * VM);
    uint16_t *wb = malloc(sizeof(uint16_t) * VM * C);
    float logp[TM], lse[TM];
    int32_t tg[TM];
    double *z = malloc(sizeof(double) * VM);
    uint64_t s = 21;
    for (int i = 0; i < TM * C; i++) x[i] = 3 * urand(&s);
    for (int i = 0; i < VM * C; i++) { wb[i] = bf16_of(urand(&s)); w[i] = bf16_val(wb[i]); }
    int bad = 0;
    for (int sp = 0; sp < 3; sp++) {
        mrl_backend *be = cpu_open(simds[sp], 2);
        if (!be) { bad++; continue; }
        void *work = malloc(op_logprob_work(be, TM, C, VM));
        for (int bf = 0; bf < 2; bf++)
            for (size_t a = 0; a < sizeof Vs / sizeof *Vs; a++)
                for (size_t k = 0; k < sizeof Ts / sizeof *Ts; k++) {
                    int V = Vs[a], T = Ts[k];
                    mrl_dtype wd = bf ? MRL_BF16 : MRL_F32;
                    const void *wp = bf ? (const void *)wb : (const void *)w;
                    for (int t = 0; t < T; t++) tg[t] = t % 5 == 4 ? -1 : (int32_t)((t * 7919u) % (unsigned)V);
                    for (int i = 0; i < T * V; i++) lg[i] = NAN;
                    op_logits(be, lg, x, wp, wd, T, C, V);
                    op_logprob_fwd(be, logp, lse, x, wp, wd, tg, T, C, V, 1 / 0.7f, work);
                    for (int t = 0; t < T; t++) {
                        double m = -INFINITY, se = 0;
                        for (int v = 0; v < V; v++) {
                            double r = 0, mg = 0;
                            for (int i = 0; i < C; i++) { double p = (double)x[t * C + i] * w[v * C + i]; r += p; mg += fabs(p); }
                            if (!(fabs(lg[(size_t)t * V + v] - r) <= (C + 2) * 0x1p-23 * mg + 1e-30) && bad++ < 5)
                                printf("  %s %s T %d V %d: logits[%d][%d] = %.9g, float64 %.9g\n", simds[sp] ? simds[sp] : "default",
                                       bf ? "bf16" : "fp32", T, V, t, v, lg[(size_t)t * V + v], r);
                            z[v] = r * (double)(1 / 0.7f);
                            if (z[v] > m) m = z[v];
                        }
                        for (int v = 0; v < V; v++) se += exp(z[v] - m);
                        double l = m + log(se), want = tg[t] < 0 ? 0 : z[tg[t]] - l, wl = tg[t] < 0 ? 0 : l;
                        if (!(fabs(logp[t] - want) <= 1e-4 * (1 + fabs(want)) && fabs(lse[t] - wl) <= 1e-4 * (1 + fabs(wl))) && bad++ < 5)
                            printf("  %s %s T %d V %d: row %d logp %.7g lse %.7g, float64 %.7g %.7g\n", simds[sp] ? simds[sp] : "default",
                                   bf ? "bf16" : "fp32", T, V, t, logp[t], lse[t], want, wl);
                    }
                }
        free(work);
        be_close(be);
    }
    EXPECTF(!bad, "%d head outputs off the float64 values", bad);
    free(x); free(w); free(lg); free(wb); free(z);
}

/* Dispatch: a path this CPU lacks is never selected, whatever the environment asks for
 * (MRL_CPU_SIMD only lowers the level, MRL_CPU_BF16_DOT=1 needs AVX512_BF16, AMX needs
 * AMX-BF16, MRL_CPU_BF16_FMA=1 the bf16 GEMM without AMX), and op_pack_weight packs nothing where its GEMM does not run. */
TEST(dispatch_never_selects_missing_isa) {
    int has512 = CPU_HAS("avx512f"), hasbf = CPU_HAS("avx512bf16");
    int has2 = CPU_HAS("avx2") && CPU_HAS("fma");
    setenv("MRL_CPU_BF16_DOT", "1", 1);
    setenv("MRL_CPU_BF16_FMA", "1", 1);   /* only with the bf16 GEMM, and never with AMX */
    static const char *simds[] = {NULL, "avx512", "avx2", "none", "bogus"};
    for (int sp = 0; sp < 5; sp++) {
        mrl_backend *be = cpu_open(simds[sp], 1);
        if (!be) { EXPECT(0); continue; }
        cpu_state *st = cpu_st(be);
        EXPECTF(st->simd <= (has512 ? CPU_SIMD_AVX512 : has2 ? CPU_SIMD_AVX2 : CPU_SIMD_NONE), "MRL_CPU_SIMD=%s: simd %d",
                simds[sp] ? simds[sp] : "(unset)", st->simd);
        if (simds[sp] && !strcmp(simds[sp], "none")) EXPECT(st->simd == CPU_SIMD_NONE);
        if (simds[sp] && !strcmp(simds[sp], "avx2")) EXPECT(st->simd <= CPU_SIMD_AVX2);
        if (!hasbf) EXPECTF(st->bf16dot < 0 && st->amx == 0, "no AVX512_BF16, yet bf16dot %d amx %d", st->bf16dot, st->amx);
        EXPECTF(!st->bf16fma || (st->bf16dot >= 0 && !st->amx), "bf16fma %d with bf16dot %d amx %d", st->bf16fma, st->bf16dot, st->amx);
        if (!has512) {
            EXPECT(!cpu_f32p_supported(be));
            EXPECT(op_pack_weight(be, NULL, NULL, MRL_F32, 64, 64) == 0);
        }
        if (!hasbf) EXPECT(op_pack_weight(be, NULL, NULL, MRL_BF16, 64, 64) == 0);
        be_close(be);
    }
    unsetenv("MRL_CPU_BF16_DOT");
    unsetenv("MRL_CPU_BF16_FMA");
}

/* cpu_mm_xwT with row strides past the widths (ldx > IN, ldo > OUT) and beta 0, 1 and 0.5:
 * each output beta out + x W^T, the gaps between rows never written. */
TEST(mm_xwT_strides_and_beta) {
    static const int Ts[] = {1, 4, 13, 64, 65, 129, 257};
    static const char *simds[] = {NULL, "avx2", "none"};
    static const float betas[] = {0.0f, 1.0f, 0.5f};
    enum { TM = 257, IN = 19, OUT = 70, LDX = 24, LDO = 75 };
    float *x = malloc(sizeof(float) * TM * LDX), *w = malloc(sizeof(float) * OUT * IN), *o = malloc(sizeof(float) * TM * LDO);
    float *init = malloc(sizeof(float) * TM * LDO);
    uint16_t *wb = malloc(sizeof(uint16_t) * OUT * IN);
    uint64_t s = 17;
    for (int i = 0; i < TM * LDX; i++) x[i] = i % LDX < IN ? urand(&s) : NAN;   /* the gaps poison any read */
    for (int i = 0; i < TM * LDO; i++) init[i] = urand(&s);
    for (int i = 0; i < OUT * IN; i++) { wb[i] = bf16_of(urand(&s)); w[i] = bf16_val(wb[i]); }
    int bad = 0;
    for (int sp = 0; sp < 3; sp++) {
        mrl_backend *be = cpu_open(simds[sp], 2);
        if (!be) { bad++; continue; }
        for (int bf = 0; bf < 2; bf++)
            for (int bi = 0; bi < 3; bi++)
                for (size_t k = 0; k < sizeof Ts / sizeof *Ts; k++) {
                    int T = Ts[k];
                    float beta = betas[bi];
                    memcpy(o, init, sizeof(float) * TM * LDO);
                    cpu_mm_xwT(be, o, LDO, beta, x, LDX, T, IN, bf ? (const void *)wb : (const void *)w, bf ? MRL_BF16 : MRL_F32, OUT);
                    for (int t = 0; t < TM; t++)
                        for (int j = 0; j < LDO; j++) {
                            float got = o[t * LDO + j];
                            int ok;
                            if (t >= T || j >= OUT) ok = !memcmp(&got, &init[t * LDO + j], 4);
                            else {
                                double r = (double)beta * init[t * LDO + j], m = fabs(r);
                                for (int i = 0; i < IN; i++) { double p = (double)x[t * LDX + i] * w[j * IN + i]; r += p; m += fabs(p); }
                                ok = fabs(got - r) <= (IN + 3) * 0x1p-23 * m + 1e-30;
                            }
                            if (!ok && bad++ < 5)
                                printf("  %s %s beta %g T %d: out[%d][%d] = %.9g\n", simds[sp] ? simds[sp] : "default", bf ? "bf16" : "fp32",
                                       beta, T, t, j, got);
                        }
                }
        be_close(be);
    }
    EXPECTF(!bad, "%d outputs wrong with row strides", bad);
    free(x); free(w); free(o); free(init); free(wb);
}

int main(void) {
    setenv("MRL_THREADS_ADAPT", "0", 1);   /* 2 threads means two, however busy the machine */
    RUN(linear_fwd_matches_float64);
    RUN(linear_bwd_matches_float64);
    RUN(streaming_rows_independent_of_row_count);
    RUN(nonfinite_inputs_propagate);
    RUN(head_matches_float64);
    RUN(mm_xwT_strides_and_beta);
    RUN(dispatch_never_selects_missing_isa);
    return tst_done();
}
