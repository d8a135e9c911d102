/* test_grpo.c — the GRPO objective against PyTorch autograd (tests/ref/grpo_ref.py):
 * advantages, every loss variant's value, KL, clip fraction and dL/dlogp; bad rewards. */
#include <jv.h>
#include <math.h>
#include <unistd.h>
#include "../test.h"
#include "grpo.h"
#include "optim.h"
#include "rng.h"
#include "safetensors.h"
#include "trainer.h"
#include "cpu/cpu.h"

static jv load(const char *path) {
    jv v = jv_load_file(path, 0);
    if (!jv_is_valid(v)) { jv_free(v); return jv_invalid(); }
    /* jv_load_file returns an array of the file's JSON values */
    jv first = jv_array_get(v, 0);
    return first;
}
static double num(jv o, const char *k) {
    jv x = jv_object_get(jv_copy(o), jv_string(k));
    double d = jv_get_kind(x) == JV_KIND_NUMBER ? jv_number_value(x) : NAN;
    if (jv_get_kind(x) == JV_KIND_TRUE) d = 1;
    if (jv_get_kind(x) == JV_KIND_FALSE) d = 0;
    jv_free(x);
    return d;
}
static const char *str(jv o, const char *k, char *buf, size_t n) {
    jv x = jv_object_get(jv_copy(o), jv_string(k));
    snprintf(buf, n, "%s", jv_get_kind(x) == JV_KIND_STRING ? jv_string_value(x) : "");
    jv_free(x);
    return buf;
}
static jv get(jv o, const char *k) { return jv_object_get(jv_copy(o), jv_string(k)); }
static double at2(jv a, int i, int j) {
    jv x = jv_array_get(jv_array_get(jv_copy(a), i), j);
    double d = jv_number_value(x);
    jv_free(x);
    return d;
}
static double at1(jv a, int i) {
    jv x = jv_array_get(jv_copy(a), i);
    double d = jv_get_kind(x) == JV_KIND_TRUE ? 1 : jv_get_kind(x) == JV_KIND_FALSE ? 0 : jv_number_value(x);
    jv_free(x);
    return d;
}

TEST(loss_cases_match_pytorch) {
    jv cases = load("testdata/grpo/loss_cases.json");
    if (!jv_is_valid(cases)) SKIP("testdata/grpo/loss_cases.json missing");
    int nc = jv_array_length(jv_copy(cases));
    EXPECT(nc >= 10);
    for (int c = 0; c < nc; c++) {
        jv cs = jv_array_get(jv_copy(cases), c), o = get(cs, "opts");
        char buf[64];
        grpo_opts go = {0};
        go.loss = grpo_parse_loss(str(o, "loss", buf, sizeof buf));
        go.beta = num(o, "beta");
        go.epsilon = num(o, "epsilon");
        go.epsilon_high = num(o, "epsilon_high");
        go.delta = num(o, "delta");
        go.seq_importance = !strcmp(str(o, "importance", buf, sizeof buf), "sequence");
        int adv = grpo_parse_adv(str(o, "adv", buf, sizeof buf));
        int scale = grpo_parse_scale(str(o, "scale", buf, sizeof buf));
        int mb = (int)num(o, "micro_batch"), maxlen = (int)num(o, "max_completion_length");
        int mtrunc = (int)num(o, "mask_truncated"), no_old = (int)num(cs, "no_old");
        jv lens = get(cs, "lens"), groups = get(cs, "groups"), rw = get(cs, "rewards");
        jv lp = get(cs, "logp"), old = get(cs, "old"), ref = get(cs, "ref"), dl = get(cs, "dlogp");
        jv advs = get(cs, "advantages"), tr = get(cs, "truncated");
        int n = jv_array_length(jv_copy(lens)), ng = jv_array_length(jv_copy(groups)) - 1;
        int start[16], ntok[32];
        double r[32], a[32], sc[32];
        for (int g = 0; g <= ng; g++) start[g] = (int)at1(groups, g);
        for (int i = 0; i < n; i++) r[i] = at1(rw, i);
        mrl_err e = {0};
        EXPECT(grpo_advantages(r, start, ng, adv, scale, 0, a, &e) == 0);
        for (int i = 0; i < n; i++) EXPECT_NEAR(a[i], at1(advs, i), 1e-6);
        for (int i = 0; i < n; i++) ntok[i] = (mtrunc && at1(tr, i)) ? 0 : (int)at1(lens, i);
        grpo_seq_scales(go.loss, ntok, n, mb, maxlen, sc);
        grpo_stats st = {0};
        for (int i = 0; i < n; i++) {
            int L = (int)at1(lens, i);
            float fl[16], fo[16], fr[16], d[16];
            for (int t = 0; t < L; t++) {
                fl[t] = (float)at2(lp, i, t); fo[t] = (float)at2(old, i, t); fr[t] = (float)at2(ref, i, t);
            }
            grpo_seq_loss(&go, L, fl, no_old ? NULL : fo, go.beta > 0 ? fr : NULL, a[i], ntok[i] == 0,
                          sc[i], d, &st);
            for (int t = 0; t < L; t++) {
                double want = at2(dl, i, t);
                if (!(fabs(d[t] - want) <= 1e-4 * fmax(fabs(want), 1e-3)))
                    EXPECTF(0, "case %d (%s) seq %d tok %d: dlogp %.9g vs %.9g", c,
                            grpo_loss_name(go.loss), i, t, d[t], want);
            }
        }
        double want_loss = num(cs, "loss");
        if (!(fabs(st.loss - want_loss) <= 1e-4 * fmax(fabs(want_loss), 1e-3)))
            EXPECTF(0, "case %d (%s): loss %.9g vs %.9g", c, grpo_loss_name(go.loss), st.loss, want_loss);
        double cf = num(cs, "clip_frac"), kl = num(cs, "kl");
        EXPECT_NEAR(st.tokens > 0 ? st.clipped / st.tokens : 0, cf, 1e-9);
        EXPECTF(!isnan(kl) || go.beta == 0, "case %d: no kl in the fixture though beta is %g", c, go.beta);
        if (!isnan(kl)) EXPECT_NEAR(st.kl_sum / st.tokens, kl, 1e-5);
        jv_free(cs); jv_free(o); jv_free(lens); jv_free(groups); jv_free(rw); jv_free(lp);
        jv_free(old); jv_free(ref); jv_free(dl); jv_free(advs); jv_free(tr);
    }
    jv_free(cases);
}

