/* rewards_text.c — the text measures behind the rewards: Python-compatible counting and
 * lengths, the cosine, repetition and overlong formulas, and Unicode script detection. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "rewards.h"
#include "tokenizer.h"

long rw_count(const char *text, const char *needle)
{
    size_t m = strlen(needle);
    long n = 0;
    if (!m) return (long)rw_chars(text) + 1;   /* Python: "abc".count("") == 4 */
    for (const char *p = text; (p = strstr(p, needle)); p += m) n++;
    return n;
}

/* Decodes one code point; invalid bytes count as one U+FFFD each, as Python's
 * errors="replace" decoding of the completion would. */
static int next_cp(const char **p, int32_t *cp)
{
    const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)*p;
    if (!*s) return 0;
    utf8proc_ssize_t k = utf8proc_iterate(s, -1, cp);
    if (k <= 0) { *cp = 0xFFFD; k = 1; }
    *p += k;
    return 1;
}

long rw_chars(const char *text)
{
    long n = 0;
    int32_t cp;
    while (next_cp(&text, &cp)) n++;
    return n;
}

double rw_cosine(double len, int correct, double min_wrong, double max_wrong,
                 double min_correct, double max_correct, double max_len, int clamp)
{
    if (clamp && len > max_len) len = max_len;
    double c = cos(len / max_len * M_PI);
    /* open-rs swaps the wrong pair: a short wrong answer gets min_wrong (hi). */
    double lo = correct ? min_correct : max_wrong;
    double hi = correct ? max_correct : min_wrong;
    return lo + 0.5 * (hi - lo) * (1.0 + c);
}

double rw_overlong(double len, double max_len, double cache)
{
    if (len <= max_len - cache) return 0.0;
    if (len <= max_len) return (max_len - cache - len) / cache;
    return -1.0;
}

/* Python's str.isspace(), which str.split() splits on. */
static int py_space(int32_t c) { return c >= 0 && tok_is_space((uint32_t)c, 1); }

typedef struct { const char *s; int len; } span;
typedef struct { uint64_t h; int first; } gram;
typedef struct { const span *w; int n; } gram_ctx;

static int gram_cmp(const void *a, const void *b, void *ctx)
{
    const gram *x = a, *y = b;
    const gram_ctx *c = ctx;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    for (int k = 0; k < c->n; k++) {
        const span *u = &c->w[x->first + k], *v = &c->w[y->first + k];
        if (u->len != v->len) return u->len < v->len ? -1 : 1;
        int d = memcmp(u->s, v->s, (size_t)u->len);
        if (d) return d;
    }
    return 0;
}

/* Case_Ignorable and Cased as Python's str.lower() tests them for the final sigma (derived from
 * CPython 3.11: the categories and the few extra code points). */
static int py_case_ignorable(int32_t c)
{
    static const int32_t extra[] = {0x27, 0x2e, 0x3a, 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024,
                                    0x2027, 0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a};
    utf8proc_category_t k = utf8proc_category(c);
    if (k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_CF ||
        k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_SK) return 1;
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++)
        if (c == extra[i]) return 1;
    return 0;
}
static int py_cased(int32_t c)
{
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
           c == 0xaa || c == 0xba || (c >= 0x2160 && c <= 0x217f) || (c >= 0x24b6 && c <= 0x24e9) ||
           (c >= 0x1f130 && c <= 0x1f149) || (c >= 0x1f150 && c <= 0x1f169) || (c >= 0x1f170 && c <= 0x1f189);
}
/* Whether the capital sigma at s (its end p) is final as Python's str.lower() takes it: a cased
 * letter before it and none after it, case-ignorable ones skipped. The text before is read from
 * *seen on (*cased: whether its last letter not case-ignorable was cased), so each stretch is read
 * once, and only in a text that has a capital sigma. */
static int sigma_final(const char **seen, int *cased, const char *s, const char *p)
{
    int32_t d;
    while (*seen < s && next_cp(seen, &d))
        if (!py_case_ignorable(d)) *cased = py_cased(d);
    if (!*cased) return 0;
    while (next_cp(&p, &d))
        if (!py_case_ignorable(d)) return !py_cased(d);
    return 1;
}

