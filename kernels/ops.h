/* ops.h — the one compute interface: a backend handle (CPU reference or CUDA device) with
 * memory calls, and every op of the Qwen2 model as a forward/backward pair over raw buffers.
 *
 * Conventions (the CUDA backend implements exactly this; read them before adding an op):
 * - Every pointer is memory of the backend (host memory on CPU, device memory on CUDA),
 *   allocated with be_alloc. Only be_upload/be_download cross between host and backend, and
 *   only op_sumsq returns a value on the host.
 * - "act" buffers (activations and their gradients) have the backend's activation dtype
 *   be->act: F32 on CPU, BF16 on CUDA; accumulation is always fp32. Weight buffers carry an
 *   explicit dtype `wdt` (F32 or BF16). Weight gradients, norms' rstd, softmax lse, log-probs,
 *   optimizer state and master weights are always fp32 (`float *`).
 * - Matrices are row-major. A linear weight is [OUT, IN] (Hugging Face layout): y = x W^T + b.
 * - Shapes are passed explicitly; T = rows (tokens), C = width. Row strides are explicit
 *   where an op reads a slice of a fused buffer (q/k/v inside one qkv row).
 * - Backward ops ACCUMULATE into weight gradients (dW += ...) so micro-batches add up; input
 *   gradients are written (overwritten) unless the op has an `acc` flag.
 * - No op allocates: an op that needs scratch says how much through a *_work() query and
 *   takes a `work` buffer of backend memory. No globals but the backend handles.
 * - Ops are asynchronous on CUDA (one stream per backend); be_download and be_sync wait.
 */
#ifndef MRL_OPS_H
#define MRL_OPS_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

/* MRL_BF16P, MRL_F32P: a bf16 or fp32 weight [OUT, IN] in the layout the backend's GEMM reads
 * directly, made by op_pack_weight; only ever the weight of linear_fwd, logits and logprob_fwd
 * (forward-only inference) or, for a tied head, the table of embedding_fwd; a row range of it
 * starts at a multiple of 64 rows. */
typedef enum mrl_dtype { MRL_F32 = 0, MRL_BF16 = 1, MRL_BF16P = 2, MRL_F32P = 3 } mrl_dtype;
typedef enum mrl_devkind { MRL_DEV_CPU = 0, MRL_DEV_CUDA = 1 } mrl_devkind;

static inline size_t mrl_dtype_size(mrl_dtype t) { return t == MRL_F32 || t == MRL_F32P ? 4 : 2; }

typedef struct mrl_ops mrl_ops;
struct mrl_adamw_step;   /* the AdamW step's scalars (op_adamw_step, below) */
struct mrl_pick;         /* one row's token from op_sample_rows (below) */
typedef struct mrl_backend {
    mrl_devkind kind;
    int device;            /* CUDA ordinal (0 on CPU) */
    mrl_dtype act;         /* activation dtype: MRL_F32 on CPU, MRL_BF16 on CUDA */
    int threads;           /* CPU threads the ops use now (OpenMP): threads_max, or fewer while
                              other processes keep CPUs busy (be_tick) */
    int threads_max;       /* CPU threads given (--threads); per-thread workspaces are sized for it
                              (on CUDA: the threads of the host's share, msample's sampling) */
    char name[16];         /* "cpu", "cuda:0" */
    int bf16_act;          /* GEMMs with bf16 weights may round activations to bf16 (and, in the
                              backward, gradients and saved activations)
                              (the CPU's AVX512_BF16 path; CUDA's activations are bf16 anyway).
                              model_load sets it for every bf16 model (--dtype bf16). */
    const mrl_ops *ops;    /* the backend's implementation table */
    void *impl;            /* backend-private state (CUDA stream, cuBLASLt handle, ...) */
    char note[400];        /* --device auto on the CPU though this machine has a CUDA device:
                              why that device was not used (tools warn with it); else empty */
} mrl_backend;

/* device: "cpu", "cuda", "cuda:N", "auto" or NULL (= auto: CUDA where built and present,
 * else CPU). threads: CPU threads (0 = OpenMP default). A CUDA request in a CPU-only build,
 * or on a machine without a GPU, is an error that says so. */
mrl_backend *be_open(const char *device, int threads, mrl_err *e);
void be_close(mrl_backend *be);

/* ---- the implementation table (what a backend provides) ----
 * Argument meanings are documented at the op_* wrappers below, which just dispatch. */
