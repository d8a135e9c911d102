/* kvcache.c — the paged KV cache (a pool of fixed-size blocks, reference-counted so forked
 * sequences share a prompt, copy-on-write of a shared partly filled block) and the model's
 * inference entry points on it: chunked prefill and one batched decode step. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "model_int.h"

#define PREFILL_CHUNK 128   /* rows per prefill pass: bounds the activation buffers */

kv_cache *kv_create(mrl_model *m, size_t bytes, int block_tokens, int kvdt, mrl_err *e) {
    if (block_tokens <= 0) block_tokens = 16;
    mrl_dtype act = m->be->act, dt;
    if (kvdt == KV_AUTO) dt = act == MRL_BF16 || m->wdt == MRL_BF16 ? MRL_BF16 : MRL_F32;
    else if (kvdt == MRL_F32 || kvdt == MRL_BF16) dt = (mrl_dtype)kvdt;
    else { err_set(e, 2, "KV cache: dtype %d is neither fp32 nor bf16", kvdt); return NULL; }
    if (dt != act && dt != MRL_BF16) {
        err_set(e, 2, "--kv-dtype fp32: the KV cache on %s keeps K and V in bf16", m->be->name);
        return NULL;
    }
    /* the CUDA decode attention holds a head in shared memory: said here, not as an abort at
       the first decode step */
    if (m->be->kind == MRL_DEV_CUDA && (m->D > MRL_CUDA_PAGED_MAXD || (m->D & 1))) {
        err_set(e, 2, "head_dim %d: decoding on %s takes an even head_dim of at most %d (--device cpu takes any)", m->D,
                m->be->name, MRL_CUDA_PAGED_MAXD);
        return NULL;
    }
    size_t es = mrl_dtype_size(dt), row = (size_t)m->K * m->D;
    size_t per_block = (size_t)m->L * 2 * block_tokens * row * es;
    size_t nb = bytes / per_block;
    if (nb < 1) { err_set(e, 2, "--kv-mem: KV cache: %zu bytes hold no block of %d tokens (%zu bytes each)", bytes, block_tokens, per_block); return NULL; }
    if (nb > (1u << 30)) nb = 1u << 30;
    /* a token's slot (block * block_tokens + offset) is an int32 */
    if (nb > (size_t)INT32_MAX / (size_t)block_tokens) nb = (size_t)INT32_MAX / (size_t)block_tokens;
    kv_cache *kv = calloc(1, sizeof *kv);
    if (!kv) { err_set(e, 3, "out of memory"); return NULL; }
    kv->m = m; kv->bs = block_tokens; kv->nblocks = (int)nb; kv->L = m->L; kv->dt = dt;
    kv->layer_elems = nb * block_tokens * row;
    kv->pool = be_alloc(m->be, nb * per_block);
    kv->ref = calloc(nb, sizeof *kv->ref);
    kv->freel = malloc(nb * sizeof *kv->freel);
    if (!kv->pool || !kv->ref || !kv->freel) {
        err_set(e, 3, "out of memory for a KV cache of %zu bytes on %s", nb * per_block, m->be->name);
        kv_free(kv); return NULL;
    }
    for (int i = 0; i < kv->nblocks; i++) kv->freel[i] = kv->nblocks - 1 - i;   /* pop gives 0, 1, ... */
    kv->nfree = kv->nblocks;
    return kv;
}

int kv_dtype(const kv_cache *kv) { return (int)kv->dt; }

void kv_free(kv_cache *kv) {
    if (!kv) return;
    be_free(kv->m->be, kv->pool);
    for (int i = 0; i < kv->nseqs; i++) free(kv->seqs[i].blocks);
    free(kv->seqs); free(kv->ref); free(kv->freel);
    free(kv);
}

int kv_seq_new(kv_cache *kv) {
    int id = -1;
    for (int i = 0; i < kv->nseqs; i++) if (!kv->seqs[i].used) { id = i; break; }
    if (id < 0) {
        kv_seq *ns = realloc(kv->seqs, (kv->nseqs + 1) * sizeof *ns);
        if (!ns) return -1;
        kv->seqs = ns; id = kv->nseqs++;
        memset(&kv->seqs[id], 0, sizeof kv->seqs[id]);
    }
    kv_seq *s = &kv->seqs[id];
    s->used = 1; s->len = 0; s->nblk = 0;
    return id;
}

static kv_seq *seq_at(const kv_cache *kv, int seq) {
    return seq >= 0 && seq < kv->nseqs && kv->seqs[seq].used ? &kv->seqs[seq] : NULL;
}

static int seq_grow(kv_seq *s, int nblk) {
    if (nblk <= s->cap) return 0;
    int cap = s->cap ? s->cap : 8;
    while (cap < nblk) cap *= 2;
    int32_t *nb = realloc(s->blocks, cap * sizeof *nb);
    if (!nb) return -1;
    s->blocks = nb; s->cap = cap;
    return 0;
}

