# pipelines: the experiment targets as `make -n` shows them, the missing-variable messages, and a
# tiny end-to-end exp2 run (a minit tiny stand-in model, 2 GRPO steps, then resumed to 3).

## exp2: the study's recipe, every hyperparameter on the command line of the loop
$ make -s -C "$ROOT" -n exp2 MODEL=m DATA=d BIN="$MRL_BIN"
>~ mfilter --max-tokens 512 --model m --template r1 --system @pipelines/open-rs-system\.txt d -o runs/exp2/data\.jsonl\.zst && echo "\$src" > runs/exp2/data\.source; fi$
>~ ^RUN=runs/exp2 MODEL=m DATA=runs/exp2/data\.jsonl\.zst STEPS=500 PROMPTS=12 G=6 TEMP=0\.7 TOP_P=1 MAX_TOKENS=3584 TEMPLATE=r1 SYSTEM="\$\(cat pipelines/open-rs-system\.txt\)" SEED=42 SAVE_EVERY=50 .*
>~ REWARD='[^']*/mreward -q --anchored --reward accuracy=2 --reward format=1 --reward language=0'
>~ MGRPO_ARGS='--loss bnpo --micro-batch 6 --lr 1e-6 --schedule cosine_with_min_lr --min-lr-rate 0\.1 --warmup 0\.1 --total-steps 500 --beta 0\.04 --epsilon 0\.2 --max-grad-norm 1\.0 --weight-decay 0 --adam-beta1 0\.9 --adam-beta2 0\.999 --adam-epsilon 1e-8 --grad-checkpoint'
>~ pipelines/grpo-loop\.sh$

## exp1 and exp3 run exp2's recipe but for the completion limit and the rewards (recipes/grpo.yaml,
## the one published, for all three), with the HF Trainer's AdamW constants the recipe leaves at
## their defaults given to mgrpo (they were mgrpo's defaults, which make -n did not show)
$ for e in exp1 exp2 exp3; do make -s -C "$ROOT" -n $e MODEL=m DATA=d BIN="$MRL_BIN" | grep '^RUN=' | sed "s/$e/expN/g; s/ MAX_TOKENS=[0-9]* / /; s/ REWARD='[^']*' / /"; done | uniq | wc -l
$ make -s -C "$ROOT" -n exp3 MODEL=m DATA=d BIN="$MRL_BIN" WEIGHT_DECAY=0.01 | grep -o -- '--weight-decay [^ ]* --adam-beta1 [^ ]* --adam-beta2 [^ ]* --adam-epsilon [^ ]*'
> 1
> --weight-decay 0.01 --adam-beta1 0.9 --adam-beta2 0.999 --adam-epsilon 1e-8

## STEPS= stops a run part way along the study's 500-step schedule (--total-steps was STEPS: STEPS=50 ran a 50-step cosine, not the warmup the released Open-RS2/3 ended on); TOTAL_STEPS= sets its length
$ make -s -C "$ROOT" -n exp2 MODEL=m DATA=d BIN="$MRL_BIN" STEPS=50 | grep -o 'STEPS=[0-9]*\|--total-steps [0-9]*' | tr '\n' ' '; echo
$ make -s -C "$ROOT" -n exp2 MODEL=m DATA=d BIN="$MRL_BIN" STEPS=50 TOTAL_STEPS=50 | grep -o -- '--total-steps [0-9]*'
> STEPS=50 --total-steps 500 
> --total-steps 50

## MGRPO_EXTRA adds options and keeps gradient checkpointing; GRAD_CKPT= turns it off
$ make -s -C "$ROOT" -n exp2 MODEL=m DATA=d BIN="$MRL_BIN" MGRPO_EXTRA='--temperature 0.7' | grep -o "MGRPO_ARGS='[^']*'" | grep -o -- '--max-grad-norm.*'
$ make -s -C "$ROOT" -n exp2 MODEL=m DATA=d BIN="$MRL_BIN" GRAD_CKPT= | grep -o "MGRPO_ARGS='[^']*'" | grep -o -- '--max-grad-norm.*'
> --max-grad-norm 1.0 --weight-decay 0 --adam-beta1 0.9 --adam-beta2 0.999 --adam-epsilon 1e-8 --grad-checkpoint --temperature 0.7'
> --max-grad-norm 1.0 --weight-decay 0 --adam-beta1 0.9 --adam-beta2 0.999 --adam-epsilon 1e-8'

## exp1 samples 4096 tokens, exp3 3584 with format=1 + cosine=2 at max_len 3584
$ make -s -C "$ROOT" -n exp1 MODEL=m DATA=d BIN="$MRL_BIN" | grep -o 'MAX_TOKENS=[0-9]*\|--reward [a-z0-9=:_]*' | tr '\n' ' '; echo
$ make -s -C "$ROOT" -n exp3 MODEL=m DATA=d BIN="$MRL_BIN" | grep -o 'MAX_TOKENS=[0-9]*\|--reward [a-z0-9=:_]*' | tr '\n' ' '; echo
> MAX_TOKENS=4096 --reward accuracy=2 --reward format=1 --reward language=0 
> MAX_TOKENS=3584 --reward format=1 --reward cosine=2:max_len=3584 --reward language=0 

## overrides: a MAX_TOKENS schedule, another reward stage, sharded sampling, a run directory
$ make -s -C "$ROOT" -n exp2 MODEL=m DATA=d BIN="$MRL_BIN" MAX_TOKENS=3584@0,4096@100 REWARD='mreward | python3 short.py' NGPU=4 DEVICE=cuda LR=2e-6 RUN=/tmp/r | grep -o "RUN=[^ ]*\|MAX_TOKENS=[^ ]*\|NGPU=[^ ]*\|DEVICE=[^ ]*\|REWARD='[^']*'\|--lr [^ ]*" | tr '\n' ' '; echo
> RUN=/tmp/r MAX_TOKENS=3584@0,4096@100 DEVICE=cuda NGPU=4 REWARD='mreward | python3 short.py' --lr 2e-6 

## every experiment's reward reads unboxed anchored answers as open-rs did (mreward --anchored)
$ for e in exp1 exp2 exp3; do make -s -C "$ROOT" -n $e MODEL=m DATA=d BIN="$MRL_BIN" | grep -o "REWARD='[^']*'" | grep -c -- ' --anchored '; done
> 1
> 1
> 1

## exp2 without MODEL= or DATA= says what is needed
$ make -s -C "$ROOT" exp2 BIN="$MRL_BIN" DATA=d 2>&1 | head -1; make -s -C "$ROOT" exp3 BIN="$MRL_BIN" MODEL=m 2>&1 | head -1
>~ ^exp2: MODEL= is required: a Hugging Face directory of DeepSeek-R1-Distill-Qwen-1.5B \(README: The Open-RS experiments\)$
>~ ^exp3: DATA= is required: problem records

## exp2, eval and data-exp2 before the tools are built say so (it was bash's "BIN/mfilter: No
## such file or directory" from the middle of a recipe)
$ for t in "exp2 MODEL=m DATA=d" "eval RUN=r BENCH_DIR=b" "data-exp2 OPEN_S1=a OPEN_DEEPSCALER=b DEEPSCALER=c"; do make -s -C "$ROOT" $t BIN="$PWD/none" 2>&1 | head -1 | sed "s|$PWD/||; s|^.*\*\*\* ||"; done
> exp2: none/mfilter is not built: run make first (or give BIN= the directory of the tools).  Stop.
> eval: none/mfilter is not built: run make first (or give BIN= the directory of the tools).  Stop.
> data-exp2: none/mfilter is not built: run make first (or give BIN= the directory of the tools).  Stop.

## data-exp2: three mfilter --take and a shuffle
$ make -s -C "$ROOT" -n data-exp2 BIN="$MRL_BIN" OPEN_S1=a OPEN_DEEPSCALER=b DEEPSCALER=c | grep -o 'mfilter [^|;}>]*' | sed 's|^ *||; s| *$||'
> mfilter --take 3000 --seed 42 -q -Z a
> mfilter --take 3000 --seed 43 -q -Z b
> mfilter --where 'true' --take 1000 --seed 44 -q -Z c
> mfilter --shuffle --seed 42 -q -o "$p"

## data-exp2: open-deepscaler is a subset of raw DeepScaleR; a record in both (same id and text) drew the same --take key in both takes (one seed), so the 1,000 raw picks that lie in open-deepscaler were all among its 3,000 picks: 527 of the 7,000 twice, where independent takes give about 75 (one draw per source: seeds SEED, SEED+1, SEED+2)
$ seq 1 18615 | awk '{ printf "{\"id\":\"s1-%d\",\"problem\":\"S1 problem %d\",\"answer\":\"%d\"}\n", $1, $1, $1 }' > s1.jsonl
$ seq 1 40315 | awk '{ printf "{\"id\":\"ds-%d\",\"problem\":\"Problem %d\",\"answer\":\"%d\"}\n", $1, $1, $1 }' > ds.jsonl
$ awk 'NR % 2 == 0 || NR % 19 == 1' ds.jsonl > ods.jsonl
$ make -s -C "$ROOT" data-exp2 BIN="$MRL_BIN" OPEN_S1=$PWD/s1.jsonl OPEN_DEEPSCALER=$PWD/ods.jsonl DEEPSCALER=$PWD/ds.jsonl MIX_OUT=$PWD/mix.jsonl.zst
$ zstd -dc mix.jsonl.zst | wc -l; zstd -dc mix.jsonl.zst | jq -r .id | sort | uniq -d | wc -l | awk '{ print ($1 < 150) ? "few repeats" : $1 " repeats" }'
> 7000
> few repeats