struct mrl_ops {
    /* memory */
    void *(*alloc)(const mrl_backend *be, size_t bytes);          /* NULL on failure; 256-aligned */
    void  (*free)(const mrl_backend *be, void *p);
    void  (*upload)(const mrl_backend *be, void *dst, const void *src, size_t bytes);
    void  (*download)(const mrl_backend *be, void *dst, const void *src, size_t bytes);
    void  (*copy)(const mrl_backend *be, void *dst, const void *src, size_t bytes);
    void  (*memset0)(const mrl_backend *be, void *p, size_t bytes);
    void  (*sync)(const mrl_backend *be);
    void  (*close)(mrl_backend *be);
    void  (*tick)(mrl_backend *be);                               /* optional (be_tick) */

    void (*cast)(const mrl_backend *be, void *dst, mrl_dtype dt, const void *src, mrl_dtype st, size_t n);
    void (*embedding_fwd)(const mrl_backend *be, void *out, const int32_t *tokens, const void *wte,
                          mrl_dtype wdt, int T, int C);
    void (*embedding_bwd)(const mrl_backend *be, float *dwte, const int32_t *tokens, const void *dout,
                          int T, int C);
    void (*rmsnorm_fwd)(const mrl_backend *be, void *out, float *rstd, const void *inp, const void *w,
                        mrl_dtype wdt, int T, int C, float eps);
    void (*rmsnorm_bwd)(const mrl_backend *be, void *dinp, int acc, float *dw, const void *dout,
                        const void *inp, const void *w, mrl_dtype wdt, const float *rstd, int T, int C);
    void (*linear_fwd)(const mrl_backend *be, void *out, int acc, const void *inp, const void *w,
                       mrl_dtype wdt, const void *bias, int T, int IN, int OUT);
    void (*linear_bwd)(const mrl_backend *be, void *dinp, int acc, float *dw, float *db,
                       const void *dout, const void *inp, const void *w, mrl_dtype wdt,
                       int T, int IN, int OUT);
    void (*rope)(const mrl_backend *be, void *x, int T, int H, int D, int stride,
                 const int32_t *pos, float theta, int inverse);
    size_t (*attention_work)(const mrl_backend *be, int T, int maxlen, int H, int D);
    void (*attention_fwd)(const mrl_backend *be, void *out, float *lse, const void *q, const void *k,
                          const void *v, int qkv_stride, const int32_t *cu_seqlens, const int32_t *cu_host,
                          int nseq, int T, int H, int Hkv, int D, void *work);
    void (*attention_bwd)(const mrl_backend *be, void *dq, void *dk, void *dv, int dqkv_stride,
                          const void *dout, const void *q, const void *k, const void *v,
                          int qkv_stride, const void *out, const float *lse,
                          const int32_t *cu_seqlens, const int32_t *cu_host, int nseq, int T, int H,
                          int Hkv, int D, void *work);
    void (*kv_write)(const mrl_backend *be, void *kpool, void *vpool, mrl_dtype kvdt, const void *k,
                     const void *v, int stride, const int32_t *slots, int n, int Hkv, int D);
    size_t (*attention_paged_work)(const mrl_backend *be, int R, int maxctx, int H, int D);
    void (*attention_paged)(const mrl_backend *be, void *out, const void *q, int q_stride,
                            const void *kpool, const void *vpool, mrl_dtype kvdt, const int32_t *block_tables,
                            int max_blocks, int block_tokens, const int32_t *row_seq,
                            const int32_t *row_ctx, int R, int H, int Hkv, int D, void *work);
    void (*swiglu_fwd)(const mrl_backend *be, void *out, const void *gu, int T, int F);
    void (*swiglu_bwd)(const mrl_backend *be, void *dgu, const void *dout, const void *gu, int T, int F);
    void (*add)(const mrl_backend *be, void *out, const void *a, const void *b, size_t n);
    size_t (*logprob_work)(const mrl_backend *be, int T, int C, int V);
    void (*logprob_fwd)(const mrl_backend *be, float *logp, float *lse, const void *x, const void *w,
                        mrl_dtype wdt, const int32_t *targets, int T, int C, int V, float inv_temp,
                        void *work);
    void (*logprob_bwd)(const mrl_backend *be, void *dx, float *dw, const float *dlogp,
                        const float *lse, const void *x, const void *w, mrl_dtype wdt,
                        const int32_t *targets, int T, int C, int V, float inv_temp, void *work);
    void (*logits)(const mrl_backend *be, float *logits, const void *x, const void *w, mrl_dtype wdt,
                   int T, int C, int V);
    size_t (*pack_weight)(const mrl_backend *be, void *dst, const void *w, mrl_dtype wdt, int OUT, int IN);   /* optional */
    size_t (*sample_rows_work)(const mrl_backend *be, int B, int V);
    void (*sample_rows)(const mrl_backend *be, struct mrl_pick *out, const float *logits, const double *u,
                        int B, int V, float inv_temp, int greedy, void *work);
    void (*adamw)(const mrl_backend *be, float *w, const float *g, float *m, float *v, void *wcopy,
                  mrl_dtype cdt, size_t n, const struct mrl_adamw_step *s);
    double (*sumsq)(const mrl_backend *be, const float *x, size_t n);
    void (*scale)(const mrl_backend *be, float *x, size_t n, float s);
};

