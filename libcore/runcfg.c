/* runcfg.c — a run's schedule and objective against a resumed run's trainer_state.json: taken,
 * replaced with a warning, or refused naming the key and its option; and written back. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dtype.h"
#include "jqf.h"
#include "runcfg.h"

const char *const rc_key[RC_NOBJ] = {"loss", "beta", "epsilon", "epsilon_high", "delta", "importance",
    "advantage", "scale_rewards", "iterations", "mask_truncated", "temperature", "max_completion_length",
    "micro_batch", "weight_decay", "max_grad_norm", "adam_beta1", "adam_beta2", "adam_epsilon"};
const char *const rc_opt[RC_NOBJ] = {"--loss", "--beta", "--epsilon", "--epsilon-high", "--delta",
    "--importance", "--advantage", "--scale-rewards", "--iterations", "--mask-truncated", "--temperature",
    "--max-completion-length", "--micro-batch", "--weight-decay", "--max-grad-norm", "--adam-beta1", "--adam-beta2",
    "--adam-epsilon"};
const rc_range rc_ranges[RC_NOBJ] = {
    [RC_BETA] = {0, 1e9, 0, 0}, [RC_EPS] = {0, 1, 0, 0}, [RC_EPSH] = {0, 1e9, 0, 0}, [RC_DELTA] = {1, 1e9, 0, 0},
    [RC_ITER] = {1, 1000, 1, 0}, [RC_TEMP] = {1e-3, 100, 0, 0}, [RC_MAXLEN] = {0, 1 << 30, 1, 0},
    [RC_MB] = {1, 1 << 24, 1, 0}, [RC_WD] = {0, 1e3, 0, 0}, [RC_MAXGN] = {0, 1e12, 0, 0},
    [RC_B1] = {0, 1, 0, 1}, [RC_B2] = {0, 1, 0, 1}, [RC_AEPS] = {0, 1, 0, 2}};
/* (adam_epsilon: 0, or 1e-50, 0 as the float AdamW computes with, updates a zero gradient by 0/0) */
static int numeric(int i) { return rc_ranges[i].hi > 0; }

void rc_init(rc_opts *r) {
    memset(r, 0, sizeof *r);
    r->t.g = (grpo_opts){GRPO_LOSS_GRPO, 0.04, 0.2, -1, 0, 0};   /* epsilon_high: rc_resolve's */
    r->t.micro_batch = 1; r->t.temperature = 1.0f;
    r->iterations = 1; r->lr = 1e-6; r->max_grad_norm = 1.0;
    r->oo = (optim_opts){OPTIM_ADAMW, 0.9, 0.999, 1e-8, 0};
    r->so = (sched_opts){SCHED_CONSTANT, 0, 0, 0.1};
}

/* The temperature is a float: recorded as the shortest decimal of that float (0.7, not the
 * 0.699999988079071 of the float widened), compared with a run's as floats (either spelling). */
static double temp_value(float t) {
    char b[32];
    return strtod(dtype_decimal(b, sizeof b, t, 1), NULL);
}

/* Objective option i of r as JSON (max_completion_length 0: from the batch) */
static jv get(const rc_opts *r, int i) {
    switch (i) {
    case RC_LOSS: return jv_string(grpo_loss_name(r->t.g.loss));
    case RC_BETA: return jv_number(r->t.g.beta);
    case RC_EPS: return jv_number(r->t.g.epsilon);
    case RC_EPSH: return jv_number(r->t.g.epsilon_high);
    case RC_DELTA: return jv_number(r->t.g.delta);
    case RC_IMP: return jv_string(r->t.g.seq_importance ? "sequence" : "token");
    case RC_ADV: return jv_string(grpo_adv_name(r->adv));
    case RC_SCALE: return jv_string(grpo_scale_name(r->scale));
    case RC_ITER: return jv_number(r->iterations);
    case RC_MASKT: return jv_bool(r->t.mask_truncated);
    case RC_TEMP: return jv_number(temp_value(r->t.temperature));
    case RC_MB: return jv_number(r->t.micro_batch);
    case RC_WD: return jv_number(r->oo.weight_decay);
    case RC_MAXGN: return jv_number(r->max_grad_norm);
    case RC_B1: return jv_number(r->oo.beta1);
    case RC_B2: return jv_number(r->oo.beta2);
    case RC_AEPS: return jv_number(r->oo.eps);
    default: return jv_number(r->maxlen_opt);
    }
}

