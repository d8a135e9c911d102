/* cpu_ops.h — the CPU backend's op functions (one per entry of mrl_ops in ops.h). */
#ifndef MRL_CPU_OPS_H
#define MRL_CPU_OPS_H
#include "ops.h"
void cpu_cast(const mrl_backend *be, void *dst, mrl_dtype dt, const void *src, mrl_dtype st, size_t n);
void cpu_embedding_fwd(const mrl_backend *be, void *out, const int32_t *tokens, const void *wte, mrl_dtype wdt, int T, int C);
void cpu_embedding_bwd(const mrl_backend *be, float *dwte, const int32_t *tokens, const void *dout, int T, int C);
void cpu_rmsnorm_fwd(const mrl_backend *be, void *out, float *rstd, const void *inp, const void *w, mrl_dtype wdt, int T, int C, float eps);
void cpu_rmsnorm_bwd(const mrl_backend *be, void *dinp, int acc, float *dw, const void *dout, const void *inp, const void *w, mrl_dtype wdt, const float *rstd, int T, int C);
void cpu_linear_fwd(const mrl_backend *be, void *out, int acc, const void *inp, const void *w, mrl_dtype wdt, const void *bias, int T, int IN, int OUT);
void cpu_linear_bwd(const mrl_backend *be, void *dinp, int acc, float *dw, float *db, const void *dout, const void *inp, const void *w, mrl_dtype wdt, int T, int IN, int OUT);
void cpu_rope(const mrl_backend *be, void *x, int T, int H, int D, int stride, const int32_t *pos, float theta, int inverse);
size_t cpu_attention_work(const mrl_backend *be, int T, int maxlen, int H, int D);
void cpu_attention_fwd(const mrl_backend *be, void *out, float *lse, const void *q, const void *k, const void *v, int qkv_stride, const int32_t *cu_seqlens, const int32_t *cu_host, int nseq, int T, int H, int Hkv, int D, void *work);
void cpu_attention_bwd(const mrl_backend *be, void *dq, void *dk, void *dv, int dqkv_stride, const void *dout, const void *q, const void *k, const void *v, int qkv_stride, const void *out, const float *lse, const int32_t *cu_seqlens, const int32_t *cu_host, int nseq, int T, int H, int Hkv, int D, void *work);
void cpu_kv_write(const mrl_backend *be, void *kpool, void *vpool, mrl_dtype kvdt, const void *k, const void *v, int stride, const int32_t *slots, int n, int Hkv, int D);
size_t cpu_attention_paged_work(const mrl_backend *be, int R, int maxctx, int H, int D);
void cpu_attention_paged(const mrl_backend *be, void *out, const void *q, int q_stride, const void *kpool, const void *vpool, mrl_dtype kvdt, const int32_t *block_tables, int max_blocks, int block_tokens, const int32_t *row_seq, const int32_t *row_ctx, int R, int H, int Hkv, int D, void *work);
void cpu_swiglu_fwd(const mrl_backend *be, void *out, const void *gu, int T, int F);
void cpu_swiglu_bwd(const mrl_backend *be, void *dgu, const void *dout, const void *gu, int T, int F);
void cpu_add(const mrl_backend *be, void *out, const void *a, const void *b, size_t n);
size_t cpu_logprob_work(const mrl_backend *be, int T, int C, int V);
void cpu_logprob_fwd(const mrl_backend *be, float *logp, float *lse, const void *x, const void *w, mrl_dtype wdt, const int32_t *targets, int T, int C, int V, float inv_temp, void *work);
void cpu_logprob_bwd(const mrl_backend *be, void *dx, float *dw, const float *dlogp, const float *lse, const void *x, const void *w, mrl_dtype wdt, const int32_t *targets, int T, int C, int V, float inv_temp, void *work);
void cpu_logits(const mrl_backend *be, float *logits, const void *x, const void *w, mrl_dtype wdt, int T, int C, int V);
size_t cpu_sample_rows_work(const mrl_backend *be, int B, int V);
void cpu_sample_rows(const mrl_backend *be, mrl_pick *out, const float *logits, const double *u, int B, int V, float inv_temp, int greedy, void *work);
void cpu_adamw(const mrl_backend *be, float *w, const float *g, float *m, float *v, void *wcopy, mrl_dtype cdt, size_t n, const mrl_adamw_step *s);
double cpu_sumsq(const mrl_backend *be, const float *x, size_t n);
void cpu_scale(const mrl_backend *be, float *x, size_t n, float s);
#endif
