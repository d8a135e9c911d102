/* fuzz_tokenizer.c — libFuzzer target for the tokenizer.json loader (tok_load_mem); what loads
 * is then used: a text cut from the input is encoded, decoded and its pieces read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jv.h>
#include <sanitizer/lsan_interface.h>
#include "tokenizer.h"

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
        char *s = tok_decode(t, ids, k, 0, NULL);
        if (tok_utf8_check(s, strlen(s)) >= 0) abort();   /* decode always gives UTF-8 */
        free(s);
    }
    for (int32_t id = 0; id < tok_vocab_size(t) && id < 512; id++) {
        size_t len;
        tok_piece(t, id, &len);
    }
    tok_free(t);
    return 0;
}
