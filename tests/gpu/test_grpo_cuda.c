/* test_grpo_cuda.c — mgrpo's update on CUDA against the CPU: three GRPO steps (reference
 * model, clipping, AdamW with its state in GPU memory) on the tiny fixture model give the
 * same loss, KL, gradient norm and weight change to bf16 precision; the optimizer state saved
 * from the GPU and loaded back is bit-exact. Skips without a GPU (fails under make test-gpu). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <math.h>
#include "gpu.h"
#include "checkpoint.h"
#include "grpo.h"
#include "optim.h"
#include "trainer.h"

#define NSEQ 6
static int32_t P[NSEQ][16], C[NSEQ][16];
static float OLD[NSEQ][16];
static int PL[NSEQ], CL[NSEQ], TR[NSEQ];
static double R[NSEQ];

/* testdata/grpo/batch.jsonl, read with sscanf: no jq needed in a GPU test */
static int load_batch(void) {
    FILE *f = fopen("testdata/grpo/batch.jsonl", "r");
    if (!f) return 0;
    char line[8192];
    int n = 0;
    while (n < NSEQ && fgets(line, sizeof line, f)) {
        char *p = strstr(line, "\"prompt_ids\": [") + 15;
        for (PL[n] = 0; *p != ']'; PL[n]++) { P[n][PL[n]] = (int32_t)strtol(p, &p, 10); if (*p == ',') p++; }
        p = strstr(line, "\"completion_ids\": [") + 19;
        for (CL[n] = 0; *p != ']'; CL[n]++) { C[n][CL[n]] = (int32_t)strtol(p, &p, 10); if (*p == ',') p++; }
        p = strstr(line, "\"logprobs\": [") + 13;
        for (int i = 0; *p != ']'; i++) { OLD[n][i] = strtof(p, &p); if (*p == ',') p++; }
        TR[n] = strstr(line, "\"finish\": \"length\"") != NULL;
        R[n] = strtod(strstr(line, "\"reward\": ") + 10, NULL);
        n++;
    }
    fclose(f);
    return n;
}

typedef struct { double loss[3], kl[3], gnorm[3]; float *delta; size_t n; } run_out;

static int run(const char *dev, run_out *out, const char *save_to) {
    mrl_err e = {0};
    /* bf16 forward on both; the reference computes as the policy does, as in mgrpo */
    model_opts mo = {.device = dev, .bf16 = 1, .trainable = 1, .threads = 1};
    model_opts ro = {.device = dev, .bf16 = 1, .threads = 1, .train_numerics = 1};
    mrl_model *m = model_load("testdata/grpo/model", &mo, &e), *ref = model_load("testdata/grpo/ref", &ro, &e);
    if (!m || !ref) { printf("  %s: %s\n", dev, e.msg); model_free(m); model_free(ref); return -1; }
    mrl_backend *be = be_open(dev, 1, &e);
    mrl_param *p;
    int np = model_params(m, &p);
    optim_opts oo = {OPTIM_ADAMW, 0.9, 0.999, 1e-8, 0.01};
    optim *opt = optim_create(be, p, np, &oo, &e);
    size_t total = 0;
    for (int i = 0; i < np; i++) total += p[i].numel;
    float *w0 = malloc(total * sizeof *w0);
    out->delta = malloc(total * sizeof *out->delta); out->n = total;
    for (int i = 0, off = 0; i < np; off += (int)p[i].numel, i++) be_download(be, w0 + off, p[i].w, p[i].numel * sizeof(float));
    int start[3] = {0, 3, 6};
    double adv[NSEQ];
    grpo_advantages(R, start, 2, GRPO_ADV_GRPO, GRPO_SCALE_GROUP, 0, adv, &e);
    tr_seq sq[NSEQ];
    for (int i = 0; i < NSEQ; i++) sq[i] = (tr_seq){P[i], PL[i], C[i], CL[i], OLD[i], TR[i], adv[i]};
    tr_opts t = {{GRPO_LOSS_GRPO, 0.04, 0.2, 0.28, 0, 0}, 2, 8, 0, 1, 0.7f};
    for (int s = 0; s < 3; s++) {
        grpo_stats st = {0};
        model_zero_grad(m);
        if (trainer_accumulate(m, ref, &t, sq, NSEQ, &st, &e)) { printf("  %s\n", e.msg); return -1; }
        model_sync_weights(m);   /* the model's queue is done before the optimizer's starts */
        double gn = optim_grad_norm(opt);
        optim_step(opt, 1e-3, optim_clip_factor(gn, 1.0), &e);
        model_sync_weights(m);
        out->loss[s] = st.loss; out->kl[s] = st.kl_sum / st.tokens; out->gnorm[s] = gn;
    }
    for (int i = 0, off = 0; i < np; off += (int)p[i].numel, i++) be_download(be, out->delta + off, p[i].w, p[i].numel * sizeof(float));
    for (size_t k = 0; k < total; k++) out->delta[k] -= w0[k];
    int rc = 0;
    if (save_to) {   /* GPU state -> file -> a fresh GPU optimizer -> file: the same bytes */
        char a[512], b[512];
        snprintf(a, sizeof a, "%s/a.safetensors", save_to);
        snprintf(b, sizeof b, "%s/b.safetensors", save_to);
        optim *o2 = optim_create(be, p, np, &oo, &e);
        rc = optim_save(opt, a, 1, &e) || optim_load(o2, a, &e) || optim_save(o2, b, 1, &e);
        if (rc) printf("  %s\n", e.msg);
        optim_free(o2);
    }
    free(w0);
    optim_free(opt); be_close(be); model_free(ref); model_free(m);
    return rc;
}

