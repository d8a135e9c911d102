/* mreward — scores rollouts: reads whole groups (records of one id), judges each
 * completion against its gold, adds pred, correct, rewards{} and their weighted sum. */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "hset.h"
#include "jqf.h"
#include "rewards.h"
#include "stream.h"

static const char usage[] =
"Usage: mreward [OPTION]... [FILE]...\n"
"Score rollouts: adds pred, correct, rewards{NAME: value} and reward (the weighted sum).\n"
"Records of one problem (one id) must be contiguous; a group is scored once it is whole.\n"
"\n"
"  --reward NAME[=WEIGHT][:key=val,...]  add a reward (repeatable; default accuracy=2 format=1;\n"
"                       key as=KEY names it in rewards{}, for a second one of a kind)\n"
"  --answer JQ          the gold answer (default .answer)\n"
"  --completion JQ      the completion text (default .completion)\n"
"  --prompt JQ          the prompt, for the language reward (default .problem)\n"
"  --answer-part        extract the answer only from the text after the last </think>\n"
"  --anchored           no \\boxed{}: a LaTeX answer anchored by \"answer\" (open-rs's\n"
"                       Math-Verify setting)\n"
"  --fallback           no \\boxed{}: fall back to a final $...$ or \"answer is ...\"\n"
"  --lighteval          read the answer as the study's evaluation did (lighteval's\n"
"                       Math-Verify extraction: a box, an answer sentence, else the\n"
"                       last number, expression or LaTeX of the text)\n"
"  --unparsed-gold skip|correct|wrong   how a sample whose gold does not parse scores\n"
"                       (default correct, as open-rs; wrong with --lighteval, as the\n"
"                       study's evaluation; skip drops those records)\n"
"  --jobs N             score with N threads (output order is kept)\n"
"  --allow-partial      accept groups of unequal size and repeated ids\n"
"  --add                keep the rewards of an earlier reward stage and add to its\n"
"                       reward (default: rewards and reward are written afresh)\n"
"  -o, --output FILE, -Z, --plain, --zstd-level N, --skip-bad, --progress, -q, --quiet,\n"
"  --seed N, --device D, -h, --help, --version\n"
"\n"
"Rewards:\n"
"%s"
"See mreward(1) and mrl(7).\n";

enum { O_REWARD = 1, O_ANSWER, O_COMPLETION, O_PROMPT, O_ANSWER_PART, O_FALLBACK,
       O_UNPARSED, O_JOBS, O_PARTIAL, O_ANCHORED, O_LIGHTEVAL, O_ADD };

typedef struct {           /* one pending record */
    jv rec, completion, gold, prompt;   /* the last three: jv strings (or invalid) kept alive */
    char *raw; size_t raw_len;          /* rec's input line: the fields not set here leave as they came */
    rw_sample s;
    double *val;           /* one value per reward */
    char *where;           /* FILE:LINE, for messages (its own length: a group of a million
                              records held PATH_MAX bytes each, 4 GiB) */
} item;

typedef struct {
    cli c;
    rw_spec **rw;
    int nrw, need, jobs, partial;
    int add;               /* --add: keep an earlier stage's rewards{} and add to its reward */
    int warned_replace;    /* an earlier stage's reward was replaced (warned once) */
    ans_opts ao;
    rw_unparsed policy;
    int policy_given;      /* --unparsed-gold was given (else --lighteval makes it wrong) */
    jqf *fcomp, *fgold, *fprompt;
    wr_stream *w;
    item *it;              /* pending records: complete groups, then the open group */
    int n, cap;
    int *gend, ng, gcap;   /* end index of each complete pending group */
    int gsize;             /* size of the first group (the expected size) */
    char gsize_where[PATH_MAX + 24];   /* FILE:LINE where that group began (messages) */
    int tainted;           /* --skip-bad skipped a record of the open group: it goes too */
    cli_lost lost;         /* lines lost while the group size was unknown may be the next group's */
    hset seen;             /* hashes of finished ids, for contiguity */
    long unparsed, dropped;
    long long done;
} mr;