int kv_fork(kv_cache *kv, int seq) {
    if (!seq_at(kv, seq)) return -1;
    int id = kv_seq_new(kv);
    if (id < 0) return -1;
    kv_seq *s = &kv->seqs[seq], *d = &kv->seqs[id];   /* after kv_seq_new: seqs may have moved */
    if (seq_grow(d, s->nblk) < 0) { d->used = 0; return -1; }
    memcpy(d->blocks, s->blocks, s->nblk * sizeof *d->blocks);
    d->nblk = s->nblk; d->len = s->len;
    for (int i = 0; i < d->nblk; i++) kv->ref[d->blocks[i]]++;
    return id;
}

void kv_seq_free(kv_cache *kv, int seq) {
    kv_seq *s = seq_at(kv, seq);
    if (!s) return;
    for (int i = 0; i < s->nblk; i++)
        if (--kv->ref[s->blocks[i]] == 0) kv->freel[kv->nfree++] = s->blocks[i];
    s->used = 0; s->len = 0; s->nblk = 0;
}

int kv_seq_len(const kv_cache *kv, int seq) { kv_seq *s = seq_at(kv, seq); return s ? s->len : -1; }
long kv_free_tokens(const kv_cache *kv) { return (long)kv->nfree * kv->bs; }
long kv_capacity_tokens(const kv_cache *kv) { return (long)kv->nblocks * kv->bs; }

int kv_reserve(kv_cache *kv, int seq, int n, int32_t *slots, mrl_err *e) {
    kv_seq *s = seq_at(kv, seq);
    if (!s) return err_set(e, 2, "KV cache: sequence %d does not exist", seq);
    int bs = kv->bs, start = s->len, need = (start + n + bs - 1) / bs;
    int cow = start % bs && kv->ref[s->blocks[start / bs]] > 1;
    int extra = (need > s->nblk ? need - s->nblk : 0) + cow;
    if (extra > kv->nfree)
        return err_set(e, 1, "KV cache full: %d more blocks of %d tokens needed, %d free", extra, bs, kv->nfree);
    if (seq_grow(s, need) < 0) return err_set(e, 3, "out of memory");
    if (cow) {   /* the tokens written so far stay shared; this sequence continues in a copy */
        int old = s->blocks[start / bs], nb = kv->freel[--kv->nfree];
        size_t blk = (size_t)bs * kv->m->K * kv->m->D * mrl_dtype_size(kv->dt);
        for (int l = 0; l < kv->L; l++) {
            be_copy(kv->m->be, (char *)kv_kpool(kv, l) + nb * blk, (char *)kv_kpool(kv, l) + old * blk, blk);
            be_copy(kv->m->be, (char *)kv_vpool(kv, l) + nb * blk, (char *)kv_vpool(kv, l) + old * blk, blk);
        }
        kv->ref[old]--; kv->ref[nb] = 1;
        s->blocks[start / bs] = nb;
    }
    while (s->nblk < need) { int b = kv->freel[--kv->nfree]; kv->ref[b] = 1; s->blocks[s->nblk++] = b; }
    for (int i = 0; i < n; i++) slots[i] = s->blocks[(start + i) / bs] * bs + (start + i) % bs;
    return 0;
}

void kv_commit(kv_cache *kv, int seq, int n) { kv_seq *s = seq_at(kv, seq); if (s) s->len += n; }

/* R rows through every layer against the cache; the row inputs (tokens, positions, slots, rows, block table) already uploaded. */
static void infer_rows(mrl_model *m, kv_cache *kv, int R, int max_blocks) {
    const mrl_backend *be = m->be;
    int C = m->C, HD = m->HD, QKV = m->QKV, KD = m->K * m->D;
    op_embedding_fwd(be, m->ix, m->itok, lw(m, m->off_embed, m->embed_p), ldt(m, m->embed_p), R, C);
    for (int l = 0; l < m->L; l++) {
        const layer_off *o = &m->lo[l];
        op_rmsnorm_fwd(be, m->iln, NULL, m->ix, mw(m, o->ln1), m->wdt, R, C, m->c.rms_norm_eps);
        op_linear_fwd(be, m->iqkv, 0, m->iln, lw(m, o->qkv_w, o->qkv_p), ldt(m, o->qkv_p), mw(m, o->qkv_b), R, C, QKV);
        op_rope(be, m->iqkv, R, m->H + m->K, m->D, QKV, m->ipos, m->c.rope_theta, 0);   /* q and k: k's heads follow q's */
        op_kv_write(be, kv_kpool(kv, l), kv_vpool(kv, l), kv->dt, act_at(m, m->iqkv, HD), act_at(m, m->iqkv, HD + KD),
                    QKV, m->islot, R, m->K, m->D);
        op_attention_paged(be, m->iatt, m->iqkv, QKV, kv_kpool(kv, l), kv_vpool(kv, l), kv->dt, m->itab, max_blocks,
                           kv->bs, m->irow_seq, m->irow_ctx, R, m->H, m->K, m->D, m->ipaged_work);
        op_linear_fwd(be, m->ix, 1, m->iatt, lw(m, o->o_w, o->o_p), ldt(m, o->o_p), NULL, R, HD, C);
        op_rmsnorm_fwd(be, m->iln, NULL, m->ix, mw(m, o->ln2), m->wdt, R, C, m->c.rms_norm_eps);
        op_linear_fwd(be, m->igu, 0, m->iln, lw(m, o->gu_w, o->gu_p), ldt(m, o->gu_p), NULL, R, C, 2 * m->F);
        op_swiglu_fwd(be, m->iact, m->igu, R, m->F);
        op_linear_fwd(be, m->ix, 1, m->iact, lw(m, o->down_w, o->down_p), ldt(m, o->down_p), NULL, R, m->F, C);
    }
}

