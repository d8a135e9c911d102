/* fuzz_reward.c — libFuzzer target for mreward's rewards: arbitrary bytes as
 * "SPEC\nGOLD\nCOMPLETION" — the --reward spec through rw_parse (a refusal must say why), then
 * the completion (and the gold as a second member of its group) judged and scored by every
 * reward, the parsed one included: each built-in spec's value in its reward's range. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rewards.h"

static const char *const FIXED[] = {
    "accuracy", "format", "format:strict", "tags", "tags:upstream", "cosine", "cosine:clamp",
    "repetition", "repetition:ngram=1", "length", "overlong:max_len=8,cache=4", "language",
    "language:script=cjk", "regex:pattern=(?s)^<think>(.|\\n)*?</think>",
};
#define NFIXED (int)(sizeof FIXED / sizeof *FIXED)
static rw_spec *fixed[NFIXED];

/* The range each of FIXED scores in. */
static const double LO[NFIXED] = {0, 0, 0, 0, 0, -0.5, -0.5, -1, -1, -0.5, -1, -1, -1, 0};
static const double HI[NFIXED] = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0.5, 0, 0, 0, 1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!fixed[0]) {
        for (int i = 0; i < NFIXED; i++) {
            mrl_err e = {0};
            if (!(fixed[i] = rw_parse(FIXED[i], &e))) abort();
        }
    }
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *gold = strchr(buf, '\n'), *comp = NULL;
    if (gold) { *gold++ = 0; comp = strchr(gold, '\n'); }
    if (comp) *comp++ = 0;
    else comp = gold ? gold : buf;
    if (!gold) gold = buf;
    mrl_err e = {0};
    rw_spec *r = rw_parse(buf, &e);
    if (!r && !e.msg[0]) abort();   /* a refusal must say why */
    if (r) {
        (void)rw_key(r);
        (void)rw_needs(r);
        if (!isfinite(rw_weight(r))) abort();
    }
    ans_opts o = {0};
    rw_sample g[2] = {{.completion = comp, .gold = gold, .prompt = buf, .ntokens = (long)strlen(comp)},
                      {.completion = gold, .gold = gold, .prompt = NULL, .ntokens = -1}};
    rw_judge(&g[0], &o, RW_UNPARSED_CORRECT);
    rw_judge(&g[1], &o, RW_UNPARSED_WRONG);
    for (int i = 0; i < 2; i++) {
        for (int k = 0; k < NFIXED; k++) {
            if (k == 10 && g[i].ntokens < 0) continue;   /* overlong needs completion_ids */
            double v = rw_eval(fixed[k], g, 2, i);
            if (!(v >= LO[k] && v <= HI[k])) abort();
        }
        /* not checked for range: parameters of a spec are taken as given, and extreme ones
           (cosine:max_len=3e-308, min_wrong=1e308,max_wrong=-1e308) overflow to inf or NaN */
        if (r && !((rw_needs(r) & RW_NEEDS_TOKENS) && g[i].ntokens < 0)) (void)rw_eval(r, g, 2, i);
    }
    (void)rw_count(comp, "");
    rw_sample_clear(&g[0]);
    rw_sample_clear(&g[1]);
    rw_free(r);
    free(buf);
    return 0;
}
