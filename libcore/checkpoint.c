/* checkpoint.c — crash-safe run directories: each checkpoint is built in a hidden temp dir,
 * fsynced, renamed into place, and only then does `latest` (a symlink) move, by rename. */
#include "checkpoint.h"
#include "fileio.h"
#include "stream.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "jqf.h"
#include "safetensors.h"

#define TMP_PREFIX ".tmp-"

/* A numbered point of the save sequence: the crash tests stop the process here. */
static void crash_point(ckpt_run *r) {
    r->crash_count++;
    if (r->crash_at > 0 && r->crash_count == r->crash_at) _exit(99);
}

static int fsync_path(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}
int ckpt_rmtree(const char *path) {
    struct stat st;
    if (lstat(path, &st)) return errno == ENOENT ? 0 : -1;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* RUNDIR/.lock, held (flock) while the process lives: the kernel lets go when it ends, however
 * it ends. It holds the holder's pid and host, for the message of the one turned away. */
static int run_lock(ckpt_run *r, mrl_err *e) {
    char p[PATH_MAX + 16], who[320] = "";
    snprintf(p, sizeof p, "%s/.lock", r->dir);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return err_set(e, 3, "%s: %s", p, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        int n = snprintf(who, sizeof who, "%ld %s\n", (long)getpid(), host);
        if (ftruncate(fd, 0) == 0 && pwrite(fd, who, (size_t)n, 0) == n) {}   /* for messages only */
        r->lock_fd = fd;
        return 0;
    }
    int err = errno;
    if (err != EWOULDBLOCK) { close(fd); return 0; }   /* a file system without locks: none taken */
    char b[300] = "", host[256] = "";
    long pid = 0;
    ssize_t k = pread(fd, b, sizeof b - 1, 0);
    close(fd);
    if (k > 0 && sscanf(b, "%ld %255s", &pid, host) >= 1 && pid > 0)
        snprintf(who, sizeof who, " (pid %ld%s%s)", pid, host[0] ? " on " : "", host);
    return err_set(e, 1, "%s: in use by another mgrpo%s: two runs writing one directory would overwrite each "
                   "other's steps and metrics (wait for it to end, or give this one another --out)", r->dir, who);
}

int ckpt_same_dir(const ckpt_run *r, mrl_err *e) {
    struct stat st;
    if (!r->ino) return 0;
    if (stat(r->dir, &st) == 0 && (unsigned long long)st.st_dev == r->dev && (unsigned long long)st.st_ino == r->ino)
        return 0;
    return err_set(e, 3, "%s: the run directory was %s while mgrpo ran (its steps would go on in a new "
                   "one, without the earlier steps)", r->dir, stat(r->dir, &st) ? "removed" : "replaced");
}

void ckpt_close(ckpt_run *r) {
    if (r->lock_fd >= 0) close(r->lock_fd);
    r->lock_fd = -1;
}

int ckpt_open(ckpt_run *r, const char *dir, int keep, int writer, mrl_err *e) {
    memset(r, 0, sizeof *r);
    r->lock_fd = -1;
    if (snprintf(r->dir, sizeof r->dir, "%s", dir) >= (int)sizeof r->dir)
        return err_set(e, 2, "%s: path too long", dir);
    r->keep = keep;
    const char *c = getenv("MRL_CRASH_AT");
    r->crash_at = c ? atol(c) : 0;
    if (path_mkdirs(dir)) return err_set(e, 3, "%s: cannot create the run directory: %s", dir, strerror(errno));
    if (!writer) return 0;
    if (run_lock(r, e)) return -1;
    struct stat dst;
    if (stat(dir, &dst)) return err_set(e, 3, "%s: %s", dir, strerror(errno));
    r->dev = (unsigned long long)dst.st_dev;
    r->ino = (unsigned long long)dst.st_ino;
    DIR *d = opendir(dir);
    if (!d) return err_set(e, 3, "%s: %s", dir, strerror(errno));
    struct dirent *de;
    char p[PATH_MAX + 256];
    while ((de = readdir(d)))
        /* .latest.PID: the temp link of checkpoints written before latest moved by move_link;
           metrics.jsonl.tmp.PID: the temp file of a ckpt_metrics_truncate a killed run was writing */
        if (!strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) || !strncmp(de->d_name, ".latest.", 8) ||
            !strncmp(de->d_name, "metrics.jsonl.tmp.", 18)) {
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            ckpt_rmtree(p);
        }
    closedir(d);
    /* the temp file of a rollouts copy that a killed run was writing (wr_open's NAME.tmp.PID):
       written only after every rank has passed here, so none of them is a live one's */
    snprintf(p, sizeof p, "%s/rollouts", dir);
    if ((d = opendir(p))) {
        while ((de = readdir(d)))
            if (!strncmp(de->d_name, "step-", 5) && strstr(de->d_name, ".jsonl.zst.tmp.")) {
                snprintf(p, sizeof p, "%s/rollouts/%s", dir, de->d_name);
                unlink(p);
            }
        closedir(d);
    }
    return 0;
}

