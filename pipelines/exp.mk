# pipelines/exp.mk — the Open-RS study's three experiments (`make exp1 exp2 exp3 MODEL=... DATA=...`),
# its exp2 data mix (`make data-exp2`), benchmark scoring (`make eval RUN=...`) and plots (`make plot`).
#
# Every hyperparameter of the published recipe (knoveleng/open-rs recipes/grpo.yaml, TRL 69ad852
# defaults; ../shared/OPEN-RS.md §1) is a variable that the command line overrides:
#   make exp2 MODEL=models/R1-Distill-Qwen-1.5B DATA=data/open-rs.jsonl.zst LR=2e-6 STEPS=100 TOTAL_STEPS=100
# A run lives in $(RUNS)/expN (RUN= to choose); run the same command again to continue it.

MODEL       ?=
DATA        ?=
RUNS        ?= runs
PROMPTS     ?= 12
G           ?= 6
LR          ?= 1e-6
SCHEDULE    ?= cosine_with_min_lr
MIN_LR_RATE ?= 0.1
WARMUP      ?= 0.1
STEPS       ?= 500
# the schedule's length, the study's max_steps, whatever STEPS is: STEPS=50 stops where Open-RS2
# and Open-RS3 were taken, at the end of the warmup of 500 steps (not of a 50-step schedule), and
# a run continued with a larger STEPS goes on along the same schedule
TOTAL_STEPS ?= 500
BETA        ?= 0.04
EPSILON     ?= 0.2
LOSS        ?= bnpo
MICRO_BATCH ?= 6
MAX_GRAD_NORM ?= 1.0
# the HF Trainer's AdamW, which the recipe leaves at its defaults (given here, so that make -n
# shows them and a change of mgrpo's defaults does not change the study's run)
WEIGHT_DECAY ?= 0
ADAM_BETA1  ?= 0.9
ADAM_BETA2  ?= 0.999
ADAM_EPSILON ?= 1e-8
TEMP        ?= 0.7
TOP_P       ?= 1
MAX_PROMPT  ?= 512
SAVE_EVERY  ?= 50
SEED        ?= 42
TEMPLATE    ?= r1
SYSTEM_FILE ?= pipelines/open-rs-system.txt
EXP1_MAX_TOKENS ?= 4096
EXP2_MAX_TOKENS ?= 3584
EXP3_MAX_TOKENS ?= 3584
MAX_TOKENS  ?=
# language=0 only records the share of non-Latin letters (the study's language drift) in the
# metrics: weight 0, so the reward is the study's; --anchored reads an unboxed "answer ... $x$"
# as open-rs's accuracy and cosine rewards did (Math-Verify, try_extract_without_anchor=False)
ACC_REWARD  ?= --anchored --reward accuracy=2 --reward format=1 --reward language=0
COS_REWARD  ?= --anchored --reward format=1 --reward cosine=2:max_len=3584 --reward language=0
REWARD      ?=
# recompute each layer in the backward: the 1.5B model's 6 x 3584-token micro-batch fits a GPU
GRAD_CKPT   ?= --grad-checkpoint
MGRPO_EXTRA ?=
MSAMPLE_EXTRA ?=
DEVICE      ?=
NGPU        ?= 1
THREADS     ?=
# 1: one mgrpo for the whole run, handed each step's batch; the policy reaches the sampler as
# RUN/policy (3.5 GB) instead of a whole checkpoint each step (~25 GB with the optimizer state)
PERSIST     ?= 0
# validation during a run (SPEC: every 25 steps on an AMC23-sized set, few samples); AMC23
# itself is one of the benchmarks `make eval` reports: EVAL_DATA= another set for a clean `best`;
# amc23.jsonl.zst where BENCH_DIR has no amc23.jsonl, as `make eval` reads it
BENCH_DIR   ?=
EVAL_EVERY  ?= 25
EVAL_DATA   ?= $(if $(BENCH_DIR),$(or $(wildcard $(BENCH_DIR)/amc23.jsonl),$(wildcard $(BENCH_DIR)/amc23.jsonl.zst),$(BENCH_DIR)/amc23.jsonl))
EVAL_N      ?= 4
EARLY_STOP  ?=

