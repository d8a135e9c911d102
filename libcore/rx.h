/* rx.h — a PCRE2 match that JIT's stack does not fail: where the JIT code runs out of its stack
 * (32 KiB: a group repeated over a long text, (a|b)*c on 2 KB), which says nothing about the
 * text, the interpreter, which keeps its frames on the heap, runs the same match. */
#ifndef MRL_RX_H
#define MRL_RX_H
#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

static inline int rx_match(const pcre2_code *re, const void *s, size_t n, size_t at, uint32_t opts,
                           pcre2_match_data *md, pcre2_match_context *mc) {
    int rc = pcre2_match(re, (PCRE2_SPTR)s, n, at, opts, md, mc);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) rc = pcre2_match(re, (PCRE2_SPTR)s, n, at, opts | PCRE2_NO_JIT, md, mc);
    return rc;
}
#endif
