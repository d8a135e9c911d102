/* fuzz_config.c — libFuzzer target: arbitrary bytes as a model directory's config.json through
 * config_load (libjq parse, field checks), and what it accepts through config_save and back.
 * The bytes after a NUL, if any, are its generation_config.json (bos, eos ids). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model.h"

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_config.XXXXXX");
        if (!mkdtemp(dir)) abort();
    }
    char p[128];
    snprintf(p, sizeof p, "%s/config.json", dir);
    const uint8_t *nul = memchr(data, 0, size);
    size_t n1 = nul ? (size_t)(nul - data) : size;
    FILE *f = fopen(p, "wb");
    if (!f) return 0;
    fwrite(data, 1, n1, f);
    fclose(f);
    snprintf(p, sizeof p, "%s/generation_config.json", dir);
    unlink(p);
    if (nul) {
        if (!(f = fopen(p, "wb"))) return 0;
        fwrite(nul + 1, 1, size - n1 - 1, f);
        fclose(f);
    }
    mrl_config c, d;
    mrl_err e = {0};
    if (config_load(&c, dir, &e) == 0) {
        if (config_save(&c, dir, &e) || config_load(&d, dir, &e)) abort();   /* what loads must round-trip */
        /* config_save always writes torch_dtype (the dtype the weights go out in): what reloads
           names it, whether or not the file loaded did */
        if (!d.dtype_named) abort();
        d.dtype_named = c.dtype_named;
        if (memcmp(&c, &d, sizeof c)) abort();
    } else if (!e.msg[0]) abort();
    return 0;
}