static int parse_step_name(const char *name, long *step) {
    char *end;
    if (strncmp(name, "step-", 5) || !name[5]) return -1;
    long s = strtol(name + 5, &end, 10);
    if (*end || s < 0) return -1;
    *step = s;
    return 0;
}

int ckpt_has_latest(const char *dir) {
    char lp[PATH_MAX + 16];
    struct stat st;
    snprintf(lp, sizeof lp, "%s/latest", dir);
    return lstat(lp, &st) == 0;
}

int ckpt_latest(const ckpt_run *r, long *step, char *path, size_t n, mrl_err *e) {
    char lp[PATH_MAX + 16], target[PATH_MAX];
    snprintf(lp, sizeof lp, "%s/latest", r->dir);
    ssize_t len = readlink(lp, target, sizeof target - 1);
    if (len < 0) {
        if (errno == ENOENT) return 0;
        return err_set(e, 1, "%s: not a symbolic link to a step directory", lp);
    }
    target[len] = 0;
    const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
    if (parse_step_name(base, step))
        return err_set(e, 1, "%s -> %s: not a step directory", lp, target);
    snprintf(path, n, "%s/%s", r->dir, base);
    struct stat st;
    if (stat(path, &st) || !S_ISDIR(st.st_mode))
        return err_set(e, 1, "%s -> %s: the checkpoint is missing", lp, target);
    return 1;
}

static int copy_file(const char *src, const char *dst, mrl_err *e) {
    char *buf;
    size_t len;
    int rc = file_read(src, 0, &buf, &len);
    if (rc == ENOENT) return 0;
    if (rc) return err_set(e, 3, "%s: %s", src, strerror(rc));
    rc = st_write_file_atomic(dst, buf, len, e);
    free(buf);
    return rc;
}

/* Files taken over from the policy's directory. generation_config.json replaces the one
 * model_save writes (bos/eos only): the model's sampling defaults (the R1 distill's
 * do_sample, temperature 0.6, top_p 0.95) are what transformers and vLLM generate with. */
static const char *const src_files[] = {"tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "vocab.json", "merges.txt", "added_tokens.json",
    "chat_template.jinja", "generation_config.json", NULL};

/* Removes dir/name, renamed to a temp name first so that a crash mid-removal leaves only a
 * name ckpt_open clears. -1 (errno set) when the rename fails. */
static int retire(const char *dir, const char *name, const char *why) {
    char p[PATH_MAX + 300], t[PATH_MAX + 340];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    snprintf(t, sizeof t, "%s/" TMP_PREFIX "%s-%s.%ld", dir, why, name, (long)getpid());
    if (rename(p, t)) return -1;
    ckpt_rmtree(t);
    return 0;
}

