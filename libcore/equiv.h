/* equiv.h — equivalence of two normalised answers: numbers, expressions (by evaluation
 * at fixed points), tuples, sets, intervals, relations and matrices. Used by answer.c. */
#ifndef MRL_EQUIV_H
#define MRL_EQUIV_H

/* Both arguments are answer strings already extracted (not whole completions).
 * Returns 0 wrong, 1 equivalent, 2 gold does not parse (ans_verdict values). */
int eq_equiv(const char *pred, const char *gold);
/* 1 when the gold parses to something comparable. */
int eq_gold_parses(const char *gold);
#endif
