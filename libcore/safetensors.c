/* safetensors.c — the safetensors reader: mmap each file, validate its header completely
 * (length, JSON, dtypes, shapes, offsets) and the Qwen2 layout a config implies; dtypes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jv.h>
#include "fileio.h"
#include "jqf.h"
#include "safetensors.h"

/* safetensors stores little-endian data, which the reader maps and the writer copies as they
 * are: on a big-endian host every weight would be silently wrong, so such a build is refused. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "mrl reads and writes safetensors in the host's byte order: little-endian hosts only");

/* ---- dtypes ---- */
static const struct { const char *name; size_t size; } dtypes[ST_NDTYPE] = {
    [ST_BOOL] = {"BOOL", 1}, [ST_U8] = {"U8", 1}, [ST_I8] = {"I8", 1}, [ST_I16] = {"I16", 2},
    [ST_U16] = {"U16", 2}, [ST_I32] = {"I32", 4}, [ST_U32] = {"U32", 4}, [ST_I64] = {"I64", 8},
    [ST_U64] = {"U64", 8}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2}, [ST_F32] = {"F32", 4},
    [ST_F64] = {"F64", 8},
};
size_t dtype_size(st_dtype t) { return (unsigned)t < ST_NDTYPE ? dtypes[t].size : 0; }
const char *dtype_name(st_dtype t) { return (unsigned)t < ST_NDTYPE ? dtypes[t].name : "?"; }
int dtype_parse(const char *s) {
    for (int i = 0; i < ST_NDTYPE; i++) if (!strcmp(s, dtypes[i].name)) return i;
    return -1;
}
int dtype_parse_torch(const char *s) {
    if (!strcmp(s, "bfloat16") || !strcmp(s, "bf16")) return ST_BF16;
    if (!strcmp(s, "float32") || !strcmp(s, "fp32") || !strcmp(s, "f32")) return ST_F32;
    if (!strcmp(s, "float16") || !strcmp(s, "fp16") || !strcmp(s, "f16")) return ST_F16;
    return -1;
}
const char *dtype_torch_name(st_dtype t) {
    return t == ST_BF16 ? "bfloat16" : t == ST_F16 ? "float16" : t == ST_F32 ? "float32" : NULL;
}

const char *dtype_decimal(char *b, size_t n, double x, int f32) {
    for (int p = 6; p <= (f32 ? 9 : 17); p++) {
        snprintf(b, n, "%.*g", p, x);
        if (f32 ? strtof(b, NULL) == (float)x : strtod(b, NULL) == x) break;
    }
    return b;
}
int dtype_to_f32(st_dtype t, const void *src, float *dst, size_t n) {
    const unsigned char *p = src;
    if (t == ST_F32) { memcpy(dst, src, n * 4); return 0; }
    if (t != ST_BF16 && t != ST_F16 && t != ST_F64) return -1;
    for (size_t i = 0; i < n; i++) {
        if (t == ST_F64) { double d; memcpy(&d, p + 8 * i, 8); dst[i] = (float)d; continue; }
        uint16_t h; memcpy(&h, p + 2 * i, 2);
        dst[i] = t == ST_BF16 ? bf16_to_f32(h) : f16_to_f32(h);
    }
    return 0;
}
int dtype_from_f32(st_dtype t, const float *src, void *dst, size_t n) {
    unsigned char *p = dst;
    if (t == ST_F32) { memcpy(dst, src, n * 4); return 0; }
    if (t != ST_BF16 && t != ST_F16) return -1;
    for (size_t i = 0; i < n; i++) {
        uint16_t h = t == ST_BF16 ? f32_to_bf16(src[i]) : f32_to_f16(src[i]);
        memcpy(p + 2 * i, &h, 2);
    }
    return 0;
}

/* ---- reader ---- */
typedef struct shard { char *path; unsigned char *map; size_t len; } shard;
struct st_file {
    char *path;              /* as given, for messages */
    shard *sh; int nsh;
    st_tensor *t; int n, cap;
    int *hash; int hcap;     /* open addressing over t[] by name; -1 empty */
    jv meta;                 /* __metadata__ of the first file (object or null) */
};

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* A JSON number that is a non-negative integer below 2^53 (exact in a double). Consumes v:
 * with libjq 1.7 a parsed number is allocated (its literal kept), so a number not
 * freed leaked there (each shape and offset of every tensor of every load), where 1.6 keeps it
 * in the jv itself. */
