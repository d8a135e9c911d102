/* rewards.h — the named rewards of mreward: each maps (sample, its group, params) to a
 * double; the open-rs formulas exactly by default, corrected forms by parameter. */
#ifndef MRL_REWARDS_H
#define MRL_REWARDS_H
#include <stddef.h>
#include <stdio.h>
#include "answer.h"
#include "err.h"

/* One rollout as the rewards see it. The tool fills the inputs; rw_judge the rest. */
typedef struct rw_sample {
    const char *completion;   /* the completion text (not owned) */
    const char *gold;         /* the gold answer, or NULL (not owned) */
    const char *prompt;       /* the problem text, or NULL: the language reward's reference */
    long ntokens;             /* length of completion_ids; -1 when the record has none */
    char *pred;               /* extracted answer, or NULL (owned: rw_sample_clear) */
    int correct;              /* as accuracy sees it, after the unparsed-gold policy */
    int gold_unparsed;        /* the gold answer did not parse */
} rw_sample;

/* What a sample whose gold does not parse scores (open-rs: correct). */
typedef enum { RW_UNPARSED_CORRECT = 0, RW_UNPARSED_WRONG, RW_UNPARSED_SKIP } rw_unparsed;

/* Extracts pred from the completion and compares it with the gold. Thread-safe as far as
 * answer.h is. Sets pred (NULL when the gold is unparsed), correct, gold_unparsed. */
void rw_judge(rw_sample *s, const ans_opts *o, rw_unparsed policy);
void rw_sample_clear(rw_sample *s);

/* What a reward needs from a record beyond completion and gold. */
enum { RW_NEEDS_TOKENS = 1, RW_NEEDS_PROMPT = 2, RW_NEEDS_GROUP = 4 };

typedef struct rw_spec rw_spec;
/* Parses one --reward argument: NAME[=WEIGHT][:key=val,...]. A bare key means key=1;
 * `pattern=` (regex) takes the rest of the argument, commas included; `as=LABEL` names
 * the reward in rewards{}. Unknown names or keys, bad numbers: code 2. */
rw_spec *rw_parse(const char *arg, mrl_err *e);
void rw_free(rw_spec *r);
const char *rw_key(const rw_spec *r);      /* its key in rewards{} */
double rw_weight(const rw_spec *r);
int rw_needs(const rw_spec *r);            /* RW_NEEDS_* bits */
/* The value of reward r for sample i of a judged group g[0..n-1]. */
double rw_eval(const rw_spec *r, const rw_sample *g, int n, int i);
/* The same for every sample of the group at once, into out[0..n-1]: linear in the group's
 * text (rw_eval of a group reward measures the whole group for each sample). */
void rw_eval_group(const rw_spec *r, const rw_sample *g, int n, double *out);
/* How many regex matches (format:strict, regex) ran past PCRE2's limits and scored 0. */
long rw_regex_undecided(void);
/* One line per reward: name, parameters and defaults (for --help and the man page). */
void rw_print_help(FILE *f);

/* The text measures behind the rewards, exposed for tests and other tools. */
long rw_count(const char *text, const char *needle);   /* Python str.count: non-overlapping */
long rw_chars(const char *text);                       /* Unicode code points (len() in Python) */
double rw_cosine(double len, int correct, double min_wrong, double max_wrong,
                 double min_correct, double max_correct, double max_len, int clamp);
double rw_repetition(const char *text, int ngram, double max_penalty);
double rw_overlong(double len, double max_len, double cache);
/* Fraction of letters of text outside script (a RW_SCRIPT_* code); 0 when no letters. */
double rw_foreign_fraction(const char *text, int script);
/* The script most letters of text belong to (RW_SCRIPT_LATIN when it has none). */
int rw_dominant_script(const char *text);
int rw_script_of(unsigned cp);                          /* RW_SCRIPT_* of a code point */
int rw_script_by_name(const char *name);                /* -1 if unknown */
enum { RW_SCRIPT_OTHER = 0, RW_SCRIPT_LATIN, RW_SCRIPT_GREEK, RW_SCRIPT_CYRILLIC,
       RW_SCRIPT_ARMENIAN, RW_SCRIPT_HEBREW, RW_SCRIPT_ARABIC, RW_SCRIPT_DEVANAGARI,
       RW_SCRIPT_BENGALI, RW_SCRIPT_THAI, RW_SCRIPT_GEORGIAN, RW_SCRIPT_HANGUL,
       RW_SCRIPT_CJK, RW_SCRIPT_N };
#endif
