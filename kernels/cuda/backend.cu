/* backend.cu — the CUDA backend: device memory on one stream, its op table, and the
 * element-wise and per-row kernels (cast, embedding, RMSNorm, RoPE, SwiGLU, add, KV write,
 * AdamW, sum of squares). GEMM-based ops live in gemm.cu, attention in attention.cu. */
#include <string.h>
#include "common.cuh"
#include "ops_cuda.h"

static void *c_alloc(const mrl_backend *be, size_t bytes) {
    (void)be; void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) { cudaGetLastError(); return NULL; }
    return p;
}
static void c_free(const mrl_backend *be, void *p) { cudaStreamSynchronize(cu_st(be)->stream); cudaFree(p); }
static void c_upload(const mrl_backend *be, void *dst, const void *src, size_t n) {
    if (!n) return;
    /* From pageable memory the driver stages src before returning, so the caller may reuse
     * it at once without a stream synchronisation (CUDA's documented memcpy semantics). */
    CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, cu_st(be)->stream));
}
/* A kernel launch of ours that failed since the last check (launches are not checked one by
 * one): those errors abort, as CUDA_CHECK does; anything else a library left in the
 * thread's last-error state is cleared and left to that library. */
static void check_launches(void) {
    cudaError_t err = cudaGetLastError();
    switch (err) {
    case cudaErrorNoKernelImageForDevice: case cudaErrorInvalidDeviceFunction:
    case cudaErrorInvalidConfiguration: case cudaErrorLaunchOutOfResources:
    case cudaErrorInvalidPtx: case cudaErrorUnsupportedPtxVersion: case cudaErrorLaunchFailure:
        CUDA_CHECK(err);
        break;
    default: break;
    }
}

static void c_download(const mrl_backend *be, void *dst, const void *src, size_t n) {
    if (!n) return;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, cu_st(be)->stream));
    CUDA_CHECK(cudaStreamSynchronize(cu_st(be)->stream));
    check_launches();
}
static void c_copy(const mrl_backend *be, void *dst, const void *src, size_t n) {
    if (n) CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, cu_st(be)->stream));
}
static void c_memset0(const mrl_backend *be, void *p, size_t n) {
    if (n) CUDA_CHECK(cudaMemsetAsync(p, 0, n, cu_st(be)->stream));
}
static void c_sync(const mrl_backend *be) {
    CUDA_CHECK(cudaStreamSynchronize(cu_st(be)->stream));
    check_launches();
}
static void c_close(mrl_backend *be) {
    cuda_state *s = cu_st(be);
    if (!s) return;
    cudaStreamSynchronize(s->stream);
    if (s->scratch) cudaFree(s->scratch);
    if (s->red) cudaFree(s->red);
    cublasDestroy(s->blas);
    cudaStreamDestroy(s->stream);
    free(s);
    be->impl = NULL;
}

void *cu_scratch(const mrl_backend *be, size_t bytes) {
    cuda_state *s = cu_st(be);
    if (bytes > s->scratch_n) {
        CUDA_CHECK(cudaStreamSynchronize(s->stream));
        if (s->scratch) cudaFree(s->scratch);
        size_t n = bytes + bytes / 4;
        CUDA_CHECK(cudaMalloc(&s->scratch, n));
        s->scratch_n = n;
    }
    return s->scratch;
}

#define GRID(n, b) cdiv((long)(n), (b)), (b), 0, cu_st(be)->stream

__global__ void k_cast(void *dst, mrl_dtype dt, const void *src, mrl_dtype st, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float f = ldf(src, st, i);
        if (dt == MRL_BF16) ((bf16 *)dst)[i] = __float2bfloat16(f); else ((float *)dst)[i] = f;
    }
}
static int grid_for(size_t n) { size_t g = (n + 255) / 256; return (int)(g > 65535 * 4 ? 65535 * 4 : (g ? g : 1)); }
static void cu_cast(const mrl_backend *be, void *dst, mrl_dtype dt, const void *src, mrl_dtype st, size_t n) {
    if (!n) return;
    k_cast<<<grid_for(n), 256, 0, cu_st(be)->stream>>>(dst, dt, src, st, n);
}
const void *cu_bf16_weights(const mrl_backend *be, const void *w, mrl_dtype wdt, size_t n) {
    if (wdt == MRL_BF16) return w;
    void *s = cu_scratch(be, n * sizeof(bf16));
    cu_cast(be, s, MRL_BF16, w, MRL_F32, n);
    return s;
}

