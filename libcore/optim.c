/* optim.c — AdamW / SGD over the model's parameters through the backend ops (so the update
 * runs where the weights live), HF learning-rate schedules, and the optimizer state files. */
#include "optim.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "safetensors.h"

struct optim {
    const mrl_backend *be;
    mrl_param *params;
    int n;
    optim_opts o;
    float **m, **v;    /* AdamW moments per parameter, backend memory */
    long step;
};

int optim_parse_kind(const char *s) {
    return !s ? -1 : !strcmp(s, "adamw") ? OPTIM_ADAMW : !strcmp(s, "sgd") ? OPTIM_SGD : -1;
}
static const char *const sched_names[] = {"constant", "linear", "cosine", "cosine_with_min_lr", "constant_with_warmup"};
enum { NSCHED = sizeof sched_names / sizeof *sched_names };
int sched_parse(const char *s) {
    for (int i = 0; s && i < NSCHED; i++)
        if (!strcmp(s, sched_names[i])) return i;
    return -1;
}
const char *sched_name(sched_kind k) { return (unsigned)k < NSCHED ? sched_names[k] : "?"; }

long sched_warmup_steps(double warmup, long total) {
    if (warmup <= 0) return 0;
    if (warmup < 1) return (long)ceil(warmup * (double)total);
    return (long)warmup;
}

double sched_factor(const sched_opts *s, long step) {
    long k = step - 1, w = s->warmup, T = s->total;
    if (k < 0) k = 0;
    if (s->kind == SCHED_CONSTANT) return 1.0;   /* transformers' "constant": no warmup */
    /* past the schedule's end (the HF Trainer stops at max_steps, mgrpo may go on) the factor
       keeps its last value, lambda(total): transformers' cosine would rise again towards the
       peak, and a warmup longer than the schedule would go on warming up */
    if (T > 0 && k > T) k = T;
    if (k < w) return (double)k / (double)(w > 1 ? w : 1);
    double progress = (double)(k - w) / (double)(T - w > 1 ? T - w : 1);
    if (progress > 1) progress = 1;
    switch (s->kind) {
    case SCHED_CONSTANT: case SCHED_CONSTANT_WARMUP: return 1.0;
    case SCHED_LINEAR: { double f = (double)(T - k) / (double)(T - w > 1 ? T - w : 1); return f > 0 ? f : 0; }
    case SCHED_COSINE: { double f = 0.5 * (1.0 + cos(M_PI * 0.5 * 2.0 * progress)); return f > 0 ? f : 0; }
    case SCHED_COSINE_MIN_LR: {
        double f = 0.5 * (1.0 + cos(M_PI * 0.5 * 2.0 * progress));
        f = f * (1.0 - s->min_lr_rate) + s->min_lr_rate;
        return f > 0 ? f : 0;
    }
    }
    return 1.0;
}

/* HF Trainer's get_decay_parameter_names: no decay for biases and normalisation weights. */
static int decays(const char *name) {
    return !strstr(name, "bias") && !strstr(name, "norm");
}

optim *optim_create(const mrl_backend *be, mrl_param *params, int n, const optim_opts *o, mrl_err *e) {
    optim *opt = calloc(1, sizeof *opt);
    if (!opt) { err_set(e, 3, "out of memory"); return NULL; }
    opt->be = be; opt->params = params; opt->n = n; opt->o = *o;
    if (o->kind == OPTIM_ADAMW) {
        opt->m = calloc(n, sizeof *opt->m);
        opt->v = calloc(n, sizeof *opt->v);
        if (!opt->m || !opt->v) { optim_free(opt); err_set(e, 3, "out of memory"); return NULL; }
        for (int i = 0; i < n; i++) {
            size_t bytes = params[i].numel * sizeof(float);
            opt->m[i] = be_alloc(be, bytes);
            opt->v[i] = be_alloc(be, bytes);
            if (!opt->m[i] || !opt->v[i]) {
                optim_free(opt);
                err_set(e, 3, "out of memory for the optimizer state (%zu bytes for \"%s\")", 2 * bytes, params[i].name);
                return NULL;
            }
            be_memset0(be, opt->m[i], bytes);
            be_memset0(be, opt->v[i], bytes);
        }
    }
    return opt;
}

void optim_free(optim *opt) {
    if (!opt) return;
    for (int i = 0; i < opt->n; i++) {
        if (opt->m) be_free(opt->be, opt->m[i]);
        if (opt->v) be_free(opt->be, opt->v[i]);
    }
    free(opt->m); free(opt->v); free(opt);
}

double optim_grad_norm(optim *opt) {
    double s = 0;
    for (int i = 0; i < opt->n; i++) s += op_sumsq(opt->be, opt->params[i].g, opt->params[i].numel);
    return sqrt(s);
}

