/* lighteval.c — the answer the Open-RS study's evaluation read from a completion:
 * lighteval's extractive match, i.e. Math-Verify 0.5.2's
 *   parse(pred, [ExprExtractionConfig(), LatexExtractionConfig(boxed_match_priority=0)],
 *         fallback_mode="first_match", extraction_mode="any_match")
 * (OPEN-RS.md §2.1). Its regexes are rebuilt here (PCRE2, UTF with Unicode properties, as
 * Python's re reads a str) in their priority groups: 0 (a box; "final answer is X. I hope"),
 * 50 ("final answer ... is X"), 100 ("answer: X"), 200 ("answer ... X") and 300 (any LaTeX
 * environment, expression with an operator, or number in the text). Within a group the
 * matches of all its patterns are tried from the one that ends last; the first that parses
 * is the answer, and when none in any group parses, the text of the first one tried.
 * Whether a match parses is decided by mrl: numbers always, an expression by Python's
 * grammar (what sympy's parse_expr accepts of digits and + - * / ^ ( )), LaTeX by mrl's
 * own parser (eq_gold_parses) standing in for latex2sympy. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "answer.h"
#include "equiv.h"
#include "mathexpr.h"
#include "tokenizer.h"
#include <pcre2.h>
#include "rx.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the patterns (Math-Verify's lazy_expr_regex and lazy_latex_regex) ---- */

/* Python's \s on a str: what str.isspace() holds, which PCRE2's \s does not all match
   (U+001C..U+001F); PYS_SET goes inside a class */
#define PYS_SET                                                                           \
    "\\t-\\r\\x1c-\\x20\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}" \
    "\\x{205f}\\x{3000}"
#define PYS "[" PYS_SET "]"
#define OPS "\\+\\-\\*\\x{d7}\\/\\^\\(\\)\\x{f7}"
#define EXPR_CHARS "[\\d\\." PYS_SET OPS "]"
#define EXPR_RE "(?<expr>-?\\(?-?\\d" EXPR_CHARS "*[" OPS "]" EXPR_CHARS "+\\)?)"
/* Math-Verify's percent is \s*(?:%|[Pp]ercent|\s*[Pp]ercentage|\s*[Pp]ct): the same matches as
   one possessive \s*+ (% or a word must follow the blanks), without its two nested \s* trying every
   split of a long blank run ("5" and 100k newlines took half a minute: quadratic) */
#define NUMBER_RE                                                                        \
    "(?:(?<integer1>-?\\d{1,3}(?:[ ,]\\d{3})+)(?<decimal1>\\.\\d+)?"                     \
    "|(?<integer2>-?\\d+)(?<decimal2>[.,]\\d+)|(?<decimal3>\\.\\d+)|(?<integer3>-?\\d+))" \
    "(?<percent>" PYS "*+(?:%|[Pp]ercent|[Pp]ercentage|[Pp]ct))?"
#define CURRENCY                                                                           \
    "[$\\x{20ac}\\x{a3}\\x{a5}\\x{20b9}\\x{20bd}\\x{20aa}\\x{20a9}\\x{20ab}\\x{e3f}\\x{20a1}" \
    "-\\x{20a8}\\x{20ad}-\\x{20b8}\\x{20ba}-\\x{20bc}\\x{20be}\\x{20bf}]"
#define EXPR_PREFIX "(?:^|" PYS "|\\=)(?:\\*\\*)?"
#define EXPR_SUFFIX "(?:\\*\\*)?(?:\\.|,|:|" PYS "|\\)|\\$|$)"
#define EXPR_ANCHORED "(?:" EXPR_PREFIX EXPR_RE EXPR_SUFFIX ")"
#define NUMBER_ANCHORED "(?:" EXPR_PREFIX CURRENCY "?" NUMBER_RE ")"
#define EXPR_OR_NUMBER "(?:" EXPR_ANCHORED "|" NUMBER_ANCHORED ")"

/* "%s" below is a list of LaTeX environments (make_list) */
enum { K_EXPR, K_LATEX };
typedef struct { const char *fmt; int prio, kind, boxed; } pat_def;
/* in Math-Verify's order (expression patterns first, as the study's config lists them);
   sorting by priority keeps that order within a group */
