/* jqf.c — a jq program compiled once with libjq and run on each record; plus the
 * small record accessors every tool needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jq.h>
#include <oniguruma.h>
#include <pthread.h>
#include "jqf.h"
#include "rng.h"
#include "safetensors.h"

struct jqf {
    jq_state *jq;
    char *text;
    int bare;         /* compiled without jqf_prelude (the program opens with a module directive) */
    int no_input;     /* this run's `input` found no more inputs */
    int quiet;        /* debug prints nothing (jqf_first_key's second run of a filter) */
    struct jqf *path; /* first(path(text)), compiled on jqf_first_key's first call */
    int nopath;       /* ... which does not compile (a module directive first) */
    char cerr[512];   /* compile messages arrive through a callback; kept for the usage error */
};

static void jqf_on_error(void *data, jv msg) {
    jqf *f = data;
    if (jv_get_kind(msg) == JV_KIND_STRING && !f->cerr[0])
        snprintf(f->cerr, sizeof f->cerr, "%s", jv_string_value(msg));
    jv_free(msg);
}

/* `debug` prints as jq's command line does; libjq 1.6 leaves the callback unset and calls it. */
static void jqf_on_debug(void *data, jv msg) {
    if (((jqf *)data)->quiet) { jv_free(msg); return; }
    jv d = jv_dump_string(JV_ARRAY(jv_string("DEBUG:"), msg), 0);
    fprintf(stderr, "%s\n", jv_string_value(d));
    jv_free(d);
}
/* `input` / `inputs`: a record is the filter's only input. The error is the one libjq 1.6's
 * `input` raises at the end of jq's own input, "break", which its `inputs` (try repeat(_input)
 * catch if . == "break" then empty ...) takes for the end: `[inputs]` is [] as in jq on a last
 * record, not an error. jqf_first names it when it ends a filter (f->no_input). */
static jv jqf_no_input(jq_state *jq, void *data) {
    (void)jq;
    ((jqf *)data)->no_input = 1;
    return jv_invalid_with_msg(jv_string("break"));
}

/* libjq 1.6 compiles a regex (test, match, sub, ...) with onig_new when the filter runs; the
 * first onig_new of a process initialises Oniguruma (global tables grown by realloc) with no
 * lock, so threads whose first regexes ran at once (mfilter -j's --where) crashed now and then
 * (a double free). Initialised here, in the thread that compiles, before any filter runs. */
static void jqf_onig_init(void) {
    OnigEncoding enc[] = {ONIG_ENCODING_UTF8};   /* the one libjq compiles its regexes with */
    onig_initialize(enc, 1);
}

/* What libjq calls when an allocation fails (jqf_on_nomem), else it aborts. A jq state installs
 * its own handler (none by default) for the thread on every run, so each state gets this one. */
static void (*jqf_nomem)(void *);
void jqf_on_nomem(void (*fn)(void *)) {
    jqf_nomem = fn;
    jv_nomem_handler(fn, NULL);   /* the calling thread's, outside any filter */
}
void jqf_nomem_thread(void) {
    if (jqf_nomem) jv_nomem_handler(jqf_nomem, NULL);
}

/* A fresh jq state with mrl's callbacks and attributes; NULL when out of memory. */
static jq_state *jqf_state(jqf *f) {
    jq_state *jq = jq_init();
    if (!jq) return NULL;
    if (jqf_nomem) jq_set_nomem_handler(jq, jqf_nomem, NULL);
    jq_set_error_cb(jq, jqf_on_error, f);
    jq_set_debug_cb(jq, jqf_on_debug, f);
    jq_set_input_cb(jq, jqf_no_input, f);
    /* no default module path (unset, libjq 1.6 asserts on import): modules come only from the
       current directory or an import's own search path, as mrl(7) says */
    jq_set_attr(jq, jv_string("JQ_LIBRARY_PATH"), jv_array());
    return jq;
}

/* libjq 1.6 makes error(null) (and null | error) an error without a message, which jq_next
 * cannot tell from no output: a --where dropped the record without a word. jq 1.7 made it an
 * error like any other; these definitions, put in front of the program, do so here (the message
 * is the text jqf_first gives a non-string value; catch sees that string, as libjq cannot carry
 * null). No newline, so $__loc__ keeps its line. A program whose module directives must come
 * first (import, include) does not compile behind them and is compiled as it is. */
static const char jqf_prelude[] =
    "def _mrl_error(m): error(m); "
    "def error(m): m as $m | if $m == null then _mrl_error(\"null (not a string)\") else _mrl_error($m) end; "
    "def error: error(.); ";

