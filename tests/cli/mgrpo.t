# mgrpo: one-step stage and long-running use, resume, crash safety, bad input.
# Expected numbers are derived from the input by jq in the case itself, or are structural
# (steps, files; the lr schedule by hand: cosine, warmup 1 of 3 steps gives 0, lr, lr/2);
# loss/gradient parity with PyTorch is in tests/unit/test_grpo.c.

## usage: --out is required
$ mgrpo --model "$TESTDATA/grpo/model" </dev/null
? 2
2~ --out RUNDIR is required

## usage: a non-constant schedule needs --total-steps
$ mgrpo --out r --schedule cosine </dev/null
? 2
2~ needs --total-steps

## usage: --threads 0 is refused, as by msample
$ mgrpo --out r --threads 0 </dev/null
? 2
2~ --threads: '0' is not an integer in \[1, 4096\]

## usage: --adam-epsilon 0 is refused, and 1e-50, which is 0 as the float AdamW computes with: a parameter with a zero gradient (an unused embedding row) got 0/0, and the step wrote NaN weights and exited 0
$ for v in 0 1e-50; do mgrpo --out r --adam-epsilon $v </dev/null 2>&1 | head -n 1; echo "rc=${PIPESTATUS[0]}"; done
> mgrpo: --adam-epsilon: '0' must be more than 0 (as a float)
> rc=2
> mgrpo: --adam-epsilon: '1e-50' must be more than 0 (as a float)
> rc=2

## one step: metrics from the batch, checkpoint with model, optimizer and state, latest
% requires /usr/bin/jq
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --steps 1 --lr 1e-3 "$TESTDATA/grpo/batch.jsonl" > m
$ jq -s -c '{step:1, groups:2, tokens:(map((.prompt_ids|length)+(.completion_ids|length))|add), reward_mean:(map(.reward)|add/length), truncated_frac:(map(select(.finish=="length"))|length/6)}' "$TESTDATA/grpo/batch.jsonl" > want
$ jq -c '{step, groups, tokens, reward_mean, truncated_frac}' m | cmp - want && echo same
$ readlink run/latest; ls run/latest; jq -c '{step, data}' run/latest/trainer_state.json
$ cmp m run/metrics.jsonl && zstd -dc run/rollouts/step-000001.jsonl.zst | wc -l
> same
> step-000001
> config.json
> generation_config.json
> model.safetensors
> model.safetensors.index.json
> optimizer.safetensors
> trainer_state.json
> {"step":1,"data":{"groups":2,"records":6}}
> 6

## the next invocation continues the run (step 2, latest moves, step 1 kept)
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --steps 1 "$TESTDATA/grpo/batch.jsonl" >/dev/null
$ mgrpo -Z -q --threads 1 --out run --steps 1 "$TESTDATA/grpo/batch.jsonl" | jq -c '.step'
$ readlink run/latest; ls -d run/step-*
> 2
> step-000002
> run/step-000001
> run/step-000002

## --keep 1 prunes older steps; sft needs no rewards, and reports no reward_mean or reward_std
## (they were 0: the rewards it never reads)
$ for i in 1 2 3; do jq -c 'del(.reward, .rewards)' "$TESTDATA/grpo/batch.jsonl" | mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --loss sft --keep 1 --lr 1e-2 > /dev/null || echo fail; done
$ ls run | grep step; jq -c '[.step, (.loss > 0), .reward_mean, .reward_std]' run/metrics.jsonl
> step-000003
> [1,true,null,null]
> [2,true,null,null]
> [3,true,null,null]

## a --reward filter that does not compile is a usage error naming the option
$ mgrpo --out run --model "$TESTDATA/grpo/model" --reward '.[' </dev/null; echo "rc=$?"; test -e run || echo none
> rc=2
> none
2~ ^mgrpo: --reward: cannot compile jq filter '\.\[': syntax error
2~ ^Try 'mgrpo --help'\.$

## a group of one record is an error; nothing is written
$ head -n 4 "$TESTDATA/grpo/batch.jsonl" > in.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run in.jsonl; echo "rc=$?"; ls run 2>/dev/null || echo "no run"
? 0
> rc=1
> no run
2~ ^mgrpo: in.jsonl:4: group "p1" has a single record
2~ --allow-partial

## a record without reward: FILE:LINE: "reward" is missing, no checkpoint
% requires /usr/bin/jq
$ jq -c 'if .sample == 1 and .id == "p1" then del(.reward) else . end' "$TESTDATA/grpo/batch.jsonl" > bad.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run bad.jsonl; echo "rc=$?"; ls run 2>/dev/null || echo "no run"
> rc=1
> no run
2> mgrpo: bad.jsonl:5: "reward" is missing (mreward sets it: msample ... | mreward | mgrpo)

## a record without completion_ids
% requires /usr/bin/jq
$ jq -c 'if .sample == 2 then del(.completion_ids) else . end' "$TESTDATA/grpo/batch.jsonl" > bad.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run bad.jsonl; echo "rc=$?"; test -e run/latest || echo none
> rc=1
> none
2> mgrpo: bad.jsonl:3: "completion_ids" is missing

## fields of the wrong type are named with what they hold: finish, rewards, a value in rewards
% requires /usr/bin/jq
$ jq -c 'if .sample == 2 and .id == "p1" then .finish = 5 else . end' "$TESTDATA/grpo/batch.jsonl" > bad.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run bad.jsonl; echo "rc=$?"; test -e run/latest || echo none
$ jq -c 'if .sample == 0 then .rewards = "x" else . end' "$TESTDATA/grpo/batch.jsonl" > bad.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run bad.jsonl; echo "rc=$?"; test -e run/latest || echo none
$ jq -c 'if .sample == 1 and .id == "p1" then .rewards = {"accuracy": 1, "format": "x"} else . end' "$TESTDATA/grpo/batch.jsonl" > bad.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run bad.jsonl; echo "rc=$?"; test -e run/latest || echo none
> rc=1
> none
> rc=1
> none
> rc=1
> none
2> mgrpo: bad.jsonl:6: "finish" is a number, not a string
2> mgrpo: bad.jsonl:1: "rewards" is a string, not an object
2> mgrpo: bad.jsonl:5: "rewards.format" is a string, not a number

## finish is "stop" or "length" (SPEC.md): another string, as "Length" or vLLM's "abort", is a bad
## record, not a completion silently counted as finished under --mask-truncated
% requires /usr/bin/jq
$ jq -c 'if .sample == 2 and .id == "p1" then .finish = "Length" else . end' "$TESTDATA/grpo/batch.jsonl" > bad.jsonl
$ mgrpo -Z -q --threads 1 --mask-truncated --model "$TESTDATA/grpo/model" --out run bad.jsonl; echo "rc=$?"; test -e run/latest || echo none
> rc=1
> none
2> mgrpo: bad.jsonl:6: "finish" is "Length", not "stop" or "length"

## a sequence longer than the model's context (max_position_embeddings) is a bad record, as in msample
% requires /usr/bin/jq
$ minit tiny -o m -q && jq '.max_position_embeddings = 8' m/config.json > c && mv c m/config.json
$ printf '%s\n' '{"id":"p","prompt_ids":[1,2,3,4,5],"completion_ids":[6,7,8],"reward":1}' '{"id":"p","prompt_ids":[1,2,3,4,5],"completion_ids":[6,7,8,9],"reward":0}' > long.jsonl
$ mgrpo --model m --out run --threads 1 -Z long.jsonl; echo "rc=$?"; test -e run/latest || echo none
> rc=1
> none
2> mgrpo: long.jsonl:2: "prompt_ids" + "completion_ids": 9 tokens, more than the model's context (max_position_embeddings 8)

## a NaN or infinite reward (1e999 is infinity to libjq; nan is not JSON, refused by mrl where
## libjq reads it as NaN, and by Debian 11's libjq 1.6 itself)
$ sed '2s/"reward": [0-9.]*/"reward": 1e999/' "$TESTDATA/grpo/batch.jsonl" > bad.jsonl
$ sed '2s/"reward": [0-9.]*/"reward": nan/' "$TESTDATA/grpo/batch.jsonl" > nan.jsonl
$ grep -c 1e999 bad.jsonl; grep -c nan nan.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run bad.jsonl; echo "rc=$?"; test -e run/latest || echo none
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run nan.jsonl 2>&1 | sed -E 's/^mgrpo: nan\.jsonl:2: (invalid JSON: .nan. at column [0-9]+ is not a JSON number \(JSON has no NaN or Infinity\)|invalid JSON: Invalid literal at line 1, column [0-9]+)$/refused: nan.jsonl:2/'; echo "rc=${PIPESTATUS[0]}"; test -e run/latest || echo none
> 1
> 1
> rc=1
> none
> refused: nan.jsonl:2
> rc=1
> none
2> mgrpo: bad.jsonl:2: "reward" is not a finite number

## a finite reward too large for the group statistics (beyond 1e100): a reward of 1e200 made the
## group's std inf and every advantage 0, and the step ran with loss 0 and exited 0
$ sed '2s/"reward": [0-9.]*/"reward": 1e200/' "$TESTDATA/grpo/batch.jsonl" > big.jsonl
$ grep -c 1e200 big.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run big.jsonl; echo "rc=$?"; test -e run/latest || echo none
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --reward '.reward * -1' big.jsonl; echo "rc=$?"
> 1
> rc=1
> none
> rc=1
2> mgrpo: big.jsonl:2: "reward" is 1e+200, beyond the 1e+100 in magnitude the advantages are computed from
2> mgrpo: big.jsonl:2: --reward '.reward * -1' gave -1e+200, beyond the 1e+100 in magnitude the advantages are computed from

## a reward of the wrong kind is named with what it holds, as the other fields are; a --reward
## filter that is not a field is named as the filter with what it gave (it was '"reward |
## tostring" is not a finite number', the filter's text taken for a field's name)
$ sed '2s/"reward": [0-9.]*/"reward": "1"/' "$TESTDATA/grpo/batch.jsonl" > bad.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run bad.jsonl; echo "rc=$?"
$ cp "$TESTDATA/grpo/batch.jsonl" b.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --reward '.reward | tostring' b.jsonl; echo "rc=$?"
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --reward 'empty' b.jsonl; echo "rc=$?"
> rc=1
> rc=1
> rc=1
2> mgrpo: bad.jsonl:2: "reward" is a string, not a number
2> mgrpo: b.jsonl:1: --reward '.reward | tostring' gave a string, not a number
2> mgrpo: b.jsonl:1: --reward 'empty' gave nothing, not a number

