/* sampler.c — next-token choice from a logits row: one exp pass for the softmax, then
 * top-k and top-p by quickselect-style partitioning (linear expected time), min-p by a filter.
 * The passes over the whole vocabulary (max, exp, the sums) are branch-free loops over fixed
 * lanes, compiled for every x86 vector width (CPU_CLONES) with the same roundings in each, so
 * a row's token does not depend on the CPU either. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "clones.h"
#include "sampler.h"
#include "sample_core.h"   /* the exp, block sums and walk the device samplers share */

typedef struct smp_cand { float e; int32_t i; } smp_cand;

#define SMP_BLK SK_BLK   /* tokens per block sum */

struct smp_ws {
    int V;
    float *e;          /* exp((l - max) / T) per token */
    double *bs;        /* e summed per block of SMP_BLK tokens */
    smp_cand *c;       /* candidates; the kept set is c[0..n) */
    int n;
    double Z;          /* sum of e over the whole vocabulary (of bs, in order) */
    long broken;       /* rows drawn from that held no number (all NaN or -inf) */
};

void smp_defaults(smp_params *p) {
    p->temperature = 1.0f;
    p->top_k = 0;
    p->top_p = 1.0f;
    p->min_p = 0.0f;
}

smp_ws *smp_ws_new(int vocab) {
    smp_ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->V = vocab;
    w->e = malloc((size_t)vocab * sizeof *w->e);
    w->bs = malloc(((size_t)vocab / SMP_BLK + 1) * sizeof *w->bs);
    w->c = malloc((size_t)vocab * sizeof *w->c);
    if (!w->e || !w->bs || !w->c) { smp_ws_free(w); return NULL; }
    return w;
}

void smp_ws_free(smp_ws *w) {
    if (!w) return;
    free(w->e);
    free(w->bs);
    free(w->c);
    free(w);
}

/* Max logit, ignoring NaN; -INFINITY when every entry is -inf or NaN. Sixteen lanes, then
 * the lanes (the max does not depend on the order, but for the sign of a zero). */
CPU_CLONES static float smp_max(const float *l, int V) {
    float m[16];
    for (int j = 0; j < 16; j++) m[j] = -INFINITY;
    int i = 0;
    for (; i + 16 <= V; i += 16)
        for (int j = 0; j < 16; j++) m[j] = l[i + j] > m[j] ? l[i + j] : m[j];
    for (; i < V; i++) m[0] = l[i] > m[0] ? l[i] : m[0];
    float r = m[0];
    for (int j = 1; j < 16; j++) r = m[j] > r ? m[j] : r;
    return r;
}

/* e[i] = exp((l[i] - m) inv) and the block sums: sixteen float lanes per block, added in a
 * fixed order into a double. */
CPU_CLONES static void smp_exp_blocks(float *e, double *bs, const float *l, int V, float m, float inv) {
    for (int b0 = 0, b = 0; b0 < V; b0 += SMP_BLK, b++) {
        int n = V - b0 < SMP_BLK ? V - b0 : SMP_BLK;
        float *eb = e + b0;
        const float *lb = l + b0;
        #pragma omp simd   /* element-wise: vectorised at -O2 too, the same values */
        for (int i = 0; i < n; i++) eb[i] = sk_e(lb[i], m, inv);
        float part[16] = {0};
        int i = 0;
        for (; i + 16 <= n; i += 16)
            for (int j = 0; j < 16; j++) part[j] += eb[i + j];
        for (; i < n; i++) part[0] += eb[i];
        double sum = 0;
        for (int j = 0; j < 16; j++) sum += part[j];
        bs[b] = sum;
    }
}

/* Fills w->e, w->bs and w->Z for temperature T (> 0). NaN logits get e = 0 and are never
 * picked. A row whose max is +inf is uniform over its +inf tokens; a row without a number
 * (all -inf or NaN) is uniform over the vocabulary, so a broken row still yields a token. */
static void smp_exp(smp_ws *w, const float *l, int V, float T) {
    float m = smp_max(l, V);
    w->broken += m == -INFINITY;
    int nb = (V + SMP_BLK - 1) / SMP_BLK;
    if (isinf(m))
        for (int b = 0; b < nb; b++) {
            double bs = 0;
            for (int i = b * SMP_BLK; i < V && i < (b + 1) * SMP_BLK; i++) {
                w->e[i] = m < 0 || l[i] == INFINITY ? 1.0f : 0.0f;
                bs += w->e[i];
            }
            w->bs[b] = bs;
        }
    else smp_exp_blocks(w->e, w->bs, l, V, m, 1.0f / T);
    double Z = 0;
    for (int b = 0; b < nb; b++) Z += w->bs[b];
    w->Z = Z;
}