# the tools' directory, absolute, as one shell word (MRL_T, quoted where it has a space: in a tree
# under "My Projects" every tool ran as "/home/me/My") and as it is, for make's own test (MRL_TDIR)
MRL_TDIR = $(abspath $(BIN))
MRL_T = $(if $(word 2,$(MRL_TDIR)),$(call mrl_shq,$(MRL_TDIR)),$(MRL_TDIR))
# Command text handed to the loop (REWARD=, MGRPO_EXTRA=, MSAMPLE_EXTRA=, demo.mk's DEMO_REWARD=)
# reaches it byte for byte: mrl_shq quotes $1 as one shell word ('...', each ' in it as '\''),
# where REWARD='$(REWARD)' let the command's own quotes end the recipe's ("+=: command not
# found" for jq -c '.reward += 1'); mrl_user is the text of the variable named $1 as given on the
# command line or in the environment, not expanded by make (awk's $1 or a jq $x in a command was
# make's variable, empty), else its value.
mrl_shq = '$(subst ','\'',$1)'
mrl_user = $(if $(filter command environment,$(firstword $(origin $1))),$(value $1),$($1))
# (MGRPO_EXTRA outside the strip, which made every run of white space one space, quoted or not)
EXP_MGRPO = $(strip --loss $(LOSS) --micro-batch $(MICRO_BATCH) --lr $(LR) --schedule $(SCHEDULE) \
  --min-lr-rate $(MIN_LR_RATE) --warmup $(WARMUP) --total-steps $(TOTAL_STEPS) --beta $(BETA) \
  --epsilon $(EPSILON) --max-grad-norm $(MAX_GRAD_NORM) --weight-decay $(WEIGHT_DECAY) \
  --adam-beta1 $(ADAM_BETA1) --adam-beta2 $(ADAM_BETA2) --adam-epsilon $(ADAM_EPSILON) $(GRAD_CKPT))$(if $(call mrl_user,MGRPO_EXTRA), $(call mrl_user,MGRPO_EXTRA))
EXP_DEVICE = $(if $(DEVICE),--device $(DEVICE))

# the tools: a make exp2 before make said "/bin/bash: .../bin/mfilter: No such file or directory"
# (tested by the shell: make's wildcard splits a path at its spaces)
tools_need = $(foreach t,mfilter msample mreward mgrpo meval,$(if $(shell test -e $(MRL_T)/$t && echo y),,$(error $@: $(MRL_TDIR)/$t is not built: run make first (or give BIN= the directory of the tools))))

define exp_need
	$(tools_need)
	@test -n "$(MODEL)" || { echo "$@: MODEL= is required: a Hugging Face directory of DeepSeek-R1-Distill-Qwen-1.5B (README: The Open-RS experiments)" >&2; exit 2; }
	@test -n "$(DATA)" || { echo "$@: DATA= is required: problem records (JSON Lines, plain or zstd: id, problem, answer), e.g. the open-rs 7k mix (make data-exp2)" >&2; exit 2; }
	@# named before the run directory is made (a missing DATA or SYSTEM_FILE was "/bin/bash: line 1:
	@# FILE: No such file or directory", a MODEL without config.json mfilter's tokenizer.json error)
	@for f in $(DATA); do [ -r "$$f" ] && [ ! -d "$$f" ] || { echo "$@: DATA=$(DATA): $$f is not a readable file" >&2; exit 2; }; done
	@[ -r "$(SYSTEM_FILE)" ] && [ ! -d "$(SYSTEM_FILE)" ] || { echo "$@: SYSTEM_FILE=$(SYSTEM_FILE) is not a readable file (/dev/null: no system prompt)" >&2; exit 2; }
	@[ -f "$(MODEL)/config.json" ] || { echo "$@: MODEL=$(MODEL): no config.json there (MODEL= is a model directory)" >&2; exit 2; }
endef