static void die_at(mr *m, const char *where, const char *fmt, const char *arg)
{
    mrl_err e = {0};
    char msg[700];
    snprintf(msg, sizeof msg, fmt, arg);
    err_set(&e, ERR_INPUT, "%s: %s", where, msg);
    cli_bad_record(&m->c, m->w, &e);
}

static void item_free(item *x)
{
    jv_free(x->rec);
    jv_free(x->completion);
    jv_free(x->gold);
    jv_free(x->prompt);
    free(x->raw);
    rw_sample_clear(&x->s);
    free(x->val);
    free(x->where);
}

static void score_group(mr *m, item *g, int n)
{
    for (int i = 0; i < n; i++) rw_judge(&g[i].s, &m->ao, m->policy);
    /* with --unparsed-gold skip those samples leave the group before group rewards */
    rw_sample *s = malloc(sizeof *s * (size_t)n);
    int *map = malloc(sizeof *map * (size_t)n), k = 0;
    double *v = malloc(sizeof *v * (size_t)n);
    if (!s || !map || !v) cli_dief(&m->c, ERR_SYS, "out of memory");   /* not rewards of 0 */
    for (int i = 0; i < n; i++)
        if (!(m->policy == RW_UNPARSED_SKIP && g[i].s.gold_unparsed)) { s[k] = g[i].s; map[k++] = i; }
    for (int r = 0; r < m->nrw; r++) {
        rw_eval_group(m->rw[r], s, k, v);
        for (int j = 0; j < k; j++) g[map[j]].val[r] = v[j];
    }
    free(v);
    free(s);
    free(map);
}

/* Threads of one batch take groups in turn from a shared counter. Plain threads, not an
 * OpenMP team: idle OpenMP workers spin between batches and slow the reading thread. */
typedef struct { mr *m; int ng; atomic_int next; } work;

static void *worker(void *arg)
{
    work *w = arg;
    jqf_nomem_thread();   /* libjq out of memory here: exit 3, not an abort */
    for (int g; (g = atomic_fetch_add(&w->next, 1)) < w->ng;) {
        int lo = g ? w->m->gend[g - 1] : 0;
        score_group(w->m, w->m->it + lo, w->m->gend[g] - lo);
    }
    return NULL;
}

static void score_all(mr *m, int ng)
{
    work w = {.m = m, .ng = ng};
    atomic_init(&w.next, 0);
    pthread_t th[1024];
    int nt = 0;
    for (int t = 1; t < m->jobs && t < ng; t++)
        if (pthread_create(&th[nt], NULL, worker, &w) == 0) nt++;
    worker(&w);
    for (int t = 0; t < nt; t++) pthread_join(th[t], NULL);
}

/* What this run's weighted rewards are added to: with --add the record's "reward" (checked
 * when the record was taken), else 0. */
static double earlier_sum(const mr *m, const item *x)
{
    if (!m->add) return 0;
    jv v = jv_object_get(jv_copy(x->rec), jv_string("reward"));
    double s = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0;
    jv_free(v);
    return s;
}

/* Scores the complete pending groups (and, with upto_open, the open one too), writes
 * them in input order and flushes. */
