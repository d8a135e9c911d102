/* trainer.c — packing completions into micro-batches (tokens = prompt + completion, targets =
 * the next token over the completion span) and the forward/loss/backward pass per micro-batch. */
#include "trainer.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The log-prob of completion token j sits at packed position start + plen - 1 + j. */
int trainer_accumulate(mrl_model *policy, mrl_model *ref, const tr_opts *o, const tr_seq *s,
                       int n, grpo_stats *st, mrl_err *e) {
    return trainer_accumulate_norm(policy, ref, o, s, n, NULL, st, e);
}

int trainer_share(const tr_opts *o, tr_seq *s, int n, int rank, int world, tr_norm *nm) {
    int mb = o->micro_batch > 0 ? o->micro_batch : (n > 0 ? n : 1), nmb = (n + mb - 1) / mb, k = 0;
    long tokens = 0;
    for (int i = 0; i < n; i++) tokens += (o->mask_truncated && s[i].truncated) ? 0 : s[i].clen;
    nm->seq = (double)n / world;
    nm->token = (double)(tokens > 1 ? tokens : 1) / world;
    nm->mb = (double)(nmb > 0 ? nmb : 1) / world;
    if (o->g.loss == GRPO_LOSS_BNPO) {
        /* micro-batch j is s[j*mb, min((j+1)*mb, n)); only the last may be short, and it stays
           last in its rank's share, so the share's own micro-batches are these */
        for (int j = rank; j < nmb; j += world)
            for (int i = j * mb; i < n && i < (j + 1) * mb; i++) s[k++] = s[i];   /* k <= i */
    } else {   /* the other normalisers do not depend on the packing: an even share of sequences */
        int a = (int)((long)n * rank / world), b = (int)((long)n * (rank + 1) / world);
        for (int i = a; i < b; i++) s[k++] = s[i];
    }
    return k;
}

int trainer_accumulate_norm(mrl_model *policy, mrl_model *ref, const tr_opts *o, const tr_seq *s,
                            int n, const tr_norm *nm, grpo_stats *st, mrl_err *e) {
    if (n <= 0) return 0;
    int mb = o->micro_batch > 0 ? o->micro_batch : n;
    long maxT = 0;
    for (int a = 0; a < n; a += mb) {
        long T = 0;
        for (int i = a; i < n && i < a + mb; i++) {
            /* the first completion token's log-prob is read at the last prompt position */
            if (s[i].plen < 1 || s[i].clen < 0)
                return err_set(e, 2, "trainer: sequence %d has %s", i, s[i].plen < 1 ? "an empty prompt" : "a negative length");
            T += (long)s[i].plen + s[i].clen;
        }
        if (T > maxT) maxT = T;
    }
    if (maxT > INT_MAX)   /* packed positions and offsets are ints */
        return err_set(e, 2, "trainer: a micro-batch of %ld tokens is too large (at most %d): lower --micro-batch", maxT, INT_MAX);
    int *ntok = malloc(n * sizeof *ntok);
    double *scale = malloc(n * sizeof *scale);
    int32_t *tok = malloc(maxT * sizeof *tok), *tgt = malloc(maxT * sizeof *tgt);
    int32_t *cu = malloc((mb + 1) * sizeof *cu);
    float *logp = malloc(maxT * sizeof *logp), *rlogp = malloc(maxT * sizeof *rlogp);
    float *dlogp = malloc(maxT * sizeof *dlogp);
    int rc = -1;
    if (!ntok || !scale || !tok || !tgt || !cu || !logp || !rlogp || !dlogp) { err_set(e, 3, "out of memory"); goto out; }
    for (int i = 0; i < n; i++) ntok[i] = (o->mask_truncated && s[i].truncated) ? 0 : s[i].clen;
    grpo_seq_scales(o->g.loss, ntok, n, mb, o->max_len, scale);
    for (int i = 0; nm && i < n; i++) {   /* grpo_seq_scales divided by this call's counts */
        if (o->g.loss == GRPO_LOSS_DAPO || o->g.loss == GRPO_LOSS_SFT) scale[i] = 1.0 / nm->token;
        else if (o->g.loss == GRPO_LOSS_BNPO) scale[i] *= (double)((n + mb - 1) / mb) / nm->mb;
        else scale[i] *= (double)n / nm->seq;   /* grpo, dr_grpo */
    }
    int use_ref = ref && o->g.beta != 0 && o->g.loss != GRPO_LOSS_SFT;
    for (int a = 0; a < n; a += mb) {
        int b = a + mb < n ? a + mb : n, T = 0;
        cu[0] = 0;
        for (int i = a; i < b; i++) {
            for (int t = 0; t < s[i].plen; t++) { tok[T + t] = s[i].prompt[t]; tgt[T + t] = -1; }
            for (int t = 0; t < s[i].clen; t++) { tok[T + s[i].plen + t] = s[i].comp[t]; tgt[T + s[i].plen + t] = -1; }
            for (int t = 0; t < s[i].clen; t++) tgt[T + s[i].plen - 1 + t] = s[i].comp[t];
            T += s[i].plen + s[i].clen;
            cu[i - a + 1] = T;
        }
        mrl_batch batch = {T, b - a, tok, tgt, cu, o->temperature > 0 ? o->temperature : 1.0f};
        if (model_forward(policy, &batch, logp, e)) goto out;
        if (use_ref && model_logprobs(ref, &batch, rlogp, e)) goto out;
        memset(dlogp, 0, T * sizeof *dlogp);
        for (int i = a; i < b; i++) {
            int off = cu[i - a] + s[i].plen - 1;
            grpo_seq_loss(&o->g, s[i].clen, logp + off, o->use_old ? s[i].old_logp : NULL,
                          use_ref ? rlogp + off : NULL, s[i].adv, ntok[i] == 0 && s[i].clen > 0,
                          scale[i], dlogp + off, st);
        }
        if (model_backward(policy, dlogp, e)) goto out;
    }
    rc = 0;
out:
    free(ntok); free(scale); free(tok); free(tgt); free(cu); free(logp); free(rlogp); free(dlogp);
    return rc;
}
