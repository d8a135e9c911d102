/* safetensors.h — Hugging Face checkpoints: a validating mmap reader (one file or shards
 * listed in model.safetensors.index.json), an atomic streaming writer, and the Qwen2 tensor
 * names and shapes in one place so the model, minit and the checks agree. */
#ifndef MRL_SAFETENSORS_H
#define MRL_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>
#include "dtype.h"
#include "err.h"
#include "model.h"

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER 100000000u   /* a header above 100 MB (10^8 bytes, safetensors' MAX_HEADER_SIZE) is refused, as HF refuses it */

typedef struct st_tensor {
    const char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel;
    const void *data;    /* into the mmap; aligned only to the element size the writer chose:
                          * read through dtype_to_f32 / memcpy, not by casting */
    size_t nbytes;
    int shard;           /* index of the file it lives in */
} st_tensor;

/* ---- reader ---- */
typedef struct st_file st_file;
/* path: a model directory (model.safetensors, else model.safetensors.index.json and its
 * shards), a .safetensors file, or an index .json. Every file is mmapped read-only and its
 * header validated: length bounded and inside the file, JSON well-formed, every entry with
 * a known dtype, a shape, data_offsets inside the data area, not overlapping another tensor,
 * of exactly numel * dtype size bytes, the tensors covering the data area without a gap (as
 * safetensors requires); names unique across shards and each indexed name
 * found in its shard. Errors name the file and the tensor. */
st_file *st_open(const char *path, mrl_err *e);
void st_close(st_file *f);
int st_count(const st_file *f);
const st_tensor *st_at(const st_file *f, int i);          /* by shard, then data offset */
const st_tensor *st_find(const st_file *f, const char *name);  /* NULL if absent */
/* A string from __metadata__ of the first file, NULL if absent. */
const char *st_metadata(const st_file *f, const char *key);

/* Copies tensor t into dst as float32 (any float dtype); -1 with e set otherwise. */
int st_read_f32(const st_tensor *t, float *dst, mrl_err *e);

/* ---- Qwen2 layout ---- */
typedef enum qwen2_kind {
    QW_EMBED,            /* model.embed_tokens.weight        [V, C] */
    QW_LN1,              /* model.layers.L.input_layernorm.weight [C] */
    QW_QW, QW_QB,        /* self_attn.q_proj.weight [H*D, C], .bias [H*D] */
    QW_KW, QW_KB,        /* self_attn.k_proj.weight [Hkv*D, C], .bias [Hkv*D] */
    QW_VW, QW_VB,        /* self_attn.v_proj.weight [Hkv*D, C], .bias [Hkv*D] */
    QW_OW,               /* self_attn.o_proj.weight [C, H*D] (no bias) */
    QW_LN2,              /* post_attention_layernorm.weight [C] */
    QW_GATE, QW_UP,      /* mlp.gate_proj.weight, mlp.up_proj.weight [F, C] */
    QW_DOWN,             /* mlp.down_proj.weight [C, F] */
    QW_NORM,             /* model.norm.weight [C] */
    QW_LMHEAD,           /* lm_head.weight [V, C] (absent when tie_word_embeddings) */
    QW_NKIND
} qwen2_kind;

typedef struct qwen2_tensor {
    char name[96];
    qwen2_kind kind;
    int layer;           /* -1 for embed, norm, lm_head */
    int ndim;
    int64_t shape[2];
    size_t numel;
} qwen2_tensor;

/* The tensors config c implies, in Hugging Face order (embed, layers 0..L-1, norm, lm_head).
 * Writes up to cap entries into out (out may be NULL) and returns the total count. */
int qwen2_tensors(const mrl_config *c, qwen2_tensor *out, int cap);
/* Every tensor c implies is present with that shape and a float dtype (F32, BF16, F16), the
 * one config.json names where it names one (c->dtype_named); no
 * extra tensors other than ones transformers ignores (rotary_emb.inv_freq). The first
 * failure is reported, naming the tensor and the file that holds it (a shard of a sharded
 * checkpoint; a missing tensor: the path opened): `DIR/model-00002-of-00002.safetensors:
 * "model.norm.weight" has shape [64], config.json implies [128]`. Returns 0 or -1. */
int st_check_qwen2(const st_file *f, const mrl_config *c, mrl_err *e);

/* ---- writer ----
 * Tensors are declared first and their bytes produced at st_write_end, one tensor at a time,
 * so a 1.5B checkpoint is written without a second copy in memory. Data is laid out by
 * descending element size (every tensor aligned to its element size), contiguously, with
 * {"format":"pt"} metadata added unless given. The file appears atomically: written to
 * PATH.tmp.PID, fsynced, renamed, directory fsynced. */
typedef struct st_writer st_writer;
/* Fills dst with elements [off, off + n) of the tensor (in the declared dtype); called in
 * order with consecutive ranges. Returns 0, or -1 with e set to abort the write. */
typedef int (*st_fill_fn)(void *ctx, void *dst, size_t off, size_t n, mrl_err *e);

st_writer *st_write_begin(const char *path, mrl_err *e);
/* Raw bytes already in dtype; data must stay valid until st_write_end. */
int st_add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
           const void *data, mrl_err *e);
/* float32 source stored as dtype (F32, BF16, F16), converted while writing. */
int st_add_f32(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
               const float *src, mrl_err *e);
/* Bytes produced by a callback while writing. */
int st_add_fill(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
                st_fill_fn fill, void *ctx, mrl_err *e);
/* meta: NULL or NULL-terminated key, value, key, value, ... strings for __metadata__.
 * Frees w in every case; on failure the temp file is removed and PATH untouched. */
int st_write_end(st_writer *w, const char *const *meta, mrl_err *e);
/* Frees w without writing anything. */
void st_write_abort(st_writer *w);

/* ---- small file helpers shared by checkpoint writers ---- */
/* Writes len bytes to path atomically: stream.h's atomic_write_file, kept under this name for the
 * checkpoint writers that include only safetensors.h. */
int st_write_file_atomic(const char *path, const void *data, size_t len, mrl_err *e);
#endif
