/* stream.h — record streams: JSON Lines in (plain or zstd by frame magic, several
 * files, line numbers kept), JSON Lines out (zstd unless plain; -o atomic). */
#ifndef MRL_STREAM_H
#define MRL_STREAM_H
#include <stddef.h>
#include <jv.h>
#include "err.h"

typedef struct wr_stream wr_stream;

/* ---- reader ---- */
typedef struct rd_stream rd_stream;
/* paths: n file names ("-" = stdin); n == 0 reads stdin. Files are opened lazily in order. */
rd_stream *rd_open(const char *const *paths, int n, mrl_err *e);
/* Next raw line (without the trailing "\n" or "\r\n"). Returns 1 and sets *line, *len
 * (valid until the next call), 0 at the end of all inputs, -1 on error
 * (truncated/corrupt zstd, read error: the message names the file). Blank lines are skipped. */
int rd_next_line(rd_stream *r, const char **line, size_t *len, mrl_err *e);
/* After an error in an input (cannot open, truncated/corrupt zstd, read error) the rest
 * of that input is abandoned: a caller that goes on (--skip-bad) continues with the next
 * file. Records decoded before the error were all returned. After a bad line (rd_next:
 * invalid JSON) reading simply continues with the next line. */
/* Next record parsed with libjq: 1 and *rec (owned by the caller), 0 at end, -1 on
 * error — invalid JSON or a non-object, named `FILE:LINE: ...`. */
int rd_next(rd_stream *r, jv *rec, mrl_err *e);
/* rd_next's parse step alone: thread-safe (several threads may parse lines at once),
 * 0 and *rec, or -1 with `FILE:LINE: invalid JSON: ...` / `not a JSON object`. */
int rd_parse(const char *s, size_t n, const char *file, long line, jv *rec, mrl_err *e);
/* 1 when the next rd_next_line will not wait on a pipe or terminal (a whole line is
 * buffered, or the input is a regular file): a tool may gather a batch of lines while
 * this holds and process it, without holding back records from a slow upstream. */
int rd_line_ready(const rd_stream *r);
/* 1 when the next rd_next would wait on a pipe or terminal that has nothing to read yet (no
 * whole line buffered, no compressed bytes in hand, poll() says not readable), or, at the end of
 * an input, when the next one is stdin with nothing to read yet or a FIFO; 0 when it would
 * return at once (or reach the end, or open the next regular file). */
int rd_would_block(rd_stream *r);
const char *rd_name(const rd_stream *r);  /* file of the last line read ("<stdin>" for stdin) */
long rd_lineno(const rd_stream *r);       /* its 1-based line number */
/* bytes consumed so far and total bytes of all regular input files (-1 if unknown): for progress/ETA */
long long rd_bytes_read(const rd_stream *r);
long long rd_bytes_total(const rd_stream *r);
void rd_close(rd_stream *r);
/* The raw text of the last line returned (CR/LF stripped, bytes untouched — invalid UTF-8
 * included), valid until the next call: a tool that does not change a record writes this
 * back with wr_put_raw, so the record leaves exactly as it came (libjq would replace
 * invalid UTF-8 by U+FFFD and round large integers to doubles). */
const char *rd_line(const rd_stream *r, size_t *len);
/* Before any read that may wait (a pipe or terminal, not a regular file), flush w: a slow
 * upstream then never holds our already-finished records back from downstream. */
void rd_set_flush(rd_stream *r, wr_stream *w);
/* A read interrupted by a signal while stop() returns non-zero ends the input (rd_next* → 0); so
 * does an open of a FIFO interrupted while it waits for a writer. */
void rd_set_stop(rd_stream *r, int (*stop)(void));
/* keep != 0: rd_next_line returns blank and whitespace-only lines too (texts, one per line,
 * as mtok -r reads them); by default they are skipped (they carry no record). */
void rd_keep_blank(rd_stream *r, int keep);

