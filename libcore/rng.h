/* rng.h — a counter-based random generator (Philox-4x32-10): the stream for
 * (seed, id, sample) is a pure function of those three numbers, so results do not
 * depend on batch size, threads or order, and any sample can be replayed alone. */
#ifndef MRL_RNG_H
#define MRL_RNG_H
#include <stddef.h>
#include <stdint.h>

typedef struct mrl_rng {
    uint32_t key[2];
    uint32_t ctr[4];
    uint32_t buf[4];
    int      have;      /* unread words left in buf */
} mrl_rng;

uint64_t rng_hash(const void *data, size_t len);  /* 64-bit hash (for ids, splits) */
uint64_t rng_hash_str(const char *s);
/* The stream keyed by (seed, a, b): e.g. (seed, rng_hash_str(id), sample). */
void     rng_init(mrl_rng *r, uint64_t seed, uint64_t a, uint64_t b);
uint32_t rng_u32(mrl_rng *r);
uint64_t rng_u64(mrl_rng *r);
double   rng_uniform(mrl_rng *r);      /* [0, 1), 53 bits */
double   rng_normal(mrl_rng *r);       /* standard normal */
uint64_t rng_below(mrl_rng *r, uint64_t n);  /* uniform integer in [0, n), unbiased */
/* The raw Philox-4x32-10 block function (exposed for the known-answer test). */
void     rng_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
#endif