TEST(advantages_bad_input) {
    mrl_err e = {0};
    double r[4] = {1, 0, NAN, 1}, a[4];
    int st[3] = {0, 2, 4};
    EXPECT(grpo_advantages(r, st, 2, GRPO_ADV_GRPO, GRPO_SCALE_GROUP, 0, a, &e) == -1);
    EXPECT(strstr(e.msg, "record 3") && strstr(e.msg, "finite"));
    double r2[3] = {1, 0, 1};
    int st2[3] = {0, 2, 3};
    EXPECT(grpo_advantages(r2, st2, 2, GRPO_ADV_GRPO, GRPO_SCALE_GROUP, 0, a, &e) == -1);
    EXPECT(strstr(e.msg, "single record") != NULL);
    EXPECT(grpo_advantages(r2, st2, 2, GRPO_ADV_GRPO, GRPO_SCALE_GROUP, 1, a, &e) == 0);
    EXPECT(a[2] == 0);
    EXPECT_NEAR(a[0], 1 / (sqrt(0.5) + 1e-4) * 0.5, 1e-12);
    /* a uniform group has advantage 0, not NaN */
    double r3[3] = {2, 2, 2};
    int st3[2] = {0, 3};
    EXPECT(grpo_advantages(r3, st3, 1, GRPO_ADV_GRPO, GRPO_SCALE_GROUP, 0, a, &e) == 0);
    EXPECT(a[0] == 0 && a[1] == 0 && a[2] == 0);
}

/* A group of equal rewards has advantage exactly 0 (SPEC: all equal = zero advantage; TRL's
 * float32 mean gives 0 too), also for rewards whose double mean rounds off them: the mean of
 * 0.1, 0.1, 0.1 is 0.10000000000000002, which made every advantage -1.4e-13 (the std of the
 * rounding errors is 1.7e-17, far below the 1e-4), and with --iterations > 1 each token of
 * the group with a ratio below 1 - epsilon counted in clip_frac. */
