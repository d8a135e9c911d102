/* model_io.c — host access to a model's parameters wherever the backend keeps them (the
 * CUDA backend holds master weights and gradients in device memory): for tests, checkpoints
 * and tools that must read them on the host. */
#include "model_int.h"

const mrl_backend *model_backend(const mrl_model *m) { return m->be; }

int model_param_download(mrl_model *m, int i, int grad, float *host, mrl_err *e) {
    if (i < 0 || i >= m->np) return err_set(e, 3, "parameter %d out of range", i);
    const float *src = grad ? m->params[i].g : m->params[i].w;
    if (!src) return err_set(e, 3, "%s: no %s on this model", m->params[i].name, grad ? "gradient" : "master weights");
    be_download(m->be, host, src, m->params[i].numel * sizeof(float));
    return 0;
}
