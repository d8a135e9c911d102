/* gen_arith.c — the demo's data: arithmetic word problems with gold answers, in four levels,
 * split into train and held-out by a hash of the problem text (disjoint by construction), each
 * with a worked solution in the think/answer format; --noise P makes a fraction P of the worked
 * solutions end in a wrong answer (an imperfect teacher), which RL then has to unlearn.
 * --unique drops repeated problems (a held-out set without duplicates), --no-solution leaves out the
 * worked solution (problems for sampling), --text writes problem and solution as plain text lines
 * (the tokenizer's merge text), --small K draws the second operand from 1..K (an easier task:
 * fewer arithmetic facts to learn, so a tiny model learns it in minutes).
 * Usage: gen_arith [--n N] [--seed S] [--split train|test] [--noise P] [--levels A-B] [--small K]
 *                  [--unique] [--no-solution] [--text] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static uint64_t st;
static uint64_t next(void) {   /* splitmix64 */
    uint64_t z = (st += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull; z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static int below(int n) { return (int)(next() % (uint64_t)n); }
static uint64_t fnv(const char *s) { uint64_t h = 1469598103934665603ull; for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull; return h; }

static const char *names[] = {"Ann", "Ben", "Cara", "Dan", "Eve", "Finn", "Gia", "Hal"};
static const char *things[] = {"apples", "books", "coins", "stamps", "shells", "cards", "pens", "eggs"};

/* Writes the problem text, the worked reasoning and the answer for one level. */
static int make(int level, int small, char *prob, size_t np, char *work, size_t nw) {
    int a, b, r;
    switch (level) {
    case 1: a = below(10); b = small ? 1 + below(small) : below(10); r = a + b;
        snprintf(prob, np, "What is %d + %d?", a, b); snprintf(work, nw, "%d + %d = %d", a, b, r); break;
    case 2: a = 10 + below(90); b = small ? 1 + below(small) : below(10); if (below(2)) { r = a + b; snprintf(prob, np, "What is %d + %d?", a, b); snprintf(work, nw, "%d + %d = %d", a, b, r); }
        else { r = a - b; snprintf(prob, np, "What is %d - %d?", a, b); snprintf(work, nw, "%d - %d = %d", a, b, r); } break;
    case 3: a = 2 + below(8); b = small ? 1 + below(small) : 2 + below(8); r = a * b;
        snprintf(prob, np, "What is %d * %d?", a, b); snprintf(work, nw, "%d * %d = %d", a, b, r); break;
    default: { const char *n = names[below(8)], *t = things[below(8)];
        a = 2 + below(30); b = 1 + below(small ? small : 20);
        if (below(2)) { r = a + b; snprintf(prob, np, "%s has %d %s and gets %d more. How many %s does %s have?", n, a, t, b, t, n);
                        snprintf(work, nw, "%d + %d = %d", a, b, r); }
        else { if (b > a) { int x = a; a = b; b = x; } r = a - b;
               snprintf(prob, np, "%s has %d %s and gives away %d. How many %s are left?", n, a, t, b, t);
               snprintf(work, nw, "%d - %d = %d", a, b, r); } }
    }
    return r;
}

int main(int argc, char **argv) {
    long n = 1000; uint64_t seed = 0; int test = 0, lo = 1, hi = 4, uniq = 0, nosol = 0, text = 0, small = 0; double noise = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc) n = atol(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], 0, 10);
        else if (!strcmp(argv[i], "--split") && i + 1 < argc) test = !strcmp(argv[++i], "test");
        else if (!strcmp(argv[i], "--noise") && i + 1 < argc) noise = atof(argv[++i]);
        else if (!strcmp(argv[i], "--levels") && i + 1 < argc) { if (sscanf(argv[++i], "%d-%d", &lo, &hi) == 1) hi = lo; }
        else if (!strcmp(argv[i], "--small") && i + 1 < argc) small = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--unique")) uniq = 1;
        else if (!strcmp(argv[i], "--no-solution")) nosol = 1;
        else if (!strcmp(argv[i], "--text")) text = 1;
        else { fprintf(stderr, "usage: gen_arith [--n N] [--seed S] [--split train|test] [--noise P] [--levels A-B] [--small K] [--unique] [--no-solution] [--text]\n"); return 2; }
    }
    if (lo < 1 || hi > 4 || lo > hi || n < 0 || noise < 0 || noise > 1 || small < 0 || small > 20) { fprintf(stderr, "gen_arith: bad --levels/--n/--noise\n"); return 2; }
    st = seed * 2654435761ull + (test ? 77 : 0);
    char prob[256], work[128], sol[512];
    long made = 0, tries = 0;
    /* --unique: an open-addressing set of problem hashes, twice the size of what is made */
    size_t cap = 16; while (uniq && cap < (size_t)n * 2 + 16) cap *= 2;
    uint64_t *seen = uniq ? calloc(cap, sizeof *seen) : NULL;
    if (uniq && !seen) { fprintf(stderr, "gen_arith: out of memory\n"); return 3; }
    while (made < n && tries < n * 1000) {
        tries++;
        int level = lo + below(hi - lo + 1);
        int r = make(level, small, prob, sizeof prob, work, sizeof work);
        uint64_t h = fnv(prob);
        if ((h % 5 == 0) != test) continue;                  /* the held-out fifth of all problems */
        if (uniq) {
            size_t j = (size_t)(h >> 8) & (cap - 1);
            uint64_t key = h | 1;                             /* 0 marks an empty slot */
            while (seen[j] && seen[j] != key) j = (j + 1) & (cap - 1);
            if (seen[j]) continue;
            seen[j] = key;
        }
        int shown = r;
        if (below(1000000) < (int)(noise * 1000000)) {          /* the imperfect teacher */
            int d = 1 + below(3); shown = below(2) ? r + d : r - d;
            char *eq = strrchr(work, '='); if (eq) snprintf(eq, sizeof work - (size_t)(eq - work), "= %d", shown);
        }
        if (text) printf("%s\n%s\n</think>\n\\boxed{%d}\n", prob, work, shown);
        else if (nosol)
            printf("{\"id\":\"arith-%s-%06ld\",\"problem\":\"%s\",\"answer\":\"%d\",\"level\":%d,\"bench\":\"arith\"}\n",
                   test ? "test" : "train", made, prob, r, level);
        else {
            snprintf(sol, sizeof sol, "%s\\n</think>\\n\\\\boxed{%d}", work, shown);
            printf("{\"id\":\"arith-%s-%06ld\",\"problem\":\"%s\",\"answer\":\"%d\",\"level\":%d,\"bench\":\"arith\",\"completion\":\"%s\"}\n",
                   test ? "test" : "train", made, prob, r, level, sol);
        }
        made++;
    }
    free(seen);
    if (made < n) fprintf(stderr, "gen_arith: only %ld distinct problems in levels %d-%d\n", made, lo, hi);
    return made == n ? 0 : 1;
}