int rc_set_num(rc_opts *r, int i, double x) {
    if (!((x >= rc_ranges[i].lo && x <= rc_ranges[i].hi && !((rc_ranges[i].open & 1) && x == rc_ranges[i].hi) &&
           !((rc_ranges[i].open & 2) && (float)x <= (float)rc_ranges[i].lo) &&
           (!rc_ranges[i].integer || x == (int)x)) ||
          (i == RC_DELTA && x == 0)))
        return -1;
    switch (i) {
    case RC_BETA: r->t.g.beta = x; break;
    case RC_EPS: r->t.g.epsilon = x; break;
    case RC_EPSH: r->t.g.epsilon_high = x; break;
    case RC_DELTA: r->t.g.delta = x; break;
    case RC_ITER: r->iterations = (int)x; break;
    case RC_TEMP: r->t.temperature = (float)x; break;
    case RC_MAXLEN: r->maxlen_opt = (int)x; break;
    case RC_MB: r->t.micro_batch = (int)x; break;
    case RC_WD: r->oo.weight_decay = x; break;
    case RC_MAXGN: r->max_grad_norm = x; break;
    case RC_B1: r->oo.beta1 = x; break;
    case RC_B2: r->oo.beta2 = x; break;
    default: r->oo.eps = x; break;   /* RC_AEPS */
    }
    return 0;
}

/* Sets objective option i of r from v (consumed); -1 when v is not a value the option takes. */
static int set(rc_opts *r, int i, jv v) {
    int k = -1;
    const char *s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
    if (numeric(i)) {
        if (jv_get_kind(v) == JV_KIND_NUMBER) k = rc_set_num(r, i, jv_number_value(v));
    } else switch (i) {
    case RC_LOSS:
        if (s && (k = grpo_parse_loss(s)) >= 0) r->t.g.loss = k;
        break;
    case RC_IMP: if (s && (!strcmp(s, "token") || !strcmp(s, "sequence"))) { r->t.g.seq_importance = !strcmp(s, "sequence"); k = 0; } break;
    case RC_ADV: if (s && (k = grpo_parse_adv(s)) >= 0) r->adv = k; break;
    case RC_SCALE: if (s && (k = grpo_parse_scale(s)) >= 0) r->scale = k; break;
    default: /* RC_MASKT */
        if (jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE) { r->t.mask_truncated = jv_get_kind(v) == JV_KIND_TRUE; k = 0; }
        break;
    }
    jv_free(v);
    return k < 0 ? -1 : 0;
}

typedef struct { rc_warn_fn *fn; void *ctx; } warner;