static void drain(mr *m, int upto_open)
{
    int ng = m->ng, end = ng ? (m->gend[ng - 1]) : 0;
    if (upto_open && m->n > (ng ? end : 0)) {
        if (m->ng == m->gcap) {
            m->gcap = m->gcap ? 2 * m->gcap : 16;
            if (!(m->gend = realloc(m->gend, sizeof *m->gend * (size_t)m->gcap))) cli_dief(&m->c, ERR_SYS, "out of memory");
        }
        m->gend[m->ng++] = m->n;
        ng = m->ng;
    }
    if (!ng) return;
    score_all(m, ng);
    int last = m->gend[ng - 1];
    /* parameters at the edge of double's range (cosine:max_len=3e-308, a weight of 1e308)
       make no number: JSON would say null, and mgrpo would refuse the record. Checked before
       anything is written, so that only the groups before the record's go out (whole: the
       samples of its group before it went out alone) */
    int bad = -1, bad_r = 0, bad_lim = last;
    for (int g = 0, lo = 0; g < ng && bad < 0; lo = m->gend[g++])
        for (int i = lo; i < m->gend[g] && bad < 0; i++) {
            if (m->policy == RW_UNPARSED_SKIP && m->it[i].s.gold_unparsed) continue;
            double sum = earlier_sum(m, &m->it[i]);
            for (int r = 0; r < m->nrw && bad < 0; r++) {
                sum += rw_weight(m->rw[r]) * m->it[i].val[r];
                if (!isfinite(m->it[i].val[r]) || !isfinite(sum)) { bad = i; bad_r = r; bad_lim = lo; }
            }
        }
    mrl_err e = {0};
    for (int i = 0; i < bad_lim; i++) {
        item *x = &m->it[i];
        if (x->s.gold_unparsed) m->unparsed++;
        if (m->policy == RW_UNPARSED_SKIP && x->s.gold_unparsed) { m->dropped++; item_free(x); continue; }
        jv rec = x->rec, rw = jv_object();
        double sum = earlier_sum(m, x);
        if (m->add) {
            jv old = jv_object_get(jv_copy(rec), jv_string("rewards"));
            if (jv_get_kind(old) == JV_KIND_OBJECT) { jv_free(rw); rw = old; } else jv_free(old);
        }
        x->rec = jv_null();
        rec = jv_object_set(rec, jv_string("pred"), x->s.pred ? jv_string(x->s.pred) : jv_null());
        rec = jv_object_set(rec, jv_string("correct"), jv_bool(x->s.correct));
        for (int r = 0; r < m->nrw; r++) {
            rw = jv_object_set(rw, jv_string(rw_key(m->rw[r])), jv_number(x->val[r]));
            sum += rw_weight(m->rw[r]) * x->val[r];
        }
        rec = jv_object_set(rec, jv_string("rewards"), rw);
        rec = jv_object_set(rec, jv_string("reward"), jv_number(sum));
        int rc = wr_put_from(m->w, rec, x->raw, x->raw_len, &e);
        item_free(x);
        if (rc < 0) cli_die(&m->c, &e);
        m->done++;
    }
    if (bad >= 0)
        cli_dief(&m->c, 1, "%s: reward %s is %s", m->it[bad].where, rw_key(m->rw[bad_r]),
                 !isfinite(m->it[bad].val[bad_r]) ? "not a finite number (its parameters or weights are out of range)"
                 : m->add ? "finite, but added to the record's \"reward\" (--add) the sum is not"
                 : "finite, but the weighted sum is not (its parameters or weights are out of range)");
    if (wr_flush(m->w, &e) < 0) cli_die(&m->c, &e);
    memmove(m->it, m->it + last, sizeof *m->it * (size_t)(m->n - last));
    m->n -= last;
    m->ng = 0;
}

/* Whether id hash h was seen before; added to the set (out of memory: not seen, not added). */
static int seen_before(mr *m, uint64_t h) { return hset_add(&m->seen, h) == 0; }

/* Drops the pending items it[from..n) (a group that does not go out). */
static void drop_from(mr *m, int from)
{
    for (int i = from; i < m->n; i++) item_free(&m->it[i]);
    m->n = from;
}

/* Before a bad record stops the run (no --skip-bad): the whole groups go out, the open group
 * it[gopen..n) too if it is whole (the size of the groups before it, the bad line not its
 * own: in_it 0) or --allow-partial. A part of a group would go out scored as a group (the
 * length reward, any per-group one, compare its samples), so it is left out, as at a signal. */
