/* rewards.c — the reward table of mreward: parsing `NAME[=WEIGHT][:key=val,...]`,
 * judging a sample against its gold once, and each reward's value over its group. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "rewards.h"

typedef enum { R_ACCURACY, R_FORMAT, R_TAGS, R_COSINE, R_REPETITION, R_LENGTH,
               R_OVERLONG, R_LANGUAGE, R_REGEX, R_N } rkind;

#define MAXP 6
/* Parameters and defaults of each reward: numbers, except where noted. */
static const struct {
    const char *name;
    const char *keys[MAXP];
    double defs[MAXP];
    const char *help;
} table[R_N] = {
    [R_ACCURACY]   = {"accuracy", {0}, {0},
        "accuracy            1 when the last \\boxed{} equals the gold answer, else 0"},
    [R_FORMAT]     = {"format", {"strict"}, {0},
        "format[:strict]     open-rs: 1 when \"\\n</think>\\n\" occurs exactly once; strict: the upstream <think>/<answer> regex"},
    [R_TAGS]       = {"tags", {"upstream"}, {0},
        "tags[:upstream]     open-rs: 0.5 per <think>\\n, \\n</think>\\n occurring once; upstream: 0.25 per four tags"},
    [R_COSINE]     = {"cosine", {"min_wrong", "max_wrong", "min_correct", "max_correct", "max_len", "clamp"},
                      {0.0, -0.5, 0.5, 1.0, 1000, 0},
        "cosine:min_wrong=0,max_wrong=-0.5,min_correct=0.5,max_correct=1,max_len=1000,unit=chars,clamp=0"},
    [R_REPETITION] = {"repetition", {"ngram", "max_penalty"}, {3, -1.0},
        "repetition:ngram=3,max_penalty=-1   share of repeated word n-grams times max_penalty"},
    [R_LENGTH]     = {"length", {0}, {0},
        "length:unit=chars   Kimi 1.5 length reward over each group"},
    [R_OVERLONG]   = {"overlong", {"max_len", "cache"}, {16384, 4096},
        "overlong:max_len=16384,cache=4096   DAPO soft overlong punishment (completion_ids length)"},
    [R_LANGUAGE]   = {"language", {0}, {0},
        "language:script=auto   minus the fraction of letters outside the prompt's script"},
    [R_REGEX]      = {"regex", {0}, {0},
        "regex:pattern=RE    1 when the PCRE2 pattern matches the completion (pattern goes last)"},
};

struct rw_spec {
    rkind kind;
    double weight;
    char key[64];
    double p[MAXP];
    int tokens;          /* unit=tokens (cosine, length) */
    int script;          /* language: fixed script, or -1 = the prompt's */
    pcre2_code *re;      /* regex, format:strict */
};

const char *rw_key(const rw_spec *r) { return r->key; }
double rw_weight(const rw_spec *r) { return r->weight; }

int rw_needs(const rw_spec *r)
{
    int n = 0;
    if (r->kind == R_OVERLONG || r->tokens) n |= RW_NEEDS_TOKENS;
    if (r->kind == R_LANGUAGE && r->script < 0) n |= RW_NEEDS_PROMPT;
    if (r->kind == R_LENGTH) n |= RW_NEEDS_GROUP;
    return n;
}

void rw_print_help(FILE *f)
{
    for (int k = 0; k < R_N; k++) fprintf(f, "  %s\n", table[k].help);
}

