/* batch.c — a batch of lines copied out of the reader, parsed by a few short-lived
 * threads (each takes an interleaved share), then handed to the tool in input order. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "batch.h"
#include "jqf.h"

struct rd_batch {
    rd_stream *r;
    int threads, max, n;
    rb_line *lines;
    size_t *off;                    /* text offsets into arena (the arena may move while filling) */
    char *arena; size_t cap, len;
    int pending_error;              /* a stream error to report on the next rb_fill */
    mrl_err perr;
    rb_hook hook; void *hook_ctx;
};

rd_batch *rb_new(rd_stream *r, int threads, int max_lines, mrl_err *e) {
    rd_batch *b = calloc(1, sizeof *b);
    if (!b) { err_set(e, ERR_SYS, "out of memory"); return NULL; }
    if (threads <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus;
    }
    b->r = r;
    b->threads = threads;
    b->max = max_lines > 0 ? max_lines : threads < 2 ? 1024 : 512 * threads;   /* thread start-up stays ~1% */
    b->lines = calloc((size_t)b->max, sizeof *b->lines);
    b->off = calloc((size_t)b->max, sizeof *b->off);
    b->cap = 1 << 20;
    b->arena = malloc(b->cap);
    if (!b->lines || !b->off || !b->arena) { rb_free(b); err_set(e, ERR_SYS, "out of memory"); return NULL; }
    return b;
}

static void rb_clear(rd_batch *b) {
    for (int i = 0; i < b->n; i++) {
        if (b->lines[i].ok) jv_free(b->lines[i].rec);
        free(b->lines[i].err);
        memset(&b->lines[i], 0, sizeof b->lines[i]);
    }
    b->n = 0;
    b->len = 0;
}

typedef struct { rd_batch *b; int first, step; } rb_job;

static void *rb_parse_share(void *arg) {
    rb_job *j = arg;
    jqf_nomem_thread();   /* libjq out of memory here: the tool's exit 3, not an abort */
    for (int i = j->first; i < j->b->n; i += j->step) {
        rb_line *l = &j->b->lines[i];
        mrl_err e = {0};
        if (rd_parse(l->text, l->len, l->file, l->line, &l->rec, &e) == 0) {
            l->ok = 1;
            if (j->b->hook) j->b->hook(j->b->hook_ctx, j->first, l);   /* job k runs on thread k */
            continue;
        }
        l->err = malloc(sizeof *l->err);
        if (l->err) *l->err = e;
    }
    return NULL;
}

int rb_fill(rd_batch *b, mrl_err *e) {
    rb_clear(b);
    if (b->pending_error) { b->pending_error = 0; if (e) *e = b->perr; return -1; }
    while (b->n < b->max && (b->n == 0 || rd_line_ready(b->r))) {
        const char *s; size_t n;
        int got = rd_next_line(b->r, &s, &n, &b->perr);
        if (got == 0) break;
        if (got < 0) {
            if (b->n == 0) { if (e) *e = b->perr; return -1; }
            b->pending_error = 1;
            break;
        }
        if (b->len + n > b->cap) {
            size_t cap = b->cap;
            while (b->len + n > cap) cap *= 2;
            char *a = realloc(b->arena, cap);
            if (!a) return err_set(e, ERR_SYS, "out of memory");
            b->arena = a; b->cap = cap;
        }
        memcpy(b->arena + b->len, s, n);
        rb_line *l = &b->lines[b->n];
        b->off[b->n] = b->len;
        l->len = n;
        l->file = rd_name(b->r);
        l->line = rd_lineno(b->r);
        b->len += n;
        b->n++;
    }
    for (int i = 0; i < b->n; i++) b->lines[i].text = b->arena + b->off[i];
    int t = b->threads;
    if (b->n < 64 * t) t = b->n / 64 > 0 ? b->n / 64 : 1;   /* a few lines are not worth a thread */
    if (t > 8) t = 8;
    rb_job jobs[8];
    pthread_t tid[8];
    for (int k = 0; k < t; k++) jobs[k] = (rb_job){b, k, t};
    int started = 0;   /* threads 1..started run; if one cannot start, this thread does its share */
    for (int k = 1; k < t && pthread_create(&tid[k], NULL, rb_parse_share, &jobs[k]) == 0; k++) started = k;
    rb_parse_share(&jobs[0]);
    for (int k = started + 1; k < t; k++) rb_parse_share(&jobs[k]);
    for (int k = 1; k <= started; k++) pthread_join(tid[k], NULL);
    return b->n;
}

rb_line *rb_get(rd_batch *b, int i) { return &b->lines[i]; }
void rb_set_hook(rd_batch *b, rb_hook hook, void *ctx) { b->hook = hook; b->hook_ctx = ctx; }
int rb_threads(const rd_batch *b) { return b->threads; }

void rb_free(rd_batch *b) {
    if (!b) return;
    rb_clear(b);
    free(b->lines); free(b->off); free(b->arena);
    free(b);
}
