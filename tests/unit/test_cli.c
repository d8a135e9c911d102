/* test_cli.c — the shared conventions: exit statuses and messages (in forked children),
 * --skip-bad counting, signals, output settled before an error exit, progress switch. */
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"
#include "tokenizer.h"
#include "../test.h"

static char tmpdir[TEST_TMPDIR_MAX];

/* Runs fn in a child with stdout and stderr sent to files; returns its exit status. */
static int in_child(void (*fn)(void), char *out, size_t outn, char *err, size_t errn) {
    char po[PATH_MAX], pe[PATH_MAX];
    snprintf(po, sizeof po, "%s/out", tmpdir); snprintf(pe, sizeof pe, "%s/err", tmpdir);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fo, 1); dup2(fe, 2);
        fn();
        _exit(99);
    }
    int st; waitpid(pid, &st, 0);
    FILE *f = fopen(po, "rb"); size_t n = fread(out, 1, outn - 1, f); out[n] = 0; fclose(f);
    f = fopen(pe, "rb"); n = fread(err, 1, errn - 1, f); err[n] = 0; fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static cli C;
static void do_usage(void) { cli_init(&C, "mtool", "help\n"); cli_usage(&C, "--take: bad"); }
static void do_long(void) { cli_init(&C, "mtool", "help\n"); cli_long(&C, "--take", "12x", 1, 100); }
/* strtoull reads " -1" as 2^64 - 1: a negative seed behind a space must be refused like "-1" */
static void do_seed_space_minus(void) { cli_init(&C, "mtool", "help\n"); cli_common(&C, 0x1004, " -1"); _exit(0); }
static void do_help(void) {
    cli_init(&C, "mtool", "Usage: mtool\n");
    char *argv[] = {"mtool", "--help", NULL};
    static const struct option lo[] = {CLI_COMMON_LONGOPTS, {0, 0, 0, 0}};
    int opt; optind = 1;
    while ((opt = getopt_long(2, argv, CLI_COMMON_SHORT, lo, NULL)) != -1) cli_common(&C, opt, optarg);
}
static void do_version(void) { cli_init(&C, "mtool", ""); cli_common(&C, 0x1000, NULL); }
static void do_pipe_die(void) { cli_init(&C, "mtool", ""); mrl_err e = {.code = ERR_PIPE}; cli_die(&C, &e); }
/* Two records, then a bad one: the records reach stdout (zstd frame ended), exit 1. */
static void do_bad_after_records(void) {
    cli_init(&C, "mtool", "");
    C.plain = 0;
    wr_stream *w = cli_writer(&C);
    mrl_err e = {0};
    wr_put_raw(w, "{\"a\":1}", 7, &e); wr_put_raw(w, "{\"a\":2}", 7, &e);
    err_set(&e, ERR_INPUT, "in.jsonl:3: \"answer\" is missing");
    cli_bad_record(&C, w, &e);
}

TEST(usage_errors_exit_2_with_a_hint) {
    char out[4096], err[4096];
    EXPECT(in_child(do_usage, out, sizeof out, err, sizeof err) == 2);
    EXPECTF(!strcmp(err, "mtool: --take: bad\nTry 'mtool --help'.\n"), "stderr: %s", err);
    EXPECT(in_child(do_long, out, sizeof out, err, sizeof err) == 2);
    EXPECTF(strstr(err, "--take: '12x' is not an integer in [1, 100]") != NULL, "stderr: %s", err);
    EXPECT(in_child(do_seed_space_minus, out, sizeof out, err, sizeof err) == 2);
    EXPECTF(strstr(err, "--seed: ' -1' is not a non-negative integer") != NULL, "stderr: %s", err);
}

TEST(help_and_version_exit_0) {
    char out[4096], err[4096];
    EXPECT(in_child(do_help, out, sizeof out, err, sizeof err) == 0 && !strcmp(out, "Usage: mtool\n"));
    EXPECT(in_child(do_version, out, sizeof out, err, sizeof err) == 0);
    EXPECTF(!strncmp(out, "mtool mrl ", 10), "stdout: %s", out);
}

