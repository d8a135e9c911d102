/* test_checkpoint.c — run directories: a checkpoint round-trips exactly, pruning keeps the
 * newest, metrics truncate, and a save killed at every point of its sequence (MRL_CRASH_AT,
 * in a forked child) always leaves `latest` on a whole checkpoint that loads. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../test.h"
#include "checkpoint.h"
#include "jqf.h"
#include "safetensors.h"

#define TINY "testdata/grpo/model"

static int exists(const char *dir, const char *name) {
    char p[PATH_MAX + 64];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static float first_weight(const char *ckpt) {
    mrl_err e = {0};
    mrl_model *m = model_load(ckpt, &(model_opts){.device = "cpu", .trainable = 1, .threads = 1}, &e);
    if (!m) { printf("  load %s: %s\n", ckpt, e.msg); return NAN; }
    mrl_param *p;
    model_params(m, &p);
    float w = p[0].w[0];
    model_free(m);
    return w;
}

/* ckpt's model.safetensors.index.json names model.safetensors for each of its tensors and
 * nothing else (vLLM reads an index's files only; without one it loads every *.safetensors
 * of the directory, optimizer.safetensors too): 1 if so. */
static int index_whole(const char *ckpt) {
    char p[PATH_MAX + 64];
    mrl_err e = {0};
    snprintf(p, sizeof p, "%s/model.safetensors", ckpt);
    st_file *f = st_open(p, &e);
    if (!f) { printf("  %s: %s\n", p, e.msg); return 0; }
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", ckpt);
    jv all = jv_load_file(p, 0);
    jv ix = jv_is_valid(all) && jv_array_length(jv_copy(all)) == 1 ? jv_array_get(jv_copy(all), 0) : jv_invalid();
    jv map = jv_get_kind(ix) == JV_KIND_OBJECT ? jv_object_get(jv_copy(ix), jv_string("weight_map")) : jv_invalid();
    int ok = jv_get_kind(map) == JV_KIND_OBJECT && jv_object_length(jv_copy(map)) == st_count(f);
    for (int i = 0; ok && i < st_count(f); i++) {
        jv v = jv_object_get(jv_copy(map), jv_string(st_at(f, i)->name));
        ok = jv_get_kind(v) == JV_KIND_STRING && !strcmp(jv_string_value(v), "model.safetensors");
        jv_free(v);
    }
    if (!ok) printf("  %s: missing, or not model.safetensors' %d tensors\n", p, st_count(f));
    jv_free(map); jv_free(ix); jv_free(all);
    st_close(f);
    return ok;
}

/* A model whose first weight is set to v, an optimizer that took `steps` steps. */
static int save_step(ckpt_run *r, long step, float v, mrl_err *e) {
    mrl_model *m = model_load(TINY, &(model_opts){.device = "cpu", .trainable = 1, .threads = 1}, e);
    if (!m) return -1;
    mrl_param *p;
    int np = model_params(m, &p);
    p[0].w[0] = v;
    mrl_backend *be = be_open("cpu", 1, e);
    optim_opts oo = {OPTIM_ADAMW, 0.9, 0.999, 1e-8, 0};
    optim *o = optim_create(be, p, np, &oo, e);
    jv st = JV_OBJECT(jv_string("step"), jv_number(step));
    ckpt_data d = {m, "fp32", o, TINY, st};
    int rc = ckpt_save(r, step, &d, e);
    jv_free(st);
    optim_free(o); be_close(be); model_free(m);
    return rc;
}

/* A policy snapshot of step 1 whose first weight is v. */
static int save_policy_v(ckpt_run *r, float v, mrl_err *e) {
    mrl_model *m = model_load(TINY, &(model_opts){.device = "cpu", .trainable = 1, .threads = 1}, e);
    if (!m) return -1;
    mrl_param *p;
    model_params(m, &p);
    p[0].w[0] = v;
    jv st = JV_OBJECT(jv_string("step"), jv_number(1));
    ckpt_data d = {m, "fp32", NULL, TINY, st};
    int rc = ckpt_save_policy(r, 1, &d, e);
    jv_free(st);
    model_free(m);
    return rc;
}

