/* tokenizer.c — loads a Hugging Face tokenizer.json (byte-level BPE) with libjq into flat
 * tables: per-id raw bytes, a vocab hash, a merge-pair hash, added tokens; lookup and decode. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jv.h>
#include "fileio.h"
#include "jqf.h"
#include "tok_internal.h"
#include "tok_unicode.inc"

#define TOK_MAX_ID (1 << 24)          /* refuse ids that would make absurd tables */
#define TOK_MAX_FILE ((size_t)1 << 31)

/* A word character as Rust regex's \w, which HF tokenizers' single_word tests with:
 * [\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]. PCRE2 reads binary properties from 10.40
 * on (Debian 11's 10.36 and Ubuntu 22.04's 10.39 do not), so the class is spelled here in
 * general categories: Alphabetic is L, Nl and Other_Alphabetic, which is marks (in M already)
 * but for the circled, parenthesized and squared Latin letters (So) listed. test_tokenizer
 * holds it equal to the properties' class at every code point where PCRE2 has them. */
const char tok_word_class[] = "[\\p{L}\\p{Nl}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}\\x{24B6}-\\x{24E9}"
                              "\\x{1F130}-\\x{1F149}\\x{1F150}-\\x{1F169}\\x{1F170}-\\x{1F189}]";

/* ---- GPT-2 bytes_to_unicode: printable Latin-1 bytes map to themselves, the other
 * 68 bytes to U+0100.. in byte order. Token strings in tokenizer.json use it. */
static void byte_unicode_tables(uint16_t b2u[256], int16_t u2b[324]) {
    int n = 0;
    for (int i = 0; i < 324; i++) u2b[i] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        b2u[b] = printable ? (uint16_t)b : (uint16_t)(256 + n++);
        u2b[b2u[b]] = (int16_t)b;
    }
}

/* Decodes one UTF-8 code point of a (valid, from JSON) string; returns its length. */
static int utf8_cp(const unsigned char *s, size_t n, uint32_t *cp) {
    if (s[0] < 0x80 || n < 2) { *cp = s[0]; return 1; }
    if (s[0] < 0xE0) { *cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F); return 2; }
    if (s[0] < 0xF0 || n < 4) {
        if (n < 3) { *cp = s[0]; return 1; }
        *cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
        return 3;
    }
    *cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
          (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
    return 4;
}

/* Byte-level token string -> raw bytes in out (at least n bytes). Returns the raw length,
 * or -1 if a character is outside the mapping (such a token is kept as its UTF-8). */
static long bytelevel_to_raw(const int16_t u2b[324], const char *s, size_t n, char *out) {
    long k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += (size_t)utf8_cp((const unsigned char *)s + i, n - i, &cp);
        if (cp >= 324 || u2b[cp] < 0) return -1;
        out[k++] = (char)u2b[cp];
    }
    return k;
}

