/* err.h — errors as values: a function that fails fills an mrl_err and returns
 * non-zero (or NULL); only tools/ print and choose the exit status. */
#ifndef MRL_ERR_H
#define MRL_ERR_H
#include <stdarg.h>

typedef struct mrl_err {
    char msg[1024];   /* e.g. `train.jsonl:17: "answer" is missing` (no tool prefix) */
    int  code;        /* 1 input error, 2 usage error, 3 system error; 0 = none */
    int  unreadable;  /* the input itself failed (cannot be opened or read, broken zstd):
                         not a bad record, so --skip-bad does not skip it */
} mrl_err;

/* The codes (also the tools' exit statuses, except ERR_PIPE which exits 0 quietly). */
enum { ERR_NONE = 0, ERR_INPUT = 1, ERR_USAGE = 2, ERR_SYS = 3,
       ERR_PIPE = 4 /* the reader of our output went away (EPIPE): stop quietly */ };

/* Set e (if non-NULL) from a printf format (unreadable cleared); returns -1 so callers can
 * `return err_set(...)`. */
int err_set(mrl_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* err_set with a va_list (cli_dief's). */
int err_vset(mrl_err *e, int code, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
/* Prefix the existing message with "PREFIX: " (e.g. a file name). */
int err_prefix(mrl_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A message is one line of stderr: control characters in s (a jq filter's own text or error
 * value may hold line breaks) become spaces. */
void err_one_line(char *s);
#endif
