/* test_ops.c — the CPU backend's ops: every backward of the table in ops_cases.h against
 * central finite differences, bf16 weights against fp32 ones, the SIMD fallbacks against each
 * other, paged attention against packed attention, and AdamW against its formula. */
#include "../test.h"
#include "ops_cases.h"
#include "cpu/cpu.h"
#include <fenv.h>
#include <float.h>
#include <jv.h>
#include <dlfcn.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static mrl_backend *cpu_open(const char *simd) {
    if (simd) setenv("MRL_CPU_SIMD", simd, 1); else unsetenv("MRL_CPU_SIMD");
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", 0, &e);
    unsetenv("MRL_CPU_SIMD");
    if (!be) fprintf(stdout, "  be_open: %s\n", e.msg);
    return be;
}

/* The analytic gradient of L = sum(r * out) vs (L(x+h) - L(x-h)) / 2h at a few elements. */
static int fd_check(const tc_case *k) {
    mrl_backend *be = cpu_open(NULL);
    tc_ctx c; tc_init(&c, be, k, MRL_F32);
    float *vals[TC_MAXT], *grads[TC_MAXT];
    tc_run(&c, k, vals, grads);
    int bad = 0;
    for (int i = 0; i < c.nt; i++) {
        tc_tensor *t = &c.t[i];
        if (t->role != R_IN && t->role != R_W) continue;
        float gmax = 0;
        for (size_t j = 0; j < t->n; j++) gmax = fmaxf(gmax, fabsf(grads[i][j]));
        for (int s = 0; s < 10; s++) {
            size_t j = s == 0 ? 0 : (size_t)((uint64_t)s * 2654435761u % t->n);
            /* h: the rounding of the fp32 outputs in L costs ~ulp(L) / h and the truncation ~h^2.
               logprob_t07_T300 (300 tokens over 4100 words, a weight row's gradient ~3e-4) at
               1e-2 was at its tolerance's edge, failing on OpenBLAS's Zen kernel (1.09 x tol;
               the AVX-512 tiles sum in another order and passed); at 3e-2 the worst element of
               every case is 0.28 x tol (swiglu's truncation), logprob's noise 0.26 x. */
            float x0 = t->h[j], h = 3e-2f * fmaxf(1.0f, fabsf(x0));
            t->h[j] = x0 + h; tc_upload(&c); k->fwd(&c); double lp = tc_loss(&c);
            t->h[j] = x0 - h; tc_upload(&c); k->fwd(&c); double lm = tc_loss(&c);
            t->h[j] = x0;
            double fd = (lp - lm) / (2.0 * h), an = grads[i][j];
            double tol = 2e-3 * fmax(fabs(an), 0.05 * gmax) + 2e-4;
            if (!(fabs(fd - an) <= tol)) {
                if (bad < 5) printf("  %s: d%s[%zu] analytic %.6g, finite difference %.6g\n", k->name, t->name, j, an, fd);
                bad++;
            }
        }
    }
    for (int i = 0; i < c.nt; i++) { free(vals[i]); free(grads[i]); }
    tc_free(&c);
    be_close(be);
    return bad;
}

TEST(backward_matches_finite_differences) {
    for (int k = 0; k < TC_NCASES; k++) {
        if (!tc_cases[k].bwd) continue;
        int bad = fd_check(&tc_cases[k]);
        EXPECTF(bad == 0, "%s: %d gradient elements off", tc_cases[k].name, bad);
    }
}

/* Compares every output and gradient of case k between two runs. */
static double run_diff(const tc_case *k, mrl_backend *a, mrl_dtype wa, mrl_backend *b, mrl_dtype wb, int round_w) {
    tc_ctx ca, cb;
    tc_init(&ca, a, k, wa); tc_init(&cb, b, k, wb);
    if (round_w)   /* the fp32 run gets the weights the bf16 run sees */
        for (int i = 0; i < ca.nt; i++) if (ca.t[i].role == R_W) {
            for (size_t j = 0; j < ca.t[i].n; j++) {
                uint32_t u; memcpy(&u, &ca.t[i].h[j], 4); u += 0x7fffu + ((u >> 16) & 1u); u &= 0xffff0000u;
                memcpy(&ca.t[i].h[j], &u, 4);
            }
        }
    tc_upload(&ca);
    float *va[TC_MAXT], *ga[TC_MAXT], *vb[TC_MAXT], *gb[TC_MAXT];
    tc_run(&ca, k, va, ga); tc_run(&cb, k, vb, gb);
    double worst = 0;
    for (int i = 0; i < ca.nt; i++) {
        if (ca.t[i].role == R_INT || (ca.t[i].role == R_W && !k->bwd)) goto next;
        for (size_t j = 0; j < ca.t[i].n; j++) {
            if (ca.t[i].role != R_W) worst = tst_worst(worst, fabs(va[i][j] - vb[i][j]) / fmax(1.0, fabs(va[i][j])));
            worst = tst_worst(worst, fabs(ga[i][j] - gb[i][j]) / fmax(1.0, fabs(ga[i][j])));
        }
    next:
        free(va[i]); free(ga[i]); free(vb[i]); free(gb[i]);
    }
    tc_free(&ca); tc_free(&cb);
    return worst;
}

TEST(bf16_weights_match_fp32_weights) {
    mrl_backend *be = cpu_open(NULL);
    for (int k = 0; k < TC_NCASES; k++) {
        double d = run_diff(&tc_cases[k], be, MRL_F32, be, MRL_BF16, 1);
        EXPECTF(d < 1e-4, "%s: bf16 weights differ from the same weights in fp32 by %g", tc_cases[k].name, d);
    }
    be_close(be);
}

TEST(simd_paths_agree) {
    mrl_backend *def = cpu_open(NULL), *none = cpu_open("none"), *avx2 = cpu_open("avx2");
    for (int k = 0; k < TC_NCASES; k++)
        for (int bf = 0; bf < 2; bf++) {
            mrl_dtype w = bf ? MRL_BF16 : MRL_F32;
            double d1 = run_diff(&tc_cases[k], def, w, none, w, 0), d2 = run_diff(&tc_cases[k], def, w, avx2, w, 0);
            EXPECTF(d1 < 1e-5 && d2 < 1e-5, "%s (%s): portable %g, avx2 %g", tc_cases[k].name, bf ? "bf16" : "fp32", d1, d2);
        }
    be_close(def); be_close(none); be_close(avx2);
}

/* SwiGLU and its gradient over gates from -ln(FLT_MAX) (where e^-g is the largest float) to
 * 100, on every SIMD path, against double: e^-g near its overflow once came out inf on the
 * AVX2 path (2^128 built in the exponent field), silu(-88.5) -0 instead of -3.3e-37. */
TEST(swiglu_whole_range) {
    enum { F = 203 };
    static float gu[2 * F], dy[F], out[F], dgu[2 * F];
    double ro[F], rdg[F], rdu[F];
    for (int i = 0; i < F; i++) {
        gu[i] = i < 40 ? -88.72f + 0.01f * i : -88.72f + (188.72f * i) / (F - 1);
        gu[F + i] = 1.0f + 0.002f * i; dy[i] = 0.5f - 0.003f * i;
        double g = gu[i], u = gu[F + i], s = 1.0 / (1.0 + exp(-g));
        ro[i] = g * u * s; rdg[i] = dy[i] * u * s * (1.0 + g * (1.0 - s)); rdu[i] = dy[i] * g * s;
    }
    const char *paths[] = {"none", "avx2", NULL};
    for (int p = 0; p < 3; p++) {
        mrl_backend *be = cpu_open(paths[p]);
        op_swiglu_fwd(be, out, gu, 1, F); op_swiglu_bwd(be, dgu, dy, gu, 1, F);
        int bad = 0;
        for (int i = 0; i < F && bad < 3; i++) {
            double v[3] = {out[i], dgu[i], dgu[F + i]}, r[3] = {ro[i], rdg[i], rdu[i]};
            for (int j = 0; j < 3; j++)   /* 1e-44: a few float denormal steps (s ~ 4e-39 at g = -88.7) */
                if (!(fabs(v[j] - r[j]) <= 4e-6 * fabs(r[j]) + 1e-44)) {
                    EXPECTF(0, "%s: g = %.9g: %s %.9g, double %.9g", paths[p] ? paths[p] : "default", gu[i],
                            j == 0 ? "out" : j == 1 ? "dg" : "du", v[j], r[j]);
                    bad++;
                }
        }
        be_close(be);
    }
}

/* The log-prob's logsumexp runs online over vocabulary chunks of 4096: a row whose whole first
 * chunk is -inf (products that overflow: x = -3e38 against weights of 10) and whose later
 * words are finite has the logsumexp of those words, as it would without the chunks. The fold
 * shifted by the running max, -inf, and e^(-inf - -inf) made the row NaN. A chunk of +inf
 * logits and NaN logits still give NaN. */
TEST(logprob_infinite_chunk) {
    enum { C = 2, V = 4096 + 37, T = 3 };
    static float w[V * C];
    float x[T * C] = {-3e38f, 1.0f, 1e38f, -1.0f, NAN, 0.25f}, logp[T], lse[T];   /* row 2: NaN logits */
    int32_t tg[T] = {V - 2, 5, V - 1};
    for (int v = 0; v < V; v++) { w[v * C] = v < 4096 ? 10.0f : 0.0f; w[v * C + 1] = 0.05f * (v % 11) - 0.2f; }
    double s = 0;
    for (int v = 4096; v < V; v++) s += exp((double)(0.05f * (v % 11) - 0.2f));
    const char *simds[] = {NULL, "none"};
    for (int p = 0; p < 2; p++) {
        mrl_backend *be = cpu_open(simds[p]);
        void *work = malloc(op_logprob_work(be, T, C, V));
        op_logprob_fwd(be, logp, lse, x, w, MRL_F32, tg, T, C, V, 1.0f, work);
        EXPECTF(fabs(lse[0] - log(s)) < 1e-5 && fabs(logp[0] - ((0.05f * ((V - 2) % 11) - 0.2f) - log(s))) < 1e-5,
                "%s: a first chunk of -inf logits: lse %g, logp %g (expected %g, %g)", simds[p] ? simds[p] : "default",
                lse[0], logp[0], log(s), (0.05f * ((V - 2) % 11) - 0.2f) - log(s));
        EXPECTF(isnan(logp[1]), "a chunk of +inf logits: logp %g, not NaN", logp[1]);
        EXPECTF(isnan(logp[2]) && isnan(lse[2]), "a NaN logit: logp %g lse %g, not NaN", logp[2], lse[2]);
        free(work);
        be_close(be);
    }
}

/* RMSNorm on rows of zeros (r = eps^-1/2, out 0), of values near 1e18 (their squares sum past
 * FLT_MAX: the sum runs in double) and of 1e-30 (eps dominates), forward and backward against
 * double (the backward's k = sum(w dy x) r^3 / C is a float, denormal for x near 1e18: its
 * rounding costs up to |x| 2^-150 in dx; torch's float r^3 there is 0); RoPE at positions up to 32768 with theta 1e4 and 1e6 against double on the angle
 * Hugging Face rounds (fp32 inv_freq times fp32 position), and its inverse undoing it. */
TEST(rmsnorm_rope_extremes) {
    enum { C = 1536, T = 3 };
    static float x[T * C], w[C], y[T * C], dy[T * C], dx[T * C], dw[C];
    float r[T];
    for (int i = 0; i < C; i++) {
        w[i] = 0.5f + (i % 7) * 0.25f; x[i] = 0;
        x[C + i] = (i % 2 ? 1e18f : -0.7e18f) * (1 + (i % 5)); x[2 * C + i] = 1e-30f * (i % 3);
        for (int t = 0; t < T; t++) dy[t * C + i] = 0.01f * (i % 13) - 0.06f;
    }
    mrl_backend *be = cpu_open(NULL);
    op_rmsnorm_fwd(be, y, r, x, w, MRL_F32, T, C, 1e-6f);
    op_rmsnorm_bwd(be, dx, 0, dw, dy, x, w, MRL_F32, r, T, C);
    double rdw[C] = {0};
    for (int t = 0; t < T; t++) {
        const float *xr = x + t * C;
        double ss = 0, k = 0;
        for (int i = 0; i < C; i++) ss += (double)xr[i] * xr[i];
        double rr = 1.0 / sqrt(ss / C + 1e-6);
        EXPECTF(fabs(r[t] - rr) <= 1e-6 * rr, "row %d: rstd %g, double %g", t, r[t], rr);
        for (int i = 0; i < C; i++) k += (double)w[i] * dy[t * C + i] * xr[i];
        k *= rr * rr * rr / C;
        int bad = 0;
        for (int i = 0; i < C; i++) {
            double yo = xr[i] * rr * w[i], g = rr * w[i] * dy[t * C + i] - xr[i] * k;
            rdw[i] += (double)dy[t * C + i] * xr[i] * rr;
            if (!(fabs(y[t * C + i] - yo) <= 1e-6 * fabs(yo) + 1e-37) || !(fabs(dx[t * C + i] - g) <= 1e-5 * (fabs(rr * w[i] * dy[t * C + i]) + fabs(xr[i] * k)) + fabs(xr[i]) * 1e-45 + 1e-37))
                if (bad++ < 2) EXPECTF(0, "row %d col %d: y %g (double %g), dx %g (double %g)", t, i, y[t * C + i], yo, dx[t * C + i], g);
        }
    }
    for (int i = 0; i < C; i++) EXPECTF(fabs(dw[i] - rdw[i]) <= 1e-5 * (fabs(rdw[i]) + 1e-3), "dw[%d] %g, double %g", i, dw[i], rdw[i]);

    enum { RT = 7, RH = 2 };
    static const int32_t pos[RT] = {0, 1, 4095, 8191, 16384, 32767, 32768};
    static const int dims[2] = {64, 128};
    static const float thetas[2] = {1e4f, 1e6f};
    for (int c = 0; c < 2; c++) {
        int D = dims[c], st = RH * D + 3;
        float theta = thetas[c], *q = malloc(sizeof(float) * RT * st), *q0 = malloc(sizeof(float) * RT * st);
        uint64_t rg = 5;
        for (int i = 0; i < RT * st; i++) { rg = rg * 6364136223846793005ULL + 1; q[i] = q0[i] = (float)((rg >> 40) * (1.0 / 8388608.0)) - 1.0f; }
        op_rope(be, q, RT, RH, D, st, pos, theta, 0);
        double worst = 0, back = 0;
        for (int t = 0; t < RT; t++)
            for (int h = 0; h < RH; h++)
                for (int i = 0; i < D / 2; i++) {
                    float invf = 1.0f / powf(theta, (float)(2 * i) / (float)D);
                    double a = (double)((float)pos[t] * invf), cs = cos(a), sn = sin(a);
                    const float *p0 = q0 + t * st + h * D, *p = q + t * st + h * D;
                    worst = tst_worst(worst, fabs(p[i] - (p0[i] * cs - p0[i + D / 2] * sn)));
                    worst = tst_worst(worst, fabs(p[i + D / 2] - (p0[i + D / 2] * cs + p0[i] * sn)));
                }
        for (int t = 0; t < RT; t++) for (int j = RH * D; j < st; j++) EXPECT(q[t * st + j] == q0[t * st + j]);   /* past the heads: untouched */
        op_rope(be, q, RT, RH, D, st, pos, theta, 1);
        for (int i = 0; i < RT * st; i++) back = tst_worst(back, fabs(q[i] - q0[i]));
        EXPECTF(worst < 3e-7 && back < 3e-7, "rope D %d theta %g: %g off double, inverse %g off the input", D, theta, worst, back);
        free(q); free(q0);
    }
    be_close(be);
}

/* The CPU backend keeps the last rotary table (cos | sin per position) and reuses it while the
 * positions, head size and base are the same: every call here, on one backend in this order,
 * must equal the same call on a fresh backend bit for bit (a table made for other positions,
 * another D or theta, or of another length, must not be reused), and a call too large for a
 * table (computed row by row) must equal the rows a table gives. */
TEST(rope_table_follows_its_inputs) {
    enum { T = 5, H = 3 };
    int32_t pos[T] = {0, 7, 300, 4095, 12};
    struct { int T, D; float theta; int32_t p0; int inverse; } calls[] = {
        {T, 64, 1e4f, 0, 0}, {T, 64, 1e4f, 0, 1}, {T, 64, 1e4f, 1, 0},   /* same, inverse, positions moved by one */
        {T, 128, 1e4f, 1, 0}, {T, 128, 1e6f, 1, 0}, {3, 128, 1e6f, 1, 0}, {T, 128, 1e6f, 1, 1},
    };
    mrl_backend *be = cpu_open(NULL);
    uint64_t rg = 11;
    for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
        int D = calls[c].D, st = H * D, n = calls[c].T;
        int32_t p[T];
        for (int t = 0; t < T; t++) p[t] = pos[t] + calls[c].p0;
        float *a = malloc(sizeof(float) * T * st), *b = malloc(sizeof(float) * T * st);
        for (int i = 0; i < T * st; i++) { rg = rg * 6364136223846793005ULL + 1; a[i] = b[i] = (float)((rg >> 40) * (1.0 / 8388608.0)) - 1.0f; }
        op_rope(be, a, n, H, D, st, p, calls[c].theta, calls[c].inverse);
        mrl_backend *fresh = cpu_open(NULL);
        op_rope(fresh, b, n, H, D, st, p, calls[c].theta, calls[c].inverse);
        be_close(fresh);
        EXPECTF(!memcmp(a, b, sizeof(float) * T * st), "call %zu (T %d D %d theta %g shift %d inverse %d): not the fresh backend's bits",
                c, n, D, calls[c].theta, calls[c].p0, calls[c].inverse);
        free(a); free(b);
    }
    /* 32769 rows of D 128: past the table's 16 MB; its rows equal a small call's with a table */
    enum { BT = 32769, BD = 128 };
    int32_t *bp = malloc(sizeof(int32_t) * BT);
    float *big = malloc(sizeof(float) * (size_t)BT * BD), *sm = malloc(sizeof(float) * 4 * BD);
    for (int t = 0; t < BT; t++) bp[t] = t;
    for (size_t i = 0; i < (size_t)BT * BD; i++) big[i] = 0.25f + (float)(i % 97) * 0.01f;
    op_rope(be, big, BT, 1, BD, BD, bp, 1e4f, 0);
    int32_t sp[4] = {0, 1, 20000, 32768};
    for (int r = 0; r < 4; r++)
        for (int i = 0; i < BD; i++) sm[r * BD + i] = 0.25f + (float)(((size_t)sp[r] * BD + i) % 97) * 0.01f;
    op_rope(be, sm, 4, 1, BD, BD, sp, 1e4f, 0);
    for (int r = 0; r < 4; r++)
        EXPECTF(!memcmp(sm + r * BD, big + (size_t)sp[r] * BD, sizeof(float) * BD), "position %d: the row-by-row call differs from the table's", sp[r]);
    free(bp); free(big); free(sm);
    be_close(be);
}

