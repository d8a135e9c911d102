/* msample — group rollouts: G completions per problem record, with the sampled tokens'
 * log-probs (engine.c does the scheduling); --score writes teacher-forced log-probs instead. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include "checkpoint.h"
#include "cli.h"
#include "engine.h"
#include "hset.h"
#include "jqf.h"
#include "model.h"
#include "ops.h"
#include "rng.h"
#include "stream.h"
#include "tokenizer.h"

static const char USAGE[] =
    "Usage: msample --model DIR [OPTION]... [FILE]...\n"
    "Writes N sampled completions for every problem record (JSON Lines, plain or zstd).\n"
    "\n"
    "  --model DIR         the policy (Hugging Face directory)\n"
    "  -n, --samples G     completions per problem (default 1)\n"
    "  --temperature T     softmax temperature; 0 = greedy (default 1)\n"
    "  --top-p P           nucleus sampling (default 1 = off)\n"
    "  --top-k K           keep the K most likely tokens (default 0 = off)\n"
    "  --min-p P           keep tokens with p >= P * p_max (default 0 = off)\n"
    "  --max-tokens N      completion length limit (default 256)\n"
    "  --stop STR          stop string (repeatable); EOS always stops\n"
    "  --include-stop      keep the stop string in the completion text\n"
    "  --template NAME|FILE  chat template: r1 (default), plain, or a file\n"
    "  --system TEXT|@FILE system prompt (default: Open-RS's)\n"
    "  --problem JQ        where the problem text is (default .problem)\n"
    "  --batch N           sequences in flight (default 16)\n"
    "  --kv-mem SIZE       KV cache bytes (K/M/G suffixes; default: --batch whole samples\n"
    "                      plus 4096 prompt tokens per group in flight)\n"
    "  --kv-dtype auto|bf16|fp32  KV cache precision (default auto: bf16 with bf16\n"
    "                      weights, else fp32)\n"
    "  --shard K/N         take problems K, K+N, K+2N, ... (0-based)\n"
    "  --score             sample nothing: write teacher-forced logprobs of\n"
    "                      prompt_ids + completion_ids (at --temperature, default 1)\n"
    "  --threads N         the most CPU threads (default: OpenMP's, OMP_NUM_THREADS or all;\n"
    "                      fewer run while other processes keep CPUs busy)\n"
    "  --dtype auto|bf16|fp32  forward weights (default auto: the checkpoint's torch_dtype)\n"
    "\n"
    "  -o, --output FILE  -Z, --plain  --zstd-level N  --skip-bad  --progress  -q, --quiet\n"
    "  --seed N  --device D\n"
    "  -h, --help  --version\n"
    "See msample(1) and mrl(7).\n";

enum { O_MODEL = 0x100, O_TEMP, O_TOPP, O_TOPK, O_MINP, O_MAXTOK, O_STOP, O_INCSTOP,
       O_TEMPLATE, O_SYSTEM, O_PROBLEM, O_BATCH, O_KVMEM, O_SHARD, O_SCORE, O_THREADS, O_DTYPE, O_KVDTYPE };

typedef struct app {
    cli c;
    rd_stream *rd;
    wr_stream *w;
    jqf *problem;
    mrl_template *tp;
    const char *system;
    const mrl_tok *tok;
    long shard_k, shard_n, nread;
    hset ids;                      /* hashes of the ids read (every shard's records), as text: the RNG's key */
    hset json_ids;                 /* ... as JSON, where 5 and "5" differ (for the message) */
    jv policy;
    progress *prog;
    int prog_on;
    double t0, last;
    long long bytes_total;
    const char *dev;               /* the backend's name */
} app;

/* rec and its input line (raw: the fields msample does not set are written as they came) */
typedef struct rec_box { jv rec; char *raw; size_t raw_len; char where[PATH_MAX + 24]; } rec_box;   /* where: FILE:LINE */
static void box_free(rec_box *b) {
    if (b) { jv_free(b->rec); free(b->raw); free(b); }
}

