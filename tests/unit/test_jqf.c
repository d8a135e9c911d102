/* test_jqf.c — jq filters run by several threads at once (mfilter -j runs --where in its
 * parsing threads, each with its own jq state). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* error(null) is an error (jq 1.7), not no output (libjq 1.6 backtracked on it); empty is
 * still no output with no error, and other errors keep their messages. */
TEST(error_null_is_an_error) {
    static const struct { const char *prog; int code; const char *msg; } c[] = {
        {"error(null)", 1, "jq filter 'error(null)': null (not a string)"},
        {".a | error", 1, "jq filter '.a | error': null (not a string)"},
        {"empty", 0, ""},
        {"error({\"x\":1})", 1, "jq filter 'error({\"x\":1})': {\"x\":1} (not a string)"},
        {"(error(null))?", 0, ""},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        mrl_err e = {0};
        jqf *f = jqf_compile(c[i].prog, &e);
        EXPECTF(f != NULL, "%s: %s", c[i].prog, e.msg);
        if (!f) continue;
        jv rec = jv_parse("{\"a\":null}");
        jv v = jqf_first(f, rec, &e);
        EXPECTF(!jv_is_valid(v) && e.code == c[i].code && !strcmp(e.msg, c[i].msg), "%s: code %d '%s'", c[i].prog, e.code, e.msg);
        jv_free(v);
        jv_free(rec);
        jqf_free(f);
    }
    mrl_err e = {0};
    jqf *f = jqf_compile("try error(null) catch .", &e);
    jv rec = jv_parse("{}");
    jv v = jqf_first(f, rec, &e);
    EXPECT(jv_get_kind(v) == JV_KIND_STRING && !strcmp(jv_string_value(v), "null (not a string)"));
    jv_free(v); jv_free(rec); jqf_free(f);
    /* a syntax error names the program as written, not with the definitions in front */
    EXPECT(jqf_compile(".a ==", &e) == NULL && e.code == 2 && strstr(e.msg, "'.a =='") && !strstr(e.msg, "_mrl"));
}

/* jqf_first_key: the top-level field a first output is the value of (a number read from it
 * keeps its own digits), through `//` too; none for a computed or nested value. */
TEST(first_key) {
    static const struct { const char *prog; const char *key; } c[] = {
        {".answer", "answer"}, {".answer // .solution", "solution"}, {".none // .answer # c", "answer"},
        {"if .answer then .answer else .solution end", "answer"}, {".answer + 0", NULL},
        {".o.x", NULL}, {".answer as $x | $x", NULL}, {"error(\"x\")", NULL}, {"empty", NULL},
        {"import \"no_such_module\" as m; .answer", NULL}, {".1", NULL},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        mrl_err e = {0};
        jqf *f = jqf_compile(c[i].prog, &e);
        if (!f) { EXPECTF(strstr(c[i].prog, "import") != NULL, "%s: %s", c[i].prog, e.msg); continue; }
        jv rec = jv_parse(i == 1 ? "{\"solution\":7}" : "{\"answer\":7,\"solution\":8,\"o\":{\"x\":1}}");
        char *k = jqf_first_key(f, rec);
        EXPECTF(c[i].key ? k && !strcmp(k, c[i].key) : !k, "%s: %s", c[i].prog, k ? k : "NULL");
        free(k);
        jv_free(rec);
        jqf_free(f);
    }
}

int main(void) {
    RUN(error_null_is_an_error);
    RUN(first_key);
    RUN(first_regexes_in_several_threads_at_once);
    return tst_done();
}
