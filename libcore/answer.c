/* answer.c — final-answer extraction (last \boxed{}, fallbacks) and LaTeX normalisation;
 * ans_equiv runs exact comparison first and hands the rest to the structural checker. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "answer.h"
#include "equiv.h"
#include <ctype.h>
#include <pcre2.h>
#include "rx.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inputs longer than this are cut (a completion to its end, a gold to its start): no real
 * answer is this long, and it bounds the work. */
#define ANS_MAX_IN (1u << 20)
#define ANS_MAX_ANSWER 4096

static char *dup_range(const char *s, size_t n) {
    char *r = malloc(n + 1);
    if (!r) return NULL;
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

static char *dup_trim(const char *s, size_t n) {
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    return dup_range(s, n);
}

/* Last occurrence of needle in [s, s+n). */
static const char *memrstr(const char *s, size_t n, const char *needle, size_t from_end) {
    size_t k = strlen(needle);
    if (k > n) return NULL;
    for (size_t i = from_end < n - k + 1 ? from_end : n - k + 1; i-- > 0;)
        if (s[i] == needle[0] && memcmp(s + i, needle, k) == 0) return s + i;
    return NULL;
}

/* The argument of a \boxed / \fbox whose name ends at p: "{...}" balanced, or a single
 * token ("\boxed 5"). NULL when unbalanced (a truncated completion). */
static char *box_arg(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p >= end) return NULL;
    if (*p == '{') {
        int depth = 0;
        for (const char *q = p; q < end; q++) {
            if (*q == '\\' && q + 1 < end) { q++; continue; }
            if (*q == '{') depth++;
            else if (*q == '}' && --depth == 0) return dup_trim(p + 1, (size_t)(q - p - 1));
        }
        return NULL;
    }
    const char *q = p;
    while (q < end && !isspace((unsigned char)*q) && *q != '$' && *q != '}' ) q++;
    if (q == p) return NULL;
    return dup_trim(p, (size_t)(q - p));
}

/* The last balanced \boxed{}/\fbox{} in [s, s+n); when the last is truncated, a few
 * earlier ones are tried (bounded: each try may scan to the end of the text). */
static char *last_boxed(const char *s, size_t n) {
    static const char *const names[2] = {"\\boxed", "\\fbox"};
    const char *h[2], *end = s + n;
    for (int k = 0; k < 2; k++) h[k] = memrstr(s, n, names[k], n + 1);
    for (int tries = 0; tries < 8; tries++) {
        int k = h[0] && (!h[1] || h[0] > h[1]) ? 0 : 1;
        const char *best = h[k];
        if (!best) return NULL;
        const char *after = best + strlen(names[k]);
        /* "\boxedfoo" is not \boxed; "\boxed 5" and "\boxed{5}" are */
        int ok = after >= end || *after == '{' || isspace((unsigned char)*after);
        char *a = ok ? box_arg(after, end) : NULL;
        if (a && *a) return a;
        free(a);
        h[k] = memrstr(s, (size_t)(best - s), names[k], (size_t)(best - s) + 1);
    }
    return NULL;
}

/* Fallbacks: "answer is X" (to the end of the sentence), else the last $...$ / \[...\]. */
static char *fallback_answer(const char *s, size_t n) {
    static const char *const cues[] = {"answer is", "Answer is", "answer:", "Answer:", "ANSWER:"};
    const char *h = NULL;
    size_t hl = 0;
    for (size_t k = 0; k < sizeof cues / sizeof cues[0]; k++) {
        size_t l = strlen(cues[k]);
        for (const char *p = s; (p = memmem(p, (size_t)(s + n - p), cues[k], l)); p += l)
            if (p > h || !h) h = p, hl = l;
    }
    if (h) {
        const char *p = h + hl, *end = s + n;
        while (p < end && (*p == ' ' || *p == ':' || *p == '*')) p++;
        const char *q = p;
        if (q < end && *q == '$') {
            const char *c = memchr(q + 1, '$', (size_t)(end - q - 1));
            if (c) return dup_trim(q + 1, (size_t)(c - q - 1));
        }
        while (q < end && *q != '\n' && !(*q == '.' && (q + 1 == end || isspace((unsigned char)q[1])))) q++;
        if (q > p) return dup_trim(p, (size_t)(q - p));
    }
    /* last $...$ (or $$...$$) */
    const char *close = NULL;
    for (size_t i = n; i-- > 0;)
        if (s[i] == '$' && (i == 0 || s[i - 1] != '\\')) { close = s + i; break; }
    if (close) {
        const char *c = close;
        while (c > s && c[-1] == '$') c--;
        for (const char *o = c - 1; o >= s; o--)
            if (*o == '$' && (o == s || o[-1] != '\\')) {
                const char *a = o + 1;
                if (a < c) return dup_trim(a, (size_t)(c - a));
                break;
            }
    }
    const char *d = memrstr(s, n, "\\]", n + 1);
    if (d) {
        const char *o = memrstr(s, (size_t)(d - s), "\\[", (size_t)(d - s) + 1);
        if (o) return dup_trim(o + 2, (size_t)(d - o - 2));
    }
    return NULL;
}

