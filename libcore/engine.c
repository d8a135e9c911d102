/* engine.c — msample's scheduler: admit (prefill a group, fork its samples) while slots
 * and KV reservations allow, decode every running sequence in one batched step, retire, emit in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "engine.h"
#include "ops.h"
#include "rng.h"
#include "stopstr.h"

typedef struct eng_seq {
    eng_sample out;
    int state;            /* 0 not started, 1 running, 2 done */
    int kv;
    mrl_rng rng;
    int cap;              /* of out.ids / out.logprobs */
    size_t tcap;          /* of out.text */
    int32_t next;         /* sampled token not yet in the KV cache */
    long stop_at;         /* offset of a stop string in text, -1 none */
    size_t stop_len;
    int max_n;            /* --max-tokens, or fewer where the model's context ends first */
    long res;             /* KV tokens reserved for it while it runs */
} eng_seq;

typedef struct eng_group {
    eng_problem p;
    int prompt_kv;        /* -1 once every sample has been forked */
    float *logits;        /* last prompt position, until every sample has been forked */
    long reserved;        /* KV tokens reserved for the prompt */
    long sample_res;      /* and for each running sample: its max_n rounded up, plus a block */
    int started, finished;
    eng_seq *s;
} eng_group;

typedef struct eng {
    int oom;                 /* a sequence's buffers could not grow (eng_push, maybe on a worker
                                thread): the run ends with "out of memory" after the step */
    mrl_model *m;
    const mrl_tok *tok;
    const eng_opts *o;
    const eng_io *io;
    eng_stats *st;
    kv_cache *kv;
    int V, bt;
    int ctx;              /* the model's context (max_position_embeddings) */
    int max_new;          /* tokens a sample may get: --max-tokens, or ctx where that is shorter */
    long cap, reserved, sample_res;   /* sample_res: the most a sample reserves (max_new's) */
    uint8_t *skip;        /* per id: 1 = no text (special tokens), 2 = EOS */
    stop_set *stops;
    eng_group **win;      /* groups in input order */
    int nwin, capwin;
    int admit_from;       /* first window slot that may still have unstarted samples */
    eng_seq **run;        /* running sequences */
    int nrun;
    eng_problem held;     /* read but not yet admitted (waiting for KV room) */
    int has_held;
    smp_ws **ws;          /* one per thread */
    int nws;
    int pick;             /* decode steps draw on the device (model_pick) */
    mrl_pick *picks;      /* their tokens, one per running sequence */
    double *us;           /* their uniforms */
} eng;

void eng_defaults(eng_opts *o) {
    memset(o, 0, sizeof *o);
    o->n = 1;
    smp_defaults(&o->sp);
    o->max_tokens = 256;
    o->batch = 16;
    o->block_tokens = 16;
    o->kv_dtype = KV_AUTO;
}

static long round_up(long x, long b) { return (x + b - 1) / b * b; }

/* Which ids produce no completion text: EOS (ends the completion) and tokens that a
 * decode with skip_special drops (same rule as vLLM's skip_special_tokens default). */
static int eng_skip_table(eng *g, mrl_err *e) {
    const mrl_config *c = model_config(g->m);
    if (!(g->skip = calloc(g->V, 1))) return err_set(e, 3, "out of memory");
    int tv = tok_vocab_size(g->tok);
    for (int32_t id = 0; id < g->V; id++) {
        size_t len = 0;
        if (id >= tv || !tok_piece(g->tok, id, &len) || !len) { g->skip[id] = 1; continue; }
        size_t dl = 0;
        char *d = tok_decode(g->tok, &id, 1, 1, &dl);
        if (d && !dl) g->skip[id] = 1;   /* no text (a skipped special); the 0x00 byte token is text */
        free(d);
    }
    for (int i = 0; i < c->n_eos; i++)
        if (c->eos_ids[i] >= 0 && c->eos_ids[i] < g->V) g->skip[c->eos_ids[i]] = 2;
    return 0;
}

/* A sequence whose buffers could not grow ends where it is; the run ends with "out of memory"
 * after the step (eng_push may run on a worker thread). */
