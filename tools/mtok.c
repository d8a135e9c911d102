/* mtok — the tokenizer and chat templates as a record filter: encode text into ids,
 * decode ids into text, count tokens, render prompts. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "jqf.h"
#include "stream.h"
#include "tokenizer.h"

static const char usage[] =
"Usage: mtok COMMAND [OPTION]... [FILE]...\n"
"Tokenize records (JSON Lines, plain or zstd) with a model's tokenizer.json.\n"
"\n"
"Commands:\n"
"  encode     adds \"ids\" (the ids of --field, default .text); with --template the\n"
"             rendered prompt of .problem is encoded into \"prompt_ids\" instead\n"
"  decode     adds \"text\" (the text of --field, default .ids)\n"
"  count      adds \"tokens\" (how many ids encode would give)\n"
"  template   adds \"prompt\" (the rendered prompt of .problem; no tokenizer needed)\n"
"\n"
"  --model DIR          the tokenizer is DIR/tokenizer.json\n"
"  --tokenizer FILE     a tokenizer.json (plain or .zst) instead of --model\n"
"  --field JQ           the input value (default .text, .problem with --template, .ids for decode)\n"
"  --as NAME            the output field (default ids, prompt_ids, text, tokens, prompt)\n"
"  --template NAME|FILE r1 (DeepSeek-R1-Distill-Qwen), plain, or a file with {system}\n"
"                       and {problem} placeholders (default r1 for `template`)\n"
"  --system TEXT|@FILE  the system text of the template (default empty; msample's\n"
"                       default is Open-RS's system prompt: pass it to render the same)\n"
"  --skip-special       decode: leave out tokens marked special (BOS, EOS)\n"
"  -r, --raw            each input line is a text (decode: a JSON array of ids), not a record;\n"
"                       the output record holds the line as \"text\" (\"problem\" with\n"
"                       --template, \"ids\" for decode) and the result\n"
"  -o, --output FILE, -Z, --plain, --zstd-level N, --skip-bad, --progress, -q, --quiet,\n"
"  --seed N, --device D, -h, --help, --version\n"
"See mtok(1) and mrl(7).\n";

enum { O_MODEL = 1, O_TOKENIZER, O_FIELD, O_AS, O_TEMPLATE, O_SYSTEM, O_SKIP_SPECIAL };
enum { CMD_ENCODE, CMD_DECODE, CMD_COUNT, CMD_TEMPLATE };

typedef struct {
    cli c;
    int cmd, raw, skip_special;
    mrl_tok *tok;
    mrl_template *tp;
    const char *system, *as, *in_name;   /* in_name: the field a raw line becomes */
    jqf *field;
    int32_t *ids;
    size_t cap;
    long long tokens;
} mtok;

/* The subject of a message about --field's value: a plain `.field` names its field ("text");
 * any other filter is named as the option and the filter (--field '.a // .b'), as msample and
 * mgrpo name theirs, not quoted as if its text were a field's name ("empty" is missing). */
static const char *field_subject(jqf *f, char *buf, size_t n) {
    const char *field = jqf_field(jqf_text(f));
    if (field) snprintf(buf, n, "\"%.100s\"", field);
    else snprintf(buf, n, "--field '%.200s'", jqf_text(f));
    err_one_line(buf);
    return buf;
}

/* Ids of text (or of its rendered prompt); NULL on invalid UTF-8 (e set). */
static jv encode(mtok *m, const char *s, size_t len, int *count, mrl_err *e) {
    char *prompt = NULL;
    if (m->tp && !(s = prompt = tmpl_render(m->tp, m->system, s, len, &len))) return err_set(e, ERR_SYS, "out of memory"), jv_invalid();
    if (len + 1 > m->cap) m->ids = realloc(m->ids, (m->cap = len + 64) * sizeof *m->ids);
    int n = tok_encode(m->tok, s, len, m->ids, (int)m->cap, e);
    if (n > (int)m->cap) {   /* normalization can lengthen a text: take the count and redo */
        m->ids = realloc(m->ids, (m->cap = (size_t)n + 64) * sizeof *m->ids);
        n = tok_encode(m->tok, s, len, m->ids, (int)m->cap, e);
    }
    free(prompt);
    if (n < 0) return jv_invalid();
    *count = n;
    m->tokens += n;
    if (m->cmd == CMD_COUNT) return jv_number(n);
    jv a = jv_array_sized(n);
    for (int i = 0; i < n; i++) a = jv_array_append(a, jv_number(m->ids[i]));
    return a;
}