/* Anchored answers: the LaTeX that open-rs's prediction setting of Math-Verify 0.5.2 reads
 * when a completion has no \boxed{} (LatexExtractionConfig, try_extract_without_anchor=False,
 * boxed_match_priority=0, extraction_mode="first_match"): its regexes, in its priority order;
 * within one, the match that ends last. A latex environment is $$...$$, \[...\], $...$ (one
 * line, not after a digit), \(...\), " [...] " or a bare \frac{n}{m}, with an optional
 * percent sign after it; up to five more may follow, joined by "and", "or" or ",". */
#define ENV_GROUPS 7   /* six alternatives and the percent sign */
#define LIST_ENVS 6
static const char ENV_RE[] =
    "(?:(?<!\\\\)\\$\\$((?:[^$]|\\$(?!\\$))+?)(?<!\\\\)\\$\\$"
    "|(?<!\\\\)\\\\\\[((?:[^\\\\]|\\\\(?!\\]))+?)(?<!\\\\)\\\\\\]"
    "|(?<!\\\\|\\d)\\$((?:\\\\[$]|[^\\n$])+?)(?<!\\\\)\\$"
    "|(?<!\\\\)\\\\\\(((?:[^\\\\\\n]|\\\\(?!\\)))+?)(?<!\\\\)\\\\\\)"
    "|\\s\\[([^\\n\\]\\[]+?)\\]\\s"
    "|(-?\\\\frac\\{-?\\d+(?:[.,]\\d+)?\\}\\{-?\\d+(?:[.,]\\d+)?\\}))"
    "\\s*(\\\\?%|[Pp]ercent|[Pp]ercentage|[Pp]ct)?";
/* "%s" is the list of environments; CP is one character (Python's "." under re.DOTALL) of
 * UTF-8 text matched byte by byte: PCRE2's UTF mode checks the whole subject at every call,
 * which made the search of a long text quadratic */
#define CP "(?:[\\x00-\\x7f\\xc0-\\xff][\\x80-\\xbf]*)"
static const char *const ANCHOR_FMT[] = {
    "(?i:final answer is):?\\s*%s\\.?\\s?I hope",            /* priority 0 (with \boxed{}) */
    "(?i:final answer" CP "{0,100}?)\\s+is:?\\s*%s",         /* 50 */
    "(?i:answer):" CP "{0,50}?%s",                           /* 100 */
    "(?i:answer)" CP "{0,50}?%s",                            /* 200 */
};
enum { NANCHOR = sizeof ANCHOR_FMT / sizeof *ANCHOR_FMT };
static pcre2_code *anchor_re[NANCHOR];
static pthread_once_t anchor_once = PTHREAD_ONCE_INIT;

static void anchor_init(void) {
    static const char join[] = "(?:\\s*(?:and|or|,)\\s*";
    size_t el = strlen(ENV_RE), cap = LIST_ENVS * (el + sizeof join + 4) + 128;
    char *list = malloc(cap), *pat = malloc(cap + 128);
    if (!list || !pat) { free(list); free(pat); return; }
    strcpy(list, ENV_RE);
    for (int j = 1; j < LIST_ENVS; j++) { strcat(list, join); strcat(list, ENV_RE); strcat(list, ")?"); }
    for (int k = 0; k < NANCHOR; k++) {
        snprintf(pat, cap + 128, ANCHOR_FMT[k], list);
        int ec;
        PCRE2_SIZE off;
        /* bytes: \s and \d are ASCII's (Python's re on str also takes Unicode spaces and
           digits, which math answers do not use) */
        anchor_re[k] = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0, &ec, &off, NULL);
        if (anchor_re[k]) pcre2_jit_compile(anchor_re[k], PCRE2_JIT_COMPLETE);   /* optional */
    }
    free(list);
    free(pat);
}

