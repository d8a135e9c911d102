/* tok_make.c — a byte-level BPE tokenizer.json for minit: the GPT-2 byte alphabet in the
 * Qwen2 id order, merges learned by pair counts, the R1 distill's added tokens and config. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jv.h>
#include "jqf.h"
#include "safetensors.h"
#include "tok_internal.h"
#include "tok_make.h"

#define QWEN2_REGEX "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* Added tokens in the R1 distill's order, with its "special" flags (only BOS/EOS are). */
static const struct { const char *s; int special; } added[] = {
    {"<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", 1},
    {"<\xef\xbd\x9cUser\xef\xbd\x9c>", 0},
    {"<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>", 0},
    {"<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", 1},
    {"<|EOT|>", 0},
    {"<think>", 0},
    {"</think>", 0},
};
enum { ADDED_EOS = 0, ADDED_BOS = 3, NADDED = sizeof added / sizeof *added };

const char tokmk_r1_chat_template[] =
#include "tok_make_template.inc"

/* GPT-2 bytes_to_unicode: printable bytes map to themselves, the rest to 256 + k. The ids
 * follow that table's order (printables first), which is also Qwen2's order for ids 0..255. */
static void byte_table(int id_of_byte[256], int cp_of_byte[256]) {
    int id = 0, extra = 0;
    for (int b = 0; b < 256; b++)
        if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) { cp_of_byte[b] = b; id_of_byte[b] = id++; }
    for (int b = 0; b < 256; b++)
        if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) { cp_of_byte[b] = 256 + extra++; id_of_byte[b] = id++; }
}

typedef struct vocab { char **str; int n, cap; } vocab;
static int vocab_add(vocab *v, char *s) {
    if (v->n == v->cap) {
        int nc = v->cap ? 2 * v->cap : 512;
        char **ns = realloc(v->str, (size_t)nc * sizeof *ns);
        if (!ns) return -1;
        v->str = ns; v->cap = nc;
    }
    v->str[v->n++] = s;
    return 0;
}

typedef struct word { int *sym; int len; long count; } word;
typedef struct corpus { word *w; int n, cap; int *hash; int hcap; } corpus;   /* unique words */

static uint64_t hash_syms(const int *s, int n) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) h = (h ^ (uint64_t)(unsigned)s[i]) * 1099511628211ull;
    return h;
}

static int corpus_add(corpus *c, const int *sym, int len) {
    if (2 * (c->n + 1) > c->hcap) {     /* grow and rehash */
        int nh = c->hcap ? 2 * c->hcap : 1024;
        int *h = malloc((size_t)nh * sizeof *h);
        if (!h) return -1;
        for (int i = 0; i < nh; i++) h[i] = -1;
        for (int i = 0; i < c->n; i++) {
            size_t k = hash_syms(c->w[i].sym, c->w[i].len) & (size_t)(nh - 1);
            while (h[k] >= 0) k = (k + 1) & (size_t)(nh - 1);
            h[k] = i;
        }
        free(c->hash); c->hash = h; c->hcap = nh;
    }
    size_t k = hash_syms(sym, len) & (size_t)(c->hcap - 1);
    for (; c->hash[k] >= 0; k = (k + 1) & (size_t)(c->hcap - 1)) {
        word *w = &c->w[c->hash[k]];
        if (w->len == len && !memcmp(w->sym, sym, (size_t)len * sizeof *sym)) { w->count++; return 0; }
    }
    if (c->n == c->cap) {
        int nc = c->cap ? 2 * c->cap : 1024;
        word *nw = realloc(c->w, (size_t)nc * sizeof *nw);
        if (!nw) return -1;
        c->w = nw; c->cap = nc;
    }
    int *s = malloc((size_t)len * sizeof *s);
    if (!s) return -1;
    memcpy(s, sym, (size_t)len * sizeof *s);
    c->w[c->n] = (word){s, len, 1};
    c->hash[k] = c->n++;
    return 0;
}

/* One piece of the training text as byte-symbol ids, into the corpus. */
typedef struct word_ctx { corpus *c; const int *id_of_byte; int *sym; size_t cap; } word_ctx;
static int add_word(void *vctx, const unsigned char *w, size_t n) {
    word_ctx *x = vctx;
    if (n > x->cap) {
        int *ns = realloc(x->sym, n * sizeof *ns);
        if (!ns) return -1;
        x->sym = ns; x->cap = n;
    }
    for (size_t i = 0; i < n; i++) x->sym[i] = x->id_of_byte[w[i]];
    return corpus_add(x->c, x->sym, (int)n);
}