double smp_logprob(const float *logits, int V, float T, int32_t tok) {
    if (!(T > 0)) T = 1.0f;
    double m = smp_max(logits, V), Z = 0;
    if (m == INFINITY && logits[tok] == INFINITY) {   /* as smp_sample draws such a row: uniform over its +inf tokens */
        int k = 0;
        for (int i = 0; i < V; i++) k += logits[i] == INFINITY;
        return -log((double)k);
    }
    if (isinf(m)) return -log((double)V);   /* no number at all (or a token beside +inf ones): a finite stand-in */
    for (int b0 = 0; b0 < V; b0 += SMP_BLK)   /* per block, then the blocks: op_sample_rows' greedy Z */
        Z += sk_block_sum_exp(logits + b0, V - b0 < SMP_BLK ? V - b0 : SMP_BLK, (float)m, T);
    return ((double)logits[tok] - m) / T - log(Z);
}

static void smp_swap(smp_cand *a, smp_cand *b) { smp_cand t = *a; *a = *b; *b = t; }

/* Three-way partition of c[lo..hi) around pivot value p, descending:
 * [lo, *gt_end) > p, [*gt_end, *eq_end) == p, [*eq_end, hi) < p. */
static void smp_part3(smp_cand *c, int lo, int hi, float p, int *gt_end, int *eq_end) {
    int lt = lo, i = lo, gt = hi;
    while (i < gt) {
        if (c[i].e > p) smp_swap(&c[lt++], &c[i++]);
        else if (c[i].e < p) smp_swap(&c[i], &c[--gt]);
        else i++;
    }
    *gt_end = lt;
    *eq_end = gt;
}

static float smp_pivot(const smp_cand *c, int lo, int hi) {
    float a = c[lo].e, b = c[lo + (hi - lo) / 2].e, d = c[hi - 1].e;
    if (a > b) { float t = a; a = b; b = t; }
    if (b > d) b = d;
    return a > b ? a : b;    /* median of three */
}

/* Moves the k largest of c[0..n) to the front (in no particular order). */
static void smp_select_k(smp_cand *c, int n, int k) {
    int lo = 0, hi = n;
    while (hi - lo > 1) {
        int g, q;
        smp_part3(c, lo, hi, smp_pivot(c, lo, hi), &g, &q);
        if (k <= g) hi = g;
        else if (k <= q) return;
        else lo = q;
    }
}

/* Moves to the front the smallest set of largest elements whose mass reaches target;
 * returns its size. Ties at the boundary: just enough of them. */
static int smp_select_mass(smp_cand *c, int n, double target) {
    int lo = 0, hi = n;
    double acc = 0;    /* mass of c[0..lo), all in the set; acc < target */
    while (hi - lo > 1) {
        int g, q;
        float p = smp_pivot(c, lo, hi);
        smp_part3(c, lo, hi, p, &g, &q);
        double mg = 0;
        for (int i = lo; i < g; i++) mg += c[i].e;
        if (acc + mg >= target) { hi = g; continue; }
        acc += mg;
        for (int i = g; i < q; i++) {
            acc += c[i].e;
            if (acc >= target) return i + 1;
        }
        lo = q;
    }
    return hi;
}

/* Computes the kept set into w->c[0..w->n) (w->e, w->Z already filled). */
static void smp_truncate(smp_ws *w, const smp_params *p, int V) {
    smp_cand *c = w->c;
    for (int i = 0; i < V; i++) { c[i].e = w->e[i]; c[i].i = i; }
    int n = V;
    double Zk = w->Z;
    if (p->top_k > 0 && p->top_k < n) {
        smp_select_k(c, n, p->top_k);
        /* as Hugging Face (scores < the k-th are removed) and vLLM: every token tied with the
           k-th stays, not an arbitrary part of the tie */
        float kth = c[0].e;
        for (int i = 1; i < p->top_k; i++) kth = c[i].e < kth ? c[i].e : kth;
        int k = p->top_k;
        if (kth > 0)
            for (int i = k; i < n; i++)
                if (c[i].e == kth) smp_swap(&c[k++], &c[i]);
        n = k;
        Zk = 0;
        for (int i = 0; i < n; i++) Zk += c[i].e;
    }
    if (p->top_p > 0 && p->top_p < 1) n = smp_select_mass(c, n, (double)p->top_p * Zk);
    if (p->min_p > 0) {
        /* the max has e = 1 exactly, so the threshold is min_p itself */
        int k = 0;
        for (int i = 0; i < n; i++)
            if (c[i].e >= p->min_p) c[k++] = c[i];
        n = k;
    }
    w->n = n;
}

