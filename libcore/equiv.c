/* equiv.c — equivalence of normalised answers: exact text first, then both sides parsed
 * (mathexpr) and compared by kind: numbers, expressions by value, tuples, sets, intervals. */
#include "equiv.h"
#include "answer.h"
#include "mathexpr.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EQ_MAX_ITEMS 64
#define EQ_MAX_LEN 4000     /* below answer.c's normalisation cap */

typedef struct eq_side {
    me_arena a;
    int pct;                 /* the text had a % sign: 50% may mean 50 or 0.5 */
} eq_side;

typedef struct vals {
    double complex v[ME_NPOINTS];
    int sym, flt, inf;       /* has symbols / a decimal literal / an infinite value */
    int exact[ME_NPRIMES];   /* an exact rational (no symbol, no decimal): its residue res[k] */
    uint64_t res[ME_NPRIMES];
} vals;

static int has_float(const me_arena *a, int i) {
    if (i < 0) return 0;
    const me_node *n = &a->node[i];
    if (n->op == ME_NUM) return (n->flags & ME_FLOAT) != 0;
    if (n->op == ME_SYM) return 0;
    for (int j = n->kid; j >= 0; j = a->node[j].next)
        if (has_float(a, j)) return 1;
    return 0;
}

static int has_inf_literal(const me_arena *a, int i) {
    if (i < 0) return 0;
    const me_node *n = &a->node[i];
    if (n->op == ME_NUM) return isinf(n->v);
    if (n->op == ME_SYM) return 0;
    for (int j = n->kid; j >= 0; j = a->node[j].next)
        if (has_inf_literal(a, j)) return 1;
    return 0;
}

/* Values at the evaluation points; sign 0: \pm as its own operator, +1/-1: one branch. */
static void get_vals_sign(const me_arena *a, int i, int sign, vals *out) {
    out->sym = me_has_sym(a, i);
    out->flt = has_float(a, i);
    out->inf = 0;
    /* once per value, not once per pairing: a set of 64 items with factorials (10^4 steps
       each) took seconds, every pairing evaluating both sides again */
    for (int k = 0; k < ME_NPRIMES; k++)
        out->exact[k] = !out->sym && !out->flt && me_eval_exact(a, i, k, &out->res[k]);
    int n = out->sym ? ME_NPOINTS : 1;
    for (int k = 0; k < n; k++) {
        out->v[k] = me_eval_sign(a, i, k, sign);
        if (isinf(creal(out->v[k])) || isinf(cimag(out->v[k]))) out->inf = 1;
    }
}

static void get_vals(const me_arena *a, int i, vals *out) { get_vals_sign(a, i, 0, out); }

/* Two numbers, the way Math-Verify compares them: with a decimal literal on either side,
 * rounded to 6 places (1/3 = 0.333333, 1234567 != 1234567.1); else exactly — integers
 * bit for bit, other values up to double rounding. mrl adds one thing: decimals below
 * 1e-3 or from 1e9 up (scientific notation, 1.325e-27, 4.4e10) compare to a relative
 * 1e-6, where six decimal places would say nothing or demand every digit. */
static int close_num(double complex x, double complex y, int flt) {
    if (x == y) return 1;
    if (x != x || y != y) return 0;
    double d = cabs(x - y), s = fmax(cabs(x), cabs(y));
    if (isinf(s)) return 0;
    int real = cimag(x) == 0 && cimag(y) == 0;
    if (flt) {
        if (real && s >= 1e-3 && s < 1e9) return round(creal(x) * 1e6) == round(creal(y) * 1e6);
        return d <= 1e-6 * s;
    }
    if (real && creal(x) == floor(creal(x)) && creal(y) == floor(creal(y)) && s < 9e15) return 0;
    return d <= 1e-11 * s + 1e-14;
}