/* f->jq: f->text compiled behind jqf_prelude, or (f->bare) as it is. 1, or 0 when out of memory. */
static int jqf_build(jqf *f) {
    if (!(f->jq = jqf_state(f))) return 0;
    if (f->bare) return jq_compile(f->jq, f->text), 1;   /* compiled once before: it compiles again */
    char *pre = malloc(sizeof jqf_prelude + strlen(f->text));
    if (!pre) { jq_teardown(&f->jq); return 0; }
    memcpy(pre, jqf_prelude, sizeof jqf_prelude - 1);
    strcpy(pre + sizeof jqf_prelude - 1, f->text);
    int ok = jq_compile(f->jq, pre);
    free(pre);
    if (ok) return 1;
    /* a syntax error (its message is the program's own) or a module directive */
    jq_teardown(&f->jq);
    f->cerr[0] = 0;
    f->bare = 1;
    return (f->jq = jqf_state(f)) != NULL;
}

jqf *jqf_compile(const char *program, mrl_err *e) {
    static pthread_once_t onig_once = PTHREAD_ONCE_INIT;
    pthread_once(&onig_once, jqf_onig_init);
    jqf *f = calloc(1, sizeof *f);
    if (!f || !(f->text = strdup(program)) || !jqf_build(f)) {
        if (f) { if (f->jq) jq_teardown(&f->jq); free(f->text); free(f); }
        err_set(e, ERR_SYS, "out of memory");
        return NULL;
    }
    if (f->bare && !jq_compile(f->jq, program)) {
        /* libjq's message is "jq: error: WHAT at <top-level>, line N:\nPROGRAM": WHAT alone, and
           the line where the program has several (the message shows it on one line) */
        char *nl = strchr(f->cerr, '\n');
        if (nl) *nl = 0;
        char *at = strstr(f->cerr, " at <top-level>, line ");
        long line = at && strchr(program, '\n') ? strtol(at + strlen(" at <top-level>, line "), NULL, 10) : 0;
        if ((at = strstr(f->cerr, " at <top-level>"))) *at = 0;
        if (!strncmp(f->cerr, "jq: error: ", 11)) memmove(f->cerr, f->cerr + 11, strlen(f->cerr + 11) + 1);
        char where[40] = "";
        if (line > 0) snprintf(where, sizeof where, " (line %ld)", line);
        err_set(e, ERR_USAGE, "cannot compile jq filter '%s'%s%s%s", program,
                f->cerr[0] ? ": " : "", f->cerr, where);
        err_one_line(e->msg);
        jqf_free(f);
        return NULL;
    }
    return f;
}

/* v as text for a message: a string itself, anything else its JSON text. Consumes v. */
static jv msg_text(jv v) { return jv_get_kind(v) == JV_KIND_STRING ? v : jv_dump_string(v, 0); }

jv jqf_first(jqf *f, jv rec, mrl_err *e) {
    if (!f->jq && !jqf_build(f)) {
        err_set(e, ERR_SYS, "out of memory");
        return jv_invalid();
    }
    f->no_input = 0;
    jq_start(f->jq, jv_copy(rec), 0);
    jv out = jq_next(f->jq);
    if (jv_is_valid(out)) return out;
    if (jq_halted(f->jq)) {   /* halt / halt_error: the filter stopped, which is not "no value" */
        jv m = jq_get_error_message(f->jq);
        /* libjq 1.6's jq_reset (each jq_start, and jq_teardown) frees the halt's message and exit
           code but leaves them in the state, so every later record's jq_start freed them again:
           under --skip-bad the run went on past a halt_error with a freed record or string (an
           abort in malloc or jv.c, or a corrupt heap). The state is rebuilt, its reset freeing
           them once, and the program compiled again for the next record. */
        jq_teardown(&f->jq);
        f->cerr[0] = 0;
        if (jv_is_valid(m)) {
            jv t = msg_text(m);
            err_set(e, ERR_INPUT, "jq filter '%s' halted: %s", f->text, jv_string_value(t));
            err_one_line(e->msg);
            jv_free(t);
        } else {
            jv_free(m);
            err_set(e, ERR_INPUT, "jq filter '%s' halted", f->text);
            err_one_line(e->msg);
        }
        jv_free(out);
        return jv_invalid();
    }
    if (jv_invalid_has_msg(jv_copy(out))) {
        jv msg = jv_invalid_get_msg(out);
        int str = jv_get_kind(msg) == JV_KIND_STRING;
        if (str && f->no_input && !strcmp(jv_string_value(msg), "break")) {
            jv_free(msg);
            msg = jv_string("no more inputs: a filter reads one record");
        }
        jv t = msg_text(msg);
        err_set(e, ERR_INPUT, "jq filter '%s': %s%s", f->text, jv_string_value(t), str ? "" : " (not a string)");
        err_one_line(e->msg);
        jv_free(t);
        return jv_invalid();
    }
    jv_free(out);
    return jv_invalid();
}

