# The CPU backend's thread count changes speed, never output: it runs fewer of its --threads
# while other processes keep CPUs busy (kernels/cpu/threads.c). MRL_THREADS_ADAPT=jitter draws
# a new count in 1..--threads at every forward, backward, prefill and decode step; the outputs
# must be the bytes of a run pinned to one thread (MRL_THREADS_ADAPT=0 --threads 1).

## msample, fp32 and bf16 (small's widths, 2 layers): a changing thread count gives the bytes of one thread
% requires /usr/bin/jq
$ minit small -o s -q && jq '.num_hidden_layers = 2' s/config.json > c.json
$ minit c.json -o f32 -q --seed 3 && minit c.json -o b16 -q --seed 3 --dtype bf16
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\"}"; done > in.jsonl
$ for m in f32 b16; do MRL_THREADS_ADAPT=0 msample --device cpu --model $m --threads 1 -n 4 --batch 8 --max-tokens 24 --seed 5 -Z -q in.jsonl > $m.one; MRL_THREADS_ADAPT=jitter msample --device cpu --model $m --threads 2 -n 4 --batch 8 --max-tokens 24 --seed 5 -Z -q in.jsonl > $m.jit; cmp $m.one $m.jit && echo "$m same"; done
$ jq -s 'length' f32.one
> f32 same
> b16 same
> 16

## mgrpo, fp32 and --dtype bf16: the same losses, weights and optimizer state
% requires /usr/bin/jq
$ minit small -o s -q && jq '.num_hidden_layers = 2' s/config.json > c.json && minit c.json -o m -q --seed 3
$ for i in 1 2; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\"}"; done | MRL_THREADS_ADAPT=0 msample --device cpu --model m --threads 1 -n 4 --max-tokens 16 --seed 5 -Z -q | jq -c '.reward = (.sample % 2)' > r.jsonl
$ for d in fp32 bf16; do for mode in 0 jitter; do t=1; [ $mode = jitter ] && t=2; MRL_THREADS_ADAPT=$mode mgrpo --device cpu --model m --out $d-$mode --threads $t --dtype $d --groups 1 --micro-batch 3 --lr 1e-3 -Z -q r.jsonl | jq -c '[.step, .loss, .kl, .grad_norm]' > $d-$mode.m; done; cmp $d-0.m $d-jitter.m && cmp $d-0/latest/model.safetensors $d-jitter/latest/model.safetensors && cmp $d-0/latest/optimizer.safetensors $d-jitter/latest/optimizer.safetensors && echo "$d same"; done
$ wc -l < fp32-0.m
> fp32 same
> bf16 same
> 2

## OMP_PROC_BIND / OMP_PLACES bind the initial thread to the first place: the governor still counts the CPUs of every place (it took the one place for all it had, and ran one thread); its count at the start is logged, so a run shorter than the first window has a line too
% requires /proc/stat
% requires /usr/bin/jq
$ minit small -o s -q && jq '.num_hidden_layers = 2' s/config.json > c.json && minit c.json -o m -q --seed 3
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\"}"; done > in.jsonl
$ for b in false true; do OMP_PROC_BIND=$b MRL_THREADS_ADAPT=log msample --device cpu --model m --threads 2 -n 4 --batch 8 --max-tokens 64 --seed 5 -Z -q in.jsonl 2>&1 >/dev/null | grep 'at the start' | grep -o 'of [0-9]* CPUs'; done > cpus
$ wc -l < cpus; uniq cpus | wc -l
> 2
> 1

## mgrpo, one sequence a micro-batch on up to 4 threads: the counts where the attention's tasks follow the thread count (the forward's query-block runs, the split backward past (sequences x KV heads) threads) give the same bytes
% requires /usr/bin/jq
$ minit small -o s -q && jq '.num_hidden_layers = 2' s/config.json > c.json && minit c.json -o m -q --seed 3
$ for i in 1 2; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\"}"; done | MRL_THREADS_ADAPT=0 msample --device cpu --model m --threads 1 -n 2 --max-tokens 16 --seed 5 -Z -q | jq -c '.reward = (.sample % 2)' > r.jsonl
$ for d in fp32 bf16; do MRL_THREADS_ADAPT=0 mgrpo --device cpu --model m --out $d-0 --threads 1 --dtype $d --groups 1 --micro-batch 1 --lr 1e-3 -Z -q r.jsonl > $d-0.m; MRL_THREADS_ADAPT=jitter mgrpo --device cpu --model m --out $d-j --threads 4 --dtype $d --groups 1 --micro-batch 1 --lr 1e-3 -Z -q r.jsonl > $d-j.m; jq -c '[.loss, .grad_norm]' $d-0.m > a; jq -c '[.loss, .grad_norm]' $d-j.m > b; cmp a b && cmp $d-0/latest/model.safetensors $d-j/latest/model.safetensors && echo "$d same"; done
> fp32 same
> bf16 same