TEST(uniform_group_has_zero_advantage) {
    mrl_err e = {0};
    double r[7] = {0.1, 0.1, 0.1, 0.7, 0.7, 0.7, 0.7}, a[7];
    int st[3] = {0, 3, 7};
    for (int adv = GRPO_ADV_GRPO; adv <= GRPO_ADV_RLOO; adv++)
        for (int sc = GRPO_SCALE_GROUP; sc <= GRPO_SCALE_NONE; sc++) {
            EXPECT(grpo_advantages(r, st, 2, adv, sc, 0, a, &e) == 0);
            for (int i = 0; i < 7; i++)
                EXPECTF(a[i] == 0, "%s/%s: advantage %d is %g", grpo_adv_name(adv), grpo_scale_name(sc), i, a[i]);
        }
    EXPECT(grpo_group_std_mean(r, st, 2) == 0);   /* reward_std: 0, not 1.7e-17 */
    /* that advantage through the loss: ratio 0.5 < 1 - epsilon, nothing clipped */
    EXPECT(grpo_advantages(r, st, 2, GRPO_ADV_GRPO, GRPO_SCALE_GROUP, 0, a, &e) == 0);
    grpo_opts go = {GRPO_LOSS_GRPO, 0, 0.2, 0.2, 0, 0};
    float lp[2] = {-1.0f - 0.6931472f, -2.0f - 0.6931472f}, old[2] = {-1.0f, -2.0f}, d[2];
    grpo_stats gs = {0};
    grpo_seq_loss(&go, 2, lp, old, NULL, a[0], 0, 0.5, d, &gs);
    EXPECTF(gs.clipped == 0 && d[0] == 0 && d[1] == 0, "clipped %g, dlogp %g %g", gs.clipped, d[0], d[1]);
}

/* A clipped token has no gradient, also where its ratio overflowed: an old log-prob 800 below
 * the policy's makes exp(800) = inf, and the clipped branch's 0 * inf was NaN (positive
 * advantage: the loss is the clipped, finite one; zero advantage: 0). */
TEST(clipped_overflowing_ratio_has_no_gradient) {
    float lp[2] = {-1.0f, -2.0f}, old[2] = {-801.0f, -2.0f}, d[2];
    for (int k = 0; k < 2; k++) {
        grpo_opts go = {GRPO_LOSS_GRPO, 0, 0.2, 0.2, 0, 0};
        grpo_stats gs = {0};
        double A = k ? 0.0 : 1.5;
        grpo_seq_loss(&go, 2, lp, old, NULL, A, 0, 0.5, d, &gs);
        EXPECTF(d[0] == 0 && isfinite(gs.loss), "A %g: dlogp %g, loss %g", A, d[0], gs.loss);
        EXPECTF(fabs(gs.loss - 0.5 * (-1.2 * A - A)) < 1e-12, "A %g: loss %.17g", A, gs.loss);   /* clipped 1.2 A, and r = 1 for the second */
        EXPECTF(fabs(d[1] - 0.5 * -A) < 1e-7, "A %g: dlogp of the unclipped token %g", A, d[1]);
    }
}

TEST(names) {
    EXPECT(grpo_parse_loss("dr_grpo") == GRPO_LOSS_DR_GRPO);
    EXPECT(grpo_parse_loss("ppo") == -1);
    EXPECT(grpo_parse_adv("reinforce++") == GRPO_ADV_REINFORCE_PP);
    EXPECT(grpo_parse_scale("none") == GRPO_SCALE_NONE);
}

/* ---- through the model: trainer_accumulate vs autograd on the tiny Qwen2 ---- */
typedef struct { int32_t p[16], c[16]; float old[16]; int plen, clen, trunc; double r; } rec;

static int load_batch(rec *rs, int cap) {
    FILE *f = fopen("testdata/grpo/batch.jsonl", "r");
    if (!f) return 0;
    char line[8192];
    int n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        jv v = jv_parse(line);
        jv pi = get(v, "prompt_ids"), ci = get(v, "completion_ids"), lp = get(v, "logprobs");
        rec *r = &rs[n++];
        r->plen = jv_array_length(jv_copy(pi));
        r->clen = jv_array_length(jv_copy(ci));
        for (int i = 0; i < r->plen; i++) r->p[i] = (int32_t)at1(pi, i);
        for (int i = 0; i < r->clen; i++) { r->c[i] = (int32_t)at1(ci, i); r->old[i] = (float)at1(lp, i); }
        char buf[16];
        r->trunc = !strcmp(str(v, "finish", buf, sizeof buf), "length");
        r->r = num(v, "reward");
        jv_free(pi); jv_free(ci); jv_free(lp); jv_free(v);
    }
    fclose(f);
    return n;
}

