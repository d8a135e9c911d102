/* meval — scores rewarded rollouts per benchmark: pass@1 with a bootstrap interval,
 * maj@k, unbiased pass@k, lengths, truncation, format; several labelled runs side by side. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "jqf.h"
#include "rewards.h"
#include "rng.h"
#include "stats.h"
#include "stream.h"

static const char usage[] =
"Usage: meval [OPTION]... [FILE... | LABEL=FILE...]\n"
"Score rewarded rollouts (records with id, correct, pred) per benchmark and problem:\n"
"problems, samples per problem k, pass@1 with a 95% bootstrap interval, maj@k, unbiased\n"
"pass@k, mean completion length, truncated fraction, format rate. LABEL=FILE inputs are\n"
"shown side by side with the change from the first, marked * where its interval excludes 0.\n"
"\n"
"  --by JQ            group by this value (default '.bench // \"all\"')\n"
"  --k LIST           pass@k for these k (default: powers of two up to k, and k)\n"
"  --json             one JSON record per benchmark (the default when stdout is not a terminal)\n"
"  --table            an aligned table (the default on a terminal)\n"
"  --markdown         a Markdown table\n"
"  --bootstrap N      bootstrap resamples (default 1000); --seed N picks them\n"
"  --allow-partial    accept problems with fewer samples than the others\n"
"  -o, --output FILE, -Z, --plain, --zstd-level N, --skip-bad, --progress, -q, --quiet,\n"
"  --seed N, --device D, -h, --help, --version\n"
"See meval(1) and mrl(7).\n";

enum { O_BY = 1, O_K, O_JSON, O_TABLE, O_MARKDOWN, O_BOOT, O_PARTIAL };

typedef struct {
    int bench, seq, correct, trunc, fmt;   /* fmt: 1/0, -1 unknown */
    int has_sample;        /* the record had a "sample" index */
    int has_pred;          /* the record had a "pred" field (null included) */
    int has_finish;        /* the record had a "finish" string */
    double order;          /* the sample index (input order where absent): ties in votes go to the lower */
    char *id, *pred;
    const char *file;      /* the input file it came from (owned by input.files) */
    long line, ntok, nchr;                  /* ntok/nchr -1 when unknown */
} sample;

typedef struct {            /* the statistics of one benchmark in one input */
    int problems, k, kmin, valid;
    double pass1, ci[2], maj, lenm, trunc, fmt;
    const char *unit;
    double *acc;            /* per problem accuracy, sorted by id */
    char **ids;
    double *passk;          /* for ks[j] (NaN when k > kmin) */
} bstat;

typedef struct {
    const char *label, *file;
    sample *s;
    int n, cap;
    char **files;           /* the names of the files read, for messages */
    int nfiles;
    bstat *b;               /* per bench */
} input;

typedef struct {
    cli c;
    jqf *by;
    char **bench;
    int nbench, capbench;
    int *bslot;             /* bench name -> index + 1 (open addressing; 0 empty), bcap slots */
    size_t bcap;
    int *ks, nks, kauto, boot, partial, mode;   /* mode 0 json 1 table 2 markdown */
    input *in;
    int nin;
} ev;

/* p, or out of memory: exit 3 (an input past the memory limit crashed with SIGSEGV). */
static void *need(ev *m, void *p)
{
    if (!p) cli_dief(&m->c, ERR_SYS, "out of memory");
    return p;
}

static int bench_index(ev *m, const char *name)
{
    /* a hash index, not a scan of the names: --by .id makes a benchmark of every problem,
       and 100k of them took 25 s of strcmp (quadratic) */
    if ((size_t)m->nbench * 2 >= m->bcap) {
        size_t cap = m->bcap ? m->bcap * 2 : 64;
        int *sl = calloc(cap, sizeof *sl);
        if (!sl) cli_dief(&m->c, ERR_SYS, "out of memory");
        for (int i = 0; i < m->nbench; i++) {
            size_t h = (size_t)rng_hash_str(m->bench[i]) & (cap - 1);
            while (sl[h]) h = (h + 1) & (cap - 1);
            sl[h] = i + 1;
        }
        free(m->bslot);
        m->bslot = sl, m->bcap = cap;
    }
    size_t h = (size_t)rng_hash_str(name) & (m->bcap - 1);
    for (; m->bslot[h]; h = (h + 1) & (m->bcap - 1))
        if (!strcmp(m->bench[m->bslot[h] - 1], name)) return m->bslot[h] - 1;
    if (m->nbench == m->capbench) {
        int cap = m->capbench ? 2 * m->capbench : 16;
        char **b = realloc(m->bench, sizeof *b * (size_t)cap);
        if (!b) cli_dief(&m->c, ERR_SYS, "out of memory");
        m->bench = b, m->capbench = cap;
    }
    if (!(m->bench[m->nbench] = strdup(name))) cli_dief(&m->c, ERR_SYS, "out of memory");
    m->bslot[h] = m->nbench + 1;
    return m->nbench++;
}

/* A bench's value as the output shows it, from its key (dump_str: jv_key_text for a string):
 * the string itself, not the key's \x01 and JSON text for one with a NUL, nor the \x01 put in
 * front of one that starts with \x01. */
static jv bench_shown(const char *key)
{
    if (key[0] != '\x01') return jv_string(key);
    if (key[1] == '\x01') return jv_string(key + 1);
    jv v = jv_parse(key + 1);
    return jv_get_kind(v) == JV_KIND_STRING ? v : (jv_free(v), jv_string(key));
}

static void bad(ev *m, const char *file, long line, const char *msg)
{
    mrl_err e = {0};
    err_set(&e, ERR_INPUT, "%s:%ld: %s", file, line, msg);   /* a long path cut in its middle, the reason kept */
    cli_bad_record(&m->c, NULL, &e);
}