/* Keeps the r->keep newest step directories, and always the ones latest and best name. */
static int prune(ckpt_run *r, long latest) {
    if (r->keep <= 0) return 0;
    DIR *d = opendir(r->dir);
    if (!d) return -1;
    long steps[4096]; int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 4096) {
        long s;
        if (!parse_step_name(de->d_name, &s)) steps[n++] = s;
    }
    closedir(d);
    long best = -1;
    char bp[PATH_MAX + 16], target[PATH_MAX];
    snprintf(bp, sizeof bp, "%s/best", r->dir);
    ssize_t len = readlink(bp, target, sizeof target - 1);
    if (len > 0) { target[len] = 0; const char *b = strrchr(target, '/'); parse_step_name(b ? b + 1 : target, &best); }
    for (int i = 0; i < n; i++) {
        int newer = 0;
        for (int j = 0; j < n; j++) newer += steps[j] > steps[i];
        if (newer < r->keep || steps[i] == latest || steps[i] == best) continue;
        char nm[32];
        snprintf(nm, sizeof nm, "step-%06ld", steps[i]);
        retire(r->dir, nm, "old");
        crash_point(r);
    }
    return 0;
}

/* The one JSON object among texts (jv_load_file's array of a file's JSON texts, consumed); invalid
 * where the file could not be read or parsed, or held none (empty), several, or one that is not
 * an object. */
static jv one_object(jv texts) {
    jv o = jv_get_kind(texts) == JV_KIND_ARRAY && jv_array_length(jv_copy(texts)) == 1 ? jv_array_get(jv_copy(texts), 0) : jv_invalid();
    jv_free(texts);
    if (jv_get_kind(o) == JV_KIND_OBJECT) return o;
    jv_free(o);
    return jv_invalid();
}

/* The checkpoint's config.json is the source model's (files_from) with the dtype the weights
 * were saved in (dtype, as model_save takes it): keys mrl does not read (_name_or_path,
 * transformers_version, an eos list) stay as the user's model had them. Without a readable
 * source config, model_save's stands. */
static int keep_source_config(const char *from, const char *dir, const char *dtype, mrl_err *e) {
    char src[PATH_MAX + 32], dst[PATH_MAX + 32];
    if (snprintf(src, sizeof src, "%s/config.json", from) >= (int)sizeof src ||
        snprintf(dst, sizeof dst, "%s/config.json", dir) >= (int)sizeof dst) return 0;   /* paths past PATH_MAX: model_save's */
    int dt = dtype_parse_torch(dtype ? dtype : "bf16");
    if (dt < 0) return 0;
    jv orig = one_object(jv_load_file(src, 0));
    if (!jv_is_valid(orig)) return 0;
    jv name = jv_string(dtype_torch_name((st_dtype)dt));
    if (jv_object_has(jv_copy(orig), jv_string("dtype"))) orig = jv_object_set(orig, jv_string("dtype"), jv_copy(name));   /* transformers 5 */
    orig = jv_object_set(orig, jv_string("torch_dtype"), name);
    int rc = json_write_file(dst, jv_copy(orig), JV_PRINT_INDENT_FLAGS(2), e);
    jv_free(orig);
    return rc;
}

int ckpt_check_sources(const char *from, mrl_err *e) {
    char src[PATH_MAX + 64];
    for (int i = 0; from && src_files[i]; i++) {
        snprintf(src, sizeof src, "%s/%s", from, src_files[i]);
        int fd = open(src, O_RDONLY | O_NONBLOCK | O_CLOEXEC);   /* a FIFO: no wait for a writer */
        struct stat st;
        int err = fd < 0 ? errno : fstat(fd, &st) ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
        if (fd >= 0) close(fd);
        if (err && err != ENOENT)
            return err_set(e, 1, "%s: %s (each checkpoint copies it from the model directory)", src, strerror(err));
        size_t n = strlen(src_files[i]);
        if (err || n < 5 || strcmp(src_files[i] + n - 5, ".json") || S_ISFIFO(st.st_mode)) continue;
        /* a JSON file that is not JSON went into every checkpoint after it, and only a later
           reader (msample loading the tokenizer) said so */
        jv v = jv_load_file(src, 0);   /* an array of the file's JSON texts */
        if (!jv_is_valid(v)) {
            char why[256];
            return err_set(e, 1, "%s: not valid JSON: %s (each checkpoint copies it from the model directory)", src,
                           jv_parse_error(v, "unreadable", why, sizeof why));
        }
        /* one object, as every one of these files is: an empty file (cut short at 0) is no text */
        jv o = one_object(v);
        int ok = jv_is_valid(o);
        jv_free(o);
        if (!ok) return err_set(e, 1, "%s: not one JSON object (each checkpoint copies it from the model directory)", src);
    }
    return 0;
}

