/* model.c — the Qwen2 model's weights: loading a Hugging Face directory into one flat
 * parameter space (fp32 master + gradient when trainable, bf16 or fp32 forward copy), the
 * parameter list, and saving. Forward/backward are in model_train.c, decoding in kvcache.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "model_int.h"
#include "safetensors.h"

const mrl_config *model_config(const mrl_model *m) { return &m->c; }
const char *model_device_name(const mrl_model *m) { return m->be->name; }

/* Assigns every tensor its place in the flat space, in the order that makes the fusions. */
static void layout(mrl_model *m) {
    size_t p = 0, C = m->C, F = m->F, QKV = m->QKV, HD = m->HD;
    for (int l = 0; l < m->L; l++) {
        layer_off *o = &m->lo[l];
        o->ln1 = p; p += C;
        o->qkv_w = p; p += QKV * C;
        o->qkv_b = p; p += QKV;
        o->o_w = p; p += C * HD;
        o->ln2 = p; p += C;
        o->gu_w = p; p += 2 * F * C;
        o->down_w = p; p += C * F;
    }
    m->off_embed = p; p += (size_t)m->V * C;
    m->off_norm = p; p += C;
    m->off_head = m->c.tie_word_embeddings ? m->off_embed : p;
    if (!m->c.tie_word_embeddings) p += (size_t)m->V * C;
    m->n = p;
}

/* Offset of a Hugging Face tensor in the flat space. */
static size_t tensor_off(const mrl_model *m, const qwen2_tensor *t) {
    size_t C = m->C, HD = m->HD, KD = (size_t)m->K * m->D, F = m->F;
    const layer_off *o = t->layer >= 0 ? &m->lo[t->layer] : NULL;
    switch (t->kind) {
    case QW_EMBED: return m->off_embed;
    case QW_NORM: return m->off_norm;
    case QW_LMHEAD: return m->off_head;
    case QW_LN1: return o->ln1;
    case QW_QW: return o->qkv_w;
    case QW_KW: return o->qkv_w + HD * C;
    case QW_VW: return o->qkv_w + (HD + KD) * C;
    case QW_QB: return o->qkv_b;
    case QW_KB: return o->qkv_b + HD;
    case QW_VB: return o->qkv_b + HD + KD;
    case QW_OW: return o->o_w;
    case QW_LN2: return o->ln2;
    case QW_GATE: return o->gu_w;
    case QW_UP: return o->gu_w + F * C;
    case QW_DOWN: return o->down_w;
    default: return 0;
    }
}

/* Inference: each linear weight packed into the layout the backend's GEMM reads directly
 * (op_pack_weight: for bf16 the CPU's vdpbf16ps panels / AMX tiles, for fp32 the AVX-512
 * register tiles' panels), so no step repacks it. The linear weights never enter fw: model_load
 * leaves their file tensors where they are (`held`), and each weight is packed straight from
 * the file mapping (one tensor of the forward dtype) or from an assembly of its tensors in
 * that dtype (fused q/k/v, gate/up, or a file in another dtype), then its file pages are
 * dropped. Fresh anonymous pages cost the kernel a zeroing each: writing the weights to fw and
 * packing them from there was half of a 5 s load of the 1.5B model. A tied head is packed too;
 * the embedding lookup then gathers its rows from the panels. A model that trains, or computes
 * as one that trains (mgrpo's reference), keeps W as it is: its products run on the unpacked
 * kernels — for fp32 the same sums, bit for bit, for products of more than 12 rows (the
 * head's last chunk of rows, T mod 256, can be fewer). */
typedef struct { size_t off, *p; int OUT, IN; } lin_item;

static int will_pack(const mrl_model *m) {
    if (m->o.trainable || m->o.train_numerics || (m->wdt == MRL_BF16 && !m->be->bf16_act)) return 0;
    return op_pack_weight(m->be, NULL, NULL, m->wdt, 64, 64) > 0;
}
/* The packed weights as ranges of the flat space, in w[4 L + 1]; returns their count. */
static int linear_items(mrl_model *m, lin_item *w) {
    size_t C = m->C, F = m->F, HD = m->HD, QKV = m->QKV;
    int n = 0;
    for (int l = 0; l < m->L; l++) {
        layer_off *o = &m->lo[l];
        w[n++] = (lin_item){o->qkv_w, &o->qkv_p, (int)QKV, (int)C};
        w[n++] = (lin_item){o->o_w, &o->o_p, (int)C, (int)HD};
        w[n++] = (lin_item){o->gu_w, &o->gu_p, (int)(2 * F), (int)C};
        w[n++] = (lin_item){o->down_w, &o->down_p, (int)C, (int)F};
    }
    w[n++] = (lin_item){m->off_head, &m->head_p, m->V, (int)C};
    return n;
}
static int in_items(const lin_item *w, int n, size_t off) {
    for (int i = 0; i < n; i++) if (off >= w[i].off && off < w[i].off + (size_t)w[i].OUT * w[i].IN) return 1;
    return 0;
}
/* Done with a tensor's pages of the (read-only, private) file mapping: dropped so that the
 * mapping does not add to peak RSS. A page it shares with a neighbour is read again from the
 * page cache if the neighbour still needs it. */