/* a[0..n) uniform in [-1, 1) from the LCG state *r (the inputs of the tests below). */
static void fill_uniform(float *a, size_t n, uint64_t *r) {
    for (size_t i = 0; i < n; i++) { *r = *r * 6364136223846793005ULL + 1; a[i] = (float)((*r >> 40) * (1.0 / 8388608.0)) - 1.0f; }
}

/* Larger shapes than the finite-difference table: enough work that every op really splits
 * across threads (pointwise ops stay on one thread below 32 K elements). */
static const tc_case big_cases[] = {
    {"embedding_big",    {300, 256, 50},            su_embedding, fw_embedding, bw_embedding},
    {"rmsnorm_big",      {200, 384},                su_rmsnorm,   fw_rmsnorm,   bw_rmsnorm},
    {"linear_T5_big",    {5, 384, 1000, 1},         su_linear,    fw_linear,    bw_linear},
    {"linear_T40_big",   {40, 384, 1000, 1},        su_linear,    fw_linear,    bw_linear},
    {"linear_T97_big",   {97, 200, 1531, 0},        su_linear,    fw_linear,    bw_linear},
    {"linear_T300_big",  {300, 1100, 300, 1},       su_linear,    fw_linear,    bw_linear},   /* 3 row blocks, 2 dW column tiles */
    {"linear_T1100_kv",  {1100, 300, 64, 0},        su_linear,    fw_linear,    bw_linear},   /* dW: 2 chunks of packed g^T, columns split by the thread count */
    {"rope_big",         {200, 6, 64, 384},         su_rope,      fw_rope,      bw_rope},
    {"attention_big",    {3, 4, 2, 32, 150, 70, 9}, su_attention, fw_attention, bw_attention},
    {"attention_one_seq_big", {1, 2, 1, 32, 300},   su_attention, fw_attention, bw_attention},   /* runs of query blocks split by the thread count */
    {"attention_d128_big", {1, 4, 2, 128, 200},     su_attention, fw_attention, bw_attention},   /* the 1.5B model's head size: two panels */
    {"swiglu_big",       {100, 512},                su_swiglu,    fw_swiglu,    bw_swiglu},
    {"add_big",          {100003},                  su_add,       fw_add,       bw_add},
    {"logprob_big",      {300, 64, 9000, 100},      su_logprob,   fw_logprob,   bw_logprob},
    {"logits_big",       {33, 64, 5000},            su_logits,    fw_logits,    NULL},
};

/* Every output and gradient of case k as bytes, run on a backend with `threads` threads. */
static int same_bytes(const tc_case *k, mrl_dtype w, int threads) {
    mrl_err e = {0};
    mrl_backend *b1 = be_open("cpu", 1, &e), *bn = be_open("cpu", threads, &e);
    if (!b1 || !bn) { printf("  be_open: %s\n", e.msg); return 0; }
    tc_ctx ca, cb;
    tc_init(&ca, b1, k, w); tc_init(&cb, bn, k, w);
    float *va[TC_MAXT], *ga[TC_MAXT], *vb[TC_MAXT], *gb[TC_MAXT];
    tc_run(&ca, k, va, ga); tc_run(&cb, k, vb, gb);
    int same = 1;
    for (int i = 0; i < ca.nt; i++) {
        size_t n = ca.t[i].n * sizeof(float);
        if (memcmp(va[i], vb[i], n) || memcmp(ga[i], gb[i], n)) {
            printf("  %s (%s): %s differs between 1 and %d threads\n", k->name, w == MRL_BF16 ? "bf16" : "fp32",
                   ca.t[i].name, threads);
            same = 0;
        }
        free(va[i]); free(ga[i]); free(vb[i]); free(gb[i]);
    }
    tc_free(&ca); tc_free(&cb);
    be_close(b1); be_close(bn);
    return same;
}

/* The CPU backend's threaded copy and zeroing (1 MB and more, in 4 KB-aligned pieces): every
 * byte, none outside, for sizes whose n / threads is a whole number of 4 KB pieces with a
 * remainder (the pieces must still reach the end), and overlapping copies as memmove. */
TEST(copy_memset0_whole_range) {
    mrl_backend *be = cpu_open(NULL);
    int saved = be->threads;
    static const size_t sizes[] = {(1u << 20) + 1, (1u << 20) + 3, 3 * 4096 * 86 + 2, 5 * 4096 * 52 + 4, 8 * 4096 * 33 + 4, 3000001};
    static const int ths[] = {1, 2, 3, 4, 5, 8, 64};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
        for (size_t ti = 0; ti < sizeof ths / sizeof *ths; ti++) {
            size_t n = sizes[si], bad = 0;
            be->threads = ths[ti];
            unsigned char *src = malloc(n + 64), *dst = malloc(n + 64);
            for (size_t i = 0; i < n + 64; i++) src[i] = (unsigned char)(i * 131 + 7), dst[i] = 0xAA;
            be_copy(be, dst + 32, src + 32, n);
            for (size_t i = 0; i < n + 64; i++) bad += dst[i] != (i < 32 || i >= n + 32 ? 0xAA : src[i]);
            memset(dst, 0x55, n + 64);
            be_memset0(be, dst + 32, n);
            for (size_t i = 0; i < n + 64; i++) bad += dst[i] != (i < 32 || i >= n + 32 ? 0x55 : 0);
            memcpy(dst, src, n + 64);
            be_copy(be, dst + 17, dst, n);   /* overlapping */
            for (size_t i = 0; i < n; i++) bad += dst[17 + i] != src[i];
            EXPECTF(bad == 0, "%zu bytes on %d threads: %zu bytes wrong", n, ths[ti], bad);
            free(src); free(dst);
        }
    be->threads = saved;
    be_close(be);
}

/* SPEC: the result does not depend on the thread count -- bit for bit, not within a tolerance. */
TEST(thread_count_changes_no_bit) {
    for (int threads = 2; threads <= 3; threads++)
        for (int bf = 0; bf < 2; bf++) {
            mrl_dtype w = bf ? MRL_BF16 : MRL_F32;
            for (int k = 0; k < TC_NCASES; k++) EXPECT(same_bytes(&tc_cases[k], w, threads));
            for (int k = 0; k < (int)(sizeof big_cases / sizeof big_cases[0]); k++) EXPECT(same_bytes(&big_cases[k], w, threads));
        }
    /* the optimizer-side reductions */
    size_t n = 3000017;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u) % 1000003) * 1e-3f - 500.0f;
    mrl_err e = {0};
    double ref = 0;
    for (int threads = 1; threads <= 3; threads++) {
        mrl_backend *be = be_open("cpu", threads, &e);
        double s = op_sumsq(be, x, n);
        if (threads == 1) ref = s;
        else EXPECTF(memcmp(&s, &ref, sizeof s) == 0, "sumsq: %.17g with %d threads, %.17g with 1", s, threads, ref);
        be_close(be);
    }
    free(x);
}

/* The attention backward split into key-block and query-block tasks (taken where there are
 * fewer (sequence, KV head) pairs than threads) gives the bits of the one-pass loop:
 * MRL_CPU_ATTN_SPLIT=1 against =0 on every attention case, GQA groups 1-3, D 16-64, key
 * blocks cut mid-sequence (BK = 96) and sequences shorter than one. */
static int split_same_bytes(const tc_case *k, mrl_dtype w) {
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", 2, &e);
    if (!be) { printf("  be_open: %s\n", e.msg); return 0; }
    tc_ctx ca, cb;
    float *va[TC_MAXT], *ga[TC_MAXT], *vb[TC_MAXT], *gb[TC_MAXT];
    setenv("MRL_CPU_ATTN_SPLIT", "0", 1);
    tc_init(&ca, be, k, w); tc_run(&ca, k, va, ga);
    setenv("MRL_CPU_ATTN_SPLIT", "1", 1);
    tc_init(&cb, be, k, w); tc_run(&cb, k, vb, gb);
    unsetenv("MRL_CPU_ATTN_SPLIT");
    int same = 1;
    for (int i = 0; i < ca.nt; i++) {
        size_t n = ca.t[i].n * sizeof(float);
        if (memcmp(va[i], vb[i], n) || memcmp(ga[i], gb[i], n)) {
            printf("  %s (%s): %s differs between the one-pass and the split backward\n", k->name, w == MRL_BF16 ? "bf16" : "fp32", ca.t[i].name);
            same = 0;
        }
        free(va[i]); free(ga[i]); free(vb[i]); free(gb[i]);
    }
    tc_free(&ca); tc_free(&cb);
    be_close(be);
    return same;
}
TEST(attention_split_backward_same_bits) {
    static const tc_case more[] = {
        {"attention_split_gqa3_d64", {2, 6, 2, 64, 400, 97}, su_attention, fw_attention, bw_attention},
        {"attention_split_d16_short", {3, 2, 1, 16, 5, 96, 193}, su_attention, fw_attention, bw_attention},
    };
    int n = 0;
    for (int bf = 0; bf < 2; bf++) {
        mrl_dtype w = bf ? MRL_BF16 : MRL_F32;
        for (int k = 0; k < TC_NCASES; k++)
            if (!strncmp(tc_cases[k].name, "attention", 9)) { EXPECT(split_same_bytes(&tc_cases[k], w)); n++; }
        for (int k = 0; k < (int)(sizeof big_cases / sizeof big_cases[0]); k++)
            if (!strncmp(big_cases[k].name, "attention", 9)) { EXPECT(split_same_bytes(&big_cases[k], w)); n++; }
        for (int k = 0; k < 2; k++) { EXPECT(split_same_bytes(&more[k], w)); n++; }
    }
    EXPECT(n >= 12);
}

/* x rounded to bf16 (cpu_bf16_rne) where bf, as a double. */
static double rb(double x, int bf) {
    if (!bf) return x;
    uint32_t u = (uint32_t)cpu_bf16_rne((float)x) << 16;
    float f; memcpy(&f, &u, 4); return f;
}

/* Causal GQA attention in float64 over the packed sequences cu[0..nseq] (the layout of
 * su_attention: one fused qkv row of st floats): out [T, H*D], and dqkv [T, st] (dq, dk, dv
 * for the loss sum(dout o out)). bf: with the roundings of the AMX path (attention_amx.c): Q
 * scale, K, V, dO (also in rowsum(dO o O)), P (normalised in the forward, exp(s - lse) in the
 * backward) and dS rounded to bf16, and Q unscaled for dK; the products, softmax and dS in
 * float64 either way. */
static void attention_f64(int nseq, const int *cu, int H, int K, int D, const float *qkv, int st, const float *dout,
                             double *out, double *dqkv, int bf) {
    int grp = H / K, T = cu[nseq];
    double sc = 1.0 / sqrt((double)D);
    float scf = 1.0f / sqrtf((float)D);
    double *p = malloc(sizeof(double) * T), *dp = malloc(sizeof(double) * T), *lse = malloc(sizeof(double) * T * H);
    memset(dqkv, 0, sizeof(double) * T * st);
    for (int pass = 0; pass < 2; pass++)   /* 0: out and lse, 1: the gradients */
        for (int s = 0; s < nseq; s++)
            for (int h = 0; h < H; h++)
                for (int i = cu[s]; i < cu[s + 1]; i++) {
                    const float *q = qkv + (size_t)i * st + h * D, *dO = dout + (size_t)i * H * D + h * D;
                    int n = i - cu[s] + 1, g = h / grp;
                    double mx = -INFINITY, sum = 0, di = 0;
                    for (int j = 0; j < n; j++) {
                        const float *k = qkv + (size_t)(cu[s] + j) * st + (H + g) * D;
                        double d = 0;
                        for (int x = 0; x < D; x++) d += bf ? rb(q[x] * scf, 1) * rb(k[x], 1) : (double)q[x] * k[x] * sc;
                        p[j] = d; mx = fmax(mx, d);
                    }
                    for (int j = 0; j < n; j++) sum += exp(p[j] - mx);
                    double *o = out + (size_t)i * H * D + h * D;
                    if (pass == 0) {
                        lse[(size_t)i * H + h] = mx + log(sum);
                        for (int x = 0; x < D; x++) o[x] = 0;
                        for (int j = 0; j < n; j++) {
                            const float *v = qkv + (size_t)(cu[s] + j) * st + (H + K + g) * D;
                            double pj = rb(exp(p[j] - mx) / sum, bf);
                            for (int x = 0; x < D; x++) o[x] += pj * rb(v[x], bf);
                        }
                        continue;
                    }
                    for (int x = 0; x < D; x++) di += rb(dO[x], bf) * o[x];   /* dO as dP reads it */
                    for (int j = 0; j < n; j++) {
                        const float *v = qkv + (size_t)(cu[s] + j) * st + (H + K + g) * D;
                        double d = 0;
                        for (int x = 0; x < D; x++) d += rb(dO[x], bf) * rb(v[x], bf);
                        dp[j] = d;
                        p[j] = exp(p[j] - lse[(size_t)i * H + h]);
                    }
                    for (int j = 0; j < n; j++) {
                        size_t r = (size_t)(cu[s] + j) * st;
                        double ds = rb(p[j] * (dp[j] - di) * sc, bf), pj = rb(p[j], bf);
                        for (int x = 0; x < D; x++) {
                            dqkv[(size_t)i * st + h * D + x] += ds * rb(qkv[r + (H + g) * D + x], bf);
                            dqkv[r + (H + g) * D + x] += ds * rb(q[x], bf);
                            dqkv[r + (H + K + g) * D + x] += pj * rb(dO[x], bf);
                        }
                    }
                }
    free(p); free(dp); free(lse);
}

/* Packed attention forward and backward at the models' head dims against float64: D = 64 with
 * a GQA group of 7 (Qwen2.5-0.5B: 14 heads over 2), D = 128 with 6 (the 1.5B: 12 over 2),
 * sequences of one token beside longer ones cut mid-block. The table's cases stop at D = 32,
 * and the finite differences at D = 16, so the AVX-512 path at these widths (K and V
 * transposed in 16-column blocks, P V over 64-column tiles) was checked only against itself
 * (threads, the split backward). The AVX-512 path and the portable one, 1 and 2 threads. */
TEST(attention_head_dims_match_float64) {
    static const struct { int nseq, lens[3], H, K, D; } c[] = {
        {3, {1, 70, 1}, 7, 1, 64},
        {2, {130, 1}, 12, 2, 128},
        {1, {1}, 6, 2, 128},
    };
    static const char *simds[] = {NULL, "none"};
    uint64_t rng = 21;
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        int H = c[k].H, K = c[k].K, D = c[k].D, st = (H + 2 * K) * D, cu[4] = {0}, maxlen = 0;
        for (int s = 0; s < c[k].nseq; s++) { cu[s + 1] = cu[s] + c[k].lens[s]; if (c[k].lens[s] > maxlen) maxlen = c[k].lens[s]; }
        int T = cu[c[k].nseq];
        float *qkv = malloc(sizeof(float) * T * st), *dout = malloc(sizeof(float) * T * H * D);
        float *out = malloc(sizeof(float) * T * H * D), *lse = malloc(sizeof(float) * T * H), *dqkv = malloc(sizeof(float) * T * st);
        double *ro = malloc(sizeof(double) * T * H * D), *rd = malloc(sizeof(double) * T * st);
        fill_uniform(qkv, (size_t)T * st, &rng);
        for (int i = 0; i < T * st; i++) qkv[i] *= 2.0f;   /* scores of a few units: a peaked softmax */
        fill_uniform(dout, (size_t)T * H * D, &rng);
        attention_f64(c[k].nseq, cu, H, K, D, qkv, st, dout, ro, rd, 0);
        double so = 0, sd = 0;
        for (int i = 0; i < T * H * D; i++) so = fmax(so, fabs(ro[i]));
        for (int i = 0; i < T * st; i++) sd = fmax(sd, fabs(rd[i]));
        for (int sp = 0; sp < 2; sp++)
            for (int th = 1; th <= 2; th++) {
                if (simds[sp]) setenv("MRL_CPU_SIMD", simds[sp], 1); else unsetenv("MRL_CPU_SIMD");
                mrl_err e = {0};
                mrl_backend *be = be_open("cpu", th, &e);
                unsetenv("MRL_CPU_SIMD");
                if (!be) { EXPECTF(0, "be_open: %s", e.msg); continue; }
                void *w = malloc(op_attention_work(be, T, maxlen, H, D));
                for (int i = 0; i < T * st; i++) dqkv[i] = NAN;
                op_attention_fwd(be, out, lse, qkv, qkv + H * D, qkv + (H + K) * D, st, cu, cu, c[k].nseq, T, H, K, D, w);
                op_attention_bwd(be, dqkv, dqkv + H * D, dqkv + (H + K) * D, st, dout, qkv, qkv + H * D, qkv + (H + K) * D, st,
                                 out, lse, cu, cu, c[k].nseq, T, H, K, D, w);
                double eo = 0, ed = 0;
                for (int i = 0; i < T * H * D; i++) eo = fmax(eo, isnan(out[i]) ? INFINITY : fabs(out[i] - ro[i]));
                for (int i = 0; i < T * st; i++) ed = fmax(ed, isnan(dqkv[i]) ? INFINITY : fabs(dqkv[i] - rd[i]));
                EXPECTF(eo <= 1e-5 * so && ed <= 1e-5 * sd, "H %d over %d, D %d, T %d, %s, %d threads: out %.3g off, dqkv %.3g off (of %.3g, %.3g)",
                        H, K, D, T, simds[sp] ? simds[sp] : "default", th, eo, ed, so, sd);
                free(w);
                be_close(be);
            }
        free(qkv); free(dout); free(out); free(lse); free(dqkv); free(ro); free(rd);
    }
}