/* Splits text into byte-symbol words as encode will (tok is the tokenizer without merges):
 * added tokens out, NFC, the Qwen2 pre-tokenizer. */
static int pretokenize(corpus *c, const mrl_tok *tok, const char *text, size_t len, const int *id_of_byte, mrl_err *e) {
    word_ctx x = {c, id_of_byte, NULL, 0};
    int rc = tok_pretokenize(tok, text, len, add_word, &x, e);
    free(x.sym);
    return rc ? err_prefix(e, "training text") : 0;
}

/* Pair counts in an open-addressing table keyed by (a, b). */
typedef struct pair { int a, b; long n; } pair;

/* Learns up to nmerges merges: each round counts adjacent pairs over the unique words
 * (weighted by frequency), merges the most frequent (ties: the lowest ids) everywhere. */
static int train(corpus *c, vocab *v, int nmerges, int (*merges)[2], int *nm, mrl_err *e) {
    size_t total = 0;
    for (int i = 0; i < c->n; i++) total += (size_t)c->w[i].len;
    size_t cap = 16;
    while (cap < 2 * total + 2) cap *= 2;
    pair *t = malloc(cap * sizeof *t);
    if (!t) return err_set(e, 3, "out of memory");
    *nm = 0;
    while (*nm < nmerges) {
        for (size_t i = 0; i < cap; i++) t[i].a = -1;
        pair best = {-1, -1, 0};
        for (int i = 0; i < c->n; i++) {
            const word *w = &c->w[i];
            for (int j = 0; j + 1 < w->len; j++) {
                int a = w->sym[j], b = w->sym[j + 1];
                size_t k = (((uint64_t)(unsigned)a * 0x9E3779B97F4A7C15ull) ^ (uint64_t)(unsigned)b * 0xC2B2AE3D27D4EB4Full) & (cap - 1);
                while (t[k].a >= 0 && (t[k].a != a || t[k].b != b)) k = (k + 1) & (cap - 1);
                if (t[k].a < 0) t[k] = (pair){a, b, 0};
                t[k].n += w->count;
                if (t[k].n > best.n || (t[k].n == best.n && (a < best.a || (a == best.a && b < best.b)))) best = t[k];
            }
        }
        if (best.n == 0) break;
        size_t la = strlen(v->str[best.a]), lb = strlen(v->str[best.b]);
        char *s = malloc(la + lb + 1);
        if (!s) { free(t); return err_set(e, 3, "out of memory"); }
        memcpy(s, v->str[best.a], la); memcpy(s + la, v->str[best.b], lb + 1);
        int id = -1;
        for (int i = 0; i < v->n && id < 0; i++) if (!strcmp(v->str[i], s)) id = i;
        if (id >= 0) free(s);
        else if (vocab_add(v, s)) { free(s); free(t); return err_set(e, 3, "out of memory"); }
        else id = v->n - 1;
        merges[*nm][0] = best.a; merges[*nm][1] = best.b; (*nm)++;
        for (int i = 0; i < c->n; i++) {
            word *w = &c->w[i];
            int k = 0;
            for (int j = 0; j < w->len; j++) {
                if (j + 1 < w->len && w->sym[j] == best.a && w->sym[j + 1] == best.b) { w->sym[k++] = id; j++; }
                else w->sym[k++] = w->sym[j];
            }
            w->len = k;
        }
    }
    free(t);
    return 0;
}

static jv added_entry(int id, int i) {
    jv o = jv_object();
    if (id >= 0) o = jv_object_set(o, jv_string("id"), jv_number(id));
    o = jv_object_set(o, jv_string("content"), jv_string(added[i].s));
    o = jv_object_set(o, jv_string("single_word"), jv_false());
    o = jv_object_set(o, jv_string("lstrip"), jv_false());
    o = jv_object_set(o, jv_string("rstrip"), jv_false());
    o = jv_object_set(o, jv_string("normalized"), jv_false());
    return jv_object_set(o, jv_string("special"), jv_bool(added[i].special));
}