/* The fixture batch as trainer sequences: its 6 records in 2 groups of 3, with GRPO advantages
 * (group-scaled). Returns the count (6; anything else fails the caller's check). */
static int fixture_seqs(rec *rs, tr_seq *sq, mrl_err *e) {
    int n = load_batch(rs, 8), start[3] = {0, 3, 6};
    double r[8], a[8];
    for (int i = 0; i < n; i++) r[i] = rs[i].r;
    EXPECT(n == 6 && grpo_advantages(r, start, 2, GRPO_ADV_GRPO, GRPO_SCALE_GROUP, 0, a, e) == 0);
    for (int i = 0; i < n; i++) sq[i] = (tr_seq){rs[i].p, rs[i].plen, rs[i].c, rs[i].clen, rs[i].old, rs[i].trunc, a[i]};
    return n;
}

static void model_case(const char *name) {
    jv all = load("testdata/grpo/model_cases.json");
    jv cs = get(all, name), o = get(cs, "opts");
    char buf[64], gpath[128];
    mrl_err e = {0};
    model_opts mo = {.device = "cpu", .trainable = 1, .threads = 1};
    mrl_model *m = model_load("testdata/grpo/model", &mo, &e);
    model_opts ro = {.device = "cpu", .threads = 1, .train_numerics = 1};
    mrl_model *ref = model_load("testdata/grpo/ref", &ro, &e);
    EXPECTF(m && ref, "%s", e.msg);
    if (!m || !ref) { model_free(m); model_free(ref); jv_free(all); jv_free(cs); jv_free(o); return; }
    rec rs[8];
    tr_seq sq[8];
    int n = fixture_seqs(rs, sq, &e);
    tr_opts t = {{grpo_parse_loss(str(o, "loss", buf, sizeof buf)), num(o, "beta"), num(o, "epsilon"),
                  num(o, "epsilon_high"), 0, 0},
                 (int)num(o, "micro_batch"), 8, (int)num(o, "mask_truncated"), num(o, "iterations") > 1,
                 (float)num(o, "temperature")};
    grpo_stats st = {0};
    model_zero_grad(m);
    EXPECTF(trainer_accumulate(m, ref, &t, sq, n, &st, &e) == 0, "%s", e.msg);
    double want = num(cs, "loss");
    EXPECTF(fabs(st.loss - want) <= 1e-4 * fabs(want), "%s: loss %.9g vs %.9g", name, st.loss, want);
    EXPECT_NEAR(st.tokens > 0 ? st.clipped / st.tokens : 0, num(cs, "clip_frac"), 1e-9);
    double kl = num(cs, "kl");
    EXPECTF(!isnan(kl) || t.g.beta == 0, "%s: no kl in the fixture though beta is %g", name, t.g.beta);
    if (!isnan(kl)) EXPECTF(fabs(st.kl_sum / st.tokens - kl) <= 1e-4 * kl, "%s: kl %.9g vs %.9g", name, st.kl_sum / st.tokens, kl);
    snprintf(gpath, sizeof gpath, "testdata/grpo/grads_%s.safetensors", name);
    st_file *f = st_open(gpath, &e);
    EXPECTF(f != NULL, "%s", e.msg);
    mrl_param *p;
    int np = model_params(m, &p), checked = 0;
    for (int i = 0; f && i < np; i++) {
        const st_tensor *gt = st_find(f, p[i].name);
        EXPECTF(gt != NULL, "no reference gradient for %s", p[i].name);
        if (!gt || gt->numel != p[i].numel) continue;
        float *g = malloc(gt->numel * sizeof *g);
        st_read_f32(gt, g, &e);
        /* relative to the tensor: ||g - ref|| <= 1e-4 ||ref|| */
        double d2 = 0, r2 = 0;
        for (size_t k = 0; k < gt->numel; k++) { d2 += (p[i].g[k] - g[k]) * (double)(p[i].g[k] - g[k]); r2 += (double)g[k] * g[k]; }
        EXPECTF(sqrt(d2) <= 1e-4 * sqrt(r2) && r2 > 0, "%s: grad of %s off by %.3g relative (|ref| %.3g)", name, p[i].name, sqrt(d2 / (r2 + 1e-300)), sqrt(r2));
        checked++;
        free(g);
    }
    EXPECT(checked == np && np > 10);
    if (f) st_close(f);
    model_free(m); model_free(ref);
    jv_free(all); jv_free(cs); jv_free(o);
}

