/* stream.c — JSON Lines in and out: the reader decodes plain or zstd input (told apart
 * by the frame magic) into lines; the writer compresses, flushes and renames atomically. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>
#include "jqf.h"
#include "stream.h"

/* ================================ reader ================================ */

struct rd_stream {
    char **paths; int npaths, next;    /* inputs; next = index of the one to open next */
    int fd;                             /* current input, -1 between inputs */
    int fd_ours;                        /* fd was opened here, not stdin: closed after (with stdin
                                           closed a file gets descriptor 0 and must not stay it) */
    int fd_regular;                     /* reads from it never block (no flush needed first) */
    const char *name;                   /* current input for messages */
    long lineno;
    int zstd, zdone, at_eof;            /* zstd input; last frame ended; no more input bytes */
    ZSTD_DCtx *dctx;
    size_t zstep;                       /* compressed bytes the decoder gets next (see rd_fill) */
    int zheld;                          /* the last decode filled the buffer: output may wait in the decoder */
    char *zin; size_t zin_cap, zin_pos, zin_len;
    char *buf; size_t cap, start, end, scan;   /* decoded bytes [start,end); no '\n' in [start,scan) */
    const char *line; size_t line_len;  /* the last line returned */
    long long bytes_read, bytes_total;
    long long decoded;                  /* zstd: decoded bytes so far (progress: the ratio) */
    wr_stream *flush_before_block;      /* written out before a read that may wait */
    int (*stop)(void);                  /* when it returns non-zero, an interrupted read ends input */
    int keep_blank;                     /* rd_keep_blank */
    int stopped;                        /* a signal ended the input: report the end at once */
};

static int rd_raw_read(rd_stream *r, void *dst, size_t n, mrl_err *e);

rd_stream *rd_open(const char *const *paths, int n, mrl_err *e) {
    rd_stream *r = calloc(1, sizeof *r);
    if (!r) { err_set(e, ERR_SYS, "out of memory"); return NULL; }
    static const char *const dash[] = {"-"};
    if (n == 0) { paths = dash; n = 1; }
    r->paths = calloc((size_t)n, sizeof *r->paths);
    r->cap = 1 << 17;
    r->buf = malloc(r->cap);
    r->zin_cap = ZSTD_DStreamInSize();
    r->zin = malloc(r->zin_cap);
    r->dctx = ZSTD_createDCtx();
    if (!r->paths || !r->buf || !r->zin || !r->dctx) { rd_close(r); err_set(e, ERR_SYS, "out of memory"); return NULL; }
    r->npaths = n;
    r->fd = -1;
    r->name = "<stdin>";
    r->bytes_total = 0;
    for (int i = 0; i < n; i++) {
        if (!(r->paths[i] = strdup(paths[i]))) { rd_close(r); err_set(e, ERR_SYS, "out of memory"); return NULL; }
        struct stat st;
        int ok = strcmp(paths[i], "-") == 0 ? fstat(0, &st) : stat(paths[i], &st);
        if (r->bytes_total >= 0 && ok == 0 && S_ISREG(st.st_mode)) r->bytes_total += st.st_size;
        else r->bytes_total = -1;
    }
    return r;
}

void rd_set_flush(rd_stream *r, wr_stream *w) { r->flush_before_block = w; }
void rd_set_stop(rd_stream *r, int (*stop)(void)) { r->stop = stop; }
void rd_keep_blank(rd_stream *r, int keep) { r->keep_blank = keep; }

/* Marks e as a failure of the input itself, not of one record; returns rc. */
static int unreadable(mrl_err *e, int rc) {
    if (e) e->unreadable = 1;
    return rc;
}

/* Whether the n bytes at p (n <= 4) can begin a zstd frame (magic 28 B5 2F FD) or a
 * skippable frame (5X 2A 4D 18): with n = 4, whether they do. */
static int frame_start(const void *p, size_t n) {
    static const unsigned char zmagic[4] = {0x28, 0xB5, 0x2F, 0xFD}, skip[4] = {0x50, 0x2A, 0x4D, 0x18};
    const unsigned char *m = p;
    int z = 1, k = 1;
    for (size_t i = 0; i < n; i++) {
        z &= m[i] == zmagic[i];
        k &= i == 0 ? (m[0] & 0xF0) == 0x50 : m[i] == skip[i];
    }
    return z || k;
}

/* Opens the next input and sniffs its first 4 bytes for the zstd magic (or a skippable frame). */
static int rd_open_next(rd_stream *r, mrl_err *e) {
    const char *p = r->paths[r->next++];
    r->fd_ours = strcmp(p, "-") != 0;
    if (!r->fd_ours) { r->fd = 0; r->name = "<stdin>"; }
    else {
        r->fd = open(p, O_RDONLY);
        r->name = p;
        /* a FIFO's open waits for a writer: a signal then ends the input, as in a blocked read */
        if (r->fd < 0 && errno == EINTR && r->stop && r->stop()) { r->stopped = 1; return 0; }
        if (r->fd < 0) return unreadable(e, err_set(e, ERR_INPUT, "%s: %s", p, strerror(errno)));
    }
    struct stat st;
    r->fd_regular = fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode);
    r->lineno = 0;
    r->at_eof = 0;
    r->start = r->end = r->scan = 0;
    r->zin_pos = r->zin_len = 0;
    /* a short read on a pipe must not spoil the sniff; bytes that begin no frame settle it
       at once (a short first line from a slow writer is not held back for more input) */
    while (r->zin_len < 4 && frame_start(r->zin, r->zin_len)) {
        ssize_t got = rd_raw_read(r, r->zin + r->zin_len, 4 - r->zin_len, e);
        if (got < 0) return -1;
        if (got == 0) { r->at_eof = 1; break; }
        r->zin_len += (size_t)got;
    }
    r->zstd = r->zin_len == 4 && frame_start(r->zin, 4);
    if (r->zstd) { ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only); r->zdone = 1; r->zstep = 4; r->zheld = 0; }
    if (!r->zstd) {   /* the sniffed bytes are text */
        memcpy(r->buf, r->zin, r->zin_len);
        r->end = r->zin_len;
        r->zin_len = 0;
    }
    return 0;
}

