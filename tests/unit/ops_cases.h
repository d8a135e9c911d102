/* ops_cases.h — every op of kernels/ops.h in one table (llama.cpp test-backend-ops style):
 * each case declares its tensors, a forward and a backward; the harness runs a case on a
 * backend, checks the CPU backward by finite differences, and compares two backends.
 * Included by tests/unit/test_ops.c (CPU) and the GPU parity test (CUDA vs CPU). */
#ifndef MRL_OPS_CASES_H
#define MRL_OPS_CASES_H
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ops.h"

enum {
    R_IN,    /* activation input (act dtype); gradient in .dg (act) */
    R_W,     /* weight (case wdt); gradient fp32, accumulated by the op */
    R_INT,   /* int32 input (tokens, positions, offsets), no gradient */
    R_OUT,   /* activation output; the loss is sum(r * out), dout = r */
    R_OUTF,  /* fp32 output in the loss (logp) */
    R_AUX,   /* fp32 state the forward saves for the backward (rstd, lse) */
};

#define TC_MAXT 8
typedef struct tc_tensor {
    const char *name; int role; size_t n;
    float *h;          /* host values (fp32; ints stored in hi) */
    int32_t *hi;
    float *r;          /* loss weights for outputs */
    void *d, *dg;      /* backend buffers: value, gradient */
} tc_tensor;

typedef struct tc_ctx {
    const mrl_backend *be;
    mrl_dtype wdt;
    tc_tensor t[TC_MAXT]; int nt;
    int dims[8];               /* case parameters */
    void *work; size_t work_n;
    uint64_t rng;
} tc_ctx;

typedef struct tc_case {
    const char *name;
    int dims[8];
    void (*setup)(tc_ctx *c);  /* declares tensors (tc_add) and fills int inputs */
    void (*fwd)(tc_ctx *c);
    void (*bwd)(tc_ctx *c);    /* NULL: forward only */
} tc_case;

static float tc_rand(tc_ctx *c) {   /* uniform in [-1, 1) */
    c->rng = c->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((c->rng >> 40) * (1.0 / 8388608.0)) - 1.0f;
}
static int tc_add(tc_ctx *c, const char *name, int role, size_t n, float amp) {
    tc_tensor *t = &c->t[c->nt];
    memset(t, 0, sizeof *t);
    t->name = name; t->role = role; t->n = n;
    t->h = calloc(n, sizeof(float)); t->hi = calloc(n, sizeof(int32_t)); t->r = calloc(n, sizeof(float));
    for (size_t i = 0; i < n; i++) { t->h[i] = amp * tc_rand(c); t->r[i] = tc_rand(c); }
    return c->nt++;
}
static void *tc_d(tc_ctx *c, int i) { return c->t[i].d; }
static void *tc_g(tc_ctx *c, int i) { return c->t[i].dg; }

