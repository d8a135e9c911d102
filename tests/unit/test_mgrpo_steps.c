/* test_mgrpo_steps.c — mgrpo end to end against PyTorch over several optimizer steps (fixture
 * of tests/ref/mgrpo_steps_ref.py: TRL's loss, the HF Trainer's gradient accumulation,
 * clip_grad_norm_, torch.optim.AdamW with its no-decay parameter group, transformers'
 * schedulers): per step loss, kl, clip_frac, grad_norm, lr and the reward statistics, and the
 * weights after the last step. Runs $MRL_BIN/mgrpo (tests/run.sh sets MRL_BIN). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <jv.h>
#include "../test.h"
#include "safetensors.h"

#define FX "testdata/grpo-steps"
static char bin[4096];

static int ready(void) {
    const char *b = getenv("MRL_BIN");
    if (!b) return 0;
    snprintf(bin, sizeof bin, "%s/mgrpo", b);
    return access(bin, X_OK) == 0 && access(FX "/cases.json", R_OK) == 0;
}

static jv get(jv o, const char *k) { return jv_object_get(jv_copy(o), jv_string(k)); }

/* ||a - b|| over the tensor name of two files; *moved = ||b - w0||, *norm = ||b|| */
static double tensor_diff(st_file *a, st_file *b, st_file *w0, const char *name, double *moved, double *norm) {
    const st_tensor *ta = st_find(a, name), *tb = st_find(b, name), *t0 = st_find(w0, name);
    mrl_err e = {0};
    if (!ta || !tb || !t0 || ta->numel != tb->numel || t0->numel != tb->numel) return 1e30;
    size_t n = tb->numel;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *z = malloc(n * sizeof *z);
    st_read_f32(ta, x, &e); st_read_f32(tb, y, &e); st_read_f32(t0, z, &e);
    double d2 = 0, m2 = 0, r2 = 0;
    for (size_t i = 0; i < n; i++) {
        d2 += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        m2 += ((double)y[i] - z[i]) * ((double)y[i] - z[i]);
        r2 += (double)y[i] * y[i];
    }
    free(x); free(y); free(z);
    *moved = sqrt(m2); *norm = sqrt(r2);
    return sqrt(d2);
}

static void run_case(const char *name, jv c, const char *dir) {
    char cmd[8192 + 2 * PATH_MAX], path[PATH_MAX];
    jv args = get(c, "args"), model = get(c, "model"), ref = get(c, "ref"), steps = get(c, "steps");
    int n = snprintf(cmd, sizeof cmd, "'%s' -Z -q --threads 1 --device cpu --model %s --ref %s --out '%s/%s'",
                     bin, jv_string_value(model), jv_string_value(ref), dir, name);
    for (int i = 0; i < jv_array_length(jv_copy(args)); i++) {
        jv a = jv_array_get(jv_copy(args), i);
        n += snprintf(cmd + n, sizeof cmd - n, " %s", jv_string_value(a));
        jv_free(a);
    }
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " " FX "/batch.jsonl > /dev/null 2> '%s/%s.err'", dir, name);
    int st = system(cmd);
    EXPECTF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: mgrpo failed: %s", name, cmd);
    snprintf(path, sizeof path, "%s/%s/metrics.jsonl", dir, name);
    jv got = jv_load_file(path, 0);
    int ns = jv_array_length(jv_copy(steps));
    EXPECTF(jv_is_valid(got) && jv_array_length(jv_copy(got)) == ns, "%s: %d steps expected", name, ns);
    static const char *const keys[] = {"loss", "kl", "clip_frac", "grad_norm", "lr", "reward_mean", "reward_std"};
    /* relative tolerance, absolute floor: fp32 (mgrpo) against float64 (the reference) */
    static const double rel[] = {1e-4, 1e-4, 0, 1e-4, 1e-9, 1e-9, 1e-9}, absf[] = {1e-6, 1e-7, 1e-9, 1e-7, 1e-15, 1e-12, 1e-12};
    for (int k = 0; jv_is_valid(got) && k < ns && k < jv_array_length(jv_copy(got)); k++) {
        jv g = jv_array_get(jv_copy(got), k), w = jv_array_get(jv_copy(steps), k);
        for (size_t j = 0; j < sizeof keys / sizeof *keys; j++) {
            jv a = get(g, keys[j]), b = get(w, keys[j]);
            if (jv_get_kind(b) == JV_KIND_NULL) {
                EXPECTF(jv_get_kind(a) == JV_KIND_NULL, "%s step %d: %s should be null", name, k + 1, keys[j]);
            } else {
                double x = jv_get_kind(a) == JV_KIND_NUMBER ? jv_number_value(a) : NAN, y = jv_number_value(b);
                EXPECTF(fabs(x - y) <= rel[j] * fabs(y) + absf[j], "%s step %d: %s %.9g, PyTorch %.9g", name, k + 1,
                        keys[j], x, y);
            }
            jv_free(a); jv_free(b);
        }
        jv_free(g); jv_free(w);
    }
    jv_free(got);
    /* the weights after the last step: off by at most 1% of how far they moved (a wrong weight
       decay, schedule step or clip moves them by a tenth or more of that) */
    mrl_err e = {0};
    snprintf(path, sizeof path, "%s/%s/latest/model.safetensors", dir, name);
    st_file *mine = st_open(path, &e);
    snprintf(path, sizeof path, FX "/final_%s.safetensors", name);
    st_file *want = st_open(path, &e);
    snprintf(path, sizeof path, "%s/model.safetensors", jv_string_value(model));
    st_file *w0 = st_open(path, &e);
    EXPECTF(mine && want && w0, "%s: %s", name, e.msg);
    for (int i = 0; mine && want && w0 && i < st_count(want); i++) {
        const char *tn = st_at(want, i)->name;
        double moved = 0, norm = 0, d = tensor_diff(mine, want, w0, tn, &moved, &norm);
        EXPECTF(moved > 0 && d <= 1e-2 * moved + 1e-6 * norm, "%s: %s off by %.3g (moved %.3g, norm %.3g)", name, tn, d,
                moved, norm);
    }
    EXPECT(!want || st_count(want) > 20);
    if (mine) st_close(mine);
    if (want) st_close(want);
    if (w0) st_close(w0);
    jv_free(args); jv_free(model); jv_free(ref); jv_free(steps);
}

TEST(mgrpo_steps_match_pytorch) {
    if (!ready()) SKIP("needs MRL_BIN and " FX);
    char dir[TEST_TMPDIR_MAX];
    test_tmpdir(dir, sizeof dir, "mgrpo-steps");
    jv cases = jv_load_file(FX "/cases.json", 0);
    EXPECT(jv_is_valid(cases) && jv_get_kind(cases) == JV_KIND_ARRAY);   /* one JSON text */
    jv all = jv_array_get(cases, 0);
    int ran = 0;
    jv_object_foreach(all, k, v) {
        run_case(jv_string_value(k), v, dir);
        ran++;
        jv_free(k); jv_free(v);
    }
    jv_free(all);
    EXPECT(ran == 4);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
}

int main(void) {
    RUN(mgrpo_steps_match_pytorch);
    return tst_done();
}