/* open-r1 repetition_penalty_reward: words = text.lower().split(); the share of repeated
 * n-grams times max_penalty. Lower-casing is utf8proc's simple mapping plus what Python's
 * str.lower() does beyond it: U+0130 becomes "i\u0307", and a capital sigma that ends a word
 * (after a cased letter) becomes final sigma, so "ΟΔΟΣ" and "οδος" are one word, as in the
 * study (utf8proc alone made them two). */
double rw_repetition(const char *text, int ngram, double max_penalty)
{
    size_t cap = strlen(text) * 4 + 4;   /* a lower-cased code point never takes > 4 bytes */
    char *low = malloc(cap);
    span *w = malloc(sizeof *w * (strlen(text) / 1 + 1));
    double r = 0.0;
    if (!low || !w) goto out;
    size_t at = 0;
    int nw = 0, inword = 0, seen_cased = 0;
    int32_t cp;
    const char *seen = text;   /* sigma_final's reading of the text before a sigma */
    for (const char *q = text, *p = text; next_cp(&p, &cp); q = p) {
        if (py_space(cp)) { inword = 0; continue; }
        if (!inword) { w[nw].s = low + at; w[nw].len = 0; nw++; inword = 1; }
        int32_t lc = cp == 0x3a3 && sigma_final(&seen, &seen_cased, q, p) ? 0x3c2 : utf8proc_tolower(cp);
        utf8proc_ssize_t k = utf8proc_encode_char(lc, (utf8proc_uint8_t *)low + at);
        if (cp == 0x130) k += utf8proc_encode_char(0x307, (utf8proc_uint8_t *)low + at + k);
        at += (size_t)k;
        w[nw - 1].len += (int)k;
    }
    if (ngram < 1 || nw < ngram) goto out;
    int total = nw - ngram + 1;
    gram *g = malloc(sizeof *g * (size_t)total);
    if (!g) goto out;
    for (int i = 0; i < total; i++) {
        uint64_t h = 1469598103934665603ull;   /* FNV-1a over the words, 0xff between */
        for (int k = 0; k < ngram; k++) {
            for (int b = 0; b < w[i + k].len; b++) h = (h ^ (unsigned char)w[i + k].s[b]) * 1099511628211ull;
            h = (h ^ 0xff) * 1099511628211ull;
        }
        g[i].h = h; g[i].first = i;
    }
    gram_ctx ctx = { w, ngram };
    qsort_r(g, (size_t)total, sizeof *g, gram_cmp, &ctx);
    int uniq = 1;
    for (int i = 1; i < total; i++) uniq += gram_cmp(&g[i - 1], &g[i], &ctx) != 0;
    free(g);
    r = (1.0 - (double)uniq / total) * max_penalty;
out:
    free(low);
    free(w);
    return r;
}

/* Unicode blocks of the scripts a model is likely to drift into; letters elsewhere
 * count as RW_SCRIPT_OTHER (never the prompt's script). Japanese kana and Han are one
 * "cjk" script so a Japanese prompt does not penalise its own kanji. */
