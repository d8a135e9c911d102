/* cli.c — the conventions every tool shares, in one place: common options, messages
 * and exit statuses, signals, and the progress line. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>
#include "cli.h"
#include "jqf.h"

#ifndef MRL_VERSION
#define MRL_VERSION "dev"
#endif

/* The one global: a signal handler can only talk to the program through one. An atomic, not a
 * volatile sig_atomic_t: the handler runs on whichever thread the kernel picks (a parse or
 * scoring thread too), and a lock-free atomic is as safe in a handler (C11 7.14.1.1). */
static atomic_int cli_stop_sig;

/* A progress line is drawn on stderr without its newline: a message must not be glued to it. */
static int prog_drawn;
static void prog_clear_line(void) {
    if (prog_drawn) { fputs("\r\033[K", stderr); prog_drawn = 0; }
}

/* A tool started with stdin, stdout or stderr closed (`2>&-`, `>&-`) would hand that number to
 * the first file it opens: warnings written "to stderr" went into an -o file, the metrics "on
 * stdout" into mgrpo's RUNDIR/.lock. Each closed one is held by /dev/null opened the wrong way
 * round, so that using it still fails (EBADF) as it did on the closed descriptor. */
static void cli_hold_std_fds(void) {
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int n = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
        if (n >= 0 && n != fd) { dup2(n, fd); close(n); }
    }
}

/* libjq out of memory (it calls this, then aborts: 134): the tools' exit 3 instead, through
 * cli_die so a tool's fatal hook still runs; if that runs out of memory too, at once. The
 * handler is per thread: the main thread's and a jq filter's (jqf_on_nomem); a thread of one's
 * own that parses JSON installs it with jqf_nomem_thread (the parse threads, mreward's workers),
 * else libjq aborts there. jq 1.6 drops the handler's data argument, so the tool is a static. */
static const cli *nomem_cli;
static void cli_nomem(void *unused) {
    (void)unused;
    static atomic_int taken;          /* one thread settles and exits */
    static _Thread_local int inside;  /* this thread ran out again while doing so */
    if (inside++) {
        static const char msg[] = ": out of memory\n";
        if (write(2, nomem_cli->tool, strlen(nomem_cli->tool)) < 0 || write(2, msg, sizeof msg - 1) < 0) _exit(ERR_SYS);
        _exit(ERR_SYS);
    }
    if (atomic_fetch_add(&taken, 1)) for (;;) pause();   /* another thread is ending the process */
    cli_dief(nomem_cli, ERR_SYS, "out of memory");
}

void cli_init(cli *c, const char *tool, const char *usage) {
    cli_hold_std_fds();
    memset(c, 0, sizeof *c);
    c->tool = tool;
    c->usage = usage;
    c->plain = -1;
    c->zlevel = 3;
    c->progress = -1;
    c->device = "auto";
    /* from the start, not only from cli_signals: --help into a pipe its reader closed is a
       write that fails with EPIPE (a quiet exit 0), not a SIGPIPE kill (141) */
    signal(SIGPIPE, SIG_IGN);
    nomem_cli = c;
    jqf_on_nomem(cli_nomem);
}

static uint64_t cli_u64(const cli *c, const char *opt, const char *arg) {
    char *end;
    errno = 0;
    const char *d = *arg == '-' ? arg + 1 : arg;   /* -0 is 0, as for every number option */
    unsigned long long v = strtoull(d, &end, 10);
    /* a digit first: strtoull takes " -1" (white space, then a sign) as 2^64 - 1 */
    if (errno || end == d || *end || !(d[0] >= '0' && d[0] <= '9') || (d != arg && v))
        cli_usage(c, "%s: '%s' is not a non-negative integer", opt, arg);
    return v;
}

/* After --help or --version: exit 0 once stdout has taken the text; a write error is one
 * (exit 3, as for records: `--help > /dev/full` must not look like success), a closed pipe not. */
static void exit_printed(const cli *c) __attribute__((noreturn));
static void exit_printed(const cli *c) {
    if (fflush(stdout) == 0 && !ferror(stdout)) exit(0);
    if (errno == EPIPE) exit(0);
    fprintf(stderr, "%s: <stdout>: write error: %s\n", c->tool, strerror(errno));
    exit(3);
}

