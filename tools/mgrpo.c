/* mgrpo — the policy update: reads rewarded rollouts in whole groups, forms advantages, takes
 * optimizer steps (trainer.c, optim.c) and keeps a crash-safe run directory (checkpoint.c). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "checkpoint.h"
#include "cli.h"
#include "grpo.h"
#include "hset.h"
#include "jqf.h"
#include "model.h"
#include "optim.h"
#include "runcfg.h"
#include "stream.h"
#include "trainer.h"
#include "dist.h"
#ifdef MRL_CUDA
#include "cuda/ops_cuda.h"
#endif

static const char usage[] =
"Usage: mgrpo --out RUNDIR [--model DIR] [OPTION]... [FILE]...\n"
"GRPO policy update: reads rewarded rollouts (samples of one id contiguous), takes optimizer\n"
"steps, writes one metrics object per step and checkpoints RUNDIR/step-XXXXXX (latest).\n"
"A run resumes from RUNDIR/latest when there is one.\n"
"\n"
"  --model DIR          starting policy (needed unless RUNDIR has latest)\n"
"  --ref DIR            reference model for the KL (default: the starting policy)\n"
"  --out RUNDIR         run directory\n"
"  --loss grpo|bnpo|dr_grpo|dapo|sft   loss normaliser (default grpo)\n"
"  --beta B             k3 KL weight (default 0.04; 0 loads no reference)\n"
"  --epsilon E, --epsilon-high E   clip range [1-E, 1+E_high] (0.2, = epsilon)\n"
"  --delta D            dual-clip: cap the unclipped ratio at D >= 1 (default 0: off)\n"
"  --importance token|sequence     per-token ratios or GSPO's sequence ratio\n"
"  --advantage grpo|rloo|reinforce++   (default grpo)\n"
"  --scale-rewards group|batch|none    divide by the std of the group/batch (group)\n"
"  --reward JQ          the scalar reward (default .reward)\n"
"  --iterations K       updates per batch; K>1 uses the records' logprobs as old policy\n"
"  --mask-truncated     completions with finish \"length\" count for nothing\n"
"                      (--no-mask-truncated: they count, the default; for a resumed run)\n"
"  --max-completion-length N   dr_grpo normaliser (default, or 0: longest in the batch)\n"
"  --temperature T      the sampler's temperature, for the log-probs (default 1)\n"
"  --optimizer adamw|sgd, --lr LR (1e-6), --weight-decay W (0),\n"
"  --adam-beta1 B (0.9), --adam-beta2 B (0.999), --adam-epsilon E (1e-8)\n"
"  --schedule constant|constant_with_warmup|linear|cosine|cosine_with_min_lr (constant),\n"
"  --warmup N|RATIO (0), --min-lr-rate R (0.1), --total-steps N (schedule length)\n"
"  --max-grad-norm G    clip the global gradient norm (default 1; 0 = off)\n"
"  --groups N           groups per optimizer step (default 0: the whole input is one batch)\n"
"  --micro-batch N      sequences per forward/backward (default 1)\n"
"  --steps N            stop after N optimizer steps (default 0: until the input ends)\n"
"  --save-every N       checkpoint every N steps (default 50) and always at the end\n"
"  --keep N             keep the N newest checkpoints (default 0: all)\n"
"  --batches-from LIST  take each file LIST names (a line each; - for stdin) whole as one\n"
"                       batch, as it comes: one mgrpo for a whole sampling loop\n"
"  --policy-every N     after every N steps write the new policy alone, RUNDIR/policy, before\n"
"                       the step's metrics line (a sampler's next model; default 0: never)\n"
"  --no-checkpoint      write metrics only, no checkpoint (benchmarks, dry runs)\n"
"  --resume             require RUNDIR/latest (resuming is the default when it exists)\n"
"  --resume-data        skip the groups the run has already consumed (same input again)\n"
"  --allow-partial      accept groups of unequal size, single-record groups, a short last batch\n"
"  --gpus N             data parallel over N GPUs of this node: one process per GPU, gradients\n"
"                       all-reduced with NCCL (under mpirun or srun each process is a rank already)\n"
"  --grad-checkpoint, --dtype bf16|fp32, --threads N, --device DEV, --seed N\n"
"  -o, --output FILE, -Z, --plain, --zstd-level N, --progress, -q, --quiet, -h, --help, --version\n"
"See mgrpo(1) and mrl(7).\n";

enum { O_MODEL = 1, O_REF, O_OUT, O_LOSS, O_BETA, O_EPS, O_EPSH, O_DELTA, O_IMP, O_ADV, O_SCALE,
       O_REWARD, O_ITER, O_MASKT, O_MAXLEN, O_TEMP, O_OPTIM, O_LR, O_WD, O_B1, O_B2, O_AEPS,
       O_SCHED, O_WARMUP, O_MINLR, O_TOTAL, O_MAXGN, O_GROUPS, O_MB, O_STEPS, O_SAVE, O_KEEP,
       O_RESDATA, O_PARTIAL, O_GCKPT, O_DTYPE, O_THREADS, O_NOCKPT, O_RESUME, O_GPUS, O_NOMASKT, O_POLICY, O_BATCHES };

typedef struct {
    cli c;
    const char *model, *ref, *out, *dtype, *batches_from;
    rc_opts rc;          /* the schedule and the objective: a resumed run's own where not given (runcfg.c) */
    int groups, partial, resume_data, gckpt, threads, no_ckpt, resume, gpus;
    int optim_given;     /* --optimizer set: else a resumed run's follows its optimizer.safetensors */
    const mrl_config *cfg; /* the policy's: its context bounds a record (config_fits) */
    long steps, save_every, keep, policy_every;
    jqf *freward;
} opts;

/* A numeric objective option from the command line: dies naming it when arg is not a number
 * in its range. */
static void obj_arg(opts *o, int i, const char *arg) {
    const rc_range *rg = &rc_ranges[i];
    /* --delta 0: off, as a run without it records it (the one way to turn a resumed run's off) */
    double lo = i == RC_DELTA ? 0 : rg->lo;
    double x = rg->integer ? (double)cli_long(&o->c, rc_opt[i], arg, (long)lo, (long)rg->hi)
             : rg->open & 1 ? cli_double_below(&o->c, rc_opt[i], arg, lo, rg->hi)
             : cli_double(&o->c, rc_opt[i], arg, lo, rg->hi);
    if ((rg->open & 2) && (float)x <= (float)lo)   /* 1e-50 is 0 as the float AdamW computes with */
        cli_usage(&o->c, "%s: '%s' must be more than %g (as a float)", rc_opt[i], arg, lo);
    if (rc_set_num(&o->rc, i, x)) cli_usage(&o->c, "%s: '%s' is neither 0 (off) nor at least 1", rc_opt[i], arg);   /* --delta 0.5 */
    o->rc.given |= RC_G_OBJ << i;
}

/* One record of the batch, parsed. */
typedef struct {
    jv rec;
    int32_t *prompt, *comp;
    float *old;
    int plen, clen, truncated;
    double reward;
    char *where;         /* FILE:LINE of the record, for messages about its group */
    char *raw; size_t raw_len;   /* its input line: the step's rollouts file keeps it as it came */
} item;

typedef struct {               /* the input, in groups */
    rd_stream *rd;
    jv pending;                /* first record of the next group (or invalid) */
    char pending_where[PATH_MAX + 24];
    char *pending_raw; size_t pending_raw_len;   /* its input line */
    int keep_raw;              /* input lines are kept (the rollouts file is written: checkpoints on, rank 0) */
    long groups_read, records_read;
    int gsize;                 /* size of the first group */
    uint64_t closed_full;      /* id hash | 1 of the group just closed on reaching gsize (0: none) */
    hset seen;                 /* hashes of finished ids */
    FILE *list;                /* --batches-from: the names of the batch files */
    char *path; size_t pathcap;   /* the batch file open */
} input;

/* --batches-from: opens the next file the list names (empty lines skipped) as a batch of its
 * own: groups, their size and the ids seen start over, as in a new invocation. 0 at the end
 * of the list (or a signal). */