/* Data parallel: each rank takes its share of the batch (trainer_share: bnpo whole micro-batches
 * rank, rank + world, ..., the other losses an even slice; here of unequal sizes and token
 * counts) with the whole batch's normalisers divided by the world; the mean of the ranks'
 * gradients (what the all-reduce forms) must be the one-process gradient over the whole batch,
 * bnpo's per-micro-batch token mean included. (mgrpo shared out groups r, r + world, ... with
 * bnpo's own normaliser per rank: its micro-batches were not the one-process ones, 20% off with
 * --micro-batch 4 over groups of 3, 50% with micro-batches of 1 over more ranks than groups.) */
static void ranks_case(grpo_loss loss, int mb, int world) {
    mrl_err e = {0};
    mrl_model *m = model_load("testdata/grpo/model", &(model_opts){.device = "cpu", .trainable = 1, .threads = 1}, &e);
    EXPECTF(m != NULL, "%s", e.msg);
    if (!m) return;
    rec rs[8];
    tr_seq sq[8], share[8];
    int n = fixture_seqs(rs, sq, &e);
    sq[4].truncated = 1;   /* a masked completion: no counted tokens (dapo's, bnpo's count) */
    tr_opts t = {{loss, 0, 0.2, 0.2, 0, 0}, mb, 8, 1, 0, 1.0f};
    mrl_param *p;
    int np = model_params(m, &p);
    grpo_stats st = {0};
    model_zero_grad(m);
    EXPECT(trainer_accumulate(m, NULL, &t, sq, n, &st, &e) == 0);
    double whole_loss = st.loss, ranks_loss = 0;
    float **whole = malloc(np * sizeof *whole);
    for (int i = 0; i < np; i++) {
        whole[i] = malloc(p[i].numel * sizeof **whole);
        memcpy(whole[i], p[i].g, p[i].numel * sizeof **whole);
    }
    model_zero_grad(m);
    int total = 0;
    for (int r = 0; r < world; r++) {
        tr_norm nm;
        memcpy(share, sq, sizeof sq);
        int k = trainer_share(&t, share, n, r, world, &nm);
        total += k;
        grpo_stats rst = {0};
        EXPECT(trainer_accumulate_norm(m, NULL, &t, share, k, &nm, &rst, &e) == 0);
        ranks_loss += rst.loss / world;
    }
    EXPECT(total == n);
    double d2 = 0, r2 = 0;
    for (int i = 0; i < np; i++) {
        for (size_t k = 0; k < p[i].numel; k++) {
            double d = p[i].g[k] / (double)world - whole[i][k];
            d2 += d * d;
            r2 += (double)whole[i][k] * whole[i][k];
        }
        free(whole[i]);
    }
    free(whole);
    EXPECTF(r2 > 0 && sqrt(d2) <= 1e-5 * sqrt(r2), "%s, micro-batch %d, %d ranks: mean of the ranks off by %.3g relative",
            grpo_loss_name(loss), mb, world, sqrt(d2 / (r2 + 1e-300)));
    EXPECTF(fabs(ranks_loss - whole_loss) <= 1e-5 * fabs(whole_loss), "%s, micro-batch %d, %d ranks: loss %.9g, one process %.9g",
            grpo_loss_name(loss), mb, world, ranks_loss, whole_loss);
    model_free(m);
}

TEST(ranks_average_to_the_whole_batch) {
    if (access("testdata/grpo/model/model.safetensors", R_OK)) SKIP("no fixture");
    /* 6 sequences (2 groups of 3), as bnpo shares them: micro-batches of 1 over 4 ranks (2, 2, 1,
       1 sequences), of 4 over 2 ranks (4 and 2: across the groups), of 2 over 2 ranks (4 and 2),
       of 8 (one, so one rank has nothing), of 3 (a group each); the other losses' slices are
       1, 2, 1, 2 over 4 ranks and 3, 3 over 2 */
    static const int cfg[][2] = {{1, 4}, {4, 2}, {2, 2}, {8, 2}, {3, 2}};
    for (int l = GRPO_LOSS_GRPO; l <= GRPO_LOSS_SFT; l++)
        for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) ranks_case((grpo_loss)l, cfg[c][0], cfg[c][1]);
}