/* The environments of a match, trimmed, joined by ", " (a percent sign kept as \%). */
static char *anchor_join(const char *s, const PCRE2_SIZE *ov) {
    size_t cap = 64, n = 0;
    for (int j = 0; j < LIST_ENVS; j++)
        for (int g = 1; g <= ENV_GROUPS; g++) {
            PCRE2_SIZE a = ov[2 * (j * ENV_GROUPS + g)], b = ov[2 * (j * ENV_GROUPS + g) + 1];
            if (a != PCRE2_UNSET) cap += b - a + 4;
        }
    char *r = malloc(cap);
    if (!r) return NULL;
    for (int j = 0; j < LIST_ENVS; j++) {
        const PCRE2_SIZE *e = ov + 2 * (j * ENV_GROUPS + 1);
        int g = 0;
        while (g < ENV_GROUPS - 1 && e[2 * g] == PCRE2_UNSET) g++;
        if (g == ENV_GROUPS - 1) break;   /* this environment (and the ones after) absent */
        const char *a = s + e[2 * g];
        size_t l = e[2 * g + 1] - e[2 * g];
        while (l && isspace((unsigned char)*a)) a++, l--;
        while (l && isspace((unsigned char)a[l - 1])) l--;
        if (n) memcpy(r + n, ", ", 2), n += 2;
        memcpy(r + n, a, l), n += l;
        if (e[2 * (ENV_GROUPS - 1)] != PCRE2_UNSET) memcpy(r + n, "\\%", 2), n += 2;
    }
    r[n] = 0;
    if (!*r || n > ANS_MAX_ANSWER) { free(r); return NULL; }
    return r;
}

static char *anchored_answer(const char *s, size_t n) {
    pthread_once(&anchor_once, anchor_init);
    enum { NOV = 1 + LIST_ENVS * ENV_GROUPS };
    pcre2_match_data *md = pcre2_match_data_create(NOV, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    char *r = NULL;
    if (!md || !mc) goto out;
    /* bounded work on any text: a search that runs out is a search that found nothing more */
    pcre2_set_match_limit(mc, 2000000);
    pcre2_set_heap_limit(mc, 16 * 1024);   /* KiB */
    for (int k = 0; k < NANCHOR && !r; k++) {
        if (!anchor_re[k]) continue;
        PCRE2_SIZE last[2 * NOV], at = 0;
        int found = 0;
        while (at <= n) {
            int rc = rx_match(anchor_re[k], s, n, at, 0, md, mc);   /* a long environment: the interpreter */
            if (rc < 0) break;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            memcpy(last, ov, sizeof last);
            /* groups past the highest set one are not touched by pcre2_match: unset them */
            for (int g = rc; g < NOV; g++) last[2 * g] = last[2 * g + 1] = PCRE2_UNSET;
            found = 1;
            at = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
        }
        /* Math-Verify's first_match: the last match of the first pattern that matches,
           whether or not it parses */
        if (found) { r = anchor_join(s, last); break; }
    }
out:
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    return r;
}


/* ---- normalisation ---- */

typedef struct sbuf { char *p; size_t n, cap; } sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) return;           /* capacity fixed by the caller: truncate */
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }
static char sb_last(const sbuf *b) { return b->n ? b->p[b->n - 1] : 0; }

/* Index just past the "}" that closes the "{" at s[i], or 0 when unbalanced. */
static size_t brace_end(const char *s, size_t i, size_t n) {
    int depth = 0;
    for (size_t j = i; j < n; j++) {
        if (s[j] == '\\' && j + 1 < n) { j++; continue; }
        if (s[j] == '{') depth++;
        else if (s[j] == '}' && --depth == 0) return j + 1;
    }
    return 0;
}

static int word_eq(const char *s, size_t n, const char *w) { return strlen(w) == n && memcmp(s, w, n) == 0; }

/* Unit words that a trailing \text{...} or bare word may hold; an answer made of nothing
 * but one of these keeps it (then it is the answer). */
