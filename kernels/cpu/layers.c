/* layers.c — CPU forward/backward pairs of the pointwise and row ops (llm.c style): embedding,
 * RMSNorm, linear, rotary embedding, SwiGLU, residual add. Activations are fp32 here. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cpu.h"
#include "cpu_ops.h"

void cpu_embedding_fwd(const mrl_backend *be, void *outv, const int32_t *tokens, const void *wte,
                       mrl_dtype wdt, int T, int C) {
    float *out = outv;
    if (wdt == MRL_BF16P || wdt == MRL_F32P) {   /* a tied table packed as the head: gather the row */
        #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, (size_t)T * C))
        for (int t = 0; t < T; t++)
            for (int i = 0; i < C; i++)
                out[(size_t)t * C + i] = wdt == MRL_F32P ? cpu_f32p_at(wte, C, (size_t)tokens[t], i) : cpu_bf16p_at(wte, C, (size_t)tokens[t], i);
        return;
    }
    #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, (size_t)T * C))
    for (int t = 0; t < T; t++) {
        size_t base = (size_t)tokens[t] * C;
        for (int i = 0; i < C; i++) out[(size_t)t * C + i] = cpu_ld(wte, wdt, base + i);
    }
}

/* Ranges of whole 16 columns of C, one per thread (at least one): how many for `work`, and
 * range b of nr as [*i0, *i1). The column loops walk a range row after row (a column alone
 * walked down the rows missed the cache at each row), each element's terms in row order. */
static int col_ranges(const mrl_backend *be, size_t work, int C) {
    int nt = cpu_nt(be, work), n16 = (C + 15) / 16;
    return nt < n16 ? nt : n16 > 0 ? n16 : 1;
}
static void col_range(int b, int nr, int C, int *i0, int *i1) {
    int n16 = (C + 15) / 16;
    *i0 = 16 * (int)((long)n16 * b / nr);
    *i1 = 16 * (int)((long)n16 * (b + 1) / nr);
    if (*i1 > C) *i1 = C;
}

void cpu_embedding_bwd(const mrl_backend *be, float *dwte, const int32_t *tokens, const void *doutv,
                       int T, int C) {
    const float *dout = doutv;
    /* split over ranges of columns so repeated tokens never race */
    int nr = col_ranges(be, (size_t)T * C, C);
    #pragma omp parallel for schedule(static) num_threads(nr)
    for (int b = 0; b < nr; b++) {
        int i0, i1;
        col_range(b, nr, C, &i0, &i1);
        for (int t = 0; t < T; t++) {
            float *d = dwte + (size_t)tokens[t] * C;
            const float *g = dout + (size_t)t * C;
            for (int i = i0; i < i1; i++) d[i] += g[i];
        }
    }
}

/* The norms' rows and the bias add read the weight as fp32: a bf16 one is widened once per call
 * (exactly) into a buffer of the caller's (small, or malloc'd past 2048), not converted element
 * by element. */
static const float *as_f32(const void *w, mrl_dtype wdt, int C, float *small, float **heap) {
    *heap = NULL;
    if (wdt == MRL_F32) return w;
    float *f = C <= 2048 ? small : (*heap = malloc(sizeof(float) * (size_t)C));
    if (!f) { fprintf(stderr, "mrl: out of memory\n"); abort(); }
    for (int i = 0; i < C; i++) f[i] = cpu_ld(w, wdt, (size_t)i);
    return f;
}
CPU_CLONES static double row_wdot(const float *w, const float *dy, const float *x, int C) {
    CPU_SUM8(C, (double)w[k] * dy[k] * x[k])
}
CPU_CLONES static void rms_row_fwd(float *y, const float *x, const float *w, float r, int C) {
    for (int i = 0; i < C; i++) y[i] = (x[i] * r) * w[i];
}
CPU_CLONES static void rms_row_bwd(float *dx, int acc, const float *x, const float *dy, const float *w, float r, float k, int C) {
    for (int i = 0; i < C; i++) {
        float v = r * w[i] * dy[i] - x[i] * k;
        dx[i] = acc ? dx[i] + v : v;
    }
}
/* out[i0 .. i1) += sum_t a[t][j] (x NULL) or sum_t a[t][j] x[t][j] r[t] (RMSNorm's dw), each
 * column summed over t in order in s (doubles): one thread's range of columns row after row, so
 * whatever the range each column's sum is the same. (Ranges of 64 columns walked down the rows,
 * as before, waited on a cache miss at each row: with the per-element bf16 weight it made
 * RMSNorm's backward 1.3 ms against 0.67, 1024 x 512 on 2 threads.) */
