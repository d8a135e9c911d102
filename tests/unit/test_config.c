/* test_config.c — config.json / generation_config.json: the real DeepSeek-R1-Distill-Qwen-1.5B
 * files (values as published, OPEN-RS.md §6), round trips, and refused configs naming the field. */
#include <stdio.h>
#include <unistd.h>
#include "model.h"
#include "../test.h"

static char dir[TEST_TMPDIR_MAX];

static void put(const char *name, const char *text) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (!text) { unlink(p); return; }
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

/* config.json of deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B as published. */
static const char r1_config[] =
    "{\n  \"_name_or_path\": \"deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B\",\n"
    "  \"architectures\": [\"Qwen2ForCausalLM\"],\n  \"attention_dropout\": 0.0,\n"
    "  \"bos_token_id\": 151643,\n  \"eos_token_id\": 151643,\n  \"hidden_act\": \"silu\",\n"
    "  \"hidden_size\": 1536,\n  \"initializer_range\": 0.02,\n  \"intermediate_size\": 8960,\n"
    "  \"max_position_embeddings\": 131072,\n  \"max_window_layers\": 21,\n  \"model_type\": \"qwen2\",\n"
    "  \"num_attention_heads\": 12,\n  \"num_hidden_layers\": 28,\n  \"num_key_value_heads\": 2,\n"
    "  \"rms_norm_eps\": 1e-06,\n  \"rope_scaling\": null,\n  \"rope_theta\": 10000,\n  \"sliding_window\": null,\n"
    "  \"tie_word_embeddings\": false,\n  \"torch_dtype\": \"bfloat16\",\n  \"transformers_version\": \"4.44.0\",\n"
    "  \"use_cache\": true,\n  \"use_mrope\": false,\n  \"use_sliding_window\": false,\n  \"vocab_size\": 151936\n}\n";
static const char r1_generation[] =
    "{\n  \"_from_model_config\": true,\n  \"bos_token_id\": 151646,\n  \"eos_token_id\": 151643,\n"
    "  \"do_sample\": true,\n  \"temperature\": 0.6,\n  \"top_p\": 0.95,\n  \"transformers_version\": \"4.39.3\"\n}\n";

TEST(loads_r1_distill_config) {
    put("config.json", r1_config);
    put("generation_config.json", r1_generation);
    mrl_config c;
    mrl_err e = {0};
    EXPECTF(config_load(&c, dir, &e) == 0, "%s", e.msg);
    EXPECT(c.vocab_size == 151936 && c.hidden_size == 1536 && c.intermediate_size == 8960);
    EXPECT(c.num_layers == 28 && c.num_heads == 12 && c.num_kv_heads == 2 && c.head_dim == 128);
    EXPECT(c.max_position_embeddings == 131072 && c.rope_theta == 10000.0f && c.rms_norm_eps == 1e-6f);
    EXPECT(c.tie_word_embeddings == 0 && !strcmp(c.torch_dtype, "bfloat16"));
    EXPECT(c.bos_token_id == 151646);   /* generation_config's: what prompts begin with */
    EXPECT(c.eos_token_id == 151643 && c.n_eos == 1 && c.eos_ids[0] == 151643);
    EXPECT(config_nparams(&c) == 1777088000ull);
}

