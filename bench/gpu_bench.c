/* gpu_bench.c — model throughput on a backend (make bench-gpu runs it on CUDA): memory
 * bandwidth measured with a device copy (the roofline), batched decode tokens/s at several
 * batch sizes with the fraction of the roofline, and a training forward+backward's tokens/s
 * and model FLOPs utilisation. Prints markdown rows.
 * Usage: gpu_bench --model DIR [--device cuda] [--batch 1,256] [--prompt 128] [--steps 64]
 *                  [--train-seqs 8] [--train-len 512] [--peak-tflops 989] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "model.h"
#include "ops.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void die(const char *what, const mrl_err *e) { fprintf(stderr, "gpu_bench: %s: %s\n", what, e->msg); exit(1); }

int main(int argc, char **argv) {
    const char *dir = NULL, *dev = "cuda", *batches = "1,256";
    int prompt = 128, steps = 64, tseqs = 8, tlen = 512; double peak = 989.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) dev = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batches = argv[++i];
        else if (!strcmp(argv[i], "--prompt") && i + 1 < argc) prompt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--train-seqs") && i + 1 < argc) tseqs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--train-len") && i + 1 < argc) tlen = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--peak-tflops") && i + 1 < argc) peak = atof(argv[++i]);
        else { fprintf(stderr, "usage: gpu_bench --model DIR [--device D] [--batch LIST] [--prompt N] [--steps N] [--train-seqs N] [--train-len N] [--peak-tflops X]\n"); return 2; }
    }
    if (!dir) { fprintf(stderr, "gpu_bench: --model DIR is required\n"); return 2; }
    mrl_err e = {0};

    /* the roofline: a device-to-device copy, bytes read + written per second */
    mrl_backend *be = be_open(dev, 0, &e);
    if (!be) die("backend", &e);
    size_t nb = (size_t)1 << 30;
    void *a = be_alloc(be, nb), *b = be_alloc(be, nb);
    double bw = 0;
    if (a && b) {
        be_copy(be, b, a, nb); be_sync(be);
        double t0 = now();
        for (int i = 0; i < 10; i++) be_copy(be, b, a, nb);
        be_sync(be);
        bw = 2.0 * nb * 10 / (now() - t0);
    }
    be_free(be, a); be_free(be, b); be_close(be);
    printf("| device | %s |\n| memory bandwidth (device copy, bytes read + written per s) | %.0f GB/s |\n", dev, bw / 1e9);

    model_opts o = {.device = dev, .bf16 = 1};
    mrl_model *m = model_load(dir, &o, &e);
    if (!m) die("model_load", &e);
    const mrl_config *c = model_config(m);
    size_t np = config_nparams(c), V = c->vocab_size;
    /* bytes a decode step must read at batch 1: every weight but the embedding table (one row) */
    double wbytes = 2.0 * (np - (c->tie_word_embeddings ? 0 : V * (size_t)c->hidden_size));
    printf("| model | %s, %.2f B parameters, bf16 weights |\n\n", dir, np / 1e9);
    printf("| decode batch | prompt | steps | tokens/s | step ms | roofline tokens/s (weights + KV) | of roofline |\n|---|---|---|---|---|---|---|\n");

    for (const char *p = batches; *p; ) {
        int B = atoi(p);
        while (*p && *p != ',') p++;
        if (*p == ',') p++;
        if (B <= 0) continue;
        size_t kvb = (size_t)B * (prompt + steps + 16) * c->num_layers * 2 * c->num_kv_heads * c->head_dim * 2;
        kv_cache *kv = kv_create(m, kvb + (64u << 20), 16, KV_AUTO, &e);
        if (!kv) die("kv_create", &e);
        float *logits = malloc((size_t)B * V * sizeof(float));
        int32_t *toks = malloc((size_t)prompt * 4), *step = malloc((size_t)B * 4);
        int *seqs = malloc((size_t)B * sizeof(int));
        for (int i = 0; i < prompt; i++) toks[i] = (int32_t)((i * 7919 + 13) % (int)V);
        int root = kv_seq_new(kv);
        if (model_prefill(m, kv, root, toks, prompt, logits, &e)) die("prefill", &e);
        for (int s = 0; s < B; s++) { seqs[s] = kv_fork(kv, root); step[s] = (int32_t)((s * 31 + 7) % (int)V); }
        for (int w = 0; w < 3; w++) if (model_decode(m, kv, seqs, step, B, logits, &e)) die("decode", &e);
        double t0 = now();
        for (int i = 0; i < steps; i++) if (model_decode(m, kv, seqs, step, B, logits, &e)) die("decode", &e);
        double dt = now() - t0;
        double ctx = prompt + 3 + steps / 2.0;
        double kvbytes = (double)B * ctx * c->num_layers * 2 * c->num_kv_heads * c->head_dim * 2;
        /* the copy's bytes read + written per second is the rate the memory sustains; a decode
         * step reads weights and KV, so its roofline is bw / bytes per step */
        double roof = bw > 0 ? B / ((wbytes + kvbytes) / bw) : 0;
        double tps = (double)B * steps / dt;
        printf("| %d | %d | %d | %.0f | %.2f | %.0f | %.0f %% |\n", B, prompt, steps, tps, dt / steps * 1e3, roof, roof > 0 ? 100 * tps / roof : 0);
        fflush(stdout);
        for (int s = 0; s < B; s++) kv_seq_free(kv, seqs[s]);
        kv_seq_free(kv, root);
        kv_free(kv); free(logits); free(toks); free(step); free(seqs);
    }
    model_free(m);

    /* training forward + backward on packed sequences */
    o.trainable = 1;
    m = model_load(dir, &o, &e);
    if (!m) die("model_load (trainable)", &e);
    c = model_config(m);
    int T = tseqs * tlen;
    int32_t *tok = malloc((size_t)T * 4), *tgt = malloc((size_t)T * 4), *cu = malloc((size_t)(tseqs + 1) * 4);
    float *logp = malloc((size_t)T * 4), *dl = malloc((size_t)T * 4);
    for (int i = 0; i < T; i++) { tok[i] = (int32_t)((i * 104729 + 3) % (int)V); tgt[i] = (i + 1) % tlen ? (int32_t)(((i + 1) * 104729 + 3) % (int)V) : -1; dl[i] = 1.0f / T; }
    for (int s = 0; s <= tseqs; s++) cu[s] = s * tlen;
    mrl_batch bt = {.T = T, .nseq = tseqs, .tokens = tok, .targets = tgt, .cu_seqlens = cu, .temperature = 1.0f};
    printf("\n| train fwd+bwd | tokens | s/step | tokens/s | TFLOP/s | MFU (of %.0f TFLOP/s) |\n|---|---|---|---|---|---|\n", peak);
    for (int w = 0; w < 2; w++) { if (model_forward(m, &bt, logp, &e) || model_backward(m, dl, &e)) die("train", &e); }
    int reps = 5;
    double t0 = now();
    for (int r = 0; r < reps; r++) { if (model_forward(m, &bt, logp, &e) || model_backward(m, dl, &e)) die("train", &e); }
    model_zero_grad(m);   /* also a sync point */
    double dt = (now() - t0) / reps;
    double nonemb = (double)np - (double)V * c->hidden_size * (c->tie_word_embeddings ? 0 : 1);
    double flops = 6.0 * nonemb * T + 6.0 * c->num_layers * (double)T * tlen * c->num_heads * c->head_dim; /* causal attention: 12/2 */
    printf("| %d x %d | %d | %.3f | %.0f | %.1f | %.1f %% |\n", tseqs, tlen, T, dt, T / dt, flops / dt / 1e12, 100 * flops / dt / 1e12 / peak);
    model_free(m);
    return 0;
}