static int next_batch_file(opts *o, input *in) {
    mrl_err e = {0};
    rd_close(in->rd);
    in->rd = NULL;
    for (;;) {
        ssize_t len = getline(&in->path, &in->pathcap, in->list);
        if (len < 0) {
            if (ferror(in->list) && !cli_stop_requested())
                cli_dief(&o->c, 1, "%s: %s", o->batches_from, strerror(errno));
            return 0;
        }
        while (len > 0 && (in->path[len - 1] == '\n' || in->path[len - 1] == '\r')) in->path[--len] = 0;
        if (len > 0) break;
    }
    if (!strcmp(in->path, "-") && in->list == stdin)
        cli_dief(&o->c, 2, "--batches-from -: a batch named - would be standard input, which is the list");
    /* records piped in where the list of their files belongs (mreward | mgrpo --batches-from -):
     * said so, instead of "No such file or directory" after a whole record or zstd bytes */
    if ((in->path[0] == '{' || !strncmp(in->path, "\x28\xb5\x2f\xfd", 4))
        && access(in->path, F_OK) != 0)
        cli_dief(&o->c, 1, "--batches-from %s: holds records, not the names of batch files (one a "
                 "line); records go to mgrpo as FILE arguments or stdin, without --batches-from",
                 o->batches_from);
    const char *files[1] = {in->path};
    if (!(in->rd = rd_open(files, 1, &e))) cli_die(&o->c, &e);
    rd_set_stop(in->rd, cli_stop_requested);
    hset_free(&in->seen);
    memset(&in->seen, 0, sizeof in->seen);
    in->gsize = 0; in->closed_full = 0;
    return 1;
}

/* Allocations of the input side: out of memory ends the run (exit 3) through the cli, so
 * the steps taken before it are still checkpointed. */
static cli *mem_cli;
static void *need(void *p) {
    if (!p) cli_dief(mem_cli, 3, "out of memory");
    return p;
}

static int seen_add(input *in, uint64_t h) {   /* 1 if already there */
    int r = hset_add(&in->seen, h);
    if (r < 0) cli_dief(mem_cli, 3, "out of memory");   /* as need() */
    return r == 0;
}

static void die_rec(opts *o, const char *where, const char *fmt, const char *field) {
    mrl_err e = {0};
    char m[400];
    snprintf(m, sizeof m, fmt, field);
    err_set(&e, ERR_INPUT, "%s: %s", where, m);   /* a long path cut in its middle, the reason kept */
    cli_die(&o->c, &e);
}

/* The token ids of field name (a, consumed); dies naming the field, or the element and what
 * it holds, when a is not an array of ids below vocab. */
static int32_t *token_ids(opts *o, const char *where, const char *name, jv a, int *n, int vocab) {
    char why[80], m[300];
    if (jv_get_kind(a) != JV_KIND_ARRAY) {
        snprintf(m, sizeof m, "\"%s\" %s", name, jv_wrong(a, "an array of token ids", why, sizeof why));
        jv_free(a);
        die_rec(o, where, "%s", m);
    }
    *n = jv_array_length(jv_copy(a));
    int32_t *x = need(malloc((*n + 1) * sizeof *x));
    for (int i = 0; i < *n; i++) {
        jv v = jv_array_get(jv_copy(a), i);
        double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;
        if (d < 0 || d >= vocab || d != floor(d)) {
            if (jv_get_kind(v) == JV_KIND_NUMBER)
                snprintf(m, sizeof m, "\"%s[%d]\" is %.17g, not a token id of the model (0 to %d)", name, i, d, vocab - 1);
            else snprintf(m, sizeof m, "\"%s[%d]\" %s", name, i, jv_wrong(v, "a token id", why, sizeof why));
            jv_free(v); jv_free(a);
            die_rec(o, where, "%s", m);
        }
        jv_free(v);
        x[i] = (int32_t)d;
    }
    jv_free(a);
    return x;
}

/* The reward r is not a finite number: named as a field, as the other fields are ("reward" is
 * missing, is a string, not a number) where --reward is one (.reward); else as the filter and
 * what it gave, as msample's --problem. */
static void die_reward(opts *o, const char *where, jv r) {
    const char *f = jqf_text(o->freward);
    char m[512];
    if (jv_get_kind(r) != JV_KIND_NUMBER) {
        jqf_wrong(o->freward, "--reward", r, "a number", m, sizeof m);
        /* rollouts straight from msample: the stage between is missing */
        if ((!jv_is_valid(r) || jv_get_kind(r) == JV_KIND_NULL) && !strcmp(f, ".reward")) {
            size_t n = strlen(m);
            snprintf(m + n, sizeof m - n, " (mreward sets it: msample ... | mreward | mgrpo)");
        }
    }
    else if (isfinite(jv_number_value(r)))   /* too large for the group statistics */
        snprintf(m, sizeof m, "%s%.300s%s %g, beyond the %g in magnitude the advantages are computed from",
                 jqf_field(f) ? "\"" : "--reward '", jqf_field(f) ? f + 1 : f, jqf_field(f) ? "\" is" : "' gave",
                 jv_number_value(r), GRPO_REWARD_MAX);
    else if (jqf_field(f)) snprintf(m, sizeof m, "\"%s\" is not a finite number", f + 1);
    else snprintf(m, sizeof m, "--reward '%.300s' gave a number that is not finite", f);
    jv_free(r);
    die_rec(o, where, "%s", m);
}

/* Parses and checks one record; dies naming the field. */
static void parse_item(opts *o, item *it, jv rec, const char *where, int vocab) {
    memset(it, 0, sizeof *it);
    it->rec = rec;
    it->where = need(strdup(where));
    jv a = jv_object_get(jv_copy(rec), jv_string("prompt_ids"));
    if (jv_get_kind(a) == JV_KIND_INVALID || jv_get_kind(a) == JV_KIND_NULL) die_rec(o, where, "\"%s\" is missing", "prompt_ids");
    it->prompt = token_ids(o, where, "prompt_ids", a, &it->plen, vocab);
    if (it->plen < 1) die_rec(o, where, "\"%s\" is empty", "prompt_ids");
    a = jv_object_get(jv_copy(rec), jv_string("completion_ids"));
    if (jv_get_kind(a) == JV_KIND_INVALID || jv_get_kind(a) == JV_KIND_NULL) die_rec(o, where, "\"%s\" is missing", "completion_ids");
    it->comp = token_ids(o, where, "completion_ids", a, &it->clen, vocab);
    mrl_err fe = {0};
    if (o->cfg && config_fits(o->cfg, (long)it->plen + it->clen, &fe) < 0) die_rec(o, where, "%s", fe.msg);
    if (o->rc.t.use_old) {   /* sft has no ratio: its records need no logprobs */
        a = jv_object_get(jv_copy(rec), jv_string("logprobs"));
        if (jv_get_kind(a) == JV_KIND_INVALID || jv_get_kind(a) == JV_KIND_NULL)
            die_rec(o, where, "\"%s\" is missing (needed with --iterations > 1)", "logprobs");
        if (jv_get_kind(a) != JV_KIND_ARRAY) die_rec(o, where, "\"%s\" is not an array of log-probs (needed with --iterations > 1)", "logprobs");
        if (jv_array_length(jv_copy(a)) != it->clen) {
            char m[96];
            int nv = jv_array_length(jv_copy(a));
            snprintf(m, sizeof m, "\"logprobs\" has %d value%s for %d completion token%s", nv, nv == 1 ? "" : "s", it->clen,
                     it->clen == 1 ? "" : "s");
            die_rec(o, where, "%s", m);
        }
        it->old = need(malloc((it->clen + 1) * sizeof *it->old));
        for (int i = 0; i < it->clen; i++) {
            jv v = jv_array_get(jv_copy(a), i);
            if (jv_get_kind(v) != JV_KIND_NUMBER || !isfinite(jv_number_value(v))) {
                char m[128];
                snprintf(m, sizeof m, "\"logprobs\"[%d] is not a finite number%s", i,
                         jv_get_kind(v) == JV_KIND_NULL ? " (null: how msample writes a NaN)" : "");
                die_rec(o, where, "%s", m);
            }
            /* a log-probability is at most 0 and, read into a float, finite (-1e300 was -inf:
               the ratio's NaN then named a weight, not the record) */
            double lp = jv_number_value(v);
            char m[80];
            if (lp > 0 || !isfinite((float)lp)) {
                snprintf(m, sizeof m, "\"logprobs\"[%d] is %g, %s", i, lp, lp > 0 ? "above 0: not a log-probability" : "below a float's range");
                die_rec(o, where, "%s", m);
            }
            it->old[i] = (float)lp;
            jv_free(v);
        }
        jv_free(a);
    }
    char msg[200];
    if (rec_finish(rec, &it->truncated, msg, sizeof msg) < 0 || rec_optional(rec, "rewards", JV_KIND_OBJECT, msg, sizeof msg) < 0)
        die_rec(o, where, "%s", msg);
    jv rws = jv_object_get(jv_copy(rec), jv_string("rewards"));   /* its values go into the step's means */
    if (jv_get_kind(rws) == JV_KIND_OBJECT) {
        jv_object_foreach(rws, k, v) {
            char why[80], m[300];
            if (jv_get_kind(v) != JV_KIND_NUMBER || !isfinite(jv_number_value(v))) {
                snprintf(m, sizeof m, "\"rewards.%.200s\" %s", jv_string_value(k),
                         jv_get_kind(v) == JV_KIND_NUMBER ? "is not a finite number" : jv_wrong(v, "a number", why, sizeof why));
                die_rec(o, where, "%s", m);
            }
            jv_free(k); jv_free(v);
        }
    }
    jv_free(rws);
    if (o->rc.t.g.loss == GRPO_LOSS_SFT) return;
    mrl_err e = {0};
    jv r = jqf_first(o->freward, rec, &e);
    if (e.code) cli_dief(&o->c, 1, "%s: %s", where, e.msg);
    if (jv_get_kind(r) != JV_KIND_NUMBER || !isfinite(jv_number_value(r)) || fabs(jv_number_value(r)) > GRPO_REWARD_MAX)
        die_reward(o, where, r);
    it->reward = jv_number_value(r);
    jv_free(r);
}

