# meval: benchmark scores from rewarded rollouts.
# The small table is hand-computed: p1 has 1 of 2 right, p2 2 of 2: pass@1 (0.5 + 1) / 2;
# the bootstrap over {0.5, 1} gives means 0.5, 0.75, 1 with chances 1/4, 1/2, 1/4, so its
# 2.5% and 97.5% quantiles are 0.5 and 1; maj@k: p1 ties "1" and "2", the lower sample (right) wins.

## the table on a hand-computed case
$ meval --table
< {"id":"p1","sample":0,"pred":"1","correct":true,"completion_ids":[1,2,3,4,5,6,7,8,9,10],"finish":"stop","rewards":{"format":1}}
< {"id":"p1","sample":1,"pred":"2","correct":false,"completion_ids":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20],"finish":"length","rewards":{"format":1}}
< {"id":"p2","sample":0,"pred":"5","correct":true,"completion_ids":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30],"finish":"stop","rewards":{"format":0}}
< {"id":"p2","sample":1,"pred":"5","correct":true,"completion_ids":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40],"finish":"stop","rewards":{"format":1}}
> bench  problems  k  pass@1         95% CI  maj@k  pass@2  len  trunc  format
> all           2  2    75.0  [50.0, 100.0]  100.0   100.0   25  0.250   0.750
> len: mean completion length in tokens

## --json agrees with an independent computation (tests/ref/meval_ref.py)
% requires /usr/bin/jq
$ meval --json -Z "$TESTDATA/rewards/evalset.jsonl" > got
$ jq -n --slurpfile a got --slurpfile b "$TESTDATA/rewards/meval_expected.jsonl" 'def row: [.problems, .k, ."pass@1", ."maj@k", ."pass@k"."1", ."pass@k"."2", ."pass@k"."4", .len_mean, .truncated_frac, .format_rate]; ($a | map({(.bench): row}) | add) as $x | ($b | map({(.bench): row}) | add) as $y | ($a | length) == 2 and ([$y | keys[] as $k | [$x[$k], $y[$k]] | transpose[] | .[0] - .[1] | if . < 0 then -. else . end] | max) < 1e-12'
> true

## the interval holds pass@1, and the same seed gives the same interval
% requires /usr/bin/jq
$ meval --json -Z "$TESTDATA/rewards/evalset.jsonl" | jq -c '[.ci95[0] < ."pass@1", ."pass@1" < .ci95[1]]'
$ meval --json -Z --seed 5 "$TESTDATA/rewards/evalset.jsonl" > a; meval --json -Z --seed 5 "$TESTDATA/rewards/evalset.jsonl" > b; cmp a b && jq -c '.ci95 | map(type)' a && echo same
> [true,true]
> [true,true]
> ["number","number"]
> ["number","number"]
> same

## --k picks the pass@k list; k above the samples per problem is left out
% requires /usr/bin/jq
$ meval --json -Z --k 3,1,8 "$TESTDATA/rewards/evalset.jsonl" | jq -c '."pass@k" | keys'
> ["1","3"]
> ["1","3"]

## --k with an empty item is a usage error (strtok skipped it: "1,,2" ran as "1,2")
$ for v in 1,,2 ,1 1, ''; do meval --k "$v" "$TESTDATA/rewards/evalset.jsonl" 2>&1 | head -1; done
> meval: --k: '1,,2' has an empty item (a comma-separated list of numbers)
> meval: --k: ',1' has an empty item (a comma-separated list of numbers)
> meval: --k: '1,' has an empty item (a comma-separated list of numbers)
> meval: --k: '' has an empty item (a comma-separated list of numbers)

## --by groups by any jq value
% requires /usr/bin/jq
$ meval --json -Z --by '"x"' "$TESTDATA/rewards/evalset.jsonl" | jq -c '[.bench, .problems, .k]'
> ["x",21,4]

