/* tok_bench.c — encode speed of the tokenizer on one core: each line of a text file is one
 * document (JSON-escaped "\n" inside is not decoded: lines are plain text); prints one JSON line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tokenizer.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: tok_bench TOKENIZER.json[.zst] TEXTFILE [SECONDS]\n");
        return 2;
    }
    double budget = argc > 3 ? atof(argv[3]) : 3.0;
    mrl_err e = {0};
    double t0 = now();
    mrl_tok *t = tok_load(argv[1], &e);
    if (!t) { fprintf(stderr, "tok_bench: %s\n", e.msg); return 1; }
    double tload = now() - t0;
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    size_t cap = 1 << 20, n = 0, r;
    char *text = malloc(cap);
    while ((r = fread(text + n, 1, cap - n, f)) > 0)
        if ((n += r) == cap) text = realloc(text, cap *= 2);
    fclose(f);
    /* lines as documents */
    size_t nd = 0, *off = malloc(sizeof *off * (n + 1)), *len = malloc(sizeof *len * (n + 1));
    for (size_t i = 0; i < n;) {
        char *nl = memchr(text + i, '\n', n - i);
        size_t l = nl ? (size_t)(nl - text) - i : n - i;
        off[nd] = i, len[nd++] = l;
        i += l + 1;
    }
    int32_t *ids = malloc(sizeof *ids * (n + 1));
    long long tokens = 0, bytes = 0;
    int passes = 0;
    double t1 = now(), el;
    do {   /* whole passes until the time budget is spent; the first pass also warms the cache */
        for (size_t d = 0; d < nd; d++) {
            int k = tok_encode(t, text + off[d], len[d], ids, (int)n + 1, &e);
            if (k < 0) { fprintf(stderr, "tok_bench: line %zu: %s\n", d + 1, e.msg); return 1; }
            tokens += k;
            bytes += (long long)len[d];
        }
        passes++;
        el = now() - t1;
    } while (el < budget);
    printf("{\"impl\":\"mrl\",\"docs\":%zu,\"passes\":%d,\"bytes\":%lld,\"tokens\":%lld,\"seconds\":%.3f,"
           "\"tokens_per_s\":%.0f,\"mb_per_s\":%.2f,\"load_s\":%.3f}\n",
           nd, passes, bytes, tokens, el, tokens / el, bytes / el / 1e6, tload);
    tok_free(t);
    free(text), free(off), free(len), free(ids);
    return 0;
}
