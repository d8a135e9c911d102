# msample: record errors, shards, usage. Sampling itself is tested against PyTorch in
# tests/unit/test_msample.c (fixture from tests/ref/msample_ref.py).

## a record without "problem": the groups before it are written, then exit 1
% requires $TESTDATA/msample/model/model.safetensors
$ printf '{"id":"a","problem":"What is 1+1?"}\n{"id":"b"}\n{"id":"c","problem":"x"}\n' > in.jsonl
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q -n 2 --max-tokens 4 --batch 4 in.jsonl > out; rc=$?
$ jq -c '[.id, .sample, .finish, (.completion_ids | length), (.logprobs | length)]' out; exit $rc
> ["a",0,"length",4,4]
> ["a",1,"length",4,4]
2> msample: in.jsonl:2: "problem" is missing
? 1

## a file given where a model directory belongs (--model train.jsonl, a newcomer's slip) is named
## as such, by every tool that takes --model, not as "train.jsonl/config.json: Not a directory"
$ echo '{"id":"a","problem":"x"}' > train.jsonl
$ msample --model train.jsonl -Z train.jsonl; echo "rc $?"
$ echo '{"id":"a","prompt_ids":[1],"completion_ids":[2],"reward":1}' | mgrpo --model train.jsonl --out run -Z; echo "rc $?"
$ mtok count --model train.jsonl -Z train.jsonl; echo "rc $?"
$ mfilter --max-tokens 9 --model train.jsonl -Z train.jsonl; echo "rc $?"
> rc 1
> rc 1
> rc 1
> rc 1
2> msample: train.jsonl: a file, not a model directory (one with config.json, model.safetensors, tokenizer.json)
2> mgrpo: train.jsonl: a file, not a model directory (one with config.json, model.safetensors, tokenizer.json)
2> mtok: train.jsonl: a file, not a model directory (one with tokenizer.json)
2> mfilter: train.jsonl: a file, not a model directory (one with tokenizer.json)

## a config.json, tokenizer.json or --template that is a directory is named with the reason (one
## loop reads them all, fileio.c): config.json said "not valid JSON: Expected JSON value", the
## tokenizer and the template "read error" (the template, a file an option names, is a usage
## error, exit 2, as --system @FILE)
$ minit tiny -o m -q && mkdir m2 m2/config.json && mkdir t3 && cp m/config.json t3/ && mkdir t3/tokenizer.json
$ echo '{"id":"a","problem":"x"}' > p.jsonl
$ msample --device cpu --model m2 -Z -q p.jsonl; echo "rc=$?"; mtok encode --model t3 -Z -q p.jsonl; echo "rc=$?"; msample --device cpu --model m --template t3/ -Z -q p.jsonl; echo "rc=$?"
> rc=1
> rc=1
> rc=2
2> msample: m2/config.json: Is a directory
2> mtok: t3/tokenizer.json: Is a directory
2> msample: --template: cannot read t3/: Is a directory
2> Try 'msample --help'.

## a problem that is not a string is named with what it holds; so is a --problem filter's value
% requires $TESTDATA/msample/model/model.safetensors
$ printf '{"id":"a","problem":5}\n' | msample --device cpu --model "$TESTDATA/msample/model" -Z -q; echo "rc=$?"
$ printf '{"id":"a","q":[1]}\n' | msample --device cpu --model "$TESTDATA/msample/model" -Z -q --problem '.q'; echo "rc=$?"
$ printf '{"id":"a","q":{}}\n' | msample --device cpu --model "$TESTDATA/msample/model" -Z -q --problem '.q | .[]?'; echo "rc=$?"
> rc=1
> rc=1
> rc=1
2> msample: <stdin>:1: "problem" is a number, not a string
2> msample: <stdin>:1: "q" is an array, not a string
2> msample: <stdin>:1: --problem '.q | .[]?' gave nothing, not a string

## a --problem filter that does not compile, a --kv-mem below one block: usage errors naming the option
% requires $TESTDATA/msample/model/model.safetensors
$ msample --device cpu --model "$TESTDATA/msample/model" --problem '.[' </dev/null; echo "rc=$?"
$ echo '{"problem":"x"}' | msample --device cpu --model "$TESTDATA/msample/model" --kv-mem 1K -o out.zst; echo "rc=$?"; ls
$ for v in inf 0x10M 1e30 18446744073709551615; do msample --device cpu --model "$TESTDATA/msample/model" --kv-mem $v </dev/null 2>&1 | head -n 1; done
$ msample --device cpu --model "$TESTDATA/msample/model" --temperature 1e-39 </dev/null 2>&1 | head -n 1
> rc=2
> rc=2
> msample: --kv-mem: 'inf' is not a size (e.g. 512M, 4G)
> msample: --kv-mem: '0x10M' is not a size (e.g. 512M, 4G)
> msample: --kv-mem: '1e30' is not a size (e.g. 512M, 4G)
> msample: --kv-mem: '18446744073709551615' is more than a petabyte
> msample: --temperature: '1e-39' is below 1e-3 (0 is greedy)
2~ ^msample: --problem: cannot compile jq filter '\.\[': syntax error, unexpected (\$end \(Unix shell quoting issues\?\)|end of file)$
2~ ^msample: --kv-mem: KV cache: 1024 bytes hold no block of 16 tokens
2~ ^Try 'msample --help'\.$

## --score: a sequence longer than the model's context is a bad record; the records before it are written
% requires /usr/bin/jq
$ minit tiny -o m -q && jq '.max_position_embeddings = 8' m/config.json > c && mv c m/config.json
$ printf '%s\n' '{"prompt_ids":[1,2,3,4,5],"completion_ids":[6,7,8]}' '{"prompt_ids":[1,2,3,4,5],"completion_ids":[6,7,8,9]}' | msample --device cpu --score --model m -Z -q | jq -c '.logprobs | length'
> 3
2> msample: <stdin>:2: "prompt_ids" + "completion_ids": 9 tokens, more than the model's context (max_position_embeddings 8)

## a tokenizer larger than the model's vocabulary (here its specials moved past 263 by merges): the
## record is named (it failed inside the model with "model_prefill: token id ... is outside the vocabulary")
$ minit tiny -o m -q && yes 'hello there, the theme' | head -n 200 > t.txt && minit tiny -o big -q --merges 7 --merges-text t.txt && cp big/tokenizer.json m/
$ printf '%s\n' '{"id":"a","problem":"ab"}' | msample --device cpu --model m -Z -q -n 1 --max-tokens 2; echo "rc=$?"
> rc=1
2~ ^msample: <stdin>:1: prompt token 0 is id 26[3-9], outside the model's vocabulary \(vocab_size 263 in config.json; the tokenizer has 270 tokens\)$

