/* test_grpo.c — the GRPO objective against PyTorch autograd (tests/ref/grpo_ref.py):
 * advantages, every loss variant's value, KL, clip fraction and dL/dlogp; bad rewards. */
#include <jv.h>
#include <math.h>
#include "../test.h"
#include "grpo.h"

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

TEST(names) {
    EXPECT(grpo_parse_loss("dr_grpo") == GRPO_LOSS_DR_GRPO);
    EXPECT(grpo_parse_loss("ppo") == -1);
    EXPECT(grpo_parse_adv("reinforce++") == GRPO_ADV_REINFORCE_PP);
    EXPECT(grpo_parse_scale("none") == GRPO_SCALE_NONE);
}

int main(void) {
    RUN(loss_cases_match_pytorch);
    RUN(advantages_bad_input);
    RUN(names);
    return tst_done();
}
