/* fuzz_safetensors.c — libFuzzer target: arbitrary bytes as a .safetensors file through
 * st_open (header length, JSON, entries, offsets, overlaps), then reads and the Qwen2 check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = memfd_create("st", 0);
    if (fd < 0) return 0;
    if (size && write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    mrl_err e = {0};
    st_file *f = st_open(path, &e);
    if (f) {
        /* touch every byte the reader vouches for: any out-of-bounds offset shows up in ASan */
        for (int i = 0; i < st_count(f); i++) {
            const st_tensor *t = st_at(f, i);
            if (t->numel <= (1u << 20)) {
                float *buf = malloc((t->numel + 1) * sizeof *buf);
                if (buf && st_read_f32(t, buf, &e) < 0) {
                    volatile unsigned char s = 0;
                    for (size_t k = 0; k < t->nbytes; k++) s ^= ((const unsigned char *)t->data)[k];
                }
                free(buf);
            }
            if (st_find(f, t->name) == NULL) abort();   /* every listed name must be findable */
        }
        mrl_config c = {0};
        c.vocab_size = 4; c.hidden_size = 2; c.intermediate_size = 2; c.num_layers = 1;
        c.num_heads = 1; c.num_kv_heads = 1; c.head_dim = 2;
        st_check_qwen2(f, &c, &e);
        st_metadata(f, "format");
        st_close(f);
    } else if (!e.msg[0]) abort();   /* a refusal must say why */
    close(fd);
    return 0;
}
