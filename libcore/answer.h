/* answer.h — math answers: extraction of the final answer from a completion or a
 * gold solution, LaTeX normalisation, and equivalence (strings, numbers, symbolic
 * expressions by evaluation, tuples, sets, intervals, equations, matrices). */
#ifndef MRL_ANSWER_H
#define MRL_ANSWER_H
#include <stddef.h>

typedef struct ans_opts {
    int answer_part;      /* 1: only text after the last "</think>" (if present) */
    int fallback;         /* 1: no \boxed{} → try a final $...$ or "answer is ..." */
    int anchored;         /* 1: no \boxed{} → a LaTeX answer after "answer", as open-rs's
                             Math-Verify setting (try_extract_without_anchor=False) reads it */
    int lighteval;        /* 1: the answer the study's evaluation read (lighteval's Math-Verify
                             extraction, ans_lighteval) instead of the last \boxed{} */
} ans_opts;

/* The last \boxed{...} / \fbox{...} (balanced braces, also "\boxed 5") of text, newly
 * allocated, or NULL when there is none (and no fallback applied). */
char *ans_extract(const char *text, const ans_opts *o);
/* lighteval.c: the answer lighteval's extractive match (Math-Verify 0.5.2 with
 * ExprExtractionConfig and LatexExtractionConfig(boxed_match_priority=0), the Open-RS
 * study's evaluation) reads from s[0..n), newly allocated, or NULL when it reads none. */
char *ans_lighteval(const char *s, size_t n);
/* Gold: its last \boxed{} when it has one, else the whole string (trimmed). */
char *ans_extract_gold(const char *gold);

/* Normalised form of an answer string (for exact comparison, majority voting, dedupe). */
char *ans_normalize(const char *s);
/* The same, keep_lhs=1 keeps "y = ..." whole (the checker compares equations itself). */
char *ans_normalize_ex(const char *s, int keep_lhs);

typedef enum { ANS_WRONG = 0, ANS_EQUIV = 1, ANS_UNPARSED_GOLD = 2 } ans_verdict;
/* Is pred equivalent to gold? Both are extracted answer strings (not whole completions).
 * Bounded in time and memory for any input. */
ans_verdict ans_equiv(const char *pred, const char *gold);
/* Does the gold parse to something comparable (mfilter --require-boxed)? */
int ans_gold_parses(const char *gold);
#endif