static void drain_before_error(mr *m, int gopen, int in_it)
{
    int open = m->n - gopen;
    if (open > 0 && !m->partial && (in_it || !m->gsize || open != m->gsize)) {
        cli_warn(&m->c, "%s: its group (%d record%s read) left out: a part of a group is not scored", m->it[gopen].where,
                 open, open == 1 ? "" : "s");
        drop_from(m, gopen);
    }
    drain(m, 1);
}

/* The open group (it[gopen..n)) is whole: check it, then close it. A group that lost a
 * record to --skip-bad, or (--skip-bad) has the wrong size or an id seen before, is dropped
 * whole: its rewards (the length reward, any per-group one) need every sample. */
static void close_group(mr *m, int gopen)
{
    int size = m->n - gopen;
    item *first = &m->it[gopen];
    if (cli_lost_short(&m->lost, size)) m->tainted = 1;   /* lines lost just before it were its own */
    if (m->tainted) {
        m->tainted = 0;
        cli_warn(&m->c, "%s: the rest of its group (%d record%s) dropped with it", first->where, size, size == 1 ? "" : "s");
        drop_from(m, gopen);
        return;
    }
    if (!m->partial) {
        if (!m->gsize) { m->gsize = size; snprintf(m->gsize_where, sizeof m->gsize_where, "%s", first->where); }
        jv id = jv_object_get(jv_copy(first->rec), jv_string("id"));
        int has_id = jv_is_valid(id);
        jv d = has_id ? jv_dump_string(id, 0) : (jv_free(id), jv_string("(no id)"));
        char msg[400];
        int bad = 0;
        if (has_id && seen_before(m, rec_id_hash(first->rec))) {   /* first: a part of a group that comes back is short too */
            snprintf(msg, sizeof msg, "id %.200s seen before: the samples of a problem must be contiguous", jv_string_value(d));
            bad = 2;
        } else if (size != m->gsize) {
            snprintf(msg, sizeof msg, "group %.120s has %d sample%s, expected %d (the first group's, at %.120s)", jv_string_value(d),
                     size, size == 1 ? "" : "s", m->gsize, m->gsize_where);
            bad = 1;
        }
        jv_free(d);
        if (bad) {
            char where[PATH_MAX + 24];   /* a reappearing id: where the group starts again */
            snprintf(where, sizeof where, "%s", bad == 1 ? m->it[m->n - 1].where : first->where);
            drain(m, 0);          /* the groups before it go out first (the open one moves to the front) */
            die_at(m, where, "%s", msg);   /* returns only under --skip-bad: drop the group */
            drop_from(m, m->n - size);
            return;
        }
    }
    if (m->ng == m->gcap) {
        m->gcap = m->gcap ? 2 * m->gcap : 16;
        if (!(m->gend = realloc(m->gend, sizeof *m->gend * (size_t)m->gcap))) cli_dief(&m->c, ERR_SYS, "out of memory");
    }
    m->gend[m->ng++] = m->n;
}

/* An earlier reward stage's "rewards" and "reward" in rec. --add keeps them: rewards must be
 * an object without a name of this run's, reward a number (or absent, 0). Else both are
 * written afresh: a name this run does not give would be lost, which is said once. */
