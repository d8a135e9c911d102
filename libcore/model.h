/* model.h — the Qwen2 decoder: weights from a Hugging Face directory, prefill and
 * batched decode over a block KV cache (msample), and a training forward/backward
 * over packed sequences returning per-token log-probs (mgrpo). Compute goes through
 * the backend in kernels/ops.h (CPU reference or CUDA). */
#ifndef MRL_MODEL_H
#define MRL_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "err.h"

typedef struct mrl_config {
    int vocab_size, hidden_size, intermediate_size, num_layers;
    int num_heads, num_kv_heads, head_dim;     /* head_dim = hidden_size / num_heads */
    int max_position_embeddings;
    int max_window_layers;                     /* kept for config.json (sliding window is off); absent: num_layers */
    float rope_theta, rms_norm_eps;
    int tie_word_embeddings;
    int bos_token_id, eos_token_id;            /* eos from config.json (generation_config may add more) */
    int eos_ids[32], n_eos;                    /* every id that ends a completion (at most 32) */
    char torch_dtype[16];                      /* "bfloat16" | "float32" | "float16" */
    int dtype_named;                           /* config.json names it ("dtype" or "torch_dtype"), else float32 */
} mrl_config;

/* Reads DIR/config.json (+ generation_config.json for eos ids) via libjq; an error names the field. */
int config_load(mrl_config *c, const char *dir, mrl_err *e);
/* Writes config.json and generation_config.json (atomically) for c. */
int config_save(const mrl_config *c, const char *dir, mrl_err *e);
/* 0 when a sequence of T tokens (prompt_ids + completion_ids) fits the model's context
 * (max_position_embeddings; none set: anything fits); else -1, e saying so (code 1, the
 * caller puts FILE:LINE in front). */
int config_fits(const mrl_config *c, long T, mrl_err *e);
/* Parameter count (_d: as a double, which does not overflow; config_nparams is for a config
 * that loaded a model or is about to). */
size_t config_nparams(const mrl_config *c);
double config_nparams_d(const mrl_config *c);

typedef struct mrl_model mrl_model;

typedef struct model_opts {
    const char *device;   /* "cpu", "cuda", "cuda:N", "auto" (NULL = auto) */
    int bf16;             /* keep forward weights in bf16 (CUDA always; CPU optional) */
    int trainable;        /* allocate fp32 master weights + gradients */
    int grad_checkpoint;  /* keep only layer inputs; recompute in backward */
    int threads;          /* CPU threads (0 = OpenMP default) */
    int train_numerics;   /* not trainable, but computing as a trainable model of this dtype does
                             (weights not packed: packed fp32 weights sum products of 12 rows or
                             fewer in another order than the streaming kernel the unpacked ones
                             take there): a reference model compared with a policy (KL exactly 0
                             at step 0) */
} model_opts;

mrl_model *model_load(const char *dir, const model_opts *o, mrl_err *e);
void model_free(mrl_model *m);
const mrl_config *model_config(const mrl_model *m);
const char *model_device_name(const mrl_model *m);   /* "cpu", "cuda:0" */

/* ---- inference with a block KV cache (msample) ----
 * A sequence is a list of fixed-size blocks from a pool; blocks are reference-counted,
 * so kv_fork() lets the G samples of a problem share the prompt's blocks (copy-on-write
 * of the last, partly filled block). */
typedef struct kv_cache kv_cache;
/* A pool of `bytes`. kvdt: how K and V are stored: MRL_F32, MRL_BF16, or KV_AUTO = bf16 when the
 * model's forward weights or the backend's activations are bf16, fp32 otherwise (a CUDA cache is
 * always bf16: asking it for fp32 is an error). */
#define KV_AUTO (-1)
kv_cache *kv_create(mrl_model *m, size_t bytes, int block_tokens, int kvdt, mrl_err *e);
int kv_dtype(const kv_cache *kv);   /* MRL_F32 or MRL_BF16 (ops.h) */
void kv_free(kv_cache *kv);
int  kv_seq_new(kv_cache *kv);                 /* an empty sequence id, -1 if none free */
int  kv_fork(kv_cache *kv, int seq);           /* a new sequence sharing seq's tokens */
void kv_seq_free(kv_cache *kv, int seq);       /* returns its blocks at once */
int  kv_seq_len(const kv_cache *kv, int seq);
long kv_free_tokens(const kv_cache *kv);       /* tokens that can still be placed */
long kv_capacity_tokens(const kv_cache *kv);