static size_t tc_esize(tc_ctx *c, int role) {
    if (role == R_IN || role == R_OUT) return mrl_dtype_size(c->be->act);
    if (role == R_W) return mrl_dtype_size(c->wdt);
    return 4;
}
/* host fp32 -> backend buffer of the tensor's dtype */
static void tc_put(tc_ctx *c, void *dst, const float *src, size_t n, size_t es) {
    if (es == 4) { c->be->ops->upload(c->be, dst, src, n * 4); return; }
    uint16_t *tmp = malloc(n * 2);
    for (size_t i = 0; i < n; i++) {
        uint32_t u; memcpy(&u, &src[i], 4); u += 0x7fffu + ((u >> 16) & 1u); tmp[i] = (uint16_t)(u >> 16);
    }
    c->be->ops->upload(c->be, dst, tmp, n * 2); free(tmp);
}
static void tc_get(tc_ctx *c, float *dst, const void *src, size_t n, size_t es) {
    if (es == 4) { c->be->ops->download(c->be, dst, src, n * 4); return; }
    uint16_t *tmp = malloc(n * 2);
    c->be->ops->download(c->be, tmp, src, n * 2);
    for (size_t i = 0; i < n; i++) { uint32_t u = (uint32_t)tmp[i] << 16; memcpy(&dst[i], &u, 4); }
    free(tmp);
}
/* Allocates backend buffers and uploads every input (and the loss weights as gradients). */
static void tc_upload(tc_ctx *c) {
    for (int i = 0; i < c->nt; i++) {
        tc_tensor *t = &c->t[i];
        size_t es = tc_esize(c, t->role), ges = t->role == R_W ? 4 : es;
        if (!t->d) { t->d = be_alloc(c->be, t->n * es); t->dg = be_alloc(c->be, t->n * ges); }
        if (t->role == R_INT) be_upload(c->be, t->d, t->hi, t->n * 4);
        else if (t->role == R_IN || t->role == R_W) tc_put(c, t->d, t->h, t->n, es);
        if (t->role == R_OUT || t->role == R_OUTF) tc_put(c, t->dg, t->r, t->n, es);
        else if (t->role != R_INT) be_memset0(c->be, t->dg, t->n * ges);
    }
}
static void tc_free(tc_ctx *c) {
    for (int i = 0; i < c->nt; i++) {
        be_free(c->be, c->t[i].d); be_free(c->be, c->t[i].dg);
        free(c->t[i].h); free(c->t[i].hi); free(c->t[i].r);
    }
    be_free(c->be, c->work);
    c->nt = 0; c->work = NULL;
}
static void *tc_work(tc_ctx *c, size_t bytes) {
    if (bytes > c->work_n || !c->work) { be_free(c->be, c->work); c->work = be_alloc(c->be, bytes ? bytes : 1); c->work_n = bytes; }
    return c->work;
}
/* The scalar loss sum(r * out) over outputs, downloaded to the host. */
static double tc_loss(tc_ctx *c) {
    double L = 0;
    for (int i = 0; i < c->nt; i++) {
        tc_tensor *t = &c->t[i];
        if (t->role != R_OUT && t->role != R_OUTF) continue;
        float *y = malloc(t->n * 4);
        tc_get(c, y, t->d, t->n, tc_esize(c, t->role));
        for (size_t k = 0; k < t->n; k++) L += (double)t->r[k] * y[k];
        free(y);
    }
    return L;
}

/* ---------------- the cases ---------------- */
#define D_(k) (c->dims[k])

static void su_embedding(tc_ctx *c) {          /* dims: T, C, V */
    int tok = tc_add(c, "tokens", R_INT, D_(0), 0);
    for (int i = 0; i < D_(0); i++) c->t[tok].hi[i] = (i * 7 + 3) % D_(2);   /* repeats on purpose */
    c->t[tok].hi[D_(0) - 1] = c->t[tok].hi[0];
    tc_add(c, "wte", R_W, (size_t)D_(2) * D_(1), 1);
    tc_add(c, "out", R_OUT, (size_t)D_(0) * D_(1), 0);
}
static void fw_embedding(tc_ctx *c) { op_embedding_fwd(c->be, tc_d(c, 2), tc_d(c, 0), tc_d(c, 1), c->wdt, D_(0), D_(1)); }
static void bw_embedding(tc_ctx *c) { op_embedding_bwd(c->be, tc_g(c, 1), tc_d(c, 0), tc_g(c, 2), D_(0), D_(1)); }

static void su_rmsnorm(tc_ctx *c) {            /* dims: T, C */
    tc_add(c, "x", R_IN, (size_t)D_(0) * D_(1), 2);
    int w = tc_add(c, "w", R_W, D_(1), 1);
    for (int i = 0; i < D_(1); i++) c->t[w].h[i] += 1.0f;
    tc_add(c, "out", R_OUT, (size_t)D_(0) * D_(1), 0);
    tc_add(c, "rstd", R_AUX, D_(0), 0);
}
static void fw_rmsnorm(tc_ctx *c) { op_rmsnorm_fwd(c->be, tc_d(c, 2), tc_d(c, 3), tc_d(c, 0), tc_d(c, 1), c->wdt, D_(0), D_(1), 1e-6f); }
static void bw_rmsnorm(tc_ctx *c) { op_rmsnorm_bwd(c->be, tc_g(c, 0), 0, tc_g(c, 1), tc_g(c, 2), tc_d(c, 0), tc_d(c, 1), c->wdt, tc_d(c, 3), D_(0), D_(1)); }

