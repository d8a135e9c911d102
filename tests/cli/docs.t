# docs: the man pages against what the tools say of themselves.

## every long option a tool's --help lists is in its man page (man/man1/TOOL.1)
$ n=0; for t in minit mtok mfilter msample mreward mgrpo meval; do
$   man=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$ROOT/man/man1/$t.1")
$   for o in $($t --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
$     n=$((n + 1)); grep -qE -- "$o([^a-z0-9-]|\$)" <<<"$man" || echo "$t: $o is not in man/man1/$t.1"
$   done
$ done; [ $n -ge 100 ] && echo checked || echo "only $n options read from --help"
> checked

## every option a man page documents (the head of an OPTIONS entry) is one its tool knows: a
## removed or renamed option left in the page is caught (given a value, with --version after
## it, the tool stops at once, with "unknown option" only for one it does not have)
$ n=0; for t in minit mtok mfilter msample mreward mgrpo meval; do
$   cmd=$t; [ $t = mtok ] && cmd="mtok encode"
$   for o in $(awk '/^\.TP/ { getline; print }' "$ROOT/man/man1/$t.1" | sed 's/\\-/-/g; s/\\f[BIRP]//g' | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
$     n=$((n + 1)); $cmd "$o=1" --version 2>&1 < /dev/null | grep -qE "unknown option|is ambiguous" && echo "$t: $o (man/man1/$t.1) is not an option of $t"
$   done
$ done; [ $n -ge 100 ] && echo checked || echo "only $n options read from the man pages"
> checked

## the README's 60-second tour runs as written, each command as it stands there (an option
## renamed, a default changed, an output moved shows here, not in a newcomer's terminal)
$ sed -n '/^## A 60-second tour/,/^## The tools/p' "$ROOT/README.md" | awk '/^```/ { n++; next } n == 1' > tour.sh
$ grep -c . tour.sh
$ bash -e -o pipefail tour.sh > out 2> err; echo "rc $?"
$ readlink runs/x/latest; zstd -dc rollouts.jsonl.zst | jq -r '[.id, .sample, (.reward | type)] | @tsv'
> 8
> rc 0
> step-000001
> p1	0	number
> p1	1	number
> p1	2	number
> p1	3	number

## every option the README's "The tools" names is one its tool's --help lists (an option is the
## tool's whose name came last on its line: `msample --model ... | meval` in meval's entry is msample's)
$ sed -n '/^## The tools/,/^## A custom reward stage/p' "$ROOT/README.md" |
$   awk '/^- \*\*`/ { t = $0; sub(/^- \*\*`/, "", t); sub(/`.*/, "", t) }
$        t != "" { cur = t; n = split($0, w, /[^a-z0-9-]+/)
$                  for (i = 1; i <= n; i++) if (w[i] ~ /^m(filter|sample|reward|grpo|eval|init|tok)$/) cur = w[i]; else if (w[i] ~ /^--[a-z]/) print cur, w[i] }' |
$   sort -u > opts; [ "$(wc -l < opts)" -ge 25 ] && echo "options found"
$ while read -r t o; do
$   if [ "$t" = mtok ]; then h=$(mtok --help); else h=$($t --help); fi
$   grep -qE -- "$o([^a-z0-9-]|\$)" <<<"$h" || echo "$t: $o (README) is not in $t --help"
$ done < opts; echo checked
> options found
> checked

## the README's custom reward stage (jq) and meval's pipeline in "The tools" run as written
$ minit tiny -o m -q && echo '{"id":"p1","problem":"What is 2 + 3?","answer":"5"}' > p.jsonl
$ msample --model m -n 2 --max-tokens 4 -Z p.jsonl > r.jsonl
$ perl -0ne 'print "$1\n" if /`(mreward -Z r\.jsonl \| jq .*?\| mgrpo) …`/s' "$ROOT/README.md" | sed 's/mgrpo$/mgrpo --model m --out run -Z -q/' > custom.sh
$ bash -e -o pipefail custom.sh | jq -c '.rewards'
$ mkdir -p data/bench && echo '{"id":"b1","bench":"tiny","problem":"What is 1 + 1?","answer":"2"}' > data/bench/tiny.jsonl
$ grep -o '`msample [^`]*| meval`' "$ROOT/README.md" | tr -d '`' | sed 's#runs/x/latest#m#; s/-n 4/-n 4 --max-tokens 4/' > eval.sh
$ bash -e -o pipefail eval.sh | zstd -dc | jq -r '[.bench, .problems, .k] | @tsv'
> {"accuracy":0,"format":0,"short":1}
> tiny	1	4

## the EXAMPLES of mfilter(1) run as written (sizes shrunk, "msample ..." given its model): the
## level-5 problems less a duplicate, the curated band, and the mix, whose parts hold each of the
## 3 + 3 + 1 picks once
$ awk '/^\.SH EXAMPLES/ { p = 1; next } /^\.SH/ { p = 0 } !p { next } /^\.(EX|nf)/ { b = 1; n++; next } /^\.(EE|fi)/ { b = 0; next } b && !/^\.R[SE]/ { print > ("ex" n ".sh") }' "$ROOT/man/man1/mfilter.1"
$ sed -i 's/\\-/-/g; s/\\e/\\/g' ex*.sh; ls ex*.sh | tr '\n' ' '; echo
$ printf '{"id":"%s","problem":"%s","level":"Level %s","answer":"2"}\n' 1 "What is 1+1?" 5 2 "What is 2+2?" 3 3 "WHAT is  1+1?" 5 4 "What is 3+3?" 5 | zstd -q > math.jsonl.zst
$ bash -e -o pipefail ex1.sh 2>err | zstd -dc | jq -r .id | tr '\n' ' '; echo; cat err
$ minit tiny -o m -q && zstd -dc math.jsonl.zst > p.jsonl
$ sed -i 's/-n 8 \.\.\./-n 2 --model m --max-tokens 2 p.jsonl/' ex2.sh && bash -e -o pipefail ex2.sh 2>/dev/null && zstd -dc train.jsonl.zst | wc -l
$ for s in a b c; do for i in 1 2 3 4 5; do echo "{\"id\":\"$s$i\",\"problem\":\"$s $i\"}"; done | zstd -q > $s.jsonl.zst; done
$ sed -i 's/3000/3/g; s/1000/1/g' ex3.sh && bash -e -o pipefail ex3.sh 2>/dev/null
$ ls mix; zstd -dc mix/*.zst | jq -r .id | sed 's/[0-9]//' | sort | uniq -c | awk '{ print $2, $1 }'
> ex1.sh ex2.sh ex3.sh ex4.sh 
> 1 4 
> mfilter: --dedupe: 1 duplicate dropped
> 0
> train.jsonl.zst
> val.jsonl.zst
> a 3
> b 3
> c 1

## what mfilter(1)'s mix example says of seeds: a --take of a set and of its superset with one
## seed shares every pick of the superset that the set holds (hence a seed per source)
$ for i in $(seq 1 40); do echo "{\"id\":\"r$i\",\"problem\":\"p $i\"}"; done > big.jsonl; awk 'NR % 2' big.jsonl > sub.jsonl
$ mfilter -Z --take 10 big.jsonl | jq -r .id | sort > tb; mfilter -Z --take 8 sub.jsonl | jq -r .id | sort > ts
$ echo "$(comm -12 tb ts | wc -l) of the $(grep -cxFf <(jq -r .id sub.jsonl) tb) picks in both"
$ mfilter -Z --take 8 --seed 1 sub.jsonl | jq -r .id | sort > ts1; echo "another seed: $(comm -12 tb ts1 | wc -l)"
> 5 of the 5 picks in both
> another seed: 0

## the EXAMPLES of meval(1) run as written (a tiny model for runs/x/latest, 2-token completions):
## a row per benchmark, the side-by-side Markdown table, rows by level
$ awk '/^\.SH EXAMPLES/ { p = 1; next } /^\.SH/ { p = 0 } !p { next } /^\.(EX|nf)/ { b = 1; n++; next } /^\.(EE|fi)/ { b = 0; next } b && !/^\.R[SE]/ { print > ("ex" n ".sh") }' "$ROOT/man/man1/meval.1"
$ sed -i 's/\\-/-/g; s/\\e/\\/g' ex*.sh; ls ex*.sh | tr '\n' ' '; echo
$ minit tiny -o m -q && mkdir -p runs/x data/bench && ln -s ../../m runs/x/latest
$ for b in aime24 math500; do printf '{"id":"%s","bench":"%s","problem":"What is %s?","answer":"%s"}\n' $b-1 $b "1 + 1" 2 $b-2 $b "2 + 2" 4 > data/bench/$b.jsonl; done
$ sed -i 's/-n 4/-n 4 --max-tokens 2/' ex1.sh && bash -e -o pipefail ex1.sh 2>/dev/null | zstd -dc | jq -r '[.bench, .problems, .k] | @tsv'
$ r() { printf '{"id":"%s","bench":"b","sample":%s,"completion":"\\\\boxed{%s}","answer":"4"%s}\n' "$@"; }
$ { r p1 0 4 ''; r p1 1 3 ''; r p2 0 5 ''; r p2 1 5 ''; } | mreward -q > eval-base.jsonl.zst
$ { r p1 0 4 ''; r p1 1 4 ''; r p2 0 4 ''; r p2 1 5 ''; } | mreward -q > eval-step50.jsonl.zst
$ bash -e ex2.sh | grep -c '^| b '
$ { r p1 0 4 ',"level":"Level 1"'; r p1 1 4 ',"level":"Level 1"'; r p2 0 5 ''; r p2 1 5 ''; } | mreward -q > scored.jsonl.zst
$ bash -e ex3.sh | zstd -dc | jq -r '[.bench, .problems, ."pass@1"] | @tsv'
> ex1.sh ex2.sh ex3.sh 
> aime24	2	4
> math500	2	4
> 1
> Level 1	1	1
> ?	1	0

## the EXAMPLES of minit(1) run as written (less the 1.5B model: 3.5 GB): the seed, the merges
## learned from the text, the config.json's shapes (a bf16 one) in fp32
$ awk '/^\.SH EXAMPLES/ { p = 1; next } /^\.SH/ { p = 0 } !p { next } /^\.(EX|nf)/ { b = 1; n++; next } /^\.(EE|fi)/ { b = 0; next } b && !/^\.R[SE]/ { print > ("ex" n ".sh") }' "$ROOT/man/man1/minit.1"
$ sed -i 's/\\-/-/g; s/\\e/\\/g' ex*.sh; grep -c '^minit' ex1.sh; sed -i '/qwen2-1.5b/,/--tokenizer/d' ex1.sh
$ for i in $(seq 1 30); do echo "What is $i plus $i? The sum of $i and $i is $((i + i))."; done > problems.txt
$ minit tiny -o c -q && jq '.hidden_size = 64 | .intermediate_size = 128 | .torch_dtype = "bfloat16"' c/config.json > my-config.json
$ bash -e ex1.sh 2>&1 | sed '/models\/small/ s/[0-9]* parameters, \(.*\) vocab [0-9]*/N parameters, \1 vocab V/'
$ jq -r '[.torch_dtype, .hidden_size] | @tsv' models/x/config.json; jq '.model.merges | length > 0' models/small/tokenizer.json
> 4
> minit: models/tiny: 855936 parameters, 4 layers, vocab 263, float32, seed 1
> minit: models/small: N parameters, 6 layers, vocab V, float32, seed 0
> minit: models/x: 182208 parameters, 4 layers, vocab 263, float32, seed 0
> float32	64
> true

## the EXAMPLES of mreward(1) run as written: Experiment 3's rewards (make exp3's) reach mgrpo's
## metrics (a step of a run that runs/x/latest continues), the answer only after the thinking
$ awk '/^\.SH EXAMPLES/ { p = 1; next } /^\.SH/ { p = 0 } !p { next } /^\.(EX|nf)/ { b = 1; n++; next } /^\.(EE|fi)/ { b = 0; next } b && !/^\.R[SE]/ { print > ("ex" n ".sh") }' "$ROOT/man/man1/mreward.1"
$ sed -i 's/\\-/-/g; s/\\e/\\/g' ex*.sh; ls ex*.sh | tr '\n' ' '; echo
$ minit tiny -o m -q && printf '{"id":"%s","problem":"What is %s?","answer":"%s"}\n' a "1 + 1" 2 b "2 + 2" 4 > train.jsonl
$ msample --model m -n 2 --max-tokens 2 train.jsonl | mreward | mgrpo --model m --out runs/x -q > /dev/null
$ sed -i 's/-n 6/-n 2 --max-tokens 2/' ex1.sh && bash -e -o pipefail ex1.sh 2>/dev/null | zstd -dc | jq -c '[.step, (.rewards | keys)]'
$ a=$(grep -o 'mreward [^|]*' ex1.sh | sed 's/^mreward //; s/ *$//')
$ b=$(make -s -C "$ROOT" -n exp3 MODEL=m DATA=d BIN="$MRL_BIN" | grep -o "REWARD='[^']*'" | sed "s/^REWARD='[^ ]*mreward -q //; s/ --reward language=0'\$//")
$ [ "$a" = "$b" ] && echo "the rewards of make exp3 (less language=0, a weight of 0)"
$ r() { printf '{"id":"p","sample":%s,"completion":"%s","answer":"4"}\n' "$@"; }
$ { r 0 '\\boxed{3}\n</think>\n\\boxed{4}'; r 1 '\\boxed{4}\n</think>\nfour'; } | zstd -q > samples.jsonl.zst
$ bash -e ex2.sh && zstd -dc scored.jsonl.zst | jq -c '[.sample, .pred, .correct]'
> ex1.sh ex2.sh 
> [2,["cosine","format"]]
> the rewards of make exp3 (less language=0, a weight of 0)
> [0,"4",true]
> [1,null,false]

## the EXAMPLES of msample(1) run as written (CPU for cuda:$k, 2-token completions): the middle
## band, the four shards' parts whole (each sample once), teacher-forced log-probs of them
$ awk '/^\.SH EXAMPLES/ { p = 1; next } /^\.SH/ { p = 0 } !p { next } /^\.(EX|nf)/ { b = 1; n++; next } /^\.(EE|fi)/ { b = 0; next } b && !/^\.R[SE]/ { print > ("ex" n ".sh") }' "$ROOT/man/man1/msample.1"
$ sed -i 's/\\-/-/g; s/\\e/\\/g' ex*.sh; ls ex*.sh | tr '\n' ' '; echo
$ minit tiny -o m -q && ln -s m M && ln -s m base && mkdir -p runs/x && ln -s ../../m runs/x/latest
$ for i in 1 2 3 4 5; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > train.jsonl
$ sed -i 's/-n 8/-n 2 --max-tokens 2/' ex1.sh && bash -e -o pipefail ex1.sh 2>/dev/null && zstd -dc mid.jsonl.zst | wc -l
$ sed -i 's/cuda:\$k/cpu/; s/--max-tokens 3584/--max-tokens 2/' ex2.sh && bash -e ex2.sh 2>/dev/null; ls part*.zst | tr '\n' ' '; echo
$ zstd -dc rollouts.jsonl.zst | jq -r '[.id, .sample] | @tsv' | sort > ids; echo "$(wc -l < ids) samples, $(uniq -d ids | wc -l) repeated"
$ bash -e ex3.sh && zstd -dc ref.jsonl.zst | jq -r '(.logprobs | length) == (.completion_ids | length)' | sort | uniq -c | awk '{ print $1, $2 }'
> ex1.sh ex2.sh ex3.sh 
> 0
> part0.zst part1.zst part2.zst part3.zst 
> 30 samples, 0 repeated
> 30 true

## the EXAMPLES of mgrpo(1) run as written (a tiny model, 2 groups a step): the study's update
## over three batches, and the KL per step from metrics.jsonl
$ awk '/^\.SH EXAMPLES/ { p = 1; next } /^\.SH/ { p = 0 } !p { next } /^\.(EX|nf)/ { b = 1; n++; next } /^\.(EE|fi)/ { b = 0; next } b && !/^\.R[SE]/ { print > ("ex" n ".sh") }' "$ROOT/man/man1/mgrpo.1"
$ sed -i 's/\\-/-/g; s/\\e/\\/g' ex*.sh; ls ex*.sh | tr '\n' ' '; echo
$ minit tiny -o DeepSeek-R1-Distill-Qwen-1.5B -q
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + 1?\",\"answer\":\"$((i + 1))\"}"; done > train.jsonl
$ msample --model DeepSeek-R1-Distill-Qwen-1.5B -n 2 --max-tokens 2 train.jsonl | mreward -Z | jq -c '.reward = .sample' > rollouts.jsonl
# + 0: jq 1.7 prints a number it read in its own literal form (2e-08 as 2E-8), 1.6 and a sum as a double
$ sed -i 's/--groups 12/--groups 2/' ex1.sh && bash -e ex1.sh < rollouts.jsonl 2>/dev/null | zstd -dc | jq -c '[.step, .groups, .lr + 0]'
$ ls runs/exp3 | tr '\n' ' '; echo
$ sed -n '/^\.SH EXAMPLES/,/^\.SH/ s/^\.B \(jq .*\)/\1/p' "$ROOT/man/man1/mgrpo.1" | sed 's/\\-/-/g; s#runs/x#runs/exp3#' > kl.sh; bash -e kl.sh | cut -f1
> ex1.sh ex2.sh 
> [1,2,0]
> [2,2,2e-08]
> [3,2,4e-08]
> latest metrics.jsonl rollouts step-000003 
> 1
> 2
> 3

## every file of the tree that the README names is there (a path under .ci, bench, kernels,
## libcore, man, pipelines, testdata, tests or tools; a glob matches one): the demo's generator
## was named testdata/gen_arith, a build output (build/testdata/gen_arith), and the benchmark
## problems bench/*.jsonl, in the tree's bench/ of scripts
$ grep -oE '(^|[^A-Za-z0-9_./-])(\.ci|bench|kernels|libcore|man|pipelines|testdata|tests|tools)/[A-Za-z0-9_.*/-]*' "$ROOT/README.md" |
$   sed -E 's#^[^.a-z]##; s#\.$##' | grep -v TOOL | sort -u > paths; [ "$(wc -l < paths)" -ge 30 ] && echo "paths found"
$ here=$PWD; cd "$ROOT" && while read -r p; do compgen -G "$p" > /dev/null || echo "$p (README) is not in the tree"; done < "$here/paths"; echo checked
> paths found
> checked

## the README's BENCH_DIR= is a directory of one's own, not the tree's: BENCH_DIR=bench, the
## benchmark scripts, made its make eval stop ("BENCH_DIR=bench has no aime24.jsonl") and its
## make exp2 ... BENCH_DIR=bench too ("grpo-loop: EVAL_DATA=bench/amc23.jsonl: no such file")
$ grep -oE 'BENCH_DIR=[^ `)…]+' "$ROOT/README.md" | sort -u > dirs; [ -s dirs ] && echo "found"
$ while read -r d; do d=${d#BENCH_DIR=}; d=${d%/}
$   case $d in .ci|bench|kernels|libcore|man|pipelines|testdata|tests|tools) echo "BENCH_DIR=$d is the tree's $d/";; esac
$ done < dirs; echo checked
> found
> checked
