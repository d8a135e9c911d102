/* equiv.c — equivalence of normalised answers. First version: exact string equality
 * after normalisation, and plain numbers compared with a relative tolerance. */
#include "equiv.h"
#include "answer.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A plain number: integer, decimal, a/b, \frac{a}{b}, sci notation. */
static int plain_number(const char *s, double *v) {
    char *e;
    int neg = 0;
    if (*s == '-') neg = 1, s++;
    if (!strncmp(s, "\\frac{", 6)) {
        double a = strtod(s + 6, &e);
        if (e == s + 6 || strncmp(e, "}{", 2)) return 0;
        const char *t = e + 2;
        double b = strtod(t, &e);
        if (e == t || strcmp(e, "}")) return 0;
        *v = (neg ? -a : a) / b;
        return 1;
    }
    if (!isdigit((unsigned char)*s) && *s != '.') return 0;
    double a = strtod(s, &e);
    if (*e == '/') {
        const char *t = e + 1;
        double b = strtod(t, &e);
        if (e == t) return 0;
        a /= b;
    }
    if (*e) return 0;
    *v = neg ? -a : a;
    return 1;
}

int eq_equiv(const char *pred, const char *gold) {
    if (!gold) return 2;
    char *g = ans_normalize(gold);
    if (!g || !*g) { free(g); return 2; }
    if (!pred) { free(g); return 0; }
    char *p = ans_normalize(pred);
    int r = 0;
    if (p && strcmp(p, g) == 0) r = 1;
    else if (p) {
        double a, b;
        if (plain_number(p, &a) && plain_number(g, &b))
            r = fabs(a - b) <= 1e-6 * fmax(fabs(a), fabs(b)) || a == b;
    }
    free(p);
    free(g);
    return r;
}

int eq_gold_parses(const char *gold) {
    char *g = ans_normalize(gold);
    int ok = g && *g;
    free(g);
    return ok;
}
