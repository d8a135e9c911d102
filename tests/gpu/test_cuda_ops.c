/* test_cuda_ops.c — backend parity, llama.cpp test-backend-ops style: every op of
 * kernels/ops.h run on the CPU backend (the reference) and on CUDA with the same bf16-rounded
 * inputs, compared within bf16 tolerance. Skips where there is no GPU (fails instead under
 * `make test-gpu`, which sets MRL_REQUIRE_GPU=1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "gpu.h"
#include "ops.h"
#include "rng.h"

static mrl_backend *cpu, *gpu;
static mrl_rng R;

static float bf16_round(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u); u &= 0xffff0000u;
    memcpy(&f, &u, 4); return f;
}
static float *rnd(size_t n, float scale) {
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = bf16_round((float)(rng_normal(&R) * scale));
    return x;
}
static void *put(const mrl_backend *be, const float *h, size_t n, mrl_dtype dt) {
    void *d = be_alloc(be, n * mrl_dtype_size(dt) + 16);
    if (dt == MRL_F32) { be_upload(be, d, h, n * 4); return d; }
    uint16_t *b = malloc(n * 2 + 2);
    for (size_t i = 0; i < n; i++) { uint32_t u; memcpy(&u, &h[i], 4); b[i] = (uint16_t)(u >> 16); }
    be_upload(be, d, b, n * 2); free(b); return d;
}
static void *put_act(const mrl_backend *be, const float *h, size_t n) { return put(be, h, n, be->act); }
static void *put_i32(const mrl_backend *be, const int32_t *h, size_t n) {
    void *d = be_alloc(be, n * 4 + 16); be_upload(be, d, h, n * 4); return d;
}
static float *get(const mrl_backend *be, const void *d, size_t n, mrl_dtype dt) {
    float *h = malloc(n * sizeof *h + 4);
    if (dt == MRL_F32) { be_download(be, h, d, n * 4); return h; }
    uint16_t *b = malloc(n * 2 + 2);
    be_download(be, b, d, n * 2);
    for (size_t i = 0; i < n; i++) { uint32_t u = (uint32_t)b[i] << 16; memcpy(&h[i], &u, 4); }
    free(b); return h;
}
static float *get_act(const mrl_backend *be, const void *d, size_t n) { return get(be, d, n, be->act); }

/* max |a-b| / max(max|b|, floor): normalised error of the CUDA result a vs the CPU result b */
static double nerr(const float *a, const float *b, size_t n) {
    double mx = 1e-6, e = 0;
    for (size_t i = 0; i < n; i++) { if (fabs(b[i]) > mx) mx = fabs(b[i]); }
    for (size_t i = 0; i < n; i++) { double d = fabs((double)a[i] - b[i]); if (d > e || d != d) e = d != d ? INFINITY : d; }
    return e / mx;
}
#define CLOSE(a, b, n, tol, what) do { double _e = nerr(a, b, n); \
    EXPECTF(_e <= (tol), "%s: normalised error %.3g > %.3g", what, _e, (double)(tol)); } while (0)

/* like gpu.h's, but the backend must also have opened */
#define NEED_GPU_BACKEND() do { NEED_GPU(); if (!gpu) { EXPECTF(0, "the CUDA backend failed to open"); return; } } while (0)

TEST(par_cast) {
    NEED_GPU_BACKEND();
    size_t n = 1000; float *x = rnd(n, 3);
    void *dc = put(cpu, x, n, MRL_F32), *dg = put(gpu, x, n, MRL_F32);
    void *oc = be_alloc(cpu, n * 2), *og = be_alloc(gpu, n * 2);
    op_cast(cpu, oc, MRL_BF16, dc, MRL_F32, n); op_cast(gpu, og, MRL_BF16, dg, MRL_F32, n);
    float *a = get(gpu, og, n, MRL_BF16), *b = get(cpu, oc, n, MRL_BF16);
    EXPECT(memcmp(a, b, n * 4) == 0);
    /* and back: bf16 -> fp32 is exact on both (a review found it untested) */
    void *bc = put(cpu, x, n, MRL_BF16), *bg = put(gpu, x, n, MRL_BF16);
    void *fc = be_alloc(cpu, n * 4), *fg = be_alloc(gpu, n * 4);
    op_cast(cpu, fc, MRL_F32, bc, MRL_BF16, n); op_cast(gpu, fg, MRL_F32, bg, MRL_BF16, n);
    float *c = get(gpu, fg, n, MRL_F32), *d = get(cpu, fc, n, MRL_F32);
    EXPECT(memcmp(c, d, n * 4) == 0 && memcmp(c, x, n * 4) == 0);   /* x is bf16-rounded already */
    free(x); free(a); free(b); free(c); free(d);
}

TEST(par_embedding) {
    NEED_GPU_BACKEND();
    int T = 37, C = 96, V = 50;
    int32_t tok[37]; for (int t = 0; t < T; t++) tok[t] = (int32_t)rng_below(&R, V);
    tok[3] = tok[5];   /* a repeated token: gradients add up */
    float *w = rnd((size_t)V * C, 1), *dout = rnd((size_t)T * C, 1);
    for (int wd = 0; wd < 2; wd++) {
        mrl_dtype wdt = wd ? MRL_BF16 : MRL_F32;
        void *tc = put_i32(cpu, tok, T), *tg = put_i32(gpu, tok, T);
        void *wc = put(cpu, w, (size_t)V * C, MRL_F32), *wg = put(gpu, w, (size_t)V * C, wdt);
        void *oc = be_alloc(cpu, (size_t)T * C * 4), *og = be_alloc(gpu, (size_t)T * C * 2);
        op_embedding_fwd(cpu, oc, tc, wc, MRL_F32, T, C); op_embedding_fwd(gpu, og, tg, wg, wdt, T, C);
        float *a = get_act(gpu, og, (size_t)T * C), *b = get_act(cpu, oc, (size_t)T * C);
        CLOSE(a, b, (size_t)T * C, 1e-6, "embedding_fwd");
        float *z = calloc((size_t)V * C, 4);
        void *dwc = put(cpu, z, (size_t)V * C, MRL_F32), *dwg = put(gpu, z, (size_t)V * C, MRL_F32);
        void *doc = put_act(cpu, dout, (size_t)T * C), *dog = put_act(gpu, dout, (size_t)T * C);
        op_embedding_bwd(cpu, dwc, tc, doc, T, C); op_embedding_bwd(gpu, dwg, tg, dog, T, C);
        float *ga = get(gpu, dwg, (size_t)V * C, MRL_F32), *gb = get(cpu, dwc, (size_t)V * C, MRL_F32);
        CLOSE(ga, gb, (size_t)V * C, 1e-5, "embedding_bwd");
        free(a); free(b); free(z); free(ga); free(gb);
    }
    free(w); free(dout);
}

