/* mathexpr.c — recursive-descent parser from normalised LaTeX to an me_arena tree.
 * Bounded: ME_MAX_NODES nodes, ME_MAX_DEPTH recursion; anything else is a parse error. */
#include "mathexpr.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct mp {
    me_arena *a;
    const char *s;
    size_t i;
    int absdepth;            /* inside |...|: a '|' closes, it does not open */
} mp;

static uint64_t hash_name(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t k = 0; k < n; k++) {
        if (s[k] == '{' || s[k] == '}' || s[k] == ' ') continue;   /* x_{1} is x_1 */
        /* R and r (and \Delta and \delta) are one symbol, as in Math-Verify, which
         * lower-cases names */
        h ^= (unsigned char)tolower((unsigned char)s[k]);
        h *= 1099511628211ull;
    }
    return h ? h : 1;
}

static int node_new(mp *p, int op) {
    me_arena *a = p->a;
    if (a->n >= ME_MAX_NODES) { a->err = 1; return -1; }
    me_node *n = &a->node[a->n];
    memset(n, 0, sizeof *n);
    n->op = (uint8_t)op;
    n->kid = n->next = -1;
    return a->n++;
}

/* parent gets kids x (and y when >= 0) */
static int node2(mp *p, int op, int x, int y) {
    if (x < 0 || (y < 0 && op != ME_NEG && op != ME_FN && op != ME_FACT)) return -1;
    int n = node_new(p, op);
    if (n < 0) return -1;
    p->a->node[n].kid = x;
    p->a->node[n].nkids = 1;
    if (y >= 0) { p->a->node[x].next = y; p->a->node[n].nkids = 2; }
    return n;
}

static int num_node(mp *p, double v, int flags) {
    int n = node_new(p, ME_NUM);
    if (n < 0) return n;
    /* an integer a double holds exactly (pi, e and infinity are not; nor a decimal) */
    if (!(flags & ME_FLOAT) && v >= 0 && v == floor(v) && v < 9007199254740992.0) {
        flags |= ME_INT;
        for (int k = 0; k < ME_NPRIMES; k++) p->a->node[n].lit[k] = (uint64_t)v % me_prime[k];
    }
    p->a->node[n].v = v;
    p->a->node[n].flags = (uint8_t)flags;
    return n;
}

static void skip(mp *p) { while (p->s[p->i] == ' ') p->i++; }
static char peek(mp *p) { skip(p); return p->s[p->i]; }

/* "\name" at the cursor, not followed by a letter */
static int at_cmd(mp *p, const char *name) {
    skip(p);
    size_t k = strlen(name);
    const char *q = p->s + p->i;
    return q[0] == '\\' && strncmp(q + 1, name, k) == 0 && !isalpha((unsigned char)q[1 + k]);
}
static int eat_cmd(mp *p, const char *name) {
    if (!at_cmd(p, name)) return 0;
    p->i += strlen(name) + 1;
    return 1;
}
static int eat(mp *p, char c) {
    if (peek(p) != c) return 0;
    p->i++;
    return 1;
}

static int p_list(mp *p, const char *closers);
static int skip_subscript(mp *p);
static int p_sum(mp *p);
static int p_power(mp *p);
static int p_unary(mp *p);
static int p_primary(mp *p);

/* The relation at the cursor (consumed), or -1. */
static int p_relop(mp *p) {
    char c = peek(p);
    const char *q = p->s + p->i;
    if (c == '=') { p->i++; return ME_REL_EQ; }
    if (c == '<') { p->i += 1 + (q[1] == '='); return q[1] == '=' ? ME_REL_LE : ME_REL_LT; }
    if (c == '>') { p->i += 1 + (q[1] == '='); return q[1] == '=' ? ME_REL_GE : ME_REL_GT; }
    if (c == '!' && q[1] == '=') { p->i += 2; return ME_REL_NE; }
    static const struct { const char *n; int r; } ops[] = {
        {"leq", ME_REL_LE}, {"le", ME_REL_LE}, {"leqslant", ME_REL_LE}, {"geq", ME_REL_GE},
        {"ge", ME_REL_GE}, {"geqslant", ME_REL_GE}, {"lt", ME_REL_LT}, {"gt", ME_REL_GT},
        {"neq", ME_REL_NE}, {"ne", ME_REL_NE}, {"approx", ME_REL_EQ}, {"equiv", ME_REL_EQ}};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        if (eat_cmd(p, ops[k].n)) return ops[k].r;
    return -1;
}

