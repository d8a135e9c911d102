/* attention.cu — causal grouped-query attention on CUDA.
 * Packed sequences (training, scoring): per sequence and KV group, scores S = Q K^T by a
 * strided-batched cuBLAS GEMM over the group's query heads (K shared: stride 0), a masked
 * softmax kernel (saving logsumexp), O = P V by a second GEMM; the backward recomputes P from
 * the logsumexp. This is O(L^2) workspace per sequence (a flash-attention kernel that tiles
 * without materialising S is the next step; see BENCHMARKS.md).
 * Paged KV cache (decode, prefill against the cache): see k_paged_split below. */
#include "common.cuh"

/* S fp32 [H, L, L] | P bf16 [H, L, L] | dq fp32 [L, H*D] | dk, dv fp32 [L, Hkv*D] | di fp32 [L*H]
 * | dO and Q head-major bf16 [H, L, D] each (so a KV group's heads form one GEMM operand) */
static size_t a256(size_t n) { return (n + 255) & ~(size_t)255; }
/* Each part starts on a 256-byte boundary: a bf16 part of odd length would misalign the next. */
struct att_parts { float *S; bf16 *P; float *dq, *dk, *dv, *di; bf16 *dOt, *Qt; };
static att_parts att_split(void *work, size_t L, int H, int Hkv, int D) {
    char *p = (char *)work; size_t HL2 = (size_t)H * L * L;
    att_parts a;
    a.S = (float *)p; p += a256(HL2 * 4);
    a.P = (bf16 *)p; p += a256(HL2 * 2);
    a.dq = (float *)p; p += a256(L * (size_t)H * D * 4);
    a.dk = (float *)p; p += a256(L * (size_t)Hkv * D * 4);
    a.dv = (float *)p; p += a256(L * (size_t)Hkv * D * 4);
    a.di = (float *)p; p += a256(L * (size_t)H * 4);
    a.dOt = (bf16 *)p; p += a256(L * (size_t)H * D * 2);
    a.Qt = (bf16 *)p;
    return a;
}
size_t cu_attention_work(const mrl_backend *be, int T, int maxlen, int H, int D) {
    (void)be; (void)T;
    size_t L = maxlen > 0 ? maxlen : 1, HL2 = (size_t)H * L * L;
    /* Hkv <= H: size the dk/dv parts for H */
    return a256(HL2 * 4) + a256(HL2 * 2) + 3 * a256(L * (size_t)H * D * 4) + a256(L * (size_t)H * 4)
           + 2 * a256(L * (size_t)H * D * 2);
}

/* dst[(h*L + i)*D + d] = src[i*ld + h*D + d]: rows of heads → head-major blocks */
__global__ void k_heads_major(bf16 *dst, const bf16 *src, int ld, int L, int H, int D) {
    int i = blockIdx.x;
    for (int k = threadIdx.x; k < H * D; k += blockDim.x) {
        int h = k / D, d = k - h * D;
        dst[((size_t)h * L + i) * D + d] = src[(size_t)i * ld + k];
    }
}

/* The sequence offsets on the host: cu_host when the caller has them, else read back from cu
 * with a stream sync into *own (malloc'd, which the caller frees; NULL when not needed). */
static const int32_t *host_cu(const mrl_backend *be, const int32_t *cu, const int32_t *cu_host, int nseq, int32_t **own) {
    *own = NULL;
    if (cu_host) return cu_host;
    int32_t *h = (int32_t *)malloc((size_t)(nseq + 1) * 4);
    if (!h) { fprintf(stderr, "mrl: out of memory at %s:%d\n", __FILE__, __LINE__); abort(); }
    CUDA_CHECK(cudaMemcpyAsync(h, cu, (size_t)(nseq + 1) * 4, cudaMemcpyDeviceToHost, cu_st(be)->stream));
    CUDA_CHECK(cudaStreamSynchronize(cu_st(be)->stream));
    return *own = h;
}

