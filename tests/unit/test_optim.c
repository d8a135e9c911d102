/* test_optim.c — AdamW and gradient clipping against torch (torch.optim.AdamW,
 * clip_grad_norm_), the schedules against transformers' schedulers (fixtures from
 * tests/ref/grpo_ref.py), SGD, and an exact state save/load round trip. */
#include <jv.h>
#include <unistd.h>
#include "../test.h"
#include "optim.h"
#include "safetensors.h"

static jv fixture(void) {
    jv v = jv_load_file("testdata/grpo/optim.json", 0);
    if (!jv_is_valid(v)) { jv_free(v); return jv_invalid(); }
    return jv_array_get(v, 0);
}
static jv get(jv o, const char *k) { return jv_object_get(jv_copy(o), jv_string(k)); }
static double num(jv o, const char *k) { jv x = get(o, k); double d = jv_number_value(x); jv_free(x); return d; }
static void vec(jv a, float *out, int n) {
    for (int i = 0; i < n; i++) { jv x = jv_array_get(jv_copy(a), i); out[i] = (float)jv_number_value(x); jv_free(x); }
    jv_free(a);
}

TEST(adamw_matches_torch) {
    jv f = fixture();
    if (!jv_is_valid(f)) SKIP("testdata/grpo/optim.json missing");
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", 1, &e);
    EXPECT(be != NULL);
    if (!be) { jv_free(f); return; }
    jv cases = get(f, "adamw"), grads = get(f, "grads");
    float w0[50], g[3][50], w[50], gbuf[50];
    double worst = 0;   /* largest |w - torch's w| relative to the step torch took */
    vec(get(f, "w0"), w0, 50);
    for (int k = 0; k < 3; k++) vec(jv_array_get(jv_copy(grads), k), g[k], 50);
    for (int c = 0; c < jv_array_length(jv_copy(cases)); c++) {
        jv cs = jv_array_get(jv_copy(cases), c), ws = get(cs, "w");
        mrl_param p = {.name = "layer.weight", .ndim = 1, .shape = {50, 0}, .numel = 50, .w = w, .g = gbuf};
        memcpy(w, w0, sizeof w);
        optim_opts o = {OPTIM_ADAMW, num(cs, "beta1"), num(cs, "beta2"), num(cs, "eps"), num(cs, "weight_decay")};
        optim *opt = optim_create(be, &p, 1, &o, &e);
        float prev[50];
        for (int k = 0; k < 3; k++) {
            memcpy(gbuf, g[k], sizeof gbuf);
            EXPECT(optim_step(opt, num(cs, "lr"), 1.0, &e) == 0);
            float want[50];
            vec(jv_array_get(jv_copy(ws), k), want, 50);
            for (int i = 0; i < 50; i++) {
                EXPECT_NEAR(w[i], want[i], 1e-5);
                double moved = fabs((double)want[i] - (k ? prev[i] : w0[i]));
                if (moved > 0) worst = fmax(worst, fabs((double)w[i] - want[i]) / moved);
            }
            memcpy(prev, want, sizeof prev);
        }
        EXPECT(optim_steps(opt) == 3);
        optim_free(opt);
        jv_free(cs); jv_free(ws);
    }
    printf("  AdamW against torch.optim.AdamW: worst weight error %.3g of the step\n", worst);
    /* the step's scalars from the double betas, as torch's: with 1 - (float)beta2 this was 2.7e-4 */
    EXPECTF(worst < 5e-5, "AdamW is %.3g of a step off torch's", worst);
    jv_free(cases); jv_free(grads); jv_free(f);
    be_close(be);
}

