/* ops_cuda.h — the CUDA backend's constructor (C linkage): bf16 activations, fp32
 * accumulation, cuBLAS GEMMs, own kernels for the rest. Built only with CUDA=1. */
#ifndef MRL_OPS_CUDA_H
#define MRL_OPS_CUDA_H
#include "ops.h"
#ifdef __cplusplus
extern "C" {
#endif
/* Opens device `ordinal`; fails with a message when no CUDA device is present. */
int cuda_backend_init(mrl_backend *be, int ordinal, mrl_err *e);
/* Number of CUDA devices this process sees (0 when none or no driver). */
int cuda_device_count(void);
/* The backend's CUDA stream (a cudaStream_t), for NCCL calls ordered with its ops. */
void *cuda_backend_stream(const mrl_backend *be);
#ifdef __cplusplus
}
#endif
#endif
