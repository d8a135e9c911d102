/* fuzz_tokenizer.c — libFuzzer target for the tokenizer.json loader (tok_load_mem); what loads
 * is then used: a text cut from the input is encoded, decoded (and, for a plain byte-level
 * tokenizer, must come back as it was) and its pieces read; each added token is encoded with
 * Unicode whitespace around it (lstrip/rstrip) and ids of every kind, added tokens and ids
 * without a token included, are decoded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jv.h>
#include <sanitizer/lsan_interface.h>
#include "tok_internal.h"

/* libjq 1.6 leaks the value in hand when its parser stops at some syntax errors (jv_parse.c
 * value(): "Expected separator between values" returns without jv_free). Inputs that are not
 * JSON are therefore loaded with leak detection off; every other input keeps it on, so a jv
 * that mrl code forgets to free is still caught. */
static int is_json(const uint8_t *data, size_t size) {
    __lsan_disable();
    jv v = jv_parse_sized((const char *)data, (int)size);
    int ok = jv_is_valid(v);
    jv_free(v);
    __lsan_enable();
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mrl_err e = {0};
    if (size > (1 << 24)) return 0;
    int json = is_json(data, size);
    if (!json) __lsan_disable();
    mrl_tok *t = tok_load_mem((const char *)data, size, &e);
    if (!json) __lsan_enable();
    if (!t) {
        if (!e.msg[0]) abort();   /* a refusal must say why */
        return 0;
    }
    /* The last few bytes of the input double as text: short, so a hostile regex stays cheap. */
    size_t n = size < 24 ? size : 24;
    const char *text = (const char *)data + size - n;
    int32_t ids[64];
    int k = tok_encode(t, text, n, ids, 64, &e);
    if (k > 64) k = 64;   /* normalization can lengthen a text; the count may pass the buffer */
    if (k >= 0) {
        for (int i = 0; i < k; i++)
            if (ids[i] < 0 || ids[i] >= tok_vocab_size(t)) abort();
        size_t sl;
        char *s = tok_decode(t, ids, k, 0, &sl);
        if (tok_utf8_check(s, sl) >= 0) abort();   /* decode always gives UTF-8 */
        /* byte-level BPE alone gives the text back, byte for byte */
        if (k < 64 && t->n_added == 0 && t->normalizer == TOK_NORM_NONE && (sl != n || memcmp(s, text, n))) {
            int prefix = 0;
            for (int i = 0; i < t->n_re; i++) prefix |= t->prefix_space[i];
            if (!prefix) abort();
        }
        free(s);
    }
    /* each added token between Unicode spaces (U+3000 and U+00A0: what lstrip/rstrip take) */
    int32_t any[80];
    int na = 0;
    for (int i = 0; i < t->n_added && i < 16; i++) {
        const tok_added *a = &t->added[i];
        size_t wl = a->len + 8;
        char *w = malloc(wl);
        memcpy(w, " \xE3\x80\x80", 4);
        memcpy(w + 4, t->pool + a->off, a->len);
        memcpy(w + 4 + a->len, "\xC2\xA0 x", 4);
        int m = tok_encode(t, w, wl, ids, 64, &e);
        for (int j = 0; j < m && j < 64; j++)
            if (ids[j] < 0 || ids[j] >= tok_vocab_size(t)) abort();
        free(w);
        any[na++] = a->id;
        char *c = calloc(1, a->len + 1);
        memcpy(c, t->pool + a->off, a->len);
        if (strlen(c) == a->len && tok_id(t, c) < 0) abort();   /* an added token has an id */
        free(c);
    }
    /* ids as the input's bytes give them, some past the vocabulary or negative */
    for (size_t i = 0; i + 2 <= size && na < 80; i += 2) any[na++] = (int32_t)(data[i] | data[i + 1] << 8) - 256;
    for (int skip = 0; skip < 2; skip++) {
        size_t sl;
        char *s = tok_decode(t, any, na, skip, &sl);
        if (!s || tok_utf8_check(s, sl) >= 0 || s[sl]) abort();
        free(s);
    }
    for (int32_t id = 0; id < tok_vocab_size(t) && id < 512; id++) {
        size_t len;
        tok_piece(t, id, &len);
    }
    tok_free(t);
    return 0;
}
