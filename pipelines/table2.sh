#!/bin/sh
# table2.sh — a checkpoint's benchmark scores (meval JSON records, one per benchmark) as a row of
# the Open-RS paper's Table 2 (zero-shot pass@1, %), printed under the paper's own rows.
# Usage: pipelines/table2.sh SCORES.jsonl [ROW-LABEL]
set -eu
# awk reads the scores' 0.854 as 0 under a locale with a decimal comma (de_DE): every cell 0,0
export LC_ALL=C
scores=${1:?usage: pipelines/table2.sh SCORES.jsonl [LABEL]}
label=${2:-this run}
# before the header rows: a missing file printed them to stdout, then failed
[ "$scores" = - ] || { [ -r "$scores" ] && [ ! -d "$scores" ]; } || { echo "table2.sh: $scores: not a readable file" >&2; exit 2; }
cat <<'EOF'
| Model | AIME24 | MATH-500 | AMC23 | Minerva | OlympiadBench | Avg |
|---|---|---|---|---|---|---|
| DeepSeek-R1-Distill-Qwen-1.5B (paper, from DeepScaleR: mean of 16 samples) | 28.8 | 82.8 | 62.9 | 26.5 | 43.3 | 48.9 |
| Open-RS1, Exp1 step 100 (paper) | 30.0 | 83.8 | 70.0 | 29.0 | 52.4 | 53.0 |
| Open-RS2, Exp2 step 50 (paper) | 30.0 | 85.4 | 80.0 | 30.5 | 52.4 | 55.7 |
| Open-RS3, Exp3 step 50 (paper) | 46.7 | 84.4 | 72.5 | 26.8 | 51.3 | 56.3 |
EOF
# bench names as meval reports them (the .bench field of ../shared/data/bench)
awk -v label="$label" '
    function num(k,   s) { s = $0; if (!sub(".*\"" k "\":", "", s)) return ""; sub(/[,}].*/, "", s); return s }
    function str(k,   s) { s = $0; if (!sub(".*\"" k "\":\"", "", s)) return ""; sub(/".*/, "", s); return s }
    { b = str("bench"); p[b] = num("pass@1"); n[b] = num("problems"); k[b] = num("k") }
    END {
        split("aime24 math500 amc23 minerva_math olympiadbench", order, " ")
        row = "| " label; sum = 0; cnt = 0
        for (i = 1; i <= 5; i++) {
            b = order[i]
            if (b in p && p[b] != "") { row = row sprintf(" | %.1f", 100 * p[b]); sum += 100 * p[b]; cnt++ }
            else row = row " | –"
        }
        row = row (cnt == 5 ? sprintf(" | %.1f |", sum / 5) : " | – |")
        print row
        printf "\nThis run: pass@1 averaged over k samples per problem (k = "
        sep = ""; for (b in k) { printf "%s%s %s", sep, b, k[b]; sep = ", " }
        print "); the paper'"'"'s Open-RS rows used one sample per problem (lighteval, T=0.6, top-p 0.95), so one AIME problem moves AIME24 by 3.3 points; its base-model row is copied from DeepScaleR'"'"'s table (16 samples)."
    }' "$scores"