static const char *const unit_words[] = {
    "cm", "m", "km", "mm", "meter", "meters", "metre", "metres", "inch", "inches", "in",
    "ft", "feet", "foot", "yd", "yard", "yards", "mile", "miles", "mi", "unit", "units",
    "square", "sq", "cubic", "degree", "degrees", "deg", "radian", "radians", "rad",
    "dollar", "dollars", "cent", "cents", "hour", "hours", "hr", "hrs", "h", "minute",
    "minutes", "min", "mins", "second", "seconds", "sec", "s", "day", "days", "week", "weeks",
    "month", "months", "year", "years", "yr", "kg", "g", "gram", "grams", "lb", "lbs",
    "pound", "pounds", "ounce", "ounces", "oz", "mph", "kmh", "kph", "liter", "liters",
    "litre", "litres", "l", "ml", "gallon", "gallons", "people", "person", "persons",
    "student", "students", "way", "ways", "point", "points", "times", "tile", "tiles",
    "coin", "coins", "edge", "edges", "percent", "digit", "digits", "integer", "integers",
    "number", "numbers", "K", "J", "W", "N", "Pa", "eV", "V", "Hz", "nm", "um", "pc",
    "AU", "kpc", "Mpc", "ly", "erg", "ergs", "cm^2", "cm^3", "m^2", "m^3", "sq.", "units^2",
    "square units", "square feet", "square inches", "square meters", "cubic units",
    "cubic feet", "cubic inches", "am", "pm", "a.m.", "p.m.", "a.m", "p.m", "st", "nd", "rd", "th", NULL};

static int is_unit_word(const char *s, size_t n) {
    while (n && s[n - 1] == '.') n--;
    if (!n) return 1;
    for (int i = 0; unit_words[i]; i++) if (word_eq(s, n, unit_words[i])) return 1;
    return 0;
}

/* Every word a unit: "cm", "sq. units", "square feet". */
static int is_unit(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        while (i < n && isspace((unsigned char)s[i])) i++;
        size_t j = i;
        while (j < n && !isspace((unsigned char)s[j])) j++;
        if (j > i && !is_unit_word(s + i, j - i)) return 0;
        i = j;
    }
    return 1;
}

static int is_cmd(const char *name, size_t n, const char *const *list) {
    for (int i = 0; list[i]; i++) if (word_eq(name, n, list[i])) return 1;
    return 0;
}

static const char *const drop_cmds[] = {"left", "right", "bigl", "bigr", "Bigl", "Bigr",
    "big", "Big", "biggl", "biggr", "Biggl", "Biggr", "displaystyle", "textstyle",
    "limits", "quad", "qquad", "middle", "mleft", "mright", "nonumber", "hfill", "cdotp",
    NULL};
static const char *const text_cmds[] = {"text", "textbf", "textit", "textrm", "textnormal",
    "mbox", "mathrm", "mathbf", "mathit", "boldsymbol", "mathsf", "textsf", "bf", "rm",
    "mathnormal", "bm", "hbox", NULL};

static void norm_pass(sbuf *o, const char *s, size_t n, int depth);

/* \text{...}-like argument: a unit or filler word after something else is dropped, else
 * the words are kept (normalised) so "\text{(B)}" and "\text{even}" survive. */
static int norm_text_arg(sbuf *o, const char *a, size_t an, int depth) {
    size_t k = 0, e = an;
    while (k < e && isspace((unsigned char)a[k])) k++;
    while (e > k && isspace((unsigned char)a[e - 1])) e--;
    if (o->n > 0 && (word_eq(a + k, e - k, "and") || word_eq(a + k, e - k, "or"))) {
        if (sb_last(o) == ' ') o->p[--o->n] = 0;
        if (sb_last(o) != ',') sb_puts(o, ",");       /* "2, 3, and 4" */
        return 0;
    }
    if (o->n > 0 && is_unit(a, an)) return 1;
    norm_pass(o, a, an, depth + 1);
    return 0;
}