static int rd_raw_read(rd_stream *r, void *dst, size_t n, mrl_err *e) {
    if (!r->fd_regular && r->flush_before_block) {
        mrl_err fe = {0};
        if (wr_flush(r->flush_before_block, &fe) < 0) { if (e) *e = fe; return -1; }
    }
    for (;;) {
        ssize_t got = read(r->fd, dst, n);
        if (got >= 0) { r->bytes_read += got; return (int)got; }
        if (errno == EINTR) {
            if (r->stop && r->stop()) { r->stopped = 1; return 0; }
            continue;
        }
        return unreadable(e, err_set(e, ERR_INPUT, "%s: read error: %s", r->name, strerror(errno)));
    }
}

static void rd_close_input(rd_stream *r) {
    if (r->fd >= 0 && r->fd_ours) close(r->fd);
    r->fd = -1;
}

/* Appends more decoded bytes at buf[end]; returns bytes added, 0 at the end of this input. */
static long rd_fill(rd_stream *r, mrl_err *e) {
    if (r->start > 0 && (r->start == r->end || r->end == r->cap)) {  /* slide the partial line down */
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start; r->scan -= r->start; r->start = 0;
    }
    if (r->end == r->cap) {   /* one line fills the buffer: any line length is allowed */
        size_t cap = r->cap * 2;
        char *nb = realloc(r->buf, cap);
        if (!nb) return err_set(e, ERR_SYS, "%s:%ld: line too long for memory", r->name, r->lineno + 1);
        r->buf = nb; r->cap = cap;
    }
    if (!r->zstd) {
        if (r->at_eof) return 0;
        size_t want = r->cap - r->end;
        if (want > 1 << 20) want = 1 << 20;
        int got = rd_raw_read(r, r->buf + r->end, want, e);
        if (got < 0) return -1;
        if (got == 0) { r->at_eof = 1; return 0; }
        r->end += (size_t)got;
        return got;
    }
    for (;;) {
        if (!r->zheld && r->zin_pos == r->zin_len && !r->at_eof) {
            int got = rd_raw_read(r, r->zin, r->zin_cap, e);
            if (got < 0) return -1;
            if (r->stopped) return 0;   /* a signal, not the end: no "truncated" error */
            r->zin_pos = 0; r->zin_len = (size_t)got;
            if (got == 0) r->at_eof = 1;
        }
        if (!r->zheld && r->zin_pos == r->zin_len && r->at_eof) {
            if (!r->zdone) return unreadable(e, err_set(e, ERR_INPUT, "%s: truncated zstd input (the last frame is incomplete)", r->name));
            return 0;
        }
        /* One step of the frame per call (a block, a header): libzstd writes the output of the
           blocks a call decodes but, when a later block of the same call is corrupt, reports no
           position, so their records were lost. Its return value is the input the next step
           needs, with the next block's 3-byte header added to a block's body; output it could
           not hand over is handed over first, with no input. */
        size_t feed = r->zheld ? 0 : r->zin_len - r->zin_pos;
        if (feed > r->zstep) feed = r->zstep;
        ZSTD_inBuffer in = {r->zin, r->zin_pos + feed, r->zin_pos};
        ZSTD_outBuffer out = {r->buf, r->cap, r->end};
        size_t ret = ZSTD_decompressStream(r->dctx, &out, &in);
        if (ZSTD_isError(ret)) {
            if (ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge)   /* zstd --long=N, N > 27 */
                return unreadable(e, err_set(e, ERR_INPUT, "%s: zstd frame with a window above 128 MB (made with zstd --long): "
                                              "decompress it with zstd -d --long=31 first", r->name));
            return unreadable(e, err_set(e, ERR_INPUT, "%s: corrupt zstd input: %s", r->name, ZSTD_getErrorName(ret)));
        }
        r->zdone = ret == 0;   /* 0 = a frame just ended; the context starts the next frame by itself */
        r->zstep = ret == 0 ? 4 : ret > 3 ? ret - 3 : ret;
        r->zheld = ret != 0 && out.pos == out.size;   /* 0: the frame is decoded and flushed, nothing held */
        r->zin_pos = in.pos;
        size_t added = out.pos - r->end;
        r->decoded += (long long)added;
        r->end = out.pos;
        if (added > 0) return (long)added;
        if (out.pos == out.size) return 0;  /* cannot happen: caller made room */
    }
}