static void item_free(item *it) {
    jv_free(it->rec);
    free(it->prompt); free(it->comp); free(it->old); free(it->where); free(it->raw);
}

/* Reads up to want groups (0 = all) into *items; gstart gets ngroups+1 offsets. Returns the
 * number of groups (0 at the end of the input). */
static int read_batch(opts *o, input *in, int want, item **items, int *nitems, int **gstart, int vocab) {
    int n = 0, cap = 64, ng = 0, gcap = 16;
    item *it = need(malloc(cap * sizeof *it));
    int *gs = need(malloc(gcap * sizeof *gs));
    gs[0] = 0;
    mrl_err e = {0};
    jv cur_id = jv_invalid();
    for (;;) {
        jv rec;
        char where[PATH_MAX + 24], *raw;
        size_t raw_len = 0;
        if (jv_is_valid(in->pending)) {
            rec = in->pending; in->pending = jv_invalid();
            snprintf(where, sizeof where, "%s", in->pending_where);
            raw = in->pending_raw; raw_len = in->pending_raw_len; in->pending_raw = NULL;
        } else {
            int r = rd_next(in->rd, &rec, &e);
            if (r < 0) cli_die(&o->c, &e);
            if (r == 0) break;
            snprintf(where, sizeof where, "%s:%ld", rd_name(in->rd), rd_lineno(in->rd));
            raw = NULL;
            if (in->keep_raw) {
                const char *l = rd_line(in->rd, &raw_len);
                raw = need(malloc(raw_len + 1));
                memcpy(raw, l, raw_len);
            }
        }
        jv id = jv_object_get(jv_copy(rec), jv_string("id"));
        if (jv_get_kind(id) == JV_KIND_INVALID || jv_get_kind(id) == JV_KIND_NULL) die_rec(o, where, "\"%s\" is missing", "id");
        if (!jv_is_valid(cur_id) || !jv_equal(jv_copy(cur_id), jv_copy(id))) {
            if (jv_is_valid(cur_id)) {       /* the group in hand is complete */
                if (ng + 2 > gcap) gs = need(realloc(gs, (gcap *= 2) * sizeof *gs));
                gs[++ng] = n;
                if (!in->gsize) in->gsize = n - gs[ng - 1];
                if (want > 0 && ng == want) {
                    in->pending = rec;
                    snprintf(in->pending_where, sizeof in->pending_where, "%s", where);
                    in->pending_raw = raw; in->pending_raw_len = raw_len;
                    jv_free(id);
                    break;
                }
            }
            uint64_t h = rec_id_hash(rec);
            if (seen_add(in, h) && !o->partial) {
                jv s = jv_dump_string(jv_copy(id), 0);
                char m[400];
                /* the group in hand was closed when it reached the first group's size: this
                 * record is one more of it, not a group that comes back */
                if (!jv_is_valid(cur_id) && in->closed_full == (h | 1))
                    snprintf(m, sizeof m, "group %.200s has more than %d records, the first group had %d (--allow-partial accepts it)",
                             jv_string_value(s), in->gsize, in->gsize);
                else
                    snprintf(m, sizeof m, "samples of the id %.200s came earlier (groups must be contiguous and of one size; --allow-partial accepts it)",
                             jv_string_value(s));
                jv_free(s);
                die_rec(o, where, "%s", m);
            }
            in->closed_full = 0;
            jv_free(cur_id);
            cur_id = jv_copy(id);
        }
        jv_free(id);
        if (n == cap) it = need(realloc(it, (cap *= 2) * sizeof *it));
        parse_item(o, &it[n], rec, where, vocab);
        it[n].raw = raw; it[n].raw_len = raw_len;
        n++;
        in->records_read++;
        /* once the group size is known a full group closes at once, without waiting for the
         * next record: a sampler that waits for this step's checkpoint does not deadlock */
        if (in->gsize && !o->partial && o->rc.t.g.loss != GRPO_LOSS_SFT && n - gs[ng] == in->gsize) {   /* sft groups may differ in size */
            if (ng + 2 > gcap) gs = need(realloc(gs, (gcap *= 2) * sizeof *gs));
            gs[++ng] = n;
            in->closed_full = rec_id_hash(it[n - 1].rec) | 1;
            jv_free(cur_id);
            cur_id = jv_invalid();
            if (want > 0 && ng == want) break;
        }
    }
    if (ng == 0 ? n > 0 : gs[ng] != n) {
        if (ng + 2 > gcap) gs = need(realloc(gs, (gcap *= 2) * sizeof *gs));
        gs[++ng] = n;
    }
    jv_free(cur_id);
    for (int g = 0; g < ng && !cli_stop_requested(); g++) {   /* cut short by a signal: main drops it */
        int sz = gs[g + 1] - gs[g];
        if (!in->gsize) in->gsize = sz;
        if (o->partial || o->rc.t.g.loss == GRPO_LOSS_SFT) continue;
        if (sz == 1 || sz != in->gsize) {
            jv id = jv_object_get(jv_copy(it[gs[g]].rec), jv_string("id"));
            jv s = jv_dump_string(id, 0);
            const char *w = it[gs[g]].where;
            if (sz == 1)
                cli_dief(&o->c, 1, "%s: group %s has a single record: its advantage is undefined "
                         "(--allow-partial gives it advantage 0)", w, jv_string_value(s));
            cli_dief(&o->c, 1, "%s: group %s has %d records, the first group had %d (--allow-partial accepts it)",
                     w, jv_string_value(s), sz, in->gsize);
        }
    }
    in->groups_read += ng;
    *items = it; *nitems = n; *gstart = gs;
    return ng;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void parse_opts(opts *o, int argc, char **argv) {
    static const struct option lo[] = {
        CLI_COMMON_LONGOPTS,
        {"model", 1, 0, O_MODEL}, {"ref", 1, 0, O_REF}, {"out", 1, 0, O_OUT}, {"loss", 1, 0, O_LOSS},
        {"beta", 1, 0, O_BETA}, {"epsilon", 1, 0, O_EPS}, {"epsilon-high", 1, 0, O_EPSH},
        {"delta", 1, 0, O_DELTA}, {"importance", 1, 0, O_IMP}, {"advantage", 1, 0, O_ADV},
        {"scale-rewards", 1, 0, O_SCALE}, {"reward", 1, 0, O_REWARD}, {"iterations", 1, 0, O_ITER},
        {"mask-truncated", 0, 0, O_MASKT}, {"no-mask-truncated", 0, 0, O_NOMASKT}, {"max-completion-length", 1, 0, O_MAXLEN},
        {"temperature", 1, 0, O_TEMP}, {"optimizer", 1, 0, O_OPTIM}, {"lr", 1, 0, O_LR},
        {"weight-decay", 1, 0, O_WD}, {"adam-beta1", 1, 0, O_B1}, {"adam-beta2", 1, 0, O_B2},
        {"adam-epsilon", 1, 0, O_AEPS}, {"schedule", 1, 0, O_SCHED}, {"warmup", 1, 0, O_WARMUP},
        {"min-lr-rate", 1, 0, O_MINLR}, {"total-steps", 1, 0, O_TOTAL},
        {"max-grad-norm", 1, 0, O_MAXGN}, {"groups", 1, 0, O_GROUPS}, {"micro-batch", 1, 0, O_MB},
        {"steps", 1, 0, O_STEPS}, {"save-every", 1, 0, O_SAVE}, {"keep", 1, 0, O_KEEP},
        {"resume-data", 0, 0, O_RESDATA}, {"allow-partial", 0, 0, O_PARTIAL},
        {"grad-checkpoint", 0, 0, O_GCKPT}, {"no-checkpoint", 0, 0, O_NOCKPT}, {"resume", 0, 0, O_RESUME}, {"dtype", 1, 0, O_DTYPE}, {"threads", 1, 0, O_THREADS},
        {"gpus", 1, 0, O_GPUS}, {"policy-every", 1, 0, O_POLICY},
        {"batches-from", 1, 0, O_BATCHES}, {0, 0, 0, 0}};
    cli *c = &o->c;
    const char *reward = ".reward";
    int opt, v;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORT, lo, NULL)) != -1) {
        if (cli_common(c, opt, optarg)) continue;
        switch (opt) {
        case O_MODEL: o->model = optarg; break;
        case O_REF: o->ref = optarg; break;
        case O_OUT: if (!*optarg) cli_usage(c, "--out: the name is empty"); o->out = optarg; break;
        case O_LOSS: if ((v = grpo_parse_loss(optarg)) < 0) cli_usage(c, "--loss: '%s' is not one of grpo, bnpo, dr_grpo, dapo, sft", optarg);
                     o->rc.t.g.loss = v; o->rc.given |= RC_G_OBJ << RC_LOSS; break;
        case O_BETA: obj_arg(o, RC_BETA, optarg); break;
        case O_EPS: obj_arg(o, RC_EPS, optarg); break;
        case O_EPSH: obj_arg(o, RC_EPSH, optarg); break;
        case O_DELTA: obj_arg(o, RC_DELTA, optarg); break;
        case O_IMP: if (strcmp(optarg, "token") && strcmp(optarg, "sequence")) cli_usage(c, "--importance: '%s' is not token or sequence", optarg);
                    o->rc.t.g.seq_importance = !strcmp(optarg, "sequence"); o->rc.given |= RC_G_OBJ << RC_IMP; break;
        case O_ADV: if ((v = grpo_parse_adv(optarg)) < 0) cli_usage(c, "--advantage: '%s' is not one of grpo, rloo, reinforce++", optarg);
                    o->rc.adv = v; o->rc.given |= RC_G_OBJ << RC_ADV; break;
        case O_SCALE: if ((v = grpo_parse_scale(optarg)) < 0) cli_usage(c, "--scale-rewards: '%s' is not one of group, batch, none", optarg);
                      o->rc.scale = v; o->rc.given |= RC_G_OBJ << RC_SCALE; break;
        case O_REWARD: reward = optarg; break;
        case O_ITER: obj_arg(o, RC_ITER, optarg); break;
        case O_MASKT: case O_NOMASKT: o->rc.t.mask_truncated = opt == O_MASKT; o->rc.given |= RC_G_OBJ << RC_MASKT; break;
        case O_MAXLEN: obj_arg(o, RC_MAXLEN, optarg); break;
        case O_TEMP: obj_arg(o, RC_TEMP, optarg); break;
        case O_OPTIM: if ((v = optim_parse_kind(optarg)) < 0) cli_usage(c, "--optimizer: '%s' is not adamw or sgd", optarg);
                      o->rc.oo.kind = v; o->optim_given = 1; break;
        case O_LR: o->rc.lr = cli_double(c, "--lr", optarg, 0, RC_LR_MAX); o->rc.given |= RC_G_LR; break;
        case O_WD: obj_arg(o, RC_WD, optarg); break;
        case O_B1: obj_arg(o, RC_B1, optarg); break;
        case O_B2: obj_arg(o, RC_B2, optarg); break;
        case O_AEPS: obj_arg(o, RC_AEPS, optarg); break;
        case O_SCHED: if ((v = sched_parse(optarg)) < 0)
                          cli_usage(c, "--schedule: '%s' is not one of constant, constant_with_warmup, linear, cosine, "
                                    "cosine_with_min_lr", optarg);
                      o->rc.so.kind = v; o->rc.given |= RC_G_SCHED; break;
        case O_WARMUP: o->rc.warmup = cli_double(c, "--warmup", optarg, 0, 1e12);
                       if (o->rc.warmup >= 1 && o->rc.warmup != floor(o->rc.warmup))   /* a ratio is below 1; 1.5 is no step count */
                           cli_usage(c, "--warmup: '%s' is neither a whole number of steps nor a ratio below 1", optarg);
                       o->rc.given |= RC_G_WARMUP; break;
        case O_MINLR: o->rc.so.min_lr_rate = cli_double(c, "--min-lr-rate", optarg, 0, 1); o->rc.given |= RC_G_MINLR; break;
        case O_TOTAL: o->rc.so.total = cli_long(c, "--total-steps", optarg, 1, RC_TOTAL_MAX); o->rc.given |= RC_G_TOTAL; break;
        case O_MAXGN: obj_arg(o, RC_MAXGN, optarg); break;
        case O_GROUPS: o->groups = (int)cli_long(c, "--groups", optarg, 0, 1 << 24); break;
        case O_MB: obj_arg(o, RC_MB, optarg); break;
        case O_STEPS: o->steps = cli_long(c, "--steps", optarg, 0, 1L << 40); break;
        case O_SAVE: o->save_every = cli_long(c, "--save-every", optarg, 0, 1L << 40); break;
        case O_BATCHES: o->batches_from = optarg; break;
        case O_POLICY: o->policy_every = cli_long(c, "--policy-every", optarg, 0, 1L << 40); break;
        case O_KEEP: o->keep = cli_long(c, "--keep", optarg, 0, 1 << 20); break;
        case O_RESDATA: o->resume_data = 1; break;
        case O_PARTIAL: o->partial = 1; break;
        case O_GCKPT: o->gckpt = 1; break;
        case O_NOCKPT: o->no_ckpt = 1; break;
        case O_RESUME: o->resume = 1; break;
        case O_DTYPE: if (strcmp(optarg, "bf16") && strcmp(optarg, "fp32")) cli_usage(c, "--dtype: '%s' is not bf16 or fp32", optarg);
                      o->dtype = optarg; break;
        case O_THREADS: o->threads = (int)cli_long(c, "--threads", optarg, 1, 4096); break;
        case O_GPUS: o->gpus = (int)cli_long(c, "--gpus", optarg, 1, 1024); break;
        default: cli_bad_option(c, opt, argv, lo);
        }
    }
    if (!o->out) cli_usage(c, "--out RUNDIR is required");
    if (o->batches_from) {   /* each file is one batch, as one invocation of the step loop takes it */
        if (optind < argc) cli_usage(c, "--batches-from names the input files: no FILE arguments with it");
        if (o->groups) cli_usage(c, "--batches-from: each file is one batch, no --groups");
        if (o->resume_data) cli_usage(c, "--batches-from: the files are new data, no --resume-data");
        if (o->gpus > 1) cli_usage(c, "--batches-from: not with --gpus (its ranks read a whole input first)");
    }
    /* a step takes whole groups, and a dropped record would change every later step's data */
    if (c->skip_bad) cli_usage(c, "--skip-bad: mgrpo has none (drop bad records before it: mreward or mfilter --skip-bad)");
    mrl_err e = {0};
    if (!(o->freward = jqf_compile(reward, &e))) cli_usage(c, "--reward: %s", e.msg);
}