/* A bf16 model's packed attention on AMX (attention_amx.c; taken for be->bf16_act on a CPU
 * with AMX) against float64 with its roundings (attention_f64 with bf: within fp32 sums and the
 * odd bf16 rounding landing on the other side, 2e-3 of the largest value) and against exact
 * float64 (within bf16's 1e-2); that it ran (differs from exact by more than fp32 would); and
 * the same bits on 1-3 threads with the backward split on and off. Sequences cut mid-block,
 * one-token ones, GQA groups 1-6, D 32-128, keys past the split's key blocks (128). */
TEST(attention_amx_bf16) {
    mrl_err e = {0};
    mrl_backend *probe = be_open("cpu", 1, &e);
    if (!probe) { EXPECTF(0, "be_open: %s", e.msg); return; }
    probe->bf16_act = 1;
    int on = cpu_attn_amx(probe, 64);
    be_close(probe);
    if (!on) SKIP("no AMX on this CPU (or MRL_CPU_ATTN_AMX=0)");
    static const struct { int nseq, lens[3], H, K, D; } c[] = {
        {3, {1, 70, 130}, 4, 2, 64},
        {2, {200, 33}, 12, 2, 128},
        {1, {300}, 2, 2, 32},
        {3, {17, 64, 1}, 6, 1, 64},
    };
    uint64_t rng = 5;
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        int H = c[k].H, K = c[k].K, D = c[k].D, st = (H + 2 * K) * D, cu[4] = {0}, maxlen = 0;
        for (int s = 0; s < c[k].nseq; s++) { cu[s + 1] = cu[s] + c[k].lens[s]; if (c[k].lens[s] > maxlen) maxlen = c[k].lens[s]; }
        int T = cu[c[k].nseq];
        size_t no = (size_t)T * H * D, nd = (size_t)T * st;
        float *qkv = malloc(sizeof(float) * nd), *dout = malloc(sizeof(float) * no);
        float *out = malloc(sizeof(float) * no), *lse = malloc(sizeof(float) * T * H), *dqkv = malloc(sizeof(float) * nd);
        float *out1 = malloc(sizeof(float) * no), *dqkv1 = malloc(sizeof(float) * nd);
        double *ro = malloc(sizeof(double) * no), *rd = malloc(sizeof(double) * nd);
        double *xo = malloc(sizeof(double) * no), *xd = malloc(sizeof(double) * nd);
        fill_uniform(qkv, nd, &rng);
        for (size_t i = 0; i < nd; i++) qkv[i] *= 2.0f;
        fill_uniform(dout, no, &rng);
        attention_f64(c[k].nseq, cu, H, K, D, qkv, st, dout, ro, rd, 1);
        attention_f64(c[k].nseq, cu, H, K, D, qkv, st, dout, xo, xd, 0);
        double so = 0, sd = 0;
        for (size_t i = 0; i < no; i++) so = fmax(so, fabs(ro[i]));
        for (size_t i = 0; i < nd; i++) sd = fmax(sd, fabs(rd[i]));
        for (int th = 1; th <= 3; th++)
            for (int sp = 0; sp < 2; sp++) {
                setenv("MRL_CPU_ATTN_SPLIT", sp ? "1" : "0", 1);
                mrl_backend *be = be_open("cpu", th, &e);
                if (!be) { EXPECTF(0, "be_open: %s", e.msg); continue; }
                be->bf16_act = 1;
                void *w = malloc(op_attention_work(be, T, maxlen, H, D));
                memset(w, 0xff, op_attention_work(be, T, maxlen, H, D));   /* NaNs: nothing may read unwritten work */
                for (size_t i = 0; i < nd; i++) dqkv[i] = NAN;
                for (size_t i = 0; i < no; i++) out[i] = NAN;
                op_attention_fwd(be, out, lse, qkv, qkv + H * D, qkv + (H + K) * D, st, cu, cu, c[k].nseq, T, H, K, D, w);
                op_attention_bwd(be, dqkv, dqkv + H * D, dqkv + (H + K) * D, st, dout, qkv, qkv + H * D, qkv + (H + K) * D, st,
                                 out, lse, cu, cu, c[k].nseq, T, H, K, D, w);
                unsetenv("MRL_CPU_ATTN_SPLIT");
                if (th == 1 && sp == 0) {
                    double eo = 0, ed = 0, xeo = 0, xed = 0;
                    for (size_t i = 0; i < no; i++) {
                        eo = fmax(eo, isnan(out[i]) ? INFINITY : fabs(out[i] - ro[i]));
                        xeo = fmax(xeo, isnan(out[i]) ? INFINITY : fabs(out[i] - xo[i]));
                    }
                    for (size_t i = 0; i < nd; i++) {
                        ed = fmax(ed, isnan(dqkv[i]) ? INFINITY : fabs(dqkv[i] - rd[i]));
                        xed = fmax(xed, isnan(dqkv[i]) ? INFINITY : fabs(dqkv[i] - xd[i]));
                    }
                    EXPECTF(eo <= 5e-3 * so && ed <= 5e-3 * sd && xeo <= 1e-2 * so && xed <= 1e-2 * sd && xeo > 1e-5 * so,
                            "H %d over %d, D %d, T %d: out %.3g / dqkv %.3g off the rounded reference, %.3g / %.3g off exact "
                            "(of %.3g, %.3g)", H, K, D, T, eo, ed, xeo, xed, so, sd);
                    /* a one-token sequence: P = 1, dS = 0, so dq and dk are 0 up to rounding (dO in
                       rowsum(dO o O) unrounded where dP reads it rounded left 3-7 % of the largest) */
                    double e1 = 0;
                    for (int q = 0; q < c[k].nseq; q++)
                        if (c[k].lens[q] == 1)
                            for (int i = 0; i < (H + K) * D; i++) e1 = fmax(e1, fabs(dqkv[(size_t)cu[q] * st + i]));
                    EXPECTF(e1 <= 1e-4 * sd, "H %d over %d, D %d: a one-token sequence's dq/dk up to %.3g (of %.3g)", H, K, D, e1, sd);
                    memcpy(out1, out, sizeof(float) * no); memcpy(dqkv1, dqkv, sizeof(float) * nd);
                } else
                    EXPECTF(!memcmp(out, out1, sizeof(float) * no) && !memcmp(dqkv, dqkv1, sizeof(float) * nd),
                            "H %d over %d, D %d, T %d: %d threads, split %d: other bits than 1 thread, no split", H, K, D, T, th, sp);
                free(w);
                be_close(be);
            }
        free(qkv); free(dout); free(out); free(lse); free(dqkv); free(out1); free(dqkv1);
        free(ro); free(rd); free(xo); free(xd);
    }
}

/* A row of x W^T does not depend on the other rows of the call within each of the two paths
 * (up to small_t rows, 12, or 64 on AVX2 without AVX-512: the streaming kernel; more: the
 * AVX-512 tiles, or OpenBLAS's sgemm), which is what keeps msample's output the same for
 * --batch 1..small_t and, with AVX-512, for any --batch (the tiles; fp32 weights are packed
 * at load, one kernel for every row count). The two paths differ from each other in the last
 * bits (documented in matmul.c, msample(1) and test_msample.c). OpenBLAS's sgemm keeps a row's
 * bits only within its register tiles: on its Zen kernel (0.3.21, an AMD EPYC without AVX-512)
 * the rows past a multiple of 12 take narrower kernels that sum in another order (row 12 of
 * 13 rows differs from row 12 of 24 in the last bits), and on SkylakeX small products take
 * its small-matrix kernel. Padding every call to whole tiles was measured and dropped (msample
 * 17 % slower at --batch 16, before the AVX2 streaming tile took those rows). On that path the
 * rows are checked to agree to 1e-5 instead of in every bit. IN = 1536, the 1.5B model's width. */
TEST(linear_rows_independent_of_row_count) {
    enum { IN = 1536, OUT = 512, TM = 100 };
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", 2, &e);
    float *x = malloc(sizeof(float) * TM * IN), *w = malloc(sizeof(float) * OUT * IN);
    float *ref = malloc(sizeof(float) * TM * OUT), *o = malloc(sizeof(float) * TM * OUT);
    void *wb = malloc(sizeof(float) * OUT * IN);
    uint64_t r = 3;
    fill_uniform(x, (size_t)(TM * IN), &r);
    fill_uniform(w, (size_t)(OUT * IN), &r);
    for (int bf = 0; bf < 2; bf++) {
        mrl_dtype wd = bf ? MRL_BF16 : MRL_F32;
        op_cast(be, wb, wd, w, MRL_F32, (size_t)OUT * IN);
        /* streaming up to st rows: 12, or 64 on AVX2 (bf16 weights there: 256) */
        int Ts[] = {1, 2, 5, 12, 13, 17, 32, 63, 64, 65, 99};
        int st = bf ? cpu_st(be)->small_t_bf16 : cpu_st(be)->small_t, sm = st < 64 ? st : 64;
        op_linear_fwd(be, ref, 0, x, wb, wd, NULL, TM, IN, OUT);   /* the sgemm path, or streaming */
        float *small = malloc(sizeof(float) * sm * OUT);
        op_linear_fwd(be, small, 0, x, wb, wd, NULL, sm, IN, OUT);   /* the streaming path */
        for (int k = 0; k < (int)(sizeof Ts / sizeof Ts[0]); k++) {
            int T = Ts[k];
            op_linear_fwd(be, o, 0, x, wb, wd, NULL, T, IN, OUT);
            const float *want = T <= sm ? small : ref;
            if (T <= sm || ((T <= st) == (TM <= st) && (T <= st || cpu_f32p_supported(be))))
                EXPECTF(!memcmp(o, want, sizeof(float) * T * OUT), "%s, %d rows: a row differs from the same row computed with %d rows",
                        bf ? "bf16" : "fp32", T, T <= sm ? sm : TM);
            else {   /* OpenBLAS sgemm: the same values to rounding */
                double worst = 0, big = 0;   /* off by at most 1e-5 of the largest value */
                for (int i = 0; i < T * OUT; i++) big = fmax(big, fabs((double)want[i]));
                for (int i = 0; i < T * OUT; i++) worst = fmax(worst, fabs((double)o[i] - want[i]) / big);
                EXPECTF(worst <= 1e-5, "%s, %d rows (sgemm): a row is %.2g off the same row computed with %d rows",
                        bf ? "bf16" : "fp32", T, worst, TM);
            }
        }
        free(small);
    }
    free(x); free(w); free(ref); free(o); free(wb);
    be_close(be);
}

static float bf16r(float f) {   /* round to nearest even bf16, back in fp32 */
    uint32_t u; memcpy(&u, &f, 4); u += 0x7fffu + ((u >> 16) & 1u); u &= 0xffff0000u; memcpy(&f, &u, 4); return f;
}

/* The few-row kernel (<= small_t rows: W streamed once, matmul.c's small_xwT, 3 weight rows x
 * 4 x rows at a time on AVX-512 and AVX2) against a float64 product, for widths with every tail (past the
 * 32s, a last 16, single elements) and weight-row counts that leave 1 or 2 rows past the
 * 3-row blocks; and each output the same bits whichever block computes it: W shifted by one
 * row (output j computed as j - 1 of a shorter W) and every x row alone. On the AVX-512, AVX2
 * and portable paths. */
TEST(streaming_linear_matches_float64) {
    enum { TM = 12, INM = 100, OUTM = 7 };
    static const int INs[] = {1, 15, 16, 17, 31, 32, 33, 47, 48, 63, 100}, OUTs[] = {1, 2, 3, 4, 5, 7};
    static const char *simds[] = {NULL, "avx2", "none"};
    float x[TM * INM], w[OUTM * INM], o[TM * OUTM], o2[TM * OUTM], o1[OUTM];
    uint16_t wb[OUTM * INM];
    uint64_t r = 5;
    fill_uniform(x, TM * INM, &r);
    fill_uniform(w, OUTM * INM, &r);
    int bad = 0;
    for (int sp = 0; sp < 3; sp++) {
        mrl_backend *be = cpu_open(simds[sp]);
        if (!be) { bad++; continue; }
        op_cast(be, wb, MRL_BF16, w, MRL_F32, OUTM * INM);
        for (int bf = 0; bf < 2; bf++)
            for (size_t a = 0; a < sizeof INs / sizeof *INs; a++)
                for (size_t b = 0; b < sizeof OUTs / sizeof *OUTs; b++)
                    for (int T = 1; T <= TM; T++) {
                        int IN = INs[a], OUT = OUTs[b];
                        mrl_dtype wd = bf ? MRL_BF16 : MRL_F32;
                        const void *ws = bf ? (const void *)wb : (const void *)w;
                        size_t row = (size_t)IN * (bf ? 2 : 4);
                        op_linear_fwd(be, o, 0, x, ws, wd, NULL, T, IN, OUT);
                        if (OUT > 1) op_linear_fwd(be, o2, 0, x, (const char *)ws + row, wd, NULL, T, IN, OUT - 1);
                        for (int t = 0; t < T; t++) {
                            op_linear_fwd(be, o1, 0, x + (size_t)t * IN, ws, wd, NULL, 1, IN, OUT);
                            for (int j = 0; j < OUT; j++) {
                                double ref = 0, mag = 0;
                                for (int i = 0; i < IN; i++) {
                                    double wv = w[j * IN + i];
                                    if (bf) { uint32_t u = (uint32_t)wb[j * IN + i] << 16; float f; memcpy(&f, &u, 4); wv = f; }
                                    ref += wv * x[t * IN + i]; mag += fabs(wv * x[t * IN + i]);
                                }
                                float got = o[t * OUT + j];
                                int ok = fabs(got - ref) <= 1e-6 * mag + 1e-30 && !memcmp(&o1[j], &got, 4) &&
                                         (j == 0 || !memcmp(&o2[t * (OUT - 1) + j - 1], &got, 4));
                                if (!ok && bad++ < 5)
                                    printf("  %s %s, %d rows, IN %d, OUT %d: out[%d][%d] = %.9g, float64 %.9g, alone %.9g, shifted %.9g\n",
                                           simds[sp] ? simds[sp] : "default", bf ? "bf16" : "fp32", T, IN, OUT, t, j, got, ref,
                                           o1[j], j ? o2[t * (OUT - 1) + j - 1] : got);
                            }
                        }
                    }
        be_close(be);
    }
    EXPECTF(!bad, "%d outputs wrong or dependent on their block", bad);
}

/* The linear layers' AVX-512 tile GEMM (cpu_sgemm_tiles) against a float64 product, on the
 * edges of its blocking: rows 1..13 (tiles of 6; 8 as 4 + 4), columns around 64 and past 4 tiles, K 0, 1,
 * past its 128-deep blocks and past 4096 (the other loop order), B as is and transposed, fp32
 * and bf16, beta 0, 1 and 0.5. */
TEST(sgemm_tiles_match_float64) {
#ifdef CPU_HAVE_EXP512
    if (!__builtin_cpu_supports("avx512f")) SKIP("no AVX-512 on this CPU");
    int Ms[] = {1, 6, 8, 13}, Ns[] = {1, 63, 64, 300}, Ks[] = {0, 1, 129, 4100};   /* K >= 4096: column tiles by K-block */
    float betas[] = {0, 1, 0.5f};
    uint64_t r = 11;
    int bad = 0, cases = 0;
    for (int mi = 0; mi < 4; mi++) for (int ni = 0; ni < 4; ni++) for (int ki = 0; ki < 4; ki++)
    for (int bt = 0; bt < 2; bt++) for (int bf = 0; bf < 2; bf++) for (int bi = 0; bi < 3; bi++) {
        int M = Ms[mi], N = Ns[ni], K = Ks[ki], lda = K + 3, ldb = (bt ? K : N) + 5, ldc = N + 2;
        float beta = betas[bi];
        float *A = malloc(sizeof(float) * (M * lda + 1)), *B = malloc(sizeof(float) * ((bt ? N : K) * ldb + 1));
        float *C = malloc(sizeof(float) * M * ldc), *C0 = malloc(sizeof(float) * M * ldc);
        uint16_t *Bh = malloc(sizeof(uint16_t) * ((bt ? N : K) * ldb + 1));
        fill_uniform(A, (size_t)M * lda, &r); fill_uniform(B, (size_t)(bt ? N : K) * ldb, &r); fill_uniform(C0, (size_t)M * ldc, &r);
        for (int i = 0; i < (bt ? N : K) * ldb; i++) { B[i] = bf16r(B[i]); uint32_t u; memcpy(&u, &B[i], 4); Bh[i] = (uint16_t)(u >> 16); }
        memcpy(C, C0, sizeof(float) * M * ldc);
        cpu_sgemm_tiles(M, N, K, A, (size_t)lda, 1, bf ? (const void *)Bh : (const void *)B, bf, bt, (size_t)ldb, beta, C, (size_t)ldc);
        for (int i = 0; i < M; i++) for (int c = 0; c < ldc; c++) {
            double want = C0[i * ldc + c], tol = 0;
            if (c < N) {
                double s = 0, sa = 0;
                for (int k = 0; k < K; k++) { double p = (double)A[i * lda + k] * B[bt ? c * ldb + k : k * ldb + c]; s += p; sa += fabs(p); }
                want = (beta == 0 ? 0 : beta * (double)C0[i * ldc + c]) + s; tol = 1e-6 * (sa + fabs(want)) + 1e-7;
            }
            if (!(fabs(C[i * ldc + c] - want) <= tol)) {   /* past column N: left as it was */
                if (bad++ < 5) printf("  M %d N %d K %d bt %d bf %d beta %g: C[%d][%d] = %.9g, want %.9g\n", M, N, K, bt, bf, beta, i, c, C[i * ldc + c], want);
            }
        }
        cases++;
        free(A); free(B); free(C); free(C0); free(Bh);
    }
    EXPECTF(bad == 0, "%d of the outputs of %d products off", bad, cases);
#else
    SKIP("built without AVX-512 intrinsics");
#endif
}

