# The tools on CUDA, end to end (make test-gpu; skipped where there is no GPU): a tiny model
# samples on the GPU, the teacher-forced log-probs on CUDA agree with the CPU's, mgrpo takes
# GRPO steps on the GPU, and its checkpoint loads and samples on the CPU. The on-device
# sampling case comes first: a GPU session's time is short, and it is the one no GPU has run.

## MRL_DEVICE_SAMPLING=1: msample on CUDA draws its tokens on the GPU and writes what the host sampler writes from the same GPU's logits, byte for byte: sampling at T = 1 and 0.6, greedy, and --top-p (which stays with the host); 24 sequences in flight, the byte-level vocabulary (263 tokens: two blocks of the sampler's sums) and the Qwen2 one (151,665)
% requires /dev/nvidia0
% requires $SHARED/data/qwen2-tokenizer/tokenizer.json.zst
$ minit tiny -o m --seed 3 -q
$ minit tiny -o q --seed 4 -q --tokenizer "$SHARED/data/qwen2-tokenizer/tokenizer.json.zst"
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\",\"answer\":\"$((2*i))\"}"; done > p.jsonl
$ run() { msample --model "$1" -n 4 --batch 24 --max-tokens 32 --template plain --device cuda --seed 7 -Z "${@:2}" p.jsonl; }
$ for M in m q; do for o in "--temperature 1" "--temperature 0.6" "--temperature 0" "--temperature 1 --top-p 0.9"; do run $M $o > host.jsonl; MRL_DEVICE_SAMPLING=1 run $M $o > dev.jsonl; cmp -s host.jsonl dev.jsonl && echo same || echo "differs: $M $o"; done; done | sort | uniq -c | awk '{ $1 = $1; print }'
$ MRL_DEVICE_SAMPLING=1 run q --temperature 1 --progress 2>&1 >/dev/null | tr '\r' '\n' | tail -1 | grep -c 'drawn on cuda'
> 8 same
> 1

## msample --score: CUDA log-probs agree with the CPU's (bf16 tolerance)
% requires /dev/nvidia0
$ minit tiny -o m --seed 3 -q
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\",\"answer\":\"$((2*i))\"}"; done > p.jsonl
$ msample --model m -n 2 --temperature 1 --max-tokens 24 --template plain --device cpu --seed 5 -Z p.jsonl > s.jsonl
$ msample --model m --score --device cpu -Z s.jsonl | grep -o '"logprobs":\[[^]]*\]' | tr -d '"logprobs:[]' > cpu.txt
$ msample --model m --score --device cuda -Z s.jsonl | grep -o '"logprobs":\[[^]]*\]' | tr -d '"logprobs:[]' > gpu.txt
$ test -s cpu.txt && test $(wc -l < cpu.txt) -eq 8
$ paste -d, cpu.txt gpu.txt | awk -F, '{ n = NF / 2; for (i = 1; i <= n; i++) { d = $i - $(i + n); if (d < 0) d = -d; if (d > m) m = d } } END { print (m < 0.05 ? "close" : "far " m) }'
> close

## the 1.5B model's head shapes (head dim 128, 2 query heads per KV head), a tied and an untied LM head: CUDA's sampled log-probs (prefill, then decode over the paged cache past one 256-key tile) and its teacher-forced ones (--score) agree with the CPU's --score of the same completions; the tiny models of the other cases have a head dim of 8. 16 completions, one of 256 tokens or more (the tile passed): the random model's EOS ends a completion early (about 1 token in 300), and 8 of them came to fewer than 1000 tokens in 2 seeds of 72 (the case failed with log-probs that agreed)
% requires /dev/nvidia0
$ for tie in true false; do printf '{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","hidden_size":512,"intermediate_size":768,"num_attention_heads":4,"num_key_value_heads":2,"num_hidden_layers":2,"vocab_size":263,"max_position_embeddings":1024,"rms_norm_eps":1e-6,"rope_theta":10000.0,"tie_word_embeddings":%s,"bos_token_id":256,"eos_token_id":257,"torch_dtype":"bfloat16"}\n' $tie > c$tie.json; minit c$tie.json -o m$tie --seed 3 -q; done
$ for i in 1 2 3 4; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\",\"answer\":\"$((2*i))\"}"; done > p.jsonl
$ lp() { grep -o '"logprobs":\[[^]]*\]' | tr -d '"logprobs:[]'; }
$ far() { paste -d, "$1" "$2" | awk -F, '{ n = NF / 2; if (n < 1) bad = 1; if (n > big) big = n; for (i = 1; i <= n; i++) { d = $i - $(i + n); if (d < 0) d = -d; if (d > m) m = d; t += $i; c++ } } END { print (NR == 16 && !bad && c > 1000 && big >= 256 && t < 0 && m < 0.1 ? "close" : "far: " NR " rows, " c " values, the longest " big ", max diff " m) }'; }
$ for tie in true false; do msample --model m$tie -n 4 --temperature 1 --max-tokens 300 --template plain --device cuda --seed 5 -Z p.jsonl > s.jsonl; lp < s.jsonl > dev.txt; msample --model m$tie --score --device cpu -Z s.jsonl | lp > cpu.txt; msample --model m$tie --score --device cuda -Z s.jsonl | lp > score.txt; echo "$tie sampled $(far dev.txt cpu.txt), scored $(far score.txt cpu.txt)"; done
> true sampled close, scored close
> false sampled close, scored close