## data-exp2: a source with fewer problems than its take is an error naming it, and no mix file (--take kept all 300 easy problems: a mix of 6,300, not the study's 7,000, and status 0); MIX_EASY= asks for fewer
$ seq 1 3000 | awk '{ printf "{\"id\":\"s1-%d\",\"problem\":\"S1 problem %d\",\"answer\":\"%d\"}\n", $1, $1, $1 }' > s1.jsonl
$ seq 1 3000 | awk '{ printf "{\"id\":\"ds-%d\",\"problem\":\"Problem %d\",\"answer\":\"%d\",\"level\":%d}\n", $1, $1, $1, $1 % 10 }' > ds.jsonl
$ x() { make -s -C "$ROOT" data-exp2 BIN="$MRL_BIN" OPEN_S1=$PWD/s1.jsonl OPEN_DEEPSCALER=$PWD/ds.jsonl DEEPSCALER=$PWD/ds.jsonl EASY_WHERE='.level | IN(1, 11)' MIX_OUT=$PWD/mix/m.jsonl.zst "$@"; }
$ x 2>&1 | sed "s|$PWD/||; /^make/d"; ls -A mix
$ x MIX_EASY=300 && zstd -dc mix/m.jsonl.zst | wc -l; ls -A mix
> data-exp2: DEEPSCALER=ds.jsonl: 300 problems that pass EASY_WHERE, fewer than MIX_EASY=1000
> 6300
> m.jsonl.zst

## data-exp2 with an input that does not exist: an error, and no mix file (not even an empty one)
$ make -s -C "$ROOT" data-exp2 BIN="$MRL_BIN" OPEN_S1=$PWD/none OPEN_DEEPSCALER=$PWD/none DEEPSCALER=$PWD/none MIX_OUT=$PWD/mix/m.jsonl.zst 2>/dev/null; echo "rc=$?"; ls -A mix
> rc=2

## eval: the study's sampling settings; BENCH_DIR is required
$ make -s -C "$ROOT" -n eval BIN="$MRL_BIN" RUN=runs/x BENCH_DIR=b | tr -s '\n\\ ' ' ' | grep -o 'msample .*--seed 42' | head -1
$ make -s -C "$ROOT" -n eval BIN="$MRL_BIN" RUN=runs/x BENCH_DIR=b | grep -o 'mreward [^|]*\.jsonl\.zst\|^for b in [^;]*' | sort -u | sed 's| -o .*||'
$ make -s -C "$ROOT" eval BIN="$MRL_BIN" RUN=runs/x 2>&1 | head -1
> msample --model runs/x/latest -n 1 --temperature 0.6 --top-p 0.95 --max-tokens 32768 --template pipelines/math-query.tmpl --system '' --seed 42
> for b in aime24 math500 amc23 minerva_math olympiadbench
> mreward -q --lighteval
> eval: BENCH_DIR= is required: a directory of aime24.jsonl, math500.jsonl, amc23.jsonl, minerva_math.jsonl, olympiadbench.jsonl (README: The Open-RS experiments)

## a tiny exp2 end to end: 2 steps, then the same command with STEPS=3 continues from step 2
$ minit tiny -o m -q --seed 3
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\",\"answer\":\"$((2 * i))\"}"; done > p.jsonl
$ x() { make -s -C "$ROOT" exp2 BIN="$MRL_BIN" MODEL=$PWD/m DATA=$PWD/p.jsonl RUN=$PWD/run PROMPTS=2 G=2 MAX_TOKENS=6 MICRO_BATCH=4 EVAL_EVERY=0 GRAD_CKPT= THREADS=1 "$@" >/dev/null; }
$ x STEPS=2 && readlink run/latest && wc -l < run/metrics.jsonl
$ x STEPS=3 && readlink run/latest && wc -l < run/metrics.jsonl && ls -d run/step-* run/rollouts/*
$ zstd -dc run/rollouts/step-000003.jsonl.zst | jq -r '.id' | uniq -c | awk '{ print $1 }' | tr '\n' ' '; echo
$ x STEPS=3 && wc -l < run/metrics.jsonl
> step-000002
> 2
> step-000003
> 3
> run/rollouts/step-000001.jsonl.zst
> run/rollouts/step-000002.jsonl.zst
> run/rollouts/step-000003.jsonl.zst
> run/step-000003
> 2 2 
> 3

## grpo-loop.sh: validation at step 0 and every step, a best link, a MAX_TOKENS schedule, a jq reward stage, early stop on KL
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ head -2 p.jsonl > v.jsonl
$ export RUN=run MODEL=m DATA=p.jsonl STEPS=3 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 EVAL_EVERY=1 EVAL_DATA=v.jsonl EVAL_N=2 MAX_TOKENS=3@0,5@1 MGRPO_ARGS='--lr 1e-2'
$ export REWARD="mreward -Z -q | jq -c '.reward = (.completion_ids[0] % 2)'"
$ EARLY_STOP=kl=1e-12 "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>err || cat err
$ sed 's/KL [0-9.e-]* /KL x /' run/stopped
$ readlink run/latest; sed 's/.*"step":\([0-9]*\),.*"problems":\([0-9]*\),"k":\([0-9]*\),.*/\1 \2 \3/' run/val.jsonl
$ test -L run/best && echo best
$ for s in 1 2; do zstd -dc run/rollouts/step-00000$s.jsonl.zst | jq -s 'map(.completion_ids | length) | max'; done
$ "$ROOT/pipelines/grpo-loop.sh" 2>&1 | sed 's/KL [0-9.e-]* /KL x /'; readlink run/latest
> KL x at step 2 is above 1e-12
> step-000002
> 0 2 2
> 1 2 2
> 2 2 2
> best
> 3
> 5
> grpo-loop: run stopped early: KL x at step 2 is above 1e-12
> step-000002

## the demo's stages end to end in miniature (a few SFT and GRPO steps): the before/after table
$ cc -O2 -o gen "$ROOT/testdata/gen_arith.c"
$ make -s -C "$ROOT" "$PWD/d/result.md" DEMO_DIR="$PWD/d" DEMO_GEN="$PWD/gen" BIN="$MRL_BIN" DEMO_SFT_STEPS=3 DEMO_SFT_BATCH=8 DEMO_STEPS=2 DEMO_PROMPTS=2 DEMO_G=2 DEMO_TEST_N=6 DEMO_EVAL_N=2 DEMO_TRAIN_N=20 DEMO_MERGES=20 >/dev/null 2>err || cat err
$ readlink d/sft/latest d/grpo/latest; sed -n 3p d/result.md | tr -s ' ' | cut -d'|' -f2-4,5,9
> step-000003
> step-000002
>  bench | problems | k | sft pass@1 | grpo pass@1 

## make demo: a count that is not a whole number above 0 is named before anything is built or run
## (DEMO_STEPS=0 ended with status 2 and no word; DEMO_SFT_STEPS=abc in a shell's and awk's complaints)
$ for v in DEMO_STEPS=0 DEMO_SFT_STEPS=abc DEMO_G=8x; do make -s -C "$ROOT" demo DEMO_DIR="$PWD/d" BIN="$MRL_BIN" "$v" 2>&1 | grep -v '^make'; done; ls | wc -l
> demo: DEMO_STEPS=0: not a whole number above 0
> demo: DEMO_SFT_STEPS=abc: not a whole number above 0
> demo: DEMO_G=8x: not a whole number above 0
> 0

## make demo on a DEMO_DIR made with other settings is refused before anything runs, naming what
## changed (DEMO_SEED=2 after a seed-1 demo printed the seed-1 table again without a word); the
## same settings, another BIN= among them, go on; a demo directory without settings takes them,
## and so does one where no stage has left a file yet (a first demo stopped before any)
$ make -s -C "$ROOT" demo-settings DEMO_DIR="$PWD/d" BIN="$MRL_BIN" DEMO_SEED=7 && make -s -C "$ROOT" demo-settings DEMO_DIR="$PWD/d" BIN="$MRL_BIN"
$ make -s -C "$ROOT" demo-settings DEMO_DIR="$PWD/d" BIN=/elsewhere && echo same && touch d/train.jsonl
$ make -s -C "$ROOT" demo DEMO_DIR="$PWD/d" BIN="$MRL_BIN" DEMO_SEED=2 DEMO_EVAL_TEMP=0.6 2>&1 | grep -v '^make' | sed "s|$PWD|T|"; ls d
> same
> demo: T/d was made with other settings:
>   then: DEMO_SEED=1
>   now:  DEMO_SEED=2
>   then: DEMO_EVAL_TEMP=1.0
>   now:  DEMO_EVAL_TEMP=0.6
> demo: make demo-clean first, or give another DEMO_DIR=
> settings
> train.jsonl

## make exp2: a DATA, SYSTEM_FILE or MODEL that is not there is named before the run directory is
## made (DATA=/nonexist was "/bin/bash: line 1: /nonexist: No such file or directory")
$ minit tiny -o m -q; echo '{"id":"a","problem":"x","answer":"1"}' > d.jsonl
$ x() { make -s -C "$ROOT" exp2 RUN="$PWD/run" BIN="$MRL_BIN" STEPS=1 "$@" 2>&1 | grep -v '^make' | sed "s|$PWD|T|g"; }
$ x DATA="$PWD/nonexist" MODEL="$PWD/m"; x DATA="$PWD/d.jsonl" MODEL="$PWD/none"; x DATA="$PWD/d.jsonl" MODEL="$PWD/m" SYSTEM_FILE=none.txt; test -e run || echo "no run"
> exp2: DATA=T/nonexist: T/nonexist is not a readable file
> exp2: MODEL=T/none: no config.json there (MODEL= is a model directory)
> exp2: SYSTEM_FILE=none.txt is not a readable file (/dev/null: no system prompt)
> no run

## table2.sh: a scores file that is missing (or a directory) is named, and nothing goes to stdout
## (the paper's rows were printed before the error); - is standard input
$ mkdir dir; for f in nonexist dir; do "$ROOT/pipelines/table2.sh" $f; echo "rc $?"; done
$ echo '{"bench":"aime24","pass@1":0.5,"problems":1,"k":1}' | "$ROOT/pipelines/table2.sh" - x | grep -c '^| x | 50.0'
> rc 2
> rc 2
> 1
2> table2.sh: nonexist: not a readable file
2> table2.sh: dir: not a readable file