/* The tokenizer and generation files, and config.json, of the source model into dir. */
static int copy_source_files(const ckpt_data *d, const char *dir, mrl_err *e) {
    char src[PATH_MAX + 64], p[PATH_MAX + 64];
    for (int i = 0; d->files_from && src_files[i]; i++) {
        snprintf(src, sizeof src, "%s/%s", d->files_from, src_files[i]);
        snprintf(p, sizeof p, "%s/%s", dir, src_files[i]);
        if (copy_file(src, p, e)) return -1;
    }
    return d->files_from ? keep_source_config(d->files_from, dir, d->model_dtype, e) : 0;
}

/* model.safetensors.index.json naming model.safetensors for each of its tensors. A step
 * directory holds optimizer.safetensors beside the model; vLLM (and SGLang) load every
 * *.safetensors of a directory without an index and refuse optimizer.safetensors' names
 * (exp_avg.*), while with an index they take only the files it names. transformers and mrl
 * read model.safetensors itself first. */
static int write_model_index(const char *dir, mrl_err *e) {
    char p[PATH_MAX + 128];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    st_file *f = st_open(p, e);
    if (!f) return -1;
    jv map = jv_object();
    double total = 0;
    for (int i = 0; i < st_count(f); i++) {
        const st_tensor *t = st_at(f, i);
        map = jv_object_set(map, jv_string(t->name), jv_string("model.safetensors"));
        total += (double)t->nbytes;
    }
    st_close(f);
    jv idx = jv_object_set(jv_object(), jv_string("metadata"),
                           jv_object_set(jv_object(), jv_string("total_size"), jv_number(total)));
    idx = jv_object_set(idx, jv_string("weight_map"), map);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    return json_write_file(p, idx, JV_PRINT_INDENT_FLAGS(2) | JV_PRINT_SORTED, e);
}

/* Moves the symbolic link r->dir/name to target by rename (never missing, never half made). */
static int move_link(ckpt_run *r, const char *name, const char *target, mrl_err *e) {
    char lt[PATH_MAX + 64], lf[PATH_MAX + 16];
    snprintf(lt, sizeof lt, "%s/" TMP_PREFIX "%s.%ld", r->dir, name, (long)getpid());
    snprintf(lf, sizeof lf, "%s/%s", r->dir, name);
    unlink(lt);
    if (symlink(target, lt)) return err_set(e, 3, "%s: %s", lt, strerror(errno));
    crash_point(r);
    if (rename(lt, lf)) { unlink(lt); return err_set(e, 3, "%s: %s", lf, strerror(errno)); }
    return 0;
}

/* Puts the finished temporary directory tmp in place as fin (name in r->dir). One there already
 * (orphaned by a crash before its link moved, or the link's own: its step saved again) swaps
 * names with tmp in one rename, so that latest or policy never names a missing directory; the
 * old one is then at tmp, for the caller to remove once the directory's fsync has made the swap
 * durable. Where the file system cannot swap, the old one is retired first. 1 swapped, 0
 * renamed, -1 with e set (tmp still the caller's). */
static int install_dir(ckpt_run *r, const char *tmp, const char *fin, const char *name, mrl_err *e) {
    struct stat st;
    if (!lstat(fin, &st)) {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, fin, RENAME_EXCHANGE) == 0) { crash_point(r); return 1; }
        if (retire(r->dir, name, "orphan")) return err_set(e, 3, "%s: %s", fin, strerror(errno));
        crash_point(r);
    }
    if (rename(tmp, fin)) return err_set(e, 3, "rename %s: %s", fin, strerror(errno));
    crash_point(r);
    return 0;
}

/* Removes the policy-* snapshots but keep. */
static void drop_policies(ckpt_run *r, const char *keep) {
    DIR *dd = opendir(r->dir);
    struct dirent *de;
    while (dd && (de = readdir(dd)))
        if (!strncmp(de->d_name, "policy-", 7) && !(keep && !strcmp(de->d_name, keep))) retire(r->dir, de->d_name, "old");
    if (dd) closedir(dd);
}

