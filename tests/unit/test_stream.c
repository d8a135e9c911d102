/* test_stream.c — the record stream reader and writer: plain and zstd input (several
 * frames, truncated, corrupt), long lines, CRLF, raw bytes, writer flush, atomic -o. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>
#include "batch.h"
#include "fileio.h"
#include "stream.h"
#include "../test.h"

static char tmpdir[TEST_TMPDIR_MAX];

static const char *tpath(const char *name) {
    static char p[8][PATH_MAX]; static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}
static void put_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}
static char *get_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END); long len = ftell(f); fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    b[*n] = 0;
    fclose(f);
    return b;
}
/* One zstd frame holding text (made with libzstd directly, not with our writer). */
static char *zframe(const char *text, size_t n, size_t *zn) {
    size_t cap = ZSTD_compressBound(n);
    char *z = malloc(cap);
    *zn = ZSTD_compress(z, cap, text, n, 3);
    return z;
}
/* Reads every line of the named files, joined by '\n' (each ended by one). */
static char *read_all(const char *const *paths, int n, int *rc, mrl_err *e, long *last_line) {
    rd_stream *r = rd_open(paths, n, e);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    const char *s; size_t k;
    while ((*rc = rd_next_line(r, &s, &k, e)) == 1) {
        while (len + k + 2 > cap) out = realloc(out, cap *= 2);
        memcpy(out + len, s, k); len += k; out[len++] = '\n';
        if (last_line) *last_line = rd_lineno(r);
    }
    out[len] = 0;
    rd_close(r);
    return out;
}

