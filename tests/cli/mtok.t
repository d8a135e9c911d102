# mtok: encode/decode/count/template. Expected ids come from Hugging Face tokenizers
# (testdata/tokenizer/cases-*.jsonl and template-r1.jsonl, made by tests/ref/tokenizer_cases.py).

## encode: a record gets ids (byte-level fixture, merges applied)
$ mtok encode --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z
< {"id":"a","text":"if x != None and y >= 3: print(f'{x!r}')"}
> {"id":"a","text":"if x != None and y >= 3: print(f'{x!r}')","ids":[105,102,32,120,32,33,61,32,78,262,101,271,32,121,32,62,61,32,51,58,32,112,114,259,116,40,102,39,123,120,33,114,125,39,41]}

## encode: added tokens inline
$ mtok encode --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z
< {"text":"a<think>b</think>c"}
> {"text":"a<think>b</think>c","ids":[97,280,98,281,99]}

## encode: output is zstd when stdout is not a terminal
$ mtok encode --tokenizer "$TESTDATA/tokenizer/bytelevel.json" | zstd -dc
< {"text":"a<think>b</think>c"}
> {"text":"a<think>b</think>c","ids":[97,280,98,281,99]}

## encode: --field and --as
$ mtok encode --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z --field '.msg.body' --as toks
< {"msg":{"body":"a<think>b"}}
> {"msg":{"body":"a<think>b"},"toks":[97,280,98]}

## decode: ids back to text, and --skip-special
$ echo '{"ids":[276,105,102,32,120,277]}' > in.jsonl
$ mtok decode --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z in.jsonl
$ mtok decode --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z --skip-special --field .ids --as clean in.jsonl
> {"ids":[276,105,102,32,120,277],"text":"<｜begin▁of▁sentence｜>if x<｜end▁of▁sentence｜>"}
> {"ids":[276,105,102,32,120,277],"clean":"if x"}

## decode: a cut UTF-8 sequence becomes U+FFFD, as HF decode
$ mtok decode --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z
< {"ids":[97,226,130]}
> {"ids":[97,226,130],"text":"a�"}

## count: adds tokens
$ mtok count --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z
< {"text":"a<think>b</think>c"}
< {"text":""}
> {"text":"a<think>b</think>c","tokens":5}
> {"text":"","tokens":0}

## -r: raw text lines
$ printf 'a<think>b\nHello, world!\n' | mtok encode -r --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z
> {"text":"a<think>b","ids":[97,280,98]}
> {"text":"Hello, world!","ids":[72,101,108,108,111,44,32,119,111,114,108,100,33]}

## -r decode: JSON arrays of ids
$ printf '[97,280,98]\n' | mtok decode -r --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z
> {"ids":[97,280,98],"text":"a<think>b"}

## invalid UTF-8 in a raw line: error naming the line, earlier records already out
$ printf 'ok\nbad \377 byte\nnever\n' | mtok encode -r --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z
> {"text":"ok","ids":[111,107]}
2> mtok: <stdin>:2: invalid UTF-8 at byte 5
? 1

## --skip-bad: the bad line is counted, the rest goes on
$ printf 'ok\nbad \377 byte\nfine\n' | mtok encode -r --skip-bad --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z
> {"text":"ok","ids":[111,107]}
> {"text":"fine","ids":[102,259,101]}
2~ 1 bad record skipped

## a missing field is an input error naming the field
$ mtok count --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z
< {"text":"x"}
< {"id":7}
> {"text":"x","tokens":1}
2> mtok: <stdin>:2: "text" is missing
? 1

## a --field filter that is not a plain field is named as the option and the filter, not
## quoted as if its text were a field's name (it said '"empty" is missing')
$ printf '{"a":[]}\n' | mtok count --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z --field '.a[]'; echo "rc=$?"
$ printf '{"a":[]}\n' | mtok count --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z --field '.b // .c'; echo "rc=$?"
$ printf '{"a":[]}\n' | mtok count --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z --field '.a | length'; echo "rc=$?"
> rc=1
> rc=1
> rc=1
2> mtok: <stdin>:1: --field '.a[]' gave nothing
2> mtok: <stdin>:1: --field '.b // .c' gave null
2> mtok: <stdin>:1: --field '.a | length': its value is not a string

