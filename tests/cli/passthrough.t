# Fields a tool does not set leave exactly as they came. libjq 1.6 (Debian 12's) reads every
# number as a double, so a record written back from its parse would turn 12345678901234567891
# into 12345678901234567000 and 1e400 into 1.7976931348623157e+308; the tools copy the input
# line's text of each field they leave alone (stream.h: wr_put_from).

## msample, msample --score, mreward, mtok, mfilter --pass-band and mgrpo's rollouts copy keep big
## integers, 1e400 and 1.0
% requires $TESTDATA/msample/model/model.safetensors
$ printf '%s\n' '{"id":"p","problem":"x","answer":"1","uid":12345678901234567891,"w":1e400,"f":1.0}' > in.jsonl
$ msample --device cpu --model "$TESTDATA/msample/model" -Z -q -n 2 --max-tokens 2 in.jsonl > s.jsonl
$ grep -c '"id":"p","problem":"x","answer":"1","uid":12345678901234567891,"w":1e400,"f":1.0,"sample":' s.jsonl
$ msample --device cpu --score --model "$TESTDATA/msample/model" -Z -q s.jsonl | grep -c '"uid":12345678901234567891,"w":1e400,"f":1.0,'
$ mreward -Z -q s.jsonl | grep -c '"uid":12345678901234567891,"w":1e400,"f":1.0,'
$ mtok count --model "$TESTDATA/msample/model" --field .problem -Z -q in.jsonl | grep -c '"uid":12345678901234567891,"w":1e400,"f":1.0,"tokens":'
$ mreward -Z -q s.jsonl | mfilter -Z -q --pass-band 0:1
$ mreward -Z -q s.jsonl > r.jsonl && mgrpo -Z -q --threads 1 --model "$TESTDATA/msample/model" --out run --steps 1 --loss sft r.jsonl > /dev/null
$ zstd -dc run/rollouts/step-000001.jsonl.zst | cmp - r.jsonl && echo same
> 2
> 2
> 2
> 1
> {"id":"p","problem":"x","answer":"1","uid":12345678901234567891,"w":1e400,"f":1.0,"pass_rate":0,"samples":2}
> same

## a gold answer given as a number is read in its own digits, not as libjq's double
$ printf '%s\n' '{"id":"a","answer":123456789012345678901,"completion":"\\boxed{123456789012345678901}"}' '{"id":"a","answer":123456789012345678901,"completion":"\\boxed{123456789012345680000}"}' | mreward -Z -q --reward accuracy | grep -o '"answer":[0-9]*\|"correct":[a-z]*'
> "answer":123456789012345678901
> "correct":true
> "answer":123456789012345678901
> "correct":false

## ... also through a filter that is not a plain field (mrl(7)'s --answer '.answer // .solution',
## which gave 123456789012345680000: a correct answer scored 0); a computed number stays a double
$ printf '%s\n' '{"id":"a","solution":"x","answer":123456789012345678901,"completion":"\\boxed{123456789012345678901}"}' '{"id":"b","solution":123456789012345678901,"completion":"\\boxed{123456789012345678901}"}' > g.jsonl
$ mreward -Z -q --reward accuracy --answer '.answer // .solution' g.jsonl | grep -o '"correct":[a-z]*'
$ mreward -Z -q --reward accuracy --answer '(.answer // .solution) + 0' g.jsonl | grep -o '"correct":[a-z]*'
> "correct":true
> "correct":true
> "correct":false
> "correct":false

## a field the tool sets is replaced where it stood; an "id": null given FILE:LINE by mfilter keeps the rest
$ printf '%s\n' '{"sample":9,"id":"q","problem":"x","n":100000000000000000001}' | msample --device cpu --model "$TESTDATA/msample/model" -Z -q -n 1 --max-tokens 1 | cut -d, -f1-4
$ printf '%s\n' '{"id":null,"n":100000000000000000001}' > n.jsonl && mfilter -Z n.jsonl
> {"sample":0,"id":"q","problem":"x","n":100000000000000000001
> {"id":"n.jsonl:1","n":100000000000000000001}