/* 1 when one of the n floats at p (backend memory) is a NaN or inf; -1 out of memory. */
static int has_nonfinite(const mrl_backend *be, const float *p, size_t n) {
    float *h = malloc(n * sizeof *h);
    if (!h) return -1;
    be_download(be, h, p, n * sizeof *h);
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) bad = !isfinite(h[i]);
    free(h);
    return bad;
}

const char *optim_nonfinite(optim *opt, int *weight) {
    for (int pass = 1; pass >= 0; pass--)   /* the weights first: a gradient is not finite where they are not */
        for (int i = 0; i < opt->n; i++) {
            const float *t = pass ? opt->params[i].w : opt->params[i].g;
            if (t && has_nonfinite(opt->be, t, opt->params[i].numel) == 1) { *weight = pass; return opt->params[i].name; }
        }
    return NULL;
}

double optim_clip_factor(double norm, double max_norm) {
    if (max_norm <= 0) return 1.0;
    double f = max_norm / (norm + 1e-6);
    return f < 1.0 ? f : 1.0;
}

long optim_steps(const optim *opt) { return opt->step; }

/* SGD has no backend op: on the CPU the update is a loop; elsewhere the tensors make a round
 * trip through the host (SGD is a window onto the gradient, not a production path). */
static int sgd_param(optim *opt, mrl_param *p, float lr, float wd, float scale, mrl_err *e) {
    float *w = p->w, *g = p->g, *hw = NULL, *hg = NULL;
    if (opt->be->kind != MRL_DEV_CPU) {
        hw = malloc(p->numel * sizeof(float)); hg = malloc(p->numel * sizeof(float));
        if (!hw || !hg) { free(hw); free(hg); return err_set(e, 3, "out of memory"); }
        be_download(opt->be, hw, p->w, p->numel * sizeof(float));
        be_download(opt->be, hg, p->g, p->numel * sizeof(float));
        w = hw; g = hg;
    }
    for (size_t i = 0; i < p->numel; i++) w[i] = w[i] * (1.0f - lr * wd) - lr * (g[i] * scale);
    if (hw) { be_upload(opt->be, p->w, hw, p->numel * sizeof(float)); be_sync(opt->be); }
    if (p->fw) op_cast(opt->be, p->fw, MRL_BF16, p->w, MRL_F32, p->numel);
    free(hw); free(hg);
    return 0;
}

int optim_step(optim *opt, double lr, double grad_scale, mrl_err *e) {
    opt->step++;
    for (int i = 0; i < opt->n; i++) {
        mrl_param *p = &opt->params[i];
        float wd = decays(p->name) ? (float)opt->o.weight_decay : 0.0f;
        if (opt->o.kind == OPTIM_SGD) {
            if (sgd_param(opt, p, (float)lr, wd, (float)grad_scale, e)) return -1;
        } else {
            mrl_adamw_step st = op_adamw_step(lr, opt->o.beta1, opt->o.beta2, opt->o.eps,
                                              decays(p->name) ? opt->o.weight_decay : 0.0, opt->step, grad_scale);
            op_adamw(opt->be, p->w, p->g, opt->m[i], opt->v[i], p->fw, MRL_BF16, p->numel, &st);
        }
    }
    be_sync(opt->be);
    return 0;
}

/* ---- state files ---- */
typedef struct fill_ctx { const mrl_backend *be; const float *src; } fill_ctx;
static int fill_from_backend(void *ctx, void *dst, size_t off, size_t n, mrl_err *e) {
    (void)e;
    fill_ctx *c = ctx;
    be_download(c->be, dst, c->src + off, n * sizeof(float));
    return 0;
}

/* A state tensor's name: one of these, a dot, the parameter's name (the moments: AdamW only). */
static const char *const state_pre[3] = {"exp_avg", "exp_avg_sq", "master"};
/* The optimizer's name in a state file's metadata and in messages (optim_parse_kind's). */
static const char *kind_name(const optim *opt) { return opt->o.kind == OPTIM_ADAMW ? "adamw" : "sgd"; }

int optim_save(optim *opt, const char *path, int with_master, mrl_err *e) {
    int nt = opt->n * ((opt->m ? 2 : 0) + (with_master ? 1 : 0));
    fill_ctx *ctx = calloc(nt ? nt : 1, sizeof *ctx);
    if (!ctx) return err_set(e, 3, "out of memory");
    st_writer *w = st_write_begin(path, e);
    if (!w) { free(ctx); return -1; }
    int k = 0;
    char name[256];
    for (int i = 0; i < opt->n; i++) {
        mrl_param *p = &opt->params[i];
        const float *src[3] = {opt->m ? opt->m[i] : NULL, opt->v ? opt->v[i] : NULL, p->w};
        for (int j = 0; j < 3; j++) {
            if (j < 2 && !opt->m) continue;
            if (j == 2 && !with_master) continue;
            snprintf(name, sizeof name, "%s.%s", state_pre[j], p->name);
            ctx[k] = (fill_ctx){opt->be, src[j]};
            if (st_add_fill(w, name, ST_F32, p->ndim, p->shape, fill_from_backend, &ctx[k], e)) {
                st_write_abort(w); free(ctx); return -1;
            }
            k++;
        }
    }
    char step[32];
    snprintf(step, sizeof step, "%ld", opt->step);
    const char *meta[] = {"format", "pt", "step", step, "optimizer",
                          kind_name(opt), NULL};
    be_sync(opt->be);
    int rc = st_write_end(w, meta, e);
    free(ctx);
    return rc;
}

