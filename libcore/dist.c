/* dist.c — NCCL data parallel (see dist.h): environment of mpirun/srun/mgrpo --gpus, the unique
 * id through a file (no home-made transport), and all-reduce on the backend's CUDA stream. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "dist.h"
#include "stream.h"
#include "model.h"
#if defined(MRL_CUDA) && defined(__has_include)
#if __has_include("cuda/ops_cuda.h")
#include "cuda/ops_cuda.h"
#define DIST_HAVE_CUDA 1
#endif
#endif

/* The NCCL ABI pieces used here (stable since NCCL 2.0): the id is 128 opaque bytes. */
typedef struct { char internal[128]; } nccl_id;
typedef void *nccl_comm;
enum { NCCL_FLOAT32 = 7, NCCL_FLOAT64 = 8, NCCL_SUM = 0 };

struct mrl_dist {
    int rank, world, local;
    const mrl_backend *be;
    void *lib;
    nccl_comm comm;
    int (*get_id)(nccl_id *);
    int (*init_rank)(nccl_comm *, int, nccl_id, int);
    int (*all_reduce)(const void *, void *, size_t, int, int, nccl_comm, void *);
    int (*destroy)(nccl_comm);
    const char *(*errstr)(int);
    double *hbuf;   /* backend scratch for host all-reduces */
};

/* 1 with *out set, 0 where name is unset or empty, -1 with e set where it is not a count */
static int env_int(const char *name, int *out, mrl_err *e) {
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end; long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 1 << 20) return err_set(e, 2, "%s='%s' is not a number from 0 to %d", name, s, 1 << 20);
    *out = (int)v; return 1;
}

int dist_env(int *rank, int *world, int *local, mrl_err *e) {
    static const char *sets[][3] = {
        {"MRL_RANK", "MRL_WORLD", "MRL_LOCAL_RANK"},
        {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
        {"PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"},
        {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
    };
    *rank = 0; *world = 1; *local = 0;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        int r = 0, w = 0, l = 0, hr, hw, hl;
        if ((hr = env_int(sets[i][0], &r, e)) < 0 || (hw = env_int(sets[i][1], &w, e)) < 0 ||
            (hl = env_int(sets[i][2], &l, e)) < 0) return -1;
        /* mgrpo's own pair is set together (a launcher's may be half there: sbatch's script) */
        if (i == 0 && hr != hw)
            return err_set(e, 2, "%s is set but %s is not (set both, or neither)", sets[i][hr ? 0 : 1], sets[i][hr ? 1 : 0]);
        if (hr == 0 || hw == 0) continue;
        if (w < 1 || r >= w) return err_set(e, 2, "%s=%d is not below %s=%d", sets[i][0], r, sets[i][1], w);
        if (hl == 1 && l >= w) return err_set(e, 2, "%s=%d is not below %s=%d", sets[i][2], l, sets[i][1], w);
        *rank = r; *world = w; *local = hl == 1 ? l : r;
        return 0;
    }
    return 0;
}

const char *dist_job_key(void) {
    static char key[256];
    const char *s;
    if ((s = getenv("MRL_JOB")) && *s) return s;
    if ((s = getenv("SLURM_JOB_ID")) && *s) {
        const char *st = getenv("SLURM_STEP_ID"), *rs = getenv("SLURM_RESTART_COUNT");
        /* a requeued job keeps its id and counts its steps from 0 again: the id file a start that
           failed left behind is not this start's */
        if (rs && *rs && strcmp(rs, "0")) snprintf(key, sizeof key, "%s.%s.r%s", s, st && *st ? st : "0", rs);
        else snprintf(key, sizeof key, "%s.%s", s, st && *st ? st : "0");
        return key;
    }
    if ((s = getenv("OMPI_MCA_orte_ess_jobid")) && *s) return s;
    if ((s = getenv("PMIX_NAMESPACE")) && *s) return s;
    return NULL;
}

int dist_rank(const mrl_dist *d) { return d ? d->rank : 0; }
int dist_world(const mrl_dist *d) { return d ? d->world : 1; }

static int nccl_fail(mrl_dist *d, mrl_err *e, const char *what, int rc) {
    return err_set(e, 3, "NCCL %s failed (rank %d of %d): %s", what, d->rank, d->world,
                   d->errstr ? d->errstr(rc) : "unknown error");
}

static int load_nccl(mrl_dist *d, mrl_err *e) {
    const char *names[] = {"libnccl.so.2", "libnccl.so"};
    char why[1024] = "";   /* libnccl.so.2's own reason (a missing dependency), not libnccl.so's absence after it */
    for (size_t i = 0; i < 2 && !d->lib; i++) {
        d->lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        const char *m = d->lib ? NULL : dlerror();
        if (m && !why[0]) snprintf(why, sizeof why, "%s", m);
    }
    if (!d->lib) return err_set(e, 3, "data parallel needs NCCL: cannot load libnccl.so.2 (%s); install NCCL or add its directory to LD_LIBRARY_PATH", why);
    *(void **)&d->get_id = dlsym(d->lib, "ncclGetUniqueId");
    *(void **)&d->init_rank = dlsym(d->lib, "ncclCommInitRank");
    *(void **)&d->all_reduce = dlsym(d->lib, "ncclAllReduce");
    *(void **)&d->destroy = dlsym(d->lib, "ncclCommDestroy");
    *(void **)&d->errstr = dlsym(d->lib, "ncclGetErrorString");
    if (!d->get_id || !d->init_rank || !d->all_reduce || !d->destroy)
        return err_set(e, 3, "libnccl.so.2 lacks the NCCL 2 API");
    return 0;
}

int dist_read_id(const char *path, void *id, size_t len, int rank, double timeout_s, mrl_err *e) {
    struct timespec t0, now, nap = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int fd = open(path, O_RDONLY);
        /* not there yet (ESTALE: NFS, the name renamed over meanwhile) is waited for; any other
           error (no permission, not a directory on the way) would last the whole timeout */
        if (fd < 0 && errno != ENOENT && errno != ESTALE)
            return err_set(e, 3, "rank %d: cannot read the NCCL id %s: %s", rank, path, strerror(errno));
        if (fd >= 0) {
            ssize_t n = read(fd, id, len);
            int er = errno;
            close(fd);
            if (n == (ssize_t)len) return 0;
            if (n < 0 && er != EINTR && er != ESTALE)
                return err_set(e, 3, "rank %d: cannot read the NCCL id %s: %s", rank, path, strerror(er));
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) * 1e-9 > timeout_s)
            return err_set(e, 3, "rank %d: no NCCL id appeared in %s after %.0f s (is rank 0 running, and is the directory shared?)",
                           rank, path, timeout_s);
        nanosleep(&nap, NULL);
    }
}