CPU_CLONES static void colsum_range(float *out, double *s, const float *a, const float *x, const float *r, int T, int C,
                                    int i0, int i1) {
    for (int j = i0; j < i1; j++) s[j] = 0;
    for (int t = 0; t < T; t++) {
        const float *at = a + (size_t)t * C;
        if (!x) { for (int j = i0; j < i1; j++) s[j] += at[j]; continue; }
        const float *xt = x + (size_t)t * C;
        double rt = r[t];
        for (int j = i0; j < i1; j++) s[j] += (double)at[j] * xt[j] * rt;
    }
    for (int j = i0; j < i1; j++) out[j] += (float)s[j];
}
/* colsum_range over all C columns, one range per thread (col_ranges). */
static void colsum(const mrl_backend *be, float *out, const float *a, const float *x, const float *r, int T, int C) {
    double *s = malloc(sizeof(double) * (size_t)C);
    if (!s) { fprintf(stderr, "mrl: out of memory\n"); abort(); }
    int nr = col_ranges(be, (size_t)T * C, C);
    #pragma omp parallel for schedule(static) num_threads(nr)
    for (int b = 0; b < nr; b++) {
        int i0, i1;
        col_range(b, nr, C, &i0, &i1);
        colsum_range(out, s, a, x, r, T, C, i0, i1);
    }
    free(s);
}

void cpu_rmsnorm_fwd(const mrl_backend *be, void *outv, float *rstd, const void *inpv, const void *w,
                     mrl_dtype wdt, int T, int C, float eps) {
    float *out = outv; const float *inp = inpv;
    float small[2048], *heap;
    const float *wf = as_f32(w, wdt, C, small, &heap);
    #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, (size_t)T * C))
    for (int t = 0; t < T; t++) {
        const float *x = inp + (size_t)t * C;
        float r = 1.0f / sqrtf((float)(cpu_sumsq8(x, (size_t)C) / C) + eps);
        rms_row_fwd(out + (size_t)t * C, x, wf, r, C);
        if (rstd) rstd[t] = r;
    }
    free(heap);
}

/* y = w * x * r, r = (mean(x^2)+eps)^-1/2:
 * dx = r * (w*dy) - x * r^3 / C * sum(w*dy*x);  dw += sum_t dy * x * r. */
void cpu_rmsnorm_bwd(const mrl_backend *be, void *dinpv, int acc, float *dw, const void *doutv,
                     const void *inpv, const void *w, mrl_dtype wdt, const float *rstd, int T, int C) {
    float *dinp = dinpv; const float *dout = doutv, *inp = inpv;
    float small[2048], *heap;
    const float *wf = as_f32(w, wdt, C, small, &heap);
    int nt = cpu_nt(be, (size_t)T * C);
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (int t = 0; t < T; t++) {
        const float *x = inp + (size_t)t * C, *dy = dout + (size_t)t * C;
        float r = rstd[t];
        float k = (float)(row_wdot(wf, dy, x, C) * r * r * r / C);
        rms_row_bwd(dinp + (size_t)t * C, acc, x, dy, wf, r, k, C);
    }
    free(heap);
    if (dw) colsum(be, dw, dout, inp, rstd, T, C);
}