/* A brace group "{...}" or a single token (digit, letter, command): \frac12, x^2. */
static int p_arg(mp *p) {
    char c = peek(p);
    if (c == '{') {
        p->i++;
        int r = p_list(p, "}");
        if (r < 0 || !eat(p, '}')) return -1;
        return r;
    }
    if (isdigit((unsigned char)c)) { p->i++; return num_node(p, c - '0', 0); }
    if (c == '-') { p->i++; return node2(p, ME_NEG, p_arg(p), -1); }
    return p_primary(p);
}

static int fn_node(mp *p, int f, int x, int y) {
    int n = node2(p, ME_FN, x, y);
    if (n >= 0) p->a->node[n].sub = (uint8_t)f;
    return n;
}

/* The argument of \sin, \log...: a parenthesised group, or a power and the implicit
 * product of plain factors that follow it ("\sin 2x"). */
static int p_fnarg(mp *p) {
    char c = peek(p);
    if (c == '(') {
        p->i++;
        int r = p_list(p, ")");
        if (r < 0 || !eat(p, ')')) return -1;
        return r;
    }
    int r = p_power(p);
    while (r >= 0) {
        c = peek(p);
        if (!(isalnum((unsigned char)c))) break;
        r = node2(p, ME_MUL, r, p_power(p));
    }
    return r;
}

static const struct { const char *n; int f; } fns[] = {
    {"sin", ME_F_SIN}, {"cos", ME_F_COS}, {"tan", ME_F_TAN}, {"cot", ME_F_COT},
    {"sec", ME_F_SEC}, {"csc", ME_F_CSC}, {"arcsin", ME_F_ASIN}, {"arccos", ME_F_ACOS},
    {"arctan", ME_F_ATAN}, {"sinh", ME_F_SINH}, {"cosh", ME_F_COSH}, {"tanh", ME_F_TANH},
    {"ln", ME_F_LN}, {"log", ME_F_LOG}, {"exp", ME_F_EXP}, {"lg", ME_F_LOG}};

static int p_function(mp *p, int f) {
    int power = -1, base = -1;
    for (int k = 0; k < 2; k++) {
        if (eat(p, '^')) power = p_arg(p);
        else if (eat(p, '_')) base = p_arg(p);
    }
    int arg = p_fnarg(p);
    if (arg < 0) return -1;
    int r;
    /* \sin^{-1} x is arcsin */
    if (power >= 0 && p->a->node[power].op == ME_NEG && p->a->node[p->a->node[power].kid].op == ME_NUM &&
        p->a->node[p->a->node[power].kid].v == 1 && f <= ME_F_TAN) {
        f = f == ME_F_SIN ? ME_F_ASIN : f == ME_F_COS ? ME_F_ACOS : ME_F_ATAN;
        power = -1;
    }
    if (f == ME_F_LOG && base >= 0) r = fn_node(p, ME_F_LOGB, arg, base);
    else r = fn_node(p, f, arg, -1);
    if (power >= 0) r = node2(p, ME_POW, r, power);
    return r;
}