static void drop_file_pages(const st_tensor *t) {
    uintptr_t a = (uintptr_t)t->data & ~(uintptr_t)4095, z = (uintptr_t)t->data + t->nbytes;
    madvise((void *)a, z - a, MADV_DONTNEED);
}

/* The n items w (model_load's linear_items; none: nothing to pack). held[i] / hoff[i]: the
 * file tensor of flat-space offset hoff[i] that model_load left for this (NULL: loaded into
 * fw); tmp (floats) and tmp2 (bf16) hold the largest tensor. The weights are packed from
 * m->wdt (bf16 or fp32). */
static int pack_linears(mrl_model *m, const lin_item *w, int n, const st_tensor *const *held, const size_t *hoff, int nt,
                        float *tmp, uint16_t *tmp2, mrl_err *e) {
    m->head_p = m->embed_p = NOPACK;
    if (n == 0) return 0;
    size_t tot = 0, maxw = 0;
    for (int i = 0; i < n; i++) {
        *w[i].p = tot;
        tot += (op_pack_weight(m->be, NULL, NULL, m->wdt, w[i].OUT, w[i].IN) + 255) / 256 * 256;
        if ((size_t)w[i].OUT * w[i].IN > maxw) maxw = (size_t)w[i].OUT * w[i].IN;
    }
    if (!(m->pw = be_alloc(m->be, tot))) return err_set(e, 3, "out of memory for packed weights on %s", m->be->name);
    int f32 = m->wdt == MRL_F32;
    size_t es = f32 ? 4 : 2;
    st_dtype sdt = f32 ? ST_F32 : ST_BF16;
    char *asmb = NULL;   /* a fused weight assembled from several tensors (tmp / tmp2 hold one tensor) */
    for (int i = 0; i < n; i++) {
        const void *src = NULL;
        int parts = 0, one = -1;   /* the item's tensors: how many, and the last */
        for (int j = 0; j < nt; j++) if (held[j] && in_items(&w[i], 1, hoff[j])) { parts++; one = j; }
        const st_tensor *t1 = parts == 1 ? held[one] : NULL;   /* one tensor of wdt: packed from the mapping itself (if aligned) */
        if (t1 && hoff[one] == w[i].off && t1->numel == (size_t)w[i].OUT * w[i].IN && t1->dtype == sdt && !((uintptr_t)t1->data % es))
            src = t1->data;
        if (!src) {
            char *dst = parts == 1 ? (f32 ? (char *)tmp : (char *)tmp2) : asmb;
            if (!dst && !(dst = asmb = malloc(maxw * es))) return err_set(e, 3, "out of memory");
            for (int j = 0; j < nt; j++) {
                if (!held[j] || !in_items(&w[i], 1, hoff[j])) continue;
                char *d = dst + (hoff[j] - w[i].off) * es;
                if (held[j]->dtype == sdt) memcpy(d, held[j]->data, held[j]->numel * es);
                else if (f32) { if (st_read_f32(held[j], (float *)d, e) < 0) { free(asmb); return -1; } }
                else if (st_read_f32(held[j], tmp, e) < 0) { free(asmb); return -1; }
                else dtype_from_f32(ST_BF16, tmp, d, held[j]->numel);
            }
            src = dst;
        }
        op_pack_weight(m->be, (char *)m->pw + *w[i].p, src, m->wdt, w[i].OUT, w[i].IN);
        for (int j = 0; j < nt; j++) if (held[j] && in_items(&w[i], 1, hoff[j])) drop_file_pages(held[j]);
    }
    free(asmb);
    if (m->c.tie_word_embeddings) m->embed_p = m->head_p;
    be_sync(m->be);
    return 0;
}

void model_free(mrl_model *m) {
    if (!m) return;
    model_arena_free(m);
    if (m->be) {
        be_free(m->be, m->pw);
        if (m->fw != (void *)m->master) be_free(m->be, m->fw);
        be_free(m->be, m->master);
        be_free(m->be, m->grad);
        be_close(m->be);
    }
    free(m->lo); free(m->params); free(m->pnames);
    free(m);
}