void cpu_linear_fwd(const mrl_backend *be, void *outv, int acc, const void *inpv, const void *w,
                    mrl_dtype wdt, const void *bias, int T, int IN, int OUT) {
    float *out = outv;
    cpu_mm_xwT(be, out, OUT, acc ? 1.0f : 0.0f, inpv, IN, T, IN, w, wdt, OUT);
    if (bias) {
        float small[2048], *heap;
        const float *b = as_f32(bias, wdt, OUT, small, &heap);
        #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, (size_t)T * OUT))
        for (int t = 0; t < T; t++)
            for (int o = 0; o < OUT; o++) out[(size_t)t * OUT + o] += b[o];
        free(heap);
    }
}

void cpu_linear_bwd(const mrl_backend *be, void *dinp, int acc, float *dw, float *db, const void *doutv,
                    const void *inp, const void *w, mrl_dtype wdt, int T, int IN, int OUT) {
    const float *dout = doutv;
    if (dinp) cpu_mm_gW(be, dinp, acc ? 1.0f : 0.0f, dout, OUT, T, OUT, w, wdt, IN);
    if (dw) cpu_mm_gTx(be, dw, dout, OUT, inp, T, OUT, IN, wdt);
    if (db) colsum(be, db, dout, NULL, NULL, T, OUT);
}

/* The angles' cosines and sines for positions pos[0..T): row t is cos[half] | sin[half], the
 * angle rounded as Hugging Face computes it (fp32 inv_freq times fp32 position), then cos and sin
 * in double rounded to fp32. Kept in the backend's state and reused while the positions are the
 * same (a training step's forward, recompute and backward of every layer: T x half sincos per
 * call were ~3 % of a bf16 step on `small`); NULL when the table would pass 16 MB (the caller
 * then computes each row's own). */
/* inv_freq[i] = theta^(-2i/D) in fp32, as Hugging Face's; c | s: the cosines and sines of one
 * position's angles. Both the table and a row computed on its own come from these. */
static void rope_inv_freq(float *inv_freq, int half, float theta, int D) {
    for (int i = 0; i < half; i++) inv_freq[i] = 1.0f / powf(theta, (float)(2 * i) / (float)D);
}
static void rope_angles(float *c, float *s, int32_t pos, const float *inv_freq, int half) {
    for (int i = 0; i < half; i++) {
        float ang = (float)pos * inv_freq[i];
        c[i] = (float)cos((double)ang), s[i] = (float)sin((double)ang);
    }
}
static const float *rope_table(const mrl_backend *be, int T, int D, const int32_t *pos, float theta) {
    cpu_state *st = cpu_st(be);
    int half = D / 2;
    size_t n = (size_t)T * 2 * half;
    if (n > ((size_t)4 << 20)) return NULL;
    if (st->rope_cs && st->rope_T == T && st->rope_D == D && st->rope_theta == theta &&
        !memcmp(st->rope_pos, pos, sizeof(int32_t) * (size_t)T))
        return st->rope_cs;
    if (n > st->rope_cap || (size_t)T > st->rope_cap) {
        size_t cap = n > (size_t)T ? n : (size_t)T;
        float *cs = malloc(sizeof(float) * cap);
        int32_t *p = malloc(sizeof(int32_t) * cap);
        if (!cs || !p) { free(cs); free(p); return NULL; }
        free(st->rope_cs); free(st->rope_pos);
        st->rope_cs = cs; st->rope_pos = p; st->rope_cap = cap;
    }
    float inv_freq[2048];
    rope_inv_freq(inv_freq, half, theta, D);
    float *cs = st->rope_cs;
    #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, n * 8))
    for (int t = 0; t < T; t++) rope_angles(cs + (size_t)t * 2 * half, cs + (size_t)t * 2 * half + half, pos[t], inv_freq, half);
    memcpy(st->rope_pos, pos, sizeof(int32_t) * (size_t)T);
    st->rope_T = T; st->rope_D = D; st->rope_theta = theta;
    return cs;
}