/* A string's text (its JSON text if it holds a NUL), anything else as JSON with its numbers
 * by value (jv_dump_canonical): libjq 1.7 and later print a number as written, so --by .level
 * made 1 and 1.0 two benchmarks, where 1.6 (and jq's group_by) has one. */
static char *dump_str(jv v)
{
    if (jv_get_kind(v) == JV_KIND_STRING) { char *s = jv_key_text(v); jv_free(v); return s; }
    jv d = jv_dump_canonical(v);
    char *s = strdup(jv_string_value(d));
    jv_free(d);
    return s;
}

/* A problem id as a key: a string's key text (jv_key_text), anything else \x01 and its JSON
 * text, so that 1 and "1" are two problems, as in mreward and mgrpo. */
static char *id_key(jv v)
{
    if (jv_get_kind(v) == JV_KIND_STRING) { char *s = jv_key_text(v); jv_free(v); return s; }
    jv d = jv_dump_canonical(v);
    size_t n = (size_t)jv_string_length_bytes(jv_copy(d));
    char *s = malloc(n + 2);
    if (s) { s[0] = '\x01'; memcpy(s + 1, jv_string_value(d), n + 1); }
    jv_free(d);
    return s;
}
/* The key as messages show it: a string's text, else the JSON text. */
static const char *id_shown(const char *key) { return key[0] == '\x01' ? key + 1 : key; }

static int read_input(ev *m, input *in, const char *const *paths, int npaths)
{
    mrl_err e = {0};
    rd_stream *rd = rd_open(paths, npaths, &e);
    if (!rd) cli_die(&m->c, &e);
    rd_set_stop(rd, cli_stop_requested);   /* a signal ends a blocked read: scores of what was read */
    progress *p = prog_start(&m->c, "records", -1);
    prog_input(p, rd);
    for (int seq = 0; !cli_stop_requested(); seq++) {
        jv rec;
        e = (mrl_err){0};
        int rc = rd_next(rd, &rec, &e);
        if (rc == 0) break;
        prog_update(p, seq + 1, 0);
        if (rc < 0) { cli_bad_record(&m->c, NULL, &e); continue; }
        const char *file = rd_name(rd);
        long line = rd_lineno(rd);
        jv id = jv_object_get(jv_copy(rec), jv_string("id"));
        jv ok = jv_object_get(jv_copy(rec), jv_string("correct"));
        jv_kind kk = jv_get_kind(ok);
        if (!jv_is_valid(id) || jv_get_kind(id) == JV_KIND_NULL) {
            jv_free(id); jv_free(ok); jv_free(rec);
            bad(m, file, line, "\"id\" is missing");
            continue;
        }
        if (kk != JV_KIND_TRUE && kk != JV_KIND_FALSE && kk != JV_KIND_NUMBER) {
            char msg[128];
            if (kk == JV_KIND_INVALID || kk == JV_KIND_NULL)   /* rollouts straight from msample */
                snprintf(msg, sizeof msg, "\"correct\" is missing (mreward sets it: msample ... | mreward | meval)");
            else snprintf(msg, sizeof msg, "\"correct\" is not a boolean or a number (got %s)", jv_kind_name(kk));
            jv_free(id); jv_free(ok); jv_free(rec);
            bad(m, file, line, msg);
            continue;
        }
        jv b = jqf_first(m->by, rec, &e);
        if (e.code || !jv_is_valid(b)) {
            char msg[600];
            snprintf(msg, sizeof msg, "--by %.200s: %.300s", jqf_text(m->by), e.code ? e.msg : "no value");
            err_one_line(msg);   /* whatever the filter's text */
            jv_free(b); jv_free(id); jv_free(ok); jv_free(rec);
            bad(m, file, line, msg);
            continue;
        }
        char why[200];
        int trunc;
        if (rec_optional(rec, "sample", JV_KIND_NUMBER, why, sizeof why) < 0 || rec_optional(rec, "pred", JV_KIND_STRING, why, sizeof why) < 0 ||
            rec_finish(rec, &trunc, why, sizeof why) < 0 || rec_optional(rec, "completion", JV_KIND_STRING, why, sizeof why) < 0 ||
            rec_optional(rec, "completion_ids", JV_KIND_ARRAY, why, sizeof why) < 0) {
            jv_free(b); jv_free(id); jv_free(ok); jv_free(rec);
            bad(m, file, line, why);
            continue;
        }
        double sv, cv = kk == JV_KIND_NUMBER ? jv_number_value(ok) : 0;
        if (rec_num(rec, "sample", &sv) == 0 && !(sv >= 0 && sv <= 0x1p53 && sv == floor(sv))) {
            jv_free(b); jv_free(id); jv_free(ok); jv_free(rec);
            bad(m, file, line, "\"sample\" is not a whole number from 0 to 2^53");
            continue;
        }
        if (!isfinite(cv)) {
            jv_free(b); jv_free(id); jv_free(ok); jv_free(rec);
            bad(m, file, line, "\"correct\" is not a finite number");
            continue;
        }
        if (in->n == in->cap) {
            in->cap = in->cap ? 2 * in->cap : 256;
            in->s = need(m, realloc(in->s, sizeof *in->s * (size_t)in->cap));
        }
        sample *s = &in->s[in->n++];
        char *bn = need(m, dump_str(b));
        s->bench = bench_index(m, bn);
        free(bn);
        s->id = need(m, id_key(id));
        s->seq = seq;
        s->has_sample = rec_num(rec, "sample", &s->order) >= 0;
        if (!s->has_sample) s->order = seq;
        if (!in->nfiles || strcmp(in->files[in->nfiles - 1], file)) {
            in->files = need(m, realloc(in->files, sizeof *in->files * (size_t)(in->nfiles + 1)));
            in->files[in->nfiles++] = need(m, strdup(file));
        }
        s->file = in->files[in->nfiles - 1];
        s->line = line;
        s->correct = kk == JV_KIND_TRUE || (kk == JV_KIND_NUMBER && jv_number_value(ok) > 0);
        jv_free(ok);
        jv pv = jv_object_get(jv_copy(rec), jv_string("pred"));
        s->has_pred = jv_is_valid(pv);
        /* an empty or blank answer is no answer: it does not vote (mreward writes null there) */
        s->pred = jv_get_kind(pv) == JV_KIND_STRING && jv_string_value(pv)[strspn(jv_string_value(pv), " \t\r\n")] ? need(m, jv_key_text(pv)) : NULL;
        jv_free(pv);
        s->trunc = trunc;
        s->has_finish = rec_str(rec, "finish") != NULL;
        jv ids = jv_object_get(jv_copy(rec), jv_string("completion_ids"));
        s->ntok = jv_get_kind(ids) == JV_KIND_ARRAY ? jv_array_length(jv_copy(ids)) : -1;
        jv_free(ids);
        const char *comp = rec_str(rec, "completion");
        s->nchr = comp ? rw_chars(comp) : -1;
        /* format: mreward's format reward when present, else the open-rs check */
        jv f = jv_getpath(jv_copy(rec), JV_ARRAY(jv_string("rewards"), jv_string("format")));
        if (jv_get_kind(f) == JV_KIND_NUMBER) s->fmt = jv_number_value(f) > 0;
        else s->fmt = comp ? rw_count(comp, "\n</think>\n") == 1 : -1;
        jv_free(f);
        jv_free(rec);
    }
    prog_end(p);
    if (!in->file) in->file = npaths && strcmp(paths[0], "-") ? paths[0] : "<stdin>";   /* as the readers name it */
    rd_close(rd);
    if (cli_stop_requested()) {
        /* interrupted while reading: the problem read last may be half read (samples of one id
         * arrive together); it is not scored, as mfilter drops a half-read group */
        int t = in->n;
        while (t > 0 && !strcmp(in->s[t - 1].id, in->s[in->n - 1].id) && in->s[t - 1].bench == in->s[in->n - 1].bench) t--;
        for (int u = t; u < in->n; u++) { free(in->s[u].id); free(in->s[u].pred); }
        in->n = t;
        if (!in->n) return -1;   /* nothing whole read: the caller says so */
    }
    /* an empty eval file is a run that failed upstream, not a score of nothing */
    if (!in->n) cli_dief(&m->c, ERR_INPUT, "%s%s: no records to score", in->file, npaths > 1 ? " ..." : "");
    return 0;
}

