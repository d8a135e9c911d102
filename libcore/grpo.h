/* grpo.h — the GRPO objective on per-token log-probs: group advantages, the per-sequence
 * normalisers of each loss variant (TRL's grpo/bnpo/dr_grpo/dapo, and sft), and the loss with
 * its gradient dL/dlogp for one sequence at a time (host arrays; the model does the rest). */
#ifndef MRL_GRPO_H
#define MRL_GRPO_H
#include <stddef.h>
#include "err.h"

typedef enum grpo_loss { GRPO_LOSS_GRPO, GRPO_LOSS_BNPO, GRPO_LOSS_DR_GRPO, GRPO_LOSS_DAPO,
                         GRPO_LOSS_SFT } grpo_loss;
typedef enum grpo_adv { GRPO_ADV_GRPO, GRPO_ADV_RLOO, GRPO_ADV_REINFORCE_PP } grpo_adv;
typedef enum grpo_scale { GRPO_SCALE_GROUP, GRPO_SCALE_BATCH, GRPO_SCALE_NONE } grpo_scale;

/* Names as on the command line ("grpo", "rloo", "group", ...); -1 if unknown. */
int grpo_parse_loss(const char *s);
int grpo_parse_adv(const char *s);
int grpo_parse_scale(const char *s);
const char *grpo_loss_name(grpo_loss l);
const char *grpo_adv_name(grpo_adv a);
const char *grpo_scale_name(grpo_scale s);

typedef struct grpo_opts {
    grpo_loss loss;
    double beta;          /* k3 KL weight; 0 = no reference model */
    double epsilon;       /* lower clip: ratio >= 1 - epsilon */
    double epsilon_high;  /* upper clip: ratio <= 1 + epsilon_high */
    double delta;         /* dual-clip: the unclipped ratio is capped at delta (0 = off) */
    int seq_importance;   /* 1 = GSPO: one ratio per sequence (mean log-ratio over its tokens) */
} grpo_opts;

/* Rewards larger than this in magnitude are refused: the group's sum of squares would overflow
 * (a reward of 1e200 gave a std of inf and every advantage 0, silently). */
#define GRPO_REWARD_MAX 1e100
/* Advantages of n rewards in groups: group g is rewards[start[g] .. start[g+1]).
 * grpo: r - mean_g; rloo: r - mean of the others in the group (= G/(G-1) (r - mean_g));
 * then scaled by 1/(std + 1e-4), std the unbiased (N-1) std of the group (scale group) or
 * of every reward of the batch (scale batch), or left (none).
 * reinforce++: r - mean_g, then whitened over the batch: (A - mean(A)) / (std(A) + 1e-4);
 * `scale` is ignored. A group of equal rewards has advantage exactly 0 before whitening (not
 * the rounding error of its mean). A group of one record has no baseline: an error unless allow_single,
 * which gives it advantage 0. Non-finite rewards are an error naming the record index. */
int grpo_advantages(const double *rewards, const int *start, int ngroups, grpo_adv adv,
                    grpo_scale scale, int allow_single, double *out, mrl_err *e);
/* Unbiased std of each group (for the reward_std metric: its mean over groups). */
double grpo_group_std_mean(const double *rewards, const int *start, int ngroups);

/* Per-sequence loss weights: the step's loss is sum_i scale[i] * sum_t mask_t l_{i,t}.
 * ntok[i] = tokens of completion i that count (0 for a masked --mask-truncated one);
 * sequences form micro-batches of mb consecutive sequences (the last may be shorter).
 *   grpo:    1 / (max(ntok_i,1) * n)                  per-sequence mean, then mean
 *   bnpo:    1 / (max(sum_{j in mb} ntok_j,1) * nmb)  token mean in each micro-batch, then mean
 *                                                     over micro-batches (TRL 0.16, Open-RS)
 *   dr_grpo: 1 / (n * max_len)                        constant normaliser
 *   dapo, sft: 1 / max(sum_j ntok_j, 1)               token mean over the whole step */
void grpo_seq_scales(grpo_loss loss, const int *ntok, int n, int mb, int max_len, double *scale);

/* Sums over the step, for the metrics. */
typedef struct grpo_stats {
    double loss;         /* the objective (sum of weighted terms) */
    double kl_sum;       /* sum of per-token k3 KL over counted tokens */
    double clipped;      /* counted tokens in the clipped region */
    double tokens;       /* counted tokens */
} grpo_stats;

/* One completion of len tokens: logp (current policy), old (old policy, NULL = the detached
 * current policy, so ratio 1), ref (reference, NULL when beta == 0), adv its advantage,
 * masked = 1 excludes it from the loss (dlogp 0). Writes dlogp[len] = scale * d(sum_t l_t)/dlogp_t
 * and adds to st. Per token: ratio r = exp(logp - old) (GSPO: exp of the sequence's mean
 * log-ratio), c = clamp(r, 1-eps, 1+eps_high), r' = min(r, delta) when delta > 0,
 * l = -min(r' A, c A) + beta (exp(ref - logp) - (ref - logp) - 1); sft: l = -logp. */
void grpo_seq_loss(const grpo_opts *o, int len, const float *logp, const float *old,
                   const float *ref, double adv, int masked, double scale, float *dlogp,
                   grpo_stats *st);
#endif