/* A child process that reopens run (keep steps) as a resuming mgrpo does and saves, stopping at
 * crash point n: step with first weight v, or (policy) a policy snapshot of step 1. Its exit
 * status: 99 crashed there, 0 the save ended (fewer points than n), else a failure. */
static int save_crashing(const char *run, int keep, int n, int policy, long step, float v) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        ckpt_run rc;
        mrl_err ce = {0};
        if (ckpt_open(&rc, run, keep, 1, &ce)) _exit(3);
        rc.crash_at = n;
        _exit((policy ? save_policy_v(&rc, v, &ce) : save_step(&rc, step, v, &ce)) ? 4 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(save_and_reload) {
    struct stat sb;
    if (stat(TINY "/model.safetensors", &sb)) SKIP("%s missing", TINY);
    char dir[TEST_TMPDIR_MAX], run[PATH_MAX];
    test_tmpdir(dir, sizeof dir, "test_ckpt");
    snprintf(run, sizeof run, "%s/runs/x", dir);
    ckpt_run r;
    mrl_err e = {0};
    EXPECT(ckpt_open(&r, run, 2, 1, &e) == 0);
    long step = -1;
    char lp[PATH_MAX + 32];
    EXPECT(ckpt_latest(&r, &step, lp, sizeof lp, &e) == 0);
    for (int s = 1; s <= 3; s++) EXPECTF(save_step(&r, s, 0.5f * s, &e) == 0, "%s", e.msg);
    EXPECT(ckpt_latest(&r, &step, lp, sizeof lp, &e) == 1);
    EXPECT(step == 3);
    EXPECT(first_weight(lp) == 1.5f);
    EXPECT(exists(lp, "optimizer.safetensors") && exists(lp, "trainer_state.json") && exists(lp, "config.json"));
    EXPECT(index_whole(lp));
    /* generation_config.json is the policy's own (sampling defaults such as the R1 distill's
     * temperature 0.6 / top_p 0.95 must survive), not one rebuilt from bos/eos alone */
    char gp[PATH_MAX + 64];
    snprintf(gp, sizeof gp, "%s/generation_config.json", lp);
    jv gen = jv_load_file(gp, 0);
    jv g0 = jv_is_valid(gen) && jv_array_length(jv_copy(gen)) == 1 ? jv_array_get(jv_copy(gen), 0) : jv_invalid();
    EXPECT(jv_get_kind(g0) == JV_KIND_OBJECT && jv_object_has(jv_copy(g0), jv_string("transformers_version")));
    jv_free(g0); jv_free(gen);
    jv st = ckpt_load_state(lp, &e);
    double v = -1;
    EXPECT(rec_num(st, "step", &v) == 0 && v == 3);
    jv_free(st);
    /* --keep 2: step 1 pruned */
    EXPECT(!exists(run, "step-000001") && exists(run, "step-000002") && exists(run, "step-000003"));
    /* saving a step again (an orphan of a crash) replaces it */
    EXPECT(save_step(&r, 3, 7.0f, &e) == 0);
    EXPECT(first_weight(lp) == 7.0f);
    /* metrics: lines after the resumed step go, a torn last line too; a note stays */
    EXPECT(ckpt_metrics_append(&r, "{\"step\":1,\"loss\":0.5}", &e) == 0);
    EXPECT(ckpt_metrics_append(&r, "# lr halved here", &e) == 0);
    EXPECT(ckpt_metrics_append(&r, "{\"step\":2,\"loss\":0.25}", &e) == 0);
    EXPECT(ckpt_metrics_append(&r, "{\"step\":3,\"loss\":0.125}", &e) == 0);
    char mp[PATH_MAX + 32], buf[256] = {0};
    snprintf(mp, sizeof mp, "%s/metrics.jsonl", run);
    FILE *f = fopen(mp, "a");
    if (f) { fputs("{\"step\":4,\"lo", f); fclose(f); }   /* torn */
    EXPECT(ckpt_metrics_truncate(&r, 2, &e) == 0);
    f = fopen(mp, "r");
    size_t k = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[k] = 0;
    EXPECT(!strcmp(buf, "{\"step\":1,\"loss\":0.5}\n# lr halved here\n{\"step\":2,\"loss\":0.25}\n"));
    /* no metrics.jsonl yet: nothing to drop; one that cannot be read (here a directory, EISDIR
       on the first read) is an error naming it, not an empty file whose later steps stay */
    EXPECT(unlink(mp) == 0 && ckpt_metrics_truncate(&r, 2, &e) == 0);
    EXPECT(mkdir(mp, 0755) == 0);
    e = (mrl_err){0};
    EXPECT(ckpt_metrics_truncate(&r, 2, &e) != 0 && strstr(e.msg, "metrics.jsonl") && strstr(e.msg, strerror(EISDIR)));
    if (!strstr(e.msg, "metrics.jsonl")) printf("  message: %s\n", e.msg);
    rmdir(mp);
    ckpt_close(&r);
    ckpt_rmtree(dir);
}

TEST(crash_at_every_point_leaves_a_whole_latest) {
    struct stat sb;
    if (stat(TINY "/model.safetensors", &sb)) SKIP("%s missing", TINY);
    int points_seen = 0, crashed_new = 0, crashed_old = 0;
    for (int n = 1; n <= 30; n++) {
        char dir[TEST_TMPDIR_MAX], run[PATH_MAX];
        test_tmpdir(dir, sizeof dir, "test_ckpt");
        snprintf(run, sizeof run, "%s/run", dir);
        ckpt_run r;
        mrl_err e = {0};
        EXPECT(ckpt_open(&r, run, 1, 1, &e) == 0);
        EXPECT(save_step(&r, 1, 1.0f, &e) == 0);
        /* the orphan case too: a step-000002 left by an earlier crash, latest still on 1 */
        if (n % 2 == 0) { char p[PATH_MAX + 32]; snprintf(p, sizeof p, "%s/step-000002", run); mkdir(p, 0777); }
        ckpt_close(&r);   /* the child writes: the run's lock is its */
        int code = save_crashing(run, 1, n, 0, 2, 2.0f);
        EXPECTF(code == 99 || code == 0, "crash point %d: child status %d", n, code);
        /* reopen as a resuming mgrpo does: temp dirs go, latest is whole */
        EXPECT(ckpt_open(&r, run, 1, 1, &e) == 0);
        long step = -1;
        char lp[PATH_MAX + 32];
        EXPECTF(ckpt_latest(&r, &step, lp, sizeof lp, &e) == 1, "crash point %d: %s", n, e.msg);
        EXPECT(step == 1 || step == 2);
        EXPECTF(first_weight(lp) == (step == 1 ? 1.0f : 2.0f), "crash point %d, latest step %ld", n, step);
        char op[PATH_MAX + 64];
        snprintf(op, sizeof op, "%s/optimizer.safetensors", lp);
        st_file *f = st_open(op, &e);
        EXPECTF(f != NULL, "crash point %d: %s", n, e.msg);
        if (f) st_close(f);
        /* the index too: it is written in the temporary directory, before the rename */
        EXPECTF(index_whole(lp), "crash point %d, latest step %ld", n, step);
        if (code == 99) { points_seen = n; if (step == 2) crashed_new++; else crashed_old++; }
        /* nothing hidden is left behind after the reopen */
        DIR *d = opendir(run);
        struct dirent *de;
        while (d && (de = readdir(d))) EXPECTF(strncmp(de->d_name, ".tmp-", 5) && strncmp(de->d_name, ".latest.", 8), "crash point %d left %s", n, de->d_name);
        if (d) closedir(d);
        ckpt_close(&r);
        ckpt_rmtree(dir);
    }
    /* the sequence has at least a dozen points, crashes before and after latest moved */
    EXPECTF(points_seen >= 12, "only %d crash points", points_seen);
    EXPECT(crashed_new > 0 && crashed_old > 0);
}

/* A step saved again while latest names it (ckpt_save of latest's own step: the orphan path):
 * the old directory was retired before the new one took its name, and a crash between the two
 * left latest naming a missing directory, the run without a checkpoint. At every crash point
 * latest now loads, the old step or the new one. */
TEST(resaving_the_latest_step_never_loses_it) {
    struct stat sb;
    if (stat(TINY "/model.safetensors", &sb)) SKIP("%s missing", TINY);
    for (int n = 1; n <= 14; n++) {
        char dir[TEST_TMPDIR_MAX], run[PATH_MAX];
        test_tmpdir(dir, sizeof dir, "test_ckpt");
        snprintf(run, sizeof run, "%s/run", dir);
        ckpt_run r;
        mrl_err e = {0};
        EXPECT(ckpt_open(&r, run, 0, 1, &e) == 0);
        EXPECT(save_step(&r, 1, 1.0f, &e) == 0);
        ckpt_close(&r);
        int code = save_crashing(run, 0, n, 0, 1, 2.0f);
        EXPECTF(code == 99 || code == 0, "crash point %d: child status %d", n, code);
        EXPECT(ckpt_open(&r, run, 0, 1, &e) == 0);
        long step = -1;
        char lp[PATH_MAX + 32];
        EXPECTF(ckpt_latest(&r, &step, lp, sizeof lp, &e) == 1 && step == 1, "crash point %d: %s", n, e.msg);
        float w = first_weight(lp);
        EXPECTF(w == 1.0f || w == 2.0f, "crash point %d: first weight %g", n, w);
        if (code == 0) EXPECTF(w == 2.0f, "crash point %d: the save ended, but the old step stands", n);
        ckpt_close(&r);
        ckpt_rmtree(dir);
    }
}

/* A policy snapshot of a step "policy" names already (taken again) replaces it in one
 * rename: the link names the new weights, and no temporary directory is left. */
TEST(policy_snapshot_of_the_same_step_replaces_it) {
    struct stat sb;
    if (stat(TINY "/model.safetensors", &sb)) SKIP("%s missing", TINY);
    char dir[TEST_TMPDIR_MAX], run[PATH_MAX], lp[PATH_MAX + 32];
    test_tmpdir(dir, sizeof dir, "test_ckpt");
    snprintf(run, sizeof run, "%s/run", dir);
    ckpt_run r;
    mrl_err e = {0};
    EXPECT(ckpt_open(&r, run, 0, 1, &e) == 0);
    for (float v = 1; v <= 2; v++) {
        EXPECTF(save_policy_v(&r, v, &e) == 0, "%s", e.msg);
        snprintf(lp, sizeof lp, "%s/policy", run);
        float w = first_weight(lp);
        EXPECTF(w == v, "snapshot %g: policy's first weight %g", v, w);
    }
    DIR *dd = opendir(run);
    int left = 0;
    for (struct dirent *de; dd && (de = readdir(dd));) if (!strncmp(de->d_name, ".tmp", 4)) left++, printf("  left: %s\n", de->d_name);
    if (dd) closedir(dd);
    EXPECT(left == 0);
    ckpt_close(&r);
    ckpt_rmtree(dir);
}

/* A crash at any point of a policy snapshot of the step "policy" names leaves policy naming
 * a whole snapshot, the old or the new one (retired first, then renamed, a crash between left
 * policy naming a missing directory). */
TEST(policy_snapshot_crash_never_loses_policy) {
    struct stat sb;
    if (stat(TINY "/model.safetensors", &sb)) SKIP("%s missing", TINY);
    int ended = 0;
    for (int n = 1; n <= 8 && !ended; n++) {
        char dir[TEST_TMPDIR_MAX], run[PATH_MAX], lp[PATH_MAX + 32];
        test_tmpdir(dir, sizeof dir, "test_ckpt");
        snprintf(run, sizeof run, "%s/run", dir);
        snprintf(lp, sizeof lp, "%s/policy", run);
        ckpt_run r;
        mrl_err e = {0};
        EXPECT(ckpt_open(&r, run, 0, 1, &e) == 0);
        EXPECTF(save_policy_v(&r, 1.0f, &e) == 0, "%s", e.msg);
        ckpt_close(&r);
        int code = save_crashing(run, 0, n, 1, 1, 2.0f);
        EXPECTF(code == 99 || code == 0, "crash point %d: child status %d", n, code);
        float w = first_weight(lp);
        EXPECTF(w == 1.0f || w == 2.0f, "crash point %d: policy's first weight %g", n, w);
        if (code == 0) { EXPECTF(w == 2.0f, "crash point %d: the snapshot ended, but the old one stands", n); ended = 1; }
        ckpt_rmtree(dir);
    }
    EXPECT(ended);   /* the points ran out before the save's end: every one was tried */
}

TEST(broken_latest_is_an_error) {
    char dir[TEST_TMPDIR_MAX], p[PATH_MAX];
    test_tmpdir(dir, sizeof dir, "test_ckpt");
    ckpt_run r;
    mrl_err e = {0};
    EXPECT(ckpt_open(&r, dir, 0, 1, &e) == 0);
    snprintf(p, sizeof p, "%s/latest", dir);
    EXPECT(symlink("step-000009", p) == 0);
    long step;
    char lp[PATH_MAX + 32];
    EXPECT(ckpt_latest(&r, &step, lp, sizeof lp, &e) == -1);
    EXPECT(strstr(e.msg, "missing") != NULL);
    ckpt_close(&r);
    ckpt_rmtree(dir);
}

/* Empty files dir/names[i] (their directories made already). */
static void touch_all(const char *dir, const char *const *names, int n) {
    char p[PATH_MAX];
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        FILE *f = fopen(p, "w");
        if (f) fclose(f);
    }
}