static void su_linear(tc_ctx *c) {             /* dims: T, IN, OUT, bias? */
    tc_add(c, "x", R_IN, (size_t)D_(0) * D_(1), 1);
    tc_add(c, "w", R_W, (size_t)D_(2) * D_(1), 0.5f);
    tc_add(c, "b", R_W, D_(2), 1);
    tc_add(c, "out", R_OUT, (size_t)D_(0) * D_(2), 0);
}
static void fw_linear(tc_ctx *c) { op_linear_fwd(c->be, tc_d(c, 3), 0, tc_d(c, 0), tc_d(c, 1), c->wdt, D_(3) ? tc_d(c, 2) : NULL, D_(0), D_(1), D_(2)); }
static void bw_linear(tc_ctx *c) { op_linear_bwd(c->be, tc_g(c, 0), 0, tc_g(c, 1), D_(3) ? tc_g(c, 2) : NULL, tc_g(c, 3), tc_d(c, 0), tc_d(c, 1), c->wdt, D_(0), D_(1), D_(2)); }

static void su_rope(tc_ctx *c) {               /* dims: T, H, D, stride */
    int p = tc_add(c, "pos", R_INT, D_(0), 0);
    for (int i = 0; i < D_(0); i++) c->t[p].hi[i] = (i * 13) % 97;
    tc_add(c, "x", R_IN, (size_t)D_(0) * D_(3), 1);
    tc_add(c, "out", R_OUT, (size_t)D_(0) * D_(3), 0);
}
static void fw_rope(tc_ctx *c) {
    be_copy(c->be, tc_d(c, 2), tc_d(c, 1), c->t[1].n * mrl_dtype_size(c->be->act));
    op_rope(c->be, tc_d(c, 2), D_(0), D_(1), D_(2), D_(3), tc_d(c, 0), 10000.0f, 0);
}
static void bw_rope(tc_ctx *c) {
    be_copy(c->be, tc_g(c, 1), tc_g(c, 2), c->t[1].n * mrl_dtype_size(c->be->act));
    op_rope(c->be, tc_g(c, 1), D_(0), D_(1), D_(2), D_(3), tc_d(c, 0), 10000.0f, 1);
}

/* dims: nseq, H, Hkv, D, len0, len1, len2 — one fused qkv buffer as in the model */
static void su_attention(tc_ctx *c) {
    int ns = D_(0), T = 0;
    for (int s = 0; s < ns; s++) T += D_(4 + s);
    int cu = tc_add(c, "cu_seqlens", R_INT, ns + 1, 0);
    for (int s = 0; s < ns; s++) c->t[cu].hi[s + 1] = c->t[cu].hi[s] + D_(4 + s);
    int st = (D_(1) + 2 * D_(2)) * D_(3);
    tc_add(c, "qkv", R_IN, (size_t)T * st, 1);
    tc_add(c, "out", R_OUT, (size_t)T * D_(1) * D_(3), 0);
    tc_add(c, "lse", R_AUX, (size_t)T * D_(1), 0);
    c->dims[7] = T;
}
static void fw_attention(tc_ctx *c) {
    int H = D_(1), K = D_(2), D = D_(3), T = D_(7), st = (H + 2 * K) * D, maxlen = 0;
    for (int s = 0; s < D_(0); s++) if (D_(4 + s) > maxlen) maxlen = D_(4 + s);
    char *qkv = tc_d(c, 1); size_t es = mrl_dtype_size(c->be->act);
    void *w = tc_work(c, op_attention_work(c->be, T, maxlen, H, D));
    /* the offsets on the host too (tensor 0's host copy); the backward reads them back itself */
    op_attention_fwd(c->be, tc_d(c, 2), tc_d(c, 3), qkv, qkv + (size_t)H * D * es, qkv + (size_t)(H + K) * D * es,
                     st, tc_d(c, 0), c->t[0].hi, D_(0), T, H, K, D, w);
}
static void bw_attention(tc_ctx *c) {
    int H = D_(1), K = D_(2), D = D_(3), T = D_(7), st = (H + 2 * K) * D, maxlen = 0;
    for (int s = 0; s < D_(0); s++) if (D_(4 + s) > maxlen) maxlen = D_(4 + s);
    char *qkv = tc_d(c, 1), *dqkv = tc_g(c, 1); size_t es = mrl_dtype_size(c->be->act);
    void *w = tc_work(c, op_attention_work(c->be, T, maxlen, H, D));
    op_attention_bwd(c->be, dqkv, dqkv + (size_t)H * D * es, dqkv + (size_t)(H + K) * D * es, st, tc_g(c, 2),
                     qkv, qkv + (size_t)H * D * es, qkv + (size_t)(H + K) * D * es, st, tc_d(c, 2), tc_d(c, 3),
                     tc_d(c, 0), NULL, D_(0), T, H, K, D, w);
}