static int load_tensor(optim *opt, st_file *f, const char *path, const char *pre, mrl_param *p,
                       float *dst, int required, mrl_err *e) {
    char name[256];
    snprintf(name, sizeof name, "%s.%s", pre, p->name);
    const st_tensor *t = st_find(f, name);
    if (!t) return required ? err_set(e, 1, "%s: tensor \"%s\" is missing", path, name) : 1;
    int ok = t->ndim == p->ndim;
    for (int d = 0; ok && d < p->ndim; d++) ok = t->shape[d] == p->shape[d];
    if (!ok || t->numel != p->numel)
        return err_set(e, 1, "%s: tensor \"%s\" has %zu elements in another shape than the model's "
                       "(a checkpoint of another model?)", path, name, t->numel);
    float *h = malloc(p->numel * sizeof(float));
    if (!h) return err_set(e, 3, "out of memory");
    if (st_read_f32(t, h, e)) { free(h); return err_prefix(e, "%s", path); }
    /* a NaN or inf in a moment (or a master weight) would go into every weight at the first
       step; a negative second moment into its square root. One pass, at load. */
    int sq = !strcmp(pre, state_pre[1]);
    for (size_t i = 0; i < p->numel; i++)
        if (!isfinite(h[i]) || (sq && h[i] < 0)) {
            err_set(e, 1, "%s: tensor \"%s\" holds %g at element %zu (%s)", path, name, h[i], i,
                    isfinite(h[i]) ? "a second moment is never negative" : "not a finite number");
            free(h);
            return -1;
        }
    be_upload(opt->be, dst, h, p->numel * sizeof(float));
    be_sync(opt->be);
    free(h);
    return 0;
}

int optim_saved_kind(const char *path) {
    mrl_err ignore = {0};
    st_file *f = st_open(path, &ignore);
    const char *k = f ? st_metadata(f, "optimizer") : NULL;
    int v = k ? optim_parse_kind(k) : -1;
    if (f) st_close(f);
    return v;
}

int optim_load(optim *opt, const char *path, mrl_err *e) {
    st_file *f = st_open(path, e);
    if (!f) return -1;
    const char *s = st_metadata(f, "step");
    char *end = NULL;
    errno = 0;
    long step = s ? strtol(s, &end, 10) : -1;
    if (!s || end == s || *end || errno || step < 0) { st_close(f); return err_set(e, 1, "%s: metadata \"step\" is missing or bad", path); }
    const char *kind = st_metadata(f, "optimizer");
    if (kind && strcmp(kind, kind_name(opt))) {
        err_set(e, 1, "%s: optimizer state is for %s, the run uses %s", path, kind, kind_name(opt));
        st_close(f);
        return -1;
    }
    for (int i = 0; i < opt->n; i++) {
        mrl_param *p = &opt->params[i];
        if (opt->m && (load_tensor(opt, f, path, state_pre[0], p, opt->m[i], 1, e) ||
                       load_tensor(opt, f, path, state_pre[1], p, opt->v[i], 1, e))) { st_close(f); return -1; }
        if (load_tensor(opt, f, path, state_pre[2], p, p->w, 0, e) < 0) { st_close(f); return -1; }
    }
    /* every tensor in the file must be a state this optimizer keeps (master, and AdamW's two
       moments) of one of its parameters: catches a bigger model's state, and a file whose
       tensors this load would pass over (junk.NAME, an SGD run's file with moments) */
    for (int i = 0; i < st_count(f); i++) {
        const char *nm = st_at(f, i)->name, *dot = strchr(nm, '.');
        size_t pl = dot ? (size_t)(dot - nm) : 0;
        int kept = 0;
        for (int j = opt->m ? 0 : 2; dot && j < 3 && !kept; j++)
            kept = strlen(state_pre[j]) == pl && !strncmp(nm, state_pre[j], pl);
        int found = 0;
        for (int j = 0; kept && j < opt->n && !found; j++) found = !strcmp(dot + 1, opt->params[j].name);
        if (!kept) { err_set(e, 1, "%s: tensor \"%s\" is not a state of the %s optimizer", path, nm, kind_name(opt)); st_close(f); return -1; }
        if (!found) { err_set(e, 1, "%s: tensor \"%s\" is not a parameter of this model", path, nm); st_close(f); return -1; }
    }
    opt->step = step;
    st_close(f);
    return 0;
}