TEST(broken_pipe_exits_0_quietly) {
    char out[4096], err[4096];
    EXPECT(in_child(do_pipe_die, out, sizeof out, err, sizeof err) == 0 && err[0] == 0);
}

TEST(error_exit_flushes_earlier_records) {
    char out[4096], err[4096];
    EXPECT(in_child(do_bad_after_records, out, sizeof out, err, sizeof err) == 1);
    EXPECTF(!strcmp(err, "mtool: in.jsonl:3: \"answer\" is missing\n"), "stderr: %s", err);
    char p[PATH_MAX]; snprintf(p, sizeof p, "%s/out", tmpdir);
    const char *ps = p;
    mrl_err e = {0};
    rd_stream *r = rd_open(&ps, 1, &e);   /* a complete zstd stream with both records */
    const char *s; size_t n; int k = 0, rc;
    while ((rc = rd_next_line(r, &s, &n, &e)) == 1) k++;
    EXPECTF(rc == 0 && k == 2, "rc %d, %d lines, %s", rc, k, e.msg);
    rd_close(r);
}

TEST(skip_bad_counts) {
    cli c; cli_init(&c, "mtool", "");
    c.skip_bad = 1;
    mrl_err e; err_set(&e, ERR_INPUT, "x:1: bad");
    fflush(stderr);
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    int r1 = cli_bad_record(&c, NULL, &e), r2 = cli_bad_record(&c, NULL, &e);
    dup2(saved, 2); close(saved); close(devnull);
    EXPECT(r1 == 0 && r2 == 0 && c.nbad == 2);
}

TEST(signals_set_the_stop_flag) {
    cli_signals();
    EXPECT(cli_stop_requested() == 0);
    raise(SIGTERM);
    EXPECT(cli_stop_requested() == SIGTERM);
    cli c; cli_init(&c, "mtool", "");
    c.progress = 0;
    EXPECT(prog_start(&c, "records", -1) == NULL);
    signal(SIGPIPE, SIG_DFL);
    cli_signals();
    struct sigaction sa; sigaction(SIGPIPE, NULL, &sa);
    EXPECT(sa.sa_handler == SIG_IGN);
}

/* A stop signal and its echo (timeout signals the process and its group) handled on two threads:
 * the kernel gives the echo to another thread while the first handler runs with the signal
 * blocked. The second handler must see the first's time with its flag, or it takes the echo for
 * a second stop and kills the tool. Nothing orders two handlers but the flag itself: a build with
 * -fsanitize=thread reported the volatile flag and the plain time as data races (exit 66). */
static atomic_int echo_done;
static void *echo_thread(void *arg) {
    (void)arg;
    pthread_kill(pthread_self(), SIGTERM);   /* the first stop, handled here */
    atomic_store_explicit(&echo_done, 1, memory_order_relaxed);   /* no happens-before: a clock, not a lock */
    return NULL;
}
static void do_echo_on_two_threads(void) {
    cli_signals();
    if (cli_stop_requested()) exit(98);   /* a fresh child only */
    pthread_t t;
    if (pthread_create(&t, NULL, echo_thread, NULL)) exit(97);
    while (!atomic_load_explicit(&echo_done, memory_order_relaxed)) {}
    raise(SIGTERM);   /* the echo, on the main thread: within a second, not a hard stop */
    pthread_join(t, NULL);
    exit(cli_stop_requested() == SIGTERM ? 0 : 1);
}
TEST(stop_signal_echo_on_another_thread) {
    char out[256], err[8192];
    int rc = in_child(do_echo_on_two_threads, out, sizeof out, err, sizeof err);
    EXPECTF(rc == 0, "exit %d: %s", rc, err);
}

TEST(numbers_parse_strictly) {
    cli c; cli_init(&c, "mtool", "");
    EXPECT(cli_long(&c, "-n", "42", 1, 100) == 42);
    EXPECT(cli_double(&c, "--x", "0.25", 0, 1) == 0.25);
    EXPECT(cli_common(&c, 0x1004, "123") == 1 && c.seed == 123);
    EXPECT(cli_common(&c, 'Z', NULL) == 1 && c.plain == 1);
    EXPECT(cli_common(&c, 0x1005, "cuda:1") == 1 && !strcmp(c.device, "cuda:1"));
    EXPECT(cli_common(&c, 'x', NULL) == 0);
}

