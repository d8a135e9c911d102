/* OpenBLAS, opened when the CPU backend starts instead of linked into the tools.
 *
 * mrl calls sgemm inside its own OpenMP threads, one slice each (matmul.c, attention.c), so
 * OpenBLAS's own thread pool is of no use to it. A linked OpenBLAS (the pthread build, Debian's
 * default) starts that pool in its constructor, before main can say otherwise: one thread per
 * core but one, each taking a 128 MB work buffer at its start. Under an address-space limit
 * (`ulimit -v`, a batch scheduler's vmem limit) a thread whose buffer did not fit retried for
 * ever at 100 % of a core (OpenBLAS 0.3.21), and the tool, its work done, hung at exit joining
 * it. Opened here with OPENBLAS_NUM_THREADS=1 in the environment, it starts no pool.
 *
 * sgemm takes such a buffer too, on the first call of each that is in flight at once, and keeps
 * it for later calls: under a limit the model had filled, the first product of a step spun the
 * same way. So under a limit on memory (ulimit -v, ulimit -d) the buffers of every thread are
 * taken here, before the model, and a limit that leaves no room for them is an error at once
 * (exit 3). */
#include "cpu.h"
#include "err.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#ifndef MRL_OPENBLAS_SO
#define MRL_OPENBLAS_SO "libopenblas.so.0"
#endif

__typeof__(&cblas_sgemm) cpu_sgemm;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *handle;
static char why[400];

static void open_blas(void) {
    /* the caller's value comes back once OpenBLAS has read it: a child process sees it as set */
    const char *was = getenv("OPENBLAS_NUM_THREADS");
    char *keep = was ? strdup(was) : NULL;
    if (was && !keep) { snprintf(why, sizeof why, "out of memory"); return; }
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    handle = dlopen(MRL_OPENBLAS_SO, RTLD_NOW | RTLD_LOCAL);
    if (keep) setenv("OPENBLAS_NUM_THREADS", keep, 1);
    else unsetenv("OPENBLAS_NUM_THREADS");
    free(keep);
    if (!handle) {
        /* the advice where it is missing, not where it did not fit (ulimit -v: "failed to map
         * segment from shared object") */
        const char *de = dlerror();
        snprintf(why, sizeof why, "cannot open OpenBLAS (%.300s%s)", de ? de : MRL_OPENBLAS_SO,
                 de && strstr(de, "cannot open shared object file") ? "; Debian: apt-get install libopenblas0" : "");
        return;
    }
    void (*set_threads)(int);
    *(void **)&set_threads = dlsym(handle, "openblas_set_num_threads");
    if (set_threads) set_threads(1);   /* where something else had loaded it with a pool */
    *(void **)&cpu_sgemm = dlsym(handle, "cblas_sgemm");
    if (!cpu_sgemm) snprintf(why, sizeof why, "%s has no cblas_sgemm", MRL_OPENBLAS_SO);
}

/* OpenBLAS 0.3.x asks 128 MiB and a page for a buffer (BUFFER_SIZE + FIXED_PAGESIZE; by mmap,
 * then by malloc), whatever the product's size; the probe asks a little more. */
#define BLAS_PROBE (((size_t)128 << 20) + ((size_t)1 << 20))

/* The process's address space or its data (VmSize, VmData), MB */
static unsigned long long vm_mb(const char *field) {
    unsigned long long kb = 0;
    char line[128];
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, field, n) && line[n] == ':') { kb = strtoull(line + n + 1, NULL, 10); break; }
        fclose(f);
    }
    return kb >> 10;
}

/* Takes OpenBLAS's buffers for n calls in flight at once (one per thread): blas_memory_alloc
 * hands out a free slot, allocating its buffer the first time, and blas_memory_free keeps the
 * buffer for the next call. Only under a limit on the address space or the data (ulimit -v,
 * ulimit -d: without one, a buffer's malloc fails only where the kernel refuses to overcommit),
 * and only where this OpenBLAS exports the two. The room is checked first by allocating it
 * ourselves: blas_memory_alloc does not fail, it retries. */
static int warm_buffers(int n, mrl_err *e) {
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int warmed;   /* buffers taken so far (a process may open backends of several sizes) */
    struct rlimit as, data;
    if (getrlimit(RLIMIT_AS, &as)) as.rlim_cur = RLIM_INFINITY;
    if (getrlimit(RLIMIT_DATA, &data)) data.rlim_cur = RLIM_INFINITY;
    if (as.rlim_cur == RLIM_INFINITY && data.rlim_cur == RLIM_INFINITY) return 0;
    void *(*take)(int);
    void (*give)(void *);
    *(void **)&take = dlsym(handle, "blas_memory_alloc");
    *(void **)&give = dlsym(handle, "blas_memory_free");
    if (!take || !give) return 0;
    pthread_mutex_lock(&lock);
    int rc = 0, more = n - warmed;
    if (more > 0) {
        void **p = calloc((size_t)n, sizeof *p);
        int got = 0;
        while (p && got < more && (p[got] = malloc(BLAS_PROBE))) got++;
        for (int i = 0; i < got; i++) free(p[i]);
        if (got < more) {
            /* the limit with the less room left names the cause */
            unsigned long long vs = vm_mb("VmSize"), vd = vm_mb("VmData"),
                               la = as.rlim_cur == RLIM_INFINITY ? ~0ULL : (unsigned long long)as.rlim_cur >> 20,
                               ld = data.rlim_cur == RLIM_INFINITY ? ~0ULL : (unsigned long long)data.rlim_cur >> 20;
            int by_data = ld != ~0ULL && (la == ~0ULL || (ld > vd ? ld - vd : 0) < (la > vs ? la - vs : 0));
            char each[64];
            if (n == 1) snprintf(each, sizeof each, "buffer, 128 MB for its one thread");
            else snprintf(each, sizeof each, "buffers, 128 MB for each of %d threads", n);
            rc = err_set(e, ERR_SYS,
                         "out of memory for OpenBLAS's work %s: %llu MB of the %llu MB of %s that ulimit -%c "
                         "allows are in use (lower --threads or raise the limit)",
                         each, by_data ? vd : vs, by_data ? ld : la, by_data ? "data" : "address space", by_data ? 'd' : 'v');
        } else {
            /* all n buffers at once: the `warmed` taken before are free again, and
             * blas_memory_alloc hands them out first; only the rest are new */
            for (int i = 0; i < n; i++) p[i] = take(0);
            for (int i = 0; i < n; i++)
                if (p[i]) give(p[i]);   /* NULL: past the slots this OpenBLAS was built with, said by it */
            warmed = n;
        }
        free(p);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int cpu_blas_open(int threads, mrl_err *e) {
    pthread_once(&once, open_blas);
    if (!cpu_sgemm) return err_set(e, ERR_SYS, "%s", why);
    return warm_buffers(threads, e);
}