/* T = 1100: more rows than the weight gradients' column sums give one thread each (64 x 8),
 * so each thread strides over its rows */
static void rmsnorm_case(int T);
TEST(par_rmsnorm) {
    NEED_GPU_BACKEND();
    rmsnorm_case(33);
    rmsnorm_case(1100);
}
static void rmsnorm_case(int T) {
    int C = 200;
    float *x = rnd((size_t)T * C, 2), *w = rnd(C, 1), *dout = rnd((size_t)T * C, 1), *prev = rnd((size_t)T * C, 1);
    void *xc = put_act(cpu, x, (size_t)T * C), *xg = put_act(gpu, x, (size_t)T * C);
    void *wc = put(cpu, w, C, MRL_F32), *wg = put(gpu, w, C, MRL_BF16);
    void *oc = be_alloc(cpu, (size_t)T * C * 4), *og = be_alloc(gpu, (size_t)T * C * 2);
    float *rc = be_alloc(cpu, T * 4), *rg = be_alloc(gpu, T * 4);
    op_rmsnorm_fwd(cpu, oc, rc, xc, wc, MRL_F32, T, C, 1e-6f); op_rmsnorm_fwd(gpu, og, rg, xg, wg, MRL_BF16, T, C, 1e-6f);
    float *a = get_act(gpu, og, (size_t)T * C), *b = get_act(cpu, oc, (size_t)T * C);
    CLOSE(a, b, (size_t)T * C, 1e-2, "rmsnorm_fwd");
    float *ra = get(gpu, rg, T, MRL_F32), *rb = get(cpu, rc, T, MRL_F32);
    CLOSE(ra, rb, T, 1e-5, "rmsnorm rstd");
    float *z = calloc(C, 4);
    void *dwc = put(cpu, z, C, MRL_F32), *dwg = put(gpu, z, C, MRL_F32);
    void *doc = put_act(cpu, dout, (size_t)T * C), *dog = put_act(gpu, dout, (size_t)T * C);
    void *dic = put_act(cpu, prev, (size_t)T * C), *dig = put_act(gpu, prev, (size_t)T * C);
    op_rmsnorm_bwd(cpu, dic, 1, dwc, doc, xc, wc, MRL_F32, rc, T, C);
    op_rmsnorm_bwd(gpu, dig, 1, dwg, dog, xg, wg, MRL_BF16, rg, T, C);
    float *da = get_act(gpu, dig, (size_t)T * C), *db = get_act(cpu, dic, (size_t)T * C);
    CLOSE(da, db, (size_t)T * C, 1e-2, "rmsnorm_bwd dinp (acc)");
    float *wa = get(gpu, dwg, C, MRL_F32), *wb = get(cpu, dwc, C, MRL_F32);
    CLOSE(wa, wb, C, 1e-3, "rmsnorm_bwd dw");
    free(x); free(w); free(dout); free(prev); free(a); free(b); free(ra); free(rb); free(z); free(da); free(db); free(wa); free(wb);
}

/* The qkv projection's shape of use (no accumulation, a bias): the sum of product and bias is
 * rounded to bf16 once. Small integers make every product sum exact in fp32, so the GPU's result
 * must be bf16(the CPU's) bit for bit; adding the bias after a rounded product rounded twice
 * (x w = 257 -> 256, + 1 = 257 -> 256 where 258 is right). */
TEST(par_linear_bias_rounded_once) {
    NEED_GPU_BACKEND();
    int T = 64, IN = 16, OUT = 48;
    float *x = malloc((size_t)T * IN * 4), *w = malloc((size_t)OUT * IN * 4), *bias = malloc(OUT * 4);
    for (int i = 0; i < T * IN; i++) x[i] = (float)(int)(rng_uniform(&R) * 33) - 16;     /* -16..16 */
    for (int i = 0; i < OUT * IN; i++) w[i] = (float)(int)(rng_uniform(&R) * 33) - 16;
    for (int o = 0; o < OUT; o++) bias[o] = (float)(int)(rng_uniform(&R) * 9) - 4 + (o & 1 ? 0.5f : 0.0f);
    x[0] = 16, x[1] = 16, x[2] = 1; for (int i = 3; i < IN; i++) x[i] = 0;   /* row 0: 257 + bias */
    w[0] = 16, w[1] = 0, w[2] = 1; for (int i = 3; i < IN; i++) w[i] = 0;
    bias[0] = 1;
    for (int wd = 0; wd < 2; wd++) {
        mrl_dtype wdt = wd ? MRL_BF16 : MRL_F32;
        void *xc = put_act(cpu, x, (size_t)T * IN), *xg = put_act(gpu, x, (size_t)T * IN);
        void *wc = put(cpu, w, (size_t)OUT * IN, MRL_F32), *wg = put(gpu, w, (size_t)OUT * IN, wdt);
        void *bc = put(cpu, bias, OUT, MRL_F32), *bg = put(gpu, bias, OUT, wdt);
        void *oc = be_alloc(cpu, (size_t)T * OUT * 4), *og = be_alloc(gpu, (size_t)T * OUT * 4);
        op_linear_fwd(cpu, oc, 0, xc, wc, MRL_F32, bc, T, IN, OUT); op_linear_fwd(gpu, og, 0, xg, wg, wdt, bg, T, IN, OUT);
        float *a = get_act(gpu, og, (size_t)T * OUT), *b = get_act(cpu, oc, (size_t)T * OUT);
        int bad = -1;
        for (int i = 0; i < T * OUT && bad < 0; i++) if (a[i] != bf16_round(b[i])) bad = i;
        EXPECTF(bad < 0, "linear_fwd (bias, %s weights): out[%d] = %g, bf16 of the exact %g is %g",
                wd ? "bf16" : "fp32", bad, bad < 0 ? 0 : a[bad], bad < 0 ? 0 : b[bad], bad < 0 ? 0 : bf16_round(b[bad]));
        EXPECTF(b[0] == 258, "the case's first output is %g, not 257 + 1", b[0]);
        free(a); free(b);
    }
    free(x); free(w); free(bias);
}