/* Architecture fields that must agree between a run's checkpoint and --model / --ref. */
static void check_same_model(opts *o, const char *a, const char *b, int vocab_only) {
    mrl_config x, y;
    mrl_err e = {0};
    if (config_load(&x, a, &e) || config_load(&y, b, &e)) cli_die(&o->c, &e);
    const char *what = NULL;
    if (x.vocab_size != y.vocab_size) what = "vocab_size";
    else if (vocab_only) return;
    else if (x.hidden_size != y.hidden_size) what = "hidden_size";
    else if (x.num_layers != y.num_layers) what = "num_hidden_layers";
    else if (x.intermediate_size != y.intermediate_size) what = "intermediate_size";
    else if (x.num_heads != y.num_heads || x.num_kv_heads != y.num_kv_heads) what = "attention heads";
    else if (x.tie_word_embeddings != y.tie_word_embeddings) what = "tie_word_embeddings";
    if (what) cli_dief(&o->c, 1, "%s is not the same model as %s (%s differs)", a, b, what);
}

static void warn_line(void *c, const char *msg) { cli_warn(c, "%s", msg); }

/* The schedule and the objective, once the run's own (a resumed run's trainer_state.json, state;
 * jv_invalid() for a new run) is known (rc_resolve); dies as a usage error where it is one. */