/* dW = g^T x on the tiles with g^T packed chunk by chunk (cpu_sgemm_tiles_at) gives the bits
 * of the tiles reading g^T in place (cpu_sgemm_tiles, sar 1), and a float64 product's values:
 * rows 1..128 (tiles of 6, 7 and 8 as 4 + 3 and 4 + 4), K 0, 1, across a 128-deep block and
 * across 1024-deep chunks, the K >= 4096 loop order. */
TEST(sgemm_tiles_at_same_bits) {
#ifdef CPU_HAVE_EXP512
    if (!__builtin_cpu_supports("avx512f")) SKIP("no AVX-512 on this CPU");
    int Ms[] = {1, 7, 8, 14, 128}, Ns[] = {5, 64, 300}, Ks[] = {0, 1, 130, 2100, 4200};
    uint64_t r = 13;
    int bad = 0, diff = 0;
    for (int mi = 0; mi < 5; mi++) for (int ni = 0; ni < 3; ni++) for (int ki = 0; ki < 5; ki++) {
        int M = Ms[mi], N = Ns[ni], K = Ks[ki], ldg = M + 3, ldb = N + 5, ldc = N + 2;
        float *A = malloc(sizeof(float) * ((size_t)K * ldg + 1)), *B = malloc(sizeof(float) * ((size_t)K * ldb + 1));
        float *C1 = malloc(sizeof(float) * M * ldc), *C2 = malloc(sizeof(float) * M * ldc), *C0 = malloc(sizeof(float) * M * ldc);
        float *ap = malloc(sizeof(float) * cpu_sgemm_tiles_apack(M));
        fill_uniform(A, (size_t)K * ldg, &r); fill_uniform(B, (size_t)K * ldb, &r); fill_uniform(C0, (size_t)M * ldc, &r);
        memcpy(C1, C0, sizeof(float) * M * ldc); memcpy(C2, C0, sizeof(float) * M * ldc);
        cpu_sgemm_tiles(M, N, K, A, 1, (size_t)ldg, B, 0, 0, (size_t)ldb, 1.0f, C1, (size_t)ldc);
        cpu_sgemm_tiles_at(M, N, K, A, (size_t)ldg, B, (size_t)ldb, C2, (size_t)ldc, ap);
        if (memcmp(C1, C2, sizeof(float) * M * ldc) && diff++ < 5) printf("  M %d N %d K %d: packed g^T changes bits\n", M, N, K);
        for (int i = 0; i < M; i++) for (int c = 0; c < N; c++) {
            double s = C0[i * ldc + c], sa = fabs(s);
            for (int k = 0; k < K; k++) { double p = (double)A[(size_t)k * ldg + i] * B[(size_t)k * ldb + c]; s += p; sa += fabs(p); }
            if (!(fabs(C2[i * ldc + c] - s) <= 1e-6 * sa + 1e-7) && bad++ < 5)
                printf("  M %d N %d K %d: C[%d][%d] = %.9g, want %.9g\n", M, N, K, i, c, C2[i * ldc + c], s);
        }
        free(A); free(B); free(C1); free(C2); free(C0); free(ap);
    }
    EXPECTF(!bad && !diff, "%d outputs off, %d products with other bits", bad, diff);
#else
    SKIP("built without AVX-512 intrinsics");
#endif
}

/* The linear op's three products on the tiles with B's panels packed once per op and shared
 * by the row blocks (more than 128 rows; two chunks of columns here: K x N past 4 M floats)
 * give the bits of the same products in pieces of at most 128 rows, where each task packs its
 * own: x W^T and g W row block by row block, dW = g^T x 128 of its rows at a time; fp32 and
 * bf16 weights. */
TEST(tiles_shared_panels_same_bits) {
#ifdef CPU_HAVE_EXP512
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", 2, &e);
    if (!be) { EXPECT(0); return; }
    if (!cpu_f32p_supported(be)) { be_close(be); SKIP("no AVX-512 tiles on this CPU"); }
    enum { T = 1100, IN = 4100, OUT = 1100 };
    float *x = malloc(sizeof(float) * T * IN), *w = malloc(sizeof(float) * OUT * IN), *g = malloc(sizeof(float) * T * OUT);
    float *a = malloc(sizeof(float) * (size_t)T * IN), *b = malloc(sizeof(float) * (size_t)T * IN);
    void *wb = malloc(sizeof(float) * OUT * IN);
    uint64_t r = 5;
    fill_uniform(x, (size_t)T * IN, &r); fill_uniform(w, (size_t)OUT * IN, &r); fill_uniform(g, (size_t)T * OUT, &r);
    for (int bf = 0; bf < 2; bf++) {
        mrl_dtype wd = bf ? MRL_BF16 : MRL_F32;
        op_cast(be, wb, wd, w, MRL_F32, (size_t)OUT * IN);
        cpu_mm_xwT(be, a, OUT, 0, x, IN, T, IN, wb, wd, OUT);
        for (int t0 = 0; t0 < T; t0 += 128)
            cpu_mm_xwT(be, b + (size_t)t0 * OUT, OUT, 0, x + (size_t)t0 * IN, IN, T - t0 < 128 ? T - t0 : 128, IN, wb, wd, OUT);
        EXPECTF(!memcmp(a, b, sizeof(float) * T * OUT), "%s: x W^T with shared panels differs", bf ? "bf16" : "fp32");
        cpu_mm_gW(be, a, 0, g, OUT, T, OUT, wb, wd, IN);
        for (int t0 = 0; t0 < T; t0 += 128)
            cpu_mm_gW(be, b + (size_t)t0 * IN, 0, g + (size_t)t0 * OUT, OUT, T - t0 < 128 ? T - t0 : 128, OUT, wb, wd, IN);
        EXPECTF(!memcmp(a, b, sizeof(float) * T * IN), "%s: g W with shared panels differs", bf ? "bf16" : "fp32");
    }
    memset(a, 0, sizeof(float) * OUT * IN); memset(b, 0, sizeof(float) * OUT * IN);
    cpu_mm_gTx(be, a, g, OUT, x, T, OUT, IN, MRL_F32);
    for (int o0 = 0; o0 < OUT; o0 += 128)
        cpu_mm_gTx(be, b + (size_t)o0 * IN, g + o0, OUT, x, T, OUT - o0 < 128 ? OUT - o0 : 128, IN, MRL_F32);
    EXPECTF(!memcmp(a, b, sizeof(float) * OUT * IN), "dW with shared panels differs");
    free(x); free(w); free(g); free(a); free(b); free(wb);
    be_close(be);
#else
    SKIP("built without AVX-512 intrinsics");
#endif
}

/* The shared panels of a product narrower than a chunk take the scratch of its own columns'
 * panels (each thread's packed g^T besides), not a whole chunk's or task's: dW of 64 and 300
 * columns over 5000 and 20000 tokens (a task's 1024 columns: 20 and 80 MB), x W^T of 64 rows
 * of W over 17000 inputs; and the bits are those of the product in 128-row pieces. */
TEST(tiles_shared_panels_scratch_bound) {
#ifdef CPU_HAVE_EXP512
    mrl_err e = {0};
    for (int op = 0; op < 3; op++) {
        mrl_backend *be = be_open("cpu", 2, &e);
        if (!be) { EXPECT(0); return; }
        if (!cpu_f32p_supported(be)) { be_close(be); SKIP("no AVX-512 tiles on this CPU"); }
        int T = op == 1 ? 200 : op ? 20000 : 5000, IN = op == 1 ? 17000 : op ? 300 : 64, OUT = op == 1 ? 64 : 256;
        float *x = malloc(sizeof(float) * T * IN), *g = malloc(sizeof(float) * T * OUT), *w = malloc(sizeof(float) * OUT * IN);
        size_t no = op == 1 ? (size_t)T * OUT : (size_t)OUT * IN;
        float *o = calloc(no, 4), *o2 = calloc(no, 4);
        uint64_t r = 17;
        fill_uniform(x, (size_t)T * IN, &r); fill_uniform(g, (size_t)T * OUT, &r); fill_uniform(w, (size_t)OUT * IN, &r);
        if (op == 1) {
            cpu_mm_xwT(be, o, OUT, 0, x, IN, T, IN, w, MRL_F32, OUT);
            for (int t0 = 0; t0 < T; t0 += 128) cpu_mm_xwT(be, o2 + (size_t)t0 * OUT, OUT, 0, x + (size_t)t0 * IN, IN, T - t0 < 128 ? T - t0 : 128, IN, w, MRL_F32, OUT);
        } else {
            cpu_mm_gTx(be, o, g, OUT, x, T, OUT, IN, MRL_F32);
            for (int o0 = 0; o0 < OUT; o0 += 128) cpu_mm_gTx(be, o2 + (size_t)o0 * IN, g + o0, OUT, x, T, 128, IN, MRL_F32);
        }
        size_t bound = (size_t)(op == 1 ? 64 * IN : (IN + 63) / 64 * 64 * T) + 2 * cpu_sgemm_tiles_apack(128);
        EXPECTF(cpu_st(be)->scratch_n <= bound, "%s T %d IN %d: %zu floats of scratch, bound %zu", op == 1 ? "x W^T" : "dW", T, IN,
                cpu_st(be)->scratch_n, bound);
        EXPECTF(!memcmp(o, o2, sizeof(float) * no), "%s T %d IN %d: differs from the product in pieces", op == 1 ? "x W^T" : "dW", T, IN);
        free(x); free(g); free(w); free(o); free(o2);
        be_close(be);
    }
#else
    SKIP("built without AVX-512 intrinsics");
#endif
}

/* Attention's block products with B copied to rows of its own (cpu_sgemm_small's pk: B's
 * rows 4 KB apart in place) give the bits of B read in place: A and A^T, every causal mode,
 * acc 0 and 1, N past and short of a 64-column tile, K 0 and past a tile's rows. */
TEST(sgemm_small_copied_b_same_bits) {
#ifdef CPU_HAVE_EXP512
    if (!__builtin_cpu_supports("avx512f")) SKIP("no AVX-512 on this CPU");
    int Ms[] = {1, 7, 64}, Ns[] = {1, 63, 130}, Ks[] = {0, 1, 64, 200};
    enum { LD = 1024 };
    uint64_t r = 23;
    float *A = malloc(sizeof(float) * 200 * LD), *B = malloc(sizeof(float) * 200 * LD), *pk = malloc(sizeof(float) * 200 * 64);
    float *C1 = malloc(sizeof(float) * 64 * 256), *C2 = malloc(sizeof(float) * 64 * 256);
    fill_uniform(A, (size_t)200 * LD, &r); fill_uniform(B, (size_t)200 * LD, &r);
    int diff = 0, cases = 0;
    for (int mi = 0; mi < 3; mi++) for (int ni = 0; ni < 3; ni++) for (int ki = 0; ki < 4; ki++)
    for (int tr = 0; tr < 2; tr++) for (int causal = 0; causal < 4; causal++) for (int acc = 0; acc < 2; acc++) {
        int M = Ms[mi], N = Ns[ni], K = Ks[ki], diag = causal == CPU_CAUSAL_KSTART ? 3 : 5;
        fill_uniform(C1, 64 * 256, &r);
        memcpy(C2, C1, sizeof(float) * 64 * 256);
        size_t sar = tr ? 1 : LD, sak = tr ? LD : 1;
        cpu_sgemm_small(M, N, K, 0.5f, A, sar, sak, B, LD, acc, C1, 256, causal, diag, NULL);
        cpu_sgemm_small(M, N, K, 0.5f, A, sar, sak, B, LD, acc, C2, 256, causal, diag, pk);
        if (memcmp(C1, C2, sizeof(float) * 64 * 256) && diff++ < 5)
            printf("  M %d N %d K %d A^T %d causal %d acc %d: the copy changes bits\n", M, N, K, tr, causal, acc);
        cases++;
    }
    EXPECTF(!diff, "%d of %d products differ", diff, cases);
    free(A); free(B); free(pk); free(C1); free(C2);
#else
    SKIP("built without AVX-512 intrinsics");
#endif
}

/* A packed weight wp (pdt) of w (wdt) [OUT, IN] as a tied table: embedding rows gathered from
 * the panels equal w's rows; rows 64.. taken as their own matrix through the logits op give
 * ref's columns 64.. (ref = x w^T, 3 rows at least). */
static void packed_table_checks(mrl_backend *be, const float *x, const float *ref, const void *w, mrl_dtype wdt,
                                const void *wp, mrl_dtype pdt, int IN, int OUT) {
    int32_t tok[3] = {0, OUT - 1, OUT / 2};
    float *e1 = malloc(sizeof(float) * 3 * IN), *e2 = malloc(sizeof(float) * 3 * IN);
    op_embedding_fwd(be, e1, tok, w, wdt, 3, IN);
    op_embedding_fwd(be, e2, tok, wp, pdt, 3, IN);
    EXPECTF(!memcmp(e1, e2, sizeof(float) * 3 * IN), "IN %d OUT %d: embedding rows from the packed table differ", IN, OUT);
    free(e1); free(e2);
    if (OUT <= 64) return;
    float *z = malloc(sizeof(float) * 3 * OUT);
    op_logits(be, z, x, cpu_wrows(wp, pdt, 64, IN), pdt, 3, IN, OUT - 64);
    int same = 1;
    for (int t = 0; t < 3; t++) same &= !memcmp(z + (size_t)t * (OUT - 64), ref + (size_t)t * OUT + 64, sizeof(float) * (OUT - 64));
    EXPECTF(same, "IN %d OUT %d: rows 64.. of the packed weight differ", IN, OUT);
    free(z);
}

/* fp32 weights packed once (MRL_F32P, fp32 inference) give the same bits as the register
 * tiles on the unpacked W (more than 12 rows: the training forward's path), for every row
 * count (1 included: the packed path has no small-row kernel, so fp32 inference does not
 * depend on --batch), for a row range starting at a multiple of 64 (the head's vocabulary
 * chunks) and on 1 or 2 threads; a tied table's rows come back from the panels. */
TEST(f32_packed_same_bits_as_tiles) {
    mrl_backend *be = cpu_open(NULL), *be1;
    mrl_err e = {0};
    if (!(be1 = be_open("cpu", 1, &e))) { EXPECT(0); be_close(be); return; }
    if (!op_pack_weight(be, NULL, NULL, MRL_F32, 64, 64)) { be_close(be); be_close(be1); SKIP("no AVX-512 on this CPU: fp32 weights are not packed"); }
    int shapes[][2] = {{53, 37}, {24, 16}, {16, 96}, {1536, 130}, {600, 64}, {4100, 70}};   /* IN 4100: K-blocks across column tiles */
    for (int sh = 0; sh < 6; sh++) {
        int IN = shapes[sh][0], OUT = shapes[sh][1], TM = 100;
        float *x = malloc(sizeof(float) * TM * IN), *w = malloc(sizeof(float) * OUT * IN);
        float *ref = malloc(sizeof(float) * TM * OUT), *o = malloc(sizeof(float) * TM * OUT);
        uint64_t r = 7;
        fill_uniform(x, (size_t)(TM * IN), &r);
        fill_uniform(w, (size_t)(OUT * IN), &r);
        size_t nb = op_pack_weight(be, NULL, NULL, MRL_F32, OUT, IN);
        EXPECTF(nb >= (size_t)OUT * IN * 4, "IN %d OUT %d: packed size %zu", IN, OUT, nb);
        float *wp = malloc(nb);
        EXPECT(op_pack_weight(be, wp, w, MRL_F32, OUT, IN) == nb);
        op_linear_fwd(be, ref, 0, x, w, MRL_F32, NULL, TM, IN, OUT);   /* 100 rows: the tiles on W */
        int Ts[] = {1, 2, 5, 6, 7, 12, 13, 40, 41, 64, 65, 100};
        for (int k = 0; k < 12; k++) {
            memset(o, 0xff, sizeof(float) * TM * OUT);
            op_linear_fwd(be, o, 0, x, wp, MRL_F32P, NULL, Ts[k], IN, OUT);
            EXPECTF(!memcmp(o, ref, sizeof(float) * Ts[k] * OUT), "IN %d OUT %d: %d rows packed differ", IN, OUT, Ts[k]);
        }
        op_linear_fwd(be1, o, 0, x, wp, MRL_F32P, NULL, TM, IN, OUT);
        EXPECTF(!memcmp(o, ref, sizeof(float) * TM * OUT), "IN %d OUT %d: packed, 1 thread differs", IN, OUT);
        {   /* the residual add (acc) on the packed weight too */
            float *o2 = malloc(sizeof(float) * 3 * OUT), *o3 = malloc(sizeof(float) * 3 * OUT);
            for (int i = 0; i < 3 * OUT; i++) o2[i] = o3[i] = (float)i * 0.25f;
            op_linear_fwd(be, o2, 1, x, w, MRL_F32, NULL, 3, IN, OUT);
            op_linear_fwd(be, o3, 1, x, wp, MRL_F32P, NULL, 3, IN, OUT);
            for (int i = 0; i < 3 * OUT; i++) o2[i] -= (float)i * 0.25f, o3[i] -= (float)i * 0.25f;
            double d = 0;
            for (int i = 0; i < 3 * OUT; i++) d = fmax(d, fabs((double)o2[i] - o3[i]) / (fabs((double)o2[i]) + 1));
            EXPECTF(d < 1e-5, "IN %d OUT %d: acc on the packed weight off by %g", IN, OUT, d);
            free(o2); free(o3);
        }
        packed_table_checks(be, x, ref, w, MRL_F32, wp, MRL_F32P, IN, OUT);
        free(x); free(w); free(ref); free(o); free(wp);
    }
    be_close(be); be_close(be1);
}

/* A case of the bf16 GEMM as three tests: on vdpbf16ps, on fp32 FMAs (the same sums, where
 * vdpbf16ps is the slower: bf16fma), and on AMX tiles (skipped, and so reported, where the CPU
 * has no AMX). */