int cli_common(cli *c, int opt, const char *arg) {
    switch (opt) {
    case 'h': fputs(c->usage, stdout); exit_printed(c);
    case 0x1000: printf("%s mrl %s\n", c->tool, MRL_VERSION); exit_printed(c);
    case 'Z': c->plain = 1; return 1;
    case 'o':   /* "" (-o "$OUT" with OUT unset) named no file: the rename at the very end failed,
                   after all the work (hours of msample), with the message ": rename: ..." */
        if (!*arg) cli_usage(c, "-o: the name is empty");
        c->out = arg;
        return 1;
    case 'q': c->progress = 0; return 1;
    case 0x1001: c->zlevel = (int)cli_long(c, "--zstd-level", arg, ZSTD_minCLevel(), ZSTD_maxCLevel());
                 if (c->zlevel == 0) c->zlevel = 3;
                 return 1;
    case 0x1002: c->skip_bad = 1; return 1;
    case 0x1003: c->progress = 1; return 1;
    case 0x1004: c->seed = cli_u64(c, "--seed", arg); c->seed_given = 1; return 1;
    case 0x1005:
        if (strcmp(arg, "auto") && strcmp(arg, "cpu") && strcmp(arg, "cuda") &&
            !(strncmp(arg, "cuda:", 5) == 0 && arg[5] && strspn(arg + 5, "0123456789") == strlen(arg + 5)))
            cli_usage(c, "--device: '%s' is not one of cpu, cuda, cuda:N, auto", arg);
        c->device = arg;
        return 1;
    }
    return 0;
}

void cli_usage(const cli *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", c->tool);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", c->tool);
    exit(2);
}

/* Whether a is a cluster of short options (-xq) holding ch. A byte past ASCII too: getopt
 * reports the first byte of -é (optopt sign-extended), and left to the fallback below, a cluster
 * it stopped inside was named by the word before it ("unknown option 'mfilter'"). */
static int short_cluster_has(const char *a, int ch) {
    return a && a[0] == '-' && a[1] && a[1] != '-' && ((ch > ' ' && ch < 127) || ch < 0 || ch > 127) && strchr(a + 1, ch);
}

/* A long option getopt refused that is not unknown: "--dedupe=yes" (one that takes no value:
 * getopt says '?' as for an unknown one) or "--temp" (the start of --temperature and
 * --template: ambiguous); usage error naming them, else it returns. */
static void long_option_misuse(const cli *c, const char *arg, const struct option *lo) {
    if (!lo || strncmp(arg, "--", 2) || !arg[2]) return;
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    if (!n) return;   /* "--=x" */
    const struct option *hit = NULL;
    int nhit = 0;
    char list[512] = "";
    for (const struct option *o = lo; o->name; o++) {
        if (strncmp(o->name, name, n)) continue;
        if (strlen(o->name) == n) { hit = o; nhit = 1; break; }   /* an exact name is never ambiguous */
        if (hit && hit->has_arg == o->has_arg && hit->flag == o->flag && hit->val == o->val) continue;
        size_t k = strlen(list);
        snprintf(list + k, sizeof list - k, "%s--%s", k ? ", " : "", o->name);
        if (!hit) hit = o;
        nhit++;
    }
    /* getopt's optopt tells which it met: 0 for an unknown or ambiguous name, the option's value
       for one given a value it does not take (arg is then surely the option, not a value
       before a short option that failed) */
    if (nhit > 1 && optopt == 0) cli_usage(c, "option '--%.*s' is ambiguous (%s)", (int)n, name, list);
    if (nhit == 1 && eq && hit->has_arg == no_argument && !hit->flag && optopt == hit->val)
        cli_usage(c, "option '--%s' takes no value", hit->name);
}