static pcre2_code *compile_re(const char *pat, uint32_t flags, mrl_err *e)
{
    int ec;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                   flags | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        err_set(e, 2, "bad regex '%s' at offset %zu: %s", pat, (size_t)off, (char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* optional: falls back to the interpreter */
    return re;
}

static int parse_num(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);   /* written as every number option is (mrl(7)): 0x2, " +3" and inf are not */
    return (end == s || *end || errno || !isfinite(*v) || !cli_decimal(s)) ? -1 : 0;
}

/* One key=val of a spec; returns 0, or -1 with e set. */
static int set_param(rw_spec *r, const char *arg, const char *k, const char *v, mrl_err *e)
{
    const char *name = table[r->kind].name;
    if (!strcmp(k, "as")) {
        if (!*v || strlen(v) >= sizeof r->key) return err_set(e, 2, "--reward %s: bad as=%s", arg, v);
        strcpy(r->key, v);
        return 0;
    }
    if (!strcmp(k, "unit") && (r->kind == R_COSINE || r->kind == R_LENGTH)) {
        if (!strcmp(v, "tokens")) r->tokens = 1;
        else if (!strcmp(v, "chars")) r->tokens = 0;
        else return err_set(e, 2, "--reward %s: unit must be chars or tokens", arg);
        return 0;
    }
    if (!strcmp(k, "script") && r->kind == R_LANGUAGE) {
        if (!strcmp(v, "auto")) { r->script = -1; return 0; }
        r->script = rw_script_by_name(v);
        if (r->script < 0) return err_set(e, 2, "--reward %s: unknown script '%s'", arg, v);
        return 0;
    }
    for (int j = 0; j < MAXP && table[r->kind].keys[j]; j++) {
        if (strcmp(k, table[r->kind].keys[j])) continue;
        if (parse_num(v, &r->p[j])) return err_set(e, 2, "--reward %s: %s=%s is not a number", arg, k, v);
        return 0;
    }
    return err_set(e, 2, "--reward %s: %s has no parameter '%s'", arg, name, k);
}

static int check_params(rw_spec *r, const char *arg, mrl_err *e)
{
    switch (r->kind) {
    case R_COSINE:
        if (!(r->p[4] > 0)) return err_set(e, 2, "--reward %s: max_len must be > 0", arg);
        break;
    case R_REPETITION:
        if (r->p[0] < 1 || r->p[0] != floor(r->p[0]) || r->p[0] > 1000)
            return err_set(e, 2, "--reward %s: ngram must be a whole number >= 1", arg);
        if (r->p[1] > 0) return err_set(e, 2, "--reward %s: max_penalty must be <= 0", arg);
        break;
    case R_OVERLONG:
        if (!(r->p[1] > 0) || r->p[1] > r->p[0])
            return err_set(e, 2, "--reward %s: need 0 < cache <= max_len", arg);
        break;
    case R_REGEX:
        if (!r->re) return err_set(e, 2, "--reward %s: regex needs pattern=RE", arg);
        break;
    case R_FORMAT:
        if (r->p[0] != 0 && !r->re) {
            /* The upstream open-r1 format_reward, Python re.match with DOTALL|MULTILINE. */
            r->re = compile_re("^<think>\\n.*?\\n</think>\\n<answer>\\n.*?\\n</answer>$",
                               PCRE2_DOTALL | PCRE2_MULTILINE | PCRE2_ANCHORED, e);
            if (!r->re) return -1;
        }
        break;
    default:
        break;
    }
    return 0;
}

rw_spec *rw_parse(const char *arg, mrl_err *e)
{
    rw_spec *r = calloc(1, sizeof *r);
    if (!r) { err_set(e, 3, "out of memory"); return NULL; }
    size_t nl = strcspn(arg, "=:");
    int k;
    for (k = 0; k < R_N; k++)
        if (strlen(table[k].name) == nl && !strncmp(arg, table[k].name, nl)) break;
    if (k == R_N) {
        err_set(e, 2, "--reward %s: unknown reward '%.*s' (accuracy, format, tags, cosine, "
                "repetition, length, overlong, language, regex)", arg, (int)nl, arg);
        free(r);
        return NULL;
    }
    r->kind = (rkind)k;
    r->weight = 1.0;
    r->script = -1;
    snprintf(r->key, sizeof r->key, "%s", table[k].name);
    for (int j = 0; j < MAXP; j++) r->p[j] = table[k].defs[j];
    const char *s = arg + nl;
    if (*s == '=') {
        char num[64];
        size_t wl = strcspn(s + 1, ":");
        snprintf(num, sizeof num, "%.*s", (int)(wl < 63 ? wl : 63), s + 1);
        if (wl >= 63 || parse_num(num, &r->weight)) {
            err_set(e, 2, "--reward %s: bad weight '%.*s'", arg, (int)wl, s + 1);
            goto fail;
        }
        s += 1 + wl;
    }
    if (*s == ':' && !s[1]) { err_set(e, 2, "--reward '%s': nothing after the ':' (drop it, or give key=val)", arg); goto fail; }
    if (*s == ':') s++;
    while (*s) {
        if (!strncmp(s, "pattern=", 8)) {
            if (r->kind != R_REGEX) { err_set(e, 2, "--reward %s: %s has no parameter 'pattern'", arg, table[k].name); goto fail; }
            if (!s[8]) { err_set(e, 2, "--reward %s: empty pattern (it would match every completion)", arg); goto fail; }
            if (r->re) pcre2_code_free(r->re);
            if (!(r->re = compile_re(s + 8, 0, e))) { err_prefix(e, "--reward %s", arg); goto fail; }
            break;
        }
        size_t pl = strcspn(s, ",");
        char kv[512];
        if (pl >= sizeof kv) { err_set(e, 2, "--reward %s: parameter too long", arg); goto fail; }
        memcpy(kv, s, pl);
        kv[pl] = 0;
        char *eq = strchr(kv, '=');
        const char *val = "1";
        if (eq) { *eq = 0; val = eq + 1; }
        if (!*kv) { err_set(e, 2, "--reward %s: empty parameter", arg); goto fail; }
        if (set_param(r, arg, kv, val, e)) goto fail;
        s += pl;
        if (*s == ',' && !*++s) { err_set(e, 2, "--reward '%s': nothing after the last ','", arg); goto fail; }
    }
    if (check_params(r, arg, e)) goto fail;
    return r;
fail:
    rw_free(r);
    return NULL;
}

void rw_free(rw_spec *r)
{
    if (!r) return;
    if (r->re) pcre2_code_free(r->re);
    free(r);
}

void rw_judge(rw_sample *s, const ans_opts *o, rw_unparsed policy)
{
    free(s->pred);
    s->pred = NULL;
    s->correct = 0;
    s->gold_unparsed = 0;
    char *gold = s->gold ? ans_extract_gold(s->gold) : NULL;
    if (!gold || !ans_gold_parses(gold)) {
        s->gold_unparsed = 1;
        s->correct = policy == RW_UNPARSED_CORRECT;
        free(gold);
        return;
    }
    s->pred = ans_extract(s->completion, o);
    /* asked also without an answer: whether the checker can read the gold must not depend on
       the sample (a completion without a box scored 0 where its group's boxed ones took the
       unparsed-gold policy) */
    ans_verdict v = ans_equiv(s->pred, gold);
    if (v == ANS_UNPARSED_GOLD) {   /* the checker disagrees with ans_gold_parses: trust it */
        s->gold_unparsed = 1;
        s->correct = policy == RW_UNPARSED_CORRECT;
        free(s->pred);
        s->pred = NULL;
    } else {
        s->correct = s->pred && v == ANS_EQUIV;
    }
    free(gold);
}

void rw_sample_clear(rw_sample *s)
{
    free(s->pred);
    s->pred = NULL;
}

static atomic_long regex_undecided;
long rw_regex_undecided(void) { return atomic_load(&regex_undecided); }

/* Python's re.search as far as PCRE2 can: a long text that runs the JIT out of its default
 * 32 KiB stack (a lazy `(.|\n)*` over a whole completion does) is matched again on an 8 MiB
 * one, then by the interpreter; it scored 0 before. What still fails (PCRE2's match or heap
 * limit: catastrophic backtracking) scores 0 and is counted (rw_regex_undecided). */
static double regex_hit(const pcre2_code *re, const char *text)
{
    size_t n = strlen(text);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    int rc = md ? pcre2_match(re, (PCRE2_SPTR)text, n, 0, 0, md, NULL) : PCRE2_ERROR_NOMEMORY;
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        pcre2_match_context *mc = pcre2_match_context_create(NULL);
        pcre2_jit_stack *js = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL);
        if (mc && js) {
            pcre2_jit_stack_assign(mc, NULL, js);
            rc = pcre2_match(re, (PCRE2_SPTR)text, n, 0, 0, md, mc);
        }
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
            rc = pcre2_match(re, (PCRE2_SPTR)text, n, 0, PCRE2_NO_JIT, md, mc);
        pcre2_jit_stack_free(js);
        pcre2_match_context_free(mc);
    }
    pcre2_match_data_free(md);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) atomic_fetch_add(&regex_undecided, 1);
    return rc >= 0 ? 1.0 : 0.0;
}

