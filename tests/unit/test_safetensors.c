/* test_safetensors.c — the checkpoint reader and writer against files written by the Python
 * safetensors library (tests/ref/make_safetensors_fixtures.py), malformed files, and the Qwen2 check. */
#include <dirent.h>
#include <stdint.h>
#include <unistd.h>
#include <jv.h>
#include "safetensors.h"
#include "../test.h"

#define FX "testdata/safetensors/"

static jv load_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return jv_invalid();
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return jv_parse_sized(buf, (int)n);
}

static char tmpdir[TEST_TMPDIR_MAX];
static const char *tmp_path(const char *name) {
    static char p[PATH_MAX];
    if (!tmpdir[0]) test_tmpdir(tmpdir, sizeof tmpdir, "test_st");
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

/* Conversions against torch's own rounding (round.json holds bit patterns). */
TEST(rounding_matches_torch) {
    jv j = load_json(FX "round.json");
    if (!jv_is_valid(j)) SKIP("no " FX "round.json");
    jv xs = jv_object_get(jv_copy(j), jv_string("f32_bits"));
    jv bf = jv_object_get(jv_copy(j), jv_string("bf16"));
    jv hf = jv_object_get(jv_copy(j), jv_string("f16"));
    int n = jv_array_length(jv_copy(xs)), bad_bf = 0, bad_hf = 0;
    EXPECT(n > 200);
    for (int i = 0; i < n; i++) {
        jv a = jv_array_get(jv_copy(xs), i), b = jv_array_get(jv_copy(bf), i), c = jv_array_get(jv_copy(hf), i);
        uint32_t u = (uint32_t)jv_number_value(a);
        float x; memcpy(&x, &u, 4);
        uint16_t wb = (uint16_t)jv_number_value(b), wh = (uint16_t)jv_number_value(c);
        if (f32_to_bf16(x) != wb) { if (bad_bf++ < 5) printf("  bf16(%08x) = %04x, torch %04x\n", u, f32_to_bf16(x), wb); }
        if (f32_to_f16(x) != wh) { if (bad_hf++ < 5) printf("  f16(%08x) = %04x, torch %04x\n", u, f32_to_f16(x), wh); }
        jv_free(a); jv_free(b); jv_free(c);
    }
    EXPECT(bad_bf == 0);
    EXPECT(bad_hf == 0);
    jv_free(xs); jv_free(bf); jv_free(hf); jv_free(j);
}

/* Every f16 bit pattern decodes to the value its fields say (ldexp, independent of the bit tricks),
 * and encodes back to itself; every bf16 likewise. */
TEST(half_exhaustive) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int s = h >> 15, ex = (h >> 10) & 31, m = h & 1023;
        double want = ex == 0 ? ldexp(m, -24) : ex == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, ex - 25);
        if (s) want = -want;
        float got = f16_to_f32((uint16_t)h);
        if (isnan(want) ? !isnan(got) : got != (float)want) bad++;
        if (!isnan(want) && f32_to_f16(got) != h) bad++;
        float b = bf16_to_f32((uint16_t)h);
        if (!isnan(b) && f32_to_bf16(b) != h) bad++;
        if (isnan(b) && !isnan(bf16_to_f32(f32_to_bf16(b)))) bad++;
    }
    EXPECTF(bad == 0, "%d mismatches", bad);
}

