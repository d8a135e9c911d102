/* tok_make.h — makes a byte-level BPE tokenizer in the DeepSeek-R1-Distill-Qwen layout
 * (tokenizer.json + tokenizer_config.json, Qwen2 pre-tokenizer, R1 added tokens) for minit:
 * the 256 GPT-2 byte symbols, optionally plus merges learned from a text by pair counts. */
#ifndef MRL_TOK_MAKE_H
#define MRL_TOK_MAKE_H
#include <stddef.h>
#include "err.h"

typedef struct tokmk_info {
    int n_tokens;         /* vocabulary incl. added tokens (ids 0 .. n_tokens-1) */
    int bos_id, eos_id;   /* <｜begin▁of▁sentence｜>, <｜end▁of▁sentence｜> */
    int n_merges;         /* merges actually learned (fewer than asked when the text runs out) */
} tokmk_info;

/* Writes DIR/tokenizer.json and DIR/tokenizer_config.json (atomically). text/len: UTF-8
 * training text for nmerges merges (text may be NULL when nmerges is 0). */
int tokmk_write(const char *dir, const char *text, size_t len, int nmerges, tokmk_info *info, mrl_err *e);

/* The R1 distill's chat template (tokenizer_config.json "chat_template"). */
extern const char tokmk_r1_chat_template[];
#endif