void cpu_rope(const mrl_backend *be, void *xv, int T, int H, int D, int stride, const int32_t *pos,
              float theta, int inverse) {
    float *x = xv; int half = D / 2, nt = cpu_nt(be, (size_t)T * H * D);
    if (T <= 0 || half <= 0) return;
    /* each row's cosines and sines once for all H heads (q's and k's in one call), from the
       table where there is one; the heads rotated along i, where the loop vectorises */
    const float *tab = half <= 2048 ? rope_table(be, T, D, pos, theta) : NULL;
    size_t need = tab ? 0 : (size_t)half * (1 + 2 * (size_t)nt);   /* inv_freq, then each thread's cos | sin */
    float small[1024], *inv_freq = need <= 1024 ? small : malloc(sizeof(float) * need);
    if (!inv_freq) { fprintf(stderr, "mrl: out of memory\n"); abort(); }
    if (!tab) rope_inv_freq(inv_freq, half, theta, D);
    #pragma omp parallel for schedule(static) num_threads(nt)
    for (int t = 0; t < T; t++) {
        const float *c, *s;
        if (tab) c = tab + (size_t)t * 2 * half, s = c + half;
        else {
            float *cw = inv_freq + (size_t)half * (1 + 2 * (size_t)omp_get_thread_num()), *sw = cw + half;
            rope_angles(cw, sw, pos[t], inv_freq, half);
            c = cw, s = sw;
        }
        for (int h = 0; h < H; h++) {
            float *restrict p = x + (size_t)t * stride + (size_t)h * D, *restrict p2 = p + half;
            if (inverse)   /* the transpose: the angle's sine negated */
                for (int i = 0; i < half; i++) {
                    float a = p[i], b = p2[i];
                    p[i] = a * c[i] + b * s[i];
                    p2[i] = b * c[i] - a * s[i];
                }
            else
                for (int i = 0; i < half; i++) {
                    float a = p[i], b = p2[i];
                    p[i] = a * c[i] - b * s[i];
                    p2[i] = b * c[i] + a * s[i];
                }
        }
    }
    if (inv_freq != small) free(inv_freq);
}

static inline float silu(float g) { return g / (1.0f + expf(-g)); }

#ifdef CPU_HAVE_EXP512
/* SwiGLU over one row on AVX-512: silu(g) u = g u / (1 + e^-g), and its gradient. */
__attribute__((target("avx512f")))
static void swiglu_row512(float *out, const float *g, const float *u, int F) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int i = 0; i < F; i += 16) {
        __mmask16 k = cpu_lanes16(F - i);
        __m512 gv = _mm512_maskz_loadu_ps(k, g + i), uv = _mm512_maskz_loadu_ps(k, u + i);
        __m512 s = _mm512_div_ps(gv, _mm512_add_ps(one, cpu_exp512(_mm512_sub_ps(_mm512_setzero_ps(), gv))));
        _mm512_mask_storeu_ps(out + i, k, _mm512_mul_ps(s, uv));
    }
}
__attribute__((target("avx512f")))
static void swiglu_bwd_row512(float *dg, float *du, const float *dy, const float *g, const float *u, int F) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int i = 0; i < F; i += 16) {
        __mmask16 k = cpu_lanes16(F - i);
        __m512 gv = _mm512_maskz_loadu_ps(k, g + i), uv = _mm512_maskz_loadu_ps(k, u + i), d = _mm512_maskz_loadu_ps(k, dy + i);
        __m512 sg = _mm512_div_ps(one, _mm512_add_ps(one, cpu_exp512(_mm512_sub_ps(_mm512_setzero_ps(), gv))));
        __m512 dsu = _mm512_mul_ps(_mm512_mul_ps(d, uv), sg);   /* dy u sg (1 + g (1 - sg)) */
        _mm512_mask_storeu_ps(dg + i, k, _mm512_mul_ps(dsu, _mm512_add_ps(one, _mm512_mul_ps(gv, _mm512_sub_ps(one, sg)))));
        _mm512_mask_storeu_ps(du + i, k, _mm512_mul_ps(_mm512_mul_ps(d, gv), sg));
    }
}
#endif

