/* bpe.c — encode: added tokens split out first (longest match), each stretch between them
 * normalized, cut by the pre-tokenizer regexes (PCRE2), and each piece merged by BPE rank. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "tok_internal.h"
#include "rx.h"
#define TOK_WANT_U9_ASSIGNED
#define TOK_WANT_RX_EXTRA
#include "tok_unicode.inc"

/* Words up to this many bytes are merged by rescanning a small rank array (fast for the
 * usual short word); longer ones use a heap over a linked list, as HF does. */
#define BPE_SCAN_MAX 48

typedef struct enc {
    const mrl_tok *t;
    int32_t *ids;
    int cap, n;
    pcre2_match_data *md;
    int rx_err;               /* a PCRE2 error code (match or heap limit), 0 if none */
    int ext;                  /* the text holds a letter or number of TOK_RX_EXTRA: re_ext cuts it */
    /* scratch for long words, grown as needed */
    int32_t *sym, *prev, *next;
    uint64_t *heap;
    size_t scap;
    tok_word_fn word;         /* tok_pretokenize: each piece goes here instead of BPE */
    void *wctx;
    int word_err;
    int oom;                  /* an allocation failed: the ids are incomplete */
} enc;

static inline void emit(enc *o, int32_t id) {
    if (o->n < o->cap) o->ids[o->n] = id;
    o->n++;
}

static inline uint32_t merge_find(const mrl_tok *t, int32_t a, int32_t b, int32_t *res) {
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b, h = key * 0x9E3779B97F4A7C15ull;
    for (size_t i = (h ^ (h >> 31)) & t->mmask;; i = (i + 1) & t->mmask) {
        if (t->mkey[i] == key) { *res = t->mres[i]; return t->mrank[i]; }
        if (t->mkey[i] == UINT64_MAX) return UINT32_MAX;
    }
}

/* Short word: sym[] shrinks in place; rk[i] is the rank of the pair (sym[i], sym[i+1]). */
static int bpe_scan(const mrl_tok *t, const unsigned char *w, int n, int32_t *sym) {
    uint32_t rk[BPE_SCAN_MAX];
    int32_t res[BPE_SCAN_MAX];
    for (int i = 0; i < n; i++) sym[i] = t->byte_id[w[i]];
    for (int i = 0; i + 1 < n; i++) rk[i] = merge_find(t, sym[i], sym[i + 1], &res[i]);
    while (n > 1) {
        int best = -1;
        uint32_t br = UINT32_MAX;
        for (int i = 0; i + 1 < n; i++)
            if (rk[i] < br) br = rk[i], best = i;   /* strict: the leftmost of equal ranks */
        if (best < 0) break;
        sym[best] = res[best];
        n--;
        for (int i = best + 1; i < n; i++) sym[i] = sym[i + 1];
        for (int i = best + 1; i + 1 < n; i++) rk[i] = rk[i + 1], res[i] = res[i + 1];
        if (best + 1 < n) rk[best] = merge_find(t, sym[best], sym[best + 1], &res[best]);
        if (best > 0) rk[best - 1] = merge_find(t, sym[best - 1], sym[best], &res[best - 1]);
    }
    return n;
}

static void heap_push(uint64_t *h, size_t *n, uint64_t v) {
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > v) h[i] = h[(i - 1) / 2], i = (i - 1) / 2;
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n) {
    uint64_t top = h[0], v = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c], i = c;
    }
    h[i] = v;
    return top;
}

/* Long word: the lowest (rank, position) pair merges first; stale heap entries are
 * recognised by re-looking up the pair now at that position. Emits the result. */