int rd_next_line(rd_stream *r, const char **line, size_t *len, mrl_err *e) {
    for (;;) {
        if (r->stopped) return 0;
        if (r->fd < 0) {
            if (r->next >= r->npaths) return 0;
            if (rd_open_next(r, e) < 0) { rd_close_input(r); return -1; }
            if (r->stopped) return 0;
        }
        char *nl = NULL;
        for (;;) {
            nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
            if (nl) break;
            r->scan = r->end;
            /* a signal while a line is still coming (a read of a regular file is not interrupted,
               and one line can be gigabytes): the input ends here, as at an interrupted read;
               reading on kept the first signal waiting for the line's end */
            if (r->stop && r->stop()) { r->stopped = 1; break; }
            long got = rd_fill(r, e);
            if (got < 0) { rd_close_input(r); return -1; }   /* a caller that goes on gets the next input */
            if (got == 0) break;
        }
        if (r->stopped) return 0;   /* a half-read line is not a record */
        size_t n;
        char *s = r->buf + r->start;
        if (nl) {
            n = (size_t)(nl - s);
            r->start = r->scan = (size_t)(nl - r->buf) + 1;
        } else if (r->end > r->start) {   /* the last line has no newline */
            n = r->end - r->start;
            r->start = r->scan = r->end;
        } else {                            /* this input is done: on to the next */
            rd_close_input(r);
            continue;
        }
        r->lineno++;
        /* a UTF-8 byte order mark opening a file (Windows editors write one; `cat a b` puts
         * one mid-stream) is no text: libjq skips it, and a line passed on must not carry it */
        if (r->keep_blank) {   /* a line of text (mtok -r): its characters are the text, so only
                                  a mark opening the file goes, and only the CR of a CRLF ending
                                  (Hugging Face encodes U+FEFF and a CR like any character) */
            if (r->lineno == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3, n -= 3;
            if (n > 0 && s[n - 1] == '\r') n--;
        } else {
            while (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3, n -= 3;   /* every one: a line read,
                                                        written and read again comes back the same (fuzz_stream) */
            while (n > 0 && s[n - 1] == '\r') n--;   /* every CR before the end: a line read, written and
                                                        read again comes back the same (fuzz_stream) */
        }
        size_t i = 0;
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++;
        if (i == n && !r->keep_blank) continue;   /* blank lines carry no record */
        r->line = s; r->line_len = n;
        *line = s; *len = n;
        return 1;
    }
}

/* The length of the JSON number (RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?) that
 * starts s, 0 where none does. */
static size_t json_number_len(const char *s, size_t n) {
    size_t k = 0;
#define DIGITS() while (k < n && s[k] >= '0' && s[k] <= '9') k++
    if (k < n && s[k] == '-') k++;
    if (k < n && s[k] == '0') k++;
    else if (k < n && s[k] >= '1' && s[k] <= '9') { DIGITS(); }
    else return 0;
    if (k < n && s[k] == '.') {
        size_t d = ++k;
        DIGITS();
        if (k == d) return 0;
    }
    if (k < n && (s[k] == 'e' || s[k] == 'E')) {
        k++;
        if (k < n && (s[k] == '+' || s[k] == '-')) k++;
        size_t d = k;
        DIGITS();
        if (k == d) return 0;
    }
#undef DIGITS
    return k;
}

/* White space and the structural characters: what ends a token outside strings. */
static inline int is_sep(char c) {
    return c == ' ' || c == ',' || c == ']' || c == ':' || c == '[' || c == '{' || c == '}' || c == '\t' || c == '\r';
}

/* The offset of the first token outside the strings of a line libjq parsed that is neither
 * true, false, null nor a JSON number (n where none), its length in *len. libjq 1.6 reads
 * what strtod reads: nan, NaN, -nan, inf and Infinity (a NaN written back as null: a record's
 * "id": NaN became "id": null two stages later), and +1, 01, .5 and 1. (which a tool passing
 * the line on unchanged would hand to a stricter reader). Strings are skipped with memchr. */
static size_t non_json_token(const char *s, size_t n, size_t *len) {
    size_t i = 0;
    while (i < n) {
        const char *q = memchr(s + i, '"', n - i);
        size_t end = q ? (size_t)(q - s) : n;
        for (size_t k = i; k < end;) {
            if (is_sep(s[k])) { k++; continue; }
            size_t t = k + json_number_len(s + k, end - k);
            if (t == k || (t < end && !is_sep(s[t]))) {   /* not a number, or more after one */
                while (t < end && !is_sep(s[t])) t++;
                size_t tl = t - k;
                if (!((tl == 4 && !memcmp(s + k, "true", 4)) || (tl == 5 && !memcmp(s + k, "false", 5)) ||
                      (tl == 4 && !memcmp(s + k, "null", 4)))) {
                    *len = tl;
                    return k;
                }
            }
            k = t;
        }
        if (!q) break;
        for (size_t j = end + 1;;) {   /* the string's closing quote: one after an even run of backslashes */
            const char *c = memchr(s + j, '"', n - j);
            if (!c) return n;
            size_t p = (size_t)(c - s), bs = 0;
            while (p - bs > end + 1 && s[p - bs - 1] == '\\') bs++;
            if (bs % 2 == 0) { i = p + 1; break; }
            j = p + 1;
        }
    }
    return n;
}

int rd_parse(const char *s, size_t n, const char *file, long line, jv *rec, mrl_err *e) {
    if (n > INT_MAX) return err_set(e, ERR_INPUT, "%s:%ld: line longer than 2 GiB", file, line);
    /* JSON allows no raw control character but its white space (tab, CR; LF ends the line).
       libjq lets some through: in a string U+0000 and U+001F (its test is c > 0 && c < 0x1f),
       between tokens any isspace() byte (vertical tab, form feed), and U+001E it takes for the
       record separator of JSON text sequences (RFC 7464) even without --seq, which ends the
       parse ('{"a":1}<RS>{"b":2}' read as {"a":1} alone). A line passed on as it came would be
       JSON no other reader takes, so none of them is read. Eight bytes at a time: every line
       goes through here. */
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i += 8) {
        if (i + 8 <= n) {   /* a word with no byte below 0x20 (the usual case) is skipped whole */
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!((w - 0x2020202020202020ull) & ~w & 0x8080808080808080ull)) continue;
        }
        for (size_t k = i; k < n && k < i + 8; k++)
            if ((unsigned char)s[k] < 0x20 && s[k] != '\t' && s[k] != '\r') { bad = k; break; }
    }
    if (bad == 0 && line == 1 && n >= 2 && (unsigned char)s[1] == 0x8b && s[0] == 0x1f)   /* the gzip magic */
        return err_set(e, ERR_INPUT, "%s:1: gzip data, not JSON Lines: the tools read plain or zstd "
                       "(gunzip it, or zcat it into the tool)", file);
    /* UTF-16 (what Windows PowerShell's > writes): a byte order mark FF FE or FE FF, or ASCII
       with a NUL byte after or before each character */
    const unsigned char *u = (const unsigned char *)s;
    if (bad < n && line == 1 && n >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF) ||
                                           (u[0] && !u[1]) || (!u[0] && u[1])))
        return err_set(e, ERR_INPUT, "%s:1: UTF-16 text, not UTF-8: the tools read UTF-8 JSON Lines "
                       "(convert it: iconv -f UTF-16 -t UTF-8)", file);
    if (bad < n)
        return err_set(e, ERR_INPUT, "%s:%ld: invalid JSON: control character U+%04X at column %zu must be escaped",
                       file, line, (unsigned)(unsigned char)s[bad], bad + 1);
    jv v = jv_parse_sized(s, (int)n);
    if (!jv_is_valid(v)) {
        char why[256];
        return err_set(e, ERR_INPUT, "%s:%ld: invalid JSON: %s", file, line, jv_parse_error(v, "parse error", why, sizeof why));
    }
    size_t tlen = 0, tok = non_json_token(s, n, &tlen);
    if (tok < n) {
        int nonfinite = 0;
        for (size_t k = tok; k < tok + tlen; k++) nonfinite |= isalpha((unsigned char)s[k]) && s[k] != 'e' && s[k] != 'E';
        err_set(e, ERR_INPUT, "%s:%ld: invalid JSON: '%.*s%s' at column %zu is not a JSON number (%s)",
                file, line, tlen > 16 ? 16 : (int)tlen, s + tok, tlen > 16 ? "..." : "", tok + 1,
                nonfinite ? "JSON has no NaN or Infinity" : "JSON numbers have no + sign or leading zero, and digits on both sides of a point");
        jv_free(v);
        return -1;
    }
    if (jv_get_kind(v) != JV_KIND_OBJECT) {
        err_set(e, ERR_INPUT, "%s:%ld: not a JSON object (a record must be {...}, got %s)",
                file, line, jv_kind_name(jv_get_kind(v)));
        jv_free(v);
        return -1;
    }
    *rec = v;
    return 0;
}