/* The step's gradient over the fixture batch (old logprobs, a reference, one masked truncated
 * completion) with micro-batches of mb sequences, copied out; *loss_out its objective. */
static float *mb_grads(mrl_model *m, mrl_model *ref, grpo_loss loss, int mb, tr_seq *sq, int n, double *loss_out) {
    tr_opts t = {{loss, 0.04, 0.2, 0.28, 0, 0}, mb, 8, 1, 1, 0.7f};
    mrl_param *p;
    int np = model_params(m, &p);
    size_t total = 0;
    for (int i = 0; i < np; i++) total += p[i].numel;
    float *g = malloc(total * sizeof *g);
    grpo_stats st = {0};
    mrl_err e = {0};
    model_zero_grad(m);
    EXPECTF(trainer_accumulate(m, ref, &t, sq, n, &st, &e) == 0, "%s", e.msg);
    total = 0;
    for (int i = 0; i < np; total += p[i].numel, i++) memcpy(g + total, p[i].g, p[i].numel * sizeof *g);
    *loss_out = st.loss;
    return g;
}
static double rel_diff(const float *a, const float *b, size_t n) {
    double d2 = 0, r2 = 0;
    for (size_t i = 0; i < n; i++) { d2 += ((double)a[i] - b[i]) * ((double)a[i] - b[i]); r2 += (double)b[i] * b[i]; }
    return r2 > 0 ? sqrt(d2 / r2) : INFINITY;
}

/* --micro-batch sets memory, not the step: grpo, dr_grpo, dapo and sft normalise over the whole
 * step (mgrpo(1)), so micro-batches of 1 and of 4 (4 + 2: the last one short) give the
 * one-pass gradient and loss up to float summation order: on AVX-512 a micro-batch of one
 * sequence (12 rows or fewer) runs its products on the few-row kernel and the whole batch on
 * the register tiles, which sum in another order; the loss, a sum of terms that nearly cancel
 * (advantages sum to 0 in a group), moved by 1.7e-6 of itself there (Intel Xeon, AMX). bnpo's token mean is per micro-batch by
 * definition (TRL's local batch): with micro-batches of 1 it is grpo's loss, with the whole step
 * in one it is dapo's, bit for bit. */
TEST(micro_batches_do_not_change_the_step) {
    if (access("testdata/grpo/model/model.safetensors", R_OK)) SKIP("no fixture");
    mrl_err e = {0};
    mrl_model *m = model_load("testdata/grpo/model", &(model_opts){.device = "cpu", .trainable = 1, .threads = 1}, &e);
    mrl_model *ref = model_load("testdata/grpo/ref", &(model_opts){.device = "cpu", .threads = 1, .train_numerics = 1}, &e);
    EXPECTF(m && ref, "%s", e.msg);
    if (!m || !ref) { model_free(m); model_free(ref); return; }
    rec rs[8];
    tr_seq sq[8];
    int n = fixture_seqs(rs, sq, &e);
    sq[4].truncated = 1;
    mrl_param *p;
    int np = model_params(m, &p);
    size_t total = 0;
    for (int i = 0; i < np; i++) total += p[i].numel;
    static const grpo_loss inv[] = {GRPO_LOSS_GRPO, GRPO_LOSS_DR_GRPO, GRPO_LOSS_DAPO, GRPO_LOSS_SFT};
    for (size_t l = 0; l < sizeof inv / sizeof *inv; l++) {
        double lw, lk;
        float *whole = mb_grads(m, ref, inv[l], n, sq, n, &lw);
        for (int mb = 1; mb <= 4; mb += 3) {
            float *g = mb_grads(m, ref, inv[l], mb, sq, n, &lk);
            double d = rel_diff(g, whole, total);
            EXPECTF(d <= 1e-5, "%s: micro-batches of %d change the gradient by %.3g relative", grpo_loss_name(inv[l]), mb, d);
            EXPECTF(fabs(lk - lw) <= 1e-5 * fabs(lw) + 1e-9, "%s: micro-batches of %d: loss %.9g, one pass %.9g",
                    grpo_loss_name(inv[l]), mb, lk, lw);
            free(g);
        }
        free(whole);
    }
    double a, b;
    float *g1 = mb_grads(m, ref, GRPO_LOSS_BNPO, 1, sq, n, &a), *g2 = mb_grads(m, ref, GRPO_LOSS_GRPO, 1, sq, n, &b);
    EXPECTF(!memcmp(g1, g2, total * sizeof *g1) && a == b, "bnpo with micro-batches of 1 is not grpo: loss %.9g vs %.9g", a, b);
    free(g1); free(g2);
    g1 = mb_grads(m, ref, GRPO_LOSS_BNPO, n, sq, n, &a); g2 = mb_grads(m, ref, GRPO_LOSS_DAPO, n, sq, n, &b);
    EXPECTF(!memcmp(g1, g2, total * sizeof *g1) && a == b, "bnpo in one micro-batch is not dapo: loss %.9g vs %.9g", a, b);
    free(g1); free(g2);
    model_free(m); model_free(ref);
}