static int p_number(mp *p) {
    const char *q = p->s + p->i;
    size_t k = 0;
    int flt = 0;
    while (isdigit((unsigned char)q[k])) k++;
    if (q[k] == '.' && isdigit((unsigned char)q[k + 1])) { flt = 1; k++; while (isdigit((unsigned char)q[k])) k++; }
    else if (q[k] == '.' && k == 0) return -1;
    else if (q[k] == '.' && (q[k + 1] == '/' || q[k + 1] == '*')) { flt = 1; k++; }   /* "1./3" */
    /* scientific notation 4.4e7, 1e-9 (a digit must follow; "2e" is 2 times e) */
    if ((q[k] == 'e' || q[k] == 'E') && (isdigit((unsigned char)q[k + 1]) ||
        ((q[k + 1] == '-' || q[k + 1] == '+') && isdigit((unsigned char)q[k + 2])))) {
        size_t j = k + 1 + (q[k + 1] == '-' || q[k + 1] == '+');
        while (isdigit((unsigned char)q[j])) j++;
        if (!isalpha((unsigned char)q[j])) { k = j; flt = 1; }
    }
    if (k > 400) return -1;
    char buf[512];
    memcpy(buf, q, k);
    buf[k] = 0;
    p->i += k;
    /* a numeral in base b, 4210_{5}: its digits, as Math-Verify reads it (a model that
     * writes "4210" for "in base 5" is right); the base is kept so _5 against _7 differs */
    int base = 0;
    if (p->s[p->i] == '_' && !flt) {
        size_t st = p->i + 1;
        if (skip_subscript(p) < 0) return -1;
        base = atoi(p->s + st + (p->s[st] == '{'));
        if (base <= 0) base = 1;
    }
    int n = num_node(p, strtod(buf, NULL), flt ? ME_FLOAT : 0);
    if (n >= 0) p->a->node[n].aux = base;
    if (n >= 0 && !flt && !(p->a->node[n].flags & ME_INT)) {   /* past 2^53: every digit, not the double */
        for (int j = 0; j < ME_NPRIMES; j++) {
            uint64_t r = 0;
            for (size_t d = 0; d < k; d++) r = (uint64_t)(((unsigned __int128)r * 10 + (unsigned)(buf[d] - '0')) % me_prime[j]);
            p->a->node[n].lit[j] = r;
        }
        p->a->node[n].flags |= ME_INT;
    }
    /* mixed number: 1\frac{1}{2} is 3/2 */
    if (!flt && at_cmd(p, "frac")) {
        size_t save = p->i;
        p->i += 5;
        int a = p_arg(p), b = a >= 0 ? p_arg(p) : -1;
        if (a >= 0 && b >= 0 && p->a->node[a].op == ME_NUM && p->a->node[b].op == ME_NUM &&
            !(p->a->node[a].flags & ME_FLOAT) && !(p->a->node[b].flags & ME_FLOAT))
            return node2(p, ME_ADD, n, node2(p, ME_DIV, a, b));
        p->i = save;
    }
    return n;
}

static int sym_node(mp *p, const char *name, size_t len) {
    int n = node_new(p, ME_SYM);
    if (n >= 0) p->a->node[n].sym = hash_name(name, len);
    return n;
}

/* Past "_x", "_{...}" or "_\\name" at the cursor. */
static int skip_subscript(mp *p) {
    p->i++;
    if (p->s[p->i] == '{') {
        int depth = 0;
        for (; p->s[p->i]; p->i++) {
            if (p->s[p->i] == '{') depth++;
            else if (p->s[p->i] == '}' && --depth == 0) { p->i++; return 0; }
        }
        return -1;
    }
    if (p->s[p->i] == '\\') {
        p->i++;
        while (isalpha((unsigned char)p->s[p->i])) p->i++;
        return 0;
    }
    if (!p->s[p->i]) return -1;
    p->i++;
    return 0;
}

/* A letter with its subscript: x, x_1, a_{n+1}; e alone is Euler's number. */
static int p_letter(mp *p) {
    const char *q = p->s + p->i;
    /* plain-text function names */
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
        size_t l = strlen(fns[k].n);
        if (strncmp(q, fns[k].n, l) == 0 && !isalpha((unsigned char)q[l]) && l > 1) {
            p->i += l;
            return p_function(p, fns[k].f);
        }
    }
    if (!strncmp(q, "sqrt", 4) && !isalpha((unsigned char)q[4])) { p->i += 4; return fn_node(p, ME_F_SQRT, p_fnarg(p), -1); }
    size_t start = p->i;
    p->i++;
    if (p->s[p->i] == '_') {
        if (skip_subscript(p) < 0) return -1;
        return sym_node(p, p->s + start, p->i - start);
    }
    if (q[0] == 'e' || q[0] == 'E') return num_node(p, M_E, 0);
    return sym_node(p, q, 1);
}