/* Temperature 0, or so small that 1/T overflows: the argmax. */
static int smp_greedy(const smp_params *p) { return !(p->temperature > 0) || isinf(1.0f / p->temperature); }

static int smp_truncating(const smp_params *p, int V) {
    return (p->top_k > 0 && p->top_k < V) || (p->top_p > 0 && p->top_p < 1) || p->min_p > 0;
}

static int32_t smp_argmax(const float *l, int V) {
    int32_t best = 0;
    for (int i = 1; i < V; i++)
        if (l[i] > l[best] || l[best] != l[best]) best = i;
    return best;
}

int32_t smp_sample(smp_ws *w, const smp_params *p, const float *logits, int V,
                   mrl_rng *rng, float *logprob) {
    return smp_sample_u(w, p, logits, V, smp_greedy(p) ? 0.0 : rng_uniform(rng), logprob);
}

int smp_is_greedy(const smp_params *p) { return smp_greedy(p); }
int smp_is_truncating(const smp_params *p, int V) { return smp_truncating(p, V); }

float smp_pick_logprob(const smp_params *p, float logit, float max, double Z) {
    /* smp_logprob's and smp_sample's expressions, term for term */
    float T = smp_greedy(p) ? 1.0f : p->temperature;
    return (float)(((double)logit - (double)max) / T - log(Z));
}

int32_t smp_sample_u(smp_ws *w, const smp_params *p, const float *logits, int V, double u, float *logprob) {
    if (smp_greedy(p)) {
        int32_t t = smp_argmax(logits, V);
        w->broken += smp_max(logits, V) == -INFINITY;
        if (logprob) *logprob = (float)smp_logprob(logits, V, 1.0f, t);
        return t;
    }
    smp_exp(w, logits, V, p->temperature);
    int32_t tok = -1;
    if (!smp_truncating(p, V)) {   /* the block where the running sum passes u Z, then its token */
        double x = u * w->Z, acc = 0;
        int nb = (V + SMP_BLK - 1) / SMP_BLK, b = 0;
        while (b < nb - 1 && acc + w->bs[b] <= x) acc += w->bs[b++];
        for (int i = b * SMP_BLK; i < V; i++) {   /* past the block only if rounding says so */
            if (w->e[i] <= 0) continue;
            tok = i;
            acc += w->e[i];
            if (acc > x) break;
        }
    } else {
        smp_truncate(w, p, V);
        double Zs = 0;
        for (int i = 0; i < w->n; i++) Zs += w->c[i].e;
        double x = u * Zs, acc = 0;
        for (int i = 0; i < w->n; i++) {
            if (w->c[i].e <= 0) continue;
            tok = w->c[i].i;
            acc += w->c[i].e;
            if (acc > x) break;
        }
    }
    if (tok < 0) tok = smp_argmax(logits, V);   /* unreachable: the max has e = 1 */
    if (logprob) {
        float m = smp_max(logits, V);   /* a row without a finite max: uniform over w->Z tokens */
        *logprob = isinf(m) ? (float)-log(w->Z) : smp_pick_logprob(p, logits[tok], m, w->Z);
    }
    return tok;
}

int smp_probs(smp_ws *w, const smp_params *p, const float *logits, int V, double *probs) {
    memset(probs, 0, (size_t)V * sizeof *probs);
    if (smp_greedy(p)) {
        probs[smp_argmax(logits, V)] = 1;
        return 1;
    }
    smp_exp(w, logits, V, p->temperature);
    if (!smp_truncating(p, V)) {
        for (int i = 0; i < V; i++) probs[i] = w->e[i] / w->Z;
        return V;
    }
    smp_truncate(w, p, V);
    double Zs = 0;
    for (int i = 0; i < w->n; i++) Zs += w->c[i].e;
    for (int i = 0; i < w->n; i++) probs[w->c[i].i] = w->c[i].e / Zs;
    return w->n;
}

long smp_broken(const smp_ws *w) { return w ? w->broken : 0; }