static void norm_pass(sbuf *o, const char *s, size_t n, int depth) {
    if (depth > 32) return;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') {
            size_t j = i + 1;
            while (j < n && isalpha((unsigned char)s[j])) j++;
            const char *name = s + i + 1;
            size_t nl = j - i - 1;
            if (nl == 0) {                      /* \, \! \; \: \  \$ \% \{ \} \\ */
                char d = i + 1 < n ? s[i + 1] : 0;
                if (d == ',' || d == '!' || d == ';' || d == ':' || d == ' ' || d == '$' || d == '%' || d == '>') { i += 2; continue; }
                if (d == '(' || d == ')') { i += 2; continue; }      /* \( ... \) delimiters */
                if (d == '\\') { sb_puts(o, "\\\\"); i += 2; continue; }
                sb_putn(o, s + i, d ? 2 : 1);
                i += d ? 2 : 1;
                continue;
            }
            if (is_cmd(name, nl, drop_cmds)) {
                i = j;
                if (i < n && s[i] == '.') i++;  /* \left. \right. */
                continue;
            }
            if (word_eq(name, nl, "dfrac") || word_eq(name, nl, "tfrac") || word_eq(name, nl, "cfrac")) { sb_puts(o, "\\frac"); i = j; continue; }
            if (word_eq(name, nl, "dbinom") || word_eq(name, nl, "tbinom")) { sb_puts(o, "\\binom"); i = j; continue; }
            if (word_eq(name, nl, "circ") || word_eq(name, nl, "degree")) {
                if (sb_last(o) == '^') o->p[--o->n] = 0;
                i = j;
                continue;
            }
            if (word_eq(name, nl, "ldots") || word_eq(name, nl, "dots") || word_eq(name, nl, "cdots")) {
                sb_puts(o, "\\ldots");
                i = j;
                continue;
            }
            if (is_cmd(name, nl, text_cmds)) {
                size_t k = j;
                while (k < n && s[k] == ' ') k++;
                if (k < n && s[k] == '{') {
                    size_t e = brace_end(s, k, n);
                    if (e) {
                        size_t mark = o->n;
                        if (o->n && isalnum((unsigned char)sb_last(o))) sb_puts(o, " ");
                        if (norm_text_arg(o, s + k + 1, e - k - 2, depth)) {
                            /* a dropped unit takes its power with it: \text{cm}^2 */
                            o->n = mark;
                            o->p[o->n] = 0;
                            if (e + 1 < n && s[e] == '^' && isdigit((unsigned char)s[e + 1])) e += 2;
                            else if (e + 3 < n && s[e] == '^' && s[e + 1] == '{' && isdigit((unsigned char)s[e + 2]) && s[e + 3] == '}') e += 4;
                        }
                        i = e;
                        continue;
                    }
                }
                i = j;
                continue;
            }
            sb_putn(o, s + i, j - i);
            i = j;
            /* keep a command apart from a following letter: "\pi r" must not become "\pir" */
            if (i < n && isspace((unsigned char)s[i])) {
                size_t k = i;
                while (k < n && isspace((unsigned char)s[k])) k++;
                if (k < n && isalpha((unsigned char)s[k])) sb_puts(o, " ");
                i = k;
            }
            continue;
        }
        if (c == '^' && i + 1 < n) {
            /* ^\circ and ^{\circ} vanish */
            size_t k = i + 1;
            while (k < n && s[k] == ' ') k++;
            if (k + 5 <= n && memcmp(s + k, "\\circ", 5) == 0 && !(k + 5 < n && isalpha((unsigned char)s[k + 5]))) { i = k + 5; continue; }
            if (k + 7 <= n && memcmp(s + k, "{\\circ}", 7) == 0) { i = k + 7; continue; }
            if (k + 8 <= n && memcmp(s + k, "{\\circ }", 8) == 0) { i = k + 8; continue; }
        }
        if (c == '{' && i + 2 < n && s[i + 1] == ',' && s[i + 2] == '}') { sb_puts(o, ","); i += 3; continue; }
        if (c == '$' || c == '%') { i++; continue; }
        if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xB0) { i += 2; continue; }  /* ° */
        /* the Unicode operators a model writes for LaTeX's: × ÷ · ⋅ and the minus sign − */
        if (c == 0xC3 && i + 1 < n && ((unsigned char)s[i + 1] == 0x97 || (unsigned char)s[i + 1] == 0xB7)) {
            sb_puts(o, (unsigned char)s[i + 1] == 0x97 ? "\\times " : "\\div ");
            i += 2;
            continue;
        }
        if ((c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xB7) ||
            (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x8B && (unsigned char)s[i + 2] == 0x85)) {
            sb_puts(o, "\\cdot ");
            i += c == 0xC2 ? 2 : 3;
            continue;
        }
        if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x88 && (unsigned char)s[i + 2] == 0x92) {
            sb_puts(o, "-");
            i += 3;
            continue;
        }
        if (isspace(c) || c == '~') {
            size_t k = i;
            while (k < n && (isspace((unsigned char)s[k]) || s[k] == '~')) k++;
            /* a space only matters between two alphanumerics ("2 x" → "2x" is fine too,
             * but "a b" as two words keeps its space for string comparison) */
            if (o->n && isalpha((unsigned char)sb_last(o)) && k < n && isalpha((unsigned char)s[k])) sb_puts(o, " ");
            i = k;
            continue;
        }
        sb_putn(o, s + i, 1);
        i++;
    }
}