static void eng_oom(eng *g, eng_seq *q) {
    __atomic_store_n(&g->oom, 1, __ATOMIC_RELAXED);
    q->state = 2; q->out.finish = ENG_LENGTH;
}

/* Appends one sampled token to a sequence and decides whether it ends there. */
static void eng_push(eng *g, eng_seq *q, int32_t t, float lp) {
    eng_sample *o = &q->out;
    if (o->n == q->cap) {
        int cap = q->cap ? 2 * q->cap : 64;
        int32_t *ids = realloc(o->ids, cap * sizeof *o->ids);
        if (ids) o->ids = ids;
        float *lps = ids ? realloc(o->logprobs, cap * sizeof *o->logprobs) : NULL;
        if (!lps) { eng_oom(g, q); return; }
        o->logprobs = lps;
        q->cap = cap;
    }
    o->ids[o->n] = t;
    o->logprobs[o->n++] = lp;
    q->next = t;
    if (g->skip[t] == 2) { q->state = 2; o->finish = ENG_STOP; return; }
    size_t len = 0;
    const char *piece = g->skip[t] ? NULL : tok_piece(g->tok, t, &len);
    if (piece && len) {
        size_t prev = o->text_len;
        if (prev + len + 1 > q->tcap) {
            size_t tcap = 2 * (prev + len + 1) + 64;
            char *text = realloc(o->text, tcap);
            if (!text) { eng_oom(g, q); return; }
            o->text = text;
            q->tcap = tcap;
        }
        memcpy(o->text + prev, piece, len);
        o->text_len += len;
        o->text[o->text_len] = 0;
        long at = stop_find(g->stops, o->text, o->text_len, prev, &q->stop_len);
        if (at >= 0) {
            q->stop_at = at;
            o->text_len = (size_t)at + (g->o->include_stop ? q->stop_len : 0);
            o->text[o->text_len] = 0;
            q->state = 2; o->finish = ENG_STOP;
            return;
        }
    }
    if (o->n >= q->max_n) { q->state = 2; o->finish = ENG_LENGTH; }
}

static void eng_group_free(eng_group *gr, int G) {
    if (!gr) return;
    for (int i = 0; gr->s && i < G; i++) {   /* s is NULL when eng_open_group's allocation failed */
        free(gr->s[i].out.ids);
        free(gr->s[i].out.logprobs);
        free(gr->s[i].out.text);
    }
    free(gr->s);
    free(gr->logits);
    free(gr->p.prompt);
    free(gr);
}

/* A sequence finished: return its KV blocks and reservation. */
static void eng_retire(eng *g, eng_group *gr, eng_seq *q) {
    if (q->kv >= 0) kv_seq_free(g->kv, q->kv);
    q->kv = -1;
    gr->finished++;
    g->st->samples_done++;
    if (gr->finished == g->o->n) {
        g->reserved -= gr->reserved;
        gr->reserved = 0;
    }
}

/* Emits complete groups from the front of the window, in input order. With `all`
 * (after an interruption) every complete group goes out and incomplete ones stay
 * in the window for eng_cleanup to drop. */
static int eng_emit_front(eng *g, int all, mrl_err *e) {
    int G = g->o->n, k = 0, w = 0, rc = 0;
    while (w < g->nwin && rc == 0) {
        eng_group *gr = g->win[w];
        if (gr->finished < G) {
            if (!all) break;
            g->win[k++] = gr;
            w++;
            continue;
        }
        eng_sample *ss = malloc(G * sizeof *ss);
        if (!ss) { rc = err_set(e, 3, "out of memory"); break; }
        for (int i = 0; i < G; i++) ss[i] = gr->s[i].out;
        rc = g->io->emit(g->io->ctx, &gr->p, ss, G, e);
        free(ss);
        if (rc == 0) g->st->problems_done++;
        eng_group_free(gr, G);
        w++;
    }
    if (g->nwin > w) memmove(g->win + k, g->win + w, (g->nwin - w) * sizeof *g->win);   /* win may be NULL when empty */
    g->nwin = k + g->nwin - w;
    g->admit_from = 0;    /* rescanned by eng_admit; the window is short */
    return rc < 0 ? -1 : 0;
}

