/* err.c — errors as values: fill an mrl_err with a formatted message and a code;
 * tools decide how to print it and which exit status to use. */
#include <stdio.h>
#include <string.h>
#include "err.h"

int err_set(mrl_err *e, int code, const char *fmt, ...) {
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code ? code : ERR_INPUT;
    e->unreadable = 0;   /* a new error; the stream marks its own after this */
    return -1;
}

int err_prefix(mrl_err *e, const char *fmt, ...) {
    if (!e) return -1;
    char pre[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* by hand, not snprintf("%s: %s"): the result is cut at the buffer's end on purpose */
    size_t n = strlen(pre), m = strlen(old), cap = sizeof e->msg - 1;
    if (n > cap) n = cap;
    memcpy(e->msg, pre, n);
    size_t k = n;
    for (const char *sep = ": "; *sep && k < cap; sep++) e->msg[k++] = *sep;
    if (m > cap - k) m = cap - k;
    memcpy(e->msg + k, old, m);
    e->msg[k + m] = 0;
    if (!e->code) e->code = ERR_INPUT;
    return -1;
}

void err_one_line(char *s) {
    for (; *s; s++) if ((unsigned char)*s < 0x20) *s = ' ';
}
