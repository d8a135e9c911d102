/* attention_amx.c — the packed (training) attention of a bf16 model on AMX tiles: the five
 * block products (S = Q K^T, O = P V; dP = dO V^T, dQ = dS K, dK = dS^T Q, dV = P^T dO) with
 * bf16 operands and fp32 sums (TDPBF16PS), the softmax and dS in fp32 between them — what
 * PyTorch's autocast does with scaled_dot_product_attention on a CPU. cpu_attention_fwd/bwd
 * (attention.c) come here when the model asks for bf16 products (be->bf16_act: --dtype bf16),
 * the CPU has AMX (cpu_state.amx) and D is a multiple of 32; MRL_CPU_ATTN_AMX=0 keeps them on
 * the fp32 path. Rounded to bf16: Q scale (1/sqrt(D) folded in), K, V, dO (also where
 * rowsum(dO o O) reads it, as dP does) and P, dS; Q unscaled for dK. The forward takes a
 * block's scores over all its keys, then softmax and P V; the backward goes over a block's keys
 * in chunks of KCH (a chunk's S, dP, P and dS stay in L2). Each output is a chain of TDPBF16PS
 * over its k range in order, whatever the tasks and chunks, so the result does not depend on
 * the thread count, and the backward's one-pass and split forms (as attention.c's) give the
 * same bits.
 *
 * Layouts (u32: a pair of bf16, the first in the low half; "VNNI": the pair-interleaved
 * second operand TDPBF16PS reads, 16 pairs x 16 columns a tile, 64-byte rows):
 *   Kd  K (or V) by pairs of D: key tile t (16 keys), pair p at [t][p][16 keys] — S's B
 *   Kk  K (or V) by pairs of keys: column tile c (16 of D), key pair p at [c][p][16] — dQ's, O's B
 *   Pv  P or dS of a block's key chunk by pairs of queries: key tile t at [t][32 pairs][16 keys]
 *       — dV^T's, dK^T's B
 *   A operands are bf16 rows: Q, dO (64 x D), P or dS (64 x keys), Q^T, dO^T (D x 64).
 * dK and dV are summed transposed (D x keys, fp32) and written out once per task. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "cpu.h"
#include "cpu_ops.h"

#define BQ 64    /* query rows per block */
#define BKA 128  /* keys per task of the split backward's first pass (a multiple of 32) */
#define KCH 256  /* keys per chunk of a backward block (a multiple of 32) */

static int r32(int n) { return (n + 31) / 32 * 32; }
static int r16(int n) { return (n + 15) / 16 * 16; }
/* Row strides of an odd number of cache lines (fp32: 16 floats a line; bf16: 32 elements). */
static int ld_f32(int n) { return ((r16(n) / 16) | 1) * 16; }
static int ld_b16(int n) { return ((r32(n) / 32) | 1) * 32; }

int cpu_attn_amx(const mrl_backend *be, int D) { return be->bf16_act && cpu_st(be)->attn_amx && D % 32 == 0 && D <= 512; }