__global__ void k_embedding_fwd(bf16 *out, const int32_t *tok, const void *wte, mrl_dtype wdt, int C) {
    int t = blockIdx.x; size_t row = (size_t)tok[t] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) out[(size_t)t * C + c] = __float2bfloat16(ldf(wte, wdt, row + c));
}
static void cu_embedding_fwd(const mrl_backend *be, void *out, const int32_t *tokens, const void *wte, mrl_dtype wdt, int T, int C) {
    if (T > 0) k_embedding_fwd<<<T, 256, 0, cu_st(be)->stream>>>((bf16 *)out, tokens, wte, wdt, C);
}
__global__ void k_embedding_bwd(float *dwte, const int32_t *tok, const bf16 *dout, int C) {
    int t = blockIdx.x; size_t row = (size_t)tok[t] * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) atomicAdd(&dwte[row + c], __bfloat162float(dout[(size_t)t * C + c]));
}
static void cu_embedding_bwd(const mrl_backend *be, float *dwte, const int32_t *tokens, const void *dout, int T, int C) {
    if (T > 0) k_embedding_bwd<<<T, 256, 0, cu_st(be)->stream>>>(dwte, tokens, (const bf16 *)dout, C);
}

__global__ void k_rmsnorm_fwd(bf16 *out, float *rstd, const bf16 *inp, const void *w, mrl_dtype wdt, int C, float eps) {
    int t = blockIdx.x; const bf16 *x = inp + (size_t)t * C;
    float ss = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) { float v = __bfloat162float(x[c]); ss += v * v; }
    ss = block_sum(ss);
    float r = rsqrtf(ss / C + eps);
    if (rstd && threadIdx.x == 0) rstd[t] = r;
    for (int c = threadIdx.x; c < C; c += blockDim.x)
        out[(size_t)t * C + c] = __float2bfloat16(__bfloat162float(x[c]) * r * ldf(w, wdt, c));
}
static void cu_rmsnorm_fwd(const mrl_backend *be, void *out, float *rstd, const void *inp, const void *w, mrl_dtype wdt, int T, int C, float eps) {
    if (T > 0) k_rmsnorm_fwd<<<T, 256, 0, cu_st(be)->stream>>>((bf16 *)out, rstd, (const bf16 *)inp, w, wdt, C, eps);
}
/* dx = r (g - xhat mean(g xhat)), g = w dout, xhat = x r; dw[c] += sum_t dout xhat. */
__global__ void k_rmsnorm_bwd(bf16 *dinp, int acc, const bf16 *dout, const bf16 *inp, const void *w, mrl_dtype wdt, const float *rstd, int C) {
    int t = blockIdx.x; size_t o = (size_t)t * C; float r = rstd[t];
    float s = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x)
        s += ldf(w, wdt, c) * __bfloat162float(dout[o + c]) * __bfloat162float(inp[o + c]) * r;
    s = block_sum(s) / C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float g = ldf(w, wdt, c) * __bfloat162float(dout[o + c]), xh = __bfloat162float(inp[o + c]) * r;
        float d = r * (g - xh * s);
        if (acc) d += __bfloat162float(dinp[o + c]);
        dinp[o + c] = __float2bfloat16(d);
    }
}
__global__ void k_rmsnorm_dw(float *dw, const bf16 *dout, const bf16 *inp, const float *rstd, int T, int C) {
    __shared__ float sh[8][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float s = 0;
    if (c < C)
        for (int t = blockIdx.y * 8 + threadIdx.y; t < T; t += gridDim.y * 8)
            s += __bfloat162float(dout[(size_t)t * C + c]) * __bfloat162float(inp[(size_t)t * C + c]) * rstd[t];
    sh[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        for (int i = 1; i < 8; i++) s += sh[i][threadIdx.x];
        atomicAdd(&dw[c], s);
    }
}
static void cu_rmsnorm_bwd(const mrl_backend *be, void *dinp, int acc, float *dw, const void *dout, const void *inp, const void *w, mrl_dtype wdt, const float *rstd, int T, int C) {
    if (T <= 0) return;
    cudaStream_t s = cu_st(be)->stream;
    k_rmsnorm_bwd<<<T, 256, 0, s>>>((bf16 *)dinp, acc, (const bf16 *)dout, (const bf16 *)inp, w, wdt, rstd, C);
    if (dw) {
        dim3 g(cdiv(C, 32), T < 64 * 8 ? cdiv(T, 8) : 64), b(32, 8);
        k_rmsnorm_dw<<<g, b, 0, s>>>(dw, (const bf16 *)dout, (const bf16 *)inp, rstd, T, C);
    }
}

__global__ void k_colsum(float *dst, const bf16 *src, int T, int C, int ld) {
    __shared__ float sh[8][33];
    int c = blockIdx.x * 32 + threadIdx.x;
    float s = 0;
    if (c < C)
        for (int t = blockIdx.y * 8 + threadIdx.y; t < T; t += gridDim.y * 8) s += __bfloat162float(src[(size_t)t * ld + c]);
    sh[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        for (int i = 1; i < 8; i++) s += sh[i][threadIdx.x];
        atomicAdd(&dst[c], s);
    }
}
void cu_colsum_acc(const mrl_backend *be, float *dst, const bf16 *src, int T, int C, int ld) {
    if (T <= 0) return;
    dim3 g(cdiv(C, 32), T < 64 * 8 ? cdiv(T, 8) : 64), b(32, 8);
    k_colsum<<<g, b, 0, cu_st(be)->stream>>>(dst, src, T, C, ld);
}

/* HF rotate_half: pairs (i, i + D/2), angle pos * theta^(-2i/D) in fp32 as Hugging Face
 * rounds it; inverse rotates back (the backward). A block per token; the frequencies once.
 * The frequencies come from the host (its powf, as cpu_rope's and PyTorch's: the device powf
 * is not correctly rounded, and an error in one grows with the position), by value up to
 * D = 2 ROPE_HOST; past that the device's. */
#define ROPE_HOST 256
struct rope_freqs { float f[ROPE_HOST]; };
__global__ void k_rope(bf16 *x, int H, int D, int stride, const int32_t *pos, float theta, int inverse, rope_freqs hf) {
    extern __shared__ float cs[];          /* cos [D/2] | sin [D/2] */
    int t = blockIdx.x, half = D / 2;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float inv_freq = half <= ROPE_HOST ? hf.f[i] : 1.0f / powf(theta, (float)(2 * i) / (float)D);
        float sn, c;
        sincosf((float)pos[t] * inv_freq, &sn, &c);
        cs[i] = c; cs[half + i] = inverse ? -sn : sn;
    }
    __syncthreads();
    bf16 *row = x + (size_t)t * stride;
    for (int k = threadIdx.x; k < H * half; k += blockDim.x) {
        int h = k / half, i = k - h * half;
        bf16 *p = row + (size_t)h * D;
        float x1 = __bfloat162float(p[i]), x2 = __bfloat162float(p[i + half]), c = cs[i], sn = cs[half + i];
        p[i] = __float2bfloat16(x1 * c - x2 * sn);
        p[i + half] = __float2bfloat16(x2 * c + x1 * sn);
    }
}
static void cu_rope(const mrl_backend *be, void *x, int T, int H, int D, int stride, const int32_t *pos, float theta, int inverse) {
    if (!(T > 0 && H > 0 && D > 1)) return;
    rope_freqs hf = {{0}};
    for (int i = 0; i < D / 2 && i < ROPE_HOST; i++) hf.f[i] = 1.0f / powf(theta, (float)(2 * i) / (float)D);
    k_rope<<<T, 128, (size_t)D * sizeof(float), cu_st(be)->stream>>>((bf16 *)x, H, D, stride, pos, theta, inverse, hf);
}

