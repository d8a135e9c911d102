/* optim.h — the optimizer of mgrpo: AdamW (torch.optim.AdamW's formula) or plain SGD on the
 * model's fp32 master weights, gradient-norm clipping as torch's clip_grad_norm_, and the
 * Hugging Face learning-rate schedules; state (moments, step) saved and loaded exactly. */
#ifndef MRL_OPTIM_H
#define MRL_OPTIM_H
#include "err.h"
#include "model.h"
#include "ops.h"

typedef enum optim_kind { OPTIM_ADAMW, OPTIM_SGD } optim_kind;
typedef enum sched_kind { SCHED_CONSTANT, SCHED_LINEAR, SCHED_COSINE, SCHED_COSINE_MIN_LR, SCHED_CONSTANT_WARMUP } sched_kind;

int optim_parse_kind(const char *s);    /* "adamw" | "sgd"; -1 if unknown */
/* "constant" | "linear" | "cosine" | "cosine_with_min_lr" | "constant_with_warmup", as
 * transformers' get_scheduler names them: "constant" ignores the warmup */
int sched_parse(const char *s);
const char *sched_name(sched_kind k);

typedef struct sched_opts {
    sched_kind kind;
    long total;          /* schedule length in optimizer steps (--total-steps) */
    long warmup;         /* warmup steps */
    double min_lr_rate;  /* cosine_with_min_lr floor as a fraction of lr */
} sched_opts;

/* --warmup: a value below 1 is a ratio of total (HF: ceil(ratio * total)), else steps. */
long sched_warmup_steps(double warmup, long total);
/* Multiplier of the base lr for the optimizer step `step` (1-based). As the HF Trainer, whose
 * LambdaLR is stepped after each optimizer step, step k uses lambda(k - 1): with warmup the
 * first step has lr 0. Formulas of transformers.optimization (get_*_schedule_with_warmup);
 * past total (where the HF Trainer has stopped) the factor stays at its end value (linear and
 * cosine 0, cosine_with_min_lr min_lr_rate) instead of following the cosine back up. */
double sched_factor(const sched_opts *s, long step);

typedef struct optim_opts {
    optim_kind kind;
    double beta1, beta2, eps;     /* AdamW (defaults 0.9, 0.999, 1e-8) */
    double weight_decay;          /* decoupled; not applied to biases and norm weights (HF) */
} optim_opts;

typedef struct optim optim;
/* State for the n parameters (m, v in backend memory for AdamW). params are not owned. */
optim *optim_create(const mrl_backend *be, mrl_param *params, int n, const optim_opts *o, mrl_err *e);
void optim_free(optim *opt);
/* Global L2 norm of every gradient (double accumulation). */
double optim_grad_norm(optim *opt);
/* Where a gradient that is not finite comes from, for the message: the first parameter whose
 * fp32 master weight holds a NaN or inf (*weight = 1), else the first whose gradient does
 * (*weight = 0); NULL when none does. Reads every tensor back to the host: for the error path. */
const char *optim_nonfinite(optim *opt, int *weight);
/* torch clip_grad_norm_: factor min(1, max_norm / (norm + 1e-6)); 1 when max_norm <= 0. */
double optim_clip_factor(double norm, double max_norm);
/* One update with learning rate lr and gradients multiplied by grad_scale (the clip factor).
 * AdamW: w -= lr wd w; Adam step on g * grad_scale. SGD: w -= lr wd w; w -= lr g grad_scale.
 * A parameter with a bf16 forward copy (mrl_param.fw) gets it rewritten in the same pass, so
 * no model_sync_weights is needed after a step. */
int optim_step(optim *opt, double lr, double grad_scale, mrl_err *e);
long optim_steps(const optim *opt);   /* updates taken (AdamW's bias-correction step) */

/* Saves to a safetensors file: "exp_avg.NAME", "exp_avg_sq.NAME" (AdamW) and, when
 * with_master, "master.NAME" (fp32 weights, for checkpoints whose model file is bf16);
 * metadata "step", "optimizer". Atomic (temp file, fsync, rename). */
int optim_save(optim *opt, const char *path, int with_master, mrl_err *e);
/* Loads a file written by optim_save for the same parameters: every tensor present with the
 * parameter's shape, else an error naming it; "master.*" when present overwrite the weights. */
int optim_load(optim *opt, const char *path, mrl_err *e);
/* The optimizer (OPTIM_*) whose state the file at path holds: -1 when it cannot be read or
 * names none (optim_load then says why or accepts it). */
int optim_saved_kind(const char *path);
#endif