static void linear_case(int T);
TEST(par_linear) {
    NEED_GPU_BACKEND();
    linear_case(45);
    linear_case(1100);   /* the bias gradient's column sum strides over its rows */
}
static void linear_case(int T) {
    int IN = 128, OUT = 72;
    float *x = rnd((size_t)T * IN, 1), *w = rnd((size_t)OUT * IN, 0.1f), *bias = rnd(OUT, 0.5f), *prev = rnd((size_t)T * OUT, 1);
    float *dout = rnd((size_t)T * OUT, 1), *dprev = rnd((size_t)T * IN, 1);
    for (int wd = 0; wd < 2; wd++) {
        mrl_dtype wdt = wd ? MRL_BF16 : MRL_F32;
        void *xc = put_act(cpu, x, (size_t)T * IN), *xg = put_act(gpu, x, (size_t)T * IN);
        void *wc = put(cpu, w, (size_t)OUT * IN, MRL_F32), *wg = put(gpu, w, (size_t)OUT * IN, wdt);
        void *bc = put(cpu, bias, OUT, MRL_F32), *bg = put(gpu, bias, OUT, wdt);
        void *oc = put_act(cpu, prev, (size_t)T * OUT), *og = put_act(gpu, prev, (size_t)T * OUT);
        op_linear_fwd(cpu, oc, 1, xc, wc, MRL_F32, bc, T, IN, OUT); op_linear_fwd(gpu, og, 1, xg, wg, wdt, bg, T, IN, OUT);
        float *a = get_act(gpu, og, (size_t)T * OUT), *b = get_act(cpu, oc, (size_t)T * OUT);
        CLOSE(a, b, (size_t)T * OUT, 1e-2, "linear_fwd (acc, bias)");
        float *z = calloc((size_t)OUT * IN, 4);
        void *dwc = put(cpu, z, (size_t)OUT * IN, MRL_F32), *dwg = put(gpu, z, (size_t)OUT * IN, MRL_F32);
        void *dbc = put(cpu, z, OUT, MRL_F32), *dbg = put(gpu, z, OUT, MRL_F32);
        void *doc = put_act(cpu, dout, (size_t)T * OUT), *dog = put_act(gpu, dout, (size_t)T * OUT);
        void *dic = put_act(cpu, dprev, (size_t)T * IN), *dig = put_act(gpu, dprev, (size_t)T * IN);
        op_linear_bwd(cpu, dic, wd, dwc, dbc, doc, xc, wc, MRL_F32, T, IN, OUT);
        op_linear_bwd(gpu, dig, wd, dwg, dbg, dog, xg, wg, wdt, T, IN, OUT);
        float *da = get_act(gpu, dig, (size_t)T * IN), *dd = get_act(cpu, dic, (size_t)T * IN);
        CLOSE(da, dd, (size_t)T * IN, 1e-2, "linear_bwd dinp");
        float *wa = get(gpu, dwg, (size_t)OUT * IN, MRL_F32), *wb = get(cpu, dwc, (size_t)OUT * IN, MRL_F32);
        CLOSE(wa, wb, (size_t)OUT * IN, 1e-3, "linear_bwd dw");
        float *ba = get(gpu, dbg, OUT, MRL_F32), *bb = get(cpu, dbc, OUT, MRL_F32);
        CLOSE(ba, bb, OUT, 1e-3, "linear_bwd db");
        free(a); free(b); free(z); free(da); free(dd); free(wa); free(wb); free(ba); free(bb);
    }
    free(x); free(w); free(bias); free(prev); free(dout); free(dprev);
}

/* D = 64 at positions to 1846; D = 128 (the 1.5B's heads) at positions to ~32 k, where an
 * error in a frequency is multiplied by the position (the device's powf was one: the frequencies
 * now come from the host, as the CPU's) */
static void rope_case(int D, int pstep, float theta) {
    int T = 20, H = 3, st = 5 * D;
    float *x = rnd((size_t)T * st, 1);
    int32_t pos[20]; for (int t = 0; t < T; t++) pos[t] = t * pstep + 3;
    void *pc = put_i32(cpu, pos, T), *pg = put_i32(gpu, pos, T);
    for (int inv = 0; inv < 2; inv++) {
        void *xc = put_act(cpu, x, (size_t)T * st), *xg = put_act(gpu, x, (size_t)T * st);
        op_rope(cpu, xc, T, H, D, st, pc, theta, inv); op_rope(gpu, xg, T, H, D, st, pg, theta, inv);
        float *a = get_act(gpu, xg, (size_t)T * st), *b = get_act(cpu, xc, (size_t)T * st);
        char what[64];
        snprintf(what, sizeof what, "rope%s D %d to position %d", inv ? " inverse" : "", D, pos[T - 1]);
        CLOSE(a, b, (size_t)T * st, 1e-2, what);
        free(a); free(b);
    }
    free(x);
}
TEST(par_rope) {
    NEED_GPU_BACKEND();
    rope_case(64, 97, 10000.0f);
    rope_case(128, 1700, 10000.0f);
    rope_case(128, 1700, 1000000.0f);
}