void cli_bad_option(const cli *c, int opt, char *const *argv, const struct option *longopts) {
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (opt == '?') long_option_misuse(c, arg, longopts);
    /* a short option: getopt has moved past its cluster (-qx) or not yet (-xq) */
    const char *cl = short_cluster_has(arg, optopt) ? arg : optind > 0 && short_cluster_has(argv[optind], optopt) ? argv[optind] : NULL;
    if (cl) {
        if (optopt < 0 || optopt > 127) {   /* the whole UTF-8 character, not its first byte alone */
            const char *p = strchr(cl + 1, optopt);
            int n = 1;
            while (((unsigned char)p[n] & 0xC0) == 0x80) n++;
            cli_usage(c, "unknown option '-%.*s'", n, p);
        }
        if (opt == ':') cli_usage(c, "option '-%c' needs a value", optopt);
        cli_usage(c, "unknown option '-%c'", optopt);
    }
    if (opt == ':') cli_usage(c, "option '%s' needs a value", arg);
    cli_usage(c, "unknown option '%s'", arg);
}

/* Before an error exit: records already written reach stdout (the zstd frame is
 * ended so downstream reads a clean stream); a -o temp file is removed instead,
 * leaving the target as it was. */
static void settle_writer(wr_stream *w) {
    if (!w) return;
    if (wr_path(w)) { wr_abort(w); return; }
    mrl_err ignore = {0};
    if (wr_close(w, &ignore) < 0) { /* nothing more to do: we are exiting with an error anyway */ }
}
void cli_settle(const cli *c) {
    wr_stream *w = c->out_w;
    ((cli *)c)->out_w = NULL;   /* settled once: a fatal hook that fails calls cli_die again */
    settle_writer(w);
}

/* A fatal stop ends the process at once once the outputs are settled: stdio is flushed and
 * _exit skips the atexit handlers, which could run while worker threads still use state that
 * main's exit would tear down (and would have LeakSanitizer report, as leaks, the jq states
 * and buffers still in use at that moment). */
static void die_now(int code) __attribute__((noreturn));
static void die_now(int code) {
    fflush(NULL);
    _exit(code);
}

void cli_on_fatal(cli *c, void (*hook)(void *ctx, int code), void *ctx) {
    c->on_fatal = hook;
    c->on_fatal_ctx = ctx;
}

static void run_fatal_hook(const cli *c, int code) {
    if (!c->on_fatal) return;
    void (*hook)(void *, int) = c->on_fatal;
    ((cli *)c)->on_fatal = NULL;   /* once: the hook may fail and die itself */
    hook(c->on_fatal_ctx, code);
}

void cli_die(const cli *c, const mrl_err *e) {
    if (e && e->code == ERR_PIPE) {   /* downstream closed the pipe: done, quietly */
        run_fatal_hook(c, ERR_PIPE);
        if (c->out_w && wr_path(c->out_w)) { wr_abort(c->out_w); ((cli *)c)->out_w = NULL; }
        die_now(0);
    }
    cli_settle(c);
    prog_clear_line();
    fprintf(stderr, "%s: %s\n", c->tool, e && e->msg[0] ? e->msg : "error");
    int code = e && e->code ? e->code : 1;
    /* after a stop, an error is what the signal cut short (a FIFO's open or read of a model's
       config.json or tokenizer.json fails with EINTR): the tool was interrupted (mrl(7)) */
    if (cli_stop_sig && code != ERR_USAGE) code = 128 + cli_stop_sig;
    if (code == 2) fprintf(stderr, "Try '%s --help'.\n", c->tool);   /* a usage error, however found (mrl(7)) */
    run_fatal_hook(c, code);
    die_now(code);
}

void cli_dief(const cli *c, int code, const char *fmt, ...) {
    mrl_err e = {0};
    va_list ap;
    va_start(ap, fmt);
    err_vset(&e, code, fmt, ap);   /* one past mrl_err's size loses its middle, not its end */
    va_end(ap);
    cli_die(c, &e);
}

void cli_warn(const cli *c, const char *fmt, ...) {
    va_list ap;
    prog_clear_line();
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", c->tool);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_skippable(const cli *c, const mrl_err *e) {
    return c->skip_bad && e->code == ERR_INPUT && !e->unreadable;
}

int cli_bad_record(cli *c, wr_stream *w, const mrl_err *e) {
    if (cli_skippable(c, e)) {
        cli_warn(c, "%s (skipped)", e->msg);
        c->nbad++;
        return 0;
    }
    if (w && w != c->out_w) settle_writer(w);
    cli_die(c, e);
}

