# mfilter: every option and every bad-input case (message, exit status, earlier records).
# Fixtures: testdata/mfilter/. Expected lines were worked out by hand from the fixtures
# (mfilter writes a kept record's input line unchanged, so they are the input lines).

## records pass through untouched; a missing id becomes FILE:LINE
$ cp "$TESTDATA/mfilter/"*.jsonl . && mfilter -Z problems.jsonl
> {"id":"p1","problem":"What is $1+1$?","answer":"2","level":"Level 1","source":"amc"}
> {"id":"p2","problem":"Find x if 2x = 10.","answer":"5","level":"Level 5","source":"math"}
> {"id":"problems.jsonl:3","problem":"Compute the area of a circle of radius 2.","answer":"4\\pi","level":"Level 3"}
> {"id":"p4","problem":"what is  $1+1$ ?","answer":"2","level":"Level 2"}
> {"id":"p5","problem":"Το άθροισμα των γωνιών ενός τριγώνου;","answer":"180","level":"Level 5"}
> {"id":"p6","problem":"ＦＩＮＤ X IF 2X = 10.","answer":"5","level":"Level 4"}
2>

## stdin ids are <stdin>:LINE; an empty object gets just the id; "id": null is replaced
$ mfilter -Z
< {"a":1}
< {}
< {"id":null,"b":2}
> {"id":"<stdin>:1","a":1}
> {"id":"<stdin>:2"}
> {"id":"<stdin>:3","b":2}

## --pass-band puts an id it assigns first too, as plain mfilter (it came last); null stays in place;
## --where sees the fields in that order
$ printf '{"answer":"1","correct":true}\n' > noid.jsonl
$ mfilter -Z -q --pass-band 0:1 noid.jsonl
$ printf '{"answer":"1","id":null,"correct":true}\n' | mfilter -Z -q --pass-band 0:1
$ mfilter -Z --where 'keys_unsorted[0] == "id"' noid.jsonl
> {"id":"noid.jsonl:1","answer":"1","pass_rate":1,"samples":1}
> {"answer":"1","id":"<stdin>:1","pass_rate":1,"samples":1}
> {"id":"noid.jsonl:1","answer":"1","correct":true}

## --where keeps records whose filter is true
$ mfilter -Z --where '.level == "Level 5"' "$TESTDATA/mfilter/problems.jsonl"
> {"id":"p2","problem":"Find x if 2x = 10.","answer":"5","level":"Level 5","source":"math"}
> {"id":"p5","problem":"Το άθροισμα των γωνιών ενός τριγώνου;","answer":"180","level":"Level 5"}

## --where twice: both must hold; null and no output count as false
$ mfilter -Z --where '.level == "Level 5"' --where '.source' "$TESTDATA/mfilter/problems.jsonl"
$ mfilter -Z --where 'empty' "$TESTDATA/mfilter/problems.jsonl"
> {"id":"p2","problem":"Find x if 2x = 10.","answer":"5","level":"Level 5","source":"math"}

## --where that fails at run time: FILE:LINE and the jq message, exit 1
$ cp "$TESTDATA/mfilter/problems.jsonl" . && mfilter -Z --where '.answer | tonumber > 3' problems.jsonl
> {"id":"p2","problem":"Find x if 2x = 10.","answer":"5","level":"Level 5","source":"math"}
2~ ^mfilter: problems.jsonl:3: jq filter '.answer \| tonumber > 3': .*4\\\\?pi
? 1

## a jq error value with line breaks still makes a one-line message
$ echo '{"a":1}' | mfilter -Z --where 'error("two\nlines")'
2> mfilter: <stdin>:1: jq filter 'error("two\nlines")': two lines
? 1

## error(null) (and null | error) is a run-time error, as in jq 1.7, not "no output": libjq 1.6
## backtracked on it, so --where dropped the record without a word; catch and ? still see it,
## and a filter with an import (where no definition may go first) compiles as before
$ printf '{"a":1}\n{"a":2}\n' | mfilter -Z --where 'if .a == 2 then error(null) else true end'; echo "rc=$?"
$ printf '{"a":null}\n' | mfilter -Z --where '.a | error'; echo "rc=$?"
$ printf '{"a":1}\n' | mfilter -Z --where '[try error(null) catch .] == ["null (not a string)"] and ([(error(null))?] == [])'
$ printf '{"a":1}\n' | mfilter -Z --where 'error("x") // true'; echo "rc=$?"
$ mkdir m && echo 'def yes: true;' > m/y.jq && printf '{"a":1}\n' | mfilter -Z --where 'import "m/y" as y; y::yes'
> {"id":"<stdin>:1","a":1}
> rc=1
> rc=1
> {"id":"<stdin>:1","a":1}
> rc=1
> {"id":"<stdin>:1","a":1}
2> mfilter: <stdin>:2: jq filter 'if .a == 2 then error(null) else true end': null (not a string)
2> mfilter: <stdin>:1: jq filter '.a | error': null (not a string)
2> mfilter: <stdin>:1: jq filter 'error("x") // true': x

## input is an error naming it; inputs gives nothing, as jq's on a last record (it was the
## same error: libjq 1.6's inputs ends on "break", the error its input raises at the end)
$ printf '{"a":1}\n' | mfilter -Z --where '[inputs] == [] and ([.a, inputs] == [1]) and (first(inputs)? // true) and ([try input catch .] == ["break"])'
$ printf '{"a":1}\n' | mfilter -Z --where 'input'; echo "rc=$?"
> {"id":"<stdin>:1","a":1}
> rc=1
2> mfilter: <stdin>:1: jq filter 'input': no more inputs: a filter reads one record

## --skip-bad past a halt / halt_error goes on with the next records (libjq 1.6 left the halt's
## message in the jq state, freed on every later record: an abort in malloc or jv.c), also with
## -j 2 and in a filter with an import (compiled without mrl's error definitions)
$ printf '%s\n' '{"a":1}' '{"a":2}' '{"a":3}' '{"a":4}' '{"a":5}' > h.jsonl
$ mfilter -Z --skip-bad --where 'if .a == 1 then halt_error(0) elif .a == 3 then ("m"|halt_error) elif .a == 4 then halt else . end' h.jsonl; echo "rc=$?"
$ mfilter -Z -j 2 --skip-bad --where 'if .a % 2 == 1 then halt_error else . end' h.jsonl; echo "rc=$?"
# bare, libjq 1.6 catches error(null) as nothing and 1.7 as null; mrl's definitions make it a string
$ mkdir m2 && echo 'def yes: true;' > m2/y.jq && mfilter -Z --skip-bad --where 'import "m2/y" as y; if .a < 3 then halt_error else [try error(null) catch .] - [null] == [] and y::yes end' h.jsonl; echo "rc=$?"
> {"id":"h.jsonl:2","a":2}
> {"id":"h.jsonl:5","a":5}
> rc=0
> {"id":"h.jsonl:2","a":2}
> {"id":"h.jsonl:4","a":4}
> rc=0
> {"id":"h.jsonl:3","a":3}
> {"id":"h.jsonl:4","a":4}
> {"id":"h.jsonl:5","a":5}
> rc=0
2> mfilter: h.jsonl:1: jq filter 'if .a == 1 then halt_error(0) elif .a == 3 then ("m"|halt_error) elif .a == 4 then halt else . end' halted: {"id":"h.jsonl:1","a":1} (skipped)
2> mfilter: h.jsonl:3: jq filter 'if .a == 1 then halt_error(0) elif .a == 3 then ("m"|halt_error) elif .a == 4 then halt else . end' halted: m (skipped)
2> mfilter: h.jsonl:4: jq filter 'if .a == 1 then halt_error(0) elif .a == 3 then ("m"|halt_error) elif .a == 4 then halt else . end' halted (skipped)
2> mfilter: 3 bad records skipped
2> mfilter: h.jsonl:1: jq filter 'if .a % 2 == 1 then halt_error else . end' halted: {"id":"h.jsonl:1","a":1} (skipped)
2> mfilter: h.jsonl:3: jq filter 'if .a % 2 == 1 then halt_error else . end' halted: {"id":"h.jsonl:3","a":3} (skipped)
2> mfilter: h.jsonl:5: jq filter 'if .a % 2 == 1 then halt_error else . end' halted: {"id":"h.jsonl:5","a":5} (skipped)
2> mfilter: 3 bad records skipped
2> mfilter: h.jsonl:1: jq filter 'import "m2/y" as y; if .a < 3 then halt_error else [try error(null) catch .] - [null] == [] and y::yes end' halted: {"id":"h.jsonl:1","a":1} (skipped)
2> mfilter: h.jsonl:2: jq filter 'import "m2/y" as y; if .a < 3 then halt_error else [try error(null) catch .] - [null] == [] and y::yes end' halted: {"id":"h.jsonl:2","a":2} (skipped)
2> mfilter: 2 bad records skipped

## a filter of several lines that does not compile: the message names the line libjq gives
## (it was cut off with " at <top-level>, line N", and the program is shown on one line); a
## filter of one line is not given one
$ printf '{"a":1}\n' | mfilter -Z --where "$(printf '.a\n| .b\n| foo(1)')"; echo "rc=$?"
$ printf '{"a":1}\n' | mfilter -Z --where 'foo(1)'; echo "rc=$?"
> rc=2
> rc=2
2> mfilter: --where: cannot compile jq filter '.a | .b | foo(1)': foo/1 is not defined (line 3)
2> Try 'mfilter --help'.
2> mfilter: --where: cannot compile jq filter 'foo(1)': foo/1 is not defined
2> Try 'mfilter --help'.

## a filter written on two lines that does not compile: the message is one line all the same
$ echo '{"a":1}' | mfilter -Z --where "$(printf '.a |\nbad(')" 2>&1 | wc -l
$ echo '{"a":1}' | mfilter -Z --where "$(printf '.a |\nbad(')"
> 2
2~ ^mfilter: --where: cannot compile jq filter '\.a \| bad\(': syntax error
2~ ^Try 'mfilter --help'\.$
? 2

## --where that does not compile is a usage error
$ mfilter --where '.a ==' "$TESTDATA/mfilter/problems.jsonl"
2~ ^mfilter: --where: cannot compile jq filter '.a =='
2~ ^Try 'mfilter --help'.$
? 2

## --match uses Unicode properties (PCRE2_UCP): fullwidth capitals are \p{Lu}
$ mfilter -Z --match '^\p{Lu}{4} ' "$TESTDATA/mfilter/problems.jsonl"
> {"id":"p6","problem":"ＦＩＮＤ X IF 2X = 10.","answer":"5","level":"Level 4"}

