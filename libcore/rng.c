/* rng.c — Philox-4x32-10 (Salmon et al., SC'11) as a keyed stream: (seed, a, b) pick
 * the key and the high counter words, the low counter word walks the stream. */
#include <math.h>
#include <string.h>
#include "rng.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void rng_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0; k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

static uint64_t mix64(uint64_t z) {  /* splitmix64's finaliser: every input bit reaches every output bit */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* FNV-1a over the bytes (so the value does not depend on endianness or alignment),
 * then a strong finaliser so nearby strings ("x:1", "x:2") spread over all 64 bits. */
uint64_t rng_hash(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < len; i++) { h ^= p[i]; h *= 0x100000001B3ull; }
    return mix64(h ^ len);
}

uint64_t rng_hash_str(const char *s) { return rng_hash(s, strlen(s)); }

/* key = seed; counter = (position, b low, a low, a high). b's high 32 bits (never
 * set by sample indices) are folded into the key through a hash. */
void rng_init(mrl_rng *r, uint64_t seed, uint64_t a, uint64_t b) {
    uint64_t k = seed;
    if (b >> 32) k ^= mix64(b >> 32);
    r->key[0] = (uint32_t)k; r->key[1] = (uint32_t)(k >> 32);
    r->ctr[0] = 0; r->ctr[1] = (uint32_t)b;
    r->ctr[2] = (uint32_t)a; r->ctr[3] = (uint32_t)(a >> 32);
    r->have = 0;
}

uint32_t rng_u32(mrl_rng *r) {
    if (r->have == 0) {
        rng_philox(r->ctr, r->key, r->buf);
        r->ctr[0]++;   /* 2^32 blocks (16 Gi words) per stream before it repeats */
        r->have = 4;
    }
    return r->buf[4 - r->have--];
}

uint64_t rng_u64(mrl_rng *r) {
    uint64_t lo = rng_u32(r);
    return lo | (uint64_t)rng_u32(r) << 32;
}

double rng_uniform(mrl_rng *r) { return (double)(rng_u64(r) >> 11) * 0x1.0p-53; }

/* Box-Muller with no cached second value, so the stream position stays a simple count. */
double rng_normal(mrl_rng *r) {
    double u1 = 1.0 - rng_uniform(r);   /* (0, 1]: log is finite */
    double u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t rng_below(mrl_rng *r, uint64_t n) {
    if (n <= 1) return 0;
    uint64_t limit = -n % n;    /* values below this would over-represent small results */
    for (;;) {
        uint64_t x = rng_u64(r);
        if (x >= limit) return x % n;
    }
}