static size_t parse_size(const cli *c, const char *arg) {
    char *end = (char *)arg;
    /* decimal digits and a point only: strtod would also take "inf", "nan", hex and exponents */
    size_t digits = strspn(arg, "0123456789.");
    double v = digits ? strtod(arg, &end) : 0;
    if ((size_t)(end - arg) > digits) end = (char *)arg;
    double mul = 1;
    if (*end == 'k' || *end == 'K') mul = 1024.0, end++;
    else if (*end == 'm' || *end == 'M') mul = 1024.0 * 1024, end++;
    else if (*end == 'g' || *end == 'G') mul = 1024.0 * 1024 * 1024, end++;
    if ((*end == 'i' || *end == 'I') && mul > 1) end++;
    if ((*end == 'b' || *end == 'B')) end++;
    if (end == arg || *end || !(v > 0)) cli_usage(c, "--kv-mem: '%s' is not a size (e.g. 512M, 4G)", arg);
    if (v * mul < 1) cli_usage(c, "--kv-mem: '%s' is less than a byte", arg);   /* 0 would mean the default */
    if (v * mul > 0x1p50) cli_usage(c, "--kv-mem: '%s' is more than a petabyte", arg);
    return (size_t)(v * mul);
}

/* The directory to load from: a symlink (RUN/latest, RUN/policy) resolved once, so that every
 * file comes from the one step it names even when mgrpo moves it while msample loads (config,
 * weights, tokenizer and trainer_state.json are separate opens); else dir as given, so that
 * messages name it as typed. */
static char *pinned_dir(const char *dir) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;   /* "RUN/latest/": lstat would follow the link */
    char *d = strndup(dir, n);
    struct stat st;
    if (d && lstat(d, &st) == 0 && S_ISLNK(st.st_mode)) {
        char *r = realpath(d, NULL);
        if (r) { free(d); return r; }
    }
    return d;
}

/* Step from trainer_state.json ("global_step", as Hugging Face's Trainer writes it, or "step");
 * 0 when there is none. One that is there but cannot be read, or holds no step, is a warning
 * naming it, and 0: the rollouts are still the model's, their policy.step is not known. */
static long model_step(const cli *c, const char *dir) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/trainer_state.json", dir);
    if (access(p, F_OK) != 0 && errno == ENOENT) return 0;   /* a base model: no state */
    mrl_err e = {0};
    jv v = ckpt_load_state(dir, &e);
    const char *key = "global_step";
    jv s = jv_invalid();
    if (jv_is_valid(v)) {
        s = jv_object_get(jv_copy(v), jv_string(key));
        if (jv_get_kind(s) == JV_KIND_INVALID) s = jv_object_get(jv_copy(v), jv_string(key = "step"));
    }
    double d = jv_get_kind(s) == JV_KIND_NUMBER ? jv_number_value(s) : -1;
    if (!jv_is_valid(v)) cli_warn(c, "%s; policy.step is 0", e.msg);
    else if (!jv_is_valid(s)) cli_warn(c, "%s: no \"global_step\" or \"step\"; policy.step is 0", p);
    else if (!(d >= 0 && d <= 9007199254740992.0 && d == floor(d))) {
        char why[80];
        if (jv_get_kind(s) == JV_KIND_NUMBER) snprintf(why, sizeof why, "is %g, not a whole number in [0, 2^53]", d);
        else jv_wrong(s, "a number", why, sizeof why);
        cli_warn(c, "%s: \"%s\" %s; policy.step is 0", p, key, why);
        d = 0;
    }
    jv_free(s);
    jv_free(v);
    return d > 0 ? (long)d : 0;
}

/* A bad record inside feed: under --skip-bad warn and go on (0); else -1, so the
 * engine first finishes and writes every earlier group, then the tool exits 1. */
static int bad(app *a, mrl_err *e) {
    if (cli_skippable(&a->c, e)) return cli_bad_record(&a->c, NULL, e);
    return -1;
}

/* The record's problem is not a string: v is what the filter gave. */
static int missing(app *a, jv v, mrl_err *e) {
    char why[600];
    return err_set(e, ERR_INPUT, "%s:%ld: %s", rd_name(a->rd), rd_lineno(a->rd), jqf_wrong(a->problem, "--problem", v, "a string", why, sizeof why));
}

/* The next problem of this shard, rendered and tokenized; bad records are skipped
 * here under --skip-bad, else handed back as the error. */
