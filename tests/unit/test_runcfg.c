/* test_runcfg.c — a resumed run's schedule and objective (runcfg.c): the run's values where none
 * is given, a given one winning with mgrpo's warning, a bad state refused naming key and option,
 * and the state rc_*_state write read back to the same options. */
#include <jv.h>
#include "../test.h"
#include "runcfg.h"

/* the warnings of a resolve, one a line */
typedef struct { char text[4096]; } warns;
static void collect(void *ctx, const char *msg) {
    warns *w = ctx;
    size_t n = strlen(w->text);
    snprintf(w->text + n, sizeof w->text - n, "%s\n", msg);
}

/* a state from JSON text (parsed: a typo in a test is its failure, not a new run) */
static jv state_of(const char *text) {
    jv s = jv_parse(text);
    if (!jv_is_valid(s)) printf("  bad test JSON: %s\n", text);
    return s;
}

#define SCHED "\"schedule\": {\"name\": \"cosine\", \"lr\": 0.2, \"warmup\": 3, \"total_steps\": 10, \"min_lr_rate\": 0.1}"

TEST(an_option_not_given_takes_the_runs_value) {
    rc_opts r;
    rc_init(&r);
    warns w = {""};
    mrl_err e = {0};
    jv s = state_of("{" SCHED ", \"objective\": {\"loss\": \"dapo\", \"beta\": 0.1, \"iterations\": 2,"
                    " \"mask_truncated\": true, \"advantage\": \"rloo\", \"micro_batch\": 4, \"adam_epsilon\": 1e-6}}");
    EXPECTF(rc_resolve(&r, s, "RUN", collect, &w, &e) == 0, "%s", e.msg);
    EXPECT(r.so.kind == SCHED_COSINE && r.so.total == 10 && r.so.warmup == 3 && r.so.min_lr_rate == 0.1);
    EXPECT(r.lr == 0.2);
    EXPECT(r.t.g.loss == GRPO_LOSS_DAPO && r.t.g.beta == 0.1 && r.iterations == 2 && r.t.mask_truncated == 1);
    EXPECT(r.adv == GRPO_ADV_RLOO && r.t.micro_batch == 4 && r.oo.eps == 1e-6);
    EXPECT(r.t.use_old == 1);                  /* iterations 2, not sft */
    EXPECT(r.t.g.epsilon == 0.2 && r.t.g.epsilon_high == 0.2);   /* not in the state: the defaults */
    EXPECTF(!w.text[0], "%s", w.text);
    jv_free(s);
}

