/* model_train.c — the Qwen2 forward over packed sequences (scoring, training) and its
 * backward, layer by layer as forward/backward op pairs; gradient checkpointing keeps only
 * the residual stream entering each layer and recomputes the layer in the backward. */
#include <stdlib.h>
#include <string.h>
#include "model_int.h"

/* ---- arenas ---- */
static void *talloc(mrl_model *m, size_t bytes, int *ok) {
    void *p = be_alloc(m->be, bytes ? bytes : 1);
    void **nb = realloc(m->tbufs, (m->ntbufs + 1) * sizeof *nb);
    if (!p || !nb) { if (p) be_free(m->be, p); if (nb) m->tbufs = nb; *ok = 0; return NULL; }
    m->tbufs = nb; m->tbufs[m->ntbufs++] = p;
    return p;
}

static void train_arena_free(mrl_model *m) {
    for (int i = 0; i < m->ntbufs; i++) be_free(m->be, m->tbufs[i]);
    free(m->tbufs); m->tbufs = NULL; m->ntbufs = 0;
    free(m->xin); free(m->la); free(m->cu_h); m->xin = NULL; m->la = NULL; m->cu_h = NULL;
    m->cap_T = 0; m->fw_ready = 0;
}

static void infer_arena_free(mrl_model *m) {
    void *ps[] = {m->ix, m->iln, m->iqkv, m->iatt, m->igu, m->iact, m->ilogits, m->itok, m->ipos,
                  m->islot, m->irow_seq, m->irow_ctx, m->itab, m->ipaged_work, m->ipick, m->ipick_u,
                  m->ipick_work};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) be_free(m->be, ps[i]);
    m->ix = m->iln = m->iqkv = m->iatt = m->igu = m->iact = NULL; m->ilogits = NULL;
    m->itok = m->ipos = m->islot = m->irow_seq = m->irow_ctx = m->itab = NULL; m->ipaged_work = NULL;
    m->ipick = NULL; m->ipick_u = NULL; m->ipick_work = NULL;
    m->cap_R = m->cap_ctx = m->cap_logits = m->cap_pick = 0; m->itab_n = m->ipaged_work_n = 0;
}

void model_arena_free(mrl_model *m) {
    if (!m->be) return;
    train_arena_free(m);
    infer_arena_free(m);
}

/* mode 0: scoring (two residual buffers, one layer of activations); 1: everything kept;
 * 2: residual stream kept, one layer of activations recomputed in the backward. */
static int train_arena(mrl_model *m, int T, int maxlen, int mode, mrl_err *e) {
    if (m->cap_T >= T && m->cap_mode == mode && m->cap_len >= maxlen) return 0;
    if (m->cap_T > T && m->cap_mode == mode) T = m->cap_T;
    if (m->cap_len > maxlen) maxlen = m->cap_len;
    train_arena_free(m);
    size_t es = mrl_dtype_size(m->be->act), t = T, C = m->C;
    int ok = 1, L = m->L, nla = mode == 1 ? L : 1;
    m->xin = calloc(L + 1, sizeof *m->xin);
    m->la = calloc(nla, sizeof *m->la);
    if (!m->xin || !m->la) return err_set(e, 3, "out of memory");
    if (mode == 0) {
        void *a = talloc(m, t * C * es, &ok), *b = talloc(m, t * C * es, &ok);
        for (int l = 0; l <= L; l++) m->xin[l] = l % 2 ? b : a;
    } else
        for (int l = 0; l <= L; l++) m->xin[l] = talloc(m, t * C * es, &ok);
    for (int l = 0; l < nla; l++) {
        layer_act *a = &m->la[l];
        a->ln1 = talloc(m, t * C * es, &ok); a->rstd1 = talloc(m, t * 4, &ok);
        a->qkv = talloc(m, t * m->QKV * es, &ok); a->att = talloc(m, t * m->HD * es, &ok);
        a->lse = talloc(m, t * m->H * 4, &ok); a->xmid = talloc(m, t * C * es, &ok);
        a->ln2 = talloc(m, t * C * es, &ok); a->rstd2 = talloc(m, t * 4, &ok);
        a->gu = talloc(m, t * 2 * m->F * es, &ok); a->act = talloc(m, t * m->F * es, &ok);
    }
    m->lnf = talloc(m, t * C * es, &ok); m->rstdf = talloc(m, t * 4, &ok);
    m->lse_head = talloc(m, t * 4, &ok); m->logp_d = talloc(m, t * 4, &ok); m->dlogp_d = talloc(m, t * 4, &ok);
    m->tok_d = talloc(m, t * 4, &ok); m->tgt_d = talloc(m, t * 4, &ok); m->pos_d = talloc(m, t * 4, &ok);
    m->cu_d = talloc(m, (t + 1) * 4, &ok);
    if (ok && !(m->cu_h = malloc((t + 1) * 4))) ok = 0;
    if (mode) {
        m->d_a = talloc(m, t * C * es, &ok); m->d_ln = talloc(m, t * C * es, &ok);
        m->d_att = talloc(m, t * m->HD * es, &ok); m->d_qkv = talloc(m, t * m->QKV * es, &ok);
        m->d_gu = talloc(m, t * 2 * m->F * es, &ok); m->d_act = talloc(m, t * m->F * es, &ok);
    }
    m->attn_work_n = op_attention_work(m->be, T, maxlen, m->H, m->D);
    m->head_work_n = op_logprob_work(m->be, T, C, m->V);
    m->attn_work = talloc(m, m->attn_work_n, &ok);
    m->head_work = talloc(m, m->head_work_n, &ok);
    if (!ok) { train_arena_free(m); return err_set(e, 3, "out of memory for %d tokens of activations on %s", T, m->be->name); }
    m->cap_T = T; m->cap_mode = mode; m->cap_len = maxlen;
    return 0;
}

