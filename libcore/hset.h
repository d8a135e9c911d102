/* hset.h — a set of 64-bit hashes (open addressing): seen ids, dedupe keys.
 * Two different strings share a hash with probability ~n²/2⁶⁵ (1e-8 at 600 k). */
#ifndef MRL_HSET_H
#define MRL_HSET_H
#include <stddef.h>
#include <stdint.h>

typedef struct hset {
    uint64_t *slot;   /* 0 = empty; the value 0 itself is kept in has_zero */
    size_t cap, n;
    int has_zero;
} hset;

/* Adds h; returns 1 if it was new, 0 if already present, -1 out of memory. */
int  hset_add(hset *s, uint64_t h);
int  hset_has(const hset *s, uint64_t h);
void hset_free(hset *s);
#endif