/* Prefills a problem into a new group. 1 done, 0 no room yet, -1 error, -2 when this
 * problem can never fit (e set). */
static int eng_open_group(eng *g, eng_problem *p, mrl_err *e) {
    int ctx = g->ctx;
    for (int i = 0; i < p->nprompt; i++)   /* a tokenizer larger than the model's vocabulary */
        if (p->prompt[i] < 0 || p->prompt[i] >= g->V) {
            err_set(e, 1, "%s%sprompt token %d is id %d, outside the model's vocabulary (vocab_size %d in "
                           "config.json; the tokenizer has %d tokens)", p->where ? p->where : "",
                    p->where ? ": " : "", i, (int)p->prompt[i], g->V, g->tok ? tok_vocab_size(g->tok) : -1);
            return -2;
        }
    if (p->nprompt >= ctx) {   /* as vLLM: the prompt must leave room for a token */
        err_set(e, 1, "%s%sa prompt of %d tokens does not fit the model's context of %d "
                       "(max_position_embeddings)", p->where ? p->where : "", p->where ? ": " : "", p->nprompt, ctx);
        return -2;
    }
    /* a sample ends ("length") at --max-tokens or where the context does, whichever is first;
       so it never needs more KV than that (a long prompt leaves less of the context) */
    int max_n = ctx - p->nprompt < g->max_new ? ctx - p->nprompt : g->max_new;
    long pres = round_up(p->nprompt, g->bt) + g->bt, sres = round_up(max_n, g->bt) + g->bt;
    if (pres + sres > g->cap) {
        err_set(e, 1, "%s%sa prompt of %d tokens plus --max-tokens %d%s needs %ld KV tokens, "
                       "but --kv-mem holds only %ld%s: raise --kv-mem or lower --max-tokens",
                       p->where ? p->where : "", p->where ? ": " : "",
                       p->nprompt, max_n, max_n < g->o->max_tokens ? " (cut to the model's context)" : "",
                       pres + sres, g->cap,
                       g->o->kv_mem ? "" : " (the default, sized for prompts of up to 4096 tokens)");
        return -2;
    }
    if (g->reserved + pres + sres > g->cap) return 0;
    int seq = kv_seq_new(g->kv);
    if (seq < 0) return 0;
    eng_group *gr = calloc(1, sizeof *gr);
    if (!gr) { kv_seq_free(g->kv, seq); return err_set(e, 3, "out of memory"); }
    gr->s = calloc(g->o->n, sizeof *gr->s);
    gr->logits = malloc((size_t)g->V * sizeof *gr->logits);
    if (!gr->s || !gr->logits) { kv_seq_free(g->kv, seq); eng_group_free(gr, g->o->n); return err_set(e, 3, "out of memory"); }
    gr->p = *p;
    gr->prompt_kv = seq;
    if (model_prefill(g->m, g->kv, seq, p->prompt, p->nprompt, gr->logits, e) < 0) {
        kv_seq_free(g->kv, seq);
        gr->p.prompt = NULL;     /* still owned by the caller's *p */
        eng_group_free(gr, g->o->n);
        return -1;
    }
    gr->reserved = pres;
    gr->sample_res = sres;
    g->reserved += pres;
    for (int i = 0; i < g->o->n; i++) { gr->s[i].kv = -1; gr->s[i].stop_at = -1; gr->s[i].max_n = max_n; }
    if (g->nwin == g->capwin) {
        int capwin = g->capwin ? 2 * g->capwin : 16;
        eng_group **win = realloc(g->win, capwin * sizeof *g->win);
        if (!win) {   /* undone as the allocation failure above */
            g->reserved -= pres;
            gr->p.prompt = NULL;   /* still owned by the caller's *p */
            kv_seq_free(g->kv, seq); eng_group_free(gr, g->o->n); return err_set(e, 3, "out of memory");
        }
        g->win = win; g->capwin = capwin;
    }
    g->win[g->nwin++] = gr;
    g->st->problems_in++;
    g->st->prompt_tokens += p->nprompt;
    return 1;
}

/* Starts sample i of a group: fork the prompt, draw the first token from the prompt's
 * logits with the sample's own stream. 1 started, 0 no room. */