int rd_next(rd_stream *r, jv *rec, mrl_err *e) {
    const char *s; size_t n;
    int got = rd_next_line(r, &s, &n, e);
    if (got <= 0) return got;
    return rd_parse(s, n, r->name, r->lineno, rec, e) < 0 ? -1 : 1;
}

int rd_line_ready(const rd_stream *r) {
    if (r->stopped || r->fd < 0) return 0;
    if (memchr(r->buf + r->scan, '\n', r->end - r->scan)) return 1;
    /* compressed bytes in hand decode without waiting, and output the decoder holds comes at once */
    if (r->zstd && (r->zin_pos < r->zin_len || r->zheld)) return 1;
    if (!r->fd_regular || r->at_eof) return 0;   /* at its end the next input may be a pipe */
    /* read to its end (the read that says so not made yet): the next read goes on to the next
       input, which may wait (`mfilter a.jsonl -` held a.jsonl's last lines back until stdin
       gave a line, and a signal meanwhile lost them) */
    struct stat st;
    off_t pos = lseek(r->fd, 0, SEEK_CUR);
    return !(pos >= 0 && fstat(r->fd, &st) == 0 && pos >= st.st_size);
}

/* Whether the first read of the next input may wait: stdin with nothing to read yet, or a path
 * that is no regular file (a FIFO: its open waits for a writer, and it cannot be polled first). */
static int rd_next_would_block(const rd_stream *r) {
    if (r->next >= r->npaths) return 0;   /* the end, reported at once */
    const char *p = r->paths[r->next];
    struct stat st;
    if (strcmp(p, "-")) return stat(p, &st) == 0 && !S_ISREG(st.st_mode);   /* missing: an error at once */
    if (fstat(0, &st) == 0 && S_ISREG(st.st_mode)) return 0;
    struct pollfd pf = {.fd = 0, .events = POLLIN};
    return poll(&pf, 1, 0) == 0;
}

int rd_would_block(rd_stream *r) {
    for (;;) {
        if (r->stopped || rd_line_ready(r)) return 0;
        if (r->fd < 0) return rd_next_would_block(r);
        /* a regular file read to its end: what it still holds (a last line without a newline)
           comes at once, then the next input (`msample a.jsonl -` sampled nothing more while
           it waited on stdin, a.jsonl's groups in flight) */
        if (r->fd_regular) return r->end > r->start ? 0 : rd_next_would_block(r);
        struct pollfd p = {.fd = r->fd, .events = POLLIN};   /* a pipe or terminal with no line in hand */
        if (poll(&p, 1, 0) == 0) return 1;
        /* bytes are there, maybe half a line: plain text takes them in now (one read, which does
           not wait) and waits only for a whole line; compressed input decodes in the reader */
        if (r->zstd || r->at_eof) return 0;
        r->scan = r->end;
        mrl_err e = {0};
        if (rd_fill(r, &e) <= 0) return 0;   /* the end or an error: the reader reports it */
    }
}

const char *rd_line(const rd_stream *r, size_t *len) { if (len) *len = r->line_len; return r->line; }
const char *rd_name(const rd_stream *r) { return r->name; }
long rd_lineno(const rd_stream *r) { return r->lineno; }
long long rd_bytes_read(const rd_stream *r) {
    /* read from the files, less what waits in the buffers: 128 KB of read-ahead is a whole
       small input, whose progress would show 100 % at the first record */
    long long held = (long long)(r->end - r->start);   /* text not handed out yet */
    if (r->zstd) {   /* in compressed bytes: those not decoded yet, and the text held at the ratio so far */
        long long in = r->bytes_read - (long long)(r->zin_len - r->zin_pos);
        held = (long long)(r->zin_len - r->zin_pos) + (r->decoded > 0 ? (long long)((double)held * in / r->decoded) : 0);
    }
    return r->bytes_read - held > 0 ? r->bytes_read - held : 0;
}
long long rd_bytes_total(const rd_stream *r) { return r->bytes_total; }

