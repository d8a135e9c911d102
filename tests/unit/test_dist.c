/* test_dist.c — dist_spawn's launcher (mgrpo --gpus N) on CPU processes: every rank gets the
 * whole input, standard input included, and "--device cuda:RANK" as an option. The ranks are
 * this program run again (dist_spawn execs /proc/self/exe): with MRL_RANK set it writes the
 * arguments after its options and the text of its inputs to DIR/rank-R, then exits. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "dist.h"
#include "stream.h"
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

static char dir[TEST_TMPDIR_MAX];   /* $TMPDIR/test_dist.XXXXXX; a rank gets it as argv[2] */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
static void nap(double s) {   /* whole, a signal's handler notwithstanding */
    struct timespec t = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    while (nanosleep(&t, &t) && errno == EINTR) {}
}
static void put(const char *name, const char *rank, long v) {
    char p[4200], t[4300];
    snprintf(p, sizeof p, "%s/%s-%s", dir, name, rank);
    snprintf(t, sizeof t, "%s.tmp", p);
    FILE *f = fopen(t, "w");
    if (f) { fprintf(f, "%ld\n", v); fclose(f); rename(t, p); }
}
/* the number in DIR/name-R, or -1 where there is none (yet) */
static long get(const char *name, int r) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s-%d", dir, name, r);
    FILE *f = fopen(p, "r");
    long v = -1;
    if (f) { if (fscanf(f, "%ld", &v) != 1) v = -1; fclose(f); }
    return v;
}
static int wait_for(const char *name, int nr, double limit) {
    for (double t0 = now_s(); now_s() - t0 < limit; nap(0.01)) {
        int all = 1;
        for (int r = 0; r < nr; r++) all &= get(name, r) >= 0;
        if (all) return 1;
    }
    return 0;
}
/* no process of the pids in DIR/pid-R is left (a zombie or one still running) */
static int ranks_gone(int nr, double limit) {
    for (double t0 = now_s(); now_s() - t0 < limit; nap(0.01)) {
        int left = 0;
        for (int r = 0; r < nr; r++) {
            long p = get("pid", r);
            char st[64];
            snprintf(st, sizeof st, "/proc/%ld/stat", p);
            if (p > 0 && access(st, F_OK) == 0) left++;
        }
        if (!left) return 1;
    }
    return 0;
}
static void kill_ranks(int nr) {
    for (int r = 0; r < nr; r++) { long p = get("pid", r); if (p > 0) kill((pid_t)p, SIGKILL); }
}
static int temps_left(void) {
    DIR *d = opendir(dir);
    int k = 0;
    for (struct dirent *de; d && (de = readdir(d));) k += !strncmp(de->d_name, "mrl-stdin-", 10);
    if (d) closedir(d);
    return k;
}
static void clean_dir(void) {
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        if (de->d_name[0] == '.') continue;
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d) closedir(d);
}

/* Ranks of the signal tests: argv = [exe, mode, DIR, ...]. "wait": the pid to DIR/pid-R, then a
 * stop signal is taken as mgrpo takes it (a flag; the rank then exits 128 + the signal, noted
 * in DIR/got-R; rank 0 takes 1 s to, as for a last checkpoint); ends by itself after 20 s. "stuck": rank 0 is a rank blocked in a collective
 * (a stop signal changes nothing), rank 1 fails (exit 5) once rank 0 runs. "exit": rank R
 * exits with the number after "--device cuda:R" at position R, after 0.2 s. */