## the demo's table: a failing meval fails the target, and no result.md is made without its
## first table (only the last command's status counted)
$ mkdir -p d fb && for t in "$MRL_BIN"/*; do ln -s "$t" fb/; done && rm fb/meval
$ printf '#!/bin/sh\ncase " $* " in *" --by "*) exec "%s/meval" "$@";; esac\necho "meval: broken" >&2; exit 1\n' "$MRL_BIN" > fb/meval && chmod +x fb/meval
$ for r in sft grpo; do printf '{"id":"p1","sample":0,"correct":true,"level":1}\n' | zstd -q > d/eval-$r.jsonl.zst; done
$ make -s -C "$ROOT" -o "$PWD/d/eval-sft.jsonl.zst" -o "$PWD/d/eval-grpo.jsonl.zst" "$PWD/d/result.md" DEMO_DIR="$PWD/d" BIN="$PWD/fb" > /dev/null 2>&1; echo $?
$ ls d/result.md 2>&1 | sed 's/.*No such.*/none/'
> 2
> none

## gen_arith: train and held-out problems never share a text; --unique has no repeats; --noise is the wrong-answer rate
$ cc -O2 -o gen "$ROOT/testdata/gen_arith.c"
$ ./gen --n 3000 --split train --no-solution | jq -r .problem | sort -u > a; ./gen --n 500 --split test --unique | jq -r .problem > b
$ comm -12 a <(sort -u b) | wc -l; sort b | uniq -d | wc -l; wc -l < b
$ ./gen --n 4000 --noise 0.25 --seed 3 | jq -r '(.completion | capture("boxed\\{(?<x>-?[0-9]+)\\}").x) != .answer' | sort | uniq -c | awk '{ print $2, (($1 > 900 && $1 < 1100) || $1 > 2900) }'
$ ./gen --n 5 --levels 5; echo "status $?"; ./gen --bogus; echo "status $?"
> 0
> 0
> 500
> false 1
> true 1
> status 2
> status 2
2~ ^gen_arith: bad --levels
2~ ^usage: gen_arith \[--n N\]

## make eval: five benchmarks (3 problems each) scored into the Table-2 layout under the paper's rows
% requires $SHARED/data/bench/aime24.jsonl
$ mkdir bench; for b in aime24 math500 amc23 minerva_math olympiadbench; do head -3 "$SHARED/data/bench/$b.jsonl" > bench/$b.jsonl; done
$ minit tiny -o m -q
$ make -s -C "$ROOT" eval CKPT="$PWD/m" RUN="$PWD/run" BENCH_DIR="$PWD/bench" BIN="$MRL_BIN" EVAL_MAX_TOKENS=4 EVAL_K=2 | sed -n '1p;7p' | sed "s|$PWD|T|"
$ ls run/eval/m | tr '\n' ' '; echo; jq -s 'map(.problems) | add' run/eval/m/scores.jsonl
$ zstd -dc run/eval/m/aime24.jsonl.zst | wc -l
$ make -s -C "$ROOT" eval CKPT="$PWD/m" RUN="$PWD/run" BENCH_DIR="$PWD/bench" BIN="$MRL_BIN" EVAL_MAX_TOKENS=4 EVAL_K=1 >/dev/null
$ zstd -dc run/eval/m/aime24.jsonl.zst | wc -l
> | Model | AIME24 | MATH-500 | AMC23 | Minerva | OlympiadBench | Avg |
> | T/m | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 |
> aime24.jsonl.zst aime24.src amc23.jsonl.zst amc23.src math500.jsonl.zst math500.src minerva_math.jsonl.zst minerva_math.src olympiadbench.jsonl.zst olympiadbench.src scores.jsonl settings table.md 
> 15
> 6
> 3

## make eval RUN= without STEP=: the table's row names the step it scored (RUN/step-N, as the
## directory it is in), not RUN/latest, which has moved on by the time the table is read
% requires $SHARED/data/bench/aime24.jsonl
$ mkdir bench run; for b in aime24 math500 amc23 minerva_math olympiadbench; do head -1 "$SHARED/data/bench/$b.jsonl" > bench/$b.jsonl; done
$ minit tiny -o run/step-000003 -q; ln -s step-000003 run/latest
$ make -s -C "$ROOT" eval RUN="$PWD/run" BENCH_DIR="$PWD/bench" BIN="$MRL_BIN" EVAL_MAX_TOKENS=4 | sed -n '7p' | sed "s|$PWD|T|"
$ ls run/eval
> | T/run/step-000003 | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 |
> step-000003

## make eval: STEP= in base 10 (010 was octal, step 8), one that is not a whole number refused (abc
## scored step-000000 after printf's complaint, 3x step 3), and a run or step without a model is
## named before anything is made (a missing RUN got RUN/eval/latest/settings)
% requires $SHARED/data/bench/aime24.jsonl
$ mkdir bench run; for b in aime24 math500 amc23 minerva_math olympiadbench; do head -1 "$SHARED/data/bench/$b.jsonl" > bench/$b.jsonl; done
$ minit tiny -o run/step-000010 -q
$ e() { make -s -C "$ROOT" eval RUN="$PWD/$1" BENCH_DIR="$PWD/bench" BIN="$MRL_BIN" EVAL_MAX_TOKENS=2 "${@:2}" 2>&1 >/dev/null | sed "s|$PWD|T|; /^make/d"; }
$ e run STEP=010; ls run/eval; e run STEP=abc; e run STEP=3x; e nonexist; e run STEP=9; ls nonexist run/eval 2>&1 | sed 's/^ls: //'
> step-000010
> eval: STEP=abc: not a whole number
> eval: STEP=3x: not a whole number
> eval: T/nonexist/latest/config.json: no such file (RUN= a run directory, with STEP=N one of its step-N; CKPT= a model directory)
> eval: T/run/step-000009/config.json: no such file (RUN= a run directory, with STEP=N one of its step-N; CKPT= a model directory)
> cannot access 'nonexist': No such file or directory
> run/eval:
> step-000010

## make eval: a BENCH_DIR without one of the benchmarks stops before any is sampled, naming it (the
## ones before it were sampled first, hours with the real model, and then "msample:
## BENCH_DIR/math500.jsonl.zst: No such file or directory"); a BENCH_DIR that is a file likewise
% requires $SHARED/data/bench/aime24.jsonl
$ mkdir bench; head -1 "$SHARED/data/bench/aime24.jsonl" > bench/aime24.jsonl
$ minit tiny -o m -q
$ make -s -C "$ROOT" eval CKPT="$PWD/m" RUN="$PWD/run" BENCH_DIR="$PWD/bench" BIN="$MRL_BIN" EVAL_MAX_TOKENS=4 2>&1 >/dev/null | sed "s|$PWD|T|; /^make/d"; ls run/eval/m 2>/dev/null | wc -l
$ make -s -C "$ROOT" eval CKPT="$PWD/m" RUN="$PWD/run" BENCH_DIR="$PWD/bench/aime24.jsonl" BIN="$MRL_BIN" EVAL_MAX_TOKENS=4 2>&1 >/dev/null | sed "s|$PWD|T|; /^make/d"
> eval: BENCH_DIR=T/bench has no math500.jsonl (nor math500.jsonl.zst); BENCHES= names the benchmarks to score
> 0
> eval: BENCH_DIR=T/bench/aime24.jsonl is not a directory (one holding aime24.jsonl, math500.jsonl, ...)

## make eval: another model in a directory of the same name samples again (it was scored with the
## first model's files, under the second's name)
% requires $SHARED/data/bench/aime24.jsonl
$ mkdir bench a b; for b in aime24 math500 amc23 minerva_math olympiadbench; do head -1 "$SHARED/data/bench/$b.jsonl" > bench/$b.jsonl; done
$ minit tiny -o a/m -q; minit tiny -o b/m -q --seed 1
$ x() { make -s -C "$ROOT" eval CKPT="$PWD/$1/m" RUN="$PWD/run" BENCH_DIR="$PWD/bench" BIN="$MRL_BIN" EVAL_MAX_TOKENS=4 >/dev/null; }
$ x a && x b && zstd -dc run/eval/m/aime24.jsonl.zst | jq -r .policy.path | sed "s|$PWD|T|"
> T/b/m

## make eval: a benchmark file edited in place is sampled again, the others not (the settings name
## BENCH_DIR, not what is in it: the old scores and table were read again); scores made before the
## checksums were kept are taken as they are, not sampled again
% requires $SHARED/data/bench/aime24.jsonl
$ mkdir bench; for b in aime24 math500 amc23 minerva_math olympiadbench; do head -1 "$SHARED/data/bench/$b.jsonl" > bench/$b.jsonl; done
$ minit tiny -o m -q
$ x() { make -s -C "$ROOT" eval CKPT="$PWD/m" RUN="$PWD/run" BENCH_DIR="$PWD/bench" BIN="$MRL_BIN" EVAL_MAX_TOKENS=4 >/dev/null; }
$ x && touch -d '2000-01-01' run/eval/m/*.jsonl.zst && head -2 "$SHARED/data/bench/aime24.jsonl" > bench/aime24.jsonl && x
$ for b in aime24 math500; do echo "$b $(zstd -dc run/eval/m/$b.jsonl.zst | wc -l) $(find run/eval/m/$b.jsonl.zst -newermt 2001-01-01 | wc -l)"; done
$ jq -c 'select(.bench == "aime24") | .problems' run/eval/m/scores.jsonl
$ rm run/eval/m/*.src && touch -d '2000-01-01' run/eval/m/*.jsonl.zst && x && find run/eval/m -name '*.jsonl.zst' -newermt 2001-01-01 | wc -l; ls run/eval/m/*.src | wc -l
> aime24 2 1
> math500 1 0
> 2
> 0
> 5

## make eval: a benchmark whose sampling fails leaves no scored file and fails the target
% requires $SHARED/data/bench/aime24.jsonl
$ mkdir bench; for b in aime24 math500 amc23 minerva_math olympiadbench; do head -3 "$SHARED/data/bench/$b.jsonl" > bench/$b.jsonl; done
$ sed -i '2s/.*/{"id":"broken"}/' bench/aime24.jsonl
$ minit tiny -o m -q
$ make -s -C "$ROOT" eval CKPT="$PWD/m" RUN="$PWD/run" BENCH_DIR="$PWD/bench" BIN="$MRL_BIN" EVAL_MAX_TOKENS=4 >/dev/null 2>&1; echo "rc $?"; ls run/eval/m
> rc 2
> settings

