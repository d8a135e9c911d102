/* sample.cu — op_sample_rows on CUDA: one token per logits row on the device, so a decode
 * step downloads B picks instead of B x V logits. The arithmetic is sample_core.h's (explicit
 * round-to-nearest operations, no contraction), so a row gives the CPU's token for the same
 * uniform. Three launches: the row's max (and, greedy, its first index), the block sums
 * (a thread per block of SK_BLK tokens), the walk (a thread per row). */
#include <limits.h>
#include "common.cuh"
#include "ops_cuda.h"
#include "sample_core.h"

/* Block-wide minimum of an int (blockDim.x a multiple of 32); every thread gets it. */
__device__ __forceinline__ int block_min_int(int v) {
    __shared__ int sh[32];
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if (lane == 0) sh[w] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : INT_MAX;
    for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__global__ void k_pick_max(mrl_pick *out, const float *logits, int V, int greedy) {
    const float *l = logits + (size_t)blockIdx.x * V;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < V; i += blockDim.x) { float x = l[i]; m = x > m ? x : m; }   /* NaN never wins */
    m = block_max(m);
    int first = INT_MAX;
    if (greedy && !isinf(m))
        for (int i = threadIdx.x; i < V; i += blockDim.x) if (l[i] == m) { first = i; break; }
    first = block_min_int(first);
    if (threadIdx.x == 0) {
        mrl_pick *o = &out[blockIdx.x];
        o->max = m; o->flag = isinf(m) ? 1 : 0; o->tok = greedy && !isinf(m) ? first : -1;
        o->logit = 0.0f; o->Z = 0.0;
    }
}

__global__ void k_pick_blocks(double *bs, const mrl_pick *out, const float *logits, int V, int nb,
                              float inv, int greedy) {
    int r = blockIdx.x, b = blockIdx.y * blockDim.x + threadIdx.x;   /* rows in x: B may pass 65535 */
    if (b >= nb || out[r].flag) return;
    const float *l = logits + (size_t)r * V + (size_t)b * SK_BLK;
    int n = V - b * SK_BLK < SK_BLK ? V - b * SK_BLK : SK_BLK;
    float m = out[r].max;
    double s = greedy ? sk_block_sum_exp(l, n, m, 1.0) : sk_block_sum(l, n, m, inv);
    bs[(size_t)r * nb + b] = s;
}

__global__ void k_pick_walk(mrl_pick *out, const double *bs, const float *logits, const double *u,
                            int B, int V, int nb, float inv, int greedy) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= B || out[r].flag) return;
    mrl_pick *o = &out[r];
    const double *br = bs + (size_t)r * nb;
    const float *l = logits + (size_t)r * V;
    double Z = 0;
    for (int b = 0; b < nb; b++) Z = __dadd_rn(Z, br[b]);
    int tok = greedy ? o->tok : sk_walk(br, nb, l, V, o->max, inv, __dmul_rn(u[r], Z));
    if (tok < 0) { o->flag = 1; return; }   /* not for a finite max (its e is 1): the host decides */
    o->tok = tok; o->logit = l[tok]; o->Z = Z;
}

size_t cu_sample_rows_work(const mrl_backend *be, int B, int V) {
    (void)be;
    return (size_t)B * (size_t)cdiv(V, SK_BLK) * sizeof(double);
}

void cu_sample_rows(const mrl_backend *be, mrl_pick *out, const float *logits, const double *u,
                    int B, int V, float inv_temp, int greedy, void *work) {
    if (B <= 0) return;
    int nb = cdiv(V, SK_BLK);
    cudaStream_t st = cu_st(be)->stream;
    k_pick_max<<<B, 1024, 0, st>>>(out, logits, V, greedy);
    k_pick_blocks<<<dim3(B, cdiv(nb, 128)), 128, 0, st>>>((double *)work, out, logits, V, nb, inv_temp, greedy);
    k_pick_walk<<<cdiv(B, 64), 64, 0, st>>>(out, (const double *)work, logits, u, B, V, nb, inv_temp, greedy);
}
