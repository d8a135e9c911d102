/* modelconfig.c — config.json and generation_config.json of a Qwen2 model directory, read
 * through libjq (errors name the field) and written atomically; the parameter count. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jv.h>
#include "fileio.h"
#include "jqf.h"
#include "model.h"
#include "safetensors.h"

/* In double: sizes each within config_load's limits can together pass size_t (minit weighs
 * them against the free space first); exact up to 2^53 parameters. */
double config_nparams_d(const mrl_config *c) {
    const double C = c->hidden_size, V = c->vocab_size, F = c->intermediate_size, D = c->head_dim;
    const double H = c->num_heads, K = c->num_kv_heads;
    double layer = 2 * C + (H * D * C + H * D) + 2 * (K * D * C + K * D) + C * H * D + 3 * F * C;
    return V * C + (double)c->num_layers * layer + C + (c->tie_word_embeddings ? 0 : V * C);
}
size_t config_nparams(const mrl_config *c) { return (size_t)config_nparams_d(c); }

/* Parses a JSON file of at most 1 MiB; NULL kind invalid with e set (missing file: code 1). */
static jv read_json(const char *path, mrl_err *e) {
    char *buf;
    size_t n;
    int rc = file_read(path, 1u << 20, &buf, &n);
    if (rc == ENOMEM) { err_set(e, 3, "out of memory"); return jv_invalid(); }
    if (rc == EFBIG) { err_set(e, 1, "%s: larger than 1 MiB", path); return jv_invalid(); }
    if (rc) { err_set(e, 1, "%s: %s", path, strerror(rc)); return jv_invalid(); }   /* a directory: EISDIR */
    jv v = jv_parse_sized(buf, (int)n);
    free(buf);
    if (!jv_is_valid(v)) {
        char why[256];
        err_set(e, 1, "%s: not valid JSON: %s", path, jv_parse_error(v, "?", why, sizeof why));
        return jv_invalid();
    }
    if (jv_get_kind(v) != JV_KIND_OBJECT) { jv_free(v); err_set(e, 1, "%s: not a JSON object", path); return jv_invalid(); }
    return v;
}

/* An integer field in [lo, hi]; def < lo-1 sentinel means required. 1 if absent and defaulted. */
static int get_int(jv o, const char *path, const char *k, int *out, long lo, long hi, int required, mrl_err *e) {
    jv v = jv_object_get(jv_copy(o), jv_string(k));
    int kind = jv_get_kind(v);
    double d = kind == JV_KIND_NUMBER ? jv_number_value(v) : 0;
    jv_free(v);
    if (kind == JV_KIND_INVALID || kind == JV_KIND_NULL) {
        if (required) return err_set(e, 1, "%s: \"%s\" is missing", path, k);
        return 1;
    }
    if (kind != JV_KIND_NUMBER || d != floor(d) || d < lo || d > hi)
        return err_set(e, 1, "%s: \"%s\" must be an integer in [%ld, %ld]", path, k, lo, hi);
    *out = (int)d;
    return 0;
}

static int get_num(jv o, const char *path, const char *k, float *out, double lo, double hi, mrl_err *e) {
    jv v = jv_object_get(jv_copy(o), jv_string(k));
    int kind = jv_get_kind(v);
    double d = kind == JV_KIND_NUMBER ? jv_number_value(v) : 0;
    jv_free(v);
    if (kind == JV_KIND_INVALID || kind == JV_KIND_NULL) return 1;
    float f = (float)d;   /* checked as stored: 1e-96 is above 0 in double, 0 in float (fuzz_config) */
    if (kind != JV_KIND_NUMBER || !(f > lo && f <= hi)) return err_set(e, 1, "%s: \"%s\" must be a number in (%g, %g]", path, k, lo, hi);
    *out = f;
    return 0;
}