## a --by number is grouped by its value, whichever libjq the tools are built with: 1 and 1.0
## are one benchmark, shown as 1, and so are [2.50] and [2.5] (with libjq 1.7 and 1.8, which
## print a number as it was written, they were two each)
$ printf '%s\n' '{"id":"a","l":1,"correct":true}' '{"id":"b","l":1.0,"correct":false}' '{"id":"c","l":[2.50],"correct":true}' '{"id":"d","l":[2.5],"correct":true}' > by.jsonl
$ meval --json -Z --by .l by.jsonl | grep -o '"bench":[^,]*,"problems":[0-9]*'
> "bench":"1","problems":2
> "bench":"[2.5]","problems":2

## a --by string with a NUL (JSON \u0000), or one that starts with U+0001, is written as it is
## (the output showed the internal key: U+0001 and the string's JSON text, or a second U+0001);
## the table shows the NUL as U+FFFD
% requires /usr/bin/jq
$ printf '%s\n' '{"id":"a","correct":true,"b":"a\u0000b"}' '{"id":"b","correct":true,"b":"\u0001x"}' '{"id":"c","correct":true,"b":"y"}' > nul.jsonl
$ meval --json -Z --by .b nul.jsonl | jq -c .bench
$ meval --table --by .b nul.jsonl | sed -n 2p | cut -c1-5 | od -An -tx1
> "a\u0000b"
> "\u0001x"
> "y"
>  61 ef bf bd 62 0a

## labelled inputs side by side: a clear gain is marked, no change is not
$ for i in 1 2 3 4 5 6 7 8 9 10; do echo "{\"id\":\"q$i\",\"correct\":false,\"pred\":\"0\",\"completion\":\"abc\"}"; done > base.jsonl
$ sed 's/false/true/' base.jsonl > rl.jsonl
$ meval --table base=base.jsonl rl=rl.jsonl same=base.jsonl
> bench  problems  k  base pass@1  base 95% CI  base maj@k  base len  rl pass@1       rl 95% CI  rl maj@k  rl len  same pass@1  same 95% CI  same maj@k  same len      Δ rl  Δ same
> all          10  1          0.0   [0.0, 0.0]         0.0         3      100.0  [100.0, 100.0]     100.0       3          0.0   [0.0, 0.0]         0.0         3  +100.0 *    +0.0
> len: mean completion length in characters
> Δ: pass@1 change from the first input; * its 95% bootstrap interval excludes 0

## deltas in --json: paired over the same problems
% requires /usr/bin/jq
$ for i in 1 2 3 4 5 6 7 8 9 10; do echo "{\"id\":\"q$i\",\"correct\":$([ $i -le 3 ] && echo true || echo false)}"; done > base.jsonl
$ for i in 1 2 3 4 5 6 7 8 9 10; do echo "{\"id\":\"q$i\",\"correct\":$([ $i -le 9 ] && echo true || echo false)}"; done > rl.jsonl
$ meval --json -Z base=base.jsonl rl=rl.jsonl | jq -c 'select(.label == "rl") | [.delta.vs, (.delta."pass@1" * 1e9 | round / 1e9), .delta.paired, .delta.significant, .delta.ci95[0] > 0]'
> ["base",0.6,true,true,true]

## --markdown for reports
$ meval --markdown "$TESTDATA/rewards/evalset.jsonl"
>~ ^\| bench +\| problems \| k \| pass@1 \| 95% CI +\| maj@k \| pass@2 \| pass@4 \| len \| trunc \| format \|$
>~ ^\|:-+\|-+:\|
>~ ^\| aime24 +\| 9 +\| 4 +\| 72\.2 +\|
>~ ^\| avg +\|