static const pat_def DEFS[] = {
    {"(?i:final answer is)\\:?" PYS "*" EXPR_OR_NUMBER "\\.?" PYS "?I hope", 0, K_EXPR, 0},
    {"(?i:final answer.{0,100}?)" PYS "+is\\:?" EXPR_OR_NUMBER, 50, K_EXPR, 0},
    {"(?i:answer):(?:.{0,100}=" PYS "*|.{0,50}?)" EXPR_OR_NUMBER "(?!" PYS "*=)", 100, K_EXPR, 0},
    {"(?i:answer)(?:.{0,100}=" PYS "*|.{0,50}?)" EXPR_OR_NUMBER "(?!" PYS "*=)", 200, K_EXPR, 0},
    {EXPR_ANCHORED, 300, K_EXPR, 0},
    {NUMBER_ANCHORED, 300, K_EXPR, 0},
    {"(?i:final answer is)\\:?" PYS "*%s\\.?" PYS "?I hope", 0, K_LATEX, 0},
    {"(?i:final answer.{0,100}?)" PYS "+is\\:?" PYS "*%s", 50, K_LATEX, 0},
    {"(?i:answer):.{0,50}?%s", 100, K_LATEX, 0},
    {"(?i:answer).{0,50}?%s", 200, K_LATEX, 0},
    {"%s", 300, K_LATEX, 0},
    {"%s", 0, K_LATEX, 1},                                        /* environments with a box */
    {"(?<first_latexBoxed>\\\\boxed\\{.+\\})", 0, K_LATEX, 2},    /* first box to last brace */
};
enum { NDEF = sizeof DEFS / sizeof *DEFS, NENV = 6 };
static const char *const ENV_NAMES[] = {"latexDisplayDollar", "latexDisplayBracket",
                                        "latexInlineDollar", "latexInlineParenthesis",
                                        "latexInlineBracket", "latexFraction", "latexBoxed"};
enum { NENV_NAMES = sizeof ENV_NAMES / sizeof *ENV_NAMES };
static const char *const PREFIX[NENV] = {"first_", "next1_", "next2_", "next3_", "next4_", "next5_"};

/* One environment (make_latex_env_pattern), its groups named with prefix p; boxed: only
   environments whose content holds a \boxed{} (and no bare fraction). */
static void env_re(char *o, size_t cap, const char *p, int boxed) {
    const char *dd = "(?:[^$]|\\$(?!\\$))", *db = "(?:[^\\\\]|\\\\(?!\\]))",
               *id = "(?:\\\\[$]|[^\\n$])", *ip = "(?:[^\\\\\\n]|\\\\(?!\\)))", *ib = "[^\\n\\]\\[]";
    char c[5][256];
    const char *in[5] = {dd, db, id, ip, ib};
    for (int k = 0; k < 5; k++)
        if (boxed) snprintf(c[k], sizeof c[k], "%s*?\\\\boxed\\{%s+?\\}%s*?", in[k], in[k], in[k]);
        else snprintf(c[k], sizeof c[k], "%s+?", in[k]);
    char frac[160] = "";
    if (!boxed)
        snprintf(frac, sizeof frac, "|(?<%slatexFraction>-?\\\\frac\\{-?\\d+(?:[.,]\\d+)?\\}"
                 "\\{-?\\d+(?:[.,]\\d+)?\\})", p);
    snprintf(o, cap,
             "(?:(?:(?<!\\\\)\\$\\$(?<%slatexDisplayDollar>%s)(?<!\\\\)\\$\\$"
             "|(?<!\\\\)\\\\\\[(?<%slatexDisplayBracket>%s)(?<!\\\\)\\\\\\]"
             "|(?<!\\\\|\\d)\\$(?<%slatexInlineDollar>%s)(?<!\\\\)\\$"
             "|(?<!\\\\)\\\\\\((?<%slatexInlineParenthesis>%s)(?<!\\\\)\\\\\\)"
             "|" PYS "\\[(?<%slatexInlineBracket>%s)\\]" PYS "%s)"
             PYS "*(?<%spercent>(?:\\\\?%%|[Pp]ercent|[Pp]ercentage|[Pp]ct))?)",
             p, c[0], p, c[1], p, c[2], p, c[3], p, c[4], frac, p);
}