int dist_nccl_check(mrl_err *e) {
    mrl_dist d = {0};
    int rc = load_nccl(&d, e);
    if (d.lib) dlclose(d.lib);
    return rc;
}

/* Rank 0 publishes the id; the others wait for the file to appear whole (rename is atomic). */
static int exchange_id(mrl_dist *d, const char *path, double timeout_s, nccl_id *id, mrl_err *e) {
    if (d->rank == 0) {
        int rc = d->get_id(id);
        if (rc) return nccl_fail(d, e, "ncclGetUniqueId", rc);
        return atomic_write_file(path, id, sizeof *id, e);
    }
    return dist_read_id(path, id, sizeof *id, d->rank, timeout_s, e);
}

mrl_dist *dist_init(const mrl_backend *be, const char *id_path, double timeout_s, mrl_err *e) {
    mrl_dist *d = calloc(1, sizeof *d);
    if (!d) { err_set(e, 3, "out of memory"); return NULL; }
    d->be = be;
    if (dist_env(&d->rank, &d->world, &d->local, e)) { free(d); return NULL; }
    if (d->world == 1) return d;
#ifdef DIST_HAVE_CUDA
    if (be->kind != MRL_DEV_CUDA) { err_set(e, 2, "data parallel (world %d) needs --device cuda", d->world); free(d); return NULL; }
    nccl_id id;
    if (load_nccl(d, e) || exchange_id(d, id_path, timeout_s, &id, e)) { dist_free(d); return NULL; }
    int rc = d->init_rank(&d->comm, d->world, id, d->rank);
    if (rc) {   /* the id is spent: a later launch with this job key must not read it */
        nccl_fail(d, e, "ncclCommInitRank", rc); d->comm = NULL;
        if (d->rank == 0) unlink(id_path);
        dist_free(d); return NULL;
    }
    d->hbuf = be_alloc(be, 64 * sizeof(double));
    if (d->rank == 0) unlink(id_path);   /* every rank has joined; the id is spent */
    if (!d->hbuf) { err_set(e, 3, "out of device memory (the all-reduce's scalar buffer)"); dist_free(d); return NULL; }
    return d;
#else
    (void)id_path; (void)timeout_s; (void)exchange_id;
    err_set(e, 2, "data parallel (world %d) needs a CUDA build (make CUDA=1)", d->world);
    free(d);
    return NULL;
#endif
}

