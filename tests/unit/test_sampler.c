/* test_sampler.c — the sampler against an independent sort-based reference: the kept
 * distributions exactly, the draws statistically (chi-square, seeded), greedy, and the log-prob definition. */
#include <stdint.h>
#include <stdio.h>
#include <jv.h>
#include "../test.h"
#include "ops.h"
#include "rng.h"
#include "sampler.h"
#include "sample_core.h"

static const float L10[10] = {2.0f, 1.1f, 0.3f, -0.4f, 1.7f, -1.3f, 0.9f, -2.2f, 0.05f, 1.45f};

static const double *cmp_p;
static int cmp_desc(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    if (cmp_p[i] != cmp_p[j]) return cmp_p[i] > cmp_p[j] ? -1 : 1;
    return i - j;
}

/* The reference: full softmax in double, full sort, then top-k, top-p, min-p, renormalise. */
static int ref_probs(const float *l, int V, const smp_params *sp, double *out) {
    double *p = malloc(V * sizeof *p), m = -INFINITY, Z = 0;
    int *ord = malloc(V * sizeof *ord);
    char *keep = malloc(V);
    for (int i = 0; i < V; i++) if (l[i] > m) m = l[i];
    for (int i = 0; i < V; i++) { p[i] = exp((l[i] - m) / sp->temperature); Z += p[i]; }
    for (int i = 0; i < V; i++) { p[i] /= Z; ord[i] = i; keep[i] = 1; }
    cmp_p = p;
    qsort(ord, V, sizeof *ord, cmp_desc);
    if (sp->top_k > 0 && sp->top_k < V)   /* as Hugging Face and vLLM: every token tied with the k-th stays */
        for (int r = sp->top_k; r < V; r++) if (p[ord[r]] < p[ord[sp->top_k - 1]]) keep[ord[r]] = 0;
    if (sp->top_p < 1) {
        double zk = 0, cum = 0;
        for (int i = 0; i < V; i++) if (keep[i]) zk += p[i];
        int reached = 0;
        for (int r = 0; r < V; r++) {
            int i = ord[r];
            if (!keep[i]) continue;
            if (reached) { keep[i] = 0; continue; }
            cum += p[i] / zk;
            if (cum >= sp->top_p) reached = 1;
        }
    }
    if (sp->min_p > 0)
        for (int i = 0; i < V; i++) if (p[i] < sp->min_p * p[ord[0]]) keep[i] = 0;
    double zs = 0;
    int n = 0;
    for (int i = 0; i < V; i++) if (keep[i]) { zs += p[i]; n++; }
    for (int i = 0; i < V; i++) out[i] = keep[i] ? p[i] / zs : 0;
    free(p); free(ord); free(keep);
    return n;
}

/* Upper alpha = 1e-4 point of chi-square with df degrees (Wilson-Hilferty). */
static double chi2_crit(int df) {
    double z = 3.719, a = 2.0 / (9.0 * df);
    return df * pow(1 - a + z * sqrt(a), 3);
}

static void check_row(const float *L, const smp_params *sp, uint64_t cfg) {
    int V = 10;
    double want[10], got[10];
    smp_ws *w = smp_ws_new(V);
    int nref = ref_probs(L, V, sp, want);
    int n = smp_probs(w, sp, L, V, got);
    EXPECTF(n == nref, "kept %d, reference keeps %d", n, nref);
    for (int i = 0; i < V; i++) EXPECT_NEAR(got[i], want[i], 1e-6);

    /* draws: one stream per sample index, as msample does */
    enum { N = 40000 };
    long cnt[10] = {0};
    for (int j = 0; j < N; j++) {
        mrl_rng r;
        rng_init(&r, 11, cfg, (uint64_t)j);
        int32_t t = smp_sample(w, sp, L, V, &r, NULL);
        EXPECT(t >= 0 && t < V);
        if (t >= 0 && t < V) cnt[t]++;
    }
    double chi = 0;
    int df = -1;
    for (int i = 0; i < V; i++) {
        if (want[i] == 0) { EXPECTF(cnt[i] == 0, "token %d outside the kept set drawn %ld times", i, cnt[i]); continue; }
        double ex = want[i] * N;
        chi += (cnt[i] - ex) * (cnt[i] - ex) / ex;
        df++;
    }
    if (df > 0) EXPECTF(chi < chi2_crit(df), "chi2 = %.2f with %d df (critical %.2f)", chi, df, chi2_crit(df));
    smp_ws_free(w);
}

