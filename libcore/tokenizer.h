/* tokenizer.h — byte-level BPE from a Hugging Face tokenizer.json (Qwen2/GPT-2 style):
 * added tokens split out first, the pre-tokenizer regex run by PCRE2, bytes mapped to
 * unicode, merges by rank. Encode equals HF `tokenizers` token for token. */
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
 * cap ids (call again with a larger buffer if count > cap); -1 on invalid UTF-8 (e set). */
int  tok_encode(const mrl_tok *t, const char *text, size_t len, int32_t *ids, int cap, mrl_err *e);
/* Decodes ids into newly allocated UTF-8 (skip_special: drop tokens marked special). */
char *tok_decode(const mrl_tok *t, const int32_t *ids, int n, int skip_special);
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

/* Chat templates: "r1" (DeepSeek-R1-Distill-Qwen: BOS + system + <｜User｜>problem
 * <｜Assistant｜><think>\n), "plain" (system\n\nproblem\n), or a file with {system} and
 * {problem} placeholders. Returns the rendered prompt (newly allocated) or NULL (e set). */
typedef struct mrl_template mrl_template;
mrl_template *tmpl_load(const char *name_or_file, mrl_err *e);
char *tmpl_render(const mrl_template *tp, const char *system, const char *problem);
void tmpl_free(mrl_template *tp);
#endif