/* A thread's share of the work buffer for keys up to L (a multiple of 32) and head size D. */
typedef struct {
    uint32_t *Kd, *Vd, *Kk, *Vk, *Pv, *dSv;
    float *S, *dP, *dKT, *dVT, *Ob;
    uint16_t *Ab, *Qb, *dOb, *QT, *dOT;
    int L, lS, lA, lT;   /* keys; row strides of S/dP, Ab, dKT/dVT */
} amx_work;
static size_t layout(amx_work *w, char *base, int maxlen, int D) {
    int L = r32(maxlen > 0 ? maxlen : 1), lS = ld_f32(L), lA = ld_b16(L), lT = ld_f32(L);
    size_t off = 0;
#define TAKE(f, n, T) do { if (w) w->f = (T *)(base + off); off += ((size_t)(n) * sizeof(T) + 63) / 64 * 64; } while (0)
    TAKE(Kd, (size_t)L * D / 2, uint32_t); TAKE(Vd, (size_t)L * D / 2, uint32_t);
    TAKE(Kk, (size_t)L * D / 2, uint32_t); TAKE(Vk, (size_t)L * D / 2, uint32_t);
    TAKE(Pv, (size_t)KCH * BQ / 2, uint32_t); TAKE(dSv, (size_t)KCH * BQ / 2, uint32_t);   /* the backward's chunks */
    TAKE(S, (size_t)BQ * lS, float); TAKE(dP, (size_t)BQ * lS, float);
    TAKE(dKT, (size_t)D * lT, float); TAKE(dVT, (size_t)D * lT, float); TAKE(Ob, (size_t)BQ * D, float);
    TAKE(Ab, (size_t)BQ * lA, uint16_t); TAKE(Qb, (size_t)BQ * D, uint16_t); TAKE(dOb, (size_t)BQ * D, uint16_t);
    TAKE(QT, (size_t)D * BQ, uint16_t); TAKE(dOT, (size_t)D * BQ, uint16_t);
#undef TAKE
    if (w) { w->L = L; w->lS = lS; w->lA = lA; w->lT = lT; }
    return off;
}
size_t cpu_attn_amx_work(int maxlen, int D) { return layout(NULL, NULL, maxlen, D); }
static amx_work thread_share(void *work, int maxlen, int D) {
    amx_work w;
    size_t per = layout(NULL, NULL, maxlen, D);
    layout(&w, (char *)work + (size_t)omp_get_thread_num() * per, maxlen, D);
    return w;
}

#if CPU_AMX
#include <immintrin.h>
#define TGT CPU_TGT_AMX

/* C (mt x nt tiles of 16 x 16 fp32, row stride ldc floats) = (acc ? C : 0) + A B over kc
 * chunks of 32: A's tile (i, c) at A + 16 i lda + 32 c (bf16 rows), B's tile (j, c) at
 * B + j bj + 256 c (u32, 64-byte rows). 2 x 2 tiles at a time; every C tile is one chain over
 * c = 0 .. kc-1, however the tiles are grouped. */
TGT static void amx_mm(float *C, size_t ldc, const uint16_t *A, size_t lda, const uint32_t *B, size_t bj, int mt, int nt,
                       int kc, int acc) {
    const size_t sa = lda * 2, sc = ldc * 4;
    for (int i = 0; i < mt; i += 2)
        for (int j = 0; j < nt; j += 2) {
            int i2 = i + 1 < mt, j2 = j + 1 < nt;
            float *c0 = C + (size_t)i * 16 * ldc + (size_t)j * 16, *c2 = c0 + 16 * ldc;
            const uint16_t *a0 = A + (size_t)i * 16 * lda, *a1 = a0 + 16 * lda;
            const uint32_t *b0 = B + (size_t)j * bj, *b1 = b0 + bj;
            if (acc) {
                _tile_loadd(0, c0, sc);
                if (j2) _tile_loadd(1, c0 + 16, sc);
                if (i2) { _tile_loadd(2, c2, sc); if (j2) _tile_loadd(3, c2 + 16, sc); }
            } else { _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3); }
            for (int c = 0; c < kc; c++) {
                _tile_loadd(4, a0 + 32 * c, sa);
                _tile_loadd(6, b0 + 256 * c, 64);
                _tile_dpbf16ps(0, 4, 6);
                if (j2) { _tile_loadd(7, b1 + 256 * c, 64); _tile_dpbf16ps(1, 4, 7); }
                if (i2) {
                    _tile_loadd(5, a1 + 32 * c, sa);
                    _tile_dpbf16ps(2, 5, 6);
                    if (j2) _tile_dpbf16ps(3, 5, 7);
                }
            }
            _tile_stored(0, c0, sc);
            if (j2) _tile_stored(1, c0 + 16, sc);
            if (i2) { _tile_stored(2, c2, sc); if (j2) _tile_stored(3, c2 + 16, sc); }
        }
}

/* Operands are rounded to bf16 with cpu_bf16_cvt / _cvt2 / _pairs (VCVTNE(2)PS2BF16; for
 * TDPBF16PS the operands cpu_bf16_rne would make). */
TGT static inline void store_b16(uint16_t *d, __m512 v) { _mm256_storeu_si256((__m256i *)d, cpu_bf16_cvt(v)); }

