#!/bin/sh
# plot.sh — draws a run's RUN/metrics.jsonl (reward, accuracy, completion length and KL per step)
# into RUN/metrics.png with gnuplot; says so and exits 0 when gnuplot is not installed.
# Usage: pipelines/plot.sh RUNDIR [OUT.png | -]   (-: the panels as text on stdout, for a terminal)
set -eu
run=${1:?usage: pipelines/plot.sh RUNDIR [OUT.png]}
out=${2:-$run/metrics.png}
m=$run/metrics.jsonl
[ -s "$m" ] || { echo "plot: $m: no metrics" >&2; exit 1; }
command -v gnuplot >/dev/null 2>&1 || { echo "plot: gnuplot is not installed; no plot (apt-get install gnuplot-nox)" >&2; exit 0; }

tsv=$(mktemp "${TMPDIR:-/tmp}/mrl-plot.XXXXXX")
trap 'rm -f "$tsv"' EXIT
# step, reward_mean, rewards.accuracy (NaN when absent), completion_len_mean, kl (NaN when null), loss
awk 'function num(k,   s) { s = $0; if (!sub(".*\"" k "\":", "", s)) return "NaN";
                            if (s ~ /^null/) return "NaN"; sub(/[,}].*/, "", s); return s }
     { print num("step"), num("reward_mean"), num("accuracy"), num("completion_len_mean"), num("kl"), num("loss") }' "$m" >"$tsv"
# whether column $1 holds a number in some step
has() { awk -v c="$1" '$c != "NaN" { k = 1 } END { exit !k }' "$tsv"; }
# a run without KL (SFT, beta 0) shows its loss in the last panel
last=5; lt='KL to the reference'
has 5 || { last=6; lt='loss'; }

# a panel whose column has no number in this run (reward and accuracy of an SFT run) is drawn
# empty with a word: gnuplot skips a plot of no points, and the panels after it moved up a place
panel() {   # the column
    if has "$1"; then echo "plot \"$tsv\" using 1:$1 with lines lw 2 notitle"
    else echo "set label 1 'none in this run' at graph 0.5, 0.5 center; set yrange [0:1]; plot 2 notitle; unset label 1"; fi
}
term="png size 1000,700"; gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1 && term="pngcairo size 1000,700"
outset="set output \"$out\""
[ "$out" = - ] && { term="dumb size 160,48"; outset=; }
gnuplot 2>/dev/null <<EOF || true
set terminal $term noenhanced
$outset
set datafile missing "NaN"
set multiplot layout 2,2 title "$run"
set xlabel "step"; set grid
set title "reward (mean)"; $(panel 2)
set autoscale y
set title "accuracy (mean of rewards.accuracy)"; set yrange [0:1]; $(panel 3)
set autoscale y
set title "completion length (tokens)"; $(panel 4)
set autoscale y
set title "$lt"; $(panel $last)
unset multiplot
EOF
[ "$out" = - ] && exit 0
[ -s "$out" ] || { echo "plot: gnuplot wrote no $out" >&2; exit 1; }
echo "plot: $out"
