/* dist.c — NCCL data parallel (see dist.h): environment of mpirun/srun/mgrpo --gpus, the unique
 * id through a file (no home-made transport), and all-reduce on the backend's CUDA stream. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
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

static int env_int(const char *name, int *out) {
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    char *end; long v = strtol(s, &end, 10);
    if (*end || v < 0 || v > 1 << 20) return -1;
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
        int r = 0, w = 0, l = 0;
        int hr = env_int(sets[i][0], &r), hw = env_int(sets[i][1], &w), hl = env_int(sets[i][2], &l);
        if (hr < 0 || hw < 0 || hl < 0) return err_set(e, 2, "%s/%s/%s: not a number", sets[i][0], sets[i][1], sets[i][2]);
        if (hr == 0 || hw == 0) continue;
        if (w < 1 || r >= w) return err_set(e, 2, "%s=%d is not below %s=%d", sets[i][0], r, sets[i][1], w);
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
        const char *st = getenv("SLURM_STEP_ID");
        snprintf(key, sizeof key, "%s.%s", s, st ? st : "0"); return key;
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
    for (size_t i = 0; i < 2 && !d->lib; i++) d->lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!d->lib) return err_set(e, 3, "data parallel needs NCCL: cannot load libnccl.so.2 (%s); install NCCL or add its directory to LD_LIBRARY_PATH", dlerror());
    *(void **)&d->get_id = dlsym(d->lib, "ncclGetUniqueId");
    *(void **)&d->init_rank = dlsym(d->lib, "ncclCommInitRank");
    *(void **)&d->all_reduce = dlsym(d->lib, "ncclAllReduce");
    *(void **)&d->destroy = dlsym(d->lib, "ncclCommDestroy");
    *(void **)&d->errstr = dlsym(d->lib, "ncclGetErrorString");
    if (!d->get_id || !d->init_rank || !d->all_reduce || !d->destroy)
        return err_set(e, 3, "libnccl.so.2 lacks the NCCL 2 API");
    return 0;
}

/* Rank 0 publishes the id; the others wait for the file to appear whole (rename is atomic). */
static int exchange_id(mrl_dist *d, const char *path, double timeout_s, nccl_id *id, mrl_err *e) {
    if (d->rank == 0) {
        int rc = d->get_id(id);
        if (rc) return nccl_fail(d, e, "ncclGetUniqueId", rc);
        return atomic_write_file(path, id, sizeof *id, e);
    }
    struct timespec t0, now, nap = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int fd = open(path, O_RDONLY);
        if (fd >= 0) {
            ssize_t n = read(fd, id, sizeof *id);
            close(fd);
            if (n == (ssize_t)sizeof *id) return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) * 1e-9 > timeout_s)
            return err_set(e, 3, "rank %d: no NCCL id appeared in %s after %.0f s (is rank 0 running, and is the directory shared?)",
                           d->rank, path, timeout_s);
        nanosleep(&nap, NULL);
    }
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
    if (rc) { nccl_fail(d, e, "ncclCommInitRank", rc); d->comm = NULL; dist_free(d); return NULL; }
    d->hbuf = be_alloc(be, 64 * sizeof(double));
    if (d->rank == 0) unlink(id_path);   /* every rank has joined; the id is spent */
    if (!d->hbuf) { err_set(e, 3, "out of device memory (the all-reduce's scalar buffer)"); dist_free(d); return NULL; }
    return d;
#else
    (void)id_path; (void)timeout_s; (void)load_nccl; (void)exchange_id;
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

/* stdin → a temporary file (path written to tmp); 0 or -1 with e set */
static int stdin_to_file(char *tmp, size_t cap, mrl_err *e) {
    const char *td = getenv("TMPDIR");
    snprintf(tmp, cap, "%s/mrl-stdin-XXXXXX", td && *td ? td : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0) return err_set(e, 3, "%s: %s", tmp, strerror(errno));
    char buf[1 << 16];
    for (;;) {   /* a read error is not the end of the input: the ranks would train on part of it */
        ssize_t k = read(0, buf, sizeof buf);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) { int er = errno; close(fd); unlink(tmp); return err_set(e, 1, "<stdin>: read error: %s", strerror(er)); }
        if (k == 0) break;
        for (ssize_t done = 0; done < k;) {
            ssize_t w = write(fd, buf + done, (size_t)(k - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) { int er = errno; close(fd); unlink(tmp); return err_set(e, 3, "%s: %s", tmp, strerror(er)); }
            done += w;
        }
    }
    if (close(fd) < 0) { int er = errno; unlink(tmp); return err_set(e, 3, "%s: %s", tmp, strerror(er)); }
    return 0;
}

int dist_spawn(int argc, char **argv, int first_operand, int n, mrl_err *e) {
    if (n < 1 || n > 1024) return err_set(e, 2, "--gpus: %d is not between 1 and 1024", n), 2;
    if (first_operand < 1 || first_operand > argc) first_operand = argc;
    /* standard input is the ranks' input where no FILE is named or one is "-": each rank would
       read its own part of a shared pipe (or of a file's shared offset), so a copy goes to each */
    int copy_stdin = first_operand == argc;
    for (int i = first_operand; i < argc; i++) copy_stdin |= !strcmp(argv[i], "-");
    char tmp[4096] = "";
    if (copy_stdin && stdin_to_file(tmp, sizeof tmp, e)) return 3;
    pid_t *pid = calloc((size_t)n, sizeof *pid);
    char **av = calloc((size_t)argc + 4, sizeof *av);
    if (!pid || !av) { free(pid); free(av); if (tmp[0]) unlink(tmp); return err_set(e, 3, "out of memory"), 3; }
    char job[64], num[16], dev[32];
    snprintf(job, sizeof job, "gpus-%ld-%ld", (long)getpid(), (long)time(NULL));
    /* getopt has put the options first: "--device cuda:RANK" goes after them (it overrides one
       given) and before a "--" that ends them, which would make it a FILE */
    int opt_end = first_operand > 1 && !strcmp(argv[first_operand - 1], "--") ? first_operand - 1 : first_operand;
    for (int r = 0; r < n; r++) {
        pid[r] = fork();
        if (pid[r] < 0) { err_set(e, 3, "fork: %s", strerror(errno)); n = r; break; }
        if (pid[r] == 0) {
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
    }
    int rc = n == 0 ? 3 : 0, left = n;
    while (left > 0) {
        int st; pid_t w = wait(&st);
        if (w < 0) { if (errno == EINTR) continue; break; }
        left--;
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (code && !rc) {
            rc = code;
            for (int r = 0; r < n; r++) if (pid[r] > 0 && pid[r] != w) kill(pid[r], SIGTERM);
        }
        for (int r = 0; r < n; r++) if (pid[r] == w) pid[r] = 0;
    }
    free(pid); free(av);
    if (tmp[0]) unlink(tmp);
    return rc;
}
