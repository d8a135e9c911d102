/* fileio.h — a whole small file read into memory: the one loop behind config.json,
 * tokenizer.json, templates, --system @FILE and the files a checkpoint copies. */
#ifndef MRL_FILEIO_H
#define MRL_FILEIO_H
#include <stddef.h>

/* Reads path whole into *buf (NUL-terminated, *len bytes before the NUL). 0 on success, else
 * an errno value and *buf NULL: the open's or the read's (ENOENT, EISDIR for a directory, ...),
 * EFBIG when the file holds more than max bytes (max 0: no limit), ENOMEM. Callers word the
 * message: strerror(rc) says why. */
int file_read(const char *path, size_t max, char **buf, size_t *len);

struct mrl_err;
/* file_read, then zstd-decompressed when the file starts with a frame, or a skippable frame as
 * pzstd writes first (several frames are one
 * text), as tokenizer.json.zst is read; max bounds the text either way. 0, or -1 with e set
 * naming path: why it could not be read (code 1), "larger than MAX bytes" (1), "corrupt or
 * truncated zstd data" (1), out of memory (3). */
int file_load(const char *path, size_t max, char **buf, size_t *len, struct mrl_err *e);
#endif