int model_infer_arena(mrl_model *m, int R, int maxctx, size_t tab_entries, int nlogits, mrl_err *e) {
    const mrl_backend *be = m->be;
    size_t es = mrl_dtype_size(be->act);
    int ok = 1;
    if (R > m->cap_R) {
        void **ps[] = {&m->ix, &m->iln, &m->iqkv, &m->iatt, &m->igu, &m->iact};
        size_t w[] = {m->C, m->C, m->QKV, m->HD, 2 * (size_t)m->F, m->F};
        for (int i = 0; i < 6; i++) { be_free(be, *ps[i]); if (!(*ps[i] = be_alloc(be, R * w[i] * es))) ok = 0; }
        int32_t **is[] = {&m->itok, &m->ipos, &m->islot, &m->irow_seq, &m->irow_ctx};
        for (int i = 0; i < 5; i++) { be_free(be, *is[i]); if (!(*is[i] = be_alloc(be, R * 4))) ok = 0; }
        m->cap_R = ok ? R : 0;
    }
    if (nlogits > m->cap_logits) {
        be_free(be, m->ilogits);
        if (!(m->ilogits = be_alloc(be, (size_t)nlogits * m->V * 4))) ok = 0;
        m->cap_logits = ok ? nlogits : 0;
    }
    if (tab_entries > m->itab_n) {
        be_free(be, m->itab);
        if (!(m->itab = be_alloc(be, tab_entries * 4))) ok = 0;
        m->itab_n = ok ? tab_entries : 0;
    }
    size_t pw = op_attention_paged_work(be, R > m->cap_R ? R : m->cap_R, maxctx, m->H, m->D);
    if (pw > m->ipaged_work_n) {
        be_free(be, m->ipaged_work);
        if (!(m->ipaged_work = be_alloc(be, pw))) ok = 0;
        m->ipaged_work_n = ok ? pw : 0;
    }
    if (!ok) { infer_arena_free(m); return err_set(e, 3, "out of memory for decoding buffers on %s", be->name); }
    return 0;
}

/* ---- forward ---- */
void model_layer_fwd(mrl_model *m, int l, const void *x, void *xout, const layer_act *a, int T,
                     const int32_t *pos_d, const int32_t *cu_d, const int32_t *cu_h, int nseq, void *attn_work) {
    const mrl_backend *be = m->be;
    const layer_off *o = &m->lo[l];
    int C = m->C, HD = m->HD, KD = m->K * m->D, QKV = m->QKV;
    size_t rowb = (size_t)T * C * mrl_dtype_size(be->act);
    op_rmsnorm_fwd(be, a->ln1, a->rstd1, x, mw(m, o->ln1), m->wdt, T, C, m->c.rms_norm_eps);
    op_linear_fwd(be, a->qkv, 0, a->ln1, lw(m, o->qkv_w, o->qkv_p), ldt(m, o->qkv_p), mw(m, o->qkv_b), T, C, QKV);
    op_rope(be, a->qkv, T, m->H + m->K, m->D, QKV, pos_d, m->c.rope_theta, 0);   /* q and k: k's heads follow q's */
    op_attention_fwd(be, a->att, a->lse, a->qkv, act_at(m, a->qkv, HD), act_at(m, a->qkv, HD + KD), QKV,
                     cu_d, cu_h, nseq, T, m->H, m->K, m->D, attn_work);
    be_copy(be, a->xmid, x, rowb);
    op_linear_fwd(be, a->xmid, 1, a->att, lw(m, o->o_w, o->o_p), ldt(m, o->o_p), NULL, T, HD, C);
    op_rmsnorm_fwd(be, a->ln2, a->rstd2, a->xmid, mw(m, o->ln2), m->wdt, T, C, m->c.rms_norm_eps);
    op_linear_fwd(be, a->gu, 0, a->ln2, lw(m, o->gu_w, o->gu_p), ldt(m, o->gu_p), NULL, T, C, 2 * m->F);
    op_swiglu_fwd(be, a->act, a->gu, T, m->F);
    be_copy(be, xout, a->xmid, rowb);
    op_linear_fwd(be, xout, 1, a->act, lw(m, o->down_w, o->down_p), ldt(m, o->down_p), NULL, T, m->F, C);
}

