/* cli.h — what every tool shares: common options, messages and exit codes,
 * signals (SIGPIPE quiet exit 0, SIGINT/SIGTERM finish the record and exit 130/143),
 * and the progress line. */
#ifndef MRL_CLI_H
#define MRL_CLI_H
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include "err.h"
#include "stream.h"

typedef struct cli {
    const char *tool;      /* "mfilter" */
    const char *usage;     /* full --help text */
    /* common options */
    int plain;             /* -Z: 1; default -1 (auto) */
    int zlevel;            /* --zstd-level */
    const char *out;       /* -o FILE */
    int skip_bad;          /* --skip-bad */
    int progress;          /* 1 forced (--progress), 0 silenced (-q), -1 auto (stderr is a tty) */
    uint64_t seed;         /* --seed (default 0) */
    int seed_given;        /* --seed was on the command line (mgrpo: a resume keeps the run's) */
    const char *device;    /* --device (default "auto") */
    long nbad;             /* bad records skipped */
    wr_stream *out_w;      /* the writer cli_writer opened: on an error exit its records are
                              flushed (stdout) or its temp file removed (-o) */
    void (*on_fatal)(void *ctx, int code);   /* see cli_on_fatal */
    void *on_fatal_ctx;
} cli;

/* A hook cli_die runs once, after printing the message and before exiting (code: the error's,
 * ERR_PIPE when downstream closed the pipe): mgrpo checkpoints the steps it has taken there.
 * The hook may itself call cli_die; it is not run twice. */
void cli_on_fatal(cli *c, void (*hook)(void *ctx, int code), void *ctx);

/* Long options every tool accepts; a tool appends its own and ends with {0}.
 * Values >= 0x1000 are reserved for the common ones. */
#define CLI_COMMON_SHORT "hZo:q"
#define CLI_COMMON_LONGOPTS \
    {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 0x1000}, \
    {"zstd-level", required_argument, 0, 0x1001}, {"skip-bad", no_argument, 0, 0x1002}, \
    {"progress", no_argument, 0, 0x1003}, {"seed", required_argument, 0, 0x1004}, \
    {"device", required_argument, 0, 0x1005}, {"quiet", no_argument, 0, 'q'}, \
    {"output", required_argument, 0, 'o'}, {"plain", no_argument, 0, 'Z'}

void cli_init(cli *c, const char *tool, const char *usage);
/* Handles a common option (getopt's return value and optarg); 1 if it was one.
 * -h prints usage and exits 0; --version prints "TOOL mrl VERSION" and exits 0 (3 when
 * stdout cannot take it). */
int  cli_common(cli *c, int opt, const char *arg);
/* Usage error: "TOOL: message\nTry 'TOOL --help'." and exit 2. */
void cli_usage(const cli *c, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* getopt's '?' or ':' as a usage error naming the option ("unknown option '--bogus'",
 * "option '--take' needs a value"; with the long options getopt was given, also "option
 * '--temp' is ambiguous (--temperature, --template)" and "option '--dedupe' takes no value",
 * which getopt reports as it does an unknown one). For the second, start the short-option
 * string with ':' and set opterr = 0 so getopt stays quiet:
 *   opterr = 0; getopt_long(argc, argv, ":" CLI_COMMON_SHORT "n:", longopts, ...) ...
 *   default: cli_bad_option(&c, opt, argv, longopts); */
void cli_bad_option(const cli *c, int opt, char *const *argv, const struct option *longopts) __attribute__((noreturn));
/* Fatal error: "TOOL: message" and exit (code from e, default 1); records written to
 * stdout through c->out_w are flushed first, a -o temp file is removed. ERR_PIPE exits 0
 * without a word (the reader of our output went away). */
void cli_die(const cli *c, const mrl_err *e) __attribute__((noreturn));
/* What cli_die does to the output before a usage exit found late (cli_usage exits at once):
 * records written so far reach stdout, a -o temp file is removed. */