/* The first environment and up to five more joined by "and", "or" or ",". */
static char *make_list(int boxed) {
    size_t cap = 16384, n = 0;
    char *o = malloc(cap), env[2048];
    if (!o) return NULL;
    for (int j = 0; j < NENV; j++) {
        env_re(env, sizeof env, PREFIX[j], boxed);
        n += (size_t)snprintf(o + n, cap - n, j ? "(?:" PYS "*(?:and|or|,)" PYS "*%s)?" : "%s", env);
    }
    return o;
}

typedef struct {
    pcre2_code *re;
    int expr, integer[3], decimal[3], percent;     /* group numbers, expression patterns */
    int env[NENV][NENV_NAMES], env_pct[NENV];       /* group numbers (0: none), LaTeX ones */
} pat;
static pat P[NDEF];
static int lv_ready;
static pthread_once_t lv_once = PTHREAD_ONCE_INIT;

static int group(const pcre2_code *re, const char *name) {
    int g = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
    return g > 0 ? g : 0;
}

static void lv_init(void) {
    char *list = make_list(0), *blist = make_list(1);
    size_t cap = 40000;
    char *src = malloc(cap);
    int ok = list && blist && src;
    for (int k = 0; ok && k < NDEF; k++) {
        const pat_def *d = &DEFS[k];
        /* only the LaTeX patterns are formats (their "%s" is the list of environments): the
           expression patterns hold a bare '%' of their own, the percent sign */
        if (d->kind == K_LATEX && d->boxed != 2) snprintf(src, cap, d->fmt, d->boxed == 1 ? blist : list);
        else snprintf(src, cap, "%s", d->fmt);
        int ec;
        PCRE2_SIZE off;
        uint32_t fl = PCRE2_UTF | PCRE2_UCP | (d->kind == K_LATEX ? PCRE2_DOTALL : 0);
        pat *p = &P[k];
        p->re = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, fl, &ec, &off, NULL);
        if (!p->re) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ec, msg, sizeof msg);
            fprintf(stderr, "mrl: internal error: lighteval pattern %d at %zu: %s\n", k,
                    (size_t)off, (char *)msg);
            ok = 0;
            break;
        }
        pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE);   /* optional */
        if (d->kind == K_EXPR) {
            char nm[24];   /* "decimal" and any int: no truncation warning at -O1 */
            p->expr = group(p->re, "expr");
            p->percent = group(p->re, "percent");
            for (int i = 0; i < 3; i++) {
                snprintf(nm, sizeof nm, "integer%d", i + 1), p->integer[i] = group(p->re, nm);
                snprintf(nm, sizeof nm, "decimal%d", i + 1), p->decimal[i] = group(p->re, nm);
            }
        } else {
            char nm[64];
            for (int j = 0; j < NENV; j++) {
                for (int e = 0; e < NENV_NAMES; e++) {
                    snprintf(nm, sizeof nm, "%s%s", PREFIX[j], ENV_NAMES[e]);
                    p->env[j][e] = group(p->re, nm);
                }
                snprintf(nm, sizeof nm, "%spercent", PREFIX[j]);
                p->env_pct[j] = group(p->re, nm);
            }
        }
    }
    free(list), free(blist), free(src);
    lv_ready = ok;
}

/* ---- what a match yields ---- */

typedef struct { char *p; size_t n, cap; } buf;
static void put(buf *b, const char *s, size_t n) {
    if (!b->p && !(b->p = malloc(b->cap = 64))) return;
    if (b->n + n + 1 > b->cap) {
        size_t c = (b->n + n + 1) * 2;
        char *q = realloc(b->p, c);
        if (!q) return;
        b->p = q, b->cap = c;
    }
    memcpy(b->p + b->n, s, n), b->n += n, b->p[b->n] = 0;
}
static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* The length of the Python whitespace character (str.isspace(), PYS) at s[0..n), else 0. */
static size_t py_space(const char *s, size_t n) { return tok_space_at(s, n, 1); }
/* Python's str.strip(): s[0..*n) without the whitespace at either end (s is valid UTF-8). */
static const char *py_strip(const char *s, size_t *n) {
    size_t k, i = 0, end = 0;
    while (i < *n && (k = py_space(s + i, *n - i))) i += k;
    const char *b = s + i;
    for (size_t j = i; j < *n;) {
        if ((k = py_space(s + j, *n - j))) { j += k; continue; }
        j++;
        while (j < *n && ((unsigned char)s[j] & 0xc0) == 0x80) j++;
        end = j;
    }
    *n = end > i ? end - i : 0;
    return b;
}