/* Interrupted with nothing to score: settled outputs, then _exit (cli_dief; exit's handlers
 * would tear down what jq holds). */
static void nothing_scored(ev *m, const char *what) {
    cli_report_bad(&m->c);   /* --skip-bad's count, as at any end */
    cli_dief(&m->c, 128 + cli_stop_requested(), "interrupted: %s: no whole problem read, nothing scored", what);
}

static int cmp_sample(const void *a, const void *b)
{
    const sample *x = a, *y = b;
    if (x->bench != y->bench) return x->bench < y->bench ? -1 : 1;
    int d = strcmp(x->id, y->id);
    if (d) return d;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* The end of the run of samples of in->s[p]'s problem within [p, j) (in->s sorted by cmp_sample). */
static int id_run_end(const input *in, int p, int j)
{
    int q = p;
    while (q < j && !strcmp(in->s[q].id, in->s[p].id)) q++;
    return q;
}

/* --skip-bad without --allow-partial: a problem with fewer samples than most of its
 * benchmark's (one of them was a bad record) is dropped with a warning, not the whole run;
 * one with more is still an error (no skipped record explains it: input given twice?). */
static void drop_short(ev *m, input *in)
{
    int o = 0;
    for (int i = 0; i < in->n;) {
        int j = i, kmode = 0, best = 0;
        while (j < in->n && in->s[j].bench == in->s[i].bench) j++;
        /* the most common group size (the larger on a tie) */
        int ng = 0, *sz = malloc(sizeof *sz * (size_t)(j - i));
        if (!sz) cli_dief(&m->c, ERR_SYS, "out of memory");
        for (int p = i, q; p < j; p = q) {
            q = id_run_end(in, p, j);
            sz[ng++] = q - p;
        }
        qsort(sz, (size_t)ng, sizeof *sz, cmp_int);
        for (int a = 0, b; a < ng; a = b) {
            for (b = a; b < ng && sz[b] == sz[a]; b++) {}
            if (b - a >= best) best = b - a, kmode = sz[a];
        }
        free(sz);
        for (int p = i, q; p < j; p = q) {
            q = id_run_end(in, p, j);
            if (q - p > kmode)
                cli_dief(&m->c, ERR_INPUT, "%s:%ld: group \"%.200s\" has %d samples, more than the %d of most (the same input twice?)",
                         in->s[p].file, in->s[p].line, id_shown(in->s[p].id), q - p, kmode);
            if (q - p == kmode) { for (int t = p; t < q; t++) in->s[o++] = in->s[t]; continue; }
            mrl_err e;
            err_set(&e, ERR_INPUT, "%s:%ld: group \"%.200s\" has %d sample%s, expected %d", in->s[p].file,
                    in->s[p].line, id_shown(in->s[p].id), q - p, q - p == 1 ? "" : "s", kmode);
            cli_bad_record(&m->c, NULL, &e);
            for (int t = p; t < q; t++) { free(in->s[t].id); free(in->s[t].pred); }
        }
        i = j;
    }
    in->n = o;
    if (!in->n) cli_dief(&m->c, ERR_INPUT, "%s: no records to score", in->file);
}

static void stats_of(ev *m, input *in)
{
    qsort(in->s, (size_t)in->n, sizeof *in->s, cmp_sample);
    if (m->c.skip_bad && !m->partial) drop_short(m, in);
    /* a sample index seen twice for one problem: the same file given twice, or a rerun
     * appended to the old output; it would double k and skew pass@k without a sign */
    for (int t = 1; t < in->n; t++) {
        const sample *a = &in->s[t - 1], *b = &in->s[t];
        if (a->has_sample && b->has_sample && a->bench == b->bench && a->order == b->order && !strcmp(a->id, b->id))
        {
            if (a->line == b->line && !strcmp(a->file, b->file))
                cli_dief(&m->c, ERR_INPUT, "%s:%ld: sample %.17g of \"%.200s\" read twice (the same input given twice?)",
                         b->file, b->line, b->order, id_shown(b->id));
            cli_dief(&m->c, ERR_INPUT, "%s:%ld: sample %.17g of \"%.200s\" again (also at %s:%ld)",
                     b->file, b->line, b->order, id_shown(b->id), a->file, a->line);
        }
    }
    in->b = need(m, calloc((size_t)m->nbench, sizeof *in->b));
    for (int i = 0; i < in->n;) {
        int bi = in->s[i].bench, j = i;
        while (j < in->n && in->s[j].bench == bi) j++;
        bstat *b = &in->b[bi];
        /* problems: runs of one id within [i, j) */
        int np = 0, kmax = 0, kmin = 1 << 30;
        for (int p = i, q; p < j; p = q) {
            q = id_run_end(in, p, j);
            np++;
            if (q - p > kmax) kmax = q - p;
            if (q - p < kmin) kmin = q - p;
        }
        if (kmin != kmax && !m->partial) {
            for (int p = i, q; p < j; p = q) {
                q = id_run_end(in, p, j);
                if (q - p != kmax) {
                    char msg[600];
                    snprintf(msg, sizeof msg, "group \"%.200s\" has %d sample%s, expected %d (--allow-partial accepts it)",
                             id_shown(in->s[p].id), q - p, q - p == 1 ? "" : "s", kmax);
                    /* not a bad record (--skip-bad cannot drop it): the run is incomplete */
                    cli_dief(&m->c, ERR_INPUT, "%s:%ld: %s", in->s[p].file, in->s[p].line, msg);
                }
            }
        }
        b->valid = 1;
        b->problems = np;
        b->k = kmax;
        b->kmin = kmin;
        b->acc = need(m, malloc(sizeof *b->acc * (size_t)np));
        b->ids = need(m, malloc(sizeof *b->ids * (size_t)np));
        double maj = 0, *pk = need(m, calloc((size_t)m->nks, sizeof *pk));
        long long ltot = 0, lcount = 0, ntrunc = 0, nfmt = 0, fmtknown = 0, predknown = 0, finknown = 0;
        int tokens = 1;
        for (int p = i; p < j; p++) tokens &= in->s[p].ntok >= 0;
        int pi = 0;
        for (int p = i; p < j; pi++) {
            int q = id_run_end(in, p, j), c = 0;
            int n = q - p;
            const char **preds = need(m, malloc(sizeof *preds * (size_t)n));
            int *cor = need(m, malloc(sizeof *cor * (size_t)n));
            for (int t = p; t < q; t++) {
                const sample *s = &in->s[t];
                c += s->correct;
                preds[t - p] = s->pred;
                cor[t - p] = s->correct;
                long L = tokens ? s->ntok : s->nchr;
                if (L >= 0) { ltot += L; lcount++; }
                ntrunc += s->trunc;
                finknown += s->has_finish;
                predknown += s->has_pred;
                if (s->fmt >= 0) { fmtknown++; nfmt += s->fmt; }
            }
            b->acc[pi] = (double)c / n;
            b->ids[pi] = in->s[p].id;
            maj += st_majority(preds, cor, n, NULL);
            for (int t = 0; t < m->nks; t++)
                if (m->ks[t] <= kmin) pk[t] += st_pass_at_k(n, c, m->ks[t]);
            free(preds);
            free(cor);
            p = q;
        }
        b->pass1 = st_mean(b->acc, np);
        st_boot_mean(b->acc, np, m->boot, m->c.seed, rng_hash_str(m->bench[bi]), b->ci);
        /* no record with a pred field: nothing to vote on, maj@k is unknown (not 0) */
        b->maj = predknown ? maj / np : NAN;
        for (int t = 0; t < m->nks; t++) pk[t] = m->ks[t] <= kmin ? pk[t] / np : NAN;
        /* a k the user asked for that this benchmark's groups cannot give: said, not an empty pass@k */
        for (int t = 0; t < m->nks && !m->kauto; t++)
            if (m->ks[t] > kmin)
                cli_warn(&m->c, "--k %d left out for benchmark \"%s\"%s%s: %s group has %d sample%s", m->ks[t], m->bench[bi],
                         in->label ? " of " : "", in->label ? in->label : "", kmin == kmax ? "every" : "its smallest",
                         kmin, kmin == 1 ? "" : "s");
        b->passk = pk;
        b->lenm = lcount ? (double)ltot / lcount : NAN;
        b->unit = tokens ? "tokens" : "chars";
        /* no record with a finish field: how many were cut off is unknown (not 0) */
        b->trunc = finknown ? (double)ntrunc / (j - i) : NAN;
        b->fmt = fmtknown ? (double)nfmt / fmtknown : NAN;
        i = j;
    }
}

/* The change of pass@1 from input a to b on one bench, with its interval: paired over
 * problems when both scored the same problem set, else two independent resamplings. */
static int delta(ev *m, int bi, const bstat *a, const bstat *b, double *d, double ci[2])
{
    *d = st_diff(b->pass1, a->pass1);
    int paired = a->problems == b->problems;
    for (int p = 0; paired && p < a->problems; p++) paired = !strcmp(a->ids[p], b->ids[p]);
    st_boot_diff(a->acc, a->problems, b->acc, b->problems, paired, m->boot, m->c.seed,
                 rng_hash_str(m->bench[bi]), ci);
    return paired;
}

static jv num(double x) { return isnan(x) ? jv_null() : jv_number(x); }

static void put_json(ev *m, wr_stream *w)
{
    mrl_err e = {0};
    for (int bi = 0; bi < m->nbench; bi++)
        for (int i = 0; i < m->nin; i++) {
            const bstat *b = &m->in[i].b[bi];
            if (!b->valid) continue;
            jv r = jv_object();
            r = jv_object_set(r, jv_string("bench"), bench_shown(m->bench[bi]));
            if (m->in[i].label) r = jv_object_set(r, jv_string("label"), jv_string(m->in[i].label));
            r = jv_object_set(r, jv_string("problems"), jv_number(b->problems));
            r = jv_object_set(r, jv_string("k"), jv_number(b->k));
            r = jv_object_set(r, jv_string("pass@1"), num(b->pass1));
            r = jv_object_set(r, jv_string("ci95"), JV_ARRAY(num(b->ci[0]), num(b->ci[1])));
            r = jv_object_set(r, jv_string("maj@k"), num(b->maj));
            jv pk = jv_object();
            for (int t = 0; t < m->nks; t++) {
                char key[16];
                snprintf(key, sizeof key, "%d", m->ks[t]);
                if (!isnan(b->passk[t])) pk = jv_object_set(pk, jv_string(key), jv_number(b->passk[t]));
            }
            r = jv_object_set(r, jv_string("pass@k"), pk);
            r = jv_object_set(r, jv_string("len_mean"), num(b->lenm));
            r = jv_object_set(r, jv_string("len_unit"), isnan(b->lenm) ? jv_null() : jv_string(b->unit));
            r = jv_object_set(r, jv_string("truncated_frac"), num(b->trunc));
            r = jv_object_set(r, jv_string("format_rate"), num(b->fmt));
            const bstat *a = &m->in[0].b[bi];
            if (i > 0 && a->valid) {
                double d, ci[2];
                int paired = delta(m, bi, a, b, &d, ci);
                jv dj = jv_object();
                dj = jv_object_set(dj, jv_string("vs"), jv_string(m->in[0].label));
                dj = jv_object_set(dj, jv_string("pass@1"), num(d));
                dj = jv_object_set(dj, jv_string("ci95"), JV_ARRAY(num(ci[0]), num(ci[1])));
                dj = jv_object_set(dj, jv_string("paired"), jv_bool(paired));
                dj = jv_object_set(dj, jv_string("significant"), jv_bool(ci[0] > 0 || ci[1] < 0));
                r = jv_object_set(r, jv_string("delta"), dj);
            }
            if (wr_put(w, r, &e) < 0) cli_die(&m->c, &e);
        }
}

/* ---- tables: cells as strings, printed aligned or as Markdown ---- */
typedef struct { char **cell; int rows, cols; } table;

static void tset(table *t, int r, int c, const char *fmt, double x)
{
    char buf[64];
    if (isnan(x)) snprintf(buf, sizeof buf, "-");
    else snprintf(buf, sizeof buf, fmt, x);
    t->cell[r * t->cols + c] = strdup(buf);
}

static void tstr(table *t, int r, int c, const char *s) { t->cell[r * t->cols + c] = strdup(s); }

/* A header cell a b c of any length (a label can be long: a 128-byte buffer cut it, mid-character). */
static void thead(table *t, int c, const char *a, const char *b, const char *d)
{
    size_t n = strlen(a) + strlen(b) + strlen(d) + 1;
    char *h = malloc(n);
    if (h) snprintf(h, n, "%s%s%s", a, b, d);
    t->cell[c] = h;
}

/* A cell's text as a table line can hold it: a control character (a newline in a --by value or
 * a label) as a space, and in Markdown a | as \| (else it opens a column). */
static char *cell_text(const char *s, int markdown)
{
    size_t n = strlen(s), k = 0;
    char *o = malloc(2 * n + 1);
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (markdown && ch == '|') o[k++] = '\\';
        o[k++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
    }
    o[k] = 0;
    return o;
}

static void tprint(const table *t, int markdown, FILE *f)
{
    table e = {calloc((size_t)t->rows * t->cols, sizeof(char *)), t->rows, t->cols};
    if (!e.cell) return;
    for (int i = 0; i < t->rows * t->cols; i++) e.cell[i] = t->cell[i] ? cell_text(t->cell[i], markdown) : NULL;
    t = &e;
    int *wd = calloc((size_t)t->cols, sizeof *wd);
    for (int r = 0; r < t->rows; r++)
        for (int c = 0; c < t->cols; c++) {
            const char *s = t->cell[r * t->cols + c] ? t->cell[r * t->cols + c] : "";
            int l = (int)rw_chars(s);
            if (l > wd[c]) wd[c] = l;
        }
    char *line = NULL;
    size_t cap = 0;
    for (int r = 0; r < t->rows; r++) {
        FILE *ls = open_memstream(&line, &cap);   /* a line of any width (a label can be long) */
        if (!ls) break;
        for (int c = 0; c < t->cols; c++) {
            const char *s = t->cell[r * t->cols + c] ? t->cell[r * t->cols + c] : "";
            int pad = wd[c] - (int)rw_chars(s);
            /* the first column reads left to right, numbers line up on the right */
            if (markdown) fprintf(ls, "| %s%*s ", s, pad, "");
            else if (c == 0) fprintf(ls, "%s%*s", s, pad, "");
            else fprintf(ls, "  %*s%s", pad, "", s);
        }
        fclose(ls);
        size_t at = strlen(line);
        while (!markdown && at && line[at - 1] == ' ') at--;
        fprintf(f, "%.*s%s\n", (int)at, line, markdown ? "|" : "");
        free(line);   /* each open_memstream makes a buffer of its own */
        line = NULL;
        if (markdown && r == 0) {
            for (int c = 0; c < t->cols; c++) {
                fputs(c ? "|" : "|:", f);
                for (int d = 0; d < wd[c] + 1; d++) fputc('-', f);
                if (c) fputc(':', f);
            }
            fputs("|\n", f);
        }
    }
    free(wd);
    for (int i = 0; i < e.rows * e.cols; i++) free(e.cell[i]);
    free(e.cell);
}

/* A benchmark's problems (k = 0) or k (k = 1) for the table: the first scoring input's, or,
 * where the inputs differ (!same), each scoring input's joined by '/' ("10/20"). */
static void per_run(char *buf, size_t cap, const ev *m, int bi, int first, int same, int k)
{
    buf[0] = 0;
    for (int i = 0; i < m->nin; i++) {
        const bstat *b = &m->in[i].b[bi];
        if (i != first && (same || !b->valid)) continue;
        size_t l = strlen(buf);
        snprintf(buf + l, cap - l, "%s%d", i == first ? "" : "/", k ? b->k : b->problems);
    }
}

static void put_table(ev *m, FILE *f)
{
    int multi = m->nin > 1;
    /* columns: bench problems k, then per input pass@1 CI maj@k [pass@k...] len trunc format,
     * then a Δ per later input */
    int per = multi ? 4 : 6 + m->nks - (m->nks && m->ks[0] == 1);
    table t = {.rows = m->nbench + 1 + (m->nbench > 1), .cols = 3 + per * m->nin + (m->nin - 1)};
    t.cell = need(m, calloc((size_t)t.rows * (size_t)t.cols, sizeof *t.cell));
    tstr(&t, 0, 0, "bench"); tstr(&t, 0, 1, "problems"); tstr(&t, 0, 2, "k");
    for (int i = 0; i < m->nin; i++) {
        char h[128];
        const char *lb = m->in[i].label;
        int c = 3 + per * i;
#define HDR(name) thead(&t, c++, lb ? lb : "", lb ? " " : "", name)
        HDR("pass@1"); HDR("95% CI"); HDR("maj@k");
        if (!multi)
            for (int k = 0; k < m->nks; k++)
                if (m->ks[k] != 1) { snprintf(h, sizeof h, "pass@%d", m->ks[k]); tstr(&t, 0, c++, h); }
        HDR("len");
        if (!multi) { HDR("trunc"); HDR("format"); }
#undef HDR
    }
    for (int i = 1; i < m->nin; i++) thead(&t, 3 + per * m->nin + i - 1, "\xce\x94 ", m->in[i].label, "");
    double *avg = need(m, calloc((size_t)m->nin, sizeof *avg));
    int unpaired = 0, navg = 0;
    for (int bi = 0; bi < m->nbench; bi++) {
        int r = bi + 1, all = 1;
        jv shown = jv_no_nul(bench_shown(m->bench[bi]));   /* a NUL as U+FFFD in the table */
        tstr(&t, r, 0, jv_string_value(shown));
        jv_free(shown);
        /* problems and k: one value, or each run's where the runs differ ("10/20") */
        char np[256], nk[256];
        int same_p = 1, same_k = 1, first = -1;
        for (int i = 0; i < m->nin; i++) {
            const bstat *b = &m->in[i].b[bi];
            if (!b->valid) { all = 0; continue; }
            if (first < 0) first = i;
            else {
                same_p &= b->problems == m->in[first].b[bi].problems;
                same_k &= b->k == m->in[first].b[bi].k;
            }
        }
        per_run(np, sizeof np, m, bi, first, same_p, 0);
        per_run(nk, sizeof nk, m, bi, first, same_k, 1);
        tstr(&t, r, 1, np);
        tstr(&t, r, 2, nk);
        navg += all;
        for (int i = 0; i < m->nin; i++) {
            const bstat *b = &m->in[i].b[bi];
            int c = 3 + per * i;
            if (!b->valid) continue;
            if (all) avg[i] += b->pass1;
            char ci[64];
            snprintf(ci, sizeof ci, "[%.1f, %.1f]", 100 * b->ci[0], 100 * b->ci[1]);
            tset(&t, r, c++, "%.1f", 100 * b->pass1);
            tstr(&t, r, c++, isnan(b->ci[0]) ? "-" : ci);
            tset(&t, r, c++, "%.1f", 100 * b->maj);
            if (!multi)
                for (int k = 0; k < m->nks; k++)
                    if (m->ks[k] != 1) tset(&t, r, c++, "%.1f", 100 * b->passk[k]);
            tset(&t, r, c++, "%.0f", b->lenm);
            if (!multi) { tset(&t, r, c++, "%.3f", b->trunc); tset(&t, r, c++, "%.3f", b->fmt); }
        }
        for (int i = 1; i < m->nin; i++) {
            const bstat *a = &m->in[0].b[bi], *b = &m->in[i].b[bi];
            if (!a->valid || !b->valid) continue;
            double d, ci[2];
            int paired = delta(m, bi, a, b, &d, ci);
            unpaired |= !paired;
            char cell[64];
            snprintf(cell, sizeof cell, "%+.1f%s%s", 100 * d, (ci[0] > 0 || ci[1] < 0) ? " *" : "", paired ? "" : " \xe2\x80\xa0");
            tstr(&t, r, 3 + per * m->nin + i - 1, cell);
        }
    }
    if (m->nbench > 1) {   /* the study's "Avg" column: the mean over the benchmarks every input scored */
        int r = m->nbench + 1;
        tstr(&t, r, 0, "avg");
        for (int i = 0; i < m->nin; i++) tset(&t, r, 3 + per * i, "%.1f", navg ? 100 * avg[i] / navg : NAN);
    }
    free(avg);
    tprint(&t, m->mode == 2, f);
    int tok = 0, chr = 0;
    for (int i = 0; i < m->nin; i++)
        for (int bi = 0; bi < m->nbench; bi++)
            if (m->in[i].b[bi].valid && !isnan(m->in[i].b[bi].lenm)) {   /* a length known: the records had one */
                tok += m->in[i].b[bi].unit[0] == 't';
                chr += m->in[i].b[bi].unit[0] == 'c';
            }
    if (tok || chr)
        fprintf(f, "%slen: mean completion length in %s\n", m->mode == 2 ? "\n" : "",
                chr ? (tok ? "tokens (chars where records lack completion_ids)" : "characters") : "tokens");
    if (multi) fputs("\xce\x94: pass@1 change from the first input; * its 95% bootstrap interval excludes 0\n", f);
    if (unpaired) fputs("\xe2\x80\xa0: the runs scored different problems; the interval is not paired\n", f);
    if (m->nbench > 1 && navg < m->nbench)
        fprintf(f, "avg: over the %d of %d benchmarks every input scored\n", navg, m->nbench);
    for (int i = 0; i < t.rows * t.cols; i++) free(t.cell[i]);
    free(t.cell);
}


/* Adds k to the pass@k list unless it is there already (the list grows: each benchmark's k). */
static void add_k(ev *m, int k)
{
    for (int t = 0; t < m->nks; t++)
        if (m->ks[t] == k) return;
    int *ks = realloc(m->ks, sizeof *ks * (size_t)(m->nks + 1));
    if (!ks) cli_dief(&m->c, ERR_SYS, "out of memory");
    m->ks = ks;
    m->ks[m->nks++] = k;
}

/* Sorts k[0..n) and drops repeats; returns the new count. */
static int sort_unique(int *k, int n)
{
    qsort(k, (size_t)n, sizeof *k, cmp_int);
    int u = 0;
    for (int i = 0; i < n; i++)
        if (!u || k[i] != k[u - 1]) k[u++] = k[i];
    return u;
}

/* The per-benchmark statistics of an input (stats_of makes them). */
static void free_stats(const ev *m, input *in)
{
    for (int bi = 0; in->b && bi < m->nbench; bi++) { free(in->b[bi].acc); free(in->b[bi].ids); free(in->b[bi].passk); }
    free(in->b);
    in->b = NULL;
}

static void free_all(ev *m)
{
    for (int i = 0; i < m->nin; i++) {
        input *in = &m->in[i];
        for (int j = 0; j < in->n; j++) { free(in->s[j].id); free(in->s[j].pred); }
        free_stats(m, in);
        for (int j = 0; j < in->nfiles; j++) free(in->files[j]);
        free(in->files);
        free(in->s);
    }
    for (int bi = 0; bi < m->nbench; bi++) free(m->bench[bi]);
    free(m->bench);
    free(m->bslot);
    free(m->in);
    free(m->ks);
    jqf_free(m->by);
}

/* stat of an input path, "-" being standard input (a file redirected to it is that file). */
static int file_stat(const char *path, struct stat *st) { return strcmp(path, "-") ? stat(path, st) : fstat(0, st); }

int main(int argc, char **argv)
{
    static ev m;
    cli_init(&m.c, "meval", usage);
    cli_signals();
    const char *by = ".bench // \"all\"";
    m.boot = 1000;
    m.mode = -1;
    m.kauto = 1;
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"by", required_argument, 0, O_BY}, {"k", required_argument, 0, O_K},
        {"json", no_argument, 0, O_JSON}, {"table", no_argument, 0, O_TABLE},
        {"markdown", no_argument, 0, O_MARKDOWN}, {"bootstrap", required_argument, 0, O_BOOT},
        {"allow-partial", no_argument, 0, O_PARTIAL}, {0, 0, 0, 0}};
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORT, longopts, NULL)) != -1) {
        if (cli_common(&m.c, opt, optarg)) continue;
        switch (opt) {
        case O_BY: by = optarg; break;
        case O_K: {
            m.kauto = 0;
            m.nks = 0;
            if (!m.ks && !(m.ks = malloc(sizeof *m.ks * 32))) cli_dief(&m.c, ERR_SYS, "out of memory");
            if (cli_list_has_empty(optarg))
                cli_usage(&m.c, "--k: '%s' has an empty item (a comma-separated list of numbers)", optarg);
            char *s = strdup(optarg), *save = NULL;
            if (!s) cli_dief(&m.c, ERR_SYS, "out of memory");
            for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (m.nks == 32) cli_usage(&m.c, "--k: at most 32 values");
                m.ks[m.nks++] = (int)cli_long(&m.c, "--k", tok, 1, 1 << 20);
            }
            free(s);
            if (!m.nks) cli_usage(&m.c, "--k: empty list");
            break;
        }
        case O_JSON: m.mode = 0; break;
        case O_TABLE: m.mode = 1; break;
        case O_MARKDOWN: m.mode = 2; break;
        case O_BOOT: m.boot = (int)cli_long(&m.c, "--bootstrap", optarg, 1, 1000000); break;
        case O_PARTIAL: m.partial = 1; break;
        default: cli_bad_option(&m.c, opt, argv, longopts);
        }
    }
    if (m.mode < 0) m.mode = (!m.c.out && isatty(1)) ? 1 : 0;
    mrl_err e = {0};
    if (!(m.by = jqf_compile(by, &e))) cli_usage(&m.c, "--by: %s", e.msg);
    if (m.mode != 0) m.c.plain = 1;   /* a table is text */
    /* -o is made before the inputs are read, as every tool makes it: one that cannot be created
       (a missing directory) was found only after the whole input, when a pipeline's sampling
       upstream had all been done for nothing */
    wr_stream *w = m.c.out ? cli_writer(&m.c) : NULL;

    /* inputs: LABEL=FILE pairs side by side, or plain files read as one */
    int nargs = argc - optind, labelled = 0;
    char **args = argv + optind;
    struct stat st;
    for (int i = 0; i < nargs; i++) {
        char *eq = strchr(args[i], '=');
        int lab = eq && eq > args[i] && !memchr(args[i], '/', (size_t)(eq - args[i])) && stat(args[i], &st) != 0;
        if (i && lab != labelled) cli_usage(&m.c, "give every input a LABEL= or none");
        labelled = lab;
    }
    if (labelled) {
        m.nin = nargs;
        m.in = need(&m, calloc((size_t)nargs, sizeof *m.in));
        for (int i = 0; i < nargs; i++) {
            char *eq = strchr(args[i], '=');
            *eq = 0;
            m.in[i].label = args[i];
            m.in[i].file = strcmp(eq + 1, "-") ? eq + 1 : "<stdin>";   /* as the readers name it */
            if (!eq[1]) cli_usage(&m.c, "'%s=': no file after the label", args[i]);
            for (int j = 0; j < i; j++)
                if (!strcmp(m.in[j].label, args[i])) cli_usage(&m.c, "label '%s' given twice", args[i]);
        }
        /* interrupted: the runs read whole so far are scored; the one cut off is if it has a
           whole problem; those not read are left out (each named) */
        int kept = 0;
        for (int i = 0; i < nargs; i++) {
            const char *p = strchr(args[i], 0) + 1;   /* the file after the label's '=' (now a NUL) */
            if (cli_stop_requested() || read_input(&m, &m.in[i], &p, 1) < 0) {
                cli_warn(&m.c, "interrupted: %s=%s left out", m.in[i].label, m.in[i].file);
                input *in = &m.in[i];   /* nothing whole in it (read_input freed the samples) */
                for (int j = 0; j < in->nfiles; j++) free(in->files[j]);
                free(in->files); free(in->s);
                continue;
            }
            m.in[kept++] = m.in[i];
        }
        if (!kept) nothing_scored(&m, "every input");
        m.nin = kept;
    } else {
        /* one file twice would count each sample twice: caught by the sample index where there is
           one, here where there is none */
        struct stat st2;
        for (int i = 0; i < nargs; i++)
            for (int j = 0; j < i; j++)
                if (file_stat(args[i], &st) == 0 && S_ISREG(st.st_mode) && file_stat(args[j], &st2) == 0 &&
                    st.st_dev == st2.st_dev && st.st_ino == st2.st_ino)
                    cli_dief(&m.c, ERR_INPUT, "%s: the same file as %s, given twice (its samples would count twice)",
                             strcmp(args[i], "-") ? args[i] : "standard input", strcmp(args[j], "-") ? args[j] : "standard input");
        m.nin = 1;
        m.in = need(&m, calloc(1, sizeof *m.in));
        if (read_input(&m, &m.in[0], (const char *const *)args, nargs) < 0) nothing_scored(&m, m.in[0].file);
    }
    if (m.kauto) {
        /* powers of two up to the largest k, and k itself: known only after grouping,
         * so group once with k = {1}, then again with the list */
        m.nks = 0;
        add_k(&m, 1);
        for (int i = 0; i < m.nin; i++) stats_of(&m, &m.in[i]);
        int kmax = 1;
        for (int i = 0; i < m.nin; i++)
            for (int bi = 0; bi < m.nbench; bi++)
                if (m.in[i].b[bi].valid && m.in[i].b[bi].k > kmax) kmax = m.in[i].b[bi].k;
        for (int k = 2; k <= kmax; k *= 2) add_k(&m, k);
        /* and each benchmark's (and run's) own k */
        for (int i = 0; i < m.nin; i++)
            for (int bi = 0; bi < m.nbench; bi++)
                if (m.in[i].b[bi].valid) add_k(&m, m.in[i].b[bi].kmin);
        add_k(&m, kmax);
        m.nks = sort_unique(m.ks, m.nks);
        for (int i = 0; i < m.nin; i++) {
            free_stats(&m, &m.in[i]);
            stats_of(&m, &m.in[i]);
        }
    } else {
        m.nks = sort_unique(m.ks, m.nks);
        for (int i = 0; i < m.nin; i++) stats_of(&m, &m.in[i]);
    }
    if (!w) w = cli_writer(&m.c);
    if (m.mode == 0) {
        put_json(&m, w);
        free_all(&m);
        return cli_finish(&m.c, w);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) cli_dief(&m.c, ERR_SYS, "out of memory");
    put_table(&m, f);
    fclose(f);
    /* the table goes out line by line through the writer so -o stays atomic */
    for (char *p = buf, *nl; p < buf + len; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(buf + len - p));
        if (!nl) nl = buf + len;
        if (wr_put_raw(w, p, (size_t)(nl - p), &e) < 0) cli_die(&m.c, &e);
    }
    free(buf);
    free_all(&m);
    return cli_finish(&m.c, w);
}