static int eng_start_sample(eng *g, eng_group *gr) {
    if (g->reserved + gr->sample_res > g->cap) return 0;
    int kv = kv_fork(g->kv, gr->prompt_kv);
    if (kv < 0) return 0;
    int i = gr->started++;
    eng_seq *q = &gr->s[i];
    q->kv = kv;
    q->state = 1;
    rng_init(&q->rng, g->o->seed, gr->p.key, (uint64_t)i);
    float lp;
    int32_t t = smp_sample(g->ws[0], &g->o->sp, gr->logits, g->V, &q->rng, &lp);
    eng_push(g, q, t, lp);
    g->st->gen_tokens++;
    if (gr->started == g->o->n) {
        kv_seq_free(g->kv, gr->prompt_kv);   /* the forks keep the shared blocks alive */
        gr->prompt_kv = -1;
        free(gr->logits);
        gr->logits = NULL;
    }
    if (q->state == 2) { eng_retire(g, gr, q); return 1; }
    q->res = gr->sample_res;
    g->reserved += q->res;
    g->run[g->nrun++] = q;
    return 1;
}

/* Fills free slots. Returns -1 on a fatal error; sets *ferr on a feed error. */
static int eng_admit(eng *g, int *eof, int *ferr, mrl_err *fe, mrl_err *e) {
    while (g->nrun < g->o->batch) {
        eng_group *gr = NULL;
        while (g->admit_from < g->nwin) {
            eng_group *c = g->win[g->admit_from];
            if (c->started < g->o->n) { gr = c; break; }
            g->admit_from++;
        }
        if (gr) {
            if (!eng_start_sample(g, gr)) return 0;
            continue;
        }
        if (!g->has_held) {
            if (*eof || *ferr) return 0;
            if (g->nrun > 0 && g->io->would_block && g->io->would_block(g->io->ctx)) return 0;
            if (g->nrun == 0 && eng_emit_front(g, 0, e) < 0) return -1;   /* the read may wait: what is whole goes out first */
            int r = g->io->feed(g->io->ctx, &g->held, fe);
            if (r == 2) continue;   /* records skipped, none in hand yet: decode on if the input would wait */
            if (r == 0) { *eof = 1; return 0; }
            if (r < 0) { *ferr = 1; return 0; }
            g->has_held = 1;
        }
        int r = eng_open_group(g, &g->held, e);
        if (r == -2) {
            int skip = g->io->reject && g->io->reject(g->io->ctx, e) == 0;
            if (!skip) { *fe = *e; *ferr = 1; }   /* earlier groups still finish and go out before this error */
            if (g->io->drop) g->io->drop(g->io->ctx, &g->held);
            free(g->held.prompt);
            g->has_held = 0;
            if (skip) continue;
            return 0;
        }
        if (r < 0) return -1;
        if (r == 0) return 0;
        g->has_held = 0;
    }
    return 0;
}

static int eng_step_picked(eng *g, int32_t *toks, int *seqs, float *row, mrl_err *e);
static void eng_retire_done(eng *g);

/* One batched decode step over every running sequence; retires the finished ones. */
static int eng_step(eng *g, int32_t *toks, int *seqs, float *logits, mrl_err *e) {
    int B = g->nrun;
    for (int b = 0; b < B; b++) { seqs[b] = g->run[b]->kv; toks[b] = g->run[b]->next; }
    if (g->pick) return eng_step_picked(g, toks, seqs, logits, e);
    if (model_decode(g->m, g->kv, seqs, toks, B, logits, e) < 0) return -1;
    /* threads only pay off on real vocabularies: a parallel region costs more than a small row */
    int nt = model_backend(g->m)->threads < g->nws ? model_backend(g->m)->threads : g->nws;   /* be_tick's count */
    #pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (B > 1 && (long)B * g->V >= (1L << 17))
    for (int b = 0; b < B; b++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        eng_seq *q = g->run[b];
        float lp;
        int32_t t = smp_sample(g->ws[tid < g->nws ? tid : 0], &g->o->sp,
                               logits + (size_t)b * g->V, g->V, &q->rng, &lp);
        eng_push(g, q, t, lp);
    }
    eng_retire_done(g);
    return 0;
}