/* Rows 0..n of x (row stride st, D wide) times s as bf16 rows of D (dst), rows n..m0 zero. */
TGT static void rows_b16(uint16_t *dst, const float *x, size_t st, int n, int m0, int D, float s) {
    __m512 sv = _mm512_set1_ps(s);
    for (int r = 0; r < m0; r++)
        for (int d = 0; d < D; d += 16)
            store_b16(dst + (size_t)r * D + d, r < n ? _mm512_mul_ps(_mm512_loadu_ps(x + (size_t)r * st + d), sv) : _mm512_setzero_ps());
}
/* Keys 0..n of x (row stride st) by pairs of keys (Kk above) for L keys, zero past n. */
TGT static void pack_keypairs(uint32_t *dst, const float *x, size_t st, int n, int L, int D) {
    for (int p = 0; p < L / 2; p++) {
        int j = 2 * p;
        for (int c = 0; c < D; c += 16)
            _mm512_storeu_si512(dst + ((size_t)(c / 16) * (L / 2) + p) * 16,
                                cpu_bf16_pairs(x + (size_t)j * st + c, j < n ? 16 : 0, x + (size_t)(j + 1) * st + c, j + 1 < n ? 16 : 0));
    }
}
/* Keys 0..n of x by pairs of D (Kd above) for L keys, zero past n: a key's bf16 row read as
 * D/2 pairs, 16 keys x 16 pairs turned with one 16 x 16 transpose. */
TGT static void pack_dpairs(uint32_t *dst, const float *x, size_t st, int n, int L, int D) {
    __m512i r[16];
    for (int t = 0; t < L / 16; t++)
        for (int p0 = 0; p0 < D / 2; p0 += 16) {
            for (int i = 0; i < 16; i++) {
                int j = 16 * t + i;
                const float *xr = x + (size_t)j * st + 2 * p0;   /* d = 2 p0 + 0..31: pairs in place */
                r[i] = j < n ? cpu_bf16_cvt2(_mm512_loadu_ps(xr), _mm512_loadu_ps(xr + 16)) : _mm512_setzero_si512();
            }
            cpu_tr16(r);
            for (int i = 0; i < 16; i++) _mm512_storeu_si512(dst + ((size_t)t * (D / 2) + p0 + i) * 16, r[i]);
        }
}
/* x^T (x: rows 0..n, row stride st, D wide; rows n..64 zero) as bf16 rows of 64 (dst: D x 64):
 * the bf16 GEMM's transpose of a K-major operand, 16 columns of x at a time. */
static void rows_t64(uint16_t *dst, const float *x, size_t st, int n, int D) {
    for (int c = 0; c < D; c += 16) cpu_bf16_rows_k((uint32_t *)dst, BQ / 2, x, (int)st, D, n, c);
}

/* One head of one sequence: its Q, dO and O from the sequence's first row, its logsumexp from a
 * block's first row (row strides st for Q, HD for dO and O, H for lse). */
typedef struct {
    const float *q, *o, *dout, *lse;
    int st, HD, H, D;
    float scale;
} ctx;
static ctx head_ctx(const float *q, const float *dout, const float *out, const float *lse, int s0, int h, int i0, int st, int H,
                    int D) {
    int HD = H * D;
    return (ctx){.q = q + (size_t)s0 * st + (size_t)h * D, .dout = dout ? dout + (size_t)s0 * HD + (size_t)h * D : NULL,
                 .o = out ? out + (size_t)s0 * HD + (size_t)h * D : NULL, .lse = lse + (size_t)(s0 + i0) * H + h,
                 .st = st, .HD = HD, .H = H, .D = D, .scale = 1.0f / sqrtf((float)D)};
}