TEST(a_given_option_that_differs_wins_with_a_warning) {
    rc_opts r;
    rc_init(&r);
    /* as mgrpo --lr 0.1 --total-steps 20 --min-lr-rate 0.1 --beta 0.5 --no-mask-truncated --loss dapo */
    r.lr = 0.1; r.so.total = 20; r.t.g.beta = 0.5; r.t.mask_truncated = 0; r.t.g.loss = GRPO_LOSS_DAPO;
    r.given = RC_G_LR | RC_G_TOTAL | RC_G_MINLR | RC_G_OBJ << RC_BETA | RC_G_OBJ << RC_MASKT | RC_G_OBJ << RC_LOSS;
    warns w = {""};
    mrl_err e = {0};
    jv s = state_of("{" SCHED ", \"objective\": {\"loss\": \"dapo\", \"beta\": 0.04, \"mask_truncated\": true}}");
    EXPECTF(rc_resolve(&r, s, "RUN/step-000004", collect, &w, &e) == 0, "%s", e.msg);
    EXPECT(r.lr == 0.1 && r.so.total == 20 && r.so.kind == SCHED_COSINE && r.so.warmup == 3);
    EXPECT(r.t.g.beta == 0.5 && r.t.mask_truncated == 0 && r.t.g.loss == GRPO_LOSS_DAPO);
    /* mgrpo's words, in this order; the same --loss and --min-lr-rate say nothing */
    const char *want =
        "--lr 0.1 replaces the run's 0.2 (RUN/step-000004/trainer_state.json)\n"
        "--total-steps 20 replaces the run's 10 (RUN/step-000004/trainer_state.json)\n"
        "--beta 0.5 replaces the run's 0.04 (RUN/step-000004/trainer_state.json)\n"
        "--no-mask-truncated replaces the run's --mask-truncated (RUN/step-000004/trainer_state.json)\n";
    EXPECTF(!strcmp(w.text, want), "got:\n%s", w.text);
    jv_free(s);

    /* a name is said as JSON; a warmup in steps of the given total */
    rc_init(&r);
    r.t.g.loss = GRPO_LOSS_GRPO; r.warmup = 0.5; r.so.total = 10;
    r.given = RC_G_OBJ << RC_LOSS | RC_G_WARMUP | RC_G_TOTAL;
    w.text[0] = 0;
    s = state_of("{" SCHED ", \"objective\": {\"loss\": \"sft\"}}");
    EXPECTF(rc_resolve(&r, s, "R", collect, &w, &e) == 0, "%s", e.msg);
    EXPECT(r.so.warmup == 5);
    EXPECTF(!strcmp(w.text, "--warmup 5 steps replaces the run's 3 steps (R/trainer_state.json)\n"
                            "--loss \"grpo\" replaces the run's \"sft\" (R/trainer_state.json)\n"), "got:\n%s", w.text);
    jv_free(s);

    /* a hand-edited value of any length is said whole */
    char big[1100], want2[1300];
    memset(big, 'x', 1000); big[1000] = 0;
    rc_init(&r);
    r.given = RC_G_OBJ << RC_IMP;
    w.text[0] = 0;
    s = JV_OBJECT(jv_string("objective"), JV_OBJECT(jv_string("importance"), jv_string(big)));
    EXPECTF(rc_resolve(&r, s, "R", collect, &w, &e) == 0, "%s", e.msg);
    snprintf(want2, sizeof want2, "--importance \"token\" replaces the run's \"%s\" (R/trainer_state.json)\n", big);
    EXPECTF(!strcmp(w.text, want2), "got:\n%.200s", w.text);
    jv_free(s);
}