## a token id outside the vocabulary
$ sed '1s/"completion_ids": \[[0-9]*/"completion_ids": [300/' "$TESTDATA/grpo/batch.jsonl" > bad.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run bad.jsonl
? 1
2> mgrpo: bad.jsonl:1: "completion_ids[0]" is 300, not a token id of the model (0 to 299)

## groups must be contiguous
$ (head -n 3 "$TESTDATA/grpo/batch.jsonl"; tail -n 3 "$TESTDATA/grpo/batch.jsonl"; head -n 3 "$TESTDATA/grpo/batch.jsonl") > bad.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run bad.jsonl
? 1
2~ bad.jsonl:7: samples of the id "p0" came earlier

## a group with more records than the first is named as such, not as an id that came earlier
$ (cat "$TESTDATA/grpo/batch.jsonl"; tail -n 1 "$TESTDATA/grpo/batch.jsonl") > bad.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run bad.jsonl; echo "rc=$?"; ls run 2>/dev/null | grep step | wc -l
> rc=1
> 0
2> mgrpo: bad.jsonl:7: group "p1" has more than 3 records, the first group had 3 (--allow-partial accepts it)

## streaming (--groups): a group closes when it reaches the first group's size, so the step that takes it comes first; its extra record is still an error, and that step is kept
$ (cat "$TESTDATA/grpo/batch.jsonl"; tail -n 1 "$TESTDATA/grpo/batch.jsonl") > bad.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --groups 2 bad.jsonl | wc -l; echo "rc=${PIPESTATUS[0]}"; readlink run/latest
> 1
> rc=1
> step-000001
2> mgrpo: bad.jsonl:7: group "p1" has more than 3 records, the first group had 3 (--allow-partial accepts it)
2> mgrpo: the 1 step taken before the error is checkpointed (step 1)

## a run continued with another model is refused
% requires $MRL_BIN/minit
$ minit tiny -o other >/dev/null 2>&1 || echo "minit failed"
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --steps 1 "$TESTDATA/grpo/batch.jsonl" >/dev/null
$ mgrpo -Z -q --threads 1 --model other --out run --steps 1 "$TESTDATA/grpo/batch.jsonl"; echo "rc=$?"; readlink run/latest
> rc=1
> step-000001
2~ is not the same model

## no records (an empty sampling stage, or an input all taken by earlier steps): exit 1, no step
% requires /usr/bin/jq
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --steps 1 < /dev/null; echo "rc=$?"; ls run
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --steps 1 "$TESTDATA/grpo/batch.jsonl" | jq -c .step
$ mgrpo -Z -q --threads 1 --out run --resume-data "$TESTDATA/grpo/batch.jsonl"; echo "rc=$?"; readlink run/latest
> rc=1
> 1
> rc=1
> step-000001
2~ ^mgrpo: <stdin>: no records to train on: no step taken$
2~ ^mgrpo: .*/grpo/batch\.jsonl: no records to train on past the groups earlier steps took \(--resume-data\): no step taken$

## stopped and resumed equals uninterrupted: metrics and weights, step by step
% requires /usr/bin/jq
$ for k in 1 2 3; do jq -c --arg k $k '.id += "-" + $k' "$TESTDATA/grpo/batch.jsonl"; done > in.jsonl
$ O=(-Z -q --threads 1 --model "$TESTDATA/grpo/model" --ref "$TESTDATA/grpo/ref" --lr 1e-2 --schedule cosine --total-steps 3 --warmup 1 --micro-batch 4 --groups 2)
$ mgrpo "${O[@]}" --out A --save-every 1 in.jsonl | jq -c 'del(.seconds, .tokens_per_s)' > a
$ for k in 1 2 3; do sed -n "$((6*k-5)),$((6*k))p" in.jsonl | mgrpo "${O[@]}" --out B --steps 1 > /dev/null; done
$ jq -c 'del(.seconds, .tokens_per_s)' B/metrics.jsonl | cmp - a && cmp A/latest/model.safetensors B/latest/model.safetensors && cmp A/latest/optimizer.safetensors B/latest/optimizer.safetensors && echo same
$ mgrpo "${O[@]}" --out C --steps 2 in.jsonl > /dev/null; mgrpo "${O[@]}" --out C --resume-data in.jsonl | jq -c .step
$ cmp A/latest/model.safetensors C/latest/model.safetensors && echo same
$ jq -c '[.step, (.kl > 0), .lr]' a
> same
> 3
> same
> [1,true,0]
> [2,true,0.01]
> [3,true,0.005]

## a crash at every point of the checkpoint sequence: latest loads, resume continues exactly
% requires /usr/bin/jq
$ for k in 1 2 3; do jq -c --arg k $k '.id += "-" + $k' "$TESTDATA/grpo/batch.jsonl"; done > in.jsonl
$ O=(-Z -q --threads 1 --model "$TESTDATA/grpo/model" --lr 1e-2 --micro-batch 2 --groups 2 --keep 1)
$ mgrpo "${O[@]}" --out A in.jsonl > /dev/null
$ part() { sed -n "$((6*$1-5)),$((6*$1))p" in.jsonl; }
$ for n in $(seq 1 16); do rm -rf C; part 1 | mgrpo "${O[@]}" --out C > /dev/null
$   part 2 | MRL_CRASH_AT=$n mgrpo "${O[@]}" --out C > /dev/null; rc=$?
$   [ $rc = 99 ] && crashed=$n
$   [ "$(readlink C/latest)" = step-000001 ] && { part 2 | mgrpo "${O[@]}" --out C > /dev/null || echo "resume failed at $n"; }
$   part 3 | mgrpo "${O[@]}" --out C > /dev/null || echo "step 3 failed at $n"
$   cmp -s A/latest/model.safetensors C/latest/model.safetensors || echo "weights differ after a crash at $n"
$   [ "$(jq -c 'del(.seconds, .tokens_per_s)' A/metrics.jsonl)" = "$(jq -c 'del(.seconds, .tokens_per_s)' C/metrics.jsonl)" ] || echo "metrics differ after a crash at $n"
$   ls -a C | grep -q '^\.tmp' && echo "temp left at $n"
$ done; [ "$crashed" -ge 12 ] && echo "crashed at points 1..$crashed"
>~ ^crashed at points 1\.\.1[2-6]$

## SIGKILL at random moments (inside a checkpoint's files, a rollouts copy, a policy snapshot, the
## rewrite of metrics.jsonl on resume): each start resumes from a latest that loads, no temp file
## is left once the run has started again (metrics.jsonl.tmp.PID of a killed rewrite stayed for
## ever), and the run ends as one never killed did, bit for bit
% requires /usr/bin/jq
$ for k in $(seq 1 20); do jq -c --arg k $k '.id += "-" + $k' "$TESTDATA/grpo/batch.jsonl"; done > in.jsonl
$ O=(-Z -q --threads 1 --model "$TESTDATA/grpo/model" --lr 1e-2 --groups 1 --save-every 1 --keep 1 --policy-every 2)
$ mgrpo "${O[@]}" --out A in.jsonl > /dev/null
$ RANDOM=7; for i in $(seq 1 60); do mgrpo "${O[@]}" --out K --resume-data in.jsonl > /dev/null 2> err & pid=$!
$   sleep 0.0$((RANDOM % 10))$((RANDOM % 10)); kill -9 $pid 2> /dev/null; wait $pid 2> /dev/null
$   [ -s err ] && { echo "start $i:"; cat err; }
$   [ "$(readlink K/latest)" = step-000040 ] && break; done
$ mgrpo "${O[@]}" --out K --resume-data in.jsonl > /dev/null 2> /dev/null; readlink K/latest; find K -name '*.tmp*' -o -name '.tmp-*'
$ [ "$(jq -c 'del(.seconds, .tokens_per_s)' A/metrics.jsonl)" = "$(jq -c 'del(.seconds, .tokens_per_s)' K/metrics.jsonl)" ] && cmp A/latest/model.safetensors K/latest/model.safetensors && cmp A/latest/optimizer.safetensors K/latest/optimizer.safetensors && echo same
> step-000040
> same

## the tool's first step reproduces the PyTorch loss, KL and clip fraction (tests/ref/grpo_ref.py)
% requires /usr/bin/jq
$ M=(-Z -q --threads 1 --model "$TESTDATA/grpo/model" --ref "$TESTDATA/grpo/ref" --steps 1)
$ mgrpo "${M[@]}" --out g --loss grpo --beta 0.04 --epsilon 0.2 --epsilon-high 0.28 --iterations 2 --micro-batch 2 --temperature 0.7 "$TESTDATA/grpo/batch.jsonl" > g.m
$ mgrpo "${M[@]}" --out b --loss bnpo --beta 0.04 --micro-batch 4 --mask-truncated --temperature 0.7 "$TESTDATA/grpo/batch.jsonl" > b.m
$ jq -c 'del(.reward, .rewards)' "$TESTDATA/grpo/batch.jsonl" | mgrpo "${M[@]}" --out s --loss sft --micro-batch 6 > s.m
$ close='def d(a; b): ((a - b) | if . < 0 then -. else . end) <= 1e-4 * (b | if . < 0 then -. else . end);'
$ jq -n --slurpfile g g.m --slurpfile b b.m --slurpfile s s.m --slurpfile r "$TESTDATA/grpo/model_cases.json" "$close"' [d($g[0].loss; $r[0].grpo.loss), d($g[0].kl; $r[0].grpo.kl), ($g[0].clip_frac - $r[0].grpo.clip_frac | . * . < 1e-18), ($g | length), d($b[0].loss; $r[0].bnpo.loss), d($b[0].kl; $r[0].bnpo.kl), d($s[0].loss; $r[0].sft.loss)]' | jq -c .
> [true,true,true,2,true,true,true]

## --grad-checkpoint recomputes each layer with the same ops: the same step, byte for byte (grpo over micro-batches of 4 + 2 with a reference, and sft)
% requires /usr/bin/jq
$ M=(-Z -q --threads 1 --model "$TESTDATA/grpo/model" --ref "$TESTDATA/grpo/ref" --steps 1 --micro-batch 4 --lr 1e-2)
$ mgrpo "${M[@]}" --out a --beta 0.04 --iterations 2 "$TESTDATA/grpo/batch.jsonl" | jq -c 'del(.seconds, .tokens_per_s)' > a.m
$ mgrpo "${M[@]}" --out b --beta 0.04 --iterations 2 --grad-checkpoint "$TESTDATA/grpo/batch.jsonl" | jq -c 'del(.seconds, .tokens_per_s)' > b.m
$ mgrpo "${M[@]}" --out c --loss sft "$TESTDATA/grpo/batch.jsonl" | jq -c 'del(.seconds, .tokens_per_s)' > c.m
$ mgrpo "${M[@]}" --out d --loss sft --grad-checkpoint "$TESTDATA/grpo/batch.jsonl" | jq -c 'del(.seconds, .tokens_per_s)' > d.m
$ cmp a.m b.m && cmp a/latest/model.safetensors b/latest/model.safetensors && cmp a/latest/optimizer.safetensors b/latest/optimizer.safetensors && echo grpo same
$ cmp c.m d.m && cmp c/latest/model.safetensors d/latest/model.safetensors && echo sft same
> grpo same
> sft same