static int feed(void *ctx, eng_problem *p, mrl_err *e) {
    app *a = ctx;
    for (int skipped = 0;; skipped = 1) {   /* past a skipped record: 2 (none yet) rather than wait */
        if (skipped && rd_would_block(a->rd)) return 2;
        jv rec;
        int r = rd_next(a->rd, &rec, e);
        if (r <= 0) {
            if (r < 0 && bad(a, e) == 0) continue;
            return r;
        }
        /* the RNG key is the record's id: a string as it is, any other value by its JSON text
           (7, true, {...}); a record without one (or null) is given FILE:LINE, like mfilter (written
           into it once it is known to be this shard's). An id given twice, or given to one record
           and assigned to another, is a bad record: its samples would share a random stream (the same completions) and run together into one group
           downstream. Checked on every record, not only this shard's, so that every shard
           stops on the same one. */
        jv id = jv_object_get(jv_copy(rec), jv_string("id"));
        jv_kind ik = jv_get_kind(id);
        int given = ik != JV_KIND_NULL && ik != JV_KIND_INVALID;
        if (given && ik != JV_KIND_STRING) id = jv_dump_canonical(id);   /* 1.0 as 1 with libjq 1.7 too */
        if (!given) {   /* FILE:LINE, in every shard: an id given elsewhere may spell it too */
            jv_free(id);
            id = jv_string_fmt("%s:%ld", rd_name(a->rd), rd_lineno(a->rd));
        }
        uint64_t key = rng_hash(jv_string_value(id), (size_t)jv_string_length_bytes(jv_copy(id)));   /* a NUL in an id too */
        {   /* every record's id, as given or assigned, is in the sets (a scope: r is taken above) */
            /* its JSON text: a string's (or FILE:LINE's) quoted; any other id's is id already */
            jv d = given && ik != JV_KIND_STRING ? jv_copy(id) : jv_dump_string(jv_copy(id), 0);
            int r = hset_add(&a->ids, key);
            int rj = r < 0 ? r : hset_add(&a->json_ids, rng_hash(jv_string_value(d), (size_t)jv_string_length_bytes(jv_copy(d))));
            if (r < 0 || rj < 0) { jv_free(d); jv_free(id); jv_free(rec); return err_set(e, ERR_SYS, "out of memory"); }
            if (r == 0 && !given) {
                err_set(e, ERR_INPUT, "%s:%ld: no \"id\", and %.200s, the one msample gives it, is an earlier problem's: "
                        "its samples would share their random stream and one group: give it an id", rd_name(a->rd),
                        rd_lineno(a->rd), jv_string_value(d));
            } else if (r == 0 && rj == 1) {
                /* equal as text only (5 and "5"): mreward and mfilter take them for two problems, but
                   the stream is keyed by the text, so the two would draw the same completions.
                   The earlier one is the other spelling: the text bare, or as a JSON string. */
                jv other = ik == JV_KIND_STRING ? jv_copy(id) : jv_dump_string(jv_copy(id), 0);
                err_set(e, ERR_INPUT, "%s:%ld: \"id\" %.200s keys the same random stream as the earlier id %.200s "
                        "(msample keys it by the id's text): give one of them another id", rd_name(a->rd),
                        rd_lineno(a->rd), jv_string_value(d), jv_string_value(other));
                jv_free(other);
            } else if (r == 0) {
                double v = ik == JV_KIND_NUMBER ? fabs(atof(jv_string_value(d))) : 0;
                err_set(e, ERR_INPUT, "%s:%ld: \"id\" %.200s is an earlier problem's too: its samples would share their "
                        "random stream and one group (%s)", rd_name(a->rd), rd_lineno(a->rd), jv_string_value(d),
                        v >= 9007199254740992.0 ? "a number past 2^53 is read to the nearest double, so ids that differ only "
                        "in their last digits become one: write such ids as strings"
                        : "give each problem its own id; mfilter --dedupe drops repeated problems");
            }
            jv_free(d);
            if (r == 0) {
                jv_free(id); jv_free(rec);
                a->nread++;   /* a record all the same: the shards count it alike */
                if (bad(a, e) == 0) continue;
                return -1;
            }
        }
        if (a->nread++ % a->shard_n != a->shard_k) { jv_free(id); jv_free(rec); continue; }
        e->msg[0] = 0;
        jv pv = jqf_first(a->problem, rec, e);
        if (jv_get_kind(pv) != JV_KIND_STRING) {
            int had = jv_is_valid(pv) || !e->msg[0];
            if (had) missing(a, pv, e);
            else err_prefix(e, "%s:%ld", rd_name(a->rd), rd_lineno(a->rd));
            jv_free(pv);
            jv_free(id);
            jv_free(rec);
            if (bad(a, e) == 0) continue;
            return -1;
        }
        if (!given) rec = rec_with_id(rec, jv_copy(id));   /* as mfilter: in place of a null, else the first field */
        size_t len;
        char *text = tmpl_render(a->tp, a->system, jv_string_value(pv), (size_t)jv_string_length_bytes(jv_copy(pv)), &len);
        if (!text) { jv_free(pv); jv_free(id); jv_free(rec); return err_set(e, ERR_SYS, "out of memory"); }
        int cap = (int)(len + 16);
        int32_t *ids = malloc(cap * sizeof *ids), *more = NULL;
        int n = ids ? tok_encode(a->tok, text, len, ids, cap, e) : 0;
        if (n > cap && (more = realloc(ids, n * sizeof *ids))) {
            ids = more;
            cap = n;
            n = tok_encode(a->tok, text, len, ids, cap, e);
        }
        free(text);
        if (!ids || n > cap) { free(ids); jv_free(pv); jv_free(id); jv_free(rec); return err_set(e, ERR_SYS, "out of memory"); }
        jv_free(pv);
        if (n <= 0) {
            free(ids);
            jv_free(id);
            jv_free(rec);
            if (n == 0) err_set(e, ERR_INPUT, "empty prompt");
            err_prefix(e, "%s:%ld", rd_name(a->rd), rd_lineno(a->rd));
            if (bad(a, e) == 0) continue;
            return -1;
        }
        size_t rl = 0;
        const char *raw = rd_line(a->rd, &rl);
        rec_box *b = malloc(sizeof *b);
        char *rc = malloc(rl + 1);
        if (!b || !rc) { free(b); free(rc); free(ids); jv_free(id); jv_free(rec); return err_set(e, ERR_SYS, "out of memory"); }
        memcpy(rc, raw, rl);
        b->rec = rec; b->raw = rc; b->raw_len = rl;
        snprintf(b->where, sizeof b->where, "%s:%ld", rd_name(a->rd), rd_lineno(a->rd));
        p->prompt = ids;
        p->nprompt = n;
        p->key = key;
        p->where = b->where;
        jv_free(id);
        p->user = b;
        return 1;
    }
}