TEST(model_grads_grpo) { if (access("testdata/grpo/model/model.safetensors", R_OK)) SKIP("no fixture"); model_case("grpo"); }
TEST(model_grads_bnpo) { if (access("testdata/grpo/model/model.safetensors", R_OK)) SKIP("no fixture"); model_case("bnpo"); }
TEST(model_grads_sft) { if (access("testdata/grpo/model/model.safetensors", R_OK)) SKIP("no fixture"); model_case("sft"); }

/* Learning: the policy is rewarded for a first token in the lower half of the vocabulary;
 * the probability of that set (computed exactly over every token) must rise from about a
 * half to above 0.9 within 40 GRPO steps. Sampling is seeded: not flaky. */
static double set_prob(mrl_model *m, const int32_t *prompt, int plen, int V, double *probs) {
    int T = V * (plen + 1);
    int32_t *tok = malloc(T * sizeof *tok), *tgt = malloc(T * sizeof *tgt), *cu = malloc((V + 1) * sizeof *cu);
    float *lp = malloc(T * sizeof *lp);
    for (int v = 0; v < V; v++) {
        for (int t = 0; t < plen; t++) { tok[v * (plen + 1) + t] = prompt[t]; tgt[v * (plen + 1) + t] = -1; }
        tok[v * (plen + 1) + plen] = v; tgt[v * (plen + 1) + plen] = -1;
        tgt[v * (plen + 1) + plen - 1] = v;
        cu[v] = v * (plen + 1);
    }
    cu[V] = T;
    mrl_batch b = {T, V, tok, tgt, cu, 1.0f};
    mrl_err e = {0};
    double s = 0;
    if (model_logprobs(m, &b, lp, &e) == 0)
        for (int v = 0; v < V; v++) { probs[v] = exp(lp[v * (plen + 1) + plen - 1]); if (v < V / 2) s += probs[v]; }
    free(tok); free(tgt); free(cu); free(lp);
    return s;
}

TEST(learns_a_rewarded_token) {
    if (access("testdata/grpo/model/model.safetensors", R_OK)) SKIP("no fixture");
    mrl_err e = {0};
    mrl_model *m = model_load("testdata/grpo/model", &(model_opts){.device = "cpu", .trainable = 1, .threads = 1}, &e);
    EXPECTF(m != NULL, "%s", e.msg);
    if (!m) return;
    int V = model_config(m)->vocab_size, G = 8, NG = 4;
    mrl_param *p;
    int np = model_params(m, &p);
    mrl_backend *be = be_open("cpu", 1, &e);
    optim_opts oo = {OPTIM_ADAMW, 0.9, 0.999, 1e-8, 0};
    optim *opt = optim_create(be, p, np, &oo, &e);
    int32_t prompt[3] = {5, 6, 7}, comp[64];
    double *probs = malloc(V * sizeof *probs), r[64], a[64], p0 = set_prob(m, prompt, 3, V, probs), pk = p0;
    tr_opts t = {{GRPO_LOSS_GRPO, 0, 0.2, 0.2, 0, 0}, 8, 1, 0, 0, 1.0f};
    int start[5] = {0, 8, 16, 24, 32}, step;
    for (step = 1; step <= 40 && pk < 0.9; step++) {
        tr_seq sq[64];
        for (int i = 0; i < G * NG; i++) {     /* sample from the exact distribution */
            mrl_rng rg;
            rng_init(&rg, 42, (uint64_t)step, (uint64_t)i);
            double u = rng_uniform(&rg), c = 0;
            int v = 0;
            while (v < V - 1 && (c += probs[v]) < u) v++;
            comp[i] = v;
            r[i] = v < V / 2;
        }
        if (grpo_advantages(r, start, NG, GRPO_ADV_GRPO, GRPO_SCALE_GROUP, 0, a, &e)) break;
        for (int i = 0; i < G * NG; i++) sq[i] = (tr_seq){prompt, 3, &comp[i], 1, NULL, 0, a[i]};
        grpo_stats st = {0};
        model_zero_grad(m);
        if (trainer_accumulate(m, NULL, &t, sq, G * NG, &st, &e)) break;
        optim_step(opt, 3e-3, optim_clip_factor(optim_grad_norm(opt), 1.0), &e);
        model_sync_weights(m);
        pk = set_prob(m, prompt, 3, V, probs);
    }
    EXPECTF(p0 > 0.3 && p0 < 0.7, "starting probability %.3f", p0);
    EXPECTF(pk >= 0.9, "after %d steps the rewarded set has probability %.3f (from %.3f)", step - 1, pk, p0);
    printf("  learning: p(rewarded) %.3f -> %.3f in %d steps\n", p0, pk, step - 1);
    free(probs);
    optim_free(opt); be_close(be); model_free(m);
}