const char *jqf_text(const jqf *f) { return f->text; }

const char *jqf_field(const char *p) {
    static const char word[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    /* not a digit first: `.1` is the number 0.1 to jq, not the field "1" */
    return p[0] == '.' && p[1] && !(p[1] >= '0' && p[1] <= '9') && strspn(p + 1, word) == strlen(p + 1) ? p + 1 : NULL;
}

const char *jqf_wrong(const jqf *f, const char *opt, jv v, const char *want, char *buf, size_t n) {
    const char *field = jqf_field(f->text);
    char why[80];
    if (field) snprintf(buf, n, "\"%s\" %s", field, jv_wrong(v, want, why, sizeof why));
    else snprintf(buf, n, "%s '%.300s' gave %s, not %s", opt, f->text,
                  jv_is_valid(v) ? jv_kind_phrase(jv_get_kind(v)) : "nothing", want);
    err_one_line(buf);   /* whatever the filter's text */
    return buf;
}

char *jqf_first_key(jqf *f, jv rec) {
    const char *field = jqf_field(f->text);
    if (field) return strdup(field);
    if (!f->path && !f->nopath) {
        /* the newline ends a comment the program may end with */
        size_t n = strlen(f->text) + sizeof "first(path(\n))";
        char *p = malloc(n);
        mrl_err e = {0};
        if (p) snprintf(p, n, "first(path(%s\n))", f->text);
        if (!p || !(f->path = jqf_compile(p, &e))) f->nopath = 1;
        else f->path->quiet = 1;   /* its debug already printed in the run that gave the value */
        free(p);
    }
    if (!f->path) return NULL;
    mrl_err e = {0};   /* not a path expression (.a | tonumber), or any error: no field */
    jv p = jqf_first(f->path, rec, &e);
    char *key = NULL;
    if (jv_get_kind(p) == JV_KIND_ARRAY && jv_array_length(jv_copy(p)) == 1) {
        jv k = jv_array_get(jv_copy(p), 0);
        if (jv_get_kind(k) == JV_KIND_STRING && strlen(jv_string_value(k)) == (size_t)jv_string_length_bytes(jv_copy(k)))
            key = strdup(jv_string_value(k));
        jv_free(k);
    }
    jv_free(p);
    return key;
}

void jqf_free(jqf *f) {
    if (!f) return;
    jqf_free(f->path);
    if (f->jq) jq_teardown(&f->jq);
    free(f->text);
    free(f);
}

jv jv_no_nul(jv s) {
    if (jv_get_kind(s) != JV_KIND_STRING) return s;
    const char *p = jv_string_value(s);
    size_t n = (size_t)jv_string_length_bytes(jv_copy(s)), nul = 0;
    for (size_t i = 0; i < n; i++) nul += p[i] == 0;
    if (!nul) return s;
    char *b = malloc(n + 2 * nul + 1);
    if (!b) return s;   /* out of memory: the text as C code sees it, cut at the NUL */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i]) b[k++] = p[i];
        else b[k++] = (char)0xEF, b[k++] = (char)0xBF, b[k++] = (char)0xBD;
    jv r = jv_string_sized(b, (int)k);
    free(b);
    jv_free(s);
    return r;
}

static jv canon(jv v) {
    switch (jv_get_kind(v)) {
    case JV_KIND_NUMBER: { double d = jv_number_value(v); jv_free(v); return jv_number(d); }
    case JV_KIND_ARRAY: {
        int n = jv_array_length(jv_copy(v));
        for (int i = 0; i < n; i++) v = jv_array_set(v, i, canon(jv_array_get(jv_copy(v), i)));
        return v;
    }
    case JV_KIND_OBJECT: {
        jv out = jv_object();
        jv_object_foreach(v, k, x) out = jv_object_set(out, k, canon(x));
        jv_free(v);
        return out;
    }
    default: return v;
    }
}
jv jv_dump_canonical(jv v) { return jv_dump_string(canon(v), 0); }

uint64_t rec_id_hash(jv rec) {
    jv d = jv_dump_canonical(jv_object_get(jv_copy(rec), jv_string("id")));
    uint64_t h = rng_hash_str(jv_string_value(d));
    jv_free(d);
    return h;
}

char *jv_key_text(jv s) {
    const char *p = jv_string_value(s);
    int nul = strlen(p) != (size_t)jv_string_length_bytes(jv_copy(s));
    if (!nul && p[0] != '\x01') return strdup(p);
    jv d = nul ? jv_dump_string(jv_copy(s), 0) : jv_copy(s);
    const char *t = jv_string_value(d);
    size_t n = strlen(t);
    char *r = malloc(n + 2);
    if (r) { r[0] = '\x01'; memcpy(r + 1, t, n + 1); }
    jv_free(d);
    return r;
}

