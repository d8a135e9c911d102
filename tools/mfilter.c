/* mfilter — curation of record streams: rule filters (--where, --match, --dedupe),
 * difficulty from rollouts (--pass-band, --drop-uniform), mixing (--take, --shuffle, --split). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "rx.h"
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "batch.h"
#include "cli.h"
#include "hset.h"
#include "jqf.h"
#include "rng.h"
#include "answer.h"
#include "tokenizer.h"

static const char usage[] =
"Usage: mfilter [OPTION]... [FILE]...\n"
"Filter, sample and split JSON Lines records (plain or zstd; stdin when no FILE).\n"
"Records without an \"id\" get id \"FILE:LINE\". Stages run in this order:\n"
"groups (--pass-band, --drop-uniform), rules (--where, --match, --dedupe),\n"
"sampling (--take, --shuffle), output (stdout, -o, --split).\n"
"\n"
"Rules:\n"
"  --where JQ            keep records for which the jq filter's first output is\n"
"                        neither false nor null (repeatable: all must hold)\n"
"  --match REGEX         keep records whose --field text matches (PCRE2, UTF-8, \\p{..})\n"
"  --field JQ            text for --match, --dedupe and --max-tokens (default .problem)\n"
"  --dedupe              keep the first record of each normalised --field text\n"
"                        (NFKC, case folded, whitespace removed); count on stderr\n"
"  --require-boxed       keep records whose gold answer parses (its last \\boxed{} or the\n"
"                        whole text); count of dropped ones on stderr\n"
"  --answer JQ           the gold for --require-boxed (default .answer // .solution)\n"
"  --max-tokens N        keep records whose rendered prompt is at most N tokens\n"
"  --model DIR           ... with DIR's tokenizer.json (or --tokenizer FILE)\n"
"  --template NAME|FILE  ... and this chat template (default r1), as msample renders it\n"
"  --system TEXT|@FILE   ... and system text (default Open-RS's system prompt)\n"
"Difficulty (input: rollouts, the samples of one id contiguous):\n"
"  --pass-band LO:HI     one record per problem with pass_rate in [LO, HI]:\n"
"                        problem fields + pass_rate + samples\n"
"  -n, --group-size G    expected samples per problem (default: the first group's size)\n"
"  --allow-partial       accept groups of another size\n"
"  --drop-uniform        drop groups whose rewards are all equal, pass the rest\n"
"Sampling and output:\n"
"  --take N              a seeded uniform subset of N records, in input order\n"
"  --shuffle             seeded random order (with --take: the subset shuffled)\n"
"  --split NAME:FRAC,... one file per NAME, records placed by a hash of id;\n"
"                        files NAME.jsonl.zst, or -o PATTERN with %s for NAME\n"
"  --seed N              seed for --take, --shuffle, --split (default 0)\n"
"  -j, --threads N       threads parsing JSON, 1 to 8 (default: one per CPU, at most 8)\n"
"Common:\n"
"  -o, --output FILE     write FILE atomically (zstd unless -Z)\n"
"  -Z, --plain           plain JSON Lines output (default on a terminal)\n"
"  --zstd-level N        zstd level (default 3)\n"
"  --skip-bad            warn about bad records and go on; count at the end\n"
"  --progress, -q, --quiet  force / silence the progress line and summaries\n"
"  --device D            accepted as by every tool (mfilter runs on the CPU)\n"
"  -h, --help, --version\n"
"See mfilter(1) and mrl(7).\n";

enum { O_WHERE = 1, O_MATCH, O_FIELD, O_DEDUPE, O_REQBOXED, O_MAXTOK, O_MODEL, O_PASSBAND,
       O_PARTIAL, O_DROPUNI, O_TAKE, O_SHUFFLE, O_SPLIT, O_THREADS, O_ANSWER, O_TOKENIZER,
       O_TEMPLATE, O_SYSTEM };

typedef struct item {       /* a record on its way through the stages */
    jv rec;                 /* parsed (owned) */
    const char *text;       /* the line to write: the input line as read, or own */
    size_t len;
    char *own;              /* malloc'ed text when it is not the reader's buffer */
    const char *file;
    long line;
} item;

typedef struct kept {       /* a record held for --take/--shuffle */
    uint64_t key;           /* --take's: the N smallest are kept */
    uint64_t order;         /* --shuffle's: the order they are written in */
    long seq;
    int split;
    size_t len;
    char *text;
} kept;

typedef struct mf {
    cli c;
    /* rules */
    /* per parsing thread (rules run in the thread that parsed the record): */
    jqf *where[8][16]; int nwhere; const char *where_text[16];
    pcre2_code *re; pcre2_match_data *md[8]; pcre2_match_context *mc;   /* mc: --match's limits, read only */
    jqf *field[8]; const char *field_text;
    int dedupe; hset seen_text; long ndup;
    int require_boxed; jqf *answer[8]; const char *answer_text; long nunparsed;
    long max_tokens; mrl_tok *tok; mrl_template *tp; char *system; long nlong;
    /* groups */
    int pass_band, drop_uniform, allow_partial;
    double lo, hi;
    long group_size;        /* -n, or the first group's size; 0 = not known yet */
    char group_size_from[PATH_MAX + 48];   /* " (the first group's, at FILE:LINE)"; empty for -n */
    item *grp; int ngrp, capgrp;
    uint64_t grp_id;        /* the open group's mf_id_hash */
    int grp_tainted;        /* --skip-bad lost a line (invalid JSON) of the open group: it goes too */
    cli_lost lost;          /* ... or of the group that starts next (mf_lost_line) */
    long first_size;        /* the size of the first whole group (--drop-uniform too) */
    hset done_ids;
    long ngroups, ndropped; /* groups judged (rate or uniformity known), and dropped by it */
    long nskipped;          /* groups --skip-bad dropped whole (a bad or lost record, a wrong size) */
    long nshort, nshort_recs;   /* ... those of them of the wrong size, and their records */
    /* sampling */
    long take; int shuffle;
    kept *keep; long nkeep, capkeep, seq;
    /* output */
    wr_stream *w;
    int nsplit; char *split_name[32]; double split_frac[32]; wr_stream *split_w[32]; long split_n[32];
    long nout;
    int threads;            /* parsing threads (-j); 0 = one per CPU */
} mf;