static jv tokenizer_json(const vocab *v, int (*merges)[2], int nm) {
    jv j = jv_object();
    j = jv_object_set(j, jv_string("version"), jv_string("1.0"));
    j = jv_object_set(j, jv_string("truncation"), jv_null());
    j = jv_object_set(j, jv_string("padding"), jv_null());
    jv add = jv_array();
    for (int i = 0; i < NADDED; i++) add = jv_array_append(add, added_entry(v->n + i, i));
    j = jv_object_set(j, jv_string("added_tokens"), add);
    j = jv_object_set(j, jv_string("normalizer"), JV_OBJECT(jv_string("type"), jv_string("NFC")));
    jv split = JV_OBJECT(jv_string("type"), jv_string("Split"), jv_string("pattern"),
                         JV_OBJECT(jv_string("Regex"), jv_string(QWEN2_REGEX)),
                         jv_string("behavior"), jv_string("Isolated"), jv_string("invert"), jv_false());
    jv bl = JV_OBJECT(jv_string("type"), jv_string("ByteLevel"), jv_string("add_prefix_space"), jv_false(),
                      jv_string("trim_offsets"), jv_false(), jv_string("use_regex"), jv_false());
    j = jv_object_set(j, jv_string("pre_tokenizer"),
                      JV_OBJECT(jv_string("type"), jv_string("Sequence"), jv_string("pretokenizers"), JV_ARRAY(split, jv_copy(bl))));
    const char *bos = added[ADDED_BOS].s;
    jv sp = JV_OBJECT(jv_string("SpecialToken"), JV_OBJECT(jv_string("id"), jv_string(bos), jv_string("type_id"), jv_number(0)));
    jv sp1 = JV_OBJECT(jv_string("SpecialToken"), JV_OBJECT(jv_string("id"), jv_string(bos), jv_string("type_id"), jv_number(1)));
    jv sa = JV_OBJECT(jv_string("Sequence"), JV_OBJECT(jv_string("id"), jv_string("A"), jv_string("type_id"), jv_number(0)));
    jv sb = JV_OBJECT(jv_string("Sequence"), JV_OBJECT(jv_string("id"), jv_string("B"), jv_string("type_id"), jv_number(1)));
    jv specials = JV_OBJECT(jv_string(bos), JV_OBJECT(jv_string("id"), jv_string(bos),
                            jv_string("ids"), JV_ARRAY(jv_number(v->n + ADDED_BOS)), jv_string("tokens"), JV_ARRAY(jv_string(bos))));
    j = jv_object_set(j, jv_string("post_processor"),
                      JV_OBJECT(jv_string("type"), jv_string("TemplateProcessing"),
                                jv_string("single"), JV_ARRAY(jv_copy(sp), jv_copy(sa)),
                                jv_string("pair"), JV_ARRAY(sp, sa, sp1, sb),
                                jv_string("special_tokens"), specials));
    j = jv_object_set(j, jv_string("decoder"), bl);
    jv vv = jv_object();
    for (int i = 0; i < v->n; i++) vv = jv_object_set(vv, jv_string(v->str[i]), jv_number(i));
    jv mm = jv_array();
    for (int i = 0; i < nm; i++) mm = jv_array_append(mm, jv_string_fmt("%s %s", v->str[merges[i][0]], v->str[merges[i][1]]));
    jv model = jv_object();
    model = jv_object_set(model, jv_string("type"), jv_string("BPE"));
    model = jv_object_set(model, jv_string("dropout"), jv_null());
    model = jv_object_set(model, jv_string("unk_token"), jv_null());
    model = jv_object_set(model, jv_string("continuing_subword_prefix"), jv_string(""));
    model = jv_object_set(model, jv_string("end_of_word_suffix"), jv_string(""));
    model = jv_object_set(model, jv_string("fuse_unk"), jv_false());
    model = jv_object_set(model, jv_string("byte_fallback"), jv_false());
    model = jv_object_set(model, jv_string("ignore_merges"), jv_false());
    model = jv_object_set(model, jv_string("vocab"), vv);
    model = jv_object_set(model, jv_string("merges"), mm);
    return jv_object_set(j, jv_string("model"), model);
}