/* A number option's value in a child, in [num_lo, num_hi]: its exit status (0: taken), the value
 * taken on its standard output. */
static const char *num_arg;
static int num_double;
static double num_lo = 0, num_hi = 100;
static void do_number(void) {
    cli_init(&C, "mtool", "");
    if (num_double) printf("%.17g", cli_double(&C, "--x", num_arg, num_lo, num_hi));
    else printf("%ld", cli_long(&C, "-n", num_arg, (long)num_lo, (long)num_hi));
    fflush(stdout);
    _exit(0);
}
static int number_status(const char *arg, int dbl) {
    char out[256], err[1024];
    num_arg = arg; num_double = dbl;
    return in_child(do_number, out, sizeof out, err, sizeof err);
}

/* strtol and strtod skip leading blanks and take a '+'; strtod also hex, "inf" and "nan": a
 * number option takes what it documents, decimal digits (as --seed always did) */
TEST(numbers_refuse_blanks_signs_and_hex) {
    const char *bad[] = {" 8", "8 ", "+8", "\t8", "0x10", "0X1", "", "-", "8e", "inf", "nan", " -1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        EXPECTF(number_status(bad[i], 0) == 2, "cli_long '%s'", bad[i]);
        EXPECTF(number_status(bad[i], 1) == 2, "cli_double '%s'", bad[i]);
    }
    const char *dbad[] = {"0x1p-1", "0x10", "+0.5", " 0.5", "infinity", ".", "1e", "1e+", "e3", "-.e1"};
    for (size_t i = 0; i < sizeof dbad / sizeof *dbad; i++) EXPECTF(number_status(dbad[i], 1) == 2, "cli_double '%s'", dbad[i]);
    const char *dok[] = {"0.5", ".5", "5.", "1e-6", "1E+1", "3e1", "0", "-0", "08"};
    for (size_t i = 0; i < sizeof dok / sizeof *dok; i++) EXPECTF(number_status(dok[i], 1) == 0, "cli_double '%s'", dok[i]);
    EXPECT(number_status("08", 0) == 0);
    EXPECT(number_status("-0", 0) == 0);
}

/* The input share on the progress line counts from prog_input: mgrpo --resume-data reads the
 * groups earlier steps took before it starts, and with them counted a run resumed half-way
 * showed 50 % and an ETA of nothing at its first step. Half of what is left read: 50 %. */
TEST(progress_share_counts_from_prog_input) {
    char dir[TEST_TMPDIR_MAX], path[PATH_MAX], errp[PATH_MAX];
    test_tmpdir(dir, sizeof dir, "mrl-prog");
    snprintf(path, sizeof path, "%s/in.jsonl", dir);
    snprintf(errp, sizeof errp, "%s/err", dir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 4000; i++) fprintf(f, "{\"i\":%04d,\"pad\":\"%080d\"}\n", i, 0);   /* 100 bytes a line */
    fclose(f);
    mrl_err e = {0};
    const char *files[1] = {path};
    rd_stream *r = rd_open(files, 1, &e);
    EXPECTF(r != NULL, "%s", e.msg);
    if (!r) return;
    const char *line; size_t len;
    for (int i = 0; i < 2000; i++) rd_next_line(r, &line, &len, &e);   /* skipped */
    cli c; cli_init(&c, "mtool", "");
    c.progress = 1;
    progress *p = prog_start(&c, "steps", 0);
    prog_input(p, r);
    for (int i = 0; i < 1000; i++) rd_next_line(r, &line, &len, &e);
    int saved = dup(2), fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    usleep(300000);   /* past the line's 0.25 s throttle */
    prog_update(p, 1, 0);
    fflush(stderr);
    dup2(saved, 2); close(saved); close(fd);
    free(p);
    rd_close(r);
    char buf[512] = "";
    FILE *g = fopen(errp, "r");
    size_t n = g ? fread(buf, 1, sizeof buf - 1, g) : 0;
    buf[n] = 0;
    if (g) fclose(g);
    EXPECTF(strstr(buf, ", 50%, ETA ") != NULL, "progress line: %s", buf);
    unlink(path); unlink(errp); rmdir(dir);
}

