/* modelconfig.c — config.json and generation_config.json of a Qwen2 model directory,
 * read and written through libjq; the parameter count. (Skeleton: being filled in.) */
#include "model.h"

size_t config_nparams(const mrl_config *c) {
    size_t C = c->hidden_size, V = c->vocab_size, F = c->intermediate_size, D = c->head_dim;
    size_t H = c->num_heads, K = c->num_kv_heads;
    size_t layer = 2 * C + (H * D * C + H * D) + 2 * (K * D * C + K * D) + C * H * D + 3 * F * C;
    return V * C + (size_t)c->num_layers * layer + C + (c->tie_word_embeddings ? 0 : V * C);
}