## groups of equal rewards: advantage 0, so with beta 0 a step has loss 0 and gradient 0 and leaves the weights as they were (as a step at --lr 0 writes them)
% requires /usr/bin/jq
$ jq -c '.reward = (if .id == "p0" then 1 else 0.1 end)' "$TESTDATA/grpo/batch.jsonl" > eq.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out a --beta 0 --lr 1e-2 --micro-batch 2 eq.jsonl | jq -c '[.loss, .grad_norm, .reward_std]'
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out b --beta 0 --lr 1e-2 --loss dr_grpo --scale-rewards none eq.jsonl | jq -c '[.loss, .grad_norm, .reward_std]'
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out z --beta 0 --lr 0 "$TESTDATA/grpo/batch.jsonl" > /dev/null
$ cmp a/latest/model.safetensors z/latest/model.safetensors && cmp b/latest/model.safetensors z/latest/model.safetensors && echo unchanged
> [0,0,0]
> [0,0,0]
> unchanged

## a long-running consumer: each batch is trained and checkpointed before the next arrives
% requires /usr/bin/jq
$ for k in 1 2 3; do jq -c --arg k $k '.id += "-" + $k' "$TESTDATA/grpo/batch.jsonl"; done > in.jsonl
$ mkfifo f; (timeout 120 mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out S --groups 2 --save-every 1 < f > s.m; echo "mgrpo rc=$?") &
$ exec 3>f
$ for k in 1 2 3; do sed -n "$((6*k-5)),$((6*k))p" in.jsonl >&3
$   for i in $(seq 600); do [ "$(readlink S/latest)" = "step-00000$k" ] && break; sleep 0.1; done; echo "batch $k: $(readlink S/latest)"; done
$ exec 3>&-; wait; jq -c .step s.m
> batch 1: step-000001
> batch 2: step-000002
> batch 3: step-000003
> mgrpo rc=0
> 1
> 2
> 3

## a bf16 model: bf16 model.safetensors + fp32 master in optimizer.safetensors, exact resume, tokenizer kept
% requires $MRL_BIN/minit
% requires /usr/bin/jq
$ minit tiny -o tb --dtype bf16 -q
$ for k in 1 2 3; do jq -c --arg k $k '.id += "-" + $k | .prompt_ids |= map(. % 263) | .completion_ids |= map(. % 263)' "$TESTDATA/grpo/batch.jsonl"; done > in.jsonl
$ O="-Z -q --threads 1 --model tb --lr 1e-2 --groups 2 --keep 1"
$ mgrpo $O --out A --save-every 1 in.jsonl | jq -c 'del(.seconds, .tokens_per_s)' > a
$ for k in 1 2 3; do sed -n "$((6*k-5)),$((6*k))p" in.jsonl | mgrpo $O --out B > /dev/null; done
$ jq -c 'del(.seconds, .tokens_per_s)' B/metrics.jsonl | cmp - a && cmp A/latest/model.safetensors B/latest/model.safetensors && cmp A/latest/optimizer.safetensors B/latest/optimizer.safetensors && echo same
$ ls A/latest; jq -r .torch_dtype A/latest/config.json
> same
> config.json
> generation_config.json
> model.safetensors
> model.safetensors.index.json
> optimizer.safetensors
> tokenizer.json
> tokenizer_config.json
> trainer_state.json
> bfloat16

## a step directory's model.safetensors.index.json names model.safetensors for each of its tensors and
## nothing else (vLLM loads every *.safetensors of a directory without one, optimizer.safetensors too)
% requires /usr/bin/jq
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --steps 1 --policy-every 1 "$TESTDATA/grpo/batch.jsonl" > /dev/null
$ jq -r '.weight_map | to_entries[] | "\(.key) \(.value)"' run/latest/model.safetensors.index.json > idx
$ head -c 8 run/latest/model.safetensors | od -An -tu8 | { read n; tail -c +9 run/latest/model.safetensors | head -c $n; } > hdr
$ jq -r 'del(.__metadata__) | keys[] | "\(.) model.safetensors"' hdr | cmp - idx && echo same names
$ jq 'del(.__metadata__) | [.[] | .data_offsets[1] - .data_offsets[0]] | add' hdr > size
$ jq .metadata.total_size run/latest/model.safetensors.index.json | cmp - size && echo same size
$ grep -c optimizer run/latest/model.safetensors.index.json; ls run/policy
> same names
> same size
> 0
> config.json
> generation_config.json
> model.safetensors
> trainer_state.json

## SIGTERM between batches: the steps taken are checkpointed, exit 143
% requires /usr/bin/jq
$ for k in 1 2; do jq -c --arg k $k '.id += "-" + $k' "$TESTDATA/grpo/batch.jsonl"; done > in.jsonl
$ mkfifo f; mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out S --groups 2 --save-every 100 < f > s.m & pid=$!
$ exec 3>f; sed -n 1,6p in.jsonl >&3
$ for i in $(seq 600); do [ -s S/metrics.jsonl ] && break; sleep 0.1; done; sleep 0.5
$ kill -TERM $pid; wait $pid; echo "rc=$?"; exec 3>&-; readlink S/latest; jq -c .step s.m
> rc=143
> step-000001
> 1

## SIGHUP (the terminal or the ssh session closed) between batches: a stop as SIGTERM is, the steps
## taken checkpointed, exit 129 (the default kill lost them: no RUNDIR/latest)
% requires /usr/bin/jq
$ for k in 1 2; do jq -c --arg k $k '.id += "-" + $k' "$TESTDATA/grpo/batch.jsonl"; done > in.jsonl
$ mkfifo f; env --default-signal=HUP mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out S --groups 2 --save-every 100 < f > s.m & pid=$!
$ exec 3>f; sed -n 1,6p in.jsonl >&3
$ for i in $(seq 600); do [ -s S/metrics.jsonl ] && break; sleep 0.1; done; sleep 0.5
$ kill -HUP $pid; wait $pid; echo "rc=$?"; exec 3>&-; readlink S/latest; jq -c .step s.m
> rc=129
> step-000001
> 1

## a second SIGTERM right after the first (timeout and shells signal a process and its group)
## does not cut the final checkpoint short; a run stopped before its first checkpoint starts
## over without keeping its metrics lines
% requires /usr/bin/jq
$ (cat "$TESTDATA/grpo/batch.jsonl"; sleep 4) | mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out S --groups 1 --save-every 100 > /dev/null & pid=$!
$ for i in $(seq 300); do [ "$(wc -l < S/metrics.jsonl 2>/dev/null)" = 2 ] && break; sleep 0.05; done
$ kill -TERM $pid; sleep 0.005; kill -TERM $pid; wait $pid; echo "rc=$?"; readlink S/latest
$ MRL_CRASH_AT=1 mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out C --groups 1 "$TESTDATA/grpo/batch.jsonl" > /dev/null; echo "rc=$?"
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out C --groups 1 "$TESTDATA/grpo/batch.jsonl" > /dev/null; jq -c .step C/metrics.jsonl | tr '\n' ' '; echo
> rc=143
> step-000002
> rc=99
> 1 2 