/* SwiGLU: a block row per token, bf16x2 loads (F even; an odd F takes the scalar tail). */
__device__ __forceinline__ float silu_f(float g) { return g / (1.0f + expf(-g)); }
__global__ void k_swiglu_fwd(bf16 *out, const bf16 *gu, int F) {
    size_t t = blockIdx.x;
    const bf16 *g = gu + t * 2 * F, *u = g + F;
    bf16 *o = out + t * F;
    if (F & 1) {   /* rows not 4-byte aligned: scalar */
        for (int f = blockIdx.y * blockDim.x + threadIdx.x; f < F; f += gridDim.y * blockDim.x)
            o[f] = __float2bfloat16(silu_f(__bfloat162float(g[f])) * __bfloat162float(u[f]));
        return;
    }
    for (int i = blockIdx.y * blockDim.x + threadIdx.x; i < F / 2; i += gridDim.y * blockDim.x) {
        float2 gg = __bfloat1622float2(((const __nv_bfloat162 *)g)[i]), uu = __bfloat1622float2(((const __nv_bfloat162 *)u)[i]);
        ((__nv_bfloat162 *)o)[i] = __floats2bfloat162_rn(silu_f(gg.x) * uu.x, silu_f(gg.y) * uu.y);
    }
}
__device__ __forceinline__ void swiglu_grad(float d, float g, float u, float *dg, float *du) {
    float sg = 1.0f / (1.0f + expf(-g));
    *dg = d * u * sg * (1.0f + g * (1.0f - sg));
    *du = d * g * sg;
}
__global__ void k_swiglu_bwd(bf16 *dgu, const bf16 *dout, const bf16 *gu, int F) {
    size_t t = blockIdx.x;
    const bf16 *g = gu + t * 2 * F, *u = g + F, *d = dout + t * F;
    bf16 *dg = dgu + t * 2 * F, *du = dg + F;
    int F2 = (F & 1) ? 0 : F / 2;   /* unaligned rows when F is odd: scalar path below */
    for (int i = blockIdx.y * blockDim.x + threadIdx.x; i < F2; i += gridDim.y * blockDim.x) {
        float2 gg = __bfloat1622float2(((const __nv_bfloat162 *)g)[i]), uu = __bfloat1622float2(((const __nv_bfloat162 *)u)[i]);
        float2 dd = __bfloat1622float2(((const __nv_bfloat162 *)d)[i]);
        float a0, b0, a1, b1;
        swiglu_grad(dd.x, gg.x, uu.x, &a0, &b0); swiglu_grad(dd.y, gg.y, uu.y, &a1, &b1);
        ((__nv_bfloat162 *)dg)[i] = __floats2bfloat162_rn(a0, a1);
        ((__nv_bfloat162 *)du)[i] = __floats2bfloat162_rn(b0, b1);
    }
    if (F & 1)
        for (int f = blockIdx.y * blockDim.x + threadIdx.x; f < F; f += gridDim.y * blockDim.x) {
            float a, b;
            swiglu_grad(__bfloat162float(d[f]), __bfloat162float(g[f]), __bfloat162float(u[f]), &a, &b);
            dg[f] = __float2bfloat16(a); du[f] = __float2bfloat16(b);
        }
}
static dim3 row_grid(int T, int F) { int by = (F / 2 + 255) / 256; if (by < 1) by = 1; if (by > 64) by = 64; return dim3(T, by); }
static void cu_swiglu_fwd(const mrl_backend *be, void *out, const void *gu, int T, int F) {
    if ((long)T * F > 0) k_swiglu_fwd<<<row_grid(T, F), 256, 0, cu_st(be)->stream>>>((bf16 *)out, (const bf16 *)gu, F);
}
static void cu_swiglu_bwd(const mrl_backend *be, void *dgu, const void *dout, const void *gu, int T, int F) {
    if ((long)T * F > 0) k_swiglu_bwd<<<row_grid(T, F), 256, 0, cu_st(be)->stream>>>((bf16 *)dgu, (const bf16 *)dout, (const bf16 *)gu, F);
}

