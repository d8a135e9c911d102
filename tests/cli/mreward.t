# mreward: rewards on records, bad input, groups, custom reward stages.
# Values are hand-computed unless a case says where they come from.

## default rewards: accuracy=2 format=1
$ mreward -Z
< {"id":"a","answer":"7","completion":"hm\n</think>\nso \\boxed{7}"}
< {"id":"b","answer":"7","completion":"so \\boxed{8}"}
> {"id":"a","answer":"7","completion":"hm\n</think>\nso \\boxed{7}","pred":"7","correct":true,"rewards":{"accuracy":1,"format":1},"reward":3}
> {"id":"b","answer":"7","completion":"so \\boxed{8}","pred":"8","correct":false,"rewards":{"accuracy":0,"format":0},"reward":0}
2>

## every reward agrees with the open-rs/open-r1 Python functions (tests/ref/rewards_ref.py)
% requires /usr/bin/jq
$ mreward -Z --reward accuracy --reward format --reward format:strict,as=strict --reward tags --reward tags:upstream,as=tags_up --reward cosine:max_len=50 --reward cosine:max_len=50,clamp=1,as=cos_clamp --reward repetition --reward length --reward overlong:max_len=40,cache=10 "$TESTDATA/rewards/rollouts.jsonl" | jq -c '[.rewards[]]' > got
$ jq -n --slurpfile a got --slurpfile b "$TESTDATA/rewards/expected.jsonl" '($a|length) == 9 and ([$a, $b] | transpose | map(transpose | map(.[0] - .[1] | if . < 0 then -. else . end) | max) | max) < 1e-12'
> true

## ... and on the edge cases (tests/ref/rewards_ref.py): an empty completion, lengths at and at
## twice max_len, CRLF and text after </answer> for the strict regex, two think blocks, tags in a
## code fence, a completion cut off, astral characters, combining marks, Unicode white space
% requires /usr/bin/jq
$ mreward -Z --reward accuracy --reward format --reward format:strict,as=strict --reward tags --reward tags:upstream,as=tags_up --reward cosine:max_len=50 --reward cosine:max_len=50,clamp=1,as=cos_clamp --reward repetition --reward length --reward overlong:max_len=40,cache=10 "$TESTDATA/rewards/edge-rollouts.jsonl" | jq -c '[.rewards[]]' > got
$ jq -n --slurpfile a got --slurpfile b "$TESTDATA/rewards/edge-expected.jsonl" '($a|length) == 12 and ([$a, $b] | transpose | map(transpose | map(.[0] - .[1] | if . < 0 then -. else . end) | max) | max) < 1e-12'
> true

## Exp3 rewards: format=1 cosine=2:max_len=3584; 1792 characters correct is cos(pi/2): 1 + 2 * 0.75
% requires /usr/bin/jq
$ x=$(head -c 1773 /dev/zero | tr '\0' x)
$ printf '{"id":"a","answer":"1","completion":"%s\\n</think>\\n\\\\boxed{1}"}\n' "$x" | mreward -Z --reward format=1 --reward cosine=2:max_len=3584 | jq -c '[.rewards.format, .rewards.cosine, .reward]'
> [1,0.75,2.5]

## cosine wraps past max_len; clamp=1 and unit=tokens give the corrected forms
% requires /usr/bin/jq
$ x=$(head -c 1991 /dev/zero | tr '\0' x)
$ printf '{"id":"a","answer":"1","completion":"%s\\\\boxed{1}","completion_ids":[1,2,3,4,5,6,7,8,9,10]}\n' "$x" | mreward -Z --reward cosine --reward cosine:clamp=1,as=clamped --reward cosine:unit=tokens,max_len=20,as=tok | jq -c '[.rewards.cosine, .rewards.clamped, .rewards.tok]'
> [1,0.5,0.75]

## --anchored: no box, a LaTeX answer after "answer" counts, as open-rs's Math-Verify setting
## reads it (Math-Verify 0.5.2 gives 4, 4, none); without it nothing is read
% requires /usr/bin/jq
$ printf '%s\n' '{"id":"a","answer":"4","completion":"out of tokens: so the answer is $4$ unless"}' '{"id":"b","answer":"4","completion":"**Final Answer**\n\\[ 4 \\]"}' '{"id":"c","answer":"4","completion":"We get $4$."}' > r.jsonl
$ mreward -Z --anchored --reward accuracy --reward cosine:max_len=3584 r.jsonl | jq -c '[.pred, .rewards.accuracy, (.rewards.cosine > 0.9)]'
$ mreward -Z --reward accuracy r.jsonl | jq -c '[.pred, .rewards.accuracy]'
> ["4",1,true]
> ["4",1,true]
> [null,0,false]
> [null,0]
> [null,0]
> [null,0]