## a checkpoint's config.json is the starting model's, keys mrl does not read included
% requires /usr/bin/jq
$ minit tiny -o m0 -q && mkdir m && cp m0/* m/ && jq '. + {"_name_or_path":"org/model","transformers_version":"4.44.0","eos_token_id":[256,257]}' m0/config.json > m/config.json
$ printf '%s\n' '{"id":"p","prompt_ids":[1,2,3],"completion_ids":[4,5],"reward":1}' '{"id":"p","prompt_ids":[1,2,3],"completion_ids":[6],"reward":0}' | mgrpo --model m --out run --steps 1 --threads 1 -Z -q > /dev/null
$ diff <(jq -S . m/config.json) <(jq -S . run/latest/config.json) && echo same
> same

## --resume insists on a latest checkpoint; a run that cannot start (that, or no --model) leaves
## no empty RUNDIR behind (it was created first)
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --resume "$TESTDATA/grpo/batch.jsonl"; echo "rc=$?"
$ mgrpo -Z -q --threads 1 --out run2 "$TESTDATA/grpo/batch.jsonl"; echo "rc=$?"
$ ls
> rc=1
> rc=2
2> mgrpo: --resume: run has no latest checkpoint
2> mgrpo: --model DIR is needed to start a run (run2 has no latest)
2> Try 'mgrpo --help'.

## an input that ends in a short batch: an error, and the steps taken before it are checkpointed
$ minit tiny -o m -q
$ for i in 1 2 3 4 5; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,6],\"reward\":$i}"; echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[7,8],\"reward\":0}"; done > r.jsonl
$ mgrpo --model m --out run --groups 2 --threads 1 --save-every 0 -Z r.jsonl > /dev/null; echo $?; readlink run/latest
> 1
> step-000002
2> mgrpo: r.jsonl:10: the input ended with 1 group, fewer than --groups 2 (--allow-partial trains on them)
2> mgrpo: the 2 steps taken before the error are checkpointed (step 2)

## the checkpoint an error exit takes cannot be written: that error too, exit 3, no crash, no latest
$ minit tiny -o m -q
$ for i in 1 2 3 4 5; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,6],\"reward\":$i}"; echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[7,8],\"reward\":0}"; done > r.jsonl
$ (ulimit -f 5000; mgrpo --model m --out run --groups 2 --threads 1 --save-every 0 -Z r.jsonl > /dev/null); echo "rc=$?"; test -e run/latest || echo "no latest"
> rc=3
> no latest
2~ ^mgrpo: r\.jsonl:10: the input ended with 1 group, fewer than --groups 2
2~ ^mgrpo: checkpoint run/step-000002: .*optimizer\.safetensors.*: write: File too large$

## metrics.jsonl that cannot take the step's line: the message says why (it said "write error"
## alone), exit 3, and the step is checkpointed
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --steps 1 "$TESTDATA/grpo/batch.jsonl" > /dev/null
$ head -c 600000 /dev/zero | tr '\0' '\n' >> run/metrics.jsonl
$ (ulimit -f 586; mgrpo -Z -q --threads 1 --out run --steps 1 "$TESTDATA/grpo/batch.jsonl" > /dev/null); echo "rc=$?"; readlink run/latest
> rc=3
> step-000002
2> mgrpo: run/metrics.jsonl: write error: File too large
2> mgrpo: the 1 step taken before the error is checkpointed (step 2)

## under a limit on memory (ulimit -v, a batch scheduler's vmem limit; ulimit -d) a run ends, or
## stops at once with a message: OpenBLAS takes a 128 MB work buffer for each call in flight,
## and retries for ever where one does not fit. Linked, it started a thread per core but one that
## did so at load, and mgrpo, its step checkpointed, hung at exit joining it; the first product
## after the model had filled the limit spun the same way (killed here: 137). Now opened with no
## pool, its buffers for --threads taken before the model. The sweep runs from below what the
## build needs to load (127) to where it runs (0).
% requires unsanitized
$ for l in v d; do for v in $(seq 100000 50000 2100000); do rm -rf run; (ulimit -$l $v; timeout -k 1 60 mgrpo -Z -q --threads 4 --model "$TESTDATA/grpo/model" --out run --steps 1 "$TESTDATA/grpo/batch.jsonl" > /dev/null 2> err; echo "$? $(grep -c "out of memory for OpenBLAS's work buffers, 128 MB for each of 4 threads" err)"); done; done 2>/dev/null | awk '$1 == 0 { ran++ } $1 == 3 && $2 == 1 { said++ } $1 >= 124 && $1 != 127 { hung++ } END { print hung + 0, "hung,", (ran > 0 ? "some" : "none"), "ran,", (said > 0 ? "some" : "none"), "named the buffers" }'
> 0 hung, some ran, some named the buffers

## a reader that goes away: exit 0, and the steps taken are checkpointed (latest = metrics)
$ minit tiny -o m -q
$ for i in 1 2 3 4 5; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,6],\"reward\":$i}"; echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[7,8],\"reward\":0}"; done > r.jsonl
$ mgrpo --model m --out run --groups 1 --threads 1 --save-every 0 r.jsonl | head -c 10 > /dev/null; echo ${PIPESTATUS[0]}
$ n=$(wc -l < run/metrics.jsonl); test -e run/latest/model.safetensors && test "$(readlink run/latest)" = "$(printf 'step-%06d' $n)" && echo consistent
> 0
> consistent

## a reader that goes away between the updates of a batch (--iterations 3): the batch is finished
## and checkpointed, exit 0 (the error exit could checkpoint nothing mid-batch: no latest, every
## step since the last checkpoint lost)
$ minit tiny -o m -q
$ for i in 1 2 3; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,6],\"logprobs\":[-5,-5,-5],\"reward\":$i}"; echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[7,8],\"logprobs\":[-5,-5],\"reward\":0}"; done > r.jsonl
$ (sleep 1; cat r.jsonl) | mgrpo --model m --out run --groups 1 --iterations 3 --threads 1 --save-every 0 -Z | true; echo ${PIPESTATUS[1]}
$ readlink run/latest; wc -l < run/metrics.jsonl
> 0
> step-000003
> 3

## --dtype bf16: the reference model computes as the policy does (the same bf16 products, weights not packed), so KL is exactly 0 at the first step
$ mgrpo -Z -q --threads 2 --model "$TESTDATA/grpo/model" --out run --steps 1 --beta 0.04 --dtype bf16 "$TESTDATA/grpo/batch.jsonl" | jq -c '.kl'
> 0

## --dtype bf16 with a head size of 32 (attention's block products on AMX where the CPU has it, bf16 on both sides): KL still exactly 0
% requires /usr/bin/jq
$ minit tiny -o t -q && jq '.hidden_size = 64 | .num_attention_heads = 2 | .num_key_value_heads = 1' t/config.json > c.json && minit c.json -o m -q --dtype bf16
$ for i in 1 2; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\"}"; done | msample --device cpu --model m --threads 1 -n 4 --max-tokens 70 --seed 5 -Z -q | jq -c '.reward = (.sample % 2)' > r.jsonl
$ mgrpo -Z -q --threads 2 --model m --out run2 --steps 1 --beta 0.04 --dtype bf16 r.jsonl | jq -c '.kl'
> 0

## ... and with the attention in fp32 (MRL_CPU_ATTN_AMX=0) the teacher-forced log-probs of 8 rollouts of up to 300 tokens agree within bf16 rounding (2e-2; 2.8e-3 seen) and mgrpo takes the same step (loss and gradient norm within 0.5 %; 0.025 % seen). Where the CPU has no AMX both sides are the fp32 attention and agree exactly; the op itself is checked against float64 in test_ops (attention_amx_bf16)
% requires /usr/bin/jq
$ minit tiny -o t -q && jq '.hidden_size = 128 | .num_attention_heads = 2 | .num_key_value_heads = 1' t/config.json > c.json && minit c.json -o m -q --dtype bf16 --seed 7
$ for i in 1 2; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\"}"; done | msample --device cpu --model m --threads 1 -n 4 --max-tokens 300 --seed 5 -Z -q | jq -c '.reward = (.sample % 2)' > r.jsonl
$ for a in 1 0; do MRL_CPU_ATTN_AMX=$a msample --score --device cpu --model m --dtype bf16 --threads 2 -Z -q r.jsonl | jq -c '.logprobs' > s$a.json; done
$ jq -nc --slurpfile a s1.json --slurpfile b s0.json '[range(0; $a | length) as $i | range(0; $a[$i] | length) as $j | ($a[$i][$j] - $b[$i][$j]) | fabs] | [length > 1000, max <= 0.02]'
> [true,true]
$ for a in 1 0; do MRL_CPU_ATTN_AMX=$a mgrpo -Z -q --threads 2 --model m --out run$a --steps 1 --lr 1e-3 --dtype bf16 r.jsonl > m$a.json; done
$ jq -n --slurpfile a m1.json --slurpfile b m0.json '[$a[0].grad_norm, $b[0].grad_norm, $a[0].loss, $b[0].loss] | (.[0] - .[1] | fabs) <= 0.005 * .[1] and (.[2] - .[3] | fabs) <= 0.005 * ((.[3] | fabs) + 1e-3)'
> true

## --iterations > 1: "logprobs" of the wrong kind or length, or holding null (msample writes a NaN
## so), is named as such with the element (a number was "missing", a null "not a finite number")
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for lp in 5 '[-1]' '[-1,null]'; do for i in 1 2; do echo "{\"id\":\"p\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5],\"logprobs\":$([ $i = 2 ] && echo "$lp" || echo '[-1,-2]'),\"reward\":$i}"; done > r.jsonl; mgrpo --model m --out run --iterations 2 --threads 1 -Z r.jsonl; echo "rc=$?"; done
> rc=1
> rc=1
> rc=1
2> mgrpo: r.jsonl:2: "logprobs" is not an array of log-probs (needed with --iterations > 1)
2> mgrpo: r.jsonl:2: "logprobs" has 1 value for 2 completion tokens
2> mgrpo: r.jsonl:2: "logprobs"[1] is not a finite number (null: how msample writes a NaN)

## --iterations > 1: an old log-prob above 0, or below a float's range, is a bad record named with its value (1e300 below the policy's made the ratio overflow; its NaN named a weight: "gradient not finite")
$ minit tiny -o m -q
$ for lp in 0.5 -1e300; do for i in 1 2; do echo "{\"id\":\"p\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5],\"logprobs\":[-1,$([ $i = 2 ] && echo $lp || echo -2)],\"reward\":$i}"; done > r.jsonl; mgrpo --model m --out run$lp --iterations 2 --threads 1 -Z r.jsonl; echo "rc=$?"; done
> rc=1
> rc=1
2> mgrpo: r.jsonl:2: "logprobs"[1] is 0.5, above 0: not a log-probability
2> mgrpo: r.jsonl:2: "logprobs"[1] is -1e+300, below a float's range

## --loss sft takes groups of any size (a filter keeps different numbers of completions per problem)
$ minit tiny -o m -q
$ for id in a a b b b c; do echo "{\"id\":\"$id\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,6],\"reward\":1}"; done > s.jsonl
$ mgrpo -Z -q --model m --out run --loss sft --groups 3 --threads 1 --no-checkpoint s.jsonl | jq -c '[.step, .groups, .tokens]'
> [1,3,36]

## --loss sft with --iterations 2 needs no logprobs (it has no ratio; SFT data from mtok has none)
$ minit tiny -o m -q
$ for id in a a b b; do echo "{\"id\":\"$id\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,6]}"; done > s.jsonl
$ mgrpo -Z -q --model m --out run --loss sft --iterations 2 --threads 1 --no-checkpoint s.jsonl | jq -c '[.step, .groups]'
> [1,2]
> [2,2]

## a resumed run keeps its schedule without repeating it; a changed option replaces it, with a warning
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for i in 1 2 3 4; do for k in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done > r.jsonl
$ sed -n 1,2p r.jsonl | mgrpo -Z -q --model m --out run --groups 1 --steps 1 --threads 1 --lr 1e-3 --schedule cosine --total-steps 4 --warmup 1 | jq -c .lr
$ sed -n 3,4p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 | jq -c .lr
$ sed -n 5,6p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 --total-steps 5 | jq -c .lr
> 0
> 0.001
> 0.0008535533905932737
2~ ^mgrpo: --total-steps 5 replaces the run's 4 \(.*/trainer_state.json\)$

## ... and its objective (--loss, --beta, --epsilon, ... as trainer_state.json's "objective"): a call
## that leaves them out continues the run as it was; one given with another value replaces it,
## with a warning
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for i in 1 2 3 4; do for k in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done > r.jsonl
$ sed -n 1,2p r.jsonl | mgrpo -Z -q --model m --out run --groups 1 --steps 1 --threads 1 --loss dapo --beta 0 --epsilon-high 0.28 --mask-truncated > /dev/null
$ sed -n 3,4p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 > /dev/null
$ jq -c '[.loss, .objective.loss, .objective.beta, .objective.epsilon, .objective.epsilon_high, .objective.mask_truncated, .objective.iterations]' run/latest/trainer_state.json
$ sed -n 5,6p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 --beta 0.04 --loss dapo > /dev/null
$ jq -c '[.step, .objective.loss, .objective.beta]' run/latest/trainer_state.json
> ["dapo","dapo",0,0.2,0.28,true,1]
> [3,"dapo",0.04]
2~ ^mgrpo: --beta 0.04 replaces the run's 0 \(.*/trainer_state.json\)$

