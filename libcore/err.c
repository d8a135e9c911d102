/* err.c — errors as values: fill an mrl_err with a formatted message and a code;
 * tools decide how to print it and which exit status to use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "err.h"

/* s (n bytes) into dst (cap bytes, NUL included). One too long loses its middle, not its end:
 * a message past 1024 bytes is one with a long argument (a path, a jq filter) in it, and cut
 * at the end it lost what was wrong ("PATH: No such file or directory" said only PATH), and
 * cut in the middle of a UTF-8 character. Head and tail end at whole characters. */
static void fit(char *dst, size_t cap, const char *s, size_t n) {
    if (n < cap) { memcpy(dst, s, n); dst[n] = 0; return; }
    static const char dots[] = "...";
    size_t room = cap - 1 - (sizeof dots - 1), h = room / 2, t = n - (room - h);
    while (h && ((unsigned char)s[h] & 0xC0) == 0x80) h--;
    while (t < n && ((unsigned char)s[t] & 0xC0) == 0x80) t++;
    memcpy(dst, s, h);
    memcpy(dst + h, dots, sizeof dots - 1);
    memcpy(dst + h + sizeof dots - 1, s + t, n - t);
    dst[h + sizeof dots - 1 + n - t] = 0;
}

/* fmt formatted into e->msg, through fit */
static void set_msg(mrl_err *e, const char *fmt, va_list ap) {
    va_list again;
    va_copy(again, ap);
    char buf[sizeof e->msg];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    char *big = n >= (int)sizeof buf ? malloc((size_t)n + 1) : NULL;
    if (big) vsnprintf(big, (size_t)n + 1, fmt, again);
    va_end(again);
    if (n < 0) n = 0, buf[0] = 0;
    if (big) fit(e->msg, sizeof e->msg, big, (size_t)n);
    else fit(e->msg, sizeof e->msg, buf, strlen(buf));   /* out of memory: its start */
    free(big);
}

int err_vset(mrl_err *e, int code, const char *fmt, va_list ap) {
    if (!e) return -1;
    set_msg(e, fmt, ap);
    e->code = code ? code : ERR_INPUT;
    e->unreadable = 0;   /* a new error; the stream marks its own after this */
    return -1;
}

int err_set(mrl_err *e, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, code, fmt, ap);
    va_end(ap);
    return -1;
}

int err_prefix(mrl_err *e, const char *fmt, ...) {
    if (!e) return -1;
    char old[sizeof e->msg];
    memcpy(old, e->msg, sizeof old);
    old[sizeof old - 1] = 0;
    va_list ap;
    va_start(ap, fmt);
    set_msg(e, fmt, ap);   /* the prefix, then the whole: cut in the middle, the message's end stays */
    va_end(ap);
    size_t n = strlen(e->msg), m = strlen(old);
    char *both = malloc(n + 2 + m + 1);
    if (both) {
        memcpy(both, e->msg, n);
        memcpy(both + n, ": ", 2);
        memcpy(both + n + 2, old, m + 1);
        fit(e->msg, sizeof e->msg, both, n + 2 + m);
        free(both);
    } else fit(e->msg, sizeof e->msg, old, m);   /* out of memory: the message without its prefix */
    if (!e->code) e->code = ERR_INPUT;
    return -1;
}

void err_one_line(char *s) {
    for (; *s; s++) if ((unsigned char)*s < 0x20) *s = ' ';
}