const char *rec_str(jv rec, const char *field) {
    if (jv_get_kind(rec) != JV_KIND_OBJECT) return NULL;
    jv v = jv_object_get(jv_copy(rec), jv_string(field));
    if (jv_get_kind(v) != JV_KIND_STRING) { jv_free(v); return NULL; }
    const char *s = jv_string_value(v);
    jv_free(v);   /* rec still holds a reference, so s stays valid while rec lives */
    return s;
}

int rec_num(jv rec, const char *field, double *out) {
    if (jv_get_kind(rec) != JV_KIND_OBJECT) return -1;
    jv v = jv_object_get(jv_copy(rec), jv_string(field));
    if (jv_get_kind(v) != JV_KIND_NUMBER) { jv_free(v); return -1; }
    *out = jv_number_value(v);
    jv_free(v);
    return 0;
}

const char *jv_kind_phrase(jv_kind k) {
    switch (k) {
    case JV_KIND_STRING: return "a string";
    case JV_KIND_NUMBER: return "a number";
    case JV_KIND_ARRAY: return "an array";
    case JV_KIND_OBJECT: return "an object";
    case JV_KIND_TRUE: case JV_KIND_FALSE: return "a boolean";
    case JV_KIND_NULL: return "null";
    default: return "nothing";
    }
}

const char *jv_parse_error(jv invalid, const char *dflt, char *buf, size_t n) {
    jv msg = jv_invalid_get_msg(invalid);
    const char *m = jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : dflt;
    const char *cut = strstr(m, " (while parsing");
    snprintf(buf, n, "%.*s", cut ? (int)(cut - m) : (int)strlen(m), m);
    jv_free(msg);
    return buf;
}

const char *jv_wrong(jv v, const char *want, char *buf, size_t n) {
    jv_kind k = jv_get_kind(v);
    if (k == JV_KIND_INVALID || k == JV_KIND_NULL) snprintf(buf, n, "is missing");
    else snprintf(buf, n, "is %s, not %s", jv_kind_phrase(k), want);
    return buf;
}

jv rec_with_id(jv rec, jv id) {
    jv old = jv_object_get(jv_copy(rec), jv_string("id"));
    int has = jv_is_valid(old);
    jv_free(old);
    if (has) return jv_object_set(rec, jv_string("id"), id);
    jv out = jv_object_set(jv_object(), jv_string("id"), id);
    jv_object_foreach(rec, k, v) out = jv_object_set(out, k, v);
    jv_free(rec);
    return out;
}

int rec_optional(jv rec, const char *field, jv_kind k, char *msg, size_t n) {
    if (jv_get_kind(rec) != JV_KIND_OBJECT) return 0;
    jv v = jv_object_get(jv_copy(rec), jv_string(field));
    jv_kind got = jv_get_kind(v);
    char why[80];
    if (got != JV_KIND_INVALID && got != JV_KIND_NULL && got != k)
        snprintf(msg, n, "\"%s\" %s", field, jv_wrong(v, jv_kind_phrase(k), why, sizeof why));
    jv_free(v);
    return got == JV_KIND_INVALID || got == JV_KIND_NULL || got == k ? 0 : -1;
}

int rec_finish(jv rec, int *truncated, char *msg, size_t n) {
    *truncated = 0;
    if (rec_optional(rec, "finish", JV_KIND_STRING, msg, n) < 0) return -1;
    const char *f = rec_str(rec, "finish");
    if (!f || !strcmp(f, "stop")) return 0;
    if (!strcmp(f, "length")) { *truncated = 1; return 0; }
    jv v = jv_object_get(jv_copy(rec), jv_string("finish"));
    jv d = jv_dump_string(v, 0);   /* quoted and escaped as in the record */
    const char *t = jv_string_value(d);
    int len = jv_string_length_bytes(jv_copy(d)), cut = len > 60 ? 60 : len;
    while (cut < len && cut > 0 && ((unsigned char)t[cut] & 0xC0) == 0x80) cut--;   /* at a character's start */
    snprintf(msg, n, "\"finish\" is %.*s%s, not \"stop\" or \"length\"", cut, t, cut < len ? "..." : "");
    jv_free(d);
    return -1;
}

int json_write_file(const char *path, jv v, int flags, mrl_err *e) {
    jv txt = jv_dump_string(v, flags);
    size_t n = (size_t)jv_string_length_bytes(jv_copy(txt));
    char *buf = malloc(n + 1);
    int rc;
    if (!buf) rc = err_set(e, 3, "out of memory");
    else {
        memcpy(buf, jv_string_value(txt), n);
        buf[n] = '\n';
        rc = st_write_file_atomic(path, buf, n + 1, e);
        free(buf);
    }
    jv_free(txt);
    return rc;
}