static jv ids_json(const int32_t *ids, int n) {
    jv a = jv_array_sized(n);
    for (int i = 0; i < n; i++) a = jv_array_append(a, jv_number(ids[i]));
    return a;
}

static int emit(void *ctx, const eng_problem *p, const eng_sample *s, int G, mrl_err *e) {
    app *a = ctx;
    rec_box *b = p->user;
    jv prompt = ids_json(p->prompt, p->nprompt);
    for (int i = 0; i < G; i++) {
        jv r = jv_copy(b->rec);
        r = jv_object_set(r, jv_string("sample"), jv_number(i));
        /* the bytes as text with U+FFFD for each ill-formed part, as mtok decode and HF do
           (libjq's own repair took a cut sequence's valid bytes after it as well) */
        size_t tl = 0;
        char *txt = tok_utf8_lossy(s[i].text ? s[i].text : "", s[i].text ? s[i].text_len : 0, &tl);
        if (!txt) { jv_free(r); jv_free(prompt); box_free(b); return err_set(e, ERR_SYS, "out of memory"); }
        r = jv_object_set(r, jv_string("completion"), jv_string_sized(txt, (int)tl));
        free(txt);
        r = jv_object_set(r, jv_string("completion_ids"), ids_json(s[i].ids, s[i].n));
        r = jv_object_set(r, jv_string("prompt_ids"), jv_copy(prompt));
        jv lp = jv_array_sized(s[i].n);
        for (int t = 0; t < s[i].n; t++) lp = jv_array_append(lp, jv_number(s[i].logprobs[t]));
        r = jv_object_set(r, jv_string("logprobs"), lp);
        r = jv_object_set(r, jv_string("finish"), jv_string(s[i].finish == ENG_LENGTH ? "length" : "stop"));
        r = jv_object_set(r, jv_string("policy"), jv_copy(a->policy));
        if (wr_put_from(a->w, r, b->raw, b->raw_len, e) < 0) { jv_free(prompt); box_free(b); return -1; }
    }
    jv_free(prompt);
    box_free(b);
    return wr_flush(a->w, e);
}

