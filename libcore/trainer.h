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
/* Data parallel: the normalisers of a rank's share (trainer_share), each the whole batch's count
 * divided by the world: seq (sequences; grpo, dr_grpo), token (counted tokens; dapo, sft) and
 * mb (micro-batches; bnpo). With them the mean of the ranks' gradients (the all-reduce) is the
 * one-process gradient over the whole batch (TRL's dapo divides so). */
typedef struct tr_norm { double seq, token, mb; } tr_norm;
/* The share of rank of world of a batch of n sequences, moved in order to the front of seqs;
 * returns its number of sequences and sets *nm. bnpo: the micro-batches (o->micro_batch
 * consecutive sequences of the batch, as one process packs them) rank, rank + world, ..., so
 * that its per-micro-batch token mean is the one-process one; the other losses: the rank-th
 * of world consecutive, even slices of the sequences. */
int trainer_share(const tr_opts *o, tr_seq *seqs, int n, int rank, int world, tr_norm *nm);
/* trainer_accumulate over one rank's share of a data-parallel batch, with the normalisers of
 * trainer_share (NULL: the call's own, one process). */
int trainer_accumulate_norm(mrl_model *policy, mrl_model *ref, const tr_opts *o, const tr_seq *seqs,
                            int n, const tr_norm *nm, grpo_stats *st, mrl_err *e);
#endif
