/* answers_bench.c — throughput of mrl's answer checker on one core: for each (gold, pred)
 * pair of a Math-Verify fixture, extract from a completion, extract the gold, check. A
 * fixture of whole completions (records with "completion": lighteval-completions.jsonl) is
 * read with mreward --lighteval's extraction instead. */
#include <jv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "answer.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: answers_bench PAIRS.jsonl [SECONDS]\n");
        return 2;
    }
    double budget = argc > 2 ? atof(argv[2]) : 3.0;
    FILE *f = fopen(argv[1], "r");
    if (!f) { perror(argv[1]); return 1; }
    size_t n = 0, cap = 0;
    char **comp = NULL, **gold = NULL;
    char *line = NULL;
    size_t lcap = 0;
    int whole = 0;
    while (getline(&line, &lcap, f) > 0) {
        jv o = jv_parse(line);
        if (!jv_is_valid(o)) { jv_free(o); continue; }
        jv g = jv_object_get(jv_copy(o), jv_string("gold")), p = jv_object_get(jv_copy(o), jv_string("pred"));
        jv c = jv_object_get(jv_copy(o), jv_string("completion"));
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            comp = realloc(comp, cap * sizeof *comp);
            gold = realloc(gold, cap * sizeof *gold);
        }
        if (jv_get_kind(c) == JV_KIND_STRING) {
            whole = 1;
            comp[n] = strdup(jv_string_value(c));
        } else {
            const char *ps = jv_string_value(p);
            /* the same completion text the Python side parses */
            comp[n] = malloc(strlen(ps) + 128);
            sprintf(comp[n], "Let me think step by step.\n</think>\nTherefore, the final answer is: $\\boxed{%s}$. I hope it is correct", ps);
        }
        jv_free(c);
        gold[n] = strdup(jv_string_value(g));
        n++;
        jv_free(g); jv_free(p); jv_free(o);
    }
    free(line);
    fclose(f);
    if (!n) { fprintf(stderr, "answers_bench: no pairs\n"); return 1; }
    ans_opts o = whole ? (ans_opts){.lighteval = 1} : (ans_opts){.answer_part = 1};
    long done = 0, correct = 0;
    double t0 = now(), t;
    do {
        for (size_t i = 0; i < n; i++) {
            char *p = ans_extract(comp[i], &o), *g = ans_extract_gold(gold[i]);
            correct += ans_equiv(p, g) == ANS_EQUIV;
            free(p);
            free(g);
        }
        done += (long)n;
        t = now() - t0;
    } while (t < budget);
    printf("{\"pairs\": %zu, \"checked\": %ld, \"seconds\": %.3f, \"records_per_s\": %.0f, \"us_per_record\": %.2f, \"equiv\": %ld}\n",
           n, done, t, done / t, 1e6 * t / done, correct);
    for (size_t i = 0; i < n; i++) { free(comp[i]); free(gold[i]); }
    free(comp);
    free(gold);
    return 0;
}
