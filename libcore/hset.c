/* hset.c — open-addressing set of 64-bit hashes with linear probing; the keys are
 * already well mixed hashes, so their low bits index the table directly. */
#include <stdlib.h>
#include "hset.h"

static int hset_grow(hset *s) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    uint64_t *slot = calloc(cap, sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < s->cap; i++) {
        uint64_t h = s->slot[i];
        if (!h) continue;
        size_t j = (size_t)h & (cap - 1);
        while (slot[j]) j = (j + 1) & (cap - 1);
        slot[j] = h;
    }
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
    return 0;
}

int hset_add(hset *s, uint64_t h) {
    if (h == 0) { int was = s->has_zero; s->has_zero = 1; return !was; }
    if ((s->n + 1) * 4 > s->cap * 3 && hset_grow(s) < 0) return -1;   /* load ≤ 3/4 */
    size_t j = (size_t)h & (s->cap - 1);
    while (s->slot[j]) {
        if (s->slot[j] == h) return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slot[j] = h;
    s->n++;
    return 1;
}

int hset_has(const hset *s, uint64_t h) {
    if (h == 0) return s->has_zero;
    if (!s->cap) return 0;
    size_t j = (size_t)h & (s->cap - 1);
    while (s->slot[j]) {
        if (s->slot[j] == h) return 1;
        j = (j + 1) & (s->cap - 1);
    }
    return 0;
}

void hset_free(hset *s) { free(s->slot); s->slot = NULL; s->cap = s->n = 0; s->has_zero = 0; }
