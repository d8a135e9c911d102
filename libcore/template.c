/* template.c — chat templates: the prompt text a problem becomes before tokenizing
 * (DeepSeek-R1-Distill-Qwen's built in, a plain one, or a file with placeholders). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fileio.h"
#include "tokenizer.h"

/* The DeepSeek-R1-Distill-Qwen chat template (its chat_template.jinja) for one system and
 * one user message with add_generation_prompt: the system text follows BOS directly. */
static const char R1_TEMPLATE[] =
    "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>{system}"
    "<\xEF\xBD\x9CUser\xEF\xBD\x9C>{problem}"
    "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C><think>\n";

struct mrl_template {
    char *text;    /* with {system} and {problem} placeholders */
    int plain;     /* "plain": system and a blank line only when a system text is given */
};

/* 0 if s[0..n) is UTF-8 text (no NUL: the text ends there), else e set naming where: what is
 * "--system" (an argument: exit 2), "--system: FILE" or "--template: FILE" (a file: its line, exit 1). */
static int utf8_text_check(const char *s, size_t n, const char *what, int file, mrl_err *e) {
    long bad = tok_utf8_check(s, n);
    const char *nul = memchr(s, 0, n);
    if (nul && (bad < 0 || nul - s < bad)) bad = nul - s;
    if (bad < 0) return 0;
    long line = 1, col = 0;
    for (long i = 0; i < bad; i++) { if (s[i] == '\n') line++, col = 0; else col++; }
    if (!file) return err_set(e, 2, "%s: not UTF-8 text (byte %ld)", what, bad + 1);
    return err_set(e, 1, "%s:%ld: not UTF-8 text (byte %ld of the line)", what, line, col + 1);
}

static char *slurp(const char *path, mrl_err *e) {
    char *b;
    size_t n;
    int rc = file_read(path, 0, &b, &n);
    /* a file an option names that cannot be read is a usage error, as --system @FILE */
    if (rc) { err_set(e, rc == ENOMEM ? 3 : 2, "--template: cannot read %s: %s", path, strerror(rc)); return NULL; }
    char what[4200];
    snprintf(what, sizeof what, "--template: %s", path);
    if (utf8_text_check(b, n, what, 1, e)) { free(b); return NULL; }
    return b;
}

mrl_template *tmpl_load(const char *name, mrl_err *e) {
    mrl_template *tp = calloc(1, sizeof *tp);
    if (strcmp(name, "r1") == 0) tp->text = strdup(R1_TEMPLATE);
    else if (strcmp(name, "plain") == 0) tp->text = strdup("{system}\n\n{problem}\n"), tp->plain = 1;
    else if (!strchr(name, '/') && access(name, F_OK) != 0) {
        free(tp);
        err_set(e, 2, "--template: unknown template \"%s\" (r1, plain, or a file with {system}/{problem})", name);
        return NULL;
    } else if (!(tp->text = slurp(name, e))) {
        free(tp);
        return NULL;
    } else if (!strstr(tp->text, "{problem}")) {
        free(tp->text), free(tp);
        err_set(e, 2, "--template: %s has no {problem} placeholder", name);   /* an option that cannot work, as an unknown name */
        return NULL;
    }
    return tp;
}

char *tmpl_render(const mrl_template *tp, const char *system, const char *problem, size_t np, size_t *len) {
    if (!system) system = "";
    if (!problem) problem = "", np = 0;
    if (np == (size_t)-1) np = strlen(problem);
    const char *src = tp->plain && !*system ? "{problem}\n" : tp->text;
    size_t ns = strlen(system), cap = strlen(src) + 1, n = 0;
    for (const char *p = src; (p = strchr(p, '{')); p++) cap += ns + np;   /* generous bound */
    char *out = malloc(cap);
    if (!out) return NULL;
    for (const char *p = src; *p;) {
        if (strncmp(p, "{system}", 8) == 0) memcpy(out + n, system, ns), n += ns, p += 8;
        else if (strncmp(p, "{problem}", 9) == 0) memcpy(out + n, problem, np), n += np, p += 9;
        else out[n++] = *p++;
    }
    out[n] = 0;
    if (len) *len = n;
    return out;
}

void tmpl_free(mrl_template *tp) {
    if (!tp) return;
    free(tp->text);
    free(tp);
}

/* Open-RS's system prompt, exactly as the study's recipe passes it (the literal
 * "\\boxed{{}}" included: it is never .format-ed). */
static const char OPENRS_SYSTEM[] =
    "A conversation between User and Assistant. The user asks a question, and the Assistant "
    "solves it. The assistant first thinks about the reasoning process in the mind and then "
    "provides the user with the answer, and put your final answer within \\boxed{{}} . The "
    "reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
    "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here "
    "</answer>. Note that respond by English, NOT use other languages.";

char *tmpl_system(const char *arg, mrl_err *e) {
    if (!arg) return strdup(OPENRS_SYSTEM);
    /* checked here: a template filled with bytes that are not UTF-8 fails at every record,
       and under the record's own name */
    if (arg[0] != '@') return utf8_text_check(arg, strlen(arg), "--system", 0, e) ? NULL : strdup(arg);
    char *b;
    size_t n;
    int rc = file_read(arg + 1, 0, &b, &n);   /* a directory: EISDIR */
    if (rc) { err_set(e, rc == ENOMEM ? 3 : 2, "--system: cannot read %s: %s", arg + 1, strerror(rc)); return NULL; }
    char what[4200];
    snprintf(what, sizeof what, "--system: %s", arg + 1);
    if (utf8_text_check(b, n, what, 1, e)) { free(b); return NULL; }
    while (n && (b[n - 1] == '\n' || b[n - 1] == '\r')) b[--n] = 0;   /* a file ends in a newline */
    return b;
}