static volatile sig_atomic_t rank_sig;
static void rank_on_signal(int sig) { if (!rank_sig) rank_sig = sig; }
static int signal_rank(int argc, char **argv) {
    const char *r = getenv("MRL_RANK");
    int rank = atoi(r);
    /* the pid is written once the rank's signal handling is in place: a test that signals on
       seeing it must not find the default action (the rank killed, nothing noted) */
    if (!strcmp(argv[1], "exit")) {
        put("pid", r, (long)getpid());
        nap(0.2);
        return 3 + 2 + rank < argc ? atoi(argv[3 + 2 + rank]) : 99;
    }
    if (!strcmp(argv[1], "stuck")) {
        if (rank == 1) { put("pid", r, (long)getpid()); wait_for("pid", 1, 20); return 5; }
        signal(SIGTERM, SIG_IGN);
        put("pid", r, (long)getpid());
        nap(20);
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = rank_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    put("pid", r, (long)getpid());
    for (double t0 = now_s(); now_s() - t0 < 20 && !rank_sig;) nap(0.01);
    if (!rank_sig) return 0;
    if (rank == 0) nap(1);   /* its last checkpoint */
    put("got", r, rank_sig);
    return 128 + rank_sig;
}

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

static void *raise_in_another_thread(void *arg);
/* A launcher (mgrpo --gpus 2) in a child of this test, standard input a pipe: its pid. keep:
 * the pipe stays open (the launcher is still copying it), else "in\n" and its end. raise_sig: a
 * signal a second thread of the launcher's process raises on itself (raise_in_another_thread),
 * 0 for none. */
static pid_t launcher(char **av, int ac, int first, int keep, int *wfd, int raise_sig) {
    int p[2];
    if (pipe(p)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        dup2(p[0], 0); close(p[0]);
        setenv("TMPDIR", dir, 1);
        /* the stop signals caught, as a shell's foreground job has them: a test run started in
           the background (`make test &`, nohup) inherits SIGINT ignored, which the launcher
           keeps (as nohup's user wants), so the SIGINT cases waited 10 s and failed (seen
           where timeout(1) keeps an ignored signal, coreutils 9.10; 9.1 happened to reset it) */
        signal(SIGINT, SIG_DFL); signal(SIGTERM, SIG_DFL); signal(SIGHUP, SIG_DFL);
        if (raise_sig) {
            pthread_t th;
            sigset_t none;   /* the thread starts with the stop signals open, as a library's would */
            sigemptyset(&none);
            pthread_sigmask(SIG_SETMASK, &none, NULL);
            if (pthread_create(&th, NULL, raise_in_another_thread, &raise_sig)) _exit(99);
        }
        mrl_err e = {0};
        int rc = dist_spawn(ac, av, first, 2, &e);
        _exit(e.msg[0] ? 100 : rc);
    }
    close(p[0]);
    if (!keep) { if (write(p[1], "in\n", 3) != 3) {} close(p[1]); }
    else *wfd = p[1];
    return pid;
}
/* the launcher's wait status, or -1 where it has not ended in limit seconds */
static int reap(pid_t pid, double limit) {
    for (double t0 = now_s(); now_s() - t0 < limit; nap(0.01)) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) return st;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* SIGTERM to the launcher (kill PID, a scheduler's stop) reaches every rank, which stops as it
 * would alone; the launcher waits for them (no orphan keeps training), exits 128 + 15 as they
 * do, and removes the copy of standard input. (It died at once: the ranks ran on, the copy
 * stayed in TMPDIR.) */
TEST(sigterm_to_launcher_reaches_every_rank) {
    char *av[] = {"test_dist", "wait", dir, NULL};
    double grace = dist_spawn_grace_s;
    dist_spawn_grace_s = 0.3;   /* rank 1's exit 143 is its stop, not a failure to stop rank 0 for */
    pid_t l = launcher(av, 3, 3, 0, NULL, 0);
    EXPECT(l > 0);
    EXPECT(wait_for("pid", 2, 10));
    nap(0.1);   /* the ranks' handlers are in place once they wrote their pids */
    kill(l, SIGTERM);
    int st = reap(l, 10);
    dist_spawn_grace_s = grace;
    EXPECTF(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM, "launcher: wait status %#x", st);
    EXPECTF(get("got", 0) == SIGTERM && get("got", 1) == SIGTERM, "ranks' signals: %ld %ld", get("got", 0), get("got", 1));
    EXPECT(ranks_gone(2, 1));
    EXPECTF(temps_left() == 0, "%d copies of standard input left in %s", temps_left(), dir);
    kill_ranks(2);
    clean_dir();
}

/* A thread of the launcher's process other than its own (a library's: OpenBLAS's pool, when it
 * was linked, was there from the library's load) takes a stop signal sent to the process while
 * the launcher's thread, which blocks it but in ppoll, is busy: here that thread raises SIGINT
 * on itself once the copy of standard input is under way, as the kernel would hand it one. The
 * launcher still stops: nothing started, the copy removed, 130; and while the ranks run, the
 * signal reaches them. (Its handler set the flag there: the launcher waited in ppoll for input
 * that never came, or in sigwaitinfo while the ranks ran on.) */
static void *raise_in_another_thread(void *arg) {
    int sig = *(int *)arg;
    if (sig == SIGINT) for (double t0 = now_s(); now_s() - t0 < 10 && !temps_left();) nap(0.01);
    else wait_for("pid", 2, 10);   /* the ranks running, their handlers in place */
    nap(0.1);
    pthread_kill(pthread_self(), sig);
    return NULL;
}
TEST(stop_signal_taken_by_another_thread_stops_the_launcher) {
    char *av[] = {"test_dist", "wait", dir, NULL};
    double grace = dist_spawn_grace_s;
    dist_spawn_grace_s = 0.3;
    int wfd = -1;
    pid_t l = launcher(av, 3, 3, 1, &wfd, SIGINT);   /* while standard input is copied */
    int st = reap(l, 10);
    close(wfd);
    EXPECTF(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGINT, "launcher: wait status %#x", st);
    EXPECTF(temps_left() == 0, "%d copies of standard input left in %s", temps_left(), dir);
    EXPECT(get("pid", 0) < 0 && get("pid", 1) < 0);
    kill_ranks(2);
    clean_dir();
    st = reap(launcher(av, 3, 3, 0, NULL, SIGTERM), 10);   /* while the ranks run: forwarded to them */
    dist_spawn_grace_s = grace;
    EXPECTF(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM, "launcher: wait status %#x", st);
    EXPECTF(get("got", 0) == SIGTERM && get("got", 1) == SIGTERM, "ranks' signals: %ld %ld", get("got", 0), get("got", 1));
    EXPECT(ranks_gone(2, 1));
    kill_ranks(2);
    clean_dir();
}

/* SIGINT while standard input is still being copied: nothing started, the copy removed, the
 * exit status a stop's (130), not a kill by the signal. */
TEST(sigint_while_copying_stdin_removes_the_copy) {
    char *av[] = {"test_dist", "wait", dir, NULL};
    int wfd = -1;
    pid_t l = launcher(av, 3, 3, 1, &wfd, 0);
    EXPECT(l > 0);
    for (double t0 = now_s(); now_s() - t0 < 10 && !temps_left();) nap(0.01);
    EXPECT(temps_left() == 1);
    if (write(wfd, "x\n", 2) != 2) {}
    nap(0.1);
    kill(l, SIGINT);
    int st = reap(l, 10);
    close(wfd);
    EXPECTF(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGINT, "launcher: wait status %#x", st);
    EXPECTF(temps_left() == 0, "%d copies of standard input left in %s", temps_left(), dir);
    EXPECT(get("pid", 0) < 0 && get("pid", 1) < 0);   /* no rank was started */
    kill_ranks(2);
    clean_dir();
}

/* One rank fails while another is blocked in a collective (a stop signal only sets its flag):
 * the launcher does not wait for it forever; after the grace period it is killed, and the
 * exit status is the failure's. */
TEST(failing_rank_stops_a_rank_stuck_in_a_collective) {
    char *av[] = {"test_dist", "stuck", dir, NULL};
    double grace = dist_spawn_grace_s;
    dist_spawn_grace_s = 0.3;
    double t0 = now_s();
    pid_t l = launcher(av, 3, 3, 0, NULL, 0);
    int st = reap(l, 10);
    double took = now_s() - t0;
    dist_spawn_grace_s = grace;
    EXPECTF(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 5, "launcher: wait status %#x", st);
    /* rank 0 ignores SIGTERM: only the SIGKILL two grace periods after the failure ends it */
    EXPECTF(took >= 2 * 0.3 - 0.05, "the launcher ended after %.2f s, before the SIGKILL was due", took);
    EXPECT(ranks_gone(2, 1));
    kill_ranks(2);
    clean_dir();
}

/* A launcher that inherited SIGCHLD ignored (its children reaped by the kernel) still waits
 * for its ranks and reports a failure (wait() failed with ECHILD: exit 0 at once, ranks left). */
TEST(sigchld_ignored_still_waits_for_the_ranks) {
    char *av[] = {"test_dist", "exit", dir, "0", "7", NULL};
    struct sigaction ign, old;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGCHLD, &ign, &old);
    mrl_err e = {0};
    int rc = dist_spawn(5, av, 3, 2, &e);
    sigaction(SIGCHLD, &old, NULL);
    EXPECTF(rc == 7, "exit status %d", rc);
    EXPECT(ranks_gone(2, 1));
    kill_ranks(2);
    clean_dir();
}

/* The rank environment: a half-set MRL pair, a local rank past the world and a value that is
 * not a number are refused naming the variable (MRL_WORLD alone made a silent single process,
 * which writes the checkpoints as rank 0 does; MRL_LOCAL_RANK=5 in a world of 2 chose cuda:5). */
static const char *env_names[] = {"MRL_RANK", "MRL_WORLD", "MRL_LOCAL_RANK", "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID",
    "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "MRL_JOB", "SLURM_JOB_ID", "SLURM_STEP_ID",
    "SLURM_RESTART_COUNT", "OMPI_MCA_orte_ess_jobid", "PMIX_NAMESPACE"};
static void env_clear(void) { for (size_t i = 0; i < sizeof env_names / sizeof *env_names; i++) unsetenv(env_names[i]); }
/* dist_env under "NAME=V NAME=V ...": its return, and e's message in msg */
static int env_case(const char *vars, int *r, int *w, int *l, char *msg, size_t cap) {
    env_clear();
    char buf[512];
    snprintf(buf, sizeof buf, "%s", vars);
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " ")) {
        char *eq = strchr(t, '=');
        *eq = 0;
        setenv(t, eq + 1, 1);
    }
    mrl_err e = {0};
    int rc = dist_env(r, w, l, &e);
    snprintf(msg, cap, "%s", e.msg);
    env_clear();
    return rc;
}
TEST(rank_environment_checked) {
    int r, w, l;
    char m[1100];
    EXPECT(env_case("MRL_RANK=1 MRL_WORLD=4 MRL_LOCAL_RANK=1", &r, &w, &l, m, sizeof m) == 0 && r == 1 && w == 4 && l == 1);
    EXPECT(env_case("SLURM_PROCID=9 SLURM_NTASKS=16 SLURM_LOCALID=1", &r, &w, &l, m, sizeof m) == 0 && r == 9 && w == 16 && l == 1);
    EXPECT(env_case("PMI_RANK=3 PMI_SIZE=4", &r, &w, &l, m, sizeof m) == 0 && r == 3 && w == 4 && l == 3);
    /* a launcher's pair half there (sbatch's script has SLURM_PROCID): one process */
    EXPECT(env_case("SLURM_PROCID=0", &r, &w, &l, m, sizeof m) == 0 && r == 0 && w == 1 && l == 0);
    EXPECT(env_case("", &r, &w, &l, m, sizeof m) == 0 && r == 0 && w == 1);
    EXPECT(env_case("MRL_WORLD=2", &r, &w, &l, m, sizeof m) < 0);
    EXPECTF(!strcmp(m, "MRL_WORLD is set but MRL_RANK is not (set both, or neither)"), "%s", m);
    EXPECT(env_case("MRL_RANK=1", &r, &w, &l, m, sizeof m) < 0);
    EXPECTF(!strcmp(m, "MRL_RANK is set but MRL_WORLD is not (set both, or neither)"), "%s", m);
    EXPECT(env_case("MRL_RANK=0 MRL_WORLD=2 MRL_LOCAL_RANK=5", &r, &w, &l, m, sizeof m) < 0);
    EXPECTF(!strcmp(m, "MRL_LOCAL_RANK=5 is not below MRL_WORLD=2"), "%s", m);
    EXPECT(env_case("OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_LOCAL_RANK=x", &r, &w, &l, m, sizeof m) < 0);
    EXPECTF(!strcmp(m, "OMPI_COMM_WORLD_LOCAL_RANK='x' is not a number from 0 to 1048576"), "%s", m);
    EXPECT(env_case("SLURM_PROCID=0 SLURM_NTASKS=0", &r, &w, &l, m, sizeof m) < 0);
    EXPECTF(!strcmp(m, "SLURM_PROCID=0 is not below SLURM_NTASKS=0"), "%s", m);
}

