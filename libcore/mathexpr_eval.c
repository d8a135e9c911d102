/* mathexpr_eval.c — evaluation of me_arena expressions in complex doubles at fixed
 * points, and structural comparison; recursion bounded so no input can exhaust a stack. */
#include "mathexpr.h"
#include <math.h>
#include <string.h>

/* above any tree the parser can build (ME_MAX_NODES), so it only guards corruption */
#define EVAL_MAX_DEPTH (ME_MAX_NODES + 8)

/* The value of a symbol at point k: three positive reals and two negative ones (catch
 * sqrt(x^2) vs x); real, as Math-Verify's symbols are; a pure function of the name, so
 * both sides of a comparison agree without sharing state. Complex values still arise
 * (roots and logs of negatives) and are compared as such. */
static double complex sym_value(uint64_t h, int k) {
    uint64_t x = h * 0x9E3779B97F4A7C15ull + (uint64_t)(k + 1) * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    double u = (double)(x >> 11) * 0x1.0p-53;          /* [0,1) */
    /* magnitudes from 0.35 to ~40, so floor/ceil and large-argument behaviour differ */
    static const double scale[ME_NPOINTS] = {1.0, 3.7, 11.3, -1.0, -5.3};
    double v = (0.35 + 1.6 * u) * scale[k < ME_NPOINTS ? k : 0];
    return v;
}

static double complex binom_c(double complex n, double complex k) {
    if (cimag(n) != 0 || cimag(k) != 0) return NAN;
    double a = creal(n), b = creal(k);
    if (a == floor(a) && b == floor(b) && a >= 0 && a <= 1e4) {
        if (b < 0 || b > a) return 0;
        if (b > a - b) b = a - b;
        double r = 1;
        for (int i = 1; i <= (int)b; i++) r = r * (a - b + i) / i;
        return round(r) == r || r > 1e15 ? r : round(r);
    }
    return tgamma(a + 1) / (tgamma(b + 1) * tgamma(a - b + 1));
}

static double complex fact_c(double complex n) {
    if (cimag(n) != 0) return NAN;
    double a = creal(n);
    if (a < 0 && a == floor(a)) return NAN;
    if (a > 171) return INFINITY;
    if (a == floor(a)) {            /* exact while it fits: integers compare bit for bit */
        double r = 1;
        for (int i = 2; i <= (int)a; i++) r *= i;
        return r;
    }
    return tgamma(a + 1);
}

static double complex pow_c(double complex b, double complex e) {
    if (cimag(b) == 0 && cimag(e) == 0) {
        double x = creal(b), y = creal(e);
        if (x >= 0 || y == floor(y)) return pow(x, y);
    }
    if (b == 0) return creal(e) > 0 ? 0 : NAN;
    return cpow(b, e);
}

static double complex ev(const me_arena *a, int i, int k, int depth, int sign);

static double complex fn_c(const me_arena *a, const me_node *n, int k, int depth, int sign) {
    double complex x = ev(a, n->kid, k, depth, sign);
    double complex y = n->nkids > 1 ? ev(a, a->node[n->kid].next, k, depth, sign) : 0;
    switch (n->sub) {
    case ME_F_SIN: return csin(x);
    case ME_F_COS: return ccos(x);
    case ME_F_TAN: return ctan(x);
    case ME_F_COT: return 1 / ctan(x);
    case ME_F_SEC: return 1 / ccos(x);
    case ME_F_CSC: return 1 / csin(x);
    case ME_F_ASIN: return casin(x);
    case ME_F_ACOS: return cacos(x);
    case ME_F_ATAN: return catan(x);
    case ME_F_SINH: return csinh(x);
    case ME_F_COSH: return ccosh(x);
    case ME_F_TANH: return ctanh(x);
    case ME_F_LN: return cimag(x) == 0 && creal(x) > 0 ? log(creal(x)) : clog(x);
    /* \log without a base is base 10, as in Math-Verify and in competition problems */
    case ME_F_LOG: return (cimag(x) == 0 && creal(x) > 0 ? log(creal(x)) : clog(x)) / M_LN10;
    case ME_F_LOGB: return (cimag(x) == 0 && creal(x) > 0 ? log(creal(x)) : clog(x)) /
                           (cimag(y) == 0 && creal(y) > 0 ? log(creal(y)) : clog(y));
    case ME_F_EXP: return cexp(x);
    case ME_F_SQRT: return cimag(x) == 0 && creal(x) >= 0 ? sqrt(creal(x)) : csqrt(x);
    case ME_F_ROOT: return pow_c(x, 1 / y);   /* principal root, as sympy's x**(1/n) */
    case ME_F_ABS: return cabs(x);
    case ME_F_FLOOR: return cimag(x) == 0 ? floor(creal(x)) : NAN;
    case ME_F_CEIL: return cimag(x) == 0 ? ceil(creal(x)) : NAN;
    case ME_F_BINOM: return binom_c(x, y);
    default: return NAN;
    }
}