static const struct { unsigned lo, hi; int script; } ranges[] = {
    {0x0041, 0x024F, RW_SCRIPT_LATIN},    {0x0250, 0x02AF, RW_SCRIPT_LATIN},
    {0x02B0, 0x02B8, RW_SCRIPT_LATIN},    {0x02E0, 0x02E4, RW_SCRIPT_LATIN},   /* modifier letters: ʰ ˡ ˣ */
    {0x0370, 0x03FF, RW_SCRIPT_GREEK},    {0x0400, 0x052F, RW_SCRIPT_CYRILLIC},
    {0x0530, 0x058F, RW_SCRIPT_ARMENIAN}, {0x0590, 0x05FF, RW_SCRIPT_HEBREW},
    {0x0600, 0x06FF, RW_SCRIPT_ARABIC},   {0x0750, 0x077F, RW_SCRIPT_ARABIC},
    {0x08A0, 0x08FF, RW_SCRIPT_ARABIC},   {0x0900, 0x097F, RW_SCRIPT_DEVANAGARI},
    {0x0980, 0x09FF, RW_SCRIPT_BENGALI},  {0x0E00, 0x0E7F, RW_SCRIPT_THAI},
    {0x10A0, 0x10FF, RW_SCRIPT_GEORGIAN}, {0x1100, 0x11FF, RW_SCRIPT_HANGUL},
    {0x1C80, 0x1C8F, RW_SCRIPT_CYRILLIC}, {0x1D00, 0x1DBF, RW_SCRIPT_LATIN},
    {0x1E00, 0x1EFF, RW_SCRIPT_LATIN},    {0x1F00, 0x1FFF, RW_SCRIPT_GREEK},
    {0x2071, 0x2071, RW_SCRIPT_LATIN},    {0x207F, 0x207F, RW_SCRIPT_LATIN},   /* ⁱ ⁿ */
    {0x2090, 0x209C, RW_SCRIPT_LATIN},                                         /* ₐ ₑ ₓ ... */
    {0x2C60, 0x2C7F, RW_SCRIPT_LATIN},    {0x2DE0, 0x2DFF, RW_SCRIPT_CYRILLIC},
    {0x2E80, 0x2FDF, RW_SCRIPT_CJK},      {0x3040, 0x30FF, RW_SCRIPT_CJK},
    {0x3100, 0x312F, RW_SCRIPT_CJK},      {0x3130, 0x318F, RW_SCRIPT_HANGUL},
    {0x31A0, 0x31FF, RW_SCRIPT_CJK},      {0x3400, 0x4DBF, RW_SCRIPT_CJK},
    {0x4E00, 0x9FFF, RW_SCRIPT_CJK},      {0xA640, 0xA69F, RW_SCRIPT_CYRILLIC},
    {0xA720, 0xA7FF, RW_SCRIPT_LATIN},    {0xAB30, 0xAB6F, RW_SCRIPT_LATIN},
    {0xAC00, 0xD7AF, RW_SCRIPT_HANGUL},   {0xF900, 0xFAFF, RW_SCRIPT_CJK},
    {0xFB00, 0xFB06, RW_SCRIPT_LATIN},    {0xFB1D, 0xFB4F, RW_SCRIPT_HEBREW},
    {0xFB50, 0xFDFF, RW_SCRIPT_ARABIC},   {0xFE70, 0xFEFF, RW_SCRIPT_ARABIC},
    {0xFF21, 0xFF5A, RW_SCRIPT_LATIN},    {0xFF66, 0xFF9F, RW_SCRIPT_CJK},
    {0xFFA0, 0xFFDC, RW_SCRIPT_HANGUL},   {0x20000, 0x323AF, RW_SCRIPT_CJK},
};
static const char *const script_names[RW_SCRIPT_N] = {
    "other", "latin", "greek", "cyrillic", "armenian", "hebrew", "arabic", "devanagari",
    "bengali", "thai", "georgian", "hangul", "cjk",
};

int rw_script_of(unsigned cp)
{
    int lo = 0, hi = (int)(sizeof ranges / sizeof ranges[0]) - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < ranges[mid].lo) hi = mid - 1;
        else if (cp > ranges[mid].hi) lo = mid + 1;
        else return ranges[mid].script;
    }
    return RW_SCRIPT_OTHER;
}

int rw_script_by_name(const char *name)
{
    for (int i = 1; i < RW_SCRIPT_N; i++)
        if (!strcmp(name, script_names[i])) return i;
    return -1;
}

static int is_letter(int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

static void script_counts(const char *text, long counts[RW_SCRIPT_N], long *letters)
{
    int32_t cp;
    memset(counts, 0, sizeof(long) * RW_SCRIPT_N);
    *letters = 0;
    while (next_cp(&text, &cp))
        if (is_letter(cp)) { counts[rw_script_of((unsigned)cp)]++; (*letters)++; }
}

int rw_dominant_script(const char *text)
{
    long c[RW_SCRIPT_N], n;
    int best = RW_SCRIPT_LATIN;
    if (!text) return best;
    script_counts(text, c, &n);
    for (int i = 1; i < RW_SCRIPT_N; i++)
        if (c[i] > c[best]) best = i;
    return best;
}

double rw_foreign_fraction(const char *text, int script)
{
    long c[RW_SCRIPT_N], n;
    script_counts(text, c, &n);
    return n ? (double)(n - c[script]) / (double)n : 0.0;
}