static void check_config(const smp_params *sp, uint64_t cfg) { check_row(L10, sp, cfg); }

TEST(plain_t1) { smp_params p; smp_defaults(&p); check_config(&p, 1); }
TEST(temperature_half) { smp_params p; smp_defaults(&p); p.temperature = 0.5f; check_config(&p, 2); }
TEST(top_k_3) { smp_params p; smp_defaults(&p); p.top_k = 3; check_config(&p, 3); }
TEST(top_p_07) { smp_params p; smp_defaults(&p); p.top_p = 0.7f; check_config(&p, 4); }
TEST(min_p_03) { smp_params p; smp_defaults(&p); p.min_p = 0.3f; check_config(&p, 5); }
TEST(combined) {
    smp_params p; smp_defaults(&p);
    p.temperature = 0.8f; p.top_k = 6; p.top_p = 0.85f; p.min_p = 0.1f;
    check_config(&p, 6);
}

/* Ties at the k-th largest: Hugging Face's TopKLogitsWarper removes only the scores below the
 * k-th (scores < topk(scores, k)[-1]) and vLLM's top-k masks likewise, so every token tied with
 * the k-th stays. The sampler kept exactly k, an arbitrary part of the tie (its partition's
 * order): top-k 3 here never drew three of the five 0.5 tokens. */
static const float LTIE[10] = {1.0f, 0.5f, -1.0f, 0.5f, 0.5f, -2.0f, 0.5f, -0.5f, 0.9f, 0.5f};
TEST(top_k_ties) {
    smp_params p; smp_defaults(&p);
    double got[10];
    smp_ws *w = smp_ws_new(10);
    static const int want_n[10] = {0, 1, 2, 7, 7, 7, 7, 7, 8, 9};   /* kept for k = 1..9 */
    for (int k = 1; k <= 9; k++) {
        p.top_k = k;
        int n = smp_probs(w, &p, LTIE, 10, got);
        EXPECTF(n == want_n[k], "top-k %d kept %d tokens, Hugging Face keeps %d", k, n, want_n[k]);
    }
    smp_ws_free(w);
    p.top_k = 3; check_row(LTIE, &p, 7);                                   /* the draws too */
    p.top_k = 4; p.temperature = 0.8f; p.top_p = 0.9f; check_row(LTIE, &p, 8);   /* top-p over the whole tie */
    p.top_k = 2; p.top_p = 1; p.min_p = 0.5f; check_row(LTIE, &p, 9);
}

/* The edges of top-p and min-p, as Hugging Face draws them: top-p keeps the fewest tokens whose
 * mass reaches p (two equal logits at p = 0.5: one; TopPLogitsWarper removes a token whose
 * cumulative mass from below is <= 1 - p), and min-p keeps every token at or above min_p times
 * the max (at min_p 1 the max alone: a strict test kept none, and sampling fell back to argmax
 * without a word). */
TEST(top_p_and_min_p_edges) {
    smp_params p; smp_defaults(&p);
    smp_ws *w = smp_ws_new(3);
    double got[3];
    static const float two[2] = {0, 0}, three[3] = {2, 1, 0};
    p.top_p = 0.5f;
    int n = smp_probs(w, &p, two, 2, got);
    EXPECTF(n == 1 && got[0] + got[1] == 1.0 && (got[0] == 1.0 || got[1] == 1.0), "top-p 0.5 over a tie of two: kept %d", n);
    p.top_p = 1; p.min_p = 1;
    n = smp_probs(w, &p, three, 3, got);
    EXPECTF(n == 1 && got[0] == 1.0 && got[1] == 0 && got[2] == 0, "min-p 1: kept %d, p[0] %g", n, got[0]);
    p.min_p = 0.36f;   /* under e^-1: the second token (e^-1 of the max) stays, the third (e^-2) goes */
    n = smp_probs(w, &p, three, 3, got);
    EXPECTF(n == 2 && got[2] == 0, "min-p 0.36: kept %d", n);
    smp_ws_free(w);
}

/* Hugging Face's own warpers (tests/ref/sampler_ref.py: transformers' TemperatureLogitsWarper,
 * TopKLogitsWarper, TopPLogitsWarper, MinPLogitsWarper chained as generate() chains them, then
 * softmax) on 200 rows of 7-97 logits, ties among them: the same tokens kept, the same
 * probabilities. An independent reference for the one above, which is this file's own. */