static void swiglu_case(int F);
TEST(par_swiglu_add) {
    NEED_GPU_BACKEND();
    swiglu_case(130);
    swiglu_case(17);   /* odd width: unaligned rows take the scalar path */
}
static void swiglu_case(int F) {
    int T = 17;
    float *gu = rnd((size_t)T * 2 * F, 2), *dout = rnd((size_t)T * F, 1);
    void *gc = put_act(cpu, gu, (size_t)T * 2 * F), *gg = put_act(gpu, gu, (size_t)T * 2 * F);
    void *oc = be_alloc(cpu, (size_t)T * F * 4), *og = be_alloc(gpu, (size_t)T * F * 2);
    op_swiglu_fwd(cpu, oc, gc, T, F); op_swiglu_fwd(gpu, og, gg, T, F);
    float *a = get_act(gpu, og, (size_t)T * F), *b = get_act(cpu, oc, (size_t)T * F);
    CLOSE(a, b, (size_t)T * F, 1e-2, "swiglu_fwd");
    void *doc = put_act(cpu, dout, (size_t)T * F), *dog = put_act(gpu, dout, (size_t)T * F);
    void *dc = be_alloc(cpu, (size_t)T * 2 * F * 4), *dg = be_alloc(gpu, (size_t)T * 2 * F * 2);
    op_swiglu_bwd(cpu, dc, doc, gc, T, F); op_swiglu_bwd(gpu, dg, dog, gg, T, F);
    float *da = get_act(gpu, dg, (size_t)T * 2 * F), *db = get_act(cpu, dc, (size_t)T * 2 * F);
    CLOSE(da, db, (size_t)T * 2 * F, 1e-2, "swiglu_bwd");
    op_add(cpu, oc, oc, doc, (size_t)T * F); op_add(gpu, og, og, dog, (size_t)T * F);
    float *sa = get_act(gpu, og, (size_t)T * F), *sb = get_act(cpu, oc, (size_t)T * F);
    CLOSE(sa, sb, (size_t)T * F, 1e-2, "add");
    free(gu); free(dout); free(a); free(b); free(da); free(db); free(sa); free(sb);
}

/* Packed causal GQA attention: sequences of several lengths (one of a single token), q/k/v
 * inside one fused row; small heads, then the 1.5B model's (12 heads over 2 KV heads, D = 128)
 * with sequences longer than the softmax kernels' 128 threads. */
static void attention_case(int H, int Hkv, int D, int nseq, const int32_t *cu, int maxlen);
TEST(par_attention) {
    NEED_GPU_BACKEND();
    static const int32_t cu1[] = {0, 19, 20, 61}, cu2[] = {0, 300, 301, 437};
    attention_case(4, 2, 32, 3, cu1, 41);
    attention_case(12, 2, 128, 3, cu2, 300);
}
static void attention_case(int H, int Hkv, int D, int nseq, const int32_t *cu, int maxlen) {
    int T = cu[nseq], st = (H + 2 * Hkv) * D;
    float *qkv = rnd((size_t)T * st, 1), *dout = rnd((size_t)T * H * D, 1);
    void *qc = put_act(cpu, qkv, (size_t)T * st), *qg = put_act(gpu, qkv, (size_t)T * st);
    void *cc = put_i32(cpu, cu, nseq + 1), *cg = put_i32(gpu, cu, nseq + 1);
    size_t wc_n = op_attention_work(cpu, T, maxlen, H, D), wg_n = op_attention_work(gpu, T, maxlen, H, D);
    void *wc = be_alloc(cpu, wc_n), *wg = be_alloc(gpu, wg_n);
    void *oc = be_alloc(cpu, (size_t)T * H * D * 4), *og = be_alloc(gpu, (size_t)T * H * D * 2);
    float *lc = be_alloc(cpu, (size_t)T * H * 4), *lg = be_alloc(gpu, (size_t)T * H * 4);
    #define QKV(base, es) (base), (char *)(base) + (size_t)H * D * (es), (char *)(base) + (size_t)(H + Hkv) * D * (es)
    /* the forward with the offsets on the host too, the backward reading them back itself */
    op_attention_fwd(cpu, oc, lc, QKV(qc, 4), st, cc, cu, nseq, T, H, Hkv, D, wc);
    op_attention_fwd(gpu, og, lg, QKV(qg, 2), st, cg, cu, nseq, T, H, Hkv, D, wg);
    float *a = get_act(gpu, og, (size_t)T * H * D), *b = get_act(cpu, oc, (size_t)T * H * D);
    CLOSE(a, b, (size_t)T * H * D, 2e-2, "attention_fwd");
    float *la = get(gpu, lg, (size_t)T * H, MRL_F32), *lb = get(cpu, lc, (size_t)T * H, MRL_F32);
    CLOSE(la, lb, (size_t)T * H, 1e-2, "attention lse");
    void *doc = put_act(cpu, dout, (size_t)T * H * D), *dog = put_act(gpu, dout, (size_t)T * H * D);
    void *gc = be_alloc(cpu, (size_t)T * st * 4), *gg = be_alloc(gpu, (size_t)T * st * 2);
    be_memset0(cpu, gc, (size_t)T * st * 4); be_memset0(gpu, gg, (size_t)T * st * 2);
    op_attention_bwd(cpu, QKV(gc, 4), st, doc, QKV(qc, 4), st, oc, lc, cc, NULL, nseq, T, H, Hkv, D, wc);
    op_attention_bwd(gpu, QKV(gg, 2), st, dog, QKV(qg, 2), st, og, lg, cg, NULL, nseq, T, H, Hkv, D, wg);
    float *ga = get_act(gpu, gg, (size_t)T * st), *gb = get_act(cpu, gc, (size_t)T * st);
    /* dq, dk and dv each against its own scale (dv, summed over a group's heads, is the largest:
     * one bound over the fused rows let dq be off by a tenth of its own size) */
    static const char *const part[3] = {"attention_bwd dq", "attention_bwd dk", "attention_bwd dv"};
    int c0[3] = {0, H * D, (H + Hkv) * D}, w[3] = {H * D, Hkv * D, Hkv * D};
    float *pa = malloc((size_t)T * H * D * sizeof *pa), *pb = malloc((size_t)T * H * D * sizeof *pb);
    for (int k = 0; k < 3; k++) {
        for (int t = 0; t < T; t++) {
            memcpy(pa + (size_t)t * w[k], ga + (size_t)t * st + c0[k], (size_t)w[k] * sizeof *pa);
            memcpy(pb + (size_t)t * w[k], gb + (size_t)t * st + c0[k], (size_t)w[k] * sizeof *pb);
        }
        CLOSE(pa, pb, (size_t)T * w[k], 3e-2, part[k]);
    }
    free(qkv); free(dout); free(a); free(b); free(la); free(lb); free(ga); free(gb); free(pa); free(pb);
}