static int close_vals(const vals *g, const vals *p) {
    /* a relative 1e-6 is a decimal literal's rounding; without one the values are exact up to
       double rounding, and 1e-6 made 1000001x equal 1000000x */
    double rel = g->flt || p->flt ? 1e-6 : 1e-9;
    if (g->sym != p->sym) {
        /* one side is constant: equal only if the other is constant in value too (never an
         * infinite one: |s - inf| <= 1e-6 |inf| holds for every s) */
        const vals *s = g->sym ? g : p, *c = g->sym ? p : g;
        if (!isfinite(creal(c->v[0])) || !isfinite(cimag(c->v[0]))) return 0;
        /* relative to the constant; only a 0 gets an absolute slack (x - x against 1e-27 is not) */
        double tol = c->v[0] == 0 ? 1e-18 : rel * cabs(c->v[0]);
        for (int k = 0; k < ME_NPOINTS; k++)
            if (!(cabs(s->v[k] - c->v[0]) <= tol)) return 0;
        return 1;
    }
    if (!g->sym) return close_num(g->v[0], p->v[0], g->flt || p->flt);
    int good = 0;
    for (int k = 0; k < ME_NPOINTS; k++) {
        double complex x = g->v[k], y = p->v[k];
        int nx = x != x, ny = y != y;
        if (nx || ny) { if (nx != ny) return 0; continue; }
        if (x == y) { good++; continue; }
        double d = cabs(x - y), s = fmax(cabs(x), cabs(y));
        if (isinf(s) || !(d <= rel * s + 1e-10)) return 0;
        good++;
    }
    return good > 0;
}

static int cmp(const eq_side *G, int g, const eq_side *P, int p);

/* Two expressions whose values a, b are already computed. */
static int cmp_expr_vals(const eq_side *G, int g, const vals *pa, const eq_side *P, int p, const vals *pb) {
    const me_node *x = &G->a.node[g], *y = &P->a.node[p];
    if (x->op == ME_NUM && y->op == ME_NUM && x->aux && y->aux && x->aux != y->aux) return 0;
    vals a = *pa, b = *pb;
    /* two exact rationals are equal or not, whatever doubles make of them (Math-Verify
     * compares them in sympy: 2^{100} - 2 is not 2^{100}, 2^{-98} is not 0, 2^{2000} is
     * 4^{1000} though both overflow); equal under every prime both sides evaluate under */
    if (!a.sym && !b.sym && !a.flt && !b.flt) {
        int decided = 0, same = 1;
        for (int k = 0; k < ME_NPRIMES; k++)
            if (a.exact[k] && b.exact[k]) decided = 1, same &= a.res[k] == b.res[k];
        if (decided && same) return 1;
        if (decided) goto percent;
    }
    if ((a.inf || b.inf) && !(a.sym || b.sym)) {
        if (a.v[0] == b.v[0] && has_inf_literal(&G->a, g) && has_inf_literal(&P->a, p)) return 1;
        return me_same(&G->a, g, &P->a, p);     /* overflowed values: same shape only */
    }
    if (a.inf || b.inf) return me_same(&G->a, g, &P->a, p);   /* with symbols too: x + \infty is not y + \infty */
    if (close_vals(&a, &b)) return 1;
percent:
    if (G->pct != P->pct && !a.sym && !b.sym) {
        /* 50% against 0.5 or 50; with a percent sign on both sides the numbers are the values
           (1% is not 100%) */
        if (P->pct && close_num(a.v[0], b.v[0] / 100, 1)) return 1;
        if (G->pct && close_num(a.v[0] / 100, b.v[0], 1)) return 1;
    }
    return 0;
}

static int cmp_expr(const eq_side *G, int g, const eq_side *P, int p) {
    vals a, b;
    get_vals(&G->a, g, &a);
    get_vals(&P->a, p, &b);
    return cmp_expr_vals(G, g, &a, P, p, &b);
}

static int kid(const me_arena *a, int i, int n) {
    int j = a->node[i].kid;
    while (j >= 0 && n-- > 0) j = a->node[j].next;
    return j;
}

