#!/usr/bin/env bash
# bench-mfilter: mfilter --where '.level == "Level 5"' over N generated problem records
# (default 1,000,000), plain and zstd input, against `zstdcat | jq -c 'select(...)'`
# on the same input. Prints a markdown table; needs BIN/mfilter (make; BIN default bin, as
# `make bench BIN=DIR` passes it), zstd, jq.
# Usage: bash bench/bench-mfilter.sh [N]   (MFILTER=path overrides BIN/mfilter)
set -eu
cd "$(dirname "$0")/.."
N=${1:-1000000}
MFILTER=${MFILTER:-${BIN:-bin}/mfilter}
command -v jq >/dev/null || { echo "jq not found (apt-get install jq)"; exit 1; }
command -v zstd >/dev/null || { echo "zstd not found"; exit 1; }
[ -x "$MFILTER" ] || { echo "$MFILTER not built (make)"; exit 1; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
# Records shaped like MATH: id, problem text (~200 bytes), answer, level, type, a
# solution (~400 bytes). awk is fast enough and needs nothing else.
awk -v n="$N" 'BEGIN {
  srand(1); split("Algebra Geometry Number_Theory Counting_&_Probability Precalculus Prealgebra", T, " ");
  for (i = 1; i <= n; i++) {
    lv = int(rand() * 5) + 1; ty = T[int(rand() * 6) + 1]; a = int(rand() * 1000);
    printf "{\"id\":\"gen:%d\",\"problem\":\"Let $f(x) = %dx^2 + %dx - %d$. Find the sum of all real $x$ such that $f(f(x)) = %d$, and express your answer as a common fraction in lowest terms. (Problem %d of the generated set.)\",", i, lv, a % 17, a % 23, a, i;
    printf "\"answer\":\"\\\\frac{%d}{%d}\",\"level\":\"Level %d\",\"type\":\"%s\",", a, lv + 7, lv, ty;
    printf "\"solution\":\"We substitute $y = f(x)$ and solve $f(y) = %d$ first: the quadratic formula gives two roots, and for each root $r$ the equation $f(x) = r$ contributes $-b/a$ to the sum by Vieta. Adding the two contributions and simplifying gives $\\\\boxed{\\\\frac{%d}{%d}}$.\"}\n", a, a, lv + 7
  } }' > "$dir/in.jsonl"
zstd -q -3 "$dir/in.jsonl" -o "$dir/in.jsonl.zst"
bytes=$(stat -c %s "$dir/in.jsonl")
filter='.level == "Level 5"'

# The six runs, each: label | command run | command shown. Runs are interleaved
# (rep 1 of each, then rep 2, ...) and the best of REPS kept, so a burst of load on a
# shared machine hits all of them alike.
REPS=${REPS:-3}
labels=(); cmds=(); shows=()
add() { labels+=("$1"); cmds+=("$2"); shows+=("$3"); }
# the commands are strings bash -c runs: the tool's and the directory's paths as shell words (a
# path with a space split them)
M=$(printf '%q' "$MFILTER") D=$(printf '%q' "$dir")
add "mfilter, plain in" "$M -Z --where '$filter' $D/in.jsonl" "mfilter -Z --where '$filter' in.jsonl"
add "jq, plain in" "jq -c 'select($filter)' $D/in.jsonl" "jq -c 'select($filter)' in.jsonl"
add "mfilter, zstd in" "$M -Z --where '$filter' $D/in.jsonl.zst" "mfilter -Z --where '$filter' in.jsonl.zst"
add "zstdcat + jq" "zstdcat $D/in.jsonl.zst | jq -c 'select($filter)'" "zstdcat in.jsonl.zst | jq -c 'select($filter)'"
add "mfilter, zstd in and out" "$M --where '$filter' $D/in.jsonl.zst" "mfilter --where '$filter' in.jsonl.zst > out.zst"
add "zstdcat + jq + zstd" "zstdcat $D/in.jsonl.zst | jq -c 'select($filter)' | zstd -q -3" "zstdcat in.jsonl.zst | jq -c 'select($filter)' | zstd -3 > out.zst"
# Wall-clock seconds and CPU seconds (user + sys of every process of the command): on a
# loaded machine wall time mostly measures waiting for a core, CPU time the work done.
best=(); cpu=(); outn=(); load0=$(cut -d" " -f1-3 /proc/loadavg)
TIMEFORMAT='%R %U %S'
for ((rep = 0; rep < REPS; rep++)); do
  for i in "${!cmds[@]}"; do
    { time bash -c "${cmds[$i]}" > "$dir/out"; } 2> "$dir/time"
    read -r w u s < "$dir/time"
    best[$i]=$(echo "$w ${best[$i]:-1e9}" | awk '{ print ($1 < $2 ? $1 : $2) }')
    cpu[$i]=$(echo "$u $s ${cpu[$i]:-1e9}" | awk '{ t = $1 + $2; print (t < $3 ? t : $3) }')
    outn[$i]=$(zstd -dcf "$dir/out" | wc -l)
  done
done
echo "# $N records, $((bytes / 1000000)) MB plain, $(( $(stat -c %s "$dir/in.jsonl.zst") / 1000000 )) MB zstd; best of $REPS, interleaved; load average $load0 at start; $(jq --version), zstd $(zstd -V | grep -o "v[0-9.]*" | head -1); $(nproc) cores"
echo
echo "| run | command | wall s | CPU s | records/s (wall) | MB/s (wall, plain bytes) | records out |"
echo "|---|---|---|---|---|---|---|"
for i in "${!cmds[@]}"; do
  printf '| %s | `%s` | %.2f | %.2f | %.0f | %.0f | %s |\n' "${labels[$i]}" "${shows[$i]//|/\\|}" "${best[$i]}" "${cpu[$i]}" \
    "$(echo "$N ${best[$i]}" | awk '{print $1/$2}')" "$(echo "$bytes ${best[$i]}" | awk '{print $1/$2/1e6}')" "${outn[$i]}"
done
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1/$2}'; }
echo
echo "jq time / mfilter time, wall (CPU): plain $(ratio "${best[1]}" "${best[0]}")x ($(ratio "${cpu[1]}" "${cpu[0]}")x)," \
     "zstd in $(ratio "${best[3]}" "${best[2]}")x ($(ratio "${cpu[3]}" "${cpu[2]}")x)," \
     "zstd in and out $(ratio "${best[5]}" "${best[4]}")x ($(ratio "${cpu[5]}" "${cpu[4]}")x)."