## optional fields of the wrong type: sample, pred, finish, completion, completion_ids (which
## was taken as absent, and one such record turned the whole benchmark's len_unit to chars)
$ printf '{"id":"a","correct":true,"sample":"0"}\n' | meval; echo "rc=$?"
$ printf '{"id":"a","correct":true,"pred":5}\n' | meval; echo "rc=$?"
$ printf '{"id":"a","correct":true,"finish":1}\n' | meval; echo "rc=$?"
$ printf '{"id":"a","correct":true,"completion":[]}\n' | meval; echo "rc=$?"
$ printf '{"id":"a","correct":true,"completion_ids":[1,2]}\n{"id":"a","correct":true,"completion_ids":"x"}\n' | meval; echo "rc=$?"
> rc=1
> rc=1
> rc=1
> rc=1
> rc=1
2> meval: <stdin>:1: "sample" is a string, not a number
2> meval: <stdin>:1: "pred" is a number, not a string
2> meval: <stdin>:1: "finish" is a number, not a string
2> meval: <stdin>:1: "completion" is an array, not a string
2> meval: <stdin>:2: "completion_ids" is a string, not an array

## a --by filter that does not compile is a usage error naming the option
$ meval --by '.[' </dev/null; echo "rc=$?"
> rc=2
2~ ^meval: --by: cannot compile jq filter '\.\[': syntax error
2~ ^Try 'meval --help'\.$

## ids of different JSON types are different problems (1 and "1"), as in mreward and mgrpo
% requires /usr/bin/jq
$ printf '{"id":1,"correct":true}\n{"id":"1","correct":false}\n' | meval --json -Z | jq -c '[.problems, .k]'
> [2,1]

## a --k larger than a benchmark's groups is left out with a warning, not an empty pass@k
## without a word; the default list never warns
$ printf '{"id":"%s","sample":%d,"correct":%s}\n' a 0 true a 1 false a 2 true b 0 false b 1 false b 2 false > k.jsonl
$ meval -Z --k 1,2,5 k.jsonl | jq -c '."pass@k"'
$ meval -Z k.jsonl | jq -c '."pass@k"'
$ head -n 5 k.jsonl | meval -Z --allow-partial --k 3 | jq -c '."pass@k"'
> {"1":0.3333333333333333,"2":0.5}
> {"1":0.3333333333333333,"2":0.5,"3":0.5}
> {}
2> meval: --k 5 left out for benchmark "all": every group has 3 samples
2> meval: --k 3 left out for benchmark "all": its smallest group has 2 samples

## finish is "stop" or "length": another string is a bad record (it counted as not truncated),
## skipped with --skip-bad; null is no finish; a long one is cut in the message at a character
$ printf '%s\n' '{"id":"a","correct":true,"finish":"Length"}' '{"id":"b","correct":false,"finish":"length"}' '{"id":"c","correct":true,"finish":null}' > fin.jsonl
$ meval -Z fin.jsonl; echo "rc=$?"
$ printf '{"id":"a","correct":true,"finish":"%s"}\n' ééééééééééééééééééééééééééééééééééééééé | meval -Z; echo "rc=$?"
$ meval -Z --skip-bad fin.jsonl | jq -c '[.problems, .truncated_frac]'; echo "rc=${PIPESTATUS[0]}"
> rc=1
> rc=1
> [2,0.5]
> rc=0
2> meval: fin.jsonl:1: "finish" is "Length", not "stop" or "length"
2> meval: <stdin>:1: "finish" is "ééééééééééééééééééééééééééééé..., not "stop" or "length"
2> meval: fin.jsonl:1: "finish" is "Length", not "stop" or "length" (skipped)
2> meval: 1 bad record skipped