uint64_t tok_hash(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        s += 8, n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)(unsigned char)s[i] << (8 * i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

int32_t tok_vocab_find(const mrl_tok *t, const char *s, size_t n) {
    for (size_t i = tok_hash(s, n) & t->vmask;; i = (i + 1) & t->vmask) {
        int32_t id = t->vslot[i];
        if (id < 0) return -1;
        if (t->len[id] == n && memcmp(t->pool + t->off[id], s, n) == 0) return id;
    }
}

static uint64_t pair_hash(uint64_t k) {
    k *= 0x9E3779B97F4A7C15ull;
    return k ^ (k >> 31);
}

/* ---- loading helpers ---- */

static jv obj_get(jv o, const char *k) {   /* o not consumed; null if o isn't an object or lacks k */
    if (jv_get_kind(o) != JV_KIND_OBJECT) return jv_null();
    jv v = jv_object_get(jv_copy(o), jv_string(k));
    return jv_is_valid(v) ? v : (jv_free(v), jv_null());   /* an absent key is invalid to libjq */
}

static int obj_bool(jv o, const char *k) {
    jv v = obj_get(o, k);
    int r = jv_get_kind(v) == JV_KIND_TRUE;
    jv_free(v);
    return r;
}

static int str_is(jv v, const char *s) {
    return jv_get_kind(v) == JV_KIND_STRING && strcmp(jv_string_value(v), s) == 0;
}

static int pool_add(mrl_tok *t, const char *s, size_t n) {
    if (n == 0) return (int)t->pool_len;
    if (t->pool_len + n > t->pool_cap) {
        t->pool_cap = (t->pool_len + n) * 2 + 4096;
        t->pool = realloc(t->pool, t->pool_cap);
    }
    memcpy(t->pool + t->pool_len, s, n);
    t->pool_len += n;
    return (int)(t->pool_len - n);
}

static int valid_id(jv v, int32_t *id) {
    if (jv_get_kind(v) != JV_KIND_NUMBER) return 0;
    double d = jv_number_value(v);
    if (!(d >= 0 && d < TOK_MAX_ID) || d != (double)(int32_t)d) return 0;
    *id = (int32_t)d;
    return 1;
}

/* ---- the parts of tokenizer.json ---- */

static int load_normalizer(mrl_tok *t, jv n, mrl_err *e) {
    jv type = obj_get(n, "type");
    int rc = 0;
    if (jv_get_kind(n) == JV_KIND_NULL) t->normalizer = TOK_NORM_NONE;
    else if (str_is(type, "NFC")) t->normalizer = TOK_NORM_NFC;
    else if (str_is(type, "NFD")) t->normalizer = TOK_NORM_NFD;
    else if (str_is(type, "NFKC")) t->normalizer = TOK_NORM_NFKC;
    else if (str_is(type, "NFKD")) t->normalizer = TOK_NORM_NFKD;
    else if (str_is(type, "Sequence")) {
        jv list = obj_get(n, "normalizers");
        int k = jv_get_kind(list) == JV_KIND_ARRAY ? jv_array_length(jv_copy(list)) : -1;
        if (k == 0) t->normalizer = TOK_NORM_NONE;
        else if (k == 1) rc = load_normalizer(t, jv_array_get(jv_copy(list), 0), e);
        else rc = err_set(e, 1, "normalizer: a Sequence of %d normalizers is not supported", k);
        jv_free(list);
    } else {
        rc = err_set(e, 1, "normalizer \"%s\" is not supported (only NFC/NFD/NFKC/NFKD)",
                     jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : "?");
    }
    jv_free(type);
    jv_free(n);
    return rc;
}

static const char *GPT2_REGEX =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* Unicode's White_Space property, which is what \s means to the Oniguruma regexes of
 * Hugging Face tokenizers. PCRE2 10.42's \s also takes U+180E (MONGOLIAN VOWEL SEPARATOR,
 * a format character since Unicode 6.3), which split text around it differently. */
#define WHITE_SPACE "\\t\\n\\x0b\\f\\r\\x20\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}" \
                    "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"

/* The length of a \p{L}, \pL, \p{N} or \pN (or \P: negated) at pat[i] (a backslash), 0 if
 * there is none; *extra is what tokenizers' Oniguruma adds to the class (Unicode 16.0). */
static size_t letter_number_class(const char *pat, size_t n, size_t i, const char **extra) {
    if (i + 2 >= n || (pat[i + 1] != 'p' && pat[i + 1] != 'P')) return 0;
    char k = pat[i + 2];
    size_t len = 3;
    if (k == '{') {
        if (i + 4 >= n || pat[i + 4] != '}') return 0;
        k = pat[i + 3], len = 5;
    }
    if (k != 'L' && k != 'N') return 0;
    *extra = k == 'L' ? TOK_RX_L_EXTRA : TOK_RX_N_EXTRA;
    return len;
}

/* pat with each \s spelled as WHITE_SPACE and each \S as its complement, and with ext, each
 * \p{L} and \p{N} given the letters and numbers of Unicode 15.0 and 16.0 that tokenizers'
 * Oniguruma has and PCRE2 10.42 lacks (\p{N} of KAKTOVIK NUMERAL ZERO, \p{L} of CJK
 * Extension I), \P{L} and \P{N} their complements (outside a class; \S, \P{L} and \P{N}
 * inside one have no such spelling and are left to PCRE2). *changed is set when an \p{L} or
 * \p{N} was given more. NULL when out of memory. */