static float jnum_f(jv o, const char *k) {
    jv v = jv_object_get(jv_copy(o), jv_string(k));
    float f = jv_get_kind(v) == JV_KIND_NUMBER ? (float)jv_number_value(v) : NAN;
    jv_free(v);
    return f;
}
TEST(hf_warpers) {
    FILE *f = fopen("testdata/msample/sampler-hf.jsonl", "r");
    EXPECT(f != NULL);
    if (!f) return;
    char *line = NULL;
    size_t cap = 0;
    int rows = 0, truncated = 0;
    while (getline(&line, &cap, f) > 0) {
        jv o = jv_parse(line);
        jv lg = jv_object_get(jv_copy(o), jv_string("logits")), pr = jv_object_get(jv_copy(o), jv_string("probs"));
        int V = jv_array_length(jv_copy(lg));
        EXPECT(V > 0 && V == jv_array_length(jv_copy(pr)) && V <= 128);
        if (V <= 0 || V > 128) { jv_free(lg); jv_free(pr); jv_free(o); break; }
        float l[128];
        double want[128], got[128];
        for (int i = 0; i < V; i++) {
            jv a = jv_array_get(jv_copy(lg), i), b = jv_array_get(jv_copy(pr), i);
            l[i] = (float)jv_number_value(a);
            want[i] = jv_number_value(b);
            jv_free(a); jv_free(b);
        }
        smp_params sp;
        smp_defaults(&sp);
        sp.temperature = jnum_f(o, "temperature");
        sp.top_k = (int)jnum_f(o, "top_k");
        sp.top_p = jnum_f(o, "top_p");
        sp.min_p = jnum_f(o, "min_p");
        smp_ws *w = smp_ws_new(V);
        int n = smp_probs(w, &sp, l, V, got), nwant = 0;
        smp_ws_free(w);
        for (int i = 0; i < V; i++) nwant += want[i] > 0;
        truncated += nwant < V;
        EXPECTF(n == nwant, "row %d (T %g, top-k %d, top-p %g, min-p %g): kept %d, transformers keeps %d",
                rows + 1, sp.temperature, sp.top_k, sp.top_p, sp.min_p, n, nwant);
        for (int i = 0; i < V; i++) {
            EXPECTF((got[i] > 0) == (want[i] > 0), "row %d token %d: kept %d, transformers %d", rows + 1, i, got[i] > 0, want[i] > 0);
            EXPECT_NEAR(got[i], want[i], 2e-6 + 1e-5 * want[i]);
        }
        jv_free(lg); jv_free(pr); jv_free(o);
        rows++;
    }
    free(line);
    fclose(f);
    EXPECTF(rows == 200 && truncated > 100, "%d rows, %d truncated", rows, truncated);
}

/* A full-size vocabulary of logits, normal with standard deviation sd, from stream (s, s, s). */
enum { VOCAB = 151936 };
static float *normal_logits(uint64_t s, double sd) {
    float *l = malloc(VOCAB * sizeof *l);
    mrl_rng r;
    rng_init(&r, s, s, s);
    for (int i = 0; i < VOCAB; i++) l[i] = (float)(sd * rng_normal(&r));
    return l;
}

/* The partial selection on a full-size vocabulary keeps exactly the reference set. */
TEST(large_vocab_sets) {
    int V = VOCAB;
    float *l = normal_logits(5, 3.0);
    double *want = malloc(V * sizeof *want), *got = malloc(V * sizeof *got);
    smp_ws *w = smp_ws_new(V);
    smp_params cfgs[4];
    for (int c = 0; c < 4; c++) smp_defaults(&cfgs[c]);
    cfgs[0].top_k = 50;
    cfgs[1].top_p = 0.9f;
    cfgs[2].top_k = 1000; cfgs[2].top_p = 0.5f; cfgs[2].temperature = 0.6f;
    cfgs[3].min_p = 0.05f; cfgs[3].top_p = 0.95f;
    for (int c = 0; c < 4; c++) {
        int nref = ref_probs(l, V, &cfgs[c], want);
        int n = smp_probs(w, &cfgs[c], l, V, got);
        EXPECTF(n == nref, "config %d: kept %d, reference %d", c, n, nref);
        int bad = 0;
        for (int i = 0; i < V; i++)
            if (fabs(got[i] - want[i]) > 1e-6 * fmax(1e-3, want[i])) bad++;
        EXPECTF(bad == 0, "config %d: %d probabilities differ", c, bad);
    }
    /* all equal: top-p keeps just enough of the ties */
    for (int i = 0; i < V; i++) l[i] = 0.25f;
    smp_params p; smp_defaults(&p); p.top_p = 0.5f;
    int n = smp_probs(w, &p, l, V, got);
    EXPECTF(n >= V / 2 && n <= V / 2 + 1, "flat top-p 0.5 kept %d of %d", n, V);
    smp_ws_free(w);
    free(l); free(want); free(got);
}