static void bpe_heap(enc *o, const unsigned char *w, size_t n) {
    const mrl_tok *t = o->t;
    if (n > o->scap) {
        size_t cap = n * 2;
        int32_t *p;
        uint64_t *h;
        if ((p = realloc(o->sym, cap * sizeof *p))) o->sym = p;
        if (p && (p = realloc(o->prev, cap * sizeof *p))) o->prev = p;
        if (p && (p = realloc(o->next, cap * sizeof *p))) o->next = p;
        if (!p || !(h = realloc(o->heap, cap * 3 * sizeof *h))) { o->oom = 1; return; }
        o->heap = h;
        o->scap = cap;
    }
    int32_t *sym = o->sym, *prev = o->prev, *next = o->next, res = -1;
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        sym[i] = t->byte_id[w[i]];
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t r = merge_find(t, sym[i], sym[i + 1], &res);
        if (r != UINT32_MAX) heap_push(o->heap, &hn, (uint64_t)r << 32 | i);
    }
    while (hn) {
        uint64_t top = heap_pop(o->heap, &hn);
        uint32_t r = (uint32_t)(top >> 32);
        int32_t p = (int32_t)(uint32_t)top, q = next[p];
        if (sym[p] < 0 || q < 0 || merge_find(t, sym[p], sym[q], &res) != r) continue;
        sym[p] = res;
        sym[q] = -1;
        next[p] = next[q];
        if (next[q] >= 0) prev[next[q]] = p;
        if (prev[p] >= 0 && (r = merge_find(t, sym[prev[p]], sym[p], &res)) != UINT32_MAX)
            heap_push(o->heap, &hn, (uint64_t)r << 32 | (uint32_t)prev[p]);
        if (next[p] >= 0 && (r = merge_find(t, sym[p], sym[next[p]], &res)) != UINT32_MAX)
            heap_push(o->heap, &hn, (uint64_t)r << 32 | (uint32_t)p);
    }
    for (int32_t i = 0; i >= 0; i = next[i]) emit(o, sym[i]);
}

static void bpe_word(enc *o, const unsigned char *w, size_t n) {
    const mrl_tok *t = o->t;
    if (n == 1) { emit(o, t->byte_id[w[0]]); return; }
    int32_t id = tok_vocab_find(t, (const char *)w, n);
    uint8_t ok = 0;
    if (id >= 0) {
        if (t->ignore_merges) { emit(o, id); return; }
        ok = atomic_load_explicit(&t->selfok[id], memory_order_relaxed);
        if (ok == 1) { emit(o, id); return; }
    }
    if (n > BPE_SCAN_MAX) { bpe_heap(o, w, n); return; }
    int32_t sym[BPE_SCAN_MAX];
    int m = bpe_scan(t, w, (int)n, sym);
    if (id >= 0 && ok == 0)
        atomic_store_explicit(&t->selfok[id], (uint8_t)(m == 1 && sym[0] == id ? 1 : 2), memory_order_relaxed);
    for (int i = 0; i < m; i++) emit(o, sym[i]);
}

static size_t utf8_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

static void split_regex(enc *o, int level, const unsigned char *s, size_t n);

/* Pre-tokenizer step `level` over s[0..n): matches and the gaps between them are pieces
 * (HF's "Isolated"); each piece goes to the next step, the last step to BPE. */
static void split(enc *o, int level, const unsigned char *s, size_t n) {
    const mrl_tok *t = o->t;
    if (n == 0) return;
    if (level == t->n_re && o->word) { if (!o->word_err) o->word_err = o->word(o->wctx, s, n); return; }
    if (level == t->n_re) { bpe_word(o, s, n); return; }
    if (t->prefix_space[level] && s[0] != ' ') {
        unsigned char *p = malloc(n + 1);
        if (!p) { o->oom = 1; return; }
        p[0] = ' ';
        memcpy(p + 1, s, n);
        split_regex(o, level, p, n + 1);
        free(p);
    } else {
        split_regex(o, level, s, n);
    }
}

static void split_regex(enc *o, int level, const unsigned char *s, size_t n) {
    const mrl_tok *t = o->t;
    const pcre2_code *re = o->ext && t->re_ext[level] ? t->re_ext[level] : t->re[level];
    if (!re) { split(o, level + 1, s, n); return; }
    size_t pos = 0, last = 0;
    while (pos < n) {
        int rc = rx_match(re, s, n, pos, PCRE2_NO_UTF_CHECK, o->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) { o->rx_err = rc; return; }   /* never a silent wrong split */
        /* copied out: the next step reuses the match data */
        size_t m0 = pcre2_get_ovector_pointer(o->md)[0], m1 = pcre2_get_ovector_pointer(o->md)[1];
        if (m1 == m0) {   /* an empty match makes no piece */
            if (m0 >= n) break;
            pos = m0 + utf8_len(s[m0]);
            continue;
        }
        if (m0 > last) split(o, level + 1, s + last, m0 - last);
        split(o, level + 1, s + m0, m1 - m0);
        last = pos = m1;
    }
    if (last < n) split(o, level + 1, s + last, n - last);
}