/* Forward: one block of m query rows at i0 against keys 0 .. i0 + m (Kd, Vk hold them). */
TGT static void fwd_block(amx_work *w, const ctx *x, float *out, float *lse, int i0, int m) {
    int D = x->D, nk = i0 + m, nt = r16(nk) / 16, mt = (m + 15) / 16;
    rows_b16(w->Qb, x->q + (size_t)i0 * x->st, (size_t)x->st, m, 16 * mt, D, x->scale);
    amx_mm(w->S, (size_t)w->lS, w->Qb, (size_t)D, w->Kd, (size_t)D / 2 * 16, mt, nt, D / 32, 0);
    int kp = r32(nk);
    for (int r = 0; r < 16 * mt; r++) {   /* softmax in fp32, P as bf16 rows (zero past the row's keys, to kp) */
        float *sr = w->S + (size_t)r * w->lS;
        uint16_t *ar = w->Ab + (size_t)r * w->lA;
        int n = r < m ? i0 + r + 1 : 0;
        __m512 mx = _mm512_set1_ps(-INFINITY), sm = _mm512_setzero_ps();
        for (int j = 0; j < n; j += 16) mx = _mm512_mask_max_ps(mx, cpu_lanes16(n - j), mx, _mm512_maskz_loadu_ps(cpu_lanes16(n - j), sr + j));
        float mxs = _mm512_reduce_max_ps(mx);
        __m512 mv = _mm512_set1_ps(mxs);
        for (int j = 0; j < n; j += 16) {
            __mmask16 k = cpu_lanes16(n - j);
            __m512 e = cpu_exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, sr + j), mv));
            _mm512_mask_storeu_ps(sr + j, k, e);
            sm = _mm512_mask_add_ps(sm, k, sm, e);
        }
        float sum = n ? _mm512_reduce_add_ps(sm) : 1.0f;
        __m512 inv = _mm512_set1_ps(1.0f / sum);
        for (int j = 0; j < kp; j += 16) {
            __mmask16 k = cpu_lanes16(n - j);
            store_b16(ar + j, _mm512_maskz_mul_ps(k, _mm512_maskz_loadu_ps(k, sr + j), inv));
        }
        if (r < m) lse[(size_t)r * x->H] = mxs + logf(sum);
    }
    amx_mm(w->Ob, (size_t)D, w->Ab, (size_t)w->lA, w->Vk, (size_t)w->L / 2 * 16, mt, D / 16, kp / 32, 0);
    for (int r = 0; r < m; r++) memcpy(out + (size_t)r * x->HD, w->Ob + (size_t)r * D, (size_t)D * sizeof(float));
}

enum { DKV = 1, DQ = 2 };
/* Backward: one block of m query rows at i0 against the keys kb .. kb + w (Kd, Vd hold keys from
 * kb; Kk keys from 0 when DQ). P from the saved logsumexp, dS = P o (dP - rowsum(dO o O)) scale;
 * DKV: dK^T += Q^T dS, dV^T += dO^T P (dKT, dVT: keys from kb); DQ (kb = 0, w = i0 + m): dQ = dS K
 * into dq (row stride dst). */