static int utf8_ok(const char *s) { return tok_utf8_check(s, strlen(s)) < 0; }
static const char *ends_with(const char *s, const char *t) {
    size_t n = strlen(s), m = strlen(t);
    return n >= m && !strcmp(s + n - m, t) ? s + n - m : NULL;
}
/* a message longer than mrl_err's 1024 bytes (a long path, a long jq filter) was cut at the
 * end: in the middle of a UTF-8 character, and without what was wrong */
TEST(long_messages_keep_their_end) {
    char path[3000];
    size_t n = 0;
    while (n + 3 < sizeof path - 1) { memcpy(path + n, n % 200 ? "\xC3\xA9" : "/", n % 200 ? 2 : 1); n += n % 200 ? 2 : 1; }
    path[n] = 0;
    mrl_err e = {0};
    err_set(&e, ERR_INPUT, "%s: No such file or directory", path);
    EXPECTF(utf8_ok(e.msg), "%s", e.msg);
    EXPECTF(ends_with(e.msg, ": No such file or directory"), "%s", e.msg + strlen(e.msg) - 40);
    EXPECT(!strncmp(e.msg, "/", 1) && strstr(e.msg, "...") && strlen(e.msg) < sizeof e.msg);
    EXPECT(e.code == ERR_INPUT);
    err_set(&e, ERR_INPUT, "line 3: \"answer\" is missing");
    for (int k = 0; k < 2; k++) {   /* a long prefix: cut, it kept the reason, but not whole characters */
        err_set(&e, ERR_INPUT, "line 3: \"answer\" is missing");
        err_prefix(&e, "%s%s", k ? "x" : "", path);
        EXPECTF(utf8_ok(e.msg), "%s", e.msg);
        EXPECT(ends_with(e.msg, ": line 3: \"answer\" is missing") != NULL);
    }
    err_set(&e, ERR_INPUT, "%s", path + n - 1000);   /* short enough: as it was */
    EXPECT(!strcmp(e.msg, path + n - 1000));
    err_set(&e, ERR_INPUT, "x");
    err_prefix(&e, "in.jsonl:%d", 3);
    EXPECT(!strcmp(e.msg, "in.jsonl:3: x"));
}
static char long_path[2000];
static void do_dief_long(void) { cli_init(&C, "mtool", ""); cli_dief(&C, ERR_INPUT, "%s: Permission denied", long_path); }
TEST(long_fatal_messages_keep_their_end) {
    size_t n = 0;
    while (n + 3 < sizeof long_path - 1) { memcpy(long_path + n, "\xE2\x82\xAC", 3); n += 3; }
    long_path[n] = 0;
    char out[256], err[4096];
    EXPECT(in_child(do_dief_long, out, sizeof out, err, sizeof err) == 1);
    EXPECTF(utf8_ok(err) && ends_with(err, ": Permission denied\n"), "%s", err);
}

/* The cut at its edges (mrl_err holds 1023 bytes and the NUL): 1023 bytes are kept whole; 1024
 * and 1025 lose their middle, keeping 510 bytes of each end around "..."; a character of 2 to 4
 * bytes where the head or the tail ends is left out whole; a prefix longer than the whole buffer;
 * e->msg itself an argument (callers may add to a message so). */