static int earlier_rewards(mr *m, jv rec, const char *where, mrl_err *e)
{
    jv old = jv_object_get(jv_copy(rec), jv_string("rewards"));
    int kind = jv_get_kind(old), rc = 0;
    if (m->add) {
        jv sum = jv_object_get(jv_copy(rec), jv_string("reward"));
        if (jv_is_valid(sum) && (jv_get_kind(sum) != JV_KIND_NUMBER || !isfinite(jv_number_value(sum))))
            rc = err_set(e, ERR_INPUT, "%s: \"reward\" is not a finite number (--add adds to it)", where);
        else if (jv_is_valid(old) && kind != JV_KIND_OBJECT)
            rc = err_set(e, ERR_INPUT, "%s: \"rewards\" is not an object (--add adds to it)", where);
        for (int r = 0; !rc && kind == JV_KIND_OBJECT && r < m->nrw; r++)
            if (jv_object_has(jv_copy(old), jv_string(rw_key(m->rw[r]))))
                rc = err_set(e, ERR_INPUT, "%s: \"rewards\" has %s already (an earlier stage's; :as=NAME gives this one another name)",
                             where, rw_key(m->rw[r]));
        jv_free(sum);
    } else if (kind != JV_KIND_OBJECT && !m->warned_replace) {   /* a reward without rewards{} */
        jv sum = jv_object_get(jv_copy(rec), jv_string("reward"));
        if (jv_is_valid(sum) && jv_get_kind(sum) != JV_KIND_NULL) {
            cli_warn(&m->c, "%s: \"reward\", an earlier stage's, is replaced with this run's (--add adds to it)", where);
            m->warned_replace = 1;
        }
        jv_free(sum);
    } else if (kind == JV_KIND_OBJECT && !m->warned_replace) {
        jv_object_foreach(old, k, v) {
            int ours = 0;
            for (int r = 0; r < m->nrw && !ours; r++) ours = !strcmp(jv_string_value(k), rw_key(m->rw[r]));
            if (!ours && !m->warned_replace) {
                cli_warn(&m->c, "%s: rewards.%s, an earlier stage's, is replaced with this run's rewards (--add keeps it and adds to \"reward\")",
                         where, jv_string_value(k));
                m->warned_replace = 1;
            }
            jv_free(k); jv_free(v);
        }
    }
    jv_free(old);
    return rc;
}

/* Reads the fields of rec into a new pending item; 0, or -1 with e set (bad record). */
static int take(mr *m, jv rec, const char *raw, size_t raw_len, const char *where, mrl_err *e)
{
    jv comp = jqf_first(m->fcomp, rec, e);
    if (e->code) { jv_free(comp); return err_prefix(e, "%s", where); }
    char why[600];
    if (jv_get_kind(comp) != JV_KIND_STRING) {
        jqf_wrong(m->fcomp, "--completion", comp, "a string", why, sizeof why);
        jv_free(comp);
        return err_set(e, ERR_INPUT, "%s: %s", where, why);
    }
    jv gold = jqf_first(m->fgold, rec, e);
    if (e->code) { jv_free(comp); jv_free(gold); return err_prefix(e, "%s", where); }
    if (jv_get_kind(gold) == JV_KIND_NUMBER) {   /* "answer": 42, in its own digits, also through .answer // .solution */
        char *key = jqf_first_key(m->fgold, rec);
        gold = rec_number_text(gold, raw, raw_len, key);
        free(key);
    }
    if (jv_get_kind(gold) != JV_KIND_STRING) {
        jqf_wrong(m->fgold, "--answer", gold, "a string or a number", why, sizeof why);
        jv_free(comp); jv_free(gold);
        return err_set(e, ERR_INPUT, "%s: %s", where, why);
    }
    long ntok = -1;
    jv ids = jv_object_get(jv_copy(rec), jv_string("completion_ids"));
    if (jv_get_kind(ids) == JV_KIND_ARRAY) ntok = jv_array_length(jv_copy(ids));
    jv_free(ids);
    char msg[200] = "";
    if (rec_optional(rec, "completion_ids", JV_KIND_ARRAY, msg, sizeof msg) == 0 && (m->need & RW_NEEDS_TOKENS) && ntok < 0)
        snprintf(msg, sizeof msg, "\"completion_ids\" is missing");
    if (msg[0]) {
        jv_free(comp); jv_free(gold);
        return err_set(e, ERR_INPUT, "%s: %s", where, msg);
    }
    jv prompt = jv_invalid();
    if (m->need & RW_NEEDS_PROMPT) {
        prompt = jqf_first(m->fprompt, rec, e);
        if (e->code) { jv_free(comp); jv_free(gold); jv_free(prompt); return err_prefix(e, "%s", where); }
        if (jv_get_kind(prompt) != JV_KIND_STRING && jv_get_kind(prompt) != JV_KIND_NULL && jv_is_valid(prompt)) {
            jqf_wrong(m->fprompt, "--prompt", prompt, "a string", why, sizeof why);
            jv_free(comp); jv_free(gold); jv_free(prompt);
            return err_set(e, ERR_INPUT, "%s: %s", where, why);
        }
        if (jv_get_kind(prompt) != JV_KIND_STRING) {   /* the script to hold the completion to is unknown */
            jqf_wrong(m->fprompt, "--prompt", prompt, "a string", why, sizeof why);
            jv_free(comp); jv_free(gold); jv_free(prompt);
            return err_set(e, ERR_INPUT, "%s: %s (the language reward takes its script from it; language:script=NAME fixes one)",
                           where, why);
        }
    }
    if (earlier_rewards(m, rec, where, e) < 0) { jv_free(comp); jv_free(gold); jv_free(prompt); return -1; }
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->it = realloc(m->it, sizeof *m->it * (size_t)m->cap);
        if (!m->it) return err_set(e, ERR_SYS, "out of memory");
    }
    char *rc = malloc(raw_len + 1);
    if (!rc) { jv_free(comp); jv_free(gold); jv_free(prompt); return err_set(e, ERR_SYS, "out of memory"); }
    memcpy(rc, raw, raw_len);
    item *x = &m->it[m->n++];
    memset(x, 0, sizeof *x);
    x->rec = rec;
    x->raw = rc; x->raw_len = raw_len;
    /* the checker and the rewards read C strings: a NUL in a text is U+FFFD to them */
    x->completion = comp = jv_no_nul(comp);
    x->gold = gold = jv_no_nul(gold);
    x->prompt = prompt = jv_no_nul(prompt);
    x->s.completion = jv_string_value(comp);
    x->s.gold = jv_string_value(gold);
    x->s.prompt = jv_is_valid(prompt) ? jv_string_value(prompt) : NULL;
    x->s.ntokens = ntok;
    x->val = calloc((size_t)(m->nrw ? m->nrw : 1), sizeof *x->val);
    if (!x->val) cli_dief(&m->c, ERR_SYS, "out of memory");
    if (!(x->where = strdup(where))) cli_dief(&m->c, ERR_SYS, "out of memory");
    return 0;
}