#define BF16_KERNEL_TESTS(NAME, AMX_NAME, CASE)                                                  \
    TEST(NAME) {                                                                                 \
        if (!cpu_bf16dot_supported()) SKIP("no AVX512_BF16 on this CPU");                        \
        CASE("0");                                                                               \
    }                                                                                            \
    TEST(NAME##_fma) {                                                                           \
        if (!cpu_bf16dot_supported()) SKIP("no AVX512_BF16 on this CPU");                        \
        CASE("fma");                                                                             \
    }                                                                                            \
    TEST(AMX_NAME) {                                                                             \
        if (!cpu_amx_supported()) SKIP("no AMX-BF16 on this CPU");                               \
        CASE("1");                                                                               \
    }

/* A backend of the bf16 GEMM: kernel "0" vdpbf16ps (even where AMX is or FMAs would be faster),
 * "fma" fp32 FMAs, "1" AMX; wide_all as MRL_CPU_BF16_WIDE_ALL; exactly `threads` threads
 * (MRL_THREADS_ADAPT=0: more threads than cores, however busy the machine). */
static mrl_backend *open_bf16_kernel(const char *kernel, int threads, int wide_all) {
    mrl_err e = {0};
    setenv("MRL_CPU_BF16_DOT", "1", 1);
    setenv("MRL_CPU_AMX", strcmp(kernel, "1") ? "0" : "1", 1);
    setenv("MRL_CPU_BF16_FMA", strcmp(kernel, "fma") ? "0" : "1", 1);
    setenv("MRL_CPU_BF16_WIDE_ALL", wide_all ? "1" : "0", 1);
    setenv("MRL_THREADS_ADAPT", "0", 1);
    mrl_backend *be = be_open("cpu", threads, &e);
    unsetenv("MRL_CPU_BF16_DOT"); unsetenv("MRL_CPU_AMX"); unsetenv("MRL_CPU_BF16_FMA");
    unsetenv("MRL_CPU_BF16_WIDE_ALL"); unsetenv("MRL_THREADS_ADAPT");
    int fma = !strcmp(kernel, "fma");
    EXPECTF(be && be->threads == threads && cpu_st(be)->bf16fma == fma && cpu_st(be)->wide_all == wide_all,
            "kernel %s on %d threads, wide_all %d: bf16fma %d", kernel, threads, wide_all, be ? cpu_st(be)->bf16fma : -1);
    return be;
}
/* The bf16 GEMM's backends on 2 and 1 threads. */
static void open_bf16dot(const char *kernel, mrl_backend **be, mrl_backend **be1) {
    *be = open_bf16_kernel(kernel, 2, 1);
    *be1 = open_bf16_kernel(kernel, 1, 1);
}

/* The AVX512_BF16 path (bf16 inference, any row count): x W^T with x rounded to bf16 equals
 * the same product in double over the rounded values, each row independent of the row count
 * and the result independent of the thread count (5e-5: fp32 sums of 1536 terms; x not rounded
 * would be ~1e-3 off). Run for each kernel: vdpbf16ps, the same sums on fp32 FMAs, and the
 * AMX tiles where the CPU has them. */
static void bf16dot_case(const char *kernel) {
    mrl_backend *be, *be1;
    open_bf16dot(kernel, &be, &be1);
    int shapes[][2] = {{53, 37}, {1536, 300}, {96, 5}};
    for (int sh = 0; sh < 3; sh++) {
        int IN = shapes[sh][0], OUT = shapes[sh][1], TM = 150;   /* two row chunks: W packed once for both */
        float *x = malloc(sizeof(float) * TM * IN), *w = malloc(sizeof(float) * OUT * IN);
        float *o = malloc(sizeof(float) * TM * OUT), *o1 = malloc(sizeof(float) * TM * OUT), *ref = malloc(sizeof(float) * TM * OUT);
        uint16_t *wb = malloc(2 * (size_t)OUT * IN);
        uint64_t r = 11;
        fill_uniform(x, (size_t)(TM * IN), &r);
        fill_uniform(w, (size_t)(OUT * IN), &r);
        op_cast(be, wb, MRL_BF16, w, MRL_F32, (size_t)OUT * IN);
        op_linear_fwd(be, ref, 0, x, wb, MRL_BF16, NULL, TM, IN, OUT);
        double worst = 0;
        for (int t = 0; t < TM; t++)
            for (int j = 0; j < OUT; j++) {
                double s = 0;
                for (int i = 0; i < IN; i++) s += (double)bf16r(x[(size_t)t * IN + i]) * bf16r(w[(size_t)j * IN + i]);
                worst = fmax(worst, fabs(s - ref[(size_t)t * OUT + j]) / fmax(1.0, fabs(s)));
            }
        EXPECTF(worst < 5e-5, "IN %d: %g off the rounded product", IN, worst);
        int Ts[] = {1, 5, 12, 13, 16, 17, 40, 129};   /* every row count takes this path */
        for (int k = 0; k < 8; k++) {
            op_linear_fwd(be, o, 0, x, wb, MRL_BF16, NULL, Ts[k], IN, OUT);
            EXPECTF(!memcmp(o, ref, sizeof(float) * Ts[k] * OUT), "IN %d: %d rows differ from the same rows among %d", IN, Ts[k], TM);
        }
        op_linear_fwd(be1, o1, 0, x, wb, MRL_BF16, NULL, TM, IN, OUT);
        EXPECTF(!memcmp(o1, ref, sizeof(float) * TM * OUT), "IN %d: 1 thread differs from 2", IN);
        free(x); free(w); free(o); free(o1); free(ref); free(wb);
    }
    be_close(be); be_close(be1);
}
BF16_KERNEL_TESTS(bf16dot_matches_rounded_product, bf16_amx_matches_rounded_product, bf16dot_case)

/* The bf16 operands the AVX512_BF16 / AMX kernels round with VCVTNE(2)PS2BF16 (cpu_bf16_cvt,
 * _cvt2, _pairs) are cpu_bf16_rne's, but where that gives a bf16 denormal (which VDPBF16PS and
 * TDPBF16PS read as 0): the instruction alone made 0 of the fp32 denormals that round up to
 * the smallest normal (bits 0x007f8000..0x007fffff). Every such value, ties, the largest
 * finite ones, infinities, NaNs and 2^20 random bit patterns. */
#ifdef CPU_HAVE_EXP512
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static int bf16_cvt_mismatches(const uint32_t *u, int n) {
    int bad = 0;
    for (int i = 0; i < n; i += 16) {
        float f[16], g[16];
        for (int k = 0; k < 16; k++) { uint32_t b = u[(i + k) % n]; memcpy(&f[k], &b, 4); g[k] = -f[k]; }
        uint16_t c1[16], c2[32], c3[32];
        _mm256_storeu_si256((__m256i *)c1, cpu_bf16_cvt(_mm512_loadu_ps(f)));
        _mm512_storeu_si512(c2, cpu_bf16_cvt2(_mm512_loadu_ps(f), _mm512_loadu_ps(g)));
        _mm512_storeu_si512(c3, cpu_bf16_pairs(f, 16, g, 16));
        for (int k = 0; k < 16; k++) {
            uint16_t r = cpu_bf16_rne(f[k]), rg = cpu_bf16_rne(g[k]);
            int den = (r & 0x7f80) == 0 && (r & 0x7f);   /* a bf16 denormal: the products read 0 */
            uint16_t got[4] = {c1[k], c2[k], c2[16 + k], c3[2 * k]}, want[4] = {r, r, rg, r};
            for (int q = 0; q < 4; q++) {
                int ok = got[q] == want[q] || (den && (got[q] & 0x7fff) == 0);
                if (!ok && bad++ < 5) printf("  0x%08x: 0x%04x, cpu_bf16_rne 0x%04x\n", u[(i + k) % n], got[q], want[q]);
            }
            if (c3[2 * k + 1] != rg && !(den && (c3[2 * k + 1] & 0x7fff) == 0) && bad++ < 5) printf("  pair of 0x%08x\n", u[(i + k) % n]);
        }
    }
    return bad;
}
#endif
TEST(bf16_vcvtne_rounds_as_rne) {
#ifdef CPU_HAVE_EXP512
    if (!cpu_bf16dot_supported()) SKIP("no AVX512_BF16 on this CPU");
    int n = 0, cap = (1 << 20) + 70000;
    uint32_t *u = malloc(sizeof(uint32_t) * cap);
    for (uint32_t b = 0x007f7ff0u; b <= 0x00800010u; b++) u[n++] = b;   /* around the smallest normal */
    for (uint32_t b = 0; b < 64; b++) u[n++] = b;                        /* the smallest denormals */
    uint32_t sp[] = {0x7f7fffffu, 0x7f7f7fffu, 0x7f7f8000u, 0x7f800000u, 0x7fc00000u, 0x7f800001u, 0x7fbfffffu, 0x3f808000u,
                     0x3f818000u, 0x3f807fffu, 0x00008000u, 0x00018000u};   /* FLT_MAX (to inf), inf, NaNs, ties */
    for (size_t k = 0; k < sizeof sp / sizeof sp[0]; k++) u[n++] = sp[k];
    for (uint32_t b = 0x00000000u; b < 0x00010000u; b += 1) u[n++] = b << 8;   /* denormals across their range */
    uint64_t r = 99;
    while (n < cap) { r = r * 6364136223846793005ull + 1442695040888963407ull; u[n++] = (uint32_t)(r >> 32); }
    int bad = bf16_cvt_mismatches(u, n);
    EXPECTF(bad == 0, "%d values rounded otherwise than cpu_bf16_rne (outside its bf16 denormals)", bad);
    free(u);
#else
    SKIP("built without AVX-512 intrinsics");
#endif
}

/* Weights packed once (MRL_BF16P, bf16 inference) give the same bits as the AVX512_BF16 path
 * that packs per call, for every row count (1 included: the packed path has no small-row
 * kernel, so bf16 inference does not depend on --batch at all), for a row range starting at a
 * multiple of 64 (the vocabulary chunks of the head), and on 1 or 2 threads. */
static void packed_case(const char *kernel) {
    mrl_backend *be, *be1;
    open_bf16dot(kernel, &be, &be1);
    int shapes[][2] = {{53, 37}, {96, 300}, {1536, 130}, {600, 64}};
    for (int sh = 0; sh < 4; sh++) {
        int IN = shapes[sh][0], OUT = shapes[sh][1], TM = 100;
        float *x = malloc(sizeof(float) * TM * IN), *w = malloc(sizeof(float) * OUT * IN);
        float *ref = malloc(sizeof(float) * TM * OUT), *o = malloc(sizeof(float) * TM * OUT);
        uint16_t *wb = malloc(2 * (size_t)OUT * IN);
        uint64_t r = 5;
        fill_uniform(x, (size_t)(TM * IN), &r);
        fill_uniform(w, (size_t)(OUT * IN), &r);
        op_cast(be, wb, MRL_BF16, w, MRL_F32, (size_t)OUT * IN);
        size_t nb = op_pack_weight(be, NULL, NULL, MRL_BF16, OUT, IN);
        EXPECTF(nb >= (size_t)OUT * IN * 2, "IN %d OUT %d: packed size %zu", IN, OUT, nb);
        void *wp = malloc(nb);
        EXPECT(op_pack_weight(be, wp, wb, MRL_BF16, OUT, IN) == nb);
        op_linear_fwd(be, ref, 0, x, wb, MRL_BF16, NULL, TM, IN, OUT);   /* 100 rows: the per-call path */
        /* up to 100 rows: AMX's 32-row step (amx_micro2) from 64 rows on */
        int Ts[] = {1, 2, 5, 6, 7, 12, 13, 40, 41, 64, 65, 100};
        for (int k = 0; k < 12; k++) {
            op_linear_fwd(be, o, 0, x, wp, MRL_BF16P, NULL, Ts[k], IN, OUT);
            EXPECTF(!memcmp(o, ref, sizeof(float) * Ts[k] * OUT), "IN %d OUT %d: %d rows packed differ", IN, OUT, Ts[k]);
        }
        op_linear_fwd(be1, o, 0, x, wp, MRL_BF16P, NULL, TM, IN, OUT);
        EXPECTF(!memcmp(o, ref, sizeof(float) * TM * OUT), "IN %d OUT %d: packed, 1 thread differs", IN, OUT);
        packed_table_checks(be, x, ref, wb, MRL_BF16, wp, MRL_BF16P, IN, OUT);
        free(x); free(w); free(ref); free(o); free(wb); free(wp);
    }
    be_close(be); be_close(be1);
}
/* x W from W's own rows (the bf16 backward's g W and g^T x, K-major sources packed without a
 * transposed copy; bf16 or fp32 rounded as packed) equals x (W^T)^T through the row-major path
 * bit for bit: odd K, N off the 64-wide panels, 1 to 2 row chunks, row strides past N. */
static void kmajor_case(const char *kernel) {
    mrl_backend *be, *be1;
    open_bf16dot(kernel, &be, &be1);
    int shapes[][2] = {{53, 37}, {96, 130}, {600, 64}};
    for (int sh = 0; sh < 3; sh++) {
        int K = shapes[sh][0], N = shapes[sh][1], ldw = N + 3, TM = 150;
        float *x = malloc(sizeof(float) * TM * K), *wf = malloc(sizeof(float) * K * ldw);
        float *ref = malloc(sizeof(float) * TM * N), *o = malloc(sizeof(float) * TM * N);
        uint16_t *wb = malloc(2 * (size_t)K * ldw), *wt = malloc(2 * (size_t)K * N);
        float *xt = malloc(sizeof(float) * K * (TM + 5));   /* x^T, row stride TM + 5 */
        uint64_t r = 3;
        fill_uniform(x, (size_t)TM * K, &r);
        for (int t = 0; t < TM; t++) for (int k = 0; k < K; k++) xt[(size_t)k * (TM + 5) + t] = x[(size_t)t * K + k];
        fill_uniform(wf, (size_t)K * ldw, &r);
        for (size_t i = 0; i < (size_t)K * ldw; i++) wb[i] = cpu_bf16_rne(wf[i]);
        for (int k = 0; k < K; k++) for (int n = 0; n < N; n++) wt[(size_t)n * K + k] = wb[(size_t)k * ldw + n];
        int Ts[] = {1, 17, 150};
        for (int a = 0; a < 3; a++) {
            int T = Ts[a];
            cpu_bf16dot_xwT(be, ref, N, 0.0f, x, K, T, K, wt, N);
            cpu_bf16dot_xw(be, o, N, 0.0f, x, K, 0, T, K, wb, 0, ldw, N);
            EXPECTF(!memcmp(o, ref, sizeof(float) * T * N), "K %d N %d T %d: bf16 K-major differs", K, N, T);
            cpu_bf16dot_xw(be1, o, N, 0.0f, x, K, 0, T, K, wf, 1, ldw, N);
            EXPECTF(!memcmp(o, ref, sizeof(float) * T * N), "K %d N %d T %d: fp32 K-major (1 thread) differs", K, N, T);
            cpu_bf16dot_xw(be, o, N, 0.0f, xt, TM + 5, 1, T, K, wb, 0, ldw, N);   /* x from x^T too */
            EXPECTF(!memcmp(o, ref, sizeof(float) * T * N), "K %d N %d T %d: x from its transpose differs", K, N, T);
        }
        free(x); free(wf); free(ref); free(o); free(wb); free(wt); free(xt);
    }
    be_close(be); be_close(be1);
}
BF16_KERNEL_TESTS(bf16_kmajor_equals_transposed, bf16_amx_kmajor_equals_transposed, kmajor_case)

/* out = beta out + x W^T for beta 1 (the backward's dW += g^T x: on AMX whole tiles start from
 * out and sum in place) and 0.5 (through the accumulators): within fp32 rounding of the same sum
 * in double, each row independent of the row count, one thread equal to two; 1 and 2 row
 * chunks, N on and off the 64-wide panels, a row stride past N. */
static void accumulate_case(const char *kernel) {
    mrl_backend *be, *be1;
    open_bf16dot(kernel, &be, &be1);
    int shapes[][2] = {{96, 128}, {300, 70}, {1536, 64}};
    float betas[] = {1.0f, 0.5f};
    for (int sh = 0; sh < 3; sh++)
        for (int bi = 0; bi < 2; bi++) {
            int IN = shapes[sh][0], N = shapes[sh][1], ldo = N + 16, TM = 150;
            float beta = betas[bi];
            float *x = malloc(sizeof(float) * TM * IN), *w = malloc(sizeof(float) * N * IN);
            float *o0 = malloc(sizeof(float) * TM * ldo), *ref = malloc(sizeof(float) * TM * ldo), *o = malloc(sizeof(float) * TM * ldo);
            uint16_t *wb = malloc(2 * (size_t)N * IN);
            uint64_t r = 17;
            fill_uniform(x, (size_t)TM * IN, &r);
            fill_uniform(w, (size_t)N * IN, &r);
            fill_uniform(o0, (size_t)TM * ldo, &r);
            for (size_t i = 0; i < (size_t)N * IN; i++) wb[i] = cpu_bf16_rne(w[i]);
            memcpy(ref, o0, sizeof(float) * TM * ldo);
            cpu_bf16dot_xwT(be, ref, ldo, beta, x, IN, TM, IN, wb, N);
            double worst = 0;
            for (int t = 0; t < TM; t++)
                for (int j = 0; j < ldo; j++) {
                    double s = o0[(size_t)t * ldo + j];
                    if (j < N) {
                        s *= beta;
                        for (int i = 0; i < IN; i++) s += (double)bf16r(x[(size_t)t * IN + i]) * bf16r(w[(size_t)j * IN + i]);
                    }
                    worst = fmax(worst, fabs(s - ref[(size_t)t * ldo + j]) / fmax(1.0, fabs(s)));
                }
            EXPECTF(worst < 5e-5, "IN %d N %d beta %g: %g off the sum in double (or a column past N written)", IN, N, beta, worst);
            int Ts[] = {1, 16, 17, 64, 100};
            for (int k = 0; k < 5; k++) {
                memcpy(o, o0, sizeof(float) * TM * ldo);
                cpu_bf16dot_xwT(be, o, ldo, beta, x, IN, Ts[k], IN, wb, N);
                EXPECTF(!memcmp(o, ref, sizeof(float) * Ts[k] * ldo) && !memcmp(o + (size_t)Ts[k] * ldo, o0 + (size_t)Ts[k] * ldo,
                                                                                 sizeof(float) * (TM - Ts[k]) * ldo),
                        "IN %d N %d beta %g: %d rows differ from the same rows among %d", IN, N, beta, Ts[k], TM);
            }
            memcpy(o, o0, sizeof(float) * TM * ldo);
            cpu_bf16dot_xwT(be1, o, ldo, beta, x, IN, TM, IN, wb, N);
            EXPECTF(!memcmp(o, ref, sizeof(float) * TM * ldo), "IN %d N %d beta %g: 1 thread differs from 2", IN, N, beta);
            free(x); free(w); free(o0); free(ref); free(o); free(wb);
        }
    be_close(be); be_close(be1);
}
BF16_KERNEL_TESTS(bf16_accumulates_into_out, bf16_amx_accumulates_into_out, accumulate_case)