/* The job key: a requeued Slurm job (same job id, steps from 0 again) has another key, so a
 * start reads no id file a failed start of the job left. */
TEST(job_key_of_a_requeued_slurm_job) {
    env_clear();
    EXPECT(dist_job_key() == NULL);
    setenv("SLURM_JOB_ID", "77", 1);
    const char *k = dist_job_key();
    EXPECTF(k && !strcmp(k, "77.0"), "%s", k ? k : "(null)");
    setenv("SLURM_STEP_ID", "3", 1);
    setenv("SLURM_RESTART_COUNT", "0", 1);
    k = dist_job_key();
    EXPECTF(k && !strcmp(k, "77.3"), "%s", k ? k : "(null)");
    setenv("SLURM_RESTART_COUNT", "2", 1);
    k = dist_job_key();
    EXPECTF(k && !strcmp(k, "77.3.r2"), "%s", k ? k : "(null)");
    setenv("MRL_JOB", "mine", 1);
    k = dist_job_key();
    EXPECTF(k && !strcmp(k, "mine"), "%s", k ? k : "(null)");
    env_clear();
}

/* A rank's wait for the id file: found whole; a path that cannot be read (not a directory on
 * the way, a directory) fails at once saying why (it waited the whole timeout, then asked
 * whether rank 0 was running); an absent one times out. */