static jv decode(mtok *m, jv ids, mrl_err *e) {
    if (jv_get_kind(ids) != JV_KIND_ARRAY) return err_set(e, ERR_INPUT, "is not an array of ids"), jv_invalid();
    int n = jv_array_length(jv_copy(ids));
    if ((size_t)n + 1 > m->cap) m->ids = realloc(m->ids, (m->cap = (size_t)n + 64) * sizeof *m->ids);
    for (int i = 0; i < n; i++) {
        jv v = jv_array_get(jv_copy(ids), i);
        double d = jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : -1;
        jv_free(v);
        if (!(d >= 0 && d <= 2147483647.0) || d != (double)(int32_t)d)
            return err_set(e, ERR_INPUT, "[%d] is not a token id", i), jv_invalid();
        m->ids[i] = (int32_t)d;
    }
    m->tokens += n;
    size_t sl = 0;
    char *s = tok_decode(m->tok, m->ids, n, m->skip_special, &sl);
    jv out = jv_string_sized(s, (int)sl);   /* a 0x00 byte token is text too */
    free(s);
    return out;
}

/* The result for one input value (a string, or ids for decode); invalid + e on error. */
static jv apply(mtok *m, jv val, mrl_err *e) {
    if (m->cmd == CMD_DECODE) return decode(m, val, e);
    if (jv_get_kind(val) != JV_KIND_STRING) return err_set(e, ERR_INPUT, "is not a string"), jv_invalid();
    const char *s = jv_string_value(val);
    if (m->cmd == CMD_TEMPLATE) {
        size_t n;
        char *p = tmpl_render(m->tp, m->system, s, (size_t)jv_string_length_bytes(jv_copy(val)), &n);
        if (!p) return err_set(e, ERR_SYS, "out of memory"), jv_invalid();
        jv out = jv_string_sized(p, (int)n);
        free(p);
        return out;
    }
    int n;
    return encode(m, s, (size_t)jv_string_length_bytes(jv_copy(val)), &n, e);
}

static int one_record(mtok *m, jv rec, const char *line, size_t len, mrl_err *e) {
    jv val;
    if (m->raw && m->cmd == CMD_DECODE) {
        val = jv_parse_sized(line, (int)len);
        if (jv_get_kind(val) != JV_KIND_ARRAY) {
            jv_free(val);
            return err_set(e, ERR_INPUT, "not a JSON array of ids");
        }
        rec = jv_object_set(jv_object(), jv_string(m->in_name), jv_copy(val));
    } else if (m->raw) {
        long bad = tok_utf8_check(line, len);
        if (bad >= 0) return err_set(e, ERR_INPUT, "invalid UTF-8 at byte %ld", bad + 1);
        val = jv_string_sized(line, (int)len);
        rec = jv_object_set(jv_object(), jv_string(m->in_name), jv_copy(val));
    } else {
        val = jqf_first(m->field, rec, e);
        char who[300];
        int field = jqf_field(jqf_text(m->field)) != NULL;
        if (!jv_is_valid(val)) {
            jv_free(rec);
            if (!e->msg[0]) err_set(e, ERR_INPUT, "%s %s", field_subject(m->field, who, sizeof who), field ? "is missing" : "gave nothing");
            return -1;
        }
        if (jv_get_kind(val) == JV_KIND_NULL) {
            jv_free(rec), jv_free(val);
            return err_set(e, ERR_INPUT, "%s %s", field_subject(m->field, who, sizeof who), field ? "is missing" : "gave null");
        }
    }
    jv out = apply(m, val, e);
    jv_free(val);
    if (!jv_is_valid(out)) {
        jv_free(rec);
        if (m->raw) return -1;
        char msg[sizeof e->msg];
        char who[300];
        int field = jqf_field(jqf_text(m->field)) != NULL;
        snprintf(msg, sizeof msg, "%s%s %.700s", field_subject(m->field, who, sizeof who), field ? "" : ": its value", e->msg);
        return err_set(e, ERR_INPUT, "%s", msg);
    }
    rec = jv_object_set(rec, jv_string(m->as), out);
    if (m->raw) return wr_put(m->c.out_w, rec, e) < 0 ? -2 : 0;   /* a record made here */
    return wr_put_from(m->c.out_w, rec, line, len, e) < 0 ? -2 : 0;   /* the other fields as they came */
}