void cli_report_bad(const cli *c) {
    if (c->nbad) cli_warn(c, "%ld bad record%s skipped", c->nbad, c->nbad == 1 ? "" : "s");
}

void cli_lost_line(cli_lost *l, long open, long fallback) {
    int measures = open > 0 && !l->cond;   /* a group that carries lost lines measures nothing */
    if (!l->run) {
        l->need = measures ? open : fallback;
        l->grows = measures;
    } else if (l->grows) l->need++;
    l->run++;
}

void cli_lost_same(cli_lost *l) { l->need = l->run = 0; }

void cli_lost_open(cli_lost *l) {
    l->cond = l->need;
    l->need = l->run = 0;
}

int cli_lost_short(cli_lost *l, long n) {
    int s = l->cond && n < l->cond;
    l->cond = 0;
    return s;
}

/* Whether arg is written as a decimal number is: a digit (or a point and a digit) first, after
 * a minus, and no hexadecimal. strtol and strtod also skip blanks and take a '+' (" 8", "+8":
 * --seed never did), strtod hex, "inf" and "nan" too ("--temperature 0x1p-1" sampled at 0.5):
 * not what a user of a number option means (mrl(7)). What follows the start is strtod's to
 * judge. */
int cli_decimal(const char *arg) {
    const char *d = *arg == '-' ? arg + 1 : arg;
    return ((*d >= '0' && *d <= '9') || (*d == '.' && d[1] >= '0' && d[1] <= '9')) && !strpbrk(arg, "xX");
}

int cli_list_has_empty(const char *list) {
    size_t n = strlen(list);
    return !n || list[0] == ',' || list[n - 1] == ',' || strstr(list, ",,");
}

long cli_long(const cli *c, const char *opt, const char *arg, long lo, long hi) {
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || !cli_decimal(arg) || v < lo || v > hi)
        cli_usage(c, "%s: '%s' is not an integer in [%ld, %ld]", opt, arg, lo, hi);
    return v;
}

/* arg as a number in [lo, hi], or [lo, hi) where open_hi; a usage error saying which. */
static double number_in(const cli *c, const char *opt, const char *arg, double lo, double hi, int open_hi) {
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    int under = errno == ERANGE && fabs(v) <= DBL_MIN;   /* 1e-400 is a number, as close to 0 as a double gets */
    if ((errno && !under) || end == arg || *end || !cli_decimal(arg) || !(v >= lo && (open_hi ? v < hi : v <= hi)))
        cli_usage(c, "%s: '%s' is not a number in [%g, %g%c", opt, arg, lo, hi, open_hi ? ')' : ']');
    return v + 0.0;   /* -0 is 0 (messages that print it said "-0") */
}
double cli_double(const cli *c, const char *opt, const char *arg, double lo, double hi) { return number_in(c, opt, arg, lo, hi, 0); }
double cli_double_below(const cli *c, const char *opt, const char *arg, double lo, double hi) { return number_in(c, opt, arg, lo, hi, 1); }

wr_stream *cli_writer(cli *c) {
    mrl_err e = {0};
    wr_opts o = {.path = c->out, .plain = c->plain, .level = c->zlevel};
    wr_stream *w = wr_open(&o, &e);
    if (!w && cli_stop_requested()) {   /* a signal while -o waited for a FIFO's reader: a stop, not a failure */
        fprintf(stderr, "%s: %s\n", c->tool, e.msg);
        die_now(128 + cli_stop_requested());
    }
    if (!w) cli_die(c, &e);
    c->out_w = w;
    return w;
}

int cli_finish(cli *c, wr_stream *w) {
    int sig = cli_stop_requested();
    if (w == c->out_w) c->out_w = NULL;
    if (sig && w && wr_path(w)) {
        cli_warn(c, "interrupted; %s left unchanged", wr_path(w));
        wr_abort(w);
    } else if (w) {
        mrl_err e = {0};
        if (wr_close(w, &e) < 0) cli_die(c, &e);
    }
    cli_report_bad(c);
    return sig ? 128 + sig : 0;
}

/* The first signal asks for a clean stop; a second one stops at once, unless it comes within
 * a second of the first: GNU timeout and shells signal both a process and its group, and that
 * echo must not kill a tool in the middle of its final checkpoint. (clock_gettime, sigaction
 * and raise are async-signal-safe.) */
