/* tests/test.h — a minimal unit-test harness: each test prints one PASS/FAIL/SKIP
 * line that tests/run.sh counts. Usage: TEST(name){ EXPECT(x); } ... int main(){ RUN(name); return tst_done(); } */
#ifndef MRL_TEST_H
#define MRL_TEST_H
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int tst_failed_now, tst_skipped_now, tst_nfail;
static char tst_skip_reason[256];
#define TEST(name) static void name(void)
/* The larger of a running worst error w and x, a NaN in either being the larger (fmax drops
 * a NaN operand: an output all NaN would score 0 and pass every <= bound). */
static inline double tst_worst(double w, double x) { return w != w ? w : x <= w ? w : x; }
#define EXPECT(c) do { if (!(c)) { fprintf(stdout, "  %s:%d: EXPECT(%s) failed\n", __FILE__, __LINE__, #c); tst_failed_now = 1; } } while (0)
#define EXPECTF(c, ...) do { if (!(c)) { fprintf(stdout, "  %s:%d: EXPECT(%s) failed: ", __FILE__, __LINE__, #c); fprintf(stdout, __VA_ARGS__); fputc('\n', stdout); tst_failed_now = 1; } } while (0)
/* relative closeness: |a-b| <= tol * max(1, |b|); an infinite b is met only by a == b (the bound
 * tol * |b| is infinite: every finite a passed), a NaN never */
#define EXPECT_NEAR(a, b, tol) do { double _a = (a), _b = (b); if (_a != _b && (!(fabs(_a - _b) <= (tol) * fmax(1.0, fabs(_b))) || isinf(_b) || _a != _a)) { fprintf(stdout, "  %s:%d: %s = %.9g, expected %s = %.9g (tol %g)\n", __FILE__, __LINE__, #a, _a, #b, _b, (double)(tol)); tst_failed_now = 1; } } while (0)
#define SKIP(...) do { snprintf(tst_skip_reason, sizeof tst_skip_reason, __VA_ARGS__); tst_skipped_now = 1; return; } while (0)
#define RUN(name) tst_run(#name, name)
/* Whether the CPU has x86 feature F (a string literal, as __builtin_cpu_supports takes): never
 * elsewhere, where GCC before 14 has no such builtin (aarch64: "implicit declaration"). */
#if defined(__x86_64__)
#define CPU_HAS(f) __builtin_cpu_supports(f)
#else
#define CPU_HAS(f) 0
#endif
static void tst_run(const char *name, void (*fn)(void)) {
    tst_failed_now = tst_skipped_now = 0;
    fflush(stdout);
    fn();
    if (tst_failed_now) { printf("FAIL %s\n", name); tst_nfail++; }
    else if (tst_skipped_now) printf("SKIP %s: %s\n", name, tst_skip_reason);
    else printf("PASS %s\n", name);
    fflush(stdout);
}
static int tst_done(void) { return tst_nfail ? 1 : 0; }
/* A new directory $TMPDIR/NAME.XXXXXX (TMPDIR unset or empty: /tmp) in buf[n] for a test's files;
 * returns buf. One that cannot be made, or whose name does not fit in buf, ends the run with a
 * FAIL line naming it (status 1): a cut name would put the files elsewhere. buf is
 * TEST_TMPDIR_MAX bytes: a name a test puts in the directory (under 256 bytes) then fits in a
 * PATH_MAX buffer, and the compiler sees that it does. */
#define TEST_TMPDIR_MAX (PATH_MAX - 256)
static inline char *test_tmpdir(char *buf, size_t n, const char *name) {
    const char *t = getenv("TMPDIR");
    if (!t || !*t) t = "/tmp";
    int k = snprintf(buf, n, "%s/%s.XXXXXX", t, name);
    if (k < 0 || (size_t)k >= n) {
        printf("FAIL test_tmpdir: %s/%s.XXXXXX: %d bytes, too long for a temp dir (at most %zu)\n", t, name, k, n - 1);
        exit(1);
    }
    if (!mkdtemp(buf)) { printf("FAIL test_tmpdir: cannot make %s/%s.XXXXXX: %s\n", t, name, strerror(errno)); exit(1); }
    return buf;
}
#endif