static char *white_space_pattern(const char *pat, size_t n, int ext, int *changed, size_t *out_n) {
    size_t ws = strlen(WHITE_SPACE), cap = 1, o = 0, most = ws;
    if (strlen(TOK_RX_L_EXTRA) > most) most = strlen(TOK_RX_L_EXTRA);
    if (strlen(TOK_RX_N_EXTRA) > most) most = strlen(TOK_RX_N_EXTRA);
    for (size_t i = 0; i < n; i++) cap += pat[i] == '\\' ? most + 8 : 1;
    char *r = malloc(cap);
    if (!r) return NULL;
    int in_class = 0;
    for (size_t i = 0; i < n; i++) {
        char c = pat[i];
        const char *extra;
        size_t k;
        if (ext && c == '\\' && (k = letter_number_class(pat, n, i, &extra)) && !(in_class && pat[i + 1] == 'P')) {
            size_t xn = strlen(extra);
            *changed = 1;
            if (!in_class) r[o++] = '[';
            if (pat[i + 1] == 'P') r[o++] = '^';
            r[o++] = '\\', r[o++] = 'p', r[o++] = '{', r[o++] = pat[i + k - (k == 5 ? 2 : 1)], r[o++] = '}';
            memcpy(r + o, extra, xn), o += xn;
            if (!in_class) r[o++] = ']';
            i += k - 1;
            continue;
        }
        if (c == '\\' && i + 1 < n) {
            char d = pat[i + 1];
            if (d == 's' || (d == 'S' && !in_class)) {
                if (!in_class) r[o++] = '[';
                if (d == 'S') r[o++] = '^';
                memcpy(r + o, WHITE_SPACE, ws), o += ws;
                if (!in_class) r[o++] = ']';
            } else if (d == 'c' && i + 2 < n) {   /* \cX: a control character, X taken as it is */
                r[o++] = c, r[o++] = d, r[o++] = pat[i + 2];
                i += 2;
                continue;
            } else if (d == 'Q' || d == 'E' || (d == 'x' && i + 2 < n && pat[i + 2] == '{')) {
                /* \Q..\E and \x{..} are copied as they are (no \s inside them) */
                size_t j = i + 2;
                if (d == 'Q') { while (j + 1 < n && !(pat[j] == '\\' && pat[j + 1] == 'E')) j++; j = j + 1 < n ? j + 2 : n; }
                else if (d == 'x') { while (j < n && pat[j] != '}') j++; j = j < n ? j + 1 : n; }
                memcpy(r + o, pat + i, j - i), o += j - i;
                i = j - 1;
                continue;
            } else {
                r[o++] = c, r[o++] = d;
            }
            i++;
            continue;
        }
        if (c == '[' && !in_class) {
            in_class = 1;
            r[o++] = c;
            /* a ] right after [ or [^ is a literal member */
            if (i + 1 < n && pat[i + 1] == '^') r[o++] = pat[++i];
            if (i + 1 < n && pat[i + 1] == ']') r[o++] = pat[++i];
            continue;
        }
        if (c == '[' && in_class && i + 1 < n && pat[i + 1] == ':') {
            /* a POSIX class [:name:] inside a class */
            size_t j = i + 2;
            while (j + 1 < n && !(pat[j] == ':' && pat[j + 1] == ']')) j++;
            j = j + 1 < n ? j + 2 : n;
            memcpy(r + o, pat + i, j - i), o += j - i;
            i = j - 1;
            continue;
        }
        if (c == ']' && in_class) in_class = 0;
        r[o++] = c;
    }
    r[o] = 0;
    *out_n = o;
    return r;
}

