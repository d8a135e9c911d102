/* minit — a fresh Hugging Face model directory: a named Qwen2 config (tiny, small,
 * qwen2-1.5b) or a config.json, random weights from --seed, a byte-level or given tokenizer. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include "cli.h"
#include "fileio.h"
#include "jqf.h"
#include "model.h"
#include "rng.h"
#include "safetensors.h"
#include "tok_make.h"
#include "tokenizer.h"

static const char usage[] =
    "Usage: minit NAME|config.json -o DIR [options]\n"
    "Writes a Qwen2 model directory (config.json, generation_config.json, model.safetensors,\n"
    "tokenizer.json, tokenizer_config.json) with random weights. NAME: tiny (~0.9 M parameters),\n"
    "small (~18 M), qwen2-1.5b (the shapes of DeepSeek-R1-Distill-Qwen-1.5B).\n"
    "  -o, --output DIR       the directory to create (atomically; must not exist or be empty)\n"
    "      --seed N           random seed (default 0)\n"
    "      --dtype T          bf16 | fp32 | fp16, or torch's bfloat16 | float32 | float16\n"
    "                         (default: the config's torch_dtype)\n"
    "      --std X            standard deviation of weight matrices (default 0.02)\n"
    "      --bias-std X       standard deviation of q/k/v biases (default 0: zeros)\n"
    "      --tie yes|no       tie the LM head to the embedding (default: the config's)\n"
    "      --vocab-size N     embedding rows (at least the tokenizer's size)\n"
    "      --tokenizer FILE   copy this tokenizer.json (plain or zstd) instead of the byte-level one\n"
    "      --merges N         learn N BPE merges for the byte-level tokenizer ...\n"
    "      --merges-text FILE ... from this UTF-8 text (plain or zstd)\n"
    "  -q, --quiet            no summary line on stderr\n"
    "  (and the options every tool accepts, mrl(7): -Z, --plain, --zstd-level, --skip-bad, --progress,\n"
    "  --device)\n"
    "  -h, --help, --version\n"
    "See minit(1) and mrl(7).\n";

/* The named configs; vocab_size 0 = the tokenizer's size. */
static int named_config(const char *name, mrl_config *c) {
    memset(c, 0, sizeof *c);
    c->rope_theta = 10000.0f; c->rms_norm_eps = 1e-6f;
    if (!strcmp(name, "tiny")) {
        c->hidden_size = 128; c->intermediate_size = 384; c->num_layers = 4;
        c->num_heads = 4; c->num_kv_heads = 2; c->max_position_embeddings = 4096;
        snprintf(c->torch_dtype, sizeof c->torch_dtype, "float32");
    } else if (!strcmp(name, "small")) {
        c->hidden_size = 512; c->intermediate_size = 1536; c->num_layers = 6;
        c->num_heads = 8; c->num_kv_heads = 2; c->max_position_embeddings = 8192;
        snprintf(c->torch_dtype, sizeof c->torch_dtype, "float32");
    } else if (!strcmp(name, "qwen2-1.5b")) {   /* OPEN-RS.md §6 */
        c->hidden_size = 1536; c->intermediate_size = 8960; c->num_layers = 28;
        c->num_heads = 12; c->num_kv_heads = 2; c->max_position_embeddings = 131072;
        c->vocab_size = 151936; c->max_window_layers = 21;
        snprintf(c->torch_dtype, sizeof c->torch_dtype, "bfloat16");
    } else return -1;
    c->head_dim = c->hidden_size / c->num_heads;
    return 0;
}

/* A whole file, zstd-decompressed when it starts with the frame magic. */
static char *read_any(const char *path, size_t *len, mrl_err *e) {
    char *buf;
    return file_load(path, 0, &buf, len, e) ? NULL : buf;
}

/* dir/name into p (PATH_MAX-sized); -1 when it does not fit. */
static int join(char *p, size_t cap, const char *dir, const char *name, mrl_err *e) {
    int k = snprintf(p, cap, "%s/%s", dir, name);
    return k < 0 || (size_t)k >= cap ? err_set(e, 2, "%s: path too long", dir) : 0;
}