/* Would sympy's parse_expr (Python's grammar; no implicit products) read this expression of
 * digits, '.', spaces and + - * / ^ ( ) × ÷ once '^' is '**'? */
typedef struct { const char *s; size_t i, n; int paren; } py;
static int py_tok(py *t, char *k, size_t *len) {   /* 'n' number, an operator, 0 end, -1 bad */
    /* between tokens Python takes ' ', '\t' and '\f' ('\n' is a space by then); '\r' ends
       the line (an error) unless a parenthesis is open; other whitespace is no Python */
    while (t->i < t->n && ((t->s[t->i] && strchr(" \t\f\n", t->s[t->i])) || (t->s[t->i] == '\r' && t->paren)))
        t->i++;
    if (t->i >= t->n) return *k = 0, 0;
    const char *s = t->s + t->i;
    size_t r = t->n - t->i;
    if ((*s >= '0' && *s <= '9') || (*s == '.' && r > 1 && s[1] >= '0' && s[1] <= '9')) {
        size_t j = 0, dot = 0;
        while (j < r && ((s[j] >= '0' && s[j] <= '9') || (s[j] == '.' && !dot++))) j++;
        /* Python: "007" is an error, "000" and "0.5" are not */
        if (!dot && j > 1 && s[0] == '0') {
            for (size_t z = 0; z < j; z++) if (s[z] != '0') return -1;
        }
        *k = 'n', *len = j, t->i += j;
        return 1;
    }
    if (*s == '*' && r > 1 && s[1] == '*') return *k = 'P', *len = 2, t->i += 2, 1;
    if (*s == '^') return *k = 'P', *len = 1, t->i += 1, 1;
    if (*s == '/' && r > 1 && s[1] == '/') return *k = '/', *len = 2, t->i += 2, 1;
    if (*s && strchr("+-*/()", *s)) {
        t->paren += *s == '(' ? 1 : *s == ')' && t->paren ? -1 : 0;
        return *k = *s, *len = 1, t->i += 1, 1;
    }
    return -1;   /* '.', '×', '÷': not Python */
}
typedef struct { py t; char k; size_t len; int bad, depth; } pyp;
static void py_next(pyp *p) { if (py_tok(&p->t, &p->k, &p->len) < 0) p->bad = 1, p->k = 0; }
static void py_expr(pyp *p);
static void py_factor(pyp *p) {
    if (p->bad || ++p->depth > 200) { p->bad = 1; return; }
    if (p->k == '+' || p->k == '-') { py_next(p); py_factor(p); p->depth--; return; }
    if (p->k == 'n') py_next(p);
    else if (p->k == '(') {
        py_next(p), py_expr(p);
        if (p->k != ')') p->bad = 1;
        else py_next(p);
    } else p->bad = 1;
    /* Python rejects "2(3)" only when it runs (an Integer is not callable): both fail */
    if (!p->bad && p->k == 'P') py_next(p), py_factor(p);
    p->depth--;
}
static void py_expr(pyp *p) {
    py_factor(p);
    while (!p->bad && (p->k == '+' || p->k == '-' || p->k == '*' || p->k == '/'))
        py_next(p), py_factor(p);
}
static int py_parses(const char *s, size_t n) {
    s = py_strip(s, &n);   /* parse_expr strips the text */
    pyp p = {{s, 0, n, 0}, 0, 0, 0, 0};
    py_next(&p);
    py_expr(&p);
    return !p.bad && p.k == 0;
}

/* The content of s's boxes, as latex2sympy2_extended's extract_boxed_content: from the
 * right, each \boxed{}/\fbox{} up to its matching brace; "all" joins every box by ",",
 * "last" (all=0) the last one and those before it joined to it by "and", "or" or ",". An
 * unclosed box (or one without a brace) that comes last is taken to the end of the text. */