/* A run killed while it wrote a rollouts copy left rollouts/step-XXXXXX.jsonl.zst.tmp.PID:
 * the next start removes it, as it removes a checkpoint's temp directory (mrl(7): mgrpo removes
 * its leftovers at its next start); it stayed for ever. Other files stay. */
TEST(open_removes_rollouts_leftovers) {
    char dir[TEST_TMPDIR_MAX], p[PATH_MAX];
    test_tmpdir(dir, sizeof dir, "test_ckpt");
    static const char *const files[] = {"rollouts/step-000009.jsonl.zst.tmp.17628", "rollouts/step-000009.jsonl.zst",
                                        "rollouts/notes.txt", ".tmp-step-000010.17628/x"};
    snprintf(p, sizeof p, "%s/rollouts", dir); mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/.tmp-step-000010.17628", dir); mkdir(p, 0777);
    touch_all(dir, files, 4);
    ckpt_run r;
    mrl_err e = {0};
    EXPECT(ckpt_open(&r, dir, 0, 1, &e) == 0);
    EXPECT(!exists(dir, files[0]));
    EXPECT(exists(dir, files[1]) && exists(dir, files[2]));
    EXPECT(!exists(dir, ".tmp-step-000010.17628"));
    ckpt_close(&r);
    ckpt_rmtree(dir);
}

