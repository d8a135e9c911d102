/* attention.c — CPU causal grouped-query attention: over packed sequences (training, with a
 * backward that recomputes probabilities from the saved logsumexp, flash-attention style)
 * and over the paged KV cache (prefill and batched decode). */
#include <math.h>
#include <string.h>
#include <omp.h>
#include "cpu.h"
#include "cpu_ops.h"

static inline float dot(const float *a, const float *b, int n) {
    float s = 0;
    #pragma omp simd reduction(+:s)
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
static inline void axpy(float *y, float a, const float *x, int n) {
    #pragma omp simd
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/* The row kernels are compiled for AVX-512, AVX2 and plain x86-64 and picked at load time
 * (the build targets x86-64-v2, whose 128-bit vectors leave most of the speed behind). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ROW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ROW_CLONES
#endif

/* One query row against keys/values 0..n-1 (row stride st): o = softmax(q k^T scale) v;
 * returns the row's logsumexp. p: n floats of scratch. */
ROW_CLONES
static float attn_row(const float *qi, const float *k, const float *v, int st, int n, int D, float scale,
                      float *p, float *o) {
    float m = -INFINITY;
    for (int j = 0; j < n; j++) {
        p[j] = dot(qi, k + (size_t)j * st, D) * scale;
        if (p[j] > m) m = p[j];
    }
    float sum = 0;
    for (int j = 0; j < n; j++) { p[j] = expf(p[j] - m); sum += p[j]; }
    float inv = 1.0f / sum;
    memset(o, 0, (size_t)D * sizeof(float));
    for (int j = 0; j < n; j++) axpy(o, p[j] * inv, v + (size_t)j * st, D);
    return m + logf(sum);
}

/* Backward of one query row: dq = scale sum_j ds_j k_j; dk_j += scale ds_j q; dv_j += p_j do,
 * with p_j recomputed from the logsumexp l and ds_j = p_j (do.v_j - do.o). */
ROW_CLONES
static void attn_row_bwd(const float *qi, const float *doi, const float *oi, float l, const float *k,
                         const float *v, int st, int n, int D, float scale, float *dqi, float *dk,
                         float *dv, int dst) {
    float di = dot(doi, oi, D);
    memset(dqi, 0, (size_t)D * sizeof(float));
    for (int j = 0; j < n; j++) {
        const float *kj = k + (size_t)j * st, *vj = v + (size_t)j * st;
        float pj = expf(dot(qi, kj, D) * scale - l);
        float ds = pj * (dot(doi, vj, D) - di) * scale;
        axpy(dqi, ds, kj, D);
        axpy(dk + (size_t)j * dst, ds, qi, D);
        axpy(dv + (size_t)j * dst, pj, doi, D);
    }
}

size_t cpu_attention_work(const mrl_backend *be, int T, int maxlen, int H, int D) {
    (void)T; (void)H; (void)D;
    return (size_t)be->threads * 2 * (size_t)(maxlen > 0 ? maxlen : 1) * sizeof(float);
}

void cpu_attention_fwd(const mrl_backend *be, void *outv, float *lse, const void *qv, const void *kv,
                       const void *vv, int st, const int32_t *cu, int nseq, int T, int H, int Hkv,
                       int D, void *work) {
    float *out = outv; const float *q = qv, *k = kv, *v = vv;
    int grp = H / Hkv, maxlen = 1;
    for (int s = 0; s < nseq; s++) if (cu[s + 1] - cu[s] > maxlen) maxlen = cu[s + 1] - cu[s];
    float scale = 1.0f / sqrtf((float)D);

    #pragma omp parallel num_threads(cpu_nt(be, (size_t)T * maxlen * H * D))
    {
        float *p = (float *)work + (size_t)omp_get_thread_num() * 2 * maxlen;
        for (int s = 0; s < nseq; s++) {
            int s0 = cu[s], n = cu[s + 1] - cu[s];
            #pragma omp for schedule(dynamic, 4) collapse(2)
            for (int i = 0; i < n; i++)
                for (int h = 0; h < H; h++) {
                    int g = h / grp;
                    lse[(size_t)(s0 + i) * H + h] =
                        attn_row(q + (size_t)(s0 + i) * st + (size_t)h * D, k + (size_t)s0 * st + (size_t)g * D,
                                 v + (size_t)s0 * st + (size_t)g * D, st, i + 1, D, scale, p,
                                 out + (size_t)(s0 + i) * H * D + (size_t)h * D);
                }
        }
    }
}

/* Each thread owns one (sequence, kv head) pair, so dk/dv of the group never race. */
void cpu_attention_bwd(const mrl_backend *be, void *dqv, void *dkv, void *dvv, int dst,
                       const void *doutv, const void *qv, const void *kv, const void *vv, int st,
                       const void *outv, const float *lse, const int32_t *cu, int nseq, int T,
                       int H, int Hkv, int D, void *work) {
    float *dq = dqv, *dk = dkv, *dv = dvv;
    const float *dout = doutv, *q = qv, *k = kv, *v = vv, *out = outv;
    int grp = H / Hkv, maxlen = 1;
    for (int s = 0; s < nseq; s++) if (cu[s + 1] - cu[s] > maxlen) maxlen = cu[s + 1] - cu[s];
    float scale = 1.0f / sqrtf((float)D);

    #pragma omp parallel num_threads(cpu_nt(be, (size_t)T * maxlen * H * D))
    {
        (void)work;
        #pragma omp for schedule(dynamic, 1) collapse(2)
        for (int s = 0; s < nseq; s++)
            for (int g = 0; g < Hkv; g++) {
                int s0 = cu[s], n = cu[s + 1] - cu[s];
                for (int j = 0; j < n; j++) {
                    memset(dk + (size_t)(s0 + j) * dst + (size_t)g * D, 0, (size_t)D * sizeof(float));
                    memset(dv + (size_t)(s0 + j) * dst + (size_t)g * D, 0, (size_t)D * sizeof(float));
                }
                for (int h = g * grp; h < (g + 1) * grp; h++)
                    for (int i = 0; i < n; i++) {
                        size_t ti = (size_t)(s0 + i);
                        attn_row_bwd(q + ti * st + (size_t)h * D, dout + ti * H * D + (size_t)h * D,
                                     out + ti * H * D + (size_t)h * D, lse[ti * H + h],
                                     k + (size_t)s0 * st + (size_t)g * D, v + (size_t)s0 * st + (size_t)g * D, st,
                                     i + 1, D, scale, dq + ti * dst + (size_t)h * D,
                                     dk + (size_t)s0 * dst + (size_t)g * D, dv + (size_t)s0 * dst + (size_t)g * D, dst);
                    }
            }
    }
}

void cpu_kv_write(const mrl_backend *be, void *kpool, void *vpool, const void *k, const void *v,
                  int stride, const int32_t *slots, int n, int Hkv, int D) {
    (void)be;
    size_t row = (size_t)Hkv * D;
    for (int i = 0; i < n; i++) {
        memcpy((float *)kpool + (size_t)slots[i] * row, (const float *)k + (size_t)i * stride, row * sizeof(float));
        memcpy((float *)vpool + (size_t)slots[i] * row, (const float *)v + (size_t)i * stride, row * sizeof(float));
    }
}

size_t cpu_attention_paged_work(const mrl_backend *be, int R, int maxctx, int H, int D) {
    (void)R; (void)H; (void)D;
    return (size_t)be->threads * (size_t)(maxctx > 0 ? maxctx : 1) * sizeof(float);
}

void cpu_attention_paged(const mrl_backend *be, void *outv, const void *qv, int qs, const void *kpool,
                         const void *vpool, const int32_t *bt, int max_blocks, int bs,
                         const int32_t *row_seq, const int32_t *row_ctx, int R, int H, int Hkv,
                         int D, void *work) {
    float *out = outv; const float *q = qv, *kp = kpool, *vp = vpool;
    int grp = H / Hkv, maxctx = 1;
    for (int r = 0; r < R; r++) if (row_ctx[r] > maxctx) maxctx = row_ctx[r];
    float scale = 1.0f / sqrtf((float)D);
    size_t row = (size_t)Hkv * D;
    #pragma omp parallel num_threads(cpu_nt(be, (size_t)R * maxctx * H * D))
    {
        float *p = (float *)work + (size_t)omp_get_thread_num() * maxctx;
        #pragma omp for schedule(dynamic, 1) collapse(2)
        for (int r = 0; r < R; r++)
            for (int h = 0; h < H; h++) {
                const int32_t *tab = bt + (size_t)row_seq[r] * max_blocks;
                const float *qi = q + (size_t)r * qs + (size_t)h * D;
                int g = h / grp, n = row_ctx[r];
                float m = -INFINITY;
                for (int j = 0; j < n; j++) {
                    size_t slot = (size_t)tab[j / bs] * bs + j % bs;
                    p[j] = dot(qi, kp + slot * row + (size_t)g * D, D) * scale;
                    if (p[j] > m) m = p[j];
                }
                float sum = 0;
                for (int j = 0; j < n; j++) { p[j] = expf(p[j] - m); sum += p[j]; }
                float *o = out + (size_t)r * H * D + (size_t)h * D, inv = 1.0f / sum;
                memset(o, 0, (size_t)D * sizeof(float));
                for (int j = 0; j < n; j++) {
                    size_t slot = (size_t)tab[j / bs] * bs + j % bs;
                    axpy(o, p[j] * inv, vp + slot * row + (size_t)g * D, D);
                }
            }
    }
}