static int all_digits(const char *s, size_t n) {
    if (!n) return 0;
    for (size_t i = 0; i < n; i++) if (!isdigit((unsigned char)s[i])) return 0;
    return 1;
}

/* "12,345,678" (optionally signed, with decimals) → "12345678"; lists such as "1,2" stay. */
static void strip_thousands(char *s) {
    const char *p = s;
    if (*p == '-') p++;
    const char *c = strchr(p, ',');
    if (!c || c - p < 1 || c - p > 3 || !all_digits(p, (size_t)(c - p))) return;
    const char *q = c;
    while (*q == ',') {
        if (!all_digits(q + 1, 3)) return;
        q += 4;
    }
    if (*q == '.') { q++; while (isdigit((unsigned char)*q)) q++; }
    if (*q) return;
    char *w = s;
    for (const char *r = s; *r; r++) if (*r != ',') *w++ = *r;
    *w = 0;
}

/* Drop "x =" / "f(x) =" / "x \in" in front of a value when the left side is a plain name. */
static void strip_lhs(char *s) {
    char *eq = NULL;
    int depth = 0;
    for (char *p = s; *p; p++) {
        if (*p == '(' || *p == '[' || *p == '{') depth++;
        else if (*p == ')' || *p == ']' || *p == '}') depth--;
        else if (depth == 0 && *p == ',') return;  /* "a=1,b=2": a system, keep */
        else if (depth == 0 && *p == '=') { if (eq) return; eq = p; }
    }
    size_t skip = 0;
    char *rhs = NULL;
    if (eq && eq[1] != '=' && eq > s && eq[-1] != '<' && eq[-1] != '>' && eq[-1] != '!' && eq[-1] != '\\') {
        rhs = eq + 1;
        skip = (size_t)(eq - s);
    } else {
        char *in = strstr(s, "\\in");
        if (in && !isalpha((unsigned char)in[3])) { rhs = in + 3; skip = (size_t)(in - s); }
    }
    if (!rhs || skip == 0 || skip > 24) return;
    /* the left side: letters, digits, _, ^, braces, a backslash name, or f(x) */
    for (size_t i = 0; i < skip; i++) {
        char ch = s[i];
        if (!(isalnum((unsigned char)ch) || ch == '_' || ch == '{' || ch == '}' || ch == '\\' || ch == ' ' || ch == '(' || ch == ')' || ch == '\'' || ch == ','))
            return;
    }
    if (!isalpha((unsigned char)s[0]) && s[0] != '\\') return;
    while (*rhs == ' ') rhs++;
    if (!*rhs) return;
    memmove(s, rhs, strlen(rhs) + 1);
}

char *ans_normalize(const char *s) { return ans_normalize_ex(s, 0); }

