/* clones.h — CPU_CLONES: compile a loop for several x86 vector widths and let the loader pick. */
#ifndef MRL_CLONES_H
#define MRL_CLONES_H
/* Loops the portable build (-march=x86-64-v2) would leave at 128-bit SSE, compiled again for
 * AVX-512 and AVX2; the loader picks the best for the CPU (GCC/clang function multiversioning).
 * Off under sanitizers. The build turns floating-point contraction off (-ffp-contract=off, as
 * GCC's ISO C mode does anyway), so the AVX-512 clone, whose target implies FMA, rounds as the
 * others do: the optimizer's results do not depend on the CPU. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)   /* clang's spellings */
#define CPU_NO_CLONES 1
#endif
#endif
/* under TSan the clones' resolvers, instrumented, ran before its runtime: a crash at load */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && \
    !defined(CPU_NO_CLONES)
#define CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CPU_CLONES
#endif
#endif
