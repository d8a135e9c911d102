/* fuzz_resume.c — libFuzzer target for what mgrpo reads to resume a run from step-000003:
 * arbitrary bytes as its trainer_state.json through ckpt_load_state and ckpt_check_state,
 * and the bytes after a NUL, if any, as its optimizer.safetensors through optim_saved_kind and
 * optim_load against a small model's parameters (shapes [4,3] and [3]). A refusal must say why,
 * on one line. A state that is accepted keeps what a resume takes as it is: written back the
 * way mgrpo's next save writes those fields (step, data.groups, data.records as whole numbers,
 * model and ref as the C strings a resume holds) and loaded again, it is accepted and holds the
 * same values. An optimizer state that loads is saved, loaded into a fresh optimizer and saved
 * again: the two files are the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "checkpoint.h"
#include "fileio.h"
#include "jqf.h"
#include "ops.h"
#include "optim.h"

#define STEP 3
static char run_dir[256], step_dir[300];
static mrl_backend *be;
static float w[2][12], g[2][12];

static int one_line(const mrl_err *e) { return e->msg[0] && !strchr(e->msg, '\n'); }

static int write_file(const char *p, const void *b, size_t n) {
    FILE *f = fopen(p, "wb");
    if (!f) return -1;
    int ok = fwrite(b, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static jv field(jv o, const char *a, const char *b) {
    jv v = jv_object_get(jv_copy(o), jv_string(a));
    if (b && jv_get_kind(v) == JV_KIND_OBJECT) v = jv_object_get(v, jv_string(b));
    return v;
}

static double num(jv o, const char *k) {
    jv v = field(o, k, NULL);
    double x = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;
    jv_free(v);
    return x;
}

/* The fields a resume takes, as mgrpo's run_state writes them back. */
static jv rewrite(jv st) {
    jv d = field(st, "data", NULL);
    const char *m = rec_str(st, "model"), *r = rec_str(st, "ref");
    jv s = JV_OBJECT(jv_string("step"), jv_number(STEP),
                     jv_string("data"), JV_OBJECT(jv_string("groups"), jv_number((long)num(d, "groups")),
                                                  jv_string("records"), jv_number((long)num(d, "records"))),
                     jv_string("ref"), r ? jv_string(r) : jv_null());
    if (m) s = jv_object_set(s, jv_string("model"), jv_string(m));
    jv_free(d);
    return s;
}

static void resume_state(const uint8_t *data, size_t n) {
    char p[400];
    snprintf(p, sizeof p, "%s/trainer_state.json", step_dir);
    if (write_file(p, data, n)) abort();
    mrl_err e = {0};
    jv st = ckpt_load_state(step_dir, &e);
    if (!jv_is_valid(st)) {
        if (!one_line(&e) || e.code != 1) abort();
        jv_free(st);
        return;
    }
    if (jv_get_kind(st) != JV_KIND_OBJECT) abort();
    if (ckpt_check_state(st, step_dir, STEP, &e)) {
        if (!one_line(&e) || e.code != 1) abort();
        jv_free(st);
        return;
    }
    /* mgrpo's next save: the taken fields through json_write_file (as ckpt_save) and back */
    if (json_write_file(p, rewrite(st), JV_PRINT_PRETTY | JV_PRINT_SPACE1, &e)) abort();
    jv back = ckpt_load_state(step_dir, &e);
    if (!jv_is_valid(back) || ckpt_check_state(back, step_dir, STEP, &e)) abort();
    static const char *const keys[][2] = {{"step", NULL}, {"data", "groups"}, {"data", "records"}, {"model", NULL}, {"ref", NULL}};
    for (int i = 0; i < 5; i++) {
        jv a = field(st, keys[i][0], keys[i][1]), b = field(back, keys[i][0], keys[i][1]);
        if (i == 4 && jv_get_kind(a) == JV_KIND_INVALID) a = jv_null();   /* no ref: null */
        if (!jv_equal(a, b)) abort();
    }
    jv_free(st);
    jv_free(back);
}

static void resume_optimizer(const uint8_t *data, size_t n) {
    char p[400], a[400], b[400];
    snprintf(p, sizeof p, "%s/optimizer.safetensors", step_dir);
    snprintf(a, sizeof a, "%s/a.safetensors", step_dir);
    snprintf(b, sizeof b, "%s/b.safetensors", step_dir);
    if (write_file(p, data, n)) abort();
    memset(w, 0, sizeof w);
    mrl_param ps[2] = {
        {.name = "model.embed_tokens.weight", .ndim = 2, .shape = {4, 3}, .numel = 12, .w = w[0], .g = g[0]},
        {.name = "model.norm.weight", .ndim = 1, .shape = {3, 0}, .numel = 3, .w = w[1], .g = g[1]},
    };
    optim_opts o = {OPTIM_ADAMW, 0.9, 0.99, 1e-8, 0.1};
    int kind = optim_saved_kind(p);   /* as mgrpo: the file names the optimizer */
    if (kind >= 0) o.kind = (optim_kind)kind;
    mrl_err e = {0};
    optim *opt = optim_create(be, ps, 2, &o, &e);
    if (!opt) abort();
    if (optim_load(opt, p, &e)) {
        if (!one_line(&e)) abort();
        optim_free(opt);
        return;
    }
    long step = optim_steps(opt);
    if (step < 0) abort();
    optim *o2 = optim_create(be, ps, 2, &o, &e);
    if (optim_save(opt, a, 1, &e) || optim_load(o2, a, &e) || optim_steps(o2) != step || optim_save(o2, b, 1, &e)) abort();
    char *x, *y;
    size_t nx, ny;
    if (file_read(a, 0, &x, &nx) || file_read(b, 0, &y, &ny)) abort();
    if (nx != ny || memcmp(x, y, nx)) abort();
    free(x), free(y);
    optim_free(opt), optim_free(o2);
}

static void cleanup(void) { ckpt_rmtree(run_dir); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!be) {
        const char *tmp = getenv("TMPDIR");
        snprintf(run_dir, sizeof run_dir, "%s/fuzz_resume.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(run_dir)) abort();
        atexit(cleanup);
        snprintf(step_dir, sizeof step_dir, "%s/step-%06d", run_dir, STEP);
        if (mkdir(step_dir, 0777)) abort();
        mrl_err e = {0};
        if (!(be = be_open("cpu", 1, &e))) abort();
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t n1 = nul ? (size_t)(nul - data) : size;
    resume_state(data, n1);
    if (nul) resume_optimizer(nul + 1, size - n1 - 1);
    return 0;
}