static int sep_only(const char *s, size_t n) {
    size_t i = 0, k;
    while (i < n && (k = py_space(s + i, n - i))) i += k;
    if (i + 3 <= n && !memcmp(s + i, "and", 3)) i += 3;
    else if (i + 2 <= n && !memcmp(s + i, "or", 2)) i += 2;
    else if (i < n && s[i] == ',') i++;
    else return 0;
    while (i < n && (k = py_space(s + i, n - i))) i += k;
    return i == n;
}
static const char *rfind(const char *s, size_t n, const char *w) {
    size_t l = strlen(w);
    for (size_t i = n >= l ? n - l + 1 : 0; i-- > 0;)
        if (!memcmp(s + i, w, l)) return s + i;
    return NULL;
}
typedef struct { const char *p; size_t n; } span;
static void boxed_content(buf *o, const char *s, size_t n, int all) {
    span *a = NULL;   /* the boxes found, last first; as many as there are */
    size_t k = 0, cap = 0;
    size_t cur = n, maxpos = n;
    const char *last_start = NULL;
    /* the last \boxed and \fbox before cur: only the one taken is searched for again (both
       searched from cur each time, a text of boxes and no \fbox was quadratic) */
    const char *b = rfind(s, cur, "\\boxed"), *f = rfind(s, cur, "\\fbox");
    for (;;) {
        if (k == cap) {
            span *q = realloc(a, (cap = cap ? 2 * cap : 16) * sizeof *a);
            if (!q) break;
            a = q;
        }
        if (!b && !f) break;
        const char *st = b > f ? b : f;
        size_t q = (size_t)(st - s) + (b > f ? 6 : 5);
        for (size_t w; q < maxpos && (w = py_space(s + q, maxpos - q));) q += w;
        if (q >= maxpos) break;
        if (s[q] != '{') {
            if (!k) a[k++] = (span){s + q, n - q};
            break;
        }
        size_t i = q, depth = 1, close = 0;
        while (i + 1 < maxpos) {
            i++;
            if (s[i] == '{') depth++;
            else if (s[i] == '}' && !--depth) { close = i; break; }
        }
        if (!close) {
            if (!k) a[k++] = (span){s + q, n - q};
            break;
        }
        if (!all && last_start && !sep_only(s + close + 1, (size_t)(last_start - s) - close - 1))
            break;
        size_t cl = close - q - 1;
        const char *c = py_strip(s + q + 1, &cl);
        a[k++] = (span){c, cl};
        last_start = st;
        maxpos = cur = (size_t)(st - s);
        if (st == b) b = rfind(s, cur, "\\boxed");
        else f = rfind(s, cur, "\\fbox");
    }
    if (!k) put(o, s, n);
    for (size_t j = k; j-- > 0;) {
        put(o, a[j].p, a[j].n);
        if (j) put(o, ",", 1);
    }
    free(a);
}

static char *dup_n(const char *s, size_t n) {
    char *r = malloc(n + 1);
    if (r) memcpy(r, s, n), r[n] = 0;
    return r;
}

/* Would sympy's Number() reject this number string (integer, then the decimal part with its
 * point)? It reads it as Python: a digit outside ASCII (\d is any Unicode digit) is no
 * Python, nor is an integer with leading zeros ("-007": the sign kept them). */
static int number_raises(const char *in, size_t inl, const char *de, size_t del) {
    for (size_t i = 0; i < inl; i++) if ((unsigned char)in[i] >= 0x80) return 1;
    for (size_t i = 0; i < del; i++) if ((unsigned char)de[i] >= 0x80) return 1;
    if (del) return 0;   /* "-007.5" is a float literal */
    size_t i = inl && in[0] == '-';
    if (i + 1 >= inl || in[i] != '0') return 0;
    for (; i < inl; i++) if (in[i] != '0') return 1;   /* "-00" is still Python */
    return 0;
}

/* An expression pattern's match: a number (thousands separators dropped, leading zeros
 * stripped, a decimal comma made a point, a percent kept as \%), else the expression.
 * *str: what Math-Verify keeps as its string fallback. Returns parsed, or -1 where Math-Verify's
 * Number() raises, which ends its whole parse with nothing (parse() catches the error). */
