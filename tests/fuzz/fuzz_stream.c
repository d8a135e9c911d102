/* fuzz_stream.c — libFuzzer target: arbitrary bytes as an input file (plain or zstd by
 * magic) through the batch reader (2 threads); the lines it returns, written back with
 * the zstd writer and read again, must come back byte for byte; a line read as a record holds
 * no raw control character but tab and CR, and written over its own line (rec_text_from), as is
 * or with a field set and one deleted, reads back as the same record. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "batch.h"

static char dir[64];

/* rec_text_from(rec, its line) must read back as rec, as libjq writes both (so NaN = null) */
static void same_record(jv rec, const char *raw, size_t n) {
    size_t tl = 0;
    char *t = rec_text_from(jv_copy(rec), raw, n, &tl);
    if (!t) abort();
    jv back = jv_parse_sized(t, (int)tl);
    if (!jv_is_valid(back)) abort();
    jv a = jv_dump_string(back, 0), b = jv_dump_string(rec, 0);
    if (strcmp(jv_string_value(a), jv_string_value(b))) abort();
    jv_free(a); jv_free(b); free(t);
}

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
            if (l->ok) {   /* written over its line: unchanged, and with a field set and one deleted */
                same_record(jv_copy(l->rec), l->text, l->len);
                jv ch = jv_object_set(jv_copy(l->rec), jv_string("sample"), jv_number(1));
                int it = jv_object_iter(ch);
                if (jv_object_iter_valid(ch, it)) ch = jv_object_delete(ch, jv_object_iter_key(ch, it));
                same_record(ch, l->text, l->len);
            }
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
