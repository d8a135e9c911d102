/* sampler.h — picks the next token from one row of logits: temperature (0 = greedy),
 * top-k, top-p, min-p, by partial selection (never a full sort of the vocabulary).
 *
 * The log-prob returned with a token is log softmax(logits / T)[token], taken BEFORE any
 * top-k/top-p/min-p truncation: the quantity mgrpo computes for the same token at the
 * same --temperature, so rollouts can serve as the old policy. At T = 0 (greedy) it is
 * log softmax(logits)[token], i.e. at T = 1.
 *
 * Truncation order is that of Hugging Face and vLLM: top-k, then top-p over the
 * renormalised top-k set, then min-p (relative to the most likely token). */
#ifndef MRL_SAMPLER_H
#define MRL_SAMPLER_H
#include <stdint.h>
#include "rng.h"

typedef struct smp_params {
    float temperature;   /* 0 = greedy (argmax, first index on ties) */
    int   top_k;         /* 0 = off; tokens tied with the k-th largest stay (as HF, vLLM) */
    float top_p;         /* 1 = off; keep the smallest most-likely set with mass >= top_p */
    float min_p;         /* 0 = off; keep tokens with p >= min_p * p_max */
} smp_params;

void smp_defaults(smp_params *p);        /* T = 1, no truncation */

/* Scratch memory for one row of `vocab` logits; one per thread. */
typedef struct smp_ws smp_ws;
smp_ws *smp_ws_new(int vocab);
void smp_ws_free(smp_ws *w);

/* Picks a token from logits[0..V). With T > 0 it draws exactly one rng_uniform() from
 * rng (so a sequence's stream advances one word pair per token whatever the options);
 * greedy draws nothing. *logprob (if non-NULL) gets the log-prob defined above. */
int32_t smp_sample(smp_ws *w, const smp_params *p, const float *logits, int V,
                   mrl_rng *rng, float *logprob);

/* smp_sample with its uniform given (the draw it would take from rng; ignored when greedy). */
int32_t smp_sample_u(smp_ws *w, const smp_params *p, const float *logits, int V, double u, float *logprob);
/* Whether p is greedy (T = 0, or so small that 1/T overflows); whether it truncates a
 * vocabulary of V (top-k < V, top-p < 1 or min-p > 0). */
int smp_is_greedy(const smp_params *p);
int smp_is_truncating(const smp_params *p, int V);
/* The log-prob smp_sample gives its token, from that token's logit, the row's max and the
 * row's Z as op_sample_rows returns them (a row with a finite max). */
float smp_pick_logprob(const smp_params *p, float logit, float max, double Z);

/* log softmax(logits / T)[tok], in double; T <= 0 counts as 1. */
double smp_logprob(const float *logits, int V, float T, int32_t tok);
/* Rows w has drawn a token from that held no number (every logit NaN or -inf): a uniform
 * draw, the sign of a broken model (weights or activations not finite). */
long smp_broken(const smp_ws *w);

/* The distribution smp_sample draws from (after truncation, renormalised) into
 * probs[0..V); returns the number of tokens kept. For tests and diagnostics. */
int smp_probs(smp_ws *w, const smp_params *p, const float *logits, int V, double *probs);
#endif