TEST(clip_matches_torch) {
    jv f = fixture();
    if (!jv_is_valid(f)) SKIP("testdata/grpo/optim.json missing");
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", 1, &e);
    jv c = get(f, "clip");
    float a[7], b[5], wa[7] = {0}, wb[5] = {0}, ac[7], bc[5];
    vec(get(c, "a"), a, 7); vec(get(c, "b"), b, 5);
    vec(get(c, "a_clipped"), ac, 7); vec(get(c, "b_clipped"), bc, 5);
    mrl_param p[2] = {{.name = "a", .ndim = 1, .shape = {7, 0}, .numel = 7, .w = wa, .g = a},
                      {.name = "b", .ndim = 1, .shape = {5, 0}, .numel = 5, .w = wb, .g = b}};
    optim_opts o = {OPTIM_SGD, 0.9, 0.999, 1e-8, 0};
    optim *opt = optim_create(be, p, 2, &o, &e);
    double norm = optim_grad_norm(opt), fac = optim_clip_factor(norm, num(c, "max_norm"));
    EXPECT_NEAR(norm, num(c, "norm"), 1e-6);
    /* SGD with lr 1 from zero weights: w = -clipped gradient */
    EXPECT(optim_step(opt, 1.0, fac, &e) == 0);
    for (int i = 0; i < 7; i++) EXPECT_NEAR(-wa[i], ac[i], 1e-6);
    for (int i = 0; i < 5; i++) EXPECT_NEAR(-wb[i], bc[i], 1e-6);
    EXPECT(optim_clip_factor(0.1, 1.0) == 1.0);
    EXPECT(optim_clip_factor(10, 0) == 1.0);
    optim_free(opt);
    jv_free(c); jv_free(f);
    be_close(be);
}

TEST(schedules_match_transformers) {
    jv f = fixture();
    if (!jv_is_valid(f)) SKIP("testdata/grpo/optim.json missing");
    jv ss = get(f, "schedules");
    int n = jv_array_length(jv_copy(ss));
    EXPECT(n >= 6);
    for (int c = 0; c < n; c++) {
        jv s = jv_array_get(jv_copy(ss), c), name = get(s, "schedule"), lrs = get(s, "lrs");
        sched_opts so = {sched_parse(jv_string_value(name)), (long)num(s, "total"), (long)num(s, "warmup"), num(s, "min_lr_rate")};
        EXPECT((int)so.kind >= 0);
        /* through step total + 1 (lambda(total), the schedule's end): past it the HF Trainer
           has stopped, and mgrpo holds the end value (schedule_holds_its_end_value) */
        for (int k = 0; k < jv_array_length(jv_copy(lrs)) && k <= so.total; k++) {
            jv x = jv_array_get(jv_copy(lrs), k);
            double want = jv_number_value(x), got = num(s, "lr") * sched_factor(&so, k + 1);
            jv_free(x);
            if (!(fabs(got - want) <= 1e-12 + 1e-9 * fabs(want)))
                EXPECTF(0, "%s total %ld warmup %ld step %d: %.12g vs %.12g", sched_name(so.kind), so.total, so.warmup, k + 1, got, want);
        }
        jv_free(s); jv_free(name); jv_free(lrs);
    }
    jv wr = get(f, "warmup_ratio");
    for (int c = 0; c < jv_array_length(jv_copy(wr)); c++) {
        jv x = jv_array_get(jv_copy(wr), c);
        EXPECT(sched_warmup_steps(num(x, "ratio"), (long)num(x, "total")) == (long)num(x, "steps"));
        jv_free(x);
    }
    EXPECT(sched_warmup_steps(7, 100) == 7);
    EXPECT(sched_warmup_steps(0, 100) == 0);
    jv_free(wr); jv_free(ss); jv_free(f);
}

/* A run that goes on past --total-steps (mgrpo --steps 0 on a longer input, a resumed run
 * that kept its --total-steps) keeps the schedule's last value: transformers' cosine lambda,
 * which the HF Trainer never evaluates past max_steps, climbs back to the peak lr. */