int dist_allreduce_sum(mrl_dist *d, float *buf, size_t n, mrl_err *e) {
    if (!d || d->world == 1 || !n) return 0;
#ifdef DIST_HAVE_CUDA
    int rc = d->all_reduce(buf, buf, n, NCCL_FLOAT32, NCCL_SUM, d->comm, cuda_backend_stream(d->be));
    if (rc) return nccl_fail(d, e, "ncclAllReduce", rc);
    return 0;
#else
    (void)buf; return err_set(e, 3, "no NCCL in this build");
#endif
}

int dist_allreduce_host(mrl_dist *d, double *vals, int n, mrl_err *e) {
    if (!d || d->world == 1 || n <= 0) return 0;
    if (n > 64) return err_set(e, 3, "dist_allreduce_host: at most 64 values");
#ifdef DIST_HAVE_CUDA
    be_upload(d->be, d->hbuf, vals, (size_t)n * sizeof(double));
    int rc = d->all_reduce(d->hbuf, d->hbuf, (size_t)n, NCCL_FLOAT64, NCCL_SUM, d->comm, cuda_backend_stream(d->be));
    if (rc) return nccl_fail(d, e, "ncclAllReduce", rc);
    be_download(d->be, vals, d->hbuf, (size_t)n * sizeof(double));
    return 0;
#else
    (void)vals; return err_set(e, 3, "no NCCL in this build");
#endif
}

void dist_free(mrl_dist *d) {
    if (!d) return;
    if (d->comm && d->destroy) d->destroy(d->comm);
    if (d->hbuf) be_free(d->be, d->hbuf);
    if (d->lib) dlclose(d->lib);
    free(d);
}

int dist_allreduce_grads(mrl_dist *d, struct mrl_model *m, mrl_err *e) {
    if (!d || d->world == 1) return 0;
    mrl_param *ps;
    int np = model_params(m, &ps);
    for (int i = 0; i < np; i++) {
        if (dist_allreduce_sum(d, ps[i].g, ps[i].numel, e)) return -1;
        op_scale(model_backend(m), ps[i].g, ps[i].numel, 1.0f / (float)d->world);
    }
    return 0;
}

/* The launcher's stop signals (cli_signals' own): while it copies standard input they end the
 * copy; once the ranks run they are forwarded to every rank, which stops as it would alone (a
 * rank that also got it from the terminal takes the echo within a second as the same stop). */
static const int spawn_sigs[] = {SIGINT, SIGTERM, SIGHUP};
static volatile sig_atomic_t spawn_stop;
static pthread_t spawn_thread;   /* the launcher's: the one that blocks the stop signals */
/* A process-directed signal goes to a thread that does not block it: the launcher's thread
 * blocks the stop signals but in ppoll and sigwaitinfo, so one that came while it was busy went
 * to a thread a library started (OpenBLAS's pool, when it was linked and started at load), whose
 * handler set the flag after the launcher had checked it: the launcher then waited in ppoll for
 * input that never came, or never forwarded the signal to the ranks. Handed to the launcher's
 * thread, it is pending there until ppoll or sigwaitinfo takes it. (pthread_kill and
 * pthread_self are async-signal-safe, POSIX.1-2008 TC1.) */
static void spawn_on_signal(int sig) {
    if (!spawn_stop) spawn_stop = sig;
    if (!pthread_equal(pthread_self(), spawn_thread)) pthread_kill(spawn_thread, sig);
}
double dist_spawn_grace_s = 30;

/* stdin → a temporary file (path written to tmp); 0, 1 when a stop signal came (the copy
 * removed), or -1 with e set. The stop signals (stops) are blocked but while ppoll waits for
 * input, so that one cannot come between the check of spawn_stop and a read that would then
 * wait for more input. */