static jqf *compile(mr *m, const char *opt, const char *prog)
{
    mrl_err e = {0};
    jqf *f = jqf_compile(prog, &e);
    if (!f) cli_usage(&m->c, "%s: %s", opt, e.msg);
    return f;
}

int main(int argc, char **argv)
{
    static mr m;
    char help[4096];
    {
        char rewards[2048];
        FILE *f = fmemopen(rewards, sizeof rewards, "w");
        if (f) { rw_print_help(f); fputc(0, f); fclose(f); } else rewards[0] = 0;
        snprintf(help, sizeof help, usage, rewards);
    }
    cli_init(&m.c, "mreward", help);
    cli_signals();
    const char *pcomp = ".completion", *pgold = ".answer", *pprompt = ".problem";
    m.jobs = 1;
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"reward", required_argument, 0, O_REWARD}, {"answer", required_argument, 0, O_ANSWER},
        {"completion", required_argument, 0, O_COMPLETION}, {"prompt", required_argument, 0, O_PROMPT},
        {"answer-part", no_argument, 0, O_ANSWER_PART}, {"fallback", no_argument, 0, O_FALLBACK},
        {"anchored", no_argument, 0, O_ANCHORED}, {"lighteval", no_argument, 0, O_LIGHTEVAL},
        {"unparsed-gold", required_argument, 0, O_UNPARSED}, {"jobs", required_argument, 0, O_JOBS},
        {"allow-partial", no_argument, 0, O_PARTIAL}, {"add", no_argument, 0, O_ADD}, {0, 0, 0, 0}};
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORT, longopts, NULL)) != -1) {
        if (cli_common(&m.c, opt, optarg)) continue;
        mrl_err e = {0};
        switch (opt) {
        case O_REWARD: {
            rw_spec *r = rw_parse(optarg, &e);
            if (!r) cli_usage(&m.c, "%s", e.msg);
            for (int i = 0; i < m.nrw; i++)
                if (!strcmp(rw_key(m.rw[i]), rw_key(r)))
                    cli_usage(&m.c, "--reward %s: a second '%s' needs its own name (:as=NAME)", optarg, rw_key(r));
            if (!(m.rw = realloc(m.rw, sizeof *m.rw * (size_t)(m.nrw + 1)))) cli_dief(&m.c, ERR_SYS, "out of memory");
            m.rw[m.nrw++] = r;
            break;
        }
        case O_ANSWER: pgold = optarg; break;
        case O_COMPLETION: pcomp = optarg; break;
        case O_PROMPT: pprompt = optarg; break;
        case O_ANSWER_PART: m.ao.answer_part = 1; break;
        case O_FALLBACK: m.ao.fallback = 1; break;
        case O_ANCHORED: m.ao.anchored = 1; break;
        case O_LIGHTEVAL: m.ao.lighteval = 1; break;
        case O_UNPARSED:
            if (!strcmp(optarg, "correct")) m.policy = RW_UNPARSED_CORRECT;
            else if (!strcmp(optarg, "wrong")) m.policy = RW_UNPARSED_WRONG;
            else if (!strcmp(optarg, "skip")) m.policy = RW_UNPARSED_SKIP;
            else cli_usage(&m.c, "--unparsed-gold: '%s' is not skip, correct or wrong", optarg);
            m.policy_given = 1;
            break;
        case O_JOBS: m.jobs = (int)cli_long(&m.c, "--jobs", optarg, 1, 1024); break;
        case O_PARTIAL: m.partial = 1; break;
        case O_ADD: m.add = 1; break;
        default: cli_bad_option(&m.c, opt, argv, longopts);
        }
    }
    if (m.ao.lighteval && (m.ao.anchored || m.ao.fallback))
        cli_usage(&m.c, "--lighteval reads the answer its own way: it takes no --%s",
                  m.ao.anchored ? "anchored" : "fallback");
    /* lighteval compares a gold it cannot extract as a raw string, which a completion practically
     * never matches: the study's evaluation scored such a problem 0, not open-rs's training 1 */
    if (m.ao.lighteval && !m.policy_given) m.policy = RW_UNPARSED_WRONG;
    if (!m.nrw) {
        mrl_err e = {0};
        if (!(m.rw = malloc(sizeof *m.rw * 2))) cli_dief(&m.c, ERR_SYS, "out of memory");
        m.rw[m.nrw++] = rw_parse("accuracy=2", &e);
        m.rw[m.nrw++] = rw_parse("format=1", &e);
    }
    for (int i = 0; i < m.nrw; i++) m.need |= rw_needs(m.rw[i]);
    m.fcomp = compile(&m, "--completion", pcomp);
    m.fgold = compile(&m, "--answer", pgold);
    m.fprompt = compile(&m, "--prompt", pprompt);

    mrl_err e = {0};
    rd_stream *rd = rd_open((const char *const *)argv + optind, argc - optind, &e);
    if (!rd) cli_die(&m.c, &e);
    m.w = cli_writer(&m.c);
    rd_set_stop(rd, cli_stop_requested);   /* a signal ends a blocked read (mrl(7): a stop is at once) */
    progress *p = prog_start(&m.c, "records", -1);
    prog_input(p, rd);
    int batch = m.jobs > 1 ? 16 * m.jobs : 1;  /* groups scored together; 1 keeps a pipe prompt */
    int gopen = 0;                             /* start of the open group in it[] */
    jv open_id = jv_invalid();
    for (;;) {
        if (cli_stop_requested()) break;
        /* a batch of --jobs goes out early when upstream is slow: the next read would wait */
        if (m.ng && rd_would_block(rd)) { int open = m.n - gopen; drain(&m, 0); gopen = m.n - open; }
        jv rec;
        e = (mrl_err){0};
        int rc = rd_next(rd, &rec, &e);
        if (rc == 0) break;
        if (rc < 0) {
            if (!cli_skippable(&m.c, &e)) drain_before_error(&m, gopen, 0);
            cli_bad_record(&m.c, m.w, &e);
            /* before the first whole group its size is unknown: the line may be the next group's
             * first just as well (cli_lost_line); an open group that lost anything else (a record,
             * a line inside it or just before it), or none, measures nothing: the next group goes */
            if (!m.partial && !m.gsize) {
                int open = m.n - gopen;
                cli_lost_line(&m.lost, open > 0 && !m.tainted ? open : 0, LONG_MAX);
            }
            /* whose record it was is unknown: the open group's, unless that is whole already
             * (else it would go out short, and as the first group set the size to expect) */
            if (m.n > gopen && (m.partial || !m.gsize || m.n - gopen < m.gsize)) m.tainted = 1;
            continue;
        }
        char where[PATH_MAX + 24];
        snprintf(where, sizeof where, "%s:%ld", rd_name(rd), rd_lineno(rd));
        jv id = jv_object_get(jv_copy(rec), jv_string("id"));
        /* a record without an id is a group of its own */
        if (!jv_is_valid(id) || !jv_is_valid(open_id) || !jv_equal(jv_copy(id), jv_copy(open_id))) {
            if (m.n > gopen) {
                close_group(&m, gopen);
                gopen = m.n;
                if (m.ng >= batch) { drain(&m, 0); gopen = m.n; }
            }
            m.tainted = 0;   /* a new group (one whose every record was bad is gone already) */
            cli_lost_open(&m.lost);
        }
        cli_lost_same(&m.lost);   /* a lost line before a record of the open group was that group's */
        jv_free(open_id);
        open_id = id;
        size_t rl = 0;
        const char *raw = rd_line(rd, &rl);
        if (take(&m, rec, raw, rl, where, &e) < 0) {
            jv_free(rec);
            if (!m.c.skip_bad) drain_before_error(&m, gopen, 1);
            cli_bad_record(&m.c, m.w, &e);
            m.tainted = 1;
            continue;
        }
        prog_update(p, m.done, 0);
    }
    jv_free(open_id);
    /* interrupted: the open group goes out if it is whole (the size of the groups before it);
       one that may be half read is left out, as mfilter and meval leave it, so that what was
       written holds whole groups only (--allow-partial: as it is). A whole one is checked as at
       the end of input (a lost record, an id seen before). */
    int open = m.n - gopen;
    if (cli_stop_requested() && open > 0 && !m.partial && (!m.gsize || open < m.gsize)) {
        cli_warn(&m.c, "interrupted: the group open then (%d record%s) left out: it may be incomplete", open, open == 1 ? "" : "s");
        for (int i = gopen; i < m.n; i++) item_free(&m.it[i]);
        m.n = gopen;
    }
    if (m.n > gopen) close_group(&m, gopen);
    drain(&m, 0);
    prog_update(p, m.done, 0);   /* the last group, scored by the drain above */
    prog_end(p);
    rd_close(rd);
    if (m.unparsed)
        cli_warn(&m.c, "gold_unparsed: %ld record%s (%s)", m.unparsed, m.unparsed == 1 ? "" : "s",
                 m.policy == RW_UNPARSED_SKIP ? "skipped" : m.policy == RW_UNPARSED_WRONG ? "scored wrong" : "scored correct");
    if (rw_regex_undecided())
        cli_warn(&m.c, "%ld regex match%s ran past PCRE2's match or heap limit (catastrophic backtracking) and scored 0",
                 rw_regex_undecided(), rw_regex_undecided() == 1 ? "" : "es");
    int status = cli_finish(&m.c, m.w);
    for (int i = 0; i < m.nrw; i++) rw_free(m.rw[i]);
    free(m.rw); free(m.it); free(m.gend); hset_free(&m.seen);
    jqf_free(m.fcomp); jqf_free(m.fgold); jqf_free(m.fprompt);
    return status;
}