## --lighteval: the answer the study's evaluation read (Math-Verify 0.5.2 with lighteval's
## settings reads 5, 7 and 1234): a final sentence after a box, a text cut off, a bare number
% requires /usr/bin/jq
$ printf '%s\n' '{"id":"a","answer":"5","completion":"So $\\boxed{4}$.\nTherefore, the final answer is: $5$. I hope it is correct"}' '{"id":"b","answer":"7","completion":"so we get 3 + 4 = 7 and then the next term is"}' '{"id":"c","answer":"1234","completion":"The total is 1,234 apples"}' > r.jsonl
$ mreward -Z --lighteval --reward accuracy r.jsonl | jq -c '[.pred, .rewards.accuracy]'
$ mreward -Z --fallback --reward accuracy r.jsonl | jq -c '[.pred, .rewards.accuracy]'
$ mreward -Z --lighteval --fallback r.jsonl; echo "rc=$?"
> ["5",1]
> ["7",1]
> ["1234",1]
> ["4",0]
> [null,0]
> [null,0]
> rc=2
2~ --lighteval reads the answer its own way: it takes no --fallback

## fields of the wrong type are named with what they hold (completion, answer, problem for language)
$ printf '{"id":"a","answer":"5","completion":5}\n' | mreward -Z; echo "rc=$?"
$ printf '{"id":"a","answer":[5],"completion":"x"}\n' | mreward -Z; echo "rc=$?"
$ printf '{"id":"a","answer":true,"completion":"x"}\n' | mreward -Z; echo "rc=$?"
$ printf '{"id":"a","answer":"5","completion":"x","problem":5}\n' | mreward -Z --reward language; echo "rc=$?"
$ printf '{"id":"a","answer":"5","completion":"x","completion_ids":"1 2"}\n' | mreward -Z --reward length; echo "rc=$?"
> rc=1
> rc=1
> rc=1
> rc=1
> rc=1
2> mreward: <stdin>:1: "completion" is a number, not a string
2> mreward: <stdin>:1: "answer" is an array, not a string or a number
2> mreward: <stdin>:1: "answer" is a boolean, not a string or a number
2> mreward: <stdin>:1: "problem" is a number, not a string
2> mreward: <stdin>:1: "completion_ids" is a string, not an array

## filters that do not compile: usage errors naming the option
$ mreward --answer '.[' </dev/null; echo "rc=$?"; mreward --prompt '{' </dev/null; echo "rc=$?"
> rc=2
> rc=2
2~ ^mreward: --answer: cannot compile jq filter '\.\[': syntax error
2~ ^mreward: --prompt: cannot compile jq filter '\{'
2~ ^Try 'mreward --help'\.$

## jq builtins that reach outside the record: debug prints to stderr, input is an error,
## halt / halt_error stop with an error (not "no value"), an import of a module that is not there does not compile
$ echo '{"id":"a","answer":"2","completion":"\\boxed{2}"}' > x.jsonl
$ mreward -Z --answer '.answer|debug' x.jsonl | jq -c .correct; echo "rc=$?"
$ mreward -Z --answer 'input' x.jsonl; echo "rc=$?"
$ mreward -Z --answer 'halt_error' x.jsonl; echo "rc=$?"
$ mreward -Z --answer 'import "a" as a; .answer' x.jsonl; echo "rc=$?"
> true
> rc=0
> rc=1
> rc=1
> rc=2
2> ["DEBUG:","2"]
2> mreward: x.jsonl:1: jq filter 'input': no more inputs: a filter reads one record
2> mreward: x.jsonl:1: jq filter 'halt_error' halted: {"id":"a","answer":"2","completion":"\\boxed{2}"}
2> mreward: --answer: cannot compile jq filter 'import "a" as a; .answer': module not found: a
2> Try 'mreward --help'.

## a record without its completion: earlier records out, then FILE:LINE: "field" is missing
$ printf '%s\n' '{"id":"a","answer":"1","completion":"\\boxed{1}"}' '{"id":"b","answer":"1","completion":"\\boxed{2}"}' '{"id":"c","answer":"1"}' '{"id":"d","answer":"1","completion":"x"}' > in.jsonl
$ mreward -Z in.jsonl
> {"id":"a","answer":"1","completion":"\\boxed{1}","pred":"1","correct":true,"rewards":{"accuracy":1,"format":0},"reward":2}
> {"id":"b","answer":"1","completion":"\\boxed{2}","pred":"2","correct":false,"rewards":{"accuracy":0,"format":0},"reward":0}
2> mreward: in.jsonl:3: "completion" is missing
? 1

## ... and the records of its own group before it are left out with a warning, not written as
## a group of their own: the length reward of a part of a group is not the group's (it wrote
## group "b"'s first record with "length":0; in the whole group it is 0.5)
$ printf '%s\n' '{"id":"a","answer":"2","completion":"\\boxed{2}"}' '{"id":"a","answer":"2","completion":"xx\\boxed{2}"}' '{"id":"b","answer":"2","completion":"\\boxed{2}"}' '{"id":"b","completion":"xx\\boxed{2}"}' > part.jsonl
$ mreward -Z --reward length part.jsonl
> {"id":"a","answer":"2","completion":"\\boxed{2}","pred":"2","correct":true,"rewards":{"length":0.5},"reward":0.5}
> {"id":"a","answer":"2","completion":"xx\\boxed{2}","pred":"2","correct":true,"rewards":{"length":-0.5},"reward":-0.5}
2> mreward: part.jsonl:3: its group (1 record read) left out: a part of a group is not scored
2> mreward: part.jsonl:4: "answer" is missing
? 1