/* A file written by the reference library: values, dtypes, shapes, metadata. */
TEST(reads_reference_file) {
    mrl_err e = {0};
    st_file *f = st_open(FX "good.safetensors", &e);
    EXPECTF(f != NULL, "%s", e.msg);
    if (!f) return;
    jv j = load_json(FX "good.json");
    EXPECT(jv_is_valid(j));
    EXPECT(st_count(f) == 6);
    EXPECT(jv_is_valid(j) && jv_object_length(jv_copy(j)) == st_count(f));   /* every tensor has its expectation */
    EXPECT(st_metadata(f, "note") && !strcmp(st_metadata(f, "note"), "fixture"));
    EXPECT(st_metadata(f, "absent") == NULL);
    EXPECT(st_find(f, "nope") == NULL);
    jv_object_foreach(j, k, v) {
        const char *name = jv_string_value(k);
        const st_tensor *t = st_find(f, name);
        EXPECTF(t != NULL, "%s missing", name);
        if (t) {
            jv shape = jv_object_get(jv_copy(v), jv_string("shape")), vals = jv_object_get(jv_copy(v), jv_string("f32"));
            EXPECT(t->ndim == jv_array_length(jv_copy(shape)));
            size_t numel = 1;
            for (int d = 0; d < t->ndim; d++) {
                jv x = jv_array_get(jv_copy(shape), d);
                EXPECT(t->shape[d] == (int64_t)jv_number_value(x));
                numel *= (size_t)t->shape[d];
                jv_free(x);
            }
            EXPECT(t->numel == numel && t->nbytes == numel * dtype_size(t->dtype));
            float *buf = malloc((numel + 1) * sizeof *buf);
            mrl_err e2 = {0};
            int rc = st_read_f32(t, buf, &e2);
            if (t->dtype == ST_I64) EXPECT(rc < 0 && strstr(e2.msg, "not a float type"));
            else {
                EXPECTF(rc == 0, "%s", e2.msg);
                for (size_t i = 0; i < numel; i++) {
                    jv x = jv_array_get(jv_copy(vals), (int)i);
                    EXPECTF(buf[i] == (float)jv_number_value(x), "%s[%zu] = %g, want %g", name, i, buf[i], jv_number_value(x));
                    jv_free(x);
                }
            }
            free(buf);
            jv_free(shape); jv_free(vals);
        }
        jv_free(k); jv_free(v);
    }
    const st_tensor *b = st_find(f, "b.bf16"), *c = st_find(f, "c.f16"), *s = st_find(f, "e.scalar");
    EXPECT(b && b->dtype == ST_BF16 && c && c->dtype == ST_F16 && s && s->ndim == 0 && s->numel == 1);
    jv_free(j);
    st_close(f);
}

TEST(reads_sharded) {
    mrl_err e = {0};
    st_file *f = st_open(FX "sharded", &e);
    EXPECTF(f != NULL, "%s", e.msg);
    if (!f) return;
    EXPECT(st_count(f) == 3);
    const st_tensor *x = st_find(f, "x.w"), *y = st_find(f, "y.w");
    EXPECT(x && x->dtype == ST_F32 && x->shape[0] == 4 && x->shape[1] == 4);
    EXPECT(y && y->dtype == ST_BF16 && y->shape[0] == 2 && y->shape[1] == 4);
    EXPECT(x && y && x->shard != y->shard);
    st_close(f);
    f = st_open(FX "sharded/model.safetensors.index.json", &e);
    EXPECTF(f && st_count(f) == 3, "%s", e.msg);
    st_close(f);
}

/* Each malformed file is refused with its message (bad.tsv: file, fragment), never a crash. */
TEST(refuses_bad_files) {
    FILE *fp = fopen(FX "bad.tsv", "r");
    if (!fp) SKIP("no " FX "bad.tsv");
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, fp)) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        char *want = tab + 1;
        want[strcspn(want, "\n")] = 0;
        char path[600];
        snprintf(path, sizeof path, FX "%s", line);
        mrl_err e = {0};
        st_file *f = st_open(path, &e);
        EXPECTF(f == NULL, "%s was accepted", line);
        EXPECTF(strstr(e.msg, want) && strstr(e.msg, line), "%s: message \"%s\" lacks \"%s\"", line, e.msg, want);
        st_close(f);
        n++;
    }
    fclose(fp);
    EXPECT(n >= 15);
}

/* Found by fuzz_safetensors: a header with no tensors (valid, and empty) once did pointer
 * arithmetic on NULL. */
TEST(empty_header) {
    const char *path = tmp_path("empty.safetensors");
    FILE *fp = fopen(path, "wb");
    fwrite("\003\000\000\000\000\000\000\000 {}", 1, 11, fp);
    fclose(fp);
    mrl_err e = {0};
    st_file *f = st_open(path, &e);
    EXPECTF(f && st_count(f) == 0 && !st_find(f, "x") && !st_at(f, 0), "%s", e.msg);
    st_close(f);
    unlink(path);
}

/* The header limit is safetensors' MAX_HEADER_SIZE, 100,000,000 bytes (it was 100 MiB, so a
 * header of 100,000,008 bytes that safe_open refuses as "header too large" was read). */