TEST(schedule_holds_its_end_value) {
    sched_opts cos = {SCHED_COSINE, 10, 2, 0}, cmin = {SCHED_COSINE_MIN_LR, 500, 50, 0.1},
               lin = {SCHED_LINEAR, 10, 2, 0};
    long past[] = {11, 12, 15, 19, 40};   /* step 19 (progress 2): back at the peak before */
    for (int i = 0; i < 5; i++) {
        EXPECTF(sched_factor(&cos, past[i]) == 0, "cosine step %ld: %g", past[i], sched_factor(&cos, past[i]));
        EXPECTF(sched_factor(&lin, past[i]) == 0, "linear step %ld: %g", past[i], sched_factor(&lin, past[i]));
    }
    long past_min[] = {501, 502, 600, 950, 1500};
    for (int i = 0; i < 5; i++)
        EXPECTF(fabs(sched_factor(&cmin, past_min[i]) - 0.1) < 1e-15, "cosine_with_min_lr step %ld: %.17g",
                past_min[i], sched_factor(&cmin, past_min[i]));
    EXPECT(sched_factor(&cmin, 500) > 0.1);   /* step 500 is still on the curve (lambda(499)) */
    /* a warmup longer than the schedule (--warmup 20 --total-steps 10) ends still warming up,
       at lambda(10) = 10/20, and holds it: it went on warming up to the peak at step 21 and
       fell to 0 at step 22 (cosine, linear) */
    for (int kind = SCHED_LINEAR; kind <= SCHED_CONSTANT_WARMUP; kind++) {
        sched_opts lw = {(sched_kind)kind, 10, 20, 0.1};
        EXPECTF(sched_factor(&lw, 11) == 0.5, "%s step 11: %g", sched_name(lw.kind), sched_factor(&lw, 11));
        for (long s = 12; s <= 40; s += 7)
            EXPECTF(sched_factor(&lw, s) == 0.5, "%s warmup 20 of 10 steps, step %ld: %g (0.5 at the end)",
                    sched_name(lw.kind), s, sched_factor(&lw, s));
    }
    /* constant_with_warmup needs no --total-steps: without one it warms up and stays at 1 */
    sched_opts cw = {SCHED_CONSTANT_WARMUP, 0, 4, 0};
    EXPECT(sched_factor(&cw, 3) == 0.5 && sched_factor(&cw, 5) == 1 && sched_factor(&cw, 100) == 1);
}

TEST(state_roundtrip_is_exact) {
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", 1, &e);
    char dir[TEST_TMPDIR_MAX], path[PATH_MAX];
    test_tmpdir(dir, sizeof dir, "test_optim");
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    float w[2][12], g[12];
    mrl_param p = {.name = "model.norm.weight", .ndim = 2, .shape = {3, 4}, .numel = 12, .w = w[0], .g = g};
    optim_opts o = {OPTIM_ADAMW, 0.9, 0.95, 1e-8, 0.1};
    for (int i = 0; i < 12; i++) w[0][i] = w[1][i] = 0.1f * i;
    optim *a = optim_create(be, &p, 1, &o, &e);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 12; i++) g[i] = sinf(i + k);
        optim_step(a, 0.01, 1.0, &e);
    }
    EXPECT(optim_save(a, path, 1, &e) == 0);
    /* a second optimizer loaded from the file continues exactly like the first */
    mrl_param q = p; q.w = w[1];
    optim *b = optim_create(be, &q, 1, &o, &e);
    EXPECT(optim_load(b, path, &e) == 0);
    EXPECT(optim_steps(b) == 2);
    EXPECT(memcmp(w[0], w[1], sizeof w[0]) == 0);   /* master weights restored */
    for (int i = 0; i < 12; i++) g[i] = cosf(i);
    optim_step(a, 0.01, 0.5, &e);
    optim_step(b, 0.01, 0.5, &e);
    EXPECT(memcmp(w[0], w[1], sizeof w[0]) == 0);
    /* another shape is refused, naming the tensor */
    mrl_param r = p; r.shape[0] = 4; r.shape[1] = 3;
    optim *c = optim_create(be, &r, 1, &o, &e);
    EXPECT(optim_load(c, path, &e) == -1);
    EXPECT(strstr(e.msg, "exp_avg.model.norm.weight") != NULL);
    optim_opts os = o; os.kind = OPTIM_SGD;
    optim *d = optim_create(be, &q, 1, &os, &e);
    EXPECT(optim_load(d, path, &e) == -1);
    optim_free(a); optim_free(b); optim_free(c); optim_free(d);
    unlink(path); rmdir(dir);
    be_close(be);
}