static double complex ev(const me_arena *a, int i, int k, int depth, int sign) {
    if (i < 0 || depth > EVAL_MAX_DEPTH) return NAN;
    const me_node *n = &a->node[i];
    depth++;
    int j = n->kid;
    switch (n->op) {
    case ME_NUM: return n->flags & ME_PCT ? n->v / 100 : n->v;
    case ME_SYM: return sym_value(n->sym, k);
    case ME_ADD: return ev(a, j, k, depth, sign) + ev(a, a->node[j].next, k, depth, sign);
    case ME_SUB: return ev(a, j, k, depth, sign) - ev(a, a->node[j].next, k, depth, sign);
    /* a ± b: b enters with a weight no ordinary expression produces */
    case ME_PM: return ev(a, j, k, depth, sign) +
                       (sign ? sign : 0.7390851332 + 0.1234 * I) * ev(a, a->node[j].next, k, depth, sign);
    case ME_MUL: return ev(a, j, k, depth, sign) * ev(a, a->node[j].next, k, depth, sign);
    case ME_DIV: return ev(a, j, k, depth, sign) / ev(a, a->node[j].next, k, depth, sign);
    case ME_POW: return pow_c(ev(a, j, k, depth, sign), ev(a, a->node[j].next, k, depth, sign));
    case ME_NEG: return -ev(a, j, k, depth, sign);
    case ME_FN: return fn_c(a, n, k, depth, sign);
    case ME_FACT: return fact_c(ev(a, j, k, depth, sign));
    default: return NAN;
    }
}

double complex me_eval(const me_arena *a, int node, int k) { return ev(a, node, k, 0, 0); }

/* ---- exact rational values mod a prime ---- */
const uint64_t me_prime[ME_NPRIMES] = {(1ull << 61) - 1, (1ull << 63) - 25};

static uint64_t mod_mul(uint64_t x, uint64_t y, uint64_t P) { return (uint64_t)((unsigned __int128)x * y % P); }
static uint64_t mod_pow(uint64_t x, uint64_t e, uint64_t P) {
    uint64_t r = 1;
    for (; e; e >>= 1, x = mod_mul(x, x, P)) if (e & 1) r = mod_mul(r, x, P);
    return r;
}
static uint64_t mod_inv(uint64_t x, uint64_t P) { return mod_pow(x, P - 2, P); }   /* x != 0: Fermat */

static int exact(const me_arena *a, int i, int k, uint64_t *r, int depth);

/* The integer value of an exact subtree, when it is one of at most `lim` in magnitude. */
static int exact_small_int(const me_arena *a, int i, int k, double lim, long *out) {
    uint64_t r, P = me_prime[k];
    if (!exact(a, i, k, &r, 0)) return 0;
    double complex z = ev(a, i, 0, 0, 0);
    double v = creal(z);
    if (cimag(z) != 0 || v != floor(v) || fabs(v) > lim) return 0;
    /* the double and the residue must agree (they do for any integer below 2^53) */
    uint64_t rv = (uint64_t)fabs(v) % P;
    if ((v < 0 ? (P - rv) % P : rv) != r) return 0;
    *out = (long)v;
    return 1;
}