/* Kimi 1.5 (open-r1 len_reward): lambda = 0.5 - (L - min)/(max - min) over the group;
 * correct samples get lambda, wrong ones min(0, lambda); all lengths equal: 0. */
static double kimi_len(const rw_spec *r, const rw_sample *s)
{
    return r->tokens ? (double)s->ntokens : (double)rw_chars(s->completion);
}
static double kimi_value(double li, double lo, double hi, int correct)
{
    if (hi == lo) return 0.0;
    double lam = 0.5 - (li - lo) / (hi - lo);
    return correct ? lam : fmin(0.0, lam);
}
static double kimi_length(const rw_spec *r, const rw_sample *g, int n, int i)
{
    double lo = INFINITY, hi = -INFINITY, li = 0;
    for (int j = 0; j < n; j++) {
        double L = kimi_len(r, &g[j]);
        if (L < lo) lo = L;
        if (L > hi) hi = L;
        if (j == i) li = L;
    }
    return kimi_value(li, lo, hi, g[i].correct);
}

void rw_eval_group(const rw_spec *r, const rw_sample *g, int n, double *out)
{
    if (r->kind != R_LENGTH) {
        for (int i = 0; i < n; i++) out[i] = rw_eval(r, g, n, i);
        return;
    }
    /* each length measured once (rw_eval for each sample measures the whole group: a group
       of 40k took 80 s, quadratic in its size and linear in its text) */
    double lo = INFINITY, hi = -INFINITY;
    for (int j = 0; j < n; j++) {
        out[j] = kimi_len(r, &g[j]);
        if (out[j] < lo) lo = out[j];
        if (out[j] > hi) hi = out[j];
    }
    for (int i = 0; i < n; i++) out[i] = kimi_value(out[i], lo, hi, g[i].correct);
}