## --skip-bad skips it with a warning
% requires $TESTDATA/msample/model/model.safetensors
$ printf '{"id":"a","problem":"What is 1+1?"}\n{"id":"b"}\n{"id":"c","problem":"x"}\n' > in.jsonl
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q -n 2 --max-tokens 2 --skip-bad in.jsonl | jq -c '[.id, .sample]'
> ["a",0]
> ["a",1]
> ["c",0]
> ["c",1]
2> msample: in.jsonl:2: "problem" is missing (skipped)
2> msample: 1 bad record skipped

## --problem takes a jq filter; a missing id becomes FILE:LINE; policy names the model
% requires $TESTDATA/msample/model/model.safetensors
$ printf '{"q":"What is 1+1?"}\n' > in.jsonl
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q --problem .q --max-tokens 2 in.jsonl | jq -c '[.id, .q, .policy.step, (.prompt_ids | length > 5)]'
> ["in.jsonl:1","What is 1+1?",0,true]

## an id msample assigns is the record's first field, as mfilter's (it came last); a null one is
## replaced in place
% requires $TESTDATA/msample/model/model.safetensors
$ printf '{"q":"What is 1+1?","x":1}\n{"q":"2+2?","id":null}\n' > in.jsonl
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q --problem .q --max-tokens 2 in.jsonl | jq -c 'keys_unsorted[:3]'
> ["id","q","x"]
> ["q","id","sample"]

## --shard K/N takes every N-th problem from K
% requires $TESTDATA/msample/model/model.safetensors
$ msample --device cpu -Z -q --shard 1/2 --model "$TESTDATA/msample/model" --max-tokens 2 "$TESTDATA/msample/problems.jsonl" | jq -r .id
> p1
> p3
> p5

## an id given twice is a bad record naming it (its samples drew the first one's completions and
## ran together with them into one group, which mreward, mfilter and mgrpo then refused or took
## as one problem); every shard stops on it, and --skip-bad keeps the first
% requires $TESTDATA/msample/model/model.safetensors
$ printf '{"id":"a","problem":"x"}\n{"id":"b","problem":"y"}\n{"id":"a","problem":"z"}\n{"id":7,"problem":"z"}\n{"id":7,"problem":"w"}\n' > in.jsonl
$ for s in 0/2 1/2; do msample --device cpu --model "$TESTDATA/msample/model" -Z -q -n 2 --max-tokens 2 --shard $s in.jsonl | jq -c '[.id, .sample]'; done
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q -n 1 --max-tokens 2 --skip-bad in.jsonl 2>&1 >/dev/null | sed 's/: its samples.*//'
> ["a",0]
> ["a",1]
> ["b",0]
> ["b",1]
> msample: in.jsonl:3: "id" "a" is an earlier problem's too
> msample: in.jsonl:5: "id" 7 is an earlier problem's too
> msample: 2 bad records skipped
2> msample: in.jsonl:3: "id" "a" is an earlier problem's too: its samples would share their random stream and one group (give each problem its own id; mfilter --dedupe drops repeated problems)
2> msample: in.jsonl:3: "id" "a" is an earlier problem's too: its samples would share their random stream and one group (give each problem its own id; mfilter --dedupe drops repeated problems)