/* Items of two lists, in order or as multisets. */
static int cmp_items(const eq_side *G, int g, const eq_side *P, int p, int ordered) {
    const me_node *x = &G->a.node[g], *y = &P->a.node[p];
    if (x->nkids != y->nkids || x->nkids > EQ_MAX_ITEMS) return 0;
    if (ordered) {
        for (int i = x->kid, j = y->kid; i >= 0 && j >= 0; i = G->a.node[i].next, j = P->a.node[j].next)
            if (!cmp(G, i, P, j)) return 0;
        return 1;
    }
    unsigned char used[EQ_MAX_ITEMS] = {0};
    /* sets of expressions: evaluate each item once, not once per pairing */
    int gi[EQ_MAX_ITEMS], pi[EQ_MAX_ITEMS], n = 0, allexpr = 1;
    for (int i = x->kid, j = y->kid; i >= 0 && j >= 0; i = G->a.node[i].next, j = P->a.node[j].next, n++) {
        gi[n] = i, pi[n] = j;
        allexpr &= me_is_expr(&G->a, i) && me_is_expr(&P->a, j);
    }
    if (allexpr) {
        vals gv[EQ_MAX_ITEMS], pv[EQ_MAX_ITEMS];
        for (int k = 0; k < n; k++) get_vals(&G->a, gi[k], &gv[k]), get_vals(&P->a, pi[k], &pv[k]);
        for (int k = 0; k < n; k++) {
            int found = 0;
            for (int m = 0; m < n && !found; m++)
                if (!used[m] && cmp_expr_vals(G, gi[k], &gv[k], P, pi[m], &pv[m])) used[m] = 1, found = 1;
            if (!found) return 0;
        }
        return 1;
    }
    for (int i = x->kid; i >= 0; i = G->a.node[i].next) {
        int found = 0, k = 0;
        for (int j = y->kid; j >= 0; j = P->a.node[j].next, k++)
            if (!used[k] && cmp(G, i, P, j)) { used[k] = 1; found = 1; break; }
        if (!found) return 0;
    }
    return 1;
}

static int is_listy_op(int op) { return op == ME_LIST || op == ME_SET; }

/* One value a list stands for: "1\pm\sqrt2" stands for two, "x = 3" for 3. */
typedef struct entry { int node; vals v; } entry;

static int assigned_value(const me_arena *a, int i) {
    const me_node *n = &a->node[i];
    if (n->op == ME_REL && n->sub == ME_REL_EQ && n->nkids == 2 && a->node[n->kid].op == ME_SYM)
        return n->kid >= 0 ? a->node[n->kid].next : i;
    return i;
}

/* The values of a list, a \pm expression or an assignment, \pm expanded as Math-Verify
 * does (into both branches); -1 when an item is not an expression or there are too many. */
static int expand(const eq_side *S, int node, entry *out, int max) {
    const me_arena *a = &S->a;
    node = assigned_value(a, node);
    int n = 0, first = is_listy_op(a->node[node].op) ? a->node[node].kid : node;
    for (int i = first; i >= 0; i = is_listy_op(a->node[node].op) ? a->node[i].next : -1) {
        int item = assigned_value(a, i);
        if (!me_is_expr(a, item)) return -1;
        int pm = me_has_pm(a, item);
        for (int s = pm ? 1 : 0; s >= (pm ? -1 : 0); s -= 2) {
            if (n >= max) return -1;
            out[n].node = item;
            get_vals_sign(a, item, s, &out[n].v);
            n++;
            if (!pm) break;
        }
    }
    return n;
}

static int cmp_expr_vals(const eq_side *G, int g, const vals *pa, const eq_side *P, int p, const vals *pb);

/* Both sides as multisets of values (used when a \pm is involved). -1: not applicable. */
static int cmp_expanded(const eq_side *G, int g, const eq_side *P, int p) {
    enum { MAXE = 2 * EQ_MAX_ITEMS };
    entry *e = malloc(2 * MAXE * sizeof *e);
    if (!e) return 0;
    int ng = expand(G, g, e, MAXE), np = ng < 0 ? -1 : expand(P, p, e + MAXE, MAXE), r;
    if (ng < 0 || np < 0) r = -1;
    else if (ng != np) r = 0;
    else {
        unsigned char used[MAXE] = {0};
        r = 1;
        for (int k = 0; k < ng && r; k++) {
            int found = 0;
            for (int m = 0; m < np && !found; m++)
                if (!used[m] && cmp_expr_vals(G, e[k].node, &e[k].v, P, e[MAXE + m].node, &e[MAXE + m].v))
                    used[m] = 1, found = 1;
            r = found;
        }
    }
    free(e);
    return r;
}