## a sample index must be a whole number (0 to 2^53), correct a finite number (1e999 is infinity
## to libjq; nan is refused as not JSON, by mrl where libjq reads it, by Debian 11's libjq 1.6
## itself); a label needs a file
$ printf '{"id":"a","correct":true,"sample":1.5}\n' | meval; echo "rc=$?"
$ printf '{"id":"a","correct":1e999}\n' | meval; echo "rc=$?"
$ printf '{"id":"a","correct":nan}\n' | meval 2>&1 | sed -E 's/^meval: <stdin>:1: (invalid JSON: .nan. at column [0-9]+ is not a JSON number \(JSON has no NaN or Infinity\)|invalid JSON: Invalid literal at line 1, column [0-9]+)$/refused: <stdin>:1/'; echo "rc=${PIPESTATUS[1]}"
$ meval a=; echo "rc=$?"
> rc=1
> rc=1
> refused: <stdin>:1
> rc=1
> rc=2
2> meval: <stdin>:1: "sample" is not a whole number from 0 to 2^53
2> meval: <stdin>:1: "correct" is not a finite number
2> meval: 'a=': no file after the label
2> Try 'meval --help'.

## a benchmark name of 5000 characters: the table's line is whole (it was cut at 4095 bytes)
$ b=$(printf 'x%.0s' $(seq 5000)); printf '{"id":"a","correct":true,"bench":"%s"}\n' "$b" | meval --by .bench --table | sed -n 2p | awk '{print length($0), $4}'
> 5056 100.0

## a record without correct: FILE:LINE: "correct" is missing
$ printf '%s\n' '{"id":"a","correct":true}' '{"id":"b"}' > in.jsonl
$ meval -Z in.jsonl
2> meval: in.jsonl:2: "correct" is missing (mreward sets it: msample ... | mreward | meval)
? 1

## a problem with fewer samples than the others is an error
$ printf '%s\n' '{"id":"a","correct":true}' '{"id":"a","correct":true}' '{"id":"b","correct":false}' > in.jsonl
$ meval -Z in.jsonl
2> meval: in.jsonl:3: group "b" has 1 sample, expected 2 (--allow-partial accepts it)
? 1

## --allow-partial scores it: pass@1 (1 + 0) / 2, pass@k only up to the smallest group
% requires /usr/bin/jq
$ printf '%s\n' '{"id":"a","correct":true}' '{"id":"a","correct":true}' '{"id":"b","correct":false}' | meval --json -Z --allow-partial | jq -c '[.problems, .k, ."pass@1", ."pass@k"]'
> [2,2,0.5,{"1":0.5}]

## LABEL= and plain inputs do not mix
$ meval a=x.jsonl y.jsonl
2~ ^meval: give every input a LABEL= or none$
? 2

## several plain inputs: the message names the file the short group is in
$ printf '%s\n' '{"id":"a","correct":true}' '{"id":"a","correct":true}' > a.jsonl
$ printf '%s\n' '{"id":"c","correct":true}' '{"id":"c","correct":true}' '{"id":"b","correct":false}' > b.jsonl
$ meval -Z a.jsonl b.jsonl
2> meval: b.jsonl:3: group "b" has 1 sample, expected 2 (--allow-partial accepts it)
? 1

## a bench with a single problem has no interval, so its change is never marked
$ printf '%s\n' '{"id":"a","bench":"x","correct":true}' '{"id":"a","bench":"x","correct":false}' > a.jsonl
$ printf '%s\n' '{"id":"a","bench":"x","correct":true}' '{"id":"a","bench":"x","correct":true}' > b.jsonl
$ meval --json -Z a=a.jsonl b=b.jsonl | grep -o '"delta":{[^}]*}'
> "delta":{"vs":"a","pass@1":0.5,"ci95":[null,null],"paired":true,"significant":false}

## a sample given twice (the same file twice, a rerun appended) is an error, not a doubled k
$ printf '%s\n' '{"id":"a","sample":0,"correct":true}' '{"id":"a","sample":1,"correct":false}' > two.jsonl
$ meval -Z two.jsonl two.jsonl
$ cat two.jsonl two.jsonl > twice.jsonl; meval -Z twice.jsonl
2> meval: two.jsonl: the same file as two.jsonl, given twice (its samples would count twice)
2> meval: twice.jsonl:3: sample 0 of "a" again (also at twice.jsonl:1)
? 1