/* ---- memory ---- */
static inline void *be_alloc(const mrl_backend *be, size_t bytes) { return be->ops->alloc(be, bytes); }
static inline void be_free(const mrl_backend *be, void *p) { if (p) be->ops->free(be, p); }
static inline void be_upload(const mrl_backend *be, void *dst, const void *src, size_t bytes) { be->ops->upload(be, dst, src, bytes); }
static inline void be_download(const mrl_backend *be, void *dst, const void *src, size_t bytes) { be->ops->download(be, dst, src, bytes); }
static inline void be_copy(const mrl_backend *be, void *dst, const void *src, size_t bytes) { be->ops->copy(be, dst, src, bytes); }
static inline void be_memset0(const mrl_backend *be, void *p, size_t bytes) { be->ops->memset0(be, p, bytes); }
static inline void be_sync(const mrl_backend *be) { be->ops->sync(be); }
/* Between ops, never inside one: lets the backend revise be->threads (the CPU backend runs
 * fewer threads while other processes keep CPUs busy; outputs do not depend on it). */
static inline void be_tick(mrl_backend *be) { if (be->ops->tick) be->ops->tick(be); }

/* ---- ops ---- */
/* dst[i] = (dt) src[i], element types F32 or BF16 (BF16 rounds to nearest even). */
static inline void op_cast(const mrl_backend *be, void *dst, mrl_dtype dt, const void *src, mrl_dtype st, size_t n)
{ be->ops->cast(be, dst, dt, src, st, n); }

/* out[t,:] = wte[tokens[t],:]   (tokens: backend int32 [T]; wte [V, C] of wdt; out act [T, C]) */
static inline void op_embedding_fwd(const mrl_backend *be, void *out, const int32_t *tokens, const void *wte, mrl_dtype wdt, int T, int C)
{ be->ops->embedding_fwd(be, out, tokens, wte, wdt, T, C); }
/* dwte[tokens[t],:] += dout[t,:] (fp32 accumulate; repeated tokens add up). */
static inline void op_embedding_bwd(const mrl_backend *be, float *dwte, const int32_t *tokens, const void *dout, int T, int C)
{ be->ops->embedding_bwd(be, dwte, tokens, dout, T, C); }

/* out = inp * rsqrt(mean(inp^2) + eps) * w per row; rstd[T] (fp32, may be NULL) saved for bwd. */
static inline void op_rmsnorm_fwd(const mrl_backend *be, void *out, float *rstd, const void *inp, const void *w, mrl_dtype wdt, int T, int C, float eps)
{ be->ops->rmsnorm_fwd(be, out, rstd, inp, w, wdt, T, C, eps); }
/* dinp (= or += when acc), dw += (fp32 [C]). */
static inline void op_rmsnorm_bwd(const mrl_backend *be, void *dinp, int acc, float *dw, const void *dout, const void *inp, const void *w, mrl_dtype wdt, const float *rstd, int T, int C)
{ be->ops->rmsnorm_bwd(be, dinp, acc, dw, dout, inp, w, wdt, rstd, T, C); }

/* out[T,OUT] (= or += when acc) inp[T,IN] W[OUT,IN]^T + bias[OUT] (bias of wdt, bf16 for
 * MRL_BF16P; may be NULL).
 * acc = 1 fuses the residual add (o_proj, down_proj). */
static inline void op_linear_fwd(const mrl_backend *be, void *out, int acc, const void *inp, const void *w, mrl_dtype wdt, const void *bias, int T, int IN, int OUT)
{ be->ops->linear_fwd(be, out, acc, inp, w, wdt, bias, T, IN, OUT); }
/* dinp[T,IN] (= or += when acc; may be NULL) = dout W; dw[OUT,IN] += dout^T inp;
 * db[OUT] += colsum(dout) (db may be NULL). */