## make eval: new settings whose sampling fails leave no scores or table of the old settings behind
## (scores.jsonl and table.md of k=1 stayed beside a settings file that said k=2)
% requires $SHARED/data/bench/aime24.jsonl
$ mkdir bench; for b in aime24 math500 amc23 minerva_math olympiadbench; do head -1 "$SHARED/data/bench/$b.jsonl" > bench/$b.jsonl; done
$ minit tiny -o m -q
$ x() { make -s -C "$ROOT" eval CKPT="$PWD/m" RUN="$PWD/run" BENCH_DIR="$PWD/bench" BIN="$MRL_BIN" EVAL_MAX_TOKENS=4 "$@" >/dev/null 2>&1; }
$ x && echo '{"id":"broken"}' > bench/aime24.jsonl && x EVAL_K=2; echo "rc $?"; ls run/eval/m | tr '\n' ' '; echo
> rc 2
> settings 

## grpo-loop.sh: NGPU=2 samples in two shards (--shard K/2, here CPU processes) whose groups are concatenated
$ minit tiny -o m -q --seed 5
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ RUN=run MODEL=m DATA=p.jsonl STEPS=1 PROMPTS=4 G=3 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=4 NGPU=2 DEVICE=cpu "$ROOT/pipelines/grpo-loop.sh" >/dev/null
$ zstd -dc run/rollouts/step-000001.jsonl.zst | jq -r .id | uniq -c | awk '{ print $1 }' | tr '\n' ' '; echo
$ zstd -dc run/rollouts/step-000001.jsonl.zst | jq -r .id | sort -u | wc -l; ls run
> 3 3 3 3 
> 4
> latest
> metrics.jsonl
> problems.jsonl
> rollouts
> slices
> step-000001

## exp's prompt filter counts the prompt msample renders (the study's system prompt, r1 template)
# 491 by hand: minit's tokenizer without merges is one token per byte except added tokens; the
# 500-byte system text holds <think> and </think> twice each (30 bytes, 4 tokens): 474; plus BOS,
# <｜User｜>, the 12 bytes of the problem, <｜Assistant｜>, <think> and "\n": 474 + 17 = 491.
$ minit tiny -o m -q
$ echo '{"id":"a","problem":"What is 1+1?","answer":"2"}' > q.jsonl
$ msample --model m -n 1 --max-tokens 1 --system @"$ROOT/pipelines/open-rs-system.txt" -Z q.jsonl | jq '.prompt_ids | length'
$ for n in 490 491; do make -s -C "$ROOT" exp2 BIN="$MRL_BIN" MODEL="$PWD/m" DATA="$PWD/q.jsonl" RUN="$PWD/r$n" MAX_PROMPT=$n STEPS=0 PROMPTS=1 EVAL_EVERY=0 >/dev/null 2>&1; zstd -dc r$n/data.jsonl.zst | wc -l; done
> 491
> 0
> 1

## exp's prompt filter says how many problems it dropped: when it drops all of them (a stand-in
## model's byte-level tokenizer makes long prompts), the loop's "0 problems" has its reason (mfilter
## ran with -q, so the loop's error was all a user saw)
$ minit tiny -o m -q
$ echo '{"id":"a","problem":"What is 1+1?","answer":"2"}' > q.jsonl
$ make -s -C "$ROOT" exp2 BIN="$MRL_BIN" MODEL="$PWD/m" DATA="$PWD/q.jsonl" RUN="$PWD/r" MAX_PROMPT=490 STEPS=1 PROMPTS=1 EVAL_EVERY=0 >/dev/null; echo "rc $?"
> rc 2
2~ ^mfilter: --max-tokens: 1 record dropped \(prompt over 490 tokens\)$
2~ ^grpo-loop: .*/r/data\.jsonl\.zst has 0 problems, fewer than PROMPTS=1$

## exp2 with a BENCH_DIR of zstd files validates on its amc23.jsonl.zst, as make eval reads it (msample was handed amc23.jsonl: "No such file or directory"); a missing EVAL_DATA stops the loop before it samples, also when no validation is due at the start
$ minit tiny -o m -q
$ echo '{"id":"a","problem":"What is 1+1?","answer":"2"}' > q.jsonl
$ mkdir bench; zstd -q -o bench/amc23.jsonl.zst q.jsonl
$ make -s -C "$ROOT" exp2 BIN="$MRL_BIN" MODEL="$PWD/m" DATA="$PWD/q.jsonl" RUN="$PWD/r" BENCH_DIR="$PWD/bench" STEPS=0 PROMPTS=1 EVAL_N=1 MAX_TOKENS=2 >/dev/null 2>&1; echo "rc $?"; ls r/evals
$ export RUN=r2 MODEL=m DATA=q.jsonl PROMPTS=1 G=2 MAX_TOKENS=2 THREADS=1 BIN="$MRL_BIN"
$ STEPS=1 "$ROOT/pipelines/grpo-loop.sh" >/dev/null && STEPS=2 EVAL_EVERY=25 EVAL_DATA=bench/amc23.jsonl "$ROOT/pipelines/grpo-loop.sh"; echo "rc $?"; readlink r2/latest
> rc 0
> step-000000.json
> step-000000.jsonl.zst
> rc 2
> step-000001
2> grpo-loop: EVAL_DATA=bench/amc23.jsonl: no such file

## under a locale with a decimal comma (de_DE, made here with localedef) the loop runs (bash's printf refused the first step's "0.500" and the loop died after every step) and table2.sh prints the scores (awk read 0.854 as 0: every cell 0,0)
% requires /usr/share/i18n/locales/de_DE
% requires /usr/bin/localedef
$ mkdir loc; localedef -i de_DE -f UTF-8 loc/de_DE.UTF-8 >/dev/null 2>&1; test -e loc/de_DE.UTF-8/LC_NUMERIC && export LOCPATH=$PWD/loc LC_ALL=de_DE.UTF-8 && printf '%s\n' "$(awk 'BEGIN { print 0.5 }')"
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ RUN=run MODEL=m DATA=p.jsonl STEPS=2 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=3 REWARD="$MRL_BIN/mreward -Z -q | jq -c '.reward = 0.5'" "$ROOT/pipelines/grpo-loop.sh" >out 2>&1; echo "rc $?"; cut -c1-22 out
$ printf '{"bench":"aime24","problems":30,"k":1,"pass@1":0.3}\n{"bench":"math500","problems":500,"k":1,"pass@1":0.854}\n' > s.jsonl
$ "$ROOT/pipelines/table2.sh" s.jsonl x | grep '^| x'
> 0,5
> rc 0
> step 1  reward 0.500  
> step 2  reward 0.500  
> | x | 30.0 | 85.4 | – | – | – | – |

## make plot: a PNG of a run's metrics (reward, accuracy, length, KL per step); the same panels as
## text (plot.sh RUN -) show the data: the reward panel's axis runs 1 to 3 (a tick 2.5 opens a
## line), and an SFT run (no reward, no KL) gets its reward and accuracy panels empty with a word
## and its loss where the KL was (gnuplot skipped the empty plots and the panels moved up a place)
% requires /usr/bin/gnuplot
$ mkdir run sft; for i in 1 2 3; do echo "{\"step\":$i,\"loss\":0.1,\"kl\":0.0$i,\"reward_mean\":$i,\"rewards\":{\"accuracy\":0.$i},\"completion_len_mean\":1$i}" >> run/metrics.jsonl; done
$ for i in 1 2 3; do echo "{\"step\":$i,\"loss\":$((4 - i)),\"kl\":null,\"reward_mean\":null,\"rewards\":{},\"completion_len_mean\":2$i}" >> sft/metrics.jsonl; done
$ make -s -C "$ROOT" plot RUN="$PWD/run" | sed "s|$PWD|T|"
$ head -c 8 run/metrics.png | od -An -c | tr -s ' '
$ P="$ROOT/pipelines/plot.sh"; "$P" run - > run.txt; "$P" sft - > sft.txt
$ grep -cE '^ +2\.5 \|' run.txt; grep -c 'KL to the reference' run.txt; grep -o 'none in this run' run.txt | wc -l
$ grep -o 'none in this run' sft.txt | wc -l; grep -cE '^ +reward \(mean\) +accuracy' sft.txt; grep -cE 'completion length \(tokens\) +loss' sft.txt
> plot: T/run/metrics.png
>  211 P N G \r \n 032 \n
> 1
> 1
> 0
> 2
> 1
> 1

## make plot without RUN= says so
$ out=$(make -s -C "$ROOT" plot 2>&1); echo "status $?"; echo "$out" | head -1
> status 2
> plot: RUN= is required (a run directory with metrics.jsonl)

## grpo-loop.sh: a reward stage that fails part way stops the loop before mgrpo takes a step, and
## the loop names the step (the stage's own message names only <stdin>)
$ minit tiny -o m -q --seed 5
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ RUN=run MODEL=m DATA=p.jsonl STEPS=2 PROMPTS=4 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=4 REWARD="$MRL_BIN/mreward -Z -q | { head -n 4; exit 1; }" "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>err; echo "rc $?"
$ ls run | grep -c step-; test -e run/latest || echo "no latest"; sed "s|$PWD/||" err
> rc 1
> 0
> no latest
> grpo-loop: step 1: sampling or the reward stage failed (exit 1): <stdin> above is this step's rollouts, of the problems in run/.slice.jsonl

## grpo-loop.sh: a reward stage that is a pipeline fails when any of its commands fails, not only its last (mreward ... | jq took a step on the 2 of 4 groups that got through, or said "no records to train on" where mreward failed at once)
$ minit tiny -o m -q --seed 5
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ export RUN=run MODEL=m DATA=p.jsonl STEPS=1 PROMPTS=4 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=4
$ REWARD="$MRL_BIN/mreward -Z -q | { head -n 4; exit 1; } | jq -c ." "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $?"; test -e run/latest || echo "no latest"
$ REWARD="$MRL_BIN/mreward -Z -q --reward nosuch=1 | jq -c ." "$ROOT/pipelines/grpo-loop.sh" 2>&1 >/dev/null | head -n 1; test -e run/latest || echo "no latest"
> rc 1
> no latest
> mreward: --reward nosuch=1: unknown reward 'nosuch' (accuracy, format, tags, cosine, repetition, length, overlong, language, regex)
> no latest