static int p_matrix(mp *p) {
    /* \begin{pmatrix} a & b \\ c & d \end{pmatrix}; the cursor is after "\begin" */
    if (!eat(p, '{')) return -1;
    const char *e = strchr(p->s + p->i, '}');
    if (!e) return -1;
    p->i = (size_t)(e - p->s) + 1;
    if (peek(p) == '{') {  /* array column spec */
        e = strchr(p->s + p->i, '}');
        if (!e) return -1;
        p->i = (size_t)(e - p->s) + 1;
    }
    int m = node_new(p, ME_MATRIX), last = -1, rows = 0, cols = -1, inrow = 0;
    if (m < 0) return -1;
    for (;;) {
        if (at_cmd(p, "end")) {
            p->i += 4;
            if (eat(p, '{')) { e = strchr(p->s + p->i, '}'); if (!e) return -1; p->i = (size_t)(e - p->s) + 1; }
            break;
        }
        int x = p_sum(p);
        if (x < 0) return -1;
        if (last < 0) p->a->node[m].kid = x; else p->a->node[last].next = x;
        last = x;
        p->a->node[m].nkids++;
        inrow++;
        if (eat(p, '&')) continue;
        skip(p);
        if (p->s[p->i] == '\\' && p->s[p->i + 1] == '\\') {
            p->i += 2;
            if (cols >= 0 && cols != inrow) return -1;
            cols = inrow, inrow = 0, rows++;
            continue;
        }
        if (at_cmd(p, "end")) continue;
        return -1;
    }
    if (inrow) {
        if (cols >= 0 && cols != inrow) return -1;
        cols = inrow, rows++;
    }
    if (rows == 0) return -1;
    p->a->node[m].aux = cols;
    return m;
}

/* '(' / '[' opened: a group, a tuple, or an interval by its closing bracket. */
static int p_bracket(mp *p, char open) {
    int r = p_list(p, ")]");
    if (r < 0) return -1;
    char close = peek(p);
    if (close != ')' && close != ']') return -1;
    p->i++;
    me_node *n = &p->a->node[r];
    int two = n->op == ME_LIST && n->nkids == 2;
    if (open == '(' && close == ')') {
        if (n->op == ME_LIST) n->op = ME_TUPLE;
        return r;
    }
    if (open == '[' && close == ']' && !two) {
        if (n->op == ME_LIST) n->op = ME_TUPLE;
        return r;
    }
    if (!two) return -1;
    n->op = ME_IVL;
    n->flags = (uint8_t)((open == '[' ? ME_LCLOSED : 0) | (close == ']' ? ME_RCLOSED : 0));
    return r;
}

static int p_command(mp *p) {
    const char *q = p->s + p->i + 1;
    size_t l = 0;
    while (isalpha((unsigned char)q[l])) l++;
    if (l == 0) {
        if (q[0] == '{') {                      /* \{ ... \} */
            p->i += 2;
            if (peek(p) == '\\' && p->s[p->i + 1] == '}') { p->i += 2; return node_new(p, ME_SET); }
            int r = p_list(p, "\\");
            if (r < 0 || !(p->s[p->i] == '\\' && p->s[p->i + 1] == '}')) return -1;
            p->i += 2;
            if (p->a->node[r].op == ME_LIST) { p->a->node[r].op = ME_SET; return r; }
            int s = node_new(p, ME_SET);
            if (s < 0) return -1;
            p->a->node[s].kid = r;
            p->a->node[s].nkids = 1;
            return s;
        }
        return -1;
    }
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++)
        if (eat_cmd(p, fns[k].n)) return p_function(p, fns[k].f);
    if (eat_cmd(p, "frac")) { int a = p_arg(p); return node2(p, ME_DIV, a, a >= 0 ? p_arg(p) : -1); }
    if (eat_cmd(p, "binom")) { int a = p_arg(p); return fn_node(p, ME_F_BINOM, a, a >= 0 ? p_arg(p) : -1); }
    if (eat_cmd(p, "sqrt")) {
        int idx = -1;
        if (eat(p, '[')) { idx = p_list(p, "]"); if (idx < 0 || !eat(p, ']')) return -1; }
        int x = p_arg(p);
        return idx >= 0 ? fn_node(p, ME_F_ROOT, x, idx) : fn_node(p, ME_F_SQRT, x, -1);
    }
    if (eat_cmd(p, "pi")) return num_node(p, M_PI, 0);
    if (eat_cmd(p, "infty") || eat_cmd(p, "infin")) return num_node(p, INFINITY, 0);
    if (eat_cmd(p, "emptyset") || eat_cmd(p, "varnothing")) return node_new(p, ME_SET);
    if (eat_cmd(p, "lfloor") || eat_cmd(p, "lceil")) {
        int f = p->s[p->i - 1] == 'r' ? ME_F_FLOOR : ME_F_CEIL;
        int x = p_sum(p);
        if (!eat_cmd(p, "rfloor") && !eat_cmd(p, "rceil")) return -1;
        return fn_node(p, f, x, -1);
    }
    if (eat_cmd(p, "begin")) return p_matrix(p);
    if (eat_cmd(p, "mathbb") || eat_cmd(p, "mathcal") || eat_cmd(p, "vec") || eat_cmd(p, "overline") || eat_cmd(p, "hat") ||
        eat_cmd(p, "dot") || eat_cmd(p, "ddot")) {
        int x = p_arg(p);
        if (x < 0) return -1;
        /* a name with its subscript, as latex2sympy reads \dot{x}_{0}: one symbol, named by
           the whole command (\dot{x} and \ddot{x} are two) */
        if (p->s[p->i] == '_' && skip_subscript(p) < 0) return -1;
        return sym_node(p, q, (size_t)(p->s + p->i - q));
    }
    /* other names (\alpha, \theta, \angle...) are symbols; operators are not primaries */
    static const char *const notprim[] = {"cdot", "times", "div", "pm", "mp", "cup", "cap",
        "le", "leq", "ge", "geq", "lt", "gt", "ne", "neq", "approx", "to", "right", "end",
        "ldots", "setminus", "rfloor", "rceil", "in", "mid", "equiv", "leqslant", "geqslant", NULL};
    for (int k = 0; notprim[k]; k++)
        if (strlen(notprim[k]) == l && !strncmp(q, notprim[k], l)) return -1;
    size_t start = p->i;
    p->i += l + 1;
    if (p->s[p->i] == '_' && skip_subscript(p) < 0) return -1;   /* \alpha_1 */
    return sym_node(p, p->s + start, p->i - start);
}

