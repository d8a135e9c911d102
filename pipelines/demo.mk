# pipelines/demo.mk — `make demo`: the whole loop on CPU with nothing downloaded (generated
# arithmetic problems, a tiny minit model, SFT warm start on a noisy teacher, GRPO, before/after).
#
# Every stage is a file under $(DEMO_DIR); `make demo` again continues where it stopped (the SFT
# and GRPO runs resume from their latest checkpoint). The values that shape the result are
# kept in $(DEMO_DIR)/settings: a later `make demo` with another one is refused, naming it
# (`make demo-clean` first, or another DEMO_DIR); it printed the old table without a word.

DEMO_DIR        ?= demo
DEMO_SEED       ?= 1
DEMO_LEVELS     ?= 1-4
DEMO_SMALL      ?= 1
DEMO_NOISE      ?= 0.4
DEMO_SFT_N      ?= $(shell echo $$(($(DEMO_SFT_STEPS) * $(DEMO_SFT_BATCH))))
DEMO_TRAIN_N    ?= 4000
DEMO_TEST_N     ?= 200
DEMO_MODEL      ?= tiny
DEMO_MERGES     ?= 300
DEMO_SFT_STEPS  ?= 300
DEMO_SFT_BATCH  ?= 64
DEMO_SFT_LR     ?= 3e-3
DEMO_STEPS      ?= 60
DEMO_PROMPTS    ?= 16
DEMO_G          ?= 8
DEMO_LR         ?= 3e-4
DEMO_BETA       ?= 0.04
DEMO_MICRO      ?= 64
DEMO_TEMP       ?= 1.0
DEMO_MAX_TOKENS ?= 40
DEMO_EVAL_N     ?= 8
DEMO_EVAL_TEMP  ?= $(DEMO_TEMP)
DEMO_THREADS    ?= 1
# one mgrpo for the whole GRPO stage (grpo-loop.sh PERSIST=1): the same steps, bit for bit
DEMO_PERSIST    ?= 1
DEMO_JOBS       ?= 2
DEMO_REWARD     ?= $(MRL_T)/mreward --reward accuracy=2 --reward format=1

# MRL_T, the tools' directory as one shell word: pipelines/exp.mk's (the Makefile includes both)
DEMO_GEN  ?= $(B)/testdata/gen_arith
DEMO_TASK  = --levels $(DEMO_LEVELS) --small $(DEMO_SMALL)
DEMO_THR   = $(if $(DEMO_THREADS),--threads $(DEMO_THREADS))
DEMO_SAMPLE = $(MRL_T)/msample --system '' --max-tokens $(DEMO_MAX_TOKENS) $(DEMO_THR) -q
D := $(DEMO_DIR)

# what shapes the result (DEMO_THREADS, DEMO_JOBS and DEMO_PERSIST do not: the same bits);
# DEMO_REWARD as written, so that another BIN= is the same setting
DEMO_KNOBS = SEED LEVELS SMALL NOISE SFT_N TRAIN_N TEST_N MODEL MERGES SFT_STEPS SFT_BATCH SFT_LR \
  STEPS PROMPTS G LR BETA MICRO TEMP MAX_TOKENS EVAL_N EVAL_TEMP
DEMO_SETTINGS = $(foreach k,$(DEMO_KNOBS),$(call mrl_shq,DEMO_$(k)=$(DEMO_$(k)))) \
  $(call mrl_shq,DEMO_REWARD=$(value DEMO_REWARD))