/* Membership of c in sorted ranges r; *last is the stretch (a range or the gap after one)
 * the previous code point fell in, which the next one usually shares (a run of CJK). */
typedef struct { uint32_t lo, hi; int in; } tok_span;
static int in_ranges(const uint32_t (*r)[2], size_t nr, uint32_t c, tok_span *last) {
    if (c >= last->lo && c <= last->hi) return last->in;
    size_t lo = 0, hi = nr;
    while (lo < hi) {   /* the first range that ends at or after c */
        size_t m = (lo + hi) / 2;
        if (r[m][1] < c) lo = m + 1;
        else hi = m;
    }
    if (lo < nr && r[lo][0] <= c) *last = (tok_span){r[lo][0], r[lo][1], 1};
    else *last = (tok_span){lo ? r[lo - 1][1] + 1 : 0, lo < nr ? r[lo][0] - 1 : 0x10FFFF, 0};
    return last->in;
}
#define IN_TABLE(tab, c, last) in_ranges(tab, sizeof tab / sizeof *tab, c, last)

/* The code point at s (valid UTF-8: tok_encode checked it, and utf8proc writes it), its
 * length in *k. */
static uint32_t cp_at(const unsigned char *s, size_t *k) {
    unsigned char c = s[0];
    *k = utf8_len(c);
    return *k == 1 ? c
         : *k == 2 ? (uint32_t)(c & 0x1F) << 6 | (s[1] & 0x3F)
         : *k == 3 ? (uint32_t)(c & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F)
                   : (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
                     (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
}

/* Hugging Face tokenizers normalizes with Unicode 9.0 tables (unicode-normalization-alignments),
 * utf8proc with newer ones: a code point assigned since is to tokenizers a starter that neither
 * decomposes nor composes (U+0EC8 U+0EBA stays in that order, where utf8proc puts U+0EBA,
 * class 9 since Unicode 12, first). So the text is normalized in the stretches between such
 * code points, which are kept as they are: what the Unicode 9.0 normal form of the whole is.
 * Here: the end of the first code point at or after s[from] that Unicode 9.0 lacks (its
 * start in *at), or 0 if none. */
static size_t next_new_cp(const unsigned char *s, size_t n, size_t from, size_t *at) {
    tok_span last = {1, 0, 0};
    for (size_t i = from, k; i < n; i += k) {
        if (s[i] < 0xCD) { k = s[i] < 0x80 ? 1 : 2; continue; }   /* below U+0340: all in Unicode 9.0 */
        if (!IN_TABLE(TOK_U9_ASSIGNED, cp_at(s + i, &k), &last)) { *at = i; return i + k; }
    }
    return 0;
}

/* 1 if s holds a letter or number of TOK_RX_EXTRA (all at or above U+1C89). */
static int has_rx_extra(const unsigned char *s, size_t n) {
    tok_span last = {1, 0, 0};
    for (size_t i = 0, k = 1; i < n; i += k) {
        if (s[i] < 0xE1) { k = 1; continue; }   /* below U+1000 (or inside a character) */
        if (IN_TABLE(TOK_RX_EXTRA, cp_at(s + i, &k), &last)) return 1;
    }
    return 0;
}

static int buf_put(unsigned char **out, size_t *len, size_t *cap, const void *p, size_t k) {
    if (*len + k > *cap) {
        size_t nc = (*len + k) * 2 + 64;
        unsigned char *no = realloc(*out, nc);
        if (!no) return -1;
        *out = no, *cap = nc;
    }
    memcpy(*out + *len, p, k);
    *len += k;
    return 0;
}

/* The normal form of s[0..n) in *out (malloc'd), its length returned; -1 if utf8proc fails. */
static utf8proc_ssize_t norm_map(const char *s, size_t n, int opt, unsigned char **out) {
    return utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, out, (utf8proc_option_t)opt);
}

/* s[0..n) normalized as tokenizers does; NULL with *out_n SIZE_MAX where utf8proc fails
 * (out of memory: the text was checked to be UTF-8). */
static unsigned char *normalize(const mrl_tok *t, const char *s, size_t n, size_t *out_n) {
    int opt = UTF8PROC_STABLE;
    opt |= (t->normalizer == TOK_NORM_NFC || t->normalizer == TOK_NORM_NFKC) ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE;
    if (t->normalizer == TOK_NORM_NFKC || t->normalizer == TOK_NORM_NFKD) opt |= UTF8PROC_COMPAT;
    const unsigned char *u = (const unsigned char *)s;
    size_t at, end = next_new_cp(u, n, 0, &at);
    unsigned char *out = NULL;
    if (!end) {   /* the usual case: one call */
        utf8proc_ssize_t r = norm_map(s, n, opt, &out);
        if (r < 0) { *out_n = SIZE_MAX; return NULL; }
        *out_n = (size_t)r;
        return out;
    }
    size_t len = 0, cap = 0, from = 0;
    for (;;) {
        if (!end) at = end = n;   /* the stretch after the last new code point */
        if (at > from) {
            unsigned char *piece = NULL;
            utf8proc_ssize_t r = norm_map(s + from, at - from, opt, &piece);
            int bad = r < 0 || buf_put(&out, &len, &cap, piece, (size_t)r);
            free(piece);
            if (bad) { free(out); *out_n = SIZE_MAX; return NULL; }
        }
        if (end > at && buf_put(&out, &len, &cap, s + at, end - at)) { free(out); *out_n = SIZE_MAX; return NULL; }
        if (end >= n) break;
        from = end;
        end = next_new_cp(u, n, from, &at);
    }
    *out_n = len;
    return out;
}

unsigned char *tok_normalized(const mrl_tok *t, const char *s, size_t n, size_t *out_n) {
    int ascii = 1;   /* ASCII is unchanged by every normal form */
    for (size_t i = 0; i < n && ascii; i++) ascii = (unsigned char)s[i] < 0x80;
    return ascii || t->normalizer == TOK_NORM_NONE ? NULL : normalize(t, s, n, out_n);
}

/* Normalized text (no added token in it) to the pre-tokenizer and BPE. */
static void pretok(enc *o, const char *s, size_t n) {
    const mrl_tok *t = o->t;
    int ascii = 1;   /* ASCII is cut by the plain regex */
    for (size_t i = 0; i < n && ascii; i++) ascii = (unsigned char)s[i] < 0x80;
    o->ext = !ascii && t->has_ext && has_rx_extra((const unsigned char *)s, n);
    split(o, 0, (const unsigned char *)s, n);
}

/* The length of the White_Space character (what tokenizers' lstrip/rstrip take away) that
 * starts at s[i] of the n bytes, 0 if there is none. */
static size_t ws_at(const char *s, size_t n, size_t i) { return tok_space_at(s + i, n - i, 0); }

/* The same for the White_Space character that ends at s[end] (well-formed UTF-8 before it). */
static size_t ws_before(const char *s, size_t from, size_t end) {
    for (size_t k = 1; k <= 3 && k <= end - from; k++)
        if (ws_at(s, end, end - k) == k) return k;
    return 0;
}

/* The leftmost added token of this kind (normalized or not) at or after *at (longest there);
 * NULL if none. */
static const tok_added *next_added(const mrl_tok *t, const char *s, size_t n, int kind, size_t *at) {
    uint8_t bit = (uint8_t)(1u << kind);
    for (size_t i = *at; i < n; i++) {
        if (!(t->added_first[(unsigned char)s[i]] & bit)) continue;
        for (int k = 0; k < t->n_added; k++) {
            const tok_added *a = &t->added[k];
            if (a->normalized == kind && a->mlen <= n - i && memcmp(s + i, t->pool + a->moff, a->mlen) == 0) {
                *at = i;
                return a;
            }
        }
    }
    return NULL;
}

/* 1 if a word character (Rust regex's \w, what HF's single_word looks at) starts at s[i]. */
static int word_at(enc *o, const char *s, size_t n, size_t i) {
    return i < n && pcre2_match(o->t->re_word, (PCRE2_SPTR)s, n, i, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, o->md, NULL) > 0;
}

static void added_split(enc *o, const char *text, size_t len, int kind);

/* Text between the added tokens that match as they are: normalized, then the "normalized"
 * added tokens split out of it (HF's two passes), the rest pre-tokenized. */
static void segment(enc *o, const char *s, size_t n) {
    if (n == 0) return;
    size_t len = 0;
    unsigned char *norm = tok_normalized(o->t, s, n, &len);
    if (!norm && len == SIZE_MAX) { o->oom = 1; return; }
    if (norm) s = (const char *)norm, n = len;
    if (o->t->n_norm_added) added_split(o, s, n, 1);
    else pretok(o, s, n);
    free(norm);
}

/* As HF's AddedVocabulary: the added tokens of one kind (kind 0: those matched on the text as it
 * is, 1: the "normalized" ones, on the normalized text) are found first, each search going on
 * from the end of the last match (scan), and only then widened by lstrip/rstrip; so an rstrip that
 * takes the space an added token begins with (" <y>" after "<x>" rstrip) does not hide that
 * token. A single_word token with a word character beside it is passed over (the search goes on
 * after it). pos: where the text not yet encoded starts (HF's start_offset). */
static void added_split(enc *o, const char *text, size_t len, int kind) {
    const mrl_tok *t = o->t;
    size_t pos = 0, scan = 0;
    for (;;) {
        size_t at = scan;
        const tok_added *a = t->n_added && scan < len ? next_added(t, text, len, kind, &at) : NULL;
        if (a && a->single_word) {
            size_t b = at;   /* the start of the character before the token */
            if (b > 0) do b--; while (b > 0 && ((unsigned char)text[b] & 0xC0) == 0x80);
            if ((at > 0 && word_at(o, text, at, b)) || word_at(o, text, len, at + a->mlen)) {
                scan = at + a->mlen;
                continue;
            }
        }
        size_t start = a ? at : len;
        if (a && a->lstrip) {   /* never back into what the token before took */
            if (start < pos) start = pos;
            for (size_t k; (k = ws_before(text, pos, start)); ) start -= k;
        }
        if (start > pos) (kind ? pretok : segment)(o, text + pos, start - pos);
        if (!a) break;
        size_t stop = scan = at + a->mlen;
        if (a->rstrip) for (size_t k; (k = ws_at(text, len, stop)); ) stop += k;
        /* an lstrip token inside the whitespace the one before took is left nothing of its
           own (start at that whitespace's end): HF drops the empty piece, token and all */
        if (!o->word && start < stop) emit(o, a->id);
        pos = stop;
    }
}

/* Encodes text with o's settings (ids, or pieces to o.word); the count of ids, or -1. */
static int run(enc o, const char *text, size_t len, mrl_err *e) {
    long bad = tok_utf8_check(text, len);
    if (bad >= 0) return err_set(e, 1, "invalid UTF-8 at byte %ld", bad + 1);
    o.md = pcre2_match_data_create(4, NULL);
    if (o.md) added_split(&o, text, len, 0);
    else o.oom = 1;
    pcre2_match_data_free(o.md);
    free(o.sym), free(o.prev), free(o.next), free(o.heap);
    if (o.rx_err == PCRE2_ERROR_NOMEMORY) o.oom = 1;   /* the interpreter's frames: memory, not the text */
    else if (o.rx_err) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(o.rx_err, msg, sizeof msg);
        return err_set(e, 1, "pre-tokenizer regex: %s", (char *)msg);
    }
    if (o.word_err || o.oom) return err_set(e, 3, "out of memory");
    return o.n;
}

int tok_encode(const mrl_tok *t, const char *text, size_t len, int32_t *ids, int cap, mrl_err *e) {
    enc o = {.t = t, .ids = ids, .cap = ids ? cap : 0};
    return run(o, text, len, e);
}

int tok_pretokenize(const mrl_tok *t, const char *text, size_t len, tok_word_fn fn, void *ctx, mrl_err *e) {
    enc o = {.t = t, .word = fn, .wctx = ctx};
    return run(o, text, len, e) < 0 ? -1 : 0;
}