static int exact(const me_arena *a, int i, int k, uint64_t *r, int depth) {
    if (i < 0 || depth > EVAL_MAX_DEPTH) return 0;
    const me_node *n = &a->node[i];
    const uint64_t P = me_prime[k];
    int j = n->kid;
    uint64_t x, y;
    long e;
    switch (n->op) {
    case ME_NUM:
        if (!(n->flags & ME_INT) || n->aux) return 0;
        *r = n->flags & ME_PCT ? mod_mul(n->lit[k], mod_inv(100, P), P) : n->lit[k];
        return 1;
    case ME_ADD: case ME_SUB: case ME_MUL: case ME_DIV:
        if (!exact(a, j, k, &x, depth + 1) || !exact(a, a->node[j].next, k, &y, depth + 1)) return 0;
        if (n->op == ME_ADD) *r = (x + y) % P;
        else if (n->op == ME_SUB) *r = (x + P - y) % P;
        else if (n->op == ME_MUL) *r = mod_mul(x, y, P);
        else if (y == 0) return 0;
        else *r = mod_mul(x, mod_inv(y, P), P);
        return 1;
    case ME_NEG:
        if (!exact(a, j, k, &x, depth + 1)) return 0;
        *r = (P - x) % P;
        return 1;
    case ME_POW:   /* an integer exponent of at most a million */
        if (!exact(a, j, k, &x, depth + 1) || !exact_small_int(a, a->node[j].next, k, 1e6, &e)) return 0;
        if (e < 0 && x == 0) return 0;
        *r = mod_pow(e < 0 ? mod_inv(x, P) : x, (uint64_t)(e < 0 ? -e : e), P);
        return 1;
    case ME_FACT:  /* n! for n up to 10000 (a thousand of them in one answer stay fast) */
        if (!exact_small_int(a, j, k, 1e4, &e) || e < 0) return 0;
        x = 1;
        for (long t = 2; t <= e; t++) x = mod_mul(x, (uint64_t)t, P);
        *r = x;
        return 1;
    default: return 0;
    }
}

int me_eval_exact(const me_arena *a, int node, int k, uint64_t *r) { return exact(a, node, k, r, 0); }
double complex me_eval_sign(const me_arena *a, int node, int k, int sign) { return ev(a, node, k, 0, sign); }

int me_has_pm(const me_arena *a, int i) {
    if (i < 0) return 0;
    const me_node *n = &a->node[i];
    if (n->op == ME_PM) return 1;
    for (int j = n->kid; j >= 0; j = a->node[j].next)
        if (me_has_pm(a, j)) return 1;
    return 0;
}

int me_has_sym(const me_arena *a, int i) {
    if (i < 0) return 0;
    const me_node *n = &a->node[i];
    if (n->op == ME_SYM) return 1;
    for (int j = n->kid, c = 0; j >= 0 && c < ME_MAX_NODES; j = a->node[j].next, c++)
        if (me_has_sym(a, j)) return 1;
    return 0;
}

int me_is_expr(const me_arena *a, int i) { return i >= 0 && a->node[i].op <= ME_FACT; }

static int same(const me_arena *a, int x, const me_arena *b, int y, int depth) {
    if (x < 0 || y < 0) return x == y;
    if (depth > EVAL_MAX_DEPTH) return 0;
    const me_node *m = &a->node[x], *n = &b->node[y];
    if (m->op != n->op || m->sub != n->sub || m->nkids != n->nkids || m->aux != n->aux) return 0;
    if (m->op == ME_NUM && !(m->v == n->v || (m->v != m->v && n->v != n->v))) return 0;
    if (m->op == ME_SYM && m->sym != n->sym) return 0;
    if (m->op == ME_IVL && m->flags != n->flags) return 0;
    for (int i = m->kid, j = n->kid; i >= 0 || j >= 0; i = a->node[i].next, j = b->node[j].next)
        if (i < 0 || j < 0 || !same(a, i, b, j, depth + 1)) return 0;
    return 1;
}

int me_same(const me_arena *a, int x, const me_arena *b, int y) { return same(a, x, b, y, 0); }