static void su_swiglu(tc_ctx *c) {             /* dims: T, F */
    tc_add(c, "gu", R_IN, (size_t)D_(0) * 2 * D_(1), 3);
    tc_add(c, "out", R_OUT, (size_t)D_(0) * D_(1), 0);
}
static void fw_swiglu(tc_ctx *c) { op_swiglu_fwd(c->be, tc_d(c, 1), tc_d(c, 0), D_(0), D_(1)); }
static void bw_swiglu(tc_ctx *c) { op_swiglu_bwd(c->be, tc_g(c, 0), tc_g(c, 1), tc_d(c, 0), D_(0), D_(1)); }

static void su_add(tc_ctx *c) {                /* dims: n */
    tc_add(c, "a", R_IN, D_(0), 1); tc_add(c, "b", R_IN, D_(0), 1); tc_add(c, "out", R_OUT, D_(0), 0);
}
static void fw_add(tc_ctx *c) { op_add(c->be, tc_d(c, 2), tc_d(c, 0), tc_d(c, 1), D_(0)); }
static void bw_add(tc_ctx *c) {   /* the identity, twice */
    size_t n = (size_t)D_(0) * mrl_dtype_size(c->be->act);
    be_copy(c->be, tc_g(c, 0), tc_g(c, 2), n); be_copy(c->be, tc_g(c, 1), tc_g(c, 2), n);
}

/* dims: T, C, V, temperature*100 — V above one vocabulary chunk, some rows without target */
static void su_logprob(tc_ctx *c) {
    int tg = tc_add(c, "targets", R_INT, D_(0), 0);
    for (int i = 0; i < D_(0); i++) c->t[tg].hi[i] = i % 3 == 1 ? -1 : (int)(((uint64_t)i * 7919u + 5) % (uint64_t)D_(2));
    c->t[tg].hi[0] = D_(2) - 1;
    tc_add(c, "x", R_IN, (size_t)D_(0) * D_(1), 1);
    tc_add(c, "w", R_W, (size_t)D_(2) * D_(1), 1);
    tc_add(c, "logp", R_OUTF, D_(0), 0);
    tc_add(c, "lse", R_AUX, D_(0), 0);
}
static void fw_logprob(tc_ctx *c) {
    void *w = tc_work(c, op_logprob_work(c->be, D_(0), D_(1), D_(2)));
    op_logprob_fwd(c->be, tc_d(c, 3), tc_d(c, 4), tc_d(c, 1), tc_d(c, 2), c->wdt, tc_d(c, 0), D_(0), D_(1), D_(2), 100.0f / D_(3), w);
}
static void bw_logprob(tc_ctx *c) {
    void *w = tc_work(c, op_logprob_work(c->be, D_(0), D_(1), D_(2)));
    op_logprob_bwd(c->be, tc_g(c, 1), tc_g(c, 2), tc_g(c, 3), tc_d(c, 4), tc_d(c, 1), tc_d(c, 2), c->wdt, tc_d(c, 0),
                   D_(0), D_(1), D_(2), 100.0f / D_(3), w);
}

