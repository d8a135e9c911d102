/* gpu.h — what every GPU test shares: whether a CUDA device is there, and NEED_GPU(), which
 * skips a test without one — or fails it under `make test-gpu` (MRL_REQUIRE_GPU=1). */
#ifndef MRL_TEST_GPU_H
#define MRL_TEST_GPU_H
#include <stdlib.h>
#include "../test.h"
#ifdef MRL_CUDA
#include "cuda/ops_cuda.h"
#endif

static int have_gpu(void) {
#ifdef MRL_CUDA
    return cuda_device_count() > 0;
#else
    return 0;
#endif
}
#define NEED_GPU() do { if (!have_gpu()) { if (getenv("MRL_REQUIRE_GPU")) { EXPECTF(0, "no CUDA device (make test-gpu needs one)"); return; } \
    SKIP("no CUDA device or CPU-only build"); } } while (0)
#endif