/* A file is loaded only when every tensor in it is a state the run's optimizer keeps and its
 * step is a number: a junk.NAME tensor, moments in an SGD run's file and "step": "" were taken
 * (the tensors passed over, the step read as 0). */
static int write_state(const char *path, const char *const *names, int n, const char *step, const char *kind) {
    mrl_err e = {0};
    static float z[12];
    int64_t shape[2] = {3, 4};
    st_writer *w = st_write_begin(path, &e);
    for (int i = 0; w && i < n; i++)
        if (st_add(w, names[i], ST_F32, 2, shape, z, &e)) { st_write_abort(w); return -1; }
    const char *meta[] = {"step", step, "optimizer", kind, NULL};
    return w ? st_write_end(w, meta, &e) : -1;
}

TEST(state_file_holds_only_what_the_run_keeps) {
    mrl_err e = {0};
    mrl_backend *be = be_open("cpu", 1, &e);
    char dir[TEST_TMPDIR_MAX], path[PATH_MAX];
    test_tmpdir(dir, sizeof dir, "test_optim");
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    float w[12] = {0}, g[12] = {0};
    mrl_param p = {.name = "model.norm.weight", .ndim = 2, .shape = {3, 4}, .numel = 12, .w = w, .g = g};
    optim_opts oa = {OPTIM_ADAMW, 0.9, 0.95, 1e-8, 0.1}, os = oa;
    os.kind = OPTIM_SGD;
    const char *adamw[] = {"exp_avg.model.norm.weight", "exp_avg_sq.model.norm.weight", "master.model.norm.weight",
                           "junk.model.norm.weight"};
    static const struct { int n, sgd; const char *step, *want; } cases[] = {
        {3, 0, "5", NULL},
        {4, 0, "5", "\"junk.model.norm.weight\" is not a state of the adamw optimizer"},
        {3, 0, "", "metadata \"step\" is missing or bad"},
        {3, 0, "99999999999999999999", "metadata \"step\" is missing or bad"},
        {3, 1, "5", "\"exp_avg.model.norm.weight\" is not a state of the sgd optimizer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        EXPECT(write_state(path, adamw, cases[i].n, cases[i].step, cases[i].sgd ? "sgd" : "adamw") == 0);
        optim *o = optim_create(be, &p, 1, cases[i].sgd ? &os : &oa, &e);
        int rc = optim_load(o, path, &e);
        if (!cases[i].want) EXPECTF(rc == 0 && optim_steps(o) == 5, "case %zu: %s", i, rc ? e.msg : "wrong step");
        else EXPECTF(rc == -1 && strstr(e.msg, cases[i].want), "case %zu: %s", i, rc ? e.msg : "loaded");
        optim_free(o);
    }
    /* an SGD run's own file (master weights only) loads */
    EXPECT(write_state(path, adamw + 2, 1, "7", "sgd") == 0);
    optim *o = optim_create(be, &p, 1, &os, &e);
    EXPECTF(optim_load(o, path, &e) == 0 && optim_steps(o) == 7, "%s", e.msg);
    optim_free(o);
    unlink(path); rmdir(dir);
    be_close(be);
}

int main(void) {
    RUN(adamw_matches_torch);
    RUN(clip_matches_torch);
    RUN(schedules_match_transformers);
    RUN(schedule_holds_its_end_value);
    RUN(state_roundtrip_is_exact);
    RUN(state_file_holds_only_what_the_run_keeps);
    return tst_done();
}
