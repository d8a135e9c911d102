/* grpo.c — GRPO advantages, loss normalisers and the clipped-ratio + k3-KL objective with its
 * gradient, written to agree with TRL's GRPOTrainer term by term (see grpo.h). */
#include "grpo.h"
#include <math.h>
#include <string.h>

static const char *const loss_names[] = {"grpo", "bnpo", "dr_grpo", "dapo", "sft"};
static const char *const adv_names[] = {"grpo", "rloo", "reinforce++"};
static const char *const scale_names[] = {"group", "batch", "none"};

static int parse_in(const char *s, const char *const *names, int n) {
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}
int grpo_parse_loss(const char *s) { return parse_in(s, loss_names, 5); }
int grpo_parse_adv(const char *s) { return parse_in(s, adv_names, 3); }
int grpo_parse_scale(const char *s) { return parse_in(s, scale_names, 3); }
const char *grpo_loss_name(grpo_loss l) { return (unsigned)l < 5 ? loss_names[l] : "?"; }
const char *grpo_adv_name(grpo_adv a) { return (unsigned)a < 3 ? adv_names[a] : "?"; }
const char *grpo_scale_name(grpo_scale s) { return (unsigned)s < 3 ? scale_names[s] : "?"; }

static double mean_of(const double *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return n ? s / n : 0;
}
static int all_equal(const double *x, int n) {
    for (int i = 1; i < n; i++)
        if (x[i] != x[0]) return 0;
    return 1;
}
/* torch.std: unbiased (torch's NaN for one element is 0 here). Equal values give 0, not the
 * spread of their mean's rounding error. */
static double std_of(const double *x, int n) {
    if (all_equal(x, n)) return 0;
    double m = mean_of(x, n), s = 0;
    for (int i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (n - 1));
}

int grpo_advantages(const double *r, const int *start, int ngroups, grpo_adv adv,
                    grpo_scale scale, int allow_single, double *out, mrl_err *e) {
    int n = start[ngroups] - start[0], base = start[0];
    for (int i = 0; i < n; i++)
        if (!isfinite(r[base + i]) || fabs(r[base + i]) > GRPO_REWARD_MAX)
            return err_set(e, 1, "reward of record %d is not a finite number of at most %g in magnitude", base + i + 1,
                           GRPO_REWARD_MAX);
    for (int g = 0; g < ngroups; g++) {
        int a = start[g], m = start[g + 1] - a;
        if (m < 1) return err_set(e, 1, "group %d is empty", g + 1);
        if (m == 1 && !allow_single)
            return err_set(e, 1, "group %d has a single record: its advantage is undefined "
                           "(use --allow-partial to give it advantage 0)", g + 1);
        double mu = mean_of(r + a, m);
        /* equal rewards have advantage 0 exactly: their double mean may round off them
           (0.1, 0.1, 0.1 -> 0.10000000000000002), and the group std, of the rounding errors
           alone, is no scale for them */
        int uniform = all_equal(r + a, m);
        for (int i = 0; i < m; i++) {
            double d = r[a + i] - mu;
            if (uniform) d = 0;
            else if (adv == GRPO_ADV_RLOO) d *= (double)m / (m - 1);  /* r - mean of the others */
            out[a + i] = d;
        }
        if (adv != GRPO_ADV_REINFORCE_PP && scale == GRPO_SCALE_GROUP) {
            double sd = std_of(r + a, m);
            for (int i = 0; i < m; i++) out[a + i] /= sd + 1e-4;
        }
    }
    if (adv == GRPO_ADV_REINFORCE_PP) {
        double mu = mean_of(out + base, n), sd = std_of(out + base, n);
        for (int i = 0; i < n; i++) out[base + i] = (out[base + i] - mu) / (sd + 1e-4);
    } else if (scale == GRPO_SCALE_BATCH) {
        double sd = std_of(r + base, n);
        for (int i = 0; i < n; i++) out[base + i] /= sd + 1e-4;
    }
    return 0;
}

double grpo_group_std_mean(const double *r, const int *start, int ngroups) {
    double s = 0;
    for (int g = 0; g < ngroups; g++) s += std_of(r + start[g], start[g + 1] - start[g]);
    return ngroups ? s / ngroups : 0;
}

void grpo_seq_scales(grpo_loss loss, const int *ntok, int n, int mb, int max_len, double *scale) {
    if (mb < 1) mb = n > 0 ? n : 1;
    long total = 0;
    for (int i = 0; i < n; i++) total += ntok[i];
    int nmb = (n + mb - 1) / mb;
    for (int i = 0; i < n; i++) {
        switch (loss) {
        case GRPO_LOSS_GRPO: scale[i] = 1.0 / ((ntok[i] > 1 ? ntok[i] : 1) * (double)n); break;
        case GRPO_LOSS_BNPO: {
            int a = i / mb * mb, b = a + mb < n ? a + mb : n;
            long s = 0;
            for (int j = a; j < b; j++) s += ntok[j];
            scale[i] = 1.0 / ((s > 1 ? s : 1) * (double)nmb);
            break;
        }
        case GRPO_LOSS_DR_GRPO: scale[i] = 1.0 / ((double)n * (max_len > 1 ? max_len : 1)); break;
        default: scale[i] = 1.0 / (total > 1 ? total : 1); break;
        }
    }
}

void grpo_seq_loss(const grpo_opts *o, int len, const float *logp, const float *old,
                   const float *ref, double A, int masked, double scale, float *dlogp,
                   grpo_stats *st) {
    if (masked) {
        for (int t = 0; t < len; t++) dlogp[t] = 0;
        return;
    }
    if (o->loss == GRPO_LOSS_SFT) {
        for (int t = 0; t < len; t++) {
            st->loss -= scale * logp[t];
            dlogp[t] = (float)-scale;
        }
        st->tokens += len;
        return;
    }
    double lo = 1 - o->epsilon, hi = 1 + o->epsilon_high, seq_lr = 0;
    if (o->seq_importance && old) {
        for (int t = 0; t < len; t++) seq_lr += (double)logp[t] - old[t];
        seq_lr /= len > 1 ? len : 1;
    }
    for (int t = 0; t < len; t++) {
        /* PG term: l = -min(r' A, c A); dl/dr is -A through whichever branch min picks */
        double lr = o->seq_importance ? seq_lr : (old ? (double)logp[t] - old[t] : 0);
        double r = exp(lr), c = r < lo ? lo : r > hi ? hi : r;
        double r1 = (o->delta > 0 && r > o->delta) ? o->delta : r;
        double a = r1 * A, b = c * A, l, dl_dr;
        if (a <= b) { l = -a; dl_dr = (o->delta > 0 && r > o->delta) ? 0 : -A; }
        else { l = -b; dl_dr = (r < lo || r > hi) ? 0 : -A; }
        if ((r1 < lo && A < 0) || (r1 > hi && A > 0)) st->clipped += 1;
        /* dr/dlogp_t = r (token), or r * sum over the sequence's tokens of 1/len (GSPO),
         * which is the same r once the len identical per-token terms are summed */
        double g = dl_dr == 0 ? 0 : dl_dr * r;   /* clipped: no gradient, even where r overflowed (0 * inf) */
        if (ref) {
            double d = (double)ref[t] - logp[t], kl = exp(d) - d - 1;
            l += o->beta * kl;
            g += o->beta * (1 - exp(d));
            st->kl_sum += kl;
        }
        st->loss += scale * l;
        dlogp[t] = (float)(scale * g);
    }
    st->tokens += len;
}
