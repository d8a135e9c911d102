/* trainer.h — one GRPO/SFT gradient pass of mgrpo over a batch of completions: packs them into
 * micro-batches, runs the policy (and the reference) forward, turns log-probs into dL/dlogp
 * with grpo.c and runs the backward, accumulating gradients in the model. */
#ifndef MRL_TRAINER_H
#define MRL_TRAINER_H
#include <stdint.h>
#include "err.h"
#include "grpo.h"
#include "model.h"

typedef struct tr_seq {
    const int32_t *prompt; int plen;
    const int32_t *comp; int clen;
    const float *old_logp;     /* the sampler's log-probs (clen), used when use_old */
    int truncated;             /* finish == "length" */
    double adv;                /* advantage (unused by sft) */
} tr_seq;

typedef struct tr_opts {
    grpo_opts g;
    int micro_batch;           /* sequences per forward/backward */
    int max_len;               /* dr_grpo's normaliser (max completion length) */
    int mask_truncated;        /* truncated completions count for nothing */
    int use_old;               /* ratio against old_logp (iterations > 1), else against itself */
    float temperature;         /* log-probs of logits / temperature, as the sampler drew them */
} tr_opts;

/* Accumulates the gradient of the step's loss over seqs[0..n) into the policy's gradients
 * (model_zero_grad first is the caller's) and adds the step's sums to st. ref may be NULL
 * (beta 0 or sft). */
int trainer_accumulate(mrl_model *policy, mrl_model *ref, const tr_opts *o, const tr_seq *seqs,
                       int n, grpo_stats *st, mrl_err *e);
/* The same over one rank's share of a data-parallel batch: the normalisers are those of the
 * whole batch divided among the ranks. seq_norm > 0 replaces the number of sequences (grpo,
 * dr_grpo) and token_norm > 0 the number of tokens (dapo, sft): with (the batch's sequences)
 * / world and (its tokens) / world, the mean of the ranks' gradients (the all-reduce) is the
 * gradient over the whole batch however the batch is shared out (TRL's dapo divides so). */
int trainer_accumulate_norm(mrl_model *policy, mrl_model *ref, const tr_opts *o, const tr_seq *seqs,
                            int n, double seq_norm, double token_norm, grpo_stats *st, mrl_err *e);
#endif