BF16_KERNEL_TESTS(bf16_packed_equals_unpacked, bf16_amx_packed_equals_unpacked, packed_case)

/* An output of 4 MB and more, 64-byte aligned, is written with non-temporal stores (NT_MIN in
 * bf16dot.c): the same bits as the same rows computed 64 at a time (outputs of 280 KB, plain
 * stores), with W per call and packed, on 1 and 2 threads; OUT 1104 ends in a partial panel
 * (plain stores within the same product). Outputs the streaming must leave alone at that size:
 * one accumulated into (beta 1: out + x W^T, the sum of what was there) and one 4 bytes off a
 * line (a streamed store there faults). */
static void big_out_case(const char *kernel) {
    mrl_backend *be, *be1;
    open_bf16dot(kernel, &be, &be1);
    int IN = 64, OUT = 1104, T = 1024, C = 64;
    float *x = malloc(sizeof(float) * T * IN), *w = malloc(sizeof(float) * OUT * IN), *ref = malloc(sizeof(float) * T * OUT);
    float *o = NULL;
    uint16_t *wb = malloc(2 * (size_t)OUT * IN);
    EXPECT(!posix_memalign((void **)&o, 64, sizeof(float) * T * OUT));
    uint64_t r = 17;
    fill_uniform(x, (size_t)T * IN, &r);
    fill_uniform(w, (size_t)OUT * IN, &r);
    op_cast(be, wb, MRL_BF16, w, MRL_F32, (size_t)OUT * IN);
    for (int t0 = 0; t0 < T; t0 += C) op_linear_fwd(be, ref + (size_t)t0 * OUT, 0, x + (size_t)t0 * IN, wb, MRL_BF16, NULL, C, IN, OUT);
    size_t nb = op_pack_weight(be, NULL, NULL, MRL_BF16, OUT, IN);
    void *wp = malloc(nb);
    EXPECT(op_pack_weight(be, wp, wb, MRL_BF16, OUT, IN) == nb);
    for (int v = 0; v < 4; v++) {   /* per call / packed, 2 / 1 threads */
        for (size_t i = 0; i < (size_t)T * OUT; i++) o[i] = NAN;
        op_linear_fwd(v & 2 ? be1 : be, o, 0, x, v & 1 ? wp : (void *)wb, v & 1 ? MRL_BF16P : MRL_BF16, NULL, T, IN, OUT);
        EXPECTF(!memcmp(o, ref, sizeof(float) * T * OUT), "%s W, %d thread(s): a 4.5 MB output differs from the rows 64 at a time",
                v & 1 ? "packed" : "per-call", v & 2 ? 1 : 2);
    }
    float *acc = NULL, *want = malloc(sizeof(float) * T * OUT);
    EXPECT(!posix_memalign((void **)&acc, 64, sizeof(float) * (T * OUT + 16)));
    fill_uniform(want, (size_t)T * OUT, &r);
    memcpy(acc, want, sizeof(float) * T * OUT);
    for (int t0 = 0; t0 < T; t0 += C) op_linear_fwd(be, want + (size_t)t0 * OUT, 1, x + (size_t)t0 * IN, wb, MRL_BF16, NULL, C, IN, OUT);
    op_linear_fwd(be, acc, 1, x, wb, MRL_BF16, NULL, T, IN, OUT);
    EXPECTF(!memcmp(acc, want, sizeof(float) * T * OUT), "a 4.5 MB output accumulated into differs from the rows 64 at a time");
    float *off = acc + 1;   /* 4 bytes past a line */
    for (size_t i = 0; i < (size_t)T * OUT; i++) off[i] = NAN;
    op_linear_fwd(be, off, 0, x, wp, MRL_BF16P, NULL, T, IN, OUT);
    EXPECTF(!memcmp(off, ref, sizeof(float) * T * OUT), "a 4.5 MB output off a line differs from the rows 64 at a time");
    free(acc); free(want);
    free(x); free(w); free(ref); free(o); free(wb); free(wp);
    be_close(be); be_close(be1);
}
BF16_KERNEL_TESTS(bf16_big_output_same_bits, bf16_amx_big_output_same_bits, big_out_case)

/* An empty sum (IN = 0, or OUT = 0 in the backward's dinp = dout W) writes zeros over whatever
 * the output held (as the fp32 paths do), not beta times it: 0 x NaN is NaN. */
static void empty_sum_case(const char *kernel) {
    mrl_backend *be, *be1;
    open_bf16dot(kernel, &be, &be1);
    int T = 5, N = 3;
    float o[15], x[1] = {0}, g[1] = {0}, dw[1] = {0};
    uint16_t wb[1] = {0};
    for (int i = 0; i < T * N; i++) o[i] = NAN;
    op_linear_fwd(be, o, 0, x, wb, MRL_BF16, NULL, T, 0, N);
    int zero = 1;
    for (int i = 0; i < T * N; i++) zero &= o[i] == 0;
    EXPECTF(zero, "x W^T with IN = 0 left %g, not 0", o[0]);
    for (int i = 0; i < T * N; i++) o[i] = NAN;
    op_linear_bwd(be, o, 0, dw, NULL, g, x, wb, MRL_BF16, T, N, 0);
    zero = 1;
    for (int i = 0; i < T * N; i++) zero &= o[i] == 0;
    EXPECTF(zero, "dinp = dout W with OUT = 0 left %g, not 0", o[0]);
    be_close(be); be_close(be1);
}
BF16_KERNEL_TESTS(bf16_empty_sum_writes_zeros, bf16_amx_empty_sum_writes_zeros, empty_sum_case)

/* The FMA kernel against vdpbf16ps, bit for bit, where products and sums leave the normal range:
 * operands spread over 2^-140 .. 2^20 (bf16 denormals, which both read as 0, and products and
 * partial sums below 2^-126, which both flush to 0), some inf and NaN; x W^T with W per call
 * and packed, and the backward's x W from W's rows and from x^T (fp32 rounded as packed), beta
 * 0, 1 and 0.5, row counts across the register blocks, K odd and even, and under the caller's
 * FE_UPWARD. A NaN matches a NaN (its sign may differ where several NaNs meet: the FMAs' operand
 * order is the compiler's). */
static float wide_val_s(uint64_t *r, int special) {
    *r = *r * 6364136223846793005ull + 1442695040888963407ull;
    int e = (int)(*r >> 58) * 160 / 64 - 140;   /* -140 .. 19 */
    float v = ldexpf((float)((*r >> 33) & 0xffffff) / (1 << 24) + 0.5f, e);
    if (special && (*r >> 20) % 64 == 0) v = (*r >> 27) % 3 == 0 ? NAN : INFINITY;
    return (*r >> 31) & 1 ? -v : v;
}
/* with inf and NaN in 1 of 64 values: for a sum of K products to be finite at all, K well under
   100 (for the long sums, wide_val_s(r, 0)) */
static float wide_val(uint64_t *r) { return wide_val_s(r, 1); }
static int same_bits_or_nan(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], 4) && !(isnan(a[i]) && isnan(b[i]))) return 0;
    return 1;
}
TEST(bf16_fma_same_bits_as_vdpbf16ps) {
    if (!cpu_bf16dot_supported()) SKIP("no AVX512_BF16 on this CPU");
    mrl_backend *bd, *bd1, *bf, *bf1;
    open_bf16dot("0", &bd, &bd1);
    open_bf16dot("fma", &bf, &bf1);
    int shapes[][2] = {{1, 70}, {2, 5}, {33, 130}, {600, 64}};
    int Ts[] = {1, 5, 6, 7, 13, 64, 150};
    float betas[] = {0.0f, 1.0f, 0.5f};
    int bad = 0, tiny = 0, fin = 0, all = 0;
    for (int sh = 0; sh < 4; sh++) {
        int K = shapes[sh][0], N = shapes[sh][1], TM = 150;
        float *x = malloc(sizeof(float) * TM * K), *xt = malloc(sizeof(float) * K * TM), *wf = malloc(sizeof(float) * K * N);
        float *o0 = malloc(sizeof(float) * TM * N), *a = malloc(sizeof(float) * TM * N), *b = malloc(sizeof(float) * TM * N);
        uint16_t *wb = malloc(2 * (size_t)N * K), *wk = malloc(2 * (size_t)K * N);
        uint64_t r = 1234 + sh;
        int sp = K < 64;   /* inf and NaN among the operands of the short sums only (else every sum is one) */
        for (int i = 0; i < TM * K; i++) x[i] = wide_val_s(&r, sp);
        for (int t = 0; t < TM; t++) for (int k = 0; k < K; k++) xt[(size_t)k * TM + t] = x[(size_t)t * K + k];
        for (int i = 0; i < K * N; i++) { wf[i] = wide_val_s(&r, sp); wk[i] = cpu_bf16_rne(wf[i]); }   /* [K][N] */
        for (int n = 0; n < N; n++) for (int k = 0; k < K; k++) wb[(size_t)n * K + k] = wk[(size_t)k * N + n];   /* [N][K] */
        for (int i = 0; i < TM * N; i++) o0[i] = wide_val(&r);
        size_t nb = op_pack_weight(bd, NULL, NULL, MRL_BF16, N, K);
        void *wp = malloc(nb);
        op_pack_weight(bd, wp, wb, MRL_BF16, N, K);
        for (int ti = 0; ti < 7; ti++)
            for (int bi = 0; bi < 3; bi++)
                for (int path = 0; path < 5; path++) {
                    int T = Ts[ti];
                    float beta = betas[bi];
                    for (int side = 0; side < 2; side++) {
                        mrl_backend *be = side ? (ti % 2 ? bf1 : bf) : bd;
                        float *o = side ? b : a;
                        memcpy(o, o0, sizeof(float) * TM * N);
                        if (path == 0) cpu_bf16dot_xwT(be, o, N, beta, x, K, T, K, wb, N);
                        else if (path == 1) cpu_bf16p_xwT(be, o, N, beta, x, K, T, K, wp, N);
                        else if (path == 2) cpu_bf16dot_xw(be, o, N, beta, x, K, 0, T, K, wk, 0, N, N);
                        else if (path == 3) cpu_bf16dot_xw(be, o, N, beta, x, K, 0, T, K, wf, 1, N, N);
                        else cpu_bf16dot_xw(be, o, N, beta, xt, TM, 1, T, K, wk, 0, N, N);
                    }
                    if (!same_bits_or_nan(a, b, (size_t)TM * N) && bad++ < 5)
                        printf("  K %d N %d T %d beta %g path %d: FMA differs from vdpbf16ps\n", K, N, T, beta, path);
                    for (int i = 0; i < T * N; i++) tiny += a[i] != 0 && fabsf(a[i]) < 0x1p-100f, fin += isfinite(a[i]), all++;
                }
        /* the program's own rounding mode does not reach the FMAs (vdpbf16ps ignores it): one
           thread, so the whole product runs where fesetround set it; beta 0.5 takes store_row's
           multiply-add, the same on both paths, under that mode too */
        for (int path = 0; path < 2; path++) {
            fesetround(FE_UPWARD);
            for (int side = 0; side < 2; side++) {
                float *o = side ? b : a;
                memcpy(o, o0, sizeof(float) * TM * N);
                if (path == 0) cpu_bf16dot_xwT(side ? bf1 : bd1, o, N, 0.5f, x, K, TM, K, wb, N);
                else cpu_bf16dot_xw(side ? bf1 : bd1, o, N, 0.5f, xt, TM, 1, TM, K, wk, 0, N, N);
            }
            fesetround(FE_TONEAREST);
            if (!same_bits_or_nan(a, b, (size_t)TM * N) && bad++ < 5)
                printf("  K %d N %d path %d: FMA differs from vdpbf16ps under FE_UPWARD\n", K, N, path);
        }
        free(x); free(xt); free(wf); free(o0); free(a); free(b); free(wb); free(wk); free(wp);
    }
    EXPECTF(bad == 0, "%d products differ", bad);
    EXPECTF(tiny > 1000, "only %d outputs below 2^-100: the data does not reach the flushed range", tiny);
    EXPECTF(fin > all / 2, "only %d of %d outputs finite: NaN matching NaN would hide differences", fin, all);
    be_close(bd); be_close(bd1); be_close(bf); be_close(bf1);
}

/* The FMA path's task split: the first three quarters of a many-row product's tasks in one
 * contiguous range per thread, the rest handed out as threads free up; W widened once for the
 * product (8 row chunks and more), or block by block in each task (fewer chunks, or
 * MRL_CPU_BF16_WIDE_ALL=0); x rounded by each thread for its chunk. On 1, 3 and 5 threads
 * (more threads than cores), with padded strides, every path, and vdpbf16ps too, gives the bits
 * of a scalar emulation of the instruction (each pair's odd
 * product, then its even one, by fmaf, bf16 denormals read as 0, denormal sums flushed; beta y
 * added by one more fmaf): a task run twice shows with beta 0.5, one skipped with beta 0, a
 * block read from the wrong place anywhere. */
static float bf_daz(uint16_t h) {   /* a bf16 as the instruction reads it */
    uint32_t u = (uint32_t)h << 16;
    float v;
    if (!(u & 0x7f800000)) u &= 0x80000000;
    memcpy(&v, &u, 4);
    return v;
}
static float ftz(float v) { return v != 0 && fabsf(v) < FLT_MIN ? copysignf(0.0f, v) : v; }
/* +-[1/16, 16): every term of a long sum reaches its last bits (bf16_fma_same_bits_as_vdpbf16ps
   has the wide exponents, the denormals, inf and NaN) */
static float narrow_val(uint64_t *r) {
    *r = *r * 6364136223846793005ull + 1442695040888963407ull;
    float v = ldexpf((float)((*r >> 33) & 0xffffff) / (1 << 24) + 0.5f, (int)(*r >> 59) % 9 - 3);
    return (*r >> 31) & 1 ? -v : v;
}
TEST(bf16_fma_task_split_same_bits) {
    if (!cpu_bf16dot_supported()) SKIP("no AVX512_BF16 on this CPU");
    mrl_backend *be_[7];
    int ths[3] = {1, 3, 5};
    be_[0] = open_bf16_kernel("0", 2, 1);   /* vdpbf16ps */
    for (int i = 0; i < 6; i++) be_[i + 1] = open_bf16_kernel("fma", ths[i % 3], i < 3);
    /* 850 rows: 8 chunks (W widened once), 367: 4 (block by block); 24 and 16 tasks, K over one
       K-block of 256 pairs */
    int shapes[][3] = {{850, 515, 130}, {367, 1025, 200}};
    int bad = 0, fin = 0, all = 0;
    for (int sh = 0; sh < 2; sh++) {
        int T = shapes[sh][0], IN = shapes[sh][1], OUT = shapes[sh][2], ldx = IN + 3, ldo = OUT + 5, ldt = T + 2;
        float *x = malloc(sizeof(float) * T * ldx), *xt = malloc(sizeof(float) * IN * ldt), *wf = malloc(sizeof(float) * IN * OUT);
        float *o0 = malloc(sizeof(float) * T * ldo), *o = malloc(sizeof(float) * T * ldo), *sum = malloc(sizeof(float) * T * OUT);
        uint16_t *wb = malloc(2 * (size_t)OUT * IN), *wk = malloc(2 * (size_t)IN * OUT), *xb = malloc(2 * (size_t)T * IN);
        uint64_t r = 77 + sh;
        for (int i = 0; i < T * ldx; i++) x[i] = narrow_val(&r);
        for (int t = 0; t < T; t++) for (int k = 0; k < IN; k++) xt[(size_t)k * ldt + t] = x[(size_t)t * ldx + k];
        for (int t = 0; t < T; t++) for (int k = 0; k < IN; k++) xb[(size_t)t * IN + k] = cpu_bf16_rne(x[(size_t)t * ldx + k]);
        for (int i = 0; i < IN * OUT; i++) { wf[i] = narrow_val(&r); wk[i] = cpu_bf16_rne(wf[i]); }   /* [IN][OUT] */
        for (int n = 0; n < OUT; n++) for (int k = 0; k < IN; k++) wb[(size_t)n * IN + k] = wk[(size_t)k * OUT + n];
        for (int i = 0; i < T * ldo; i++) o0[i] = narrow_val(&r);
        for (int t = 0; t < T; t++)
            for (int n = 0; n < OUT; n++) {
                const uint16_t *xr = xb + (size_t)t * IN, *wr = wb + (size_t)n * IN;
                float acc = 0;
                for (int k = 0; k < IN; k += 2) {
                    if (k + 1 < IN) acc = ftz(fmaf(bf_daz(xr[k + 1]), bf_daz(wr[k + 1]), acc));
                    acc = ftz(fmaf(bf_daz(xr[k]), bf_daz(wr[k]), acc));
                }
                sum[(size_t)t * OUT + n] = acc;
            }
        for (int i = 0; i < T * OUT; i++) fin += isfinite(sum[i]) && sum[i] != 0, all++;
        for (int path = 0; path < 4; path++)
            for (int bi = 0; bi < 2; bi++)
                for (int side = 0; side < 7; side++) {
                    mrl_backend *be = be_[side];
                    float beta = bi ? 0.5f : 0.0f;
                    memcpy(o, o0, sizeof(float) * T * ldo);
                    if (path == 0) cpu_bf16dot_xwT(be, o, ldo, beta, x, ldx, T, IN, wb, OUT);
                    else if (path == 1) cpu_bf16dot_xw(be, o, ldo, beta, x, ldx, 0, T, IN, wk, 0, OUT, OUT);
                    else if (path == 2) cpu_bf16dot_xw(be, o, ldo, beta, x, ldx, 0, T, IN, wf, 1, OUT, OUT);
                    else cpu_bf16dot_xw(be, o, ldo, beta, xt, ldt, 1, T, IN, wf, 1, OUT, OUT);
                    int diff = 0;
                    for (int t = 0; t < T; t++)
                        for (int n = 0; n < ldo; n++) {
                            float y0 = o0[(size_t)t * ldo + n], want = n >= OUT ? y0 : beta == 0 ? sum[(size_t)t * OUT + n]
                                                                                  : fmaf(beta, y0, sum[(size_t)t * OUT + n]);
                            diff += memcmp(&want, &o[(size_t)t * ldo + n], 4) != 0;
                        }
                    if (diff && bad++ < 5)
                        printf("  T %d IN %d OUT %d path %d beta %g: %s, %d threads%s: %d outputs differ from the emulation\n", T, IN,
                               OUT, path, beta, side ? "FMA" : "vdpbf16ps", be->threads, side && side <= 3 ? ", W widened once" : "", diff);
                }
        free(x); free(xt); free(wf); free(o0); free(o); free(sum); free(wb); free(wk); free(xb);
    }
    EXPECTF(bad == 0, "%d products differ", bad);
    EXPECTF(fin == all, "%d of %d sums finite and nonzero", fin, all);
    for (int i = 0; i < 7; i++) be_close(be_[i]);
}