## grpo-loop.sh PERSIST=1: one mgrpo for the loop (--batches-from, the policy as RUN/policy) takes the steps of the default loop bit for bit; a best step without a checkpoint keeps its snapshot (best-N); a fail in the reward stage still checkpoints the steps taken
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ head -2 p.jsonl > v.jsonl
$ mkdir bin; for t in msample mgrpo meval mfilter; do ln -s "$MRL_BIN/$t" bin/$t; done
$ # validation's mreward: the third call (step 2) scores every sample correct, so best moves there
$ printf '#!/bin/sh\nn=$(($(cat calls 2>/dev/null || echo 0) + 1)); echo $n > calls\n%s "$@" || exit\nf=$(echo "$@" | sed "s/.*-o //")\nif [ $n = 3 ]; then zstd -dc "$f" | jq -c ".correct = true" | zstd -q > "$f.x" && mv "$f.x" "$f"; fi\n' "$MRL_BIN/mreward" > bin/mreward; chmod +x bin/mreward
$ export MODEL=m DATA=p.jsonl STEPS=4 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN=$PWD/bin THREADS=1 EVAL_EVERY=1 EVAL_DATA=v.jsonl EVAL_N=2 MAX_TOKENS=3@0,5@1 SAVE_EVERY=3 MGRPO_ARGS='--lr 1e-2'
$ export REWARD="$MRL_BIN/mreward -Z -q | jq -c '.reward = (.completion_ids[0] % 2)'"
$ RUN=ra "$ROOT/pipelines/grpo-loop.sh" >oa 2>/dev/null || echo "default loop failed"
$ rm calls; RUN=rb PERSIST=1 "$ROOT/pipelines/grpo-loop.sh" >ob 2>/dev/null || echo "persistent loop failed"
$ cut -c1-40 ob | cmp - <(cut -c1-40 oa) && wc -l < ob
$ for f in latest/model.safetensors latest/optimizer.safetensors best/model.safetensors val.jsonl; do cmp ra/$f rb/$f || echo "$f differs"; done
$ diff <(jq -c 'del(.seconds, .tokens_per_s)' ra/metrics.jsonl) <(jq -c 'del(.seconds, .tokens_per_s)' rb/metrics.jsonl) && ls rb | grep -v json | tr '\n' ' '; echo
$ readlink ra/best rb/best rb/policy
$ RUN=rb PERSIST=1 STEPS=7 REWARD="if [ -e once ]; then exit 1; fi; touch once; $REWARD" "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $?"; readlink rb/latest
> 4
> best best-000002 evals latest policy policy-000004 rollouts slices step-000003 step-000004 
> step-000002
> best-000002
> policy-000004
> rc 1
> step-000005

## grpo-loop.sh PERSIST=1: Ctrl-C (SIGINT to the process group, here sent by the reward stage of step 4) ends the loop with 130, mgrpo checkpoints the 3 steps taken, and the loop run again ends on the weights of a run never stopped, without the stop's checkpoint
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ printf '#!/bin/sh\nn=$(($(cat calls 2>/dev/null || echo 0) + 1)); echo $n > calls\nif [ -e stop ] && [ $n = 4 ]; then kill -INT 0; sleep 5; fi\n%s -Z -q | jq -c ".reward = (.completion_ids[0] %% 2)"\n' "$MRL_BIN/mreward" > rw; chmod +x rw
$ export MODEL=m DATA=p.jsonl STEPS=6 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=5 SAVE_EVERY=100 MGRPO_ARGS='--lr 1e-2' PERSIST=1 REWARD=./rw
$ RUN=ra "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 || echo "the straight run failed"
$ rm calls; touch stop; RUN=rb setsid -w "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>err; echo "rc $?"; readlink rb/latest; tail -n 1 err
$ rm stop; RUN=rb "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; readlink rb/latest; cmp ra/latest/model.safetensors rb/latest/model.safetensors && echo same
$ # the checkpoint of the stop (step 3) goes once latest moves past it, as in the default loop (it stayed)
$ ls -d rb/step-*
> rc 130
> step-000003
> grpo-loop: interrupted; mgrpo checkpointed the steps it took (run the loop again to go on)
> step-000006
> same
> rb/step-000006

## grpo-loop.sh PERSIST=1 with mgrpo --iterations 2: the weights and step directories of the default loop (mgrpo's checkpoint at step 4, past SAVE_EVERY=3, goes once latest moves on; the loop pruned while mgrpo still wrote it, and kept it or, read between its rename and latest's move, removed it)
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ export MODEL=m DATA=p.jsonl STEPS=8 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=5 SAVE_EVERY=3 MGRPO_ARGS='--lr 1e-2 --iterations 2'
$ export REWARD="$MRL_BIN/mreward -Z -q | jq -c '.reward = (.completion_ids[0] % 2)'"
$ RUN=ra "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 || echo "default loop failed"
$ RUN=rb PERSIST=1 "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 || echo "persistent loop failed"
$ cmp ra/latest/model.safetensors rb/latest/model.safetensors && echo same; ls -d ra/step-* rb/step-*
> same
> ra/step-000006
> ra/step-000008
> rb/step-000006
> rb/step-000008

## grpo-loop.sh with mgrpo --iterations 2: each batch takes the next slice of the problems (the
## slice followed the optimizer step, so K = 2 skipped every other slice: 8 problems, 3 batches of
## 2 gave p at offsets 0, 4, 0 — 4 distinct problems, one slice twice), in the default loop and PERSIST
% requires /usr/bin/jq
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4 5 6 7 8; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ export MODEL=m DATA=p.jsonl STEPS=6 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=3 SAVE_EVERY=1 MGRPO_ARGS='--lr 1e-2 --iterations 2'
$ RUN=ra "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 || echo "default loop failed"
$ RUN=rb PERSIST=1 "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 || echo "persistent loop failed"
$ for r in ra rb; do zstdcat $r/rollouts/*.zst | jq -r .id | sort -u | wc -l; done
> 6
> 6

## grpo-loop.sh with mgrpo --iterations 2: mgrpo's log-probs are of logits / TEMP, as the records'
## logprobs it takes for the old policy (they were at mgrpo's default 1, so the first update's
## ratio was pi_1 / pi_0.7, not 1); a --temperature in MGRPO_ARGS decides; K = 1 keeps mgrpo's 1
% requires /usr/bin/jq
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ export MODEL=m DATA=p.jsonl PROMPTS=2 G=2 TEMP=0.7 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=3 STEPS=2
$ RUN=a MGRPO_ARGS='--iterations 2' "$ROOT/pipelines/grpo-loop.sh" >/dev/null
$ RUN=b MGRPO_ARGS='--iterations 2 --temperature 1' "$ROOT/pipelines/grpo-loop.sh" >/dev/null
$ RUN=c "$ROOT/pipelines/grpo-loop.sh" >/dev/null
$ for r in a b c; do jq '.objective.temperature * 100 | round' $r/latest/trainer_state.json; done
> 70
> 100
> 100

## grpo-loop.sh with mgrpo --iterations 2 and STEPS=3: the loop stops before its first stage (a batch is never split: it ended at step 4, past STEPS); from step 2, STEPS=4 goes on
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ export RUN=run MODEL=m DATA=p.jsonl PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=3 MGRPO_ARGS='--lr 1e-2 --iterations 2'
$ STEPS=3 "$ROOT/pipelines/grpo-loop.sh" >/dev/null; echo "rc $?"; ls run | grep -c step-
$ STEPS=2 "$ROOT/pipelines/grpo-loop.sh" >/dev/null && STEPS=5 "$ROOT/pipelines/grpo-loop.sh" >/dev/null; echo "rc $?"; readlink run/latest
$ STEPS=4 MGRPO_ARGS='--lr 1e-2 --iterations=2' "$ROOT/pipelines/grpo-loop.sh" >/dev/null; echo "rc $?"; readlink run/latest
> rc 2
> 0
> rc 2
> step-000002
> rc 0
> step-000004
2~ ^grpo-loop: STEPS=3: mgrpo --iterations 2 takes 2 optimizer steps per batch, so from step 0 the run would end at step 4, past STEPS \(STEPS - 0 must be a multiple of 2\)$
2~ ^grpo-loop: STEPS=5: mgrpo --iterations 2 takes 2 optimizer steps per batch, so from step 2 the run would end at step 6, past STEPS

## a run started again with another DATA stops with an error (it went on silently with the shuffled problems of the first DATA); the same records compressed go on; make exp2 says the same of its filtered data.jsonl.zst
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ sed 's/+ 1/+ 2/' p.jsonl > q.jsonl; zstd -q p.jsonl
$ export RUN=run MODEL=m PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=3
$ DATA=p.jsonl STEPS=1 "$ROOT/pipelines/grpo-loop.sh" >/dev/null && DATA=q.jsonl STEPS=2 "$ROOT/pipelines/grpo-loop.sh"; echo "rc $?"; readlink run/latest
$ DATA=p.jsonl.zst STEPS=2 "$ROOT/pipelines/grpo-loop.sh" >/dev/null; echo "rc $?"; readlink run/latest
$ unset RUN; x() { make -s -C "$ROOT" exp2 BIN="$MRL_BIN" MODEL="$PWD/m" RUN="$PWD/e" PROMPTS=2 G=2 MAX_TOKENS=3 MICRO_BATCH=4 EVAL_EVERY=0 GRAD_CKPT= THREADS=1 "$@" >/dev/null; }
$ x DATA="$PWD/p.jsonl" STEPS=1 && x DATA="$PWD/q.jsonl" STEPS=2; echo "rc $?"; x DATA="$PWD/p.jsonl.zst" STEPS=2; echo "rc $?"; readlink e/latest
> rc 2
> step-000001
> rc 0
> step-000002
> rc 2
> rc 0
> step-000002
2~ ^grpo-loop: DATA=q\.jsonl holds other problems than run/problems\.jsonl, shuffled from the DATA the run began with
2~ ^exp2: DATA=.*/q\.jsonl \(MAX_PROMPT=512 TEMPLATE=r1 SYSTEM_FILE=pipelines/open-rs-system\.txt\) is not what .*/e/data\.jsonl\.zst was made from