## ... and the optimizer's settings and the micro-batch (bnpo's normaliser): a one-step-per-call loop
## that left them out trained with the defaults from its second call on (weight decay 0, clipping at 1,
## micro-batch 1: a later step's loss 144 % off in test_mgrpo_steps' study case)
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for i in 1 2 3 4; do for k in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done > r.jsonl
$ sed -n 1,4p r.jsonl | mgrpo -Z -q --model m --out run --groups 2 --steps 1 --threads 1 --loss bnpo --micro-batch 2 --weight-decay 0.1 --max-grad-norm 0.3 --adam-beta1 0.8 --adam-beta2 0.99 --adam-epsilon 1e-6 > /dev/null
$ sed -n 5,8p r.jsonl | mgrpo -Z -q --out run --groups 2 --steps 1 --threads 1 > /dev/null
# map(. + 0): jq 1.7 prints a number it read in its own literal form (1e-06 as 0.000001), 1.6 and a sum as a double
$ jq -c '.objective | [.micro_batch, .weight_decay, .max_grad_norm, .adam_beta1, .adam_beta2, .adam_epsilon] | map(. + 0)' run/latest/trainer_state.json
$ sed -n 1,4p r.jsonl | mgrpo -Z -q --out run --groups 2 --steps 1 --threads 1 --micro-batch 1 > /dev/null
$ jq -c '[.step, .objective.micro_batch, .objective.weight_decay]' run/latest/trainer_state.json
> [2,0.1,0.3,0.8,0.99,1e-06]
> [3,1,0.1]
2~ ^mgrpo: --micro-batch 1 replaces the run's 2 \(.*/trainer_state.json\)$

## ... and a new run that gives none of them records mgrpo(1)'s defaults, which its later calls
## keep (clipping at 1 was never checked: every other case gives --max-grad-norm)
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for i in 1 2; do for k in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done | mgrpo -Z -q --model m --out run --groups 2 --steps 1 --threads 1 > /dev/null
$ jq -c '.objective | [.loss, .beta, .epsilon, .micro_batch, .weight_decay, .max_grad_norm, .adam_beta1, .adam_beta2, .adam_epsilon] | map(if type == "number" then . + 0 else . end)' run/latest/trainer_state.json
> ["grpo",0.04,0.2,1,0,1,0.9,0.999,1e-08]

## ... --epsilon-high, left at its default (--epsilon), follows a new --epsilon as on a new run;
## a run from before "objective" was recorded keeps at least its "loss"; --no-mask-truncated
## turns off what a run's --mask-truncated turned on
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for i in 1 2 3 4; do for k in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done > r.jsonl
$ sed -n 1,2p r.jsonl | mgrpo -Z -q --model m --out run --groups 1 --steps 1 --threads 1 > /dev/null
$ sed -n 3,4p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 --epsilon 0.1 2> /dev/null > /dev/null
$ jq -c '.objective | [.epsilon, .epsilon_high]' run/latest/trainer_state.json
$ sed -n 1,2p r.jsonl | mgrpo -Z -q --model m --out old --groups 1 --steps 1 --threads 1 --loss bnpo > /dev/null
$ jq 'del(.objective)' old/latest/trainer_state.json > t.json && cp t.json old/latest/trainer_state.json
$ sed -n 3,4p r.jsonl | mgrpo -Z -q --out old --groups 1 --steps 1 --threads 1 > /dev/null
$ jq -c '[.loss, .objective.loss]' old/latest/trainer_state.json
$ sed -n 5,6p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 --mask-truncated > /dev/null 2>&1
$ sed -n 7,8p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 > /dev/null 2>&1
$ jq -c .objective.mask_truncated run/latest/trainer_state.json
$ sed -n 7,8p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 --no-mask-truncated 2>&1 > /dev/null | sed 's/ (.*//'
$ jq -c .objective.mask_truncated run/latest/trainer_state.json
> [0.1,0.1]
> ["bnpo","bnpo"]
> true
> mgrpo: --no-mask-truncated replaces the run's --mask-truncated
> false

## ... a value in "objective" that its option would refuse (out of range, not a whole number, not
## a number) is an error naming the file and the key, and the run is left as it was; --delta's
## "off" (0, as a run without it records it) is taken
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for i in 1 2; do for k in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done > r.jsonl
$ sed -n 1,2p r.jsonl | mgrpo -Z -q --model m --out run --groups 1 --steps 1 --threads 1 > /dev/null
$ jq -c .objective.delta run/latest/trainer_state.json
$ cp run/latest/trainer_state.json good.json
$ for bad in '.beta = -1' '.iterations = 2.5' '.micro_batch = 0' '.temperature = "hot"' '.delta = 0.5' '.adam_beta2 = 1'; do
$   jq -c ".objective |= ($bad)" good.json > run/latest/trainer_state.json
$   sed -n 3,4p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 2>&1 > /dev/null | sed 's|^mgrpo: .*/run/|mgrpo: run/|'
$ done
$ readlink run/latest
> 0
> mgrpo: run/step-000001/trainer_state.json: "objective": "beta" holds -1, not a value of --beta
> mgrpo: run/step-000001/trainer_state.json: "objective": "iterations" holds 2.5, not a value of --iterations
> mgrpo: run/step-000001/trainer_state.json: "objective": "micro_batch" holds 0, not a value of --micro-batch
> mgrpo: run/step-000001/trainer_state.json: "objective": "temperature" holds "hot", not a value of --temperature
> mgrpo: run/step-000001/trainer_state.json: "objective": "delta" holds 0.5, not a value of --delta
> mgrpo: run/step-000001/trainer_state.json: "objective": "adam_beta2" holds 1, not a value of --adam-beta2
> step-000001

## ... and so is a value in "schedule" its option would refuse (a negative --lr was taken and
## trained uphill; 1e300 steps of warmup were cast to a long), the run left as it was
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for i in 1 2; do for k in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done > r.jsonl
$ sed -n 1,2p r.jsonl | mgrpo -Z -q --model m --out run --groups 1 --steps 1 --threads 1 > /dev/null
$ cp run/latest/trainer_state.json good.json
$ for bad in '.lr = -1' '.warmup = 1e300' '.warmup = 2.5' '.total_steps = -3' '.min_lr_rate = 2'; do
$   jq -c ".schedule |= ($bad)" good.json > run/latest/trainer_state.json
$   sed -n 3,4p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 2>&1 > /dev/null | sed 's|^mgrpo: .*/run/|mgrpo: run/|'
$ done
$ cp good.json run/latest/trainer_state.json; jq -c '.schedule.lr = 0.5' good.json > run/latest/trainer_state.json
$ sed -n 3,4p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 | jq -c "[.step, .lr]"
> mgrpo: run/step-000001/trainer_state.json: "schedule": "lr" holds -1, not a value of --lr
> mgrpo: run/step-000001/trainer_state.json: "schedule": "warmup" holds 1e+300, not a value of --warmup
> mgrpo: run/step-000001/trainer_state.json: "schedule": "warmup" holds 2.5, not a value of --warmup
> mgrpo: run/step-000001/trainer_state.json: "schedule": "total_steps" holds -3, not a value of --total-steps
> mgrpo: run/step-000001/trainer_state.json: "schedule": "min_lr_rate" holds 2, not a value of --min-lr-rate
> [2,0.5]

## ... but a run's own schedule is taken back: a warmup ratio of a long --total-steps records more
## steps than --warmup takes (ceil(0.99 x 2^40)); one past it is named to the step
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for i in 1 2; do for k in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done > r.jsonl
$ sed -n 1,2p r.jsonl | mgrpo -Z -q --model m --out run --groups 1 --steps 1 --threads 1 --schedule linear --warmup 0.99 --total-steps 1099511627776 > /dev/null
$ jq -c '.schedule | [.warmup, .total_steps]' run/latest/trainer_state.json
$ sed -n 3,4p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 | jq -c .step
$ jq -c '.schedule.warmup = 1099511627777' run/latest/trainer_state.json > s.json && mv s.json run/latest/trainer_state.json
$ sed -n 3,4p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 2>&1 > /dev/null | sed 's|^mgrpo: .*/run/|mgrpo: run/|'
> [1088516511499,1099511627776]
> 2
> mgrpo: run/step-000002/trainer_state.json: "schedule": "warmup" holds 1099511627777, not a value of --warmup

## --schedule constant ignores --warmup, as transformers' does (with a warning); constant_with_warmup warms up
$ minit tiny -o m -q
$ for k in 1 2; do echo "{\"id\":\"p\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done > r.jsonl
$ mgrpo -Z -q --model m --out a --lr 1e-3 --schedule constant --warmup 2 --threads 1 --no-checkpoint r.jsonl | jq -c .lr
$ mgrpo -Z -q --model m --out b --lr 1e-3 --schedule constant_with_warmup --warmup 2 --threads 1 --no-checkpoint r.jsonl | jq -c .lr
> 0.001
> 0
2> mgrpo: --warmup has no effect on --schedule constant (as in transformers): constant_with_warmup warms up

## a signal while a group is half read stops the run (130), not a bad-input error
$ minit tiny -o m -q
$ (for id in p1 p1 p2; do echo "{\"id\":\"$id\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,6],\"reward\":1}"; done; sleep 3) | (timeout -s INT --preserve-status 1 mgrpo -Z -q --model m --out run --groups 2 --threads 1; echo "rc $?")
> rc 130

## --skip-bad is a usage error: a step takes whole groups
$ mgrpo --out run --skip-bad < /dev/null
2> mgrpo: --skip-bad: mgrpo has none (drop bad records before it: mreward or mfilter --skip-bad)
2> Try 'mgrpo --help'.
? 2

## a checkpoint that cannot be written (here: past the file-size limit) is reported once and
## not tried a second time by the error exit; no partial checkpoint, no latest
$ (trap '' XFSZ; ulimit -f 200; mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out E --groups 1 --save-every 1 --steps 2 "$TESTDATA/grpo/batch.jsonl" > /dev/null 2> err; echo "rc $?")
$ grep -c 'checkpoint E/step-000001: .*File too large' err; ls -A E
> rc 3
> 1
> .lock
> metrics.jsonl
> rollouts

## started with stdout closed (>&-), the metrics are not written into RUN/.lock (which took descriptor 1: exit 0, every step's line in the lock file and none anywhere else): the first line is a write error, the steps taken are checkpointed, and .lock holds the pid and host
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out E --groups 1 --save-every 1 "$TESTDATA/grpo/batch.jsonl" >&- 2> err; echo "rc $?"; cat err; grep -c step E/.lock; readlink E/latest
> rc 3
> mgrpo: <stdout>: write error: Bad file descriptor
> mgrpo: the 1 step taken before the error is checkpointed (step 1)
> 0
> step-000001