/* A warning, formatted whole (a value in the state may be a long string) */
static void warnf(const warner *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(const warner *w, const char *fmt, ...) {
    if (!w->fn) return;
    va_list ap;
    va_start(ap, fmt);
    jv msg = jv_string_vfmt(fmt, ap);
    va_end(ap);
    w->fn(w->ctx, jv_string_value(msg));
    jv_free(msg);
}

/* rc_resolve's first half: "schedule" (its warmup in steps), then the checks of the options. */
static int resolve_schedule(rc_opts *r, jv state, const char *latest, const warner *wr, mrl_err *e) {
    jv sc = jv_is_valid(state) ? jv_object_get(jv_copy(state), jv_string("schedule")) : jv_invalid();
    if (jv_get_kind(sc) == JV_KIND_OBJECT) {
        const char *name = rec_str(sc, "name");
        double lr, w, total, minr;
        int kind = sched_parse(name);
        if (kind < 0 || rec_num(sc, "lr", &lr) || rec_num(sc, "warmup", &w) || rec_num(sc, "total_steps", &total) ||
            rec_num(sc, "min_lr_rate", &minr)) {
            jv_free(sc);
            return err_set(e, ERR_INPUT, "%s/trainer_state.json: \"schedule\" is not name, lr, warmup, total_steps, min_lr_rate", latest);
        }
        /* the ranges of the options they stand for (warmup in steps, total_steps 0 where none was
           given): a hand-edited -1 took the run uphill, and 1e300 steps of warmup became a long */
        static const char *const key[4] = {"lr", "warmup", "total_steps", "min_lr_rate"},
                                 *const opt[4] = {"--lr", "--warmup", "--total-steps", "--min-lr-rate"};
        const double val[4] = {lr, w, total, minr}, hi[4] = {RC_LR_MAX, RC_TOTAL_MAX, RC_TOTAL_MAX, 1};
        for (int i = 0; i < 4; i++)
            if (!(val[i] >= 0 && val[i] <= hi[i]) || ((i == 1 || i == 2) && val[i] != floor(val[i]))) {
                jv_free(sc);
                return err_set(e, ERR_INPUT, "%s/trainer_state.json: \"schedule\": \"%s\" holds %.15g, not a value of %s",
                               latest, key[i], val[i], opt[i]);
            }
        char d1[32], d2[32];
#define CHANGED(opt, fmt, mine, theirs) \
    warnf(wr, opt " " fmt " replaces the run's " fmt " (%s/trainer_state.json)", mine, theirs, latest)
        if (!(r->given & RC_G_SCHED)) r->so.kind = kind;
        else if ((int)r->so.kind != kind) CHANGED("--schedule", "%s", sched_name(r->so.kind), name);
        if (!(r->given & RC_G_LR)) r->lr = lr;
        else if (r->lr != lr) CHANGED("--lr", "%s", dtype_decimal(d1, sizeof d1, r->lr, 0), dtype_decimal(d2, sizeof d2, lr, 0));
        if (!(r->given & RC_G_TOTAL)) r->so.total = (long)total;
        else if (r->so.total != (long)total) CHANGED("--total-steps", "%ld", r->so.total, (long)total);
        if (!(r->given & RC_G_MINLR)) r->so.min_lr_rate = minr;
        else if (r->so.min_lr_rate != minr) CHANGED("--min-lr-rate", "%s", dtype_decimal(d1, sizeof d1, r->so.min_lr_rate, 0), dtype_decimal(d2, sizeof d2, minr, 0));
        if (!(r->given & RC_G_WARMUP)) r->warmup = w;   /* in steps: sched_warmup_steps keeps it */
        else if (sched_warmup_steps(r->warmup, r->so.total) != (long)w)
            CHANGED("--warmup", "%ld steps", sched_warmup_steps(r->warmup, r->so.total), (long)w);
#undef CHANGED
    }
    jv_free(sc);
    if (r->so.kind != SCHED_CONSTANT && r->so.kind != SCHED_CONSTANT_WARMUP && r->so.total <= 0)
        return err_set(e, ERR_USAGE, "--schedule %s needs --total-steps", sched_name(r->so.kind));
    if (r->warmup > 0 && r->warmup < 1 && r->so.total <= 0) return err_set(e, ERR_USAGE, "--warmup as a ratio needs --total-steps");
    if (r->so.kind == SCHED_CONSTANT && r->warmup > 0 && (r->given & RC_G_WARMUP))
        warnf(wr, "--warmup has no effect on --schedule constant (as in transformers): constant_with_warmup warms up");
    r->so.warmup = sched_warmup_steps(r->warmup, r->so.total);
    return 0;
}

/* As resolve_schedule; a run from before mrl recorded the objective keeps the options of this
 * call, as it always did. */
static int resolve_objective(rc_opts *r, jv state, const char *latest, const warner *wr, mrl_err *e) {
    jv ob = jv_is_valid(state) ? jv_object_get(jv_copy(state), jv_string("objective")) : jv_invalid();
    if (jv_is_valid(state) && jv_get_kind(ob) != JV_KIND_OBJECT) {   /* a run from before "objective": its "loss" */
        jv_free(ob);
        jv l = jv_object_get(jv_copy(state), jv_string("loss"));
        ob = jv_get_kind(l) == JV_KIND_STRING ? JV_OBJECT(jv_string("loss"), l) : (jv_free(l), jv_invalid());
    }
    if (jv_get_kind(ob) == JV_KIND_OBJECT)
        for (int i = 0; i < RC_NOBJ; i++) {
            jv theirs = jv_object_get(jv_copy(ob), jv_string(rc_key[i]));
            if (!jv_is_valid(theirs)) { jv_free(theirs); continue; }
            if (!(r->given & (RC_G_OBJ << i))) {
                jv t = jv_dump_string(jv_copy(theirs), 0);
                if (set(r, i, theirs) < 0) {
                    err_set(e, ERR_INPUT, "%s/trainer_state.json: \"objective\": \"%s\" holds %s, not a value of %s", latest,
                            rc_key[i], jv_string_value(t), rc_opt[i]);
                    jv_free(t); jv_free(ob);
                    return -1;
                }
                jv_free(t);
                continue;
            }
            jv mine = get(r, i);
            int same = i == RC_TEMP && jv_get_kind(theirs) == JV_KIND_NUMBER
                     ? (float)jv_number_value(theirs) == r->t.temperature : jv_equal(jv_copy(mine), jv_copy(theirs));
            if (!same) {
                if (i == RC_MASKT) {   /* a switch: named as given, not as "--mask-truncated false" */
                    warnf(wr, "%s replaces the run's %s (%s/trainer_state.json)",
                          jv_get_kind(mine) == JV_KIND_TRUE ? "--mask-truncated" : "--no-mask-truncated",
                          jv_get_kind(theirs) == JV_KIND_TRUE ? "--mask-truncated" : "--no-mask-truncated", latest);
                    jv_free(mine); jv_free(theirs);
                } else {
                    jv a = jv_dump_string(mine, 0), b = jv_dump_string(theirs, 0);
                    warnf(wr, "%s %s replaces the run's %s (%s/trainer_state.json)", rc_opt[i], jv_string_value(a),
                          jv_string_value(b), latest);
                    jv_free(a); jv_free(b);
                }
            } else { jv_free(mine); jv_free(theirs); }
        }
    /* --epsilon-high defaults to --epsilon: a run that took that default follows a new --epsilon */
    if (jv_get_kind(ob) == JV_KIND_OBJECT && (r->given & (RC_G_OBJ << RC_EPS)) && !(r->given & (RC_G_OBJ << RC_EPSH))) {
        jv re = jv_object_get(jv_copy(ob), jv_string("epsilon")), rh = jv_object_get(jv_copy(ob), jv_string("epsilon_high"));
        if (jv_get_kind(re) == JV_KIND_NUMBER && jv_get_kind(rh) == JV_KIND_NUMBER &&
            jv_number_value(re) == jv_number_value(rh))
            r->t.g.epsilon_high = r->t.g.epsilon;
        jv_free(re); jv_free(rh);
    }
    jv_free(ob);
    r->t.use_old = r->iterations > 1 && r->t.g.loss != GRPO_LOSS_SFT;
    return 0;
}

int rc_resolve(rc_opts *r, jv state, const char *latest, rc_warn_fn *warn, void *ctx, mrl_err *e) {
    warner wr = {warn, ctx};
    /* --epsilon-high not given is --epsilon's (the run's, when it has one, replaces it below) */
    if (!(r->given & (RC_G_OBJ << RC_EPSH))) r->t.g.epsilon_high = r->t.g.epsilon;
    if (resolve_schedule(r, state, latest, &wr, e)) return -1;
    return resolve_objective(r, state, latest, &wr, e);
}

jv rc_schedule_state(const rc_opts *r) {
    return JV_OBJECT(jv_string("name"), jv_string(sched_name(r->so.kind)),
        jv_string("lr"), jv_number(r->lr), jv_string("warmup"), jv_number(r->so.warmup),
        jv_string("total_steps"), jv_number(r->so.total), jv_string("min_lr_rate"), jv_number(r->so.min_lr_rate));
}

jv rc_objective_state(const rc_opts *r) {
    jv ob = jv_object();
    for (int i = 0; i < RC_NOBJ; i++) ob = jv_object_set(ob, jv_string(rc_key[i]), get(r, i));
    return ob;
}
