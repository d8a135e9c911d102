/* checkpoint.h — run directories of mgrpo: runs/NAME/step-XXXXXX/ (model files, optimizer
 * state, trainer_state.json) written in a temp dir, fsynced and renamed, `latest` moved by
 * rename only afterwards, old steps pruned; plus metrics.jsonl and the rollouts copies. */
#ifndef MRL_CHECKPOINT_H
#define MRL_CHECKPOINT_H
#include <jv.h>
#include <limits.h>
#include "err.h"
#include "model.h"
#include "optim.h"

typedef struct ckpt_run {
    char dir[PATH_MAX];   /* runs/NAME */
    int keep;             /* newest step directories kept (0 = all) */
    /* Crash simulation for tests: MRL_CRASH_AT=N makes the N-th numbered point of the
     * checkpoint sequence (counted over this run's saves) _exit(99) the process. */
    long crash_at, crash_count;
    int lock_fd;          /* RUNDIR/.lock held by the writer (-1: none) */
    unsigned long long dev, ino;   /* the writer's RUNDIR as ckpt_open found it (ino 0: not a writer) */
} ckpt_run;

/* Creates dir (and parents) if needed. The writer (writer 1: the process that saves; data
 * parallel, rank 0) then locks the run (RUNDIR/.lock, flock: another live writer of the same
 * directory is refused, code 1, naming its pid and host; a file system without flock locks
 * nothing) and removes temp directories a crashed save left, and the temp files of rollouts
 * copies and of metrics.jsonl rewrites a killed run was writing (rollouts/step-XXXXXX.jsonl.zst.tmp.PID,
 * metrics.jsonl.tmp.PID): with the lock held, none of them is a live writer's. */
int ckpt_open(ckpt_run *r, const char *dir, int keep, int writer, mrl_err *e);
/* The writer's run directory still the one ckpt_open locked: 0, or -1 with e set (code 3) when
 * it was removed or replaced meanwhile (rm -r, mv RUN RUN.old; mkdir RUN), where the next
 * write would make a new RUNDIR without the earlier steps. ckpt_save, ckpt_save_policy,
 * ckpt_metrics_append and ckpt_rollouts_path check it first. */
int ckpt_same_dir(const ckpt_run *r, mrl_err *e);
/* Lets the lock go (it goes with the process too). */
void ckpt_close(ckpt_run *r);
/* The step `latest` points to: 1 and *step (path of the directory in path), 0 when the run
 * has no latest, -1 when latest is broken (dangling, not a step directory). */
int ckpt_latest(const ckpt_run *r, long *step, char *path, size_t n, mrl_err *e);
/* Whether run directory dir has a `latest` entry (broken or not), without creating dir. */
int ckpt_has_latest(const char *dir);

typedef struct ckpt_data {
    mrl_model *model;
    const char *model_dtype;    /* "bf16" | "fp32": the model.safetensors HF loads */
    optim *opt;                 /* its state: exp_avg, exp_avg_sq (+ fp32 master if bf16) */
    const char *files_from;     /* copy tokenizer and generation files from this model directory (NULL: none) */
    jv state;                   /* trainer_state.json (not consumed) */
} ckpt_data;
/* Writes step-XXXXXX for step (the model files, with model.safetensors.index.json beside
 * optimizer.safetensors) and moves latest to it; then prunes to keep. A crash at any
 * point leaves latest on a whole checkpoint (the previous or this one). */
int ckpt_save(ckpt_run *r, long step, const ckpt_data *d, mrl_err *e);
/* Whether every tokenizer and generation file a save copies from the model directory from
 * (ckpt_data.files_from) can be opened for reading: checked when the run starts, since a save
 * that cannot copy one fails, and the steps since the last checkpoint are lost with it.
 * A missing file is fine (none is copied). 0, or -1 with e set (code 1) naming the file. */
int ckpt_check_sources(const char *from, mrl_err *e);
/* Writes policy-XXXXXX for step, the model files only (what msample loads: weights, config,
 * tokenizer; no optimizer state) and a trainer_state.json with the step alone (msample's
 * policy.step), moves the link `policy` to it and
 * removes the snapshots before it: how a long-running mgrpo hands each new policy to a sampler
 * without a whole checkpoint. Not a checkpoint: a resume starts from latest. */
int ckpt_save_policy(ckpt_run *r, long step, const ckpt_data *d, mrl_err *e);
/* Removes `policy` and the snapshots (what an earlier run left: a new one starts from latest). */
void ckpt_clear_policy(ckpt_run *r);
/* Reads DIR/trainer_state.json. */
jv ckpt_load_state(const char *ckpt_dir, mrl_err *e);
/* Checks the fields of a run's trainer_state.json that a resume takes as they are: "step" (that
 * of the step directory dir, step), "data" ("groups" and "records": counts), "model" and "ref"
 * (directory names; "ref" may be null). 0, or -1 with e set (code 1) naming the file and field. */
int ckpt_check_state(jv state, const char *ckpt_dir, long step, mrl_err *e);

/* metrics.jsonl: one line appended and fsynced; truncate keeps lines whose "step" <= step
 * (after a resume, the lines of steps that were lost with the crash go) and drops a torn last
 * line; a last line without its newline that parses as a JSON object is whole and gets it back. */
int ckpt_metrics_append(const ckpt_run *r, const char *line, mrl_err *e);
int ckpt_metrics_truncate(const ckpt_run *r, long step, mrl_err *e);
/* runs/NAME/rollouts/step-XXXXXX.jsonl.zst (creates rollouts/). */
int ckpt_rollouts_path(const ckpt_run *r, long step, char *path, size_t n, mrl_err *e);
/* Removes a directory tree (for pruning and tests). */
int ckpt_rmtree(const char *path);
#endif