/* lhs - rhs of a relation as values, with < / <= turned round to > / >= */
static void rel_vals(const eq_side *S, int r, vals *out, int *op) {
    vals l, rr;
    int a = kid(&S->a, r, 0), b = kid(&S->a, r, 1);
    get_vals(&S->a, a, &l);
    get_vals(&S->a, b, &rr);
    *op = S->a.node[r].sub;
    int flip = *op == ME_REL_LT || *op == ME_REL_LE;
    if (*op == ME_REL_LT) *op = ME_REL_GT;
    if (*op == ME_REL_LE) *op = ME_REL_GE;
    out->sym = l.sym || rr.sym;
    out->flt = l.flt || rr.flt;
    out->inf = l.inf || rr.inf;
    for (int k = 0; k < ME_NPRIMES; k++) out->exact[k] = 0;
    for (int k = 0; k < ME_NPOINTS; k++) {
        double complex x = l.sym ? l.v[k] : l.v[0], y = rr.sym ? rr.v[k] : rr.v[0];
        out->v[k] = flip ? y - x : x - y;
    }
}

static int cmp_rel(const eq_side *G, int g, const eq_side *P, int p) {
    if (G->a.node[g].nkids != 2 || P->a.node[p].nkids != 2) return me_same(&G->a, g, &P->a, p);
    vals a, b;
    int opa, opb;
    rel_vals(G, g, &a, &opa);
    rel_vals(P, p, &b, &opb);
    if (opa != opb) return 0;
    if (close_vals(&a, &b)) return 1;
    /* the same relation scaled: 2y = 4x + 6 is y = 2x + 3 (Math-Verify solves; a constant
     * ratio of lhs - rhs is that for linear rescaling); inequalities only by c > 0 */
    if (!a.sym || !b.sym) return 0;
    double complex c = 0;
    for (int k = 0; k < ME_NPOINTS; k++) {
        if (a.v[k] != a.v[k] || b.v[k] != b.v[k]) return 0;
        if (cabs(a.v[k]) < 1e-9 || cabs(b.v[k]) < 1e-9) {
            if (cabs(a.v[k]) < 1e-9 && cabs(b.v[k]) < 1e-9) continue;
            return 0;
        }
        double complex r = b.v[k] / a.v[k];
        if (c == 0) c = r;
        else if (!(cabs(r - c) <= (a.flt || b.flt ? 1e-6 : 1e-9) * cabs(c))) return 0;
    }
    if (c == 0 || isinf(creal(c)) || isinf(cimag(c))) return 0;
    return opa == ME_REL_EQ || opa == ME_REL_NE || (cimag(c) == 0 && creal(c) > 0);
}

/* [a,b] against a <= x <= b (a chain with a name in the middle) */
static int ivl_chain(const eq_side *IS, int iv, const eq_side *C, int ch) {
    const me_node *c = &C->a.node[ch];
    int a = kid(&C->a, ch, 0), x = kid(&C->a, ch, 1), b = kid(&C->a, ch, 2);
    if (C->a.node[x].op != ME_SYM) return 0;
    int lo = c->sub, hi = c->aux;
    if (!((lo == ME_REL_LT || lo == ME_REL_LE) && (hi == ME_REL_LT || hi == ME_REL_LE))) return 0;
    int flags = (lo == ME_REL_LE ? ME_LCLOSED : 0) | (hi == ME_REL_LE ? ME_RCLOSED : 0);
    if (IS->a.node[iv].flags != flags) return 0;
    return cmp(IS, kid(&IS->a, iv, 0), C, a) && cmp(IS, kid(&IS->a, iv, 1), C, b);
}