void rd_close(rd_stream *r) {
    if (!r) return;
    rd_close_input(r);
    for (int i = 0; r->paths && i < r->npaths; i++) free(r->paths[i]);
    free(r->paths);
    free(r->buf);
    free(r->zin);
    ZSTD_freeDCtx(r->dctx);
    free(r);
}

/* ================================ writer ================================ */

struct wr_stream {
    int fd;
    char *path, *tmp;           /* -o as given and its temp file; NULL for stdout */
    char *target;               /* the file renamed over: path, or where its symlinks lead */
    int direct;                 /* -o names a device, FIFO or socket: written in place, no temp */
    ZSTD_CCtx *cctx;            /* NULL = plain */
    char *in; size_t in_cap, in_len;    /* text not yet compressed / written */
    char *out; size_t out_cap;          /* compressed bytes */
    int dirty;                  /* something written since the last flush */
    int synced;                 /* wr_sync done: the stream is ended, a -o temp file fsynced */
    int failed;                 /* the first failure's code (ERR_PIPE, ERR_SYS), 0 while none */
};

/* After a failure every write and flush fails again with the same code: a broken pipe met by
 * an earlier flush (say the one before a blocking read) stays a quiet ERR_PIPE. */
static int wr_failed(const wr_stream *w, mrl_err *e) {
    if (w->failed == ERR_PIPE) return err_set(e, ERR_PIPE, "broken pipe");
    return err_set(e, ERR_SYS, "write after an earlier write error");
}

static int wr_write_all(wr_stream *w, const char *p, size_t n, mrl_err *e) {
    while (n > 0) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            w->failed = errno == EPIPE ? ERR_PIPE : ERR_SYS;
            if (errno == EPIPE) return err_set(e, ERR_PIPE, "broken pipe");
            return err_set(e, ERR_SYS, "%s: write error: %s", w->path ? w->path : "<stdout>", strerror(errno));
        }
        p += k; n -= (size_t)k;
    }
    return 0;
}

/* Moves buffered text out: plain → written; zstd → compressed with mode and written. */
static int wr_drain(wr_stream *w, ZSTD_EndDirective mode, mrl_err *e) {
    if (!w->cctx) {
        int rc = wr_write_all(w, w->in, w->in_len, e);
        w->in_len = 0;
        return rc;
    }
    ZSTD_inBuffer in = {w->in, w->in_len, 0};
    for (;;) {
        ZSTD_outBuffer out = {w->out, w->out_cap, 0};
        size_t left = ZSTD_compressStream2(w->cctx, &out, &in, mode);
        if (ZSTD_isError(left)) { w->failed = ERR_SYS; return err_set(e, ERR_SYS, "zstd: %s", ZSTD_getErrorName(left)); }
        if (wr_write_all(w, w->out, out.pos, e) < 0) return -1;
        if (mode == ZSTD_e_continue ? in.pos == in.size : left == 0) break;
    }
    w->in_len = 0;
    return 0;
}

/* A descriptor's path (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N): N, else -1.
 * Such a path names an open descriptor, not a file to replace: `-o /dev/stdout >> log` must
 * append to log, and a pipe's "target" (pipe:[123]) is no path at all. */
static int wr_fd_path(const char *p) {
    int n = -1;
    char c;
    if (!strcmp(p, "/dev/stdout")) return 1;
    if (!strcmp(p, "/dev/stderr")) return 2;
    if (sscanf(p, "/dev/fd/%d%c", &n, &c) == 1 || sscanf(p, "/proc/self/fd/%d%c", &n, &c) == 1) return n;
    return -1;
}

/* -o through a symlink replaces the link's target, not the link: each link is read in turn
 * (a dangling one too: its target is created), relative ones against the link's directory;
 * it stops at a descriptor's path. */
char *path_follow(const char *path) {
    char *p = strdup(path), link[PATH_MAX];
    for (int hops = 0; p && hops < 40 && wr_fd_path(p) < 0; hops++) {   /* a loop of links: wr_open reports ELOOP */
        struct stat st;
        ssize_t n;
        if (lstat(p, &st) < 0 || !S_ISLNK(st.st_mode) || (n = readlink(p, link, sizeof link - 1)) < 0) break;
        link[n] = 0;
        const char *slash = strrchr(p, '/');
        size_t dl = link[0] == '/' || !slash ? 0 : (size_t)(slash - p) + 1;
        char *q = malloc(dl + (size_t)n + 1);
        if (q) { memcpy(q, p, dl); memcpy(q + dl, link, (size_t)n + 1); }
        free(p);
        p = q;
    }
    return p;
}

/* The temporary file of an atomic write of path could not be made (errno): the path given is
 * named, not the temporary one; ENOENT can only mean a missing directory, the name being new. */
static int create_failed(mrl_err *e, const char *path) {
    return err_set(e, ERR_SYS, "%s: cannot create: %s", path, errno == ENOENT ? "no such directory" : strerror(errno));
}

/* Opens what -o names without a temp file: descriptor n (>= 0: its path named one; a copy, so
 * an append stays an append) or an existing device or FIFO (waiting for a FIFO's reader; a
 * signal then ends the wait). */
static int wr_open_direct(wr_stream *w, int n, mrl_err *e) {
    if (n >= 0) w->fd = fcntl(n, F_DUPFD_CLOEXEC, 3);
    else w->fd = open(w->target, O_WRONLY | O_CLOEXEC);
    if (w->fd >= 0) return 0;
    if (errno == EINTR) return err_set(e, ERR_SYS, "%s: interrupted while waiting for a reader", w->path);
    return err_set(e, ERR_SYS, "%s: cannot open: %s", w->path, strerror(errno));
}