/* ---- random weights, reproducible per tensor and independent of dtype and threads:
 * element j of tensor NAME is draw j % CHUNK of the stream (seed, hash(NAME), j / CHUNK). */
#define CHUNK 65536
typedef struct init_ctx { uint64_t seed, key; double std; int ones; st_dtype dt; } init_ctx;

/* Standard normals for one chunk: Box-Muller on pairs of 32-bit uniforms in float precision,
 * both outputs used (4x the speed of rng_normal; the 1.5B init is 1.8e9 draws). */
static void normal_chunk(uint64_t seed, uint64_t key, size_t ch, float *out, size_t n) {
    mrl_rng r;
    rng_init(&r, seed, key, ch);
    for (size_t i = 0; i < n; i += 2) {
        uint64_t x = rng_u64(&r);
        float u1 = ((float)(uint32_t)x + 0.5f) * 0x1p-32f, u2 = (float)(uint32_t)(x >> 32) * 0x1p-32f;
        float m = sqrtf(-2.0f * logf(u1)), sn, cs;
        sincosf(6.28318530718f * u2, &sn, &cs);
        out[i] = m * cs;
        if (i + 1 < n) out[i + 1] = m * sn;
    }
}

static int fill_random(void *vctx, void *dst, size_t off, size_t n, mrl_err *e) {
    const init_ctx *x = vctx;
    if (cli_stop_requested()) return err_set(e, 1, "interrupted");
    size_t es = dtype_size(x->dt), c0 = off / CHUNK, c1 = (off + n + CHUNK - 1) / CHUNK;
    int oom = 0;
    #pragma omp parallel for schedule(static) reduction(|:oom)
    for (size_t ch = c0; ch < c1; ch++) {
        size_t base = ch * CHUNK, lo = base > off ? base : off, hi = base + CHUNK < off + n ? base + CHUNK : off + n;
        float *v = malloc(CHUNK * sizeof *v);
        if (!v) { oom = 1; continue; }
        if (x->ones || x->std == 0) for (size_t i = 0; i < CHUNK; i++) v[i] = x->ones ? 1.0f : 0.0f;
        else {
            normal_chunk(x->seed, x->key, ch, v, CHUNK);
            for (size_t i = 0; i < CHUNK; i++) v[i] = (float)x->std * v[i];
        }
        dtype_from_f32(x->dt, v + (lo - base), (char *)dst + (lo - off) * es, hi - lo);
        free(v);
    }
    return oom ? err_set(e, 3, "out of memory") : 0;
}

static int write_weights(const char *path, const mrl_config *c, st_dtype dt, uint64_t seed, double std,
                         double bias_std, mrl_err *e) {
    int n = qwen2_tensors(c, NULL, 0);
    qwen2_tensor *q = malloc((size_t)n * sizeof *q);
    init_ctx *ctx = malloc((size_t)n * sizeof *ctx);
    st_writer *w = q && ctx ? st_write_begin(path, e) : NULL;
    if (!w) { free(q); free(ctx); return q && ctx ? -1 : err_set(e, 3, "out of memory"); }
    qwen2_tensors(c, q, n);
    for (int i = 0; i < n; i++) {
        qwen2_kind k = q[i].kind;
        int bias = k == QW_QB || k == QW_KB || k == QW_VB;
        ctx[i] = (init_ctx){seed, rng_hash_str(q[i].name), bias ? bias_std : std,
                            k == QW_LN1 || k == QW_LN2 || k == QW_NORM, dt};
        if (st_add_fill(w, q[i].name, dt, q[i].ndim, q[i].shape, fill_random, &ctx[i], e)) {
            st_write_abort(w); free(q); free(ctx); return -1;
        }
    }
    const char *meta[] = {"format", "pt", NULL};
    int rc = st_write_end(w, meta, e);
    free(q); free(ctx);
    return rc;
}

/* Removes the temp directory and what is in it (flat: minit writes no subdirectories). */
static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char p[4096];
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            mrl_err ignore;
            if (!join(p, sizeof p, dir, de->d_name, &ignore)) unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