/* Plain sampling over a full-size vocabulary (the block-sum scan, the vectorised exp): the
 * probabilities equal the double-precision softmax, -inf and NaN logits get none, and each draw
 * is the reference's inverse CDF at the stream's uniform number. */
TEST(large_vocab_plain_draws) {
    int V = VOCAB;
    float *l = normal_logits(6, 4.0);
    double *want = malloc(V * sizeof *want), *got = malloc(V * sizeof *got);
    l[7] = -INFINITY; l[70000] = NAN; l[151935] = -200.0f;
    smp_ws *w = smp_ws_new(V);
    smp_params p; smp_defaults(&p); p.temperature = 0.7f;
    double M = -INFINITY, S = 0;   /* one token with half the mass: as much as all the others */
    for (int i = 0; i < V; i++) if (i != 70000 && l[i] > M) M = l[i];
    for (int i = 0; i < V; i++) if (i != 70000 && i != 123456) S += exp((l[i] - M) / p.temperature);
    l[123456] = (float)(M + p.temperature * log(S));
    float *lr = malloc(V * sizeof *lr);   /* the reference without the NaN (it would poison its sums) */
    memcpy(lr, l, V * sizeof *lr); lr[70000] = -INFINITY;
    ref_probs(lr, V, &p, want);
    EXPECT(smp_probs(w, &p, l, V, got) == V);
    int bad = 0;
    for (int i = 0; i < V; i++)
        if (fabs(got[i] - want[i]) > 1e-6 * want[i] + 1e-12) bad++;
    EXPECTF(bad == 0, "%d probabilities differ from the double softmax", bad);
    EXPECT(got[7] == 0 && got[70000] == 0);
    int mism = 0, hit = 0;
    for (int j = 0; j < 3000; j++) {
        mrl_rng a, b;
        rng_init(&a, 12, 34, (uint64_t)j); rng_init(&b, 12, 34, (uint64_t)j);
        int32_t t = smp_sample(w, &p, l, V, &a, NULL);
        double u = rng_uniform(&b), cum = 0;
        int32_t k = 0;
        for (; k < V - 1; k++) if ((cum += want[k]) > u) break;
        while (want[k] == 0 && k > 0) k--;   /* a zero-probability last step: the token before */
        if (t != k) mism++;
        hit += t == 123456;
        EXPECT(t != 7 && t != 70000);
    }
    EXPECTF(mism == 0, "%d of 3000 draws differ from the reference inverse CDF", mism);
    EXPECTF(hit > 1000 && hit < 2000, "the heavy token drawn %d of 3000 times", hit);
    smp_ws_free(w);
    free(l); free(lr); free(want); free(got);
}

/* Rows that are not numbers: +inf logits share the draw uniformly, NaN and -inf ones never get
 * it; an all -inf/NaN row is uniform over the vocabulary; a temperature so small that 1/T
 * overflows samples greedily. */