static void drop(void *ctx, eng_problem *p) {
    (void)ctx;
    box_free(p->user);
    p->user = NULL;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Problems and samples done, tokens/s, ETA from the share of input bytes read. */
static void progress_line(void *ctx, const eng_stats *st) {
    app *a = ctx;
    if (!a->prog_on) return;
    double t = now_s();
    if (t - a->last < 0.25 && st) return;
    a->last = t;
    double dt = t - a->t0 > 1e-9 ? t - a->t0 : 1e-9;
    double rate = st->gen_tokens / dt;
    fprintf(stderr, "\rmsample: %ld problem%s, %ld sample%s, %d running, %.*f tokens/s",
            st->problems_done, st->problems_done == 1 ? "" : "s", st->samples_done, st->samples_done == 1 ? "" : "s",
            st->running, rate < 100 ? 2 : 0, rate);
    if (st->picked)   /* MRL_DEVICE_SAMPLING: say that it is on */
        fprintf(stderr, ", %lld drawn on %s", st->picked, a->dev);
    long long tot = rd_bytes_total(a->rd), rd = rd_bytes_read(a->rd);
    if (tot > 0 && rd > 0 && st->problems_in > 0) {
        /* input bytes consumed run ahead of the work: count done problems' share of them */
        double frac = (double)rd / tot * ((double)st->problems_done / st->problems_in);
        if (frac > 0.001) {
            long eta = (long)(dt * (1 - frac) / frac);
            fprintf(stderr, ", ETA %ld:%02ld:%02ld", eta / 3600, eta / 60 % 60, eta % 60);
        }
    }
    fputs("\033[K", stderr);
    prog_set_drawn(1);   /* a warning now starts a line of its own (cli_warn clears this one) */
}

static int interrupted(void *ctx) { (void)ctx; return cli_stop_requested() != 0; }
static int would_block(void *ctx) { return rd_would_block(((app *)ctx)->rd); }
static int reject(void *ctx, mrl_err *e) { return bad(ctx, e); }   /* --skip-bad skips it too */

/* An array of token ids (whole numbers >= 0) of a record, or -1 when missing/not one (-2: out of memory). */
static int rec_ids(jv rec, const char *field, int32_t **out) {
    jv v = jv_object_get(jv_copy(rec), jv_string(field));
    if (jv_get_kind(v) != JV_KIND_ARRAY) { jv_free(v); return -1; }
    int n = jv_array_length(jv_copy(v));
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) { jv_free(v); return -2; }
    for (int i = 0; i < n; i++) {
        jv x = jv_array_get(jv_copy(v), i);
        double d = jv_get_kind(x) == JV_KIND_NUMBER ? jv_number_value(x) : -1;
        /* whole numbers in int32 range only (the caller checks the vocabulary) */
        if (!(d >= 0 && d < 2147483648.0 && d == floor(d))) { jv_free(x); jv_free(v); free(ids); return -1; }
        ids[i] = (int32_t)d;
        jv_free(x);
    }
    jv_free(v);
    *out = ids;
    return n;
}

/* Whether a record read under --score is this shard's. A problem there is a run of records with
 * one id (a group, as msample wrote it), so the shards' outputs, concatenated, keep every group
 * whole; a record without an id (or a null one) is a problem of its own. */
static int score_mine(app *a, jv rec, jv *last_id) {
    jv id = jv_object_get(jv_copy(rec), jv_string("id"));
    if (jv_get_kind(id) == JV_KIND_NULL) { jv_free(id); id = jv_invalid(); }   /* no id, as in sampling */
    if (!jv_is_valid(id) || !jv_is_valid(*last_id) || !jv_equal(jv_copy(id), jv_copy(*last_id))) a->nread++;
    jv_free(*last_id);
    *last_id = id;
    return (a->nread - 1) % a->shard_n == a->shard_k;
}

