/* model_int.h — what model.c, model_train.c and kvcache.c share inside the model: the weight
 * layout (fused q|k|v and gate|up per layer in one flat buffer), the activation arenas, and the
 * KV cache's internals. Not for tools: they use model.h. */
#ifndef MRL_MODEL_INT_H
#define MRL_MODEL_INT_H
#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "ops.h"

/* Element offsets of one layer's tensors in the flat parameter space. q, k, v weights are
 * consecutive, so [q;k;v] is one [(H+2K)D, C] matrix; likewise their biases, and gate|up. */
typedef struct layer_off {
    size_t ln1, qkv_w, qkv_b, o_w, ln2, gu_w, down_w;
    size_t qkv_p, o_p, gu_p, down_p;   /* byte offsets in pw (when packed) */
} layer_off;
#define NOPACK ((size_t)-1)

/* The activations of one layer kept for the backward (or recomputed with checkpointing). */
typedef struct layer_act {
    void *ln1, *qkv, *att, *xmid, *ln2, *gu, *act;   /* act dtype */
    float *rstd1, *lse, *rstd2;
} layer_act;

struct mrl_model {
    mrl_config c;
    mrl_backend *be;
    model_opts o;
    int H, K, D, C, F, V, L, QKV, HD;
    mrl_dtype wdt;               /* forward weights */
    size_t n;                    /* parameters in the flat space */
    layer_off *lo;
    size_t off_embed, off_norm, off_head;    /* off_head == off_embed when tied */
    float *master, *grad;        /* fp32 [n] (NULL unless trainable / fp32 inference) */
    void *fw;                    /* forward weights [n] of wdt (== master when fp32) */
    void *pw;                    /* inference: the linear weights packed for the backend's GEMM
                                    (MRL_BF16P or MRL_F32P; NULL when it has no packed layout).
                                    Their ranges in fw are then never written and must not be read. */
    size_t head_p;               /* byte offset of the head in pw, or NOPACK */
    size_t embed_p;              /* the embedding table's: head_p when tied and packed, else NOPACK */
    mrl_param *params; int np;
    char (*pnames)[96];

    /* training / scoring arena, sized for cap_T rows (act dtype of the backend) */
    int cap_T, cap_mode, cap_len;  /* mode: 0 scoring, 1 training, 2 training + checkpointing */
    void **tbufs; int ntbufs;
    void **xin;                 /* [L+1] residual stream entering each layer (xin[L]: final) */
    layer_act *la;               /* [L] (one shared when checkpointing or scoring) */
    void *lnf; float *rstdf, *lse_head, *logp_d, *dlogp_d;
    void *d_a, *d_ln, *d_att, *d_qkv, *d_gu, *d_act;
    int32_t *tok_d, *tgt_d, *cu_d, *pos_d;
    int32_t *cu_h;         /* cu_d's offsets on the host too (the CUDA attention reads them there) */
    void *attn_work, *head_work;
    size_t attn_work_n, head_work_n;
    /* the batch of the last model_forward */
    int fw_T, fw_nseq, fw_maxlen, fw_ready, fw_ckpt;
    float fw_inv_temp;

    /* inference arena (prefill chunks and decode), sized for cap_R rows */
    int cap_R, cap_ctx, cap_logits;
    void *ix, *iln, *iqkv, *iatt, *igu, *iact; float *ilogits;
    int32_t *itok, *ipos, *islot, *irow_seq, *irow_ctx, *itab;
    size_t itab_n;
    void *ipaged_work; size_t ipaged_work_n;
    /* model_pick's buffers (device backends), for cap_pick rows */
    int cap_pick;
    mrl_pick *ipick; double *ipick_u; void *ipick_work;
};

static inline const void *mw(const mrl_model *m, size_t off) {
    return (const char *)m->fw + off * mrl_dtype_size(m->wdt);
}
/* A linear weight as the forward GEMM reads it (off in fw, poff in pw), and its dtype. */
static inline const void *lw(const mrl_model *m, size_t off, size_t poff) {
    return m->pw && poff != NOPACK ? (const char *)m->pw + poff : mw(m, off);
}
static inline mrl_dtype ldt(const mrl_model *m, size_t poff) { return m->pw && poff != NOPACK ? mrl_packed(m->wdt) : m->wdt; }
/* p advanced by n elements of the activation dtype */
static inline void *act_at(const mrl_model *m, const void *p, size_t n) {
    return (char *)p + n * mrl_dtype_size(m->be->act);
}
static inline float *mg(const mrl_model *m, size_t off) { return m->grad ? m->grad + off : NULL; }

/* One layer forward on rows [0,T): x -> xout, keeping activations in a (model_train.c). */
void model_layer_fwd(mrl_model *m, int l, const void *x, void *xout, const layer_act *a, int T,
                     const int32_t *pos_d, const int32_t *cu_d, const int32_t *cu_h, int nseq, void *attn_work);

/* Frees the training and inference arenas (model_train.c). */
void model_arena_free(mrl_model *m);
/* Sizes the inference arena for R rows, a block table of tab_entries, nlogits rows of logits kept in the backend's memory (kvcache.c's kept_logits) and contexts up to maxctx (model_train.c). */
int model_infer_arena(mrl_model *m, int R, int maxctx, size_t tab_entries, int nlogits, mrl_err *e);

/* ---- KV cache internals (kvcache.c) ---- */
typedef struct kv_seq {
    int used, len, nblk, cap;
    int32_t *blocks;
} kv_seq;

struct kv_cache {
    mrl_model *m;
    int bs, nblocks, L;
    size_t layer_elems;          /* elements of one layer's K pool (= V pool) */
    mrl_dtype dt;                /* of the pool: the act dtype, or BF16 on an F32 backend */
    void *pool;                  /* [L][2][nblocks * bs * K * D] of dt */
    int *ref, *freel, nfree;
    kv_seq *seqs; int nseqs;
};
static inline void *kv_kpool(const kv_cache *kv, int l) {
    return (char *)kv->pool + (size_t)(2 * l) * kv->layer_elems * mrl_dtype_size(kv->dt);
}
static inline void *kv_vpool(const kv_cache *kv, int l) {
    return (char *)kv->pool + (size_t)(2 * l + 1) * kv->layer_elems * mrl_dtype_size(kv->dt);
}
/* Makes room for n more tokens in seq (new blocks; copy-on-write of a shared, partly filled
 * last block) and writes the n slot indices; the length grows only with kv_commit. */
int kv_reserve(kv_cache *kv, int seq, int n, int32_t *slots, mrl_err *e);
void kv_commit(kv_cache *kv, int seq, int n);
#endif
