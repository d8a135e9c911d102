# bench: the scripts behind BENCHMARKS.md as BENCHMARKS.md and `make bench` run them (no speed is
# asserted: the smallest sizes, only that a script finds its tools and prints its table).

## bench-mfilter.sh takes mfilter from BIN, as `make bench BIN=DIR` passes it (it took bin/mfilter
## whatever BIN said: without bin/ it stopped with "bin/mfilter not built", with one it timed that)
$ mkdir b && printf '#!/bin/sh\ntouch "%s/used"\nexec "%s/mfilter" "$@"\n' "$PWD" "$MRL_BIN" > b/mfilter && chmod +x b/mfilter
$ BIN=$PWD/b REPS=1 bash "$ROOT/bench/bench-mfilter.sh" 20 | grep -c '^| mfilter'; ls used
> 3
> used

## every bench/ file BENCHMARKS.md names is there, every bench/*.sh is executable (BENCHMARKS.md
## runs some as `bench/X.sh`; bench-contention.sh was not), and each VAR= a command there sets
## before `bench/X.sh` is one that script reads (CUDA= is make's, which the scripts run); and the
## patterns find such names and commands at all (else every loop ran zero times and said "checked")
$ cd "$ROOT"
$ n=0; for p in $(grep -oE 'bench/[A-Za-z0-9_.-]+\.(sh|py|c|json)' BENCHMARKS.md | sort -u); do
$   n=$((n + 1)); [ -e "$p" ] || echo "BENCHMARKS.md names $p: no such file"
$ done
$ for s in bench/*.sh; do [ -x "$s" ] || echo "$s is not executable"; done
$ grep -oE '([A-Z][A-Z0-9_]*=("[^"]*"|[^ `"]*) +)+(bash +)?bench/[a-z-]+\.sh' BENCHMARKS.md | while read -r l; do
$   s=$(grep -oE 'bench/[a-z-]+\.sh' <<<"$l")
$   for v in $(grep -oE '(^| )[A-Z][A-Z0-9_]*=' <<<"$l" | tr -d ' ='); do
$     [ "$v" = CUDA ] || grep -qw "$v" "$s" || echo "BENCHMARKS.md: $v= for $s, which does not read it"
$   done
$ done
$ v=$(grep -oE '([A-Z][A-Z0-9_]*=("[^"]*"|[^ `"]*) +)+(bash +)?bench/[a-z-]+\.sh' BENCHMARKS.md | wc -l)
$ [ "$n" -ge 10 ] && [ "$v" -ge 5 ] && echo checked
> checked

## gpu-mgrpo.sh exits 1 when a training-speed run fails, its row on one line (the row said
## "failed", the error's newline split it, and the script exited 0: make bench-gpu counted it
## passed). No GPU needed: stubs run --device cuda on the CPU and make the 1.5B shapes tiny, and
## DEVICES names a device that mgrpo refuses
$ mkdir b && printf '#!/bin/bash\na=(); for x in "$@"; do [ "$x" = cuda ] && x=cpu; a+=("$x"); done\nexec "%s/mgrpo" "${a[@]}"\n' "$MRL_BIN" > b/mgrpo
$ printf '#!/bin/sh\n[ "$1" = qwen2-1.5b ] && shift && set -- tiny "$@"\nexec "%s/minit" "$@"\n' "$MRL_BIN" > b/minit && chmod +x b/mgrpo b/minit
$ MRL_BIN=$PWD/b DEVICES=nosuch bash "$ROOT/bench/gpu-mgrpo.sh" > out; echo "rc=$?"
$ grep -cE '^\| 3 \| [0-9.]+ \| [0-9.]+ \|' out; grep -cE '^\| nosuch \| (off|on) \| failed: mgrpo: --device: .* \| \|$' out
> rc=1
> 1
> 2

## bench-model.sh exits 1 and says why when model_bench bw fails (out of memory: every roofline
## read "inf%" and the script exited 0); attn still gets KV= through mbr. A stub model_bench
## (B=), its models stand-ins in BENCH_DIR: no model is made or timed
$ mkdir -p b/bench m/q15 m/small && touch m/q15/model.safetensors m/small/model.safetensors
$ printf '%s\n' '#!/bin/sh' 'case $1 in' \
$   'bw) echo "model_bench: out of memory" >&2; exit 1;;' \
$   'peak) echo "peak threads=1 fp32_fma_GFLOPs=1 bf16_dot_GFLOPs=- amx_bf16_GFLOPs=-";;' \
$   'attn) echo "attn R=$2 ctx=$3 kv=$KV threads=1 ms=1 GFLOPs=1 KV_GBps=1";;' \
$   'decode) echo "decode B=$3 tok_per_s=1 weight_GB=1 rss_MB=1";;' \
$   '*) echo "$1 tok_per_s=1 rss_MB=1";; esac' > b/bench/model_bench && chmod +x b/bench/model_bench
$ B=$PWD/b BIN=$MRL_BIN BENCH_DIR=$PWD/m NO_TORCH=1 bash "$ROOT/bench/bench-model.sh" > out 2> err; echo "rc=$?"
$ grep -c 'cache: 1 ms' out; grep -c 'fp32 cache' out; grep -c '^| decode' out; grep -c 'bw 1024: model_bench: out of memory' err
> rc=1
> 6
> 3
> 4
> 9

## bench-model.sh's batch-1 roofline: the best of its 3 decodes against the best of the 3
## bandwidth readings taken before them (it kept the best decode-to-own-reading ratio, which
## favoured a low reading: here 2 tok/s over 10 GB/s, 20 %; the fastest decode over its own
## reading would be 3 over 20, 15 %; 3 over the best reading, 30, is 10 %)
$ mkdir -p b2/bench && printf '%s\n' '#!/bin/sh' 'n=$(cat "$0.$1" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "$0.$1"' 'case $1 in' \
$   'bw) case $n in 1) r=25;; 2) r=10;; 3) r=20;; 4) r=30;; *) r=15;; esac; echo "bw threads=1 GBps=1 read_GBps=$r";;' \
$   'peak) echo "peak threads=1 fp32_fma_GFLOPs=1 bf16_dot_GFLOPs=- amx_bf16_GFLOPs=-";;' \
$   'attn) echo "attn R=$2 ctx=$3 kv=$KV threads=1 ms=1 GFLOPs=1 KV_GBps=1";;' \
$   'decode) case $n in 1) t=2;; 2) t=3;; *) t=1;; esac; echo "decode B=$3 tok_per_s=$t weight_GB=1 rss_MB=1";;' \
$   '*) echo "$1 tok_per_s=1 rss_MB=1";; esac' > b2/bench/model_bench && chmod +x b2/bench/model_bench
$ B=$PWD/b2 BIN=$MRL_BIN BENCH_DIR=$PWD/m NO_TORCH=1 bash "$ROOT/bench/bench-model.sh" > out 2> err; echo "rc=$?"
$ grep '^| decode qwen2-1.5b bf16 batch 1 ' out | cut -d'|' -f2-5
> rc=0
>  decode qwen2-1.5b bf16 batch 1 (tok/s) | 3 | 30.00 | 10% 

## BENCH_ONLY naming no script is an error (make bench BENCH_ONLY=typo ran nothing and exited 0)
$ BENCH_ONLY=nosuch bash "$ROOT/bench/run.sh" > /dev/null; echo $?
> 2
2~ ^bench: BENCH_ONLY=nosuch: no bench/bench-nosuch\.sh \(one of: ([a-z]+ )*mfilter( [a-z]+)*\)$

## bench-tokenizer.sh exits 1 and says why when tok_bench fails (its rows were left out and the
## script exited 0); a stub tok_bench (B=), mtok the real one
% requires $SHARED/data/qwen2-tokenizer/tokenizer.json.zst
$ mkdir -p b/bench && printf '#!/bin/sh\necho "tok_bench: out of memory" >&2; exit 3\n' > b/bench/tok_bench && chmod +x b/bench/tok_bench
$ B=$PWD/b BIN=$MRL_BIN SECS=0.1 bash "$ROOT/bench/bench-tokenizer.sh" > out 2> err; echo "rc=$?"
$ grep -c '^bench-tokenizer: tok_bench on [a-z]* failed$' err; grep -c '^mtok encode of' out
> rc=1
> 3
> 1