/* The temp files of the -o writers now open, for a second signal's hard stop to remove
 * (cli.c): a plain array of pointers that the handler may read at any moment (unlink is
 * async-signal-safe; a slot is set just before its file is created and cleared before the
 * name is freed). */
#define NTEMP 64   /* mfilter --split opens up to 32 at once */
static const char *volatile temps[NTEMP];
static void temp_add(const char *p) {
    for (int i = 0; i < NTEMP; i++) if (!temps[i]) { temps[i] = p; return; }
}
static void temp_del(const char *p) {
    for (int i = 0; i < NTEMP; i++) if (temps[i] == p) temps[i] = NULL;
}
void wr_unlink_temps(void) {
    for (int i = 0; i < NTEMP; i++) { const char *p = temps[i]; if (p) unlink(p); }
}

/* The directory path is in: "." for a bare name, "/" for one at the root. */
static void dir_of(char *dir, size_t n, const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, n, ".");
    else if (slash == path) snprintf(dir, n, "/");
    else snprintf(dir, n, "%.*s", (int)(slash - path), path);
}

/* The existing file path (stat st) is another user's in a sticky directory (/tmp, a shared
 * scratch): the temporary file can be made there, but the rename over path at the very end
 * fails (EPERM), after all the work. Root (CAP_FOWNER) may. */
static int wr_sticky_other(const char *path, const struct stat *st) {
    uid_t me = geteuid();
    if (me == 0 || st->st_uid == me) return 0;
    char dir[PATH_MAX];
    dir_of(dir, sizeof dir, path);
    struct stat ds;
    return stat(dir, &ds) == 0 && (ds.st_mode & S_ISVTX) && ds.st_uid != me;
}

wr_stream *wr_open(const wr_opts *o, mrl_err *e) {
    wr_stream *w = calloc(1, sizeof *w);
    if (!w) { err_set(e, ERR_SYS, "out of memory"); return NULL; }
    w->fd = 1;
    int plain = o->plain;
    if (o->path && strcmp(o->path, "-") != 0) {
        w->fd = -1;   /* not stdout: wr_abort closes only a descriptor of ours */
        w->path = strdup(o->path);
        w->target = path_follow(o->path);
        if (!w->path || !w->target) { wr_abort(w); err_set(e, ERR_SYS, "out of memory"); return NULL; }
        struct stat st;
        int fdn = wr_fd_path(w->target);
        if (fdn < 0 && lstat(w->target, &st) == 0 && S_ISLNK(st.st_mode)) {   /* 40 links on: a loop */
            err_set(e, ERR_SYS, "%s: %s", w->path, strerror(ELOOP));
            wr_abort(w);
            return NULL;
        }
        /* a rename over a device, FIFO or socket would put a plain file in its place (-o /dev/null
         * as root destroys the node; a reader of the FIFO waits forever): open and write it
         * (a socket cannot be opened: that is an error, and the socket stays) */
        int exists = fdn < 0 && stat(w->target, &st) == 0;
        w->direct = fdn >= 0 || (exists && !S_ISREG(st.st_mode));
        if (w->direct) {
            if (wr_open_direct(w, fdn, e) < 0) { wr_abort(w); return NULL; }
        } else {
            if (exists && wr_sticky_other(w->target, &st)) {
                err_set(e, ERR_SYS, "%s: cannot replace: it belongs to another user, in a directory with the sticky bit "
                        "(as /tmp), where only its owner can rename over it", w->path);
                wr_abort(w);
                return NULL;
            }
            size_t n = strlen(w->target) + 32;
            if (!(w->tmp = malloc(n))) { wr_abort(w); err_set(e, ERR_SYS, "out of memory"); return NULL; }
            atomic_tmp_name(w->tmp, n, w->target);
            temp_add(w->tmp);   /* before it exists: a hard stop in between removes it too (the name is ours: PID) */
            w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
            if (w->fd < 0) {
                create_failed(e, w->target);
                temp_del(w->tmp); free(w->tmp); w->tmp = NULL; wr_abort(w);
                return NULL;
            }
            /* the file replaced keeps its permission bits: a private (0600) output stays private */
            if (exists && fchmod(w->fd, st.st_mode & 07777) < 0) { /* the umask's mode stands */ }
        }
        if (plain < 0) plain = 0;   /* a file is not a terminal: zstd unless -Z */
    } else if (plain < 0) {
        plain = isatty(1);
    }
    w->in_cap = 1 << 17;
    w->in = malloc(w->in_cap);
    if (!plain) {
        w->cctx = ZSTD_createCCtx();
        w->out_cap = ZSTD_CStreamOutSize();
        w->out = malloc(w->out_cap);
        if (w->cctx) {
            ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, o->level ? o->level : 3);
            /* a content checksum, as the zstd CLI writes by default: libzstd's reader (ours,
               zstd -d) then tells a flipped bit from data (without it, truncation only) */
            ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
        }
        if (!w->cctx || !w->out) { wr_abort(w); err_set(e, ERR_SYS, "out of memory"); return NULL; }
    }
    if (!w->in) { wr_abort(w); err_set(e, ERR_SYS, "out of memory"); return NULL; }
    return w;
}

int wr_put_raw(wr_stream *w, const char *line, size_t len, mrl_err *e) {
    if (w->failed) return wr_failed(w, e);
    w->dirty = 1;
    if (w->in_len + len + 1 > w->in_cap) {
        if (wr_drain(w, ZSTD_e_continue, e) < 0) return -1;
        if (len + 1 > w->in_cap) {   /* a huge line goes straight through */
            if (!w->cctx) {
                if (wr_write_all(w, line, len, e) < 0) return -1;
                return wr_write_all(w, "\n", 1, e);
            }
            ZSTD_inBuffer in = {line, len, 0};
            while (in.pos < in.size) {
                ZSTD_outBuffer out = {w->out, w->out_cap, 0};
                size_t r = ZSTD_compressStream2(w->cctx, &out, &in, ZSTD_e_continue);
                if (ZSTD_isError(r)) { w->failed = ERR_SYS; return err_set(e, ERR_SYS, "zstd: %s", ZSTD_getErrorName(r)); }
                if (wr_write_all(w, w->out, out.pos, e) < 0) return -1;
            }
            w->in[w->in_len++] = '\n';
            return 0;
        }
    }
    memcpy(w->in + w->in_len, line, len);
    w->in_len += len;
    w->in[w->in_len++] = '\n';
    return 0;
}