static int stdin_copy(int fd, const sigset_t *open_mask, char *tmp, mrl_err *e) {
    char buf[1 << 16];
    for (;;) {   /* a read error is not the end of the input: the ranks would train on part of it */
        if (spawn_stop) return 1;
        struct pollfd pf = {0, POLLIN, 0};
        if (ppoll(&pf, 1, NULL, open_mask) < 0) {
            if (errno == EINTR) continue;
            return err_set(e, 3, "<stdin>: poll: %s", strerror(errno));
        }
        ssize_t k = read(0, buf, sizeof buf);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return err_set(e, 1, "<stdin>: read error: %s", strerror(errno));
        if (k == 0) return 0;
        for (ssize_t done = 0; done < k;) {
            ssize_t w = write(fd, buf + done, (size_t)(k - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return err_set(e, 3, "%s: %s", tmp, strerror(errno));
            done += w;
        }
    }
}
static int stdin_to_file(char *tmp, size_t cap, const sigset_t *stops, mrl_err *e) {
    const char *td = getenv("TMPDIR");
    snprintf(tmp, cap, "%s/mrl-stdin-XXXXXX", td && *td ? td : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0) return err_set(e, 3, "%s: %s", tmp, strerror(errno));
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, stops, &old);
    int rc = stdin_copy(fd, &old, tmp, e);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) { close(fd); unlink(tmp); return rc; }
    if (close(fd) < 0) { int er = errno; unlink(tmp); return err_set(e, 3, "%s: %s", tmp, strerror(er)); }
    return 0;
}
static void signal_ranks(const pid_t *pid, int n, int sig) {
    for (int r = 0; r < n; r++) if (pid[r] > 0) kill(pid[r], sig);
}