/* A decode step whose tokens the device draws: each sequence's uniform is taken from its
 * stream before the step (one per token, as smp_sample takes it), the device picks every
 * row, and only a row it leaves to the host (no finite max) comes down whole. */
static int eng_step_picked(eng *g, int32_t *toks, int *seqs, float *row, mrl_err *e) {
    int B = g->nrun;
    const smp_params *sp = &g->o->sp;
    int greedy = smp_is_greedy(sp);
    for (int b = 0; b < B; b++) g->us[b] = greedy ? 0.0 : rng_uniform(&g->run[b]->rng);
    if (model_decode(g->m, g->kv, seqs, toks, B, NULL, e) < 0) return -1;
    if (model_pick(g->m, B, g->us, greedy ? 1.0f : 1.0f / sp->temperature, greedy, g->picks, e) < 0) return -1;
    for (int b = 0; b < B; b++) {
        const mrl_pick *k = &g->picks[b];
        int32_t t;
        float lp;
        if (k->flag) {
            model_logits_row(g->m, b, row);
            t = smp_sample_u(g->ws[0], sp, row, g->V, g->us[b], &lp);
        } else {
            t = k->tok;
            lp = smp_pick_logprob(sp, k->logit, k->max, k->Z);
            g->st->picked++;
        }
        eng_push(g, g->run[b], t, lp);
    }
    eng_retire_done(g);
    return 0;
}

/* After a step: counts its tokens and retires the sequences it finished. */
static void eng_retire_done(eng *g) {
    int B = g->nrun;
    g->st->gen_tokens += B;
    int k = 0;
    for (int b = 0; b < B; b++) {
        eng_seq *q = g->run[b];
        if (q->state != 2) { g->run[k++] = q; continue; }
        g->reserved -= q->res;
        /* find its group: the window is short, and retirements are rare per step */
        for (int w = 0; w < g->nwin; w++) {
            eng_group *gr = g->win[w];
            if (q >= gr->s && q < gr->s + g->o->n) { eng_retire(g, gr, q); break; }
        }
    }
    g->nrun = k;
}

static void eng_cleanup(eng *g) {
    for (int w = 0; w < g->nwin; w++) {
        eng_group *gr = g->win[w];
        if (g->io->drop) g->io->drop(g->io->ctx, &gr->p);
        eng_group_free(gr, g->o->n);
    }
    if (g->has_held) { if (g->io->drop) g->io->drop(g->io->ctx, &g->held); free(g->held.prompt); }
    free(g->win);
    free(g->run);
    for (int i = 0; g->ws && i < g->nws; i++) { g->st->broken_rows += smp_broken(g->ws[i]); smp_ws_free(g->ws[i]); }
    free(g->ws);
    free(g->skip);
    stop_free(g->stops);
    kv_free(g->kv);
}

/* Bytes of KV per token, measured on a small pool (backends differ in element size). */
static double eng_kv_bytes_per_token(mrl_model *m, int bt, int kvdt, mrl_err *e) {
    size_t probe = (size_t)64 << 20;
    kv_cache *kv = kv_create(m, probe, bt, kvdt, e);
    if (!kv) return -1;
    long cap = kv_capacity_tokens(kv);
    kv_free(kv);
    return cap > 0 ? (double)probe / (double)cap : -1;
}