# exp_run NAME MAX_TOKENS REWARD-OPTIONS: prompts over MAX_PROMPT tokens (the study's template and
# system prompt, mfilter --max-tokens) are dropped, not truncated, and mfilter says how many (all
# of them, with a stand-in model's byte-level tokenizer, is why the loop would find no problems);
# then the GRPO loop (pipelines/grpo-loop.sh).
define exp_run
	$(exp_need)
	$(if $(EVAL_DATA),,@echo "$1: no validation during the run (BENCH_DIR= or EVAL_DATA= turns it on)" >&2)
	@mkdir -p $(or $(RUN),$(RUNS)/$1)
	@# data.source: the records and filter RUN/data.jsonl.zst was made from, so that the same RUN
	@# with another DATA (MAX_PROMPT, TEMPLATE, SYSTEM_FILE) is an error, not the old problems
	@# (each file read as stdin: the FILE:LINE ids mfilter gives records without one would make
	@# DATA=data/x.jsonl and DATA=$$PWD/data/x.jsonl other records)
	sum=$$(for f in $(DATA); do $(MRL_T)/mfilter -Z -q <"$$f" || exit 2; done | cksum) && sys=$$(cksum <$(SYSTEM_FILE)) || exit 2; \
	src="records $$sum max_prompt=$(MAX_PROMPT) template=$(TEMPLATE) system $$sys"; \
	if [ -s $(or $(RUN),$(RUNS)/$1)/data.jsonl.zst ]; then \
	  if [ -e $(or $(RUN),$(RUNS)/$1)/data.source ] && [ "$$(cat $(or $(RUN),$(RUNS)/$1)/data.source)" != "$$src" ]; then \
	    echo "$1: DATA=$(DATA) (MAX_PROMPT=$(MAX_PROMPT) TEMPLATE=$(TEMPLATE) SYSTEM_FILE=$(SYSTEM_FILE)) is not what $(or $(RUN),$(RUNS)/$1)/data.jsonl.zst was made from ($(or $(RUN),$(RUNS)/$1)/data.source): give those, another run directory, or remove $(or $(RUN),$(RUNS)/$1)/data.jsonl.zst and problems.jsonl there to go on with these" >&2; exit 2; fi; \
	else $(MRL_T)/mfilter --max-tokens $(MAX_PROMPT) --model $(MODEL) \
	    --template $(TEMPLATE) --system @$(SYSTEM_FILE) $(DATA) -o $(or $(RUN),$(RUNS)/$1)/data.jsonl.zst \
	  && echo "$$src" > $(or $(RUN),$(RUNS)/$1)/data.source; fi
	RUN=$(or $(RUN),$(RUNS)/$1) MODEL=$(MODEL) DATA=$(or $(RUN),$(RUNS)/$1)/data.jsonl.zst STEPS=$(STEPS) \
	PROMPTS=$(PROMPTS) G=$(G) TEMP=$(TEMP) TOP_P=$(TOP_P) MAX_TOKENS=$(or $(MAX_TOKENS),$2) TEMPLATE=$(TEMPLATE) \
	SYSTEM="$$(cat $(SYSTEM_FILE))" SEED=$(SEED) SAVE_EVERY=$(SAVE_EVERY) DEVICE=$(DEVICE) NGPU=$(NGPU) PERSIST=$(PERSIST) THREADS=$(THREADS) \
	EVAL_EVERY=$(if $(EVAL_DATA),$(EVAL_EVERY),0) EVAL_DATA=$(EVAL_DATA) EVAL_N=$(EVAL_N) EARLY_STOP=$(EARLY_STOP) \
	EVAL_TEMPLATE=pipelines/math-query.tmpl EVAL_SYSTEM= BIN=$(MRL_T) \
	REWARD=$(call mrl_shq,$(or $(call mrl_user,REWARD),$(MRL_T)/mreward -q $3)) \
	MGRPO_ARGS=$(call mrl_shq,$(EXP_MGRPO)) MSAMPLE_ARGS=$(call mrl_shq,$(call mrl_user,MSAMPLE_EXTRA)) \
	  pipelines/grpo-loop.sh
endef

.PHONY: exp1 exp2 exp3 data-exp2 eval plot
exp1: ; $(call exp_run,exp1,$(EXP1_MAX_TOKENS),$(ACC_REWARD))
exp2: ; $(call exp_run,exp2,$(EXP2_MAX_TOKENS),$(ACC_REWARD))
exp3: ; $(call exp_run,exp3,$(EXP3_MAX_TOKENS),$(COS_REWARD))

