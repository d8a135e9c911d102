/* common.cuh — shared pieces of the CUDA backend: its state (stream, cuBLAS handle, scratch),
 * bf16 load/store helpers, reductions and the GEMM wrapper used by every file. */
#ifndef MRL_CUDA_COMMON_CUH
#define MRL_CUDA_COMMON_CUH
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cublas_v2.h>
#include <stdio.h>
#include <stdlib.h>
extern "C" {
#include "ops.h"
}

typedef __nv_bfloat16 bf16;

struct cuda_state {
    cudaStream_t stream;
    cublasHandle_t blas;
    void *scratch;         /* bf16 copies of fp32 weights, small temporaries (grown on demand) */
    size_t scratch_n;
    double *red;           /* one double for reductions (device) */
};

static inline cuda_state *cu_st(const mrl_backend *be) { return (cuda_state *)be->impl; }

#define CUDA_CHECK(x) do { cudaError_t _e = (x); if (_e != cudaSuccess) { \
    fprintf(stderr, "mrl: CUDA error %s at %s:%d: %s\n", cudaGetErrorName(_e), __FILE__, __LINE__, cudaGetErrorString(_e)); abort(); } } while (0)
#define BLAS_CHECK(x) do { cublasStatus_t _s = (x); if (_s != CUBLAS_STATUS_SUCCESS) { \
    fprintf(stderr, "mrl: cuBLAS error %d at %s:%d\n", (int)_s, __FILE__, __LINE__); abort(); } } while (0)

__device__ __forceinline__ float ldf(const void *p, mrl_dtype t, size_t i) {
    return t == MRL_BF16 ? __bfloat162float(((const bf16 *)p)[i]) : ((const float *)p)[i];
}
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
/* Block-wide sum/max (blockDim.x a multiple of 32, <= 1024); every thread gets the result. */
__device__ __forceinline__ float block_sum(float v) {
    __shared__ float sh[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) sh[w] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : 0.0f;
    return warp_sum(v);
}
__device__ __forceinline__ float block_max(float v) {
    __shared__ float sh[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) sh[w] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : -INFINITY;
    return warp_max(v);
}

static inline int cdiv(long a, long b) { return (int)((a + b - 1) / b); }

/* Scratch of at least `bytes` on the backend's stream (ops run in stream order, so reuse is safe). */
void *cu_scratch(const mrl_backend *be, size_t bytes);
/* w as bf16: w itself when wdt is BF16, else a converted copy in scratch (offset `slot` bytes). */
const void *cu_bf16_weights(const mrl_backend *be, const void *w, mrl_dtype wdt, size_t n);

/* Column-major GEMM as cuBLAS sees it (C = alpha op(A) op(B) + beta C), fp32 compute.
 * A and B are bf16; C is bf16 or fp32 (ctype). */
void cu_gemm(const mrl_backend *be, bool ta, bool tb, int m, int n, int k, float alpha,
             const void *A, int lda, const void *B, int ldb, float beta, void *C, mrl_dtype ctype, int ldc);
void cu_gemm_batched(const mrl_backend *be, bool ta, bool tb, int m, int n, int k, float alpha,
                     const void *A, int lda, long long sa, const void *B, int ldb, long long sb, float beta,
                     void *C, mrl_dtype ctype, int ldc, long long sc, int batch);
/* dst[c] += sum over rows t of src[t*ld + c] (src act bf16) — bias and norm-weight gradients. */
void cu_colsum_acc(const mrl_backend *be, float *dst, const bf16 *src, int T, int C, int ld);

/* ops implemented in gemm.cu, attention.cu and sample.cu */
void cu_linear_fwd(const mrl_backend *be, void *out, int acc, const void *inp, const void *w, mrl_dtype wdt, const void *bias, int T, int IN, int OUT);
void cu_linear_bwd(const mrl_backend *be, void *dinp, int acc, float *dw, float *db, const void *dout, const void *inp, const void *w, mrl_dtype wdt, int T, int IN, int OUT);
size_t cu_logprob_work(const mrl_backend *be, int T, int C, int V);
void cu_logprob_fwd(const mrl_backend *be, float *logp, float *lse, const void *x, const void *w, mrl_dtype wdt, const int32_t *targets, int T, int C, int V, float inv_temp, void *work);
void cu_logprob_bwd(const mrl_backend *be, void *dx, float *dw, const float *dlogp, const float *lse, const void *x, const void *w, mrl_dtype wdt, const int32_t *targets, int T, int C, int V, float inv_temp, void *work);
void cu_logits(const mrl_backend *be, float *logits, const void *x, const void *w, mrl_dtype wdt, int T, int C, int V);
size_t cu_sample_rows_work(const mrl_backend *be, int B, int V);
void cu_sample_rows(const mrl_backend *be, mrl_pick *out, const float *logits, const double *u, int B, int V,
                    float inv_temp, int greedy, void *work);
size_t cu_attention_work(const mrl_backend *be, int T, int maxlen, int H, int D);
void cu_attention_fwd(const mrl_backend *be, void *out, float *lse, const void *q, const void *k, const void *v, int qkv_stride, const int32_t *cu_seqlens, const int32_t *cu_host, int nseq, int T, int H, int Hkv, int D, void *work);
void cu_attention_bwd(const mrl_backend *be, void *dq, void *dk, void *dv, int dqkv_stride, const void *dout, const void *q, const void *k, const void *v, int qkv_stride, const void *out, const float *lse, const int32_t *cu_seqlens, const int32_t *cu_host, int nseq, int T, int H, int Hkv, int D, void *work);
size_t cu_attention_paged_work(const mrl_backend *be, int R, int maxctx, int H, int D);
void cu_attention_paged(const mrl_backend *be, void *out, const void *q, int q_stride, const void *kpool, const void *vpool, mrl_dtype kvdt, const int32_t *block_tables, int max_blocks, int block_tokens, const int32_t *row_seq, const int32_t *row_ctx, int R, int H, int Hkv, int D, void *work);
#endif