/* Checks the batch, then uploads tokens, targets, offsets and positions. */
static int batch_upload(mrl_model *m, const mrl_batch *b, int mode, mrl_err *e) {
    if (!b || b->T <= 0 || b->nseq <= 0 || !b->tokens || !b->targets || !b->cu_seqlens)
        return err_set(e, 2, "model: empty batch");
    if (b->cu_seqlens[0] != 0 || b->cu_seqlens[b->nseq] != b->T)
        return err_set(e, 2, "model: cu_seqlens must run from 0 to T=%d", b->T);
    if (!(b->temperature > 0)) return err_set(e, 2, "model: temperature must be > 0");
    int maxlen = 0;
    for (int s = 0; s < b->nseq; s++) {
        /* compared, not subtracted first: a difference of far-apart offsets overflows an int */
        if (b->cu_seqlens[s + 1] <= b->cu_seqlens[s] || b->cu_seqlens[s + 1] > b->T)
            return err_set(e, 2, "model: sequence %d of the batch is empty or out of order", s);
        int n = b->cu_seqlens[s + 1] - b->cu_seqlens[s];
        if (n > maxlen) maxlen = n;
    }
    for (int t = 0; t < b->T; t++) {
        if (b->tokens[t] < 0 || b->tokens[t] >= m->V)
            return err_set(e, 1, "model: token id %d at position %d is outside the vocabulary (%d)", b->tokens[t], t, m->V);
        if (b->targets[t] < -1 || b->targets[t] >= m->V)
            return err_set(e, 1, "model: target id %d at position %d is outside the vocabulary (%d)", b->targets[t], t, m->V);
    }
    if (train_arena(m, b->T, maxlen, mode, e) < 0) return -1;
    int32_t *pos = malloc((size_t)b->T * 4);
    if (!pos) return err_set(e, 3, "out of memory");
    for (int s = 0; s < b->nseq; s++)
        for (int t = b->cu_seqlens[s]; t < b->cu_seqlens[s + 1]; t++) pos[t] = t - b->cu_seqlens[s];
    be_upload(m->be, m->tok_d, b->tokens, (size_t)b->T * 4);
    be_upload(m->be, m->tgt_d, b->targets, (size_t)b->T * 4);
    be_upload(m->be, m->cu_d, b->cu_seqlens, (size_t)(b->nseq + 1) * 4);
    memcpy(m->cu_h, b->cu_seqlens, (size_t)(b->nseq + 1) * 4);
    be_upload(m->be, m->pos_d, pos, (size_t)b->T * 4);
    be_sync(m->be);
    free(pos);
    m->fw_T = b->T; m->fw_nseq = b->nseq; m->fw_maxlen = maxlen;
    m->fw_inv_temp = 1.0f / b->temperature;
    return 0;
}

static int forward(mrl_model *m, const mrl_batch *b, float *logp, int mode, mrl_err *e) {
    be_tick(m->be);   /* the threads for this pass (fewer while other processes keep CPUs busy) */
    m->fw_ready = 0;
    if (batch_upload(m, b, mode, e) < 0) return -1;
    const mrl_backend *be = m->be;
    int T = b->T;
    op_embedding_fwd(be, m->xin[0], m->tok_d, lw(m, m->off_embed, m->embed_p), ldt(m, m->embed_p), T, m->C);
    for (int l = 0; l < m->L; l++)
        model_layer_fwd(m, l, m->xin[l], m->xin[l + 1], &m->la[mode == 1 ? l : 0], T, m->pos_d, m->cu_d,
                        m->cu_h, b->nseq, m->attn_work);
    op_rmsnorm_fwd(be, m->lnf, m->rstdf, m->xin[m->L], mw(m, m->off_norm), m->wdt, T, m->C, m->c.rms_norm_eps);
    op_logprob_fwd(be, m->logp_d, m->lse_head, m->lnf, lw(m, m->off_head, m->head_p), ldt(m, m->head_p), m->tgt_d, T, m->C, m->V,
                   m->fw_inv_temp, m->head_work);
    be_download(be, logp, m->logp_d, (size_t)T * 4);
    return 0;
}