TEST(header_limit_is_hf_s) {
    const char *path = tmp_path("big-header.safetensors");
    static const unsigned char len8[8] = {0x08, 0xe1, 0xf5, 0x05, 0, 0, 0, 0};   /* 100000008 */
    FILE *fp = fopen(path, "wb");
    fwrite(len8, 1, 8, fp);
    fwrite("{}      ", 1, 8, fp);
    fclose(fp);
    mrl_err e = {0};
    st_file *f = st_open(path, &e);
    EXPECTF(!f && strstr(e.msg, "header length 100000008 exceeds the limit of 100000000 bytes"), "%s", f ? "accepted" : e.msg);
    st_close(f);
    unlink(path);
}

/* A file of header hdr (JSON text) and ndata zero bytes of data. */
static void write_raw(const char *path, const char *hdr, size_t ndata) {
    unsigned char len8[8];
    size_t hl = strlen(hdr);
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    FILE *fp = fopen(path, "wb");
    fwrite(len8, 1, 8, fp);
    fwrite(hdr, 1, hl, fp);
    for (size_t i = 0; i < ndata; i++) fputc(0, fp);
    fclose(fp);
}

/* The tensors cover the data area exactly, as safetensors requires: a gap, bytes before the
 * first or after the last, an empty tensor inside another, and a name given twice (jq keeps
 * the last entry, leaving the first one's bytes a gap) were read, where safe_open refuses them
 * ("invalid offset for tensor", "file not fully covered"; safetensors 0.8). */
TEST(refuses_gaps_as_hf_does) {
    static const struct { const char *hdr; size_t n; const char *want; } cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "\"b\" begins at data offset 8, but \"a\" ends at 4"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "data area is 8 bytes"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "begins at data offset 4, not 0"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
         8, "overlaps"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, "a name given twice"},
    };
    const char *path = tmp_path("gap.safetensors");
    mrl_err e = {0};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_raw(path, cases[i].hdr, cases[i].n);
        st_file *f = st_open(path, &e);
        EXPECTF(!f && strstr(e.msg, cases[i].want) && strstr(e.msg, "gap.safetensors"), "case %zu: %s", i, f ? "accepted" : e.msg);
        st_close(f);
    }
    /* what safe_open takes: contiguous, an empty tensor where one ends (also at the very end) */
    write_raw(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                    "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[4,8]},\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,8]}}", 8);
    st_file *f = st_open(path, &e);
    EXPECTF(f && st_count(f) == 4, "%s", f ? "wrong count" : e.msg);
    st_close(f);
    /* "__metadata__": null is no metadata to safe_open (it was refused, "not an object") */
    write_raw(path, "{\"__metadata__\":null,\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    f = st_open(path, &e);
    EXPECTF(f && st_count(f) == 1 && !st_metadata(f, "format"), "%s", f ? "wrong count" : e.msg);
    st_close(f);
    unlink(path);
}

/* Shapes and offsets are integers to safetensors (serde's usize): safe_open refuses 4.0, 0.4e1,
 * 4e0, -0, +4 and 04, all of which libjq reads as a number (4 or 0) that json_uint took. */
TEST(refuses_non_integers_as_hf_does) {
    static const struct { const char *v; const char *tok; } cases[] = {
        {"4.0", "\"a\": data_offsets: '4.0' at byte 51 of the header"}, {"0.4e1", "'0.4e1'"}, {"4e0", "'4e0'"}, {"+4", "'+4'"}, {"04", "'04'"},
        {"4 ", NULL}, {"\n4", NULL},
    };
    const char *path = tmp_path("num.safetensors");
    mrl_err e = {0};
    char hdr[200];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(hdr, sizeof hdr, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,%s]}}", cases[i].v);
        write_raw(path, hdr, 4);
        st_file *f = st_open(path, &e);
        if (cases[i].tok)
            EXPECTF(!f && strstr(e.msg, cases[i].tok) && strstr(e.msg, "not a non-negative integer"), "%s: %s", cases[i].v,
                    f ? "accepted" : e.msg);
        else
            EXPECTF(f && st_count(f) == 1, "%s: %s", cases[i].v, e.msg);
        st_close(f);
    }
    write_raw(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-0],\"data_offsets\":[0,0]}}", 0);
    st_file *f = st_open(path, &e);
    EXPECTF(!f && strstr(e.msg, "'-0'"), "%s", f ? "accepted" : e.msg);
    st_close(f);
    /* a field safetensors does not know is ignored, numbers and all, as safe_open ignores it */
    write_raw(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1.5,\"x\":[true,-1]}}", 4);
    f = st_open(path, &e);
    EXPECTF(f && st_count(f) == 1, "%s", f ? "wrong count" : e.msg);
    st_close(f);
    /* digits, '.' and escaped quotes inside strings are no tokens */
    write_raw(path, "{\"__metadata__\":{\"v\":\"1.0 \\\"+4\\\" 04\"},\"a.0\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0);
    f = st_open(path, &e);
    EXPECTF(f && st_count(f) == 1, "%s", f ? "wrong count" : e.msg);
    st_close(f);
    unlink(path);
}