## decode: ids that are not ids
$ mtok decode --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z
< {"ids":[1,-3]}
2> mtok: <stdin>:1: "ids" [1] is not a token id
? 1

## decode: an id without a token decodes to nothing, up to the largest id, 2147483647 (as HF
## decode; it was refused as "not a token id"); past it is not an id
$ mtok decode --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z
< {"ids":[97,300,99999999,2147483647,98]}
< {"ids":[2147483648]}
> {"ids":[97,300,99999999,2147483647,98],"text":"ab"}
2> mtok: <stdin>:2: "ids" [0] is not a token id
? 1

## template: r1 by default, with --system (the model's chat template, as transformers renders it)
$ mtok template --system 'Be brief.' -Z
< {"problem":"What is $1+1$?"}
> {"problem":"What is $1+1$?","prompt":"<｜begin▁of▁sentence｜>Be brief.<｜User｜>What is $1+1$?<｜Assistant｜><think>\n"}

## template: plain, and a file with placeholders
$ printf 'Q: {problem}\nSys: {system}\nA:' > t.txt
$ echo '{"problem":"2+2?"}' > in.jsonl
$ mtok template --template plain -Z in.jsonl
$ mtok template --template ./t.txt --system S -Z in.jsonl
> {"problem":"2+2?","prompt":"2+2?\n"}
> {"problem":"2+2?","prompt":"Q: 2+2?\nSys: S\nA:"}

## template: unknown name is a usage error
$ mtok template --template nonesuch -Z
? 2
2~ ^mtok: --template: unknown template "nonesuch"

## template: a file without {problem} is a usage error too (it exited 1)
$ printf 'no placeholders' > tnp.txt
$ mtok template --template ./tnp.txt -Z < /dev/null
? 2
2> mtok: --template: ./tnp.txt has no {problem} placeholder
2> Try 'mtok --help'.

## usage: a command is needed; unknown command (named even after options); the command comes
## first; no tokenizer
$ mtok; echo "rc=$?"
$ mtok frobnicate --model m; echo "rc=$?"
$ mtok --model m encode; echo "rc=$?"
$ mtok encode </dev/null; echo "rc=$?"
> rc=2
> rc=2
> rc=2
> rc=2
2~ a command is needed
2~ unknown command 'frobnicate'
2~ the command comes first
2~ --model DIR or --tokenizer FILE is needed