double rw_eval(const rw_spec *r, const rw_sample *g, int n, int i)
{
    const rw_sample *s = &g[i];
    const char *t = s->completion;
    switch (r->kind) {
    case R_ACCURACY:
        return s->correct ? 1.0 : 0.0;
    case R_FORMAT:
        if (r->re) return regex_hit(r->re, t);
        return rw_count(t, "\n</think>\n") == 1 ? 1.0 : 0.0;
    case R_TAGS:
        if (r->p[0] != 0)
            return 0.25 * ((rw_count(t, "<think>\n") == 1) + (rw_count(t, "\n</think>\n") == 1) +
                           (rw_count(t, "\n<answer>\n") == 1) + (rw_count(t, "\n</answer>") == 1));
        return 0.5 * ((rw_count(t, "<think>\n") == 1) + (rw_count(t, "\n</think>\n") == 1));
    case R_COSINE:
        /* open-rs: an unparsed gold scores 1.0 flat when it counts as correct */
        if (s->gold_unparsed && s->correct) return 1.0;
        return rw_cosine(r->tokens ? (double)s->ntokens : (double)rw_chars(t), s->correct,
                         r->p[0], r->p[1], r->p[2], r->p[3], r->p[4], r->p[5] != 0);
    case R_REPETITION:
        return rw_repetition(t, (int)r->p[0], r->p[1]);
    case R_LENGTH:
        return kimi_length(r, g, n, i);
    case R_OVERLONG:
        return rw_overlong((double)s->ntokens, r->p[0], r->p[1]);
    case R_LANGUAGE: {
        int script = r->script >= 0 ? r->script : rw_dominant_script(s->prompt);
        double f = rw_foreign_fraction(t, script);
        return f > 0 ? -f : 0.0;   /* 0, not -0, for a completion all in the script */
    }
    case R_REGEX:
        return regex_hit(r->re, t);
    default:
        return 0.0;
    }
}