static atomic_llong cli_first_ns;
static void cli_on_signal(int sig) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long t = (long long)now.tv_sec * 1000000000 + now.tv_nsec;
    /* the time first: the echo can reach another thread while this handler runs (the signal is
       blocked only here), and there it must find the time with the flag; with a plain struct
       beside a volatile flag GCC stored the flag first, and that handler read a time of 0: a
       hard stop on the echo */
    if (!atomic_load(&cli_stop_sig)) { atomic_store(&cli_first_ns, t); atomic_store(&cli_stop_sig, sig); return; }
    if (t - atomic_load(&cli_first_ns) < 1000000000) return;
    wr_unlink_temps();   /* the hard stop: no -o temp file left behind (mrl(7)) */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

void cli_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGXFSZ, &sa, NULL);   /* past a file size limit (ulimit -f) a write fails with EFBIG:
                                        an error that removes the temp file, not a kill that leaves it */
    sa.sa_handler = cli_on_signal;   /* no SA_RESTART: a blocked read returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);   /* one handler at a time: a TERM cannot cut into an INT's */
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGHUP);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* a hangup (the terminal or ssh session closed) is a stop as SIGTERM is: its default kill left
       an -o temporary file and lost mgrpo's steps since its last checkpoint; one ignored from the
       start (nohup) stays ignored */
    struct sigaction hup;
    if (sigaction(SIGHUP, NULL, &hup) == 0 && hup.sa_handler != SIG_IGN) sigaction(SIGHUP, &sa, NULL);
}

int cli_stop_requested(void) { return atomic_load(&cli_stop_sig); }

/* ---- progress ---- */
struct progress {
    const char *tool, *unit;
    long long total, done, tokens;
    const rd_stream *rd;
    long long rd_base;   /* the bytes read before prog_input (mgrpo --resume-data's skipped groups) */
    double t0, last;
};

static double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

progress *prog_start(const cli *c, const char *unit, long long total) {
    if (c->progress == 0 || (c->progress < 0 && !isatty(2))) return NULL;
    progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->tool = c->tool; p->unit = unit; p->total = total;
    p->t0 = p->last = cli_now();
    return p;
}

void prog_input(progress *p, const rd_stream *r) {
    if (!p) return;
    p->rd = r;
    p->rd_base = r ? rd_bytes_read(r) : 0;
}

void prog_set_drawn(int drawn) { prog_drawn = drawn; }

static void prog_print(progress *p, double now, int final) {
    double dt = now - p->t0 > 1e-9 ? now - p->t0 : 1e-9;
    double frac = -1;
    if (p->total > 0) frac = (double)p->done / (double)p->total;
    else if (p->rd && rd_bytes_total(p->rd) > p->rd_base)
        frac = (double)(rd_bytes_read(p->rd) - p->rd_base) / (double)(rd_bytes_total(p->rd) - p->rd_base);
    int ulen = (int)strlen(p->unit);
    if (p->done == 1 && ulen > 1 && p->unit[ulen - 1] == 's') ulen--;   /* 1 record, 2 records */
    fprintf(stderr, "\r%s: %lld %.*s, %.0f %s/s", p->tool, p->done, ulen, p->unit, (double)p->done / dt, p->unit);
    if (p->tokens) fprintf(stderr, ", %.0f tokens/s", (double)p->tokens / dt);
    if (!final && frac > 0 && frac <= 1) {
        long eta = lround(dt * (1 - frac) / frac);
        fprintf(stderr, ", %.0f%%, ETA %ld:%02ld:%02ld", 100 * frac, eta / 3600, eta / 60 % 60, eta % 60);
    }
    fputs(final ? "\033[K\n" : "\033[K", stderr);
    prog_drawn = !final;
}

void prog_update(progress *p, long long done, long long tokens) {
    if (!p) return;
    p->done = done; p->tokens = tokens;
    double now = cli_now();
    if (now - p->last < 0.25) return;
    p->last = now;
    prog_print(p, now, 0);
}

void prog_end(progress *p) {
    if (!p) return;
    prog_print(p, cli_now(), 1);
    free(p);
}