TEST(round_trip) {
    put("config.json", r1_config);
    put("generation_config.json", "{\"eos_token_id\": [151643, 151645, 151643]}");
    mrl_config a, b;
    mrl_err e = {0};
    EXPECTF(config_load(&a, dir, &e) == 0, "%s", e.msg);
    EXPECT(a.n_eos == 2 && a.eos_ids[1] == 151645 && a.bos_token_id == 151643);
    a.tie_word_embeddings = 1;
    a.rms_norm_eps = 1e-5f;
    a.rope_theta = 1000000.0f;
    snprintf(a.torch_dtype, sizeof a.torch_dtype, "float32");
    EXPECTF(config_save(&a, dir, &e) == 0, "%s", e.msg);
    EXPECTF(config_load(&b, dir, &e) == 0, "%s", e.msg);
    EXPECT(!memcmp(&a, &b, sizeof a));
    /* max_window_layers (21 of 28 layers) is written back as read, not as num_layers (minit
       qwen2-1.5b and every config minit rewrote said 28) */
    EXPECT(a.max_window_layers == 21 && b.max_window_layers == 21);
    /* the most end ids a config holds (32: config.json's and 31 more) are written whole: the
       list was cut at 160 characters (room for the 8 it held before), leaving
       generation_config.json unreadable ("[151643, ..., 1516") */
    char big[1024], *q = big;
    q += sprintf(q, "{\"eos_token_id\": [");
    for (int i = 0; i < 31; i++) q += sprintf(q, "%s%d", i ? ", " : "", 151600 + i);
    sprintf(q, "]}");
    put("generation_config.json", big);
    EXPECTF(config_load(&a, dir, &e) == 0 && a.n_eos == 32, "%s", e.msg);
    EXPECTF(config_save(&a, dir, &e) == 0, "%s", e.msg);
    EXPECTF(config_load(&b, dir, &e) == 0 && b.n_eos == 32 && !memcmp(&a, &b, sizeof a), "%s", e.msg);
    /* a head_dim that is not hidden/heads survives too */
    a.head_dim = 64;
    EXPECT(config_save(&a, dir, &e) == 0 && config_load(&b, dir, &e) == 0 && b.head_dim == 64 && !memcmp(&a, &b, sizeof a));
}

TEST(defaults) {
    put("config.json", "{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128,"
                       " \"num_hidden_layers\": 2, \"num_attention_heads\": 4}");
    put("generation_config.json", NULL);
    mrl_config c;
    mrl_err e = {0};
    EXPECTF(config_load(&c, dir, &e) == 0, "%s", e.msg);
    EXPECT(c.num_kv_heads == 4 && c.head_dim == 16 && c.tie_word_embeddings == 0);
    EXPECT(c.bos_token_id == -1 && c.eos_token_id == -1 && c.n_eos == 0 && !strcmp(c.torch_dtype, "float32"));
}

/* transformers 5 writes rope_parameters {rope_theta, rope_type} and "dtype" */
TEST(transformers5_fields) {
    put("config.json", "{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128,"
                       " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"dtype\": \"bfloat16\","
                       " \"rope_parameters\": {\"rope_theta\": 1000000.0, \"rope_type\": \"default\"}}");
    put("generation_config.json", NULL);
    mrl_config c;
    mrl_err e = {0};
    EXPECTF(config_load(&c, dir, &e) == 0, "%s", e.msg);
    EXPECT(c.rope_theta == 1000000.0f && !strcmp(c.torch_dtype, "bfloat16"));
    put("config.json", "{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128,"
                       " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"rope_theta\": 10000,"
                       " \"rope_parameters\": {\"rope_theta\": 500000, \"rope_type\": \"default\"}}");
    EXPECT(config_load(&c, dir, &e) != 0 && strstr(e.msg, "disagree"));
    put("config.json", "{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128,"
                       " \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
                       " \"rope_parameters\": {\"rope_theta\": 10000, \"rope_type\": \"yarn\"}}");
    EXPECT(config_load(&c, dir, &e) != 0 && strstr(e.msg, "rope_type"));
    /* the older key "type": transformers reads it as the rope_type (here linear scaling, which
       the forward here does not compute; it was taken for plain RoPE) */
    put("config.json", "{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128,"
                       " \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
                       " \"rope_parameters\": {\"rope_theta\": 10000, \"type\": \"linear\", \"factor\": 4.0}}");
    EXPECT(config_load(&c, dir, &e) != 0 && strstr(e.msg, "rope_type"));
    /* rope_scaling of rope_type "default" is rope_parameters to transformers 5, its rope_theta the
       one RoPE runs with (5.25: {"rope_type": "default", "rope_theta": 500000.0}); it was dropped
       and RoPE ran with 10000 */
    put("config.json", "{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128,"
                       " \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
                       " \"rope_scaling\": {\"rope_type\": \"default\", \"rope_theta\": 500000.0}}");
    EXPECTF(config_load(&c, dir, &e) == 0 && c.rope_theta == 500000.0f, "%s", e.msg);
    put("config.json", "{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128,"
                       " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"rope_theta\": 10000,"
                       " \"rope_scaling\": {\"type\": \"default\", \"rope_theta\": 500000.0}}");
    EXPECTF(config_load(&c, dir, &e) != 0 && strstr(e.msg, "rope_scaling.rope_theta") && strstr(e.msg, "disagree"),
            "%s", e.msg);
    /* both dtype keys: transformers 5 keeps "dtype" (mrl took torch_dtype, so msample's auto dtype
       and mgrpo's saved dtype were not the ones transformers loads the model in) */
    put("config.json", "{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128,"
                       " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"torch_dtype\": \"float32\", \"dtype\": \"bfloat16\"}");
    EXPECTF(config_load(&c, dir, &e) == 0 && !strcmp(c.torch_dtype, "bfloat16"), "%s", e.msg);
    put("config.json", "{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128,"
                       " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"torch_dtype\": \"bfloat16\", \"dtype\": null}");
    EXPECTF(config_load(&c, dir, &e) == 0 && !strcmp(c.torch_dtype, "bfloat16"), "%s", e.msg);
    /* a bad value is named by the key it was read from (it was always called "torch_dtype") */
    put("config.json", "{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128,"
                       " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"dtype\": \"int8\"}");
    EXPECTF(config_load(&c, dir, &e) != 0 && strstr(e.msg, "\"dtype\" \"int8\""), "%s", e.msg);
}

