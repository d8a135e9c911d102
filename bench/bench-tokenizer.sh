#!/usr/bin/env bash
# bench-tokenizer.sh — encode speed of libcore's tokenizer (one core, bench/tok_bench.c) next to
# Hugging Face tokenizers (bench/tok_hf.py, if python3 has it) on the same documents, and mtok
# end to end over records. Prints markdown rows. Needs ../shared/data (the Qwen2 tokenizer).
# B=build dir with bench/tok_bench (default build), BIN=bin dir with mtok (default bin).
set -u
cd "$(dirname "$0")/.."
B=${B:-build} BIN=${BIN:-bin} SECS=${SECS:-3}
TOK=../shared/data/qwen2-tokenizer/tokenizer.json.zst
[ -r "$TOK" ] || { echo "skipped: needs $TOK"; exit 0; }
[ -x "$B/bench/tok_bench" ] && [ -x "$BIN/mtok" ] || make -s B="$B" BIN="$BIN" "$B/bench/tok_bench" "$BIN/mtok" >/dev/null || exit 1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Corpora: real math problems (one per line, newlines kept as spaces), CJK, and the mixed
# hand-made + random cases of the test fixture.
zstd -dc ../shared/data/train/math-train.jsonl.zst | jq -r '.problem | gsub("\n"; " ")' >"$tmp/math.txt"
jq -r '.text | gsub("\n"; " ")' testdata/tokenizer/cases-hf.jsonl >"$tmp/mixed.txt"
python3 -c '
import random
r = random.Random(0)
s = "".join(chr(r.randint(0x4e00, 0x9fff)) if r.random() < 0.9 else "，" for _ in range(100000))
print("\n".join(s[i:i + 500] for i in range(0, len(s), 500)))' >"$tmp/cjk.txt" 2>/dev/null ||
  head -c 300000 "$tmp/math.txt" >"$tmp/cjk.txt"

echo "| corpus | implementation | docs | MB | tokens/s | MB/s | load s |"
echo "|---|---|---|---|---|---|---|"
row() { jq -r --arg c "$1" '"| \($c) | \(.impl) | \(.docs) | \(.bytes / .passes / 1e6 * 100 | round / 100) | \(.tokens_per_s) | \(.mb_per_s) | \(.load_s) |"'; }
hf=0; python3 -c 'import tokenizers' 2>/dev/null && hf=1
# a run that fails says so on stderr and the script exits 1 at the end (its row was left out
# and the script exited 0)
rc=0
for c in math mixed cjk; do
  if out=$("$B/bench/tok_bench" "$TOK" "$tmp/$c.txt" "$SECS"); then echo "$out" | row "$c"
  else echo "bench-tokenizer: tok_bench on $c failed" >&2; rc=1; fi
  [ $hf = 1 ] || continue
  if out=$(RAYON_NUM_THREADS=1 python3 bench/tok_hf.py "$TOK" "$tmp/$c.txt" "$SECS"); then echo "$out" | row "$c (RAYON_NUM_THREADS=1)"
  else echo "bench-tokenizer: tok_hf.py on $c failed" >&2; rc=1; fi
done

# mtok end to end: records in (zstd), libjq parse, encode, ids out (zstd).
n=$(zstd -dc ../shared/data/train/math-train.jsonl.zst | wc -l)
# time's own file, and mtok's status: the last stderr line was taken as the time, so an mtok that
# failed (or a BIN without one) was reported as "0.00s". bash's time: /usr/bin/time (package time)
# is not on a minimal Debian ("No such file or directory", and the script exited 1)
TIMEFORMAT=%2R
{ time "$BIN/mtok" encode --model ../shared/data/qwen2-tokenizer --field .problem \
    ../shared/data/train/math-train.jsonl.zst >/dev/null 2>"$tmp/err"; } 2>"$tmp/time" ||
  { echo; echo "mtok encode failed: $(tail -n 3 "$tmp/err")"; exit 1; }
s=$(tail -n 1 "$tmp/time")
echo
echo "mtok encode of math-train.jsonl.zst ($n records, incl. loading the tokenizer): ${s}s"
exit $rc