typedef struct opts {
    const char *what, *tokenizer, *merges_text;
    int dtype, tie, vocab, merges;
    double std, bias_std;
} opts;

/* The tokenizer: written into tmp; sets vocab size, bos and eos ids. */
static int make_tokenizer(const opts *o, const char *tmp, int *ntok, int *bos, int *eos, mrl_err *e) {
    char p[4096];
    if (!o->tokenizer) {
        size_t len = 0;
        char *text = NULL;
        if (o->merges > 0 && !(text = read_any(o->merges_text, &len, e))) return -1;
        long bad = text ? tok_utf8_check(text, len) : -1;
        if (bad >= 0) {   /* named here, with its place: the trainer knows no file */
            long line = 1, col = 0;
            for (long i = 0; i < bad; i++) { if (text[i] == '\n') line++, col = 0; else col++; }
            free(text);
            return err_set(e, 1, "%s:%ld: invalid UTF-8 at byte %ld of the line", o->merges_text, line, col + 1);
        }
        tokmk_info info;
        int rc = tokmk_write(tmp, text, len, o->merges, &info, e);
        free(text);
        if (rc) return -1;
        *ntok = info.n_tokens; *bos = info.bos_id; *eos = info.eos_id;
        return 0;
    }
    mrl_tok *t = tok_load(o->tokenizer, e);   /* the tokenizer must be one we can run */
    if (!t) return -1;
    size_t len;
    char *txt = read_any(o->tokenizer, &len, e);
    if (!txt) { tok_free(t); return -1; }
    int rc = join(p, sizeof p, tmp, "tokenizer.json", e) ? -1 : st_write_file_atomic(p, txt, len, e);
    free(txt);
    if (rc) { tok_free(t); return -1; }
    *ntok = tok_vocab_size(t);
    const char *bos_s = "<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>";
    const char *eos_s = "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>";
    *bos = tok_id(t, bos_s);
    *eos = tok_id(t, eos_s);
    if (*eos < 0) *eos = tok_id(t, eos_s = "<|endoftext|>");
    int r1 = *bos >= 0 && tok_id(t, "<\xef\xbd\x9c" "User\xef\xbd\x9c>") >= 0 && tok_id(t, "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>") >= 0;
    tok_free(t);
    /* The tokenizer's own files beside it come along: tokenizer_config.json (special tokens, the
       chat template), chat_template.jinja (where newer transformers save the template) and
       special_tokens_map.json. */
    static const char *const beside[] = {"tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json", NULL};
    const char *sl = strrchr(o->tokenizer, '/');
    int found[3] = {0};
    for (int i = 0; beside[i]; i++) {
        int k = snprintf(p, sizeof p, "%.*s%s", sl ? (int)(sl - o->tokenizer + 1) : 0, o->tokenizer, beside[i]);
        if (k < 0 || (size_t)k >= sizeof p) return err_set(e, 2, "%s: path too long", o->tokenizer);
        struct stat st;
        if (stat(p, &st)) continue;
        if (!(txt = read_any(p, &len, e))) return -1;
        char q[4096];
        rc = join(q, sizeof q, tmp, beside[i], e) ? -1 : st_write_file_atomic(q, txt, len, e);
        free(txt);
        if (rc) return -1;
        found[i] = 1;
    }
    if (found[0]) return 0;
    /* A tokenizer.json alone: without a tokenizer_config.json transformers takes its class's
       defaults, for Qwen2 "<|endoftext|>" as eos, pad and unk, which a tokenizer without that
       token gets as a new id (= vocab_size, out of the embedding's range). This one names the
       tokenizer's own BOS and EOS (pad = EOS, as the R1 distill), no unk, and the R1 chat
       template where the R1 tokens exist; the neutral class keeps tokenizer.json as it is. */
    jv c = jv_object();
    c = jv_object_set(c, jv_string("bos_token"), *bos >= 0 ? jv_string(bos_s) : jv_null());
    if (r1 && !found[1]) c = jv_object_set(c, jv_string("chat_template"), jv_string(tokmk_r1_chat_template));
    c = jv_object_set(c, jv_string("clean_up_tokenization_spaces"), jv_false());
    c = jv_object_set(c, jv_string("eos_token"), *eos >= 0 ? jv_string(eos_s) : jv_null());
    c = jv_object_set(c, jv_string("pad_token"), *eos >= 0 ? jv_string(eos_s) : jv_null());
    c = jv_object_set(c, jv_string("tokenizer_class"), jv_string("PreTrainedTokenizerFast"));
    c = jv_object_set(c, jv_string("unk_token"), jv_null());
    char q[4096];
    if (join(q, sizeof q, tmp, "tokenizer_config.json", e)) { jv_free(c); return -1; }
    return json_write_file(q, c, JV_PRINT_INDENT_FLAGS(2), e);
}