static void mf_item_free(item *it) { jv_free(it->rec); free(it->own); it->own = NULL; }

/* Every output (the split files included) is settled before an error exit. */
static void mf_abort_splits(mf *m) {
    for (int i = 0; i < m->nsplit; i++) if (m->split_w[i]) { wr_abort(m->split_w[i]); m->split_w[i] = NULL; }
}
static void mf_die(mf *m, const mrl_err *e) { mf_abort_splits(m); cli_die(&m->c, e); }
/* A bad record: returns 0 to skip it (--skip-bad), otherwise exits. */
static int mf_bad(mf *m, const mrl_err *e) {
    if (!cli_skippable(&m->c, e)) mf_abort_splits(m);
    return cli_bad_record(&m->c, NULL, e);
}

/* The id's key (groups, --split, --take): a string id's text as it is; any other value its
 * JSON text after a 0xFF byte, which no string (valid UTF-8) holds, so 1 and "1" are two
 * problems, as in mreward and mgrpo. */
static uint64_t mf_id_hash(mf *m, jv rec) {
    jv id = jv_object_get(jv_copy(rec), jv_string("id"));
    if (jv_get_kind(id) == JV_KIND_STRING) {   /* every record of most inputs: hashed in place */
        uint64_t h = rng_hash(jv_string_value(id), (size_t)jv_string_length_bytes(jv_copy(id)));
        jv_free(id);
        return h;
    }
    jv t = jv_dump_canonical(id);
    size_t n = (size_t)jv_string_length_bytes(jv_copy(t));
    char *b = malloc(n + 1);
    if (!b) cli_dief(&m->c, ERR_SYS, "out of memory");
    b[0] = (char)0xFF;
    memcpy(b + 1, jv_string_value(t), n);
    uint64_t h = rng_hash(b, n + 1);
    free(b); jv_free(t);
    return h;
}
/* The id for messages, as JSON ("p1", 1), as mreward writes it. */
static jv mf_id_json(jv rec) { return jv_dump_string(jv_object_get(jv_copy(rec), jv_string("id")), 0); }

/* ---------------------------------------------------------------- output */

static int mf_split_of(mf *m, jv rec) {
    if (!m->nsplit) return -1;
    mrl_rng r;
    rng_init(&r, m->c.seed, mf_id_hash(m, rec), 0x53504C4954ull);
    double u = rng_uniform(&r), acc = 0;
    for (int i = 0; i < m->nsplit - 1; i++) if (u < (acc += m->split_frac[i])) return i;
    return m->nsplit - 1;
}

static void mf_write(mf *m, int split, const char *text, size_t len) {
    mrl_err e = {0};
    wr_stream *w = split >= 0 ? m->split_w[split] : m->w;
    if (wr_put_raw(w, text, len, &e) < 0) mf_die(m, &e);
    if (split >= 0) m->split_n[split]++;
    m->nout++;
}

