/* model_bench.c — timings of the model core for bench/bench-model.sh: memory bandwidth
 * (STREAM triad), decode tokens/s at a batch size, prefill tokens/s, training fwd+bwd tokens/s;
 * each prints one line of key=value pairs including the peak RSS of the process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <omp.h>
#include "model.h"

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static double cpu_s(void) {
    struct rusage r; getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_utime.tv_usec * 1e-6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec * 1e-6;
}
static double rss_mb(void) { struct rusage r; getrusage(RUSAGE_SELF, &r); return r.ru_maxrss / 1024.0; }
static void die(const char *what, const mrl_err *e) { fprintf(stderr, "model_bench: %s: %s\n", what, e->msg); exit(1); }

/* STREAM triad a = b + s c over arrays far larger than the caches; best of 5, in GB/s
 * (3 arrays x 4 bytes per element, as STREAM counts it; write-allocate traffic not counted). */
static int bw(int mb, int threads) {
    size_t n = (size_t)mb * (1 << 20) / 4;
    float *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4);
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
    printf("bw threads=%d GBps=%.2f check=%.0f\n", threads, 3.0 * n * 4 / best / 1e9, a[n / 2]);
    free(a); free(b); free(c);
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

/* B sequences with prompts of 16 + b tokens (different lengths), then `steps` batched steps. */
static int decode(const char *dir, int B, int steps, int bf16, int threads) {
    mrl_model *m = load(dir, bf16, 0, 0, threads);
    const mrl_config *c = model_config(m);
    mrl_err e = {0};
    int P = 16, V = c->vocab_size;
    size_t kvb = (size_t)B * (P + B + steps + 16) * c->num_layers * 2 * c->num_kv_heads * c->head_dim * 4 * 2;
    kv_cache *kv = kv_create(m, kvb, 16, &e);
    if (!kv) die("kv_create", &e);
    float *z = malloc((size_t)V * B * sizeof(float));
    int *seqs = malloc(B * sizeof(int));
    int32_t *tok = malloc((P + B) * sizeof(int32_t)), *next = malloc(B * sizeof(int32_t));
    for (int i = 0; i < P + B; i++) tok[i] = (i * 7919 + 13) % V;
    double tp = now();
    for (int b = 0; b < B; b++) {
        seqs[b] = kv_seq_new(kv);
        if (model_prefill(m, kv, seqs[b], tok, P + b % 8, z, &e) < 0) die("prefill", &e);
    }
    tp = now() - tp;
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
    printf("decode B=%d dtype=%s threads=%d tok_per_s=%.3f ms_per_step=%.1f cpu_s_per_step=%.2f weight_GB=%.3f prefill_s=%.2f rss_MB=%.0f\n",
           B, bf16 ? "bf16" : "fp32", threads, (double)B * steps / t, t / steps * 1e3, c0 / steps, wbytes / 1e9, tp, rss_mb());
    free(z); free(seqs); free(tok); free(next);
    kv_free(kv); model_free(m);
    return 0;
}

static int prefill(const char *dir, int n, int bf16, int threads) {
    mrl_model *m = load(dir, bf16, 0, 0, threads);
    const mrl_config *c = model_config(m);
    mrl_err e = {0};
    size_t kvb = (size_t)(n + 32) * c->num_layers * 2 * c->num_kv_heads * c->head_dim * 4;
    kv_cache *kv = kv_create(m, kvb, 16, &e);
    if (!kv) die("kv_create", &e);
    int32_t *tok = malloc(n * sizeof(int32_t));
    for (int i = 0; i < n; i++) tok[i] = (i * 7919 + 13) % c->vocab_size;
    float *z = malloc(c->vocab_size * sizeof(float));
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
    mrl_model *m = load(dir, 0, 1, ckpt, threads);
    const mrl_config *c = model_config(m);
    mrl_err e = {0};
    int32_t *tok = malloc(T * 4), *tg = malloc(T * 4), *cu = malloc((nseq + 1) * 4);
    float *lp = malloc(T * 4), *dl = malloc(T * 4);
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

int main(int argc, char **argv) {
    const char *th = getenv("THREADS");
    int threads = th ? atoi(th) : omp_get_max_threads();
    if (argc >= 2 && !strcmp(argv[1], "bw")) return bw(argc > 2 ? atoi(argv[2]) : 512, threads);
    if (argc >= 5 && !strcmp(argv[1], "decode"))
        return decode(argv[2], atoi(argv[3]), atoi(argv[4]), argc > 5 && !strcmp(argv[5], "bf16"), threads);
    if (argc >= 4 && !strcmp(argv[1], "prefill")) return prefill(argv[2], atoi(argv[3]), argc > 4 && !strcmp(argv[4], "bf16"), threads);
    if (argc >= 5 && !strcmp(argv[1], "train"))
        return train(argv[2], atoi(argv[3]), atoi(argv[4]), argc > 5 && atoi(argv[5]), argc > 6 ? atoi(argv[6]) : 2, threads);
    fprintf(stderr, "usage: model_bench bw [MB] | decode DIR B STEPS [bf16|fp32] | prefill DIR N [bf16|fp32] |\n"
                    "       train DIR T NSEQ [CKPT [REPS]]     (THREADS=n in the environment)\n");
    return 2;
}