void cli_settle(const cli *c);
void cli_dief(const cli *c, int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
void cli_warn(const cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A bad record (code ERR_INPUT): with --skip-bad warn and count (returns 0: skip it),
 * else flush w (or abandon it when it is a -o file) and die with e's code. */
int  cli_bad_record(cli *c, wr_stream *w, const mrl_err *e);
/* Whether cli_bad_record would skip e: --skip-bad, a record's error, and an input that could
 * still be read (a missing file or broken zstd is never skipped). */
int  cli_skippable(const cli *c, const mrl_err *e);
/* At the end: report the --skip-bad count on stderr. */
void cli_report_bad(const cli *c);
/* --skip-bad in a tool that keeps groups whole (mreward, mfilter): a line lost before its id
 * was read belonged to the open group or to the next one. While the group size is in doubt
 * the next group is kept only if it is large enough: after k lines lost in a row behind an
 * open group of a records that lost nothing, at least a + k - 1 (k = 1: not the smaller of
 * the two, or a short group taken for the first would set the size every later, whole group
 * is held against); behind a group that measures nothing, what the caller says (the size
 * known, or LONG_MAX: it goes). */
typedef struct {
    long need;   /* what the group that opens next needs (0: no line lost) */
    long cond;   /* that, carried by the open group */
    int run;     /* lines lost in a row */
    int grows;   /* each further lost line needs one more */
} cli_lost;
/* A line was lost. open: the open group's size where it can measure the next (it has
 * records, lost nothing and is not short), else 0; fallback: what the next group needs when
 * it cannot. */
void cli_lost_line(cli_lost *l, long open, long fallback);
/* A record of the open group came: the lines lost just before it were that group's. */
void cli_lost_same(cli_lost *l);
/* A new group opens: it carries what the lines lost before it need. */
void cli_lost_open(cli_lost *l);
/* The open group closes with n records: whether it is short of what it carries (it goes). */
int  cli_lost_short(cli_lost *l, long n);
/* Parse numbers strictly; usage error naming the option on failure. */
/* Whether arg is written as mrl(7) says numbers are: decimal, no blank, '+', hex, inf or nan. */
int    cli_decimal(const char *arg);
long   cli_long(const cli *c, const char *opt, const char *arg, long lo, long hi);
double cli_double(const cli *c, const char *opt, const char *arg, double lo, double hi);
double cli_double_below(const cli *c, const char *opt, const char *arg, double lo, double hi);   /* [lo, hi) */
/* Whether a comma-separated list (an option's value) has an empty item: a leading, trailing or
 * doubled comma, or none at all. strtok_r skips them ("1,,2" reads as "1,2"). */
int    cli_list_has_empty(const char *list);
/* Open the output writer from the common options (dies on error). */
wr_stream *cli_writer(cli *c);
/* Finish output: wr_close, report bad count; returns the exit status to use
 * (0, or 130/143 after a signal). After a signal a -o output is abandoned (the
 * target keeps its old content) while stdout gets every finished record. */
int cli_finish(cli *c, wr_stream *w);

/* Signals: SIGPIPE ignored (a write error EPIPE exits quietly 0), SIGXFSZ too (a write past
 * ulimit -f fails with EFBIG, an error); SIGINT/SIGTERM set a flag. */
void cli_signals(void);
int  cli_stop_requested(void);   /* the signal number, or 0 */

/* Progress on stderr, in place (\r), only when enabled; rate and ETA if total known. */
typedef struct progress progress;
progress *prog_start(const cli *c, const char *unit, long long total);  /* NULL when disabled */
void prog_update(progress *p, long long done, long long tokens);        /* throttled; p may be NULL */
void prog_end(progress *p);
/* Where the total is unknown, ETA from the share of input bytes read since this call (bytes
 * read before it, as skipped groups, count for neither the share nor the time). */
void prog_input(progress *p, const rd_stream *r);
/* A tool that draws a progress line of its own (msample) says whether one is on stderr now
 * (drawn without its newline), so that a message first clears it instead of running on. */
void prog_set_drawn(int drawn);
#endif
