/* fileio.c — see fileio.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include "err.h"
#include "fileio.h"

int file_read(const char *path, size_t max, char **buf, size_t *len) {
    *buf = NULL; *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return errno ? errno : EIO;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    int rc = b ? 0 : ENOMEM;
    while (!rc) {
        if (n == cap) {
            if (max && cap > max) { rc = EFBIG; break; }
            char *nb = realloc(b, 2 * cap + 1);
            if (!nb) { rc = ENOMEM; break; }
            b = nb; cap *= 2;
        }
        errno = 0;
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) rc = errno ? errno : EIO;   /* a directory opens, and reads as EISDIR */
            break;
        }
    }
    fclose(f);
    if (!rc && max && n > max) rc = EFBIG;
    if (rc) { free(b); return rc; }
    b[n] = 0;
    *buf = b; *len = n;
    return 0;
}

int file_load(const char *path, size_t max, char **buf, size_t *len, mrl_err *e) {
    int rc = file_read(path, max, buf, len);
    if (rc == ENOMEM) return err_set(e, 3, "out of memory");
    if (rc == EFBIG) return err_set(e, 1, "%s: larger than %zu bytes", path, max);
    if (rc) return err_set(e, 1, "%s: %s", path, strerror(rc));
    const unsigned char *b = (const unsigned char *)*buf;
    /* a zstd frame, or a skippable one (pzstd's output opens with one), as the record reader tells them */
    if (*len < 4 || !((b[0] == 0x28 && b[1] == 0xB5 && b[2] == 0x2F && b[3] == 0xFD) ||
                      ((b[0] & 0xF0) == 0x50 && b[1] == 0x2A && b[2] == 0x4D && b[3] == 0x18))) return 0;
    ZSTD_DStream *z = ZSTD_createDStream();
    size_t cap = *len * 4 + 4096, n = 0, r = 1;
    char *out = z ? malloc(cap + 1) : NULL;
    ZSTD_inBuffer in = {*buf, *len, 0};
    int full = 0, big = 0;   /* full: the last call filled the output, so zstd may hold more of it */
    while (out && (in.pos < in.size || full)) {
        if (n == cap) {
            if (max && cap > max) { big = 1; break; }
            char *no = realloc(out, 2 * cap + 1);
            if (!no) { free(out); out = NULL; break; }
            out = no; cap *= 2;
        }
        ZSTD_outBuffer o = {out + n, cap - n, 0};
        r = ZSTD_decompressStream(z, &o, &in);
        n += o.pos;
        if (ZSTD_isError(r)) break;
        full = o.pos == o.size;
    }
    ZSTD_freeDStream(z);
    free(*buf);
    *buf = NULL; *len = 0;
    if (!out) return err_set(e, 3, "out of memory");
    if (big || (max && n > max)) { free(out); return err_set(e, 1, "%s: larger than %zu bytes once decompressed", path, max); }
    if (ZSTD_isError(r) || r != 0) { free(out); return err_set(e, 1, "%s: corrupt or truncated zstd data", path); }
    out[n] = 0;
    *buf = out; *len = n;
    return 0;
}