static int take_expr(const pat *p, const char *s, const PCRE2_SIZE *ov, char **str) {
    const char *in = "", *de = "";
    size_t inl = 0, del = 0;
    for (int i = 0; i < 3 && !inl; i++)
        if (p->integer[i] && ov[2 * p->integer[i]] != PCRE2_UNSET)
            in = s + ov[2 * p->integer[i]], inl = ov[2 * p->integer[i] + 1] - ov[2 * p->integer[i]];
    for (int i = 0; i < 3 && !del; i++)
        if (p->decimal[i] && ov[2 * p->decimal[i]] != PCRE2_UNSET)
            de = s + ov[2 * p->decimal[i]], del = ov[2 * p->decimal[i] + 1] - ov[2 * p->decimal[i]];
    if (inl || del) {
        buf b = {0};
        size_t i = 0;   /* separators out, then the leading zeros (Python's lstrip) */
        while (i < inl && (in[i] == ',' || in[i] == ' ' || in[i] == '0')) i++;
        for (; i < inl; i++)
            if (in[i] != ',' && in[i] != ' ') put(&b, in + i, 1);
        if (!b.n) put(&b, "0", 1);
        if (del) put(&b, ".", 1), put(&b, de + 1, del - 1);
        if (b.p && number_raises(b.p, b.n - (del ? del : 0), b.p + b.n - del, del)) {
            free(b.p), *str = NULL;
            return -1;
        }
        int pct = p->percent && ov[2 * p->percent] != PCRE2_UNSET &&
                  ov[2 * p->percent + 1] > ov[2 * p->percent];
        if (pct) puts_(&b, "\\%");
        *str = b.p;
        return b.p != NULL;
    }
    if (p->expr && ov[2 * p->expr] != PCRE2_UNSET) {
        const char *e = s + ov[2 * p->expr];
        size_t el = ov[2 * p->expr + 1] - ov[2 * p->expr];
        *str = dup_n(e, el);
        return py_parses(e, el);
    }
    *str = NULL;
    return 0;
}

/* Does a percentage on this LaTeX break its parse? Math-Verify multiplies the value by 1/100,
 * which sympy refuses for a relation ("$x = 5$ %", "$x \\le 3$ %"); its normalisation has
 * kept only the last side of two or more '=' (not after \\ < ! >) when no ',' or ';' is in
 * the text, and of an "\\approx". */
static int pct_breaks(const char *c) {
    int eqs = 0;
    for (const char *q = c; *q; q++)
        if (*q == '=' && (q == c || !strchr("\\<!>", q[-1]))) eqs++;
    if ((eqs >= 2 && !strpbrk(c, ",;")) || strstr(c, "\\approx")) return 0;
    char *g = ans_normalize_ex(c, 1);
    me_arena *a = malloc(sizeof *a);
    int r = 0;
    if (g && a) {
        int root = me_parse(a, g);
        r = root >= 0 && a->node[root].op == ME_REL;
    }
    free(a), free(g);
    return r;
}

/* A LaTeX pattern's match: each environment's content with its boxes taken out ("last" for
 * the bare-box pattern); several that all parse are one answer joined by ", ", else the
 * first environment (parsed or not). */
static int take_latex(const pat *p, const char *s, const PCRE2_SIZE *ov, char **str) {
    buf one[NENV] = {{0}};
    int parsed[NENV], n = 0;
    for (int j = 0; j < NENV; j++) {
        int e = 0;
        while (e < NENV_NAMES && !(p->env[j][e] && ov[2 * p->env[j][e]] != PCRE2_UNSET &&
                                   ov[2 * p->env[j][e] + 1] > ov[2 * p->env[j][e]]))
            e++;
        if (e == NENV_NAMES) continue;
        int g = p->env[j][e];
        buf raw = {0};
        boxed_content(&raw, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g], e != NENV_NAMES - 1);
        /* trimmed, as the normalisation strips it */
        size_t cl = raw.n;
        const char *c = py_strip(raw.p ? raw.p : "", &cl);
        put(&one[n], c, cl);
        free(raw.p);
        parsed[n] = one[n].p && cl && eq_gold_parses(one[n].p);
        /* the string kept when nothing parses has no percent sign, as Math-Verify's */
        if (parsed[n] && p->env_pct[j] && ov[2 * p->env_pct[j]] != PCRE2_UNSET &&
            ov[2 * p->env_pct[j] + 1] > ov[2 * p->env_pct[j]]) {
            if (pct_breaks(one[n].p)) parsed[n] = 0;
            else puts_(&one[n], "\\%");
        }
        n++;
    }
    int all = n > 1;
    for (int j = 0; j < n; j++) all = all && parsed[j];
    int r = 0;
    *str = NULL;
    if (all) {
        buf b = {0};
        for (int j = 0; j < n; j++) {
            if (j) put(&b, ", ", 2);
            put(&b, one[j].p, one[j].n);
        }
        *str = b.p, r = b.p != NULL;
    } else if (n) {
        *str = one[0].p, one[0].p = NULL, r = parsed[0];
    }
    for (int j = 0; j < n; j++) free(one[j].p);
    return r;
}