/* Paged decode attention: rows of different sequences and context lengths over shuffled blocks;
 * 3 rows (CUDA splits the context) and 48 rows x 6 heads (one split per block), D = 64; and the
 * 1.5B model's shapes (12 heads, 2 KV heads, D = 128) with q read from a fused QKV row (stride
 * (H + 2 Hkv) D) and the new K/V rows written from one, as the model passes them. Contexts up
 * to maxctx: 190 fits one CUDA tile of 256 keys per split; the long cases (a decode step deep
 * into a 4096-token completion) take several tiles per block, so the online softmax rescales
 * its running sum and output between tiles (a split of 257 keys: a last tile of one key). */
static void paged_case(int R, int H, int Hkv, int D, int fused, int maxctx, int arena_R) {
    int bt = 16, max_blocks = (maxctx + bt - 1) / bt, nblocks = max_blocks + 28, W = Hkv * D;
    int qs = fused ? (H + 2 * Hkv) * D : H * D;
    int ws = fused ? qs : W;   /* the stride of the rows kv_write reads */
    int32_t ctx[64], seq[64], *tab = malloc(sizeof(int32_t) * 3 * (size_t)max_blocks);
    for (int r = 0; r < R; r++) {
        seq[r] = (2 + r) % 3;
        ctx[r] = r == 0 ? 1 : r == 1 ? maxctx * 15 / 19 : r == 2 ? maxctx : 1 + (r * 37) % maxctx;
    }
    for (int i = 0; i < 3 * max_blocks; i++) tab[i] = (i * 7 + 3) % nblocks;
    size_t pool = (size_t)nblocks * bt * W;
    float *kp = rnd(pool, 1), *vp = rnd(pool, 1), *q = rnd((size_t)R * qs, 1);
    void *kc = put_act(cpu, kp, pool), *kg = put_act(gpu, kp, pool), *vc = put_act(cpu, vp, pool), *vg = put_act(gpu, vp, pool);
    void *qc = put_act(cpu, q, (size_t)R * qs), *qg = put_act(gpu, q, (size_t)R * qs);
    void *tc = put_i32(cpu, tab, 3 * (size_t)max_blocks), *tg = put_i32(gpu, tab, 3 * (size_t)max_blocks), *sc = put_i32(cpu, seq, R), *sg = put_i32(gpu, seq, R);
    void *xc = put_i32(cpu, ctx, R), *xg = put_i32(gpu, ctx, R);
    /* kv_write: overwrite two slots with new rows first */
    int32_t slots[2] = {5, 300}; float *nk = rnd(2 * ws, 1), *nv = rnd(2 * ws, 1);
    void *slc = put_i32(cpu, slots, 2), *slg = put_i32(gpu, slots, 2);
    void *nkc = put_act(cpu, nk, 2 * ws), *nkg = put_act(gpu, nk, 2 * ws), *nvc = put_act(cpu, nv, 2 * ws), *nvg = put_act(gpu, nv, 2 * ws);
    op_kv_write(cpu, kc, vc, cpu->act, nkc, nvc, ws, slc, 2, Hkv, D); op_kv_write(gpu, kg, vg, gpu->act, nkg, nvg, ws, slg, 2, Hkv, D);
    float *ka = get_act(gpu, kg, pool), *kb = get_act(cpu, kc, pool);
    CLOSE(ka, kb, pool, 0, "kv_write");
    float *va = get_act(gpu, vg, pool), *vb = get_act(cpu, vc, pool);
    CLOSE(va, vb, pool, 0, "kv_write v");
    void *wc = be_alloc(cpu, op_attention_paged_work(cpu, R, maxctx, H, D) + 16);
    void *wg = be_alloc(gpu, op_attention_paged_work(gpu, arena_R > R ? arena_R : R, maxctx, H, D) + 16);
    void *oc = be_alloc(cpu, (size_t)R * H * D * 4), *og = be_alloc(gpu, (size_t)R * H * D * 2);
    op_attention_paged(cpu, oc, qc, qs, kc, vc, cpu->act, tc, max_blocks, bt, sc, xc, R, H, Hkv, D, wc);
    op_attention_paged(gpu, og, qg, qs, kg, vg, gpu->act, tg, max_blocks, bt, sg, xg, R, H, Hkv, D, wg);
    float *a = get_act(gpu, og, (size_t)R * H * D), *b = get_act(cpu, oc, (size_t)R * H * D);
    char what[96];
    snprintf(what, sizeof what, "attention_paged (%s, R=%d H=%d Hkv=%d D=%d maxctx=%d%s)", R < 10 ? "split" : "one split",
             R, H, Hkv, D, maxctx, fused ? ", fused QKV rows" : "");
    CLOSE(a, b, (size_t)R * H * D, 2e-2, what);
    free(kp); free(vp); free(q); free(nk); free(nv); free(ka); free(kb); free(va); free(vb); free(a); free(b); free(tab);
}
TEST(par_attention_paged) {
    NEED_GPU_BACKEND();
    paged_case(3, 6, 2, 64, 0, 190, 0);
    paged_case(48, 6, 2, 64, 0, 190, 0);
    paged_case(3, 12, 2, 128, 1, 190, 0);
    paged_case(48, 12, 2, 128, 1, 190, 0);
    paged_case(3, 12, 2, 128, 1, 2600, 0);   /* 8 splits of up to 325 keys: two tiles each */
    paged_case(48, 12, 2, 128, 1, 700, 0);   /* one split: up to three tiles */
    /* rows x heads just under 264 (21 x 12: 2 splits, the most partials any batch writes) and
     * at it (22 x 12: one split), in an arena sized for a larger batch, as the model's is */
    paged_case(21, 12, 2, 128, 1, 700, 64);
    paged_case(22, 12, 2, 128, 1, 700, 64);
    /* the split partials' work does not grow with the batch: one split past 264 rows x heads
     * (it was (R H + 264)(D + 2) floats, 400 MB at msample's largest --batch, never read) */
    size_t w22 = op_attention_paged_work(gpu, 22, 4096, 12, 128), wbig = op_attention_paged_work(gpu, 65536, 4096, 12, 128);
    EXPECTF(wbig <= w22, "attention_paged_work: %zu bytes for 65536 rows, %zu for 22", wbig, w22);
}

