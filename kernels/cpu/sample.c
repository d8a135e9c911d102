/* sample.c — op_sample_rows on the CPU: one token per logits row with the arithmetic of
 * sample_core.h, the reference the CUDA op is checked against (the CPU's own decode hands its
 * logits, already on the host, to libcore's sampler instead). */
#include <math.h>
#include "cpu.h"
#include "cpu_ops.h"
#include "sample_core.h"

size_t cpu_sample_rows_work(const mrl_backend *be, int B, int V) {
    (void)be;
    return (size_t)B * (size_t)((V + SK_BLK - 1) / SK_BLK) * sizeof(double);
}

void cpu_sample_rows(const mrl_backend *be, mrl_pick *out, const float *logits, const double *u,
                     int B, int V, float inv_temp, int greedy, void *work) {
    int nb = (V + SK_BLK - 1) / SK_BLK;
    #pragma omp parallel for schedule(dynamic, 1) num_threads(cpu_nt(be, (size_t)B * V))
    for (int r = 0; r < B; r++) {
        const float *l = logits + (size_t)r * V;
        double *bs = (double *)work + (size_t)r * nb;
        mrl_pick *o = &out[r];
        float m = -INFINITY;
        for (int i = 0; i < V; i++) m = l[i] > m ? l[i] : m;   /* NaN never wins */
        o->max = m; o->flag = isinf(m) != 0; o->tok = -1; o->logit = 0; o->Z = 0;
        if (o->flag) continue;
        double Z = 0;
        for (int b = 0; b < nb; b++) {
            const float *lb = l + (size_t)b * SK_BLK;
            int n = V - b * SK_BLK < SK_BLK ? V - b * SK_BLK : SK_BLK;
            bs[b] = greedy ? sk_block_sum_exp(lb, n, m, 1.0) : sk_block_sum(lb, n, m, inv_temp);
            Z += bs[b];
        }
        int32_t tok = -1;
        if (greedy) { for (int i = 0; i < V && tok < 0; i++) if (l[i] == m) tok = i; }
        else tok = sk_walk(bs, nb, l, V, m, inv_temp, u[r] * Z);
        if (tok < 0) { o->flag = 1; continue; }   /* as the CUDA op: not for a finite max (its e is 1) */
        o->tok = tok; o->logit = l[tok]; o->Z = Z;
    }
}