/* ---- writer ---- */
typedef struct wr_opts {
    const char *path;  /* NULL or "-" = stdout; else written atomically: temp file, fsync, rename
                          (over a symlink's target; a device, FIFO or socket is written directly) */
    int plain;         /* 1 = plain JSON Lines; 0 = zstd; -1 = auto: zstd, except plain when
                          writing stdout and stdout is a terminal (a -o file is zstd) */
    int level;         /* zstd level (default 3 when 0) */
} wr_opts;
wr_stream *wr_open(const wr_opts *o, mrl_err *e);
/* Writes rec as one compact line (field order kept); consumes rec. */
int wr_put(wr_stream *w, jv rec, mrl_err *e);
int wr_put_raw(wr_stream *w, const char *line, size_t len, mrl_err *e);  /* a line, "\n" added */
/* rec, a record read from the line `raw` (rd_line's text) and then changed, written as wr_put
 * would (same fields in the same order) except that each top-level field whose value is still
 * the one raw holds is copied from raw's text: the other fields pass through exactly as they
 * came, where libjq 1.6 would round integers past 2^53 and numbers like 1e400 to doubles and
 * replace ill-formed UTF-8. raw NULL, or a line this cannot take apart (a key given twice):
 * wr_put. Consumes rec. */
int wr_put_from(wr_stream *w, jv rec, const char *raw, size_t len, mrl_err *e);
/* wr_put_from's line (no "\n"), malloc'ed, its length in *n; NULL when out of memory. */
char *rec_text_from(jv rec, const char *raw, size_t len, size_t *n);
/* A number's text as the line raw writes it, when num is the value of raw's top-level field key
 * (a gold answer of 12345678901234567891 keeps its digits, where libjq 1.6 holds the double
 * 12345678901234567000); else num's JSON text (raw or key NULL). Consumes num; a jv string. */
jv rec_number_text(jv num, const char *raw, size_t len, const char *key);
/* Pushes everything written so far to the reader (zstd flush + fflush): call after each
 * record batch / group so downstream stages see records promptly. */
int wr_flush(wr_stream *w, mrl_err *e);
/* Ends the stream: finishes the zstd frame, and for a path fsyncs and renames into place. */
int wr_close(wr_stream *w, mrl_err *e);
/* wr_close's first half: finishes the zstd frame and fsyncs a -o temp file, renaming nothing
 * (nothing may be written after it). A tool writing several files (mfilter --split) syncs them
 * all before it closes any, so that a write error leaves every target as it was. */
int wr_sync(wr_stream *w, mrl_err *e);
/* Abandons the output: a -o temp file is removed, the target is left as it was (a device
 * or FIFO written directly is just closed). */
void wr_abort(wr_stream *w);
/* Removes the temp file of every atomic -o writer still open (async-signal-safe: for a signal
 * handler that ends the process at once). */
void wr_unlink_temps(void);
/* the -o file that wr_close renames into place (which wr_abort leaves unchanged); NULL for
 * stdout and for a device or FIFO written directly, which, like stdout, cannot be left as it was */
const char *wr_path(const wr_stream *w);
/* Whether a and b write one file (their -o temporary files, or what they write directly, are one
 * inode: two -o names that lead to one target, through a link say). */
int wr_same_file(const wr_stream *a, const wr_stream *b);
/* Errors: a closed downstream pipe is code ERR_PIPE (the tool exits 0 quietly);
 * other write errors ERR_SYS. After any write error the stream refuses further writes. */

/* Atomic file helpers used by checkpoints and -o: write to "PATH.tmp.PID", fsync, rename, fsync dir. */
int atomic_write_file(const char *path, const void *data, size_t len, mrl_err *e);
int fsync_dir_of(const char *path);
/* The temporary sibling an atomic write of path goes to first: "PATH.tmp.PID", or, where that
 * name would pass NAME_MAX, "DIR/.mrl-tmp.PID.N" (N counts within the process). */
void atomic_tmp_name(char *dst, size_t n, const char *path);
/* Where path's symbolic links lead, as -o follows them (each link in turn, a dangling one's
 * target too, relative ones against the link's directory; 40 at most): a malloc'd path (path
 * itself when it is no link), NULL when out of memory. */
char *path_follow(const char *path);
/* mkdir -p: path and its missing parents (0777 less the umask); -1 with errno set. */
int path_mkdirs(const char *path);
#endif
