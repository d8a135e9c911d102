/* engine.h — the sampling scheduler behind msample: problems pulled one at a time from the
 * caller, prompt prefilled once per group and forked for its G samples, up to `batch`
 * sequences decoded together (continuous batching), groups handed back whole and in input order.
 *
 * Reproducibility: sample i of a problem with key K draws from rng_init(seed, K, i), one
 * uniform per token, and its tokens depend only on its own logits; so, given a model
 * whose logits for a row do not depend on the other rows of the batch, the output does
 * not depend on --batch, the thread count or the order of the input.
 *
 * Memory: a sequence is admitted only while its worst case (the prompt plus max_tokens, or
 * what the model's context leaves after the prompt where that is less, rounded to blocks) fits in the KV pool next to those already running, so none is
 * ever preempted; a problem whose single sequence cannot fit is an error. */
#ifndef MRL_ENGINE_H
#define MRL_ENGINE_H
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "model.h"
#include "sampler.h"
#include "tokenizer.h"

enum { ENG_STOP = 0, ENG_LENGTH = 1 };

typedef struct eng_opts {
    int n;                       /* samples per problem (G), >= 1 */
    smp_params sp;
    int max_tokens;              /* completion tokens, >= 1 */
    const char *const *stops;    /* stop strings (matched on decoded bytes) */
    int nstops;
    int include_stop;            /* keep the stop string in the completion text */
    int batch;                   /* sequences in flight, >= 1 */
    size_t kv_mem;               /* KV pool bytes; 0 = enough for `batch` full sequences */
    uint64_t seed;
    int block_tokens;            /* KV block size in tokens; 0 = 16 */
    int kv_dtype;                /* KV_AUTO (eng_defaults), MRL_F32 or MRL_BF16 (kv_create); note
                                    MRL_F32 is 0: set options with eng_defaults, not memset */
    int device_sampling;         /* 1: on a device backend, decode steps without top-k/top-p/min-p
                                    draw their tokens on the device (model_pick) instead of
                                    downloading every row of logits; the same tokens (0 = off);
                                    2: on the CPU backend too (the same path, for tests) */
} eng_opts;

void eng_defaults(eng_opts *o);

/* A problem as the caller hands it over: prompt ids (malloc'd; the engine frees them),
 * the RNG key (rng_hash_str of the record's id) and the caller's own record. */
typedef struct eng_problem {
    int32_t *prompt;
    int nprompt;
    uint64_t key;
    const char *where;           /* FILE:LINE of its record for messages, or NULL (caller's) */
    void *user;
} eng_problem;

/* One finished sample. completion_ids include the token that ended it (EOS or the one
 * completing a stop string); text is the decoded completion (special tokens skipped,
 * EOS excluded) cut before the stop string (after it with include_stop), as raw bytes. */
typedef struct eng_sample {
    int32_t *ids;
    float *logprobs;
    int n;
    char *text;
    size_t text_len;
    int finish;                  /* ENG_STOP or ENG_LENGTH */
} eng_sample;

typedef struct eng_stats {
    long problems_in, problems_done, samples_done;
    long long prompt_tokens, gen_tokens;
    long broken_rows;      /* tokens drawn from logits with no number (smp_broken) */
    long long picked;      /* tokens the backend drew itself (device_sampling: model_pick) */
    int running;
} eng_stats;

typedef struct eng_io {
    void *ctx;
    /* 1 and *p filled, 0 at the end of input, -1 with e set on a bad record (the engine
     * then finishes and emits every earlier group before returning -1 with that error),
     * 2 when it skipped records and the next would have to wait (the engine decodes on and
     * asks again; with nothing running it asks again at once, and then feed may wait). */
    int (*feed)(void *ctx, eng_problem *p, mrl_err *e);
    /* A complete group, in input order: s[0..G). Return -1 (e set) to abort. */
    int (*emit)(void *ctx, const eng_problem *p, const eng_sample *s, int G, mrl_err *e);
    /* A problem dropped unfinished (after an interruption): free p->user. May be NULL. */
    void (*drop)(void *ctx, eng_problem *p);
    /* Called after every decode step. May be NULL. */
    void (*progress)(void *ctx, const eng_stats *st);
    /* Non-zero when the run should stop (Ctrl-C). May be NULL. */
    int (*interrupted)(void *ctx);
    /* Non-zero when feed would wait for input that has not arrived (a slow pipe): while
     * sequences are running the engine then decodes on instead of waiting, and feeds when
     * the input is there or nothing is left to run. May be NULL (feed is always called). */
    int (*would_block)(void *ctx);
    /* A problem the engine cannot take (its one sequence does not fit the KV pool; e says
     * why): 0 to skip it and go on (the caller's --skip-bad), else the run stops after the
     * earlier groups. May be NULL (stop). */
    int (*reject)(void *ctx, mrl_err *e);
} eng_io;

/* Runs to the end of the input. Returns 0 when done, 1 when interrupted (every complete
 * group has been emitted, in input order; unfinished ones dropped), -1 on error (e set). */
int eng_run(mrl_model *m, const mrl_tok *tok, const eng_opts *o, const eng_io *io,
            eng_stats *st, mrl_err *e);
#endif
