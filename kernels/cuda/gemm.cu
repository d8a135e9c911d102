/* gemm.cu — the GEMM-shaped ops on CUDA: linear layers (cuBLAS, bf16 in, fp32 compute), the
 * sampler's logits, and the LM head fused with log-softmax in (row block x vocab chunk) tiles
 * so that T x V logits never exist. */
#include "common.cuh"

static cudaDataType_t cty(mrl_dtype t) { return t == MRL_BF16 ? CUDA_R_16BF : CUDA_R_32F; }

void cu_gemm(const mrl_backend *be, bool ta, bool tb, int m, int n, int k, float alpha,
             const void *A, int lda, const void *B, int ldb, float beta, void *C, mrl_dtype ctype, int ldc) {
    if (m <= 0 || n <= 0) return;
    BLAS_CHECK(cublasGemmEx(cu_st(be)->blas, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                            m, n, k, &alpha, A, CUDA_R_16BF, lda, B, CUDA_R_16BF, ldb, &beta, C, cty(ctype), ldc,
                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}
void cu_gemm_batched(const mrl_backend *be, bool ta, bool tb, int m, int n, int k, float alpha,
                     const void *A, int lda, long long sa, const void *B, int ldb, long long sb, float beta,
                     void *C, mrl_dtype ctype, int ldc, long long sc, int batch) {
    if (m <= 0 || n <= 0 || batch <= 0) return;
    BLAS_CHECK(cublasGemmStridedBatchedEx(cu_st(be)->blas, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          m, n, k, &alpha, A, CUDA_R_16BF, lda, sa, B, CUDA_R_16BF, ldb, sb, &beta,
                                          C, cty(ctype), ldc, sc, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

/* out[t, o] = bias[o] (fill) or out[t, o] + bias[o] (add), in bf16 */
__global__ void k_bias(bf16 *out, const void *bias, mrl_dtype bdt, int T, int OUT, int fill) {
    long n = (long)T * OUT;
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16((fill ? 0.0f : __bfloat162float(out[i])) + ldf(bias, bdt, i % OUT));
}

/* Row-major out[T,OUT] = inp[T,IN] W[OUT,IN]^T is column-major out^T = W^T' inp^T: op(A)=T on W.
 * A bias is written into out first and the GEMM adds to it (beta 1), so that the sum is rounded
 * to bf16 once, in fp32 inside cuBLAS (a bf16 bias is exact there; an fp32 one is rounded to bf16
 * as the weights are). Added after the GEMM, it rounded the product and then the sum. */
void cu_linear_fwd(const mrl_backend *be, void *out, int acc, const void *inp, const void *w, mrl_dtype wdt,
                   const void *bias, int T, int IN, int OUT) {
    if (T <= 0) return;
    const void *wb = cu_bf16_weights(be, w, wdt, (size_t)OUT * IN);
    long n = (long)T * OUT; int g = (int)((n + 255) / 256); if (g > 65535 * 4) g = 65535 * 4;
    if (bias && !acc) k_bias<<<g, 256, 0, cu_st(be)->stream>>>((bf16 *)out, bias, wdt, T, OUT, 1);
    cu_gemm(be, true, false, OUT, T, IN, 1.0f, wb, IN, inp, IN, (acc || bias) ? 1.0f : 0.0f, out, MRL_BF16, OUT);
    if (bias && acc) k_bias<<<g, 256, 0, cu_st(be)->stream>>>((bf16 *)out, bias, wdt, T, OUT, 0);
}

void cu_linear_bwd(const mrl_backend *be, void *dinp, int acc, float *dw, float *db, const void *dout,
                   const void *inp, const void *w, mrl_dtype wdt, int T, int IN, int OUT) {
    if (T <= 0) return;
    if (dinp) {   /* dinp[T,IN] = dout[T,OUT] W[OUT,IN] */
        const void *wb = cu_bf16_weights(be, w, wdt, (size_t)OUT * IN);
        cu_gemm(be, false, false, IN, T, OUT, 1.0f, wb, IN, dout, OUT, acc ? 1.0f : 0.0f, dinp, MRL_BF16, IN);
    }
    if (dw)       /* dW[OUT,IN] += dout^T inp */
        cu_gemm(be, false, true, IN, OUT, T, 1.0f, inp, IN, dout, OUT, 1.0f, dw, MRL_F32, IN);
    if (db) cu_colsum_acc(be, db, (const bf16 *)dout, T, OUT, OUT);
}

void cu_logits(const mrl_backend *be, float *logits, const void *x, const void *w, mrl_dtype wdt, int T, int C, int V) {
    if (T <= 0) return;
    const void *wb = cu_bf16_weights(be, w, wdt, (size_t)V * C);
    cu_gemm(be, true, false, V, T, C, 1.0f, wb, C, x, C, 0.0f, logits, MRL_F32, V);
}

#define LP_ROWS 2048
#define LP_VCHUNK 16384
/* work: z fp32 [rows x chunk] | g bf16 [rows x chunk] | dx fp32 [rows x C] | mx, sm fp32 [rows],
 * each part starting on a 256-byte boundary (a bf16 part of odd length would misalign the next) */
static size_t a256(size_t n) { return (n + 255) & ~(size_t)255; }
struct lp_parts { float *z; bf16 *g; float *dx, *mx, *sm; };
static lp_parts lp_split(void *work, size_t R, size_t VC, int C) {
    char *p = (char *)work;
    lp_parts q;
    q.z = (float *)p; p += a256(R * VC * 4);
    q.g = (bf16 *)p; p += a256(R * VC * 2);
    q.dx = (float *)p; p += a256(R * (size_t)C * 4);
    q.mx = (float *)p; p += a256(R * 4);
    q.sm = (float *)p;
    return q;
}
size_t cu_logprob_work(const mrl_backend *be, int T, int C, int V) {
    (void)be;
    size_t r = T < LP_ROWS ? (size_t)T : LP_ROWS, v = V < LP_VCHUNK ? (size_t)V : LP_VCHUNK;
    if (!r) r = 1;
    return a256(r * v * 4) + a256(r * v * 2) + a256(r * (size_t)C * 4) + 2 * a256(r * 4);
}

/* One block per row: fold this chunk into the running max / sum of exp; grab the target logit.
 * A part all -inf (this chunk, or every chunk so far: overflowed products) adds 0, as on the
 * CPU: shifted by its max, -inf - -inf made the row NaN though later chunks were finite (a NaN
 * logit still makes it NaN). */
__global__ void k_lse_update(float *mx, float *sm, float *logp, const float *z, const int32_t *targets, int nv, int v0, int first) {
    int i = blockIdx.x; const float *zr = z + (size_t)i * nv;
    float m = -INFINITY;
    for (int j = threadIdx.x; j < nv; j += blockDim.x) m = fmaxf(m, zr[j]);
    m = block_max(m);
    float s = 0, sh = m == -INFINITY ? 0.0f : m;
    for (int j = threadIdx.x; j < nv; j += blockDim.x) s += expf(zr[j] - sh);
    s = block_sum(s);
    if (threadIdx.x == 0) {
        float om = first ? -INFINITY : mx[i], os = first ? 0.0f : sm[i];
        float nm = fmaxf(om, m);
        sm[i] = (om == -INFINITY ? os : os * expf(om - nm)) + (m == -INFINITY ? s : s * expf(m - nm));   /* 0, or a NaN kept */
        mx[i] = nm;
        int tg = targets[i];
        if (first) logp[i] = 0;
        if (tg >= v0 && tg < v0 + nv) logp[i] = zr[tg - v0];
    }
}
__global__ void k_lse_final(float *logp, float *lse, const float *mx, const float *sm, const int32_t *targets, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (targets[i] < 0) { logp[i] = 0; lse[i] = 0; return; }
    float l = mx[i] + logf(sm[i]);
    lse[i] = l; logp[i] -= l;
}

void cu_logprob_fwd(const mrl_backend *be, float *logp, float *lse, const void *x, const void *w, mrl_dtype wdt,
                    const int32_t *targets, int T, int C, int V, float inv_temp, void *work) {
    if (T <= 0) return;
    cudaStream_t st = cu_st(be)->stream;
    const void *wb = cu_bf16_weights(be, w, wdt, (size_t)V * C);
    size_t R = T < LP_ROWS ? T : LP_ROWS, VC = V < LP_VCHUNK ? V : LP_VCHUNK;
    lp_parts wp = lp_split(work, R, VC, C);
    float *z = wp.z, *mx = wp.mx, *sm = wp.sm;
    for (int r0 = 0; r0 < T; r0 += (int)R) {
        int nr = T - r0 < (int)R ? T - r0 : (int)R;
        const bf16 *xr = (const bf16 *)x + (size_t)r0 * C;
        for (int v0 = 0; v0 < V; v0 += (int)VC) {
            int nv = V - v0 < (int)VC ? V - v0 : (int)VC;
            cu_gemm(be, true, false, nv, nr, C, inv_temp, (const bf16 *)wb + (size_t)v0 * C, C, xr, C, 0.0f, z, MRL_F32, nv);
            k_lse_update<<<nr, 256, 0, st>>>(mx, sm, logp + r0, z, targets + r0, nv, v0, v0 == 0);
        }
        k_lse_final<<<cdiv(nr, 256), 256, 0, st>>>(logp + r0, lse + r0, mx, sm, targets + r0, nr);
    }
}

/* g[i,j] = dlogp_i * inv_temp * (1[j = target] - softmax_j), as bf16 for the two GEMMs. */
__global__ void k_lp_grad(bf16 *g, const float *z, const float *dlogp, const float *lse, const int32_t *targets,
                          float inv_temp, int nv, int v0) {
    int i = blockIdx.x; int tg = targets[i];
    float gs = tg >= 0 ? dlogp[i] * inv_temp : 0.0f, l = lse[i];
    for (int j = threadIdx.x; j < nv; j += blockDim.x) {
        float val = gs == 0.0f ? 0.0f : -gs * expf(z[(size_t)i * nv + j] - l);
        if (v0 + j == tg) val += gs;
        g[(size_t)i * nv + j] = __float2bfloat16(val);
    }
}

__global__ void k_cast_f32_bf16(bf16 *dst, const float *src, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) dst[i] = __float2bfloat16(src[i]);
}

void cu_logprob_bwd(const mrl_backend *be, void *dx, float *dw, const float *dlogp, const float *lse, const void *x,
                    const void *w, mrl_dtype wdt, const int32_t *targets, int T, int C, int V, float inv_temp, void *work) {
    if (T <= 0) return;
    cudaStream_t st = cu_st(be)->stream;
    const void *wb = cu_bf16_weights(be, w, wdt, (size_t)V * C);
    size_t R = T < LP_ROWS ? T : LP_ROWS, VC = V < LP_VCHUNK ? V : LP_VCHUNK;
    lp_parts wp = lp_split(work, R, VC, C);
    float *z = wp.z, *dxa = wp.dx;
    bf16 *g = wp.g;
    for (int r0 = 0; r0 < T; r0 += (int)R) {
        int nr = T - r0 < (int)R ? T - r0 : (int)R;
        const bf16 *xr = (const bf16 *)x + (size_t)r0 * C;
        CUDA_CHECK(cudaMemsetAsync(dxa, 0, (size_t)nr * C * 4, st));
        for (int v0 = 0; v0 < V; v0 += (int)VC) {
            int nv = V - v0 < (int)VC ? V - v0 : (int)VC;
            const bf16 *wc = (const bf16 *)wb + (size_t)v0 * C;
            cu_gemm(be, true, false, nv, nr, C, inv_temp, wc, C, xr, C, 0.0f, z, MRL_F32, nv);
            k_lp_grad<<<nr, 256, 0, st>>>(g, z, dlogp + r0, lse + r0, targets + r0, inv_temp, nv, v0);
            cu_gemm(be, false, false, C, nr, nv, 1.0f, wc, C, g, nv, 1.0f, dxa, MRL_F32, C);          /* dx += g W */
            if (dw) cu_gemm(be, false, true, C, nv, nr, 1.0f, xr, C, g, nv, 1.0f, dw + (size_t)v0 * C, MRL_F32, C); /* dW += g^T x */
        }
        size_t n = (size_t)nr * C;
        int gr = (int)((n + 255) / 256); if (gr > 65535 * 4) gr = 65535 * 4;
        k_cast_f32_bf16<<<gr, 256, 0, st>>>((bf16 *)dx + (size_t)r0 * C, dxa, n);
    }
}