/* eos_token_id: an integer or an array of integers; appended to c->eos_ids without repeats. */
static int add_eos(mrl_config *c, jv o, const char *path, mrl_err *e) {
    jv v = jv_object_get(jv_copy(o), jv_string("eos_token_id"));
    int rc = 0;
    if (jv_get_kind(v) == JV_KIND_NUMBER) v = JV_ARRAY(v);
    if (jv_get_kind(v) == JV_KIND_ARRAY) {
        jv_array_foreach(v, i, x) {
            double d = jv_get_kind(x) == JV_KIND_NUMBER ? jv_number_value(x) : -1;
            jv_free(x);
            if (rc) continue;
            if (d < 0 || d != floor(d) || d >= c->vocab_size) { rc = err_set(e, 1, "%s: \"eos_token_id\" must be token ids below vocab_size", path); continue; }
            int id = (int)d, seen = 0;
            for (int j = 0; j < c->n_eos; j++) seen |= c->eos_ids[j] == id;
            if (seen) continue;
            if (c->n_eos == (int)(sizeof c->eos_ids / sizeof *c->eos_ids)) {   /* not dropped without a word */
                rc = err_set(e, 1, "%s: \"eos_token_id\": more than %d ids (with config.json's)", path, c->n_eos);
                continue;
            }
            c->eos_ids[c->n_eos++] = id;
        }
    } else if (jv_get_kind(v) != JV_KIND_INVALID && jv_get_kind(v) != JV_KIND_NULL)
        rc = err_set(e, 1, "%s: \"eos_token_id\" must be an integer or an array", path);
    jv_free(v);
    return rc;
}

/* The type of rotary settings o (rope_parameters, rope_scaling), as transformers reads it:
 * "rope_type", else "type". 1 "default", 0 another, -1 none given. */
static int rope_default(jv o) {
    jv rt = jv_object_get(jv_copy(o), jv_string("rope_type"));
    if (jv_get_kind(rt) != JV_KIND_STRING) { jv_free(rt); rt = jv_object_get(jv_copy(o), jv_string("type")); }
    int r = jv_get_kind(rt) != JV_KIND_STRING ? -1 : !strcmp(jv_string_value(rt), "default");
    jv_free(rt);
    return r;
}

