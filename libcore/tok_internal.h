/* tok_internal.h — the tokenizer's private state, shared by tokenizer.c (loading,
 * lookup, decode) and bpe.c (encode); not part of the public contract. */
#ifndef MRL_TOK_INTERNAL_H
#define MRL_TOK_INTERNAL_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "tokenizer.h"

enum { TOKF_PRESENT = 1, TOKF_ADDED = 2, TOKF_SPECIAL = 4 };
enum { TOK_NORM_NONE, TOK_NORM_NFC, TOK_NORM_NFD, TOK_NORM_NFKC, TOK_NORM_NFKD };
#define TOK_MAX_SPLITS 4

typedef struct tok_added {
    int32_t id;
    uint32_t off, len;        /* content in the pool */
    uint32_t moff, mlen;      /* what is matched: the content, normalized where "normalized" */
    uint8_t special, lstrip, rstrip, single_word, normalized;
} tok_added;

struct mrl_tok {
    int n_ids;                /* max id + 1 over vocab and added tokens */
    char *pool;               /* all token bytes, back to back */
    size_t pool_len, pool_cap;
    uint32_t *off, *len;      /* per id: raw bytes of the token in pool */
    uint8_t *flags;           /* per id: TOKF_* */
    /* Lazily learnt per vocab id: 1 if BPE of the token's own bytes gives just that
     * token (so a whole pre-token found in the vocab can skip BPE), 2 if not, 0 unknown.
     * Relaxed atomics: racing writers store the same value, so sharing a const
     * tokenizer across threads stays safe. */
    _Atomic uint8_t *selfok;

    int32_t *vslot;           /* vocab hash (model tokens only): raw bytes -> id, -1 empty */
    size_t vmask;

    uint64_t *mkey;           /* merge hash: (left id << 32 | right id) -> rank, result */
    uint32_t *mrank;
    int32_t *mres;
    size_t mmask;
    int n_merges;

    int32_t byte_id[256];     /* id of each single byte's token */

    tok_added *added;         /* sorted longest match first, so the first match is the longest */
    int n_added, n_norm_added; /* n_norm_added: those "normalized" (matched after normalization) */
    uint8_t added_first[256]; /* bit 1 << normalized where an added token starts with this byte */
    pcre2_code *re_word;      /* one word character (Rust regex's \w), for single_word; NULL: none */

    int normalizer;           /* TOK_NORM_* */
    int ignore_merges;
    /* Pre-tokenizer steps, applied in order to each piece of the step before: a regex
     * split (NULL: none) after, for ByteLevel's add_prefix_space, a space put in front
     * of a piece that does not start with one. */
    pcre2_code *re[TOK_MAX_SPLITS];
    /* The same with \p{L} and \p{N} given the letters and numbers of Unicode 15.0-16.0 that
     * tokenizers' Oniguruma has and PCRE2 10.42 lacks, for text that holds one (NULL: a step
     * without \p{L} or \p{N}); has_ext: some step has one. */
    pcre2_code *re_ext[TOK_MAX_SPLITS];
    int has_ext;
    uint8_t prefix_space[TOK_MAX_SPLITS];
    int n_re;
};

/* The pieces encode would merge, in order, each to fn (ctx, its bytes, its length): the text
 * after added tokens are split out (and dropped), normalization and the pre-tokenizer; fn
 * returns nonzero for out of memory. For learning merges on the text as encode will cut it. */
typedef int (*tok_word_fn)(void *ctx, const unsigned char *w, size_t n);
int tok_pretokenize(const mrl_tok *t, const char *text, size_t len, tok_word_fn fn, void *ctx, mrl_err *e);

/* s[0..n) as the normalizer makes it (newly allocated, length in *out_n); NULL where that is
 * s itself (no normalizer, ASCII), NULL with *out_n SIZE_MAX where utf8proc fails (memory). */
unsigned char *tok_normalized(const mrl_tok *t, const char *s, size_t n, size_t *out_n);

/* Hash of a byte string (shared by building and probing the vocab table). */
uint64_t tok_hash(const char *s, size_t n);
/* Vocab lookup of raw bytes: id or -1. */
int32_t tok_vocab_find(const mrl_tok *t, const char *s, size_t n);
/* Rust regex's \w as a PCRE2 class of general categories (any PCRE2 10.x), for single_word */
extern const char tok_word_class[];
#endif
