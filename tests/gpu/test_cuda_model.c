/* test_cuda_model.c — the whole Qwen2 model on CUDA against the CPU backend (the reference),
 * same weights (bf16 forward copies on both), same packed batch: per-token log-probs, every
 * parameter's gradient (both against the float64 PyTorch gradients), and logits through
 * prefill + batched decode over the paged cache.
 * Skips without a GPU (fails under `make test-gpu`). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "gpu.h"
#include "model.h"
#include "safetensors.h"

typedef struct batch_ref { st_file *f; int T, nseq; int32_t *tok, *tgt, *cu; float *w, temp; } batch_ref;

static void *copy_tensor(st_file *f, const char *name, int *n, int as_float) {
    const st_tensor *t = st_find(f, name);
    if (!t) return NULL;
    void *p = malloc(t->numel * 4 + 4);
    if (as_float) { mrl_err e = {0}; st_read_f32(t, p, &e); } else memcpy(p, t->data, t->nbytes);
    if (n) *n = (int)t->numel;
    return p;
}
static int batch_load(batch_ref *b, const char *model) {
    char path[512]; mrl_err e = {0};
    snprintf(path, sizeof path, "testdata/models/%s/ref.safetensors", model);
    memset(b, 0, sizeof *b);
    if (!(b->f = st_open(path, &e))) { printf("  %s\n", e.msg); return -1; }
    b->tok = copy_tensor(b->f, "tokens", &b->T, 0);
    b->tgt = copy_tensor(b->f, "targets", NULL, 0);
    b->cu = copy_tensor(b->f, "cu_seqlens", &b->nseq, 0); b->nseq--;
    b->w = copy_tensor(b->f, "lw", NULL, 1);
    float *t = copy_tensor(b->f, "temperature", NULL, 1);
    int have_t = t != NULL;
    if (t) { b->temp = t[0]; free(t); }
    return b->tok && b->tgt && b->cu && b->w && have_t ? 0 : -1;
}
static void batch_free(batch_ref *b) { free(b->tok); free(b->tgt); free(b->cu); free(b->w); st_close(b->f); }

static mrl_model *load(const char *name, const char *dev, int trainable) {
    char dir[512]; mrl_err e = {0};
    snprintf(dir, sizeof dir, "testdata/models/%s", name);
    model_opts o = {.device = dev, .trainable = trainable, .bf16 = 1};
    mrl_model *m = model_load(dir, &o, &e);
    if (!m) printf("  model_load %s on %s: %s\n", dir, dev, e.msg);
    return m;
}
/* max |a-b| / max(max|b|, floor) */
static double nerr(const float *a, const float *b, size_t n, double floor) {
    double mx = floor, d = 0;
    for (size_t i = 0; i < n; i++) if (fabs(b[i]) > mx) mx = fabs(b[i]);
    for (size_t i = 0; i < n; i++) { double x = fabs((double)a[i] - b[i]); if (!(x <= d)) d = x; }
    return d / mx;
}

static const char *MODELS[] = {"tiny-untied", "tiny-tied"};

/* max |a - b| / max |b|: the error relative to the tensor's scale; a NaN anywhere is NaN
 * (tst_worst: fmax dropped it, and a gradient all NaN scored 0 and passed every <= bound) */
static double maxrel(const float *a, const float *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) { d = tst_worst(d, fabs((double)a[i] - b[i])); m = fmax(m, fabs(b[i])); }
    return d / (m > 0 ? m : 1);
}

/* Gradients: both backends against the float64 PyTorch gradients in ref.safetensors (what
 * test_model checks the CPU against), not against each other: two bf16 computations that
 * round differently are each ~3e-2 off the truth, so their mutual distance can be twice that
 * without either being wrong. CUDA must be as close to the truth as the CPU's bf16 path
 * (within twice its worst error, plus 1e-2) and within the CPU's bf16 bound (1e-1). */