static void resolve(opts *o, jv state, const char *latest) {
    mrl_err e = {0};
    if (rc_resolve(&o->rc, state, latest, warn_line, &o->c, &e)) {
        if (e.code == ERR_USAGE) cli_usage(&o->c, "%s", e.msg);
        cli_die(&o->c, &e);
    }
}

static jv run_state(opts *o, long step, const input *in, const char *init, const char *ref) {
    jv s = jv_object();
    s = jv_object_set(s, jv_string("step"), jv_number(step));
    s = jv_object_set(s, jv_string("seed"), jv_number((double)o->c.seed));
    /* mgrpo draws no random numbers (no dropout; the data order is the input's): the seed
     * is its whole RNG state */
    s = jv_object_set(s, jv_string("rng"), JV_OBJECT(jv_string("seed"), jv_number((double)o->c.seed)));
    s = jv_object_set(s, jv_string("schedule"), rc_schedule_state(&o->rc));
    s = jv_object_set(s, jv_string("data"), JV_OBJECT(jv_string("groups"), jv_number(in->groups_read),
        jv_string("records"), jv_number(in->records_read)));
    s = jv_object_set(s, jv_string("model"), jv_string(init));
    s = jv_object_set(s, jv_string("ref"), ref ? jv_string(ref) : jv_null());
    s = jv_object_set(s, jv_string("loss"), jv_string(grpo_loss_name(o->rc.t.g.loss)));
    s = jv_object_set(s, jv_string("objective"), rc_objective_state(&o->rc));
    return s;
}

/* Where a save's tokenizer and generation files come from: the run's latest (path in lp, n
 * bytes; still there until this save prunes it), else the directory the policy was loaded from. */
static const char *files_source(ckpt_run *run, char *lp, size_t n, const char *policy_dir) {
    mrl_err e = {0};
    long ls;
    return ckpt_latest(run, &ls, lp, n, &e) == 1 ? lp : policy_dir;
}

static void save(opts *o, ckpt_run *run, ckpt_data *cd, long step, const input *in,
                 const char *init, const char *ref, const char *policy_dir) {
    mrl_err e = {0};
    char lp[PATH_MAX + 32];
    cd->files_from = files_source(run, lp, sizeof lp, policy_dir);
    cd->state = run_state(o, step, in, init, ref);
    if (ckpt_save(run, step, cd, &e)) {
        cli_on_fatal(&o->c, NULL, NULL);   /* the error exit must not try this same checkpoint again */
        cli_die(&o->c, &e);
    }
    jv_free(cd->state);
    cd->state = jv_null();
}

/* --policy-every: the model files alone, RUNDIR/policy (ckpt_save_policy). */
static void save_policy(opts *o, ckpt_run *run, ckpt_data *cd, long step, const char *policy_dir) {
    mrl_err e = {0};
    char lp[PATH_MAX + 32];
    cd->files_from = files_source(run, lp, sizeof lp, policy_dir);
    if (ckpt_save_policy(run, step, cd, &e)) cli_die(&o->c, &e);
}

/* Writes a metrics line (consumed) and flushes it; a closed pipe ends the run (checkpoint, exit 0).
 * mid_batch: the line of an update before the batch's last (--iterations K > 1), when the
 * weights are no checkpoint's: a closed pipe then lets the batch finish, and the last update's
 * line, which meets it again, ends the run with the batch checkpointed (it ended it at once,
 * and the error exit could checkpoint nothing: every step since the last checkpoint was lost). */
static void put_line(opts *o, wr_stream *w, jv m, int mid_batch) {
    mrl_err e = {0};
    if ((wr_put(w, m, &e) || wr_flush(w, &e)) && !(mid_batch && e.code == ERR_PIPE)) cli_die(&o->c, &e);
}

/* --out as this mgrpo made it (NULL: it was there, or a step has been taken): a run that ends
 * before its first step removes it again, as one that cannot start leaves none (a missing
 * input, --ref or -o directory left RUNDIR/.lock behind). Parents made with it stay. */
static const char *made_out;
static void drop_made_out(void) {
    if (!made_out) return;
    char p[PATH_MAX + 32];
    struct stat st;
    snprintf(p, sizeof p, "%s/metrics.jsonl", made_out);
    if (!stat(p, &st) && st.st_size == 0) unlink(p);
    snprintf(p, sizeof p, "%s/rollouts", made_out);
    rmdir(p);
    snprintf(p, sizeof p, "%s/.lock", made_out);
    unlink(p);
    rmdir(made_out);
    made_out = NULL;
}
static void drop_made_out_hook(void *unused, int code) { (void)unused; (void)code; drop_made_out(); }

/* The rollouts file of the step in hand until its first update is taken: an error before that
 * (a gradient that is not finite, a model that fails) takes no step, and rollouts/step-N is the
 * records step N trained on; it stayed, and kept a run directory this mgrpo made from going. */
static char pending_rollouts[PATH_MAX + 64];
static void drop_pending_rollouts(void) {
    if (pending_rollouts[0]) unlink(pending_rollouts);
    pending_rollouts[0] = 0;
}

/* What an error exit needs to checkpoint the steps taken before it (cli_on_fatal): the state
 * after the last whole batch (consistent is 0 while the optimizer changes the weights). */
typedef struct fatal_ctx {
    opts *o; ckpt_run *run; ckpt_data *cd; input *in;
    const char *init, *ref, *policy_dir;
    long step, last_saved, groups, records;
    int consistent;
} fatal_ctx;

static void on_fatal(void *p, int code) {
    fatal_ctx *f = p;
    mrl_err e = {0};
    drop_pending_rollouts();
    drop_made_out();
    if (!f->consistent || f->step <= f->last_saved) return;
    if (ckpt_same_dir(f->run, &e)) return;   /* the run directory is gone: nowhere to save (said once) */
    f->in->groups_read = f->groups; f->in->records_read = f->records;   /* what those steps consumed */
    save(f->o, f->run, f->cd, f->step, f->in, f->init, f->ref, f->policy_dir);
    if (code != ERR_PIPE)
        fprintf(stderr, "mgrpo: the %ld step%s taken before the error %s checkpointed (step %ld)\n",
                f->step - f->last_saved, f->step - f->last_saved == 1 ? "" : "s", f->step - f->last_saved == 1 ? "is" : "are", f->step);
}

/* The input as a message names it: <stdin>, the file or files, or the --batches-from list. */
static void input_name(const opts *o, char **files, int n, char *buf, size_t cap) {
    if (o->batches_from) {
        snprintf(buf, cap, "--batches-from %s", strcmp(o->batches_from, "-") ? o->batches_from : "standard input");
        return;
    }
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < (n ? n : 1) && at < cap; i++) {
        const char *f = n ? files[i] : "-";
        int k = snprintf(buf + at, cap - at, "%s%s", i ? ", " : "", strcmp(f, "-") ? f : "<stdin>");   /* as a record's FILE:LINE names it */
        at += k > 0 ? (size_t)k : 0;
    }
}

