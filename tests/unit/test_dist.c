/* test_dist.c — dist_spawn's launcher (mgrpo --gpus N) on CPU processes: every rank gets the
 * whole input, standard input included, and "--device cuda:RANK" as an option. The ranks are
 * this program run again (dist_spawn execs /proc/self/exe): with MRL_RANK set it writes the
 * arguments after its options and the text of its inputs to DIR/rank-R, then exits. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dist.h"
#include "../test.h"

/* A rank: argv = [exe, "rank", DIR, options and operands as dist_spawn passed them]. */
static int rank_main(int argc, char **argv) {
    char path[4096];
    snprintf(path, sizeof path, "%s/rank-%s", argv[2], getenv("MRL_RANK"));
    FILE *out = fopen(path, "w");
    if (!out) return 1;
    int opts = 1;
    for (int i = 3; i < argc; i++) {
        if (opts && !strcmp(argv[i], "--device") && i + 1 < argc) { fprintf(out, "device %s\n", argv[++i]); continue; }
        if (opts && !strcmp(argv[i], "--")) { opts = 0; continue; }
        FILE *in = strcmp(argv[i], "-") ? fopen(argv[i], "r") : stdin;
        char buf[256];
        size_t k = in ? fread(buf, 1, sizeof buf - 1, in) : 0;
        buf[k] = 0;
        fprintf(out, "file [%s]\n", buf);
        if (in && in != stdin) fclose(in);
    }
    fclose(out);
    return 0;
}

static char dir[] = "/tmp/test_dist.XXXXXX";

/* Runs dist_spawn(argv, first_operand, 2 ranks) with text on standard input (a pipe); the
 * ranks' reports are read into r0 and r1. */
static int spawn2(char **av, int ac, int first, const char *text, char *r0, char *r1, size_t cap) {
    int p[2], saved = dup(0);
    if (pipe(p)) return -1;
    if (write(p[1], text, strlen(text)) != (ssize_t)strlen(text)) return -1;
    close(p[1]);
    dup2(p[0], 0); close(p[0]);
    mrl_err e = {0};
    int rc = dist_spawn(ac, av, first, 2, &e);
    dup2(saved, 0); close(saved);
    char *rs[2] = {r0, r1};
    for (int r = 0; r < 2; r++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/rank-%d", dir, r);
        FILE *f = fopen(path, "r");
        size_t k = f ? fread(rs[r], 1, cap - 1, f) : 0;
        rs[r][k] = 0;
        if (f) fclose(f);
        unlink(path);
    }
    return rc;
}

/* "-" named as the input: each rank reads all of standard input, not its own part of the pipe */
TEST(stdin_named_dash_reaches_every_rank) {
    char r0[1024], r1[1024];
    char *av[] = {"test_dist", "rank", dir, "-", NULL};
    EXPECT(spawn2(av, 4, 3, "abc\n", r0, r1, sizeof r0) == 0);
    EXPECTF(!strcmp(r0, "device cuda:0\nfile [abc\n]\n"), "rank 0: %s", r0);
    EXPECTF(!strcmp(r1, "device cuda:1\nfile [abc\n]\n"), "rank 1: %s", r1);
}

/* no FILE: the copy of standard input is the input */
TEST(stdin_implied_reaches_every_rank) {
    char r0[1024], r1[1024];
    char *av[] = {"test_dist", "rank", dir, NULL};
    EXPECT(spawn2(av, 3, 3, "xyz\n", r0, r1, sizeof r0) == 0);
    EXPECTF(!strcmp(r0, "device cuda:0\nfile [xyz\n]\n"), "rank 0: %s", r0);
    EXPECTF(!strcmp(r1, "device cuda:1\nfile [xyz\n]\n"), "rank 1: %s", r1);
}

/* a file and "-" in order; a second "-" finds standard input at its end, as in one process */
TEST(file_then_dash_in_order) {
    char r0[1024], r1[1024], f[4200];
    snprintf(f, sizeof f, "%s/in.txt", dir);
    FILE *fp = fopen(f, "w");
    fputs("F\n", fp); fclose(fp);
    char *av[] = {"test_dist", "rank", dir, f, "-", "-", NULL};
    EXPECT(spawn2(av, 6, 3, "S\n", r0, r1, sizeof r0) == 0);
    EXPECTF(!strcmp(r0, "device cuda:0\nfile [F\n]\nfile [S\n]\nfile []\n"), "rank 0: %s", r0);
    EXPECTF(!strcmp(r1, "device cuda:1\nfile [F\n]\nfile [S\n]\nfile []\n"), "rank 1: %s", r1);
    unlink(f);
}

/* options ended by "--": --device stays an option, not a FILE */
TEST(double_dash_keeps_device_an_option) {
    char r0[1024], r1[1024];
    char *av[] = {"test_dist", "rank", dir, "--", "-", NULL};
    EXPECT(spawn2(av, 5, 4, "q\n", r0, r1, sizeof r0) == 0);
    EXPECTF(!strcmp(r0, "device cuda:0\nfile [q\n]\n"), "rank 0: %s", r0);
    EXPECTF(!strcmp(r1, "device cuda:1\nfile [q\n]\n"), "rank 1: %s", r1);
}

int main(int argc, char **argv) {
    if (getenv("MRL_RANK") && argc > 2 && !strcmp(argv[1], "rank")) return rank_main(argc, argv);
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    RUN(stdin_named_dash_reaches_every_rank);
    RUN(stdin_implied_reaches_every_rank);
    RUN(file_then_dash_in_order);
    RUN(double_dash_keeps_device_an_option);
    rmdir(dir);
    return tst_done();
}