/* A pre-tokenizer step: pat (NULL: no split), prefix: ByteLevel's add_prefix_space. */
static int add_step(mrl_tok *t, const char *pat, size_t n, uint32_t extra, int prefix, mrl_err *e) {
    if (t->n_re == TOK_MAX_SPLITS) return err_set(e, 1, "pre_tokenizer: too many steps");
    t->prefix_space[t->n_re] = (uint8_t)prefix;
    if (!pat) { t->re[t->n_re++] = NULL; return 0; }
    int ec, changed = 0;
    PCRE2_SIZE eo;
    char *ws = NULL, *wx = NULL;
    size_t wn = n, xn = n;
    if (!(extra & PCRE2_LITERAL) && (!(ws = white_space_pattern(pat, n, 0, &changed, &wn)) ||
                                     !(wx = white_space_pattern(pat, n, 1, &changed, &xn)))) {
        free(ws);
        return err_set(e, 3, "out of memory");
    }
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)(ws ? ws : pat), wn, PCRE2_UTF | PCRE2_UCP | extra, &ec, &eo, NULL);
    /* text with a letter or number PCRE2's tables lack is cut by a second regex that names
     * them (slower: the classes grow by some 40 ranges) */
    pcre2_code *rx = re && changed ? pcre2_compile((PCRE2_SPTR)wx, xn, PCRE2_UTF | PCRE2_UCP | extra, &ec, &eo, NULL) : NULL;
    free(ws), free(wx);
    if (re && changed && !rx) pcre2_code_free(re), re = NULL;
    if (!re) {
        /* the offset and message of the pattern as the file spells it, where it fails too */
        int ec2;
        PCRE2_SIZE eo2;
        pcre2_code *as_is = pcre2_compile((PCRE2_SPTR)pat, n, PCRE2_UTF | PCRE2_UCP | extra, &ec2, &eo2, NULL);
        if (!as_is) ec = ec2, eo = eo2;
        pcre2_code_free(as_is);
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return err_set(e, 1, "pre_tokenizer regex at offset %zu: %s", (size_t)eo, (char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter if JIT is absent */
    if (rx) pcre2_jit_compile(rx, PCRE2_JIT_COMPLETE), t->has_ext = 1;
    t->re_ext[t->n_re] = rx;
    t->re[t->n_re++] = re;
    return 0;
}

/* One pre-tokenizer step; *bytelevel set when a ByteLevel step is seen. */
static int load_pretok(mrl_tok *t, jv p, int *bytelevel, mrl_err *e) {
    jv type = obj_get(p, "type");
    int rc = 0;
    if (*bytelevel && !str_is(type, "Sequence"))   /* HF runs it on the byte-level symbols ("Ġ", "Ċ") */
        rc = err_set(e, 1, "pre_tokenizer: a %s step after ByteLevel is not supported (it would cut the "
                     "byte-level symbols, not the text)", jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : "?");
    else if (str_is(type, "Sequence")) {
        jv list = obj_get(p, "pretokenizers");
        if (jv_get_kind(list) != JV_KIND_ARRAY) rc = err_set(e, 1, "pre_tokenizer: Sequence without \"pretokenizers\"");
        else
            for (int i = 0; rc == 0 && i < jv_array_length(jv_copy(list)); i++)
                rc = load_pretok(t, jv_array_get(jv_copy(list), i), bytelevel, e);
        jv_free(list);
    } else if (str_is(type, "ByteLevel")) {
        *bytelevel = 1;
        int prefix = obj_bool(p, "add_prefix_space");
        jv ur = obj_get(p, "use_regex");
        if (jv_get_kind(ur) != JV_KIND_FALSE) rc = add_step(t, GPT2_REGEX, strlen(GPT2_REGEX), 0, prefix, e);
        else if (prefix) rc = add_step(t, NULL, 0, 0, 1, e);
        jv_free(ur);
    } else if (str_is(type, "Split")) {
        jv pat = obj_get(p, "pattern"), beh = obj_get(p, "behavior");
        jv rx = obj_get(pat, "Regex"), lit = obj_get(pat, "String");
        if (!str_is(beh, "Isolated") || obj_bool(p, "invert"))
            rc = err_set(e, 1, "pre_tokenizer: only Split with behavior \"Isolated\" is supported");
        else if (jv_get_kind(rx) == JV_KIND_STRING)
            rc = add_step(t, jv_string_value(rx), (size_t)jv_string_length_bytes(jv_copy(rx)), 0, 0, e);
        else if (jv_get_kind(lit) == JV_KIND_STRING)
            rc = add_step(t, jv_string_value(lit), (size_t)jv_string_length_bytes(jv_copy(lit)), PCRE2_LITERAL, 0, e);
        else rc = err_set(e, 1, "pre_tokenizer: Split without a pattern");
        jv_free(pat), jv_free(beh), jv_free(rx), jv_free(lit);
    } else if (jv_get_kind(p) == JV_KIND_NULL) {
        rc = err_set(e, 1, "pre_tokenizer is missing (null): only byte-level BPE, with a ByteLevel pre-tokenizer, is supported");
    } else {
        rc = err_set(e, 1, "pre_tokenizer \"%s\" is not supported (byte-level BPE: Split and ByteLevel)",
                     jv_get_kind(type) == JV_KIND_STRING ? jv_string_value(type) : "?");
    }
    jv_free(type);
    jv_free(p);
    return rc;
}

static void set_token(mrl_tok *t, int32_t id, const char *raw, size_t n, int flags) {
    t->off[id] = (uint32_t)pool_add(t, raw, n);
    t->len[id] = (uint32_t)n;
    t->flags[id] |= (uint8_t)(TOKF_PRESENT | flags);
}

static int load_vocab(mrl_tok *t, jv vocab, const int16_t u2b[324], mrl_err *e) {
    size_t cap = 16;
    while (cap < (size_t)jv_object_length(jv_copy(vocab)) * 2) cap *= 2;
    t->vmask = cap - 1;
    t->vslot = malloc(cap * sizeof *t->vslot);
    memset(t->vslot, 0xff, cap * sizeof *t->vslot);
    char *raw = NULL;
    size_t rawcap = 0;
    int rc = 0;
    jv_object_foreach(vocab, key, val) {
        int32_t id = 0;
        if (rc == 0 && !valid_id(val, &id))
            rc = err_set(e, 1, "model.vocab: \"%s\" has no valid id", jv_string_value(key));
        else if (rc == 0 && id >= t->n_ids)
            rc = err_set(e, 1, "model.vocab: id %d of \"%s\" out of range", id, jv_string_value(key));
        else if (rc == 0 && (t->flags[id] & TOKF_PRESENT))
            rc = err_set(e, 1, "model.vocab: id %d used twice", id);
        if (rc == 0) {
            size_t n = (size_t)jv_string_length_bytes(jv_copy(key));
            if (n + 1 > rawcap) raw = realloc(raw, rawcap = n * 2 + 16);
            long k = bytelevel_to_raw(u2b, jv_string_value(key), n, raw);
            set_token(t, id, k < 0 ? jv_string_value(key) : raw, k < 0 ? n : (size_t)k, 0);
            /* Only tokens made of mapped characters can come out of encoding. */
            if (k >= 0 && tok_vocab_find(t, raw, (size_t)k) < 0) {
                size_t i = tok_hash(raw, (size_t)k) & t->vmask;
                while (t->vslot[i] >= 0) i = (i + 1) & t->vmask;
                t->vslot[i] = id;
            }
        }
        jv_free(key), jv_free(val);
    }
    free(raw);
    jv_free(vocab);
    return rc;
}

/* Merge lines "a b" or pairs ["a", "b"]; the result's bytes must be a vocab token. */
static int load_merges(mrl_tok *t, jv merges, const int16_t u2b[324], mrl_err *e) {
    int n = jv_array_length(jv_copy(merges));
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap *= 2;
    t->mmask = cap - 1;
    t->mkey = malloc(cap * sizeof *t->mkey);
    memset(t->mkey, 0xff, cap * sizeof *t->mkey);
    t->mrank = malloc(cap * sizeof *t->mrank);
    t->mres = malloc(cap * sizeof *t->mres);
    char *buf = NULL;
    size_t bufcap = 0;
    int rc = 0;
    for (int r = 0; rc == 0 && r < n; r++) {
        jv m = jv_array_get(jv_copy(merges), r);
        const char *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        jv ja = jv_null(), jb = jv_null();
        if (jv_get_kind(m) == JV_KIND_STRING) {
            a = jv_string_value(m);
            const char *sp = strchr(a, ' ');
            if (sp && !strchr(sp + 1, ' ')) na = (size_t)(sp - a), b = sp + 1, nb = strlen(b);
            else a = NULL;
        } else if (jv_get_kind(m) == JV_KIND_ARRAY && jv_array_length(jv_copy(m)) == 2) {
            ja = jv_array_get(jv_copy(m), 0), jb = jv_array_get(jv_copy(m), 1);
            if (jv_get_kind(ja) == JV_KIND_STRING && jv_get_kind(jb) == JV_KIND_STRING) {
                a = jv_string_value(ja), na = (size_t)jv_string_length_bytes(jv_copy(ja));
                b = jv_string_value(jb), nb = (size_t)jv_string_length_bytes(jv_copy(jb));
            }
        }
        if (!a) rc = err_set(e, 1, "model.merges[%d]: expected \"a b\" or [\"a\", \"b\"]", r);
        if (rc == 0) {
            if (na + nb + 1 > bufcap) buf = realloc(buf, bufcap = (na + nb) * 2 + 16);
            long ka = bytelevel_to_raw(u2b, a, na, buf);
            long kb = ka < 0 ? -1 : bytelevel_to_raw(u2b, b, nb, buf + ka);
            int32_t ia = ka < 0 ? -1 : tok_vocab_find(t, buf, (size_t)ka);
            int32_t ib = kb < 0 ? -1 : tok_vocab_find(t, buf + ka, (size_t)kb);
            int32_t ir = (ia < 0 || ib < 0) ? -1 : tok_vocab_find(t, buf, (size_t)(ka + kb));
            if (ir < 0) rc = err_set(e, 1, "model.merges[%d]: \"%.*s\" + \"%.*s\" is not in the vocab",
                                     r, (int)na, a, (int)nb, b);
            else {
                uint64_t key = (uint64_t)(uint32_t)ia << 32 | (uint32_t)ib;
                size_t i = pair_hash(key) & t->mmask;
                while (t->mkey[i] != UINT64_MAX && t->mkey[i] != key) i = (i + 1) & t->mmask;
                t->mkey[i] = key, t->mrank[i] = (uint32_t)r, t->mres[i] = ir;   /* a repeat wins, as in HF */
            }
        }
        jv_free(ja), jv_free(jb), jv_free(m);
    }
    t->n_merges = n;
    free(buf);
    jv_free(merges);
    return rc;
}

static int cmp_added_len(const void *x, const void *y) {
    const tok_added *a = x, *b = y;
    if (a->mlen != b->mlen) return a->mlen < b->mlen ? 1 : -1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* An added token matches its content as it is; it decodes as HF's ByteLevel decoder turns it
 * into bytes: a content made only of byte-level symbols ("\xC4\xA0\xC4\xA0x", "\xC3\xA9") is
 * those bytes ("  x", the byte 0xE9), any other (the R1 tokens) its own UTF-8.
 * HF does not take the "id" of the file: it gives a token the id of an earlier entry with the
 * same content, else its id in the vocab, else the next after the vocab's n_vocab tokens and
 * the added ids before it (and only warns where the file says otherwise). Every file HF writes
 * agrees; one that does not would encode and decode differently here, so it is refused.
 * vocab: model.vocab (not consumed). */
static int load_added(mrl_tok *t, jv list, jv vocab, const int16_t u2b[324], mrl_err *e) {
    int n = jv_array_length(jv_copy(list)), rc = 0, top = -1, n_vocab = jv_object_length(jv_copy(vocab));   /* top: the largest id HF gave */
    t->added = calloc((size_t)n + 1, sizeof *t->added);
    size_t scap = 16;
    while (scap < (size_t)n * 2) scap *= 2;
    int *seen = malloc(scap * sizeof *seen);   /* content -> index in t->added, -1 empty */
    if (!seen || !t->added) { free(seen); jv_free(list); return err_set(e, 3, "out of memory"); }
    for (size_t i = 0; i < scap; i++) seen[i] = -1;
    char *raw = NULL;
    size_t rawcap = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        jv a = jv_array_get(jv_copy(list), i);
        jv c = obj_get(a, "content"), jid = obj_get(a, "id");
        int32_t id;
        if (jv_get_kind(c) != JV_KIND_STRING || jv_string_length_bytes(jv_copy(c)) == 0)
            rc = err_set(e, 1, "added_tokens[%d]: \"content\" is missing or empty", i);
        else if (!valid_id(jid, &id) || id >= t->n_ids)
            rc = err_set(e, 1, "added_tokens[%d]: \"id\" is missing or out of range", i);
        else {
            size_t len = (size_t)jv_string_length_bytes(jv_copy(c)), h;
            const char *cs = jv_string_value(c);
            if (len + 1 > rawcap) raw = realloc(raw, rawcap = len * 2 + 16);
            long k = bytelevel_to_raw(u2b, cs, len, raw);
            int32_t want = -1, in_vocab = -1;
            for (h = tok_hash(cs, len) & (scap - 1); seen[h] >= 0; h = (h + 1) & (scap - 1)) {
                const tok_added *p = &t->added[seen[h]];
                if (p->len == len && memcmp(t->pool + p->off, cs, len) == 0) { want = p->id; break; }
            }
            int again = want >= 0;
            if (want < 0) {   /* the vocab's own spelling, as HF's token_to_id */
                jv v = jv_object_get(jv_copy(vocab), jv_string_sized(cs, (int)len));   /* invalid if absent */
                if (valid_id(v, &in_vocab)) want = in_vocab;
                else in_vocab = -1;
                jv_free(v);
            }
            if (want < 0) want = top < n_vocab ? n_vocab : top + 1;
            if (want > top) top = want;
            if (want != id) {
                char why[96];
                if (again) snprintf(why, sizeof why, "that of the entry before it with this content");
                else if (in_vocab >= 0) snprintf(why, sizeof why, "its id in model.vocab");
                else snprintf(why, sizeof why, "the next after model.vocab's %d tokens and the added ones before it", n_vocab);
                rc = err_set(e, 1, "added_tokens[%d]: \"id\" %d, but Hugging Face tokenizers gives \"%.100s\" the id %d (%s)",
                             i, id, cs, want, why);
            } else {
                if (!again) seen[h] = t->n_added;
                tok_added *ad = &t->added[t->n_added++];
                ad->id = id, ad->special = (uint8_t)obj_bool(a, "special");
                ad->lstrip = (uint8_t)obj_bool(a, "lstrip"), ad->rstrip = (uint8_t)obj_bool(a, "rstrip");
                ad->single_word = (uint8_t)obj_bool(a, "single_word"), ad->normalized = (uint8_t)obj_bool(a, "normalized");
                ad->off = (uint32_t)pool_add(t, cs, len), ad->len = (uint32_t)len;
                /* a "normalized" token matches the normalized text with its content normalized too */
                size_t ml = len;
                char *norm = ad->normalized ? (char *)tok_normalized(t, cs, len, &ml) : NULL;
                ad->moff = norm && ml ? (uint32_t)pool_add(t, norm, ml) : ad->off, ad->mlen = norm && ml ? (uint32_t)ml : ad->len;
                free(norm);
                t->n_norm_added += ad->normalized;
                set_token(t, id, k < 0 ? cs : raw, k < 0 ? len : (size_t)k, TOKF_ADDED | (ad->special ? TOKF_SPECIAL : 0));
                t->added_first[(unsigned char)t->pool[ad->moff]] |= (uint8_t)(1u << ad->normalized);
                if (ad->single_word && !t->re_word) {   /* Rust regex's \w */
                    int ec;
                    PCRE2_SIZE eo;
                    if (!(t->re_word = pcre2_compile((PCRE2_SPTR)tok_word_class, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                                     &ec, &eo, NULL))) {
                        PCRE2_UCHAR msg[160];
                        pcre2_get_error_message(ec, msg, sizeof msg);
                        rc = err_set(e, 1, "added_tokens[%d]: single_word needs a word-character class this PCRE2 lacks: %s", i, (char *)msg);
                    }
                    else pcre2_jit_compile(t->re_word, PCRE2_JIT_COMPLETE);
                }
            }
        }
        jv_free(c), jv_free(jid), jv_free(a);
    }
    qsort(t->added, (size_t)t->n_added, sizeof *t->added, cmp_added_len);
    free(raw), free(seen);
    jv_free(list);
    return rc;
}

/* The largest id over vocab and added tokens decides the table sizes. */
static int max_id(jv vocab, jv added) {
    int m = -1;
    jv_object_foreach(vocab, k, v) {
        int32_t id;
        if (valid_id(v, &id) && id > m) m = id;
        jv_free(k), jv_free(v);
    }
    jv_array_foreach(added, i, a) {
        jv v = obj_get(a, "id");
        int32_t id;
        if (valid_id(v, &id) && id > m) m = id;
        jv_free(v), jv_free(a);
        (void)i;
    }
    return m;
}

static int load_json(mrl_tok *t, jv root, mrl_err *e) {
    if (jv_get_kind(root) != JV_KIND_OBJECT) {
        jv_free(root);
        return err_set(e, 1, "not a tokenizer.json (not a JSON object)");
    }
    jv model = obj_get(root, "model");
    jv type = obj_get(model, "type"), vocab = obj_get(model, "vocab"), merges = obj_get(model, "merges");
    jv added = obj_get(root, "added_tokens");
    int rc = 0;
    if (jv_get_kind(model) != JV_KIND_OBJECT) rc = err_set(e, 1, "\"model\" is missing");
    else if (jv_get_kind(type) == JV_KIND_STRING && !str_is(type, "BPE"))
        rc = err_set(e, 1, "model type %s is not supported (only byte-level BPE)", jv_string_value(type));
    else if (jv_get_kind(vocab) != JV_KIND_OBJECT) rc = err_set(e, 1, "\"model.vocab\" is missing or not an object");
    else if (jv_get_kind(merges) != JV_KIND_ARRAY) rc = err_set(e, 1, "\"model.merges\" is missing or not an array");
    else if (jv_get_kind(added) != JV_KIND_ARRAY && jv_get_kind(added) != JV_KIND_NULL)
        rc = err_set(e, 1, "\"added_tokens\" is not an array");
    if (rc == 0) {
        jv p = obj_get(model, "continuing_subword_prefix"), s = obj_get(model, "end_of_word_suffix");
        if ((jv_get_kind(p) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(p)) > 0) ||
            (jv_get_kind(s) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(s)) > 0))
            rc = err_set(e, 1, "BPE with a subword prefix/suffix is not supported (not byte-level)");
        jv_free(p), jv_free(s);
        t->ignore_merges = obj_bool(model, "ignore_merges");
    }
    if (jv_get_kind(added) == JV_KIND_NULL) added = jv_array();
    if (rc == 0) {
        int bytelevel = 0;
        rc = load_normalizer(t, obj_get(root, "normalizer"), e);
        if (rc == 0) rc = load_pretok(t, obj_get(root, "pre_tokenizer"), &bytelevel, e);
        if (rc == 0 && !bytelevel) rc = err_set(e, 1, "pre_tokenizer has no ByteLevel step: only byte-level BPE is supported");
    }
    if (rc == 0) {
        int m = max_id(vocab, added);
        if (m < 0) rc = err_set(e, 1, "\"model.vocab\" is empty");
        else {
            t->n_ids = m + 1;
            t->off = calloc((size_t)t->n_ids, sizeof *t->off);
            t->len = calloc((size_t)t->n_ids, sizeof *t->len);
            t->flags = calloc((size_t)t->n_ids, 1);
            t->selfok = calloc((size_t)t->n_ids, 1);
        }
    }
    int16_t u2b[324];
    uint16_t b2u[256];
    byte_unicode_tables(b2u, u2b);
    if (rc == 0) rc = load_vocab(t, jv_copy(vocab), u2b, e);
    if (rc == 0) rc = load_merges(t, jv_copy(merges), u2b, e);
    for (int b = 0; rc == 0 && b < 256; b++) {
        char c = (char)b;
        t->byte_id[b] = tok_vocab_find(t, &c, 1);
        if (t->byte_id[b] < 0) rc = err_set(e, 1, "model.vocab lacks the byte-level symbol for byte 0x%02x", b);
    }
    if (rc == 0) rc = load_added(t, jv_copy(added), vocab, u2b, e);
    jv_free(model), jv_free(type), jv_free(vocab), jv_free(merges), jv_free(added);
    jv_free(root);
    return rc;
}