char *ans_normalize_ex(const char *s, int keep_lhs) {
    if (!s) return NULL;
    size_t n = strnlen(s, ANS_MAX_IN);
    /* longer than any answer: kept verbatim (up to ANS_MAX_IN), so that it equals only itself (cut to its first
       ANS_MAX_ANSWER bytes, two answers that differ after them normalised the same and were
       one class in meval's majority vote) */
    if (n > ANS_MAX_ANSWER) return dup_range(s, n);
    /* room for the longest expansion, never a cut: "×" (2 bytes) becomes "\\times " (7), and
       a cut string compared equal to another cut at the same place ("1·1·...·2" was
       "1·1·...·3") */
    sbuf o = {malloc(4 * n + 16), 0, 4 * n + 16};
    if (!o.p) return NULL;
    o.p[0] = 0;
    norm_pass(&o, s, n, 0);
    char *r = o.p;
    /* trim spaces, trailing full stops, commas, "\\" */
    size_t len = strlen(r), st = 0;
    for (;;) {
        while (len && (r[len - 1] == ' ' || r[len - 1] == '.' || r[len - 1] == ',' || r[len - 1] == ';' || r[len - 1] == '\\')) {
            if (r[len - 1] == '\\' && len >= 2 && r[len - 2] != '\\') break;
            r[--len] = 0;
        }
        while (st < len && r[st] == ' ') st++;
        if (len >= 2 && r[st] == '{' && r[len - 1] == '}' && brace_end(r, st, len) == len) { st++; r[--len] = 0; continue; }
        break;
    }
    if (st) memmove(r, r + st, len - st + 1);
    /* empty scripts left by dropped words ("11^{\text{th}}") and a leading "\approx" */
    for (char *e; (e = strstr(r, "^{}")) || (e = strstr(r, "_{}"));) memmove(e, e + 3, strlen(e + 3) + 1);
    if (!strncmp(r, "\\approx", 7) && !isalpha((unsigned char)r[7])) memmove(r, r + 7, strlen(r + 7) + 1);
    if (!strncmp(r, "\\sim", 4) && !isalpha((unsigned char)r[4])) memmove(r, r + 4, strlen(r + 4) + 1);
    /* trailing unit word after a value: "5 cm" / "10 inches" */
    len = strlen(r);
    for (int rep = 0; rep < 2; rep++) {
        size_t e = len;
        /* a unit may carry ^2 / ^{3} */
        if (e >= 2 && r[e - 2] == '^' && (r[e - 1] == '2' || r[e - 1] == '3')) e -= 2;
        else if (e >= 4 && r[e - 4] == '^' && r[e - 3] == '{' && (r[e - 2] == '2' || r[e - 2] == '3') && r[e - 1] == '}') e -= 4;
        size_t b = e;
        while (b && (isalpha((unsigned char)r[b - 1]) || r[b - 1] == '.')) b--;
        if (b == e || b == 0) break;
        if (!(r[b - 1] == ' ' || isdigit((unsigned char)r[b - 1]) || r[b - 1] == '}' || r[b - 1] == ')')) break;
        if (!is_unit(r + b, e - b)) break;
        /* a single letter glued to a digit is a variable ("2x", "3h"), not a unit */
        if (e - b <= 1 && r[b - 1] != ' ') break;
        size_t k = b;
        while (k && r[k - 1] == ' ') k--;
        r[k] = 0;
        len = k;
    }
    if (!keep_lhs) strip_lhs(r);
    else if (strstr(r, "\\in") && !strchr(r, '=')) strip_lhs(r);
    /* "58, 500" with a space is a list; "58,500" and "58{,}500" are a number */
    int spaced = 0;
    for (size_t i = 0; i + 1 < n; i++) if (s[i] == ',' && isspace((unsigned char)s[i + 1])) spaced = 1;
    if (!spaced) strip_thousands(r);
    len = strlen(r);
    /* multiple choice: "(B)", "B)", "(B" → "B" */
    if (len == 3 && r[0] == '(' && r[2] == ')' && isupper((unsigned char)r[1])) { r[0] = r[1]; r[1] = 0; }
    else if (len == 2 && r[1] == ')' && isupper((unsigned char)r[0])) r[1] = 0;
    return r;
}

char *ans_extract(const char *text, const ans_opts *o) {
    if (!text) return NULL;
    /* the answer is at the end: a longer text keeps its last ANS_MAX_IN bytes (all of them
       after any "</think>" that comes earlier, so --answer-part is unchanged) */
    size_t n = strlen(text);
    const char *s = text;
    if (n > ANS_MAX_IN) { s += n - ANS_MAX_IN; n = ANS_MAX_IN; }
    if (o && o->answer_part) {
        const char *t = memrstr(s, n, "</think>", n + 1);
        if (t) { n -= (size_t)(t + 8 - s); s = t + 8; }
    }
    if (o && o->lighteval) return ans_lighteval(s, n);
    char *a = last_boxed(s, n);
    if (!a && o && o->anchored) a = anchored_answer(s, n);
    if (!a && o && o->fallback) a = fallback_answer(s, n);
    return a;
}

char *ans_extract_gold(const char *gold) {
    if (!gold) return NULL;
    size_t n = strnlen(gold, ANS_MAX_IN);
    char *a = last_boxed(gold, n);
    if (a) return a;
    return dup_trim(gold, n);
}


ans_verdict ans_equiv(const char *pred, const char *gold) {
    return (ans_verdict)eq_equiv(pred, gold);
}

int ans_gold_parses(const char *gold) {
    /* and the checker reads it whole: eq_gold_parses drops a "name =" in front, so "\cos = 0"
       passed on its "0" although ans_equiv calls the gold unparsed for every prediction */
    return eq_gold_parses(gold) && eq_equiv(NULL, gold) != ANS_UNPARSED_GOLD;
}