int eng_run(mrl_model *m, const mrl_tok *tok, const eng_opts *o, const eng_io *io,
            eng_stats *st, mrl_err *e) {
    eng g = {0};
    g.m = m; g.tok = tok; g.o = o; g.io = io; g.st = st;
    memset(st, 0, sizeof *st);
    g.V = model_config(m)->vocab_size;
    g.bt = o->block_tokens > 0 ? o->block_tokens : 16;
    g.ctx = model_config(m)->max_position_embeddings;
    g.max_new = o->max_tokens < g.ctx ? o->max_tokens : g.ctx;
    g.sample_res = round_up(g.max_new, g.bt) + g.bt;   /* a sample's KV reservation */
    size_t bytes = o->kv_mem;
    if (!bytes) {
        double bpt = eng_kv_bytes_per_token(m, g.bt, o->kv_dtype, e);
        if (bpt <= 0) return -1;
        long groups = (o->batch + o->n - 1) / o->n + 2;
        bytes = (size_t)(bpt * ((double)o->batch * g.sample_res + groups * 4096.0));
    }
    if (!(g.kv = kv_create(m, bytes, g.bt, o->kv_dtype, e))) {
        /* a size the user never gave (--batch 256 of --max-tokens 32768: 240 GB for the 1.5B): say
           where it came from and what lowers it */
        if (!o->kv_mem && e && e->code == ERR_SYS) {
            size_t n = strlen(e->msg);
            snprintf(e->msg + n, sizeof e->msg - n, " (the default --kv-mem: --batch %d whole samples of %d tokens; "
                     "give a smaller --kv-mem, --batch or --max-tokens)", o->batch, g.max_new);
        }
        return -1;
    }
    g.cap = kv_capacity_tokens(g.kv);
    g.nws = 1;
#ifdef _OPENMP
    g.nws = model_backend(m)->threads_max > 0 ? model_backend(m)->threads_max   /* the sampling loop keeps to */
                                               : omp_get_max_threads();          /* the model's --threads */
#endif
    g.ws = calloc(g.nws, sizeof *g.ws);
    g.run = calloc(o->batch, sizeof *g.run);
    g.stops = stop_new(o->stops, o->nstops);
    int ws_ok = g.ws != NULL;
    for (int i = 0; ws_ok && i < g.nws; i++) if (!(g.ws[i] = smp_ws_new(g.V))) ws_ok = 0;
    /* the device draws the tokens of untruncated sampling and greedy decoding; top-k, top-p
       and min-p stay with the host sampler */
    g.pick = o->device_sampling && model_can_pick(m) && !smp_is_truncating(&o->sp, g.V) &&
             (model_backend(m)->kind != MRL_DEV_CPU || o->device_sampling == 2);
    if (g.pick) {
        g.picks = malloc(o->batch * sizeof *g.picks);
        g.us = malloc(o->batch * sizeof *g.us);
        if (!g.picks || !g.us) ws_ok = 0;
    }
    int32_t *toks = malloc(o->batch * sizeof *toks);
    int *seqs = malloc(o->batch * sizeof *seqs);
    float *logits = malloc((size_t)(g.pick ? 1 : o->batch) * g.V * sizeof *logits);   /* picked: one row, a fallback */
    int rc = 0, eof = 0, ferr = 0;
    mrl_err fe = {0};
    if (!ws_ok || !g.run || !g.stops || !toks || !seqs || !logits) { rc = err_set(e, 3, "out of memory"); goto out; }
    if (eng_skip_table(&g, e) < 0) { rc = -1; goto out; }
    long long last_gen = -1;
    long last_in = -1;
    for (;;) {
        if (io->interrupted && io->interrupted(io->ctx)) {
            rc = eng_emit_front(&g, 1, e) < 0 ? -1 : 1;
            break;
        }
        if (eng_admit(&g, &eof, &ferr, &fe, e) < 0) { rc = -1; break; }
        if (g.nrun > 0 && eng_step(&g, toks, seqs, logits, e) < 0) { rc = -1; break; }
        if (g.oom) { rc = err_set(e, 3, "out of memory"); break; }   /* a sequence that could not grow */
        if (eng_emit_front(&g, 0, e) < 0) { rc = -1; break; }
        st->running = g.nrun;
        if (io->progress) io->progress(io->ctx, st);
        if (g.nrun == 0 && g.nwin == 0 && !g.has_held && (eof || ferr)) break;
        if (g.nrun == 0 && st->gen_tokens == last_gen && st->problems_in == last_in) {
            /* nothing runs and nothing could be admitted: the cache refused a
             * sequence that the reservations said would fit */
            rc = err_set(e, 1, "the KV cache refused a new sequence (%ld of %ld tokens reserved)",
                         g.reserved, g.cap);
            break;
        }
        last_gen = st->gen_tokens;
        last_in = st->problems_in;
    }
    if (rc == 0 && ferr) { *e = fe; rc = -1; }
out:
    free(toks); free(seqs); free(logits); free(g.picks); free(g.us);
    eng_cleanup(&g);
    return rc;
}