TEST(model_logprobs_and_grads) {
    NEED_GPU();
    for (int k = 0; k < 2; k++) {
        batch_ref r; if (batch_load(&r, MODELS[k])) { EXPECT(0); continue; }
        mrl_model *mc = load(MODELS[k], "cpu", 1), *mg = load(MODELS[k], "cuda", 1);
        if (!mc || !mg) { EXPECT(0); batch_free(&r); continue; }
        mrl_batch b = {.T = r.T, .nseq = r.nseq, .tokens = r.tok, .targets = r.tgt, .cu_seqlens = r.cu, .temperature = r.temp};
        float *lc = calloc(r.T, 4), *lg = calloc(r.T, 4);
        mrl_err e = {0};
        EXPECT(model_forward(mc, &b, lc, &e) == 0);
        EXPECT(model_forward(mg, &b, lg, &e) == 0);
        double le = nerr(lg, lc, r.T, 1.0);
        EXPECTF(le < 2e-2, "%s: log-probs differ: normalised error %.3g", MODELS[k], le);
        EXPECT(model_backward(mc, r.w, &e) == 0);
        EXPECT(model_backward(mg, r.w, &e) == 0);
        mrl_param *pc, *pg; int nc = model_params(mc, &pc), ng = model_params(mg, &pg);
        EXPECT(nc == ng && nc > 0);
        double wc = 0, wg = 0, wx = 0; const char *wname = "";
        for (int i = 0; i < nc && i < ng; i++) {
            char gname[160];
            snprintf(gname, sizeof gname, "grad.%s", pc[i].name);
            int nref = 0;
            float *gr = copy_tensor(r.f, gname, &nref, 1);
            if (!gr || (size_t)nref != pc[i].numel) { printf("  no reference gradient of %zu elements for %s\n", pc[i].numel, pc[i].name); EXPECT(0); free(gr); continue; }
            float *gg = malloc(pc[i].numel * 4);
            mrl_err de = {0};
            EXPECT(model_param_download(mg, i, 1, gg, &de) == 0);       /* device memory */
            double ec = maxrel(pc[i].g, gr, pc[i].numel), eg = maxrel(gg, gr, pc[i].numel);
            wc = tst_worst(wc, ec); wx = tst_worst(wx, maxrel(gg, pc[i].g, pc[i].numel));
            if (wg == wg && tst_worst(wg, eg) != wg) { wg = eg; wname = pc[i].name; }   /* a NaN stays */
            free(gr); free(gg);
        }
        printf("  %s: worst gradient error vs float64: cpu bf16 %.3g, cuda %.3g (%s); cuda vs cpu %.3g\n",
               MODELS[k], wc, wg, wname, wx);
        EXPECTF(wg <= 1e-1 && wg <= 2 * wc + 1e-2, "%s: cuda gradient error %.3g (%s), cpu bf16 %.3g", MODELS[k], wg, wname, wc);
        free(lc); free(lg);
        model_free(mc); model_free(mg);
        batch_free(&r);
    }
}

/* prefill and batched decode over the paged cache, untied and tied LM heads (the tied one
 * reads the embedding table as the head's weights) */
static void prefill_decode_case(const char *name);
TEST(model_prefill_decode) {
    NEED_GPU();
    for (int k = 0; k < 2; k++) prefill_decode_case(MODELS[k]);
}
static void prefill_decode_case(const char *name) {
    batch_ref r; if (batch_load(&r, name)) { EXPECT(0); return; }
    mrl_model *mc = load(name, "cpu", 0), *mg = load(name, "cuda", 0);
    if (!mc || !mg) { EXPECT(0); batch_free(&r); return; }
    int V = model_config(mc)->vocab_size, nseq = r.nseq;
    mrl_err e = {0};
    kv_cache *kc = kv_create(mc, 1 << 22, 4, KV_AUTO, &e), *kg = kv_create(mg, 1 << 22, 4, KV_AUTO, &e);
    EXPECT(kc && kg);
    float *zc = malloc((size_t)nseq * V * 4), *zg = malloc((size_t)nseq * V * 4);
    int sc[16], sg[16], lens[16];
    for (int s = 0; s < nseq && s < 16; s++) {
        int n = r.cu[s + 1] - r.cu[s]; lens[s] = n / 2 > 0 ? n / 2 : 1;
        sc[s] = kv_seq_new(kc); sg[s] = kv_seq_new(kg);
        EXPECT(model_prefill(mc, kc, sc[s], r.tok + r.cu[s], lens[s], zc, &e) == 0);
        EXPECT(model_prefill(mg, kg, sg[s], r.tok + r.cu[s], lens[s], zg, &e) == 0);
        double pe = nerr(zg, zc, V, 1e-3);
        EXPECTF(pe < 3e-2, "%s: prefill logits of sequence %d: normalised error %.3g", name, s, pe);
    }
    for (int step = 0; step < 5; step++) {   /* a batch of sequences at different lengths */
        int32_t tk[16];
        for (int s = 0; s < nseq; s++) tk[s] = r.tok[r.cu[s] + (lens[s] + step) % (r.cu[s + 1] - r.cu[s])];
        EXPECT(model_decode(mc, kc, sc, tk, nseq, zc, &e) == 0);
        EXPECT(model_decode(mg, kg, sg, tk, nseq, zg, &e) == 0);
        double de = nerr(zg, zc, (size_t)nseq * V, 1e-3);
        EXPECTF(de < 3e-2, "%s: decode step %d logits: normalised error %.3g", name, step, de);
    }
    free(zc); free(zg);
    kv_free(kc); kv_free(kg);
    model_free(mc); model_free(mg);
    batch_free(&r);
}

int main(void) {
    RUN(model_logprobs_and_grads);
    RUN(model_prefill_decode);
    return tst_done();
}