int ckpt_save_policy(ckpt_run *r, long step, const ckpt_data *d, mrl_err *e) {
    char name[32], tmp[PATH_MAX + 64], fin[PATH_MAX + 32];
    if (ckpt_same_dir(r, e)) return -1;
    snprintf(name, sizeof name, "policy-%06ld", step);
    snprintf(tmp, sizeof tmp, "%s/" TMP_PREFIX "%s.%ld", r->dir, name, (long)getpid());
    snprintf(fin, sizeof fin, "%s/%s", r->dir, name);
    ckpt_rmtree(tmp);
    if (mkdir(tmp, 0777)) {   /* as every other failure of a save: named by the checkpoint */
        err_set(e, 3, "%s: cannot create: %s", tmp, strerror(errno));
        return err_prefix(e, "checkpoint %s", fin);
    }
    /* trainer_state.json with the step alone: what msample reports as the policy's step (it
       reported 0 for every snapshot: RUNDIR/policy had no trainer_state.json) */
    char p[PATH_MAX + 96];
    snprintf(p, sizeof p, "%s/trainer_state.json", tmp);
    if (model_save(d->model, tmp, d->model_dtype, e) || copy_source_files(d, tmp, e) ||
        json_write_file(p, JV_OBJECT(jv_string("step"), jv_number(step)), JV_PRINT_PRETTY | JV_PRINT_SPACE1, e)) {
        ckpt_rmtree(tmp);
        return err_prefix(e, "policy snapshot %s", fin);
    }
    /* fsynced as a checkpoint is: after a power cut "policy" names a whole snapshot */
    if (fsync_path(tmp)) { err_set(e, 3, "%s: fsync: %s", tmp, strerror(errno)); ckpt_rmtree(tmp); return -1; }
    int swapped = install_dir(r, tmp, fin, name, e);   /* one a stopped run left, or policy's own */
    if (swapped < 0) { ckpt_rmtree(tmp); return -1; }
    if (fsync_path(r->dir)) return err_set(e, 3, "%s: fsync: %s", r->dir, strerror(errno));
    if (swapped) ckpt_rmtree(tmp);   /* the old snapshot, once the swap is durable */
    crash_point(r);
    if (move_link(r, "policy", name, e)) return -1;
    crash_point(r);
    if (fsync_path(r->dir)) return err_set(e, 3, "%s: fsync: %s", r->dir, strerror(errno));
    drop_policies(r, name);   /* the snapshots before it go */
    return 0;
}

void ckpt_clear_policy(ckpt_run *r) {
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/policy", r->dir);
    unlink(p);
    drop_policies(r, NULL);
}

int ckpt_save(ckpt_run *r, long step, const ckpt_data *d, mrl_err *e) {
    char tmp[PATH_MAX + 64], fin[PATH_MAX + 32], p[PATH_MAX + 96], name[32];
    if (ckpt_same_dir(r, e)) return -1;
    snprintf(name, sizeof name, "step-%06ld", step);
    snprintf(tmp, sizeof tmp, "%s/" TMP_PREFIX "%s.%ld", r->dir, name, (long)getpid());
    snprintf(fin, sizeof fin, "%s/%s", r->dir, name);
    ckpt_rmtree(tmp);
    if (mkdir(tmp, 0777)) {   /* as every other failure of a save: named by the checkpoint */
        err_set(e, 3, "%s: cannot create: %s", tmp, strerror(errno));
        return err_prefix(e, "checkpoint %s", fin);
    }
    crash_point(r);
    if (model_save(d->model, tmp, d->model_dtype, e)) goto fail;
    crash_point(r);
    if (copy_source_files(d, tmp, e)) goto fail;
    crash_point(r);
    snprintf(p, sizeof p, "%s/optimizer.safetensors", tmp);
    if (d->opt && (optim_save(d->opt, p, strcmp(d->model_dtype, "fp32") != 0, e) || write_model_index(tmp, e))) goto fail;
    crash_point(r);
    snprintf(p, sizeof p, "%s/trainer_state.json", tmp);
    if (json_write_file(p, jv_copy(d->state), JV_PRINT_PRETTY | JV_PRINT_SPACE1, e)) goto fail;
    crash_point(r);
    if (fsync_path(tmp)) { err_set(e, 3, "%s: fsync: %s", tmp, strerror(errno)); goto fail; }
    crash_point(r);
    int swapped = install_dir(r, tmp, fin, name, e);   /* one a crash orphaned, or latest's own */
    if (swapped < 0) goto fail;
    if (fsync_path(r->dir)) return err_set(e, 3, "%s: fsync: %s", r->dir, strerror(errno));
    if (swapped) ckpt_rmtree(tmp);   /* the old step, once the swap is durable (a reopen clears it too) */
    crash_point(r);
    if (move_link(r, "latest", name, e)) return -1;
    crash_point(r);
    if (fsync_path(r->dir)) return err_set(e, 3, "%s: fsync: %s", r->dir, strerror(errno));
    crash_point(r);
    prune(r, step);
    return 0;
fail:
    ckpt_rmtree(tmp);
    return err_prefix(e, "checkpoint %s", fin);
}