/* gold (a, \infty) against "x > a", [a, \infty) against "x >= a", and the left rays */
static int ivl_ray(const eq_side *IS, int iv, const eq_side *C, int rel) {
    int l = kid(&C->a, rel, 0), r = kid(&C->a, rel, 1), op = C->a.node[rel].sub;
    if (C->a.node[r].op == ME_SYM && C->a.node[l].op != ME_SYM) {   /* 0 < x */
        int t = l; l = r; r = t;
        op = op == ME_REL_LT ? ME_REL_GT : op == ME_REL_GT ? ME_REL_LT : op == ME_REL_LE ? ME_REL_GE : op == ME_REL_GE ? ME_REL_LE : op;
    }
    if (C->a.node[l].op != ME_SYM || me_has_sym(&C->a, r)) return 0;
    int lo = kid(&IS->a, iv, 0), hi = kid(&IS->a, iv, 1), fl = IS->a.node[iv].flags;
    double complex vlo = me_eval(&IS->a, lo, 0), vhi = me_eval(&IS->a, hi, 0);
    if (op == ME_REL_GT || op == ME_REL_GE) {
        if (!(isinf(creal(vhi)) && creal(vhi) > 0)) return 0;
        if (((fl & ME_LCLOSED) != 0) != (op == ME_REL_GE)) return 0;
        return cmp(IS, lo, C, r);
    }
    if (op == ME_REL_LT || op == ME_REL_LE) {
        if (!(isinf(creal(vlo)) && creal(vlo) < 0)) return 0;
        if (((fl & ME_RCLOSED) != 0) != (op == ME_REL_LE)) return 0;
        return cmp(IS, hi, C, r);
    }
    return 0;
}

static int is_listy(int op) { return op == ME_LIST || op == ME_SET; }

static int cmp(const eq_side *G, int g, const eq_side *P, int p) {
    const me_node *x = &G->a.node[g], *y = &P->a.node[p];
    if (me_has_pm(&G->a, g) || me_has_pm(&P->a, p)) {
        int r = cmp_expanded(G, g, P, p);
        if (r >= 0) return r;
    }
    if (me_is_expr(&G->a, g) && me_is_expr(&P->a, p)) return cmp_expr(G, g, P, p);
    if (x->op == ME_REL && y->op == ME_REL) return cmp_rel(G, g, P, p);
    /* A gold equation against a value that is no relation: its right side, whatever the left
     * ("x = 5", "\angle A = 30^\circ", "AB = 7", "2x = 4" against "5", "30", "7", "4"), as
     * Math-Verify takes a gold's last relation's right side; a predicted equation against a
     * gold value only as a plain assignment ("x = 5" for "5", not "2x = 5") */
    if (x->op == ME_REL && x->sub == ME_REL_EQ && x->nkids == 2 && y->op != ME_REL)
        return cmp(G, kid(&G->a, g, 1), P, p);
    if (y->op == ME_REL && y->sub == ME_REL_EQ && y->nkids == 2 && P->a.node[y->kid].op == ME_SYM)
        return cmp(G, g, P, kid(&P->a, p, 1));
    if (x->op == ME_IVL && y->op == ME_REL && y->nkids == 3) return ivl_chain(G, g, P, p);
    if (y->op == ME_IVL && x->op == ME_REL && x->nkids == 3) return ivl_chain(P, p, G, g);
    /* as Math-Verify in open-rs's argument order: a gold list against a written tuple
     * keeps the tuple's order ("5,15" vs "(15,5)" is wrong); a gold tuple against a
     * bare list does not ("(1,2)" vs "2,1" is right) */
    if (is_listy(x->op) && is_listy(y->op)) return cmp_items(G, g, P, p, 0);
    if (is_listy(x->op) && (y->op == ME_TUPLE || (y->op == ME_IVL && y->flags == 0)))
        return cmp_items(G, g, P, p, 1);
    if ((x->op == ME_TUPLE || (x->op == ME_IVL && x->flags == 0)) && y->op == ME_LIST)   /* a set is no tuple */
        return cmp_items(G, g, P, p, 0);
    if ((x->op == ME_IVL || (x->op == ME_TUPLE && x->nkids == 2)) && y->op == ME_REL && y->nkids == 2)
        return ivl_ray(G, g, P, p);
    if (x->op == ME_TUPLE && y->op == ME_TUPLE) return cmp_items(G, g, P, p, 1);
    if (x->op == ME_IVL || y->op == ME_IVL) {
        int fx = x->op == ME_IVL ? x->flags : x->op == ME_TUPLE ? 0 : -1;
        int fy = y->op == ME_IVL ? y->flags : y->op == ME_TUPLE ? 0 : -1;
        return fx >= 0 && fx == fy && cmp_items(G, g, P, p, 1);
    }
    if (x->op == ME_UNION && y->op == ME_UNION) return cmp_items(G, g, P, p, 0);
    if (x->op == ME_MATRIX && y->op == ME_MATRIX) return x->aux == y->aux && cmp_items(G, g, P, p, 1);
    return 0;
}