/* Row i of head h: p_j = exp(s_ij - lse) for j <= i, 0 beyond; lse saved at lse[(s0+i)*H + h]. */
__global__ void k_softmax_causal(bf16 *P, float *lse, const float *S, int L, int H, int s0) {
    int i = blockIdx.x, h = blockIdx.y;
    const float *s = S + ((size_t)h * L + i) * L;
    bf16 *p = P + ((size_t)h * L + i) * L;
    float m = -INFINITY;
    for (int j = threadIdx.x; j <= i; j += blockDim.x) m = fmaxf(m, s[j]);
    m = block_max(m);
    float sum = 0;
    for (int j = threadIdx.x; j <= i; j += blockDim.x) sum += expf(s[j] - m);
    sum = block_sum(sum);
    float l = m + logf(sum);
    for (int j = threadIdx.x; j < L; j += blockDim.x) p[j] = __float2bfloat16(j <= i ? expf(s[j] - l) : 0.0f);
    if (threadIdx.x == 0) lse[(size_t)(s0 + i) * H + h] = l;
}
__global__ void k_probs_from_lse(bf16 *P, const float *S, const float *lse, int L, int H, int s0) {
    int i = blockIdx.x, h = blockIdx.y;
    const float *s = S + ((size_t)h * L + i) * L;
    bf16 *p = P + ((size_t)h * L + i) * L;
    float l = lse[(size_t)(s0 + i) * H + h];
    for (int j = threadIdx.x; j < L; j += blockDim.x) p[j] = __float2bfloat16(j <= i ? expf(s[j] - l) : 0.0f);
}
/* di[i*H + h] = sum_d dO * O */
__global__ void k_rowdot(float *di, const bf16 *dout, const bf16 *out, int L, int H, int D, int s0) {
    int i = blockIdx.x, h = blockIdx.y;
    size_t o = (size_t)(s0 + i) * H * D + (size_t)h * D;
    float s = 0;
    for (int d = threadIdx.x; d < D; d += blockDim.x) s += __bfloat162float(dout[o + d]) * __bfloat162float(out[o + d]);
    s = block_sum(s);
    if (threadIdx.x == 0) di[(size_t)i * H + h] = s;
}
/* dS = P (dP - di) * scale, written over P as bf16 (dP is in S). */
__global__ void k_dsoftmax(bf16 *P, const float *dP, const float *di, int L, int H, float scale) {
    int i = blockIdx.x, h = blockIdx.y;
    size_t r = ((size_t)h * L + i) * L;
    float d = di[(size_t)i * H + h];
    for (int j = threadIdx.x; j < L; j += blockDim.x)
        P[r + j] = __float2bfloat16(j <= i ? __bfloat162float(P[r + j]) * (dP[r + j] - d) * scale : 0.0f);
}
/* dst rows (stride ld_dst) of width W = bf16(src fp32 rows of width W) */
__global__ void k_store_rows(bf16 *dst, int ld_dst, const float *src, int W) {
    int t = blockIdx.x;
    for (int j = threadIdx.x; j < W; j += blockDim.x) dst[(size_t)t * ld_dst + j] = __float2bfloat16(src[(size_t)t * W + j]);
}

void cu_attention_fwd(const mrl_backend *be, void *out, float *lse, const void *q, const void *k, const void *v,
                      int st, const int32_t *cu_seqlens, const int32_t *cu_host, int nseq, int T, int H, int Hkv,
                      int D, void *work) {
    (void)T;
    if (nseq <= 0) return;
    cudaStream_t stream = cu_st(be)->stream;
    int32_t *own;
    const int32_t *cu = host_cu(be, cu_seqlens, cu_host, nseq, &own);
    int r = H / Hkv; float scale = 1.0f / sqrtf((float)D);
    for (int s = 0; s < nseq; s++) {
        int s0 = cu[s], L = cu[s + 1] - cu[s];
        if (L <= 0) continue;
        size_t LL = (size_t)L * L;
        att_parts wp = att_split(work, (size_t)L, H, Hkv, D);
        float *S = wp.S; bf16 *P = wp.P;
        for (int g = 0; g < Hkv; g++) {
            const bf16 *Kg = (const bf16 *)k + (size_t)s0 * st + (size_t)g * D;
            const bf16 *Qg = (const bf16 *)q + (size_t)s0 * st + (size_t)g * r * D;
            cu_gemm_batched(be, true, false, L, L, D, scale, Kg, st, 0, Qg, st, D, 0.0f, S + (size_t)g * r * LL, MRL_F32, L, LL, r);
        }
        k_softmax_causal<<<dim3(L, H), 128, 0, stream>>>(P, lse, S, L, H, s0);
        for (int g = 0; g < Hkv; g++) {
            const bf16 *Vg = (const bf16 *)v + (size_t)s0 * st + (size_t)g * D;
            bf16 *Og = (bf16 *)out + (size_t)s0 * H * D + (size_t)g * r * D;
            cu_gemm_batched(be, false, false, D, L, L, 1.0f, Vg, st, 0, P + (size_t)g * r * LL, L, LL, 0.0f, Og, MRL_BF16, H * D, D, r);
        }
    }
    free(own);
}