## ... while a line that is not JSON after a group of the first group's size lets that group out
$ mreward -Z --reward length
< {"id":"a","answer":"2","completion":"x"}
< {"id":"a","answer":"2","completion":"y"}
< {"id":"b","answer":"2","completion":"z"}
< {"id":"b","answer":"2","completion":"w"}
< {bad
> {"id":"a","answer":"2","completion":"x","pred":null,"correct":false,"rewards":{"length":0},"reward":0}
> {"id":"a","answer":"2","completion":"y","pred":null,"correct":false,"rewards":{"length":0},"reward":0}
> {"id":"b","answer":"2","completion":"z","pred":null,"correct":false,"rewards":{"length":0},"reward":0}
> {"id":"b","answer":"2","completion":"w","pred":null,"correct":false,"rewards":{"length":0},"reward":0}
2> mreward: <stdin>:5: invalid JSON: Invalid numeric literal at EOF at line 1, column 4
? 1

## an earlier reward stage: replaced by default, with one warning naming the first record whose
## reward it loses (it was replaced silently); --add keeps its rewards and adds to its reward
$ printf '%s\n' '{"id":"a","rewards":{"custom":0.5},"reward":0.5,"answer":"1","completion":"\\boxed{1}"}' '{"id":"b","rewards":{"custom":0},"reward":0,"answer":"1","completion":"2"}' > pre.jsonl
$ mreward -Z --reward accuracy pre.jsonl
> {"id":"a","rewards":{"accuracy":1},"reward":1,"answer":"1","completion":"\\boxed{1}","pred":"1","correct":true}
> {"id":"b","rewards":{"accuracy":0},"reward":0,"answer":"1","completion":"2","pred":null,"correct":false}
2> mreward: pre.jsonl:1: rewards.custom, an earlier stage's, is replaced with this run's rewards (--add keeps it and adds to "reward")
$ mreward -Z --reward accuracy=2 --add pre.jsonl
> {"id":"a","rewards":{"custom":0.5,"accuracy":1},"reward":2.5,"answer":"1","completion":"\\boxed{1}","pred":"1","correct":true}
> {"id":"b","rewards":{"custom":0,"accuracy":0},"reward":0,"answer":"1","completion":"2","pred":null,"correct":false}

## ... a reward without rewards{} is replaced with a warning too; with --add, a sum past double's
## range names the earlier reward as the cause
$ printf '%s\n' '{"id":"a","reward":0.5,"answer":"1","completion":"\\boxed{1}"}' | mreward -Z --reward accuracy
> {"id":"a","reward":1,"answer":"1","completion":"\\boxed{1}","pred":"1","correct":true,"rewards":{"accuracy":1}}
2> mreward: <stdin>:1: "reward", an earlier stage's, is replaced with this run's (--add adds to it)
$ printf '%s\n' '{"id":"a","reward":1e308,"answer":"1","completion":"\\boxed{1}"}' | mreward -Z --reward accuracy=1e308 --add
2> mreward: <stdin>:1: reward accuracy is finite, but added to the record's "reward" (--add) the sum is not
? 1

## --add after mreward: two stages are one with both rewards; a name given twice is an error
$ printf '%s\n' '{"id":"a","answer":"1","completion":"<think>\nhm\n</think>\n\\boxed{1}"}' > one.jsonl
$ mreward -Z --reward accuracy=2 one.jsonl | mreward -Z --add --reward format
> {"id":"a","answer":"1","completion":"<think>\nhm\n</think>\n\\boxed{1}","pred":"1","correct":true,"rewards":{"accuracy":1,"format":1},"reward":3}
$ mreward -Z --reward accuracy=2 --reward format one.jsonl
> {"id":"a","answer":"1","completion":"<think>\nhm\n</think>\n\\boxed{1}","pred":"1","correct":true,"rewards":{"accuracy":1,"format":1},"reward":3}
$ mreward -Z one.jsonl | mreward -Z --add --reward accuracy
2> mreward: <stdin>:1: "rewards" has accuracy already (an earlier stage's; :as=NAME gives this one another name)
? 1
$ printf '%s\n' '{"id":"a","reward":"high","answer":"1","completion":"x"}' | mreward -Z --add
2> mreward: <stdin>:1: "reward" is not a finite number (--add adds to it)
? 1

## a record without its gold answer, named after the --answer filter
$ mreward -Z --answer .solution
< {"id":"a","answer":"1","completion":"\\boxed{1}"}
2> mreward: <stdin>:1: "solution" is missing
? 1

## a filter that is not a plain field is named as the option and the filter with what it gave
## (as msample --problem and mgrpo --reward), not quoted as if its text were a field's name (it
## said '"empty" is missing', '".answer // .solution" is missing')
$ echo '{"id":"a","completion":"x","c":[]}' > f.jsonl
$ mreward -Z --completion '.c[]' f.jsonl; echo "rc=$?"
$ mreward -Z --answer '.answer // .solution' f.jsonl; echo "rc=$?"
$ mreward -Z --answer '.c | length > 0' f.jsonl; echo "rc=$?"
$ mreward -Z --answer '"1"' --reward language --prompt '.c[0]' f.jsonl; echo "rc=$?"
> rc=1
> rc=1
> rc=1
> rc=1
2> mreward: f.jsonl:1: --completion '.c[]' gave nothing, not a string
2> mreward: f.jsonl:1: --answer '.answer // .solution' gave null, not a string or a number
2> mreward: f.jsonl:1: --answer '.c | length > 0' gave a boolean, not a string or a number
2> mreward: f.jsonl:1: --prompt '.c[0]' gave null, not a string (the language reward takes its script from it; language:script=NAME fixes one)

## --skip-bad warns, counts and goes on (the first group, which the unreadable line may have belonged to, goes with it)
$ printf '%s\n' '{"id":"a","answer":"1","completion":"x"}' 'not json' '{"id":"c","answer":"1"}' '{"id":"d","answer":"1","completion":"x"}' | mreward -Z --skip-bad | wc -l
> 1
2~ ^mreward: <stdin>:2: .*\(skipped\)$
2~ ^mreward: <stdin>:1: the rest of its group \(1 record\) dropped with it$
2~ ^mreward: <stdin>:3: "completion" is missing \(skipped\)$
2~ ^mreward: 2 bad records skipped$

## a group smaller than the first is an error after the whole groups before it
$ printf '%s\n' '{"id":"a","answer":"1","completion":"x"}' '{"id":"a","answer":"1","completion":"x"}' '{"id":"b","answer":"1","completion":"x"}' '{"id":"c","answer":"1","completion":"x"}' '{"id":"c","answer":"1","completion":"x"}' | mreward -Z | wc -l
> 2
2> mreward: <stdin>:3: group "b" has 1 sample, expected 2 (the first group's, at <stdin>:1)
? 0

## the same with the exit status of mreward itself
$ printf '%s\n' '{"id":"a","answer":"1","completion":"x"}' '{"id":"a","answer":"1","completion":"x"}' '{"id":"b","answer":"1","completion":"x"}' '{"id":"c","answer":"1","completion":"x"}' | mreward -Z >/dev/null
2> mreward: <stdin>:3: group "b" has 1 sample, expected 2 (the first group's, at <stdin>:1)
? 1

## --allow-partial accepts groups of any size
$ printf '%s\n' '{"id":"a","answer":"1","completion":"x"}' '{"id":"a","answer":"1","completion":"x"}' '{"id":"b","answer":"1","completion":"x"}' | mreward -Z --allow-partial | wc -l
> 3

## samples of one problem must be contiguous
$ printf '%s\n' '{"id":"a","answer":"1","completion":"x"}' '{"id":"b","answer":"1","completion":"x"}' '{"id":"a","answer":"1","completion":"x"}' | mreward -Z | wc -l
> 2
2> mreward: <stdin>:3: id "a" seen before: the samples of a problem must be contiguous

## a reappearing group is named at its first record there, not its last
$ printf '%s\n' '{"id":"a","answer":"1","completion":"x"}' '{"id":"a","answer":"1","completion":"x"}' '{"id":"b","answer":"1","completion":"x"}' '{"id":"b","answer":"1","completion":"x"}' '{"id":"a","answer":"1","completion":"x"}' '{"id":"a","answer":"1","completion":"x"}' | mreward -Z | wc -l
> 4
2> mreward: <stdin>:5: id "a" seen before: the samples of a problem must be contiguous

## the Kimi length reward is computed over each group: lengths 9, 11, 13 give lambda 0.5, 0, -0.5; a wrong sample gets min(0, lambda)
% requires /usr/bin/jq
$ printf '%s\n' '{"id":"a","answer":"1","completion":"\\boxed{1}"}' '{"id":"a","answer":"1","completion":"xy\\boxed{1}"}' '{"id":"a","answer":"1","completion":"wxyz\\boxed{2}"}' '{"id":"b","answer":"1","completion":"\\boxed{2}"}' '{"id":"b","answer":"1","completion":"xy\\boxed{1}"}' '{"id":"b","answer":"1","completion":"wxyz\\boxed{1}"}' | mreward -Z --reward length | jq -c '[.correct, .rewards.length]'
> [true,0.5]
> [true,0]
> [false,-0.5]
> [false,0]
> [true,0]
> [true,-0.5]

## the length reward measures each completion of a group once, not once per sample of the group
## (quadratic: a group of 40k short completions took 80 s, now under a second; the CPU limit
## of 20 s stops only the old way); lengths 0 to 39 (all wrong: no box) give min(0, lambda), 0 down to -0.5
$ awk 'BEGIN { s = ""; for (i = 0; i < 40000; i++) { printf "{\"id\":\"a\",\"answer\":\"1\",\"completion\":\"%s\"}\n", substr("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 1, i % 40) } }' > g.jsonl
$ (ulimit -t 20; mreward -q -Z --reward length g.jsonl > out; echo "rc=$?"); wc -l < out; sed -n '1p;40p' out | grep -o '"length":[-0-9.]*'
> rc=0
> 40000
> "length":0
> "length":-0.5

## a pending record costs what it holds: its FILE:LINE was a PATH_MAX array, 4 KiB a record, so a
## group of 100k short samples (5 MB) needed 1.3 GiB and failed under a 300 MB limit; now ~120 MB
% requires unsanitized
$ awk 'BEGIN { for (i = 0; i < 100000; i++) printf "{\"id\":\"a\",\"answer\":\"1\",\"completion\":\"\\\\boxed{%d}\"}\n", i % 3 }' > g.jsonl
$ (ulimit -v 300000; mreward -q -Z --reward accuracy g.jsonl > out 2> err; echo "rc=$?"); wc -l < out; grep -c '"correct":true' out
> rc=0
> 100000
> 33333

## overlong needs completion_ids
$ mreward -Z --reward overlong:max_len=100,cache=20
< {"id":"a","answer":"1","completion":"x"}
2> mreward: <stdin>:1: "completion_ids" is missing
? 1

## usage errors exit 2
$ mreward --reward nope:x=1 </dev/null
2~ ^mreward: --reward nope:x=1: unknown reward 'nope'
? 2

## a parameter a reward does not have
$ mreward --reward cosine:maxlen=10 </dev/null
2~ ^mreward: --reward cosine:maxlen=10: cosine has no parameter 'maxlen'$
? 2

## a pattern that does not compile names the option, as every other bad --reward does
$ mreward --reward 'regex:pattern=(' </dev/null
2> mreward: --reward regex:pattern=(: bad regex '(' at offset 1: missing closing parenthesis
2> Try 'mreward --help'.
? 2

## an empty pattern would match every completion, and a ':' or ',' with nothing after it is a
## spec cut short: each a usage error, not a reward silently 1 or a spec read as complete
$ mreward --reward 'regex:pattern=' </dev/null
2> mreward: --reward regex:pattern=: empty pattern (it would match every completion)
2> Try 'mreward --help'.
? 2
$ mreward --reward accuracy=2: </dev/null
2> mreward: --reward 'accuracy=2:': nothing after the ':' (drop it, or give key=val)
2> Try 'mreward --help'.
? 2
$ mreward --reward cosine:max_len=10, </dev/null
2> mreward: --reward 'cosine:max_len=10,': nothing after the last ','
2> Try 'mreward --help'.
? 2

## a weight or parameter is written as every number option's is (mrl(7)): hex, a '+' and
## blanks were read by strtod (accuracy=0x2 weighed 2)
$ mreward --reward accuracy=0x2 </dev/null; mreward --reward 'accuracy= +3' </dev/null
$ mreward --reward repetition:ngram=0x3 </dev/null; mreward --reward cosine:max_len=+10 </dev/null
$ echo '{"id":"a","answer":"2","completion":"\\boxed{2}"}' | mreward -Z --reward accuracy=.5e1 --reward format=-0 | jq -c .rewards,.reward
> {"accuracy":1,"format":0}
> 5
2> mreward: --reward accuracy=0x2: bad weight '0x2'
2> Try 'mreward --help'.
2> mreward: --reward accuracy= +3: bad weight ' +3'
2> Try 'mreward --help'.
2> mreward: --reward repetition:ngram=0x3: ngram=0x3 is not a number
2> Try 'mreward --help'.
2> mreward: --reward cosine:max_len=+10: max_len=+10 is not a number
2> Try 'mreward --help'.

## a parameter out of its range is a usage error naming it: repetition's max_penalty is a
## penalty (<= 0), cosine's max_len a length (> 0)
$ mreward --reward repetition:max_penalty=0.5 </dev/null; mreward --reward cosine:max_len=0 </dev/null
$ mreward --reward repetition:max_penalty=0 -q </dev/null | zstd -dc | wc -c
> 0
2> mreward: --reward repetition:max_penalty=0.5: max_penalty must be <= 0
2> Try 'mreward --help'.
2> mreward: --reward cosine:max_len=0: max_len must be > 0
2> Try 'mreward --help'.

## two rewards of one name need :as=
$ mreward --reward regex:pattern=a --reward regex:pattern=b </dev/null
2~ needs its own name
? 2

## unparsed gold: pred null, scored correct by default, counted on stderr
$ mreward -Z
< {"id":"a","answer":"}{","completion":"\\boxed{3}"}
> {"id":"a","answer":"}{","completion":"\\boxed{3}","pred":null,"correct":true,"rewards":{"accuracy":1,"format":0},"reward":2}
2> mreward: gold_unparsed: 1 record (scored correct)

## --unparsed-gold wrong
$ mreward -Z --unparsed-gold wrong
< {"id":"a","answer":"}{","completion":"\\boxed{3}"}
> {"id":"a","answer":"}{","completion":"\\boxed{3}","pred":null,"correct":false,"rewards":{"accuracy":0,"format":0},"reward":0}
2> mreward: gold_unparsed: 1 record (scored wrong)

## --unparsed-gold skip drops those records (and says so)
$ mreward -Z --unparsed-gold skip --reward accuracy
< {"id":"a","answer":"}{","completion":"\\boxed{3}"}
< {"id":"b","answer":"3","completion":"\\boxed{3}"}
> {"id":"b","answer":"3","completion":"\\boxed{3}","pred":"3","correct":true,"rewards":{"accuracy":1},"reward":1}
2> mreward: gold_unparsed: 1 record (skipped)

## --lighteval: an unparsed gold scores wrong, as the study's evaluation scored it (lighteval compares
## such a gold as a raw string; it was scored correct, so make eval counted Minerva problems solved
## whatever the completion); --unparsed-gold still decides where given
$ mreward -Z --lighteval --reward accuracy
< {"id":"a","answer":"np.arcsin(10/13)","completion":"\\boxed{3}"}
> {"id":"a","answer":"np.arcsin(10/13)","completion":"\\boxed{3}","pred":null,"correct":false,"rewards":{"accuracy":0},"reward":0}
2> mreward: gold_unparsed: 1 record (scored wrong)

## --lighteval --unparsed-gold correct: the option given wins
$ mreward -Z --lighteval --unparsed-gold correct --reward accuracy
< {"id":"a","answer":"np.arcsin(10/13)","completion":"\\boxed{3}"}
> {"id":"a","answer":"np.arcsin(10/13)","completion":"\\boxed{3}","pred":null,"correct":true,"rewards":{"accuracy":1},"reward":1}
2> mreward: gold_unparsed: 1 record (scored correct)

## --answer-part looks only after the last </think>
$ mreward -Z --answer-part --reward accuracy
< {"id":"a","answer":"1","completion":"maybe \\boxed{1}\n</think>\nno box"}
> {"id":"a","answer":"1","completion":"maybe \\boxed{1}\n</think>\nno box","pred":null,"correct":false,"rewards":{"accuracy":0},"reward":0}

## regex reward: the pattern keeps its commas
$ mreward -Z --reward 'regex=0.5:as=short,pattern=^.{1,5}$'
< {"id":"a","answer":"1","completion":"12345"}
< {"id":"b","answer":"1","completion":"123456"}
> {"id":"a","answer":"1","completion":"12345","pred":null,"correct":false,"rewards":{"short":1},"reward":0.5}
> {"id":"b","answer":"1","completion":"123456","pred":null,"correct":false,"rewards":{"short":0},"reward":0}

## regex reward over a long completion: `(.|\n)*` runs PCRE2's JIT out of its default stack
## (it scored 0, where Python's re.search matches); a pattern that backtracks past the match
## limit scores 0 and is counted in a warning
% requires /usr/bin/jq
$ printf '{"id":"a","answer":"1","completion":"<think>%s</think> done"}\n' "$(for i in $(seq 5000); do printf 'ab\\n'; done)" | mreward -Z --reward 'regex:pattern=^<think>(.|\n)*</think>' | jq -c .rewards
> {"regex":1}
$ printf '{"id":"a","answer":"1","completion":"%sb"}\n' "$(head -c 60 /dev/zero | tr '\0' a)" | mreward -Z --reward 'regex:pattern=^(a+)+$' | jq -c .rewards
> {"regex":0}
2> mreward: 1 regex match ran past PCRE2's match or heap limit (catastrophic backtracking) and scored 0

## a reward sum past double's range (weights of 1e308) is an error naming the record, not a
## "reward": null that mgrpo refuses later
$ printf '%s\n' '{"id":"a","answer":"1","completion":"<think>\nhm\n</think>\nok"}' | mreward -Z --reward format=1e308 --reward tags=1e308; echo "rc=$?"
> rc=1
2> mreward: <stdin>:1: reward tags is finite, but the weighted sum is not (its parameters or weights are out of range)

## ... and the groups before it go out whole: the samples of its group before it went out
## alone (a short group in the stream)
% requires /usr/bin/jq
$ printf '%s\n' '{"id":"b","answer":"1","completion":"no"}' '{"id":"b","answer":"1","completion":"no"}' '{"id":"a","answer":"1","completion":"no"}' '{"id":"a","answer":"1","completion":"<think>\nhm\n</think>\nok"}' | mreward -Z --reward format=1e308 --reward tags=1e308 | jq -c '[.id, .reward]'
> ["b",0]
> ["b",0]
2> mreward: <stdin>:4: reward tags is finite, but the weighted sum is not (its parameters or weights are out of range)

## --jobs: the groups read go out when the input has nothing more yet (a slow msample
## upstream), not only when a batch of 16 N groups is full: the writer below waits (up to 20 s)
## for the 10 whole groups of its first 41 lines to come out before it writes the rest (it saw 0)
$ for g in $(seq 30); do for i in 1 2 3 4; do printf '{"id":"g%d","answer":"1","completion":"\\boxed{1}"}\n' $g; done; done > rr.jsonl
$ mkfifo f; (head -41 rr.jsonl; n=0; for i in $(seq 200); do n=$(wc -l < out); [ "$n" -ge 40 ] && break; sleep 0.1; done; echo "seen $n" > seen; tail -n +42 rr.jsonl) > f & mreward -Z --jobs 4 f > out; wait; cat seen; wc -l < out
> seen 40
> 120

## --jobs keeps the output order and values
$ mreward -Z --reward length --reward accuracy --reward repetition "$TESTDATA/rewards/rollouts.jsonl" > one
$ mreward -Z --jobs 3 --reward length --reward accuracy --reward repetition "$TESTDATA/rewards/rollouts.jsonl" "$TESTDATA/rewards/rollouts.jsonl" --allow-partial > three
$ cat one one | cmp - three && echo same; wc -l < three
> same
> 18

## zstd out when stdout is not a terminal, readable by the next stage
$ mreward "$TESTDATA/rewards/rollouts.jsonl" | zstd -dc | wc -l
> 9

## a custom reward stage in jq between mreward and meval is accepted downstream
% requires /usr/bin/jq
$ mreward -Z "$TESTDATA/rewards/rollouts.jsonl" 2>/dev/null | jq -c '.rewards.short = (if (.completion | length) < 50 then 1 else 0 end) | .reward += 0.5 * .rewards.short' > custom.jsonl
$ jq -c '[.rewards.short, .reward]' custom.jsonl | head -3
$ meval --json -Z custom.jsonl | jq -c '[.bench, .problems, .k, (."pass@1" - 7/9 | . * . < 1e-24)]'
> [1,3.5]
> [0,1]
> [0,2]
> ["all",3,3,true]

## records without an id are groups of one
$ printf '%s\n' '{"answer":"1","completion":"\\boxed{1}"}' '{"answer":"1","completion":"long \\boxed{2}"}' | mreward -Z --reward length --reward accuracy
> {"answer":"1","completion":"\\boxed{1}","pred":"1","correct":true,"rewards":{"length":0,"accuracy":1},"reward":1}
> {"answer":"1","completion":"long \\boxed{2}","pred":"2","correct":false,"rewards":{"length":0,"accuracy":0},"reward":0}

## a NUL inside a completion or gold (JSON \u0000) is text to the checker (U+FFFD), not the end of it
% requires /usr/bin/jq
$ printf '%s\n' '{"id":"a","answer":"1","completion":"\\boxed{2}\u0000\\boxed{1}"}' '{"id":"b","answer":"2","completion":"\\boxed{2}\u0000\\boxed{1}"}' | mreward -Z -q --reward accuracy | jq -c '[.pred, .correct, (.completion | length)]'
> ["1",true,19]
> ["1",false,19]

## --skip-bad drops a whole group: one with the wrong size, or one that lost a record (its rewards need every sample)
% requires /usr/bin/jq
$ printf '%s\n' '{"id":"a","answer":"1","completion":"x"}' '{"id":"a","answer":"1","completion":"x"}' '{"id":"b","answer":"1","completion":"x"}' '{"id":"c","answer":"1","completion":"x"}' '{"id":"c","answer":"1","completion":"x"}' | mreward -Z --skip-bad | jq -r .id | tr '\n' ' '; echo
$ printf '%s\n' '{"id":"a","answer":"1","completion":"x"}' '{"id":"a","completion":"x"}' '{"id":"b","answer":"1","completion":"x"}' '{"id":"b","answer":"1","completion":"x"}' | mreward -Z --skip-bad | jq -r .id | tr '\n' ' '; echo
> a a c c 
> b b 
2> mreward: <stdin>:3: group "b" has 1 sample, expected 2 (the first group's, at <stdin>:1) (skipped)
2> mreward: 1 bad record skipped
2> mreward: <stdin>:2: "answer" is missing (skipped)
2> mreward: <stdin>:1: the rest of its group (1 record) dropped with it
2> mreward: 1 bad record skipped

## --skip-bad with --jobs 2 drops a wrong-size or repeated group too (the open group had moved in the buffer: a double free)
% requires /usr/bin/jq
$ r() { for i in "$@"; do echo "{\"id\":\"$i\",\"answer\":\"1\",\"completion\":\"x\"}"; done; }
$ r a a b b c d d | mreward -Z -q --skip-bad --jobs 2 2>/dev/null | jq -r .id | tr '\n' ' '; echo
$ r a a b b a a c c | mreward -Z -q --skip-bad --jobs 2 2>/dev/null | jq -r .id | tr '\n' ' '; echo
$ { r a; echo 'broken'; r b b c c; } | mreward -Z -q --skip-bad 2>/dev/null | jq -r .id | tr '\n' ' '; echo
> a a b b d d 
> a a b b c c 
> b b c c 

## --skip-bad: an invalid line before the first group is whole takes the short group, never the size
## (a short group taken for the first set the size every later, whole group was dropped against)
% requires /usr/bin/jq
$ r() { for i in "$@"; do echo "{\"id\":\"$i\",\"answer\":\"1\",\"completion\":\"x\"}"; done; }
$ { echo 'broken'; r a b b c c; } | mreward -Z -q --skip-bad 2>/dev/null | jq -r .id | tr '\n' ' '; echo
$ { r a a; echo 'broken'; r b c c d d; } | mreward -Z -q --skip-bad 2>/dev/null | jq -r .id | tr '\n' ' '; echo
$ { r a; echo 'broken'; r b b c c d d; } | mreward -Z -q --skip-bad 2>/dev/null | jq -r .id | tr '\n' ' '; echo
> b b c c 
> c c d d 
> b b c c d d 

## --progress: the last line counts every record written (the last group was left out)
$ for i in 1 2 3 4 5; do for k in 0 1; do echo "{\"id\":\"p$i\",\"completion\":\"\\\\boxed{$k}\",\"answer\":\"1\"}"; done; done > rw.jsonl
$ mreward --progress rw.jsonl -o out.zst 2>&1 | tr '\r' '\n' | grep -o '^mreward: [0-9]* records' | tail -1
> mreward: 10 records

## an id that comes back after other ids is named as such, even when the part that comes back
## is shorter than a group (it was "group has 1 sample, expected 2")
$ for id in a a b b a; do echo "{\"id\":\"$id\",\"completion\":\"\\\\boxed{1}\",\"answer\":\"1\"}"; done > back.jsonl
$ mreward -Z back.jsonl > o.jsonl; echo "rc $?"; jq -c .id o.jsonl
> rc 1
> "a"
> "a"
> "b"
> "b"
2> mreward: back.jsonl:5: id "a" seen before: the samples of a problem must be contiguous

## a signal while waiting for a slow upstream ends the wait at once (exit 130), and no record
## that arrives after it is scored (mreward waited in read() for the next record, then went on);
## the group then open is written only if it is whole (here b has 1 of 2: left out, as mfilter
## and meval leave a half-read group; a whole one goes out)
$ r() { echo "{\"id\":\"$1\",\"sample\":$2,\"completion\":\"\\\\boxed{1}\",\"answer\":\"1\"}"; }
$ { r a 0; r a 1; r b 0; sleep 4; r b 1; } | { timeout -s INT --preserve-status 1 mreward -Z -q > o.jsonl; echo "rc $?"; }
$ jq -c '[.id, .sample]' o.jsonl
$ { r a 0; r a 1; r b 0; r b 1; sleep 4; r c 0; } | { timeout -s INT --preserve-status 1 mreward -Z -q > o.jsonl; echo "rc $?"; }
$ jq -c '[.id, .sample]' o.jsonl
> rc 130
> ["a",0]
> ["a",1]
> rc 130
> ["a",0]
> ["a",1]
> ["b",0]
> ["b",1]
2> mreward: interrupted: the group open then (1 record) left out: it may be incomplete

## ... and the open group that is whole by its size is still checked as at the end of input: one
## that lost a record to --skip-bad, or one with more records than the first, is not written
## (it went out unchecked)
% requires /usr/bin/jq
$ r() { echo "{\"id\":\"$1\",\"sample\":$2,\"completion\":\"\\\\boxed{1}\",\"answer\":\"1\"}"; }
$ { r a 0; r a 1; r b 0; echo '{"id":"b","answer":"1"}'; r b 2; sleep 4; } | { timeout -s INT --preserve-status 1 mreward -Z -q --skip-bad > o.jsonl; echo "rc $?"; }
$ jq -c '[.id, .sample]' o.jsonl
$ { r a 0; r a 1; r b 0; r b 1; r b 2; sleep 4; } | { timeout -s INT --preserve-status 1 mreward -Z -q --skip-bad > o.jsonl; echo "rc $?"; }
$ jq -c '[.id, .sample]' o.jsonl
> rc 130
> ["a",0]
> ["a",1]
> rc 130
> ["a",0]
> ["a",1]
2> mreward: <stdin>:4: "completion" is missing (skipped)
2> mreward: <stdin>:3: the rest of its group (2 records) dropped with it
2> mreward: 1 bad record skipped
2> mreward: <stdin>:5: group "b" has 3 samples, expected 2 (the first group's, at <stdin>:1) (skipped)
2> mreward: 1 bad record skipped

## --skip-bad: the group after lost lines is kept only if the group before them took them all: two
## lines lost in a row (one of a, one of b), a line lost after a group that lost a record, lines
## lost around a group that lost its first (a short group passed and set the size: every later,
## whole group was dropped)
% requires /usr/bin/jq
$ r() { for i in "$@"; do echo "{\"id\":\"$i\",\"answer\":\"1\",\"completion\":\"x\"}"; done; }
$ { r a a a; echo 'broken'; echo 'broken'; r b b b c c c c d d d d; } | mreward -Z -q --skip-bad 2>/dev/null | jq -r .id | tr '\n' ' '; echo
$ { r a a; echo '{"id":"a","answer":"1"}'; echo 'broken'; r b b c c c d d d; } | mreward -Z -q --skip-bad 2>/dev/null | jq -r .id | tr '\n' ' '; echo
$ { r a a; echo broken; r b; echo broken; r c; echo broken; r d d e e; } | mreward -Z -q --skip-bad 2>/dev/null | jq -r .id | tr '\n' ' '; echo
> c c c c d d d d 
> c c c d d d 
> e e 

## language: a record without the prompt is a bad record (it was scored against Latin without a word); script=NAME needs none
$ jq -cn '{id:"x",answer:"1",completion:"abcd δεκ"}' > r.jsonl
$ mreward -Z -q --reward language r.jsonl; echo "rc $?"
$ mreward -Z -q --reward language:script=greek r.jsonl | jq -c .rewards
> rc 1
> {"language":-0.5714285714285714}
2> mreward: r.jsonl:1: "problem" is missing (the language reward takes its script from it; language:script=NAME fixes one)

## language: a completion all in the prompt's script scores 0, not -0
$ echo '{"id":"a","problem":"What is one?","completion":"\\boxed{1} one","answer":"1"}' | mreward -Z --reward language | jq -c .rewards
> {"language":0}