## ids equal as text only (5 and "5", an object and its JSON text) are two problems to mreward and
## mfilter, but msample keys the random stream by the text: the second is a bad record that says so
## (it said "an earlier problem's too"), whichever came first
% requires $TESTDATA/msample/model/model.safetensors
$ printf '{"id":5,"problem":"x"}\n{"id":"5","problem":"y"}\n{"id":{"a":1},"problem":"y"}\n{"id":"{\\"a\\":1}","problem":"y"}\n' > in.jsonl
$ printf '{"id":"5","problem":"x"}\n{"id":5,"problem":"y"}\n' > in2.jsonl
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q --max-tokens 2 --skip-bad in.jsonl | jq -c '[.id, .problem]'
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q --max-tokens 2 in2.jsonl | jq -c '[.id, .problem]'
> [5,"x"]
> [{"a":1},"y"]
> ["5","x"]
2> msample: in.jsonl:2: "id" "5" keys the same random stream as the earlier id 5 (msample keys it by the id's text): give one of them another id (skipped)
2> msample: in.jsonl:4: "id" "{\"a\":1}" keys the same random stream as the earlier id {"a":1} (msample keys it by the id's text): give one of them another id (skipped)
2> msample: 2 bad records skipped
2> msample: in2.jsonl:2: "id" 5 keys the same random stream as the earlier id "5" (msample keys it by the id's text): give one of them another id

## the KV budget must hold one whole sequence; the message names the record
% requires $TESTDATA/msample/model/model.safetensors
$ msample --device cpu -Z -q --model "$TESTDATA/msample/model" --max-tokens 500 --kv-mem 64K "$TESTDATA/msample/problems.jsonl"
2~ ^msample: .*problems.jsonl:1: a prompt of [0-9]+ tokens plus --max-tokens 500 needs [0-9]+ KV tokens, but --kv-mem holds only [0-9]+
? 1

## a slow input does not hold back what is running: the first group is decoded and written
## while the pipe is still open (before, msample waited in read() for the next record); a
## signal then ends the wait at once (exit 143)
% requires $TESTDATA/msample/model/model.safetensors
$ (echo '{"id":"a","problem":"What is 1+1?"}'; sleep 5) | (timeout --preserve-status 3 msample --device cpu --model "$TESTDATA/msample/model" -Z -q -n 2 --max-tokens 4 --batch 4; echo "rc $?" >&2) | jq -c '[.id, .sample]'
> ["a",0]
> ["a",1]
2> rc 143

## ... nor when a record before the wait was skipped (another shard's), nor when half a line has
## come (the reader takes what is there and waits only for a whole line), nor when every sample
## ends at its first token (the group goes out before the next read): each group is in the
## output while the input is still open (a FIFO held open until the group is there, or 120 s:
## fixed sleeps of 4-8 s were too short under make test-asan on a slower CPU)
% requires $TESTDATA/msample/model/model.safetensors
$ M=(msample --device cpu --model "$TESTDATA/msample/model" -Z -q); mkfifo f1 f2 f3
$ lines() { for i in $(seq 1200); do [ "$(grep -c '^{.*}$' "$1")" -ge "$2" ] && return; sleep 0.1; done; }   # up to 120 s (ASan), the input still open
$ "${M[@]}" -n 2 --max-tokens 64 --batch 4 --shard 0/2 < f1 > o1 & p=$!; exec 3>f1; printf '%s\n' '{"id":"a","problem":"What is 1+1?"}' '{"id":"b","problem":"x"}' >&3
$ lines o1 2; jq -c '["shard", .id, .sample]' o1; exec 3>&-; wait $p
$ "${M[@]}" -n 48 --max-tokens 400 --batch 2 < f2 > o2 & p=$!; exec 3>f2; echo '{"id":"a","problem":"What is 1+1?"}' >&3; sleep 0.1; printf '{"id":"h","prob' >&3
$ lines o2 48; jq -c 'select(.sample < 2) | ["half", .id, .sample]' o2; echo 'lem":"z"}' >&3; exec 3>&-; wait $p
$ "${M[@]}" -n 2 --max-tokens 1 --batch 4 < f3 > o3 & p=$!; exec 3>f3; echo '{"id":"a","problem":"What is 1+1?"}' >&3
$ lines o3 2; jq -c '["first", .id, .sample]' o3; exec 3>&-; wait $p
> ["shard","a",0]
> ["shard","a",1]
> ["half","a",0]
> ["half","a",1]
> ["first","a",0]
> ["first","a",1]

## ... nor at the end of a file followed by a slow stdin (`msample a.jsonl -`): the file's groups
## were held until stdin gave a line (the reader took the end of a regular file for an input
## that never waits, and msample blocked on the pipe with them in flight)
% requires $TESTDATA/msample/model/model.safetensors
$ echo '{"id":"a","problem":"What is 1+1?"}' > a.jsonl
$ (sleep 5; echo '{"id":"b","problem":"x"}') | msample --device cpu --model "$TESTDATA/msample/model" -Z -q -n 2 --max-tokens 4 --batch 4 a.jsonl - > o & sleep 3; jq -c '["file", .id, .sample]' o; wait; jq -c '[.id, .sample]' o
> ["file","a",0]
> ["file","a",1]
> ["a",0]
> ["a",1]
> ["b",0]
> ["b",1]

## completion is the completion_ids decoded as mtok decode does: U+FFFD for each ill-formed part
## only (random byte-level models cut UTF-8 sequences often; libjq's repair ate the next bytes)
% requires /usr/bin/jq
$ minit tiny -o m -q --seed 3 --std 0.3
$ echo '{"id":"b","problem":"Compute 3*7."}' | msample --device cpu --model m --threads 1 -n 16 --max-tokens 20 -Z -q > o
$ jq -c 'select(.finish == "length") | {c: .completion, ids: .completion_ids}' o | mtok decode --model m --field .ids --skip-special -Z -q | jq -s -c '[length > 8, all(.c == .text), any(.c | contains("\ufffd"))]'
> [true,true,true]

## an id of any JSON kind is kept (the RNG key is its JSON text); greedy rollouts score at T=1
% requires $TESTDATA/msample/model/model.safetensors
$ printf '{"id":true,"problem":"x"}\n{"id":{"s":1},"problem":"y"}\n{"id":null,"problem":"z"}\n' > in.jsonl
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q --max-tokens 3 --temperature 0 in.jsonl > g.jsonl
$ msample --device cpu --score --temperature 0 --model "$TESTDATA/msample/model" -Z -q g.jsonl > s.jsonl
$ jq -c '[.id, .sample]' g.jsonl; jq -s -c 'map((.logprobs | length) == (.completion_ids | length) and length > 0)' s.jsonl
> [true,0]
> [{"s":1},0]
> ["in.jsonl:3",0]
> [true,true,true]

## --score --shard K/N scores groups K, K+N, ... (runs of one id): the shards' outputs together
## are every record once, each group whole (--shard was ignored: every shard scored everything)
% requires $TESTDATA/msample/model/model.safetensors
$ printf '{"id":"%s","sample":%s,"prompt_ids":[5,6],"completion_ids":[7]}\n' a 0 a 1 b 0 b 1 c 0 c 1 > r.jsonl
$ for k in 0 1; do msample --device cpu --score --shard $k/2 --model "$TESTDATA/msample/model" -Z -q r.jsonl | jq -c '[.id, .sample, (.logprobs | length)]'; done
> ["a",0,1]
> ["a",1,1]
> ["c",0,1]
> ["c",1,1]
> ["b",0,1]
> ["b",1,1]

## a warning while the progress line is drawn starts a line of its own (msample's own line did not
## tell cli_warn it was there, so the warning ran on after it); --score ends its line too, and counts
## the tokens it scored (its rate read 0.00 tokens/s)
% requires /usr/bin/jq
$ minit tiny -o m -q
$ (echo '{"id":"a","problem":"x"}'; sleep 1; echo '{"id":"b"}') | msample --device cpu --model m --threads 1 --template plain --system '' --temperature 0 --max-tokens 3000 --progress --skip-bad -Z 2>err | msample --device cpu --score --model m --progress -Z 2>err2 >/dev/null
$ tr '\r' '\n' < err | sed 's/\x1b\[K//g' | grep -c '^msample: <stdin>:2: "problem" is missing (skipped)$'
$ tail -c 1 err2 | od -An -c | tr -d ' '
$ tr '\r' '\n' < err2 | tail -n 1 | grep -c 'msample: 1 problem, 1 sample, 0 running, [1-9][0-9.]* tokens/s'
> 1
> \n
> 1

## --score needs prompt_ids and completion_ids
% requires $TESTDATA/msample/model/model.safetensors
$ echo '{"x":1}' | msample --device cpu --score --model "$TESTDATA/msample/model" -Z -q
$ echo '{"prompt_ids":[5,6],"completion_ids":[65.5]}' | msample --device cpu --score --model "$TESTDATA/msample/model" -Z -q
$ echo '{"prompt_ids":[5,6],"completion_ids":[1e300]}' | msample --device cpu --score --model "$TESTDATA/msample/model" -Z -q
2> msample: <stdin>:1: "prompt_ids" is missing or not token ids
2> msample: <stdin>:1: "completion_ids" is missing or not token ids
2> msample: <stdin>:1: "completion_ids" is missing or not token ids
? 1

## --score: an id outside the model's vocabulary is named with its index, value and the vocabulary's
## size (it read "is missing or not token ids", as if the field were absent: rollouts of a larger
## model scored under a smaller one said nothing of the cause)
% requires /usr/bin/jq
$ minit tiny -o m -q
$ printf '%s\n' '{"prompt_ids":[1,2,300],"completion_ids":[3]}' '{"prompt_ids":[1,2],"completion_ids":[3,263]}' '{"prompt_ids":[1,2],"completion_ids":[3,262]}' | msample --device cpu --score --model m -Z -q --skip-bad | jq -c '.logprobs | length'
> 2
2> msample: <stdin>:1: "prompt_ids"[2] is 300, outside the model's vocabulary (vocab_size 263) (skipped)
2> msample: <stdin>:2: "completion_ids"[1] is 263, outside the model's vocabulary (vocab_size 263) (skipped)
2> msample: 2 bad records skipped

## usage errors exit 2
$ msample x.jsonl
2> msample: --model DIR is required
2> Try 'msample --help'.
? 2

## a --stop that is not UTF-8 text is a usage error, as a --system that is not (it was taken)
$ msample --model m --stop "$(printf 'a\377')" x.jsonl
2> msample: --stop: not UTF-8 text (byte 2)
2> Try 'msample --help'.
? 2

## a bad shard
$ msample --model m --shard 2/2 x.jsonl
2> msample: --shard: '2/2' is not K/N with 0 <= K < N
2> Try 'msample --help'.
? 2

## --shard takes digits only: a blank, a sign or an N past the range of a long was taken (strtol
## skipped the blank and the sign, and saturated N to LONG_MAX: shard 0 of "all" took one problem)
$ for s in ' 1/2' '1/ 2' '+1/2' '-0/2' '1/' '/2' '0/99999999999999999999'; do msample --model m --shard "$s" x.jsonl 2>&1 | head -n 1; echo "rc=${PIPESTATUS[0]}"; done
> msample: --shard: ' 1/2' is not K/N
> rc=2
> msample: --shard: '1/ 2' is not K/N
> rc=2
> msample: --shard: '+1/2' is not K/N
> rc=2
> msample: --shard: '-0/2' is not K/N
> rc=2
> msample: --shard: '1/' is not K/N
> rc=2
> msample: --shard: '/2' is not K/N
> rc=2
> msample: --shard: '0/99999999999999999999' is not K/N with 0 <= K < N
> rc=2

## --dtype: fp32 and bf16 forward weights both sample every problem; a bad value is a usage error
$ msample --device cpu -Z -q --model "$TESTDATA/msample/model" --temperature 0 --max-tokens 8 --dtype fp32 "$TESTDATA/msample/problems.jsonl" | grep -o '"completion_ids":\[[^]]*\]' > a
$ msample --device cpu -Z -q --model "$TESTDATA/msample/model" --temperature 0 --max-tokens 8 --dtype bf16 "$TESTDATA/msample/problems.jsonl" | grep -o '"completion_ids":\[[^]]*\]' > b
$ test -s a && test $(wc -l < a) -eq $(wc -l < b) && echo ran
$ msample --model m --dtype fp16 < /dev/null
> ran
? 2
2~ ^msample: --dtype: 'fp16' is not auto, bf16 or fp32

## --kv-dtype: a bad value is a usage error
$ msample --model m --kv-dtype fp16 < /dev/null
2~ ^msample: --kv-dtype: 'fp16' is not auto, bf16 or fp32
? 2

## --kv-mem below one byte is a usage error (it would have meant the default size)
$ msample --model m --kv-mem 0.5 < /dev/null
2> msample: --kv-mem: '0.5' is less than a byte
2> Try 'msample --help'.
? 2

## a problem too long for the KV budget is a bad record: --skip-bad skips it and goes on
% requires $TESTDATA/msample/model/model.safetensors
$ printf '{"id":"a","problem":"hi"}\n{"id":"b","problem":"%s"}\n{"id":"c","problem":"yo"}\n' "$(printf 'word %.0s' $(seq 1 200))" > in.jsonl
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q --max-tokens 8 --kv-mem 300K --skip-bad in.jsonl | jq -c '[.id, .sample]'
> ["a",0]
> ["c",0]
2~ ^msample: in.jsonl:2: a prompt of [0-9]+ tokens plus --max-tokens 8 needs [0-9]+ KV tokens, but --kv-mem holds only [0-9]+: .* \(skipped\)$
2~ ^msample: 1 bad record skipped$

## policy.step comes from the model's trainer_state.json, however long its log_history
% requires $TESTDATA/msample/model/model.safetensors
$ cp -r "$TESTDATA/msample/model" m
$ awk 'BEGIN { printf "{\"log_history\": ["; for (i = 0; i < 5000; i++) printf "%s{\"loss\": %d.5, \"step\": %d}", (i ? "," : ""), i, i; printf "], \"global_step\": 7}\n" }' > m/trainer_state.json
$ test $(wc -c < m/trainer_state.json) -gt 65536 && echo '{"id":"a","problem":"x"}' | msample --device cpu --model m -Z -q --max-tokens 2 | jq -c .policy.step
> 7

## a trainer_state.json that is there but cannot be read, or holds no step, is a warning naming the
## file (where the link points), and step 0 (it was 0 without a word); with none there, 0 silently
% requires $TESTDATA/msample/model/model.safetensors
$ mkdir run && cp -r "$TESTDATA/msample/model" run/step-000005 && ln -s step-000005 run/latest
$ for st in '{bad' '{"global_step":"five"}' '{"global_step":-1}' '{"log_history":[]}' '{"global_step":5}'; do printf '%s' "$st" > run/step-000005/trainer_state.json; echo '{"id":"p","problem":"x"}' | msample --device cpu --model run/latest -Z -q --max-tokens 2 2>err | jq -c .policy; sed 's|: /.*/run/|: run/|' err; done
$ rm run/step-000005/trainer_state.json; echo '{"id":"p","problem":"x"}' | msample --device cpu --model run/latest -Z -q --max-tokens 2 | jq -c .policy
> {"path":"run/latest","step":0}
> msample: run/step-000005/trainer_state.json: Invalid numeric literal at EOF at line 1, column 4; policy.step is 0
> {"path":"run/latest","step":0}
> msample: run/step-000005/trainer_state.json: "global_step" is a string, not a number; policy.step is 0
> {"path":"run/latest","step":0}
> msample: run/step-000005/trainer_state.json: "global_step" is -1, not a whole number in [0, 2^53]; policy.step is 0
> {"path":"run/latest","step":0}
> msample: run/step-000005/trainer_state.json: no "global_step" or "step"; policy.step is 0
> {"path":"run/latest","step":5}
> {"path":"run/latest","step":0}
2>

## a NUL inside a text (JSON \u0000) is text: the problem's prompt keeps what follows it, and ids that differ after it draw different samples
% requires $TESTDATA/msample/model/model.safetensors
% requires /usr/bin/jq
$ printf '%s\n' '{"id":"a\u0000x","problem":"p\u0000q"}' '{"id":"a\u0000y","problem":"p\u0000q"}' '{"id":"a\u0000x","problem":"p"}' > in.jsonl
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q --max-tokens 8 --temperature 1 in.jsonl > out
$ jq -s -c '[(.[0].prompt_ids == .[1].prompt_ids), (.[0].prompt_ids == .[2].prompt_ids), (.[0].completion_ids != .[1].completion_ids)]' out
> [true,false,true]

## the model's context (max_position_embeddings) ends a sample ("length") and refuses a prompt that fills it
% requires $TESTDATA/msample/model/model.safetensors
% requires /usr/bin/jq
$ mkdir m && cp "$TESTDATA/msample/model/"* m/ && jq '.max_position_embeddings = 40' "$TESTDATA/msample/model/config.json" > m/config.json
$ printf '{"id":"a","problem":"Hi"}\n{"id":"b","problem":"%s"}\n{"id":"c","problem":"Yo"}\n' "$(printf 'word %.0s' $(seq 1 40))" > in.jsonl
$ msample --device cpu --model m -Z -q --template plain --system '' --max-tokens 100 --skip-bad in.jsonl | jq -c '[.id, .finish, (.prompt_ids | length) + (.completion_ids | length)]'
$ msample --device cpu --model m -Z -q --template plain --system '' --max-tokens 16000000 --skip-bad in.jsonl 2>/dev/null | jq -c '[.id, .finish]'
> ["a","length",40]
> ["c","length",40]
> ["a","length"]
> ["c","length"]
2> msample: in.jsonl:2: a prompt of 122 tokens does not fit the model's context of 40 (max_position_embeddings) (skipped)
2> msample: 1 bad record skipped

## a sample reserves the KV the context leaves it, not all of --max-tokens: under a context of 64 a
## 20-token prompt's samples end at 44 tokens, so 7 blocks of 16 (224K of fp32 K and V here) hold
## the prompt (2 blocks + 1) and a sample (3 + 1) (it was refused, as needing 8: the sizes a
## --max-tokens of 64 would take); one block less is still too little, and the message says 44
% requires /usr/bin/jq
$ minit tiny -o m -q && jq '.max_position_embeddings = 64' m/config.json > c && mv c m/config.json
$ printf '{"id":"a","problem":"xxxxxxxxxxxxxxxxxxx"}\n' > in.jsonl
$ msample --device cpu --model m -Z -q --template plain --system '' --max-tokens 64 -n 2 --kv-mem 224K in.jsonl | jq -c '[.id, .sample, .finish, (.prompt_ids | length), (.completion_ids | length)]'
$ msample --device cpu --model m -Z -q --template plain --system '' --max-tokens 64 --kv-mem 223K in.jsonl; echo "rc=$?"
> ["a",0,"length",20,44]
> ["a",1,"length",20,44]
> rc=1
2> msample: in.jsonl:1: a prompt of 20 tokens plus --max-tokens 44 (cut to the model's context) needs 112 KV tokens, but --kv-mem holds only 96: raise --kv-mem or lower --max-tokens

## a usage error found after the options are read (a template or --system file, a device
## this build lacks) ends with the Try line too, as every exit 2
$ echo '{"id":"a","problem":"x"}' > p.jsonl
$ msample --model "$TESTDATA/msample/model" --template nosuch.tmpl p.jsonl
? 2
2> msample: --template: unknown template "nosuch.tmpl" (r1, plain, or a file with {system}/{problem})
2> Try 'msample --help'.

## after a signal the output holds the groups that were complete, not a prefix of the input: the
## recipe of msample(1) (PROGRESS AND SIGNALS) selects the problems it lacks (a numeric id and one
## msample gave FILE:LINE among them), and their samples are those of an uninterrupted run, byte
## for byte (an assigned id is the first field in both)
% requires $TESTDATA/msample/model/model.safetensors
% requires /usr/bin/jq
$ printf '{"id":"a","problem":"x"}\n{"id":5,"problem":"y"}\n{"problem":"z"}\n{"id":"c","problem":"w"}\n' > train.jsonl
$ ms() { msample --device cpu --model "$TESTDATA/msample/model" -q -n 2 --max-tokens 4 --seed 3 "$@"; }
$ ms train.jsonl > full.zst
$ mfilter -Z full.zst | jq -c 'select(.id == "a" or .id == "c")' | mfilter > part1.zst
$ mfilter -Z part1.zst | jq -c .id > done.json
$ mfilter -Z train.jsonl | jq -nc --slurpfile done done.json \
$   '(reduce $done[] as $i ({}; .[$i | tojson] = 1)) as $d
$    | inputs | select($d[.id | tojson] | not)' > rest.jsonl
$ cat rest.jsonl
$ ms rest.jsonl > part2.zst
$ cat part1.zst part2.zst > rollouts.jsonl.zst
$ mfilter -Z rollouts.jsonl.zst | sort | cmp - <(mfilter -Z full.zst | sort) && echo same samples
> {"id":5,"problem":"y"}
> {"id":"train.jsonl:3","problem":"z"}
> same samples

## a template file without {problem} is a usage error too (it exited 1)
$ printf 'no placeholders' > tnp.txt
$ echo '{"id":"p","problem":"x"}' | msample --model "$TESTDATA/msample/model" --template tnp.txt -Z
? 2
2> msample: --template: tnp.txt has no {problem} placeholder
2> Try 'msample --help'.

## a template file that cannot be read is a usage error, as --system @FILE that cannot be (it exited 1)
$ echo '{"id":"p","problem":"x"}' | msample --model "$TESTDATA/msample/model" --template ./nonesuch.txt -Z; echo "rc=$?"
$ mkdir td; echo '{"id":"p","problem":"x"}' | msample --model "$TESTDATA/msample/model" --template td -Z; echo "rc=$?"
> rc=2
> rc=2
2~ ^msample: --template: cannot read \./nonesuch\.txt: No such file or directory$
2~ ^msample: --template: cannot read td: Is a directory$

## a template file that is not UTF-8 text is a bad input naming its line, as --system @FILE (it named no line)
$ printf 'ok {problem}\nline two \377 here\n' > bad.tmpl
$ echo '{"id":"p","problem":"x"}' | msample --model "$TESTDATA/msample/model" --template ./bad.tmpl -Z
? 1
2> msample: --template: ./bad.tmpl:2: not UTF-8 text (byte 10 of the line)

## MRL_DEVICE_SAMPLING=all: the CPU draws its decode tokens with op_sample_rows, the path a GPU takes with MRL_DEVICE_SAMPLING=1 (a pick per sequence, the uniform taken before the step, the log-prob from the pick), and msample writes the host sampler's output byte for byte: T = 1, 0.6, greedy, --top-p (left to the host), the byte-level vocabulary (263: two blocks of the sums) and one of 4099 (17 blocks); a model whose logits hold no number (its final norm's weights NaN) has every row left to the host, and both ways warn alike; --progress counts the tokens the backend drew (every one but each sample's first, which the prompt's logits give; none with --top-p), so the case cannot pass with the path off
% requires /usr/bin/jq
$ minit tiny -o m --seed 3 -q
$ minit tiny -o v --seed 5 -q --vocab-size 4099
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\",\"answer\":\"$((2*i))\"}"; done > p.jsonl
$ run() { msample --model "$1" -n 4 --batch 24 --max-tokens 32 --template plain --seed 7 --threads 2 -Z "${@:2}" p.jsonl; }
$ for M in m v; do for o in "--temperature 1" "--temperature 0.6" "--temperature 0" "--temperature 1 --top-p 0.9"; do run $M $o > host.jsonl; MRL_DEVICE_SAMPLING=all run $M $o > pick.jsonl; cmp -s host.jsonl pick.jsonl && echo same || echo "differs: $M $o"; done; done | sort | uniq -c | awk '{ $1 = $1; print }'
$ MRL_DEVICE_SAMPLING=all run m --temperature 1 --progress 2>&1 > s.jsonl | tr '\r' '\n' | tail -1 | grep -o '[0-9]* drawn on cpu'; jq -s 'map(.completion_ids | length - 1) | add' s.jsonl
$ MRL_DEVICE_SAMPLING=all run m --temperature 1 --top-p 0.9 --progress 2>&1 > s.jsonl | tr '\r' '\n' | tail -1 | grep -c 'drawn on'
$ minit tiny -o nan --seed 3 -q --dtype fp32
$ f=nan/model.safetensors; n=$(od -An -t u8 -N8 $f | tr -d ' '); off=$(dd if=$f bs=1 skip=8 count=$n 2>/dev/null | jq '.["model.norm.weight"].data_offsets[0]')
$ for i in $(seq 64); do printf '\x00\x00\xc0\x7f'; done | dd of=$f bs=1 seek=$((8 + n + off)) conv=notrunc status=none
$ for s in 0 all; do MRL_DEVICE_SAMPLING=$s msample --model nan -n 2 --max-tokens 4 --template plain --seed 7 -Z p.jsonl > nan-$s.jsonl 2> err-$s; done
$ cmp nan-0.jsonl nan-all.jsonl && cat err-0 err-all
> 8 same
> 713 drawn on cpu
> 713
> 0
> msample: 45 tokens were drawn from logits that held no number (all NaN or -inf): are the model's weights finite?
> msample: 45 tokens were drawn from logits that held no number (all NaN or -inf): are the model's weights finite?

## a config that ties the head to the embedding over a file that also holds lm_head.weight: the
## same values load (the tie written out), other values are refused by name (transformers 4 reads
## the embedding there, 5 the stored head: the model silently ran on the embedding)
% requires /usr/bin/jq
$ minit tiny -o m -q --dtype fp32 && jq '.tie_word_embeddings = true' m/config.json > c && cp c m/config.json
$ echo '{"id":"p","problem":"x"}' > p.jsonl; msample --model m -Z -q --max-tokens 2 p.jsonl; echo "rc $?"
$ f=m/model.safetensors; n=$(od -An -t u8 -N8 $f | tr -d ' '); h=$(dd if=$f bs=1 skip=8 count=$n 2>/dev/null)
$ e=$(echo "$h" | jq '.["model.embed_tokens.weight"].data_offsets | "\(.[0]) \(.[1] - .[0])"' -r); l=$(echo "$h" | jq '.["lm_head.weight"].data_offsets[0]')
$ set -- $e; dd if=$f bs=1 skip=$((8 + n + $1)) count=$2 status=none | dd of=$f bs=1 seek=$((8 + n + l)) conv=notrunc status=none
$ msample --model m -Z -q --max-tokens 2 p.jsonl | jq -c '.completion_ids | length'
> rc 1
> 2
2> msample: m/model.safetensors: "lm_head.weight" differs from "model.embed_tokens.weight", but config.json ties them (tie_word_embeddings: true; transformers 4 reads the embedding, 5 the head): set it to false to use the head, or remove lm_head.weight

## --score with a model whose numbers are not finite (its final norm's weights NaN): the log-probs
## go out as null (JSON has no NaN), and msample says so as sampling does, instead of exit 0 in
## silence (mgrpo refuses such a record); a finite model's scores bring no warning
% requires /usr/bin/jq
$ minit tiny -o m --seed 3 -q --dtype fp32 && cp -r m nan
$ echo '{"id":"p","problem":"What is 1 + 1?"}' > p.jsonl
$ msample --model m -n 2 --max-tokens 5 --template plain --seed 7 -Z p.jsonl > s.jsonl
$ f=nan/model.safetensors; n=$(od -An -t u8 -N8 $f | tr -d ' '); off=$(dd if=$f bs=1 skip=8 count=$n 2>/dev/null | jq '.["model.norm.weight"].data_offsets[0]')
$ for i in $(seq 64); do printf '\x00\x00\xc0\x7f'; done | dd of=$f bs=1 seek=$((8 + n + off)) conv=notrunc status=none
$ msample --score --model m --template plain -Z s.jsonl 2>&1 > ok.jsonl; echo "rc $?"
$ msample --score --model nan --template plain -Z s.jsonl > bad.jsonl; echo "rc $?"
$ jq -c '[.logprobs | map(type) | unique, length]' bad.jsonl; jq -c '.logprobs | map(type) | unique' ok.jsonl
> rc 0
> rc 0
> [["null"],5]
> [["null"],5]
> ["number"]
> ["number"]
2> msample: 10 log-probs were no finite number (written as null, or -1.8e308 for -inf): are the model's weights finite?

## --model through a symlink that moves while msample loads (RUN/latest, RUN/policy, renamed by
## mgrpo): every file comes from the one step the link named at the start. The tokenizer here is
## a FIFO that holds msample until the link has moved: it then read trainer_state.json through the
## moved link and recorded the other step's number for the weights it had loaded
% requires $TESTDATA/msample/model/model.safetensors
$ mkdir A B && cp "$TESTDATA/msample/model/"* A/ && cp "$TESTDATA/msample/model/"* B/
$ echo '{"global_step":1}' > A/trainer_state.json; echo '{"global_step":2}' > B/trainer_state.json
$ rm A/tokenizer.json && mkfifo A/tokenizer.json && ln -s A L
$ echo '{"id":"a","problem":"x"}' > p.jsonl
$ (msample --device cpu --model L -Z -q -n 1 --max-tokens 2 p.jsonl > out; echo "rc $?" > rc) &
$ exec 3> A/tokenizer.json; ln -sfn B L; cat B/tokenizer.json >&3; exec 3>&-; wait; cat rc
$ jq -c .policy out
> rc 0
> {"path":"L","step":1}

## -o '' is a usage error before any sampling (every sample was drawn, then lost: ": rename: No such file or directory", exit 3)
% requires $TESTDATA/msample/model/model.safetensors
$ msample --model "$TESTDATA/msample/model" -q -n 2 --max-tokens 4 -o '' "$TESTDATA/msample/problems.jsonl"; echo "rc $?"; ls -A | grep -c tmp || :
> rc 2
> 0
2> msample: -o: the name is empty
2> Try 'msample --help'.

## a signal while a model file that is a FIFO waits for its writer (config.json, tokenizer.json) is
## a stop (130), not an error (1, "m/tokenizer.json: Interrupted system call"); msample, which reads
## config.json once for its dtype and again for the model, took the first open's EINTR for a bad
## config and waited on the second open, the stop lost. (The signal is sent again until the tool
## has ended, as in mfilter.t's FIFO inputs: a second one a second after the first is a hard stop,
## which says nothing on stderr; a writer that opens and closes each FIFO then frees a tool still
## waiting, so that the case cannot hang.)
% requires $TESTDATA/msample/model/model.safetensors
$ for d in c t; do mkdir $d && cp "$TESTDATA/msample/model/"* $d/; done
$ rm c/config.json t/tokenizer.json && mkfifo c/config.json t/tokenizer.json
$ echo '{"id":"a","problem":"x"}' > p.jsonl
$ msample --device cpu --model c -Z -q p.jsonl > o1 2> e1 & p1=$!; msample --device cpu --model t -Z -q p.jsonl > o2 2> e2 & p2=$!
$ mtok count --model t -Z p.jsonl > o3 2> e3 & p3=$!; mgrpo -Z -q --model c --out R p.jsonl > o4 2> e4 & p4=$!
$ alive() { s=$(cut -d' ' -f3 "/proc/$1/stat" 2> /dev/null) && [ "$s" != Z ]; }
$ for p in $p1 $p2 $p3 $p4; do for i in $(seq 50); do alive $p || break; kill -INT $p; sleep 0.2; done; done
$ for f in c/config.json t/tokenizer.json; do timeout 0.5 sh -c ": > $f" 2> /dev/null; timeout 0.5 sh -c ": > $f" 2> /dev/null; done
$ for p in $p1 $p2 $p3 $p4; do wait $p; echo "rc=$?"; done; cat o1 o2 o3 o4 | wc -c; cat e1 e2 e3 e4
> rc=130
> rc=130
> rc=130
> rc=130
> 0
> msample: c/config.json: Interrupted system call
> msample: t/tokenizer.json: Interrupted system call
> mtok: t/tokenizer.json: Interrupted system call
> mgrpo: c/config.json: Interrupted system call

## one signal while msample waits in config.json's first open (a FIFO) stops it: the open's EINTR
## was taken for a bad config (its dtype read as not bf16) and model_load opened the FIFO again
## and waited there, the stop lost (a writer that comes after 3 s frees it: then a config of no
## bytes was an error, exit 1)
% requires $TESTDATA/msample/model/model.safetensors
$ mkdir c && cp "$TESTDATA/msample/model/"* c/ && rm c/config.json && mkfifo c/config.json
$ echo '{"id":"a","problem":"x"}' > p.jsonl
$ msample --device cpu --model c -Z -q p.jsonl > o 2> e & p=$!
$ for i in $(seq 100); do [ "$(cat /proc/$p/wchan 2> /dev/null)" = wait_for_partner ] && break; sleep 0.1; done
$ kill -INT $p; for i in $(seq 30); do [ -e /proc/$p ] && [ "$(cut -d' ' -f3 /proc/$p/stat)" != Z ] || break; sleep 0.1; done
$ timeout 0.5 sh -c ": > c/config.json" 2> /dev/null; wait $p; echo "rc=$?"; cat e; wc -c < o
> rc=130
> msample: c/config.json: Interrupted system call
> 0

## the FILE:LINE id msample gives a record without one is an id like any other: one given to an
## earlier or a later record as well was two groups of one id with one random stream (the same
## completions), exit 0; now the second is a bad record, in every shard
% requires $TESTDATA/msample/model/model.safetensors
$ printf '{"problem":"What is 1+1?"}\n{"id":"in.jsonl:1","problem":"x"}\n' > in.jsonl
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q -n 2 --max-tokens 2 in.jsonl | jq -c '[.id, .sample]'
$ printf '{"id":"in.jsonl:2","problem":"x"}\n{"id":null,"problem":"What is 1+1?"}\n{"problem":"y"}\n' > in.jsonl
$ for s in 0/2 1/2; do msample --device cpu --model "$TESTDATA/msample/model" -Z -q --max-tokens 2 --shard $s --skip-bad in.jsonl | jq -c '[.id, .sample]'; done
> ["in.jsonl:1",0]
> ["in.jsonl:1",1]
> ["in.jsonl:2",0]
> ["in.jsonl:3",0]
2> msample: in.jsonl:2: "id" "in.jsonl:1" is an earlier problem's too: its samples would share their random stream and one group (give each problem its own id; mfilter --dedupe drops repeated problems)
2> msample: in.jsonl:2: no "id", and "in.jsonl:2", the one msample gives it, is an earlier problem's: its samples would share their random stream and one group: give it an id (skipped)
2> msample: 1 bad record skipped
2> msample: in.jsonl:2: no "id", and "in.jsonl:2", the one msample gives it, is an earlier problem's: its samples would share their random stream and one group: give it an id (skipped)
2> msample: 1 bad record skipped

## out of memory is exit 3, not a crash: the prompt's token array (malloc'd by msample) and the
## tokenizer's scratch for a long word (a 20 MB word of one letter: merged on a heap) were used
## unchecked, and a memory limit met there was a SIGSEGV (139); one met in libjq's parse of the
## line was its abort (134). (Where the limits fall depends on the build: with CUDA linked, the
## libraries' mappings take the lower ones, and the model's KV cache the rest: no crash there either.)
% requires unsanitized
$ minit tiny -o m -q && awk 'BEGIN { s = "x"; for (i = 0; i < 14; i++) s = s s; printf "{\"id\":1,\"problem\":\""; for (i = 0; i < 1221; i++) printf "%s", s; print "\"}" }' > big.jsonl
$ for v in 380000 400000 450000 500000 550000 600000 650000 700000 800000 900000; do (ulimit -v $v; msample --device cpu -q -n 1 --max-tokens 1 --model m --threads 1 big.jsonl > /dev/null 2> err; echo "$?"); done 2>/dev/null | awk '$1 >= 128 { n++ } END { print n + 0, "crashed" }'
> 0 crashed

## under an address-space limit (ulimit -v, a batch scheduler's vmem limit) a run ends, or stops
## at once with a message: OpenBLAS takes a 128 MB work buffer for each call in flight, and
## retries for ever where one does not fit. Linked, it started a thread per core but one that
## did so at load, and msample, its output written, hung at exit joining it; the first product
## after the model had filled the limit spun the same way (killed here: 137). Now opened with no
## pool, its buffers for --threads taken before the model. The sweep runs from below what the
## build needs to load (127) to where it runs (0).
% requires unsanitized
$ minit tiny -o m -q && printf '{"id":"a","problem":"1+1"}\n' > q.jsonl
$ for v in $(seq 100000 50000 2100000); do (ulimit -v $v; timeout -k 1 30 msample --device cpu -q -n 1 --max-tokens 2 --kv-mem 4M --model m --threads 4 q.jsonl > /dev/null 2> err; echo "$? $(grep -c "out of memory for OpenBLAS's work buffers, 128 MB for each of 4 threads" err)"); done 2>/dev/null | awk '$1 == 0 { ran++ } $1 == 3 && $2 == 1 { said++ } $1 >= 124 && $1 != 127 { hung++ } END { print hung + 0, "hung,", (ran > 0 ? "some" : "none"), "ran,", (said > 0 ? "some" : "none"), "named the buffers" }'
> 0 hung, some ran, some named the buffers

## OpenBLAS that does not fit under ulimit -v ("failed to map segment from shared object") is not
## missing: exit 3 without the advice to install it (the sweep runs up to where a CUDA build loads)
% requires unsanitized
$ minit tiny -o m -q && printf '{"id":"a","problem":"1+1"}\n' > q.jsonl
$ for v in $(seq 8000 8000 1200000); do (ulimit -v $v; msample --device cpu -q -n 1 --max-tokens 2 --model m --threads 1 q.jsonl > /dev/null 2> err; echo "$? $(grep -c 'cannot open OpenBLAS' err) $(grep -c 'apt-get' err)"); done 2>/dev/null | awk '$2 == 1 { n++; if ($1 != 3) bad++ } $3 == 1 { told++ } END { print (n > 0 ? "some" : "none"), "could not map it,", bad + 0, "not exit 3,", told + 0, "told to install it" }'
> some could not map it, 0 not exit 3, 0 told to install it

## under KV pressure the output is the same bytes: prompts of 1, 16, 17 and 32 tokens (block
## edges), completions cut at 16 or 17 tokens or ended early by EOS (32 ids here) and stop strings,
## -n 5 at --batch 1 and at --batch 2, 5 and 9 in a cache that holds one sample of the longest
## prompt beside it (the group's samples then run one at a time, the prompt's shared last block
## copied on write); the sampled log-probs are a plain forward pass's (--score)
% requires /usr/bin/jq
$ minit tiny -o m -q && jq -c '.eos_token_id = [256, range(100; 131)]' m/generation_config.json > g && mv g m/generation_config.json
$ for L in 0 15 16 31; do printf '{"id":"p%d","problem":"%s"}\n' $L "$(head -c $L /dev/zero | tr '\0' q)"; done > in.jsonl
$ s() { msample --device cpu --model m -Z -q --template plain --system '' -n 5 --stop a --stop bc --seed 3 "$@" in.jsonl; }
$ for mt in 16 17; do s --max-tokens $mt --batch 1 > base; for b in 2 5 9; do s --max-tokens $mt --batch $b --kv-mem 192K | cmp - base && echo same; done; done
$ s --max-tokens 17 --batch 3 --kv-mem 192K > out && msample --device cpu --score --model m -Z -q out > sc
$ paste <(jq -c .logprobs out) <(jq -c .logprobs sc) | jq -R -s 'split("\n")[:-1] | map(split("\t") | map(fromjson) | transpose[] | .[0] - .[1] | fabs) | max < 1e-5'
$ jq -r '[(.prompt_ids | length), .finish] | @tsv' out | sort -u | awk '{n[$1]++; f[$2]++} END {print length(n), length(f)}'
> same
> same
> same
> same
> same
> same
> true
> 4 2

## a default --kv-mem too large to allocate (--batch and --max-tokens far past the machine; a
## DeepScaleR-style --batch 256 of --max-tokens 32768 asks hundreds of GB for the 1.5B model) is
## named as the default, with what lowers it: it said only "out of memory for a KV cache of N
## bytes", of a size the user never gave. (512 TiB here, 2^31 tokens, the pool's cap, of 256 KiB:
## past any process's address space, so refused where the kernel overcommits without a check too;
## 20 layers of 2 heads of 32 asked 20 TiB, which vm.overcommit_memory=1 grants.)
% requires unsanitized
$ minit tiny -o t -q && jq '.num_hidden_layers = 8 | .hidden_size = 16 | .num_attention_heads = 1 | .num_key_value_heads = 1 | .head_dim = 4096 | .intermediate_size = 16 | .max_position_embeddings = 16777216' t/config.json > c.json && minit c.json -o m -q
$ msample --device cpu -q --model m --threads 1 --batch 65536 --max-tokens 16777216 < /dev/null > /dev/null; echo "rc=$?"
> rc=3
2~ ^msample: out of memory for a KV cache of [0-9]+ bytes on cpu \(the default --kv-mem: --batch 65536 whole samples of 16777216 tokens; give a smaller --kv-mem, --batch or --max-tokens\)$

## a number id keys the random stream by its value, whichever libjq the tools are built with: 1.0
## is the id 1 (a second problem of one id is refused), and [2e0] the id [2] (with libjq 1.7,
## which prints a number as it was written, they were other ids with other completions)
% requires $TESTDATA/msample/model/model.safetensors
$ printf '{"id":1,"problem":"x"}\n{"id":1.0,"problem":"y"}\n{"id":[2e0],"problem":"z"}\n{"id":[2],"problem":"w"}\n' > ids.jsonl
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q --max-tokens 2 --skip-bad ids.jsonl | jq -c '[.id, .sample]'
$ printf '{"id":[2],"problem":"z"}\n' | msample --device cpu --model "$TESTDATA/msample/model" -Z -q -n 2 --max-tokens 3 | jq -c .completion_ids > a
$ printf '{"id":[2.0],"problem":"z"}\n' | msample --device cpu --model "$TESTDATA/msample/model" -Z -q -n 2 --max-tokens 3 | jq -c .completion_ids > b
$ cmp a b && wc -l < a
> [1,0]
> [[2],0]
> 2
2> msample: ids.jsonl:2: "id" 1 is an earlier problem's too: its samples would share their random stream and one group (give each problem its own id; mfilter --dedupe drops repeated problems) (skipped)
2> msample: ids.jsonl:4: "id" [2] is an earlier problem's too: its samples would share their random stream and one group (give each problem its own id; mfilter --dedupe drops repeated problems) (skipped)
2> msample: 2 bad records skipped