/* Final norm and full logits of rows [r0, r0+n) of ix into out (host memory): written there
 * directly on the CPU (batch 64 of a 151,936-token vocabulary is 39 MB a step not copied), on a
 * GPU through ilogits. */
/* The rows of logits head_rows keeps in the backend's ilogits for n rows bound for out: none
 * where the CPU writes out itself; all on a device (they are downloaded from there) or when out
 * is NULL (they stay for model_pick). model_infer_arena sizes ilogits by it. */
static int kept_logits(const mrl_model *m, int n, const float *out) { return m->be->kind == MRL_DEV_CPU && out ? 0 : n; }

static void head_rows(mrl_model *m, int r0, int n, float *out) {
    op_rmsnorm_fwd(m->be, m->iln, NULL, act_at(m, m->ix, (size_t)r0 * m->C), mw(m, m->off_norm), m->wdt, n,
                   m->C, m->c.rms_norm_eps);
    int host = !kept_logits(m, n, out);
    op_logits(m->be, host ? out : m->ilogits, m->iln, lw(m, m->off_head, m->head_p), ldt(m, m->head_p), n, m->C, m->V);
    if (!host && out) be_download(m->be, out, m->ilogits, (size_t)n * m->V * 4);
}

int model_prefill(mrl_model *m, kv_cache *kv, int seq, const int32_t *tokens, int n,
                  float *logits_last, mrl_err *e) {
    be_tick(m->be);
    kv_seq *s = seq_at(kv, seq);
    if (!s) return err_set(e, 2, "model_prefill: sequence %d does not exist", seq);
    if (n <= 0) return err_set(e, 2, "model_prefill: no tokens");
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= m->V)
            return err_set(e, 1, "model_prefill: token id %d is outside the vocabulary (%d)", tokens[i], m->V);
    int start = s->len;
    int32_t *slots = malloc((size_t)n * 4), *pos = malloc(PREFILL_CHUNK * 4), *ctx = malloc(PREFILL_CHUNK * 4),
            *zero = calloc(PREFILL_CHUNK, 4);
    if (!slots || !pos || !ctx || !zero) { free(slots); free(pos); free(ctx); free(zero); return err_set(e, 3, "out of memory"); }
    int rc = kv_reserve(kv, seq, n, slots, e);
    s = &kv->seqs[seq];
    if (rc == 0) rc = model_infer_arena(m, PREFILL_CHUNK, start + n, (size_t)s->nblk, logits_last ? kept_logits(m, 1, logits_last) : 0, e);
    if (rc == 0) {
        be_upload(m->be, m->itab, s->blocks, (size_t)s->nblk * 4);
        be_upload(m->be, m->irow_seq, zero, PREFILL_CHUNK * 4);
        for (int c0 = 0; c0 < n; c0 += PREFILL_CHUNK) {
            int R = n - c0 < PREFILL_CHUNK ? n - c0 : PREFILL_CHUNK;
            for (int i = 0; i < R; i++) { pos[i] = start + c0 + i; ctx[i] = start + c0 + i + 1; }
            be_upload(m->be, m->itok, tokens + c0, (size_t)R * 4);
            be_upload(m->be, m->ipos, pos, (size_t)R * 4);
            be_upload(m->be, m->irow_ctx, ctx, (size_t)R * 4);
            be_upload(m->be, m->islot, slots + c0, (size_t)R * 4);
            infer_rows(m, kv, R, s->nblk);
            if (c0 + R == n && logits_last) head_rows(m, R - 1, 1, logits_last);
        }
        be_sync(m->be);
        kv_commit(kv, seq, n);
    }
    free(slots); free(pos); free(ctx); free(zero);
    return rc;
}