/* The same empty sums on every other path: the AVX-512 tiles, and OpenBLAS below AVX-512
 * (MRL_CPU_SIMD=avx2, none), fp32 and bf16 weights, the streaming kernel's few rows and the
 * GEMM's many: dinp = dout W with OUT = 0 is 0 (acc: dinp as it was), x W^T with IN = 0 is 0.
 * The bf16 weights' OpenBLAS backward converted W tile by tile and ran a product per tile:
 * with no rows of W there was none, and dinp kept what it held (NaN here). */
TEST(empty_sums_write_zeros_on_every_path) {
    static const char *simds[] = {NULL, "avx2", "none"};
    int bad = 0;
    for (int sp = 0; sp < 3; sp++) {
        mrl_backend *be = cpu_open(simds[sp]);
        if (!be) { bad++; continue; }
        for (int bf = 0; bf < 2; bf++)
            for (int T = 1; T <= 200; T += 199)
                for (int acc = 0; acc < 2; acc++) {
                    enum { N = 3 };
                    float *o = malloc(sizeof(float) * T * N), x[1] = {0}, g[1] = {0}, dw[1] = {0}, wf[1] = {0};
                    uint16_t wb[1] = {0};
                    const void *w = bf ? (const void *)wb : (const void *)wf;
                    mrl_dtype wd = bf ? MRL_BF16 : MRL_F32;
                    const char *path = simds[sp] ? simds[sp] : "default";
                    for (int i = 0; i < T * N; i++) o[i] = acc ? (float)i : NAN;
                    op_linear_bwd(be, o, acc, dw, NULL, g, x, w, wd, T, N, 0);
                    int ok = 1;
                    for (int i = 0; i < T * N; i++) ok &= o[i] == (acc ? (float)i : 0.0f);
                    if (!ok && bad++ < 5)
                        printf("  %s, %s weights, %d rows, acc %d: dinp = dout W with OUT = 0 left %g at [0], not %g\n", path,
                               bf ? "bf16" : "fp32", T, acc, o[0], 0.0);
                    for (int i = 0; i < T * N; i++) o[i] = acc ? (float)i : NAN;
                    op_linear_fwd(be, o, acc, x, w, wd, NULL, T, 0, N);
                    ok = 1;
                    for (int i = 0; i < T * N; i++) ok &= o[i] == (acc ? (float)i : 0.0f);
                    if (!ok && bad++ < 5)
                        printf("  %s, %s weights, %d rows, acc %d: x W^T with IN = 0 left %g at [0]\n", path, bf ? "bf16" : "fp32",
                               T, acc, o[0]);
                    free(o);
                }
        be_close(be);
    }
    EXPECTF(bad == 0, "%d empty sums not written as 0", bad);
}

/* Paged attention over scattered blocks equals packed causal attention row by row. */
/* Each case runs on the CPU's own kernels, then with MRL_CPU_SIMD=avx2 and =none: a head dim
 * that is a multiple of 16 takes the AVX-512 kernel (keys four at a time, so the 11- and
 * 6-token contexts exercise the remainder too; a GQA group of 12 heads is taken 8 + 4), a
 * multiple of 8 the AVX2 one (keys two at a time, 6 heads per pass: 12 = 6 + 6, 7 = 6 + 1;
 * D = 8 and 40 leave an 8-column slice), D = 12 and SIMD "none" the portable loop. A bf16 cache
 * (kvdt) equals packed attention on K and V rounded to bf16 (cpu_bf16_rne) and the queries as
 * they are. */
static void paged_case(int D, int H, int K, mrl_dtype kvdt, const char *simd) {
    mrl_backend *be = cpu_open(simd);
    enum { BS = 4, NS = 2 };
    int lens[NS] = {11, 6}, T = 17, st = (H + 2 * K) * D, cu[NS + 1] = {0, 11, 17};
    float *qkv = malloc(sizeof(float) * T * st), *ref = malloc(sizeof(float) * T * H * D), *lse = malloc(sizeof(float) * T * H);
    float *out = malloc(sizeof(float) * T * H * D), *qkvr = malloc(sizeof(float) * T * st);
    uint64_t r = 7;
    fill_uniform(qkv, (size_t)(T * st), &r);
    memcpy(qkvr, qkv, sizeof(float) * T * st);
    if (kvdt == MRL_BF16)
        for (int t = 0; t < T; t++)
            for (int i = H * D; i < st; i++) {
                uint32_t u = (uint32_t)cpu_bf16_rne(qkvr[(size_t)t * st + i]) << 16;
                memcpy(&qkvr[(size_t)t * st + i], &u, 4);
            }
    void *w = malloc(op_attention_work(be, T, 11, H, D));
    op_attention_fwd(be, ref, lse, qkvr, qkvr + H * D, qkvr + (H + K) * D, st, cu, cu, NS, T, H, K, D, w);
    /* blocks handed out in a scrambled order: seq 0 gets 5,1,7; seq 1 gets 2,6 */
    int32_t bt[NS * 3] = {5, 1, 7, 2, 6, 0};
    void *kp = calloc(8 * BS * K * D, sizeof(float)), *vp = calloc(8 * BS * K * D, sizeof(float));
    int32_t slots[17], rseq[17], rctx[17];
    for (int s = 0; s < NS; s++)
        for (int i = 0; i < lens[s]; i++) {
            int t = cu[s] + i;
            slots[t] = bt[s * 3 + i / BS] * BS + i % BS; rseq[t] = s; rctx[t] = i + 1;
        }
    op_kv_write(be, kp, vp, kvdt, qkv + H * D, qkv + (H + K) * D, st, slots, T, K, D);
    if (kvdt == MRL_BF16) {   /* the pool holds the rounded values, two bytes each */
        int same = 1;
        for (int t = 0; t < T; t++)
            for (int i = 0; i < K * D; i++) {
                uint16_t kb = ((uint16_t *)kp)[(size_t)slots[t] * K * D + i], vb = ((uint16_t *)vp)[(size_t)slots[t] * K * D + i];
                same &= kb == cpu_bf16_rne(qkv[(size_t)t * st + H * D + i]) && vb == cpu_bf16_rne(qkv[(size_t)t * st + (H + K) * D + i]);
            }
        EXPECTF(same, "D %d: kv_write did not store K and V rounded to bf16", D);
    }
    void *pw = malloc(op_attention_paged_work(be, T, 11, H, D));
    op_attention_paged(be, out, qkv, st, kp, vp, kvdt, bt, 3, BS, rseq, rctx, T, H, K, D, pw);
    double worst = 0;
    for (int i = 0; i < T * H * D; i++) worst = fmax(worst, fabs(out[i] - ref[i]));
    EXPECTF(worst < 1e-6, "D %d H %d K %d kv %s simd %s: max difference %g", D, H, K, kvdt == MRL_BF16 ? "bf16" : "fp32",
            simd ? simd : "(own)", worst);
    qkv[0] = NAN;   /* a diverged model shows as NaN, it is not turned into weights of ~0 */
    op_attention_paged(be, out, qkv, st, kp, vp, kvdt, bt, 3, BS, rseq, rctx, T, H, K, D, pw);
    int nan = 1;
    for (int i = 0; i < D; i++) nan &= isnan(out[i]);
    EXPECTF(nan, "D %d simd %s: a NaN query did not give a NaN output", D, simd ? simd : "(own)");
    free(qkv); free(qkvr); free(ref); free(lse); free(out); free(w); free(kp); free(vp); free(pw);
    be_close(be);
}
TEST(paged_attention_equals_packed) {
    const char *simds[3] = {NULL, "avx2", "none"};
    for (int sp = 0; sp < 3; sp++)
        for (int b = 0; b < 2; b++) {
            mrl_dtype dt = b ? MRL_BF16 : MRL_F32;
            const char *si = simds[sp];
            paged_case(8, 4, 2, dt, si); paged_case(12, 4, 2, dt, si); paged_case(32, 4, 2, dt, si);
            paged_case(16, 12, 1, dt, si); paged_case(32, 6, 3, dt, si); paged_case(40, 2, 1, dt, si);
            paged_case(64, 7, 1, dt, si); paged_case(128, 6, 2, dt, si);   /* the models' head dims and GQA groups */
            paged_case(544, 4, 2, dt, si);   /* a head dim past the models' (the portable kernel widens a row of D) */
        }
}

/* Long contexts (past the AVX2 kernel's 18-key prefetch and its 32-row P V chunks, and the
 * AVX-512 row-wide kernel's 32-row P V blocks, whose sums are reloaded from the output) and GQA
 * groups of 1, 5 and 13 heads (6 + 6 + 1), the 1.5B model's 12 heads on 2 KV heads of 128:
 * every row against float64 on the CPU's kernels, avx2 and none, each row the same bits alone
 * (per-group tasks) as in the batch (a row a task). Blocks of 3 tokens, a pool sized exactly
 * (ASan sees a read past it). */
TEST(paged_attention_long_context) {
    enum { R = 5, BS = 3, MB = 40 };
    static const int ctx[R] = {0, 1, 33, 70, 118}, HKD[][3] = {{5, 5, 24}, {5, 1, 40}, {13, 1, 8}, {6, 2, 16}, {12, 2, 128}, {8, 2, 64}, {4, 2, 48}, {4, 4, 32}};
    static const char *simds[3] = {NULL, "avx2", "none"};
    int bad = 0;
    for (int c = 0; c < 8; c++) for (int b = 0; b < 2; b++) {
        int H = HKD[c][0], K = HKD[c][1], D = HKD[c][2], grp = H / K, qs = H * D + 1;
        mrl_dtype dt = b ? MRL_BF16 : MRL_F32;
        size_t row = (size_t)K * D, nel = (size_t)R * MB * BS * row, es = b ? 2 : 4;
        float *kf = malloc(sizeof(float) * nel), *vf = malloc(sizeof(float) * nel), *q = malloc(sizeof(float) * R * qs);
        float *out = malloc(sizeof(float) * R * H * D), *one = malloc(sizeof(float) * H * D);
        char *kp = malloc(nel * es), *vp = malloc(nel * es);
        uint64_t r = 3 + c;
        fill_uniform(kf, nel, &r); fill_uniform(vf, nel, &r); fill_uniform(q, (size_t)R * qs, &r);
        for (size_t i = 0; i < nel; i++) {
            kf[i] *= 3;
            if (b) { ((uint16_t *)kp)[i] = cpu_bf16_rne(kf[i]); ((uint16_t *)vp)[i] = cpu_bf16_rne(vf[i]);
                     kf[i] = bf16r(kf[i]); vf[i] = bf16r(vf[i]); }
            else { ((float *)kp)[i] = kf[i]; ((float *)vp)[i] = vf[i]; }
        }
        int32_t bt[R * MB], rseq[R], rctx[R];
        for (int i = 0; i < R * MB; i++) bt[i] = (i * 37 + 11) % (R * MB);   /* a permutation of the blocks */
        for (int i = 0; i < R; i++) { rseq[i] = (i + 2) % R; rctx[i] = ctx[i]; }
        for (int sp = 0; sp < 3; sp++) {
            mrl_backend *be = cpu_open(simds[sp]);
            void *pw = malloc(op_attention_paged_work(be, R, 118, H, D));
            op_attention_paged(be, out, q, qs, kp, vp, dt, bt, MB, BS, rseq, rctx, R, H, K, D, pw);
            double worst = 0;
            for (int i = 0; i < R; i++) {
                const int32_t *tab = bt + rseq[i] * MB;
                int n = rctx[i];
                op_attention_paged(be, one, q + (size_t)i * qs, qs, kp, vp, dt, bt, MB, BS, rseq + i, rctx + i, 1, H, K, D, pw);
                if (memcmp(one, out + (size_t)i * H * D, sizeof(float) * H * D) && bad++ < 5)
                    printf("  H %d K %d D %d %s simd %s: row %d alone differs from the batch\n", H, K, D, b ? "bf16" : "fp32",
                           simds[sp] ? simds[sp] : "(own)", i);
                for (int h = 0; h < H; h++) {
                    double sc[118], m = -INFINITY, sum = 0, acc[128] = {0};
                    size_t ko = (size_t)(h / grp) * D;
                    for (int j = 0; j < n; j++) {
                        size_t sl = (size_t)tab[j / BS] * BS + j % BS; double d = 0;
                        for (int e = 0; e < D; e++) d += (double)q[(size_t)i * qs + h * D + e] * kf[sl * row + ko + e];
                        sc[j] = d / sqrt((double)D); m = fmax(m, sc[j]);
                    }
                    for (int j = 0; j < n; j++) { sc[j] = exp(sc[j] - m); sum += sc[j]; }
                    for (int j = 0; j < n; j++) {
                        size_t sl = (size_t)tab[j / BS] * BS + j % BS;
                        for (int e = 0; e < D; e++) acc[e] += sc[j] / sum * vf[sl * row + ko + e];
                    }
                    for (int e = 0; e < D; e++) {
                        double d = fabs(out[((size_t)i * H + h) * D + e] - acc[e]);
                        worst = d <= worst ? worst : d;   /* NaN -> NaN */
                    }
                }
            }
            if (!(worst < 1e-6) && bad++ < 5)
                printf("  H %d K %d D %d %s simd %s: max difference %g\n", H, K, D, b ? "bf16" : "fp32", simds[sp] ? simds[sp] : "(own)", worst);
            free(pw);
            be_close(be);
        }
        free(kf); free(vf); free(q); free(out); free(one); free(kp); free(vp);
    }
    EXPECTF(!bad, "%d paged attention results wrong or dependent on the batch", bad);
}

TEST(adamw_matches_formula) {
    mrl_backend *be = cpu_open(NULL);
    enum { N = 37 };
    float w[N], g[N], m[N], v[N], w0[N];
    uint16_t wc[N];
    for (int i = 0; i < N; i++) { w[i] = w0[i] = 0.1f * (i - 18); g[i] = 0.03f * ((i * 7) % 11 - 5); m[i] = 0.01f * (i % 3); v[i] = 0.001f * (i % 4); }
    float m0[N], v0[N]; memcpy(m0, m, sizeof m); memcpy(v0, v, sizeof v);
    float lr = 1e-2f, b1 = 0.9f, b2 = 0.99f, eps = 1e-8f, wd = 0.1f, gs = 0.5f; int step = 3;
    mrl_adamw_step st = op_adamw_step(lr, b1, b2, eps, wd, step, gs);
    op_adamw(be, w, g, m, v, wc, MRL_BF16, N, &st);
    for (int i = 0; i < N; i++) {   /* torch.optim.AdamW, in double */
        double gi = (double)g[i] * gs, mi = b1 * (double)m0[i] + (1 - b1) * gi, vi = b2 * (double)v0[i] + (1 - b2) * gi * gi;
        double wi = w0[i] * (1 - (double)lr * wd);
        wi -= lr / (1 - pow(b1, step)) * mi / (sqrt(vi) / sqrt(1 - pow(b2, step)) + eps);
        EXPECT_NEAR(w[i], wi, 1e-5);
        EXPECT_NEAR(m[i], mi, 1e-6);
        EXPECT_NEAR(v[i], vi, 1e-6);
        uint32_t u = (uint32_t)wc[i] << 16; float f; memcpy(&f, &u, 4);
        EXPECT_NEAR(f, w[i], 4e-3);
    }
    float x[5] = {1, -2, 3, 0.5f, 0};
    EXPECT_NEAR(op_sumsq(be, x, 5), 14.25, 1e-12);
    op_scale(be, x, 5, 2.0f);
    EXPECT(x[1] == -4.0f && x[3] == 1.0f);
    be_close(be);
}

/* AdamW on AVX-512 (16 lanes), on AVX2 (8 lanes, MRL_CPU_SIMD=avx2) and on the portable loop
 * (MRL_CPU_SIMD=none): the same bits for
 * every element, over more than one span with a ragged tail, both lerp branches (beta1 0.9 and
 * 0.3), zero and subnormal moments and gradients, and a bf16 copy. */