__global__ void k_add(bf16 *out, const bf16 *a, const bf16 *b, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16(__bfloat162float(a[i]) + __bfloat162float(b[i]));
}
static void cu_add(const mrl_backend *be, void *out, const void *a, const void *b, size_t n) {
    if (n) k_add<<<grid_for(n), 256, 0, cu_st(be)->stream>>>((bf16 *)out, (const bf16 *)a, (const bf16 *)b, n);
}

__global__ void k_kv_write(bf16 *kp, bf16 *vp, const bf16 *k, const bf16 *v, int stride, const int32_t *slots, int W) {
    int r = blockIdx.x; size_t dst = (size_t)slots[r] * W, src = (size_t)r * stride;
    for (int j = threadIdx.x; j < W; j += blockDim.x) { kp[dst + j] = k[src + j]; vp[dst + j] = v[src + j]; }
}
static void cu_kv_write(const mrl_backend *be, void *kpool, void *vpool, mrl_dtype kvdt, const void *k, const void *v, int stride, const int32_t *slots, int n, int Hkv, int D) {
    if (kvdt != MRL_BF16) { fprintf(stderr, "mrl: the CUDA KV cache is bf16 (kv_write got dtype %d)\n", (int)kvdt); abort(); }
    if (n > 0) k_kv_write<<<n, 256, 0, cu_st(be)->stream>>>((bf16 *)kpool, (bf16 *)vpool, (const bf16 *)k, (const bf16 *)v, stride, slots, Hkv * D);
}