void cu_attention_bwd(const mrl_backend *be, void *dq, void *dk, void *dv, int dst, const void *dout, const void *q,
                      const void *k, const void *v, int st, const void *out, const float *lse, const int32_t *cu_seqlens,
                      const int32_t *cu_host, int nseq, int T, int H, int Hkv, int D, void *work) {
    (void)T;
    if (nseq <= 0) return;
    cudaStream_t stream = cu_st(be)->stream;
    int32_t *own;
    const int32_t *cu = host_cu(be, cu_seqlens, cu_host, nseq, &own);
    int r = H / Hkv; float scale = 1.0f / sqrtf((float)D);
    int maxlen = 1;
    for (int s = 0; s < nseq; s++) if (cu[s + 1] - cu[s] > maxlen) maxlen = cu[s + 1] - cu[s];
    att_parts wp = att_split(work, (size_t)maxlen, H, Hkv, D);
    float *S = wp.S, *dqa = wp.dq, *dka = wp.dk, *dva = wp.dv, *di = wp.di;
    bf16 *P = wp.P, *dOt = wp.dOt, *Qt = wp.Qt;
    for (int s = 0; s < nseq; s++) {
        int s0 = cu[s], L = cu[s + 1] - cu[s];
        if (L <= 0) continue;
        size_t LL = (size_t)L * L;
        const bf16 *Q = (const bf16 *)q + (size_t)s0 * st, *K = (const bf16 *)k + (size_t)s0 * st, *V = (const bf16 *)v + (size_t)s0 * st;
        const bf16 *dO = (const bf16 *)dout + (size_t)s0 * H * D;
        for (int g = 0; g < Hkv; g++)   /* S = scale Q K^T, then P from the saved lse */
            cu_gemm_batched(be, true, false, L, L, D, scale, K + (size_t)g * D, st, 0, Q + (size_t)g * r * D, st, D, 0.0f,
                            S + (size_t)g * r * LL, MRL_F32, L, LL, r);
        k_probs_from_lse<<<dim3(L, H), 128, 0, stream>>>(P, S, lse, L, H, s0);
        k_heads_major<<<L, 256, 0, stream>>>(dOt, dO, H * D, L, H, D);
        k_heads_major<<<L, 256, 0, stream>>>(Qt, Q, st, L, H, D);
        for (int g = 0; g < Hkv; g++)   /* dV_g = sum over the group's heads of P_h^T dO_h: one GEMM, k = r L */
            cu_gemm(be, false, true, D, L, r * L, 1.0f, dOt + (size_t)g * r * L * D, D, P + (size_t)g * r * LL, L, 0.0f,
                    dva + (size_t)g * D, MRL_F32, Hkv * D);
        for (int g = 0; g < Hkv; g++)   /* dP = dO V^T (into S) */
            cu_gemm_batched(be, true, false, L, L, D, 1.0f, V + (size_t)g * D, st, 0, dO + (size_t)g * r * D, H * D, D, 0.0f,
                            S + (size_t)g * r * LL, MRL_F32, L, LL, r);
        k_rowdot<<<dim3(L, H), 128, 0, stream>>>(di, (const bf16 *)dout, (const bf16 *)out, L, H, D, s0);
        k_dsoftmax<<<dim3(L, H), 128, 0, stream>>>(P, S, di, L, H, scale);
        for (int g = 0; g < Hkv; g++)   /* dQ_h = dS_h K_g */
            cu_gemm_batched(be, false, false, D, L, L, 1.0f, K + (size_t)g * D, st, 0, P + (size_t)g * r * LL, L, LL, 0.0f,
                            dqa + (size_t)g * r * D, MRL_F32, H * D, D, r);
        for (int g = 0; g < Hkv; g++)   /* dK_g = sum over the group's heads of dS_h^T Q_h */
            cu_gemm(be, false, true, D, L, r * L, 1.0f, Qt + (size_t)g * r * L * D, D, P + (size_t)g * r * LL, L, 0.0f,
                    dka + (size_t)g * D, MRL_F32, Hkv * D);
        k_store_rows<<<L, 256, 0, stream>>>((bf16 *)dq + (size_t)s0 * dst, dst, dqa, H * D);
        k_store_rows<<<L, 256, 0, stream>>>((bf16 *)dk + (size_t)s0 * dst, dst, dka, Hkv * D);
        k_store_rows<<<L, 256, 0, stream>>>((bf16 *)dv + (size_t)s0 * dst, dst, dva, Hkv * D);
    }
    free(own);
}

