/* test_rng.c — Philox-4x32-10 against Random123's published known answers, and the
 * property the pipeline relies on: the stream for (seed, a, b) is a pure function of them. */
#include "rng.h"
#include "../test.h"

TEST(philox_known_answers) {
    /* Random123 kat_vectors, philox4x32_10 (also in TensorFlow's random tests) */
    static const uint32_t ctr[3][4] = {{0, 0, 0, 0}, {~0u, ~0u, ~0u, ~0u}, {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}};
    static const uint32_t key[3][2] = {{0, 0}, {~0u, ~0u}, {0xa4093822, 0x299f31d0}};
    static const uint32_t want[3][4] = {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                                        {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                                        {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};
    for (int i = 0; i < 3; i++) {
        uint32_t out[4];
        rng_philox(ctr[i], key[i], out);
        EXPECTF(!memcmp(out, want[i], sizeof out), "vector %d: %08x %08x %08x %08x", i, out[0], out[1], out[2], out[3]);
    }
}

/* Draw 8 streams in two different interleavings and batchings: identical values. */
TEST(streams_do_not_depend_on_order_or_batching) {
    enum { S = 8, N = 37 };
    uint64_t fwd[S][N], rev[S][N];
    uint64_t id = rng_hash_str("train.jsonl:17");
    for (int s = 0; s < S; s++) {
        mrl_rng r; rng_init(&r, 42, id, (uint64_t)s);
        for (int i = 0; i < N; i++) fwd[s][i] = rng_u64(&r);
    }
    mrl_rng rs[S];
    for (int s = S - 1; s >= 0; s--) rng_init(&rs[s], 42, id, (uint64_t)s);
    for (int i = 0; i < N; i++)                 /* round-robin, reversed: one value each in turn */
        for (int s = S - 1; s >= 0; s--) rev[s][i] = rng_u64(&rs[s]);
    EXPECT(!memcmp(fwd, rev, sizeof fwd));
    /* a sample replayed alone (e.g. on another GPU / shard) is the same */
    mrl_rng one; rng_init(&one, 42, id, 5);
    for (int i = 0; i < N; i++) EXPECT(rng_u64(&one) == fwd[5][i]);
}

TEST(each_key_part_changes_the_stream) {
    mrl_rng a, b, c, d, e;
    rng_init(&a, 1, 2, 3); rng_init(&b, 9, 2, 3); rng_init(&c, 1, 9, 3); rng_init(&d, 1, 2, 9);
    rng_init(&e, 1, 2, 3ull | 1ull << 40);   /* high bits of b count too */
    uint64_t va = rng_u64(&a);
    EXPECT(va != rng_u64(&b)); EXPECT(va != rng_u64(&c)); EXPECT(va != rng_u64(&d)); EXPECT(va != rng_u64(&e));
}

TEST(uniform_normal_below_distributions) {
    mrl_rng r; rng_init(&r, 7, 0, 0);
    enum { N = 200000 };
    double sum = 0, sum2 = 0, mn = 1, mx = 0;
    for (int i = 0; i < N; i++) {
        double u = rng_uniform(&r);
        sum += u; if (u < mn) mn = u; if (u > mx) mx = u;
        EXPECT(u >= 0 && u < 1);
    }
    EXPECT_NEAR(sum / N, 0.5, 0.005);
    EXPECT(mn < 1e-4 && mx > 1 - 1e-4);
    sum = 0;
    for (int i = 0; i < N; i++) { double z = rng_normal(&r); sum += z; sum2 += z * z; }
    EXPECT(fabs(sum / N) < 0.01);
    EXPECT_NEAR(sum2 / N, 1.0, 0.02);
    long count[7] = {0};
    for (int i = 0; i < 70000; i++) { uint64_t k = rng_below(&r, 7); EXPECT(k < 7); count[k < 7 ? k : 0]++; }
    double chi2 = 0;
    for (int k = 0; k < 7; k++) chi2 += (count[k] - 10000.0) * (count[k] - 10000.0) / 10000.0;
    EXPECTF(chi2 < 22.5, "chi2 %g (6 dof, p=0.001 at 22.46)", chi2);
    EXPECT(rng_below(&r, 1) == 0 && rng_below(&r, 0) == 0);
}

TEST(hash_is_deterministic_and_spreads) {
    char buf[32] = "xid:12345";
    char shifted[33]; memcpy(shifted + 1, buf, sizeof buf);
    EXPECT(rng_hash(buf, 9) == rng_hash(shifted + 1, 9));   /* no alignment dependence */
    EXPECT(rng_hash_str("xid:12345") == rng_hash(buf, 9));
    EXPECT(rng_hash_str("a:1") != rng_hash_str("a:2"));
    EXPECT(rng_hash("", 0) != rng_hash("\0", 1));
    /* neighbouring ids land in both halves evenly (what --split relies on) */
    int hi = 0;
    for (int i = 0; i < 10000; i++) { char s[32]; snprintf(s, sizeof s, "p:%d", i); hi += rng_hash_str(s) >> 63; }
    EXPECTF(hi > 4800 && hi < 5200, "%d of 10000 in the upper half", hi);
}

int main(void) {
    RUN(philox_known_answers);
    RUN(streams_do_not_depend_on_order_or_batching);
    RUN(each_key_part_changes_the_stream);
    RUN(uniform_normal_below_distributions);
    RUN(hash_is_deterministic_and_spreads);
    return tst_done();
}