## --out '' and -o '' are usage errors (--out '' was ": cannot create the run directory", exit 3; -o '' failed at the end, after every step)
$ mgrpo -q --model "$TESTDATA/grpo/model" --out '' "$TESTDATA/grpo/batch.jsonl"; echo "rc $?"; mgrpo -q --model "$TESTDATA/grpo/model" --out R -o '' "$TESTDATA/grpo/batch.jsonl" 2>/dev/null; echo "rc $?"; ls -A | grep -c -v '^\.std' || :
> rc 2
> rc 2
> 0
2> mgrpo: --out: the name is empty
2> Try 'mgrpo --help'.

## a tokenizer file of --model that a checkpoint cannot copy (here a directory; as a user, one not readable) is an error at the start: it was found by the first save, which failed (exit 3) and took every step before it along (no checkpoint at all)
$ cp -r "$TESTDATA/grpo/model" M; mkdir M/tokenizer.json
$ mgrpo -Z -q --threads 1 --model M --out E --groups 1 --save-every 2 "$TESTDATA/grpo/batch.jsonl" > m; echo "rc $?"; wc -l < m
> rc 1
> 0
2> mgrpo: M/tokenizer.json: Is a directory (each checkpoint copies it from the model directory)

## a JSON file a checkpoint copies that is not one JSON object (a tokenizer.json cut short, or
## empty) is an error at the start, from --model and from the checkpoint a run resumes from: it was copied into every step
## after it, and only msample loading the tokenizer said so
$ cp -r "$TESTDATA/grpo/model" T; echo '{' > T/tokenizer.json
$ mgrpo -Z -q --threads 1 --model T --out R --steps 1 "$TESTDATA/grpo/batch.jsonl"; echo "rc $?"; test -e R || echo none
$ : > T/tokenizer.json; mgrpo -Z -q --threads 1 --model T --out R --steps 1 "$TESTDATA/grpo/batch.jsonl"; echo "rc $?"; test -e R || echo none
$ echo '{}' > T/tokenizer.json; mgrpo -Z -q --threads 1 --model T --out R --steps 1 "$TESTDATA/grpo/batch.jsonl" > /dev/null; echo "rc $?"
$ echo '{' > R/step-000001/tokenizer.json; mgrpo -Z -q --threads 1 --out R --steps 1 "$TESTDATA/grpo/batch.jsonl"; echo "rc $?"; readlink R/latest
> rc 1
> none
> rc 1
> none
> rc 0
> rc 1
> step-000001
2> mgrpo: T/tokenizer.json: not valid JSON: Unfinished JSON term at EOF at line 2, column 0 (each checkpoint copies it from the model directory)
2> mgrpo: T/tokenizer.json: not one JSON object (each checkpoint copies it from the model directory)
2> mgrpo: R/step-000001/tokenizer.json: not valid JSON: Unfinished JSON term at EOF at line 2, column 0 (each checkpoint copies it from the model directory)

## the run directory removed, or replaced (mv run run.old; mkdir run), while mgrpo runs is an error naming it (exit 3): it went on silently (exit 0) in a new run directory, made again by the next step's writes, without the earlier steps' metrics and rollouts and without the lock
$ head -n 3 "$TESTDATA/grpo/batch.jsonl" > a.jsonl; tail -n 3 "$TESTDATA/grpo/batch.jsonl" > b.jsonl
$ for how in rm mv; do
$   coproc MG { mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --batches-from - --save-every 1 2> err; echo "rc $?" > rc; }
$   echo a.jsonl >&${MG[1]}; read -r line <&${MG[0]}
$   if [ $how = rm ]; then rm -r run; else mv run run.old; mkdir run; fi
$   echo b.jsonl >&${MG[1]}; exec {MG[1]}>&-; wait; cat rc err; ls run 2>&1; rm -rf run run.old
$ done
> rc 3
> mgrpo: run: the run directory was removed while mgrpo ran (its steps would go on in a new one, without the earlier steps)
> ls: cannot access 'run': No such file or directory
> rc 3
> mgrpo: run: the run directory was replaced while mgrpo ran (its steps would go on in a new one, without the earlier steps)

## RUNDIR/metrics.jsonl a symbolic link: the resumed run's rewrite (the steps after latest dropped) goes to its target, as -o does, and the link stays (it was replaced by a file: the target kept steps 1 and 2 of the run killed before its checkpoint, and got nothing after)
$ mkdir R; : > m.jsonl; ln -s ../m.jsonl R/metrics.jsonl
$ MRL_CRASH_AT=1 mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out R --groups 1 --save-every 2 "$TESTDATA/grpo/batch.jsonl" > /dev/null; echo "rc $?"; wc -l < m.jsonl
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out R --groups 1 --save-every 2 "$TESTDATA/grpo/batch.jsonl" > /dev/null; readlink R/metrics.jsonl; jq -c .step m.jsonl
> rc 99
> 2
> ../m.jsonl
> 1
> 2

## --batches-from: each named file is one batch, ids and group size start over in each (the same steps as one invocation per file, bit for bit); --policy-every writes RUN/policy, the model files alone, before the step's line
$ head -n 3 "$TESTDATA/grpo/batch.jsonl" > a.jsonl; tail -n 3 "$TESTDATA/grpo/batch.jsonl" > b.jsonl
$ for f in a b a; do mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out r1 --steps 1 --lr 1e-3 $f.jsonl; done | jq -c 'del(.seconds, .tokens_per_s)' > m1
$ mkdir -p r2/policy-000009 && ln -s policy-000009 r2/policy
$ printf 'a.jsonl\n\nb.jsonl\na.jsonl\n' | mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out r2 --lr 1e-3 --policy-every 2 --batches-from - | jq -c 'del(.seconds, .tokens_per_s)' > m2
$ cmp m1 m2 && cmp r1/latest/model.safetensors r2/latest/model.safetensors && cmp r1/latest/optimizer.safetensors r2/latest/optimizer.safetensors && echo same
$ readlink r2/policy; ls r2/policy/ | tr '\n' ' '; echo; ls -d r2/policy-* r2/step-*
$ cmp r2/policy/model.safetensors r1/step-000002/model.safetensors && echo "policy is step 2's"
> same
> policy-000002
> config.json generation_config.json model.safetensors trainer_state.json 
> r2/policy-000002
> r2/step-000003
> policy is step 2's

## a policy snapshot (--policy-every) holds its step in trainer_state.json, the step msample records
## as policy.step (it recorded 0 for every RUN/policy: a snapshot had no trainer_state.json)
% requires /usr/bin/jq
$ minit tiny -o tb -q
$ jq -c '.prompt_ids |= map(. % 263) | .completion_ids |= map(. % 263)' "$TESTDATA/grpo/batch.jsonl" > a.jsonl
$ printf 'a.jsonl\na.jsonl\n' | mgrpo -Z -q --threads 1 --model tb --out run --lr 1e-3 --policy-every 1 --batches-from - > /dev/null
$ readlink run/policy; echo '{"id":"a","problem":"x"}' | msample --device cpu --model run/policy -Z -q --max-tokens 2 | jq -c .policy.step
> policy-000002
> 2

## --batches-from FIFO: a signal while its open waits for the writer is a stop (130, no RUNDIR
## made), not an error (1, "L: Interrupted system call"); the signal is sent again until mgrpo
## has ended (one before its handler is ignored, as a background job's SIGINT is), and the writer
## at the end only frees an mgrpo still waiting, so that the case cannot hang
$ mkfifo L; mgrpo -Z -q --model "$TESTDATA/grpo/model" --out run --batches-from L & p=$!
$ alive() { s=$(cut -d' ' -f3 "/proc/$1/stat" 2> /dev/null) && [ "$s" != Z ]; }
$ for i in $(seq 50); do alive $p || break; kill -INT $p; sleep 0.2; done
$ timeout 0.5 sh -c ': > L' 2> /dev/null; wait $p; echo "rc $?"; ls
> rc 130
> L
2>

## --batches-from: an empty batch is an error (a driver waits for its step), the steps before it checkpointed; no FILE arguments, no --groups
$ head -n 3 "$TESTDATA/grpo/batch.jsonl" > a.jsonl; : > empty.jsonl
$ printf 'a.jsonl\nempty.jsonl\n' | mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --batches-from - >/dev/null; echo "rc $?"; readlink run/latest
$ mgrpo -Z -q --model "$TESTDATA/grpo/model" --out run2 --batches-from - a.jsonl; echo "rc $?"
$ mgrpo -Z -q --model "$TESTDATA/grpo/model" --out run2 --batches-from - --groups 2 < /dev/null; echo "rc $?"
> rc 1
> step-000001
> rc 2
> rc 2
2> mgrpo: empty.jsonl: no records to train on: no step taken
2> mgrpo: the 1 step taken before the error is checkpointed (step 1)
2> mgrpo: --batches-from names the input files: no FILE arguments with it
2> Try 'mgrpo --help'.
2> mgrpo: --batches-from: each file is one batch, no --groups
2> Try 'mgrpo --help'.

## --batches-from: a batch's metrics line comes after the batch's checkpoint, so a driver that acts on the line (grpo-loop.sh PERSIST=1 prunes step directories by RUN/latest) finds latest on that step (the line came first, latest moved while the driver read it)
$ head -n 3 "$TESTDATA/grpo/batch.jsonl" > a.jsonl
$ coproc MG { mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --lr 1e-3 --save-every 1 --policy-every 1 --batches-from -; }
$ for i in 1 2 3; do echo a.jsonl >&${MG[1]}; read -r l <&${MG[0]}; if [ run/latest -ef run/step-00000$i ]; then echo "$i latest"; else echo "$i not yet"; fi; done
$ exec {MG[1]}>&-; wait; echo "rc $?"
> 1 latest
> 2 latest
> 3 latest
> rc 0

## --batches-from: the last batch's line (--steps reached, or a signal) also waits for its checkpoint, the final one (it came before it)
$ head -n 3 "$TESTDATA/grpo/batch.jsonl" > a.jsonl
$ coproc MG { mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --lr 1e-3 --save-every 1 --steps 2 --batches-from -; }
$ for i in 1 2; do echo a.jsonl >&${MG[1]}; read -r l <&${MG[0]}; if [ run/latest -ef run/step-00000$i ]; then echo "$i latest"; else echo "$i not yet"; fi; done
$ exec {MG[1]}>&-; wait; echo "rc $?"
> 1 latest
> 2 latest
> rc 0

## the snapshots an earlier run left (--policy-every) go when the run goes on without --policy-every too, as mgrpo(1) says: RUN/policy named a step behind latest
$ head -n 3 "$TESTDATA/grpo/batch.jsonl" > a.jsonl
$ echo a.jsonl | mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --lr 1e-3 --policy-every 1 --batches-from - > /dev/null
$ mgrpo -Z -q --threads 1 --out run --lr 1e-3 --steps 1 a.jsonl > /dev/null; ls run | grep -c policy; readlink run/latest
> 0
> step-000002