/* Decode attention over the paged cache, split-K: grid (row, head, split); each split scores
 * its share of the context in tiles of PG_KT keys (a thread per key), keeps an online softmax,
 * and accumulates P V with the 4 warps taking every 4th key (lanes own dims lane + 32c).
 * Splits write (acc[D], m, l) partials that a second kernel combines; with one split the
 * block writes the output itself. More splits when rows x heads alone cannot fill the GPU. */
#define PG_THREADS 128
#define PG_KT 256
#define PG_MAXD MRL_CUDA_PAGED_MAXD

static int paged_splits(int R, int H) {
    int rh = R * H;
    if (rh >= 264) return 1;
    int s = (264 + rh - 1) / rh;
    return s > 16 ? 16 : s;
}

size_t cu_attention_paged_work(const mrl_backend *be, int R, int maxctx, int H, int D) {
    (void)be; (void)maxctx;
    /* Partials exist only where R * H < 264 (else one split, which writes the output itself),
     * and there R * H * S < R * H + 264 <= 527. The bound min(R H, 263) + 264 (rows of D + 2
     * floats) is monotone in R: an arena sized for R rows also serves any smaller batch (which
     * may use more splits). R H + 264 held 400 MB at msample's largest --batch, never used. */
    size_t rh = (size_t)R * H;
    return ((rh < 263 ? rh : 263) + 264) * (D + 2) * sizeof(float);
}