int model_logprobs(mrl_model *m, const mrl_batch *b, float *logp, mrl_err *e) {
    /* reuse a training arena that is big enough rather than reallocating */
    int mode = m->cap_mode && m->cap_T >= (b ? b->T : 0) ? m->cap_mode : 0;
    return forward(m, b, logp, mode, e);
}

int model_forward(mrl_model *m, const mrl_batch *b, float *logp, mrl_err *e) {
    if (!m->grad) return err_set(e, 2, "model_forward: the model was not loaded trainable");
    if (forward(m, b, logp, m->o.grad_checkpoint ? 2 : 1, e) < 0) return -1;
    m->fw_ready = 1;
    return 0;
}

/* ---- backward ---- */
int model_backward(mrl_model *m, const float *dlogp, mrl_err *e) {
    if (!m->fw_ready) return err_set(e, 2, "model_backward: no model_forward to go back through");
    m->fw_ready = 0;
    be_tick(m->be);
    const mrl_backend *be = m->be;
    int T = m->fw_T, C = m->C, F = m->F, HD = m->HD, KD = m->K * m->D, QKV = m->QKV, ckpt = m->cap_mode == 2;
    be_upload(be, m->dlogp_d, dlogp, (size_t)T * 4);
    op_logprob_bwd(be, m->d_ln, mg(m, m->off_head), m->dlogp_d, m->lse_head, m->lnf, mw(m, m->off_head), m->wdt,
                   m->tgt_d, T, C, m->V, m->fw_inv_temp, m->head_work);
    op_rmsnorm_bwd(be, m->d_a, 0, mg(m, m->off_norm), m->d_ln, m->xin[m->L], mw(m, m->off_norm), m->wdt, m->rstdf, T, C);
    /* dx: the gradient of the residual stream, updated in place: layer l's output gradient, then
       plus the MLP norm's input gradient (the gradient at xmid), then plus the attention norm's
       (at the layer's input); each is only read before the next is added */
    void *dx = m->d_a;
    for (int l = m->L - 1; l >= 0; l--) {
        const layer_off *o = &m->lo[l];
        const layer_act *a = &m->la[ckpt ? 0 : l];
        if (ckpt && l < m->L - 1)   /* the shared buffers hold layer L-1; recompute this one */
            model_layer_fwd(m, l, m->xin[l], m->xin[l + 1], a, T, m->pos_d, m->cu_d, m->cu_h, m->fw_nseq, m->attn_work);
        op_linear_bwd(be, m->d_act, 0, mg(m, o->down_w), NULL, dx, a->act, mw(m, o->down_w), m->wdt, T, F, C);
        op_swiglu_bwd(be, m->d_gu, m->d_act, a->gu, T, F);
        op_linear_bwd(be, m->d_ln, 0, mg(m, o->gu_w), NULL, m->d_gu, a->ln2, mw(m, o->gu_w), m->wdt, T, C, 2 * F);
        op_rmsnorm_bwd(be, dx, 1, mg(m, o->ln2), m->d_ln, a->xmid, mw(m, o->ln2), m->wdt, a->rstd2, T, C);
        op_linear_bwd(be, m->d_att, 0, mg(m, o->o_w), NULL, dx, a->att, mw(m, o->o_w), m->wdt, T, HD, C);
        op_attention_bwd(be, m->d_qkv, act_at(m, m->d_qkv, HD), act_at(m, m->d_qkv, HD + KD), QKV, m->d_att,
                         a->qkv, act_at(m, a->qkv, HD), act_at(m, a->qkv, HD + KD), QKV, a->att, a->lse,
                         m->cu_d, m->cu_h, m->fw_nseq, T, m->H, m->K, m->D, m->attn_work);
        op_rope(be, m->d_qkv, T, m->H + m->K, m->D, QKV, m->pos_d, m->c.rope_theta, 1);   /* dq and dk */
        op_linear_bwd(be, m->d_ln, 0, mg(m, o->qkv_w), mg(m, o->qkv_b), m->d_qkv, a->ln1, mw(m, o->qkv_w), m->wdt,
                      T, C, QKV);
        op_rmsnorm_bwd(be, dx, 1, mg(m, o->ln1), m->d_ln, m->xin[l], mw(m, o->ln1), m->wdt, a->rstd1, T, C);
    }
    op_embedding_bwd(be, mg(m, m->off_embed), m->tok_d, dx, T, C);
    be_sync(be);
    return 0;
}