## --match on Greek script
$ mfilter -Z --match '\p{Greek}+' "$TESTDATA/mfilter/problems.jsonl"
> {"id":"p5","problem":"Το άθροισμα των γωνιών ενός τριγώνου;","answer":"180","level":"Level 5"}

## --match with --field on another field
$ mfilter -Z --match '^[0-9]+$' --field .answer "$TESTDATA/mfilter/problems.jsonl"
> {"id":"p1","problem":"What is $1+1$?","answer":"2","level":"Level 1","source":"amc"}
> {"id":"p2","problem":"Find x if 2x = 10.","answer":"5","level":"Level 5","source":"math"}
> {"id":"p4","problem":"what is  $1+1$ ?","answer":"2","level":"Level 2"}
> {"id":"p5","problem":"Το άθροισμα των γωνιών ενός τριγώνου;","answer":"180","level":"Level 5"}
> {"id":"p6","problem":"ＦＩＮＤ X IF 2X = 10.","answer":"5","level":"Level 4"}

## --match on a record without the field: named error after the earlier records
$ mfilter -Z --match 'x'
< {"id":"q1","problem":"x"}
< {"id":"q2","question":"x"}
< {"id":"q3","problem":"x"}
> {"id":"q1","problem":"x"}
2> mfilter: <stdin>:2: "problem" is missing
? 1

## --field that gives a number
$ mfilter -Z --match 'x' --field '.n'
< {"id":"q1","n":3}
2> mfilter: <stdin>:1: "n" is not a string (number)
? 1

## --field as a general jq filter
$ mfilter -Z --match 'x' --field '.a // .b'
< {"id":"q1","b":"x"}
< {"id":"q2","c":"x"}
> {"id":"q1","b":"x"}
2> mfilter: <stdin>:2: --field '.a // .b' gave null, not a string
? 1

## --field '.1' is the number 0.1 to jq, not the field "1": named as a filter (it said
## '"1" is not a string (number)' of a record whose "1" is a string)
$ printf '{"1":"x"}\n' | mfilter -Z --dedupe --field '.1'; echo "rc=$?"
> rc=1
2> mfilter: <stdin>:1: --field '.1' gave number, not a string

## a --field or --answer filter with no output gave nothing, not null (msample and mgrpo say so too)
$ printf '{"a":[]}\n' | mfilter -Z --dedupe --field '.a[]'; echo "rc=$?"
$ printf '{"a":[]}\n' | mfilter -Z --require-boxed --answer '.a[]'; echo "rc=$?"
> rc=1
> rc=1
2> mfilter: <stdin>:1: --field '.a[]' gave nothing, not a string
2> mfilter: <stdin>:1: --answer '.a[]' gave nothing, not a string or a number

## --help: --field names the text of --max-tokens as well (it said --match and --dedupe only)
$ mfilter --help | grep -- '--field JQ'
>   --field JQ            text for --match, --dedupe and --max-tokens (default .problem)

## --match that does not compile is a usage error
$ mfilter --match '(' "$TESTDATA/mfilter/problems.jsonl"
2~ ^mfilter: --match: missing closing parenthesis at offset 1 of '\('
? 2