static int bytes_at(const char *msg, const char *s, size_t n, size_t h, size_t t) {   /* msg == s[0..h) "..." s[t..n) */
    return strlen(msg) == h + 3 + n - t && !memcmp(msg, s, h) && !memcmp(msg + h, "...", 3) && !strcmp(msg + h + 3, s + t);
}
TEST(message_cut_edges) {
    static char s[4096];
    mrl_err e = {0};
    for (size_t i = 0; i < sizeof s; i++) s[i] = (char)('a' + i % 26);
    s[1023] = 0;
    err_set(&e, ERR_INPUT, "%s", s);
    EXPECT(!strcmp(e.msg, s));
    for (size_t n = 1024; n <= 1025; n++) {
        for (size_t i = 0; i < n; i++) s[i] = (char)('a' + i % 26);
        s[n] = 0;
        err_set(&e, ERR_INPUT, "%s", s);
        EXPECTF(bytes_at(e.msg, s, n, 510, n - 510), "%zu bytes: %zu kept", n, strlen(e.msg));
    }
    for (size_t w = 2; w <= 4; w++) {   /* only characters of w bytes */
        static const char *ch[] = {"", "", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"};
        size_t n = 0;
        while (n + w <= 1500) memcpy(s + n, ch[w], w), n += w;
        s[n] = 0;
        err_set(&e, ERR_INPUT, "%s", s);
        EXPECTF(utf8_ok(e.msg) && strlen(e.msg) < sizeof e.msg && strstr(e.msg, "..."), "%zu-byte characters", w);
        EXPECT(!memcmp(e.msg, s, 510 / w * w) && ends_with(e.msg, s + n - 510 / w * w));
    }
    /* 1024 bytes, a 4-byte character across each end of the middle: head s[0..508), tail from 516 */
    memset(s, 'a', 1024);
    memcpy(s + 508, "\xF0\x9F\x98\x80", 4);
    memcpy(s + 512, "\xF0\x9F\x98\x80", 4);
    s[1024] = 0;
    err_set(&e, ERR_INPUT, "%s", s);
    EXPECTF(utf8_ok(e.msg) && bytes_at(e.msg, s, 1024, 508, 516), "%zu kept", strlen(e.msg));
    /* a prefix past the buffer: its start, the message whole */
    for (size_t i = 0; i < 3000; i++) s[i] = (char)('a' + i % 26);
    s[3000] = 0;
    err_set(&e, ERR_INPUT, "x is missing");
    err_prefix(&e, "%s", s);
    EXPECTF(!memcmp(e.msg, s, 510) && ends_with(e.msg, ": x is missing") && strlen(e.msg) == 1023, "%s", e.msg);
    EXPECT(e.code == ERR_INPUT);
    /* the message as an argument */
    err_set(&e, ERR_USAGE, "bad");
    err_set(&e, ERR_INPUT, "%s (twice: %s)", e.msg, e.msg);
    EXPECTF(!strcmp(e.msg, "bad (twice: bad)") && e.code == ERR_INPUT, "%s", e.msg);
    err_prefix(&e, "%s", e.msg);
    EXPECTF(!strcmp(e.msg, "bad (twice: bad): bad (twice: bad)"), "%s", e.msg);
    s[1000] = 0;
    err_set(&e, ERR_INPUT, "%s", s);
    err_set(&e, ERR_INPUT, "%s|%s", e.msg, e.msg);   /* 2001 bytes, formatted from e->msg a second time */
    EXPECTF(!memcmp(e.msg, s, 510) && ends_with(e.msg, s + 1000 - 510) && strlen(e.msg) == 1023, "%s", e.msg);
    err_set(&e, ERR_INPUT, "%s", s);
    err_prefix(&e, "%s", e.msg);
    EXPECTF(!memcmp(e.msg, s, 510) && ends_with(e.msg, s + 1000 - 510) && strlen(e.msg) == 1023, "%s", e.msg);
}

/* the forms scripts and man pages pass still parse, with their values */
TEST(numbers_in_use_still_parse) {
    static const struct { const char *arg; double v; } ok[] = {
        {"1e-6", 1e-6}, {"-0.5", -0.5}, {".5", 0.5}, {"5.", 5}, {"-.5", -0.5}, {"3e-4", 3e-4}, {"1E+1", 10},
        {"0.9999999995", 0.9999999995}, {"1000", 1000}, {"1e3", 1000}, {"-1", -1}, {"0", 0}};
    char out[256], err[1024];
    num_double = 1, num_lo = -1, num_hi = 1e3;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        num_arg = ok[i].arg;
        int st = in_child(do_number, out, sizeof out, err, sizeof err);
        EXPECTF(st == 0 && *out && strtod(out, NULL) == ok[i].v, "'%s': exit %d, %s%s", ok[i].arg, st, out, err);
    }
    const char *bad[] = {"-1.5", "1001", "1e4", "-inf", "-nan", "- 1", "--1", "-0x1", "1e309", "-+1", "1,5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        num_arg = bad[i];
        EXPECTF(in_child(do_number, out, sizeof out, err, sizeof err) == 2, "'%s' taken: %s", bad[i], out);
    }
    num_lo = 0, num_hi = 100;
    EXPECT(number_status("-0", 0) == 0 && number_status("0100", 0) == 0 && number_status("100", 0) == 0);
    EXPECT(number_status("101", 0) == 2 && number_status("-1", 0) == 2 && number_status("1e1", 0) == 2);
}