/* --score: teacher-forced log-probs of completion_ids after prompt_ids, one record at a time. */
static int run_score(app *a, mrl_model *m, float temperature) {
    mrl_err e = {0};
    jv rec, last_id = jv_invalid();
    int r, V = model_config(m)->vocab_size;
    long done = 0;
    long long scored = 0;   /* completion tokens scored: the progress line's tokens/s */
    long long nan_lp = 0;   /* log-probs that came out as no number (written as null) */
    while (!cli_stop_requested() && (r = rd_next(a->rd, &rec, &e)) != 0) {
        if (r < 0) { cli_bad_record(&a->c, a->w, &e); continue; }
        if (!score_mine(a, rec, &last_id)) { jv_free(rec); continue; }
        int32_t *pi = NULL, *ci = NULL;
        int np = rec_ids(rec, "prompt_ids", &pi), nc = np < 0 ? -1 : rec_ids(rec, "completion_ids", &ci);
        if (np == -2 || nc == -2) { err_set(&e, ERR_SYS, "out of memory"); cli_die(&a->c, &e); }
        const char *bad = np <= 0 ? "prompt_ids" : nc < 0 ? "completion_ids" : NULL;
        const char *why = np == 0 ? "is empty (the first completion token needs a prompt token before it)" : "is missing or not token ids";
        char where[96];
        for (int i = 0; !bad && i < np + nc; i++) {
            int32_t id = i < np ? pi[i] : ci[i - np];
            if (id >= V) {   /* a token id, but not of this model: say which and why */
                bad = i < np ? "prompt_ids" : "completion_ids";
                snprintf(where, sizeof where, "[%d] is %d, outside the model's vocabulary (vocab_size %d)",
                         i < np ? i : i - np, id, V);
                why = where;
            }
        }
        if (bad) {
            free(pi); free(ci); jv_free(rec);
            err_set(&e, ERR_INPUT, "%s:%ld: \"%s\"%s%s", rd_name(a->rd), rd_lineno(a->rd), bad, why == where ? "" : " ", why);
            cli_bad_record(&a->c, a->w, &e);
            continue;
        }
        int T = np + nc;
        if (config_fits(model_config(m), T, &e) < 0) {   /* as in sampling: the model has no positions past its context */
            free(pi); free(ci); jv_free(rec);
            err_prefix(&e, "%s:%ld", rd_name(a->rd), rd_lineno(a->rd));
            cli_bad_record(&a->c, a->w, &e);
            continue;
        }
        int32_t *tok = malloc(T * sizeof *tok), *tgt = malloc(T * sizeof *tgt), cu[2] = {0, T};
        float *lp = malloc(T * sizeof *lp);
        if (!tok || !tgt || !lp) { err_set(&e, ERR_SYS, "out of memory"); cli_die(&a->c, &e); }
        memcpy(tok, pi, np * sizeof *tok);
        if (nc) memcpy(tok + np, ci, nc * sizeof *tok);
        for (int t = 0; t < T; t++) tgt[t] = t >= np - 1 && t + 1 < T ? tok[t + 1] : -1;
        /* greedy (0) samples carry temperature-1 log-probs: score them the same way */
        mrl_batch b = {.T = T, .nseq = 1, .tokens = tok, .targets = tgt, .cu_seqlens = cu,
                       .temperature = temperature > 0 ? temperature : 1.0f};
        if (model_logprobs(m, &b, lp, &e) < 0) cli_die(&a->c, &e);
        jv arr = jv_array_sized(nc);
        for (int i = 0; i < nc; i++) {
            nan_lp += !isfinite(lp[np - 1 + i]);
            arr = jv_array_append(arr, jv_number(lp[np - 1 + i]));
        }
        rec = jv_object_set(rec, jv_string("logprobs"), arr);
        free(tok); free(tgt); free(lp); free(pi); free(ci);
        size_t rl = 0;
        const char *raw = rd_line(a->rd, &rl);
        if (wr_put_from(a->w, rec, raw, rl, &e) < 0 || wr_flush(a->w, &e) < 0) cli_die(&a->c, &e);
        done++;   /* not in the initializer: its two uses there would be unsequenced */
        scored += nc;
        eng_stats st = {.problems_done = done, .samples_done = done, .gen_tokens = scored};
        progress_line(a, &st);
    }
    if (a->prog_on) {   /* the final count, on a line of its own, as sampling ends */
        eng_stats st = {.problems_done = done, .samples_done = done, .gen_tokens = scored};
        a->last = 0;
        progress_line(a, &st);
        fputc('\n', stderr);
        prog_set_drawn(0);
    }
    if (nan_lp)   /* JSON has no NaN or infinity: libjq writes null and +-1.8e308, which mgrpo refuses */
        cli_warn(&a->c, "%lld log-prob%s no finite number (written as null, or -1.8e308 for -inf): are the model's weights finite?",
                 nan_lp, nan_lp == 1 ? " was" : "s were");
    jv_free(last_id);
    return 0;
}

/* The value of --dtype or --kv-dtype: KV_AUTO, MRL_BF16 or MRL_F32. */
static int precision_arg(const cli *c, const char *opt, const char *arg) {
    if (!strcmp(arg, "bf16")) return MRL_BF16;
    if (!strcmp(arg, "fp32")) return MRL_F32;
    if (strcmp(arg, "auto")) cli_usage(c, "%s: '%s' is not auto, bf16 or fp32", opt, arg);
    return KV_AUTO;
}