__global__ void k_adamw(float *w, const float *g, float *m, float *v, void *wcopy, mrl_dtype cdt, size_t n,
                        mrl_adamw_step s) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        float gi = __fmul_rn(g[i], s.grad_scale);   /* the CPU's roundings (cpu/backend.c), no contraction */
        /* torch's lerp_ and addcmul_, each with one rounding for its last multiply-add, as on the CPU */
        float mi = s.one_m_beta1 < 0.5f ? __fmaf_rn(s.one_m_beta1, __fsub_rn(gi, m[i]), m[i])
                                        : __fmaf_rn(__fsub_rn(s.one_m_beta1, 1.0f), __fsub_rn(gi, m[i]), gi);
        float vi = __fmaf_rn(__fmul_rn(s.one_m_beta2, gi), gi, __fmul_rn(v[i], s.beta2));
        m[i] = mi; v[i] = vi;
        float wi = __fmul_rn(w[i], s.decay);
        float den = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), s.bc2_sqrt), s.eps);
        wi = __fadd_rn(wi, __fdiv_rn(__fmul_rn(-s.step_size, mi), den));
        w[i] = wi;
        if (wcopy) { if (cdt == MRL_BF16) ((bf16 *)wcopy)[i] = __float2bfloat16(wi); else ((float *)wcopy)[i] = wi; }
    }
}
static void cu_adamw(const mrl_backend *be, float *w, const float *g, float *m, float *v, void *wcopy, mrl_dtype cdt, size_t n,
                     const mrl_adamw_step *s) {
    if (!n) return;
    k_adamw<<<grid_for(n), 256, 0, cu_st(be)->stream>>>(w, g, m, v, wcopy, cdt, n, *s);
}

__global__ void k_sumsq(double *out, const float *x, size_t n) {
    double s = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) s += (double)x[i] * x[i];
    __shared__ double sh[256];
    sh[threadIdx.x] = s;
    __syncthreads();
    for (int o = blockDim.x / 2; o > 0; o >>= 1) { if ((int)threadIdx.x < o) sh[threadIdx.x] += sh[threadIdx.x + o]; __syncthreads(); }
    if (threadIdx.x == 0) out[blockIdx.x] = sh[0];
}
/* Each block's partial sum, added on the host in block order: the same bits every run (an
 * atomicAdd per block summed in the order the blocks finished, so the gradient norm and the
 * clipping scale differed in their last bits from run to run, as cpu_sumsq does not). */
#define SUMSQ_BLOCKS 1024
static double cu_sumsq(const mrl_backend *be, const float *x, size_t n) {
    cuda_state *s = cu_st(be);
    if (!n) return 0;
    unsigned nb = grid_for(n) < SUMSQ_BLOCKS ? grid_for(n) : SUMSQ_BLOCKS;
    double part[SUMSQ_BLOCKS], r = 0;
    k_sumsq<<<nb, 256, 0, s->stream>>>(s->red, x, n);
    CUDA_CHECK(cudaMemcpyAsync(part, s->red, nb * sizeof(double), cudaMemcpyDeviceToHost, s->stream));
    CUDA_CHECK(cudaStreamSynchronize(s->stream));
    check_launches();
    for (unsigned b = 0; b < nb; b++) r += part[b];
    return r;
}
__global__ void k_scale(float *x, size_t n, float a) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) x[i] *= a;
}
static void cu_scale(const mrl_backend *be, float *x, size_t n, float a) {
    if (n) k_scale<<<grid_for(n), 256, 0, cu_st(be)->stream>>>(x, n, a);
}

static mrl_ops make_table(void) {
    mrl_ops t;
    memset(&t, 0, sizeof t);
    t.alloc = c_alloc; t.free = c_free; t.upload = c_upload; t.download = c_download; t.copy = c_copy;
    t.memset0 = c_memset0; t.sync = c_sync; t.close = c_close;
    t.cast = cu_cast;
    t.embedding_fwd = cu_embedding_fwd; t.embedding_bwd = cu_embedding_bwd;
    t.rmsnorm_fwd = cu_rmsnorm_fwd; t.rmsnorm_bwd = cu_rmsnorm_bwd;
    t.linear_fwd = cu_linear_fwd; t.linear_bwd = cu_linear_bwd;
    t.rope = cu_rope;
    t.attention_work = cu_attention_work; t.attention_fwd = cu_attention_fwd; t.attention_bwd = cu_attention_bwd;
    t.kv_write = cu_kv_write; t.attention_paged_work = cu_attention_paged_work; t.attention_paged = cu_attention_paged;
    t.swiglu_fwd = cu_swiglu_fwd; t.swiglu_bwd = cu_swiglu_bwd; t.add = cu_add;
    t.logprob_work = cu_logprob_work; t.logprob_fwd = cu_logprob_fwd; t.logprob_bwd = cu_logprob_bwd;
    t.logits = cu_logits; t.sample_rows_work = cu_sample_rows_work; t.sample_rows = cu_sample_rows;
    t.adamw = cu_adamw; t.sumsq = cu_sumsq; t.scale = cu_scale;
    return t;
}
static const mrl_ops cuda_table = make_table();