static int json_uint(jv v, uint64_t *out) {
    int num = jv_get_kind(v) == JV_KIND_NUMBER;
    double d = num ? jv_number_value(v) : -1;
    jv_free(v);
    if (!num || !(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return -1;
    *out = (uint64_t)d;
    return 0;
}

/* The offset of the first token outside the strings of a header (which libjq parsed) that is
 * inside a tensor's shape or data_offsets and not a plain non-negative integer, its length in
 * *len and the keys it sits under (the tensor's name and its field, both set for such a token);
 * n where there is none. Other fields are ignored, as safetensors and parse_entry ignore them.
 * Shapes and offsets are integers to safetensors (serde's usize): libjq reads 128.0, 1.28e2,
 * +128 and 0128 as 128, where safe_open refuses the file. Keys are as written (escapes and all). */
static size_t header_bad_token(const char *s, size_t n, size_t *len, const char *keys[2], int klen[2]) {
    int depth = 0;
    for (size_t k = 0; k < n;) {
        char c = s[k];
        if (c == '"') {   /* skip the string: libjq found it well formed */
            size_t b = ++k;
            for (; k < n && s[k] != '"'; k++)
                if (s[k] == '\\') k++;
            size_t e = k++, a = k;
            while (a < n && strchr(" \t\r\n", s[a]) && s[a]) a++;
            if (a < n && s[a] == ':' && depth >= 1 && depth <= 2) {   /* a key: the tensor's name or its field */
                keys[depth - 1] = s + b; klen[depth - 1] = (int)(e - b);
                if (depth == 1) keys[1] = NULL;
            }
            continue;
        }
        if (c == '{' || c == '[') depth++;
        if (c == '}' || c == ']') depth--;
        if (strchr(" \t\r\n,:[]{}", c) && c) { k++; continue; }
        size_t t = k;
        while (t < n && s[t] && !strchr(" \t\r\n,:[]{}\"", s[t])) t++;
        if (t == k) t++;   /* a NUL byte */
        int sized = depth >= 3 && keys[1] && ((klen[1] == 5 && !memcmp(keys[1], "shape", 5)) ||
                                              (klen[1] == 12 && !memcmp(keys[1], "data_offsets", 12)));
        if (sized) {
            int digits = s[k] != 0 && (s[k] != '0' || t - k == 1);   /* no leading zero */
            for (size_t j = k; j < t; j++) digits &= s[j] >= '0' && s[j] <= '9';
            if (!digits) { *len = t - k; return k; }
        }
        k = t;
    }
    return n;
}

/* Parses one header entry (consumes v) into t; the caller prefixes the file name. */
static int parse_entry(const char *name, jv v, size_t data_len, st_tensor *t, const unsigned char *data,
                       mrl_err *e) {
    int rc = -1;
    jv dt = jv_invalid(), shp = jv_invalid(), off = jv_invalid();
    if (jv_get_kind(v) != JV_KIND_OBJECT) { err_set(e, 1, "\"%s\": entry is not an object", name); goto out; }
    dt = jv_object_get(jv_copy(v), jv_string("dtype"));
    shp = jv_object_get(jv_copy(v), jv_string("shape"));
    off = jv_object_get(jv_copy(v), jv_string("data_offsets"));
    if (jv_get_kind(dt) != JV_KIND_STRING) { err_set(e, 1, "\"%s\": \"dtype\" is missing or not a string", name); goto out; }
    int d = dtype_parse(jv_string_value(dt));
    if (d < 0) { err_set(e, 1, "\"%s\": unknown dtype \"%.32s\"", name, jv_string_value(dt)); goto out; }
    t->dtype = (st_dtype)d;
    if (jv_get_kind(shp) != JV_KIND_ARRAY) { err_set(e, 1, "\"%s\": \"shape\" is missing or not an array", name); goto out; }
    int nd = jv_array_length(jv_copy(shp));
    if (nd > ST_MAX_DIMS) { err_set(e, 1, "\"%s\": shape has %d dimensions (at most %d)", name, nd, ST_MAX_DIMS); goto out; }
    t->ndim = nd;
    uint64_t numel = 1;
    for (int i = 0; i < nd; i++) {
        uint64_t s;
        if (json_uint(jv_array_get(jv_copy(shp), i), &s)) { err_set(e, 1, "\"%s\": shape[%d] is not a non-negative integer", name, i); goto out; }
        t->shape[i] = (int64_t)s;
        if (s && numel > UINT64_MAX / s) { err_set(e, 1, "\"%s\": shape overflows", name); goto out; }
        numel *= s;
    }
    if (jv_get_kind(off) != JV_KIND_ARRAY || jv_array_length(jv_copy(off)) != 2) {
        err_set(e, 1, "\"%s\": \"data_offsets\" is missing or not [begin, end]", name); goto out;
    }
    uint64_t b, en;
    if (json_uint(jv_array_get(jv_copy(off), 0), &b) || json_uint(jv_array_get(jv_copy(off), 1), &en) || en < b) {
        err_set(e, 1, "\"%s\": \"data_offsets\" are not integers 0 <= begin <= end", name); goto out;
    }
    size_t es = dtype_size(t->dtype);
    if (numel > UINT64_MAX / es) { err_set(e, 1, "\"%s\": shape overflows", name); goto out; }
    char sb[160]; shape_str(sb, sizeof sb, nd, t->shape);
    if (en - b != numel * es) {
        err_set(e, 1, "\"%s\": data_offsets [%llu, %llu] hold %llu bytes, but %s %s needs %llu", name,
                (unsigned long long)b, (unsigned long long)en, (unsigned long long)(en - b), dtype_name(t->dtype), sb,
                (unsigned long long)(numel * es));
        goto out;
    }
    if (en > data_len) {
        err_set(e, 1, "\"%s\": data_offsets [%llu, %llu] run past the end of the data (%zu bytes): file truncated?",
                name, (unsigned long long)b, (unsigned long long)en, data_len);
        goto out;
    }
    t->numel = (size_t)numel; t->nbytes = (size_t)(en - b); t->data = data + b;
    rc = 0;
out:
    jv_free(dt); jv_free(shp); jv_free(off); jv_free(v);
    return rc;
}

static int cmp_by_offset(const void *a, const void *b) {
    const st_tensor *x = a, *y = b;
    if (x->shard != y->shard) return x->shard < y->shard ? -1 : 1;
    const unsigned char *p = x->data, *q = y->data;
    if (p != q) return p < q ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static int add_tensor(st_file *f, st_tensor *t) {
    if (f->n == f->cap) {
        int nc = f->cap ? 2 * f->cap : 64;
        st_tensor *nt = realloc(f->t, (size_t)nc * sizeof *nt);
        if (!nt) return -1;
        f->t = nt; f->cap = nc;
    }
    f->t[f->n++] = *t;
    return 0;
}

/* mmaps path, validates its header and appends its tensors (shard index si). */
static int load_shard(st_file *f, int si, mrl_err *e) {
    shard *s = &f->sh[si];
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err_set(e, 1, "%s: %s", s->path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) { close(fd); return err_set(e, 1, "%s: not a regular file", s->path); }
    s->len = (size_t)st.st_size;
    if (s->len < 8) { close(fd); return err_set(e, 1, "%s: file is %zu bytes, too short for a safetensors header", s->path, s->len); }
    void *m = mmap(NULL, s->len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return err_set(e, 3, "%s: mmap: %s", s->path, strerror(errno));
    s->map = m;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | s->map[i];
    if (hlen > ST_MAX_HEADER)
        return err_set(e, 1, "%s: header length %llu exceeds the limit of %u bytes", s->path, (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen > s->len - 8)
        return err_set(e, 1, "%s: header length %llu runs past the end of the file (%zu bytes)", s->path, (unsigned long long)hlen, s->len);
    if (hlen < 2) return err_set(e, 1, "%s: header length %llu is too short for a JSON object", s->path, (unsigned long long)hlen);
    jv h = jv_parse_sized((const char *)s->map + 8, (int)hlen);
    if (!jv_is_valid(h)) {
        char why[256];
        return err_set(e, 1, "%s: header is not valid JSON: %s", s->path, jv_parse_error(h, "parse error", why, sizeof why));
    }
    if (jv_get_kind(h) != JV_KIND_OBJECT) { jv_free(h); return err_set(e, 1, "%s: header is not a JSON object", s->path); }
    const char *keys[2] = {NULL, NULL};
    int klen[2] = {0, 0};
    size_t tlen = 0, tok = header_bad_token((const char *)s->map + 8, (size_t)hlen, &tlen, keys, klen);
    if (tok < hlen) {   /* after the JSON checks, before the entries' (which would read 4.0 as 4) */
        jv_free(h);
        const char *t = (const char *)s->map + 8 + tok;
        int nul = !*t;   /* a NUL byte, which libjq lets through between tokens: shown as \0 */
        return err_set(e, 1, "%s: header: \"%.*s\": %.*s: '%.*s%s' at byte %zu of the header is not a non-negative "
                       "integer (safetensors writes shapes and offsets in digits only)", s->path,
                       klen[0] > 120 ? 120 : klen[0], keys[0], klen[1], keys[1], nul ? 2 : (int)(tlen > 16 ? 16 : tlen),
                       nul ? "\\0" : t, tlen > 16 ? "..." : "", tok + 1);
    }
    size_t data_len = s->len - 8 - (size_t)hlen;
    const unsigned char *data = s->map + 8 + hlen;
    int first = f->n, rc = 0;
    jv_object_foreach(h, key, val) {
        const char *name = jv_string_value(key);
        if (rc) { jv_free(key); jv_free(val); continue; }
        if (!strcmp(name, "__metadata__")) {
            if (jv_get_kind(val) == JV_KIND_NULL) {}   /* none, as safetensors reads it */
            else if (jv_get_kind(val) != JV_KIND_OBJECT) rc = err_set(e, 1, "%s: __metadata__ is not an object", s->path);
            else {
                jv_object_foreach(val, mk, mv) {
                    if (!rc && jv_get_kind(mv) != JV_KIND_STRING)
                        rc = err_set(e, 1, "%s: __metadata__ \"%.100s\" is not a string", s->path, jv_string_value(mk));
                    jv_free(mk); jv_free(mv);
                }
                if (!rc && si == 0) { jv_free(f->meta); f->meta = jv_copy(val); }
            }
            jv_free(key); jv_free(val);
            continue;
        }
        st_tensor t = {0};
        t.shard = si;
        if (parse_entry(name, val, data_len, &t, data, e)) rc = err_prefix(e, "%s", s->path);
        else if (!(t.name = strdup(name)) || add_tensor(f, &t)) {
            free((char *)t.name);
            rc = err_set(e, 3, "out of memory");
        }
        jv_free(key);
    }
    jv_free(h);
    if (rc) return -1;
    /* In data order the tensors cover the data area exactly, as safetensors requires (safe_open
     * refuses a gap, bytes before the first or after the last: "invalid offset", "file not fully
     * covered"): each begins where the one before ends; an empty one there too. */
    if (f->n > first) qsort(f->t + first, (size_t)(f->n - first), sizeof *f->t, cmp_by_offset);
    const st_tensor *prev = NULL;
    size_t pos = 0;
    for (int i = first; i < f->n; i++) {
        const st_tensor *t = &f->t[i];
        size_t b = (size_t)((const unsigned char *)t->data - data);
        if (b < pos)
            return err_set(e, 1, "%s: \"%s\" overlaps \"%s\" in the data area", s->path, t->name, prev->name);
        if (b > pos && prev)
            return err_set(e, 1, "%s: \"%s\" begins at data offset %zu, but \"%s\" ends at %zu: %zu bytes that no "
                           "tensor holds (a gap, or a name given twice)", s->path, t->name, b, prev->name, pos, b - pos);
        if (b > pos)
            return err_set(e, 1, "%s: the first tensor, \"%s\", begins at data offset %zu, not 0: %zu bytes that no "
                           "tensor holds (a gap, or a name given twice)", s->path, t->name, b, b);
        pos = b + t->nbytes;
        if (t->nbytes || !prev) prev = t;
    }
    if (pos != data_len)
        return err_set(e, 1, "%s: the tensors end at data offset %zu, but the data area is %zu bytes: %zu bytes "
                       "after the last that no tensor holds", s->path, pos, data_len, data_len - pos);
    return 0;
}

static int build_index(st_file *f, mrl_err *e) {
    f->hcap = 16;
    while (f->hcap < 2 * f->n) f->hcap *= 2;
    if (!(f->hash = malloc((size_t)f->hcap * sizeof *f->hash))) return err_set(e, 3, "out of memory");
    for (int i = 0; i < f->hcap; i++) f->hash[i] = -1;
    for (int i = 0; i < f->n; i++) {
        size_t h = name_hash(f->t[i].name) & (size_t)(f->hcap - 1);
        while (f->hash[h] >= 0) {
            const st_tensor *o = &f->t[f->hash[h]];
            if (!strcmp(o->name, f->t[i].name))
                return err_set(e, 1, "%s: \"%s\" is in both %s and %s", f->path, o->name,
                               f->sh[o->shard].path, f->sh[f->t[i].shard].path);
            h = (h + 1) & (size_t)(f->hcap - 1);
        }
        f->hash[h] = i;
    }
    return 0;
}

const st_tensor *st_find(const st_file *f, const char *name) {
    if (!f->hash) return NULL;
    size_t h = name_hash(name) & (size_t)(f->hcap - 1);
    for (; f->hash[h] >= 0; h = (h + 1) & (size_t)(f->hcap - 1))
        if (!strcmp(f->t[f->hash[h]].name, name)) return &f->t[f->hash[h]];
    return NULL;
}

static char *read_small(const char *path, size_t cap, size_t *len, mrl_err *e) {
    char *buf;
    int rc = file_read(path, cap, &buf, len);
    if (rc == ENOMEM) err_set(e, 3, "out of memory");
    else if (rc == EFBIG) err_set(e, 1, "%s: larger than %zu bytes", path, cap);
    else if (rc) err_set(e, 1, "%s: %s", path, strerror(rc));
    return buf;
}

/* A shard's file name as the index gives it, "./" prefixes dropped ("./model-1.safetensors" and
 * "model-1.safetensors" are one shard, as transformers reads the index). */
static const char *shard_name(const char *fn) {
    while (fn[0] == '.' && fn[1] == '/') fn += 2;
    return fn;
}

/* Reads an index: the shard files of weight_map (relative to the index's directory), then
 * checks that each listed tensor sits in the shard the index names. */
static int open_index(st_file *f, const char *ipath, mrl_err *e) {
    size_t len;
    char *txt = read_small(ipath, ST_MAX_HEADER, &len, e);
    if (!txt) return -1;
    jv idx = jv_parse_sized(txt, (int)len);
    free(txt);
    int rc = -1;
    jv wm = jv_invalid();
    if (!jv_is_valid(idx)) {
        char why[256];
        return err_set(e, 1, "%s: not valid JSON: %s", ipath, jv_parse_error(idx, "parse error", why, sizeof why));
    }
    if (jv_get_kind(idx) != JV_KIND_OBJECT) { err_set(e, 1, "%s: not a JSON object", ipath); goto out; }
    wm = jv_object_get(jv_copy(idx), jv_string("weight_map"));
    if (jv_get_kind(wm) != JV_KIND_OBJECT) { err_set(e, 1, "%s: \"weight_map\" is missing or not an object", ipath); goto out; }
    const char *slash = strrchr(ipath, '/');
    int dirlen = slash ? (int)(slash - ipath + 1) : 0;
    int bad = 0;
    jv_object_foreach(wm, k, v) {
        if (!bad && jv_get_kind(v) != JV_KIND_STRING) {
            bad = err_set(e, 1, "%s: \"%.100s\": shard name is not a string", ipath, jv_string_value(k));
        } else if (!bad) {
            const char *fn = jv_string_value(v);
            fn = shard_name(fn);
            if (!*fn || fn[0] == '/' || strstr(fn, "..")) bad = err_set(e, 1, "%s: shard name \"%.100s\" refused", ipath, fn);
            int known = 0;
            for (int i = 0; !bad && i < f->nsh && !known; i++) known = !strcmp(f->sh[i].path + dirlen, fn);
            if (!bad && !known) {
                shard *ns = realloc(f->sh, (size_t)(f->nsh + 1) * sizeof *ns);
                char *p = malloc((size_t)dirlen + strlen(fn) + 1);
                if (ns) f->sh = ns;
                if (!ns || !p) { free(p); bad = err_set(e, 3, "out of memory"); }
                else {
                    memcpy(p, ipath, (size_t)dirlen); strcpy(p + dirlen, fn);
                    f->sh[f->nsh++] = (shard){p, NULL, 0};
                }
            }
        }
        jv_free(k); jv_free(v);
    }
    if (bad) goto out;
    if (!f->nsh) { err_set(e, 1, "%s: \"weight_map\" is empty", ipath); goto out; }
    for (int i = 0; i < f->nsh; i++) if (load_shard(f, i, e)) goto out;
    if (build_index(f, e)) goto out;
    jv_object_foreach(wm, k, v) {
        const st_tensor *t = bad ? NULL : st_find(f, jv_string_value(k));
        if (!bad && !t) bad = err_set(e, 1, "%s: \"%.100s\" is listed but in no shard", ipath, jv_string_value(k));
        else if (!bad && strcmp(f->sh[t->shard].path + dirlen, shard_name(jv_string_value(v))))
            bad = err_set(e, 1, "%s: \"%.100s\" is listed in %.100s but found in %s", ipath, jv_string_value(k),
                          jv_string_value(v), f->sh[t->shard].path);
        jv_free(k); jv_free(v);
    }
    rc = bad ? -1 : 0;
out:
    jv_free(wm); jv_free(idx);
    return rc;
}

static int is_dir(const char *p) { struct stat st; return !stat(p, &st) && S_ISDIR(st.st_mode); }
static int exists(const char *p) { struct stat st; return !stat(p, &st); }
static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

st_file *st_open(const char *path, mrl_err *e) {
    st_file *f = calloc(1, sizeof *f);
    char *buf = NULL;
    if (!f || !(f->path = strdup(path))) { free(f); err_set(e, 3, "out of memory"); return NULL; }
    f->meta = jv_null();
    const char *file = path;
    if (is_dir(path)) {
        size_t n = strlen(path) + 40;
        if (!(buf = malloc(n))) { err_set(e, 3, "out of memory"); goto fail; }
        snprintf(buf, n, "%s/model.safetensors", path);
        if (!exists(buf)) {
            snprintf(buf, n, "%s/model.safetensors.index.json", path);
            if (!exists(buf)) {
                /* a PyTorch pickle checkpoint (the older Hugging Face format) is not read: say how to convert it */
                const char *pt = "pytorch_model.bin";
                snprintf(buf, n, "%s/%s", path, pt);
                if (!exists(buf)) { pt = "pytorch_model.bin.index.json"; snprintf(buf, n, "%s/%s", path, pt); }
                if (!exists(buf)) pt = NULL;
                if (pt) err_set(e, 1, "%s: no model.safetensors or model.safetensors.index.json (it has %s, which mrl does not "
                                "read: save the model as safetensors with transformers, model.save_pretrained(DIR, "
                                "safe_serialization=True))", path, pt);
                else err_set(e, 1, "%s: no model.safetensors or model.safetensors.index.json", path);
                goto fail;
            }
        }
        file = buf;
    }
    if (ends_with(file, ".json")) {
        if (open_index(f, file, e)) goto fail;
    } else {
        if (!(f->sh = calloc(1, sizeof *f->sh)) || !(f->sh[0].path = strdup(file))) { err_set(e, 3, "out of memory"); goto fail; }
        f->nsh = 1;
        if (load_shard(f, 0, e) || build_index(f, e)) goto fail;
    }
    free(buf);
    return f;
fail:
    free(buf);
    st_close(f);
    return NULL;
}

void st_close(st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->nsh; i++) {
        if (f->sh[i].map) munmap(f->sh[i].map, f->sh[i].len);
        free(f->sh[i].path);
    }
    for (int i = 0; i < f->n; i++) free((char *)f->t[i].name);
    jv_free(f->meta);
    free(f->sh); free(f->t); free(f->hash); free(f->path); free(f);
}

int st_count(const st_file *f) { return f->n; }
const st_tensor *st_at(const st_file *f, int i) { return i >= 0 && i < f->n ? &f->t[i] : NULL; }

const char *st_metadata(const st_file *f, const char *key) {
    if (jv_get_kind(f->meta) != JV_KIND_OBJECT) return NULL;
    jv v = jv_object_get(jv_copy(f->meta), jv_string(key));
    const char *s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
    jv_free(v);   /* the string lives on inside f->meta */
    return s;
}

int st_read_f32(const st_tensor *t, float *dst, mrl_err *e) {
    if (dtype_to_f32(t->dtype, t->data, dst, t->numel))
        return err_set(e, 1, "\"%s\" has dtype %s, not a float type", t->name, dtype_name(t->dtype));
    return 0;
}

/* ---- Qwen2 layout ---- */
static void put(qwen2_tensor *out, int cap, int *n, qwen2_kind k, int layer, const char *name, int nd,
                int64_t s0, int64_t s1) {
    if (out && *n < cap) {
        qwen2_tensor *q = &out[*n];
        q->kind = k; q->layer = layer; q->ndim = nd; q->shape[0] = s0; q->shape[1] = nd > 1 ? s1 : 0;
        q->numel = (size_t)s0 * (size_t)(nd > 1 ? s1 : 1);
        snprintf(q->name, sizeof q->name, "%s", name);
    }
    (*n)++;
}
int qwen2_tensors(const mrl_config *c, qwen2_tensor *out, int cap) {
    static const struct { qwen2_kind k; const char *suffix; } per_layer[] = {
        {QW_LN1, "input_layernorm.weight"},
        {QW_QW, "self_attn.q_proj.weight"}, {QW_QB, "self_attn.q_proj.bias"},
        {QW_KW, "self_attn.k_proj.weight"}, {QW_KB, "self_attn.k_proj.bias"},
        {QW_VW, "self_attn.v_proj.weight"}, {QW_VB, "self_attn.v_proj.bias"},
        {QW_OW, "self_attn.o_proj.weight"}, {QW_LN2, "post_attention_layernorm.weight"},
        {QW_GATE, "mlp.gate_proj.weight"}, {QW_UP, "mlp.up_proj.weight"}, {QW_DOWN, "mlp.down_proj.weight"},
    };
    int64_t V = c->vocab_size, C = c->hidden_size, F = c->intermediate_size;
    int64_t Q = (int64_t)c->num_heads * c->head_dim, K = (int64_t)c->num_kv_heads * c->head_dim;
    int n = 0;
    put(out, cap, &n, QW_EMBED, -1, "model.embed_tokens.weight", 2, V, C);
    for (int l = 0; l < c->num_layers; l++)
        for (size_t j = 0; j < sizeof per_layer / sizeof *per_layer; j++) {
            qwen2_kind k = per_layer[j].k;
            int64_t s0, s1 = 0; int nd = 2;
            switch (k) {
            case QW_LN1: case QW_LN2: s0 = C; nd = 1; break;
            case QW_QW: s0 = Q; s1 = C; break;
            case QW_QB: s0 = Q; nd = 1; break;
            case QW_KW: case QW_VW: s0 = K; s1 = C; break;
            case QW_KB: case QW_VB: s0 = K; nd = 1; break;
            case QW_OW: s0 = C; s1 = Q; break;
            case QW_GATE: case QW_UP: s0 = F; s1 = C; break;
            default: s0 = C; s1 = F; break;   /* QW_DOWN */
            }
            char nm[96];
            snprintf(nm, sizeof nm, "model.layers.%d.%s", l, per_layer[j].suffix);
            put(out, cap, &n, k, l, nm, nd, s0, s1);
        }
    put(out, cap, &n, QW_NORM, -1, "model.norm.weight", 1, C, 0);
    if (!c->tie_word_embeddings) put(out, cap, &n, QW_LMHEAD, -1, "lm_head.weight", 2, V, C);
    return n;
}

int st_check_qwen2(const st_file *f, const mrl_config *c, mrl_err *e) {
    int n = qwen2_tensors(c, NULL, 0);
    qwen2_tensor *q = malloc((size_t)n * sizeof *q);
    if (!q) return err_set(e, 3, "out of memory");
    qwen2_tensors(c, q, n);
    int rc = 0;
    char a[160], b[160];
    /* the dtype config.json names is the one its tensors are in; a config that names none
       (float32 to transformers, which converts whatever the file holds) checks none */
    int want = c->dtype_named ? dtype_parse_torch(c->torch_dtype) : -1;
    for (int i = 0; i < n && !rc; i++) {
        const st_tensor *t = st_find(f, q[i].name);
        if (!t) { rc = err_set(e, 1, "%s: \"%s\" is missing", f->path, q[i].name); break; }
        /* a tensor that is there but wrong is named with the file that holds it (the shard of a
           sharded checkpoint); a missing one with what was searched */
        const char *in = f->sh[t->shard].path;
        if (t->dtype != ST_F32 && t->dtype != ST_BF16 && t->dtype != ST_F16)
            rc = err_set(e, 1, "%s: \"%s\" has dtype %s, expected F32, BF16 or F16", in, t->name, dtype_name(t->dtype));
        else if (want >= 0 && t->dtype != (st_dtype)want)
            rc = err_set(e, 1, "%s: \"%s\" has dtype %s, but config.json's dtype is %s (%s)", in, t->name,
                         dtype_name(t->dtype), c->torch_dtype, dtype_name((st_dtype)want));
        else if (t->ndim != q[i].ndim || t->shape[0] != q[i].shape[0] || (q[i].ndim > 1 && t->shape[1] != q[i].shape[1])) {
            shape_str(a, sizeof a, t->ndim, t->shape);
            shape_str(b, sizeof b, q[i].ndim, q[i].shape);
            rc = err_set(e, 1, "%s: \"%s\" has shape %s, config.json implies %s", in, t->name, a, b);
        }
    }
    /* Anything else is a sign of another architecture or a config that disagrees (more
     * layers in the file than in config.json); transformers ignores only these. */
    for (int i = 0; i < f->n && !rc; i++) {
        const char *nm = f->t[i].name;
        if (ends_with(nm, "rotary_emb.inv_freq")) continue;
        if (c->tie_word_embeddings && !strcmp(nm, "lm_head.weight")) {
            /* a tied model's file that holds its head as well: the same values are the tie
               written out (ignored, as transformers does); other values are another model for
               each transformers (4 ties them, overwriting the head; 5 keeps the head), so
               neither reading is taken in silence */
            const st_tensor *h = &f->t[i], *emb = st_find(f, "model.embed_tokens.weight");
            if (emb && (h->dtype != emb->dtype || h->nbytes != emb->nbytes || memcmp(h->data, emb->data, h->nbytes)))
                rc = err_set(e, 1, "%s: \"lm_head.weight\" differs from \"model.embed_tokens.weight\", but config.json ties "
                             "them (tie_word_embeddings: true; transformers 4 reads the embedding, 5 the head): set it to "
                             "false to use the head, or remove lm_head.weight", f->sh[h->shard].path);
            continue;
        }
        int found = 0;
        for (int j = 0; j < n && !found; j++) found = !strcmp(q[j].name, nm);
        if (!found) rc = err_set(e, 1, "%s: unexpected tensor \"%s\" (not in the Qwen2 layout config.json implies)", f->sh[f->t[i].shard].path, nm);
    }
    free(q);
    return rc;
}