/* A setting transformers reads as plain attention and plain RoPE is taken (they were refused):
 * use_sliding_window true where no layer slides, rope_scaling of rope_type "default". Checked
 * against transformers 5.25's Qwen2Config.layer_types and rope_parameters. */
TEST(takes_configs_that_change_nothing) {
    static const char *const cases[] = {
        "\"use_sliding_window\": true, \"sliding_window\": 16, \"max_window_layers\": 2",
        "\"use_sliding_window\": true, \"sliding_window\": 16",   /* 2 layers < 28 */
        "\"use_sliding_window\": true, \"sliding_window\": null, \"max_window_layers\": 0",
        "\"use_sliding_window\": true, \"sliding_window\": 16, \"max_window_layers\": 0, \"layer_types\": [\"full_attention\", \"full_attention\"]",
        "\"use_sliding_window\": false, \"sliding_window\": 16, \"max_window_layers\": 0",
        "\"rope_scaling\": {\"rope_type\": \"default\"}",
        "\"rope_scaling\": {\"type\": \"default\", \"rope_theta\": 10000}",
    };
    mrl_config c;
    mrl_err e = {0};
    put("generation_config.json", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char json[512];
        snprintf(json, sizeof json, "{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, "
                 "\"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, %s}", cases[i]);
        put("config.json", json);
        EXPECTF(config_load(&c, dir, &e) == 0 && c.num_layers == 2, "case %zu: %s", i, e.msg);
    }
}