TEST(id_file_wait) {
    char p[4200], id[128], got[128];
    mrl_err e = {0};
    for (int i = 0; i < 128; i++) id[i] = (char)i;
    snprintf(p, sizeof p, "%s/.nccl-id.j", dir);
    EXPECT(atomic_write_file(p, id, sizeof id, &e) == 0);
    EXPECT(dist_read_id(p, got, sizeof got, 1, 5, &e) == 0 && !memcmp(id, got, sizeof id));
    char q[4300];
    snprintf(q, sizeof q, "%s/sub", p);   /* .nccl-id.j is a file */
    double t0 = now_s();
    e.msg[0] = 0;
    EXPECT(dist_read_id(q, got, sizeof got, 1, 5, &e) < 0);
    EXPECTF(now_s() - t0 < 1 && strstr(e.msg, "Not a directory") && strstr(e.msg, q), "%.1f s: %s", now_s() - t0, e.msg);
    unlink(p);
    EXPECT(mkdir(p, 0700) == 0);
    t0 = now_s();
    e.msg[0] = 0;
    EXPECT(dist_read_id(p, got, sizeof got, 1, 5, &e) < 0);
    EXPECTF(now_s() - t0 < 1 && strstr(e.msg, "Is a directory"), "%.1f s: %s", now_s() - t0, e.msg);
    rmdir(p);
    t0 = now_s();
    e.msg[0] = 0;
    EXPECT(dist_read_id(p, got, sizeof got, 2, 0.1, &e) < 0);
    EXPECTF(now_s() - t0 < 1 && strstr(e.msg, "rank 2: no NCCL id appeared in"), "%s", e.msg);
}