## --system without a template is a usage error, as --template with decode is (encode
## dropped it without a word and encoded the bare text)
$ minit tiny -o m -q && echo '{"text":"a"}' | mtok encode --model m --system Hi -Z
? 2
2> mtok: --system goes with --template (it is the template's system text)
2> Try 'mtok --help'.

## help and version
$ mtok --help | head -1
$ mtok encode --version
>~ ^Usage: mtok COMMAND
>~ ^mtok mrl [0-9]

## another model type is refused with a clear message
$ cd "$TESTDATA/tokenizer" && mtok encode --tokenizer bad-wordpiece.json </dev/null
2> mtok: bad-wordpiece.json: model type WordPiece is not supported (only byte-level BPE)
? 1

## added tokens: single_word and normalized are honoured as in HF tokenizers 0.23.3 (they were
## ignored: "x<s>" gave the added token, "<a><b>" normalized hid the plain "<b>"), and ids that HF
## would not give are refused (HF renumbers "<gap>" 300 to 282; mrl used 300 without a word)
% requires /usr/bin/jq
$ jq -c '.added_tokens += [{"id":282,"content":"<a><b>","normalized":true},{"id":283,"content":"<b>"},{"id":284,"content":"<s>","single_word":true}]' "$TESTDATA/tokenizer/bytelevel.json" > flags.json
$ printf 'x<s>\n<s> y\n<a><b>\n' | mtok encode -r --tokenizer flags.json -Z
> {"text":"x<s>","ids":[120,60,115,62]}
> {"text":"<s> y","ids":[284,32,121]}
> {"text":"<a><b>","ids":[60,97,62,283]}
$ jq -c '.added_tokens += [{"id":300,"content":"<gap>"}]' "$TESTDATA/tokenizer/bytelevel.json" > gap.json
$ mtok encode --tokenizer gap.json </dev/null
2> mtok: gap.json: added_tokens[6]: "id" 300, but Hugging Face tokenizers gives "<gap>" the id 282 (the next after model.vocab's 276 tokens and the added ones before it)
? 1

## a truncated tokenizer.json is refused
$ mtok encode --tokenizer "$TESTDATA/tokenizer/bad-truncated.json" </dev/null
2~ bad-truncated.json: invalid JSON
? 1

## Qwen2 (R1 distill): the prompt ids of the r1 template equal transformers' apply_chat_template + encode
% requires $SHARED/data/qwen2-tokenizer/tokenizer.json.zst
$ mtok encode --model "$SHARED/data/qwen2-tokenizer" --template r1 -Z
< {"id":1,"problem":"<think>inline</think> tags"}
> {"id":1,"problem":"<think>inline</think> tags","prompt_ids":[151646,151644,151648,5057,151649,9492,151645,151648,198]}

## Qwen2: decode keeps </think> (not special) and drops BOS/EOS with --skip-special
% requires $SHARED/data/qwen2-tokenizer/tokenizer.json.zst
$ mtok decode --tokenizer "$SHARED/data/qwen2-tokenizer/tokenizer.json.zst" --skip-special -Z
< {"ids":[151646,151644,3838,374,400,16,10,16,3,30,151645,151648,198,151649,151643]}
> {"ids":[151646,151644,3838,374,400,16,10,16,3,30,151645,151648,198,151649,151643],"text":"<｜User｜>What is $1+1$?<｜Assistant｜><think>\n</think>"}

## minit's byte-level tokenizer: prompt ids as HF tokenizers gives them on the same tokenizer.json
% requires $MRL_BIN/minit
$ minit tiny -o m -q && mtok encode --model m --template r1 --system Hi -Z
< {"problem":"2+2?"}
> {"problem":"2+2?","prompt_ids":[259,39,72,257,17,10,17,30,258,261,198]}

## -r decode: a line that is not an array of ids
$ printf '[97]\n97 98\n' | mtok decode -r --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z
> {"ids":[97],"text":"a"}
2> mtok: <stdin>:2: not a JSON array of ids
? 1

## template: --system @FILE reads the system text from a file (trailing newline dropped)
$ printf 'From a file.\n' > sys.txt
$ mtok template --system @sys.txt -Z
< {"problem":"Q?"}
> {"problem":"Q?","prompt":"<｜begin▁of▁sentence｜>From a file.<｜User｜>Q?<｜Assistant｜><think>\n"}

## template: --system @FILE that cannot be read is a usage error
$ mtok template --system @nonesuch.txt -Z < /dev/null
? 2
2~ ^mtok: --system: cannot read nonesuch.txt

## template: --system @DIR is an error, as a file that cannot be read (a directory opens, its
## read fails, and the system text was silently empty; msample and mfilter read it the same way)
$ mkdir d; mtok template --system @d -Z < /dev/null; echo "rc=$?"
$ echo '{"id":"a","problem":"Q?"}' | msample --model "$TESTDATA/grpo/model" --system @d -Z; echo "rc=$?"
> rc=2
> rc=2
2~ ^mtok: --system: cannot read d: Is a directory
2~ ^msample: --system: cannot read d: Is a directory

## --system whose text is not UTF-8 is refused at the start, naming the file and line (it
## failed every record instead, as if the record's "problem" were not UTF-8)
$ printf 'ok\nbad \377 byte\n' > sys.txt
$ mtok encode --tokenizer "$TESTDATA/tokenizer/bytelevel.json" --template r1 --system @sys.txt -Z --skip-bad
< {"problem":"Q?"}
2> mtok: --system: sys.txt:2: not UTF-8 text (byte 5 of the line)
? 1

## --system TEXT that is not UTF-8 is a usage error
$ mtok template --system "$(printf 'a\377')" -Z < /dev/null
? 2
2~ ^mtok: --system: not UTF-8 text \(byte 2\)

## -r encode: every line is a text, an empty or blank one too (the output lines up with the input)
$ printf 'a\n\n   \nb\r\n\t\nc' | mtok encode -r --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z | jq -c '.text'
> "a"
> ""
> "   "
> "b"
> "\t"
> "c"

## -r encode: a line's characters are its text: a byte order mark goes only where it opens the
## file, and only the CR of a CRLF ending (Hugging Face encodes U+FEFF and CR like any character)
$ printf '\357\273\277a\r\n\357\273\277b\n\357\273\277\357\273\277c\r\r\n' > t.txt
$ mtok encode -r --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z t.txt | jq -ac '.text'
$ cat t.txt t.txt | mtok encode -r --tokenizer "$TESTDATA/tokenizer/bytelevel.json" -Z | jq -ac '.text' | sed -n 4p
> "a"
> "\ufeffb"
> "\ufeff\ufeffc\r"
> "\ufeffa"

## decode: the 0x00 byte token is text too (HF: "stud9\u0000unkt"), not the end of the string
% requires $SHARED/data/qwen2-tokenizer/tokenizer.json.zst
$ echo '{"ids":[11, 1673, 24, 188, 43226]}' | mtok decode --model "$SHARED/data/qwen2-tokenizer" -Z | jq -c .text
> ", stud9\u0000unkt"

## a bad option or a missing value: one line naming it, exit 2 (as in every tool)
$ mtok count --bogus
$ mtok count --model
2> mtok: unknown option '--bogus'
2> Try 'mtok --help'.
2> mtok: option '--model' needs a value
2> Try 'mtok --help'.
? 2

## template keeps a problem's text past a NUL (JSON \u0000)
$ printf '%s\n' '{"problem":"ab\u0000cd"}' | mtok template --template plain -Z
> {"problem":"ab\u0000cd","prompt":"ab\u0000cd\n"}

## an unknown short option in a cluster is named itself (not the word before it)
$ mtok count -xq
2> mtok: unknown option '-x'
2> Try 'mtok --help'.
? 2

## the progress line counts in the singular for one ("1 record", was "1 records")
$ minit tiny -o m -q
$ echo '{"text":"a"}' | mtok count --progress -Z --model m 2>&1 >/dev/null | tr '\r' '\n' | grep -c '^mtok: 1 record, [0-9]* records/s'
> 1

## -o whose directory turns read-only before the end: neither the rename nor the removal of the temporary file can be done, and the message says where the records are (it said "rename: Permission denied" and left the file unnamed)
% requires root
% requires /usr/bin/setpriv
$ chmod 755 .; mkdir -m 777 o; mkfifo f; chmod 666 f
$ setpriv --reuid=65534 --regid=65534 --clear-groups env PATH="$PATH" mtok template -Z -o o/out < f 2> err & p=$!
$ exec 3> f; echo '{"problem":"x"}' >&3; for i in $(seq 100); do ls o | grep -q tmp && break; sleep 0.1; done; chmod 555 o; exec 3>&-; wait $p; echo "rc $?"
$ sed 's/tmp\.[0-9]*/tmp.PID/' err; chmod 777 o; ls o | sed 's/tmp\.[0-9]*/tmp.PID/'
> rc 3
> mtok: o/out: rename: Permission denied (the records stay in o/out.tmp.PID)
> out.tmp.PID