static inline void op_linear_bwd(const mrl_backend *be, void *dinp, int acc, float *dw, float *db, const void *dout, const void *inp, const void *w, mrl_dtype wdt, int T, int IN, int OUT)
{ be->ops->linear_bwd(be, dinp, acc, dw, db, dout, inp, w, wdt, T, IN, OUT); }

/* In-place rotary embedding, Hugging Face rotate_half convention, on x[t*stride + h*D + i]
 * for h < H: angle = pos[t] * theta^(-2i/D), pairs (i, i + D/2). inverse = 1 rotates by the
 * negative angle: that is the backward (applied to the gradient). pos: backend int32 [T]. */
static inline void op_rope(const mrl_backend *be, void *x, int T, int H, int D, int stride, const int32_t *pos, float theta, int inverse)
{ be->ops->rope(be, x, T, H, D, stride, pos, theta, inverse); }

/* Causal grouped-query attention over packed sequences (training, scoring, plain prefill).
 * q[t*qkv_stride + h*D], k/v[t*qkv_stride + g*D] (g < Hkv, head h reads g = h / (H/Hkv));
 * sequence i is rows cu_seqlens[i] .. cu_seqlens[i+1] (backend int32 [nseq+1]); cu_host: the same
 * offsets in host memory, or NULL (the CUDA backend then reads them back, a stream sync each call);
 * scale 1/sqrt(D). out act [T, H*D]; lse fp32 [T*H] (row t, head h at t*H + h), kept for bwd.
 * work: attention_work(T, maxlen = the longest sequence, H, D) bytes. */
static inline size_t op_attention_work(const mrl_backend *be, int T, int maxlen, int H, int D)
{ return be->ops->attention_work(be, T, maxlen, H, D); }
static inline void op_attention_fwd(const mrl_backend *be, void *out, float *lse, const void *q, const void *k, const void *v, int qkv_stride, const int32_t *cu_seqlens, const int32_t *cu_host, int nseq, int T, int H, int Hkv, int D, void *work)
{ be->ops->attention_fwd(be, out, lse, q, k, v, qkv_stride, cu_seqlens, cu_host, nseq, T, H, Hkv, D, work); }
/* Writes dq, dk, dv (same layout as q, k, v with dqkv_stride; may all point into one dqkv
 * buffer). Needs out and lse of the forward. */
static inline void op_attention_bwd(const mrl_backend *be, void *dq, void *dk, void *dv, int dqkv_stride, const void *dout, const void *q, const void *k, const void *v, int qkv_stride, const void *out, const float *lse, const int32_t *cu_seqlens, const int32_t *cu_host, int nseq, int T, int H, int Hkv, int D, void *work)
{ be->ops->attention_bwd(be, dq, dk, dv, dqkv_stride, dout, q, k, v, qkv_stride, out, lse, cu_seqlens, cu_host, nseq, T, H, Hkv, D, work); }

/* Paged KV cache (one layer): kpool/vpool [nblocks, block_tokens, Hkv, D] of dtype kvdt: the
 * backend's act dtype, or MRL_BF16 where act is F32 (CPU: K and V rounded to nearest even as
 * they are written, read back exactly; half the memory and the traffic). Token slot s lives at
 * block s / block_tokens, offset s % block_tokens. kv_write copies n rows of k, v (act, row
 * stride `stride`) to slots[n] (backend int32). */
static inline void op_kv_write(const mrl_backend *be, void *kpool, void *vpool, mrl_dtype kvdt, const void *k, const void *v, int stride, const int32_t *slots, int n, int Hkv, int D)
{ be->ops->kv_write(be, kpool, vpool, kvdt, k, v, stride, slots, n, Hkv, D); }
/* Attention of R query rows against the cache (decode: one row per sequence; prefill: the
 * new rows of one sequence). Row r belongs to sequence row_seq[r], whose blocks are
 * block_tables[row_seq[r] * max_blocks ..], and sees its first row_ctx[r] tokens (itself
 * included, already written by kv_write). out act [R, H*D]; q rows at q_stride.
 * work: attention_paged_work(R, maxctx = max row_ctx, H, D) bytes. On CUDA D is even and at
 * most MRL_CUDA_PAGED_MAXD (a head is held in shared memory; kv_create says so at once). */