/* A run killed while ckpt_metrics_truncate rewrote metrics.jsonl (each resume after a crash that
 * left lines past latest does) left metrics.jsonl.tmp.PID in RUNDIR: the next start removes it
 * (found killing mgrpo at random times in a resume loop: they piled up). metrics.jsonl and a
 * file of the user's stay. */
TEST(open_removes_metrics_leftovers) {
    char dir[TEST_TMPDIR_MAX];
    test_tmpdir(dir, sizeof dir, "test_ckpt");
    static const char *const files[] = {"metrics.jsonl.tmp.31584", "metrics.jsonl", "metrics.jsonl.bak"};
    touch_all(dir, files, 3);
    ckpt_run r;
    mrl_err e = {0};
    EXPECT(ckpt_open(&r, dir, 0, 1, &e) == 0);
    EXPECT(!exists(dir, files[0]));
    EXPECT(exists(dir, files[1]) && exists(dir, files[2]));
    ckpt_close(&r);
    ckpt_rmtree(dir);
}

/* Two writers of one run directory overwrote each other's steps and wrote every step twice into
 * metrics.jsonl (found running two mgrpo on one --out: both exited 0); the second opener also
 * removed the first one's temp files. The writer now holds RUNDIR/.lock: a second writer is
 * refused, naming the holder; a reader (a data-parallel rank other than 0) is not; the lock
 * goes with ckpt_close or the process, and a killed holder's leftover temp files are then
 * removed as before. */