## each benchmark's own k is in the automatic pass@k list
% requires /usr/bin/jq
$ for i in 1 2; do for s in 0 1 2; do echo "{\"id\":\"q$i\",\"bench\":\"x\",\"sample\":$s,\"correct\":$([ $s = 2 ] && echo true || echo false)}"; done; done > mixk.jsonl
$ for i in 1 2; do for s in 0 1 2 3; do echo "{\"id\":\"q$i\",\"bench\":\"y\",\"sample\":$s,\"correct\":false}"; done; done >> mixk.jsonl
$ meval -Z mixk.jsonl | jq -c '[.bench, .k, ."pass@1" == ."pass@k"."1", (."pass@k" | keys)]'
> ["x",3,true,["1","2","3"]]
> ["y",4,true,["1","2","3","4"]]

## labelled runs of different problems or k: each run's count, and the change marked unpaired
## (no footer for len where no record has a length: it said "in characters" beside a column of -)
$ for i in $(seq 10); do echo "{\"id\":\"q$i\",\"correct\":false}"; done > base.jsonl
$ for i in $(seq 20); do for s in 0 1 2 3; do echo "{\"id\":\"q$i\",\"sample\":$s,\"correct\":true}"; done; done > rl.jsonl
$ meval --table base=base.jsonl rl=rl.jsonl
> bench  problems    k  base pass@1  base 95% CI  base maj@k  base len  rl pass@1       rl 95% CI  rl maj@k  rl len        Δ rl
> all       10/20  1/4          0.0   [0.0, 0.0]           -         -      100.0  [100.0, 100.0]         -       -  +100.0 * †
> Δ: pass@1 change from the first input; * its 95% bootstrap interval excludes 0
> †: the runs scored different problems; the interval is not paired

## avg is over the benchmarks every labelled run scored
$ for i in $(seq 10); do echo "{\"id\":\"q$i\",\"correct\":false,\"bench\":\"x\"}"; echo "{\"id\":\"q$i\",\"correct\":true,\"bench\":\"y\"}"; done > bxy.jsonl
$ for i in $(seq 10); do echo "{\"id\":\"q$i\",\"correct\":true,\"bench\":\"x\"}"; done > rx.jsonl
$ meval --table base=bxy.jsonl rl=rx.jsonl | grep -E '^avg'
> avg                         0.0                                            100.0
> avg: over the 1 of 2 benchmarks every input scored

## an empty input (a file or stdin, named as every reader names it), a missing file and a wrong-typed field: errors (--skip-bad skips records, not files)
$ : > empty.jsonl; echo '{"id":"q1","correct":true}' > one.jsonl
$ meval -Z empty.jsonl
$ meval --table base=one.jsonl rl=empty.jsonl
$ meval -Z --skip-bad nope.jsonl one.jsonl
$ echo '{"id":"a","correct":"true"}' | meval -Z
$ meval --table base=one.jsonl rl=- < empty.jsonl
2> meval: empty.jsonl: no records to score
2> meval: empty.jsonl: no records to score
2> meval: nope.jsonl: No such file or directory
2> meval: <stdin>:1: "correct" is not a boolean or a number (got string)
2> meval: <stdin>: no records to score
? 1

## ids that differ past a NUL (JSON \u0000) are different problems
% requires /usr/bin/jq
$ printf '%s\n' '{"id":"a\u0000x","correct":true}' '{"id":"a\u0000y","correct":false}' | meval --json -Z -q | jq -c '[.problems, .k]'
> [2,1]

## --skip-bad: a problem left short by a skipped record is dropped, not the run
% requires /usr/bin/jq
$ printf '%s\n' '{"id":"a","correct":true}' '{"id":"a","correct":"x"}' '{"id":"b","correct":false}' '{"id":"b","correct":true}' | meval --json -Z --skip-bad | jq -c '[.problems, .k, ."pass@1"]'
> [1,2,0.5]
2> meval: <stdin>:2: "correct" is not a boolean or a number (got string) (skipped)
2> meval: <stdin>:1: group "a" has 1 sample, expected 2 (skipped)
2> meval: 2 bad records skipped