#define MRL_CUDA_PAGED_MAXD 128
static inline size_t op_attention_paged_work(const mrl_backend *be, int R, int maxctx, int H, int D)
{ return be->ops->attention_paged_work(be, R, maxctx, H, D); }
static inline void op_attention_paged(const mrl_backend *be, void *out, const void *q, int q_stride, const void *kpool, const void *vpool, mrl_dtype kvdt, const int32_t *block_tables, int max_blocks, int block_tokens, const int32_t *row_seq, const int32_t *row_ctx, int R, int H, int Hkv, int D, void *work)
{ be->ops->attention_paged(be, out, q, q_stride, kpool, vpool, kvdt, block_tables, max_blocks, block_tokens, row_seq, row_ctx, R, H, Hkv, D, work); }

/* SwiGLU on the fused gate|up projection: gu act [T, 2F] (gate in columns [0,F), up in
 * [F,2F)); out act [T, F] = silu(gate) * up. bwd writes dgu [T, 2F]. */
static inline void op_swiglu_fwd(const mrl_backend *be, void *out, const void *gu, int T, int F)
{ be->ops->swiglu_fwd(be, out, gu, T, F); }
static inline void op_swiglu_bwd(const mrl_backend *be, void *dgu, const void *dout, const void *gu, int T, int F)
{ be->ops->swiglu_bwd(be, dgu, dout, gu, T, F); }

/* out = a + b over n act elements (out may alias a or b). Its backward is the identity. */
static inline void op_add(const mrl_backend *be, void *out, const void *a, const void *b, size_t n)
{ be->ops->add(be, out, a, b, n); }

/* The LM head fused with log-softmax, chunked over the vocabulary so T x V logits never
 * exist: z = x[T,C] W[V,C]^T * inv_temp; lse[t] = logsumexp_v z[t,v];
 * logp[t] = z[t, targets[t]] - lse[t], and 0 (lse too) where targets[t] < 0.
 * work: logprob_work(T, C, V) bytes (a bounded chunk, not T x V). */
static inline size_t op_logprob_work(const mrl_backend *be, int T, int C, int V)
{ return be->ops->logprob_work(be, T, C, V); }
static inline void op_logprob_fwd(const mrl_backend *be, float *logp, float *lse, const void *x, const void *w, mrl_dtype wdt, const int32_t *targets, int T, int C, int V, float inv_temp, void *work)
{ be->ops->logprob_fwd(be, logp, lse, x, w, wdt, targets, T, C, V, inv_temp, work); }
/* Given dL/dlogp[T]: dx act [T,C] is written, dw [V,C] fp32 accumulated (for a tied head this
 * is the embedding's gradient). Rows with targets[t] < 0 contribute nothing. */
static inline void op_logprob_bwd(const mrl_backend *be, void *dx, float *dw, const float *dlogp, const float *lse, const void *x, const void *w, mrl_dtype wdt, const int32_t *targets, int T, int C, int V, float inv_temp, void *work)
{ be->ops->logprob_bwd(be, dx, dw, dlogp, lse, x, w, wdt, targets, T, C, V, inv_temp, work); }
/* Full fp32 logits [T, V] = x W^T for the few rows a sampler needs (no temperature). */
static inline void op_logits(const mrl_backend *be, float *logits, const void *x, const void *w, mrl_dtype wdt, int T, int C, int V)
{ be->ops->logits(be, logits, x, w, wdt, T, C, V); }

/* One token per row of logits [B, V] (fp32, as op_logits writes them), drawn as the host
 * sampler (libcore/sampler.c) draws without truncation, with the arithmetic of
 * kernels/sample_core.h, so a row gives the host sampler's token for the same uniform u[r]
 * (B doubles in [0, 1), backend memory). greedy: every row takes its argmax (the first index
 * of the max) and u is not read. out: B mrl_pick (backend memory): the token, its logit, the
 * row's max and Z, from which smp_pick_logprob makes the sampler's log-prob. For a draw Z is
 * sample_core.h's sum of e; for greedy it is the sum of exp((double)l - max) over the row's
 * numbers, per block of SK_BLK tokens in index order, then the blocks in order, as the host's
 * smp_logprob sums it (sk_block_sum_exp: the same bits on the CPU; on a GPU its double exp
 * may differ from the C library's by an ulp a term). A row whose max is not finite (a +inf
 * logit, or nothing but -inf and NaN) gets flag 1 and no token: the host samples that row
 * from its logits.
 * work: op_sample_rows_work bytes. A backend where the logits live on the host (the CPU) need
 * not run it: the sampler reads them there. */