static int parse_config(mrl_config *c, jv o, const char *p, mrl_err *e) {
    jv mt = jv_object_get(jv_copy(o), jv_string("model_type"));
    int ok = jv_get_kind(mt) == JV_KIND_STRING && !strcmp(jv_string_value(mt), "qwen2");
    if (!ok && jv_get_kind(mt) == JV_KIND_STRING)
        err_set(e, 1, "%s: \"model_type\" is \"%.40s\"; only \"qwen2\" is supported", p, jv_string_value(mt));
    else if (!ok) err_set(e, 1, "%s: \"model_type\" is missing", p);
    jv_free(mt);
    if (!ok) return -1;
    const long BIG = 1L << 30;
    if (get_int(o, p, "vocab_size", &c->vocab_size, 1, BIG, 1, e) < 0 ||
        get_int(o, p, "hidden_size", &c->hidden_size, 1, 1 << 20, 1, e) < 0 ||
        get_int(o, p, "intermediate_size", &c->intermediate_size, 1, 1 << 22, 1, e) < 0 ||
        get_int(o, p, "num_hidden_layers", &c->num_layers, 1, 4096, 1, e) < 0 ||
        get_int(o, p, "num_attention_heads", &c->num_heads, 1, 4096, 1, e) < 0) return -1;
    c->num_kv_heads = c->num_heads;
    c->head_dim = c->hidden_size / c->num_heads;
    c->max_position_embeddings = 32768;
    c->rope_theta = 10000.0f; c->rms_norm_eps = 1e-6f;
    int theta_missing = 1, window_absent = 1;
    if (get_int(o, p, "num_key_value_heads", &c->num_kv_heads, 1, 4096, 0, e) < 0 ||
        get_int(o, p, "head_dim", &c->head_dim, 1, 4096, 0, e) < 0 ||
        get_int(o, p, "max_position_embeddings", &c->max_position_embeddings, 1, BIG, 0, e) < 0 ||
        (window_absent = get_int(o, p, "max_window_layers", &c->max_window_layers, 0, 4096, 0, e)) < 0 ||
        (theta_missing = get_num(o, p, "rope_theta", &c->rope_theta, 0, 1e12, e)) < 0 ||
        get_num(o, p, "rms_norm_eps", &c->rms_norm_eps, 0, 1, e) < 0) return -1;
    /* absent: transformers' Qwen2Config default, 28; a 0 given slides every layer */
    int window_layers = window_absent ? 28 : c->max_window_layers;
    if (c->max_window_layers <= 0) c->max_window_layers = c->num_layers;   /* as config_save writes it */
    /* transformers 5 writes the rotary settings as rope_parameters {rope_theta, rope_type} */
    jv rp = jv_object_get(jv_copy(o), jv_string("rope_parameters"));
    if (jv_get_kind(rp) == JV_KIND_OBJECT) {
        int plain = rope_default(rp) != 0;   /* no type: plain */
        int rc = plain ? 0 : err_set(e, 1, "%s: \"rope_parameters.rope_type\" other than \"default\" is not supported", p);
        float th = c->rope_theta;
        if (rc == 0 && (rc = get_num(rp, p, "rope_theta", &th, 0, 1e12, e)) == 0) {
            if (!theta_missing && th != c->rope_theta)
                rc = err_set(e, 1, "%s: \"rope_theta\" %g and \"rope_parameters.rope_theta\" %g disagree", p, c->rope_theta, th);
            c->rope_theta = th;
            theta_missing = 0;
        }
        jv_free(rp);
        if (rc < 0) return -1;
    } else jv_free(rp);
    if (c->num_heads % c->num_kv_heads)
        return err_set(e, 1, "%s: \"num_attention_heads\" (%d) is not a multiple of \"num_key_value_heads\" (%d)", p, c->num_heads, c->num_kv_heads);
    if (c->head_dim < 1) return err_set(e, 1, "%s: \"hidden_size\" %d is smaller than \"num_attention_heads\" %d", p, c->hidden_size, c->num_heads);
    if (c->head_dim % 2) return err_set(e, 1, "%s: head_dim %d is odd (rotary embedding needs pairs)", p, c->head_dim);
    jv v = jv_object_get(jv_copy(o), jv_string("tie_word_embeddings"));
    int k = jv_get_kind(v);
    jv_free(v);
    if (k == JV_KIND_TRUE || k == JV_KIND_FALSE) c->tie_word_embeddings = k == JV_KIND_TRUE;
    else if (k != JV_KIND_INVALID && k != JV_KIND_NULL) return err_set(e, 1, "%s: \"tie_word_embeddings\" must be true or false", p);
    /* Features the Qwen2 forward here does not implement are refused, not ignored. */
    v = jv_object_get(jv_copy(o), jv_string("rope_scaling"));
    k = jv_get_kind(v);
    if (k == JV_KIND_OBJECT && rope_default(v) == 1) {   /* {"rope_type": "default"}: plain RoPE */
        /* transformers 5 reads rope_scaling as rope_parameters, its rope_theta before the others */
        float th = c->rope_theta;
        int rc = get_num(v, p, "rope_theta", &th, 0, 1e12, e);
        if (rc == 0 && !theta_missing && th != c->rope_theta)
            rc = err_set(e, 1, "%s: \"rope_theta\" %g and \"rope_scaling.rope_theta\" %g disagree", p, c->rope_theta, th);
        jv_free(v);
        if (rc < 0) return -1;
        c->rope_theta = th;
        v = jv_null(); k = JV_KIND_NULL;
    }
    jv_free(v);
    if (k != JV_KIND_INVALID && k != JV_KIND_NULL)
        return err_set(e, 1, "%s: \"rope_scaling\" is not supported (must be null or of rope_type \"default\")", p);
    /* Sliding-window attention, refused where a layer would use it. transformers' Qwen2: the
       window is "sliding_window" when "use_sliding_window" is true; layer i slides when there is
       a window and "layer_types"[i] is "sliding_attention" or, without layer_types, i >=
       max_window_layers. A config that turns it on for no layer is plain attention. */
    v = jv_object_get(jv_copy(o), jv_string("use_sliding_window"));
    k = jv_get_kind(v);
    jv_free(v);
    jv sw = jv_object_get(jv_copy(o), jv_string("sliding_window"));   /* absent: Qwen2Config's 4096; null: none */
    int window = k == JV_KIND_TRUE && (jv_get_kind(sw) == JV_KIND_NUMBER || jv_get_kind(sw) == JV_KIND_INVALID);
    jv_free(sw);
    if (window) {
        jv lt = jv_object_get(jv_copy(o), jv_string("layer_types"));
        int slides = 0;
        if (jv_get_kind(lt) == JV_KIND_ARRAY) {
            jv_array_foreach(lt, i, t) {
                if (jv_get_kind(t) == JV_KIND_STRING && !strcmp(jv_string_value(t), "sliding_attention")) slides = 1;
                jv_free(t);
            }
        } else slides = window_layers < c->num_layers;
        jv_free(lt);
        if (slides)
            return err_set(e, 1, "%s: \"use_sliding_window\" true slides the attention of some layers (\"sliding_window\", "
                           "\"max_window_layers\" or \"layer_types\"): sliding-window attention is not supported", p);
    }
    v = jv_object_get(jv_copy(o), jv_string("hidden_act"));
    if (jv_get_kind(v) == JV_KIND_STRING && strcmp(jv_string_value(v), "silu")) {
        err_set(e, 1, "%s: \"hidden_act\" is \"%.40s\"; only \"silu\" is supported", p, jv_string_value(v));
        jv_free(v);
        return -1;
    }
    jv_free(v);
    /* transformers 5 writes "dtype" and, given both, keeps "dtype" (torch_dtype is its old name) */
    const char *dkey = "dtype";
    v = jv_object_get(jv_copy(o), jv_string(dkey));
    if (jv_get_kind(v) != JV_KIND_STRING) { jv_free(v); v = jv_object_get(jv_copy(o), jv_string(dkey = "torch_dtype")); }
    snprintf(c->torch_dtype, sizeof c->torch_dtype, "float32");
    if (jv_get_kind(v) == JV_KIND_STRING) {
        int d = dtype_parse_torch(jv_string_value(v));
        if (d < 0) { err_set(e, 1, "%s: \"%s\" \"%.40s\" is not bfloat16, float16 or float32", p, dkey, jv_string_value(v)); jv_free(v); return -1; }
        snprintf(c->torch_dtype, sizeof c->torch_dtype, "%s", dtype_torch_name((st_dtype)d));
        c->dtype_named = 1;
    }
    jv_free(v);
    c->bos_token_id = c->eos_token_id = -1;
    if (get_int(o, p, "bos_token_id", &c->bos_token_id, 0, c->vocab_size - 1, 0, e) < 0) return -1;
    /* config.json's eos may be a list in newer models; the first one is eos_token_id. */
    if (add_eos(c, o, p, e)) return -1;
    if (c->n_eos) c->eos_token_id = c->eos_ids[0];
    return 0;
}