static void su_logits(tc_ctx *c) {             /* dims: T, C, V */
    tc_add(c, "x", R_IN, (size_t)D_(0) * D_(1), 1);
    tc_add(c, "w", R_W, (size_t)D_(2) * D_(1), 1);
    tc_add(c, "logits", R_OUTF, (size_t)D_(0) * D_(2), 0);
}
static void fw_logits(tc_ctx *c) { op_logits(c->be, tc_d(c, 2), tc_d(c, 0), tc_d(c, 1), c->wdt, D_(0), D_(1), D_(2)); }

static const tc_case tc_cases[] = {
    {"embedding",        {5, 16, 11},            su_embedding, fw_embedding, bw_embedding},
    {"rmsnorm",          {4, 24},                su_rmsnorm,   fw_rmsnorm,   bw_rmsnorm},
    {"linear_bias_T3",   {3, 20, 12, 1},         su_linear,    fw_linear,    bw_linear},
    {"linear_T17",       {17, 37, 9, 0},         su_linear,    fw_linear,    bw_linear},
    {"linear_T7_IN53",   {7, 53, 24, 1},         su_linear,    fw_linear,    bw_linear},
    {"linear_T2_IN96",   {2, 96, 33, 0},         su_linear,    fw_linear,    bw_linear},
    {"linear_bias_T40",  {40, 32, 300, 1},       su_linear,    fw_linear,    bw_linear},
    {"rope",             {5, 3, 8, 40},          su_rope,      fw_rope,      bw_rope},
    {"attention_gqa",    {3, 4, 2, 8, 5, 1, 7},  su_attention, fw_attention, bw_attention},
    {"attention_mha",    {1, 2, 2, 16, 9},       su_attention, fw_attention, bw_attention},
    {"attention_blocks", {2, 6, 2, 8, 150, 3},   su_attention, fw_attention, bw_attention},
    {"attention_d16_blocks", {2, 4, 2, 16, 130, 20}, su_attention, fw_attention, bw_attention},   /* AVX-512 tiles */
    {"attention_d80_panels", {2, 2, 1, 80, 70, 33}, su_attention, fw_attention, bw_attention},   /* V, K in 64-column panels: 64 + 16 */
    {"swiglu",           {3, 10},                su_swiglu,    fw_swiglu,    bw_swiglu},
    {"add",              {33},                   su_add,       fw_add,       bw_add},
    {"logprob_t1",       {7, 16, 9000, 100},     su_logprob,   fw_logprob,   bw_logprob},
    {"logprob_t07_T300", {300, 8, 4100, 70},     su_logprob,   fw_logprob,   bw_logprob},
    {"logits",           {3, 16, 5000},          su_logits,    fw_logits,    NULL},
};
#define TC_NCASES ((int)(sizeof tc_cases / sizeof tc_cases[0]))

static void tc_init(tc_ctx *c, const mrl_backend *be, const tc_case *k, mrl_dtype wdt) {
    memset(c, 0, sizeof *c);
    c->be = be; c->wdt = wdt; c->rng = 0x9e3779b97f4a7c15ULL;
    memcpy(c->dims, k->dims, sizeof c->dims);
    k->setup(c);
    tc_upload(c);
}
/* Runs forward (+ backward) and downloads every output and gradient into out_h (fp32, one
 * array per tensor: value then gradient), for comparing backends. */
static void tc_run(tc_ctx *c, const tc_case *k, float **vals, float **grads) {
    k->fwd(c);
    if (k->bwd) k->bwd(c);
    for (int i = 0; i < c->nt; i++) {
        tc_tensor *t = &c->t[i];
        vals[i] = calloc(t->n, 4); grads[i] = calloc(t->n, 4);
        if (t->role != R_INT) tc_get(c, vals[i], t->d, t->n, tc_esize(c, t->role));
        if ((t->role == R_IN || t->role == R_W) && k->bwd)
            tc_get(c, grads[i], t->dg, t->n, t->role == R_W ? 4 : tc_esize(c, t->role));
    }
}
#endif
