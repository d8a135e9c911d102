/* ops.c — opening a compute backend by name ("cpu", "cuda", "cuda:N", "auto"); the ops
 * themselves dispatch through the backend's table (ops.h), implemented in cpu/ and cuda/. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "ops.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(MRL_CUDA) && defined(__has_include)
#if __has_include("cuda/ops_cuda.h")
#include "cuda/ops_cuda.h"
#define MRL_HAVE_CUDA_OPS 1
#endif
#endif

#ifdef MRL_HAVE_CUDA_OPS
static int host_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
#endif

mrl_backend *be_open(const char *device, int threads, mrl_err *e) {
    const char *d = device ? device : "auto";
    int want_cuda = 0, ordinal = 0;
    if (!strcmp(d, "cpu")) want_cuda = 0;
    else if (!strcmp(d, "auto")) want_cuda = -1;
    else if (!strcmp(d, "cuda")) want_cuda = 1;
    else if (!strncmp(d, "cuda:", 5)) {
        char *end; long n = strtol(d + 5, &end, 10);
        if (end == d + 5 || *end || n < 0 || n > 1023) {
            err_set(e, 2, "--device: \"%s\" is not cpu, cuda, cuda:N or auto", d); return NULL;
        }
        want_cuda = 1; ordinal = (int)n;
    } else { err_set(e, 2, "--device: \"%s\" is not cpu, cuda, cuda:N or auto", d); return NULL; }

    mrl_backend *be = calloc(1, sizeof *be);
    if (!be) { err_set(e, 3, "out of memory"); return NULL; }
    char note[sizeof be->note] = "";
#ifdef MRL_HAVE_CUDA_OPS
    if (want_cuda) {
        mrl_err ce = {0};
        if (cuda_backend_init(be, ordinal, &ce) == 0) {
            /* the host's share (msample's sampling from the logits that come back each step) runs
               on the CPU threads given, as on the CPU backend: it ran on one, B x 151,936 logits a step */
            be->threads = be->threads_max = threads > 0 ? threads : host_threads();
            return be;
        }
        if (want_cuda == 1) { if (e) *e = ce; free(be); return NULL; }
        memset(be, 0, sizeof *be);   /* auto: fall back to the CPU, saying why when a device is there */
        if (ce.code != ERR_USAGE)    /* ERR_USAGE: no device at all, the CPU is simply the machine's */
            snprintf(note, sizeof note, "--device auto: running on the CPU: %.360s", ce.msg);
    }
#else
    (void)ordinal;
    if (want_cuda == 1) {
        free(be);
        err_set(e, 2, "--device %s: this build has no CUDA backend (rebuild with CUDA=1 where nvcc is installed)", d);
        return NULL;
    }
#endif
    if (cpu_backend_init(be, threads, e) != 0) { free(be); return NULL; }
    memcpy(be->note, note, sizeof note);
    return be;
}

void be_close(mrl_backend *be) {
    if (!be) return;
    if (be->ops && be->ops->close) be->ops->close(be);
    free(be);
}