# The exp2/exp3 mix: 3,000 open-s1 + 3,000 open-deepscaler + 1,000 easier raw DeepScaleR problems
# (EASY_WHERE selects them; the study's criterion is unpublished), shuffled. Each --take has a
# seed of its own: a --take key depends on the seed and the record only, and open-deepscaler is
# a subset of raw DeepScaleR, so with one seed the raw picks that are also in open-deepscaler
# were all among its 3,000 picks (half the 1,000 twice in the mix, not a random few).
OPEN_S1         ?=
OPEN_DEEPSCALER ?=
DEEPSCALER      ?=
EASY_WHERE      ?= true
MIX_OPEN_S1     ?= 3000
MIX_OPEN_DEEPSCALER ?= 3000
MIX_EASY        ?= 1000
MIX_OUT         ?= data/exp2-mix.jsonl.zst
# mix_take COUNT-VARIABLE FILES-VARIABLE SEED-OFFSET [easy]: the take (easy: of the problems that
# pass EASY_WHERE, named here, as a comma in it would split the call's arguments) into $p.OFFSET,
# counted: a source with fewer problems than its take (an EASY_WHERE that keeps 500) is an error
# naming it (--take keeps all of a smaller input: the mix was smaller than the study's, silently)
mix_take = $(MRL_T)/mfilter$(if $4, --where '$(EASY_WHERE)') --take $($1) --seed $(shell echo $$(($(SEED) + $3))) -q -Z $($2) > "$$p.$3"; \
	n=$$(wc -l < "$$p.$3"); [ $$n -ge $($1) ] || { echo "data-exp2: $2=$($2): $$n problems$(if $4, that pass EASY_WHERE), fewer than $1=$($1)" >&2; exit 1; }
data-exp2:
	@test -n "$(OPEN_S1)" -a -n "$(OPEN_DEEPSCALER)" -a -n "$(DEEPSCALER)" || { echo "data-exp2: OPEN_S1=, OPEN_DEEPSCALER= and DEEPSCALER= are required (problem files)" >&2; exit 2; }
	$(tools_need)
	@mkdir -p $(dir $(MIX_OUT))
	set -e; p="$(MIX_OUT).part"; trap 'rm -f "$$p".[012]' EXIT; \
	$(call mix_take,MIX_OPEN_S1,OPEN_S1,0); \
	$(call mix_take,MIX_OPEN_DEEPSCALER,OPEN_DEEPSCALER,1); \
	$(call mix_take,MIX_EASY,DEEPSCALER,2,easy); \
	cat "$$p".[012] | $(MRL_T)/mfilter --shuffle --seed $(SEED) -q -o "$$p"; mv "$$p" "$(MIX_OUT)"

