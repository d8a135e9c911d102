/* logprob.c — the LM head fused with log-softmax on the CPU: logits exist only one
 * (row block x vocab chunk) tile at a time; an online logsumexp runs across the chunks. */
#include <math.h>
#include <string.h>
#include "cpu.h"
#include "cpu_ops.h"

#define ROWS 256    /* rows per tile */
#define VCHUNK 4096 /* vocabulary entries per tile: ROWS x VCHUNK x 4 B = 4 MiB */
_Static_assert(VCHUNK % CPU_BF16P_ROWS == 0 && VCHUNK % CPU_F32P_ROWS == 0, "a packed head's chunks start at whole panels");

size_t cpu_logprob_work(const mrl_backend *be, int T, int C, int V) {
    (void)be; (void)C;
    size_t r = T < ROWS ? (size_t)T : ROWS, v = V < VCHUNK ? (size_t)V : VCHUNK;
    return (r * v + 2 * (size_t)ROWS) * sizeof(float);
}

void cpu_logprob_fwd(const mrl_backend *be, float *logp, float *lse, const void *xv, const void *w,
                     mrl_dtype wdt, const int32_t *targets, int T, int C, int V, float inv_temp,
                     void *work) {
    const float *x = xv;
    float *z = work, *mx = z + (size_t)(T < ROWS ? T : ROWS) * (V < VCHUNK ? V : VCHUNK), *sm = mx + ROWS;
    for (int r0 = 0; r0 < T; r0 += ROWS) {
        int nr = T - r0 < ROWS ? T - r0 : ROWS;
        for (int i = 0; i < nr; i++) { mx[i] = -INFINITY; sm[i] = 0; logp[r0 + i] = 0; }
        for (int v0 = 0; v0 < V; v0 += VCHUNK) {
            int nv = V - v0 < VCHUNK ? V - v0 : VCHUNK;
            cpu_mm_xwT(be, z, nv, 0.0f, x + (size_t)r0 * C, C, nr, C, cpu_wrows(w, wdt, v0, C), wdt, nv);
            #pragma omp parallel for schedule(static) num_threads(be->threads)
            for (int i = 0; i < nr; i++) {
                float *zr = z + (size_t)i * nv, m = mx[i];
                for (int j = 0; j < nv; j++) { zr[j] *= inv_temp; if (zr[j] > m) m = zr[j]; }
                /* shifted by 0 while every logit so far is -inf (a chunk of them, e.g. overflowed
                   products): -inf - -inf would be NaN and poison the later, finite chunks */
                float sh = m == -INFINITY ? 0.0f : m;
                float s = sm[i] * expf(mx[i] - sh);
                for (int j = 0; j < nv; j++) s += expf(zr[j] - sh);
                mx[i] = m; sm[i] = s;
                int tg = targets[r0 + i];
                if (tg >= v0 && tg < v0 + nv) logp[r0 + i] = zr[tg - v0];
            }
        }
        for (int i = 0; i < nr; i++) {
            if (targets[r0 + i] < 0) { logp[r0 + i] = 0; lse[r0 + i] = 0; continue; }
            lse[r0 + i] = mx[i] + logf(sm[i]);
            logp[r0 + i] -= lse[r0 + i];
        }
    }
}

/* dlogp/dz_v = inv_temp * (1[v = target] - softmax_v): recomputed tile by tile. */
void cpu_logprob_bwd(const mrl_backend *be, void *dxv, float *dw, const float *dlogp, const float *lse,
                     const void *xv, const void *w, mrl_dtype wdt, const int32_t *targets, int T,
                     int C, int V, float inv_temp, void *work) {
    const float *x = xv; float *dx = dxv, *z = work;
    for (int r0 = 0; r0 < T; r0 += ROWS) {
        int nr = T - r0 < ROWS ? T - r0 : ROWS;
        memset(dx + (size_t)r0 * C, 0, (size_t)nr * C * sizeof(float));
        int any = 0;
        for (int i = 0; i < nr; i++) if (targets[r0 + i] >= 0 && dlogp[r0 + i] != 0) any = 1;
        if (!any) continue;
        for (int v0 = 0; v0 < V; v0 += VCHUNK) {
            int nv = V - v0 < VCHUNK ? V - v0 : VCHUNK;
            const void *wc = cpu_wrows(w, wdt, v0, C);
            cpu_mm_xwT(be, z, nv, 0.0f, x + (size_t)r0 * C, C, nr, C, wc, wdt, nv);
            #pragma omp parallel for schedule(static) num_threads(be->threads)
            for (int i = 0; i < nr; i++) {
                float *zr = z + (size_t)i * nv;
                int tg = targets[r0 + i];
                float gscale = tg >= 0 ? dlogp[r0 + i] * inv_temp : 0.0f, l = lse[r0 + i];
                for (int j = 0; j < nv; j++) zr[j] = gscale == 0 ? 0 : -gscale * expf(zr[j] * inv_temp - l);
                if (tg >= v0 && tg < v0 + nv) zr[tg - v0] += gscale;
            }
            cpu_mm_gW(be, dx + (size_t)r0 * C, 1.0f, z, nv, nr, nv, wc, wdt, C);
            if (dw) cpu_mm_gTx(be, dw + (size_t)v0 * C, z, nv, x + (size_t)r0 * C, nr, nv, C, wdt);
        }
    }
}

void cpu_logits(const mrl_backend *be, float *logits, const void *x, const void *w, mrl_dtype wdt,
                int T, int C, int V) {
    cpu_mm_xwT(be, logits, V, 0.0f, x, C, T, C, w, wdt, V);
}