static int same_file(const char *a, const char *b) {
    FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
    int same = x && y;
    while (same) { int c = fgetc(x), d = fgetc(y); if (c != d) same = 0; if (c == EOF) break; }
    if (x) fclose(x);
    if (y) fclose(y);
    return same;
}

TEST(grpo_steps_cuda_match_cpu) {
    NEED_GPU();
    if (load_batch() != NSEQ) SKIP("testdata/grpo/batch.jsonl missing");
    char dir[] = "/tmp/test_grpo_cuda_XXXXXX";
    EXPECT(mkdtemp(dir) != NULL);
    run_out c = {0}, g = {0};
    EXPECT(run("cpu", &c, NULL) == 0);
    EXPECT(run("cuda", &g, dir) == 0);
    /* step 1 is forward/backward precision (bf16 on both; the loss is a sum of +-A terms that
     * nearly cancel, so it is compared absolutely); later steps also carry AdamW's amplifying
     * of bf16 noise in near-zero gradients (its update is sign-like), hence looser bounds */
    for (int s = 0; s < 3; s++) {
        double tol = s == 0 ? 3e-2 : 1e-1;
        EXPECTF(fabs(c.loss[s] - g.loss[s]) <= 1e-2, "step %d loss cpu %.6g cuda %.6g", s + 1, c.loss[s], g.loss[s]);
        EXPECTF(fabs(c.kl[s] - g.kl[s]) <= tol * c.kl[s], "step %d kl cpu %.6g cuda %.6g", s + 1, c.kl[s], g.kl[s]);
        EXPECTF(fabs(c.gnorm[s] - g.gnorm[s]) <= tol * c.gnorm[s], "step %d grad norm cpu %.6g cuda %.6g", s + 1, c.gnorm[s], g.gnorm[s]);
        printf("  step %d: loss %.5g / %.5g, kl %.5g / %.5g, grad norm %.5g / %.5g (cpu / cuda)\n", s + 1,
               c.loss[s], g.loss[s], c.kl[s], g.kl[s], c.gnorm[s], g.gnorm[s]);
    }
    /* the weight change of three AdamW steps points the same way */
    double dot = 0, nc = 0, ng = 0;
    for (size_t k = 0; c.delta && g.delta && k < c.n; k++) { dot += (double)c.delta[k] * g.delta[k]; nc += (double)c.delta[k] * c.delta[k]; ng += (double)g.delta[k] * g.delta[k]; }
    double cosine = dot / sqrt(nc * ng + 1e-300);
    EXPECTF(cosine > 0.95, "cosine of the weight changes %.4f", cosine);
    printf("  cuda vs cpu: loss %.5g / %.5g, weight-change cosine %.4f\n", g.loss[2], c.loss[2], cosine);
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/a.safetensors", dir);
    snprintf(b, sizeof b, "%s/b.safetensors", dir);
    EXPECT(same_file(a, b));
    free(c.delta); free(g.delta);
    ckpt_rmtree(dir);
}

int main(void) {
    RUN(grpo_steps_cuda_match_cpu);
    return tst_done();
}
