/* jqf.c — a jq program compiled once with libjq and run on each record; plus the
 * small record accessors every tool needs. */
#include <stdlib.h>
#include <string.h>
#include <jq.h>
#include "jqf.h"

struct jqf {
    jq_state *jq;
    char *text;
    char cerr[512];   /* compile messages arrive through a callback; kept for the usage error */
};

static void jqf_on_error(void *data, jv msg) {
    jqf *f = data;
    if (jv_get_kind(msg) == JV_KIND_STRING && !f->cerr[0])
        snprintf(f->cerr, sizeof f->cerr, "%s", jv_string_value(msg));
    jv_free(msg);
}

jqf *jqf_compile(const char *program, mrl_err *e) {
    jqf *f = calloc(1, sizeof *f);
    if (!f || !(f->text = strdup(program)) || !(f->jq = jq_init())) {
        if (f) { free(f->text); free(f); }
        err_set(e, ERR_SYS, "out of memory");
        return NULL;
    }
    jq_set_error_cb(f->jq, jqf_on_error, f);
    if (!jq_compile(f->jq, program)) {
        /* libjq's message ends "...at <top-level>, line 1:\nPROGRAM"; keep its first line */
        char *nl = strchr(f->cerr, '\n');
        if (nl) *nl = 0;
        err_set(e, ERR_USAGE, "cannot compile jq filter '%s'%s%s", program,
                f->cerr[0] ? ": " : "", f->cerr);
        jqf_free(f);
        return NULL;
    }
    return f;
}

jv jqf_first(jqf *f, jv rec, mrl_err *e) {
    jq_start(f->jq, jv_copy(rec), 0);
    jv out = jq_next(f->jq);
    if (jv_is_valid(out)) return out;
    if (jv_invalid_has_msg(jv_copy(out))) {
        jv msg = jv_invalid_get_msg(out);
        if (jv_get_kind(msg) == JV_KIND_STRING) {
            err_set(e, ERR_INPUT, "jq filter '%s': %s", f->text, jv_string_value(msg));
        } else {
            jv s = jv_dump_string(msg, 0);
            err_set(e, ERR_INPUT, "jq filter '%s': %s (not a string)", f->text, jv_string_value(s));
            jv_free(s);
            return jv_invalid();
        }
        jv_free(msg);
        return jv_invalid();
    }
    jv_free(out);
    return jv_invalid();
}

const char *jqf_text(const jqf *f) { return f->text; }

void jqf_free(jqf *f) {
    if (!f) return;
    if (f->jq) jq_teardown(&f->jq);
    free(f->text);
    free(f);
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