int wr_put(wr_stream *w, jv rec, mrl_err *e) {
    jv s = jv_dump_string(rec, 0);   /* flags 0: compact, keys in insertion order */
    int rc = wr_put_raw(w, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)), e);
    jv_free(s);
    return rc;
}

/* ---- records written over their input line ---- */
static size_t js_ws(const char *s, size_t i, size_t n) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
    return i;
}
/* The end of the string whose opening quote is at i (one past its closing quote); n if none. */
static size_t js_str(const char *s, size_t i, size_t n) {
    for (i++; i < n; i++) {
        if (s[i] == '\\') i++;
        else if (s[i] == '"') return i + 1;
    }
    return n;
}
/* The end of the value starting at i (a string, an object or array with everything in it, or a
 * literal up to the next delimiter); n if it runs off the line. */
static size_t js_val(const char *s, size_t i, size_t n) {
    if (i >= n) return n;
    if (s[i] == '"') return js_str(s, i, n);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        for (; i < n; i++) {
            if (s[i] == '"') { i = js_str(s, i, n) - 1; continue; }
            if (s[i] == '{' || s[i] == '[') depth++;
            else if ((s[i] == '}' || s[i] == ']') && --depth == 0) return i + 1;
        }
        return n;
    }
    while (i < n && !strchr(",}] \t\r\n", s[i])) i++;
    return i;
}

typedef struct { size_t k0, k1, v0, v1; } js_member;   /* key (quotes included) and value spans */

/* raw's top-level members (at most cap), -1 when raw is not an object this can take apart. */
static int js_members(const char *s, size_t n, js_member *m, int cap) {
    size_t i = js_ws(s, 0, n);
    if (i >= n || s[i] != '{') return -1;
    i = js_ws(s, i + 1, n);
    if (i < n && s[i] == '}') return js_ws(s, i + 1, n) == n ? 0 : -1;
    for (int k = 0;; k++) {
        if (k >= cap || i >= n || s[i] != '"') return -1;
        m[k].k0 = i; m[k].k1 = i = js_str(s, i, n);
        i = js_ws(s, i, n);
        if (i >= n || s[i] != ':') return -1;
        m[k].v0 = i = js_ws(s, i + 1, n);
        m[k].v1 = i = js_val(s, i, n);
        if (i >= n || i == m[k].v0) return -1;
        i = js_ws(s, i, n);
        if (i < n && s[i] == '}') return js_ws(s, i + 1, n) == n ? k + 1 : -1;
        if (i >= n || s[i] != ',') return -1;
        i = js_ws(s, i + 1, n);
    }
}

/* A key's text as libjq reads it (escapes decoded; ill-formed UTF-8 replaced). */
static jv js_key(const char *s, const js_member *m) {
    if (!memchr(s + m->k0, '\\', m->k1 - m->k0)) return jv_string_sized(s + m->k0 + 1, (int)(m->k1 - m->k0 - 2));
    return jv_parse_sized(s + m->k0, (int)(m->k1 - m->k0));
}

char *rec_text_from(jv rec, const char *raw, size_t len, size_t *n) {
    enum { CAP = 256 };   /* members taken apart; a wider record is dumped whole */
    js_member m[CAP];
    jv keys[CAP];
    int nm = raw && len <= INT_MAX && jv_get_kind(rec) == JV_KIND_OBJECT ? js_members(raw, len, m, CAP) : -1, nk = 0;
    while (nk < nm) {
        jv k = js_key(raw, &m[nk]);
        int ok = jv_get_kind(k) == JV_KIND_STRING;
        for (int j = 0; ok && j < nk; j++) ok = !jv_equal(jv_copy(keys[j]), jv_copy(k));   /* a key given twice */
        keys[nk++] = k;
        if (!ok) nm = -1;   /* keys[0 .. nk) are freed below */
    }
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    if (f && nm < 0) {   /* as wr_put */
        jv d = jv_dump_string(jv_copy(rec), 0);
        fputs(jv_string_value(d), f);
        jv_free(d);
    } else if (f) {   /* rec's members in its order: raw's keys first, where rec kept them; then the new ones */
        int first = 1;
        fputc('{', f);
        jv_object_foreach(rec, key, val) {
            int k = 0;
            while (k < nm && !jv_equal(jv_copy(keys[k]), jv_copy(key))) k++;
            jv kd = jv_dump_string(key, 0);
            fprintf(f, "%s%s:", first ? "" : ",", jv_string_value(kd));
            jv_free(kd);
            if (k < nm && jv_equal(jv_parse_sized(raw + m[k].v0, (int)(m[k].v1 - m[k].v0)), jv_copy(val)))
                fwrite(raw + m[k].v0, 1, m[k].v1 - m[k].v0, f);   /* unchanged: as it came */
            else {
                jv vd = jv_dump_string(jv_copy(val), 0);
                fputs(jv_string_value(vd), f);
                jv_free(vd);
            }
            jv_free(val);
            first = 0;
        }
        fputc('}', f);
    }
    for (int j = 0; j < nk; j++) jv_free(keys[j]);
    jv_free(rec);
    if (!f || fclose(f) != 0) { free(buf); return NULL; }
    *n = blen;
    return buf;
}