## a signal while reading a slow upstream ends the read at once (exit 130); the problems read
## whole are scored, the one read last (maybe half read) is not (meval read on to the end)
% requires /usr/bin/jq
$ r() { echo "{\"id\":\"$1\",\"sample\":$2,\"correct\":$3}"; }
$ { r a 0 true; r a 1 false; r b 0 true; sleep 4; r b 1 true; } | { timeout -s INT --preserve-status 1 meval --json -Z > o.json; echo "rc $?"; }
$ jq -c '[.problems, .k, ."pass@1"]' o.json
$ { r a 0 true; sleep 4; r a 1 true; } | timeout -s TERM --preserve-status 1 meval --json -Z -o o2.json; echo "rc $?"; ls o2.json 2>/dev/null || echo "no o2.json"
> rc 130
> [1,2,0.5]
> rc 143
> no o2.json
2> meval: interrupted: <stdin>: no whole problem read, nothing scored

## labelled inputs, interrupted: the runs read whole are scored, the one cut off if it has a
## whole problem, the others are left out and named (it threw every score away)
% requires /usr/bin/jq
$ r() { echo "{\"id\":\"$1\",\"sample\":$2,\"correct\":$3}"; }
$ { r a 0 true; r a 1 false; } > e1.jsonl; { r a 0 true; r a 1 true; } > e2.jsonl
$ { r a 0 true; r a 1 false; r b 0 true; sleep 2; } | { timeout -s INT --preserve-status 1 meval --json -Z new=- base=e2.jsonl > o.json; echo "rc $?"; }
$ jq -c '[.label, .problems, ."pass@1"]' o.json
$ { sleep 2; } | { timeout -s INT --preserve-status 1 meval --json -Z base=e1.jsonl new=- > o.json; echo "rc $?"; }
$ jq -c '[.label, .problems, ."pass@1"]' o.json
> rc 130
> ["new",1,0.5]
> rc 130
> ["base",1,0.5]
2> meval: interrupted: base=e2.jsonl left out
2> meval: interrupted: new=<stdin> left out

## --progress draws the progress line (records read) on stderr; without it, stderr not a terminal, none
## (meval accepted --progress and drew nothing)
$ for i in 1 2 3; do echo "{\"id\":\"p$i\",\"correct\":true}"; done > e.jsonl
$ meval --progress --json -Z e.jsonl 2>&1 >/dev/null | tr '\r' '\n' | grep -o '^meval: [0-9]* records' | tail -1
$ meval --json -Z e.jsonl 2>&1 >/dev/null | wc -c
> meval: 3 records
> 0

## the same accuracy on different problem sets is no change: rounding (0.1 * 10 / 10) is not significant
$ for i in 0 1 2 3 4 5 6 7 8 9; do for s in 0 1 2 3 4 5 6 7 8 9; do echo "{\"id\":\"q$i\",\"sample\":$s,\"correct\":$([ $s = 0 ] && echo true || echo false)}"; done; done > a.jsonl
$ head -20 a.jsonl > b.jsonl
$ meval --json -Z a=a.jsonl b=b.jsonl | tail -1 | sed 's/.*"delta"://'
> {"vs":"a","pass@1":0,"ci95":[0,0],"paired":false,"significant":false}}

## each benchmark's own k is in the default pass@k list, past 32 distinct k (it was cut at 32)
% requires /usr/bin/jq
$ for k in $(seq 40); do for s in $(seq 0 $((k - 1))); do echo "{\"id\":\"q\",\"bench\":\"b$k\",\"sample\":$s,\"correct\":$([ $s = 0 ] && echo true || echo false)}"; done; done > in.jsonl
$ meval --json -Z in.jsonl | jq -c 'select(.bench == "b33" or .bench == "b40") | [.bench, (."pass@k" | keys | length), ."pass@k"[.k | tostring]]'
> ["b33",33,1]
> ["b40",40,1]