# Benchmarks with the study's evaluation settings: no system prompt, the MATH_QUERY_TEMPLATE user
# turn (pipelines/math-query.tmpl), temperature 0.6, top-p 0.95, 32768 new tokens, one sample.
BENCHES        ?= aime24 math500 amc23 minerva_math olympiadbench
EVAL_K         ?= 1
EVAL_TEMP      ?= 0.6
EVAL_TOP_P     ?= 0.95
EVAL_MAX_TOKENS ?= 32768
RUN            ?=
# (STEP in base 10: printf read 010 as octal, step 8; one that is not a number is refused in eval)
CKPT           ?= $(if $(STEP),$(RUN)/$(shell { printf 'step-%06d' "$$((10#$(STEP)))"; } 2>/dev/null),$(RUN)/latest)
# the checkpoint as resolved when make starts: a run still training moves RUN/latest, and every
# benchmark must score the same step (the one EVAL_OUT is named after)
EVAL_MODEL     := $(or $(realpath $(CKPT)),$(CKPT))
EVAL_OUT       ?= $(if $(RUN),$(RUN)/eval,runs/eval)/$(notdir $(EVAL_MODEL))
EVAL_SETTINGS   = model=$(abspath $(EVAL_MODEL)) extract=lighteval k=$(EVAL_K) temperature=$(EVAL_TEMP) top_p=$(EVAL_TOP_P) max_tokens=$(EVAL_MAX_TOKENS) seed=$(SEED) benches=$(abspath $(BENCH_DIR))
eval:
	@test -n "$(RUN)$(filter-out $(RUN)/latest,$(CKPT))" || { echo "eval: RUN= (a run directory; STEP=N for a checkpoint) or CKPT= (a model directory) is required" >&2; exit 2; }
	@# before anything is made under RUN (STEP=abc scored step-000000 after printf's complaint, a
	@# missing RUN left RUN/eval/latest/settings behind msample's error)
	@[[ "$(STEP)" =~ ^[0-9]*$$ ]] || { echo "eval: STEP=$(STEP): not a whole number" >&2; exit 2; }
	$(tools_need)
	@test -n "$(BENCH_DIR)" || { echo "eval: BENCH_DIR= is required: a directory of aime24.jsonl, math500.jsonl, amc23.jsonl, minerva_math.jsonl, olympiadbench.jsonl (README: The Open-RS experiments)" >&2; exit 2; }
	@# every benchmark file before the first is sampled (a missing one was found after hours of it,
	@# as "msample: BENCH_DIR/math500.jsonl.zst: No such file or directory")
	@test -d "$(BENCH_DIR)" || { echo "eval: BENCH_DIR=$(BENCH_DIR) is not a directory (one holding aime24.jsonl, math500.jsonl, ...)" >&2; exit 2; }
	@for b in $(BENCHES); do [ -e $(BENCH_DIR)/$$b.jsonl ] || [ -e $(BENCH_DIR)/$$b.jsonl.zst ] || \
	  { echo "eval: BENCH_DIR=$(BENCH_DIR) has no $$b.jsonl (nor $$b.jsonl.zst); BENCHES= names the benchmarks to score" >&2; exit 2; }; done
	@test -e "$(EVAL_MODEL)/config.json" || { echo "eval: $(EVAL_MODEL)/config.json: no such file (RUN= a run directory, with STEP=N one of its step-N; CKPT= a model directory)" >&2; exit 2; }
	@mkdir -p $(EVAL_OUT)
	@# scored files are reused only under the same settings (EVAL_K=4 after a k=1 run samples again;
	@# so does another model whose directory has the same name: runs/exp1/step-000050, runs/exp2/step-000050);
	@# the scores and table of other settings go with them, not left to be read if a stage fails
	@if [ "$$(cat $(EVAL_OUT)/settings 2>/dev/null)" != "$(EVAL_SETTINGS)" ]; then \
	  rm -f $(EVAL_OUT)/*.jsonl.zst $(EVAL_OUT)/*.src $(EVAL_OUT)/scores.jsonl $(EVAL_OUT)/table.md; echo "$(EVAL_SETTINGS)" > $(EVAL_OUT)/settings; fi
	@# ... and of the same benchmark file: its checksum beside it (BENCH.src; a file edited in place
	@# kept its old scores); scores made before there were .src files are taken as of the file now
	for b in $(BENCHES); do f=$(BENCH_DIR)/$$b.jsonl; [ -e $$f ] || f=$$f.zst; sum=$$(cksum < $$f) || exit 1; \
	  if [ ! -e $(EVAL_OUT)/$$b.src ] && [ -s $(EVAL_OUT)/$$b.jsonl.zst ]; then echo "$$sum" > $(EVAL_OUT)/$$b.src; fi; \
	  [ "$$(cat $(EVAL_OUT)/$$b.src 2>/dev/null)" = "$$sum" ] || rm -f $(EVAL_OUT)/$$b.jsonl.zst $(EVAL_OUT)/scores.jsonl; \
	  test -s $(EVAL_OUT)/$$b.jsonl.zst || { $(MRL_T)/msample --model $(EVAL_MODEL) -n $(EVAL_K) --temperature $(EVAL_TEMP) \
	    --top-p $(EVAL_TOP_P) --max-tokens $(EVAL_MAX_TOKENS) --template pipelines/math-query.tmpl --system '' \
	    --seed $(SEED) $(EXP_DEVICE) -q $$f \
	  | $(MRL_T)/mreward -q --lighteval -o $(EVAL_OUT)/$$b.jsonl.zst && echo "$$sum" > $(EVAL_OUT)/$$b.src; } \
	  || { rm -f $(EVAL_OUT)/$$b.jsonl.zst $(EVAL_OUT)/$$b.src; exit 1; }; done
	@# each benchmark scored on its own, named by its file where its records have no bench (the
	@# Hugging Face sets named in README have none: one row "all" and a table of dashes; their ids,
	@# 0, 1, ... in several files, were "sample 0 of 0 again")
	( for b in $(BENCHES); do $(MRL_T)/meval -Z -q --by ".bench // \"$$b\"" $(EVAL_OUT)/$$b.jsonl.zst || exit 1; done ) \
	  > $(EVAL_OUT)/scores.jsonl.tmp && mv $(EVAL_OUT)/scores.jsonl.tmp $(EVAL_OUT)/scores.jsonl || { rm -f $(EVAL_OUT)/scores.jsonl.tmp; exit 1; }
	@# the row names the step scored, not RUN/latest, which moves on while a run trains
	pipelines/table2.sh $(EVAL_OUT)/scores.jsonl "$(if $(filter $(RUN)/latest,$(CKPT)),$(RUN)/$(notdir $(EVAL_MODEL)),$(CKPT))" > $(EVAL_OUT)/table.md
	@cat $(EVAL_OUT)/table.md

plot:
	@test -n "$(RUN)" || { echo "plot: RUN= is required (a run directory with metrics.jsonl)" >&2; exit 2; }
	pipelines/plot.sh $(RUN)
