/* stopstr.c — incremental search for stop strings in a growing byte buffer: only
 * the window that a new token can complete (the last maxlen-1 old bytes + new bytes) is scanned. */
#include <stdlib.h>
#include <string.h>
#include "stopstr.h"

struct stop_set {
    int n;
    char **s;
    size_t *len;
    size_t maxlen;
};

stop_set *stop_new(const char *const *strs, int n) {
    stop_set *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->s = calloc(n > 0 ? n : 1, sizeof *s->s);
    s->len = calloc(n > 0 ? n : 1, sizeof *s->len);
    if (!s->s || !s->len) { stop_free(s); return NULL; }
    for (int i = 0; i < n; i++) {
        size_t l = strlen(strs[i]);
        if (!l) continue;
        if (!(s->s[s->n] = strdup(strs[i]))) { stop_free(s); return NULL; }
        s->len[s->n++] = l;
        if (l > s->maxlen) s->maxlen = l;
    }
    return s;
}

void stop_free(stop_set *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->s[i]);
    free(s->s);
    free(s->len);
    free(s);
}

int stop_count(const stop_set *s) { return s ? s->n : 0; }
size_t stop_maxlen(const stop_set *s) { return s ? s->maxlen : 0; }

long stop_find(const stop_set *s, const char *buf, size_t len, size_t prev, size_t *mlen) {
    if (!s || !s->n || len == prev) return -1;
    /* an occurrence ending after prev starts at or after prev - maxlen + 1 */
    size_t start = prev + 1 > s->maxlen ? prev + 1 - s->maxlen : 0;
    for (size_t at = start; at < len; at++) {
        for (int k = 0; k < s->n; k++) {
            size_t l = s->len[k];
            if (at + l > len || at + l <= prev) continue;
            if (buf[at] == s->s[k][0] && memcmp(buf + at, s->s[k], l) == 0) {
                if (mlen) *mlen = l;
                return (long)at;
            }
        }
    }
    return -1;
}