TEST(a_second_writer_of_a_run_is_refused) {
    char dir[TEST_TMPDIR_MAX];
    test_tmpdir(dir, sizeof dir, "test_ckpt");
    static const char *const files[] = {"metrics.jsonl.tmp.31584"};
    ckpt_run a, b, c;
    mrl_err e = {0};
    EXPECT(ckpt_open(&a, dir, 0, 1, &e) == 0);
    touch_all(dir, files, 1);   /* as if a's rewrite of metrics.jsonl were under way */
    EXPECT(ckpt_open(&b, dir, 0, 1, &e) == -1 && e.code == 1);
    char want[64];
    snprintf(want, sizeof want, "in use by another mgrpo (pid %ld on ", (long)getpid());
    EXPECTF(strstr(e.msg, want) && strstr(e.msg, dir) == e.msg, "got: %s", e.msg);
    EXPECT(exists(dir, files[0]));   /* a's file is left alone */
    e = (mrl_err){0};
    EXPECT(ckpt_open(&c, dir, 0, 0, &e) == 0);   /* a reader */
    EXPECT(exists(dir, files[0]));
    ckpt_close(&c);
    ckpt_close(&a);
    EXPECT(ckpt_open(&b, dir, 0, 1, &e) == 0);   /* a is gone: its leftovers go */
    EXPECT(!exists(dir, files[0]));
    ckpt_close(&b);
    /* a holder killed: the kernel lets the lock go */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        ckpt_run k;
        mrl_err ke = {0};
        if (ckpt_open(&k, dir, 0, 1, &ke)) _exit(3);
        raise(SIGKILL);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    EXPECT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    EXPECTF(ckpt_open(&b, dir, 0, 1, &e) == 0, "%s", e.msg);
    ckpt_close(&b);
    ckpt_rmtree(dir);
}