## --match with a group repeated over a long text: JIT's 32 KiB stack ran out on a 2 KB problem,
## and the record was called bad ("--match: JIT stack limit reached", exit 1); -j 2 too
$ awk 'function ab(n,  s) { while (n-- > 0) s = s "ab"; return s } BEGIN { printf "{\"id\":\"a\",\"problem\":\"%sc\"}\n{\"id\":\"b\",\"problem\":\"%s\"}\n", ab(10000), ab(1000) }' > p.jsonl
$ for j in 1 2; do mfilter -Z -j $j --match '^(a|b)*c$' p.jsonl | cut -c1-20; echo "rc ${PIPESTATUS[0]}"; done
> {"id":"a","problem":
> rc 0
> {"id":"a","problem":
> rc 0
2>

## --match held to 512 MiB of backtracking memory: (x|y)+$ over a 2 MB field (~330 bytes a character,
## 660 MB) is a bad record naming its line, after the records before it (PCRE2's own heap limit is
## 20 GB: a 5 MB field took 2.7 GB per thread before its step limit ended it; this one matched);
## within a 1.2 GB address-space limit; --skip-bad skips it;
## a class backtracks nothing and keeps the record; the 1 MB field fits
% requires unsanitized
$ awk 'BEGIN { s = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; while (length(s) < 1000000) s = s s; s = substr(s, 1, 1000000); printf "{\"id\":\"a\",\"problem\":\"x\"}\n{\"id\":\"b\",\"problem\":\"%s%s\"}\n{\"id\":\"c\",\"problem\":\"%s\"}\n", s, s, s }' > p.jsonl
$ (ulimit -v 1200000; mfilter -Z --match '(x|y)+$' p.jsonl | cut -c1-20; echo "rc ${PIPESTATUS[0]}")
$ mfilter -Z --skip-bad --match '(x|y)+$' p.jsonl 2>/dev/null | cut -c1-20
$ mfilter -Z --match '[xy]+$' p.jsonl | cut -c1-20
> {"id":"a","problem":
> rc 1
> {"id":"a","problem":
> {"id":"c","problem":
> {"id":"a","problem":
> {"id":"b","problem":
> {"id":"c","problem":
2~ ^mfilter: p\.jsonl:2: --match: heap limit exceeded \(the pattern backtracks past 10 million steps or 512 MiB

## a number option takes -0 as 0 (the summary said "outside [-0, 1]") and a value too small for a
## double as 0 (1e-400 was "not a number in [0, 1]"); one too large is still refused
$ printf '{"id":"a","reward":1}\n{"id":"a","reward":0}\n' > pb.jsonl
$ mfilter -Z --pass-band -0:1 pb.jsonl > /dev/null && mfilter -Z --pass-band 1e-400:1 pb.jsonl > /dev/null; mfilter -Z --pass-band 1e400:1 pb.jsonl; echo "rc $?"
> rc 2
2> mfilter: --pass-band: 0 of 1 problems outside [0, 1]
2> mfilter: --pass-band: 0 of 1 problems outside [0, 1]
2> mfilter: --pass-band: '1e400' is not a number in [0, 1]
2> Try 'mfilter --help'.

## --dedupe: NFKC, case folding and whitespace removal make p4 = p1 and p6 = p2
$ cp "$TESTDATA/mfilter/problems.jsonl" . && mfilter -Z --dedupe problems.jsonl
> {"id":"p1","problem":"What is $1+1$?","answer":"2","level":"Level 1","source":"amc"}
> {"id":"p2","problem":"Find x if 2x = 10.","answer":"5","level":"Level 5","source":"math"}
> {"id":"problems.jsonl:3","problem":"Compute the area of a circle of radius 2.","answer":"4\\pi","level":"Level 3"}
> {"id":"p5","problem":"Το άθροισμα των γωνιών ενός τριγώνου;","answer":"180","level":"Level 5"}
2> mfilter: --dedupe: 2 duplicates dropped

## -q silences the summary
$ mfilter -Z -q --dedupe "$TESTDATA/mfilter/problems.jsonl" | wc -l
> 4
2>

## --take N: N records, each an input line, in input order, the same every run
$ cp "$TESTDATA/mfilter/rollouts.jsonl" r.jsonl
$ mfilter -Z --take 5 r.jsonl > a; mfilter -Z --take 5 r.jsonl > b
$ wc -l < a; cmp a b && echo same
$ grep -Fxvf r.jsonl a | wc -l                 # lines not in the input
$ grep -Fxf a r.jsonl | cmp - a && echo input order
> 5
> same
> 0
> input order

## --take does not depend on input order; another seed gives another subset
$ cp "$TESTDATA/mfilter/rollouts.jsonl" r.jsonl
$ mfilter -Z --take 6 r.jsonl | sort > a; tac r.jsonl | mfilter -Z --take 6 | sort > b
$ cmp a b && echo same subset
$ mfilter -Z --take 6 --seed 1 r.jsonl | sort | cmp -s - a || echo seed 1 differs
> same subset
> seed 1 differs

## --take more than there are: everything, in order
$ mfilter -Z --take 100 "$TESTDATA/mfilter/rollouts.jsonl" | cmp - "$TESTDATA/mfilter/rollouts.jsonl" && echo all

> all

## --take is uniform: over 600 seeds each of 10 records is picked about 180 times (sd 11)
$ for i in 0 1 2 3 4 5 6 7 8 9; do echo "{\"id\":\"r$i\"}"; done > ten.jsonl
$ for s in $(seq 1 600); do mfilter -Z --take 3 --seed $s ten.jsonl; done | sort | uniq -c | awk '$1 < 135 || $1 > 225 { bad++ } END { print NR, bad + 0 }'
> 10 0

## --shuffle: a permutation, seeded, and --take N --shuffle = the records of --take N in --shuffle's order
$ cp "$TESTDATA/mfilter/rollouts.jsonl" r.jsonl
$ mfilter -Z --shuffle --seed 5 r.jsonl > s5; mfilter -Z --shuffle --seed 5 r.jsonl | cmp - s5 && echo seeded
$ sort s5 | cmp - <(sort r.jsonl) && echo permutation
$ cmp -s s5 r.jsonl || echo reordered
$ mfilter -Z --shuffle --seed 6 r.jsonl | cmp -s - s5 || echo seed 6 differs
$ mfilter -Z --take 4 --shuffle --seed 5 r.jsonl > t4
$ mfilter -Z --take 4 --seed 5 r.jsonl | sort | cmp - <(sort t4) && echo the subset of --take
$ grep -Fxf t4 s5 | cmp - t4 && echo in the order of --shuffle
> seeded
> permutation
> reordered
> seed 6 differs
> the subset of --take
> in the order of --shuffle

## --shuffle of a mix of --takes with the same seed mixes the sources: its order is not the
## key --take chose by (the records of the input that kept the smallest fraction came first:
## of 50 of 2000 a's and 50 of 100 c's, 48 a's were among the first 50)
$ for i in $(seq 2000); do echo "{\"id\":\"a$i\"}"; done > a.jsonl
$ for i in $(seq 100); do echo "{\"id\":\"c$i\"}"; done > c.jsonl
$ { mfilter -q --take 50 a.jsonl; mfilter -q --take 50 c.jsonl; } | mfilter -Z -q --shuffle > mix
$ wc -l < mix; head -n 50 mix | grep -c '"a' | awk '{ print ($1 >= 15 && $1 <= 35 ? "mixed" : $1 " a of the first 50") }'
> 100
> mixed

## --split: every record in exactly one part, whole groups together, about the fractions
$ for i in $(seq 1 500); do for s in 0 1 2 3; do echo "{\"id\":\"q$i\",\"sample\":$s}"; done; done > in.jsonl
$ mfilter --split train:0.8,test:0.2 in.jsonl
$ ls
$ cat <(zstd -dc train.jsonl.zst) <(zstd -dc test.jsonl.zst) | sort | cmp - <(sort in.jsonl) && echo partition
$ zstd -dc test.jsonl.zst | sed 's/.*"id":"\([^"]*\)".*/\1/' | uniq -c | awk '$1 != 4 { bad++ } END { print "split groups:", bad + 0 }'
$ n=$(zstd -dc train.jsonl.zst | wc -l); [ $n -gt 1480 ] && [ $n -lt 1720 ] && echo train about 80%
> in.jsonl
> test.jsonl.zst
> train.jsonl.zst
> partition
> split groups: 0
> train about 80%
2~ ^mfilter: split train: [0-9]+ records$
2~ ^mfilter: split test: [0-9]+ records$

## --split is stable: the same ids land in the same parts whatever else is in the input, and
## wherever they are in it (every third record, in reverse order: a part chosen by the line
## number passed the head -50 check, as did a split that put every record in one part)
$ for i in $(seq 1 200); do echo "{\"id\":\"q$i\"}"; done > a.jsonl
$ head -50 a.jsonl > b.jsonl
$ mfilter -q -Z --split x:0.5,y:0.5 -o 'A-%s.jsonl' a.jsonl; mfilter -q -Z --split x:0.5,y:0.5 -o 'B-%s.jsonl' b.jsonl
$ head -n $(wc -l < B-x.jsonl) A-x.jsonl | cmp - B-x.jsonl && echo stable
$ awk 'NR % 3 == 1' a.jsonl | tac > c.jsonl; mfilter -q -Z --split x:0.5,y:0.5 -o 'C-%s.jsonl' c.jsonl
$ for p in x y; do [ -s C-$p.jsonl ] && grep -Fxf c.jsonl A-$p.jsonl | sort | cmp - <(sort C-$p.jsonl) && echo "$p stable"; done
> stable
> x stable
> y stable

## --split -o pattern into a directory, -Z plain
$ mkdir out && mfilter -q -Z --split a:0.5,b:0.5 -o 'out/%s.jsonl' "$TESTDATA/mfilter/rollouts.jsonl" && cat out/*.jsonl | wc -l && ls out
> 16
> a.jsonl
> b.jsonl

## --split: a part that cannot be written leaves every part as it was (all are written out before
## any is renamed; a new a.jsonl was renamed beside the old b.jsonl of another split)
$ seq 1 2000 | awk '{ printf "{\"id\":\"s%d\",\"t\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n", $1 }' > in.jsonl; echo old > a.jsonl; echo old > b.jsonl
$ (ulimit -f 64; mfilter -q -Z --split a:0.3,b:0.7 in.jsonl; echo "rc=$?"); cat a.jsonl b.jsonl; ls
> rc=3
> old
> old
> a.jsonl
> b.jsonl
> in.jsonl
2> mfilter: b.jsonl: write error: File too large

## --split usage errors: fractions must add up to 1; -o needs %s
$ mfilter --split a:0.5,b:0.4 "$TESTDATA/mfilter/rollouts.jsonl"
2> mfilter: --split: fractions add up to 0.9, not 1
2> Try 'mfilter --help'.
? 2

## --split with an empty item is a usage error (strtok skipped it: "a:0.5,,b:0.5" ran as two parts)
$ for v in a:0.5,,b:0.5 ,a:1 a:1,; do mfilter --split $v "$TESTDATA/mfilter/rollouts.jsonl" 2>&1 | head -1; done
> mfilter: --split: 'a:0.5,,b:0.5' has an empty item (NAME:FRACTION,...)
> mfilter: --split: ',a:1' has an empty item (NAME:FRACTION,...)
> mfilter: --split: 'a:1,' has an empty item (NAME:FRACTION,...)

## --split given twice is a usage error (the parts of both were used, fractions adding up to 2)
$ mfilter --split a:0.5,b:0.5 --split c:1 "$TESTDATA/mfilter/rollouts.jsonl"; echo $?; ls
> 2
2> mfilter: --split given twice (one --split names every part)
2> Try 'mfilter --help'.

## --split -o without %s
$ mfilter --split a:0.5,b:0.5 -o x.zst "$TESTDATA/mfilter/rollouts.jsonl"
2~ ^mfilter: --split: -o must be a pattern with %s
? 2

## --pass-band 0:1: one record per problem, per-sample fields dropped, pass_rate + samples
$ mfilter -Z --pass-band 0:1 "$TESTDATA/mfilter/rollouts.jsonl"
> {"id":"a","problem":"1+1","answer":"2","pass_rate":0.75,"samples":4}
> {"id":"b","problem":"2+2","answer":"4","pass_rate":0,"samples":4}
> {"id":"c","problem":"3+3","answer":"6","pass_rate":1,"samples":4}
> {"id":"d","problem":"4+4","answer":"8","pass_rate":0.25,"samples":4}
2> mfilter: --pass-band: 0 of 4 problems outside [0, 1]

## --pass-band LO:HI is inclusive at both ends
$ mfilter -Z -q --pass-band 0.25:0.75 "$TESTDATA/mfilter/rollouts.jsonl"
> {"id":"a","problem":"1+1","answer":"2","pass_rate":0.75,"samples":4}
> {"id":"d","problem":"4+4","answer":"8","pass_rate":0.25,"samples":4}

## rules run after the groups: --where sees pass_rate
$ mfilter -Z -q --pass-band 0:1 --where '.pass_rate == 1' "$TESTDATA/mfilter/rollouts.jsonl"
> {"id":"c","problem":"3+3","answer":"6","pass_rate":1,"samples":4}

## --pass-band without "correct": reward > 0 counts as solved
$ mfilter -Z -q --pass-band 0:1 "$TESTDATA/mfilter/rewards-only.jsonl"
> {"id":"e","problem":"5+5","pass_rate":0.5,"samples":2}
> {"id":"f","problem":"6+6","pass_rate":0,"samples":2}

## --pass-band: an incomplete group is an error after the complete ones
$ head -14 "$TESTDATA/mfilter/rollouts.jsonl" | mfilter -Z -q --pass-band 0:1
> {"id":"a","problem":"1+1","answer":"2","pass_rate":0.75,"samples":4}
> {"id":"b","problem":"2+2","answer":"4","pass_rate":0,"samples":4}
> {"id":"c","problem":"3+3","answer":"6","pass_rate":1,"samples":4}
2> mfilter: <stdin>:13: group "d" has 2 samples, expected 4 (the first group's, at <stdin>:1) (--allow-partial accepts it)
? 1

## --allow-partial accepts it
$ head -14 "$TESTDATA/mfilter/rollouts.jsonl" | mfilter -Z -q --pass-band 0.5:0.5 --allow-partial
> {"id":"d","problem":"4+4","answer":"8","pass_rate":0.5,"samples":2}

## -n G sets the expected group size
$ cp "$TESTDATA/mfilter/rollouts.jsonl" r.jsonl && mfilter -Z -q --pass-band 0:1 -n 5 r.jsonl
2> mfilter: r.jsonl:1: group "a" has 4 samples, expected 5 (--allow-partial accepts it)
? 1

## --skip-bad skips an incomplete group with a warning and a count of groups and their records
## (it counted "1 bad record")
$ head -14 "$TESTDATA/mfilter/rollouts.jsonl" | mfilter -Z -q --pass-band 0:0 --skip-bad
> {"id":"b","problem":"2+2","answer":"4","pass_rate":0,"samples":4}
2> mfilter: <stdin>:13: group "d" has 2 samples, expected 4 (the first group's, at <stdin>:1) (--allow-partial accepts it) (skipped)
2> mfilter: 1 incomplete group skipped (2 records)

## --skip-bad: the groups it skipped are not counted among the problems judged; a group of another
## size than the first is incomplete (without --allow-partial), and counted as a group with its
## records, not as one bad record ("2 bad records skipped", "0 of 4 problems outside [0, 1]")
$ awk 'BEGIN { split("10 10 6 8", n); split("3 7 1 3", k); for (g = 1; g <= 4; g++) for (i = 0; i < n[g]; i++) printf "{\"id\":\"g%d\",\"correct\":%s}\n", g - 1, i < k[g] ? "true" : "false" }' > pr.jsonl
$ mfilter -Z --skip-bad --pass-band 0:1 pr.jsonl
$ printf '%s\n' '{"id":"a","correct":true}' '{"id":"a","correct":false}' '{"id":"b","correct":1}' '{"id":"b","correct":"1"}' '{"id":"c","correct":false}' '{"id":"c","correct":false}' | mfilter -Z --skip-bad --pass-band 0.5:1
> {"id":"g0","pass_rate":0.3,"samples":10}
> {"id":"g1","pass_rate":0.7,"samples":10}
> {"id":"a","pass_rate":0.5,"samples":2}
2> mfilter: pr.jsonl:21: group "g2" has 6 samples, expected 10 (the first group's, at pr.jsonl:1) (--allow-partial accepts it) (skipped)
2> mfilter: pr.jsonl:27: group "g3" has 8 samples, expected 10 (the first group's, at pr.jsonl:1) (--allow-partial accepts it) (skipped)
2> mfilter: 2 incomplete groups skipped (14 records)
2> mfilter: --pass-band: 0 of 2 problems outside [0, 1], 2 more skipped by --skip-bad
2> mfilter: <stdin>:4: "correct" is not a boolean or a number (string) (skipped)
2> mfilter: <stdin>:3: the rest of its group "b" (1 record) dropped with it
2> mfilter: 1 bad record skipped
2> mfilter: --pass-band: 1 of 2 problems outside [0.5, 1], 1 more skipped by --skip-bad

## --skip-bad: a bad record takes its group with it, and the records that go with it are named
$ printf '%s\n' '{"id":"a","reward":1}' '{"id":"a","reward":0}' '{"id":"c","reward":1}' '{"id":"c","reward":"1"}' '{"id":"c","reward":0}' | mfilter -Z -q --drop-uniform --skip-bad
$ printf '%s\n' '{"id":"a","correct":true}' '{"id":"a","correct":false}' '{"id":"c","correct":true}' '{"id":"c","correct":"1"}' | mfilter -Z -q --pass-band 0:1 --skip-bad
> {"id":"a","reward":1}
> {"id":"a","reward":0}
> {"id":"a","pass_rate":0.5,"samples":2}
2> mfilter: <stdin>:4: "reward" is a string, not a number (skipped)
2> mfilter: <stdin>:3: the rest of its group "c" (2 records) dropped with it
2> mfilter: 1 bad record skipped
2> mfilter: <stdin>:4: "correct" is not a boolean or a number (string) (skipped)
2> mfilter: <stdin>:3: the rest of its group "c" (1 record) dropped with it
2> mfilter: 1 bad record skipped

## a reward of infinity (libjq reads 1e999 as infinity) is a bad record, not unsolved or solved;
## nan is not JSON (refused by mrl where libjq reads it as NaN, by Debian 11's libjq 1.6 itself):
## a line whose id is unknown, and group a, which it might have belonged to, is not written
$ printf '%s\n' '{"id":"a","reward":1}' '{"id":"a","reward":0}' '{"id":"b","reward":1e999}' '{"id":"b","reward":0}' > r.jsonl && mfilter -Z -q --pass-band 0:1 r.jsonl; echo "rc=$?"
$ sed 's/1e999/nan/' r.jsonl > n.jsonl && mfilter -Z -q --pass-band 0:1 n.jsonl 2>&1 | sed -E "s/^(mfilter: n.jsonl:3: invalid JSON: 'nan' at column [0-9]+ is not a JSON number \\(JSON has no NaN or Infinity\\))\$/NaN: \\1/; s/^(mfilter: n.jsonl:3: invalid JSON: Invalid literal .*)\$/NaN: \\1/" | grep -c '^NaN: '
> {"id":"a","pass_rate":0.5,"samples":2}
> rc=1
> 1
2> mfilter: r.jsonl:3: "reward" is not a finite number

## --skip-bad: an invalid line (its id unknown) takes the group it was lost from; --drop-uniform
## passed the rest of it, --pass-band took a short first group for the size and dropped all others
% requires /usr/bin/jq
$ r() { for i in "$@"; do echo "{\"id\":\"${i%=*}\",\"reward\":${i#*=}}"; done; }
$ { r a=1 a=0; echo 'broken'; r b=1 c=1 c=0 d=0 d=1; } > in1.jsonl
$ { r a=1 a=0 a=0 b=1 b=0 b=0; echo 'broken'; r c=1 c=0 d=1 d=0 d=0; } > in2.jsonl
$ { r a=1 a=0 a=0 b=1 b=0 b=0; echo 'broken'; r c=1 c=0 c=0; } > in3.jsonl
$ mfilter -Z -q --skip-bad --pass-band 0:1 in1.jsonl 2>/dev/null | jq -r .id | tr '\n' ' '; echo
$ for f in in1 in2 in3; do mfilter -Z -q --skip-bad --drop-uniform $f.jsonl 2>/dev/null | jq -r .id | tr '\n' ' '; echo; done
> c d 
> c c d d 
> a a a b b b d d d 
> a a a b b b c c c 

## --skip-bad: the group after lost lines is kept only if the group before them took them all:
## two lines lost in a row (one of a, one of b: b passed short and set the size, c and d were
## dropped); --drop-uniform, a line lost after a short group (b passed short)
% requires /usr/bin/jq
$ r() { for i in "$@"; do echo "{\"id\":\"${i%=*}\",\"reward\":${i#*=},\"correct\":$([ ${i#*=} = 1 ] && echo true || echo false)}"; done; }
$ { r a=1 a=0 a=1; echo broken; echo broken; r b=1 b=0 b=0 c=1 c=0 c=0 c=1 d=1 d=0 d=0 d=0; } > two.jsonl
$ { r a=1 a=0 a=1 a=0 b=1 b=0; echo broken; r b=1; echo broken; r c=1 c=0 c=0 d=1 d=0 d=0 d=0; } > du.jsonl
$ mfilter -Z -q --skip-bad --pass-band 0:1 two.jsonl 2>/dev/null | jq -r .id | tr '\n' ' '; echo
$ for f in two du; do mfilter -Z -q --skip-bad --drop-uniform $f.jsonl 2>/dev/null | jq -r .id | tr '\n' ' '; echo; done
> c d 
> c c c c d d d d 
> a a a a d d d d 

## ... and --skip-bad skips it (with its group)
$ printf '%s\n' '{"id":"a","reward":0}' '{"id":"a","reward":1e999}' '{"id":"b","reward":0}' '{"id":"b","reward":1}' | mfilter -Z -q --drop-uniform --skip-bad
> {"id":"b","reward":0}
> {"id":"b","reward":1}
2> mfilter: <stdin>:2: "reward" is not a finite number (skipped)
2> mfilter: <stdin>:1: the rest of its group "a" (1 record) dropped with it
2> mfilter: 1 bad record skipped

## the samples of one id must be contiguous (an error: exit 1)
$ (cat "$TESTDATA/mfilter/rollouts.jsonl"; head -1 "$TESTDATA/mfilter/rollouts.jsonl") | mfilter -Z -q --pass-band 0:1 | wc -l; echo "status ${PIPESTATUS[1]}"
2> mfilter: <stdin>:17: id "a" appears again after its group ended (the samples of one id must be contiguous)
> 4
> status 1

## --pass-band on a record with neither "correct" nor "reward"
$ mfilter -Z --pass-band 0:1
< {"id":"h","problem":"x","correct":true}
< {"id":"h","problem":"x"}
2> mfilter: <stdin>:2: "correct" is missing (and there is no numeric "reward")
? 1

## --pass-band: "correct" of the wrong type; a number is read as meval reads it (above 0: solved)
$ mfilter -Z --pass-band 0:1
< {"id":"h","correct":"yes"}
2> mfilter: <stdin>:1: "correct" is not a boolean or a number (string)
? 1

## --pass-band: "correct" as 1/0 counts as true/false, as in meval
$ printf '%s\n' '{"id":"a","correct":1}' '{"id":"a","correct":0}' '{"id":"a","correct":0}' '{"id":"a","correct":0}' | mfilter -Z --pass-band 0:1
> {"id":"a","pass_rate":0.25,"samples":4}

## --pass-band argument errors
$ mfilter --pass-band 0.9:0.1 < /dev/null; echo $?; mfilter --pass-band 0.5 < /dev/null; echo $?; mfilter --pass-band 0:2 < /dev/null; echo $?
> 2
> 2
> 2
2> mfilter: --pass-band: LO 0.9 is above HI 0.1
2> Try 'mfilter --help'.
2> mfilter: --pass-band: '0.5' is not LO:HI
2> Try 'mfilter --help'.
2> mfilter: --pass-band: '2' is not a number in [0, 1]
2> Try 'mfilter --help'.

## --drop-uniform drops groups whose rewards are all equal (b: all 0, c: all 2), passes the rest unchanged
$ mfilter -Z --drop-uniform "$TESTDATA/mfilter/rollouts.jsonl"
> {"id":"a","problem":"1+1","answer":"2","sample":0,"completion":"2","finish":"stop","pred":"2","correct":true,"rewards":{"accuracy":2},"reward":2}
> {"id":"a","problem":"1+1","answer":"2","sample":1,"completion":"3","finish":"stop","pred":"3","correct":false,"rewards":{"accuracy":0},"reward":0}
> {"id":"a","problem":"1+1","answer":"2","sample":2,"completion":"2","finish":"stop","pred":"2","correct":true,"rewards":{"accuracy":2},"reward":2}
> {"id":"a","problem":"1+1","answer":"2","sample":3,"completion":"2","finish":"stop","pred":"2","correct":true,"rewards":{"accuracy":2},"reward":2}
> {"id":"d","problem":"4+4","answer":"8","sample":0,"completion":"8","finish":"stop","pred":"8","correct":true,"rewards":{"accuracy":2,"format":1},"reward":3}
> {"id":"d","problem":"4+4","answer":"8","sample":1,"completion":"9","finish":"stop","pred":"9","correct":false,"rewards":{"accuracy":0,"format":1},"reward":1}
> {"id":"d","problem":"4+4","answer":"8","sample":2,"completion":"9","finish":"stop","pred":"9","correct":false,"rewards":{"accuracy":0,"format":1},"reward":1}
> {"id":"d","problem":"4+4","answer":"8","sample":3,"completion":"9","finish":"stop","pred":"9","correct":false,"rewards":{"accuracy":0,"format":1},"reward":1}
2> mfilter: --drop-uniform: 2 of 4 groups dropped (all rewards equal)

## --drop-uniform: a record without a numeric reward
$ mfilter -Z --drop-uniform
< {"id":"a","reward":1}
< {"id":"a","reward":0}
< {"id":"b","reward":"1"}
> {"id":"a","reward":1}
> {"id":"a","reward":0}
2> mfilter: <stdin>:3: "reward" is a string, not a number
? 1

## --drop-uniform keeps groups whole: with --take it is a usage error
$ mfilter --drop-uniform --take 3 < /dev/null
2> mfilter: --drop-uniform keeps whole groups: --dedupe, --take and --shuffle would break them
2> Try 'mfilter --help'.
? 2

## invalid JSON: FILE:LINE, exit 1, the records before it written
$ cp "$TESTDATA/mfilter/bad-json.jsonl" . && mfilter -Z bad-json.jsonl
> {"id":"g1","problem":"one"}
> {"id":"g2","problem":"two"}
2~ ^mfilter: bad-json\.jsonl:3: invalid JSON: 
? 1

## invalid JSON with zstd output: the earlier records come out as a complete zstd stream
$ cp "$TESTDATA/mfilter/bad-json.jsonl" . && mfilter bad-json.jsonl > out.zst; echo $?; zstd -dc out.zst
> 1
> {"id":"g1","problem":"one"}
> {"id":"g2","problem":"two"}
2~ ^mfilter: bad-json\.jsonl:3: invalid JSON: 

## --skip-bad: warn, count, go on
$ cp "$TESTDATA/mfilter/bad-json.jsonl" . && mfilter -Z --skip-bad bad-json.jsonl
> {"id":"g1","problem":"one"}
> {"id":"g2","problem":"two"}
> {"id":"g4","problem":"four"}
2~ ^mfilter: bad-json\.jsonl:3: invalid JSON: .*\(skipped\)$
2~ ^mfilter: 1 bad record skipped$

## a line that is JSON but not an object
$ mfilter -Z
< {"id":"x"}
< [1,2]
> {"id":"x"}
2> mfilter: <stdin>:2: not a JSON object (a record must be {...}, got array)
? 1

## a raw U+0000 or U+001F inside a string is invalid JSON (libjq lets these two through, and the
## line would go on as it came, to readers that refuse it): FILE:LINE, the records before it written
$ printf '{"id":"a"}\n{"id":"b","problem":"x\0y"}\n{"id":"c","problem":"x\037y"}\n{"id":"d"}\n' > nul.jsonl
$ mfilter -Z --skip-bad nul.jsonl; mfilter -Z nul.jsonl; echo "rc=$?"
> {"id":"a"}
> {"id":"d"}
> {"id":"a"}
> rc=1
2> mfilter: nul.jsonl:2: invalid JSON: control character U+0000 at column 23 must be escaped (skipped)
2> mfilter: nul.jsonl:3: invalid JSON: control character U+001F at column 23 must be escaped (skipped)
2> mfilter: 2 bad records skipped
2> mfilter: nul.jsonl:2: invalid JSON: control character U+0000 at column 23 must be escaped

## NaN and Infinity are not JSON: libjq 1.6 reads nan, NaN, -nan, inf and Infinity as numbers and
## writes a NaN back as null, so {"id":NaN} went on as invalid JSON and came out of later stages as
## "id":null; each is refused naming its column (Debian 11's libjq refuses them itself), while
## the words inside strings, escaped quotes before them, null, true, false and exponents are fine
$ printf '%s\n' '{"id":"a","x":NaN}' '{"id":"b","x":[1,-Infinity]}' '{"id":"c","x":inf}' '{"id":"d","x":-nan}' > nan.jsonl
$ printf '%s\n' '{"id":"e","s":"nan \"Infinity\" \\","n":null,"t":true,"f":false,"e":1E5,"g":-2.5e-3}' > ok.jsonl
$ for i in 1 2 3 4; do sed -n "${i}p" nan.jsonl | mfilter -Z 2>&1 | sed -E "s/^mfilter: <stdin>:1: invalid JSON: ('[-a-zA-Z]+' at column [0-9]+ is not a JSON number \(JSON has no NaN or Infinity\)|Invalid literal .*)$/refused/"; done
$ mfilter -Z ok.jsonl; echo "rc=$?"
> refused
> refused
> refused
> refused
> {"id":"e","s":"nan \"Infinity\" \\","n":null,"t":true,"f":false,"e":1E5,"g":-2.5e-3}
> rc=0

## libjq 1.6 also reads +1, 01, -01, 00, .5, 1. and 1.e5 as numbers, and a tool passing the line
## on unchanged handed them to a stricter reader downstream (Python's json refuses them): each is
## refused naming the token (its first 16 bytes) and its column, in an array too; the JSON forms of the same numbers,
## -0, exponents with a sign and true/false/null inside arrays are fine
$ for t in +1 01 -01 00 .5 1. 1.e5 '[1,+2]' 0001234567890123456789; do printf '{"id":"a","x":%s}\n' "$t" | mfilter -Z 2>&1; echo "rc=$?"; done
$ printf '%s\n' '{"id":"b","x":[1,0,-0,0.5,-0.0e0,1E+5,2e-3,10],"y":[true,false,null]}' | mfilter -Z; echo "rc=$?"
> mfilter: <stdin>:1: invalid JSON: '+1' at column 15 is not a JSON number (JSON numbers have no + sign or leading zero, and digits on both sides of a point)
> rc=1
> mfilter: <stdin>:1: invalid JSON: '01' at column 15 is not a JSON number (JSON numbers have no + sign or leading zero, and digits on both sides of a point)
> rc=1
> mfilter: <stdin>:1: invalid JSON: '-01' at column 15 is not a JSON number (JSON numbers have no + sign or leading zero, and digits on both sides of a point)
> rc=1
> mfilter: <stdin>:1: invalid JSON: '00' at column 15 is not a JSON number (JSON numbers have no + sign or leading zero, and digits on both sides of a point)
> rc=1
> mfilter: <stdin>:1: invalid JSON: '.5' at column 15 is not a JSON number (JSON numbers have no + sign or leading zero, and digits on both sides of a point)
> rc=1
> mfilter: <stdin>:1: invalid JSON: '1.' at column 15 is not a JSON number (JSON numbers have no + sign or leading zero, and digits on both sides of a point)
> rc=1
> mfilter: <stdin>:1: invalid JSON: '1.e5' at column 15 is not a JSON number (JSON numbers have no + sign or leading zero, and digits on both sides of a point)
> rc=1
> mfilter: <stdin>:1: invalid JSON: '+2' at column 18 is not a JSON number (JSON numbers have no + sign or leading zero, and digits on both sides of a point)
> rc=1
> mfilter: <stdin>:1: invalid JSON: '0001234567890123...' at column 15 is not a JSON number (JSON numbers have no + sign or leading zero, and digits on both sides of a point)
> rc=1
> {"id":"b","x":[1,0,-0,0.5,-0.0e0,1E+5,2e-3,10],"y":[true,false,null]}
> rc=0

## gzip input (a .jsonl.gz from a dataset hub) is named as such with what to do, not
## "invalid JSON: control character U+001F at column 1"; a file, stdin, and a later line 1
$ printf '{"id":"a"}\n' > a.jsonl; gzip -c a.jsonl > a.jsonl.gz
$ mfilter -Z a.jsonl.gz; echo "rc=$?"; mfilter -Z < a.jsonl.gz; echo "rc=$?"; mfilter -Z a.jsonl a.jsonl.gz; echo "rc=$?"
> rc=1
> rc=1
> {"id":"a"}
> rc=1
2> mfilter: a.jsonl.gz:1: gzip data, not JSON Lines: the tools read plain or zstd (gunzip it, or zcat it into the tool)
2> mfilter: <stdin>:1: gzip data, not JSON Lines: the tools read plain or zstd (gunzip it, or zcat it into the tool)
2> mfilter: a.jsonl.gz:1: gzip data, not JSON Lines: the tools read plain or zstd (gunzip it, or zcat it into the tool)

## UTF-16 input (what Windows PowerShell's > writes), with and without a byte order mark, is
## named as such with what to do, not "invalid JSON: control character U+0000 at column 4"
$ printf '{"id":"a"}\n' | iconv -t UTF-16 > b.jsonl; printf '{"id":"a"}\n' | iconv -t UTF-16BE > c.jsonl
$ mfilter -Z b.jsonl; echo "rc=$?"; mfilter -Z < c.jsonl; echo "rc=$?"
> rc=1
> rc=1
2> mfilter: b.jsonl:1: UTF-16 text, not UTF-8: the tools read UTF-8 JSON Lines (convert it: iconv -f UTF-16 -t UTF-8)
2> mfilter: <stdin>:1: UTF-16 text, not UTF-8: the tools read UTF-8 JSON Lines (convert it: iconv -f UTF-16 -t UTF-8)

## a raw U+001E (the record separator of JSON text sequences) is invalid JSON: libjq ended the
## parse there, so the record after it on the line was lost and the line written on as it came
$ printf '{"id":"a","x":1}\036{"id":"b","x":2}\n{"id":"c"}\036\n{"id":"d"}\n' > rs.jsonl
$ mfilter -Z --skip-bad rs.jsonl
> {"id":"d"}
2> mfilter: rs.jsonl:1: invalid JSON: control character U+001E at column 17 must be escaped (skipped)
2> mfilter: rs.jsonl:2: invalid JSON: control character U+001E at column 11 must be escaped (skipped)
2> mfilter: 2 bad records skipped

## any other raw control character is invalid JSON too: libjq took a vertical tab or a form feed
## between tokens for white space, and the line went on as it came (found by fuzz_stream); a tab
## between tokens and a CR before the newline are JSON's own white space
$ printf '{"id":"a","x":\0131}\n{"id":"b",\014"x":2}\n{"id":"c",\t"x":3}\r\n' > vt.jsonl
$ mfilter -Z --skip-bad vt.jsonl
> {"id":"c",	"x":3}
2> mfilter: vt.jsonl:1: invalid JSON: control character U+000B at column 15 must be escaped (skipped)
2> mfilter: vt.jsonl:2: invalid JSON: control character U+000C at column 11 must be escaped (skipped)
2> mfilter: 2 bad records skipped

## a missing input file: named, exit 1, earlier files' records written
$ mfilter -Z "$TESTDATA/mfilter/rewards-only.jsonl" nope.jsonl | wc -l; echo "status ${PIPESTATUS[0]}"
> 4
> status 1
2> mfilter: nope.jsonl: No such file or directory

## several inputs and "-" for stdin, in order
$ cp "$TESTDATA/mfilter/rewards-only.jsonl" r.jsonl && mfilter -Z r.jsonl - r.jsonl | cut -c1-12
< {"from":"stdin"}
> {"id":"e","p
> {"id":"e","p
> {"id":"f","p
> {"id":"f","p
> {"id":"<stdi
> {"id":"e","p
> {"id":"e","p
> {"id":"f","p
> {"id":"f","p

## with stdin closed a file opened on its descriptor is closed after it: a later "-" is the
## closed stdin (a read error), not that file's end read again as an empty stdin
$ printf '{"id":"a"}\n' > a.jsonl && mfilter -Z a.jsonl - <&-
> {"id":"a"}
2> mfilter: <stdin>: read error: Bad file descriptor
? 1

## zstd input (several frames) is detected by its magic, whatever the name
$ cp "$TESTDATA/mfilter/rewards-only.jsonl" r.jsonl && zstd -q -c r.jsonl > a && zstd -q -c r.jsonl > b && cat a b > both.data
$ mfilter -Z both.data | cmp - <(cat r.jsonl r.jsonl) && echo same

> same

## output is zstd when stdout is not a terminal; --zstd-level is honoured
$ mfilter "$TESTDATA/mfilter/rollouts.jsonl" | head -c 4 | od -An -tx1 | tr -d ' '
$ mfilter --zstd-level 19 "$TESTDATA/mfilter/rollouts.jsonl" | zstd -dc | cmp - "$TESTDATA/mfilter/rollouts.jsonl" && echo level 19
$ mfilter --zstd-level 99 < /dev/null
> 28b52ffd
> level 19
2~ ^mfilter: --zstd-level: '99' is not an integer in
? 2

## a truncated zstd input: an error naming the file, the records before the cut written
$ for i in $(seq 1 20000); do echo "{\"id\":\"t$i\",\"pad\":\"$((i * 7919 % 10007))\"}"; done > big.jsonl
$ zstd -q -c big.jsonl > full.zst; head -c $(( $(stat -c %s full.zst) - 100 )) full.zst > cut.zst
$ mfilter -Z cut.zst > out; echo $?; n=$(wc -l < out); [ $n -gt 1000 ] && [ $n -lt 20000 ] && head -n $n big.jsonl | cmp - out && echo prefix
> 1
> prefix
2> mfilter: cut.zst: truncated zstd input (the last frame is incomplete)

## --skip-bad skips bad records, not an input it cannot read: the records before the cut, then exit 1
$ for i in $(seq 1 20000); do echo "{\"id\":\"t$i\",\"pad\":\"$((i * 7919 % 10007))\"}"; done > big.jsonl
$ zstd -q -c big.jsonl > full.zst; head -c $(( $(stat -c %s full.zst) - 100 )) full.zst > cut.zst
$ mfilter -Z --skip-bad cut.zst big.jsonl > out; echo $?; n=$(wc -l < out); [ $n -gt 1000 ] && [ $n -lt 20000 ] && head -n $n big.jsonl | cmp - out && echo prefix
$ mfilter -Z --skip-bad missing.jsonl big.jsonl | wc -l
> 1
> prefix
> 0
2> mfilter: cut.zst: truncated zstd input (the last frame is incomplete)
2> mfilter: missing.jsonl: No such file or directory

## a corrupt zstd input
$ printf '\x28\xb5\x2f\xfd\x00\x00garbage-garbage' > bad.zst; mfilter -Z bad.zst
2~ ^mfilter: bad\.zst: corrupt zstd input: 
? 1

## -o FILE is written atomically: zstd by default, -Z plain, no temp file left
$ mfilter -o out.zst "$TESTDATA/mfilter/rollouts.jsonl" && zstd -dc out.zst | wc -l
$ mfilter -Z -o out.jsonl "$TESTDATA/mfilter/rollouts.jsonl" && cmp out.jsonl "$TESTDATA/mfilter/rollouts.jsonl" && echo plain
$ ls
> 16
> plain
> out.jsonl
> out.zst

## -o over an existing file keeps its permission bits (a 0600 file became 0644 under umask 022)
$ echo old > p.zst; chmod 600 p.zst; echo old > r.zst; chmod 444 r.zst
$ umask 022; mfilter -o p.zst "$TESTDATA/mfilter/rollouts.jsonl" && mfilter -o r.zst "$TESTDATA/mfilter/rollouts.jsonl" && stat -c %a p.zst r.zst
> 600
> 444

## -o on a bad input: the target keeps its old content, no temp file
$ echo old > out.jsonl; cp "$TESTDATA/mfilter/bad-json.jsonl" .
$ mfilter -Z -o out.jsonl bad-json.jsonl; echo $?; cat out.jsonl; ls
> 1
> old
> bad-json.jsonl
> out.jsonl
2~ ^mfilter: bad-json\.jsonl:3: invalid JSON

## -o into a directory that does not exist: the message names the path given (not the temporary file)
$ mfilter -o nodir/out.zst < /dev/null
2> mfilter: nodir/out.zst: cannot create: no such directory
? 3

## a write past the file size limit (ulimit -f) is an error, not a kill (SIGXFSZ): -o keeps its old
## content and leaves no temporary file, and the message names the output
$ seq 1 20000 | awk '{ printf "{\"id\":\"%d\",\"t\":\"padding padding padding\"}\n", $1 }' > big.jsonl; echo old > out.jsonl
$ (ulimit -f 64; mfilter -Z -o out.jsonl big.jsonl; echo "rc=$?"; mfilter -Z big.jsonl > o.jsonl; echo "rc=$?"); cat out.jsonl; ls
> rc=3
> rc=3
> old
> big.jsonl
> o.jsonl
> out.jsonl
2> mfilter: out.jsonl: write error: File too large
2> mfilter: <stdout>: write error: File too large

## CRLF input: line ends are normalised, content untouched
$ printf '{"id":"c1","x":"a"}\r\n{"id":"c2","x":"b"}\r\n' | mfilter -Z | od -c | grep -q '\\r' || echo no CR
$ printf '{"id":"c1","x":"a"}\r\n{"id":"c2","x":"b"}\r\n' | mfilter -Z
> no CR
> {"id":"c1","x":"a"}
> {"id":"c2","x":"b"}

## invalid UTF-8 and big integers pass through byte for byte when a record is kept
$ printf '{"id":"u1","p":"caf\xc3\xa9 \xff\xfe","n":12345678901234567890}\n' > in.jsonl
$ mfilter -Z --where '.n > 0' in.jsonl | cmp - in.jsonl && echo untouched
> untouched

## a closed downstream pipe ends mfilter quietly with status 0
$ for i in $(seq 1 100000); do echo "{\"n\":$i}"; done > big.jsonl
$ mfilter -Z big.jsonl | head -1; echo "status ${PIPESTATUS[0]}"
$ mfilter big.jsonl | head -c 100 > /dev/null; echo "status ${PIPESTATUS[0]}"
> {"id":"big.jsonl:1","n":1}
> status 0
> status 0
2>

## zstd output is flushed before mfilter waits for input: a slow upstream's records go through at once
$ start=$(date +%s%N)
$ { echo '{"id":"s1"}'; sleep 3; echo '{"id":"s2"}'; } | mfilter | mfilter -Z | { read -r first; echo "$first"; echo "within 2 s: $(( ($(date +%s%N) - start) < 2000000000 ))"; cat; }
> {"id":"s1"}
> within 2 s: 1
> {"id":"s2"}

## a file's last records go out before the next input, a slow pipe, is waited on (they were
## held until stdin gave a line), and a signal during that wait keeps them (they were lost)
## (stdin gives its line only once f1 is out, so holding f1 back deadlocks until the timeout;
## and stdin then is a FIFO the shell holds open, with nothing in it)
$ echo '{"id":"f1"}' > f.jsonl; mkfifo go w
$ { read -r _ < go; echo '{"id":"s2"}'; } | timeout 20 mfilter -Z f.jsonl - | { read -r first; echo "$first"; echo > go; cat; }
$ exec 3<> w; mfilter -Z f.jsonl - <&3 > out & pid=$!
$ for i in $(seq 100); do [ -s out ] && break; sleep 0.1; done; kill -INT $pid; wait $pid; echo "status $?"; cat out; exec 3>&-
> {"id":"f1"}
> {"id":"s2"}
> status 130
> {"id":"f1"}

## SIGTERM: the records read so far are flushed, exit 143
$ { echo '{"id":"s1"}'; sleep 3; echo '{"id":"s2"}'; } | mfilter -Z > out & pid=$!
$ sleep 1; kill -TERM $pid; wait $pid; echo "status $?"; cat out
> status 143
> {"id":"s1"}

## SIGINT: exit 130; the zstd stream is complete
$ { echo '{"id":"s1"}'; sleep 3; echo '{"id":"s2"}'; } | mfilter > out.zst & pid=$!
$ sleep 1; kill -INT $pid; wait $pid; echo "status $?"; zstd -dc out.zst
> status 130
> {"id":"s1"}

## a signal with -o: the target is left as it was
$ { echo '{"id":"s1"}'; sleep 3; } | mfilter -o out.zst & pid=$!
$ sleep 1; kill -TERM $pid; wait $pid; echo "status $?"; ls
> status 143
2> mfilter: interrupted; out.zst left unchanged

## SIGHUP (the terminal or the ssh session closed) is a stop as SIGTERM is: exit 129, the records
## read so far flushed, an -o target left as it was and its temporary file removed (the default
## kill left out.zst.tmp.PID behind); a SIGHUP ignored from the start (nohup) stays ignored
$ echo old > out.zst; mkfifo f1 f2 f3
$ for f in f1 f2 f3; do { echo '{"id":"s1"}'; sleep 2; echo '{"id":"s2"}'; } > $f & done
$ env --default-signal=HUP mfilter -o out.zst f1 & p1=$!; env --default-signal=HUP mfilter -Z f2 > o2 & p2=$!
$ nohup mfilter -Z f3 > o3 2> /dev/null & p3=$!
$ sleep 1; kill -HUP $p1 $p2 $p3; for p in $p1 $p2 $p3; do wait $p; echo "status $?"; done; ls; cat out.zst o2 o3
> status 129
> status 129
> status 0
> f1
> f2
> f3
> o2
> o3
> out.zst
> old
> {"id":"s1"}
> {"id":"s1"}
> {"id":"s2"}
2> mfilter: interrupted; out.zst left unchanged

## -h and --version into a full device: a write error (exit 3), not success; a closed pipe stays quiet
% requires /dev/full
$ for t in mfilter mreward msample mgrpo meval mtok minit; do $t --help > /dev/full; echo "$t $?"; done 2>&1
$ mfilter --version > /dev/full; echo "rc=$?"; mfilter --help | head -c 6; echo " rc=${PIPESTATUS[0]}"
> mfilter: <stdout>: write error: No space left on device
> mfilter 3
> mreward: <stdout>: write error: No space left on device
> mreward 3
> msample: <stdout>: write error: No space left on device
> msample 3
> mgrpo: <stdout>: write error: No space left on device
> mgrpo 3
> meval: <stdout>: write error: No space left on device
> meval 3
> mtok: <stdout>: write error: No space left on device
> mtok 3
> minit: <stdout>: write error: No space left on device
> minit 3
> rc=3
> Usage: rc=0
2> mfilter: <stdout>: write error: No space left on device

## --help into a pipe whose reader is gone: a quiet exit 0 for every tool, not a SIGPIPE kill (141; msample and mgrpo ignored SIGPIPE only once their options were read)
$ for t in mfilter mreward msample mgrpo meval mtok minit; do { sleep 0.2; exec $t --help; } | true; echo "$t ${PIPESTATUS[0]}"; done
> mfilter 0
> mreward 0
> msample 0
> mgrpo 0
> meval 0
> mtok 0
> minit 0

## --progress forces the progress line on stderr
$ mfilter -Z --progress "$TESTDATA/mfilter/rollouts.jsonl" > /dev/null
2~ mfilter: 16 records, [0-9]+ records/s

## -h and --version
$ mfilter -h | head -1; mfilter --version
>~ ^Usage: mfilter \[OPTION\]\.\.\. \[FILE\]\.\.\.$
>~ ^mfilter mrl [0-9]+\.[0-9]+\.[0-9]+$

## unknown options and missing values are usage errors
$ mfilter --bogus; echo $?; mfilter --take; echo $?; mfilter --take x; echo $?
> 2
> 2
> 2
2> mfilter: unknown option '--bogus'
2> Try 'mfilter --help'.
2> mfilter: option '--take' needs a value
2> Try 'mfilter --help'.
2> mfilter: --take: 'x' is not an integer in [1, 1099511627776]
2> Try 'mfilter --help'.

## an abbreviation of two options is ambiguous, and a value given to an option that takes none
## is refused as such: both were "unknown option", naming an option the tool has (getopt says
## '?' for all three); a value before a bad short option is not taken for an option
$ mfilter --t 5; echo $?; mfilter --dedupe=yes; echo $?; mfilter --ded=1; echo $?; mfilter --ta=1 -Z < /dev/null; echo $?
$ msample --temp 0.7; echo $?; mfilter --field --dedupe=x -yq; echo $?
> 2
> 2
> 2
> 0
> 2
> 2
2> mfilter: option '--t' is ambiguous (--take, --threads, --tokenizer, --template)
2> Try 'mfilter --help'.
2> mfilter: option '--dedupe' takes no value
2> Try 'mfilter --help'.
2> mfilter: option '--dedupe' takes no value
2> Try 'mfilter --help'.
2> msample: option '--temp' is ambiguous (--temperature, --template)
2> Try 'msample --help'.
2> mfilter: unknown option '-y'
2> Try 'mfilter --help'.

## --seed and --device values are checked
$ mfilter --seed -1 < /dev/null; echo $?; mfilter --device tpu < /dev/null; echo $?; mfilter -j 0 < /dev/null; echo $?
> 2
> 2
> 2
2> mfilter: --seed: '-1' is not a non-negative integer
2> Try 'mfilter --help'.
2> mfilter: --device: 'tpu' is not one of cpu, cuda, cuda:N, auto
2> Try 'mfilter --help'.
2> mfilter: --threads: '0' is not an integer in [1, 8]
2> Try 'mfilter --help'.

## -j 1 and -j 4 give the same output as the default
$ for i in $(seq 1 3000); do echo "{\"id\":\"q$i\",\"level\":\"Level $((i % 5))\"}"; done > in.jsonl
$ mfilter -Z -j 1 --where '.level == "Level 3"' in.jsonl > a; mfilter -Z -j 4 --where '.level == "Level 3"' in.jsonl > b
$ cmp a b && wc -l < a && grep -c 'Level 3' in.jsonl
> 600
> 600

## on a terminal: plain output and a progress line (script(1) gives mfilter a pty)
% requires /usr/bin/script
$ script -qec 'mfilter "$TESTDATA/mfilter/rewards-only.jsonl"' /dev/null | tr -d '\r' | sed 's/\x1b\[K//g'
>~ ^\{"id":"e","problem":"5\+5","reward":0\.5\}$
>~ ^mfilter: 4 records, [0-9]+ records/s$

## on a terminal with -q: plain output, no progress line
% requires /usr/bin/script
$ script -qec 'mfilter -q "$TESTDATA/mfilter/rewards-only.jsonl"' /dev/null | tr -d '\r'
> {"id":"e","problem":"5+5","reward":0.5}
> {"id":"e","problem":"5+5","reward":0}
> {"id":"f","problem":"6+6","reward":-1}
> {"id":"f","problem":"6+6","reward":-1}

## rules on 4 threads: same records, same first duplicate kept, the error after every earlier record
$ for i in $(seq 1 6000); do if [ $i = 5000 ]; then echo '{"problem":7,"n":5000}'; else echo "{\"problem\":\"p$((i % 1500))\",\"n\":$i}"; fi; done > in.jsonl
$ mfilter -Z -q -j 1 --dedupe --where '.n % 3 > 0' in.jsonl > a 2> ea; echo $?; mfilter -Z -q -j 4 --dedupe --where '.n % 3 > 0' in.jsonl > b 2> eb; echo $?
$ cmp a b && cmp ea eb && wc -l < a && cat eb
$ mfilter -Z -q -j 4 --skip-bad --dedupe --where '.n % 3 > 0' in.jsonl | cmp - a && echo skip-bad same
> 1
> 1
> 1000
> mfilter: in.jsonl:5000: "problem" is not a string (number)
> skip-bad same

## --dedupe drops every White_Space character, Unicode's too (U+2028, U+0085 survive NFKC)
$ printf '{"id":1,"problem":"what\\u2028is\\u0085x"}\n{"id":2,"problem":"What is X"}\n{"id":3,"problem":"what is y"}\n' | mfilter -Z --dedupe --field .problem | jq -c .id
> 1
> 3
2> mfilter: --dedupe: 1 duplicate dropped

## a signal while waiting mid-frame on a zstd pipe: interrupted (130), not "truncated zstd input"
# (an upstream tool between two records has flushed its frame, not ended it)
$ (echo '{"id":"s1"}'; sleep 3; echo '{"id":"s2"}') | mfilter | (timeout -s INT --preserve-status 1 mfilter -Z; echo "rc $?")
> {"id":"s1"}
> rc 130

## the reader gone during the flush before a wait on input: a quiet exit 0 (a broken pipe)
# (it was "write after an earlier write error", exit 3)
$ seq 1 5000 | awk '{ printf "{\"id\":\"%d\"}\n", $1 }' > s5k.jsonl
$ { sleep 1; echo '{"id":"x"}'; } | mfilter -Z -j 1 s5k.jsonl - | true; echo "rc ${PIPESTATUS[1]}"
> rc 0
2>

## --dedupe tells texts apart past a NUL (JSON \u0000)
$ printf '%s\n' '{"id":1,"problem":"a\u0000b"}' '{"id":2,"problem":"a\u0000c"}' '{"id":3,"problem":"A\u0000 b"}' | mfilter -Z -q --dedupe
> {"id":1,"problem":"a\u0000b"}
> {"id":2,"problem":"a\u0000c"}

## a byte order mark opening an input (or a file of a `cat a b`) is dropped, not passed on
$ printf '\357\273\277{"id":"a"}\n{"id":"b"}\n' > bom.jsonl; mfilter -Z bom.jsonl | od -An -c | head -1
$ cat bom.jsonl bom.jsonl | mfilter -Z > o; echo "rc $?"; wc -l < o; LC_ALL=C tr -dc '\357' < o | wc -c
>    {   "   i   d   "   :   "   a   "   }  \n   {   "   i   d   "
> rc 0
> 4
> 0

## -o through a symlink replaces its target and the link stays; a FIFO is written, not replaced
$ echo '{"id":"a"}' > in.jsonl && echo old > real.jsonl && ln -s real.jsonl link.jsonl && mkfifo fifo
$ mfilter -Z in.jsonl -o link.jsonl && test -L link.jsonl && cat real.jsonl
$ timeout 10 cat fifo > got & mfilter -Z in.jsonl -o fifo; wait; test -p fifo && cat got
> {"id":"a"}
> {"id":"a"}

## a long input path: the FILE:LINE id keeps its line number (both records, and what --where sees)
$ d=$(printf 'd%.0s' $(seq 200)); p=$d/$d/$d/$d/$d/$d/$d; mkdir -p $p && printf '%s\n' '{"a":1}' '{"a":2}' > $p/in.jsonl
$ mfilter -Z $p/in.jsonl | sed 's/.*in\.jsonl\(:[0-9]*\)".*/\1/'
$ mfilter -Z --where '.id | endswith(":2")' $p/in.jsonl | sed 's/.*in\.jsonl\(:[0-9]*\)".*/\1/'
> :1
> :2
> :2

## ids of different JSON types are different problems (1 is not "1", as in mreward and mgrpo)
$ printf '%s\n' '{"id":1,"reward":1}' '{"id":1,"reward":0}' '{"id":"1","reward":1}' '{"id":"1","reward":1}' | mfilter -Z -q --drop-uniform
$ printf '%s\n' '{"id":1,"correct":true}' '{"id":"1","correct":false}' | mfilter -Z -q --pass-band 0:1
$ printf '%s\n' '{"id":1,"correct":true}' '{"id":"1","correct":true}' '{"id":1,"correct":true}' | mfilter -Z --pass-band 0:1
> {"id":1,"reward":1}
> {"id":1,"reward":0}
> {"id":1,"pass_rate":1,"samples":1}
> {"id":"1","pass_rate":0,"samples":1}
> {"id":1,"pass_rate":1,"samples":1}
> {"id":"1","pass_rate":1,"samples":1}
2> mfilter: <stdin>:3: id 1 appears again after its group ended (the samples of one id must be contiguous)
? 1

## -o naming a descriptor (/dev/stdout, /dev/fd/N) writes to that descriptor: an append stays an
## append, a pipe is a pipe (the link's target was renamed over, or "pipe:[N]" taken for a path)
$ printf '{"a":1}\n' > h.jsonl; echo '{"old":1}' > log
$ mfilter -Z -o /dev/stdout h.jsonl >> log; echo "rc=$?"; cat log
$ mfilter -Z -o /dev/stdout h.jsonl | cat
$ mfilter -Z -o >(cat > ps) h.jsonl; sleep 0.5; cat ps
> rc=0
> {"old":1}
> {"id":"h.jsonl:1","a":1}
> {"id":"h.jsonl:1","a":1}
> {"id":"h.jsonl:1","a":1}

## a signal while -o waits for a FIFO's reader is a stop (130), not an open error (3)
$ printf '{"a":1}\n' > h.jsonl; mkfifo nf
$ mfilter -Z -o nf h.jsonl & p=$!; sleep 0.5; kill -INT $p; wait $p; echo "rc=$?"
> rc=130
2> mfilter: nf: interrupted while waiting for a reader

## a signal while an input FIFO waits for its writer is a stop (130), as in a blocked read, not an
## input error (1, "f1: Interrupted system call"); every tool that reads records. (A signal that
## comes before the tool has its handler is ignored, as a background job's SIGINT is: it is sent
## again until the tool has ended, and a writer that opens and closes each FIFO then frees any
## tool still waiting, so that the case cannot hang.)
$ for i in 1 2 3 4; do mkfifo f$i; done
$ mfilter -Z f1 > o1 & p1=$!; meval -Z f2 > o2 2> e2 & p2=$!
$ mtok count --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z f3 > o3 & p3=$!; mreward -Z f4 > o4 & p4=$!
$ alive() { s=$(cut -d' ' -f3 "/proc/$1/stat" 2> /dev/null) && [ "$s" != Z ]; }
$ for p in $p1 $p2 $p3 $p4; do for i in $(seq 50); do alive $p || break; kill -INT $p; sleep 0.2; done; done
$ for i in 1 2 3 4; do timeout 0.5 sh -c ": > f$i" 2> /dev/null; done
$ for p in $p1 $p2 $p3 $p4; do wait $p; echo "rc=$?"; done; cat o1 o2 o3 o4 | wc -c; cat e2
> rc=130
> rc=130
> rc=130
> rc=130
> 0
> meval: interrupted: f2: no whole problem read, nothing scored
2>

## -o through a loop of symlinks is an error, and the links stay links
$ printf '{"a":1}\n' > h.jsonl; ln -s l2 l1; ln -s l1 l2
$ mfilter -Z -o l1 h.jsonl; echo "rc=$?"; test -L l1 && test -L l2 && echo links
> rc=3
> links
2> mfilter: l1: Too many levels of symbolic links

## -o to a legal name too long for NAME.tmp.PID beside it (250 bytes): the temporary file takes a
## short name in the same directory
$ echo '{"id":"a"}' | mfilter -Z -o $(printf 'n%.0s' $(seq 244)).jsonl && cat n*.jsonl && { ls -A | grep -c tmp || true; }
> {"id":"a"}
> 0

## an error after a progress line was drawn starts a line of its own (it was glued to the
## progress line, which has no newline)
$ { for i in 1 2 3; do echo "{\"id\":\"s$i\"}"; sleep 0.3; done; echo '{bad'; } | mfilter -Z --progress 2>&1 >/dev/null | tr '\r' '\n' | sed 's/\x1b\[K//g' | grep '^mfilter: <stdin>:4' | cut -d: -f1-3
> mfilter: <stdin>:4

## a first line shorter than a zstd magic from a slow writer passes at once (the reader waited for 4 bytes before it knew the input was text)
$ mkfifo f
$ (printf '{}\n'; for i in $(seq 100); do [ -s out ] && break; sleep 0.1; done; [ -s out ] && echo '{"x":"in time"}' || echo '{"x":"late"}') > f &
$ mfilter -Z f > out; wait; jq -c .x out
> null
> "in time"

## a zstd frame with a window above 128 MB (zstd --long=31) says so and how to read it (it said "corrupt zstd input: Frame requires too much memory for decoding"); the same frame with a 2 MB window reads
$ printf '\x28\xb5\x2f\xfd\x00\xa8\x19\x00\x00{}\n' > w31.zst; printf '\x28\xb5\x2f\xfd\x00\x58\x19\x00\x00{}\n' > w21.zst
$ mfilter -Z w21.zst w31.zst; echo "rc $?"
> {"id":"w21.zst:1"}
> rc 1
2> mfilter: w31.zst: zstd frame with a window above 128 MB (made with zstd --long): decompress it with zstd -d --long=31 first

## --match given twice is a usage error (the second silently replaced the first, where --where filters add up)
$ printf '{"problem":"a"}\n' | mfilter --match a --match b
? 2
2> mfilter: --match given twice (one REGEX: join them with |, or use (?=...) for both)
2> Try 'mfilter --help'.

## started with stderr closed (2>&-), a warning is not written into the -o file: the temp file took descriptor 2, so the --skip-bad line went into out.jsonl among the records, exit 0
$ printf '{"id":"a"}\nnot json\n{"id":"b"}\n' > in.jsonl
$ mfilter -Z --skip-bad -o out.jsonl in.jsonl 2>&-; echo "rc $?"; cat out.jsonl
> rc 0
> {"id":"a"}
> {"id":"b"}

## with stdout or stdin closed it is still an error naming the stream, not a write into (or a read from) a file that took its number
$ printf '{"id":"a"}\n' > in.jsonl
$ mfilter -Z in.jsonl >&-; echo "rc $?"; mfilter -Z <&-; echo "rc $?"
> rc 3
> rc 1
2> mfilter: <stdout>: write error: Bad file descriptor
2> mfilter: <stdin>: read error: Bad file descriptor

## -o '' (-o "$OUT" with OUT unset) is a usage error at once, not ": rename: No such file or directory" (exit 3) once the whole input was done; nothing is left behind
$ printf '{"id":"a"}\n' > in.jsonl
$ mfilter -o '' in.jsonl; echo "rc $?"; ls -A | grep -c tmp || :
> rc 2
> 0
2> mfilter: -o: the name is empty
2> Try 'mfilter --help'.

## --split: two parts that lead to one file (a.jsonl a link to b.jsonl) are refused before any record, and b.jsonl keeps its content (both parts shared one temporary file: b.jsonl got a mix of them, then "b.jsonl: rename: No such file or directory", exit 3)
$ printf '{"id":"p%d"}\n' 1 2 3 4 5 6 > in.jsonl; echo old > b.jsonl; ln -s b.jsonl a.jsonl
$ mfilter -Z --split a:0.5,b:0.5 in.jsonl; echo "rc $?"; cat b.jsonl; ls -A | grep -c tmp || :
> rc 2
> old
> 0
2> mfilter: --split: parts a and b would be written to one file (b.jsonl)
2> Try 'mfilter --help'.

## -o over another user's file in a sticky directory (/tmp, a shared scratch) is an error at the start: the temporary file could be made there, but the rename over the file failed at the very end ("rename: Operation not permitted", after the whole input). Run as nobody, which needs root to switch to
% requires /usr/bin/setpriv
% requires root
$ chmod 755 .; mkdir -m 1777 t; echo theirs > t/out.jsonl; chmod 666 t/out.jsonl; printf '{"id":"a"}\nnot json\n' > in.jsonl
$ setpriv --reuid=65534 --regid=65534 --clear-groups env PATH="$PATH" mfilter -Z -o t/out.jsonl in.jsonl; echo "rc $?"; cat t/out.jsonl; ls -A t
> rc 3
> theirs
> out.jsonl
2~ ^mfilter: t/out.jsonl: cannot replace: it belongs to another user, in a directory with the sticky bit

## --max-tokens with a --template file without {problem} is a usage error, as an unknown name (it exited 1)
$ printf 'no placeholders' > tnp.txt
$ mfilter --max-tokens 9 --tokenizer "$TESTDATA/msample/model/tokenizer.json" --template tnp.txt -Z < /dev/null
? 2
2> mfilter: --template: tnp.txt has no {problem} placeholder
2> Try 'mfilter --help'.

## out of memory in libjq on a parse thread (-j 2) is exit 3 (mfilter: out of memory), not libjq's
## abort (134, "error: cannot allocate memory"): each thread that parses has the tools' handler
% requires unsanitized
$ awk 'BEGIN { for (i = 0; i < 200000; i++) printf "{\"id\":%d,\"problem\":\"some text here\",\"correct\":true}\n", i }' > many.jsonl
$ for v in 25000 30000 35000 40000 45000; do (ulimit -v $v; mfilter -q -j 2 -Z --shuffle many.jsonl > /dev/null 2> err; echo "$? $(cat err)"); done | sort -u
> 3 mfilter: out of memory

## a short option past ASCII is named itself, the whole character (getopt stops at its first
## byte, inside the word: -é was named by the word before it, the tool or -Z)
$ mfilter -é < /dev/null; echo "rc=$?"; mfilter -Zqé < /dev/null; echo "rc=$?"; mfilter -Z -é < /dev/null; echo "rc=$?"
> rc=2
> rc=2
> rc=2
2> mfilter: unknown option '-é'
2> Try 'mfilter --help'.
2> mfilter: unknown option '-é'
2> Try 'mfilter --help'.
2> mfilter: unknown option '-é'
2> Try 'mfilter --help'.

## a number option takes decimal digits only, as --seed did: strtol and strtod skipped leading
## blanks and took a '+' (--take ' 8', -n +8), strtod hex too (--temperature 0x1p-1 sampled at
## 0.5); an exponent, a leading zero and a bare fraction are still numbers
$ mfilter --take ' 8' -Z < /dev/null; mfilter --take=+8 -Z < /dev/null; mfilter --zstd-level ' 3' < /dev/null
$ mfilter --pass-band 0x1p-1:1 -Z < /dev/null; mfilter --pass-band '0.5: 1' -Z < /dev/null
$ msample -n +8 --model m < /dev/null; msample --temperature 0x1p-1 --model m < /dev/null
$ mgrpo --lr ' 1e-6' --out r < /dev/null; meval --k '1, 2' < /dev/null
$ mfilter --take 08 --pass-band .5:1e0 -q -Z < /dev/null && echo taken
$ mfilter --seed -0 -q -Z < /dev/null && echo "-0 is 0"
$ mfilter --seed -1 -Z < /dev/null; mfilter --seed -01 -Z < /dev/null; mfilter --seed +1 -Z < /dev/null
> taken
> -0 is 0
2> mfilter: --take: ' 8' is not an integer in [1, 1099511627776]
2> Try 'mfilter --help'.
2> mfilter: --take: '+8' is not an integer in [1, 1099511627776]
2> Try 'mfilter --help'.
2> mfilter: --zstd-level: ' 3' is not an integer in [-131072, 22]
2> Try 'mfilter --help'.
2> mfilter: --pass-band: '0x1p-1' is not a number in [0, 1]
2> Try 'mfilter --help'.
2> mfilter: --pass-band: ' 1' is not a number in [0, 1]
2> Try 'mfilter --help'.
2> msample: -n: '+8' is not an integer in [1, 1048576]
2> Try 'msample --help'.
2> msample: --temperature: '0x1p-1' is not a number in [0, 100]
2> Try 'msample --help'.
2> mgrpo: --lr: ' 1e-6' is not a number in [0, 1000]
2> Try 'mgrpo --help'.
2> meval: --k: ' 2' is not an integer in [1, 1048576]
2> Try 'meval --help'.
2> mfilter: --seed: '-1' is not a non-negative integer
2> Try 'mfilter --help'.
2> mfilter: --seed: '-01' is not a non-negative integer
2> Try 'mfilter --help'.
2> mfilter: --seed: '+1' is not a non-negative integer
2> Try 'mfilter --help'.
? 2

## a --template name or file that cannot be used names the option, as the other usage errors do
## (it said "unknown template ..." or "template FILE: ...", and mtok "--template: template FILE")
$ t() { "$1" "${@:2}" --tokenizer "$TESTDATA/msample/model/tokenizer.json" -Z < /dev/null; echo "rc=$?"; }
$ t mfilter --max-tokens 9 --template nosuch; t mfilter --max-tokens 9 --template ./nosuch; t mtok template --template ./nosuch
> rc=2
> rc=2
> rc=2
2> mfilter: --template: unknown template "nosuch" (r1, plain, or a file with {system}/{problem})
2> Try 'mfilter --help'.
2> mfilter: --template: cannot read ./nosuch: No such file or directory
2> Try 'mfilter --help'.
2> mtok: --template: cannot read ./nosuch: No such file or directory
2> Try 'mtok --help'.

## a message past mrl_err's 1024 bytes (a long path) loses its middle, not its end: cut at the
## end it lost what was wrong ("No such file or directory") and the last character's bytes
$ d=$(printf '%0.s\xc3\xa9' $(seq 120)); p=$(printf "$d/%.0s" 1 2 3 4 5 6 7 8)
$ mkdir -p "$p"; mfilter -Z "${p}in.jsonl" 2> err; echo "rc=$?"
$ iconv -f UTF-8 -t UTF-8 err > /dev/null && echo UTF-8; sed 's/\xc3\xa9//g' err
> rc=1
> UTF-8
> mfilter: //...//in.jsonl: No such file or directory