static char *abspath(const char *p) {
    char *r = realpath(p, NULL);
    if (!r) r = strdup(p);
    return r;
}

/* have_reward 0 (sft, which reads no reward): reward_mean and reward_std are null, as kl is
 * without a KL term, not the 0 of rewards never read */
static jv step_metrics(long step, const item *it, int n, const int *gs, int ng, const grpo_stats *st,
                       int have_kl, int have_reward, double gnorm, double lr, double secs) {
    double rsum = 0, lsum = 0, trunc = 0, tokens = 0;
    double *r = need(malloc((n + 1) * sizeof *r));
    jv names = jv_object();   /* per-reward sums and counts, in first-seen order */
    for (int i = 0; i < n; i++) {
        r[i] = it[i].reward; rsum += r[i]; lsum += it[i].clen; trunc += it[i].truncated;
        tokens += it[i].plen + it[i].clen;
        jv rw = jv_object_get(jv_copy(it[i].rec), jv_string("rewards"));
        if (jv_get_kind(rw) == JV_KIND_OBJECT) {
            jv_object_foreach(rw, k, v) {
                if (jv_get_kind(v) == JV_KIND_NUMBER) {
                    jv cur = jv_object_get(jv_copy(names), jv_copy(k));
                    double s = 0, c = 0;
                    if (jv_get_kind(cur) == JV_KIND_ARRAY) {
                        jv a = jv_array_get(jv_copy(cur), 0), b = jv_array_get(jv_copy(cur), 1);
                        s = jv_number_value(a); c = jv_number_value(b);
                    }
                    jv_free(cur);
                    names = jv_object_set(names, jv_copy(k), JV_ARRAY(jv_number(s + jv_number_value(v)), jv_number(c + 1)));
                }
                jv_free(k); jv_free(v);
            }
        }
        jv_free(rw);
    }
    jv per = jv_object();
    jv_object_foreach(names, k, v) {
        jv a = jv_array_get(jv_copy(v), 0), b = jv_array_get(jv_copy(v), 1);
        per = jv_object_set(per, k, jv_number(jv_number_value(a) / jv_number_value(b)));
        jv_free(v);
    }
    jv_free(names);
    jv m = jv_object();
    m = jv_object_set(m, jv_string("step"), jv_number(step));
    m = jv_object_set(m, jv_string("loss"), jv_number(st->loss));
    m = jv_object_set(m, jv_string("kl"), have_kl && st->tokens > 0 ? jv_number(st->kl_sum / st->tokens) : jv_null());
    m = jv_object_set(m, jv_string("reward_mean"), have_reward ? jv_number(n ? rsum / n : 0) : jv_null());
    m = jv_object_set(m, jv_string("reward_std"), have_reward ? jv_number(grpo_group_std_mean(r, gs, ng)) : jv_null());
    m = jv_object_set(m, jv_string("rewards"), per);
    m = jv_object_set(m, jv_string("clip_frac"), jv_number(st->tokens > 0 ? st->clipped / st->tokens : 0));
    m = jv_object_set(m, jv_string("grad_norm"), jv_number(gnorm));
    m = jv_object_set(m, jv_string("lr"), jv_number(lr));
    m = jv_object_set(m, jv_string("completion_len_mean"), jv_number(n ? lsum / n : 0));
    m = jv_object_set(m, jv_string("truncated_frac"), jv_number(n ? trunc / n : 0));
    m = jv_object_set(m, jv_string("groups"), jv_number(ng));
    m = jv_object_set(m, jv_string("tokens"), jv_number(tokens));
    m = jv_object_set(m, jv_string("tokens_per_s"), jv_number(secs > 0 ? tokens / secs : 0));
    m = jv_object_set(m, jv_string("seconds"), jv_number(secs));
    free(r);
    return m;
}