/* metrics.jsonl whose last line lost only its newline (truncate -s -1, an editor): the line is
 * whole and stays, its newline given back (it was dropped as torn, and the resumed run's lines
 * followed the step before it); a tail that does not parse, or a later step's line, goes. */
TEST(metrics_last_line_without_newline) {
    char dir[TEST_TMPDIR_MAX], mp[PATH_MAX], buf[256];
    test_tmpdir(dir, sizeof dir, "test_ckpt");
    snprintf(mp, sizeof mp, "%s/metrics.jsonl", dir);
    static const struct { const char *in; long step; const char *want; } cases[] = {
        {"{\"step\":1}\n{\"step\":2}", 2, "{\"step\":1}\n{\"step\":2}\n"},
        {"{\"step\":1}\n{\"step\":2}", 1, "{\"step\":1}\n"},
        {"{\"step\":1}\n{\"step\":2,\"lo", 2, "{\"step\":1}\n"},
        {"{\"step\":1}\n# a note", 2, "{\"step\":1}\n"},   /* not a whole line: its end may be lost */
        {"{\"step\":1}\n", 2, "{\"step\":1}\n"},
    };
    ckpt_run r;
    mrl_err e = {0};
    EXPECT(ckpt_open(&r, dir, 0, 1, &e) == 0);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        FILE *f = fopen(mp, "w");
        if (f) { fputs(cases[i].in, f); fclose(f); }
        e = (mrl_err){0};
        EXPECTF(ckpt_metrics_truncate(&r, cases[i].step, &e) == 0, "%s", e.msg);
        f = fopen(mp, "r");
        size_t k = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        buf[k] = 0;
        EXPECTF(!strcmp(buf, cases[i].want), "case %zu: got \"%s\"", i, buf);
    }
    ckpt_close(&r);
    ckpt_rmtree(dir);
}