mrl_model *model_load(const char *dir, const model_opts *o, mrl_err *e) {
    model_opts def = {0};
    if (!o) o = &def;
    mrl_model *m = calloc(1, sizeof *m);
    if (!m) { err_set(e, 3, "out of memory"); return NULL; }
    m->o = *o;
    st_file *f = NULL;
    qwen2_tensor *ts = NULL;
    float *tmp = NULL; uint16_t *tmp2 = NULL;
    const st_tensor **held = NULL;   /* linear weights left in the file for pack_linears */
    size_t *hoff = NULL;
    lin_item *lin = NULL;
    if (config_load(&m->c, dir, e) < 0) goto fail;
    if (!(f = st_open(dir, e))) goto fail;
    if (st_check_qwen2(f, &m->c, e) < 0) goto fail;
    if (!(m->be = be_open(o->device, o->threads, e))) goto fail;
    m->be->bf16_act = o->bf16;   /* bf16 models round activations to bf16 in the weight GEMMs (CPU: vdpbf16ps) */
    m->H = m->c.num_heads; m->K = m->c.num_kv_heads; m->D = m->c.head_dim;
    m->C = m->c.hidden_size; m->F = m->c.intermediate_size; m->V = m->c.vocab_size;
    m->L = m->c.num_layers; m->HD = m->H * m->D; m->QKV = (m->H + 2 * m->K) * m->D;
    m->wdt = (o->bf16 || m->be->kind == MRL_DEV_CUDA) ? MRL_BF16 : MRL_F32;
    if (!(m->lo = calloc(m->L, sizeof *m->lo))) { err_set(e, 3, "out of memory"); goto fail; }
    layout(m);

    int need_master = o->trainable || m->wdt == MRL_F32;
    size_t bytes = m->n * sizeof(float);
    if (need_master && !(m->master = be_alloc(m->be, bytes))) {
        err_set(e, 3, "out of memory for %zu parameters on %s", m->n, m->be->name); goto fail;
    }
    if (o->trainable) {
        if (!(m->grad = be_alloc(m->be, bytes))) { err_set(e, 3, "out of memory for gradients on %s", m->be->name); goto fail; }
        be_memset0(m->be, m->grad, bytes);
    }
    if (m->wdt == MRL_F32) m->fw = m->master;
    else if (!(m->fw = be_alloc(m->be, m->n * 2))) { err_set(e, 3, "out of memory for bf16 weights on %s", m->be->name); goto fail; }

    int nt = qwen2_tensors(&m->c, NULL, 0);
    ts = calloc(nt, sizeof *ts);
    m->params = calloc(nt, sizeof *m->params);
    m->pnames = calloc(nt, sizeof *m->pnames);
    held = calloc(nt, sizeof *held);
    hoff = calloc(nt, sizeof *hoff);
    if (!ts || !m->params || !m->pnames || !held || !hoff) { err_set(e, 3, "out of memory"); goto fail; }
    qwen2_tensors(&m->c, ts, nt);
    /* inference with packed weights: the linear weights go from the file to the packed
       panels (pack_linears), not through fw */
    int nlin = 0;
    if (will_pack(m)) {
        if (!(lin = malloc((4 * (size_t)m->L + 1) * sizeof *lin))) { err_set(e, 3, "out of memory"); goto fail; }
        nlin = linear_items(m, lin);
    }
    size_t maxn = 0;
    for (int i = 0; i < nt; i++) if (ts[i].numel > maxn) maxn = ts[i].numel;
    if (!(tmp = malloc(maxn * sizeof(float))) || !(tmp2 = malloc(maxn * 2))) { err_set(e, 3, "out of memory"); goto fail; }
    for (int i = 0; i < nt; i++) {
        const st_tensor *t = st_find(f, ts[i].name);
        if (!t) { err_set(e, 1, "%s: tensor \"%s\" is missing", dir, ts[i].name); goto fail; }
        size_t off = tensor_off(m, &ts[i]);
        if (in_items(lin, nlin, off)) {
            held[i] = t; hoff[i] = off;
        } else {
            if (!m->master && t->dtype == ST_BF16) {   /* bf16 inference from a bf16 file: bytes as they are */
                memcpy(tmp2, t->data, ts[i].numel * 2);
                be_upload(m->be, (char *)m->fw + off * 2, tmp2, ts[i].numel * 2);
            } else {
                if (st_read_f32(t, tmp, e) < 0) goto fail;
                if (m->master) be_upload(m->be, m->master + off, tmp, ts[i].numel * sizeof(float));
                if (m->wdt == MRL_BF16) {
                    dtype_from_f32(ST_BF16, tmp, tmp2, ts[i].numel);
                    be_upload(m->be, (char *)m->fw + off * 2, tmp2, ts[i].numel * 2);
                }
            }
            drop_file_pages(t);
        }
        mrl_param *p = &m->params[i];
        snprintf(m->pnames[i], sizeof m->pnames[i], "%s", ts[i].name);
        p->name = m->pnames[i]; p->ndim = ts[i].ndim;
        p->shape[0] = ts[i].shape[0]; p->shape[1] = ts[i].ndim > 1 ? ts[i].shape[1] : 1;
        p->numel = ts[i].numel;
        p->w = m->master && !held[i] ? m->master + off : NULL;   /* packed: never written to master */
        p->g = m->grad ? m->grad + off : NULL;
        p->fw = m->master && m->fw != (void *)m->master ? (char *)m->fw + off * 2 : NULL;
    }
    m->np = nt;
    be_sync(m->be);
    if (pack_linears(m, lin, nlin, held, hoff, nt, tmp, tmp2, e) < 0) goto fail;
    free(tmp); free(tmp2); free(ts); free(held); free(hoff); free(lin);
    st_close(f);
    return m;
fail:
    free(tmp); free(tmp2); free(ts); free(held); free(hoff); free(lin);
    if (f) st_close(f);
    model_free(m);
    return NULL;
}