## maj@k: an empty or blank pred is no answer and does not vote (two blank answers outvoted the one given)
$ printf '{"id":1,"sample":0,"pred":"","correct":false}\n{"id":1,"sample":1,"pred":" ","correct":false}\n{"id":1,"sample":2,"pred":"3","correct":true}\n' | meval --json -Z | jq -c '{k, "maj@k"}'
> {"k":3,"maj@k":1}

## maj@k needs answers: where no record of a benchmark has a pred field (a custom reward that writes
## only correct) it is unknown, null and -, not 0 (every problem counted as failed by the vote); with
## pred fields all null, a problem whose samples are all correct (an unparsed gold scored correct)
## is solved, as pass@1 has it (it was 0), one with a wrong sample is not
$ printf '{"id":1,"sample":0,"correct":true}\n{"id":1,"sample":1,"correct":true}\n{"id":2,"sample":0,"correct":true}\n{"id":2,"sample":1,"correct":false}\n' > r.jsonl
$ meval --json -Z r.jsonl | jq -c '{"pass@1", "maj@k"}'; meval --table r.jsonl | head -2
$ sed 's/}$/,"pred":null}/' r.jsonl | meval --json -Z | jq -c '{"pass@1", "maj@k"}'
> {"pass@1":0.75,"maj@k":null}
> bench  problems  k  pass@1         95% CI  maj@k  pass@2  len  trunc  format
> all           2  2    75.0  [50.0, 100.0]      -   100.0    -      -       -
> {"pass@1":0.75,"maj@k":0.5}

## a file given twice is an error also where its records have no sample index (k was doubled without
## a word: 4 samples per problem from a file of 2)
$ printf '%s\n' '{"id":"a","correct":true}' '{"id":"a","correct":false}' > two.jsonl
$ meval -Z two.jsonl ./two.jsonl
2> meval: ./two.jsonl: the same file as two.jsonl, given twice (its samples would count twice)
? 1

## a | in a --by value or a label is \| in Markdown (it opened a column), a newline a space
$ printf '%s\n' '{"id":"a","correct":true}' > one.jsonl
$ meval --markdown --by '"x|y"' one.jsonl | head -3
> | bench | problems | k | pass@1 | 95% CI | maj@k | len | trunc | format |
> |:------|---------:|--:|-------:|-------:|------:|----:|------:|-------:|
> | x\|y  | 1        | 1 | 100.0  | -      | -     | -   | -     | -      |
$ meval --table --by '"l1\nl2"' one.jsonl | sed -n 2p
> l1 l2         1  1   100.0       -      -    -      -       -

## ... standard input redirected from a file named beside it too (it was read twice, k 4)
$ printf '%s\n' '{"id":"a","correct":true}' '{"id":"a","correct":false}' > two.jsonl
$ meval -Z two.jsonl - < two.jsonl
2> meval: standard input: the same file as two.jsonl, given twice (its samples would count twice)
? 1

## truncated_frac needs finish: where no record has one it is unknown, null and -, not 0; len_unit is
## null beside a null len_mean
$ printf '{"id":1,"correct":true}\n{"id":2,"correct":false}\n' | meval --json -Z | jq -c '{truncated_frac, len_mean, len_unit}'
$ printf '{"id":1,"correct":true,"finish":"length","completion":"ab"}\n{"id":2,"correct":false,"finish":"stop","completion":"abcd"}\n' | meval --json -Z | jq -c '{truncated_frac, len_mean, len_unit}'
> {"truncated_frac":null,"len_mean":null,"len_unit":null}
> {"truncated_frac":0.5,"len_mean":3,"len_unit":"chars"}

## -o into a missing directory is found before the input is read (it was found after the whole input: `msample | mreward | meval -o results/x.json` sampled everything for nothing); here the input's bad line 2 is never reached
$ printf '{"id":"a","correct":true,"pred":"1"}\nnot json\n' > in.jsonl
$ meval -o nodir/x.json in.jsonl; echo "rc $?"
> rc 3
2> meval: nodir/x.json: cannot create: no such directory

