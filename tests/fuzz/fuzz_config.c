/* fuzz_config.c — libFuzzer target: arbitrary bytes as a model directory's config.json through
 * config_load (libjq parse, field checks), and what it accepts through config_save and back. */
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
    FILE *f = fopen(p, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    mrl_config c, d;
    mrl_err e = {0};
    if (config_load(&c, dir, &e) == 0) {
        if (config_save(&c, dir, &e) || config_load(&d, dir, &e)) abort();   /* what loads must round-trip */
        if (memcmp(&c, &d, sizeof c)) abort();
        snprintf(p, sizeof p, "%s/generation_config.json", dir);
        unlink(p);
    } else if (!e.msg[0]) abort();
    return 0;
}