TEST(infinite_rows) {
    float l[8] = {0.5f, INFINITY, NAN, -INFINITY, INFINITY, 3.0f, 1e30f, -2.0f};
    smp_ws *w = smp_ws_new(8);
    smp_params p; smp_defaults(&p);
    int cnt[8] = {0};
    for (int j = 0; j < 2000; j++) {
        mrl_rng r;
        rng_init(&r, 3, 4, (uint64_t)j);
        float lp;
        int32_t t = smp_sample(w, &p, l, 8, &r, &lp);
        if (t >= 0 && t < 8) cnt[t]++;
        EXPECT_NEAR(lp, -log(2.0), 1e-6);
    }
    EXPECTF(cnt[1] + cnt[4] == 2000 && cnt[1] > 900 && cnt[4] > 900, "+inf tokens drawn %d and %d of 2000", cnt[1], cnt[4]);
    EXPECT_NEAR(smp_logprob(l, 8, 1.0f, 4), -log(2.0), 1e-9);
    float bad[5] = {NAN, -INFINITY, NAN, -INFINITY, -INFINITY};
    mrl_rng r;
    rng_init(&r, 3, 4, 5);
    EXPECT(smp_broken(w) == 0);   /* +inf rows have numbers: not broken */
    int32_t t = smp_sample(w, &p, bad, 5, &r, NULL);
    EXPECT(t >= 0 && t < 5);
    EXPECT(smp_broken(w) == 1);   /* counted, so msample can warn */
    smp_params gp; smp_defaults(&gp); gp.temperature = 0;
    EXPECT(smp_sample(w, &gp, bad, 5, &r, NULL) >= 0 && smp_broken(w) == 2);   /* greedy too */
    float fin[4] = {0.1f, 2.0f, 1.9f, -1.0f};
    p.temperature = 1e-40f;   /* a denormal: 1/T is inf */
    rng_init(&r, 3, 4, 6);
    float lp = 1;
    EXPECT(smp_sample(w, &p, fin, 4, &r, &lp) == 1);
    EXPECT(lp == lp);   /* a number, not NaN */
    smp_ws_free(w);
}

TEST(greedy) {
    float l[6] = {0.5f, 3.0f, -1.0f, 3.0f, 2.9f, 0.0f};
    smp_params p; smp_defaults(&p); p.temperature = 0; p.top_k = 2; p.top_p = 0.1f;
    smp_ws *w = smp_ws_new(6);
    mrl_rng r, r0;
    rng_init(&r, 1, 2, 3);
    rng_init(&r0, 1, 2, 3);
    float lp;
    int32_t t = smp_sample(w, &p, l, 6, &r, &lp);
    EXPECT(t == 1);                          /* first index among ties */
    EXPECT(rng_u32(&r) == rng_u32(&r0));     /* greedy draws nothing */
    double Z = 0;
    for (int i = 0; i < 6; i++) Z += exp(l[i] - 3.0);
    EXPECT_NEAR(lp, -log(Z), 1e-6);          /* log softmax at T = 1 */
    smp_ws_free(w);
}

/* The log-prob is that of the untruncated tempered softmax, not the renormalised one. */
TEST(logprob_definition) {
    smp_params p; smp_defaults(&p);
    p.temperature = 0.7f; p.top_p = 0.5f; p.top_k = 4;
    smp_ws *w = smp_ws_new(10);
    double m = 2.0, Z = 0;
    const double T = 0.7f;   /* the float the sampler divides by */
    for (int i = 0; i < 10; i++) Z += exp((L10[i] - m) / T);
    int differs = 0;
    for (int j = 0; j < 200; j++) {
        mrl_rng r;
        rng_init(&r, 3, 9, j);
        float lp;
        int32_t t = smp_sample(w, &p, L10, 10, &r, &lp);
        double want = (L10[t] - m) / T - log(Z);
        EXPECT_NEAR(lp, want, 1e-6);
        EXPECT_NEAR(smp_logprob(L10, 10, 0.7f, t), want, 1e-9);
        double probs[10];
        smp_probs(w, &p, L10, 10, probs);
        if (fabs(log(probs[t]) - want) > 1e-3) differs = 1;
    }
    EXPECT(differs);   /* truncation really changed the distribution */
    smp_ws_free(w);
}

/* Same stream, same logits → same token, whatever happened to other streams. */
TEST(replay) {
    smp_params p; smp_defaults(&p); p.top_p = 0.9f;
    smp_ws *w = smp_ws_new(10);
    int32_t a[50], b[50];
    mrl_rng r;
    rng_init(&r, 42, 7, 3);
    for (int j = 0; j < 50; j++) a[j] = smp_sample(w, &p, L10, 10, &r, NULL);
    rng_init(&r, 42, 7, 3);
    for (int j = 0; j < 50; j++) b[j] = smp_sample(w, &p, L10, 10, &r, NULL);
    EXPECT(memcmp(a, b, sizeof a) == 0);
    smp_ws_free(w);
}

/* op_sample_rows, the op a device backend draws a decode step's tokens with (here the CPU's,
 * the reference the CUDA one is checked against), picks smp_sample's token for the same
 * uniform, and its pick gives smp_sample's log-prob bit for bit, greedy's too (smp_logprob
 * sums its Z in op_sample_rows' order: a confident token's log-prob, -log(1 + d) with d
 * tiny, shows any difference in Z's last bits). Rows of every kind: vocabularies around the
 * block of SK_BLK and its 16 lanes, NaN and -inf entries, ties at the max, one dominant logit,
 * confident tokens, uniforms at the ends; rows without a finite max are flagged for the host. */