## the progress line (--progress) counts steps and the tokens trained on per second, as SPEC's
## progress line does (it showed steps/s alone)
$ mgrpo -Z --progress --threads 1 --model "$TESTDATA/grpo/model" --out run --steps 1 --no-checkpoint "$TESTDATA/grpo/batch.jsonl" 2>&1 >/dev/null | tr '\r' '\n' | grep -c '^mgrpo: 1 step, [0-9]* steps/s, [0-9]* tokens/s'
> 1

## --ref is recorded whatever --beta, so a later step with a KL term uses it (a run started at --beta 0 recorded null: the starting model served instead); a --model that is not a model directory leaves no RUNDIR
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --ref "$TESTDATA/grpo/model" --beta 0 --out run --steps 1 "$TESTDATA/grpo/batch.jsonl" > /dev/null
$ jq -r '.ref | test("grpo/model$")' run/latest/trainer_state.json
$ mgrpo -Z -q --threads 1 --model nope --out run2 "$TESTDATA/grpo/batch.jsonl"; echo "rc $?"; ls -d run2 2>/dev/null || echo "no run2"
> true
> rc 1
> no run2
2~ ^mgrpo: nope

## token ids that are not: the message names the element and what it holds
$ sed '1s/"prompt_ids": \[/"prompt_ids": ["x",/' "$TESTDATA/grpo/batch.jsonl" > b1.jsonl
$ sed '1s/"prompt_ids": \[[^]]*\]/"prompt_ids": "abc"/' "$TESTDATA/grpo/batch.jsonl" > b2.jsonl
$ sed '2s/"completion_ids": \[/"completion_ids": [2.5,/' "$TESTDATA/grpo/batch.jsonl" > b3.jsonl
$ for f in b1 b2 b3; do mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out r$f $f.jsonl; done
2> mgrpo: b1.jsonl:1: "prompt_ids[0]" is a string, not a token id
2> mgrpo: b2.jsonl:1: "prompt_ids" is a string, not an array of token ids
2> mgrpo: b3.jsonl:2: "completion_ids[0]" is 2.5, not a token id of the model (0 to 299)
? 1

## --batches-from a list that does not exist: an error before RUNDIR is made
$ mgrpo -Z -q --model "$TESTDATA/grpo/model" --out run --batches-from nolist; echo "rc $?"; ls -d run 2>/dev/null || echo "no run"
> rc 1
> no run
2> mgrpo: nolist: No such file or directory

## --batches-from -: records piped in where the list of their files belongs (plain or zstd) are
## named as such, not "No such file or directory" after a whole record or zstd bytes
$ head -n 3 "$TESTDATA/grpo/batch.jsonl" > a.jsonl
$ mgrpo -Z -q --model "$TESTDATA/grpo/model" --out run --batches-from - < a.jsonl; echo "rc $?"
$ zstd -q -c a.jsonl | mgrpo -Z -q --model "$TESTDATA/grpo/model" --out run --batches-from -; echo "rc $?"
> rc 1
> rc 1
2> mgrpo: --batches-from -: holds records, not the names of batch files (one a line); records go to mgrpo as FILE arguments or stdin, without --batches-from
2> mgrpo: --batches-from -: holds records, not the names of batch files (one a line); records go to mgrpo as FILE arguments or stdin, without --batches-from

## --batches-from -: a batch named - (standard input, which is the list) is refused, the steps before it checkpointed
$ head -n 3 "$TESTDATA/grpo/batch.jsonl" > a.jsonl
$ printf 'a.jsonl\n-\n' | mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out run --batches-from - >/dev/null; echo "rc $?"; readlink run/latest
> rc 2
> step-000001
2> mgrpo: --batches-from -: a batch named - would be standard input, which is the list
2> Try 'mgrpo --help'.
2> mgrpo: the 1 step taken before the error is checkpointed (step 1)

## a resumed run given another --ref takes it with a warning (it replaced the recorded reference
## without a word); the same --ref again (as an absolute or relative path) says nothing
$ minit tiny -o m -q --seed 1
$ minit tiny -o r2 -q --seed 2
$ for i in 1 2 3; do for k in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done > r.jsonl
$ sed -n 1,2p r.jsonl | mgrpo -Z -q --model m --ref m --out run --groups 1 --steps 1 --threads 1 > /dev/null
$ sed -n 3,4p r.jsonl | mgrpo -Z -q --out run --ref "$PWD/m" --groups 1 --steps 1 --threads 1 > /dev/null
$ sed -n 5,6p r.jsonl | mgrpo -Z -q --out run --ref r2 --groups 1 --steps 1 --threads 1 > /dev/null
2~ ^mgrpo: --ref .*/r2 replaces the run's reference .*/m \(.*/trainer_state.json\)$

## two mgrpo writing one --out at once (a loop started twice, a requeued job whose first run
## still lives): the second is refused, naming the first; both had exited 0 with every step
## written twice into metrics.jsonl and each other's step directories overwritten; fd 3 is opened read-write (a first mgrpo that died before opening f left "exec 3> f" waiting for good)
$ mkfifo f
$ (mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out R --steps 1 f > /dev/null; echo "first rc $?" > first) &
$ exec 3<> f; for i in $(seq 100); do [ -e R/.lock ] && break; sleep 0.1; done; sleep 0.5
$ mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out R --steps 1 "$TESTDATA/grpo/batch.jsonl"; echo "second rc $?"
$ cat "$TESTDATA/grpo/batch.jsonl" >&3; exec 3>&-; wait; cat first; wc -l < R/metrics.jsonl
> second rc 1
> first rc 0
> 1
2~ ^mgrpo: R: in use by another mgrpo \(pid [0-9]+( on [^)]*)?\): two runs writing one directory would overwrite each other's steps and metrics \(wait for it to end, or give this one another --out\)$

## a metrics.jsonl whose last line lost only its newline (truncate -s -1, an editor) keeps that
## line on resume, its newline given back (it was taken for a torn line: step 2 went); a tail
## that does not parse is torn and goes
% requires /usr/bin/jq
$ S="$TESTDATA/grpo-steps"
$ mgrpo -Z -q --threads 1 --model "$S/model" --out run --groups 1 --steps 2 "$S/batch.jsonl" > /dev/null
$ truncate -s -1 run/metrics.jsonl
$ mgrpo -Z -q --threads 1 --out run --groups 1 --steps 1 "$S/batch.jsonl" > /dev/null
$ jq -c .step run/metrics.jsonl | paste -sd' '
$ printf '{"step":4,"lo' >> run/metrics.jsonl
$ mgrpo -Z -q --threads 1 --out run --groups 1 --steps 1 "$S/batch.jsonl" > /dev/null
$ jq -c .step run/metrics.jsonl | paste -sd' '
> 1 2 3
> 1 2 3 4

## a resumed run's state is checked: in trainer_state.json a "step" other than the checkpoint's,
## a data position that is not a count, a model that is not a name; in optimizer.safetensors a
## "step" other than the checkpoint's and a moment that is not finite (or a negative second moment). Each is an error naming
## the file and the field or tensor, and the run is left as it was (all were taken: the NaN went
## into every weight at the next step)
% requires /usr/bin/jq
$ S="$TESTDATA/grpo-steps"
$ mgrpo -Z -q --threads 1 --model "$S/model" --out run --groups 1 --steps 1 "$S/batch.jsonl" > /dev/null
$ cp run/latest/trainer_state.json good.json; cp run/latest/optimizer.safetensors good.st
$ for bad in '.data.groups = -5' '.data.groups = "a"' '.data.records = 2.5' 'del(.data)' '.step = "x"' '.step = 2' '.model = 3'; do
$   jq "$bad" good.json > run/latest/trainer_state.json
$   mgrpo -Z -q --threads 1 --out run --groups 1 --steps 1 "$S/batch.jsonl" 2>&1 > /dev/null
$ done
$ cp good.json run/latest/trainer_state.json
$ perl -pi -e 's/"step":"1"/"step":"7"/' run/latest/optimizer.safetensors
$ mgrpo -Z -q --threads 1 --out run --groups 1 --steps 1 "$S/batch.jsonl" 2>&1 > /dev/null
$ cp good.st run/latest/optimizer.safetensors
$ n=$(od -An -tu8 -N8 good.st | tr -d ' '); off=$(head -c $((8 + n)) good.st | tail -c $n | jq '.["exp_avg_sq.model.norm.weight"].data_offsets[0]')
$ printf '\000\000\300\177' | dd of=run/latest/optimizer.safetensors bs=1 seek=$((8 + n + off + 8)) conv=notrunc 2>/dev/null
$ mgrpo -Z -q --threads 1 --out run --groups 1 --steps 1 "$S/batch.jsonl" 2>&1 > /dev/null
$ cp good.st run/latest/optimizer.safetensors
$ printf '\000\000\200\277' | dd of=run/latest/optimizer.safetensors bs=1 seek=$((8 + n + off + 8)) conv=notrunc 2>/dev/null
$ mgrpo -Z -q --threads 1 --out run --groups 1 --steps 1 "$S/batch.jsonl" 2>&1 > /dev/null
$ readlink run/latest; jq -c .step run/metrics.jsonl
> mgrpo: run/step-000001/trainer_state.json: "data.groups" is -5, not a count (a whole number, 0 or more)
> mgrpo: run/step-000001/trainer_state.json: "data.groups" is "a", not a count (a whole number, 0 or more)
> mgrpo: run/step-000001/trainer_state.json: "data.records" is 2.5, not a count (a whole number, 0 or more)
> mgrpo: run/step-000001/trainer_state.json: "data" is missing or not an object
> mgrpo: run/step-000001/trainer_state.json: "step" is "x", not a count (a whole number, 0 or more)
> mgrpo: run/step-000001/trainer_state.json: "step" is 2, but the checkpoint is step 1
> mgrpo: run/step-000001/trainer_state.json: "model" is not a directory name (a string)
> mgrpo: run/step-000001/optimizer.safetensors: metadata "step" is 7, but the checkpoint is step 1
> mgrpo: run/step-000001/optimizer.safetensors: tensor "exp_avg_sq.model.norm.weight" holds nan at element 2 (not a finite number)
> mgrpo: run/step-000001/optimizer.safetensors: tensor "exp_avg_sq.model.norm.weight" holds -1 at element 2 (a second moment is never negative)
> step-000001
> 1