## msample | mreward | mgrpo on CUDA, then the checkpoint samples on the CPU
% requires /dev/nvidia0
$ minit tiny -o m --seed 3 -q
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\",\"answer\":\"$((2*i))\"}"; done > p.jsonl
$ msample --model m -n 4 --max-tokens 24 --template plain --device cuda --seed 1 -Z p.jsonl | mreward -Z | mgrpo --model m --out run --device cuda --groups 3 --lr 1e-3 --beta 0.04 -Z > metrics.jsonl
$ test $(wc -l < metrics.jsonl) -eq 2 && grep -c '"loss":' metrics.jsonl
$ test -e run/latest/model.safetensors && msample --model run/latest -n 1 --max-tokens 8 --template plain --device cpu -Z p.jsonl | grep -c '"completion":'
> 2
> 6

## grpo-loop.sh PERSIST=1 on CUDA: one mgrpo on the GPU for the loop, the sampler on the GPU reading RUN/policy; the same steps as one mgrpo per step on the GPU (the loss and gradient norm of every step within bf16 noise, the same step directories); the reward stage scores a sample 1 where its first token id is odd, so the steps have advantages and a gradient in at least one step (the random model earns none from mreward: every loss and grad norm was 0; a step whose groups all earned alike has none, 2 seeds in 40 on the CPU), and no jq is needed (the GPU machine's image is not known to have it, and without it the comparison read nothing and printed close)
% requires /dev/nvidia0
$ minit tiny -o m --seed 3 -q
$ for i in 1 2 3 4 5 6; do echo "{\"id\":\"p$i\",\"problem\":\"What is $i + $i?\",\"answer\":\"$((2*i))\"}"; done > p.jsonl
$ export MODEL=m DATA=p.jsonl STEPS=3 PROMPTS=2 G=4 TEMP=1 SYSTEM= BIN="$MRL_BIN" MAX_TOKENS=16 SAVE_EVERY=2 DEVICE=cuda MGRPO_ARGS='--lr 1e-3'
$ export REWARD="$MRL_BIN/mreward -Z -q | sed -E '/\"completion_ids\":\[[0-9]*[13579][],]/s/\"reward\":0/\"reward\":1/'"
$ RUN=ra "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>err || cat err
$ RUN=rb PERSIST=1 "$ROOT/pipelines/grpo-loop.sh" >/dev/null 2>err || cat err
$ ls -d ra/step-* rb/step-* | sed 's|^r[ab]/||' | sort | uniq -c | awk '{ print $1, $2 }'; readlink rb/policy
$ field() { grep -o "\"$1\":[^,}]*" "$2" | cut -d: -f2; }
$ paste -d' ' <(field loss ra/metrics.jsonl) <(field loss rb/metrics.jsonl) <(field grad_norm ra/metrics.jsonl) <(field grad_norm rb/metrics.jsonl) | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d; r = ($3 - $4) / ($3 + 1e-9); if (r < 0) r = -r; if (r > q) q = r; if ($3 > 0.1) g++ } END { print (NR == 3 && g >= 1 && m < 0.05 && q < 0.1 ? "close" : "far: " NR " steps, " g " with a gradient, loss diff " m ", grad_norm rel diff " q) }'
> 2 step-000002
> 2 step-000003
> policy-000003
> close