/* A libnccl.so.2 that cannot be loaded is named with its own reason, not libnccl.so's after it
 * (the second dlopen's dlerror replaced the first's: a missing dependency of libnccl.so.2 read
 * "libnccl.so: cannot open shared object file"). Run in a copy of this program started with
 * LD_LIBRARY_PATH=DIR, where the loader reads it. */
TEST(nccl_load_error_is_libnccl_so_2s) {
    char p[4200], out[4200];
    snprintf(p, sizeof p, "%s/libnccl.so.2", dir);
    FILE *f = fopen(p, "w");
    if (f) fclose(f);   /* empty: "file too short" */
    snprintf(p, sizeof p, "%s/libnccl.so", dir);
    f = fopen(p, "w");
    if (f) { for (int i = 0; i < 64; i++) fputs("not an ELF file\n", f); fclose(f); }
    snprintf(out, sizeof out, "%s/nccl.txt", dir);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("LD_LIBRARY_PATH", dir, 1);
        execl("/proc/self/exe", "test_dist", "nccl", out, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    char msg[2048] = "";
    f = fopen(out, "r");
    size_t k = f ? fread(msg, 1, sizeof msg - 1, f) : 0;
    msg[k] = 0;
    if (f) fclose(f);
    EXPECTF(strstr(msg, "cannot load libnccl.so.2 (") && strstr(msg, "libnccl.so.2: file too short"), "%s", msg);
    clean_dir();
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "nccl")) {
        mrl_err e = {0};
        FILE *f = fopen(argv[2], "w");
        if (f) { fprintf(f, "%d %s\n", dist_nccl_check(&e), e.msg); fclose(f); }
        return 0;
    }
    if (getenv("MRL_RANK") && argc > 2 && !strcmp(argv[1], "rank")) return rank_main(argc, argv);
    if (getenv("MRL_RANK") && argc > 2) { snprintf(dir, sizeof dir, "%s", argv[2]); return signal_rank(argc, argv); }
    test_tmpdir(dir, sizeof dir, "test_dist");
    RUN(stdin_named_dash_reaches_every_rank);
    RUN(stdin_implied_reaches_every_rank);
    RUN(file_then_dash_in_order);
    RUN(double_dash_keeps_device_an_option);
    RUN(sigterm_to_launcher_reaches_every_rank);
    RUN(sigint_while_copying_stdin_removes_the_copy);
    RUN(stop_signal_taken_by_another_thread_stops_the_launcher);
    RUN(failing_rank_stops_a_rank_stuck_in_a_collective);
    RUN(sigchld_ignored_still_waits_for_the_ranks);
    RUN(rank_environment_checked);
    RUN(job_key_of_a_requeued_slurm_job);
    RUN(id_file_wait);
    RUN(nccl_load_error_is_libnccl_so_2s);
    rmdir(dir);
    return tst_done();
}