/* LM head + log-softmax: a vocabulary larger than one CUDA chunk (16384), and odd T and V
 * (the workspace's parts must stay aligned); the GPU's head in bf16, and once in fp32 (a model
 * loaded as fp32: the head converted into scratch). */
static void logprob_case(int T, int V, mrl_dtype gw);
TEST(par_logprob_logits) {
    NEED_GPU_BACKEND();
    logprob_case(9, 20011, MRL_BF16);
    logprob_case(7, 263, MRL_BF16);
    logprob_case(2100, 17000, MRL_BF16);   /* more rows than one CUDA row block (2048) */
    logprob_case(9, 20011, MRL_F32);
}
static void logprob_case(int T, int V, mrl_dtype gw) {
    int C = 64;
    float *x = rnd((size_t)T * C, 1), *w = rnd((size_t)V * C, 0.2f), *dl = malloc(sizeof(float) * (size_t)T);
    int32_t *tg = malloc(sizeof(int32_t) * (size_t)T);
    static const int32_t first[9] = {0, 5, -2, 16383, 16384, -1, 777, 19999, 3};   /* -2: V - 1 */
    for (int t = 0; t < T; t++) {
        int32_t f = t < 9 ? first[t] : (int32_t)((t * 7919L) % V);
        tg[t] = f == -2 ? V - 1 : f < 0 ? -1 : f % V;
        dl[t] = (float)rng_normal(&R);
    }
    void *xc = put_act(cpu, x, (size_t)T * C), *xg = put_act(gpu, x, (size_t)T * C);
    void *wc = put(cpu, w, (size_t)V * C, MRL_F32), *wg = put(gpu, w, (size_t)V * C, gw);
    void *tc = put_i32(cpu, tg, T), *tgg = put_i32(gpu, tg, T);
    void *kc = be_alloc(cpu, op_logprob_work(cpu, T, C, V)), *kg = be_alloc(gpu, op_logprob_work(gpu, T, C, V));
    float *lpc = be_alloc(cpu, T * 4), *lpg = be_alloc(gpu, T * 4), *lsc = be_alloc(cpu, T * 4), *lsg = be_alloc(gpu, T * 4);
    op_logprob_fwd(cpu, lpc, lsc, xc, wc, MRL_F32, tc, T, C, V, 1.0f / 0.7f, kc);
    op_logprob_fwd(gpu, lpg, lsg, xg, wg, gw, tgg, T, C, V, 1.0f / 0.7f, kg);
    float *a = get(gpu, lpg, T, MRL_F32), *b = get(cpu, lpc, T, MRL_F32);
    CLOSE(a, b, T, 1e-2, "logprob_fwd");
    void *dlc = put(cpu, dl, T, MRL_F32), *dlg = put(gpu, dl, T, MRL_F32);
    float *z = calloc((size_t)V * C, 4);
    void *dwc = put(cpu, z, (size_t)V * C, MRL_F32), *dwg = put(gpu, z, (size_t)V * C, MRL_F32);
    void *dxc = be_alloc(cpu, (size_t)T * C * 4), *dxg = be_alloc(gpu, (size_t)T * C * 2);
    op_logprob_bwd(cpu, dxc, dwc, dlc, lsc, xc, wc, MRL_F32, tc, T, C, V, 1.0f / 0.7f, kc);
    op_logprob_bwd(gpu, dxg, dwg, dlg, lsg, xg, wg, gw, tgg, T, C, V, 1.0f / 0.7f, kg);
    float *da = get_act(gpu, dxg, (size_t)T * C), *db = get_act(cpu, dxc, (size_t)T * C);
    CLOSE(da, db, (size_t)T * C, 2e-2, "logprob_bwd dx");
    float *wa = get(gpu, dwg, (size_t)V * C, MRL_F32), *wb = get(cpu, dwc, (size_t)V * C, MRL_F32);
    CLOSE(wa, wb, (size_t)V * C, 2e-2, "logprob_bwd dw");
    if (T < 100) {   /* the logits of a few rows */
        void *gc = be_alloc(cpu, (size_t)T * V * 4), *gg = be_alloc(gpu, (size_t)T * V * 4);
        op_logits(cpu, gc, xc, wc, MRL_F32, T, C, V); op_logits(gpu, gg, xg, wg, gw, T, C, V);
        float *ga = get(gpu, gg, (size_t)T * V, MRL_F32), *gb = get(cpu, gc, (size_t)T * V, MRL_F32);
        CLOSE(ga, gb, (size_t)T * V, 1e-2, "logits");
        free(ga); free(gb);
    }
    free(x); free(w); free(dl); free(tg); free(a); free(b); free(z); free(da); free(db); free(wa); free(wb);
}

/* A row whose logits are -inf over the whole first CUDA chunk of 16384 words (x = -3e38
 * against weights of 10: the products overflow) and finite after it has the logsumexp of the
 * finite ones, as on the CPU (kernels/cpu/logprob.c, chunks of 4096); the fold shifted the
 * chunk's sum by its max, -inf - -inf, and the row came out NaN. Forward and backward. */