int config_load(mrl_config *c, const char *dir, mrl_err *e) {
    memset(c, 0, sizeof *c);
    struct stat st;   /* a .jsonl or a .safetensors given as --model: "X/config.json: Not a directory" */
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
        return err_set(e, 1, "%s: a file, not a model directory (one with config.json, model.safetensors, "
                       "tokenizer.json)", dir);
    char p[4096];
    snprintf(p, sizeof p, "%s/config.json", dir);
    jv o = read_json(p, e);
    if (!jv_is_valid(o)) return -1;
    int rc = parse_config(c, o, p, e);
    jv_free(o);
    if (rc) return -1;
    /* generation_config.json is optional; its bos (what prompts start with: 151646 for the
     * R1 distill, where config.json says 151643) wins, its eos ids are added. */
    snprintf(p, sizeof p, "%s/generation_config.json", dir);
    FILE *fp = fopen(p, "rb");
    if (!fp && errno == ENOENT) return 0;
    /* one that is there but cannot be read is not taken for none: its end ids would be lost */
    if (!fp) return err_set(e, 1, "%s: %s", p, strerror(errno));
    fclose(fp);
    o = read_json(p, e);
    if (!jv_is_valid(o)) return -1;
    rc = get_int(o, p, "bos_token_id", &c->bos_token_id, 0, c->vocab_size - 1, 0, e) < 0 || add_eos(c, o, p, e) ? -1 : 0;
    if (!rc && c->eos_token_id < 0 && c->n_eos) c->eos_token_id = c->eos_ids[0];
    jv_free(o);
    return rc;
}

static int save_text(const char *dir, const char *name, const char *text, mrl_err *e) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return st_write_file_atomic(p, text, strlen(text), e);
}

/* A float as JSON that Python reads back to the same float32 ("1e-06", "10000.0"). */
static void fmt_float(char *b, size_t n, float x) {
    if (x == floorf(x) && fabsf(x) < 1e15f) snprintf(b, n, "%.1f", (double)x);
    else dtype_decimal(b, n, x, 1);
}