static int kept_by_key(const void *a, const void *b) {
    const kept *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key ? 1 : (x->seq > y->seq) - (x->seq < y->seq);
}
static int kept_by_order(const void *a, const void *b) {
    const kept *x = a, *y = b;
    return x->order < y->order ? -1 : x->order > y->order ? 1 : (x->seq > y->seq) - (x->seq < y->seq);
}
static int kept_by_seq(const void *a, const void *b) {
    const kept *x = a, *y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* --take keeps the N records with the smallest keys in a max-heap; a record's key is
 * drawn from the stream (seed, hash(id), hash(text)), so the subset is uniform, streams
 * in O(N) memory, and does not depend on the input order. */
static void heap_down(kept *h, long n, long i) {
    for (;;) {
        long l = 2 * i + 1, r = l + 1, big = i;
        if (l < n && kept_by_key(&h[l], &h[big]) > 0) big = l;
        if (r < n && kept_by_key(&h[r], &h[big]) > 0) big = r;
        if (big == i) return;
        kept t = h[i]; h[i] = h[big]; h[big] = t;
        i = big;
    }
}
static void heap_up(kept *h, long i) {
    while (i > 0 && kept_by_key(&h[(i - 1) / 2], &h[i]) < 0) {
        kept t = h[i]; h[i] = h[(i - 1) / 2]; h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static void mf_emit(mf *m, item *it) {
    int split = mf_split_of(m, it->rec);
    if (!m->take && !m->shuffle) { mf_write(m, split, it->text, it->len); return; }
    mrl_rng r;
    rng_init(&r, m->c.seed, mf_id_hash(m, it->rec), rng_hash(it->text, it->len));
    kept k = {.key = rng_u64(&r), .seq = m->seq++, .split = split, .len = it->len};
    /* the order is a draw of its own: were it the --take key, a --shuffle of what --takes with
       the same seed chose (the mix of EXAMPLES) would line the records up by source, those of
       the input that kept the smallest fraction first */
    k.order = rng_u64(&r);
    if (m->take && m->nkeep == m->take) {
        if (kept_by_key(&k, &m->keep[0]) >= 0) return;   /* not among the N smallest */
        free(m->keep[0].text);
        m->nkeep--;
        m->keep[0] = m->keep[m->nkeep];
        heap_down(m->keep, m->nkeep, 0);
    }
    if (m->nkeep == m->capkeep) {
        m->capkeep = m->capkeep ? m->capkeep * 2 : 1024;
        if (m->take && m->capkeep > m->take) m->capkeep = m->take;
        m->keep = realloc(m->keep, (size_t)m->capkeep * sizeof *m->keep);
        if (!m->keep) cli_dief(&m->c, ERR_SYS, "out of memory");
    }
    if (!(k.text = malloc(it->len ? it->len : 1))) cli_dief(&m->c, ERR_SYS, "out of memory");
    memcpy(k.text, it->text, it->len);
    m->keep[m->nkeep++] = k;
    if (m->take) heap_up(m->keep, m->nkeep - 1);
}

static void mf_emit_kept(mf *m) {
    if (!m->nkeep) return;
    qsort(m->keep, (size_t)m->nkeep, sizeof *m->keep, m->shuffle ? kept_by_order : kept_by_seq);
    for (long i = 0; i < m->nkeep; i++) { mf_write(m, m->keep[i].split, m->keep[i].text, m->keep[i].len); free(m->keep[i].text); }
    m->nkeep = 0;
}

/* ----------------------------------------------------------------- rules */

/* The text chosen by --field, or NULL with e set. numok: a number is taken as its JSON text
 * (a gold answer of 42, as mreward reads it). */
static const char *mf_jq_text(jqf *q, const char *opt, item *it, jv *hold, int numok, mrl_err *e) {
    *hold = jqf_first(q, it->rec, e);
    if (!jv_is_valid(*hold) && e->code) return err_prefix(e, "%s:%ld", it->file, it->line), NULL;
    if (numok && jv_get_kind(*hold) == JV_KIND_NUMBER) {
        char *key = jqf_first_key(q, it->rec);
        *hold = rec_number_text(*hold, it->text, it->len, key);
        free(key);
    }
    if (jv_get_kind(*hold) == JV_KIND_STRING) return jv_string_value(*hold);   /* may hold a NUL: use its length */
    const char *f = jqf_text(q);
    int simple = jqf_field(f) != NULL;
    jv_kind k = jv_is_valid(*hold) ? jv_get_kind(*hold) : JV_KIND_NULL;
    if (simple && k == JV_KIND_NULL) err_set(e, ERR_INPUT, "%s:%ld: \"%s\" is missing", it->file, it->line, f + 1);
    else if (simple) err_set(e, ERR_INPUT, "%s:%ld: \"%s\" is not a string%s (%s)", it->file, it->line, f + 1, numok ? " or a number" : "", jv_kind_name(k));
    else err_set(e, ERR_INPUT, "%s:%ld: %s '%s' gave %s, not a string%s", it->file, it->line, opt, f,
                 jv_is_valid(*hold) ? jv_kind_name(k) : "nothing", numok ? " or a number" : "");   /* no output: not "null" */
    return NULL;
}
static const char *mf_field_text(mf *m, int th, item *it, jv *hold, mrl_err *e) {
    return mf_jq_text(m->field[th], "--field", it, hold, 0, e);
}

/* --require-boxed: 1 when the gold parses, 0 not (counted), -1 bad record. */
static int mf_gold_ok(mf *m, int th, item *it, mrl_err *e) {
    jv hold;
    const char *s = mf_jq_text(m->answer[th], "--answer", it, &hold, 1, e);
    if (!s) { jv_free(hold); return -1; }
    hold = jv_no_nul(hold);   /* the answer checker reads a C string */
    s = jv_string_value(hold);
    char *g = ans_extract_gold(s);
    int ok = g && ans_gold_parses(g);
    free(g); jv_free(hold);
    if (!ok) __atomic_fetch_add(&m->nunparsed, 1, __ATOMIC_RELAXED);
    return ok;
}

/* --max-tokens: 1 when the prompt msample would render from --field is short enough. */
static int mf_short_enough(mf *m, int th, item *it, mrl_err *e) {
    jv hold;
    const char *s = mf_field_text(m, th, it, &hold, e);
    if (!s) { jv_free(hold); return -1; }
    size_t plen;
    char *prompt = tmpl_render(m->tp, m->system, s, (size_t)jv_string_length_bytes(jv_copy(hold)), &plen);
    jv_free(hold);
    if (!prompt) return err_set(e, ERR_SYS, "out of memory");
    int n = tok_encode(m->tok, prompt, plen, NULL, 0, e);
    free(prompt);
    if (n < 0) return err_prefix(e, "%s:%ld", it->file, it->line);
    if (n > m->max_tokens) { __atomic_fetch_add(&m->nlong, 1, __ATOMIC_RELAXED); return 0; }
    return 1;
}

/* Dedupe key: NFKC + case folding, whitespace removed ("What is  X?" = "what is x?"). */
static uint64_t mf_norm_hash(const char *s, size_t slen) {
    utf8proc_uint8_t *n = NULL;   /* every byte up to slen: a NUL is a character like any other */
    utf8proc_ssize_t len = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)slen, &n,
                                        UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
    if (len < 0) return rng_hash(s, slen);   /* not reachable for jv strings (valid UTF-8) */
    size_t k = 0;   /* every White_Space character out: ASCII's, NEL, and the Zs/Zl/Zp ones NFKC keeps */
    for (utf8proc_ssize_t i = 0; i < len;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t m = utf8proc_iterate(n + i, len - i, &c);
        if (m <= 0) { n[k++] = n[i++]; continue; }   /* not reachable: utf8proc_map wrote valid UTF-8 */
        utf8proc_category_t cat = utf8proc_category(c);
        int ws = (c >= 9 && c <= 13) || c == 0x85 || cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
                 cat == UTF8PROC_CATEGORY_ZP;
        if (!ws) { memmove(n + k, n + i, (size_t)m); k += (size_t)m; }
        i += m;
    }
    uint64_t h = rng_hash(n, k);
    free(n);
    return h;
}

/* The stateless rules, with parsing thread th's filters: 1 keep, 0 drop, -1 bad record
 * (e set); *dkey gets the --dedupe key, which mf_dup then checks in input order. */
static int mf_test(mf *m, int th, item *it, uint64_t *dkey, mrl_err *e) {
    for (int i = 0; i < m->nwhere; i++) {
        jv v = jqf_first(m->where[th][i], it->rec, e);
        if (!jv_is_valid(v)) {
            if (e->code) return err_prefix(e, "%s:%ld", it->file, it->line);
            return 0;
        }
        jv_kind k = jv_get_kind(v);
        jv_free(v);
        if (k == JV_KIND_FALSE || k == JV_KIND_NULL) return 0;
    }
    int k;
    if (m->require_boxed && (k = mf_gold_ok(m, th, it, e)) <= 0) return k;
    if (m->max_tokens && (k = mf_short_enough(m, th, it, e)) <= 0) return k;
    if (m->re || m->dedupe) {
        jv hold;
        const char *s = mf_field_text(m, th, it, &hold, e);
        if (!s) { jv_free(hold); return -1; }
        int keep = 1;
        if (m->re) {
            int rc = rx_match(m->re, s, (size_t)jv_string_length_bytes(jv_copy(hold)), 0, PCRE2_NO_UTF_CHECK, m->md[th], m->mc);
            if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
                PCRE2_UCHAR msg[256];
                pcre2_get_error_message(rc, msg, sizeof msg);
                jv_free(hold);
                int lim = rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT;
                return err_set(e, ERR_INPUT, "%s:%ld: --match: %s%s", it->file, it->line, (char *)msg,
                               lim ? " (the pattern backtracks past 10 million steps or 512 MiB on this text: a class, [xy]+ "
                                     "for (x|y)+, or a possessive quantifier, (x|y)++, keeps nothing to go back to)" : "");
            }
            keep = rc >= 0;
        }
        if (keep && m->dedupe) *dkey = mf_norm_hash(s, (size_t)jv_string_length_bytes(jv_copy(hold)));
        jv_free(hold);
        return keep;
    }
    return 1;
}

/* --dedupe: was this key seen before? (the first record of a text is kept) */
static int mf_dup(mf *m, uint64_t key) {
    if (!m->dedupe) return 0;
    int added = hset_add(&m->seen_text, key);
    if (added < 0) cli_dief(&m->c, ERR_SYS, "out of memory");
    if (!added) m->ndup++;
    return !added;
}

static void mf_after_groups(mf *m, item *it) {
    mrl_err e = {0};
    uint64_t key = 0;
    int k = mf_test(m, 0, it, &key, &e);
    if (k < 0) mf_bad(m, &e);
    else if (k && !mf_dup(m, key)) mf_emit(m, it);
}

/* ---------------------------------------------------------------- groups */

static const char *const per_sample[] = {"sample", "completion", "completion_ids", "prompt_ids", "logprobs",
                                         "finish", "policy", "pred", "correct", "rewards", "reward"};

/* A reward of NaN or infinity (libjq reads `nan`, and 1e999 as infinity) is a bad record, not
 * a sample that counts as unsolved (NaN) or solved (infinity) or breaks uniformity. */
static int mf_reward_finite(const item *it, double r, mrl_err *e) {
    if (isfinite(r)) return 0;
    return err_set(e, ERR_INPUT, "%s:%ld: \"reward\" is not a finite number", it->file, it->line);
}

/* Whether sample it was solved: `correct` when the record has it, else reward > 0. */
static int mf_solved(const item *it, int *solved, mrl_err *e) {
    jv c = jv_object_get(jv_copy(it->rec), jv_string("correct"));
    jv_kind k = jv_get_kind(c);
    double cv = k == JV_KIND_NUMBER ? jv_number_value(c) : 0;
    jv_free(c);
    if (k == JV_KIND_TRUE || k == JV_KIND_FALSE) { *solved = k == JV_KIND_TRUE; return 0; }
    if (k == JV_KIND_NUMBER) {   /* 1/0, as meval reads it */
        if (!isfinite(cv)) return err_set(e, ERR_INPUT, "%s:%ld: \"correct\" is not a finite number", it->file, it->line);
        *solved = cv > 0;
        return 0;
    }
    double r;
    if (k == JV_KIND_INVALID || k == JV_KIND_NULL) {
        if (rec_num(it->rec, "reward", &r) == 0) { *solved = r > 0; return mf_reward_finite(it, r, e); }
        return err_set(e, ERR_INPUT, "%s:%ld: \"correct\" is missing (and there is no numeric \"reward\")", it->file, it->line);
    }
    return err_set(e, ERR_INPUT, "%s:%ld: \"correct\" is not a boolean or a number (%s)", it->file, it->line, jv_kind_name(k));
}

/* A bad record in a group (--skip-bad) takes the group with it, as its rate or uniformity
 * needs every sample: the records that go unreported otherwise are named, as mreward does. */
static void mf_group_bad(mf *m, const item *g, int n, const mrl_err *e) {
    mf_bad(m, e);
    m->nskipped++;
    if (n < 2) return;
    jv id = mf_id_json(g[0].rec);
    cli_warn(&m->c, "%s:%ld: the rest of its group %s (%d record%s) dropped with it",
             g[0].file, g[0].line, jv_string_value(id), n - 1, n == 2 ? "" : "s");
    jv_free(id);
}

static void mf_group_end(mf *m) {
    if (m->ngrp == 0) return;
    item *g = m->grp;
    int n = m->ngrp;
    mrl_err e = {0};
    if (cli_lost_short(&m->lost, n)) m->grp_tainted = 1;   /* lines lost just before it were its own */
    if (m->grp_tainted) {   /* its rate or uniformity would be that of the samples left */
        m->nskipped++;
        jv id = mf_id_json(g[0].rec);
        cli_warn(&m->c, "%s:%ld: the rest of its group %s (%d record%s) dropped with it",
                 g[0].file, g[0].line, jv_string_value(id), n, n == 1 ? "" : "s");
        jv_free(id);
        goto done;
    }
    if (!m->first_size) m->first_size = n;
    if (m->pass_band) {
        if (!m->group_size) {
            m->group_size = n;
            snprintf(m->group_size_from, sizeof m->group_size_from, " (the first group's, at %.*s:%ld)", PATH_MAX, g[0].file, g[0].line);
        }
        if (n != m->group_size && !m->allow_partial) {
            jv key = mf_id_json(g[0].rec);
            err_set(&e, ERR_INPUT, "%s:%ld: group %s has %d sample%s, expected %ld%s (--allow-partial accepts it)",
                    g[0].file, g[0].line, jv_string_value(key), n, n == 1 ? "" : "s", m->group_size, m->group_size_from);
            jv_free(key);
            /* skipped, it is a group of n records, not one bad record: counted apart, at the end */
            if (!cli_skippable(&m->c, &e)) mf_bad(m, &e);   /* exits */
            cli_warn(&m->c, "%s (skipped)", e.msg);
            m->nskipped++;
            m->nshort++;
            m->nshort_recs += n;
            goto done;
        }
        int solved = 0;
        for (int i = 0; i < n; i++) {
            int s = 0;
            if (mf_solved(&g[i], &s, &e) < 0) { mf_group_bad(m, g, n, &e); goto done; }
            solved += s;
        }
        double rate = (double)solved / n;
        m->ngroups++;
        if (rate < m->lo || rate > m->hi) { m->ndropped++; goto done; }
        jv rec = jv_copy(g[0].rec);
        for (size_t i = 0; i < sizeof per_sample / sizeof *per_sample; i++)
            rec = jv_object_delete(rec, jv_string(per_sample[i]));
        rec = jv_object_set(rec, jv_string("pass_rate"), jv_number(rate));
        rec = jv_object_set(rec, jv_string("samples"), jv_number(n));
        size_t tl = 0;   /* the fields kept leave as the group's first record had them */
        item out = {.rec = rec, .file = g[0].file, .line = g[0].line, .own = rec_text_from(jv_copy(rec), g[0].text, g[0].len, &tl)};
        if (!out.own) cli_dief(&m->c, ERR_SYS, "out of memory");
        out.text = out.own; out.len = tl;
        mf_after_groups(m, &out);
        mf_item_free(&out);
    } else {   /* --drop-uniform */
        double r0 = 0;
        int uniform = 1;
        for (int i = 0; i < n; i++) {
            double r;
            if (rec_num(g[i].rec, "reward", &r) < 0 || mf_reward_finite(&g[i], r, &e) < 0) {
                if (!e.code) {
                    char why[80];
                    jv v = jv_object_get(jv_copy(g[i].rec), jv_string("reward"));
                    err_set(&e, ERR_INPUT, "%s:%ld: \"reward\" %s", g[i].file, g[i].line, jv_wrong(v, "a number", why, sizeof why));
                    jv_free(v);
                }
                mf_group_bad(m, g, n, &e);
                goto done;
            }
            if (i == 0) r0 = r;
            else if (r != r0) uniform = 0;
        }
        m->ngroups++;
        if (uniform) m->ndropped++;
        else for (int i = 0; i < n; i++) mf_after_groups(m, &g[i]);
    }
done:
    for (int i = 0; i < n; i++) mf_item_free(&g[i]);
    m->ngrp = 0;
    m->grp_tainted = 0;
}

/* --skip-bad with a group stage: a line that is not a record (its id unknown) was the open
 * group's or the next one's. The open group goes unless it is whole already. Where the size is
 * not known yet (or, for --drop-uniform, which checks no size, where the open group is whole)
 * the next group goes too when it is the smaller of the two (or there was no open group): a
 * short group must neither pass nor, taken for the first, set the size every later group is
 * held against. */
static void mf_lost_line(mf *m) {
    long size = m->group_size ? m->group_size : m->first_size;
    if (!m->allow_partial && (!size || m->drop_uniform)) {
        /* an open group that lost a line (inside it or just before it), or none, measures
           nothing: the next group goes, or under --drop-uniform needs the first whole group's size */
        int measures = m->ngrp > 0 && !m->grp_tainted && (!size || m->ngrp >= size);
        cli_lost_line(&m->lost, measures ? m->ngrp : 0, size ? size : LONG_MAX);
    }
    if (m->ngrp > 0 && (m->allow_partial || !size || m->ngrp < size)) m->grp_tainted = 1;
}

/* Collects a contiguous run of records with one id; an id seen in an earlier run is an error. */
static void mf_group_add(mf *m, item *it) {
    uint64_t h = mf_id_hash(m, it->rec);
    if (m->ngrp > 0 && h != m->grp_id) mf_group_end(m);
    else if (m->ngrp > 0) cli_lost_same(&m->lost);   /* a lost line was the open group's, tainted already */
    if (m->ngrp == 0) {
        cli_lost_open(&m->lost);
        int added = hset_add(&m->done_ids, h);
        if (added < 0) cli_dief(&m->c, ERR_SYS, "out of memory");
        if (!added) {
            mrl_err e;
            jv key = mf_id_json(it->rec);
            err_set(&e, ERR_INPUT, "%s:%ld: id %s appears again after its group ended (the samples of one id must be contiguous)",
                    it->file, it->line, jv_string_value(key));
            jv_free(key);
            mf_bad(m, &e);
            mf_item_free(it);
            return;
        }
        m->grp_id = h;
    }
    if (m->ngrp == m->capgrp) {
        m->capgrp = m->capgrp ? 2 * m->capgrp : 16;
        if (!(m->grp = realloc(m->grp, (size_t)m->capgrp * sizeof *m->grp))) cli_dief(&m->c, ERR_SYS, "out of memory");
    }
    if (!it->own) {   /* the reader's buffer moves on: keep a copy */
        if (!(it->own = malloc(it->len + 1))) cli_dief(&m->c, ERR_SYS, "out of memory");
        memcpy(it->own, it->text, it->len);
        it->text = it->own;
    }
    m->grp[m->ngrp++] = *it;
}

/* ----------------------------------------------------------------- input */

/* "FILE:LINE", whole however long the path: a cut one would give two records one id. */
static jv mf_line_id(const char *file, long line) { return jv_string_fmt("%s:%ld", file, line); }

/* A record without "id" gets "FILE:LINE", spliced in front of the input text so the
 * other bytes stay exactly as they came. */
static void mf_assign_id(mf *m, item *it) {
    jv id = jv_object_get(jv_copy(it->rec), jv_string("id"));
    jv_kind k = jv_get_kind(id);
    jv_free(id);
    if (k != JV_KIND_INVALID && k != JV_KIND_NULL) return;
    int empty = jv_object_length(jv_copy(it->rec)) == 0;
    jv nid = mf_line_id(it->file, it->line);
    it->rec = rec_with_id(it->rec, jv_copy(nid));
    size_t tl = 0;
    if (k == JV_KIND_NULL) {   /* "id": null is replaced in place, the other fields as they came */
        it->own = rec_text_from(jv_copy(it->rec), it->text, it->len, &tl);
    } else {
        jv q = jv_dump_string(jv_copy(nid), 0);
        const char *brace = memchr(it->text, '{', it->len);   /* the record is an object: found */
        size_t pre = (size_t)(brace - it->text) + 1, ql = strlen(jv_string_value(q));
        it->own = malloc(it->len + ql + 8);
        if (it->own) {
            char *o = it->own;
            memcpy(o, "{\"id\":", 6); o += 6;
            memcpy(o, jv_string_value(q), ql); o += ql;
            if (empty) *o++ = '}';
            else { *o++ = ','; memcpy(o, it->text + pre, it->len - pre); o += it->len - pre; }
            *o = 0;
            it->len = (size_t)(o - it->own);
        }
        jv_free(q);
    }
    jv_free(nid);
    if (!it->own) cli_dief(&m->c, ERR_SYS, "out of memory");
    if (k == JV_KIND_NULL) it->len = tl;
    it->text = it->own;
}

/* Without a group stage the rules run in the parsing threads (rb_hook): on a copy of the
 * record with its id as it will be, so --where sees the same record. */
static void mf_hook(void *ctx, int th, rb_line *l) {
    mf *m = ctx;
    item it = {.rec = jv_copy(l->rec), .text = l->text, .len = l->len, .file = l->file, .line = l->line};
    jv id = jv_object_get(jv_copy(it.rec), jv_string("id"));
    jv_kind k = jv_get_kind(id);
    jv_free(id);
    if (k == JV_KIND_INVALID || k == JV_KIND_NULL) it.rec = rec_with_id(it.rec, mf_line_id(l->file, l->line));
    mrl_err e = {0};
    l->tag = mf_test(m, th, &it, &l->value, &e);
    if (l->tag < 0 && (l->err = malloc(sizeof *l->err))) *l->err = e;
    jv_free(it.rec);
}

static void mf_parse_split(mf *m, const char *arg) {
    /* a second --split added its parts to the first's, each list checked alone: a:0.5,b:0.5 and
       c:1 made three parts whose fractions add up to 2, c always empty */
    if (m->nsplit) cli_usage(&m->c, "--split given twice (one --split names every part)");
    if (*arg && cli_list_has_empty(arg))   /* an empty --split is "no parts", below */
        cli_usage(&m->c, "--split: '%s' has an empty item (NAME:FRACTION,...)", arg);
    char *list = strdup(arg), *save = NULL;
    if (!list) cli_dief(&m->c, ERR_SYS, "out of memory");
    double sum = 0;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(tok, ':');
        if (!colon || colon == tok) cli_usage(&m->c, "--split: '%s' is not NAME:FRACTION", tok);
        *colon = 0;
        if (strspn(tok, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(tok))
            cli_usage(&m->c, "--split: name '%s' may only hold letters, digits, '.', '_', '-'", tok);
        if (m->nsplit == 32) cli_usage(&m->c, "--split: at most 32 parts");
        for (int i = 0; i < m->nsplit; i++)
            if (!strcmp(m->split_name[i], tok)) cli_usage(&m->c, "--split: name '%s' given twice", tok);
        m->split_frac[m->nsplit] = cli_double(&m->c, "--split", colon + 1, 1e-12, 1);
        sum += m->split_frac[m->nsplit];
        m->split_name[m->nsplit++] = strdup(tok);
    }
    free(list);
    if (m->nsplit == 0) cli_usage(&m->c, "--split: no parts in '%s'", arg);
    if (sum < 1 - 1e-6 || sum > 1 + 1e-6) cli_usage(&m->c, "--split: fractions add up to %g, not 1", sum);
}

static void mf_open_outputs(mf *m) {
    if (!m->nsplit) { m->w = cli_writer(&m->c); return; }
    const char *pat = m->c.out;
    if (pat && !strstr(pat, "%s")) cli_usage(&m->c, "--split: -o must be a pattern with %%s for the name, e.g. -o 'data/%%s.jsonl.zst'");
    for (int i = 0; i < m->nsplit; i++) {
        char path[4096];
        if (pat) {
            const char *at = strstr(pat, "%s");
            snprintf(path, sizeof path, "%.*s%s%s", (int)(at - pat), pat, m->split_name[i], at + 2);
        } else {
            snprintf(path, sizeof path, "%s.jsonl%s", m->split_name[i], m->c.plain == 1 ? "" : ".zst");
        }
        wr_opts o = {.path = path, .plain = m->c.plain, .level = m->c.zlevel};
        mrl_err e = {0};
        if (!(m->split_w[i] = wr_open(&o, &e))) mf_die(m, &e);
        /* two parts into one file (b.jsonl a link to a.jsonl; A and a on a case-insensitive file
           system) shared one temporary file, written over by both; the second rename failed
           after the first had put that mix in place of the file's old content */
        for (int j = 0; j < i; j++)
            if (wr_same_file(m->split_w[j], m->split_w[i])) {
                mf_abort_splits(m);
                cli_usage(&m->c, "--split: parts %s and %s would be written to one file (%s)", m->split_name[j], m->split_name[i], path);
            }
    }
}

static void mf_finish_outputs(mf *m, int *status) {
    if (!m->nsplit) { *status = cli_finish(&m->c, m->w); return; }
    int sig = cli_stop_requested();
    for (int i = 0; i < m->nsplit && !sig; i++) {   /* every part written out before any is renamed */
        mrl_err e = {0};
        if (wr_sync(m->split_w[i], &e) < 0) mf_die(m, &e);
    }
    for (int i = 0; i < m->nsplit; i++) {
        mrl_err e = {0};
        if (sig) { wr_abort(m->split_w[i]); m->split_w[i] = NULL; continue; }
        if (wr_close(m->split_w[i], &e) < 0) { m->split_w[i] = NULL; mf_die(m, &e); }
        m->split_w[i] = NULL;
    }
    if (sig) cli_warn(&m->c, "interrupted; split files left unchanged");
    else if (m->c.progress != 0)
        for (int i = 0; i < m->nsplit; i++) cli_warn(&m->c, "split %s: %ld record%s", m->split_name[i], m->split_n[i], m->split_n[i] == 1 ? "" : "s");
    cli_report_bad(&m->c);
    *status = sig ? 128 + sig : 0;
}

int main(int argc, char **argv) {
    static mf m;
    cli *c = &m.c;
    cli_init(c, "mfilter", usage);
    cli_signals();
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"where", required_argument, 0, O_WHERE}, {"match", required_argument, 0, O_MATCH},
        {"field", required_argument, 0, O_FIELD}, {"dedupe", no_argument, 0, O_DEDUPE},
        {"require-boxed", no_argument, 0, O_REQBOXED}, {"max-tokens", required_argument, 0, O_MAXTOK},
        {"model", required_argument, 0, O_MODEL}, {"pass-band", required_argument, 0, O_PASSBAND},
        {"group-size", required_argument, 0, 'n'}, {"allow-partial", no_argument, 0, O_PARTIAL},
        {"drop-uniform", no_argument, 0, O_DROPUNI}, {"take", required_argument, 0, O_TAKE},
        {"shuffle", no_argument, 0, O_SHUFFLE}, {"split", required_argument, 0, O_SPLIT},
        {"threads", required_argument, 0, 'j'}, {"answer", required_argument, 0, O_ANSWER},
        {"tokenizer", required_argument, 0, O_TOKENIZER}, {"template", required_argument, 0, O_TEMPLATE},
        {"system", required_argument, 0, O_SYSTEM}, {0, 0, 0, 0}};
    const char *match = NULL, *field = ".problem", *model = NULL, *tokfile = NULL, *tmpl = "r1", *system = NULL;
    m.answer_text = ".answer // .solution";
    int field_given = 0, answer_given = 0, tmpl_given = 0;   /* options of a stage, which must be on */
    mrl_err e = {0};
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORT "n:j:", longopts, NULL)) != -1) {
        if (cli_common(c, opt, optarg)) continue;
        switch (opt) {
        case O_WHERE:
            if (m.nwhere == 16) cli_usage(c, "--where: at most 16 filters");
            m.where_text[m.nwhere] = optarg;
            if (!(m.where[0][m.nwhere++] = jqf_compile(optarg, &e))) cli_usage(c, "--where: %s", e.msg);
            break;
        case O_MATCH:
            /* not repeatable, where --where is: a second one would silently replace the first */
            if (match) cli_usage(c, "--match given twice (one REGEX: join them with |, or use (?=...) for both)");
            match = optarg;
            break;
        case O_FIELD: field = optarg; field_given = 1; break;
        case O_DEDUPE: m.dedupe = 1; break;
        case O_REQBOXED: m.require_boxed = 1; break;
        case O_ANSWER: m.answer_text = optarg; answer_given = 1; break;
        case O_MAXTOK: m.max_tokens = cli_long(c, "--max-tokens", optarg, 1, 1L << 30); break;
        case O_MODEL: model = optarg; break;
        case O_TOKENIZER: tokfile = optarg; break;
        case O_TEMPLATE: tmpl = optarg; tmpl_given = 1; break;
        case O_SYSTEM: system = optarg; break;
        case O_PASSBAND: {
            char *colon = strchr(optarg, ':');
            if (!colon) cli_usage(c, "--pass-band: '%s' is not LO:HI", optarg);
            *colon = 0;
            m.lo = cli_double(c, "--pass-band", optarg, 0, 1);
            m.hi = cli_double(c, "--pass-band", colon + 1, 0, 1);
            if (m.lo > m.hi) cli_usage(c, "--pass-band: LO %g is above HI %g", m.lo, m.hi);
            m.pass_band = 1;
            break;
        }
        case 'n': m.group_size = cli_long(c, "--group-size", optarg, 1, 1L << 30); break;
        case O_PARTIAL: m.allow_partial = 1; break;
        case O_DROPUNI: m.drop_uniform = 1; break;
        case O_TAKE: m.take = cli_long(c, "--take", optarg, 1, 1L << 40); break;
        case O_SHUFFLE: m.shuffle = 1; break;
        case O_SPLIT: mf_parse_split(&m, optarg); break;
        case 'j': m.threads = (int)cli_long(c, "--threads", optarg, 1, 8); break;
        default: cli_bad_option(c, opt, argv, longopts);
        }
    }
    if (m.pass_band && m.drop_uniform) cli_usage(c, "--pass-band and --drop-uniform do not combine (run two mfilters)");
    if (m.drop_uniform && (m.dedupe || m.take || m.shuffle))
        cli_usage(c, "--drop-uniform keeps whole groups: --dedupe, --take and --shuffle would break them");
    if ((m.group_size || m.allow_partial) && !m.pass_band) cli_usage(c, "-n and --allow-partial go with --pass-band");
    if (match) {
        int code; PCRE2_SIZE off;
        m.re = pcre2_compile((PCRE2_SPTR)match, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code, &off, NULL);
        if (!m.re) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(code, msg, sizeof msg);
            cli_usage(c, "--match: %s at offset %zu of '%s'", (char *)msg, (size_t)off, match);
        }
        pcre2_jit_compile(m.re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter if JIT is unavailable */
        m.md[0] = pcre2_match_data_create_from_pattern(m.re, NULL);
        /* PCRE2's default heap limit is 20 GB: the interpreter's backtracking frames (~330
           bytes a character for (x|y)+$) took 2.7 GB of a 5 MB field before the match limit
           stopped it, per thread */
        if (!m.md[0] || !(m.mc = pcre2_match_context_create(NULL))) cli_dief(c, ERR_SYS, "out of memory");
        pcre2_set_match_limit(m.mc, 10000000);
        pcre2_set_heap_limit(m.mc, 512 * 1024);   /* KiB */
    }
    if (m.max_tokens) {
        if (!model == !tokfile) cli_usage(c, "--max-tokens needs --model DIR or --tokenizer FILE (one of them)");
        if (!(m.tok = model ? tok_load_dir(model, &e) : tok_load(tokfile, &e))) cli_die(c, &e);
        if (!(m.tp = tmpl_load(tmpl, &e)) || !(m.system = tmpl_system(system, &e))) cli_die(c, &e);
    } else if (model || tokfile) cli_usage(c, "--model and --tokenizer go with --max-tokens");
    else if (tmpl_given || system) cli_usage(c, "--template and --system go with --max-tokens");
    if (answer_given && !m.require_boxed) cli_usage(c, "--answer goes with --require-boxed");
    if (field_given && !(match || m.dedupe || m.max_tokens)) cli_usage(c, "--field goes with --match, --dedupe or --max-tokens");
    if (m.require_boxed && !(m.answer[0] = jqf_compile(m.answer_text, &e))) cli_usage(c, "--answer: %s", e.msg);
    m.field_text = field;
    if ((match || m.dedupe || m.max_tokens) && !(m.field[0] = jqf_compile(field, &e))) cli_usage(c, "--field: %s", e.msg);

    rd_stream *r = rd_open((const char *const *)argv + optind, argc - optind, &e);
    if (!r) cli_die(c, &e);
    mf_open_outputs(&m);
    if (m.w) rd_set_flush(r, m.w);
    rd_set_stop(r, cli_stop_requested);
    progress *p = prog_start(c, "records", -1);
    prog_input(p, r);
    rd_batch *b = rb_new(r, m.threads, 0, &e);
    if (!b) cli_die(c, &e);
    int hook = !m.pass_band && !m.drop_uniform;
    for (int th = 1; hook && th < rb_threads(b); th++) {   /* thread 0's compiled (and checked) above */
        for (int i = 0; i < m.nwhere; i++) if (!(m.where[th][i] = jqf_compile(m.where_text[i], &e))) cli_die(c, &e);
        if (m.field[0] && !(m.field[th] = jqf_compile(m.field_text, &e))) cli_die(c, &e);
        if (m.answer[0] && !(m.answer[th] = jqf_compile(m.answer_text, &e))) cli_die(c, &e);
        if (m.re && !(m.md[th] = pcre2_match_data_create_from_pattern(m.re, NULL))) cli_dief(c, ERR_SYS, "out of memory");
    }
    if (hook) rb_set_hook(b, mf_hook, &m);
    long nin = 0;
    for (int n; !cli_stop_requested() && (n = rb_fill(b, &e)) != 0;) {
        if (n < 0) { mf_bad(&m, &e); continue; }   /* --skip-bad: on with the next input */
        for (int i = 0; i < n && !cli_stop_requested(); i++) {
            rb_line *l = rb_get(b, i);
            mrl_err oom = {.code = ERR_SYS, .msg = "out of memory"};
            if (!l->ok || (hook && l->tag < 0)) {
                mf_bad(&m, l->err ? l->err : &oom);   /* returns only under --skip-bad */
                if (!hook && !l->ok) mf_lost_line(&m);
                continue;
            }
            nin++;
            if (hook && (!l->tag || mf_dup(&m, l->value))) continue;   /* the rules said no */
            item it = {.rec = l->rec, .text = l->text, .len = l->len, .file = l->file, .line = l->line};
            l->rec = jv_null();   /* taken */
            mf_assign_id(&m, &it);
            if (hook) mf_emit(&m, &it);
            else mf_group_add(&m, &it);
            if (hook) mf_item_free(&it);
        }
        prog_update(p, nin, 0);
    }
    rb_free(b);
    int stopped = cli_stop_requested();
    if (!stopped) {   /* an interrupted run emits no half-seen group and no half-drawn sample */
        mf_group_end(&m);
        if (m.take || m.shuffle) mf_emit_kept(&m);
    }
    prog_end(p);
    rd_close(r);
    int status;
    mf_finish_outputs(&m, &status);
    if (m.nshort)   /* beside the bad records' count (cli_report_bad), also under -q */
        cli_warn(c, "%ld incomplete group%s skipped (%ld record%s)", m.nshort, m.nshort == 1 ? "" : "s", m.nshort_recs,
                 m.nshort_recs == 1 ? "" : "s");
    if (c->progress != 0 && !stopped) {
        char more[64] = "";   /* the groups --skip-bad took are neither in nor outside the band */
        if (m.nskipped) snprintf(more, sizeof more, ", %ld more skipped by --skip-bad", m.nskipped);
        if (m.dedupe) cli_warn(c, "--dedupe: %ld duplicate%s dropped", m.ndup, m.ndup == 1 ? "" : "s");
        if (m.pass_band) cli_warn(c, "--pass-band: %ld of %ld problems outside [%g, %g]%s", m.ndropped, m.ngroups, m.lo, m.hi, more);
        if (m.drop_uniform) cli_warn(c, "--drop-uniform: %ld of %ld groups dropped (all rewards equal)%s", m.ndropped, m.ngroups, more);
        if (m.require_boxed) cli_warn(c, "--require-boxed: %ld record%s dropped (gold does not parse)", m.nunparsed, m.nunparsed == 1 ? "" : "s");
        if (m.max_tokens) cli_warn(c, "--max-tokens: %ld record%s dropped (prompt over %ld tokens)", m.nlong, m.nlong == 1 ? "" : "s", m.max_tokens);
    }
    for (int th = 0; th < 8; th++) {
        for (int i = 0; i < m.nwhere; i++) jqf_free(m.where[th][i]);
        jqf_free(m.field[th]); jqf_free(m.answer[th]);
        pcre2_match_data_free(m.md[th]);
    }
    pcre2_code_free(m.re);
    pcre2_match_context_free(m.mc);
    tok_free(m.tok); tmpl_free(m.tp); free(m.system);
    hset_free(&m.seen_text); hset_free(&m.done_ids);
    for (int i = 0; i < m.nsplit; i++) free(m.split_name[i]);
    free(m.grp); free(m.keep);
    return status;
}