TEST(par_logprob_infinite_chunk) {
    NEED_GPU_BACKEND();
    enum { T = 2, C = 2, V = 16384 + 37 };
    float *w = malloc(sizeof(float) * V * C), x[T * C] = {bf16_round(-3e38f), 1.0f, 0.5f, -1.0f}, dl[T] = {0.7f, -1.3f};
    int32_t tg[T] = {V - 2, 5};
    for (int v = 0; v < V; v++) { w[v * C] = v < 16384 ? 10.0f : 0.0f; w[v * C + 1] = bf16_round(0.05f * (v % 11) - 0.2f); }
    void *xc = put_act(cpu, x, T * C), *xg = put_act(gpu, x, T * C);
    void *wc = put(cpu, w, (size_t)V * C, MRL_F32), *wg = put(gpu, w, (size_t)V * C, MRL_BF16);
    void *tc = put_i32(cpu, tg, T), *tgg = put_i32(gpu, tg, T);
    void *kc = be_alloc(cpu, op_logprob_work(cpu, T, C, V)), *kg = be_alloc(gpu, op_logprob_work(gpu, T, C, V));
    float *lpc = be_alloc(cpu, T * 4), *lpg = be_alloc(gpu, T * 4), *lsc = be_alloc(cpu, T * 4), *lsg = be_alloc(gpu, T * 4);
    op_logprob_fwd(cpu, lpc, lsc, xc, wc, MRL_F32, tc, T, C, V, 1.0f / 0.7f, kc);
    op_logprob_fwd(gpu, lpg, lsg, xg, wg, MRL_BF16, tgg, T, C, V, 1.0f / 0.7f, kg);
    float *a = get(gpu, lpg, T, MRL_F32), *b = get(cpu, lpc, T, MRL_F32);
    float *la = get(gpu, lsg, T, MRL_F32), *lb = get(cpu, lsc, T, MRL_F32);
    EXPECTF(isfinite(b[0]) && isfinite(lb[0]), "the CPU's row 0: logp %g lse %g", b[0], lb[0]);
    EXPECTF(isfinite(a[0]) && isfinite(la[0]), "CUDA's row 0 (a first chunk all -inf): logp %g lse %g (CPU %g, %g)", a[0], la[0], b[0], lb[0]);
    CLOSE(a, b, T, 1e-2, "logprob_fwd, a first chunk all -inf");
    CLOSE(la, lb, T, 1e-2, "logprob lse, a first chunk all -inf");
    void *dlc = put(cpu, dl, T, MRL_F32), *dlg = put(gpu, dl, T, MRL_F32);
    void *dxc = be_alloc(cpu, T * C * 4), *dxg = be_alloc(gpu, T * C * 2);
    op_logprob_bwd(cpu, dxc, NULL, dlc, lsc, xc, wc, MRL_F32, tc, T, C, V, 1.0f / 0.7f, kc);
    op_logprob_bwd(gpu, dxg, NULL, dlg, lsg, xg, wg, MRL_BF16, tgg, T, C, V, 1.0f / 0.7f, kg);
    float *da = get_act(gpu, dxg, T * C), *db = get_act(cpu, dxc, T * C);
    CLOSE(da, db, T * C, 2e-2, "logprob_bwd dx, a first chunk all -inf");
    free(w); free(a); free(b); free(la); free(lb); free(da); free(db);
}

/* One AdamW step on both backends from the same state: w, m, v (and the bf16 copy) compared;
 * the gradient's sum of squares and a grad scale (clipping) first. */
static void adamw_case(size_t n, double beta1, double wd, float clip, int bf16_copy, const char *what) {
    float *w = rnd(n, 1), *g = rnd(n, 1), *m = rnd(n, 0.1f), *v = rnd(n, 0.1f);
    for (size_t i = 0; i < n; i++) v[i] = fabsf(v[i]);
    void *wc = put(cpu, w, n, MRL_F32), *wg = put(gpu, w, n, MRL_F32), *gc = put(cpu, g, n, MRL_F32), *gg = put(gpu, g, n, MRL_F32);
    void *mc = put(cpu, m, n, MRL_F32), *mg = put(gpu, m, n, MRL_F32), *vc = put(cpu, v, n, MRL_F32), *vg = put(gpu, v, n, MRL_F32);
    void *cc = bf16_copy ? be_alloc(cpu, n * 2) : NULL, *cg = bf16_copy ? be_alloc(gpu, n * 2) : NULL;
    double sc = op_sumsq(cpu, gc, n), sg = op_sumsq(gpu, gg, n);
    EXPECT_NEAR(sg / sc, 1.0, 1e-9);
    op_scale(cpu, gc, n, 0.5f); op_scale(gpu, gg, n, 0.5f);
    mrl_adamw_step st = op_adamw_step(1e-3, beta1, 0.999, 1e-8, wd, 3, clip);
    op_adamw(cpu, wc, gc, mc, vc, cc, bf16_copy ? MRL_BF16 : MRL_F32, n, &st);
    op_adamw(gpu, wg, gg, mg, vg, cg, bf16_copy ? MRL_BF16 : MRL_F32, n, &st);
    char msg[128];
    float *bufs[3][2] = {{get(gpu, wg, n, MRL_F32), get(cpu, wc, n, MRL_F32)},
                         {get(gpu, mg, n, MRL_F32), get(cpu, mc, n, MRL_F32)},
                         {get(gpu, vg, n, MRL_F32), get(cpu, vc, n, MRL_F32)}};
    for (int k = 0; k < 3; k++) {
        snprintf(msg, sizeof msg, "adamw %c %s", "wmv"[k], what);
        CLOSE(bufs[k][0], bufs[k][1], n, 1e-6, msg);
        free(bufs[k][0]); free(bufs[k][1]);
    }
    if (bf16_copy) {
        float *ca = get(gpu, cg, n, MRL_BF16), *cb = get(cpu, cc, n, MRL_BF16);
        CLOSE(ca, cb, n, 1e-2, "adamw bf16 copy");
        free(ca); free(cb);
    }
    void *cpu_bufs[] = {wc, gc, mc, vc, cc}, *gpu_bufs[] = {wg, gg, mg, vg, cg};
    for (int k = 0; k < 5; k++) be_free(cpu, cpu_bufs[k]), be_free(gpu, gpu_bufs[k]);
    free(w); free(g); free(m); free(v);
}