/* Appends n tokens to seq and writes the logits (vocab_size floats, before temperature)
 * of the last position to logits_last. -1 with e set when the cache is full. */
int model_prefill(mrl_model *m, kv_cache *kv, int seq, const int32_t *tokens, int n,
                  float *logits_last, mrl_err *e);
/* One decode step for B sequences: appends tokens[b] to seqs[b], writes logits[b*V ..].
 * logits NULL: the logits stay in the backend's memory, for model_pick and model_logits_row. */
int model_decode(mrl_model *m, kv_cache *kv, const int *seqs, const int32_t *tokens, int B,
                 float *logits, mrl_err *e);
/* Whether model_pick can run: the backend has op_sample_rows. It pays on a device (a pick
 * per row comes down instead of the row); on the CPU, whose logits are on the host already,
 * it is the same draw done another way (msample's MRL_DEVICE_SAMPLING=all, for tests). */
int model_can_pick(const mrl_model *m);
/* One token for each of the B rows of logits the last model_decode(..., NULL) left in the
 * backend's memory (op_sample_rows: u[b] the row's uniform, inv_temp = 1.0f / T, or greedy); out[b]
 * on the host. A row with flag set has no token: read it with model_logits_row. */
struct mrl_pick;   /* ops.h */
int model_pick(mrl_model *m, int B, const double *u, float inv_temp, int greedy, struct mrl_pick *out, mrl_err *e);
/* Row b of those logits (vocab_size floats) into out. */
void model_logits_row(mrl_model *m, int b, float *out);

/* ---- training / scoring over packed sequences (mgrpo, msample --score) ----
 * A batch packs nseq sequences back to back: tokens[0..T), each sequence restarting at
 * position 0 (cu_seqlens[i]..cu_seqlens[i+1]). targets[t] is the token whose log-prob
 * is wanted at position t (normally tokens[t+1] inside a completion), or -1 for none.
 * logp[t] = log softmax(logits_t / temperature)[targets[t]] (0 where targets[t] < 0). */
typedef struct mrl_batch {
    int T, nseq;
    const int32_t *tokens;
    const int32_t *targets;
    const int32_t *cu_seqlens;   /* nseq + 1 offsets */
    float temperature;           /* 1 = plain softmax */
} mrl_batch;

/* Forward only (reference model, scoring): logp[T]. */
int model_logprobs(mrl_model *m, const mrl_batch *b, float *logp, mrl_err *e);
/* Training forward: keeps activations for model_backward. */
int model_forward(mrl_model *m, const mrl_batch *b, float *logp, mrl_err *e);
/* Backward of the last model_forward given dL/dlogp[T]; ACCUMULATES into the gradients. */
int model_backward(mrl_model *m, const float *dlogp, mrl_err *e);

/* ---- parameters (for the optimizer and checkpoints) ----
 * Every tensor by its Hugging Face name, fp32 master copy and gradient, both on the
 * model's device. optim_step keeps the bf16 forward copies (fw) in step with the masters;
 * after changing masters any other way (loading optimizer state, a hand-made update) call
 * model_sync_weights(). */
typedef struct mrl_param {
    const char *name;      /* "model.layers.0.self_attn.q_proj.weight" */
    int ndim; int64_t shape[2];
    size_t numel;
    float *w;              /* fp32 master (device memory on CUDA); NULL where there is none, or
                              where the weight exists only packed (an fp32 inference model) */
    float *g;              /* gradient, same place */
    void *fw;              /* the bf16 copy the forward reads, NULL when it reads w itself: the
                              optimizer rewrites it with w (optim_step), as model_sync_weights does */
} mrl_param;
int  model_params(mrl_model *m, mrl_param **params);   /* count; array owned by m */
void model_zero_grad(mrl_model *m);
void model_sync_weights(mrl_model *m);
/* Writes config.json, generation_config.json and model.safetensors (dtype "bf16"|"fp32")
 * into dir (which must exist); files are written atomically. */
int model_save(mrl_model *m, const char *dir, const char *dtype, mrl_err *e);

/* The compute backend the model runs on (kernels/ops.h). */
struct mrl_backend;
const struct mrl_backend *model_backend(const mrl_model *m);
/* Copies parameter i's master weights (grad = 0) or gradient (grad = 1) to host memory. */
int model_param_download(mrl_model *m, int i, int grad, float *host, mrl_err *e);
#endif