TGT static void bwd_block(amx_work *w, const ctx *x, float *dq, size_t dst, int i0, int m, int kb, int nw, int what) {
    int D = x->D, mt = (m + 15) / 16, qc = (m + 31) / 32, d0 = i0 - kb;
    const float *Q = x->q + (size_t)i0 * x->st, *dO = x->dout + (size_t)i0 * x->HD, *O = x->o + (size_t)i0 * x->HD;
    rows_b16(w->Qb, Q, (size_t)x->st, m, 16 * mt, D, x->scale);
    rows_b16(w->dOb, dO, (size_t)x->HD, m, 16 * mt, D, 1.0f);
    if (what & DKV) {
        rows_t64(w->QT, Q, (size_t)x->st, m, D);
        rows_t64(w->dOT, dO, (size_t)x->HD, m, D);
    }
    float lse[BQ], di[BQ];
    for (int r = 0; r < m; r++) {
        __m512 a = _mm512_setzero_ps();
        for (int c = 0; c < D; c += 16)   /* dO as dP = dO V^T reads it: rounded (dOb), so sum_j P_j dS_j = 0 */
            a = _mm512_fmadd_ps(cpu_bf16_widen(_mm256_loadu_si256((const __m256i *)(w->dOb + (size_t)r * D + c))),
                                _mm512_loadu_ps(O + (size_t)r * x->HD + c), a);
        di[r] = _mm512_reduce_add_ps(a);
        lse[r] = x->lse[(size_t)r * x->H];
    }
    __m512 sc = _mm512_set1_ps(x->scale);
    int rows = (what & DKV) ? 32 * qc : 16 * mt;
    /* keys in chunks of KCH: a chunk's scores, P and dS stay in L2 (at 2048 keys a block's were
       1.5 MB); every product element is the same chain of tile operations as over all keys at once */
    for (int c0 = 0; c0 < nw; c0 += KCH) {
        int cw = nw - c0 < KCH ? nw - c0 : KCH, nt = r16(cw) / 16, kp = r32(cw);
        amx_mm(w->S, (size_t)w->lS, w->Qb, (size_t)D, w->Kd + (size_t)(c0 / 16) * (D / 2) * 16, (size_t)D / 2 * 16, mt, nt, D / 32, 0);
        amx_mm(w->dP, (size_t)w->lS, w->dOb, (size_t)D, w->Vd + (size_t)(c0 / 16) * (D / 2) * 16, (size_t)D / 2 * 16, mt, nt, D / 32, 0);
        for (int r = 0; r < rows; r += 2) {   /* two rows at a time: pairs of queries for Pv, dSv */
            __m512 l[2], dv[2];
            int n[2];
            for (int h = 0; h < 2; h++) {
                int rr = r + h;
                n[h] = rr < m ? d0 + rr + 1 - c0 : 0;   /* the row's visible keys in the chunk */
                if (n[h] > cw) n[h] = cw;
                l[h] = _mm512_set1_ps(rr < m ? lse[rr] : 0.0f);
                dv[h] = _mm512_set1_ps(rr < m ? di[rr] : 0.0f);
            }
            for (int j = 0; j < ((what & DQ) ? kp : 16 * nt); j += 16) {
                __m512 p[2], ds[2];
                for (int h = 0; h < 2; h++) {
                    const float *sr = w->S + (size_t)(r + h) * w->lS + j, *dr = w->dP + (size_t)(r + h) * w->lS + j;
                    __mmask16 k = cpu_lanes16(n[h] - j);
                    p[h] = _mm512_maskz_mov_ps(k, cpu_exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, sr), l[h])));
                    ds[h] = _mm512_maskz_mul_ps(k, _mm512_mul_ps(p[h], _mm512_sub_ps(_mm512_maskz_loadu_ps(k, dr), dv[h])), sc);
                    if ((what & DQ) && r + h < 16 * mt) store_b16(w->Ab + (size_t)(r + h) * w->lA + j, ds[h]);
                }
                if ((what & DKV) && j < 16 * nt) {
                    size_t o = ((size_t)(j / 16) * 32 + (size_t)r / 2) * 16;
                    _mm512_storeu_si512(w->Pv + o, cpu_bf16_pairs_v(p[0], p[1]));
                    _mm512_storeu_si512(w->dSv + o, cpu_bf16_pairs_v(ds[0], ds[1]));
                }
            }
        }
        if (what & DKV) {
            amx_mm(w->dKT + c0, (size_t)w->lT, w->QT, BQ, w->dSv, 32 * 16, D / 16, nt, qc, 1);
            amx_mm(w->dVT + c0, (size_t)w->lT, w->dOT, BQ, w->Pv, 32 * 16, D / 16, nt, qc, 1);
        }
        if (what & DQ)
            amx_mm(w->Ob, (size_t)D, w->Ab, (size_t)w->lA, w->Kk + (size_t)(c0 / 2) * 16, (size_t)w->L / 2 * 16, mt, D / 16, kp / 32, c0 > 0);
    }
    if (what & DQ)
        for (int r = 0; r < m; r++) memcpy(dq + (size_t)r * dst, w->Ob + (size_t)r * D, (size_t)D * sizeof(float));
}

/* A backward task's keys: n rows of K and V (row stride st) by pairs of D for S and dP, K by
 * pairs of keys too where the task computes dQ (kk), and, where it sums dK and dV (dkv), their
 * sums zeroed. */