static int build(const opts *o, const char *tmp, mrl_config *c, uint64_t seed, mrl_err *e) {
    int named = !named_config(o->what, c);
    if (!named) {
        /* A config.json: validated by the same loader every tool uses, from inside tmp. */
        size_t len;
        char *txt = read_any(o->what, &len, e), p[4096];
        if (!txt) return -1;
        int rc = join(p, sizeof p, tmp, "config.json", e) ? -1 : st_write_file_atomic(p, txt, len, e);
        free(txt);
        if (rc) return -1;
        if (config_load(c, tmp, e)) {   /* the message names the user's file, not the copy in tmp */
            size_t n = strlen(p);
            if (!strncmp(e->msg, p, n)) err_set(e, e->code, "%s%s", o->what, e->msg + n);   /* err_set formats before it writes */
            return -1;
        }
    }
    int ntok = 0, bos = -1, eos = -1;
    if (make_tokenizer(o, tmp, &ntok, &bos, &eos, e)) return -1;
    if (o->vocab) c->vocab_size = o->vocab;
    else if (!c->vocab_size) c->vocab_size = ntok;
    if (c->vocab_size < ntok && o->vocab)
        return err_set(e, 2, "--vocab-size %d is smaller than the tokenizer's %d tokens", c->vocab_size, ntok);   /* a usage error, known once the tokenizer is */
    if (c->vocab_size < ntok)   /* the config's own: named as a field of it */
        return err_set(e, 1, "%s: \"vocab_size\" %d is smaller than the tokenizer's %d tokens", o->what, c->vocab_size, ntok);
    c->bos_token_id = bos; c->eos_token_id = eos;
    c->n_eos = eos >= 0;
    c->eos_ids[0] = eos;
    if (o->tie >= 0) c->tie_word_embeddings = o->tie;
    st_dtype dt = o->dtype >= 0 ? (st_dtype)o->dtype : (st_dtype)dtype_parse_torch(c->torch_dtype);
    snprintf(c->torch_dtype, sizeof c->torch_dtype, "%s", dtype_torch_name(dt));
    if (config_save(c, tmp, e)) return -1;
    /* the weights' size against the room on the filesystem, before any is written: a config of
       sizes each within the loader's limits but enormous together spun for minutes and would
       then have filled the disk */
    double nparams = config_nparams_d(c);
    double bytes = nparams * (double)dtype_size(dt);
    struct statvfs fs;   /* (a filesystem that reports no size at all, as some FUSE ones, is not judged;
                            root may write the reserved blocks too) */
    int judged = !statvfs(tmp, &fs) && fs.f_blocks > 0;
    double room = judged ? (double)(geteuid() == 0 ? fs.f_bfree : fs.f_bavail) * (double)fs.f_frsize : 0;
    if (judged && bytes > room)
        return err_set(e, 1, "%s: %.4g parameters (%.4g GB in %s) are more than the %.4g GB free where -o is", o->what, nparams,
                       bytes / 1e9, dtype_torch_name(dt), room / 1e9);
    char p[4096];
    if (join(p, sizeof p, tmp, "model.safetensors", e)) return -1;
    return write_weights(p, c, dt, seed, o->std, o->bias_std, e);
}