TEST(plain_crlf_blank_and_unterminated_last_line) {
    const char *p = tpath("a.jsonl");
    put_file(p, "{\"a\":1}\r\n\n   \r\n{\"b\":2}\n{\"c\":3}", 30);
    mrl_err e = {0}; int rc; long last = 0;
    char *got = read_all(&p, 1, &rc, &e, &last);
    EXPECT(rc == 0);
    EXPECTF(!strcmp(got, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n"), "got %s", got);
    EXPECT(last == 5);   /* blank lines are counted, so line numbers match the file */
    free(got);
    /* several CRs before the newline all go (else "x\r\r\n" read as "x\r", written back as
       "x\r\n", would read as "x": found by fuzz_stream) */
    put_file(p, "[1]\r\r\n(x}\r\r\r", 12);
    got = read_all(&p, 1, &rc, &e, &last);
    EXPECTF(!strcmp(got, "[1]\n(x}\n"), "got %s", got);
    free(got);
    /* byte order marks opening a line go, every one (fuzz_stream: one left would come back
       without it on a second read) */
    static const char bom[] = "\xEF\xBB\xBF\xEF\xBB\xBF{\"a\":1}\n\xEF\xBB\xBF{\"b\":2}\n";
    put_file(p, bom, sizeof bom - 1);
    got = read_all(&p, 1, &rc, &e, &last);
    EXPECTF(!strcmp(got, "{\"a\":1}\n{\"b\":2}\n"), "got %s", got);
    free(got);
}

TEST(multi_frame_zstd_and_skippable_frame) {
    const char *a = "{\"n\":1}\n{\"n\":2}\n", *b = "{\"n\":3}\n";
    size_t na, nb;
    char *za = zframe(a, strlen(a), &na), *zb = zframe(b, strlen(b), &nb);
    unsigned char skip[12] = {0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 'j', 'u', 'n', 'k'};
    char *all = malloc(na + nb + sizeof skip + 8);
    memcpy(all, skip, sizeof skip);   /* a skippable frame first: still detected as zstd */
    memcpy(all + sizeof skip, za, na); memcpy(all + sizeof skip + na, zb, nb);
    const char *p = tpath("m.jsonl.zst");
    put_file(p, all, sizeof skip + na + nb);
    mrl_err e = {0}; int rc;
    char *got = read_all(&p, 1, &rc, &e, NULL);
    EXPECTF(rc == 0, "%s", e.msg);
    EXPECTF(!strcmp(got, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n"), "got %s", got);
    free(got); free(za); free(zb); free(all);
}

TEST(truncated_zstd_is_an_error_naming_the_file) {
    static char text[200000];
    size_t n = 0;
    for (int i = 0; n + 40 < sizeof text; i++) n += (size_t)sprintf(text + n, "{\"i\":%d,\"pad\":\"%08x\"}\n", i, i * 2654435761u);
    size_t zn; char *z = zframe(text, n, &zn);
    const char *p = tpath("t.jsonl.zst");
    put_file(p, z, zn - 7);   /* cut inside the frame (last block / checksum) */
    mrl_err e = {0}; int rc;
    char *got = read_all(&p, 1, &rc, &e, NULL);
    EXPECT(rc == -1);
    EXPECTF(strstr(e.msg, "t.jsonl.zst") && strstr(e.msg, "truncated"), "msg: %s", e.msg);
    EXPECT(strlen(got) < n && strncmp(got, text, strlen(got)) == 0);   /* what came out is a prefix */
    free(got); free(z);
}

TEST(corrupt_zstd_is_an_error_naming_the_file) {
    const char *t = "{\"a\":\"hello hello hello hello\"}\n";
    size_t zn; char *z = zframe(t, strlen(t), &zn);
    for (size_t i = 6; i < zn; i++) z[i] ^= 0x5A;
    const char *p = tpath("c.jsonl.zst");
    put_file(p, z, zn);
    mrl_err e = {0}; int rc;
    char *got = read_all(&p, 1, &rc, &e, NULL);
    EXPECT(rc == -1);
    EXPECTF(strstr(e.msg, "c.jsonl.zst") != NULL, "msg: %s", e.msg);
    free(got); free(z);
}

/* A block that cannot be decoded ends the input after every record of the blocks before it:
 * libzstd writes a call's output but reports no position when a later block of the same call
 * fails, so one call spanning many small blocks (a writer that flushes each record) lost
 * them all. */
TEST(corrupt_block_keeps_the_records_before_it) {
    enum { N = 1000, K = 500 };
    ZSTD_CCtx *c = ZSTD_createCCtx();
    size_t cap = 1 << 20, on = 0, at_k = 0;
    unsigned char *z = malloc(cap);
    for (int i = 0; i < N; i++) {
        char line[32];
        int n = sprintf(line, "{\"i\":%d}\n", i);
        if (i == K) at_k = on;   /* each flush is one block: record K's starts here */
        ZSTD_inBuffer in = {line, (size_t)n, 0};
        ZSTD_outBuffer out = {z + on, cap - on, 0};
        while (ZSTD_compressStream2(c, &out, &in, i == N - 1 ? ZSTD_e_end : ZSTD_e_flush) != 0) {}
        on += out.pos;
    }
    ZSTD_freeCCtx(c);
    z[at_k] |= 6;   /* block type 3: reserved, a corrupt block header */
    const char *p = tpath("blocks.zst");
    put_file(p, z, on);
    mrl_err e = {0}; int rc; long last = 0;
    char *got = read_all(&p, 1, &rc, &e, &last);
    EXPECTF(rc == -1 && strstr(e.msg, "blocks.zst: corrupt zstd input"), "rc %d msg %s", rc, e.msg);
    EXPECTF(last == K, "records read before the corrupt block: %ld, expected %d", last, K);
    free(got); free(z);
}

/* A frame without a checksum whose text fills the reader's buffer exactly (1 << 17 bytes) ends
 * with that buffer full: nothing is held then, and the end of the file is the stream's end (it
 * was "truncated zstd input": the full buffer was taken for output held back, and the decoder,
 * asked for it, had begun the next frame). zstd --no-check and files written before mrl set the
 * checksum make such frames. */
TEST(unchecked_frame_filling_the_buffer_ends_cleanly) {
    enum { N = 16384 };   /* "{\"a\":1}\n" is 8 bytes: 131072 */
    char *t = malloc(8 * N);
    for (int i = 0; i < N; i++) memcpy(t + 8 * i, "{\"a\":1}\n", 8);
    size_t zn; char *z = zframe(t, 8 * N, &zn);   /* ZSTD_compress: no checksum */
    EXPECT(zn > 5 && !((unsigned char)z[4] & 4));
    const char *p = tpath("exact.jsonl.zst");
    put_file(p, z, zn);
    mrl_err e = {0}; int rc; long last = 0;
    char *got = read_all(&p, 1, &rc, &e, &last);
    EXPECTF(rc == 0 && last == N, "rc %d, %ld records, %s", rc, last, e.msg);
    free(got); free(z); free(t);
}

/* file_load (tokenizer.json.zst, minit --tokenizer) decompresses a file that opens with a
 * skippable frame, as pzstd writes: it was read as text ("invalid JSON"). */
TEST(file_load_skippable_frame_first) {
    const char *t = "{\"a\":1}";
    size_t zn; char *z = zframe(t, strlen(t), &zn);
    unsigned char skip[12] = {0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
    char *all = malloc(sizeof skip + zn);
    memcpy(all, skip, sizeof skip); memcpy(all + sizeof skip, z, zn);
    const char *p = tpath("tok.json.zst");
    put_file(p, all, sizeof skip + zn);
    char *buf = NULL; size_t len = 0; mrl_err e = {0};
    EXPECTF(file_load(p, 1 << 20, &buf, &len, &e) == 0, "%s", e.msg);
    EXPECTF(buf && len == strlen(t) && !strcmp(buf, t), "got %zu bytes: %.20s", len, buf ? buf : "(null)");
    free(buf); free(all); free(z);
}

TEST(after_a_stream_error_the_next_file_is_read) {
    const char *ok = tpath("ok.jsonl");
    put_file(ok, "{\"x\":1}\n", 8);
    const char *paths[] = {tpath("missing.jsonl"), ok};
    rd_stream *r = rd_open(paths, 2, NULL);
    const char *s; size_t k; mrl_err e = {0};
    EXPECT(rd_next_line(r, &s, &k, &e) == -1);
    EXPECTF(strstr(e.msg, "missing.jsonl") && strstr(e.msg, "No such file"), "msg: %s", e.msg);
    EXPECT(rd_next_line(r, &s, &k, &e) == 1 && k == 7 && !strcmp(rd_name(r), ok) && rd_lineno(r) == 1);
    EXPECT(rd_next_line(r, &s, &k, &e) == 0);
    rd_close(r);
}

static void long_line_case(int zstd) {
    size_t n = 10u << 20;
    char *text = malloc(n + 64);
    memcpy(text, "{\"s\":\"", 6);
    for (size_t i = 6; i < n - 2; i++) text[i] = (char)('a' + i % 26);
    memcpy(text + n - 2, "\"}", 2);
    memcpy(text + n, "\n{\"t\":1}\n", 9);
    const char *p = tpath(zstd ? "long.jsonl.zst" : "long.jsonl");
    if (zstd) { size_t zn; char *z = zframe(text, n + 9, &zn); put_file(p, z, zn); free(z); }
    else put_file(p, text, n + 9);
    rd_stream *r = rd_open(&p, 1, NULL);
    jv rec; mrl_err e = {0};
    EXPECTF(rd_next(r, &rec, &e) == 1, "%s", e.msg);
    size_t len; const char *line = rd_line(r, &len);
    EXPECT(len == n && memcmp(line, text, n) == 0);
    jv s = jv_object_get(rec, jv_string("s"));
    EXPECT(jv_get_kind(s) == JV_KIND_STRING && (size_t)jv_string_length_bytes(jv_copy(s)) == n - 8);
    jv_free(s);
    EXPECT(rd_next(r, &rec, &e) == 1 && rd_lineno(r) == 2);
    jv_free(rec);
    EXPECT(rd_next(r, &rec, &e) == 0);
    rd_close(r);
    free(text);
}
TEST(ten_megabyte_line_plain) { long_line_case(0); }
TEST(ten_megabyte_line_zstd) { long_line_case(1); }

/* A stop asked for (a signal) while a long line is still coming ends the input there, with no
 * record and no error, and reads no further: the first SIGTERM used to wait for the line's end
 * (a read of a regular file is not interrupted), gigabytes later, its buffer growing. */
static int stop_calls;
static int stop_after_two(void) { return ++stop_calls > 2; }
TEST(a_stop_while_a_line_is_coming_ends_the_input) {
    size_t n = 10u << 20;
    char *text = malloc(n);
    memset(text, 'a', n);   /* one unterminated 10 MB line */
    const char *p = tpath("endless.jsonl");
    put_file(p, text, n);
    free(text);
    rd_stream *r = rd_open(&p, 1, NULL);
    rd_set_stop(r, stop_after_two);
    stop_calls = 0;
    const char *line; size_t len; mrl_err e = {0};
    EXPECTF(rd_next_line(r, &line, &len, &e) == 0 && !e.code, "%s", e.msg);
    EXPECTF(rd_bytes_read(r) < (long long)n / 4, "read %lld of %zu bytes after the stop", rd_bytes_read(r), n);
    EXPECT(rd_next_line(r, &line, &len, &e) == 0);
    rd_close(r);
}

TEST(invalid_utf8_passes_through_untouched) {
    const char in[] = "{\"p\":\"caf\xc3\xa9 \xff\xfe bad\",\"n\":12345678901234567890}";
    const char *p = tpath("u.jsonl"), *o = tpath("u.out");
    put_file(p, in, sizeof in - 1);
    rd_stream *r = rd_open(&p, 1, NULL);
    jv rec; mrl_err e = {0};
    EXPECT(rd_next(r, &rec, &e) == 1);   /* libjq parses it (with U+FFFD inside the jv) */
    size_t len; const char *line = rd_line(r, &len);
    EXPECT(len == sizeof in - 1 && memcmp(line, in, len) == 0);
    wr_opts wo = {.path = o, .plain = 1};
    wr_stream *w = wr_open(&wo, &e);
    EXPECT(wr_put_raw(w, line, len, &e) == 0 && wr_close(w, &e) == 0);
    size_t n; char *got = get_file(o, &n);
    EXPECT(n == sizeof in && memcmp(got, in, sizeof in - 1) == 0 && got[n - 1] == '\n');
    free(got); jv_free(rec); rd_close(r);
}

/* Progress counts the bytes handed out, not the read-ahead: a small file is read whole at once. */
TEST(bytes_read_counts_what_was_consumed) {
    const char *t = tpath("progress.jsonl");
    put_file(t, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", 24);
    mrl_err e = {0};
    rd_stream *r = rd_open(&t, 1, &e);
    const char *s; size_t k;
    EXPECT(rd_bytes_total(r) == 24);
    EXPECT(rd_next_line(r, &s, &k, &e) == 1);
    EXPECTF(rd_bytes_read(r) == 8, "after one line of 8 bytes: %lld", rd_bytes_read(r));
    EXPECT(rd_next_line(r, &s, &k, &e) == 1 && rd_next_line(r, &s, &k, &e) == 1);
    EXPECT(rd_bytes_read(r) == 24);
    rd_close(r);
    /* zstd: the compressed bytes, at the ratio of the text handed out (2000 lines, ~2 KB) */
    size_t cap = 1 << 16, n = 0;
    char *txt = malloc(cap);
    for (int i = 0; i < 2000; i++) n += (size_t)snprintf(txt + n, cap - n, "{\"a\":%d}\n", i % 10);
    size_t zc = ZSTD_compressBound(n);
    char *z = malloc(zc);
    size_t zn = ZSTD_compress(z, zc, txt, n, 3);
    const char *tz = tpath("progress.jsonl.zst");
    put_file(tz, z, zn);
    r = rd_open(&tz, 1, &e);
    EXPECT(rd_next_line(r, &s, &k, &e) == 1);
    EXPECTF(rd_bytes_read(r) < (long long)zn / 10, "after 1 line of 2000: %lld of %zu bytes", rd_bytes_read(r), zn);
    for (int i = 1; i < 1000; i++) rd_next_line(r, &s, &k, &e);
    long long half = rd_bytes_read(r);
    EXPECTF(half > (long long)zn / 3 && half < 2 * (long long)zn / 3, "after 1000 lines of 2000: %lld of %zu bytes", half, zn);
    while (rd_next_line(r, &s, &k, &e) == 1) {}
    EXPECT(rd_bytes_read(r) == (long long)zn);
    rd_close(r);
    free(txt); free(z);
}

/* mfilter --split writes up to 32 files at once: the hard stop removes the temp file of each */
TEST(hard_stop_removes_every_open_temp_file) {
    enum { N = 33 };
    wr_stream *w[N];
    char tmp[N][PATH_MAX + 32];
    mrl_err e = {0};
    for (int i = 0; i < N; i++) {
        char name[32]; snprintf(name, sizeof name, "split%02d.jsonl", i);
        const char *t = tpath(name);
        snprintf(tmp[i], sizeof tmp[i], "%s.tmp.%ld", t, (long)getpid());
        wr_opts o = {.path = t, .plain = 1};
        w[i] = wr_open(&o, &e);
        EXPECTF(w[i] && access(tmp[i], F_OK) == 0, "writer %d: %s", i, e.msg);
    }
    wr_unlink_temps();
    int left = 0;
    for (int i = 0; i < N; i++) left += access(tmp[i], F_OK) == 0;
    EXPECTF(left == 0, "%d of %d temp files left", left, N);
    for (int i = 0; i < N; i++) wr_abort(w[i]);
}

TEST(empty_inputs) {
    const char *p = tpath("empty.jsonl"), *z = tpath("empty.zst");
    put_file(p, "", 0);
    size_t zn; char *f = zframe("", 0, &zn);
    put_file(z, f, zn); free(f);
    const char *paths[] = {p, z};
    mrl_err e = {0}; int rc;
    char *got = read_all(paths, 2, &rc, &e, NULL);
    EXPECTF(rc == 0 && got[0] == 0, "rc %d %s", rc, e.msg);
    free(got);
}

TEST(bad_json_names_file_and_line_and_reading_goes_on) {
    const char *p = tpath("bad.jsonl");
    put_file(p, "{\"a\":1}\n{\"a\":\n[1,2]\n{\"b\":2}\n", 28);
    rd_stream *r = rd_open(&p, 1, NULL);
    jv rec; mrl_err e = {0};
    EXPECT(rd_next(r, &rec, &e) == 1); jv_free(rec);
    EXPECT(rd_next(r, &rec, &e) == -1);
    char want[PATH_MAX + 32]; snprintf(want, sizeof want, "%s:2: invalid JSON", p);
    EXPECTF(strncmp(e.msg, want, strlen(want)) == 0 && e.code == ERR_INPUT, "msg: %s", e.msg);
    EXPECT(rd_next(r, &rec, &e) == -1);
    EXPECTF(strstr(e.msg, ":3: not a JSON object") != NULL, "msg: %s", e.msg);
    EXPECT(rd_next(r, &rec, &e) == 1 && rd_lineno(r) == 4); jv_free(rec);
    rd_close(r);
}

TEST(field_order_kept_when_writing_back) {
    const char *in = "{\"zeta\":1,\"alpha\":{\"y\":2,\"b\":[3,{\"q\":1,\"a\":0}]},\"mid\":\"x\",\"drop\":5,\"beta\":null}";
    jv rec = jv_parse(in);
    jv s = jv_dump_string(jv_copy(rec), 0);
    EXPECTF(!strcmp(jv_string_value(s), in), "got %s", jv_string_value(s));
    jv_free(s);
    rec = jv_object_delete(rec, jv_string("drop"));       /* what mfilter --pass-band does */
    rec = jv_object_set(rec, jv_string("pass_rate"), jv_number(0.25));
    rec = jv_object_set(rec, jv_string("zeta"), jv_number(7));   /* replaced in place */
    s = jv_dump_string(rec, 0);
    EXPECTF(!strcmp(jv_string_value(s), "{\"zeta\":7,\"alpha\":{\"y\":2,\"b\":[3,{\"q\":1,\"a\":0}]},\"mid\":\"x\",\"beta\":null,\"pass_rate\":0.25}"),
            "got %s", jv_string_value(s));
    jv_free(s);
}

/* rec_text_from(rec, raw) with rec = raw parsed and then changed by f */
static void text_from_case(const char *raw, jv (*f)(jv), const char *want) {
    jv rec = jv_parse_sized(raw, (int)strlen(raw));
    EXPECTF(jv_is_valid(rec), "%s does not parse", raw);
    size_t n = 0;
    char *t = rec_text_from(f(rec), raw, strlen(raw), &n);
    EXPECT(t != NULL);
    if (!t) return;
    EXPECTF(n == strlen(want) && !memcmp(t, want, n), "%s\n  got  %.*s\n  want %s", raw, (int)n, t, want);
    free(t);
}
static jv as_msample(jv r) {   /* fields set, replaced in place and added, as msample does */
    r = jv_object_set(r, jv_string("sample"), jv_number(0));
    return jv_object_set(r, jv_string("completion"), jv_string("x"));
}
static jv del_b(jv r) { return jv_object_delete(jv_object_set(r, jv_string("c"), jv_number(1e20)), jv_string("b")); }
static jv same(jv r) { return r; }

TEST(unchanged_fields_leave_as_they_came) {
    /* libjq 1.6 rounds 12345678901234567891 to a double (it would print 12345678901234567000)
       and 1e400 to 1.7976931348623157e+308: an untouched field keeps its digits */
    text_from_case("{\"id\":12345678901234567891,\"big\":1e400,\"f\":1.0,\"n\":[1.50,{\"k\":\"}\\\"]\"}],\"sample\":7}", as_msample,
                   "{\"id\":12345678901234567891,\"big\":1e400,\"f\":1.0,\"n\":[1.50,{\"k\":\"}\\\"]\"}],\"sample\":0,\"completion\":\"x\"}");
    /* white space goes (keys are written as libjq writes them); a changed value is rec's, a deleted one is dropped */
    text_from_case("  { \"a\" : 100000000000000000001 ,\"b\":2,\t\"c\": 3 }  ", del_b, "{\"a\":100000000000000000001,\"c\":1e+20}");
    text_from_case("{}", as_msample, "{\"sample\":0,\"completion\":\"x\"}");
    /* a key written with escapes is the same key; ill-formed UTF-8 in a value stays */
    text_from_case("{\"s\\u0061mple\":3,\"t\":\"\xff\xfe\"}", as_msample, "{\"sample\":0,\"t\":\"\xff\xfe\",\"completion\":\"x\"}");
    /* a key given twice: libjq keeps the last value (at the first place); dumped as wr_put would
       (libjq 1.6 prints 12345678901234567000, 1.7 keeps the digits: the want is libjq's own dump) */
    jv d = jv_dump_string(jv_parse("{\"a\":1,\"a\":12345678901234567891}"), 0);
    EXPECTF(!strncmp(jv_string_value(d), "{\"a\":1234567890123456", 21), "libjq's dump: %s", jv_string_value(d));
    text_from_case("{\"a\":1,\"a\":12345678901234567891}", same, jv_string_value(d));
    jv_free(d);
    text_from_case("{\"a\":[1,2],\"b\":{}}", same, "{\"a\":[1,2],\"b\":{}}");
    /* no raw text: wr_put's line (libjq 1.6 writes 1.0 as 1, 1.7 as 1.0) */
    jv r = jv_parse("{\"a\":1.0}");
    d = jv_dump_string(jv_copy(r), 0);
    size_t n = 0;
    char *t = rec_text_from(r, NULL, 0, &n);
    EXPECTF(t && n == (size_t)jv_string_length_bytes(jv_copy(d)) && !memcmp(t, jv_string_value(d), n), "got %.*s, want %s",
            t ? (int)n : 0, t ? t : "", jv_string_value(d));
    jv_free(d);
    free(t);
}

static void number_text_case(const char *raw, const char *key, const char *want) {
    jv rec = jv_parse(raw);
    jv t = rec_number_text(jv_object_get(rec, jv_string(key)), raw, strlen(raw), key);
    EXPECTF(jv_get_kind(t) == JV_KIND_STRING && !strcmp(jv_string_value(t), want), "%s .%s: got %s, want %s", raw, key,
            jv_get_kind(t) == JV_KIND_STRING ? jv_string_value(t) : "no string", want);
    jv_free(t);
}
TEST(a_number_field_keeps_its_digits) {
    number_text_case("{\"answer\":12345678901234567891}", "answer", "12345678901234567891");
    number_text_case("{\"p\":\"x\", \"answer\" : -1.50e2 }", "answer", "-1.50e2");
    number_text_case("{\"answer\":1,\"answer\":12345678901234567891}", "answer", "12345678901234567891");   /* the last, as libjq */
    number_text_case("{\"answer\":42}", "answer", "42");
    jv t = rec_number_text(jv_number(12345678901234567891.0), NULL, 0, "answer");   /* no line: libjq's text */
    EXPECTF(!strcmp(jv_string_value(t), "12345678901234567000"), "got %s", jv_string_value(t));
    jv_free(t);
}

/* Decompresses everything in buf (possibly an unfinished frame) into out. */
static size_t unzstd(const char *buf, size_t n, char *out, size_t cap) {
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_inBuffer in = {buf, n, 0};
    ZSTD_outBuffer o = {out, cap, 0};
    while (in.pos < in.size) if (ZSTD_isError(ZSTD_decompressStream(d, &o, &in))) break;
    ZSTD_freeDCtx(d);
    return o.pos;
}

TEST(zstd_writer_flush_makes_records_readable_at_once) {
    int fds[2];
    if (pipe(fds) < 0) SKIP("no pipe");
    fflush(stdout);
    int saved = dup(1);
    dup2(fds[1], 1);
    mrl_err e = {0};
    wr_opts o = {.plain = 0, .level = 3};
    wr_stream *w = wr_open(&o, &e);
    wr_put(w, jv_parse("{\"b\":1,\"a\":2}"), &e);
    int rc = wr_flush(w, &e);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    char buf[4096], out[4096];
    ssize_t got = read(fds[0], buf, sizeof buf);
    size_t n = got > 0 ? unzstd(buf, (size_t)got, out, sizeof out) : 0;
    wr_close(w, &e);
    dup2(saved, 1); close(saved);
    EXPECT(rc == 0);
    EXPECTF(n == 14 && memcmp(out, "{\"b\":1,\"a\":2}\n", 14) == 0, "got %zd bytes, %zu decoded", got, n);
    close(fds[0]); close(fds[1]);
}

/* Written frames carry a content checksum (as the zstd CLI's): a flipped bit in a record is
 * then an error when read back, not a changed record. */
TEST(written_frames_have_a_checksum) {
    const char *t = tpath("sum.jsonl.zst");
    mrl_err e = {0};
    wr_opts o = {.path = t, .plain = 0, .level = 3};
    wr_stream *w = wr_open(&o, &e);
    wr_put_raw(w, "{\"text\":\"abcdefgh\"}", 19, &e);
    EXPECTF(wr_close(w, &e) == 0, "%s", e.msg);
    size_t n; char *c = get_file(t, &n);
    EXPECT(c && n > 5 && (c[4] & 4));   /* the frame header descriptor's Content_Checksum_flag */
    char *lit = c ? memmem(c, n, "abcdefgh", 8) : NULL;   /* level 3 keeps so short a record literal */
    EXPECT(lit != NULL);
    if (lit) {
        lit[3] ^= 1;
        put_file(t, c, n);
        int rc; long last = 0;
        char *got = read_all(&t, 1, &rc, &e, &last);
        EXPECTF(rc == -1 && strstr(e.msg, "corrupt zstd input"), "a flipped bit read back: rc %d, %s", rc, e.msg);
        free(got);
    }
    free(c);
}

TEST(writer_to_a_closed_pipe_reports_err_pipe) {
    int fds[2];
    if (pipe(fds) < 0) SKIP("no pipe");
    signal(SIGPIPE, SIG_IGN);
    close(fds[0]);
    fflush(stdout);
    int saved = dup(1);
    dup2(fds[1], 1);
    mrl_err e = {0};
    wr_opts o = {.plain = 1};
    wr_stream *w = wr_open(&o, &e);
    wr_put_raw(w, "{}", 2, &e);
    int rc = wr_flush(w, &e);
    dup2(saved, 1); close(saved); close(fds[1]);
    EXPECT(rc < 0 && e.code == ERR_PIPE);
    wr_abort(w);
}

TEST(atomic_output_commit_and_abort) {
    const char *t = tpath("out.jsonl.zst");
    put_file(t, "old\n", 4);
    mrl_err e = {0};
    wr_opts o = {.path = t, .plain = 0, .level = 1};
    wr_stream *w = wr_open(&o, &e);
    for (int i = 0; i < 5000; i++) { char b[64]; int k = snprintf(b, sizeof b, "{\"i\":%d}", i); wr_put_raw(w, b, (size_t)k, &e); }
    wr_flush(w, &e);
    size_t n; char *c = get_file(t, &n);
    EXPECT(n == 4 && !memcmp(c, "old\n", 4));   /* target untouched while writing */
    free(c);
    char tmp[PATH_MAX + 32]; snprintf(tmp, sizeof tmp, "%s.tmp.%ld", t, (long)getpid());
    EXPECT(access(tmp, F_OK) == 0);
    wr_abort(w);
    EXPECT(access(tmp, F_OK) != 0);               /* abort: temp gone, target as it was */
    c = get_file(t, &n);
    EXPECT(n == 4 && !memcmp(c, "old\n", 4));
    free(c);

    /* a second signal's hard stop (cli.c) removes the temp files of the writers still open,
       and of those only: a closed writer's file is no longer registered */
    w = wr_open(&o, &e);
    EXPECT(access(tmp, F_OK) == 0);
    wr_unlink_temps();
    EXPECT(access(tmp, F_OK) != 0);
    wr_abort(w);
    c = get_file(t, &n);
    EXPECT(n == 4 && !memcmp(c, "old\n", 4));
    free(c);

    w = wr_open(&o, &e);
    wr_put(w, jv_parse("{\"k\":\"v\"}"), &e);
    EXPECTF(wr_close(w, &e) == 0, "%s", e.msg);
    EXPECT(access(tmp, F_OK) != 0);
    put_file(tmp, "x", 1);   /* a file of that name now: not the writer's any more */
    wr_unlink_temps();
    EXPECT(access(tmp, F_OK) == 0);
    remove(tmp);
    rd_stream *r = rd_open(&t, 1, &e);
    const char *s; size_t k;
    EXPECT(rd_next_line(r, &s, &k, &e) == 1 && k == 9 && !memcmp(s, "{\"k\":\"v\"}", 9));
    EXPECT(rd_next_line(r, &s, &k, &e) == 0);
    rd_close(r);

    EXPECT(atomic_write_file(t, "abc", 3, &e) == 0);
    c = get_file(t, &n);
    EXPECT(n == 3 && !memcmp(c, "abc", 3));
    free(c);
    wr_opts bad = {.path = "/nonexistent-dir/x.jsonl"};
    EXPECT(wr_open(&bad, &e) == NULL && e.code == ERR_SYS && strstr(e.msg, "/nonexistent-dir/x.jsonl"));
}

/* -o through a symlink replaces the target (the link stays, a dangling one gets its target);
 * a FIFO or a device is written in place, not replaced by a regular file. */
TEST(output_follows_symlinks_and_writes_devices_in_place) {
    mrl_err e = {0};
    struct stat st;
    size_t n; char *c;
    const char *real = tpath("real.jsonl"), *link = tpath("link.jsonl");
    put_file(real, "old\n", 4);
    EXPECT(symlink("real.jsonl", link) == 0);   /* relative: against the link's directory */
    EXPECT(mkdir(tpath("sub"), 0777) == 0 && symlink("../link.jsonl", tpath("sub/l")) == 0);
    EXPECT(symlink("made.jsonl", tpath("dangling")) == 0);
    const char *paths[] = {link, tpath("sub/l"), tpath("dangling")};
    for (int i = 0; i < 3; i++) {
        wr_opts o = {.path = paths[i], .plain = 1};
        wr_stream *w = wr_open(&o, &e);
        EXPECTF(w, "%s", e.msg);
        if (!w) continue;
        EXPECT(wr_path(w) && !strcmp(wr_path(w), paths[i]));
        wr_put_raw(w, "{\"n\":1}", 7, &e);
        EXPECTF(wr_close(w, &e) == 0, "%s", e.msg);
        EXPECTF(lstat(paths[i], &st) == 0 && S_ISLNK(st.st_mode), "%s is no longer a symlink", paths[i]);
    }
    c = get_file(real, &n);
    EXPECT(c && n == 8 && !memcmp(c, "{\"n\":1}\n", 8));
    free(c);
    c = get_file(tpath("made.jsonl"), &n);
    EXPECT(c && n == 8);
    free(c);

    const char *fifo = tpath("fifo");
    if (mkfifo(fifo, 0666) < 0) SKIP("no mkfifo");
    int rfd = open(fifo, O_RDWR | O_NONBLOCK);   /* a reader, so the writer's open does not wait */
    wr_opts o = {.path = fifo, .plain = 1};
    wr_stream *w = wr_open(&o, &e);
    EXPECTF(w, "%s", e.msg);
    if (w) {
        EXPECT(wr_path(w) == NULL);   /* like stdout: an error cannot leave it unchanged */
        wr_put_raw(w, "{\"f\":1}", 7, &e);
        EXPECTF(wr_close(w, &e) == 0, "%s", e.msg);
    }
    char buf[64] = {0};
    EXPECTF(read(rfd, buf, sizeof buf) == 8 && !memcmp(buf, "{\"f\":1}\n", 8), "the FIFO's reader got '%s'", buf);
    close(rfd);
    EXPECT(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));

    /* a character device: a node of our own where we may make one; else /dev/null unless we
     * are root (as root, code that renames over it would destroy it) */
    const char *dev = tpath("null");
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) < 0) dev = geteuid() ? "/dev/null" : NULL;
    if (!dev) return;
    o.path = dev;
    w = wr_open(&o, &e);
    EXPECTF(w, "%s", e.msg);
    if (w) { wr_put_raw(w, "{}", 2, &e); EXPECTF(wr_close(w, &e) == 0, "%s", e.msg); }
    EXPECT(stat(dev, &st) == 0 && S_ISCHR(st.st_mode));
}

/* A pipe that delivers zstd bytes one at a time: the magic sniff must not be fooled. */
TEST(zstd_from_a_pipe_in_tiny_pieces) {
    const char *t = "{\"slow\":1}\n{\"slow\":2}\n";
    size_t zn; char *z = zframe(t, strlen(t), &zn);
    int fds[2];
    if (pipe(fds) < 0) SKIP("no pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        for (size_t i = 0; i < zn; i++) { if (write(fds[1], z + i, 1) != 1) _exit(1); usleep(200); }
        _exit(0);
    }
    close(fds[1]);
    int saved = dup(0);
    dup2(fds[0], 0); close(fds[0]);
    mrl_err e = {0}; int rc;
    char *got = read_all(NULL, 0, &rc, &e, NULL);
    dup2(saved, 0); close(saved);
    waitpid(pid, NULL, 0);
    EXPECTF(rc == 0 && !strcmp(got, t), "rc %d %s got %s", rc, e.msg, got);
    free(got); free(z);
}

/* Batches parsed on 4 threads come back complete and in input order; a bad line is
 * flagged in place; a truncated zstd tail is reported after the lines before it. */
TEST(batch_parse_on_threads_keeps_order_and_errors) {
    static char text[2000000];
    size_t n = 0;
    for (int i = 1; i <= 20000; i++)
        n += (size_t)sprintf(text + n, i == 777 ? "{\"i\":%d,oops}\n" : "{\"i\":%d}\n", i);
    size_t zn; char *z = zframe(text, n, &zn);
    const char *p = tpath("batch.zst");
    put_file(p, z, zn - 5);
    mrl_err e = {0};
    rd_stream *r = rd_open(&p, 1, &e);
    rd_batch *b = rb_new(r, 4, 1000, &e);
    int next = 1, bad = 0, k, ok_order = 1, fills = 0;
    while ((k = rb_fill(b, &e)) > 0) {
        fills++;
        for (int i = 0; i < k; i++) {
            rb_line *l = rb_get(b, i);
            if (l->line != next) ok_order = 0;
            if (!l->ok) { bad++; EXPECTF(l->err && strstr(l->err->msg, "batch.zst:777: invalid JSON"), "%s", l->err ? l->err->msg : "?"); }
            else {
                jv v = jv_object_get(jv_copy(l->rec), jv_string("i"));
                if (jv_number_value(v) != next) ok_order = 0;
                jv_free(v);
            }
            next++;
        }
    }
    EXPECT(ok_order && bad == 1 && fills >= 2);
    EXPECTF(k == -1 && strstr(e.msg, "truncated"), "k %d %s", k, e.msg);
    EXPECTF(next > 5000 && next <= 20000, "lines before the cut: %d", next - 1);   /* the last, cut block yields nothing */
    EXPECT(rb_fill(b, &e) == 0);
    rb_free(b); rd_close(r); free(z);
}

/* The hook runs once per parsed line, in a parsing thread, before rb_fill returns. */
static void count_hook(void *ctx, int thread, rb_line *l) {
    (void)ctx;
    jv v = jv_object_get(jv_copy(l->rec), jv_string("i"));
    l->tag = thread + 1;
    l->value = (uint64_t)jv_number_value(v) * 2;
    jv_free(v);
}
TEST(batch_hook_runs_per_line_on_its_thread) {
    static char text[100000];
    size_t n = 0;
    for (int i = 1; i <= 5000; i++) n += (size_t)sprintf(text + n, i % 1000 ? "{\"i\":%d}\n" : "nope %d\n", i);
    const char *p = tpath("hook.jsonl");
    put_file(p, text, n);
    mrl_err e = {0};
    rd_stream *r = rd_open(&p, 1, &e);
    rd_batch *b = rb_new(r, 3, 0, &e);
    rb_set_hook(b, count_hook, NULL);
    int k, good = 1, seen_threads = 0, lines = 0;
    while ((k = rb_fill(b, &e)) > 0)
        for (int i = 0; i < k; i++) {
            rb_line *l = rb_get(b, i);
            lines++;
            if (l->ok) {
                if (l->tag < 1 || l->tag > rb_threads(b) || l->value != (uint64_t)l->line * 2) good = 0;
                seen_threads |= 1 << (l->tag - 1);
            } else if (l->tag != 0) good = 0;   /* no hook on a bad line */
        }
    EXPECT(k == 0 && lines == 5000 && good);
    EXPECTF(seen_threads == 7, "threads used: %x", seen_threads);
    rb_free(b); rd_close(r);
}

int main(void) {
    test_tmpdir(tmpdir, sizeof tmpdir, "mrl-stream");
    RUN(plain_crlf_blank_and_unterminated_last_line);
    RUN(multi_frame_zstd_and_skippable_frame);
    RUN(truncated_zstd_is_an_error_naming_the_file);
    RUN(corrupt_zstd_is_an_error_naming_the_file);
    RUN(written_frames_have_a_checksum);
    RUN(unchecked_frame_filling_the_buffer_ends_cleanly);
    RUN(corrupt_block_keeps_the_records_before_it);
    RUN(file_load_skippable_frame_first);
    RUN(after_a_stream_error_the_next_file_is_read);
    RUN(ten_megabyte_line_plain);
    RUN(ten_megabyte_line_zstd);
    RUN(a_stop_while_a_line_is_coming_ends_the_input);
    RUN(invalid_utf8_passes_through_untouched);
    RUN(bytes_read_counts_what_was_consumed);
    RUN(hard_stop_removes_every_open_temp_file);
    RUN(empty_inputs);
    RUN(bad_json_names_file_and_line_and_reading_goes_on);
    RUN(field_order_kept_when_writing_back);
    RUN(zstd_writer_flush_makes_records_readable_at_once);
    RUN(writer_to_a_closed_pipe_reports_err_pipe);
    RUN(atomic_output_commit_and_abort);
    RUN(output_follows_symlinks_and_writes_devices_in_place);
    RUN(zstd_from_a_pipe_in_tiny_pieces);
    RUN(batch_parse_on_threads_keeps_order_and_errors);
    RUN(batch_hook_runs_per_line_on_its_thread);
    RUN(unchanged_fields_leave_as_they_came);
    RUN(a_number_field_keeps_its_digits);
    char cmd[PATH_MAX + 16]; snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) { /* leftovers in TMPDIR are harmless */ }
    return tst_done();
}