static int p_primary(mp *p) {
    if (++p->a->depth > ME_MAX_DEPTH) { p->a->err = 1; return -1; }
    char c = peek(p);
    int r = -1;
    if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)p->s[p->i + 1]))) r = p_number(p);
    else if (isalpha((unsigned char)c)) r = p_letter(p);
    else if (c == '\\') r = p_command(p);
    else if (c == '(' || c == '[') { p->i++; r = p_bracket(p, c); }
    else if (c == '{') {
        p->i++;
        r = p_list(p, "}");
        if (r >= 0 && !eat(p, '}')) r = -1;
        if (r >= 0 && p->a->node[r].op == ME_LIST) p->a->node[r].op = ME_SET;
    } else if (c == '|') {
        p->i++;
        p->absdepth++;
        r = p_sum(p);
        p->absdepth--;
        if (r >= 0 && !eat(p, '|')) r = -1;
        if (r >= 0) r = fn_node(p, ME_F_ABS, r, -1);
    }
    p->a->depth--;
    return r;
}

static int p_postfix(mp *p) {
    int r = p_primary(p);
    while (r >= 0) {
        char c = peek(p);
        if (c == '!' && p->s[p->i + 1] != '=') { p->i++; r = node2(p, ME_FACT, r, -1); }
        else if (c == '\'') { p->i++; }
        else break;
    }
    return r;
}

static int p_power(mp *p) {
    int b = p_postfix(p);
    if (b >= 0 && eat(p, '^')) {
        if (++p->a->depth > ME_MAX_DEPTH) { p->a->err = 1; return -1; }
        int e = p_arg(p);
        p->a->depth--;
        b = node2(p, ME_POW, b, e);
        while (b >= 0 && peek(p) == '!') { p->i++; b = node2(p, ME_FACT, b, -1); }
    }
    return b;
}

static int p_unary(mp *p) {
    if (++p->a->depth > ME_MAX_DEPTH) { p->a->err = 1; return -1; }
    int r;
    if (eat(p, '-')) r = node2(p, ME_NEG, p_unary(p), -1);
    else if (eat_cmd(p, "pm") || eat_cmd(p, "mp")) r = node2(p, ME_PM, num_node(p, 0, 0), p_unary(p));
    else if (eat(p, '+')) r = p_unary(p);
    else r = p_power(p);
    p->a->depth--;
    return r;
}

/* Can the text at the cursor start an implicit factor ("2x", "3(x+1)", "2\pi")? */
static int starts_factor(mp *p) {
    char c = peek(p);
    if (isalnum((unsigned char)c) || c == '(' || c == '[' || c == '{' || (c == '.' && isdigit((unsigned char)p->s[p->i + 1]))) return 1;
    if (c == '|') return p->absdepth == 0;
    if (c == '\\') {
        const char *q = p->s + p->i + 1;
        if (!isalpha((unsigned char)*q)) return *q == '{' ? 0 : 0;
        static const char *const no[] = {"cdot", "times", "div", "pm", "mp", "cup", "cap", "le",
            "leq", "ge", "geq", "lt", "gt", "ne", "neq", "approx", "to", "right", "end", "ldots",
            "setminus", "rfloor", "rceil", "in", "mid", "equiv", "leqslant", "geqslant", "quad", NULL};
        size_t l = 0;
        while (isalpha((unsigned char)q[l])) l++;
        for (int k = 0; no[k]; k++) if (strlen(no[k]) == l && !strncmp(q, no[k], l)) return 0;
        return 1;
    }
    return 0;
}