int main(int argc, char **argv) {
    cli cl;
    cli_init(&cl, "minit", usage);
    cli_signals();
    opts o = {.dtype = -1, .tie = -1, .std = 0.02};
    static const struct option longopts[] = {
        CLI_COMMON_LONGOPTS,
        {"dtype", required_argument, 0, 1}, {"std", required_argument, 0, 2},
        {"bias-std", required_argument, 0, 3}, {"tie", required_argument, 0, 4},
        {"vocab-size", required_argument, 0, 5}, {"tokenizer", required_argument, 0, 6},
        {"merges", required_argument, 0, 7}, {"merges-text", required_argument, 0, 8}, {0, 0, 0, 0}};
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":" CLI_COMMON_SHORT, longopts, NULL)) != -1) {
        if (cli_common(&cl, opt, optarg)) continue;
        switch (opt) {
        case 1:
            o.dtype = dtype_parse_torch(optarg);
            if (o.dtype < 0) cli_usage(&cl, "--dtype: '%s' is not bf16, fp32 or fp16 (or bfloat16, float32, float16)", optarg);
            break;
        case 2: o.std = cli_double(&cl, "--std", optarg, 0, 10); break;
        case 3: o.bias_std = cli_double(&cl, "--bias-std", optarg, 0, 10); break;
        case 4:
            if (strcmp(optarg, "yes") && strcmp(optarg, "no")) cli_usage(&cl, "--tie: '%s' is not yes or no", optarg);
            o.tie = !strcmp(optarg, "yes");
            break;
        case 5: o.vocab = (int)cli_long(&cl, "--vocab-size", optarg, 1, 1L << 30); break;
        case 6: o.tokenizer = optarg; break;
        case 7: o.merges = (int)cli_long(&cl, "--merges", optarg, 0, 1000000); break;
        case 8: o.merges_text = optarg; break;
        default: cli_bad_option(&cl, opt, argv, longopts);
        }
    }
    if (optind != argc - 1) cli_usage(&cl, optind >= argc ? "a config name or config.json is required" : "one config only");
    o.what = argv[optind];
    if (!cl.out) cli_usage(&cl, "-o DIR is required");
    static char outbuf[4000];   /* "DIR/" names DIR: its temp sibling is DIR.tmp.PID, not DIR/.tmp.PID */
    size_t ol = strlen(cl.out);
    /* named by the option, not the path: a path past mrl_err's 1024 bytes cut the message before
       its reason, and the usage error named neither -o nor what was wrong */
    if (ol >= sizeof outbuf) cli_usage(&cl, "-o: the path is too long (%zu bytes)", ol);
    memcpy(outbuf, cl.out, ol + 1);
    while (ol > 1 && outbuf[ol - 1] == '/') outbuf[--ol] = 0;
    cl.out = outbuf;
    if (o.merges > 0 && !o.merges_text) cli_usage(&cl, "--merges needs --merges-text FILE");
    if (o.merges_text && o.merges <= 0) cli_usage(&cl, "--merges-text needs --merges N (the number of merges to learn)");
    if (o.merges > 0 && o.tokenizer) cli_usage(&cl, "--merges and --tokenizer exclude each other");
    mrl_config probe;
    struct stat wst;
    if (named_config(o.what, &probe) && !stat(o.what, &wst) && S_ISDIR(wst.st_mode))   /* a model directory */
        cli_usage(&cl, "'%s' is a directory: name the config.json in it", o.what);
    if (named_config(o.what, &probe) && !strchr(o.what, '/') && !strstr(o.what, ".json"))
        cli_usage(&cl, "'%s' is not tiny, small, qwen2-1.5b or a config.json", o.what);

    /* -o through a symbolic link makes the directory where it leads, and the link stays, as -o
       FILE replaces a link's target (mrl(7)): the rename over the link itself failed, "L: rename:
       Not a directory", once the model was built */
    static char dst[4000];
    char *fl = path_follow(cl.out);
    struct stat st;
    if (!fl) cli_dief(&cl, 3, "out of memory");
    if (!lstat(fl, &st) && S_ISLNK(st.st_mode)) cli_dief(&cl, 3, "%s: %s", cl.out, strerror(ELOOP));
    if (strlen(fl) >= sizeof dst) cli_usage(&cl, "-o: the path is too long (%zu bytes where it leads)", strlen(fl));
    memcpy(dst, fl, strlen(fl) + 1);
    free(fl);
    for (size_t n = strlen(dst); n > 1 && dst[n - 1] == '/'; n--) dst[n - 1] = 0;   /* a link to "DIR/" */
    if (!stat(dst, &st)) {
        DIR *d = S_ISDIR(st.st_mode) ? opendir(dst) : NULL;
        int empty = d != NULL;
        struct dirent *de;
        while (d && (de = readdir(d))) if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) empty = 0;
        if (d) closedir(d);
        if (!empty) cli_dief(&cl, 1, "%s: exists and is not an empty directory", cl.out);
    }
    char tmp[4000];
    if (strlen(dst) + 40 >= sizeof tmp) cli_usage(&cl, "-o: the path is too long (%zu bytes)", strlen(dst));
    atomic_tmp_name(tmp, sizeof tmp, dst);
    /* the missing parents, as mkdir -p (and save_pretrained, and mgrpo --out) make them; made[0
       .. nmade) the ones made here, deepest first, removed again if the model is not made */
    char made[65][4000];
    int nmade = 0;
    for (char p[4000]; nmade < 65; nmade++) {
        snprintf(p, sizeof p, "%.3999s", nmade ? made[nmade - 1] : dst);   /* fits: gcc 10 warned */
        char *s = p + strlen(p);   /* p's parent: drop the last component and its slashes */
        while (s > p + 1 && s[-1] == '/') *--s = 0;
        while (s > p && s[-1] != '/') s--;
        while (s > p + 1 && s[-1] == '/') s--;
        *s = 0;
        if (!*p || !access(p, F_OK)) break;
        snprintf(made[nmade], sizeof made[nmade], "%s", p);
    }
    if (nmade > 64) cli_dief(&cl, 2, "%s: more than 64 missing parent directories", cl.out);   /* before making any */
    const char *failed = nmade && path_mkdirs(made[0]) ? made[0] : mkdir(tmp, 0755) ? cl.out : NULL;
    if (failed) {
        int err = errno;
        for (int i = 0; i < nmade; i++) rmdir(made[i]);   /* those made before the failure */
        cli_dief(&cl, 3, "%s: %s", failed, strerror(err));
    }
    mrl_config c;
    mrl_err e = {0};
    int rc = build(&o, tmp, &c, cl.seed, &e);
    size_t tl = strlen(tmp);
    if (rc && !strncmp(e.msg, tmp, tl) && e.msg[tl] == '/') {
        /* a write error names DIR/FILE as given, not DIR.tmp.PID/FILE: that directory is gone
           (err_set formats before it writes: the message's own tail can be its argument) */
        err_set(&e, e.code, "%s%s", cl.out, e.msg + tl);
    }
    if (!rc && cli_stop_requested()) rc = err_set(&e, 1, "interrupted");   /* never publish after a signal */
    char inside[4096];
    if (!rc && !join(inside, sizeof inside, tmp, "config.json", &e) && fsync_dir_of(inside) < 0) { /* best effort: some filesystems refuse directory fsync */ }
    if (!rc && rename(tmp, dst)) rc = err_set(&e, 3, "%s: rename: %s", cl.out, strerror(errno));
    if (rc) {
        remove_dir(tmp);
        for (int i = 0; i < nmade; i++) rmdir(made[i]);
        int sig = cli_stop_requested();
        if (sig) return 128 + sig;
        cli_die(&cl, &e);
    }
    fsync_dir_of(dst);
    if (cl.progress != 0)
        fprintf(stderr, "minit: %s: %zu parameters, %d layers, vocab %d, %s, seed %llu\n", cl.out,
                config_nparams(&c), c.num_layers, c.vocab_size, c.torch_dtype, (unsigned long long)cl.seed);
    return 0;
}