#ifdef CPU_HAVE_EXP512
/* The same on AVX2 + FMA, 8 lanes (cpu_exp256): with libm's expf a batch-64 decode step of the
 * 1.5B shapes spent ~2 % in SwiGLU. */
__attribute__((target("avx2,fma")))
static void swiglu_row256(float *out, const float *g, const float *u, int F) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int i = 0; i < F; i += 8) {
        __m256i k = cpu_lanes8(F - i);
        __m256 gv = _mm256_maskload_ps(g + i, k), uv = _mm256_maskload_ps(u + i, k);
        __m256 s = _mm256_div_ps(gv, _mm256_add_ps(one, cpu_exp256(_mm256_sub_ps(_mm256_setzero_ps(), gv))));
        _mm256_maskstore_ps(out + i, k, _mm256_mul_ps(s, uv));
    }
}
__attribute__((target("avx2,fma")))
static void swiglu_bwd_row256(float *dg, float *du, const float *dy, const float *g, const float *u, int F) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int i = 0; i < F; i += 8) {
        __m256i k = cpu_lanes8(F - i);
        __m256 gv = _mm256_maskload_ps(g + i, k), uv = _mm256_maskload_ps(u + i, k), d = _mm256_maskload_ps(dy + i, k);
        __m256 sg = _mm256_div_ps(one, _mm256_add_ps(one, cpu_exp256(_mm256_sub_ps(_mm256_setzero_ps(), gv))));
        __m256 dsu = _mm256_mul_ps(_mm256_mul_ps(d, uv), sg);   /* dy u sg (1 + g (1 - sg)) */
        _mm256_maskstore_ps(dg + i, k, _mm256_mul_ps(dsu, _mm256_add_ps(one, _mm256_mul_ps(gv, _mm256_sub_ps(one, sg)))));
        _mm256_maskstore_ps(du + i, k, _mm256_mul_ps(_mm256_mul_ps(d, gv), sg));
    }
}
#endif

void cpu_swiglu_fwd(const mrl_backend *be, void *outv, const void *guv, int T, int F) {
    float *out = outv; const float *gu = guv;
    int simd = cpu_st(be)->simd;
    #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, (size_t)T * F))
    for (int t = 0; t < T; t++) {
        const float *g = gu + (size_t)t * 2 * F, *u = g + F;
#ifdef CPU_HAVE_EXP512
        if (simd >= CPU_SIMD_AVX512) { swiglu_row512(out + (size_t)t * F, g, u, F); continue; }
        if (simd >= CPU_SIMD_AVX2) { swiglu_row256(out + (size_t)t * F, g, u, F); continue; }
#endif
        (void)simd;
        for (int i = 0; i < F; i++) out[(size_t)t * F + i] = silu(g[i]) * u[i];
    }
}

void cpu_swiglu_bwd(const mrl_backend *be, void *dguv, const void *doutv, const void *guv, int T, int F) {
    float *dgu = dguv; const float *dout = doutv, *gu = guv;
    int simd = cpu_st(be)->simd;
    #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, (size_t)T * F))
    for (int t = 0; t < T; t++) {
        const float *g = gu + (size_t)t * 2 * F, *u = g + F, *dy = dout + (size_t)t * F;
        float *dg = dgu + (size_t)t * 2 * F, *du = dg + F;
#ifdef CPU_HAVE_EXP512
        if (simd >= CPU_SIMD_AVX512) { swiglu_bwd_row512(dg, du, dy, g, u, F); continue; }
        if (simd >= CPU_SIMD_AVX2) { swiglu_bwd_row256(dg, du, dy, g, u, F); continue; }
#endif
        (void)simd;
        for (int i = 0; i < F; i++) {
            float sg = 1.0f / (1.0f + expf(-g[i]));
            dg[i] = dy[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
            du[i] = dy[i] * g[i] * sg;
        }
    }
}

void cpu_add(const mrl_backend *be, void *outv, const void *av, const void *bv, size_t n) {
    float *out = outv; const float *a = av, *b = bv;
    #pragma omp parallel for schedule(static) num_threads(cpu_nt(be, n))
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}