int main(int argc, char **argv) {
    opts o = {0};
    cli_init(&o.c, "mgrpo", usage);
    rc_init(&o.rc);
    o.save_every = 50;
    parse_opts(&o, argc, argv);
    mem_cli = &o.c;
    mrl_err e = {0};
#ifndef MRL_CUDA
    /* checked once here, not by each rank */
    if (o.gpus > 1) cli_usage(&o.c, "--gpus %d: data parallel needs a CUDA build (make CUDA=1)", o.gpus);
#else
    if (o.gpus > 1 && !getenv("MRL_WORLD")) {   /* once here: every rank said it, or the ranks that could start waited for the rest */
        int nd = cuda_device_count();
        if (nd < o.gpus)
            cli_usage(&o.c, "--gpus %d: this machine has %d CUDA device%s%s", o.gpus, nd, nd == 1 ? "" : "s",
                      getenv("CUDA_VISIBLE_DEVICES") ? " visible (CUDA_VISIBLE_DEVICES)" : "");
        if (dist_nccl_check(&e)) cli_die(&o.c, &e);
    }
#endif
    struct stat ost;   /* said as minit says it (it was the first file made inside failing, exit 3) */
    if (stat(o.out, &ost) == 0 && !S_ISDIR(ost.st_mode)) cli_dief(&o.c, 1, "--out %s: exists and is not a directory", o.out);
    if (o.gpus > 1 && !getenv("MRL_WORLD")) {   /* become the launcher of one rank per GPU */
        int rc = dist_spawn(argc, argv, optind, o.gpus, &e);
        jqf_free(o.freward);
        if (e.msg[0]) cli_die(&o.c, &e);
        return rc;
    }
    cli_signals();
    int rank, world, local;
    if (dist_env(&rank, &world, &local, &e)) cli_die(&o.c, &e);
    char devbuf[32];
    if (world > 1 && (!o.c.device || !strcmp(o.c.device, "auto") || !strcmp(o.c.device, "cuda"))) {
        snprintf(devbuf, sizeof devbuf, "cuda:%d", local);   /* one GPU per rank on its node */
        o.c.device = devbuf;
    }
    int lead = rank == 0;   /* rank 0 alone writes metrics, rollouts and checkpoints */

    ckpt_run run;
    char latest[PATH_MAX + 32];
    long step = 0;
    /* a new run's schedule is checked before ckpt_open creates --out (a usage error leaves
       nothing behind); a resumed run's once its trainer_state.json is read */
    int resolved = !ckpt_has_latest(o.out);
    if (resolved) {   /* nor does a run that cannot start (an empty RUNDIR would be left behind) */
        resolve(&o, jv_invalid(), NULL);
        if (o.resume) cli_dief(&o.c, 1, "--resume: %s has no latest checkpoint", o.out);
        if (!o.model) cli_usage(&o.c, "--model DIR is needed to start a run (%s has no latest)", o.out);
        mrl_config cf;   /* a --model that is not a model directory */
        if (config_load(&cf, o.model, &e)) cli_die(&o.c, &e);
        /* an --out that is a model (a step directory: RUN/latest, a slip for RUN) would get a
           run's files and step directories among its own */
        char cp[PATH_MAX + 16];
        snprintf(cp, sizeof cp, "%s/config.json", o.out);
        if (access(cp, F_OK) == 0)
            cli_usage(&o.c, "--out %s holds config.json: a model or a step directory, not a run (name a new directory, or a run's)", o.out);
    }
    FILE *list = NULL;   /* --batches-from: opened before RUNDIR is made (a missing one leaves none) */
    if (o.batches_from && !(list = strcmp(o.batches_from, "-") ? fopen(o.batches_from, "r") : stdin)) {
        if (errno == EINTR && cli_stop_requested()) {   /* a FIFO that waited for its writer: a stop */
            fflush(NULL);
            _exit(128 + cli_stop_requested());   /* as cli's stops end: nothing to settle yet, the filters still held */
        }
        cli_dief(&o.c, 1, "%s: %s", o.batches_from, strerror(errno));
    }
    int fresh = lead && access(o.out, F_OK) != 0;
    if (ckpt_open(&run, o.out, (int)o.keep, lead, &e)) cli_die(&o.c, &e);   /* rank 0 locks the run */
    if (fresh) { made_out = o.out; cli_on_fatal(&o.c, drop_made_out_hook, NULL); }
    if (rank == 0) ckpt_clear_policy(&run);   /* an earlier run's, whatever this one's options: it starts from latest */
    int have = ckpt_latest(&run, &step, latest, sizeof latest, &e);
    if (have < 0) cli_die(&o.c, &e);
    jv state = jv_invalid();
    char *init = NULL, *refdir = NULL;
    if (have) {
        if (!(state = ckpt_load_state(latest, &e), jv_is_valid(state)) || ckpt_check_state(state, latest, step, &e))
            cli_die(&o.c, &e);
        const char *m = rec_str(state, "model");
        init = strdup(m ? m : latest);
        if (o.model) check_same_model(&o, o.model, latest, 0);
        const char *r = rec_str(state, "ref");
        if (!o.ref && r) refdir = strdup(r);
        /* the run's seed, where --seed does not give another (a resume recorded 0) */
        jv sv = jv_object_get(jv_copy(state), jv_string("seed"));
        double sd = jv_get_kind(sv) == JV_KIND_NUMBER ? jv_number_value(sv) : -1;
        if (!o.c.seed_given && jv_get_kind(sv) != JV_KIND_INVALID) {
            /* as written: a double, so a --seed past 2^53 comes back rounded (mgrpo draws
               nothing from it); anything else is a damaged state, as its other fields */
            if (sd >= 0 && sd < 18446744073709551616.0 && sd == floor(sd)) o.c.seed = (uint64_t)sd;
            else cli_dief(&o.c, 1, "%s/trainer_state.json: \"seed\" is not a whole number in [0, 2^64) (--seed N gives the run one)",
                          latest);
        }
        jv_free(sv);
        if (o.ref && r) {   /* a changed reference is taken, as a changed option is, said aloud */
            char *mine = abspath(o.ref);
            if (strcmp(mine, r))
                cli_warn(&o.c, "--ref %s replaces the run's reference %s (%s/trainer_state.json)", mine, r, latest);
            free(mine);
        }
    } else if (!o.model) {   /* latest went away since resolved was set */
        cli_usage(&o.c, "--model DIR is needed to start a run (%s has no latest)", o.out);
    } else init = abspath(o.model);
    if (!resolved) resolve(&o, state, latest);
    if (!refdir) refdir = abspath(o.ref ? o.ref : init);
    int use_ref = o.rc.t.g.beta != 0 && o.rc.t.g.loss != GRPO_LOSS_SFT;
    const char *policy_dir = have ? latest : o.model;

    model_opts mo = {.device = o.c.device, .bf16 = o.dtype && !strcmp(o.dtype, "bf16"), .trainable = 1,
                     .grad_checkpoint = o.gckpt, .threads = o.threads};
    mrl_model *policy = model_load(policy_dir, &mo, &e);
    if (!policy) cli_die(&o.c, &e);
    /* a tokenizer file the first save cannot copy lost every step before it */
    if (lead && !o.no_ckpt && ckpt_check_sources(policy_dir, &e)) cli_die(&o.c, &e);
    if (model_backend(policy)->note[0]) cli_warn(&o.c, "%s", model_backend(policy)->note);
    mrl_model *ref = NULL;
    if (use_ref) {
        check_same_model(&o, refdir, policy_dir, 1);
        model_opts ro = mo; ro.trainable = 0; ro.grad_checkpoint = 0;
        ro.train_numerics = 1;   /* the policy's arithmetic, so that KL is 0 while they agree */
        if (!(ref = model_load(refdir, &ro, &e))) cli_die(&o.c, &e);
    }
    const mrl_config *cfg = model_config(policy);
    o.cfg = cfg;
    mrl_dist *dist = NULL;
    if (world > 1) {
        const char *job = dist_job_key();
        if (!job) cli_dief(&o.c, 2, "rank %d of %d: set MRL_JOB to the same value in every rank (srun and mpirun set their own job ids)", rank, world);
        char idp[PATH_MAX + 128];
        snprintf(idp, sizeof idp, "%s/.nccl-id.%s", o.out, job);
        if (!(dist = dist_init(model_backend(policy), idp, 600, &e))) cli_die(&o.c, &e);
    }
    const mrl_backend *be = model_backend(policy);   /* the optimizer runs in the model's queue */
    mrl_param *params;
    int np = model_params(policy, &params);
    if (have && !o.optim_given) {   /* the state is one optimizer's: an sgd run need not repeat --optimizer */
        char p[PATH_MAX + 64];
        snprintf(p, sizeof p, "%s/optimizer.safetensors", latest);
        int v = optim_saved_kind(p);   /* one that cannot be read is optim_load's error, below */
        if (v >= 0) o.rc.oo.kind = v;
    }
    optim *opt = optim_create(be, params, np, &o.rc.oo, &e);
    if (!opt) cli_die(&o.c, &e);
    if (have) {
        char p[PATH_MAX + 64];
        snprintf(p, sizeof p, "%s/optimizer.safetensors", latest);
        if (optim_load(opt, p, &e)) cli_die(&o.c, &e);
        if (optim_steps(opt) != step)   /* AdamW's bias correction would use the other step */
            cli_dief(&o.c, 1, "%s: metadata \"step\" is %ld, but the checkpoint is step %ld", p, optim_steps(opt), step);
        model_sync_weights(policy);
        if (lead && ckpt_metrics_truncate(&run, step, &e)) cli_die(&o.c, &e);
    } else if (lead && ckpt_metrics_truncate(&run, 0, &e))   /* a run that stopped before its first checkpoint, */
        cli_die(&o.c, &e);                                /* or one without checkpoints, starts over: its lines go */

    const char *save_dtype = !strcmp(cfg->torch_dtype, "bfloat16") ? "bf16" : "fp32";

    input in = {0};
    in.keep_raw = !o.no_ckpt && lead;
    in.pending = jv_invalid();
    in.list = list;
    if (!list) {
        if (!(in.rd = rd_open((const char *const *)argv + optind, argc - optind, &e))) cli_die(&o.c, &e);
        rd_set_stop(in.rd, cli_stop_requested);   /* a signal ends a blocked read */
    }
    if (have && o.resume_data) {   /* skip what the run already consumed */
        jv d = jv_object_get(jv_copy(state), jv_string("data"));
        double g = 0;
        if (jv_get_kind(d) == JV_KIND_OBJECT) rec_num(d, "groups", &g);
        jv_free(d);
        long skip = (long)g;
        int saved = o.partial; o.partial = 1;
        while (skip > 0) {
            item *it; int n, *gs;
            int ng = read_batch(&o, &in, skip > 1000 ? 1000 : (int)skip, &it, &n, &gs, cfg->vocab_size);
            for (int i = 0; i < n; i++) item_free(&it[i]);
            free(it); free(gs);
            if (!ng) break;
            skip -= ng;
        }
        o.partial = saved;
    }
    in.groups_read = 0; in.records_read = 0;
    if (have) {
        jv d = jv_object_get(jv_copy(state), jv_string("data"));
        double g = 0, r = 0;
        if (jv_get_kind(d) == JV_KIND_OBJECT) { rec_num(d, "groups", &g); rec_num(d, "records", &r); }
        jv_free(d);
        in.groups_read = (long)g; in.records_read = (long)r;
    }

    /* the metrics stream is rank 0's: another rank writing its own (an empty zstd frame into a
       shared stdout, an empty file renamed over -o FILE) would spoil it */
    wr_stream *w = lead ? cli_writer(&o.c) : NULL;
    progress *pg = prog_start(&o.c, "steps", o.steps);
    if (!list) prog_input(pg, in.rd);   /* without --steps, % and ETA from the input's size where known */
    long done = 0, last_saved = step, last_policy = step;
    long long tokens_done = 0;   /* prompt + completion tokens trained on, for the progress line's rate */
    ckpt_data cd = {policy, save_dtype, opt, init, jv_null()};
    fatal_ctx fc = {&o, &run, &cd, &in, init, refdir, policy_dir, step, last_saved,
                    in.groups_read, in.records_read, 1};
    if (lead && !o.no_ckpt) cli_on_fatal(&o.c, on_fatal, &fc);
    /* --batches-from: a batch's last metrics line, written once the batch's checkpoint is (for
       the last batch, the final checkpoint below), so a driver acting on it finds it whole */
    jv held = jv_invalid();
    for (;;) {
        if (o.steps > 0 && done >= o.steps) break;
        if (!dist && cli_stop_requested()) break;   /* the ranks decide together, below */
        item *it; int n, *gs;
        if (in.list && !next_batch_file(&o, &in)) break;
        int ng = read_batch(&o, &in, o.groups, &it, &n, &gs, cfg->vocab_size);
        if (in.list && !ng && !cli_stop_requested())   /* a driver waits for this step */
            cli_dief(&o.c, 1, "%s: no records to train on: no step taken", in.path);
        int go = ng && !cli_stop_requested();
        if (dist) {   /* the ranks stop together: one that stopped alone (a forwarded signal takes a
                         moment to reach each) left the others waiting in the gradient all-reduce */
            double v = go;
            if (dist_allreduce_host(dist, &v, 1, &e)) cli_die(&o.c, &e);
            go = v > world - 0.5;
        }
        if (!go) {   /* a batch cut short by a signal is not trained on */
            in.groups_read -= ng; in.records_read -= n;   /* nor counted as consumed */
            for (int i = 0; i < n; i++) item_free(&it[i]);
            free(it); free(gs);
            break;
        }
        if (o.groups > 0 && ng < o.groups && !o.partial)
            cli_dief(&o.c, 1, "%s: the input ended with %d group%s, fewer than --groups %d (--allow-partial trains on them)",
                     it[n - 1].where, ng, ng == 1 ? "" : "s", o.groups);
        double *rw = need(malloc(n * sizeof *rw)), *adv = need(malloc(n * sizeof *adv));
        tr_seq *sq = need(malloc(n * sizeof *sq));
        int maxlen = 1;
        long long batch_tokens = 0;
        for (int i = 0; i < n; i++) {
            rw[i] = it[i].reward; adv[i] = 0; if (it[i].clen > maxlen) maxlen = it[i].clen;
            batch_tokens += it[i].plen + it[i].clen;
        }
        if (o.rc.t.g.loss != GRPO_LOSS_SFT && grpo_advantages(rw, gs, ng, o.rc.adv, o.rc.scale, o.partial, adv, &e))
            cli_die(&o.c, &e);
        for (int i = 0; i < n; i++)
            sq[i] = (tr_seq){it[i].prompt, it[i].plen, it[i].comp, it[i].clen, it[i].old, it[i].truncated, adv[i]};
        o.rc.t.max_len = o.rc.maxlen_opt ? o.rc.maxlen_opt : maxlen;
        int nmine = n;
        tr_norm nm = {0};   /* data parallel: the whole batch's normalisers, per rank */
        if (world > 1) nmine = trainer_share(&o.rc.t, sq, n, rank, world, &nm);   /* this rank's share */
        if (!o.no_ckpt && lead) {   /* the rollouts this step trains on */
            char rp[PATH_MAX + 64];
            if (ckpt_rollouts_path(&run, step + 1, rp, sizeof rp, &e)) cli_die(&o.c, &e);
            wr_opts wo = {rp, 0, 3};
            wr_stream *rwr = wr_open(&wo, &e);
            for (int i = 0; rwr && i < n; i++) if (wr_put_from(rwr, jv_copy(it[i].rec), it[i].raw, it[i].raw_len, &e)) { wr_abort(rwr); rwr = NULL; }
            if (!rwr || wr_close(rwr, &e)) cli_die(&o.c, &e);
            snprintf(pending_rollouts, sizeof pending_rollouts, "%s", rp);
        }
        for (int k = 0; k < o.rc.iterations; k++) {
            double t0 = now_s();
            grpo_stats st = {0};
            model_zero_grad(policy);
            if (trainer_accumulate_norm(policy, ref, &o.rc.t, sq, nmine, world > 1 ? &nm : NULL, &st, &e)) cli_die(&o.c, &e);
            if (dist) {   /* the mean over the whole batch: each rank's loss is a mean over its share */
                double v[4] = {st.loss, st.kl_sum, st.clipped, st.tokens};
                if (dist_allreduce_grads(dist, policy, &e) || dist_allreduce_host(dist, v, 4, &e)) cli_die(&o.c, &e);
                st = (grpo_stats){v[0] / world, v[1], v[2], v[3]};
            }
            double gnorm = optim_grad_norm(opt), fac = optim_clip_factor(gnorm, o.rc.max_grad_norm);
            double lr = o.rc.lr * sched_factor(&o.rc.so, step + 1);
            if (!isfinite(gnorm)) {
                int wt = 0;
                const char *where = optim_nonfinite(opt, &wt);
                cli_dief(&o.c, 1, "step %ld: the gradient is not finite; no update taken%s%s%s", step + 1,
                         where ? (wt ? ": the weight \"" : ": first in the gradient of \"") : "", where ? where : "",
                         where ? (wt ? "\" holds a NaN or inf (is the model whole?)" : "\"") : "");
            }
            fc.consistent = 0;   /* the weights change from here until the batch's last update */
            if (optim_step(opt, lr, fac, &e)) cli_die(&o.c, &e);   /* the bf16 forward copy too */
            step++; done++;
            made_out = NULL;   /* the run has a step: it stays */
            pending_rollouts[0] = 0;   /* and this file is its records */
            if (k == o.rc.iterations - 1) {   /* a whole batch taken: what an error exit may checkpoint */
                fc.step = step; fc.groups = in.groups_read; fc.records = in.records_read; fc.consistent = 1;
                /* the new policy for a sampler, before the line that tells a driver the step is done */
                if (o.policy_every > 0 && lead && step / o.policy_every > last_policy / o.policy_every) {
                    save_policy(&o, &run, &cd, step, policy_dir);
                    last_policy = step;
                }
            }
            jv m = step_metrics(step, it, n, gs, ng, &st, use_ref, o.rc.t.g.loss != GRPO_LOSS_SFT, gnorm, lr, now_s() - t0);
            if (lead) {
                jv line = jv_dump_string(jv_copy(m), 0);
                if (ckpt_metrics_append(&run, jv_string_value(line), &e)) {   /* the step's line still reaches stdout */
                    mrl_err e2 = {0};
                    if (!wr_put(w, jv_copy(m), &e2)) wr_flush(w, &e2);
                    cli_die(&o.c, &e);
                }
                jv_free(line);
                if (in.list && k == o.rc.iterations - 1) held = m;
                else put_line(&o, w, m, k < o.rc.iterations - 1);
            } else jv_free(m);
            tokens_done += batch_tokens;
            prog_update(pg, done, tokens_done);
        }
        for (int i = 0; i < n; i++) item_free(&it[i]);
        free(it); free(gs); free(rw); free(adv); free(sq);
        int last = (o.steps > 0 && done >= o.steps) || cli_stop_requested();
        if (o.no_ckpt || !lead) last_saved = step;
        if (o.save_every > 0 && step / o.save_every > last_saved / o.save_every && !last) {
            save(&o, &run, &cd, step, &in, init, refdir, policy_dir);
            last_saved = step;
        }
        fc.last_saved = last_saved;
        if (!last && jv_is_valid(held)) { put_line(&o, w, held, 0); held = jv_invalid(); }
    }
    cli_on_fatal(&o.c, NULL, NULL);
    if (step > last_saved && lead) {
        save(&o, &run, &cd, step, &in, init, refdir, policy_dir);
    }
    if (jv_is_valid(held)) put_line(&o, w, held, 0);
    dist_free(dist);
    prog_end(pg);
    drop_made_out();   /* no step taken (a stop, or no records) */
    if (!done && !cli_stop_requested()) {   /* a loop that asked for a step must not think it took one */
        char what[PATH_MAX + 64];
        input_name(&o, argv + optind, argc - optind, what, sizeof what);
        cli_dief(&o.c, 1, "%s: no records to train on%s: no step taken", what,
                 have && o.resume_data ? " past the groups earlier steps took (--resume-data)" : "");
    }
    rd_close(in.rd);
    if (in.list && in.list != stdin) fclose(in.list);
    free(in.path);
    hset_free(&in.seen);
    jv_free(in.pending);
    free(in.pending_raw);
    jv_free(state);
    optim_free(opt);
    model_free(ref);
    model_free(policy);
    jqf_free(o.freward);
    free(init); free(refdir);
    return cli_finish(&o.c, w);
}
