/* st_write.c — the safetensors writer: tensors declared first, their bytes produced one
 * tensor at a time at the end (a 1.5B checkpoint never sits in memory twice), atomically. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "safetensors.h"
#include "stream.h"

typedef struct wtensor {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t numel, nbytes, off;
    const void *raw;          /* one of raw, f32, fill */
    const float *f32;
    st_fill_fn fill; void *ctx;
} wtensor;

struct st_writer { char *path; wtensor *t; int n, cap; };

st_writer *st_write_begin(const char *path, mrl_err *e) {
    st_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) { free(w); err_set(e, 3, "out of memory"); return NULL; }
    return w;
}

void st_write_abort(st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->t[i].name);
    free(w->t); free(w->path); free(w);
}

static wtensor *add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape, mrl_err *e) {
    if ((unsigned)dtype >= ST_NDTYPE) { err_set(e, 2, "\"%s\": bad dtype", name); return NULL; }
    if (ndim < 0 || ndim > ST_MAX_DIMS) { err_set(e, 2, "\"%s\": %d dimensions", name, ndim); return NULL; }
    if (!*name || !strcmp(name, "__metadata__")) { err_set(e, 2, "bad tensor name \"%s\"", name); return NULL; }
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name)) { err_set(e, 2, "\"%s\" added twice", name); return NULL; }
    if (w->n == w->cap) {
        int nc = w->cap ? 2 * w->cap : 64;
        wtensor *nt = realloc(w->t, (size_t)nc * sizeof *nt);
        if (!nt) { err_set(e, 3, "out of memory"); return NULL; }
        w->t = nt; w->cap = nc;
    }
    wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) { err_set(e, 3, "out of memory"); return NULL; }
    t->dtype = dtype; t->ndim = ndim; t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) { free(t->name); err_set(e, 2, "\"%s\": negative shape", name); return NULL; }
        if (shape[i] && t->numel > SIZE_MAX / (size_t)shape[i] / 8) { free(t->name); err_set(e, 2, "\"%s\": shape overflows", name); return NULL; }
        t->shape[i] = shape[i]; t->numel *= (size_t)shape[i];
    }
    t->nbytes = t->numel * dtype_size(dtype);
    w->n++;
    return t;
}

int st_add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape, const void *data, mrl_err *e) {
    wtensor *t = add(w, name, dtype, ndim, shape, e);
    if (!t) return -1;
    t->raw = data;
    return 0;
}

int st_add_f32(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape, const float *src, mrl_err *e) {
    if (dtype != ST_F32 && dtype != ST_BF16 && dtype != ST_F16) return err_set(e, 2, "\"%s\": cannot store float32 as %s", name, dtype_name(dtype));
    wtensor *t = add(w, name, dtype, ndim, shape, e);
    if (!t) return -1;
    t->f32 = src;
    return 0;
}

int st_add_fill(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape, st_fill_fn fill, void *ctx, mrl_err *e) {
    wtensor *t = add(w, name, dtype, ndim, shape, e);
    if (!t) return -1;
    t->fill = fill; t->ctx = ctx;
    return 0;
}

/* ---- a growing string for the header ---- */
typedef struct sbuf { char *s; size_t n, cap; int oom; } sbuf;
static void sb_put(sbuf *b, const char *p, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = (b->cap ? 2 * b->cap : 4096);
        while (nc < b->n + n + 1) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) { b->oom = 1; return; }
        b->s = ns; b->cap = nc;
    }
    memcpy(b->s + b->n, p, n); b->n += n; b->s[b->n] = 0;
}
static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_fmt(sbuf *b, const char *fmt, long long a, long long c) {
    char t[64]; int k = snprintf(t, sizeof t, fmt, a, c); sb_put(b, t, (size_t)k);
}
/* A JSON string literal (UTF-8 passes through; quotes, backslashes and controls escaped). */
static void sb_json(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { char t[2] = {'\\', (char)c}; sb_put(b, t, 2); }
        else if (c < 0x20) { char t[8]; snprintf(t, sizeof t, "\\u%04x", c); sb_put(b, t, 6); }
        else sb_put(b, (const char *)&c, 1);
    }
    sb_put(b, "\"", 1);
}

static int write_all(int fd, const void *p, size_t n, const char *path, mrl_err *e) {
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n > (1u << 30) ? (1u << 30) : n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return err_set(e, 3, "%s: write: %s", path, k < 0 ? strerror(errno) : "short write");
        c += k; n -= (size_t)k;
    }
    return 0;
}

static char *tmp_name(const char *path) {
    size_t n = strlen(path) + 32;
    char *t = malloc(n);
    if (t) atomic_tmp_name(t, n, path);
    return t;
}