## --by .id makes a benchmark of every problem: 150k of them are looked up by a hash, not by a scan
## of the names so far (quadratic: 100k took 25 s of strcmp, 150k about a minute; now about a second,
## so a CPU limit of 20 s stops only the scan)
$ awk 'BEGIN { for (i = 0; i < 150000; i++) printf "{\"id\":\"p%d\",\"correct\":%s}\n", i, i % 3 ? "false" : "true" }' > r.jsonl
$ (ulimit -t 20; meval -q --json -Z --by .id r.jsonl > out; echo "rc=$?"); wc -l < out; head -1 out | cut -c1-41
> rc=0
> 150000
> {"bench":"p0","problems":1,"k":1,"pass@1"

## a long label is whole in the table's headers (a 128-byte buffer cut it, mid-character, and the
## labels' differing ends were lost)
$ echo '{"id":"a","correct":true}' > one.jsonl; L=$(printf 'é%.0s' $(seq 70))
$ meval --table "${L}a=one.jsonl" "${L}b=one.jsonl" | head -1 > h; iconv -f utf-8 -t utf-8 h > /dev/null && echo valid
$ grep -o "${L}b [a-z@0-9%]*\|Δ ${L}b" h | sed "s/$L/L/"
> valid
> Lb pass@1
> Lb 95%
> Lb maj@k
> Lb len
> Δ Lb

## out of memory is exit 3 (meval: out of memory), not a crash: the samples' array grew by an
## unchecked realloc and a memory limit met there was a SIGSEGV (139); one met inside libjq (a
## record's parse) was its abort (134, "error: cannot allocate memory")
% requires unsanitized
$ awk 'BEGIN { for (i = 0; i < 140000; i++) printf "{\"id\":%d,\"correct\":true}\n", i }' > r.jsonl
$ for v in 17000 18000 19000 20000 21000 22000 26000 29000 32000 35000; do (ulimit -v $v; meval -q --json -Z --bootstrap 1 r.jsonl > /dev/null 2> err; echo "$? $(cat err)"); done | sort -u
> 3 meval: out of memory

## a bad record's message under a long path loses the path's middle, not its end (meval and mtok
## wrote it themselves, cut at 1024 bytes: the reason was lost and the last character split)
$ d=$(printf '%0.s\xc3\xa9' $(seq 120)); p=$(printf "$d/%.0s" 1 2 3 4 5 6 7 8)
$ mkdir -p "$p"; echo '{"id":"a","bench":"x"}' > "${p}in.jsonl"; echo '{"id":"a","text":1}' > "${p}t.jsonl"
$ meval "${p}in.jsonl" > /dev/null 2> err; echo "rc=$?"; mtok encode --model $TESTDATA/msample/model "${p}t.jsonl" > /dev/null 2>> err; echo "rc=$?"
$ iconv -f UTF-8 -t UTF-8 err > /dev/null && echo UTF-8; sed 's/\xc3\xa9//g' err
> rc=1
> rc=1
> UTF-8
> meval: //...//in.jsonl:1: "correct" is missing (mreward sets it: msample ... | mreward | meval)
> mtok: //...//t.jsonl:1: "text" is not a string

## a number id is keyed by its value, whichever libjq the tools are built with: 1, 1.0 and 10e-1
## are one problem, {"a":2.0} and {"a":2} one (libjq 1.7 prints a number as it was written, and
## meval counted 1 and 1.0 as two problems there)
$ printf '{"id":1,"correct":true}\n{"id":1.0,"correct":false}\n{"id":10e-1,"correct":true}\n{"id":{"a":2.0},"correct":true}\n{"id":{"a":2},"correct":false}\n{"id":{"a":20e-1},"correct":true}\n' | meval -Z --json | jq -c '[.problems, .k]'
> [2,3]