jv ckpt_load_state(const char *dir, mrl_err *e) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/trainer_state.json", dir);
    jv v = jv_load_file(p, 0);
    if (!jv_is_valid(v)) {
        jv m = jv_invalid_get_msg(v);
        err_set(e, 1, "%s: %s", p, jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "cannot be read");
        jv_free(m);
        return jv_invalid();
    }
    jv s = one_object(v);
    if (!jv_is_valid(s)) err_set(e, 1, "%s: not one JSON object", p);
    return s;
}

/* Field key of o (where + key in messages) as a count: a whole number in [0, 2^53). 0, or -1 with e set. */
static int state_count(jv o, const char *path, const char *where, const char *key, double *out, mrl_err *e) {
    jv v = jv_object_get(jv_copy(o), jv_string(key));
    int kind = jv_get_kind(v);
    double x = kind == JV_KIND_NUMBER ? jv_number_value(v) : -1;
    *out = x;
    if (kind == JV_KIND_INVALID) { jv_free(v); return err_set(e, 1, "%s: \"%s%s\" is missing", path, where, key); }
    if (x >= 0 && x < 9007199254740992.0 && x == floor(x)) { jv_free(v); return 0; }
    jv t = jv_dump_string(v, 0);
    err_set(e, 1, "%s: \"%s%s\" is %.40s, not a count (a whole number, 0 or more)", path, where, key, jv_string_value(t));
    jv_free(t);
    return -1;
}

int ckpt_check_state(jv state, const char *dir, long step, mrl_err *e) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/trainer_state.json", dir);
    double s, g, r;
    if (state_count(state, p, "", "step", &s, e)) return -1;
    if (s != (double)step)
        return err_set(e, 1, "%s: \"step\" is %.0f, but the checkpoint is step %ld", p, s, step);
    jv d = jv_object_get(jv_copy(state), jv_string("data"));
    int rc = jv_get_kind(d) != JV_KIND_OBJECT ? err_set(e, 1, "%s: \"data\" is missing or not an object", p)
           : state_count(d, p, "data.", "groups", &g, e) || state_count(d, p, "data.", "records", &r, e) ? -1
           : r < g ? err_set(e, 1, "%s: \"data.records\" (%.0f) is fewer than \"data.groups\" (%.0f)", p, r, g) : 0;
    jv_free(d);
    if (rc) return -1;
    static const char *const paths[] = {"model", "ref"};   /* directories: a string ("ref" may be null) */
    for (int i = 0; i < 2; i++) {
        jv v = jv_object_get(jv_copy(state), jv_string(paths[i]));
        int k = jv_get_kind(v);
        /* a resume holds it as a C string: one with a NUL would name another directory (the
           reference loaded from the part before it), "" none */
        int cstr = k != JV_KIND_STRING || (jv_string_value(v)[0] &&
                                           strlen(jv_string_value(v)) == (size_t)jv_string_length_bytes(jv_copy(v)));
        jv_free(v);
        if (k != JV_KIND_INVALID && k != JV_KIND_STRING && !(i == 1 && k == JV_KIND_NULL))
            return err_set(e, 1, "%s: \"%s\" is not a directory name (a string)", p, paths[i]);
        if (!cstr) return err_set(e, 1, "%s: \"%s\" is not a directory name (empty, or holds a NUL byte)", p, paths[i]);
    }
    return 0;
}