/* Parses a whole tokenizer.json held in memory; name is for messages. */
static mrl_tok *load_buf(const char *name, const char *buf, size_t len, mrl_err *e) {
    if (len > (size_t)INT32_MAX) { err_set(e, 1, "%s: file too large", name); return NULL; }
    jv root = jv_parse_sized(buf, (int)len);
    if (!jv_is_valid(root)) {
        char why[256];
        err_set(e, 1, "%s: invalid JSON: %s", name, jv_parse_error(root, "parse error", why, sizeof why));
        return NULL;
    }
    mrl_tok *t = calloc(1, sizeof *t);
    if (load_json(t, root, e)) {
        err_prefix(e, "%s", name);
        tok_free(t);
        return NULL;
    }
    return t;
}

mrl_tok *tok_load_mem(const char *buf, size_t len, mrl_err *e) {
    return load_buf("tokenizer.json", buf, len, e);
}

mrl_tok *tok_load(const char *path, mrl_err *e) {
    char *buf = NULL;
    size_t len = 0;
    if (file_load(path, TOK_MAX_FILE, &buf, &len, e)) return NULL;
    mrl_tok *t = load_buf(path, buf, len, e);
    free(buf);
    return t;
}

mrl_tok *tok_load_dir(const char *dir, mrl_err *e) {
    struct stat st;   /* a .jsonl given as --model: "X/tokenizer.json: Not a directory" */
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        err_set(e, 1, "%s: a file, not a model directory (one with tokenizer.json)", dir);
        return NULL;
    }
    size_t n = strlen(dir) + 32;
    char *p = malloc(n);
    if (!p) { err_set(e, 3, "out of memory"); return NULL; }   /* not snprintf into NULL (GCC 16 warned at -O1) */
    snprintf(p, n, "%s/tokenizer.json", dir);
    if (access(p, F_OK) != 0) {   /* a compressed copy also serves */
        snprintf(p, n, "%s/tokenizer.json.zst", dir);
        if (access(p, F_OK) != 0) snprintf(p, n, "%s/tokenizer.json", dir);   /* name the usual file */
    }
    mrl_tok *t = tok_load(p, e);
    free(p);
    return t;
}