/* cli_lost, the --skip-bad rule for lines lost between groups, as data: an open group of
 * `open` records (0: one that measures nothing), k lines lost, then a group of n records. */
TEST(lost_lines_between_groups) {
    static const struct { long open; int k; long fallback, n; int kept; } rows[] = {
        {3, 1, LONG_MAX, 3, 1},   /* one line lost: the next group may not be the smaller */
        {3, 1, LONG_MAX, 2, 0},
        {3, 2, LONG_MAX, 4, 1},   /* two in a row: one more than the group before */
        {3, 2, LONG_MAX, 3, 0},
        {3, 3, LONG_MAX, 5, 1},
        {0, 1, LONG_MAX, 9, 0},   /* behind a group that measures nothing: it goes */
        {0, 2, 4, 4, 1},          /* ... or needs the size known (--drop-uniform) */
        {0, 2, 4, 3, 0},
        {0, 0, LONG_MAX, 1, 1},   /* nothing lost: anything goes */
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        cli_lost l = {0};
        for (int j = 0; j < rows[i].k; j++) cli_lost_line(&l, rows[i].open, rows[i].fallback);
        cli_lost_open(&l);
        EXPECTF((!cli_lost_short(&l, rows[i].n)) == rows[i].kept, "row %zu", i);
        EXPECT(!cli_lost_short(&l, 1));   /* the condition is the one group's */
    }
    /* a line lost before a record of the open group was that group's: the next one owes nothing */
    cli_lost l = {0};
    cli_lost_line(&l, 3, LONG_MAX);
    cli_lost_same(&l);
    cli_lost_open(&l);
    EXPECT(!cli_lost_short(&l, 1));
    /* a group that carries lost lines measures nothing for the lines lost after it */
    l = (cli_lost){0};
    cli_lost_line(&l, 3, LONG_MAX);
    cli_lost_open(&l);                 /* b opens owing 3 ... */
    cli_lost_line(&l, 5, LONG_MAX);    /* ... has 5 when a line is lost after it */
    EXPECT(!cli_lost_short(&l, 5));    /* b itself is whole */
    cli_lost_open(&l);
    EXPECT(cli_lost_short(&l, 100));   /* c goes, whatever its size */
}

int main(void) {
    test_tmpdir(tmpdir, sizeof tmpdir, "mrl-cli");
    RUN(usage_errors_exit_2_with_a_hint);
    RUN(help_and_version_exit_0);
    RUN(broken_pipe_exits_0_quietly);
    RUN(error_exit_flushes_earlier_records);
    RUN(skip_bad_counts);
    RUN(numbers_parse_strictly);
    RUN(numbers_refuse_blanks_signs_and_hex);
    RUN(long_messages_keep_their_end);
    RUN(long_fatal_messages_keep_their_end);
    RUN(message_cut_edges);
    RUN(numbers_in_use_still_parse);
    RUN(progress_share_counts_from_prog_input);
    RUN(stop_signal_echo_on_another_thread);   /* before the stop flag is set in this process */
    RUN(signals_set_the_stop_flag);
    RUN(lost_lines_between_groups);
    char cmd[PATH_MAX + 16]; snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) { /* harmless */ }
    return tst_done();
}
