/* mathexpr.h — a bounded LaTeX math parser: a normalised answer string becomes a tree
 * (numbers, symbols, operators, functions, tuples, sets, intervals, relations, matrices)
 * in a fixed-size arena, and expressions evaluate in complex doubles at fixed points. */
#ifndef MRL_MATHEXPR_H
#define MRL_MATHEXPR_H
#include <complex.h>
#include <stdint.h>

enum {
    ME_NUM, ME_SYM, ME_ADD, ME_SUB, ME_MUL, ME_DIV, ME_POW, ME_NEG, ME_PM, ME_FN, ME_FACT,
    /* structure: kids are a sibling list */
    ME_TUPLE, ME_SET, ME_LIST, ME_IVL, ME_UNION, ME_REL, ME_MATRIX
};
enum { ME_REL_EQ, ME_REL_LT, ME_REL_LE, ME_REL_GT, ME_REL_GE, ME_REL_NE };
enum {
    ME_F_SIN, ME_F_COS, ME_F_TAN, ME_F_COT, ME_F_SEC, ME_F_CSC, ME_F_ASIN, ME_F_ACOS,
    ME_F_ATAN, ME_F_SINH, ME_F_COSH, ME_F_TANH, ME_F_LN, ME_F_LOG, ME_F_LOGB, ME_F_EXP,
    ME_F_SQRT, ME_F_ROOT, ME_F_ABS, ME_F_FLOOR, ME_F_CEIL, ME_F_BINOM, ME_F_ARG
};
/* flags */
#define ME_FLOAT   1u   /* ME_NUM written with a decimal point or exponent */
#define ME_LCLOSED 2u   /* ME_IVL: [a */
#define ME_RCLOSED 4u   /* ME_IVL: b] */
#define ME_PCT     8u   /* ME_NUM: written as a percentage */
#define ME_INT    16u   /* ME_NUM: an integer written in digits; lit[k] holds it mod me_prime[k] */

/* Two primes for exact integer arithmetic (2^61 - 1 and 2^63 - 25): a difference that is a
 * multiple of both (past 2^123) is all that could pass for equality. */
#define ME_NPRIMES 2
extern const uint64_t me_prime[ME_NPRIMES];

typedef struct me_node {
    uint8_t op, sub, flags;  /* sub: ME_REL_* for ME_REL, ME_F_* for ME_FN */
    int32_t kid, next;       /* first child, next sibling (-1: none) */
    int32_t nkids, aux;      /* aux: matrix columns; second relation of a chain; base
                              * of a numeral written 4210_{5} */
    union {
        double v;            /* ME_NUM value (real) */
        uint64_t sym;        /* ME_SYM: hash of the name */
    };
    uint64_t lit[ME_NPRIMES]; /* ME_NUM with ME_INT: the integer mod each prime (exact past 2^53) */
} me_node;

#define ME_MAX_NODES 1024
#define ME_MAX_DEPTH 64
#define ME_NPOINTS 5

typedef struct me_arena {
    me_node node[ME_MAX_NODES];
    int n;
    int depth;               /* parser recursion depth */
    int err;                 /* set on overflow or syntax error */
} me_arena;

/* Parse a normalised answer (answer.c's ans_normalize output) into a; returns the root
 * node index, or -1 when the text is not something this parser understands. */
int me_parse(me_arena *a, const char *s);
/* Value of expression node at evaluation point k (0..ME_NPOINTS-1): symbols take
 * values that depend only on (name, k). NaN when undefined or too deep. */
double complex me_eval(const me_arena *a, int node, int k);
/* The same with every a \pm b taken as a + sign*b (sign +1 or -1); me_eval instead gives
 * \pm a weight no ordinary expression produces, so a \pm b equals only itself. */
double complex me_eval_sign(const me_arena *a, int node, int k, int sign);
int me_has_pm(const me_arena *a, int node);
/* Does the subtree contain a symbol / a float literal? */
int me_has_sym(const me_arena *a, int node);
int me_is_expr(const me_arena *a, int node);   /* arithmetic (not tuple/set/...) */
/* Structural equality (same shape, same numbers and names), for values that do not
 * evaluate (overflow). */
int me_same(const me_arena *a, int x, const me_arena *b, int y);
/* The exact value of a rational expression (integers written in digits, + - * /, integer
 * powers, factorials) mod me_prime[k] in *r: 1, or 0 where it has anything else (a decimal,
 * a symbol, pi, a root, a function) or divides by a multiple of that prime. Two such
 * expressions are equal when their residues are under every prime both evaluate under,
 * which doubles cannot tell past 2^53 (2^100 - 2 against 2^100) or near 0 (2^-98 against 0). */
int me_eval_exact(const me_arena *a, int node, int k, uint64_t *r);
#endif