.PHONY: demo demo-clean demo-settings
demo:
	@# the counts before any stage runs (DEMO_STEPS=0 ended with status 2 and no word,
	@# DEMO_SFT_STEPS=abc in a shell's and awk's complaints)
	@for v in DEMO_SFT_STEPS=$(DEMO_SFT_STEPS) DEMO_SFT_BATCH=$(DEMO_SFT_BATCH) DEMO_STEPS=$(DEMO_STEPS) \
	  DEMO_PROMPTS=$(DEMO_PROMPTS) DEMO_G=$(DEMO_G) DEMO_MICRO=$(DEMO_MICRO) DEMO_MAX_TOKENS=$(DEMO_MAX_TOKENS) \
	  DEMO_EVAL_N=$(DEMO_EVAL_N) DEMO_TRAIN_N=$(DEMO_TRAIN_N) DEMO_TEST_N=$(DEMO_TEST_N) DEMO_JOBS=$(DEMO_JOBS); do \
	  [[ $${v#*=} =~ ^[0-9]+$$ ]] && (( 10#$${v#*=} > 0 )) || { echo "demo: $$v: not a whole number above 0" >&2; exit 2; }; done
	@$(MAKE) --no-print-directory demo-settings
	@$(MAKE) --no-print-directory -j$(shell nproc 2>/dev/null || echo 2) all
	@$(MAKE) --no-print-directory -j$(DEMO_JOBS) $(D)/result.md
	@echo; cat $(D)/result.md
	@echo; echo "demo: held-out pass@1 before (sft) and after (grpo) GRPO: $(D)/result.md; plot: $$([ -e $(D)/grpo/metrics.png ] && echo $(D)/grpo/metrics.png || echo 'none (no gnuplot; make plot RUN=$(D)/grpo draws it later)')"

demo-clean:
	rm -rf $(D)

# $(D)/settings: written before the first stage, compared on every later `make demo` once a
# stage has left a file (a first demo stopped before any, a wrong DEMO_MODEL say, takes new ones)
demo-settings:
	@mkdir -p $(D) && printf '%s\n' $(DEMO_SETTINGS) > $(D)/settings.new
	@if [ -e $(D)/settings ] && [ -n "$$(ls -A $(D) | grep -vx 'settings\|settings.new')" ] && \
	  ! cmp -s $(D)/settings $(D)/settings.new; then \
	  { echo "demo: $(D) was made with other settings:"; \
	    diff $(D)/settings $(D)/settings.new | sed -n 's/^< /  then: /p; s/^> /  now:  /p'; \
	    echo "demo: make demo-clean first, or give another DEMO_DIR="; } >&2; \
	  rm -f $(D)/settings.new; exit 2; fi
	@mv $(D)/settings.new $(D)/settings

# problems: SFT worked solutions (noisy teacher), GRPO training problems, held-out problems
$(D)/sft-problems.jsonl: | $(DEMO_GEN)
	@mkdir -p $(D)
	$(DEMO_GEN) --split train $(DEMO_TASK) --noise $(DEMO_NOISE) --n $(DEMO_SFT_N) --seed $(DEMO_SEED) > $@.tmp && mv $@.tmp $@
$(D)/train.jsonl: | $(DEMO_GEN)
	@mkdir -p $(D)
	$(DEMO_GEN) --split train $(DEMO_TASK) --no-solution --n $(DEMO_TRAIN_N) --seed $$(($(DEMO_SEED) + 1)) > $@.tmp && mv $@.tmp $@
$(D)/test.jsonl: | $(DEMO_GEN)
	@mkdir -p $(D)
	$(DEMO_GEN) --split test $(DEMO_TASK) --no-solution --unique --n $(DEMO_TEST_N) --seed $(DEMO_SEED) > $@.tmp && mv $@.tmp $@

# a fresh model whose byte-level tokenizer learns merges from the training text
$(D)/init/config.json: | $(DEMO_GEN)
	@mkdir -p $(D); rm -rf $(D)/init
	$(DEMO_GEN) --split train $(DEMO_TASK) --text --n 2000 --seed $(DEMO_SEED) > $(D)/merges.txt
	$(MRL_T)/minit $(DEMO_MODEL) -o $(D)/init --seed $(DEMO_SEED) --merges $(DEMO_MERGES) --merges-text $(D)/merges.txt

# SFT records: the prompt as msample renders it, the worked solution + EOS as the completion
$(D)/sft.jsonl.zst: $(D)/sft-problems.jsonl $(D)/init/config.json
	$(MRL_T)/mtok encode --model $(D)/init --template r1 --system '' -q $< \
	  | $(MRL_T)/mtok encode --model $(D)/init --field '.completion + "<｜end▁of▁sentence｜>"' --as completion_ids -q -o $@ \
	  || { rm -f $@; exit 1; }

# the warm start: resumes from $(D)/sft/latest, skipping the records it already trained on
$(D)/sft/done: $(D)/sft.jsonl.zst
	@s=$$(readlink $(D)/sft/latest 2>/dev/null | sed 's/.*step-0*//'); s=$${s:-0}; \
	if [ $$s -lt $(DEMO_SFT_STEPS) ]; then set -x; \
	  $(MRL_T)/mgrpo --model $(D)/init --out $(D)/sft --loss sft --groups $(DEMO_SFT_BATCH) \
	    --micro-batch $(DEMO_SFT_BATCH) --lr $(DEMO_SFT_LR) --schedule cosine --warmup 0.05 \
	    --total-steps $(DEMO_SFT_STEPS) --steps $$(($(DEMO_SFT_STEPS) - s)) --save-every 25 --keep 1 \
	    --resume-data $(DEMO_THR) -Z $< >> $(D)/sft.log; \
	fi
	@LC_ALL=C awk -F'"loss":' '{ split($$2, a, ","); l = a[1] } END { printf "sft: %d steps, last loss %.3f\n", NR, l }' $(D)/sft/metrics.jsonl
	@test -e $(D)/sft/latest && touch $@

# held-out scores: the same problems, seed and samples for both models
$(D)/eval-sft.jsonl.zst: $(D)/sft/done $(D)/test.jsonl
	$(DEMO_SAMPLE) --model $(D)/sft/latest -n $(DEMO_EVAL_N) --temperature $(DEMO_EVAL_TEMP) --seed $(DEMO_SEED) $(D)/test.jsonl \
	  | $(MRL_T)/mreward -q -o $@ || { rm -f $@; exit 1; }
$(D)/eval-grpo.jsonl.zst: $(D)/grpo/done $(D)/test.jsonl
	$(DEMO_SAMPLE) --model $(D)/grpo/latest -n $(DEMO_EVAL_N) --temperature $(DEMO_EVAL_TEMP) --seed $(DEMO_SEED) $(D)/test.jsonl \
	  | $(MRL_T)/mreward -q -o $@ || { rm -f $@; exit 1; }

# GRPO from the SFT model: msample | mreward | mgrpo, step by step (pipelines/grpo-loop.sh);
# DEMO_REWARD reaches it as given, quotes and all (mrl_shq, mrl_user: pipelines/exp.mk)
$(D)/grpo/done: $(D)/sft/done $(D)/train.jsonl
	RUN=$(D)/grpo MODEL=$$(readlink -f $(D)/sft/latest) DATA=$(D)/train.jsonl STEPS=$(DEMO_STEPS) \
	PROMPTS=$(DEMO_PROMPTS) G=$(DEMO_G) TEMP=$(DEMO_TEMP) MAX_TOKENS=$(DEMO_MAX_TOKENS) SYSTEM= \
	SEED=$(DEMO_SEED) SAVE_EVERY=$(DEMO_STEPS) THREADS=$(DEMO_THREADS) PERSIST=$(DEMO_PERSIST) BIN=$(MRL_T) \
	REWARD=$(call mrl_shq,$(call mrl_user,DEMO_REWARD) -q) \
	MGRPO_ARGS=$(call mrl_shq,--lr $(DEMO_LR) --beta $(DEMO_BETA) --micro-batch $(DEMO_MICRO) --temperature $(DEMO_TEMP)) \
	  pipelines/grpo-loop.sh
	@test "$$(readlink $(D)/grpo/latest)" = "$$(printf 'step-%06d' $(DEMO_STEPS))" && touch $@

$(D)/result.md: $(D)/eval-sft.jsonl.zst $(D)/eval-grpo.jsonl.zst
	{ echo "Held-out pass@1, $(DEMO_TEST_N) problems x $(DEMO_EVAL_N) samples (T=$(DEMO_EVAL_TEMP)); Δ = grpo - sft, * = 95% interval excludes 0" && \
	  echo && $(MRL_T)/meval --markdown --seed $(DEMO_SEED) sft=$(D)/eval-sft.jsonl.zst grpo=$(D)/eval-grpo.jsonl.zst && \
	  echo && echo "By level:" && echo && \
	  $(MRL_T)/meval --markdown --seed $(DEMO_SEED) --by '"level " + (.level|tostring)' sft=$(D)/eval-sft.jsonl.zst grpo=$(D)/eval-grpo.jsonl.zst; } > $@.tmp
	mv $@.tmp $@
	-@pipelines/plot.sh $(D)/grpo