static int words_only(const char *s) {
    int letters = 0;
    for (; *s; s++) {
        if (isalpha((unsigned char)*s)) letters++;
        else if (*s != ' ' && *s != '-' && *s != '\'') return 0;
    }
    return letters > 1;
}

/* Words compared as words: case and spaces ignored, letters in order ("Amy" is not "May",
 * as a product of letters would have it). */
static int same_words(const char *a, const char *b) {
    for (;;) {
        while (*a == ' ') a++;
        while (*b == ' ') b++;
        if (!*a || !*b) return !*a && !*b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
        a++, b++;
    }
}

/* The gold was written as text (\text{Devon}, \mathrm{Monday}): a name or a word, not a
 * product of variables. */
static int gold_is_text(const char *gold) {
    return strstr(gold, "\\text") || strstr(gold, "\\mathrm") || strstr(gold, "\\mbox");   /* "\text" finds "\textbf" too */
}

/* The word "percent" on its own ("percentile", "percentage points" are other things). */
static int percent_word(const char *s) {
    for (const char *p = s; (p = strstr(p, "percent")); p += 7)
        if ((p == s || !isalpha((unsigned char)p[-1])) && !isalpha((unsigned char)p[7])) return 1;
    return 0;
}

int eq_equiv(const char *pred, const char *gold) {
    if (!gold) return 2;
    /* longer than any answer: a gold is not checkable, a prediction is not an answer
     * (normalisation would cut both, and cut strings must not compare equal) */
    if (strnlen(gold, EQ_MAX_LEN + 1) > EQ_MAX_LEN) return 2;
    char *g = ans_normalize_ex(gold, 1);
    if (!g || !*g) { free(g); return 2; }
    char *p = pred && strnlen(pred, EQ_MAX_LEN + 1) <= EQ_MAX_LEN ? ans_normalize_ex(pred, 1) : NULL;
    /* no answer (none, empty, too long) is wrong, but only once the gold is known to be
       checkable: a gold this checker cannot read is 2 whatever the prediction, so that
       every sample of a problem gets the same unparsed-gold verdict */
    int none = !p || !*p;
    int r = 0;
    eq_side *S = NULL;
    if (!none && strcmp(p, g) == 0) { r = 1; goto done; }
    int words = words_only(g);
    if (words && gold_is_text(gold)) { r = !none && same_words(p, g); goto done; }
    S = malloc(2 * sizeof *S);
    if (!S) goto done;
    int gi = me_parse(&S[0].a, g);
    /* words the parser cannot read ("Stan": s times tan of nothing) are still a gold answer:
       compared as words, never "unparsed" (which would reward any boxed answer) */
    if (gi < 0 && words) { r = !none && same_words(p, g); goto done; }
    if (gi < 0) { r = 2; goto done; }
    if (none) goto done;
    int pi = me_parse(&S[1].a, p);
    if (pi < 0) goto done;
    /* "50\\%" and "50 percent" (a unit word the normalisation drops) */
    S[0].pct = strchr(gold, '%') || percent_word(gold);
    S[1].pct = strchr(pred, '%') || percent_word(pred);
    r = cmp(&S[0], gi, &S[1], pi);
done:
    free(S);
    free(p);
    free(g);
    return r;
}

int eq_gold_parses(const char *gold) {
    char *g = ans_normalize(gold);
    int ok = 0;
    if (g && *g) {
        me_arena *a = malloc(sizeof *a);
        ok = a && (me_parse(a, g) >= 0 || words_only(g));
        free(a);
    }
    free(g);
    return ok;
}