static void bwd_task(amx_work *w, const float *K, const float *V, int st, int n, int D, int kk, int dkv) {
    int L = r32(n);
    pack_dpairs(w->Kd, K, (size_t)st, n, L, D);
    pack_dpairs(w->Vd, V, (size_t)st, n, L, D);
    if (kk) { w->L = L; pack_keypairs(w->Kk, K, (size_t)st, n, L, D); }
    for (int d = 0; dkv && d < D; d++) {
        memset(w->dKT + (size_t)d * w->lT, 0, (size_t)L * sizeof(float));
        memset(w->dVT + (size_t)d * w->lT, 0, (size_t)L * sizeof(float));
    }
}
/* dK^T, dV^T of keys 0 .. n (from the task's first key) out to dk, dv rows (row stride dst). */
static void write_dkv(const amx_work *w, float *dk, float *dv, size_t dst, int n, int D) {
    cpu_transpose(dk, dst, w->dKT, (size_t)w->lT, D, n);
    cpu_transpose(dv, dst, w->dVT, (size_t)w->lT, D, n);
}

void cpu_attn_amx_fwd(const mrl_backend *be, int nt, float *out, float *lse, const float *q, const float *k, const float *v, int st,
                      const int32_t *cu, int nseq, int H, int Hkv, int D, int maxlen, void *work) {
    (void)be;
    int grp = H / Hkv, HD = H * D, runs = cpu_attn_runs(nt, nseq, H, maxlen, BQ);   /* attention.c's tasks */
    #pragma omp parallel num_threads(nt)
    {
        amx_work w = thread_share(work, maxlen, D);
        cpu_amx_begin();
        #pragma omp for schedule(dynamic, 1) collapse(3)
        for (int s = 0; s < nseq; s++)
            for (int h = 0; h < H; h++)
                for (int r = 0; r < runs; r++) {
                    int s0 = cu[s], n = cu[s + 1] - s0, b0, b1;
                    cpu_attn_run(r, runs, n, BQ, &b0, &b1);
                    if (b0 >= b1) continue;
                    int kmax = b1 * BQ < n ? b1 * BQ : n, L = r32(kmax), g = h / grp;
                    ctx x = head_ctx(q, NULL, NULL, lse, s0, h, 0, st, H, D);
                    pack_dpairs(w.Kd, k + (size_t)s0 * st + (size_t)g * D, (size_t)st, kmax, L, D);
                    w.L = L;
                    pack_keypairs(w.Vk, v + (size_t)s0 * st + (size_t)g * D, (size_t)st, kmax, L, D);
                    for (int i0 = b0 * BQ; i0 < b1 * BQ && i0 < n; i0 += BQ)
                        fwd_block(&w, &x, out + (size_t)(s0 + i0) * HD + (size_t)h * D, lse + (size_t)(s0 + i0) * H + h, i0,
                                  n - i0 < BQ ? n - i0 : BQ);
                }
        cpu_amx_end();
    }
}

