/* fuzz_stream.c — libFuzzer target: arbitrary bytes as an input file (plain or zstd by
 * magic) through the batch reader (2 threads); the lines it returns, written back with
 * the zstd writer and read again, must come back byte for byte; a line read as a record holds
 * no raw control character but tab and CR. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "batch.h"

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_stream.XXXXXX");
        if (!mkdtemp(dir)) abort();
    }
    char in[128], out[128];
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(out, sizeof out, "%s/out.zst", dir);
    FILE *f = fopen(in, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    const char *p = in;
    mrl_err e = {0};
    rd_stream *r = rd_open(&p, 1, &e);
    rd_batch *b = rb_new(r, 2, 64, &e);
    wr_opts o = {.path = out, .plain = 0, .level = 1};
    wr_stream *w = wr_open(&o, &e);
    if (!r || !b || !w) abort();
    size_t cap = 1024, len = 0;
    char *all = malloc(cap);
    long last = 0;
    int n;
    while ((n = rb_fill(b, &e)) > 0) {
        for (int i = 0; i < n; i++) {
            rb_line *l = rb_get(b, i);
            if (l->line <= last) abort();                 /* line numbers only grow */
            last = l->line;
            if (l->ok ? jv_get_kind(l->rec) != JV_KIND_OBJECT : !(l->err && l->err->msg[0])) abort();
            /* a record's line holds no raw control character but JSON's whitespace (tab, CR) */
            for (size_t j = 0; l->ok && j < l->len; j++)
                if ((unsigned char)l->text[j] < 0x20 && l->text[j] != '\t' && l->text[j] != '\r') abort();
            if (wr_put_raw(w, l->text, l->len, &e) < 0) abort();
            while (len + l->len + 1 > cap) all = realloc(all, cap *= 2);
            memcpy(all + len, l->text, l->len); len += l->len; all[len++] = '\n';
        }
    }
    if (n < 0 && !e.msg[0]) abort();                      /* a stream error says what */
    if (wr_close(w, &e) < 0) abort();
    rb_free(b); rd_close(r);
    /* read back what was written: the same bytes */
    p = out;
    r = rd_open(&p, 1, &e);
    const char *s; size_t k, pos = 0;
    while (rd_next_line(r, &s, &k, &e) == 1) {
        if (pos + k + 1 > len || memcmp(all + pos, s, k) || all[pos + k] != '\n') abort();
        pos += k + 1;
    }
    if (pos != len) abort();
    rd_close(r);
    free(all);
    return 0;
}