void tok_free(mrl_tok *t) {
    if (!t) return;
    for (int i = 0; i < t->n_re; i++) pcre2_code_free(t->re[i]), pcre2_code_free(t->re_ext[i]);   /* NULL is fine */
    free(t->pool), free(t->off), free(t->len), free(t->flags), free((void *)t->selfok);
    free(t->vslot), free(t->mkey), free(t->mrank), free(t->mres), free(t->added);
    pcre2_code_free(t->re_word);
    free(t);
}

int tok_vocab_size(const mrl_tok *t) { return t->n_ids; }

int tok_id(const mrl_tok *t, const char *token) {
    size_t n = strlen(token);
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && memcmp(t->pool + t->added[i].off, token, n) == 0) return t->added[i].id;
    /* The vocab's own spelling ("Ġthe"), as HF's token_to_id, then the raw bytes (" the"). */
    int16_t u2b[324];
    uint16_t b2u[256];
    byte_unicode_tables(b2u, u2b);
    char *raw = malloc(n + 1);
    long k = bytelevel_to_raw(u2b, token, n, raw);
    int id = k >= 0 ? tok_vocab_find(t, raw, (size_t)k) : -1;
    free(raw);
    return id >= 0 ? id : tok_vocab_find(t, token, n);
}

const char *tok_piece(const mrl_tok *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->n_ids || !(t->flags[id] & TOKF_PRESENT)) { *len = 0; return ""; }
    *len = t->len[id];
    return t->pool + t->off[id];
}

int tok_is_special(const mrl_tok *t, int32_t id) {
    return id >= 0 && id < t->n_ids && (t->flags[id] & TOKF_SPECIAL);
}
