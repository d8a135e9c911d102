/* fuzz_template.c — libFuzzer target for chat templates (template.c): arbitrary bytes as
 * "TEMPLATE\0SYSTEM\0PROBLEM" — TEMPLATE is written to a file and loaded as --template FILE
 * does; SYSTEM goes through tmpl_system as @FILE and as an argument; PROBLEM (NULs and all) is
 * rendered. A refusal must say why, on one line; a template file loads exactly when it is
 * UTF-8 text with a {problem}; an @FILE system text is the file's, trailing newlines dropped,
 * and the same bytes as an argument (one not starting with @) are taken as they are or refused
 * alike. A rendering is deterministic, has the length it reports, and equals a reference that
 * cuts the template at each {system}/{problem} (strstr) — so a template with one {problem}
 * holds the problem verbatim, and placeholders inside the system or problem text stay as they
 * are. The built-in r1 and plain templates render the same system and problem as tokenizer.h
 * says. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tokenizer.h"

static char dir[256], tpath[300], spath[300];
static mrl_template *r1, *plain;

static int one_line(const char *m) { return m[0] && !strchr(m, '\n'); }

static int write_file(const char *p, const void *b, size_t n) {
    FILE *f = fopen(p, "wb");
    if (!f) return -1;
    int ok = fwrite(b, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* The template t with every {system} and {problem} replaced, in *n bytes. */
static char *reference(const char *t, const char *sys, const char *prob, size_t np, size_t *n) {
    size_t ns = strlen(sys), cap = strlen(t) + 1;
    for (const char *p = t; (p = strchr(p, '{')); p++) cap += ns + np;
    char *out = malloc(cap);
    size_t k = 0;
    for (const char *p = t;;) {
        const char *a = strstr(p, "{system}"), *b = strstr(p, "{problem}");
        const char *next = a && (!b || a < b) ? a : b;
        size_t gap = next ? (size_t)(next - p) : strlen(p);
        memcpy(out + k, p, gap), k += gap;
        if (!next) break;
        if (next == a) memcpy(out + k, sys, ns), k += ns, p = next + 8;
        else memcpy(out + k, prob, np), k += np, p = next + 9;
    }
    out[k] = 0;
    *n = k;
    return out;
}

static void check_render(const mrl_template *tp, const char *t, const char *sys, const char *prob, size_t np) {
    size_t n1 = (size_t)-1, n2 = (size_t)-1, nr;
    char *a = tmpl_render(tp, sys, prob, np, &n1), *b = tmpl_render(tp, sys, prob, np, &n2);
    if (!a || !b) abort();
    if (n1 != n2 || memcmp(a, b, n1 + 1)) abort();   /* deterministic, NUL-terminated */
    char *want = reference(t, sys, prob, np, &nr);
    if (nr != n1 || memcmp(a, want, nr)) abort();
    /* one {problem}: the problem is there byte for byte */
    const char *p = strstr(t, "{problem}");
    if (p && !strstr(p + 1, "{problem}") && !memmem(a, n1, prob, np)) abort();
    free(a), free(b), free(want);
}

static void cleanup(void) { unlink(tpath), unlink(spath), rmdir(dir); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mrl_err e = {0};
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/fuzz_template.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) abort();
        atexit(cleanup);
        snprintf(tpath, sizeof tpath, "%s/template.txt", dir);
        snprintf(spath, sizeof spath, "%s/system.txt", dir);
        if (!(r1 = tmpl_load("r1", &e)) || !(plain = tmpl_load("plain", &e))) abort();
    }
    const uint8_t *z1 = memchr(data, 0, size);
    size_t nt = z1 ? (size_t)(z1 - data) : size;
    const uint8_t *srest = z1 ? z1 + 1 : data + size;
    const uint8_t *z2 = memchr(srest, 0, (size_t)(data + size - srest));
    size_t ns = z2 ? (size_t)(z2 - srest) : (size_t)(data + size - srest);
    const char *prob = z2 ? (const char *)z2 + 1 : "";
    size_t np = z2 ? (size_t)(data + size - z2 - 1) : 0;
    char *t = malloc(nt + 1), *sarg = malloc(ns + 1);
    memcpy(t, data, nt), t[nt] = 0;
    memcpy(sarg, srest, ns), sarg[ns] = 0;

    /* the system text, as an argument (one starting with @ names a file: not read here) and
       from a file */
    e.msg[0] = 0;
    int named = sarg[0] == '@';
    char *sys = named ? NULL : tmpl_system(sarg, &e);
    if (!named && !sys && (!one_line(e.msg) || e.code != 2)) abort();
    char at[310];
    snprintf(at, sizeof at, "@%s", spath);
    if (write_file(spath, sarg, ns)) abort();
    e.msg[0] = 0;
    char *fsys = tmpl_system(at, &e);
    if (!fsys && (!one_line(e.msg) || e.code != 1)) abort();
    if (!named && !sys != !fsys) abort();   /* the same bytes: both UTF-8 text or neither */
    if (fsys) {
        size_t k = ns;
        while (k && (sarg[k - 1] == '\n' || sarg[k - 1] == '\r')) k--;
        if (strlen(fsys) != k || memcmp(fsys, sarg, k)) abort();
        if (sys && strcmp(sys, sarg)) abort();
    }
    const char *s = sys ? sys : fsys ? fsys : "";

    /* the template file */
    if (write_file(tpath, t, nt)) abort();
    e.msg[0] = 0;
    mrl_template *tp = tmpl_load(tpath, &e);
    int text = tok_utf8_check(t, nt) < 0;
    if (!tp != !(text && strstr(t, "{problem}"))) abort();
    if (!tp && (!one_line(e.msg) || e.code != (text ? 2 : 1))) abort();
    if (tp) check_render(tp, t, s, prob, np);
    tmpl_free(tp);

    /* the built-in ones */
    check_render(r1, "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>{system}"
                     "<\xEF\xBD\x9CUser\xEF\xBD\x9C>{problem}<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C><think>\n",
                 s, prob, np);
    check_render(plain, *s ? "{system}\n\n{problem}\n" : "{problem}\n", s, prob, np);
    free(t), free(sarg), free(sys), free(fsys);
    return 0;
}
