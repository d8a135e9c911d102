# minit: model directories. Byte ids expected below are the real Qwen2 vocabulary's
# (../shared/data/qwen2-tokenizer/vocab.json: "h" 71, "i" 72, "Ġ" 220, "Ċ" 198),
# which the byte-level tokenizer shares for its first 256 ids.

## tiny: the five Hugging Face files, and nothing else left behind
$ minit tiny -o m -q && ls && ls m
> m
> config.json
> generation_config.json
> model.safetensors
> tokenizer.json
> tokenizer_config.json

## tiny: config is Qwen2, vocab = 256 bytes + 7 added tokens, eos/bos are the R1 specials
$ minit tiny -o m -q && jq -c '[.architectures[0], .model_type, .vocab_size, .hidden_size, .num_hidden_layers, .num_key_value_heads, .torch_dtype, .tie_word_embeddings]' m/config.json
$ jq -c '[.bos_token_id, .eos_token_id]' m/generation_config.json
$ jq -r '.added_tokens[] | "\(.id) \(.content) \(.special)"' m/tokenizer.json
> ["Qwen2ForCausalLM","qwen2",263,128,4,2,"float32",false]
> [259,256]
> 256 <｜end▁of▁sentence｜> true
> 257 <｜User｜> false
> 258 <｜Assistant｜> false
> 259 <｜begin▁of▁sentence｜> true
> 260 <|EOT|> false
> 261 <think> false
> 262 </think> false

## the byte-level tokenizer encodes bytes with Qwen2's byte ids (through mtok)
$ minit tiny -o m -q && printf 'hi there\n' | mtok encode --model m -r -Z | jq -c .ids
> [71,72,220,83,71,68,81,68]

## summary line: the parameter count of tiny
$ minit tiny -o m
2> minit: m: 855936 parameters, 4 layers, vocab 263, float32, seed 0

## the same seed gives the same weights; another seed other weights
$ minit tiny -o a -q --seed 5 && minit tiny -o b -q --seed 5 && minit tiny -o c -q --seed 6
$ cmp a/model.safetensors b/model.safetensors && echo same
$ cmp -s a/model.safetensors c/model.safetensors || echo different
> same
> different

## --dtype bf16 halves the weights and says so in config.json
$ minit tiny -o a -q && minit tiny -o b -q --dtype bf16
$ jq -r .torch_dtype b/config.json
$ echo $(( $(stat -c %s a/model.safetensors) / 100000 )) $(( $(stat -c %s b/model.safetensors) / 100000 ))
> bfloat16
> 34 17

## --tie yes drops lm_head; --vocab-size pads the embedding
$ minit tiny -o m -q --tie yes --vocab-size 1000 && jq -c '[.tie_word_embeddings, .vocab_size]' m/config.json
$ grep -c lm_head m/model.safetensors || true
> [true,1000]
> 0

## --merges learns merges from a text: pair counts over "the"," theory"," then" (x200) make
## (t,h) and (h,e) tie at 600; ties go to the lowest ids (h=71 < t=83), so "h e" comes first
$ yes 'the theory then' | head -200 > text.txt
$ minit tiny -o m -q --merges 5 --merges-text text.txt && jq -c '.model.merges' m/tokenizer.json
$ jq .vocab_size m/config.json
> ["h e","t he","Ġ the","o r","Ġthe n"]
> 268

## --merges learns on the text as encode cuts it: NFC first (e + U+0301 is "é", C3 A9 =
## "Ã©"), added tokens taken out; it learned merges of the decomposed bytes and of "<think>"'s
## pieces, which encode never meets
$ printf 'e\xcc\x81<think>\n%.0s' 1 2 3 > text.txt
$ minit tiny -o m -q --merges 5 --merges-text text.txt && jq -c '.model.merges' m/tokenizer.json
$ printf 'e\xcc\x81\n' | mtok encode -r --model m -Z | jq -c .ids
> ["Ã ©"]
> [256]

## --merges-text that is not UTF-8: the file, the line and the byte named (it said only
## "training text: invalid UTF-8"), and no directory left
$ printf 'ok line\nhello \377 world\n' > text.txt
$ minit tiny -o m --merges 5 --merges-text text.txt; echo $?; ls
2> minit: text.txt:2: invalid UTF-8 at byte 7 of the line
> 1
> text.txt