__global__ void __launch_bounds__(PG_THREADS) k_paged_split(float *part, bf16 *out, const bf16 *q, int q_stride,
        const bf16 *kp, const bf16 *vp, const int32_t *bt, int max_blocks, int btok, const int32_t *row_seq,
        const int32_t *row_ctx, int H, int Hkv, int D, float scale, int S) {
    __shared__ float qs[PG_MAXD], ps[PG_KT], red[4][PG_MAXD];
    int r = blockIdx.x, h = blockIdx.y, sp = blockIdx.z, g = h / (H / Hkv);
    int tid = threadIdx.x, lane = tid & 31, w = tid >> 5;
    int ctx = row_ctx[r], chunk = (ctx + S - 1) / S, j0 = sp * chunk, j1 = min(ctx, j0 + chunk);
    const int32_t *blocks = bt + (size_t)row_seq[r] * max_blocks;
    const bf16 *qr = q + (size_t)r * q_stride + (size_t)h * D;
    for (int d = tid; d < D; d += PG_THREADS) qs[d] = __bfloat162float(qr[d]);
    __syncthreads();
    float m = -INFINITY, l = 0, acc[4] = {0, 0, 0, 0};
    for (int t0 = j0; t0 < j1; t0 += PG_KT) {
        int nt = min(PG_KT, j1 - t0);
        float tmax = -INFINITY;
        for (int jj = tid; jj < nt; jj += PG_THREADS) {
            int j = t0 + jj;
            const bf16 *kr = kp + (((size_t)blocks[j / btok] * btok + j % btok) * Hkv + g) * D;
            float sdot = 0;
            for (int d = 0; d < D; d += 2) {
                float2 kf = __bfloat1622float2(*(const __nv_bfloat162 *)(kr + d));
                sdot += qs[d] * kf.x + qs[d + 1] * kf.y;
            }
            sdot *= scale;
            ps[jj] = sdot;
            tmax = fmaxf(tmax, sdot);
        }
        tmax = block_max(tmax);
        float nm = fmaxf(m, tmax), corr = expf(m - nm), lsum = 0;
        for (int jj = tid; jj < nt; jj += PG_THREADS) { float p = expf(ps[jj] - nm); ps[jj] = p; lsum += p; }
        lsum = block_sum(lsum);   /* its barriers also publish ps */
        l = l * corr + lsum;
        #pragma unroll
        for (int c = 0; c < 4; c++) acc[c] *= corr;
        for (int jj = w; jj < nt; jj += 4) {
            int j = t0 + jj;
            const bf16 *vr = vp + (((size_t)blocks[j / btok] * btok + j % btok) * Hkv + g) * D;
            float p = ps[jj];
            #pragma unroll
            for (int c = 0; c < 4; c++) { int d = lane + 32 * c; if (d < D) acc[c] += p * __bfloat162float(vr[d]); }
        }
        m = nm;
        __syncthreads();
    }
    #pragma unroll
    for (int c = 0; c < 4; c++) { int d = lane + 32 * c; if (d < D) red[w][d] = acc[c]; }
    __syncthreads();
    for (int d = tid; d < D; d += PG_THREADS) {
        float t = red[0][d] + red[1][d] + red[2][d] + red[3][d];
        if (S == 1) out[(size_t)r * H * D + (size_t)h * D + d] = __float2bfloat16(l > 0 ? t / l : 0.0f);
        else part[(((size_t)r * H + h) * S + sp) * (D + 2) + d] = t;
    }
    if (S > 1 && tid == 0) {
        float *pm = part + (((size_t)r * H + h) * S + sp) * (D + 2) + D;
        pm[0] = m; pm[1] = l;
    }
}

__global__ void k_paged_combine(bf16 *out, const float *part, int H, int D, int S) {
    int r = blockIdx.x, h = blockIdx.y;
    const float *p = part + ((size_t)r * H + h) * S * (D + 2);
    float M = -INFINITY;
    for (int s = 0; s < S; s++) M = fmaxf(M, p[s * (D + 2) + D]);
    float L = 0;
    for (int s = 0; s < S; s++) { float ms = p[s * (D + 2) + D]; if (ms > -INFINITY) L += p[s * (D + 2) + D + 1] * expf(ms - M); }
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float o = 0;
        for (int s = 0; s < S; s++) { float ms = p[s * (D + 2) + D]; if (ms > -INFINITY) o += p[s * (D + 2) + d] * expf(ms - M); }
        out[(size_t)r * H * D + (size_t)h * D + d] = __float2bfloat16(L > 0 ? o / L : 0.0f);
    }
}

void cu_attention_paged(const mrl_backend *be, void *out, const void *q, int q_stride, const void *kpool, const void *vpool,
                        mrl_dtype kvdt, const int32_t *block_tables, int max_blocks, int block_tokens, const int32_t *row_seq,
                        const int32_t *row_ctx, int R, int H, int Hkv, int D, void *work) {
    if (R <= 0) return;
    if (kvdt != MRL_BF16) { fprintf(stderr, "mrl: the CUDA KV cache is bf16 (attention_paged got dtype %d)\n", (int)kvdt); abort(); }
    if (D > PG_MAXD || (D & 1)) { fprintf(stderr, "mrl: CUDA paged attention supports even head_dim <= %d (got %d)\n", PG_MAXD, D); abort(); }
    int S = paged_splits(R, H);
    cudaStream_t st = cu_st(be)->stream;
    k_paged_split<<<dim3(R, H, S), PG_THREADS, 0, st>>>((float *)work, (bf16 *)out, (const bf16 *)q, q_stride,
        (const bf16 *)kpool, (const bf16 *)vpool, block_tables, max_blocks, block_tokens, row_seq, row_ctx, H, Hkv, D,
        1.0f / sqrtf((float)D), S);
    if (S > 1) k_paged_combine<<<dim3(R, H), 128, 0, st>>>((bf16 *)out, (const float *)work, H, D, S);
}