int main(int argc, char **argv) {
    app a = {0};
    cli_init(&a.c, "msample", USAGE);
    eng_opts o;
    eng_defaults(&o);
    const char *ds = getenv("MRL_DEVICE_SAMPLING");   /* mrl(7): off until checked on a GPU */
    o.device_sampling = !ds ? 0 : !strcmp(ds, "all") ? 2 :
                        !strcmp(ds, "1") || !strcmp(ds, "on") || !strcmp(ds, "yes") || !strcmp(ds, "true");
    const char *model_dir = NULL, *tmpl = "r1", *system = NULL, *problem = ".problem";
    const char **stops = NULL;
    int nstops = 0, score = 0, threads = 0;
    int wdt = KV_AUTO;   /* --dtype: KV_AUTO (the checkpoint's), MRL_BF16 or MRL_F32 */
    a.shard_k = 0; a.shard_n = 1;
    static const struct option lo[] = {
        CLI_COMMON_LONGOPTS,
        {"model", required_argument, 0, O_MODEL}, {"samples", required_argument, 0, 'n'},
        {"temperature", required_argument, 0, O_TEMP}, {"top-p", required_argument, 0, O_TOPP},
        {"top-k", required_argument, 0, O_TOPK}, {"min-p", required_argument, 0, O_MINP},
        {"max-tokens", required_argument, 0, O_MAXTOK}, {"stop", required_argument, 0, O_STOP},
        {"include-stop", no_argument, 0, O_INCSTOP}, {"template", required_argument, 0, O_TEMPLATE},
        {"system", required_argument, 0, O_SYSTEM}, {"problem", required_argument, 0, O_PROBLEM},
        {"batch", required_argument, 0, O_BATCH}, {"kv-mem", required_argument, 0, O_KVMEM},
        {"shard", required_argument, 0, O_SHARD}, {"score", no_argument, 0, O_SCORE},
        {"threads", required_argument, 0, O_THREADS}, {"dtype", required_argument, 0, O_DTYPE},
        {"kv-dtype", required_argument, 0, O_KVDTYPE}, {0, 0, 0, 0}};
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORT "n:", lo, NULL)) != -1) {
        if (cli_common(&a.c, opt, optarg)) continue;
        switch (opt) {
        case O_MODEL: model_dir = optarg; break;
        case 'n': o.n = (int)cli_long(&a.c, "-n", optarg, 1, 1 << 20); break;
        case O_TEMP:
            o.sp.temperature = (float)cli_double(&a.c, "--temperature", optarg, 0, 100);   /* mgrpo's range: its log-probs must be able to follow */
            /* as mgrpo's lower bound: below it 1/T leaves float's range and sampling and --score part ways */
            if (o.sp.temperature > 0 && o.sp.temperature < 1e-3f) cli_usage(&a.c, "--temperature: '%s' is below 1e-3 (0 is greedy)", optarg);
            break;
        case O_TOPP: o.sp.top_p = (float)cli_double(&a.c, "--top-p", optarg, 1e-9, 1); break;
        case O_TOPK: o.sp.top_k = (int)cli_long(&a.c, "--top-k", optarg, 0, INT_MAX); break;
        case O_MINP: o.sp.min_p = (float)cli_double(&a.c, "--min-p", optarg, 0, 1); break;
        case O_MAXTOK: o.max_tokens = (int)cli_long(&a.c, "--max-tokens", optarg, 1, 1 << 24); break;
        case O_STOP:
            if (!*optarg) cli_usage(&a.c, "--stop: empty string");
            {   /* text, as --system's is (vLLM and transformers take a str): not UTF-8 is a usage error */
                long bad = tok_utf8_check(optarg, strlen(optarg));
                if (bad >= 0) cli_usage(&a.c, "--stop: not UTF-8 text (byte %ld)", bad + 1);
            }
            if (!(stops = realloc(stops, (nstops + 1) * sizeof *stops))) {
                mrl_err oom = {0};
                err_set(&oom, ERR_SYS, "out of memory");
                cli_die(&a.c, &oom);
            }
            stops[nstops++] = optarg;
            break;
        case O_INCSTOP: o.include_stop = 1; break;
        case O_TEMPLATE: tmpl = optarg; break;
        case O_SYSTEM: system = optarg; break;
        case O_PROBLEM: problem = optarg; break;
        case O_BATCH: o.batch = (int)cli_long(&a.c, "--batch", optarg, 1, 1 << 16); break;
        case O_KVMEM: o.kv_mem = parse_size(&a.c, optarg); break;
        case O_SHARD: {
            /* digits only: strtol would skip blanks, take a sign and saturate a long N to LONG_MAX */
            size_t kd = strspn(optarg, "0123456789"), nd = optarg[kd] == '/' ? strspn(optarg + kd + 1, "0123456789") : 0;
            if (!kd || optarg[kd] != '/' || !nd || optarg[kd + 1 + nd]) cli_usage(&a.c, "--shard: '%s' is not K/N", optarg);
            errno = 0;
            a.shard_k = strtol(optarg, NULL, 10);
            a.shard_n = strtol(optarg + kd + 1, NULL, 10);
            if (errno || a.shard_n < 1 || a.shard_k >= a.shard_n)
                cli_usage(&a.c, "--shard: '%s' is not K/N with 0 <= K < N", optarg);
            break;
        }
        case O_SCORE: score = 1; break;
        case O_THREADS: threads = (int)cli_long(&a.c, "--threads", optarg, 1, 4096); break;
        case O_DTYPE: wdt = precision_arg(&a.c, "--dtype", optarg); break;
        case O_KVDTYPE: o.kv_dtype = precision_arg(&a.c, "--kv-dtype", optarg); break;
        default: cli_bad_option(&a.c, opt, argv, lo);
        }
    }
    if (!model_dir) cli_usage(&a.c, "--model DIR is required");
    o.seed = a.c.seed;
    o.stops = stops;
    o.nstops = nstops;
    mrl_err e = {0};

    if (!(a.problem = jqf_compile(problem, &e))) cli_usage(&a.c, "--problem: %s", e.msg);
    if (!score) {
        if (!(a.tp = tmpl_load(tmpl, &e))) cli_die(&a.c, &e);
        if (!(a.system = tmpl_system(system, &e))) cli_die(&a.c, &e);
    }

    cli_signals();
    const char *given_dir = model_dir;   /* policy.path: as the user named it */
    char *pinned = pinned_dir(model_dir);
    if (!pinned) cli_dief(&a.c, ERR_SYS, "out of memory");
    model_dir = pinned;
    int bf16 = wdt == MRL_BF16;
    if (wdt == KV_AUTO) {   /* the checkpoint's own precision: bf16 weights stay bf16 */
        mrl_config cfg;
        bf16 = config_load(&cfg, model_dir, &e) == 0 && !strcmp(cfg.torch_dtype, "bfloat16");
        if (e.msg[0] && cli_stop_requested()) cli_die(&a.c, &e);   /* a FIFO's open cut short: model_load would wait on it again */
        e = (mrl_err){0};   /* a bad config is reported by model_load below */
    }
    model_opts mo = {.device = a.c.device, .threads = threads, .bf16 = bf16};
    mrl_model *m = model_load(model_dir, &mo, &e);
    if (!m) cli_die(&a.c, &e);
    a.dev = model_backend(m)->name;
    if (model_backend(m)->note[0]) cli_warn(&a.c, "%s", model_backend(m)->note);
    mrl_tok *tok = NULL;
    if (!score && !(tok = tok_load_dir(model_dir, &e))) cli_die(&a.c, &e);
    a.tok = tok;
    a.policy = jv_object_set(jv_object_set(jv_object(), jv_string("path"), jv_string(given_dir)),
                             jv_string("step"), jv_number(score ? 0 : model_step(&a.c, model_dir)));   /* --score writes no policy */

    const char *const *paths = (const char *const *)argv + optind;
    if (!(a.rd = rd_open(paths, argc - optind, &e))) cli_die(&a.c, &e);
    rd_set_stop(a.rd, cli_stop_requested);   /* a signal ends a blocked read */
    a.w = cli_writer(&a.c);
    a.prog_on = a.c.progress > 0 || (a.c.progress < 0 && isatty(2));
    a.t0 = a.last = now_s();

    int rc = 0;
    eng_stats st = {0};
    if (score) {
        run_score(&a, m, o.sp.temperature);
    } else {
        eng_io io = {.ctx = &a, .feed = feed, .emit = emit, .drop = drop,
                     .progress = progress_line, .interrupted = interrupted, .would_block = would_block,
                     .reject = reject};
        rc = eng_run(m, tok, &o, &io, &st, &e);
        if (a.prog_on) { a.last = 0; progress_line(&a, &st); fputc('\n', stderr); prog_set_drawn(0); }
        if (st.broken_rows)   /* drawn uniformly, so the output looks like text: say so */
            cli_warn(&a.c, "%ld token%s drawn from logits that held no number (all NaN or -inf): are the model's weights finite?",
                     st.broken_rows, st.broken_rows == 1 ? " was" : "s were");
        if (rc < 0) {
            jqf_free(a.problem);        /* its jq state holds the last record */
            if (e.code == ERR_USAGE) { cli_settle(&a.c); cli_usage(&a.c, "%s", e.msg); }   /* --kv-mem, --kv-dtype: the -o temp file goes first */
            cli_die(&a.c, &e);          /* ends the output cleanly first: earlier groups stay */
        }
    }
    rc = cli_finish(&a.c, a.w);
    rd_close(a.rd);
    jv_free(a.policy);
    free(pinned);
    hset_free(&a.ids);
    hset_free(&a.json_ids);
    tok_free(tok);
    tmpl_free(a.tp);
    jqf_free(a.problem);
    model_free(m);
    free(stops);
    free((char *)a.system);
    return rc;
}