## a config.json
$ printf '{"model_type":"qwen2","vocab_size":300,"hidden_size":32,"intermediate_size":48,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"tie_word_embeddings":true,"torch_dtype":"bfloat16"}' > cfg.json
$ minit cfg.json -o m -q && jq -c '[.vocab_size, .hidden_size, .num_hidden_layers, .tie_word_embeddings, .torch_dtype]' m/config.json
> [300,32,1,true,"bfloat16"]

## a model directory given for its config.json: said so (with a "/" it was "./: read error",
## without one "not tiny, small, qwen2-1.5b or a config.json")
$ mkdir d && minit d -o m -q; minit ./d/ -o m -q
2> minit: 'd' is a directory: name the config.json in it
2> Try 'minit --help'.
2> minit: './d/' is a directory: name the config.json in it
2> Try 'minit --help'.
? 2

## a config.json with fewer tokens than the tokenizer: the file and the field named (or the
## option, where --vocab-size set it: a usage error, exit 2, as any bad option value)
$ printf '{"model_type":"qwen2","vocab_size":100,"hidden_size":32,"intermediate_size":48,"num_hidden_layers":1,"num_attention_heads":2}' > cfg.json
$ minit cfg.json -o m; echo $?; minit tiny -o m --vocab-size 10; echo $?; ls
2> minit: cfg.json: "vocab_size" 100 is smaller than the tokenizer's 263 tokens
2> minit: --vocab-size 10 is smaller than the tokenizer's 263 tokens
2> Try 'minit --help'.
> 1
> 2
> cfg.json

## --dtype takes torch's names too, as a config's torch_dtype writes them
$ minit tiny -o m -q --dtype float32 && jq -r .torch_dtype m/config.json; minit tiny -o m2 --dtype f64
> float32
2> minit: --dtype: 'f64' is not bf16, fp32 or fp16 (or bfloat16, float32, float16)
2> Try 'minit --help'.
? 2

## a config.json that is not JSON: one line naming the file (libjq's message ended in a copy
## of the whole file, line breaks and all)
$ printf '{"model_type":\n  bad\n}\n' > cfg.json
$ minit cfg.json -o m
? 1
2> minit: cfg.json: not valid JSON: Invalid numeric literal at line 3, column 0

## a config.json of another architecture, naming the field
$ printf '{"model_type":"llama"}' > cfg.json
$ minit cfg.json -o m
? 1
2> minit: cfg.json: "model_type" is "llama"; only "qwen2" is supported

## the real tokenizer: vocab and special ids from it
% requires $SHARED/data/qwen2-tokenizer/tokenizer.json.zst
$ minit tiny -o m -q --tokenizer "$SHARED/data/qwen2-tokenizer/tokenizer.json.zst"
$ jq -c '[.vocab_size, .bos_token_id, .eos_token_id]' m/config.json m/generation_config.json
$ jq -r .tokenizer_class m/tokenizer_config.json
> [151665,151646,151643]
> [null,151646,151643]
> LlamaTokenizerFast

## a tokenizer.json alone: a tokenizer_config.json naming its BOS and EOS (pad = EOS, no unk:
## transformers' Qwen2 defaults made "<|endoftext|>" a new token, id = vocab_size) and the R1 template
$ minit tiny -o a -q && mkdir t && cp a/tokenizer.json t/
$ minit tiny -o m -q --tokenizer t/tokenizer.json && ls m
$ jq -c '[.bos_token, .eos_token, .pad_token, .unk_token, .tokenizer_class]' m/tokenizer_config.json
$ jq -r .chat_template m/tokenizer_config.json | cmp - <(jq -r .chat_template a/tokenizer_config.json) && echo same template
$ jq -r .chat_template m/tokenizer_config.json | grep -c '<｜Assistant｜>'
> config.json
> generation_config.json
> model.safetensors
> tokenizer.json
> tokenizer_config.json
> ["<｜begin▁of▁sentence｜>","<｜end▁of▁sentence｜>","<｜end▁of▁sentence｜>",null,"PreTrainedTokenizerFast"]
> same template
> 1

