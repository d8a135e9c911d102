/* stopstr.h — stop strings matched on the decoded bytes of a completion, so a stop
 * string that spans several tokens (or starts in the middle of one) is still found. */
#ifndef MRL_STOPSTR_H
#define MRL_STOPSTR_H
#include <stddef.h>

typedef struct stop_set stop_set;

/* A set of n stop strings (copied; empty strings ignored). NULL when out of memory. */
stop_set *stop_new(const char *const *strs, int n);
void stop_free(stop_set *s);
int stop_count(const stop_set *s);
size_t stop_maxlen(const stop_set *s);

/* The text buf[0..len) grew from prev bytes to len bytes. Returns the start offset of
 * the earliest stop string that ends after prev (earlier matches were reported by
 * earlier calls), and its length in *mlen; -1 when there is none. Of stop strings that start
 * at the same offset the first in strs wins. Earliest means earliest start among those that end
 * in the new bytes, so where a match falls can depend on how the text grew: stops "abcd" and
 * "bc" meet "abcd" at 0 when it comes at once, "bc" at 1 when it comes as "ab", "c", "d". */
long stop_find(const stop_set *s, const char *buf, size_t len, size_t prev, size_t *mlen);
#endif