void cpu_attn_amx_bwd(const mrl_backend *be, int nt, int split, float *dq, float *dk, float *dv, int dst, const float *dout,
                      const float *q, const float *k, const float *v, int st, const float *out, const float *lse,
                      const int32_t *cu, int nseq, int H, int Hkv, int D, int maxlen, void *work) {
    (void)be;
    int grp = H / Hkv, nkb = (maxlen + BKA - 1) / BKA, nqb = (maxlen + BQ - 1) / BQ;
    #pragma omp parallel num_threads(nt)
    {
        amx_work w = thread_share(work, maxlen, D);
        cpu_amx_begin();
        if (!split) {
            /* one pass: a task per (sequence, KV head) holds all of dK, dV and each head's dQ */
            #pragma omp for schedule(dynamic, 1) collapse(2)
            for (int s = 0; s < nseq; s++)
                for (int g = 0; g < Hkv; g++) {
                    int s0 = cu[s], n = cu[s + 1] - s0;
                    if (n <= 0) continue;
                    bwd_task(&w, k + (size_t)s0 * st + (size_t)g * D, v + (size_t)s0 * st + (size_t)g * D, st, n, D, 1, 1);
                    for (int h = g * grp; h < (g + 1) * grp; h++)
                        for (int i0 = 0; i0 < n; i0 += BQ) {
                            int m = n - i0 < BQ ? n - i0 : BQ;
                            ctx x = head_ctx(q, dout, out, lse, s0, h, i0, st, H, D);
                            bwd_block(&w, &x, dq + (size_t)(s0 + i0) * dst + (size_t)h * D, (size_t)dst, i0, m, 0, i0 + m, DKV | DQ);
                        }
                    write_dkv(&w, dk + (size_t)s0 * dst + (size_t)g * D, dv + (size_t)s0 * dst + (size_t)g * D, (size_t)dst, n, D);
                }
        } else {
            /* pass 1: dK, dV of one block of BKA keys, over the group's heads and the query blocks
               that see them (in the one pass's order) */
            #pragma omp for schedule(dynamic, 1) collapse(3)
            for (int s = 0; s < nseq; s++)
                for (int g = 0; g < Hkv; g++)
                    for (int kb = 0; kb < nkb; kb++) {
                        int s0 = cu[s], n = cu[s + 1] - s0, kb0 = kb * BKA;
                        if (kb0 >= n) continue;
                        int nb = n - kb0 < BKA ? n - kb0 : BKA;
                        bwd_task(&w, k + (size_t)(s0 + kb0) * st + (size_t)g * D, v + (size_t)(s0 + kb0) * st + (size_t)g * D, st, nb, D,
                                 0, 1);
                        for (int h = g * grp; h < (g + 1) * grp; h++)
                            for (int i0 = kb0 / BQ * BQ; i0 < n; i0 += BQ) {
                                int m = n - i0 < BQ ? n - i0 : BQ, nw = i0 + m - kb0 < nb ? i0 + m - kb0 : nb;
                                ctx x = head_ctx(q, dout, out, lse, s0, h, i0, st, H, D);
                                bwd_block(&w, &x, NULL, 0, i0, m, kb0, nw, DKV);
                            }
                        write_dkv(&w, dk + (size_t)(s0 + kb0) * dst + (size_t)g * D, dv + (size_t)(s0 + kb0) * dst + (size_t)g * D,
                                  (size_t)dst, nb, D);
                    }
            /* pass 2: dQ of one query block of one head (P and dS recomputed) */
            #pragma omp for schedule(dynamic, 1) collapse(3)
            for (int s = 0; s < nseq; s++)
                for (int h = 0; h < H; h++)
                    for (int qb = 0; qb < nqb; qb++) {
                        int s0 = cu[s], n = cu[s + 1] - s0, i0 = qb * BQ, g = h / grp;
                        if (i0 >= n) continue;
                        int m = n - i0 < BQ ? n - i0 : BQ, nk = i0 + m;
                        bwd_task(&w, k + (size_t)s0 * st + (size_t)g * D, v + (size_t)s0 * st + (size_t)g * D, st, nk, D, 1, 0);
                        ctx x = head_ctx(q, dout, out, lse, s0, h, i0, st, H, D);
                        bwd_block(&w, &x, dq + (size_t)(s0 + i0) * dst + (size_t)h * D, (size_t)dst, i0, m, 0, nk, DQ);
                    }
        }
        cpu_amx_end();
    }
}
#else   /* no AMX in this compiler: cpu_attn_amx is 0 (cpu_state.amx is never set) */
void cpu_attn_amx_fwd(const mrl_backend *be, int nt, float *out, float *lse, const float *q, const float *k, const float *v, int st,
                      const int32_t *cu, int nseq, int H, int Hkv, int D, int maxlen, void *work) {
    (void)be; (void)nt; (void)out; (void)lse; (void)q; (void)k; (void)v; (void)st; (void)cu; (void)nseq; (void)H; (void)Hkv;
    (void)D; (void)maxlen; (void)work;
    abort();
}
void cpu_attn_amx_bwd(const mrl_backend *be, int nt, int split, float *dq, float *dk, float *dv, int dst, const float *dout,
                      const float *q, const float *k, const float *v, int st, const float *out, const float *lse,
                      const int32_t *cu, int nseq, int H, int Hkv, int D, int maxlen, void *work) {
    (void)be; (void)nt; (void)split; (void)dq; (void)dk; (void)dv; (void)dst; (void)dout; (void)q; (void)k; (void)v; (void)st;
    (void)out; (void)lse; (void)cu; (void)nseq; (void)H; (void)Hkv; (void)D; (void)maxlen; (void)work;
    abort();
}
#endif
