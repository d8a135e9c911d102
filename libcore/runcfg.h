/* runcfg.h — a run's schedule and objective, the options mgrpo records in trainer_state.json:
 * a resumed run keeps them (an option not given takes the run's value, one given that differs
 * replaces it, said in a warning), each checked against the range of its option. */
#ifndef MRL_RUNCFG_H
#define MRL_RUNCFG_H
#include <jv.h>
#include "err.h"
#include "optim.h"
#include "trainer.h"

/* The schedule options' bounds, for the command line and for a resumed run's "schedule" alike
   (--min-lr-rate is a fraction, at most 1; --warmup's 1e12 steps only on the command line: a
   ratio's is recorded in steps, up to the total) */
#define RC_LR_MAX 1e3
#define RC_TOTAL_MAX (1L << 40)

/* The options that define the objective, recorded in trainer_state.json ("objective"). */
enum { RC_LOSS, RC_BETA, RC_EPS, RC_EPSH, RC_DELTA, RC_IMP, RC_ADV, RC_SCALE, RC_ITER, RC_MASKT,
       RC_TEMP, RC_MAXLEN, RC_MB, RC_WD, RC_MAXGN, RC_B1, RC_B2, RC_AEPS, RC_NOBJ };
/* Which options the command line set (rc_opts.given): the schedule's, and RC_G_OBJ << i for
 * objective option i. */
enum { RC_G_SCHED = 1, RC_G_LR = 2, RC_G_WARMUP = 4, RC_G_MINLR = 8, RC_G_TOTAL = 16, RC_G_OBJ = 32 };

extern const char *const rc_key[RC_NOBJ];   /* "epsilon_high": its key in "objective" */
extern const char *const rc_opt[RC_NOBJ];   /* "--epsilon-high": its option */
/* The range of each numeric objective option (integer: whole numbers only; open: bit 1 excludes
 * hi itself, bit 2 lo, compared as floats), the one check of a value given on the command line
 * and of one read from a run's trainer_state.json; hi is 0 for the options that are names or a
 * switch. */
typedef struct rc_range { double lo, hi; int integer, open; } rc_range;
extern const rc_range rc_ranges[RC_NOBJ];

typedef struct rc_opts {
    tr_opts t;            /* t.g, micro_batch, mask_truncated, temperature; use_old set by rc_resolve */
    int adv, scale;       /* grpo_adv, grpo_scale */
    int iterations;       /* updates per batch */
    int maxlen_opt;       /* --max-completion-length (0: the longest completion of the batch) */
    optim_opts oo;        /* its kind is not recorded here: optimizer.safetensors says it */
    double max_grad_norm;
    sched_opts so;        /* so.warmup set by rc_resolve, in steps */
    double lr, warmup;    /* warmup as given: steps, or a ratio (below 1) of so.total */
    unsigned given;       /* RC_G_*: a resumed run takes the options not given from its state */
} rc_opts;

/* mgrpo's defaults, nothing given. */
void rc_init(rc_opts *r);
/* Sets numeric objective option i of r to x; -1 when x is out of its range (--delta 0 is the
 * option off, as a run without it records it). */
int rc_set_num(rc_opts *r, int i, double x);

/* Called with each warning, one line without the tool's prefix ("--lr 0.1 replaces the run's
 * 0.2 (RUN/step-000004/trainer_state.json)"). */
typedef void rc_warn_fn(void *ctx, const char *msg);
/* The schedule and the objective once the run's own are known: state is a resumed run's
 * trainer_state.json (borrowed; jv_invalid() for a new run), latest the checkpoint it is in,
 * for the messages. An option not given takes the run's value (a resumed run keeps its schedule
 * and objective without repeating them), one given that differs replaces it with a warning
 * (extending a run's --total-steps is how a pipeline continues it); a run from before
 * "objective" keeps its "loss" and this call's other options. Then the checks, and so.warmup and
 * t.use_old are set. Errors: a value in state its option does not take (ERR_INPUT, naming the
 * key and the option), a schedule that needs --total-steps without one (ERR_USAGE). */
int rc_resolve(rc_opts *r, jv state, const char *latest, rc_warn_fn *warn, void *ctx, mrl_err *e);

/* trainer_state.json's "schedule" (name, lr, warmup in steps, total_steps, min_lr_rate) and
 * "objective" (rc_key[i]: the value of option i; max_completion_length 0: from the batch), as
 * rc_resolve reads them back. */
jv rc_schedule_state(const rc_opts *r);
jv rc_objective_state(const rc_opts *r);
#endif
