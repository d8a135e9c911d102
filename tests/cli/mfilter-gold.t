# mfilter's two rules that need the answer checker and the tokenizer: --require-boxed and
# --max-tokens. Token counts below were computed with Hugging Face tokenizers on the same
# tokenizer.json and the same rendered prompt (the R1 template, Open-RS's system prompt).

## --require-boxed keeps golds the accuracy reward can read (last \boxed{} or the whole text)
< {"id":"a","problem":"p","answer":"2"}
< {"id":"b","problem":"p","answer":"\\boxed{\\frac{1}{2}}"}
< {"id":"c","problem":"p","answer":"}{"}
< {"id":"d","problem":"p","solution":"so the answer is \\boxed{5}."}
< {"id":"e","problem":"p","answer":"\\frac{1}{"}
< {"id":"f","problem":"p","answer":"(1,2"}
$ mfilter --require-boxed -Z
> {"id":"a","problem":"p","answer":"2"}
> {"id":"b","problem":"p","answer":"\\boxed{\\frac{1}{2}}"}
> {"id":"d","problem":"p","solution":"so the answer is \\boxed{5}."}
2> mfilter: --require-boxed: 3 records dropped (gold does not parse)

## --require-boxed reads a gold whole, as mreward does: "\cos = 0" passed on its right side "0",
## though mreward scores every sample of it as an unparsed gold
< {"id":"a","problem":"p","answer":"\\cos = 0"}
< {"id":"b","problem":"p","answer":"x = 0"}
$ mfilter --require-boxed -Z
> {"id":"b","problem":"p","answer":"x = 0"}
2> mfilter: --require-boxed: 1 record dropped (gold does not parse)

## --answer chooses the gold; a record without one is an error after the earlier records
< {"id":"a","problem":"p","gold":"7"}
< {"id":"b","problem":"p"}
< {"id":"c","problem":"p","gold":"8"}
$ mfilter --require-boxed --answer .gold -Z
> {"id":"a","problem":"p","gold":"7"}
2> mfilter: <stdin>:2: "gold" is missing
? 1

## --require-boxed reads a numeric gold as mreward does (as its JSON text); an array is an error
< {"id":"a","problem":"p","answer":42}
< {"id":"b","problem":"p","answer":-0.5}
< {"id":"c","problem":"p","answer":[1]}
$ mfilter --require-boxed -Z
> {"id":"a","problem":"p","answer":42}
> {"id":"b","problem":"p","answer":-0.5}
2> mfilter: <stdin>:3: --answer '.answer // .solution' gave array, not a string or a number
? 1

## --max-tokens with the real Qwen2 tokenizer: 114 and 123 tokens (HF tokenizers)
% requires $SHARED/data/qwen2-tokenizer/tokenizer.json.zst
< {"id":"a","problem":"What is 1+1?"}
< {"id":"b","problem":"Tom has 12 apples and eats 5. How many are left?"}
$ mfilter --max-tokens 114 --tokenizer "$SHARED/data/qwen2-tokenizer/tokenizer.json.zst" -Z -q
> {"id":"a","problem":"What is 1+1?"}

## --max-tokens: the bound is inclusive
% requires $SHARED/data/qwen2-tokenizer/tokenizer.json.zst
< {"id":"a","problem":"What is 1+1?"}
< {"id":"b","problem":"Tom has 12 apples and eats 5. How many are left?"}
$ mfilter --max-tokens 113 --tokenizer "$SHARED/data/qwen2-tokenizer/tokenizer.json.zst" -Z | wc -l; echo "rc ${PIPESTATUS[0]}"
> 0
> rc 0
2> mfilter: --max-tokens: 2 records dropped (prompt over 113 tokens)

## --max-tokens with the plain template and no system text (10 and 2 tokens, HF tokenizers)
< {"id":"a","problem":"What is 1+1?"}
< {"id":"b","problem":"x"}
$ mfilter --max-tokens 9 --tokenizer "$ROOT/testdata/msample/model/tokenizer.json" --template plain --system '' -Z -q
> {"id":"b","problem":"x"}

## --max-tokens needs a tokenizer, and --model/--tokenizer need --max-tokens
$ mfilter --max-tokens 9 -Z < /dev/null
? 2
2> mfilter: --max-tokens needs --model DIR or --tokenizer FILE (one of them)
2> Try 'mfilter --help'.

## --model without --max-tokens
$ mfilter --model m -Z < /dev/null
? 2
2> mfilter: --model and --tokenizer go with --max-tokens
2> Try 'mfilter --help'.

## the options of a stage that is not on are usage errors, not ignored: --template and --system without --max-tokens, --answer without --require-boxed, --field without --match, --dedupe or --max-tokens
$ for o in "--system hi" "--template plain" "--answer .gold" "--field .text"; do mfilter -Z $o < /dev/null; echo "rc $?"; done
> rc 2
> rc 2
> rc 2
> rc 2
2> mfilter: --template and --system go with --max-tokens
2> Try 'mfilter --help'.
2> mfilter: --template and --system go with --max-tokens
2> Try 'mfilter --help'.
2> mfilter: --answer goes with --require-boxed
2> Try 'mfilter --help'.
2> mfilter: --field goes with --match, --dedupe or --max-tokens
2> Try 'mfilter --help'.
