/* fuzz_stopstr.c — libFuzzer target for the stop-string matcher (stopstr.h), differential:
 * arbitrary bytes as "STOP\nSTOP\n...\n\0TEXT", the stop strings one a line (empty lines
 * included: stop_new drops them), the text after the NUL (NULs and all) fed in pieces whose
 * lengths come from the text's own bytes, as tokens arrive in msample. Each call's verdict
 * must equal a naive reference (strstr-like memmem over the whole buffer, every stop string,
 * every start) of stopstr.h's contract: the start offset of the earliest occurrence that ends
 * after prev, -1 if none. The reported length must be that of a stop string occurring there and
 * ending in (prev, len]. Which one of several stop strings starting at the same offset is
 * reported ("abc" or "ab" when both occur there) stopstr.h leaves open, so it is not asserted.
 * The whole text fed at once must give the earliest occurrence anywhere. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "stopstr.h"

#define MAXSTOPS 16

/* Earliest start of an occurrence of one of strs ending in (prev, len] (-1: none). */
static long ref_find(char *const *strs, const size_t *lens, int n, const char *buf, size_t len, size_t prev) {
    long best = -1;
    for (int k = 0; k < n; k++) {
        if (!lens[k]) continue;
        for (size_t from = 0; from + lens[k] <= len;) {
            const char *hit = memmem(buf + from, len - from, strs[k], lens[k]);
            if (!hit) break;
            size_t at = (size_t)(hit - buf);
            if (at + lens[k] > prev) {
                if (best < 0 || (long)at < best) best = (long)at;
                break;   /* later occurrences of the same string start later */
            }
            from = at + 1;
        }
    }
    return best;
}

/* Whether some stop string of length l occurs at buf[at] (and so the verdict's length is one). */
static int occurs(char *const *strs, const size_t *lens, int n, const char *buf, size_t at, size_t l) {
    for (int k = 0; k < n; k++)
        if (lens[k] == l && memcmp(buf + at, strs[k], l) == 0) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    if (!nul) return 0;
    size_t hn = (size_t)(nul - data);
    const char *text = (const char *)nul + 1;
    size_t tn = size - hn - 1;
    char *strs[MAXSTOPS];
    size_t lens[MAXSTOPS];
    int n = 0;
    for (size_t i = 0; i <= hn && n < MAXSTOPS;) {
        const uint8_t *nl = memchr(data + i, '\n', hn - i);
        size_t l = nl ? (size_t)(nl - data) - i : hn - i;
        strs[n] = malloc(l + 1);
        memcpy(strs[n], data + i, l);
        strs[n][l] = 0;
        lens[n++] = l;
        i += l + 1;
    }
    stop_set *s = stop_new((const char *const *)strs, n);
    if (!s) abort();
    size_t maxlen = 0;
    int live = 0;
    for (int k = 0; k < n; k++) {
        if (lens[k]) live++;
        if (lens[k] > maxlen) maxlen = lens[k];
    }
    if (stop_count(s) != live || stop_maxlen(s) != maxlen) abort();

    /* pieces as tokens arrive: the length of each from the byte that starts it (1..8) */
    char *buf = malloc(tn + 1);
    size_t len = 0, mlen;
    while (len < tn) {
        size_t prev = len, step = 1 + ((unsigned char)text[len] & 7);
        len = prev + step < tn ? prev + step : tn;
        memcpy(buf + prev, text + prev, len - prev);
        mlen = (size_t)-1;
        long got = stop_find(s, buf, len, prev, &mlen);
        long want = ref_find(strs, lens, n, buf, len, prev);
        if (got != want) abort();
        if (got >= 0) {
            size_t at = (size_t)got;
            if (mlen == 0 || at + mlen <= prev || at + mlen > len) abort();
            if (!occurs(strs, lens, n, buf, at, mlen)) abort();
            break;   /* msample stops there */
        }
        if (stop_find(s, buf, len, len, &mlen) != -1) abort();   /* nothing grew: nothing new */
    }
    /* all of it at once */
    memcpy(buf, text, tn);
    long got = stop_find(s, buf, tn, 0, &mlen);
    if (got != ref_find(strs, lens, n, buf, tn, 0)) abort();
    if (got >= 0 && !occurs(strs, lens, n, buf, (size_t)got, mlen)) abort();
    free(buf);
    stop_free(s);
    for (int k = 0; k < n; k++) free(strs[k]);
    return 0;
}