int model_params(mrl_model *m, mrl_param **params) { *params = m->params; return m->np; }

void model_zero_grad(mrl_model *m) { if (m->grad) be_memset0(m->be, m->grad, m->n * sizeof(float)); }

void model_sync_weights(mrl_model *m) {
    if (m->master && m->fw != (void *)m->master) op_cast(m->be, m->fw, m->wdt, m->master, MRL_F32, m->n);
    be_sync(m->be);
}

/* ---- saving ---- */
typedef struct save_buf { float *f; uint16_t *h; size_t cap; } save_buf;   /* one per save, reused */
typedef struct save_ctx { mrl_model *m; size_t off; st_dtype dt; save_buf *sb; } save_ctx;

/* Produces a tensor's bytes from backend memory: master weights, else the forward copy. Host
 * memory (the CPU backend's) is read in place; a device's goes through one scratch buffer for
 * the whole save (buffers made per chunk were fresh mappings, page-faulted anew each time). */
static int save_fill(void *vctx, void *dst, size_t off, size_t n, mrl_err *e) {
    save_ctx *s = vctx; mrl_model *m = s->m; save_buf *b = s->sb;
    const float *src;
    if (m->master && m->be->kind == MRL_DEV_CPU) src = m->master + s->off + off;
    else {
        if (n > b->cap) {
            free(b->f); free(b->h);
            b->f = malloc(n * sizeof(float)); b->h = malloc(n * 2);
            b->cap = b->f && b->h ? n : 0;
            if (!b->cap) return err_set(e, 3, "out of memory");
        }
        if (m->master) be_download(m->be, b->f, m->master + s->off + off, n * sizeof(float));
        else {
            be_download(m->be, b->h, (const char *)m->fw + (s->off + off) * 2, n * 2);
            dtype_to_f32(ST_BF16, b->h, b->f, n);
        }
        src = b->f;
    }
    return dtype_from_f32(s->dt, src, dst, n) < 0 ? err_set(e, 2, "cannot store weights as %s", dtype_name(s->dt)) : 0;
}

int model_save(mrl_model *m, const char *dir, const char *dtype, mrl_err *e) {
    if (m->pw) return err_set(e, 2, "model_save: this model was loaded for inference (packed weights); load it for training to save it");
    int dt = dtype_parse_torch(dtype ? dtype : "bf16");
    if (dt != ST_BF16 && dt != ST_F32 && dt != ST_F16) return err_set(e, 2, "model_save: dtype \"%s\" is not bf16 or fp32", dtype);
    mrl_config c = m->c;
    snprintf(c.torch_dtype, sizeof c.torch_dtype, "%s", dtype_torch_name((st_dtype)dt));
    if (config_save(&c, dir, e) < 0) return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    qwen2_tensor *ts = calloc(m->np, sizeof *ts);
    save_ctx *ctx = calloc(m->np, sizeof *ctx);
    if (!ts || !ctx) { free(ts); free(ctx); return err_set(e, 3, "out of memory"); }
    qwen2_tensors(&m->c, ts, m->np);
    st_writer *w = st_write_begin(path, e);
    if (!w) { free(ts); free(ctx); return -1; }
    save_buf sb = {0};
    for (int i = 0; i < m->np; i++) {
        ctx[i] = (save_ctx){m, tensor_off(m, &ts[i]), (st_dtype)dt, &sb};
        if (st_add_fill(w, ts[i].name, (st_dtype)dt, ts[i].ndim, ts[i].shape, save_fill, &ctx[i], e) < 0) {
            st_write_abort(w); free(ts); free(ctx); return -1;
        }
    }
    const char *meta[] = {"format", "pt", NULL};
    int rc = st_write_end(w, meta, e);
    free(ts); free(ctx); free(sb.f); free(sb.h);
    return rc;
}