__global__ void k_probe(double *p) { *p = 0.0; }

extern "C" void *cuda_backend_stream(const mrl_backend *be) { return (void *)cu_st(be)->stream; }

extern "C" int cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) { cudaGetLastError(); return 0; }
    return n;
}

extern "C" int cuda_backend_init(mrl_backend *be, int ordinal, mrl_err *e) {
    int n = cuda_device_count();
    if (n == 0) return err_set(e, 2, "--device cuda: no CUDA device is present on this machine");
    if (ordinal >= n) return err_set(e, 2, "--device cuda:%d: this machine has %d CUDA device%s", ordinal, n, n == 1 ? "" : "s");
    if (cudaSetDevice(ordinal) != cudaSuccess) { cudaGetLastError(); return err_set(e, 3, "cannot open CUDA device %d", ordinal); }
    cuda_state *s = (cuda_state *)calloc(1, sizeof *s);
    if (!s) return err_set(e, 3, "out of memory");
    int ok = cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking) == cudaSuccess &&
             cublasCreate(&s->blas) == CUBLAS_STATUS_SUCCESS &&
             cudaMalloc(&s->red, SUMSQ_BLOCKS * sizeof(double)) == cudaSuccess &&
             /* unset, the GEMMs would run on the legacy stream, unordered with s->stream's kernels */
             cublasSetStream(s->blas, s->stream) == CUBLAS_STATUS_SUCCESS &&
             cublasSetMathMode(s->blas, CUBLAS_DEFAULT_MATH) == CUBLAS_STATUS_SUCCESS;
    cudaError_t launch = cudaSuccess;
    if (ok) {   /* one trivial kernel: a GPU this build has no code for fails here, not in silence later */
        cudaGetLastError();   /* clear what cudaSetDevice or cublasCreate may have left: only the probe's own error counts */
        k_probe<<<1, 1, 0, s->stream>>>(s->red);
        launch = cudaGetLastError();
        if (launch == cudaSuccess) launch = cudaStreamSynchronize(s->stream);
    } else cudaGetLastError();
    if (!ok || launch != cudaSuccess) {
        if (s->red) cudaFree(s->red);
        if (s->blas) cublasDestroy(s->blas);
        if (s->stream) cudaStreamDestroy(s->stream);
        free(s);
        if (!ok) return err_set(e, 3, "cannot initialise CUDA/cuBLAS on device %d", ordinal);
        cudaDeviceProp p;
        int major = 0, minor = 0;
        if (cudaGetDeviceProperties(&p, ordinal) == cudaSuccess) major = p.major, minor = p.minor;
        if (launch == cudaErrorNoKernelImageForDevice || launch == cudaErrorInvalidDeviceFunction)
            return err_set(e, 3, "CUDA device %d (compute capability %d.%d) cannot run this build's kernels: %s "
                           "(rebuild with CUDA_ARCH='-gencode arch=compute_%d%d,code=sm_%d%d')",
                           ordinal, major, minor, cudaGetErrorString(launch), major, minor, major, minor);
        return err_set(e, 3, "CUDA device %d (compute capability %d.%d): a first kernel failed: %s%s", ordinal, major, minor,
                       cudaGetErrorString(launch), launch == cudaErrorUnsupportedPtxVersion || launch == cudaErrorInvalidPtx
                       ? " (the driver is older than this build's CUDA toolkit: update it, or rebuild for this GPU)" : "");
    }
    memset(be, 0, sizeof *be);
    be->kind = MRL_DEV_CUDA;
    be->device = ordinal;
    be->act = MRL_BF16;
    be->threads = be->threads_max = 1;   /* be_open gives the host's share its CPU threads */
    snprintf(be->name, sizeof be->name, "cuda:%hu", (unsigned short)ordinal);
    be->ops = &cuda_table;
    be->impl = s;
    return 0;
}