TEST(refuses_bad_configs) {
    static const struct { const char *json, *want; } cases[] = {
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4}",
         "\"hidden_size\" is missing"},
        {"{\"model_type\": \"llama\"}", "\"model_type\" is \"llama\""},
        {"{\"hidden_size\": 64}", "\"model_type\" is missing"},
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 3}",
         "not a multiple"},
        {"{\"model_type\": \"qwen2\", \"vocab_size\": -3, \"hidden_size\": 64}", "\"vocab_size\" must be an integer"},
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 30.5, \"hidden_size\": 64}", "\"vocab_size\" must be an integer"},
        {"{\"model_type\": \"qwen2\", \"vocab_size\": \"300\", \"hidden_size\": 64}", "\"vocab_size\" must be an integer"},
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"rope_scaling\": {\"type\": \"yarn\"}}",
         "\"rope_scaling\" is not supported"},
        /* sliding windows where a layer would use one (transformers' layer_types) */
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"use_sliding_window\": true, \"sliding_window\": 16, \"max_window_layers\": 1}",
         "sliding-window attention is not supported"},
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 30, \"num_attention_heads\": 4, \"use_sliding_window\": true, \"sliding_window\": 16}",
         "sliding-window attention is not supported"},   /* max_window_layers absent: 28 */
        /* sliding_window absent: Qwen2Config's default window, 4096 (only null is none); it was
           taken for no window */
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"use_sliding_window\": true, \"max_window_layers\": 1}",
         "sliding-window attention is not supported"},
        /* max_window_layers 0 given: every layer slides (transformers 5.25's layer_types); it was
           taken for an absent one (28) and the 2 layers here ran without their window */
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"use_sliding_window\": true, \"sliding_window\": 16, \"max_window_layers\": 0}",
         "sliding-window attention is not supported"},
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"use_sliding_window\": true, \"sliding_window\": 16, \"max_window_layers\": 2, \"layer_types\": [\"full_attention\", \"sliding_attention\"]}",
         "sliding-window attention is not supported"},
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"torch_dtype\": \"int8\"}",
         "\"torch_dtype\""},
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"eos_token_id\": 300}",
         "\"eos_token_id\" must be token ids below vocab_size"},
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"hidden_act\": \"gelu\"}",
         "\"hidden_act\""},
        {"{\"model_type\": \"qwen2\", \"vocab_size\": 300, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"rms_norm_eps\": 1e-96}",
         "\"rms_norm_eps\" must be a number in (0, 1]"},   /* 0 as a float (fuzz_config) */
        {"{\"model_type\": \"qwen2\", ", "not valid JSON"},
        {"[1]", "not a JSON object"},
    };
    mrl_config c;
    mrl_err e = {0};
    put("generation_config.json", NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        put("config.json", cases[i].json);
        int rc = config_load(&c, dir, &e);
        EXPECTF(rc < 0 && strstr(e.msg, cases[i].want) && strstr(e.msg, "config.json"), "case %zu: %s", i, rc ? e.msg : "accepted");
    }
    put("config.json", r1_config);
    put("generation_config.json", "{\"eos_token_id\": \"x\"}");
    EXPECT(config_load(&c, dir, &e) < 0 && strstr(e.msg, "generation_config.json") && strstr(e.msg, "eos_token_id"));
    /* more end ids than a config holds: an error (the ninth on were dropped without a word, so
       a completion ran on past them); 32 are taken, config.json's 151643 and 31 more */
    char big[1024], *q = big;
    q += sprintf(q, "{\"eos_token_id\": [");
    for (int i = 0; i < 31; i++) q += sprintf(q, "%s%d", i ? ", " : "", 151600 + i);
    sprintf(q, "]}");
    put("generation_config.json", big);
    EXPECT(config_load(&c, dir, &e) == 0 && c.n_eos == 32 && c.eos_ids[31] == 151630);
    sprintf(q, ", 151650]}");
    put("generation_config.json", big);
    EXPECT(config_load(&c, dir, &e) < 0 && strstr(e.msg, "generation_config.json") && strstr(e.msg, "more than 32"));
    /* a generation_config.json that is there but cannot be opened (EACCES for another user; here
       a symbolic link loop, ELOOP) is an error naming it: it was taken for an absent one, and
       its end ids were lost without a word */
    put("generation_config.json", NULL);
    char gp[PATH_MAX];
    snprintf(gp, sizeof gp, "%s/generation_config.json", dir);
    EXPECT(symlink("generation_config.json", gp) == 0);
    e = (mrl_err){0};
    EXPECTF(config_load(&c, dir, &e) < 0 && strstr(e.msg, "generation_config.json"), "%s", e.msg[0] ? e.msg : "accepted");
    put("config.json", NULL);
    put("generation_config.json", NULL);
    EXPECT(config_load(&c, dir, &e) < 0 && strstr(e.msg, "config.json"));
}

int main(void) {
    test_tmpdir(dir, sizeof dir, "test_config");
    RUN(loads_r1_distill_config);
    RUN(round_trip);
    RUN(defaults);
    RUN(transformers5_fields);
    RUN(refuses_bad_configs);
    RUN(takes_configs_that_change_nothing);
    put("config.json", NULL);
    put("generation_config.json", NULL);
    rmdir(dir);
    return tst_done();
}