/* ---- the search ---- */

typedef struct { size_t start, end; int def, seq; } hit;
static int hit_cmp(const void *x, const void *y) {
    const hit *a = x, *b = y;
    if (a->end != b->end) return a->end < b->end ? 1 : -1;       /* ends last first */
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    if (a->def != b->def) return a->def - b->def;
    return a->seq - b->seq;
}

/* Bounded work: a search that runs out is a search that found nothing more. */
static int run(const pat *p, const char *s, size_t n, size_t at, uint32_t fl,
               pcre2_match_data *md, pcre2_match_context *mc) {
    return rx_match(p->re, s, n, at, fl | PCRE2_NO_UTF_CHECK, md, mc);
}

char *ans_lighteval(const char *s, size_t n) {
    pthread_once(&lv_once, lv_init);
    if (!lv_ready) return NULL;
    /* each ill-formed UTF-8 part made U+FFFD, as the text reaches Math-Verify (decoded with
       errors="replace") and mreward (from its JSON reader) */
    char *fixed = NULL;
    if (tok_utf8_check(s, n) >= 0) {
        if (!(fixed = tok_utf8_lossy(s, n, &n))) return NULL;
        s = fixed;
    }
    pcre2_match_data *md = pcre2_match_data_create(512, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    /* the JIT's own stack: its default 32 KiB runs out on a long unclosed environment, and the
       interpreter (the fallback) copies a frame of every group at each step, ~1000x slower */
    pcre2_jit_stack *js = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
    hit *h = NULL;
    size_t nh = 0, caph = 0;
    char *answer = NULL, *fallback = NULL;
    if (!md || !mc) goto out;
    if (js) pcre2_jit_stack_assign(mc, NULL, js);
    pcre2_set_match_limit(mc, 2000000);
    pcre2_set_heap_limit(mc, 16 * 1024);   /* KiB */
    static const int PRIOS[] = {0, 50, 100, 200, 300};
    for (size_t pi = 0; pi < sizeof PRIOS / sizeof *PRIOS && !answer; pi++) {
        nh = 0;
        for (int k = 0; k < NDEF; k++) {
            if (DEFS[k].prio != PRIOS[pi]) continue;
            size_t at = 0;
            for (int seq = 0; at <= n; seq++) {
                if (run(&P[k], s, n, at, 0, md, mc) < 0) break;
                PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
                if (nh == caph) {
                    size_t c = caph ? 2 * caph : 64;
                    hit *q = realloc(h, c * sizeof *h);
                    if (!q) goto out;
                    h = q, caph = c;
                }
                h[nh++] = (hit){ov[0], ov[1], k, seq};
                if (ov[1] > ov[0]) at = ov[1];
                else {   /* an empty match: step one character on */
                    at = ov[0] + 1;
                    while (at < n && ((unsigned char)s[at] & 0xc0) == 0x80) at++;
                }
            }
        }
        if (!nh) continue;
        qsort(h, nh, sizeof *h, hit_cmp);
        for (size_t i = 0; i < nh && !answer; i++) {
            /* the same match again, anchored where it started, for its groups */
            const pat *p = &P[h[i].def];
            if (run(p, s, n, h[i].start, PCRE2_ANCHORED, md, mc) < 0) continue;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            char *str = NULL;
            int ok = DEFS[h[i].def].kind == K_EXPR ? take_expr(p, s, ov, &str)
                                                   : take_latex(p, s, ov, &str);
            if (ok < 0) { free(fallback), fallback = NULL; goto out; }
            if (ok) answer = str, str = NULL;
            else if (str && *str && !fallback) fallback = str, str = NULL;
            free(str);
        }
    }
out:
    free(h);
    free(fixed);
    pcre2_match_context_free(mc);
    pcre2_jit_stack_free(js);
    pcre2_match_data_free(md);
    if (answer) { free(fallback); return answer; }
    return fallback;
}