int model_decode(mrl_model *m, kv_cache *kv, const int *seqs, const int32_t *tokens, int B,
                 float *logits, mrl_err *e) {
    be_tick(m->be);
    if (B <= 0) return 0;
    int maxb = 1, maxctx = 1, rc = 0;
    for (int b = 0; b < B; b++) {
        kv_seq *s = seq_at(kv, seqs[b]);
        if (!s) return err_set(e, 2, "model_decode: sequence %d does not exist", seqs[b]);
        if (tokens[b] < 0 || tokens[b] >= m->V)
            return err_set(e, 1, "model_decode: token id %d is outside the vocabulary (%d)", tokens[b], m->V);
        for (int c = 0; c < b; c++) if (seqs[c] == seqs[b]) return err_set(e, 2, "model_decode: sequence %d given twice", seqs[b]);
    }
    if (!logits && !model_can_pick(m)) return err_set(e, 2, "model_decode: no logits buffer");
    int32_t *h = malloc((size_t)B * 4 * 4);
    if (!h) return err_set(e, 3, "out of memory");
    int32_t *slot = h, *pos = h + B, *ctx = h + 2 * B, *row = h + 3 * B;
    for (int b = 0; b < B && rc == 0; b++) {
        rc = kv_reserve(kv, seqs[b], 1, &slot[b], e);
        kv_seq *s = &kv->seqs[seqs[b]];
        pos[b] = s->len; ctx[b] = s->len + 1; row[b] = b;
        if (s->nblk > maxb) maxb = s->nblk;
        if (ctx[b] > maxctx) maxctx = ctx[b];
    }
    int32_t *tab = rc == 0 ? calloc((size_t)B * maxb, 4) : NULL;
    if (rc == 0 && !tab) rc = err_set(e, 3, "out of memory");
    if (rc == 0) rc = model_infer_arena(m, B, maxctx, (size_t)B * maxb, kept_logits(m, B, logits), e);
    if (rc == 0) {
        for (int b = 0; b < B; b++) {
            kv_seq *s = &kv->seqs[seqs[b]];
            memcpy(tab + (size_t)b * maxb, s->blocks, (size_t)s->nblk * 4);
        }
        be_upload(m->be, m->itab, tab, (size_t)B * maxb * 4);
        be_upload(m->be, m->itok, tokens, (size_t)B * 4);
        be_upload(m->be, m->ipos, pos, (size_t)B * 4);
        be_upload(m->be, m->irow_ctx, ctx, (size_t)B * 4);
        be_upload(m->be, m->islot, slot, (size_t)B * 4);
        be_upload(m->be, m->irow_seq, row, (size_t)B * 4);
        infer_rows(m, kv, B, maxb);
        head_rows(m, 0, B, logits);
        for (int b = 0; b < B; b++) kv_commit(kv, seqs[b], 1);
    }
    free(tab); free(h);
    return rc;
}

int model_can_pick(const mrl_model *m) { return op_has_sample_rows(m->be); }

int model_pick(mrl_model *m, int B, const double *u, float inv_temp, int greedy, mrl_pick *out, mrl_err *e) {
    if (!model_can_pick(m)) return err_set(e, 2, "model_pick: the %s backend has no op_sample_rows", m->be->name);
    if (B <= 0) return 0;
    if (B > m->cap_logits) return err_set(e, 2, "model_pick: %d rows, the last decode left %d", B, m->cap_logits);
    const mrl_backend *be = m->be;
    if (B > m->cap_pick) {
        be_free(be, m->ipick); be_free(be, m->ipick_u); be_free(be, m->ipick_work);
        m->ipick = be_alloc(be, (size_t)B * sizeof *m->ipick);
        m->ipick_u = be_alloc(be, (size_t)B * sizeof *m->ipick_u);
        m->ipick_work = be_alloc(be, op_sample_rows_work(be, B, m->V));
        if (!m->ipick || !m->ipick_u || !m->ipick_work) {
            be_free(be, m->ipick); be_free(be, m->ipick_u); be_free(be, m->ipick_work);
            m->ipick = NULL; m->ipick_u = NULL; m->ipick_work = NULL; m->cap_pick = 0;
            return err_set(e, 3, "out of memory for sampling buffers on %s", be->name);
        }
        m->cap_pick = B;
    }
    if (!greedy) be_upload(be, m->ipick_u, u, (size_t)B * sizeof *u);
    op_sample_rows(be, m->ipick, m->ilogits, m->ipick_u, B, m->V, inv_temp, greedy, m->ipick_work);
    be_download(be, out, m->ipick, (size_t)B * sizeof *out);
    return 0;
}

void model_logits_row(mrl_model *m, int b, float *out) {
    be_download(m->be, out, m->ilogits + (size_t)b * m->V, (size_t)m->V * 4);
}