## a tensor in another dtype than config.json's is refused, naming the tensor and both dtypes
## (F16 weights under float32 were converted, F32 under bfloat16 too, and saved as bf16)
% requires /usr/bin/jq
$ minit tiny -o h -q --dtype fp16 && minit tiny -o f -q
$ jq '.torch_dtype = "float32"' h/config.json > c && cp c h/config.json
$ jq '.torch_dtype = "bfloat16"' f/config.json > c && cp c f/config.json
$ for k in 1 2; do echo "{\"id\":\"p\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done > r.jsonl
$ for m in h f; do mgrpo -Z -q --threads 1 --model $m --out run-$m r.jsonl; echo "rc $?"; done
> rc 1
> rc 1
2> mgrpo: h/model.safetensors: "model.embed_tokens.weight" has dtype F16, but config.json's dtype is float32 (F32)
2> mgrpo: f/model.safetensors: "model.embed_tokens.weight" has dtype F32, but config.json's dtype is bfloat16 (BF16)

## ... while a config.json that names no dtype takes the tensors as they are (transformers
## converts them to its default): bf16 weights under it train
% requires /usr/bin/jq
$ minit tiny -o n -q --dtype bf16 && jq -c 'del(.torch_dtype, .dtype)' n/config.json > c && cp c n/config.json
$ for k in 1 2; do echo "{\"id\":\"p\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done > r.jsonl
$ mgrpo -Z -q --threads 1 --model n --out run-n r.jsonl | jq -c .step
> 1

## a weight that is NaN: the error names it (it said only "the gradient is not finite")
% requires /usr/bin/jq
$ minit tiny -o nanm -q && f=nanm/model.safetensors && n=$(od -An -t u8 -N8 $f | tr -d ' ')
$ off=$(dd if=$f bs=1 skip=8 count=$n 2>/dev/null | jq '.["model.norm.weight"].data_offsets[0]')
$ printf '\000\000\300\177' | dd of=$f bs=1 seek=$((8 + n + off)) conv=notrunc 2>/dev/null
$ for k in 1 2; do echo "{\"id\":\"p\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done > r.jsonl
$ mgrpo -Z -q --threads 1 --model nanm --out run-nan r.jsonl; echo "rc $?"; test -e run-nan || echo "no run-nan"
> rc 1
> no run-nan
2> mgrpo: step 1: the gradient is not finite; no update taken: the weight "model.norm.weight" holds a NaN or inf (is the model whole?)

## a step that fails before its update leaves no rollouts/step-N (the records step N trained on):
## step 2, whose gradient overflows after an SGD step at --lr 1000, left rollouts/step-000002
## beside latest -> step-000001 (and, as step 1 above, a run directory mgrpo had made stayed)
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for g in p q; do for k in 1 2; do echo "{\"id\":\"$g\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done > r.jsonl
$ mgrpo -Z -q --threads 1 --model m --out run --groups 1 --save-every 0 --lr 1000 --optimizer sgd --max-grad-norm 0 r.jsonl | jq -c .step; echo "rc ${PIPESTATUS[0]}"
$ ls run/rollouts; readlink run/latest
> 1
> rc 1
> step-000001.jsonl.zst
> step-000001
2> mgrpo: step 2: the gradient is not finite; no update taken: first in the gradient of "model.embed_tokens.weight"
2> mgrpo: the 1 step taken before the error is checkpointed (step 1)

## a resume keeps the run's seed (trainer_state.json's "seed" and "rng") unless --seed gives one:
## it recorded 0, the default, from the first resumed step
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for g in p q r; do for k in 1 2; do echo "{\"id\":\"$g\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done > r.jsonl
$ mgrpo -Z -q --threads 1 --model m --out run --seed 5 --groups 1 --steps 1 r.jsonl > /dev/null
$ mgrpo -Z -q --threads 1 --out run --groups 1 --steps 1 --resume-data r.jsonl > /dev/null; jq -c '[.step, .seed, .rng.seed]' run/latest/trainer_state.json
$ mgrpo -Z -q --threads 1 --out run --groups 1 --steps 1 --resume-data --seed 7 r.jsonl > /dev/null; jq -c '[.step, .seed, .rng.seed]' run/latest/trainer_state.json
$ jq '.seed = -1' run/latest/trainer_state.json > s && cp s run/latest/trainer_state.json
$ mgrpo -Z -q --threads 1 --out run --groups 1 --steps 1 --resume-data r.jsonl 2>&1 | sed 's|/.*/run/|run/|'; echo "rc ${PIPESTATUS[0]}"
> [2,5,5]
> [3,7,7]
> mgrpo: run/step-000003/trainer_state.json: "seed" is not a whole number in [0, 2^64) (--seed N gives the run one)
> rc 1

## --out that is a model or a step directory (RUN/latest for RUN, a slip) is a usage error: a new run
## started inside it, its metrics, rollouts and step directories among the model's files
$ minit tiny -o m -q
$ for k in 1 2; do echo "{\"id\":\"p\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done > r.jsonl
$ mgrpo -Z -q --threads 1 --model m --out run r.jsonl > /dev/null
$ for o in run/latest m; do mgrpo -Z -q --threads 1 --model m --out $o r.jsonl 2>&1 | head -1; echo "rc ${PIPESTATUS[0]}"; done; ls run/latest/ m | grep metrics | wc -l
> mgrpo: --out run/latest holds config.json: a model or a step directory, not a run (name a new directory, or a run's)
> rc 2
> mgrpo: --out m holds config.json: a model or a step directory, not a run (name a new directory, or a run's)
> rc 2
> 0

## --no-checkpoint starts over as a new run does: an earlier run's metrics lines go (they stayed,
## and two runs wrote steps 1 2 1 2)
% requires /usr/bin/jq
$ S="$TESTDATA/grpo-steps"
$ for i in 1 2; do mgrpo -Z -q --threads 1 --model "$S/model" --out run --groups 1 --steps 2 --no-checkpoint "$S/batch.jsonl" > /dev/null; done
$ jq -c .step run/metrics.jsonl | paste -sd' '
> 1 2

## --warmup: steps are a whole number, a ratio is below 1 (1.5 was taken as 1 step)
$ mgrpo --out r --warmup 1.5 </dev/null; echo "rc=$?"; test -e r || echo none
> rc=2
> none
2> mgrpo: --warmup: '1.5' is neither a whole number of steps nor a ratio below 1
2> Try 'mgrpo --help'.

## --out naming a file that is not a directory: exit 1, said so (it was "afile/.lock: Not a directory", exit 3)
$ touch afile
$ mgrpo -Z -q --model "$TESTDATA/grpo/model" --out afile "$TESTDATA/grpo/batch.jsonl"; echo "rc=$?"
> rc=1
2> mgrpo: --out afile: exists and is not a directory

## --adam-beta1 and --adam-beta2 take [0, 1), and say so (1 was "not a number in [0, 1]")
$ mgrpo --out r --adam-beta1 1 </dev/null; echo "rc=$?"
$ mgrpo --out r --adam-beta2 0.9999999995 --adam-beta1 -0.1 </dev/null; echo "rc=$?"
> rc=2
> rc=2
2> mgrpo: --adam-beta1: '1' is not a number in [0, 1)
2> Try 'mgrpo --help'.
2> mgrpo: --adam-beta1: '-0.1' is not a number in [0, 1)
2> Try 'mgrpo --help'.

## --delta 0 turns dual clip off, as a run without it records it: the one way to turn a resumed
## run's --delta off (it was a usage error, "not a number in [1, 1e+09]"); 0.5 is still refused
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for i in 1 2; do for k in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done > r.jsonl
$ sed -n 1,2p r.jsonl | mgrpo -Z -q --model m --out run --groups 1 --steps 1 --threads 1 --delta 2 > /dev/null
$ sed -n 3,4p r.jsonl | mgrpo -Z -q --out run --groups 1 --steps 1 --threads 1 --delta 0 2>&1 > /dev/null | sed 's/ (.*//'
$ jq -c '[.step, .objective.delta]' run/latest/trainer_state.json
$ mgrpo -Z -q --out run --delta 0.5 < /dev/null 2>&1; echo "rc $?"
> mgrpo: --delta 0 replaces the run's 2
> [2,0]
> mgrpo: --delta: '0.5' is neither 0 (off) nor at least 1
> Try 'mgrpo --help'.
> rc 2

## the rank comes from the first set of variables that is there, mgrpo's own MRL_* before a
## launcher's (mgrpo(1)): under srun's SLURM_* as rank 1 of 2, MRL_RANK=0 MRL_WORLD=1 is one process
$ minit tiny -o m -q
$ for k in 1 2; do echo "{\"id\":\"p\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done > r.jsonl
$ MRL_RANK=0 MRL_WORLD=1 SLURM_PROCID=1 SLURM_NTASKS=2 mgrpo -Z -q --model m --out run --threads 1 --no-checkpoint --device cpu r.jsonl | jq -c .step
> 1

## --total-steps is needed by a --warmup ratio under every schedule, constant too (mgrpo(1)), not only
## by linear and the cosines
$ mgrpo --out run --warmup 0.1 </dev/null; echo "rc $?"; test -e run || echo none
> rc 2
> none
2> mgrpo: --warmup as a ratio needs --total-steps
2> Try 'mgrpo --help'.

## an --optimizer left out on resume takes the run's, as the objective options do (mgrpo(1)): an sgd
## run's second invocation without it was refused ("optimizer state is for sgd, the run uses adamw");
## one given that differs is still an error
% requires /usr/bin/jq
$ minit tiny -o m -q
$ for i in 1 2 3; do for k in 1 2; do echo "{\"id\":\"p$i\",\"prompt_ids\":[1,2,3],\"completion_ids\":[4,5,$k],\"reward\":$k}"; done; done > r.jsonl
$ sed -n 1,2p r.jsonl | mgrpo -Z -q --model m --out run --threads 1 --optimizer sgd > /dev/null
$ sed -n 3,4p r.jsonl | mgrpo -Z -q --out run --threads 1 | jq -c .step
$ sed -n 5,6p r.jsonl | mgrpo -Z -q --out run --threads 1 --optimizer adamw; echo "rc $?"
> 2
> rc 1
2> mgrpo: run/step-000002/optimizer.safetensors: optimizer state is for sgd, the run uses adamw

## a run that ends before its first step (a missing input, --ref or -o directory, no records) removes the RUNDIR it made, as one that cannot start at all does (each left RUNDIR/.lock behind); a RUNDIR that was there stays
$ for a in nope.jsonl "--ref nope $TESTDATA/grpo/batch.jsonl" "-o no/m $TESTDATA/grpo/batch.jsonl" /dev/null; do mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out a/run $a 2>/dev/null; echo "rc $? $(test -e a/run && echo left || echo none)"; done
$ mkdir old; mgrpo -Z -q --threads 1 --model "$TESTDATA/grpo/model" --out old nope.jsonl 2>/dev/null; echo "rc $?"; ls -A old
> rc 1 none
> rc 1 none
> rc 3 none
> rc 1 none
> rc 1
> .lock
