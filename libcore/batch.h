/* batch.h — records read a batch at a time and parsed on several threads (libjq's parse is
 * most of a simple tool's time); lines are gathered only while more are ready at once. */
#ifndef MRL_BATCH_H
#define MRL_BATCH_H
#include <stdint.h>
#include "stream.h"

typedef struct rb_line {
    const char *text; size_t len;   /* the raw line (valid until the next rb_fill) */
    const char *file; long line;    /* where it came from */
    jv rec;                         /* the record when ok; owned by the batch until the next
                                       rb_fill — keep it with jv_copy, or take it and leave jv_null() */
    int ok;                         /* 0: a bad line, err says why (`FILE:LINE: invalid JSON: ...`) */
    mrl_err *err;
    int tag; uint64_t value;        /* free for the hook's results (0 before it runs) */
} rb_line;

/* A tool's stateless per-record work, run in the parsing thread right after a line
 * parsed (thread = 0..rb_threads()-1, so each thread can use its own jq state or PCRE2
 * match data). It may set tag, value and err (malloc'ed; the batch frees it) and must
 * touch nothing shared. */
typedef void (*rb_hook)(void *ctx, int thread, rb_line *l);

typedef struct rd_batch rd_batch;
/* threads <= 0: one per online CPU (at most 8); max_lines <= 0: 1024, or 512 per thread. */
rd_batch *rb_new(rd_stream *r, int threads, int max_lines, mrl_err *e);
/* Reads the next lines: as many as max_lines while rd_line_ready says more are there
 * without waiting (so a slow upstream's records go through one by one), parses them.
 * Returns the count, 0 at the end of all input, -1 on a stream error (truncated zstd, ...)
 * — reported only once the lines read before it have been returned. */
int rb_fill(rd_batch *b, mrl_err *e);
rb_line *rb_get(rd_batch *b, int i);
void rb_set_hook(rd_batch *b, rb_hook hook, void *ctx);
int  rb_threads(const rd_batch *b);
void rb_free(rd_batch *b);
#endif