TEST(op_sample_rows_picks_the_samplers_token) {
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", 2, &e);
    EXPECTF(be, "%s", e.msg);
    if (!be) return;
    const int Vs[] = {1, 5, 16, 17, 255, 256, 257, 1000, 4099, 151936};
    const float Ts[] = {1.0f, 0.6f, 0.7f, 1.3f, 0.05f, 0.0f};
    const int B = 12;
    mrl_rng R;
    rng_init(&R, 42, 7, 0);
    long checked = 0, flagged = 0;
    for (size_t vi = 0; vi < sizeof Vs / sizeof Vs[0]; vi++) {
        int V = Vs[vi];
        float *l = malloc((size_t)B * V * sizeof *l);
        double u[12];
        mrl_pick pk[12];
        void *work = malloc(op_sample_rows_work(be, B, V));
        smp_ws *w = smp_ws_new(V);
        for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++) {
            smp_params p; smp_defaults(&p); p.temperature = Ts[ti];
            int greedy = smp_is_greedy(&p);
            for (int r = 0; r < B; r++) {
                float *row = l + (size_t)r * V;
                for (int i = 0; i < V; i++) row[i] = (float)(rng_normal(&R) * (r % 3 ? 3.0 : 0.5));
                if (r == 1 && V > 3) { row[V / 2] = NAN; row[V - 1] = -INFINITY; }
                if (r == 2 && V > 3) { row[V / 3] = 40.0f; row[V - 2] = 40.0f; }   /* ties at the max */
                if (r == 3) row[V - 1] = 1e4f;                                     /* one dominant token */
                if (r == 6) row[V / 4] = 30.0f;    /* confident tokens: Z = 1 + d, d from 1e-13 ... */
                if (r == 7) row[V / 5] = 30.0f;    /* ... to 1e-3 a row */
                if (r == 9) for (int i = 0; i < V; i++) row[i] = i % 2 ? NAN : -INFINITY;   /* no number */
                if (r == 10) row[V / 2] = INFINITY;
                if (r == 11) for (int i = 0; i < V; i++) row[i] = -INFINITY;
                u[r] = r == 4 ? 0.0 : r == 5 ? 0.9999999999 : rng_uniform(&R);
            }
            op_sample_rows(be, pk, l, u, B, V, greedy ? 1.0f : 1.0f / p.temperature, greedy, work);
            for (int r = 0; r < B; r++) {
                const float *row = l + (size_t)r * V;
                float lp;
                int32_t t = smp_sample_u(w, &p, row, V, u[r], &lp);
                float m = -INFINITY;
                for (int i = 0; i < V; i++) m = row[i] > m ? row[i] : m;
                if (isinf(m)) { EXPECTF(pk[r].flag == 1, "V %d T %g row %d: not flagged", V, Ts[ti], r); flagged++; continue; }
                EXPECTF(pk[r].flag == 0 && pk[r].tok == t, "V %d T %g row %d: token %d (flag %d), the sampler's %d",
                        V, Ts[ti], r, pk[r].tok, pk[r].flag, t);
                float plp = smp_pick_logprob(&p, pk[r].logit, pk[r].max, pk[r].Z);
                EXPECTF(plp == lp, "V %d T %g row %d: log-prob %.9g, the sampler's %.9g", V, Ts[ti], r, plp, lp);
                checked++;
            }
        }
        smp_ws_free(w);
        free(work); free(l);
    }
    EXPECT(checked > 500 && flagged > 100);
    be_close(be);
}

int main(void) {
    RUN(plain_t1);
    RUN(temperature_half);
    RUN(top_k_3);
    RUN(top_p_07);
    RUN(min_p_03);
    RUN(combined);
    RUN(top_k_ties);
    RUN(top_p_and_min_p_edges);
    RUN(hf_warpers);
    RUN(large_vocab_sets);
    RUN(large_vocab_plain_draws);
    RUN(infinite_rows);
    RUN(greedy);
    RUN(logprob_definition);
    RUN(replay);
    RUN(op_sample_rows_picks_the_samplers_token);
    return tst_done();
}