typedef struct mrl_pick { int32_t tok, flag; float logit, max; double Z; } mrl_pick;
static inline int op_has_sample_rows(const mrl_backend *be) { return be->ops->sample_rows != NULL; }
static inline size_t op_sample_rows_work(const mrl_backend *be, int B, int V)
{ return be->ops->sample_rows_work(be, B, V); }
static inline void op_sample_rows(const mrl_backend *be, mrl_pick *out, const float *logits, const double *u, int B, int V, float inv_temp, int greedy, void *work)
{ be->ops->sample_rows(be, out, logits, u, B, V, inv_temp, greedy, work); }

/* The weight w [OUT, IN] (backend memory) of dtype wdt packed into dst as mrl_packed(wdt) (bf16:
 * MRL_BF16P, fp32: MRL_F32P) for the forward GEMMs of inference; returns the bytes that takes
 * (dst NULL: only the size). 0: this backend (or this CPU) has no packed layout for wdt; use w
 * as it is. */
static inline mrl_dtype mrl_packed(mrl_dtype wdt) { return wdt == MRL_BF16 ? MRL_BF16P : MRL_F32P; }
static inline size_t op_pack_weight(const mrl_backend *be, void *dst, const void *w, mrl_dtype wdt, int OUT, int IN)
{ return be->ops->pack_weight ? be->ops->pack_weight(be, dst, w, wdt, OUT, IN) : 0; }

/* AdamW on fp32 master weights w with fp32 m, v, as torch.optim.AdamW (single-tensor) computes
 * it: g' = g * grad_scale; m = lerp(m, g', 1-b1); v = b2 v + (1-b2) g'^2 (the lerp and the
 * addcmul each round their last multiply-add once, fused, as torch's CPU and CUDA kernels do:
 * m and v are torch's bits); w *= 1 - lr wd;
 * w += -step_size * (m / (sqrt(v) / bc2_sqrt + eps)), with step_size = lr / (1-b1^t) and
 * bc2_sqrt = sqrt(1-b2^t) (t counts from 1). The scalars are made once per step on the host in
 * double, as torch's are Python floats, then rounded to float (op_adamw_step): 1-b2 is not
 * 1 - (float)b2 (0.999f is 1.3e-5 off 0.999 in 1-b2). wcopy (may be NULL) receives w converted
 * to cdt (the bf16 forward copy). */
typedef struct mrl_adamw_step {
    float one_m_beta1, beta2, one_m_beta2, eps;   /* m: lerp by 1-beta1, as torch */
    float decay;        /* 1 - lr * weight_decay */
    float step_size;    /* lr / (1 - beta1^t) */
    float bc2_sqrt;     /* sqrt(1 - beta2^t) */
    float grad_scale;
} mrl_adamw_step;
static inline mrl_adamw_step op_adamw_step(double lr, double beta1, double beta2, double eps, double weight_decay,
                                           long t, double grad_scale) {
    double bc1 = 1.0 - pow(beta1, (double)t), bc2 = 1.0 - pow(beta2, (double)t);
    mrl_adamw_step s = {(float)(1.0 - beta1), (float)beta2, (float)(1.0 - beta2), (float)eps,
                        (float)(1.0 - lr * weight_decay), (float)(lr / bc1), (float)sqrt(bc2), (float)grad_scale};
    return s;
}
static inline void op_adamw(const mrl_backend *be, float *w, const float *g, float *m, float *v, void *wcopy,
                            mrl_dtype cdt, size_t n, const mrl_adamw_step *s)
{ be->ops->adamw(be, w, g, m, v, wcopy, cdt, n, s); }
/* sum x[i]^2 in double, returned on the host (synchronises); x *= s (gradient clipping). */
static inline double op_sumsq(const mrl_backend *be, const float *x, size_t n) { return be->ops->sumsq(be, x, n); }
static inline void op_scale(const mrl_backend *be, float *x, size_t n, float s) { be->ops->scale(be, x, n, s); }

/* ---- backend constructors ----
 * CPU: kernels/cpu/. CUDA: kernels/cuda/ provides cuda_backend_init (declared in
 * kernels/cuda/ops_cuda.h); be_open calls it only when the build has MRL_CUDA and that
 * header exists, so a CPU-only build never needs CUDA. */
int cpu_backend_init(mrl_backend *be, int threads, mrl_err *e);
#endif