static int p_term(mp *p) {
    int r = p_unary(p);
    while (r >= 0) {
        char c = peek(p);
        if (c == '*' || eat_cmd(p, "cdot") || eat_cmd(p, "times")) {
            if (c == '*') p->i++;
            r = node2(p, ME_MUL, r, p_unary(p));
        } else if (c == '/' || c == ':' || eat_cmd(p, "div")) {   /* a ratio 1:3 */
            if (c == '/' || c == ':') p->i++;
            r = node2(p, ME_DIV, r, p_unary(p));
        } else if (starts_factor(p)) {
            r = node2(p, ME_MUL, r, p_power(p));
        } else break;
    }
    return r;
}

static int p_sum(mp *p) {
    if (++p->a->depth > ME_MAX_DEPTH) { p->a->err = 1; return -1; }
    int r = p_term(p);
    while (r >= 0) {
        char c = peek(p);
        if (c == '+') { p->i++; r = node2(p, ME_ADD, r, p_term(p)); }
        else if (c == '-') { p->i++; r = node2(p, ME_SUB, r, p_term(p)); }
        else if (eat_cmd(p, "pm") || eat_cmd(p, "mp")) r = node2(p, ME_PM, r, p_term(p));
        else break;
    }
    p->a->depth--;
    return r;
}

static int p_rel(mp *p) {
    int l = p_sum(p);
    if (l < 0) return -1;
    int op = p_relop(p);
    if (op < 0) return l;
    int r = p_sum(p);
    int n = node2(p, ME_REL, l, r);
    if (n < 0) return -1;
    p->a->node[n].sub = (uint8_t)op;
    int op2 = p_relop(p);                         /* 0 < x < 1 */
    if (op2 >= 0) {
        int r2 = p_sum(p);
        if (r2 < 0) return -1;
        p->a->node[r].next = r2;
        p->a->node[n].nkids = 3;
        p->a->node[n].aux = op2;
    }
    return n;
}

static int p_union(mp *p) {
    int x = p_rel(p);
    if (x < 0 || !at_cmd(p, "cup")) return x;
    int u = node_new(p, ME_UNION), last = x;
    if (u < 0) return -1;
    p->a->node[u].kid = x;
    p->a->node[u].nkids = 1;
    while (eat_cmd(p, "cup")) {
        int y = p_rel(p);
        if (y < 0) return -1;
        p->a->node[last].next = y;
        last = y;
        p->a->node[u].nkids++;
    }
    return u;
}

/* Items separated by ',' or ';' up to one of the closers (not consumed) or the end. */
static int p_list(mp *p, const char *closers) {
    if (++p->a->depth > ME_MAX_DEPTH) { p->a->err = 1; return -1; }
    int first = -1, last = -1, n = 0;
    for (;;) {
        char c = peek(p);
        if (eat_cmd(p, "ldots")) { if (!eat(p, ',')) break; continue; }
        int x = p_union(p);
        if (x < 0) { first = -1; break; }
        if (first < 0) first = x; else p->a->node[last].next = x;
        last = x;
        n++;
        c = peek(p);
        if (c == ',' || c == ';') { p->i++; continue; }
        if (c == '\\' && p->s[p->i + 1] == '\\') { p->i += 2; continue; }
        break;
    }
    p->a->depth--;
    char c = peek(p);
    if (first < 0 || (c && !strchr(closers, c))) return -1;
    if (n == 1) return first;
    int l = node_new(p, ME_LIST);
    if (l < 0) return -1;
    p->a->node[l].kid = first;
    p->a->node[l].nkids = n;
    return l;
}

int me_parse(me_arena *a, const char *s) {
    mp p = {a, s, 0, 0};
    a->n = 0;
    a->depth = 0;
    a->err = 0;
    int r = p_list(&p, "");
    if (a->err || r < 0 || peek(&p) != 0) return -1;
    return r;
}