int dist_spawn(int argc, char **argv, int first_operand, int n, mrl_err *e) {
    if (n < 1 || n > 1024) return err_set(e, 2, "--gpus: %d is not between 1 and 1024", n), 2;
    if (first_operand < 1 || first_operand > argc) first_operand = argc;
    /* standard input is the ranks' input where no FILE is named or one is "-": each rank would
       read its own part of a shared pipe (or of a file's shared offset), so a copy goes to each */
    int copy_stdin = first_operand == argc;
    for (int i = first_operand; i < argc; i++) copy_stdin |= !strcmp(argv[i], "-");
    /* the stop signals are caught from here (not where ignored, as under nohup) and, while the
       ranks run, blocked and taken by sigtimedwait with SIGCHLD: no exit or signal is missed
       between a check and a wait; SIGCHLD is the default one while the ranks run (inherited
       ignored, the kernel would reap them and wait could not see a failure) */
    const int ns = (int)(sizeof spawn_sigs / sizeof spawn_sigs[0]);
    struct sigaction old_act[sizeof spawn_sigs / sizeof spawn_sigs[0]], old_chld, sa;
    sigset_t set, stops, old_mask;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sigemptyset(&set);
    sigemptyset(&stops);
    sigaddset(&set, SIGCHLD);
    spawn_stop = 0;
    spawn_thread = pthread_self();
    for (int i = 0; i < ns; i++) {
        sigaction(spawn_sigs[i], NULL, &old_act[i]);
        if (old_act[i].sa_handler == SIG_IGN) continue;
        sa.sa_handler = spawn_on_signal;   /* no SA_RESTART: the copy's ppoll returns EINTR */
        sigaction(spawn_sigs[i], &sa, NULL);
        sigaddset(&set, spawn_sigs[i]);
        sigaddset(&stops, spawn_sigs[i]);
    }
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, &old_chld);
    char tmp[4096] = "";
    int rc = 0;
    if (copy_stdin && (rc = stdin_to_file(tmp, sizeof tmp, &stops, e)) != 0) { rc = rc < 0 ? e->code : 128 + spawn_stop; tmp[0] = 0; goto restore; }
    /* this thread's mask: the launcher runs before mgrpo starts a thread (a process-directed
       signal could go to another thread that does not block it) */
    pthread_sigmask(SIG_BLOCK, &set, &old_mask);
    if (spawn_stop) { rc = 128 + spawn_stop; goto unblock; }   /* came after the copy */
    pid_t *pid = calloc((size_t)n, sizeof *pid);
    char **av = calloc((size_t)argc + 4, sizeof *av);
    if (!pid || !av) { free(pid); free(av); err_set(e, 3, "out of memory"); rc = 3; goto unblock; }
    char job[64], num[16], dev[32];
    snprintf(job, sizeof job, "gpus-%ld-%ld", (long)getpid(), (long)time(NULL));
    /* getopt has put the options first: "--device cuda:RANK" goes after them (it overrides one
       given) and before a "--" that ends them, which would make it a FILE */
    int opt_end = first_operand > 1 && !strcmp(argv[first_operand - 1], "--") ? first_operand - 1 : first_operand;
    int started = 0, fwd = 0, stopping = 0;   /* fwd: the first signal forwarded; stopping: the ranks were asked to stop (1), again (2), killed (3) */
    for (int r = 0; r < n; r++) {
        pid[r] = fork();
        if (pid[r] < 0) {   /* the ranks started cannot form the world: stopped as after a failure */
            err_set(e, 3, "fork: %s", strerror(errno));
            pid[r] = 0; rc = 3;
            break;
        }
        if (pid[r] == 0) {
            for (int i = 0; i < ns; i++) sigaction(spawn_sigs[i], &old_act[i], NULL);
            sigaction(SIGCHLD, &old_chld, NULL);
            pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
            snprintf(num, sizeof num, "%d", r); setenv("MRL_RANK", num, 1); setenv("MRL_LOCAL_RANK", num, 1);
            snprintf(num, sizeof num, "%d", n); setenv("MRL_WORLD", num, 1);
            setenv("MRL_JOB", job, 1);
            snprintf(dev, sizeof dev, "cuda:%d", r);
            int k = 0, stdin_named = 0;
            for (int i = 0; i < opt_end; i++) av[k++] = argv[i];
            av[k++] = "--device"; av[k++] = dev;
            for (int i = opt_end; i < argc; i++) {
                int dash = i >= first_operand && !strcmp(argv[i], "-");
                /* the first "-" reads the copy; a later one finds standard input at its end, as in one process */
                av[k++] = !dash ? argv[i] : stdin_named++ ? "/dev/null" : tmp;
            }
            if (copy_stdin && !stdin_named) av[k++] = tmp;
            av[k] = NULL;
            if (r > 0) { int fd = open("/dev/null", O_WRONLY); if (fd >= 0) { dup2(fd, 1); close(fd); } }
            execv("/proc/self/exe", av);
            fprintf(stderr, "%s: cannot start rank %d: %s\n", argv[0], r, strerror(errno));
            _exit(127);
        }
        started++;
    }
    if (rc) { signal_ranks(pid, n, SIGTERM); stopping = 1; }
    struct timespec t_stop = {0, 0}, now;
    if (stopping) clock_gettime(CLOCK_MONOTONIC, &t_stop);
    for (int left = started; left > 0;) {
        for (int r = 0; r < n; r++) {   /* only the ranks are waited for: no other child's exit is theirs */
            int st;
            if (pid[r] <= 0 || waitpid(pid[r], &st, WNOHANG) != pid[r]) continue;
            pid[r] = 0; left--;
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            if (code && !rc) {   /* the others would wait for this one in a collective forever */
                rc = code;
                /* not a rank's stop on a forwarded signal: the others are stopping too, rank 0
                   maybe writing its last checkpoint */
                if (!stopping && !(fwd && code == 128 + fwd)) { signal_ranks(pid, n, SIGTERM); stopping = 1; clock_gettime(CLOCK_MONOTONIC, &t_stop); }
            }
        }
        if (!left) break;
        siginfo_t si;
        int sig;
        if (stopping && stopping < 3) {   /* a rank blocked in a collective never reaches its stop */
            clock_gettime(CLOCK_MONOTONIC, &now);
            double due = stopping * dist_spawn_grace_s - ((now.tv_sec - t_stop.tv_sec) + 1e-9 * (now.tv_nsec - t_stop.tv_nsec));
            if (due <= 0) { signal_ranks(pid, n, stopping == 1 ? SIGTERM : SIGKILL); stopping++; continue; }
            struct timespec to = {(time_t)due, (long)((due - (double)(time_t)due) * 1e9)};
            sig = sigtimedwait(&set, &si, &to);
        } else {   /* at most a second: a rank's SIGCHLD taken (and, its default action, dropped)
                      by another thread of this process while this one was between its waitpid
                      pass and the wait would leave it waiting for good (the CUDA driver's
                      threads, started by cuda_device_count, do not block it) */
            struct timespec to = {1, 0};
            sig = sigtimedwait(&set, &si, &to);
        }
        if (sig > 0 && sig != SIGCHLD) {   /* forwarded: the ranks stop as one process would */
            signal_ranks(pid, n, sig);
            if (!fwd) fwd = sig;
        }
    }
    free(pid); free(av);
unblock:
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
restore:
    sigaction(SIGCHLD, &old_chld, NULL);
    for (int i = 0; i < ns; i++) sigaction(spawn_sigs[i], &old_act[i], NULL);
    if (tmp[0]) unlink(tmp);
    return rc;
}