static void mtok_free(mtok *m) {
    tok_free(m->tok), tmpl_free(m->tp), jqf_free(m->field), free(m->ids);
    m->tok = NULL, m->tp = NULL, m->field = NULL, m->ids = NULL, m->cap = 0;
}

/* A bad record: skipped with --skip-bad, else the end (what we hold is freed first, so that
 * the sanitizers see a clean exit: libjq keeps a finished filter's stack until teardown). */
static void bad_record(mtok *m, wr_stream *w, const mrl_err *e) {
    if (!cli_skippable(&m->c, e)) mtok_free(m);
    cli_bad_record(&m->c, w, e);
}

static int parse_cmd(const char *s) {
    if (!strcmp(s, "encode")) return CMD_ENCODE;
    if (!strcmp(s, "decode")) return CMD_DECODE;
    if (!strcmp(s, "count")) return CMD_COUNT;
    if (!strcmp(s, "template")) return CMD_TEMPLATE;
    return -1;
}

int main(int argc, char **argv) {
    mtok m = {0};
    cli_init(&m.c, "mtok", usage);
    cli_signals();
    static const struct option opts[] = {
        CLI_COMMON_LONGOPTS,
        {"model", required_argument, 0, O_MODEL}, {"tokenizer", required_argument, 0, O_TOKENIZER},
        {"field", required_argument, 0, O_FIELD}, {"as", required_argument, 0, O_AS},
        {"template", required_argument, 0, O_TEMPLATE}, {"system", required_argument, 0, O_SYSTEM},
        {"skip-special", no_argument, 0, O_SKIP_SPECIAL}, {"raw", no_argument, 0, 'r'}, {0}};
    m.cmd = argc > 1 ? parse_cmd(argv[1]) : -1;
    if (m.cmd < 0) {   /* only --help / --version make sense without a command */
        const char *first = argc > 1 ? argv[1] : NULL;   /* (getopt_long permutes argv) */
        int opt;
        opterr = 0;
        while (argc > 1 && (opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORT "r", opts, NULL)) != -1)
            if (opt == 'h' || opt == 0x1000) cli_common(&m.c, opt, optarg);
        if (!first) cli_usage(&m.c, "a command is needed (encode, decode, count, template)");
        if (first[0] == '-') cli_usage(&m.c, "the command comes first: mtok encode|decode|count|template [OPTIONS] [FILE...]");
        cli_usage(&m.c, "unknown command '%s' (encode, decode, count, template)", first);
    }
    const char *model = NULL, *tokfile = NULL, *field = NULL, *tname = NULL;
    int opt;
    argc--, argv++;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORT "r", opts, NULL)) != -1) {
        if (cli_common(&m.c, opt, optarg)) continue;
        switch (opt) {
        case O_MODEL: model = optarg; break;
        case O_TOKENIZER: tokfile = optarg; break;
        case O_FIELD: field = optarg; break;
        case O_AS: m.as = optarg; break;
        case O_TEMPLATE: tname = optarg; break;
        case O_SYSTEM: m.system = optarg; break;
        case O_SKIP_SPECIAL: m.skip_special = 1; break;
        case 'r': m.raw = 1; break;
        default: cli_bad_option(&m.c, opt, argv, opts);
        }
    }
    if (model && tokfile) cli_usage(&m.c, "--model and --tokenizer: give one");
    if (m.cmd == CMD_TEMPLATE && !tname) tname = "r1";
    if (tname && m.cmd == CMD_DECODE) cli_usage(&m.c, "--template does not apply to decode");
    if (m.system && !tname) cli_usage(&m.c, "--system goes with --template (it is the template's system text)");
    if (m.skip_special && m.cmd != CMD_DECODE) cli_usage(&m.c, "--skip-special applies to decode only");
    if (m.raw && field) cli_usage(&m.c, "--field does not apply to raw lines (-r)");
    static const char *defs[][3] = {      /* field, output, raw line's name */
        [CMD_ENCODE] = {".text", "ids", "text"}, [CMD_DECODE] = {".ids", "text", "ids"},
        [CMD_COUNT] = {".text", "tokens", "text"}, [CMD_TEMPLATE] = {".problem", "prompt", "problem"}};
    int with_tmpl = tname != NULL;
    if (!field) field = with_tmpl ? ".problem" : defs[m.cmd][0];
    if (!m.as) m.as = m.cmd == CMD_ENCODE && with_tmpl ? "prompt_ids" : defs[m.cmd][1];
    m.in_name = with_tmpl ? "problem" : defs[m.cmd][2];
    mrl_err e = {0};
    char *system_text = NULL;   /* --system TEXT or @FILE, as msample reads it */
    if (m.system && !(m.system = system_text = tmpl_system(m.system, &e))) cli_die(&m.c, &e);
    if (!m.system) m.system = "";
    if (tname && !(m.tp = tmpl_load(tname, &e))) {
        if (e.code == ERR_USAGE) cli_usage(&m.c, "%s", e.msg);   /* the message names --template */
        cli_die(&m.c, &e);
    }
    if (m.cmd != CMD_TEMPLATE) {
        if (!model && !tokfile) cli_usage(&m.c, "--model DIR or --tokenizer FILE is needed");
        m.tok = tokfile ? tok_load(tokfile, &e) : tok_load_dir(model, &e);
        if (!m.tok) cli_die(&m.c, &e);
    }
    if (!m.raw && !(m.field = jqf_compile(field, &e))) cli_usage(&m.c, "--field: %s", e.msg);

    rd_stream *rd = rd_open((const char *const *)argv + optind, argc - optind, &e);
    if (!rd) cli_die(&m.c, &e);
    wr_stream *w = cli_writer(&m.c);
    rd_set_flush(rd, w);
    rd_set_stop(rd, cli_stop_requested);
    rd_keep_blank(rd, m.raw && m.cmd != CMD_DECODE);   /* -r: every line is a text, an empty one too */
    progress *p = prog_start(&m.c, "records", -1);
    prog_input(p, rd);
    long long done = 0;
    while (!cli_stop_requested()) {
        jv rec = jv_null();
        const char *line = NULL;
        size_t len = 0;
        e = (mrl_err){0};
        int rc = m.raw ? rd_next_line(rd, &line, &len, &e) : rd_next(rd, &rec, &e);
        if (rc > 0 && !m.raw) line = rd_line(rd, &len);
        if (rc == 0) break;
        if (rc < 0) { bad_record(&m, w, &e); continue; }   /* the reader named the place */
        rc = one_record(&m, rec, line, len, &e);
        if (rc == -2) cli_die(&m.c, &e);   /* output error */
        if (rc < 0) {
            err_prefix(&e, "%s:%ld", rd_name(rd), rd_lineno(rd));   /* cut in the middle if long, not the file name at 200 bytes */
            bad_record(&m, w, &e);
            continue;
        }
        prog_update(p, ++done, m.tokens);
    }
    prog_end(p);
    rd_close(rd);
    int status = cli_finish(&m.c, w);
    mtok_free(&m);
    free(system_text);
    return status;
}