static jv tokenizer_config(int base) {
    jv dec = jv_object();
    for (int i = 0; i < NADDED; i++) dec = jv_object_set(dec, jv_string_fmt("%d", base + i), added_entry(-1, i));
    const char *eos = added[ADDED_EOS].s, *bos = added[ADDED_BOS].s;
    jv c = jv_object();
    c = jv_object_set(c, jv_string("add_bos_token"), jv_true());
    c = jv_object_set(c, jv_string("add_eos_token"), jv_false());
    c = jv_object_set(c, jv_string("add_prefix_space"), jv_null());
    c = jv_object_set(c, jv_string("added_tokens_decoder"), dec);
    c = jv_object_set(c, jv_string("bos_token"), jv_string(bos));
    c = jv_object_set(c, jv_string("chat_template"), jv_string(tokmk_r1_chat_template));
    c = jv_object_set(c, jv_string("clean_up_tokenization_spaces"), jv_false());
    c = jv_object_set(c, jv_string("eos_token"), jv_string(eos));
    c = jv_object_set(c, jv_string("legacy"), jv_true());
    c = jv_object_set(c, jv_string("model_max_length"), jv_number(16384));
    c = jv_object_set(c, jv_string("pad_token"), jv_string(eos));
    c = jv_object_set(c, jv_string("sp_model_kwargs"), jv_object());
    c = jv_object_set(c, jv_string("tokenizer_class"), jv_string("LlamaTokenizerFast"));
    c = jv_object_set(c, jv_string("unk_token"), jv_null());
    return jv_object_set(c, jv_string("use_default_system_prompt"), jv_false());
}

static int dump_to(const char *dir, const char *name, jv v, int flags, mrl_err *e) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return json_write_file(p, v, flags, e);
}

int tokmk_write(const char *dir, const char *text, size_t len, int nmerges, tokmk_info *info, mrl_err *e) {
    int id_of_byte[256], cp_of_byte[256], rc = -1, nm = 0;
    vocab v = {0};
    corpus c = {0};
    int (*merges)[2] = NULL;
    byte_table(id_of_byte, cp_of_byte);
    for (int i = 0; i < 256; i++) vocab_add(&v, NULL);
    for (int b = 0; b < 256; b++) {
        char *s = malloc(3);
        if (!s) { err_set(e, 3, "out of memory"); goto out; }
        int cp = cp_of_byte[b];
        if (cp < 0x80) { s[0] = (char)cp; s[1] = 0; }
        else { s[0] = (char)(0xC0 | (cp >> 6)); s[1] = (char)(0x80 | (cp & 0x3F)); s[2] = 0; }
        v.str[id_of_byte[b]] = s;
    }
    if (v.n != 256) { err_set(e, 3, "out of memory"); goto out; }
    if (nmerges > 0) {
        if (!(merges = malloc((size_t)nmerges * sizeof *merges))) { err_set(e, 3, "out of memory"); goto out; }
        /* the words are cut by the tokenizer itself (without merges), so that merges are
           learned on what encode merges: NFC text, the added tokens taken out */
        jv d = jv_dump_string(tokenizer_json(&v, NULL, 0), 0);
        mrl_tok *tok = tok_load_mem(jv_string_value(d), (size_t)jv_string_length_bytes(jv_copy(d)), e);
        jv_free(d);
        if (!tok) goto out;
        int prc = pretokenize(&c, tok, text ? text : "", text ? len : 0, id_of_byte, e);
        tok_free(tok);
        if (prc) goto out;
        if (train(&c, &v, nmerges, merges, &nm, e)) goto out;
    }
    if (dump_to(dir, "tokenizer.json", tokenizer_json(&v, merges, nm), 0, e) ||
        dump_to(dir, "tokenizer_config.json", tokenizer_config(v.n), JV_PRINT_INDENT_FLAGS(2), e)) goto out;
    info->n_tokens = v.n + NADDED;
    info->bos_id = v.n + ADDED_BOS;
    info->eos_id = v.n + ADDED_EOS;
    info->n_merges = nm;
    rc = 0;
out:
    for (int i = 0; i < v.n; i++) free(v.str[i]);
    free(v.str);
    for (int i = 0; i < c.n; i++) free(c.w[i].sym);
    free(c.w); free(c.hash); free(merges);
    return rc;
}