jv rec_number_text(jv num, const char *raw, size_t len, const char *key) {
    enum { CAP = 256 };
    js_member m[CAP];
    int nm = raw && key && len <= INT_MAX && jv_get_kind(num) == JV_KIND_NUMBER ? js_members(raw, len, m, CAP) : -1;
    int at = -1;
    for (int k = 0; k < nm; k++) {   /* the last member of that name: the one libjq keeps */
        jv kk = js_key(raw, &m[k]);
        if (jv_get_kind(kk) == JV_KIND_STRING && !strcmp(jv_string_value(kk), key)) at = k;
        jv_free(kk);
    }
    if (at >= 0) {
        const char *v = raw + m[at].v0;
        size_t vn = m[at].v1 - m[at].v0;
        if ((*v == '-' || (*v >= '0' && *v <= '9')) && jv_equal(jv_parse_sized(v, (int)vn), jv_copy(num))) {
            jv_free(num);
            return jv_string_sized(v, (int)vn);
        }
    }
    return jv_dump_string(num, 0);
}

int wr_put_from(wr_stream *w, jv rec, const char *raw, size_t len, mrl_err *e) {
    size_t n = 0;
    char *t = rec_text_from(rec, raw, len, &n);
    if (!t) return err_set(e, ERR_SYS, "out of memory");
    int rc = wr_put_raw(w, t, n, e);
    free(t);
    return rc;
}

int wr_flush(wr_stream *w, mrl_err *e) {
    if (!w->dirty || w->failed) return w->failed ? wr_failed(w, e) : 0;
    w->dirty = 0;
    return wr_drain(w, ZSTD_e_flush, e);
}

int wr_sync(wr_stream *w, mrl_err *e) {
    if (w->synced) return 0;
    int rc = w->failed ? wr_failed(w, e) : wr_drain(w, ZSTD_e_end, e);
    if (rc == 0 && w->tmp && fsync(w->fd) < 0) {
        w->failed = ERR_SYS;
        rc = err_set(e, ERR_SYS, "%s: fsync: %s", w->tmp, strerror(errno));
    }
    if (rc == 0) w->synced = 1;
    return rc;
}

int wr_close(wr_stream *w, mrl_err *e) {
    if (!w) return 0;
    int rc = wr_sync(w, e);
    if (rc == 0 && w->tmp) {
        int fd = w->fd;
        w->fd = -1;   /* released even when close fails: wr_abort must not close the number again */
        if (close(fd) < 0) rc = err_set(e, ERR_SYS, "%s: close: %s", w->tmp, strerror(errno));
        else {
            if (rename(w->tmp, w->target) < 0) {
                /* a temporary file that cannot go either (its directory made read-only meanwhile)
                   is named: the records are there, not silently left under an unknown name */
                int er = errno;
                if (unlink(w->tmp) < 0 && errno != ENOENT)
                    rc = err_set(e, ERR_SYS, "%s: rename: %s (the records stay in %s)", w->path, strerror(er), w->tmp);
                else rc = err_set(e, ERR_SYS, "%s: rename: %s", w->path, strerror(er));
            } else { temp_del(w->tmp); fsync_dir_of(w->target); free(w->tmp); w->tmp = NULL; }
        }
    } else if (w->direct) {
        int fd = w->fd;
        w->fd = -1;
        if (close(fd) < 0 && rc == 0) rc = err_set(e, ERR_SYS, "%s: close: %s", w->path, strerror(errno));
    }
    if (rc < 0) { wr_abort(w); return -1; }
    wr_abort(w);   /* frees; nothing left to remove */
    return 0;
}

void wr_abort(wr_stream *w) {
    if (!w) return;
    if (w->path && w->fd >= 0) close(w->fd);
    if (w->tmp) { unlink(w->tmp); temp_del(w->tmp); }
    free(w->tmp); free(w->path); free(w->target); free(w->in); free(w->out);
    ZSTD_freeCCtx(w->cctx);
    free(w);
}

const char *wr_path(const wr_stream *w) { return w->direct ? NULL : w->path; }

int wr_same_file(const wr_stream *a, const wr_stream *b) {
    struct stat x, y;
    return a->fd >= 0 && b->fd >= 0 && !fstat(a->fd, &x) && !fstat(b->fd, &y) && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* ============================ atomic files ============================ */

void atomic_tmp_name(char *dst, size_t n, const char *path) {
    static unsigned seq;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strlen(base) + 24 <= NAME_MAX) snprintf(dst, n, "%s.tmp.%ld", path, (long)getpid());
    else snprintf(dst, n, "%.*s.mrl-tmp.%ld.%u", (int)(base - path), path, (long)getpid(),
                  __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
}

int path_mkdirs(const char *path) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) { errno = ENAMETOOLONG; return -1; }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) && errno != EEXIST ? -1 : 0;
}

int fsync_dir_of(const char *path) {
    char dir[PATH_MAX];
    dir_of(dir, sizeof dir, path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int atomic_write_file(const char *path, const void *data, size_t len, mrl_err *e) {
    char tmp[PATH_MAX];
    atomic_tmp_name(tmp, sizeof tmp, path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) return create_failed(e, path);
    const char *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) { err_set(e, ERR_SYS, "%s: write error: %s", tmp, strerror(errno)); close(fd); unlink(tmp); return -1; }
        p += k; len -= (size_t)k;
    }
    if (fsync(fd) < 0) { err_set(e, ERR_SYS, "%s: fsync: %s", tmp, strerror(errno)); close(fd); unlink(tmp); return -1; }
    if (close(fd) < 0) { err_set(e, ERR_SYS, "%s: close: %s", tmp, strerror(errno)); unlink(tmp); return -1; }
    if (rename(tmp, path) < 0) { err_set(e, ERR_SYS, "%s: rename: %s", path, strerror(errno)); unlink(tmp); return -1; }
    fsync_dir_of(path);
    return 0;
}