/* Errors name path, the file being written: its temporary name is removed by then. */
static int finish_atomic(int fd, char *tmp, const char *path, int rc, mrl_err *e) {
    if (!rc && fsync(fd)) rc = err_set(e, 3, "%s: fsync: %s", path, strerror(errno));
    if (close(fd) && !rc) rc = err_set(e, 3, "%s: close: %s", path, strerror(errno));
    if (!rc && rename(tmp, path)) rc = err_set(e, 3, "%s: rename: %s", path, strerror(errno));
    if (rc) unlink(tmp);
    else fsync_dir_of(path);   /* some filesystems refuse fsync on a directory; the rename is done */
    free(tmp);
    return rc;
}

int st_write_file_atomic(const char *path, const void *data, size_t len, mrl_err *e) {
    return atomic_write_file(path, data, len, e);
}

/* Stable order by descending element size, so every offset is a multiple of its element size
 * (the header is padded to 8 bytes) — what the Python safetensors writer does too. */
static int *layout(st_writer *w) {
    int *ord = malloc((size_t)(w->n ? w->n : 1) * sizeof *ord), k = 0;
    if (!ord) return NULL;
    for (size_t es = 8; es >= 1; es /= 2)
        for (int i = 0; i < w->n; i++) if (dtype_size(w->t[i].dtype) == es) ord[k++] = i;
    size_t off = 0;
    for (int i = 0; i < k; i++) { w->t[ord[i]].off = off; off += w->t[ord[i]].nbytes; }
    return ord;
}

static int write_tensor(int fd, const wtensor *t, unsigned char *buf, size_t bufsz, const char *path, mrl_err *e) {
    if (t->raw) return write_all(fd, t->raw, t->nbytes, path, e);
    size_t es = dtype_size(t->dtype), step = bufsz / (t->f32 ? 4 : es);
    for (size_t off = 0; off < t->numel; off += step) {
        size_t n = t->numel - off < step ? t->numel - off : step;
        if (t->f32) dtype_from_f32(t->dtype, t->f32 + off, buf, n);
        else if (t->fill) { if (t->fill(t->ctx, buf, off, n, e)) return err_prefix(e, "\"%s\"", t->name); }
        else return err_set(e, 2, "\"%s\": no data", t->name);
        if (write_all(fd, buf, n * es, path, e)) return -1;
    }
    return 0;
}

int st_write_end(st_writer *w, const char *const *meta, mrl_err *e) {
    int rc = -1, fd = -1, *ord = NULL, has_format = 0;
    char *tmp = NULL;
    unsigned char *buf = NULL;
    const size_t bufsz = 8u << 20;
    sbuf h = {0};
    if (!(ord = layout(w))) { err_set(e, 3, "out of memory"); goto out; }
    sb_str(&h, "{\"__metadata__\":{");
    int nmeta = 0;
    for (int i = 0; meta && meta[i] && meta[i + 1]; i += 2, nmeta++) {
        if (i) sb_str(&h, ",");
        sb_json(&h, meta[i]); sb_str(&h, ":"); sb_json(&h, meta[i + 1]);
        has_format |= !strcmp(meta[i], "format");
    }
    if (!has_format) sb_str(&h, nmeta ? ",\"format\":\"pt\"" : "\"format\":\"pt\"");
    sb_str(&h, "}");
    for (int i = 0; i < w->n; i++) {
        const wtensor *t = &w->t[ord[i]];
        sb_str(&h, ","); sb_json(&h, t->name);
        sb_str(&h, ":{\"dtype\":\""); sb_str(&h, dtype_name(t->dtype)); sb_str(&h, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) sb_fmt(&h, d ? ",%lld" : "%lld", t->shape[d], 0);
        sb_fmt(&h, "],\"data_offsets\":[%lld,%lld]}", (long long)t->off, (long long)(t->off + t->nbytes));
    }
    sb_str(&h, "}");
    while (h.n % 8) sb_str(&h, " ");
    if (h.oom || !(buf = malloc(bufsz)) || !(tmp = tmp_name(w->path))) { err_set(e, 3, "out of memory"); goto out; }
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        err_set(e, 3, "%s: %s", w->path, strerror(errno)); goto out;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    int wrc = write_all(fd, len8, 8, w->path, e) || write_all(fd, h.s, h.n, w->path, e) ? -1 : 0;
    for (int i = 0; i < w->n && !wrc; i++) wrc = write_tensor(fd, &w->t[ord[i]], buf, bufsz, w->path, e);
    rc = finish_atomic(fd, tmp, w->path, wrc, e);
    tmp = NULL;
out:
    free(tmp); free(buf); free(ord); free(h.s);
    st_write_abort(w);
    return rc;
}