/* The usual step (bf16 copy, clipping); then beta1 < 0.5 (the lerp's other branch) with no
 * copy over more elements than one grid covers (65535 x 4 blocks of 256: the grid-stride loop). */
TEST(par_optimizer) {
    NEED_GPU_BACKEND();
    adamw_case(5000, 0.9, 0.01, 0.7f, 1, "(bf16 copy)");
    adamw_case((size_t)65535 * 4 * 256 + 4099, 0.3, 0.1, 1.0f, 0, "(beta1 0.3, past one grid)");
}

/* op_sample_rows: the same logits and uniforms on both backends give the same picks, to the
 * bit — the CUDA kernel does sample_core.h's arithmetic in the CPU's order (the CPU op is
 * itself checked against libcore's sampler by test_sampler) — except greedy's Z, which
 * uses the GPU's double exp (within a few ulps). Rows of every kind, as in test_sampler:
 * NaN and -inf entries, ties, a dominant logit, uniforms at the ends, rows with no finite max
 * (flagged); vocabularies around the block of 256 tokens, the Qwen2 vocabulary at the
 * batch of a full msample step, and msample's largest --batch. */
static void pick_case(int B, int V, float T) {
    int greedy = !(T > 0);
    float *l = malloc((size_t)B * V * sizeof *l);
    double *u = malloc((size_t)B * sizeof *u);
    for (int r = 0; r < B; r++) {
        float *row = l + (size_t)r * V;
        for (int i = 0; i < V; i++) row[i] = (float)(rng_normal(&R) * (r % 3 ? 3.0 : 0.5));
        int k = r % 12;
        if (k == 1 && V > 3) { row[V / 2] = NAN; row[V - 1] = -INFINITY; }
        if (k == 2 && V > 3) { row[V / 3] = 40.0f; row[V - 2] = 40.0f; }
        if (k == 3) row[V - 1] = 1e4f;
        if (k == 6) row[V / 4] = 30.0f;   /* a confident token: greedy's Z = 1 + d, d tiny */
        if (k == 9) for (int i = 0; i < V; i++) row[i] = i % 2 ? NAN : -INFINITY;
        if (k == 10) row[V / 2] = INFINITY;
        u[r] = k == 4 ? 0.0 : k == 5 ? 0.9999999999 : rng_uniform(&R);
    }
    mrl_pick *pc = malloc((size_t)B * sizeof *pc), *pg = malloc((size_t)B * sizeof *pg);
    void *lc = put(cpu, l, (size_t)B * V, MRL_F32), *lg = put(gpu, l, (size_t)B * V, MRL_F32);
    void *uc = be_alloc(cpu, (size_t)B * 8), *ug = be_alloc(gpu, (size_t)B * 8);
    be_upload(cpu, uc, u, (size_t)B * 8); be_upload(gpu, ug, u, (size_t)B * 8);
    void *oc = be_alloc(cpu, (size_t)B * sizeof *pc), *og = be_alloc(gpu, (size_t)B * sizeof *pg);
    void *kc = be_alloc(cpu, op_sample_rows_work(cpu, B, V)), *kg = be_alloc(gpu, op_sample_rows_work(gpu, B, V));
    float inv = greedy ? 1.0f : 1.0f / T;
    op_sample_rows(cpu, oc, lc, uc, B, V, inv, greedy, kc);
    op_sample_rows(gpu, og, lg, ug, B, V, inv, greedy, kg);
    be_download(cpu, pc, oc, (size_t)B * sizeof *pc);
    be_download(gpu, pg, og, (size_t)B * sizeof *pg);
    int bad = 0;
    for (int r = 0; r < B && bad < 5; r++) {
        int same = pc[r].flag == pg[r].flag;
        if (same && !pc[r].flag)
            same = pc[r].tok == pg[r].tok && pc[r].logit == pg[r].logit && pc[r].max == pg[r].max &&
                   (greedy ? fabs(pc[r].Z - pg[r].Z) <= 1e-13 * pc[r].Z : pc[r].Z == pg[r].Z);
        if (!same) bad++;
        EXPECTF(same, "B %d V %d T %g row %d: CUDA tok %d flag %d Z %.17g, CPU tok %d flag %d Z %.17g",
                B, V, T, r, pg[r].tok, pg[r].flag, pg[r].Z, pc[r].tok, pc[r].flag, pc[r].Z);
    }
    be_free(cpu, lc); be_free(gpu, lg); be_free(cpu, uc); be_free(gpu, ug);
    be_free(cpu, oc); be_free(gpu, og); be_free(cpu, kc); be_free(gpu, kg);
    free(l); free(u); free(pc); free(pg);
}
TEST(par_sample_rows) {
    NEED_GPU_BACKEND();
    const int Vs[] = {1, 16, 17, 255, 256, 257, 4099};
    const float Ts[] = {1.0f, 0.6f, 0.05f, 0.0f};
    for (size_t v = 0; v < sizeof Vs / sizeof Vs[0]; v++)
        for (size_t t = 0; t < sizeof Ts / sizeof Ts[0]; t++) pick_case(24, Vs[v], Ts[t]);
    pick_case(256, 151936, 0.6f);
    pick_case(256, 151936, 0.0f);
    pick_case(65536, 3, 1.0f);   /* msample's largest --batch: more rows than a grid's y (65535) */
}

int main(void) {
    rng_init(&R, 1234, 0, 0);
    mrl_err e = {0};
    cpu = be_open("cpu", 0, &e);
    if (have_gpu()) gpu = be_open("cuda", 0, &e);
    RUN(par_cast); RUN(par_embedding); RUN(par_rmsnorm); RUN(par_linear); RUN(par_linear_bias_rounded_once); RUN(par_rope); RUN(par_swiglu_add);
    RUN(par_attention); RUN(par_attention_paged); RUN(par_logprob_logits); RUN(par_logprob_infinite_chunk);
    RUN(par_optimizer);
    RUN(par_sample_rows);
    return tst_done();
}
