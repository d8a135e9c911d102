/* tokenizer.h — byte-level BPE from a Hugging Face tokenizer.json (Qwen2/GPT-2 style):
 * added tokens split out first, the pre-tokenizer regex run by PCRE2, bytes mapped to
 * unicode, merges by rank. Encode equals HF `tokenizers` token for token.
 *
 * Understood: model BPE (vocab; merges as "a b" or ["a","b"]; ignore_merges), added_tokens
 * (longest match first; special, lstrip, rstrip, single_word, normalized: matched after the
 * others, on the normalized text; the ids HF gives them: a file that says others is refused),
 * normalizer null/NFC/NFD/NFKC/NFKD (or a Sequence of one), pre_tokenizer Split (Regex or
 * String, behavior Isolated) and ByteLevel (add_prefix_space, use_regex) alone or last in a
 * Sequence (a step after ByteLevel would see its byte-level symbols, not the text). Anything else (WordPiece, Unigram,
 * WordLevel, a pre-tokenizer without ByteLevel, ...) is refused with a message. No BOS is
 * added (the post_processor is not applied: HF's add_special_tokens=False).
 * A loaded tokenizer is read-only: one may be shared by threads. */
#ifndef MRL_TOKENIZER_H
#define MRL_TOKENIZER_H
#include <stddef.h>
#include <stdint.h>
#include "err.h"

typedef struct mrl_tok mrl_tok;
mrl_tok *tok_load(const char *tokenizer_json_path, mrl_err *e);   /* plain or .zst */
mrl_tok *tok_load_dir(const char *model_dir, mrl_err *e);         /* DIR/tokenizer.json */
mrl_tok *tok_load_mem(const char *json, size_t len, mrl_err *e);  /* the file's text (plain) */
void tok_free(mrl_tok *t);
int  tok_vocab_size(const mrl_tok *t);           /* including added tokens */
int  tok_id(const mrl_tok *t, const char *token); /* id of an exact token string, -1 if none */

/* Encodes UTF-8 text (added tokens recognised inline). Returns the count, writes up to
 * cap ids (ids may be NULL with cap 0 to count; call again with a larger buffer if
 * count > cap: normalization can make more tokens than bytes); -1 on invalid UTF-8 (e set). */
int  tok_encode(const mrl_tok *t, const char *text, size_t len, int32_t *ids, int cap, mrl_err *e);
/* Decodes ids into newly allocated UTF-8 (skip_special: drop tokens marked special); bytes
 * that are not UTF-8 become U+FFFD, ids without a token decode to nothing (as HF). The text
 * is NUL-terminated, and may hold NUL bytes of its own (the 0x00 byte token): *len (when not
 * NULL) gets its length. */
char *tok_decode(const mrl_tok *t, const int32_t *ids, int n, int skip_special, size_t *len);
/* The raw bytes of one token (for streaming decode and stop strings); *len set. */
const char *tok_piece(const mrl_tok *t, int32_t id, size_t *len);
/* 1 if id is an added token marked "special" (what skip_special drops). */
int  tok_is_special(const mrl_tok *t, int32_t id);

/* UTF-8 helpers for streaming and messages. tok_utf8_check: -1 if s is well-formed, else
 * the offset of the first bad byte. tok_utf8_complete: the length of the prefix that ends
 * on a character boundary (holds back a sequence cut at the end, to print when the next
 * token completes it). tok_utf8_lossy: a copy with each ill-formed part replaced by
 * U+FFFD, as Rust's from_utf8_lossy (HF decode); *outlen may be NULL. */
long   tok_utf8_check(const char *s, size_t n);
size_t tok_utf8_complete(const char *s, size_t n);
char  *tok_utf8_lossy(const char *s, size_t n, size_t *outlen);
/* White space as the reference implementations see it: Unicode's White_Space property (Rust's
 * char::is_whitespace, what tokenizers' lstrip/rstrip take away), and with python also
 * U+001C..U+001F (Python's str.isspace(): str.split, str.strip, Math-Verify's \s).
 * tok_space_at: the byte length of such a character starting at s[0..n), 0 if none does. */
int    tok_is_space(uint32_t c, int python);
size_t tok_space_at(const char *s, size_t n, int python);

/* Chat templates: "r1" (DeepSeek-R1-Distill-Qwen: BOS + system + <｜User｜>problem
 * <｜Assistant｜><think>\n, as apply_chat_template renders its chat_template.jinja with
 * add_generation_prompt), "plain" (system\n\nproblem\n; just problem\n without a system
 * text), or a file whose text has {system} and {problem} replaced (a file without {problem},
 * or an unknown name without '/' that is no file, is a usage error, code 2).
 * tmpl_render returns the prompt (newly allocated, NULL when out of memory) and its length
 * in *len (problem_len bytes of problem, which may hold a NUL; (size_t)-1: strlen); NULL
 * system/problem count as "". */
typedef struct mrl_template mrl_template;
mrl_template *tmpl_load(const char *name_or_file, mrl_err *e);
char *tmpl_render(const mrl_template *tp, const char *system, const char *problem, size_t problem_len, size_t *len);
void tmpl_free(mrl_template *tp);
/* The system text a --system argument names: NULL → Open-RS's system prompt (the study's,
 * verbatim), "@FILE" → the file's text (trailing newlines dropped), else the argument itself.
 * Newly allocated; NULL with e set when the file cannot be read or the text is not UTF-8
 * (a NUL included): code 1 for a file, 2 for the argument. */
char *tmpl_system(const char *arg, mrl_err *e);
#endif