static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "w");
    fputs(s, f);
    fclose(f);
}

/* Index problems: a listed tensor in no shard, in another shard, a shard outside the directory. */
TEST(refuses_bad_index) {
    mrl_err e = {0};
    static const char *shards[] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    char src[300], dst[PATH_MAX];
    for (int i = 0; i < 2; i++) {   /* copy the good shards */
        snprintf(src, sizeof src, FX "sharded/%s", shards[i]);
        snprintf(dst, sizeof dst, "%s", tmp_path(shards[i]));
        FILE *a = fopen(src, "rb"), *b = fopen(dst, "wb");
        char buf[4096]; size_t k;
        while (a && b && (k = fread(buf, 1, sizeof buf, a))) fwrite(buf, 1, k, b);
        if (a) fclose(a);
        if (b) fclose(b);
    }
    static const struct { const char *json, *want; } cases[] = {
        {"{\"weight_map\": {\"x.w\": \"model-00001-of-00002.safetensors\", \"z\": \"model-00001-of-00002.safetensors\"}}", "\"z\" is listed but in no shard"},
        {"{\"weight_map\": {\"y.w\": \"model-00001-of-00002.safetensors\", \"x.w\": \"model-00002-of-00002.safetensors\"}}", "is listed in"},
        {"{\"weight_map\": {\"x.w\": \"../etc/passwd\"}}", "refused"},
        {"{\"weight_map\": {\"x.w\": \"missing.safetensors\"}}", "missing.safetensors"},
        {"{\"weight_map\": {}}", "empty"},
        {"{\"metadata\": {}}", "\"weight_map\" is missing"},
        {"{\"weight_map\": ", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_text(tmp_path("model.safetensors.index.json"), cases[i].json);
        st_file *f = st_open(tmpdir, &e);
        EXPECTF(!f && strstr(e.msg, cases[i].want), "case %zu: %s", i, f ? "accepted" : e.msg);
        st_close(f);
    }
    /* the same shard spelt "./name" and "name" is one shard, as transformers reads the index */
    FILE *ix = fopen(FX "sharded/model.safetensors.index.json", "rb");
    char good[4096] = "", dot[4200];
    size_t gn = ix ? fread(good, 1, sizeof good - 1, ix) : 0;
    if (ix) fclose(ix);
    good[gn] = 0;
    char *q = strstr(good, "\"model-00001"), *d = dot;
    EXPECT(q != NULL);
    if (q) {
        memcpy(d, good, (size_t)(q - good)); d += q - good;
        d += sprintf(d, "\"./%s", q + 1);   /* the first mention of shard 1 as ./model-00001... */
        write_text(tmp_path("model.safetensors.index.json"), dot);
        st_file *f = st_open(tmpdir, &e);
        EXPECTF(f != NULL, "./ shard name: %s", e.msg);
        st_close(f);
    }
    for (int i = 0; i < 2; i++) unlink(tmp_path(shards[i]));
    unlink(tmp_path("model.safetensors.index.json"));
    EXPECT(st_open(tmpdir, &e) == NULL && strstr(e.msg, "no model.safetensors") && !strstr(e.msg, "pytorch_model.bin"));
    /* a directory of the older PyTorch format: the message says how to convert it */
    write_text(tmp_path("pytorch_model.bin"), "");
    EXPECT(st_open(tmpdir, &e) == NULL && strstr(e.msg, "it has pytorch_model.bin") && strstr(e.msg, "safe_serialization=True"));
    unlink(tmp_path("pytorch_model.bin"));
    write_text(tmp_path("pytorch_model.bin.index.json"), "{}");
    EXPECTF(st_open(tmpdir, &e) == NULL && strstr(e.msg, "it has pytorch_model.bin.index.json,"), "%s", e.msg);
    unlink(tmp_path("pytorch_model.bin.index.json"));
}

typedef struct ramp { float scale; } ramp;
static int fill_ramp(void *ctx, void *dst, size_t off, size_t n, mrl_err *e) {
    (void)e;
    float *tmp = malloc(n * sizeof *tmp);
    for (size_t i = 0; i < n; i++) tmp[i] = ((ramp *)ctx)->scale * (float)(off + i);
    dtype_from_f32(ST_BF16, tmp, dst, n);
    free(tmp);
    return 0;
}
static int fill_fail(void *ctx, void *dst, size_t off, size_t n, mrl_err *e) {
    (void)ctx; (void)dst; (void)off; (void)n;
    return err_set(e, 1, "generator failed");
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) n += de->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

TEST(writer_round_trip) {
    mrl_err e = {0};
    const char *path = tmp_path("w.safetensors");
    float a[6] = {1, -2, 3.5f, 1e-3f, 65504, -0.0f};
    int64_t sa[2] = {2, 3}, sb[1] = {5}, sc[1] = {3 * 1024 * 1024 + 7}, sd[1] = {3};
    int8_t d8[3] = {-1, 0, 7};
    ramp r = {0.5f};
    st_writer *w = st_write_begin(path, &e);
    EXPECT(w != NULL);
    EXPECT(st_add(w, "i8", ST_I8, 1, sd, d8, &e) == 0);
    EXPECT(st_add_f32(w, "a.f32", ST_F32, 2, sa, a, &e) == 0);
    EXPECT(st_add_f32(w, "a.bf16", ST_BF16, 2, sa, a, &e) == 0);
    EXPECT(st_add_f32(w, "a.f16", ST_F16, 1, sb, a, &e) == 0);
    EXPECT(st_add_fill(w, "big \"quoted\"\\name", ST_BF16, 1, sc, fill_ramp, &r, &e) == 0);   /* spans several write buffers */
    EXPECT(st_add(w, "i8", ST_I8, 1, sd, d8, &e) < 0 && strstr(e.msg, "added twice"));
    EXPECT(st_add_f32(w, "x", ST_I32, 1, sd, a, &e) < 0);
    const char *meta[] = {"format", "pt", "who", "test", NULL};
    EXPECTF(st_write_end(w, meta, &e) == 0, "%s", e.msg);
    EXPECT(count_entries(tmpdir) == 1);   /* no temp file left */
    st_file *f = st_open(path, &e);
    EXPECTF(f != NULL, "%s", e.msg);
    if (!f) return;
    EXPECT(st_count(f) == 5 && !strcmp(st_metadata(f, "who"), "test") && !strcmp(st_metadata(f, "format"), "pt"));
    float got[6];
    const st_tensor *t = st_find(f, "a.f32");
    EXPECT(t && st_read_f32(t, got, &e) == 0 && !memcmp(got, a, sizeof a));
    t = st_find(f, "a.bf16");
    EXPECT(t && t->dtype == ST_BF16 && st_read_f32(t, got, &e) == 0);
    for (int i = 0; t && i < 6; i++) EXPECT(got[i] == bf16_to_f32(f32_to_bf16(a[i])));
    t = st_find(f, "a.f16");
    EXPECT(t && t->numel == 5 && st_read_f32(t, got, &e) == 0);
    for (int i = 0; t && i < 5; i++) EXPECT(got[i] == f16_to_f32(f32_to_f16(a[i])));
    t = st_find(f, "i8");
    EXPECT(t && t->dtype == ST_I8 && !memcmp(t->data, d8, 3));
    t = st_find(f, "big \"quoted\"\\name");
    EXPECT(t && t->numel == (size_t)sc[0]);
    if (t) {
        float *big = malloc(t->numel * sizeof *big);
        EXPECT(st_read_f32(t, big, &e) == 0);
        int bad = 0;
        for (size_t i = 0; i < t->numel; i++) bad += big[i] != bf16_to_f32(f32_to_bf16(0.5f * (float)i));
        EXPECT(bad == 0);
        free(big);
    }
    /* every tensor aligned to its element size within the data area (as the writer promises) */
    const st_tensor *first = st_at(f, 0);
    for (int i = 0; i < st_count(f); i++) {
        const st_tensor *x = st_at(f, i);
        EXPECT(((const char *)x->data - (const char *)first->data) % dtype_size(x->dtype) == 0);
    }
    st_close(f);

    /* a failing generator leaves the old file whole and no temp file */
    w = st_write_begin(path, &e);
    st_add_fill(w, "x", ST_BF16, 1, sd, fill_fail, NULL, &e);
    EXPECT(st_write_end(w, NULL, &e) < 0 && strstr(e.msg, "generator failed") && strstr(e.msg, "\"x\""));
    EXPECT(count_entries(tmpdir) == 1);
    f = st_open(path, &e);
    EXPECT(f && st_count(f) == 5);
    st_close(f);
    /* a directory that does not exist */
    w = st_write_begin("/nonexistent-dir/x.safetensors", &e);
    EXPECT(st_write_end(w, NULL, &e) < 0 && strstr(e.msg, "nonexistent-dir"));
    unlink(path);
}

/* A config in the test's own numbers; head_dim 4, GQA 2:1. */
static mrl_config small_cfg(int tie) {
    mrl_config c = {0};
    c.vocab_size = 10; c.hidden_size = 8; c.intermediate_size = 12; c.num_layers = 2;
    c.num_heads = 2; c.num_kv_heads = 1; c.head_dim = 4; c.tie_word_embeddings = tie;
    return c;
}

/* Writes the layout of c, with one tensor changed: skip (omit it), or reshape/retype it. */
static int write_layout(const char *path, const mrl_config *c, const char *target, int mode, const char *extra) {
    int n = qwen2_tensors(c, NULL, 0);
    qwen2_tensor *q = malloc((size_t)n * sizeof *q);
    qwen2_tensors(c, q, n);
    static float zeros[4096];
    mrl_err e = {0};
    st_writer *w = st_write_begin(path, &e);
    for (int i = 0; i < n; i++) {
        int64_t shape[2] = {q[i].shape[0], q[i].shape[1]};
        st_dtype dt = ST_F32;
        if (target && !strcmp(q[i].name, target)) {
            if (mode == 0) continue;
            if (mode == 1) shape[0] += 1;
            if (mode == 2) dt = ST_I32;
        }
        st_add(w, q[i].name, dt, q[i].ndim, shape, zeros, &e);
    }
    int64_t one = 1;
    if (extra) st_add(w, extra, ST_F32, 1, &one, zeros, &e);
    free(q);
    return st_write_end(w, NULL, &e);
}

TEST(qwen2_layout_check) {
    mrl_config c = small_cfg(0);
    qwen2_tensor q[64];
    int n = qwen2_tensors(&c, q, 64);
    EXPECT(n == 1 + 2 * 12 + 1 + 1);
    EXPECT(!strcmp(q[0].name, "model.embed_tokens.weight") && q[0].shape[0] == 10 && q[0].shape[1] == 8);
    EXPECT(!strcmp(q[2].name, "model.layers.0.self_attn.q_proj.weight") && q[2].shape[0] == 8 && q[2].shape[1] == 8);
    EXPECT(!strcmp(q[4].name, "model.layers.0.self_attn.k_proj.weight") && q[4].shape[0] == 4 && q[4].shape[1] == 8);
    EXPECT(!strcmp(q[5].name, "model.layers.0.self_attn.k_proj.bias") && q[5].ndim == 1 && q[5].shape[0] == 4);
    EXPECT(!strcmp(q[8].name, "model.layers.0.self_attn.o_proj.weight") && q[8].shape[0] == 8 && q[8].shape[1] == 8);
    EXPECT(!strcmp(q[12].name, "model.layers.0.mlp.down_proj.weight") && q[12].shape[0] == 8 && q[12].shape[1] == 12);
    EXPECT(!strcmp(q[n - 1].name, "lm_head.weight") && q[n - 1].kind == QW_LMHEAD);
    size_t total = 0;
    for (int i = 0; i < n; i++) total += q[i].numel;
    EXPECT(total == config_nparams(&c));

    const char *path = tmp_path("q.safetensors");
    mrl_err e = {0};
    static const struct { const char *target; int mode; const char *extra; int tie; const char *want; } cases[] = {
        {NULL, 0, NULL, 0, NULL},
        {NULL, 0, NULL, 1, NULL},   /* stored lm_head, tied config: tolerated (transformers ignores it) */
        {"model.layers.1.mlp.up_proj.weight", 0, NULL, 0, "\"model.layers.1.mlp.up_proj.weight\" is missing"},
        {"model.layers.0.self_attn.v_proj.bias", 1, NULL, 0, "\"model.layers.0.self_attn.v_proj.bias\" has shape [5], config.json implies [4]"},
        {"model.norm.weight", 2, NULL, 0, "\"model.norm.weight\" has dtype I32"},
        {"lm_head.weight", 0, NULL, 0, "\"lm_head.weight\" is missing"},
        {NULL, 0, "model.layers.2.input_layernorm.weight", 0, "unexpected tensor \"model.layers.2.input_layernorm.weight\""},
        {NULL, 0, "model.layers.0.self_attn.rotary_emb.inv_freq", 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mrl_config wc = small_cfg(0), cc = small_cfg(cases[i].tie);
        EXPECT(write_layout(path, &wc, cases[i].target, cases[i].mode, cases[i].extra) == 0);
        st_file *f = st_open(path, &e);
        EXPECTF(f != NULL, "%s", e.msg);
        if (!f) continue;
        int rc = st_check_qwen2(f, &cc, &e);
        const char *want = cases[i].want;
        if (!want) EXPECTF(rc == 0, "case %zu: %s", i, e.msg);
        else EXPECTF(rc < 0 && strstr(e.msg, want) && strstr(e.msg, "q.safetensors"), "case %zu: %s", i, rc ? e.msg : "accepted");
        st_close(f);
    }
    /* a config with one more layer than the file */
    mrl_config wc = small_cfg(1), cc = small_cfg(1);
    cc.num_layers = 3;
    write_layout(path, &wc, NULL, 0, NULL);
    st_file *f = st_open(path, &e);
    EXPECT(f && st_check_qwen2(f, &cc, &e) < 0 && strstr(e.msg, "\"model.layers.2.input_layernorm.weight\" is missing"));
    st_close(f);
    unlink(path);
}

/* A sharded checkpoint of small_cfg(0) in tmpdir: model.norm.weight (shape [n0]) and extra (if
 * any) in q-2.safetensors, everything else in q-1.safetensors, and the index naming them. */
static void write_sharded(int64_t n0, const char *extra) {
    mrl_config c = small_cfg(0);
    int n = qwen2_tensors(&c, NULL, 0);
    qwen2_tensor *q = malloc((size_t)n * sizeof *q);
    qwen2_tensors(&c, q, n);
    static float zeros[4096];
    mrl_err e = {0};
    char idx[8192], *x = idx;
    x += sprintf(x, "{\"weight_map\": {");
    st_writer *w1 = st_write_begin(tmp_path("q-1.safetensors"), &e), *w2 = st_write_begin(tmp_path("q-2.safetensors"), &e);
    for (int i = 0; i < n; i++) {
        int two = !strcmp(q[i].name, "model.norm.weight");
        int64_t shape[2] = {two ? n0 : q[i].shape[0], q[i].shape[1]};
        st_add(two ? w2 : w1, q[i].name, ST_F32, q[i].ndim, shape, zeros, &e);
        x += sprintf(x, "%s\"%s\": \"q-%d.safetensors\"", i ? ", " : "", q[i].name, two ? 2 : 1);
    }
    int64_t one = 1;
    if (extra) {
        st_add(w2, extra, ST_F32, 1, &one, zeros, &e);
        x += sprintf(x, ", \"%s\": \"q-2.safetensors\"", extra);
    }
    sprintf(x, "}}");
    st_write_end(w1, NULL, &e);
    st_write_end(w2, NULL, &e);
    write_text(tmp_path("model.safetensors.index.json"), idx);
    free(q);
}

/* In a sharded checkpoint a wrong or unexpected tensor is named with the shard that holds it
 * (the message named the directory only, leaving the user to search every shard). */
TEST(qwen2_layout_check_names_the_shard) {
    mrl_config c = small_cfg(0);
    mrl_err e = {0};
    static const struct { int64_t n0; const char *extra; const char *want; } cases[] = {
        {8, NULL, NULL},
        {9, NULL, "q-2.safetensors: \"model.norm.weight\" has shape [9], config.json implies [8]"},
        {8, "model.layers.2.input_layernorm.weight", "q-2.safetensors: unexpected tensor \"model.layers.2.input_layernorm.weight\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_sharded(cases[i].n0, cases[i].extra);
        st_file *f = st_open(tmpdir, &e);
        EXPECTF(f != NULL, "%s", e.msg);
        if (!f) continue;
        int rc = st_check_qwen2(f, &c, &e);
        if (!cases[i].want) EXPECTF(rc == 0, "case %zu: %s", i, e.msg);
        else EXPECTF(rc < 0 && strstr(e.msg, cases[i].want), "case %zu: %s", i, rc ? e.msg : "accepted");
        st_close(f);
    }
    unlink(tmp_path("q-1.safetensors"));
    unlink(tmp_path("q-2.safetensors"));
    unlink(tmp_path("model.safetensors.index.json"));
}

/* The real DeepSeek-R1-Distill-Qwen-1.5B shapes (OPEN-RS.md §6): 339 tensors and the published
 * Qwen2-1.5B count 1,543,714,304 (tied) plus an untied 151936 x 1536 head. */
TEST(qwen2_1p5b_layout) {
    mrl_config c = {0};
    c.vocab_size = 151936; c.hidden_size = 1536; c.intermediate_size = 8960; c.num_layers = 28;
    c.num_heads = 12; c.num_kv_heads = 2; c.head_dim = 128;
    int n = qwen2_tensors(&c, NULL, 0);
    EXPECT(n == 339);
    EXPECT(config_nparams(&c) == 1543714304ull + 151936ull * 1536ull);
    qwen2_tensor *q = malloc((size_t)n * sizeof *q);
    qwen2_tensors(&c, q, n);
    EXPECT(!strcmp(q[4].name, "model.layers.0.self_attn.k_proj.weight") && q[4].shape[0] == 256 && q[4].shape[1] == 1536);
    EXPECT(!strcmp(q[337].name, "model.norm.weight") && !strcmp(q[338].name, "lm_head.weight"));
    free(q);
}

/* minit's output passes the layout check, and its bf16 file is its fp32 file rounded (same seed). */
TEST(minit_output) {
    const char *bin = getenv("MRL_BIN");
    if (!bin) SKIP("MRL_BIN not set");
    char cmd[4 * PATH_MAX + 512], d32[PATH_MAX], d16[PATH_MAX];
    snprintf(d32, sizeof d32, "%s", tmp_path("m32"));
    snprintf(d16, sizeof d16, "%s", tmp_path("m16"));
    snprintf(cmd, sizeof cmd, "'%s/minit' tiny -q --seed 9 --bias-std 0.05 --tie yes -o '%s' && '%s/minit' tiny -q --seed 9 --bias-std 0.05 --tie yes --dtype bf16 -o '%s'",
             bin, d32, bin, d16);
    if (system(cmd) != 0) { EXPECTF(0, "%s failed", cmd); return; }
    mrl_err e = {0};
    mrl_config c;
    EXPECTF(config_load(&c, d16, &e) == 0, "%s", e.msg);
    st_file *a = st_open(d32, &e), *b = st_open(d16, &e);
    EXPECTF(a && b, "%s", e.msg);
    if (!a || !b) { st_close(a); st_close(b); return; }
    EXPECTF(st_check_qwen2(b, &c, &e) == 0, "%s", e.msg);
    EXPECT(c.tie_word_embeddings && !st_find(b, "lm_head.weight") && st_count(a) == st_count(b));
    int bad = 0, nonzero_bias = 0;
    for (int i = 0; i < st_count(a); i++) {
        const st_tensor *x = st_at(a, i), *y = st_find(b, x->name);
        if (!y || y->dtype != ST_BF16 || x->dtype != ST_F32 || x->numel != y->numel) { bad++; continue; }
        float *u = malloc(x->numel * sizeof *u), *v = malloc(x->numel * sizeof *v);
        st_read_f32(x, u, &e); st_read_f32(y, v, &e);
        for (size_t k = 0; k < x->numel; k++) bad += bf16_to_f32(f32_to_bf16(u[k])) != v[k];
        if (strstr(x->name, "_proj.bias")) for (size_t k = 0; k < x->numel; k++) nonzero_bias += u[k] != 0;
        free(u); free(v);
    }
    EXPECT(bad == 0);
    EXPECT(nonzero_bias > 0);
    st_close(a); st_close(b);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", d32, d16);
    if (system(cmd)) {}
}

int main(void) {
    RUN(rounding_matches_torch);
    RUN(half_exhaustive);
    RUN(reads_reference_file);
    RUN(reads_sharded);
    RUN(refuses_bad_files);
    RUN(refuses_bad_index);
    RUN(empty_header);
    RUN(header_limit_is_hf_s);
    RUN(refuses_non_integers_as_hf_does);
    RUN(refuses_gaps_as_hf_does);
    RUN(writer_round_trip);
    RUN(qwen2_layout_check);
    RUN(qwen2_layout_check_names_the_shard);
    RUN(qwen2_1p5b_layout);
    RUN(minit_output);
    rmdir(tmpdir);
    return tst_done();
}
