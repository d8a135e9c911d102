/* test_jqf.c — jq filters run by several threads at once (mfilter -j runs --where in its
 * parsing threads, each with its own jq state). */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "jqf.h"
#include "../test.h"

enum { NT = 16 };
static jqf *filt[NT];
static pthread_barrier_t start;

static void *run_one(void *arg) {
    jqf *f = arg;
    jv rec = jv_parse("{\"problem\":\"Q 12\"}");
    pthread_barrier_wait(&start);   /* every thread's first regex at the same moment */
    mrl_err e = {0};
    jv v = jqf_first(f, rec, &e);
    int ok = jv_get_kind(v) == JV_KIND_TRUE;
    jv_free(v);
    jv_free(rec);
    return ok ? (void *)1 : NULL;
}

/* One process's first regexes, run by NT threads at once: 0 when every one gave true. */
static int first_regexes_at_once(void) {
    pthread_barrier_init(&start, NULL, NT);
    pthread_t tid[NT];
    for (int t = 0; t < NT; t++) pthread_create(&tid[t], NULL, run_one, filt[t]);
    int bad = 0;
    for (int t = 0; t < NT; t++) { void *r; pthread_join(tid[t], &r); bad += r == NULL; }
    return bad ? 1 : 0;
}

/* libjq 1.6 compiles a regex with onig_new, whose first call initialises Oniguruma (global
 * tables, grown with realloc) without a lock: threads whose first regexes ran together
 * crashed (double free, SIGSEGV) now and then in mfilter -j8 --where 'test(...)'. Oniguruma is
 * only read once jqf_compile has initialised it. Each try is a fresh process (a fork of this
 * one, whose filters are compiled and whose regexes have not run yet). */
TEST(first_regexes_in_several_threads_at_once) {
    mrl_err e = {0};
    for (int t = 0; t < NT; t++)
        if (!(filt[t] = jqf_compile(".problem|test(\"Q 1[0-9]+$\")", &e))) { EXPECTF(0, "%s", e.msg); return; }
    int fails = 0;
    for (int i = 0; i < 1000; i++) {
        fflush(stdout);
        pid_t p = fork();
        if (p == 0) { freopen("/dev/null", "w", stderr); _exit(first_regexes_at_once()); }   /* glibc's "double free" */
        int st = 0;
        waitpid(p, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st)) fails++;
    }
    for (int t = 0; t < NT; t++) jqf_free(filt[t]);
    EXPECTF(fails == 0, "%d of 1000 processes failed", fails);
}

int main(void) {
    RUN(first_regexes_in_several_threads_at_once);
    return tst_done();
}