static void fmt_id(char *b, size_t n, int id) {
    if (id < 0) snprintf(b, n, "null"); else snprintf(b, n, "%d", id);
}

int config_save(const mrl_config *c, const char *dir, mrl_err *e) {
    int d = dtype_parse_torch(c->torch_dtype);
    if (d < 0) return err_set(e, 2, "torch_dtype \"%s\" is not bfloat16, float16 or float32", c->torch_dtype);
    /* every end id (at most 32, each up to 10 digits and ", "): 160 characters held the 8 of
       old and cut a longer list mid-id, leaving generation_config.json unreadable */
    char theta[32], eps[32], bos[16], eos[16], eosl[sizeof c->eos_ids / sizeof *c->eos_ids * 13 + 4];
    fmt_float(theta, sizeof theta, c->rope_theta);
    fmt_float(eps, sizeof eps, c->rms_norm_eps);
    fmt_id(bos, sizeof bos, c->bos_token_id);
    fmt_id(eos, sizeof eos, c->eos_token_id);
    if (c->n_eos > 1) {
        size_t k = (size_t)snprintf(eosl, sizeof eosl, "[");
        for (int i = 0; i < c->n_eos && k < sizeof eosl; i++)
            k += (size_t)snprintf(eosl + k, sizeof eosl - k, "%s%d", i ? ", " : "", c->eos_ids[i]);
        if (k < sizeof eosl) snprintf(eosl + k, sizeof eosl - k, "]");
    } else if (c->n_eos == 1) snprintf(eosl, sizeof eosl, "%d", c->eos_ids[0]);
    else snprintf(eosl, sizeof eosl, "%s", eos);
    char cfg[4096], gen[1024];
    int head_dim_default = c->head_dim * c->num_heads == c->hidden_size;
    char hd[48] = "";
    if (!head_dim_default) snprintf(hd, sizeof hd, "  \"head_dim\": %d,\n", c->head_dim);
    snprintf(cfg, sizeof cfg,
             "{\n"
             "  \"architectures\": [\"Qwen2ForCausalLM\"],\n"
             "  \"attention_dropout\": 0.0,\n"
             "  \"bos_token_id\": %s,\n"
             "  \"eos_token_id\": %s,\n"
             "%s"
             "  \"hidden_act\": \"silu\",\n"
             "  \"hidden_size\": %d,\n"
             "  \"initializer_range\": 0.02,\n"
             "  \"intermediate_size\": %d,\n"
             "  \"max_position_embeddings\": %d,\n"
             "  \"max_window_layers\": %d,\n"
             "  \"model_type\": \"qwen2\",\n"
             "  \"num_attention_heads\": %d,\n"
             "  \"num_hidden_layers\": %d,\n"
             "  \"num_key_value_heads\": %d,\n"
             "  \"rms_norm_eps\": %s,\n"
             "  \"rope_scaling\": null,\n"
             "  \"rope_theta\": %s,\n"
             "  \"sliding_window\": null,\n"
             "  \"tie_word_embeddings\": %s,\n"
             "  \"torch_dtype\": \"%s\",\n"
             "  \"use_cache\": true,\n"
             "  \"use_sliding_window\": false,\n"
             "  \"vocab_size\": %d\n"
             "}\n",
             bos, eos, hd, c->hidden_size, c->intermediate_size, c->max_position_embeddings,
             c->max_window_layers > 0 ? c->max_window_layers : c->num_layers,
             c->num_heads, c->num_layers, c->num_kv_heads, eps, theta, c->tie_word_embeddings ? "true" : "false",
             dtype_torch_name((st_dtype)d), c->vocab_size);
    snprintf(gen, sizeof gen, "{\n  \"bos_token_id\": %s,\n  \"eos_token_id\": %s\n}\n", bos, eosl);
    if (save_text(dir, "config.json", cfg, e)) return -1;
    return save_text(dir, "generation_config.json", gen, e);
}

int config_fits(const mrl_config *c, long T, mrl_err *e) {
    if (c->max_position_embeddings <= 0 || T <= c->max_position_embeddings) return 0;
    return err_set(e, 1, "\"prompt_ids\" + \"completion_ids\": %ld tokens, more than the model's context (max_position_embeddings %d)",
                   T, c->max_position_embeddings);
}