/* With bf16 forward weights (--dtype bf16) the optimizer rewrites each parameter's bf16 copy in
 * its own pass (mrl_param.fw): after a step every copy is the master rounded to nearest even,
 * for AdamW and SGD; an fp32 model has no copy. */
TEST(optimizer_updates_the_bf16_copy) {
    if (access("testdata/grpo/model/model.safetensors", R_OK)) SKIP("no fixture");
    mrl_err e = {0};
    mrl_model *f = model_load("testdata/grpo/model", &(model_opts){.device = "cpu", .trainable = 1, .threads = 1}, &e);
    EXPECTF(f != NULL, "%s", e.msg);
    if (!f) return;
    mrl_param *p;
    int np = model_params(f, &p), none = 1;
    for (int i = 0; i < np; i++) none &= p[i].fw == NULL;
    EXPECT(none);
    model_free(f);
    for (int kind = 0; kind < 2; kind++) {
        mrl_model *m = model_load("testdata/grpo/model", &(model_opts){.device = "cpu", .trainable = 1, .bf16 = 1, .threads = 2}, &e);
        EXPECTF(m != NULL, "%s", e.msg);
        if (!m) return;
        np = model_params(m, &p);
        mrl_backend *be = be_open("cpu", 2, &e);
        optim_opts oo = {kind ? OPTIM_SGD : OPTIM_ADAMW, 0.9, 0.999, 1e-8, 0.1};
        optim *opt = optim_create(be, p, np, &oo, &e);
        for (int i = 0; i < np; i++)
            for (size_t j = 0; j < p[i].numel; j++) p[i].g[j] = 0.01f * (float)((int)((j * 7 + (size_t)i) % 13) - 6);
        EXPECT(optim_step(opt, 1e-2, 1.0, &e) == 0);
        size_t bad = 0, n = 0;
        for (int i = 0; i < np; i++) {
            EXPECTF(p[i].fw != NULL, "%s: no bf16 copy", p[i].name);
            if (!p[i].fw) continue;
            for (size_t j = 0; j < p[i].numel; j++, n++) bad += ((uint16_t *)p[i].fw)[j] != cpu_bf16_rne(p[i].w[j]);
        }
        EXPECTF(bad == 0 && n > 1000, "%s: %zu of %zu bf16 weights are not the updated master rounded", kind ? "SGD" : "AdamW", bad, n);
        optim_free(opt); be_close(be); model_free(m);
    }
}

int main(void) {
    RUN(loss_cases_match_pytorch);
    RUN(advantages_bad_input);
    RUN(uniform_group_has_zero_advantage);
    RUN(clipped_overflowing_ratio_has_no_gradient);
    RUN(optimizer_updates_the_bf16_copy);
    RUN(names);
    RUN(ranks_average_to_the_whole_batch);
    RUN(micro_batches_do_not_change_the_step);
    RUN(model_grads_grpo);
    RUN(model_grads_bnpo);
    RUN(model_grads_sft);
    RUN(learns_a_rewarded_token);
    return tst_done();
}
