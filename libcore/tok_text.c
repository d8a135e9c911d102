/* tok_text.c — the text side of the tokenizer: UTF-8 checks (encode refuses ill-formed input,
 * streaming holds back a cut character) and decode with U+FFFD for bytes that are not UTF-8. */
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"

/* ---- UTF-8 ---- */

/* The well-formed sequence at s: 1 and *adv its length; else 0 and *adv the length of its
 * maximal ill-formed subpart (what one U+FFFD replaces); *trunc set when the input ended
 * inside an otherwise valid sequence. */
static int utf8_seq(const unsigned char *s, size_t n, size_t *adv, int *trunc) {
    unsigned c = s[0];
    *trunc = 0;
    if (c < 0x80) { *adv = 1; return 1; }
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else { *adv = 1; return 0; }
    size_t i = 1;
    for (; i <= need; i++) {
        if (i >= n) { *adv = i; *trunc = 1; return 0; }
        if (s[i] < lo || s[i] > hi) { *adv = i; return 0; }
        lo = 0x80, hi = 0xBF;
    }
    *adv = need + 1;
    return 1;
}

long tok_utf8_check(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {   /* ASCII runs 8 bytes at a time */
            uint64_t w;
            memcpy(&w, u + i, 8);
            if (!(w & 0x8080808080808080ull)) { i += 8; continue; }
        }
        size_t adv;
        int trunc;
        if (!utf8_seq(u + i, n - i, &adv, &trunc)) return (long)i;
        i += adv;
    }
    return -1;
}

int tok_is_space(uint32_t c, int python) {
    return (c >= 9 && c <= 13) || c == 0x20 || (python && c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

size_t tok_space_at(const char *s, size_t n, int python) {
    const unsigned char *u = (const unsigned char *)s;
    size_t adv;
    int trunc;
    if (!n || !utf8_seq(u, n, &adv, &trunc) || adv == 4) return 0;   /* none is past U+FFFF */
    uint32_t c = adv == 1 ? u[0] : adv == 2 ? (u[0] & 0x1fu) << 6 | (u[1] & 0x3fu)
                                            : (u[0] & 0x0fu) << 12 | (u[1] & 0x3fu) << 6 | (u[2] & 0x3fu);
    return tok_is_space(c, python) ? adv : 0;
}

size_t tok_utf8_complete(const char *s, size_t n) {
    /* Only the last 3 bytes can hold a sequence that more bytes would complete. */
    for (size_t k = n > 3 ? n - 3 : 0; k < n; k++) {
        size_t adv;
        int trunc;
        if ((unsigned char)s[k] >= 0xC0 && !utf8_seq((const unsigned char *)s + k, n - k, &adv, &trunc) && trunc)
            return k;
    }
    return n;
}

char *tok_utf8_lossy(const char *s, size_t n, size_t *outlen) {
    char *o = malloc(n * 3 + 1), *p = o;   /* each bad byte becomes at most 3 */
    if (!o) return NULL;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t adv;
        int trunc;
        if (utf8_seq(u + i, n - i, &adv, &trunc)) memcpy(p, u + i, adv), p += adv;
        else memcpy(p, "\xEF\xBF\xBD", 3), p += 3;
        i += adv;
    }
    *p = 0;
    if (outlen) *outlen = (size_t)(p - o);
    return o;
}

/* ---- decode ---- */

char *tok_decode(const mrl_tok *t, const int32_t *ids, int n, int skip_special, size_t *outlen) {
    size_t cap = 64, len = 0;
    for (int i = 0; i < n; i++) {
        size_t l;
        tok_piece(t, ids[i], &l);
        cap += l;
    }
    char *raw = malloc(cap);
    for (int i = 0; i < n; i++) {
        if (skip_special && tok_is_special(t, ids[i])) continue;
        size_t l;
        const char *p = tok_piece(t, ids[i], &l);
        memcpy(raw + len, p, l);
        len += l;
    }
    char *out = tok_utf8_lossy(raw, len, outlen);
    free(raw);
    return out;
}