## make exp2: the same DATA spelt another way (./ in it) goes on, also for records without an id,
## which mfilter names FILE:LINE by the path as given (their checksum said "another DATA")
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > n.jsonl
$ x() { make -s -C "$ROOT" exp2 BIN="$MRL_BIN" MODEL="$PWD/m" RUN="$PWD/e" PROMPTS=2 G=2 MAX_TOKENS=3 MICRO_BATCH=4 EVAL_EVERY=0 GRAD_CKPT= THREADS=1 "$@" >/dev/null; }
$ x DATA="$PWD/n.jsonl" STEPS=1 && x DATA="$PWD/./n.jsonl" STEPS=2; echo "rc $?"; readlink e/latest
> rc 0
> step-000002

## grpo-loop.sh: a run's mgrpo --iterations changed between restarts (2, then 1) still takes the next slice each batch: 6 batches of 2 over 12 problems take each once (the slice was read from the step over the run's K: step 6 of K = 2 then 1 as batch 6, not 4, so the last two batches took the first two slices again); so does a changed PROMPTS
% requires /usr/bin/jq
$ minit tiny -o m -q --seed 4
$ for i in $(seq 1 12); do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ export MODEL=m DATA=p.jsonl PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=3
$ for r in ra rb; do RUN=$r STEPS=4 MGRPO_ARGS='--iterations 2' "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 && RUN=$r STEPS=6 MGRPO_ARGS='--iterations 1' "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 || echo "loop failed"; done
$ RUN=ra STEPS=8 MGRPO_ARGS='--iterations 1' "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 || echo "loop failed"
$ ls ra/rollouts | wc -l; zstdcat ra/rollouts/*.zst | jq -r .id | sort -u | wc -l
$ RUN=rb STEPS=7 PROMPTS=4 MGRPO_ARGS='--iterations 1' "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 || echo "loop failed"
$ zstdcat rb/rollouts/*.zst | jq -r .id | sort -u | wc -l
> 6
> 12
> 12

## grpo-loop.sh: a validation that failed at step 4 (mgrpo --iterations 2, EVAL_EVERY=3: step 4 passed 3) is taken when the loop starts again (it was owed only at a multiple of EVAL_EVERY, so step 4 was never validated)
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ head -2 p.jsonl > v.jsonl
$ mkdir bin; for t in msample mgrpo meval mfilter; do ln -s "$MRL_BIN/$t" bin/$t; done
$ printf '#!/bin/sh\ncase "$*" in *step-000004*) [ -e failed ] || { touch failed; exit 1; } ;; esac\nexec %s "$@"\n' "$MRL_BIN/mreward" > bin/mreward; chmod +x bin/mreward
$ export RUN=run MODEL=m DATA=p.jsonl STEPS=4 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN=$PWD/bin THREADS=1 MAX_TOKENS=3 EVAL_EVERY=3 EVAL_DATA=v.jsonl EVAL_N=2 REWARD="$MRL_BIN/mreward -Z -q" MGRPO_ARGS='--iterations 2'
$ "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $?"; readlink run/latest; ls run/evals | grep -c 'json$'
$ "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $?"; ls run/evals | grep 'json$'
> rc 1
> step-000004
> 1
> rc 0
> step-000000.json
> step-000004.json

## grpo-loop.sh PERSIST=1: where hard links fail (here a cp that fails after making the directory, as GNU cp -al does), the best step's snapshot is copied whole (the copy went into the directory cp -al had made: best-000001/policy/)
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ head -2 p.jsonl > v.jsonl
$ mkdir bin; for t in msample mgrpo meval mfilter; do ln -s "$MRL_BIN/$t" bin/$t; done
$ printf '#!/bin/sh\nif [ "$1" = -al ]; then for a; do :; done; mkdir -p "$a"; exit 1; fi\nexec %s "$@"\n' "$(command -v cp)" > bin/cp; chmod +x bin/cp
$ # validation's mreward: the second call (step 1) scores every sample correct, so best is step 1, which has no checkpoint
$ printf '#!/bin/sh\nn=$(($(cat calls 2>/dev/null || echo 0) + 1)); echo $n > calls\n%s "$@" || exit\nf=$(echo "$@" | sed "s/.*-o //")\nif [ $n = 2 ]; then zstd -dc "$f" | jq -c ".correct = true" | zstd -q > "$f.x" && mv "$f.x" "$f"; fi\n' "$MRL_BIN/mreward" > bin/mreward; chmod +x bin/mreward
$ export MODEL=m DATA=p.jsonl STEPS=2 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN=$PWD/bin THREADS=1 EVAL_EVERY=1 EVAL_DATA=v.jsonl EVAL_N=2 MAX_TOKENS=4 SAVE_EVERY=3 MGRPO_ARGS='--lr 1e-2' PERSIST=1
$ export REWARD="$MRL_BIN/mreward -Z -q | jq -c '.reward = (.completion_ids[0] % 2)'"
$ PATH=$PWD/bin:$PATH RUN=run "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 || echo "loop failed"
$ readlink run/best; ls run/best/ | grep -c safetensors; test -e run/best/policy || echo "no policy/ inside"
> best-000001
> 1
> no policy/ inside

## grpo-loop.sh PERSIST=1 with --policy-every 2 in MGRPO_ARGS: the loop's --policy-every 1 comes last and counts (the loop waited for step 1's policy and mgrpo for step 2's batch, until the timeout)
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ export MODEL=m DATA=p.jsonl STEPS=3 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=4 PERSIST=1 MGRPO_ARGS='--lr 1e-2 --policy-every 2'
$ export REWARD="$MRL_BIN/mreward -Z -q | jq -c '.reward = (.completion_ids[0] % 2)'"
$ RUN=run timeout 60 "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $?"; readlink run/latest
> rc 0
> step-000003

## grpo-loop.sh SAVE_EVERY=0: mgrpo checkpoints at the end only and the loop keeps latest (its pruning divided by zero)
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ RUN=run MODEL=m DATA=p.jsonl STEPS=3 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=4 SAVE_EVERY=0 "$ROOT/pipelines/grpo-loop.sh" >/dev/null; echo "rc $?"; ls run | grep step-
> rc 0
> step-000003

## grpo-loop.sh: validation scores as make eval does, with mreward --lighteval (the answer read as the study's evaluation read it), whatever REWARD the training uses
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ head -2 p.jsonl > v.jsonl
$ mkdir bin; for t in msample mgrpo meval mfilter; do ln -s "$MRL_BIN/$t" bin/$t; done
$ printf '#!/bin/sh\necho "$@" >> args\nexec %s "$@"\n' "$MRL_BIN/mreward" > bin/mreward; chmod +x bin/mreward
$ RUN=r MODEL=m DATA=p.jsonl STEPS=1 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN=$PWD/bin THREADS=1 EVAL_EVERY=1 EVAL_DATA=v.jsonl EVAL_N=2 MAX_TOKENS=3 REWARD="$MRL_BIN/mreward -Z -q" "$ROOT/pipelines/grpo-loop.sh" > /dev/null 2>&1 || echo "loop failed"
$ grep -c -- '-q --lighteval -o r/evals/step-00000[01].jsonl.zst' args
> 2

## grpo-loop.sh: paths with spaces (RUN, MODEL, DATA, BIN), the default reward stage among them (BIN/mreward, run by bash -c, was cut at the space: "bash: .../b: No such file or directory")
$ minit tiny -o "m x" -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > "p x.jsonl"
$ head -2 "p x.jsonl" > "v x.jsonl"
$ mkdir "b in"; for t in msample mgrpo meval mfilter mreward; do ln -s "$MRL_BIN/$t" "b in/$t"; done
$ RUN="r x" MODEL="m x" DATA="p x.jsonl" STEPS=2 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$PWD/b in" THREADS=1 MAX_TOKENS=4 EVAL_EVERY=1 EVAL_DATA="v x.jsonl" EVAL_N=2 "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>err; echo "rc $?"; grep -v validation err
$ readlink "r x/latest"; ls "r x/evals" | grep -c json$
> rc 0
> step-000002
> 3

## grpo-loop.sh: a MAX_TOKENS schedule in any order (each step takes the entry of the latest STEP at or before it: 3@0 for steps 1-2, 5@2 from step 3; the last entry that had begun counted, 3@0 throughout), and a malformed one stops before the first stage (bash's arithmetic error, then a validation msample given --max-tokens '')
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ export MODEL=m DATA=p.jsonl STEPS=3 PROMPTS=2 G=4 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 REWARD="$MRL_BIN/mreward -Z -q | jq -c '.reward = (.completion_ids[0] % 2)'"
$ RUN=run MAX_TOKENS=5@2,3@0 "$ROOT/pipelines/grpo-loop.sh" >/dev/null || echo "loop failed"
$ for s in 1 2 3; do zstd -dc run/rollouts/step-00000$s.jsonl.zst | jq -s 'map(.completion_ids | length) | max'; done
$ RUN=bad MAX_TOKENS='3@0;5@2' EVAL_EVERY=1 EVAL_DATA=p.jsonl "$ROOT/pipelines/grpo-loop.sh"; echo "rc $?"; ls bad | grep -v problems || echo "no evals"
> 3
> 3
> 5
> rc 2
> no evals
2> grpo-loop: MAX_TOKENS=3@0;5@2: '3@0;5@2' is not LIMIT or LIMIT@STEP

## grpo-loop.sh: a second loop on a run directory in use stops at once (both took steps 1 and 2, metrics.jsonl had them twice, and one failed in mgrpo's checkpoint)
% requires /usr/bin/flock
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ export RUN=run MODEL=m DATA=p.jsonl STEPS=3 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=4
$ # the first loop's reward stage waits in step 1 until the second loop has given up
$ REWARD="touch started; while [ ! -e done ]; do sleep 0.1; done; $MRL_BIN/mreward -Z -q" "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>err1 & p=$!
$ while [ ! -e started ] && kill -0 $p 2>/dev/null; do sleep 0.1; done   # not for ever if the first loop died early
$ REWARD="$MRL_BIN/mreward -Z -q" "$ROOT/pipelines/grpo-loop.sh"; echo "rc $?"; touch done
$ wait $p; echo "rc $?"; jq -c .step run/metrics.jsonl | tr '\n' ' '; echo
> rc 2
> rc 0
> 1 2 3 
2> grpo-loop: run: another loop is running on it

## exp2: REWARD=, MSAMPLE_EXTRA= and MGRPO_EXTRA= reach the loop byte for byte, quotes, runs of spaces and $ in them (REWARD='$(REWARD)' in the recipe let the command's own quotes end make's: "+=: command not found", a filter without spaces lost its quotes, make took $1 for a variable of its own, and MGRPO_EXTRA's runs of spaces were one)
$ make -s -C "$ROOT" -n exp2 MODEL=m DATA=d BIN="$MRL_BIN" REWARD="mreward -q | jq -c '.reward += 1 | .t = \"\$1\"'" MSAMPLE_EXTRA="--stop 'The answer'" MGRPO_EXTRA="--reward '.rewards.a  +   .rewards.b'" | sed -n '/^RUN=/,/grpo-loop\.sh$/p' | sed 's|pipelines/grpo-loop\.sh$|printenv REWARD MSAMPLE_ARGS MGRPO_ARGS|' | (cd "$ROOT" && bash) | sed 's/.*--grad-checkpoint //'
> mreward -q | jq -c '.reward += 1 | .t = "$1"'
> --stop 'The answer'
> --reward '.rewards.a  +   .rewards.b'

## exp2 with a reward stage whose jq filter has quotes and spaces takes its step (the reviewer's repro)
% requires /usr/bin/jq
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ make -s -C "$ROOT" exp2 BIN="$MRL_BIN" MODEL="$PWD/m" DATA="$PWD/p.jsonl" RUN="$PWD/run" PROMPTS=2 G=2 MAX_TOKENS=4 MICRO_BATCH=4 EVAL_EVERY=0 GRAD_CKPT= THREADS=1 STEPS=1 REWARD="$MRL_BIN/mreward -q -Z | jq -c '.reward += 1'" >/dev/null; echo "rc $?"; jq '.reward_mean >= 1' run/metrics.jsonl
> rc 0
> true

## demo: DEMO_REWARD reaches the loop as given, with the -q the demo adds (REWARD='$(DEMO_REWARD) -q': a quoted argument with a space was split)
$ mkdir -p d/sft; touch d/sft/done d/train.jsonl
$ make -s -C "$ROOT" -n "$PWD/d/grpo/done" -o "$PWD/d/sft/done" -o "$PWD/d/train.jsonl" DEMO_DIR="$PWD/d" BIN="$MRL_BIN" DEMO_REWARD="mreward --reward 'regex:pattern=a b'" | sed -n '/^RUN=/,/grpo-loop\.sh$/p' | sed 's|pipelines/grpo-loop\.sh$|printenv REWARD MGRPO_ARGS|' | (cd "$ROOT" && bash)
> mreward --reward 'regex:pattern=a b' -q
> --lr 3e-4 --beta 0.04 --micro-batch 64 --temperature 1.0

## grpo-loop.sh: a setting that must be a number and is not is a usage error naming it, before the run directory is made (STEPS=2O said "[: 2O: integer expression expected" and ended with status 0 and no step; EVAL_EVERY=1x turned validation off; THREADS=0 failed in msample as if sampling had; a count past 2^63 wrapped, 2^64 + 1 steps to 1)
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ export RUN=run MODEL=m DATA=p.jsonl STEPS=0 PROMPTS=2 G=2 BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=3 EVAL_DATA=p.jsonl
$ for v in STEPS=2O EVAL_EVERY=1x PROMPTS=0 G=1.5 SEED=-1 SAVE_EVERY=x NGPU=0 EVAL_N=4x THREADS=two THREADS=0 STEPS=18446744073709551617 EVAL_MAX_TOKENS=4k TEMP=hot EVAL_TOP_P=1,0 EARLY_STOP=kl=big; do env "$v" "$ROOT/pipelines/grpo-loop.sh"; echo "rc $?"; done 2>&1; ls run 2>/dev/null | wc -l
> grpo-loop: STEPS=2O: not a whole number
> rc 2
> grpo-loop: EVAL_EVERY=1x: not a whole number
> rc 2
> grpo-loop: PROMPTS=0: not a whole number above 0
> rc 2
> grpo-loop: G=1.5: not a whole number above 0
> rc 2
> grpo-loop: SEED=-1: not a whole number
> rc 2
> grpo-loop: SAVE_EVERY=x: not a whole number
> rc 2
> grpo-loop: NGPU=0: not a whole number above 0
> rc 2
> grpo-loop: EVAL_N=4x: not a whole number above 0
> rc 2
> grpo-loop: THREADS=two: not a whole number above 0
> rc 2
> grpo-loop: THREADS=0: not a whole number above 0
> rc 2
> grpo-loop: STEPS=18446744073709551617: too large
> rc 2
> grpo-loop: EVAL_MAX_TOKENS=4k: not a whole number above 0
> rc 2
> grpo-loop: TEMP=hot: not a number
> rc 2
> grpo-loop: EVAL_TOP_P=1,0: not a number
> rc 2
> grpo-loop: EARLY_STOP=kl=big: 'kl=big' is not drop=NUMBER or kl=NUMBER
> rc 2
> 0

## grpo-loop.sh: mgrpo's options are checked before the first step samples (make exp2 LR=abc, or a
## typo in MGRPO_ARGS, failed only after a whole step of sampling and rewarding)
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ export RUN=run MODEL=m DATA=p.jsonl PROMPTS=2 G=2 BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=3 STEPS=1
$ for a in "--lr abc" "--loss bogus" "--micro-batch 0"; do MGRPO_ARGS=$a "$ROOT/pipelines/grpo-loop.sh"; echo "rc $?"; done 2>&1; ls run | grep step | wc -l
$ mkdir fb; for t in msample mreward mfilter meval; do ln -s "$MRL_BIN/$t" fb/$t; done; BIN=$PWD/fb "$ROOT/pipelines/grpo-loop.sh" 2>&1 | sed "s|$PWD|T|g; s|$ROOT|R|; s|line [0-9]*|line N|"
> grpo-loop: MGRPO_ARGS (make's LR=, LOSS=, SCHEDULE=, ...): mgrpo: --lr: 'abc' is not a number in [0, 1000]
> rc 2
> grpo-loop: MGRPO_ARGS (make's LR=, LOSS=, SCHEDULE=, ...): mgrpo: --loss: 'bogus' is not one of grpo, bnpo, dr_grpo, dapo, sft
> rc 2
> grpo-loop: MGRPO_ARGS (make's LR=, LOSS=, SCHEDULE=, ...): mgrpo: --micro-batch: '0' is not an integer in [1, 16777216]
> rc 2
> 0
> grpo-loop: T/fb/mgrpo --help failed (status 127): R/pipelines/grpo-loop.sh: line N: T/fb/mgrpo: No such file or directory

## grpo-loop.sh: MSAMPLE_ARGS and MGRPO_ARGS are split into words as the shell splits them, quotes and backslashes kept out of the words (read -ra split --stop 'The answer' into "'The" and "answer'"); $ and ` (nothing is expanded) and an unclosed quote are usage errors
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ mkdir bin; for t in mgrpo meval mfilter mreward; do ln -s "$MRL_BIN/$t" bin/$t; done
$ printf '#!/bin/sh\nfor a; do echo "[$a]"; done > args\nexec %s "$@"\n' "$MRL_BIN/msample" > bin/msample; chmod +x bin/msample
$ export RUN=run MODEL=m DATA=p.jsonl PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN=$PWD/bin THREADS=1 MAX_TOKENS=3 STEPS=1
$ MSAMPLE_ARGS="--stop 'The answer' --stop \"a \\\"b\\\" \\\$c\" --stop d\\ e --stop 'it'\\''s'" MGRPO_ARGS=" --lr  '1e-2' " "$ROOT/pipelines/grpo-loop.sh" >/dev/null; echo "rc $?"; readlink run/latest
$ tr '\n' ' ' < args | grep -o '\[--stop\] \[[^]]*\]'
$ export STEPS=0; for a in '--stop "$HOME"' '--stop `id`' '--stop a;b' "--stop 'a"; do MSAMPLE_ARGS=$a "$ROOT/pipelines/grpo-loop.sh"; echo "rc $?"; done 2>&1
> rc 0
> step-000001
> [--stop] [The answer]
> [--stop] [a "b" $c]
> [--stop] [d e]
> [--stop] [it's]
> grpo-loop: MSAMPLE_ARGS=--stop "$HOME": $ is not expanded here (the words are split and unquoted as the shell does, nothing is expanded or run): expand it before, or quote it with '...'
> rc 2
> grpo-loop: MSAMPLE_ARGS=--stop `id`: ` is not expanded here (the words are split and unquoted as the shell does, nothing is expanded or run): expand it before, or quote it with '...'
> rc 2
> grpo-loop: MSAMPLE_ARGS=--stop a;b: ; is a shell operator here: quote it
> rc 2
> grpo-loop: MSAMPLE_ARGS=--stop 'a: an unclosed '
> rc 2

## make eval: benchmark records without a bench field (the Hugging Face datasets README names have none) are scored under their file's name (the five were one row "all" and the table's row dashes, or, with the same ids in two files, meval's "sample 0 of \"1\" again")
$ mkdir bench; for b in aime24 math500 amc23 minerva_math olympiadbench; do for i in 1 2; do echo "{\"id\":\"$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > bench/$b.jsonl; done
$ minit tiny -o m -q
$ make -s -C "$ROOT" eval CKPT="$PWD/m" RUN="$PWD/run" BENCH_DIR="$PWD/bench" BIN="$MRL_BIN" EVAL_MAX_TOKENS=4 | sed -n '7p' | sed "s|$PWD|T|"
$ jq -r '.bench + " " + (.problems|tostring)' run/eval/m/scores.jsonl | tr '\n' ' '; echo
> | T/m | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 |
> aime24 2 math500 2 amc23 2 minerva_math 2 olympiadbench 2 

## a tree under a path with a space: make exp2 finds the built tools and hands the loop their
## directory as one word, and the demo's stages run them (exp2 said "r x/bin/mfilter is not built:
## run make first", the demo ran ".../r" for minit)
$ mkdir "r x"; cp -r "$ROOT/Makefile" "$ROOT/pipelines" "r x/"; ln -s "$MRL_BIN" "r x/bin"
$ make -s -C "r x" -n exp2 B=build BIN=bin MODEL=m DATA=d | sed -n '/^RUN=/,/grpo-loop\.sh$/p' | sed 's|pipelines/grpo-loop\.sh$|printenv BIN REWARD|' | (cd "r x" && bash) | sed "s|$PWD/||"
$ cc -O2 -o gen "$ROOT/testdata/gen_arith.c"
$ make -s -C "r x" B=build BIN=bin demo/init/config.json DEMO_GEN="$PWD/gen" DEMO_MERGES=20 >/dev/null; ls "r x/demo/init/config.json"
> r x/bin
> 'r x/bin'/mreward -q --anchored --reward accuracy=2 --reward format=1 --reward language=0
> r x/demo/init/config.json

## grpo-loop.sh killed (SIGKILL to its process group, in a step's reward stage: step 3's in the default loop, step 4's under PERSIST=1 with SAVE_EVERY=2, which loses step 3) and run again takes the steps of a loop never stopped: each step's rollouts (seed SEED + step), its metrics line but the timings, and the weights
% requires /usr/bin/jq
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ printf '#!/bin/sh\nn=$(($(cat calls 2>/dev/null || echo 0) + 1)); echo $n > calls\nif [ -e stop ] && [ $n = "$(cat stop)" ]; then kill -KILL 0; fi\n%s -Z -q | jq -c ".reward = (.completion_ids[0] %% 2)"\n' "$MRL_BIN/mreward" > rw; chmod +x rw
$ export MODEL=m DATA=p.jsonl STEPS=4 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=5 SAVE_EVERY=2 MGRPO_ARGS='--lr 1e-2' REWARD=./rw
$ same() {   # the run $1 against $2: metrics but timings, weights, each step's rollouts but the policy's path
$   diff <(jq -c 'del(.seconds, .tokens_per_s)' $1/metrics.jsonl) <(jq -c 'del(.seconds, .tokens_per_s)' $2/metrics.jsonl) >/dev/null || echo "metrics differ"
$   cmp -s $1/latest/model.safetensors $2/latest/model.safetensors || echo "weights differ"
$   for s in 1 2 3 4; do cmp -s <(zstdcat $1/rollouts/step-00000$s.jsonl.zst | jq -c 'del(.policy.path)') <(zstdcat $2/rollouts/step-00000$s.jsonl.zst | jq -c 'del(.policy.path)') || echo "step $s's rollouts differ"; done
$ }
$ for p in 0 1; do RUN=a$p PERSIST=$p "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 || echo "the straight run failed"; done
$ for p in 0 1; do
$   rm -f calls; echo $((p + 3)) > stop; RUN=b$p PERSIST=$p setsid -w "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $? $(readlink b$p/latest)"
$   rm stop; RUN=b$p PERSIST=$p "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 || echo "the resumed run failed"; same a$p b$p; readlink b$p/latest
$ done
> rc 137 step-000002
> step-000004
> rc 137 step-000002
> step-000004

## grpo-loop.sh PERSIST=1: mgrpo stopped by a signal (SIGTERM to it alone, here sent as the loop's prune after step 3 reads latest; a Ctrl-C the loop missed did the same in a stress) checkpoints step 3 while the loop prunes, and the loop leaves that checkpoint alone (read between its rename and latest's move it was no multiple of SAVE_EVERY and not latest: removed, so latest named a missing step-000003 and every later run failed "the checkpoint is missing"); run again, the loop ends on the weights of a run never stopped
% requires /usr/bin/jq
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ # readlink RUN/latest in the prune after step 3: the real one's answer, then mgrpo (its pid in RUN/.lock) stopped and its step-000003 waited for
$ mkdir wrap; printf '#!/bin/sh\nout=$(%s "$@") || exit\nr=${1%%latest}\nif [ "$r" != "$1" ] && [ -e stop ] && [ "$(%s "${r}policy")" = policy-000003 ]; then\n  rm stop; kill -TERM "$(cut -d" " -f1 "${r}.lock")"; i=0\n  while [ ! -d "${r}step-000003" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done\nfi\necho "$out"\n' "$(command -v readlink)" "$(command -v readlink)" > wrap/readlink; chmod +x wrap/readlink
$ export MODEL=m DATA=p.jsonl STEPS=4 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN="$MRL_BIN" THREADS=1 MAX_TOKENS=5 SAVE_EVERY=2 MGRPO_ARGS='--lr 1e-2' PERSIST=1
$ export REWARD="$MRL_BIN/mreward -Z -q | jq -c '.reward = (.completion_ids[0] % 2)'"
$ RUN=a "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1 || echo "the straight run failed"
$ touch stop; RUN=b PATH=$PWD/wrap:$PATH "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $?"; readlink b/latest; ls -d b/step-*
$ RUN=b "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $?"; cmp a/latest/model.safetensors b/latest/model.safetensors && echo same; ls -d b/step-*
> rc 143
> step-000003
> b/step-000002
> b/step-000003
> rc 0
> same
> b/step-000002
> b/step-000004

## grpo-loop.sh: a Ctrl-C (SIGINT to the process group) that comes as a command of the loop ends with status 0 (here the shuffle's mfilter, through a wrapper that ignores it; in a stress, an awk or date that had just exited) ends the loop with 130, in the default loop and PERSIST (bash took the 0 for a Ctrl-C the command had handled and went on: the loop ran to its last step and ended with 0)
% requires /usr/bin/jq
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ mkdir bin; for t in msample mreward mgrpo; do ln -s "$MRL_BIN/$t" bin/$t; done
$ printf '#!/bin/sh\n%s "$@" || exit\nif [ -e stop ]; then rm stop; trap "" INT; kill -INT 0; fi\n' "$MRL_BIN/mfilter" > bin/mfilter; chmod +x bin/mfilter
$ export MODEL=m DATA=p.jsonl STEPS=4 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN=$PWD/bin THREADS=1 MAX_TOKENS=5 MGRPO_ARGS='--lr 1e-2'
$ export REWARD="$MRL_BIN/mreward -Z -q | jq -c '.reward = (.completion_ids[0] % 2)'"
$ for p in 0 1; do
$   touch stop; RUN=r$p PERSIST=$p setsid -w "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $?"; [ -e r$p/latest ] || echo "no step"
$   RUN=r$p PERSIST=$p "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $?"; readlink r$p/latest
$ done
> rc 130
> no step
> rc 0
> step-000004
> rc 130
> no step
> rc 0
> step-000004

## grpo-loop.sh killed while mfilter writes the shuffled RUN/problems.jsonl (here a wrapper that leaves mfilter -o's temp file, NAME.tmp.PID, and SIGKILLs the group) and run again leaves no temp file in RUN (each such kill left one for good)
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ mkdir bin; for t in msample mreward mgrpo; do ln -s "$MRL_BIN/$t" bin/$t; done
$ printf '#!/bin/sh\nif [ -e stop ]; then rm stop; %s "$@" -o "$RUN/problems.jsonl.tmp.$$"; kill -KILL 0; fi\nexec %s "$@"\n' "$MRL_BIN/mfilter" "$MRL_BIN/mfilter" > bin/mfilter; chmod +x bin/mfilter
$ export MODEL=m DATA=p.jsonl STEPS=2 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN=$PWD/bin THREADS=1 MAX_TOKENS=5 MGRPO_ARGS='--lr 1e-2' REWARD="$MRL_BIN/mreward -Z -q"
$ touch stop; RUN=r setsid -w "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $?"; ls r | grep -c tmp
$ RUN=r "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $?"; readlink r/latest; ls -A r | grep tmp || echo "no temp file"
> rc 137
> 1
> rc 0
> step-000002
> no temp file

## grpo-loop.sh EARLY_STOP=kl=: a loop stopped after mgrpo's checkpoint of the step whose KL is too high (Ctrl-C in that step: mgrpo finishes it, checkpoints it and exits 130) and run again stops there, as a loop never stopped does (it went on to step 3: the check of step 2 was never made)
% requires /usr/bin/jq
$ minit tiny -o m -q --seed 4
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > p.jsonl
$ mkdir bin; for t in msample mreward mfilter; do ln -s "$MRL_BIN/$t" bin/$t; done
$ printf '#!/bin/sh\ncase " $* " in *" --help "*) exec %s "$@";; esac\nn=$(($(cat calls 2>/dev/null || echo 0) + 1)); echo $n > calls\n%s "$@" || exit\n[ $n != 2 ] || exit 130\n' "$MRL_BIN/mgrpo" "$MRL_BIN/mgrpo" > bin/mgrpo; chmod +x bin/mgrpo
$ export RUN=run MODEL=m DATA=p.jsonl STEPS=4 PROMPTS=2 G=2 TEMP=1 SYSTEM= BIN=$PWD/bin THREADS=1 MAX_TOKENS=5 MGRPO_ARGS='--lr 1e-2' EARLY_STOP=kl=1e-12
$ export REWARD="$MRL_BIN/mreward -Z -q | jq -c '.reward = (.completion_ids[0] % 2)'"
$ RUN=a BIN="$MRL_BIN" "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; readlink a/latest   # a loop never stopped
$ "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>&1; echo "rc $?"; readlink run/latest
$ "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>err; echo "rc $?"; readlink run/latest; sed 's/KL [0-9.e-]* /KL x /' err; jq -c .step run/metrics.jsonl | tr '\n' ' '; echo
> step-000002
> rc 130
> step-000002
> rc 0
> step-000002
> grpo-loop: stopped early: KL x at step 2 is above 1e-12
> 1 2 