TEST(a_bad_state_value_is_an_error_naming_key_and_option) {
    static const struct { const char *state; int code; const char *msg; } cases[] = {
        {"{\"schedule\": {\"name\": \"linear\", \"lr\": 0.2, \"warmup\": -1, \"total_steps\": 10, \"min_lr_rate\": 0.1}}", ERR_INPUT,
         "R/trainer_state.json: \"schedule\": \"warmup\" holds -1, not a value of --warmup"},
        {"{\"schedule\": {\"name\": \"linear\", \"lr\": 0.2, \"warmup\": 2.5, \"total_steps\": 10, \"min_lr_rate\": 0.1}}", ERR_INPUT,
         "R/trainer_state.json: \"schedule\": \"warmup\" holds 2.5, not a value of --warmup"},
        {"{\"schedule\": {\"name\": \"linear\", \"lr\": 2000, \"warmup\": 0, \"total_steps\": 10, \"min_lr_rate\": 0.1}}", ERR_INPUT,
         "R/trainer_state.json: \"schedule\": \"lr\" holds 2000, not a value of --lr"},
        {"{\"schedule\": {\"name\": \"steep\", \"lr\": 0.2, \"warmup\": 0, \"total_steps\": 10, \"min_lr_rate\": 0.1}}", ERR_INPUT,
         "R/trainer_state.json: \"schedule\" is not name, lr, warmup, total_steps, min_lr_rate"},
        {"{\"objective\": {\"beta\": \"x\"}}", ERR_INPUT,
         "R/trainer_state.json: \"objective\": \"beta\" holds \"x\", not a value of --beta"},
        {"{\"objective\": {\"iterations\": 1.5}}", ERR_INPUT,
         "R/trainer_state.json: \"objective\": \"iterations\" holds 1.5, not a value of --iterations"},
        {"{\"objective\": {\"delta\": 0.5}}", ERR_INPUT,
         "R/trainer_state.json: \"objective\": \"delta\" holds 0.5, not a value of --delta"},
        {"{\"objective\": {\"adam_beta2\": 1}}", ERR_INPUT,
         "R/trainer_state.json: \"objective\": \"adam_beta2\" holds 1, not a value of --adam-beta2"},
        {"{\"objective\": {\"mask_truncated\": 1}}", ERR_INPUT,
         "R/trainer_state.json: \"objective\": \"mask_truncated\" holds 1, not a value of --mask-truncated"},
        {"{\"objective\": {\"advantage\": \"ppo\"}}", ERR_INPUT,
         "R/trainer_state.json: \"objective\": \"advantage\" holds \"ppo\", not a value of --advantage"},
        /* a schedule that needs a length, the run's none: said as the command line's mistake */
        {"{\"schedule\": {\"name\": \"linear\", \"lr\": 0.2, \"warmup\": 0, \"total_steps\": 0, \"min_lr_rate\": 0.1}}", ERR_USAGE,
         "--schedule linear needs --total-steps"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rc_opts r;
        rc_init(&r);
        warns w = {""};
        mrl_err e = {0};
        jv s = state_of(cases[i].state);
        int rc = rc_resolve(&r, s, "R", collect, &w, &e);
        EXPECTF(rc == -1 && e.code == cases[i].code && !strcmp(e.msg, cases[i].msg), "case %zu: %d %d %s", i, rc, e.code, e.msg);
        jv_free(s);
    }
    /* given on the command line, a bad value in the state is replaced, not refused */
    rc_opts r;
    rc_init(&r);
    r.given = RC_G_OBJ << RC_BETA;
    warns w = {""};
    mrl_err e = {0};
    jv s = state_of("{\"objective\": {\"beta\": \"x\"}}");
    EXPECTF(rc_resolve(&r, s, "R", collect, &w, &e) == 0 && r.t.g.beta == 0.04, "%s", e.msg);
    EXPECTF(!strcmp(w.text, "--beta 0.04 replaces the run's \"x\" (R/trainer_state.json)\n"), "got:\n%s", w.text);
    jv_free(s);
    /* a new run: the same checks on the command line's own */
    rc_init(&r);
    r.warmup = 0.1; r.given = RC_G_WARMUP;
    EXPECT(rc_resolve(&r, jv_invalid(), NULL, collect, &w, &e) == -1 && e.code == ERR_USAGE &&
           !strcmp(e.msg, "--warmup as a ratio needs --total-steps"));
}

TEST(a_run_from_before_objective_keeps_its_loss) {
    rc_opts r;
    rc_init(&r);
    r.t.g.beta = 0.5; r.iterations = 3;
    r.given = RC_G_OBJ << RC_BETA | RC_G_OBJ << RC_ITER;
    warns w = {""};
    mrl_err e = {0};
    jv s = state_of("{" SCHED ", \"loss\": \"sft\"}");
    EXPECTF(rc_resolve(&r, s, "R", collect, &w, &e) == 0, "%s", e.msg);
    EXPECT(r.t.g.loss == GRPO_LOSS_SFT);
    EXPECT(r.t.g.beta == 0.5 && r.iterations == 3);   /* the call's own: the run recorded none */
    EXPECT(r.t.use_old == 0);                          /* sft has no ratio */
    EXPECTF(!w.text[0], "%s", w.text);
    jv_free(s);
    /* its loss replaced by a given one, said */
    rc_init(&r);
    r.given = RC_G_OBJ << RC_LOSS;
    s = state_of("{\"loss\": \"dr_grpo\"}");
    EXPECTF(rc_resolve(&r, s, "R", collect, &w, &e) == 0 && r.t.g.loss == GRPO_LOSS_GRPO, "%s", e.msg);
    EXPECTF(!strcmp(w.text, "--loss \"grpo\" replaces the run's \"dr_grpo\" (R/trainer_state.json)\n"), "got:\n%s", w.text);
    jv_free(s);
}

TEST(epsilon_high_follows_a_new_epsilon_where_the_run_had_them_equal) {
    rc_opts r;
    rc_init(&r);
    r.t.g.epsilon = 0.3; r.given = RC_G_OBJ << RC_EPS;
    warns w = {""};
    mrl_err e = {0};
    jv s = state_of("{\"objective\": {\"epsilon\": 0.2, \"epsilon_high\": 0.2}}");
    EXPECTF(rc_resolve(&r, s, "R", collect, &w, &e) == 0, "%s", e.msg);
    EXPECT(r.t.g.epsilon == 0.3 && r.t.g.epsilon_high == 0.3);
    EXPECTF(!strcmp(w.text, "--epsilon 0.3 replaces the run's 0.2 (R/trainer_state.json)\n"), "got:\n%s", w.text);
    jv_free(s);
    /* a run with an epsilon_high of its own keeps it */
    rc_init(&r);
    r.t.g.epsilon = 0.3; r.given = RC_G_OBJ << RC_EPS;
    s = state_of("{\"objective\": {\"epsilon\": 0.2, \"epsilon_high\": 0.28}}");
    EXPECTF(rc_resolve(&r, s, "R", collect, &w, &e) == 0, "%s", e.msg);
    EXPECT(r.t.g.epsilon == 0.3 && r.t.g.epsilon_high == 0.28);
    jv_free(s);
    /* a new run: --epsilon-high is --epsilon's */
    rc_init(&r);
    r.t.g.epsilon = 0.1; r.given = RC_G_OBJ << RC_EPS;
    EXPECT(rc_resolve(&r, jv_invalid(), NULL, collect, &w, &e) == 0 && r.t.g.epsilon_high == 0.1);
}

static int same(const rc_opts *a, const rc_opts *b) {
    return a->t.g.loss == b->t.g.loss && a->t.g.beta == b->t.g.beta && a->t.g.epsilon == b->t.g.epsilon &&
           a->t.g.epsilon_high == b->t.g.epsilon_high && a->t.g.delta == b->t.g.delta &&
           a->t.g.seq_importance == b->t.g.seq_importance && a->t.micro_batch == b->t.micro_batch &&
           a->t.mask_truncated == b->t.mask_truncated && a->t.use_old == b->t.use_old &&
           a->t.temperature == b->t.temperature && a->adv == b->adv && a->scale == b->scale &&
           a->iterations == b->iterations && a->maxlen_opt == b->maxlen_opt && a->oo.beta1 == b->oo.beta1 &&
           a->oo.beta2 == b->oo.beta2 && a->oo.eps == b->oo.eps && a->oo.weight_decay == b->oo.weight_decay &&
           a->max_grad_norm == b->max_grad_norm && a->so.kind == b->so.kind && a->so.total == b->so.total &&
           a->so.warmup == b->so.warmup && a->so.min_lr_rate == b->so.min_lr_rate && a->lr == b->lr;
}

/* the state as mgrpo's trainer_state.json holds it, through its text */
static jv written(const rc_opts *r) {
    jv s = JV_OBJECT(jv_string("schedule"), rc_schedule_state(r), jv_string("loss"), jv_string(grpo_loss_name(r->t.g.loss)),
                     jv_string("objective"), rc_objective_state(r));
    jv text = jv_dump_string(s, 0);
    jv back = jv_parse(jv_string_value(text));
    jv_free(text);
    return back;
}

TEST(the_state_written_resolves_to_the_same_options) {
    rc_opts a;
    rc_init(&a);
    /* every option off its default, as a command line sets them (warmup a ratio of the total) */
    a.so.kind = SCHED_COSINE_MIN_LR; a.lr = 3e-6; a.warmup = 0.1; a.so.total = 50; a.so.min_lr_rate = 0.25;
    a.t.g = (grpo_opts){GRPO_LOSS_BNPO, 0.01, 0.15, 0.28, 2.5, 1};
    a.adv = GRPO_ADV_REINFORCE_PP; a.scale = GRPO_SCALE_NONE; a.iterations = 4; a.t.mask_truncated = 1;
    a.t.temperature = 0.7f; a.maxlen_opt = 512; a.t.micro_batch = 8; a.oo.weight_decay = 0.01;
    a.max_grad_norm = 0.5; a.oo.beta1 = 0.8; a.oo.beta2 = 0.95; a.oo.eps = 1e-7;
    a.given = RC_G_SCHED | RC_G_LR | RC_G_WARMUP | RC_G_MINLR | RC_G_TOTAL;
    for (int i = 0; i < RC_NOBJ; i++) a.given |= RC_G_OBJ << i;
    rc_opts cmdline = a;
    warns w = {""};
    mrl_err e = {0};
    EXPECTF(rc_resolve(&a, jv_invalid(), NULL, collect, &w, &e) == 0, "%s", e.msg);
    EXPECT(a.so.warmup == 5 && a.t.use_old == 1);
    jv s = written(&a);
    EXPECT(jv_is_valid(s));

    /* resumed with no option given */
    rc_opts b;
    rc_init(&b);
    EXPECTF(rc_resolve(&b, s, "R", collect, &w, &e) == 0, "%s", e.msg);
    EXPECT(same(&a, &b));
    jv again = written(&b);
    EXPECT(jv_equal(jv_copy(s), again));
    /* resumed with the same command line again: the same options, nothing to say */
    rc_opts c = cmdline;
    EXPECTF(rc_resolve(&c, s, "R", collect, &w, &e) == 0, "%s", e.msg);
    EXPECT(same(&a, &c));
    EXPECTF(!w.text[0], "%s", w.text);
    jv_free(s);

    /* mgrpo's defaults survive the trip too */
    rc_init(&a);
    EXPECT(rc_resolve(&a, jv_invalid(), NULL, collect, &w, &e) == 0);
    s = written(&a);
    rc_init(&b);
    EXPECTF(rc_resolve(&b, s, "R", collect, &w, &e) == 0 && same(&a, &b), "%s", e.msg);
    EXPECTF(!w.text[0], "%s", w.text);
    jv_free(s);
}

/* the temperature is a float: a run's 0.7, written either as 0.7 or as that float widened
 * (0.699999988079071, what runs recorded before), is --temperature 0.7; the state says 0.7;
 * rates that differ past %g's six digits are told apart in the warning */
TEST(float_temperature_and_close_rates_compare_as_they_are_read) {
    const char *runs[] = {"0.7", "0.699999988079071"};
    for (int k = 0; k < 2; k++) {
        rc_opts r;
        rc_init(&r);
        r.t.temperature = 0.7f; r.given = RC_G_OBJ << RC_TEMP;
        warns w = {""};
        mrl_err e = {0};
        char text[256];
        snprintf(text, sizeof text, "{\"objective\": {\"temperature\": %s}}", runs[k]);
        jv s = state_of(text);
        EXPECTF(rc_resolve(&r, s, "RUN", collect, &w, &e) == 0, "%s", e.msg);
        EXPECTF(!w.text[0], "run's %s: %s", runs[k], w.text);
        jv_free(s);
    }
    rc_opts r;
    rc_init(&r);
    r.t.temperature = 0.7f;
    jv t = jv_dump_string(jv_object_get(rc_objective_state(&r), jv_string("temperature")), 0);
    EXPECTF(!strcmp(jv_string_value(t), "0.7"), "%s", jv_string_value(t));
    jv_free(t);
    r.t.temperature = 0.6f; r.given = RC_G_OBJ << RC_TEMP;   /* a different one still warns */
    r.lr = 0.002; r.given |= RC_G_LR;
    warns w = {""};
    mrl_err e = {0};
    jv s = state_of("{\"schedule\": {\"name\": \"constant\", \"lr\": 0.0020000000001, \"warmup\": 0,"
                    " \"total_steps\": 0, \"min_lr_rate\": 0.1}, \"objective\": {\"temperature\": 0.7}}");
    EXPECTF(rc_resolve(&r, s, "RUN", collect, &w, &e) == 0, "%s", e.msg);
    const char *want = "--lr 0.002 replaces the run's 0.0020000000001 (RUN/trainer_state.json)\n"
                       "--temperature 0.6 replaces the run's 0.7 (RUN/trainer_state.json)\n";
    EXPECTF(!strcmp(w.text, want), "%s", w.text);
    jv_free(s);
}

int main(void) {
    RUN(an_option_not_given_takes_the_runs_value);
    RUN(a_given_option_that_differs_wins_with_a_warning);
    RUN(a_bad_state_value_is_an_error_naming_key_and_option);
    RUN(a_run_from_before_objective_keeps_its_loss);
    RUN(epsilon_high_follows_a_new_epsilon_where_the_run_had_them_equal);
    RUN(the_state_written_resolves_to_the_same_options);
    RUN(float_temperature_and_close_rates_compare_as_they_are_read);
    return tst_done();
}