## a tokenizer.json alone without the R1 tokens: EOS <|endoftext|>, no BOS, no chat template
$ minit tiny -o a -q && mkdir t
$ jq -c '.added_tokens |= map(select(.id == 256) | .content = "<|endoftext|>") | .post_processor = null' a/tokenizer.json > t/tokenizer.json
$ minit tiny -o m -q --tokenizer t/tokenizer.json
$ jq -c '[.bos_token, .eos_token, .pad_token, has("chat_template")]' m/tokenizer_config.json
$ jq -c '[.vocab_size, .bos_token_id, .eos_token_id]' m/config.json
> [null,"<|endoftext|>","<|endoftext|>",false]
> [257,null,256]

## the tokenizer files beside it come along as they are: tokenizer_config.json, and
## chat_template.jinja and special_tokens_map.json (where save_pretrained now puts the template)
$ minit tiny -o a -q && mkdir t && cp a/tokenizer.json t/
$ jq 'del(.chat_template)' a/tokenizer_config.json > t/tokenizer_config.json
$ jq -r .chat_template a/tokenizer_config.json > t/chat_template.jinja
$ echo '{"eos_token": "<｜end▁of▁sentence｜>"}' > t/special_tokens_map.json
$ minit tiny -o m -q --tokenizer t/tokenizer.json && ls m
$ for f in tokenizer_config.json chat_template.jinja special_tokens_map.json; do cmp t/$f m/$f || echo "$f differs"; done
> chat_template.jinja
> config.json
> generation_config.json
> model.safetensors
> special_tokens_map.json
> tokenizer.json
> tokenizer_config.json

## a missing tokenizer: error, and no directory (not even a temp one) left
$ minit tiny -o m --tokenizer nope.json; echo $?; ls
2~ ^minit: nope.json: No such file or directory$
> 1

## an existing non-empty directory is not overwritten
$ mkdir m && touch m/x && minit tiny -o m
? 1
2> minit: m: exists and is not an empty directory

## an existing empty directory is fine
$ mkdir m && minit tiny -o m -q && ls m | wc -l
> 5

## usage errors
$ minit huge -o m
? 2
2~ 'huge' is not tiny, small, qwen2-1.5b or a config.json
## no -o
$ minit tiny
? 2
2~ -o DIR is required
## --merges without a text, a text without --merges
$ minit tiny -o m --merges 3; echo "rc=$?"; minit tiny -o m --merges-text cfg.json; echo "rc=$?"
> rc=2
> rc=2
2~ --merges needs --merges-text
2~ --merges-text needs --merges N
## a bad dtype
$ minit tiny -o m --dtype int8
? 2
2~ --dtype: 'int8' is not

## bad checkpoints are refused by the tools that load them, naming the tensor (msample here)
% requires $MRL_BIN/msample
$ minit tiny -o m -q && truncate -s 100000 m/model.safetensors
$ echo '{"id":"1","problem":"x","answer":"1"}' | msample --model m -n 1 --max-tokens 1 -Z
? 1
2> msample: m/model.safetensors: "model.embed_tokens.weight": data_offsets [0, 134656] run past the end of the data (94688 bytes): file truncated?

## a config.json with more layers than the weights
% requires $MRL_BIN/msample
$ minit tiny -o m -q && sed -i 's/"num_hidden_layers": 4/"num_hidden_layers": 5/' m/config.json
$ echo '{"id":"1","problem":"x","answer":"1"}' | msample --model m -n 1 --max-tokens 1 -Z
? 1
2> msample: m: "model.layers.4.input_layernorm.weight" is missing

## a config.json whose sizes disagree with the weights
% requires $MRL_BIN/msample
$ minit tiny -o m -q && sed -i 's/"intermediate_size": 384/"intermediate_size": 256/' m/config.json
$ echo '{"id":"1","problem":"x","answer":"1"}' | msample --model m -n 1 --max-tokens 1 -Z
? 1
2> msample: m/model.safetensors: "model.layers.0.mlp.gate_proj.weight" has shape [384, 128], config.json implies [256, 128]

## a header length that lies
% requires $MRL_BIN/msample
$ minit tiny -o m -q && printf '\377\377\377\377' | dd of=m/model.safetensors bs=1 seek=0 conv=notrunc status=none
$ echo '{"id":"1","problem":"x","answer":"1"}' | msample --model m -n 1 --max-tokens 1 -Z
? 1
2~ m/model.safetensors: header length [0-9]+ (exceeds the limit|runs past the end of the file)