int ckpt_metrics_append(const ckpt_run *r, const char *line, mrl_err *e) {
    char p[PATH_MAX + 32];
    if (ckpt_same_dir(r, e)) return -1;
    snprintf(p, sizeof p, "%s/metrics.jsonl", r->dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return err_set(e, 3, "%s: %s", p, strerror(errno));
    /* the line and its newline in one write where the system takes it whole; a short write goes
       on, so that a failure is the system's reason (No space left on device, File too large) */
    size_t len = strlen(line);
    char *buf = malloc(len + 1);
    if (!buf) { close(fd); return err_set(e, 3, "out of memory"); }
    memcpy(buf, line, len);
    buf[len++] = '\n';
    const char *at = buf, *why = NULL;
    while (len > 0 && !why) {
        ssize_t k = write(fd, at, len);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) why = k < 0 ? strerror(errno) : "short write";
        else { at += k; len -= (size_t)k; }
    }
    if (!why && fsync(fd)) why = strerror(errno);
    free(buf);
    close(fd);
    return why ? err_set(e, 3, "%s: write error: %s", p, why) : 0;
}

int ckpt_metrics_truncate(const ckpt_run *r, long step, mrl_err *e) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/metrics.jsonl", r->dir);
    FILE *f = fopen(p, "rb");
    if (!f) return errno == ENOENT ? 0 : err_set(e, 3, "%s: %s", p, strerror(errno));   /* none yet: nothing to drop */
    char *out = NULL, *line = NULL;
    size_t olen = 0, cap = 0;
    ssize_t k;
    int changed = 0;
    FILE *mem = open_memstream(&out, &olen);
    while (mem && (k = getline(&line, &cap, f)) > 0) {
        jv v = jv_parse_sized(line, (int)k);
        int whole = jv_is_valid(v) && jv_get_kind(v) == JV_KIND_OBJECT;
        jv s = whole ? jv_object_get(jv_copy(v), jv_string("step")) : jv_invalid();
        /* the steps after the checkpoint go, and a torn last line (crash mid-write); a line
           that is not a step's metrics (a note someone added) stays. A last line without its
           newline that is a whole JSON object lost only the newline (an editor, truncate -s -1):
           it is a whole line, and gets its newline back; anything else there is torn. */
        int ended = line[k - 1] == '\n';
        int keep = (ended || whole) && !(jv_get_kind(s) == JV_KIND_NUMBER && jv_number_value(s) > step);
        jv_free(s); jv_free(v);
        if (keep) fwrite(line, 1, (size_t)k, mem);
        if (keep && !ended) fputc('\n', mem);
        changed += !keep || !ended;
    }
    free(line);
    /* a read error is not the end of the file: the steps past it would stay, and the resumed
       run's metrics would follow them (a directory in its place reads as EISDIR) */
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    if (!mem) return err_set(e, 3, "out of memory");
    if (fclose(mem) || rerr) {
        free(out);
        return rerr ? err_set(e, 3, "%s: %s", p, strerror(rerr)) : err_set(e, 3, "out of memory");
    }
    /* through a symbolic link to its target, as -o writes (rename over the link replaced it
       with a file: the target kept the steps dropped here, and no later one) */
    char real[PATH_MAX];
    int rc = changed ? st_write_file_atomic(realpath(p, real) ? real : p, out, olen, e) : 0;
    free(out);
    return rc;
}

int ckpt_rollouts_path(const ckpt_run *r, long step, char *path, size_t n, mrl_err *e) {
    if (ckpt_same_dir(r, e)) return -1;
    snprintf(path, n, "%s/rollouts", r->dir);
    if (path_mkdirs(path)) return err_set(e, 3, "%s: %s", path, strerror(errno));
    snprintf(path, n, "%s/rollouts/step-%06ld.jsonl.zst", r->dir, step);
    return 0;
}