/* trainer_state.json's fields a resume takes as they are: a bad one is an error naming the file
 * and the field (a negative or non-numeric data position, a step that is not a count, were taken). */
TEST(state_is_checked) {
    static const struct { const char *json, *want; } cases[] = {
        {"{\"step\":3,\"data\":{\"groups\":2,\"records\":8},\"model\":\"/m\",\"ref\":null}", NULL},
        {"{\"step\":3,\"data\":{\"groups\":-5,\"records\":8}}", "\"data.groups\" is -5, not a count"},
        {"{\"step\":3,\"data\":{\"groups\":\"a\",\"records\":8}}", "\"data.groups\" is \"a\", not a count"},
        {"{\"step\":3,\"data\":{\"groups\":2}}", "\"data.records\" is missing"},
        {"{\"step\":3,\"data\":{\"groups\":2,\"records\":1}}", "\"data.records\" (1) is fewer than \"data.groups\" (2)"},
        {"{\"step\":3}", "\"data\" is missing or not an object"},
        {"{\"step\":\"x\",\"data\":{\"groups\":2,\"records\":8}}", "\"step\" is \"x\", not a count"},
        {"{\"step\":4,\"data\":{\"groups\":2,\"records\":8}}", "\"step\" is 4, but the checkpoint is step 3"},
        {"{\"step\":3,\"data\":{\"groups\":2,\"records\":8},\"ref\":[1]}", "\"ref\" is not a directory name"},
        /* taken as C strings: one holding a NUL (\u0000) named another directory (mgrpo loaded the
           reference from the part before it and recorded that), "" none (found by fuzz_resume) */
        {"{\"step\":3,\"data\":{\"groups\":2,\"records\":8},\"model\":\"/m\\u0000/x\"}", "\"model\" is not a directory name"},
        {"{\"step\":3,\"data\":{\"groups\":2,\"records\":8},\"ref\":\"/r\\u0000/elsewhere\"}", "\"ref\" is not a directory name"},
        {"{\"step\":3,\"data\":{\"groups\":2,\"records\":8},\"ref\":\"\"}", "\"ref\" is not a directory name"},
        {"{\"step\":3,\"data\":{\"groups\":2,\"records\":8},\"model\":\"/m\\u00e9\",\"ref\":\"r\"}", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mrl_err e = {0};
        jv st = jv_parse(cases[i].json);
        int rc = ckpt_check_state(st, "/r/step-000003", 3, &e);
        jv_free(st);
        if (!cases[i].want) EXPECTF(rc == 0, "case %zu: %s", i, e.msg);
        else EXPECTF(rc == -1 && e.code == 1 && strstr(e.msg, "/r/step-000003/trainer_state.json: ") == e.msg &&
                     strstr(e.msg, cases[i].want), "case %zu: %s", i, rc ? e.msg : "accepted");
    }
}

int main(void) {
    RUN(save_and_reload);
    RUN(crash_at_every_point_leaves_a_whole_latest);
    RUN(resaving_the_latest_step_never_loses_it);
    RUN(policy_snapshot_of_the_same_step_replaces_it);
    RUN(policy_snapshot_crash_never_loses_policy);
    RUN(broken_latest_is_an_error);
    RUN(open_removes_rollouts_leftovers);
    RUN(open_removes_metrics_leftovers);
    RUN(a_second_writer_of_a_run_is_refused);
    RUN(metrics_last_line_without_newline);
    RUN(state_is_checked);
    return tst_done();
}