## -o DIR/ (a trailing slash) names DIR, new or empty
$ mkdir e1; minit tiny -o e1/ -q && minit tiny -o nd/ -q && ls e1/config.json nd/config.json && ls -a | grep tmp | wc -l
> e1/config.json
> nd/config.json
> 0

## -o makes the missing parent directories (as mkdir -p, save_pretrained and mgrpo --out do);
## an option value that cannot work (--vocab-size below the tokenizer's) is still an error there, exit 2 (a usage error), with nothing created
$ minit tiny -o models/a/tiny -q && jq -c .model_type models/a/tiny/config.json
$ minit tiny -o other/m --vocab-size 10 -q; echo "rc $?"; ls
> "qwen2"
> rc 2
> models
2> minit: --vocab-size 10 is smaller than the tokenizer's 263 tokens
2> Try 'minit --help'.

## ... and when the directory itself cannot be made (a name past NAME_MAX: the model is built
## under a short temporary name, the rename fails), the parents made for it go too
$ minit tiny -q -o new1/$(printf 'x%.0s' $(seq 300)); echo "rc $?"; ls
> rc 3
2~ ^minit: new1/x+: rename: File name too long$

## past the file size limit (ulimit -f): an error, not a kill (SIGXFSZ), and neither the temporary
## directory nor the parents made for it stay
$ (ulimit -f 8; minit tiny -q -o new1/m; echo "rc $?"); ls
> rc 3
2~ ^minit: .*model\.safetensors.*: write: File too large$

## a --tokenizer that is not one: the message names the file given (it named minit's temporary directory), nothing is left behind
$ echo '{}' > bad.json
$ minit tiny -o y --tokenizer bad.json; echo "rc $?"; ls
> rc 1
> bad.json
2> minit: bad.json: "model" is missing

## -o '' is a usage error (it built the model, then failed with ": rename: No such file or directory")
$ minit tiny -o ''; echo "rc $?"; ls -A | grep -c tmp || :
> rc 2
> 0
2> minit: -o: the name is empty
2> Try 'minit --help'.

## -o a symbolic link (to an empty directory, a dangling one, one to "DIR/") makes the model where it leads and the link stays, as -o FILE does: it built the model, then failed "L: rename: Not a directory" (exit 3); a loop of links is an error before any work
$ mkdir e; ln -s e L; ln -s sub/new D; mkdir sub; ln -s f/ S; ln -s l2 l1; ln -s l1 l2
$ for o in L D S/; do minit tiny -q -o $o; echo "rc $?"; done; readlink L D S; ls e sub/new f | grep -cx config.json
$ minit tiny -q -o l1; echo "rc $?"
> rc 0
> rc 0
> rc 0
> e
> sub/new
> f/
> 3
> rc 3
2> minit: l1: Too many levels of symbolic links

## a write that fails (ulimit -f, a full disk) names the file in DIR as given, not its temporary copy in DIR.tmp.PID, which is gone by then (it named new1/m.tmp.PID/model.safetensors.tmp.PID)
$ (ulimit -f 8; minit tiny -q -o new1/m; echo "rc $?"); ls
> rc 3
2> minit: new1/m/model.safetensors: write: File too large

## -o too long a path is a usage error naming -o and why (the message held the path alone, cut
## at 1024 bytes before its reason)
$ minit tiny -o "$(printf 'a%.0s' $(seq 5000))"; echo "rc $?"
> rc 2
2> minit: -o: the path is too long (5000 bytes)
2> Try 'minit --help'.

## a config whose sizes are each within the loader's limits but enormous together is refused
## before any weight is written, against the room on the filesystem: it spun for minutes in the
## writer and would then have filled the disk
$ echo '{"model_type":"qwen2","hidden_size":1048576,"num_hidden_layers":4096,"num_attention_heads":4096,"num_key_value_heads":1,"intermediate_size":1048576,"vocab_size":1073741824}' > big.json
$ minit big.json -o B; echo "rc=$?"; test -e B || echo none
> rc=1
> none
2~ ^minit: big\.json: 2\.477e\+16 parameters \(9\.909e\+07 GB in float32\) are more than the [0-9.e+]+ GB free where -o is$