TEST(adamw_simd_same_bits) {
    enum { N = 70001 };
    float *w[3], *g = malloc(sizeof(float) * N), *m[3], *v[3];
    uint16_t *wc[3];
    static const char *simd[3] = {NULL, "avx2", "none"};
    for (int k = 0; k < 3; k++) {
        w[k] = malloc(sizeof(float) * N); m[k] = malloc(sizeof(float) * N); v[k] = malloc(sizeof(float) * N);
        wc[k] = malloc(sizeof(uint16_t) * N);
    }
    static const float b1s[2] = {0.9f, 0.3f};
    int bad = 0;
    for (int c = 0; c < 2; c++) {
        uint64_t r = 99 + (uint64_t)c;
        for (int i = 0; i < N; i++) {
            r = r * 6364136223846793005ULL + 1;
            float u = (float)((r >> 40) * (1.0 / 8388608.0)) - 1.0f;
            g[i] = i % 97 == 0 ? 0.0f : i % 89 == 0 ? 1e-40f * u : u * 0.01f;
            w[0][i] = u; m[0][i] = i % 13 == 0 ? 0.0f : u * 1e-3f; v[0][i] = i % 11 == 0 ? (i % 2 ? 1e-42f : 0.0f) : u * u * 1e-5f;
            for (int k = 1; k < 3; k++) w[k][i] = w[0][i], m[k][i] = m[0][i], v[k][i] = v[0][i];
        }
        mrl_adamw_step st = op_adamw_step(3e-4, b1s[c], 0.999, 1e-8, 0.1, 7, 0.75);
        for (int k = 0; k < 3; k++) {
            mrl_backend *be = cpu_open(simd[k]);
            op_adamw(be, w[k], g, m[k], v[k], wc[k], MRL_BF16, N, &st);
            be_close(be);
        }
        for (int k = 0; k < 2; k++) {
            int d = 0;
            for (int i = 0; i < N; i++)
                d += memcmp(&w[k][i], &w[2][i], 4) || memcmp(&m[k][i], &m[2][i], 4) || memcmp(&v[k][i], &v[2][i], 4) || wc[k][i] != wc[2][i];
            if (d) { bad++; printf("  beta1 %g: %d of %d elements differ between the %s and portable AdamW\n", b1s[c], d, N, k ? "AVX2" : "default SIMD"); }
        }
    }
    EXPECTF(bad == 0, "AdamW's SIMD path is not the portable loop's bits");
    for (int k = 0; k < 3; k++) { free(w[k]); free(m[k]); free(v[k]); free(wc[k]); }
    free(g);
}

/* One AdamW step against torch.optim.AdamW's own bits (testdata/adamw/steps.json, from
 * tests/ref/adamw_bits_ref.py): m and v exactly, as torch's lerp_ and addcmul_ round them
 * (one rounding for the last multiply-add: its CPU kernels fuse it, so does CUDA), both lerp
 * branches (beta1 0.9 and 0.3), a gradient scale, zero moments and a zero gradient; w within
 * an ulp (torch's CPU sqrt is not always correctly rounded). Rounding each product apart, as
 * this op did, left a fifth of m and a tenth of v an ulp off torch's. */
static jv jget(jv o, const char *k) { return jv_object_get(jv_copy(o), jv_string(k)); }
static double jnum(jv o, const char *k) { jv x = jget(o, k); double d = jv_number_value(x); jv_free(x); return d; }
static float *jvec(jv o, const char *k, int n) {
    jv a = jget(o, k);
    float *out = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++) { jv x = jv_array_get(jv_copy(a), i); out[i] = (float)jv_number_value(x); jv_free(x); }
    jv_free(a);
    return out;
}
TEST(adamw_matches_torch_bits) {
    jv f = jv_load_file("testdata/adamw/steps.json", 0);
    if (!jv_is_valid(f)) { jv_free(f); EXPECTF(0, "testdata/adamw/steps.json missing or not JSON"); return; }
    f = jv_array_get(f, 0);   /* jv_load_file: the array of the file's JSON texts */
    jv cases = jget(f, "cases");
    int nc = jv_array_length(jv_copy(cases)), bad = 0;
    EXPECT(nc >= 4);
    mrl_backend *be = cpu_open(NULL);
    for (int c = 0; c < nc; c++) {
        jv cs = jv_array_get(jv_copy(cases), c);
        jv wl = jget(cs, "w");
        int n = jv_array_length(wl);
        float *w = jvec(cs, "w", n), *g = jvec(cs, "g", n), *m = jvec(cs, "m", n), *v = jvec(cs, "v", n);
        float *mt = jvec(cs, "m_after", n), *vt = jvec(cs, "v_after", n), *wt = jvec(cs, "w_after", n);
        mrl_adamw_step st = op_adamw_step(jnum(cs, "lr"), jnum(cs, "beta1"), jnum(cs, "beta2"), jnum(cs, "eps"),
                                          jnum(cs, "weight_decay"), (long)jnum(cs, "step"), jnum(cs, "grad_scale"));
        op_adamw(be, w, g, m, v, NULL, MRL_BF16, (size_t)n, &st);
        int dm = 0, dv = 0, dw = 0;
        for (int i = 0; i < n; i++) {
            dm += memcmp(&m[i], &mt[i], 4) != 0;
            dv += memcmp(&v[i], &vt[i], 4) != 0;
            dw += !(fabsf(w[i] - wt[i]) <= nextafterf(fabsf(wt[i]), INFINITY) - fabsf(wt[i]));
        }
        if (dm || dv || dw) {
            bad++;
            printf("  case %d (beta1 %g, step %g): %d of %d m, %d v differ from torch's bits, %d w more than an ulp off\n", c,
                   jnum(cs, "beta1"), jnum(cs, "step"), dm, n, dv, dw);
        }
        free(w); free(g); free(m); free(v); free(mt); free(vt); free(wt);
        jv_free(cs);
    }
    EXPECTF(bad == 0, "%d of %d AdamW steps differ from torch.optim.AdamW", bad, nc);
    jv_free(cases); jv_free(f);
    be_close(be);
}

/* The thread governor (threads.c) as data: the threads now, given, CPUs, the cores other
 * processes kept busy, the rise votes so far -> the next count and votes. */
TEST(thread_governor_decisions) {
    static const struct { int cur, max, ncpu; double others; int up, next, up_after; } c[] = {
        {2, 2, 2, 0.02, 0, 2, 0},    /* quiet */
        {2, 2, 2, 0.67, 0, 1, 0},    /* one busy process against our two threads: its 2/3 of a core */
        {1, 2, 2, 1.00, 0, 1, 0},    /* ... against one: it keeps its core, we keep ours */
        {2, 2, 2, 0.45, 0, 2, 0},    /* a core less than half used by others is still ours */
        {1, 2, 2, 0.05, 0, 1, 1},    /* it stopped: a rise waits for a second window */
        {1, 2, 2, 0.05, 1, 2, 0},    /* ... which confirms it */
        {1, 2, 2, 0.90, 1, 1, 0},    /* ... or not: the vote is reset */
        {4, 4, 4, 0.80, 0, 3, 0},    /* four cores, one busy process */
        {1, 4, 4, 0.00, 1, 4, 0},    /* a rise goes straight to what is free */
        {8, 8, 2, 0.00, 0, 2, 0},    /* more threads given than CPUs */
        {2, 2, 2, 3.00, 0, 1, 0},    /* never below one */
        {3, 3, 16, 0.00, 1, 3, 0},   /* never above what was given */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int up = c[i].up, next = cpu_threads_next(c[i].cur, c[i].max, c[i].ncpu, c[i].others, &up);
        EXPECTF(next == c[i].next && up == c[i].up_after, "case %zu: %d threads and %d votes, expected %d and %d",
                i, next, up, c[i].next, c[i].up_after);
    }
    /* /proc/stat's busy ticks: user nice system irq softirq steal of the CPUs in the mask */
    char dir[TEST_TMPDIR_MAX], path[PATH_MAX];
    test_tmpdir(dir, sizeof dir, "mrl-test-stat");
    snprintf(path, sizeof path, "%s/stat", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("cpu  900 9 900 9000 90 9 9 9 0 0\n"
              "cpu0 100 1 10 5000 70 2 3 4 0 0\n"
              "cpu1 200 2 20 4000 20 3 4 5 0 0\n"
              "cpu3 400 4 40 1 1 4 5 6\n"
              "intr 12345 1 2 3\n"
              "cpu2 999 999 999 0 0 0 0 0\n", f);   /* not a CPU line any more: the cpu lines have ended */
        fclose(f);
    }
    cpu_set_t set;
    CPU_ZERO(&set); CPU_SET(0, &set); CPU_SET(3, &set);
    EXPECTF(cpu_busy_ticks(path, &set) == 120 + 459, "busy ticks %lld", cpu_busy_ticks(path, &set));
    CPU_ZERO(&set); CPU_SET(2, &set);
    EXPECT(cpu_busy_ticks(path, &set) == -1);   /* none of its CPUs in the file */
    EXPECT(cpu_busy_ticks("/nonexistent/stat", &set) == -1);
    /* the "cpu  " total line is no CPU, even where its user ticks are a CPU number of the mask
       (the first seconds after boot, or a container's own /proc/stat) */
    f = fopen(path, "w");
    if (f) {
        fputs("cpu  3 1 1 50 0 0 0 0 0 0\n"
              "cpu0 2 0 1 30 0 0 0 0 0 0\n"
              "cpu1 1 1 0 20 0 0 0 0 0 0\n", f);
        fclose(f);
    }
    CPU_ZERO(&set); CPU_SET(3, &set);
    EXPECTF(cpu_busy_ticks(path, &set) == -1, "busy ticks %lld of a CPU that is not in the file", cpu_busy_ticks(path, &set));
    CPU_SET(1, &set);
    EXPECTF(cpu_busy_ticks(path, &set) == 2, "busy ticks %lld", cpu_busy_ticks(path, &set));
    remove(path); rmdir(dir);
    /* cgroup CPU quotas: v2 cpu.max, v1 cfs quota/period, the smallest up the ancestors, rounded up */
    static const struct { const char *self, *files; int cpus; } q[] = {
        {"0::/a/b\n", "a/b/cpu.max=max 100000|a/cpu.max=150000 100000", 2},
        {"0::/a/b\n", "a/b/cpu.max=50000 100000|a/cpu.max=300000 100000", 1},
        {"4:memory:/x\n2:cpu,cpuacct:/k/pod\n", "cpu,cpuacct/k/pod/cpu.cfs_quota_us=-1|cpu,cpuacct/k/cpu.cfs_quota_us=250000|"
                                                "cpu,cpuacct/k/cpu.cfs_period_us=100000", 3},
        {"0::/\n1:cpu:/\n", "cpu/cpu.cfs_quota_us=100000|cpu/cpu.cfs_period_us=100000", 1},
        {"0::/\n", "cpu.max=max 100000", 0},
        {"3:memory:/m\n", "memory/cpu.max=100000 100000", 0},   /* not the cpu controller's */
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        char root[TEST_TMPDIR_MAX], p[PATH_MAX + 512], spec[512];
        test_tmpdir(root, sizeof root, "mrl-test-cg");
        snprintf(spec, sizeof spec, "%s", q[i].files);
        char *save = NULL;
        for (char *t = strtok_r(spec, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
            char *eq = strchr(t, '=');
            *eq = 0;
            for (char *sl = t; (sl = strchr(sl, '/')); sl++) {   /* its directories */
                snprintf(p, sizeof p, "%s/%.*s", root, (int)(sl - t), t);
                mkdir(p, 0755);
            }
            snprintf(p, sizeof p, "%s/%s", root, t);
            FILE *w = fopen(p, "w");
            if (w) { fprintf(w, "%s\n", eq + 1); fclose(w); }
        }
        snprintf(p, sizeof p, "%s/self", root);
        FILE *w = fopen(p, "w");
        if (w) { fputs(q[i].self, w); fclose(w); }
        int got = cpu_cgroup_cpus(root, p);
        EXPECTF(got == q[i].cpus, "cgroup case %zu: %d CPUs, expected %d", i, got, q[i].cpus);
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd)) {}
    }
    /* MRL_THREADS_ADAPT=0 keeps every thread; jitter draws counts in 1..max (all of them, in time) */
    setenv("MRL_THREADS_ADAPT", "0", 1);
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", 3, &e);
    EXPECT(be && be->threads == 3 && be->threads_max == 3);
    if (be) { for (int i = 0; i < 50; i++) be_tick(be); EXPECT(be->threads == 3); be_close(be); }
    setenv("MRL_THREADS_ADAPT", "jitter", 1);
    be = be_open("cpu", 3, &e);
    setenv("MRL_THREADS_ADAPT", "0", 1);
    int seen[4] = {0};
    if (be) {
        for (int i = 0; i < 50; i++) { be_tick(be); EXPECT(be->threads >= 1 && be->threads <= 3); seen[be->threads & 3]++; }
        EXPECT(seen[1] && seen[2] && seen[3] && be->threads_max == 3);
        be_close(be);
    }
    /* the default reads /proc/stat once a window is over (where there is one), and stays in 1..max */
    unsetenv("MRL_THREADS_ADAPT");
    be = be_open("cpu", 2, &e);
    setenv("MRL_THREADS_ADAPT", "0", 1);
    if (be) {
        cpu_gov *g = &cpu_st(be)->gov;
        if (g->mode == 1) {
            g->t0 -= 1.0;
            be_tick(be);
            EXPECT(be->threads >= 1 && be->threads <= 2 && g->busy0 > 0);
        }
        be_close(be);
    }
}

/* Under a limit on memory the backend takes OpenBLAS's work buffers for its threads when it
 * starts (blas.c), so that that many products in flight at once need no new buffer (one that
 * does not fit is retried for ever). A second backend with more threads than the first takes
 * the difference: after backends of 1 and then 3 threads, three buffers taken at once add no
 * mapping. Forked, and first in main (no product has run here yet): the limit and OpenBLAS's
 * buffers stay the child's. */
static long vm_size_kb(void) {
    char line[128];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmSize:", 7)) { kb = atol(line + 7); break; }
    if (f) fclose(f);
    return kb;
}

TEST(blas_buffers_for_every_thread) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) SKIP("fork: %s", strerror(errno));
    if (pid == 0) {
        struct rlimit r;   /* finite, and no constraint: the buffers are taken */
        if (getrlimit(RLIMIT_DATA, &r) == 0 && r.rlim_cur == RLIM_INFINITY) {
            r.rlim_cur = (rlim_t)1 << 46;
            if (r.rlim_max != RLIM_INFINITY && r.rlim_max < r.rlim_cur) r.rlim_cur = r.rlim_max;
            setrlimit(RLIMIT_DATA, &r);
        }
        mrl_err e = {0};
        mrl_backend *b1 = be_open("cpu", 1, &e), *b3 = b1 ? be_open("cpu", 3, &e) : NULL;
        void *h = dlopen(MRL_OPENBLAS_SO, RTLD_NOW | RTLD_NOLOAD);
        void *(*take)(int) = NULL;
        void (*give)(void *) = NULL;
        if (h) { *(void **)&take = dlsym(h, "blas_memory_alloc"); *(void **)&give = dlsym(h, "blas_memory_free"); }
        if (!b1 || !b3 || !take || !give) _exit(2);   /* no such OpenBLAS: nothing to check */
        long v0 = vm_size_kb();
        void *p[3];
        for (int i = 0; i < 3; i++) p[i] = take(0);
        long grew = vm_size_kb() - v0;
        for (int i = 0; i < 3; i++) give(p[i]);
        if (grew >= 64 << 10) printf("  3 buffers in flight after be_open 1, 3: %ld MB more mapped\n", grew >> 10);
        fflush(stdout);
        _exit(grew < 64 << 10 ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 2) SKIP("OpenBLAS without blas_memory_alloc");
    EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST(device_names) {
    mrl_err e = {0};
    EXPECT(be_open("gpu", 0, &e) == NULL && e.code == 2);
    mrl_backend *be = be_open("auto", 1, &e);
    EXPECT(be != NULL);
    if (be) { EXPECT(be->threads == 1); be_close(be); }
}

int main(void) {
    setenv("MRL_THREADS_ADAPT", "0", 1);   /* "3 threads" below means three, whatever the CPUs or load */
    RUN(blas_buffers_for_every_thread);   /* first: before any product takes OpenBLAS's buffers */
    RUN(backward_matches_finite_differences);
    RUN(bf16_weights_match_fp32_weights);
    RUN(simd_paths_agree);
    RUN(swiglu_whole_range);
    RUN(logprob_infinite_chunk);
    RUN(rmsnorm_rope_extremes);
    RUN(rope_table_follows_its_inputs);
    RUN(copy_memset0_whole_range);
    RUN(thread_count_changes_no_bit);
    RUN(linear_rows_independent_of_row_count);
    RUN(streaming_linear_matches_float64);
    RUN(attention_split_backward_same_bits);
    RUN(attention_head_dims_match_float64);
    RUN(attention_amx_bf16);
    RUN(sgemm_tiles_match_float64);
    RUN(sgemm_tiles_at_same_bits);
    RUN(sgemm_small_copied_b_same_bits);
    RUN(tiles_shared_panels_same_bits);
    RUN(tiles_shared_panels_scratch_bound);
    RUN(f32_packed_same_bits_as_tiles);
    RUN(bf16dot_matches_rounded_product);
    RUN(bf16dot_matches_rounded_product_fma);
    RUN(bf16_amx_matches_rounded_product);
    RUN(bf16_vcvtne_rounds_as_rne);
    RUN(bf16_packed_equals_unpacked);
    RUN(bf16_packed_equals_unpacked_fma);
    RUN(bf16_amx_packed_equals_unpacked);
    RUN(bf16_kmajor_equals_transposed);
    RUN(bf16_kmajor_equals_transposed_fma);
    RUN(bf16_amx_kmajor_equals_transposed);
    RUN(bf16_accumulates_into_out);
    RUN(bf16_accumulates_into_out_fma);
    RUN(bf16_amx_accumulates_into_out);
    RUN(bf16_empty_sum_writes_zeros);
    RUN(bf16_empty_sum_writes_zeros_fma);
    RUN(bf16_amx_empty_sum_writes_zeros);
    RUN(bf16_big_output_same_bits);
    RUN(bf16_big_output_same_bits_fma);
    RUN(bf16_fma_same_bits_as_vdpbf16ps);
    RUN(bf16_fma_task_split_same_bits);
    RUN(bf16_amx_big_output_same_bits);
    RUN(empty_sums_write_zeros_on_every_path);
    RUN(paged_attention_equals_packed);
    RUN(paged_attention_long_context);
    RUN(adamw_matches_formula);
    RUN(adamw_matches_torch_bits);
    RUN(adamw_simd_same_bits);
    RUN(thread_governor_decisions);
    RUN(device_names);
    return tst_done();
}
